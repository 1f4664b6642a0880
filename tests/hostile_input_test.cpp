// Hostile files for the library's readers (issue 18, items 1-4, 6, 9, 11):
// deeply nested JSON, gate dimensions whose size wraps, gate files outside
// the sidecar's folder or without end, window/stride near 2^64, numbers
// beyond int/float range, truncating integers, labels with surrounding
// spaces, the messages of bad sidecar values, and hostile version-2 .rvne
// blobs (issue 19: descriptor fields, unknown ids, featuriser, tensor
// section, padding, reserved bytes). Each case checks the
// Errc (or the count a recording reader keeps) and that the message names
// the file, key or value. The files are written in a temporary folder.

#include <aether/io/dataset.hpp>
#include <aether/io/sidecar.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace hostile_input_test {

namespace {

namespace fs = std::filesystem;
namespace io = aether::io;
using aether::Errc;
using aether_test::error_text;
using json = nlohmann::json;

/// A fresh directory per test, removed at the end.
struct TempDir : aether_test::TempDir {
  TempDir() : aether_test::TempDir("aether_hostile_test") {}
};

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

/// `depth` arrays nested in one another.
std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

/// A blob of `h` at dir/m.rvne and the sidecar text `sidecar` (its first
/// "@SHA@" replaced by the blob's sha256) beside it.
fs::path model_files(const TempDir& dir, const aether::rvne::Header& h, const std::string& sidecar) {
  const fs::path blob = dir.path / "m.rvne";
  aether::rvne::write_file(blob, aether::rvne::init_random(h, 3));
  std::string text = sidecar;
  const std::string mark = "@SHA@";
  const std::size_t at = text.find(mark);
  if (at != std::string::npos) text.replace(at, mark.size(), io::sha256_file_hex(blob));
  write_text(io::sidecar_path(blob), text);
  return blob;
}

/// Sidecar text with the fixed keys and `extra`; `sha` "@SHA@" for `model_files`.
std::string sidecar_text(const json& extra, const std::string& sha = std::string(64, '0')) {
  json j = {{"format", "aether-sidecar/1"}, {"blob_sha256", sha}};
  j.update(extra);
  return j.dump();
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// --- item 1: nesting -------------------------------------------------------

TEST(HostileJson, DeepSidecarIsRefusedNamingFileAndLimit) {
  TempDir dir;
  const aether::rvne::Header h = aether::rvne::Header::aether_default();
  // Top-level value 100,000 deep (was: stack overflow in dump() for the message).
  fs::path blob = model_files(dir, h, nested(100000));
  std::string what = error_text(Errc::invalid_sidecar, [&] { io::load_model(blob); });
  EXPECT_TRUE(has(what, "m.rvne.json")) << what;
  EXPECT_TRUE(has(what, "64")) << what;
  // `training` 250,000 deep (was: stack overflow copying it into Sidecar::training).
  blob = model_files(dir, h, R"({"format": "aether-sidecar/1", "blob_sha256": "@SHA@", "training": )" +
                                 nested(250000) + "}");
  what = error_text(Errc::invalid_sidecar, [&] { io::read_sidecar(blob); });
  EXPECT_TRUE(has(what, "m.rvne.json") && has(what, "nested deeper than 64")) << what;
}

TEST(HostileJson, NestingLimitIsExact) {
  // 64 levels (the top-level value counts) are read, 65 are not.
  json j;
  EXPECT_EQ(io::try_parse_json_text(nested(64), j), io::JsonParse::ok);
  EXPECT_EQ(io::try_parse_json_text(nested(65), j), io::JsonParse::too_deep);
  EXPECT_EQ(io::try_parse_json_text("{\"a\": " + nested(63) + "}", j), io::JsonParse::ok);
  EXPECT_EQ(io::try_parse_json_text("{\"a\": " + nested(64) + "}", j), io::JsonParse::too_deep);
  EXPECT_EQ(io::try_parse_json_text("[1,", j), io::JsonParse::not_json);
  // A shallow sidecar whose `features.constants` nests 70 deep: accepted before.
  const std::string text =
      sidecar_text({{"features", {{"name", "csi-amplitude"}, {"constants", {{"x", json::parse(nested(70))}}}}}});
  const std::string what = error_text(Errc::invalid_sidecar, [&] { io::parse_sidecar(text, "s.json: "); });
  EXPECT_TRUE(has(what, "s.json: ") && has(what, "64")) << what;
  // Not JSON keeps the parser's message.
  EXPECT_TRUE(has(error_text(Errc::invalid_sidecar, [] { io::parse_sidecar("{not json", "s.json: "); }), "not JSON"));
}

TEST(HostileJson, DeepRecordingMetaAndLines) {
  TempDir dir;
  const fs::path rec = dir.path / "r.csi.jsonl";
  write_text(rec, "{\"type\":\"vitals\",\"timestamp\":1,\"motion_energy\":0.5}\n" + nested(250000) + "\n{\"a\":" +
                      nested(80) + "}\n");
  // Meta 250,000 deep (was: stack overflow copying it into RecordingMeta::raw).
  write_text(dir.path / "r.csi.meta.json", "{\"label\": \"walk\", \"extra\": " + nested(250000) + "}");
  const std::string what = error_text(Errc::invalid_data, [&] { io::read_recording(rec); });
  EXPECT_TRUE(has(what, "r.csi.meta.json") && has(what, "64")) << what;
  fs::remove(dir.path / "r.csi.meta.json");
  const io::Recording r = io::read_recording(rec);
  EXPECT_EQ(r.counts.vitals, 1u);
  EXPECT_EQ(r.counts.malformed, 2u);  // both deep lines
  EXPECT_EQ(r.counts.lines, r.counts.kept() + r.counts.rejected());
}

TEST(HostileJson, OverlongLinesAreSkippedNotStored) {
  const std::string vitals = "{\"type\":\"vitals\",\"timestamp\":1,\"motion_energy\":0.5}";
  const std::string long_line = "{\"x\": \"" + std::string(io::kMaxLineBytes, 'a') + "\"}";
  std::istringstream in(long_line + "\n" + vitals + "\n" + vitals + "\r\n" + vitals);
  const io::Recording r = io::parse_recording(in);
  EXPECT_EQ(r.counts.lines, 4u);
  EXPECT_EQ(r.counts.malformed, 1u);
  EXPECT_EQ(r.counts.vitals, 3u);
  TempDir dir;
  const fs::path csv = dir.path / "l.csv";
  write_text(csv, "0,1,walk\n1,2," + std::string(io::kMaxLabelsLineBytes, 'w') + "\n");
  const std::string what = error_text(Errc::invalid_data, [&] { io::read_labels_csv(csv); });
  EXPECT_TRUE(has(what, "l.csv:2") && has(what, "65536")) << what.substr(0, 200);
}

TEST(HostileJson, MessagesShowLargeValuesBriefly) {
  std::string what =
      error_text(Errc::invalid_sidecar, [] { io::parse_sidecar(sidecar_text({{"pool", std::string(5000, 'x')}})); });
  EXPECT_TRUE(has(what, "'pool'") && has(what, "\"xxx")) << what;
  EXPECT_LT(what.size(), 200u) << what;
  what = error_text(Errc::invalid_sidecar, [] { io::parse_sidecar(sidecar_text({{"window", json(nested(20000))}})); });
  EXPECT_LT(what.size(), 200u) << what;
  what = error_text(Errc::invalid_sidecar,
                    [] { io::parse_sidecar(sidecar_text({{"window", json::array({1, 2, 3})}})); });
  EXPECT_TRUE(has(what, "'window'") && has(what, "an array of 3 values")) << what;
}

// --- item 2: gate sizes and the weights file ---------------------------------

TEST(HostileGate, SizeThatWrapsIsRefused) {
  // 2*H*I + 2*H*H + 2*H + 2 with I = 1, H = 2^31 - 1 is 2^63 floats: 4 * that wraps to 0 bytes
  // (was: division by zero in gate_layers_from_bytes).
  const std::size_t I = 1, H = 2147483647;
  EXPECT_EQ(aether::FastGrnnGate<float>::packed_size(I, H), std::size_t{1} << 63);
  EXPECT_EQ(aether::FastGrnnGate<float>::packed_size(std::size_t{1} << 40, std::size_t{1} << 40),
            std::numeric_limits<std::size_t>::max());
  const std::uint8_t none[4] = {};
  std::string what = error_text(Errc::limit_exceeded, [&] { aether::gate_layers_from_bytes(I, H, 2, none, 0); });
  EXPECT_TRUE(has(what, "hidden_dim=2147483647")) << what;
  EXPECT_EQ(aether_test::error_code_of([&] { aether::gate_from_bytes(I, H, none, 0); }), Errc::limit_exceeded);
  EXPECT_EQ(aether_test::error_code_of([] { aether::FastGrnnGate<float>(16, 1 << 20); }), Errc::limit_exceeded);

  // Through the library's model path: a head_dim 1 blob whose sidecar gate has hidden_dim 2^31 - 1.
  TempDir dir;
  aether::rvne::Header h = aether::rvne::Header::aether_default();
  h.q_heads = 1;
  h.kv_heads = 1;
  h.head_dim = 1;
  write_text(dir.path / "m.gate.f32", std::string(64, '\0'));
  const json gate = {{"input_dim", I}, {"hidden_dim", H}, {"top_k", 2}, {"weights", "m.gate.f32"}};
  const fs::path blob = model_files(dir, h, sidecar_text({{"gate", gate}}, "@SHA@"));
  const io::Model m = io::load_model(blob);
  what = error_text(Errc::invalid_sidecar, [&] { io::model_attention(m, blob); });
  EXPECT_TRUE(has(what, "'gate.hidden_dim'") && has(what, "2147483647")) << what;
}

TEST(HostileGate, WeightsStayInTheSidecarsFolderAndAreNotReadPastTheirSize) {
  TempDir dir;
  fs::create_directories(dir.path / "model");
  const aether::rvne::Header h = aether::rvne::Header::aether_default();
  const std::vector<std::uint8_t> good = aether::gate_bytes({aether::FastGrnnGate<float>(h.head_dim, 4).packed()});
  const std::string good_text(good.begin(), good.end());
  write_text(dir.path / "outside.gate.f32", good_text);  // a valid file one folder up
  write_text(dir.path / "model" / "in.gate.f32", good_text);
  auto attention_with = [&](const std::string& weights) {
    const fs::path blob = dir.path / "model" / "m.rvne";
    aether::rvne::write_file(blob, aether::rvne::init_random(h, 3));
    io::Sidecar s;
    s.gate = io::GateSpec{h.head_dim, 4, 8, "prune", weights};
    io::write_sidecar(blob, s);
    return io::model_attention(io::load_model(blob), blob);
  };
  EXPECT_TRUE(attention_with("in.gate.f32").gate.has_value());
  for (const std::string& bad : {std::string("../outside.gate.f32"), std::string("sub/../../outside.gate.f32"),
                                 (dir.path / "outside.gate.f32").string()}) {
    const std::string what = error_text(Errc::invalid_sidecar, [&] { attention_with(bad); });
    EXPECT_TRUE(has(what, "'gate.weights'") && has(what, "\"" + bad.substr(0, 12)) && has(what, "leaves")) << what;
  }
  // A regular file of the wrong size is refused from its size.
  write_text(dir.path / "model" / "big.gate.f32", good_text + good_text + good_text);
  std::string what = error_text(Errc::invalid_sidecar, [&] { attention_with("big.gate.f32"); });
  EXPECT_TRUE(has(what, "'gate.weights'") && has(what, std::to_string(3 * good.size()) + " bytes")) << what;
  // A file without end (was: read until bad_alloc) is read only up to the largest right size.
  fs::create_symlink("/dev/zero", dir.path / "model" / "zero.gate.f32");
  what = error_text(Errc::limit_exceeded, [&] { attention_with("zero.gate.f32"); });
  EXPECT_TRUE(has(what, "zero.gate.f32") && has(what, std::to_string(2 * good.size()))) << what;
  what = error_text(Errc::limit_exceeded, [&] {
    aether::read_gate_file((dir.path / "model" / "zero.gate.f32").string(), h.head_dim, 4);
  });
  EXPECT_TRUE(has(what, "zero.gate.f32")) << what;
}

// --- item 3: window and stride --------------------------------------------

io::Series series_of(std::size_t rows) {
  io::Series s;
  s.features = io::FrameMatrix::Zero(static_cast<Eigen::Index>(rows), 2);
  for (std::size_t i = 0; i < rows; ++i) s.times.push_back(static_cast<double>(i));
  s.lines = std::vector<std::size_t>(rows, 1);
  return s;
}

TEST(HostileWindows, StrideNearTwoToTheSixtyFourIsRefused) {
  const std::vector<io::Series> series = {series_of(10)};
  // Was: first += stride wrapped and windows began at 2^64 - 1, 2^64 - 2, ... (out-of-bounds rows).
  std::string what = error_text(Errc::invalid_argument,
                                [&] { io::make_windows(series, 4, std::numeric_limits<std::size_t>::max()); });
  EXPECT_TRUE(has(what, "18446744073709551615") && has(what, "65536")) << what;
  EXPECT_EQ(aether_test::error_code_of([&] { io::make_windows(series, io::kMaxWindow + 1, 1); }),
            Errc::invalid_argument);
  // At the bounds: exact windows, no wrap.
  const std::vector<io::Window> one = io::make_windows(series, 4, io::kMaxWindow);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].first, 0u);
  std::vector<std::size_t> firsts;
  for (const io::Window& w : io::make_windows(series, 4, 3)) firsts.push_back(w.first);
  EXPECT_EQ(firsts, (std::vector<std::size_t>{0, 3, 6}));
  EXPECT_EQ(io::make_windows(series, 10, 1).size(), 1u);
  EXPECT_TRUE(io::make_windows(series, 11, 1).empty());
}

