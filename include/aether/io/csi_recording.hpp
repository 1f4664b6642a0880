#pragma once
/// \file csi_recording.hpp
/// Reader for the sensing server's recordings: `NAME.csi.jsonl` (one JSON
/// object a line) with `NAME.csi.meta.json` beside it.
///
/// Record types (`/work/shared/csi/README.md`):
/// - `raw_csi`: `node_id`, `timestamp`, `subcarriers` (count), `iq_hex`
///   (two bytes per subcarrier, signed 8-bit, interleaved as sent);
/// - the older amplitude form (no `type`, `subcarriers` an array of
///   amplitudes; no `node_id`: node 0);
/// - `vitals` (~1 Hz: `motion_energy`, `presence_score`, `n_persons`,
///   `breathing_bpm`, `heartrate_bpm`);
/// - `feature` (~1 Hz: `features`, 8 floats).
///
/// Nothing in a recording is fatal: every line lands in exactly one count of
/// `RecordingCounts` (kept by type, or rejected with one reason: malformed,
/// untyped, unknown type, odd hex length, bad hex digit, empty iq_hex,
/// subcarrier count that does not match the hex, a number out of range,
/// timestamp earlier than the node's previous record of that kind).
/// Rejected lines are not used; their count is reported. Streams are per
/// node and never mixed.
///
/// Limits on hostile input: a line nested deeper than `kMaxJsonDepth`
/// (json_input.hpp) or longer than `kMaxLineBytes` is malformed;
/// `out_of_range` counts a record with an amplitude or feature value that
/// is not finite as a 32-bit float (e.g. 1e39), an `rssi` outside -128 ...
/// 127 (the node sends an i8 dBm) or a `node_id` beyond 2^63 - 1 (the whole
/// record is dropped; values that are not numbers at all stay malformed). The meta file is at most
/// `kMaxMetaBytes` and nested at most kMaxJsonDepth (invalid_data beyond).
///
/// Needs nlohmann-json (target `aether::io`). Thread safety: free functions
/// over values.

#include <aether/error.hpp>
#include <aether/io/json_input.hpp>
#include <aether/rvne/file.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <istream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace aether::io {

/// One CSI frame of one node.
struct CsiFrame {
  double timestamp = 0;          ///< Unix seconds
  std::size_t line = 0;          ///< 1-based line in the file (ties in replay order)
  std::uint16_t subcarriers = 0; ///< count
  std::vector<std::int8_t> iq;   ///< raw_csi: 2 * subcarriers values, as sent; empty for the amplitude form
  std::vector<float> amplitude;  ///< amplitude form: `subcarriers` values; empty for raw_csi
  int rssi = 0;
};

/// The node's own ~1 Hz estimates.
struct VitalsRecord {
  double timestamp = 0;
  std::size_t line = 0;
  double motion_energy = 0, presence_score = 0, n_persons = 0, breathing_bpm = 0, heartrate_bpm = 0;
};

/// The node's ~1 Hz feature vector.
struct FeatureRecord {
  double timestamp = 0;
  std::size_t line = 0;
  std::vector<float> features;
};

/// Everything one node recorded, each list in file (= time) order.
struct NodeRecords {
  std::int64_t node_id = 0;
  std::vector<CsiFrame> frames;
  std::vector<VitalsRecord> vitals;
  std::vector<FeatureRecord> features;
};

/// Where every line went. `lines == kept() + rejected()` always.
struct RecordingCounts {
  std::size_t lines = 0;            ///< lines in the file (blank ones included)
  // kept
  std::size_t raw_csi = 0, amplitude_form = 0, vitals = 0, feature = 0;
  // rejected, one reason each
  std::size_t blank = 0;            ///< empty or whitespace-only lines
  std::size_t malformed = 0;        ///< not JSON, not an object, or a field missing / of the wrong type
  std::size_t untyped = 0;          ///< no `type` and not the amplitude form
  std::size_t unknown_type = 0;     ///< a `type` this reader does not know (names in `unknown_types`)
  std::size_t odd_hex = 0;          ///< iq_hex of odd length
  std::size_t bad_hex = 0;          ///< iq_hex with a character that is not a hex digit
  std::size_t empty_iq = 0;         ///< empty iq_hex
  std::size_t bad_subcarriers = 0;  ///< subcarrier count 0, > 65535, or not matching the iq_hex length
  std::size_t out_of_range = 0;     ///< a value not finite as float, an rssi outside -128...127, a node_id > 2^63-1
  std::size_t non_monotonic = 0;    ///< earlier than the same node's previous record of that kind
  std::map<std::string, std::size_t> unknown_types;   ///< type name -> lines
  std::map<std::uint32_t, std::size_t> raw_by_subcarriers;  ///< kept raw_csi frames by subcarrier count

