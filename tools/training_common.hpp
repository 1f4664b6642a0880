#pragma once
// What train_blob, eval_blob and csi_replay share (tools only, not library):
// reading the recordings named by --data, the dataset options a model's
// sidecar implies (so a model is evaluated and replayed exactly as it was
// trained), the accuracy statistics (majority baseline, Wilson interval,
// the plain "cannot be told from the baseline" verdict), progress lines on
// stderr and the per-window dump both eval_blob and csi_replay write (the
// tool test compares them line for line).
//
// Needs aether::io (nlohmann-json). Single-threaded helpers over values.

#include "tools/cli.hpp"

#include <aether/detail/atomic_file.hpp>
#include <aether/io/csi_recording.hpp>
#include <aether/io/dataset.hpp>
#include <aether/io/sidecar.hpp>
#include <aether/train/trainer.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace aether_tools {

namespace io = aether::io;
namespace train = aether::train;
using json = nlohmann::json;

/// The tools' bounds on --window, --stride (frames) and --threads.
constexpr std::size_t kMaxWindow = 65536;
constexpr int kMaxThreads = 1024;

/// Parses a --task value; a bad one is a usage error (returns 2, printed).
inline std::optional<int> parse_task_arg(const CLI::App& app, const std::string& text, io::Task& out) {
  try {
    out = io::parse_task(text);
    return std::nullopt;
  } catch (const aether::Error& e) {
    return aether_cli::usage_error(app, std::string("--task: ") + e.what());
  }
}

/// Reads every --data file (io_error / invalid_data propagate).
inline std::vector<io::Recording> read_recordings(const std::vector<std::string>& files) {
  std::vector<io::Recording> out;
  out.reserve(files.size());
  for (const std::string& f : files) out.push_back(io::read_recording(f));
  return out;
}

/// Per-file reader counts plus each file's sha256 (provenance).
inline json recordings_json(const std::vector<io::Recording>& recs, bool with_sha) {
  json a = json::array();
  for (const io::Recording& r : recs) {
    json j = {{"file", r.path.filename().string()}, {"records", io::to_json(r.counts)}};
    if (with_sha) j["sha256"] = io::sha256_file_hex(r.path);
    a.push_back(std::move(j));
  }
  return a;
}

/// LabelledWindow -> trainer Example.
inline std::vector<train::Example> examples_of(const std::vector<io::LabelledWindow>& ws) {
  std::vector<train::Example> out;
  out.reserve(ws.size());
  for (const io::LabelledWindow& w : ws) out.push_back(train::Example{w.frames, w.label});
  return out;
}

/// Wilson score interval for k successes of n at 95% (z = 1.96).
struct Interval {
  double low = 0, high = 0;
};
inline Interval wilson95(std::size_t k, std::size_t n) {
  if (n == 0) return {0, 1};
  const double z = 1.959963984540054, nn = static_cast<double>(n), p = static_cast<double>(k) / nn;
  const double den = 1 + z * z / nn, centre = (p + z * z / (2 * nn)) / den;
  const double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / den;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

/// Accuracy of `r` beside the majority-class baseline (the share of the
/// most frequent true class among the evaluated windows: the best constant
/// guess), the 95% Wilson interval of the accuracy, and a verdict: the
/// result "cannot be told from the baseline" when the baseline lies inside
/// the interval (or below-baseline when the interval is under it).
inline json accuracy_report(const train::EvalResult& r, const std::vector<std::string>& names) {
  std::size_t n = 0, correct = 0, top = 0;
  json per = json::object();
  for (std::size_t c = 0; c < r.per_class.size(); ++c) {
    const train::ClassCounts& k = r.per_class[c];
    n += k.total;
    correct += k.correct;
    top = std::max(top, k.total);
    per[c < names.size() ? names[c] : std::to_string(c)] = {
        {"index", c}, {"windows", k.total}, {"correct", k.correct}, {"predicted", k.predicted}};
  }
  const double acc = n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
  const double base = n ? static_cast<double>(top) / static_cast<double>(n) : 0.0;
  const Interval ci = wilson95(correct, n);
  std::string verdict;
  if (n == 0) {
    verdict = "no labelled window was evaluated";
  } else if (ci.low > base) {
    verdict = "above the majority baseline (the baseline is below the 95% interval)";
  } else if (ci.high < base) {
    verdict = "below the majority baseline (the baseline is above the 95% interval)";
  } else {
    verdict = "cannot be told from the majority baseline (the baseline lies inside the 95% interval)";
  }
  return {{"windows", n},
          {"accuracy", acc},
          {"accuracy_ci95", {ci.low, ci.high}},
          {"majority_baseline", base},
          {"loss", r.loss},
          {"per_class", per},
          {"distinguishable_from_baseline", n != 0 && (ci.low > base || ci.high < base)},
          {"verdict", verdict}};
}

/// One line for the terminal: "accuracy 0.812 [0.74, 0.87] vs majority 0.50: above ...".
inline std::string accuracy_line(const json& a) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "accuracy %.3f [95%% %.3f, %.3f] over %zu windows, majority baseline %.3f: %s",
                a["accuracy"].get<double>(), a["accuracy_ci95"][0].get<double>(), a["accuracy_ci95"][1].get<double>(),
                a["windows"].get<std::size_t>(), a["majority_baseline"].get<double>(),
                a["verdict"].get<std::string>().c_str());
  return buf;
}

