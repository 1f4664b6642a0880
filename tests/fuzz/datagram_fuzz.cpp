// libFuzzer target for the datagram parser (include/aether/io/datagram.hpp).
//
// Properties checked on every input (any violation aborts):
//  - exactly one outcome, a named one; decoded() agrees with the record kind;
//  - a decoded record's pointers (raw I/Q, module events, compressed bytes,
//    mesh payload) lie inside the datagram, with their counts;
//  - a decoded raw frame is exactly 20 + 2 * pairs bytes and re-encodes to
//    the input bytes;
//  - the same bytes behind each family magic (first byte picks it) also get
//    one outcome: random inputs otherwise rarely carry a known magic.
// Build: tests/fuzz/CMakeLists.txt (AETHER_BUILD_FUZZERS=ON, clang), or .ci/fuzz.sh.
// Seeds: tests/fuzz/corpus_datagram/.

#include <aether/io/datagram.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using namespace aether::io;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "datagram_fuzz: property violated: %s\n", what);
  std::abort();
}

bool inside(const void* p, std::size_t n, const std::uint8_t* d, std::size_t size) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  return b >= d && b <= d + size && n <= static_cast<std::size_t>(d + size - b);
}

void check(const std::uint8_t* d, std::size_t size) {
  const Datagram g = parse_datagram(d, size);
  const auto o = static_cast<std::size_t>(g.outcome);
  if (o >= kOutcomeCount || outcome_name(g.outcome)[0] == '?') die("outcome out of range");
  if (g.size != size) die("size not recorded");
  switch (g.outcome) {
    case Outcome::raw_csi: {
      if (g.raw.n_antennas == 0 || g.raw.n_subcarriers == 0) die("raw frame without pairs");
      if (raw_csi_size(g.raw) != size) die("raw frame size differs from its fields");
      if (!inside(g.raw.iq, 2 * g.raw.pairs(), d, size)) die("raw I/Q outside the datagram");
      std::vector<std::uint8_t> out(size);
      if (encode_raw_csi(g.raw, out.data(), out.size()) != size) die("raw frame does not re-encode");
      for (std::size_t i = 0; i < size; ++i) {
        if (out[i] != d[i]) die("raw frame re-encodes to other bytes");
      }
      volatile int sum = 0;
      for (std::size_t i = 0; i < 2 * g.raw.pairs(); ++i) sum = sum + g.raw.iq[i];
      break;
    }
    case Outcome::module_events: {
      if (g.events.n > kMaxModuleEvents) die("more than 16 module events");
      if (!inside(g.events.events, kModuleEventSize * g.events.n, d, size)) die("events outside the datagram");
      volatile float sum = 0;
      for (std::size_t i = 0; i < g.events.n; ++i) sum = sum + g.events.event(i).value;
      break;
    }
    case Outcome::compressed_csi:
      if (!inside(g.compressed.data, g.compressed.compressed_length, d, size)) die("compressed bytes outside");
      break;
    case Outcome::mesh:
      if (!inside(g.mesh.payload, g.mesh.payload_length, d, size)) die("mesh payload outside");
      break;
    default:
      if (!decoded(g.outcome) && g.raw.iq != nullptr) die("a refused datagram left a record");
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check(data, size);
  if (size >= 5) {
    static constexpr std::uint32_t kMagics[] = {kMagicRawCsi,       kMagicVitals,           kMagicFeatures,
                                                kMagicFusedOrEvents, kMagicCompressed,       kMagicFeatureState,
                                                kMagicTemporalOrEvents, kMagicMesh,         kMagicTimeSync};
    std::vector<std::uint8_t> b(data + 1, data + size);
    const std::uint32_t m = kMagics[data[0] % 9];
    for (int k = 0; k < 4; ++k) b[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(m >> (8 * k));
    check(b.data(), b.size());
  }
  return 0;
}
