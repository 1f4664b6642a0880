// The synthetic benchmark task (io/csi_simulator.hpp, docs/training-synthetic.md)
// end to end through the library API: simulator -> reader -> featuriser ->
// windows -> train -> held-out accuracy, beside the same model with its
// random initial weights and an order-blind baseline; the 4-rate task and
// the order task (recorded vs a seeded permutation of the same frames).
// Label train_synth: minutes of training, so the sanitizer presets leave it
// out.
//
// Both tasks train one setup (`kSetup`, `synth_shape`, `synth_train_options`):
// windows of 96 frames (4.8 s at 20 frames/s), stride 8, from 40 simulated
// rooms per class; 8 other rooms per class held out; the featuriser's
// constant feature (the model has no bias terms); three layers of the AETHER
// head (4 query heads over 1 kv head of 32) with a local window of 2 and
// landmark blocks of 8. The order task must reach the 90% on the
// held-out rooms. The 4-rate task does not reach it (docs/training-synthetic.md
// gives the measured numbers and why); its test checks that the task is
// order-dependent and that the trained model is above chance.
#include <aether/io/csi_recording.hpp>
#include <aether/io/csi_simulator.hpp>
#include <aether/io/dataset.hpp>
#include <aether/rvne.hpp>
#include <aether/train/trainer.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "synth_support.hpp"

namespace {

using aether::train::Example;
using aether_test::SynthData;

aether_test::SynthSetup synth_setup() {
  aether_test::SynthSetup s;
  s.window = 96;
  s.stride = 8;
  s.train_segments = 40;
  s.test_segments = 8;
  s.constant_feature = true;
  return s;
}

aether::rvne::Header synth_shape(std::uint16_t classes) {
  aether::rvne::Header h = aether::rvne::Header::aether_default();
  h.layers = 3;
  h.classes = classes;
  return h;
}

aether::train::TrainOptions synth_train_options() {
  aether::train::TrainOptions o;
  o.epochs = 40;
  o.batch = 16;
  o.patience = 0;  // every epoch; the result keeps the best validation epoch
  o.adamw.lr = 3e-3f;
  o.adamw.weight_decay = 1e-4f;
  o.attention.window = 2;
  o.attention.block_size = 8;
  o.seed = 5;
  return o;
}

double eval_acc(const aether::rvne::Blob& b, const std::vector<Example>& xs) {
  const auto t = synth_train_options();
  aether::train::EvalOptions e;
  e.pool = t.pool;
  e.attention = t.attention;
  return aether::train::evaluate(b, xs, e).accuracy;
}

// The three held-out accuracies a task is judged by.
struct TaskResult {
  std::size_t test_windows = 0, steps = 0;
  double trained = 0, initial = 0, blind = 0;
};

// Trains the synthetic setup on `data` and evaluates it, its random initial
// weights and the order-blind baseline on the held-out windows; prints them
// beside chance.
TaskResult run_task(const char* what, const SynthData& data, std::uint16_t classes) {
  const aether::rvne::Header shape = synth_shape(classes);
  const auto opt = synth_train_options();
  const aether::train::TrainResult r = aether::train::train(shape, data.train, data.validation, opt);
  TaskResult out;
  out.test_windows = data.test.size();
  out.steps = r.steps;
  out.trained = eval_acc(r.blob, data.test);
  out.initial = eval_acc(aether::rvne::init_random(shape, opt.seed), data.test);
  out.blind = aether_test::order_blind_accuracy(data.train, data.test, classes);
  std::printf("[ synth    ] %s, %zu train / %zu val / %zu test windows, %zu steps, best epoch %zu, %.1f s\n", what,
              data.train.size(), data.validation.size(), data.test.size(), r.steps, r.best_epoch, r.seconds);
  std::printf("[ synth    ] held-out accuracy: trained %.1f%%, random init %.1f%%, order-blind (mean/var) %.1f%%, "
              "chance %.0f%%\n",
              100 * out.trained, 100 * out.initial, 100 * out.blind, 100.0 / classes);
  return out;
}

// Four classes that differ only in the rate of the reflector's motion.
TEST(SynthTask, FourRatesHeldOutAccuracyBesideBaselines) {
  const SynthData data = aether_test::make_synth_data("rates", aether::io::TaskKind::labels, synth_setup());
  ASSERT_EQ(data.classes.names.size(), 4u);
  const TaskResult r = run_task("4 rates", data, 4);
  EXPECT_LT(r.blind, 0.5) << "an order-blind statistic separates the classes: the task does not test time";
  EXPECT_GT(r.steps, 0u);
  EXPECT_GT(r.trained, 0.25) << "the trained 4-rate model is not above chance (25%)";
}

// Order task: recorded windows vs the same frames in a seeded permutation.
TEST(SynthTask, OrderTaskReaches90PercentOnHeldOutRooms) {
  const SynthData data = aether_test::make_synth_data("order", aether::io::TaskKind::order, synth_setup());
  ASSERT_EQ(data.classes.names.size(), 2u);
  const TaskResult r = run_task("order", data, 2);
  EXPECT_LT(r.blind, 0.6) << "an order-blind statistic separates recorded from permuted windows";
  EXPECT_LT(r.initial, 0.6) << "the untrained model already tells the order";
  EXPECT_GE(r.trained, 0.90) << "issue 11: order must reach 90% on the synthetic recordings";
}

}  // namespace
