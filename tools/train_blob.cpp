/// train_blob: recordings -> a trained `.rvne` model and its sidecar.
///
///   train_blob --data FILE... --task meta|motion|order|labels=CSV
///              [--window N --stride S --epochs E --seed X] [--arch v2|v1] --out model.rvne
///
/// Each recording is featurised per node, cut into windows of N frames every
/// S frames, and split by time (train | validation | test, never shuffled
/// across time); the model (n_classes = the classes seen in training,
/// lexicographic) is fitted with AdamW, keeping the weights of the best
/// validation epoch, and checkpointed to --out (fp32) whenever the
/// validation loss improves. The held-out test part is scored at the end
/// beside the majority baseline with a 95% interval.
///
/// `--arch v2` (the default) trains the v2 model of `train::V2Defaults`
/// (train/v2_defaults.hpp: sizes, blocks, recipe, drift augmentation; the
/// flags below override single values) and writes a version 2 blob that
/// carries its featuriser (kind, switches, subcarrier filter and the fitted
/// standardisation), pooling and attention options; its sidecar (SIDECAR.md)
/// keeps class names, window/stride and provenance. `--arch v1` trains the
/// reference's architecture (AETHER default shape) with v1's defaults
/// (epochs 20, lr 3e-3, weight decay 0, patience 5, no augmentation) and a
/// sidecar that records attention options, pool and featuriser constants.
///
/// Progress on stderr; with --json the result object on stdout. Exit 0 ok,
/// 1 invalid data (no labelled window, ...), 2 usage or I/O error.

#include "tools/cli.hpp"
#include "tools/model_runs.hpp"
#include "tools/training_common.hpp"

#include <aether/rvne.hpp>
#include <aether/train/v2_defaults.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace aether_tools;

/// The v2 defaults (the values --help shows); --arch v1 puts v1's in place
/// of those the command line does not give (`apply_v1_defaults`).
const aether::train::V2Defaults kV2{};

struct Args {
  std::vector<std::string> data;
  std::string task, out, export_f16, pool = kV2.pool == aether::rvne::PoolKind::last ? "last" : "mean", source = "csi";
  std::string arch = "v2";
  std::size_t window = 32, stride = 8, epochs = kV2.epochs, batch = kV2.batch, patience = kV2.patience, input_dim = 16,
              subcarriers = 0;
  std::size_t layers = kV2.layers, q_heads = kV2.q_heads, kv_heads = kV2.kv_heads, head_dim = kV2.head_dim;
  std::size_t attn_window = kV2.attn_window, block_size = kV2.block_size;
  std::size_t d_model = kV2.d_model, ffn_dim = kV2.ffn_dim, conv_kernel = kV2.conv_kernel,
              conv_dilation = kV2.conv_dilation;
  std::uint64_t seed = 1;
  float lr = kV2.lr, weight_decay = kV2.weight_decay, clip = kV2.clip;
  float drift = kV2.augment.drift, noise = kV2.augment.noise;
  std::size_t highpass = kV2.highpass, average_epochs = kV2.average_epochs;
  double val_fraction = kV2.validation_fraction, test_fraction = 0.25;
  int threads = 0;
  bool json_out = false, quiet = false, constant_feature = false;
};

/// --arch v1: today's v1 defaults for every value the command line left out.
void apply_v1_defaults(Args& a, const CLI::App& app) {
  auto unset = [&app](const char* flag) { return app.count(flag) == 0; };
  if (unset("--epochs")) a.epochs = 20;
  if (unset("--batch")) a.batch = 16;
  if (unset("--patience")) a.patience = 5;
  if (unset("--lr")) a.lr = 3e-3f;
  if (unset("--weight-decay")) a.weight_decay = 0.0f;
  if (unset("--clip")) a.clip = 1.0f;
  if (unset("--pool")) a.pool = "mean";
  if (unset("--layers")) a.layers = 2;
  if (unset("--q-heads")) a.q_heads = 4;
  if (unset("--kv-heads")) a.kv_heads = 1;
  if (unset("--head-dim")) a.head_dim = 32;
  if (unset("--attn-window")) a.attn_window = aether::ModelAttention{}.window;
  if (unset("--block-size")) a.block_size = aether::ModelAttention{}.block_size;
  if (unset("--drift")) a.drift = 0.0f;
  if (unset("--highpass")) a.highpass = 0;
  if (unset("--average-epochs")) a.average_epochs = 0;
  if (unset("--noise")) a.noise = 0.0f;
  if (unset("--val-fraction")) a.val_fraction = 0.15;
}

