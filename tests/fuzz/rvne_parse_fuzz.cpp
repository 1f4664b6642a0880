// libFuzzer target for the .rvne reader.
//
// Properties checked on every input (any violation aborts):
//  - try_parse, validate, parse_view and parse agree on the verdict and code;
//  - an accepted blob re-serialises to exactly the input bytes (the format has
//    no redundant encodings), its view points into the input, and every
//    weight can be widened;
//  - layout helpers never trap on the decoded header;
//  - the same input with weights_len and CRC repaired fails, if at all, only
//    on magic/version/flags or the header fields (reaches rule 7 and the
//    accept path far more often than raw mutations do).
// Build: tests/fuzz/CMakeLists.txt (AETHER_BUILD_FUZZERS=ON, clang), or .ci/fuzz.sh.

#include <aether/rvne.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "rvne_parse_fuzz: property violated: %s\n", what);
  std::abort();
}

aether::Errc check_one(const std::uint8_t* data, std::size_t size);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_one(data, size);
  // Random bytes almost never carry a matching length and CRC, which would
  // leave rules 6-7 and the accept path under-explored: also check a copy
  // whose weights_len and CRC are repaired to fit.
  if (size >= aether::rvne::kMinBlobSize && size - aether::rvne::kMinBlobSize <= aether::rvne::kMaxWeightsLen) {
    std::vector<std::uint8_t> fixed(data, data + size);
    const std::size_t crc_at = size - aether::rvne::kCrcSize;
    aether::rvne::detail::store_u32(fixed.data() + aether::rvne::detail::kOffWeightsLen,
                                    static_cast<std::uint32_t>(size - aether::rvne::kMinBlobSize));
    aether::rvne::detail::store_u32(fixed.data() + crc_at, aether::rvne::crc32(fixed.data(), crc_at));
    const aether::Errc c = check_one(fixed.data(), fixed.size());
    // Length and CRC now fit, so rules 1, 5 and 6 cannot be what fails.
    if (c == aether::Errc::truncated || c == aether::Errc::trailing_bytes || c == aether::Errc::checksum_mismatch) {
      die("a repaired blob failed a length or CRC rule");
    }
  }
  return 0;
}

namespace {

aether::Errc check_one(const std::uint8_t* data, std::size_t size) {
  namespace rvne = aether::rvne;
  const rvne::ParseResult r = rvne::try_parse(data, size);
  if (rvne::validate(data, size) != r.code) die("validate disagrees with try_parse");

  aether::Errc thrown = aether::Errc::ok;
  rvne::Blob blob;
  try {
    blob = rvne::parse(data, size);
  } catch (const aether::Error& e) {
    thrown = e.code();
  }
  if (thrown != r.code) die("parse disagrees with try_parse");

  if (!r.ok()) {
    if (r.message[0] == '\0') die("rejection without a message");
    return r.code;
  }
  const rvne::BlobView& v = r.view;
  if (size < rvne::kMinBlobSize || v.weights != data + rvne::kHeaderSize) die("view does not point into the input");
  if (v.weights_len != size - rvne::kMinBlobSize) die("weights_len disagrees with the size");
  if (blob.header != v.header || blob.weights.size() != v.weights_len) die("parse and view differ");

  const std::vector<std::uint8_t> again = rvne::serialize(blob);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) die("re-serialisation differs");

  float sink = 0.0f;
  for (std::size_t i = 0; i < v.element_count(); ++i) sink += v.weight(i) * 0.0f;
  (void)sink;

  (void)rvne::layout_elements(v.header);
  (void)rvne::layout_bytes(v.header);
  (void)rvne::layout_matches(v.header, v.weights_len);
  const std::uint64_t n = rvne::matrix_count(v.header);
  (void)rvne::matrix_shape(v.header, 0);
  (void)rvne::matrix_shape(v.header, n - 1);
  if (rvne::layout_matches(v.header, v.weights_len)) rvne::check_layout(v.header, v.weights_len);
  return r.code;
}

}  // namespace
