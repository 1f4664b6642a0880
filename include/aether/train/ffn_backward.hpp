#pragma once
/// \file train/ffn_backward.hpp
/// Backward of the feed-forward sublayer (`TemporalModel::ffn_row`):
///   P = U W1 + b1,  F = act(P),  H += F W2 + b2
/// with dY = dL/dH after the sublayer (the residual passes it on unchanged):
///   dW2 = F^T dY,  db2 = colsum dY,  dF = dY W2^T,  dP = dF * act'(P)
///   dW1 = U^T dP,  db1 = colsum dP,  dU = dP W1^T
/// (the norm before it is the caller's, train/rms_norm_backward.hpp).
///
/// Recompute vs store: the forward keeps only the stream rows entering the
/// sublayer (`Trace::ffn_inputs`); the caller recomputes U (the normed rows)
/// and this function recomputes P and F as one matrix product (the forward
/// used row products: P may differ in its last bit, which moves a ReLU
/// derivative only for a pre-activation within rounding of 0). Memory per
/// frame: d stored values; 2 * ffn_dim values of scratch recomputed per frame
/// (held for the whole window, `s.pre` and `s.act`). O(N * d * ffn_dim).
/// Thread safety: the caller's scratch.

#include <aether/block/activation.hpp>
#include <aether/rvne/descriptor.hpp>
#include <aether/train/linear_backward.hpp>

#include <Eigen/Core>

#include <cstddef>

namespace aether::train {

/// Scratch of `ffn_backward` (one per thread), grown to the window.
template <class T>
struct FfnBackwardScratch {
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> pre, act;  ///< (N, ffn_dim)
};

/// Writes dU `du` `(N, d)` and dW1, db1, dW2, db2 (overwritten, layout
/// shapes `[d][f]`, `f`, `[f][d]`, `d`) from the normed rows `u` `(N, d)`
/// and dY `dy` `(N, d)`. `w1`, `w2` are the layer's maps; `b1`, `b2` its biases.
template <class T, class UMat, class DyMat, class W1, class W2, class DuMat>
void ffn_backward(const W1& w1, const T* b1, const W2& w2, rvne::Activation act, const UMat& u, const DyMat& dy,
                  DuMat& du, T* dw1, T* db1, T* dw2, T* db2, FfnBackwardScratch<T>& s) {
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  const Eigen::Index f = w1.cols();
  s.pre.noalias() = u * w1;
  s.pre.rowwise() += Eigen::Map<const Vector>(b1, f).transpose();
  s.act = s.pre;
  for (Eigen::Index i = 0; i < s.act.size(); ++i) s.act.data()[i] = block::activate(act, s.act.data()[i]);
  linear_weight_backward(s.act, dy, dw2, db2);
  s.act.noalias() = dy * w2.transpose();  // dF
  for (Eigen::Index i = 0; i < s.act.size(); ++i) s.act.data()[i] *= block::activation_grad(act, s.pre.data()[i]);
  linear_weight_backward(u, s.act, dw1, db1);
  du.noalias() = s.act * w1.transpose();
}

}  // namespace aether::train
