#pragma once
/// \file train/pool_backward.hpp
/// Backward of the pooling before the classifier (`TemporalModel::forward`,
/// `Pool`): mean `p = (1/N) sum_i y_i` gives dy_i = dp / N on every row;
/// last `p = y_{N-1}` gives dp on row N-1 and 0 elsewhere.
///
/// Recompute vs store: needs nothing of the forward but N. Memory per frame:
/// the gradient row itself (d values). Pure; O(N * d).

#include <aether/temporal_model.hpp>

#include <Eigen/Core>

namespace aether::train {

/// `dy` `(N, d)` (overwritten) from dL/dpooled `dp` `(d)`.
template <class DyMat, class Vec>
void pool_backward(Pool pool, const Vec& dp, DyMat& dy) {
  using T = typename DyMat::Scalar;
  const Eigen::Index n = dy.rows();
  dy.setZero();
  if (pool == Pool::last) {
    dy.row(n - 1) = dp.transpose();
  } else {
    dy.rowwise() = (dp / static_cast<T>(n)).transpose();
  }
}

}  // namespace aether::train
