#pragma once
/// \file temporal_model.hpp
/// `TemporalModel<T>`: a `.rvne` blob run end to end (MODEL.md). Per layer:
/// Q/K/V projections of the frames, attention (a `TemporalHead`), output
/// projection and residual; then pooling and the classifier. A
/// `TemporalStream` pushes one frame at a time against per-layer KV caches.

#include <aether/arena.hpp>
#include <aether/error.hpp>
#include <aether/fast_grnn_gate.hpp>
#include <aether/gate_state.hpp>
#include <aether/kv_cache.hpp>
#include <aether/rvne/codec.hpp>
#include <aether/rvne/layout.hpp>
#include <aether/temporal_head.hpp>
#include <aether/tensor.hpp>
#include <aether/workspace.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace aether {

/// How frames are pooled before the classifier.
enum class Pool {
  mean,  ///< mean over the frames
  last,  ///< the newest frame (what a stream reports)
};

/// Salience gates of a model (GATE.md; the sidecar's `gate` key, never the
/// blob): one FastGRNN gate per layer scoring that layer's keys (pooled over
/// kv heads), so `input_dim` must be the blob's head_dim.
struct ModelGate {
  GateOptions options;         ///< top_k and mode, shared by every layer
  std::size_t input_dim = 0;   ///< must equal the blob's head_dim
  std::size_t hidden_dim = 16; ///< H
  /// Weights in the `NAME.gate.f32` layout (`FastGrnnGate<float>::packed_size`
  /// values each): one per layer in blob order, or one shared by every layer;
  /// empty = the reference's initial weights for every layer.
  std::vector<std::vector<float>> layers;
};

/// Attention options a blob does not carry (MODEL.md "Inputs"). The default is
/// the AETHER head's: sparse, W 32, B 16, globals {0}, causal, ungated.
struct ModelAttention {
  Backend backend = Backend::SparseGqa;
  std::size_t window = 32;
  std::size_t block_size = 16;
  std::vector<std::size_t> global_tokens = {0};
  bool causal = true;
  std::optional<ModelGate> gate;  ///< per-layer salience gates; absent = ungated
};

/// What a model load may cost, checked from the header before anything is
/// allocated. A blob's header licenses the model's weights (`layout_elements`
/// values, held at most once) and nothing else: per-frame memory is the
/// caller's choice (frames passed to `forward`, a stream's capacity). A blob
/// from an untrusted source can describe up to 2^31 fp16 weights (4 GiB of
/// blob, 8 GiB widened to float): this limit turns such a blob into
/// `Errc::limit_exceeded` instead of an allocation.
struct ModelLimits {
  /// Most weight elements (summed over every matrix) a model may hold.
  /// Default 2^26 = 67,108,864: 256 MiB as float, 6,500 times the AETHER
  /// default model's 10,304.
  std::uint64_t max_weight_elements = std::uint64_t{1} << 26;

  /// Largest blob file (bytes) these limits can let load: every weight fp32,
  /// header and CRC. Readers of files with no size stop there.
  constexpr std::uint64_t max_blob_bytes() const noexcept {
    const std::uint64_t most = (rvne::kMaxBlobSize - rvne::kMinBlobSize) / 4;
    return rvne::kMinBlobSize + 4 * (max_weight_elements < most ? max_weight_elements : most);
  }
};
static_assert(ModelLimits{}.max_blob_bytes() == rvne::kMaxUnsizedBlobSize,
              "rvne::read_file's cap for files with no size is the default limits' largest blob");

template <class T>
class TemporalStream;

namespace detail {
/// True on a little-endian core (the byte order of fp32 .rvne weights).
inline bool little_endian() noexcept {
  const std::uint32_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}
}  // namespace detail

/// Reusable scratch of `TemporalModel::forward`: grown to the longest frame
/// count it has served and never shrunk, so a forward over at most that many
/// frames allocates nothing. Ownership: the caller's; one per thread.
template <class T>
struct ForwardWorkspace {
  using Buffer = std::vector<T, ArenaAllocator<T>>;