  std::size_t kept() const noexcept { return raw_csi + amplitude_form + vitals + feature; }
  std::size_t rejected() const noexcept {
    return blank + malformed + untyped + unknown_type + odd_hex + bad_hex + empty_iq + bad_subcarriers + out_of_range +
           non_monotonic;
  }
};

/// The `.csi.meta.json` fields the tools use (all optional).
struct RecordingMeta {
  bool present = false;   ///< a meta file was found and read
  std::string id, label;
  nlohmann::json raw;     ///< the whole object
};

/// A read recording.
struct Recording {
  std::filesystem::path path;
  RecordingMeta meta;
  RecordingCounts counts;
  std::vector<NodeRecords> nodes;  ///< ascending node_id

  const NodeRecords* node(std::int64_t id) const {
    for (const NodeRecords& n : nodes) {
      if (n.node_id == id) return &n;
    }
    return nullptr;
  }
};

/// Longest recording line kept (1 MiB; a raw_csi line of 192 subcarriers is
/// about 1 KiB). A longer line is counted malformed; its bytes past the
/// limit are skipped, never stored.
inline constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;

/// Largest `.csi.meta.json` read (1 MiB; the server writes a few hundred bytes).
inline constexpr std::uint64_t kMaxMetaBytes = std::uint64_t{1} << 20;

/// `X.csi.jsonl` -> `X.csi.meta.json` (any other name: NAME + ".meta.json").
inline std::filesystem::path meta_path(const std::filesystem::path& jsonl) {
  const std::string s = jsonl.string();
  const std::string suffix = ".csi.jsonl";
  if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return s.substr(0, s.size() - suffix.size()) + ".csi.meta.json";
  }
  return s + ".meta.json";
}

namespace detail {

/// The next line of `in` (without its '\n') into `line`, at most `max`
/// bytes of it: `too_long` is set when more were skipped. False at the end
/// of the input with nothing read. Memory: at most `max` bytes.
inline bool next_line(std::istream& in, std::string& line, std::size_t max, bool& too_long) {
  line.clear();
  too_long = false;
  std::streambuf* buf = in.rdbuf();
  bool any = false;
  for (;;) {
    const int c = buf->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      in.setstate(std::ios::eofbit);
      return any;
    }
    any = true;
    if (c == '\n') return true;
    if (line.size() < max) {
      line.push_back(static_cast<char>(c));
    } else {
      too_long = true;
    }
  }
}

inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Outcome of one line.
enum class LineKind { raw_csi, amplitude_form, vitals, feature, rejected };

/// A finite number at `j[key]`, or nullopt.
inline std::optional<double> number_at(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

inline NodeRecords& node_of(std::map<std::int64_t, NodeRecords>& nodes, std::int64_t id) {
  NodeRecords& n = nodes[id];
  n.node_id = id;
  return n;
}

/// What a record field holds: usable, absent/not the right type
/// (malformed), or a number out of range (counted `out_of_range`).
enum class Field : unsigned char { ok, malformed, out_of_range };

/// Node id of a record into `id`: `node_id` if an integer up to 2^63 - 1, 0
/// when absent (the older form has none).
inline Field node_id_of(const nlohmann::json& j, std::int64_t& id) {
  const auto it = j.find("node_id");
  id = 0;
  if (it == j.end()) return Field::ok;
  if (!it->is_number_integer()) return Field::malformed;
  constexpr auto kTop = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > kTop) return Field::out_of_range;
  id = it->get<std::int64_t>();
  return Field::ok;
}

/// `rssi` into `rssi` (0 when absent or not a finite number, as before):
/// out of range outside -128 ... 127.
inline Field rssi_of(const nlohmann::json& j, int& rssi) {
  rssi = 0;
  const std::optional<double> r = number_at(j, "rssi");
  if (!r) return Field::ok;
  if (!(*r >= -128.0 && *r <= 127.0)) return Field::out_of_range;
  rssi = static_cast<int>(*r);
  return Field::ok;
}

/// The numbers of the array `a` as floats into `out`.
inline Field floats_of(const nlohmann::json& a, std::vector<float>& out) {
  out.reserve(a.size());
  for (const auto& v : a) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) return Field::malformed;
    if (!finite_as_float(v.get<double>())) return Field::out_of_range;
    out.push_back(v.get<float>());
  }
  return Field::ok;
}