/// The v2 blob's featuriser descriptor for the featuriser `f` (standardised:
/// its offsets and scales become the blob's features.offset/scale tensors).
aether::rvne::FeaturizerDesc feature_desc(const io::FeaturizerConfig& f) {
  aether::rvne::FeaturizerDesc d;
  d.kind = f.source == io::FeatureSource::node_features ? aether::rvne::FeatureKind::node_features
                                                         : aether::rvne::FeatureKind::csi_amplitude;
  d.version = static_cast<std::uint16_t>(f.version());
  if (d.kind == aether::rvne::FeatureKind::csi_amplitude) {
    if (f.log_amplitude) d.flags |= aether::rvne::kFeatureLog;
    if (f.centre_frame) d.flags |= aether::rvne::kFeatureCentre;
    d.subcarriers = f.subcarriers;
  }
  if (f.constant_feature) d.flags |= aether::rvne::kFeatureConstant;
  if (!f.offset.empty()) d.flags |= aether::rvne::kFeatureStandardised;
  d.highpass = f.highpass;
  return d;
}

/// `b` with the featuriser's standardisation constants in its
/// features.offset/scale tensors (v2 blobs that carry them; training never
/// writes these frozen tensors).
aether::rvne::Blob with_features(aether::rvne::Blob b, const io::FeaturizerConfig& f) {
  if (b.header.version != aether::rvne::kVersion2) return b;
  aether::rvne::for_each_tensor(b.header, [&](const aether::rvne::MatrixShape& m) {
    const std::string name = m.name;
    const std::vector<float>* src = name == "features.offset" ? &f.offset : name == "features.scale" ? &f.scale : nullptr;
    if (src == nullptr) return;
    for (std::uint64_t e = 0; e < m.elements(); ++e) {
      aether::rvne::detail::store_weight(b.header.dtype, b.weights.data(), static_cast<std::size_t>(m.offset + e),
                                         (*src)[static_cast<std::size_t>(e)]);
    }
  });
  return b;
}

std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

