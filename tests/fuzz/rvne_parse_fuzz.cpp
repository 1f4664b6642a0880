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
//    accept path far more often than raw mutations do);
//  - version 2: an accepted blob's view starts at 0x80, its section is the
//    descriptor's layout with every tensor 16-byte aligned and zero padding;
//    a v2 input whose descriptor passes (code layout_mismatch) rebuilt with
//    the layout's length (its bytes reused, padding zeroed, weights_len and
//    CRC fixed) is accepted and re-serialises to itself (reaches the accept
//    path from any mutated descriptor; layouts up to 1 MiB).
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
void rebuilt_v2(const std::vector<std::uint8_t>& in);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace rvne = aether::rvne;
  check_one(data, size);
  // Random bytes almost never carry a matching length and CRC, which would
  // leave rules 6-7 and the accept path under-explored: also check a copy
  // whose weights_len and CRC are repaired to fit (v2: after the 128-byte head).
  const std::size_t head = size >= rvne::kMinBlobSize
                               ? rvne::detail::header_size(rvne::detail::load_u16(data + rvne::detail::kOffVersion))
                               : rvne::kHeaderSize;
  if (size >= head + rvne::kCrcSize && size - head - rvne::kCrcSize <= rvne::kMaxWeightsLen) {
    std::vector<std::uint8_t> fixed(data, data + size);
    const std::size_t crc_at = size - rvne::kCrcSize;
    rvne::detail::store_u32(fixed.data() + rvne::detail::kOffWeightsLen,
                            static_cast<std::uint32_t>(size - head - rvne::kCrcSize));
    rvne::detail::store_u32(fixed.data() + crc_at, rvne::crc32(fixed.data(), crc_at));
    const aether::Errc c = check_one(fixed.data(), fixed.size());
    // Length and CRC now fit, so rules 1, 5 and 6 cannot be what fails.
    if (c == aether::Errc::truncated || c == aether::Errc::trailing_bytes || c == aether::Errc::checksum_mismatch) {
      die("a repaired blob failed a length or CRC rule");
    }
    if (c == aether::Errc::layout_mismatch && head == rvne::kV2TensorStart) rebuilt_v2(fixed);
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
  const std::size_t head = rvne::detail::header_size(v.header.version);
  if (size < head + rvne::kCrcSize || v.weights != data + head) die("view does not point into the input");
  if (v.weights_len != size - head - rvne::kCrcSize) die("weights_len disagrees with the size");
  if (v.header.version == rvne::kVersion2) {
    if (!rvne::layout_matches(v.header, v.weights_len)) die("an accepted v2 blob's section is not its layout");
    const std::uint64_t es = rvne::element_size(v.header.dtype);
    std::uint64_t end = 0;
    rvne::for_each_tensor(v.header, [&](const rvne::MatrixShape& m) {
      if ((rvne::kV2TensorStart + m.offset * es) % rvne::kV2TensorAlign != 0) die("a v2 tensor is not 16-byte aligned");
      for (std::uint64_t b = end; b < m.offset * es; ++b) {
        if (v.weights[b] != 0) die("an accepted v2 blob has a non-zero padding byte");
      }
      end = (m.offset + m.elements()) * es;
    });
    if (end != v.weights_len) die("the last v2 tensor does not end the section");
  }
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

// `in` (a v2 blob whose descriptor passed) with its section resized to the
// layout (its own bytes reused cyclically, padding zeroed), weights_len and
// CRC fixed: must be accepted (check_one then checks the accepted blob).
void rebuilt_v2(const std::vector<std::uint8_t>& in) {
  namespace rvne = aether::rvne;
  rvne::detail::RawHeader raw = rvne::detail::decode_header(in.data());
  rvne::detail::decode_descriptor(in.data(), raw.header.arch);
  const std::uint64_t need = rvne::layout_bytes(raw.header);
  if (need > (1u << 20)) return;
  std::vector<std::uint8_t> b(rvne::kV2TensorStart + need + rvne::kCrcSize, 0);
  std::memcpy(b.data(), in.data(), rvne::kV2TensorStart);
  const std::size_t have = in.size() - rvne::kV2TensorStart - rvne::kCrcSize;
  const std::uint64_t es = rvne::element_size(raw.header.dtype);
  rvne::for_each_tensor(raw.header, [&](const rvne::MatrixShape& m) {
    for (std::uint64_t i = m.offset * es; i < (m.offset + m.elements()) * es; ++i) {
      b[rvne::kV2TensorStart + i] = have == 0 ? 0 : in[rvne::kV2TensorStart + i % have];
    }
  });
  rvne::detail::store_u32(b.data() + rvne::detail::kOffWeightsLen, static_cast<std::uint32_t>(need));
  const std::size_t crc_at = b.size() - rvne::kCrcSize;
  rvne::detail::store_u32(b.data() + crc_at, rvne::crc32(b.data(), crc_at));
  const aether::Errc c = check_one(b.data(), b.size());
  if (c != aether::Errc::ok) {
    std::fprintf(stderr, "rvne_parse_fuzz: rebuilt v2 blob refused: %s\n", aether::errc_name(c));
    die("a v2 blob with a valid descriptor, the layout's length and zero padding was refused");
  }
}

}  // namespace
