#pragma once
/// \file sparse_pattern.hpp
/// `SparseConfig` and `SparsePattern`: which keys and which block landmarks a
/// query sees (SEMANTICS.md, "Sparse pattern").
///
/// The pattern is index-level and pure: it never touches tensor data, so one
/// candidate list serves every head and every query head of a GQA group, and
/// the prefill and decode paths see the very same candidates in the very same
/// (ascending) order.

#include <aether/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

namespace aether {

/// Sparse attention pattern options. Defaults per SEMANTICS.md.
struct SparseConfig {
  std::size_t window = 128;                      ///< W: local window radius (>= 0)
  std::size_t block_size = 64;                   ///< B: landmark block length (>= 1)
  std::vector<std::size_t> global_tokens = {0};  ///< G: duplicates / out-of-range entries are harmless
  bool causal = true;      ///< only keys j <= i
  bool log_stride = true;  ///< add tokens i -/+ 1, 2, 4, ... (and blocks p -/+ 1, 2, 4, ...)
  bool landmarks = true;   ///< add block-mean landmark entries

  /// Throws `Errc::invalid_config` naming the bad field (block_size 0).
  void validate() const {
    if (block_size == 0) detail::fail(Errc::invalid_config, "SparseConfig.block_size is 0 (must be >= 1)");
  }
};

/// The candidate sets of one query, both in ascending order without duplicates.
///
/// A reusable buffer: `SparsePattern::candidates` clears and refills it, so once
/// its capacity covers `SparsePattern::max_tokens/max_blocks` no call allocates.
struct Candidates {
  std::vector<std::uint32_t> tokens;  ///< T(i): key positions
  std::vector<std::uint32_t> blocks;  ///< L(i): landmark block indices
  /// The window rule's run of consecutive positions: `tokens[window_first ..
  /// window_first + window_count)` are `tokens[window_first] + 0, 1, ...`.
  /// The kernels score that run with contiguous (vectorised) key loads.
  std::size_t window_first = 0, window_count = 0;

  /// Reserves room for any query of a length-`n` sequence under `p`.
  template <class Pattern>
  void reserve(const Pattern& p, std::size_t n) {
    tokens.reserve(p.max_tokens(n));
    blocks.reserve(p.max_blocks(n));
  }
  std::size_t size() const noexcept { return tokens.size() + blocks.size(); }
};

/// The sparse pattern of a validated `SparseConfig`.
///
/// Thread safety: immutable after construction; every method is const and
/// may be called concurrently. Cost: `candidates` is O(window + log n + |G|).
class SparsePattern {
 public:
  /// Validates `cfg` (throws `Errc::invalid_config`) and sorts/deduplicates G.
  explicit SparsePattern(SparseConfig cfg) : cfg_(std::move(cfg)) {
    cfg_.validate();
    globals_ = cfg_.global_tokens;
    std::sort(globals_.begin(), globals_.end());
    globals_.erase(std::unique(globals_.begin(), globals_.end()), globals_.end());
  }

  const SparseConfig& config() const noexcept { return cfg_; }

  /// Number of landmark blocks of a length-`n` sequence, `ceil(n / B)`.
  std::size_t num_blocks(std::size_t n) const noexcept { return (n + cfg_.block_size - 1) / cfg_.block_size; }

  /// Blocks whose means a kernel must provide for a length-`n` sequence:
  /// complete blocks when causal, all blocks (last one partial) otherwise.
  std::size_t landmark_blocks(std::size_t n) const noexcept {
    if (!cfg_.landmarks) return 0;
    return cfg_.causal ? n / cfg_.block_size : num_blocks(n);
  }

  /// Upper bound on `tokens.size()` for any query of a length-`n` sequence.
  std::size_t max_tokens(std::size_t n) const noexcept {
    const std::size_t window = std::min(n, 2 * std::min(cfg_.window, n) + 1);
    return std::min(n, window + globals_.size() + 2 * kMaxLog);
  }
  /// Upper bound on `blocks.size()` for any query of a length-`n` sequence.
  std::size_t max_blocks(std::size_t n) const noexcept {
    return cfg_.landmarks ? std::min(num_blocks(n), std::size_t{3} + 2 * kMaxLog) : 0;
  }

