// Training cost (issue 11), Google Benchmark. AETHER default shape (D 16,
// Hq 4, Hkv 1, d 32, 2 layers, 4 classes), pool mean, the library's default
// attention (sparse GQA, window 32, block 16, global token 0, causal).
//
//   BM_TrainWindow/N       one window's forward + backward (loss_and_gradient):
//                          items/s = training windows/s on one thread
//                          (the optimiser step, amortised over a batch, is left out)
//   BM_BackwardOverForward/N  forward alone and forward + backward timed in the
//                          same run: counters fwd_us, fwd_bwd_us, bwd_over_fwd
//                          = (fwd_bwd - fwd) / fwd
//   BM_AttentionBackward/N  one attention layer's backward (q 4 heads, kv 1 head,
//                          d 32), sparse and dense in the same run: counters
//                          sparse_us, dense_us, dense_over_sparse (acceptance
//                          >= 5 at N = 1024)
//   BM_SparseBackwardGrowth  sparse backward at N = 256 and 1024 in the same run:
//                          counter growth_256_to_1024 (acceptance <= 6; N log N
//                          predicts 5.0, quadratic 16)
#include <aether/rvne.hpp>
#include <aether/sparse_pattern.hpp>
#include <aether/temporal_model.hpp>
#include <aether/train/attention_backward.hpp>
#include <aether/train/model_backward.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <vector>

#include "bench_common.hpp"

namespace {

using Model = aether::TemporalModel<float>;
using Clock = std::chrono::steady_clock;

Model::Matrix frames(std::size_t n, std::size_t d) {
  Model::Matrix x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
  return x;
}

struct Fixture {
  aether::rvne::Blob blob = aether::rvne::init_random(aether::rvne::Header::aether_default());
  Model model{blob};
  std::vector<float> grad = std::vector<float>(aether::rvne::layout_elements(blob.header));
  aether::train::ModelBackwardScratch<float> scratch;
};

void BM_TrainWindow(benchmark::State& state) {
  Fixture f;
  const auto x = frames(static_cast<std::size_t>(state.range(0)), f.blob.header.input_dim);
  for (auto _ : state) {
    auto r = aether::train::loss_and_gradient<float>(f.model, x, 1, aether::Pool::mean, f.grad.data(), f.scratch);
    benchmark::DoNotOptimize(r.loss);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TrainWindow)->Arg(64)->Arg(256)->Unit(benchmark::kMicrosecond);

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void BM_BackwardOverForward(benchmark::State& state) {
  Fixture f;
  const auto x = frames(static_cast<std::size_t>(state.range(0)), f.blob.header.input_dim);
  double fwd = 0, both = 0;
  for (auto _ : state) {
    auto t = Clock::now();
    auto z = f.model.forward(x, aether::Pool::mean);
    benchmark::DoNotOptimize(z.data());
    fwd += seconds_since(t);
    t = Clock::now();
    auto r = aether::train::loss_and_gradient<float>(f.model, x, 1, aether::Pool::mean, f.grad.data(), f.scratch);
    benchmark::DoNotOptimize(r.loss);
    both += seconds_since(t);
  }
  const double it = static_cast<double>(state.iterations());
  state.counters["fwd_us"] = 1e6 * fwd / it;
  state.counters["fwd_bwd_us"] = 1e6 * both / it;
  state.counters["bwd_over_fwd"] = (both - fwd) / fwd;
}
BENCHMARK(BM_BackwardOverForward)->Arg(64)->Arg(256)->Unit(benchmark::kMicrosecond);

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
    const auto t = Clock::now();
    aether::train::sparse_attention_backward<float>(pattern, in.q, in.k, in.v, dout, dq, dk, dv, scratch);
    benchmark::DoNotOptimize(dq.data());
    return seconds_since(t);
  }
  double dense() {
    const auto t = Clock::now();
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
BENCHMARK(BM_AttentionBackward)->Arg(1024)->Unit(benchmark::kMillisecond);

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
BENCHMARK(BM_SparseBackwardGrowth)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
