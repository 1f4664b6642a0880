#pragma once
/// \file train/model_backward.hpp
/// Loss and gradient of one window through a whole `TemporalModel`
/// (MODEL.md): cross-entropy over softmax(logits) -> classifier `Wc` ->
/// pooling (mean, last) -> per layer (last to first) the residual, `Wo`,
/// attention (train/attention_backward.hpp, the model's own backend and
/// pattern), `Wq`/`Wk`/`Wv` -> the input frames.
///
/// The forward is the model's own (`TemporalModel::forward` with a `Trace`):
/// the logits a trained model is judged by are the bits inference computes.
///
/// Math (one window, frames X = H_0, H_{l+1} = H_l + A_l Wo_l, A_l =
/// attention(H_l Wq_l, H_l Wk_l, H_l Wv_l)):
///   loss = -log softmax(z)_y, z = p Wc;  dz = softmax(z) - onehot(y)
///   dWc = p^T dz;  dp = dz Wc^T;  dH_L = dp / N on every row (mean) or on row N-1 (last)
///   per layer: dWo = A^T dH;  dA = dH Wo^T;  (dQ, dK, dV) = attention backward;
///              dWq = H^T dQ (same for K, V);  dH += dQ Wq^T + dK Wk^T + dV Wv^T
///
/// Memory per window (stored activations, `TemporalModel::Trace`): per layer
/// N * (input_dim + 2 * (q_heads + kv_heads) * head_dim) values, plus the
/// gradient stream N * (input_dim + (q_heads + 2 * kv_heads) * head_dim) and
/// the attention backward's O(window + log N) rows; softmax rows recomputed.
/// For the AETHER default (D 16, Hq 4, Hkv 1, d 32, 2 layers) that is 336
/// values per frame per layer: 172 KB of floats for N = 64, 688 KB for 256.
///
/// Thread safety: pure function of the model and its inputs; scratch is the caller's.

#include <aether/error.hpp>
#include <aether/rvne.hpp>
#include <aether/temporal_head.hpp>
#include <aether/temporal_model.hpp>
#include <aether/tensor.hpp>
#include <aether/train/attention_backward.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace aether::train {

/// What one window's forward and backward report.
template <class T>
struct WindowResult {
  T loss = 0;                  ///< -log softmax(logits)[label]
  std::size_t predicted = 0;   ///< argmax of the logits (first on ties)
  typename TemporalModel<T>::Vector logits;
};

/// Scratch of `loss_and_gradient`, reusable across windows (one per thread).
template <class T>
struct ModelBackwardScratch {
  typename TemporalModel<T>::Trace trace;
  AttentionBackwardScratch<T> attention;
};

/// Numerically stable `-log softmax(logits)[label]`.
template <class T>
T cross_entropy(const typename TemporalModel<T>::Vector& logits, std::size_t label) {
  const T m = logits.maxCoeff();
  return std::log((logits.array() - m).exp().sum()) + m - logits[static_cast<Eigen::Index>(label)];
}

/// Index of the largest logit (the first of equal ones).
template <class T>
std::size_t argmax(const typename TemporalModel<T>::Vector& logits) {
  Eigen::Index best = 0;
  logits.maxCoeff(&best);
  return static_cast<std::size_t>(best);
}

