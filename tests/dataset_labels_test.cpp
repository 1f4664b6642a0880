// The label tasks of io/dataset.hpp (issue 11 item 4): meta, labels=CSV
// (straddling and unlabelled windows skipped and counted), motion (latest
// vitals at or before a window's last frame against the training split's
// median), order (recorded vs a seeded permutation of the same frames), and
// classes given by a model (unknown labels skipped and counted).

#include <aether/io/dataset.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace io = aether::io;

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace dataset_labels_test {

namespace {

/// One node, `n` amplitude-form frames at 10 Hz from t = 100 s (frame i's
/// amplitudes vary with i, so rows differ), and vitals records (time, energy).
io::Recording synthetic(std::size_t n, const std::vector<std::pair<double, double>>& vitals, std::string label = "") {
  io::Recording r;
  r.meta.label = std::move(label);
  io::NodeRecords node;
  node.node_id = 7;
  for (std::size_t i = 0; i < n; ++i) {
    io::CsiFrame f;
    f.timestamp = 100.0 + 0.1 * static_cast<double>(i);
    f.line = i + 1;
    f.subcarriers = 16;
    for (std::size_t k = 0; k < 16; ++k) f.amplitude.push_back(1.0f + static_cast<float>((i * 7 + k * 3) % 11));
    node.frames.push_back(std::move(f));
  }
  for (const auto& [t, e] : vitals) {
    io::VitalsRecord v;
    v.timestamp = t;
    v.motion_energy = e;
    node.vitals.push_back(v);
  }
  r.nodes.push_back(std::move(node));
  return r;
}

io::DatasetOptions options(const std::string& task, std::size_t window, std::size_t stride) {
  io::DatasetOptions o;
  o.task = io::parse_task(task);
  o.windows = io::WindowOptions{window, stride, 0.0, 0.0};  // everything in the training part
  return o;
}

std::filesystem::path write_csv(const std::string& name, const std::string& text) {
  const auto p = std::filesystem::temp_directory_path() / name;
  std::ofstream(p) << text;
  return p;
}

}  // namespace

TEST(DatasetLabels, MetaLabelsEveryWindowOrCountsThemAll) {
  const std::vector<io::Recording> recs = {synthetic(40, {}, "walking")};
  const io::Dataset d = io::build_dataset(recs, options("meta", 8, 4));
  ASSERT_EQ(d.counts.windows, 9u);  // firsts 0, 4, ..., 32
  EXPECT_EQ(d.counts.labels.labelled, 9u);
  EXPECT_EQ(d.train.size(), 9u);
  EXPECT_EQ(d.classes.names, std::vector<std::string>{"walking"});
  const std::vector<io::Recording> unlabelled = {synthetic(40, {})};
  EXPECT_THROW(io::build_dataset(unlabelled, options("meta", 8, 4)), aether::Error);
}

TEST(DatasetLabels, LabelsCsvSkipsAndCountsStraddlingAndUnlabelledWindows) {
  // Frames at 100.0 .. 103.9; "b" until 102.05, "a" until 103.45, then nothing.
  const auto csv = write_csv("aether_dataset_labels.csv", "start,end,label\n100,102.05,b\n102.05,103.45,a\n");
  const std::vector<io::Recording> recs = {synthetic(40, {})};
  const io::Dataset d = io::build_dataset(recs, options("labels=" + csv.string(), 8, 4));
  // Windows (first frame time .. last): 100.0-100.7, 100.4-101.1, ..., 103.2-103.9.
  std::size_t straddle = 0, outside = 0, in_b = 0, in_a = 0;
  for (std::size_t first = 0; first + 8 <= 40; first += 4) {
    const double t0 = 100.0 + 0.1 * static_cast<double>(first), t1 = 100.0 + 0.1 * static_cast<double>(first + 7);
    const bool last_out = t1 >= 103.45;
    if (last_out) {
      ++outside;
    } else if (t0 < 102.05 && t1 >= 102.05) {
      ++straddle;
    } else if (t1 < 102.05) {
      ++in_b;
    } else {
      ++in_a;
    }
  }
  EXPECT_EQ(d.counts.labels.straddling, straddle);
  EXPECT_EQ(d.counts.labels.unlabelled, outside);
  EXPECT_EQ(d.counts.labels.labelled, in_a + in_b);
  EXPECT_EQ(d.counts.windows, straddle + outside + in_a + in_b);
  ASSERT_EQ(d.classes.names, (std::vector<std::string>{"a", "b"}));  // lexicographic, not file order
  std::size_t got_a = 0, got_b = 0;
  for (const auto& w : d.train) (w.label == 0 ? got_a : got_b) += 1;
  EXPECT_EQ(got_a, in_a);
  EXPECT_EQ(got_b, in_b);
  std::filesystem::remove(csv);
}

TEST(DatasetLabels, MotionUsesLatestVitalsAtOrBeforeTheLastFrameAndTheTrainingMedian) {
  // Vitals at 100.55 (energy 1), 101.55 (5), 102.55 (2), 103.55 (9).
  const std::vector<io::Recording> recs = {synthetic(40, {{100.55, 1.0}, {101.55, 5.0}, {102.55, 2.0}, {103.55, 9.0}})};
  const io::Dataset d = io::build_dataset(recs, options("motion", 8, 4));
  // Expected per window: energy of the latest vitals at or before its last frame.
  std::vector<double> energy;
  std::size_t none = 0;
  for (std::size_t first = 0; first + 8 <= 40; first += 4) {
    const double t1 = 100.0 + 0.1 * static_cast<double>(first + 7);
    double e = -1;
    for (const auto& [t, v] : std::vector<std::pair<double, double>>{{100.55, 1}, {101.55, 5}, {102.55, 2}, {103.55, 9}}) {
      if (t <= t1) e = v;
    }
    if (e < 0) {
      ++none;
    } else {
      energy.push_back(e);
    }
  }
  std::vector<double> sorted = energy;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t m = sorted.size() / 2;
  const double median = sorted.size() % 2 ? sorted[m] : 0.5 * (sorted[m - 1] + sorted[m]);
  EXPECT_EQ(d.counts.labels.no_vitals, none);
  EXPECT_DOUBLE_EQ(d.motion_threshold, median);
  ASSERT_EQ(d.classes.names, (std::vector<std::string>{io::kMotionHigh, io::kMotionLow}));
  ASSERT_EQ(d.train.size(), energy.size());
  for (std::size_t i = 0; i < energy.size(); ++i) {
    EXPECT_EQ(d.classes.names[d.train[i].label], energy[i] > median ? io::kMotionHigh : io::kMotionLow) << "window " << i;
  }
  // A given threshold (the sidecar's, in eval_blob) is used as is.
  io::DatasetOptions o = options("motion", 8, 4);
  o.motion_threshold = 4.0;
  const io::Dataset e = io::build_dataset(recs, o);
  EXPECT_DOUBLE_EQ(e.motion_threshold, 4.0);
}

// The featuriser's step 6 (highpass) runs over each series after the
// standardisation, fitted (train_blob) or given (eval_blob, csi_replay):
// both paths give the same rows, each series starts its own baseline, and the
// rows are the standardised ones minus their causal baseline.
TEST(DatasetLabels, HighpassFollowsStandardisationOnBothPaths) {
  const std::vector<io::Recording> recs = {synthetic(40, {}, "walking"), synthetic(30, {}, "walking")};
  io::DatasetOptions o = options("meta", 8, 4);
  o.features.input_dim = 4;
  o.features.highpass = 5;
  const io::Dataset fitted = io::build_dataset(recs, o);
  ASSERT_EQ(fitted.features.offset.size(), 4u);
  ASSERT_EQ(fitted.features.highpass, 5u);
  io::DatasetOptions given = o;
  given.features = fitted.features;  // as eval_blob passes the model's featuriser
  const io::Dataset again = io::build_dataset(recs, given);
  ASSERT_EQ(again.series.size(), 2u);
  for (std::size_t s = 0; s < 2; ++s) EXPECT_EQ(again.series[s].features, fitted.series[s].features) << "series " << s;
  // Off: the standardised rows; step 6 by hand over each series gives the rows above.
  io::DatasetOptions off = given;
  off.features.highpass = 0;
  io::Dataset plain = io::build_dataset(recs, off);
  for (std::size_t s = 0; s < 2; ++s) {
    io::FrameMatrix& m = plain.series[s].features;
    EXPECT_NE(m, fitted.series[s].features);
    std::vector<float> baseline(4);
    std::uint64_t seen = 0;
    for (Eigen::Index r = 0; r < m.rows(); ++r) io::remove_baseline(given.features, baseline.data(), seen, m.row(r).data());
    EXPECT_EQ(m, fitted.series[s].features) << "series " << s;
    EXPECT_EQ(m.row(0).norm(), 0.0f) << "series " << s << " starts its own baseline";
  }
}

TEST(DatasetLabels, OrderPairsEachWindowWithASeededPermutationOfItsFrames) {
  const std::vector<io::Recording> recs = {synthetic(40, {})};
  io::DatasetOptions o = options("order", 8, 4);
  o.seed = 11;
  const io::Dataset d = io::build_dataset(recs, o);
  ASSERT_EQ(d.classes.names, (std::vector<std::string>{io::kOrderPermuted, io::kOrderRecorded}));
  ASSERT_EQ(d.train.size(), 2 * d.counts.windows);
  for (std::size_t i = 0; i < d.train.size(); i += 2) {
    const auto& rec = d.train[i];
    const auto& per = d.train[i + 1];
    EXPECT_EQ(rec.label, 1u);
    EXPECT_EQ(per.label, 0u);
    EXPECT_FALSE(rec.permuted);
    EXPECT_TRUE(per.permuted);
    EXPECT_NE(rec.frames, per.frames) << "window " << i / 2 << ": the permuted copy is the recorded order";
    // Same rows, other order: every recorded row appears in the copy.
    for (Eigen::Index r = 0; r < rec.frames.rows(); ++r) {
      bool found = false;
      for (Eigen::Index s = 0; s < per.frames.rows() && !found; ++s) found = per.frames.row(s) == rec.frames.row(r);
      EXPECT_TRUE(found) << "window " << i / 2 << " row " << r;
    }
  }
  // Seeded: same seed, same permutations; another seed, others.
  const io::Dataset again = io::build_dataset(recs, o);
  EXPECT_EQ(again.train[1].frames, d.train[1].frames);
  o.seed = 12;
  const io::Dataset other = io::build_dataset(recs, o);
  EXPECT_NE(other.train[1].frames, d.train[1].frames);
}

TEST(DatasetLabels, GivenClassesSkipAndCountUnknownLabels) {
  const auto csv = write_csv("aether_dataset_unknown.csv", "start,end,label\n100,102.05,zeta\n102.05,104,a\n");
  const std::vector<io::Recording> recs = {synthetic(40, {})};
  io::DatasetOptions o = options("labels=" + csv.string(), 8, 4);
  o.classes = io::ClassMap{{"a", "b"}};  // a model that knows a and b, not zeta
  const io::Dataset d = io::build_dataset(recs, o);
  std::size_t zeta = 0;
  for (std::size_t first = 0; first + 8 <= 40; first += 4) zeta += 100.0 + 0.1 * static_cast<double>(first + 7) < 102.05;
  EXPECT_EQ(d.counts.unknown_label, zeta);
  EXPECT_EQ(d.classes.names, (std::vector<std::string>{"a", "b"}));
  for (const auto& w : d.train) EXPECT_EQ(w.label, 0u);
  EXPECT_EQ(d.train.size() + zeta + d.counts.labels.straddling, d.counts.windows);
  std::filesystem::remove(csv);
}

TEST(DatasetLabels, LabelsCsvTimesMustBeWholeNumbers) {
  // Each bad time is refused with invalid_data naming the file and line; good ones parse.
  const auto good = write_csv("aether_dataset_labels_good.csv", "100, 102.5,a\n102.5,1.03e2,b\n");
  const std::vector<io::LabelRange> r = io::read_labels_csv(good);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].end, 102.5);
  EXPECT_EQ(r[1].end, 103.0);
  for (const char* bad : {"abc,102,a\n", "100,102x,a\n", "100,,a\n", "100,1e999,a\n", "1e-400,102,a\n"}) {
    const auto csv = write_csv("aether_dataset_labels_bad.csv", bad);
    try {
      io::read_labels_csv(csv);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const aether::Error& e) {
      EXPECT_EQ(e.code(), aether::Errc::invalid_data) << bad;
      EXPECT_NE(std::string(e.what()).find("aether_dataset_labels_bad.csv:1"), std::string::npos) << e.what();
    }
  }
}

}  // namespace dataset_labels_test