  /// Fills `out` with T(i) and L(i) of query `i` in a length-`n` sequence
  /// (requires `i < n`, unchecked: kernels validate shapes once per call).
  /// `keep` (length n, optional) gates the log-stride tokens as in
  /// `forward_gated`: window tokens, i itself and globals are always kept.
  void candidates(std::size_t i, std::size_t n, Candidates& out, const std::uint8_t* keep = nullptr) const {
    token_set(i, n, keep, out.tokens, out.window_first, out.window_count);
    block_set(i, n, out.blocks);
  }
  /// `candidates` for a scan of ascending queries i of one length-`n`
  /// sequence: L(i) is recomputed only when its block key changes (it is a
  /// function of `block_key(i)` for a fixed n). `key` is the caller's, starts
  /// at `kNoKey` and must not be shared between sequences.
  static constexpr std::size_t kNoKey = static_cast<std::size_t>(-1);
  void next_candidates(std::size_t i, std::size_t n, Candidates& out, std::size_t& key,
                       const std::uint8_t* keep = nullptr) const {
    token_set(i, n, keep, out.tokens, out.window_first, out.window_count);
    const std::size_t k = block_key(i);
    if (k != key) {
      block_set(i, n, out.blocks);
      key = k;
    }
  }
  /// `candidates` in the gate's `salient` mode (GATE.md): the log-stride
  /// tokens are replaced by the kept positions `kept[0 .. n_kept)` (ascending,
  /// each < n; those of the window or G appear once; when causal only those
  /// <= i). L(i) as `next_candidates` (same `key` rule). Cost O(window + |G| +
  /// n_kept) per query.
  void salient_candidates(std::size_t i, std::size_t n, Candidates& out, std::size_t& key, const std::uint32_t* kept,
                          std::size_t n_kept) const {
    salient_token_set(i, n, kept, n_kept, out);
    const std::size_t k = block_key(i);
    if (k != key) {
      block_set(i, n, out.blocks);
      key = k;
    }
  }
  /// L(i) depends on i only through this: (i+1)/B when causal (complete
  /// blocks), i/B otherwise (the query's own block).
  std::size_t block_key(std::size_t i) const noexcept {
    return (cfg_.causal ? i + 1 : i) / cfg_.block_size;
  }

  /// `sum_i |T(i)| + |L(i)|` over a length-`n` sequence, for one head.
  /// Cost O(n (window + log n)); allocates one reusable buffer.
  std::uint64_t count_edges(std::size_t n) const {
    Candidates c;
    c.reserve(*this, n);
    std::uint64_t edges = 0;
    for (std::size_t i = 0; i < n; ++i) {
      candidates(i, n, c);
      edges += c.size();
    }
    return edges;
  }

 private:
  static constexpr std::size_t kMaxLog = 64;  // log-stride steps per side never exceed 64

  void token_set(std::size_t i, std::size_t n, const std::uint8_t* keep, std::vector<std::uint32_t>& out,
                 std::size_t& window_first, std::size_t& window_count) const {
    out.clear();
    const std::size_t lo = i - std::min(i, cfg_.window);
    const std::size_t hi = cfg_.causal ? i : i + std::min(cfg_.window, n - 1 - i);

    // Left of the window: log-stride i-s (descending as s grows) merged with globals < lo.
    std::uint32_t left[kMaxLog];
    std::size_t n_left = 0;
    if (cfg_.log_stride) {
      for (std::uint64_t s = 1; s <= i; s <<= 1) {
        const std::size_t j = i - static_cast<std::size_t>(s);
        if (j < lo && (keep == nullptr || keep[j] != 0)) left[n_left++] = static_cast<std::uint32_t>(j);
      }
    }
    auto g = globals_.begin();
    const auto g_end = globals_.end();
    // Merge two ascending streams (left[] read backwards, globals) into out.
    while (n_left > 0 || (g != g_end && *g < lo)) {
      std::size_t next;
      const bool take_log = n_left > 0 && (g == g_end || *g >= lo || left[n_left - 1] <= *g);
      if (take_log) {
        next = left[--n_left];
        if (g != g_end && *g == next) ++g;
      } else {
        next = *g++;
      }
      out.push_back(static_cast<std::uint32_t>(next));
    }
    const std::size_t before = out.size();  // the window, written in one go
    window_first = before;
    window_count = hi - lo + 1;
    out.resize(before + window_count);
    std::iota(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(), static_cast<std::uint32_t>(lo));
    while (g != g_end && *g <= hi) ++g;  // globals inside the window are already there

    // Right of the window (non-causal only): i+s ascending, merged with globals in (hi, n).
    if (cfg_.causal) return;
    std::uint64_t s = 1;
    auto next_log = [&]() -> std::size_t {  // next i+s beyond hi, or n when exhausted
      if (!cfg_.log_stride) return n;
      for (; s < n && i + s < n; s <<= 1) {
        const std::size_t j = i + static_cast<std::size_t>(s);
        if (j > hi && (keep == nullptr || keep[j] != 0)) return j;
      }
      return n;
    };
    std::size_t lg = next_log();
    while (lg < n || (g != g_end && *g < n)) {
      const std::size_t gv = (g != g_end && *g < n) ? *g : n;
      const std::size_t next = std::min(lg, gv);
      out.push_back(static_cast<std::uint32_t>(next));
      if (gv == next) ++g;
      if (lg == next) {
        s <<= 1;
        lg = next_log();
      }
    }
  }

