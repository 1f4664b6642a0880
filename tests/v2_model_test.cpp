// Acceptance tests of the v2 model architecture (issue 19) against a naive
// float64 reference written here: plain loops over the tensors the blob
// names through `rvne::for_each_tensor` (names and offsets; nothing of
// TemporalModel's binding), RoPE angles in long double with fmodl (not
// block::Rope's fixed-point turns), attention through reference_attention.hpp
// (SEMANTICS.md's sparse pattern and dense softmax, float64), the salience
// gate's FastGRNN cell and top-k mask written out in float64 too.
//
// Checked: every block on its own and whole models (MHA/GQA/MQA, sparse and
// dense, causal and bidirectional, gated, N = 1 / N < B / N over several
// blocks, pools, positions near 2^31) for TemporalModel<float> and <double>
// within 1e-5 * max(1, |ref|) per logit; stream == prefill; RoPE relative
// positions up to 2^31 and across the 2^64 wrap.
#include "reference_attention.hpp"

#include <aether/rvne.hpp>
#include <aether/rvne/init.hpp>
#include <aether/rvne/tensors.hpp>
#include <aether/block/rope.hpp>
#include <aether/temporal_model.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace v2_model_test {

namespace {

using aether::Pool;
using aether::TemporalModel;
using aether::Tensor3;
using aether::Tensor3View;
namespace rvne = aether::rvne;
using rvne::Activation;
using rvne::BackendKind;
using rvne::GateKind;
using rvne::PoolKind;

constexpr std::uint64_t kFar = (std::uint64_t{1} << 31) - 100;  // first_position far from 0

/// One test model's shape and options (a v2 header is built from it).
struct Spec {
  std::string name;
  std::uint32_t blocks = 0;
  std::uint16_t input_dim = 6, d_model = 0, q_heads = 4, kv_heads = 2, head_dim = 8, layers = 2, classes = 3;
  std::uint16_t ffn_dim = 0, conv_kernel = 0, conv_dilation = 0;
  Activation conv_act = Activation::identity, ffn_act = Activation::identity;
  PoolKind pool = PoolKind::mean;
  float norm_eps = 0.0f, rope_base = 0.0f;
  BackendKind backend = BackendKind::sparse;
  std::uint32_t window = 32, block_size = 16;
  bool causal = true;
  std::vector<std::uint32_t> globals = {0};
  GateKind gate = GateKind::none;
  std::uint32_t top_k = 0;
  std::uint16_t gate_hidden = 0;

  // Block switches with the fields they need (a block that is off keeps its fields 0).
  Spec& proj(std::uint16_t d = 12) { blocks |= rvne::kBlockInputProjection; d_model = d; return *this; }
  Spec& norm(float eps = 1e-5f) { blocks |= rvne::kBlockNorm; norm_eps = eps; return *this; }
  Spec& conv(std::uint16_t k = 3, std::uint16_t dil = 2, Activation a = Activation::relu) {
    blocks |= rvne::kBlockConv; conv_kernel = k; conv_dilation = dil; conv_act = a; return *this;
  }
  Spec& ffn(std::uint16_t f = 16, Activation a = Activation::gelu) {
    blocks |= rvne::kBlockFfn; ffn_dim = f; ffn_act = a; return *this;
  }
  Spec& rope(float base = 10000.0f) { blocks |= rvne::kBlockRope; rope_base = base; return *this; }
  Spec& bit(std::uint32_t b) { blocks |= b; return *this; }
  Spec& heads(std::uint16_t q, std::uint16_t kv) { q_heads = q; kv_heads = kv; return *this; }
  Spec& dense(bool c = true) { backend = BackendKind::dense; causal = c; return *this; }
  Spec& gated(std::uint32_t k = 4, std::uint16_t hidden = 5) { gate = GateKind::prune; top_k = k; gate_hidden = hidden; return *this; }
  /// A narrow window, so log-stride tokens, landmarks and the gate matter at N = 70.
  Spec& narrow(std::uint32_t w = 4, std::uint32_t b = 8) { window = w; block_size = b; return *this; }
  Spec& named(std::string n) { name = std::move(n); return *this; }
  Spec& with_layers(std::uint16_t l) { layers = l; return *this; }
  Spec& pooled(PoolKind p) { pool = p; return *this; }

