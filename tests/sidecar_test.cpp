// The sidecar (SIDECAR.md): JSON round trip, validation naming the bad key,
// unknown keys ignored, the blob_sha256 binding, atomic files.
#include <aether/io/sidecar.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <limits>
#include <fstream>
#include <random>
#include <string>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace sidecar_test {

namespace {

namespace fs = std::filesystem;
using aether::Errc;
using aether::io::Sidecar;
using aether_test::error_text;
using json = nlohmann::json;

/// A fresh directory per test, removed at the end.
struct TempDir : aether_test::TempDir {
  TempDir() : aether_test::TempDir("aether_sidecar_test") {}
};

Sidecar full_sidecar() {
  Sidecar s;
  aether::ModelAttention a;
  a.backend = aether::Backend::Dense;
  a.window = 8;
  a.block_size = 4;
  a.global_tokens = {0, 3};
  a.causal = false;
  s.attention = a;
  s.pool = aether::Pool::last;
  s.window = 32;
  s.stride = 8;
  s.classes = {"empty", "walk"};
  s.features = aether::io::FeatureSpec{"csi-amplitude", 2, json{{"groups", 16}, {"offset", {0.25, -1.5}}}};
  s.gate = aether::io::GateSpec{16, 8, 4, "salient", "m.gate.f32"};
  s.training = json{{"seed", 7}, {"task", "meta"}};
  return s;
}

TEST(Sidecar, JsonRoundTripKeepsEveryField) {
  Sidecar s = full_sidecar();
  s.blob_sha256 = std::string(64, 'a');
  const json j = aether::io::to_json(s);
  EXPECT_EQ(j["format"], "aether-sidecar/1");
  EXPECT_EQ(j["attention"]["backend"], "dense");
  EXPECT_EQ(j["pool"], "last");
  const Sidecar r = aether::io::sidecar_from_json(j);
  EXPECT_EQ(r.blob_sha256, s.blob_sha256);
  ASSERT_TRUE(r.attention.has_value());
  EXPECT_EQ(r.attention->backend, aether::Backend::Dense);
  EXPECT_EQ(r.attention->window, 8u);
  EXPECT_EQ(r.attention->block_size, 4u);
  EXPECT_EQ(r.attention->global_tokens, (std::vector<std::size_t>{0, 3}));
  EXPECT_FALSE(r.attention->causal);
  EXPECT_EQ(r.pool, aether::Pool::last);
  EXPECT_EQ(r.window, 32u);
  EXPECT_EQ(r.stride, 8u);
  EXPECT_EQ(r.classes, s.classes);
  ASSERT_TRUE(r.features.has_value());
  EXPECT_EQ(r.features->name, "csi-amplitude");
  EXPECT_EQ(r.features->version, 2u);
  EXPECT_EQ(r.features->constants, s.features->constants);
  ASSERT_TRUE(r.gate.has_value());
  EXPECT_EQ(r.gate->mode, "salient");
  EXPECT_EQ(r.gate->top_k, 4u);
  EXPECT_EQ(r.gate->weights, "m.gate.f32");
  EXPECT_EQ(r.training, s.training);
  EXPECT_EQ(aether::io::to_json(r), j);
}

TEST(Sidecar, MinimalMeansTheDefaults) {
  const Sidecar r = aether::io::parse_sidecar(
      R"({"format": "aether-sidecar/1", "blob_sha256": ")" + std::string(64, 'B') + R"(", "future_key": [1, 2]})");
  EXPECT_EQ(r.blob_sha256, std::string(64, 'b'));  // hex compared in lower case
  EXPECT_FALSE(r.attention.has_value());
  EXPECT_EQ(r.attention_or_default().window, aether::ModelAttention{}.window);
  EXPECT_EQ(r.pool_or_default(), aether::Pool::mean);
  EXPECT_TRUE(r.classes.empty());
  EXPECT_EQ(r.class_name(3), "3");
  EXPECT_TRUE(r.training.is_null());
}

TEST(Sidecar, BadValuesNameTheKey) {
  const std::string sha = std::string(64, '0');
  const json ok = {{"format", "aether-sidecar/1"}, {"blob_sha256", sha}};
  struct Case {
    json patch;
    std::string key;
  };
  const std::vector<Case> cases = {
      {{{"format", "aether-sidecar/2"}}, "'format'"},
      {{{"blob_sha256", "abc"}}, "'blob_sha256'"},
      {{{"blob_sha256", 5}}, "'blob_sha256'"},
      {{{"attention", {{"backend", "fast"}}}}, "'attention.backend'"},
      {{{"attention", {{"window", -1}}}}, "'attention.window'"},
      {{{"attention", {{"window", 1.5}}}}, "'attention.window'"},
      {{{"attention", {{"global_tokens", {0, "x"}}}}}, "'attention.global_tokens[1]'"},
      {{{"attention", {{"causal", 1}}}}, "'attention.causal'"},
      {{{"attention", 3}}, "'attention'"},
      {{{"pool", "max"}}, "'pool'"},
      {{{"window", 0}}, "'window'"},
      {{{"stride", "8"}}, "'stride'"},
      {{{"classes", {"a", "a"}}}, "'classes[1]'"},
      {{{"classes", {"a", ""}}}, "'classes[1]'"},
      {{{"classes", "a"}}, "'classes'"},
      {{{"features", {{"version", 1}}}}, "'features.name'"},
      {{{"features", {{"name", "x"}, {"constants", 3}}}}, "'features.constants'"},
      {{{"gate", {{"input_dim", 16}, {"hidden_dim", 8}}}}, "'gate.top_k'"},
      {{{"gate", {{"input_dim", 16}, {"hidden_dim", 8}, {"top_k", 4}, {"mode", "drop"}}}}, "'gate.mode'"},
  };
  for (const Case& c : cases) {
    json j = ok;
    j.update(c.patch);
    const std::string what = error_text(Errc::invalid_sidecar, [&] { aether::io::sidecar_from_json(j, "m.json: "); });
    EXPECT_NE(what.find(c.key), std::string::npos) << what;
    EXPECT_NE(what.find("m.json"), std::string::npos) << what;
  }
  EXPECT_NE(error_text(Errc::invalid_sidecar, [&] { aether::io::sidecar_from_json(json{{"blob_sha256", sha}}); })
                .find("'format'"),
            std::string::npos);
  EXPECT_NE(error_text(Errc::invalid_sidecar,
                       [&] { aether::io::sidecar_from_json(json{{"format", "aether-sidecar/1"}}); })
                .find("'blob_sha256'"),
            std::string::npos);
  error_text(Errc::invalid_sidecar, [] { aether::io::parse_sidecar("{not json"); });
  error_text(Errc::invalid_sidecar, [] { aether::io::parse_sidecar("[1]"); });
}

TEST(Sidecar, FilesBindToTheirBlob) {
  TempDir dir;
  const fs::path blob = dir.path / "m.rvne";
  const aether::rvne::Blob b = aether::rvne::init_random(aether::rvne::Header::aether_default(), 7);
  Sidecar s = full_sidecar();
  s.classes = {"a", "b", "c", "d"};
  const Sidecar written = aether::io::save_model(blob, b, s);
  EXPECT_EQ(aether::io::sidecar_path(blob), dir.path / "m.rvne.json");
  EXPECT_EQ(written.blob_sha256, aether::io::sha256_file_hex(blob));

  const Sidecar r = aether::io::read_sidecar(blob);
  EXPECT_EQ(r.classes, s.classes);
  const aether::io::Model m = aether::io::load_model(blob);
  EXPECT_TRUE(m.has_sidecar);
  EXPECT_EQ(m.blob, b);
  EXPECT_EQ(m.sidecar.classes, s.classes);
  for (const auto& e : fs::directory_iterator(dir.path)) {
    EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << "leftover " << e.path();
  }

  // Another blob under the same name: the old sidecar no longer matches.
  aether::rvne::write_file(blob, aether::rvne::init_random(aether::rvne::Header::aether_default(), 8));
  const std::string what = error_text(Errc::blob_mismatch, [&] { aether::io::read_sidecar(blob); });
  EXPECT_NE(what.find("m.rvne"), std::string::npos) << what;
  error_text(Errc::blob_mismatch, [&] { aether::io::load_model(blob); });

  // Class names must fit the blob's class count.
  s.classes = {"a", "b"};
  aether::io::save_model(blob, b, s);
  EXPECT_NE(error_text(Errc::invalid_sidecar, [&] { aether::io::load_model(blob); }).find("'classes'"),
            std::string::npos);

  // No sidecar: the blob alone, AETHER defaults.
  fs::remove(aether::io::sidecar_path(blob));
  const aether::io::Model bare = aether::io::load_model(blob);
  EXPECT_FALSE(bare.has_sidecar);
  EXPECT_EQ(bare.blob, b);
  error_text(Errc::io_error, [&] { aether::io::read_sidecar(blob); });

  // A corrupt blob keeps the rvne parser's code and names the file.
  {
    std::ofstream out(blob, std::ios::binary | std::ios::trunc);
    out << "ENVRxx";
  }
  EXPECT_NE(error_text(Errc::truncated, [&] { aether::io::load_model(blob); }).find("m.rvne"), std::string::npos);
}

TEST(Sidecar, WrittenFileIsPlainJsonWithFixedKeys) {
  TempDir dir;
  const fs::path blob = dir.path / "x.rvne";
  aether::rvne::write_file(blob, aether::rvne::init_random(aether::rvne::Header::aether_default(), 1));
  Sidecar s;
  s.window = 16;
  aether::io::write_sidecar(blob, s);
  std::ifstream in(aether::io::sidecar_path(blob));
  const json j = json::parse(in);
  EXPECT_EQ(j["format"], "aether-sidecar/1");
  EXPECT_EQ(j["blob_sha256"], aether::io::sha256_file_hex(blob));
  EXPECT_EQ(j["window"], 16);
  EXPECT_FALSE(j.contains("attention"));
  EXPECT_FALSE(j.contains("classes"));
}

TEST(Sidecar, GateKeyGivesTheModelItsPerLayerGates) {
  TempDir dir;
  const fs::path blob = dir.path / "m.rvne";
  aether::rvne::Header h = aether::rvne::Header::aether_default();
  h.layers = 2;
  const aether::rvne::Blob b = aether::rvne::init_random(h, 9);
  std::vector<float> w0 = aether::FastGrnnGate<float>(h.head_dim, 4).packed(), w1 = w0;
  for (float& x : w1) x *= -2.0f;
  auto write_gate = [&](const std::vector<std::vector<float>>& sets) {
    const std::vector<std::uint8_t> bytes = aether::gate_bytes(sets);
    std::ofstream(dir.path / "m.gate.f32", std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  };
  write_gate({w0, w1});
  Sidecar s;
  s.gate = aether::io::GateSpec{h.head_dim, 4, 8, "salient", "m.gate.f32"};
  aether::io::save_model(blob, b, s);
  const aether::io::Model m = aether::io::load_model(blob);
  const aether::ModelAttention a = aether::io::model_attention(m, blob);
  ASSERT_TRUE(a.gate.has_value());
  EXPECT_EQ(a.gate->options.top_k, 8u);
  EXPECT_EQ(a.gate->options.mode, aether::GateMode::salient);
  const aether::TemporalModel<float> model(m.blob, a);
  ASSERT_TRUE(model.gated());
  EXPECT_EQ(model.gate(0).packed(), w0);
  EXPECT_EQ(model.gate(1).packed(), w1);
  write_gate({w1});  // one record: shared by every layer
  EXPECT_EQ(aether::TemporalModel<float>(m.blob, aether::io::model_attention(m, blob)).gate(0).packed(), w1);

  write_gate({w0, w1, w0});  // three records for two layers
  std::string what = error_text(Errc::invalid_sidecar, [&] { aether::io::model_attention(m, blob); });
  EXPECT_NE(what.find("gate.weights"), std::string::npos) << what;
  std::vector<float> bad = w0;
  bad[3] = std::numeric_limits<float>::quiet_NaN();
  write_gate({bad});
  what = error_text(Errc::invalid_sidecar, [&] { aether::io::model_attention(m, blob); });
  EXPECT_NE(what.find("w_gate[3]"), std::string::npos) << what;
  aether::io::Model wrong = m;
  wrong.sidecar.gate->input_dim = h.head_dim + 1;
  what = error_text(Errc::invalid_sidecar, [&] { aether::io::model_attention(wrong, blob); });
  EXPECT_NE(what.find("gate.input_dim"), std::string::npos) << what;
  fs::remove(dir.path / "m.gate.f32");
  error_text(Errc::io_error, [&] { aether::io::model_attention(m, blob); });
  wrong = m;
  wrong.sidecar.gate->weights.clear();  // no file: the reference's initial weights
  EXPECT_EQ(aether::TemporalModel<float>(m.blob, aether::io::model_attention(wrong, blob)).gate(1).packed(), w0);
}

// A version 2 blob carries its attention options, pooling, featuriser and
// gate: its sidecar keeps classes, window, stride and training; one with
// any of the other keys, or a class count other than the blob's, is refused
// naming the key, by load_model and (before writing) by save_model.
TEST(Sidecar, VersionTwoSidecarOmitsWhatTheBlobCarries) {
  TempDir dir;
  const fs::path blob = dir.path / "v2.rvne";
  const aether::rvne::Blob b = aether::rvne::init_trainable(aether::rvne::v2_benchmark_header(), 5);
  Sidecar ok;
  ok.classes = {"a", "b", "c", "d"};
  ok.window = 24;
  ok.stride = 12;
  ok.training = json{{"seed", 5}};
  aether::io::save_model(blob, b, ok);
  const aether::io::Model m = aether::io::load_model(blob);
  EXPECT_TRUE(m.has_sidecar);
  EXPECT_EQ(m.sidecar.classes, ok.classes);
  EXPECT_EQ(aether::io::model_pool(m), aether::Pool::last);  // the blob's, not the sidecar default (mean)
  const aether::ModelAttention a = aether::io::model_attention(m, blob);
  EXPECT_EQ(a.window, aether::ModelAttention{}.window);  // ModelAttention{}: the model reads the blob's
  EXPECT_FALSE(a.gate.has_value());
  EXPECT_NO_THROW(aether::TemporalModel<float>(m.blob, a));

  struct Case {
    const char* key;
    std::function<void(Sidecar&)> add;
  };
  const Case cases[] = {
      {"attention", [](Sidecar& s) { s.attention = aether::ModelAttention{}; }},
      {"pool", [](Sidecar& s) { s.pool = aether::Pool::last; }},  // even agreeing with the blob
      {"features", [](Sidecar& s) { s.features = aether::io::FeatureSpec{"csi-amplitude", 1, json::object()}; }},
      {"gate", [](Sidecar& s) { s.gate = aether::io::GateSpec{32, 4, 8, "prune", ""}; }},
      {"classes", [](Sidecar& s) { s.classes = {"a", "b", "c"}; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    Sidecar bad = ok;
    c.add(bad);
    const std::string key = std::string("'") + c.key + "'";
    // save_model refuses before writing anything.
    const fs::path fresh = dir.path / (std::string("fresh_") + c.key + ".rvne");
    EXPECT_NE(error_text(Errc::invalid_sidecar, [&] { aether::io::save_model(fresh, b, bad); }).find(key),
              std::string::npos);
    EXPECT_FALSE(fs::exists(fresh));
    // A sidecar written by other means is refused when loaded.
    aether::io::write_sidecar(blob, bad);
    EXPECT_NE(error_text(Errc::invalid_sidecar, [&] { aether::io::load_model(blob); }).find(key), std::string::npos);
    EXPECT_NE(error_text(Errc::invalid_sidecar, [&] {
                aether::io::check_sidecar_against_blob(bad, b.header, "x: ");
              }).find("x: key " + key),
              std::string::npos);
  }
  // The same keys on a v1 blob are its sidecar's business (unchanged).
  Sidecar v1 = full_sidecar();
  v1.classes = {"a", "b", "c", "d"};
  EXPECT_NO_THROW(aether::io::check_sidecar_against_blob(v1, aether::rvne::Header::aether_default()));
}

}  // namespace

}  // namespace sidecar_test
