/// firmware_embed: writes node_blobs.c (firmware/node_blobs.h) for the test
/// image: the fp32 and fp16 blobs, an unaligned copy of the fp32 one, and
/// one hostile blob per class tests/rvne_test.cpp checks, each derived from
/// the fp32 blob with its CRC recomputed (so the one broken field decides),
/// with the codes aether_node_init and ruv_temporal_init must return; then
/// the v2 blobs (v2_blobs.hpp: the test blob, its fp16 conversion, an
/// unaligned copy, the report's second blob), hostile v2 blobs (derived from
/// the seeded benchmark-shape blob) and the real raw frames the v2 checks feed.
///
///   firmware_embed F32.rvne F16.rvne OUT.c --recording FILE.csi.jsonl [--v2-blob FILE.rvne]
///
/// Exit status (tools/cli.hpp): 0 written, 1 an input blob is invalid,
/// 2 usage or I/O error.
#include "tools/cli.hpp"
#include "v2_blobs.hpp"

#include <aether/c/aether.h>
#include <aether/c/ruv_temporal.h>
#include <aether/rvne/codec.hpp>
#include <aether/rvne/file.hpp>
#include <aether/rvne/tensors.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<std::uint8_t>;

struct Hostile {
  const char* name;
  Bytes bytes;
  int aether_status;
  int esp_code;
};

void put_u32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Rewrites the trailing CRC-32 over everything before it.
Bytes with_crc(Bytes b) {
  const std::size_t at = b.size() - aether::rvne::kCrcSize;
  put_u32(b, at, aether::rvne::crc32(b.data(), at));
  return b;
}

std::vector<Hostile> hostile_blobs(const Bytes& good) {
  namespace d = aether::rvne::detail;
  std::vector<Hostile> out;
  Bytes b(good.begin(), good.end() - 1);
  out.push_back({"truncated", b, AETHER_ERR_TRUNCATED, ESP_ERR_INVALID_SIZE});
  b = good;
  b.push_back(0);
  out.push_back({"trailing_byte", b, AETHER_ERR_TRAILING_BYTES, ESP_ERR_INVALID_SIZE});
  b = good;
  b[d::kOffMagic] ^= 0xFF;
  out.push_back({"bad_magic", with_crc(b), AETHER_ERR_BAD_MAGIC, ESP_ERR_INVALID_ARG});
  b = good;
  b[d::kOffVersion] = 3;
  out.push_back({"unknown_version", with_crc(b), AETHER_ERR_UNSUPPORTED_VERSION, ESP_ERR_INVALID_VERSION});
  b = good;
  b[d::kOffFlags] |= 0x02;
  out.push_back({"unknown_flag", with_crc(b), AETHER_ERR_UNSUPPORTED_FLAGS, ESP_ERR_INVALID_ARG});
  b = good;
  b[aether::rvne::kHeaderSize + 100] ^= 0x10;  // a weight byte, CRC left stale
  out.push_back({"bad_crc", b, AETHER_ERR_CHECKSUM, ESP_ERR_INVALID_CRC});
  // Header + CRC only, weights_len 0xFFFFFFE4: 28 + weights_len wraps to 0 in
  // 32-bit size_t arithmetic (the target's), so the size check must be 64-bit.
  b.assign(good.begin(), good.begin() + aether::rvne::kMinBlobSize);
  put_u32(b, d::kOffWeightsLen, 0xFFFFFFE4u);
  out.push_back({"weights_len_overflow", with_crc(b), AETHER_ERR_TRUNCATED, ESP_ERR_INVALID_SIZE});
  // A valid container whose weights are 4 bytes short of the model layout.
  b = good;
  b.erase(b.end() - 8, b.end() - 4);
  put_u32(b, d::kOffWeightsLen, static_cast<std::uint32_t>(b.size() - aether::rvne::kMinBlobSize));
  out.push_back({"layout_mismatch", with_crc(b), AETHER_ERR_LAYOUT_MISMATCH, ESP_ERR_INVALID_ARG});
  return out;
}

