#pragma once
/// \file temporal_model.hpp
/// `TemporalModel<T>`: a `.rvne` blob run end to end (MODEL.md). Per layer:
/// Q/K/V projections of the frames, attention (a `TemporalHead`), output
/// projection and residual; then pooling and the classifier. A
/// `TemporalStream` pushes one frame at a time against per-layer KV caches.

#include <aether/error.hpp>
#include <aether/kv_cache.hpp>
#include <aether/rvne.hpp>
#include <aether/temporal_head.hpp>
#include <aether/tensor.hpp>
#include <aether/workspace.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace aether {

/// How frames are pooled before the classifier.
enum class Pool {
  mean,  ///< mean over the frames
  last,  ///< the newest frame (what a stream reports)
};

/// Attention options a blob does not carry (MODEL.md "Inputs"). The default is
/// the AETHER head's: sparse, W 32, B 16, globals {0}, causal.
struct ModelAttention {
  Backend backend = Backend::SparseGqa;
  std::size_t window = 32;
  std::size_t block_size = 16;
  std::vector<std::size_t> global_tokens = {0};
  bool causal = true;
};

template <class T>
class TemporalStream;

/// A temporal model: the weights of a blob (fp32, or fp16 widened to T at
/// load) and an attention configuration.
///
/// Shapes: frames `X` are `(N, input_dim)` row-major; logits are `classes`.
/// Per layer l (blob order): `Q = X Wq`, `K = X Wk`, `V = X Wv` (viewed as
/// `(N, heads, head_dim)`), `A = attention(Q, K, V)`, `X += A Wo`.
/// Projections are computed row by row by one function, so a stream (one row
/// at a time) and a prefill see the same bits.
///
/// Thread safety: immutable after construction; `forward` may run
/// concurrently; each `TemporalStream` is single-threaded. Cost of forward:
/// O(N * layers * input_dim * (q_heads + kv_heads) * head_dim) for the
/// projections plus the attention's.
template <class T = float>
class TemporalModel {
 public:
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

