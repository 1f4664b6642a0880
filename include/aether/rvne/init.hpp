#pragma once
/// \file rvne/init.hpp
/// Seeded initialisation: the reference `init_random_blob`'s xorshift64*
/// generator and `init_random`, a blob with the model layout filled from a seed.

#include <aether/error.hpp>
#include <aether/rvne/codec.hpp>
#include <aether/rvne/format.hpp>
#include <aether/rvne/layout.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
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

  /// Next value in [0, 1]: `next_u32() / 4294967295` in float.
  float next_unit() noexcept { return static_cast<float>(next_u32()) / static_cast<float>(4294967295u); }

  /// Next weight in [-0.1, 0.1], single-precision arithmetic throughout
  /// (double would change the bits).
  float next_weight() noexcept { return (next_unit() - 0.5f) * 0.2f; }

  std::uint64_t state() const noexcept { return state_; }

 private:
  std::uint64_t state_;
};

/// A blob of `header` (rule 7 checked) with its whole layout zero. Throws
/// invalid_header for a bad header or a layout beyond a u32 weights_len.
inline Blob zero_blob(const Header& header) {
  check_header(header, 0);
  const std::uint64_t bytes = layout_bytes(header);
  if (bytes > kMaxWeightsLen || bytes > std::numeric_limits<std::size_t>::max()) {
    ParseResult r;
    reject(r, Errc::invalid_header, "model layout needs %llu bytes, more than a u32 weights_len can describe",
           static_cast<unsigned long long>(bytes));
    throw_result(r);
  }
  Blob b;
  b.header = header;
  b.weights.assign(static_cast<std::size_t>(bytes), 0);
  return b;
}
}  // namespace detail

/// A blob with the model layout of `header`, filled with one xorshift64*
/// draw per element in layout order starting from `seed` (fp16: each draw
/// rounded to nearest even). Bit-identical to the reference generator.
/// Throws invalid_header if `header` fails rule 7 or the layout needs more
/// than 0xFFFFFFFF bytes. Cost: one allocation of layout_bytes(header).
inline Blob init_random(const Header& header, std::uint64_t seed = kDefaultSeed) {
  Blob b = detail::zero_blob(header);
  detail::XorShift64Star rng(seed);
  const std::size_t n = static_cast<std::size_t>(layout_elements(header));
  for (std::size_t i = 0; i < n; ++i) detail::store_weight(header.dtype, b.weights.data(), i, rng.next_weight());
  return b;
}

/// The v2 benchmark shape (issue 19, `bench_model`, `init_random_blob --arch
/// v2`): frames of 16 features (csi-amplitude: 16 groups of a 64-subcarrier
/// frame, log and centre on, no standardisation), an input projection to
/// d_model 32, 2 layers of [RMSNorm, causal depthwise convolution k 5 delta 1
/// with ReLU], [RMSNorm, attention with 4 query heads over 1 kv head of 32,
/// biases, RoPE base 10000, sparse W 32 B 16, global token 0, causal],
/// [RMSNorm, feed-forward 64 ReLU]; final RMSNorm (eps 1e-5), pool last,
/// 4 classes with a bias; no gate.
inline Header v2_benchmark_header(Dtype dtype = Dtype::f32) noexcept {
  Header h = Header::aether_default(dtype);
  h.version = kVersion2;
  Architecture& a = h.arch;
  a.blocks = kBlockInputProjection | kBlockNorm | kBlockConv | kBlockFfn | kBlockQkvBias | kBlockOutBias | kBlockRope |
             kBlockClassifierBias;
  a.d_model = 32;
  a.ffn_dim = 64;
  a.conv_kernel = 5;
  a.conv_dilation = 1;
  a.conv_activation = Activation::relu;
  a.ffn_activation = Activation::relu;
  a.pool = PoolKind::last;
  a.norm_eps = 1e-5f;
  a.rope_base = 10000.0f;
  a.attention.backend = BackendKind::sparse;
  a.attention.window = 32;
  a.attention.block_size = 16;
  a.attention.causal = 1;
  a.attention.global_count = 1;
  a.attention.globals[0] = 0;
  a.features.kind = FeatureKind::csi_amplitude;
  a.features.version = 1;
  a.features.flags = kFeatureLog | kFeatureCentre;
  a.features.subcarriers = 64;
  return h;
}

namespace detail {
/// How `init_trainable` fills a tensor, from its name: 0 zeros (biases,
/// standardisation offsets), 1 ones (norm gains, standardisation scales),
/// otherwise the fan-in it is drawn with.
inline std::uint64_t init_fan_in(const MatrixShape& m, const Header& h, bool& constant, float& value) noexcept {
  const char* n = m.name;
  const bool norm = std::strstr(n, "norm") != nullptr || std::strcmp(n, "features.scale") == 0;
  const bool bias = n[0] == 'b' || std::strcmp(n, "conv.bias") == 0 || std::strcmp(n, "features.offset") == 0;
  constant = norm || bias;
  value = norm ? 1.0f : 0.0f;
  if (std::strcmp(n, "gate") == 0) return h.head_dim;
  return m.rows;  // a matrix [fan_in][out]; conv.taps [k][d]: fan-in k
}
}  // namespace detail

/// A v2 (or v1) blob with an initialisation suited to training: every
/// weight matrix (and the convolution taps and gate) drawn uniform in
/// [-a, a], a = sqrt(3 / fan_in) (unit variance for unit inputs), fan_in its
/// row count (the gate: head_dim); biases and standardisation offsets 0;
/// norm gains and standardisation scales 1; padding 0. Draws: the reference's
/// xorshift64* from `seed`, one per drawn element in tensor order
/// (`for_each_tensor`), row-major: `u = next_u32() / 4294967295` in float,
/// weight `(2u - 1) * a` in float (`a` from float `std::sqrt`, correctly
/// rounded): the same bytes on any IEEE-754 host. Throws as `init_random`.
inline Blob init_trainable(const Header& header, std::uint64_t seed = kDefaultSeed) {
  Blob b = detail::zero_blob(header);
  detail::XorShift64Star rng(seed);
  for_each_tensor(header, [&](const MatrixShape& m) {
    bool constant = false;
    float value = 0.0f;
    const std::uint64_t fan_in = detail::init_fan_in(m, header, constant, value);
    const float a = std::sqrt(3.0f / static_cast<float>(fan_in == 0 ? 1 : fan_in));
    for (std::uint64_t e = 0; e < m.elements(); ++e) {
      float w = value;
      if (!constant) {
        w = (2.0f * rng.next_unit() - 1.0f) * a;
      }
      detail::store_weight(header.dtype, b.weights.data(), static_cast<std::size_t>(m.offset + e), w);
    }
  });
  return b;
}

}  // namespace aether::rvne
