// Training cost (issues 11, 20), Google Benchmark, per "model case" (a name
// and a function building the model; the table in model_cases(), as
// bench_model's). One thread (OpenMP builds: omp_set_num_threads(1)).
//
// Model cases:
//   v1  the AETHER default (rvne::Header::aether_default(): D 16, Hq 4, Hkv 1,
//       d 32, 2 layers, 4 classes), rvne::init_random weights, ModelAttention{}
//       (sparse GQA, window 32, block 16, global token 0, causal)
//   v2  train::V2Defaults{}.shape(16, 4) (d_model 32, 2 layers, Hq 4 over Hkv 1
//       x 32, conv k 5, ffn 64 ReLU, norms, biases, RoPE, sparse W 32 B 16,
//       global 0, causal), rvne::init_trainable weights (default seed)
// Each case also has a dense twin (v1: ModelAttention backend Dense; v2:
// arch.attention.backend = dense), used only by BM_SparseVsDense.
// Pool mean, label 1, frames x[i] = sin(0.37 i) (row-major element index).
//
//   BM_TrainWindow/CASE/N   one window's forward + backward (loss_and_gradient),
//                          N = 64, 256: items/s = training windows/s on one
//                          thread (the optimiser step, amortised over a batch,
//                          is left out)
//   BM_BackwardOverForward/CASE/N  forward alone and forward + backward timed
//                          in the same run, N = 64, 256: counters fwd_us,
//                          fwd_bwd_us, bwd_over_fwd = (fwd_bwd - fwd) / fwd
//   BM_SparseVsDense/CASE/1024  the whole model's backward at N = 1024 with
//                          the sparse and the dense backend in the same run
//                          (each: forward alone and forward + backward timed,
//                          backward = the difference): counters sparse_bwd_us,
//                          dense_bwd_us, dense_over_sparse (backward), and
//                          window_dense_over_sparse (forward + backward)
//   BM_AttentionBackward/N  one attention layer's backward (q 4 heads, kv 1 head,
//                          d 32; the same kernel shape in v1 and v2), sparse
//                          and dense in the same run: counters sparse_us,
//                          dense_us, dense_over_sparse (acceptance >= 5 at
//                          N = 1024)
//   BM_SparseBackwardGrowth  sparse backward at N = 256 and 1024 in the same run:
//                          counter growth_256_to_1024 (acceptance <= 6; N log N
//                          predicts 5.0, quadratic 16)
// The counters' timings use this thread's CPU time (now_seconds), like the
// rows' CPU times, so a shared machine's descheduling stays out of the ratios.
// After the run: a summary per case (windows/s, bwd/fwd, sparse vs dense) and
// a line comparing v2 to v1; the same figures as CSV (--csv=PATH, default
// bench_train.csv). Own flags as bench_model: --wall, --csv=PATH.
#include <aether/rvne.hpp>
#include <aether/rvne/init.hpp>
#include <aether/sparse_pattern.hpp>
#include <aether/temporal_model.hpp>
#include <aether/train/attention_backward.hpp>
#include <aether/train/model_backward.hpp>
#include <aether/train/v2_defaults.hpp>

#include <benchmark/benchmark.h>

#if defined(AETHER_USE_OPENMP)
#include <omp.h>
#endif

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "bench_common.hpp"

namespace {

using Model = aether::TemporalModel<float>;
using Clock = std::chrono::steady_clock;

const std::vector<std::int64_t>& train_lengths() {
  static const std::vector<std::int64_t> n = {64, 256};
  return n;
}
constexpr std::int64_t kSparseDenseN = 1024;

Model::Matrix frames(std::size_t n, std::size_t d) {
  Model::Matrix x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
  return x;
}

/// The timer of the in-run ratios (the counters): this thread's CPU time
/// where the platform has it (POSIX CLOCK_THREAD_CPUTIME_ID), as the rows'
/// own CPU times, so time the thread spends descheduled on a shared machine
/// does not enter a ratio; elsewhere steady_clock (wall). Cost: one
/// clock_gettime call (a system call, well under a microsecond; every timed
/// span here is at least ~50 us).
double now_seconds() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
#else
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
#endif
}

