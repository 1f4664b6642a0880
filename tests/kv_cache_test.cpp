// KvCache (kv_cache.hpp): bookkeeping, views, landmark means, typed errors
// that leave the cache byte-identical, and the fp16 cache (storage size and
// decode accuracy on the conformance decode cases).
#include "conformance_data.hpp"
#include "reference_attention.hpp"
#include "test_support.hpp"

#include <aether/error.hpp>
#include <aether/kv_cache.hpp>
#include <aether/sparse_attention.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace kv_cache_test {

namespace {

using aether_test::error_code_of;
using aether_test::token;

using aether::Errc;
using aether::KvCache;
using aether::Tensor3;
using aether::Tensor3View;
using aether_ref::random_tensor;



/// Every byte a cache exposes, plus its full key/value storage (capacity rows).
template <class T, class S>
struct Snapshot {
  std::size_t size = 0, complete = 0;
  std::vector<unsigned char> keys, keys_t, values, lk, lv;
  explicit Snapshot(const KvCache<T, S>& c) : size(c.size()), complete(c.complete_blocks()) {
    const std::size_t row = c.kv_heads() * c.dim();
    auto grab = [](const void* p, std::size_t bytes) {
      const auto* b = static_cast<const unsigned char*>(p);
      return std::vector<unsigned char>(b, b + bytes);
    };
    // token_rows(0): row of position j at k + j * stride, for j < capacity.
    keys = grab(c.token_rows(0).k, c.capacity() * row * sizeof(S));
    values = grab(c.token_rows(0).v, c.capacity() * row * sizeof(S));
    // token_rows(0).kt: the transposed keys, row * kt_stride slots.
    keys_t = grab(c.token_rows(0).kt, row * c.token_rows(0).kt_stride * sizeof(S));
    lk = grab(c.landmark_keys().data(), c.landmark_keys().size() * sizeof(T));
    lv = grab(c.landmark_values().data(), c.landmark_values().size() * sizeof(T));
  }
  bool operator==(const Snapshot& o) const {
    return size == o.size && complete == o.complete && keys == o.keys && keys_t == o.keys_t && values == o.values && lk == o.lk &&
           lv == o.lv;
  }
};

using Snap32 = Snapshot<float, float>;
using Snap16 = Snapshot<float, Eigen::half>;

TEST(KvCache, Bookkeeping) {
  KvCache<float> cache(10, 2, 4, 3);
  EXPECT_EQ(cache.capacity(), 10u);
  EXPECT_EQ(cache.kv_heads(), 2u);
  EXPECT_EQ(cache.dim(), 4u);
  EXPECT_EQ(cache.block_size(), 3u);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.empty());
  EXPECT_FALSE(cache.full());
  EXPECT_EQ(cache.keys().seq(), 0u);
  EXPECT_EQ(cache.landmark_keys().seq(), 0u);

  const auto k = random_tensor<float>(10, 2, 4, 1), v = random_tensor<float>(10, 2, 4, 2);
  for (std::size_t t = 0; t < 10; ++t) {
    cache.append(token(k, t), token(v, t));
    EXPECT_EQ(cache.size(), t + 1);
    EXPECT_EQ(cache.complete_blocks(), (t + 1) / 3);
    EXPECT_EQ(cache.landmark_keys().seq(), (t + 1) / 3);
    EXPECT_EQ(cache.landmark_values().seq(), (t + 1) / 3);
    EXPECT_FALSE(cache.empty());
    EXPECT_EQ(cache.full(), t == 9);
  }
  // Views: (size, kv_heads, dim) with the appended contents.
  const auto keys = cache.keys(), values = cache.values();
  ASSERT_EQ(keys.seq(), 10u);
  ASSERT_EQ(keys.heads(), 2u);
  ASSERT_EQ(keys.dim(), 4u);
  EXPECT_EQ(0, std::memcmp(keys.data(), k.data(), k.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(values.data(), v.data(), v.size() * sizeof(float)));
  EXPECT_EQ(cache.landmark_keys().heads(), 2u);
  EXPECT_EQ(cache.landmark_keys().dim(), 4u);

  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.empty());
  EXPECT_FALSE(cache.full());
  EXPECT_EQ(cache.capacity(), 10u);
  EXPECT_EQ(cache.complete_blocks(), 0u);
  EXPECT_EQ(cache.keys().seq(), 0u);
  cache.append(token(v, 0), token(k, 0));  // reusable after clear
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.keys()(0, 1, 3), v(0, 1, 3));
}

