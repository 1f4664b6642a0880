#pragma once
/// \file temporal_head.hpp
/// The AETHER temporal head: attention over caller-projected Q/K/V with a
/// dense or sparse GQA backend, as a prefill (`forward`) or frame by frame
/// (`step` against a `KvCache`).

#include <aether/dense_attention.hpp>
#include <aether/error.hpp>
#include <aether/fast_grnn_gate.hpp>
#include <aether/gate_state.hpp>
#include <aether/kv_cache.hpp>
#include <aether/sparse_attention.hpp>
#include <aether/tensor.hpp>
#include <aether/workspace.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace aether {

/// Attention backend of a temporal head.
enum class Backend {
  Dense,      ///< exact attention over every (causal) key
  SparseGqa,  ///< `SparseAttention` (window + log-stride + landmarks + globals)
};

/// The FastGRNN salience gate of a sparse head (GATE.md); off unless `mode`
/// is set. The gate scores the head's keys (pooled over kv heads), so its
/// input_dim is the head's `head_dim`.
struct HeadGateConfig {
  std::optional<GateMode> mode;  ///< absent = ungated; `prune` (the reference) or `salient`
  std::size_t top_k = 8;         ///< tokens kept (window and globals count toward it); 0 none, >= n all
  std::size_t hidden_dim = 16;   ///< the cell's hidden size H
  /// Caller weights in the `NAME.gate.f32` layout for `(head_dim, hidden_dim)`
  /// (`FastGrnnGate<float>::packed_size` values); empty = the reference's
  /// deterministic initial weights.
  std::vector<float> weights;

  GateOptions options() const noexcept { return GateOptions{top_k, mode.value_or(GateMode::prune)}; }
};

/// Temporal head options, grouped (the reference's constructor arguments).
struct TemporalHeadConfig {
  Backend backend = Backend::SparseGqa;
  std::size_t q_heads = 4;
  std::size_t kv_heads = 1;
  std::size_t head_dim = 32;
  std::size_t window = 32;
  std::size_t block_size = 16;
  bool causal = true;
  std::vector<std::size_t> global_tokens = {0};
  bool log_stride = true;
  bool landmarks = true;
  HeadGateConfig gate;  ///< off by default

  /// AETHER default: sparse, q 4, kv 1, d 32, W 32, B 16, causal, globals {0}.
  static TemporalHeadConfig aether_default() { return TemporalHeadConfig{}; }

  /// The sparse kernel configuration these options describe.
  SparseConfig sparse_config() const {
    SparseConfig c;
    c.window = window;
    c.block_size = block_size;
    c.global_tokens = global_tokens;
    c.causal = causal;
    c.log_stride = log_stride;
    c.landmarks = landmarks;
    return c;
  }

  /// The first bad field as a static description ("q_heads is 0", ...), or
  /// null when the options are valid. Never throws or allocates: the one
  /// validator behind `check` and `validate`.
  const char* invalid_field() const noexcept {
    if (q_heads == 0) return "q_heads is 0";
    if (kv_heads == 0) return "kv_heads is 0";
    if (head_dim == 0) return "head_dim is 0";
    if (block_size == 0) return "block_size is 0";
    if (q_heads % kv_heads != 0) return "q_heads is not divisible by kv_heads";
    if (gate.mode) {
      if (backend != Backend::SparseGqa) return "gate needs the SparseGqa backend";
      if (gate.hidden_dim == 0) return "gate.hidden_dim is 0";
      if (!gate.weights.empty() && gate.weights.size() != FastGrnnGate<float>::packed_size(head_dim, gate.hidden_dim)) {
        return "gate.weights has the wrong length";
      }
      if (first_non_finite() != gate.weights.size()) return "gate.weights holds a NaN or infinity";
    }
    return nullptr;
  }

  /// `Errc::ok`, or `Errc::invalid_config` for an invalid field (non-throwing `validate`).
  Errc check() const noexcept { return invalid_field() == nullptr ? Errc::ok : Errc::invalid_config; }

