#pragma once
/// \file sidecar.hpp
/// The sidecar of a `.rvne` blob (`/work/shared/spec/SIDECAR.md`): everything
/// a trained model needs beyond its weights, in `NAME.rvne.json`.
///
/// - `Sidecar`: a plain struct of the fixed keys (absent keys stay empty and
///   mean the AETHER default).
/// - `to_json` / `sidecar_from_json`: the JSON form; unknown keys are ignored,
///   a fixed key of the wrong type or value is `Errc::invalid_sidecar` naming
///   the key.
/// - `write_sidecar` / `read_sidecar`: files; the reader refuses a sidecar
///   whose `blob_sha256` is not the blob's (`Errc::blob_mismatch`).
///
/// Limits on hostile files (each refused with the key or file named):
/// sidecar text at most `kMaxSidecarBytes`, JSON nested at most
/// `kMaxJsonDepth` (json_input.hpp), `window` and `stride` at most
/// `kMaxWindow` frames, `gate` dimensions within
/// `FastGrnnGate::kMaxPackedSize` weights, `gate.weights` a relative path
/// without `..` (inside the sidecar's folder) whose size is checked before
/// it is read, a blob file at most `ModelLimits{}.max_blob_bytes()`.
/// - `save_model` / `load_model`: blob and sidecar together, checked against
///   each other (`check_sidecar_against_blob`): a version 2 blob carries its
///   attention options, pooling, featuriser and gate, so its sidecar keeps
///   only `classes`, `window`, `stride` and `training`.
///
/// Needs nlohmann-json (CMake target `aether::io`); the core headers do not.
/// Thread safety: free functions over values, no shared state.

#include <aether/error.hpp>
#include <aether/gate_file.hpp>
#include <aether/io/json_input.hpp>
#include <aether/io/sha256.hpp>
#include <aether/rvne.hpp>
#include <aether/temporal_head.hpp>
#include <aether/temporal_model.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace aether::io {

/// The value of the `format` key this library reads and writes.
inline constexpr const char* kSidecarFormat = "aether-sidecar/1";

/// Largest sidecar file read (16 MiB; the tools write a few KiB).
inline constexpr std::uint64_t kMaxSidecarBytes = std::uint64_t{1} << 24;

/// Most frames in a window, and the largest stride between windows, that a
/// sidecar, the dataset builder (io/dataset.hpp) and the tools accept:
/// 65,536 (11 minutes at 100 frames a second). Bounds the memory a window
/// or a stream of that capacity costs, and keeps `first + stride` far from
/// wrapping.
inline constexpr std::size_t kMaxWindow = std::size_t{1} << 16;

/// The featuriser that turned recordings into frames: enough to reproduce it
/// bit for bit (`constants` is the featuriser's own JSON object).
struct FeatureSpec {
  std::string name;
  std::uint32_t version = 1;
  nlohmann::json constants = nlohmann::json::object();
};

/// The salience gate in front of the model (GATE.md); `weights` names a file
/// beside the blob.
struct GateSpec {
  std::size_t input_dim = 0;
  std::size_t hidden_dim = 0;
  std::size_t top_k = 0;
  std::string mode = "prune";  ///< "prune" or "salient"
  std::string weights;         ///< e.g. "NAME.gate.f32"
};

/// The fixed keys of a sidecar. Every optional member left empty is written
/// as an absent key and read back empty; `classes` empty = classes numbered.
struct Sidecar {
  std::string blob_sha256;                   ///< hex; filled by write_sidecar / checked by read_sidecar
  std::optional<ModelAttention> attention;   ///< absent = MODEL.md's AETHER default
  std::optional<Pool> pool;                  ///< absent = mean
  std::optional<std::size_t> window;         ///< frames per classified window, as trained
  std::optional<std::size_t> stride;         ///< step between windows, as trained
  std::vector<std::string> classes;          ///< index order = logit order
  std::optional<FeatureSpec> features;
  std::optional<GateSpec> gate;
  nlohmann::json training;                   ///< free-form provenance; null = absent

  ModelAttention attention_or_default() const { return attention.value_or(ModelAttention{}); }
  Pool pool_or_default() const noexcept { return pool.value_or(Pool::mean); }
  /// Class `i`'s name: `classes[i]`, or its number when classes are absent.
  std::string class_name(std::size_t i) const {
    return i < classes.size() ? classes[i] : std::to_string(i);
  }
};

