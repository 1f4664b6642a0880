#pragma once
/// \file block/causal_conv.hpp
/// The causal depthwise temporal convolution of one output frame
/// (docs/model.md): per channel c,
///   `y_t[c] = bias[c] + sum_{j=0}^{k-1} taps[j][c] * u_{t-(k-1-j)*delta}[c]`,
/// a frame before the first (t - (k-1-j)*delta < 0) contributing nothing.
/// The prefill reads its rows from the whole normed sequence, the stream from
/// a ring of its last `(k-1)*delta + 1` rows: both through `conv_row`, so both
/// sum the same terms in the same order (same bits). Pure; no allocation;
/// O(k * d).

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>

namespace aether::block {

/// Frames a convolution of `kernel` taps at `dilation` looks back: (k-1)*delta.
constexpr std::uint64_t conv_reach(std::uint64_t kernel, std::uint64_t dilation) noexcept {
  return kernel == 0 ? 0 : (kernel - 1) * dilation;
}

/// `out[0, d) = bias + sum_j taps[j] * row(t - (k-1-j)*delta)` for the frame
/// `t` (0-based since the sequence began); `row(s)` returns the d values of
/// frame s (0 <= s <= t). `taps` is `[k][d]` row-major. `out` must not alias
/// a row.
template <class T, class Row>
void conv_row(const T* taps, const T* bias, std::size_t kernel, std::size_t dilation, std::size_t d,
              std::uint64_t t, Row&& row, T* out) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  const auto n = static_cast<Eigen::Index>(d);
  Eigen::Map<Arr> acc(out, n);
  acc = Eigen::Map<const Arr>(bias, n);
  for (std::size_t j = 0; j < kernel; ++j) {
    const std::uint64_t back = std::uint64_t{kernel - 1 - j} * dilation;
    if (back > t) continue;  // before the first frame: contributes nothing
    acc += Eigen::Map<const Arr>(taps + j * d, n) * Eigen::Map<const Arr>(row(t - back), n);
  }
}

}  // namespace aether::block
