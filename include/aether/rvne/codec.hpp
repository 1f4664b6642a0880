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
#include <aether/rvne/tensors.hpp>

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
  /// to nearest even, fp16 -> fp32 is exact). Version 2: tensors start at
  /// 16-byte multiples, so their element offsets depend on the dtype; each
  /// tensor moves to its offset in the new layout, padding stays zero (the
  /// weights must be `header`'s layout: else Errc::layout_mismatch). Cost:
  /// one pass, one allocation (v2: and one of 8 bytes per tensor).
  Blob converted(Dtype dtype) const {
    Header h = header;
    h.dtype = dtype;
    Blob out;
    out.header = h;
    if (header.version != kVersion2) {
      const std::size_t n = element_count();
      out.weights.resize(n * element_size(dtype));
      for (std::size_t i = 0; i < n; ++i) detail::store_weight(dtype, out.weights.data(), i, weight(i));
      return out;
    }
    const std::uint64_t have = layout_bytes(header), need = layout_bytes(h);
    if (weights.size() != have || need > kMaxWeightsLen) {
      aether::detail::fail(Errc::layout_mismatch, "converting a version 2 blob of " + std::to_string(weights.size()) +
                                                      " weight bytes, but its descriptor's tensors need " +
                                                      std::to_string(have) + " (" + dtype_name(header.dtype) +
                                                      ") and " + std::to_string(need) + " (" + dtype_name(dtype) + ")");
    }
    std::vector<std::uint64_t> to;  // each tensor's first element in the new layout
    for_each_tensor(h, [&to](const MatrixShape& m) { to.push_back(m.offset); });
    out.weights.assign(static_cast<std::size_t>(need), 0);
    std::size_t t = 0;
    for_each_tensor(header, [&](const MatrixShape& m) {
      for (std::uint64_t i = 0; i < m.elements(); ++i) {
        detail::store_weight(dtype, out.weights.data(), static_cast<std::size_t>(to[t] + i),
                             weight(static_cast<std::size_t>(m.offset + i)));
      }
      ++t;
    });
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
  const std::uint8_t* weights = nullptr;   ///< first weight byte (v1: offset 0x18; v2: the tensor section, offset 0x80)
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
/// Bytes before the weights of a blob of `version` (24 for v1, 128 for v2).
constexpr std::size_t header_size(std::uint16_t version) noexcept {
  return version == kVersion2 ? static_cast<std::size_t>(kV2TensorStart) : kHeaderSize;
}

// Offsets of the v2 descriptor (docs/rvne-format.md "Version 2").
inline constexpr std::size_t kOffDModel = 0x18;
inline constexpr std::size_t kOffFfnDim = 0x1A;
inline constexpr std::size_t kOffBlocks = 0x1C;
inline constexpr std::size_t kOffConvKernel = 0x20;
inline constexpr std::size_t kOffConvDilation = 0x22;
inline constexpr std::size_t kOffConvAct = 0x24;
inline constexpr std::size_t kOffFfnAct = 0x25;
inline constexpr std::size_t kOffPool = 0x26;
inline constexpr std::size_t kOffBackend = 0x27;
inline constexpr std::size_t kOffNormEps = 0x28;
inline constexpr std::size_t kOffRopeBase = 0x2C;
inline constexpr std::size_t kOffWindow = 0x30;
inline constexpr std::size_t kOffBlockSize = 0x34;
inline constexpr std::size_t kOffCausal = 0x38;
inline constexpr std::size_t kOffGate = 0x39;
inline constexpr std::size_t kOffGlobalCount = 0x3A;
inline constexpr std::size_t kOffReserved3B = 0x3B;
inline constexpr std::size_t kOffGateTopK = 0x3C;
inline constexpr std::size_t kOffGateHidden = 0x40;
inline constexpr std::size_t kOffFeatureKind = 0x42;
inline constexpr std::size_t kOffFeatureVersion = 0x44;
inline constexpr std::size_t kOffFeatureFlags = 0x46;
inline constexpr std::size_t kOffReserved47 = 0x47;
inline constexpr std::size_t kOffSubcarriers = 0x48;
inline constexpr std::size_t kOffGlobals = 0x4C;  // u32 x 8
inline constexpr std::size_t kOffHighpass = kOffGlobals + 4 * kMaxGlobalTokens;  // 0x6C: u16
inline constexpr std::size_t kOffReservedTail = kOffHighpass + 2;                 // 0x6E .. 0x80: zero
static_assert(kOffHighpass == 0x6C && kOffReservedTail == 0x6E && kV2TensorStart == 0x80,
              "the v2 descriptor ends at 0x80");

/// The header bytes, decoded but not yet validated.
struct RawHeader {
  std::uint32_t magic = 0;
  std::uint16_t version = 0;
  std::uint8_t flags = 0;
  std::uint8_t reserved = 0;
  Header header;  // dtype from flags bit 0; arch filled by decode_descriptor (v2)
  std::uint32_t weights_len = 0;
};

/// Decodes `p[0, 24)` (the fields every version shares).
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
  r.header.version = r.version;
  r.weights_len = load_u32(p + kOffWeightsLen);
  return r;
}

