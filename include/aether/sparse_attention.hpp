#pragma once
/// \file sparse_attention.hpp
/// `SparseAttention<T>`: sub-quadratic attention over the pattern of
/// `SparsePattern` (local window + log-stride tokens + block-mean landmarks +
/// global tokens), for MHA, GQA and MQA shapes, prefill and streaming decode.

#include <aether/detail/row_kernel.hpp>
#include <aether/detail/shapes.hpp>
#include <aether/error.hpp>
#include <aether/fast_grnn_gate.hpp>
#include <aether/gate_state.hpp>
#include <aether/kv_cache.hpp>
#include <aether/sparse_pattern.hpp>
#include <aether/tensor.hpp>
#include <aether/workspace.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#if defined(AETHER_USE_OPENMP)
#include <omp.h>
#endif

namespace aether {

/// Sparse attention kernel (SEMANTICS.md).
///
/// Shapes: q `(n, q_heads, d)`, k and v `(n, kv_heads, d)`, `q_heads %
/// kv_heads == 0`; query head h reads kv head `h / (q_heads / kv_heads)`.
/// Every query's candidate list is built once and shared by all heads, and
/// the heads of a token are processed together (up to 4 per pass, one key or
/// value row fetched once for the heads that share it). Decode always uses the
/// causal pattern (SEMANTICS.md, "Streaming decode"), whatever `causal` says.
///
/// Thread safety: immutable after construction; all methods are const and may
/// run concurrently (scratch lives in a caller-owned `Workspace`). Built with
/// `AETHER_USE_OPENMP`, prefill splits query tiles over OpenMP threads; the
/// result is bit-identical for any thread count.
/// Cost: prefill O(n * (window + log n + |G|) * q_heads * d).
template <class T>
class SparseAttention {
 public:
  using value_type = T;

  /// Throws `Errc::invalid_config` for an invalid configuration.
  explicit SparseAttention(const SparseConfig& cfg) : pattern_(cfg), decode_pattern_(causal_of(cfg)) {}

  const SparseConfig& config() const noexcept { return pattern_.config(); }
  const SparsePattern& pattern() const noexcept { return pattern_; }

  /// Number of (query, candidate) pairs of one head over `n` tokens.
  std::uint64_t count_edges(std::size_t n) const { return pattern_.count_edges(n); }

  /// Prefill: returns `(n, q_heads, d)`. Throws `Errc::shape_mismatch`.
  Tensor3<T> forward(Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v) const {
    Workspace<T> ws;
    Tensor3<T> out(detail::Uninitialized{}, q.seq(), q.heads(), q.dim());  // every row is written
    forward(q, k, v, out, ws);
    return out;
  }

  /// Prefill into a caller view `out` (shape of q), reusing `ws`.
  void forward(Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v, Tensor3View<T> out,
               Workspace<T>& ws) const {
    detail::check_qkv("SparseAttention::forward", q, k, v);
    detail::check_out("SparseAttention::forward", q, out);
    run_prefill(q, k, v, out, ws, TokenGate{});
  }

  /// Gated prefill: log-stride tokens j are kept only where `keep[j] != 0`
  /// (window tokens, i itself and globals always are). `keep.size()` must be n.
  Tensor3<T> forward_gated(Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v,
                           const std::vector<std::uint8_t>& keep) const {
    detail::check_qkv("SparseAttention::forward_gated", q, k, v);
    if (keep.size() != q.seq()) {
      detail::fail(Errc::invalid_argument, "SparseAttention::forward_gated: keep mask has " +
                                               std::to_string(keep.size()) + " entries, expected seq " +
                                               std::to_string(q.seq()));
    }
    Workspace<T> ws;
    Tensor3<T> out(detail::Uninitialized{}, q.seq(), q.heads(), q.dim());  // every row is written
    run_prefill(q, k, v, out, ws, TokenGate{keep.data()});
    return out;
  }

