#pragma once
/// \file rvne.hpp
/// The `.rvne` weight blob: one temporal-head model's shape and weights in a
/// small, checksummed, little-endian container (format described in
/// docs/rvne-format.md).
///
///   offset  size         field        contents
///   ------  -----------  -----------  ------------------------------------------
///   0x00    4            magic        u32 0x52564E45, on disk 45 4E 56 52 "ENVR"
///   0x04    2            version      u16, always 1
///   0x06    1            flags        bit 0: 0 = fp32 weights, 1 = fp16; bits 1-7
///                                     unknown (rejected)
///   0x07    1            reserved     0 (anything else is rejected)
///   0x08    2            input_dim    u16  D
///   0x0A    2            q_heads      u16  Hq
///   0x0C    2            kv_heads     u16  Hkv, divides Hq
///   0x0E    2            head_dim     u16  d
///   0x10    2            layers       u16  L
///   0x12    2            classes      u16  C
///   0x14    4            weights_len  u32  W, bytes of weights
///   0x18    W            weights      fp32 or fp16 elements, little-endian
///   0x18+W  4            crc32        CRC-32/IEEE of bytes [0, 0x18+W)
///   total = 28 + W bytes (up to 28 + 0xFFFFFFFF, so sizes are 64-bit here).
///
/// Reading validates, in this order, each failure with its own `Errc`:
///   1 size < 28 -> truncated; 2 magic -> bad_magic; 3 version -> unsupported_version;
///   4 unknown flag bit / reserved != 0 -> unsupported_flags;
///   5 size != 28 + W -> truncated (short) or trailing_bytes (long), checked
///     before anything is allocated; 6 crc -> checksum_mismatch;
///   7 zero dim, Hq % Hkv != 0, L == 0, C < 2, W % element size -> invalid_header.
/// Rule 8 (model loads only): W == layout_bytes(header) -> else layout_mismatch.
///
/// Every multi-byte field is encoded and decoded byte by byte, so the code is
/// independent of the host's endianness. Nothing here validates with assert().

#include <aether/error.hpp>
#include <aether/half.hpp>

#include <chrono>
#include <climits>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>  // fsync, fileno
#define AETHER_RVNE_HAVE_FSYNC 1
#endif

namespace aether::rvne {

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------

/// The magic number, read as a little-endian u32 from offset 0.
inline constexpr std::uint32_t kMagic = 0x52564E45u;
/// The only version this library reads and writes.
inline constexpr std::uint16_t kVersion = 1;
/// flags bit 0: weights are IEEE binary16.
inline constexpr std::uint8_t kFlagF16 = 0x01u;
/// Every flag bit this version understands.
inline constexpr std::uint8_t kKnownFlags = kFlagF16;
/// Bytes before the weights.
inline constexpr std::size_t kHeaderSize = 24;
/// Bytes of the trailing CRC-32.
inline constexpr std::size_t kCrcSize = 4;
/// Smallest possible blob: a header, no weights, a CRC.
inline constexpr std::size_t kMinBlobSize = kHeaderSize + kCrcSize;
/// Largest weights section a u32 weights_len can describe.
inline constexpr std::uint64_t kMaxWeightsLen = 0xFFFFFFFFu;
/// Largest possible blob, 28 + 0xFFFFFFFF (needs 64 bits).
inline constexpr std::uint64_t kMaxBlobSize = std::uint64_t{kMinBlobSize} + kMaxWeightsLen;
/// Seed of the reference `init_random_blob`.
inline constexpr std::uint64_t kDefaultSeed = 0xC5110007DEADBEEFull;

namespace detail {
// Field offsets of the table above.
inline constexpr std::size_t kOffMagic = 0x00;
inline constexpr std::size_t kOffVersion = 0x04;
inline constexpr std::size_t kOffFlags = 0x06;
inline constexpr std::size_t kOffReserved = 0x07;
inline constexpr std::size_t kOffInputDim = 0x08;
inline constexpr std::size_t kOffQHeads = 0x0A;
inline constexpr std::size_t kOffKvHeads = 0x0C;
inline constexpr std::size_t kOffHeadDim = 0x0E;
inline constexpr std::size_t kOffLayers = 0x10;
inline constexpr std::size_t kOffClasses = 0x12;
inline constexpr std::size_t kOffWeightsLen = 0x14;
}  // namespace detail

static_assert(CHAR_BIT == 8, "the .rvne codec addresses octets");
static_assert(detail::kOffVersion == detail::kOffMagic + 4 && detail::kOffFlags == detail::kOffVersion + 2 &&
                  detail::kOffReserved == detail::kOffFlags + 1 && detail::kOffInputDim == detail::kOffReserved + 1 &&
                  detail::kOffQHeads == detail::kOffInputDim + 2 && detail::kOffKvHeads == detail::kOffQHeads + 2 &&
                  detail::kOffHeadDim == detail::kOffKvHeads + 2 && detail::kOffLayers == detail::kOffHeadDim + 2 &&
                  detail::kOffClasses == detail::kOffLayers + 2 && detail::kOffWeightsLen == detail::kOffClasses + 2,
              "header fields must be packed back to back");
static_assert(detail::kOffWeightsLen + 4 == kHeaderSize && kHeaderSize == 0x18, "weights start at 0x18");
static_assert(kMinBlobSize == 28, "header + crc is 28 bytes");
static_assert(kMaxBlobSize == 0x10000001Bull, "28 + 0xFFFFFFFF must be computed without 32-bit wrap");
static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4 && sizeof(std::uint32_t) == 4,
              "fp32 weights are IEEE 754 binary32");
