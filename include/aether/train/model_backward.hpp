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
/// Version 2 models (the same attention backward; one header per block
/// beside it, each saying what it recomputes and stores): cross-entropy ->
/// classifier `Wc`, `bc` (linear_backward.hpp) -> pooling (pool_backward.hpp)
/// -> final RMSNorm (rms_norm_backward.hpp) -> per layer, last to first, the
/// feed-forward sublayer (ffn_backward.hpp) and its norm, the attention
/// sublayer (`Wo`, `bo`, attention, RoPE (rope_backward.hpp), `Wq`..`bv`) and
/// its norm, the convolution sublayer (conv_backward.hpp) and its norm -> the
/// input projection `W_in`, `b_in` -> the input frames. Every sublayer is
/// `h += f(norm(h))`, so dL/dh passes each residual unchanged and the
/// sublayer adds its input gradient to it. Stored (`Trace`): per layer the
/// stream entering each sublayer (N * model_dim each), q, k, v, a, and the
/// stream entering the final norm; recomputed: normed rows, convolution and
/// feed-forward pre-activations, RoPE angles. Gradients of padding and of
/// non-trainable tensors (the featuriser's standardisation) are 0.
/// For the v2 benchmark shape (d 32, Hq 4, Hkv 1, dh 32, ffn 64, 2 layers)
/// that is per frame per layer 3 * 32 + 2 * (128 + 32) = 416 stored values,
/// plus 32 for the final norm: 3.4 KB of floats per frame for both layers.
///
/// Thread safety: pure function of the model and its inputs; scratch is the caller's.

#include <aether/error.hpp>
#include <aether/rvne.hpp>
#include <aether/temporal_head.hpp>
#include <aether/temporal_model.hpp>
#include <aether/tensor.hpp>
#include <aether/train/attention_backward.hpp>
#include <aether/train/conv_backward.hpp>
#include <aether/train/ffn_backward.hpp>
#include <aether/train/linear_backward.hpp>
#include <aether/train/pool_backward.hpp>
#include <aether/train/rms_norm_backward.hpp>
#include <aether/train/rope_backward.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <cstddef>
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
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
  using Matrix = typename TemporalModel<T>::Matrix;
  typename TemporalModel<T>::Trace trace;
  AttentionBackwardScratch<T> attention;
  // v2 only: the stream gradient, the pooled rows' gradient, one sublayer's
  // normed rows and their gradient `(N, model_dim)`, the feed-forward
  // sublayer's scratch, one row of convolution pre-activations / RoPE angles.
  Matrix dh, dy, u, du;
  FfnBackwardScratch<T> ffn;
  std::vector<T> row;
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

namespace detail {

/// Pointers into a gradient vector laid out as the blob's tensors
/// (`rvne::for_each_tensor` offsets); null for a tensor the model has not.
template <class T>
struct V2Grads {
  struct Layer {
    T *conv_norm = nullptr, *conv_taps = nullptr, *conv_bias = nullptr, *attn_norm = nullptr;
    T *wq = nullptr, *bq = nullptr, *wk = nullptr, *bk = nullptr, *wv = nullptr, *bv = nullptr, *wo = nullptr,
      *bo = nullptr;
    T *ffn_norm = nullptr, *w1 = nullptr, *b1 = nullptr, *w2 = nullptr, *b2 = nullptr;
  };
  T *w_in = nullptr, *b_in = nullptr, *final_norm = nullptr, *wc = nullptr, *bc = nullptr;
  std::vector<Layer> layers;

  V2Grads(const rvne::Header& h, T* g) : layers(h.layers) {
    rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
      T* p = g + m.offset;
      const std::string_view n = m.name;
      if (m.layer < 0) {
        if (n == "W_in") w_in = p;
        else if (n == "b_in") b_in = p;
        else if (n == "final.norm") final_norm = p;
        else if (n == "Wc") wc = p;
        else if (n == "bc") bc = p;
        return;  // features.offset / features.scale: not trainable, gradient 0
      }
      Layer& l = layers[static_cast<std::size_t>(m.layer)];
      T** slot = n == "conv.norm"   ? &l.conv_norm
                 : n == "conv.taps" ? &l.conv_taps
                 : n == "conv.bias" ? &l.conv_bias
                 : n == "attn.norm" ? &l.attn_norm
                 : n == "Wq"        ? &l.wq
                 : n == "bq"        ? &l.bq
                 : n == "Wk"        ? &l.wk
                 : n == "bk"        ? &l.bk
                 : n == "Wv"        ? &l.wv
                 : n == "bv"        ? &l.bv
                 : n == "Wo"        ? &l.wo
                 : n == "bo"        ? &l.bo
                 : n == "ffn.norm"  ? &l.ffn_norm
                 : n == "W1"        ? &l.w1
                 : n == "b1"        ? &l.b1
                 : n == "W2"        ? &l.w2
                 : n == "b2"        ? &l.b2
                                    : nullptr;  // gate: gated models are not trained
      if (slot != nullptr) *slot = p;
    });
  }
};

