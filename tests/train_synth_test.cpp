// The synthetic benchmark task (io/csi_simulator.hpp, docs/training-synthetic.md)
// end to end through the library API: simulator -> reader -> featuriser ->
// windows -> Trainer -> held-out accuracy, beside the same model with its
// random initial weights and an order-blind baseline; and the order task
// (recorded vs seeded permutation) on the same recordings. Label train_synth
// (left out of the sanitizer test presets: minutes under ASan).
//
// Measured (docs/training-synthetic.md): the fixed architecture (no norm, no
// MLP, no bias) does NOT reach the 90% bar on either task; it fits
// the training rooms and stays near chance on held-out rooms. These tests
// therefore check what holds -- the task is order-dependent (the order-blind
// baseline is near chance), the pipeline trains end to end, and the trained
// model is no worse than chance by a wide margin -- and print the numbers
// the bar is about, so a later architecture change can turn the bar on.
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

constexpr std::size_t kWindow = 32, kStride = 8;

aether::train::TrainOptions synth_train_options() {
  aether::train::TrainOptions o;
  o.epochs = 40;
  o.batch = 16;
  o.patience = 6;
  o.adamw.lr = 3e-3f;
  o.adamw.weight_decay = 1e-4f;
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

// Trains the AETHER default shape on `data` and evaluates it, its random
// initial weights and the order-blind baseline on the held-out windows;
// prints them beside chance.
TaskResult run_task(const char* what, const SynthData& data, std::uint16_t classes) {
  aether::rvne::Header shape = aether::rvne::Header::aether_default();
  shape.classes = classes;
  const auto opt = synth_train_options();
  const aether::train::TrainResult r = aether::train::train(shape, data.train, data.validation, opt);
  TaskResult out;
  out.test_windows = data.test.size();
  out.steps = r.steps;
  out.trained = eval_acc(r.blob, data.test);
  out.initial = eval_acc(aether::rvne::init_random(shape, opt.seed), data.test);
  out.blind = aether_test::order_blind_accuracy(data.train, data.test, classes);
  std::printf("[ synth    ] %s, %zu train / %zu val / %zu test windows, %zu steps, %.1f s\n", what, data.train.size(),
              data.validation.size(), data.test.size(), r.steps, r.seconds);
  std::printf("[ synth    ] held-out accuracy: trained %.1f%%, random init %.1f%%, order-blind (mean/var) %.1f%%, "
              "chance %.0f%%\n",
              100 * out.trained, 100 * out.initial, 100 * out.blind, 100.0 / classes);
  return out;
}

// Four classes that differ only in the rate of the reflector's motion.
TEST(SynthTask, FourRatesHeldOutAccuracyBesideBaselines) {
  const SynthData data = aether_test::make_synth_data("rates", aether::io::TaskKind::labels, kWindow, kStride);
  ASSERT_EQ(data.classes.names.size(), 4u);
  const TaskResult r = run_task("4 rates", data, 4);
  EXPECT_LT(r.blind, 0.5) << "an order-blind statistic separates the classes: the task does not test time";
  EXPECT_GT(r.steps, 0u);
  EXPECT_GT(r.trained, 0.10) << "the trained model is far below chance: the pipeline is broken";
  EXPECT_EQ(r.test_windows, 192u);
}

// Order task: recorded windows vs the same frames in a seeded permutation.
TEST(SynthTask, OrderTaskHeldOutAccuracyBesideBaselines) {
  const SynthData data = aether_test::make_synth_data("order", aether::io::TaskKind::order, kWindow, kStride);
  ASSERT_EQ(data.classes.names.size(), 2u);
  const TaskResult r = run_task("order", data, 2);
  EXPECT_LT(r.blind, 0.6) << "an order-blind statistic separates recorded from permuted windows";
  EXPECT_GT(r.steps, 0u);
  EXPECT_GT(r.trained, 0.30) << "the trained model is far below chance: the pipeline is broken";
}

}  // namespace