int run(Args a, CLI::App& app) {
  if (a.arch != "v1" && a.arch != "v2") return aether_cli::usage_error(app, "--arch: expected v1 or v2, found " + a.arch);
  const bool v2 = a.arch == "v2";
  if (!v2) apply_v1_defaults(a, app);
  if (!v2 && a.highpass != 0) {
    return aether_cli::usage_error(app, "--highpass: a version 2 featuriser step (--arch v2); v1 has none");
  }
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
  o.features.highpass = static_cast<std::uint16_t>(a.highpass);          // <= 65535 (checked by its flag)
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
  if (v2) {
    aether::train::V2Defaults v = kV2;  // the flags override single values
    v.layers = shape.layers;
    v.q_heads = shape.q_heads;
    v.kv_heads = shape.kv_heads;
    v.head_dim = shape.head_dim;
    v.d_model = static_cast<std::uint16_t>(a.d_model);
    v.ffn_dim = static_cast<std::uint16_t>(a.ffn_dim);
    v.conv_kernel = static_cast<std::uint16_t>(a.conv_kernel);
    v.conv_dilation = static_cast<std::uint16_t>(a.conv_dilation);
    v.pool = a.pool == "last" ? aether::rvne::PoolKind::last : aether::rvne::PoolKind::mean;
    v.attn_window = static_cast<std::uint32_t>(a.attn_window);
    v.block_size = static_cast<std::uint32_t>(a.block_size);
    shape = v.shape(shape.input_dim, shape.classes, feature_desc(d.features));
    aether::rvne::check_header(shape, 0);  // e.g. an odd --head-dim for RoPE: invalid_header naming it
  }

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
  t.augment.drift = a.drift;
  t.augment.noise = a.noise;
  t.average_epochs = a.average_epochs;
  if (a.constant_feature) t.augment.features = o.features.input_dim - 1;  // the constant stays 1
  if (!v2) {  // a v2 blob carries its own attention options
    t.attention.window = a.attn_window;
    t.attention.block_size = a.block_size;
  }

  const std::vector<train::Example> tr = examples_of(d.train), va = examples_of(d.validation), te = examples_of(d.test);
  std::vector<std::size_t> class_counts(d.classes.names.size(), 0);
  for (const auto& x : tr) ++class_counts[x.label];

  io::Sidecar sc;
  if (!v2) {  // a v2 blob carries these itself, and its sidecar must not repeat them
    sc.attention = t.attention;
    sc.pool = t.pool;
    sc.features = io::features_to_json(d.features);
  }
  sc.window = a.window;
  sc.stride = a.stride;
  sc.classes = d.classes.names;
  json prov = {{"tool", std::string("train_blob ") + AETHER_VERSION_STRING},
               {"data", recordings_json(recs, true)},
               {"task", task.kind == io::TaskKind::labels ? "labels=" + task.labels_csv.filename().string() : task.name()},
               {"seed", a.seed},
               {"epochs", a.epochs},
               {"batch", a.batch},
               {"lr", a.lr},
               {"arch", a.arch},
               {"weight_decay", a.weight_decay},
               {"average_epochs", a.average_epochs},
               {"augment", {{"drift", a.drift}, {"noise", a.noise}}},
               {"highpass", a.highpass},
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
    io::save_model(a.out, with_features(b, d.features), s);
  };
  train::TrainResult res = train::train(shape, tr, va, t, cb);
  res.blob = with_features(std::move(res.blob), d.features);

  train::EvalOptions eo;
  eo.pool = t.pool;  // v1; a v2 blob runs with its own pool and attention
  eo.attention = t.attention;
  eo.threads = a.threads;
  const json test_report = accuracy_report(evaluate_windows(res.blob, te, eo), d.classes.names);
  const json train_report = accuracy_report(evaluate_windows(res.blob, tr, eo), d.classes.names);
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
    app->add_option("--arch", a.arch,
                    "v2: the v2 model and recipe of train::V2Defaults (the defaults shown here; the blob carries its "
                    "featuriser, pool and attention) | v1: the reference's architecture, with v1's defaults (epochs 20, "
                    "lr 0.003, weight decay 0, patience 5, no drift, no highpass, no averaging, val-fraction 0.15) for every value not given")
        ->capture_default_str();
    app->add_option("--pool", a.pool, "mean | last (a stream reports the newest frame: last)")->capture_default_str();
    app->add_option("--d-model", a.d_model, "v2: residual width (input projection)")->capture_default_str()->check(in_range<size_t>(1, 65535));
    app->add_option("--ffn-dim", a.ffn_dim, "v2: feed-forward hidden width")->capture_default_str()->check(in_range<size_t>(1, 65535));
    app->add_option("--conv-kernel", a.conv_kernel, "v2: causal depthwise convolution taps")->capture_default_str()->check(in_range<size_t>(1, 65535));
    app->add_option("--conv-dilation", a.conv_dilation, "v2: convolution dilation")->capture_default_str()->check(in_range<size_t>(1, 65535));
    app->add_option("--drift", a.drift, "augmentation: std of a per-feature offset held over each training window "
                                        "(standardised units; session drift); 0 off")->capture_default_str()->check(in_range(0.0f, 100.0f));
    app->add_option("--noise", a.noise, "augmentation: std of noise on every training value; 0 off")->capture_default_str()->check(in_range(0.0f, 100.0f));
    app->add_option("--highpass", a.highpass, "v2: the featuriser's causal baseline removal, time constant in frames "
                                              "(removes slow drift such as a room's or a session's level); 0 off")
        ->capture_default_str()->check(in_range<size_t>(0, 65535));
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
    app->add_option("--average-epochs", a.average_epochs,
                    "without validation windows (--val-fraction 0): keep the mean of the last N epochs' weights "
                    "(0 or 1: the last epoch's)")
        ->capture_default_str()->check(in_range<size_t>(0, 1000000));
    app->add_option("--threads", a.threads, "OpenMP threads (0: default; the blob does not depend on it)")->capture_default_str()->check(in_range(0, kMaxThreads));
    app->add_flag("--json", a.json_out, "print the result as JSON on stdout");
    app->add_flag("--quiet", a.quiet, "no progress on stderr");
    app->footer("Exit status: 0 trained, 1 invalid data, 2 usage or I/O error.");
    if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
    return run(a, *app);
  });
}
