// SparseAttention (sparse_attention.hpp): the properties of SEMANTICS.md,
// checked against the independent float64 brute force of the pattern in
// reference_attention.hpp and against dense attention where they coincide.
//
// Tolerances (inputs uniform in [-1, 1]): float <= 1e-5 against float64
// (SEMANTICS.md), <= 5e-4 for hot scores; double <= 1e-12.
#include "reference_attention.hpp"
#include "test_support.hpp"

#include <aether/dense_attention.hpp>
#include <aether/error.hpp>
#include <aether/kv_cache.hpp>
#include <aether/sparse_attention.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace sparse_attention_test {

namespace {

using aether_test::error_code_of;

using aether::Errc;
using aether::SparseAttention;
using aether::SparseConfig;
using aether::Tensor3;
using aether_ref::bit_mismatch;
using aether_ref::max_diff;
using aether_ref::random_tensor;


SparseConfig make_cfg(std::size_t window, std::size_t block, std::vector<std::size_t> globals, bool causal,
                      bool log_stride = true, bool landmarks = true) {
  SparseConfig c;
  c.window = window;
  c.block_size = block;
  c.global_tokens = std::move(globals);
  c.causal = causal;
  c.log_stride = log_stride;
  c.landmarks = landmarks;
  return c;
}

std::string describe(const SparseConfig& c) {
  std::ostringstream os;
  os << "W=" << c.window << " B=" << c.block_size << " causal=" << c.causal << " log=" << c.log_stride
     << " lm=" << c.landmarks << " G={";
  for (auto g : c.global_tokens) os << g << ",";
  os << "}";
  return os.str();
}

struct Inputs {
  Tensor3<float> q, k, v;
};
Inputs make_inputs(std::size_t n, std::size_t qh, std::size_t kvh, std::size_t d, std::uint32_t seed,
                   double scale = 1.0) {
  return {random_tensor<float>(n, qh, d, seed, scale), random_tensor<float>(n, kvh, d, seed + 1, scale),
          random_tensor<float>(n, kvh, d, seed + 2)};
}

// --- saturated pattern == causal dense ------------------------------------

TEST(SparseAttention, SaturatedPatternEqualsCausalDense) {
  for (std::size_t n : {1u, 2u, 17u, 64u, 130u})
    for (auto heads : {std::pair<std::size_t, std::size_t>{2, 2}, {4, 2}, {4, 1}}) {
      const auto in = make_inputs(n, heads.first, heads.second, 16, static_cast<std::uint32_t>(n + heads.first));
      // W >= n-1 and B > n: every j <= i, no complete block.
      for (const auto& cfg : {make_cfg(n, n + 1, {0}, true), make_cfg(n - 1, 2 * n + 5, {0, 3, n + 9}, true),
                              make_cfg(n + 100, n + 1, {}, true, false, true)}) {
        const auto sparse = SparseAttention<float>(cfg).forward(in.q, in.k, in.v);
        const auto dense = aether::dense_attention(in.q, in.k, in.v, /*causal=*/true);
        const auto diff = max_diff(sparse, dense);
        EXPECT_LE(diff.max, 1e-5) << "n=" << n << " " << describe(cfg) << ": " << diff.str();
      }
    }
}

TEST(SparseAttention, BlockEqualToNDiffersFromDenseOnlyInLastRow) {
  // SEMANTICS: with B == n the last row gains one landmark (case sparse_saturated).
  const std::size_t n = 32;
  const auto in = make_inputs(n, 2, 2, 16, 77);
  const auto sparse = SparseAttention<float>(make_cfg(n, n, {0}, true)).forward(in.q, in.k, in.v);
  const auto dense = aether::dense_attention(in.q, in.k, in.v, true);
  EXPECT_LE(max_diff(aether::Tensor3View<const float>(sparse).slice(0, n - 1),
                     aether::Tensor3View<const float>(dense).slice(0, n - 1))
                .max,
            1e-5);
  EXPECT_GT(max_diff(aether::Tensor3View<const float>(sparse).slice(n - 1, 1),
                     aether::Tensor3View<const float>(dense).slice(n - 1, 1))
                .max,
            1e-5)
      << "the last row should include the landmark of the single complete block";
}

// --- window-only == band-masked dense ----------------------------------------

TEST(SparseAttention, WindowOnlyEqualsBandMaskedDense) {
  for (bool causal : {true, false})
    for (std::size_t w : {0u, 1u, 5u, 40u})
      for (std::size_t n : {1u, 9u, 100u}) {
        const auto in = make_inputs(n, 4, 2, 8, static_cast<std::uint32_t>(w * 31 + n));
        const auto cfg = make_cfg(w, 16, {}, causal, /*log_stride=*/false, /*landmarks=*/false);
        // Band mask computed here, independently of the pattern code.
        auto band = [&](std::size_t i) {
          aether_ref::RefCandidates c;
          for (std::size_t j = 0; j < n; ++j) {
            const bool left = j <= i && i - j <= w;
            const bool right = !causal && j > i && j - i <= w;
            if (left || right) c.tokens.insert(j);
          }
          return c;
        };
        const auto ref = aether_ref::reference_attention<float>(in.q, in.k, in.v, band, 0);
        const auto got = SparseAttention<float>(cfg).forward(in.q, in.k, in.v);
        const auto diff = max_diff(got, ref);
        EXPECT_LE(diff.max, 1e-5) << "n=" << n << " " << describe(cfg) << ": " << diff.str();

        const auto qd = aether_ref::cast_tensor<double, float>(in.q), kd = aether_ref::cast_tensor<double, float>(in.k),
                   vd = aether_ref::cast_tensor<double, float>(in.v);
        const auto got_d = SparseAttention<double>(cfg).forward(qd, kd, vd);
        const auto diff_d = max_diff(got_d, ref);
        EXPECT_LE(diff_d.max, 1e-12) << "double n=" << n << " " << describe(cfg) << ": " << diff_d.str();
      }
}

// --- empty and single-token sequences ---------------------------------------

TEST(SparseAttention, EmptySequence) {
  for (bool causal : {true, false}) {
    const Tensor3<float> q(0, 4, 8), k(0, 1, 8), v(0, 1, 8);
    const auto out = SparseAttention<float>(make_cfg(4, 2, {0}, causal)).forward(q, k, v);
    EXPECT_EQ(out.seq(), 0u);
    EXPECT_EQ(out.heads(), 4u);
    EXPECT_EQ(out.dim(), 8u);
    const auto gated = SparseAttention<float>(make_cfg(4, 2, {0}, causal)).forward_gated(q, k, v, {});
    EXPECT_EQ(gated.seq(), 0u);
    EXPECT_EQ(gated.heads(), 4u);
  }
}

TEST(SparseAttention, SingleTokenReturnsItsValueRow) {
  // One token (and, with B = 1 causal, one landmark equal to it): the output is v exactly.
  const auto in = make_inputs(1, 4, 2, 7, 5);
  for (const auto& cfg : {make_cfg(16, 32, {0}, true), make_cfg(0, 1, {0, 9}, true), make_cfg(3, 1, {}, false),
                          make_cfg(0, 1, {}, false, false, false)}) {
    const auto out = SparseAttention<float>(cfg).forward(in.q, in.k, in.v);
    ASSERT_EQ(out.seq(), 1u);
    for (std::size_t h = 0; h < 4; ++h)
      for (std::size_t d = 0; d < 7; ++d) EXPECT_EQ(out(0, h, d), in.v(0, h / 2, d)) << describe(cfg);
  }
}

// --- several head passes without a landmark buffer -----------------------------

TEST(SparseAttention, SeveralHeadPassesWithoutLandmarksMatchFloat64) {
  // Heads run in passes of up to 4 rows; a pass after the first reads kv
  // heads at a non-zero offset from kv head 0. With no landmark buffer
  // (causal with n < block_size, or landmarks off) that offset once went to a
  // null landmark pointer (UB reported by clang's UBSan, issue 13). Shapes:
  // q/kv heads 3/3, 8/8, 8/2 (several passes), 4/4 and 4/1 (one pass) for
  // contrast; d 16 (fixed-size path) and 7 (run-time path).
  struct Heads {
    std::size_t q, kv;
  };
  for (const Heads h : {Heads{3, 3}, Heads{8, 8}, Heads{8, 2}, Heads{4, 4}, Heads{4, 1}})
    for (std::size_t d : {16u, 7u}) {
      // n < block_size, causal: the reproducer when h is 8/2, d 16.
      const auto small = make_inputs(6, h.q, h.kv, d, static_cast<std::uint32_t>(h.q * 10 + h.kv + d));
      const auto causal = make_cfg(16, 8, {}, true);
      const auto got = SparseAttention<float>(causal).forward(small.q, small.k, small.v);
      const auto ref = aether_ref::reference_sparse<float>(causal, small.q, small.k, small.v);
      EXPECT_LE(max_diff(got, ref).max, 1e-5) << "q" << h.q << "/kv" << h.kv << " d=" << d << " " << describe(causal);
      // The window covers all 6 tokens: also causal dense.
      EXPECT_LE(max_diff(got, aether::dense_attention(small.q, small.k, small.v, true)).max, 1e-5);
      // Landmarks off, any n, both directions.
      const auto in = make_inputs(70, h.q, h.kv, d, static_cast<std::uint32_t>(h.q * 20 + h.kv + d));
      for (bool c : {true, false}) {
        const auto off = make_cfg(8, 8, {0}, c, true, /*landmarks=*/false);
        const auto diff = max_diff(SparseAttention<float>(off).forward(in.q, in.k, in.v),
                                   aether_ref::reference_sparse<float>(off, in.q, in.k, in.v));
        EXPECT_LE(diff.max, 1e-5) << "q" << h.q << "/kv" << h.kv << " d=" << d << " " << describe(off) << ": "
                                  << diff.str();
      }
    }
}

// --- GQA ------------------------------------------------------------------

TEST(SparseAttention, GqaEqualsMhaWithRepeatedKv) {
  // Same candidates, same key/value rows and landmark means; what differs is
  // one summation order: query heads that share a kv head score their
  // window 16 positions at a time from the transposed keys (one sequential
  // sum per score), while MHA heads use per-key dot products. The results
  // therefore agree to float rounding, not bit for bit. W=8 non-causal (17
  // window positions) exercises the vectorised chunk, causal (9) does not.
  for (bool causal : {true, false})
    for (std::size_t d : {16u, 7u}) {
      const auto in = make_inputs(150, 6, 2, d, static_cast<std::uint32_t>(11 + d + causal));
      const auto cfg = make_cfg(8, 8, {0, 70}, causal);
      const SparseAttention<float> attn(cfg);
      const auto gqa = attn.forward(in.q, in.k, in.v);
      const auto mha = attn.forward(in.q, aether_ref::repeat_heads<float>(in.k, 3),
                                    aether_ref::repeat_heads<float>(in.v, 3));
      EXPECT_LE(aether_ref::max_diff(gqa, mha).max, 1e-6) << "d=" << d << " " << describe(cfg);
      // MQA too.
      const auto k1 = random_tensor<float>(150, 1, d, 3), v1 = random_tensor<float>(150, 1, d, 4);
      const auto mqa = attn.forward(in.q, k1, v1);
      const auto mha1 = attn.forward(in.q, aether_ref::repeat_heads<float>(k1, 6), aether_ref::repeat_heads<float>(v1, 6));
      EXPECT_LE(aether_ref::max_diff(mqa, mha1).max, 1e-6) << "MQA d=" << d << " " << describe(cfg);
    }
}

// --- precision --------------------------------------------------------------

TEST(SparseAttention, FloatEqualsDoubleWithin1e5) {
  for (bool causal : {true, false}) {
    const auto in = make_inputs(300, 4, 1, 32, 123);
    const auto cfg = make_cfg(16, 32, {0, 150}, causal);
    const auto f = SparseAttention<float>(cfg).forward(in.q, in.k, in.v);
    const auto d = SparseAttention<double>(cfg).forward(aether_ref::cast_tensor<double, float>(in.q),
                                                        aether_ref::cast_tensor<double, float>(in.k),
                                                        aether_ref::cast_tensor<double, float>(in.v));
    const auto diff = max_diff(f, d);
    EXPECT_LE(diff.max, 1e-5) << describe(cfg) << ": " << diff.str();
    const auto ref = aether_ref::reference_sparse<float>(cfg, in.q, in.k, in.v);
    EXPECT_LE(max_diff(d, ref).max, 1e-12) << "double kernel vs float64 reference: " << max_diff(d, ref).str();
  }
}

TEST(SparseAttention, HotScoresWithin5e4) {
  for (bool causal : {true, false}) {
    const auto in = make_inputs(128, 2, 2, 16, 314, 30.0);
    const auto cfg = make_cfg(8, 8, {0}, causal);
    const auto got = SparseAttention<float>(cfg).forward(in.q, in.k, in.v);
    const auto diff = max_diff(got, aether_ref::reference_sparse<float>(cfg, in.q, in.k, in.v));
    EXPECT_LE(diff.max, 5e-4) << describe(cfg) << ": " << diff.str();
  }
}

// --- head dims: specialised (16/32/64/128) and generic paths ------------------

struct DimCase {
  std::size_t dim;
  bool causal;
  std::size_t q_heads, kv_heads;
};

void PrintTo(const DimCase& c, std::ostream* os) {
  *os << "d=" << c.dim << " causal=" << c.causal << " q_heads=" << c.q_heads << " kv_heads=" << c.kv_heads;
}

class SparseDims : public ::testing::TestWithParam<DimCase> {};

TEST_P(SparseDims, MatchesFloat64BruteForce) {
  const DimCase c = GetParam();
  const std::size_t n = 97;
  const auto in = make_inputs(n, c.q_heads, c.kv_heads, c.dim, static_cast<std::uint32_t>(c.dim * 3 + c.causal));
  for (const auto& cfg : {make_cfg(8, 8, {0, 50, 50, 500}, c.causal), make_cfg(3, 5, {}, c.causal, true, false),
                          make_cfg(0, 1, {7}, c.causal), make_cfg(16, 32, {0}, c.causal, false, true)}) {
    const auto got = SparseAttention<float>(cfg).forward(in.q, in.k, in.v);
    const auto diff = max_diff(got, aether_ref::reference_sparse<float>(cfg, in.q, in.k, in.v));
    EXPECT_LE(diff.max, 1e-5) << "d=" << c.dim << " " << describe(cfg) << ": " << diff.str();
  }
  // Gated with a random mask.
  std::vector<std::uint8_t> keep(n);
  for (std::size_t j = 0; j < n; ++j) keep[j] = static_cast<std::uint8_t>((j * 7 + 3) % 5 < 2);
  const auto cfg = make_cfg(4, 8, {0, 60}, c.causal);
  const auto got = SparseAttention<float>(cfg).forward_gated(in.q, in.k, in.v, keep);
  const auto diff = max_diff(got, aether_ref::reference_sparse<float>(cfg, in.q, in.k, in.v, keep.data()));
  EXPECT_LE(diff.max, 1e-5) << "gated d=" << c.dim << ": " << diff.str();
}

std::vector<DimCase> dim_cases() {
  std::vector<DimCase> out;
  for (std::size_t d : {16u, 32u, 64u, 128u, 24u, 7u, 1u})
    for (bool causal : {true, false}) {
      out.push_back({d, causal, 2, 2});
      out.push_back({d, causal, 4, 1});
    }
  return out;
}

INSTANTIATE_TEST_SUITE_P(HeadDims, SparseDims, ::testing::ValuesIn(dim_cases()),
                         [](const ::testing::TestParamInfo<DimCase>& p) {
                           return "d" + std::to_string(p.param.dim) + (p.param.causal ? "_causal" : "_bidir") + "_q" +
                                  std::to_string(p.param.q_heads) + "kv" + std::to_string(p.param.kv_heads);
                         });

// --- NaN isolation ------------------------------------------------------------

TEST(SparseAttention, NanInOneQueryRowLeavesOtherRowsBitIdentical) {
  for (bool causal : {true, false})
    for (auto heads : {std::pair<std::size_t, std::size_t>{2, 2}, {4, 1}}) {
      const std::size_t n = 120, d = 16;
      auto in = make_inputs(n, heads.first, heads.second, d, 99);
      const SparseAttention<float> attn(make_cfg(8, 8, {0}, causal));
      const auto clean = attn.forward(in.q, in.k, in.v);
      in.q(60, 1, 4) = std::numeric_limits<float>::quiet_NaN();
      const auto dirty = attn.forward(in.q, in.k, in.v);
      for (std::size_t x = 0; x < d; ++x) EXPECT_TRUE(std::isnan(dirty(60, 1, x))) << "NaN row must be NaN";
      for (std::size_t t = 0; t < n; ++t)
        for (std::size_t h = 0; h < heads.first; ++h) {
          if (t == 60 && h == 1) continue;
          ASSERT_EQ(0, std::memcmp(&clean(t, h, 0), &dirty(t, h, 0), d * sizeof(float)))
              << "row (" << t << ", " << h << ") changed, causal=" << causal;
        }
    }
}

TEST(SparseAttention, NanValueReachesOnlyRowsThatSeeIt) {
  // Token j's value enters row i iff j is in T(i) or j's block is in L(i).
  for (bool causal : {true, false}) {
    const std::size_t n = 130, d = 8, j = 70, B = 8;
    auto in = make_inputs(n, 2, 1, d, 7);
    const auto cfg = make_cfg(4, B, {0}, causal);
    const SparseAttention<float> attn(cfg);
    const auto clean = attn.forward(in.q, in.k, in.v);
    in.v(j, 0, 3) = std::numeric_limits<float>::quiet_NaN();
    const auto dirty = attn.forward(in.q, in.k, in.v);
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = aether_ref::brute_candidates(cfg, i, n);
      const bool sees = c.tokens.count(j) != 0 || c.blocks.count(j / B) != 0;
      for (std::size_t h = 0; h < 2; ++h) {
        if (sees) {
          EXPECT_TRUE(std::isnan(dirty(i, h, 3))) << "i=" << i;
        } else {
          EXPECT_EQ(0, std::memcmp(&clean(i, h, 0), &dirty(i, h, 0), d * sizeof(float)))
              << "row " << i << " does not see token " << j << " but changed, causal=" << causal;
        }
      }
    }
  }
}