// Hostile v2 blobs, each derived from the good v2 blob `good` (CRC
// recomputed), for a node configured as the good one. Called with the seeded
// benchmark-shape blob (input_dim 16, 4 classes: node_image's hostile checks
// configure the node as for the v1 blob), whatever the test blob is.
std::vector<Hostile> hostile_v2_blobs(const Bytes& good) {
  namespace d = aether::rvne::detail;
  namespace rvne = aether::rvne;
  std::vector<Hostile> out;
  Bytes b = good;
  put_u32(b, d::kOffNormEps, 0x40000000u);  // norm_eps 2.0: out of (0, 1)
  out.push_back({"v2_norm_eps_out_of_range", with_crc(b), AETHER_ERR_INVALID_HEADER, ESP_ERR_INVALID_ARG});
  b = good;
  b[d::kOffBlocks + 3] |= 0x80;  // an unknown block bit
  out.push_back({"v2_unknown_block", with_crc(b), AETHER_ERR_UNSUPPORTED_FEATURE, ESP_ERR_NOT_SUPPORTED});
  b = good;
  b[d::kOffFeatureVersion] = 2;  // featuriser version 2 without its constant feature
  out.push_back({"v2_featuriser_version", with_crc(b), AETHER_ERR_INVALID_HEADER, ESP_ERR_INVALID_ARG});
  b = good;
  b[d::kOffFeatureFlags] |= rvne::kFeatureStandardised;  // standardisation tensors the section lacks
  out.push_back({"v2_featuriser_lengths", with_crc(b), AETHER_ERR_LAYOUT_MISMATCH, ESP_ERR_INVALID_ARG});
  b = good;
  b.erase(b.end() - 20, b.end() - 4);  // the tensor section 16 bytes short, weights_len to match
  put_u32(b, d::kOffWeightsLen, static_cast<std::uint32_t>(b.size() - rvne::kV2TensorStart - rvne::kCrcSize));
  out.push_back({"v2_truncated_tensors", with_crc(b), AETHER_ERR_LAYOUT_MISMATCH, ESP_ERR_INVALID_ARG});
  // Non-zero padding: a shape with padding (b1 of 62 floats: 8 bytes to the next 16-byte boundary).
  rvne::Header ph = rvne::parse_view(good.data(), good.size()).header;
  ph.arch.ffn_dim = 62;
  b = firmware_v2::seeded(ph);
  std::size_t gap = 0;
  rvne::for_each_tensor(ph, [&](const rvne::MatrixShape& m) {
    if (gap == 0 && std::string(m.name) == "b1") gap = rvne::kV2TensorStart + 4 * (m.offset + m.rows * m.cols);
  });
  b[gap] = 1;
  out.push_back({"v2_nonzero_padding", with_crc(b), AETHER_ERR_INVALID_HEADER, ESP_ERR_INVALID_ARG});
  rvne::Header gh = rvne::parse_view(good.data(), good.size()).header;
  gh.arch.attention.gate = rvne::GateKind::salient;
  gh.arch.attention.gate_top_k = 8;
  gh.arch.attention.gate_hidden = 8;
  out.push_back({"v2_gated", firmware_v2::seeded(gh), AETHER_ERR_INVALID_CONFIG, ESP_ERR_INVALID_ARG});
  return out;
}

