#pragma once
// Loader and runner for the conformance vector format of tests/data/upstream-v0.1.1/README.md,
// shared by conformance_test and the aether_conformance CLI.

#include <aether/dense_attention.hpp>
#include <aether/error.hpp>
#include <aether/kv_cache.hpp>
#include <aether/sparse_attention.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace aether_test {

struct ConformanceCase {
  std::string name, op;
  std::size_t seq = 0, q_heads = 0, kv_heads = 0, dim = 0;
  aether::SparseConfig cfg;
  double scale = 1.0;
  bool has_edges = false;
  std::uint64_t edges = 0;
  /// Tolerance of the format: 1e-3 for the hot-score cases, 2e-5 otherwise.
  double tolerance() const { return name.find("_hot_") != std::string::npos ? 1e-3 : 2e-5; }
};

/// Parses `cases.txt`; throws std::runtime_error on a malformed line or a missing file.
inline std::vector<ConformanceCase> load_cases(const std::string& dir) {
  std::ifstream in(dir + "/cases.txt");
  if (!in) throw std::runtime_error("conformance data missing: cannot open " + dir + "/cases.txt");
  std::vector<ConformanceCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    ConformanceCase c;
    std::size_t window = 0, block = 0;
    int causal = 0, log_stride = 0, landmarks = 0;
    std::string globals, seed, edges;
    if (!(ls >> c.name >> c.op >> c.seq >> c.q_heads >> c.kv_heads >> c.dim >> window >> block >> causal >>
          log_stride >> landmarks >> globals >> seed >> c.scale >> edges)) {
      throw std::runtime_error("malformed cases.txt line: " + line);
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
    if (edges.rfind("edges=", 0) != 0) throw std::runtime_error("malformed edges field: " + line);
    if (edges != "edges=-") {
      c.has_edges = true;
      c.edges = std::stoull(edges.substr(6));
    }
    cases.push_back(c);
  }
  if (cases.empty()) throw std::runtime_error("no cases in " + dir + "/cases.txt");
  return cases;
}

/// Reads a raw little-endian float32 file of exactly `count` values.
inline aether::Tensor3<float> load_f32(const std::string& path, std::size_t seq, std::size_t heads, std::size_t dim) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("conformance data missing: cannot open " + path);
  aether::Tensor3<float> t(seq, heads, dim);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() != t.size() * 4) {
    throw std::runtime_error(path + ": " + std::to_string(bytes.size()) + " bytes, expected " +
                             std::to_string(t.size() * 4));
  }
  for (std::size_t e = 0; e < t.size(); ++e) {
    const unsigned char* b = &bytes[e * 4];
    const std::uint32_t u = std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 |
                            std::uint32_t(b[3]) << 24;
    std::memcpy(t.data() + e, &u, 4);
  }
  return t;
}

inline std::vector<std::uint8_t> load_mask(const std::string& path, std::size_t seq) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("conformance data missing: cannot open " + path);
  std::vector<std::uint8_t> m((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (m.size() != seq) throw std::runtime_error(path + ": mask length " + std::to_string(m.size()));
  return m;
}

/// Max |a - b| over all elements (NaN counts as infinite).
inline double max_abs_diff(aether::Tensor3View<const float> a, aether::Tensor3View<const float> b) {
  double worst = 0;
  for (std::size_t e = 0; e < a.size(); ++e) {
    const double diff = std::fabs(double(a.data()[e]) - double(b.data()[e]));
    worst = std::isnan(diff) ? INFINITY : std::max(worst, diff);
  }
  return worst;
}

struct CaseResult {
  double max_error = 0;              ///< against the reference output
  bool edges_ok = true;              ///< count_edges matches edges=
  std::uint64_t edges = 0;           ///< our count_edges
  bool decode_matches_prefill = true;  ///< decode cases: bit-equal to our causal prefill
  aether::Tensor3<float> ours;       ///< our output
};

/// Runs one case from `dir` with the library and compares to NAME.out.f32.
inline CaseResult run_case(const std::string& dir, const ConformanceCase& c) {
  const std::string base = dir + "/" + c.name;
  const auto q = load_f32(base + ".q.f32", c.seq, c.q_heads, c.dim);
  const auto k = load_f32(base + ".k.f32", c.seq, c.kv_heads, c.dim);
  const auto v = load_f32(base + ".v.f32", c.seq, c.kv_heads, c.dim);
  const auto expected = load_f32(base + ".out.f32", c.seq, c.q_heads, c.dim);
  CaseResult r;
  if (c.op == "dense") {
    r.ours = aether::dense_attention(q, k, v, c.cfg.causal);
  } else {
    aether::SparseAttention<float> attn(c.cfg);
    r.edges = attn.count_edges(c.seq);
    r.edges_ok = !c.has_edges || r.edges == c.edges;
    if (c.op == "sparse") {
      r.ours = attn.forward(q, k, v);
    } else if (c.op == "gated") {
      r.ours = attn.forward_gated(q, k, v, load_mask(base + ".mask.u8", c.seq));
    } else if (c.op == "decode") {
      aether::KvCache<float> cache(c.seq, c.kv_heads, c.dim, c.cfg.block_size);
      r.ours = aether::Tensor3<float>(c.seq, c.q_heads, c.dim);
      const std::size_t row = c.q_heads * c.dim;
      for (std::size_t t = 0; t < c.seq; ++t) {
        cache.append(aether::Tensor3View<const float>(k.data() + t * c.kv_heads * c.dim, 1, c.kv_heads, c.dim),
                     aether::Tensor3View<const float>(v.data() + t * c.kv_heads * c.dim, 1, c.kv_heads, c.dim));
        const auto o = attn.decode(aether::Tensor3View<const float>(q.data() + t * row, 1, c.q_heads, c.dim), cache);
        std::memcpy(r.ours.data() + t * row, o.data(), row * sizeof(float));
      }
      aether::SparseConfig causal_cfg = c.cfg;
      causal_cfg.causal = true;
      const auto prefill = aether::SparseAttention<float>(causal_cfg).forward(q, k, v);
      r.decode_matches_prefill = std::memcmp(prefill.data(), r.ours.data(), prefill.size() * sizeof(float)) == 0;
    } else {
      throw std::runtime_error("unknown op '" + c.op + "' in case " + c.name);
    }
  }
  r.max_error = max_abs_diff(r.ours, expected);
  return r;
}

}  // namespace aether_test
