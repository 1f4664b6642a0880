// dense_attention (dense_attention.hpp) against a naive float64 reference
// written in the test (reference_attention.hpp): causal and bidirectional,
// MHA/GQA/MQA, odd head dims, sequence lengths across the 64-query and
// 128-key tiles; empty and single-token sequences; NaN isolation; shape errors.
//
// Tolerances (inputs uniform in [-1, 1]):
// - float:  max abs error <= 1e-5 against float64, the SEMANTICS.md bound;
//           <= 5e-4 when scores reach several hundred (inputs scaled by 30).
// - double: max abs error <= 1e-12 (the kernel and the reference differ only
//           in summation order, ~n * eps = 300 * 1.1e-16).
#include "reference_attention.hpp"
#include "test_support.hpp"

#include <aether/dense_attention.hpp>
#include <aether/error.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace dense_attention_test {

namespace {

using aether_test::error_code_of;

using aether::Errc;
using aether::Tensor3;
using aether::Tensor3View;
using aether_ref::max_diff;
using aether_ref::random_tensor;


struct DenseCase {
  std::size_t n, q_heads, kv_heads, dim;
  bool causal;
};

std::string case_name(const DenseCase& c) {
  std::ostringstream os;
  os << "n" << c.n << "_q" << c.q_heads << "kv" << c.kv_heads << "_d" << c.dim << (c.causal ? "_causal" : "_bidir");
  return os.str();
}

void PrintTo(const DenseCase& c, std::ostream* os) { *os << case_name(c); }

std::vector<DenseCase> dense_cases() {
  std::vector<DenseCase> out;
  for (std::size_t n : {1u, 2u, 5u, 63u, 64u, 65u, 127u, 128u, 129u, 191u, 300u})
    for (auto heads : {std::pair<std::size_t, std::size_t>{2, 2}, {4, 2}, {3, 1}})
      for (std::size_t d : {5u, 16u, 33u})
        for (bool causal : {true, false}) out.push_back({n, heads.first, heads.second, d, causal});
  return out;
}

class DenseVsReference : public ::testing::TestWithParam<DenseCase> {};

TEST_P(DenseVsReference, FloatWithin1e5) {
  const DenseCase c = GetParam();
  const auto seed = static_cast<std::uint32_t>(c.n * 1000 + c.q_heads * 100 + c.kv_heads * 10 + c.dim);
  const auto q = random_tensor<float>(c.n, c.q_heads, c.dim, seed);
  const auto k = random_tensor<float>(c.n, c.kv_heads, c.dim, seed + 1);
  const auto v = random_tensor<float>(c.n, c.kv_heads, c.dim, seed + 2);
  const auto out = aether::dense_attention(q, k, v, c.causal);
  ASSERT_EQ(out.seq(), c.n);
  ASSERT_EQ(out.heads(), c.q_heads);
  ASSERT_EQ(out.dim(), c.dim);
  const auto ref = aether_ref::reference_dense<float>(q, k, v, c.causal);
  const auto diff = max_diff(out, ref);
  EXPECT_LE(diff.max, 1e-5) << case_name(c) << ": " << diff.str();
}

TEST_P(DenseVsReference, DoubleWithin1e12) {
  const DenseCase c = GetParam();
  const auto seed = static_cast<std::uint32_t>(c.n * 7 + c.dim);
  const auto q = random_tensor<double>(c.n, c.q_heads, c.dim, seed);
  const auto k = random_tensor<double>(c.n, c.kv_heads, c.dim, seed + 1);
  const auto v = random_tensor<double>(c.n, c.kv_heads, c.dim, seed + 2);
  const auto out = aether::dense_attention(q, k, v, c.causal);
  const auto ref = aether_ref::reference_dense<double>(q, k, v, c.causal);
  const auto diff = max_diff(out, ref);
  EXPECT_LE(diff.max, 1e-12) << case_name(c) << ": " << diff.str();
}

INSTANTIATE_TEST_SUITE_P(Shapes, DenseVsReference, ::testing::ValuesIn(dense_cases()),
                         [](const ::testing::TestParamInfo<DenseCase>& p) { return case_name(p.param); });

TEST(DenseAttention, HotScoresWithin5e4) {
  for (bool causal : {true, false}) {
    const auto q = random_tensor<float>(150, 2, 16, 91, 30.0);
    const auto k = random_tensor<float>(150, 2, 16, 92, 30.0);
    const auto v = random_tensor<float>(150, 2, 16, 93);
    const auto out = aether::dense_attention(q, k, v, causal);
    const auto diff = max_diff(out, aether_ref::reference_dense<float>(q, k, v, causal));
    EXPECT_LE(diff.max, 5e-4) << (causal ? "causal " : "bidir ") << diff.str();
  }
}

TEST(DenseAttention, EmptySequence) {
  const Tensor3<float> q(0, 4, 8), k(0, 2, 8), v(0, 2, 8);
  for (bool causal : {true, false}) {
    const auto out = aether::dense_attention(q, k, v, causal);
    EXPECT_EQ(out.seq(), 0u);
    EXPECT_EQ(out.heads(), 4u);
    EXPECT_EQ(out.dim(), 8u);
    EXPECT_EQ(out.size(), 0u);
  }
}

TEST(DenseAttention, SingleTokenReturnsItsValueRow) {
  // One key: softmax weight exactly 1, so the output is the value row exactly.
  const auto q = random_tensor<float>(1, 6, 7, 3);
  const auto k = random_tensor<float>(1, 2, 7, 4);
  const auto v = random_tensor<float>(1, 2, 7, 5);
  for (bool causal : {true, false}) {
    const auto out = aether::dense_attention(q, k, v, causal);
    ASSERT_EQ(out.seq(), 1u);
    for (std::size_t h = 0; h < 6; ++h)
      for (std::size_t d = 0; d < 7; ++d) EXPECT_EQ(out(0, h, d), v(0, h / 3, d)) << "h=" << h << " d=" << d;
  }
}

TEST(DenseAttention, FirstCausalRowIsFirstValue) {
  const auto q = random_tensor<float>(200, 2, 16, 13);
  const auto k = random_tensor<float>(200, 2, 16, 14);
  const auto v = random_tensor<float>(200, 2, 16, 15);
  const auto out = aether::dense_attention(q, k, v, /*causal=*/true);
  for (std::size_t h = 0; h < 2; ++h)
    for (std::size_t d = 0; d < 16; ++d) EXPECT_EQ(out(0, h, d), v(0, h, d));
}

TEST(DenseAttention, GqaEqualsMhaWithRepeatedKv) {
  for (bool causal : {true, false}) {
    const auto q = random_tensor<float>(140, 6, 16, 21);
    const auto k = random_tensor<float>(140, 2, 16, 22);
    const auto v = random_tensor<float>(140, 2, 16, 23);
    const auto gqa = aether::dense_attention(q, k, v, causal);
    const auto k3 = aether_ref::repeat_heads<float>(k, 3), v3 = aether_ref::repeat_heads<float>(v, 3);
    const auto mha = aether::dense_attention(q, k3, v3, causal);
    const auto diff = max_diff(gqa, mha);
    EXPECT_LE(diff.max, 1e-6) << diff.str();
  }
}

TEST(DenseAttention, WritesIntoCallerView) {
  const auto q = random_tensor<float>(70, 2, 8, 31);
  const auto k = random_tensor<float>(70, 1, 8, 32);
  const auto v = random_tensor<float>(70, 1, 8, 33);
  Tensor3<float> out(70, 2, 8);
  aether::dense_attention<float>(q, k, v, out.view(), /*causal=*/true);
  const auto ret = aether::dense_attention(q, k, v, /*causal=*/true);
  EXPECT_EQ(aether_ref::bit_mismatch<float>(out, ret), "");
}

// --- NaN isolation ---------------------------------------------------------

void expect_row_nan(const Tensor3<float>& out, std::size_t t, std::size_t h) {
  for (std::size_t d = 0; d < out.dim(); ++d) EXPECT_TRUE(std::isnan(out(t, h, d))) << "t=" << t << " h=" << h;
}

TEST(DenseAttention, NanInOneQueryRowLeavesOtherRowsBitIdentical) {
  for (auto heads : {std::pair<std::size_t, std::size_t>{2, 2}, {4, 1}})
    for (bool causal : {true, false}) {
      const std::size_t n = 150, qh = heads.first, kvh = heads.second, d = 16;
      auto q = random_tensor<float>(n, qh, d, 41);
      const auto k = random_tensor<float>(n, kvh, d, 42);
      const auto v = random_tensor<float>(n, kvh, d, 43);
      const auto clean = aether::dense_attention(q, k, v, causal);
      q(70, 1, 3) = std::numeric_limits<float>::quiet_NaN();
      const auto dirty = aether::dense_attention(q, k, v, causal);
      expect_row_nan(dirty, 70, 1);
      for (std::size_t t = 0; t < n; ++t)
        for (std::size_t h = 0; h < qh; ++h) {
          if (t == 70 && h == 1) continue;
          ASSERT_EQ(0, std::memcmp(&clean(t, h, 0), &dirty(t, h, 0), d * sizeof(float)))
              << "row (" << t << ", " << h << ") changed; q_heads " << qh << " causal " << causal;
        }
    }
}

TEST(DenseAttention, CausalNanValueOnlyReachesLaterRows) {
  // SEMANTICS: NaN propagates to the affected rows only. With causal
  // attention, the value of token j affects rows i >= j only.
  const std::size_t n = 150, d = 16, j = 100;
  const auto q = random_tensor<float>(n, 2, d, 51);
  const auto k = random_tensor<float>(n, 2, d, 52);
  auto v = random_tensor<float>(n, 2, d, 53);
  const auto clean = aether::dense_attention(q, k, v, /*causal=*/true);
  v(j, 0, 5) = std::numeric_limits<float>::quiet_NaN();
  const auto dirty = aether::dense_attention(q, k, v, /*causal=*/true);
  for (std::size_t t = 0; t < n; ++t) {
    if (t < j) {
      EXPECT_EQ(0, std::memcmp(&clean(t, 0, 0), &dirty(t, 0, 0), d * sizeof(float)))
          << "row t=" << t << " < " << j << " does not attend token " << j << " but changed (d=5: "
          << clean(t, 0, 5) << " -> " << dirty(t, 0, 5) << ")";
    } else {
      EXPECT_TRUE(std::isnan(dirty(t, 0, 5))) << "t=" << t;
    }
    EXPECT_EQ(0, std::memcmp(&clean(t, 1, 0), &dirty(t, 1, 0), d * sizeof(float))) << "head 1 row t=" << t;
  }
}

TEST(DenseAttention, CausalInfKeyOnlyReachesLaterRows) {
  const std::size_t n = 150, d = 16, j = 90;
  const auto q = random_tensor<float>(n, 1, d, 61);
  auto k = random_tensor<float>(n, 1, d, 62);
  const auto v = random_tensor<float>(n, 1, d, 63);
  const auto clean = aether::dense_attention(q, k, v, /*causal=*/true);
  k(j, 0, 2) = std::numeric_limits<float>::infinity();
  const auto dirty = aether::dense_attention(q, k, v, /*causal=*/true);
  for (std::size_t t = 0; t < j; ++t) {
    EXPECT_EQ(0, std::memcmp(&clean(t, 0, 0), &dirty(t, 0, 0), d * sizeof(float))) << "row t=" << t;
  }
}

// --- shape errors ------------------------------------------------------------

TEST(DenseAttention, ShapeErrors) {
  const Tensor3<float> q(8, 4, 16), k(8, 2, 16), v(8, 2, 16);
  EXPECT_EQ(error_code_of([&] { aether::dense_attention(q, k, v, true); }), Errc::ok);
  // q/k sequence mismatch
  EXPECT_EQ(error_code_of([&] { aether::dense_attention(Tensor3<float>(7, 4, 16), k, v, true); }), Errc::shape_mismatch);
  // k/v sequence mismatch
  EXPECT_EQ(error_code_of([&] { aether::dense_attention(q, k, Tensor3<float>(9, 2, 16), true); }), Errc::shape_mismatch);
  // dim mismatch (q vs k, k vs v)
  EXPECT_EQ(error_code_of([&] { aether::dense_attention(Tensor3<float>(8, 4, 15), k, v, true); }), Errc::shape_mismatch);
  EXPECT_EQ(error_code_of([&] { aether::dense_attention(q, k, Tensor3<float>(8, 2, 8), false); }), Errc::shape_mismatch);
  // k/v heads differ
  EXPECT_EQ(error_code_of([&] { aether::dense_attention(q, k, Tensor3<float>(8, 1, 16), true); }), Errc::shape_mismatch);
  // q_heads not divisible by kv_heads
  EXPECT_EQ(error_code_of([&] { aether::dense_attention(Tensor3<float>(8, 3, 16), k, v, true); }), Errc::shape_mismatch);
  // kv_heads 0
  EXPECT_EQ(error_code_of([&] {
              aether::dense_attention(q, Tensor3<float>(8, 0, 16), Tensor3<float>(8, 0, 16), true);
            }),
            Errc::shape_mismatch);
  // q_heads 0
  EXPECT_EQ(error_code_of([&] { aether::dense_attention(Tensor3<float>(8, 0, 16), k, v, true); }), Errc::shape_mismatch);
  // dim 0
  EXPECT_EQ(error_code_of([&] {
              aether::dense_attention(Tensor3<float>(8, 4, 0), Tensor3<float>(8, 2, 0), Tensor3<float>(8, 2, 0), true);
            }),
            Errc::shape_mismatch);
  // caller view of the wrong shape
  Tensor3<float> bad_out(8, 2, 16);
  EXPECT_EQ(error_code_of([&] { aether::dense_attention<float>(q, k, v, bad_out.view(), true); }), Errc::shape_mismatch);
  // empty q with non-empty k is still a seq mismatch
  EXPECT_EQ(error_code_of([&] { aether::dense_attention(Tensor3<float>(0, 4, 16), k, v, true); }), Errc::shape_mismatch);
}

}  // namespace

}  // namespace dense_attention_test
