#pragma once
/// \file dense_attention.hpp
/// `dense_attention`: exact softmax attention over all keys (causal or not),
/// for MHA, GQA and MQA shapes, built on Eigen GEMM tiles with an online
/// softmax so no `n x n` matrix is ever formed. This is the optimised dense
/// baseline; `dense_decode` is its streaming counterpart over a `KvCache`.

#include <aether/detail/row_kernel.hpp>
#include <aether/detail/shapes.hpp>
#include <aether/kv_cache.hpp>
#include <aether/tensor.hpp>
#include <aether/workspace.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>

#if defined(AETHER_USE_OPENMP)
#include <omp.h>
#endif

namespace aether {

namespace detail {

// Square tiles: with causal masking the diagonal tile is then exactly
// lower-triangular, and its P * V product reads no value row after the query.
constexpr Eigen::Index kDenseQueryTile = 64;
constexpr Eigen::Index kDenseKeyTile = kDenseQueryTile;

/// Sets the entries of score tile `s` (rows from query i0, cols from key j0)
/// whose key lies after the query (j > i) to `value`.
template <class Tile, class T>
void mask_upper(Tile& s, Eigen::Index i0, Eigen::Index j0, T value) {
  for (Eigen::Index r = 0; r < s.rows(); ++r) {
    const Eigen::Index first_masked = std::max<Eigen::Index>(0, i0 + r + 1 - j0);
    if (first_masked < s.cols()) s.row(r).tail(s.cols() - first_masked).setConstant(value);
  }
}

/// Per-thread scratch of `dense_tile`: one score tile, the online-softmax
/// state and the output accumulator of one query tile. Allocates once (O).
template <class T>
struct DenseTileScratch {
  using Col = Eigen::Array<T, kDenseQueryTile, 1>;
  explicit DenseTileScratch(Eigen::Index d) : O(kDenseQueryTile, d) {}
  Eigen::Matrix<T, kDenseQueryTile, kDenseKeyTile, Eigen::RowMajor> S;
  Col m, l, alpha, m_new;
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> O;
};

/// Dense attention of query rows [i0, i0 + 64) of one head over one kv head.
/// `Qh`, `Kh`, `Vh`, `Oh`: strided row-major maps `[n, d]`.
/// Cost O(tile * n * d); no allocation.
template <class T, class QMap, class KMap, class OMap>
void dense_tile(const QMap& Qh, const KMap& Kh, const KMap& Vh, OMap& Oh, bool causal, Eigen::Index i0,
                DenseTileScratch<T>& w) {
  const Eigen::Index n = Qh.rows(), nk = Kh.rows(), d = Qh.cols();
  const T scale = T(1) / std::sqrt(static_cast<T>(d));
  const T neg_inf = -std::numeric_limits<T>::infinity();
  auto& S = w.S;
  auto& O = w.O;
  auto m = w.m.head(std::min(kDenseQueryTile, n - i0));
  const Eigen::Index rows = m.size();
  auto l = w.l.head(rows);
  auto alpha = w.alpha.head(rows);
  auto m_new = w.m_new.head(rows);
  const Eigen::Index kend = causal ? std::min(nk, i0 + rows) : nk;
  m.setConstant(neg_inf);
  l.setZero();
  O.topRows(rows).setZero();
  for (Eigen::Index j0 = 0; j0 < kend; j0 += kDenseKeyTile) {
    const Eigen::Index cols = std::min(kDenseKeyTile, kend - j0);
    const bool diagonal = causal && j0 + cols > i0;  // then j0 == i0 and rows == cols
    auto s = S.topLeftCorner(rows, cols);
    s.noalias() = (Qh.middleRows(i0, rows) * Kh.middleRows(j0, cols).transpose()) * scale;
    if (diagonal) mask_upper(s, i0, j0, neg_inf);
    // Online softmax: rescale what was accumulated to the new row maxima.
    m_new = m.max(s.rowwise().maxCoeff().array());
    alpha = (m - m_new).exp();
    m = m_new;
    s.array().colwise() -= m;
    s.array() = softmax_exp(s.array(), T(0), T(1));
    if (diagonal) mask_upper(s, i0, j0, T(0));  // masked weights are exactly 0
    l = l * alpha + s.rowwise().sum().array();
    O.topRows(rows).array().colwise() *= alpha;
    if (diagonal) {
      // Row r may only touch value rows <= r: a masked weight is 0, but
      // 0 * NaN is NaN, so a NaN value after the query must not enter at all.
      for (Eigen::Index r = 0; r < rows; ++r) O.row(r).noalias() += s.row(r).head(r + 1) * Vh.middleRows(j0, r + 1);
    } else {
      O.topRows(rows).noalias() += s * Vh.middleRows(j0, cols);
    }
  }
  Oh.middleRows(i0, rows) = (O.topRows(rows).array().colwise() / l).matrix();
}

template <class T>
using StridedRows = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                               Eigen::OuterStride<>>;
template <class T>
using StridedRowsMut = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                                  Eigen::OuterStride<>>;

/// Head `h` of a `(seq, heads, dim)` view as a strided `[seq, dim]` matrix.
template <class T>
StridedRows<T> head_rows(Tensor3View<const T> t, std::size_t h) {
  return {t.data() + h * t.dim(), static_cast<Eigen::Index>(t.seq()), static_cast<Eigen::Index>(t.dim()),
          Eigen::OuterStride<>(static_cast<Eigen::Index>(t.heads() * t.dim()))};
}

}  // namespace detail

/// Dense attention into a caller view `out` (shape of q).
/// Shapes: q `(n, q_heads, d)`, k and v `(n, kv_heads, d)`; throws `Errc::shape_mismatch`.
/// Thread safety: pure function of its inputs. Cost O(n^2 * q_heads * d).
template <class T>
void dense_attention(Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v, Tensor3View<T> out,
                     bool causal) {
  detail::check_qkv("dense_attention", q, k, v);
  detail::check_out("dense_attention", q, out);
  if (q.seq() == 0) return;
  const std::size_t g = q.heads() / k.heads();
  const auto n = static_cast<Eigen::Index>(q.seq()), d = static_cast<Eigen::Index>(q.dim());
  const Eigen::Index tiles = (n + detail::kDenseQueryTile - 1) / detail::kDenseQueryTile;
  const Eigen::Index items = tiles * static_cast<Eigen::Index>(q.heads());
  // Work item = (head, query tile); items are independent, so any split over
  // threads gives bit-identical results.
  auto run = [&](Eigen::Index item, detail::DenseTileScratch<T>& w) {
    const auto h = static_cast<std::size_t>(item / tiles);
    detail::StridedRowsMut<T> oh(out.data() + h * out.dim(), n, d,
                                 Eigen::OuterStride<>(static_cast<Eigen::Index>(out.heads() * out.dim())));
    detail::dense_tile<T>(detail::head_rows(q, h), detail::head_rows(k, h / g), detail::head_rows(v, h / g), oh,
                          causal, (item % tiles) * detail::kDenseQueryTile, w);
  };
#if defined(AETHER_USE_OPENMP)
  if (items > 1 && omp_get_max_threads() > 1) {
#pragma omp parallel
    {
      detail::DenseTileScratch<T> w(d);
#pragma omp for schedule(dynamic)
      for (Eigen::Index item = 0; item < items; ++item) run(item, w);
    }
    return;
  }
#endif
  detail::DenseTileScratch<T> w(d);
  for (Eigen::Index item = 0; item < items; ++item) run(item, w);
}

/// Dense attention, returning a new `(n, q_heads, d)` tensor. Accepts any mix
/// of `Tensor3<T>` and `Tensor3View<T>` arguments.
template <class Q, class K, class V, class T = detail::tensor_scalar_t<Q>>
Tensor3<T> dense_attention(const Q& q, const K& k, const V& v, bool causal) {
  const Tensor3View<const T> qv = detail::cview(q);
  Tensor3<T> out(qv.seq(), qv.heads(), qv.dim());
  dense_attention<T>(qv, detail::cview(k), detail::cview(v), out.view(), causal);
  return out;
}

namespace detail {
/// Dense decode of the newest cached token; `sink` (optional) receives the
/// token attention weights (heavy-hitter caches).
template <class T, class S>
void dense_decode_row(Tensor3View<const T> q1, const KvCache<T, S>& cache, Tensor3View<T> out, Workspace<T>& ws,
                      T* sink) {
  if (q1.seq() != 1 || q1.dim() != cache.dim() || q1.heads() == 0 || q1.heads() % cache.kv_heads() != 0) {
    fail(Errc::shape_mismatch, "dense_decode: q1 " + shape_str(q1) + " against a cache with kv_heads " +
                                   std::to_string(cache.kv_heads()) + ", dim " + std::to_string(cache.dim()));
  }
  check_out("dense_decode", q1, out);
  const std::size_t len = cache.size(), kvh = cache.kv_heads(), g = q1.heads() / kvh, d = q1.dim();
  if (len == 0) {
    std::fill(out.data(), out.data() + out.size(), T(0));
    return;
  }
  // Every cached token is a candidate; no landmarks. Buffers are sized for
  // the capacity so a growing stream allocates only on its first step.
  if (ws.candidates.tokens.capacity() < cache.capacity()) ws.candidates.tokens.reserve(cache.capacity());
  ws.candidates.tokens.resize(len);
  std::iota(ws.candidates.tokens.begin(), ws.candidates.tokens.end(), std::uint32_t{0});
  ws.candidates.window_first = 0;  // one run of consecutive positions: vectorised scores
  ws.candidates.window_count = len;
  ws.candidates.blocks.clear();
  T* scores = ws.score_buffer(kMaxRows * score_pitch(cache.capacity()));
  const T scale = T(1) / std::sqrt(static_cast<T>(d));
  dispatch_dim(d, [&](auto dim_tag) {
    attend_heads<decltype(dim_tag)::value>(q1.row(0, 0), q1.heads(), g, d, scale, ws.candidates, cache.token_rows(0),
                                           cache.landmark_rows(0), scores, score_pitch(len), out.row(0, 0), sink);
  });
}
}  // namespace detail

/// Dense streaming decode: the newest cached token against every cached
/// token (causal). Cost O(T * q_heads * d) per step; allocation-free once `ws`
/// has served a step of this cache. Equals the matching row of causal
/// `dense_attention` within 1e-6 (a different summation order).
template <class T, class S>
void dense_decode(Tensor3View<const T> q1, const KvCache<T, S>& cache, Tensor3View<T> out, Workspace<T>& ws) {
  detail::dense_decode_row(q1, cache, out, ws, static_cast<T*>(nullptr));
}
/// As above; a heavy-hitter cache passed mutably also accumulates the step's
/// attention weights.
template <class T, class S>
void dense_decode(Tensor3View<const T> q1, KvCache<T, S>& cache, Tensor3View<T> out, Workspace<T>& ws) {
  detail::dense_decode_row(q1, cache, out, ws, cache.attention_sink());
}

/// Dense streaming decode returning a new `(1, q_heads, d)` tensor.
template <class T, class S>
Tensor3<T> dense_decode(Tensor3View<const T> q1, const KvCache<T, S>& cache) {
  Workspace<T> ws;
  Tensor3<T> out(q1.seq(), q1.heads(), q1.dim());
  detail::dense_decode_row(q1, cache, out.view(), ws, static_cast<T*>(nullptr));
  return out;
}

}  // namespace aether
