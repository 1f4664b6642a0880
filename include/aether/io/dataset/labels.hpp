#pragma once
/// \file dataset/labels.hpp
/// Stage 4 of the dataset path (overview: io/dataset.hpp), tasks and labels:
/// the task (`meta`, `labels=CSV`, `motion`, `order`; `parse_task`) names
/// each window's class through `label_of`, or skips it with a counted reason
/// (LabelCounts). Also the labels CSV reader (`read_labels_csv`), the
/// motion task's helpers (`motion_energy_at`, `motion_median`) and, stage 5,
/// `ClassMap`: class names -> indices (lexicographic).
///
/// Inputs: windows and series (dataset/windows.hpp, dataset/series.hpp), the
/// recordings (meta labels, vitals), a labels CSV. Outputs: a class name per
/// window (or nullopt, counted), sorted LabelRanges, a ClassMap. Throws
/// invalid_argument (task), io_error / invalid_data (labels CSV, naming the
/// file, line and value).
///
/// Thread safety: free functions over values; `label_of` writes its counts.
/// Cost: `label_of` O(log ranges) or O(log vitals) per window;
/// `read_labels_csv` O(lines log lines), a line bounded by kMaxLabelsLineBytes;
/// `motion_median` O(windows log windows).

#include <aether/error.hpp>
#include <aether/io/csi_recording.hpp>
#include <aether/io/dataset/series.hpp>
#include <aether/io/dataset/windows.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aether::io {

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
// 5. Classes
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

}  // namespace aether::io