  /// Gated prefill with a FastGRNN gate (GATE.md): salience `gate.score_kv(k)`
  /// (pooled over the real kv heads), mask `keep_top_k(salience, top_k)`
  /// (top_k >= n keeps all, 0 none), then `mode`: `prune` is the reference's
  /// `forward_gated(q, k, v, keep)`; `salient` lets the kept tokens replace
  /// the log-stride tokens (per-query tokens bounded by window + |G| + top_k).
  /// GQA/MQA shapes equal the gated forward on kv heads repeated per group.
  /// Throws `Errc::shape_mismatch` (also for gate input_dim != head_dim).
  Tensor3<T> forward_gated(Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v,
                           const FastGrnnGate<T>& gate, std::size_t top_k, GateMode mode = GateMode::prune) const {
    Workspace<T> ws;
    Tensor3<T> out(detail::Uninitialized{}, q.seq(), q.heads(), q.dim());  // every row is written
    forward_gated(q, k, v, gate, GateOptions{top_k, mode}, out, ws);
    return out;
  }

  /// As above into a caller view; allocation-free once `ws` has served a call
  /// of the same length. Cost O(n (I H + H^2)) for the gate, O(n) average for
  /// the mask, plus the gated attention. `ws.gate` holds the salience and the
  /// keep mask of the call afterwards (`ws.gate.salience[0 .. n)`, `keep`).
  void forward_gated(Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v,
                     const FastGrnnGate<T>& gate, GateOptions opts, Tensor3View<T> out, Workspace<T>& ws) const {
    detail::check_qkv("SparseAttention::forward_gated", q, k, v);
    detail::check_out("SparseAttention::forward_gated", q, out);
    gate.check_keys("SparseAttention::forward_gated", k);
    const std::size_t n = q.seq();
    GateScratch<T>& gs = ws.gate;
    gs.reserve_tokens(n);
    gate.score_kv(k, gs.salience.data(), gs);
    FastGrnnGate<T>::keep_top_k(gs.salience.data(), n, opts.top_k, gs.keep.data(), gs.order.data());
    TokenGate tg{gs.keep.data()};
    if (opts.mode == GateMode::salient) {
      gs.kept.clear();
      for (std::size_t j = 0; j < n; ++j) {
        if (gs.keep[j] != 0) gs.kept.push_back(static_cast<std::uint32_t>(j));
      }
      tg = TokenGate{nullptr, gs.kept.data(), gs.kept.size(), true};
    }
    run_prefill(q, k, v, out, ws, tg);
  }

  /// Streaming decode of the newest cached token (`i = cache.size() - 1`)
  /// with the causal pattern; q1 is `(1, q_heads, d)`. Equals row i of a
  /// causal `forward` bit for bit (for `Storage == T`). Empty cache -> zeros.
  template <class S>
  Tensor3<T> decode(Tensor3View<const T> q1, const KvCache<T, S>& cache) const {
    return decode_new(q1, cache);
  }
  /// As above; a heavy-hitter cache passed mutably also accumulates the
  /// step's attention weights (its eviction statistic).
  template <class S>
  Tensor3<T> decode(Tensor3View<const T> q1, KvCache<T, S>& cache) const {
    return decode_new(q1, cache);
  }

  /// Decode into a caller view with a reusable workspace: once `ws` has served
  /// one step of this cache, a step allocates nothing.
  /// Cost O((window + log T + |G|) * q_heads * d).
  template <class S>
  void decode(Tensor3View<const T> q1, const KvCache<T, S>& cache, Tensor3View<T> out, Workspace<T>& ws) const {
    check_one_token(q1);
    decode_rows(q1, cache, out, ws, nullptr, TokenGate{});
  }
  /// As above, accumulating attention weights into a heavy-hitter cache.
  template <class S>
  void decode(Tensor3View<const T> q1, KvCache<T, S>& cache, Tensor3View<T> out, Workspace<T>& ws) const {
    check_one_token(q1);
    decode_rows(q1, cache, out, ws, cache.attention_sink(), TokenGate{});
  }