/// How eval_blob and csi_replay rebuild the featuriser, classes, task
/// inputs and attention of a trained model from its sidecar: the one setup
/// path of every tool that reads a model, so a gated model (sidecar key
/// `gate`) runs gated. Throws invalid_sidecar naming a missing key or a
/// wrong-size gate file, io_error for a gate file that cannot be read.
struct ModelSetup {
  io::Model model;
  io::FeaturizerConfig features;
  aether::Pool pool = aether::Pool::mean;
  aether::ModelAttention attention;
  std::size_t window = 32, stride = 8;
  std::vector<std::string> class_names;
};

inline ModelSetup setup_of(const std::filesystem::path& blob_path) {
  ModelSetup s;
  s.model = io::load_model(blob_path);
  const io::Sidecar& sc = s.model.sidecar;
  const std::string where = io::sidecar_path(blob_path).string() + ": ";
  if (!s.model.has_sidecar) {
    aether::detail::fail(aether::Errc::invalid_sidecar, where + "missing: a model for recordings needs its sidecar "
                                                                "(featuriser constants, window, classes)");
  }
  if (!sc.features) io::detail::bad_key(where, "features", "missing (the featuriser the model was trained with)");
  s.features = io::features_from_json(*sc.features, where);
  if (s.features.input_dim != s.model.blob.header.input_dim) {
    io::detail::bad_key(where, "features.constants.input_dim",
                        std::to_string(s.features.input_dim) + " differs from the blob's input_dim " +
                            std::to_string(s.model.blob.header.input_dim));
  }
  s.pool = sc.pool_or_default();
  s.attention = io::model_attention(s.model, blob_path);  // with the sidecar's gate
  if (sc.window) s.window = *sc.window;
  if (sc.stride) s.stride = *sc.stride;
  for (std::size_t c = 0; c < s.model.blob.header.classes; ++c) s.class_names.push_back(sc.class_name(c));
  return s;
}

/// Throttled progress on stderr: at most one line a second, plus the ones
/// forced (epoch ends).
class ProgressLine {
 public:
  explicit ProgressLine(std::string what, bool quiet = false) : what_(std::move(what)), quiet_(quiet) {}
  bool due(bool force) {
    if (quiet_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::seconds(1)) return false;
    last_ = now;
    return true;
  }
  void print(const std::string& text) const {
    if (!quiet_) std::fprintf(stderr, "%s: %s\n", what_.c_str(), text.c_str());
  }

 private:
  std::string what_;
  bool quiet_;
  std::chrono::steady_clock::time_point last_{};
};

/// The per-window dump of eval_blob --windows and csi_replay --windows: one
/// line per classified window, "node last_frame_line last_time p0 p1 ...",
/// probabilities as %.9g (float round-trips), so equal lines mean equal
/// windows and equal numbers.
inline std::string window_line(std::int64_t node, std::size_t last_line, double last_time, const float* p,
                               std::size_t classes) {
  std::string s;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld %zu %.6f", static_cast<long long>(node), last_line, last_time);
  s += buf;
  for (std::size_t c = 0; c < classes; ++c) {
    std::snprintf(buf, sizeof buf, " %.9g", static_cast<double>(p[c]));
    s += buf;
  }
  return s + "\n";
}

/// Writes `text` to `path` atomically: a failed write (missing folder, full
/// disk) throws io_error naming it and leaves no file, or the old one.
inline void write_text(const std::string& path, const std::string& text) {
  aether::detail::AtomicFile f(path);
  f.write(text);
  f.commit();
}

}  // namespace aether_tools
