// Streaming decode (SparseAttention::decode / decode_batch, dense_decode,
// TemporalHead::step over a KvCache): SEMANTICS.md "Streaming decode".
// - sparse: appending token by token and decoding reproduces the causal
//   prefill BIT FOR BIT (memcmp), over many shapes and pattern options;
// - dense: within 1e-6 of the dense prefill (a different summation order);
// - an empty cache decodes to zeros; TemporalHead's typed errors.
#include "reference_attention.hpp"
#include "test_support.hpp"

#include <aether/dense_attention.hpp>
#include <aether/error.hpp>
#include <aether/kv_cache.hpp>
#include <aether/sparse_attention.hpp>
#include <aether/temporal_head.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace streaming_test {

namespace {

using aether_test::error_code_of;
using aether_test::token;

using aether::Errc;
using aether::KvCache;
using aether::SparseAttention;
using aether::SparseConfig;
using aether::TemporalHead;
using aether::TemporalHeadConfig;
using aether::Tensor3;
using aether::Tensor3View;
using aether_ref::random_tensor;



/// Empty when row t of `a` (all heads) has the same bytes as `b` (1, heads, dim).
std::string row_mismatch(const Tensor3<float>& a, std::size_t t, Tensor3View<const float> b) {
  return aether_ref::bit_mismatch<float>(Tensor3View<const float>(a).slice(t, 1), b);
}

struct StreamCase {
  std::string name;
  std::size_t n, q_heads, kv_heads, dim;
  SparseConfig cfg;
};

void PrintTo(const StreamCase& c, std::ostream* os) { *os << c.name; }

SparseConfig cfg_of(std::size_t window, std::size_t block, std::vector<std::size_t> globals, bool log_stride = true,
                    bool landmarks = true, bool causal = true) {
  SparseConfig c;
  c.window = window;
  c.block_size = block;
  c.global_tokens = std::move(globals);
  c.log_stride = log_stride;
  c.landmarks = landmarks;
  c.causal = causal;
  return c;
}

std::vector<StreamCase> stream_cases() {
  return {
      {"mha_default_like", 300, 2, 2, 16, cfg_of(16, 32, {0})},
      {"gqa", 300, 4, 2, 32, cfg_of(16, 8, {0})},
      {"mqa_aether", 400, 4, 1, 32, cfg_of(32, 16, {0})},
      {"window0", 200, 4, 1, 16, cfg_of(0, 8, {0})},
      {"window0_nothing_else", 100, 2, 2, 8, cfg_of(0, 8, {}, false, false)},
      {"block1", 150, 2, 1, 16, cfg_of(3, 1, {0})},
      {"block_larger_than_seq", 90, 4, 2, 16, cfg_of(8, 128, {0})},
      {"no_log_stride", 200, 4, 1, 32, cfg_of(8, 16, {0}, false, true)},
      {"no_landmarks", 200, 4, 1, 32, cfg_of(8, 16, {0}, true, false)},
      {"several_globals", 260, 4, 2, 16, cfg_of(4, 16, {0, 5, 17, 17, 100, 259, 1000})},
      {"no_globals", 130, 2, 2, 16, cfg_of(4, 16, {})},
      {"generic_dim_7", 130, 3, 1, 7, cfg_of(6, 5, {0, 2})},
      {"generic_dim_24", 130, 4, 2, 24, cfg_of(6, 5, {0})},
      {"dim_64", 100, 2, 1, 64, cfg_of(10, 16, {0})},
      {"dim_128", 70, 2, 2, 128, cfg_of(10, 16, {0})},
      // Several head passes (q/kv 3/3, 8/8, 8/2) with no landmark buffer: a
      // cache shorter than block_size, or landmarks off (issue 13).
      {"q3kv3_shorter_than_block", 6, 3, 3, 16, cfg_of(16, 8, {})},
      {"q8kv8_shorter_than_block", 6, 8, 8, 16, cfg_of(16, 8, {})},
      {"q8kv2_shorter_than_block", 6, 8, 2, 16, cfg_of(16, 8, {})},
      {"q8kv8_no_landmarks", 80, 8, 8, 16, cfg_of(8, 8, {0}, true, false)},
      {"q8kv2_no_landmarks_dim_7", 80, 8, 2, 7, cfg_of(8, 8, {0}, true, false)},
      // A non-causal config: decode uses its causal version (the stream cannot see the future).
      {"noncausal_config", 120, 4, 1, 16, cfg_of(8, 8, {0, 3}, true, true, false)},
  };
}

class SparseStreaming : public ::testing::TestWithParam<StreamCase> {};

TEST_P(SparseStreaming, TokenByTokenDecodeIsBitIdenticalToCausalPrefill) {
  const StreamCase& c = GetParam();
  const auto q = random_tensor<float>(c.n, c.q_heads, c.dim, 1000 + static_cast<std::uint32_t>(c.n));
  const auto k = random_tensor<float>(c.n, c.kv_heads, c.dim, 2000 + static_cast<std::uint32_t>(c.n));
  const auto v = random_tensor<float>(c.n, c.kv_heads, c.dim, 3000 + static_cast<std::uint32_t>(c.n));
  SparseConfig causal = c.cfg;
  causal.causal = true;
  const auto prefill = SparseAttention<float>(causal).forward(q, k, v);

  const SparseAttention<float> attn(c.cfg);
  KvCache<float> cache(c.n, c.kv_heads, c.dim, c.cfg.block_size);
  aether::Workspace<float> ws;
  Tensor3<float> out(1, c.q_heads, c.dim);
  int mismatches = 0;
  for (std::size_t t = 0; t < c.n; ++t) {
    cache.append(token(k, t), token(v, t));
    // Both decode overloads.
    const auto fresh = attn.decode(token(q, t), cache);
    attn.decode(token(q, t), cache, out.view(), ws);
    const std::string m1 = row_mismatch(prefill, t, fresh), m2 = row_mismatch(prefill, t, out);
    if ((!m1.empty() || !m2.empty()) && ++mismatches <= 3) {
      ADD_FAILURE() << c.name << " t=" << t << ": decode " << m1 << " | decode(ws) " << m2;
    }
  }
  EXPECT_EQ(mismatches, 0) << c.name;
}

TEST_P(SparseStreaming, DecodeBatchAfterAppendAllIsBitIdenticalToPrefill) {
  const StreamCase& c = GetParam();
  const auto q = random_tensor<float>(c.n, c.q_heads, c.dim, 4000 + static_cast<std::uint32_t>(c.n));
  const auto k = random_tensor<float>(c.n, c.kv_heads, c.dim, 5000 + static_cast<std::uint32_t>(c.n));
  const auto v = random_tensor<float>(c.n, c.kv_heads, c.dim, 6000 + static_cast<std::uint32_t>(c.n));
  SparseConfig causal = c.cfg;
  causal.causal = true;
  const auto prefill = SparseAttention<float>(causal).forward(q, k, v);
  const SparseAttention<float> attn(c.cfg);

  // Whole sequence at once.
  {
    KvCache<float> cache(c.n, c.kv_heads, c.dim, c.cfg.block_size);
    cache.append_all(k, v);
    const auto all = attn.decode_batch(q, cache);
    EXPECT_EQ(aether_ref::bit_mismatch<float>(all, prefill), "") << c.name << " one batch";
  }
  // Uneven chunks (1, 2, 3, ... tokens).
  KvCache<float> cache(c.n, c.kv_heads, c.dim, c.cfg.block_size);
  aether::Workspace<float> ws;
  std::size_t t = 0, chunk = 1;
  while (t < c.n) {
    const std::size_t m = std::min(chunk++, c.n - t);
    cache.append_all(Tensor3View<const float>(k).slice(t, m), Tensor3View<const float>(v).slice(t, m));
    Tensor3<float> out(m, c.q_heads, c.dim);
    attn.decode_batch(Tensor3View<const float>(q).slice(t, m), cache, out.view(), ws);
    EXPECT_EQ(aether_ref::bit_mismatch<float>(out, Tensor3View<const float>(prefill).slice(t, m)), "")
        << c.name << " chunk at t=" << t << " m=" << m;
    t += m;
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, SparseStreaming, ::testing::ValuesIn(stream_cases()),
                         [](const ::testing::TestParamInfo<StreamCase>& p) { return p.param.name; });

TEST(Streaming, AetherDefaultT1000ViaTemporalHeadIsBitIdentical) {
  const auto hc = TemporalHeadConfig::aether_default();
  EXPECT_EQ(hc.backend, aether::Backend::SparseGqa);
  EXPECT_EQ(hc.q_heads, 4u);
  EXPECT_EQ(hc.kv_heads, 1u);
  EXPECT_EQ(hc.head_dim, 32u);
  EXPECT_EQ(hc.window, 32u);
  EXPECT_EQ(hc.block_size, 16u);
  EXPECT_TRUE(hc.causal);
  const std::size_t T = 1000;
  const TemporalHead<float> head(hc);
  const auto q = random_tensor<float>(T, 4, 32, 71), k = random_tensor<float>(T, 1, 32, 72),
             v = random_tensor<float>(T, 1, 32, 73);
  const auto prefill = head.forward(q, k, v);
  auto cache = head.make_cache(T);
  EXPECT_EQ(cache.capacity(), T);
  EXPECT_EQ(cache.kv_heads(), 1u);
  EXPECT_EQ(cache.dim(), 32u);
  EXPECT_EQ(cache.block_size(), 16u);
  aether::Workspace<float> ws;
  Tensor3<float> out(1, 4, 32);
  int mismatches = 0;
  for (std::size_t t = 0; t < T; ++t) {
    const auto o = head.step(token(q, t), token(k, t), token(v, t), cache);
    const std::string m = row_mismatch(prefill, t, o);
    if (!m.empty() && ++mismatches <= 3) ADD_FAILURE() << "step t=" << t << ": " << m;
  }
  EXPECT_TRUE(cache.full());
  // Again through the workspace overload.
  cache.clear();
  for (std::size_t t = 0; t < T; ++t) {
    head.step(token(q, t), token(k, t), token(v, t), cache, out.view(), ws);
    const std::string m = row_mismatch(prefill, t, out);
    if (!m.empty() && ++mismatches <= 6) ADD_FAILURE() << "step(ws) t=" << t << ": " << m;
  }
  EXPECT_EQ(mismatches, 0);
}

// --- dense streaming ---------------------------------------------------------

TEST(Streaming, DenseDecodeWithin1e6OfDensePrefill) {
  for (auto shape : {std::vector<std::size_t>{1000, 4, 1, 32}, {300, 4, 2, 16}, {200, 2, 2, 7}}) {
    const std::size_t T = shape[0], qh = shape[1], kvh = shape[2], d = shape[3];
    const auto q = random_tensor<float>(T, qh, d, 81), k = random_tensor<float>(T, kvh, d, 82),
               v = random_tensor<float>(T, kvh, d, 83);
    const auto prefill = aether::dense_attention(q, k, v, /*causal=*/true);
    KvCache<float> cache(T, kvh, d, 16);
    aether::Workspace<float> ws;
    Tensor3<float> out(1, qh, d);
    double worst = 0;
    for (std::size_t t = 0; t < T; ++t) {
      cache.append(token(k, t), token(v, t));
      aether::dense_decode<float>(token(q, t), cache, out.view(), ws);
      const auto diff = aether_ref::max_diff<float, float>(out, Tensor3View<const float>(prefill).slice(t, 1));
      worst = std::max(worst, diff.max);
      if (diff.max > 1e-6) {
        ADD_FAILURE() << "T=" << T << " d=" << d << " t=" << t << ": " << diff.str();
        break;
      }
      if (t % 97 == 0) {  // the allocating overload too
        const auto fresh = aether::dense_decode<float>(token(q, t), cache);
        EXPECT_EQ(aether_ref::bit_mismatch<float>(fresh, out), "") << "t=" << t;
      }
    }
    std::printf("[ dense stream ] T=%zu q%zu kv%zu d%zu worst |decode - prefill| = %.3e\n", T, qh, kvh, d, worst);
  }
}

TEST(Streaming, DenseBackendTemporalHeadWithin1e6) {
  auto hc = TemporalHeadConfig::aether_default();
  hc.backend = aether::Backend::Dense;
  const TemporalHead<float> head(hc);
  const std::size_t T = 1000;
  const auto q = random_tensor<float>(T, 4, 32, 91), k = random_tensor<float>(T, 1, 32, 92),
             v = random_tensor<float>(T, 1, 32, 93);
  const auto prefill = head.forward(q, k, v);
  // The dense backend's forward is dense attention.
  EXPECT_EQ(aether_ref::bit_mismatch<float>(prefill, aether::dense_attention(q, k, v, true)), "");
  auto cache = head.make_cache(T);
  aether::Workspace<float> ws;
  Tensor3<float> out(1, 4, 32);
  double worst = 0;
  for (std::size_t t = 0; t < T; ++t) {
    head.step(token(q, t), token(k, t), token(v, t), cache, out.view(), ws);
    const auto diff = aether_ref::max_diff<float, float>(out, Tensor3View<const float>(prefill).slice(t, 1));
    worst = std::max(worst, diff.max);
    ASSERT_LE(diff.max, 1e-6) << "t=" << t << ": " << diff.str();
  }
  std::printf("[ dense head ] T=1000 worst |step - forward| = %.3e\n", worst);
}

// --- empty cache -------------------------------------------------------------

TEST(Streaming, EmptyCacheDecodesToZeros) {
  KvCache<float> cache(8, 1, 16, 4);
  const auto q1 = random_tensor<float>(1, 4, 16, 5);
  aether::Workspace<float> ws;
  Tensor3<float> out(1, 4, 16);
  const SparseAttention<float> attn(cfg_of(4, 4, {0}));

  const auto fresh = attn.decode(q1, cache);
  ASSERT_EQ(fresh.size(), 64u);
  for (std::size_t e = 0; e < fresh.size(); ++e) EXPECT_EQ(fresh.data()[e], 0.0f);

  for (std::size_t e = 0; e < out.size(); ++e) out.data()[e] = std::numeric_limits<float>::quiet_NaN();
  attn.decode(q1, cache, out.view(), ws);
  for (std::size_t e = 0; e < out.size(); ++e) EXPECT_EQ(out.data()[e], 0.0f) << "sparse decode(ws) e=" << e;

  for (std::size_t e = 0; e < out.size(); ++e) out.data()[e] = 7.0f;
  aether::dense_decode<float>(q1, cache, out.view(), ws);
  for (std::size_t e = 0; e < out.size(); ++e) EXPECT_EQ(out.data()[e], 0.0f) << "dense_decode e=" << e;
  const auto dense_fresh = aether::dense_decode<float>(q1, cache);
  for (std::size_t e = 0; e < dense_fresh.size(); ++e) EXPECT_EQ(dense_fresh.data()[e], 0.0f);

  // After clear() the cache is empty again.
  const auto k1 = random_tensor<float>(1, 1, 16, 6);
  cache.append(k1, k1);
  cache.clear();
  const auto again = attn.decode(q1, cache);
  for (std::size_t e = 0; e < again.size(); ++e) EXPECT_EQ(again.data()[e], 0.0f);
}

// --- fp16 cache through the head -----------------------------------------------

TEST(Streaming, TemporalHeadStepOverFp16CacheWithin2e3) {
  const TemporalHead<float> head(TemporalHeadConfig::aether_default());
  const std::size_t T = 300;
  const auto q = random_tensor<float>(T, 4, 32, 101), k = random_tensor<float>(T, 1, 32, 102),
             v = random_tensor<float>(T, 1, 32, 103);
  const auto prefill = head.forward(q, k, v);
  aether::KvCacheF16 cache(T, 1, 32, 16);
  for (std::size_t t = 0; t < T; ++t) {
    const auto o = head.step(token(q, t), token(k, t), token(v, t), cache);
    const auto diff = aether_ref::max_diff<float, float>(o, Tensor3View<const float>(prefill).slice(t, 1));
    ASSERT_LE(diff.max, 2e-3) << "t=" << t << ": " << diff.str();
  }
}

// --- TemporalHead errors -----------------------------------------------------------

TEST(TemporalHead, InvalidConfig) {
  auto with = [](auto mutate) {
    auto hc = TemporalHeadConfig::aether_default();
    mutate(hc);
    return error_code_of([&] { TemporalHead<float> h(hc); });
  };
  EXPECT_EQ(with([](TemporalHeadConfig&) {}), Errc::ok);
  EXPECT_EQ(with([](TemporalHeadConfig& c) { c.q_heads = 0; }), Errc::invalid_config);
  EXPECT_EQ(with([](TemporalHeadConfig& c) { c.kv_heads = 0; }), Errc::invalid_config);
  EXPECT_EQ(with([](TemporalHeadConfig& c) { c.head_dim = 0; }), Errc::invalid_config);
  EXPECT_EQ(with([](TemporalHeadConfig& c) { c.block_size = 0; }), Errc::invalid_config);
  EXPECT_EQ(with([](TemporalHeadConfig& c) {
              c.q_heads = 6;
              c.kv_heads = 4;
            }),
            Errc::invalid_config);
  EXPECT_EQ(with([](TemporalHeadConfig& c) {
              c.q_heads = 3;
              c.kv_heads = 2;
              c.backend = aether::Backend::Dense;
            }),
            Errc::invalid_config);
  EXPECT_EQ(with([](TemporalHeadConfig& c) {
              c.block_size = 0;
              c.backend = aether::Backend::Dense;
            }),
            Errc::invalid_config);
  EXPECT_EQ(with([](TemporalHeadConfig& c) {
              c.q_heads = 8;
              c.kv_heads = 2;
            }),
            Errc::ok);
}

TEST(TemporalHead, StepErrors) {
  for (auto backend : {aether::Backend::SparseGqa, aether::Backend::Dense}) {
    auto hc = TemporalHeadConfig::aether_default();
    hc.backend = backend;
    const TemporalHead<float> head(hc);
    auto cache = head.make_cache(4);
    const Tensor3<float> q1(1, 4, 32), k1(1, 1, 32), v1(1, 1, 32);
    const Tensor3<float> q2(2, 4, 32), k2(2, 1, 32), v2(2, 1, 32);
    // Multi-token input.
    EXPECT_EQ(error_code_of([&] { head.step(q2, k2, v2, cache); }), Errc::invalid_argument);
    EXPECT_EQ(error_code_of([&] { head.step(q2, k1, v1, cache); }), Errc::invalid_argument);
    EXPECT_EQ(error_code_of([&] { head.step(q1, k2, v1, cache); }), Errc::invalid_argument);
    EXPECT_EQ(error_code_of([&] { head.step(q1, k1, v2, cache); }), Errc::invalid_argument);
    EXPECT_EQ(cache.size(), 0u);
    // Shapes off the configuration.
    EXPECT_EQ(error_code_of([&] { head.step(Tensor3<float>(1, 2, 32), k1, v1, cache); }), Errc::shape_mismatch);
    EXPECT_EQ(error_code_of([&] { head.step(q1, Tensor3<float>(1, 2, 32), Tensor3<float>(1, 2, 32), cache); }),
              Errc::shape_mismatch);
    EXPECT_EQ(error_code_of([&] { head.step(Tensor3<float>(1, 4, 16), k1, v1, cache); }), Errc::shape_mismatch);
    EXPECT_EQ(error_code_of([&] { head.step(q1, Tensor3<float>(1, 1, 16), v1, cache); }), Errc::shape_mismatch);
    EXPECT_EQ(error_code_of([&] { head.step(q1, k1, Tensor3<float>(1, 1, 16), cache); }), Errc::shape_mismatch);
    // A cache that does not match the head.
    KvCache<float> wrong_dim(4, 1, 16, 16), wrong_heads(4, 2, 32, 16), wrong_block(4, 1, 32, 8);
    EXPECT_EQ(error_code_of([&] { head.step(q1, k1, v1, wrong_dim); }), Errc::shape_mismatch);
    EXPECT_EQ(error_code_of([&] { head.step(q1, k1, v1, wrong_heads); }), Errc::shape_mismatch);
    EXPECT_EQ(error_code_of([&] { head.step(q1, k1, v1, wrong_block); }), Errc::shape_mismatch);
    EXPECT_EQ(wrong_dim.size() + wrong_heads.size() + wrong_block.size(), 0u) << "nothing appended on error";
    // Caller view of the wrong shape: nothing appended.
    aether::Workspace<float> ws;
    Tensor3<float> bad_out(1, 1, 32);
    EXPECT_EQ(error_code_of([&] { head.step(q1, k1, v1, cache, bad_out.view(), ws); }), Errc::shape_mismatch);
    EXPECT_EQ(cache.size(), 0u);
    // Full cache: cache_full, cache unchanged.
    for (int t = 0; t < 4; ++t) head.step(q1, k1, v1, cache);
    EXPECT_EQ(error_code_of([&] { head.step(q1, k1, v1, cache); }), Errc::cache_full);
    EXPECT_EQ(cache.size(), 4u);
  }
}

TEST(TemporalHead, ForwardShapeErrors) {
  const TemporalHead<float> head(TemporalHeadConfig::aether_default());
  const Tensor3<float> q(5, 4, 32), k(5, 1, 32), v(5, 1, 32);
  EXPECT_EQ(error_code_of([&] { head.forward(q, k, v); }), Errc::ok);
  EXPECT_EQ(error_code_of([&] { head.forward(Tensor3<float>(5, 8, 32), k, v); }), Errc::shape_mismatch);
  EXPECT_EQ(error_code_of([&] { head.forward(q, Tensor3<float>(5, 2, 32), Tensor3<float>(5, 2, 32)); }),
            Errc::shape_mismatch);
  EXPECT_EQ(error_code_of([&] { head.forward(Tensor3<float>(5, 4, 16), Tensor3<float>(5, 1, 16),
                                             Tensor3<float>(5, 1, 16)); }),
            Errc::shape_mismatch);
  EXPECT_EQ(error_code_of([&] { head.forward(Tensor3<float>(4, 4, 32), k, v); }), Errc::shape_mismatch);
}

}  // namespace

}  // namespace streaming_test
