#pragma once
/// \file block/rope.hpp
/// Rotary position (RoPE, docs/model.md): pair i = (x[2i], x[2i+1]) of every
/// query and key head is rotated by the angle `t * theta_i`, theta_i =
/// base^(-2i / head_dim), at the frame's absolute position t.
///
/// Positions are `std::uint64_t` and count every frame of a stream (evicted
/// ones too); they wrap modulo 2^64 (after 3.7e11 years at 50 frames/s).
/// Angles are exact for any position: each theta_i / (2 pi) is held once, at
/// construction, as a 64-bit fixed-point fraction of a turn F_i (from double,
/// 53 significant bits), and the angle of position t is the 64-bit wrapping
/// product `t * F_i`: the integer part of the turn count falls off, so the
/// fraction keeps its precision at t = 2^31 or 2^63 as at t = 1, and the wrap
/// at 2^64 changes no rotation. Per frame: one 64-bit multiply, one
/// conversion and one float sin and cos per pair (no double arithmetic, no
/// table; cheap on a Cortex-M4F). Error of an angle: at most t * 2^-53 turns
/// from F_i's rounding (1.5e-6 rad at t = 2^31) plus float's rounding of the
/// reduced angle (|angle| <= pi, 2^-24 relative).
///
/// Thread safety: immutable after construction. No allocation after it.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace aether::block {

template <class T>
class Rope {
 public:
  Rope() = default;
  /// Frequencies for `head_dim` (even) at `base` (> 1). Allocates head_dim / 2 words.
  Rope(std::size_t head_dim, double base) : turns_(head_dim / 2) {
    for (std::size_t i = 0; i < turns_.size(); ++i) {
      const double theta = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
      const double turn = theta / (2.0 * 3.14159265358979323846);  // < 1/(2 pi): no integer part
      turns_[i] = static_cast<std::uint64_t>(std::ldexp(turn, 64));
    }
  }

  /// Pairs rotated per head (head_dim / 2).
  std::size_t pairs() const noexcept { return turns_.size(); }

  /// cos and sin of every pair's angle at `position`: `cs[2i] = cos`,
  /// `cs[2i+1] = sin` (2 * pairs() values).
  void angles(std::uint64_t position, T* cs) const noexcept {
    constexpr T kRadPerUnit = static_cast<T>(6.283185307179586476925 / 18446744073709551616.0);  // 2 pi / 2^64
    for (std::size_t i = 0; i < turns_.size(); ++i) {
      const std::uint64_t p = position * turns_[i];  // wrapping: the fraction of a turn, in 2^-64 units
      // As a signed fraction in [-1/2, 1/2) of a turn, so the float angle is in [-pi, pi).
      const T a = p < (std::uint64_t{1} << 63) ? static_cast<T>(p) * kRadPerUnit
                                                  : -(static_cast<T>(std::uint64_t{0} - p) * kRadPerUnit);
      cs[2 * i] = std::cos(a);
      cs[2 * i + 1] = std::sin(a);
    }
  }

  /// Rotates `heads` heads of `2 * pairs()` values at `x` (contiguous) by `cs`
  /// (`angles` of their position), in place.
  void rotate(T* x, std::size_t heads, const T* cs) const noexcept {
    const std::size_t dh = 2 * turns_.size();
    for (std::size_t h = 0; h < heads; ++h) {
      T* v = x + h * dh;
      for (std::size_t i = 0; i < turns_.size(); ++i) {
        const T c = cs[2 * i], s = cs[2 * i + 1], a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * c - b * s;
        v[2 * i + 1] = a * s + b * c;
      }
    }
  }
  /// The inverse rotation (training's backward: the transpose of `rotate`).
  void unrotate(T* x, std::size_t heads, const T* cs) const noexcept {
    const std::size_t dh = 2 * turns_.size();
    for (std::size_t h = 0; h < heads; ++h) {
      T* v = x + h * dh;
      for (std::size_t i = 0; i < turns_.size(); ++i) {
        const T c = cs[2 * i], s = cs[2 * i + 1], a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * c + b * s;
        v[2 * i + 1] = -a * s + b * c;
      }
    }
  }

 private:
  std::vector<std::uint64_t> turns_;  // F_i: theta_i / (2 pi) in units of 2^-64 turn
};

}  // namespace aether::block
