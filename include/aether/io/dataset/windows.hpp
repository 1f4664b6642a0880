#pragma once
/// \file dataset/windows.hpp
/// Stages 2 and 3 of the dataset path (overview: io/dataset.hpp):
/// `make_windows` cuts each series into windows of `window` frames starting
/// at 0, stride, 2 stride, ... (a replay classifies each node's latest window
/// exactly at those frames; nodes are never mixed). `assign_split` then puts
/// each window in the time-ordered split of its recording (fractions of its
/// time span: train | validation | test, in that order); windows crossing a
/// cut get Part::none and are counted, so no frame is in two parts.
///
/// Inputs: the Series of stage 1 (dataset/series.hpp), WindowOptions.
/// Outputs: std::vector<Window> (series index, first row, Part), SplitCounts.
/// Throws invalid_argument on a window/stride outside 1 ... kMaxWindow
/// (io/sidecar.hpp) or split fractions outside [0, 1).
///
/// Thread safety: free functions over values (`assign_split` writes the
/// windows it is given). Cost: O(windows) time and memory plus
/// O(series log recordings) for the time spans; no frame data is copied.

#include <aether/error.hpp>
#include <aether/io/dataset/series.hpp>
#include <aether/io/sidecar.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace aether::io {

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

}  // namespace aether::io
