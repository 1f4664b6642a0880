// The salience gate through TemporalHead (a gate option in its config) and
// through TemporalModel / TemporalStream (one gate per layer, ModelGate):
// gated stream == gated prefill memcmp-equal where GATE.md says so, the
// eviction mask against a brute-force top-k over the held saliences, and
// bad inputs as typed errors.
#include "reference_attention.hpp"
#include "test_support.hpp"

#include <aether/rvne.hpp>
#include <aether/temporal_head.hpp>
#include <aether/temporal_model.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace gate_model_test {

namespace {

using aether::Errc;
using aether::FastGrnnGate;
using aether::GateMode;
using aether::GateOptions;
using aether::ModelAttention;
using aether::ModelGate;
using aether::Pool;
using aether::TemporalHead;
using aether::TemporalHeadConfig;
using aether::TemporalModel;
using aether::Tensor3;
using aether_test::error_code_of;
using aether_test::token;
using Matrix = TemporalModel<float>::Matrix;
using Vector = TemporalModel<float>::Vector;

TemporalHeadConfig head_config(std::size_t kvh, GateMode mode, std::size_t top_k) {
  TemporalHeadConfig c;
  c.q_heads = 4;
  c.kv_heads = kvh;
  c.head_dim = 8;
  c.window = 4;
  c.block_size = 8;
  c.global_tokens = {0, 3};
  c.gate.mode = mode;
  c.gate.top_k = top_k;
  c.gate.hidden_dim = 6;
  return c;
}

/// Caller weights: the reference init of (8, 6) with every value perturbed.
std::vector<float> caller_weights() {
  std::vector<float> w = FastGrnnGate<float>(8, 6).packed();
  for (std::size_t e = 0; e < w.size(); ++e) w[e] = w[e] * 3.0f + 0.01f * static_cast<float>(e % 7);
  return w;
}

TEST(GatedHead, PrefillIsTheKernelsGatedForward) {
  for (GateMode mode : {GateMode::prune, GateMode::salient}) {
    TemporalHeadConfig c = head_config(2, mode, 5);
    c.gate.weights = caller_weights();
    const TemporalHead<float> head(c);
    ASSERT_NE(head.gate(), nullptr);
    EXPECT_EQ(head.gate()->packed(), c.gate.weights);
    const auto q = aether_ref::random_tensor<float>(60, 4, 8, 1), k = aether_ref::random_tensor<float>(60, 2, 8, 2),
               v = aether_ref::random_tensor<float>(60, 2, 8, 3);
    const aether::SparseAttention<float> attn(c.sparse_config());
    const Tensor3<float> want = attn.forward_gated(q, k, v, *head.gate(), 5, mode);
    const Tensor3<float> got = head.forward(q, k, v);
    ASSERT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0);
    Tensor3<float> into(60, 4, 8);
    aether::Workspace<float> ws;
    head.forward(q, k, v, into, ws);
    ASSERT_EQ(std::memcmp(into.data(), want.data(), want.size() * sizeof(float)), 0);
    // Not the ungated forward: the gate changes the result.
    TemporalHeadConfig off = c;
    off.gate.mode.reset();
    const Tensor3<float> ungated = TemporalHead<float>(off).forward(q, k, v);
    EXPECT_NE(std::memcmp(got.data(), ungated.data(), want.size() * sizeof(float)), 0);
  }
}

TEST(GatedHead, TopKBeyondNKeepsAllAndPruneThenEqualsUngated) {
  const auto q = aether_ref::random_tensor<float>(50, 4, 8, 4), k = aether_ref::random_tensor<float>(50, 1, 8, 5),
             v = aether_ref::random_tensor<float>(50, 1, 8, 6);
  TemporalHeadConfig c = head_config(1, GateMode::prune, 1000);
  const Tensor3<float> gated = TemporalHead<float>(c).forward(q, k, v);
  c.gate.mode.reset();
  const Tensor3<float> ungated = TemporalHead<float>(c).forward(q, k, v);
  EXPECT_EQ(std::memcmp(gated.data(), ungated.data(), gated.size() * sizeof(float)), 0);
}