  /// The v2 header this spec describes.
  rvne::Header header() const {
    rvne::Header h = rvne::Header::aether_default();
    h.version = rvne::kVersion2;
    h.input_dim = input_dim;
    h.q_heads = q_heads;
    h.kv_heads = kv_heads;
    h.head_dim = head_dim;
    h.layers = layers;
    h.classes = classes;
    rvne::Architecture& a = h.arch;
    a = rvne::Architecture{};
    a.blocks = blocks;
    a.d_model = d_model;
    a.ffn_dim = ffn_dim;
    a.conv_kernel = conv_kernel;
    a.conv_dilation = conv_dilation;
    a.conv_activation = conv_act;
    a.ffn_activation = ffn_act;
    a.pool = pool;
    a.norm_eps = norm_eps;
    a.rope_base = rope_base;
    a.attention.backend = backend;
    a.attention.window = window;
    a.attention.block_size = block_size;
    a.attention.causal = causal ? 1 : 0;
    a.attention.global_count = static_cast<std::uint8_t>(globals.size());
    for (std::size_t i = 0; i < globals.size(); ++i) a.attention.globals[i] = globals[i];
    a.attention.gate = gate;
    a.attention.gate_top_k = top_k;
    a.attention.gate_hidden = gate_hidden;
    return h;
  }
};

/// Every block on (the benchmark's kind of model, at test size).
Spec full() {
  return Spec{}.proj().norm().conv(3, 2, Activation::relu).ffn(16, Activation::gelu).rope()
      .bit(rvne::kBlockQkvBias | rvne::kBlockOutBias | rvne::kBlockClassifierBias);
}

/// A blob of `s` whose every tensor (biases and norm gains included: a zero
/// bias or unit gain would hide a missing term) is drawn from `seed`:
/// matrices uniform in +-sqrt(3 / rows), biases and the gate in +-0.5, gains
/// in [0.5, 1.5]. Padding stays 0.
rvne::Blob random_blob(const Spec& s, std::uint32_t seed) {
  const rvne::Header h = s.header();
  rvne::Blob b = rvne::init_trainable(h, seed);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
    const std::string name = m.name;
    const bool gain = name.find("norm") != std::string::npos;
    const bool vec = m.rows == 1;  // biases, gains, the packed gate
    const double a = vec ? 0.5 : std::sqrt(3.0 / static_cast<double>(m.rows));
    for (std::uint64_t e = 0; e < m.elements(); ++e) {
      const double w = gain ? 1.0 + 0.5 * u(rng) : a * u(rng);
      rvne::detail::store_weight(h.dtype, b.weights.data(), static_cast<std::size_t>(m.offset + e),
                                 static_cast<float>(w));
    }
  });
  return b;
}

/// Frames `(n, input_dim)` uniform in [-1, 1].
TemporalModel<float>::Matrix random_frames(std::size_t n, std::size_t dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  TemporalModel<float>::Matrix x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(dim));
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index c = 0; c < x.cols(); ++c) x(i, c) = u(rng);
  return x;
}

// ---------------------------------------------------------------------------
// The naive float64 reference.

/// Deliberate faults, for showing that the comparisons can fail.
struct Fault {
  bool flip_bias = false;  ///< the reference negates bo (out bias)
};

using Row = std::vector<double>;
using Rows = std::vector<Row>;

/// The blob's tensors as float64, by (layer, name), read through for_each_tensor.
class RefWeights {
 public:
  explicit RefWeights(const rvne::Blob& b) {
    rvne::for_each_tensor(b.header, [&](const rvne::MatrixShape& m) {
      std::vector<double>& t = tensors_[{m.layer, m.name}];
      t.resize(static_cast<std::size_t>(m.elements()));
      for (std::size_t e = 0; e < t.size(); ++e) t[e] = b.weight(static_cast<std::size_t>(m.offset) + e);
    });
  }
  /// The tensor, or null when the blob has none of that name.
  const double* get(int layer, const char* name) const {
    const auto it = tensors_.find({layer, name});
    return it == tensors_.end() ? nullptr : it->second.data();
  }

