/// train_blob: recordings -> a trained `.rvne` model and its sidecar.
///
///   train_blob --data FILE... --task meta|motion|order|labels=CSV
///              [--window N --stride S --epochs E --seed X] --out model.rvne
///
/// Each recording is featurised per node, cut into windows of N frames every
/// S frames, and split by time (train | validation | test, never shuffled
/// across time); the model (AETHER default shape, n_classes = the classes
/// seen in training, lexicographic) is fitted with AdamW, early-stopping on
/// the validation loss, and checkpointed to --out (fp32) whenever the
/// validation loss improves. The sidecar (SIDECAR.md) records the attention
/// options, pool, window/stride, class names, featuriser constants and
/// provenance (files + sha256, task, seed, metrics). The held-out test part
/// is scored at the end beside the majority baseline with a 95% interval.
///
/// Progress on stderr; with --json the result object on stdout. Exit 0 ok,
/// 1 invalid data (no labelled window, ...), 2 usage or I/O error.

#include "tools/cli.hpp"
#include "tools/training_common.hpp"

#include <aether/rvne.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace aether_tools;

struct Args {
  std::vector<std::string> data;
  std::string task, out, export_f16, pool = "mean", source = "csi";
  std::size_t window = 32, stride = 8, epochs = 20, batch = 16, patience = 5, input_dim = 16, subcarriers = 0;
  std::size_t layers = 2, q_heads = 4, kv_heads = 1, head_dim = 32;
  std::size_t attn_window = aether::ModelAttention{}.window, block_size = aether::ModelAttention{}.block_size;
  std::uint64_t seed = 1;
  float lr = 3e-3f, weight_decay = 0.0f, clip = 1.0f;
  double val_fraction = 0.15, test_fraction = 0.25;
  int threads = 0;
  bool json_out = false, quiet = false, constant_feature = false;
};

std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

