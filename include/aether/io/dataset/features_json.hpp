#pragma once
/// \file dataset/features_json.hpp
/// The featuriser's JSON form (the sidecar's `features` key, io/sidecar.hpp):
/// `features_to_json` writes a FeaturizerConfig's constants into a
/// FeatureSpec, `features_from_json` reads them back and validates them.
/// Part of the dataset path (overview: io/dataset.hpp).
///
/// Inputs/outputs: FeaturizerConfig <-> FeatureSpec (name, version, JSON
/// constants). `features_from_json` throws invalid_sidecar naming the bad
/// `features.*` key (prefixed by `where`).
///
/// Needs nlohmann-json (target `aether::io`). Thread safety: free functions
/// over values. Cost: O(input_dim) (the offset and scale arrays).

#include <aether/io/featurizer.hpp>
#include <aether/io/json_input.hpp>
#include <aether/io/sidecar.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace aether::io {

// ---------------------------------------------------------------------------
// Featuriser constants <-> JSON (the sidecar's `features`)
// ---------------------------------------------------------------------------

inline FeatureSpec features_to_json(const FeaturizerConfig& c) {
  FeatureSpec s;
  s.name = c.name();
  s.version = c.version();
  s.constants = {{"input_dim", c.input_dim},
                 {"log_amplitude", c.log_amplitude},
                 {"centre_frame", c.centre_frame},
                 {"subcarriers", c.subcarriers},
                 {"offset", c.offset},
                 {"scale", c.scale}};
  if (c.constant_feature) s.constants["constant_feature"] = true;
  return s;
}

/// Throws invalid_sidecar naming the bad `features.*` key.
inline FeaturizerConfig features_from_json(const FeatureSpec& s, const std::string& where = "") {
  FeaturizerConfig c;
  if (s.name == "csi-amplitude") {
    c.source = FeatureSource::csi_amplitude;
  } else if (s.name == "node-features") {
    c.source = FeatureSource::node_features;
  } else {
    detail::bad_key(where, "features.name", "unknown featuriser \"" + s.name + "\"");
  }
  if (s.version != 1 && s.version != 2) {
    detail::bad_key(where, "features.version", "version " + std::to_string(s.version) + " is not 1 or 2");
  }
  const nlohmann::json& k = s.constants;
  auto flag = [&](const char* key, bool& out) {
    if (!k.contains(key)) return;
    if (!k[key].is_boolean()) detail::bad_key(where, std::string("features.constants.") + key, "expected true or false");
    out = k[key].get<bool>();
  };
  auto floats = [&](const char* key, std::vector<float>& out) {
    if (!k.contains(key)) return;
    const std::string name = std::string("features.constants.") + key;
    if (!k[key].is_array()) detail::bad_key(where, name, "expected an array of numbers, found " + shown(k[key]));
    for (std::size_t i = 0; i < k[key].size(); ++i) {
      out.push_back(detail::get_float(k[key][i], where, name + "[" + std::to_string(i) + "]"));
    }
  };
  if (!k.contains("input_dim")) detail::bad_key(where, "features.constants.input_dim", "missing");
  c.input_dim = detail::get_size(k["input_dim"], where, "features.constants.input_dim");
  if (c.input_dim == 0 || c.input_dim > 0xFFFF) {  // a blob's input_dim is 16-bit
    detail::bad_key(where, "features.constants.input_dim",
                    std::to_string(c.input_dim) + " is outside 1 ... 65535 (a blob's input_dim)");
  }
  flag("log_amplitude", c.log_amplitude);
  flag("centre_frame", c.centre_frame);
  flag("constant_feature", c.constant_feature);
  if (c.version() != s.version) {
    detail::bad_key(where, "features.version",
                    "version " + std::to_string(s.version) + (c.constant_feature ? " has no constant_feature (version 2)"
                                                                                 : " needs constant_feature true"));
  }
  if (c.constant_feature && c.input_dim < 2) {
    detail::bad_key(where, "features.constants.input_dim", "must be at least 2 with constant_feature");
  }
  if (k.contains("subcarriers")) {
    const std::size_t n = detail::get_size(k["subcarriers"], where, "features.constants.subcarriers");
    if (n > 0xFFFF) {
      detail::bad_key(where, "features.constants.subcarriers",
                      std::to_string(n) + " is more than a frame can have (65535; 0 = every count)");
    }
    c.subcarriers = static_cast<std::uint32_t>(n);
  }
  floats("offset", c.offset);
  floats("scale", c.scale);
  if (c.offset.size() != c.scale.size() || (!c.offset.empty() && c.offset.size() != c.input_dim)) {
    detail::bad_key(where, "features.constants.offset", "offset and scale must both hold input_dim values or be empty");
  }
  return c;
}

}  // namespace aether::io