static_assert(sizeof(std::uint64_t) == 8, "sizes and layout products are computed in 64-bit");

// ---------------------------------------------------------------------------
// Header
// ---------------------------------------------------------------------------

/// Element type of the weights section (flags bit 0).
enum class Dtype : std::uint8_t {
  f32 = 0,  ///< IEEE binary32, 4 bytes per element
  f16 = 1,  ///< IEEE binary16, 2 bytes per element
};

/// Bytes per weight element of `dtype`.
constexpr std::size_t element_size(Dtype dtype) noexcept { return dtype == Dtype::f16 ? 2 : 4; }

/// "f32" or "f16".
constexpr const char* dtype_name(Dtype dtype) noexcept { return dtype == Dtype::f16 ? "f16" : "f32"; }

/// The model description carried by a blob: the element type plus the six u16
/// shape fields. A plain value type; validity (rule 7) is checked by the
/// reader, the writer and `check_header`, not by construction.
struct Header {
  Dtype dtype = Dtype::f32;       ///< weight element type
  std::uint16_t input_dim = 0;    ///< D, per-frame feature dim
  std::uint16_t q_heads = 0;      ///< Hq, query heads
  std::uint16_t kv_heads = 0;     ///< Hkv, key/value heads; divides Hq
  std::uint16_t head_dim = 0;     ///< d, per-head dim
  std::uint16_t layers = 0;       ///< L, attention layers
  std::uint16_t classes = 0;      ///< C, classifier outputs (>= 2)

  /// The AETHER default shape: D 16, Hq 4, Hkv 1, d 32, 2 layers, 4 classes.
  static constexpr Header aether_default(Dtype dtype = Dtype::f32) noexcept {
    Header h;
    h.dtype = dtype;
    h.input_dim = 16;
    h.q_heads = 4;
    h.kv_heads = 1;
    h.head_dim = 32;
    h.layers = 2;
    h.classes = 4;
    return h;
  }

  friend constexpr bool operator==(const Header& a, const Header& b) noexcept {
    return a.dtype == b.dtype && a.input_dim == b.input_dim && a.q_heads == b.q_heads &&
           a.kv_heads == b.kv_heads && a.head_dim == b.head_dim && a.layers == b.layers && a.classes == b.classes;
  }
  friend constexpr bool operator!=(const Header& a, const Header& b) noexcept { return !(a == b); }
};

// ---------------------------------------------------------------------------
// CRC-32/IEEE
// ---------------------------------------------------------------------------

namespace detail {
/// 256-entry table of the reflected polynomial 0xEDB88320, built at compile time.
struct CrcTable {
  std::uint32_t entry[256];
};

constexpr CrcTable make_crc_table() noexcept {
  CrcTable t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    t.entry[i] = c;
  }
  return t;
}

/// Immutable, constant-initialised: safe to read from any thread.
inline constexpr CrcTable kCrcTable = make_crc_table();

/// Compile-time CRC of a char string, only used to static_assert the check value.
constexpr std::uint32_t crc32_chars(const char* s, std::size_t n) noexcept {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = kCrcTable.entry[(c ^ static_cast<unsigned char>(s[i])) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}
}  // namespace detail

static_assert(detail::kCrcTable.entry[1] == 0x77073096u && detail::kCrcTable.entry[255] == 0x2D02EF8Du,
              "CRC-32/IEEE table");
static_assert(detail::crc32_chars("123456789", 9) == 0xCBF43926u, "CRC-32/IEEE check value");

