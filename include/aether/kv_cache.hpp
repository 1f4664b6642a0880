#pragma once
/// \file kv_cache.hpp
/// `KvCache<T, Storage>`: keys, values and block landmark means of a token
/// stream, for streaming decode. It stores and hands out views; it never
/// computes attention.

#include <aether/arena.hpp>
#include <aether/detail/row_kernel.hpp>
#include <aether/error.hpp>
#include <aether/tensor.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace aether {

/// What a full `KvCache` does on `append`.
enum class Eviction : std::uint8_t {
  none,            ///< refuse with `Errc::cache_full` (the default)
  sliding_window,  ///< drop the oldest unprotected tokens, `block_size` at a time
  heavy_hitter,    ///< drop the unprotected token with the lowest accumulated attention
};

/// Eviction options of a `KvCache`.
///
/// Positions after eviction: the cache is always compacted, and attention
/// treats slot `s` as sequence position `s` (the surviving tokens form a fresh
/// sequence, in arrival order). Decoding therefore equals a from-scratch
/// computation over the surviving tokens. Global tokens are positions, so the
/// first `protected_prefix` slots (set it to `max(global_tokens) + 1`) are never
/// evicted and keep their positions. `KvCache::origin(s)` tells which stream
/// token (0-based arrival index) a slot holds.
struct EvictionPolicy {
  Eviction kind = Eviction::none;
  std::size_t protected_prefix = 1;  ///< slots [0, protected_prefix) are never evicted
  std::size_t recent = 0;            ///< the newest `recent` tokens are never evicted

  /// Keep the prefix and the newest tokens; drop the oldest others in blocks.
  static EvictionPolicy sliding_window(std::size_t protected_prefix = 1) {
    return {Eviction::sliding_window, protected_prefix, 0};
  }
  /// Keep the prefix and the newest `recent` tokens; drop the least-attended other
  /// token (attention accumulated by decode calls that are given this cache mutably).
  static EvictionPolicy heavy_hitter(std::size_t recent, std::size_t protected_prefix = 1) {
    return {Eviction::heavy_hitter, protected_prefix, recent};
  }
};

/// Keys/values of tokens `0 .. size()-1` plus the landmark mean of every
/// complete block of `block_size` tokens.
///
/// - Storage: `[capacity, kv_heads, dim]` keys and values of type `Storage`
///   (T, or `Eigen::half` for an fp16 cache: half the bytes, widened to T when
///   read), plus the keys once more transposed (`[kv_heads * dim, ~capacity]`,
///   what makes window scores vectorise across positions: keys cost twice
///   their size), allocated once at construction; landmark means `[capacity /
///   block_size, kv_heads, dim]` of type T. Nothing allocates afterwards.
/// - Block means are computed by the same function, in the same order, as the
///   prefill kernel's, so decode over a `KvCache<T>` reproduces prefill bit for bit.
/// - Errors: a wrong shape or a full cache throws `aether::Error` and leaves the
///   cache exactly as it was (checks happen before any write).
/// - Thread safety: const methods may run concurrently; mutation needs exclusive access.
template <class T, class Storage = T>
class KvCache {
 public:
  using value_type = T;
  using storage_type = Storage;

  /// `Errc::ok`, or `Errc::invalid_argument` when the constructor would
  /// refuse these arguments (a size 0, a capacity too large to allocate, a
  /// policy leaving no evictable slot). Never throws or allocates: the
  /// constructor's validator.
  static Errc check_args(std::size_t capacity, std::size_t kv_heads, std::size_t dim, std::size_t block_size,
                         EvictionPolicy policy = {}) noexcept {
    if (capacity == 0 || kv_heads == 0 || dim == 0 || block_size == 0) return Errc::invalid_argument;
    if (capacity > std::vector<Storage>().max_size() / (kv_heads * dim)) return Errc::invalid_argument;
    if (policy.kind != Eviction::none &&
        (policy.protected_prefix >= capacity || policy.recent >= capacity - policy.protected_prefix)) {
      return Errc::invalid_argument;
    }
    return Errc::ok;
  }

