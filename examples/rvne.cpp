/// rvne: inspect, verify and convert `.rvne` weight blobs.
///
///   rvne info FILE [--json]      header, sizes, CRC, layout check, matrix shapes
///   rvne verify FILE [--model]   exit 0 if valid, 1 (reason on stderr) if not
///   rvne convert IN OUT --dtype f16|f32 [--force]
///   rvne stats FILE              per-matrix min/max/mean/std, NaN/Inf counts
///
/// Exit status everywhere: 0 success / valid blob, 1 invalid blob (or a
/// failed check), 2 usage error or I/O error.

#include <aether/rvne.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace {

namespace rvne = aether::rvne;

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;

constexpr const char* kTopUsage =
    "usage: rvne <command> [args] [--help]\n"
    "\n"
    "Commands:\n"
    "  info FILE [--json]                       header, sizes, CRC, layout and matrix shapes\n"
    "  verify FILE [--model]                    validate a blob (exit 0 valid, 1 invalid)\n"
    "  convert IN OUT --dtype f16|f32 [--force] re-encode the weights\n"
    "  stats FILE                               per-matrix min/max/mean/std and NaN/Inf counts\n"
    "\n"
    "Exit status: 0 success, 1 invalid blob, 2 usage or I/O error.\n"
    "'rvne <command> --help' describes one command.\n";

constexpr const char* kInfoUsage =
    "usage: rvne info FILE [--json]\n"
    "\n"
    "Validates FILE and prints its header (dtype, shape), sizes, stored CRC-32,\n"
    "whether weights_len matches the model layout of the header, and the shape\n"
    "and element offset of every matrix (Wq, Wk, Wv, Wo per layer, then Wc).\n"
    "  --json   one JSON object on stdout (also for an invalid blob: \"valid\": false)\n"
    "Exit status: 0 valid, 1 invalid, 2 usage or I/O error.\n";

constexpr const char* kVerifyUsage =
    "usage: rvne verify FILE [--model]\n"
    "\n"
    "Checks every container rule (size, magic, version, flags, length, CRC,\n"
    "header fields). Prints 'FILE: ok' and exits 0 for a valid blob; prints the\n"
    "reason on stderr and exits 1 for an invalid one.\n"
    "  --model  also require weights_len to equal the model layout size\n"
    "Exit status: 0 valid, 1 invalid, 2 usage or I/O error.\n";

constexpr const char* kConvertUsage =
    "usage: rvne convert IN OUT --dtype f16|f32 [--force]\n"
    "\n"
    "Reads the blob IN and writes OUT with every weight re-encoded as DTYPE\n"
    "(f32 -> f16 rounds to nearest even; f16 -> f32 is exact). OUT is written\n"
    "atomically (temporary + rename).\n"
    "  --dtype  target element type, required\n"
    "  --force  replace OUT if it exists (refused otherwise)\n"
    "Exit status: 0 written, 1 IN is invalid, 2 usage or I/O error.\n";

constexpr const char* kStatsUsage =
    "usage: rvne stats FILE\n"
    "\n"
    "Per-matrix statistics of the weights: min, max, mean and standard deviation\n"
    "of the finite values, and the number of NaN and infinite values. If\n"
    "weights_len does not match the model layout, one row covers all weights.\n"
    "Exit status: 0 valid, 1 invalid, 2 usage or I/O error.\n";

int usage_error(const char* usage, const std::string& why) {
  std::fprintf(stderr, "rvne: %s\n\n%s", why.c_str(), usage);
  return kExitUsage;
}

/// Positional arguments and flags of one command.
struct Args {
  std::vector<std::string> positional;
  bool help = false;
  bool json = false;
  bool model = false;
  bool force = false;
  std::string dtype;
  std::string error;  // non-empty: usage error
};

