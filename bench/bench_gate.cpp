// bench_gate: the FastGRNN salience gate (GATE.md) on the seed shape (4 query
// heads over 4 kv heads x 32 dims, W16 B32, globals {0}, causal; the
// deterministic inputs of bench_common.hpp), top_k 8, gate hidden H = 16, 32.
//
//   ungated/N        SparseAttention::forward (prefill) at N
//   prune_hH/N       forward_gated, prune mode (the reference): gate + mask + attention
//   salient_hH/N     forward_gated, salient mode (kept tokens replace log-stride)
//   gate_hH/N        FastGrnnGate::score_kv alone (the gate's own time)
//   stream_{ungated,prune,salient}_hH/T
//                    one streaming step at cache length T (TemporalHead::step:
//                    append + decode; gated: GateState::append + decode_gated)
//                    over the last K = min(256, T/2) tokens before T; cache and
//                    gate state are restored from copies every K steps, timer paused.
//
// N = 128 (the reference's published point), 256, 1024, 4096, 16384; T =
// 1024, 16384. Counters: ns/token (time per query token) and cand/token
// (candidates a query scores, tokens + landmark blocks, averaged over the N
// queries; one head). All paths into caller views with reused workspaces.
//
// Google Benchmark flags work as usual; own flags: --wall (summary from
// wall-clock time), --csv=PATH (default bench_gate.csv next to
// --benchmark_out, else in the working directory). The summary prints the
// table and the acceptance of issue 12: from N = 1024 to 16384, salient
// per-token time grows by no more than its candidates per token do, plus
// 10%; the gate's own per-token time stays within 10%.

#include "bench_common.hpp"

#include <aether/aether.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

using aether::FastGrnnGate;
using aether::GateMode;
using aether::GateOptions;
using aether::Tensor3;
using aether_bench::Inputs;

constexpr std::size_t kTopK = 8;
/// The reference's published gated time per token at N = 128, 4 heads x 32 (us).
constexpr double kReferenceUsPerToken = 2.9;

const std::vector<std::int64_t>& prefill_lengths() {
  static const std::vector<std::int64_t> n = {128, 256, 1024, 4096, 16384};
  return n;
}
const std::vector<std::int64_t>& stream_lengths() {
  static const std::vector<std::int64_t> t = {1024, 16384};
  return t;
}

aether::TemporalHeadConfig seed() { return aether_bench::seed_head_config(/*kv_heads=*/aether_bench::kQHeads); }

/// Candidates (tokens + landmark blocks) per query token of one head, over
/// the N queries, for `mode` (ungated when `gate` is null): the work the
/// kernel does per token, counted with the pattern the kernel uses.
double candidates_per_token(std::size_t n, const FastGrnnGate<float>* gate, GateMode mode) {
  const Inputs in(n, aether_bench::kQHeads, aether_bench::kQHeads, aether_bench::kHeadDim);
  const aether::SparsePattern p(aether_bench::seed_sparse_config());
  std::vector<std::uint8_t> keep;
  std::vector<std::uint32_t> kept;
  if (gate != nullptr) {
    keep = FastGrnnGate<float>::keep_top_k(gate->score_kv(in.k), kTopK);
    for (std::size_t j = 0; j < n; ++j) {
      if (keep[j] != 0) kept.push_back(static_cast<std::uint32_t>(j));
    }
  }
  aether::Candidates c;
  c.reserve(p, n);
  c.tokens.reserve(n);
  std::size_t key = aether::SparsePattern::kNoKey;
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (gate != nullptr && mode == GateMode::salient) {
      p.salient_candidates(i, n, c, key, kept.data(), kept.size());
    } else {
      p.next_candidates(i, n, c, key, gate != nullptr ? keep.data() : nullptr);
    }
    total += static_cast<double>(c.size());
  }
  return total / static_cast<double>(n);
}

void per_token(benchmark::State& state, std::size_t n, double candidates) {
  state.SetComplexityN(static_cast<std::int64_t>(n));
  state.counters["ns/token"] = benchmark::Counter(static_cast<double>(n) * 1e-9,
                                                  benchmark::Counter::kIsIterationInvariantRate |
                                                      benchmark::Counter::kInvert);
  if (!std::isnan(candidates)) state.counters["cand/token"] = candidates;
}

