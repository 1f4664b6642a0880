#pragma once
/// \file dataset/series.hpp
/// Stage 1 of the dataset path (overview: io/dataset.hpp): featurising.
/// `featurize_recording` passes each node's kept frames (or feature records,
/// per `FeaturizerConfig::source`) through the featuriser (io/featurizer.hpp)
/// -> one `Series` per node: frame times, recording lines and a `(frames,
/// input_dim)` feature matrix. Frames the featuriser refuses are counted in
/// `FeaturizeCounts`, never dropped silently.
///
/// Inputs: a Recording (io/csi_recording.hpp), its index, a FeaturizerConfig.
/// Outputs: std::vector<Series> (ascending node id); counts added to.
///
/// Thread safety: free functions over values; `counts` is written, so give
/// concurrent calls their own. Cost: O(frames * input_dim) time, one
/// `(frames, input_dim)` float matrix per node (allocated for every frame
/// offered, then trimmed to the rows kept).

#include <aether/io/csi_recording.hpp>
#include <aether/io/featurizer.hpp>
#include <aether/temporal_model.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace aether::io {

using FrameMatrix = TemporalModel<float>::Matrix;

// ---------------------------------------------------------------------------
// 1. Series
// ---------------------------------------------------------------------------

/// One node's featurised frames (one row per frame that gave features).
struct Series {
  std::size_t recording = 0;   ///< index into the caller's recordings
  std::int64_t node_id = 0;
  std::vector<double> times;   ///< per row
  std::vector<std::size_t> lines;  ///< per row: line in the recording
  FrameMatrix features;        ///< (rows, input_dim)
};

/// Frames the featuriser gave nothing for.
struct FeaturizeCounts {
  std::size_t frames = 0;       ///< frames offered
  std::size_t used = 0;         ///< rows produced
  std::size_t filtered = 0;     ///< other subcarrier count than `config.subcarriers`
  std::size_t all_null = 0;     ///< no non-null subcarrier
  std::size_t wrong_size = 0;   ///< node feature vector of another length than input_dim
};

/// Step 6 on every row of one series, in order: the series is one stream,
/// its baseline starts at its first row. A no-op when `highpass` is 0.
inline void remove_baseline(const FeaturizerConfig& c, Series& s) {
  if (c.highpass == 0) return;
  std::vector<float> baseline(c.input_dim);
  std::uint64_t seen = 0;
  for (Eigen::Index i = 0; i < s.features.rows(); ++i) {
    remove_baseline(c, baseline.data(), seen, s.features.data() + i * s.features.cols());
  }
}

/// Featurises one node's records (frames or feature records per `c.source`).
/// `standardised` false leaves steps 5 and 6 out (used before the offsets
/// are fitted; `remove_baseline_series` then does step 6).
inline Series featurize_node(const NodeRecords& n, std::size_t recording, const FeaturizerConfig& c,
                             bool standardised, FeaturizeCounts& counts) {
  Series s;
  s.recording = recording;
  s.node_id = n.node_id;
  const std::size_t total = c.source == FeatureSource::node_features ? n.features.size() : n.frames.size();
  FrameMatrix m(static_cast<Eigen::Index>(total), static_cast<Eigen::Index>(c.input_dim));
  std::size_t rows = 0;
  for (std::size_t i = 0; i < total; ++i) {
    float* out = m.data() + rows * c.input_dim;
    FrameResult r;
    double t;
    std::size_t line;
    if (c.source == FeatureSource::node_features) {
      const FeatureRecord& f = n.features[i];
      r = featurize_vector(c, f.features.data(), f.features.size(), out, standardised);
      t = f.timestamp;
      line = f.line;
    } else {
      const CsiFrame& f = n.frames[i];
      r = f.iq.empty() ? featurize_amplitude(c, f.amplitude.data(), f.amplitude.size(), out, standardised)
                       : featurize_iq(c, f.iq.data(), f.subcarriers, out, standardised);
      t = f.timestamp;
      line = f.line;
    }
    ++counts.frames;
    switch (r) {
      case FrameResult::ok:
        ++rows;
        ++counts.used;
        s.times.push_back(t);
        s.lines.push_back(line);
        break;
      case FrameResult::filtered: ++counts.filtered; break;
      case FrameResult::all_null: ++counts.all_null; break;
      case FrameResult::wrong_size: ++counts.wrong_size; break;
    }
  }
  s.features = m.topRows(static_cast<Eigen::Index>(rows));
  if (standardised) remove_baseline(c, s);
  return s;
}

/// Step 6 on every row of every series, each series a stream of its own
/// (after `standardise_series`, for series featurised unstandardised).
inline void remove_baseline_series(const FeaturizerConfig& c, std::vector<Series>& series) {
  for (Series& s : series) remove_baseline(c, s);
}

/// Every node of a recording (ascending node id).
inline std::vector<Series> featurize_recording(const Recording& r, std::size_t recording, const FeaturizerConfig& c,
                                               bool standardised, FeaturizeCounts& counts) {
  std::vector<Series> out;
  for (const NodeRecords& n : r.nodes) out.push_back(featurize_node(n, recording, c, standardised, counts));
  return out;
}

}  // namespace aether::io
