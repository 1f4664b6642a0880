#pragma once
// What the libFuzzer targets share (tests/fuzz/): the live-heap watch on the
// sanitizer allocator's hooks, the "property violated" abort, and the blob
// at the front of an input (with its CRC repaired, so mutations reach what
// lies past the parser). Single-threaded, as libFuzzer runs a target.

#include <aether/rvne.hpp>

#include <sanitizer/allocator_interface.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace fuzz_support {

namespace rvne = aether::rvne;

/// The target's name, for messages ("model_fuzz").
extern const char* const kTarget;

[[noreturn]] inline void die(const char* what) {
  std::fprintf(stderr, "%s: property violated: %s\n", kTarget, what);
  std::abort();
}

// --- live-heap accounting through the sanitizer allocator's hooks ---
// Only the thread that opened a HeapWatch is counted: libFuzzer's own
// threads (the -rss_limit_mb watcher) allocate at any time.
inline std::atomic<long long> g_live{0};
inline std::atomic<long long> g_peak{0};
inline std::atomic<long long> g_allocations{0};
inline thread_local bool g_on = false;

inline void on_malloc(const volatile void*, std::size_t n) {
  if (!g_on) return;
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const long long now = g_live.fetch_add(static_cast<long long>(n), std::memory_order_relaxed) + static_cast<long long>(n);
  long long peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}
inline void on_free(const volatile void* p) {
  if (!g_on || p == nullptr) return;
  // Frees of blocks allocated before counting began can take live below 0:
  // harmless, the checks are on the peak of the growth and the count.
  g_live.fetch_sub(static_cast<long long>(__sanitizer_get_allocated_size(const_cast<const void*>(p))),
                   std::memory_order_relaxed);
}

/// Installs the hooks; call from LLVMFuzzerInitialize.
inline void install_heap_hooks() {
  if (__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) == 0) die("cannot install the allocator hooks");
}

/// Peak live-heap growth and the number of allocations over a scope, on
/// the calling thread.
struct HeapWatch {
  HeapWatch() {
    g_live = 0;
    g_peak = 0;
    g_allocations = 0;
    g_on = true;
  }
  ~HeapWatch() { g_on = false; }
  HeapWatch(const HeapWatch&) = delete;
  HeapWatch& operator=(const HeapWatch&) = delete;
  long long peak() const { return g_peak.load(); }
  long long allocations() const { return g_allocations.load(); }
};

/// The blob at the front of an input: its first 28 + weights_len bytes
/// (weights_len read at 0x14; the whole input when that is longer than the
/// input). A blob whose only fault is its CRC gets a correct one.
struct LeadingBlob {
  std::vector<std::uint8_t> bytes;  ///< the blob, CRC repaired where that was its only fault
  std::size_t consumed = 0;         ///< input bytes it took (the rest follows)
  rvne::ParseResult parsed;         ///< try_parse of `bytes`
};

inline LeadingBlob leading_blob(const std::uint8_t* data, std::size_t size) {
  LeadingBlob b;
  b.consumed = size;
  if (size >= rvne::kMinBlobSize) {
    // v1: 24 + weights_len + 4 bytes; v2: 128 + weights_len + 4.
    const std::uint64_t head = rvne::detail::header_size(rvne::detail::load_u16(data + rvne::detail::kOffVersion));
    const std::uint64_t claimed = head + rvne::kCrcSize + rvne::detail::load_u32(data + rvne::detail::kOffWeightsLen);
    if (claimed <= size) b.consumed = static_cast<std::size_t>(claimed);
  }
  b.bytes.assign(data, data + b.consumed);
  b.parsed = rvne::try_parse(b.bytes.data(), b.bytes.size());
  if (b.parsed.code == aether::Errc::checksum_mismatch) {
    const std::size_t crc_at = b.bytes.size() - rvne::kCrcSize;
    rvne::detail::store_u32(b.bytes.data() + crc_at, rvne::crc32(b.bytes.data(), crc_at));
    b.parsed = rvne::try_parse(b.bytes.data(), b.bytes.size());
    if (b.parsed.code == aether::Errc::checksum_mismatch) die("a repaired CRC still mismatches");
  }
  return b;
}

}  // namespace fuzz_support
