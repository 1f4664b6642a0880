/// eval_blob: scores a trained model on recordings, exactly as it was trained.
///
///   eval_blob --model model.rvne --data FILE... --task meta|motion|order|labels=CSV
///             [--window N --stride S] [--part all|test] [--json] [--windows DUMP]
///
/// The sidecar gives the featuriser constants (standardisation included),
/// pool, attention options, window/stride (overridable), the motion task's
/// threshold (the training split's median) and the class names and order:
/// windows whose label the model does not know are skipped and counted,
/// whatever classes the evaluated files contain. `--part test` scores only
/// the held-out end of each recording (the training run's split fractions).
///
/// Prints accuracy, per-class counts and the majority-class baseline with a
/// 95% Wilson interval, and says plainly when the result cannot be told from
/// the baseline. `--json` adds the confusion matrix: `confusion[t][p]` counts
/// the scored windows of true class `t` predicted as `p`, both indices in the
/// order of `classes` (row sums are `per_class.windows`, column sums
/// `per_class.predicted`, the diagonal `per_class.correct`). `--windows`
/// writes one line per scored window (node, line and time of its last frame,
/// probabilities) in csi_replay's format.
///
/// A version 2 blob carries its featuriser, pool and attention options
/// itself; its sidecar (optional) gives only classes, window, stride and
/// training, and one naming attention, pool, features or gate is refused
/// (training_common.hpp's setup_of).
/// Exit 0 ok, 1 invalid model/data, 2 usage or I/O error.

#include "tools/cli.hpp"
#include "tools/model_runs.hpp"
#include "tools/training_common.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace aether_tools;

struct Args {
  std::string model, task, part = "all", windows_dump;
  std::vector<std::string> data;
  std::size_t window = 0, stride = 0;
  int threads = 0;
  bool json_out = false;
};

int run(const Args& a, CLI::App& app) {
  if (a.part != "all" && a.part != "test") return aether_cli::usage_error(app, "--part: expected all or test, found " + a.part);
  io::Task task;
  if (const auto rc = parse_task_arg(app, a.task, task)) return *rc;
  const ModelSetup m = setup_of(a.model);
  const std::vector<io::Recording> recs = read_recordings(a.data);
  const std::string where = io::sidecar_path(a.model).string() + ": ";
  const io::TrainingInfo prov = io::training_info(m.model.sidecar, where);

  io::DatasetOptions o;
  o.task = task;
  o.windows.window = a.window ? a.window : m.window;
  o.windows.stride = a.stride ? a.stride : m.stride;
  o.windows.validation_fraction = 0;
  o.windows.test_fraction = 0;
  if (a.part == "test") {
    if (!prov.test_fraction) io::detail::bad_key(where, "training.split.test_fraction", "missing (needed by --part test)");
    o.windows.test_fraction = *prov.test_fraction;
    o.windows.validation_fraction = prov.validation_fraction.value_or(0.0);
  }
  o.features = m.features;
  // A v2 blob's featuriser as it is: without standardisation in the blob,
  // none is fitted on the evaluated data (csi_replay's and the node's frames).
  // v1 unchanged: a sidecar without offsets has them fitted here.
  o.fit_standardisation = m.model.blob.header.version != aether::rvne::kVersion2;
  if (prov.seed) o.seed = *prov.seed;
  if (task.kind == io::TaskKind::motion) {
    if (!prov.motion_threshold) {
      io::detail::bad_key(where, "training.motion_threshold", "missing (the motion task's threshold from training)");
    }
    o.motion_threshold = *prov.motion_threshold;
  }
  o.classes = io::ClassMap{m.class_names};
  io::Dataset d = io::build_dataset(recs, o);
  const std::vector<io::LabelledWindow>& scored = a.part == "test" ? d.test : d.train;

  train::EvalOptions eo;
  eo.pool = m.pool;
  eo.attention = m.attention;
  eo.threads = a.threads;
  const std::vector<train::Example> examples = examples_of(scored);
  const train::EvalResult r = evaluate_windows(m.model.blob, examples, eo);
  json report = accuracy_report(r, m.class_names);
  std::vector<std::vector<std::size_t>> confusion(m.class_names.size(), std::vector<std::size_t>(m.class_names.size(), 0));
  for (std::size_t i = 0; i < examples.size(); ++i) ++confusion.at(examples[i].label).at(r.predictions.at(i));
  report["confusion"] = confusion;
  report["model"] = a.model;
  report["classes"] = m.class_names;
  report["part"] = a.part;
  report["window"] = o.windows.window;
  report["stride"] = o.windows.stride;
  report["data"] = recordings_json(recs, false);
  report["dataset"] = io::to_json(d.counts);
  report["skipped_unknown_label"] = d.counts.unknown_label;

  if (!a.windows_dump.empty()) {
    std::string text;
    for (std::size_t i = 0; i < scored.size(); ++i) {
      if (scored[i].permuted) continue;  // the order task's shuffled copies are not recorded windows
      const io::Window& w = d.windows[scored[i].window];
      const io::Series& s = d.series[w.series];
      const std::size_t last = w.first + o.windows.window - 1;
      text += window_line(s.node_id, s.lines[last], s.times[last], r.probabilities[i].data(), m.class_names.size());
    }
    write_text(a.windows_dump, text);
  }
  if (a.json_out) {
    std::printf("%s\n", report.dump(2).c_str());
  } else {
    std::printf("%s\n", accuracy_line(report).c_str());
    for (const auto& [name, c] : report["per_class"].items()) {
      std::printf("  %-16s %6zu windows, %6zu right, %6zu predicted\n", name.c_str(), c["windows"].get<std::size_t>(),
                  c["correct"].get<std::size_t>(), c["predicted"].get<std::size_t>());
    }
    if (d.counts.unknown_label) std::printf("  skipped %zu windows whose label the model does not know\n", d.counts.unknown_label);
  }
  return aether_cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return aether_cli::guarded("eval_blob", [&]() -> int {
    Args a;
    auto app = aether_cli::make_app("eval_blob", "Evaluate a trained .rvne model on CSI recordings.");
    app->add_option("--model", a.model, "model (NAME.rvne with its sidecar NAME.rvne.json)")->required();
    app->add_option("--data", a.data, "recordings (.csi.jsonl)")->required()->expected(1, -1);
    app->add_option("--task", a.task, "meta | motion | order | labels=CSV")->required();
    app->add_option("--window", a.window, "frames per window (default: as trained)")->check(aether_cli::in_range<std::size_t>(1, kMaxWindow));
    app->add_option("--stride", a.stride, "frames between windows (default: as trained)")->check(aether_cli::in_range<std::size_t>(1, kMaxWindow));
    app->add_option("--part", a.part, "all | test (the held-out end of each recording, as split in training)")->capture_default_str();
    app->add_option("--windows", a.windows_dump, "write one line per scored window here (csi_replay's format)");
    app->add_option("--threads", a.threads, "OpenMP threads (0: default)")->capture_default_str()->check(aether_cli::in_range(0, kMaxThreads));
    app->add_flag("--json", a.json_out, "print the result as JSON on stdout");
    app->footer("Exit status: 0 evaluated, 1 invalid model or data, 2 usage or I/O error.");
    if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
    return run(a, *app);
  });
}
