// Concurrency (issue 13): one const SparseAttention, dense_attention, one
// TemporalHead and one TemporalModel used by 8 threads at once (prefill, and
// decode against per-thread caches) give every thread the single-threaded
// result bit for bit; StreamPool pushes spread over 8 OpenMP threads equal
// the streams pushed one by one. Built with OpenMP (the prefill inside each
// thread may fork too). The `tsan` preset runs it under ThreadSanitizer
// (ctest label `concurrency`), which turns a hidden shared scratch or a
// mutable static into a reported race, not just a wrong number.
#include <aether/dense_attention.hpp>
#include <aether/kv_cache.hpp>
#include <aether/rvne.hpp>
#include <aether/sparse_attention.hpp>
#include <aether/stream_pool.hpp>
#include <aether/temporal_head.hpp>
#include <aether/temporal_model.hpp>

#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "reference_attention.hpp"
#include "test_support.hpp"

#if !defined(AETHER_USE_OPENMP)
#error "concurrency_test must be compiled with AETHER_USE_OPENMP"
#endif

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace concurrency_test {

namespace {

using aether::KvCache;
using aether::Tensor3;
using aether::Tensor3View;
using aether_ref::bit_mismatch;
using aether_ref::random_tensor;
using aether_test::token;
using Matrix = aether::TemporalModel<float>::Matrix;
using Vector = aether::TemporalModel<float>::Vector;

constexpr int kThreads = 8;

/// Runs `f(t)` for t = 0..7 on 8 threads released together, so that their
/// calls overlap. `f` writes only its own thread's results.
///
/// The tests run prefills and decodes in separate passes: a prefill of 128
/// rows or more forks an OpenMP team, and libomp's Archer annotations of that
/// fork/join order the calling threads for ThreadSanitizer, which then
/// missed a race seeded in decode (a mutable counter in a const
/// SparseAttention: caught 0 times in 10 when one pass ran both, 10 in 10
/// with the decodes in a pass of their own).
template <class F>
void on_threads(F&& f) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      f(t);
    });
  }
  for (auto& th : threads) th.join();
}

/// Every thread's tensor has the reference's bytes.
void expect_all_equal(const char* what, const Tensor3<float>& want, const std::vector<Tensor3<float>>& got) {
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(bit_mismatch<float>(got[t], want), "") << what << ", thread " << t;
}

/// Decode token by token: `attend(q_t, cache, out_row, ws)` after appending
/// token t to a fresh cache of `n`; the rows stacked into `(n, heads, dim)`.
template <class Attend>
Tensor3<float> decode_all(const Tensor3<float>& q, const Tensor3<float>& k, const Tensor3<float>& v,
                          std::size_t block, Attend&& attend) {
  const std::size_t n = q.seq();
  KvCache<float> cache(n, k.heads(), k.dim(), block);
  aether::Workspace<float> ws;
  Tensor3<float> out(n, q.heads(), q.dim());
  for (std::size_t t = 0; t < n; ++t) {
    cache.append(token(k, t), token(v, t));
    attend(token(q, t), cache, out.view().slice(t, 1), ws);
  }
  return out;
}

struct Inputs {
  Tensor3<float> q, k, v;
};
// 160 tokens: above SparseAttention's parallel-prefill threshold (128 rows).
Inputs inputs(std::size_t q_heads, std::size_t kv_heads, std::size_t dim, std::uint32_t seed) {
  return {random_tensor<float>(160, q_heads, dim, seed), random_tensor<float>(160, kv_heads, dim, seed + 1),
          random_tensor<float>(160, kv_heads, dim, seed + 2)};
}

TEST(Concurrency, SparseAttentionForwardAndDecodeFrom8Threads) {
  const Inputs in = inputs(8, 2, 16, 7);
  aether::SparseConfig cfg;
  cfg.window = 16;
  cfg.block_size = 8;
  cfg.global_tokens = {0, 40};
  const aether::SparseAttention<float> attn(cfg);
  auto decode = [&](Tensor3View<const float> q1, const KvCache<float>& c, Tensor3View<float> o,
                    aether::Workspace<float>& ws) { attn.decode(q1, c, o, ws); };
  const Tensor3<float> forward = attn.forward(in.q, in.k, in.v);
  const Tensor3<float> decoded = decode_all(in.q, in.k, in.v, cfg.block_size, decode);
  ASSERT_EQ(bit_mismatch<float>(decoded, forward), "") << "decode must equal the causal prefill";

  std::vector<Tensor3<float>> f(kThreads), d(kThreads);
  on_threads([&](int t) { f[t] = attn.forward(in.q, in.k, in.v); });
  on_threads([&](int t) { d[t] = decode_all(in.q, in.k, in.v, cfg.block_size, decode); });
  expect_all_equal("SparseAttention::forward", forward, f);
  expect_all_equal("SparseAttention::decode", decoded, d);
}

