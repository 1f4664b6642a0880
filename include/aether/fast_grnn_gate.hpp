#pragma once
/// \file fast_grnn_gate.hpp
/// `FastGrnnGate<T>`: the FastGRNN salience gate of GATE.md. A small recurrent
/// cell reads one vector per token (a frame, or a token's keys pooled over kv
/// heads) and its hidden state's L2 norm is the token's salience; the keep
/// masks (`keep_top_k`, `keep_quantile`) pick the salient tokens that gated
/// attention (`SparseAttention::forward_gated`) lets through.
///
/// NaN salience (GATE.md, "Where aether defines..."): ranked as -infinity
/// everywhere; `keep_top_k` takes NaN tokens last (ties by lower index),
/// `keep_quantile` sorts them as -infinity and compares them as -infinity.

#include <aether/error.hpp>
#include <aether/tensor.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace aether {

/// How the kept tokens enter gated attention.
enum class GateMode : std::uint8_t {
  prune,    ///< the reference: log-stride tokens outside the window survive only if kept
  salient,  ///< beyond the reference: the kept tokens replace the log-stride tokens
};

/// Options of a gated forward or a gated stream.
struct GateOptions {
  std::size_t top_k = 8;            ///< tokens kept (window and globals count toward it); >= n keeps all
  GateMode mode = GateMode::prune;  ///< prune = reference semantics
};

/// Scratch of the gate cell and of a gated forward, reusable across calls
/// (grows on demand, then never allocates). Owned by the caller, one per thread.
template <class T>
struct GateScratch {
  using Aligned = std::vector<T, Eigen::aligned_allocator<T>>;
  Aligned xh;  ///< `[x (input_dim); h (hidden_dim)]`, the cell's input
  Aligned z;   ///< `[a; b]` (2 hidden_dim), then `[gf; c]`
  Aligned hn;  ///< the new hidden state (hidden_dim)
  std::vector<T> salience;                ///< per token (gated forward)
  std::vector<std::uint8_t> keep;         ///< per token (gated forward)
  std::vector<std::uint32_t> order, kept; ///< top-k ranking scratch; kept positions, ascending

  void reserve_cell(std::size_t input_dim, std::size_t hidden_dim) {
    if (xh.size() < input_dim + hidden_dim) xh.resize(input_dim + hidden_dim);
    if (z.size() < 2 * hidden_dim) z.resize(2 * hidden_dim);
    if (hn.size() < hidden_dim) hn.resize(hidden_dim);
  }
  void reserve_tokens(std::size_t n) {
    if (salience.size() < n) salience.resize(n);
    if (keep.size() < n) keep.resize(n);
    if (order.size() < n) order.resize(n);
    if (kept.capacity() < n) kept.reserve(n);
  }
};

/// The FastGRNN cell (GATE.md; the gate conformance README gives the exact
/// arithmetic): `a = W_g x + U_g h`, `b = W_u x + U_u h`, `g = sigmoid(a +
/// b_g)`, `c = tanh(b + b_u)`, `gf = clamp(zeta g + nu, 0, 1)`, `h = gf h +
/// (1 - gf) c`, salience `= ||h||_2`, `h = 0` at the start of a sequence.
///
/// Storage: `[W_g U_g; W_u U_u]` as one `(2H, I + H)` row-major matrix (one
/// matrix-vector product per token), biases, zeta, nu. Weights are validated
/// finite at construction, so NaN salience only comes from NaN inputs.
/// Thread safety: immutable; every method is const or static and may run
/// concurrently (scratch is the caller's). Cost per token O(H (I + H)).
template <class T>
class FastGrnnGate {
 public:
  using value_type = T;
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

