#pragma once
// Internal: the per-row attention code shared by prefill and decode.
// Both paths call `attend_heads` with the same candidate list (ascending
// tokens, then ascending landmark blocks), the same head counts and an
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
///
/// `kt` (token sources only; null for landmarks) holds the same keys
/// transposed: key element `c` of position `j` of the kv head whose rows
/// start at `k + o` sits at `kt[(o + c) * kt_stride + j]`, i.e. the keys of
/// all kv heads as a `(kv_heads * d) x positions` row-major matrix.
template <class S>
struct RowSource {
  const S* k = nullptr;
  const S* v = nullptr;
  std::size_t stride = 0;
  const S* kt = nullptr;
  std::size_t kt_stride = 0;

  /// The rows of the kv head `offset` elements further on (`offset` counts
  /// row elements; the transposed keys move by `offset` of their rows). An
  /// absent buffer (null: no landmarks yet, no transposed keys) stays null:
  /// offsetting a null pointer is undefined behaviour, even unread.
  /// Cost: a few compares per call, none per candidate.
  RowSource shifted(std::size_t offset) const noexcept {
    RowSource r = *this;
    if (r.k != nullptr) r.k += offset;
    if (r.v != nullptr) r.v += offset;
    if (r.kt != nullptr) r.kt += offset * kt_stride;
    return r;
  }
};

/// Lanes of one float SIMD packet of the target ISA: 16 (AVX-512), 8 (AVX),
/// 4 (SSE2, NEON), 1 where Eigen has no packets (Cortex-M4F: the kernels then
/// run scalar, and the constants below size their register passes for the
/// FPU's 32 single-precision registers instead of for packets).
constexpr int kFloatLanes = Eigen::internal::packet_traits<float>::size;

/// Window positions scored together from the transposed keys (one score
/// chunk): 16, or 8 where float packets have 4 lanes (SSE2), so that four
/// rows' chunk accumulators fit the 16 SIMD registers; 4 without SIMD, so
/// that four rows' 16 scalar accumulators fit beside the key and query values.
constexpr std::size_t kWindowLanes = kFloatLanes > 4 ? 16 : kFloatLanes > 1 ? 8 : 4;

/// Scalar accumulators a register pass keeps live when Eigen has no packets
/// (half of a 32-register single-precision FPU such as Cortex-M4F's FPv4).
constexpr int kScalarAccumulators = 16;

/// `f(std::integral_constant<int, I>{})` for I = 0 .. N-1, expanded at compile
/// time: GCC at -O2 does not always unroll short constant loops, and a rolled
/// loop over an accumulator array keeps the accumulators in memory.
template <class F, int... I>
EIGEN_ALWAYS_INLINE void unroll_seq(F&& f, std::integer_sequence<int, I...>) {
  (f(std::integral_constant<int, I>{}), ...);
}
template <int N, class F>
EIGEN_ALWAYS_INLINE void unroll(F&& f) {
  unroll_seq(f, std::make_integer_sequence<int, N>{});
}

/// Row pitch (in elements) for transposed keys of `positions` positions: an
/// odd multiple of 16 elements, so that the d rows a window chunk reads fall
/// in different L1 sets (a power-of-two pitch puts them all in one set). The
/// same for every element type, so an fp16 cache is exactly half an fp32 one.
inline std::size_t transposed_pitch(std::size_t positions) noexcept {
  return ((positions + 15) / 16 | 1) * 16;
}

/// Score rows are padded to a multiple of this pitch: one float SIMD packet
/// of the target ISA (16 with AVX-512, 8 with AVX, 4 with SSE2), or more if
/// Eigen's maximum alignment asks for it, and at least 4. Every row then
/// starts on that alignment and the softmax passes run whole packets (every
/// score goes through the same packet `exp`, in prefill and decode alike)
/// while wasting less than one packet per row.
constexpr std::size_t kScorePitch =
    std::max({std::size_t{4}, static_cast<std::size_t>(Eigen::internal::packet_traits<float>::size),
              static_cast<std::size_t>(EIGEN_MAX_ALIGN_BYTES) / sizeof(float)});
inline std::size_t score_pitch(std::size_t count) noexcept {
  return (count + kScorePitch - 1) / kScorePitch * kScorePitch;
}

/// `exp((x - m) * scale)` with the exponent clamped just above the smallest
/// normal number's log: weights below ~1e-38 (float) become that floor instead
/// of denormals, which would cost ~100x in every later multiply on x86.
/// The error is far below float resolution of any non-negligible weight.
template <class T>
T exp_floor() {
  return std::log(std::numeric_limits<T>::min()) + T(1);
}
template <class Derived, class T>
auto softmax_exp(const Eigen::ArrayBase<Derived>& x, T m, T scale) {
  return ((x - m) * scale).max(exp_floor<T>()).exp();
}

