/// rvne: inspect, verify and convert `.rvne` weight blobs.
///
///   rvne info FILE [--json]      header, sizes, CRC, layout check, tensor shapes
///                                (version 2: the descriptor too)
///   rvne verify FILE [--model]   exit 0 if valid, 1 (reason on stderr) if not
///   rvne convert IN OUT --dtype f16|f32 [--force]
///   rvne stats FILE              per-tensor min/max/mean/std, NaN/Inf counts
///
/// Versions 1 and 2 (docs/rvne-format.md): every tensor list comes from
/// `rvne::for_each_tensor` (one pass, O(tensors)); a v2 blob's padding
/// between tensors is not a tensor and is left out of the statistics.
///
/// Exit status everywhere (tools/cli.hpp): 0 success / valid blob, 1 invalid
/// blob (or a failed check), 2 usage error or I/O error.

#include "tools/cli.hpp"

#include <aether/rvne.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace {

namespace rvne = aether::rvne;

using aether_cli::kExitInvalid;
using aether_cli::kExitOk;
using aether_cli::kExitUsage;

/// Loads `path`; on failure prints the reason and returns the exit status.
int load(const std::string& path, rvne::Blob& out) {
  try {
    out = rvne::read_file(path);
    return kExitOk;
  } catch (const aether::Error& e) {
    std::fprintf(stderr, "rvne: %s\n", e.what());
    return aether_cli::exit_code_of(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rvne: %s: %s\n", path.c_str(), e.what());
    return kExitUsage;
  }
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string shape_text(const rvne::Header& h) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "input_dim %u, q_heads %u, kv_heads %u, head_dim %u, layers %u, classes %u",
                static_cast<unsigned>(h.input_dim), static_cast<unsigned>(h.q_heads),
                static_cast<unsigned>(h.kv_heads), static_cast<unsigned>(h.head_dim),
                static_cast<unsigned>(h.layers), static_cast<unsigned>(h.classes));
  return buf;
}

/// Shortest decimal text (at most 9 significant digits; an integer in full)
/// that reads back as the same float: 1e-05, 10000. Valid JSON.
std::string float_text(float v) {
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e9f) {  // an integer: 10000, not 1e+04
    std::snprintf(buf, sizeof buf, "%.0f", static_cast<double>(v));
    return buf;
  }
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

/// The block bits of a descriptor with their names (JSON keys and text).
struct BlockName {
  rvne::Block bit;
  const char* name;
};
constexpr BlockName kBlockNames[] = {
    {rvne::kBlockInputProjection, "input_projection"}, {rvne::kBlockNorm, "norm"},
    {rvne::kBlockConv, "conv"},                         {rvne::kBlockFfn, "ffn"},
    {rvne::kBlockQkvBias, "qkv_bias"},                  {rvne::kBlockOutBias, "out_bias"},
    {rvne::kBlockRope, "rope"},                         {rvne::kBlockClassifierBias, "classifier_bias"},
};

const char* pool_name(rvne::PoolKind p) { return p == rvne::PoolKind::last ? "last" : "mean"; }
const char* backend_name(rvne::BackendKind b) { return b == rvne::BackendKind::dense ? "dense" : "sparse"; }
const char* gate_name(rvne::GateKind g) { return g == rvne::GateKind::salient ? "salient" : "prune"; }

std::string globals_text(const rvne::AttentionDesc& at) {
  std::string out = "[";
  for (std::size_t i = 0; i < at.global_count; ++i) out += (i ? ", " : "") + std::to_string(at.globals[i]);
  return out + "]";
}

