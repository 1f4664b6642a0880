// Steady-state decode allocates nothing (its own binary: this file replaces
// the global allocation functions).
//
// Counted: every global operator new / new[] (all C++17 overloads, aligned and
// nothrow included) AND the C allocator (malloc, calloc, realloc,
// posix_memalign, aligned_alloc, memalign), because Eigen::aligned_allocator
// (used by Workspace, KvCache and Tensor3) allocates with malloc, not new.
// The C functions forward to glibc's __libc_* entry points.
//
// Checked, at the AETHER default (q 4, kv 1, d 32, W 32, B 16):
// - SparseAttention::decode(q1, cache, out_view, ws) and
//   TemporalHead::step(q1, k1, v1, cache, out, ws): after ONE warm-up step on a
//   fresh cache, zero allocations for every further step up to the capacity;
// - the same after a workspace was warmed by a step at the cache's capacity;
// - dense_decode / TemporalHead(Backend::Dense)::step after warming.
// - a v2 model's TemporalStream push (V2StreamAlloc), ungated and gated, with and
//   without eviction, after warming.
#include <aether/dense_attention.hpp>
#include <aether/kv_cache.hpp>
#include <aether/sparse_attention.hpp>
#include <aether/temporal_head.hpp>
#include <aether/temporal_model.hpp>
#include <aether/rvne/init.hpp>

#include <gtest/gtest.h>
#if defined(AETHER_USE_OPENMP)
#include <omp.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