void bm_ungated(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto cfg = seed();
  const Inputs in(n, cfg.q_heads, cfg.kv_heads, cfg.head_dim);
  const aether::SparseAttention<float> attn(cfg.sparse_config());
  Tensor3<float> out(n, cfg.q_heads, cfg.head_dim);
  aether::Workspace<float> ws;
  attn.forward(in.q, in.k, in.v, out.view(), ws);
  for (auto _ : state) {
    attn.forward(in.q, in.k, in.v, out.view(), ws);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  per_token(state, n, candidates_per_token(n, nullptr, GateMode::prune));
}

void gated(benchmark::State& state, std::size_t hidden, GateMode mode) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto cfg = seed();
  const Inputs in(n, cfg.q_heads, cfg.kv_heads, cfg.head_dim);
  const aether::SparseAttention<float> attn(cfg.sparse_config());
  const FastGrnnGate<float> gate(cfg.head_dim, hidden);
  Tensor3<float> out(n, cfg.q_heads, cfg.head_dim);
  aether::Workspace<float> ws;
  attn.forward_gated(in.q, in.k, in.v, gate, GateOptions{kTopK, mode}, out.view(), ws);
  for (auto _ : state) {
    attn.forward_gated(in.q, in.k, in.v, gate, GateOptions{kTopK, mode}, out.view(), ws);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  per_token(state, n, candidates_per_token(n, &gate, mode));
}

void gate_only(benchmark::State& state, std::size_t hidden) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto cfg = seed();
  const Inputs in(n, cfg.q_heads, cfg.kv_heads, cfg.head_dim);
  const FastGrnnGate<float> gate(cfg.head_dim, hidden);
  std::vector<float> salience(n);
  aether::GateScratch<float> scratch;
  gate.score_kv(in.k, salience.data(), scratch);
  for (auto _ : state) {
    gate.score_kv(in.k, salience.data(), scratch);
    benchmark::DoNotOptimize(salience.data());
    benchmark::ClobberMemory();
  }
  per_token(state, n, std::nan(""));
}

