#pragma once
/// \file train/rms_norm_backward.hpp
/// Backward of `block::rms_norm_row` (block/rms_norm.hpp) for one row:
/// `y = x * r * g`, `r = 1 / sqrt(mean(x^2) + eps)`. With `e = g * dy`:
///   dg += dy * x * r
///   dx += r * e - x * r^3 * (x . e) / d
///
/// Recompute vs store: the forward keeps only its input row `x` (the trace's
/// stream rows); `r` is recomputed here from `x` by the forward's own
/// expression. Memory per frame: none beyond the stored stream row (d
/// values, shared with the sublayer that reads the normed row).
/// Pure; no allocation; O(d). Thread safety: the caller's buffers.

#include <Eigen/Core>

#include <cmath>
#include <cstddef>

namespace aether::train {

/// Adds dL/dx of one RMSNorm row to `dx` and dL/dgain to `dgain` (each d
/// values, accumulated), given the row `x`, `gain`, `eps` and dL/dy `dy`.
/// `dx` must not alias `x` or `dy`.
template <class T>
void rms_norm_row_backward(const T* x, const T* gain, std::size_t d, T eps, const T* dy, T* dx, T* dgain) noexcept {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  const auto n = static_cast<Eigen::Index>(d);
  const Eigen::Map<const Arr> xv(x, n), g(gain, n), dyv(dy, n);
  const T r = T(1) / std::sqrt(xv.matrix().squaredNorm() / static_cast<T>(d) + eps);  // as rms_norm_row
  Eigen::Map<Arr>(dgain, n) += dyv * xv * r;
  const T dot = (xv * g * dyv).sum();
  Eigen::Map<Arr>(dx, n) += r * g * dyv - xv * (r * r * r * dot / static_cast<T>(d));
}

}  // namespace aether::train
