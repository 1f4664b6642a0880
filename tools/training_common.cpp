// Definitions of tools/training_common.hpp, compiled once into the tools'
// static library aether_tools_common (tools/CMakeLists.txt) rather than in
// every tool that includes the header.
#include "tools/training_common.hpp"

#include <aether/io/sha256.hpp>

namespace aether_tools {

std::optional<int> parse_task_arg(const CLI::App& app, const std::string& text, io::Task& out) {
  try {
    out = io::parse_task(text);
    return std::nullopt;
  } catch (const aether::Error& e) {
    return aether_cli::usage_error(app, std::string("--task: ") + e.what());
  }
}

std::vector<io::Recording> read_recordings(const std::vector<std::string>& files) {
  std::vector<io::Recording> out;
  out.reserve(files.size());
  for (const std::string& f : files) out.push_back(io::read_recording(f));
  return out;
}

json recordings_json(const std::vector<io::Recording>& recs, bool with_sha) {
  json a = json::array();
  for (const io::Recording& r : recs) {
    json j = {{"file", r.path.filename().string()}, {"records", io::to_json(r.counts)}};
    if (with_sha) j["sha256"] = io::sha256_file_hex(r.path);
    a.push_back(std::move(j));
  }
  return a;
}

std::vector<train::Example> examples_of(const std::vector<io::LabelledWindow>& ws) {
  std::vector<train::Example> out;
  out.reserve(ws.size());
  for (const io::LabelledWindow& w : ws) out.push_back(train::Example{w.frames, w.label});
  return out;
}

Interval wilson95(std::size_t k, std::size_t n) {
  if (n == 0) return {0, 1};
  const double z = 1.959963984540054, nn = static_cast<double>(n), p = static_cast<double>(k) / nn;
  const double den = 1 + z * z / nn, centre = (p + z * z / (2 * nn)) / den;
  const double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / den;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

json accuracy_report(const train::EvalResult& r, const std::vector<std::string>& names) {
  std::size_t n = 0, correct = 0, top = 0;
  json per = json::object();
  for (std::size_t c = 0; c < r.per_class.size(); ++c) {
    const train::ClassCounts& k = r.per_class[c];
    n += k.total;
    correct += k.correct;
    top = std::max(top, k.total);
    per[c < names.size() ? names[c] : std::to_string(c)] = {
        {"index", c}, {"windows", k.total}, {"correct", k.correct}, {"predicted", k.predicted}};
  }
  const double acc = n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
  const double base = n ? static_cast<double>(top) / static_cast<double>(n) : 0.0;
  const Interval ci = wilson95(correct, n);
  std::string verdict;
  if (n == 0) {
    verdict = "no labelled window was evaluated";
  } else if (ci.low > base) {
    verdict = "above the majority baseline (the baseline is below the 95% interval)";
  } else if (ci.high < base) {
    verdict = "below the majority baseline (the baseline is above the 95% interval)";
  } else {
    verdict = "cannot be told from the majority baseline (the baseline lies inside the 95% interval)";
  }
  return {{"windows", n},
          {"accuracy", acc},
          {"accuracy_ci95", {ci.low, ci.high}},
          {"majority_baseline", base},
          {"loss", r.loss},
          {"per_class", per},
          {"distinguishable_from_baseline", n != 0 && (ci.low > base || ci.high < base)},
          {"verdict", verdict}};
}

std::string accuracy_line(const json& a) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "accuracy %.3f [95%% %.3f, %.3f] over %zu windows, majority baseline %.3f: %s",
                a["accuracy"].get<double>(), a["accuracy_ci95"][0].get<double>(), a["accuracy_ci95"][1].get<double>(),
                a["windows"].get<std::size_t>(), a["majority_baseline"].get<double>(),
                a["verdict"].get<std::string>().c_str());
  return buf;
}

ModelSetup setup_of(const std::filesystem::path& blob_path) {
  ModelSetup s;
  s.model = io::load_model(blob_path);  // a v2 sidecar with attention/pool/features/gate is refused here
  const io::Sidecar& sc = s.model.sidecar;
  const std::string where = io::sidecar_path(blob_path).string() + ": ";
  if (s.model.blob.header.version == aether::rvne::kVersion2) {
    // The blob carries its featuriser, pooling and attention (gate included).
    const aether::TemporalModel<float> model(s.model.blob);
    if (!model.has_featurizer()) {
      aether::detail::fail(aether::Errc::invalid_config,
                           blob_path.string() + ": the version 2 blob carries no featuriser (feature kind none): "
                                                "a model for recordings needs one");
    }
    s.features = model.featurizer();
    s.pool = model.pool();
    s.attention = aether::ModelAttention{};
  } else {
    if (!s.model.has_sidecar) {
      aether::detail::fail(aether::Errc::invalid_sidecar, where + "missing: a model for recordings needs its sidecar "
                                                                  "(featuriser constants, window, classes)");
    }
    if (!sc.features) io::detail::bad_key(where, "features", "missing (the featuriser the model was trained with)");
    s.features = io::features_from_json(*sc.features, where);
    if (s.features.input_dim != s.model.blob.header.input_dim) {
      io::detail::bad_key(where, "features.constants.input_dim",
                          std::to_string(s.features.input_dim) + " differs from the blob's input_dim " +
                              std::to_string(s.model.blob.header.input_dim));
    }
    s.pool = io::model_pool(s.model);
    s.attention = io::model_attention(s.model, blob_path);  // with the sidecar's gate
  }
  if (sc.window) s.window = *sc.window;
  if (sc.stride) s.stride = *sc.stride;
  for (std::size_t c = 0; c < s.model.blob.header.classes; ++c) s.class_names.push_back(sc.class_name(c));
  return s;
}

std::string window_line(std::int64_t node, std::size_t last_line, double last_time, const float* p,
                               std::size_t classes) {
  std::string s;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld %zu %.6f", static_cast<long long>(node), last_line, last_time);
  s += buf;
  for (std::size_t c = 0; c < classes; ++c) {
    std::snprintf(buf, sizeof buf, " %.9g", static_cast<double>(p[c]));
    s += buf;
  }
  return s + "\n";
}

void write_text(const std::string& path, const std::string& text) {
  aether::detail::AtomicFile f(path);
  f.write(text);
  f.commit();
}

}  // namespace aether_tools