 private:
  std::map<std::pair<int, std::string>, std::vector<double>> tensors_;
};

/// `x W (+ b)`, W `[in][out]` row-major.
Row matvec(const Row& x, const double* w, const double* b, std::size_t out) {
  Row y(out, 0.0);
  for (std::size_t c = 0; c < out; ++c) {
    double s = b != nullptr ? b[c] : 0.0;
    for (std::size_t r = 0; r < x.size(); ++r) s += x[r] * w[r * out + c];
    y[c] = s;
  }
  return y;
}

Row rms(const Row& x, const double* g, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
  Row y(x.size());
  for (std::size_t c = 0; c < x.size(); ++c) y[c] = x[c] * inv * g[c];
  return y;
}

double act(Activation a, double x) {
  if (a == Activation::relu) return x > 0 ? x : 0.0;
  if (a == Activation::gelu) {
    const double pi = 3.14159265358979323846;
    return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / pi) * (x + 0.044715 * x * x * x)));
  }
  return x;
}

/// Rotates pair (2i, 2i+1) of each head by position * base^(-2i/dh), the
/// angle reduced in long double (independent of block::Rope).
void rope_rotate(double* v, std::size_t heads, std::size_t dh, std::uint64_t position, double base) {
  const long double two_pi = 6.283185307179586476925286766559L;
  for (std::size_t i = 0; i < dh / 2; ++i) {
    const double theta = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(dh));
    const long double angle = std::fmod(static_cast<long double>(position) * static_cast<long double>(theta), two_pi);
    const double c = static_cast<double>(std::cos(angle)), s = static_cast<double>(std::sin(angle));
    for (std::size_t h = 0; h < heads; ++h) {
      double* p = v + h * dh + 2 * i;
      const double a = p[0], b = p[1];
      p[0] = a * c - b * s;
      p[1] = a * s + b * c;
    }
  }
}

/// GATE.md's keep mask in float64: FastGRNN over the keys pooled over kv
/// heads (`a = W_g x + U_g h`, `b = W_u x + U_u h`, `g = sigmoid(a + b_g)`,
/// `c = tanh(b + b_u)`, `gf = clamp(zeta g + nu, 0, 1)`, `h = gf h + (1 - gf) c`,
/// salience ||h||), then the top_k highest (ties to the lower index).
std::vector<std::uint8_t> ref_keep(const Tensor3<double>& k, const double* packed, std::size_t hidden, std::size_t top_k) {
  const std::size_t n = k.seq(), kvh = k.heads(), I = k.dim(), H = hidden;
  const double* wg = packed;
  const double* ug = wg + H * I;
  const double* wu = ug + H * H;
  const double* uu = wu + H * I;
  const double* bg = uu + H * H;
  const double* bu = bg + H;
  const double zeta = bu[H], nu = bu[H + 1];
  std::vector<double> sal(n), h(H, 0.0), x(I);
  for (std::size_t t = 0; t < n; ++t) {
    for (std::size_t e = 0; e < I; ++e) {
      double s = 0;
      for (std::size_t hh = 0; hh < kvh; ++hh) s += k(t, hh, e);
      x[e] = s / static_cast<double>(kvh);
    }
    std::vector<double> hn(H);
    double norm = 0;
    for (std::size_t r = 0; r < H; ++r) {
      double a = 0, b = 0;
      for (std::size_t e = 0; e < I; ++e) {
        a += wg[r * I + e] * x[e];
        b += wu[r * I + e] * x[e];
      }
      for (std::size_t e = 0; e < H; ++e) {
        a += ug[r * H + e] * h[e];
        b += uu[r * H + e] * h[e];
      }
      const double g = 1.0 / (1.0 + std::exp(-(a + bg[r])));
      const double c = std::tanh(b + bu[r]);
      const double gf = std::min(1.0, std::max(0.0, zeta * g + nu));
      hn[r] = gf * h[r] + (1.0 - gf) * c;
      norm += hn[r] * hn[r];
    }
    h = hn;
    sal[t] = std::sqrt(norm);
  }
  std::vector<std::uint8_t> keep(n, top_k >= n ? 1 : 0);
  if (top_k == 0 || top_k >= n) return keep;
  std::vector<std::size_t> order(n);
  for (std::size_t j = 0; j < n; ++j) order[j] = j;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return sal[a] > sal[b]; });
  for (std::size_t e = 0; e < top_k; ++e) keep[order[e]] = 1;
  return keep;
}

