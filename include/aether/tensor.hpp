#pragma once
/// \file tensor.hpp
/// `Tensor3<T>`: owning `(seq, heads, dim)` storage, and `Tensor3View<T>`:
/// a non-owning view of the same layout (`T` may be const).
///
/// Layout (SEMANTICS.md): row-major, element `(t, h, d)` at
/// `(t * heads + h) * dim + d`. A "row" is the `dim` contiguous values of one
/// token and one head; the rows of one token are contiguous too, so a token is
/// `heads * dim` contiguous values.

#include <aether/error.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace aether {

/// Non-owning view of a `(seq, heads, dim)` row-major tensor.
///
/// Ownership: borrows `data`, which must outlive the view. Copying a view is
/// O(1). `Tensor3View<T>` converts implicitly to `Tensor3View<const T>`.
/// Thread safety: as the memory it points at.
template <class T>
class Tensor3View {
 public:
  using value_type = std::remove_const_t<T>;
  using MatrixMap = Eigen::Map<std::conditional_t<std::is_const_v<T>,
      const Eigen::Matrix<value_type, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
      Eigen::Matrix<value_type, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>>;

  /// An empty `(0, 0, 0)` view.
  Tensor3View() = default;

  /// View over `seq * heads * dim` contiguous values at `data`.
  Tensor3View(T* data, std::size_t seq, std::size_t heads, std::size_t dim) noexcept
      : data_(data), seq_(seq), heads_(heads), dim_(dim) {}

  /// Mutable view -> const view.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  Tensor3View(const Tensor3View<U>& other) noexcept  // NOLINT(google-explicit-constructor)
      : Tensor3View(other.data(), other.seq(), other.heads(), other.dim()) {}

  std::size_t seq() const noexcept { return seq_; }
  std::size_t heads() const noexcept { return heads_; }
  std::size_t dim() const noexcept { return dim_; }
  /// Number of elements, `seq * heads * dim`.
  std::size_t size() const noexcept { return seq_ * heads_ * dim_; }
  bool empty() const noexcept { return size() == 0; }
  T* data() const noexcept { return data_; }

  /// Element `(t, h, d)`; unchecked.
  T& operator()(std::size_t t, std::size_t h, std::size_t d) const noexcept {
    return data_[(t * heads_ + h) * dim_ + d];
  }
  /// Pointer to the `dim` contiguous values of token `t`, head `h`; unchecked.
  T* row(std::size_t t, std::size_t h) const noexcept { return data_ + (t * heads_ + h) * dim_; }

  /// Tokens `[first, first + count)` as a view; unchecked.
  Tensor3View slice(std::size_t first, std::size_t count) const noexcept {
    return Tensor3View(data_ + first * heads_ * dim_, count, heads_, dim_);
  }

  /// The same memory as a row-major Eigen matrix `seq x (heads * dim)`, no copy.
  MatrixMap matrix() const {
    return MatrixMap(data_, static_cast<Eigen::Index>(seq_), static_cast<Eigen::Index>(heads_ * dim_));
  }

 private:
  T* data_ = nullptr;
  std::size_t seq_ = 0;
  std::size_t heads_ = 0;
  std::size_t dim_ = 0;
};

namespace detail {
/// Eigen's aligned allocator, except that `vector(n)` default-initialises
/// (leaves floats unwritten) instead of zeroing: what lets a kernel allocate
/// an output it is about to overwrite without a pass over the memory.
template <class T>
struct DefaultInitAllocator : Eigen::aligned_allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <class U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}  // NOLINT
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... A>
  void construct(U* p, A&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(args)...);
  }
};
/// Tag: a `Tensor3` whose every element the caller writes before reading.
struct Uninitialized {};
}  // namespace detail

/// Owning, zero-initialised `(seq, heads, dim)` tensor, aligned for Eigen.
///
/// Value semantics (copying copies the data, O(size)). Converts implicitly to
/// `Tensor3View<const T>` (and, when non-const, `Tensor3View<T>`), which is
/// what every kernel takes. Thread safety: like `std::vector`.
template <class T>
class Tensor3 {
  static_assert(!std::is_const_v<T>, "Tensor3 owns mutable storage; use Tensor3View<const T> for read-only");

 public:
  using value_type = T;

  Tensor3() = default;
  /// Allocates `seq * heads * dim` zeros.
  Tensor3(std::size_t seq, std::size_t heads, std::size_t dim)
      : data_(checked_size(seq, heads, dim), T(0)), seq_(seq), heads_(heads), dim_(dim) {}
  /// Allocates without writing: for kernels that overwrite every element
  /// (saves a pass over the output, and its cache traffic across threads).
  Tensor3(detail::Uninitialized, std::size_t seq, std::size_t heads, std::size_t dim)
      : data_(checked_size(seq, heads, dim)), seq_(seq), heads_(heads), dim_(dim) {}
  /// Copies a view's contents (O(size)).
  explicit Tensor3(Tensor3View<const T> src) : Tensor3(src.seq(), src.heads(), src.dim()) {
    std::copy(src.data(), src.data() + src.size(), data_.data());
  }

