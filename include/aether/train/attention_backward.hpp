#pragma once
/// \file train/attention_backward.hpp
/// Gradients of attention: given q, k, v and dL/d(out), the gradients dL/dq,
/// dL/dk, dL/dv of the dense kernel (`dense_attention`) and of the sparse
/// kernel (`SparseAttention::forward` / `forward_gated`) with exactly the
/// forward's candidate sets (SEMANTICS.md): window, log-stride, globals
/// (sorted and deduplicated by `SparsePattern`, out-of-range ones ignored),
/// the gated keep mask, and landmarks (a block mean's gradient spreads equally
/// over every key and value of its block).
///
/// Math, per query row (i, h) over its candidates e (tokens, then landmarks):
///   s_e = q_i . k_e / sqrt(d),  p = softmax(s),  out_i = sum_e p_e v_e
///   dp_e = dout_i . v_e,  delta = sum_e p_e dp_e,  ds_e = p_e (dp_e - delta)
///   dq_i += sum_e ds_e k_e / sqrt(d)
///   dk_e += ds_e q_i / sqrt(d),  dv_e += p_e dout_i
/// Query head h reads kv head h / (q_heads / kv_heads), so a shared kv head
/// (GQA, MQA) accumulates the contributions of all its query heads.
///
/// Activations: the softmax rows are *recomputed* (one candidate list and one
/// row of |candidates| scores at a time), never stored: besides the gradients
/// themselves (the shapes of q, k, v) a call keeps one candidate list, two
/// rows of at most `max_tokens + max_blocks` values and, with landmarks, the
/// block means and their gradients (2 x 2 x blocks x kv_heads x d values).
/// No n x n buffer exists, for the dense kernel either (its candidate list is
/// every causal key, O(n) scratch).
///
/// Cost: sparse O(n * (window + log n + |G|) * q_heads * d), dense
/// O(n^2 * q_heads * d); a serial pass (training parallelises over windows).
/// Thread safety: pure functions; scratch belongs to the caller.

#include <aether/detail/row_kernel.hpp>
#include <aether/detail/shapes.hpp>
#include <aether/error.hpp>
#include <aether/sparse_pattern.hpp>
#include <aether/tensor.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace aether::train {

/// Reusable scratch of the backward kernels (one per thread).
template <class T>
struct AttentionBackwardScratch {
  Candidates candidates;
  std::vector<T> probs, dprobs;                         ///< one softmax row and its dL/dp
  std::vector<T> landmark_keys, landmark_values;        ///< block means `(blocks, kv_heads, d)`
  std::vector<T> landmark_dkeys, landmark_dvalues;      ///< their gradients
};