/// CRC-32/IEEE (reflected poly 0xEDB88320, init and final xor 0xFFFFFFFF) of
/// `n` bytes at `data`. Chainable like zlib: pass the CRC of the preceding
/// bytes as `previous` (0 to start), so crc32(b, nb, crc32(a, na)) is the CRC
/// of a followed by b. Cost: one table lookup per byte; no allocation;
/// thread-safe. `data` may be null when `n` is 0.
inline std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t previous = 0) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = previous ^ 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = detail::kCrcTable.entry[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// ---------------------------------------------------------------------------
// Little-endian byte access and weight decoding
// ---------------------------------------------------------------------------

namespace detail {
inline std::uint16_t load_u16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t load_u32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24);
}
inline void store_u16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v & 0xFFu);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
inline void store_u32(std::uint8_t* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>((v >> (8 * i)) & 0xFFu);
}
inline float bits_to_f32(std::uint32_t bits) noexcept {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline std::uint32_t f32_to_bits(float f) noexcept {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

/// Element `i` of a weights section of type `dtype`, widened to float.
inline float load_weight(Dtype dtype, const std::uint8_t* weights, std::size_t i) noexcept {
  return dtype == Dtype::f16 ? half_bits_to_float(load_u16(weights + 2 * i)) : bits_to_f32(load_u32(weights + 4 * i));
}

/// Stores `value` as element `i` (fp16: rounded to nearest even).
inline void store_weight(Dtype dtype, std::uint8_t* weights, std::size_t i, float value) noexcept {
  if (dtype == Dtype::f16) {
    store_u16(weights + 2 * i, float_to_half_bits(value));
  } else {
    store_u32(weights + 4 * i, f32_to_bits(value));
  }
}

/// Widens `count` elements into `out`.
inline void decode_weights(Dtype dtype, const std::uint8_t* weights, std::size_t count, float* out) noexcept {
  for (std::size_t i = 0; i < count; ++i) out[i] = load_weight(dtype, weights, i);
}
}  // namespace detail

// ---------------------------------------------------------------------------
// Owning blob and zero-copy view
// ---------------------------------------------------------------------------

/// An owned blob: header plus the raw little-endian weight bytes (exactly the
/// weights section, without header or CRC). Copying copies the weights.
/// Not synchronised: concurrent const access is safe, mutation is not.
struct Blob {
  Header header;                       ///< dtype and shape
  std::vector<std::uint8_t> weights;   ///< weights_len bytes, element_size(header.dtype) per element

  /// Number of whole elements in `weights`.
  std::size_t element_count() const noexcept { return weights.size() / element_size(header.dtype); }

  /// Element `i` widened to float (fp16 exactly). Precondition: i < element_count().
  float weight(std::size_t i) const noexcept { return detail::load_weight(header.dtype, weights.data(), i); }

  /// All elements widened to float. Cost: allocates element_count() floats.
  std::vector<float> to_floats() const {
    std::vector<float> out(element_count());
    detail::decode_weights(header.dtype, weights.data(), out.size(), out.data());
    return out;
  }

  /// Builds a blob of type `header.dtype` from `count` floats (rounded to
  /// nearest even for fp16). Does not validate the header; `serialize` does.
  static Blob from_floats(const Header& header, const float* values, std::size_t count) {
    const std::size_t es = element_size(header.dtype);
    if (count > std::numeric_limits<std::size_t>::max() / es) {
      aether::detail::fail(Errc::invalid_argument, "element count " + std::to_string(count) + " overflows size_t");
    }
    Blob b;
    b.header = header;
    b.weights.resize(count * es);
    for (std::size_t i = 0; i < count; ++i) detail::store_weight(header.dtype, b.weights.data(), i, values[i]);
    return b;
  }

  /// Same shape with every element re-encoded as `dtype` (fp32 -> fp16 rounds
  /// to nearest even, fp16 -> fp32 is exact). Cost: one pass, one allocation.
  Blob converted(Dtype dtype) const {
    Header h = header;
    h.dtype = dtype;
    Blob out;
    out.header = h;
    const std::size_t n = element_count();
    out.weights.resize(n * element_size(dtype));
    for (std::size_t i = 0; i < n; ++i) detail::store_weight(dtype, out.weights.data(), i, weight(i));
    return out;
  }

  friend bool operator==(const Blob& a, const Blob& b) noexcept {
    return a.header == b.header && a.weights == b.weights;
  }
  friend bool operator!=(const Blob& a, const Blob& b) noexcept { return !(a == b); }
};

/// A validated blob inside caller-owned bytes. Non-owning: `weights` points
/// into the buffer given to `parse_view`/`try_parse`, which must outlive the
/// view and stay unmodified. Trivially copyable; thread-safe for reading.
struct BlobView {
  Header header;                           ///< decoded header
  const std::uint8_t* weights = nullptr;   ///< first weight byte (offset 0x18 of the buffer)
  std::size_t weights_len = 0;             ///< bytes of weights
  std::uint32_t crc = 0;                   ///< the (verified) stored CRC-32

  /// Number of elements.
  std::size_t element_count() const noexcept { return weights_len / element_size(header.dtype); }

  /// Element `i` widened to float. Precondition: i < element_count().
  float weight(std::size_t i) const noexcept { return detail::load_weight(header.dtype, weights, i); }

  /// Widens every element into `out[0, element_count())`. No allocation.
  void to_floats(float* out) const noexcept { detail::decode_weights(header.dtype, weights, element_count(), out); }

  /// All elements widened to float. Cost: allocates element_count() floats.
  std::vector<float> to_floats() const {
    std::vector<float> out(element_count());
    to_floats(out.data());
    return out;
  }

  /// Copies header and weight bytes into an owning `Blob`.
  Blob to_blob() const {
    Blob b;
    b.header = header;
    b.weights.assign(weights, weights + weights_len);
    return b;
  }
};

/// Outcome of the non-throwing parser: `code == Errc::ok` and a valid `view`,
/// or the code of the first failing rule and a message naming the field and
/// the value found. Fixed size, never allocates.
struct ParseResult {
  Errc code = Errc::ok;   ///< Errc::ok on success
  BlobView view;          ///< meaningful only when ok()
  char message[200] = {}; ///< NUL-terminated reason, empty on success

  bool ok() const noexcept { return code == Errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
};

// ---------------------------------------------------------------------------
// Validation internals
// ---------------------------------------------------------------------------

namespace detail {
/// The 24 header bytes, decoded but not yet validated.
struct RawHeader {
  std::uint32_t magic = 0;
  std::uint16_t version = 0;
  std::uint8_t flags = 0;
  std::uint8_t reserved = 0;
  Header header;  // dtype from flags bit 0
  std::uint32_t weights_len = 0;
};

/// Decodes `p[0, 24)`.
inline RawHeader decode_header(const std::uint8_t* p) noexcept {
  RawHeader r;
  r.magic = load_u32(p + kOffMagic);
  r.version = load_u16(p + kOffVersion);
  r.flags = p[kOffFlags];
  r.reserved = p[kOffReserved];
  r.header.dtype = (r.flags & kFlagF16) ? Dtype::f16 : Dtype::f32;
  r.header.input_dim = load_u16(p + kOffInputDim);
  r.header.q_heads = load_u16(p + kOffQHeads);
  r.header.kv_heads = load_u16(p + kOffKvHeads);
  r.header.head_dim = load_u16(p + kOffHeadDim);
  r.header.layers = load_u16(p + kOffLayers);
  r.header.classes = load_u16(p + kOffClasses);
  r.weights_len = load_u32(p + kOffWeightsLen);
  return r;
}

/// Encodes a header into `out[0, 24)`.
inline void encode_header(const Header& h, std::uint32_t weights_len, std::uint8_t* out) noexcept {
  store_u32(out + kOffMagic, kMagic);
  store_u16(out + kOffVersion, kVersion);
  out[kOffFlags] = h.dtype == Dtype::f16 ? kFlagF16 : 0;
  out[kOffReserved] = 0;
  store_u16(out + kOffInputDim, h.input_dim);
  store_u16(out + kOffQHeads, h.q_heads);
  store_u16(out + kOffKvHeads, h.kv_heads);
  store_u16(out + kOffHeadDim, h.head_dim);
  store_u16(out + kOffLayers, h.layers);
  store_u16(out + kOffClasses, h.classes);
  store_u32(out + kOffWeightsLen, weights_len);
}

/// Records a failure (always returns false, for `return reject(...)`).
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
inline bool reject(ParseResult& r, Errc code, const char* fmt, ...) noexcept {
  r.code = code;
  std::va_list args;
  va_start(args, fmt);
  std::vsnprintf(r.message, sizeof r.message, fmt, args);
  va_end(args);
  return false;
}

/// Rules 2-5 on a decoded header, given the total blob size (rule 1, size >=
/// 28, is the caller's). Pure arithmetic: never allocates.
inline bool check_prefix(const RawHeader& h, std::uint64_t size, ParseResult& r) noexcept {
  if (h.magic != kMagic) {
    return reject(r, Errc::bad_magic, "magic 0x%08X (expected 0x%08X, the bytes \"ENVR\")",
                  static_cast<unsigned>(h.magic), static_cast<unsigned>(kMagic));
  }
  if (h.version != kVersion) {
    return reject(r, Errc::unsupported_version, "version %u (expected %u)", static_cast<unsigned>(h.version),
                  static_cast<unsigned>(kVersion));
  }
  if ((h.flags & ~kKnownFlags) != 0) {
    return reject(r, Errc::unsupported_flags, "flags 0x%02X set unknown bit(s) 0x%02X (only bit 0, fp16, is defined)",
                  static_cast<unsigned>(h.flags), static_cast<unsigned>(h.flags & ~kKnownFlags));
  }
  if (h.reserved != 0) {
    return reject(r, Errc::unsupported_flags, "reserved byte 0x%02X (expected 0)", static_cast<unsigned>(h.reserved));
  }
  const std::uint64_t expected = std::uint64_t{kMinBlobSize} + h.weights_len;  // 64-bit: no wrap
  if (size < expected) {
    return reject(r, Errc::truncated, "blob is %llu bytes but weights_len %lu needs 28 + %lu = %llu bytes",
                  static_cast<unsigned long long>(size), static_cast<unsigned long>(h.weights_len),
                  static_cast<unsigned long>(h.weights_len), static_cast<unsigned long long>(expected));
  }
  if (size > expected) {
    return reject(r, Errc::trailing_bytes, "blob is %llu bytes, %llu more than 28 + weights_len %lu = %llu",
                  static_cast<unsigned long long>(size), static_cast<unsigned long long>(size - expected),
                  static_cast<unsigned long>(h.weights_len), static_cast<unsigned long long>(expected));
  }
  return true;
}

/// Rule 6.
inline bool check_crc(std::uint32_t stored, std::uint32_t computed, ParseResult& r) noexcept {
  if (stored != computed) {
    return reject(r, Errc::checksum_mismatch, "stored crc32 0x%08X but the bytes hash to 0x%08X",
                  static_cast<unsigned>(stored), static_cast<unsigned>(computed));
  }
  return true;
}

/// Rule 7: the header's fields and weights_len on their own.
inline bool check_fields(const Header& h, std::uint64_t weights_len, ParseResult& r) noexcept {
  if (h.dtype != Dtype::f32 && h.dtype != Dtype::f16) {  // only reachable from a hand-made Header
    return reject(r, Errc::invalid_header, "dtype %u (expected 0 = f32 or 1 = f16)", static_cast<unsigned>(h.dtype));
  }
  struct Dim {
    const char* name;
    std::uint16_t value;
  };
  const Dim dims[] = {{"input_dim", h.input_dim}, {"q_heads", h.q_heads}, {"kv_heads", h.kv_heads},
                      {"head_dim", h.head_dim}};
  for (const Dim& dim : dims) {
    if (dim.value == 0) return reject(r, Errc::invalid_header, "%s 0 (must be at least 1)", dim.name);
  }
  if (h.q_heads % h.kv_heads != 0) {
    return reject(r, Errc::invalid_header, "q_heads %u is not divisible by kv_heads %u",
                  static_cast<unsigned>(h.q_heads), static_cast<unsigned>(h.kv_heads));
  }
  if (h.layers == 0) return reject(r, Errc::invalid_header, "layers 0 (must be at least 1)");
  if (h.classes < 2) {
    return reject(r, Errc::invalid_header, "classes %u (must be at least 2)", static_cast<unsigned>(h.classes));
  }
  const std::size_t es = element_size(h.dtype);
  if (weights_len % es != 0) {
    return reject(r, Errc::invalid_header, "weights_len %llu is not a multiple of the %s element size %u",
                  static_cast<unsigned long long>(weights_len), dtype_name(h.dtype), static_cast<unsigned>(es));
  }
  return true;
}

/// Writer-side checks: weights fit in u32, then rule 7.
inline bool check_writable(const Header& h, std::uint64_t weights_len, ParseResult& r) noexcept {
  if (weights_len > kMaxWeightsLen) {
    return reject(r, Errc::invalid_header, "weights are %llu bytes, more than a u32 weights_len can describe",
                  static_cast<unsigned long long>(weights_len));
  }
  return check_fields(h, weights_len, r);
}

[[noreturn]] inline void throw_result(const ParseResult& r, const std::string& prefix = std::string()) {
  aether::detail::fail(r.code, prefix + r.message);
}
}  // namespace detail

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// Validates `size` bytes at `data` (rules 1-7, in order) without throwing or
/// allocating. On success `view` points into `data`. Cost: one CRC pass over
/// the bytes after the cheap header checks pass. Thread-safe.
inline ParseResult try_parse(const std::uint8_t* data, std::size_t size) noexcept {
  ParseResult r;
  if (data == nullptr && size != 0) {
    detail::reject(r, Errc::invalid_argument, "null data pointer with size %zu", size);
    return r;
  }
  if (size < kMinBlobSize) {
    detail::reject(r, Errc::truncated, "blob is %zu bytes, shorter than the 28-byte minimum (header + crc)", size);
    return r;
  }
  const detail::RawHeader raw = detail::decode_header(data);
  if (!detail::check_prefix(raw, size, r)) return r;
  const std::size_t crc_at = size - kCrcSize;
  if (!detail::check_crc(detail::load_u32(data + crc_at), crc32(data, crc_at), r)) return r;
  if (!detail::check_fields(raw.header, raw.weights_len, r)) return r;
  r.view.header = raw.header;
  r.view.weights = data + kHeaderSize;
  r.view.weights_len = raw.weights_len;
  r.view.crc = detail::load_u32(data + crc_at);
  return r;
}

/// Just the verdict of `try_parse`: Errc::ok or the first failing rule's code.
inline Errc validate(const std::uint8_t* data, std::size_t size) noexcept { return try_parse(data, size).code; }

/// Validates and returns a zero-copy view into `data` (see BlobView for the
/// lifetime contract). Throws `aether::Error` with the first failing rule's code.
inline BlobView parse_view(const std::uint8_t* data, std::size_t size) {
  const ParseResult r = try_parse(data, size);
  if (!r) detail::throw_result(r);
  return r.view;
}

/// Validates and copies into an owning `Blob`. Nothing is allocated before
/// rules 1-7 pass. Throws `aether::Error` with the first failing rule's code.
inline Blob parse(const std::uint8_t* data, std::size_t size) { return parse_view(data, size).to_blob(); }

/// Convenience overload for a byte vector.
inline Blob parse(const std::vector<std::uint8_t>& bytes) { return parse(bytes.data(), bytes.size()); }

/// Throws invalid_header if `header` with `weights_len` bytes of weights
/// fails rule 7 (zero dims, Hq % Hkv, no layers, < 2 classes, misaligned length).
inline void check_header(const Header& header, std::uint64_t weights_len) {
  ParseResult r;
  if (!detail::check_fields(header, weights_len, r)) detail::throw_result(r);
}

// ---------------------------------------------------------------------------
// Serialisation
// ---------------------------------------------------------------------------

/// Bytes `serialize` produces for `weights_len` bytes of weights (64-bit).
constexpr std::uint64_t serialized_size(std::uint64_t weights_len) noexcept { return kMinBlobSize + weights_len; }

/// Encodes `header` and `weights_len` bytes at `weights` (already in the
/// little-endian element encoding of header.dtype) as a complete blob.
/// Throws invalid_header for a header failing rule 7 or weights larger than
/// 0xFFFFFFFF bytes. Cost: one allocation of 28 + weights_len bytes, one CRC pass.
inline std::vector<std::uint8_t> serialize(const Header& header, const std::uint8_t* weights,
                                           std::size_t weights_len) {
  ParseResult r;
  if (!detail::check_writable(header, weights_len, r)) detail::throw_result(r);
  std::vector<std::uint8_t> out(kHeaderSize + weights_len + kCrcSize);
  detail::encode_header(header, static_cast<std::uint32_t>(weights_len), out.data());
  if (weights_len != 0) std::memcpy(out.data() + kHeaderSize, weights, weights_len);
  const std::size_t crc_at = kHeaderSize + weights_len;
  detail::store_u32(out.data() + crc_at, crc32(out.data(), crc_at));
  return out;
}

/// Encodes `blob` (see the pointer overload for errors and cost).
inline std::vector<std::uint8_t> serialize(const Blob& blob) {
  return serialize(blob.header, blob.weights.data(), blob.weights.size());
}

// ---------------------------------------------------------------------------
// Model weight layout (rule 8)
// ---------------------------------------------------------------------------

/// One matrix of the model layout: row-major `[rows][cols]` (x · W
/// convention), starting at element `offset` of the weights section.
struct MatrixShape {
  const char* name = "";    ///< "Wq", "Wk", "Wv", "Wo" or "Wc" (static string)
  int layer = -1;           ///< 0..layers-1, or -1 for the classifier Wc
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  std::uint64_t offset = 0; ///< first element (not byte)

  /// rows * cols; each factor is at most 0xFFFF * 0xFFFF, so the product is exact.
  std::uint64_t elements() const noexcept { return rows * cols; }
};

namespace detail {
/// a * b, saturating at UINT64_MAX.
constexpr std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) noexcept {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::numeric_limits<std::uint64_t>::max();
  return a * b;
}
/// a + b, saturating at UINT64_MAX.
constexpr std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) noexcept {
  return b > std::numeric_limits<std::uint64_t>::max() - a ? std::numeric_limits<std::uint64_t>::max() : a + b;
}
}  // namespace detail

