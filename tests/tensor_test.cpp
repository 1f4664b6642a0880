// Tensor3 / Tensor3View / view_of (tensor.hpp): zero initialisation, the
// (t, h, d) layout of SEMANTICS.md, implicit view conversions, zero-copy
// views over Eigen matrices and maps, shape errors, slicing.
#include <aether/dense_attention.hpp>
#include <aether/error.hpp>
#include <aether/tensor.hpp>

#include <gtest/gtest.h>

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "test_support.hpp"

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace tensor_test {

namespace {

using aether_test::error_code_of;

using aether::Errc;
using aether::Tensor3;
using aether::Tensor3View;
using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;


// A non-template function: the implicit conversion must happen at the call.
std::size_t takes_const_view(Tensor3View<const float> v) { return v.size(); }
const float* data_of_const_view(Tensor3View<const float> v) { return v.data(); }

static_assert(std::is_convertible_v<Tensor3<float>&, Tensor3View<const float>>);
static_assert(std::is_convertible_v<const Tensor3<float>&, Tensor3View<const float>>);
static_assert(std::is_convertible_v<Tensor3<float>&, Tensor3View<float>>);
static_assert(std::is_convertible_v<Tensor3View<float>, Tensor3View<const float>>);
static_assert(!std::is_convertible_v<Tensor3View<const float>, Tensor3View<float>>, "const must not drop");
static_assert(!std::is_convertible_v<const Tensor3<float>&, Tensor3View<float>>, "const tensor gives const view");
static_assert(!std::is_convertible_v<Tensor3View<double>, Tensor3View<const float>>, "no cross-type views");

TEST(Tensor3, ZeroInitialised) {
  Tensor3<float> t(3, 4, 5);
  EXPECT_EQ(t.seq(), 3u);
  EXPECT_EQ(t.heads(), 4u);
  EXPECT_EQ(t.dim(), 5u);
  EXPECT_EQ(t.size(), 60u);
  EXPECT_FALSE(t.empty());
  for (std::size_t e = 0; e < t.size(); ++e) ASSERT_EQ(t.data()[e], 0.0f) << e;
  Tensor3<double> d(2, 1, 7);
  for (std::size_t e = 0; e < d.size(); ++e) ASSERT_EQ(d.data()[e], 0.0) << e;
}

TEST(Tensor3, DefaultAndEmptyShapes) {
  Tensor3<float> t;
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.empty());
  Tensor3<float> z(0, 4, 8);
  EXPECT_EQ(z.size(), 0u);
  EXPECT_TRUE(z.empty());
  EXPECT_EQ(z.heads(), 4u);
  EXPECT_EQ(z.dim(), 8u);
  EXPECT_EQ(takes_const_view(z), 0u);
}

TEST(Tensor3, LayoutIsTokenHeadDimRowMajor) {
  const std::size_t S = 3, H = 4, D = 5;
  Tensor3<float> t(S, H, D);
  for (std::size_t s = 0; s < S; ++s)
    for (std::size_t h = 0; h < H; ++h)
      for (std::size_t d = 0; d < D; ++d) t(s, h, d) = static_cast<float>(100 * s + 10 * h + d);
  for (std::size_t s = 0; s < S; ++s)
    for (std::size_t h = 0; h < H; ++h)
      for (std::size_t d = 0; d < D; ++d) {
        const std::size_t off = (s * H + h) * D + d;
        ASSERT_EQ(t.data()[off], static_cast<float>(100 * s + 10 * h + d)) << s << "," << h << "," << d;
        ASSERT_EQ(&t(s, h, d), t.data() + off);
      }
  const Tensor3View<const float> v = t;
  EXPECT_EQ(v.row(2, 3), t.data() + (2 * H + 3) * D);
  EXPECT_EQ(&v(1, 2, 3), t.data() + (1 * H + 2) * D + 3);
  // matrix(): seq x (heads*dim) over the same memory.
  const auto m = t.matrix();
  EXPECT_EQ(m.data(), t.data());
  EXPECT_EQ(m.rows(), 3);
  EXPECT_EQ(m.cols(), 20);
  EXPECT_EQ(m(1, 2 * D + 3), t(1, 2, 3));
}

TEST(Tensor3, ConvertsImplicitlyToConstViewWithoutCopy) {
  Tensor3<float> t(2, 3, 4);
  t(1, 2, 3) = 7.5f;
  EXPECT_EQ(takes_const_view(t), 24u);
  EXPECT_EQ(data_of_const_view(t), t.data());
  const Tensor3<float>& ct = t;
  EXPECT_EQ(data_of_const_view(ct), t.data());
  Tensor3View<float> mv = t;
  EXPECT_EQ(data_of_const_view(mv), t.data());
  mv(0, 0, 0) = 3.0f;  // writes through
  EXPECT_EQ(t(0, 0, 0), 3.0f);
  const Tensor3View<const float> cv = mv;
  EXPECT_EQ(cv(1, 2, 3), 7.5f);
  EXPECT_EQ(cv.seq(), 2u);
  EXPECT_EQ(cv.heads(), 3u);
  EXPECT_EQ(cv.dim(), 4u);
}

TEST(Tensor3, CopyingCopiesData) {
  Tensor3<float> a(2, 2, 2);
  a(1, 1, 1) = 5;
  Tensor3<float> b = a;
  EXPECT_NE(b.data(), a.data());
  b(1, 1, 1) = 6;
  EXPECT_EQ(a(1, 1, 1), 5);
  Tensor3<float> c(Tensor3View<const float>(a.view()));
  EXPECT_NE(c.data(), a.data());
  EXPECT_EQ(c(1, 1, 1), 5);
  EXPECT_EQ(c.seq(), 2u);
}

TEST(Tensor3, AbsurdShapeIsInvalidArgumentNotACrash) {
  const std::size_t huge = std::numeric_limits<std::size_t>::max() / 2;
  EXPECT_EQ(error_code_of([&] { Tensor3<float> t(huge, 4, 4); }), Errc::invalid_argument);
}

TEST(Tensor3View, Slice) {
  Tensor3<float> t(6, 2, 3);
  for (std::size_t e = 0; e < t.size(); ++e) t.data()[e] = static_cast<float>(e);
  const Tensor3View<const float> v = t;
  const auto s = v.slice(2, 3);
  EXPECT_EQ(s.seq(), 3u);
  EXPECT_EQ(s.heads(), 2u);
  EXPECT_EQ(s.dim(), 3u);
  EXPECT_EQ(s.data(), t.data() + 2 * 2 * 3);
  for (std::size_t r = 0; r < 3; ++r)
    for (std::size_t h = 0; h < 2; ++h)
      for (std::size_t d = 0; d < 3; ++d) ASSERT_EQ(s(r, h, d), t(r + 2, h, d));
  const auto last = v.slice(5, 1);
  EXPECT_EQ(last(0, 1, 2), t(5, 1, 2));
  EXPECT_EQ(v.slice(6, 0).size(), 0u);
}

TEST(ViewOf, RowMajorMatrixWithoutCopy) {
  RowMajorF m(5, 12);
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (Eigen::Index c = 0; c < m.cols(); ++c) m(r, c) = static_cast<float>(r * 100 + c);
  auto v = aether::view_of(m, 3, 4);
  static_assert(std::is_same_v<decltype(v), Tensor3View<float>>);
  EXPECT_EQ(v.data(), m.data());
  EXPECT_EQ(v.seq(), 5u);
  EXPECT_EQ(v.heads(), 3u);
  EXPECT_EQ(v.dim(), 4u);
  for (std::size_t t = 0; t < 5; ++t)
    for (std::size_t h = 0; h < 3; ++h)
      for (std::size_t d = 0; d < 4; ++d) ASSERT_EQ(v(t, h, d), m(t, h * 4 + d));
  v(4, 2, 3) = -1;  // mutable view writes into the matrix
  EXPECT_EQ(m(4, 11), -1);

  const RowMajorF& cm = m;
  auto cv = aether::view_of(cm, 2, 6);
  static_assert(std::is_same_v<decltype(cv), Tensor3View<const float>>);
  EXPECT_EQ(cv.data(), m.data());
  EXPECT_EQ(data_of_const_view(aether::view_of(m, 12, 1)), m.data());
}

TEST(ViewOf, MapsWithoutCopy) {
  std::vector<float> buf(4 * 6);
  for (std::size_t e = 0; e < buf.size(); ++e) buf[e] = static_cast<float>(e);
  Eigen::Map<RowMajorF> map(buf.data(), 4, 6);
  // A mutable Map gives a mutable view (kernel output can be written through it).
  auto v = aether::view_of(map, 2, 3);
  static_assert(std::is_same_v<decltype(v), Tensor3View<float>>);
  EXPECT_EQ(v.data(), buf.data());
  EXPECT_EQ(v(3, 1, 2), buf[(3 * 2 + 1) * 3 + 2]);
  v(0, 0, 1) = 42.0f;
  EXPECT_EQ(buf[1], 42.0f);

  Eigen::Map<const RowMajorF> cmap(buf.data(), 4, 6);
  auto cv = aether::view_of(cmap, 6, 1);
  static_assert(std::is_same_v<decltype(cv), Tensor3View<const float>>);
  EXPECT_EQ(cv.data(), buf.data());
  EXPECT_EQ(cv.seq(), 4u);

  // An explicit outer stride equal to the column count is still contiguous.
  Eigen::Map<const RowMajorF, 0, Eigen::OuterStride<>> smap(buf.data(), 4, 6, Eigen::OuterStride<>(6));
  EXPECT_EQ(aether::view_of(smap, 2, 3).data(), buf.data());

  // Fixed-size row-major matrix.
  Eigen::Matrix<float, 2, 8, Eigen::RowMajor> fixed;
  fixed.setZero();
  EXPECT_EQ(aether::view_of(fixed, 2, 4).data(), fixed.data());
}

TEST(ViewOf, KernelsReadThroughTheViewUnchanged) {
  RowMajorF q = RowMajorF::Random(7, 2 * 4), k = RowMajorF::Random(7, 4), v = RowMajorF::Random(7, 4);
  const auto a = aether::dense_attention(aether::view_of(q, 2, 4), aether::view_of(k, 1, 4), aether::view_of(v, 1, 4),
                                         /*causal=*/true);
  Tensor3<float> qt(7, 2, 4), kt(7, 1, 4), vt(7, 1, 4);
  std::copy(q.data(), q.data() + q.size(), qt.data());
  std::copy(k.data(), k.data() + k.size(), kt.data());
  std::copy(v.data(), v.data() + v.size(), vt.data());
  const auto b = aether::dense_attention(qt, kt, vt, /*causal=*/true);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

TEST(ViewOf, BadColumnCountIsShapeMismatch) {
  RowMajorF m(5, 12);
  m.setZero();
  EXPECT_EQ(error_code_of([&] { aether::view_of(m, 5, 4); }), Errc::shape_mismatch);
  EXPECT_EQ(error_code_of([&] { aether::view_of(m, 3, 3); }), Errc::shape_mismatch);
  EXPECT_EQ(error_code_of([&] { aether::view_of(m, 0, 12); }), Errc::shape_mismatch);
  EXPECT_EQ(error_code_of([&] { aether::view_of(m, 12, 0); }), Errc::shape_mismatch);
  Eigen::Map<const RowMajorF> cmap(m.data(), 5, 12);
  EXPECT_EQ(error_code_of([&] { aether::view_of(cmap, 2, 5); }), Errc::shape_mismatch);
}

TEST(ViewOf, NonContiguousRowsAreShapeMismatch) {
  std::vector<float> buf(4 * 16, 0.0f);
  // 4 x 12 block of a 4 x 16 buffer: rows 16 apart, not 12.
  Eigen::Map<RowMajorF, 0, Eigen::OuterStride<>> strided(buf.data(), 4, 12, Eigen::OuterStride<>(16));
  EXPECT_EQ(error_code_of([&] { aether::view_of(strided, 3, 4); }), Errc::shape_mismatch);
  Eigen::Map<const RowMajorF, 0, Eigen::OuterStride<>> cstrided(buf.data(), 4, 12, Eigen::OuterStride<>(16));
  EXPECT_EQ(error_code_of([&] { aether::view_of(cstrided, 3, 4); }), Errc::shape_mismatch);
  // Inner stride != 1.
  Eigen::Map<const RowMajorF, 0, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>> inner(
      buf.data(), 2, 6, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(12, 2));
  EXPECT_EQ(error_code_of([&] { aether::view_of(inner, 2, 3); }), Errc::shape_mismatch);
}

TEST(Error, CarriesCodeAndNamedMessage) {
  try {
    RowMajorF m(2, 6);
    aether::view_of(m, 4, 4);
    FAIL() << "no throw";
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), Errc::shape_mismatch);
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("shape_mismatch: ", 0), 0u) << what;
    EXPECT_NE(what.find("6"), std::string::npos) << "message should name the offending column count: " << what;
  }
  EXPECT_STREQ(aether::errc_name(Errc::cache_full), "cache_full");
  EXPECT_STREQ(aether::errc_name(Errc::invalid_config), "invalid_config");
}

}  // namespace

}  // namespace tensor_test
