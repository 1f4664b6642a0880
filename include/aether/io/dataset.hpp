#pragma once
/// \file dataset.hpp
/// Recordings -> labelled windows, the one path shared by `train_blob`,
/// `eval_blob` and `csi_replay`:
///
/// 1. `featurize_recording`: per node, each kept frame through the
///    featuriser (io/featurizer.hpp) -> a `Series` (times + `(frames,
///    input_dim)` features). Frames the featuriser refuses are counted.
/// 2. `make_windows`: per series, windows of `window` frames starting at
///    0, stride, 2 stride, ... (a replay classifies each node's latest window
///    exactly at those frames). Nodes are never mixed.
/// 3. `assign_split`: a time-ordered split per recording (fractions of its
///    time span: train | validation | test, in that order); windows crossing
///    a cut are dropped and counted, so no frame is in two parts.
/// 4. `label_windows`: the task (`meta`, `labels=CSV`, `motion`, `order`)
///    names each window's class, or skips it with a counted reason.
/// 5. `ClassMap`: class names seen in training, lexicographic.
///
/// Also the featuriser's JSON form for the sidecar (`features_to_json`,
/// `features_from_json`) and the labels CSV reader.
///
/// Needs nlohmann-json (target `aether::io`). Thread safety: free functions
/// over values.

#include <aether/error.hpp>
#include <aether/io/csi_recording.hpp>
#include <aether/io/featurizer.hpp>
#include <aether/io/sidecar.hpp>
#include <aether/temporal_model.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace aether::io {

using FrameMatrix = TemporalModel<float>::Matrix;

// ---------------------------------------------------------------------------
// Featuriser constants <-> JSON (the sidecar's `features`)
// ---------------------------------------------------------------------------

inline FeatureSpec features_to_json(const FeaturizerConfig& c) {
  FeatureSpec s;
  s.name = c.name();
  s.version = c.version();
  s.constants = {{"input_dim", c.input_dim},
                 {"log_amplitude", c.log_amplitude},
                 {"centre_frame", c.centre_frame},
                 {"subcarriers", c.subcarriers},
                 {"offset", c.offset},
                 {"scale", c.scale}};
  if (c.constant_feature) s.constants["constant_feature"] = true;
  return s;
}

/// Throws invalid_sidecar naming the bad `features.*` key.
inline FeaturizerConfig features_from_json(const FeatureSpec& s, const std::string& where = "") {
  FeaturizerConfig c;
  if (s.name == "csi-amplitude") {
    c.source = FeatureSource::csi_amplitude;
  } else if (s.name == "node-features") {
    c.source = FeatureSource::node_features;
  } else {
    detail::bad_key(where, "features.name", "unknown featuriser \"" + s.name + "\"");
  }
  if (s.version != 1 && s.version != 2) {
    detail::bad_key(where, "features.version", "version " + std::to_string(s.version) + " is not 1 or 2");
  }
  const nlohmann::json& k = s.constants;
  auto flag = [&](const char* key, bool& out) {
    if (!k.contains(key)) return;
    if (!k[key].is_boolean()) detail::bad_key(where, std::string("features.constants.") + key, "expected true or false");
    out = k[key].get<bool>();
  };
  auto floats = [&](const char* key, std::vector<float>& out) {
    if (!k.contains(key)) return;
    const std::string name = std::string("features.constants.") + key;
    if (!k[key].is_array()) detail::bad_key(where, name, "expected an array of numbers, found " + shown(k[key]));
    for (std::size_t i = 0; i < k[key].size(); ++i) {
      out.push_back(detail::get_float(k[key][i], where, name + "[" + std::to_string(i) + "]"));
    }
  };
  if (!k.contains("input_dim")) detail::bad_key(where, "features.constants.input_dim", "missing");
  c.input_dim = detail::get_size(k["input_dim"], where, "features.constants.input_dim");
  if (c.input_dim == 0 || c.input_dim > 0xFFFF) {  // a blob's input_dim is 16-bit
    detail::bad_key(where, "features.constants.input_dim",
                    std::to_string(c.input_dim) + " is outside 1 ... 65535 (a blob's input_dim)");
  }
  flag("log_amplitude", c.log_amplitude);
  flag("centre_frame", c.centre_frame);
  flag("constant_feature", c.constant_feature);
  if (c.version() != s.version) {
    detail::bad_key(where, "features.version",
                    "version " + std::to_string(s.version) + (c.constant_feature ? " has no constant_feature (version 2)"
                                                                                 : " needs constant_feature true"));
  }
  if (c.constant_feature && c.input_dim < 2) {
    detail::bad_key(where, "features.constants.input_dim", "must be at least 2 with constant_feature");
  }
  if (k.contains("subcarriers")) {
    const std::size_t n = detail::get_size(k["subcarriers"], where, "features.constants.subcarriers");
    if (n > 0xFFFF) {
      detail::bad_key(where, "features.constants.subcarriers",
                      std::to_string(n) + " is more than a frame can have (65535; 0 = every count)");
    }
    c.subcarriers = static_cast<std::uint32_t>(n);
  }
  floats("offset", c.offset);
  floats("scale", c.scale);
  if (c.offset.size() != c.scale.size() || (!c.offset.empty() && c.offset.size() != c.input_dim)) {
    detail::bad_key(where, "features.constants.offset", "offset and scale must both hold input_dim values or be empty");
  }
  return c;
}

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