int run(const Args& a, CLI::App& app) {
  if (a.pool != "mean" && a.pool != "last") return aether_cli::usage_error(app, "--pool: expected mean or last, found " + a.pool);
  if (a.source != "csi" && a.source != "node") return aether_cli::usage_error(app, "--features: expected csi or node, found " + a.source);
  if (a.constant_feature && a.input_dim > 65534) {
    return aether_cli::usage_error(app, "--input-dim: at most 65534 with --constant-feature (the blob's input_dim is one more)");
  }
  io::Task task;
  if (const auto rc = parse_task_arg(app, a.task, task)) return *rc;
  const std::vector<io::Recording> recs = read_recordings(a.data);

  io::DatasetOptions o;
  o.task = task;
  o.windows = io::WindowOptions{a.window, a.stride, a.val_fraction, a.test_fraction};
  o.features.source = a.source == "node" ? io::FeatureSource::node_features : io::FeatureSource::csi_amplitude;
  // --input-dim counts the measured features; the constant one comes on top.
  o.features.constant_feature = a.constant_feature;
  o.features.input_dim = a.input_dim + (a.constant_feature ? 1 : 0);
  o.features.subcarriers = static_cast<std::uint32_t>(a.subcarriers);  // <= 65535 (checked by its flag)
  o.seed = a.seed;
  const io::Dataset d = io::build_dataset(recs, o);
  if (d.classes.names.size() < 2) {
    aether::detail::fail(aether::Errc::invalid_data, "task " + task.name() + ": the training part holds one class (" +
                                                         d.classes.names.front() + "); a classifier needs two or more");
  }
  if (d.classes.names.size() > 65535) aether::detail::fail(aether::Errc::invalid_data, "too many classes");

  aether::rvne::Header shape;
  shape.dtype = aether::rvne::Dtype::f32;
  shape.input_dim = static_cast<std::uint16_t>(o.features.input_dim);
  shape.q_heads = static_cast<std::uint16_t>(a.q_heads);
  shape.kv_heads = static_cast<std::uint16_t>(a.kv_heads);
  shape.head_dim = static_cast<std::uint16_t>(a.head_dim);
  shape.layers = static_cast<std::uint16_t>(a.layers);
  shape.classes = static_cast<std::uint16_t>(d.classes.names.size());

  train::TrainOptions t;
  t.epochs = a.epochs;
  t.batch = a.batch;
  t.seed = a.seed;
  t.pool = a.pool == "last" ? aether::Pool::last : aether::Pool::mean;
  t.patience = a.patience;
  t.threads = a.threads;
  t.adamw.lr = a.lr;
  t.adamw.weight_decay = a.weight_decay;
  t.adamw.clip_norm = a.clip;
  t.attention.window = a.attn_window;
  t.attention.block_size = a.block_size;

  const std::vector<train::Example> tr = examples_of(d.train), va = examples_of(d.validation), te = examples_of(d.test);
  std::vector<std::size_t> class_counts(d.classes.names.size(), 0);
  for (const auto& x : tr) ++class_counts[x.label];

  io::Sidecar sc;
  sc.attention = t.attention;
  sc.pool = t.pool;
  sc.window = a.window;
  sc.stride = a.stride;
  sc.classes = d.classes.names;
  sc.features = io::features_to_json(d.features);
  json prov = {{"tool", std::string("train_blob ") + AETHER_VERSION_STRING},
               {"data", recordings_json(recs, true)},
               {"task", task.kind == io::TaskKind::labels ? "labels=" + task.labels_csv.filename().string() : task.name()},
               {"seed", a.seed},
               {"epochs", a.epochs},
               {"batch", a.batch},
               {"lr", a.lr},
               {"split", {{"validation_fraction", a.val_fraction}, {"test_fraction", a.test_fraction}}},
               {"train_class_windows", class_counts},
               {"dataset", io::to_json(d.counts)}};
  if (task.kind == io::TaskKind::labels) prov["labels_sha256"] = io::sha256_file_hex(task.labels_csv);
  if (task.kind == io::TaskKind::motion) prov["motion_threshold"] = d.motion_threshold;

  ProgressLine progress("train_blob", a.quiet);
  progress.print(fmt("%.0f train, %.0f validation, %.0f test windows", static_cast<double>(tr.size()),
                     static_cast<double>(va.size()), static_cast<double>(te.size())) +
                 ", classes " + json(d.classes.names).dump());
  train::TrainCallbacks cb;
  cb.progress = [&](const train::Progress& p) {
    if (progress.due(p.epoch_end)) {
      std::string line = fmt("epoch %.0f/%.0f step %.0f/%.0f", static_cast<double>(p.epoch),
                             static_cast<double>(p.epochs), static_cast<double>(p.step),
                             static_cast<double>(p.total_steps)) +
                         fmt(" loss %.4f acc %.3f", p.loss, p.accuracy);
      if (!std::isnan(p.val_loss)) line += fmt(" val_loss %.4f val_acc %.3f", p.val_loss, p.val_accuracy);
      line += fmt(", %.0f windows/s, %.0f s left", p.windows_per_s, p.seconds_left);
      progress.print(line);
    }
    return true;
  };
  cb.checkpoint = [&](const aether::rvne::Blob& b, const train::EpochMetrics& m) {
    io::Sidecar s = sc;
    s.training = prov;
    s.training["checkpoint_epoch"] = m.epoch;
    io::save_model(a.out, b, s);
  };
  const train::TrainResult res = train::train(shape, tr, va, t, cb);

  train::EvalOptions eo;
  eo.pool = t.pool;
  eo.attention = t.attention;
  eo.threads = a.threads;
  const json test_report = accuracy_report(train::evaluate(res.blob, te, eo), d.classes.names);
  const json train_report = accuracy_report(train::evaluate(res.blob, tr, eo), d.classes.names);
  json history = json::array();
  for (const auto& m : res.history) {
    history.push_back({{"epoch", m.epoch},
                       {"train_loss", m.train_loss},
                       {"train_accuracy", m.train_accuracy},
                       {"val_loss", std::isnan(m.val_loss) ? json() : json(m.val_loss)},
                       {"val_accuracy", std::isnan(m.val_accuracy) ? json() : json(m.val_accuracy)}});
  }
  // Provenance holds no wall time or thread count: the same seed and data
  // write the same sidecar bytes as well as the same blob.
  prov["best_epoch"] = res.best_epoch;
  prov["steps"] = res.steps;
  prov["stopped_early"] = res.stopped_early;
  prov["history"] = history;
  prov["test"] = test_report;
  sc.training = prov;
  io::save_model(a.out, res.blob, sc);
  if (!a.export_f16.empty()) {
    io::Sidecar s16 = sc;
    s16.training["exported_from"] = std::filesystem::path(a.out).filename().string();
    io::save_model(a.export_f16, res.blob.converted(aether::rvne::Dtype::f16), s16);
  }
  progress.print(fmt("done: best epoch %.0f of %.0f run, %.0f steps, %.1f s", static_cast<double>(res.best_epoch),
                     static_cast<double>(res.history.size()), static_cast<double>(res.steps), res.seconds));
  progress.print("held-out test (last " + fmt("%.0f%%", 100 * a.test_fraction) + " of each recording): " +
                 accuracy_line(test_report));
  const json result = {{"model", a.out},
                       {"classes", d.classes.names},
                       {"windows", {{"train", tr.size()}, {"validation", va.size()}, {"test", te.size()}}},
                       {"best_epoch", res.best_epoch},
                       {"epochs_run", res.history.size()},
                       {"steps", res.steps},
                       {"seconds", res.seconds},
                       {"train", train_report},
                       {"test", test_report},
                       {"dataset", io::to_json(d.counts)}};
  if (a.json_out) {
    std::printf("%s\n", result.dump(2).c_str());
  } else {
    std::printf("wrote %s (+ %s): %zu classes, test %s\n", a.out.c_str(), io::sidecar_path(a.out).string().c_str(),
                d.classes.names.size(), accuracy_line(test_report).c_str());
  }
  return aether_cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return aether_cli::guarded("train_blob", [&]() -> int {
    using aether_cli::in_range;
    using std::size_t;
    Args a;
    auto app = aether_cli::make_app("train_blob", "Train a .rvne model (and its sidecar) on CSI recordings.");
    app->add_option("--data", a.data, "recordings (.csi.jsonl; a .csi.meta.json beside each is read)")->required()->expected(1, -1);
    app->add_option("--task", a.task, "meta | motion | order | labels=CSV (start,end,label; Unix seconds)")->required();
    app->add_option("--out", a.out, "model path (NAME.rvne; the sidecar is NAME.rvne.json)")->required();
    app->add_option("--window", a.window, "frames per window")->capture_default_str()->check(in_range<size_t>(1, kMaxWindow));
    app->add_option("--stride", a.stride, "frames between window starts")->capture_default_str()->check(in_range<size_t>(1, kMaxWindow));
    app->add_option("--epochs", a.epochs, "passes over the training windows")->capture_default_str()->check(in_range<size_t>(1, 1000000));
    app->add_option("--seed", a.seed, "initial weights, window order, order-task permutations")->capture_default_str()->check(in_range<std::uint64_t>(0, UINT64_MAX));
    app->add_option("--batch", a.batch, "windows per optimiser step")->capture_default_str()->check(in_range<size_t>(1, 65536));
    app->add_option("--lr", a.lr, "AdamW learning rate")->capture_default_str()->check(in_range(1e-12f, 10.0f));
    app->add_option("--weight-decay", a.weight_decay, "AdamW decoupled weight decay")->capture_default_str()->check(in_range(0.0f, 10.0f));
    app->add_option("--clip", a.clip, "gradient L2 norm limit (0: none)")->capture_default_str()->check(in_range(0.0f, 1e6f));
    app->add_option("--patience", a.patience, "epochs without a lower validation loss before stopping (0: never)")->capture_default_str()->check(in_range<size_t>(0, 1000000));
    app->add_option("--pool", a.pool, "mean | last (last: the model can be streamed)")->capture_default_str();
    app->add_option("--features", a.source, "csi (raw_csi amplitudes) | node (the nodes' 1 Hz feature records)")->capture_default_str();
    app->add_option("--input-dim", a.input_dim, "features per frame measured from the recording (--constant-feature adds one)")->capture_default_str()->check(in_range<size_t>(1, 65535));
    app->add_flag("--constant-feature", a.constant_feature,
                  "add a constant 1 as the last feature (the model's input_dim is --input-dim + 1): the model has no "
                  "bias terms, and this gives it one");
    app->add_option("--subcarriers", a.subcarriers, "use only frames of this subcarrier count (0: all)")->capture_default_str()->check(in_range<size_t>(0, 65535));
    app->add_option("--layers", a.layers, "attention layers")->capture_default_str()->check(in_range<size_t>(1, 65535));
    app->add_option("--q-heads", a.q_heads, "query heads")->capture_default_str()->check(in_range<size_t>(1, 65535));
    app->add_option("--kv-heads", a.kv_heads, "key/value heads (divides --q-heads)")->capture_default_str()->check(in_range<size_t>(1, 65535));
    app->add_option("--head-dim", a.head_dim, "per-head dimension")->capture_default_str()->check(in_range<size_t>(1, 65535));
    app->add_option("--attn-window", a.attn_window, "sparse attention: local window radius (frames)")->capture_default_str()->check(in_range<size_t>(0, kMaxWindow));
    app->add_option("--block-size", a.block_size, "sparse attention: landmark block length")->capture_default_str()->check(in_range<size_t>(1, kMaxWindow));
    app->add_option("--val-fraction", a.val_fraction, "validation share of the time before the test cut")->capture_default_str()->check(in_range(0.0, 0.99));
    app->add_option("--test-fraction", a.test_fraction, "held-out test share at the end of each recording")->capture_default_str()->check(in_range(0.0, 0.99));
    app->add_option("--export-f16", a.export_f16, "also write an fp16 copy of the model (with its sidecar) here");
    app->add_option("--threads", a.threads, "OpenMP threads (0: default; the blob does not depend on it)")->capture_default_str()->check(in_range(0, kMaxThreads));
    app->add_flag("--json", a.json_out, "print the result as JSON on stdout");
    app->add_flag("--quiet", a.quiet, "no progress on stderr");
    app->footer("Exit status: 0 trained, 1 invalid data, 2 usage or I/O error.");
    if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
    return run(a, *app);
  });
}
