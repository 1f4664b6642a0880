#pragma once
/// \file gate_state.hpp
/// `GateState<T>`: the gate side of a gated stream (GATE.md, "Streaming"):
/// the FastGRNN hidden state, the salience of every token a `KvCache` holds
/// and the running top-k set over them, kept slot for slot beside the cache.

#include <aether/error.hpp>
#include <aether/fast_grnn_gate.hpp>
#include <aether/kv_cache.hpp>
#include <aether/tensor.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace aether {

/// Gate state of one stream against one `KvCache` of the same capacity.
///
/// `append(cache, k1, v1)` scores the new token's keys (pooled over kv heads,
/// exactly as `score_kv`) with one `FastGrnnGate::step`, appends it to the
/// cache and updates the top-k set. Without eviction, slot j is token j, and
/// after appending token t the set equals `keep_top_k(score_kv(k[0..t]),
/// top_k)` (same tie and NaN rules), so a gated decode of row t equals row t
/// of the gated prefill over tokens 0..t bit for bit (causal configurations).
/// With eviction the cache compacts; the saliences of the surviving tokens
/// follow their slots, evicted tokens leave the set, and the set is rebuilt
/// from the held saliences (top-k over the held tokens, ties to the lower
/// slot). The hidden state has seen the evicted tokens, so no prefill over
/// the held tokens reproduces it.
///
/// Cost per append: O(I H + H^2) for the cell; the set: O(log k) heap update,
/// plus, in salient mode's sorted list of kept slots, one binary search and a
/// move of at most k indices; after an eviction O(capacity) to move the
/// saliences and O(capacity) average to reselect the set plus O(k log k) to
/// sort it. Memory O(capacity) (allocated at construction; nothing after).
/// Ownership: refers to `gate`, which must outlive it. Not thread-safe.
template <class T>
class GateState {
 public:
  /// Throws `Errc::invalid_argument` for capacity 0.
  GateState(const FastGrnnGate<T>& gate, GateOptions opts, std::size_t capacity)
      : gate_(&gate), opts_(opts), capacity_(capacity), k_(std::min(opts.top_k, capacity)) {
    if (capacity == 0) detail::fail(Errc::invalid_argument, "GateState capacity is 0");
    h_.assign(gate.hidden_dim(), T(0));
    h_prev_.assign(gate.hidden_dim(), T(0));
    x_.assign(gate.input_dim(), T(0));
    salience_.assign(capacity, T(0));
    moved_.assign(capacity, T(0));
    origin_.assign(capacity, 0);
    keep_.assign(capacity, 0);
    order_.assign(capacity, 0);
    heap_.reserve(k_);
    kept_.reserve(k_);
    scratch_.reserve_cell(gate.input_dim(), gate.hidden_dim());
  }

  const FastGrnnGate<T>& gate() const noexcept { return *gate_; }
  const GateOptions& options() const noexcept { return opts_; }
  std::size_t capacity() const noexcept { return capacity_; }
  /// Tokens held (equal to the cache's size after every `append`).
  std::size_t size() const noexcept { return size_; }
  /// Salience of the token in slot s (s < size()); unchecked.
  T salience(std::size_t s) const noexcept { return salience_[s]; }
  /// Keep mask over the held slots (size() bytes, 1 = in the top-k set).
  const std::uint8_t* keep() const noexcept { return keep_.data(); }
  /// The kept slots, ascending.
  const std::vector<std::uint32_t>& kept() const noexcept { return kept_; }
  /// The gate's hidden state (hidden_dim values).
  const std::vector<T>& hidden() const noexcept { return h_; }

  /// Forgets every token and resets the hidden state to 0 (call with the cache's clear()).
  void clear() noexcept {
    size_ = 0;
    std::fill(h_.begin(), h_.end(), T(0));
    heap_.clear();
    kept_.clear();
  }

