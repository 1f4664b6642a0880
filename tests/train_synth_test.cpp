// The synthetic benchmark task (io/csi_simulator.hpp, docs/training-synthetic.md)
// end to end through the library API: simulator -> reader -> featuriser ->
// windows -> train -> held-out accuracy, beside the same model with its
// initial weights and an order-blind baseline; the 4-rate task and the
// order task (recorded vs a seeded permutation of the same frames).
// Label long: minutes of training, so the sanitizer presets leave it out.
//
// Both tasks train the v2 defaults (train/v2_defaults.hpp: the model shape
// from `V2Defaults::shape`, the training options from `V2Defaults::options`,
// seed included) -- the model and recipe `train_blob` trains by default. The
// test owns only the data: windows of 96 frames (4.8 s at 20 frames/s),
// every 8 frames (4 rates) or 24 (order, CI time), from 40 simulated rooms
// per class, each room its own stream (`csi_simulate --stream-per-room`: the
// featuriser's high-pass starts afresh in every room, as on a node, instead
// of following a jump between rooms no sensor sees); 8 other rooms per
// class held out; the featuriser without the constant feature (v2 has
// biases), standardised on the training part as `train_blob` does; every
// training window trains (the defaults' validation_fraction 0).
//
// Assertions: the bars, 90% (4 rates) and 95% (order) on the
// held-out rooms, met by the v2 defaults in the release and native-test
// builds (docs/training-synthetic.md gives the measured numbers per seed).
#include <aether/io/csi_recording.hpp>
#include <aether/io/csi_simulator.hpp>
#include <aether/io/dataset.hpp>
#include <aether/rvne.hpp>
#include <aether/train/trainer.hpp>
#include <aether/train/v2_defaults.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "synth_support.hpp"

namespace train_synth_test {

using aether::train::Example;
using aether_test::SynthData;

// Windows of 96 frames every `stride` frames.
aether_test::SynthSetup synth_setup(std::size_t stride) {
  aether_test::SynthSetup s;
  s.window = 96;
  s.stride = stride;
  s.train_segments = 40;
  s.test_segments = 8;
  s.constant_feature = false;  // v2 has its own biases
  s.stream_per_room = true;    // csi_simulate --stream-per-room: a sensor stays in its room
  s.highpass = aether::train::V2Defaults{}.highpass;  // train_blob's featuriser
  s.validation_fraction = aether::train::V2Defaults{}.validation_fraction;  // train_blob's split (0: all rooms train)
  // Order task: windows permuted with the training seed, as train_blob and
  // eval_blob do (docs/training-synthetic.md gives the commands).
  s.train_order_seed = s.test_order_seed = aether::train::V2Defaults{}.options().seed;
  return s;
}

double eval_acc(const aether::rvne::Blob& b, const std::vector<Example>& xs) {
  // A v2 blob names its pooling and attention: the default EvalOptions run it as trained.
  return aether::train::evaluate(b, xs, aether::train::EvalOptions{}).accuracy;
}

// The three held-out accuracies a task is judged by.
struct TaskResult {
  std::size_t test_windows = 0, steps = 0;
  double trained = 0, initial = 0, blind = 0;
};

// Trains the v2 defaults on `data` and evaluates the result, its initial
// weights and the order-blind baseline on the held-out windows; prints them
// beside chance and v1's figure (docs/training-synthetic.md, measured
// before v2; not retrained here: v1's order task alone takes ~5 minutes in
// the release build).
TaskResult run_task(const char* what, const SynthData& data, std::uint16_t classes, double v1_release) {
  const aether::train::V2Defaults defaults;
  const std::uint16_t input_dim = static_cast<std::uint16_t>(data.train.at(0).frames.cols());
  const aether::rvne::Header shape = defaults.shape(input_dim, classes);
  const aether::train::TrainOptions opt = defaults.options();
  const aether::train::TrainResult r = aether::train::train(shape, data.train, data.validation, opt);
  TaskResult out;
  out.test_windows = data.test.size();
  out.steps = r.steps;
  out.trained = eval_acc(r.blob, data.test);
  out.initial = eval_acc(aether::rvne::init_trainable(shape, opt.seed), data.test);
  out.blind = aether_test::order_blind_accuracy(data.train, data.test, classes);
  std::printf("[ synth    ] %s (v2 defaults, seed %llu), %zu train / %zu val / %zu test windows, %zu steps, best epoch "
              "%zu of %zu, %.1f s\n",
              what, static_cast<unsigned long long>(opt.seed), data.train.size(), data.validation.size(),
              data.test.size(), r.steps, r.best_epoch, opt.epochs, r.seconds);
  std::printf("[ synth    ] held-out accuracy: trained %.1f%%, initial weights %.1f%%, order-blind (mean/var) %.1f%%, "
              "chance %.0f%% (v1, release build, docs: %.1f%%)\n",
              100 * out.trained, 100 * out.initial, 100 * out.blind, 100.0 / classes, 100 * v1_release);
  return out;
}

// Four classes that differ only in the rate of the reflector's motion.
TEST(SynthTask, FourRatesHeldOutAccuracyBesideBaselines) {
  const SynthData data = aether_test::make_synth_data("rates", aether::io::TaskKind::labels, synth_setup(8));
  ASSERT_EQ(data.classes.names.size(), 4u);
  const TaskResult r = run_task("4 rates", data, 4, 0.359);
  EXPECT_LT(r.blind, 0.5) << "an order-blind statistic separates the classes: the task does not test time";
  EXPECT_GT(r.steps, 0u);
  EXPECT_LT(r.initial, 0.4) << "the untrained model already tells the rates";
  // Issue 20's bar: the v2 defaults meet it in both builds (seed 1: 96.9%
  // release, 95.3% native-test; docs/training-synthetic.md).
  EXPECT_GE(r.trained, 0.90) << "issue 20: 4 rates must reach 90% on the held-out rooms";
}

// Order task: recorded windows vs the same frames in a seeded permutation.
TEST(SynthTask, OrderHeldOutAccuracyBesideBaselines) {
  const SynthData data = aether_test::make_synth_data("order", aether::io::TaskKind::order, synth_setup(24));
  ASSERT_EQ(data.classes.names.size(), 2u);
  const TaskResult r = run_task("order", data, 2, 0.955);
  EXPECT_LT(r.blind, 0.6) << "an order-blind statistic separates recorded from permuted windows";
  EXPECT_LT(r.initial, 0.6) << "the untrained model already tells the order";
  // Issue 20's bar: the v2 defaults meet it in both builds (seed 1: 96.9%
  // release, 96.9% native-test; docs/training-synthetic.md).
  EXPECT_GE(r.trained, 0.95) << "issue 20: order must reach 95% on the held-out rooms";
}

}  // namespace train_synth_test
