// Tests of include/aether/half.hpp: binary16 <-> binary32 conversion.
//
// The references below are written from the IEEE 754 definitions and share
// no code with Eigen: the decoder builds the value from sign/exponent/mantissa
// with std::ldexp, and the encoder picks the nearest binary16 by searching the
// (monotonic) list of positive half values, breaking ties towards the even
// pattern. Distances are exact in double (both operands are binary32 values
// within a factor of two of each other).

#include <aether/half.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace half_test {

namespace {

float bits_to_float(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
std::uint32_t float_to_bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

bool half_is_nan(std::uint16_t h) { return (h & 0x7C00u) == 0x7C00u && (h & 0x03FFu) != 0; }

// Value of a non-NaN half pattern, from the definition.
double ref_half_value(std::uint16_t h) {
  const int sign = (h >> 15) & 1;
  const int exp = (h >> 10) & 0x1F;
  const int mant = h & 0x3FF;
  double mag;
  if (exp == 0) {
    mag = std::ldexp(static_cast<double>(mant), -24);  // subnormal: mant * 2^-14 * 2^-10
  } else if (exp == 31) {
    mag = std::numeric_limits<double>::infinity();
  } else {
    mag = std::ldexp(static_cast<double>(1024 + mant), exp - 25);
  }
  return sign ? -mag : mag;
}

// Reference float -> half, round to nearest, ties to even, for a non-NaN float.
std::uint16_t ref_float_to_half(float f) {
  const std::uint16_t sign = std::signbit(f) ? 0x8000u : 0u;
  const double a = std::fabs(static_cast<double>(f));
  // Magnitudes of positive patterns 0..0x7C00, with 0x7C00 standing for 2^16
  // (the next step after 65504) so that overflow rounds like any other case.
  auto mag = [](std::uint32_t p) { return p == 0x7C00u ? 65536.0 : ref_half_value(static_cast<std::uint16_t>(p)); };
  if (a >= 65536.0) return static_cast<std::uint16_t>(sign | 0x7C00u);
  std::uint32_t lo = 0, hi = 0x7C00u;  // invariant: mag(lo) <= a < mag(hi) ... or a == mag(lo)
  while (hi - lo > 1) {
    const std::uint32_t mid = (lo + hi) / 2;
    if (mag(mid) <= a) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const double dlo = a - mag(lo), dhi = mag(hi) - a;
  std::uint32_t pick;
  if (dlo < dhi) {
    pick = lo;
  } else if (dhi < dlo) {
    pick = hi;
  } else {
    pick = (lo & 1u) == 0 ? lo : hi;
  }
  return static_cast<std::uint16_t>(sign | pick);
}

void expect_rne(float f) {
  const std::uint16_t got = aether::float_to_half_bits(f);
  if (std::isnan(f)) {
    ASSERT_TRUE(half_is_nan(got)) << "NaN 0x" << std::hex << float_to_bits(f) << " -> 0x" << got;
    ASSERT_EQ(got >> 15, float_to_bits(f) >> 31) << "NaN sign lost for 0x" << std::hex << float_to_bits(f);
    return;
  }
  const std::uint16_t want = ref_float_to_half(f);
  ASSERT_EQ(got, want) << "float 0x" << std::hex << float_to_bits(f) << " (" << std::dec << f << ")";
}

TEST(Half, DecodesEveryPatternExactly) {
  for (std::uint32_t p = 0; p <= 0xFFFFu; ++p) {
    const auto h = static_cast<std::uint16_t>(p);
    const float f = aether::half_bits_to_float(h);
    if (half_is_nan(h)) {
      ASSERT_TRUE(std::isnan(f)) << "pattern 0x" << std::hex << p;
      ASSERT_EQ(std::signbit(f), (p >> 15) != 0) << "pattern 0x" << std::hex << p;
    } else {
      ASSERT_EQ(static_cast<double>(f), ref_half_value(h)) << "pattern 0x" << std::hex << p;
      ASSERT_EQ(std::signbit(f), (p >> 15) != 0) << "pattern 0x" << std::hex << p;  // -0 stays -0
    }
  }
}

TEST(Half, EveryPatternRoundTripsBitExactly) {
  for (std::uint32_t p = 0; p <= 0xFFFFu; ++p) {
    const auto h = static_cast<std::uint16_t>(p);
    const std::uint16_t back = aether::float_to_half_bits(aether::half_bits_to_float(h));
    if (half_is_nan(h)) {
      ASSERT_TRUE(half_is_nan(back)) << "NaN 0x" << std::hex << p << " -> 0x" << back;
      ASSERT_EQ(back & 0x8000u, h & 0x8000u) << "NaN sign, pattern 0x" << std::hex << p;
    } else {
      ASSERT_EQ(back, h) << "pattern 0x" << std::hex << p;
    }
  }
}

TEST(Half, SpecialValues) {
  EXPECT_EQ(aether::float_to_half_bits(0.0f), 0x0000u);
  EXPECT_EQ(aether::float_to_half_bits(-0.0f), 0x8000u);
  EXPECT_EQ(aether::float_to_half_bits(1.0f), 0x3C00u);
  EXPECT_EQ(aether::float_to_half_bits(-2.0f), 0xC000u);
  EXPECT_EQ(aether::float_to_half_bits(65504.0f), 0x7BFFu);
  EXPECT_EQ(aether::float_to_half_bits(65519.99f), 0x7BFFu);
  EXPECT_EQ(aether::float_to_half_bits(65520.0f), 0x7C00u);  // tie between 65504 and "65536" -> even -> Inf
  EXPECT_EQ(aether::float_to_half_bits(1e10f), 0x7C00u);
  EXPECT_EQ(aether::float_to_half_bits(-1e10f), 0xFC00u);
  EXPECT_EQ(aether::float_to_half_bits(std::numeric_limits<float>::infinity()), 0x7C00u);
  EXPECT_EQ(aether::float_to_half_bits(-std::numeric_limits<float>::infinity()), 0xFC00u);
  EXPECT_EQ(aether::float_to_half_bits(std::ldexp(1.0f, -24)), 0x0001u);   // smallest subnormal
  EXPECT_EQ(aether::float_to_half_bits(std::ldexp(1.0f, -25)), 0x0000u);   // exact tie -> even (0)
  EXPECT_EQ(aether::float_to_half_bits(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001u);
  EXPECT_EQ(aether::float_to_half_bits(std::ldexp(3.0f, -25)), 0x0002u);   // tie 1.5 ulp -> even (2)
  EXPECT_EQ(aether::float_to_half_bits(std::ldexp(1.0f, -14)), 0x0400u);   // smallest normal
  EXPECT_EQ(aether::float_to_half_bits(std::ldexp(1023.0f, -24)), 0x03FFu); // largest subnormal
  EXPECT_EQ(aether::float_to_half_bits(std::ldexp(2047.0f, -25)), 0x0400u); // tie at the boundary -> even
  EXPECT_EQ(aether::float_to_half_bits(1.0f + std::ldexp(1.0f, -11)), 0x3C00u);  // tie -> even (down)
  EXPECT_EQ(aether::float_to_half_bits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02u);  // tie -> even (up)
  EXPECT_EQ(aether::float_to_half_bits(std::numeric_limits<float>::denorm_min()), 0x0000u);
  EXPECT_EQ(aether::float_to_half_bits(-std::numeric_limits<float>::denorm_min()), 0x8000u);
  for (std::uint32_t nan : {0x7FC00000u, 0x7F800001u, 0xFFC00000u, 0xFFFFFFFFu, 0x7FBFFFFFu}) {
    expect_rne(bits_to_float(nan));
  }
}

// Every binary16 midpoint (both neighbours, exact ties included) and a few
// float ulps either side of it, both signs: the halfway cases and the
// subnormal / overflow boundaries are all among them.
TEST(Half, RoundsToNearestEvenAroundEveryMidpoint) {
  for (std::uint32_t p = 0; p < 0x7C00u; ++p) {
    const double next = p + 1 == 0x7C00u ? 65536.0 : ref_half_value(static_cast<std::uint16_t>(p + 1));
    const double mid = (ref_half_value(static_cast<std::uint16_t>(p)) + next) / 2;
    const auto midf = static_cast<float>(mid);
    ASSERT_EQ(static_cast<double>(midf), mid) << "midpoint must be a float";
    const std::uint32_t mb = float_to_bits(midf);
    for (int d = -3; d <= 3; ++d) {
      const std::uint32_t b = mb + static_cast<std::uint32_t>(d);
      expect_rne(bits_to_float(b));
      expect_rne(bits_to_float(b | 0x80000000u));
    }
    // The half values themselves are fixed points.
    expect_rne(static_cast<float>(ref_half_value(static_cast<std::uint16_t>(p))));
  }
}

// A stride through all 2^32 float patterns (NaNs, Infs, huge and tiny values).
TEST(Half, RoundsToNearestEvenOverAStrideOfAllFloats) {
  constexpr std::uint64_t kStride = 4099;  // prime: visits every exponent and many mantissas
  for (std::uint64_t b = 0; b <= 0xFFFFFFFFull; b += kStride) expect_rne(bits_to_float(static_cast<std::uint32_t>(b)));
  std::mt19937 rng(12345);
  for (int i = 0; i < 200000; ++i) expect_rne(bits_to_float(static_cast<std::uint32_t>(rng())));
}

}  // namespace

}  // namespace half_test
