#pragma once
/// \file stream_pool.hpp
/// `StreamPool<T>`: many `TemporalStream`s of one model (one per tracked
/// person), advanced by one frame each per call, spread over the cores.

#include <aether/error.hpp>
#include <aether/temporal_model.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#if defined(AETHER_USE_OPENMP)
#include <omp.h>
#endif

namespace aether {

/// Streams of one model, addressed by small integer ids. A track opens a
/// stream when it appears and closes it when it is dropped; closed streams'
/// memory is reused by the next `open`.
///
/// - Memory: each stream owns its caches, O(layers * capacity * kv_heads *
///   head_dim), allocated when its id is first opened.
/// - `push` advances several streams by one frame each; with
///   `AETHER_USE_OPENMP` the streams run on all threads (each stream is
///   touched by one thread; results do not depend on the thread count).
/// - Thread safety: one call at a time per pool; the model is shared read-only
///   and must outlive the pool.
template <class T = float>
class StreamPool {
 public:
  using Matrix = typename TemporalModel<T>::Matrix;

  /// Streams of `capacity` frames each; `eviction` as in `TemporalModel::make_stream`.
  StreamPool(const TemporalModel<T>& model, std::size_t capacity, Eviction eviction = Eviction::none)
      : model_(&model), capacity_(capacity), eviction_(eviction) {
    if (capacity == 0) detail::fail(Errc::invalid_argument, "StreamPool: capacity 0");
  }

  /// Opens a fresh (empty) stream and returns its id.
  std::size_t open() {
    if (!free_.empty()) {
      const std::size_t id = free_.back();
      free_.pop_back();
      streams_[id]->reset();
      open_[id] = true;
      return id;
    }
    streams_.push_back(std::make_unique<TemporalStream<T>>(*model_, capacity_, eviction_));
    open_.push_back(true);
    return streams_.size() - 1;
  }

  /// Closes stream `id`. Throws `Errc::invalid_argument` if it is not open.
  void close(std::size_t id) {
    check_open("StreamPool::close", id);
    open_[id] = false;
    free_.push_back(id);
  }

  bool is_open(std::size_t id) const noexcept { return id < open_.size() && open_[id]; }
  std::size_t open_count() const noexcept { return streams_.size() - free_.size(); }

  /// Stream `id` (for its size, or to push it alone). Throws if not open.
  TemporalStream<T>& stream(std::size_t id) {
    check_open("StreamPool::stream", id);
    return *streams_[id];
  }

  /// Pushes `frames.row(r)` to stream `ids[r]` for every r and returns the
  /// logits, one row per id (`ids.size() x classes`). Everything is checked
  /// first (ids open and distinct, `frames` of `ids.size()` rows and
  /// `input_dim` columns, no full stream without an eviction policy): a call
  /// that throws changes nothing.
  Matrix push(const std::vector<std::size_t>& ids, const Eigen::Ref<const Matrix>& frames) {
    const auto m = static_cast<Eigen::Index>(ids.size());
    if (frames.rows() != m || static_cast<std::size_t>(frames.cols()) != model_->input_dim()) {
      detail::fail(Errc::shape_mismatch, "StreamPool::push: frames (" + std::to_string(frames.rows()) + ", " +
                                             std::to_string(frames.cols()) + ") for " + std::to_string(ids.size()) +
                                             " ids, expected (" + std::to_string(ids.size()) + ", " +
                                             std::to_string(model_->input_dim()) + ")");
    }
    std::vector<bool> seen(streams_.size(), false);
    for (std::size_t id : ids) {
      check_open("StreamPool::push", id);
      if (seen[id]) detail::fail(Errc::invalid_argument, "StreamPool::push: stream " + std::to_string(id) + " twice");
      seen[id] = true;
      if (!streams_[id]->accepts_frame()) {
        detail::fail(Errc::cache_full, "StreamPool::push: stream " + std::to_string(id) + " holds " +
                                           std::to_string(capacity_) + " frames (its capacity)");
      }
    }
    Matrix logits(m, static_cast<Eigen::Index>(model_->classes()));
#if AETHER_EXCEPTIONS
    std::exception_ptr failure;  // nothing above lets a push throw; kept so none can escape a thread
#endif
#if defined(AETHER_USE_OPENMP)
#pragma omp parallel for schedule(dynamic) if (m > 1)
#endif
    for (Eigen::Index r = 0; r < m; ++r) {
#if AETHER_EXCEPTIONS
      try {
#endif
        logits.row(r) = streams_[ids[static_cast<std::size_t>(r)]]->push(frames.row(r).data()).transpose();
#if AETHER_EXCEPTIONS
      } catch (...) {
#if defined(AETHER_USE_OPENMP)
#pragma omp critical(aether_stream_pool)
#endif
        if (!failure) failure = std::current_exception();
      }
#endif
    }
#if AETHER_EXCEPTIONS
    if (failure) std::rethrow_exception(failure);
#endif
    return logits;
  }

 private:
  void check_open(const char* op, std::size_t id) const {
    if (!is_open(id)) detail::fail(Errc::invalid_argument, std::string(op) + ": no open stream " + std::to_string(id));
  }

  const TemporalModel<T>* model_;
  std::size_t capacity_;
  Eviction eviction_;
  std::vector<std::unique_ptr<TemporalStream<T>>> streams_;
  std::vector<bool> open_;
  std::vector<std::size_t> free_;
};

}  // namespace aether