  /// Gated streaming decode of the newest cached token with the mask of
  /// `gate` (which must be in step with `cache`: every token appended through
  /// `gate.append`), in `gate.options().mode`. Without eviction, equals row
  /// `cache.size() - 1` of the causal `forward_gated` over the cached tokens
  /// bit for bit. Allocation-free once `ws` has served one step of this cache.
  /// Cost: `decode`'s, with log-stride tokens gated (prune) or replaced by at
  /// most top_k kept tokens (salient).
  template <class S>
  void decode_gated(Tensor3View<const T> q1, const KvCache<T, S>& cache, const GateState<T>& gate,
                    Tensor3View<T> out, Workspace<T>& ws) const {
    check_one_token(q1);
    decode_rows(q1, cache, out, ws, nullptr, token_gate(cache, gate));
  }
  /// As above, accumulating attention weights into a heavy-hitter cache.
  template <class S>
  void decode_gated(Tensor3View<const T> q1, KvCache<T, S>& cache, const GateState<T>& gate, Tensor3View<T> out,
                    Workspace<T>& ws) const {
    check_one_token(q1);
    decode_rows(q1, cache, out, ws, cache.attention_sink(), token_gate(cache, gate));
  }

  /// Decodes the newest `m = q.seq()` cached tokens at once (after
  /// `cache.append_all`): row r is position `cache.size() - m + r`, each with
  /// its own causal pattern, exactly as `forward` computes those rows.
  template <class S>
  Tensor3<T> decode_batch(Tensor3View<const T> q, const KvCache<T, S>& cache) const {
    Workspace<T> ws;
    Tensor3<T> out(q.seq(), q.heads(), q.dim());
    decode_rows(q, cache, out, ws, nullptr, TokenGate{});
    return out;
  }

  /// `decode_batch` into a caller view with a reusable workspace.
  template <class S>
  void decode_batch(Tensor3View<const T> q, const KvCache<T, S>& cache, Tensor3View<T> out, Workspace<T>& ws) const {
    decode_rows(q, cache, out, ws, nullptr, TokenGate{});
  }

 private:
  static SparseConfig causal_of(SparseConfig cfg) {
    cfg.causal = true;
    return cfg;
  }
  static T scale(std::size_t d) { return T(1) / std::sqrt(static_cast<T>(d)); }

  /// Which tokens a gated call lets through: `keep` (per position, prune
  /// mode; null = ungated) or, in salient mode, the kept positions ascending.
  struct TokenGate {
    const std::uint8_t* keep = nullptr;
    const std::uint32_t* kept = nullptr;
    std::size_t n_kept = 0;
    bool salient = false;
  };

  template <class S>
  static TokenGate token_gate(const KvCache<T, S>& cache, const GateState<T>& gate) {
    if (gate.size() != cache.size()) {
      detail::fail(Errc::shape_mismatch, "SparseAttention::decode_gated: gate state holds " +
                                             std::to_string(gate.size()) + " tokens, the cache " +
                                             std::to_string(cache.size()));
    }
    if (gate.options().mode == GateMode::salient) {
      return TokenGate{nullptr, gate.kept().data(), gate.kept().size(), true};
    }
    return TokenGate{gate.keep()};
  }

  /// T(i), L(i) of query i under `tg` (`key` as in `next_candidates`).
  static void gated_candidates(const SparsePattern& p, std::size_t i, std::size_t n, Candidates& c, std::size_t& key,
                               const TokenGate& tg) {
    if (tg.salient) {
      p.salient_candidates(i, n, c, key, tg.kept, tg.n_kept);
    } else {
      p.next_candidates(i, n, c, key, tg.keep);
    }
  }

  /// Grows `ws` for any query of a length-`n` sequence (`extra` more tokens
  /// per query in salient mode); returns the score buffer.
  static T* reserve(Workspace<T>& ws, const SparsePattern& p, std::size_t n, std::size_t extra = 0) {
    const std::size_t tokens = std::min(n, p.max_tokens(n) + extra);
    ws.candidates.tokens.reserve(tokens);
    ws.candidates.blocks.reserve(p.max_blocks(n));
    return ws.score_buffer(detail::kMaxRows * detail::score_pitch(tokens + p.max_blocks(n)));
  }

  template <class Cache>
  Tensor3<T> decode_new(Tensor3View<const T> q1, Cache& cache) const {
    Workspace<T> ws;
    Tensor3<T> out(1, q1.heads(), q1.dim());
    decode(q1, cache, out, ws);
    return out;
  }

  static void check_one_token(const Tensor3View<const T>& q1) {
    if (q1.seq() != 1) {
      detail::fail(Errc::shape_mismatch, "SparseAttention::decode: q1 " + detail::shape_str(q1) + " must hold one token");
    }
  }