/// `NAME.rvne` -> `NAME.rvne.json`.
inline std::filesystem::path sidecar_path(const std::filesystem::path& blob_path) {
  std::filesystem::path p = blob_path;
  p += ".json";
  return p;
}

namespace detail {

using json = nlohmann::json;

[[noreturn]] inline void bad_key(const std::string& where, const std::string& key, const std::string& why) {
  aether::detail::fail(Errc::invalid_sidecar, where + "key '" + key + "': " + why);
}

inline std::size_t get_size(const json& v, const std::string& where, const std::string& key) {
  // Parsed non-negative integers are "unsigned"; ones built in C++ may be "integer".
  const bool non_negative = v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
  if (!non_negative || v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::size_t>::max())) {
    bad_key(where, key, "expected a non-negative integer, found " + shown(v));
  }
  return static_cast<std::size_t>(v.get<std::uint64_t>());
}

/// A window or stride key: 1 ... kMaxWindow.
inline std::size_t get_window(const json& v, const std::string& where, const std::string& key) {
  const std::size_t n = get_size(v, where, key);
  if (n == 0 || n > kMaxWindow) {
    bad_key(where, key, std::to_string(n) + " is outside 1 ... " + std::to_string(kMaxWindow) + " frames");
  }
  return n;
}

/// A number that is finite as a float (a JSON number beyond float's range
/// would become infinite).
inline float get_float(const json& v, const std::string& where, const std::string& key) {
  if (!v.is_number()) bad_key(where, key, "expected a number, found " + shown(v));
  const double d = v.get<double>();
  if (!finite_as_float(d)) {
    bad_key(where, key, shown(v) + " is not finite as a 32-bit float");
  }
  return static_cast<float>(d);
}

/// A finite number.
inline double get_double(const json& v, const std::string& where, const std::string& key) {
  if (!v.is_number() || !std::isfinite(v.get<double>())) {
    bad_key(where, key, "expected a finite number, found " + shown(v));
  }
  return v.get<double>();
}

inline std::string get_string(const json& v, const std::string& where, const std::string& key) {
  if (!v.is_string()) bad_key(where, key, "expected a string, found " + shown(v));
  return v.get<std::string>();
}

inline bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

inline std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

inline ModelAttention attention_from_json(const json& a, const std::string& where) {
  if (!a.is_object()) bad_key(where, "attention", "expected an object, found " + shown(a));
  ModelAttention m;
  if (a.contains("backend")) {
    const std::string b = get_string(a["backend"], where, "attention.backend");
    if (b == "sparse") {
      m.backend = Backend::SparseGqa;
    } else if (b == "dense") {
      m.backend = Backend::Dense;
    } else {
      bad_key(where, "attention.backend", "expected \"sparse\" or \"dense\", found " + shown(a["backend"]));
    }
  }
  if (a.contains("window")) m.window = get_size(a["window"], where, "attention.window");
  if (a.contains("block_size")) m.block_size = get_size(a["block_size"], where, "attention.block_size");
  if (a.contains("global_tokens")) {
    const json& g = a["global_tokens"];
    if (!g.is_array()) bad_key(where, "attention.global_tokens", "expected an array, found " + shown(g));
    m.global_tokens.clear();
    for (std::size_t i = 0; i < g.size(); ++i) {
      m.global_tokens.push_back(get_size(g[i], where, "attention.global_tokens[" + std::to_string(i) + "]"));
    }
  }
  if (a.contains("causal")) {
    if (!a["causal"].is_boolean()) bad_key(where, "attention.causal", "expected true or false, found " + shown(a["causal"]));
    m.causal = a["causal"].get<bool>();
  }
  return m;
}

}  // namespace detail

/// The JSON object of `s` (absent members are absent keys).
inline nlohmann::json to_json(const Sidecar& s) {
  nlohmann::json j = nlohmann::json::object();
  j["format"] = kSidecarFormat;
  j["blob_sha256"] = s.blob_sha256;
  if (s.attention) {
    const ModelAttention& a = *s.attention;
    j["attention"] = {{"backend", a.backend == Backend::Dense ? "dense" : "sparse"},
                      {"window", a.window},
                      {"block_size", a.block_size},
                      {"global_tokens", a.global_tokens},
                      {"causal", a.causal}};
  }
  if (s.pool) j["pool"] = *s.pool == Pool::last ? "last" : "mean";
  if (s.window) j["window"] = *s.window;
  if (s.stride) j["stride"] = *s.stride;
  if (!s.classes.empty()) j["classes"] = s.classes;
  if (s.features) {
    j["features"] = {{"name", s.features->name}, {"version", s.features->version}, {"constants", s.features->constants}};
  }
  if (s.gate) {
    j["gate"] = {{"input_dim", s.gate->input_dim},
                 {"hidden_dim", s.gate->hidden_dim},
                 {"top_k", s.gate->top_k},
                 {"mode", s.gate->mode},
                 {"weights", s.gate->weights}};
  }
  if (!s.training.is_null()) j["training"] = s.training;
  return j;
}