  // Ascending merge of kept positions and globals in [from, to), duplicates once.
  void merge_kept(const std::uint32_t*& kp, const std::uint32_t* k_end, std::vector<std::size_t>::const_iterator& g,
                  std::size_t to, std::vector<std::uint32_t>& out) const {
    const auto g_end = globals_.cend();
    while ((kp != k_end && *kp < to) || (g != g_end && *g < to)) {
      const std::size_t kv = (kp != k_end && *kp < to) ? *kp : to;
      const std::size_t gv = (g != g_end && *g < to) ? *g : to;
      const std::size_t next = std::min(kv, gv);
      out.push_back(static_cast<std::uint32_t>(next));
      if (kv == next) ++kp;
      if (gv == next) ++g;
    }
  }

  void salient_token_set(std::size_t i, std::size_t n, const std::uint32_t* kept, std::size_t n_kept,
                         Candidates& c) const {
    std::vector<std::uint32_t>& out = c.tokens;
    out.clear();
    const std::size_t lo = i - std::min(i, cfg_.window);
    const std::size_t hi = cfg_.causal ? i : i + std::min(cfg_.window, n - 1 - i);
    const std::uint32_t* kp = kept;
    const std::uint32_t* k_end = kept + n_kept;
    auto g = globals_.cbegin();
    merge_kept(kp, k_end, g, lo, out);  // left of the window
    c.window_first = out.size();
    c.window_count = hi - lo + 1;
    const std::size_t before = out.size();
    out.resize(before + c.window_count);
    std::iota(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(), static_cast<std::uint32_t>(lo));
    if (cfg_.causal) return;
    while (kp != k_end && *kp <= hi) ++kp;  // inside the window: already there
    while (g != globals_.cend() && *g <= hi) ++g;
    merge_kept(kp, k_end, g, n, out);  // right of the window
  }

  void block_set(std::size_t i, std::size_t n, std::vector<std::uint32_t>& out) const {
    out.clear();
    if (!cfg_.landmarks) return;
    const std::size_t nb = num_blocks(n);
    const std::size_t cur = i / cfg_.block_size;
    auto push = [&](std::size_t b) { out.push_back(static_cast<std::uint32_t>(b)); };

    if (cfg_.causal) {
      const std::size_t avail = (i + 1) / cfg_.block_size;
      if (avail == 0) return;
      const std::size_t p = avail - 1;
      const std::size_t local_lo = p > 0 ? p - 1 : 0;  // local blocks: [p-1, p]
      if (cfg_.log_stride) {
        std::uint32_t left[kMaxLog];
        std::size_t n_left = 0;
        for (std::uint64_t s = 1; s < nb && s <= p; s <<= 1) {
          const std::size_t b = p - static_cast<std::size_t>(s);
          if (b < local_lo) left[n_left++] = static_cast<std::uint32_t>(b);
        }
        while (n_left > 0) out.push_back(left[--n_left]);
      }
      for (std::size_t b = local_lo; b <= p; ++b) push(b);
      return;
    }

    // Non-causal: pivot p = cur, local blocks p-1 and p+1 (cur itself skipped),
    // log-stride p-s / p+s; the s = 1 entries coincide with the local ones.
    const std::size_t p = std::min(cur, nb - 1);
    std::uint32_t left[kMaxLog];
    std::size_t n_left = 0;
    if (p >= 1) left[n_left++] = static_cast<std::uint32_t>(p - 1);
    if (cfg_.log_stride) {
      for (std::uint64_t s = 2; s < nb && s <= p; s <<= 1) left[n_left++] = static_cast<std::uint32_t>(p - s);
    }
    while (n_left > 0) out.push_back(left[--n_left]);
    if (p + 1 < nb) push(p + 1);
    if (cfg_.log_stride) {
      for (std::uint64_t s = 2; s < nb && p + s < nb; s <<= 1) push(p + static_cast<std::size_t>(s));
    }
  }

  SparseConfig cfg_;
  std::vector<std::size_t> globals_;  // sorted, unique
};

}  // namespace aether