  ForwardWorkspace() = default;
  /// Buffers from `arena` (node profile; see Workspace for what stays on the heap).
  explicit ForwardWorkspace(Arena* arena)
      : h(ArenaAllocator<T>(arena)),
        q(ArenaAllocator<T>(arena)),
        k(ArenaAllocator<T>(arena)),
        v(ArenaAllocator<T>(arena)),
        a(ArenaAllocator<T>(arena)),
        row(ArenaAllocator<T>(arena)),
        pooled(ArenaAllocator<T>(arena)),
        attention(arena) {}

  Buffer h;            ///< the residual stream `(N, input_dim)`, row-major; holds the frames on entry
  Buffer q, k, v, a;   ///< per-layer projections and attention output
  Buffer row, pooled;  ///< row-product scratch (widest matrix) and the pooled row
  Workspace<T> attention;  ///< the attention kernel's scratch

  /// Room for `n` frames of `input_dim` in `h`; returns `h.data()`.
  T* frames(std::size_t n, std::size_t input_dim) {
    grow(h, n * input_dim);
    return h.data();
  }
  static void grow(Buffer& b, std::size_t n) {
    if (b.size() < n) b.resize(n);
  }
};

/// A temporal model: the weights of a blob and an attention configuration.
/// Weights are read as row-major matrices wherever they lie: a widened copy
/// the model owns (from a `Blob`, or fp16), caller memory, or the blob's own
/// bytes (a `BlobView` of fp32 weights on a little-endian core, 4-byte
/// aligned: no copy, see `reads_in_place`).
///
/// Shapes: frames `X` are `(N, input_dim)` row-major; logits are `classes`.
/// Per layer l (blob order): `Q = X Wq`, `K = X Wk`, `V = X Wv` (viewed as
/// `(N, heads, head_dim)`), `A = attention(Q, K, V)`, `X += A Wo`.
/// Projections are computed row by row by one function, so a stream (one row
/// at a time) and a prefill see the same bits.
///
/// Thread safety: immutable after construction; `forward` may run
/// concurrently (one `ForwardWorkspace` per thread); each `TemporalStream` is
/// single-threaded. Cost of forward:
/// O(N * layers * input_dim * (q_heads + kv_heads) * head_dim) for the
/// projections plus the attention's.
template <class T = float>
class TemporalModel {
 public:
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  /// A weight matrix, row-major `[rows][cols]`, read where the weights lie.
  using WeightMap = Eigen::Map<const Matrix>;

  /// Rules 7 and 8 (RVNE.md) for `header` with `weights_len` bytes, then the
  /// attention options: `Errc::ok`, or the first failure's code
  /// (invalid_header, layout_mismatch, invalid_config) with its message in
  /// `*why` when given. Never throws or allocates: every constructor's validator.
  static Errc check(const rvne::Header& header, std::uint64_t weights_len, const ModelAttention& attention,
                    rvne::ParseResult* why = nullptr) noexcept {
    return check(header, weights_len, attention, ModelLimits{}, why);
  }
  /// `check` with explicit `limits`: after rules 7 and 8, a model of more than
  /// `limits.max_weight_elements` weights is `Errc::limit_exceeded`.
  static Errc check(const rvne::Header& header, std::uint64_t weights_len, const ModelAttention& attention,
                    const ModelLimits& limits, rvne::ParseResult* why = nullptr) noexcept {
    rvne::ParseResult r;
    if (!rvne::detail::check_layout(header, weights_len, r)) {
      if (why != nullptr) *why = r;
      return r.code;
    }
    const std::uint64_t need = rvne::layout_elements(header);
    if (need > limits.max_weight_elements) {
      if (why != nullptr) {
        rvne::detail::reject(*why, Errc::limit_exceeded,
                             "the blob's model has %llu weights, more than ModelLimits::max_weight_elements %llu",
                             static_cast<unsigned long long>(need),
                             static_cast<unsigned long long>(limits.max_weight_elements));
      }
      return Errc::limit_exceeded;
    }
    if (attention.block_size == 0) {  // TemporalHeadConfig::check, without building its global-token vector
      if (why != nullptr) rvne::detail::reject(*why, Errc::invalid_config, "TemporalHeadConfig.block_size is 0");
      return Errc::invalid_config;
    }
    if (attention.gate) return check_gate(*attention.gate, header, attention.backend, why);
    return Errc::ok;
  }

