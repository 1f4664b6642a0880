#pragma once
/// \file rvne/tensors.hpp
/// The one tensor order of a model (`for_each_tensor`): every tensor's name,
/// shape and offset for v1 and v2 headers, and the section sizes derived from
/// it, in 64-bit saturating arithmetic. Pure, constexpr, allocation-free; the
/// codec (v2 layout checks), the model, the initialiser, the optimizer and
/// the `rvne` tool all walk it.

#include <aether/rvne/format.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace aether::rvne {

/// One tensor of the model layout: row-major `[rows][cols]` (x · W
/// convention; a vector is `[1][n]`), starting at element `offset` of the
/// weights (tensor) section.
struct MatrixShape {
  const char* name = "";    ///< "Wq", "bq", "conv.taps", ... (static string; docs/model.md lists them)
  int layer = -1;           ///< 0..layers-1, or -1 outside the layers (input projection, final norm, classifier)
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  std::uint64_t offset = 0; ///< first element (not byte), from the start of the tensor section
  bool trainable = true;    ///< false for the featuriser's standardisation constants

  /// rows * cols; each factor is at most 0xFFFF * 0xFFFF, so the product is exact.
  constexpr std::uint64_t elements() const noexcept { return rows * cols; }
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
/// `a` rounded up to a multiple of `m` (>= 1), saturating.
constexpr std::uint64_t sat_align(std::uint64_t a, std::uint64_t m) noexcept {
  const std::uint64_t r = a % m;
  return r == 0 ? a : sat_add(a, m - r);
}
}  // namespace detail

/// Bytes from a v2 blob's start to its tensor section (header + descriptor).
inline constexpr std::uint64_t kV2TensorStart = 128;
/// Every v2 tensor starts at a multiple of this many bytes from the blob's start.
inline constexpr std::uint64_t kV2TensorAlign = 16;

/// Values of one FastGRNN gate in the `NAME.gate.f32` packed layout for
/// input I and hidden H: 2*H*I + 2*H*H + 2*H + 2 (GATE.md;
/// `FastGrnnGate::packed_size` is checked against it in temporal_model.hpp).
constexpr std::uint64_t gate_packed_size(std::uint64_t input, std::uint64_t hidden) noexcept {
  return 2 * hidden * input + 2 * hidden * hidden + 2 * hidden + 2;
}

