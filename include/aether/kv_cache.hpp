#pragma once
/// \file kv_cache.hpp
/// `KvCache<T, Storage>`: keys, values and block landmark means of a token
/// stream, for streaming decode. It stores and hands out views; it never
/// computes attention.

#include <aether/detail/row_kernel.hpp>
#include <aether/error.hpp>
#include <aether/tensor.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <string>
#include <vector>

namespace aether {

/// Keys/values of tokens `0 .. size()-1` plus the landmark mean of every
/// complete block of `block_size` tokens.
///
/// - Storage: `[capacity, kv_heads, dim]` keys and values of type `Storage`
///   (T, or `Eigen::half` for an fp16 cache: half the bytes, widened to T when
///   read), allocated once at construction; landmark means `[capacity /
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

  /// Throws `Errc::invalid_argument` if any argument is 0.
  KvCache(std::size_t capacity, std::size_t kv_heads, std::size_t dim, std::size_t block_size)
      : capacity_(capacity), kv_heads_(kv_heads), dim_(dim), block_size_(block_size) {
    if (capacity == 0 || kv_heads == 0 || dim == 0 || block_size == 0) {
      detail::fail(Errc::invalid_argument, "KvCache(capacity=" + std::to_string(capacity) + ", kv_heads=" +
                                               std::to_string(kv_heads) + ", dim=" + std::to_string(dim) +
                                               ", block_size=" + std::to_string(block_size) + "): all must be >= 1");
    }
    const std::size_t row = kv_heads * dim;
    if (capacity > std::vector<Storage>().max_size() / row) {
      detail::fail(Errc::invalid_argument, "KvCache capacity " + std::to_string(capacity) + " is too large");
    }
    keys_.assign(capacity * row, Storage(0));
    values_.assign(capacity * row, Storage(0));
    landmark_keys_.assign(capacity / block_size * row, T(0));
    landmark_values_.assign(capacity / block_size * row, T(0));
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t kv_heads() const noexcept { return kv_heads_; }
  std::size_t dim() const noexcept { return dim_; }
  std::size_t block_size() const noexcept { return block_size_; }
  bool full() const noexcept { return size_ == capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  /// Number of complete blocks, i.e. landmark means available.
  std::size_t complete_blocks() const noexcept { return size_ / block_size_; }
  /// Bytes held by keys and values (landmarks excluded).
  std::size_t storage_bytes() const noexcept { return (keys_.size() + values_.size()) * sizeof(Storage); }

  /// Appends one token; `k1`, `v1` are `(1, kv_heads, dim)`. Cost O(kv_heads *
  /// dim), plus O(block_size * kv_heads * dim) when it completes a block.
  void append(Tensor3View<const T> k1, Tensor3View<const T> v1) {
    check_rows(k1, v1, 1);
    push_token(k1.data(), v1.data());
  }

  /// Appends every token of `k`, `v` (`(m, kv_heads, dim)`), as m `append`s.
  /// All-or-nothing: throws before writing if the shapes are wrong or m tokens do not fit.
  void append_all(Tensor3View<const T> k, Tensor3View<const T> v) {
    check_rows(k, v, k.seq());
    const std::size_t row = kv_heads_ * dim_;
    for (std::size_t t = 0; t < k.seq(); ++t) push_token(k.data() + t * row, v.data() + t * row);
  }

  /// Forgets every token; keeps the allocation. O(1).
  void clear() noexcept { size_ = 0; }

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
    return {keys_.data() + h * dim_, values_.data() + h * dim_, kv_heads_ * dim_};
  }
  /// Landmark rows of kv head `h` (row of block b at `k + b * stride`).
  detail::RowSource<T> landmark_rows(std::size_t h) const noexcept {
    return {landmark_keys_.data() + h * dim_, landmark_values_.data() + h * dim_, kv_heads_ * dim_};
  }

 private:
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
    if (rows > capacity_ - size_) {
      detail::fail(Errc::cache_full, "KvCache holds " + std::to_string(size_) + " of " + std::to_string(capacity_) +
                                         " tokens; cannot append " + std::to_string(rows));
    }
  }

  void push_token(const T* k, const T* v) {
    const std::size_t row = kv_heads_ * dim_;
    Storage* kd = keys_.data() + size_ * row;
    Storage* vd = values_.data() + size_ * row;
    for (std::size_t e = 0; e < row; ++e) {
      kd[e] = static_cast<Storage>(k[e]);
      vd[e] = static_cast<Storage>(v[e]);
    }
    ++size_;
    if (size_ % block_size_ == 0) update_landmark(size_ / block_size_ - 1);
  }

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
  std::size_t size_ = 0;
  std::vector<Storage, Eigen::aligned_allocator<Storage>> keys_, values_;
  std::vector<T, Eigen::aligned_allocator<T>> landmark_keys_, landmark_values_;
};

/// fp16 KV cache (the reference's `KvCacheF16`): fp16 storage, float math.
using KvCacheF16 = KvCache<float, Eigen::half>;

}  // namespace aether
