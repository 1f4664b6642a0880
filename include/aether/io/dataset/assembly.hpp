#pragma once
/// \file dataset/assembly.hpp
/// The dataset path put together (overview: io/dataset.hpp): `build_dataset`
/// runs every stage over the recordings -- featurise (dataset/series.hpp),
/// window and split (dataset/windows.hpp), fit and apply the standardisation
/// on the training part unless given (dataset/standardise.hpp), label and
/// map to classes (dataset/labels.hpp) -- and returns the labelled examples
/// of each part (`LabelledWindow`: the window's frames, copied, with a class
/// index; the order task adds a permuted copy per window, `permuted_frames`).
/// `to_json` reports the counts of every stage.
///
/// Inputs: recordings (io/csi_recording.hpp), DatasetOptions. Outputs: a
/// Dataset (config as applied, classes, series, windows, examples per part,
/// DatasetCounts). Throws as the stages, and invalid_data when the training
/// part has no labelled window and no classes were given, or the motion
/// task has no vitals to set a threshold.
///
/// Needs nlohmann-json (target `aether::io`). Thread safety: free functions
/// over values. Cost: O(frames * input_dim) for featurising and
/// standardising plus O(examples * window * input_dim) time and memory for
/// the examples' frames (each window is copied; overlapping windows copy
/// shared frames again).

#include <aether/error.hpp>
#include <aether/io/csi_recording.hpp>
#include <aether/io/dataset/labels.hpp>
#include <aether/io/dataset/series.hpp>
#include <aether/io/dataset/standardise.hpp>
#include <aether/io/dataset/windows.hpp>
#include <aether/io/featurizer.hpp>

#include <nlohmann/json.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aether::io {

// ---------------------------------------------------------------------------
// Examples: a window's frames
// ---------------------------------------------------------------------------

/// The frames of a window, `(window, input_dim)`.
inline FrameMatrix window_frames(const std::vector<Series>& series, const Window& w, std::size_t window) {
  return series[w.series].features.middleRows(static_cast<Eigen::Index>(w.first), static_cast<Eigen::Index>(window));
}

/// The order task's permuted copy: rows shuffled by a xorshift64* Fisher-Yates
/// seeded with `seed` (never the identity for 2 or more rows: a draw that
/// leaves every row in place is redrawn).
inline FrameMatrix permuted_frames(const FrameMatrix& x, std::uint64_t seed) {
  const std::size_t n = static_cast<std::size_t>(x.rows());
  std::vector<std::size_t> p(n);
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  if (s == 0) s = 1;
  auto next = [&s] {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  };
  bool identity = true;
  for (int attempt = 0; attempt < 16 && identity; ++attempt) {
    for (std::size_t i = 0; i < n; ++i) p[i] = i;
    for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[next() % i]);
    identity = n > 1;
    for (std::size_t i = 0; i < n && identity; ++i) identity = p[i] == i;
  }
  FrameMatrix y(x.rows(), x.cols());
  for (std::size_t i = 0; i < n; ++i) y.row(static_cast<Eigen::Index>(i)) = x.row(static_cast<Eigen::Index>(p[i]));
  return y;
}

// ---------------------------------------------------------------------------
// Everything together: recordings -> labelled examples per part
// ---------------------------------------------------------------------------

/// One labelled window ready for the trainer.
struct LabelledWindow {
  FrameMatrix frames;        ///< (window, input_dim)
  std::size_t label = 0;     ///< class index
  std::size_t window = 0;    ///< index into Dataset::windows
  bool permuted = false;     ///< order task: the permuted copy
};

/// How to turn recordings into examples.
struct DatasetOptions {
  Task task;
  WindowOptions windows;
  FeaturizerConfig features;       ///< offsets empty: fitted on the training part (train_blob), unless fit_standardisation is false
  /// false: `features` is used as given, empty offsets meaning no
  /// standardisation (a model that carries its featuriser: a version 2 blob).
  bool fit_standardisation = true;
  std::uint64_t seed = 1;          ///< order task permutations
  std::optional<double> motion_threshold;  ///< motion task: given (eval) or the training median (train)
  std::optional<ClassMap> classes;         ///< given (eval: from the sidecar) or from the training labels
};

/// What became of the data.
struct DatasetCounts {
  FeaturizeCounts frames;
  std::size_t windows = 0;
  SplitCounts split;
  LabelCounts labels;
  std::size_t unknown_label = 0;   ///< labelled windows whose class the model does not know
};

struct Dataset {
  FeaturizerConfig features;   ///< as applied (with the fitted offsets)
  double motion_threshold = std::numeric_limits<double>::quiet_NaN();
  ClassMap classes;
  std::vector<Series> series;
  std::vector<Window> windows;
  std::vector<LabelledWindow> train, validation, test;
  DatasetCounts counts;

  std::vector<LabelledWindow>& part(Part p) { return p == Part::train ? train : p == Part::validation ? validation : test; }
};