  /// Rows of the newest `q.seq()` cached tokens; `sink` (optional) receives
  /// the token attention weights.
  template <class S>
  void decode_rows(Tensor3View<const T> q, const KvCache<T, S>& cache, Tensor3View<T> out, Workspace<T>& ws,
                   T* sink, const TokenGate& tg) const {
    check_cache(q, cache);
    detail::check_out("SparseAttention::decode", q, out);
    const std::size_t len = cache.size();
    if (len == 0) {
      std::fill(out.data(), out.data() + out.size(), T(0));
      return;
    }
    const std::size_t g = q.heads() / cache.kv_heads(), d = q.dim();
    // Sized for the cache's capacity, not its length: a growing stream then
    // never reallocates the workspace after its first step.
    T* scores = reserve(ws, decode_pattern_, cache.capacity(), tg.salient ? cache.capacity() : 0);
    const std::size_t first = len - q.seq();
    const T sc = scale(d);
    detail::dispatch_dim(d, [&](auto dim_tag) {
      for (std::size_t r = 0; r < q.seq(); ++r) {
        std::size_t key = SparsePattern::kNoKey;
        gated_candidates(decode_pattern_, first + r, len, ws.candidates, key, tg);
        detail::attend_heads<decltype(dim_tag)::value>(q.row(r, 0), q.heads(), g, d, sc, ws.candidates,
                                                       cache.token_rows(0), cache.landmark_rows(0), scores,
                                                       detail::score_pitch(ws.candidates.size()), out.row(r, 0), sink);
      }
    });
  }

  template <class S>
  void check_cache(const Tensor3View<const T>& q, const KvCache<T, S>& cache) const {
    if (cache.block_size() != config().block_size) {
      detail::fail(Errc::invalid_config, "SparseAttention::decode: cache block_size " +
                                             std::to_string(cache.block_size()) + " differs from config block_size " +
                                             std::to_string(config().block_size));
    }
    // An empty cache accepts any query count (and answers zeros); otherwise
    // the m queries must be the newest m cached tokens.
    if (q.dim() != cache.dim() || q.heads() == 0 || q.heads() % cache.kv_heads() != 0 ||
        (cache.size() != 0 && (q.seq() == 0 || q.seq() > cache.size()))) {
      detail::fail(Errc::shape_mismatch, "SparseAttention::decode: q " + detail::shape_str(q) + " against a cache of " +
                                             std::to_string(cache.size()) + " tokens, kv_heads " +
                                             std::to_string(cache.kv_heads()) + ", dim " + std::to_string(cache.dim()));
    }
  }

  /// Sizes `ws` for the landmark means `(blocks, kv_heads, d)` of a prefill of
  /// `k`; returns the number of blocks.
  std::size_t size_landmarks(Tensor3View<const T> k, Workspace<T>& ws) const {
    const std::size_t nb = pattern_.landmark_blocks(k.seq());
    ws.landmark_keys.resize(nb * k.heads() * k.dim());
    ws.landmark_values.resize(nb * k.heads() * k.dim());
    return nb;
  }
  /// Landmark means of block `b`, every kv head, into `ws` (already sized).
  void landmark_block(Tensor3View<const T> k, Tensor3View<const T> v, Workspace<T>& ws, std::size_t b) const {
    const std::size_t n = k.seq(), kvh = k.heads(), d = k.dim(), bs = config().block_size, row = kvh * d;
    const std::size_t count = std::min(bs, n - b * bs);
    for (std::size_t h = 0; h < kvh; ++h) {
      detail::block_mean(k.row(b * bs, h), row, count, d, ws.landmark_keys.data() + b * row + h * d);
      detail::block_mean(v.row(b * bs, h), row, count, d, ws.landmark_values.data() + b * row + h * d);
    }
  }

  /// Positions [begin, end) of `k` into `ws.keys_t` (already sized).
  static void transpose_keys(Tensor3View<const T> k, Workspace<T>& ws, std::size_t begin, std::size_t end) {
    const std::size_t row = k.heads() * k.dim();
    detail::transpose_into(k.row(begin, 0), row, end - begin, row, ws.keys_t.data() + begin,
                           detail::transposed_pitch(k.seq()));
  }