  /// Throws `Errc::invalid_config` naming the first bad field.
  void validate() const {
    const char* bad = invalid_field();
    if (bad == nullptr) return;
    const std::string why = bad;  // name the values where the rule involves them
    if (why == "q_heads is not divisible by kv_heads") {
      detail::fail(Errc::invalid_config, "TemporalHeadConfig.q_heads " + std::to_string(q_heads) +
                                             " is not divisible by kv_heads " + std::to_string(kv_heads));
    }
    if (why == "gate.weights has the wrong length") {
      detail::fail(Errc::invalid_config, "TemporalHeadConfig.gate.weights has " + std::to_string(gate.weights.size()) +
                                             " values, expected " +
                                             std::to_string(FastGrnnGate<float>::packed_size(head_dim, gate.hidden_dim)) +
                                             " (2*H*I + 2*H*H + 2*H + 2) for head_dim " + std::to_string(head_dim) +
                                             ", gate.hidden_dim " + std::to_string(gate.hidden_dim));
    }
    if (why == "gate.weights holds a NaN or infinity") {
      detail::fail(Errc::invalid_config,
                   "TemporalHeadConfig.gate.weights[" + std::to_string(first_non_finite()) + "] is not finite");
    }
    detail::fail(Errc::invalid_config, std::string("TemporalHeadConfig.") + bad);
  }

 private:
  std::size_t first_non_finite() const noexcept {
    std::size_t e = 0;
    while (e < gate.weights.size() && std::isfinite(gate.weights[e])) ++e;
    return e;
  }
};

/// A temporal head over caller-projected Q `(n, q_heads, head_dim)` and K, V
/// `(n, kv_heads, head_dim)`.
///
/// With `cfg.gate.mode` set, the head owns a `FastGrnnGate<T>` of
/// `(head_dim, gate.hidden_dim)` and every prefill is the gated forward of
/// GATE.md (`SparseAttention::forward_gated`, top-k over the whole window);
/// a stream then steps with a `GateState` (`make_gate_state`, `step(...,
/// state, ...)`), and row t of the stream equals row t of the gated prefill
/// over tokens 0..t bit for bit while nothing is evicted (causal heads).
/// `forward_gated` runs any caller gate (a model's per-layer gates).
///
/// Thread safety: immutable after construction; `forward` and `step` may run
/// concurrently as long as each `step` has its own cache (and workspace, and
/// gate state).
template <class T>
class TemporalHead {
 public:
  using value_type = T;

  /// Validates `cfg` (throws `Errc::invalid_config`).
  /// Builds the gate (the reference's initial weights, or `cfg.gate.weights`
  /// converted to T) when `cfg.gate.mode` is set.
  explicit TemporalHead(TemporalHeadConfig cfg) : cfg_((cfg.validate(), std::move(cfg))) {
    if (cfg_.backend == Backend::SparseGqa) sparse_.emplace(cfg_.sparse_config());
    if (!cfg_.gate.mode) return;
    if (cfg_.gate.weights.empty()) {
      gate_.emplace(cfg_.head_dim, cfg_.gate.hidden_dim);
    } else {
      const std::vector<T> w(cfg_.gate.weights.begin(), cfg_.gate.weights.end());
      gate_.emplace(FastGrnnGate<T>::from_packed(cfg_.head_dim, cfg_.gate.hidden_dim, w.data(), w.size()));
    }
  }

  const TemporalHeadConfig& config() const noexcept { return cfg_; }
  /// The head's own gate, or null when `config().gate.mode` is unset.
  const FastGrnnGate<T>* gate() const noexcept { return gate_ ? &*gate_ : nullptr; }

  /// Prefill over the whole window (gated when the head has a gate). Throws
  /// `Errc::shape_mismatch` when the shapes do not match the configuration.
  Tensor3<T> forward(Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v) const {
    check_heads("forward", q, k, v);
    if (gate_) return sparse_->forward_gated(q, k, v, *gate_, cfg_.gate.top_k, *cfg_.gate.mode);
    if (sparse_) return sparse_->forward(q, k, v);
    return dense_attention(q, k, v, cfg_.causal);
  }

  /// Prefill into a caller view `out` (shape of q), reusing `ws`: the sparse
  /// backend then allocates nothing once `ws` has served a prefill at least
  /// this long (the dense backend allocates its tile scratch on every call).
  void forward(Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v, Tensor3View<T> out,
               Workspace<T>& ws) const {
    check_heads("forward", q, k, v);
    if (gate_) {
      sparse_->forward_gated(q, k, v, *gate_, cfg_.gate.options(), out, ws);
    } else if (sparse_) {
      sparse_->forward(q, k, v, out, ws);
    } else {
      dense_attention(q, k, v, out, cfg_.causal);
    }
  }

