// Gradient checks of the version 2 backward (train/model_backward.hpp and the
// per-block train/*_backward.hpp) against central finite differences of the
// model's own forward (TemporalModel<double>::forward), with the tolerance of
// train_grad_test.cpp: every component within |analytic - numeric| <= 1e-7 +
// 1e-6 |numeric|, step 1e-5. Per block (one block on at a time) and whole
// models; every weight (padding and non-trainable constants included: both
// must be exactly 0) and every input frame value.
#include <aether/rvne.hpp>
#include <aether/temporal_model.hpp>
#include <aether/train/model_backward.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "test_support.hpp"

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace train_grad_v2_test {

namespace {

namespace rvne = aether::rvne;
using Model = aether::TemporalModel<double>;
using rvne::Activation;
using rvne::BackendKind;
using rvne::PoolKind;

constexpr double kAbs = 1e-7, kRel = 1e-6;  // train_grad_test's tolerance
constexpr double kStep = 1e-5;              // central-difference step (double)
/// Smallest |pre-activation| a ReLU case may have: a step of 1e-5 in one
/// weight or frame value moves a pre-activation by far less than 1e-3, so no
/// finite difference straddles the kink (checked on every ReLU case below).
constexpr double kReluMargin = 1e-3;

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

struct V2Case {
  const char* name = "";
  std::uint32_t blocks = 0;
  std::uint16_t input_dim = 5, d_model = 6, q_heads = 2, kv_heads = 1, head_dim = 4, layers = 2, classes = 3;
  std::uint16_t ffn_dim = 7, kernel = 3, dilation = 2;
  Activation conv_act = Activation::relu, ffn_act = Activation::relu;
  PoolKind pool = PoolKind::mean;
  BackendKind backend = BackendKind::sparse;
  std::uint32_t window = 3, block_size = 4;
  bool causal = true;
  std::vector<std::uint32_t> globals = {0};
  std::size_t n = 13;
  std::uint64_t first_position = 0;
  bool standardised = false;  ///< a node-features featuriser with standardisation constants (not trainable)
  std::uint32_t seed = 11;
};

template <class F>
V2Case make(const char* name, std::uint32_t blocks, F&& tweak) {
  V2Case c;
  c.name = name;
  c.blocks = blocks;
  tweak(c);
  return c;
}
V2Case make(const char* name, std::uint32_t blocks) {
  return make(name, blocks, [](V2Case&) {});
}

rvne::Header header_of(const V2Case& c) {
  rvne::Header h = rvne::Header::aether_default();
  h.version = rvne::kVersion2;
  h.input_dim = c.input_dim;
  h.q_heads = c.q_heads;
  h.kv_heads = c.kv_heads;
  h.head_dim = c.head_dim;
  h.layers = c.layers;
  h.classes = c.classes;
  rvne::Architecture& a = h.arch;
  a.blocks = c.blocks;
  if (a.has(rvne::kBlockInputProjection)) a.d_model = c.d_model;
  if (a.has(rvne::kBlockFfn)) a.ffn_dim = c.ffn_dim, a.ffn_activation = c.ffn_act;
  if (a.has(rvne::kBlockConv)) a.conv_kernel = c.kernel, a.conv_dilation = c.dilation, a.conv_activation = c.conv_act;
  if (a.has(rvne::kBlockNorm)) a.norm_eps = 1e-5f;
  if (a.has(rvne::kBlockRope)) a.rope_base = 100.0f;  // fast-turning pairs: every pair's rotation matters
  a.pool = c.pool;
  a.attention.backend = c.backend;
  a.attention.window = c.window;
  a.attention.block_size = c.block_size;
  a.attention.causal = c.causal ? 1 : 0;
  a.attention.global_count = static_cast<std::uint8_t>(c.globals.size());
  for (std::size_t i = 0; i < c.globals.size(); ++i) a.attention.globals[i] = c.globals[i];
  if (c.standardised) {
    a.features.kind = rvne::FeatureKind::node_features;
    a.features.version = 1;
    a.features.flags = rvne::kFeatureStandardised;
  }
  return h;
}

/// Weights of `h` in layout order: `init_trainable`, then every trainable
/// value moved by uniform(-0.3, 0.3) (biases non-zero, gains away from 1);
/// padding 0, the standardisation constants as initialised.
std::vector<double> weights_of(const rvne::Header& h, std::uint32_t seed) {
  const std::vector<float> f = rvne::init_trainable(h, seed).to_floats();
  std::vector<double> w(f.begin(), f.end());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-0.3, 0.3);
  rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
    if (!m.trainable) return;
    for (std::uint64_t e = 0; e < m.elements(); ++e) w[m.offset + e] += u(rng);
  });
  return w;
}