  /// The gate rules of `check`: sparse backend, input_dim == head_dim
  /// (`Errc::shape_mismatch`), hidden_dim >= 1, 0, 1 or `layers` weight sets
  /// of `packed_size` finite values each (`Errc::invalid_config`).
  static Errc check_gate(const ModelGate& g, const rvne::Header& header, Backend backend,
                         rvne::ParseResult* why = nullptr) noexcept {
    rvne::ParseResult scratch;
    rvne::ParseResult& r = why != nullptr ? *why : scratch;
    if (backend != Backend::SparseGqa) {
      rvne::detail::reject(r, Errc::invalid_config, "ModelGate: gating needs the sparse backend");
      return Errc::invalid_config;
    }
    if (g.input_dim != header.head_dim) {
      rvne::detail::reject(r, Errc::shape_mismatch, "ModelGate.input_dim %zu against the blob's head_dim %u",
                           g.input_dim, static_cast<unsigned>(header.head_dim));
      return Errc::shape_mismatch;
    }
    if (g.hidden_dim == 0) {
      rvne::detail::reject(r, Errc::invalid_config, "ModelGate.hidden_dim is 0");
      return Errc::invalid_config;
    }
    if (g.layers.size() > 1 && g.layers.size() != header.layers) {
      rvne::detail::reject(r, Errc::invalid_config, "ModelGate.layers holds %zu weight sets for a blob of %u layers",
                           g.layers.size(), static_cast<unsigned>(header.layers));
      return Errc::invalid_config;
    }
    const std::size_t want = FastGrnnGate<float>::packed_size(g.input_dim, g.hidden_dim);
    for (std::size_t l = 0; l < g.layers.size(); ++l) {
      if (g.layers[l].size() != want) {
        rvne::detail::reject(r, Errc::invalid_config,
                             "ModelGate.layers[%zu] has %zu values, expected %zu for input_dim %zu, hidden_dim %zu", l,
                             g.layers[l].size(), want, g.input_dim, g.hidden_dim);
        return Errc::invalid_config;
      }
      for (std::size_t e = 0; e < want; ++e) {
        if (!std::isfinite(g.layers[l][e])) {
          rvne::detail::reject(r, Errc::invalid_config, "ModelGate.layers[%zu][%zu] is not finite", l, e);
          return Errc::invalid_config;
        }
      }
    }
    return Errc::ok;
  }

  /// True when a model over `view` reads its weights in place: T is float,
  /// the weights are fp32, this core is little-endian and the weights start
  /// 4-byte aligned. Otherwise they are widened (copied) once at construction.
  static bool reads_in_place(const rvne::BlobView& view) noexcept {
    return std::is_same_v<T, float> && view.header.dtype == rvne::Dtype::f32 && detail::little_endian() &&
           reinterpret_cast<std::uintptr_t>(view.weights) % alignof(float) == 0;
  }

  /// Throws `Errc::invalid_header` / `Errc::layout_mismatch` (RVNE.md rules 7
  /// and 8) for a blob that is not a model, `Errc::limit_exceeded` for one
  /// beyond `limits` (before allocating), `Errc::invalid_config` for bad
  /// attention options. Copies the weights, widened to T (fp16 exactly).
  explicit TemporalModel(const rvne::Blob& blob, ModelAttention attention = {}, ModelLimits limits = {})
      : TemporalModel(view_of(blob), attention, nullptr, /*copy=*/true, limits) {}

  /// A model over a validated view (`rvne::parse_view` / `try_parse`), whose
  /// bytes must outlive the model. Weights are read in place when
  /// `reads_in_place(view)`; otherwise they are widened once into `widened`
  /// (caller memory of `rvne::layout_elements(view.header)` values, which
  /// must outlive the model) or, when that is null, into memory the model
  /// allocates here. Errors as the Blob constructor (see `check`).
  explicit TemporalModel(const rvne::BlobView& view, ModelAttention attention = {}, T* widened = nullptr,
                         ModelLimits limits = {})
      : TemporalModel(view, attention, widened, /*copy=*/false, limits) {}

