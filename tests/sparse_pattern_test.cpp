// SparseConfig / SparsePattern (sparse_pattern.hpp) against SEMANTICS.md:
// the normative edge counts, an independent std::set brute force of the
// rules (reference_attention.hpp) over a grid of configurations, gating,
// validation and structural properties the kernels rely on.
#include "reference_attention.hpp"

#include <aether/error.hpp>
#include <aether/sparse_attention.hpp>
#include <aether/sparse_pattern.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace sparse_pattern_test {

namespace {

using aether::Candidates;
using aether::SparseConfig;
using aether::SparsePattern;
using aether_ref::brute_candidates;

SparseConfig seed_config() {
  SparseConfig c;
  c.window = 16;
  c.block_size = 32;
  c.global_tokens = {0};
  c.causal = true;
  c.log_stride = true;
  c.landmarks = true;
  return c;
}

std::string describe(const SparseConfig& c, std::size_t n) {
  std::ostringstream os;
  os << "n=" << n << " W=" << c.window << " B=" << c.block_size << " causal=" << c.causal
     << " log_stride=" << c.log_stride << " landmarks=" << c.landmarks << " G={";
  for (std::size_t g : c.global_tokens) os << g << ",";
  os << "}";
  return os.str();
}

template <class V>
std::string list(const V& v) {
  std::ostringstream os;
  os << "[";
  for (auto x : v) os << x << " ";
  os << "]";
  return os.str();
}

bool strictly_ascending(const std::vector<std::uint32_t>& v) {
  return std::adjacent_find(v.begin(), v.end(), [](std::uint32_t a, std::uint32_t b) { return a >= b; }) == v.end();
}

/// Compares every query of a length-n sequence with the brute force; returns
/// the number of mismatching queries (first few are reported).
int compare_all(const SparseConfig& cfg, std::size_t n, const std::uint8_t* keep = nullptr) {
  const SparsePattern p(cfg);
  Candidates c;
  int bad = 0;
  std::uint64_t edges = 0;
  for (std::size_t i = 0; i < n; ++i) {
    p.candidates(i, n, c, keep);
    const auto want = brute_candidates(cfg, i, n, keep);
    const std::vector<std::uint32_t> want_t(want.tokens.begin(), want.tokens.end());
    const std::vector<std::uint32_t> want_b(want.blocks.begin(), want.blocks.end());
    edges += want_t.size() + want_b.size();
    const bool ok = c.tokens == want_t && c.blocks == want_b && strictly_ascending(c.tokens) &&
                    strictly_ascending(c.blocks) && c.tokens.size() <= p.max_tokens(n) &&
                    c.blocks.size() <= p.max_blocks(n);
    if (!ok && ++bad <= 3) {
      ADD_FAILURE() << describe(cfg, n) << (keep ? " gated" : "") << " i=" << i << "\n  tokens got "
                    << list(c.tokens) << "\n         want " << list(want_t) << "\n  blocks got " << list(c.blocks)
                    << "\n         want " << list(want_b) << "\n  max_tokens " << p.max_tokens(n) << " max_blocks "
                    << p.max_blocks(n);
    }
  }
  if (keep == nullptr) {
    EXPECT_EQ(p.count_edges(n), edges) << describe(cfg, n);
  }
  return bad;
}

// --- SEMANTICS.md edge counts ---------------------------------------------

TEST(SparsePattern, SeedConfigEdgeCounts) {
  const SparsePattern p(seed_config());
  EXPECT_EQ(p.count_edges(64), 1064u);
  EXPECT_EQ(p.count_edges(256), 5672u);
  EXPECT_EQ(p.count_edges(1024), 27368u);
  EXPECT_EQ(p.count_edges(4096), 126632u);
  EXPECT_EQ(p.count_edges(16384), 573032u);
  // The same through the kernel's count_edges.
  EXPECT_EQ(aether::SparseAttention<float>(seed_config()).count_edges(1024), 27368u);
}

TEST(SparsePattern, SeedConfigEdgeCountsMatchBruteForce) {
  // Validates the test reference against the normative numbers too.
  EXPECT_EQ(aether_ref::brute_count_edges(seed_config(), 64), 1064u);
  EXPECT_EQ(aether_ref::brute_count_edges(seed_config(), 256), 5672u);
  EXPECT_EQ(aether_ref::brute_count_edges(seed_config(), 1024), 27368u);
  EXPECT_EQ(aether_ref::brute_count_edges(seed_config(), 4096), 126632u);
}

TEST(SparsePattern, EmptySequenceHasNoEdges) {
  EXPECT_EQ(SparsePattern(seed_config()).count_edges(0), 0u);
  EXPECT_EQ(SparsePattern(SparseConfig{}).count_edges(0), 0u);
}

TEST(SparsePattern, DefaultsPerSemantics) {
  const SparseConfig c;
  EXPECT_EQ(c.window, 128u);
  EXPECT_EQ(c.block_size, 64u);
  EXPECT_EQ(c.global_tokens, std::vector<std::size_t>{0});
  EXPECT_TRUE(c.causal);
  EXPECT_TRUE(c.log_stride);
  EXPECT_TRUE(c.landmarks);
}

// --- brute-force comparison ------------------------------------------------

TEST(SparsePattern, MatchesBruteForceOverConfigGrid) {
  const std::vector<std::size_t> ns = {1, 2, 3, 5, 8, 16, 17, 31, 64, 65, 100, 129, 200};
  int configs = 0, bad = 0;
  for (bool causal : {true, false})
    for (std::size_t w : {0u, 1u, 3u, 17u})
      for (std::size_t b : {1u, 3u, 8u, 64u})
        for (bool log_stride : {true, false})
          for (bool landmarks : {true, false})
            for (int gset = 0; gset < 5; ++gset)
              for (std::size_t n : ns) {
                SparseConfig cfg;
                cfg.causal = causal;
                cfg.window = w;
                cfg.block_size = b;
                cfg.log_stride = log_stride;
                cfg.landmarks = landmarks;
                switch (gset) {
                  case 0: cfg.global_tokens = {}; break;
                  case 1: cfg.global_tokens = {0}; break;
                  case 2: cfg.global_tokens = {5, 0, 5, 0}; break;                  // duplicates
                  case 3: cfg.global_tokens = {n + 3, 1000000, 2, n - 1, n}; break;  // out of range
                  case 4: cfg.global_tokens = {n / 2, n / 3, 7, n / 2, 63}; break;   // middle, unsorted
                }
                ++configs;
                bad += compare_all(cfg, n);
                if (bad > 20) FAIL() << "too many mismatches, stopping";
              }
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(configs, 2 * 4 * 4 * 2 * 2 * 5 * static_cast<int>(ns.size()));
}

TEST(SparsePattern, GatedMatchesBruteForce) {
  std::mt19937 rng(7);
  int bad = 0;
  for (bool causal : {true, false})
    for (std::size_t w : {0u, 1u, 3u, 17u})
      for (std::size_t b : {1u, 3u, 8u, 64u})
        for (bool log_stride : {true, false})
          for (std::size_t n : {1u, 7u, 33u, 96u, 200u})
            for (int density : {0, 30, 70, 100}) {
              SparseConfig cfg;
              cfg.causal = causal;
              cfg.window = w;
              cfg.block_size = b;
              cfg.log_stride = log_stride;
              cfg.global_tokens = {0, 9, 9, n + 1};
              std::vector<std::uint8_t> keep(n);
              for (auto& x : keep) x = static_cast<int>(rng() % 100) < density ? 1 : 0;
              bad += compare_all(cfg, n, keep.data());
              if (bad > 20) FAIL() << "too many mismatches, stopping";
            }
  EXPECT_EQ(bad, 0);
}

TEST(SparsePattern, ScanWithBlockKeyEqualsFreshCandidates) {
  // next_candidates skips L(i) while its block key is unchanged; every row of
  // a scan (whole, or starting mid-sequence as a thread's tile does) must
  // still equal a fresh candidates() call.
  for (bool causal : {true, false})
    for (bool log_stride : {true, false})
      for (std::size_t block : {1u, 3u, 16u, 64u, 500u}) {
        SparseConfig cfg = seed_config();
        cfg.causal = causal;
        cfg.log_stride = log_stride;
        cfg.block_size = block;
        const SparsePattern p(cfg);
        for (std::size_t n : {1u, 37u, 300u}) {
          for (std::size_t start : {std::size_t{0}, n / 3}) {
            Candidates scan, fresh;
            std::size_t key = SparsePattern::kNoKey;
            for (std::size_t i = start; i < n; ++i) {
              p.next_candidates(i, n, scan, key);
              p.candidates(i, n, fresh);
              ASSERT_EQ(scan.tokens, fresh.tokens) << describe(cfg, n) << " i=" << i;
              ASSERT_EQ(scan.blocks, fresh.blocks) << describe(cfg, n) << " i=" << i;
            }
          }
        }
      }
}

TEST(SparsePattern, AllOnesKeepEqualsUngated) {
  for (bool causal : {true, false}) {
    SparseConfig cfg = seed_config();
    cfg.causal = causal;
    const SparsePattern p(cfg);
    const std::size_t n = 300;
    const std::vector<std::uint8_t> keep(n, 1);
    Candidates a, b;
    for (std::size_t i = 0; i < n; ++i) {
      p.candidates(i, n, a);
      p.candidates(i, n, b, keep.data());
      ASSERT_EQ(a.tokens, b.tokens) << "i=" << i;
      ASSERT_EQ(a.blocks, b.blocks) << "i=" << i;
    }
  }
}

TEST(SparsePattern, AllZeroKeepDropsOnlyLogStrideTokens) {
  SparseConfig cfg = seed_config();
  cfg.global_tokens = {0, 40};
  const SparsePattern p(cfg);
  const std::size_t n = 200;
  const std::vector<std::uint8_t> keep(n, 0);
  Candidates c;
  for (std::size_t i = 0; i < n; ++i) {
    p.candidates(i, n, c, keep.data());
    for (std::uint32_t j : c.tokens) {
      const bool allowed = j == i || (j + cfg.window >= i && j <= i) || j == 0 || j == 40;
      EXPECT_TRUE(allowed) << "i=" << i << " j=" << j;
    }
  }
}

// --- structural properties --------------------------------------------------

TEST(SparsePattern, CausalCandidatesDoNotDependOnSequenceLength) {
  // Decode evaluates row i with n = i + 1; prefill with the full n.
  for (std::size_t b : {1u, 5u, 16u}) {
    SparseConfig cfg = seed_config();
    cfg.block_size = b;
    cfg.global_tokens = {0, 3, 250};
    const SparsePattern p(cfg);
    Candidates full, prefix;
    const std::size_t n = 300;
    for (std::size_t i = 0; i < n; ++i) {
      p.candidates(i, n, full);
      p.candidates(i, i + 1, prefix);
      ASSERT_EQ(full.tokens, prefix.tokens) << "B=" << b << " i=" << i;
      ASSERT_EQ(full.blocks, prefix.blocks) << "B=" << b << " i=" << i;
      for (std::uint32_t j : full.tokens) ASSERT_LE(j, i);
      for (std::uint32_t blk : full.blocks) ASSERT_LE((blk + 1) * b, i + 1) << "causal block must be complete";
    }
  }
}

TEST(SparsePattern, NonCausalBlocksNeverIncludeOwnBlock) {
  SparseConfig cfg = seed_config();
  cfg.causal = false;
  cfg.block_size = 8;
  const SparsePattern p(cfg);
  Candidates c;
  const std::size_t n = 150;
  for (std::size_t i = 0; i < n; ++i) {
    p.candidates(i, n, c);
    for (std::uint32_t blk : c.blocks) {
      EXPECT_NE(blk, i / 8) << "i=" << i;
      EXPECT_LT(blk, p.num_blocks(n));
    }
  }
}

TEST(SparsePattern, LandmarkBlockCounts) {
  SparseConfig cfg = seed_config();
  cfg.block_size = 10;
  const SparsePattern causal(cfg);
  EXPECT_EQ(causal.num_blocks(25), 3u);
  EXPECT_EQ(causal.landmark_blocks(25), 2u);  // complete blocks only
  EXPECT_EQ(causal.landmark_blocks(9), 0u);
  cfg.causal = false;
  EXPECT_EQ(SparsePattern(cfg).landmark_blocks(25), 3u);  // last one partial
  cfg.landmarks = false;
  EXPECT_EQ(SparsePattern(cfg).landmark_blocks(25), 0u);
  EXPECT_EQ(SparsePattern(cfg).max_blocks(25), 0u);
}

TEST(SparsePattern, CandidatesBufferIsRefilledNotAppended) {
  const SparsePattern p(seed_config());
  Candidates c;
  p.candidates(200, 256, c);
  const auto first = c.tokens;
  p.candidates(3, 256, c);
  EXPECT_EQ(c.tokens, (std::vector<std::uint32_t>{0, 1, 2, 3}));
  EXPECT_TRUE(c.blocks.empty());
  p.candidates(200, 256, c);
  EXPECT_EQ(c.tokens, first);
}

TEST(SparsePattern, HandComputedQuery) {
  // Seed config, i = 100, n = 256: window [84, 100]; globals {0}; log-stride
  // 99, 98, 96, 92, 84, 68, 36 (s = 1..64); s = 128 > i. Blocks: avail =
  // floor(101/32) = 3, p = 2, local {1, 2}, log-stride p-1 = 1, p-2 = 0.
  const SparsePattern p(seed_config());
  Candidates c;
  p.candidates(100, 256, c);
  std::vector<std::uint32_t> want = {0, 36, 68};
  for (std::uint32_t j = 84; j <= 100; ++j) want.push_back(j);
  EXPECT_EQ(c.tokens, want);
  EXPECT_EQ(c.blocks, (std::vector<std::uint32_t>{0, 1, 2}));
}

// --- count_edges sanity -----------------------------------------------------

TEST(SparsePattern, CausalDenseLikeConfigCountsTriangle) {
  for (std::size_t n : {1u, 2u, 10u, 63u, 200u}) {
    SparseConfig cfg;
    cfg.window = n;          // W >= n-1: every j <= i
    cfg.block_size = n + 1;  // no complete block: no landmark
    cfg.global_tokens = {0, 1, n + 7};
    EXPECT_EQ(SparsePattern(cfg).count_edges(n), n * (n + 1) / 2) << "n=" << n;
    cfg.block_size = 1;
    cfg.landmarks = false;
    EXPECT_EQ(SparsePattern(cfg).count_edges(n), n * (n + 1) / 2) << "n=" << n;
    cfg.causal = false;
    EXPECT_EQ(SparsePattern(cfg).count_edges(n), n * n) << "bidirectional n=" << n;
  }
}

TEST(SparsePattern, HugeWindowDoesNotOverflow) {
  for (bool causal : {true, false}) {
    SparseConfig cfg;
    cfg.window = std::numeric_limits<std::size_t>::max();
    cfg.block_size = 1000;
    cfg.global_tokens = {std::numeric_limits<std::size_t>::max()};
    cfg.causal = causal;
    const std::size_t n = 77;
    EXPECT_EQ(SparsePattern(cfg).count_edges(n), causal ? n * (n + 1) / 2 : n * n) << "causal=" << causal;
    EXPECT_EQ(compare_all(cfg, n), 0);
  }
}

TEST(SparsePattern, SaturatedWithBlockEqualToNAddsOneLandmark) {
  // SEMANTICS: with B == n the last row gains one landmark (case sparse_saturated).
  SparseConfig cfg;
  cfg.window = 32;
  cfg.block_size = 32;
  EXPECT_EQ(SparsePattern(cfg).count_edges(32), 32u * 33u / 2u + 1u);
}

TEST(SparsePattern, WindowOnlyCount) {
  // Causal, no log-stride/landmarks/globals: sum_i min(i, W) + 1.
  SparseConfig cfg;
  cfg.window = 4;
  cfg.block_size = 16;
  cfg.global_tokens = {};
  cfg.log_stride = false;
  cfg.landmarks = false;
  std::uint64_t want = 0;
  for (std::size_t i = 0; i < 64; ++i) want += std::min<std::size_t>(i, 4) + 1;
  EXPECT_EQ(SparsePattern(cfg).count_edges(64), want);
  EXPECT_EQ(want, 310u);  // sparse_window_only in cases.txt
}

TEST(SparsePattern, CountEdgesGrowsSubQuadratically) {
  const SparsePattern p(seed_config());
  // Per-row candidates are O(W + log n): far below the causal triangle.
  EXPECT_LT(p.count_edges(4096), 4096u * 4097u / 2u / 50u);
  EXPECT_LT(p.count_edges(1024), p.count_edges(2048));
}

// --- validation --------------------------------------------------------------

TEST(SparsePattern, BlockSizeZeroIsInvalidConfig) {
  SparseConfig cfg;
  cfg.block_size = 0;
  try {
    cfg.validate();
    FAIL() << "validate() accepted block_size 0";
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), aether::Errc::invalid_config);
    EXPECT_NE(std::string(e.what()).find("block_size"), std::string::npos) << e.what();
  }
  try {
    SparsePattern p(cfg);
    FAIL() << "SparsePattern accepted block_size 0";
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), aether::Errc::invalid_config);
  }
  try {
    aether::SparseAttention<float> a(cfg);
    FAIL() << "SparseAttention accepted block_size 0";
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), aether::Errc::invalid_config);
  }
}

TEST(SparsePattern, ValidConfigsAreAccepted) {
  SparseConfig cfg;
  cfg.window = 0;
  cfg.block_size = 1;
  cfg.global_tokens = {};
  EXPECT_NO_THROW(cfg.validate());
  EXPECT_NO_THROW(SparsePattern{cfg});
  cfg.global_tokens = {static_cast<std::size_t>(-1), 0, 0};
  EXPECT_NO_THROW(SparsePattern{cfg});
  EXPECT_EQ(SparsePattern(cfg).count_edges(50), aether_ref::brute_count_edges(cfg, 50));
  cfg.log_stride = false;
  cfg.landmarks = false;
  cfg.global_tokens = {};
  EXPECT_EQ(SparsePattern(cfg).count_edges(50), 50u);  // W 0 and nothing else: only i itself
}

TEST(SparsePattern, ConfigIsKeptAsGiven) {
  SparseConfig cfg = seed_config();
  cfg.global_tokens = {9, 3, 9};
  const SparsePattern p(cfg);
  EXPECT_EQ(p.config().global_tokens, (std::vector<std::size_t>{9, 3, 9}));
  EXPECT_EQ(p.config().window, 16u);
}

}  // namespace

}  // namespace sparse_pattern_test
