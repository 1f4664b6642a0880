// The synthetic task's plumbing: the featuriser on known amplitudes, the
// simulator's determinism and format (through the recording reader and the
// labels CSV reader), and windowing (one stream per node, stride).
#include <aether/io/csi_recording.hpp>
#include <aether/io/csi_simulator.hpp>
#include <aether/io/dataset.hpp>
#include <aether/io/featurizer.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "synth_support.hpp"
#include "test_support.hpp"

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace synth_io_test {

namespace {

using aether::io::FeaturizerConfig;
using aether::io::FrameResult;

std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Subcarrier amplitudes 0 (null), 5, 10, 0 (null), 5, 13: the four non-null
// ones pooled into two groups are (5 + 10) / 2 and (5 + 13) / 2.
const std::int8_t kIq[] = {0, 0, 3, 4, 6, 8, 0, 0, 0, 5, 12, 5};

TEST(Featurizer, KnownAmplitudesGiveKnownGroupsNullsExcluded) {
  FeaturizerConfig c;
  c.input_dim = 2;
  c.log_amplitude = false;
  c.centre_frame = false;
  float out[2] = {0, 0};
  ASSERT_EQ(aether::io::featurize_iq(c, kIq, 6, out), FrameResult::ok);
  EXPECT_FLOAT_EQ(out[0], 7.5f);
  EXPECT_FLOAT_EQ(out[1], 9.0f);
  // log1p, then minus the frame mean.
  c.log_amplitude = true;
  c.centre_frame = true;
  ASSERT_EQ(aether::io::featurize_iq(c, kIq, 6, out), FrameResult::ok);
  const float a = std::log1p(7.5f), b = std::log1p(9.0f);
  EXPECT_FLOAT_EQ(out[0], a - (a + b) / 2);
  EXPECT_FLOAT_EQ(out[1], b - (a + b) / 2);
  // Standardisation (step 5), and the amplitude form gives the same groups.
  c.log_amplitude = false;
  c.centre_frame = false;
  c.offset = {1.0f, 2.0f};
  c.scale = {2.0f, 0.5f};
  const float amp[] = {0, 5, 10, 0, 5, 13};
  ASSERT_EQ(aether::io::featurize_amplitude(c, amp, 6, out), FrameResult::ok);
  EXPECT_FLOAT_EQ(out[0], (7.5f - 1.0f) * 2.0f);
  EXPECT_FLOAT_EQ(out[1], (9.0f - 2.0f) * 0.5f);
  // More groups than non-null subcarriers: group g takes subcarrier floor(g n / d).
  FeaturizerConfig wide;
  wide.input_dim = 8;
  wide.log_amplitude = false;
  wide.centre_frame = false;
  float w[8];
  ASSERT_EQ(aether::io::featurize_iq(wide, kIq, 6, w), FrameResult::ok);
  const float expect[8] = {5, 5, 10, 10, 5, 5, 13, 13};
  for (int g = 0; g < 8; ++g) EXPECT_FLOAT_EQ(w[g], expect[g]) << "group " << g;
  const std::int8_t nulls[] = {0, 0, 0, 0};
  EXPECT_EQ(aether::io::featurize_iq(c, nulls, 2, out), FrameResult::all_null);
  c.subcarriers = 64;
  EXPECT_EQ(aether::io::featurize_iq(c, kIq, 6, out), FrameResult::filtered);
}

// The constant feature: the measured features fill input_dim - 1 slots (the
// same groups as a featuriser of that width), the last is 1; a fitted
// standardisation leaves it 1; node vectors are input_dim - 1 long; the
// sidecar form is version 2 and round-trips, and a version that disagrees
// with the flag is refused.
// Step 6 by hand: the first frame is its own baseline (zeros), then each
// frame minus the baseline, which moves 1/highpass of the way to the frame;
// the constant feature stays 1; a skipped call (highpass 0) changes nothing.
TEST(Featurizer, HighpassSubtractsACausalBaseline) {
  FeaturizerConfig c;
  c.source = aether::io::FeatureSource::node_features;
  c.input_dim = 3;
  c.constant_feature = true;
  c.highpass = 4;
  const float frames[3][2] = {{2.0f, -1.0f}, {6.0f, -1.0f}, {6.0f, 3.0f}};
  float baseline[2] = {0, 0}, out[3];
  std::uint64_t seen = 0;
  const float want[3][2] = {{0.0f, 0.0f}, {4.0f, 0.0f}, {3.0f, 4.0f}};  // baselines (2, -1), (3, -1)
  for (int t = 0; t < 3; ++t) {
    ASSERT_EQ(aether::io::featurize_vector(c, frames[t], 2, out), FrameResult::ok);
    aether::io::remove_baseline(c, baseline, seen, out);
    EXPECT_EQ(out[0], want[t][0]) << "frame " << t;
    EXPECT_EQ(out[1], want[t][1]) << "frame " << t;
    EXPECT_EQ(out[2], 1.0f) << "frame " << t;
  }
  EXPECT_EQ(seen, 3u);
  EXPECT_EQ(baseline[0], 3.75f);  // 3 + 3/4
  EXPECT_EQ(baseline[1], 0.0f);   // -1 + 4/4
  c.highpass = 0;
  ASSERT_EQ(aether::io::featurize_vector(c, frames[2], 2, out), FrameResult::ok);
  aether::io::remove_baseline(c, baseline, seen, out);
  EXPECT_EQ(out[0], 6.0f);
  EXPECT_EQ(seen, 3u);
}

TEST(Featurizer, ConstantFeatureIsTheLastAndStaysOne) {
  FeaturizerConfig c;
  c.input_dim = 3;
  c.constant_feature = true;
  c.log_amplitude = false;
  c.centre_frame = false;
  EXPECT_EQ(c.measured_dim(), 2u);
  float out[3] = {0, 0, 0};
  ASSERT_EQ(aether::io::featurize_iq(c, kIq, 6, out), FrameResult::ok);
  EXPECT_FLOAT_EQ(out[0], 7.5f);
  EXPECT_FLOAT_EQ(out[1], 9.0f);
  EXPECT_EQ(out[2], 1.0f);
  // Centring covers the measured features only.
  c.centre_frame = true;
  ASSERT_EQ(aether::io::featurize_iq(c, kIq, 6, out), FrameResult::ok);
  EXPECT_FLOAT_EQ(out[0], -0.75f);
  EXPECT_FLOAT_EQ(out[1], 0.75f);
  EXPECT_EQ(out[2], 1.0f);

  // Fitted standardisation: the constant gets offset 0, scale 1.
  aether::io::Series series;
  series.features = aether::io::FrameMatrix(4, 3);
  for (Eigen::Index r = 0; r < 4; ++r) {
    ASSERT_EQ(aether::io::featurize_iq(c, kIq, 6, series.features.data() + r * 3, false), FrameResult::ok);
    series.features(r, 0) += static_cast<float>(r);
  }
  aether::io::fit_standardisation(c, {series}, {aether::io::RowRange{0, 0, 4}});
  ASSERT_EQ(c.offset.size(), 3u);
  EXPECT_EQ(c.offset[2], 0.0f);
  EXPECT_EQ(c.scale[2], 1.0f);
  EXPECT_NE(c.offset[0], 0.0f);
  ASSERT_EQ(aether::io::featurize_iq(c, kIq, 6, out), FrameResult::ok);
  EXPECT_EQ(out[2], 1.0f);

  // Node vectors: measured_dim() values.
  FeaturizerConfig n;
  n.source = aether::io::FeatureSource::node_features;
  n.input_dim = 3;
  n.constant_feature = true;
  const float v2[] = {0.5f, -2.0f}, v3[] = {1, 2, 3};
  ASSERT_EQ(aether::io::featurize_vector(n, v2, 2, out), FrameResult::ok);
  EXPECT_EQ(out[0], 0.5f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], 1.0f);
  EXPECT_EQ(aether::io::featurize_vector(n, v3, 3, out), FrameResult::wrong_size);

  // Sidecar form: version 2 with the flag; round trip; disagreements refused.
  const aether::io::FeatureSpec spec = aether::io::features_to_json(c);
  EXPECT_EQ(spec.version, 2u);
  const FeaturizerConfig back = aether::io::features_from_json(spec);
  EXPECT_TRUE(back.constant_feature);
  EXPECT_EQ(back.input_dim, 3u);
  EXPECT_EQ(back.offset, c.offset);
  EXPECT_EQ(aether::io::features_to_json(FeaturizerConfig{}).version, 1u);
  aether::io::FeatureSpec v1 = spec;
  v1.version = 1;
  const std::string version_error =
      aether_test::error_text(aether::Errc::invalid_sidecar, [&] { aether::io::features_from_json(v1); });
  EXPECT_NE(version_error.find("features.version"), std::string::npos) << version_error;
  aether::io::FeatureSpec narrow = spec;
  narrow.constants["input_dim"] = 1;
  narrow.constants.erase("offset");
  narrow.constants.erase("scale");
  const std::string narrow_error =
      aether_test::error_text(aether::Errc::invalid_sidecar, [&] { aether::io::features_from_json(narrow); });
  EXPECT_NE(narrow_error.find("features.constants.input_dim"), std::string::npos) << narrow_error;
}

aether::io::SimulatorOptions small_sim(std::uint64_t seed) {
  aether::io::SimulatorOptions o;
  o.seed = seed;
  o.segments_per_class = 1;
  o.segment_seconds = 2.0;
  o.nodes = 2;
  return o;
}

TEST(CsiSimulator, SameSeedSameBytesOtherSeedOtherBytes) {
  const auto dir = aether_test::fresh_dir("determinism");
  aether::io::simulate_recording(dir / "a", small_sim(7));
  aether::io::simulate_recording(dir / "b", small_sim(7));
  aether::io::simulate_recording(dir / "c", small_sim(8));
  for (const char* ext : {".csi.jsonl", ".labels.csv"}) {
    const std::string a = file_bytes(dir / (std::string("a") + ext));
    ASSERT_FALSE(a.empty()) << ext;
    EXPECT_EQ(a, file_bytes(dir / (std::string("b") + ext))) << ext;
  }
  EXPECT_NE(file_bytes(dir / "a.csi.jsonl"), file_bytes(dir / "c.csi.jsonl"));
  std::filesystem::remove_all(dir);
}

TEST(CsiSimulator, RecordingRoundTripsThroughTheReader) {
  const auto dir = aether_test::fresh_dir("format");
  const aether::io::SimulatorOptions o = small_sim(3);
  const std::size_t records = aether::io::simulate_recording(dir / "r", o);
  const std::size_t frames_per_node = 40;  // 2 s at 20 frames/s, per segment
  EXPECT_EQ(records, 4 * frames_per_node * o.nodes);
  const aether::io::Recording r = aether::io::read_recording(dir / "r.csi.jsonl");
  EXPECT_EQ(r.counts.lines, records);
  EXPECT_EQ(r.counts.raw_csi, records);
  EXPECT_EQ(r.counts.rejected(), 0u);
  ASSERT_TRUE(r.meta.present);
  EXPECT_EQ(r.meta.label, "synthetic");
  ASSERT_EQ(r.nodes.size(), o.nodes);
  for (const auto& n : r.nodes) {
    ASSERT_EQ(n.frames.size(), 4 * frames_per_node);
    for (const auto& f : n.frames) {
      ASSERT_EQ(f.subcarriers, 64u);
      for (std::size_t k = 0; k < 64; ++k) {
        const bool null_pair = f.iq[2 * k] == 0 && f.iq[2 * k + 1] == 0;
        const bool expected_null = k == 0 || (k >= 27 && k <= 37);
        ASSERT_EQ(null_pair, expected_null) << "node " << n.node_id << " line " << f.line << " subcarrier " << k;
      }
    }
    EXPECT_NEAR(n.frames[1].timestamp - n.frames[0].timestamp, 1.0 / o.frame_rate, 1e-6);
  }
  // Labels CSV: one range per segment, each class once, contiguous in time.
  const auto ranges = aether::io::read_labels_csv(dir / "r.labels.csv");
  ASSERT_EQ(ranges.size(), 4u);
  std::set<std::string> names;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    names.insert(ranges[i].label);
    EXPECT_DOUBLE_EQ(ranges[i].end - ranges[i].start, o.segment_seconds);
    if (i > 0) {
      EXPECT_DOUBLE_EQ(ranges[i].start, ranges[i - 1].end);
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"rate_0.25Hz", "rate_0.5Hz", "rate_1Hz", "rate_2Hz"}));
  // Every frame of node 1 lies in a range; 40 frames per range.
  for (const auto& rg : ranges) {
    std::size_t in = 0;
    for (const auto& f : r.nodes[0].frames) in += f.timestamp >= rg.start && f.timestamp < rg.end ? 1 : 0;
    EXPECT_EQ(in, frames_per_node) << rg.label;
  }
  std::filesystem::remove_all(dir);
}