  /// The reference's deterministic initial weights (`FastGrnnGate::new(I, H)`),
  /// bit for bit in float, seed offsets shared as in the reference; biases 0,
  /// zeta 1, nu 0. Throws `Errc::invalid_argument` if a dimension is 0.
  FastGrnnGate(std::size_t input_dim, std::size_t hidden_dim) : FastGrnnGate(input_dim, hidden_dim, 0) {
    const std::size_t I = input_dim, H = hidden_dim;
    const float s = std::sqrt(2.0f / static_cast<float>(I + H));
    auto seed = [s](std::size_t i) {
      const std::uint32_t u = static_cast<std::uint32_t>(i) * 2654435761u + 0x9e3779b9u;
      return static_cast<T>((static_cast<float>(u) / 4294967296.0f - 0.5f) * 2.0f * s * 0.1f);
    };
    for (std::size_t r = 0; r < H; ++r) {
      for (std::size_t c = 0; c < I; ++c) {
        w_(r, c) = seed(r * I + c);                 // w_gate
        w_(H + r, c) = seed(r * I + c + 2000);      // w_update
      }
      for (std::size_t c = 0; c < H; ++c) {
        w_(r, I + c) = seed(r * H + c + 1000);      // u_gate
        w_(H + r, I + c) = seed(r * H + c + 3000);  // u_update
      }
    }
    bias_gate_.setZero();
    bias_update_.setZero();
  }

  /// Caller weights (`W` of shape `(rows, cols)` row-major acts as `y[r] =
  /// sum_c W[r*cols + c] x[c]`): w_gate, w_update `(H, I)`; u_gate, u_update
  /// `(H, H)`; biases `(H)`. Throws `Errc::invalid_argument` naming the field
  /// and both sizes for a wrong length, or the field and index of a NaN/Inf.
  static FastGrnnGate from_weights(std::size_t input_dim, std::size_t hidden_dim, const std::vector<T>& w_gate,
                                   const std::vector<T>& u_gate, const std::vector<T>& w_update,
                                   const std::vector<T>& u_update, const std::vector<T>& bias_gate,
                                   const std::vector<T>& bias_update, T zeta, T nu) {
    FastGrnnGate g(input_dim, hidden_dim, 0);
    const std::size_t I = input_dim, H = hidden_dim;
    check_field("w_gate", w_gate.data(), w_gate.size(), H * I);
    check_field("u_gate", u_gate.data(), u_gate.size(), H * H);
    check_field("w_update", w_update.data(), w_update.size(), H * I);
    check_field("u_update", u_update.data(), u_update.size(), H * H);
    check_field("bias_gate", bias_gate.data(), bias_gate.size(), H);
    check_field("bias_update", bias_update.data(), bias_update.size(), H);
    check_field("zeta", &zeta, 1, 1);
    check_field("nu", &nu, 1, 1);
    g.set(w_gate.data(), u_gate.data(), w_update.data(), u_update.data(), bias_gate.data(), bias_update.data(), zeta,
          nu);
    return g;
  }

  /// Floats in the `NAME.gate.f32` layout (gate conformance README):
  /// `2*H*I + 2*H*H + 2*H + 2`, computed without wrapping: a count that does
  /// not fit in size_t gives size_t's maximum (no gate can have it: see
  /// kMaxPackedSize).
  static std::size_t packed_size(std::size_t input_dim, std::size_t hidden_dim) noexcept {
    constexpr std::size_t kTop = std::numeric_limits<std::size_t>::max();
    auto mul = [](std::size_t a, std::size_t b) { return a != 0 && b > kTop / a ? kTop : a * b; };
    auto add = [](std::size_t a, std::size_t b) { return b > kTop - a ? kTop : a + b; };
    const std::size_t H = hidden_dim, I = input_dim;
    return add(add(mul(2, mul(H, I)), mul(2, mul(H, H))), add(mul(2, H), 2));
  }

  /// Most weights (`packed_size`) a gate may hold: 2^26, the default
  /// ModelLimits bound on a model's own weights. Larger dimensions are
  /// `Errc::limit_exceeded` before anything is allocated.
  static constexpr std::size_t kMaxPackedSize = std::size_t{1} << 26;

  /// `packed_size(input_dim, hidden_dim)`; throws `Errc::limit_exceeded`
  /// naming both when it exceeds kMaxPackedSize.
  static std::size_t checked_packed_size(std::size_t input_dim, std::size_t hidden_dim) {
    const std::size_t n = packed_size(input_dim, hidden_dim);
    if (n > kMaxPackedSize) {
      detail::fail(Errc::limit_exceeded, "FastGrnnGate(input_dim=" + std::to_string(input_dim) + ", hidden_dim=" +
                                             std::to_string(hidden_dim) + "): more than " +
                                             std::to_string(kMaxPackedSize) + " weights (2*H*I + 2*H*H + 2*H + 2)");
    }
    return n;
  }