  std::size_t seq() const noexcept { return seq_; }
  std::size_t heads() const noexcept { return heads_; }
  std::size_t dim() const noexcept { return dim_; }
  std::size_t size() const noexcept { return data_.size(); }
  bool empty() const noexcept { return data_.empty(); }
  T* data() noexcept { return data_.data(); }
  const T* data() const noexcept { return data_.data(); }

  T& operator()(std::size_t t, std::size_t h, std::size_t d) noexcept { return data_[(t * heads_ + h) * dim_ + d]; }
  const T& operator()(std::size_t t, std::size_t h, std::size_t d) const noexcept {
    return data_[(t * heads_ + h) * dim_ + d];
  }

  Tensor3View<T> view() noexcept { return {data(), seq_, heads_, dim_}; }
  Tensor3View<const T> view() const noexcept { return {data(), seq_, heads_, dim_}; }
  operator Tensor3View<T>() noexcept { return view(); }                   // NOLINT
  operator Tensor3View<const T>() const noexcept { return view(); }       // NOLINT

  /// Row-major Eigen matrix `seq x (heads * dim)` over this storage, no copy.
  typename Tensor3View<T>::MatrixMap matrix() { return view().matrix(); }
  typename Tensor3View<const T>::MatrixMap matrix() const { return view().matrix(); }

 private:
  static std::size_t checked_size(std::size_t seq, std::size_t heads, std::size_t dim) {
    const std::size_t max = std::vector<T, Eigen::aligned_allocator<T>>().max_size();
    if (heads != 0 && dim != 0 && seq > max / heads / dim) {
      detail::fail(Errc::invalid_argument, "tensor shape (" + std::to_string(seq) + ", " + std::to_string(heads) +
                                               ", " + std::to_string(dim) + ") is too large to allocate");
    }
    return seq * heads * dim;
  }

  std::vector<T, detail::DefaultInitAllocator<T>> data_;
  std::size_t seq_ = 0;
  std::size_t heads_ = 0;
  std::size_t dim_ = 0;
};

namespace detail {
template <class T, class M>
Tensor3View<T> view_of_matrix(T* data, const M& m, std::size_t heads, std::size_t dim) {
  static_assert(M::IsRowMajor || M::ColsAtCompileTime == 1,
                "view_of needs a row-major matrix (seq x heads*dim)");
  if (heads == 0 || dim == 0 || static_cast<std::size_t>(m.cols()) != heads * dim) {
    fail(Errc::shape_mismatch, "matrix has " + std::to_string(m.cols()) + " columns, expected heads*dim = " +
                                   std::to_string(heads) + "*" + std::to_string(dim));
  }
  if (m.rows() > 1 && (m.innerStride() != 1 || m.outerStride() != m.cols())) {
    fail(Errc::shape_mismatch, "matrix rows are not contiguous (outer stride " + std::to_string(m.outerStride()) +
                                   ", cols " + std::to_string(m.cols()) + ")");
  }
  return Tensor3View<T>(data, static_cast<std::size_t>(m.rows()), heads, dim);
}
}  // namespace detail

// view_of(m, heads, dim): a row-major Eigen matrix (or Map) of shape
// `seq x (heads * dim)` seen as a `(seq, heads, dim)` tensor, without copying.
// Throws Errc::shape_mismatch when `cols != heads * dim` or rows are not contiguous.

/// Mutable view over a row-major Eigen matrix `seq x (heads*dim)`.
template <class Derived>
auto view_of(Eigen::PlainObjectBase<Derived>& m, std::size_t heads, std::size_t dim) {
  return detail::view_of_matrix(m.data(), m.derived(), heads, dim);
}
/// Read-only view over a row-major Eigen matrix `seq x (heads*dim)`.
template <class Derived>
auto view_of(const Eigen::PlainObjectBase<Derived>& m, std::size_t heads, std::size_t dim) {
  return detail::view_of_matrix(m.data(), m.derived(), heads, dim);
}
/// View over an Eigen::Map of a row-major `seq x (heads*dim)` matrix: mutable
/// for a `Map<Matrix>`, read-only for a `Map<const Matrix>`. The Map is taken
/// by value (it is itself a view), so its write access carries over.
template <class PlainType, int Options, class Stride>
auto view_of(Eigen::Map<PlainType, Options, Stride> m, std::size_t heads, std::size_t dim) {
  return detail::view_of_matrix(m.data(), m, heads, dim);
}

namespace detail {
/// Scalar type behind a Tensor3 / Tensor3View argument (for free-function templates).
template <class X> struct tensor_scalar;
template <class T> struct tensor_scalar<Tensor3<T>> { using type = T; };
template <class T> struct tensor_scalar<Tensor3View<T>> { using type = std::remove_const_t<T>; };
template <class X> using tensor_scalar_t = typename tensor_scalar<std::decay_t<X>>::type;

/// Any Tensor3 or view as a read-only view.
template <class T> Tensor3View<const T> cview(const Tensor3<T>& t) noexcept { return t.view(); }
template <class T> Tensor3View<const T> cview(Tensor3View<T> t) noexcept { return t; }
}  // namespace detail

}  // namespace aether