/// The smallest |pre-activation| of any ReLU (convolution, feed-forward) of
/// the forward, recomputed from a trace with the forward's block functions;
/// +inf without ReLUs.
double min_relu_margin(const Model& model, const Model::Matrix& frames, std::uint64_t first_position) {
  Model::Trace tr;
  model.forward(frames, model.pool(), &tr, first_position);
  const rvne::Architecture& a = model.arch();
  const std::size_t d = model.model_dim(), n = static_cast<std::size_t>(frames.rows());
  const double eps = static_cast<double>(a.norm_eps);
  double margin = std::numeric_limits<double>::infinity();
  auto normed = [&](const Model::Matrix& x, const double* gain) {
    Model::Matrix u = x;
    if (gain != nullptr) {
      for (std::size_t i = 0; i < n; ++i) aether::block::rms_norm_row(x.data() + i * d, gain, d, eps, u.data() + i * d);
    }
    return u;
  };
  std::vector<double> pre(std::max<std::size_t>(d, a.ffn_dim));
  for (std::size_t l = 0; l < model.layers(); ++l) {
    const Model::Layer& w = model.layer(l);
    if (a.has(rvne::kBlockConv) && a.conv_activation == Activation::relu) {
      const Model::Matrix u = normed(tr.conv_inputs[l], w.conv_norm);
      for (std::size_t t = 0; t < n; ++t) {
        aether::block::conv_row(w.conv_taps.data(), w.conv_bias, a.conv_kernel, a.conv_dilation, d, t,
                                [&u, d](std::uint64_t s) { return u.data() + s * d; }, pre.data());
        for (std::size_t c = 0; c < d; ++c) margin = std::min(margin, std::abs(pre[c]));
      }
    }
    if (a.has(rvne::kBlockFfn) && a.ffn_activation == Activation::relu) {
      const Model::Matrix u = normed(tr.ffn_inputs[l], w.ffn_norm);
      Model::Matrix p = u * w.w1;
      p.rowwise() += Eigen::Map<const Model::Vector>(w.b1, w.w1.cols()).transpose();
      margin = std::min(margin, p.cwiseAbs().minCoeff());
    }
  }
  return margin;
}

struct Problem {
  rvne::Header h;
  std::size_t P;
  std::vector<double> w;
  Model::Matrix frames;
  std::size_t label;
  std::uint64_t first;
  explicit Problem(const V2Case& c)
      : h(header_of(c)), P(static_cast<std::size_t>(rvne::layout_elements(h))), w(weights_of(h, c.seed)),
        frames(static_cast<Eigen::Index>(c.n), c.input_dim), label(c.classes - 1), first(c.first_position) {
    std::mt19937 rng(c.seed + 1);
    std::uniform_real_distribution<double> ux(-1.0, 1.0);
    for (Eigen::Index i = 0; i < frames.size(); ++i) frames.data()[i] = ux(rng);
  }
  Model model() const { return Model(h, w.data(), P); }
  double loss() const {
    const Model m = model();
    return aether::train::cross_entropy<double>(m.forward(frames, m.pool(), nullptr, first), label);
  }
  void gradient(std::vector<double>& grad, Model::Matrix& gx) const {
    const Model m = model();
    grad.assign(P, std::numeric_limits<double>::quiet_NaN());  // every element must be written
    aether::train::loss_and_gradient<double>(m, frames, label, m.pool(), grad.data(), &gx, first);
  }
};