  /// Weights in the `NAME.gate.f32` layout (w_gate, u_gate, w_update,
  /// u_update, bias_gate, bias_update, zeta, nu), `count` values at `data`.
  /// Throws `Errc::invalid_argument` for a wrong count (naming both) or a
  /// non-finite weight (naming field and index).
  static FastGrnnGate from_packed(std::size_t input_dim, std::size_t hidden_dim, const T* data, std::size_t count) {
    FastGrnnGate g(input_dim, hidden_dim, 0);
    const std::size_t I = input_dim, H = hidden_dim, want = packed_size(I, H);
    if (count != want) {
      detail::fail(Errc::invalid_argument, "FastGrnnGate weights: " + std::to_string(count) +
                                               " values, expected 2*H*I + 2*H*H + 2*H + 2 = " + std::to_string(want) +
                                               " for input_dim " + std::to_string(I) + ", hidden_dim " +
                                               std::to_string(H));
    }
    const T* p[8];
    const char* names[8] = {"w_gate", "u_gate", "w_update", "u_update", "bias_gate", "bias_update", "zeta", "nu"};
    const std::size_t lens[8] = {H * I, H * H, H * I, H * H, H, H, 1, 1};
    for (std::size_t f = 0, at = 0; f < 8; at += lens[f], ++f) {
      p[f] = data + at;
      check_field(names[f], p[f], lens[f], lens[f]);
    }
    g.set(p[0], p[1], p[2], p[3], p[4], p[5], *p[6], *p[7]);
    return g;
  }

  std::size_t input_dim() const noexcept { return input_dim_; }
  std::size_t hidden_dim() const noexcept { return hidden_dim_; }

  /// The weights in the `NAME.gate.f32` layout (`packed_size` values).
  std::vector<T> packed() const {
    const std::size_t I = input_dim_, H = hidden_dim_;
    std::vector<T> out;
    out.reserve(packed_size(I, H));
    auto block = [&](std::size_t r0, std::size_t c0, std::size_t cols) {
      for (std::size_t r = 0; r < H; ++r) {
        for (std::size_t c = 0; c < cols; ++c) out.push_back(w_(r0 + r, c0 + c));
      }
    };
    block(0, 0, I);
    block(0, I, H);
    block(H, 0, I);
    block(H, I, H);
    for (std::size_t r = 0; r < H; ++r) out.push_back(bias_gate_[r]);
    for (std::size_t r = 0; r < H; ++r) out.push_back(bias_update_[r]);
    out.push_back(zeta_);
    out.push_back(nu_);
    return out;
  }

  /// One streaming step: `x` (input_dim values), `h` (hidden_dim values, the
  /// state, updated in place); returns the salience `||h_new||`. No allocation
  /// once `s` has served one call of this gate. Unchecked sizes.
  T step(const T* x, T* h, GateScratch<T>& s) const {
    s.reserve_cell(input_dim_, hidden_dim_);
    std::copy(x, x + input_dim_, s.xh.data());
    std::copy(h, h + hidden_dim_, s.xh.data() + input_dim_);
    const T sal = cell(s);
    std::copy(s.hn.data(), s.hn.data() + hidden_dim_, h);
    return sal;
  }

  /// Salience of a frame sequence `frames` (`(n, input_dim)` row-major), h = 0 at the start.
  std::vector<T> score_sequence(const T* frames, std::size_t n) const {
    GateScratch<T> s;
    std::vector<T> out(n);
    start(s);
    for (std::size_t t = 0; t < n; ++t) {
      std::copy(frames + t * input_dim_, frames + (t + 1) * input_dim_, s.xh.data());
      out[t] = advance(s);
    }
    return out;
  }

  /// Salience of keys `k` `(n, kv_heads, input_dim)`: each token's keys
  /// averaged over kv heads (in head order, each times `1 / kv_heads`), then
  /// scored. Throws `Errc::shape_mismatch` if `k.dim() != input_dim`.
  std::vector<T> score_kv(Tensor3View<const T> k) const {
    GateScratch<T> s;
    std::vector<T> out(k.seq());
    score_kv(k, out.data(), s);
    return out;
  }
  /// `score_kv` into `salience` (k.seq() values); allocation-free once `s` has served this gate.
  void score_kv(Tensor3View<const T> k, T* salience, GateScratch<T>& s) const {
    check_keys("FastGrnnGate::score_kv", k);
    start(s);
    for (std::size_t t = 0; t < k.seq(); ++t) {
      pool_keys(k.row(t, 0), k.heads(), s.xh.data());
      salience[t] = advance(s);
    }
  }