/// `u` = the rows of `x` through RMSNorm with `gain` (the forward's own
/// `block::rms_norm_row`), or a copy of `x` without a gain.
template <class T, class Matrix>
void normed_rows(const Matrix& x, const T* gain, T eps, Matrix& u) {
  if (gain == nullptr) {
    u = x;
    return;
  }
  u.resize(x.rows(), x.cols());
  const auto d = static_cast<std::size_t>(x.cols());
  for (Eigen::Index i = 0; i < x.rows(); ++i) block::rms_norm_row(x.data() + i * x.cols(), gain, d, eps, u.data() + i * x.cols());
}

/// `dh += d(norm)/dx^T du` over the rows of `x` (RMSNorm with `gain`, its
/// gradient into `dgain`), or `dh += du` without a gain.
template <class T, class Matrix>
void add_norm_backward(const Matrix& x, const T* gain, T eps, const Matrix& du, Matrix& dh, T* dgain) {
  if (gain == nullptr) {
    dh += du;
    return;
  }
  const auto d = static_cast<std::size_t>(x.cols());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    rms_norm_row_backward(x.data() + i * x.cols(), gain, d, eps, du.data() + i * x.cols(), dh.data() + i * x.cols(),
                          dgain);
  }
}

/// The v2 backward (see the file comment) from `s.trace` and dL/dlogits `dz`.
template <class T>
void backward_v2(const TemporalModel<T>& model, const Eigen::Ref<const typename TemporalModel<T>::Matrix>& frames,
                 Pool pool, const typename TemporalModel<T>::Vector& dz, T* grad, ModelBackwardScratch<T>& s,
                 typename TemporalModel<T>::Matrix* grad_frames) {
  using Matrix = typename TemporalModel<T>::Matrix;
  using Vector = typename TemporalModel<T>::Vector;
  const rvne::Header& h = model.header();
  const rvne::Architecture& ar = h.arch;
  const typename TemporalModel<T>::Trace& tr = s.trace;
  const auto& top = model.globals();
  std::fill(grad, grad + static_cast<std::size_t>(rvne::layout_elements(h)), T(0));  // padding, constants: 0
  V2Grads<T> g(h, grad);
  const auto n = static_cast<Eigen::Index>(frames.rows());
  const auto d = static_cast<Eigen::Index>(model.model_dim()), C = static_cast<Eigen::Index>(h.classes);
  const T eps = static_cast<T>(ar.norm_eps);
  const std::size_t un = static_cast<std::size_t>(n);

  // Classifier: logits = pooled Wc + bc.
  Eigen::Map<Matrix>(g.wc, d, C).noalias() = tr.pooled * dz.transpose();
  if (g.bc != nullptr) Eigen::Map<Vector>(g.bc, C) = dz;
  const Vector dp = model.classifier() * dz;
  // Pooling, then the final norm of the rows the pooling read.
  Matrix& dh = s.dh;
  dh.resize(n, d);
  if (top.final_norm != nullptr) {
    s.dy.resize(n, d);
    pool_backward(pool, dp, s.dy);
    dh.setZero();
    for (Eigen::Index i = pool == Pool::last ? n - 1 : 0; i < n; ++i) {
      rms_norm_row_backward(tr.final_input.data() + i * d, top.final_norm, static_cast<std::size_t>(d), eps,
                            s.dy.data() + i * d, dh.data() + i * d, g.final_norm);
    }
  } else {
    pool_backward(pool, dp, dh);
  }

  const TemporalHeadConfig& cfg = model.head().config();
  std::optional<SparsePattern> pattern;
  if (cfg.backend == Backend::SparseGqa) pattern.emplace(cfg.sparse_config());
  Tensor3<T> da(un, h.q_heads, h.head_dim), dq(un, h.q_heads, h.head_dim), dk(un, h.kv_heads, h.head_dim),
      dv(un, h.kv_heads, h.head_dim);
  s.row.resize(std::max<std::size_t>(static_cast<std::size_t>(d), h.head_dim));
  const bool conv = ar.has(rvne::kBlockConv), ffn = ar.has(rvne::kBlockFfn), rope = ar.has(rvne::kBlockRope);
  for (std::size_t l = h.layers; l-- > 0;) {
    const auto& w = model.layer(l);
    const auto& gl = g.layers[l];
    if (ffn) {  // h += act(norm(x) W1 + b1) W2 + b2
      const Matrix& x = tr.ffn_inputs[l];
      normed_rows(x, w.ffn_norm, eps, s.u);
      s.du.resize(n, d);
      ffn_backward<T>(w.w1, w.b1, w.w2, ar.ffn_activation, s.u, dh, s.du, gl.w1, gl.b1, gl.w2, gl.b2, s.ffn);
      add_norm_backward(x, w.ffn_norm, eps, s.du, dh, gl.ffn_norm);
    }
    {  // h += attention(rope(norm(x) Wq + bq), rope(norm(x) Wk + bk), norm(x) Wv + bv) Wo + bo
      const Matrix& x = tr.inputs[l];
      linear_weight_backward(tr.a[l].matrix(), dh, gl.wo, gl.bo);
      da.matrix().noalias() = dh * w.wo.transpose();
      if (pattern) {
        sparse_attention_backward<T>(*pattern, tr.q[l], tr.k[l], tr.v[l], da, dq, dk, dv, s.attention);
      } else {
        dense_attention_backward<T>(cfg.causal, tr.q[l], tr.k[l], tr.v[l], da, dq, dk, dv, s.attention);
      }
      if (rope) {
        rope_backward(model.rope(), tr.first_position, un, h.q_heads, dq.data(), s.row.data());
        rope_backward(model.rope(), tr.first_position, un, h.kv_heads, dk.data(), s.row.data());
      }
      normed_rows(x, w.attn_norm, eps, s.u);
      linear_weight_backward(s.u, dq.matrix(), gl.wq, gl.bq);
      linear_weight_backward(s.u, dk.matrix(), gl.wk, gl.bk);
      linear_weight_backward(s.u, dv.matrix(), gl.wv, gl.bv);
      s.du.noalias() = dq.matrix() * w.wq.transpose();
      s.du.noalias() += dk.matrix() * w.wk.transpose();
      s.du.noalias() += dv.matrix() * w.wv.transpose();
      add_norm_backward(x, w.attn_norm, eps, s.du, dh, gl.attn_norm);
    }
    if (conv) {  // h += act(conv(norm(x)) + bias)
      const Matrix& x = tr.conv_inputs[l];
      normed_rows(x, w.conv_norm, eps, s.u);
      s.du.resize(n, d);
      conv_backward<T>(w.conv_taps.data(), w.conv_bias, ar.conv_kernel, ar.conv_dilation, ar.conv_activation,
                       static_cast<std::size_t>(d), un, s.u.data(), dh.data(), s.du.data(), gl.conv_taps,
                       gl.conv_bias, s.row.data());
      add_norm_backward(x, w.conv_norm, eps, s.du, dh, gl.conv_norm);
    }
  }
  if (ar.has(rvne::kBlockInputProjection)) {  // h = frames W_in + b_in
    linear_weight_backward(frames, dh, g.w_in, g.b_in);
    if (grad_frames != nullptr) *grad_frames = dh * top.w_in.transpose();
  } else if (grad_frames != nullptr) {
    *grad_frames = dh;
  }
}

}  // namespace detail