Args parse_args(int argc, char** argv, int first, bool allow_json, bool allow_model, bool allow_convert) {
  Args a;
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      a.help = true;
    } else if (allow_json && arg == "--json") {
      a.json = true;
    } else if (allow_model && arg == "--model") {
      a.model = true;
    } else if (allow_convert && arg == "--force") {
      a.force = true;
    } else if (allow_convert && arg == "--dtype") {
      if (i + 1 >= argc) {
        a.error = "--dtype needs a value (f16 or f32)";
        return a;
      }
      a.dtype = argv[++i];
    } else if (arg.size() > 1 && arg[0] == '-') {
      a.error = "unknown option '" + arg + "'";
      return a;
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

/// Loads `path`; on failure prints the reason and returns the exit status.
int load(const std::string& path, rvne::Blob& out) {
  try {
    out = rvne::read_file(path);
    return kExitOk;
  } catch (const aether::Error& e) {
    std::fprintf(stderr, "rvne: %s\n", e.what());
    return e.code() == aether::Errc::io_error ? kExitUsage : kExitInvalid;
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

std::uint32_t stored_crc(const rvne::Blob& b) {
  const std::vector<std::uint8_t> bytes = rvne::serialize(b);  // canonical: identical to the file
  const std::size_t at = bytes.size() - rvne::kCrcSize;
  return static_cast<std::uint32_t>(bytes[at]) | (static_cast<std::uint32_t>(bytes[at + 1]) << 8) |
         (static_cast<std::uint32_t>(bytes[at + 2]) << 16) | (static_cast<std::uint32_t>(bytes[at + 3]) << 24);
}

int cmd_info(int argc, char** argv) {
  const Args a = parse_args(argc, argv, 2, /*allow_json=*/true, /*allow_model=*/false, /*allow_convert=*/false);
  if (a.help) {
    std::fputs(kInfoUsage, stdout);
    return kExitOk;
  }
  if (!a.error.empty()) return usage_error(kInfoUsage, a.error);
  if (a.positional.size() != 1) return usage_error(kInfoUsage, "info takes exactly one FILE");
  const std::string& path = a.positional[0];

  rvne::Blob b;
  if (a.json) {
    try {
      b = rvne::read_file(path);
    } catch (const aether::Error& e) {
      std::printf("{\"file\": %s, \"valid\": false, \"error\": %s, \"message\": %s}\n", json_string(path).c_str(),
                  json_string(aether::errc_name(e.code())).c_str(), json_string(e.what()).c_str());
      return e.code() == aether::Errc::io_error ? kExitUsage : kExitInvalid;
    }
  } else if (const int rc = load(path, b); rc != kExitOk) {
    return rc;
  }

  const rvne::Header& h = b.header;
  const unsigned long long wlen = b.weights.size();
  const unsigned long long total = rvne::serialized_size(wlen);
  const std::uint32_t crc = stored_crc(b);
  const bool matches = rvne::layout_matches(h, wlen);
  const unsigned long long need_elems = rvne::layout_elements(h);
  const unsigned long long need_bytes = rvne::layout_bytes(h);
  const unsigned flags = h.dtype == rvne::Dtype::f16 ? rvne::kFlagF16 : 0u;

  if (a.json) {
    std::printf("{\"file\": %s, \"valid\": true, \"size\": %llu, \"version\": %u, \"flags\": %u, \"dtype\": \"%s\",\n",
                json_string(path).c_str(), total, static_cast<unsigned>(rvne::kVersion), flags,
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
    std::printf(" \"matrices\": [");
    for (std::uint64_t i = 0; i < rvne::matrix_count(h); ++i) {
      const rvne::MatrixShape m = rvne::matrix_shape(h, i);
      std::printf("%s\n  {\"name\": \"%s\", \"layer\": %d, \"rows\": %llu, \"cols\": %llu, \"offset\": %llu}",
                  i == 0 ? "" : ",", m.name, m.layer, static_cast<unsigned long long>(m.rows),
                  static_cast<unsigned long long>(m.cols), static_cast<unsigned long long>(m.offset));
    }
    std::printf("]}\n");
    return kExitOk;
  }

  std::printf("file         %s\n", path.c_str());
  std::printf("size         %llu bytes (header %zu + weights %llu + crc %zu)\n", total, rvne::kHeaderSize, wlen,
              rvne::kCrcSize);
  std::printf("version      %u\n", static_cast<unsigned>(rvne::kVersion));
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
  std::printf("matrices     (row-major [in][out], offsets in elements)\n");
  for (std::uint64_t i = 0; i < rvne::matrix_count(h); ++i) {
    const rvne::MatrixShape m = rvne::matrix_shape(h, i);
    char where[32];
    if (m.layer >= 0) {
      std::snprintf(where, sizeof where, "layer %d", m.layer);
    } else {
      std::snprintf(where, sizeof where, "classifier");
    }
    const std::string shape = "[" + std::to_string(m.rows) + "][" + std::to_string(m.cols) + "]";
    std::printf("  %-11s %s  %-13s offset %llu\n", where, m.name, shape.c_str(),
                static_cast<unsigned long long>(m.offset));
  }
  return kExitOk;
}

int cmd_verify(int argc, char** argv) {
  const Args a = parse_args(argc, argv, 2, /*allow_json=*/false, /*allow_model=*/true, /*allow_convert=*/false);
  if (a.help) {
    std::fputs(kVerifyUsage, stdout);
    return kExitOk;
  }
  if (!a.error.empty()) return usage_error(kVerifyUsage, a.error);
  if (a.positional.size() != 1) return usage_error(kVerifyUsage, "verify takes exactly one FILE");
  const std::string& path = a.positional[0];
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
              static_cast<unsigned long long>(rvne::serialized_size(b.weights.size())),
              static_cast<unsigned>(stored_crc(b)), a.model ? ", model layout ok" : "");
  return kExitOk;
}

int cmd_convert(int argc, char** argv) {
  const Args a = parse_args(argc, argv, 2, /*allow_json=*/false, /*allow_model=*/false, /*allow_convert=*/true);
  if (a.help) {
    std::fputs(kConvertUsage, stdout);
    return kExitOk;
  }
  if (!a.error.empty()) return usage_error(kConvertUsage, a.error);
  if (a.positional.size() != 2) return usage_error(kConvertUsage, "convert takes IN and OUT");
  rvne::Dtype dtype;
  if (a.dtype == "f16") {
    dtype = rvne::Dtype::f16;
  } else if (a.dtype == "f32") {
    dtype = rvne::Dtype::f32;
  } else if (a.dtype.empty()) {
    return usage_error(kConvertUsage, "--dtype f16|f32 is required");
  } else {
    return usage_error(kConvertUsage, "--dtype '" + a.dtype + "' (expected f16 or f32)");
  }
  const std::string& in = a.positional[0];
  const std::string& out = a.positional[1];
  std::error_code ec;
  if (!a.force && std::filesystem::exists(out, ec)) {
    std::fprintf(stderr, "rvne: %s exists; refusing to overwrite it without --force\n", out.c_str());
    return kExitUsage;
  }
  rvne::Blob b;
  if (const int rc = load(in, b); rc != kExitOk) return rc;

  const rvne::Blob c = b.converted(dtype);
  std::size_t to_inf = 0, to_zero = 0;
  for (std::size_t i = 0; i < b.element_count(); ++i) {
    const float before = b.weight(i), after = c.weight(i);
    if (std::isfinite(before) && std::isinf(after)) ++to_inf;
    if (before != 0.0f && after == 0.0f) ++to_zero;
  }
  try {
    rvne::write_file(out, c);
  } catch (const aether::Error& e) {
    std::fprintf(stderr, "rvne: %s\n", e.what());
    return kExitUsage;
  }
  std::printf("%s (%s) -> %s (%s): %llu elements, %llu bytes", in.c_str(), rvne::dtype_name(b.header.dtype),
              out.c_str(), rvne::dtype_name(dtype), static_cast<unsigned long long>(c.element_count()),
              static_cast<unsigned long long>(rvne::serialized_size(c.weights.size())));
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

void print_stats_row(const char* where, const char* name, const std::string& shape, const Stats& s) {
  if (s.finite == 0) {
    std::printf("%-11s %-3s %-13s %12s %12s %12s %12s %6llu %6llu\n", where, name, shape.c_str(), "-", "-", "-", "-",
                static_cast<unsigned long long>(s.nan), static_cast<unsigned long long>(s.inf));
    return;
  }
  std::printf("%-11s %-3s %-13s %12.6g %12.6g %12.6g %12.6g %6llu %6llu\n", where, name, shape.c_str(), s.min, s.max,
              s.mean, s.stddev(), static_cast<unsigned long long>(s.nan), static_cast<unsigned long long>(s.inf));
}

int cmd_stats(int argc, char** argv) {
  const Args a = parse_args(argc, argv, 2, /*allow_json=*/false, /*allow_model=*/false, /*allow_convert=*/false);
  if (a.help) {
    std::fputs(kStatsUsage, stdout);
    return kExitOk;
  }
  if (!a.error.empty()) return usage_error(kStatsUsage, a.error);
  if (a.positional.size() != 1) return usage_error(kStatsUsage, "stats takes exactly one FILE");
  rvne::Blob b;
  if (const int rc = load(a.positional[0], b); rc != kExitOk) return rc;
  const rvne::Header& h = b.header;

  std::printf("%s: %s, %s\n", a.positional[0].c_str(), rvne::dtype_name(h.dtype), shape_text(h).c_str());
  std::printf("%-11s %-3s %-13s %12s %12s %12s %12s %6s %6s\n", "where", "mat", "shape", "min", "max", "mean", "std",
              "nan", "inf");
  Stats all;
  if (rvne::layout_matches(h, b.weights.size())) {
    for (std::uint64_t i = 0; i < rvne::matrix_count(h); ++i) {
      const rvne::MatrixShape m = rvne::matrix_shape(h, i);
      Stats s;
      for (std::uint64_t e = 0; e < m.elements(); ++e) {
        const float v = b.weight(static_cast<std::size_t>(m.offset + e));
        s.add(v);
        all.add(v);
      }
      char where[32];
      if (m.layer >= 0) {
        std::snprintf(where, sizeof where, "layer %d", m.layer);
      } else {
        std::snprintf(where, sizeof where, "classifier");
      }
      print_stats_row(where, m.name, "[" + std::to_string(m.rows) + "][" + std::to_string(m.cols) + "]", s);
    }
  } else {
    std::printf("(weights_len does not match the model layout: one row for all weights)\n");
    for (std::size_t i = 0; i < b.element_count(); ++i) all.add(b.weight(i));
  }
  print_stats_row("all", "-", "[" + std::to_string(b.element_count()) + "]", all);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage_error(kTopUsage, "missing command");
  const std::string cmd = argv[1];
  try {
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      std::fputs(kTopUsage, stdout);
      return kExitOk;
    }
    if (cmd == "info") return cmd_info(argc, argv);
    if (cmd == "verify") return cmd_verify(argc, argv);
    if (cmd == "convert") return cmd_convert(argc, argv);
    if (cmd == "stats") return cmd_stats(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rvne: %s\n", e.what());
    return kExitUsage;
  }
  return usage_error(kTopUsage, "unknown command '" + cmd + "'");
}
