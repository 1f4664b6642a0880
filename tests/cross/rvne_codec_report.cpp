// rvne_codec_report: what the .rvne codec makes of a set of blobs, in a form
// two hosts can compare byte for byte (.ci/s390x.sh runs it on x86-64 and,
// cross-compiled, on big-endian s390x under qemu, and diffs the results).
//
//   rvne_codec_report OUT_DIR FILE...
//
// For every FILE (read as raw bytes) one line on stdout:
//   <name> size <n> code <errc> crc <computed crc32 of all but the last 4 bytes>
//   and, when try_parse accepts it: the decoded header, the element count,
//   the stored CRC, whether the layout is a model's, whether serialize(parse)
//   gave back the input bytes exactly, and the CRC of the widened weights.
// Accepted blobs also leave two files in OUT_DIR: <name>.reserialised (the
// bytes of serialize(parse(FILE))) and <name>.f32 (every weight widened to
// float, as little-endian binary32 bits).
// Version 2 blobs also print their decoded descriptor and every tensor's
// name, offset and the CRC of its widened values.
// Then the same for blobs made in memory (init_random over several headers,
// seeds and both dtypes; init_trainable over v2 headers; fp32 <-> fp16
// conversions), written to OUT_DIR as gen_<label>.rvne.
//
// Exit status: 0 report written and every accepted blob re-serialised to its
// own bytes; 1 a blob did not round-trip; 2 usage or I/O error.

#include <aether/rvne.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

namespace rvne = aether::rvne;
using Bytes = std::vector<std::uint8_t>;

bool write_bytes(const std::filesystem::path& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return static_cast<bool>(f);
}

// Widened weights as little-endian binary32 bytes (host independent).
Bytes widened_le(const rvne::BlobView& v) {
  Bytes out(v.element_count() * 4);
  for (std::size_t i = 0; i < v.element_count(); ++i) {
    rvne::detail::store_u32(out.data() + 4 * i, rvne::detail::f32_to_bits(v.weight(i)));
  }
  return out;
}

// The v2 descriptor as decoded (every field; floats as their bits) and each
// tensor's name, offset and the CRC of its widened values.
void print_descriptor(const rvne::Header& h, const rvne::BlobView& v) {
  const rvne::Architecture& a = h.arch;
  const rvne::AttentionDesc& at = a.attention;
  std::printf(" v2 blocks %02x d_model %u ffn %u conv %u/%u act %u/%u pool %u eps %08x rope %08x backend %u W %u B %u"
              " causal %u globals %u",
              static_cast<unsigned>(a.blocks), static_cast<unsigned>(a.d_model), static_cast<unsigned>(a.ffn_dim),
              static_cast<unsigned>(a.conv_kernel), static_cast<unsigned>(a.conv_dilation),
              static_cast<unsigned>(a.conv_activation), static_cast<unsigned>(a.ffn_activation),
              static_cast<unsigned>(a.pool), static_cast<unsigned>(rvne::detail::f32_to_bits(a.norm_eps)),
              static_cast<unsigned>(rvne::detail::f32_to_bits(a.rope_base)), static_cast<unsigned>(at.backend),
              static_cast<unsigned>(at.window), static_cast<unsigned>(at.block_size), static_cast<unsigned>(at.causal),
              static_cast<unsigned>(at.global_count));
  for (std::size_t i = 0; i < at.global_count; ++i) std::printf(",%u", static_cast<unsigned>(at.globals[i]));
  std::printf(" gate %u/%u/%u features %u/%u/%02x/%u/%u", static_cast<unsigned>(at.gate), static_cast<unsigned>(at.gate_top_k),
              static_cast<unsigned>(at.gate_hidden), static_cast<unsigned>(a.features.kind),
              static_cast<unsigned>(a.features.version), static_cast<unsigned>(a.features.flags),
              static_cast<unsigned>(a.features.subcarriers), static_cast<unsigned>(a.features.highpass));
  rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
    std::uint32_t crc = 0;
    for (std::uint64_t i = 0; i < m.elements(); ++i) {
      std::uint8_t le[4];
      rvne::detail::store_u32(le, rvne::detail::f32_to_bits(v.weight(static_cast<std::size_t>(m.offset + i))));
      crc = rvne::crc32(le, 4, crc);
    }
    std::printf(" %s@%d:%llu:%08x", m.name, m.layer, static_cast<unsigned long long>(m.offset), static_cast<unsigned>(crc));
  });
}

// Reports one blob; returns false when an accepted blob does not round-trip
// or an output file cannot be written (`io_failed` tells which).
bool report(const std::string& name, const Bytes& bytes, const std::filesystem::path& out_dir, bool& io_failed) {
  const rvne::ParseResult r = rvne::try_parse(bytes.data(), bytes.size());
  const std::uint32_t computed =
      bytes.size() >= rvne::kCrcSize ? rvne::crc32(bytes.data(), bytes.size() - rvne::kCrcSize) : 0;
  std::printf("%s size %zu code %s crc %08x", name.c_str(), bytes.size(), aether::errc_name(r.code),
              static_cast<unsigned>(computed));
  bool same = true;
  if (r.ok()) {
    const rvne::BlobView& v = r.view;
    const rvne::Header& h = v.header;
    const Bytes again = rvne::serialize(v.to_blob());
    same = again == bytes;
    const Bytes widened = widened_le(v);
    std::printf(" dtype %s D %u Hq %u Hkv %u d %u L %u C %u elements %zu stored_crc %08x model %s"
                " reserialised %s widened_crc %08x",
                rvne::dtype_name(h.dtype), static_cast<unsigned>(h.input_dim), static_cast<unsigned>(h.q_heads),
                static_cast<unsigned>(h.kv_heads), static_cast<unsigned>(h.head_dim),
                static_cast<unsigned>(h.layers), static_cast<unsigned>(h.classes), v.element_count(),
                static_cast<unsigned>(v.crc), rvne::layout_matches(h, v.weights_len) ? "yes" : "no",
                same ? "identical" : "DIFFERENT", static_cast<unsigned>(rvne::crc32(widened.data(), widened.size())));
    if (h.version == rvne::kVersion2) print_descriptor(h, v);
    if (!write_bytes(out_dir / (name + ".reserialised"), again) || !write_bytes(out_dir / (name + ".f32"), widened)) {
      io_failed = true;
    }
  }
  std::printf("\n");
  return same;
}