/// Featurises one node's records (frames or feature records per `c.source`).
/// `standardised` false leaves step 5 out (used before the offsets are fitted).
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
  return s;
}

/// Every node of a recording (ascending node id).
inline std::vector<Series> featurize_recording(const Recording& r, std::size_t recording, const FeaturizerConfig& c,
                                               bool standardised, FeaturizeCounts& counts) {
  std::vector<Series> out;
  for (const NodeRecords& n : r.nodes) out.push_back(featurize_node(n, recording, c, standardised, counts));
  return out;
}

/// Fits step 5 (per-feature mean and 1/std, std below 1e-6 -> scale 1) on the
/// rows of `series` that belong to the windows given by `rows_used` (pairs of
/// series index and row range), in double for a stable sum.
struct RowRange {
  std::size_t series = 0, first = 0, count = 0;
};
inline void fit_standardisation(FeaturizerConfig& c, const std::vector<Series>& series,
                                const std::vector<RowRange>& rows_used) {
  const std::size_t d = c.input_dim;
  std::vector<double> sum(d, 0.0), sq(d, 0.0);
  std::size_t n = 0;
  for (const RowRange& r : rows_used) {
    const Series& s = series[r.series];
    for (std::size_t i = r.first; i < r.first + r.count; ++i) {
      for (std::size_t g = 0; g < d; ++g) {
        const double v = s.features(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(g));
        sum[g] += v;
        sq[g] += v * v;
      }
      ++n;
    }
  }
  c.offset.assign(d, 0.0f);
  c.scale.assign(d, 1.0f);
  if (n == 0) return;
  for (std::size_t g = 0; g < d; ++g) {
    const double mean = sum[g] / static_cast<double>(n);
    const double var = std::max(0.0, sq[g] / static_cast<double>(n) - mean * mean);
    const double sd = std::sqrt(var);
    c.offset[g] = static_cast<float>(mean);
    c.scale[g] = sd > 1e-6 ? static_cast<float>(1.0 / sd) : 1.0f;
  }
  if (c.constant_feature) {  // the constant stays 1
    c.offset[d - 1] = 0.0f;
    c.scale[d - 1] = 1.0f;
  }
}

/// Applies step 5 to every row (same arithmetic as `standardise`).
inline void standardise_series(const FeaturizerConfig& c, std::vector<Series>& series) {
  for (Series& s : series) {
    for (Eigen::Index i = 0; i < s.features.rows(); ++i) standardise(c, s.features.data() + i * s.features.cols());
  }
}

// ---------------------------------------------------------------------------
// 2. Windows and 3. the time-ordered split
// ---------------------------------------------------------------------------

/// Which part of the time-ordered split a window belongs to.
enum class Part : std::uint8_t { train, validation, test, none };

/// A window: rows [first, first + window) of one series.
struct Window {
  std::size_t series = 0;
  std::size_t first = 0;
  Part part = Part::train;
};

/// Window size and step, and the split fractions (of each recording's time
/// span: train | validation | test, in time order).
struct WindowOptions {
  std::size_t window = 32;
  std::size_t stride = 8;
  double validation_fraction = 0.15;  ///< of the part before the test cut
  double test_fraction = 0.25;
};

/// Throws invalid_argument naming the values unless 1 <= window, stride <=
/// kMaxWindow (io/sidecar.hpp).
inline void check_window(std::size_t window, std::size_t stride) {
  if (window == 0 || stride == 0 || window > kMaxWindow || stride > kMaxWindow) {
    aether::detail::fail(Errc::invalid_argument, "window " + std::to_string(window) + " and stride " +
                                                     std::to_string(stride) + " must both lie in 1 ... " +
                                                     std::to_string(kMaxWindow) + " frames");
  }
}

