#pragma once
/// \file rvne/layout.hpp
/// The model weight layout a blob must match (RVNE.md rule 8, MODEL.md): the
/// order and shapes of the Wq/Wk/Wv/Wo matrices per layer and Wc, their sizes
/// in 64-bit saturating arithmetic, and `check_layout`.

#include <aether/error.hpp>
#include <aether/rvne/codec.hpp>
#include <aether/rvne/format.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace aether::rvne {

// ---------------------------------------------------------------------------
// Model weight layout (rule 8)
// ---------------------------------------------------------------------------

/// One matrix of the model layout: row-major `[rows][cols]` (x · W
/// convention), starting at element `offset` of the weights section.
struct MatrixShape {
  const char* name = "";    ///< "Wq", "Wk", "Wv", "Wo" or "Wc" (static string)
  int layer = -1;           ///< 0..layers-1, or -1 for the classifier Wc
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  std::uint64_t offset = 0; ///< first element (not byte)

  /// rows * cols; each factor is at most 0xFFFF * 0xFFFF, so the product is exact.
  std::uint64_t elements() const noexcept { return rows * cols; }
};

namespace detail {
/// a * b, saturating at UINT64_MAX.
constexpr std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) noexcept {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::numeric_limits<std::uint64_t>::max();
  return a * b;
}
/// a + b, saturating at UINT64_MAX.
constexpr std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) noexcept {
  return b > std::numeric_limits<std::uint64_t>::max() - a ? std::numeric_limits<std::uint64_t>::max() : a + b;
}
}  // namespace detail

/// Number of matrices in the layout: 4 per layer plus the classifier.
constexpr std::uint64_t matrix_count(const Header& h) noexcept { return 4ull * h.layers + 1; }

/// Shape of matrix `index` (0 <= index < matrix_count(h)), in layout order:
/// for each layer Wq [D][Hq*d], Wk [D][Hkv*d], Wv [D][Hkv*d], Wo [Hq*d][D];
/// then Wc [D][C]. All products in 64-bit. No allocation.
inline MatrixShape matrix_shape(const Header& h, std::uint64_t index) noexcept {
  const std::uint64_t D = h.input_dim, q = std::uint64_t{h.q_heads} * h.head_dim,
                      kv = std::uint64_t{h.kv_heads} * h.head_dim;
  const std::uint64_t per_layer = 2 * D * q + 2 * D * kv;  // <= 4 * 0xFFFF^3 < 2^50, exact
  MatrixShape m;
  if (index >= 4ull * h.layers) {
    m.name = "Wc";
    m.layer = -1;
    m.rows = D;
    m.cols = h.classes;
    m.offset = detail::sat_mul(h.layers, per_layer);  // can exceed 2^64 for absurd headers: saturate
    return m;
  }
  const std::uint64_t layer = index / 4, which = index % 4;
  std::uint64_t within = 0;  // elements before this matrix inside its layer, < 2^50
  switch (which) {
    case 0: m.name = "Wq"; m.rows = D; m.cols = q; break;
    case 1: m.name = "Wk"; m.rows = D; m.cols = kv; within = D * q; break;
    case 2: m.name = "Wv"; m.rows = D; m.cols = kv; within = D * q + D * kv; break;
    default: m.name = "Wo"; m.rows = q; m.cols = D; within = D * q + 2 * D * kv; break;
  }
  m.layer = static_cast<int>(layer);
  m.offset = detail::sat_add(detail::sat_mul(layer, per_layer), within);
  return m;
}

/// Total elements of the model layout,
/// L * (2*D*Hq*d + 2*D*Hkv*d) + D*C, computed in 64-bit and saturating at
/// UINT64_MAX (a 0xFFFF-everywhere header would overflow 64 bits). 10,304
/// for Header::aether_default().
constexpr std::uint64_t layout_elements(const Header& h) noexcept {
  const std::uint64_t D = h.input_dim;
  const std::uint64_t q = std::uint64_t{h.q_heads} * h.head_dim;
  const std::uint64_t kv = std::uint64_t{h.kv_heads} * h.head_dim;
  const std::uint64_t per_layer = 2 * D * q + 2 * D * kv;  // each factor <= 0xFFFF: < 2^51, exact
  return detail::sat_add(detail::sat_mul(h.layers, per_layer), D * h.classes);
}

/// Bytes of the model layout for h.dtype, saturating at UINT64_MAX.
constexpr std::uint64_t layout_bytes(const Header& h) noexcept {
  return detail::sat_mul(layout_elements(h), element_size(h.dtype));
}

static_assert(layout_elements(Header::aether_default()) == 10304, "AETHER default layout is 10,304 elements");
static_assert(layout_bytes(Header::aether_default()) == 41216, "AETHER default fp32 weights are 41,216 bytes");

/// All matrix shapes in layout order (see matrix_shape). Cost: allocates
/// matrix_count(h) entries (up to 262,141 for layers = 0xFFFF).
inline std::vector<MatrixShape> layout(const Header& h) {
  std::vector<MatrixShape> out;
  out.reserve(static_cast<std::size_t>(matrix_count(h)));
  for (std::uint64_t i = 0; i < matrix_count(h); ++i) out.push_back(matrix_shape(h, i));
  return out;
}

namespace detail {
/// Rules 7 and 8 without throwing or allocating: false (and `r` filled) when
/// `header` fails rule 7 (invalid_header) or weights_len differs from
/// layout_bytes(header) (layout_mismatch). The one validator behind
/// `layout_matches`, `check_layout` and `try_check_layout`.
inline bool check_layout(const Header& header, std::uint64_t weights_len, ParseResult& r) noexcept {
  if (!check_fields(header, weights_len, r)) return false;
  const std::uint64_t need = layout_bytes(header);
  if (need != weights_len) {
    return reject(r, Errc::layout_mismatch,
                  "weights_len %llu but the %s model layout (D %u, Hq %u, Hkv %u, d %u, L %u, C %u) needs %llu bytes",
                  static_cast<unsigned long long>(weights_len), dtype_name(header.dtype),
                  static_cast<unsigned>(header.input_dim), static_cast<unsigned>(header.q_heads),
                  static_cast<unsigned>(header.kv_heads), static_cast<unsigned>(header.head_dim),
                  static_cast<unsigned>(header.layers), static_cast<unsigned>(header.classes),
                  static_cast<unsigned long long>(need));
  }
  return true;
}
}  // namespace detail

/// True when `header` passes rule 7 and `weights_len == layout_bytes(header)`.
inline bool layout_matches(const Header& header, std::uint64_t weights_len) noexcept {
  ParseResult r;
  return detail::check_layout(header, weights_len, r);
}

/// Rule 8 without throwing: Errc::ok, invalid_header (rule 7) or
/// layout_mismatch, with the message in the result. No allocation.
inline ParseResult try_check_layout(const Header& header, std::uint64_t weights_len) noexcept {
  ParseResult r;
  detail::check_layout(header, weights_len, r);
  return r;
}

/// Rule 8, for model loads: throws invalid_header if the header fails rule 7,
/// else layout_mismatch unless weights_len equals layout_bytes(header).
inline void check_layout(const Header& header, std::uint64_t weights_len) {
  ParseResult r;
  if (!detail::check_layout(header, weights_len, r)) detail::throw_result(r);
}

}  // namespace aether::rvne