/// `tamper` (tests of the test) edits the analytic gradient before comparing.
template <class Tamper>
Check check_v2(const V2Case& c, Tamper&& tamper) {
  Problem p(c);
  std::vector<double> grad;
  Model::Matrix gx;
  p.gradient(grad, gx);
  tamper(p.h, grad);
  Check chk;
  // Padding and the standardisation constants: exactly 0.
  std::vector<bool> trainable(p.P, false);
  rvne::for_each_tensor(p.h, [&](const rvne::MatrixShape& m) {
    for (std::uint64_t e = 0; e < m.elements(); ++e) trainable[m.offset + e] = m.trainable;
  });
  for (std::size_t e = 0; e < p.P; ++e) {
    if (!trainable[e] && grad[e] != 0.0) chk.compare("dW(non-trainable or padding)", e, grad[e], 0.0);
  }
  for (std::size_t e = 0; e < p.P; ++e) {
    const double x0 = p.w[e];
    p.w[e] = x0 + kStep;
    const double up = p.loss();
    p.w[e] = x0 - kStep;
    const double down = p.loss();
    p.w[e] = x0;
    chk.compare("dW", e, grad[e], (up - down) / (2 * kStep));
  }
  for (Eigen::Index e = 0; e < p.frames.size(); ++e) {
    const double x0 = p.frames.data()[e];
    p.frames.data()[e] = x0 + kStep;
    const double up = p.loss();
    p.frames.data()[e] = x0 - kStep;
    const double down = p.loss();
    p.frames.data()[e] = x0;
    chk.compare("dX", static_cast<std::size_t>(e), gx.data()[e], (up - down) / (2 * kStep));
  }
  return chk;
}
Check check_v2(const V2Case& c) {
  return check_v2(c, [](const rvne::Header&, std::vector<double>&) {});
}

constexpr std::uint32_t kAll = rvne::kBlockInputProjection | rvne::kBlockNorm | rvne::kBlockConv | rvne::kBlockFfn |
                               rvne::kBlockQkvBias | rvne::kBlockOutBias | rvne::kBlockRope |
                               rvne::kBlockClassifierBias;
constexpr std::uint64_t kFar = (std::uint64_t{1} << 31) - 100;

const std::vector<V2Case>& cases() {
  static const std::vector<V2Case> all = {
      // One block at a time (attention always runs: sparse MQA, causal, W 3, B 4, globals {0}, N 13).
      make("no_blocks", 0),
      make("input_projection", rvne::kBlockInputProjection),
      make("norm", rvne::kBlockNorm),
      make("conv_relu_dilation2", rvne::kBlockConv),
      make("conv_gelu_k4", rvne::kBlockConv, [](V2Case& c) { c.conv_act = Activation::gelu, c.kernel = 4, c.dilation = 1; }),
      make("conv_identity_dilation3", rvne::kBlockConv, [](V2Case& c) { c.conv_act = Activation::identity, c.dilation = 3; }),
      make("ffn_relu", rvne::kBlockFfn),
      make("ffn_gelu", rvne::kBlockFfn, [](V2Case& c) { c.ffn_act = Activation::gelu; }),
      make("qkv_bias", rvne::kBlockQkvBias),
      make("out_bias", rvne::kBlockOutBias),
      make("rope", rvne::kBlockRope),
      make("rope_far_position", rvne::kBlockRope, [](V2Case& c) { c.first_position = kFar; }),
      make("classifier_bias", rvne::kBlockClassifierBias),
      make("pool_last", 0, [](V2Case& c) { c.pool = PoolKind::last; }),
      make("norm_pool_last", rvne::kBlockNorm, [](V2Case& c) { c.pool = PoolKind::last; }),
      make("standardised_features", rvne::kBlockInputProjection, [](V2Case& c) { c.standardised = true; }),
      // Whole models: every block on.
      make("all_sparse_mqa_causal_mean", kAll),
      make("all_sparse_mha_causal_last_far", kAll, [](V2Case& c) {
        c.q_heads = 2, c.kv_heads = 2, c.pool = PoolKind::last, c.first_position = kFar;
      }),
      make("all_sparse_gqa_bidir_mean_gelu", kAll, [](V2Case& c) {
        c.q_heads = 4, c.kv_heads = 2, c.causal = false, c.globals = {0, 5};
        c.conv_act = Activation::gelu, c.ffn_act = Activation::gelu;
      }),
      make("all_sparse_mqa_bidir_last_far", kAll, [](V2Case& c) {
        c.causal = false, c.pool = PoolKind::last, c.first_position = kFar, c.n = 17;
      }),
      make("all_dense_gqa_causal_mean", kAll, [](V2Case& c) {
        c.backend = BackendKind::dense, c.q_heads = 4, c.kv_heads = 2, c.window = 0, c.globals = {};
        c.seed = 12;  // seed 11 puts a ReLU pre-activation 8.8e-5 from 0 (see kReluMargin)
      }),
      make("all_dense_mha_bidir_last_far_gelu", kAll, [](V2Case& c) {
        c.backend = BackendKind::dense, c.kv_heads = 2, c.causal = false, c.window = 0, c.globals = {};
        c.pool = PoolKind::last, c.first_position = kFar, c.ffn_act = Activation::gelu;
      }),
      make("all_n1", kAll, [](V2Case& c) { c.n = 1; }),
      make("all_n1_far_last", kAll, [](V2Case& c) { c.n = 1, c.first_position = kFar, c.pool = PoolKind::last; }),
      make("all_n_below_block", kAll, [](V2Case& c) { c.n = 5, c.block_size = 16; }),
      make("all_one_layer_standardised", kAll, [](V2Case& c) { c.layers = 1, c.standardised = true; }),
  };
  return all;
}