/// Number of matrices in the layout: 4 per layer plus the classifier.
constexpr std::uint64_t matrix_count(const Header& h) noexcept { return 4ull * h.layers + 1; }

/// Shape of matrix `index` (0 <= index < matrix_count(h)), in layout order:
/// for each layer Wq [D][Hq*d], Wk [D][Hkv*d], Wv [D][Hkv*d], Wo [Hq*d][D];
/// then Wc [D][C]. All products in 64-bit. No allocation.
inline MatrixShape matrix_shape(const Header& h, std::uint64_t index) noexcept {
  const std::uint64_t D = h.input_dim, q = std::uint64_t{h.q_heads} * h.head_dim,
                      kv = std::uint64_t{h.kv_heads} * h.head_dim;
  const std::uint64_t per_layer = 2 * D * q + 2 * D * kv;  // <= 4 * 0xFFFF^3 < 2^50, exact
  MatrixShape m;
  if (index >= 4ull * h.layers) {
    m.name = "Wc";
    m.layer = -1;
    m.rows = D;
    m.cols = h.classes;
    m.offset = detail::sat_mul(h.layers, per_layer);  // can exceed 2^64 for absurd headers: saturate
    return m;
  }
  const std::uint64_t layer = index / 4, which = index % 4;
  std::uint64_t within = 0;  // elements before this matrix inside its layer, < 2^50
  switch (which) {
    case 0: m.name = "Wq"; m.rows = D; m.cols = q; break;
    case 1: m.name = "Wk"; m.rows = D; m.cols = kv; within = D * q; break;
    case 2: m.name = "Wv"; m.rows = D; m.cols = kv; within = D * q + D * kv; break;
    default: m.name = "Wo"; m.rows = q; m.cols = D; within = D * q + 2 * D * kv; break;
  }
  m.layer = static_cast<int>(layer);
  m.offset = detail::sat_add(detail::sat_mul(layer, per_layer), within);
  return m;
}