double seconds_since(double t) { return now_seconds() - t; }

// ---------------------------------------------------------------- model cases

/// A model with its blob (kept beside the model; it sizes the gradient
/// vector), a gradient vector laid out as the blob's tensors,
/// and reusable backward scratch. Built once per benchmark run; used by one
/// thread (train() writes grad and scratch).
struct Trainable {
  aether::rvne::Blob blob;
  Model model;
  std::vector<float> grad;
  aether::train::ModelBackwardScratch<float> scratch;
  Trainable(aether::rvne::Blob b, const aether::ModelAttention& attention)
      : blob(std::move(b)), model(blob, attention), grad(aether::rvne::layout_elements(blob.header)) {}

  /// One window's forward + backward (the timed unit of every model row).
  float train(const Model::Matrix& x) {
    auto r = aether::train::loss_and_gradient<float>(model, x, 1, aether::Pool::mean, grad.data(), scratch);
    return r.loss;
  }
  /// The forward alone (`TemporalModel::forward`, no trace).
  void forward(const Model::Matrix& x) const {
    auto z = model.forward(x, aether::Pool::mean);
    benchmark::DoNotOptimize(z.data());
  }
};

/// v1 (see the header comment); `dense`: ModelAttention backend Dense.
Trainable v1_model(bool dense) {
  aether::ModelAttention attention;
  if (dense) attention.backend = aether::Backend::Dense;
  return Trainable(aether::rvne::init_random(aether::rvne::Header::aether_default()), attention);
}

/// v2 (see the header comment); `dense`: arch.attention.backend = dense
/// (the blob carries its attention options, so ModelAttention stays default).
Trainable v2_model(bool dense) {
  aether::rvne::Header h = aether::train::V2Defaults{}.shape(16, 4);
  if (dense) h.arch.attention.backend = aether::rvne::BackendKind::dense;
  return Trainable(aether::rvne::init_trainable(h), aether::ModelAttention{});
}

/// A row family's model: its name in the rows (`BM_TrainWindow/NAME/N`) and
/// how to build it (argument: dense backend instead of sparse).
struct ModelCase {
  std::string name;
  std::function<Trainable(bool dense)> build;
};

/// Every case benchmarked; one line per model.
const std::vector<ModelCase>& model_cases() {
  static const std::vector<ModelCase> cases = {
      {"v1", v1_model},
      {"v2", v2_model},
  };
  return cases;
}

// ------------------------------------------------------------- model bodies

void bm_train_window(benchmark::State& state, const ModelCase& mc) {
  Trainable t = mc.build(false);
  const auto x = frames(static_cast<std::size_t>(state.range(0)), t.model.input_dim());
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.train(x));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_backward_over_forward(benchmark::State& state, const ModelCase& mc) {
  Trainable t = mc.build(false);
  const auto x = frames(static_cast<std::size_t>(state.range(0)), t.model.input_dim());
  double fwd = 0, both = 0;
  for (auto _ : state) {
    auto c = now_seconds();
    t.forward(x);
    fwd += seconds_since(c);
    c = now_seconds();
    benchmark::DoNotOptimize(t.train(x));
    both += seconds_since(c);
  }
  const double it = static_cast<double>(state.iterations());
  state.counters["fwd_us"] = 1e6 * fwd / it;
  state.counters["fwd_bwd_us"] = 1e6 * both / it;
  state.counters["bwd_over_fwd"] = (both - fwd) / fwd;
}

