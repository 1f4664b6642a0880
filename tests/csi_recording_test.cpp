// aether::io recording reader: every line accounted for (real ESP32 data and
// a hand-made file with one line of each kind of defect).
#include <aether/io/csi_recording.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace csi_recording_test {

namespace {

// Real recordings (RuView, MIT): tests/data/ruview-cfda8db, listed in tests/data/README.md.
const std::filesystem::path kCsi = std::filesystem::path(AETHER_TEST_DATA_DIR) / "ruview-cfda8db";

TEST(CsiRecording, RealRecordingEveryLineCounted) {
  const auto path = kCsi / "pretrain-1775182186.first72s.csi.jsonl";
  ASSERT_TRUE(std::filesystem::exists(path)) << "test data missing: " << path;
  const aether::io::Recording r = aether::io::read_recording(path);
  EXPECT_EQ(r.counts.lines, 3460u);  // wc -l of the file; the meta's frame_count
  EXPECT_EQ(r.counts.kept() + r.counts.rejected(), r.counts.lines);
  EXPECT_EQ(r.counts.untyped, 2u);  // csi/README.md: two records carry no type
  ASSERT_TRUE(r.meta.present);
  EXPECT_EQ(r.meta.label, "mixed-activity");
  ASSERT_EQ(r.nodes.size(), 2u);
  EXPECT_EQ(r.nodes[0].node_id, 1);
  EXPECT_EQ(r.nodes[1].node_id, 2);
  std::size_t frames = 0;
  for (const auto& n : r.nodes) {
    for (std::size_t i = 0; i < n.frames.size(); ++i) {
      ASSERT_EQ(n.frames[i].iq.size(), 2u * n.frames[i].subcarriers);
      if (i > 0) {
        ASSERT_GE(n.frames[i].timestamp, n.frames[i - 1].timestamp);
      }
    }
    frames += n.frames.size();
  }
  EXPECT_EQ(frames, r.counts.raw_csi);
  EXPECT_GT(r.counts.vitals, 0u);
  EXPECT_GT(r.counts.feature, 0u);
}

TEST(CsiRecording, AmplitudeFormIsRead) {
  const auto path = kCsi / "rec_1772470567081-20260302_165607.csi.jsonl";
  ASSERT_TRUE(std::filesystem::exists(path)) << "test data missing: " << path;
  const aether::io::Recording r = aether::io::read_recording(path);
  EXPECT_EQ(r.counts.lines, 253u);
  EXPECT_EQ(r.counts.amplitude_form, 253u);
  EXPECT_EQ(r.counts.rejected(), 0u);
}

TEST(CsiRecording, EachDefectCountedOnceNeverFatal) {
  std::istringstream in(
      R"({"type":"raw_csi","timestamp":10.0,"node_id":1,"subcarriers":1,"iq_hex":"0102"})" "\n"
      "not json\n"
      R"({"type":"mystery","timestamp":11.0,"node_id":1})" "\n"
      R"({"type":"raw_csi","timestamp":12.0,"node_id":1,"subcarriers":1,"iq_hex":"01020"})" "\n"
      R"({"type":"raw_csi","timestamp":13.0,"node_id":1,"subcarriers":1,"iq_hex":""})" "\n"
      R"({"type":"raw_csi","timestamp":9.0,"node_id":1,"subcarriers":1,"iq_hex":"0304"})" "\n"
      R"({"type":"raw_csi","timestamp":14.0,"node_id":2,"subcarriers":1,"iq_hex":"ff80"})" "\n"
      "\n");
  const aether::io::Recording r = aether::io::parse_recording(in);
  EXPECT_EQ(r.counts.lines, 8u);
  EXPECT_EQ(r.counts.raw_csi, 2u);
  EXPECT_EQ(r.counts.malformed, 1u);
  EXPECT_EQ(r.counts.unknown_type, 1u);
  EXPECT_EQ(r.counts.odd_hex, 1u);
  EXPECT_EQ(r.counts.empty_iq, 1u);
  EXPECT_EQ(r.counts.non_monotonic, 1u);
  EXPECT_EQ(r.counts.blank, 1u);
  EXPECT_EQ(r.counts.kept() + r.counts.rejected(), r.counts.lines);
  ASSERT_EQ(r.nodes.size(), 2u);  // nodes never mixed
  ASSERT_EQ(r.nodes[1].frames.size(), 1u);
  EXPECT_EQ(r.nodes[1].frames[0].iq[0], -1);   // signed 8-bit
  EXPECT_EQ(r.nodes[1].frames[0].iq[1], -128);
}

}  // namespace

}  // namespace csi_recording_test