/// The largest of N values (N a power of two), by halving in registers
/// (Eigen's `maxCoeff` on a fixed-size array goes element by element through memory).
template <class T, int N>
T max_of(const Eigen::Array<T, N, 1>& a) {
  if constexpr (N == 1) {
    return a[0];
  } else {
    const Eigen::Array<T, N / 2, 1> half = a.template head<N / 2>().max(a.template tail<N / 2>());
    return max_of<T, N / 2>(half);
  }
}

/// Compile-time head_dim for the specialised paths (0 = any, decided at run time).
template <int Dim>
using VecOf = std::integral_constant<int, Dim == 0 ? Eigen::Dynamic : Dim>;

/// `sizeof...(I)` consecutive `d`-value rows at `p`, as Eigen Maps.
template <class Vec, class T, std::size_t... I>
std::array<Eigen::Map<Vec>, sizeof...(I)> maps_of_rows(T* p, std::size_t d, std::index_sequence<I...>) {
  return {{Eigen::Map<Vec>(p + I * d, static_cast<Eigen::Index>(d))...}};
}

/// The accumulator tile of one weighted-sum pass over fixed-size (`Dim`)
/// head dims of `R` rows: `rows` rows (a power of two dividing R) times
/// `cols` head dims (dividing Dim).
/// - With SIMD: whole rows (`cols` = Dim), as many as fit half the SIMD
///   registers (Eigen's count for the target ISA). AVX-512, d 32: 4 rows (2
///   registers each); AVX2: 2; SSE2: 1.
/// - Without SIMD: every row, over `kScalarAccumulators / R` head dims at a
///   time (4 rows: 4 dims), so that one value load serves all the rows of a
///   GQA group and the accumulators stay in registers.
template <class T, int Dim, int R>
struct PassTile {
  static constexpr int lanes = Eigen::internal::packet_traits<T>::size;
  static constexpr int simd_rows() {
    constexpr int per_row = (Dim + lanes - 1) / lanes;
    constexpr int budget = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS / 2;
    int n = R;
    while (n > 1 && n * per_row > budget) n /= 2;
    return n;
  }
  static constexpr int scalar_cols() {
    int n = kScalarAccumulators / R;
    while (n > 1 && Dim % n != 0) n /= 2;
    return n < Dim ? n : Dim;
  }
  static constexpr int rows = lanes > 1 ? simd_rows() : R;
  static constexpr int cols = lanes > 1 ? Dim : scalar_cols();
};

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