void bm_sparse_vs_dense(benchmark::State& state, const ModelCase& mc) {
  Trainable sparse = mc.build(false), dense = mc.build(true);
  const auto x = frames(static_cast<std::size_t>(state.range(0)), sparse.model.input_dim());
  double sf = 0, sb = 0, df = 0, db = 0;  // forward alone, forward + backward
  auto timed = [&](Trainable& t, double& fwd, double& both) {
    auto c = now_seconds();
    t.forward(x);
    fwd += seconds_since(c);
    c = now_seconds();
    benchmark::DoNotOptimize(t.train(x));
    both += seconds_since(c);
  };
  for (auto _ : state) {
    timed(sparse, sf, sb);
    timed(dense, df, db);
  }
  const double it = static_cast<double>(state.iterations());
  state.counters["sparse_bwd_us"] = 1e6 * (sb - sf) / it;
  state.counters["dense_bwd_us"] = 1e6 * (db - df) / it;
  state.counters["dense_over_sparse"] = (db - df) / (sb - sf);
  state.counters["window_dense_over_sparse"] = db / sb;
}

/// One attention layer's tensors at N (AETHER default head shape) and its pattern.
struct Attn {
  aether_bench::Inputs in;
  aether::Tensor3<float> dout, dq, dk, dv;
  aether::SparsePattern pattern;
  aether::train::AttentionBackwardScratch<float> scratch;
  explicit Attn(std::size_t n)
      : in(n, 4, 1, 32), dout(n, 4, 32), dq(n, 4, 32), dk(n, 1, 32), dv(n, 1, 32),
        pattern(aether::TemporalHeadConfig::aether_default().sparse_config()) {
    aether_bench::fill_wave(dout, 0.011, 0.5, false);
  }
  double sparse() {
    const double t = now_seconds();
    aether::train::sparse_attention_backward<float>(pattern, in.q, in.k, in.v, dout, dq, dk, dv, scratch);
    benchmark::DoNotOptimize(dq.data());
    return seconds_since(t);
  }
  double dense() {
    const double t = now_seconds();
    aether::train::dense_attention_backward<float>(true, in.q, in.k, in.v, dout, dq, dk, dv, scratch);
    benchmark::DoNotOptimize(dq.data());
    return seconds_since(t);
  }
};

void BM_AttentionBackward(benchmark::State& state) {
  Attn a(static_cast<std::size_t>(state.range(0)));
  double s = 0, d = 0;
  for (auto _ : state) {
    s += a.sparse();
    d += a.dense();
  }
  const double it = static_cast<double>(state.iterations());
  state.counters["sparse_us"] = 1e6 * s / it;
  state.counters["dense_us"] = 1e6 * d / it;
  state.counters["dense_over_sparse"] = d / s;
}

void BM_SparseBackwardGrowth(benchmark::State& state) {
  Attn small(256), big(1024);
  double s = 0, b = 0;
  for (auto _ : state) {
    s += small.sparse();
    b += big.sparse();
  }
  const double it = static_cast<double>(state.iterations());
  state.counters["sparse_256_us"] = 1e6 * s / it;
  state.counters["sparse_1024_us"] = 1e6 * b / it;
  state.counters["growth_256_to_1024"] = b / s;
}