/// Counts a field that is not ok; true when it was ok.
inline bool field_ok(Field f, RecordingCounts& c) {
  if (f == Field::malformed) ++c.malformed;
  if (f == Field::out_of_range) ++c.out_of_range;
  return f == Field::ok;
}

/// Parses one line into `nodes` (or counts why not).
/// Appends `f` to its node's frames, or counts it non-monotonic (earlier than
/// the node's previous frame) and drops it. True when kept.
inline bool keep_frame(NodeRecords& n, CsiFrame&& f, RecordingCounts& c) {
  if (!n.frames.empty() && f.timestamp < n.frames.back().timestamp) {
    ++c.non_monotonic;
    return false;
  }
  n.frames.push_back(std::move(f));
  return true;
}

inline void parse_line(const std::string& text, std::size_t line, std::map<std::int64_t, NodeRecords>& nodes,
                       RecordingCounts& c) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    ++c.blank;
    return;
  }
  nlohmann::json j;
  if (try_parse_json_text(text, j) != JsonParse::ok || !j.is_object()) {
    ++c.malformed;
    return;
  }
  const std::optional<double> ts = number_at(j, "timestamp");
  std::int64_t node = 0;
  const Field node_field = node_id_of(j, node);
  const auto type_it = j.find("type");
  const auto sc_it = j.find("subcarriers");
  if (type_it == j.end()) {
    if (sc_it == j.end() || !sc_it->is_array()) {
      ++c.untyped;
      return;
    }
    // The older amplitude form.
    if (!ts || sc_it->empty() || sc_it->size() > 0xFFFF) {
      ++c.malformed;
      return;
    }
    CsiFrame f;
    f.timestamp = *ts;
    f.line = line;
    f.subcarriers = static_cast<std::uint16_t>(sc_it->size());
    if (!field_ok(node_field, c) || !field_ok(floats_of(*sc_it, f.amplitude), c) || !field_ok(rssi_of(j, f.rssi), c)) {
      return;
    }
    if (keep_frame(node_of(nodes, node), std::move(f), c)) ++c.amplitude_form;
    return;
  }
  if (!type_it->is_string()) {
    ++c.malformed;
    return;
  }
  const std::string type = type_it->get<std::string>();
  if (type != "raw_csi" && type != "vitals" && type != "feature") {
    ++c.unknown_type;
    ++c.unknown_types[type];
    return;
  }
  if (!ts) {
    ++c.malformed;
    return;
  }
  if (!field_ok(node_field, c)) return;
  if (type == "raw_csi") {
    const auto hex_it = j.find("iq_hex");
    if (hex_it == j.end() || !hex_it->is_string() || sc_it == j.end() || !sc_it->is_number_integer()) {
      ++c.malformed;
      return;
    }
    const std::string& hex = hex_it->get_ref<const std::string&>();
    if (hex.empty()) {
      ++c.empty_iq;
      return;
    }
    if (hex.size() % 2 != 0) {
      ++c.odd_hex;
      return;
    }
    const std::int64_t count = sc_it->get<std::int64_t>();
    if (count <= 0 || count > 0xFFFF || static_cast<std::size_t>(count) * 4 != hex.size()) {
      ++c.bad_subcarriers;
      return;
    }
    CsiFrame f;
    f.timestamp = *ts;
    f.line = line;
    f.subcarriers = static_cast<std::uint16_t>(count);
    f.iq.resize(hex.size() / 2);
    for (std::size_t i = 0; i < f.iq.size(); ++i) {
      const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        ++c.bad_hex;
        return;
      }
      f.iq[i] = static_cast<std::int8_t>(static_cast<std::uint8_t>(hi * 16 + lo));
    }
    if (!field_ok(rssi_of(j, f.rssi), c)) return;
    if (!keep_frame(node_of(nodes, node), std::move(f), c)) return;
    ++c.raw_csi;
    ++c.raw_by_subcarriers[static_cast<std::uint32_t>(count)];
    return;
  }
  if (type == "vitals") {
    VitalsRecord v;
    v.timestamp = *ts;
    v.line = line;
    const auto me = number_at(j, "motion_energy");
    if (!me) {
      ++c.malformed;
      return;
    }
    v.motion_energy = *me;
    v.presence_score = number_at(j, "presence_score").value_or(0);
    v.n_persons = number_at(j, "n_persons").value_or(0);
    v.breathing_bpm = number_at(j, "breathing_bpm").value_or(0);
    v.heartrate_bpm = number_at(j, "heartrate_bpm").value_or(0);
    NodeRecords& n = node_of(nodes, node);
    if (!n.vitals.empty() && v.timestamp < n.vitals.back().timestamp) {
      ++c.non_monotonic;
      return;
    }
    n.vitals.push_back(v);
    ++c.vitals;
    return;
  }
  // feature
  const auto f_it = j.find("features");
  if (f_it == j.end() || !f_it->is_array() || f_it->empty()) {
    ++c.malformed;
    return;
  }
  FeatureRecord fr;
  fr.timestamp = *ts;
  fr.line = line;
  if (!field_ok(floats_of(*f_it, fr.features), c)) return;
  NodeRecords& n = node_of(nodes, node);
  if (!n.features.empty() && fr.features.size() != n.features.front().features.size()) {
    ++c.malformed;  // a length change mid-stream cannot be windowed with the rest
    return;
  }
  if (!n.features.empty() && fr.timestamp < n.features.back().timestamp) {
    ++c.non_monotonic;
    return;
  }
  n.features.push_back(std::move(fr));
  ++c.feature;
}

}  // namespace detail

