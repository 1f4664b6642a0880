// bench_model: the whole model end to end (issue 19), per "model case" (a
// name and a function building the model; the table in model_cases()).
//
//   BM_Prefill/CASE/N  TemporalModel::forward_frames over N frames (N = 64,
//                      128, 256, 512, 1024), Pool::mean, one reused
//                      ForwardWorkspace; each iteration also copies the N
//                      input frames into the workspace (forward_frames
//                      overwrites them; N x input_dim floats, negligible).
//                      items_processed = N, so items_per_second is frames/s;
//                      counter macs/frame (see frame_macs).
//   BM_Push/CASE/T     one TemporalStream::push into a stream of capacity T
//                      (T = 1024, 16384) holding about T frames: the stream is
//                      filled to T - kPushRun frames outside timing, then the
//                      timed pushes take it to T - kPushRun + 1 .. T; after
//                      kPushRun pushes it is restored from a copy with the
//                      timer paused, and the next run starts again at
//                      T - kPushRun. kPushRun = 16 = the v1 block size, so each
//                      run completes exactly one landmark block, as a long
//                      stream does every 16 pushes. (Eviction::sliding_window
//                      at capacity T was not used: its eviction compacts the
//                      whole cache and recomputes every landmark, an O(T)
//                      cost every 16 pushes that is eviction's, not a push's.)
//                      Counter macs_per_push (see push_macs); ns/push is the
//                      row's time. Growth = BM_Push/CASE/16384 / BM_Push/CASE/1024,
//                      printed in the summary.
//
// Model cases: `v1` is the AETHER default (rvne::Header::aether_default():
// input 16, 4 q heads over 1 kv head x 32, 2 layers, 4 classes; ModelAttention{}:
// sparse GQA, W 32, B 16, globals {0}, causal, log-stride and landmarks on),
// weights rvne::init_random (default seed). Adding a case is one line in
// model_cases(); a case whose model is not a TemporalModel<float> needs
// overloads of frame_macs / attended_candidates and the three members the
// bodies use (input_dim, forward_frames, make_stream).
//
// One thread (OpenMP builds: omp_set_num_threads(1)), as bench_speedup's rows.
// Own flags: --wall, --csv=PATH (default bench_model.csv), and
// --callgrind-push=CASE/T: no benchmarks; fills a stream of CASE to
// T - kPushRun outside the function `callgrind_pushes`, which then pushes
// exactly kPushRun frames. Instructions per push:
//   valgrind --tool=callgrind --toggle-collect='*callgrind_pushes*' ./bench_model --callgrind-push=v1/1024
//   then Ir (callgrind_annotate, or "summary:" in callgrind.out.PID) / 16.
// Valgrind cannot run AVX-512 code: use a build without it (docs/performance.md).

#include "bench_common.hpp"

#include <aether/aether.hpp>
#include <aether/rvne/init.hpp>

#include <benchmark/benchmark.h>

#if defined(AETHER_USE_OPENMP)
#include <omp.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace {

using Model = aether::TemporalModel<float>;

/// Timed pushes between two restores of a BM_Push stream (see the header comment).
constexpr std::size_t kPushRun = 16;

const std::vector<std::int64_t>& prefill_lengths() {
  static const std::vector<std::int64_t> n = {64, 128, 256, 512, 1024};
  return n;
}
const std::vector<std::int64_t>& push_capacities() {
  static const std::vector<std::int64_t> t = {1024, 16384};
  return t;
}

// ---------------------------------------------------------------- model cases

/// v1: the AETHER default model (see the header comment).
Model v1_model() {
  static const aether::rvne::Blob blob = aether::rvne::init_random(aether::rvne::Header::aether_default());
  return Model(blob, aether::ModelAttention{});
}

