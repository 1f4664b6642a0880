#pragma once
/// \file rvne/init.hpp
/// Seeded initialisation: the reference `init_random_blob`'s xorshift64*
/// generator and `init_random`, a blob with the model layout filled from a seed.

#include <aether/error.hpp>
#include <aether/rvne/codec.hpp>
#include <aether/rvne/format.hpp>
#include <aether/rvne/layout.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace aether::rvne {

/// Seed of the reference `init_random_blob`.
inline constexpr std::uint64_t kDefaultSeed = 0xC5110007DEADBEEFull;

// ---------------------------------------------------------------------------
// Seeded initialisation (reference `init_random_blob`)
// ---------------------------------------------------------------------------

namespace detail {
/// xorshift64* exactly as the reference example: shift triple 13/7/17,
/// multiplier 2685821657736338717, top 32 bits of the product. A zero state
/// stays zero (every draw is then -0.1f), as in the reference.
class XorShift64Star {
 public:
  explicit constexpr XorShift64Star(std::uint64_t seed) noexcept : state_(seed) {}

  /// Next 32 random bits.
  constexpr std::uint32_t next_u32() noexcept {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    const std::uint64_t r = state_ * 2685821657736338717ull;  // wrapping
    return static_cast<std::uint32_t>(r >> 32);
  }

  /// Next weight in [-0.1, 0.1], single-precision arithmetic throughout
  /// (double would change the bits).
  float next_weight() noexcept {
    const float unit = static_cast<float>(next_u32()) / static_cast<float>(4294967295u);
    return (unit - 0.5f) * 0.2f;
  }

  std::uint64_t state() const noexcept { return state_; }

 private:
  std::uint64_t state_;
};
}  // namespace detail

/// A blob with the model layout of `header`, filled with one xorshift64*
/// draw per element in layout order starting from `seed` (fp16: each draw
/// rounded to nearest even). Bit-identical to the reference generator.
/// Throws invalid_header if `header` fails rule 7 or the layout needs more
/// than 0xFFFFFFFF bytes. Cost: one allocation of layout_bytes(header).
inline Blob init_random(const Header& header, std::uint64_t seed = kDefaultSeed) {
  check_header(header, 0);
  const std::uint64_t bytes = layout_bytes(header);
  if (bytes > kMaxWeightsLen || bytes > std::numeric_limits<std::size_t>::max()) {
    ParseResult r;
    detail::reject(r, Errc::invalid_header, "model layout needs %llu bytes, more than a u32 weights_len can describe",
                   static_cast<unsigned long long>(bytes));
    detail::throw_result(r);
  }
  Blob b;
  b.header = header;
  b.weights.resize(static_cast<std::size_t>(bytes));
  detail::XorShift64Star rng(seed);
  const std::size_t n = static_cast<std::size_t>(layout_elements(header));
  for (std::size_t i = 0; i < n; ++i) detail::store_weight(header.dtype, b.weights.data(), i, rng.next_weight());
  return b;
}

}  // namespace aether::rvne