/// The v2 descriptor as one JSON object (the value of "descriptor").
std::string descriptor_json(const rvne::Header& h) {
  const rvne::Architecture& a = h.arch;
  const rvne::AttentionDesc& at = a.attention;
  const rvne::FeaturizerDesc& f = a.features;
  auto flag = [](bool on) { return on ? "true" : "false"; };
  std::string blocks;
  for (const BlockName& b : kBlockNames) {
    blocks += std::string(blocks.empty() ? "" : ", ") + "\"" + b.name + "\": " + flag(a.has(b.bit));
  }
  std::string gate = "null";
  if (at.gate != rvne::GateKind::none) {
    gate = std::string("{\"mode\": \"") + gate_name(at.gate) + "\", \"top_k\": " + std::to_string(at.gate_top_k) +
           ", \"hidden\": " + std::to_string(at.gate_hidden) + "}";
  }
  char buf[1536];
  std::snprintf(
      buf, sizeof buf,
      "{\"d_model\": %u, \"ffn_dim\": %u,\n  \"blocks\": {%s},\n"
      "  \"conv_kernel\": %u, \"conv_dilation\": %u, \"conv_activation\": \"%s\", \"ffn_activation\": \"%s\",\n"
      "  \"norm_eps\": %s, \"rope_base\": %s, \"pool\": \"%s\",\n"
      "  \"attention\": {\"backend\": \"%s\", \"window\": %lu, \"block_size\": %lu, \"causal\": %s, "
      "\"global_tokens\": %s, \"gate\": %s},\n"
      "  \"featuriser\": {\"kind\": \"%s\", \"version\": %u, \"log\": %s, \"centre\": %s, \"constant\": %s, "
      "\"standardised\": %s, \"subcarriers\": %lu, \"highpass\": %u}}",
      static_cast<unsigned>(h.model_dim()), static_cast<unsigned>(a.ffn_dim), blocks.c_str(),
      static_cast<unsigned>(a.conv_kernel), static_cast<unsigned>(a.conv_dilation),
      rvne::activation_name(a.conv_activation), rvne::activation_name(a.ffn_activation), float_text(a.norm_eps).c_str(),
      float_text(a.rope_base).c_str(), pool_name(a.pool), backend_name(at.backend),
      static_cast<unsigned long>(at.window), static_cast<unsigned long>(at.block_size), flag(at.causal != 0),
      globals_text(at).c_str(), gate.c_str(), rvne::feature_kind_name(f.kind), static_cast<unsigned>(f.version),
      flag((f.flags & rvne::kFeatureLog) != 0), flag((f.flags & rvne::kFeatureCentre) != 0),
      flag((f.flags & rvne::kFeatureConstant) != 0), flag((f.flags & rvne::kFeatureStandardised) != 0),
      static_cast<unsigned long>(f.subcarriers), static_cast<unsigned>(f.highpass));
  return buf;
}

/// The v2 descriptor as `info` text lines (same fields as descriptor_json).
void print_descriptor_text(const rvne::Header& h) {
  const rvne::Architecture& a = h.arch;
  const rvne::AttentionDesc& at = a.attention;
  const rvne::FeaturizerDesc& f = a.features;
  std::string blocks;
  for (const BlockName& b : kBlockNames) {
    blocks += std::string(blocks.empty() ? "" : ", ") + b.name + (a.has(b.bit) ? " on" : " off");
  }
  std::printf("d_model      %u (ffn_dim %u)\n", static_cast<unsigned>(h.model_dim()), static_cast<unsigned>(a.ffn_dim));
  std::printf("blocks       %s\n", blocks.c_str());
  std::printf("conv         kernel %u, dilation %u, activation %s\n", static_cast<unsigned>(a.conv_kernel),
              static_cast<unsigned>(a.conv_dilation), rvne::activation_name(a.conv_activation));
  std::printf("ffn          activation %s\n", rvne::activation_name(a.ffn_activation));
  std::printf("norm_eps     %s\n", float_text(a.norm_eps).c_str());
  std::printf("rope_base    %s\n", float_text(a.rope_base).c_str());
  std::printf("pool         %s\n", pool_name(a.pool));
  std::printf("attention    %s, window %lu, block_size %lu, %s, global_tokens %s, gate ", backend_name(at.backend),
              static_cast<unsigned long>(at.window), static_cast<unsigned long>(at.block_size),
              at.causal != 0 ? "causal" : "bidirectional", globals_text(at).c_str());
  if (at.gate == rvne::GateKind::none) {
    std::printf("none\n");
  } else {
    std::printf("%s (top_k %lu, hidden %u)\n", gate_name(at.gate), static_cast<unsigned long>(at.gate_top_k),
                static_cast<unsigned>(at.gate_hidden));
  }
  std::printf("featuriser   %s version %u, log %s, centre %s, constant %s, standardised %s, subcarriers %lu, "
              "highpass %u\n",
              rvne::feature_kind_name(f.kind), static_cast<unsigned>(f.version),
              (f.flags & rvne::kFeatureLog) != 0 ? "on" : "off", (f.flags & rvne::kFeatureCentre) != 0 ? "on" : "off",
              (f.flags & rvne::kFeatureConstant) != 0 ? "on" : "off",
              (f.flags & rvne::kFeatureStandardised) != 0 ? "on" : "off", static_cast<unsigned long>(f.subcarriers),
              static_cast<unsigned>(f.highpass));
}