  /// Gated prefill with a caller gate (a model's per-layer gate) into `out`,
  /// reusing `ws` (allocation-free once `ws` has served this length): as
  /// `SparseAttention::forward_gated`. Throws `Errc::invalid_config` for the
  /// dense backend, `Errc::shape_mismatch` for shapes off the configuration
  /// or a gate whose input_dim is not head_dim.
  void forward_gated(Tensor3View<const T> q, Tensor3View<const T> k, Tensor3View<const T> v,
                     const FastGrnnGate<T>& gate, GateOptions opts, Tensor3View<T> out, Workspace<T>& ws) const {
    check_heads("forward_gated", q, k, v);
    sparse_or_fail("forward_gated").forward_gated(q, k, v, gate, opts, out, ws);
  }

  /// The gate state of one stream of this gated head, beside a cache of the
  /// same `capacity` (refers to the head's gate: the head must outlive it).
  /// Throws `Errc::invalid_config` when the head has no gate.
  GateState<T> make_gate_state(std::size_t capacity) const {
    if (!gate_) detail::fail(Errc::invalid_config, "TemporalHead::make_gate_state: the head has no gate (gate.mode unset)");
    return GateState<T>(*gate_, cfg_.gate.options(), capacity);
  }

  /// A cache sized for this head (also for the dense backend, whose decode is
  /// O(T) per step). Full -> `Errc::cache_full` on `step`.
  KvCache<T> make_cache(std::size_t capacity) const {
    return KvCache<T>(capacity, cfg_.kv_heads, cfg_.head_dim, cfg_.block_size);
  }

  /// A cache that evicts when full, so a stream can run forever in bounded
  /// memory. The global tokens' prefix (`max(global_tokens) + 1` slots) is
  /// protected; the heavy-hitter policy also protects the newest `window`
  /// tokens. See `EvictionPolicy` for what positions mean after eviction.
  /// `S` is the cache storage (T, or `Eigen::half` for an fp16 cache); the
  /// memory comes from `arena` when given (node profile).
  template <class S = T>
  KvCache<T, S> make_cache(std::size_t capacity, Eviction kind, Arena* arena = nullptr) const {
    return KvCache<T, S>(capacity, cfg_.kv_heads, cfg_.head_dim, cfg_.block_size, eviction_policy(kind), arena);
  }

  /// The policy `make_cache(capacity, kind)` gives its cache.
  EvictionPolicy eviction_policy(Eviction kind) const noexcept {
    std::size_t prefix = 0;
    for (std::size_t g : cfg_.global_tokens) prefix = std::max(prefix, g + 1);
    return kind == Eviction::heavy_hitter     ? EvictionPolicy::heavy_hitter(cfg_.window, prefix)
           : kind == Eviction::sliding_window ? EvictionPolicy::sliding_window(prefix)
                                              : EvictionPolicy{};
  }

  /// One streaming step: appends `k1`, `v1` to `cache`, then attends the new
  /// token's `q1` (each `(1, heads, head_dim)`) over the cache with the causal
  /// pattern. Throws `Errc::invalid_argument` for multi-token input,
  /// `Errc::shape_mismatch` for shapes off the configuration,
  /// `Errc::cache_full` when the cache is full and has no eviction policy (the
  /// cache is then unchanged). A heavy-hitter cache accumulates the step's
  /// attention weights.
  template <class S>
  Tensor3<T> step(Tensor3View<const T> q1, Tensor3View<const T> k1, Tensor3View<const T> v1,
                  KvCache<T, S>& cache) const {
    Workspace<T> ws;
    Tensor3<T> out(1, cfg_.q_heads, cfg_.head_dim);
    step(q1, k1, v1, cache, out, ws);
    return out;
  }

  /// `step` into a caller view with a reusable workspace (allocation-free in
  /// steady state).
  template <class S>
  void step(Tensor3View<const T> q1, Tensor3View<const T> k1, Tensor3View<const T> v1, KvCache<T, S>& cache,
            Tensor3View<T> out, Workspace<T>& ws) const {
    check_step(q1, k1, v1, cache, out);
    if (gate_) {
      detail::fail(Errc::invalid_config, "TemporalHead::step: a gated head steps with its GateState (make_gate_state)");
    }
    cache.append(k1, v1);
    if (sparse_) {
      sparse_->decode(q1, cache, out, ws);
    } else {
      dense_decode(q1, cache, out, ws);
    }
  }