/// Forward (the model's own) and backward of one window of `frames`
/// `(N, input_dim)` with class `label`. Writes dL/dweights into `grad`
/// (`rvne::layout_elements(model.header())` values in the blob's layout
/// order; overwritten) and, when given, dL/dframes into `grad_frames`
/// (resized to N x input_dim). Throws `Errc::shape_mismatch` for bad frames,
/// `Errc::invalid_argument` for a label >= classes or a gated model. v1 and
/// v2 models (v2: padding and non-trainable tensors get 0); frames at
/// positions `first_position`, ... (RoPE; v1 ignores it), as `forward`.
template <class T>
WindowResult<T> loss_and_gradient(const TemporalModel<T>& model, const Eigen::Ref<const typename TemporalModel<T>::Matrix>& frames,
                                  std::size_t label, Pool pool, T* grad, ModelBackwardScratch<T>& s,
                                  typename TemporalModel<T>::Matrix* grad_frames = nullptr,
                                  std::uint64_t first_position = 0) {
  using Matrix = typename TemporalModel<T>::Matrix;
  using Vector = typename TemporalModel<T>::Vector;
  using MatMap = Eigen::Map<Matrix>;
  if (label >= model.classes()) {
    aether::detail::fail(Errc::invalid_argument, "loss_and_gradient: label " + std::to_string(label) +
                                                     " is not below n_classes " + std::to_string(model.classes()));
  }
  WindowResult<T> r;
  r.logits = model.forward(frames, pool, &s.trace, first_position);
  r.loss = cross_entropy<T>(r.logits, label);
  r.predicted = argmax<T>(r.logits);
  if (model.header().version == rvne::kVersion2) {
    Vector dz2 = TemporalModel<T>::probabilities(r.logits);
    dz2[static_cast<Eigen::Index>(label)] -= T(1);
    detail::backward_v2<T>(model, frames, pool, dz2, grad, s, grad_frames);
    return r;
  }

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
                                  typename TemporalModel<T>::Matrix* grad_frames = nullptr,
                                  std::uint64_t first_position = 0) {
  ModelBackwardScratch<T> s;
  return loss_and_gradient(model, frames, label, pool, grad, s, grad_frames, first_position);
}

}  // namespace aether::train
