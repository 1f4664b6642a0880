#pragma once
// Internal: shape validation shared by every kernel (SEMANTICS.md, "Shapes").

#include <aether/error.hpp>
#include <aether/tensor.hpp>

#include <cstddef>
#include <string>

namespace aether {
namespace detail {

template <class X>
std::string shape_str(const Tensor3View<X>& t) {
  return "(" + std::to_string(t.seq()) + ", " + std::to_string(t.heads()) + ", " + std::to_string(t.dim()) + ")";
}

/// Checks q `(n, q_heads, d)` against k, v `(m, kv_heads, d)`: equal dims > 0,
/// equal k/v shapes, kv_heads >= 1 dividing q_heads, and `q.seq() == k.seq()`
/// unless `same_seq` is false (decode). Throws `Errc::shape_mismatch`.
template <class T, class U>
void check_qkv(const char* op, const Tensor3View<const T>& q, const Tensor3View<const U>& k,
               const Tensor3View<const U>& v, bool same_seq = true) {
  const auto all = [&] { return std::string(op) + ": q " + shape_str(q) + ", k " + shape_str(k) + ", v " + shape_str(v); };
  if (q.dim() == 0 || q.dim() != k.dim() || q.dim() != v.dim()) fail(Errc::shape_mismatch, all() + ": dims must be equal and > 0");
  if (k.heads() != v.heads() || k.seq() != v.seq()) fail(Errc::shape_mismatch, all() + ": k and v shapes differ");
  if (k.heads() == 0 || q.heads() == 0 || q.heads() % k.heads() != 0) {
    fail(Errc::shape_mismatch, all() + ": q_heads " + std::to_string(q.heads()) + " is not a positive multiple of kv_heads " +
                                   std::to_string(k.heads()));
  }
  if (same_seq && q.seq() != k.seq()) fail(Errc::shape_mismatch, all() + ": sequence lengths differ");
}

/// Checks that `out` has the shape of `q` (for the overloads writing into a caller view).
template <class T>
void check_out(const char* op, const Tensor3View<const T>& q, const Tensor3View<T>& out) {
  if (out.seq() != q.seq() || out.heads() != q.heads() || out.dim() != q.dim()) {
    fail(Errc::shape_mismatch, std::string(op) + ": out " + shape_str(out) + " must equal q " + shape_str(q));
  }
}

}  // namespace detail
}  // namespace aether
