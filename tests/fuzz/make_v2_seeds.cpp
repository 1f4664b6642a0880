// Writes the version 2 seeds of rvne_parse_fuzz (corpus/v2_*.rvne) and
// model_fuzz (corpus_model/v2_*.bin). Deterministic: rerun after changing
// the v2 format or model_fuzz's input layout, and commit the result.
//
//   c++ -std=c++17 -Iinclude -I/usr/include/eigen3 tests/fuzz/make_v2_seeds.cpp -o /tmp/make_v2_seeds
//   /tmp/make_v2_seeds tests/fuzz
//
// The parse seeds are small (at most a few KiB): the smallest v2 model (every
// block off, every size 1), block sets 0x00, 0xFF, 0x55, 0xAA, 0x33, 0xCC,
// 0x0F, 0xF0 (every pair of switches meets in all four on/off combinations),
// fp16, both gate modes, each featuriser (standardised with its tensors), and
// a header-only blob with every size field at its maximum (refused:
// layout_mismatch). The model seeds are [blob][6 option bytes][fp16 frames]
// (model_fuzz.cpp) with models under its 1024-weight cap.

#include <aether/rvne.hpp>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace rvne = aether::rvne;
using Bytes = std::vector<std::uint8_t>;

// A small v2 header: D 3, Hq 2, Hkv 1, d 2, `layers`, C 2, `blocks` with their sizes.
rvne::Header header(std::uint32_t blocks, std::uint16_t layers = 1, rvne::Dtype dtype = rvne::Dtype::f32) {
  rvne::Header h;
  h.version = rvne::kVersion2;
  h.dtype = dtype;
  h.input_dim = 3;
  h.q_heads = 2;
  h.kv_heads = 1;
  h.head_dim = 2;
  h.layers = layers;
  h.classes = 2;
  rvne::Architecture& a = h.arch;
  a.blocks = blocks;
  if (a.has(rvne::kBlockInputProjection)) a.d_model = 4;
  if (a.has(rvne::kBlockFfn)) {
    a.ffn_dim = 3;
    a.ffn_activation = rvne::Activation::gelu;
  }
  if (a.has(rvne::kBlockConv)) {
    a.conv_kernel = 3;
    a.conv_dilation = 2;
    a.conv_activation = rvne::Activation::relu;
  }
  if (a.has(rvne::kBlockNorm)) a.norm_eps = 1e-5f;
  if (a.has(rvne::kBlockRope)) a.rope_base = 10000.0f;
  a.attention.window = 4;
  a.attention.block_size = 2;
  a.attention.causal = 1;
  a.attention.global_count = 1;
  return h;
}

Bytes blob(const rvne::Header& h, std::uint64_t seed) { return rvne::serialize(rvne::init_trainable(h, seed)); }

bool write(const std::string& path, const Bytes& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return static_cast<bool>(f);
}