/// Decodes the v2 descriptor `p[0x18, 0x80)` into `a` (ids as stored, not
/// yet validated: `check_descriptor` does).
inline void decode_descriptor(const std::uint8_t* p, Architecture& a) noexcept {
  a.d_model = load_u16(p + kOffDModel);
  a.ffn_dim = load_u16(p + kOffFfnDim);
  a.blocks = load_u32(p + kOffBlocks);
  a.conv_kernel = load_u16(p + kOffConvKernel);
  a.conv_dilation = load_u16(p + kOffConvDilation);
  a.conv_activation = static_cast<Activation>(p[kOffConvAct]);
  a.ffn_activation = static_cast<Activation>(p[kOffFfnAct]);
  a.pool = static_cast<PoolKind>(p[kOffPool]);
  a.attention.backend = static_cast<BackendKind>(p[kOffBackend]);
  a.norm_eps = bits_to_f32(load_u32(p + kOffNormEps));
  a.rope_base = bits_to_f32(load_u32(p + kOffRopeBase));
  a.attention.window = load_u32(p + kOffWindow);
  a.attention.block_size = load_u32(p + kOffBlockSize);
  a.attention.causal = p[kOffCausal];
  a.attention.gate = static_cast<GateKind>(p[kOffGate]);
  a.attention.global_count = p[kOffGlobalCount];
  a.attention.gate_top_k = load_u32(p + kOffGateTopK);
  a.attention.gate_hidden = load_u16(p + kOffGateHidden);
  a.features.kind = static_cast<FeatureKind>(load_u16(p + kOffFeatureKind));
  a.features.version = load_u16(p + kOffFeatureVersion);
  a.features.flags = p[kOffFeatureFlags];
  a.features.subcarriers = load_u32(p + kOffSubcarriers);
  a.features.highpass = load_u16(p + kOffHighpass);
  for (std::size_t i = 0; i < kMaxGlobalTokens; ++i) a.attention.globals[i] = load_u32(p + kOffGlobals + 4 * i);
}