  /// Throws `Errc::invalid_argument` if any size is 0, or if `policy` would
  /// leave no evictable slot (`protected_prefix + recent >= capacity`).
  /// Memory comes from `arena` when given (node profile), else the heap.
  KvCache(std::size_t capacity, std::size_t kv_heads, std::size_t dim, std::size_t block_size,
          EvictionPolicy policy = {}, Arena* arena = nullptr)
      : capacity_(capacity),
        kv_heads_(kv_heads),
        dim_(dim),
        block_size_(block_size),
        policy_(policy),
        origin_(ArenaAllocator<std::uint64_t>(arena)),
        attention_(ArenaAllocator<T>(arena)),
        keys_(ArenaAllocator<Storage>(arena)),
        values_(ArenaAllocator<Storage>(arena)),
        keys_t_(ArenaAllocator<Storage>(arena)),
        landmark_keys_(ArenaAllocator<T>(arena)),
        landmark_values_(ArenaAllocator<T>(arena)) {
    if (check_args(capacity, kv_heads, dim, block_size, policy) != Errc::ok) describe_bad_args();
    const std::size_t row = kv_heads * dim;
    keys_.assign(capacity * row, Storage(0));
    keys_t_.assign(row * detail::transposed_pitch(capacity), Storage(0));
    values_.assign(capacity * row, Storage(0));
    landmark_keys_.assign(capacity / block_size * row, T(0));
    landmark_values_.assign(capacity / block_size * row, T(0));
    if (policy.kind != Eviction::none) {
      origin_.assign(capacity, 0);
      attention_.assign(capacity, T(0));
    }
  }