  /// Scores `k1` `(1, kv_heads, input_dim)`, appends `k1`, `v1` to `cache`
  /// and updates the set. Throws `Errc::shape_mismatch` for a wrong key width
  /// or a cache that does not match (capacity, or not in step with this
  /// state), and whatever `cache.append` throws; both are then unchanged.
  template <class S>
  void append(KvCache<T, S>& cache, Tensor3View<const T> k1, Tensor3View<const T> v1) {
    gate_->check_keys("GateState::append", k1);
    if (cache.capacity() != capacity_ || cache.size() != size_ || k1.seq() != 1) {
      detail::fail(Errc::shape_mismatch, "GateState::append: cache of " + std::to_string(cache.size()) + "/" +
                                             std::to_string(cache.capacity()) + " tokens against a gate state of " +
                                             std::to_string(size_) + "/" + std::to_string(capacity_) + ", k1 " +
                                             std::to_string(k1.seq()) + " tokens");
    }
    // Scores with the same pooling and cell as the prefill (aligned scratch
    // like score_kv's, so the same bits); h_ is restored if the append throws.
    gate_->pool_keys(k1.data(), k1.heads(), x_.data());
    std::copy(h_.begin(), h_.end(), h_prev_.begin());
    const T s = gate_->step(x_.data(), h_.data(), scratch_);
    const std::uint64_t evicted_before = cache.appended() - cache.size();
#if AETHER_EXCEPTIONS
    try {
      cache.append(k1, v1);
    } catch (...) {
      std::copy(h_prev_.begin(), h_prev_.end(), h_.begin());
      throw;
    }
#else
    cache.append(k1, v1);  // a refusal goes to the fatal-error hook, which does not return
#endif
    const std::uint64_t arrival = cache.appended() - 1;
    if (cache.appended() - cache.size() != evicted_before) {
      compact(cache);
      salience_[size_] = s;
      origin_[size_] = arrival;
      ++size_;
      rebuild();
    } else {
      salience_[size_] = s;
      origin_[size_] = arrival;
      ++size_;
      insert(static_cast<std::uint32_t>(size_ - 1));
    }
  }

 private:
  // "a is a better keep than b" (strict total order; heap top = worst kept).
  bool better(std::uint32_t a, std::uint32_t b) const noexcept {
    return FastGrnnGate<T>::ranks_before(salience_.data(), a, b);
  }
  struct Better {
    const GateState* self;
    bool operator()(std::uint32_t a, std::uint32_t b) const noexcept { return self->better(a, b); }
  };

  /// The newest slot t (the highest index: it loses every tie).
  void insert(std::uint32_t t) {
    keep_[t] = 0;
    if (k_ == 0) return;
    if (heap_.size() < k_) {
      heap_.push_back(t);
      std::push_heap(heap_.begin(), heap_.end(), Better{this});
    } else if (better(t, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), Better{this});
      const std::uint32_t out = heap_.back();
      heap_.back() = t;
      std::push_heap(heap_.begin(), heap_.end(), Better{this});
      keep_[out] = 0;
      kept_.erase(std::lower_bound(kept_.begin(), kept_.end(), out));
    } else {
      return;
    }
    keep_[t] = 1;
    kept_.push_back(t);  // t is the largest slot: the list stays ascending
  }

  /// Moves the saliences of the tokens the cache still holds (slots
  /// 0 .. cache.size()-2; the last is the new token) to their new slots.
  template <class S>
  void compact(const KvCache<T, S>& cache) {
    std::size_t from = 0;
    const std::size_t held = cache.size() - 1;
    for (std::size_t s = 0; s < held; ++s) {
      const std::uint64_t o = cache.origin(s);
      while (origin_[from] != o) ++from;  // both ascending in arrival order
      moved_[s] = salience_[from];
      origin_[s] = o;
    }
    std::copy(moved_.begin(), moved_.begin() + static_cast<std::ptrdiff_t>(held), salience_.begin());
    size_ = held;
  }

  /// The set from scratch over the held slots (after an eviction).
  void rebuild() {
    FastGrnnGate<T>::keep_top_k(salience_.data(), size_, k_, keep_.data(), order_.data());
    heap_.clear();
    kept_.clear();
    for (std::size_t s = 0; s < size_; ++s) {
      if (keep_[s] != 0) {
        heap_.push_back(static_cast<std::uint32_t>(s));
        kept_.push_back(static_cast<std::uint32_t>(s));
      }
    }
    std::make_heap(heap_.begin(), heap_.end(), Better{this});
  }

  const FastGrnnGate<T>* gate_;
  GateOptions opts_;
  std::size_t capacity_, k_;
  std::size_t size_ = 0;
  std::vector<T> h_, h_prev_, salience_, moved_;
  typename GateScratch<T>::Aligned x_;  // pooled keys (aligned as score_kv's)
  std::vector<std::uint64_t> origin_;
  std::vector<std::uint8_t> keep_;
  std::vector<std::uint32_t> order_, heap_, kept_;
  GateScratch<T> scratch_;
};

}  // namespace aether
