// libFuzzer target for aether::io's JSON and CSV readers: the first byte
// selects the reader, the rest is the file's bytes.
//   0  recording lines (.csi.jsonl): parse_recording, then both featurisers
//   1  recording meta (.csi.meta.json) beside a one-line recording: read_recording
//   2  sidecar (.rvne.json) of blob A: load_model, model_attention (gate),
//      features_from_json, a TemporalModel with the sidecar's attention
//   3  the same sidecar text beside blob B (a blob_sha256 for A must not pass)
//   4  labels CSV: read_labels_csv
// (selector % 5). Blob A: D 4, Hq 1, Hkv 1, d 1, 1 layer, 2 classes, f32,
// every weight 0; blob B: A with its first weight 1; beside them gate.bin,
// 64 bytes (a sidecar's gate.weights may name it). The seeds
// (tests/fuzz/corpus_json/, tests/fuzz/make_json_seeds.py) carry A's sha256.
// Files go to a private temporary folder made at start-up.
//
// Properties (any violation aborts):
//  - only aether::Error escapes a reader (a std::exception of another kind,
//    e.g. the JSON library's or bad_alloc, is a finding), with a code from
//    the reader's documented set;
//  - featurised rows are finite (a value finite as double but not as float
//    must not become +-Inf);
//  - selector 3 never loads unless the text names B's sha256.
// Build: tests/fuzz/CMakeLists.txt (clang, nlohmann-json), or .ci/fuzz.sh.

#include "fuzz_support.hpp"

#include <aether/io/csi_recording.hpp>
#include <aether/io/dataset.hpp>
#include <aether/io/sha256.hpp>
#include <aether/io/sidecar.hpp>
#include <aether/temporal_model.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include <stdlib.h>  // mkdtemp

const char* const fuzz_support::kTarget = "json_fuzz";

namespace {

namespace fs = std::filesystem;
namespace io = aether::io;
namespace rvne = aether::rvne;
using aether::Errc;
using fuzz_support::die;

fs::path g_dir;                   // private temporary folder
std::vector<std::uint8_t> g_blob_a, g_blob_b;
std::string g_sha_b;

void write_file(const fs::path& p, const std::uint8_t* data, std::size_t n) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n));
  if (!out) die("cannot write a temporary file");
}

void expect_code(const aether::Error& e, std::initializer_list<Errc> allowed, const char* reader) {
  for (Errc c : allowed) {
    if (e.code() == c) return;
  }
  std::fprintf(stderr, "json_fuzz: %s threw %s\n", reader, e.what());
  die("unexpected error code");
}

void expect_finite(const std::vector<io::Series>& series) {
  for (const io::Series& s : series) {
    if (!s.features.allFinite()) die("a featurised row holds a non-finite value");
  }
}

void recording_lines(const std::string& text) {
  std::istringstream in(text);
  const io::Recording r = io::parse_recording(in);
  for (io::FeatureSource source : {io::FeatureSource::csi_amplitude, io::FeatureSource::node_features}) {
    io::FeaturizerConfig c;
    c.source = source;
    io::FeaturizeCounts counts;
    expect_finite(io::featurize_recording(r, 0, c, false, counts));
  }
}

void recording_meta(const std::uint8_t* data, std::size_t n) {
  static const std::string line =
      "{\"timestamp\": 1800000000.0, \"node_id\": 1, \"type\": \"raw_csi\", \"subcarriers\": 2, \"iq_hex\": \"01020304\"}\n";
  write_file(g_dir / "r.csi.jsonl", reinterpret_cast<const std::uint8_t*>(line.data()), line.size());
  write_file(g_dir / "r.csi.meta.json", data, n);
  try {
    io::read_recording(g_dir / "r.csi.jsonl");
  } catch (const aether::Error& e) {
    expect_code(e, {Errc::invalid_data, Errc::io_error}, "read_recording (meta)");
  }
}

void sidecar(const std::uint8_t* data, std::size_t n, bool matching) {
  const fs::path blob = g_dir / "m.rvne";
  const std::vector<std::uint8_t>& bytes = matching ? g_blob_a : g_blob_b;
  write_file(blob, bytes.data(), bytes.size());
  write_file(io::sidecar_path(blob), data, n);
  try {
    const io::Model m = io::load_model(blob);
    if (!matching && std::string(reinterpret_cast<const char*>(data), n).find(g_sha_b) == std::string::npos) {
      die("a sidecar loaded beside a blob its blob_sha256 does not name");
    }
    const aether::ModelAttention attention = io::model_attention(m, blob);
    if (m.sidecar.features) io::features_from_json(*m.sidecar.features, "sidecar: ");
    aether::ModelLimits limits;
    limits.max_weight_elements = 1 << 12;
    const aether::TemporalModel<float> model(m.blob, attention, limits);
    const aether::TemporalModel<float>::Matrix x = aether::TemporalModel<float>::Matrix::Ones(3, 4);
    model.forward(x, m.sidecar.pool_or_default());
  } catch (const aether::Error& e) {
    expect_code(e, {Errc::invalid_sidecar, Errc::blob_mismatch, Errc::invalid_data, Errc::io_error,
                    Errc::invalid_config, Errc::invalid_argument, Errc::limit_exceeded},
                "load_model / model_attention / features_from_json / TemporalModel");
  }
}

void labels_csv(const std::uint8_t* data, std::size_t n) {
  write_file(g_dir / "l.csv", data, n);
  try {
    io::read_labels_csv(g_dir / "l.csv");
  } catch (const aether::Error& e) {
    expect_code(e, {Errc::invalid_data, Errc::io_error}, "read_labels_csv");
  }
}

std::vector<std::uint8_t> zero_blob(float first) {
  rvne::Blob b;
  b.header.input_dim = 4;
  b.header.q_heads = 1;
  b.header.kv_heads = 1;
  b.header.head_dim = 1;  // odd: a gate of input_dim 1 and hidden_dim 2^31 - 1 wraps its record size to 0
  b.header.layers = 1;
  b.header.classes = 2;
  b.weights.assign(rvne::layout_elements(b.header) * sizeof(float), 0);
  std::memcpy(b.weights.data(), &first, sizeof first);
  return rvne::serialize(b);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char templ[] = "/tmp/json_fuzz.XXXXXX";
  if (::mkdtemp(templ) == nullptr) die("cannot make a temporary folder");
  g_dir = templ;
  g_blob_a = zero_blob(0.0f);
  g_blob_b = zero_blob(1.0f);
  g_sha_b = io::sha256_hex(g_blob_b.data(), g_blob_b.size());
  const std::vector<std::uint8_t> gate(64, 0);
  write_file(g_dir / "gate.bin", gate.data(), gate.size());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t* body = data + 1;
  const std::size_t n = size - 1;
  try {
    switch (data[0] % 5) {
      case 0:
        try {
          recording_lines(std::string(reinterpret_cast<const char*>(body), n));
        } catch (const aether::Error& e) {
          expect_code(e, {Errc::invalid_data}, "parse_recording / featurize_recording");
        }
        break;
      case 1: recording_meta(body, n); break;
      case 2: sidecar(body, n, true); break;
      case 3: sidecar(body, n, false); break;
      default: labels_csv(body, n); break;
    }
  } catch (const aether::Error&) {
    throw;  // an unexpected code aborted above; nothing else gets here
  } catch (const std::exception& e) {
    std::fprintf(stderr, "json_fuzz: selector %d: %s\n", data[0] % 5, e.what());
    die("an exception other than aether::Error escaped a reader");
  }
  return 0;
}