  void run_prefill(Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v, Tensor3View<T> out,
                   Workspace<T>& ws, const TokenGate& tg) const {
    const std::size_t n = q.seq();
    if (n == 0) return;
    const std::size_t kvh = k.heads(), g = q.heads() / kvh, d = q.dim(), row = kvh * d;
    const std::size_t blocks = size_landmarks(k, ws);
    const T sc = scale(d);
    // Transposed keys serve the window scores of heads that share a kv head
    // (detail::attend_rows); plain MHA never reads them, so it skips the copy.
    const bool transposed = g >= 2;
    if (transposed) ws.keys_t.resize(row * detail::transposed_pitch(n));
    const detail::RowSource<T> tokens{k.data(), v.data(), row, transposed ? ws.keys_t.data() : nullptr,
                                      detail::transposed_pitch(n)};
    const detail::RowSource<T> marks{ws.landmark_keys.data(), ws.landmark_values.data(), row};
    // Queries [begin, end) with one workspace; shared by the serial and OpenMP paths.
    auto run_rows = [&](std::size_t begin, std::size_t end, Workspace<T>& w) {
      T* scores = reserve(w, pattern_, n, tg.n_kept);
      detail::dispatch_dim(d, [&](auto dim_tag) {
        std::size_t key = SparsePattern::kNoKey;
        for (std::size_t i = begin; i < end; ++i) {
          gated_candidates(pattern_, i, n, w.candidates, key, tg);
          detail::attend_heads<decltype(dim_tag)::value>(q.row(i, 0), q.heads(), g, d, sc, w.candidates, tokens,
                                                         marks, scores, detail::score_pitch(w.candidates.size()),
                                                         out.row(i, 0));
        }
      });
    };
#if defined(AETHER_USE_OPENMP)
    if (n >= kParallelMinRows && omp_get_max_threads() > 1) {
      // One workspace per thread, kept in the caller's: a reused workspace
      // makes the parallel prefill allocation-free too.
      const auto helpers = static_cast<std::size_t>(omp_get_max_threads()) - 1;
      if (ws.helpers.size() < helpers) ws.helpers.resize(helpers);
#pragma omp parallel
      {
        // Transposed keys and landmark means first (split by tile and by
        // block; the implicit barrier of the second `omp for` publishes
        // both), then the queries.
#pragma omp for schedule(static) nowait
        for (std::ptrdiff_t t = 0; t < static_cast<std::ptrdiff_t>(transposed ? (n + kTile - 1) / kTile : 0); ++t) {
          const auto t0 = static_cast<std::size_t>(t) * kTile;
          transpose_keys(k, ws, t0, std::min(n, t0 + kTile));
        }
#pragma omp for schedule(static)
        for (std::ptrdiff_t b = 0; b < static_cast<std::ptrdiff_t>(blocks); ++b) {
          landmark_block(k, v, ws, static_cast<std::size_t>(b));
        }
        const auto tid = static_cast<std::size_t>(omp_get_thread_num());
        Workspace<T>& w = tid == 0 ? ws : ws.helpers[tid - 1];
        reserve(w, pattern_, n, tg.n_kept);  // even a thread that gets no tile: the next call may give it some
        // Query tiles handed out one at a time, last (costliest: most
        // landmark and log-stride candidates) first: a thread that is
        // descheduled (shared machines) or slower leaves its share to the
        // others, and the tiles left over at the end are the cheapest.
        const auto tiles = static_cast<std::ptrdiff_t>((n + kTile - 1) / kTile);
#pragma omp for schedule(dynamic, 1) nowait
        for (std::ptrdiff_t t = 0; t < tiles; ++t) {
          const auto t0 = static_cast<std::size_t>(tiles - 1 - t) * kTile;
          run_rows(t0, std::min(n, t0 + kTile), w);
        }
      }
      return;
    }
#endif
    for (std::size_t b = 0; b < blocks; ++b) landmark_block(k, v, ws, b);
    if (transposed) transpose_keys(k, ws, 0, n);
    run_rows(0, n, ws);
  }

#if defined(AETHER_USE_OPENMP)
  static constexpr std::size_t kTile = 32;
  static constexpr std::size_t kParallelMinRows = 128;
#endif

  SparsePattern pattern_;
  SparsePattern decode_pattern_;  // same config, causal (decode always is)
};

}  // namespace aether
