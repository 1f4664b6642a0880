#pragma once
/// \file node.hpp
/// `aether::Node`: the sensor node's classifier. A `TemporalModel` built over
/// the blob's bytes (fp32 weights read in place; v1 or v2 blobs) plus either
/// a ring of the last `window_len` frames (classify = `forward` pooled as the
/// blob says: v1 mean, v2 its `pool`; positions from 0 each window) or a
/// stream (each push returns the newest frame's logits, `Pool::last`, for v1
/// and v2 alike; sliding-window eviction once the caches are full). A v2 blob
/// that carries a csi-amplitude featuriser also takes raw CSI (`push_csi`:
/// one frame's I/Q bytes through `io::featurize_iq`, the host's featuriser).
/// Every operation returns an `Errc` and never throws; all per-stream memory
/// comes from one buffer sized by `memory_needed`, and after `create` neither
/// `push`, `push_csi` nor `classify` allocates, on success or on error. The C ABI (`aether/c/aether.h`) is a
/// thin layer over this class. docs/node.md explains the modes and the memory.
///
/// Memory (bytes, all from the buffer unless noted):
/// - the Node object itself;
/// - fp16 or unaligned weights: `layout_elements` floats (v2: padding
///   included), widened once (fp32 weights starting 4-byte aligned on a
///   little-endian core are read where they lie: no copy; v2 tensors are
///   16-byte aligned from the blob's start, so a 4-byte aligned v2 blob is
///   read in place);
/// - a featuriser's output row (`input_dim` floats; v2 blobs with a featuriser;
///   with a `highpass` featuriser, one baseline's input_dim floats more);
/// - ring: `window_len * input_dim` floats of frames plus the forward scratch
///   of `window_len` frames (residual stream, Q/K/V, attention output,
///   landmark means, transposed keys, score rows; v2: normed rows, RoPE
///   angles, one convolution and one feed-forward row);
/// - stream: one `KvCache` per layer (fp32 or fp16 keys twice, values,
///   landmark means, eviction bookkeeping), the decode score rows, the
///   per-frame vectors and (v2 with convolution) each layer's convolution
///   history, `conv_state_size()` floats.
/// Still from the heap, at `create` only: the model's matrix views and
/// global-token lists and the two attention candidate lists (together well
/// under 2 KiB for the AETHER default); `memory_needed` builds a sparse
/// pattern (a one-element vector) transiently. v2 adds, at create only, the
/// featuriser's standardisation constants (2 * input_dim floats when the
/// blob is standardised) and the RoPE frequencies.
///
/// Thread safety: one thread per Node; distinct Nodes are independent.

#include <aether/arena.hpp>
#include <aether/block/causal_conv.hpp>
#include <aether/error.hpp>
#include <aether/io/featurizer.hpp>
#include <aether/kv_cache.hpp>
#include <aether/rvne/codec.hpp>
#include <aether/rvne/layout.hpp>
#include <aether/sparse_pattern.hpp>
#include <aether/temporal_model.hpp>
#include <aether/workspace.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

namespace aether {

/// How a node classifies.
enum class NodeMode : std::uint8_t {
  ring = 0,    ///< push stores frames in a ring of window_len; classify = forward, Pool::mean
  stream = 1,  ///< push runs the frame through per-layer KV caches and returns Pool::last logits
};

/// Storage of a streaming node's KV caches.
enum class CacheDtype : std::uint8_t {
  f32 = 0,  ///< float keys and values (bit-identical to the prefill)
  f16 = 1,  ///< IEEE half keys and values, float math (half the cache bytes)
};

/// A node's configuration. `input_dim` and `n_classes` must equal the blob's
/// header (v2 too: `input_dim` is the featuriser's output, not d_model);
/// `window_len` (ring) >= 1; `capacity` (stream) >= 2 (slot 0 holds
/// the global token, so sliding-window eviction needs one more).
struct NodeConfig {
  std::uint32_t input_dim = 0;
  std::uint32_t window_len = 0;  ///< ring mode: frames kept (ignored in stream mode)
  std::uint32_t n_classes = 0;
  NodeMode mode = NodeMode::ring;
  std::uint32_t capacity = 0;  ///< stream mode: frames per layer cache (ignored in ring mode)
  CacheDtype cache = CacheDtype::f32;
};

namespace detail {

/// The implementation of `Node` (below). A class template only so that its
/// inline members, which instantiate the model, caches and kernels they run,
/// are compiled in the translation units that use a node rather than in
/// every one that includes this header (through aether.hpp, ~6 s of -O3
/// compile each). `Float` is always float.
template <class Float>
class NodeImpl {
  static_assert(std::is_same<Float, float>::value, "the node runs float");

