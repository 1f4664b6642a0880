// TemporalModel / TemporalStream / StreamPool (MODEL.md): a blob run end to
// end against an independent float64 evaluation, streams bit-identical to
// prefill, errors, and a pool equal to streams pushed one by one.
#include <aether/rvne.hpp>
#include <aether/stream_pool.hpp>
#include <aether/temporal_model.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "reference_attention.hpp"
#include "test_support.hpp"

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace temporal_model_test {

namespace {

using aether::Errc;
using aether::ModelAttention;
using aether::Pool;
using aether::TemporalModel;
using aether_test::error_code_of;
using Matrix = TemporalModel<float>::Matrix;
using Vector = TemporalModel<float>::Vector;
using DMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

aether::rvne::Header shape(std::uint16_t d, std::uint16_t hq, std::uint16_t hkv, std::uint16_t hd, std::uint16_t layers,
                           std::uint16_t classes) {
  aether::rvne::Header h;
  h.input_dim = d;
  h.q_heads = hq;
  h.kv_heads = hkv;
  h.head_dim = hd;
  h.layers = layers;
  h.classes = classes;
  return h;
}

Matrix random_frames(std::size_t n, std::size_t d, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Matrix x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  for (Eigen::Index e = 0; e < x.size(); ++e) x.data()[e] = u(rng);
  return x;
}

/// MODEL.md in float64, written from the spec: weights read in layout order,
/// matrix products, the float64 reference attention, pooling, classifier.
Eigen::VectorXd reference_logits(const aether::rvne::Blob& blob, const ModelAttention& a, const Matrix& x32,
                                 Pool pool) {
  const auto& h = blob.header;
  const std::vector<float> w = blob.to_floats();
  std::size_t at = 0;
  auto take = [&](std::size_t rows, std::size_t cols) {
    DMatrix m(rows, cols);
    for (std::size_t e = 0; e < rows * cols; ++e) m.data()[e] = w[at + e];
    at += rows * cols;
    return m;
  };
  const std::size_t n = static_cast<std::size_t>(x32.rows()), D = h.input_dim, d = h.head_dim;
  DMatrix x = x32.cast<double>();
  aether::SparseConfig cfg;
  cfg.window = a.window;
  cfg.block_size = a.block_size;
  cfg.global_tokens = a.global_tokens;
  cfg.causal = a.causal;
  for (std::size_t l = 0; l < h.layers; ++l) {
    const DMatrix wq = take(D, h.q_heads * d), wk = take(D, h.kv_heads * d), wv = take(D, h.kv_heads * d),
                  wo = take(h.q_heads * d, D);
    const DMatrix q = x * wq, k = x * wk, v = x * wv;
    auto tensor = [&](const DMatrix& m, std::size_t heads) {
      aether::Tensor3<double> t(n, heads, d);
      std::memcpy(t.data(), m.data(), t.size() * sizeof(double));
      return t;
    };
    const auto tq = tensor(q, h.q_heads), tk = tensor(k, h.kv_heads), tv = tensor(v, h.kv_heads);
    const aether::Tensor3<double> att = a.backend == aether::Backend::Dense
                                            ? aether_ref::reference_dense<double>(tq, tk, tv, a.causal)
                                            : aether_ref::reference_sparse<double>(cfg, tq, tk, tv);
    const Eigen::Map<const DMatrix> am(att.data(), n, h.q_heads * d);
    x += am * wo;
  }
  const DMatrix wc = take(D, h.classes);
  const Eigen::RowVectorXd p = pool == Pool::last ? Eigen::RowVectorXd(x.row(n - 1)) : Eigen::RowVectorXd(x.colwise().mean());
  return (p * wc).transpose();
}

struct Case {
  const char* name;
  aether::rvne::Header header;
  ModelAttention attention;
  std::size_t frames;
};

ModelAttention attention(aether::Backend backend, std::size_t window, std::size_t block, bool causal = true) {
  ModelAttention a;
  a.backend = backend;
  a.window = window;
  a.block_size = block;
  a.causal = causal;
  return a;
}

std::vector<Case> cases() {
  return {
      {"aether_default", aether::rvne::Header::aether_default(), ModelAttention{}, 70},
      {"gqa_3_layers", shape(12, 4, 2, 8, 3, 5), attention(aether::Backend::SparseGqa, 16, 8), 90},
      {"mha_window_5", shape(8, 2, 2, 16, 1, 3), attention(aether::Backend::SparseGqa, 5, 4), 40},
      {"dense_backend", shape(16, 4, 1, 32, 2, 4), attention(aether::Backend::Dense, 0, 16), 50},
      {"non_causal_sparse", shape(10, 2, 1, 8, 2, 2), attention(aether::Backend::SparseGqa, 4, 4, false), 33},
  };
}

class Model : public ::testing::TestWithParam<Case> {};

TEST_P(Model, ForwardMatchesFloat64SpecEvaluation) {
  const Case& c = GetParam();
  const auto blob = aether::rvne::init_random(c.header, 0x1234 + c.frames);
  const TemporalModel<float> model(blob, c.attention);
  const Matrix x = random_frames(c.frames, c.header.input_dim, 7);
  for (Pool pool : {Pool::mean, Pool::last}) {
    for (std::size_t n : {std::size_t{1}, c.frames / 2, c.frames}) {
      const Vector got = model.forward(x.topRows(static_cast<Eigen::Index>(n)), pool);
      const Eigen::VectorXd want = reference_logits(blob, c.attention, x.topRows(static_cast<Eigen::Index>(n)), pool);
      ASSERT_EQ(got.size(), static_cast<Eigen::Index>(c.header.classes));
      const double err = (got.cast<double>() - want).cwiseAbs().maxCoeff();
      EXPECT_LE(err, 1e-6) << c.name << " n=" << n << " pool=" << (pool == Pool::last ? "last" : "mean");
    }
  }
}

class Stream : public ::testing::TestWithParam<Case> {};

TEST_P(Stream, EqualsPrefillWithPoolLast) {
  const Case& c = GetParam();
  ASSERT_TRUE(c.attention.causal) << "streams are causal";
  const auto blob = aether::rvne::init_random(c.header, 99);
  const TemporalModel<float> model(blob, c.attention);
  const Matrix x = random_frames(c.frames, c.header.input_dim, 8);
  auto stream = model.make_stream(c.frames);
  const bool dense = c.attention.backend == aether::Backend::Dense;
  for (std::size_t t = 0; t < c.frames; ++t) {
    const Vector got = stream.push(x.row(static_cast<Eigen::Index>(t)).transpose());
    const Vector want = model.forward(x.topRows(static_cast<Eigen::Index>(t + 1)), Pool::last);
    if (dense) {
      ASSERT_LE((got - want).cwiseAbs().maxCoeff(), 1e-6) << c.name << " t=" << t;
    } else {
      ASSERT_EQ(0, std::memcmp(got.data(), want.data(), sizeof(float) * static_cast<std::size_t>(got.size())))
          << c.name << ": stream differs from prefill at t=" << t;
    }
  }
  EXPECT_EQ(stream.size(), c.frames);
  EXPECT_EQ(stream.pushed(), c.frames);
}

std::vector<Case> causal_cases() {
  std::vector<Case> out;
  for (const Case& c : cases())
    if (c.attention.causal) out.push_back(c);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shapes, Model, ::testing::ValuesIn(cases()),
                         [](const auto& test) { return std::string(test.param.name); });
INSTANTIATE_TEST_SUITE_P(Shapes, Stream, ::testing::ValuesIn(causal_cases()),
                         [](const auto& test) { return std::string(test.param.name); });

TEST(TemporalModel, Fp16BlobIsTheFp32BlobRoundedToHalf) {
  const auto f32 = aether::rvne::init_random(aether::rvne::Header::aether_default(aether::rvne::Dtype::f32));
  const auto f16 = aether::rvne::init_random(aether::rvne::Header::aether_default(aether::rvne::Dtype::f16));
  const TemporalModel<float> a(f32), b(f16);
  const Matrix x = random_frames(20, 16, 3);
  const Vector la = a.forward(x), lb = b.forward(x);
  const double diff = (la - lb).cwiseAbs().maxCoeff();
  EXPECT_GT(diff, 0.0) << "fp16 weights should differ somewhere";
  EXPECT_LE(diff, 1e-2) << "fp16 rounding of weights in [-0.1, 0.1] moves logits only slightly";
  // And it is exactly the model of the fp16 values widened to fp32.
  const TemporalModel<float> widened(f16.converted(aether::rvne::Dtype::f32));
  const Vector lw = widened.forward(x);
  EXPECT_EQ(0, std::memcmp(lb.data(), lw.data(), sizeof(float) * 4));
}

TEST(TemporalModel, BlobThatIsNotThisLayoutIsRejected) {
  auto blob = aether::rvne::init_random(aether::rvne::Header::aether_default());
  blob.weights.resize(blob.weights.size() - 4);
  EXPECT_EQ(error_code_of([&] { TemporalModel<float> m(blob); }), Errc::layout_mismatch);
  auto bad = aether::rvne::init_random(aether::rvne::Header::aether_default());
  bad.header.classes = 1;  // rule 7
  EXPECT_EQ(error_code_of([&] { TemporalModel<float> m(bad); }), Errc::invalid_header);
  ModelAttention a;
  a.block_size = 0;
  EXPECT_EQ(error_code_of([&] { TemporalModel<float> m(aether::rvne::init_random(aether::rvne::Header::aether_default()), a); }),
            Errc::invalid_config);
}

TEST(TemporalModel, ModelLimitsRefuseLargerModels) {
  const auto blob = aether::rvne::init_random(aether::rvne::Header::aether_default());  // 10,304 weights
  aether::ModelLimits limits;
  EXPECT_EQ(limits.max_weight_elements, 1u << 26);
  limits.max_weight_elements = 10304;  // exactly enough
  EXPECT_EQ(error_code_of([&] { TemporalModel<float> m(blob, {}, limits); }), Errc::ok);
  limits.max_weight_elements = 10303;
  try {
    TemporalModel<float> m(blob, {}, limits);
    ADD_FAILURE() << "a model one weight over the limit was loaded";
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), Errc::limit_exceeded) << e.what();
    EXPECT_NE(std::string(e.what()).find("10304 weights"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("10303"), std::string::npos) << e.what();
  }
  // Rules 7 and 8 come first: a broken blob is still named as such.
  auto bad = blob;
  bad.header.classes = 1;
  EXPECT_EQ(error_code_of([&] { TemporalModel<float> m(bad, {}, limits); }), Errc::invalid_header);
}

TEST(TemporalModel, BadFramesAreShapeErrors) {
  const TemporalModel<float> model(aether::rvne::init_random(aether::rvne::Header::aether_default()));
  EXPECT_EQ(error_code_of([&] { model.forward(Matrix(0, 16)); }), Errc::shape_mismatch);
  EXPECT_EQ(error_code_of([&] { model.forward(Matrix(3, 15)); }), Errc::shape_mismatch);
  auto stream = model.make_stream(4);
  EXPECT_EQ(error_code_of([&] { stream.push(Vector(17)); }), Errc::shape_mismatch);
  EXPECT_EQ(stream.size(), 0u);
}

TEST(TemporalModel, ProbabilitiesAreASoftmax) {
  Vector logits(3);
  logits << 1000.0f, 1001.0f, 999.0f;  // max-subtracted: no overflow
  const Vector p = TemporalModel<float>::probabilities(logits);
  EXPECT_NEAR(p.sum(), 1.0f, 1e-6f);
  EXPECT_NEAR(p[1] / p[0], std::exp(1.0f), 1e-4f);
}

TEST(TemporalStream, FullWithoutPolicyRefusesAndStaysUnchanged) {
  const TemporalModel<float> model(aether::rvne::init_random(aether::rvne::Header::aether_default()));
  const Matrix x = random_frames(4, 16, 5);
  auto stream = model.make_stream(3);
  for (Eigen::Index t = 0; t < 3; ++t) stream.push(x.row(t).transpose());
  const Vector before = model.forward(x.topRows(3), Pool::last);
  EXPECT_EQ(error_code_of([&] { stream.push(x.row(3).transpose()); }), Errc::cache_full);
  EXPECT_EQ(stream.size(), 3u);
  EXPECT_EQ(stream.pushed(), 3u);
  // Still the same stream: reset and replay gives the same logits as before.
  stream.reset();
  Vector again;
  for (Eigen::Index t = 0; t < 3; ++t) again = stream.push(x.row(t).transpose());
  EXPECT_EQ(0, std::memcmp(again.data(), before.data(), sizeof(float) * 4));
}

TEST(TemporalStream, AcceptsFrameIsFalseExactlyWhenPushRefuses) {
  const TemporalModel<float> model(aether::rvne::init_random(aether::rvne::Header::aether_default()));
  const Matrix x = random_frames(6, 16, 8);
  auto bounded = model.make_stream(3);
  for (Eigen::Index t = 0; t < 3; ++t) {
    EXPECT_TRUE(bounded.accepts_frame()) << "t=" << t;
    bounded.push(x.row(t).transpose());
  }
  EXPECT_FALSE(bounded.accepts_frame());
  EXPECT_EQ(error_code_of([&] { bounded.push(x.row(3).transpose()); }), Errc::cache_full);
  bounded.reset();
  EXPECT_TRUE(bounded.accepts_frame());
  // With eviction a full stream still takes frames.
  for (const auto policy : {aether::Eviction::sliding_window, aether::Eviction::heavy_hitter}) {
    auto evicting = model.make_stream(40, policy);
    const Matrix y = random_frames(40, 16, 9);
    for (Eigen::Index t = 0; t < 40; ++t) evicting.push(y.row(t).transpose());
    EXPECT_EQ(evicting.size(), 40u);  // full
    EXPECT_TRUE(evicting.accepts_frame());
    EXPECT_EQ(error_code_of([&] { evicting.push(x.row(0).transpose()); }), Errc::ok);  // evicts
    EXPECT_EQ(evicting.pushed(), 41u);
    EXPECT_TRUE(evicting.accepts_frame());
  }
}

TEST(TemporalStream, SlidingWindowRunsForeverInBoundedMemory) {
  const TemporalModel<float> model(aether::rvne::init_random(aether::rvne::Header::aether_default()));
  const Matrix x = random_frames(300, 16, 6);
  auto stream = model.make_stream(64, aether::Eviction::sliding_window);
  for (Eigen::Index t = 0; t < x.rows(); ++t) {
    const Vector logits = stream.push(x.row(t).transpose());
    ASSERT_LE(stream.size(), 64u);
    ASSERT_TRUE(logits.allFinite()) << "t=" << t;
  }
  EXPECT_EQ(stream.pushed(), 300u);
}

TEST(StreamPool, PushEqualsEachStreamPushedAlone) {
  const auto blob = aether::rvne::init_random(aether::rvne::Header::aether_default());
  const TemporalModel<float> model(blob);
  constexpr std::size_t kTracks = 7, kSteps = 40;
  aether::StreamPool<float> pool(model, kSteps);
  std::vector<aether::TemporalStream<float>> alone;
  std::vector<std::size_t> ids;
  for (std::size_t s = 0; s < kTracks; ++s) {
    ids.push_back(pool.open());
    alone.push_back(model.make_stream(kSteps));
  }
  EXPECT_EQ(pool.open_count(), kTracks);
  for (std::size_t t = 0; t < kSteps; ++t) {
    const Matrix frames = random_frames(kTracks, 16, static_cast<std::uint32_t>(100 + t));
    const Matrix logits = pool.push(ids, frames);
    ASSERT_EQ(logits.rows(), static_cast<Eigen::Index>(kTracks));
    for (std::size_t s = 0; s < kTracks; ++s) {
      const Vector want = alone[s].push(frames.row(static_cast<Eigen::Index>(s)).transpose());
      ASSERT_EQ(0, std::memcmp(logits.row(static_cast<Eigen::Index>(s)).data(), want.data(), sizeof(float) * 4))
          << "track " << s << " step " << t;
    }
  }
}

TEST(StreamPool, BadCallsChangeNothing) {
  const TemporalModel<float> model(aether::rvne::init_random(aether::rvne::Header::aether_default()));
  aether::StreamPool<float> pool(model, 2);
  const std::size_t a = pool.open(), b = pool.open();
  const Matrix two = random_frames(2, 16, 1);
  EXPECT_EQ(error_code_of([&] { pool.push({a, a}, two); }), Errc::invalid_argument);      // same stream twice
  EXPECT_EQ(error_code_of([&] { pool.push({a, 9}, two); }), Errc::invalid_argument);      // unknown id
  EXPECT_EQ(error_code_of([&] { pool.push({a}, two); }), Errc::shape_mismatch);           // rows != ids
  EXPECT_EQ(error_code_of([&] { pool.push({a, b}, Matrix(2, 3)); }), Errc::shape_mismatch);
  EXPECT_EQ(pool.stream(a).size(), 0u);
  pool.push({a, b}, two);
  pool.push({a}, two.topRows(1));
  // a is full (capacity 2): the whole call is refused, b included.
  EXPECT_EQ(error_code_of([&] { pool.push({b, a}, two); }), Errc::cache_full);
  EXPECT_EQ(pool.stream(b).size(), 1u);
  pool.close(a);
  EXPECT_FALSE(pool.is_open(a));
  EXPECT_EQ(error_code_of([&] { pool.close(a); }), Errc::invalid_argument);
  const std::size_t c = pool.open();  // reuses a's memory, empty again
  EXPECT_EQ(c, a);
  EXPECT_EQ(pool.stream(c).size(), 0u);
  EXPECT_EQ(error_code_of([&] { aether::StreamPool<float> p(model, 0); }), Errc::invalid_argument);
}

}  // namespace

}  // namespace temporal_model_test
