#pragma once
// Loader and runner for the FastGRNN gate conformance vectors
// (tests/data/gate-v0.1.1, format in its README.md), shared by gate_test and
// the aether_conformance CLI.

#include "conformance_data.hpp"

#include <aether/fast_grnn_gate.hpp>
#include <aether/gate_file.hpp>
#include <aether/sparse_attention.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace aether_test {

struct GateCase {
  std::string name;
  std::size_t seq = 0, q_heads = 0, kv_heads = 0, dim = 0, gate_hidden = 0, top_k = 0;
  aether::SparseConfig cfg;
  float quantile = 0;
  std::string weights;  ///< "init" or "file"
};

/// True when `dir/cases.txt` is in the gate format (second field numeric).
inline bool is_gate_folder(const std::string& dir) {
  std::ifstream in(dir + "/cases.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name, second;
    ls >> name >> second;
    return !second.empty() && std::isdigit(static_cast<unsigned char>(second[0]));
  }
  return false;
}

/// Parses the gate `cases.txt`; throws std::runtime_error when missing or malformed.
inline std::vector<GateCase> load_gate_cases(const std::string& dir) {
  std::ifstream in(dir + "/cases.txt");
  if (!in) throw std::runtime_error("gate conformance data missing: cannot open " + dir + "/cases.txt");
  std::vector<GateCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    GateCase c;
    std::size_t window = 0, block = 0;
    int causal = 0, log_stride = 0, landmarks = 0;
    std::string globals;
    if (!(ls >> c.name >> c.seq >> c.q_heads >> c.kv_heads >> c.dim >> window >> block >> causal >> log_stride >>
          landmarks >> globals >> c.gate_hidden >> c.top_k >> c.quantile >> c.weights) ||
        (c.weights != "init" && c.weights != "file")) {
      throw std::runtime_error("malformed gate cases.txt line: " + line);
    }
    c.cfg.window = window;
    c.cfg.block_size = block;
    c.cfg.causal = causal != 0;
    c.cfg.log_stride = log_stride != 0;
    c.cfg.landmarks = landmarks != 0;
    c.cfg.global_tokens.clear();
    if (globals != "-") {
      std::istringstream gs(globals);
      std::string tok;
      while (std::getline(gs, tok, ',')) c.cfg.global_tokens.push_back(std::stoul(tok));
    }
    cases.push_back(c);
  }
  if (cases.empty()) throw std::runtime_error("no cases in " + dir + "/cases.txt");
  return cases;
}

/// The gate of a case: reference init, or NAME.gate.f32.
inline aether::FastGrnnGate<float> gate_of(const std::string& dir, const GateCase& c) {
  if (c.weights == "init") return aether::FastGrnnGate<float>(c.dim, c.gate_hidden);
  return aether::read_gate_file(dir + "/" + c.name + ".gate.f32", c.dim, c.gate_hidden);
}

struct GateResult {
  double salience_rel_error = 0;  ///< max |got - want| / |want| (0/0 = 0)
  std::size_t topk_mismatches = 0, quantile_mismatches = 0;
  double out_error = 0;  ///< max abs difference to NAME.out.f32
  std::vector<float> salience;
  std::vector<std::uint8_t> keep_topk, keep_q;
  aether::Tensor3<float> out;
  bool ok() const {
    return salience_rel_error <= 1e-5 && topk_mismatches == 0 && quantile_mismatches == 0 && out_error <= 2e-5;
  }
};

/// Runs one gate case with the library (masks from our own salience) and
/// compares with the reference's files (README tolerances).
inline GateResult run_gate_case(const std::string& dir, const GateCase& c) {
  const std::string base = dir + "/" + c.name;
  const auto q = load_f32(base + ".q.f32", c.seq, c.q_heads, c.dim);
  const auto k = load_f32(base + ".k.f32", c.seq, c.kv_heads, c.dim);
  const auto v = load_f32(base + ".v.f32", c.seq, c.kv_heads, c.dim);
  const auto want_sal = load_f32(base + ".salience.f32", c.seq, 1, 1);
  const auto want_topk = load_mask(base + ".keep_topk.u8", c.seq);
  const auto want_q = load_mask(base + ".keep_q.u8", c.seq);
  const auto want_out = load_f32(base + ".out.f32", c.seq, c.q_heads, c.dim);
  const auto gate = gate_of(dir, c);
  GateResult r;
  r.salience = gate.score_kv(k);
  for (std::size_t t = 0; t < c.seq; ++t) {
    const double want = want_sal.data()[t], got = r.salience[t];
    const double err = std::fabs(got - want);
    const double rel = err == 0 ? 0 : (want == 0 ? INFINITY : err / std::fabs(want));
    r.salience_rel_error = std::isnan(got) ? INFINITY : std::max(r.salience_rel_error, rel);
  }
  r.keep_topk = aether::FastGrnnGate<float>::keep_top_k(r.salience, c.top_k);
  r.keep_q = aether::FastGrnnGate<float>::keep_quantile(r.salience, c.quantile);
  for (std::size_t t = 0; t < c.seq; ++t) {
    r.topk_mismatches += r.keep_topk[t] != want_topk[t];
    r.quantile_mismatches += r.keep_q[t] != want_q[t];
  }
  aether::SparseAttention<float> attn(c.cfg);
  r.out = attn.forward_gated(q, k, v, gate, c.top_k);
  r.out_error = max_abs_diff(r.out, want_out);
  return r;
}

}  // namespace aether_test
