#pragma once
/// \file workspace.hpp
/// `Workspace<T>`: the scratch memory of one attention call, reusable across
/// calls so that steady-state prefill and decode allocate nothing.

#include <aether/arena.hpp>
#include <aether/fast_grnn_gate.hpp>
#include <aether/sparse_pattern.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <vector>

namespace aether {

/// Scratch buffers for the attention kernels. Kernels grow them on demand (an
/// allocation only when a call needs more than any earlier call), so a
/// workspace reused across calls stops allocating after the first.
///
/// Ownership: owned by the caller; pass one per thread. Thread safety: not
/// shareable between concurrent calls (that is why it is explicit, not hidden
/// inside the const kernels).
template <class T>
class Workspace {
 public:
  using Buffer = std::vector<T, ArenaAllocator<T>>;

  Workspace() = default;
  /// Buffers from `arena` (node profile; the candidate lists still use the heap).
  explicit Workspace(Arena* arena)
      : scores(ArenaAllocator<T>(arena)),
        landmark_keys(ArenaAllocator<T>(arena)),
        landmark_values(ArenaAllocator<T>(arena)),
        keys_t(ArenaAllocator<T>(arena)) {}

  Candidates candidates;  ///< candidate lists of the current query
  /// Aligned score rows (`detail::kMaxRows * pitch` values).
  Buffer scores;
  /// Landmark means `(blocks, kv_heads, dim)` computed by a prefill call.
  Buffer landmark_keys, landmark_values;
  /// Keys of a prefill call, transposed: `(kv_heads * dim) x seq`, row-major.
  Buffer keys_t;
  /// Scratch of the other threads of a parallel (OpenMP) prefill; this
  /// workspace serves the first thread. Grown once, then reused.
  std::vector<Workspace> helpers;
  /// Gate cell scratch, salience and keep mask of a gated forward.
  GateScratch<T> gate;

  /// Ensures room for `score_values` scores without reallocating later.
  T* score_buffer(std::size_t score_values) {
    if (scores.size() < score_values) scores.resize(score_values);
    return scores.data();
  }
};

}  // namespace aether