/// v2: the benchmark shape (`rvne::v2_benchmark_header`: input_dim 16,
/// d_model 32, 2 layers, 4 query heads over 1 kv head of 32, sparse W 32
/// B 16, conv k 5 delta 1, ffn 64 ReLU, biases on, RoPE, no gate) with
/// `init_trainable` weights (default seed); it carries its own attention options.
Model v2_model() {
  static const aether::rvne::Blob blob = aether::rvne::init_trainable(aether::rvne::v2_benchmark_header());
  return Model(blob, aether::ModelAttention{});
}

/// A row family's model: its name in the rows (`BM_Prefill/NAME/N`) and how to build it.
struct ModelCase {
  std::string name;
  std::function<Model()> build;
};

/// Every case benchmarked; one line per model.
const std::vector<ModelCase>& model_cases() {
  static const std::vector<ModelCase> cases = {
      {"v1", v1_model},
      {"v2", v2_model},
  };
  return cases;
}

// ------------------------------------------------------- multiply-add counts

/// Candidates (key tokens + landmark blocks) one query head attends for query
/// `i` of a length-`n` sequence: the model's own sparse pattern (the one the
/// kernel iterates), so the count follows the configuration. Dense: i + 1
/// (causal) or n.
std::size_t attended_candidates(const Model& m, std::size_t i, std::size_t n) {
  const aether::TemporalHeadConfig& c = m.head().config();
  if (c.backend != aether::Backend::SparseGqa) return c.causal ? i + 1 : n;
  const aether::SparsePattern p(c.sparse_config());
  aether::Candidates cand;
  p.candidates(i, n, cand);
  return cand.size();
}

/// Multiply-adds of one frame through every layer, given `candidates` attended
/// per query head (averaged as the caller needs), plus `classifier_share` of
/// the classifier (1 for a push: it classifies every frame; 1/N for a prefill:
/// once on the pooled row). With D = input_dim, H = q_heads, G = kv_heads,
/// d = head_dim, per layer:
///   projections  D*H*d (Wq) + 2*D*G*d (Wk, Wv) + H*d*D (Wo)
///   attention    H * candidates * 2*d   (q.k score and p*v per candidate;
///                landmarks count as candidates like tokens)
/// and D*classes for the classifier. Not counted (not multiply-adds, or
/// O(1/B) per frame): softmax exponentials and normalisation, residual adds,
/// pooling, landmark block means (d*G adds per frame amortised).
///
/// The weight terms are read from the blob's own tensor list
/// (`rvne::for_each_tensor`): every matrix (a name starting with W, and the
/// v2 convolution taps, k*d multiply-adds per frame) once per frame, Wc with
/// `classifier_share`; vectors (biases, norm gains) are adds, not counted.
/// For v1 this is exactly the formula above.
double frame_macs(const Model& m, double candidates, double classifier_share) {
  const aether::rvne::Header& h = m.header();
  double weights = 0;
  aether::rvne::for_each_tensor(h, [&](const aether::rvne::MatrixShape& t) {
    const std::string name = t.name;
    const double e = static_cast<double>(t.elements());
    if (name == "Wc") {
      weights += classifier_share * e;
    } else if (name[0] == 'W' || name == "conv.taps") {
      weights += e;
    }
  });
  const double H = h.q_heads, d = h.head_dim;
  const double attention = H * candidates * 2 * d;
  return weights + static_cast<double>(h.layers) * attention;
}

/// Multiply-adds per timed push of BM_Push at capacity `t`: the mean over the
/// run's pushes (query t - kPushRun .. t - 1 of a sequence of that length + 1).
double push_macs(const Model& m, std::size_t t) {
  double candidates = 0;
  for (std::size_t n = t - kPushRun + 1; n <= t; ++n) {
    candidates += static_cast<double>(attended_candidates(m, n - 1, n));
  }
  return frame_macs(m, candidates / kPushRun, 1.0);
}

/// Multiply-adds per frame of a prefill over `n` frames.
double prefill_macs(const Model& m, std::size_t n) {
  double candidates = 0;
  for (std::size_t i = 0; i < n; ++i) candidates += static_cast<double>(attended_candidates(m, i, n));
  return frame_macs(m, candidates / static_cast<double>(n), 1.0 / static_cast<double>(n));
}