// ---------------------------------------------------------------------------
// Counting allocation functions.

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace counting {
std::atomic<bool> enabled{false};
std::atomic<long> news{0};     // operator new / new[]
std::atomic<long> mallocs{0};  // C allocator (includes Eigen's aligned_malloc)
// The first few counted allocations: step index and size, for the report.
std::atomic<long> step{-1};
struct Event {
  long step;
  std::size_t bytes;
  bool is_new;
};
Event events[16];
std::atomic<int> n_events{0};

inline void note(std::size_t bytes, bool is_new) {
  if (!enabled.load(std::memory_order_relaxed)) return;
  (is_new ? news : mallocs).fetch_add(1, std::memory_order_relaxed);
  const int e = n_events.fetch_add(1, std::memory_order_relaxed);
  if (e < 16) events[e] = Event{step.load(std::memory_order_relaxed), bytes, is_new};
}

inline void* checked(void* p) {
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

struct Scope {
  Scope() {
    news = 0;
    mallocs = 0;
    n_events = 0;
    step = -1;
    enabled = true;
  }
  ~Scope() { enabled = false; }
  long total() const { return news.load() + mallocs.load(); }
};

std::string report() {
  std::string s = "operator new: " + std::to_string(news.load()) + ", malloc family: " + std::to_string(mallocs.load());
  const int n = std::min(n_events.load(), 16);
  for (int e = 0; e < n; ++e) {
    s += "\n  #" + std::to_string(e) + " step " + std::to_string(events[e].step) + ": " +
         (events[e].is_new ? "new " : "malloc ") + std::to_string(events[e].bytes) + " bytes";
  }
  return s;
}
}  // namespace counting

extern "C" {
void* malloc(std::size_t n) {
  counting::note(n, false);
  return __libc_malloc(n);
}
void* calloc(std::size_t c, std::size_t n) {
  counting::note(c * n, false);
  return __libc_calloc(c, n);
}
void* realloc(void* p, std::size_t n) {
  counting::note(n, false);
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
int posix_memalign(void** out, std::size_t align, std::size_t n) {
  counting::note(n, false);
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
void* aligned_alloc(std::size_t align, std::size_t n) {
  counting::note(n, false);
  return __libc_memalign(align, n);
}
void* memalign(std::size_t align, std::size_t n) {
  counting::note(n, false);
  return __libc_memalign(align, n);
}
}

void* operator new(std::size_t n) {
  counting::note(n, true);
  return counting::checked(__libc_malloc(n == 0 ? 1 : n));
}
void* operator new[](std::size_t n) {
  counting::note(n, true);
  return counting::checked(__libc_malloc(n == 0 ? 1 : n));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  counting::note(n, true);
  return __libc_malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  counting::note(n, true);
  return __libc_malloc(n == 0 ? 1 : n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  counting::note(n, true);
  return counting::checked(__libc_memalign(static_cast<std::size_t>(a), n == 0 ? 1 : n));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  counting::note(n, true);
  return counting::checked(__libc_memalign(static_cast<std::size_t>(a), n == 0 ? 1 : n));
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  counting::note(n, true);
  return __libc_memalign(static_cast<std::size_t>(a), n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  counting::note(n, true);
  return __libc_memalign(static_cast<std::size_t>(a), n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { __libc_free(p); }

// ---------------------------------------------------------------------------

namespace {

using aether::KvCache;
using aether::Tensor3;
using aether::Tensor3View;

constexpr std::size_t kCapacity = 1024;

Tensor3<float> random_tensor(std::size_t seq, std::size_t heads, std::size_t dim, std::uint32_t seed) {
  Tensor3<float> t(seq, heads, dim);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (std::size_t e = 0; e < t.size(); ++e) t.data()[e] = u(rng);
  return t;
}

struct Stream {
  Tensor3<float> q, k, v;
  explicit Stream(const aether::TemporalHeadConfig& hc)
      : q(random_tensor(kCapacity, hc.q_heads, hc.head_dim, 1)),
        k(random_tensor(kCapacity, hc.kv_heads, hc.head_dim, 2)),
        v(random_tensor(kCapacity, hc.kv_heads, hc.head_dim, 3)) {}
  static Tensor3View<const float> at(const Tensor3<float>& t, std::size_t i) {
    return Tensor3View<const float>(t).slice(i, 1);
  }
};

TEST(DecodeAlloc, CounterSeesNewAndEigenAllocations) {
  // The harness itself must be able to fail.
  long seen = 0;
  {
    counting::Scope s;
    auto* p = new int(3);
    delete p;
    std::vector<float, Eigen::aligned_allocator<float>> v(100);
    Tensor3<float> t(4, 4, 4);
    seen = s.total();
  }
  EXPECT_GE(seen, 3) << counting::report();
  EXPECT_GE(counting::mallocs.load(), 2) << "Eigen aligned_allocator goes through malloc: " << counting::report();
}

// Also built as decode_alloc_omp_test (OpenMP on): the parallel prefill keeps
// its per-thread scratch in the caller's workspace, so the same holds there.
TEST(DecodeAlloc, PrefillIntoReusedWorkspaceAllocatesNothingAfterWarmup) {
  for (std::size_t kv_heads : {std::size_t{1}, std::size_t{4}}) {  // MQA transposes keys, MHA does not
    const std::size_t n = 512;
    const auto q = random_tensor(n, 4, 32, 1), k = random_tensor(n, kv_heads, 32, 2),
               v = random_tensor(n, kv_heads, 32, 3);
    const aether::SparseAttention<float> attn(aether::TemporalHeadConfig::aether_default().sparse_config());
    aether::Workspace<float> ws;
    Tensor3<float> out(n, 4, 32);
#if defined(AETHER_USE_OPENMP)
    omp_set_num_threads(2);  // the parallel path, even where one core is reported
#endif
    attn.forward(q, k, v, out.view(), ws);  // warm-up
    long count = 0;
    {
      counting::Scope s;
      for (int call = 0; call < 3; ++call) attn.forward(q, k, v, out.view(), ws);
      count = s.total();
    }
    EXPECT_EQ(count, 0) << "kv_heads " << kv_heads << ": " << counting::report();
  }
}

TEST(DecodeAlloc, AppendsAllocateNothingForAnyHeadDim) {
  // Landmark means are computed on append (every block_size tokens): the
  // run-time head dim path (7) as well as a specialised one (32).
  for (std::size_t dim : {std::size_t{7}, std::size_t{32}}) {
    const auto k = random_tensor(64, 2, dim, 4), v = random_tensor(64, 2, dim, 5);
    KvCache<float> cache(64, 2, dim, 4);
    long count = 0;
    {
      counting::Scope s;
      for (std::size_t t = 0; t < 64; ++t) cache.append(Stream::at(k, t), Stream::at(v, t));
      count = s.total();
    }
    EXPECT_EQ(cache.complete_blocks(), 16u);
    EXPECT_EQ(count, 0) << "dim " << dim << ": " << counting::report();
  }
}

TEST(DecodeAlloc, SparseDecodeAfterOneWarmupStepAllocatesNothing) {
  const auto hc = aether::TemporalHeadConfig::aether_default();
  const Stream in(hc);
  const aether::SparseAttention<float> attn(hc.sparse_config());
  KvCache<float> cache(kCapacity, hc.kv_heads, hc.head_dim, hc.block_size);
  aether::Workspace<float> ws;
  Tensor3<float> out(1, hc.q_heads, hc.head_dim);
  const Tensor3View<float> out_view = out.view();
  // Warm-up: one step.
  cache.append(Stream::at(in.k, 0), Stream::at(in.v, 0));
  attn.decode(Stream::at(in.q, 0), cache, out_view, ws);
  long count = 0;
  {
    counting::Scope s;
    for (std::size_t t = 1; t < kCapacity; ++t) {
      counting::step = static_cast<long>(t);
      cache.append(Stream::at(in.k, t), Stream::at(in.v, t));
      attn.decode(Stream::at(in.q, t), cache, out_view, ws);
    }
    count = s.total();
  }
  EXPECT_TRUE(cache.full());
  EXPECT_EQ(count, 0) << "allocations in steps 1.." << kCapacity - 1 << ": " << counting::report();
}

TEST(DecodeAlloc, TemporalHeadStepAfterOneWarmupStepAllocatesNothing) {
  const auto hc = aether::TemporalHeadConfig::aether_default();
  const Stream in(hc);
  const aether::TemporalHead<float> head(hc);
  auto cache = head.make_cache(kCapacity);
  aether::Workspace<float> ws;
  Tensor3<float> out(1, hc.q_heads, hc.head_dim);
  const Tensor3View<float> out_view = out.view();
  head.step(Stream::at(in.q, 0), Stream::at(in.k, 0), Stream::at(in.v, 0), cache, out_view, ws);
  long count = 0;
  {
    counting::Scope s;
    for (std::size_t t = 1; t < kCapacity; ++t) {
      counting::step = static_cast<long>(t);
      head.step(Stream::at(in.q, t), Stream::at(in.k, t), Stream::at(in.v, t), cache, out_view, ws);
    }
    count = s.total();
  }
  EXPECT_TRUE(cache.full());
  EXPECT_EQ(count, 0) << "allocations in steps 1.." << kCapacity - 1 << ": " << counting::report();
}

TEST(DecodeAlloc, SparseStepsWithWorkspaceWarmedAtCapacityAllocateNothing) {
  // The weaker promise of the sparse_attention.hpp comment: a workspace that
  // served one step at the cache's capacity, reused on a fresh stream.
  const auto hc = aether::TemporalHeadConfig::aether_default();
  const Stream in(hc);
  const aether::TemporalHead<float> head(hc);
  aether::Workspace<float> ws;
  Tensor3<float> out(1, hc.q_heads, hc.head_dim);
  const Tensor3View<float> out_view = out.view();
  auto warm = head.make_cache(kCapacity);
  for (std::size_t t = 0; t < kCapacity; ++t)
    head.step(Stream::at(in.q, t), Stream::at(in.k, t), Stream::at(in.v, t), warm, out_view, ws);
  auto cache = head.make_cache(kCapacity);
  long count = 0;
  {
    counting::Scope s;
    for (std::size_t t = 0; t < kCapacity; ++t) {
      counting::step = static_cast<long>(t);
      head.step(Stream::at(in.q, t), Stream::at(in.k, t), Stream::at(in.v, t), cache, out_view, ws);
    }
    cache.clear();  // and a second pass over the same cache
    for (std::size_t t = 0; t < kCapacity; ++t) {
      counting::step = static_cast<long>(kCapacity + t);
      head.step(Stream::at(in.q, t), Stream::at(in.k, t), Stream::at(in.v, t), cache, out_view, ws);
    }
    count = s.total();
  }
  EXPECT_EQ(count, 0) << counting::report();
}

TEST(DecodeAlloc, DenseDecodeAfterWarmupAllocatesNothing) {
  const auto hc = aether::TemporalHeadConfig::aether_default();
  const Stream in(hc);
  KvCache<float> cache(kCapacity, hc.kv_heads, hc.head_dim, hc.block_size);
  aether::Workspace<float> ws;
  Tensor3<float> out(1, hc.q_heads, hc.head_dim);
  const Tensor3View<float> out_view = out.view();
  // Warm the workspace at capacity: fill, decode, clear.
  for (std::size_t t = 0; t < kCapacity; ++t) cache.append(Stream::at(in.k, t), Stream::at(in.v, t));
  aether::dense_decode<float>(Stream::at(in.q, kCapacity - 1), cache, out_view, ws);
  cache.clear();
  long count = 0;
  {
    counting::Scope s;
    for (std::size_t t = 0; t < kCapacity; ++t) {
      counting::step = static_cast<long>(t);
      cache.append(Stream::at(in.k, t), Stream::at(in.v, t));
      aether::dense_decode<float>(Stream::at(in.q, t), cache, out_view, ws);
    }
    count = s.total();
  }
  EXPECT_EQ(count, 0) << counting::report();
}

TEST(DecodeAlloc, DenseTemporalHeadStepAfterOneWarmupStepAllocatesNothing) {
  auto hc = aether::TemporalHeadConfig::aether_default();
  hc.backend = aether::Backend::Dense;
  const Stream in(hc);
  const aether::TemporalHead<float> head(hc);
  auto cache = head.make_cache(kCapacity);
  aether::Workspace<float> ws;
  Tensor3<float> out(1, hc.q_heads, hc.head_dim);
  const Tensor3View<float> out_view = out.view();
  head.step(Stream::at(in.q, 0), Stream::at(in.k, 0), Stream::at(in.v, 0), cache, out_view, ws);
  long count = 0;
  {
    counting::Scope s;
    for (std::size_t t = 1; t < kCapacity; ++t) {
      counting::step = static_cast<long>(t);
      head.step(Stream::at(in.q, t), Stream::at(in.k, t), Stream::at(in.v, t), cache, out_view, ws);
    }
    count = s.total();
  }
  EXPECT_EQ(count, 0) << counting::report();
}

}  // namespace

// ---------------------------------------------------------------------------
// Soak (issue 13): a week-long stream in miniature. AETHER_SOAK_FRAMES frames
// (default 100,000; the ctest `soak.full` runs 1,000,000) per eviction policy.
namespace soak {

std::size_t frames() {
  const char* env = std::getenv("AETHER_SOAK_FRAMES");
  return env != nullptr ? static_cast<std::size_t>(std::strtoull(env, nullptr, 10)) : 100000;
}

// Deterministic frame values, different per call, no allocation.
void fill(float* x, std::size_t n, std::size_t t, float scale) {
  for (std::size_t e = 0; e < n; ++e) x[e] = scale * std::sin(0.37f * static_cast<float>(e) + 0.011f * static_cast<float>(t % 100003));
}

}  // namespace soak

// ---------------------------------------------------------------------------
// v2 (issue 19): a stream of the v2 benchmark model (input projection, norms,
// convolution ring, RoPE, feed-forward layer, biases), ungated and gated,
// allocates nothing in a push once warmed: without eviction after one push
// (up to the capacity), with eviction after one capacity of pushes.
namespace v2alloc {

aether::rvne::Header header(bool gated) {
  aether::rvne::Header h = aether::rvne::v2_benchmark_header();
  if (gated) {
    h.arch.attention.gate = aether::rvne::GateKind::prune;
    h.arch.attention.gate_top_k = 4;
    h.arch.attention.gate_hidden = 8;
  }
  return h;
}

// Pushes `warm` frames uncounted, then `counted` frames counted; returns the count.
long count_pushes(aether::TemporalStream<float>& stream, std::size_t dim, std::size_t warm, std::size_t counted,
                  std::size_t& non_finite) {
  std::vector<float> x(dim);
  std::size_t t = 0;
  for (; t < warm; ++t) {
    soak::fill(x.data(), x.size(), t, 1.0f);
    stream.push(x.data());
  }
  counting::Scope s;
  for (; t < warm + counted; ++t) {
    soak::fill(x.data(), x.size(), t, 1.0f);
    const auto& logits = stream.push(x.data());
    for (Eigen::Index c = 0; c < logits.size(); ++c) non_finite += std::isfinite(logits[c]) ? 0 : 1;
  }
  return s.total();
}

}  // namespace v2alloc

TEST(V2StreamAlloc, PushAllocatesNothingAfterWarmup) {
  for (bool gated : {false, true}) {
    const aether::TemporalModel<float> model(aether::rvne::init_trainable(v2alloc::header(gated), 11));
    ASSERT_TRUE(model.needs_step_state());
    ASSERT_EQ(model.gated(), gated);
    const std::size_t capacity = 256;
    std::size_t non_finite = 0;
    {  // no eviction: one warm-up push, then every push up to the capacity
      auto stream = model.make_stream(capacity);
      stream.reset((std::uint64_t{1} << 31) - 100);
      const long count = v2alloc::count_pushes(stream, model.input_dim(), 1, capacity - 1, non_finite);
      EXPECT_EQ(count, 0) << "gated " << gated << ": " << counting::report();
      EXPECT_EQ(stream.position(), (std::uint64_t{1} << 31) - 100 + capacity);
    }
    for (aether::Eviction ev : {aether::Eviction::sliding_window, aether::Eviction::heavy_hitter}) {
      auto stream = model.make_stream(capacity, ev);
      const long count = v2alloc::count_pushes(stream, model.input_dim(), capacity, 4 * capacity, non_finite);
      EXPECT_EQ(count, 0) << "gated " << gated << " eviction " << static_cast<int>(ev) << ": " << counting::report();
      EXPECT_EQ(stream.position(), 5 * capacity);
    }
    EXPECT_EQ(non_finite, 0u);
  }
}

class Soak : public ::testing::TestWithParam<aether::Eviction> {};

// The whole model (2 layers): after one capacity of warm-up, no allocation in
// any push (so memory is constant), every logit finite.
TEST_P(Soak, TemporalStreamAllocatesNothingAndStaysFinite) {
  const std::size_t n = soak::frames(), capacity = 128;
  const aether::TemporalModel<float> model(aether::rvne::init_random(aether::rvne::Header::aether_default()));
  auto stream = model.make_stream(capacity, GetParam());
  std::vector<float> x(model.input_dim());
  for (std::size_t t = 0; t < capacity; ++t) {  // warm-up: fill the caches once
    soak::fill(x.data(), x.size(), t, 1.0f);
    stream.push(x.data());
  }
  long count = 0;
  std::size_t non_finite = 0;
  {
    counting::Scope s;
    for (std::size_t t = capacity; t < n; ++t) {
      soak::fill(x.data(), x.size(), t, 1.0f);
      const auto& logits = stream.push(x.data());
      for (Eigen::Index c = 0; c < logits.size(); ++c) non_finite += std::isfinite(logits[c]) ? 0 : 1;
    }
    count = s.total();
  }
  EXPECT_EQ(count, 0) << "allocations after warm-up: " << counting::report();
  EXPECT_EQ(non_finite, 0u);
  EXPECT_EQ(stream.pushed(), n);
  EXPECT_EQ(stream.size(), stream.capacity());
}

// One layer, where exactness is defined: at ten checkpoints the stream's decode
// equals a from-scratch causal sparse prefill over the tokens the cache holds
// (slot order, positions as the cache defines them after eviction), bit for bit.
TEST_P(Soak, HeadStreamEqualsPrefillOverHeldTokensAtCheckpoints) {
  const std::size_t n = soak::frames(), capacity = 128;
  const auto hc = aether::TemporalHeadConfig::aether_default();
  const aether::TemporalHead<float> head(hc);
  const aether::SparseAttention<float> attn(hc.sparse_config());
  auto cache = head.make_cache(capacity, GetParam());
  aether::Workspace<float> ws;
  Tensor3<float> q(1, hc.q_heads, hc.head_dim), k(1, hc.kv_heads, hc.head_dim), v(1, hc.kv_heads, hc.head_dim),
      out(1, hc.q_heads, hc.head_dim);
  const std::size_t bytes = cache.storage_bytes();
  std::size_t checked = 0;
  for (std::size_t t = 0; t < n; ++t) {
    soak::fill(q.data(), q.size(), t, 0.5f);
    soak::fill(k.data(), k.size(), t + 7, 0.5f);
    soak::fill(v.data(), v.size(), t + 13, 1.0f);
    if (t >= capacity && (t % (n / 10) == n / 10 - 1 || t + 1 == n)) {
      // The held tokens and q_t as a causal prefill: its last row is the decode's query.
      head.step(q.view(), k.view(), v.view(), cache, out.view(), ws);
      const std::size_t held = cache.size();
      Tensor3<float> qs(held, hc.q_heads, hc.head_dim), ks(held, hc.kv_heads, hc.head_dim),
          vs(held, hc.kv_heads, hc.head_dim);
      std::copy(q.data(), q.data() + q.size(), qs.data() + (held - 1) * q.size());
      const auto kh = cache.keys();
      const auto vh = cache.values();
      std::copy(kh.data(), kh.data() + held * k.size(), ks.data());
      std::copy(vh.data(), vh.data() + held * v.size(), vs.data());
      const Tensor3<float> pre = attn.forward(qs, ks, vs);
      ASSERT_EQ(0, std::memcmp(out.data(), pre.data() + (held - 1) * out.size(), out.size() * sizeof(float)))
          << "decode differs from the prefill over held tokens at frame " << t;
      ++checked;
    } else {
      head.step(q.view(), k.view(), v.view(), cache, out.view(), ws);
    }
    ASSERT_EQ(cache.storage_bytes(), bytes);
  }
  EXPECT_GE(checked, 10u);
  EXPECT_EQ(cache.appended(), n);
}

INSTANTIATE_TEST_SUITE_P(Policies, Soak, ::testing::Values(aether::Eviction::sliding_window, aether::Eviction::heavy_hitter),
                         [](const auto& test_info) {
                           return std::string(test_info.param == aether::Eviction::sliding_window ? "sliding_window"
                                                                                              : "heavy_hitter");
                         });