/// Encodes a header into `out[0, header_size(h.version))` (v2: with its descriptor).
inline void encode_header(const Header& h, std::uint32_t weights_len, std::uint8_t* out) noexcept {
  store_u32(out + kOffMagic, kMagic);
  store_u16(out + kOffVersion, h.version);
  out[kOffFlags] = h.dtype == Dtype::f16 ? kFlagF16 : 0;
  out[kOffReserved] = 0;
  store_u16(out + kOffInputDim, h.input_dim);
  store_u16(out + kOffQHeads, h.q_heads);
  store_u16(out + kOffKvHeads, h.kv_heads);
  store_u16(out + kOffHeadDim, h.head_dim);
  store_u16(out + kOffLayers, h.layers);
  store_u16(out + kOffClasses, h.classes);
  store_u32(out + kOffWeightsLen, weights_len);
  if (h.version != kVersion2) return;
  const Architecture& a = h.arch;
  std::memset(out + kHeaderSize, 0, kV2TensorStart - kHeaderSize);
  store_u16(out + kOffDModel, a.d_model);
  store_u16(out + kOffFfnDim, a.ffn_dim);
  store_u32(out + kOffBlocks, a.blocks);
  store_u16(out + kOffConvKernel, a.conv_kernel);
  store_u16(out + kOffConvDilation, a.conv_dilation);
  out[kOffConvAct] = static_cast<std::uint8_t>(a.conv_activation);
  out[kOffFfnAct] = static_cast<std::uint8_t>(a.ffn_activation);
  out[kOffPool] = static_cast<std::uint8_t>(a.pool);
  out[kOffBackend] = static_cast<std::uint8_t>(a.attention.backend);
  store_u32(out + kOffNormEps, f32_to_bits(a.norm_eps));
  store_u32(out + kOffRopeBase, f32_to_bits(a.rope_base));
  store_u32(out + kOffWindow, a.attention.window);
  store_u32(out + kOffBlockSize, a.attention.block_size);
  out[kOffCausal] = a.attention.causal;
  out[kOffGate] = static_cast<std::uint8_t>(a.attention.gate);
  out[kOffGlobalCount] = a.attention.global_count;
  store_u32(out + kOffGateTopK, a.attention.gate_top_k);
  store_u16(out + kOffGateHidden, a.attention.gate_hidden);
  store_u16(out + kOffFeatureKind, static_cast<std::uint16_t>(a.features.kind));
  store_u16(out + kOffFeatureVersion, a.features.version);
  out[kOffFeatureFlags] = a.features.flags;
  store_u32(out + kOffSubcarriers, a.features.subcarriers);
  store_u16(out + kOffHighpass, a.features.highpass);
  for (std::size_t i = 0; i < kMaxGlobalTokens; ++i) store_u32(out + kOffGlobals + 4 * i, a.attention.globals[i]);
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
/// 28, is the caller's). Pure arithmetic: never allocates. A v2 blob is
/// `128 + W + 4` bytes.
inline bool check_prefix(const RawHeader& h, std::uint64_t size, ParseResult& r) noexcept {
  if (h.magic != kMagic) {
    return reject(r, Errc::bad_magic, "magic 0x%08X (expected 0x%08X, the bytes \"ENVR\")",
                  static_cast<unsigned>(h.magic), static_cast<unsigned>(kMagic));
  }
  if (h.version != kVersion && h.version != kVersion2) {
    return reject(r, Errc::unsupported_version, "version %u (expected 1 or 2)", static_cast<unsigned>(h.version));
  }
  if ((h.flags & ~kKnownFlags) != 0) {
    return reject(r, Errc::unsupported_flags, "flags 0x%02X set unknown bit(s) 0x%02X (only bit 0, fp16, is defined)",
                  static_cast<unsigned>(h.flags), static_cast<unsigned>(h.flags & ~kKnownFlags));
  }
  if (h.reserved != 0) {
    return reject(r, Errc::unsupported_flags, "reserved byte 0x%02X (expected 0)", static_cast<unsigned>(h.reserved));
  }
  const std::uint64_t head = header_size(h.version);
  const std::uint64_t expected = head + kCrcSize + h.weights_len;  // 64-bit: no wrap
  if (size < expected) {
    return reject(r, Errc::truncated, "blob is %llu bytes but weights_len %lu needs %llu + %lu = %llu bytes",
                  static_cast<unsigned long long>(size), static_cast<unsigned long>(h.weights_len),
                  static_cast<unsigned long long>(head + kCrcSize), static_cast<unsigned long>(h.weights_len),
                  static_cast<unsigned long long>(expected));
  }
  if (size > expected) {
    return reject(r, Errc::trailing_bytes, "blob is %llu bytes, %llu more than %llu + weights_len %lu = %llu",
                  static_cast<unsigned long long>(size), static_cast<unsigned long long>(size - expected),
                  static_cast<unsigned long long>(head + kCrcSize), static_cast<unsigned long>(h.weights_len),
                  static_cast<unsigned long long>(expected));
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

inline bool check_descriptor(const Header& h, ParseResult& r) noexcept;

/// The v2 descriptor's reserved bytes (0x3B, 0x47, 0x6E..0x7F) must be 0
/// (unsupported_flags, like the header's reserved byte: room for a later version).
inline bool check_v2_reserved(const std::uint8_t* p, ParseResult& r) noexcept {
  for (std::size_t b = kHeaderSize; b < kV2TensorStart; ++b) {
    const bool reserved = b == kOffReserved3B || b == kOffReserved47 || b >= kOffReservedTail;
    if (reserved && p[b] != 0) {
      return reject(r, Errc::unsupported_flags, "reserved descriptor byte 0x%02X at 0x%02zX (expected 0)",
                    static_cast<unsigned>(p[b]), b);
    }
  }
  return true;
}

/// Rule 7: the header's fields and weights_len on their own (v2: and its descriptor).
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
  if (h.version == kVersion2) return check_descriptor(h, r);
  if (h.version != kVersion) {  // only reachable from a hand-made Header
    return reject(r, Errc::unsupported_version, "version %u (expected 1 or 2)", static_cast<unsigned>(h.version));
  }
  if (h.arch != Architecture{}) {  // only reachable from a hand-made Header
    return reject(r, Errc::invalid_header, "a version 1 header with a v2 architecture (set version = 2)");
  }
  return true;
}

/// The v2 descriptor rules (docs/rvne-format.md "Validation"), after the
/// shape fields passed rule 7, in this order:
///  1. unknown ids -> unsupported_feature: block bits, activation ids,
///     pooling, backend, gate mode, featuriser kind, version or flag bits;
///  2. sizes and values -> invalid_header: d_model (0, or != input_dim without
///     an input projection), ffn_dim, conv kernel and dilation, norm eps,
///     RoPE base, even head_dim for RoPE, block_size, causal 0/1, global
///     count and tokens, gate (sparse only, hidden size), featuriser fields;
///     fields of a block that is off must be 0 (one encoding per model).
/// Pure, allocation-free.
inline bool check_descriptor(const Header& h, ParseResult& r) noexcept {
  const Architecture& a = h.arch;
  const AttentionDesc& at = a.attention;
  const FeaturizerDesc& f = a.features;
  if ((a.blocks & ~kKnownBlocks) != 0) {
    return reject(r, Errc::unsupported_feature, "descriptor blocks 0x%08lX name unknown block bit(s) 0x%08lX",
                  static_cast<unsigned long>(a.blocks), static_cast<unsigned long>(a.blocks & ~kKnownBlocks));
  }
  struct Id {
    const char* name;
    unsigned value, max;
  };
  const Id ids[] = {{"conv_activation", static_cast<unsigned>(a.conv_activation), kMaxActivation},
                    {"ffn_activation", static_cast<unsigned>(a.ffn_activation), kMaxActivation},
                    {"pool", static_cast<unsigned>(a.pool), kMaxPool},
                    {"backend", static_cast<unsigned>(at.backend), kMaxBackend},
                    {"gate", static_cast<unsigned>(at.gate), kMaxGate},
                    {"feature_kind", static_cast<unsigned>(f.kind), kMaxFeatureKind}};
  for (const Id& id : ids) {
    if (id.value > id.max) {
      return reject(r, Errc::unsupported_feature, "descriptor %s id %u is unknown (known: 0..%u)", id.name, id.value,
                    id.max);
    }
  }
  if (f.kind != FeatureKind::none && (f.version < 1 || f.version > kMaxFeatureVersion)) {
    return reject(r, Errc::unsupported_feature, "descriptor feature_version %u of %s is unknown (known: 1..%u)",
                  static_cast<unsigned>(f.version), feature_kind_name(f.kind), static_cast<unsigned>(kMaxFeatureVersion));
  }
  if ((f.flags & ~kKnownFeatureFlags) != 0) {
    return reject(r, Errc::unsupported_feature, "descriptor feature_flags 0x%02X set unknown bit(s) 0x%02X",
                  static_cast<unsigned>(f.flags), static_cast<unsigned>(f.flags & ~kKnownFeatureFlags));
  }
  // A block's fields are either required (block on) or must be zero (block off).
  struct Field {
    const char* name;
    bool on;          // the block using it is on
    bool valid;       // its value when on
    bool zero;        // the value is zero
    const char* rule;  // what `valid` requires
    double value;
  };
  const bool conv = a.has(kBlockConv), ffn = a.has(kBlockFfn), norm = a.has(kBlockNorm), rope = a.has(kBlockRope),
             proj = a.has(kBlockInputProjection), gated = at.gate != GateKind::none;
  const Field fields[] = {
      {"d_model", proj, a.d_model >= 1, a.d_model == 0, "at least 1", static_cast<double>(a.d_model)},
      {"ffn_dim", ffn, a.ffn_dim >= 1, a.ffn_dim == 0, "at least 1", static_cast<double>(a.ffn_dim)},
      {"ffn_activation", ffn, a.ffn_activation != Activation::identity,
       a.ffn_activation == static_cast<Activation>(0), "relu or gelu", static_cast<double>(a.ffn_activation)},
      {"conv_kernel", conv, a.conv_kernel >= 1, a.conv_kernel == 0, "at least 1", static_cast<double>(a.conv_kernel)},
      {"conv_dilation", conv, a.conv_dilation >= 1, a.conv_dilation == 0, "at least 1",
       static_cast<double>(a.conv_dilation)},
      {"conv_activation", conv, true, a.conv_activation == Activation::identity, "", static_cast<double>(a.conv_activation)},
      {"norm_eps", norm, a.norm_eps > 0.0f && a.norm_eps < 1.0f, f32_to_bits(a.norm_eps) == 0, "in (0, 1)",
       static_cast<double>(a.norm_eps)},
      {"rope_base", rope, a.rope_base > 1.0f && a.rope_base <= 1e9f, f32_to_bits(a.rope_base) == 0, "in (1, 1e9]",
       static_cast<double>(a.rope_base)},
      {"gate_hidden", gated, at.gate_hidden >= 1, at.gate_hidden == 0, "at least 1", static_cast<double>(at.gate_hidden)},
      {"gate_top_k", gated, true, at.gate_top_k == 0, "", static_cast<double>(at.gate_top_k)},
      {"feature_version", f.kind != FeatureKind::none, true, f.version == 0, "", static_cast<double>(f.version)},
      {"feature_flags", f.kind != FeatureKind::none, true, f.flags == 0, "", static_cast<double>(f.flags)},
      {"feature_subcarriers", f.kind == FeatureKind::csi_amplitude, true, f.subcarriers == 0, "",
       static_cast<double>(f.subcarriers)},
      {"feature_highpass", f.kind != FeatureKind::none, true, f.highpass == 0, "", static_cast<double>(f.highpass)},
  };
  for (const Field& x : fields) {
    if (x.on && !x.valid) return reject(r, Errc::invalid_header, "descriptor %s %g (must be %s)", x.name, x.value, x.rule);
    if (!x.on && !x.zero) {
      return reject(r, Errc::invalid_header, "descriptor %s %g but its block is off (must be 0)", x.name, x.value);
    }
  }
  if (rope && h.head_dim % 2 != 0) {
    return reject(r, Errc::invalid_header, "head_dim %u is odd: rotary position (RoPE) rotates pairs",
                  static_cast<unsigned>(h.head_dim));
  }
  if (at.block_size == 0) return reject(r, Errc::invalid_header, "descriptor block_size 0 (must be at least 1)");
  if (at.causal > 1) {
    return reject(r, Errc::invalid_header, "descriptor causal %u (must be 0 or 1)", static_cast<unsigned>(at.causal));
  }
  if (at.global_count > kMaxGlobalTokens) {
    return reject(r, Errc::invalid_header, "descriptor global_count %u (at most %u)",
                  static_cast<unsigned>(at.global_count), static_cast<unsigned>(kMaxGlobalTokens));
  }
  for (std::size_t i = 0; i < kMaxGlobalTokens; ++i) {
    if (i >= at.global_count && at.globals[i] != 0) {
      return reject(r, Errc::invalid_header, "descriptor globals[%zu] %lu beyond global_count %u (must be 0)", i,
                    static_cast<unsigned long>(at.globals[i]), static_cast<unsigned>(at.global_count));
    }
    if (i > 0 && i < at.global_count && at.globals[i] <= at.globals[i - 1]) {
      return reject(r, Errc::invalid_header, "descriptor globals[%zu] %lu is not above globals[%zu] (strictly increasing)",
                    i, static_cast<unsigned long>(at.globals[i]), i - 1);
    }
  }
  if (gated && at.backend != BackendKind::sparse) {
    return reject(r, Errc::invalid_header, "descriptor gate %u needs the sparse backend", static_cast<unsigned>(at.gate));
  }
  if (f.kind != FeatureKind::none) {
    const bool constant = (f.flags & kFeatureConstant) != 0;
    if ((f.version == 2) != constant) {
      return reject(r, Errc::invalid_header,
                    "descriptor feature_version %u with the constant feature %s (version 2 exactly when it is on)",
                    static_cast<unsigned>(f.version), constant ? "on" : "off");
    }
    if (constant && h.input_dim < 2) {
      return reject(r, Errc::invalid_header, "the constant feature needs input_dim >= 2 (found %u)",
                    static_cast<unsigned>(h.input_dim));
    }
    if (f.kind == FeatureKind::node_features && (f.flags & (kFeatureLog | kFeatureCentre)) != 0) {
      return reject(r, Errc::invalid_header, "descriptor feature_flags 0x%02X: node-features has no log or centre step",
                    static_cast<unsigned>(f.flags));
    }
  }
  return true;
}

/// A v2 blob's tensor section against its descriptor: `weights_len` must be
/// the layout's size (layout_mismatch) and every padding byte between
/// tensors zero (invalid_header). Allocation-free; O(tensors + padding).
inline bool check_tensor_section(const Header& h, const std::uint8_t* weights, std::uint64_t weights_len,
                                 ParseResult& r) noexcept {
  const std::uint64_t need = layout_bytes(h);
  if (need != weights_len) {
    return reject(r, Errc::layout_mismatch, "weights_len %llu but the v2 descriptor's tensors need %llu bytes",
                  static_cast<unsigned long long>(weights_len), static_cast<unsigned long long>(need));
  }
  const std::uint64_t es = element_size(h.dtype);
  std::uint64_t end = 0;  // byte after the previous tensor
  bool ok = true;
  for_each_tensor(h, [&](const MatrixShape& m) {
    for (std::uint64_t b = end; ok && b < m.offset * es; ++b) {
      if (weights[b] != 0) {
        ok = reject(r, Errc::invalid_header, "padding byte 0x%02X at 0x%llX before tensor %s (layer %d) (must be 0)",
                    static_cast<unsigned>(weights[b]), static_cast<unsigned long long>(kV2TensorStart + b), m.name,
                    m.layer);
      }
    }
    end = (m.offset + m.elements()) * es;
  });
  return ok;
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
  detail::RawHeader raw = detail::decode_header(data);
  if (!detail::check_prefix(raw, size, r)) return r;  // a v2 blob is now known to hold its 128-byte head
  const std::size_t crc_at = size - kCrcSize;
  if (!detail::check_crc(detail::load_u32(data + crc_at), crc32(data, crc_at), r)) return r;
  if (raw.version == kVersion2) {
    if (!detail::check_v2_reserved(data, r)) return r;
    detail::decode_descriptor(data, raw.header.arch);
  }
  if (!detail::check_fields(raw.header, raw.weights_len, r)) return r;
  const std::uint8_t* weights = data + detail::header_size(raw.version);
  if (raw.version == kVersion2 && !detail::check_tensor_section(raw.header, weights, raw.weights_len, r)) return r;
  r.view.header = raw.header;
  r.view.weights = weights;
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

/// Bytes `serialize` produces for `weights_len` bytes of weights (64-bit) in a blob of `version`.
constexpr std::uint64_t serialized_size(std::uint64_t weights_len, std::uint16_t version = kVersion) noexcept {
  return detail::header_size(version) + kCrcSize + weights_len;
}

/// Encodes `header` and `weights_len` bytes at `weights` (already in the
/// little-endian element encoding of header.dtype; v2: the whole tensor
/// section, zero padding included) as a complete blob. Throws invalid_header
/// for a header failing rule 7 or weights larger than 0xFFFFFFFF bytes; for
/// v2 also the descriptor's code (unsupported_feature, invalid_header),
/// layout_mismatch for a section that is not the descriptor's, invalid_header
/// for non-zero padding. Cost: one allocation of the blob, one CRC pass.
inline std::vector<std::uint8_t> serialize(const Header& header, const std::uint8_t* weights,
                                           std::size_t weights_len) {
  ParseResult r;
  if (!detail::check_writable(header, weights_len, r)) detail::throw_result(r);
  if (header.version == kVersion2 && !detail::check_tensor_section(header, weights, weights_len, r)) {
    detail::throw_result(r);
  }
  const std::size_t head = detail::header_size(header.version);
  std::vector<std::uint8_t> out(head + weights_len + kCrcSize);
  detail::encode_header(header, static_cast<std::uint32_t>(weights_len), out.data());
  if (weights_len != 0) std::memcpy(out.data() + head, weights, weights_len);
  const std::size_t crc_at = head + weights_len;
  detail::store_u32(out.data() + crc_at, crc32(out.data(), crc_at));
  return out;
}

/// Encodes `blob` (see the pointer overload for errors and cost).
inline std::vector<std::uint8_t> serialize(const Blob& blob) {
  return serialize(blob.header, blob.weights.data(), blob.weights.size());
}

}  // namespace aether::rvne