/// Total elements of the model layout,
/// L * (2*D*Hq*d + 2*D*Hkv*d) + D*C, computed in 64-bit and saturating at
/// UINT64_MAX (a 0xFFFF-everywhere header would overflow 64 bits). 10,304
/// for Header::aether_default().
constexpr std::uint64_t layout_elements(const Header& h) noexcept {
  const std::uint64_t D = h.input_dim;
  const std::uint64_t q = std::uint64_t{h.q_heads} * h.head_dim;
  const std::uint64_t kv = std::uint64_t{h.kv_heads} * h.head_dim;
  const std::uint64_t per_layer = 2 * D * q + 2 * D * kv;  // each factor <= 0xFFFF: < 2^51, exact
  return detail::sat_add(detail::sat_mul(h.layers, per_layer), D * h.classes);
}

/// Bytes of the model layout for h.dtype, saturating at UINT64_MAX.
constexpr std::uint64_t layout_bytes(const Header& h) noexcept {
  return detail::sat_mul(layout_elements(h), element_size(h.dtype));
}

static_assert(layout_elements(Header::aether_default()) == 10304, "AETHER default layout is 10,304 elements");
static_assert(layout_bytes(Header::aether_default()) == 41216, "AETHER default fp32 weights are 41,216 bytes");

/// All matrix shapes in layout order (see matrix_shape). Cost: allocates
/// matrix_count(h) entries (up to 262,141 for layers = 0xFFFF).
inline std::vector<MatrixShape> layout(const Header& h) {
  std::vector<MatrixShape> out;
  out.reserve(static_cast<std::size_t>(matrix_count(h)));
  for (std::uint64_t i = 0; i < matrix_count(h); ++i) out.push_back(matrix_shape(h, i));
  return out;
}