/// Validates and decodes a sidecar object. `where` prefixes messages (e.g.
/// the file name). Throws `Errc::invalid_sidecar` naming the first bad key.
inline Sidecar sidecar_from_json(const nlohmann::json& j, const std::string& where = "") {
  using detail::bad_key;
  using detail::get_size;
  using detail::get_string;
  if (!j.is_object()) aether::detail::fail(Errc::invalid_sidecar, where + "expected a JSON object, found " + shown(j));
  if (!j.contains("format")) bad_key(where, "format", "missing (required)");
  const std::string format = get_string(j["format"], where, "format");
  if (format != kSidecarFormat) {
    bad_key(where, "format", "expected \"" + std::string(kSidecarFormat) + "\", found " + shown(j["format"]));
  }
  if (!j.contains("blob_sha256")) bad_key(where, "blob_sha256", "missing (required)");
  Sidecar s;
  s.blob_sha256 = detail::lower(get_string(j["blob_sha256"], where, "blob_sha256"));
  if (!detail::is_hex64(s.blob_sha256)) bad_key(where, "blob_sha256", "expected 64 hex digits, found " + shown(j["blob_sha256"]));
  if (j.contains("attention")) s.attention = detail::attention_from_json(j["attention"], where);
  if (j.contains("pool")) {
    const std::string p = get_string(j["pool"], where, "pool");
    if (p == "mean") {
      s.pool = Pool::mean;
    } else if (p == "last") {
      s.pool = Pool::last;
    } else {
      bad_key(where, "pool", "expected \"mean\" or \"last\", found " + shown(j["pool"]));
    }
  }
  if (j.contains("window")) s.window = detail::get_window(j["window"], where, "window");
  if (j.contains("stride")) s.stride = detail::get_window(j["stride"], where, "stride");
  if (j.contains("classes")) {
    const auto& c = j["classes"];
    if (!c.is_array()) bad_key(where, "classes", "expected an array of names, found " + shown(c));
    std::set<std::string> seen;
    for (std::size_t i = 0; i < c.size(); ++i) {
      const std::string key = "classes[" + std::to_string(i) + "]";
      std::string name = get_string(c[i], where, key);
      if (name.empty()) bad_key(where, key, "empty class name");
      if (!seen.insert(name).second) bad_key(where, key, "duplicate class name \"" + name + "\"");
      s.classes.push_back(std::move(name));
    }
  }
  if (j.contains("features")) {
    const auto& f = j["features"];
    if (!f.is_object()) bad_key(where, "features", "expected an object, found " + shown(f));
    FeatureSpec fs;
    if (!f.contains("name")) bad_key(where, "features.name", "missing");
    fs.name = get_string(f["name"], where, "features.name");
    if (f.contains("version")) {
      const std::size_t v = get_size(f["version"], where, "features.version");
      if (v > std::numeric_limits<std::uint32_t>::max()) bad_key(where, "features.version", std::to_string(v) + " is too large");
      fs.version = static_cast<std::uint32_t>(v);
    }
    if (f.contains("constants")) {
      if (!f["constants"].is_object()) bad_key(where, "features.constants", "expected an object, found " + shown(f["constants"]));
      fs.constants = f["constants"];
    }
    s.features = std::move(fs);
  }
  if (j.contains("gate")) {
    const auto& g = j["gate"];
    if (!g.is_object()) bad_key(where, "gate", "expected an object, found " + shown(g));
    GateSpec gs;
    for (const char* k : {"input_dim", "hidden_dim", "top_k"}) {
      if (!g.contains(k)) bad_key(where, std::string("gate.") + k, "missing");
    }
    gs.input_dim = get_size(g["input_dim"], where, "gate.input_dim");
    gs.hidden_dim = get_size(g["hidden_dim"], where, "gate.hidden_dim");
    gs.top_k = get_size(g["top_k"], where, "gate.top_k");
    if (g.contains("mode")) {
      gs.mode = get_string(g["mode"], where, "gate.mode");
      if (gs.mode != "prune" && gs.mode != "salient") {
        bad_key(where, "gate.mode", "expected \"prune\" or \"salient\", found " + shown(g["mode"]));
      }
    }
    if (g.contains("weights")) gs.weights = get_string(g["weights"], where, "gate.weights");
    s.gate = std::move(gs);
  }
  if (j.contains("training")) s.training = j["training"];
  return s;
}