/// Where a tensor lies, for the text tables: "layer N", or the part of the
/// model outside the layers ("classifier" for Wc and bc, as v1 prints).
std::string where_of(const rvne::MatrixShape& m) {
  if (m.layer >= 0) return "layer " + std::to_string(m.layer);
  const std::string n = m.name;
  if (n == "Wc" || n == "bc") return "classifier";
  if (n.compare(0, 9, "features.") == 0) return "featuriser";
  if (n == "W_in" || n == "b_in") return "input";
  return "final";
}

/// Widest tensor name of `h` (v1: 2, "Wq"), for aligned columns.
int name_width(const rvne::Header& h) {
  std::size_t w = 0;
  rvne::for_each_tensor(h, [&w](const rvne::MatrixShape& m) { w = std::max(w, std::strlen(m.name)); });
  return static_cast<int>(w);
}

std::string shape_of(const rvne::MatrixShape& m) {
  return "[" + std::to_string(m.rows) + "][" + std::to_string(m.cols) + "]";
}

std::uint32_t stored_crc(const rvne::Blob& b) {
  const std::vector<std::uint8_t> bytes = rvne::serialize(b);  // canonical: identical to the file
  const std::size_t at = bytes.size() - rvne::kCrcSize;
  return static_cast<std::uint32_t>(bytes[at]) | (static_cast<std::uint32_t>(bytes[at + 1]) << 8) |
         (static_cast<std::uint32_t>(bytes[at + 2]) << 16) | (static_cast<std::uint32_t>(bytes[at + 3]) << 24);
}

/// What the command line asked for (filled by CLI11 in main).
struct Args {
  std::string file, in, out, dtype;
  bool json = false, model = false, force = false;
};