TEST(HostileWindows, SidecarWindowAndStrideAreBounded) {
  for (const char* key : {"window", "stride"}) {
    for (const json& v : {json(std::numeric_limits<std::uint64_t>::max()), json(std::uint64_t{1000000000000}),
                          json(io::kMaxWindow + 1)}) {
      const std::string what =
          error_text(Errc::invalid_sidecar, [&] { io::parse_sidecar(sidecar_text({{key, v}}), "s.json: "); });
      EXPECT_TRUE(has(what, std::string("'") + key + "'") && has(what, v.dump())) << what;
    }
    const io::Sidecar s = io::parse_sidecar(sidecar_text({{key, io::kMaxWindow}}));
    EXPECT_EQ(std::string(key) == "window" ? s.window : s.stride, io::kMaxWindow);
  }
}

// --- items 4 and 6: numbers beyond int and float ---------------------------

io::Recording parse_lines(const std::string& text) {
  std::istringstream in(text);
  return io::parse_recording(in);
}

TEST(HostileRecording, RssiOutOfRangeIsCountedNotConverted) {
  auto raw = [&](const std::string& rssi) {
    return R"({"type":"raw_csi","node_id":1,"timestamp":1,"subcarriers":2,"iq_hex":"01020304","rssi":)" + rssi + "}\n";
  };
  auto amp = [](const std::string& rssi) { return R"({"timestamp":2,"subcarriers":[1,2],"rssi":)" + rssi + "}\n"; };
  const io::Recording r =
      parse_lines(raw("1e300") + raw("128") + raw("-129") + raw("-90") + amp("-1e300") + amp("127"));
  EXPECT_EQ(r.counts.out_of_range, 4u);
  EXPECT_EQ(r.counts.raw_csi, 1u);
  EXPECT_EQ(r.counts.amplitude_form, 1u);
  ASSERT_NE(r.node(1), nullptr);
  ASSERT_EQ(r.node(1)->frames.size(), 1u);
  EXPECT_EQ(r.node(1)->frames[0].rssi, -90);
  EXPECT_EQ(r.node(0)->frames.at(0).rssi, 127);
  EXPECT_EQ(r.counts.lines, r.counts.kept() + r.counts.rejected());
  EXPECT_EQ(io::to_json(r.counts)["rejected"]["out_of_range"], 4);
}