TEST(KvCache, AppendAllEqualsRepeatedAppend) {
  const auto k = random_tensor<float>(23, 3, 5, 3), v = random_tensor<float>(23, 3, 5, 4);
  KvCache<float> a(30, 3, 5, 4), b(30, 3, 5, 4);
  for (std::size_t t = 0; t < 23; ++t) a.append(token(k, t), token(v, t));
  b.append_all(Tensor3View<const float>(k).slice(0, 10), Tensor3View<const float>(v).slice(0, 10));
  b.append_all(Tensor3View<const float>(k).slice(10, 13), Tensor3View<const float>(v).slice(10, 13));
  EXPECT_EQ(b.size(), 23u);
  EXPECT_TRUE(Snap32(a) == Snap32(b));
  // Zero tokens: a no-op.
  b.append_all(Tensor3<float>(0, 3, 5), Tensor3<float>(0, 3, 5));
  EXPECT_EQ(b.size(), 23u);
}

TEST(KvCache, LandmarkMeansAreBlockMeans) {
  const std::size_t cap = 50, kvh = 2, d = 6, B = 7;
  const auto k = random_tensor<float>(cap, kvh, d, 5), v = random_tensor<float>(cap, kvh, d, 6);
  KvCache<float> cache(cap, kvh, d, B);
  cache.append_all(k, v);
  ASSERT_EQ(cache.complete_blocks(), cap / B);
  const auto lk = cache.landmark_keys(), lv = cache.landmark_values();
  for (std::size_t b = 0; b < cap / B; ++b)
    for (std::size_t h = 0; h < kvh; ++h)
      for (std::size_t x = 0; x < d; ++x) {
        double sk = 0, sv = 0;
        for (std::size_t t = b * B; t < (b + 1) * B; ++t) {
          sk += k(t, h, x);
          sv += v(t, h, x);
        }
        EXPECT_NEAR(lk(b, h, x), sk / B, 1e-6) << "block " << b << " head " << h << " d " << x;
        EXPECT_NEAR(lv(b, h, x), sv / B, 1e-6) << "block " << b << " head " << h << " d " << x;
      }
}

TEST(KvCache, LandmarkMeansBitEqualPrefillMeans) {
  // SEMANTICS: landmark means computed the same way in both paths.
  const std::size_t n = 64, kvh = 2, d = 16, B = 8;
  const auto q = random_tensor<float>(n, 4, d, 7), k = random_tensor<float>(n, kvh, d, 8),
             v = random_tensor<float>(n, kvh, d, 9);
  aether::SparseConfig cfg;
  cfg.window = 4;
  cfg.block_size = B;
  const aether::SparseAttention<float> attn(cfg);
  aether::Workspace<float> ws;
  Tensor3<float> out(n, 4, d);
  attn.forward(q, k, v, out.view(), ws);
  KvCache<float> cache(n, kvh, d, B);
  cache.append_all(k, v);
  ASSERT_EQ(ws.landmark_keys.size(), cache.landmark_keys().size());
  EXPECT_EQ(0, std::memcmp(ws.landmark_keys.data(), cache.landmark_keys().data(), ws.landmark_keys.size() * 4));
  EXPECT_EQ(0, std::memcmp(ws.landmark_values.data(), cache.landmark_values().data(), ws.landmark_values.size() * 4));
}

TEST(KvCache, FullCacheRaisesCacheFullAndIsUnchanged) {
  const auto k = random_tensor<float>(9, 2, 4, 11), v = random_tensor<float>(9, 2, 4, 12);
  KvCache<float> cache(8, 2, 4, 4);
  for (std::size_t t = 0; t < 8; ++t) cache.append(token(k, t), token(v, t));
  ASSERT_TRUE(cache.full());
  const Snap32 before(cache);
  EXPECT_EQ(error_code_of([&] { cache.append(token(k, 8), token(v, 8)); }), Errc::cache_full);
  EXPECT_TRUE(Snap32(cache) == before);
  EXPECT_EQ(error_code_of([&] { cache.append_all(token(k, 8), token(v, 8)); }), Errc::cache_full);
  EXPECT_TRUE(Snap32(cache) == before);
  EXPECT_EQ(cache.size(), 8u);
}

TEST(KvCache, AppendAllThatDoesNotFitIsAllOrNothing) {
  const auto k = random_tensor<float>(10, 1, 4, 13), v = random_tensor<float>(10, 1, 4, 14);
  KvCache<float> cache(8, 1, 4, 3);
  cache.append_all(Tensor3View<const float>(k).slice(0, 5), Tensor3View<const float>(v).slice(0, 5));
  const Snap32 before(cache);
  EXPECT_EQ(error_code_of([&] {
              cache.append_all(Tensor3View<const float>(k).slice(5, 4), Tensor3View<const float>(v).slice(5, 4));
            }),
            Errc::cache_full);
  EXPECT_TRUE(Snap32(cache) == before) << "a failed append_all must not write any token";
  cache.append_all(Tensor3View<const float>(k).slice(5, 3), Tensor3View<const float>(v).slice(5, 3));  // fits exactly
  EXPECT_TRUE(cache.full());
}

