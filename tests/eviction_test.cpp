// Eviction policies of KvCache: bounded memory, protected tokens, and decode
// equal to a from-scratch computation over the surviving tokens.
#include <aether/kv_cache.hpp>
#include <aether/sparse_attention.hpp>
#include <aether/temporal_head.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "reference_attention.hpp"
#include "test_support.hpp"

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace eviction_test {

namespace {

using aether_test::token;

using aether::Errc;
using aether::Eviction;
using aether::EvictionPolicy;
using aether::KvCache;
using aether::Tensor3;
using aether::Tensor3View;


/// A fresh cache (no policy) holding exactly the surviving tokens of `c`, in slot order.
KvCache<float> rebuild(const KvCache<float>& c, const Tensor3<float>& k, const Tensor3<float>& v) {
  KvCache<float> fresh(c.capacity(), c.kv_heads(), c.dim(), c.block_size());
  for (std::size_t s = 0; s < c.size(); ++s) {
    fresh.append(token(k, static_cast<std::size_t>(c.origin(s))), token(v, static_cast<std::size_t>(c.origin(s))));
  }
  return fresh;
}

struct Case {
  const char* name;
  EvictionPolicy policy;
  std::size_t capacity, q_heads, kv_heads, dim, window, block;
};

class EvictionStream : public ::testing::TestWithParam<Case> {};

TEST_P(EvictionStream, BoundedProtectedAndEqualToRecompute) {
  const Case& p = GetParam();
  const std::size_t steps = 5 * p.capacity + 7;
  const auto q = aether_ref::random_tensor<float>(steps, p.q_heads, p.dim, 1);
  const auto k = aether_ref::random_tensor<float>(steps, p.kv_heads, p.dim, 2);
  const auto v = aether_ref::random_tensor<float>(steps, p.kv_heads, p.dim, 3);
  aether::SparseConfig cfg;
  cfg.window = p.window;
  cfg.block_size = p.block;
  cfg.global_tokens = {0};
  const aether::SparseAttention<float> attn(cfg);
  KvCache<float> cache(p.capacity, p.kv_heads, p.dim, p.block, p.policy);
  std::size_t evictions = 0;

  for (std::size_t t = 0; t < steps; ++t) {
    // Independent expectation of the heavy-hitter victim, from the statistics
    // before this append: least attention outside prefix and recent window,
    // oldest on ties.
    std::uint64_t expected_victim = UINT64_MAX;
    if (cache.full() && p.policy.kind == Eviction::heavy_hitter) {
      std::size_t best = p.policy.protected_prefix;
      for (std::size_t s = best; s < cache.size() - p.policy.recent; ++s)
        if (cache.attention(s) < cache.attention(best)) best = s;
      expected_victim = cache.origin(best);
    }
    std::set<std::uint64_t> before;
    for (std::size_t s = 0; s < cache.size(); ++s) before.insert(cache.origin(s));

    cache.append(token(k, t), token(v, t));
    const auto out = attn.decode(token(q, t), cache);  // mutable: heavy hitter accumulates

    ASSERT_LE(cache.size(), cache.capacity()) << p.name << " step " << t;
    ASSERT_EQ(cache.origin(cache.size() - 1), t) << "newest token must be the last slot";
    for (std::size_t s = 0; s < std::min(p.policy.protected_prefix, cache.size()); ++s)
      ASSERT_EQ(cache.origin(s), s) << p.name << ": protected slot " << s << " was evicted at step " << t;
    for (std::size_t s = 1; s < cache.size(); ++s)
      ASSERT_LT(cache.origin(s - 1), cache.origin(s)) << "slots must stay in arrival order";
    const std::size_t recent = std::min<std::size_t>(p.policy.recent, cache.size());
    for (std::size_t r = 0; r < recent; ++r)
      ASSERT_EQ(cache.origin(cache.size() - 1 - r), t - r) << "recent token evicted at step " << t;

    std::set<std::uint64_t> after;
    for (std::size_t s = 0; s < cache.size(); ++s) after.insert(cache.origin(s));
    std::vector<std::uint64_t> gone;
    std::set_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(gone));
    if (!gone.empty()) ++evictions;
    if (p.policy.kind == Eviction::heavy_hitter && expected_victim != UINT64_MAX) {
      ASSERT_EQ(gone.size(), 1u);
      ASSERT_EQ(gone[0], expected_victim) << "heavy hitter evicted the wrong token at step " << t;
    }
    if (p.policy.kind == Eviction::sliding_window) {
      // Survivors after the prefix are exactly the newest tokens, contiguous.
      for (std::size_t s = p.policy.protected_prefix + 1; s < cache.size(); ++s)
        ASSERT_EQ(cache.origin(s), cache.origin(s - 1) + 1) << "sliding window left a gap at step " << t;
    }

    // Decode equals a from-scratch cache of the surviving tokens, bit for bit.
    const auto fresh = rebuild(cache, k, v);
    const auto expect = attn.decode(token(q, t), static_cast<const KvCache<float>&>(fresh));
    ASSERT_EQ(0, std::memcmp(out.data(), expect.data(), out.size() * sizeof(float)))
        << p.name << ": decode after eviction differs from recompute at step " << t;
  }
  EXPECT_GT(evictions, 0u) << "the stream never filled the cache; the test checked nothing";
}

INSTANTIATE_TEST_SUITE_P(
    Policies, EvictionStream,
    ::testing::Values(Case{"sliding_mha", EvictionPolicy::sliding_window(1), 40, 2, 2, 8, 4, 4},
                      Case{"sliding_prefix3", EvictionPolicy::sliding_window(3), 37, 4, 1, 16, 6, 8},
                      Case{"heavy_hitter_mqa", EvictionPolicy::heavy_hitter(8, 1), 40, 4, 1, 32, 8, 4},
                      Case{"heavy_hitter_gqa", EvictionPolicy::heavy_hitter(5, 2), 29, 4, 2, 8, 3, 5},
                      // Windows of >= 16 positions with shared kv heads: decode reads
                      // the cache's transposed keys, which eviction must compact too.
                      Case{"sliding_mqa_w16", EvictionPolicy::sliding_window(1), 70, 4, 1, 16, 16, 8},
                      Case{"heavy_hitter_gqa_w33", EvictionPolicy::heavy_hitter(20, 1), 64, 4, 2, 8, 33, 4}),
    [](const auto& test) { return std::string(test.param.name); });

TEST(Eviction, LandmarksAfterEvictionAreMeansOfSurvivingBlocks) {
  const std::size_t cap = 24, bs = 4, d = 8;
  const auto k = aether_ref::random_tensor<float>(100, 1, d, 7);
  const auto v = aether_ref::random_tensor<float>(100, 1, d, 8);
  KvCache<float> cache(cap, 1, d, bs, EvictionPolicy::sliding_window(1));
  for (std::size_t t = 0; t < 100; ++t) cache.append(token(k, t), token(v, t));
  ASSERT_EQ(cache.complete_blocks(), cache.size() / bs);
  for (std::size_t b = 0; b < cache.complete_blocks(); ++b)
    for (std::size_t e = 0; e < d; ++e) {
      double sum = 0;
      for (std::size_t s = b * bs; s < (b + 1) * bs; ++s) sum += k(static_cast<std::size_t>(cache.origin(s)), 0, e);
      EXPECT_NEAR(cache.landmark_keys()(b, 0, e), sum / bs, 1e-6) << "block " << b;
    }
}

TEST(Eviction, PolicyThatProtectsEverythingIsRejected) {
  try {
    KvCache<float> c(8, 1, 4, 2, EvictionPolicy::heavy_hitter(7, 1));
    FAIL() << "expected aether::Error";
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("recent 7"), std::string::npos) << e.what();
  }
  EXPECT_THROW(KvCache<float>(8, 1, 4, 2, EvictionPolicy::sliding_window(8)), aether::Error);
}