  /// Bytes a cache of these arguments takes from an arena (what the
  /// constructor allocates). No allocation.
  static std::size_t arena_bytes(std::size_t capacity, std::size_t kv_heads, std::size_t dim, std::size_t block_size,
                                 EvictionPolicy policy = {}) noexcept {
    const std::size_t row = kv_heads * dim;
    std::size_t b = 0;
    b = detail::sat_add(b, 2 * detail::arena_bytes<Storage>(capacity * row));
    b = detail::sat_add(b, detail::arena_bytes<Storage>(row * detail::transposed_pitch(capacity)));
    b = detail::sat_add(b, 2 * detail::arena_bytes<T>(capacity / block_size * row));
    if (policy.kind != Eviction::none) {
      b = detail::sat_add(b, detail::arena_bytes<std::uint64_t>(capacity));
      b = detail::sat_add(b, detail::arena_bytes<T>(capacity));
    }
    return b;
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t kv_heads() const noexcept { return kv_heads_; }
  std::size_t dim() const noexcept { return dim_; }
  std::size_t block_size() const noexcept { return block_size_; }
  bool full() const noexcept { return size_ == capacity_; }
  /// Whether `rows` more tokens can be appended now: always with an eviction
  /// policy, else while they fit in the free slots (`append` refuses
  /// otherwise with `Errc::cache_full`).
  bool accepts(std::size_t rows = 1) const noexcept {
    return policy_.kind != Eviction::none || rows <= capacity_ - size_;
  }
  bool empty() const noexcept { return size_ == 0; }
  /// Number of complete blocks, i.e. landmark means available.
  std::size_t complete_blocks() const noexcept { return size_ / block_size_; }
  const EvictionPolicy& eviction() const noexcept { return policy_; }
  /// Stream index (0-based arrival order) of the token in slot `s`; equals `s`
  /// until something is evicted. Unchecked.
  std::uint64_t origin(std::size_t s) const noexcept { return origin_.empty() ? s : origin_[s]; }
  /// Tokens appended since construction or `clear()` (evicted ones included).
  std::uint64_t appended() const noexcept { return appended_; }
  /// Accumulated attention weight of slot `s` (heavy-hitter caches; else 0).
  T attention(std::size_t s) const noexcept { return attention_.empty() ? T(0) : attention_[s]; }
  /// Where decode adds attention weights (indexed by slot), or null when this
  /// cache does not track them (only heavy-hitter caches do).
  T* attention_sink() noexcept { return policy_.kind == Eviction::heavy_hitter ? attention_.data() : nullptr; }

  /// Bytes held by keys (both layouts) and values; landmarks excluded.
  std::size_t storage_bytes() const noexcept {
    return (keys_.size() + keys_t_.size() + values_.size()) * sizeof(Storage);
  }

  /// Appends one token; `k1`, `v1` are `(1, kv_heads, dim)`. Cost O(kv_heads *
  /// dim), plus O(block_size * kv_heads * dim) when it completes a block. A full
  /// cache evicts first per its policy (sliding window: O(capacity * kv_heads *
  /// dim) once every block_size appends; heavy hitter: that much on every
  /// append once full), or throws `Errc::cache_full` without a policy.
  void append(Tensor3View<const T> k1, Tensor3View<const T> v1) {
    check_rows(k1, v1, 1);
    push_token(k1.data(), v1.data());
  }

  /// Appends every token of `k`, `v` (`(m, kv_heads, dim)`), as m `append`s.
  /// All-or-nothing: throws before writing if the shapes are wrong or (without
  /// an eviction policy) the m tokens do not fit.
  void append_all(Tensor3View<const T> k, Tensor3View<const T> v) {
    check_rows(k, v, k.seq());
    const std::size_t row = kv_heads_ * dim_;
    for (std::size_t t = 0; t < k.seq(); ++t) push_token(k.data() + t * row, v.data() + t * row);
  }

  /// Forgets every token; keeps the allocation. O(1).
  void clear() noexcept {
    size_ = 0;
    appended_ = 0;
  }

  /// Keys `(size, kv_heads, dim)`, non-owning, valid until the next mutation.
  Tensor3View<const Storage> keys() const noexcept { return {keys_.data(), size_, kv_heads_, dim_}; }
  /// Values `(size, kv_heads, dim)`, non-owning, valid until the next mutation.
  Tensor3View<const Storage> values() const noexcept { return {values_.data(), size_, kv_heads_, dim_}; }
  /// Landmark key means `(complete_blocks, kv_heads, dim)`.
  Tensor3View<const T> landmark_keys() const noexcept {
    return {landmark_keys_.data(), complete_blocks(), kv_heads_, dim_};
  }
  /// Landmark value means `(complete_blocks, kv_heads, dim)`.
  Tensor3View<const T> landmark_values() const noexcept {
    return {landmark_values_.data(), complete_blocks(), kv_heads_, dim_};
  }

  /// Token rows of kv head `h` (row of position j at `k + j * stride`).
  detail::RowSource<Storage> token_rows(std::size_t h) const noexcept {
    return {keys_.data() + h * dim_, values_.data() + h * dim_, kv_heads_ * dim_, keys_t_.data() + h * dim_ * kt_pitch(),
            kt_pitch()};
  }
  /// Landmark rows of kv head `h` (row of block b at `k + b * stride`).
  detail::RowSource<T> landmark_rows(std::size_t h) const noexcept {
    return {landmark_keys_.data() + h * dim_, landmark_values_.data() + h * dim_, kv_heads_ * dim_};
  }

 private:
  /// The constructor's message for arguments `check_args` refused.
  [[noreturn]] void describe_bad_args() const {
    if (capacity_ == 0 || kv_heads_ == 0 || dim_ == 0 || block_size_ == 0) {
      detail::fail(Errc::invalid_argument, "KvCache(capacity=" + std::to_string(capacity_) + ", kv_heads=" +
                                               std::to_string(kv_heads_) + ", dim=" + std::to_string(dim_) +
                                               ", block_size=" + std::to_string(block_size_) + "): all must be >= 1");
    }
    if (capacity_ > std::vector<Storage>().max_size() / (kv_heads_ * dim_)) {
      detail::fail(Errc::invalid_argument, "KvCache capacity " + std::to_string(capacity_) + " is too large");
    }
    detail::fail(Errc::invalid_argument, "EvictionPolicy protects protected_prefix " +
                                             std::to_string(policy_.protected_prefix) + " + recent " +
                                             std::to_string(policy_.recent) + " of capacity " +
                                             std::to_string(capacity_) + " slots: nothing could be evicted");
  }

  template <class X>
  void check_rows(const Tensor3View<X>& k, const Tensor3View<X>& v, std::size_t rows) const {
    auto shape = [](const Tensor3View<X>& t) {
      return "(" + std::to_string(t.seq()) + ", " + std::to_string(t.heads()) + ", " + std::to_string(t.dim()) + ")";
    };
    if (k.seq() != rows || k.heads() != kv_heads_ || k.dim() != dim_ || v.seq() != k.seq() ||
        v.heads() != kv_heads_ || v.dim() != dim_) {
      detail::fail(Errc::shape_mismatch, "KvCache append: k " + shape(k) + ", v " + shape(v) + ", expected (" +
                                             std::to_string(rows) + ", " + std::to_string(kv_heads_) + ", " +
                                             std::to_string(dim_) + ") each");
    }
    if (!accepts(rows)) {
      detail::fail(Errc::cache_full, "KvCache holds " + std::to_string(size_) + " of " + std::to_string(capacity_) +
                                         " tokens; cannot append " + std::to_string(rows));
    }
  }

  void push_token(const T* k, const T* v) {
    const std::size_t row = kv_heads_ * dim_;
    if (size_ == capacity_) evict();
    if (!origin_.empty()) {
      origin_[size_] = appended_;
      attention_[size_] = T(0);
    }
    ++appended_;
    Storage* kd = keys_.data() + size_ * row;
    Storage* vd = values_.data() + size_ * row;
    for (std::size_t e = 0; e < row; ++e) {
      kd[e] = static_cast<Storage>(k[e]);
      vd[e] = static_cast<Storage>(v[e]);
      keys_t_[e * kt_pitch() + size_] = kd[e];
    }
    ++size_;
    if (size_ % block_size_ == 0) update_landmark(size_ / block_size_ - 1);
  }

  /// Frees at least one slot per the policy (the cache is full and has one).
  void evict() {
    const std::size_t first = policy_.protected_prefix;
    if (policy_.kind == Eviction::sliding_window) {
      remove_slots(first, std::min(block_size_, size_ - first));
      return;
    }
    // Heavy hitter: the least-attended slot outside the prefix and the recent
    // window; ties go to the oldest.
    const std::size_t last = size_ - policy_.recent;  // exclusive
    std::size_t victim = first;
    for (std::size_t s = first + 1; s < last; ++s) {
      if (attention_[s] < attention_[victim]) victim = s;
    }
    remove_slots(victim, 1);
  }

  /// Removes slots [at, at + count), compacts the rest and recomputes the
  /// landmark means of every block from the first changed one on.
  void remove_slots(std::size_t at, std::size_t count) {
    const std::size_t row = kv_heads_ * dim_;
    auto shift = [&](auto& vec, std::size_t width) {
      std::copy(vec.begin() + (at + count) * width, vec.begin() + size_ * width, vec.begin() + at * width);
    };
    shift(keys_, row);
    shift(values_, row);
    shift(origin_, 1);
    shift(attention_, 1);
    for (std::size_t e = 0; e < row; ++e) {  // each transposed row is one key element over the slots
      auto r = keys_t_.begin() + static_cast<std::ptrdiff_t>(e * kt_pitch());
      std::copy(r + static_cast<std::ptrdiff_t>(at + count), r + static_cast<std::ptrdiff_t>(size_),
                r + static_cast<std::ptrdiff_t>(at));
    }
    size_ -= count;
    for (std::size_t b = at / block_size_; b < size_ / block_size_; ++b) update_landmark(b);
  }

  std::size_t kt_pitch() const noexcept { return detail::transposed_pitch(capacity_); }

  void update_landmark(std::size_t b) {
    const std::size_t row = kv_heads_ * dim_;
    for (std::size_t h = 0; h < kv_heads_; ++h) {
      const std::size_t src = b * block_size_ * row + h * dim_;
      const std::size_t dst = b * row + h * dim_;
      detail::block_mean(keys_.data() + src, row, block_size_, dim_, landmark_keys_.data() + dst);
      detail::block_mean(values_.data() + src, row, block_size_, dim_, landmark_values_.data() + dst);
    }
  }

  std::size_t capacity_, kv_heads_, dim_, block_size_;
  EvictionPolicy policy_;
  std::size_t size_ = 0;
  std::uint64_t appended_ = 0;
  std::vector<std::uint64_t, ArenaAllocator<std::uint64_t>> origin_;  // per slot, only with an eviction policy
  std::vector<T, ArenaAllocator<T>> attention_;                       // per slot, only with an eviction policy
  std::vector<Storage, ArenaAllocator<Storage>> keys_, values_;
  // The keys again, transposed ((kv_heads * dim) x capacity, row-major): the
  // window scores of decode read 16 consecutive slots per key element.
  std::vector<Storage, ArenaAllocator<Storage>> keys_t_;
  std::vector<T, ArenaAllocator<T>> landmark_keys_, landmark_values_;
};

/// fp16 KV cache (the reference's `KvCacheF16`): fp16 storage, float math.
using KvCacheF16 = KvCache<float, Eigen::half>;

}  // namespace aether