  /// A model over `count` weights already in memory, in the blob's layout
  /// order (RVNE.md), e.g. double weights for training's gradient checks;
  /// copied. Throws as the blob constructor does (`count` must equal the
  /// layout size of `header`).
  TemporalModel(const rvne::Header& header, const T* weights, std::size_t count, ModelAttention attention = {})
      : header_(checked(header, std::uint64_t{count} * rvne::element_size(header.dtype), attention)),
        head_(head_config(header, attention)),
        owned_(weights, weights + count),
        weights_(owned_.data()) {
    bind();
    make_gates(attention);
  }

  TemporalModel(const TemporalModel& o)
      : header_(o.header_),
        head_(o.head_),
        owned_(o.owned_),
        weights_(o.owns() ? owned_.data() : o.weights_),
        gates_(o.gates_),
        gate_options_(o.gate_options_) {
    bind();
  }
  TemporalModel(TemporalModel&& o) noexcept
      : header_(o.header_),
        head_(std::move(o.head_)),
        weights_(o.weights_),
        gates_(std::move(o.gates_)),
        gate_options_(o.gate_options_) {
    const bool owned = o.owns();
    owned_.swap(o.owned_);
    if (owned) weights_ = owned_.data();
    bind();
  }
  TemporalModel& operator=(const TemporalModel& o) {
    if (this != &o) *this = TemporalModel(o);
    return *this;
  }
  TemporalModel& operator=(TemporalModel&& o) noexcept {
    header_ = o.header_;
    head_ = std::move(o.head_);
    gates_ = std::move(o.gates_);
    gate_options_ = o.gate_options_;
    const bool owned = o.owns();
    owned_.swap(o.owned_);
    weights_ = owned ? owned_.data() : o.weights_;
    bind();
    return *this;
  }

  const rvne::Header& header() const noexcept { return header_; }
  const TemporalHead<T>& head() const noexcept { return head_; }
  std::size_t input_dim() const noexcept { return header_.input_dim; }
  std::size_t classes() const noexcept { return header_.classes; }
  std::size_t layers() const noexcept { return header_.layers; }
  /// First weight element (layout order), wherever it lies.
  const T* weights() const noexcept { return weights_; }
  /// Whether the model was built with a `ModelAttention::gate`.
  bool gated() const noexcept { return !gates_.empty(); }
  /// Layer `l`'s gate (gated(), l < layers(); unchecked) and the options of every layer.
  const FastGrnnGate<T>& gate(std::size_t l) const noexcept { return gates_[l]; }
  const GateOptions& gate_options() const noexcept { return gate_options_; }

  /// The weights of one layer (`x W` convention, row-major `[in][out]`),
  /// views into the model's weights.
  struct Layer {
    WeightMap wq, wk, wv, wo;
  };
  /// Activations of one `forward`, kept for training's backward pass
  /// (train/model_backward.hpp): per layer l its input stream `inputs[l]`
  /// `(N, input_dim)`, its `q`, `k`, `v` and attention output `a`; then the
  /// pooled vector. Memory per layer N * (input_dim + 2 * (q_heads +
  /// kv_heads) * head_dim) values.
  struct Trace {
    std::vector<Matrix> inputs;
    std::vector<Tensor3<T>> q, k, v, a;
    Vector pooled;
  };

  /// Layer `l`'s weights (l < layers(), unchecked) and the classifier `Wc`
  /// `(input_dim, classes)`.
  const Layer& layer(std::size_t l) const noexcept { return layers_[l]; }
  WeightMap classifier() const noexcept { return wc(); }

  /// Logits of frames `x` (`(N, input_dim)`, N >= 1). Throws
  /// `Errc::shape_mismatch` for a wrong width or N = 0. With `trace`, also
  /// records the activations (same arithmetic, same bits: training runs the
  /// forward of inference).
  Vector forward(const Eigen::Ref<const Matrix>& x, Pool pool = Pool::mean, Trace* trace = nullptr) const {
    check_frames("TemporalModel::forward", x.rows(), x.cols());
    ForwardWorkspace<T> fw;
    const auto n = static_cast<std::size_t>(x.rows());
    Eigen::Map<Matrix>(fw.frames(n, input_dim()), x.rows(), x.cols()) = x;
    Vector logits(static_cast<Eigen::Index>(classes()));
    forward_frames(n, pool, fw, logits.data(), trace);
    return logits;
  }

