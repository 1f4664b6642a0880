#pragma once
// Shared by the synthetic-task tests: simulated train/test recordings turned
// into labelled windows through the tools' own path (reader, featuriser,
// build_dataset), and an order-blind baseline classifier.

#include <aether/io/csi_recording.hpp>
#include <aether/io/csi_simulator.hpp>
#include <aether/io/dataset.hpp>
#include <aether/train/trainer.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace aether_test {

/// A fresh empty folder under the system temp folder (removed first if present).
inline std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("aether-synth-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::vector<aether::train::Example> examples_of(const std::vector<aether::io::LabelledWindow>& ws) {
  std::vector<aether::train::Example> out;
  out.reserve(ws.size());
  for (const auto& w : ws) out.push_back(aether::train::Example{w.frames, w.label});
  return out;
}

struct SynthData {
  aether::io::ClassMap classes;
  std::vector<aether::train::Example> train, validation, test;
};

/// How the synthetic windows are made.
struct SynthSetup {
  std::size_t window = 32, stride = 8;
  std::size_t train_segments = 8;  ///< per class in the training recording (one room each)
  std::size_t test_segments = 4;   ///< per class in the test recording
  bool constant_feature = false;   ///< featuriser's constant last feature
  std::uint16_t highpass = 0;      ///< featuriser's step 6 time constant (frames; 0 off)
  double validation_fraction = 0.15;  ///< end of the training recording held out for validation
  bool stream_per_room = false;    ///< simulator: every room its own stream (SimulatorOptions)
  std::uint64_t train_order_seed = 3;  ///< order task: permutation seed of the training recording
  std::uint64_t test_order_seed = 4;   ///< order task: permutation seed of the test recording
};

/// Training recording (seed 11: time-ordered train | validation split) and a
/// separately simulated test recording (seed 12: other rooms, other
/// phases), featurised with the training part's standardisation and classes.
/// The tools' path: `csi_simulate --seed 11|12 --segments S`, then
/// `train_blob --test-fraction 0` (validation as `--val-fraction`, standardisation fitted on
/// the training part) and `eval_blob`; the tools permute order-task windows
/// with the training seed, on both recordings.
inline SynthData make_synth_data(const std::string& tag, aether::io::TaskKind kind, const SynthSetup& setup) {
  const auto dir = fresh_dir(tag);
  aether::io::SimulatorOptions sim;
  sim.seed = 11;
  sim.stream_per_room = setup.stream_per_room;
  sim.segments_per_class = setup.train_segments;
  aether::io::simulate_recording(dir / "train", sim);
  sim.seed = 12;
  sim.segments_per_class = setup.test_segments;
  aether::io::simulate_recording(dir / "test", sim);

  aether::io::DatasetOptions o;
  o.features.constant_feature = setup.constant_feature;
  o.features.highpass = setup.highpass;
  o.task.kind = kind;
  o.task.labels_csv = dir / "train.labels.csv";
  o.windows.window = setup.window;
  o.windows.stride = setup.stride;
  o.windows.test_fraction = 0;
  o.windows.validation_fraction = setup.validation_fraction;
  o.seed = setup.train_order_seed;
  const aether::io::Dataset tr = aether::io::build_dataset({aether::io::read_recording(dir / "train.csi.jsonl")}, o);
  o.task.labels_csv = dir / "test.labels.csv";
  o.windows.validation_fraction = 0;
  o.features = tr.features;
  o.classes = tr.classes;
  o.seed = setup.test_order_seed;
  const aether::io::Dataset te = aether::io::build_dataset({aether::io::read_recording(dir / "test.csi.jsonl")}, o);
  std::filesystem::remove_all(dir);
  return SynthData{tr.classes, examples_of(tr.train), examples_of(tr.validation), examples_of(te.train)};
}

/// Order-blind features of a window: per feature column its mean and
/// variance over the frames (any permutation of the frames gives the same).
inline std::vector<double> mean_var(const aether::train::Matrix& x) {
  std::vector<double> f;
  for (Eigen::Index c = 0; c < x.cols(); ++c) {
    const double m = x.col(c).cast<double>().mean();
    f.push_back(m);
    f.push_back((x.col(c).cast<double>().array() - m).square().mean());
  }
  return f;
}

/// Accuracy on `test` of a softmax regression on `mean_var` features
/// (standardised on `train`), fitted on `train` by 2,000 full-batch gradient
/// steps in double: the order-blind baseline.
inline double order_blind_accuracy(const std::vector<aether::train::Example>& train,
                                   const std::vector<aether::train::Example>& test, std::size_t classes) {
  std::vector<std::vector<double>> ftr, fte;
  for (const auto& e : train) ftr.push_back(mean_var(e.frames));
  for (const auto& e : test) fte.push_back(mean_var(e.frames));
  const std::size_t d = ftr.at(0).size();
  std::vector<double> mu(d, 0), sd(d, 0);
  for (const auto& f : ftr) for (std::size_t j = 0; j < d; ++j) mu[j] += f[j] / static_cast<double>(ftr.size());
  for (const auto& f : ftr) for (std::size_t j = 0; j < d; ++j) sd[j] += (f[j] - mu[j]) * (f[j] - mu[j]) / static_cast<double>(ftr.size());
  for (double& s : sd) s = s > 1e-12 ? 1.0 / std::sqrt(s) : 1.0;
  auto standardise = [&](std::vector<std::vector<double>>& fs) {
    for (auto& f : fs) {
      for (std::size_t j = 0; j < d; ++j) f[j] = (f[j] - mu[j]) * sd[j];
      f.push_back(1.0);  // bias
    }
  };
  standardise(ftr);
  standardise(fte);
  const std::size_t D = d + 1;
  std::vector<double> w(classes * D, 0.0), g(classes * D), p(classes);
  auto probs = [&](const std::vector<double>& f) {
    double mx = -1e300;
    for (std::size_t c = 0; c < classes; ++c) {
      p[c] = 0;
      for (std::size_t j = 0; j < D; ++j) p[c] += w[c * D + j] * f[j];
      mx = std::max(mx, p[c]);
    }
    double s = 0;
    for (double& v : p) s += (v = std::exp(v - mx));
    for (double& v : p) v /= s;
  };
  for (int it = 0; it < 2000; ++it) {
    std::fill(g.begin(), g.end(), 0.0);
    for (std::size_t i = 0; i < ftr.size(); ++i) {
      probs(ftr[i]);
      for (std::size_t c = 0; c < classes; ++c) {
        const double e = p[c] - (c == train[i].label ? 1.0 : 0.0);
        for (std::size_t j = 0; j < D; ++j) g[c * D + j] += e * ftr[i][j];
      }
    }
    for (std::size_t k = 0; k < w.size(); ++k) w[k] -= 0.5 * (g[k] / static_cast<double>(ftr.size()) + 1e-4 * w[k]);
  }
  std::size_t ok = 0;
  for (std::size_t i = 0; i < fte.size(); ++i) {
    probs(fte[i]);
    std::size_t best = 0;
    for (std::size_t c = 1; c < classes; ++c) best = p[c] > p[best] ? c : best;
    ok += best == test[i].label ? 1 : 0;
  }
  return test.empty() ? 0.0 : static_cast<double>(ok) / static_cast<double>(test.size());
}

}  // namespace aether_test
