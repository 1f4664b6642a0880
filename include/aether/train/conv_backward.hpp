#pragma once
/// \file train/conv_backward.hpp
/// Backward of the causal depthwise convolution sublayer (block/causal_conv.hpp,
/// `TemporalModel::conv_update`): per frame t and channel c,
///   pre_t = bias + sum_j taps[j] * u_{t - (k-1-j) delta},  h_t += act(pre_t)
/// so with dy_t = dL/dh_t (the residual passes it on unchanged):
///   dpre_t = dy_t * act'(pre_t)
///   dbias += dpre_t,  dtaps[j] += dpre_t * u_{t-back_j},  du_{t-back_j} += dpre_t * taps[j]
/// (terms before the first frame are absent, as in the forward). The norm
/// before the convolution (or the copy without norms) is the caller's
/// (train/rms_norm_backward.hpp).
///
/// Recompute vs store: the forward keeps only the stream rows entering the
/// sublayer (`Trace::conv_inputs`); the caller recomputes the normed rows u
/// from them, and this function recomputes each pre-activation with
/// `block::conv_row`, the forward's own function (same terms, same order,
/// same bits: a ReLU sees the forward's side of its kink). Memory per frame:
/// d stored values (the stream row) plus d of recomputed u; d values of
/// scratch in all. Pure; no allocation; O(N * k * d).

#include <aether/block/activation.hpp>
#include <aether/block/causal_conv.hpp>
#include <aether/rvne/descriptor.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace aether::train {

/// dL/du `du` `(n, d)` (overwritten), dL/dtaps `dtaps` `[k][d]` and
/// dL/dbias `dbias` `(d)` (overwritten) of the convolution over the normed
/// rows `u` `(n, d)` (frame 0 the sequence's first), given dL/d(output)
/// `dy` `(n, d)`. `pre` is d values of scratch. Buffers must not alias.
template <class T>
void conv_backward(const T* taps, const T* bias, std::size_t kernel, std::size_t dilation, rvne::Activation act,
                   std::size_t d, std::size_t n, const T* u, const T* dy, T* du, T* dtaps, T* dbias, T* pre) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  const auto dn = static_cast<Eigen::Index>(d);
  std::fill(du, du + n * d, T(0));
  std::fill(dtaps, dtaps + kernel * d, T(0));
  std::fill(dbias, dbias + d, T(0));
  for (std::size_t t = 0; t < n; ++t) {
    block::conv_row(taps, bias, kernel, dilation, d, t, [u, d](std::uint64_t s) { return u + s * d; }, pre);
    for (std::size_t c = 0; c < d; ++c) pre[c] = dy[t * d + c] * block::activation_grad(act, pre[c]);  // dpre
    const Eigen::Map<const Arr> dp(pre, dn);
    Eigen::Map<Arr>(dbias, dn) += dp;
    for (std::size_t j = 0; j < kernel; ++j) {
      const std::uint64_t back = std::uint64_t{kernel - 1 - j} * dilation;
      if (back > t) continue;  // before the first frame: the forward had no term
      const std::size_t s = t - static_cast<std::size_t>(back);
      Eigen::Map<Arr>(dtaps + j * d, dn) += dp * Eigen::Map<const Arr>(u + s * d, dn);
      Eigen::Map<Arr>(du + s * d, dn) += dp * Eigen::Map<const Arr>(taps + j * d, dn);
    }
  }
}

}  // namespace aether::train
