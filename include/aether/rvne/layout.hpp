#pragma once
/// \file rvne/layout.hpp
/// The model weight layout a blob must match (RVNE.md rule 8, MODEL.md):
/// `layout` (every tensor, from rvne/tensors.hpp's one order) and
/// `check_layout`.

#include <aether/error.hpp>
#include <aether/rvne/codec.hpp>
#include <aether/rvne/format.hpp>
#include <aether/rvne/tensors.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace aether::rvne {

// ---------------------------------------------------------------------------
// Model weight layout (rule 8)
// ---------------------------------------------------------------------------

/// All tensor shapes in layout order (`for_each_tensor`). Cost: allocates
/// matrix_count(h) entries (up to 262,141 for a v1 header of 0xFFFF layers).
inline std::vector<MatrixShape> layout(const Header& h) {
  std::vector<MatrixShape> out;
  for_each_tensor(h, [&out](const MatrixShape& m) { out.push_back(m); });
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
