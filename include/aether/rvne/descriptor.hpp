#pragma once
/// \file rvne/descriptor.hpp
/// The architecture a version-2 blob describes beyond the six v1 shape
/// fields (docs/model.md, docs/rvne-format.md): which blocks are on, their
/// sizes, the attention options v1 takes from the sidecar, the pooling and
/// the featuriser. `Architecture` is a plain fixed-size value (no
/// allocation), carried by `rvne::Header`; a v1 header's architecture is the
/// all-off default, which is exactly the reference model.
///
/// Ids are stable on-disk values: a reader refuses an id it does not know
/// (`Errc::unsupported_feature`), so a later block or kind is never misread.

#include <cstddef>
#include <cstdint>

namespace aether::rvne {

/// Block switches (`Architecture::blocks`), one bit each.
enum Block : std::uint32_t {
  kBlockInputProjection = 1u << 0,  ///< `x W_in + b_in`: input_dim -> d_model
  kBlockNorm = 1u << 1,             ///< RMSNorm (learned gain) before every sublayer, and a final one
  kBlockConv = 1u << 2,             ///< a causal depthwise convolution sublayer per layer
  kBlockFfn = 1u << 3,              ///< a feed-forward sublayer per layer
  kBlockQkvBias = 1u << 4,          ///< biases on the Q, K, V projections
  kBlockOutBias = 1u << 5,          ///< bias on the attention output projection
  kBlockRope = 1u << 6,             ///< rotary position on Q and K
  kBlockClassifierBias = 1u << 7,   ///< bias on the classifier
};
/// Every block bit this library knows.
inline constexpr std::uint32_t kKnownBlocks = 0xFFu;

/// Activation ids (convolution and feed-forward layer).
enum class Activation : std::uint8_t {
  identity = 0,  ///< no activation (the convolution may use it; the feed-forward layer may not)
  relu = 1,      ///< max(0, x)
  gelu = 2,      ///< x * Phi(x), the tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
};
inline constexpr std::uint8_t kMaxActivation = 2;

/// Pooling ids.
enum class PoolKind : std::uint8_t {
  mean = 0,  ///< the mean over the frames
  last = 1,  ///< the newest frame
};
inline constexpr std::uint8_t kMaxPool = 1;

/// Attention backend ids.
enum class BackendKind : std::uint8_t {
  dense = 0,   ///< exact attention over every (causal) key
  sparse = 1,  ///< SEMANTICS.md's pattern (window, log stride, landmarks, globals)
};
inline constexpr std::uint8_t kMaxBackend = 1;

/// Gate mode ids (GATE.md); `none` = ungated.
enum class GateKind : std::uint8_t {
  none = 0,
  prune = 1,
  salient = 2,
};
inline constexpr std::uint8_t kMaxGate = 2;

/// Featuriser kind ids (io/featurizer.hpp).
enum class FeatureKind : std::uint16_t {
  none = 0,           ///< the model takes feature vectors; no featuriser in the blob
  csi_amplitude = 1,  ///< "csi-amplitude": raw I/Q (or amplitude) frames
  node_features = 2,  ///< "node-features": the node's feature vectors
};
inline constexpr std::uint16_t kMaxFeatureKind = 2;
/// Highest featuriser version known (1; 2 = with the constant feature).
inline constexpr std::uint16_t kMaxFeatureVersion = 2;

/// Featuriser flags (`FeaturizerDesc::flags`).
enum FeatureFlag : std::uint8_t {
  kFeatureLog = 1u << 0,           ///< log1p of each group
  kFeatureCentre = 1u << 1,        ///< minus the mean over groups
  kFeatureConstant = 1u << 2,      ///< the last feature is the constant 1 (version 2)
  kFeatureStandardised = 1u << 3,  ///< offset and scale tensors follow in the tensor section
};
inline constexpr std::uint8_t kKnownFeatureFlags = 0x0Fu;

/// Most global tokens a v2 blob can name.
inline constexpr std::size_t kMaxGlobalTokens = 8;

/// Attention options (v1 takes them from the sidecar; v2 carries them).
/// Attention is always on, so backend, window, block_size (>= 1) and causal
/// are always meaningful; the gate fields are 0 when ungated.
struct AttentionDesc {
  BackendKind backend = BackendKind::sparse;
  std::uint32_t window = 0;       ///< sparse local window W
  std::uint32_t block_size = 0;   ///< sparse block size B (>= 1)
  std::uint8_t causal = 1;        ///< 0 or 1
  std::uint8_t global_count = 0;  ///< entries of `globals` in use (<= kMaxGlobalTokens)
  std::uint32_t globals[kMaxGlobalTokens] = {};
  GateKind gate = GateKind::none;
  std::uint32_t gate_top_k = 0;
  std::uint16_t gate_hidden = 0;  ///< FastGRNN hidden size H (>= 1 when gated)

