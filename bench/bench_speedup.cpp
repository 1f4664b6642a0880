// bench_speedup: the seed's N = 64 .. 1024 speedup curve (2048 .. 16384 with
// --long), every path on identical deterministic inputs, 4 query heads x 32.
//
//   naive_dense      the reference's naive scalar causal attention (the baseline;
//                    auto-vectorisation disabled for it, see below)
//   naive_dense_autovec  the identical loops, compiler free to vectorise
//   dense            aether::dense_attention (Eigen tiles, online softmax)
//   sparse           TemporalHead<float>::forward, seed config (MHA, W16 B32)
//   sparse_raw       SparseAttention<float>::forward, same SparseConfig (wrapper cost)
//   sparse_mqa_seed  4 query heads over 1 kv head, W16 B32
//   sparse_mqa_def   TemporalHeadConfig::aether_default() (MQA, W32 B16)
//   decode_mha       SparseAttention::decode of the newest token at T = N, seed MHA
//   decode_mqa       the same for the AETHER default (MQA)
//   append_mqa       KvCache::append of one token (AETHER default cache)
//   sparse_threads1, sparse_threads2  (OpenMP builds only) `sparse` with the
//                    prefill run on 1 and on 2 OpenMP threads, wall-clock time.
//                    Every other family runs on one thread in every build.
//
// Google Benchmark flags work as usual (--benchmark_filter, --benchmark_format,
// --benchmark_out, --benchmark_repetitions, ...). Own flags, removed before
// benchmark::Initialize:
//   --wall        summary from wall-clock time instead of CPU time
//   --long        add N = 2048 .. 16384 (naive_dense* capped at 4096, dense at 8192)
//   --small       add N = 16, 32 (where dense and sparse cost about the same)
//   --csv=PATH    summary CSV path (default: bench_speedup.csv next to
//                 --benchmark_out, else in the working directory)
//   --check       judge the speed targets: PASS/FAIL lines, exit status 1
//                 when one is missed (without it: a report, exit status 0)
//
// After the run it prints the seed-style table, the 64 -> 1024 growth, the
// speed targets beside the measured ratios and how busy the machine looked
// (load average; share of wall time the single-thread runs were off the CPU),
// to stdout, or stderr when --benchmark_format is not console so that stdout
// stays valid JSON/CSV.

#include "bench_common.hpp"

#include <aether/aether.hpp>

#include <benchmark/benchmark.h>

#if defined(AETHER_USE_OPENMP)
#include <omp.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using aether::Tensor3;
using aether_bench::Inputs;
using aether_bench::kHeadDim;
using aether_bench::kQHeads;

// ---------------------------------------------------------------------------
// The baselines: the reference's naive dense attention, kept in the bench.
// Causal; for each head and query row: pass 1 computes the scores q.k * scale
// over j <= i and their max, pass 2 computes exp(s - max), their sum and the
// weighted sum of v, then divides. Plain loops, no Eigen, no -ffast-math.
//
// The project's issue defines the baseline as "the reference's naive
// algorithm (scalar, two passes per row)", and the reference's naive kernel
// runs in 94 ms at N = 1024 (4 heads x 32) on this machine kind. Left alone,
// gcc -O3 auto-vectorises the `oi[e] += w * vj[e]` accumulation (no
// reduction, so no -ffast-math needed) and the same loops run in ~40-45 ms:
// no longer the scalar reference. So the baseline `naive_dense` is compiled
// with auto-vectorisation disabled for that one function (GCC: optimize
// ("no-tree-vectorize"); clang: loop pragmas), which models the reference's
// scalar loops and reproduces its ~94 ms (73-94 ms measured here). The same
// loops with the compiler free to vectorise are measured too, as
// `naive_dense_autovec`, and every acceptance ratio is also printed against
// them and against the reference's published 94 ms, so nothing is hidden.
// ---------------------------------------------------------------------------
#if defined(__clang__)
#define AETHER_BENCH_SCALAR_FN
#define AETHER_BENCH_SCALAR_LOOP _Pragma("clang loop vectorize(disable) interleave(disable)")
#elif defined(__GNUC__)
#define AETHER_BENCH_SCALAR_FN __attribute__((optimize("no-tree-vectorize")))
#define AETHER_BENCH_SCALAR_LOOP
#else
#define AETHER_BENCH_SCALAR_FN
#define AETHER_BENCH_SCALAR_LOOP
#endif