TEST(KvCache, WrongShapeRaisesShapeMismatchAndIsUnchanged) {
  const auto k = random_tensor<float>(5, 2, 4, 15), v = random_tensor<float>(5, 2, 4, 16);
  KvCache<float> cache(8, 2, 4, 2);
  cache.append_all(Tensor3View<const float>(k).slice(0, 3), Tensor3View<const float>(v).slice(0, 3));
  const Snap32 before(cache);
  const Tensor3<float> ok(1, 2, 4), wrong_heads(1, 1, 4), wrong_dim(1, 2, 5), two(2, 2, 4), none(0, 2, 4);
  const std::vector<std::pair<const Tensor3<float>*, const Tensor3<float>*>> bad = {
      {&wrong_heads, &ok}, {&ok, &wrong_heads}, {&wrong_dim, &ok}, {&ok, &wrong_dim},
      {&two, &two},        {&ok, &two},         {&none, &none},    {&ok, &none}};
  for (std::size_t c = 0; c < bad.size(); ++c) {
    EXPECT_EQ(error_code_of([&] { cache.append(*bad[c].first, *bad[c].second); }), Errc::shape_mismatch) << "case " << c;
    EXPECT_TRUE(Snap32(cache) == before) << "case " << c;
  }
  // append_all: k and v token counts differ, or wrong heads/dim.
  EXPECT_EQ(error_code_of([&] { cache.append_all(two, ok); }), Errc::shape_mismatch);
  EXPECT_EQ(error_code_of([&] { cache.append_all(Tensor3<float>(2, 1, 4), Tensor3<float>(2, 1, 4)); }),
            Errc::shape_mismatch);
  EXPECT_EQ(error_code_of([&] { cache.append_all(Tensor3<float>(2, 2, 3), Tensor3<float>(2, 2, 3)); }),
            Errc::shape_mismatch);
  EXPECT_TRUE(Snap32(cache) == before);
  // A wrong shape on a full cache is still reported (either code is a typed
  // error); the cache stays unchanged.
  KvCache<float> full(1, 2, 4, 1);
  full.append(ok, ok);
  const Snap32 full_before(full);
  EXPECT_NE(error_code_of([&] { full.append(wrong_dim, ok); }), Errc::ok);
  EXPECT_TRUE(Snap32(full) == full_before);
}

TEST(KvCache, ZeroArgumentsAreInvalid) {
  EXPECT_EQ(error_code_of([] { KvCache<float> c(0, 1, 4, 2); }), Errc::invalid_argument);
  EXPECT_EQ(error_code_of([] { KvCache<float> c(4, 0, 4, 2); }), Errc::invalid_argument);
  EXPECT_EQ(error_code_of([] { KvCache<float> c(4, 1, 0, 2); }), Errc::invalid_argument);
  EXPECT_EQ(error_code_of([] { KvCache<float> c(4, 1, 4, 0); }), Errc::invalid_argument);
  EXPECT_EQ(error_code_of([] { aether::KvCacheF16 c(4, 1, 4, 0); }), Errc::invalid_argument);
  EXPECT_EQ(error_code_of([] { KvCache<float> c(static_cast<std::size_t>(-1) / 2, 4, 32, 16); }),
            Errc::invalid_argument);
}

TEST(KvCache, DecodeAfterClearRepeatsExactly) {
  const std::size_t n = 40;
  const auto q = random_tensor<float>(n, 4, 16, 17), k = random_tensor<float>(n, 1, 16, 18),
             v = random_tensor<float>(n, 1, 16, 19);
  aether::SparseConfig cfg;
  cfg.window = 5;
  cfg.block_size = 4;
  const aether::SparseAttention<float> attn(cfg);
  KvCache<float> cache(n, 1, 16, 4);
  std::vector<Tensor3<float>> first;
  for (int pass = 0; pass < 2; ++pass) {
    cache.clear();
    for (std::size_t t = 0; t < n; ++t) {
      cache.append(token(k, t), token(v, t));
      const auto o = attn.decode(token(q, t), cache);
      if (pass == 0) {
        first.push_back(o);
      } else {
        EXPECT_EQ(aether_ref::bit_mismatch<float>(o, first[t]), "") << "t=" << t;
      }
    }
  }
}

// --- fp16 cache ----------------------------------------------------------------

static_assert(std::is_same_v<aether::KvCacheF16, KvCache<float, Eigen::half>>);