 public:
  using Model = TemporalModel<float>;

  /// Validates `blob` (RVNE.md rules 1-8, `why` gets the message) and `cfg`
  /// against its header, in this order: null blob with a length, or a length
  /// 0 -> invalid_argument; the blob's own rules (truncated, bad_magic, ...,
  /// layout_mismatch); a zero or header-disagreeing input_dim / n_classes,
  /// an unknown mode or cache dtype, window_len 0 (ring) or capacity < 2
  /// (stream) -> invalid_argument; a v2 blob with a salience gate or the
  /// dense backend (the node runs the ungated sparse kernels, which allocate
  /// nothing after init) -> invalid_config. On success `*view` (optional) is
  /// the blob's view. Never throws or allocates.
  static Errc check(const std::uint8_t* blob, std::size_t len, const NodeConfig& cfg,
                    rvne::BlobView* view = nullptr, rvne::ParseResult* why = nullptr) noexcept {
    if (blob == nullptr || len == 0) return Errc::invalid_argument;
    const rvne::ParseResult r = rvne::try_parse(blob, len);
    if (!r) {
      if (why != nullptr) *why = r;
      return r.code;
    }
    const Errc model = Model::check(r.view.header, r.view.weights_len, ModelAttention{}, why);
    if (model != Errc::ok) return model;
    const rvne::Header& h = r.view.header;
    if (h.version == rvne::kVersion2) {
      if (h.arch.attention.gate != rvne::GateKind::none) {
        if (why != nullptr) rvne::detail::reject(*why, Errc::invalid_config, "the node runs ungated v2 blobs only");
        return Errc::invalid_config;
      }
      if (h.arch.attention.backend != rvne::BackendKind::sparse) {
        if (why != nullptr) rvne::detail::reject(*why, Errc::invalid_config, "the node runs the sparse backend only");
        return Errc::invalid_config;
      }
    }
    if (cfg.input_dim == 0 || cfg.input_dim != h.input_dim || cfg.n_classes == 0 || cfg.n_classes != h.classes) {
      return Errc::invalid_argument;
    }
    if (cfg.mode == NodeMode::ring) {
      if (cfg.window_len == 0) return Errc::invalid_argument;
    } else if (cfg.mode == NodeMode::stream) {
      if (cfg.cache != CacheDtype::f32 && cfg.cache != CacheDtype::f16) return Errc::invalid_argument;
      const EvictionPolicy policy = EvictionPolicy::sliding_window(protected_prefix(h));
      if (KvCache<float>::check_args(cfg.capacity, h.kv_heads, h.head_dim, block_size(h), policy) != Errc::ok) {
        return Errc::invalid_argument;
      }
    } else {
      return Errc::invalid_argument;
    }
    if (view != nullptr) *view = r.view;
    return Errc::ok;
  }