int cmd_info(const Args& a) {
  const std::string& path = a.file;
  rvne::Blob b;
  if (a.json) {
    try {
      b = rvne::read_file(path);
    } catch (const aether::Error& e) {
      std::printf("{\"file\": %s, \"valid\": false, \"error\": %s, \"message\": %s}\n", json_string(path).c_str(),
                  json_string(aether::errc_name(e.code())).c_str(), json_string(e.what()).c_str());
      return aether_cli::exit_code_of(e);
    }
  } else if (const int rc = load(path, b); rc != kExitOk) {
    return rc;
  }

  const rvne::Header& h = b.header;
  const unsigned long long wlen = b.weights.size();
  const unsigned long long total = rvne::serialized_size(wlen, h.version);
  const bool v2 = h.version == rvne::kVersion2;
  const std::uint32_t crc = stored_crc(b);
  const bool matches = rvne::layout_matches(h, wlen);
  const unsigned long long need_elems = rvne::layout_elements(h);
  const unsigned long long need_bytes = rvne::layout_bytes(h);
  const unsigned flags = h.dtype == rvne::Dtype::f16 ? rvne::kFlagF16 : 0u;

  if (a.json) {
    std::printf("{\"file\": %s, \"valid\": true, \"size\": %llu, \"version\": %u, \"flags\": %u, \"dtype\": \"%s\",\n",
                json_string(path).c_str(), total, static_cast<unsigned>(h.version), flags,
                rvne::dtype_name(h.dtype));
    std::printf(" \"input_dim\": %u, \"q_heads\": %u, \"kv_heads\": %u, \"head_dim\": %u, \"layers\": %u, "
                "\"classes\": %u,\n",
                static_cast<unsigned>(h.input_dim), static_cast<unsigned>(h.q_heads),
                static_cast<unsigned>(h.kv_heads), static_cast<unsigned>(h.head_dim),
                static_cast<unsigned>(h.layers), static_cast<unsigned>(h.classes));
    std::printf(" \"weights_len\": %llu, \"elements\": %llu, \"crc32\": \"0x%08X\",\n", wlen,
                static_cast<unsigned long long>(b.element_count()), static_cast<unsigned>(crc));
    std::printf(" \"layout_matches\": %s, \"layout_elements\": %llu, \"layout_bytes\": %llu,\n",
                matches ? "true" : "false", need_elems, need_bytes);
    if (v2) std::printf(" \"descriptor\": %s,\n", descriptor_json(h).c_str());
    std::printf(" \"matrices\": [");
    bool first = true;
    rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
      std::printf("%s\n  {\"name\": \"%s\", \"layer\": %d, \"rows\": %llu, \"cols\": %llu, \"offset\": %llu}",
                  first ? "" : ",", m.name, m.layer, static_cast<unsigned long long>(m.rows),
                  static_cast<unsigned long long>(m.cols), static_cast<unsigned long long>(m.offset));
      first = false;
    });
    std::printf("]}\n");
    return kExitOk;
  }

  std::printf("file         %s\n", path.c_str());
  std::printf("size         %llu bytes (header %zu + weights %llu + crc %zu)\n", total,
              rvne::detail::header_size(h.version), wlen, rvne::kCrcSize);
  std::printf("version      %u\n", static_cast<unsigned>(h.version));
  std::printf("dtype        %s (flags 0x%02X)\n", rvne::dtype_name(h.dtype), flags);
  std::printf("shape        %s\n", shape_text(h).c_str());
  std::printf("weights      %llu bytes, %llu elements\n", wlen, static_cast<unsigned long long>(b.element_count()));
  std::printf("crc32        0x%08X\n", static_cast<unsigned>(crc));
  if (matches) {
    std::printf("layout       matches the model (%llu elements)\n", need_elems);
  } else {
    std::printf("layout       MISMATCH: the model needs %llu elements = %llu bytes, the blob has %llu bytes\n",
                need_elems, need_bytes, wlen);
  }
  if (v2) print_descriptor_text(h);
  std::printf("matrices     (row-major [in][out], offsets in elements%s)\n",
              v2 ? " from the tensor section, 16-byte aligned" : "");
  const int width = name_width(h);
  rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
    std::printf("  %-11s %-*s  %-13s offset %llu\n", where_of(m).c_str(), width, m.name, shape_of(m).c_str(),
                static_cast<unsigned long long>(m.offset));
  });
  return kExitOk;
}

int cmd_verify(const Args& a) {
  const std::string& path = a.file;
  rvne::Blob b;
  if (const int rc = load(path, b); rc != kExitOk) return rc;
  if (a.model) {
    try {
      rvne::check_layout(b.header, b.weights.size());
    } catch (const aether::Error& e) {
      std::fprintf(stderr, "rvne: %s: %s\n", path.c_str(), e.what());
      return kExitInvalid;
    }
  }
  std::printf("%s: ok (%s, %llu bytes, crc32 0x%08X%s)\n", path.c_str(), rvne::dtype_name(b.header.dtype),
              static_cast<unsigned long long>(rvne::serialized_size(b.weights.size(), b.header.version)),
              static_cast<unsigned>(stored_crc(b)), a.model ? ", model layout ok" : "");
  return kExitOk;
}