/// The v2 forward of docs/model.md in float64, from the blob's tensors.
std::vector<double> reference_forward(const rvne::Blob& blob, const TemporalModel<float>::Matrix& x, Pool pool,
                                      std::uint64_t first_position, Fault fault = {}) {
  const rvne::Header& hd = blob.header;
  const rvne::Architecture& ar = hd.arch;
  const RefWeights w(blob);
  const std::size_t n = static_cast<std::size_t>(x.rows()), D = hd.input_dim, d = hd.model_dim(),
                    qh = hd.q_heads, kvh = hd.kv_heads, dh = hd.head_dim, C = hd.classes;
  const double eps = static_cast<double>(ar.norm_eps);
  auto normed = [&](const Row& r, const double* g) { return g != nullptr ? rms(r, g, eps) : r; };
  Rows h(n, Row(D));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < D; ++c) h[i][c] = x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(c));
  if (ar.has(rvne::kBlockInputProjection)) {
    for (Row& r : h) r = matvec(r, w.get(-1, "W_in"), w.get(-1, "b_in"), d);
  }
  for (int l = 0; l < static_cast<int>(hd.layers); ++l) {
    if (ar.has(rvne::kBlockConv)) {  // y_t = b + sum_j taps[j] u_{t-(k-1-j) delta}; h_t += act(y_t)
      Rows u(n);
      for (std::size_t i = 0; i < n; ++i) u[i] = normed(h[i], w.get(l, "conv.norm"));
      const double* taps = w.get(l, "conv.taps");
      const double* bias = w.get(l, "conv.bias");
      const long long k = ar.conv_kernel, dil = ar.conv_dilation;
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t c = 0; c < d; ++c) {
          double y = bias[c];
          for (long long j = 0; j < k; ++j) {
            const long long s = static_cast<long long>(i) - (k - 1 - j) * dil;
            if (s >= 0) y += taps[static_cast<std::size_t>(j) * d + c] * u[static_cast<std::size_t>(s)][c];
          }
          h[i][c] += act(ar.conv_activation, y);
        }
      }
    }
    // Attention: q/k/v with biases, RoPE at the absolute position.
    Tensor3<double> q(n, qh, dh), k(n, kvh, dh), v(n, kvh, dh);
    for (std::size_t i = 0; i < n; ++i) {
      const Row u = normed(h[i], w.get(l, "attn.norm"));
      const Row qi = matvec(u, w.get(l, "Wq"), w.get(l, "bq"), qh * dh);
      const Row ki = matvec(u, w.get(l, "Wk"), w.get(l, "bk"), kvh * dh);
      const Row vi = matvec(u, w.get(l, "Wv"), w.get(l, "bv"), kvh * dh);
      std::copy(qi.begin(), qi.end(), &q(i, 0, 0));
      std::copy(ki.begin(), ki.end(), &k(i, 0, 0));
      std::copy(vi.begin(), vi.end(), &v(i, 0, 0));
      if (ar.has(rvne::kBlockRope)) {
        rope_rotate(&q(i, 0, 0), qh, dh, first_position + i, static_cast<double>(ar.rope_base));
        rope_rotate(&k(i, 0, 0), kvh, dh, first_position + i, static_cast<double>(ar.rope_base));
      }
    }
    const rvne::AttentionDesc& at = ar.attention;
    Tensor3<double> a;
    if (at.backend == BackendKind::dense) {
      a = aether_ref::reference_dense<double>(std::as_const(q).view(), std::as_const(k).view(), std::as_const(v).view(), at.causal != 0);
    } else {
      aether::SparseConfig cfg;
      cfg.window = at.window;
      cfg.block_size = at.block_size;
      cfg.causal = at.causal != 0;
      cfg.global_tokens.assign(at.globals, at.globals + at.global_count);
      std::vector<std::uint8_t> keep;
      if (at.gate != GateKind::none) keep = ref_keep(k, w.get(l, "gate"), at.gate_hidden, at.gate_top_k);
      a = aether_ref::reference_sparse<double>(cfg, std::as_const(q).view(), std::as_const(k).view(), std::as_const(v).view(), keep.empty() ? nullptr : keep.data());
    }
    const double* bo = w.get(l, "bo");
    Row bo_flipped;
    if (fault.flip_bias && bo != nullptr) {
      for (std::size_t c = 0; c < d; ++c) bo_flipped.push_back(-bo[c]);
      bo = bo_flipped.data();
    }
    for (std::size_t i = 0; i < n; ++i) {
      const Row ai(&a(i, 0, 0), &a(i, 0, 0) + qh * dh);
      const Row o = matvec(ai, w.get(l, "Wo"), bo, d);
      for (std::size_t c = 0; c < d; ++c) h[i][c] += o[c];
    }
    if (ar.has(rvne::kBlockFfn)) {
      for (std::size_t i = 0; i < n; ++i) {
        Row f = matvec(normed(h[i], w.get(l, "ffn.norm")), w.get(l, "W1"), w.get(l, "b1"), ar.ffn_dim);
        for (double& e : f) e = act(ar.ffn_activation, e);
        const Row o = matvec(f, w.get(l, "W2"), w.get(l, "b2"), d);
        for (std::size_t c = 0; c < d; ++c) h[i][c] += o[c];
      }
    }
  }
  Row pooled(d, 0.0);
  if (pool == Pool::last) {
    pooled = normed(h[n - 1], w.get(-1, "final.norm"));
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      const Row r = normed(h[i], w.get(-1, "final.norm"));
      for (std::size_t c = 0; c < d; ++c) pooled[c] += r[c];
    }
    for (double& e : pooled) e /= static_cast<double>(n);
  }
  return matvec(pooled, w.get(-1, "Wc"), w.get(-1, "bc"), C);
}