/// The reference's published naive-kernel time at N = 1024 (4 heads x 32),
/// on this machine kind. A constant, not measured by this program.
constexpr double kReferenceNaive1024Ms = 94.0;

// Body shared by both baselines; LOOP is placed before every inner loop.
#define AETHER_BENCH_NAIVE_BODY(LOOP)                                        \
  const std::size_t n = q.seq(), heads = q.heads(), d = q.dim();             \
  Tensor3<float> out(n, heads, d);                                           \
  std::vector<float> scores(n);                                              \
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));               \
  for (std::size_t h = 0; h < heads; ++h) {                                  \
    for (std::size_t i = 0; i < n; ++i) {                                    \
      const float* qi = q.data() + (i * heads + h) * d;                      \
      float max_score = -std::numeric_limits<float>::infinity();             \
      LOOP for (std::size_t j = 0; j <= i; ++j) {                            \
        const float* kj = k.data() + (j * heads + h) * d;                    \
        float s = 0.0f;                                                      \
        LOOP for (std::size_t e = 0; e < d; ++e) s += qi[e] * kj[e];         \
        s *= scale;                                                          \
        scores[j] = s;                                                       \
        if (s > max_score) max_score = s;                                    \
      }                                                                      \
      float* oi = out.data() + (i * heads + h) * d;                          \
      float sum = 0.0f;                                                      \
      LOOP for (std::size_t j = 0; j <= i; ++j) {                            \
        const float w = std::exp(scores[j] - max_score);                     \
        sum += w;                                                            \
        const float* vj = v.data() + (j * heads + h) * d;                    \
        LOOP for (std::size_t e = 0; e < d; ++e) oi[e] += w * vj[e];         \
      }                                                                      \
      LOOP for (std::size_t e = 0; e < d; ++e) oi[e] /= sum;                 \
    }                                                                        \
  }                                                                          \
  return out;

/// The baseline: the reference's scalar loops (auto-vectorisation disabled).
AETHER_BENCH_SCALAR_FN Tensor3<float> naive_dense(const Tensor3<float>& q, const Tensor3<float>& k,
                                                  const Tensor3<float>& v) {
  AETHER_BENCH_NAIVE_BODY(AETHER_BENCH_SCALAR_LOOP)
}

/// The identical loops, compiler free to vectorise (gcc vectorises the `w * v`
/// accumulation and the final division; the dot product stays a scalar chain).
Tensor3<float> naive_dense_autovec(const Tensor3<float>& q, const Tensor3<float>& k, const Tensor3<float>& v) {
  AETHER_BENCH_NAIVE_BODY()
}

#undef AETHER_BENCH_NAIVE_BODY

void set_counters(benchmark::State& state, std::int64_t n, std::int64_t tokens_per_iteration) {
  state.SetComplexityN(n);
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens_per_iteration), benchmark::Counter::kIsIterationInvariantRate);
}

void bm_naive_dense(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Inputs in(n, kQHeads, kQHeads, kHeadDim);
  for (auto _ : state) {
    Tensor3<float> o = naive_dense(in.q, in.k, in.v);
    benchmark::DoNotOptimize(o.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), state.range(0));
}

void bm_naive_dense_autovec(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Inputs in(n, kQHeads, kQHeads, kHeadDim);
  for (auto _ : state) {
    Tensor3<float> o = naive_dense_autovec(in.q, in.k, in.v);
    benchmark::DoNotOptimize(o.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), state.range(0));
}

void bm_dense(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Inputs in(n, kQHeads, kQHeads, kHeadDim);
  for (auto _ : state) {
    Tensor3<float> o = aether::dense_attention(in.q, in.k, in.v, /*causal=*/true);
    benchmark::DoNotOptimize(o.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), state.range(0));
}

void run_head(benchmark::State& state, const aether::TemporalHeadConfig& cfg) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Inputs in(n, cfg.q_heads, cfg.kv_heads, cfg.head_dim);
  const aether::TemporalHead<float> head(cfg);
  for (auto _ : state) {
    Tensor3<float> o = head.forward(in.q, in.k, in.v);
    benchmark::DoNotOptimize(o.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), state.range(0));
}

void bm_sparse(benchmark::State& state) { run_head(state, aether_bench::seed_head_config(/*kv_heads=*/kQHeads)); }
void bm_sparse_mqa_seed(benchmark::State& state) { run_head(state, aether_bench::seed_head_config(/*kv_heads=*/1)); }
void bm_sparse_mqa_def(benchmark::State& state) { run_head(state, aether::TemporalHeadConfig::aether_default()); }

