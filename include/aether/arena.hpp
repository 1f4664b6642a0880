#pragma once
/// \file arena.hpp
/// Caller-supplied memory for the node profile (no heap after init).
///
/// `Arena` hands out aligned pieces of one caller buffer, bump-pointer style,
/// and never frees (the whole buffer is released by its owner at once).
/// `ArenaAllocator<T>` is a standard allocator over an optional arena: with
/// none (the default, what every host type uses) it is Eigen's aligned heap
/// allocator; with one it takes its memory from the arena. Containers built
/// with an arena allocate only while they are being sized (at init).
/// `KvCache`, `Workspace` and `ForwardWorkspace` accept an arena.

#include <aether/error.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <type_traits>

namespace aether {

namespace detail {
/// Alignment of every arena piece: Eigen's maximum (16 without SIMD, 64 with
/// AVX-512), at least 16, so any Eigen map or aligned load over it is valid.
constexpr std::size_t kArenaAlign =
    static_cast<std::size_t>(EIGEN_MAX_ALIGN_BYTES) > 16 ? static_cast<std::size_t>(EIGEN_MAX_ALIGN_BYTES) : 16;

/// `bytes` rounded up to the arena alignment (saturating).
constexpr std::size_t arena_round(std::size_t bytes) noexcept {
  return bytes > std::numeric_limits<std::size_t>::max() - (kArenaAlign - 1)
             ? std::numeric_limits<std::size_t>::max()
             : (bytes + kArenaAlign - 1) / kArenaAlign * kArenaAlign;
}

/// Bytes of `count` values of T as the arena hands them out (0 for 0: an
/// empty container never allocates). Saturates instead of overflowing.
template <class T>
constexpr std::size_t arena_bytes(std::size_t count) noexcept {
  if (count == 0) return 0;
  if (count > std::numeric_limits<std::size_t>::max() / sizeof(T)) return std::numeric_limits<std::size_t>::max();
  return arena_round(count * sizeof(T));
}

/// `a + b`, saturating at SIZE_MAX (memory sums of hostile configurations).
constexpr std::size_t sat_add(std::size_t a, std::size_t b) noexcept {
  return b > std::numeric_limits<std::size_t>::max() - a ? std::numeric_limits<std::size_t>::max() : a + b;
}

}  // namespace detail

/// A bump allocator over caller memory. Not thread-safe (init is single-threaded).
class Arena {
 public:
  Arena() = default;
  /// Pieces of `[data, data + size)`; the first starts at the first aligned byte.
  Arena(void* data, std::size_t size) noexcept : base_(static_cast<unsigned char*>(data)), size_(size) {
    const auto addr = reinterpret_cast<std::uintptr_t>(base_);
    skip_ = static_cast<std::size_t>((detail::kArenaAlign - addr % detail::kArenaAlign) % detail::kArenaAlign);
    used_ = skip_ > size_ ? size_ : skip_;
  }

  /// An aligned piece of `arena_round(bytes)` bytes. Running out is a broken
  /// precondition (the caller sized the buffer with the matching
  /// `memory_needed`): the fatal-error hook.
  void* allocate(std::size_t bytes) noexcept {
    const std::size_t need = detail::arena_round(bytes);
    if (need > size_ - used_) fatal_error(Errc::no_memory, "aether arena exhausted (memory_needed out of date?)");
    void* p = base_ + used_;
    used_ += need;
    return p;
  }

  /// Bytes handed out so far (alignment padding of the base included).
  std::size_t used() const noexcept { return used_; }
  std::size_t size() const noexcept { return size_; }
  /// Bytes the caller must add to a piece total for an arbitrarily aligned buffer.
  static constexpr std::size_t slack() noexcept { return detail::kArenaAlign - 1; }

 private:
  unsigned char* base_ = nullptr;
  std::size_t size_ = 0;
  std::size_t used_ = 0;
  std::size_t skip_ = 0;
};

/// A standard allocator: Eigen's aligned heap allocation without an arena,
/// the arena's memory with one (deallocation is then a no-op). Allocators
/// compare equal when they share the arena (or both use the heap).
template <class T>
class ArenaAllocator {
 public:
  using value_type = T;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  template <class U>
  struct rebind {
    using other = ArenaAllocator<U>;
  };

  ArenaAllocator() noexcept = default;
  explicit ArenaAllocator(Arena* arena) noexcept : arena_(arena) {}
  template <class U>
  ArenaAllocator(const ArenaAllocator<U>& other) noexcept : arena_(other.arena()) {}  // NOLINT

  T* allocate(std::size_t n) {
    if (arena_ != nullptr) return static_cast<T*>(arena_->allocate(n * sizeof(T)));
    return Eigen::aligned_allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (arena_ == nullptr) Eigen::aligned_allocator<T>().deallocate(p, n);
  }

  Arena* arena() const noexcept { return arena_; }
  friend bool operator==(const ArenaAllocator& a, const ArenaAllocator& b) noexcept { return a.arena_ == b.arena_; }
  friend bool operator!=(const ArenaAllocator& a, const ArenaAllocator& b) noexcept { return a.arena_ != b.arena_; }

 private:
  Arena* arena_ = nullptr;
};

}  // namespace aether
