#pragma once
/// \file block/rms_norm.hpp
/// RMSNorm of one row (docs/model.md): `y = x / sqrt(mean(x^2) + eps) * g`.
/// Prefill and stream call this one function per row, so they see the same
/// bits. Thread-safe (pure); no allocation; O(d).

#include <Eigen/Core>

#include <cmath>
#include <cstddef>

namespace aether::block {

/// `out[0, d) = x / sqrt(mean(x^2) + eps) * gain`; `out` may alias `x`.
/// Returns the inverse root `1 / sqrt(mean(x^2) + eps)` (training's backward uses it).
template <class T>
T rms_norm_row(const T* x, const T* gain, std::size_t d, T eps, T* out) noexcept {
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  const Eigen::Map<const Vec> xv(x, static_cast<Eigen::Index>(d));
  const T inv = T(1) / std::sqrt(xv.squaredNorm() / static_cast<T>(d) + eps);
  Eigen::Map<Vec>(out, static_cast<Eigen::Index>(d)) =
      (xv.array() * inv * Eigen::Map<const Vec>(gain, static_cast<Eigen::Index>(d)).array()).matrix();
  return inv;
}

}  // namespace aether::block