  /// Bytes of caller memory a node of `cfg` over `view` needs (any
  /// alignment: the slack for aligning the buffer is included). Precondition:
  /// `check` passed. Allocates only a transient sparse pattern.
  static std::size_t memory_needed(const rvne::BlobView& view, const NodeConfig& cfg) {
    const rvne::Header& h = view.header;
    const rvne::Architecture& ar = h.arch;
    const ModelAttention att = attention(h);
    const SparsePattern pattern(sparse_config(att));
    const std::size_t D = h.input_dim, d = h.model_dim(), kvh = h.kv_heads, hd = h.head_dim,
                      qw = std::size_t{h.q_heads} * hd, kvw = kvh * hd, C = h.classes;
    const std::size_t scratch = step_scratch(h);  // TemporalModel::scratch_size()
    using detail::arena_bytes;
    using detail::sat_add;
    std::size_t b = sat_add(Arena::slack(), detail::arena_round(sizeof(NodeImpl)));
    if (!Model::reads_in_place(view)) b = sat_add(b, arena_bytes<float>(static_cast<std::size_t>(rvne::layout_elements(h))));
    b = sat_add(b, arena_bytes<float>(C));  // logits
    if (has_featurizer(h)) b = sat_add(b, arena_bytes<float>(D));  // the featuriser's output row (push_csi)
    if (has_featurizer(h) && h.arch.features.highpass != 0) b = sat_add(b, arena_bytes<float>(D));  // its baseline
    // Score rows of one attention call (SparseAttention::reserve).
    auto scores = [&](std::size_t n) {
      return arena_bytes<float>(detail::kMaxRows * detail::score_pitch(pattern.max_tokens(n) + pattern.max_blocks(n)));
    };
    if (cfg.mode == NodeMode::ring) {
      const std::size_t W = cfg.window_len, hw = std::max(D, d);
      b = sat_add(b, arena_bytes<float>(W * D));  // the ring
      // ForwardWorkspace presized for a forward of W frames (presize_forward).
      b = sat_add(b, arena_bytes<float>(W * hw) + 2 * arena_bytes<float>(W * qw) + 2 * arena_bytes<float>(W * kvw));
      b = sat_add(b, arena_bytes<float>(scratch) + arena_bytes<float>(d));
      if (uses_u(h)) b = sat_add(b, arena_bytes<float>(W * hw));
      if (ar.has(rvne::kBlockConv)) b = sat_add(b, arena_bytes<float>(d));
      if (ar.has(rvne::kBlockFfn)) b = sat_add(b, arena_bytes<float>(ar.ffn_dim));
      if (ar.has(rvne::kBlockRope)) b = sat_add(b, arena_bytes<float>(W * hd));
      // SparseAttention::run_prefill: landmark means, transposed keys (GQA/MQA), scores.
      b = sat_add(b, 2 * arena_bytes<float>(pattern.landmark_blocks(W) * kvw));
      if (h.q_heads / kvh >= 2) b = sat_add(b, arena_bytes<float>(kvw * detail::transposed_pitch(W)));
      b = sat_add(b, scores(W));
    } else {
      const std::size_t cap = cfg.capacity, L = h.layers;
      const EvictionPolicy policy = EvictionPolicy::sliding_window(protected_prefix(h));
      const bool f16 = cfg.cache == CacheDtype::f16;
      const std::size_t one = f16 ? KvCache<float, Eigen::half>::arena_bytes(cap, kvh, hd, att.block_size, policy)
                                  : KvCache<float>::arena_bytes(cap, kvh, hd, att.block_size, policy);
      b = sat_add(b, f16 ? arena_bytes<KvCache<float, Eigen::half>>(L) : arena_bytes<KvCache<float>>(L));
      for (std::size_t l = 0; l < L; ++l) b = sat_add(b, one);
      b = sat_add(b, scores(cap));  // decode scores, sized for the capacity
      b = sat_add(b, arena_bytes<float>(D) + arena_bytes<float>(scratch) + 2 * arena_bytes<float>(qw) +
                         2 * arena_bytes<float>(kvw));
      b = sat_add(b, arena_bytes<float>(conv_state_values(h)));  // StepState::conv (v2 convolution)
    }
    return b;
  }

  /// `check`, then the bytes for `memory_needed` into `*bytes`.
  static Errc memory_needed(const std::uint8_t* blob, std::size_t len, const NodeConfig& cfg, std::size_t* bytes,
                            rvne::ParseResult* why = nullptr) noexcept {
    if (bytes == nullptr) return Errc::invalid_argument;
    rvne::BlobView view;
    const Errc e = check(blob, len, cfg, &view, why);
    if (e != Errc::ok) return e;
    return guarded([&] { *bytes = memory_needed(view, cfg); });
  }

