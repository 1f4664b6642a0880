#pragma once
// Independent test references, written straight from SEMANTICS.md and shared
// by the test binaries:
// - `brute_candidates`: the sparse pattern rules with std::set and plain
//   loops (no merging, no clever bounds), so it can be compared against
//   `SparsePattern::candidates`;
// - `reference_attention` / `reference_sparse` / `reference_dense`: float64
//   attention over any candidate rule (landmark means in float64 too);
// - random inputs, comparison and bit-equality helpers.
// Nothing here calls an aether kernel: only the tensor types are shared.

#include <aether/sparse_pattern.hpp>
#include <aether/tensor.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace aether_ref {

/// T(i) and L(i) of one query, as sets (hence ascending and unique).
struct RefCandidates {
  std::set<std::size_t> tokens;
  std::set<std::size_t> blocks;
};

/// SEMANTICS.md "Sparse pattern" (+ "Gated forward" when `keep` is given),
/// literally: query `i` of a length-`n` sequence.
inline RefCandidates brute_candidates(const aether::SparseConfig& c, std::size_t i, std::size_t n,
                                      const std::uint8_t* keep = nullptr) {
  using ll = long long;
  RefCandidates r;
  const ll I = static_cast<ll>(i), N = static_cast<ll>(n);
  const ll W = static_cast<ll>(std::min<std::size_t>(c.window, n + 1));  // wider than n changes nothing
  const ll B = static_cast<ll>(c.block_size);
  auto in_window = [&](ll j) {
    if (j < 0 || j >= N) return false;
    if (c.causal) return j >= I - W && j <= I;
    return j >= I - W && j <= I + W;
  };
  auto in_globals = [&](ll j) {
    for (std::size_t g : c.global_tokens)
      if (static_cast<ll>(g) == j) return true;
    return false;
  };

  // 1. window
  for (ll j = I - W; j <= I + W; ++j)
    if (in_window(j)) r.tokens.insert(static_cast<std::size_t>(j));
  // 2. globals
  for (std::size_t g : c.global_tokens) {
    if (g < n && (!c.causal || g <= i)) r.tokens.insert(g);
  }
  // 3. log-stride
  if (c.log_stride) {
    for (ll s = 1; s < N; s *= 2) {
      if (I >= s) r.tokens.insert(static_cast<std::size_t>(I - s));
      if (!c.causal && I + s < N) r.tokens.insert(static_cast<std::size_t>(I + s));
    }
  }
  // Gated: keep j only if j == i, in the window, in G, or keep[j].
  if (keep != nullptr) {
    std::set<std::size_t> kept;
    for (std::size_t j : r.tokens) {
      const ll jj = static_cast<ll>(j);
      if (jj == I || in_window(jj) || in_globals(jj) || keep[j] != 0) kept.insert(j);
    }
    r.tokens = kept;
  }

  // Landmark set
  if (c.landmarks) {
    const ll nb = (N + B - 1) / B;
    const ll cur = I / B;
    const ll avail = c.causal ? (I + 1) / B : nb;
    if (avail > 0) {
      const ll p = c.causal ? avail - 1 : std::min(cur, nb - 1);
      for (ll b = std::max<ll>(0, p - 1); b <= std::min(p + 1, avail - 1); ++b) {
        if (c.causal || b != cur) r.blocks.insert(static_cast<std::size_t>(b));
      }
      if (c.log_stride) {
        for (ll s = 1; s < nb; s *= 2) {
          if (p >= s && (c.causal || p - s != cur)) r.blocks.insert(static_cast<std::size_t>(p - s));
          if (!c.causal && p + s < nb && p + s != cur) r.blocks.insert(static_cast<std::size_t>(p + s));
        }
      }
    }
  }
  return r;
}

/// sum_i |T(i)| + |L(i)| by brute force.
inline std::uint64_t brute_count_edges(const aether::SparseConfig& c, std::size_t n) {
  std::uint64_t e = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto r = brute_candidates(c, i, n);
    e += r.tokens.size() + r.blocks.size();
  }
  return e;
}

