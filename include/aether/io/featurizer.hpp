#pragma once
/// \file featurizer.hpp
/// The featuriser: one CSI frame (or one node feature vector) -> `input_dim`
/// floats, the same code in training, evaluation and replay.
///
/// Core-safe: standard library only (no JSON, no Eigen), no allocation, no
/// state of its own (step 6's baseline is the caller's): a node runs it. Its constants (`FeaturizerConfig`) travel in
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
///     fitted on the training frames);
///  6. minus a causal baseline when `highpass` > 0 (version 2 blobs): the
///     exponential moving average of the same stream's earlier frames, time
///     constant `highpass` frames (`remove_baseline`). Unlike steps 1-5 it
///     has state, one baseline per stream (a node's frames in order), which
///     the caller keeps: the series featuriser (dataset/series.hpp) per
///     series, the node per node, csi_live per sending node. It removes what
///     drifts more slowly than ~highpass frames (a room's or a session's
///     level) and keeps what moves faster (the activity).
/// Node features (`FeatureSource::node_features`, name "node-features"): the
/// vector itself (length input_dim), then steps 5 and 6.
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
  std::uint16_t highpass = 0;   ///< step 6: baseline time constant in frames (0: off)

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

/// Step 6 in place on one frame's features `v` (a no-op when `highpass` is
/// 0). `baseline` (`measured_dim()` floats) and `seen` (frames of this
/// stream so far; 0 starts a stream) are the caller's state, updated here.
/// Per measured feature g: at the first frame `baseline[g] = v[g]`; then
/// `d = v[g] - baseline[g]`, `v[g] = d`, `baseline[g] += d / highpass`
/// (the first frame gives zeros). The constant feature stays 1. O(input_dim).
/// Split in two for a caller that may refuse the frame in between (the node:
/// `subtract_baseline`, then `update_baseline` only once the frame is taken).
inline void subtract_baseline(const FeaturizerConfig& c, float* baseline, std::uint64_t seen, float* v) noexcept {
  if (c.highpass == 0) return;
  for (std::size_t g = 0; g < c.measured_dim(); ++g) {
    if (seen == 0) baseline[g] = v[g];
    v[g] -= baseline[g];
  }
}
/// `d`: the frame's features after `subtract_baseline`.
inline void update_baseline(const FeaturizerConfig& c, float* baseline, std::uint64_t& seen, const float* d) noexcept {
  if (c.highpass == 0) return;
  const float rate = 1.0f / static_cast<float>(c.highpass);
  for (std::size_t g = 0; g < c.measured_dim(); ++g) baseline[g] += rate * d[g];
  ++seen;
}
inline void remove_baseline(const FeaturizerConfig& c, float* baseline, std::uint64_t& seen, float* v) noexcept {
  subtract_baseline(c, baseline, seen, v);
  update_baseline(c, baseline, seen, v);
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