class V2Grad : public ::testing::TestWithParam<V2Case> {};

TEST_P(V2Grad, EveryWeightAndFrameMatchesCentralDifferences) {
  const V2Case& c = GetParam();
  const Problem p(c);
  const rvne::Architecture& a = p.h.arch;
  const bool relu = (a.has(rvne::kBlockConv) && a.conv_activation == Activation::relu) ||
                    (a.has(rvne::kBlockFfn) && a.ffn_activation == Activation::relu);
  if (relu) {  // no finite difference may straddle a ReLU kink (see kReluMargin)
    const double margin = min_relu_margin(p.model(), p.frames, p.first);
    ASSERT_GT(margin, kReluMargin) << "a ReLU pre-activation is within " << margin << " of 0: pick another seed";
  }
  const Check chk = check_v2(c);
  EXPECT_GT(chk.checked, 0u);
  EXPECT_EQ(chk.failures, 0u) << chk.failures << " of " << chk.checked << " components off; first " << chk.first;
}

INSTANTIATE_TEST_SUITE_P(Cases, V2Grad, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

/// The gradient slice of tensor `name` in layer `layer` (-1: outside the layers).
void zero_tensor(const rvne::Header& h, std::vector<double>& g, const char* name, int layer) {
  rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
    if (m.layer == layer && std::string(m.name) == name) {
      std::fill(g.begin() + static_cast<std::ptrdiff_t>(m.offset),
                g.begin() + static_cast<std::ptrdiff_t>(m.offset + m.elements()), 0.0);
    }
  });
}

// The check can fail: a backward that drops a bias's or gain's gradient (a
// plausible bug), or is 1e-4 off in one component, is caught.
TEST(V2GradCheck, CatchesDroppedAndCorruptedGradients) {
  const V2Case& whole = cases()[16];  // all_sparse_mqa_causal_mean
  ASSERT_EQ(std::string(whole.name), "all_sparse_mqa_causal_mean");
  for (const char* name : {"bq", "b1", "conv.bias", "attn.norm", "conv.taps"}) {
    const Check chk = check_v2(whole, [&](const rvne::Header& h, std::vector<double>& g) { zero_tensor(h, g, name, 1); });
    EXPECT_GT(chk.failures, 0u) << name;
  }
  for (const char* name : {"bc", "final.norm", "b_in"}) {
    const Check chk = check_v2(whole, [&](const rvne::Header& h, std::vector<double>& g) { zero_tensor(h, g, name, -1); });
    EXPECT_GT(chk.failures, 0u) << name;
  }
  const Check one = check_v2(whole, [](const rvne::Header&, std::vector<double>& g) { g[g.size() / 3] *= 1.0 + 1e-4; });
  EXPECT_EQ(one.failures, 1u);
}