TEST(HostileRecording, ValuesInfiniteAsFloatAreCounted) {
  // 1e39 is finite as a double and +Inf as a float (was: kept, giving "loss": null downstream).
  const io::Recording r = parse_lines(R"({"timestamp":1,"subcarriers":[1,1e39]})"
                                      "\n"
                                      R"({"type":"feature","node_id":2,"timestamp":1,"features":[0.5,-1e39]})"
                                      "\n"
                                      R"({"type":"feature","node_id":2,"timestamp":2,"features":[0.5,3.4e38]})"
                                      "\n"
                                      R"({"type":"feature","node_id":2,"timestamp":3,"features":[0.5,"x"]})"
                                      "\n");
  EXPECT_EQ(r.counts.out_of_range, 2u);
  EXPECT_EQ(r.counts.malformed, 1u);
  EXPECT_EQ(r.counts.feature, 1u);
  EXPECT_EQ(r.node(0), nullptr);
  EXPECT_EQ(r.node(2)->features.at(0).features[1], 3.4e38f);
}

TEST(HostileSidecar, FeatureConstantsBeyondFloatOrSubcarriersAreRefused) {
  const json base = {{"name", "csi-amplitude"}, {"version", 1}};
  auto features = [&](const json& constants) {
    json f = base;
    f["constants"] = constants;
    const io::Sidecar s = io::parse_sidecar(sidecar_text({{"features", f}}), "s.json: ");
    return io::features_from_json(*s.features, "s.json: ");
  };
  std::string what = error_text(Errc::invalid_sidecar, [&] {
    features({{"input_dim", 2}, {"offset", {0.0, 0.0}}, {"scale", {1.0, 1e39}}});
  });
  EXPECT_TRUE(has(what, "'features.constants.scale[1]'") && has(what, "1e+39")) << what;
  what = error_text(Errc::invalid_sidecar, [&] {
    features({{"input_dim", 2}, {"offset", {-1e39, 0.0}}, {"scale", {1.0, 1.0}}});
  });
  EXPECT_TRUE(has(what, "'features.constants.offset[0]'")) << what;
  // Was: stored as 4294967360 mod 2^32 = 64.
  what = error_text(Errc::invalid_sidecar, [&] { features({{"input_dim", 2}, {"subcarriers", 4294967360ull}}); });
  EXPECT_TRUE(has(what, "'features.constants.subcarriers'") && has(what, "4294967360")) << what;
  EXPECT_EQ(features({{"input_dim", 2}, {"subcarriers", 65535}}).subcarriers, 65535u);
  // Was: accepted, and featurising allocated rows of 2^40 floats.
  what = error_text(Errc::invalid_sidecar, [&] { features({{"input_dim", std::uint64_t{1} << 40}}); });
  EXPECT_TRUE(has(what, "'features.constants.input_dim'") && has(what, "1099511627776")) << what;
  EXPECT_EQ(features({{"input_dim", 65535}}).input_dim, 65535u);
  EXPECT_EQ(features({{"input_dim", 2}, {"scale", {1.0, 3.4e38}}, {"offset", {0, 0}}}).scale[1], 3.4e38f);
}