// --- globals -------------------------------------------------------------------

TEST(SparseAttention, DuplicateAndOutOfRangeGlobalsAreHarmless) {
  const std::size_t n = 90;
  const auto in = make_inputs(n, 4, 2, 16, 55);
  for (bool causal : {true, false}) {
    const auto messy = make_cfg(4, 8, {40, 0, 40, n, n + 7, 1000000, 0, 5, 40}, causal);
    const auto clean = make_cfg(4, 8, {0, 5, 40}, causal);
    const SparseAttention<float> a(messy), b(clean);
    EXPECT_EQ(a.count_edges(n), b.count_edges(n));
    EXPECT_EQ(bit_mismatch<float>(a.forward(in.q, in.k, in.v), b.forward(in.q, in.k, in.v)), "");
    const std::vector<std::uint8_t> keep(n, 0);
    EXPECT_EQ(bit_mismatch<float>(a.forward_gated(in.q, in.k, in.v, keep), b.forward_gated(in.q, in.k, in.v, keep)),
              "");
  }
}

// --- gated ----------------------------------------------------------------------

TEST(SparseAttention, GatedWithAllOnesEqualsForward) {
  for (bool causal : {true, false})
    for (std::size_t d : {16u, 9u}) {
      const std::size_t n = 140;
      const auto in = make_inputs(n, 4, 2, d, 66);
      const SparseAttention<float> attn(make_cfg(8, 16, {0, 3}, causal));
      const std::vector<std::uint8_t> ones(n, 1), twos(n, 2);
      const auto fwd = attn.forward(in.q, in.k, in.v);
      EXPECT_EQ(bit_mismatch<float>(attn.forward_gated(in.q, in.k, in.v, ones), fwd), "");
      EXPECT_EQ(bit_mismatch<float>(attn.forward_gated(in.q, in.k, in.v, twos), fwd), "") << "any non-zero keeps";
    }
}