/// Largest |got - ref| / max(1, |ref|) over the logits.
template <class V>
double rel_err(const V& got, const std::vector<double>& ref) {
  double worst = 0;
  for (std::size_t c = 0; c < ref.size(); ++c) {
    const double e = std::fabs(static_cast<double>(got[static_cast<Eigen::Index>(c)]) - ref[c]) /
                     std::max(1.0, std::fabs(ref[c]));
    worst = std::max(worst, std::isnan(e) ? std::numeric_limits<double>::infinity() : e);
  }
  return worst;
}

constexpr double kTol = 1e-5;

/// Checks the float and the double model against the reference for one case.
void expect_matches(const Spec& s, std::uint32_t seed, std::size_t n, Pool pool, std::uint64_t first) {
  SCOPED_TRACE(s.name + " n " + std::to_string(n) + " pool " + (pool == Pool::last ? "last" : "mean") +
               " first_position " + std::to_string(first));
  const rvne::Blob blob = random_blob(s, seed);
  const TemporalModel<float> mf(blob);
  const TemporalModel<double> md(blob);
  const auto x = random_frames(n, s.input_dim, seed + 1);
  const std::vector<double> ref = reference_forward(blob, x, pool, first);
  const auto lf = mf.forward(x, pool, nullptr, first);
  const auto ld = md.forward(x.cast<double>(), pool, nullptr, first);
  EXPECT_LE(rel_err(lf, ref), kTol) << "float model";
  EXPECT_LE(rel_err(ld, ref), kTol) << "double model";
}

/// The lengths every model is checked at: 1, below one block, over several blocks.
constexpr std::size_t kLengths[] = {1, 5, 70};

void expect_spec(const Spec& s, std::uint32_t seed) {
  for (std::size_t n : kLengths) {
    for (Pool pool : {Pool::mean, Pool::last}) {
      expect_matches(s, seed, n, pool, 0);
      if ((s.blocks & rvne::kBlockRope) != 0) expect_matches(s, seed, n, pool, kFar);
    }
  }
}