// --- item 9: node ids and labels -----------------------------------------

TEST(HostileRecording, NodeIdBeyondInt64IsCounted) {
  const io::Recording r = parse_lines(
      R"({"type":"vitals","node_id":18446744073709551615,"timestamp":1,"motion_energy":1})"
      "\n"
      R"({"type":"vitals","node_id":9223372036854775807,"timestamp":1,"motion_energy":1})"
      "\n");
  EXPECT_EQ(r.counts.out_of_range, 1u);
  EXPECT_EQ(r.node(-1), nullptr);  // was: node 2^64 - 1 read as node -1
  EXPECT_NE(r.node(INT64_MAX), nullptr);
}

TEST(HostileLabels, SurroundingSpacesAreTrimmedAndBadNumbersNamed) {
  TempDir dir;
  const fs::path csv = dir.path / "labels.csv";
  write_text(csv, "start,end,label\n0,1, walk\n 1 ,\t2,walk \n2,3,sit down\n");
  const std::vector<io::LabelRange> r = io::read_labels_csv(csv);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].label, "walk");
  EXPECT_EQ(r[1].label, "walk");  // was " walk" and "walk ": two classes
  EXPECT_EQ(r[1].start, 1.0);
  EXPECT_EQ(r[2].label, "sit down");
  write_text(csv, "nan,5,walk\n");  // was: "end must be after start"
  std::string what = error_text(Errc::invalid_data, [&] { io::read_labels_csv(csv); });
  EXPECT_TRUE(has(what, "labels.csv:1") && has(what, "start \"nan\"")) << what;
  write_text(csv, "1,inf,walk\n");
  what = error_text(Errc::invalid_data, [&] { io::read_labels_csv(csv); });
  EXPECT_TRUE(has(what, "end \"inf\"")) << what;
  write_text(csv, "5,4,walk\n");
  what = error_text(Errc::invalid_data, [&] { io::read_labels_csv(csv); });
  EXPECT_TRUE(has(what, "end 4 must be after start 5")) << what;
  write_text(csv, "1,2,   \n");
  error_text(Errc::invalid_data, [&] { io::read_labels_csv(csv); });
}