  /// Writes the kv-head mean of one token's keys (`kv_heads * input_dim`
  /// values at `k`) to `x`, as `score_kv` computes it.
  void pool_keys(const T* k, std::size_t kv_heads, T* x) const {
    const auto I = static_cast<Eigen::Index>(input_dim_);
    const T inv = T(1) / static_cast<T>(kv_heads);
    Eigen::Map<Vector> xm(x, I);
    xm = Eigen::Map<const Vector>(k, I) * inv;
    for (std::size_t hh = 1; hh < kv_heads; ++hh) xm += Eigen::Map<const Vector>(k + hh * input_dim_, I) * inv;
  }

  /// Throws `Errc::shape_mismatch` unless `k` is `(n, kv_heads >= 1, input_dim)`.
  void check_keys(const char* op, const Tensor3View<const T>& k) const {
    if (k.dim() != input_dim_ || k.heads() == 0) {
      detail::fail(Errc::shape_mismatch, std::string(op) + ": gate input_dim " + std::to_string(input_dim_) +
                                             " against keys of head_dim " + std::to_string(k.dim()) + " (" +
                                             std::to_string(k.heads()) + " kv heads)");
    }
  }

  /// Rank key of a salience: NaN counts as -infinity (GATE.md).
  static T rank(T s) noexcept { return std::isnan(s) ? -std::numeric_limits<T>::infinity() : s; }
  /// Strict total order "a ranks before b": larger salience first, ties to the lower index.
  static bool ranks_before(const T* s, std::uint32_t a, std::uint32_t b) noexcept {
    const T ra = rank(s[a]), rb = rank(s[b]);
    return ra > rb || (ra == rb && a < b);
  }

  /// Mask of the `k` highest-ranked of `salience` (ties to the lower index,
  /// NaN last); k = 0 keeps none, k >= n keeps all.
  static std::vector<std::uint8_t> keep_top_k(const std::vector<T>& salience, std::size_t k) {
    std::vector<std::uint8_t> keep(salience.size());
    std::vector<std::uint32_t> order(salience.size());
    keep_top_k(salience.data(), salience.size(), k, keep.data(), order.data());
    return keep;
  }
  /// `keep_top_k` into `keep` (n bytes) with `order` (n indices) as scratch.
  /// Average cost O(n) (a selection, not a sort); allocates nothing.
  static void keep_top_k(const T* salience, std::size_t n, std::size_t k, std::uint8_t* keep, std::uint32_t* order) {
    if (k >= n || k == 0) {
      std::fill(keep, keep + n, static_cast<std::uint8_t>(k == 0 ? 0 : 1));
      return;
    }
    std::iota(order, order + n, std::uint32_t{0});
    std::nth_element(order, order + (k - 1), order + n,
                     [salience](std::uint32_t a, std::uint32_t b) { return ranks_before(salience, a, b); });
    std::fill(keep, keep + n, std::uint8_t{0});
    for (std::size_t e = 0; e < k; ++e) keep[order[e]] = 1;
  }

