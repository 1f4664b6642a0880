#pragma once
/// \file block/activation.hpp
/// The activations a v2 blob can name (rvne::Activation): identity, ReLU and
/// GELU (tanh form), applied in place, with their derivatives for training.
/// Pure; no allocation; O(n).

#include <aether/rvne/descriptor.hpp>

#include <cmath>
#include <cstddef>

namespace aether::block {

/// sqrt(2 / pi), the GELU tanh form's constant.
template <class T>
constexpr T kGeluC = static_cast<T>(0.7978845608028654);

/// One value through `act`.
template <class T>
inline T activate(rvne::Activation act, T x) noexcept {
  switch (act) {
    case rvne::Activation::relu: return x > T(0) ? x : T(0);
    case rvne::Activation::gelu: {
      const T u = kGeluC<T> * (x + static_cast<T>(0.044715) * x * x * x);
      return static_cast<T>(0.5) * x * (T(1) + std::tanh(u));
    }
    default: return x;
  }
}

/// `x[0, n)` through `act`, in place.
template <class T>
inline void activate(rvne::Activation act, T* x, std::size_t n) noexcept {
  if (act == rvne::Activation::identity) return;
  for (std::size_t i = 0; i < n; ++i) x[i] = activate(act, x[i]);
}

/// d act(x) / dx at the pre-activation `x` (ReLU: 0 at the kink).
template <class T>
inline T activation_grad(rvne::Activation act, T x) noexcept {
  switch (act) {
    case rvne::Activation::relu: return x > T(0) ? T(1) : T(0);
    case rvne::Activation::gelu: {
      const T a = static_cast<T>(0.044715);
      const T u = kGeluC<T> * (x + a * x * x * x);
      const T t = std::tanh(u);
      return static_cast<T>(0.5) * (T(1) + t) +
             static_cast<T>(0.5) * x * (T(1) - t * t) * kGeluC<T> * (T(1) + T(3) * a * x * x);
    }
    default: return T(1);
  }
}

}  // namespace aether::block