/// Windows of every series, in series then time order (part = train).
/// Throws as `check_window`.
inline std::vector<Window> make_windows(const std::vector<Series>& series, std::size_t window, std::size_t stride) {
  check_window(window, stride);
  std::vector<Window> out;
  for (std::size_t s = 0; s < series.size(); ++s) {
    const std::size_t n = static_cast<std::size_t>(series[s].features.rows());
    if (n < window) continue;
    // first <= n - window throughout: the step is taken only while it stays there (no wrap).
    for (std::size_t first = 0;; first += stride) {
      out.push_back(Window{s, first, Part::train});
      if (n - window - first < stride) break;
    }
  }
  return out;
}

/// Per recording: the time span of its series, and the two cuts.
struct SplitCounts {
  std::size_t train = 0, validation = 0, test = 0;
  std::size_t crossing = 0;  ///< windows dropped because they cross a cut
};

/// Sets each window's part by its first and last frame time against the
/// cuts of its recording: train before `a`, validation in [a, b), test from
/// `b`, where b = t0 + (1 - test_fraction) span and a = t0 + (1 -
/// validation_fraction)(b - t0). A window with frames on both sides of a cut
/// gets Part::none (counted in `crossing`).
inline SplitCounts assign_split(const std::vector<Series>& series, std::vector<Window>& windows, std::size_t window,
                                const WindowOptions& o) {
  if (!(o.test_fraction >= 0 && o.test_fraction < 1 && o.validation_fraction >= 0 && o.validation_fraction < 1)) {
    aether::detail::fail(Errc::invalid_argument, "split fractions must lie in [0, 1): test " +
                                                     std::to_string(o.test_fraction) + ", validation " +
                                                     std::to_string(o.validation_fraction));
  }
  std::map<std::size_t, std::pair<double, double>> span;  // recording -> (t0, t1)
  for (const Series& s : series) {
    if (s.times.empty()) continue;
    auto it = span.find(s.recording);
    if (it == span.end()) {
      span[s.recording] = {s.times.front(), s.times.back()};
    } else {
      it->second.first = std::min(it->second.first, s.times.front());
      it->second.second = std::max(it->second.second, s.times.back());
    }
  }
  SplitCounts c;
  for (Window& w : windows) {
    const Series& s = series[w.series];
    const auto [t0, t1] = span[s.recording];
    const double b = o.test_fraction > 0 ? t0 + (1.0 - o.test_fraction) * (t1 - t0) : std::numeric_limits<double>::infinity();
    const double a = o.validation_fraction > 0 ? t0 + (1.0 - o.validation_fraction) * (std::min(b, t1) - t0) : b;
    auto part_of = [&](double t) { return t < a ? Part::train : (t < b ? Part::validation : Part::test); };
    const Part p0 = part_of(s.times[w.first]), p1 = part_of(s.times[w.first + window - 1]);
    if (p0 != p1) {
      w.part = Part::none;
      ++c.crossing;
      continue;
    }
    w.part = p0;
    (p0 == Part::train ? c.train : p0 == Part::validation ? c.validation : c.test) += 1;
  }
  return c;
}

// ---------------------------------------------------------------------------
// 4. Tasks and labels
// ---------------------------------------------------------------------------

enum class TaskKind : std::uint8_t { meta, labels, motion, order };

/// A task: `meta`, `labels=CSV`, `motion` or `order`.
struct Task {
  TaskKind kind = TaskKind::meta;
  std::filesystem::path labels_csv;  ///< for TaskKind::labels

  std::string name() const {
    switch (kind) {
      case TaskKind::meta: return "meta";
      case TaskKind::labels: return "labels";
      case TaskKind::motion: return "motion";
      case TaskKind::order: return "order";
    }
    return "?";
  }
};

/// Parses a `--task` value; invalid_argument naming it otherwise.
inline Task parse_task(const std::string& s) {
  Task t;
  if (s == "meta") {
    t.kind = TaskKind::meta;
  } else if (s == "motion") {
    t.kind = TaskKind::motion;
  } else if (s == "order") {
    t.kind = TaskKind::order;
  } else if (s.rfind("labels=", 0) == 0 && s.size() > 7) {
    t.kind = TaskKind::labels;
    t.labels_csv = s.substr(7);
  } else {
    aether::detail::fail(Errc::invalid_argument, "task \"" + s + "\": expected meta, motion, order or labels=CSV");
  }
  return t;
}