TEST(SparseAttention, GatedAllZerosDiffersWhenLogStrideTokensExist) {
  const std::size_t n = 100;
  const auto in = make_inputs(n, 2, 2, 16, 67);
  const SparseAttention<float> attn(make_cfg(2, 16, {}, true));
  const auto fwd = attn.forward(in.q, in.k, in.v);
  const auto gated = attn.forward_gated(in.q, in.k, in.v, std::vector<std::uint8_t>(n, 0));
  EXPECT_NE(bit_mismatch<float>(gated, fwd), "") << "the mask must be applied";
}

// --- thread safety -------------------------------------------------------------

TEST(SparseAttention, ConcurrentForwardOnOneObjectEqualsSerial) {
  // SparseAttention is documented immutable/const: calls may run concurrently.
  const auto in = make_inputs(200, 4, 1, 32, 88);
  const SparseAttention<float> attn(make_cfg(16, 16, {0}, true));
  const auto serial = attn.forward(in.q, in.k, in.v);
  std::vector<Tensor3<float>> outs(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < outs.size(); ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep) outs[t] = attn.forward(in.q, in.k, in.v);
    });
  for (auto& th : threads) th.join();
  for (const auto& o : outs) EXPECT_EQ(bit_mismatch<float>(o, serial), "");
}