/// Reads recording text (the `.csi.jsonl` content). Never throws for bad
/// lines (see the file comment).
inline Recording parse_recording(std::istream& in) {
  Recording r;
  std::map<std::int64_t, NodeRecords> nodes;
  std::string text;
  bool too_long = false;
  while (detail::next_line(in, text, kMaxLineBytes, too_long)) {
    ++r.counts.lines;
    if (too_long) {
      ++r.counts.malformed;
      continue;
    }
    detail::parse_line(text, r.counts.lines, nodes, r.counts);
  }
  for (auto& [id, n] : nodes) r.nodes.push_back(std::move(n));
  return r;
}

/// Reads `path` and, when present, its `.csi.meta.json`. Throws io_error if
/// the recording cannot be read, invalid_data (naming the file) for a meta
/// file that is not a JSON object, nests deeper than kMaxJsonDepth or whose
/// `label` is not a string, limit_exceeded for one beyond kMaxMetaBytes.
inline Recording read_recording(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) aether::detail::fail(Errc::io_error, path.string() + ": cannot open for reading");
  Recording r = parse_recording(in);
  if (in.bad()) aether::detail::fail(Errc::io_error, path.string() + ": read failed");
  r.path = path;
  const std::filesystem::path mp = meta_path(path);
  std::error_code ec;
  if (std::filesystem::exists(mp, ec)) {
    const std::vector<std::uint8_t> bytes = rvne::detail::read_bytes_capped(mp, kMaxMetaBytes);
    const nlohmann::json j =
        parse_json_text(std::string(bytes.begin(), bytes.end()), mp.string() + ": ", Errc::invalid_data);
    if (!j.is_object()) aether::detail::fail(Errc::invalid_data, mp.string() + ": not a JSON object");
    r.meta.present = true;
    r.meta.raw = j;
    if (j.contains("label")) {
      if (!j["label"].is_string()) aether::detail::fail(Errc::invalid_data, mp.string() + ": key 'label' is not a string");
      r.meta.label = j["label"].get<std::string>();
    }
    if (j.contains("id") && j["id"].is_string()) r.meta.id = j["id"].get<std::string>();
  }
  return r;
}

/// The counts as a JSON object (for tools' reports).
inline nlohmann::json to_json(const RecordingCounts& c) {
  nlohmann::json by_sc = nlohmann::json::object();
  for (const auto& [n, k] : c.raw_by_subcarriers) by_sc[std::to_string(n)] = k;
  return {{"lines", c.lines},
          {"kept", {{"raw_csi", c.raw_csi}, {"amplitude_form", c.amplitude_form}, {"vitals", c.vitals}, {"feature", c.feature}}},
          {"rejected",
           {{"blank", c.blank},
            {"malformed", c.malformed},
            {"untyped", c.untyped},
            {"unknown_type", c.unknown_type},
            {"odd_hex", c.odd_hex},
            {"bad_hex", c.bad_hex},
            {"empty_iq", c.empty_iq},
            {"bad_subcarriers", c.bad_subcarriers},
            {"out_of_range", c.out_of_range},
            {"non_monotonic", c.non_monotonic}}},
          {"unknown_types", c.unknown_types},
          {"raw_csi_by_subcarriers", by_sc}};
}

}  // namespace aether::io
