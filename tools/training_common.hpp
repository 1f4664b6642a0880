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
// The functions are defined in training_common.cpp, compiled once into the
// tools' static library aether_tools_common.

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
std::optional<int> parse_task_arg(const CLI::App& app, const std::string& text, io::Task& out);

/// Reads every --data file (io_error / invalid_data propagate).
std::vector<io::Recording> read_recordings(const std::vector<std::string>& files);

/// Per-file reader counts plus each file's sha256 (provenance).
json recordings_json(const std::vector<io::Recording>& recs, bool with_sha);

/// LabelledWindow -> trainer Example.
std::vector<train::Example> examples_of(const std::vector<io::LabelledWindow>& ws);

/// Wilson score interval for k successes of n at 95% (z = 1.96).
struct Interval {
  double low = 0, high = 0;
};
Interval wilson95(std::size_t k, std::size_t n);

/// Accuracy of `r` beside the majority-class baseline (the share of the
/// most frequent true class among the evaluated windows: the best constant
/// guess), the 95% Wilson interval of the accuracy, and a verdict: the
/// result "cannot be told from the baseline" when the baseline lies inside
/// the interval (or below-baseline when the interval is under it).
json accuracy_report(const train::EvalResult& r, const std::vector<std::string>& names);

/// One line for the terminal: "accuracy 0.812 [0.74, 0.87] vs majority 0.50: above ...".
std::string accuracy_line(const json& a);

/// How eval_blob, csi_replay and csi_live rebuild the featuriser, classes,
/// task inputs and attention of a trained model: the one setup path of
/// every tool that reads a model. Version 1: from the sidecar (required), so
/// a gated model (sidecar key `gate`) runs gated. Version 2: featuriser,
/// pool and attention (gate included) from the blob (`model.featurizer()`,
/// `model.pool()`, `ModelAttention{}`); the sidecar, optional, gives only
/// classes, window, stride and training, and one that contradicts the blob
/// is refused (`io::check_sidecar_against_blob`). Throws invalid_sidecar
/// naming a missing or contradicting key or a wrong-size gate file,
/// io_error for a gate file that cannot be read, invalid_config for a v2
/// blob without a featuriser.
struct ModelSetup {
  io::Model model;
  io::FeaturizerConfig features;
  aether::Pool pool = aether::Pool::mean;
  aether::ModelAttention attention;
  std::size_t window = 32, stride = 8;
  std::vector<std::string> class_names;
};

ModelSetup setup_of(const std::filesystem::path& blob_path);

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
std::string window_line(std::int64_t node, std::size_t last_line, double last_time, const float* p,
                               std::size_t classes);

/// Writes `text` to `path` atomically: a failed write (missing folder, full
/// disk) throws io_error naming it and leaves no file, or the old one.
void write_text(const std::string& path, const std::string& text);

}  // namespace aether_tools