/// Attention of `R` query rows (compile-time, 1..4) of one query token over
/// its candidates. Row r reads the kv head at offset `kv[r]` from `tok` and
/// `lm` (0 for every row of a GQA group; h * d across MHA heads). All rows
/// share the candidate list, and their exps run as one vectorised pass over
/// the R contiguous score rows; each row still sees exactly the arithmetic it
/// would see alone (dot products, element-wise exp, per-row sums), so results
/// do not depend on how rows are grouped.
template <int Dim, int R, bool kSharedKv, class T, class S>
void attend_rows(const T* q, std::size_t d, T scale, const Candidates& c, RowSource<S> tok, RowSource<T> lm,
                 const std::size_t* kv_offsets, T* scores, std::size_t pitch, T* out, T* token_weights) {
  constexpr int kDim = VecOf<Dim>::value;
  using Vec = Eigen::Matrix<T, kDim, 1>;
  using CMap = Eigen::Map<const Vec>;
  using SMap = Eigen::Map<const Eigen::Matrix<S, kDim, 1>>;
  const auto di = static_cast<Eigen::Index>(d);
  const std::uint32_t* tokens = c.tokens.data();
  const std::uint32_t* blocks = c.blocks.data();
  const std::size_t nt = c.tokens.size(), nb = c.blocks.size(), nc = nt + nb;
  if (nc == 0) {
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(out, R * di).setZero();
    return;
  }
  // Sources start at row 0's kv head; kv(r) is row r's offset from it. When
  // every row shares one kv head (a GQA group) kv(r) is a compile-time 0, so
  // each key/value row is loaded once for all rows. Without landmarks (or
  // transposed keys) those sources are null and stay null.
  tok = tok.shifted(kv_offsets[0]);
  lm = lm.shifted(kv_offsets[0]);
  auto kv = [&](int r) -> std::size_t { return kSharedKv ? 0 : kv_offsets[r] - kv_offsets[0]; };

  // 1. Raw scores q . k for every candidate (tokens, then landmarks), and
  //    each row's running maximum (a NaN score may or may not become the
  //    maximum; either way it poisons its own row through the exp below, and
  //    only that row).
  T m[R];
  for (int r = 0; r < R; ++r) m[r] = -std::numeric_limits<T>::infinity();
  auto put = [&](int r, std::size_t e, T x) {
    scores[r * pitch + e] = x;
    m[r] = x > m[r] ? x : m[r];
  };
  // The window's whole kWindowLanes-position chunks: lane l of a chunk is one score,
  //   s = q[0] k[0]; s += q[c] k[c] for c = 1 .. d-1 (in this order),
  // from kWindowLanes contiguous transposed keys per c, with no horizontal sums. The
  // lanes are independent, so a score's bits depend on its (query, key) pair
  // only, never on the chunk or head grouping it was computed in. Used when
  // the rows share one kv head (one key load serves all of them); MHA rows
  // would need a key load per multiply-add, so they keep dot products.
  using Lanes = Eigen::Array<T, kWindowLanes, 1>;
  using SLanes = Eigen::Map<const Eigen::Array<S, kWindowLanes, 1>>;
  const std::size_t w_first = c.window_first;
  constexpr bool kLanes = kSharedKv && R >= 2;
  const std::size_t w_end =
      w_first + (kLanes && tok.kt != nullptr ? c.window_count / kWindowLanes * kWindowLanes : 0);
  for (std::size_t e0 = w_first; e0 < w_end; e0 += kWindowLanes) {
    const S* kt = tok.kt + tokens[e0];
    auto key = [&](std::size_t x) { return SLanes(kt + x * tok.kt_stride).template cast<T>(); };
    Lanes acc[R];
    for (int r = 0; r < R; ++r) acc[r] = q[r * d] * key(0);
    for (std::size_t x = 1; x < (Dim != 0 ? static_cast<std::size_t>(Dim) : d); ++x) {
      const auto k = key(x);
      for (int r = 0; r < R; ++r) acc[r] += q[r * d + x] * k;
    }
    for (int r = 0; r < R; ++r) {
      Eigen::Map<Lanes>(scores + r * pitch + e0) = acc[r];
      const T top = max_of(acc[r]);
      m[r] = top > m[r] ? top : m[r];
    }
  }
  // Every other token (and the window's last < kWindowLanes positions): dot products.
  for (std::size_t e = 0; e < nt; ++e) {
    if (e == w_first) e = w_end;
    if (e >= nt) break;
    const S* k = tok.k + tokens[e] * tok.stride;
    for (int r = 0; r < R; ++r) put(r, e, CMap(q + r * d, di).dot(SMap(k + kv(r), di).template cast<T>()));
  }
  for (std::size_t e = 0; e < nb; ++e) {
    const T* k = lm.k + blocks[e] * lm.stride;
    for (int r = 0; r < R; ++r) put(r, nt + e, CMap(q + r * d, di).dot(CMap(k + kv(r), di)));
  }

  // 2. Softmax weights in fixed-size chunks (no scalar tail): per row, scale
  //    the max-subtracted scores and clamp them (padding lanes go straight to
  //    the clamp floor); then one exp pass over all R rows, which are
  //    contiguous; then each row's sum. A padding lane's exp is the ~1e-38
  //    floor, which cannot change a sum that is at least 1 (the max gives 1).
  using Chunk = Eigen::Array<T, kScorePitch, 1>;
  using ChunkMap = Eigen::Map<Chunk, Eigen::AlignedMax>;
  using Wide = Eigen::Array<T, 4 * kScorePitch, 1>;
  using WideMap = Eigen::Map<Wide, Eigen::AlignedMax>;
  const T floor = exp_floor<T>();
  for (int r = 0; r < R; ++r) {
    T* s = scores + r * pitch;
    for (std::size_t b = 0; b < nc; b += kScorePitch) {
      ChunkMap chunk(s + b);
      chunk = ((chunk - m[r]) * scale).max(floor);
    }
    std::fill(s + nc, s + pitch, floor);  // after: the last chunk also covered padding
  }
  const std::size_t all = R * pitch;
  std::size_t b = 0;
  for (; b + 4 * kScorePitch <= all; b += 4 * kScorePitch) {
    WideMap wide(scores + b);
    wide = wide.exp();
  }
  for (; b < all; b += kScorePitch) {
    ChunkMap chunk(scores + b);
    chunk = chunk.exp();
  }
  T inv[R];
  for (int r = 0; r < R; ++r) {
    Chunk total = Chunk::Zero();
    for (std::size_t x = 0; x < pitch; x += kScorePitch) total += ChunkMap(scores + r * pitch + x);
    inv[r] = T(1) / total.sum();
  }

  // 3. Weighted sum of the values, then normalise. Fixed head dims
  //    accumulate in local vectors (registers), one `PassTile` (rows x head
  //    dims) at a time so the accumulators fit the register file (each
  //    candidate's value row is fetched once per pass); the run-time path
  //    accumulates in the output rows. Every output element sums the same
  //    products in the same order (tokens, then landmarks) whatever the tile.
  auto weighted_sum = [&](auto* acc, auto pass, auto cols, int r0, std::size_t c0) {
    constexpr int kRows = decltype(pass)::value;
    constexpr int kCols = decltype(cols)::value;  // Eigen::Dynamic: all d (run-time)
    using Part = Eigen::Matrix<T, kCols, 1>;
    const Eigen::Index n = kCols == Eigen::Dynamic ? di : kCols;
    // acc += w * (n values at v). Without SIMD, element by element (GCC at
    // -O2 may not inline Eigen's assignment loop, which then keeps the tile
    // in memory); the same products and sums either way.
    auto axpy = [&](auto& a, T w, const auto* v) {
      using V = std::remove_const_t<std::remove_pointer_t<decltype(v)>>;
      if constexpr (kCols != Eigen::Dynamic && PassTile<T, kCols, 1>::lanes == 1) {
        unroll<kCols>([&](auto j) { a[j] += w * static_cast<T>(v[j]); });
      } else {
        a.noalias() += w * Eigen::Map<const Eigen::Matrix<V, kCols, 1>>(v, n).template cast<T>();
      }
    };
    unroll<kRows>([&](auto r) { acc[r].setZero(); });
    for (std::size_t e = 0; e < nt; ++e) {
      const S* v = tok.v + tokens[e] * tok.stride + c0;
      unroll<kRows>([&](auto r) { axpy(acc[r], scores[(r0 + r) * pitch + e], v + kv(r0 + r)); });
    }
    for (std::size_t e = 0; e < nb; ++e) {
      const T* v = lm.v + blocks[e] * lm.stride + c0;
      unroll<kRows>([&](auto r) { axpy(acc[r], scores[(r0 + r) * pitch + nt + e], v + kv(r0 + r)); });
    }
    unroll<kRows>([&](auto r) { Eigen::Map<Part>(out + (r0 + r) * d + c0, n) = acc[r] * inv[r0 + r]; });
  };
  if constexpr (Dim != 0) {
    using Tile = PassTile<T, Dim, R>;
    for (int r0 = 0; r0 < R; r0 += Tile::rows) {
      for (std::size_t c0 = 0; c0 < static_cast<std::size_t>(Dim); c0 += Tile::cols) {
        Eigen::Matrix<T, Tile::cols, 1> acc[Tile::rows];
        weighted_sum(acc, std::integral_constant<int, Tile::rows>{}, std::integral_constant<int, Tile::cols>{}, r0, c0);
      }
    }
  } else {
    auto acc = maps_of_rows<Vec>(out, d, std::make_index_sequence<R>{});
    weighted_sum(acc.data(), std::integral_constant<int, R>{}, std::integral_constant<int, Eigen::Dynamic>{}, 0, 0);
  }

  // 4. Optionally report each token's softmax weight (heavy-hitter eviction).
  if (token_weights != nullptr) add_token_weights(R, scores, pitch, inv, c, token_weights);
}