void register_all() {
  for (const ModelCase& mc : model_cases()) {
    auto* p = benchmark::RegisterBenchmark(("BM_TrainWindow/" + mc.name).c_str(),
                                           [&mc](benchmark::State& s) { bm_train_window(s, mc); });
    for (std::int64_t n : train_lengths()) p->Arg(n);
    p->Unit(benchmark::kMicrosecond);
  }
  for (const ModelCase& mc : model_cases()) {
    auto* p = benchmark::RegisterBenchmark(("BM_BackwardOverForward/" + mc.name).c_str(),
                                           [&mc](benchmark::State& s) { bm_backward_over_forward(s, mc); });
    for (std::int64_t n : train_lengths()) p->Arg(n);
    p->Unit(benchmark::kMicrosecond);
  }
  for (const ModelCase& mc : model_cases()) {
    benchmark::RegisterBenchmark(("BM_SparseVsDense/" + mc.name).c_str(),
                                 [&mc](benchmark::State& s) { bm_sparse_vs_dense(s, mc); })
        ->Arg(kSparseDenseN)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("BM_AttentionBackward", BM_AttentionBackward)->Arg(1024)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_SparseBackwardGrowth", BM_SparseBackwardGrowth)->Unit(benchmark::kMillisecond);
}

// ------------------------------------------------------------------ summary

void summarize(const aether_bench::Results& r, std::ostream& os, const std::string& csv, bool wall) {
  os << "\nbench_train summary (" << aether_bench::build_flavour() << ", " << aether_bench::isa_summary() << ", "
     << (wall ? "wall" : "CPU") << " time; load average now " << aether_bench::fmt(aether_bench::load_average(), 0, 2)
     << ")\n";
  std::ofstream out(csv);
  out << "case,row,n,value\n";
  auto windows_per_s = [&](const std::string& c, std::int64_t n) { return 1e9 / r.ns("BM_TrainWindow/" + c, n); };
  for (const ModelCase& mc : model_cases()) {
    os << "  " << mc.name << " train:";
    for (std::int64_t n : train_lengths()) {
      const double w = windows_per_s(mc.name, n);
      os << "  N=" << n << " " << aether_bench::fmt(w, 0, 0) << " windows/s";
      out << mc.name << ",windows_per_s," << n << "," << aether_bench::cell(w) << "\n";
    }
    os << "\n  " << mc.name << " bwd/fwd:";
    for (std::int64_t n : train_lengths()) {
      const double q = r.counter("BM_BackwardOverForward/" + mc.name, n, "bwd_over_fwd");
      os << "  N=" << n << " " << aether_bench::fmt(q, 0, 2);
      out << mc.name << ",bwd_over_fwd," << n << "," << aether_bench::cell(q) << "\n";
    }
    const std::string sd = "BM_SparseVsDense/" + mc.name;
    const double sp = r.counter(sd, kSparseDenseN, "sparse_bwd_us"), de = r.counter(sd, kSparseDenseN, "dense_bwd_us");
    os << "\n  " << mc.name << " backward N=" << kSparseDenseN << ": sparse " << aether_bench::fmt(sp / 1e3, 0, 2)
       << " ms, dense " << aether_bench::fmt(de / 1e3, 0, 2) << " ms, dense/sparse "
       << aether_bench::fmt(r.counter(sd, kSparseDenseN, "dense_over_sparse"), 0, 2) << "x (whole window "
       << aether_bench::fmt(r.counter(sd, kSparseDenseN, "window_dense_over_sparse"), 0, 2) << "x)\n";
    out << mc.name << ",sparse_bwd_us," << kSparseDenseN << "," << aether_bench::cell(sp) << "\n";
    out << mc.name << ",dense_bwd_us," << kSparseDenseN << "," << aether_bench::cell(de) << "\n";
  }
  if (model_cases().size() >= 2) {
    os << "  v2 vs v1: windows/s";
    for (std::int64_t n : train_lengths()) {
      os << "  N=" << n << " " << aether_bench::fmt(windows_per_s("v2", n) / windows_per_s("v1", n), 0, 2) << "x";
    }
    os << " of v1's (v2 window costs";
    for (std::int64_t n : train_lengths()) {
      os << " " << aether_bench::fmt(r.ns("BM_TrainWindow/v2", n) / r.ns("BM_TrainWindow/v1", n), 0, 2) << "x";
    }
    os << ")\n";
  }
  const double attn = r.counter("BM_AttentionBackward", 1024, "dense_over_sparse");
  const double growth = r.counter("BM_SparseBackwardGrowth", 0, "growth_256_to_1024");
  os << "  attention layer backward N=1024: dense/sparse " << aether_bench::fmt(attn, 0, 2)
     << "x (acceptance >= 5); sparse growth 256 -> 1024 " << aether_bench::fmt(growth, 0, 2) << " (acceptance <= 6)\n";
  os << "  CSV: " << csv << "\n";
}

}  // namespace

int main(int argc, char** argv) {
#if defined(AETHER_USE_OPENMP)
  omp_set_num_threads(1);  // single-threaded figures (the sparse forward would split rows over threads)
#endif
  return aether_bench::bench_main(argc, argv, "bench_train.csv", register_all, summarize);
}
