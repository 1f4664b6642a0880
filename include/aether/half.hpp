#pragma once
/// \file half.hpp
/// IEEE 754 binary16 ("fp16", "half") <-> binary32 conversion on raw bit
/// patterns, as stored in fp16 `.rvne` blobs.
///
/// Both directions go through `Eigen::half`, whose float -> half conversion
/// rounds to nearest, ties to even (software path, or F16C `vcvtps2ph` with
/// rounding mode 0 when compiled with `-mf16c`), keeps subnormals, maps
/// overflow to +-Inf and keeps NaN a NaN of the same sign (the payload is not
/// preserved). half -> float is exact for every one of the 65,536 patterns.
/// tests/half_test.cpp checks all of this against an independent reference.
///
/// Thread safety: pure functions, no state.

#include <Eigen/Core>

#include <cstdint>
#include <limits>
#include <type_traits>

namespace aether {

static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4,
              "aether's fp16/fp32 weight handling needs IEEE 754 binary32 floats");
static_assert(sizeof(Eigen::half) == 2 && std::is_trivially_copyable<Eigen::half>::value,
              "Eigen::half must be a 2-byte trivially copyable wrapper around the binary16 bits");

/// Rounds `f` to the nearest binary16 value (ties to even) and returns its bit
/// pattern. Overflow gives +-Inf, NaN gives a quiet NaN of the same sign.
/// Cost: a few integer operations. Assumes the default FP environment
/// (round-to-nearest, no flush-to-zero).
inline std::uint16_t float_to_half_bits(float f) noexcept {
  return Eigen::numext::bit_cast<std::uint16_t>(Eigen::half(f));
}

/// Widens the binary16 bit pattern `bits` to float. Exact (every binary16
/// value, subnormals and infinities included, is representable in binary32);
/// NaN payloads are kept in the upper mantissa bits.
inline float half_bits_to_float(std::uint16_t bits) noexcept {
  return static_cast<float>(Eigen::numext::bit_cast<Eigen::half>(bits));
}

}  // namespace aether