/// Rows processed together by `attend_heads` (and the score rows a caller's
/// scratch must hold: `kMaxRows * pitch`).
constexpr std::size_t kMaxRows = 4;

/// Attention of all `heads` query rows of one token (contiguous `heads x d` at
/// `q`) over its candidates; query head h reads kv head `h / group`, whose
/// rows sit at offset `(h / group) * d` from `tok` and `lm` (the kv head 0
/// sources). Writes `heads x d` rows at `out`.
///
/// - `scores`: caller scratch of `kMaxRows * pitch` values, aligned for
///   Eigen, with `pitch == score_pitch(c.size())`.
/// - Cost: O(heads * |c| * d); no allocation; reads only the candidate rows.
/// - Empty candidate set -> zero rows.
/// - `token_weights` (optional, indexed by token position): each token
///   candidate's softmax weight is added to it, summed over the heads.
template <int Dim, class T, class S>
void attend_heads(const T* q, std::size_t heads, std::size_t group, std::size_t d, T scale, const Candidates& c,
                  RowSource<S> tok, RowSource<T> lm, T* scores, std::size_t pitch, T* out,
                  T* token_weights = nullptr) {
  std::size_t kv[kMaxRows];
  auto run = [&](auto rows, std::size_t h) {
    constexpr int kRows = decltype(rows)::value;
    // kv head of query head h + r, without a division per row.
    std::size_t kvh = h / group, within = h % group;
    for (int r = 0; r < kRows; ++r, ++within) {
      if (within == group) within = 0, ++kvh;
      kv[r] = kvh * d;
    }
    if (kv[0] == kv[kRows - 1]) {
      attend_rows<Dim, kRows, true>(q + h * d, d, scale, c, tok, lm, kv, scores, pitch, out + h * d, token_weights);
    } else {
      attend_rows<Dim, kRows, false>(q + h * d, d, scale, c, tok, lm, kv, scores, pitch, out + h * d, token_weights);
    }
  };
  std::size_t h = 0;
  for (; h + 4 <= heads; h += 4) run(std::integral_constant<int, 4>{}, h);
  for (; h + 2 <= heads; h += 2) run(std::integral_constant<int, 2>{}, h);
  for (; h < heads; ++h) run(std::integral_constant<int, 1>{}, h);
}