  /// Validates (`check`) and builds a node in `memory` (`memory_len` bytes,
  /// at least `memory_needed`; null: allocated here with std::malloc and
  /// freed by `destroy`). The blob's bytes must outlive the node. On success
  /// `*out` is the node, which lives at the front of the memory; on failure
  /// `*out` is untouched and nothing is kept. Codes: those of `check`,
  /// invalid_argument for a null `out`, no_memory for memory too small or a
  /// failed allocation. Runs one warm-up step (stream) or forward (ring) so
  /// that nothing is allocated later.
  static Errc create(const std::uint8_t* blob, std::size_t len, const NodeConfig& cfg, void* memory,
                     std::size_t memory_len, NodeImpl** out, rvne::ParseResult* why = nullptr) noexcept {
    if (out == nullptr) return Errc::invalid_argument;
    rvne::BlobView view;
    Errc e = check(blob, len, cfg, &view, why);
    if (e != Errc::ok) return e;
    std::size_t need = 0;
    e = guarded([&] { need = memory_needed(view, cfg); });
    if (e != Errc::ok) return e;
    bool owned = false;
    if (memory == nullptr) {
      memory = std::malloc(need);
      if (memory == nullptr) return Errc::no_memory;
      memory_len = need;
      owned = true;
    } else if (memory_len < need) {
      return Errc::no_memory;
    }
    NodeImpl* node = nullptr;
    e = guarded([&] {
      Arena arena(memory, memory_len);
      void* at = arena.allocate(sizeof(NodeImpl));
      node = ::new (at) NodeImpl(view, cfg, arena, memory, owned);
    });
    if (e != Errc::ok) {
      if (owned) std::free(memory);
      return e;
    }
    *out = node;
    return Errc::ok;
  }

  /// Destroys a node made by `create` (frees its memory if `create`
  /// allocated it). Safe on null.
  static void destroy(NodeImpl* node) noexcept {
    if (node == nullptr) return;
    void* memory = node->memory_;
    const bool owned = node->owned_;
    node->~NodeImpl();
    if (owned) std::free(memory);
  }

  NodeImpl(const NodeImpl&) = delete;
  NodeImpl& operator=(const NodeImpl&) = delete;

  const NodeConfig& config() const noexcept { return cfg_; }
  const Model& model() const noexcept { return model_; }
  /// Bytes of the caller memory in use (equals memory_needed minus unused alignment slack).
  std::size_t memory_used() const noexcept { return arena_.used(); }
  /// Frames held: in the ring (<= window_len), or in the stream's caches.
  std::size_t frames() const noexcept {
    return cfg_.mode == NodeMode::ring ? ring_count_ : (c16_ != nullptr ? c16_[0].size() : c32_[0].size());
  }

  /// Takes one frame of `input_dim` floats. Stream mode: runs it and writes
  /// the `n_classes` logits to `logits` when it is not null. Ring mode:
  /// stores it (the oldest frame drops out of a full ring); `logits` is not
  /// written. invalid_argument for a null frame, non_finite for a frame
  /// holding a NaN or an infinity (both modes; state and `logits` unchanged:
  /// in stream mode such a first frame would sit in the global slot 0 and
  /// make every later logit NaN). O(input_dim) check.
  Errc push(const float* frame, float* logits) noexcept {
    if (frame == nullptr) return Errc::invalid_argument;
    const std::size_t D = cfg_.input_dim;
    for (std::size_t i = 0; i < D; ++i) {
      if (!std::isfinite(frame[i])) return Errc::non_finite;
    }
    if (cfg_.mode == NodeMode::ring) {
      std::memcpy(ring_ + ring_next_ * D, frame, D * sizeof(float));
      ring_next_ = (ring_next_ + 1) % cfg_.window_len;
      if (ring_count_ < cfg_.window_len) ++ring_count_;
      return Errc::ok;
    }
    step(frame);
    have_logits_ = true;
    if (logits != nullptr) std::memcpy(logits, logits_, cfg_.n_classes * sizeof(float));
    return Errc::ok;
  }