/// The keys of the free-form `training` value that the tools read back
/// (train_blob writes them): each empty when absent.
struct TrainingInfo {
  std::optional<double> test_fraction;        ///< `training.split.test_fraction`
  std::optional<double> validation_fraction;  ///< `training.split.validation_fraction`
  std::optional<std::uint64_t> seed;          ///< `training.seed`
  std::optional<double> motion_threshold;     ///< `training.motion_threshold`
};

/// Reads `TrainingInfo` from `s.training`. A present key of the wrong type
/// (or a fraction outside [0, 1)) is `Errc::invalid_sidecar` naming it,
/// with `where` (e.g. the sidecar's file name) in front.
inline TrainingInfo training_info(const Sidecar& s, const std::string& where = "") {
  using detail::bad_key;
  TrainingInfo t;
  const nlohmann::json& j = s.training;
  if (!j.is_object()) return t;
  if (j.contains("split")) {
    const nlohmann::json& split = j["split"];
    if (!split.is_object()) bad_key(where, "training.split", "expected an object, found " + shown(split));
    auto fraction = [&](const char* key, std::optional<double>& out) {
      if (!split.contains(key)) return;
      const std::string name = std::string("training.split.") + key;
      out = detail::get_double(split[key], where, name);
      if (!(*out >= 0 && *out < 1)) bad_key(where, name, shown(split[key]) + " is outside [0, 1)");
    };
    fraction("test_fraction", t.test_fraction);
    fraction("validation_fraction", t.validation_fraction);
  }
  if (j.contains("seed")) {
    if (!j["seed"].is_number_unsigned()) {
      bad_key(where, "training.seed", "expected a non-negative integer, found " + shown(j["seed"]));
    }
    t.seed = j["seed"].get<std::uint64_t>();
  }
  if (j.contains("motion_threshold") && !j["motion_threshold"].is_null()) {
    t.motion_threshold = detail::get_double(j["motion_threshold"], where, "training.motion_threshold");
  }
  return t;
}

/// Parses sidecar text (no blob check). Not JSON, or nested deeper than
/// kMaxJsonDepth -> `Errc::invalid_sidecar`.
inline Sidecar parse_sidecar(const std::string& text, const std::string& where = "") {
  return sidecar_from_json(parse_json_text(text, where, Errc::invalid_sidecar), where);
}

namespace detail {
/// Whole file as bytes, at most `max_bytes` (rvne::detail::read_bytes_capped:
/// io_error / limit_exceeded naming the path).
inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path, std::uint64_t max_bytes) {
  return rvne::detail::read_bytes_capped(path, max_bytes);
}

inline void check_blob_sha(const Sidecar& s, const std::string& blob_sha, const std::filesystem::path& blob_path) {
  if (s.blob_sha256 != blob_sha) {
    aether::detail::fail(Errc::blob_mismatch, sidecar_path(blob_path).string() + ": blob_sha256 " + s.blob_sha256 +
                                                  " does not match " + blob_path.string() + " (sha256 " + blob_sha +
                                                  ")");
  }
}
}  // namespace detail

/// Writes `s` as `sidecar_path(blob_path)`, atomically, with `blob_sha256`
/// set to the sha256 of the blob file as it is on disk now (the blob must be
/// written first). Returns the sidecar as written.
inline Sidecar write_sidecar(const std::filesystem::path& blob_path, Sidecar s) {
  s.blob_sha256 = sha256_file_hex(blob_path);
  const std::string text = to_json(s).dump(2) + "\n";
  rvne::detail::write_bytes_atomic(sidecar_path(blob_path), reinterpret_cast<const std::uint8_t*>(text.data()),
                                   text.size());
  return s;
}

/// Reads `sidecar_path(blob_path)` and checks it against the blob file.
/// Throws io_error (missing/unreadable), invalid_sidecar, blob_mismatch.
inline Sidecar read_sidecar(const std::filesystem::path& blob_path) {
  const std::filesystem::path sp = sidecar_path(blob_path);
  const std::vector<std::uint8_t> text = detail::read_bytes(sp, kMaxSidecarBytes);
  Sidecar s = parse_sidecar(std::string(text.begin(), text.end()), sp.string() + ": ");
  detail::check_blob_sha(s, sha256_file_hex(blob_path), blob_path);
  return s;
}