// --- item 11: messages ------------------------------------------------------

TEST(HostileSidecar, TrainingKeysOfTheWrongTypeNameTheKey) {
  auto info = [](const json& training) {
    return io::training_info(io::parse_sidecar(sidecar_text({{"training", training}})), "s.json: ");
  };
  std::string what = error_text(Errc::invalid_sidecar, [&] { info({{"split", {{"test_fraction", "x"}}}}); });
  EXPECT_TRUE(has(what, "s.json: ") && has(what, "'training.split.test_fraction'") && has(what, "\"x\"")) << what;
  what = error_text(Errc::invalid_sidecar, [&] { info({{"split", {{"validation_fraction", 1.5}}}}); });
  EXPECT_TRUE(has(what, "'training.split.validation_fraction'") && has(what, "1.5")) << what;
  what = error_text(Errc::invalid_sidecar, [&] { info({{"seed", -3}}); });
  EXPECT_TRUE(has(what, "'training.seed'")) << what;
  what = error_text(Errc::invalid_sidecar, [&] { info({{"motion_threshold", "high"}}); });
  EXPECT_TRUE(has(what, "'training.motion_threshold'")) << what;
  what = error_text(Errc::invalid_sidecar, [&] { info({{"split", 3}}); });
  EXPECT_TRUE(has(what, "'training.split'")) << what;
  const io::TrainingInfo t = info({{"split", {{"test_fraction", 0.25}}}, {"seed", 7}, {"tool", "x"}});
  EXPECT_EQ(t.test_fraction, 0.25);
  EXPECT_FALSE(t.validation_fraction.has_value());
  EXPECT_EQ(t.seed, 7u);
  EXPECT_FALSE(info(json()).test_fraction.has_value());
}