/// True when `header` passes rule 7 and `weights_len == layout_bytes(header)`.
inline bool layout_matches(const Header& header, std::uint64_t weights_len) noexcept {
  ParseResult r;
  return detail::check_fields(header, weights_len, r) && layout_bytes(header) == weights_len;
}

/// Rule 8, for model loads: throws invalid_header if the header fails rule 7,
/// else layout_mismatch unless weights_len equals layout_bytes(header).
inline void check_layout(const Header& header, std::uint64_t weights_len) {
  check_header(header, weights_len);
  const std::uint64_t need = layout_bytes(header);
  if (need != weights_len) {
    ParseResult r;
    detail::reject(r, Errc::layout_mismatch,
                   "weights_len %llu but the %s model layout (D %u, Hq %u, Hkv %u, d %u, L %u, C %u) needs %llu bytes",
                   static_cast<unsigned long long>(weights_len), dtype_name(header.dtype),
                   static_cast<unsigned>(header.input_dim), static_cast<unsigned>(header.q_heads),
                   static_cast<unsigned>(header.kv_heads), static_cast<unsigned>(header.head_dim),
                   static_cast<unsigned>(header.layers), static_cast<unsigned>(header.classes),
                   static_cast<unsigned long long>(need));
    detail::throw_result(r);
  }
}