// ------------------------------------------------------------------- inputs

/// `n` deterministic frames of `dim` values, row-major: sin(0.01 e + 0.3).
std::vector<float> frames(std::size_t n, std::size_t dim) {
  std::vector<float> f(n * dim);
  for (std::size_t e = 0; e < f.size(); ++e) f[e] = static_cast<float>(std::sin(0.01 * static_cast<double>(e) + 0.3));
  return f;
}

// ------------------------------------------------------------------- bodies

void bm_prefill(benchmark::State& state, const ModelCase& mc) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Model model = mc.build();
  const std::size_t dim = model.input_dim();
  const std::vector<float> x = frames(n, dim);
  aether::ForwardWorkspace<float> fw;
  std::vector<float> logits(model.classes());
  auto run = [&] {
    std::copy(x.begin(), x.end(), fw.frames(n, dim));
    model.forward_frames(n, aether::Pool::mean, fw, logits.data());
  };
  run();  // sizes the workspace
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(logits.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
  state.counters["macs/frame"] = prefill_macs(model, n);
}

/// A stream of capacity `t` filled with frames 0 .. t - kPushRun - 1; the
/// next kPushRun frames are in `next`.
struct FilledStream {
  aether::TemporalStream<float> stream;
  std::vector<float> next;
  FilledStream(const Model& model, std::size_t t) : stream(model, t) {
    const std::size_t dim = model.input_dim();
    const std::vector<float> x = frames(t, dim);
    for (std::size_t i = 0; i + kPushRun < t; ++i) stream.push(x.data() + i * dim);
    next.assign(x.end() - static_cast<std::ptrdiff_t>(kPushRun * dim), x.end());
  }
};

void bm_push(benchmark::State& state, const ModelCase& mc) {
  const auto t = static_cast<std::size_t>(state.range(0));
  const Model model = mc.build();
  const std::size_t dim = model.input_dim();
  const FilledStream filled(model, t);
  aether::TemporalStream<float> s = filled.stream;
  std::size_t k = 0;
  for (auto _ : state) {
    if (k == kPushRun) {
      state.PauseTiming();
      s = filled.stream;
      k = 0;
      state.ResumeTiming();
    }
    const auto& logits = s.push(filled.next.data() + k * dim);
    benchmark::DoNotOptimize(logits.data());
    ++k;
  }
  state.counters["macs_per_push"] = push_macs(model, t);
}

void register_all() {
  for (const ModelCase& mc : model_cases()) {
    auto* p = benchmark::RegisterBenchmark(("BM_Prefill/" + mc.name).c_str(),
                                           [&mc](benchmark::State& s) { bm_prefill(s, mc); });
    for (std::int64_t n : prefill_lengths()) p->Arg(n);
    p->Unit(benchmark::kMicrosecond);
  }
  for (const ModelCase& mc : model_cases()) {
    auto* p = benchmark::RegisterBenchmark(("BM_Push/" + mc.name).c_str(),
                                           [&mc](benchmark::State& s) { bm_push(s, mc); });
    for (std::int64_t t : push_capacities()) p->Arg(t);
    p->Unit(benchmark::kNanosecond);
  }
}

// ---------------------------------------------------------------- callgrind

/// The pushes callgrind counts (--toggle-collect='*callgrind_pushes*'): kPushRun frames.
[[gnu::noinline]] float callgrind_pushes(aether::TemporalStream<float>& s, const float* next, std::size_t dim) {
  float sum = 0;
  for (std::size_t k = 0; k < kPushRun; ++k) sum += s.push(next + k * dim)[0];
  return sum;
}