TEST(Concurrency, DenseAttentionForwardAndDecodeFrom8Threads) {
  const Inputs in = inputs(4, 1, 32, 17);
  auto decode = [](Tensor3View<const float> q1, const KvCache<float>& c, Tensor3View<float> o,
                   aether::Workspace<float>& ws) { aether::dense_decode(q1, c, o, ws); };
  const Tensor3<float> forward = aether::dense_attention(in.q, in.k, in.v, /*causal=*/true);
  const Tensor3<float> decoded = decode_all(in.q, in.k, in.v, 16, decode);

  std::vector<Tensor3<float>> f(kThreads), d(kThreads);
  on_threads([&](int t) { f[t] = aether::dense_attention(in.q, in.k, in.v, /*causal=*/true); });
  on_threads([&](int t) { d[t] = decode_all(in.q, in.k, in.v, 16, decode); });
  expect_all_equal("dense_attention", forward, f);
  expect_all_equal("dense_decode", decoded, d);
}

TEST(Concurrency, TemporalHeadForwardAndStepFrom8Threads) {
  const aether::TemporalHead<float> head(aether::TemporalHeadConfig::aether_default());
  const Inputs in = inputs(4, 1, 32, 27);
  // Steps against a per-thread cache, through the allocation-free overload.
  auto steps = [&] {
    KvCache<float> cache = head.make_cache(in.q.seq());
    aether::Workspace<float> ws;
    Tensor3<float> out(in.q.seq(), 4, 32);
    for (std::size_t t = 0; t < in.q.seq(); ++t) {
      head.step(token(in.q, t), token(in.k, t), token(in.v, t), cache, out.view().slice(t, 1), ws);
    }
    return out;
  };
  const Tensor3<float> forward = head.forward(in.q, in.k, in.v);
  const Tensor3<float> stepped = steps();
  ASSERT_EQ(bit_mismatch<float>(stepped, forward), "");

  std::vector<Tensor3<float>> f(kThreads), s(kThreads);
  on_threads([&](int t) { f[t] = head.forward(in.q, in.k, in.v); });
  on_threads([&](int t) { s[t] = steps(); });
  expect_all_equal("TemporalHead::forward", forward, f);
  expect_all_equal("TemporalHead::step", stepped, s);
}

Matrix random_frames(std::size_t n, std::size_t d, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Matrix x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  for (Eigen::Index e = 0; e < x.size(); ++e) x.data()[e] = u(rng);
  return x;
}

bool same_bits(const Vector& a, const Vector& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

TEST(Concurrency, TemporalModelForwardAndStreamsFrom8Threads) {
  const aether::TemporalModel<float> model(aether::rvne::init_random(aether::rvne::Header::aether_default()));
  const Matrix x = random_frames(140, model.input_dim(), 37);
  // Each frame's streamed logits, one row per frame.
  auto stream_logits = [&] {
    aether::TemporalStream<float> stream = model.make_stream(static_cast<std::size_t>(x.rows()));
    Matrix out(x.rows(), static_cast<Eigen::Index>(model.classes()));
    for (Eigen::Index r = 0; r < x.rows(); ++r) out.row(r) = stream.push(x.row(r).transpose()).transpose();
    return out;
  };
  const Vector forward = model.forward(x, aether::Pool::mean);
  const Matrix streamed = stream_logits();
  ASSERT_TRUE(same_bits(model.forward(x, aether::Pool::last), streamed.row(x.rows() - 1).transpose()));

  std::vector<Vector> f(kThreads);
  std::vector<Matrix> s(kThreads);
  on_threads([&](int t) { f[t] = model.forward(x, aether::Pool::mean); });
  on_threads([&](int t) { s[t] = stream_logits(); });
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(same_bits(f[t], forward)) << "TemporalModel::forward, thread " << t;
    EXPECT_EQ(0, std::memcmp(s[t].data(), streamed.data(), sizeof(float) * static_cast<std::size_t>(s[t].size())))
        << "TemporalStream::push, thread " << t;
  }
}

TEST(Concurrency, StreamPoolPushOn8OpenMpThreadsEqualsStreamsAlone) {
  const aether::TemporalModel<float> model(aether::rvne::init_random(aether::rvne::Header::aether_default()));
  constexpr std::size_t kTracks = 12, kSteps = 60, kCapacity = 40;  // evicts after 40 frames
  const int saved = omp_get_max_threads();
  omp_set_num_threads(kThreads);
  aether::StreamPool<float> pool(model, kCapacity, aether::Eviction::sliding_window);
  std::vector<aether::TemporalStream<float>> alone;
  std::vector<std::size_t> ids;
  for (std::size_t s = 0; s < kTracks; ++s) {
    ids.push_back(pool.open());
    alone.push_back(model.make_stream(kCapacity, aether::Eviction::sliding_window));
  }
  for (std::size_t step = 0; step < kSteps; ++step) {
    const Matrix frames = random_frames(kTracks, model.input_dim(), static_cast<std::uint32_t>(500 + step));
    const Matrix logits = pool.push(ids, frames);
    for (std::size_t s = 0; s < kTracks; ++s) {
      const auto r = static_cast<Eigen::Index>(s);
      const Vector want = alone[s].push(frames.row(r).transpose());
      ASSERT_TRUE(same_bits(logits.row(r).transpose(), want)) << "track " << s << " step " << step;
    }
  }
  omp_set_num_threads(saved);
}

}  // namespace

}  // namespace concurrency_test