/// The sidecar keys a version 2 blob carries itself (SIDECAR.md): its
/// sidecar must omit them.
inline constexpr const char* kBlobCarriedKeys[] = {"attention", "pool", "features", "gate"};

/// Checks `s` against the blob it describes (`header`): `classes`, when
/// present, names exactly `header.classes` classes; for a version 2 blob
/// (which carries its attention options, pooling, featuriser and gate) none
/// of the keys `attention`, `pool`, `features`, `gate` is present. v1 blobs
/// take those keys from the sidecar, unchanged. Throws
/// `Errc::invalid_sidecar` naming the key, with `where` (e.g. the sidecar's
/// file name) in front. Pure; O(1).
inline void check_sidecar_against_blob(const Sidecar& s, const rvne::Header& header, const std::string& where = "") {
  if (header.version == rvne::kVersion2) {
    const bool present[] = {s.attention.has_value(), s.pool.has_value(), s.features.has_value(), s.gate.has_value()};
    for (std::size_t i = 0; i < std::size(present); ++i) {
      if (present[i]) {
        detail::bad_key(where, kBlobCarriedKeys[i],
                        "present for a version 2 blob, which carries its own (attention, pool, features and gate "
                        "are in the blob's descriptor: the sidecar must omit the key)");
      }
    }
  }
  if (!s.classes.empty() && s.classes.size() != header.classes) {
    detail::bad_key(where, "classes",
                    std::to_string(s.classes.size()) + " names for a blob of " + std::to_string(header.classes) +
                        " classes");
  }
}

/// A blob and what it was trained with.
struct Model {
  rvne::Blob blob;
  Sidecar sidecar;
  bool has_sidecar = false;  ///< false: no `.rvne.json` beside the blob (AETHER defaults)
};

/// Reads a blob (validated as `rvne::parse` does) and its sidecar when one
/// exists, checking the sidecar against the very bytes parsed and against
/// the blob's header (`check_sidecar_against_blob`: a class count other than
/// the blob's, or for a version 2 blob any of `attention`, `pool`,
/// `features`, `gate`, is invalid_sidecar naming the key).
/// A blob file larger than `ModelLimits{}.max_blob_bytes()` (or an endless
/// one, /dev/zero) is limit_exceeded, found before it is read whole.
inline Model load_model(const std::filesystem::path& blob_path) {
  const std::vector<std::uint8_t> bytes = detail::read_bytes(blob_path, ModelLimits{}.max_blob_bytes());
  Model m;
  const rvne::ParseResult parsed = rvne::try_parse(bytes.data(), bytes.size());
  if (!parsed) aether::detail::fail(parsed.code, blob_path.string() + ": " + parsed.message);
  m.blob = parsed.view.to_blob();
  const std::filesystem::path sp = sidecar_path(blob_path);
  std::error_code ec;
  if (!std::filesystem::exists(sp, ec)) return m;
  const std::vector<std::uint8_t> text = detail::read_bytes(sp, kMaxSidecarBytes);
  m.sidecar = parse_sidecar(std::string(text.begin(), text.end()), sp.string() + ": ");
  detail::check_blob_sha(m.sidecar, sha256_hex(bytes.data(), bytes.size()), blob_path);
  check_sidecar_against_blob(m.sidecar, m.blob.header, sp.string() + ": ");
  m.has_sidecar = true;
  return m;
}