  /// `forward` of the `n` frames already in `fw.h` (put there through
  /// `fw.frames(n, input_dim())`), writing `classes()` logits. Overwrites
  /// `fw.h`. Allocates nothing once `fw` has served a forward of at least n
  /// frames (sparse backend). Precondition (unchecked): 1 <= n. With
  /// `trace`, also records the activations as `forward` says (allocating).
  void forward_frames(std::size_t n, Pool pool, ForwardWorkspace<T>& fw, T* logits, Trace* trace = nullptr) const {
    const std::size_t D = input_dim(), qw = q_width(), kvw = kv_width();
    using Grow = ForwardWorkspace<T>;
    Grow::grow(fw.q, n * qw);
    Grow::grow(fw.k, n * kvw);
    Grow::grow(fw.v, n * kvw);
    Grow::grow(fw.a, n * qw);
    Grow::grow(fw.row, scratch_size());
    Grow::grow(fw.pooled, D);
    T* h = fw.h.data();
    const Tensor3View<T> q(fw.q.data(), n, header_.q_heads, header_.head_dim),
        k(fw.k.data(), n, header_.kv_heads, header_.head_dim), v(fw.v.data(), n, header_.kv_heads, header_.head_dim),
        a(fw.a.data(), n, header_.q_heads, header_.head_dim);
    const Eigen::Map<const Matrix> hm(h, static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(D));
    if (trace != nullptr) {
      if (gated()) {
        detail::fail(Errc::invalid_argument, "TemporalModel::forward: no trace (training) through a gated model");
      }
      *trace = Trace{};
    }
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      for (std::size_t i = 0; i < n; ++i) {
        project_qkv(h + i * D, layers_[l], fw.row.data(), q.data() + i * qw, k.data() + i * kvw, v.data() + i * kvw);
      }
      if (gated()) {
        head_.forward_gated(q, k, v, gates_[l], gate_options_, a, fw.attention);
      } else {
        head_.forward(q, k, v, a, fw.attention);
      }
      if (trace != nullptr) {
        trace->inputs.emplace_back(hm);
        trace->q.emplace_back(Tensor3View<const T>(q));
        trace->k.emplace_back(Tensor3View<const T>(k));
        trace->v.emplace_back(Tensor3View<const T>(v));
        trace->a.emplace_back(Tensor3View<const T>(a));
      }
      for (std::size_t i = 0; i < n; ++i) residual(a.data() + i * qw, layers_[l].wo, fw.row.data(), h + i * D);
    }
    Eigen::Map<Vector> pooled(fw.pooled.data(), static_cast<Eigen::Index>(D));
    if (pool == Pool::last) {
      pooled = hm.row(hm.rows() - 1).transpose();
    } else {
      pooled = hm.colwise().mean().transpose();
    }
    if (trace != nullptr) trace->pooled = pooled;
    project(pooled.data(), wc(), fw.row.data(), logits);
  }

  /// One frame through every layer against `caches` (one per layer, `layers()`
  /// of them): projections, a `TemporalHead::step`, residual; then the
  /// classifier on the new frame (pool = last). The one implementation of a
  /// stream push (`TemporalStream`, the node). `x`: the frame's `input_dim`
  /// values, overwritten by the residual stream; `q`, `k`, `v`, `a`: `(1,
  /// heads, head_dim)` scratch views; `scratch`: `scratch_size()` aligned
  /// values; writes `classes()` logits. Fails as `TemporalHead::step` (a full
  /// cache without a policy refuses before any cache changes). Allocation-free
  /// once `ws` has served one step of caches of this capacity. A gated model
  /// needs `gates` (one `GateState` per layer over `gate(l)`, beside
  /// `caches[l]`; the gated `TemporalHead::step`); null for a gated model is
  /// `Errc::invalid_argument`, and an ungated model ignores them.
  template <class S>
  void step_frame(T* x, KvCache<T, S>* caches, Tensor3View<T> q, Tensor3View<T> k, Tensor3View<T> v,
                  Tensor3View<T> a, T* scratch, Workspace<T>& ws, T* logits, GateState<T>* gates = nullptr) const {
    if (gated() && gates == nullptr) {
      detail::fail(Errc::invalid_argument, "TemporalModel::step_frame: a gated model needs one GateState per layer");
    }
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      project_qkv(x, layers_[l], scratch, q.data(), k.data(), v.data());
      if (gated()) {
        head_.step(q, k, v, caches[l], gates[l], a, ws);
      } else {
        head_.step(q, k, v, caches[l], a, ws);
      }
      residual(a.data(), layers_[l].wo, scratch, x);
    }
    project(x, wc(), scratch, logits);
  }

  /// Values of the row-product scratch `step_frame` and `forward_frames`
  /// need: as wide as the widest weight matrix.
  std::size_t scratch_size() const noexcept { return std::max({input_dim(), q_width(), kv_width(), classes()}); }

  /// Softmax of `logits` (max-subtracted).
  static Vector probabilities(const Vector& logits) {
    const Vector e = (logits.array() - logits.maxCoeff()).exp().matrix();
    return e / e.sum();
  }

  /// A stream of frames against this model (which must outlive it), holding
  /// at most `capacity` frames per layer cache; full -> `Errc::cache_full`, or
  /// eviction per `eviction` (see `TemporalHead::make_cache`).
  TemporalStream<T> make_stream(std::size_t capacity, Eviction eviction = Eviction::none) const {
    return TemporalStream<T>(*this, capacity, eviction);
  }

 private:
  friend class TemporalStream<T>;

  static rvne::BlobView view_of(const rvne::Blob& blob) noexcept {
    rvne::BlobView v;
    v.header = blob.header;
    v.weights = blob.weights.data();
    v.weights_len = blob.weights.size();
    return v;
  }

  TemporalModel(const rvne::BlobView& view, const ModelAttention& attention, T* widened, bool copy,
                const ModelLimits& limits)
      : header_(checked(view, attention, limits)), head_(head_config(view.header, attention)) {
    if (!copy && reads_in_place(view)) {
      weights_ = reinterpret_cast<const T*>(view.weights);  // fp32 little-endian, aligned: the bytes are the floats
    } else {
      const std::size_t n = static_cast<std::size_t>(rvne::layout_elements(header_));
      T* dst = widened;
      if (dst == nullptr) {
        owned_.resize(n);
        dst = owned_.data();
      }
      for (std::size_t e = 0; e < n; ++e) dst[e] = static_cast<T>(view.weight(e));
      weights_ = dst;
    }
    bind();
    make_gates(attention);
  }

  /// The per-layer gates of `attention.gate` (already validated by `check`).
  void make_gates(const ModelAttention& attention) {
    if (!attention.gate) return;
    const ModelGate& g = *attention.gate;
    gate_options_ = g.options;
    gates_.reserve(header_.layers);
    for (std::size_t l = 0; l < header_.layers; ++l) {
      if (g.layers.empty()) {
        gates_.emplace_back(g.input_dim, g.hidden_dim);
      } else {
        const std::vector<float>& f = g.layers[g.layers.size() == 1 ? 0 : l];
        const std::vector<T> w(f.begin(), f.end());
        gates_.push_back(FastGrnnGate<T>::from_packed(g.input_dim, g.hidden_dim, w.data(), w.size()));
      }
    }
  }

  static const rvne::Header& checked(const rvne::BlobView& view, const ModelAttention& attention,
                                     const ModelLimits& limits) {
    return checked(view.header, view.weights_len, attention, limits);
  }
  static const rvne::Header& checked(const rvne::Header& header, std::uint64_t weights_len,
                                     const ModelAttention& attention, const ModelLimits& limits = {}) {
    rvne::ParseResult r;
    if (check(header, weights_len, attention, limits, &r) != Errc::ok) rvne::detail::throw_result(r);
    return header;
  }

  bool owns() const noexcept { return !owned_.empty() && weights_ == owned_.data(); }

  /// (Re)creates the matrix views over `weights_`, in layout order.
  void bind() {
    const std::size_t D = input_dim(), q = q_width(), kv = kv_width();
    const T* at = weights_;
    auto take = [&](std::size_t rows, std::size_t cols) {
      WeightMap m(at, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
      at += rows * cols;
      return m;
    };
    layers_.clear();
    layers_.reserve(header_.layers);
    for (std::size_t l = 0; l < header_.layers; ++l) {
      const WeightMap wq = take(D, q), wk = take(D, kv), wv = take(D, kv), wo = take(q, D);
      layers_.push_back(Layer{wq, wk, wv, wo});
    }
    wc_offset_ = static_cast<std::size_t>(at - weights_);
  }
  WeightMap wc() const noexcept {
    return WeightMap(weights_ + wc_offset_, static_cast<Eigen::Index>(input_dim()),
                     static_cast<Eigen::Index>(classes()));
  }

  static TemporalHeadConfig head_config(const rvne::Header& h, const ModelAttention& a) {
    TemporalHeadConfig c;
    c.backend = a.backend;
    c.q_heads = h.q_heads;
    c.kv_heads = h.kv_heads;
    c.head_dim = h.head_dim;
    c.window = a.window;
    c.block_size = a.block_size;
    c.causal = a.causal;
    c.global_tokens = a.global_tokens;
    return c;
  }

  std::size_t q_width() const noexcept { return std::size_t{header_.q_heads} * header_.head_dim; }
  std::size_t kv_width() const noexcept { return std::size_t{header_.kv_heads} * header_.head_dim; }

  void check_frames(const char* op, Eigen::Index rows, Eigen::Index cols) const {
    if (rows < 1 || static_cast<std::size_t>(cols) != input_dim()) {
      detail::fail(Errc::shape_mismatch, std::string(op) + ": frames (" + std::to_string(rows) + ", " +
                                             std::to_string(cols) + "), expected (N >= 1, " +
                                             std::to_string(input_dim()) + ")");
    }
  }

  Vector make_scratch() const { return Vector(static_cast<Eigen::Index>(scratch_size())); }

  /// `x W` for one row (`x`: W.rows() values) into the front of `scratch`
  /// (aligned, at least W.cols() long), as one Eigen matrix-vector product:
  /// the one definition of a row product, used by prefill and streams alike
  /// (same matrix, same sizes, same aligned destination: same bits).
  static Eigen::Map<Vector, Eigen::AlignedMax> product(const T* x, const WeightMap& w, T* scratch) {
    Eigen::Map<Vector, Eigen::AlignedMax> s(scratch, w.cols());
    s.noalias() = w.transpose() * Eigen::Map<const Vector>(x, w.rows());
    return s;
  }
  /// `out = x W` for one row.
  static void project(const T* x, const WeightMap& w, T* scratch, T* out) {
    Eigen::Map<Vector>(out, w.cols()) = product(x, w, scratch);
  }
  /// A layer's `q = x Wq`, `k = x Wk`, `v = x Wv` for one row.
  static void project_qkv(const T* x, const Layer& layer, T* scratch, T* q, T* k, T* v) {
    project(x, layer.wq, scratch, q);
    project(x, layer.wk, scratch, k);
    project(x, layer.wv, scratch, v);
  }
  /// `h += a Wo` for one row (the residual update).
  static void residual(const T* a, const WeightMap& wo, T* scratch, T* h) {
    Eigen::Map<Vector>(h, wo.cols()) += product(a, wo, scratch);
  }

  rvne::Header header_;
  TemporalHead<T> head_;
  std::vector<T, Eigen::aligned_allocator<T>> owned_;  // widened weights, when the model owns them
  const T* weights_ = nullptr;                          // owned_, caller memory or the blob's bytes
  std::vector<Layer> layers_;                           // views into weights_
  std::size_t wc_offset_ = 0;                           // first element of Wc
  std::vector<FastGrnnGate<T>> gates_;                  // one per layer when gated
  GateOptions gate_options_;
};