/// One stream step at length T; `mode` null = ungated.
void stream_step(benchmark::State& state, std::size_t hidden, const GateMode* mode) {
  const auto t = static_cast<std::size_t>(state.range(0));
  auto cfg = seed();
  if (mode != nullptr) {
    cfg.gate.mode = *mode;
    cfg.gate.top_k = kTopK;
    cfg.gate.hidden_dim = hidden;
  }
  const std::size_t k_steps = std::min<std::size_t>(256, t / 2);
  const Inputs in(t, cfg.q_heads, cfg.kv_heads, cfg.head_dim);
  const aether::TemporalHead<float> head(cfg);
  aether::KvCache<float> base = head.make_cache(t);
  std::vector<aether::GateState<float>> base_state;  // empty when ungated
  if (mode != nullptr) base_state.push_back(head.make_gate_state(t));
  aether::Workspace<float> ws;
  Tensor3<float> out(1, cfg.q_heads, cfg.head_dim);
  for (std::size_t i = 0; i < t - k_steps; ++i) {  // the prefix, through the same path
    const auto q1 = in.q.view().slice(i, 1), k1 = in.k.view().slice(i, 1), v1 = in.v.view().slice(i, 1);
    if (mode != nullptr) {
      head.step(q1, k1, v1, base, base_state.front(), out.view(), ws);
    } else {
      head.step(q1, k1, v1, base, out.view(), ws);
    }
  }
  aether::KvCache<float> cache = base;
  std::vector<aether::GateState<float>> st = base_state;
  for (auto _ : state) {
    if (cache.full()) {
      state.PauseTiming();
      cache = base;  // same capacity: copies, no allocation
      st = base_state;
      state.ResumeTiming();
    }
    const std::size_t i = cache.size();
    const auto q1 = in.q.view().slice(i, 1), k1 = in.k.view().slice(i, 1), v1 = in.v.view().slice(i, 1);
    if (mode != nullptr) {
      head.step(q1, k1, v1, cache, st.front(), out.view(), ws);
    } else {
      head.step(q1, k1, v1, cache, out.view(), ws);
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetComplexityN(static_cast<std::int64_t>(t));
}

constexpr GateMode kPrune = GateMode::prune, kSalient = GateMode::salient;

void register_all() {
  auto add = [](const std::string& name, auto fn, const std::vector<std::int64_t>& args) {
    auto* b = benchmark::RegisterBenchmark(name.c_str(), fn);
    for (std::int64_t a : args) b->Arg(a);
    b->Unit(benchmark::kMicrosecond);
  };
  add("ungated", bm_ungated, prefill_lengths());
  for (std::size_t h : {16, 32}) {
    const std::string s = "_h" + std::to_string(h);
    add("prune" + s, [h](benchmark::State& st) { gated(st, h, GateMode::prune); }, prefill_lengths());
    add("salient" + s, [h](benchmark::State& st) { gated(st, h, GateMode::salient); }, prefill_lengths());
    add("gate" + s, [h](benchmark::State& st) { gate_only(st, h); }, prefill_lengths());
  }
  add("stream_ungated", [](benchmark::State& st) { stream_step(st, 0, nullptr); }, stream_lengths());
  for (std::size_t h : {16, 32}) {
    const std::string s = "_h" + std::to_string(h);
    add("stream_prune" + s, [h](benchmark::State& st) { stream_step(st, h, &kPrune); }, stream_lengths());
    add("stream_salient" + s, [h](benchmark::State& st) { stream_step(st, h, &kSalient); }, stream_lengths());
  }
}

void summarize(const aether_bench::Results& r, std::ostream& os, const std::string& csv, bool wall) {
  using aether_bench::cell;
  using aether_bench::fmt;
  auto per_tok = [&](const std::string& f, std::int64_t n) { return r.ns(f, n) / static_cast<double>(n); };
  const auto cfg = seed();
  os << "\n=== bench_gate summary: seed shape (MHA q4 kv4 d32, W16 B32), top_k " << kTopK << ", "
     << aether_bench::build_flavour() << ", " << aether_bench::isa_summary() << ", " << (wall ? "wall" : "CPU")
     << " time (median if repeated) ===\n";
  std::ofstream out(csv);
  out << "hidden,n,ungated_ns_tok,prune_ns_tok,salient_ns_tok,gate_ns_tok,cand_ungated,cand_prune,cand_salient\n";
  bool all_pass = true;
  for (std::size_t h : {16, 32}) {
    const std::string s = "_h" + std::to_string(h);
    const FastGrnnGate<float> gate(cfg.head_dim, h);
    os << "\nGate hidden " << h << ": ns per token (candidates per token)\n";
    os << "      N |   ungated (cand) |     prune (cand) |   salient (cand) | gate ns | gate share salient | vs ref 2.9 us\n";
    os << "--------+------------------+------------------+------------------+---------+--------------------+--------------\n";
    for (std::int64_t n : prefill_lengths()) {
      const auto un = static_cast<std::size_t>(n);
      const double u = per_tok("ungated", n), p = per_tok("prune" + s, n), sa = per_tok("salient" + s, n),
                   g = per_tok("gate" + s, n);
      if (std::isnan(u) && std::isnan(p) && std::isnan(sa) && std::isnan(g)) continue;
      const double cu = candidates_per_token(un, nullptr, GateMode::prune),
                   cp = candidates_per_token(un, &gate, GateMode::prune),
                   cs = candidates_per_token(un, &gate, GateMode::salient);
      os << fmt(double(n), 7, 0) << " |" << fmt(u, 9, 1) << " (" << fmt(cu, 4, 1) << ") |" << fmt(p, 9, 1) << " ("
         << fmt(cp, 4, 1) << ") |" << fmt(sa, 9, 1) << " (" << fmt(cs, 4, 1) << ") |" << fmt(g, 8, 1) << " |"
         << fmt(100.0 * g / sa, 18, 1) << "% |" << fmt(kReferenceUsPerToken * 1e3 / sa, 8, 1) << "x faster\n";
      out << h << "," << n << "," << cell(u) << "," << cell(p) << "," << cell(sa) << "," << cell(g) << "," << cell(cu)
          << "," << cell(cp) << "," << cell(cs) << "\n";
    }
    const double ts = per_tok("salient" + s, 16384) / per_tok("salient" + s, 1024);
    const double cs = candidates_per_token(16384, &gate, GateMode::salient) /
                      candidates_per_token(1024, &gate, GateMode::salient);
    const double tg = per_tok("gate" + s, 16384) / per_tok("gate" + s, 1024);
    os << "Acceptance (hidden " << h << "):\n";
    if (std::isnan(ts)) {
      os << "  [skip] salient growth: not measured\n";
    } else {
      const bool ok = ts <= cs * 1.10;
      all_pass = all_pass && ok;
      os << "  [" << (ok ? "PASS" : "FAIL") << "] salient ns/token N=16384 / N=1024 = " << fmt(ts, 0, 3)
         << ", candidates/token growth " << fmt(cs, 0, 3) << " (need <= " << fmt(cs * 1.10, 0, 3) << ")\n";
    }
    if (std::isnan(tg)) {
      os << "  [skip] gate growth: not measured\n";
    } else {
      const bool ok = std::abs(tg - 1.0) <= 0.10;
      all_pass = all_pass && ok;
      os << "  [" << (ok ? "PASS" : "FAIL") << "] gate ns/token N=16384 / N=1024 = " << fmt(tg, 0, 3)
         << " (need within 0.90 .. 1.10)\n";
    }
  }
  os << "\nStream step (us; append + decode at cache length T)\n";
  os << "      T | ungated | prune h16 | salient h16 | prune h32 | salient h32\n";
  os << "--------+---------+-----------+-------------+-----------+------------\n";
  for (std::int64_t t : stream_lengths()) {
    os << fmt(double(t), 7, 0) << " |" << fmt(r.ns("stream_ungated", t) / 1e3, 8, 3) << " |"
       << fmt(r.ns("stream_prune_h16", t) / 1e3, 10, 3) << " |" << fmt(r.ns("stream_salient_h16", t) / 1e3, 12, 3)
       << " |" << fmt(r.ns("stream_prune_h32", t) / 1e3, 10, 3) << " |"
       << fmt(r.ns("stream_salient_h32", t) / 1e3, 12, 3) << "\n";
  }
  os << "\nOverall: " << (all_pass ? "PASS" : "FAIL or incomplete") << "\nCSV: " << csv << "\n";
}

}  // namespace

int main(int argc, char** argv) { return aether_bench::bench_main(argc, argv, "bench_gate.csv", register_all, summarize); }
