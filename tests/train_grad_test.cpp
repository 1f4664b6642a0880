// Gradient checks of train/attention_backward.hpp and train/model_backward.hpp
// against central finite differences of the library's own forward, in double:
// every component within |analytic - numeric| <= 1e-7 + 1e-6 |numeric|.
#include <aether/dense_attention.hpp>
#include <aether/sparse_attention.hpp>
#include <aether/temporal_model.hpp>
#include <aether/train/attention_backward.hpp>
#include <aether/train/model_backward.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace train_grad_test {

namespace {

using aether::Tensor3;
using aether::Tensor3View;

constexpr double kAbs = 1e-7, kRel = 1e-6;
constexpr double kStep = 1e-5;  // central-difference step (double)

template <class T>
Tensor3<T> random_tensor(std::size_t n, std::size_t h, std::size_t d, std::uint32_t seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  Tensor3<T> t(n, h, d);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<T>(u(rng));
  return t;
}

/// Worst violation of the tolerance, as (|a - n| - tol) / tol > 0 when failing; with the index.
struct Check {
  std::size_t failures = 0, checked = 0;
  std::string first;
  void compare(const std::string& what, std::size_t index, double analytic, double numeric) {
    ++checked;
    if (!(std::abs(analytic - numeric) <= kAbs + kRel * std::abs(numeric))) {
      if (failures++ == 0) {
        first = what + "[" + std::to_string(index) + "]: analytic " + std::to_string(analytic) + " numeric " +
                std::to_string(numeric);
      }
    }
  }
};

struct AttnCase {
  const char* name;
  bool dense;
  std::size_t n, q_heads, kv_heads, d;
  aether::SparseConfig cfg;
  bool gated;
};

aether::SparseConfig sparse(std::size_t w, std::size_t b, std::vector<std::size_t> g, bool causal,
                            bool landmarks = true, bool log_stride = true) {
  aether::SparseConfig c;
  c.window = w;
  c.block_size = b;
  c.global_tokens = std::move(g);
  c.causal = causal;
  c.landmarks = landmarks;
  c.log_stride = log_stride;
  return c;
}

/// Loss = sum(out * R) for a fixed random R: dL/dout = R.
struct AttnProblem {
  const AttnCase& c;
  Tensor3<double> q, k, v, r;
  std::vector<std::uint8_t> keep;
  explicit AttnProblem(const AttnCase& cs)
      : c(cs),
        q(random_tensor<double>(cs.n, cs.q_heads, cs.d, 1)),
        k(random_tensor<double>(cs.n, cs.kv_heads, cs.d, 2)),
        v(random_tensor<double>(cs.n, cs.kv_heads, cs.d, 3)),
        r(random_tensor<double>(cs.n, cs.q_heads, cs.d, 4)) {
    if (cs.gated) {
      std::mt19937 rng(5);
      keep.resize(cs.n);
      for (auto& x : keep) x = static_cast<std::uint8_t>(rng() % 2);
    }
  }
  Tensor3<double> forward() const {
    if (c.dense) return aether::dense_attention(q, k, v, c.cfg.causal);
    aether::SparseAttention<double> attn(c.cfg);
    return c.gated ? attn.forward_gated(q, k, v, keep) : attn.forward(q, k, v);
  }
  double loss() const {
    const Tensor3<double> o = forward();
    double s = 0;
    for (std::size_t i = 0; i < o.size(); ++i) s += o.data()[i] * r.data()[i];
    return s;
  }
  void backward(Tensor3<double>& dq, Tensor3<double>& dk, Tensor3<double>& dv) const {
    if (c.dense) {
      aether::train::dense_attention_backward<double>(c.cfg.causal, q, k, v, r, dq, dk, dv);
    } else {
      aether::SparsePattern p(c.cfg);
      aether::train::sparse_attention_backward<double>(p, q, k, v, r, dq, dk, dv, c.gated ? keep.data() : nullptr);
    }
  }
};

/// `corrupt` (tests of the test) perturbs the analytic gradient before comparing.
Check check_attention(const AttnCase& c, bool corrupt = false) {
  AttnProblem p(c);
  Tensor3<double> dq(c.n, c.q_heads, c.d), dk(c.n, c.kv_heads, c.d), dv(c.n, c.kv_heads, c.d);
  p.backward(dq, dk, dv);
  if (corrupt) dk.data()[dk.size() / 2] *= 1.0 + 1e-4;  // a 1e-4 relative error in one component
  Check chk;
  auto sweep = [&](const char* what, Tensor3<double>& x, const Tensor3<double>& g) {
    for (std::size_t e = 0; e < x.size(); ++e) {
      const double keep_x = x.data()[e];
      x.data()[e] = keep_x + kStep;
      const double up = p.loss();
      x.data()[e] = keep_x - kStep;
      const double down = p.loss();
      x.data()[e] = keep_x;
      chk.compare(what, e, g.data()[e], (up - down) / (2 * kStep));
    }
  };
  sweep("dq", p.q, dq);
  sweep("dk", p.k, dk);
  sweep("dv", p.v, dv);
  return chk;
}

const AttnCase kAttnCases[] = {
    {"dense_causal_mha", true, 9, 2, 2, 4, sparse(0, 1, {}, true), false},
    {"dense_bidir_gqa", true, 9, 4, 2, 4, sparse(0, 1, {}, false), false},
    {"dense_causal_mqa", true, 7, 3, 1, 5, sparse(0, 1, {}, true), false},
    {"sparse_causal_mha_landmarks", false, 23, 2, 2, 4, sparse(3, 4, {0, 5}, true), false},
    {"sparse_bidir_gqa_landmarks", false, 23, 4, 2, 4, sparse(3, 4, {0, 5}, false), false},
    {"sparse_causal_mqa_landmarks", false, 21, 4, 1, 4, sparse(2, 3, {0}, true), false},
    {"sparse_bidir_mqa_no_landmarks", false, 19, 2, 1, 4, sparse(2, 4, {0}, false, false), false},
    {"sparse_causal_gqa_no_landmarks", false, 19, 4, 2, 4, sparse(2, 4, {3}, true, false), false},
    {"sparse_window0_causal", false, 17, 2, 1, 4, sparse(0, 4, {0}, true), false},
    {"sparse_window0_bidir", false, 17, 2, 2, 4, sparse(0, 4, {}, false), false},
    {"sparse_block1_causal", false, 12, 2, 1, 4, sparse(1, 1, {0}, true), false},
    {"sparse_block1_bidir", false, 12, 2, 2, 4, sparse(1, 1, {0}, false), false},
    {"sparse_n_below_block_causal", false, 6, 2, 1, 4, sparse(2, 16, {0}, true), false},
    {"sparse_n_below_block_bidir", false, 6, 4, 2, 4, sparse(2, 16, {0}, false), false},
    {"sparse_globals_dup_out_of_range", false, 20, 2, 1, 4, sparse(1, 4, {7, 7, 0, 99, 3}, false), false},
    {"sparse_no_log_stride", false, 20, 2, 1, 4, sparse(2, 4, {0}, true, true, false), false},
    {"sparse_gated_causal", false, 26, 2, 1, 4, sparse(1, 4, {0}, true), true},
    {"sparse_gated_bidir_gqa", false, 26, 4, 2, 4, sparse(1, 4, {2}, false), true},
    {"sparse_dim32_gqa", false, 40, 4, 1, 32, sparse(4, 8, {0}, true), false},
};

class AttentionGrad : public ::testing::TestWithParam<AttnCase> {};

TEST_P(AttentionGrad, MatchesCentralDifferences) {
  const Check chk = check_attention(GetParam());
  EXPECT_GT(chk.checked, 0u);
  EXPECT_EQ(chk.failures, 0u) << chk.failures << " of " << chk.checked << " components off; first " << chk.first;
}

INSTANTIATE_TEST_SUITE_P(Cases, AttentionGrad, ::testing::ValuesIn(kAttnCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// The check itself can fail: a 1e-4 relative error in one key gradient component is caught.
TEST(AttentionGradCheck, CatchesACorruptedGradient) {
  for (const AttnCase& c : {kAttnCases[1], kAttnCases[4], kAttnCases[16]}) {
    const Check chk = check_attention(c, /*corrupt=*/true);
    EXPECT_EQ(chk.failures, 1u) << c.name;
  }
}

// The landmark spreading can fail the check: pretend a block mean's gradient
// reaches only the block's first row (a plausible bug) and the check objects.
TEST(AttentionGradCheck, CatchesLandmarkGradientOnFirstRowOnly) {
  const AttnCase& c = kAttnCases[3];  // causal, landmarks, B = 4
  AttnProblem p(c);
  Tensor3<double> dq2(c.n, c.q_heads, c.d), dk2(c.n, c.kv_heads, c.d), dv2(c.n, c.kv_heads, c.d);
  p.backward(dq2, dk2, dv2);
  // Move half of rows 5..7's key gradient onto row 4 (block 1's first row):
  // the total per block is kept, the place is wrong.
  const std::size_t row = c.kv_heads * c.d;
  for (std::size_t t = 5; t < 8; ++t) {
    for (std::size_t x = 0; x < row; ++x) {
      const double moved = 0.5 * dk2.data()[t * row + x];
      dk2.data()[t * row + x] -= moved;
      dk2.data()[4 * row + x] += moved;
    }
  }
  Check chk;
  for (std::size_t e = 0; e < p.k.size(); ++e) {
    const double x0 = p.k.data()[e];
    p.k.data()[e] = x0 + kStep;
    const double up = p.loss();
    p.k.data()[e] = x0 - kStep;
    const double down = p.loss();
    p.k.data()[e] = x0;
    chk.compare("dk", e, dk2.data()[e], (up - down) / (2 * kStep));
  }
  EXPECT_GT(chk.failures, 0u);
}

TEST(AttentionBackward, RejectsMismatchedGradientShapes) {
  Tensor3<float> q(4, 2, 4), k(4, 1, 4), v(4, 1, 4), dout(4, 2, 4), dq(4, 2, 4), dk(4, 2, 4), dv(4, 1, 4);
  aether::SparsePattern p(aether::SparseConfig{});
  try {
    aether::train::sparse_attention_backward<float>(p, q, k, v, dout, dq, dk, dv);
    FAIL() << "no error";
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), aether::Errc::shape_mismatch);
    EXPECT_NE(std::string(e.what()).find("dk (4, 2, 4)"), std::string::npos) << e.what();
  }
}

// --- whole model ---------------------------------------------------------

struct ModelCase {
  const char* name;
  std::uint16_t d_in, q_heads, kv_heads, head_dim, layers, classes;
  std::size_t n;
  aether::ModelAttention attention;
  aether::Pool pool;
};

aether::ModelAttention attention_of(aether::Backend b, std::size_t w, std::size_t bs, std::vector<std::size_t> g,
                                    bool causal) {
  aether::ModelAttention a;
  a.backend = b;
  a.window = w;
  a.block_size = bs;
  a.global_tokens = std::move(g);
  a.causal = causal;
  return a;
}

using Model = aether::TemporalModel<double>;

Check check_model(const ModelCase& c, bool corrupt = false) {
  aether::rvne::Header h;
  h.input_dim = c.d_in;
  h.q_heads = c.q_heads;
  h.kv_heads = c.kv_heads;
  h.head_dim = c.head_dim;
  h.layers = c.layers;
  h.classes = c.classes;
  const std::size_t P = static_cast<std::size_t>(aether::rvne::layout_elements(h));
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-0.4, 0.4), ux(-1.0, 1.0);
  std::vector<double> w(P);
  for (double& x : w) x = u(rng);
  Model::Matrix frames(static_cast<Eigen::Index>(c.n), c.d_in);
  for (Eigen::Index i = 0; i < frames.size(); ++i) frames.data()[i] = ux(rng);
  const std::size_t label = c.classes - 1;