TEST(HostileFiles, FilesWithoutSizeAreReadOnlyUpToTheLargestBlob) {
  // Was: rvne::read_file said "0 bytes"; load_model read until bad_alloc.
  std::string what = error_text(Errc::limit_exceeded, [] { aether::rvne::read_file("/dev/zero"); });
  EXPECT_TRUE(has(what, "/dev/zero") && has(what, std::to_string(aether::ModelLimits{}.max_blob_bytes()))) << what;
  what = error_text(Errc::limit_exceeded, [] { io::load_model("/dev/zero"); });
  EXPECT_TRUE(has(what, "/dev/zero")) << what;
  // A regular file above the limit is refused from its size, before reading.
  TempDir dir;
  const fs::path big = dir.path / "big.rvne";
  { std::ofstream(big, std::ios::binary); }
  fs::resize_file(big, aether::ModelLimits{}.max_blob_bytes() + 1);
  what = error_text(Errc::limit_exceeded, [&] { io::load_model(big); });
  EXPECT_TRUE(has(what, "big.rvne") && has(what, std::to_string(aether::ModelLimits{}.max_blob_bytes() + 1))) << what;
}

// --- issue 19 items 3, 6: hostile version 2 blobs --------------------------

/// `bytes` with its CRC recomputed (so each case fails its own rule, not rule 6).
std::vector<std::uint8_t> with_crc(std::vector<std::uint8_t> bytes) {
  aether::rvne::detail::store_u32(bytes.data() + bytes.size() - 4,
                                  aether::rvne::crc32(bytes.data(), bytes.size() - 4));
  return bytes;
}

