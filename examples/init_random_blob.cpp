/// init_random_blob: writes a seeded, randomly initialised `.rvne` blob with
/// the AETHER default model shape, reads it back, and prints a summary.
///
///   init_random_blob [PATH] [--arch v1|v2] [--seed HEX] [--dtype f32|f16] [--help] [--version]
///
/// With the defaults (model_init.rvne, --arch v1, seed 0xC5110007DEADBEEF,
/// f32) the file is byte-identical to the reference generator's: 41,244
/// bytes, SHA-256 7c6c074ef3b6b23b4d9ae2327deaade81329f003c3a52b59581492c08252d49d
/// (`rvne::init_random`). `--arch v2` writes a version 2 blob of the v2
/// benchmark shape instead: `rvne::init_trainable(rvne::v2_benchmark_header(dtype), seed)`
/// (rvne/init.hpp documents the shape, the distribution and the draw order).
/// Exit status (tools/cli.hpp): 0 written and verified, 1 the blob failed
/// its checks, 2 usage or I/O error.

#include "tools/cli.hpp"

#include <aether/rvne.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

namespace {

// Parses 1-16 hex digits, optional 0x/0X prefix. False on anything else.
bool parse_hex_u64(const std::string& text, std::uint64_t& out) {
  std::size_t i = 0;
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) i = 2;
  if (i == text.size() || text.size() - i > 16) return false;
  std::uint64_t v = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    unsigned digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return false;
    }
    v = (v << 4) | digit;
  }
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  return aether_cli::guarded("init_random_blob", [&]() -> int {
    namespace rvne = aether::rvne;
    std::string path = "model_init.rvne";
    std::uint64_t seed = rvne::kDefaultSeed;
    rvne::Dtype dtype = rvne::Dtype::f32;
    std::string seed_text, dtype_text = "f32", arch_text = "v1";  // checked below / by CLI11

    auto app = aether_cli::make_app(
        "init_random_blob",
        "Writes a .rvne weight blob with the AETHER default shape (input_dim 16,\n"
        "q_heads 4, kv_heads 1, head_dim 32, layers 2, classes 4), every weight drawn\n"
        "from xorshift64* in [-0.1, 0.1], then re-reads and verifies it.");
    app->add_option("PATH", path, "output file (default model_init.rvne); replaced atomically");
    app->add_option("--arch", arch_text,
                    "v1 (default: the reference's version 1 blob, bytes unchanged) or v2 (a version 2 blob of the\n"
                    "v2 benchmark shape, initialised for training)")
        ->check(CLI::IsMember({"v1", "v2"}));
    app->add_option("--seed", seed_text, "64-bit seed in hex, with or without 0x (default 0xC5110007DEADBEEF)");
    app->add_option("--dtype", dtype_text, "f32 (default) or f16 (each draw rounded to nearest even)")
        ->check(CLI::IsMember({"f32", "f16"}));
    app->footer(
        "--arch v1 (default): version 1, the reference's layout (Wq, Wk, Wv, Wo per layer,\n"
        "then Wc); one xorshift64* draw per element in that order (shifts 13/7/17,\n"
        "multiplier 2685821657736338717, top 32 bits u), weight (u / (2^32 - 1) - 0.5) * 0.2\n"
        "in float; with the defaults byte-identical to the reference generator.\n"
        "--arch v2: version 2 with the v2 benchmark descriptor (input_dim 16 from a\n"
        "64-subcarrier csi-amplitude featuriser with log and centre, input projection to\n"
        "d_model 32, 2 layers of RMSNorm + causal depthwise conv k 5 (ReLU), RMSNorm +\n"
        "attention (4 query heads, 1 kv head of 32, biases, RoPE 10000, sparse W 32 B 16,\n"
        "global token 0, causal), RMSNorm + feed-forward 64 (ReLU); final RMSNorm, pool\n"
        "last, 4 classes with a bias; no gate). Every weight matrix, the conv taps (and a\n"
        "gate) uniform in [-a, a], a = sqrt(3 / fan_in) (fan_in = its rows); biases 0,\n"
        "norm gains 1, padding 0. Draws: the same xorshift64* from --seed, one per drawn\n"
        "element, tensor by tensor in the blob's order (rvne info lists it), row-major:\n"
        "weight (2 u / (2^32 - 1) - 1) * a in float; the same bytes on any IEEE-754 host.\n"
        "Exit status: 0 written and verified, 1 the blob failed its checks, 2 usage or I/O error.");
    if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
    if (!seed_text.empty() && !parse_hex_u64(seed_text, seed)) {
      return aether_cli::usage_error(*app, "--seed '" + seed_text + "' is not a 64-bit hex number");
    }
    if (dtype_text == "f16") dtype = rvne::Dtype::f16;

    const bool v2 = arch_text == "v2";
    const rvne::Header header = v2 ? rvne::v2_benchmark_header(dtype) : rvne::Header::aether_default(dtype);
    const rvne::Blob blob = v2 ? rvne::init_trainable(header, seed) : rvne::init_random(header, seed);
    rvne::write_file(path, blob);
    const rvne::Blob back = rvne::read_file(path);
    if (back != blob) {
      std::fprintf(stderr, "init_random_blob: %s: re-read blob differs from what was written\n", path.c_str());
      return aether_cli::kExitInvalid;
    }
    rvne::check_layout(back.header, back.weights.size());

    const unsigned long long weight_bytes = back.weights.size();
    std::printf("wrote %s\n", path.c_str());
    if (v2) std::printf("  version   2 (v2 benchmark shape; rvne info shows its descriptor)\n");
    std::printf("  dtype     %s\n", rvne::dtype_name(header.dtype));
    std::printf("  seed      0x%016llX\n", static_cast<unsigned long long>(seed));
    std::printf("  shape     input_dim %u, q_heads %u, kv_heads %u, head_dim %u, layers %u, classes %u\n",
                static_cast<unsigned>(header.input_dim), static_cast<unsigned>(header.q_heads),
                static_cast<unsigned>(header.kv_heads), static_cast<unsigned>(header.head_dim),
                static_cast<unsigned>(header.layers), static_cast<unsigned>(header.classes));
    std::printf("  weights   %llu bytes, %llu elements\n", weight_bytes,
                static_cast<unsigned long long>(back.element_count()));
    std::printf("  total     %llu bytes = header %zu + weights %llu + crc %zu\n",
                static_cast<unsigned long long>(rvne::serialized_size(weight_bytes, header.version)),
                rvne::detail::header_size(header.version), weight_bytes, rvne::kCrcSize);
    std::printf("  verified  re-read and re-validated\n");
    return 0;
  });
}
