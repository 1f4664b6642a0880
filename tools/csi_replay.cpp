/// csi_replay: replays recordings through a trained model as a live system
/// would see them.
///
///   csi_replay --model model.rvne --data FILE... [--stream] [--json] [--logits] [--windows DUMP]
///
/// Frames go in timestamp order (ties by line), one track per node. Each
/// track classifies its latest `window` frames every `stride` frames (the
/// sidecar's), through the featuriser and forward the model was trained
/// with, so its windows and numbers are eval_blob's (`--windows` writes the
/// same line format; the tool test compares them). Prints the class
/// probabilities over time and the replay speed (frames/s, times real time).
///
/// `--stream` (models trained with pool last): each track is a stream of a
/// `StreamPool` (capacity = window, sliding-window eviction), one frame per
/// push; its probabilities are printed and compared with the windowed
/// forward at the same frames (argmax agreement, largest difference):
/// sliding-window eviction drops `block_size` frames at a time, so the
/// stream sees between window - block_size + 1 and window frames.
/// The per-track classification is tools/track_classifier.hpp, the same
/// code csi_live runs on each node's datagrams; `--logits` prints the
/// logits too (JSON key `logits`), so the two can be compared bit for bit.
/// A version 2 blob runs with its own featuriser, pool and attention
/// (training_common.hpp's setup_of); its sidecar gives classes, window and
/// stride only.
/// Exit 0 ok, 1 invalid model/data, 2 usage or I/O error.

#include "tools/cli.hpp"
#include "tools/model_runs.hpp"
#include "tools/training_common.hpp"

#include "tools/track_classifier.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace aether_tools;
using Model = aether::TemporalModel<float>;

struct Args {
  std::string model, windows_dump;
  std::vector<std::string> data;
  bool stream = false, json_out = false, quiet = false, logits = false;
};

/// A row of one series, for the time-ordered merge.
struct Row {
  double time;
  std::size_t line, series, row;
};

