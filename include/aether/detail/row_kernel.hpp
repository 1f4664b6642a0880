#pragma once
// Internal: the per-row attention code shared by prefill and decode.
// Both paths call `attend_group` with the same candidate list (ascending
// tokens, then ascending landmark blocks), the same group size and an
// equally aligned score buffer, so their results are bit-identical.

#include <aether/sparse_pattern.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

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

/// `sizeof...(I)` consecutive `d`-value rows at `p`, as Eigen Maps.
template <class Vec, class T, std::size_t... I>
std::array<Eigen::Map<Vec>, sizeof...(I)> maps_of_rows(T* p, std::size_t d, std::index_sequence<I...>) {
  return {{Eigen::Map<Vec>(p + I * d, static_cast<Eigen::Index>(d))...}};
}

/// Adds each token candidate's softmax weight (`scores` hold the row's exp
/// values, `inv` its 1 / sum) to `token_weights[token]`, for `rows` rows.
/// Kept out of line: only heavy-hitter decode needs it, and inlining it into
/// the kernel costs the prefill path registers.
template <class T>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
void add_token_weights(int rows, const T* scores, std::size_t pitch, const T* inv, const Candidates& c,
                       T* token_weights) {
  for (int r = 0; r < rows; ++r) {
    for (std::size_t e = 0; e < c.tokens.size(); ++e) token_weights[c.tokens[e]] += scores[r * pitch + e] * inv[r];
  }
}

/// Attention of `G` query rows (compile-time, 1..4) over one kv head's
/// candidates. Each candidate's row address is computed once for all G rows;
/// every row still sees exactly the arithmetic of the G = 1 case, so results
/// do not depend on how rows are grouped.
template <int Dim, int G, class T, class S>
void attend_rows(const T* q, std::size_t d, T scale, const Candidates& c, RowSource<S> tok, RowSource<T> lm,
                 T* scores, std::size_t pitch, T* out, T* token_weights) {
  constexpr int kDim = VecOf<Dim>::value;
  using Vec = Eigen::Matrix<T, kDim, 1>;
  using CMap = Eigen::Map<const Vec>;
  using SMap = Eigen::Map<const Eigen::Matrix<S, kDim, 1>>;
  const auto di = static_cast<Eigen::Index>(d);
  const std::uint32_t* tokens = c.tokens.data();
  const std::uint32_t* blocks = c.blocks.data();
  const std::size_t nt = c.tokens.size(), nb = c.blocks.size(), nc = nt + nb;
  if (nc == 0) {
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(out, G * di).setZero();
    return;
  }

  // 1. Raw scores q . k for every candidate (tokens, then landmarks), and
  //    each row's running maximum (NaN scores never win; they still poison
  //    their own row through the exp below, and only that row).
  T m[G];
  for (int r = 0; r < G; ++r) m[r] = -std::numeric_limits<T>::infinity();
  auto put = [&](int r, std::size_t e, T x) {
    scores[r * pitch + e] = x;
    m[r] = x > m[r] ? x : m[r];
  };
  for (std::size_t e = 0; e < nt; ++e) {
    const auto k = SMap(tok.k + tokens[e] * tok.stride, di).template cast<T>();
    for (int r = 0; r < G; ++r) put(r, e, CMap(q + r * d, di).dot(k));
  }
  for (std::size_t e = 0; e < nb; ++e) {
    const CMap k(lm.k + blocks[e] * lm.stride, di);
    for (int r = 0; r < G; ++r) put(r, nt + e, CMap(q + r * d, di).dot(k));
  }

  // 2. Per row, max-subtracted exp in fixed-size chunks of kScorePitch (one
  //    vectorised pass, no scalar tail) and the sum of the weights. Padding
  //    lanes are set to -inf first: their exp is the ~1e-38 floor, which
  //    cannot change a sum that is at least 1 (the maximum contributes 1).
  using Chunk = Eigen::Array<T, kScorePitch, 1>;
  using ChunkMap = Eigen::Map<Chunk, Eigen::AlignedMax>;
  T inv[G];
  for (int r = 0; r < G; ++r) {
    T* s = scores + r * pitch;
    std::fill(s + nc, s + pitch, -std::numeric_limits<T>::infinity());
    Chunk total = Chunk::Zero();
    for (std::size_t b = 0; b < pitch; b += kScorePitch) {
      ChunkMap chunk(s + b);
      chunk = softmax_exp(chunk, m[r], scale);
      total += chunk;
    }
    inv[r] = T(1) / total.sum();
  }

  // 3. Weighted sum of the values, each value row fetched once for all G
  //    rows, then normalise. Fixed head dims accumulate in local vectors
  //    (registers); the run-time path accumulates in the output rows.
  auto weighted_sum = [&](auto* acc) {
    for (int r = 0; r < G; ++r) acc[r].setZero();
    for (std::size_t e = 0; e < nt; ++e) {
      const auto v = SMap(tok.v + tokens[e] * tok.stride, di).template cast<T>();
      for (int r = 0; r < G; ++r) acc[r].noalias() += scores[r * pitch + e] * v;
    }
    for (std::size_t e = 0; e < nb; ++e) {
      const CMap v(lm.v + blocks[e] * lm.stride, di);
      for (int r = 0; r < G; ++r) acc[r].noalias() += scores[r * pitch + nt + e] * v;
    }
    for (int r = 0; r < G; ++r) Eigen::Map<Vec>(out + r * d, di) = acc[r] * inv[r];
  };
  if constexpr (Dim != 0) {
    Vec acc[G];
    weighted_sum(acc);
  } else {
    auto acc = maps_of_rows<Vec>(out, d, std::make_index_sequence<G>{});
    weighted_sum(acc.data());
  }

  // 4. Optionally report each token's softmax weight (heavy-hitter eviction).
  if (token_weights != nullptr) add_token_weights(G, scores, pitch, inv, c, token_weights);
}

/// Attention of `g` query rows (one GQA group, contiguous `g x d` at `q`)
/// over one kv head's candidates; writes `g x d` rows at `out`.
///
/// - `scores`: caller scratch of `g * pitch` values, aligned for Eigen, with
///   `pitch == score_pitch(c.size())`.
/// - Cost: O(g * |c| * d); no allocation; reads only the candidate rows.
/// - Empty candidate set -> zero rows.
/// - `token_weights` (optional, indexed by token position): each token
///   candidate's softmax weight is added to it, summed over the g rows.
template <int Dim, class T, class S>
void attend_group(const T* q, std::size_t g, std::size_t d, T scale, const Candidates& c, RowSource<S> tok,
                  RowSource<T> lm, T* scores, std::size_t pitch, T* out, T* token_weights = nullptr) {
  std::size_t r = 0;
  for (; r + 4 <= g; r += 4) {
    attend_rows<Dim, 4>(q + r * d, d, scale, c, tok, lm, scores, pitch, out + r * d, token_weights);
  }
  for (; r + 2 <= g; r += 2) {
    attend_rows<Dim, 2>(q + r * d, d, scale, c, tok, lm, scores, pitch, out + r * d, token_weights);
  }
  for (; r < g; ++r) attend_rows<Dim, 1>(q + r * d, d, scale, c, tok, lm, scores, pitch, out + r * d, token_weights);
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