int cmd_convert(const Args& a) {
  const rvne::Dtype dtype = a.dtype == "f16" ? rvne::Dtype::f16 : rvne::Dtype::f32;  // CLI11 checked the name
  const std::string& in = a.in;
  const std::string& out = a.out;
  std::error_code ec;
  if (!a.force && std::filesystem::exists(out, ec)) {
    std::fprintf(stderr, "rvne: %s exists; refusing to overwrite it without --force\n", out.c_str());
    return kExitUsage;
  }
  rvne::Blob b;
  if (const int rc = load(in, b); rc != kExitOk) return rc;

  // v2: Blob::converted re-lays the tensors (a tensor's offset in elements
  // depends on the element size) with zero padding; the descriptor is kept.
  const rvne::Blob c = b.converted(dtype);
  std::size_t to_inf = 0, to_zero = 0;
  auto count = [&](std::size_t from, std::size_t to) {
    const float before = b.weight(from), after = c.weight(to);
    if (std::isfinite(before) && std::isinf(after)) ++to_inf;
    if (before != 0.0f && after == 0.0f) ++to_zero;
  };
  if (b.header.version == rvne::kVersion2) {
    std::vector<std::uint64_t> to;  // c's tensor offsets, in the same order
    rvne::for_each_tensor(c.header, [&to](const rvne::MatrixShape& m) { to.push_back(m.offset); });
    std::size_t t = 0;
    rvne::for_each_tensor(b.header, [&](const rvne::MatrixShape& m) {
      for (std::uint64_t e = 0; e < m.elements(); ++e) count(static_cast<std::size_t>(m.offset + e), static_cast<std::size_t>(to[t] + e));
      ++t;
    });
  } else {
    for (std::size_t i = 0; i < b.element_count(); ++i) count(i, i);
  }
  try {
    rvne::write_file(out, c);
  } catch (const aether::Error& e) {
    std::fprintf(stderr, "rvne: %s\n", e.what());
    return kExitUsage;
  }
  std::printf("%s (%s) -> %s (%s): %llu elements, %llu bytes", in.c_str(), rvne::dtype_name(b.header.dtype),
              out.c_str(), rvne::dtype_name(dtype), static_cast<unsigned long long>(c.element_count()),
              static_cast<unsigned long long>(rvne::serialized_size(c.weights.size(), c.header.version)));
  if (to_inf != 0 || to_zero != 0) {
    std::printf("; %zu finite values overflowed to Inf, %zu non-zero values underflowed to 0", to_inf, to_zero);
  }
  std::printf("\n");
  return kExitOk;
}

/// Running statistics of one weight range (finite values only in min..std).
struct Stats {
  std::uint64_t count = 0, finite = 0, nan = 0, inf = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double mean = 0.0, m2 = 0.0;  // Welford

  void add(float v) {
    ++count;
    if (std::isnan(v)) {
      ++nan;
      return;
    }
    if (std::isinf(v)) {
      ++inf;
      return;
    }
    const double x = v;
    ++finite;
    if (x < min) min = x;
    if (x > max) max = x;
    const double delta = x - mean;
    mean += delta / static_cast<double>(finite);
    m2 += delta * (x - mean);
  }
  double stddev() const { return finite > 0 ? std::sqrt(m2 / static_cast<double>(finite)) : 0.0; }
};

/// One row of the stats table; `width` is the name column's (at least 3).
void print_stats_row(const char* where, int width, const char* name, const std::string& shape, const Stats& s) {
  if (s.finite == 0) {
    std::printf("%-11s %-*s %-13s %12s %12s %12s %12s %6llu %6llu\n", where, width, name, shape.c_str(), "-", "-", "-",
                "-", static_cast<unsigned long long>(s.nan), static_cast<unsigned long long>(s.inf));
    return;
  }
  std::printf("%-11s %-*s %-13s %12.6g %12.6g %12.6g %12.6g %6llu %6llu\n", where, width, name, shape.c_str(), s.min,
              s.max, s.mean, s.stddev(), static_cast<unsigned long long>(s.nan), static_cast<unsigned long long>(s.inf));
}