// stream_per_room: the same rooms and bytes of I/Q, but every segment's
// nodes are new streams (node ids 1 + segment x nodes + node), each inside
// one label range; the default layout keeps nodes 1..nodes over every segment.
TEST(CsiSimulator, StreamPerRoomGivesEveryRoomItsOwnNodes) {
  const auto dir = aether_test::fresh_dir("per-room");
  aether::io::SimulatorOptions o = small_sim(3);
  aether::io::simulate_recording(dir / "steady", o);
  o.stream_per_room = true;
  const std::size_t records = aether::io::simulate_recording(dir / "rooms", o);
  const aether::io::Recording steady = aether::io::read_recording(dir / "steady.csi.jsonl");
  const aether::io::Recording rooms = aether::io::read_recording(dir / "rooms.csi.jsonl");
  EXPECT_EQ(rooms.counts.raw_csi, records);
  EXPECT_EQ(rooms.counts.rejected(), 0u);
  ASSERT_EQ(steady.nodes.size(), o.nodes);
  const std::size_t segments = 4, frames_per_segment = 40;
  ASSERT_EQ(rooms.nodes.size(), segments * o.nodes);
  const auto ranges = aether::io::read_labels_csv(dir / "rooms.labels.csv");
  ASSERT_EQ(ranges.size(), segments);
  for (std::size_t s = 0; s < segments; ++s) {
    for (std::size_t n = 0; n < o.nodes; ++n) {
      const aether::io::NodeRecords* node = rooms.node(static_cast<std::int64_t>(1 + s * o.nodes + n));
      ASSERT_NE(node, nullptr) << "segment " << s << " node " << n;
      ASSERT_EQ(node->frames.size(), frames_per_segment);
      // The same frames as the steady layout's node n + 1 in segment s.
      const aether::io::NodeRecords* same = steady.node(static_cast<std::int64_t>(n + 1));
      ASSERT_NE(same, nullptr);
      for (std::size_t i = 0; i < frames_per_segment; ++i) {
        const auto& f = node->frames[i];
        EXPECT_TRUE(f.timestamp >= ranges[s].start && f.timestamp < ranges[s].end) << "segment " << s << " frame " << i;
        EXPECT_EQ(f.iq, same->frames[s * frames_per_segment + i].iq) << "segment " << s << " frame " << i;
      }
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(CsiSimulator, RejectsBadOptionsWithTypedErrors) {
  aether::io::SimulatorOptions o = small_sim(1);
  o.rates.clear();
  EXPECT_THROW(aether::io::simulate_recording(aether_test::fresh_dir("bad") / "x", o), aether::Error);
  o = small_sim(1);
  o.classes = {4};
  EXPECT_THROW(aether::io::simulate_recording(aether_test::fresh_dir("bad") / "x", o), aether::Error);
  std::filesystem::remove_all(aether_test::fresh_dir("bad"));
}

TEST(Windows, OneStreamPerNodeNeverMixedWithStride) {
  const auto dir = aether_test::fresh_dir("windows");
  aether::io::simulate_recording(dir / "r", small_sim(5));
  const aether::io::Recording r = aether::io::read_recording(dir / "r.csi.jsonl");
  std::filesystem::remove_all(dir);
  FeaturizerConfig c;
  aether::io::FeaturizeCounts counts;
  const auto series = aether::io::featurize_recording(r, 0, c, false, counts);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].node_id, 1);
  EXPECT_EQ(series[1].node_id, 2);
  const std::size_t window = 10, stride = 7;
  const auto ws = aether::io::make_windows(series, window, stride);
  std::vector<std::size_t> per_series(2, 0);
  for (const auto& w : ws) {
    ASSERT_LT(w.series, 2u);
    EXPECT_EQ(w.first % stride, 0u);
    ASSERT_LE(w.first + window, static_cast<std::size_t>(series[w.series].features.rows()));
    ++per_series[w.series];
    // The window's frames are consecutive frames of that node's stream only.
    const auto& node = *r.node(series[w.series].node_id);
    for (std::size_t i = 0; i < window; ++i) {
      EXPECT_EQ(series[w.series].lines[w.first + i], node.frames[w.first + i].line);
    }
    const auto x = aether::io::window_frames(series, w, window);
    EXPECT_EQ(x, series[w.series].features.middleRows(static_cast<Eigen::Index>(w.first), static_cast<Eigen::Index>(window)));
  }
  // 160 frames per node: starts 0, 7, ..., 147 (22 windows).
  EXPECT_EQ(per_series[0], 22u);
  EXPECT_EQ(per_series[1], 22u);
}

}  // namespace

}  // namespace synth_io_test