  /// Throws `Errc::invalid_header` / `Errc::layout_mismatch` (RVNE.md rules 7
  /// and 8) for a blob that is not a model, `Errc::invalid_config` for bad
  /// attention options.
  explicit TemporalModel(const rvne::Blob& blob, ModelAttention attention = {})
      : header_((rvne::check_layout(blob.header, blob.weights.size()), blob.header)),
        head_(head_config(blob.header, attention)) {
    const std::vector<float> w = blob.to_floats();
    std::size_t at = 0;
    auto take = [&](std::size_t rows, std::size_t cols) {
      Matrix m(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
      for (std::size_t e = 0; e < rows * cols; ++e) m.data()[e] = static_cast<T>(w[at + e]);
      at += rows * cols;
      return m;
    };
    const std::size_t D = input_dim(), q = q_width(), kv = kv_width();
    layers_.reserve(header_.layers);
    for (std::size_t l = 0; l < header_.layers; ++l) {
      Layer layer;
      layer.wq = take(D, q);
      layer.wk = take(D, kv);
      layer.wv = take(D, kv);
      layer.wo = take(q, D);
      layers_.push_back(std::move(layer));
    }
    wc_ = take(D, classes());
  }

  const rvne::Header& header() const noexcept { return header_; }
  const TemporalHead<T>& head() const noexcept { return head_; }
  std::size_t input_dim() const noexcept { return header_.input_dim; }
  std::size_t classes() const noexcept { return header_.classes; }
  std::size_t layers() const noexcept { return header_.layers; }

  /// Logits of frames `x` (`(N, input_dim)`, N >= 1). Throws
  /// `Errc::shape_mismatch` for a wrong width or N = 0.
  Vector forward(const Eigen::Ref<const Matrix>& x, Pool pool = Pool::mean) const {
    check_frames("TemporalModel::forward", x.rows(), x.cols());
    const auto n = static_cast<std::size_t>(x.rows());
    Matrix h = x;  // the residual stream
    Tensor3<T> q(n, header_.q_heads, header_.head_dim), k(n, header_.kv_heads, header_.head_dim),
        v(n, header_.kv_heads, header_.head_dim);
    Vector scratch = make_scratch();
    const std::size_t D = input_dim(), qw = q_width(), kvw = kv_width();
    for (const Layer& layer : layers_) {
      for (std::size_t i = 0; i < n; ++i) {
        project_qkv(h.data() + i * D, layer, scratch, q.data() + i * qw, k.data() + i * kvw, v.data() + i * kvw);
      }
      const Tensor3<T> a = head_.forward(q, k, v);
      for (std::size_t i = 0; i < n; ++i) residual(a.data() + i * qw, layer.wo, scratch, h.data() + i * D);
    }
    Vector pooled =
        pool == Pool::last ? Vector(h.row(h.rows() - 1).transpose()) : Vector(h.colwise().mean().transpose());
    Vector logits(static_cast<Eigen::Index>(classes()));
    project(pooled.data(), wc_, scratch, logits.data());
    return logits;
  }

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

  struct Layer {
    Matrix wq, wk, wv, wo;
  };

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

  /// Scratch for `product`: one vector as wide as the widest weight matrix.
  Vector make_scratch() const {
    return Vector(static_cast<Eigen::Index>(std::max({input_dim(), q_width(), kv_width(), classes()})));
  }

  /// `x W` for one row (`x`: W.rows() values) into the front of `scratch`
  /// (aligned, at least W.cols() long), as one Eigen matrix-vector product:
  /// the one definition of a row product, used by prefill and streams alike
  /// (same matrix, same sizes, same aligned destination: same bits).
  static Eigen::Map<Vector, Eigen::AlignedMax> product(const T* x, const Matrix& w, Vector& scratch) {
    Eigen::Map<Vector, Eigen::AlignedMax> s(scratch.data(), w.cols());
    s.noalias() = w.transpose() * Eigen::Map<const Vector>(x, w.rows());
    return s;
  }
  /// `out = x W` for one row.
  static void project(const T* x, const Matrix& w, Vector& scratch, T* out) {
    Eigen::Map<Vector>(out, w.cols()) = product(x, w, scratch);
  }
  /// A layer's `q = x Wq`, `k = x Wk`, `v = x Wv` for one row.
  static void project_qkv(const T* x, const Layer& layer, Vector& scratch, T* q, T* k, T* v) {
    project(x, layer.wq, scratch, q);
    project(x, layer.wk, scratch, k);
    project(x, layer.wv, scratch, v);
  }
  /// `h += a Wo` for one row (the residual update).
  static void residual(const T* a, const Matrix& wo, Vector& scratch, T* h) {
    Eigen::Map<Vector>(h, wo.cols()) += product(a, wo, scratch);
  }

  rvne::Header header_;
  TemporalHead<T> head_;
  std::vector<Layer> layers_;
  Matrix wc_;
};

/// Frame-by-frame inference of one track: one KV cache per layer.
///
/// `push` runs every layer for the new frame (projections, a `TemporalHead`
/// step, residual) and returns the logits with pool = last. For a causal
/// sparse model they equal, bit for bit, `forward` over all frames pushed so
/// far with `Pool::last` (dense: within 1e-6), as long as nothing was evicted.
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
    scratch_ = model.make_scratch();
  }

  /// Frames currently held (equal in every layer).
  std::size_t size() const noexcept { return caches_.front().size(); }
  std::size_t capacity() const noexcept { return caches_.front().capacity(); }
  /// Frames pushed since construction or `reset` (evicted ones included).
  std::uint64_t pushed() const noexcept { return caches_.front().appended(); }
  /// Forgets every frame; keeps the memory.
  void reset() noexcept {
    for (auto& c : caches_) c.clear();
  }

  /// Pushes one frame (`input_dim` values at `frame`); returns the logits
  /// (valid until the next push). Throws `Errc::cache_full` when full without
  /// an eviction policy; the stream is then unchanged (every layer's cache
  /// holds the same frames, so the first layer's append refuses before any
  /// cache changes).
  const Vector& push(const T* frame) {
    const TemporalModel<T>& m = *model_;
    x_ = Eigen::Map<const Vector>(frame, static_cast<Eigen::Index>(m.input_dim()));
    for (std::size_t l = 0; l < caches_.size(); ++l) {
      const auto& layer = m.layers_[l];
      TemporalModel<T>::project_qkv(x_.data(), layer, scratch_, q_.data(), k_.data(), v_.data());
      m.head().step(q_, k_, v_, caches_[l], a_, ws_);
      TemporalModel<T>::residual(a_.data(), layer.wo, scratch_, x_.data());
    }
    TemporalModel<T>::project(x_.data(), m.wc_, scratch_, logits_.data());
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
  Workspace<T> ws_;
  Vector x_, scratch_;
  Tensor3<T> q_, k_, v_, a_;
  Vector logits_;
};

}  // namespace aether
