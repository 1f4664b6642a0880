// Gated stream (GATE.md, "Streaming"): GateState + SparseAttention::decode_gated
// row t == row t of the causal gated prefill over tokens 0..t, memcmp-equal,
// both modes, MHA/GQA/MQA, top_k 0, 1, 8, >= T, with tied and NaN salience;
// with eviction the mask equals a brute-force top-k over the held saliences.
#include "reference_attention.hpp"
#include "test_support.hpp"

#include <aether/gate_state.hpp>
#include <aether/sparse_attention.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace gate_stream_test {

namespace {

using aether::FastGrnnGate;
using aether::GateMode;
using aether::GateOptions;
using aether::GateState;
using aether::KvCache;
using aether::SparseAttention;
using aether::SparseConfig;
using aether::Tensor3;

enum class Keys { random, ties, nan };

Tensor3<float> keys(std::size_t n, std::size_t kvh, std::size_t d, Keys kind) {
  auto k = aether_ref::random_tensor<float>(n, kvh, d, 31);
  if (kind == Keys::ties) {  // period-5 keys: the gate with u_update 0, gf 0 gives exact ties
    for (std::size_t t = 5; t < n; ++t) std::memcpy(k.view().row(t, 0), k.view().row(t % 5, 0), kvh * d * sizeof(float));
  }
  if (kind == Keys::nan) k(n / 2, 0, 1) = std::numeric_limits<float>::quiet_NaN();
  return k;
}

FastGrnnGate<float> gate_for(std::size_t d, Keys kind) {
  if (kind != Keys::ties) return FastGrnnGate<float>(d, 6);
  const std::size_t H = 6;
  std::vector<float> w = FastGrnnGate<float>(d, H).packed();
  for (std::size_t e = 0; e < H * H; ++e) w[2 * H * d + H * H + e] = 0.f;  // u_update = 0
  for (std::size_t e = 0; e < H * H; ++e) w[H * d + e] = 0.f;              // u_gate = 0
  w[w.size() - 2] = 0.f;                                                  // zeta 0
  w[w.size() - 1] = -0.5f;                                                // nu -0.5: gf = 0
  return FastGrnnGate<float>::from_packed(d, H, w.data(), w.size());
}

TEST(GateStream, EqualsGatedPrefillBitForBit) {
  SparseConfig cfg;
  cfg.window = 4;
  cfg.block_size = 8;
  cfg.global_tokens = {0, 3};
  const std::size_t n = 70, qh = 4, d = 8;
  SparseAttention<float> attn(cfg);
  int checked = 0;
  for (std::size_t kvh : {4, 2, 1}) {
    for (Keys kind : {Keys::random, Keys::ties, Keys::nan}) {
      const auto q = aether_ref::random_tensor<float>(n, qh, d, 30);
      const auto k = keys(n, kvh, d, kind), v = aether_ref::random_tensor<float>(n, kvh, d, 32);
      const auto gate = gate_for(d, kind);
      for (std::size_t top_k : {0, 1, 8, 70, 500}) {
        for (GateMode mode : {GateMode::prune, GateMode::salient}) {
          KvCache<float> cache(n, kvh, d, cfg.block_size);
          GateState<float> st(gate, GateOptions{top_k, mode}, n);
          aether::Workspace<float> ws, pws;
          Tensor3<float> out(1, qh, d);
          for (std::size_t t = 0; t < n; ++t) {
            st.append(cache, aether_test::token(k, t), aether_test::token(v, t));
            attn.decode_gated(aether_test::token(q, t), cache, st, out, ws);
            Tensor3<float> pre(t + 1, qh, d);
            attn.forward_gated(q.view().slice(0, t + 1), k.view().slice(0, t + 1), v.view().slice(0, t + 1), gate,
                               GateOptions{top_k, mode}, pre, pws);
            ASSERT_EQ(std::memcmp(out.data(), pre.view().row(t, 0), qh * d * sizeof(float)), 0)
                << "t " << t << " kv " << kvh << " top_k " << top_k << " salient " << (mode == GateMode::salient)
                << " keys " << int(kind);
            ASSERT_EQ(std::memcmp(st.keep(), pws.gate.keep.data(), t + 1), 0) << "mask at t " << t;
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 3 * 3 * 5 * 2 * 70);
}

TEST(GateStream, EvictionMaskIsTopKOfHeldSaliences) {
  SparseConfig cfg;
  cfg.window = 4;
  cfg.block_size = 4;
  const std::size_t cap = 24, qh = 2, kvh = 1, d = 8, n = 120;
  SparseAttention<float> attn(cfg);
  const auto q = aether_ref::random_tensor<float>(n, qh, d, 40);
  const auto k = keys(n, kvh, d, Keys::nan), v = aether_ref::random_tensor<float>(n, kvh, d, 42);
  const FastGrnnGate<float> gate(d, 6);
  for (auto policy : {aether::EvictionPolicy::sliding_window(1), aether::EvictionPolicy::heavy_hitter(4, 1)}) {
    for (GateMode mode : {GateMode::prune, GateMode::salient}) {
      KvCache<float> cache(cap, kvh, d, cfg.block_size, policy);
      GateState<float> st(gate, GateOptions{5, mode}, cap);
      aether::Workspace<float> ws;
      Tensor3<float> out(1, qh, d);
      for (std::size_t t = 0; t < n; ++t) {
        st.append(cache, aether_test::token(k, t), aether_test::token(v, t));
        attn.decode_gated(aether_test::token(q, t), cache, st, out, ws);
        ASSERT_EQ(st.size(), cache.size());
        std::vector<float> held(st.size());
        for (std::size_t s = 0; s < held.size(); ++s) held[s] = st.salience(s);
        const auto want = FastGrnnGate<float>::keep_top_k(held, 5);
        ASSERT_EQ(std::memcmp(st.keep(), want.data(), held.size()), 0) << "t " << t;
        std::vector<std::uint32_t> kept;
        for (std::size_t s = 0; s < held.size(); ++s) {
          if (want[s]) kept.push_back(std::uint32_t(s));
        }
        ASSERT_EQ(st.kept(), kept) << "t " << t;
      }
      EXPECT_GT(cache.appended(), cache.size()) << "something was evicted";
    }
  }
}

TEST(GateStream, FullCacheLeavesStateUnchanged) {
  const std::size_t d = 8;
  const FastGrnnGate<float> gate(d, 4);
  KvCache<float> cache(2, 1, d, 4);
  GateState<float> st(gate, GateOptions{1, GateMode::prune}, 2);
  const auto k = aether_ref::random_tensor<float>(3, 1, d, 1);
  st.append(cache, aether_test::token(k, 0), aether_test::token(k, 0));
  st.append(cache, aether_test::token(k, 1), aether_test::token(k, 1));
  const auto h = st.hidden();
  EXPECT_EQ(aether_test::error_code_of([&] { st.append(cache, aether_test::token(k, 2), aether_test::token(k, 2)); }),
            aether::Errc::cache_full);
  EXPECT_EQ(st.hidden(), h);
  EXPECT_EQ(st.size(), 2u);
  KvCache<float> other(3, 1, d, 4);
  EXPECT_EQ(aether_test::error_code_of([&] { st.append(other, aether_test::token(k, 2), aether_test::token(k, 2)); }),
            aether::Errc::shape_mismatch);
}

}  // namespace

}  // namespace gate_stream_test
