#pragma once
/// \file featurizer.hpp
/// The featuriser: one CSI frame (or one node feature vector) -> `input_dim`
/// floats, the same code in training, evaluation and replay.
///
/// Core-safe: standard library only (no JSON, no Eigen), no allocation, no
/// state: a node could run it. Its constants (`FeaturizerConfig`) travel in
/// the sidecar's `features` key (see io/dataset/features_json.hpp for the JSON form).
///
/// CSI amplitude (`FeatureSource::csi_amplitude`, name "csi-amplitude", version 1):
///  1. amplitude `sqrt(i^2 + q^2)` of every subcarrier (the older recording
///     form gives amplitudes directly);
///  2. the non-null subcarriers (amplitude != 0; guard bands and DC are zero
///     pairs) in their recorded order, n of them, pooled into `input_dim`
///     groups: subcarrier j goes to group floor(j * input_dim / n) and a
///     group is the mean of its members (n < input_dim: group g takes
///     subcarrier floor(g * n / input_dim));
///  3. `log1p` of each group when `log_amplitude`;
///  4. minus the mean over groups when `centre_frame` (removes the frame's
///     gain, e.g. AGC steps);
///  5. `(v - offset[g]) * scale[g]` when offsets are set (standardisation,
///     fitted on the training frames).
/// Node features (`FeatureSource::node_features`, name "node-features"): the
/// vector itself (length input_dim), then step 5.
///
/// With `constant_feature` (featuriser version 2) the last of the input_dim
/// features is the constant 1: steps 2-4 (or the node vector, then of length
/// input_dim - 1) fill the first input_dim - 1, and step 5 applies to all
/// input_dim (a fitted standardisation gives the constant offset 0, scale 1).
/// The model (MODEL.md) has no bias terms; this feature gives every
/// projection one, which lets attention weigh keys by their own values (a
/// constant query) and the classifier threshold a pooled statistic.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace aether::io {

/// What a frame is made of.
enum class FeatureSource : std::uint8_t {
  csi_amplitude,  ///< raw_csi frames (or the older amplitude form)
  node_features,  ///< the node's ~1 Hz `feature` records
};

/// The featuriser's constants (everything needed to reproduce it bit for bit).
struct FeaturizerConfig {
  FeatureSource source = FeatureSource::csi_amplitude;
  std::size_t input_dim = 16;   ///< features per frame (the model's input_dim)
  bool log_amplitude = true;    ///< step 3
  bool centre_frame = true;     ///< step 4
  std::uint32_t subcarriers = 0;  ///< use only frames with this subcarrier count (0: all)
  bool constant_feature = false;  ///< the last feature is the constant 1 (input_dim >= 2; version 2)
  std::vector<float> offset;    ///< step 5: input_dim values, or empty (no standardisation)
  std::vector<float> scale;     ///< step 5: input_dim values, or empty

  /// Name recorded in the sidecar.
  const char* name() const noexcept { return source == FeatureSource::node_features ? "node-features" : "csi-amplitude"; }
  /// Features computed from the frame: input_dim, less the constant one.
  std::size_t measured_dim() const noexcept { return constant_feature && input_dim > 0 ? input_dim - 1 : input_dim; }
  /// Version recorded in the sidecar: 2 with the constant feature (a reader
  /// that knows only version 1 then refuses the sidecar instead of computing
  /// other features), 1 otherwise.
  std::uint32_t version() const noexcept { return constant_feature ? 2u : 1u; }
};

/// Why a frame gave no features.
enum class FrameResult : std::uint8_t {
  ok,
  filtered,    ///< its subcarrier count is not `config.subcarriers`
  all_null,    ///< no non-null subcarrier (or no room for a measured feature)
  wrong_size,  ///< a node feature vector whose length is not `measured_dim()`
};