// --- errors -----------------------------------------------------------------------

TEST(SparseAttention, InvalidShapesAndConfigs) {
  const SparseAttention<float> attn(make_cfg(4, 4, {0}, true));
  const Tensor3<float> q(10, 4, 8), k(10, 2, 8), v(10, 2, 8);
  EXPECT_EQ(error_code_of([&] { attn.forward(q, k, v); }), Errc::ok);
  EXPECT_EQ(error_code_of([&] { attn.forward(Tensor3<float>(9, 4, 8), k, v); }), Errc::shape_mismatch)
      << "q/k seq mismatch";
  EXPECT_EQ(error_code_of([&] { attn.forward(q, k, Tensor3<float>(11, 2, 8)); }), Errc::shape_mismatch)
      << "k/v seq mismatch";
  EXPECT_EQ(error_code_of([&] { attn.forward(Tensor3<float>(10, 4, 7), k, v); }), Errc::shape_mismatch)
      << "q/k dim mismatch";
  EXPECT_EQ(error_code_of([&] { attn.forward(q, k, Tensor3<float>(10, 2, 16)); }), Errc::shape_mismatch)
      << "k/v dim mismatch";
  EXPECT_EQ(error_code_of([&] { attn.forward(q, k, Tensor3<float>(10, 1, 8)); }), Errc::shape_mismatch)
      << "k/v heads mismatch";
  EXPECT_EQ(error_code_of([&] { attn.forward(q, Tensor3<float>(10, 0, 8), Tensor3<float>(10, 0, 8)); }),
            Errc::shape_mismatch)
      << "kv_heads 0";
  EXPECT_EQ(error_code_of([&] { attn.forward(Tensor3<float>(10, 3, 8), k, v); }), Errc::shape_mismatch)
      << "q_heads not divisible";
  EXPECT_EQ(error_code_of([&] { attn.forward(Tensor3<float>(10, 0, 8), k, v); }), Errc::shape_mismatch) << "q_heads 0";
  EXPECT_EQ(error_code_of([&] {
              attn.forward(Tensor3<float>(10, 4, 0), Tensor3<float>(10, 2, 0), Tensor3<float>(10, 2, 0));
            }),
            Errc::shape_mismatch)
      << "dim 0";
  // Caller view of the wrong shape.
  aether::Workspace<float> ws;
  Tensor3<float> out(10, 2, 8);
  EXPECT_EQ(error_code_of([&] { attn.forward(q, k, v, out.view(), ws); }), Errc::shape_mismatch);
  // Gated: keep of the wrong length, and the shape checks still apply.
  EXPECT_EQ(error_code_of([&] { attn.forward_gated(q, k, v, std::vector<std::uint8_t>(9, 1)); }),
            Errc::invalid_argument);
  EXPECT_EQ(error_code_of([&] { attn.forward_gated(q, k, v, std::vector<std::uint8_t>(11, 1)); }),
            Errc::invalid_argument);
  EXPECT_EQ(error_code_of([&] { attn.forward_gated(q, k, v, {}); }), Errc::invalid_argument);
  EXPECT_EQ(error_code_of([&] { attn.forward_gated(Tensor3<float>(9, 4, 8), k, v, std::vector<std::uint8_t>(9, 1)); }),
            Errc::shape_mismatch);
  // Config.
  EXPECT_EQ(error_code_of([&] { SparseAttention<float> bad(make_cfg(4, 0, {0}, true)); }), Errc::invalid_config);
  EXPECT_EQ(error_code_of([&] { SparseAttention<double> bad(make_cfg(4, 0, {}, false)); }), Errc::invalid_config);
}