TEST(GatedHead, StreamEqualsGatedPrefillBitForBit) {
  const std::size_t n = 48;
  int checked = 0;
  for (std::size_t kvh : {4, 2, 1}) {
    const auto q = aether_ref::random_tensor<float>(n, 4, 8, 10), v = aether_ref::random_tensor<float>(n, kvh, 8, 12);
    auto k = aether_ref::random_tensor<float>(n, kvh, 8, 11);
    k(n / 3, 0, 2) = std::numeric_limits<float>::quiet_NaN();  // NaN salience from here on (ranked -infinity)
    for (std::size_t top_k : {0, 1, 8, 48, 100}) {
      for (GateMode mode : {GateMode::prune, GateMode::salient}) {
        TemporalHeadConfig c = head_config(kvh, mode, top_k);
        if (top_k == 8) c.gate.weights = caller_weights();
        const TemporalHead<float> head(c);
        auto cache = head.make_cache(n);
        auto state = head.make_gate_state(n);
        aether::Workspace<float> ws, pws;
        Tensor3<float> out(1, 4, 8);
        for (std::size_t t = 0; t < n; ++t) {
          head.step(token(q, t), token(k, t), token(v, t), cache, state, out, ws);
          Tensor3<float> pre(t + 1, 4, 8);
          head.forward(q.view().slice(0, t + 1), k.view().slice(0, t + 1), v.view().slice(0, t + 1), pre, pws);
          ASSERT_EQ(std::memcmp(out.data(), pre.view().row(t, 0), 4 * 8 * sizeof(float)), 0)
              << "t " << t << " kv " << kvh << " top_k " << top_k << " salient " << (mode == GateMode::salient);
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 3 * 5 * 2 * 48);
}

TEST(GatedHead, EvictionMaskIsTopKOfHeldSaliences) {
  const std::size_t cap = 20, n = 90;
  const auto q = aether_ref::random_tensor<float>(n, 4, 8, 20), k = aether_ref::random_tensor<float>(n, 2, 8, 21),
             v = aether_ref::random_tensor<float>(n, 2, 8, 22);
  for (auto kind : {aether::Eviction::sliding_window, aether::Eviction::heavy_hitter}) {
    const TemporalHead<float> head(head_config(2, GateMode::salient, 4));
    auto cache = head.make_cache(cap, kind);
    auto state = head.make_gate_state(cap);
    for (std::size_t t = 0; t < n; ++t) {
      head.step(token(q, t), token(k, t), token(v, t), cache, state);
      std::vector<float> held(state.size());
      for (std::size_t s = 0; s < held.size(); ++s) held[s] = state.salience(s);
      const auto want = FastGrnnGate<float>::keep_top_k(held, 4);
      ASSERT_EQ(std::memcmp(state.keep(), want.data(), held.size()), 0) << "t " << t;
    }
    EXPECT_GT(cache.appended(), cache.size()) << "something was evicted";
  }
}

TEST(GatedHead, BadConfigurationsAreTypedErrors) {
  auto code = [](const TemporalHeadConfig& c) { return error_code_of([&] { TemporalHead<float> h(c); }); };
  TemporalHeadConfig c = head_config(1, GateMode::prune, 8);
  EXPECT_EQ(code(c), Errc::ok);
  TemporalHeadConfig dense = c;
  dense.backend = aether::Backend::Dense;
  EXPECT_EQ(code(dense), Errc::invalid_config);
  EXPECT_EQ(dense.check(), Errc::invalid_config);
  TemporalHeadConfig hidden0 = c;
  hidden0.gate.hidden_dim = 0;
  EXPECT_EQ(code(hidden0), Errc::invalid_config);
  TemporalHeadConfig short_w = c;
  short_w.gate.weights = caller_weights();
  short_w.gate.weights.pop_back();
  EXPECT_EQ(code(short_w), Errc::invalid_config);
  EXPECT_EQ(short_w.check(), Errc::invalid_config);
  try {
    TemporalHead<float> h(short_w);
  } catch (const aether::Error& e) {
    EXPECT_NE(std::string(e.what()).find("181 values, expected 182"), std::string::npos) << e.what();
  }
  TemporalHeadConfig nan_w = c;
  nan_w.gate.weights = caller_weights();
  nan_w.gate.weights[17] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(code(nan_w), Errc::invalid_config);
  try {
    TemporalHead<float> h(nan_w);
  } catch (const aether::Error& e) {
    EXPECT_NE(std::string(e.what()).find("weights[17]"), std::string::npos) << e.what();
  }
  // Wrong head_dim for the weights (the gate's input_dim is the head's head_dim).
  TemporalHeadConfig other_dim = c;
  other_dim.head_dim = 16;
  other_dim.gate.weights = caller_weights();
  EXPECT_EQ(code(other_dim), Errc::invalid_config);

  const TemporalHead<float> gated(c);
  auto cache = gated.make_cache(4);
  const auto x = aether_ref::random_tensor<float>(1, 4, 8, 1), kv = aether_ref::random_tensor<float>(1, 1, 8, 2);
  EXPECT_EQ(error_code_of([&] { gated.step(x, kv, kv, cache); }), Errc::invalid_config) << "ungated step, gated head";
  EXPECT_EQ(cache.size(), 0u);
  TemporalHeadConfig off = c;
  off.gate.mode.reset();
  EXPECT_EQ(error_code_of([&] { TemporalHead<float>(off).make_gate_state(4); }), Errc::invalid_config);
  // A gate state over a gate of another input_dim: shape_mismatch, nothing appended.
  const FastGrnnGate<float> wide(16, 6);
  aether::GateState<float> wrong(wide, GateOptions{}, 4);
  EXPECT_EQ(error_code_of([&] { gated.step(x, kv, kv, cache, wrong); }), Errc::shape_mismatch);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(wrong.size(), 0u);
}

// --- TemporalModel / TemporalStream ---------------------------------------

aether::rvne::Header shape(std::uint16_t layers, std::uint16_t kvh) {
  aether::rvne::Header h;
  h.input_dim = 12;
  h.q_heads = 4;
  h.kv_heads = kvh;
  h.head_dim = 8;
  h.layers = layers;
  h.classes = 3;
  return h;
}

Matrix frames(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Matrix x(static_cast<Eigen::Index>(n), 12);
  for (Eigen::Index e = 0; e < x.size(); ++e) x.data()[e] = u(rng);
  return x;
}

ModelAttention gated_attention(std::size_t top_k, GateMode mode, std::vector<std::vector<float>> layers = {}) {
  ModelAttention a;
  a.window = 4;
  a.block_size = 8;
  ModelGate g;
  g.options = GateOptions{top_k, mode};
  g.input_dim = 8;
  g.hidden_dim = 6;
  g.layers = std::move(layers);
  a.gate = g;
  return a;
}

/// Pushes every frame; returns for each t whether the stream's logits are
/// memcmp-equal to the gated forward over frames 0..t with Pool::last.
std::vector<bool> stream_vs_prefill(const TemporalModel<float>& model, const Matrix& x) {
  auto stream = model.make_stream(static_cast<std::size_t>(x.rows()));
  std::vector<bool> equal;
  for (Eigen::Index t = 0; t < x.rows(); ++t) {
    const Vector got = stream.push(x.row(t).transpose());
    const Vector want = model.forward(x.topRows(t + 1), Pool::last);
    equal.push_back(std::memcmp(got.data(), want.data(), sizeof(float) * 3) == 0);
  }
  return equal;
}

TEST(GatedModel, OneLayerStreamEqualsGatedForwardBitForBit) {
  const Matrix x = frames(64, 3);
  for (std::uint16_t kvh : {4, 2, 1}) {
    for (std::size_t top_k : {0, 1, 8, 64}) {
      for (GateMode mode : {GateMode::prune, GateMode::salient}) {
        const TemporalModel<float> model(aether::rvne::init_random(shape(1, kvh), 5), gated_attention(top_k, mode));
        ASSERT_TRUE(model.gated());
        const std::vector<bool> eq = stream_vs_prefill(model, x);
        for (std::size_t t = 0; t < eq.size(); ++t) {
          ASSERT_TRUE(eq[t]) << "t " << t << " kv " << kvh << " top_k " << top_k << " salient "
                             << (mode == GateMode::salient);
        }
      }
    }
  }
}

TEST(GatedModel, DeeperStreamEqualsGatedForwardWhenNoTokenLeavesTheSet) {
  const Matrix x = frames(40, 4);
  const auto blob = aether::rvne::init_random(shape(3, 2), 6);
  for (std::size_t top_k : {0, 40, 1000}) {
    for (GateMode mode : {GateMode::prune, GateMode::salient}) {
      const TemporalModel<float> model(blob, gated_attention(top_k, mode));
      const std::vector<bool> eq = stream_vs_prefill(model, x);
      for (std::size_t t = 0; t < eq.size(); ++t) ASSERT_TRUE(eq[t]) << "t " << t << " top_k " << top_k;
    }
  }
  // The documented difference (TemporalStream, docs/gate.md): with a set that
  // later tokens change, a prefill's earlier rows see the whole window's
  // top-k and the stream's do not, so some deeper rows differ.
  const TemporalModel<float> model(blob, gated_attention(2, GateMode::salient));
  const std::vector<bool> eq = stream_vs_prefill(model, x);
  EXPECT_TRUE(eq[0] && eq[1]);
  EXPECT_NE(std::count(eq.begin(), eq.end(), false), 0);
}

TEST(GatedModel, PerLayerWeightsAndUngatedUnchanged) {
  const auto blob = aether::rvne::init_random(shape(2, 1), 7);
  std::vector<float> w0 = caller_weights(), w1 = FastGrnnGate<float>(8, 6).packed();
  const TemporalModel<float> per_layer(blob, gated_attention(3, GateMode::prune, {w0, w1}));
  EXPECT_EQ(per_layer.gate(0).packed(), w0);
  EXPECT_EQ(per_layer.gate(1).packed(), w1);
  const TemporalModel<float> shared(blob, gated_attention(3, GateMode::prune, {w0}));
  EXPECT_EQ(shared.gate(1).packed(), w0);
  const TemporalModel<float> init(blob, gated_attention(3, GateMode::prune));
  EXPECT_EQ(init.gate(0).packed(), w1);
  // Copies keep their gates; the ungated model is not gated.
  const TemporalModel<float> copy = per_layer;
  EXPECT_EQ(copy.gate(0).packed(), w0);
  const Matrix x = frames(30, 8);
  EXPECT_EQ(copy.forward(x, Pool::last), per_layer.forward(x, Pool::last));
  const TemporalModel<float> plain(blob);
  EXPECT_FALSE(plain.gated());
  EXPECT_NE(plain.forward(x, Pool::last), per_layer.forward(x, Pool::last));
}

TEST(GatedModel, StreamEvictionMaskIsTopKOfHeldSaliences) {
  const TemporalModel<float> model(aether::rvne::init_random(shape(2, 2), 9), gated_attention(3, GateMode::prune));
  const Matrix x = frames(70, 10);
  auto stream = model.make_stream(16, aether::Eviction::sliding_window);
  for (Eigen::Index t = 0; t < x.rows(); ++t) {
    stream.push(x.row(t).transpose());
    for (std::size_t l = 0; l < 2; ++l) {
      const auto& st = stream.gate_state(l);
      ASSERT_EQ(st.size(), stream.size());
      std::vector<float> held(st.size());
      for (std::size_t s = 0; s < held.size(); ++s) held[s] = st.salience(s);
      const auto want = FastGrnnGate<float>::keep_top_k(held, 3);
      ASSERT_EQ(std::memcmp(st.keep(), want.data(), held.size()), 0) << "t " << t << " layer " << l;
    }
  }
  EXPECT_GT(stream.pushed(), stream.size());
  stream.reset();
  EXPECT_EQ(stream.gate_state(0).size(), 0u);
}

TEST(GatedModel, BadGatesAreTypedErrors) {
  const auto blob = aether::rvne::init_random(shape(2, 1), 11);
  auto code = [&](const ModelAttention& a) { return error_code_of([&] { TemporalModel<float> m(blob, a); }); };
  EXPECT_EQ(code(gated_attention(3, GateMode::prune)), Errc::ok);
  ModelAttention dim = gated_attention(3, GateMode::prune);
  dim.gate->input_dim = 16;  // gate input_dim != head_dim
  EXPECT_EQ(code(dim), Errc::shape_mismatch);
  ModelAttention hidden0 = gated_attention(3, GateMode::prune);
  hidden0.gate->hidden_dim = 0;
  EXPECT_EQ(code(hidden0), Errc::invalid_config);
  const std::vector<float> w = caller_weights();
  EXPECT_EQ(code(gated_attention(3, GateMode::prune, {w, w, w})), Errc::invalid_config) << "3 sets, 2 layers";
  std::vector<float> short_w = w;
  short_w.resize(w.size() - 1);
  EXPECT_EQ(code(gated_attention(3, GateMode::prune, {w, short_w})), Errc::invalid_config);
  std::vector<float> nan_w = w;
  nan_w[5] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(code(gated_attention(3, GateMode::prune, {nan_w})), Errc::invalid_config);
  ModelAttention dense = gated_attention(3, GateMode::prune);
  dense.backend = aether::Backend::Dense;
  EXPECT_EQ(code(dense), Errc::invalid_config);
  aether::rvne::ParseResult why;
  EXPECT_EQ(TemporalModel<float>::check(blob.header, blob.weights.size(), dim, &why), Errc::shape_mismatch);
  EXPECT_NE(std::string(why.message).find("input_dim 16 against the blob's head_dim 8"), std::string::npos)
      << why.message;

  const TemporalModel<float> model(blob, gated_attention(3, GateMode::prune));
  TemporalModel<float>::Trace trace;
  EXPECT_EQ(error_code_of([&] { model.forward(frames(5, 1), Pool::mean, &trace); }), Errc::invalid_argument);
  // step_frame without gate states.
  std::vector<aether::KvCache<float>> caches;
  for (int l = 0; l < 2; ++l) caches.push_back(model.head().make_cache(4));
  Vector xv = frames(1, 2).row(0).transpose(), scratch(static_cast<Eigen::Index>(model.scratch_size())), logits(3);
  Tensor3<float> q(1, 4, 8), k(1, 1, 8), v(1, 1, 8), a(1, 4, 8);
  aether::Workspace<float> ws;
  EXPECT_EQ(error_code_of([&] {
              model.step_frame(xv.data(), caches.data(), q, k, v, a, scratch.data(), ws, logits.data());
            }),
            Errc::invalid_argument);
  EXPECT_EQ(caches[0].size(), 0u);
  // A full stream refuses and stays unchanged, gates included.
  auto stream = model.make_stream(2);
  const Matrix x = frames(3, 12);
  stream.push(x.row(0).transpose());
  stream.push(x.row(1).transpose());
  const std::vector<float> h = stream.gate_state(0).hidden();
  EXPECT_EQ(error_code_of([&] { stream.push(x.row(2).transpose()); }), Errc::cache_full);
  EXPECT_EQ(stream.gate_state(0).hidden(), h);
  EXPECT_EQ(stream.gate_state(0).size(), 2u);
}

}  // namespace

}  // namespace gate_model_test