TEST(KvCacheF16, UsesHalfTheStorageBytes) {
  for (std::size_t cap : {1u, 16u, 1000u}) {
    KvCache<float> f32(cap, 2, 32, 16);
    aether::KvCacheF16 f16(cap, 2, 32, 16);
    // Keys, values, and the keys again transposed ((kv_heads * dim) rows of
    // transposed_pitch(cap) slots) for the vectorised window scores.
    EXPECT_EQ(f32.storage_bytes(), (cap * 2 * 32 * 2 + 2 * 32 * aether::detail::transposed_pitch(cap)) * sizeof(float));
    EXPECT_EQ(f16.storage_bytes() * 2, f32.storage_bytes()) << "cap=" << cap;
  }
}

TEST(KvCacheF16, StoresRoundedValues) {
  const auto k = random_tensor<float>(6, 2, 4, 21), v = random_tensor<float>(6, 2, 4, 22);
  aether::KvCacheF16 cache(6, 2, 4, 3);
  cache.append_all(k, v);
  for (std::size_t e = 0; e < k.size(); ++e) {
    EXPECT_EQ(static_cast<float>(cache.keys().data()[e]), static_cast<float>(Eigen::half(k.data()[e])));
    EXPECT_EQ(static_cast<float>(cache.values().data()[e]), static_cast<float>(Eigen::half(v.data()[e])));
  }
  // Landmark means are kept in float: mean of the stored (rounded) keys.
  for (std::size_t h = 0; h < 2; ++h)
    for (std::size_t x = 0; x < 4; ++x) {
      double s = 0;
      for (std::size_t t = 0; t < 3; ++t) s += static_cast<float>(Eigen::half(k(t, h, x)));
      EXPECT_NEAR(cache.landmark_keys()(0, h, x), s / 3, 1e-6);
    }
}

TEST(KvCacheF16, ErrorsLeaveTheCacheByteIdentical) {
  const auto k = random_tensor<float>(3, 1, 4, 23), v = random_tensor<float>(3, 1, 4, 24);
  aether::KvCacheF16 cache(2, 1, 4, 2);
  cache.append(token(k, 0), token(v, 0));
  const Snap16 s1(cache);
  EXPECT_EQ(error_code_of([&] { cache.append(Tensor3<float>(1, 2, 4), token(v, 1)); }), Errc::shape_mismatch);
  EXPECT_TRUE(Snap16(cache) == s1);
  cache.append(token(k, 1), token(v, 1));
  const Snap16 s2(cache);
  EXPECT_EQ(error_code_of([&] { cache.append(token(k, 2), token(v, 2)); }), Errc::cache_full);
  EXPECT_TRUE(Snap16(cache) == s2);
}

TEST(KvCacheF16, DecodeWithin2e3OfFp32OnConformanceDecodeCases) {
  const std::string dir = std::string(AETHER_TEST_DATA_DIR) + "/upstream-v0.1.1";
  std::vector<aether_test::ConformanceCase> cases;
  ASSERT_NO_THROW(cases = aether_test::load_cases(dir)) << "conformance data missing in " << dir;
  int decode_cases = 0;
  for (const auto& c : cases) {
    if (c.op != "decode") continue;
    ++decode_cases;
    const std::string base = dir + "/" + c.name;
    const auto q = aether_test::load_f32(base + ".q.f32", c.seq, c.q_heads, c.dim);
    const auto k = aether_test::load_f32(base + ".k.f32", c.seq, c.kv_heads, c.dim);
    const auto v = aether_test::load_f32(base + ".v.f32", c.seq, c.kv_heads, c.dim);
    const aether::SparseAttention<float> attn(c.cfg);
    KvCache<float> f32(c.seq, c.kv_heads, c.dim, c.cfg.block_size);
    aether::KvCacheF16 f16(c.seq, c.kv_heads, c.dim, c.cfg.block_size);
    EXPECT_EQ(f16.storage_bytes() * 2, f32.storage_bytes());
    double worst = 0;
    for (std::size_t t = 0; t < c.seq; ++t) {
      f32.append(token(k, t), token(v, t));
      f16.append(token(k, t), token(v, t));
      const auto a = attn.decode(token(q, t), f32);
      const auto b = attn.decode(token(q, t), f16);
      const auto diff = aether_ref::max_diff(b, a);
      worst = std::max(worst, diff.max);
      EXPECT_LE(diff.max, 2e-3) << c.name << " t=" << t << ": " << diff.str();
    }
    std::printf("[ fp16 ] %-18s worst |fp16 - fp32| = %.3e\n", c.name.c_str(), worst);
    EXPECT_GT(worst, 0.0) << "fp16 rounding should be visible at all (is the cache really fp16?)";
  }
  EXPECT_EQ(decode_cases, 2);
}

}  // namespace

}  // namespace kv_cache_test