TEST(SparseAttention, DecodeErrors) {
  const SparseAttention<float> attn(make_cfg(4, 4, {0}, true));
  aether::KvCache<float> cache(8, 2, 8, 4);
  const Tensor3<float> k1(1, 2, 8), v1(1, 2, 8);
  cache.append(k1, v1);
  EXPECT_EQ(error_code_of([&] { attn.decode(Tensor3<float>(1, 4, 8), cache); }), Errc::ok);
  EXPECT_EQ(error_code_of([&] { attn.decode(Tensor3<float>(1, 4, 7), cache); }), Errc::shape_mismatch) << "dim";
  EXPECT_EQ(error_code_of([&] { attn.decode(Tensor3<float>(1, 3, 8), cache); }), Errc::shape_mismatch)
      << "q_heads not divisible";
  EXPECT_EQ(error_code_of([&] { attn.decode(Tensor3<float>(1, 0, 8), cache); }), Errc::shape_mismatch) << "q_heads 0";
  aether::Workspace<float> ws;
  Tensor3<float> out2(2, 4, 8), out1(1, 4, 8), bad_out(1, 2, 8);
  EXPECT_EQ(error_code_of([&] { attn.decode(Tensor3<float>(2, 4, 8), cache, out2.view(), ws); }), Errc::shape_mismatch)
      << "decode takes one token";
  EXPECT_EQ(error_code_of([&] { attn.decode(Tensor3<float>(1, 4, 8), cache, bad_out.view(), ws); }),
            Errc::shape_mismatch)
      << "out shape";
  EXPECT_EQ(error_code_of([&] { attn.decode_batch(Tensor3<float>(2, 4, 8), cache); }), Errc::shape_mismatch)
      << "more queries than cached tokens";
  aether::KvCache<float> other_block(8, 2, 8, 5);
  other_block.append(k1, v1);
  EXPECT_EQ(error_code_of([&] { attn.decode(Tensor3<float>(1, 4, 8), other_block); }), Errc::invalid_config)
      << "cache block_size differs from the config";
}

}  // namespace

}  // namespace sparse_attention_test