/// The per-series row ranges covered by the windows of `part`.
inline std::vector<RowRange> rows_of_part(const std::vector<Series>& series, const std::vector<Window>& windows,
                                          std::size_t window, Part part) {
  std::vector<RowRange> r(series.size());
  std::vector<bool> any(series.size(), false);
  std::vector<std::size_t> end(series.size(), 0);
  for (const Window& w : windows) {
    if (w.part != part) continue;
    if (!any[w.series]) r[w.series].first = w.first;
    any[w.series] = true;
    end[w.series] = std::max(end[w.series], w.first + window);
  }
  std::vector<RowRange> out;
  for (std::size_t s = 0; s < series.size(); ++s) {
    if (any[s]) out.push_back(RowRange{s, r[s].first, end[s] - r[s].first});
  }
  return out;
}

/// Builds the examples of every part. Without `options.features.offset` the
/// standardisation is fitted on the training part's frames (unless
/// `options.fit_standardisation` is false: then none is applied); without
/// `options.classes` the classes are the training labels (lexicographic).
/// Throws invalid_data when the training part has no labelled window and no
/// classes were given, or the motion task has no vitals to set a threshold.
inline Dataset build_dataset(const std::vector<Recording>& recordings, const DatasetOptions& o) {
  Dataset d;
  d.features = o.features;
  const bool fit = o.fit_standardisation && d.features.offset.empty();
  const std::size_t window = o.windows.window;
  for (std::size_t r = 0; r < recordings.size(); ++r) {
    std::vector<Series> s = featurize_recording(recordings[r], r, d.features, !fit, d.counts.frames);
    for (Series& x : s) d.series.push_back(std::move(x));
  }
  d.windows = make_windows(d.series, window, o.windows.stride);
  d.counts.windows = d.windows.size();
  d.counts.split = assign_split(d.series, d.windows, window, o.windows);
  if (fit) {
    fit_standardisation(d.features, d.series, rows_of_part(d.series, d.windows, window, Part::train));
    standardise_series(d.features, d.series);
    remove_baseline_series(d.features, d.series);  // step 6 follows step 5
  }
  std::vector<LabelRange> ranges;
  if (o.task.kind == TaskKind::labels) ranges = read_labels_csv(o.task.labels_csv);
  if (o.task.kind == TaskKind::motion) {
    d.motion_threshold = o.motion_threshold ? *o.motion_threshold
                                            : motion_median(recordings, d.series, d.windows, window, Part::train);
    if (std::isnan(d.motion_threshold)) {
      aether::detail::fail(Errc::invalid_data, "motion task: no vitals record at or before any training window");
    }
  }
  LabelSources src{&recordings, &ranges, d.motion_threshold};
  std::vector<std::optional<std::string>> labels(d.windows.size());
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < d.windows.size(); ++i) {
    if (d.windows[i].part == Part::none) continue;
    labels[i] = label_of(o.task, d.series, d.windows[i], window, src, d.counts.labels);
    if (labels[i] && d.windows[i].part == Part::train) seen.push_back(*labels[i]);
  }
  if (o.task.kind == TaskKind::order && !seen.empty()) seen.push_back(kOrderPermuted);
  if (o.classes) {
    d.classes = *o.classes;
  } else {
    d.classes = ClassMap::from_labels(seen);
    if (d.classes.names.empty()) {
      aether::detail::fail(Errc::invalid_data, "no labelled window in the training part (task " + o.task.name() + ")");
    }
  }
  for (std::size_t i = 0; i < d.windows.size(); ++i) {
    if (!labels[i]) continue;
    const Window& w = d.windows[i];
    std::vector<LabelledWindow>& out = d.part(w.part);
    if (o.task.kind == TaskKind::order) {
      const auto rec = d.classes.index(kOrderRecorded), per = d.classes.index(kOrderPermuted);
      if (!rec || !per) {
        ++d.counts.unknown_label;
        continue;
      }
      FrameMatrix f = window_frames(d.series, w, window);
      FrameMatrix p = permuted_frames(f, o.seed ^ (static_cast<std::uint64_t>(i) << 20));
      out.push_back(LabelledWindow{std::move(f), *rec, i, false});
      out.push_back(LabelledWindow{std::move(p), *per, i, true});
      continue;
    }
    const auto k = d.classes.index(*labels[i]);
    if (!k) {
      ++d.counts.unknown_label;
      continue;
    }
    out.push_back(LabelledWindow{window_frames(d.series, w, window), *k, i, false});
  }
  return d;
}

/// The counts as JSON (for the tools' reports).
inline nlohmann::json to_json(const DatasetCounts& c) {
  return {{"frames",
           {{"offered", c.frames.frames},
            {"used", c.frames.used},
            {"other_subcarrier_count", c.frames.filtered},
            {"all_null", c.frames.all_null},
            {"wrong_size", c.frames.wrong_size}}},
          {"windows", c.windows},
          {"split", {{"train", c.split.train}, {"validation", c.split.validation}, {"test", c.split.test},
                     {"crossing_a_cut", c.split.crossing}}},
          {"labels",
           {{"labelled", c.labels.labelled},
            {"no_meta_label", c.labels.no_meta_label},
            {"unlabelled", c.labels.unlabelled},
            {"straddling_two_labels", c.labels.straddling},
            {"no_vitals", c.labels.no_vitals},
            {"unknown_to_model", c.unknown_label}}}};
}

}  // namespace aether::io