// ---------------------------------------------------------------------------
// Seeded initialisation (reference `init_random_blob`)
// ---------------------------------------------------------------------------

namespace detail {
/// xorshift64* exactly as the reference example: shift triple 13/7/17,
/// multiplier 2685821657736338717, top 32 bits of the product. A zero state
/// stays zero (every draw is then -0.1f), as in the reference.
class XorShift64Star {
 public:
  explicit constexpr XorShift64Star(std::uint64_t seed) noexcept : state_(seed) {}

  /// Next 32 random bits.
  constexpr std::uint32_t next_u32() noexcept {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    const std::uint64_t r = state_ * 2685821657736338717ull;  // wrapping
    return static_cast<std::uint32_t>(r >> 32);
  }

  /// Next weight in [-0.1, 0.1], single-precision arithmetic throughout
  /// (double would change the bits).
  float next_weight() noexcept {
    const float unit = static_cast<float>(next_u32()) / static_cast<float>(4294967295u);
    return (unit - 0.5f) * 0.2f;
  }

  std::uint64_t state() const noexcept { return state_; }

 private:
  std::uint64_t state_;
};
}  // namespace detail

/// A blob with the model layout of `header`, filled with one xorshift64*
/// draw per element in layout order starting from `seed` (fp16: each draw
/// rounded to nearest even). Bit-identical to the reference generator.
/// Throws invalid_header if `header` fails rule 7 or the layout needs more
/// than 0xFFFFFFFF bytes. Cost: one allocation of layout_bytes(header).
inline Blob init_random(const Header& header, std::uint64_t seed = kDefaultSeed) {
  check_header(header, 0);
  const std::uint64_t bytes = layout_bytes(header);
  if (bytes > kMaxWeightsLen || bytes > std::numeric_limits<std::size_t>::max()) {
    ParseResult r;
    detail::reject(r, Errc::invalid_header, "model layout needs %llu bytes, more than a u32 weights_len can describe",
                   static_cast<unsigned long long>(bytes));
    detail::throw_result(r);
  }
  Blob b;
  b.header = header;
  b.weights.resize(static_cast<std::size_t>(bytes));
  detail::XorShift64Star rng(seed);
  const std::size_t n = static_cast<std::size_t>(layout_elements(header));
  for (std::size_t i = 0; i < n; ++i) detail::store_weight(header.dtype, b.weights.data(), i, rng.next_weight());
  return b;
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// Reads and validates a blob file. The file size is taken from the open
/// stream and rules 1-5 are checked on it and the 24 header bytes before
/// anything is allocated, so a hostile weights_len never causes a large
/// allocation; then the weights are read straight into the result (one
/// allocation of weights_len bytes) and rules 6-7 checked. Throws
/// `aether::Error`: io_error if the file cannot be opened or read, otherwise
/// the code of the first failing rule; messages start with the path.
inline Blob read_file(const std::filesystem::path& path) {
  const std::string where = path.string() + ": ";
  std::ifstream in(path, std::ios::binary);
  if (!in) aether::detail::fail(Errc::io_error, where + "cannot open for reading");
  in.seekg(0, std::ios::end);
  const std::streamoff end = static_cast<std::streamoff>(in.tellg());
  if (!in || end < 0) aether::detail::fail(Errc::io_error, where + "cannot determine the file size");
  const std::uint64_t size = static_cast<std::uint64_t>(end);
  ParseResult r;
  if (size < kMinBlobSize) {
    detail::reject(r, Errc::truncated, "file is %llu bytes, shorter than the 28-byte minimum (header + crc)",
                   static_cast<unsigned long long>(size));
    detail::throw_result(r, where);
  }
  std::uint8_t head[kHeaderSize];
  in.seekg(0, std::ios::beg);
  if (!in.read(reinterpret_cast<char*>(head), kHeaderSize)) {
    aether::detail::fail(Errc::io_error, where + "cannot read the header");
  }
  const detail::RawHeader raw = detail::decode_header(head);
  if (!detail::check_prefix(raw, size, r)) detail::throw_result(r, where);
  if constexpr (std::numeric_limits<std::size_t>::max() < kMaxWeightsLen) {  // 32-bit hosts only
    if (raw.weights_len > std::numeric_limits<std::size_t>::max() - kMinBlobSize) {
      aether::detail::fail(Errc::io_error, where + "weights do not fit in this platform's address space");
    }
  }
  Blob b;
  b.header = raw.header;
  b.weights.resize(static_cast<std::size_t>(raw.weights_len));  // bounded by the actual file size (rule 5)
  std::uint8_t tail[kCrcSize];
  if (!in.read(reinterpret_cast<char*>(b.weights.data()), static_cast<std::streamsize>(b.weights.size())) ||
      !in.read(reinterpret_cast<char*>(tail), kCrcSize)) {
    aether::detail::fail(Errc::io_error, where + "short read (was the file truncated while reading?)");
  }
  if (in.peek() != std::ifstream::traits_type::eof()) {
    aether::detail::fail(Errc::io_error, where + "file grew while reading");
  }
  const std::uint32_t computed = crc32(b.weights.data(), b.weights.size(), crc32(head, kHeaderSize));
  if (!detail::check_crc(detail::load_u32(tail), computed, r)) detail::throw_result(r, where);
  if (!detail::check_fields(raw.header, raw.weights_len, r)) detail::throw_result(r, where);
  return b;
}

namespace detail {
/// Opens a new file exclusively ("x": fails if it exists). Null on failure.
inline std::FILE* open_exclusive(const std::filesystem::path& p) noexcept {
#if defined(_WIN32)
  return ::_wfopen(p.c_str(), L"wbx");
#else
  return std::fopen(p.c_str(), "wbx");
#endif
}
}  // namespace detail

/// Writes `blob` to `path` atomically: serialises (so an invalid header throws
/// invalid_header before the disk is touched), writes a uniquely named
/// temporary in the same directory, flushes it (fsync on POSIX) and renames it
/// over `path`. Readers see either the old file or the complete new one. On
/// any failure the temporary is removed and io_error is thrown. Concurrent
/// writers to the same path are safe (last rename wins). A symlink at `path`
/// is replaced by the new file, not followed; the new file gets default
/// permissions.
inline void write_file(const std::filesystem::path& path, const Blob& blob) {
  const std::vector<std::uint8_t> bytes = serialize(blob);
  const std::string where = path.string() + ": ";
  if (path.filename().empty()) aether::detail::fail(Errc::io_error, where + "not a file name");

  // Unpredictable suffix; the exclusive open below makes collisions harmless.
  std::uint64_t salt = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                       static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&bytes));
  try {
    std::random_device rd;
    salt ^= (std::uint64_t{rd()} << 32) ^ rd();
  } catch (const std::exception&) {
    // No entropy source: the clock and address above still differ between calls.
  }
  std::filesystem::path tmp;
  std::FILE* f = nullptr;
  for (int attempt = 0; attempt < 16 && f == nullptr; ++attempt) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".tmp-%016llx", static_cast<unsigned long long>(salt));
    salt = salt * 6364136223846793005ull + 1442695040888963407ull;
    tmp = path;
    tmp += suffix;
    f = detail::open_exclusive(tmp);
  }
  if (f == nullptr) aether::detail::fail(Errc::io_error, where + "cannot create a temporary file next to it");

  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fflush(f) == 0) && ok;
#if defined(AETHER_RVNE_HAVE_FSYNC)
  ok = ok && ::fsync(::fileno(f)) == 0;
#endif
  ok = (std::fclose(f) == 0) && ok;
  std::error_code ec;
  if (!ok) {
    std::filesystem::remove(tmp, ec);
    aether::detail::fail(Errc::io_error, where + "writing the temporary " + tmp.string() + " failed");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    aether::detail::fail(Errc::io_error, where + "cannot rename the temporary into place: " + reason);
  }
}

}  // namespace aether::rvne