int cmd_stats(const Args& a) {
  rvne::Blob b;
  if (const int rc = load(a.file, b); rc != kExitOk) return rc;
  const rvne::Header& h = b.header;

  std::printf("%s: %s, %s\n", a.file.c_str(), rvne::dtype_name(h.dtype), shape_text(h).c_str());
  const int width = std::max(3, name_width(h));
  std::printf("%-11s %-*s %-13s %12s %12s %12s %12s %6s %6s\n", "where", width, "mat", "shape", "min", "max", "mean",
              "std", "nan", "inf");
  Stats all;
  std::uint64_t tensor_elements = 0;  // v2: the elements of "all" (padding excluded)
  if (rvne::layout_matches(h, b.weights.size())) {
    rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
      Stats s;
      for (std::uint64_t e = 0; e < m.elements(); ++e) {
        const float v = b.weight(static_cast<std::size_t>(m.offset + e));
        s.add(v);
        all.add(v);
      }
      tensor_elements += m.elements();
      print_stats_row(where_of(m).c_str(), width, m.name, shape_of(m), s);
    });
  } else {
    std::printf("(weights_len does not match the model layout: one row for all weights)\n");
    for (std::size_t i = 0; i < b.element_count(); ++i) all.add(b.weight(i));
    tensor_elements = b.element_count();
  }
  // v1 has no padding: its "all" row counts every element, as before.
  print_stats_row("all", width, "-", "[" + std::to_string(tensor_elements) + "]", all);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return aether_cli::guarded("rvne", [&]() -> int {
    auto app = aether_cli::make_app("rvne", "Inspect, verify and convert .rvne weight blobs.");
    app->require_subcommand(0, 1);  // none: reported below; an unknown one: CLI11 names it
    app->footer(
        "Exit status: 0 success, 1 invalid blob, 2 usage or I/O error.\n"
        "'rvne <command> --help' describes one command.");
    Args a;
    auto blob_file = [&](CLI::App* cmd) { cmd->add_option("FILE", a.file, "the .rvne blob")->required(); };

    CLI::App* info = app->add_subcommand("info", "header, sizes, CRC, layout and matrix shapes");
    blob_file(info);
    info->add_flag("--json", a.json, "one JSON object on stdout (also for an invalid blob: \"valid\": false)");
    info->footer(
        "Validates FILE and prints its header (version, dtype, shape), sizes, stored\n"
        "CRC-32, whether weights_len matches the model layout of the header, and the\n"
        "name, shape and element offset of every tensor (v1: Wq, Wk, Wv, Wo per layer,\n"
        "then Wc). A version 2 blob also shows its descriptor: d_model, ffn_dim, the\n"
        "blocks, convolution, activations, norm_eps, rope_base, pool, attention (gate)\n"
        "and featuriser (JSON key \"descriptor\").\n"
        "Exit status: 0 valid, 1 invalid, 2 usage or I/O error.");

    CLI::App* verify = app->add_subcommand("verify", "validate a blob (exit 0 valid, 1 invalid)");
    blob_file(verify);
    verify->add_flag("--model", a.model, "also require weights_len to equal the model layout size");
    verify->footer(
        "Checks every container rule (size, magic, version, flags, length, CRC,\n"
        "header fields). Prints 'FILE: ok' and exits 0 for a valid blob; prints the\n"
        "reason on stderr and exits 1 for an invalid one.\n"
        "Exit status: 0 valid, 1 invalid, 2 usage or I/O error.");

    CLI::App* convert = app->add_subcommand("convert", "re-encode the weights");
    convert->add_option("IN", a.in, "the blob to read")->required();
    convert->add_option("OUT", a.out, "the blob to write (atomically: temporary + rename)")->required();
    convert->add_option("--dtype", a.dtype, "target element type")->required()->check(CLI::IsMember({"f16", "f32"}));
    convert->add_flag("--force", a.force, "replace OUT if it exists (refused otherwise)");
    convert->footer(
        "Reads the blob IN and writes OUT with every weight re-encoded as DTYPE\n"
        "(f32 -> f16 rounds to nearest even; f16 -> f32 is exact). A version 2 blob\n"
        "keeps its descriptor; its tensors are re-aligned to 16 bytes, zero padded.\n"
        "Exit status: 0 written, 1 IN is invalid, 2 usage or I/O error.");

    CLI::App* stats = app->add_subcommand("stats", "per-tensor min/max/mean/std and NaN/Inf counts");
    blob_file(stats);
    stats->footer(
        "Per-tensor statistics of the weights: min, max, mean and standard deviation\n"
        "of the finite values, and the number of NaN and infinite values (a version\n"
        "2 blob's padding between tensors is not counted). If weights_len does not\n"
        "match the model layout, one row covers all weights.\n"
        "Exit status: 0 valid, 1 invalid, 2 usage or I/O error.");

    if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
    if (app->get_subcommands().empty()) return aether_cli::usage_error(*app, "missing command (info, verify, convert or stats)");
    if (*info) return cmd_info(a);
    if (*verify) return cmd_verify(a);
    if (*convert) return cmd_convert(a);
    return cmd_stats(a);
  });
}