  /// One raw CSI frame (the 0xC5110001 datagram's I/Q pairs from offset 20,
  /// `n_subcarriers` pairs of signed bytes; a multi-antenna frame's first
  /// antenna) through the blob's featuriser (`io::featurize_iq`, the one the
  /// host trains with; with a `highpass` featuriser also its step 6, against
  /// a baseline the node keeps over the frames push_csi took since create or
  /// reset), then `push` of the features. Codes: no_featuriser
  /// for a blob without a csi-amplitude featuriser (v1, or a node-features
  /// one); invalid_argument for a null `iq`; skipped_frame when the
  /// featuriser filters the frame out (another subcarrier count than the
  /// blob's, or every pair null): not an error, nothing changed; non_finite
  /// when a feature is NaN or infinite (e.g. a standardisation scale that
  /// overflows); otherwise `push`'s. Refused or skipped: state and `logits`
  /// unchanged. O(n_subcarriers + input_dim) before the model; no allocation.
  Errc push_csi(const std::int8_t* iq, std::uint32_t n_subcarriers, float* logits) noexcept {
    if (feat_ == nullptr || model_.featurizer().source != io::FeatureSource::csi_amplitude) return Errc::no_featuriser;
    if (iq == nullptr) return Errc::invalid_argument;
    const io::FeaturizerConfig& f = model_.featurizer();
    const io::FrameResult r = io::featurize_iq(f, iq, n_subcarriers, feat_);
    if (r != io::FrameResult::ok) return Errc::skipped_frame;
    io::subtract_baseline(f, baseline_, baseline_seen_, feat_);  // step 6 (highpass blobs)
    const Errc e = push(feat_, logits);
    if (e == Errc::ok) io::update_baseline(f, baseline_, baseline_seen_, feat_);  // refused: baseline unchanged
    return e;
  }

  /// Writes `n_classes` logits: ring mode, `forward` over the frames in the
  /// ring, oldest first, pooled as the blob says (v1: mean), positions from
  /// 0; stream mode, the newest push's.
  /// invalid_argument for null logits or an n_classes other than the
  /// configuration's, invalid_state when no frame was pushed since create or
  /// reset. Nothing changes on error.
  Errc classify(float* logits, std::size_t n_classes) noexcept {
    if (logits == nullptr || n_classes != cfg_.n_classes) return Errc::invalid_argument;
    if (cfg_.mode == NodeMode::stream) {
      if (!have_logits_) return Errc::invalid_state;
      std::memcpy(logits, logits_, n_classes * sizeof(float));
      return Errc::ok;
    }
    if (ring_count_ == 0) return Errc::invalid_state;
    forward_ring(logits);
    return Errc::ok;
  }

  /// Forgets every frame; keeps the memory. The next stream frame is at position 0.
  void reset() noexcept {
    ring_count_ = 0;
    ring_next_ = 0;
    have_logits_ = false;
    baseline_seen_ = 0;
    state_.position = 0;
    state_.frames = 0;
    for (std::size_t l = 0; l < model_.layers() && cfg_.mode == NodeMode::stream; ++l) {
      if (c16_ != nullptr) {
        c16_[l].clear();
      } else {
        c32_[l].clear();
      }
    }
  }

 private:
  // Slot 0 holds the default global token; sliding-window eviction keeps it.
  static constexpr std::size_t kProtectedPrefix = 1;

  /// The attention the node runs: v1 the AETHER default, v2 the blob's own.
  static ModelAttention attention(const rvne::Header& h) {
    return h.version == rvne::kVersion2 ? Model::attention_of(h) : ModelAttention{};
  }
  /// Its block size, and the global tokens' prefix its sliding-window caches
  /// protect (`TemporalHead::eviction_policy`), without allocating.
  static std::size_t block_size(const rvne::Header& h) noexcept {
    return h.version == rvne::kVersion2 ? h.arch.attention.block_size : ModelAttention{}.block_size;
  }
  static std::size_t protected_prefix(const rvne::Header& h) noexcept {
    if (h.version != rvne::kVersion2) return kProtectedPrefix;
    std::size_t prefix = 0;
    for (std::size_t i = 0; i < h.arch.attention.global_count; ++i) {
      prefix = std::max<std::size_t>(prefix, std::size_t{h.arch.attention.globals[i]} + 1);
    }
    return prefix;
  }
  static bool has_featurizer(const rvne::Header& h) noexcept {
    return h.version == rvne::kVersion2 && h.arch.features.kind != rvne::FeatureKind::none;
  }
  /// `TemporalModel::scratch_size()` of a model over `h` (the model's own formula).
  static std::size_t step_scratch(const rvne::Header& h) noexcept { return Model::scratch_size(h); }
  /// `TemporalModel::conv_state_size()` of a model over `h`.
  static std::size_t conv_state_values(const rvne::Header& h) noexcept {
    if (h.version != rvne::kVersion2 || !h.arch.has(rvne::kBlockConv)) return 0;
    const std::size_t rows = static_cast<std::size_t>(block::conv_reach(h.arch.conv_kernel, h.arch.conv_dilation)) + 1;
    return std::size_t{h.layers} * rows * h.model_dim();
  }
  /// Whether a forward over `h` uses `ForwardWorkspace::u` (v2 input projection, norms or convolution).
  static bool uses_u(const rvne::Header& h) noexcept {
    return h.version == rvne::kVersion2 &&
           (h.arch.has(rvne::kBlockInputProjection) || h.arch.has(rvne::kBlockNorm) || h.arch.has(rvne::kBlockConv));
  }