void bm_sparse_raw(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Inputs in(n, kQHeads, kQHeads, kHeadDim);
  const aether::SparseAttention<float> attn(aether_bench::seed_sparse_config());
  for (auto _ : state) {
    Tensor3<float> o = attn.forward(in.q, in.k, in.v);
    benchmark::DoNotOptimize(o.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), state.range(0));
}

#if defined(AETHER_USE_OPENMP)
// `sparse` with the prefill on exactly `Threads` OpenMP threads (the previous
// setting is restored afterwards). Registered with real time: CPU time of the
// calling thread would not see the helper thread's work.
template <int Threads>
void bm_sparse_threads(benchmark::State& state) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(Threads);
  run_head(state, aether_bench::seed_head_config(/*kv_heads=*/kQHeads));
  omp_set_num_threads(before);
}
#endif

// One streaming step's attention at length T: the cache holds tokens
// 0 .. T-1 (the same inputs as the prefill) and every iteration decodes the
// newest token into a caller view with a reused workspace. Appending is
// measured separately (append_mqa).
void run_decode(benchmark::State& state, const aether::TemporalHeadConfig& cfg) {
  aether_bench::time_decode_step(state, cfg);
  set_counters(state, state.range(0), 1);
}

void bm_decode_mha(benchmark::State& state) { run_decode(state, aether_bench::seed_head_config(/*kv_heads=*/kQHeads)); }
void bm_decode_mqa(benchmark::State& state) { run_decode(state, aether::TemporalHeadConfig::aether_default()); }