  std::vector<double> grad(P);
  Model::Matrix gx;
  {
    const Model model(h, w.data(), P, c.attention);
    aether::train::loss_and_gradient<double>(model, frames, label, c.pool, grad.data(), &gx);
  }
  if (corrupt) grad[P / 3] *= 1.0 + 1e-4;
  auto loss = [&]() {
    const Model model(h, w.data(), P, c.attention);
    return aether::train::cross_entropy<double>(model.forward(frames, c.pool), label);
  };
  Check chk;
  for (std::size_t e = 0; e < P; ++e) {
    const double x0 = w[e];
    w[e] = x0 + kStep;
    const double up = loss();
    w[e] = x0 - kStep;
    const double down = loss();
    w[e] = x0;
    chk.compare("dW", e, grad[e], (up - down) / (2 * kStep));
  }
  for (Eigen::Index e = 0; e < frames.size(); ++e) {
    const double x0 = frames.data()[e];
    frames.data()[e] = x0 + kStep;
    const double up = loss();
    frames.data()[e] = x0 - kStep;
    const double down = loss();
    frames.data()[e] = x0;
    chk.compare("dX", static_cast<std::size_t>(e), gx.data()[e], (up - down) / (2 * kStep));
  }
  return chk;
}

const ModelCase kModelCases[] = {
    {"sparse_mqa_causal_mean", 6, 2, 1, 4, 2, 3, 21,
     attention_of(aether::Backend::SparseGqa, 3, 4, {0}, true), aether::Pool::mean},
    {"sparse_gqa_bidir_last", 6, 4, 2, 4, 2, 3, 19,
     attention_of(aether::Backend::SparseGqa, 2, 4, {0, 9}, false), aether::Pool::last},
    {"sparse_mha_causal_last_window0", 5, 2, 2, 3, 2, 2, 14,
     attention_of(aether::Backend::SparseGqa, 0, 3, {0}, true), aether::Pool::last},
    {"sparse_block1_n_below_window", 5, 2, 1, 4, 1, 2, 7,
     attention_of(aether::Backend::SparseGqa, 32, 1, {0}, true), aether::Pool::mean},
    {"sparse_n_below_block", 5, 2, 1, 4, 2, 4, 9,
     attention_of(aether::Backend::SparseGqa, 2, 16, {0}, false), aether::Pool::mean},
    {"dense_gqa_causal_mean", 6, 4, 2, 4, 2, 3, 11,
     attention_of(aether::Backend::Dense, 0, 16, {0}, true), aether::Pool::mean},
    {"dense_mha_bidir_last", 5, 2, 2, 4, 1, 2, 9, attention_of(aether::Backend::Dense, 0, 16, {}, false),
     aether::Pool::last},
};