/// The per-layer gates the sidecar's `gate` key describes for a blob of
/// `header` at `blob_path`, or none without the key. `gate.weights` names a
/// file beside the blob (`gate_layers_from_bytes`: one record per layer or
/// one for all); no `weights` = the reference's initial weights. Throws
/// `Errc::invalid_sidecar` (naming the key and values) for `gate.input_dim`
/// != the blob's head_dim, a `gate.hidden_dim` of 0 or one whose gate would
/// exceed `FastGrnnGate::kMaxPackedSize` weights, a `gate.weights` that is
/// absolute or has a `..` part (it must stay in the sidecar's folder; the
/// check is on the name: a symbolic link placed there is followed), a
/// file of the wrong size (checked before reading; a file with no size is
/// read only up to the largest right size) or with non-finite weights;
/// `Errc::io_error` for an unreadable file.
inline std::optional<ModelGate> load_gate(const Sidecar& s, const std::filesystem::path& blob_path,
                                          const rvne::Header& header) {
  if (!s.gate) return std::nullopt;
  const GateSpec& g = *s.gate;
  const std::string where = sidecar_path(blob_path).string() + ": ";
  if (g.input_dim != header.head_dim) {
    detail::bad_key(where, "gate.input_dim",
                    std::to_string(g.input_dim) + " against the blob's head_dim " + std::to_string(header.head_dim));
  }
  if (g.hidden_dim == 0) detail::bad_key(where, "gate.hidden_dim", "must be at least 1");
  const std::size_t floats = FastGrnnGate<float>::packed_size(g.input_dim, g.hidden_dim);
  if (floats > FastGrnnGate<float>::kMaxPackedSize) {
    detail::bad_key(where, "gate.hidden_dim",
                    std::to_string(g.hidden_dim) + " with input_dim " + std::to_string(g.input_dim) +
                        " makes a gate of more than " + std::to_string(FastGrnnGate<float>::kMaxPackedSize) +
                        " weights");
  }
  ModelGate m;
  m.options = GateOptions{g.top_k, g.mode == "salient" ? GateMode::salient : GateMode::prune};
  m.input_dim = g.input_dim;
  m.hidden_dim = g.hidden_dim;
  if (!g.weights.empty()) {
    const std::filesystem::path rel(g.weights);
    bool outside = rel.has_root_name() || rel.has_root_directory();
    for (const std::filesystem::path& part : rel) outside = outside || part == "..";
    if (outside) {
      detail::bad_key(where, "gate.weights",
                      shown(nlohmann::json(g.weights)) +
                          " leaves the sidecar's folder (absolute, or with a '..' part)");
    }
    const std::filesystem::path file = blob_path.parent_path() / rel;
    const std::uint64_t record = 4 * std::uint64_t{floats}, all = record * header.layers;
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::is_regular_file(file, ec) ? std::filesystem::file_size(file, ec) : 0;
    if (!ec && size != 0 && size != record && size != all) {
      detail::bad_key(where, "gate.weights",
                      file.string() + ": " + std::to_string(size) + " bytes, expected " + std::to_string(record) +
                          " (one gate for every layer) or " + std::to_string(all) + " (one per layer)");
    }
    const std::vector<std::uint8_t> bytes = detail::read_bytes(file, std::max(record, all));
    try {
      m.layers = gate_layers_from_bytes(g.input_dim, g.hidden_dim, header.layers, bytes.data(), bytes.size());
    } catch (const Error& e) {
      detail::bad_key(where, "gate.weights", file.string() + ": " + e.what());
    }
  }
  return m;
}

/// The attention options of a loaded model: v1, the sidecar's `attention`
/// (or the default) with its gates (`load_gate`); v2, `ModelAttention{}`
/// (the blob carries its attention options and gate: `TemporalModel` reads
/// them from the descriptor).
inline ModelAttention model_attention(const Model& m, const std::filesystem::path& blob_path) {
  if (m.blob.header.version == rvne::kVersion2) return ModelAttention{};
  ModelAttention a = m.sidecar.attention_or_default();
  if (m.has_sidecar) a.gate = load_gate(m.sidecar, blob_path, m.blob.header);
  return a;
}

/// The pooling of a loaded model: v1, the sidecar's `pool` (or mean); v2,
/// the blob's (`TemporalModel::pool()`).
inline Pool model_pool(const Model& m) noexcept {
  if (m.blob.header.version == rvne::kVersion2) {
    return m.blob.header.arch.pool == rvne::PoolKind::last ? Pool::last : Pool::mean;
  }
  return m.sidecar.pool_or_default();
}

/// Writes the blob (atomically) and then its sidecar. Returns the sidecar as
/// written (with blob_sha256). For a version 2 blob, a sidecar that
/// contradicts it (`check_sidecar_against_blob`) is invalid_sidecar, refused
/// before anything is written; a v1 sidecar is written as given (`load_model`
/// checks its classes).
inline Sidecar save_model(const std::filesystem::path& blob_path, const rvne::Blob& blob, const Sidecar& s) {
  if (blob.header.version == rvne::kVersion2) {
    check_sidecar_against_blob(s, blob.header, sidecar_path(blob_path).string() + ": ");
  }
  rvne::write_file(blob_path, blob);
  return write_sidecar(blob_path, s);
}

}  // namespace aether::io
