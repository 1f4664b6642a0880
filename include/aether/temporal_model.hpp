#pragma once
/// \file temporal_model.hpp
/// `TemporalModel<T>`: a `.rvne` blob run end to end (MODEL.md). Per layer:
/// Q/K/V projections of the frames, attention (a `TemporalHead`), output
/// projection and residual; then pooling and the classifier. A
/// `TemporalStream` pushes one frame at a time against per-layer KV caches.

#include <aether/arena.hpp>
#include <aether/block/activation.hpp>
#include <aether/block/causal_conv.hpp>
#include <aether/block/rms_norm.hpp>
#include <aether/block/rope.hpp>
#include <aether/error.hpp>
#include <aether/fast_grnn_gate.hpp>
#include <aether/gate_state.hpp>
#include <aether/io/featurizer.hpp>
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
#include <new>
#include <string_view>
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
  /// Most frames a v2 convolution may look back, `(k - 1) * delta`: each
  /// stream holds that many rows per layer. Default 4096 (82 s at 50 Hz).
  std::uint64_t max_conv_reach = 4096;

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
        u(ArenaAllocator<T>(arena)),
        c(ArenaAllocator<T>(arena)),
        f(ArenaAllocator<T>(arena)),
        cs(ArenaAllocator<T>(arena)),
        attention(arena) {}

  Buffer h;            ///< the residual stream `(N, input_dim)`, row-major; holds the frames on entry
  Buffer q, k, v, a;   ///< per-layer projections and attention output
  Buffer row, pooled;  ///< row-product scratch (widest matrix) and the pooled row
  Buffer u;            ///< v2: normed rows `(N, d_model)` (also the input projection's output before it becomes `h`)
  Buffer c, f;         ///< v2: one convolution output row `(d_model)`, one feed-forward hidden row `(ffn_dim)`
  Buffer cs;           ///< v2: RoPE cos/sin per frame `(N, head_dim)`
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
/// v1 (docs/model.md): per layer l (blob order): `Q = X Wq`, `K = X Wk`,
/// `V = X Wv` (viewed as `(N, heads, head_dim)`), `A = attention(Q, K, V)`,
/// `X += A Wo`; then pooling and `Wc`. v2 runs the same code with its blocks
/// switched on: `H = X W_in + b_in` (width d_model), per layer a convolution
/// sublayer, the attention sublayer (biases, RoPE) and a feed-forward
/// sublayer, each `H += f(RMSNorm(H))`; a final RMSNorm; pooling; `Wc`, `bc`.
/// Every sublayer is computed row by row by one function, so a stream (one
/// row at a time) and a prefill see the same bits.
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
    if (header.version == rvne::kVersion2) return check_v2(header, attention, limits, why);
    if (attention.block_size == 0) {  // TemporalHeadConfig::check, without building its global-token vector
      if (why != nullptr) rvne::detail::reject(*why, Errc::invalid_config, "TemporalHeadConfig.block_size is 0");
      return Errc::invalid_config;
    }
    if (attention.gate) return check_gate(*attention.gate, header, attention.backend, why);
    return Errc::ok;
  }

  /// The attention options a v2 descriptor carries, as `ModelAttention`
  /// (gate weights left empty: they are the blob's `gate` tensors).
  static ModelAttention attention_of(const rvne::Header& h) {
    const rvne::AttentionDesc& d = h.arch.attention;
    ModelAttention a;
    a.backend = d.backend == rvne::BackendKind::dense ? Backend::Dense : Backend::SparseGqa;
    a.window = d.window;
    a.block_size = d.block_size;
    a.causal = d.causal != 0;
    a.global_tokens.assign(d.globals, d.globals + d.global_count);
    if (d.gate != rvne::GateKind::none) {
      ModelGate g;
      g.options.top_k = d.gate_top_k;
      g.options.mode = d.gate == rvne::GateKind::salient ? GateMode::salient : GateMode::prune;
      g.input_dim = h.head_dim;
      g.hidden_dim = d.gate_hidden;
      a.gate = g;
    }
    return a;
  }

  /// v2 rules of `check` after the layout: the convolution's reach against
  /// `limits.max_conv_reach` (limit_exceeded), and `attention`, which must be
  /// default-constructed (the blob carries its own) or agree with the blob's
  /// (invalid_config naming the field). No allocation.
  static Errc check_v2(const rvne::Header& h, const ModelAttention& attention, const ModelLimits& limits,
                       rvne::ParseResult* why) noexcept {
    rvne::ParseResult scratch;
    rvne::ParseResult& r = why != nullptr ? *why : scratch;
    const rvne::Architecture& arch = h.arch;
    if (arch.has(rvne::kBlockConv)) {
      const std::uint64_t reach = block::conv_reach(arch.conv_kernel, arch.conv_dilation);
      if (reach > limits.max_conv_reach) {
        rvne::detail::reject(r, Errc::limit_exceeded,
                             "the convolution looks back (k - 1) * delta = %llu frames, more than "
                             "ModelLimits::max_conv_reach %llu",
                             static_cast<unsigned long long>(reach),
                             static_cast<unsigned long long>(limits.max_conv_reach));
        return Errc::limit_exceeded;
      }
    }
    const ModelAttention none;
    const rvne::AttentionDesc& d = arch.attention;
    const bool globals_default = attention.global_tokens == none.global_tokens;
    bool globals_equal = attention.global_tokens.size() == d.global_count;
    for (std::size_t i = 0; globals_equal && i < d.global_count; ++i) globals_equal = attention.global_tokens[i] == d.globals[i];
    struct Field {
      const char* name;
      bool is_default, agrees;
    };
    const Backend backend = d.backend == rvne::BackendKind::dense ? Backend::Dense : Backend::SparseGqa;
    const Field fields[] = {
        {"backend", attention.backend == none.backend, attention.backend == backend},
        {"window", attention.window == none.window, attention.window == d.window},
        {"block_size", attention.block_size == none.block_size, attention.block_size == d.block_size},
        {"global_tokens", globals_default, globals_equal},
        {"causal", attention.causal == none.causal, attention.causal == (d.causal != 0)},
        {"gate", !attention.gate.has_value(), attention.gate.has_value() == (d.gate != rvne::GateKind::none)},
    };
    bool all_default = true;
    for (const Field& f : fields) all_default = all_default && f.is_default;
    if (all_default) return Errc::ok;
    for (const Field& f : fields) {
      if (!f.agrees) {
        rvne::detail::reject(r, Errc::invalid_config,
                             "ModelAttention.%s contradicts the version 2 blob's descriptor (a v2 blob carries its "
                             "own attention options: pass ModelAttention{})",
                             f.name);
        return Errc::invalid_config;
      }
    }
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
    make_rope();
  }

  TemporalModel(const TemporalModel& o)
      : header_(o.header_),
        head_(o.head_),
        owned_(o.owned_),
        weights_(o.owns() ? owned_.data() : o.weights_),
        gates_(o.gates_),
        gate_options_(o.gate_options_),
        rope_(o.rope_) {
    bind();
  }
  TemporalModel(TemporalModel&& o) noexcept
      : header_(o.header_),
        head_(std::move(o.head_)),
        weights_(o.weights_),
        gates_(std::move(o.gates_)),
        gate_options_(o.gate_options_),
        rope_(std::move(o.rope_)) {
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
    rope_ = std::move(o.rope_);
    const bool owned = o.owns();
    owned_.swap(o.owned_);
    weights_ = owned ? owned_.data() : o.weights_;
    bind();
    return *this;
  }

  const rvne::Header& header() const noexcept { return header_; }
  /// The blob's architecture beyond the header (v1: every block off).
  const rvne::Architecture& arch() const noexcept { return header_.arch; }
  const TemporalHead<T>& head() const noexcept { return head_; }
  /// Values per input frame.
  std::size_t input_dim() const noexcept { return header_.input_dim; }
  /// Width of the residual stream: d_model with an input projection, else input_dim.
  std::size_t model_dim() const noexcept { return header_.model_dim(); }
  std::size_t classes() const noexcept { return header_.classes; }
  std::size_t layers() const noexcept { return header_.layers; }
  /// The pooling the blob names (v2); v1 blobs name none: MODEL.md's mean.
  Pool pool() const noexcept { return arch().pool == rvne::PoolKind::last ? Pool::last : Pool::mean; }
  /// Whether the blob carries a featuriser (v2), and its constants.
  bool has_featurizer() const noexcept { return arch().features.kind != rvne::FeatureKind::none; }
  const io::FeaturizerConfig& featurizer() const noexcept { return features_; }
  /// Whether a stream of this model needs a `StepState` (v2 convolution or RoPE).
  bool needs_step_state() const noexcept { return arch().has(rvne::kBlockConv) || arch().has(rvne::kBlockRope); }
  /// Rows each layer's convolution history holds in a stream: reach + 1 (0 without convolution).
  std::size_t conv_rows() const noexcept {
    return arch().has(rvne::kBlockConv)
               ? static_cast<std::size_t>(block::conv_reach(arch().conv_kernel, arch().conv_dilation)) + 1
               : 0;
  }
  /// Values of a stream's `StepState::conv`: layers * conv_rows() * model_dim().
  std::size_t conv_state_size() const noexcept { return layers() * conv_rows() * model_dim(); }
  /// RoPE (v2 with kBlockRope; `rope().pairs() == 0` otherwise).
  const block::Rope<T>& rope() const noexcept { return rope_; }
  /// First weight element (layout order), wherever it lies.
  const T* weights() const noexcept { return weights_; }
  /// Whether the model is gated (v1: built with a `ModelAttention::gate`; v2: the blob's gate).
  bool gated() const noexcept { return !gates_.empty(); }
  /// Layer `l`'s gate (gated(), l < layers(); unchecked) and the options of every layer.
  const FastGrnnGate<T>& gate(std::size_t l) const noexcept { return gates_[l]; }
  const GateOptions& gate_options() const noexcept { return gate_options_; }

  /// The weights of one layer (`x W` convention, row-major `[in][out]`),
  /// views into the model's weights (rvne::for_each_tensor names them). A
  /// block that is off has null vectors and empty matrices.
  struct Layer {
    WeightMap wq{nullptr, 0, 0}, wk{nullptr, 0, 0}, wv{nullptr, 0, 0}, wo{nullptr, 0, 0};
    const T *bq = nullptr, *bk = nullptr, *bv = nullptr, *bo = nullptr;  ///< v2 attention biases
    const T* gate = nullptr;                                            ///< v2 packed gate weights
    const T* attn_norm = nullptr;                                       ///< v2 RMSNorm gain before attention
    const T* conv_norm = nullptr;                                       ///< v2 RMSNorm gain before the convolution
    WeightMap conv_taps{nullptr, 0, 0};                                 ///< v2 `[k][d_model]`
    const T* conv_bias = nullptr;
    const T* ffn_norm = nullptr;                                        ///< v2 RMSNorm gain before the feed-forward layer
    WeightMap w1{nullptr, 0, 0}, w2{nullptr, 0, 0};                     ///< v2 `[d_model][ffn]`, `[ffn][d_model]`
    const T *b1 = nullptr, *b2 = nullptr;
  };
  /// The tensors outside the layers.
  struct Globals {
    WeightMap w_in{nullptr, 0, 0};  ///< v2 input projection `[input_dim][d_model]`
    const T* b_in = nullptr;
    const T* final_norm = nullptr;   ///< v2 final RMSNorm gain
    WeightMap wc{nullptr, 0, 0};     ///< classifier `[d_model][classes]`
    const T* bc = nullptr;           ///< v2 classifier bias
    const T* feature_offset = nullptr;  ///< v2 standardisation constants (also in `featurizer()`)
    const T* feature_scale = nullptr;
  };
  /// Activations of one `forward`, kept for training's backward pass
  /// (train/model_backward.hpp): per layer l the residual stream entering
  /// its attention sublayer `inputs[l]` `(N, model_dim)` (v1: the layer's
  /// input), its `q`, `k`, `v` (after RoPE: what the attention read) and
  /// attention output `a`; then the pooled vector. v2 also keeps the stream
  /// entering each layer's convolution `conv_inputs[l]` (with kBlockConv) and
  /// feed-forward sublayer `ffn_inputs[l]` (with kBlockFfn), the stream
  /// entering the final norm `final_input`, and the first frame's position
  /// (RoPE); normed rows, convolution and feed-forward pre-activations and
  /// RoPE angles are recomputed by the backward from these (train/*_backward.hpp).
  /// Memory per layer N * (model_dim + 2 * (q_heads + kv_heads) * head_dim)
  /// values, v2 plus N * model_dim per convolution and feed-forward sublayer
  /// and N * model_dim once. Gated models: no trace (training through a gate
  /// is not supported).
  struct Trace {
    std::vector<Matrix> inputs;
    std::vector<Tensor3<T>> q, k, v, a;
    Vector pooled;
    std::vector<Matrix> conv_inputs, ffn_inputs;  ///< v2 only (empty for v1 or a block that is off)
    Matrix final_input;                           ///< v2 only
    std::uint64_t first_position = 0;             ///< v2 only
  };

  /// Layer `l`'s weights (l < layers(), unchecked) and the classifier `Wc`
  /// `(model_dim, classes)`.
  const Layer& layer(std::size_t l) const noexcept { return layers_[l]; }
  const Globals& globals() const noexcept { return top_; }
  WeightMap classifier() const noexcept { return wc(); }

  /// Logits of frames `x` (`(N, input_dim)`, N >= 1) at positions
  /// `first_position`, `first_position + 1`, ... (RoPE; v1 ignores it).
  /// Throws `Errc::shape_mismatch` for a wrong width or N = 0. With `trace`,
  /// also records the activations (same arithmetic, same bits: training runs
  /// the forward of inference).
  Vector forward(const Eigen::Ref<const Matrix>& x, Pool pool = Pool::mean, Trace* trace = nullptr,
                 std::uint64_t first_position = 0) const {
    check_frames("TemporalModel::forward", x.rows(), x.cols());
    ForwardWorkspace<T> fw;
    const auto n = static_cast<std::size_t>(x.rows());
    Eigen::Map<Matrix>(fw.frames(n, input_dim()), x.rows(), x.cols()) = x;
    Vector logits(static_cast<Eigen::Index>(classes()));
    forward_frames(n, pool, fw, logits.data(), trace, first_position);
    return logits;
  }

  /// `forward` of the `n` frames already in `fw.h` (put there through
  /// `fw.frames(n, input_dim())`), writing `classes()` logits. Overwrites
  /// `fw.h`. Allocates nothing once `fw` has served a forward of at least n
  /// frames (sparse backend). Precondition (unchecked): 1 <= n. With
  /// `trace`, also records the activations as `forward` says (allocating).
  ///
  /// Per frame row (docs/model.md), each sublayer row by row through the
  /// functions a stream push calls, so stream and prefill see the same bits:
  /// input projection; per layer the convolution, attention and feed-forward
  /// sublayers (each `h += f(norm(h))`); final norm; pooling; classifier.
  void forward_frames(std::size_t n, Pool pool, ForwardWorkspace<T>& fw, T* logits, Trace* trace = nullptr,
                      std::uint64_t first_position = 0) const {
    const std::size_t D = input_dim(), d = model_dim(), qw = q_width(), kvw = kv_width(), hd = header_.head_dim;
    const rvne::Architecture& ar = arch();
    const bool conv = ar.has(rvne::kBlockConv), ffn = ar.has(rvne::kBlockFfn), rope = ar.has(rvne::kBlockRope);
    using Grow = ForwardWorkspace<T>;
    Grow::grow(fw.q, n * qw);
    Grow::grow(fw.k, n * kvw);
    Grow::grow(fw.v, n * kvw);
    Grow::grow(fw.a, n * qw);
    Grow::grow(fw.row, scratch_size());
    Grow::grow(fw.pooled, d);
    if (ar.has(rvne::kBlockInputProjection)) {  // h (n, D) -> u (n, d), which becomes h
      Grow::grow(fw.u, n * d);
      for (std::size_t i = 0; i < n; ++i) project(fw.h.data() + i * D, top_.w_in, top_.b_in, fw.row.data(), fw.u.data() + i * d);
      fw.h.swap(fw.u);
    }
    if (ar.has(rvne::kBlockNorm) || conv) Grow::grow(fw.u, n * d);
    if (conv) Grow::grow(fw.c, d);
    if (ffn) Grow::grow(fw.f, ar.ffn_dim);
    if (rope) {
      Grow::grow(fw.cs, n * hd);
      for (std::size_t i = 0; i < n; ++i) rope_.angles(first_position + i, fw.cs.data() + i * hd);
    }
    T* h = fw.h.data();
    T* const u = fw.u.data();  // empty (null) when neither norms nor convolution need it
    auto urow = [u, d](std::size_t i) { return u != nullptr ? u + i * d : nullptr; };
    const Tensor3View<T> q(fw.q.data(), n, header_.q_heads, header_.head_dim),
        k(fw.k.data(), n, header_.kv_heads, header_.head_dim), v(fw.v.data(), n, header_.kv_heads, header_.head_dim),
        a(fw.a.data(), n, header_.q_heads, header_.head_dim);
    const Eigen::Map<const Matrix> hm(h, static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
    if (trace != nullptr) {
      if (gated()) {
        detail::fail(Errc::invalid_argument, "TemporalModel::forward: no trace (training) through a gated model");
      }
      *trace = Trace{};
      trace->first_position = first_position;
    }
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const Layer& ly = layers_[l];
      if (conv) {
        if (trace != nullptr) trace->conv_inputs.emplace_back(hm);
        for (std::size_t i = 0; i < n; ++i) {
          T* ui = u + i * d;
          if (ly.conv_norm != nullptr) {
            block::rms_norm_row(h + i * d, ly.conv_norm, d, static_cast<T>(ar.norm_eps), ui);
          } else {
            std::copy(h + i * d, h + (i + 1) * d, ui);
          }
          conv_update(ly, i, [u, d](std::uint64_t s) { return u + s * d; }, fw.c.data(), h + i * d);
        }
      }
      for (std::size_t i = 0; i < n; ++i) {
        project_qkv(normed(h + i * d, ly.attn_norm, urow(i)), ly, fw.row.data(), q.data() + i * qw,
                    k.data() + i * kvw, v.data() + i * kvw);
        if (rope) {
          rope_.rotate(q.data() + i * qw, header_.q_heads, fw.cs.data() + i * hd);
          rope_.rotate(k.data() + i * kvw, header_.kv_heads, fw.cs.data() + i * hd);
        }
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
      for (std::size_t i = 0; i < n; ++i) residual(a.data() + i * qw, ly.wo, ly.bo, fw.row.data(), h + i * d);
      if (ffn) {
        if (trace != nullptr) trace->ffn_inputs.emplace_back(hm);
        for (std::size_t i = 0; i < n; ++i) {
          ffn_row(ly, normed(h + i * d, ly.ffn_norm, urow(i)), fw.f.data(), fw.row.data(), h + i * d);
        }
      }
    }
    Eigen::Map<Vector> pooled(fw.pooled.data(), static_cast<Eigen::Index>(d));
    if (trace != nullptr && header_.version == rvne::kVersion2) trace->final_input = hm;
    if (top_.final_norm != nullptr) {  // v2: norm the rows the pooling reads
      const std::size_t first = pool == Pool::last ? n - 1 : 0;
      for (std::size_t i = first; i < n; ++i) normed(h + i * d, top_.final_norm, urow(i));
      const Eigen::Map<const Matrix> um(u, static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
      if (pool == Pool::last) {
        pooled = um.row(um.rows() - 1).transpose();
      } else {
        pooled = um.colwise().mean().transpose();
      }
    } else if (pool == Pool::last) {
      pooled = hm.row(hm.rows() - 1).transpose();
    } else {
      pooled = hm.colwise().mean().transpose();
    }
    if (trace != nullptr) trace->pooled = pooled;
    classify(pooled.data(), fw.row.data(), logits);
  }

  /// A stream's state beyond its caches (v2): the next frame's position
  /// (RoPE) and each layer's convolution history, a ring of `conv_rows()`
  /// normed rows per layer in caller memory of `conv_state_size()` values
  /// (`conv`; null without convolution). `frames` counts pushes since the
  /// stream began or was reset (the ring's write index; earlier slots are
  /// never read, so the memory needs no clearing).
  struct StepState {
    std::uint64_t position = 0;
    std::uint64_t frames = 0;
    T* conv = nullptr;
  };

  /// One frame through every layer against `caches` (one per layer, `layers()`
  /// of them): projections, a `TemporalHead::step`, residual (v2: the input
  /// projection, convolution, norms, RoPE at `state->position`, feed-forward
  /// layer, final norm); then the classifier on the new frame (pool = last).
  /// The one implementation of a stream push (`TemporalStream`, the node).
  /// `x`: the frame's `input_dim` values, overwritten by the residual stream
  /// when there is no input projection; `q`, `k`, `v`, `a`: `(1, heads,
  /// head_dim)` scratch views; `scratch`: `scratch_size()` aligned values;
  /// writes `classes()` logits. Fails as `TemporalHead::step` (a full cache
  /// without a policy refuses before any cache changes, and `state` is then
  /// unchanged). Allocation-free once `ws` has served one step of caches of
  /// this capacity. A gated model needs `gates` (one `GateState` per layer
  /// over `gate(l)`, beside `caches[l]`; the gated `TemporalHead::step`);
  /// null for a gated model is `Errc::invalid_argument`, and an ungated model
  /// ignores them. A model that `needs_step_state()` needs `state`
  /// (`Errc::invalid_argument` without), advanced by one frame on success.
  template <class S>
  void step_frame(T* x, KvCache<T, S>* caches, Tensor3View<T> q, Tensor3View<T> k, Tensor3View<T> v,
                  Tensor3View<T> a, T* scratch, Workspace<T>& ws, T* logits, GateState<T>* gates = nullptr,
                  StepState* state = nullptr) const {
    if (gated() && gates == nullptr) {
      detail::fail(Errc::invalid_argument, "TemporalModel::step_frame: a gated model needs one GateState per layer");
    }
    if (needs_step_state() && state == nullptr) {
      detail::fail(Errc::invalid_argument, "TemporalModel::step_frame: a version 2 model with convolution or RoPE "
                                           "needs a StepState");
    }
    const std::size_t d = model_dim();
    const rvne::Architecture& ar = arch();
    // scratch: [row (aligned, scratch_width())][h d?][u d?][c d?][f ffn?][cs head_dim?]
    T* rest = scratch + scratch_width();
    T* h = x;
    if (ar.has(rvne::kBlockInputProjection)) {
      h = rest;
      rest += d;
      project(x, top_.w_in, top_.b_in, scratch, h);
    }
    T* u = nullptr;
    if (ar.has(rvne::kBlockNorm)) {
      u = rest;
      rest += d;
    }
    T* c = nullptr;
    if (ar.has(rvne::kBlockConv)) {
      c = rest;
      rest += d;
    }
    T* f = nullptr;
    if (ar.has(rvne::kBlockFfn)) {
      f = rest;
      rest += ar.ffn_dim;
    }
    T* cs = nullptr;
    if (ar.has(rvne::kBlockRope)) {
      cs = rest;
      rope_.angles(state->position, cs);
    }
    const std::size_t rows = conv_rows();
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const Layer& ly = layers_[l];
      if (c != nullptr) {
        T* ring = state->conv + l * rows * d;
        const std::uint64_t t = state->frames;
        T* slot = ring + static_cast<std::size_t>(t % rows) * d;  // overwrites frame t - rows: no longer read
        if (ly.conv_norm != nullptr) {
          block::rms_norm_row(h, ly.conv_norm, d, static_cast<T>(ar.norm_eps), slot);
        } else {
          std::copy(h, h + d, slot);
        }
        conv_update(ly, t, [ring, rows, d](std::uint64_t s) { return ring + static_cast<std::size_t>(s % rows) * d; },
                    c, h);
      }
      project_qkv(normed(h, ly.attn_norm, u), ly, scratch, q.data(), k.data(), v.data());
      if (cs != nullptr) {
        rope_.rotate(q.data(), header_.q_heads, cs);
        rope_.rotate(k.data(), header_.kv_heads, cs);
      }
      if (gated()) {
        head_.step(q, k, v, caches[l], gates[l], a, ws);
      } else {
        head_.step(q, k, v, caches[l], a, ws);
      }
      residual(a.data(), ly.wo, ly.bo, scratch, h);
      if (f != nullptr) ffn_row(ly, normed(h, ly.ffn_norm, u), f, scratch, h);
    }
    classify(normed(h, top_.final_norm, u), scratch, logits);
    if (state != nullptr) {
      ++state->position;  // wraps modulo 2^64 (block/rope.hpp)
      ++state->frames;
    }
  }

  /// Values of the scratch `step_frame` needs: the row-product scratch (as
  /// wide as the widest weight matrix) and, for v2, rows for the residual
  /// stream (input projection), the normed row, the convolution output, the
  /// feed-forward hidden row and the RoPE angles.
  std::size_t scratch_size() const noexcept { return scratch_size(header_); }
  /// Values of the row-product scratch alone (v1: all of `scratch_size()`).
  std::size_t scratch_width() const noexcept { return scratch_width(header_); }
  /// `scratch_size()` and `scratch_width()` of a model over `h`, from the
  /// header alone (the node sizes its memory before a model exists).
  static std::size_t scratch_size(const rvne::Header& h) noexcept {
    const rvne::Architecture& ar = h.arch;
    std::size_t n = scratch_width(h);
    if (ar.has(rvne::kBlockInputProjection)) n += h.model_dim();
    if (ar.has(rvne::kBlockNorm)) n += h.model_dim();
    if (ar.has(rvne::kBlockConv)) n += h.model_dim();
    if (ar.has(rvne::kBlockFfn)) n += ar.ffn_dim;
    if (ar.has(rvne::kBlockRope)) n += h.head_dim;
    return n;
  }
  static std::size_t scratch_width(const rvne::Header& h) noexcept {
    std::size_t w = std::max({std::size_t{h.input_dim}, std::size_t{h.model_dim()},
                              std::size_t{h.q_heads} * h.head_dim, std::size_t{h.kv_heads} * h.head_dim,
                              std::size_t{h.classes}});
    if (h.arch.has(rvne::kBlockFfn)) w = std::max<std::size_t>(w, h.arch.ffn_dim);
    // The tail starts aligned, so its first row keeps the row product's alignment rule.
    constexpr std::size_t kAlign = EIGEN_MAX_ALIGN_BYTES / sizeof(T) > 0 ? EIGEN_MAX_ALIGN_BYTES / sizeof(T) : 1;
    return h.version == rvne::kVersion ? w : (w + kAlign - 1) / kAlign * kAlign;
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
    make_rope();
  }

  /// RoPE frequencies (v2 with kBlockRope).
  void make_rope() {
    if (arch().has(rvne::kBlockRope)) rope_ = block::Rope<T>(header_.head_dim, header_.arch.rope_base);
  }

  /// The per-layer gates of `attention.gate` (already validated by `check`).
  void make_gates(const ModelAttention& given) {
    if (header_.version == rvne::kVersion2) {  // the blob's own gate, its weights the per-layer `gate` tensors
      const ModelAttention a = attention_of(header_);
      if (!a.gate) return;
      gate_options_ = a.gate->options;
      gates_.reserve(header_.layers);
      const std::size_t n = FastGrnnGate<T>::packed_size(header_.head_dim, a.gate->hidden_dim);
      for (std::size_t l = 0; l < header_.layers; ++l) {
        // As ModelGate's weights (check_gate): a gate's weights must be finite
        // (FastGrnnGate refuses others with invalid_argument, naming no tensor).
        for (std::size_t e = 0; e < n; ++e) {
          if (!std::isfinite(static_cast<double>(layers_[l].gate[e]))) {
            aether::detail::fail(Errc::invalid_config, "the blob's gate tensor of layer " + std::to_string(l) +
                                                           ": value " + std::to_string(e) + " of " + std::to_string(n) +
                                                           " is not finite (a gate's weights must be)");
          }
        }
        gates_.push_back(FastGrnnGate<T>::from_packed(header_.head_dim, a.gate->hidden_dim, layers_[l].gate, n));
      }
      return;
    }
    const ModelAttention& attention = given;
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

  /// (Re)creates the tensor views over `weights_` from `rvne::for_each_tensor`
  /// (the one tensor order), and the featuriser's constants.
  void bind() {
    layers_.clear();  // Layer and Globals hold Eigen::Maps, which cannot be assigned: rebuilt in place
    layers_.resize(header_.layers);
    top_.~Globals();
    ::new (&top_) Globals();
    rvne::for_each_tensor(header_, [this](const rvne::MatrixShape& m) {
      const T* p = weights_ + m.offset;
      const WeightMap map(p, static_cast<Eigen::Index>(m.rows), static_cast<Eigen::Index>(m.cols));
      const std::string_view name = m.name;
      if (m.layer < 0) {
        if (name == "W_in") rebind(top_.w_in, map);
        else if (name == "b_in") top_.b_in = p;
        else if (name == "final.norm") top_.final_norm = p;
        else if (name == "Wc") rebind(top_.wc, map);
        else if (name == "bc") top_.bc = p;
        else if (name == "features.offset") top_.feature_offset = p;
        else if (name == "features.scale") top_.feature_scale = p;
        return;
      }
      Layer& l = layers_[static_cast<std::size_t>(m.layer)];
      if (name == "Wq") rebind(l.wq, map);
      else if (name == "Wk") rebind(l.wk, map);
      else if (name == "Wv") rebind(l.wv, map);
      else if (name == "Wo") rebind(l.wo, map);
      else if (name == "bq") l.bq = p;
      else if (name == "bk") l.bk = p;
      else if (name == "bv") l.bv = p;
      else if (name == "bo") l.bo = p;
      else if (name == "gate") l.gate = p;
      else if (name == "conv.norm") l.conv_norm = p;
      else if (name == "conv.taps") rebind(l.conv_taps, map);
      else if (name == "conv.bias") l.conv_bias = p;
      else if (name == "attn.norm") l.attn_norm = p;
      else if (name == "ffn.norm") l.ffn_norm = p;
      else if (name == "W1") rebind(l.w1, map);
      else if (name == "b1") l.b1 = p;
      else if (name == "W2") rebind(l.w2, map);
      else if (name == "b2") l.b2 = p;
    });
    const rvne::FeaturizerDesc& f = header_.arch.features;
    features_ = io::FeaturizerConfig{};
    if (header_.version == rvne::kVersion2 && f.kind != rvne::FeatureKind::none) {
      features_.source = f.kind == rvne::FeatureKind::node_features ? io::FeatureSource::node_features
                                                                    : io::FeatureSource::csi_amplitude;
      features_.input_dim = header_.input_dim;
      features_.log_amplitude = (f.flags & rvne::kFeatureLog) != 0;
      features_.centre_frame = (f.flags & rvne::kFeatureCentre) != 0;
      features_.constant_feature = (f.flags & rvne::kFeatureConstant) != 0;
      features_.subcarriers = f.subcarriers;
      features_.highpass = f.highpass;
      if (top_.feature_offset != nullptr) {
        features_.offset.assign(top_.feature_offset, top_.feature_offset + header_.input_dim);
        features_.scale.assign(top_.feature_scale, top_.feature_scale + header_.input_dim);
      }
    }
  }
  /// Points `m` at another tensor (an Eigen::Map's assignment would copy values).
  static void rebind(WeightMap& m, const WeightMap& to) noexcept { new (&m) WeightMap(to); }
  WeightMap wc() const noexcept { return top_.wc; }

  static TemporalHeadConfig head_config(const rvne::Header& h, const ModelAttention& given) {
    const ModelAttention a = h.version == rvne::kVersion2 ? attention_of(h) : given;
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
  /// `out = x W (+ b)` for one row (`b`: W.cols() values, or null).
  static void project(const T* x, const WeightMap& w, const T* b, T* scratch, T* out) {
    Eigen::Map<Vector> o(out, w.cols());
    o = product(x, w, scratch);
    if (b != nullptr) o += Eigen::Map<const Vector>(b, w.cols());
  }
  static void project(const T* x, const WeightMap& w, T* scratch, T* out) { project(x, w, nullptr, scratch, out); }
  /// A layer's `q = x Wq (+ bq)`, `k = x Wk (+ bk)`, `v = x Wv (+ bv)` for one row.
  static void project_qkv(const T* x, const Layer& layer, T* scratch, T* q, T* k, T* v) {
    project(x, layer.wq, layer.bq, scratch, q);
    project(x, layer.wk, layer.bk, scratch, k);
    project(x, layer.wv, layer.bv, scratch, v);
  }
  /// `h += a Wo (+ bo)` for one row (the residual update; the bias joins the
  /// product before the sum, in prefill and stream alike).
  static void residual(const T* a, const WeightMap& wo, const T* bo, T* scratch, T* h) {
    if (bo == nullptr) {
      Eigen::Map<Vector>(h, wo.cols()) += product(a, wo, scratch);
      return;
    }
    Eigen::Map<Vector, Eigen::AlignedMax> s = product(a, wo, scratch);
    s += Eigen::Map<const Vector>(bo, wo.cols());
    Eigen::Map<Vector>(h, wo.cols()) += s;
  }

  /// The normed copy of row `h` into `u` (RMSNorm with `gain`), or `h`
  /// itself when the model has no norms (v1: no copy).
  const T* normed(const T* h, const T* gain, T* u) const noexcept {
    if (gain == nullptr) return h;
    block::rms_norm_row(h, gain, model_dim(), static_cast<T>(header_.arch.norm_eps), u);
    return u;
  }
  /// The feed-forward sublayer for one row: `h += act(u W1 + b1) W2 + b2`,
  /// `u` the normed row, `f` ffn_dim scratch.
  void ffn_row(const Layer& l, const T* u, T* f, T* scratch, T* h) const {
    project(u, l.w1, l.b1, scratch, f);
    block::activate(header_.arch.ffn_activation, f, header_.arch.ffn_dim);
    residual(f, l.w2, l.b2, scratch, h);
  }
  /// The convolution sublayer's update of row `h` (frame `t` since the
  /// sequence began): `h += act(conv(rows) + bias)`, `row(s)` giving the
  /// normed rows; `c` d_model scratch.
  template <class Row>
  void conv_update(const Layer& l, std::uint64_t t, Row&& row, T* c, T* h) const {
    const rvne::Architecture& a = header_.arch;
    block::conv_row(l.conv_taps.data(), l.conv_bias, a.conv_kernel, a.conv_dilation, model_dim(), t, row, c);
    block::activate(a.conv_activation, c, model_dim());
    Eigen::Map<Vector>(h, static_cast<Eigen::Index>(model_dim())) +=
        Eigen::Map<const Vector>(c, static_cast<Eigen::Index>(model_dim()));
  }
  /// The classifier on a pooled row: `logits = p Wc (+ bc)`.
  void classify(const T* pooled, T* scratch, T* logits) const { project(pooled, top_.wc, top_.bc, scratch, logits); }

  rvne::Header header_;
  TemporalHead<T> head_;
  std::vector<T, Eigen::aligned_allocator<T>> owned_;  // widened weights, when the model owns them
  const T* weights_ = nullptr;                          // owned_, caller memory or the blob's bytes
  std::vector<Layer> layers_;                           // views into weights_
  Globals top_;                                         // the tensors outside the layers, views into weights_
  io::FeaturizerConfig features_;                       // v2: the blob's featuriser (kind none: unused)
  std::vector<FastGrnnGate<T>> gates_;                  // one per layer when gated
  GateOptions gate_options_;
  block::Rope<T> rope_;                                 // v2 with RoPE: the frequencies
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
    conv_.resize(model.conv_state_size());
    state_.conv = conv_.empty() ? nullptr : conv_.data();
  }

  /// Frames currently held (equal in every layer).
  std::size_t size() const noexcept { return caches_.front().size(); }
  std::size_t capacity() const noexcept { return caches_.front().capacity(); }
  /// Whether `push` takes a frame now: false only when the stream is full
  /// and has no eviction policy (`push` would throw `Errc::cache_full`).
  bool accepts_frame() const noexcept { return caches_.front().accepts(); }  // every layer holds the same frames
  /// Frames pushed since construction or `reset` (evicted ones included).
  std::uint64_t pushed() const noexcept { return caches_.front().appended(); }
  /// Forgets every frame; keeps the memory. The next frame is at position 0.
  void reset() noexcept { reset(0); }
  /// Forgets every frame; the next frame is at `first_position` (RoPE; a
  /// stream that resumes a long-running one, or a test near 2^31).
  void reset(std::uint64_t first_position) noexcept {
    for (auto& c : caches_) c.clear();
    for (auto& g : gates_) g.clear();
    state_.position = first_position;
    state_.frames = 0;
  }
  /// Position of the next frame (counts every push, evicted frames too; wraps modulo 2^64).
  std::uint64_t position() const noexcept { return state_.position; }
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
                       gates_.empty() ? nullptr : gates_.data(), &state_);
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
  std::vector<T> conv_;  // v2: each layer's convolution history
  typename TemporalModel<T>::StepState state_;
  Tensor3<T> q_, k_, v_, a_;
  Vector logits_;
};

}  // namespace aether