/// float64 attention: row (i, h) attends over `cand(i)` (tokens, then landmark
/// blocks whose key/value are the float64 means of the block's tokens, blocks
/// of `block_size` tokens, the last one possibly partial; `block_size` is
/// only used when some candidate has blocks). Empty candidate set -> zeros.
template <class T, class CandFn>
aether::Tensor3<double> reference_attention(aether::Tensor3View<const T> q, aether::Tensor3View<const T> k,
                                            aether::Tensor3View<const T> v, CandFn cand, std::size_t block_size) {
  const std::size_t n = q.seq(), qh = q.heads(), kvh = k.heads(), d = q.dim();
  aether::Tensor3<double> out(n, qh, d);
  if (n == 0) return out;
  const std::size_t group = qh / kvh;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  // Landmark means in float64.
  const std::size_t nb = block_size == 0 ? 0 : (k.seq() + block_size - 1) / block_size;
  aether::Tensor3<double> lk(nb, kvh, d), lv(nb, kvh, d);
  for (std::size_t b = 0; b < nb; ++b) {
    const std::size_t lo = b * block_size, hi = std::min(k.seq(), lo + block_size);
    for (std::size_t h = 0; h < kvh; ++h)
      for (std::size_t x = 0; x < d; ++x) {
        double sk = 0, sv = 0;
        for (std::size_t t = lo; t < hi; ++t) {
          sk += static_cast<double>(k(t, h, x));
          sv += static_cast<double>(v(t, h, x));
        }
        lk(b, h, x) = sk / static_cast<double>(hi - lo);
        lv(b, h, x) = sv / static_cast<double>(hi - lo);
      }
  }
  std::vector<double> s;
  for (std::size_t i = 0; i < n; ++i) {
    const RefCandidates c = cand(i);
    for (std::size_t h = 0; h < qh; ++h) {
      const std::size_t kh = h / group;
      s.clear();
      for (std::size_t j : c.tokens) {
        double dot = 0;
        for (std::size_t x = 0; x < d; ++x) dot += static_cast<double>(q(i, h, x)) * static_cast<double>(k(j, kh, x));
        s.push_back(dot * scale);
      }
      for (std::size_t b : c.blocks) {
        double dot = 0;
        for (std::size_t x = 0; x < d; ++x) dot += static_cast<double>(q(i, h, x)) * lk(b, kh, x);
        s.push_back(dot * scale);
      }
      if (s.empty()) continue;  // zero row
      double m = -std::numeric_limits<double>::infinity();
      bool nan = false;
      for (double e : s) {
        nan = nan || std::isnan(e);
        m = std::max(m, e);
      }
      if (nan) {
        for (std::size_t x = 0; x < d; ++x) out(i, h, x) = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      double sum = 0;
      for (double& e : s) {
        e = std::exp(e - m);
        sum += e;
      }
      std::size_t e = 0;
      for (std::size_t j : c.tokens) {
        for (std::size_t x = 0; x < d; ++x) out(i, h, x) += s[e] * static_cast<double>(v(j, kh, x));
        ++e;
      }
      for (std::size_t b : c.blocks) {
        for (std::size_t x = 0; x < d; ++x) out(i, h, x) += s[e] * lv(b, kh, x);
        ++e;
      }
      for (std::size_t x = 0; x < d; ++x) out(i, h, x) /= sum;
    }
  }
  return out;
}

/// float64 evaluation of the sparse pattern `cfg` (optionally gated by `keep`).
template <class T>
aether::Tensor3<double> reference_sparse(const aether::SparseConfig& cfg, aether::Tensor3View<const T> q,
                                         aether::Tensor3View<const T> k, aether::Tensor3View<const T> v,
                                         const std::uint8_t* keep = nullptr) {
  const std::size_t n = q.seq();
  return reference_attention<T>(
      q, k, v, [&](std::size_t i) { return brute_candidates(cfg, i, n, keep); }, cfg.landmarks ? cfg.block_size : 0);
}

/// float64 dense attention (causal: keys j <= i; otherwise all keys).
template <class T>
aether::Tensor3<double> reference_dense(aether::Tensor3View<const T> q, aether::Tensor3View<const T> k,
                                        aether::Tensor3View<const T> v, bool causal) {
  const std::size_t n = k.seq();
  return reference_attention<T>(
      q, k, v,
      [&](std::size_t i) {
        RefCandidates c;
        for (std::size_t j = 0; j < n; ++j)
          if (!causal || j <= i) c.tokens.insert(j);
        return c;
      },
      0);
}

/// Uniform [-scale, scale] values, deterministic for a seed.
template <class T>
aether::Tensor3<T> random_tensor(std::size_t seq, std::size_t heads, std::size_t dim, std::uint32_t seed,
                                 double scale = 1.0) {
  aether::Tensor3<T> t(seq, heads, dim);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (std::size_t e = 0; e < t.size(); ++e) t.data()[e] = static_cast<T>(scale * u(rng));
  return t;
}

/// Element-wise conversion (float -> double is exact).
template <class U, class T>
aether::Tensor3<U> cast_tensor(aether::Tensor3View<const T> t) {
  aether::Tensor3<U> out(t.seq(), t.heads(), t.dim());
  for (std::size_t e = 0; e < t.size(); ++e) out.data()[e] = static_cast<U>(t.data()[e]);
  return out;
}

/// Tensor with K/V heads repeated `group` times: head h of the result is head
/// h / group of `t` (turns a GQA K/V into the equivalent MHA K/V).
template <class T>
aether::Tensor3<T> repeat_heads(aether::Tensor3View<const T> t, std::size_t group) {
  aether::Tensor3<T> out(t.seq(), t.heads() * group, t.dim());
  for (std::size_t s = 0; s < t.seq(); ++s)
    for (std::size_t h = 0; h < out.heads(); ++h)
      for (std::size_t x = 0; x < t.dim(); ++x) out(s, h, x) = t(s, h / group, x);
  return out;
}

/// Largest |got - want| and where it is; NaN on either side counts as infinite.
struct Diff {
  double max = 0;
  std::size_t t = 0, h = 0, d = 0;
  double got = 0, want = 0;
  std::string str() const {
    std::ostringstream os;
    os.precision(9);
    os << "max abs err " << max << " at (t=" << t << ", h=" << h << ", d=" << d << "): got " << got << ", want "
       << want;
    return os.str();
  }
};

template <class A, class B>
Diff max_diff(aether::Tensor3View<const A> got, aether::Tensor3View<const B> want) {
  Diff r;
  if (got.seq() != want.seq() || got.heads() != want.heads() || got.dim() != want.dim()) {
    r.max = std::numeric_limits<double>::infinity();
    return r;
  }
  for (std::size_t t = 0; t < got.seq(); ++t)
    for (std::size_t h = 0; h < got.heads(); ++h)
      for (std::size_t x = 0; x < got.dim(); ++x) {
        const double g = static_cast<double>(got(t, h, x)), w = static_cast<double>(want(t, h, x));
        double e = std::fabs(g - w);
        if (std::isnan(e)) e = std::numeric_limits<double>::infinity();
        if (e > r.max || (r.max == 0 && e == std::numeric_limits<double>::infinity())) {
          r = Diff{e, t, h, x, g, w};
        }
      }
  return r;
}
template <class A, class B>
Diff max_diff(const aether::Tensor3<A>& got, const aether::Tensor3<B>& want) {
  return max_diff<A, B>(got.view(), want.view());
}

/// Empty string when `a` and `b` have the same shape and bytes; otherwise where they first differ.
template <class T>
std::string bit_mismatch(aether::Tensor3View<const T> a, aether::Tensor3View<const T> b) {
  if (a.seq() != b.seq() || a.heads() != b.heads() || a.dim() != b.dim()) return "shapes differ";
  if (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0) return "";
  for (std::size_t t = 0; t < a.seq(); ++t)
    for (std::size_t h = 0; h < a.heads(); ++h)
      for (std::size_t x = 0; x < a.dim(); ++x)
        if (std::memcmp(&a(t, h, x), &b(t, h, x), sizeof(T)) != 0) {
          std::ostringstream os;
          os.precision(10);
          os << "first bit difference at (t=" << t << ", h=" << h << ", d=" << x << "): " << a(t, h, x) << " vs "
             << b(t, h, x);
          return os.str();
        }
  return "";
}

}  // namespace aether_ref