// A small v2 header with every block on, a salient gate and a standardised
// node-features featuriser; W_in is 5 x 6, so padding follows it in fp32 and fp16.
rvne::Header v2_small(rvne::Dtype dtype) {
  rvne::Header h;
  h.version = rvne::kVersion2;
  h.dtype = dtype;
  h.input_dim = 5;
  h.q_heads = 2;
  h.kv_heads = 1;
  h.head_dim = 4;
  h.layers = 2;
  h.classes = 3;
  rvne::Architecture& a = h.arch;
  a.blocks = rvne::kKnownBlocks;
  a.d_model = 6;
  a.ffn_dim = 7;
  a.conv_kernel = 3;
  a.conv_dilation = 2;
  a.conv_activation = rvne::Activation::gelu;
  a.ffn_activation = rvne::Activation::relu;
  a.pool = rvne::PoolKind::last;
  a.norm_eps = 1e-6f;
  a.rope_base = 500.0f;
  a.attention.window = 9;
  a.attention.block_size = 3;
  a.attention.global_count = 2;
  a.attention.globals[1] = 7;
  a.attention.gate = rvne::GateKind::salient;
  a.attention.gate_top_k = 5;
  a.attention.gate_hidden = 3;
  a.features = {rvne::FeatureKind::node_features, 2, rvne::kFeatureConstant | rvne::kFeatureStandardised, 0};
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: rvne_codec_report OUT_DIR FILE...\n");
    return 2;
  }
  const std::filesystem::path out_dir = argv[1];
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  bool all_same = true, io_failed = false;
  for (int i = 2; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "rvne_codec_report: cannot read %s\n", argv[i]);
      return 2;
    }
    const Bytes bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
    all_same = report(std::filesystem::path(argv[i]).filename().string(), bytes, out_dir, io_failed) && all_same;
  }

  try {
    struct Gen {
      const char* label;
      rvne::Header header;
      std::uint64_t seed;
    };
    rvne::Header odd;  // every field distinct, none a power of two
    odd.input_dim = 7;
    odd.q_heads = 6;
    odd.kv_heads = 3;
    odd.head_dim = 5;
    odd.layers = 3;
    odd.classes = 11;
    rvne::Header odd16 = odd;
    odd16.dtype = rvne::Dtype::f16;
    const Gen gens[] = {{"default_f32", rvne::Header::aether_default(), rvne::kDefaultSeed},
                        {"default_f16", rvne::Header::aether_default(rvne::Dtype::f16), rvne::kDefaultSeed},
                        {"default_seed7", rvne::Header::aether_default(), 7},
                        {"odd_f32", odd, 0x0123456789ABCDEFull},
                        {"odd_f16", odd16, 0x0123456789ABCDEFull},
                        // Version 2 (init_trainable): the benchmark shape, and a small
                        // gated, standardised shape with padding between tensors.
                        {"v2_benchmark_f32", rvne::v2_benchmark_header(), 19},
                        {"v2_benchmark_f16", rvne::v2_benchmark_header(rvne::Dtype::f16), 19},
                        {"v2_small_gated_f32", v2_small(rvne::Dtype::f32), 0x0123456789ABCDEFull},
                        {"v2_small_gated_f16", v2_small(rvne::Dtype::f16), 0x0123456789ABCDEFull}};
    for (const Gen& g : gens) {
      const rvne::Blob b =
          g.header.version == rvne::kVersion2 ? rvne::init_trainable(g.header, g.seed) : rvne::init_random(g.header, g.seed);
      const Bytes bytes = rvne::serialize(b);
      const std::string name = std::string("gen_") + g.label + ".rvne";
      if (!write_bytes(out_dir / name, bytes)) io_failed = true;
      all_same = report(name, bytes, out_dir, io_failed) && all_same;
      const rvne::Dtype other = g.header.dtype == rvne::Dtype::f32 ? rvne::Dtype::f16 : rvne::Dtype::f32;
      const std::string conv = std::string("gen_") + g.label + "_converted.rvne";
      const Bytes converted = rvne::serialize(b.converted(other));
      if (!write_bytes(out_dir / conv, converted)) io_failed = true;
      all_same = report(conv, converted, out_dir, io_failed) && all_same;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rvne_codec_report: %s\n", e.what());
    return 1;
  }
  if (io_failed) {
    std::fprintf(stderr, "rvne_codec_report: cannot write into %s\n", out_dir.string().c_str());
    return 2;
  }
  if (!all_same) {
    std::fprintf(stderr, "rvne_codec_report: a blob did not re-serialise to its own bytes\n");
    return 1;
  }
  return 0;
}