/// Frame-by-frame inference of one track: one KV cache per layer.
///
/// `push` runs every layer for the new frame (projections, a `TemporalHead`
/// step, residual) and returns the logits with pool = last. For a causal
/// sparse model they equal, bit for bit, `forward` over all frames pushed so
/// far with `Pool::last` (dense: within 1e-6), as long as nothing was evicted.
///
/// A gated model's stream holds one `GateState` per layer beside its cache:
/// each push scores the layer's new keys and decodes with the running top-k
/// set of the tokens held. The gated prefill's mask is the top-k over the
/// whole window, so every earlier row of a prefill over 0..t may see a set
/// that later tokens changed, while the stream's row j saw the top-k over
/// 0..j. Hence, without eviction: a one-layer gated stream equals the gated
/// `forward` with `Pool::last` bit for bit; with more layers it does when
/// no token ever leaves a set (top_k 0, or top_k >= the frames pushed), and
/// otherwise it is the causal form (docs/gate.md). With eviction see GATE.md.
///
/// Ownership: refers to its model (which must outlive it); owns its caches
/// and scratch (memory O(layers * capacity * kv_heads * head_dim), allocated
/// at construction; a push allocates nothing). Not thread-safe; distinct
/// streams may be pushed concurrently.
template <class T = float>
class TemporalStream {
 public:
  using Vector = typename TemporalModel<T>::Vector;