// One array definition, 16 bytes a line. `lead` bytes of padding come first.
void write_array(std::FILE* f, const std::string& name, const Bytes& bytes, std::size_t lead) {
  std::fprintf(f, "static const uint8_t %s[%zu] __attribute__((aligned(4))) = {", name.c_str(), bytes.size() + lead);
  for (std::size_t i = 0; i < bytes.size() + lead; ++i) {
    std::fprintf(f, "%s%u,", i % 16 == 0 ? "\n  " : "", i < lead ? 0u : static_cast<unsigned>(bytes[i - lead]));
  }
  std::fprintf(f, "\n};\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string f32_path, f16_path, out_path, recording, v2_path;
  auto app = aether_cli::make_app("firmware_embed",
                                  "Writes node_blobs.c for the firmware test image: the fp32 and fp16 blobs,\n"
                                  "an unaligned copy and the hostile blobs, as byte arrays.");
  app->add_option("F32", f32_path, "the fp32 blob (model_init.rvne)")->required();
  app->add_option("F16", f16_path, "its fp16 conversion")->required();
  app->add_option("OUT", out_path, "the C file to write")->required();
  app->add_option("--recording", recording, "the real recording (.csi.jsonl) whose raw frames the v2 checks feed")
      ->required();
  app->add_option("--v2-blob", v2_path, "the v2 test blob (default: the benchmark shape, seeded trainable weights)");
  if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
  try {
    const Bytes f32 = aether::rvne::serialize(aether::rvne::read_file(f32_path));
    const Bytes f16 = aether::rvne::serialize(aether::rvne::read_file(f16_path));
    std::vector<Hostile> hostile = hostile_blobs(f32);
    const Bytes v2 = firmware_v2::test_blob(v2_path);
    const Bytes v2_f16 = aether::rvne::serialize(aether::rvne::parse(v2).converted(aether::rvne::Dtype::f16));
    const Bytes v2_report = firmware_v2::seeded(firmware_v2::report_header());
    const Bytes v2_bench = firmware_v2::seeded(aether::rvne::v2_benchmark_header());
    for (Hostile& h : hostile_v2_blobs(v2_bench)) hostile.push_back(std::move(h));
    const std::vector<firmware_v2::Frame> frames = firmware_v2::frames(recording);
    if (frames.size() != firmware_v2::kFrameCount) {
      std::fprintf(stderr, "firmware_embed: %s holds %zu raw frames of node %lld, expected %zu\n", recording.c_str(),
                   frames.size(), static_cast<long long>(firmware_v2::kFrameNode), firmware_v2::kFrameCount);
      return aether_cli::kExitInvalid;
    }
    std::FILE* f = std::fopen(out_path.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "firmware_embed: cannot write %s\n", out_path.c_str());
      return aether_cli::kExitUsage;
    }
    std::fprintf(f, "/* Generated by firmware_embed from %s and %s. Do not edit. */\n", f32_path.c_str(),
                 f16_path.c_str());
    std::fprintf(f, "#include \"node_blobs.h\"\n\n");
    write_array(f, "f32_bytes", f32, 0);
    write_array(f, "f16_bytes", f16, 0);
    write_array(f, "unaligned_bytes", f32, 1);
    std::fprintf(f, "const node_blob node_blob_f32 = {\"f32\", f32_bytes, %zu};\n", f32.size());
    std::fprintf(f, "const node_blob node_blob_f16 = {\"f16\", f16_bytes, %zu};\n", f16.size());
    std::fprintf(f, "const node_blob node_blob_unaligned = {\"f32_unaligned\", unaligned_bytes + 1, %zu};\n\n",
                 f32.size());
    write_array(f, "v2_f32_bytes", v2, 0);
    write_array(f, "v2_f16_bytes", v2_f16, 0);
    write_array(f, "v2_unaligned_bytes", v2, 1);
    // The report's blobs (cost_image): the seeded benchmark shape and the
    // training default, each aliasing an array already written when equal.
    const char* bench_array = v2_bench == v2 ? "v2_f32_bytes" : "v2_bench_bytes";
    if (v2_bench != v2) write_array(f, "v2_bench_bytes", v2_bench, 0);
    const char* report_array = v2_report == v2_bench ? bench_array : v2_report == v2 ? "v2_f32_bytes" : "v2_report_bytes";
    if (v2_report != v2_bench && v2_report != v2) write_array(f, "v2_report_bytes", v2_report, 0);
    std::fprintf(f, "const node_blob node_blob_v2_f32 = {\"v2_f32\", v2_f32_bytes, %zu};\n", v2.size());
    std::fprintf(f, "const node_blob node_blob_v2_f16 = {\"v2_f16\", v2_f16_bytes, %zu};\n", v2_f16.size());
    std::fprintf(f, "const node_blob node_blob_v2_unaligned = {\"v2_f32_unaligned\", v2_unaligned_bytes + 1, %zu};\n",
                 v2.size());
    std::fprintf(f, "const node_blob node_blob_v2_bench = {\"v2_bench\", %s, %zu};\n", bench_array, v2_bench.size());
    std::fprintf(f, "const node_blob node_blob_v2_report = {\"v2_report\", %s, %zu};\n\n", report_array,
                 v2_report.size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
      std::fprintf(f, "static const int8_t v2_frame_%zu[%zu] = {", i, frames[i].iq.size());
      for (std::size_t j = 0; j < frames[i].iq.size(); ++j) std::fprintf(f, "%s%d,", j % 24 == 0 ? "\n  " : "", frames[i].iq[j]);
      std::fprintf(f, "\n};\n");
    }
    std::fprintf(f, "const node_csi_frame node_v2_frames[] = {\n");
    for (std::size_t i = 0; i < frames.size(); ++i) std::fprintf(f, "  {%u, v2_frame_%zu},\n", frames[i].subcarriers, i);
    std::fprintf(f, "};\nconst size_t node_v2_frame_count = %zu;\n\n", frames.size());
    for (std::size_t i = 0; i < hostile.size(); ++i) write_array(f, "hostile_" + std::to_string(i), hostile[i].bytes, 0);
    std::fprintf(f, "const node_hostile_blob node_hostile_blobs[] = {\n");
    for (std::size_t i = 0; i < hostile.size(); ++i) {
      std::fprintf(f, "  {{\"%s\", hostile_%zu, %zu}, %d, 0x%X},\n", hostile[i].name, i, hostile[i].bytes.size(),
                   hostile[i].aether_status, static_cast<unsigned>(hostile[i].esp_code));
    }
    std::fprintf(f, "};\nconst size_t node_hostile_count = %zu;\n", hostile.size());
    if (std::fclose(f) != 0) {
      std::fprintf(stderr, "firmware_embed: cannot write %s\n", out_path.c_str());
      return aether_cli::kExitUsage;
    }
    return aether_cli::kExitOk;
  } catch (const aether::Error& e) {
    std::fprintf(stderr, "firmware_embed: %s\n", e.what());
    return aether_cli::exit_code_of(e);
  }
}
