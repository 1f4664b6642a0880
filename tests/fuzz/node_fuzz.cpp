// libFuzzer target for the node's C ABI (aether/c/aether.h): bytes -> blob,
// a configuration -> aether_node_memory_needed -> aether_node_init with one
// byte less (refused) and with exactly that many bytes -> pushes, classifies
// and resets with frames from the input, NaN and infinities included.
//
// Input layout (any bytes are a valid input):
//   [config: 6 bytes][blob][frame values: 2 bytes each]
// The blob is fuzz_support::leading_blob's (28 + weights_len bytes, CRC
// repaired where that was its only fault, so mutations reach the node).
// Config (missing bytes read as 0):
//   c[0] bit 0 stream mode, bit 1 fp16 cache, bit 2 input_dim one more than
//        the header's, bit 3 n_classes one more, bit 4 an unknown mode (2),
//        bit 5 an unknown cache dtype (2), bit 6 memory at an odd address
//   c[1] window_len % 24 (0 refused); c[2] capacity % 40 (0 and 1 refused)
//   c[3] pushes (0..255); c[4] classify after every (1 + c[4] % 8) pushes;
//   c[5] reset before push number c[5]
// Frame values are IEEE binary16 bit patterns widened to float (so NaN,
// +-Inf, subnormals, +-65504), reused cyclically (zero when there are none).
//
// Properties (any violation aborts):
//  - every status is a documented one for its call: memory_needed and init
//    the blob and configuration codes (init with memory one byte short
//    AETHER_ERR_NO_MEMORY), push AETHER_OK or AETHER_ERR_NON_FINITE (exactly
//    when the frame holds a non-finite value), classify AETHER_OK or
//    AETHER_ERR_INVALID_STATE (exactly when no frame is held), reset
//    AETHER_OK; a refused init leaves *out unwritten;
//  - memory_needed's status is init's (with NULL memory) when it refuses;
//  - init in exactly memory_needed bytes (ASan catches a write past them);
//  - no allocation from after init to destroy (sanitizer allocator hooks);
//  - a refused push changes nothing: classify gives the same bits after it.
// Build: tests/fuzz/CMakeLists.txt (clang), or .ci/fuzz.sh.

#define AETHER_C_IMPLEMENTATION
#include <aether/c/aether.h>

#include "fuzz_support.hpp"

#include <aether/half.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <vector>

const char* const fuzz_support::kTarget = "node_fuzz";

namespace {

using fuzz_support::die;

void expect_status(aether_status got, std::initializer_list<aether_status> allowed, const char* call) {
  for (aether_status s : allowed) {
    if (got == s) return;
  }
  std::fprintf(stderr, "node_fuzz: %s returned %d (%s)\n", call, static_cast<int>(got), aether_status_name(got));
  die("undocumented status");
}

// The statuses a blob or configuration can be refused with (aether.h).
const std::initializer_list<aether_status> kSetupCodes = {
    AETHER_OK,           AETHER_ERR_INVALID_ARGUMENT,  AETHER_ERR_LIMIT_EXCEEDED,    AETHER_ERR_TRUNCATED,
    AETHER_ERR_BAD_MAGIC, AETHER_ERR_UNSUPPORTED_VERSION, AETHER_ERR_UNSUPPORTED_FLAGS, AETHER_ERR_TRAILING_BYTES,
    AETHER_ERR_CHECKSUM, AETHER_ERR_INVALID_HEADER,    AETHER_ERR_LAYOUT_MISMATCH,   AETHER_ERR_INVALID_CONFIG};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The node's memory: exactly `bytes` usable, at an odd address when asked
// (the ABI takes any alignment), so ASan sees a write past the end.
struct Memory {
  std::vector<std::uint8_t> raw;
  std::uint8_t* at = nullptr;
  Memory(std::size_t bytes, bool odd) : raw(bytes + (odd ? 1 : 0)), at(raw.data() + (odd ? 1 : 0)) {}
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz_support::install_heap_hooks();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto c = [&](std::size_t i) -> std::uint8_t { return i < size ? data[i] : 0; };
  const std::size_t head = size < 6 ? size : 6;
  const fuzz_support::LeadingBlob b = fuzz_support::leading_blob(data + head, size - head);
  const std::uint8_t* vals = data + head + b.consumed;
  const std::size_t vals_len = size - head - b.consumed;

