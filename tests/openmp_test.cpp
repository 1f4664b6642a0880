// Built with OpenMP and AETHER_USE_OPENMP: prefill split over threads must be
// bit-identical to the single-threaded run, for every shape and thread count.
#include <aether/dense_attention.hpp>
#include <aether/sparse_attention.hpp>

#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>

#include "reference_attention.hpp"

#if !defined(AETHER_USE_OPENMP)
#error "openmp_test must be compiled with AETHER_USE_OPENMP"
#endif

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace openmp_test {

namespace {

struct Shape {
  std::size_t n, q_heads, kv_heads, dim;
};

template <class F>
void expect_thread_invariant(const char* what, const Shape& s, F&& run) {
  omp_set_num_threads(1);
  const aether::Tensor3<float> serial = run();
  for (int threads : {2, 3, 4}) {
    omp_set_num_threads(threads);
    const aether::Tensor3<float> parallel = run();
    ASSERT_EQ(0, std::memcmp(serial.data(), parallel.data(), serial.size() * sizeof(float)))
        << what << " n=" << s.n << " q_heads=" << s.q_heads << " kv_heads=" << s.kv_heads << " dim=" << s.dim
        << " differs with " << threads << " threads";
  }
}

class OpenMp : public ::testing::TestWithParam<Shape> {};

TEST_P(OpenMp, SparseAndDensePrefillAreBitIdenticalAcrossThreadCounts) {
  const Shape s = GetParam();
  const auto q = aether_ref::random_tensor<float>(s.n, s.q_heads, s.dim, 21);
  const auto k = aether_ref::random_tensor<float>(s.n, s.kv_heads, s.dim, 22);
  const auto v = aether_ref::random_tensor<float>(s.n, s.kv_heads, s.dim, 23);
  for (bool causal : {true, false}) {
    aether::SparseConfig cfg;
    cfg.window = 16;
    cfg.block_size = 32;
    cfg.causal = causal;
    cfg.global_tokens = {0, 7};
    const aether::SparseAttention<float> attn(cfg);
    expect_thread_invariant("sparse", s, [&] { return attn.forward(q, k, v); });
    expect_thread_invariant("dense", s, [&] { return aether::dense_attention(q, k, v, causal); });
  }
  // And the parallel result is still the right one.
  omp_set_num_threads(2);
  aether::SparseConfig cfg;
  cfg.window = 16;
  cfg.block_size = 32;
  const auto got = aether::SparseAttention<float>(cfg).forward(q, k, v);
  const auto want = aether_ref::reference_sparse<float>(cfg, q, k, v);
  EXPECT_LE(aether_ref::max_diff(got, want).max, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Shapes, OpenMp,
                         ::testing::Values(Shape{1, 4, 4, 32}, Shape{127, 4, 4, 32}, Shape{300, 4, 1, 32},
                                           Shape{1024, 4, 4, 32}, Shape{257, 6, 2, 24}));

}  // namespace

}  // namespace openmp_test