/// One block on at a time over the minimal v2 model (GQA 4/2, 2 layers, sparse).
std::vector<Spec> single_block_specs() {
  return {
      Spec{}.named("all-off (v1-like)"),
      Spec{}.proj().named("input projection"),
      Spec{}.norm().named("norms"),
      Spec{}.conv(3, 2, Activation::relu).named("conv k3 d2 relu"),
      Spec{}.conv(3, 1, Activation::gelu).named("conv k3 d1 gelu"),
      Spec{}.conv(2, 3, Activation::identity).named("conv k2 d3 identity"),
      Spec{}.ffn(16, Activation::relu).named("ffn relu"),
      Spec{}.ffn(16, Activation::gelu).named("ffn gelu"),
      Spec{}.bit(rvne::kBlockQkvBias).named("qkv bias"),
      Spec{}.bit(rvne::kBlockOutBias).named("out bias"),
      Spec{}.rope().named("rope"),
      Spec{}.bit(rvne::kBlockClassifierBias).named("classifier bias"),
  };
}

/// Whole-model combinations.
std::vector<Spec> combination_specs() {
  std::vector<Spec> out;
  for (std::uint16_t kv : {4, 2, 1}) {
    const std::string heads = "4/" + std::to_string(kv);
    out.push_back(full().heads(4, kv).named("full sparse causal " + heads));
    out.push_back(full().heads(4, kv).dense(true).named("full dense causal " + heads));
    out.push_back(full().heads(4, kv).dense(false).named("full dense bidirectional " + heads));
    out.push_back(full().heads(4, kv).narrow().named("full sparse W4 B8 " + heads));
    out.push_back(full().heads(4, kv).narrow().gated(4).with_layers(1).named("full gated W4 B8 1 layer " + heads));
    out.push_back(full().heads(4, kv).narrow().gated(6).named("full gated W4 B8 2 layers " + heads));
    out.push_back(full().heads(4, kv).gated(6).named("full gated W32 B16 2 layers " + heads));
  }
  Spec bidir_sparse = full();
  bidir_sparse.causal = false;
  out.push_back(bidir_sparse.named("full sparse bidirectional"));
  Spec no_proj = full();
  no_proj.blocks &= ~rvne::kBlockInputProjection;
  no_proj.d_model = 0;
  out.push_back(no_proj.named("full without input projection"));
  Spec no_norm = full();
  no_norm.blocks &= ~rvne::kBlockNorm;
  no_norm.norm_eps = 0;
  out.push_back(no_norm.named("full without norms"));
  out.push_back(full().conv(3, 2, Activation::gelu).ffn(16, Activation::relu).named("full conv gelu ffn relu"));
  out.push_back(full().pooled(PoolKind::last).named("full pool last"));
  Spec multi_globals = full();
  multi_globals.globals = {0, 3, 40};
  out.push_back(multi_globals.named("full globals 0 3 40"));
  return out;
}

TEST(V2ModelReference, EachBlockAloneMatchesTheNaiveReference) {
  std::uint32_t seed = 100;
  for (const Spec& s : single_block_specs()) expect_spec(s, seed++);
}

TEST(V2ModelReference, WholeModelCombinationsMatchTheNaiveReference) {
  std::uint32_t seed = 200;
  for (const Spec& s : combination_specs()) expect_spec(s, seed++);
}

// The comparison can fail: a reference with the out bias negated is far
// outside the tolerance for every model with an out bias.
TEST(V2ModelReference, ABrokenReferenceIsDetected) {
  const Spec s = full();
  const rvne::Blob blob = random_blob(s, 7);
  const TemporalModel<float> m(blob);
  const auto x = random_frames(20, s.input_dim, 8);
  const auto got = m.forward(x, Pool::mean, nullptr, 0);
  EXPECT_LE(rel_err(got, reference_forward(blob, x, Pool::mean, 0)), kTol);
  EXPECT_GT(rel_err(got, reference_forward(blob, x, Pool::mean, 0, Fault{true})), 100 * kTol);
}

// ---------------------------------------------------------------------------
// Stream == prefill.

