// bench_decode: one streaming decode step of the AETHER default temporal head
// (TemporalHeadConfig::aether_default(): sparse, 4 q heads over 1 kv head,
// d 32, W 32, B 16) at cache lengths T = 64, 128, ..., 16384.
//
//   decode        SparseAttention::decode of the newest token of a cache
//                 holding T tokens, into a caller view with a reused
//                 Workspace: the attention cost of the step at length T.
//   step          TemporalHead::step (append + decode) over the last K =
//                 min(256, T/2) tokens before T: the cache is restored from a
//                 copy every K steps with the timer paused (KvCache has no pop).
//   dense_decode  aether::dense_decode at T (the O(T) baseline).
//
// Google Benchmark flags work as usual. Own flags: --wall (summary from
// wall-clock instead of CPU time), --csv=PATH (default
// bench_decode.csv next to --benchmark_out, else in the working directory).
// After the run it prints the table and the acceptance check: decode time
// at T=16384 at most 1.5x that at T=1024, and at most 0.6 us at T=1024.

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

using aether::Tensor3;
using aether_bench::Inputs;

constexpr std::int64_t kMinT = 64;
constexpr std::int64_t kMaxT = 16384;

void set_counters(benchmark::State& state) {
  state.SetComplexityN(state.range(0));
  state.counters["tokens/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}

void bm_decode(benchmark::State& state) {
  aether_bench::time_decode_step(state, aether::TemporalHeadConfig::aether_default());
  set_counters(state);
}

void bm_step(benchmark::State& state) {
  const auto cfg = aether::TemporalHeadConfig::aether_default();
  const auto t = static_cast<std::size_t>(state.range(0));
  const std::size_t k_steps = std::min<std::size_t>(256, t / 2);
  const Inputs in(t, cfg.q_heads, cfg.kv_heads, cfg.head_dim);
  const aether::TemporalHead<float> head(cfg);
  aether::KvCache<float> base = head.make_cache(t);
  base.append_all(in.k.view().slice(0, t - k_steps), in.v.view().slice(0, t - k_steps));
  aether::KvCache<float> cache = base;
  Tensor3<float> out(1, cfg.q_heads, cfg.head_dim);
  aether::Workspace<float> ws;
  for (auto _ : state) {
    if (cache.full()) {
      state.PauseTiming();
      cache = base;  // same capacity: a copy, no allocation
      state.ResumeTiming();
    }
    const std::size_t i = cache.size();
    head.step(in.q.view().slice(i, 1), in.k.view().slice(i, 1), in.v.view().slice(i, 1), cache, out.view(), ws);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state);
}

void bm_dense_decode(benchmark::State& state) {
  const auto cfg = aether::TemporalHeadConfig::aether_default();
  const auto t = static_cast<std::size_t>(state.range(0));
  const Inputs in(t, cfg.q_heads, cfg.kv_heads, cfg.head_dim);
  aether::KvCache<float> cache(t, cfg.kv_heads, cfg.head_dim, cfg.block_size);
  cache.append_all(in.k, in.v);
  const aether::Tensor3View<const float> q1 = in.q.view().slice(t - 1, 1);
  Tensor3<float> out(1, cfg.q_heads, cfg.head_dim);
  aether::Workspace<float> ws;
  aether::dense_decode(q1, cache, out.view(), ws);
  for (auto _ : state) {
    aether::dense_decode(q1, cache, out.view(), ws);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state);
}

std::vector<std::int64_t> lengths() {
  std::vector<std::int64_t> out;
  for (std::int64_t t = kMinT; t <= kMaxT; t *= 2) out.push_back(t);
  return out;
}

void register_all() {
  auto add = [](const char* name, void (*fn)(benchmark::State&), benchmark::BigO big_o) {
    auto* b = benchmark::RegisterBenchmark(name, fn);
    for (std::int64_t t : lengths()) b->Arg(t);
    b->Complexity(big_o)->Unit(benchmark::kNanosecond);
  };
  add("decode", bm_decode, benchmark::oLogN);
  add("step", bm_step, benchmark::oLogN);
  add("dense_decode", bm_dense_decode, benchmark::oN);
}

void summarize(const aether_bench::Results& r, std::ostream& os, const std::string& csv, bool wall) {
  using aether_bench::cell;
  using aether_bench::fmt;
  const double ref = r.ns("decode", 1024);
  os << "\n=== bench_decode summary: AETHER default (MQA q4 kv1 d32, W32 B16), " << aether_bench::build_flavour()
     << ", " << aether_bench::isa_summary() << ", " << (wall ? "wall" : "CPU") << " time per step (median if repeated) ===\n\n";
  os << "      T | decode ns | tokens/s (M) | vs T=1024 | step ns (append+decode) | dense_decode ns | dense/sparse\n";
  os << "--------+-----------+--------------+-----------+-------------------------+-----------------+-------------\n";
  std::ofstream out(csv);
  out << "t,decode_ns,decode_tokens_per_s,step_ns,dense_decode_ns\n";
  for (std::int64_t t : lengths()) {
    const double de = r.ns("decode", t), st = r.ns("step", t), dd = r.ns("dense_decode", t);
    if (std::isnan(de) && std::isnan(st) && std::isnan(dd)) continue;
    os << fmt(double(t), 7, 0) << " |" << fmt(de, 10, 1) << " |" << fmt(1e3 / de, 13, 3) << " |"
       << fmt(de / ref, 10, 2) << " |" << fmt(st, 24, 1) << " |" << fmt(dd, 16, 1) << " |" << fmt(dd / de, 12, 1)
       << "\n";
    out << t << "," << cell(de) << "," << cell(1e9 / de) << "," << cell(st) << "," << cell(dd) << "\n";
  }
  os << "\nAcceptance (" << aether_bench::build_flavour() << "):\n";
  const double grow = r.ns("decode", 16384) / ref;
  if (std::isnan(grow)) {
    os << "  [skip] growth T=1024 -> 16384: not measured\n";
  } else {
    os << "  [" << (grow <= 1.5 ? "PASS" : "FAIL") << "] decode time(16384)/time(1024) = " << fmt(grow, 0, 3)
       << " (need <= 1.5)\n";
  }
  if (std::isnan(ref)) {
    os << "  [skip] decode at T=1024: not measured\n";
  } else {
    os << "  [" << (ref <= 600 ? "PASS" : "FAIL") << "] decode at T=1024 = " << fmt(ref / 1e3, 0, 3)
       << " us (need <= 0.6 us)\n";
  }
  os << "\nCSV: " << csv << "\n";
}

}  // namespace

int main(int argc, char** argv) { return aether_bench::bench_main(argc, argv, "bench_decode.csv", register_all, summarize); }