// KvCache::append of one token (AETHER default: kv 1, d 32, B 16), including
// the landmark update every 16th token; the cache is cleared (O(1)) when full.
void bm_append_mqa(benchmark::State& state) {
  const auto cfg = aether::TemporalHeadConfig::aether_default();
  constexpr std::size_t kCapacity = 4096;
  const Inputs in(kCapacity, cfg.q_heads, cfg.kv_heads, cfg.head_dim);
  aether::KvCache<float> cache(kCapacity, cfg.kv_heads, cfg.head_dim, cfg.block_size);
  for (auto _ : state) {
    if (cache.full()) cache.clear();
    const std::size_t t = cache.size();
    cache.append(in.k.view().slice(t, 1), in.v.view().slice(t, 1));
    benchmark::ClobberMemory();
  }
  state.counters["tokens/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}

/// Which N to run: 64 .. 1024 by default, 2048 .. 16384 added by --long
/// (capped per family), 16 and 32 added by --small (to locate the crossover).
struct SizeSet {
  bool long_run = false;
  bool small = false;
};

std::vector<std::int64_t> sizes(std::int64_t cap, SizeSet set) {
  std::vector<std::int64_t> out;
  const std::int64_t last = set.long_run ? std::min<std::int64_t>(cap, 16384) : 1024;
  for (std::int64_t n = set.small ? 16 : 64; n <= last; n *= 2) out.push_back(n);
  return out;
}

void register_all(SizeSet set) {
  struct Family {
    const char* name;
    void (*fn)(benchmark::State&);
    benchmark::BigO big_o;
    std::int64_t cap;  // largest N in the --long set
  };
  const Family families[] = {
      {"naive_dense", bm_naive_dense, benchmark::oNSquared, 4096},
      {"naive_dense_autovec", bm_naive_dense_autovec, benchmark::oNSquared, 4096},
      {"dense", bm_dense, benchmark::oNSquared, 8192},
      {"sparse", bm_sparse, benchmark::oNLogN, 16384},
      {"sparse_raw", bm_sparse_raw, benchmark::oNLogN, 16384},
      {"sparse_mqa_seed", bm_sparse_mqa_seed, benchmark::oNLogN, 16384},
      {"sparse_mqa_def", bm_sparse_mqa_def, benchmark::oNLogN, 16384},
      {"decode_mha", bm_decode_mha, benchmark::oLogN, 16384},
      {"decode_mqa", bm_decode_mqa, benchmark::oLogN, 16384},
  };
  for (const Family& f : families) {
    auto* b = benchmark::RegisterBenchmark(f.name, f.fn);
    for (std::int64_t n : sizes(f.cap, set)) b->Arg(n);
    b->Complexity(f.big_o)->Unit(f.big_o == benchmark::oLogN ? benchmark::kNanosecond : benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("append_mqa", bm_append_mqa)->Unit(benchmark::kNanosecond);
#if defined(AETHER_USE_OPENMP)
  const Family threaded[] = {
      {"sparse_threads1", bm_sparse_threads<1>, benchmark::oNLogN, 16384},
      {"sparse_threads2", bm_sparse_threads<2>, benchmark::oNLogN, 16384},
  };
  for (const Family& f : threaded) {
    auto* b = benchmark::RegisterBenchmark(f.name, f.fn);
    for (std::int64_t n : sizes(f.cap, set)) b->Arg(n);
    b->Complexity(f.big_o)->Unit(benchmark::kMicrosecond)->UseRealTime();
  }
#endif
}

double ratio(double num, double den) { return (std::isnan(num) || std::isnan(den) || den <= 0) ? std::nan("") : num / den; }

/// Max |naive - dense| and |naive_autovec - dense| at a small N: both
/// baselines compute the same function.
std::pair<double, double> baseline_check() {
  const Inputs in(256, kQHeads, kQHeads, kHeadDim);
  const Tensor3<float> a = naive_dense(in.q, in.k, in.v);
  const Tensor3<float> av = naive_dense_autovec(in.q, in.k, in.v);
  const Tensor3<float> b = aether::dense_attention(in.q, in.k, in.v, /*causal=*/true);
  double worst = 0, worst_av = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(double(a.data()[i]) - b.data()[i]));
    worst_av = std::max(worst_av, std::abs(double(av.data()[i]) - b.data()[i]));
  }
  return {worst, worst_av};
}

/// How the summary judges its ratios against their targets. A benchmark is
/// not a test: by default a ratio below its target is reported in words
/// ("below target") and the program exits 0; with `--check` each target is a
/// PASS/FAIL line and any FAIL makes the exit status 1.
struct TargetReport {
  bool check = false;               // --check
  aether_bench::MachineLoad load;   // how busy the machine looked
};

/// Prints the summary; returns how many targets were missed.
int summarize(const aether_bench::Results& r, std::ostream& os, const std::string& csv, bool wall, SizeSet set,
              std::pair<double, double> baseline_diff, const TargetReport& report) {
  using aether_bench::fmt;
  const std::vector<std::int64_t> ns = sizes(16384, set);
  auto ms = [&](const char* f, std::int64_t n) { return r.ns(f, n) * 1e-6; };
  auto us = [&](const char* f, std::int64_t n) { return r.ns(f, n) * 1e-3; };

  os << "\n=== bench_speedup summary: " << aether_bench::build_flavour() << ", " << aether_bench::isa_summary()
     << ", 4 q heads x 32, " << (wall ? "wall" : "CPU") << " time per call (median if repeated) ===\n"
     << "max |diff| vs dense at N=256: naive_dense " << baseline_diff.first << ", naive_dense_autovec "
     << baseline_diff.second << "\n"
     << "naive = scalar baseline (auto-vectorisation off; the reference's published naive time at N=1024 is "
     << fmt(kReferenceNaive1024Ms, 0, 0) << " ms), autovec = the same loops vectorised by the compiler\n\n";
  os << "     N | naive ms | autovec ms |  dense ms | sparse ms | raw ms    | x naive | x autovec | x dense | "
        "mqa W16B32 ms | mqa x MHA | mqa W32B16 ms | dec MHA us | dec MQA us\n";
  os << "-------+----------+------------+-----------+-----------+-----------+---------+-----------+---------+"
        "---------------+-----------+---------------+------------+-----------\n";
  std::ofstream out(csv);
  out << "n,naive_dense_ms,naive_dense_autovec_ms,dense_ms,sparse_ms,sparse_raw_ms,sparse_mqa_seed_ms,"
         "sparse_mqa_def_ms,decode_mha_us,decode_mqa_us,speedup_vs_naive,speedup_vs_naive_autovec,speedup_vs_dense,"
         "mqa_speedup_vs_mha\n";
  for (std::int64_t n : ns) {
    const double nv = ms("naive_dense", n), de = ms("dense", n), sp = ms("sparse", n), raw = ms("sparse_raw", n);
    const double na = ms("naive_dense_autovec", n);
    const double mq = ms("sparse_mqa_seed", n), md = ms("sparse_mqa_def", n);
    const double dh = us("decode_mha", n), dq = us("decode_mqa", n);
    if (std::isnan(nv) && std::isnan(na) && std::isnan(de) && std::isnan(sp) && std::isnan(raw) && std::isnan(mq) && std::isnan(md) &&
        std::isnan(dh) && std::isnan(dq)) {
      continue;
    }
    const double xn = ratio(nv, sp), xa = ratio(na, sp), xd = ratio(de, sp), xm = ratio(sp, mq);
    os << fmt(double(n), 6, 0) << " |" << fmt(nv, 9, 3) << " |" << fmt(na, 11, 3) << " |" << fmt(de, 10, 4) << " |"
       << fmt(sp, 10, 4) << " |" << fmt(raw, 10, 4) << " |" << fmt(xn, 8, 1) << " |" << fmt(xa, 10, 1) << " |"
       << fmt(xd, 8, 2) << " |" << fmt(mq, 14, 4) << " |"
       << fmt(xm, 10, 2) << " |" << fmt(md, 14, 4) << " |" << fmt(dh, 11, 3) << " |" << fmt(dq, 10, 3) << "\n";
    using aether_bench::cell;
    out << n << "," << cell(nv) << "," << cell(na) << "," << cell(de) << "," << cell(sp) << "," << cell(raw) << ","
        << cell(mq) << "," << cell(md) << "," << cell(dh) << "," << cell(dq) << "," << cell(xn) << "," << cell(xa)
        << "," << cell(xd) << "," << cell(xm) << "\n";
  }
  os << "(x naive = naive/sparse, x autovec = naive_dense_autovec/sparse, x dense = dense/sparse, mqa x MHA = sparse/mqa W16B32; decode = attention of the "
        "newest token at T = N)\n";
  if (const auto ac = r.ns("append_mqa", 0); !std::isnan(ac)) {
    os << "append one token (AETHER default cache): " << fmt(ac, 0, 1) << " ns\n";
  }

  // Growth over each 16x span that was measured (64 -> 1024, and 1024 -> 16384 with --long).
  for (const auto& [lo, hi] : {std::pair<std::int64_t, std::int64_t>{64, 1024}, {1024, 16384}}) {
    const char* paths[] = {"naive_dense", "naive_dense_autovec", "dense", "sparse", "sparse_raw", "sparse_mqa_seed", "sparse_mqa_def",
                           "decode_mha", "decode_mqa"};
    bool header = false;
    for (const char* p : paths) {
      const double g = ratio(r.ns(p, hi), r.ns(p, lo));
      if (std::isnan(g)) continue;
      if (!header) {
        os << "\nGrowth " << lo << " -> " << hi
           << " (N ratio 16: linear = 16, N log N = " << fmt(16.0 * std::log2(double(hi)) / std::log2(double(lo)), 0, 1)
           << ", quadratic = 256):\n";
        header = true;
      }
      os << "  " << p << std::string(20 - std::string(p).size(), ' ') << " time(" << hi << ")/time(" << lo
         << ") = " << fmt(g, 8, 1) << "  (~ N^" << fmt(std::log(g) / std::log(16.0), 0, 2) << ")\n";
    }
  }

  // OpenMP builds: the same prefill on 1 and 2 threads, wall time.
  if (!std::isnan(r.ns("sparse_threads1", 1024))) {
    os << "\nOpenMP prefill (sparse, seed MHA), wall time:\n     N | 1 thread ms | 2 threads ms | speedup\n";
    for (std::int64_t n : ns) {
      const double t1 = ms("sparse_threads1", n), t2 = ms("sparse_threads2", n);
      if (std::isnan(t1) || std::isnan(t2)) continue;
      os << fmt(double(n), 6, 0) << " |" << fmt(t1, 12, 4) << " |" << fmt(t2, 13, 4) << " |" << fmt(t1 / t2, 8, 2)
         << "\n";
    }
  }

  // The project's speed targets (ratios from this run).
  os << "\nTargets (" << aether_bench::build_flavour() << (report.check ? ", checked: --check" : "") << "):\n";
  int missed = 0;
  auto check = [&](const std::string& what, double value, double need) {
    if (std::isnan(value)) {
      os << "  [not measured] " << what << "\n";
      return;
    }
    const bool met = value >= need;
    missed += met ? 0 : 1;
    const char* verdict = report.check ? (met ? "PASS" : "FAIL") : (met ? "met" : "below target");
    os << "  [" << verdict << "] " << what << ": " << fmt(value, 0, 2) << "x (target >= " << fmt(need, 0, 2)
       << "x)\n";
  };
#if AETHER_BENCH_NATIVE
  const double need_naive = 150;
#else
  const double need_naive = 100;
#endif
  // The criteria against the naive baseline use naive_dense (scalar). The same
  // ratios against the auto-vectorised loops and against the reference's
  // published 94 ms (a constant, not measured here) are printed beside them.
  auto also = [&](const std::string& what, double value, double need) {
    if (std::isnan(value)) return;
    os << "         " << what << ": " << fmt(value, 0, 2) << "x (" << (value >= need ? "meets" : "below")
       << " the target of " << fmt(need, 0, 2) << "x)\n";
  };
  const double ref_ns = kReferenceNaive1024Ms * 1e6;
  for (const char* path : {"sparse", "dense"}) {
    const double need = std::string(path) == "sparse" ? need_naive : 10.0;
    const double t = r.ns(path, 1024);
    check(std::string(path) + " vs naive_dense (scalar) at N=1024", ratio(r.ns("naive_dense", 1024), t), need);
    also("vs naive_dense_autovec (same loops, vectorised, measured)", ratio(r.ns("naive_dense_autovec", 1024), t),
         need);
    also("vs the reference's published 94 ms (constant, not measured)", ratio(ref_ns, t), need);
  }
  for (std::int64_t n : ns) {
    if (n < 256) continue;
    const double x = ratio(r.ns("dense", n), r.ns("sparse", n));
    if (!std::isnan(x)) check("sparse faster than dense at N=" + std::to_string(n), x, n == 1024 ? 5.0 : 1.0);
  }
  check("sparse_mqa (W16 B32) vs sparse MHA at N=1024", ratio(r.ns("sparse", 1024), r.ns("sparse_mqa_seed", 1024)),
        1.25);
  if (!std::isnan(r.ns("sparse_threads1", 1024))) {
    check("OpenMP: sparse on 2 threads vs 1 at N=1024 (wall time)",
          ratio(r.ns("sparse_threads1", 1024), r.ns("sparse_threads2", 1024)), 1.7);
    if (std::thread::hardware_concurrency() <= 2) {
      os << "         (a 2-vCPU machine misses this target even when idle: 1.50x measured; README, Performance)\n";
    }
  }
  const aether_bench::MachineLoad& load = report.load;
  os << "\nMachine: load average " << fmt(load.load_before, 0, 2) << " before the run, " << fmt(load.load_after, 0, 2)
     << " after; single-thread runs were off the CPU " << fmt(100.0 * load.descheduled, 0, 1)
     << "% of their wall time (median)\n";
  if (load.busy()) {
    os << "The machine looked busy (other work was running): ratios measured now may be lower than on an idle "
          "machine.\n";
  }
  if (missed > 0 && !report.check) {
    os << missed << " target(s) not reached in this run. This is a report, not a test: `bench_speedup --check` "
          "turns the targets into PASS/FAIL lines and a non-zero exit status.\n";
  }
  os << "\nCSV: " << csv << "\n";
  return missed;
}

}  // namespace

int main(int argc, char** argv) {
  SizeSet set;
  set.long_run = aether_bench::take_flag(argc, argv, "--long");
  set.small = aether_bench::take_flag(argc, argv, "--small");
  const bool wall = aether_bench::take_flag(argc, argv, "--wall");
  TargetReport report;
  report.check = aether_bench::take_flag(argc, argv, "--check");
  const std::string csv_flag = aether_bench::take_value(argc, argv, "--csv");
  const std::string bench_out = aether_bench::peek_value(argc, argv, "--benchmark_out");
  const std::string format = aether_bench::peek_value(argc, argv, "--benchmark_format");

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
#if defined(AETHER_USE_OPENMP)
  omp_set_num_threads(1);  // single-threaded figures; sparse_threads2 asks for 2 itself
#endif
  register_all(set);

  const std::pair<double, double> baseline_diff = baseline_check();
  const double load_before = aether_bench::load_average();
  aether_bench::RecordingReporter reporter(benchmark::CreateDefaultDisplayReporter());
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const std::vector<std::string> wall_families = {"sparse_threads1", "sparse_threads2"};
  const aether_bench::Results results(reporter.runs(), wall, wall_families);
  if (results.empty()) return 0;  // e.g. --benchmark_list_tests
  report.load = aether_bench::MachineLoad(load_before, reporter.runs(), wall_families);
  std::ostream& os = (format.empty() || format == "console") ? std::cout : std::cerr;
  const int missed = summarize(results, os, aether_bench::csv_path(csv_flag, bench_out, "bench_speedup.csv"), wall,
                               set, baseline_diff, report);
  return report.check && missed > 0 ? 1 : 0;
}