std::vector<Spec> causal_specs() {
  std::vector<Spec> out;
  for (const Spec& s : single_block_specs()) out.push_back(s);
  for (const Spec& s : combination_specs())
    if (s.causal) out.push_back(s);
  return out;
}

/// Pushes x_0..x_{n-1} from `first`; after each push, the stream's logits
/// against forward(x_0..x_t, last, first): memcmp-equal for sparse, within
/// 1e-6 * max(1, |logit|) for dense.
template <class T>
void expect_stream_equals_prefill(const Spec& s, const TemporalModel<T>& m, const TemporalModel<float>::Matrix& xf,
                                  std::uint64_t first) {
  SCOPED_TRACE(s.name + " first_position " + std::to_string(first));
  const auto x = xf.cast<T>().eval();
  auto stream = m.make_stream(x.rows());
  stream.reset(first);
  for (Eigen::Index t = 0; t < x.rows(); ++t) {
    const typename TemporalModel<T>::Vector row = x.row(t).transpose();
    const auto got = stream.push(row);
    const auto want = m.forward(x.topRows(t + 1), Pool::last, nullptr, first);
    if (s.backend == BackendKind::sparse) {
      ASSERT_EQ(0, std::memcmp(got.data(), want.data(), sizeof(T) * static_cast<std::size_t>(got.size())))
          << "frame " << t << ": stream " << got.transpose() << " prefill " << want.transpose();
    } else {
      for (Eigen::Index c = 0; c < got.size(); ++c) {
        ASSERT_LE(std::fabs(static_cast<double>(got[c] - want[c])), 1e-6 * std::max(1.0, std::fabs(double(want[c]))))
            << "frame " << t << " class " << c;
      }
    }
  }
  EXPECT_EQ(stream.position(), first + static_cast<std::uint64_t>(x.rows()));
}

TEST(V2StreamPrefill, EveryCausalCombinationStreamsItsPrefill) {
  std::uint32_t seed = 300;
  for (const Spec& s : causal_specs()) {
    // GATE.md: a gated stream equals the gated prefill bit for bit with one
    // layer; with more, the prefill's top-k over the whole window may drop a
    // token an earlier row of the stream kept (checked: the 1-layer specs).
    if (s.gate != GateKind::none && s.layers > 1) continue;
    const rvne::Blob blob = random_blob(s, seed);
    const TemporalModel<float> mf(blob);
    const TemporalModel<double> md(blob);
    const auto x = random_frames(70, s.input_dim, seed + 1);
    ++seed;
    for (std::uint64_t first : {std::uint64_t{0}, kFar}) {
      expect_stream_equals_prefill(s, mf, x, first);
      expect_stream_equals_prefill(s, md, x, first);
    }
  }
}

TEST(V2StreamPrefill, EvictingStreamsKeepRunningAndCountingPositions) {
  std::uint32_t seed = 400;
  for (const Spec& s : causal_specs()) {
    const rvne::Blob blob = random_blob(s, seed);
    const TemporalModel<float> m(blob);
    const auto x = random_frames(120, s.input_dim, seed + 1);
    ++seed;
    for (aether::Eviction ev : {aether::Eviction::sliding_window, aether::Eviction::heavy_hitter}) {
      SCOPED_TRACE(s.name + (ev == aether::Eviction::sliding_window ? " sliding_window" : " heavy_hitter"));
      // Room beyond what the policy protects (globals up to the last one, and the window).
      const std::size_t capacity = std::size_t{s.globals.back()} + 1 + s.window + 16;
      auto stream = m.make_stream(capacity, ev);
      const std::uint64_t start = 1000;
      stream.reset(start);
      for (Eigen::Index t = 0; t < x.rows(); ++t) {
        const TemporalModel<float>::Vector row = x.row(t).transpose();
        TemporalModel<float>::Vector got;
        ASSERT_NO_THROW(got = stream.push(row)) << "frame " << t;
        ASSERT_TRUE(got.allFinite()) << "frame " << t;
        ASSERT_EQ(stream.position(), start + static_cast<std::uint64_t>(t) + 1);
        ASSERT_EQ(stream.pushed(), static_cast<std::uint64_t>(t) + 1);
      }
      EXPECT_LE(stream.size(), capacity);
      EXPECT_LT(stream.size(), static_cast<std::size_t>(x.rows()));  // something was evicted
    }
  }
}

