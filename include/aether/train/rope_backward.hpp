#pragma once
/// \file train/rope_backward.hpp
/// Backward of RoPE (block/rope.hpp): a rotation is orthogonal, so dL/dx
/// before the rotation is dL/dy rotated back, `block::Rope::unrotate` at the
/// same angles (the transpose of `rotate`).
///
/// Recompute vs store: the forward keeps the rotated q and k (the trace; the
/// attention backward needs them as the attention read them) and the first
/// frame's position; the angles are recomputed per frame by
/// `Rope::angles(first_position + i)`, the forward's own call (same bits).
/// Memory per frame: none stored; head_dim values of scratch for one
/// frame's angles. Pure; no allocation; O(heads * head_dim) per frame.

#include <aether/block/rope.hpp>

#include <cstddef>
#include <cstdint>

namespace aether::train {

/// Turns dL/d(rotated rows) into dL/d(rows before RoPE), in place, for `n`
/// frames of `heads` heads each (`g`: n * heads * head_dim values, frame i
/// at position `first_position + i`); `cs` is head_dim values of scratch.
template <class T>
void rope_backward(const block::Rope<T>& rope, std::uint64_t first_position, std::size_t n, std::size_t heads, T* g,
                   T* cs) noexcept {
  const std::size_t row = heads * 2 * rope.pairs();
  for (std::size_t i = 0; i < n; ++i) {
    rope.angles(first_position + i, cs);  // wraps modulo 2^64 as the forward's positions do
    rope.unrotate(g + i * row, heads, cs);
  }
}

}  // namespace aether::train