  aether_node_config cfg{};
  const aether::rvne::Header h = b.parsed.ok() ? b.parsed.view.header : aether::rvne::Header{};
  cfg.input_dim = h.input_dim + ((c(0) & 4) ? 1u : 0u);
  cfg.n_classes = h.classes + ((c(0) & 8) ? 1u : 0u);
  cfg.mode = (c(0) & 16) ? 2u : ((c(0) & 1) ? AETHER_MODE_STREAM : AETHER_MODE_RING);
  cfg.cache_dtype = (c(0) & 32) ? 2u : ((c(0) & 2) ? AETHER_CACHE_F16 : AETHER_CACHE_F32);
  cfg.window_len = c(1) % 24;
  cfg.capacity = c(2) % 40;
  const bool odd = (c(0) & 64) != 0;

  std::size_t need = 0;
  const aether_status needed = aether_node_memory_needed(b.bytes.data(), b.bytes.size(), &cfg, &need);
  expect_status(needed, kSetupCodes, "aether_node_memory_needed");
  aether_node* node = nullptr;
  if (needed != AETHER_OK) {
    const aether_status s = aether_node_init(b.bytes.data(), b.bytes.size(), &cfg, nullptr, 0, &node);
    if (s != needed) die("init refused with another status than memory_needed");
    if (node != nullptr) die("a refused init wrote *out");
    return 0;
  }
  if (need == 0) die("memory_needed accepted and asked for 0 bytes");
  {
    Memory short_by_one(need - 1, odd);
    const aether_status s = aether_node_init(b.bytes.data(), b.bytes.size(), &cfg, short_by_one.at, need - 1, &node);
    if (s != AETHER_ERR_NO_MEMORY) die("init in memory_needed - 1 bytes was not AETHER_ERR_NO_MEMORY");
    if (node != nullptr) die("a refused init wrote *out");
  }
  Memory memory(need, odd);
  if (aether_node_init(b.bytes.data(), b.bytes.size(), &cfg, memory.at, need, &node) != AETHER_OK || node == nullptr) {
    die("init in exactly memory_needed bytes failed");
  }

  const std::size_t D = cfg.input_dim, C = cfg.n_classes;
  const std::size_t pushes = c(3), every = 1 + c(4) % 8, reset_at = c(5);
  std::vector<float> frame(D), logits(C), before(C), after(C);
  std::size_t next = 0;
  bool held = false, have_before = false;
  {
    const fuzz_support::HeapWatch watch;
    for (std::size_t t = 0; t < pushes; ++t) {
      if (t == reset_at) {
        expect_status(aether_node_reset(node), {AETHER_OK}, "aether_node_reset");
        held = have_before = false;
      }
      bool finite = true;
      for (float& v : frame) {
        v = 0;
        if (vals_len >= 2) {
          const std::size_t at = next % (vals_len - vals_len % 2);
          v = aether::half_bits_to_float(static_cast<std::uint16_t>(vals[at] | (vals[at + 1] << 8)));
          next += 2;
        }
        finite = finite && std::isfinite(v);
      }
      const aether_status s = aether_node_push(node, frame.data(), logits.data());
      expect_status(s, {AETHER_OK, AETHER_ERR_NON_FINITE}, "aether_node_push");
      if ((s == AETHER_OK) != finite) die("push: AETHER_ERR_NON_FINITE exactly when the frame is not finite");
      if (s == AETHER_OK) {
        held = true;
        have_before = false;  // `before` no longer shows the node
      }
      if (s != AETHER_OK && have_before) {
        expect_status(aether_node_classify(node, after.data(), static_cast<std::uint32_t>(C)), {AETHER_OK},
                      "aether_node_classify after a refused push");
        if (!same_bits(before, after)) die("a refused push changed what classify gives");
      }
      if ((t + 1) % every == 0) {
        const aether_status k = aether_node_classify(node, before.data(), static_cast<std::uint32_t>(C));
        expect_status(k, {AETHER_OK, AETHER_ERR_INVALID_STATE}, "aether_node_classify");
        if ((k == AETHER_OK) != held) die("classify: AETHER_ERR_INVALID_STATE exactly when no frame is held");
        have_before = k == AETHER_OK;
      }
    }
    if (watch.allocations() != 0) die("the node allocated after init");
  }
  aether_node_destroy(node);
  return 0;
}