/// One row of a labels CSV: frames with start <= t < end are `label`.
struct LabelRange {
  double start = 0, end = 0;
  std::string label;
};

namespace detail {
/// `s` as a double when the whole string is one number strtod accepts
/// (leading blanks allowed, as std::stod) and in range; false otherwise.
/// No exceptions: the caller reports the error through detail::fail.
inline bool whole_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || end != s.c_str() + s.size() || errno == ERANGE) return false;
  out = v;
  return true;
}

/// `s` without leading and trailing spaces and tabs.
inline std::string trimmed(const std::string& s) {
  const std::size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return {};
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}
}  // namespace detail

/// Longest labels CSV line read (64 KiB).
inline constexpr std::size_t kMaxLabelsLineBytes = std::size_t{1} << 16;

/// Reads a labels CSV: `start,end,label` per line (Unix seconds, a class
/// name), an optional header line starting with "start", blank lines and
/// lines starting with '#' ignored. Spaces and tabs around each field are
/// removed (`10, 12, walk ` is the range [10, 12) of class "walk"; a
/// label's inner spaces stay). start and end must be finite numbers with
/// end > start; a line is at most kMaxLabelsLineBytes. Throws io_error /
/// invalid_data naming the file, line and value. Ranges are sorted by
/// start; overlapping ranges are invalid_data.
inline std::vector<LabelRange> read_labels_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) aether::detail::fail(Errc::io_error, path.string() + ": cannot open for reading");
  std::vector<LabelRange> out;
  std::string line;
  std::size_t no = 0;
  bool too_long = false;
  while (detail::next_line(in, line, kMaxLabelsLineBytes, too_long)) {
    ++no;
    if (too_long) {
      aether::detail::fail(Errc::invalid_data, path.string() + ":" + std::to_string(no) + ": line longer than " +
                                                   std::to_string(kMaxLabelsLineBytes) + " bytes");
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    if (no == 1 && line.rfind("start", 0) == 0) continue;
    const std::string where = path.string() + ":" + std::to_string(no) + ": ";
    const std::size_t c1 = line.find(','), c2 = c1 == std::string::npos ? c1 : line.find(',', c1 + 1);
    if (c2 == std::string::npos) aether::detail::fail(Errc::invalid_data, where + "expected start,end,label");
    LabelRange r;
    const std::string start = detail::trimmed(line.substr(0, c1));
    const std::string end = detail::trimmed(line.substr(c1 + 1, c2 - c1 - 1));
    auto number = [&where](const char* name, const std::string& text, double& value) {
      if (!detail::whole_number(text, value) || !std::isfinite(value)) {
        aether::detail::fail(Errc::invalid_data,
                             where + name + " \"" + text + "\" is not a finite number (Unix seconds)");
      }
    };
    number("start", start, r.start);
    number("end", end, r.end);
    r.label = detail::trimmed(line.substr(c2 + 1));
    if (r.label.empty() || r.label.find(',') != std::string::npos) {
      aether::detail::fail(Errc::invalid_data, where + "label must be one non-empty name");
    }
    if (!(r.end > r.start)) {
      aether::detail::fail(Errc::invalid_data, where + "end " + end + " must be after start " + start);
    }
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const LabelRange& x, const LabelRange& y) { return x.start < y.start; });
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].start < out[i - 1].end) {
      aether::detail::fail(Errc::invalid_data, path.string() + ": ranges overlap at start " +
                                                   std::to_string(out[i].start));
    }
  }
  return out;
}

/// Why a window has no label. Every window ends up labelled or in one of these.
struct LabelCounts {
  std::size_t labelled = 0;
  std::size_t no_meta_label = 0;  ///< meta: the recording has no meta label
  std::size_t unlabelled = 0;     ///< labels: a frame outside every range
  std::size_t straddling = 0;     ///< labels: first and last frame in different ranges
  std::size_t no_vitals = 0;      ///< motion: no vitals record at or before the last frame
};

/// The label inputs a task needs besides the windows.
struct LabelSources {
  const std::vector<Recording>* recordings = nullptr;
  const std::vector<LabelRange>* ranges = nullptr;  ///< labels task
  double motion_threshold = 0;                      ///< motion task: "moving" when energy > threshold
};

/// The motion task's class names, and the order task's.
inline constexpr const char* kMotionHigh = "moving";
inline constexpr const char* kMotionLow = "still";
inline constexpr const char* kOrderRecorded = "recorded";   ///< frames in recorded order (class 1)
inline constexpr const char* kOrderPermuted = "permuted";   ///< the same frames permuted (class 0)

