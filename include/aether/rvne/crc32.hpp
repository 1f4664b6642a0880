#pragma once
/// \file rvne/crc32.hpp
/// CRC-32/IEEE, the `.rvne` trailer checksum: a compile-time table and a
/// chainable, allocation-free `crc32()`.

#include <cstddef>
#include <cstdint>

namespace aether::rvne {

// ---------------------------------------------------------------------------
// CRC-32/IEEE
// ---------------------------------------------------------------------------

namespace detail {
/// 256-entry table of the reflected polynomial 0xEDB88320, built at compile time.
struct CrcTable {
  std::uint32_t entry[256];
};

constexpr CrcTable make_crc_table() noexcept {
  CrcTable t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    t.entry[i] = c;
  }
  return t;
}

/// Immutable, constant-initialised: safe to read from any thread.
inline constexpr CrcTable kCrcTable = make_crc_table();

/// Compile-time CRC of a char string, only used to static_assert the check value.
constexpr std::uint32_t crc32_chars(const char* s, std::size_t n) noexcept {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = kCrcTable.entry[(c ^ static_cast<unsigned char>(s[i])) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}
}  // namespace detail

static_assert(detail::kCrcTable.entry[1] == 0x77073096u && detail::kCrcTable.entry[255] == 0x2D02EF8Du,
              "CRC-32/IEEE table");
static_assert(detail::crc32_chars("123456789", 9) == 0xCBF43926u, "CRC-32/IEEE check value");

/// CRC-32/IEEE (reflected poly 0xEDB88320, init and final xor 0xFFFFFFFF) of
/// `n` bytes at `data`. Chainable like zlib: pass the CRC of the preceding
/// bytes as `previous` (0 to start), so crc32(b, nb, crc32(a, na)) is the CRC
/// of a followed by b. Cost: one table lookup per byte; no allocation;
/// thread-safe. `data` may be null when `n` is 0.
inline std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t previous = 0) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = previous ^ 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = detail::kCrcTable.entry[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace aether::rvne