  friend constexpr bool operator==(const AttentionDesc& a, const AttentionDesc& b) noexcept {
    if (a.backend != b.backend || a.window != b.window || a.block_size != b.block_size || a.causal != b.causal ||
        a.global_count != b.global_count || a.gate != b.gate || a.gate_top_k != b.gate_top_k ||
        a.gate_hidden != b.gate_hidden) {
      return false;
    }
    for (std::size_t i = 0; i < kMaxGlobalTokens; ++i) {
      if (a.globals[i] != b.globals[i]) return false;
    }
    return true;
  }
};

/// The featuriser a v2 blob carries (io/featurizer.hpp's `FeaturizerConfig`
/// without its vectors: standardisation offsets and scales are tensors).
struct FeaturizerDesc {
  FeatureKind kind = FeatureKind::none;
  std::uint16_t version = 0;      ///< 1, or 2 with the constant feature
  std::uint8_t flags = 0;         ///< FeatureFlag bits
  std::uint32_t subcarriers = 0;  ///< frames with another subcarrier count are filtered out (0: all)
  std::uint16_t highpass = 0;     ///< step 6's baseline time constant in frames (0: off; io/featurizer.hpp)

  friend constexpr bool operator==(const FeaturizerDesc& a, const FeaturizerDesc& b) noexcept {
    return a.kind == b.kind && a.version == b.version && a.flags == b.flags && a.subcarriers == b.subcarriers &&
           a.highpass == b.highpass;
  }
};

/// Everything a v2 model needs beyond the v1 header fields. All-zero
/// (`blocks == 0`, no featuriser) is v1's architecture.
struct Architecture {
  std::uint32_t blocks = 0;          ///< Block bits
  std::uint16_t d_model = 0;         ///< residual width with an input projection; stored 0 without one (the width is then input_dim: Header::model_dim)
  std::uint16_t ffn_dim = 0;         ///< feed-forward hidden width (kBlockFfn)
  std::uint16_t conv_kernel = 0;     ///< taps k (kBlockConv)
  std::uint16_t conv_dilation = 0;   ///< dilation delta (kBlockConv)
  Activation conv_activation = Activation::identity;
  Activation ffn_activation = Activation::identity;  ///< relu or gelu when the feed-forward layer is on
  PoolKind pool = PoolKind::mean;
  float norm_eps = 0.0f;             ///< RMSNorm epsilon (kBlockNorm), > 0
  float rope_base = 0.0f;            ///< RoPE base (kBlockRope), > 1
  AttentionDesc attention;
  FeaturizerDesc features;

  constexpr bool has(Block b) const noexcept { return (blocks & b) != 0; }

  friend constexpr bool operator==(const Architecture& a, const Architecture& b) noexcept {
    // Floats compared by value: the codec never writes a NaN (validation refuses one).
    return a.blocks == b.blocks && a.d_model == b.d_model && a.ffn_dim == b.ffn_dim &&
           a.conv_kernel == b.conv_kernel && a.conv_dilation == b.conv_dilation &&
           a.conv_activation == b.conv_activation && a.ffn_activation == b.ffn_activation && a.pool == b.pool &&
           a.norm_eps == b.norm_eps && a.rope_base == b.rope_base && a.attention == b.attention &&
           a.features == b.features;
  }
  friend constexpr bool operator!=(const Architecture& a, const Architecture& b) noexcept { return !(a == b); }
};

/// Name of an activation id ("relu", ...; "?" for an unknown one).
constexpr const char* activation_name(Activation a) noexcept {
  return a == Activation::identity ? "identity" : a == Activation::relu ? "relu" : a == Activation::gelu ? "gelu" : "?";
}
/// Name of a featuriser kind ("csi-amplitude", ...).
constexpr const char* feature_kind_name(FeatureKind k) noexcept {
  return k == FeatureKind::none            ? "none"
         : k == FeatureKind::csi_amplitude ? "csi-amplitude"
         : k == FeatureKind::node_features ? "node-features"
                                           : "?";
}

}  // namespace aether::rvne
