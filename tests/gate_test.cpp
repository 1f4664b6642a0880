// FastGRNN salience gate (GATE.md): the reference's vectors
// (tests/data/gate-v0.1.1), the deterministic init bit for bit, weight
// validation, keep masks (ties, NaN), GQA/MQA, the salient mode against an
// independent float64 evaluation, and the allocation-free workspace path.
// The suite FAILS when the data folder is missing.
#include "gate_conformance_data.hpp"
#include "reference_attention.hpp"
#include "test_support.hpp"

#include <aether/fast_grnn_gate.hpp>
#include <aether/gate_file.hpp>
#include <aether/sparse_attention.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace aether_test {
inline void PrintTo(const GateCase& c, std::ostream* os) { *os << c.name; }
}  // namespace aether_test

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace gate_test {

namespace {

using aether::Errc;
using aether::FastGrnnGate;
using aether::GateMode;
using aether::SparseAttention;
using aether::SparseConfig;
using aether::Tensor3;
using aether_test::GateCase;
using Gate = FastGrnnGate<float>;

const std::string kDir = std::string(AETHER_TEST_DATA_DIR) + "/gate-v0.1.1";
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<GateCase> cases_or_empty() {
  try {
    return aether_test::load_gate_cases(kDir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gate_test: %s\n", e.what());
    return {};  // GateData.FolderIsPresentAndComplete then fails
  }
}

TEST(GateData, FolderIsPresentAndComplete) {
  std::vector<GateCase> cases;
  ASSERT_NO_THROW(cases = aether_test::load_gate_cases(kDir)) << "gate conformance data missing in " << kDir;
  EXPECT_EQ(cases.size(), 5u) << "cases.txt of gate-v0.1.1 lists 5 cases";
  EXPECT_TRUE(aether_test::is_gate_folder(kDir));
  EXPECT_FALSE(aether_test::is_gate_folder(std::string(AETHER_TEST_DATA_DIR) + "/upstream-v0.1.1"));
  int files = 0;
  for (const auto& c : cases) {
    for (const char* ext : {".q.f32", ".k.f32", ".v.f32", ".out.f32", ".salience.f32", ".keep_topk.u8", ".keep_q.u8"}) {
      std::ifstream f(kDir + "/" + c.name + ext, std::ios::binary);
      EXPECT_TRUE(f.good()) << "missing " << c.name << ext;
    }
    files += c.weights == "file";
  }
  EXPECT_EQ(files, 2) << "two cases give explicit weights";
  EXPECT_THROW(aether_test::load_gate_cases(kDir + "/does-not-exist"), std::runtime_error);
}

class GateConformance : public ::testing::TestWithParam<GateCase> {};

TEST_P(GateConformance, MatchesReference) {
  const GateCase& c = GetParam();
  aether_test::GateResult r;
  ASSERT_NO_THROW(r = aether_test::run_gate_case(kDir, c));
  std::printf("[ gate ] %-20s salience_rel=%.3e topk_diff=%zu q_diff=%zu out_err=%.3e\n", c.name.c_str(),
              r.salience_rel_error, r.topk_mismatches, r.quantile_mismatches, r.out_error);
  EXPECT_LE(r.salience_rel_error, 1e-5) << c.name << ": salience vs reference (relative)";
  EXPECT_EQ(r.topk_mismatches, 0u) << c.name << ": keep_top_k mask";
  EXPECT_EQ(r.quantile_mismatches, 0u) << c.name << ": keep_quantile mask";
  EXPECT_LE(r.out_error, 2e-5) << c.name << ": forward_gated output";
  EXPECT_TRUE(r.ok());

  // Independent float64 evaluation of the gated pattern with our mask.
  const std::string base = kDir + "/" + c.name;
  const auto q = aether_test::load_f32(base + ".q.f32", c.seq, c.q_heads, c.dim);
  const auto k = aether_test::load_f32(base + ".k.f32", c.seq, c.kv_heads, c.dim);
  const auto v = aether_test::load_f32(base + ".v.f32", c.seq, c.kv_heads, c.dim);
  const auto ref = aether_ref::reference_sparse<float>(c.cfg, q, k, v, r.keep_topk.data());
  EXPECT_LE((aether_ref::max_diff<float, double>(r.out, ref).max), 1e-5);

  // The workspace path: same bits, and the workspace's salience/mask are the call's.
  SparseAttention<float> attn(c.cfg);
  const auto gate = aether_test::gate_of(kDir, c);
  aether::Workspace<float> ws;
  Tensor3<float> out(c.seq, c.q_heads, c.dim);
  attn.forward_gated(q, k, v, gate, aether::GateOptions{c.top_k, GateMode::prune}, out, ws);
  EXPECT_EQ(aether_ref::bit_mismatch<float>(out, r.out), "");
  EXPECT_EQ(std::memcmp(ws.gate.salience.data(), r.salience.data(), c.seq * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(ws.gate.keep.data(), r.keep_topk.data(), c.seq), 0);
}

INSTANTIATE_TEST_SUITE_P(GateV011, GateConformance, ::testing::ValuesIn(cases_or_empty()),
                         [](const ::testing::TestParamInfo<GateCase>& p) { return p.param.name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GateConformance);  // missing data fails FolderIsPresentAndComplete

// The README formula, written out independently: seed(i) in f32.
float readme_seed(std::uint32_t i, std::size_t in, std::size_t hid) {
  const float s = std::sqrt(2.0f / float(in + hid));
  const std::uint32_t u = i * 2654435761u + 0x9e3779b9u;  // mod 2^32
  float x = float(u) / 4294967296.0f;
  x = x - 0.5f;
  x = x * 2.0f;
  x = x * s;
  return x * 0.1f;
}

TEST(GateInit, BitIdenticalToReadmeFormula) {
  const std::size_t shapes[][2] = {{8, 16}, {32, 32}, {16, 12}, {3, 50}, {64, 64}, {1, 1}};
  for (const auto& sh : shapes) {
    const std::size_t I = sh[0], H = sh[1];
    std::vector<float> want;
    for (std::uint32_t off : {0u, 1000u, 2000u, 3000u}) {
      const std::size_t len = (off == 0 || off == 2000) ? H * I : H * H;
      for (std::size_t i = 0; i < len; ++i) want.push_back(readme_seed(std::uint32_t(i) + off, I, H));
    }
    for (std::size_t i = 0; i < 2 * H; ++i) want.push_back(0.0f);
    want.push_back(1.0f);
    want.push_back(0.0f);
    const auto got = Gate(I, H).packed();
    ASSERT_EQ(got.size(), Gate::packed_size(I, H));
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << "I " << I << " H " << H;
  }
  // Seed overlap at I = H = 32 (I*H = 1024 > 1000): w_gate[i + 1000] == u_gate[i].
  const auto w = Gate(32, 32).packed();
  for (std::size_t i = 0; i < 24; ++i) EXPECT_EQ(w[i + 1000], w[1024 + i]) << i;
}

TEST(GateWeights, PackedRoundTripAndFile) {
  GateCase c;
  c.name = "gate_file_bias";
  c.dim = 16;
  c.gate_hidden = 12;
  c.weights = "file";
  const auto w = aether_test::gate_of(kDir, c).packed();
  ASSERT_EQ(w.size(), Gate::packed_size(16, 12));
  const auto g = Gate::from_packed(16, 12, w.data(), w.size());
  EXPECT_EQ(g.packed(), w);
  EXPECT_NE(w[w.size() - 2], 1.0f) << "gate_file_bias has zeta 0.8";
  EXPECT_EQ(aether_test::error_code_of([] { aether::read_gate_file(kDir + "/nope.gate.f32", 16, 12); }), Errc::io_error);
  // The right file with the wrong dimensions: a size error naming both sizes.
  try {
    aether::read_gate_file(kDir + "/gate_file_bias.gate.f32", 16, 13);
    ADD_FAILURE() << "no error";
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("2792 bytes"), std::string::npos) << e.what();
  }
}

TEST(GateWeights, EveryShapeAndValueIsChecked) {
  const std::size_t I = 4, H = 3;
  std::vector<float> wg(H * I, 0.1f), ug(H * H, 0.1f), wu(H * I, 0.1f), uu(H * H, 0.1f), bg(H, 0.f), bu(H, 0.f);
  EXPECT_NO_THROW(Gate::from_weights(I, H, wg, ug, wu, uu, bg, bu, 1.f, 0.f));
  auto message = [&](auto f) {
    try {
      f();
    } catch (const aether::Error& e) {
      EXPECT_EQ(e.code(), Errc::invalid_argument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::vector<float> bad(5, 0.f);
  EXPECT_NE(message([&] { Gate::from_weights(I, H, bad, ug, wu, uu, bg, bu, 1.f, 0.f); }).find("w_gate has 5 values, expected 12"),
            std::string::npos);
  EXPECT_NE(message([&] { Gate::from_weights(I, H, wg, bad, wu, uu, bg, bu, 1.f, 0.f); }).find("u_gate has 5 values, expected 9"),
            std::string::npos);
  EXPECT_NE(message([&] { Gate::from_weights(I, H, wg, ug, bad, uu, bg, bu, 1.f, 0.f); }).find("w_update has 5"),
            std::string::npos);
  EXPECT_NE(message([&] { Gate::from_weights(I, H, wg, ug, wu, bad, bg, bu, 1.f, 0.f); }).find("u_update has 5"),
            std::string::npos);
  EXPECT_NE(message([&] { Gate::from_weights(I, H, wg, ug, wu, uu, bad, bu, 1.f, 0.f); }).find("bias_gate has 5"),
            std::string::npos);
  EXPECT_NE(message([&] { Gate::from_weights(I, H, wg, ug, wu, uu, bg, bad, 1.f, 0.f); }).find("bias_update has 5"),
            std::string::npos);
  auto nan_u = uu;
  nan_u[7] = kNaN;
  EXPECT_NE(message([&] { Gate::from_weights(I, H, wg, ug, wu, nan_u, bg, bu, 1.f, 0.f); }).find("u_update[7] is not finite"),
            std::string::npos);
  EXPECT_NE(message([&] { Gate::from_weights(I, H, wg, ug, wu, uu, bg, bu, kNaN, 0.f); }).find("zeta"), std::string::npos);
  EXPECT_NE(message([&] { Gate::from_weights(I, H, wg, ug, wu, uu, bg, bu, 1.f, INFINITY); }).find("nu"),
            std::string::npos);
  EXPECT_NE(message([] { Gate(0, 3); }).find("input_dim=0"), std::string::npos);
  EXPECT_NE(message([] { Gate(3, 0); }).find("hidden_dim=0"), std::string::npos);
  std::vector<float> packed(Gate::packed_size(I, H) - 1, 0.f);
  EXPECT_NE(message([&] { Gate::from_packed(I, H, packed.data(), packed.size()); }).find("49 values, expected"),
            std::string::npos);
}

TEST(GateForward, GateWidthMustBeHeadDim) {
  const auto q = aether_ref::random_tensor<float>(16, 2, 8, 1), k = aether_ref::random_tensor<float>(16, 2, 8, 2);
  SparseAttention<float> attn(SparseConfig{});
  EXPECT_EQ(aether_test::error_code_of([&] { attn.forward_gated(q, k, k, Gate(16, 4), 4); }), Errc::shape_mismatch);
  EXPECT_EQ(aether_test::error_code_of([&] { Gate(16, 4).score_kv(k); }), Errc::shape_mismatch);
  // top_k beyond n keeps every token (documented): equals the ungated forward.
  EXPECT_EQ(aether_ref::bit_mismatch<float>(attn.forward_gated(q, k, k, Gate(8, 4), 1000), attn.forward(q, k, k)), "");
}

TEST(GateMasks, TopKTiesZeroAllAndNaN) {
  const std::vector<float> s = {0.5f, 0.9f, 0.5f, 0.9f, 0.1f, 0.5f};
  EXPECT_EQ(Gate::keep_top_k(s, 0), (std::vector<std::uint8_t>{0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Gate::keep_top_k(s, 3), (std::vector<std::uint8_t>{1, 1, 0, 1, 0, 0}));  // ties to the lower index
  EXPECT_EQ(Gate::keep_top_k(s, 4), (std::vector<std::uint8_t>{1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(Gate::keep_top_k(s, 6), (std::vector<std::uint8_t>{1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(Gate::keep_top_k(s, 99), (std::vector<std::uint8_t>{1, 1, 1, 1, 1, 1}));
  // NaN ranks as -infinity: taken last, ties among NaN (and -inf) by lower index.
  const std::vector<float> n = {kNaN, 0.2f, -INFINITY, kNaN, -5.f};
  EXPECT_EQ(Gate::keep_top_k(n, 2), (std::vector<std::uint8_t>{0, 1, 0, 0, 1}));
  EXPECT_EQ(Gate::keep_top_k(n, 3), (std::vector<std::uint8_t>{1, 1, 0, 0, 1}));
  EXPECT_EQ(Gate::keep_top_k(n, 4), (std::vector<std::uint8_t>{1, 1, 1, 0, 1}));
  // A long vector with NaN (the reference aborts beyond 20 entries): deterministic.
  std::vector<float> big(200);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = i % 7 == 0 ? kNaN : float(i % 13);
  const auto m = Gate::keep_top_k(big, 50);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < big.size(); ++i) {
    kept += m[i];
    if (std::isnan(big[i])) {
      EXPECT_EQ(m[i], 0) << i;
    }
  }
  EXPECT_EQ(kept, 50u);
}

TEST(GateMasks, QuantileRules) {
  const std::vector<float> s = {3.f, 1.f, 2.f, 2.f, 5.f};
  EXPECT_EQ(Gate::keep_quantile(s, 0.f), (std::vector<std::uint8_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(Gate::keep_quantile(s, -3.f), (std::vector<std::uint8_t>{1, 1, 1, 1, 1}));  // clamped to 0
  EXPECT_EQ(Gate::keep_quantile(s, 0.3f), (std::vector<std::uint8_t>{1, 0, 1, 1, 1}));  // idx 1 -> 2, ties kept
  EXPECT_EQ(Gate::keep_quantile(s, 1.f), (std::vector<std::uint8_t>{0, 0, 0, 0, 1}));
  EXPECT_EQ(Gate::keep_quantile(s, 7.f), (std::vector<std::uint8_t>{0, 0, 0, 0, 1}));  // clamped to 1
  EXPECT_EQ(Gate::keep_quantile(s, kNaN), (std::vector<std::uint8_t>{1, 1, 1, 1, 1}));  // NaN q as 0
  EXPECT_TRUE(Gate::keep_quantile({}, 0.5f).empty());
  // f32 product: 100 * 0.7f == 70 exactly in float (69 in double).
  std::vector<float> r(100);
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = float(i);
  const auto m = Gate::keep_quantile(r, 0.7f);
  EXPECT_EQ(m[69], 0);
  EXPECT_EQ(m[70], 1);
  // NaN salience sorts and compares as -infinity.
  const std::vector<float> n = {kNaN, 1.f, 2.f, kNaN};
  EXPECT_EQ(Gate::keep_quantile(n, 0.5f), (std::vector<std::uint8_t>{0, 1, 1, 0}));  // idx 2 -> 1
  EXPECT_EQ(Gate::keep_quantile(n, 0.25f), (std::vector<std::uint8_t>{1, 1, 1, 1}));  // idx 1 -> -inf: NaN kept
}

TEST(GateForward, NaNKeysGiveNaNSalienceNotACrash) {
  auto q = aether_ref::random_tensor<float>(40, 2, 8, 3), k = aether_ref::random_tensor<float>(40, 2, 8, 4);
  k(10, 1, 3) = kNaN;
  const Gate g(8, 6);
  const auto s = g.score_kv(k);
  for (std::size_t t = 0; t < 10; ++t) EXPECT_FALSE(std::isnan(s[t]));
  for (std::size_t t = 10; t < 40; ++t) EXPECT_TRUE(std::isnan(s[t])) << "the hidden state carries NaN on";
  SparseConfig cfg;
  cfg.window = 3;
  cfg.block_size = 8;
  SparseAttention<float> attn(cfg);
  const auto out = attn.forward_gated(q, k, k, g, 12, GateMode::salient);
  const auto keep = Gate::keep_top_k(s, 12);
  // 10 finite tokens, then NaN ones by lower index: 10 and 11 fill top_k 12.
  for (std::size_t t = 0; t < 40; ++t) EXPECT_EQ(keep[t], t < 12 ? 1 : 0) << "NaN tokens are taken last, t " << t;
  EXPECT_FALSE(std::isnan(out(5, 0, 0)));
}

// Salient mode against float64: window, globals, i, kept tokens (<= i when
// causal) and the usual landmark blocks.
void check_salient(const SparseConfig& cfg, std::size_t n, std::size_t qh, std::size_t kvh, std::size_t top_k) {
  const std::size_t d = 8;
  const auto q = aether_ref::random_tensor<float>(n, qh, d, 11), k = aether_ref::random_tensor<float>(n, kvh, d, 12),
             v = aether_ref::random_tensor<float>(n, kvh, d, 13);
  const Gate g(d, 5);
  const auto keep = Gate::keep_top_k(g.score_kv(k), top_k);
  SparseConfig no_log = cfg;
  no_log.log_stride = false;
  const auto ref = aether_ref::reference_attention<float>(
      q, k, v,
      [&](std::size_t i) {
        auto c = aether_ref::brute_candidates(cfg, i, n);
        c.tokens = aether_ref::brute_candidates(no_log, i, n).tokens;
        for (std::size_t j = 0; j < n; ++j) {
          if (keep[j] != 0 && (!cfg.causal || j <= i)) c.tokens.insert(j);
        }
        return c;
      },
      cfg.landmarks ? cfg.block_size : 0);
  SparseAttention<float> attn(cfg);
  const auto out = attn.forward_gated(q, k, v, g, top_k, GateMode::salient);
  EXPECT_LE((aether_ref::max_diff<float, double>(out, ref).max), 1e-5)
      << "n " << n << " heads " << qh << "/" << kvh << " top_k " << top_k << " causal " << cfg.causal;
}

TEST(GateSalient, MatchesFloat64Rule) {
  SparseConfig cfg;
  cfg.window = 4;
  cfg.block_size = 8;
  cfg.global_tokens = {0, 9, 9, 500};
  for (bool causal : {true, false}) {
    cfg.causal = causal;
    for (std::size_t top_k : {0, 1, 5, 20, 200}) {
      check_salient(cfg, 70, 4, 4, top_k);
      check_salient(cfg, 70, 4, 2, top_k);
      check_salient(cfg, 70, 4, 1, top_k);
    }
  }
}

TEST(GateSalient, DiffersFromPruneAndBoundsCandidates) {
  SparseConfig cfg;
  cfg.window = 4;
  cfg.block_size = 8;
  const std::size_t n = 300;
  const auto q = aether_ref::random_tensor<float>(n, 2, 8, 5), k = aether_ref::random_tensor<float>(n, 2, 8, 6);
  SparseAttention<float> attn(cfg);
  const Gate g(8, 6);
  EXPECT_NE(aether_ref::bit_mismatch<float>(attn.forward_gated(q, k, k, g, 8, GateMode::salient),
                                            attn.forward_gated(q, k, k, g, 8, GateMode::prune)),
            "");
  // Every query sees at most window + 1 + |G| + top_k tokens.
  const auto keep = Gate::keep_top_k(g.score_kv(k), 8);
  std::vector<std::uint32_t> kept;
  for (std::size_t j = 0; j < n; ++j) {
    if (keep[j]) kept.push_back(std::uint32_t(j));
  }
  aether::SparsePattern p(cfg);
  aether::Candidates c;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t key = aether::SparsePattern::kNoKey;
    p.salient_candidates(i, n, c, key, kept.data(), kept.size());
    EXPECT_LE(c.tokens.size(), cfg.window + 1 + 1 + 8);
    EXPECT_TRUE(std::is_sorted(c.tokens.begin(), c.tokens.end()));
    EXPECT_TRUE(std::adjacent_find(c.tokens.begin(), c.tokens.end()) == c.tokens.end());
  }
}

TEST(GateForward, GqaEqualsRepeatedKvHeads) {
  SparseConfig cfg;
  cfg.window = 3;
  cfg.block_size = 8;
  const std::size_t n = 64, qh = 4, d = 8;
  for (std::size_t kvh : {2, 1}) {
    const auto q = aether_ref::random_tensor<float>(n, qh, d, 21), k = aether_ref::random_tensor<float>(n, kvh, d, 22),
               v = aether_ref::random_tensor<float>(n, kvh, d, 23);
    const Gate g(d, 6);
    const auto keep = Gate::keep_top_k(g.score_kv(k), 6);  // pooled over the real kv heads
    const auto kr = aether_ref::repeat_heads<float>(k, qh / kvh), vr = aether_ref::repeat_heads<float>(v, qh / kvh);
    SparseAttention<float> attn(cfg);
    // Prune mode (salient GQA is checked against float64 in GateSalient).
    const auto gqa = attn.forward_gated(q, k, v, g, 6);
    const auto mha = attn.forward_gated(q, kr, vr, keep);
    EXPECT_LE((aether_ref::max_diff<float, float>(gqa, mha).max), 1e-6) << "kv_heads " << kvh;
  }
}

}  // namespace

}  // namespace gate_test