/// The one tensor order (docs/model.md "Tensors"): calls `f(MatrixShape)`
/// for every tensor of `h`, in the order the codec stores them, the
/// initialiser draws them, the optimizer walks them and the model binds
/// them. v1 (every block off): per layer Wq [D][Hq*d], Wk [D][Hkv*d],
/// Wv [D][Hkv*d], Wo [Hq*d][D], then Wc [D][C], packed back to back (the
/// reference's layout). v2, each tensor starting at a multiple of 16 bytes
/// from the blob's start (zero padding between):
///   features.offset, features.scale [1][input_dim]   (standardised featuriser; not trainable)
///   W_in [input_dim][d], b_in [1][d]                   (input projection)
///   per layer: conv.norm [1][d] (norm), conv.taps [k][d], conv.bias [1][d]   (conv)
///              attn.norm [1][d] (norm), Wq, bq [1][Hq*dh] (qkv bias), Wk, bk, Wv, bv,
///              Wo, bo [1][d] (out bias), gate [1][packed] (gated)
///              ffn.norm [1][d] (norm), W1 [d][f], b1 [1][f], W2 [f][d], b2 [1][d]   (ffn)
///   final.norm [1][d] (norm), Wc [d][C], bc [1][C] (classifier bias)
/// Offsets in 64-bit, saturating (an absurd header cannot wrap). Returns
/// the section's length in elements (the end of the last tensor). No
/// allocation; O(layers) calls.
template <class F>
constexpr std::uint64_t for_each_tensor(const Header& h, F&& f) {
  const bool v2 = h.version == kVersion2;
  const Architecture& a = h.arch;
  const std::uint64_t align = v2 ? kV2TensorAlign / element_size(h.dtype) : 1;
  const std::uint64_t D = h.input_dim, d = h.model_dim(), q = std::uint64_t{h.q_heads} * h.head_dim,
                      kv = std::uint64_t{h.kv_heads} * h.head_dim, C = h.classes;
  std::uint64_t at = 0;
  auto emit = [&](const char* name, int layer, std::uint64_t rows, std::uint64_t cols, bool trainable = true) {
    at = detail::sat_align(at, align);
    MatrixShape m;
    m.name = name;
    m.layer = layer;
    m.rows = rows;
    m.cols = cols;
    m.offset = at;
    m.trainable = trainable;
    f(static_cast<const MatrixShape&>(m));
    at = detail::sat_add(at, rows * cols);
  };
  if (v2 && (a.features.flags & kFeatureStandardised) != 0) {
    emit("features.offset", -1, 1, D, false);
    emit("features.scale", -1, 1, D, false);
  }
  if (v2 && a.has(kBlockInputProjection)) {
    emit("W_in", -1, D, d);
    emit("b_in", -1, 1, d);
  }
  const bool norm = v2 && a.has(kBlockNorm);
  for (int l = 0; l < static_cast<int>(h.layers); ++l) {
    if (v2 && a.has(kBlockConv)) {
      if (norm) emit("conv.norm", l, 1, d);
      emit("conv.taps", l, a.conv_kernel, d);
      emit("conv.bias", l, 1, d);
    }
    if (norm) emit("attn.norm", l, 1, d);
    const bool qkv_bias = v2 && a.has(kBlockQkvBias);
    emit("Wq", l, d, q);
    if (qkv_bias) emit("bq", l, 1, q);
    emit("Wk", l, d, kv);
    if (qkv_bias) emit("bk", l, 1, kv);
    emit("Wv", l, d, kv);
    if (qkv_bias) emit("bv", l, 1, kv);
    emit("Wo", l, q, d);
    if (v2 && a.has(kBlockOutBias)) emit("bo", l, 1, d);
    if (v2 && a.attention.gate != GateKind::none) emit("gate", l, 1, gate_packed_size(h.head_dim, a.attention.gate_hidden));
    if (v2 && a.has(kBlockFfn)) {
      if (norm) emit("ffn.norm", l, 1, d);
      emit("W1", l, d, a.ffn_dim);
      emit("b1", l, 1, a.ffn_dim);
      emit("W2", l, a.ffn_dim, d);
      emit("b2", l, 1, d);
    }
  }
  if (norm) emit("final.norm", -1, 1, d);
  emit("Wc", -1, d, C);
  if (v2 && a.has(kBlockClassifierBias)) emit("bc", -1, 1, C);
  return at;
}

/// Number of tensors in the layout (v1: 4 per layer plus the classifier).
constexpr std::uint64_t matrix_count(const Header& h) noexcept {
  std::uint64_t n = 0;
  for_each_tensor(h, [&n](const MatrixShape&) { ++n; });
  return n;
}

/// Tensor `index` (0 <= index < matrix_count(h)) in layout order; a
/// default `MatrixShape` beyond the end. No allocation; O(index).
inline MatrixShape matrix_shape(const Header& h, std::uint64_t index) noexcept {
  MatrixShape out;
  std::uint64_t i = 0;
  for_each_tensor(h, [&](const MatrixShape& m) {
    if (i++ == index) out = m;
  });
  return out;
}

/// Elements of the tensor section (padding included), computed in 64-bit and
/// saturating at UINT64_MAX (a 0xFFFF-everywhere header would overflow 64
/// bits). v1: L * (2*D*Hq*d + 2*D*Hkv*d) + D*C, 10,304 for
/// Header::aether_default().
constexpr std::uint64_t layout_elements(const Header& h) noexcept {
  return for_each_tensor(h, [](const MatrixShape&) {});
}

/// Bytes of the tensor section for h.dtype, saturating at UINT64_MAX.
constexpr std::uint64_t layout_bytes(const Header& h) noexcept {
  return detail::sat_mul(layout_elements(h), element_size(h.dtype));
}

static_assert(layout_elements(Header::aether_default()) == 10304, "AETHER default layout is 10,304 elements");
static_assert(layout_bytes(Header::aether_default()) == 41216, "AETHER default fp32 weights are 41,216 bytes");

}  // namespace aether::rvne
