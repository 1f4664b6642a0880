// After init, a node's push and classify allocate nothing, on success and on
// error (its own binary: this file replaces the C allocator, which Eigen's
// aligned allocator, operator new and std::vector all end in).
#define AETHER_C_IMPLEMENTATION
#include <aether/c/aether.h>

#include <aether/rvne.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
void note() {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
}
/// Counts the allocations of its lifetime.
struct Count {
  Count() {
    allocations = 0;
    counting = true;
  }
  ~Count() { counting = false; }
  long stop() {
    counting = false;
    return allocations.load();
  }
};
}  // namespace

extern "C" {
void* malloc(std::size_t n) {
  note();
  return __libc_malloc(n);
}
void* calloc(std::size_t c, std::size_t n) {
  note();
  return __libc_calloc(c, n);
}
void* realloc(void* p, std::size_t n) {
  note();
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
int posix_memalign(void** out, std::size_t align, std::size_t n) {
  note();
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
void* aligned_alloc(std::size_t align, std::size_t n) {
  note();
  return __libc_memalign(align, n);
}
void* memalign(std::size_t align, std::size_t n) {
  note();
  return __libc_memalign(align, n);
}
}

namespace {
std::vector<std::uint8_t> blob_of(aether::rvne::Dtype dtype) {
  return aether::rvne::serialize(aether::rvne::init_random(aether::rvne::Header::aether_default(dtype)));
}
}  // namespace

TEST(NodeAlloc, V2PushCsiAllocatesNothingAfterInit) {
  namespace rvne = aether::rvne;
  const aether_node_config cfgs[] = {
      {16, 32, 4, AETHER_MODE_RING, 0, AETHER_CACHE_F32},
      {16, 0, 4, AETHER_MODE_STREAM, 64, AETHER_CACHE_F32},
      {16, 0, 4, AETHER_MODE_STREAM, 64, AETHER_CACHE_F16},
  };
  std::int8_t iq[256], nulls[128] = {};
  float logits[4];
  for (const rvne::Dtype dtype : {rvne::Dtype::f32, rvne::Dtype::f16}) {
    const std::vector<std::uint8_t> blob = rvne::serialize(rvne::init_trainable(rvne::v2_benchmark_header(dtype), 3));
    for (const aether_node_config& cfg : cfgs) {
      aether_node* node = nullptr;
      ASSERT_EQ(aether_node_init(blob.data(), blob.size(), &cfg, nullptr, 0, &node), AETHER_OK);
      Count c;
      EXPECT_EQ(aether_node_classify(node, logits, 4), AETHER_ERR_INVALID_STATE);
      for (int t = 0; t < 150; ++t) {
        for (int j = 0; j < 256; ++j) iq[j] = static_cast<std::int8_t>(j < 2 ? 0 : 30.0 * std::sin(0.07 * (t * 256 + j)));
        ASSERT_EQ(aether_node_push_csi(node, iq, 64, logits), AETHER_OK);
        ASSERT_EQ(aether_node_push_csi(node, iq, 128, logits), AETHER_SKIPPED_FRAME);
        ASSERT_EQ(aether_node_push_csi(node, nulls, 64, logits), AETHER_SKIPPED_FRAME);
        if (t % 9 == 0) ASSERT_EQ(aether_node_classify(node, logits, 4), AETHER_OK);
        if (t == 80) ASSERT_EQ(aether_node_reset(node), AETHER_OK);
      }
      EXPECT_EQ(c.stop(), 0) << "mode " << cfg.mode << ", cache dtype " << cfg.cache_dtype;
      aether_node_destroy(node);
    }
  }
}

TEST(NodeAlloc, CounterSeesAllocations) {
  Count c;
  std::vector<float> v(100);
  v.push_back(1.f);
  EXPECT_GE(c.stop(), 1);
}

TEST(NodeAlloc, PushAndClassifyAllocateNothingAfterInit) {
  struct Case {
    aether_node_config cfg;
    aether::rvne::Dtype weights;
    bool caller_memory;
  };
  const Case cases[] = {
      {{16, 64, 4, AETHER_MODE_RING, 0, AETHER_CACHE_F32}, aether::rvne::Dtype::f32, false},
      {{16, 64, 4, AETHER_MODE_RING, 0, AETHER_CACHE_F32}, aether::rvne::Dtype::f16, true},
      {{16, 0, 4, AETHER_MODE_STREAM, 128, AETHER_CACHE_F32}, aether::rvne::Dtype::f32, true},
      {{16, 0, 4, AETHER_MODE_STREAM, 128, AETHER_CACHE_F16}, aether::rvne::Dtype::f32, false},
      {{16, 0, 4, AETHER_MODE_STREAM, 40, AETHER_CACHE_F16}, aether::rvne::Dtype::f16, true},
  };
  float frame[16], logits[4];
  for (const Case& k : cases) {
    const std::vector<std::uint8_t> blob = blob_of(k.weights);
    std::size_t need = 0;
    ASSERT_EQ(aether_node_memory_needed(blob.data(), blob.size(), &k.cfg, &need), AETHER_OK);
    std::vector<std::uint8_t> memory(k.caller_memory ? need : 0);
    aether_node* node = nullptr;
    ASSERT_EQ(aether_node_init(blob.data(), blob.size(), &k.cfg, k.caller_memory ? memory.data() : nullptr, need, &node),
              AETHER_OK);
    Count c;
    // Error paths first: nothing pushed yet.
    EXPECT_EQ(aether_node_classify(node, logits, 4), AETHER_ERR_INVALID_STATE);
    for (int t = 0; t < 300; ++t) {
      for (int i = 0; i < 16; ++i) frame[i] = std::sin(0.1f * static_cast<float>(t * 16 + i));
      ASSERT_EQ(aether_node_push(node, frame, logits), AETHER_OK);
      ASSERT_EQ(aether_node_push(node, nullptr, logits), AETHER_ERR_INVALID_ARGUMENT);
      ASSERT_EQ(aether_node_classify(node, logits, 3), AETHER_ERR_INVALID_ARGUMENT);
      if (t % 7 == 0 || t < 70) {
        ASSERT_EQ(aether_node_classify(node, logits, 4), AETHER_OK);
      }
      if (t == 150) {
        ASSERT_EQ(aether_node_reset(node), AETHER_OK);
      }
    }
    EXPECT_EQ(c.stop(), 0) << "mode " << k.cfg.mode << ", cache dtype " << k.cfg.cache_dtype << ", fp16 weights "
                           << (k.weights == aether::rvne::Dtype::f16) << ", caller memory " << k.caller_memory;
    aether_node_destroy(node);
  }
}