TEST(HostileV2, DescriptorFieldsIdsFeaturiserAndSectionGetTheirCodes) {
  namespace rvne = aether::rvne;
  namespace d = aether::rvne::detail;
  // The benchmark shape with a gate-free small variant that has padding
  // (input_dim 5 -> d_model 6: W_in is 30 floats, 8 bytes of padding follow).
  rvne::Header h = rvne::v2_benchmark_header();
  h.input_dim = 5;
  h.arch.d_model = 6;
  h.head_dim = 4;
  const std::vector<std::uint8_t> good = rvne::serialize(rvne::init_trainable(h, 2));
  ASSERT_EQ(d::load_u16(good.data() + d::kOffFeatureKind), 1u);  // csi-amplitude, version 1, log + centre
  struct Case {
    const char* name;
    std::size_t at;
    int width;
    std::uint32_t value;
    Errc want;
    const char* names;  // in the message
  };
  const Case cases[] = {
      {"d_model 0", d::kOffDModel, 2, 0, Errc::invalid_header, "d_model 0"},
      {"ffn_dim 0", d::kOffFfnDim, 2, 0, Errc::invalid_header, "ffn_dim 0"},
      {"conv_kernel 0", d::kOffConvKernel, 2, 0, Errc::invalid_header, "conv_kernel 0"},
      {"norm_eps 2", d::kOffNormEps, 4, 0x40000000u, Errc::invalid_header, "norm_eps 2"},
      {"rope_base 0.5", d::kOffRopeBase, 4, 0x3F000000u, Errc::invalid_header, "rope_base 0.5"},
      {"block_size 0", d::kOffBlockSize, 4, 0, Errc::invalid_header, "block_size 0"},
      {"causal 7", d::kOffCausal, 1, 7, Errc::invalid_header, "causal 7"},
      {"global_count 200", d::kOffGlobalCount, 1, 200, Errc::invalid_header, "global_count 200"},
      {"unknown block bit", d::kOffBlocks, 4, 0x000100FFu, Errc::unsupported_feature, "unknown block bit(s) 0x00010000"},
      {"unknown conv activation", d::kOffConvAct, 1, 9, Errc::unsupported_feature, "conv_activation id 9"},
      {"unknown ffn activation", d::kOffFfnAct, 1, 3, Errc::unsupported_feature, "ffn_activation id 3"},
      {"unknown featuriser kind", d::kOffFeatureKind, 2, 77, Errc::unsupported_feature, "feature_kind id 77"},
      {"unknown featuriser version", d::kOffFeatureVersion, 2, 3, Errc::unsupported_feature, "feature_version 3"},
      {"constant flag without version 2", d::kOffFeatureFlags, 1, 0x07, Errc::invalid_header,
       "feature_version 1 with the constant feature on"},
      {"version 2 without the constant flag", d::kOffFeatureVersion, 2, 2, Errc::invalid_header,
       "feature_version 2 with the constant feature off"},
      {"non-zero reserved descriptor byte", 0x7F, 1, 0x01, Errc::unsupported_flags,
       "reserved descriptor byte 0x01 at 0x7F"},
      {"non-zero reserved byte 0x3B", d::kOffReserved3B, 1, 0x10, Errc::unsupported_flags, "at 0x3B"},
      {"non-zero padding", 128 + 120, 1, 0xAB, Errc::invalid_header, "padding byte 0xAB at 0xF8 before tensor b_in"},
  };
  TempDir dir;
  for (const Case& c : cases) {
    std::vector<std::uint8_t> b = good;
    if (c.width == 1) b[c.at] = static_cast<std::uint8_t>(c.value);
    if (c.width == 2) d::store_u16(b.data() + c.at, static_cast<std::uint16_t>(c.value));
    if (c.width == 4) d::store_u32(b.data() + c.at, c.value);
    b = with_crc(b);
    const fs::path p = dir.path / "v2.rvne";
    write_text(p, std::string(b.begin(), b.end()));
    const std::string what = error_text(c.want, [&] { rvne::read_file(p); });
    EXPECT_TRUE(has(what, "v2.rvne") && has(what, c.names)) << c.name << ": " << what;
    EXPECT_EQ(rvne::validate(b.data(), b.size()), c.want) << c.name;
  }
  // A truncated tensor section: the blob ends 1 and 100 bytes early (weights_len kept).
  for (std::size_t cut : {std::size_t{1}, std::size_t{100}}) {
    std::vector<std::uint8_t> b(good.begin(), good.end() - static_cast<std::ptrdiff_t>(cut));
    const fs::path p = dir.path / "short.rvne";
    write_text(p, std::string(b.begin(), b.end()));
    const std::string what = error_text(Errc::truncated, [&] { rvne::read_file(p); });
    EXPECT_TRUE(has(what, "short.rvne") && has(what, "weights_len " + std::to_string(good.size() - 132))) << what;
  }
  // A tensor section one element short of the descriptor's (weights_len and CRC consistent).
  std::vector<std::uint8_t> b(good.begin(), good.end() - 8);
  b.insert(b.end(), 4, 0);
  d::store_u32(b.data() + d::kOffWeightsLen, static_cast<std::uint32_t>(b.size() - 132));
  b = with_crc(b);
  EXPECT_TRUE(has(error_text(Errc::layout_mismatch, [&] { rvne::parse(b); }),
                  "weights_len " + std::to_string(good.size() - 136)));
}

}  // namespace

}  // namespace hostile_input_test