/// --callgrind-push=CASE/T; returns the exit status.
int callgrind_push(const std::string& spec) {
  const auto slash = spec.find('/');
  if (slash == std::string::npos) {
    std::cerr << "--callgrind-push=CASE/T, e.g. v1/1024\n";
    return 2;
  }
  const std::string name = spec.substr(0, slash);
  const std::size_t t = std::stoul(spec.substr(slash + 1));
  for (const ModelCase& mc : model_cases()) {
    if (mc.name != name) continue;
    const Model model = mc.build();
    FilledStream filled(model, t);
    const float sum = callgrind_pushes(filled.stream, filled.next.data(), model.input_dim());
    std::printf("callgrind-push %s/%zu: %zu pushes (frames %zu .. %zu), macs_per_push %.0f, checksum %g\n",
                name.c_str(), t, kPushRun, t - kPushRun + 1, t, push_macs(model, t), static_cast<double>(sum));
    return 0;
  }
  std::cerr << "no model case '" << name << "'\n";
  return 2;
}

// ------------------------------------------------------------------ summary

void summarize(const aether_bench::Results& r, std::ostream& os, const std::string& csv, bool wall) {
  os << "\nbench_model summary (" << aether_bench::build_flavour() << ", " << aether_bench::isa_summary() << ", "
     << (wall ? "wall" : "CPU") << " time)\n";
  std::ofstream out(csv);
  out << "case,kind,n,ns,frames_per_s\n";
  for (const ModelCase& mc : model_cases()) {
    os << "  " << mc.name << " prefill:";
    for (std::int64_t n : prefill_lengths()) {
      const double ns = r.ns("BM_Prefill/" + mc.name, n);
      const double fps = static_cast<double>(n) * 1e9 / ns;
      os << "  N=" << n << " " << aether_bench::fmt(fps / 1e3, 0, 1) << " kframes/s";
      out << mc.name << ",prefill," << n << "," << aether_bench::cell(ns) << "," << aether_bench::cell(fps) << "\n";
    }
    os << "\n  " << mc.name << " push:";
    for (std::int64_t t : push_capacities()) {
      const double ns = r.ns("BM_Push/" + mc.name, t);
      os << "  T=" << t << " " << aether_bench::fmt(ns, 0, 1) << " ns";
      out << mc.name << ",push," << t << "," << aether_bench::cell(ns) << "," << aether_bench::cell(1e9 / ns) << "\n";
    }
    const double growth = r.ns("BM_Push/" + mc.name, push_capacities().back()) /
                          r.ns("BM_Push/" + mc.name, push_capacities().front());
    os << "  growth " << push_capacities().back() << "/" << push_capacities().front() << " "
       << aether_bench::fmt(growth, 0, 3) << "\n";
  }
  if (model_cases().size() >= 2) {  // the goals: v2 push at most 2.5x v1's; growth within v1's + 0.1
    const double t0 = static_cast<double>(push_capacities().front()), t1 = static_cast<double>(push_capacities().back());
    auto push = [&](const std::string& c, double t) { return r.ns("BM_Push/" + c, static_cast<std::int64_t>(t)); };
    os << "  v2/v1 push: T=" << t0 << " " << aether_bench::fmt(push("v2", t0) / push("v1", t0), 0, 2) << "x, T=" << t1
       << " " << aether_bench::fmt(push("v2", t1) / push("v1", t1), 0, 2) << "x (goal <= 2.5x); growth v2 "
       << aether_bench::fmt(push("v2", t1) / push("v2", t0), 0, 3) << " vs v1 "
       << aether_bench::fmt(push("v1", t1) / push("v1", t0), 0, 3) << " (goal: within +0.1)\n";
  }
  os << "  CSV: " << csv << "\n";
}

}  // namespace

int main(int argc, char** argv) {
#if defined(AETHER_USE_OPENMP)
  omp_set_num_threads(1);  // single-threaded figures (the sparse prefill would split rows over threads)
#endif
  const std::string cg = aether_bench::take_value(argc, argv, "--callgrind-push");
  if (!cg.empty()) return callgrind_push(cg);
  return aether_bench::bench_main(argc, argv, "bench_model.csv", register_all, summarize);
}