/// `dst` (cols x rows, row pitch `dst_stride`) = the transpose of `src` (rows
/// x cols, row pitch `src_stride`), in square blocks of one SIMD packet per
/// row (Eigen's `ptranspose`), the ragged edges element by element.
/// Cost O(rows * cols); no allocation.
// Eigen's packet types are SIMD vector types whose alignment attributes GCC
// reports as dropped when they are template arguments; harmless here (Eigen
// silences the same warning inside its own headers).
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif
template <class T>
void transpose_into(const T* src, std::size_t src_stride, std::size_t rows, std::size_t cols, T* dst,
                    std::size_t dst_stride) {
  using Packet = typename Eigen::internal::packet_traits<T>::type;
  constexpr std::size_t P = Eigen::internal::unpacket_traits<Packet>::size;
  std::size_t r0 = 0;
  if constexpr (P > 1) {
    for (; r0 + P <= rows; r0 += P) {
      std::size_t c0 = 0;
      for (; c0 + P <= cols; c0 += P) {
        Eigen::internal::PacketBlock<Packet, static_cast<int>(P)> block;
        for (std::size_t i = 0; i < P; ++i) {
          block.packet[i] = Eigen::internal::ploadu<Packet>(src + (r0 + i) * src_stride + c0);
        }
        Eigen::internal::ptranspose(block);
        for (std::size_t i = 0; i < P; ++i) Eigen::internal::pstoreu(dst + (c0 + i) * dst_stride + r0, block.packet[i]);
      }
      for (; c0 < cols; ++c0) {
        for (std::size_t i = 0; i < P; ++i) dst[c0 * dst_stride + r0 + i] = src[(r0 + i) * src_stride + c0];
      }
    }
  }
  for (; r0 < rows; ++r0) {
    for (std::size_t c = 0; c < cols; ++c) dst[c * dst_stride + r0] = src[r0 * src_stride + c];
  }
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/// Mean of `count` rows (`src + t * stride`, t = 0..count-1) into `dst` (d values).
/// The one definition of a landmark mean: summed in token order, then divided,
/// so the prefill kernel and the KV cache produce identical bits.
template <int Dim, class T, class S>
void block_mean_dim(const S* src, std::size_t stride, std::size_t count, std::size_t d, T* dst) {
  using Vec = Eigen::Matrix<T, VecOf<Dim>::value, 1>;
  using SVec = Eigen::Matrix<S, VecOf<Dim>::value, 1>;
  const auto di = static_cast<Eigen::Index>(d);
  auto mean = [&](auto& acc) {
    acc = Eigen::Map<const SVec>(src, di).template cast<T>();
    for (std::size_t t = 1; t < count; ++t) acc += Eigen::Map<const SVec>(src + t * stride, di).template cast<T>();
    acc /= static_cast<T>(count);
  };
  if constexpr (Dim != 0) {
    Vec acc;  // fixed size: registers
    mean(acc);
    Eigen::Map<Vec>(dst, di) = acc;
  } else {
    Eigen::Map<Vec> acc(dst, di);  // run-time size: accumulate in place (no allocation)
    mean(acc);
  }
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

/// `block_mean_dim` for any head dim (fixed-size code for 16/32/64/128).
template <class T, class S>
void block_mean(const S* src, std::size_t stride, std::size_t count, std::size_t d, T* dst) {
  dispatch_dim(d, [&](auto dim_tag) { block_mean_dim<decltype(dim_tag)::value>(src, stride, count, d, dst); });
}

}  // namespace detail
}  // namespace aether