  static SparseConfig sparse_config(const ModelAttention& a) {
    SparseConfig c;
    c.window = a.window;
    c.block_size = a.block_size;
    c.global_tokens = a.global_tokens;
    c.causal = a.causal;
    return c;
  }

  /// Runs `f`; with exceptions on, an escaping std::bad_alloc becomes
  /// no_memory and any other aether::Error its code (neither happens for
  /// validated input; without exceptions an allocation failure aborts).
  template <class F>
  static Errc guarded(F&& f) noexcept {
#if AETHER_EXCEPTIONS
    try {
      f();
    } catch (const std::bad_alloc&) {
      return Errc::no_memory;
    } catch (const Error& err) {
      return err.code();
    } catch (...) {
      return Errc::invalid_state;
    }
#else
    f();
#endif
    return Errc::ok;
  }

  static float* floats(Arena& a, std::size_t n) {
    return n == 0 ? nullptr : static_cast<float*>(a.allocate(n * sizeof(float)));
  }

  NodeImpl(const rvne::BlobView& view, const NodeConfig& cfg, Arena& arena, void* memory, bool owned)
      : cfg_(cfg),
        arena_(arena),
        memory_(memory),
        owned_(owned),
        widened_(Model::reads_in_place(view)
                     ? nullptr
                     : floats(arena_, static_cast<std::size_t>(rvne::layout_elements(view.header)))),
        model_(view, ModelAttention{}, widened_),
        logits_(floats(arena_, model_.classes())),
        feat_(has_featurizer(view.header) ? floats(arena_, model_.input_dim()) : nullptr),
        baseline_(has_featurizer(view.header) && view.header.arch.features.highpass != 0
                      ? floats(arena_, model_.input_dim())
                      : nullptr),
        fw_(&arena_),
        ws_(&arena_) {
    const rvne::Header& h = model_.header();
    const std::size_t D = h.input_dim, qw = std::size_t{h.q_heads} * h.head_dim,
                      kvw = std::size_t{h.kv_heads} * h.head_dim;
    if (cfg_.mode == NodeMode::ring) {
      ring_ = floats(arena_, std::size_t{cfg_.window_len} * D);
      std::fill(ring_, ring_ + std::size_t{cfg_.window_len} * D, 0.f);
      ring_count_ = cfg_.window_len;
      presize_forward(cfg_.window_len);
      forward_ring(logits_);  // warm-up: sizes the attention scratch for window_len frames
      reset();
      return;
    }
    const std::size_t L = model_.layers();
    if (cfg_.cache == CacheDtype::f16) {
      c16_ = make_caches<Eigen::half>(L);
    } else {
      c32_ = make_caches<float>(L);
    }
    // step_frame overwrites x_ with the residual stream only without an input
    // projection, and then d_model == input_dim: input_dim floats suffice.
    x_ = floats(arena_, D);
    scratch_ = floats(arena_, model_.scratch_size());
    q_ = floats(arena_, qw);
    a_ = floats(arena_, qw);
    k_ = floats(arena_, kvw);
    v_ = floats(arena_, kvw);
    state_.conv = floats(arena_, model_.conv_state_size());
    std::fill(x_, x_ + D, 0.f);
    step(x_);  // warm-up: sizes ws_ for the capacity
    reset();
  }

  ~NodeImpl() {
    for (std::size_t l = 0; l < model_.layers(); ++l) {
      if (c16_ != nullptr) c16_[l].~KvCache();
      if (c32_ != nullptr) c32_[l].~KvCache();
    }
  }