  TemporalStream(const TemporalModel<T>& model, std::size_t capacity, Eviction eviction = Eviction::none)
      : model_(&model),
        x_(static_cast<Eigen::Index>(model.input_dim())),
        q_(1, model.header().q_heads, model.header().head_dim),
        k_(1, model.header().kv_heads, model.header().head_dim),
        v_(1, model.header().kv_heads, model.header().head_dim),
        a_(1, model.header().q_heads, model.header().head_dim),
        logits_(static_cast<Eigen::Index>(model.classes())) {
    caches_.reserve(model.layers());
    for (std::size_t l = 0; l < model.layers(); ++l) caches_.push_back(model.head().make_cache(capacity, eviction));
    if (model.gated()) {
      gates_.reserve(model.layers());
      for (std::size_t l = 0; l < model.layers(); ++l) gates_.emplace_back(model.gate(l), model.gate_options(), capacity);
    }
    scratch_ = model.make_scratch();
  }

  /// Frames currently held (equal in every layer).
  std::size_t size() const noexcept { return caches_.front().size(); }
  std::size_t capacity() const noexcept { return caches_.front().capacity(); }
  /// Whether `push` takes a frame now: false only when the stream is full
  /// and has no eviction policy (`push` would throw `Errc::cache_full`).
  bool accepts_frame() const noexcept { return caches_.front().accepts(); }  // every layer holds the same frames
  /// Frames pushed since construction or `reset` (evicted ones included).
  std::uint64_t pushed() const noexcept { return caches_.front().appended(); }
  /// Forgets every frame; keeps the memory.
  void reset() noexcept {
    for (auto& c : caches_) c.clear();
    for (auto& g : gates_) g.clear();
  }
  /// Layer `l`'s gate state (gated models; l < layers, unchecked): saliences and the kept set.
  const GateState<T>& gate_state(std::size_t l) const noexcept { return gates_[l]; }