namespace detail {

/// Steps 2-5 over amplitudes produced by `amp(j)` for j < count (a
/// subcarrier is null when its amplitude is 0). Two passes, no allocation.
template <class Amp>
FrameResult pool_amplitudes(const FeaturizerConfig& c, std::size_t count, Amp&& amp, float* out) {
  const std::size_t d = c.measured_dim();
  std::size_t n = 0;
  for (std::size_t j = 0; j < count; ++j) n += amp(j) != 0.0f ? 1 : 0;
  if (n == 0 || d == 0) return FrameResult::all_null;
  for (std::size_t g = 0; g < d; ++g) out[g] = 0.0f;
  if (n >= d) {
    std::size_t k = 0;      // index among non-null subcarriers
    std::size_t group = 0;  // current group
    std::size_t in_group = 0;
    float sum = 0.0f;
    for (std::size_t j = 0; j < count; ++j) {
      const float a = amp(j);
      if (a == 0.0f) continue;
      const std::size_t g = k * d / n;
      if (g != group) {
        out[group] = sum / static_cast<float>(in_group);
        group = g;
        sum = 0.0f;
        in_group = 0;
      }
      sum += a;
      ++in_group;
      ++k;
    }
    out[group] = sum / static_cast<float>(in_group);
  } else {
    std::size_t k = 0;
    std::size_t g = 0;
    for (std::size_t j = 0; j < count && g < d; ++j) {
      const float a = amp(j);
      if (a == 0.0f) continue;
      while (g < d && g * n / d == k) out[g++] = a;
      ++k;
    }
  }
  if (c.log_amplitude) {
    for (std::size_t g = 0; g < d; ++g) out[g] = std::log1p(out[g]);
  }
  if (c.centre_frame) {
    float mean = 0.0f;
    for (std::size_t g = 0; g < d; ++g) mean += out[g];
    mean /= static_cast<float>(d);
    for (std::size_t g = 0; g < d; ++g) out[g] -= mean;
  }
  if (c.constant_feature) out[d] = 1.0f;
  return FrameResult::ok;
}

}  // namespace detail

/// Step 5 in place (a no-op without offsets).
inline void standardise(const FeaturizerConfig& c, float* v) noexcept {
  if (c.offset.size() != c.input_dim || c.scale.size() != c.input_dim) return;
  for (std::size_t g = 0; g < c.input_dim; ++g) v[g] = (v[g] - c.offset[g]) * c.scale[g];
}

/// Features of a raw_csi frame: `iq` holds 2 * `subcarriers` signed bytes as
/// sent (amplitude does not depend on which of a pair is I). Writes
/// `input_dim` floats to `out` when it returns `FrameResult::ok`.
inline FrameResult featurize_iq(const FeaturizerConfig& c, const std::int8_t* iq, std::size_t subcarriers, float* out,
                                bool standardised = true) {
  if (c.subcarriers != 0 && subcarriers != c.subcarriers) return FrameResult::filtered;
  const FrameResult r = detail::pool_amplitudes(
      c, subcarriers,
      [iq](std::size_t j) {
        const float a = static_cast<float>(iq[2 * j]), b = static_cast<float>(iq[2 * j + 1]);
        return std::sqrt(a * a + b * b);
      },
      out);
  if (r == FrameResult::ok && standardised) standardise(c, out);
  return r;
}

/// Features of an amplitude-form frame (`count` amplitudes).
inline FrameResult featurize_amplitude(const FeaturizerConfig& c, const float* amplitude, std::size_t count, float* out,
                                       bool standardised = true) {
  if (c.subcarriers != 0 && count != c.subcarriers) return FrameResult::filtered;
  const FrameResult r = detail::pool_amplitudes(
      c, count, [amplitude](std::size_t j) { return std::fabs(amplitude[j]); }, out);
  if (r == FrameResult::ok && standardised) standardise(c, out);
  return r;
}

/// Features of a node feature vector (`count` must be `measured_dim()`).
inline FrameResult featurize_vector(const FeaturizerConfig& c, const float* values, std::size_t count, float* out,
                                    bool standardised = true) {
  if (count != c.measured_dim()) return FrameResult::wrong_size;
  if (count == 0) return FrameResult::all_null;
  for (std::size_t g = 0; g < count; ++g) out[g] = values[g];
  if (c.constant_feature) out[count] = 1.0f;
  if (standardised) standardise(c, out);
  return FrameResult::ok;
}

}  // namespace aether::io