namespace detail {

/// Checks the gradient views have the shapes of q, k and v.
template <class T>
void check_grads(const char* op, Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> dout,
                 Tensor3View<T> dq, Tensor3View<T> dk, Tensor3View<T> dv) {
  auto same = [](const auto& a, const auto& b) {
    return a.seq() == b.seq() && a.heads() == b.heads() && a.dim() == b.dim();
  };
  if (!same(dout, q) || !same(dq, q) || !same(dk, k) || !same(dv, k)) {
    aether::detail::fail(Errc::shape_mismatch, std::string(op) + ": dout " + aether::detail::shape_str(dout) +
                                                   ", dq " + aether::detail::shape_str(dq) + ", dk " +
                                                   aether::detail::shape_str(dk) + ", dv " +
                                                   aether::detail::shape_str(dv) + " must match q " +
                                                   aether::detail::shape_str(q) + " and k " +
                                                   aether::detail::shape_str(k));
  }
}

/// The backward pass over the candidate lists `cands(i)` (a `const
/// Candidates&` for query i). `lk`, `lv` hold the landmark means the lists'
/// block indices refer to, `dlk`, `dlv` receive their gradients (same
/// layout, zeroed by the caller). Writes dq, dk, dv (overwritten).
template <int Dim, class T, class CandidatesOf>
void backward_rows(Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v, Tensor3View<const T> dout,
                   Tensor3View<T> dq, Tensor3View<T> dk, Tensor3View<T> dv, const T* lk, const T* lv, T* dlk, T* dlv,
                   CandidatesOf&& cands, AttentionBackwardScratch<T>& s) {
  using Vec = Eigen::Matrix<T, aether::detail::VecOf<Dim>::value, 1>;
  using CMap = Eigen::Map<const Vec>;
  using Map = Eigen::Map<Vec>;
  const std::size_t n = q.seq(), heads = q.heads(), kvh = k.heads(), g = heads / kvh, d = q.dim(), row = kvh * d;
  const auto di = static_cast<Eigen::Index>(d);
  const T scale = T(1) / std::sqrt(static_cast<T>(d));
  const T floor = aether::detail::exp_floor<T>();
  std::fill(dq.data(), dq.data() + dq.size(), T(0));
  std::fill(dk.data(), dk.data() + dk.size(), T(0));
  std::fill(dv.data(), dv.data() + dv.size(), T(0));
  for (std::size_t i = 0; i < n; ++i) {
    const Candidates& c = cands(i);
    const std::size_t nt = c.tokens.size(), nb = c.blocks.size(), nc = nt + nb;
    if (nc == 0) continue;  // the forward's zero row: no gradient
    if (s.probs.size() < nc) s.probs.resize(nc), s.dprobs.resize(nc);
    T* p = s.probs.data();
    T* dp = s.dprobs.data();
    for (std::size_t h = 0; h < heads; ++h) {
      const std::size_t o = (h / g) * d;  // kv head offset within a token
      const CMap qi(q.row(i, h), di), doi(dout.row(i, h), di);
      auto key = [&](std::size_t e) { return e < nt ? k.data() + c.tokens[e] * row + o : lk + c.blocks[e - nt] * row + o; };
      auto value = [&](std::size_t e) { return e < nt ? v.data() + c.tokens[e] * row + o : lv + c.blocks[e - nt] * row + o; };
      // Softmax row, as the forward evaluates it: max-subtracted, scaled, clamped exp.
      T m = -std::numeric_limits<T>::infinity();
      for (std::size_t e = 0; e < nc; ++e) {
        p[e] = qi.dot(CMap(key(e), di));
        m = std::max(m, p[e]);
      }
      T total = 0;
      for (std::size_t e = 0; e < nc; ++e) {
        p[e] = std::exp(std::max((p[e] - m) * scale, floor));
        total += p[e];
      }
      const T inv = T(1) / total;
      T delta = 0;
      for (std::size_t e = 0; e < nc; ++e) {
        p[e] *= inv;
        dp[e] = doi.dot(CMap(value(e), di));
        delta += p[e] * dp[e];
      }
      Map dqi(dq.row(i, h), di);
      for (std::size_t e = 0; e < nc; ++e) {
        const T ds = p[e] * (dp[e] - delta) * scale;
        dqi.noalias() += ds * CMap(key(e), di);
        T* gk = e < nt ? dk.data() + c.tokens[e] * row + o : dlk + c.blocks[e - nt] * row + o;
        T* gv = e < nt ? dv.data() + c.tokens[e] * row + o : dlv + c.blocks[e - nt] * row + o;
        Map(gk, di).noalias() += ds * qi;
        Map(gv, di).noalias() += p[e] * doi;
      }
    }
  }
}

}  // namespace detail