// A stream started at 2^31 - 100 runs across 2^31 and equals its prefill.
TEST(V2StreamPrefill, StreamFromTwoToThe31MinusHundredEqualsPrefill) {
  const Spec s = full().named("full");
  const rvne::Blob blob = random_blob(s, 500);
  const TemporalModel<float> m(blob);
  const auto x = random_frames(150, s.input_dim, 501);
  expect_stream_equals_prefill(s, m, x, kFar);
  // And both agree with the reference there.
  EXPECT_LE(rel_err(m.forward(x, Pool::last, nullptr, kFar), reference_forward(blob, x, Pool::last, kFar)), kTol);
}

// ---------------------------------------------------------------------------
// RoPE: relative positions for a week (and a wrap).

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t e = 0; e < a.size(); ++e) s += static_cast<double>(a[e]) * static_cast<double>(b[e]);
  return s;
}

std::vector<float> rotated(const aether::block::Rope<float>& rope, std::vector<float> v, std::uint64_t position) {
  std::vector<float> cs(2 * rope.pairs());
  rope.angles(position, cs.data());
  rope.rotate(v.data(), 1, cs.data());
  return v;
}

/// score(R(t) q, R(s) k) against score(R(t - s) q, R(0) k) (wrapping t - s).
void expect_relative(const aether::block::Rope<float>& rope, std::uint64_t t, std::uint64_t s, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> q(32), k(32);
  for (float& e : q) e = u(rng);
  for (float& e : k) e = u(rng);
  const double got = dot(rotated(rope, q, t), rotated(rope, k, s));
  const double want = dot(rotated(rope, q, t - s), rotated(rope, k, 0));
  EXPECT_LE(std::fabs(got - want), 1e-5 * std::max(1.0, std::fabs(want))) << "t " << t << " s " << s;
}

TEST(V2Rope, ScoresDependOnlyOnTheDistanceUpToTwoToThe31) {
  const aether::block::Rope<float> rope(32, 10000.0);
  std::uint32_t seed = 1;
  for (std::uint64_t t : {std::uint64_t{0}, std::uint64_t{1} << 20, std::uint64_t{1} << 24,
                          (std::uint64_t{1} << 31) - 1}) {
    for (std::uint64_t back : {0ull, 1ull, 2ull, 7ull, 31ull, 100ull, 1000ull, 65535ull, 1000000ull}) {
      if (back > t) continue;
      expect_relative(rope, t, t - back, seed++);
    }
    expect_relative(rope, t, 0, seed++);
  }
}

TEST(V2Rope, ScoresDependOnlyOnTheDistanceAcrossTheWrapAtTwoToThe64) {
  const aether::block::Rope<float> rope(32, 10000.0);
  std::uint32_t seed = 50;
  for (std::uint64_t i = 0; i < 10; ++i) {
    const std::uint64_t t = std::uint64_t{0} - 5 + i;  // 2^64 - 5 + i, wrapping past 0 at i = 5
    for (std::uint64_t back : {0ull, 1ull, 3ull, 6ull, 9ull, 1000ull}) expect_relative(rope, t, t - back, seed++);
  }
}

// The RoPE check can fail: scores of a shifted pair are not those of the
// unshifted pair when the two positions move by different amounts.
TEST(V2Rope, ABrokenDistanceIsDetected) {
  const aether::block::Rope<float> rope(32, 10000.0);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> q(32), k(32);
  for (float& e : q) e = u(rng);
  for (float& e : k) e = u(rng);
  const std::uint64_t t = std::uint64_t{1} << 24;
  const double got = dot(rotated(rope, q, t), rotated(rope, k, t - 5));
  const double off_by_one = dot(rotated(rope, q, 6), rotated(rope, k, 0));
  EXPECT_GT(std::fabs(got - off_by_one), 1e-5 * std::max(1.0, std::fabs(off_by_one)));
}

}  // namespace

}  // namespace v2_model_test