// Float and double gradients of the v2 benchmark shape (init_trainable,
// seeded frames, N 40: past one block of 16, landmarks in play) agree to
// float precision: |g_f - g_d| <= 1e-4 max|g_d| per component, and in norm
// within 1e-4 of |g_d|.
TEST(V2Grad, FloatAndDoubleAgreeOnTheBenchmarkShape) {
  const rvne::Header h = rvne::v2_benchmark_header();
  const rvne::Blob blob = rvne::init_trainable(h, 5);
  const aether::TemporalModel<float> mf(blob);
  const std::vector<float> wf = blob.to_floats();
  const std::vector<double> wd(wf.begin(), wf.end());
  const Model md(h, wd.data(), wd.size());
  std::mt19937 rng(6);
  std::uniform_real_distribution<double> ux(-1.0, 1.0);
  Model::Matrix xd(40, h.input_dim);
  for (Eigen::Index i = 0; i < xd.size(); ++i) xd.data()[i] = ux(rng);
  const aether::TemporalModel<float>::Matrix xf = xd.cast<float>();
  std::vector<float> gf(wf.size());
  std::vector<double> gd(wd.size());
  aether::TemporalModel<float>::Matrix gxf;
  Model::Matrix gxd;
  const auto rf = aether::train::loss_and_gradient<float>(mf, xf, 2, mf.pool(), gf.data(), &gxf);
  const auto rd = aether::train::loss_and_gradient<double>(md, xd, 2, md.pool(), gd.data(), &gxd);
  EXPECT_NEAR(rf.loss, rd.loss, 1e-5 * std::abs(rd.loss));
  double gmax = 0, diff2 = 0, norm2 = 0, worst = 0;
  for (std::size_t e = 0; e < gd.size(); ++e) gmax = std::max(gmax, std::abs(gd[e]));
  for (std::size_t e = 0; e < gd.size(); ++e) {
    const double dlt = static_cast<double>(gf[e]) - gd[e];
    worst = std::max(worst, std::abs(dlt));
    diff2 += dlt * dlt;
    norm2 += gd[e] * gd[e];
  }
  ASSERT_GT(gmax, 0.0);
  EXPECT_LE(worst, 1e-4 * gmax);
  EXPECT_LE(std::sqrt(diff2), 1e-4 * std::sqrt(norm2));
  const double xmax = gxd.cwiseAbs().maxCoeff();
  EXPECT_LE((gxf.cast<double>() - gxd).cwiseAbs().maxCoeff(), 1e-4 * xmax);
  std::cout << "[ measured ] float vs double: worst |dg| " << worst << " of max |g| " << gmax << ", norm ratio "
            << std::sqrt(diff2 / norm2) << "\n";
}

// Training through a gate is not supported (v1 neither): a clear error.
TEST(V2Grad, RefusesAGatedModel) {
  rvne::Header h = header_of(make("gated", rvne::kBlockNorm));
  h.arch.attention.gate = rvne::GateKind::salient;
  h.arch.attention.gate_top_k = 4;
  h.arch.attention.gate_hidden = 3;
  const std::size_t P = static_cast<std::size_t>(rvne::layout_elements(h));
  const std::vector<double> w = weights_of(h, 3);
  const Model m(h, w.data(), P);
  const Model::Matrix x = Model::Matrix::Ones(6, h.input_dim);
  std::vector<double> g(P);
  try {
    aether::train::loss_and_gradient<double>(m, x, 0, m.pool(), g.data());
    FAIL() << "no error";
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), aether::Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("gated"), std::string::npos) << e.what();
  }
}

}  // namespace

}  // namespace train_grad_v2_test