  /// Gated streaming step: `gate.append(cache, k1, v1)` (scores the token,
  /// appends it, updates the top-k set), then `decode_gated` of `q1` in the
  /// state's mode. `gate` is this head's `make_gate_state`, or any
  /// `GateState` over a gate of input_dim head_dim (a model's layer gate).
  /// Fails as `step` (invalid_config for the dense backend); a refused
  /// append leaves cache and state unchanged. Allocation-free in steady state.
  /// Cost: one cell step O(I H + H^2), the set update, the gated decode.
  template <class S>
  void step(Tensor3View<const T> q1, Tensor3View<const T> k1, Tensor3View<const T> v1, KvCache<T, S>& cache,
            GateState<T>& gate, Tensor3View<T> out, Workspace<T>& ws) const {
    check_step(q1, k1, v1, cache, out);
    const SparseAttention<T>& sparse = sparse_or_fail("step");
    gate.append(cache, k1, v1);
    sparse.decode_gated(q1, cache, gate, out, ws);
  }
  /// Allocating form of the gated `step`.
  template <class S>
  Tensor3<T> step(Tensor3View<const T> q1, Tensor3View<const T> k1, Tensor3View<const T> v1, KvCache<T, S>& cache,
                  GateState<T>& gate) const {
    Workspace<T> ws;
    Tensor3<T> out(1, cfg_.q_heads, cfg_.head_dim);
    step(q1, k1, v1, cache, gate, out, ws);
    return out;
  }

 private:
  template <class S>
  void check_step(const Tensor3View<const T>& q1, const Tensor3View<const T>& k1, const Tensor3View<const T>& v1,
                  const KvCache<T, S>& cache, const Tensor3View<T>& out) const {
    if (q1.seq() != 1 || k1.seq() != 1 || v1.seq() != 1) {
      detail::fail(Errc::invalid_argument, "TemporalHead::step takes one token; got q " + detail::shape_str(q1) +
                                               ", k " + detail::shape_str(k1) + ", v " + detail::shape_str(v1));
    }
    check_heads("step", q1, k1, v1);
    if (cache.kv_heads() != cfg_.kv_heads || cache.dim() != cfg_.head_dim || cache.block_size() != cfg_.block_size) {
      detail::fail(Errc::shape_mismatch, "TemporalHead::step: cache (kv_heads " + std::to_string(cache.kv_heads()) +
                                             ", dim " + std::to_string(cache.dim()) + ", block_size " +
                                             std::to_string(cache.block_size()) + ") does not match the head");
    }
    detail::check_out("TemporalHead::step", q1, out);
  }

  const SparseAttention<T>& sparse_or_fail(const char* op) const {
    if (!sparse_) {
      detail::fail(Errc::invalid_config, std::string("TemporalHead::") + op + ": gating needs the SparseGqa backend");
    }
    return *sparse_;
  }

  void check_heads(const char* op, const Tensor3View<const T>& q, const Tensor3View<const T>& k,
                   const Tensor3View<const T>& v) const {
    if (q.heads() != cfg_.q_heads || k.heads() != cfg_.kv_heads || v.heads() != cfg_.kv_heads ||
        q.dim() != cfg_.head_dim || k.dim() != cfg_.head_dim || v.dim() != cfg_.head_dim) {
      detail::fail(Errc::shape_mismatch, std::string("TemporalHead::") + op + ": q " + detail::shape_str(q) + ", k " +
                                             detail::shape_str(k) + ", v " + detail::shape_str(v) +
                                             " do not match q_heads " + std::to_string(cfg_.q_heads) + ", kv_heads " +
                                             std::to_string(cfg_.kv_heads) + ", head_dim " +
                                             std::to_string(cfg_.head_dim));
    }
  }

  TemporalHeadConfig cfg_;
  std::optional<SparseAttention<T>> sparse_;
  std::optional<FastGrnnGate<T>> gate_;  // cfg_.gate.mode set
};

}  // namespace aether
