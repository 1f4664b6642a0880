#pragma once
/// \file rvne/codec.hpp
/// Reading and writing `.rvne` bytes in memory: the owning `Blob`, the
/// zero-copy `BlobView`, validation rules 1-7 (RVNE.md) with their
/// non-throwing form `try_parse` (fixed-size `ParseResult`, no allocation),
/// the throwing `parse`/`parse_view`/`check_header`, and `serialize`.
/// No file I/O here (rvne/file.hpp).

#include <aether/error.hpp>
#include <aether/rvne/crc32.hpp>
#include <aether/rvne/format.hpp>

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace aether::rvne {

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

}  // namespace aether::rvne