/// Forward (the model's own) and backward of one window of `frames`
/// `(N, input_dim)` with class `label`. Writes dL/dweights into `grad`
/// (`rvne::layout_elements(model.header())` values in the blob's layout
/// order; overwritten) and, when given, dL/dframes into `grad_frames`
/// (resized to N x input_dim). Throws `Errc::shape_mismatch` for bad frames,
/// `Errc::invalid_argument` for a label >= classes.
template <class T>
WindowResult<T> loss_and_gradient(const TemporalModel<T>& model, const Eigen::Ref<const typename TemporalModel<T>::Matrix>& frames,
                                  std::size_t label, Pool pool, T* grad, ModelBackwardScratch<T>& s,
                                  typename TemporalModel<T>::Matrix* grad_frames = nullptr) {
  using Matrix = typename TemporalModel<T>::Matrix;
  using Vector = typename TemporalModel<T>::Vector;
  using MatMap = Eigen::Map<Matrix>;
  if (label >= model.classes()) {
    aether::detail::fail(Errc::invalid_argument, "loss_and_gradient: label " + std::to_string(label) +
                                                     " is not below n_classes " + std::to_string(model.classes()));
  }
  WindowResult<T> r;
  r.logits = model.forward(frames, pool, &s.trace);
  r.loss = cross_entropy<T>(r.logits, label);
  r.predicted = argmax<T>(r.logits);

  const rvne::Header& h = model.header();
  const auto n = static_cast<Eigen::Index>(frames.rows());
  const auto D = static_cast<Eigen::Index>(h.input_dim), C = static_cast<Eigen::Index>(h.classes);
  const auto qw = static_cast<Eigen::Index>(std::size_t{h.q_heads} * h.head_dim);
  const auto kvw = static_cast<Eigen::Index>(std::size_t{h.kv_heads} * h.head_dim);
  const std::size_t layer_size = static_cast<std::size_t>(2 * D * qw + 2 * D * kvw);

  // Classifier and pooling.
  Vector dz = TemporalModel<T>::probabilities(r.logits);
  dz[static_cast<Eigen::Index>(label)] -= T(1);
  T* gc = grad + layer_size * h.layers;
  MatMap(gc, D, C).noalias() = s.trace.pooled * dz.transpose();
  const Vector dp = model.classifier() * dz;
  Matrix dh = Matrix::Zero(n, D);
  if (pool == Pool::last) {
    dh.row(n - 1) = dp.transpose();
  } else {
    dh.rowwise() = (dp / static_cast<T>(n)).transpose();
  }

  const TemporalHeadConfig& cfg = model.head().config();
  std::optional<SparsePattern> pattern;  // the model's pattern (cheap: a copy of the config)
  if (cfg.backend == Backend::SparseGqa) pattern.emplace(cfg.sparse_config());
  Tensor3<T> da(static_cast<std::size_t>(n), h.q_heads, h.head_dim), dq(static_cast<std::size_t>(n), h.q_heads, h.head_dim),
      dk(static_cast<std::size_t>(n), h.kv_heads, h.head_dim), dv(static_cast<std::size_t>(n), h.kv_heads, h.head_dim);
  for (std::size_t l = h.layers; l-- > 0;) {
    const auto& w = model.layer(l);
    const Matrix& x = s.trace.inputs[l];
    T* g = grad + layer_size * l;
    MatMap gq(g, D, qw), gk(g + D * qw, D, kvw), gv(g + D * qw + D * kvw, D, kvw),
        go(g + D * qw + 2 * D * kvw, qw, D);
    // Residual and output projection: H_{l+1} = H_l + A Wo.
    go.noalias() = s.trace.a[l].matrix().transpose() * dh;
    da.matrix().noalias() = dh * w.wo.transpose();
    if (pattern) {
      sparse_attention_backward<T>(*pattern, s.trace.q[l], s.trace.k[l], s.trace.v[l], da, dq, dk, dv, s.attention);
    } else {
      dense_attention_backward<T>(cfg.causal, s.trace.q[l], s.trace.k[l], s.trace.v[l], da, dq, dk, dv, s.attention);
    }
    gq.noalias() = x.transpose() * dq.matrix();
    gk.noalias() = x.transpose() * dk.matrix();
    gv.noalias() = x.transpose() * dv.matrix();
    dh.noalias() += dq.matrix() * w.wq.transpose();
    dh.noalias() += dk.matrix() * w.wk.transpose();
    dh.noalias() += dv.matrix() * w.wv.transpose();
  }
  if (grad_frames != nullptr) *grad_frames = std::move(dh);
  return r;
}

/// Allocating convenience overload.
template <class T>
WindowResult<T> loss_and_gradient(const TemporalModel<T>& model, const Eigen::Ref<const typename TemporalModel<T>::Matrix>& frames,
                                  std::size_t label, Pool pool, T* grad,
                                  typename TemporalModel<T>::Matrix* grad_frames = nullptr) {
  ModelBackwardScratch<T> s;
  return loss_and_gradient(model, frames, label, pool, grad, s, grad_frames);
}

}  // namespace aether::train