  /// Mask of the tokens at or above the q-quantile (reference rule: q clamped
  /// to [0, 1], NaN q as 0; `idx = min(floor(float(n) * q), n - 1)` with the
  /// product in float; threshold = ascending-sorted salience at idx; keep
  /// every `s >= threshold`, ties included). NaN salience counts as -infinity.
  static std::vector<std::uint8_t> keep_quantile(const std::vector<T>& salience, T q) {
    const std::size_t n = salience.size();
    std::vector<std::uint8_t> keep(n, 0);
    if (n == 0) return keep;
    q = std::isnan(q) ? T(0) : std::min(std::max(q, T(0)), T(1));
    const float prod = static_cast<float>(n) * static_cast<float>(q);
    const std::size_t idx = std::min(static_cast<std::size_t>(std::floor(prod)), n - 1);
    std::vector<T> sorted(n);
    std::transform(salience.begin(), salience.end(), sorted.begin(), [](T s) { return rank(s); });
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(idx), sorted.end());
    const T threshold = sorted[idx];
    for (std::size_t j = 0; j < n; ++j) keep[j] = rank(salience[j]) >= threshold ? 1 : 0;
    return keep;
  }

 private:
  // Sized, uninitialised weights; validates the dimensions.
  FastGrnnGate(std::size_t input_dim, std::size_t hidden_dim, int)
      : input_dim_(input_dim), hidden_dim_(hidden_dim) {
    if (input_dim == 0 || hidden_dim == 0) {
      detail::fail(Errc::invalid_argument, "FastGrnnGate(input_dim=" + std::to_string(input_dim) + ", hidden_dim=" +
                                               std::to_string(hidden_dim) + "): both must be >= 1");
    }
    (void)checked_packed_size(input_dim, hidden_dim);
    const auto H = static_cast<Eigen::Index>(hidden_dim), I = static_cast<Eigen::Index>(input_dim);
    w_.resize(2 * H, I + H);
    bias_gate_.resize(H);
    bias_update_.resize(H);
  }

  static void check_field(const char* name, const T* p, std::size_t got, std::size_t want) {
    if (got != want) {
      detail::fail(Errc::invalid_argument, std::string("FastGrnnGate::from_weights: ") + name + " has " +
                                               std::to_string(got) + " values, expected " + std::to_string(want));
    }
    for (std::size_t e = 0; e < got; ++e) {
      if (!std::isfinite(p[e])) {
        detail::fail(Errc::invalid_argument, std::string("FastGrnnGate weights: ") + name + "[" + std::to_string(e) +
                                                 "] is not finite");
      }
    }
  }

  void set(const T* wg, const T* ug, const T* wu, const T* uu, const T* bg, const T* bu, T zeta, T nu) {
    const std::size_t I = input_dim_, H = hidden_dim_;
    for (std::size_t r = 0; r < H; ++r) {
      for (std::size_t c = 0; c < I; ++c) {
        w_(r, c) = wg[r * I + c];
        w_(H + r, c) = wu[r * I + c];
      }
      for (std::size_t c = 0; c < H; ++c) {
        w_(r, I + c) = ug[r * H + c];
        w_(H + r, I + c) = uu[r * H + c];
      }
      bias_gate_[r] = bg[r];
      bias_update_[r] = bu[r];
    }
    zeta_ = zeta;
    nu_ = nu;
  }

  /// h = 0 in `s.xh`'s state half.
  void start(GateScratch<T>& s) const {
    s.reserve_cell(input_dim_, hidden_dim_);
    std::fill(s.xh.data() + input_dim_, s.xh.data() + input_dim_ + hidden_dim_, T(0));
  }
  /// `cell`, then the new state back into `s.xh` (the prefill's scan).
  T advance(GateScratch<T>& s) const {
    const T sal = cell(s);
    std::copy(s.hn.data(), s.hn.data() + hidden_dim_, s.xh.data() + input_dim_);
    return sal;
  }

  /// The cell on `s.xh = [x; h]` into `s.hn`; returns `||hn||`. Every path
  /// (prefill scan, stream step) runs this one function on the same aligned
  /// scratch buffers, so their results are equal bit for bit.
  T cell(GateScratch<T>& s) const {
    const auto I = static_cast<Eigen::Index>(input_dim_), H = static_cast<Eigen::Index>(hidden_dim_);
    using AMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;  // c starts H values in: not aligned
    Eigen::Map<Vector, Eigen::AlignedMax> z(s.z.data(), 2 * H);
    z.noalias() = w_ * Eigen::Map<const Vector, Eigen::AlignedMax>(s.xh.data(), I + H);
    AMap g(s.z.data(), H), c(s.z.data() + H, H), hn(s.hn.data(), H);
    const Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> h(s.xh.data() + I, H);
    g = T(1) / (T(1) + (-(g + bias_gate_.array())).exp());
    c = (c + bias_update_.array()).tanh();
    g = (zeta_ * g + nu_).max(T(0)).min(T(1));
    hn = g * h + (T(1) - g) * c;
    return std::sqrt(hn.matrix().squaredNorm());
  }

  std::size_t input_dim_, hidden_dim_;
  Matrix w_;  // (2H, I + H): [w_gate u_gate; w_update u_update]
  Vector bias_gate_, bias_update_;
  T zeta_ = T(1), nu_ = T(0);
};

}  // namespace aether
