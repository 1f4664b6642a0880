#pragma once
/// \file rvne/format.hpp
/// The `.rvne` container's on-disk format: constants, field offsets, the
/// `Header` value type, little-endian field access and the fp32/fp16 weight
/// element encoding. Pure, allocation-free, no I/O (docs/rvne-format.md).
///
///   offset  size         field        contents
///   ------  -----------  -----------  ------------------------------------------
///   0x00    4            magic        u32 0x52564E45, on disk 45 4E 56 52 "ENVR"
///   0x04    2            version      u16, 1 (the reference) or 2 (aether's; the table
///                                     below is version 1: version 2 is in docs/rvne-format.md)
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
/// Version 2 adds its descriptor's rules (codec.hpp `check_descriptor`,
/// `check_tensor_section`; docs/rvne-format.md "Version 2").
/// Rule 8 (model loads only): W == layout_bytes(header) -> else layout_mismatch.
///
/// Every multi-byte field is encoded and decoded byte by byte, so the code is
/// independent of the host's endianness. Nothing here validates with assert().

#include <aether/half.hpp>
#include <aether/rvne/descriptor.hpp>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

namespace aether::rvne {

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------

/// The magic number, read as a little-endian u32 from offset 0.
inline constexpr std::uint32_t kMagic = 0x52564E45u;
/// The reference's version (the v1 architecture, 24-byte header).
inline constexpr std::uint16_t kVersion = 1;
/// aether's self-describing version (docs/rvne-format.md): the v1 header
/// fields, then a 104-byte descriptor, then 16-byte aligned tensors.
inline constexpr std::uint16_t kVersion2 = 2;
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
/// Largest blob `read_file` reads from a file that has no size (a pipe, a
/// device such as /dev/zero): 28 + 4 * 2^26 bytes, the largest fp32 blob the
/// default `ModelLimits` lets a model load (temporal_model.hpp checks that).
inline constexpr std::uint64_t kMaxUnsizedBlobSize = std::uint64_t{kMinBlobSize} + 4 * (std::uint64_t{1} << 26);

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

/// The model description carried by a blob (its descriptor): the element
/// type, the six u16 shape fields, the blob version and, for version 2, the
/// architecture beyond them. A plain fixed-size value type; validity (rule 7,
/// and the v2 descriptor rules) is checked by the reader, the writer and
/// `check_header`, not by construction. A v1 header keeps `arch` at its
/// all-off default.
struct Header {
  Dtype dtype = Dtype::f32;       ///< weight element type
  std::uint16_t input_dim = 0;    ///< D, per-frame feature dim
  std::uint16_t q_heads = 0;      ///< Hq, query heads
  std::uint16_t kv_heads = 0;     ///< Hkv, key/value heads; divides Hq
  std::uint16_t head_dim = 0;     ///< d, per-head dim
  std::uint16_t layers = 0;       ///< L, attention layers
  std::uint16_t classes = 0;      ///< C, classifier outputs (>= 2)
  std::uint16_t version = kVersion;  ///< 1 (the reference) or 2 (aether's self-describing blob)
  Architecture arch;              ///< version 2's blocks, sizes, attention, pooling, featuriser

  /// Width of the residual stream: `arch.d_model` with an input projection, else input_dim.
  constexpr std::uint16_t model_dim() const noexcept {
    return arch.has(kBlockInputProjection) ? arch.d_model : input_dim;
  }

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
           a.kv_heads == b.kv_heads && a.head_dim == b.head_dim && a.layers == b.layers && a.classes == b.classes &&
           a.version == b.version && a.arch == b.arch;
  }
  friend constexpr bool operator!=(const Header& a, const Header& b) noexcept { return !(a == b); }
};

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

}  // namespace aether::rvne