// [blob][options][frames]: option bytes as model_fuzz.cpp documents them,
// `frames` fp16 values cycling through a fixed set (zero, +-0.5, 1.5, -2).
Bytes model_seed(const Bytes& b, std::uint8_t o0, std::uint8_t frames, std::uint8_t capacity, std::size_t values) {
  Bytes out = b;
  const std::uint8_t opt[6] = {o0, 8, 4, 1, static_cast<std::uint8_t>(frames - 1), capacity};
  out.insert(out.end(), opt, opt + 6);
  const std::uint16_t halves[] = {0x0000, 0x3800, 0xB800, 0x3E00, 0xC000};
  for (std::size_t i = 0; i < values; ++i) {
    out.push_back(static_cast<std::uint8_t>(halves[i % 5] & 0xFF));
    out.push_back(static_cast<std::uint8_t>(halves[i % 5] >> 8));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_v2_seeds FUZZ_DIR (tests/fuzz)\n");
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  auto parse_seed = [&](const std::string& name, const Bytes& b) { ok = write(dir + "/corpus/v2_" + name + ".rvne", b) && ok; };
  auto fuzz_seed = [&](const std::string& name, const Bytes& b) { ok = write(dir + "/corpus_model/v2_" + name + ".bin", b) && ok; };

  // The smallest model: every block off, every size 1.
  rvne::Header tiny = header(0);
  tiny.input_dim = tiny.q_heads = tiny.kv_heads = tiny.head_dim = 1;
  parse_seed("tiny_f32", blob(tiny, 1));
  // Block sets covering every pair of switches in all four combinations.
  const std::uint32_t sets[] = {0x00, 0xFF, 0x55, 0xAA, 0x33, 0xCC, 0x0F, 0xF0};
  for (std::uint32_t s : sets) {
    char name[32];
    std::snprintf(name, sizeof name, "blocks_%02X", static_cast<unsigned>(s));
    parse_seed(name, blob(header(s, s == 0xFF ? 2 : 1), s + 2));
  }
  parse_seed("all_blocks_f16", blob(header(0xFF, 1, rvne::Dtype::f16), 3));
  rvne::Header gate = header(0xFF);
  gate.arch.attention.gate = rvne::GateKind::salient;
  gate.arch.attention.gate_hidden = 2;
  gate.arch.attention.gate_top_k = 3;
  parse_seed("gate_salient", blob(gate, 4));
  rvne::Header csi = header(0x41);
  csi.arch.features = {rvne::FeatureKind::csi_amplitude, 1, rvne::kFeatureLog | rvne::kFeatureCentre, 64};
  parse_seed("csi_featuriser", blob(csi, 5));
  rvne::Header node = header(0x0B, 1, rvne::Dtype::f16);
  node.arch.features = {rvne::FeatureKind::node_features, 2, rvne::kFeatureConstant | rvne::kFeatureStandardised, 0};
  parse_seed("node_standardised_f16", blob(node, 6));
  // Every size field at its maximum, header only (refused as layout_mismatch).
  rvne::Header wide = header(0xFF);
  wide.input_dim = wide.q_heads = wide.kv_heads = wide.layers = wide.classes = 0xFFFF;
  wide.head_dim = 0xFFFE;
  wide.arch.d_model = wide.arch.ffn_dim = wide.arch.conv_kernel = wide.arch.conv_dilation = 0xFFFF;
  Bytes head(rvne::kV2TensorStart + rvne::kCrcSize);
  rvne::detail::encode_header(wide, 0, head.data());
  rvne::detail::store_u32(head.data() + rvne::kV2TensorStart, rvne::crc32(head.data(), rvne::kV2TensorStart));
  parse_seed("maximal_fields", head);

  // model_fuzz: o[0] bit 4 Pool::last, bits 2-3 eviction, bit 5 contradicting attention.
  fuzz_seed("tiny", model_seed(blob(tiny, 1), 0, 4, 8, 8));
  fuzz_seed("all_blocks_last", model_seed(blob(header(0xFF), 7), 16, 6, 8, 24));
  fuzz_seed("all_blocks_f16_sliding", model_seed(blob(header(0xFF, 1, rvne::Dtype::f16), 8), 4, 6, 4, 24));
  fuzz_seed("conv_rope_heavy_hitter", model_seed(blob(header(0x46), 9), 8 | 16, 5, 3, 15));
  fuzz_seed("gate_salient", model_seed(blob(gate, 10), 0, 6, 8, 18));
  fuzz_seed("node_standardised", model_seed(blob(node, 11), 16, 4, 6, 12));
  fuzz_seed("contradicting_attention", model_seed(blob(header(0x33), 12), 32, 3, 4, 9));
  fuzz_seed("full_cache", model_seed(blob(header(0xCC), 13), 0, 6, 3, 18));
  if (!ok) {
    std::fprintf(stderr, "make_v2_seeds: cannot write into %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
