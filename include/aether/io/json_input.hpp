#pragma once
/// \file json_input.hpp
/// The one way `aether::io` parses JSON from a file or a line: with a bound
/// on nesting, so that no later step (a copy, a `dump()`, a destructor of
/// the nlohmann version in use) recurses deeper than `kMaxJsonDepth` levels
/// on hostile input. Every reader of the library (sidecars, recording lines
/// and meta files) goes through `parse_json_text` / `try_parse_json_text`.
///
/// - `kMaxJsonDepth`: the most arrays/objects nested in one another (the
///   sidecars and recordings this library writes nest 4 deep at most).
/// - `parse_json_text`: throws the caller's `Errc` naming the file (`where`)
///   and the limit, or the parser's message for text that is not JSON.
/// - `try_parse_json_text`: no exceptions; the reason as an enum (recording
///   lines are counted, not fatal).
/// - `finite_as_float`: whether a number survives the cast to float.
/// - `shown`: a value rendered for a message, bounded in size whatever the
///   value (arrays and objects are described, never dumped).
///
/// Cost: the parser's callback runs once per token (a function call). The
/// parser itself keeps its nesting on the heap, so parsing deep text does
/// not recurse; values nested beyond the limit are discarded as they are
/// parsed and never built. Thread safety: free functions over values.

#include <aether/error.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

namespace aether::io {

/// Most arrays and objects nested in one another in any JSON the library
/// reads (the top-level value counts as one). Deeper text is refused.
inline constexpr int kMaxJsonDepth = 64;

/// Outcome of `try_parse_json_text`.
enum class JsonParse : unsigned char {
  ok,
  not_json,  ///< a syntax error (or an empty text)
  too_deep,  ///< more than kMaxJsonDepth arrays/objects nested
};

/// Parses `text` into `out` without throwing (nesting bounded as the file
/// comment says). `out` is unspecified unless the result is `ok`.
inline JsonParse try_parse_json_text(const std::string& text, nlohmann::json& out) {
  bool too_deep = false;
  // depth = the containers open around the event's value (0 at the top).
  const nlohmann::json::parser_callback_t bound = [&too_deep](int depth, nlohmann::json::parse_event_t event,
                                                              nlohmann::json&) {
    const bool opens = event == nlohmann::json::parse_event_t::object_start ||
                       event == nlohmann::json::parse_event_t::array_start;
    if (opens && depth >= kMaxJsonDepth) too_deep = true;
    return !too_deep;  // false: the parser discards the value instead of building it
  };
  out = nlohmann::json::parse(text, bound, /*allow_exceptions=*/false);
  if (too_deep) {
    out = nullptr;
    return JsonParse::too_deep;
  }
  return out.is_discarded() ? JsonParse::not_json : JsonParse::ok;
}

/// Parses `text`. Throws `Error(code)` starting with `where` (e.g.
/// "FILE: "): "not JSON: ..." with the parser's message, or "JSON nested
/// deeper than 64 levels (the limit)".
inline nlohmann::json parse_json_text(const std::string& text, const std::string& where, Errc code) {
  nlohmann::json j;
  switch (try_parse_json_text(text, j)) {
    case JsonParse::ok: return j;
    case JsonParse::too_deep:
      aether::detail::fail(code, where + "JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                     " levels (the limit for arrays and objects)");
    case JsonParse::not_json: break;
  }
  try {  // parsed again only to get the parser's message (position and token)
    const nlohmann::json again = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    aether::detail::fail(code, where + "not JSON: " + e.what());
  }
  aether::detail::fail(code, where + "not JSON");
}

/// True when the number `d` (e.g. a JSON number, parsed as double) stays
/// finite as a 32-bit float: 1e39 is finite as a double and +Inf as a float.
inline bool finite_as_float(double d) noexcept {
  return std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max());
}

/// `v` for a message, at most ~60 characters: scalars as JSON (a long
/// string cut), arrays and objects by their size only.
inline std::string shown(const nlohmann::json& v) {
  if (v.is_array()) return "an array of " + std::to_string(v.size()) + " values";
  if (v.is_object()) return "an object of " + std::to_string(v.size()) + " keys";
  constexpr std::size_t kMax = 60;
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() > kMax) return nlohmann::json(s.substr(0, kMax - 3)).dump() + "...";
  }
  return v.dump();
}

}  // namespace aether::io