  /// Pushes one frame (`input_dim` values at `frame`); returns the logits
  /// (valid until the next push). Throws `Errc::cache_full` when full without
  /// an eviction policy; the stream is then unchanged (every layer's cache
  /// holds the same frames, so the first layer's append refuses before any
  /// cache changes).
  const Vector& push(const T* frame) {
    x_ = Eigen::Map<const Vector>(frame, static_cast<Eigen::Index>(model_->input_dim()));
    model_->step_frame(x_.data(), caches_.data(), q_, k_, v_, a_, scratch_.data(), ws_, logits_.data(),
                       gates_.empty() ? nullptr : gates_.data());
    return logits_;
  }
  /// `push` of an Eigen vector; throws `Errc::shape_mismatch` for a wrong size.
  const Vector& push(const Eigen::Ref<const Vector>& frame) {
    if (static_cast<std::size_t>(frame.size()) != model_->input_dim()) {
      detail::fail(Errc::shape_mismatch, "TemporalStream::push: frame of " + std::to_string(frame.size()) +
                                             " values, expected input_dim " + std::to_string(model_->input_dim()));
    }
    return push(frame.data());
  }

 private:
  const TemporalModel<T>* model_;
  std::vector<KvCache<T>> caches_;
  std::vector<GateState<T>> gates_;  // one per layer (gated models)
  Workspace<T> ws_;
  Vector x_, scratch_;
  Tensor3<T> q_, k_, v_, a_;
  Vector logits_;
};

}  // namespace aether
