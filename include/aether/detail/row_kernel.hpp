#pragma once
// Internal: the per-row attention code shared by prefill and decode.
// Both paths call `attend_group` with the same candidate list (ascending
// tokens, then ascending landmark blocks), the same group size and an
// equally aligned score buffer, so their results are bit-identical.

#include <aether/sparse_pattern.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <cmath>
#include <cstdint>
#include <limits>

namespace aether {
namespace detail {

/// Where the rows of one kv head live: row of position j is `k + j * stride`
/// (same for `v`). Non-owning. `S` is the storage scalar (T, or Eigen::half).
template <class S>
struct RowSource {
  const S* k = nullptr;
  const S* v = nullptr;
  std::size_t stride = 0;
};

/// Score buffers use this row pitch so every row starts on a 64-byte boundary:
/// Eigen then splits each row into packet/scalar parts identically in every call.
constexpr std::size_t kScorePitch = 16;
inline std::size_t score_pitch(std::size_t count) noexcept {
  return (count + kScorePitch - 1) / kScorePitch * kScorePitch;
}

/// `exp((x - m) * scale)` with the exponent clamped just above the smallest
/// normal number's log: weights below ~1e-38 (float) become that floor instead
/// of denormals, which would cost ~100x in every later multiply on x86.
/// The error is far below float resolution of any non-negligible weight.
template <class Derived, class T>
auto softmax_exp(const Eigen::ArrayBase<Derived>& x, T m, T scale) {
  const T floor = std::log(std::numeric_limits<T>::min()) + T(1);
  return ((x - m) * scale).max(floor).exp();
}

/// Compile-time head_dim for the specialised paths (0 = any, decided at run time).
template <int Dim>
using VecOf = std::integral_constant<int, Dim == 0 ? Eigen::Dynamic : Dim>;

/// Attention of `g` query rows (one GQA group, contiguous `g x d` at `q`)
/// over one kv head's candidates; writes `g x d` rows at `out`.
///
/// - `scores`: caller scratch of `g * pitch` values, 64-byte aligned, with
///   `pitch == score_pitch(c.size())`.
/// - Cost: O(g * |c| * d); no allocation; reads only the candidate rows.
/// - Empty candidate set -> zero rows.
template <int Dim, class T, class S>
void attend_group(const T* q, std::size_t g, std::size_t d, T scale, const Candidates& c,
                  RowSource<S> tok, RowSource<T> lm, T* scores, std::size_t pitch, T* out) {
  constexpr int kDim = VecOf<Dim>::value;
  using Vec = Eigen::Matrix<T, kDim, 1>;
  using SVec = Eigen::Matrix<S, kDim, 1>;
  using CMap = Eigen::Map<const Vec>;
  using SMap = Eigen::Map<const SVec>;
  using Arr = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>, Eigen::AlignedMax>;
  const auto di = static_cast<Eigen::Index>(d);
  const std::size_t nt = c.tokens.size();
  const std::size_t nc = nt + c.blocks.size();

  for (std::size_t r = 0; r < g; ++r) {
    Eigen::Map<Vec> o(out + r * d, di);
    if (nc == 0) {
      o.setZero();
      continue;
    }
    const CMap qr(q + r * d, di);
    T* s = scores + r * pitch;
    // 1. Raw scores q . k for every candidate (tokens, then landmarks).
    for (std::size_t e = 0; e < nt; ++e) {
      s[e] = qr.dot(SMap(tok.k + c.tokens[e] * tok.stride, di).template cast<T>());
    }
    for (std::size_t e = 0; e < c.blocks.size(); ++e) {
      s[nt + e] = qr.dot(CMap(lm.k + c.blocks[e] * lm.stride, di));
    }
    // 2. One vectorised max-subtracted exp over the whole padded row (the
    //    padding keeps every element on Eigen's packet path; it is ignored).
    const T m = Arr(s, static_cast<Eigen::Index>(nc)).maxCoeff();
    Arr padded(s, static_cast<Eigen::Index>(pitch));
    padded = softmax_exp(padded, m, scale);
    const T sum = padded.head(static_cast<Eigen::Index>(nc)).sum();
    // 3. Weighted sum of the values, then normalise. Fixed head dims keep
    //    the accumulator in registers; the run-time path uses `out` itself.
    auto weighted_sum = [&](auto& acc) {
      acc.setZero();
      for (std::size_t e = 0; e < nt; ++e) {
        acc.noalias() += s[e] * SMap(tok.v + c.tokens[e] * tok.stride, di).template cast<T>();
      }
      for (std::size_t e = 0; e < c.blocks.size(); ++e) {
        acc.noalias() += s[nt + e] * CMap(lm.v + c.blocks[e] * lm.stride, di);
      }
    };
    const T inv = T(1) / sum;
    if constexpr (Dim != 0) {
      Vec acc;
      weighted_sum(acc);
      o = acc * inv;
    } else {
      weighted_sum(o);
      o *= inv;
    }
  }
}

/// Mean of `count` rows (`src + t * stride`, t = 0..count-1) into `dst` (d values).
/// The one definition of a landmark mean: summed in token order, then divided,
/// so the prefill kernel and the KV cache produce identical bits.
template <class T, class S>
void block_mean(const S* src, std::size_t stride, std::size_t count, std::size_t d, T* dst) {
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using SVec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  const auto di = static_cast<Eigen::Index>(d);
  Eigen::Map<Vec> acc(dst, di);
  acc = Eigen::Map<const SVec>(src, di).template cast<T>();
  for (std::size_t t = 1; t < count; ++t) acc += Eigen::Map<const SVec>(src + t * stride, di).template cast<T>();
  acc /= static_cast<T>(count);
}

/// Calls `f(std::integral_constant<int, Dim>{})` with Dim = d for the
/// specialised head dims 16/32/64/128, else Dim = 0 (run-time d).
template <class F>
decltype(auto) dispatch_dim(std::size_t d, F&& f) {
  switch (d) {
    case 16: return f(std::integral_constant<int, 16>{});
    case 32: return f(std::integral_constant<int, 32>{});
    case 64: return f(std::integral_constant<int, 64>{});
    case 128: return f(std::integral_constant<int, 128>{});
    default: return f(std::integral_constant<int, 0>{});
  }
}

}  // namespace detail
}  // namespace aether