TEST(Eviction, WithoutPolicyAFullCacheStillRefuses) {
  KvCache<float> c(2, 1, 4, 2);
  Tensor3<float> k1(1, 1, 4), v1(1, 1, 4);
  c.append(k1, v1);
  c.append(k1, v1);
  try {
    c.append(k1, v1);
    FAIL() << "expected cache_full";
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), Errc::cache_full);
  }
  EXPECT_EQ(c.size(), 2u);
}

TEST(Eviction, TemporalHeadStreamsForeverInBoundedMemory) {
  const auto cfg = aether::TemporalHeadConfig::aether_default();
  const aether::TemporalHead<float> head(cfg);
  for (Eviction kind : {Eviction::sliding_window, Eviction::heavy_hitter}) {
    auto cache = head.make_cache(64, kind);
    EXPECT_EQ(cache.eviction().protected_prefix, 1u);  // globals {0}
    const std::size_t steps = 300;
    const auto q = aether_ref::random_tensor<float>(steps, cfg.q_heads, cfg.head_dim, 11);
    const auto k = aether_ref::random_tensor<float>(steps, cfg.kv_heads, cfg.head_dim, 12);
    const auto v = aether_ref::random_tensor<float>(steps, cfg.kv_heads, cfg.head_dim, 13);
    for (std::size_t t = 0; t < steps; ++t) {
      const auto out = head.step(token(q, t), token(k, t), token(v, t), cache);
      ASSERT_LE(cache.size(), 64u);
      for (std::size_t e = 0; e < out.size(); ++e) ASSERT_TRUE(std::isfinite(out.data()[e]));
    }
    EXPECT_EQ(cache.appended(), steps);
    EXPECT_EQ(cache.origin(0), 0u);
  }
}

}  // namespace

}  // namespace eviction_test