  template <class S>
  KvCache<float, S>* make_caches(std::size_t layers) {
    auto* caches = static_cast<KvCache<float, S>*>(arena_.allocate(layers * sizeof(KvCache<float, S>)));
    for (std::size_t l = 0; l < layers; ++l) {
      ::new (caches + l) KvCache<float, S>(model_.head().template make_cache<S>(cfg_.capacity, Eviction::sliding_window,
                                                                                &arena_));
    }
    return caches;
  }

  void step(const float* frame) {
    const rvne::Header& h = model_.header();
    std::memmove(x_, frame, std::size_t{h.input_dim} * sizeof(float));
    const Tensor3View<float> q(q_, 1, h.q_heads, h.head_dim), k(k_, 1, h.kv_heads, h.head_dim),
        v(v_, 1, h.kv_heads, h.head_dim), a(a_, 1, h.q_heads, h.head_dim);
    if (c16_ != nullptr) {
      model_.step_frame(x_, c16_, q, k, v, a, scratch_, ws_, logits_, nullptr, &state_);
    } else {
      model_.step_frame(x_, c32_, q, k, v, a, scratch_, ws_, logits_, nullptr, &state_);
    }
  }

  /// Sizes every `ForwardWorkspace` buffer a forward of `W` frames grows,
  /// each once and to its final size (the input projection swaps `h` and
  /// `u`, so both hold max(input_dim, d_model) per frame): exactly the arena
  /// pieces `memory_needed` counts, whatever the container's growth policy.
  void presize_forward(std::size_t W) {
    const rvne::Header& h = model_.header();
    const rvne::Architecture& ar = model_.arch();
    const std::size_t D = h.input_dim, d = model_.model_dim(), hw = std::max(D, d),
                      qw = std::size_t{h.q_heads} * h.head_dim, kvw = std::size_t{h.kv_heads} * h.head_dim;
    fw_.h.resize(W * hw);
    fw_.q.resize(W * qw);
    fw_.k.resize(W * kvw);
    fw_.v.resize(W * kvw);
    fw_.a.resize(W * qw);
    fw_.row.resize(model_.scratch_size());
    fw_.pooled.resize(d);
    if (uses_u(h)) fw_.u.resize(W * hw);
    if (ar.has(rvne::kBlockConv)) fw_.c.resize(d);
    if (ar.has(rvne::kBlockFfn)) fw_.f.resize(ar.ffn_dim);
    if (ar.has(rvne::kBlockRope)) fw_.cs.resize(W * h.head_dim);
  }

  void forward_ring(float* logits) {
    const std::size_t D = cfg_.input_dim, W = cfg_.window_len, n = ring_count_;
    float* x = fw_.frames(n, D);
    const std::size_t oldest = n < W ? 0 : ring_next_;  // a full ring's oldest frame is the next to be overwritten
    for (std::size_t i = 0; i < n; ++i) std::memcpy(x + i * D, ring_ + ((oldest + i) % W) * D, D * sizeof(float));
    model_.forward_frames(n, model_.pool(), fw_, logits, nullptr, /*first_position=*/0);
  }

  NodeConfig cfg_;
  Arena arena_;
  void* memory_ = nullptr;
  bool owned_ = false;
  float* widened_ = nullptr;
  Model model_;
  float* logits_ = nullptr;
  float* feat_ = nullptr;  // push_csi's feature row (v2 blobs with a featuriser), else null
  float* baseline_ = nullptr;        // push_csi's step-6 baseline (featuriser highpass > 0), else null
  std::uint64_t baseline_seen_ = 0;  // frames push_csi took since create or reset
  ForwardWorkspace<float> fw_;
  Workspace<float> ws_;
  // ring mode
  float* ring_ = nullptr;
  std::size_t ring_count_ = 0, ring_next_ = 0;
  // stream mode
  KvCache<float>* c32_ = nullptr;
  KvCache<float, Eigen::half>* c16_ = nullptr;
  float *x_ = nullptr, *scratch_ = nullptr, *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *a_ = nullptr;
  typename Model::StepState state_;  // RoPE position and convolution history (conv: arena memory, null without)
  bool have_logits_ = false;
};

}  // namespace detail

/// The sensor node's classifier (see the top of this file).
using Node = detail::NodeImpl<float>;

}  // namespace aether