/// Gradients of `SparseAttention<T>(pattern.config()).forward(q, k, v)` (or
/// of `forward_gated(q, k, v, keep)` when `keep` is given: n entries, log-
/// stride tokens j kept where keep[j] != 0) given `dout` = dL/d(out).
/// Shapes: q, dout, dq `(n, q_heads, d)`; k, v, dk, dv `(n, kv_heads, d)`.
/// Writes (overwrites) dq, dk, dv. Throws `Errc::shape_mismatch`.
template <class T>
void sparse_attention_backward(const SparsePattern& pattern, Tensor3View<const T> q, Tensor3View<const T> k,
                               Tensor3View<const T> v, Tensor3View<const T> dout, Tensor3View<T> dq,
                               Tensor3View<T> dk, Tensor3View<T> dv, AttentionBackwardScratch<T>& s,
                               const std::uint8_t* keep = nullptr) {
  aether::detail::check_qkv("sparse_attention_backward", q, k, v);
  detail::check_grads("sparse_attention_backward", q, k, dout, dq, dk, dv);
  const std::size_t n = q.seq(), kvh = k.heads(), d = k.dim(), row = kvh * d, bs = pattern.config().block_size;
  if (n == 0) return;
  // Landmark means exactly as the forward forms them (detail::block_mean).
  const std::size_t nb = pattern.landmark_blocks(n);
  s.landmark_keys.resize(nb * row);
  s.landmark_values.resize(nb * row);
  s.landmark_dkeys.assign(nb * row, T(0));
  s.landmark_dvalues.assign(nb * row, T(0));
  for (std::size_t b = 0; b < nb; ++b) {
    const std::size_t count = std::min(bs, n - b * bs);
    for (std::size_t h = 0; h < kvh; ++h) {
      aether::detail::block_mean(k.row(b * bs, h), row, count, d, s.landmark_keys.data() + b * row + h * d);
      aether::detail::block_mean(v.row(b * bs, h), row, count, d, s.landmark_values.data() + b * row + h * d);
    }
  }
  s.candidates.reserve(pattern, n);
  auto cands = [&](std::size_t i) -> const Candidates& {
    pattern.candidates(i, n, s.candidates, keep);
    return s.candidates;
  };
  aether::detail::dispatch_dim(d, [&](auto dim_tag) {
    detail::backward_rows<decltype(dim_tag)::value>(q, k, v, dout, dq, dk, dv, s.landmark_keys.data(),
                                                    s.landmark_values.data(), s.landmark_dkeys.data(),
                                                    s.landmark_dvalues.data(), cands, s);
  });
  // A block mean's gradient reaches each of its `count` rows divided by count.
  for (std::size_t b = 0; b < nb; ++b) {
    const std::size_t count = std::min(bs, n - b * bs);
    const T inv = T(1) / static_cast<T>(count);
    for (std::size_t t = b * bs; t < b * bs + count; ++t) {
      for (std::size_t x = 0; x < row; ++x) {
        dk.data()[t * row + x] += s.landmark_dkeys[b * row + x] * inv;
        dv.data()[t * row + x] += s.landmark_dvalues[b * row + x] * inv;
      }
    }
  }
}

/// Allocating convenience overload of `sparse_attention_backward`.
template <class T>
void sparse_attention_backward(const SparsePattern& pattern, Tensor3View<const T> q, Tensor3View<const T> k,
                               Tensor3View<const T> v, Tensor3View<const T> dout, Tensor3View<T> dq,
                               Tensor3View<T> dk, Tensor3View<T> dv, const std::uint8_t* keep = nullptr) {
  AttentionBackwardScratch<T> s;
  sparse_attention_backward(pattern, q, k, v, dout, dq, dk, dv, s, keep);
}

/// Gradients of `dense_attention(q, k, v, causal)`; shapes and effects as
/// `sparse_attention_backward`. Scratch O(n) (one candidate list), no n x n.
template <class T>
void dense_attention_backward(bool causal, Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v,
                              Tensor3View<const T> dout, Tensor3View<T> dq, Tensor3View<T> dk, Tensor3View<T> dv,
                              AttentionBackwardScratch<T>& s) {
  aether::detail::check_qkv("dense_attention_backward", q, k, v);
  detail::check_grads("dense_attention_backward", q, k, dout, dq, dk, dv);
  const std::size_t n = q.seq();
  if (n == 0) return;
  // Every key (bidirectional), or the keys 0..i (causal: queries run in
  // ascending order, so the list grows by one per query; capacity n).
  Candidates& c = s.candidates;
  c.blocks.clear();
  c.tokens.reserve(n);
  c.tokens.resize(causal ? 0 : n);
  std::iota(c.tokens.begin(), c.tokens.end(), std::uint32_t{0});
  c.window_first = 0;
  auto cands = [&](std::size_t i) -> const Candidates& {
    if (causal) c.tokens.push_back(static_cast<std::uint32_t>(i));
    c.window_count = c.tokens.size();
    return c;
  };
  aether::detail::dispatch_dim(q.dim(), [&](auto dim_tag) {
    detail::backward_rows<decltype(dim_tag)::value>(q, k, v, dout, dq, dk, dv, static_cast<const T*>(nullptr),
                                                    static_cast<const T*>(nullptr), static_cast<T*>(nullptr),
                                                    static_cast<T*>(nullptr), cands, s);
  });
}

/// Allocating convenience overload of `dense_attention_backward`.
template <class T>
void dense_attention_backward(bool causal, Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v,
                              Tensor3View<const T> dout, Tensor3View<T> dq, Tensor3View<T> dk, Tensor3View<T> dv) {
  AttentionBackwardScratch<T> s;
  dense_attention_backward(causal, q, k, v, dout, dq, dk, dv, s);
}

}  // namespace aether::train
