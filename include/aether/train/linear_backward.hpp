#pragma once
/// \file train/linear_backward.hpp
/// Backward of the row projections `Y = X W (+ b)` of `TemporalModel::project`
/// and `residual` (input projection, Q/K/V/O, feed-forward W1/W2, classifier),
/// for N rows at once:
///   dW = X^T dY,  db = sum over rows of dY,  dX (+)= dY W^T
///
/// Recompute vs store: needs the input rows X (stored by the caller's trace or
/// recomputed, see each block) and nothing of Y. Memory per frame: none of
/// its own. Pure; O(N * rows * cols). Thread safety: the caller's buffers.

#include <Eigen/Core>

#include <cstddef>

namespace aether::train {

/// Writes dW (`[in][out]`, overwritten) and, when `db` is non-null, db
/// (`out` values, overwritten) from the input rows `x` `(N, in)` and dL/dY
/// `dy` `(N, out)`.
template <class XMat, class DyMat, class T>
void linear_weight_backward(const XMat& x, const DyMat& dy, T* dw, T* db) {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;
  Eigen::Map<Matrix>(dw, x.cols(), dy.cols()).noalias() = x.transpose() * dy;
  if (db == nullptr) return;
  // Rows are added one after another rather than by `colwise().sum()`:
  // Eigen's vectorised partial reduction adds a packet's rows pairwise but the
  // columns before the first aligned address one by one, so its bits would
  // depend on where `db` lies in memory, and the trainer's per-window gradient
  // slots lie anywhere. Same cost, O(N * out).
  Eigen::Map<RowVector> sum(db, dy.cols());
  sum.setZero();
  for (Eigen::Index i = 0; i < dy.rows(); ++i) sum += dy.row(i);
}

}  // namespace aether::train