/// The node's latest motion_energy at or before `t`, if any.
inline std::optional<double> motion_energy_at(const NodeRecords& n, double t) {
  auto it = std::upper_bound(n.vitals.begin(), n.vitals.end(), t,
                             [](double x, const VitalsRecord& v) { return x < v.timestamp; });
  if (it == n.vitals.begin()) return std::nullopt;
  return std::prev(it)->motion_energy;
}

/// The label of one window (nullopt: counted in `c`). For the order task
/// the caller makes the two examples; this returns kOrderRecorded.
inline std::optional<std::string> label_of(const Task& task, const std::vector<Series>& series, const Window& w,
                                           std::size_t window, const LabelSources& src, LabelCounts& c) {
  const Series& s = series[w.series];
  const double t_first = s.times[w.first], t_last = s.times[w.first + window - 1];
  switch (task.kind) {
    case TaskKind::meta: {
      const std::string& l = (*src.recordings)[s.recording].meta.label;
      if (l.empty()) {
        ++c.no_meta_label;
        return std::nullopt;
      }
      ++c.labelled;
      return l;
    }
    case TaskKind::labels: {
      const auto& rs = *src.ranges;
      auto find = [&](double t) -> std::ptrdiff_t {
        auto it = std::upper_bound(rs.begin(), rs.end(), t, [](double x, const LabelRange& r) { return x < r.start; });
        if (it == rs.begin()) return -1;
        --it;
        return t < it->end ? it - rs.begin() : -1;
      };
      const std::ptrdiff_t a = find(t_first), b = find(t_last);
      if (a < 0 || b < 0) {
        ++c.unlabelled;
        return std::nullopt;
      }
      if (a != b) {
        ++c.straddling;
        return std::nullopt;
      }
      ++c.labelled;
      return rs[static_cast<std::size_t>(a)].label;
    }
    case TaskKind::motion: {
      const NodeRecords* n = (*src.recordings)[s.recording].node(s.node_id);
      const std::optional<double> e = n != nullptr ? motion_energy_at(*n, t_last) : std::nullopt;
      if (!e) {
        ++c.no_vitals;
        return std::nullopt;
      }
      ++c.labelled;
      return *e > src.motion_threshold ? kMotionHigh : kMotionLow;
    }
    case TaskKind::order: ++c.labelled; return std::string(kOrderRecorded);
  }
  return std::nullopt;
}

/// The median of the motion energies at the last frame of `windows` in `part`
/// (the motion task's threshold, from the training split). NaN if none.
inline double motion_median(const std::vector<Recording>& recordings, const std::vector<Series>& series,
                            const std::vector<Window>& windows, std::size_t window, Part part) {
  std::vector<double> e;
  for (const Window& w : windows) {
    if (w.part != part) continue;
    const Series& s = series[w.series];
    const NodeRecords* n = recordings[s.recording].node(s.node_id);
    if (n == nullptr) continue;
    if (const auto v = motion_energy_at(*n, s.times[w.first + window - 1])) e.push_back(*v);
  }
  if (e.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(e.begin(), e.end());
  const std::size_t m = e.size() / 2;
  return e.size() % 2 == 1 ? e[m] : 0.5 * (e[m - 1] + e[m]);
}

// ---------------------------------------------------------------------------
// 5. Classes and examples
// ---------------------------------------------------------------------------

/// Class names -> indices (lexicographic order of the names seen in training).
struct ClassMap {
  std::vector<std::string> names;

  static ClassMap from_labels(std::vector<std::string> labels) {
    std::sort(labels.begin(), labels.end());
    labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    return ClassMap{std::move(labels)};
  }
  std::optional<std::size_t> index(const std::string& name) const {
    const auto it = std::lower_bound(names.begin(), names.end(), name);
    if (it == names.end() || *it != name) return std::nullopt;
    return static_cast<std::size_t>(it - names.begin());
  }
};

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
  FeaturizerConfig features;       ///< offsets empty: fitted on the training part (train_blob)
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
/// standardisation is fitted on the training part's frames; without
/// `options.classes` the classes are the training labels (lexicographic).
/// Throws invalid_data when the training part has no labelled window and no
/// classes were given, or the motion task has no vitals to set a threshold.
inline Dataset build_dataset(const std::vector<Recording>& recordings, const DatasetOptions& o) {
  Dataset d;
  d.features = o.features;
  const bool fit = d.features.offset.empty();
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