int run(const Args& a, CLI::App& app) {
  const ModelSetup m = setup_of(a.model);
  if (a.stream && m.pool != aether::Pool::last) {
    return aether_cli::usage_error(app, "--stream needs a model trained with pool last (" + a.model + " pools mean)");
  }
  const std::vector<io::Recording> recs = read_recordings(a.data);
  const Model model(m.model.blob, m.attention);
  const std::size_t C = model.classes(), W = m.window, S = m.stride;
  ProgressLine progress("csi_replay", a.quiet);

  json timeline = json::array();
  std::string dump, text;
  std::size_t frames = 0, classified = 0, agree = 0;
  double span = 0, max_diff = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t ri = 0; ri < recs.size(); ++ri) {
    io::FeaturizeCounts fc;
    const std::vector<io::Series> series = io::featurize_recording(recs[ri], ri, m.features, true, fc);
    std::vector<Row> rows;
    for (std::size_t s = 0; s < series.size(); ++s) {
      for (std::size_t i = 0; i < series[s].times.size(); ++i) rows.push_back(Row{series[s].times[i], series[s].lines[i], s, i});
    }
    std::sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) {
      return x.time != y.time ? x.time < y.time : x.line < y.line;
    });
    if (!rows.empty()) span += rows.back().time - rows.front().time;
    TrackClassifier tracks(model, m.pool, TrackOptions{a.stream, W, S});
    std::vector<std::size_t> ids(series.size());
    for (std::size_t s = 0; s < series.size(); ++s) ids[s] = tracks.open();
    for (const Row& r : rows) {
      ++frames;
      const io::Series& s = series[r.series];
      const std::optional<Model::Vector> z = tracks.push(ids[r.series], s.features.row(static_cast<Eigen::Index>(r.row)).data());
      if (!z) continue;
      const std::size_t count = r.row + 1;
      // The windowed forward: the classification in window mode; in stream
      // mode the reference the stream is compared with.
      const Model::Vector p = a.stream ? Model::probabilities(window_logits(
                                             model, s.features.middleRows(static_cast<Eigen::Index>(count - W), static_cast<Eigen::Index>(W)), m.pool))
                                       : Model::probabilities(*z);
      ++classified;
      const Model::Vector shown = Model::probabilities(*z);
      if (a.stream) {
        Eigen::Index ia, ib;
        p.maxCoeff(&ia);
        shown.maxCoeff(&ib);
        agree += ia == ib ? 1 : 0;
        max_diff = std::max(max_diff, static_cast<double>((shown - p).cwiseAbs().maxCoeff()));
      }
      dump += window_line(s.node_id, r.line, r.time, p.data(), C);
      Eigen::Index best;
      shown.maxCoeff(&best);
      if (a.json_out) {
        timeline.push_back({{"recording", ri}, {"node", s.node_id}, {"time", r.time}, {"line", r.line},
                            {"probabilities", std::vector<float>(shown.data(), shown.data() + C)},
                            {"class", m.class_names[static_cast<std::size_t>(best)]}});
        if (a.logits) timeline.back()["logits"] = std::vector<float>(z->data(), z->data() + C);
      } else {
        char buf[96];
        std::snprintf(buf, sizeof buf, "%.3f node %lld %-12s", r.time, static_cast<long long>(s.node_id),
                      m.class_names[static_cast<std::size_t>(best)].c_str());
        text += buf;
        for (std::size_t c = 0; c < C; ++c) {
          std::snprintf(buf, sizeof buf, " %s=%.3f", m.class_names[c].c_str(), static_cast<double>(shown[static_cast<Eigen::Index>(c)]));
          text += buf;
        }
        if (a.logits) {
          for (std::size_t c = 0; c < C; ++c) {
            std::snprintf(buf, sizeof buf, " logit_%zu=%.9g", c, static_cast<double>((*z)[static_cast<Eigen::Index>(c)]));
            text += buf;
          }
        }
        text += "\n";
      }
      if (progress.due(false)) {
        progress.print(std::to_string(ri + 1) + "/" + std::to_string(recs.size()) + " recordings, " +
                       std::to_string(frames) + " frames, " + std::to_string(classified) + " windows");
      }
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double fps = secs > 0 ? static_cast<double>(frames) / secs : 0, xrt = secs > 0 ? span / secs : 0;
  if (!a.windows_dump.empty()) write_text(a.windows_dump, dump);
  json speed = {{"frames", frames}, {"windows", classified}, {"seconds", secs}, {"frames_per_s", fps},
                {"recorded_seconds", span}, {"times_real_time", xrt}};
  if (a.json_out) {
    json out = {{"model", a.model}, {"classes", m.class_names}, {"window", W}, {"stride", S},
                {"mode", a.stream ? "stream" : "window"}, {"speed", speed}, {"timeline", timeline}};
    if (a.stream) {
      out["stream_vs_window"] = {{"argmax_agreement", classified ? static_cast<double>(agree) / static_cast<double>(classified) : 0.0},
                                 {"max_probability_difference", max_diff}};
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::fputs(text.c_str(), stdout);
    std::printf("replayed %zu frames, %zu windows in %.3f s: %.0f frames/s, %.1fx real time\n", frames, classified,
                secs, fps, xrt);
    if (a.stream) {
      std::printf("stream vs windowed forward: argmax agrees on %zu of %zu windows, largest probability difference %.3g\n",
                  agree, classified, max_diff);
    }
  }
  return aether_cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return aether_cli::guarded("csi_replay", [&]() -> int {
    Args a;
    auto app = aether_cli::make_app("csi_replay", "Replay CSI recordings through a trained .rvne model.");
    app->add_option("--model", a.model, "model (NAME.rvne with its sidecar NAME.rvne.json)")->required();
    app->add_option("--data", a.data, "recordings (.csi.jsonl), replayed one after another")->required()->expected(1, -1);
    app->add_flag("--stream", a.stream, "one StreamPool stream per node (sliding-window eviction, capacity = window; pool-last models)");
    app->add_option("--windows", a.windows_dump, "write one line per classified window here (eval_blob's format)");
    app->add_flag("--json", a.json_out, "print the timeline and speed as JSON on stdout");
    app->add_flag("--logits", a.logits, "also print each classification's logits (JSON key logits; as csi_live --logits)");
    app->add_flag("--quiet", a.quiet, "no progress on stderr");
    app->footer("Exit status: 0 replayed, 1 invalid model or data, 2 usage or I/O error.");
    if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
    return run(a, *app);
  });
}