class ModelGrad : public ::testing::TestWithParam<ModelCase> {};

TEST_P(ModelGrad, EveryWeightAndFrameMatchesCentralDifferences) {
  const Check chk = check_model(GetParam());
  EXPECT_GT(chk.checked, 0u);
  EXPECT_EQ(chk.failures, 0u) << chk.failures << " of " << chk.checked << " components off; first " << chk.first;
}

INSTANTIATE_TEST_SUITE_P(Cases, ModelGrad, ::testing::ValuesIn(kModelCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ModelGradCheck, CatchesACorruptedGradient) {
  const Check chk = check_model(kModelCases[0], /*corrupt=*/true);
  EXPECT_EQ(chk.failures, 1u);
}

TEST(ModelBackward, RejectsALabelOutOfRange) {
  const aether::rvne::Blob blob = aether::rvne::init_random(aether::rvne::Header::aether_default());
  const aether::TemporalModel<float> model(blob);
  aether::TemporalModel<float>::Matrix x = aether::TemporalModel<float>::Matrix::Zero(4, 16);
  std::vector<float> grad(static_cast<std::size_t>(aether::rvne::layout_elements(blob.header)));
  try {
    aether::train::loss_and_gradient<float>(model, x, 4, aether::Pool::mean, grad.data());
    FAIL() << "no error";
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), aether::Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("label 4"), std::string::npos) << e.what();
  }
}

}  // namespace

}  // namespace train_grad_test
