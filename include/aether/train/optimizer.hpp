#pragma once
/// \file train/optimizer.hpp
/// `AdamW`: Adam with decoupled weight decay and gradient-norm clipping,
/// over one flat parameter vector (a blob's weights in layout order).
///
/// One step with gradient g (after clipping g *= min(1, clip_norm / |g|)):
///   m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2
///   w -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps) + lr * weight_decay * w
/// Element-wise in float, the norm summed in double in index order: the same
/// inputs give the same bits on every run and thread count.
///
/// Parameter roles (`ParamRole`, one per parameter; `parameter_roles(header)`
/// for a blob): `decay` gets the update and the weight decay, `no_decay` the
/// update only, `frozen` nothing (its moments stay 0 and its value is never
/// written). A blob's weight matrices (W_in, Wq/Wk/Wv/Wo, conv.taps, W1, W2,
/// Wc, the gate) decay; its RMSNorm gains and biases do not (decaying a gain
/// pulls the norm's scale to 0, not towards a simpler model; the usual
/// choice); the featuriser's standardisation constants (`MatrixShape::
/// trainable` false) and v2 padding are frozen. v1 blobs are all matrices:
/// every parameter decays, as before roles existed.
///
/// Memory: two floats of state per parameter, one byte of role. Not
/// thread-safe (one owner).

#include <aether/error.hpp>
#include <aether/rvne/tensors.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace aether::train {

/// AdamW hyper-parameters.
struct AdamWOptions {
  float lr = 3e-3f;            ///< learning rate
  float beta1 = 0.9f;          ///< first-moment decay
  float beta2 = 0.999f;        ///< second-moment decay
  float eps = 1e-8f;           ///< denominator guard
  float weight_decay = 0.0f;   ///< decoupled decay per step, scaled by lr
  float clip_norm = 1.0f;      ///< global gradient L2 norm limit (0: no clipping)

  /// Throws `Errc::invalid_config` naming the first bad field.
  void validate() const {
    auto bad = [](const std::string& what) { aether::detail::fail(Errc::invalid_config, "AdamWOptions." + what); };
    if (!(lr > 0) || !std::isfinite(lr)) bad("lr " + std::to_string(lr) + " must be finite and > 0");
    if (!(beta1 >= 0 && beta1 < 1)) bad("beta1 " + std::to_string(beta1) + " must be in [0, 1)");
    if (!(beta2 >= 0 && beta2 < 1)) bad("beta2 " + std::to_string(beta2) + " must be in [0, 1)");
    if (!(eps > 0)) bad("eps " + std::to_string(eps) + " must be > 0");
    if (!(weight_decay >= 0)) bad("weight_decay " + std::to_string(weight_decay) + " must be >= 0");
    if (!(clip_norm >= 0)) bad("clip_norm " + std::to_string(clip_norm) + " must be >= 0");
  }
};

/// What the optimizer does to one parameter (see the file comment).
enum class ParamRole : std::uint8_t {
  frozen = 0,    ///< never written: padding, the featuriser's standardisation constants
  no_decay = 1,  ///< AdamW update without weight decay: RMSNorm gains, biases
  decay = 2,     ///< AdamW update and weight decay: weight matrices
};

/// The role of every parameter of a blob of shape `h`
/// (`rvne::layout_elements(h)` values, `rvne::for_each_tensor` order):
/// padding and non-trainable tensors frozen, a tensor named "*norm*" or
/// a bias ("b*", "conv.bias") no_decay, every other tensor decay.
/// Allocates the vector; O(elements).
inline std::vector<ParamRole> parameter_roles(const rvne::Header& h) {
  std::vector<ParamRole> roles(static_cast<std::size_t>(rvne::layout_elements(h)), ParamRole::frozen);
  rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
    const char* n = m.name;
    const bool plain = std::strstr(n, "norm") != nullptr || n[0] == 'b' || std::strcmp(n, "conv.bias") == 0;
    const ParamRole r = !m.trainable ? ParamRole::frozen : plain ? ParamRole::no_decay : ParamRole::decay;
    for (std::uint64_t e = 0; e < m.elements(); ++e) roles[static_cast<std::size_t>(m.offset + e)] = r;
  });
  return roles;
}

/// AdamW state for `size` parameters.
class AdamW {
 public:
  /// Throws `Errc::invalid_config` for bad options. Every parameter decays.
  AdamW(std::size_t size, AdamWOptions options) : opt_((options.validate(), options)), m_(size, 0.0f), v_(size, 0.0f) {}
  /// With a role per parameter (`roles.size() == size`, else
  /// `Errc::invalid_argument`); see `parameter_roles`.
  AdamW(std::size_t size, AdamWOptions options, std::vector<ParamRole> roles) : AdamW(size, options) {
    if (roles.size() != size) {
      aether::detail::fail(Errc::invalid_argument, "AdamW: " + std::to_string(roles.size()) + " parameter roles for " +
                                                       std::to_string(size) + " parameters");
    }
    roles_ = std::move(roles);
  }

  const AdamWOptions& options() const noexcept { return opt_; }
  std::size_t size() const noexcept { return m_.size(); }
  std::uint64_t steps() const noexcept { return t_; }

  /// One update of `params` (size() values) with gradient `grad`; returns
  /// the gradient's L2 norm before clipping. A non-finite norm leaves the
  /// parameters and state unchanged and throws `Errc::invalid_argument`.
  double step(float* params, const float* grad) {
    double sq = 0;
    for (std::size_t i = 0; i < m_.size(); ++i) sq += static_cast<double>(grad[i]) * grad[i];
    const double norm = std::sqrt(sq);
    if (!std::isfinite(norm)) {
      aether::detail::fail(Errc::invalid_argument, "AdamW::step: gradient norm is " + std::to_string(norm) +
                                               " (diverged: lower the learning rate)");
    }
    const float clip =
        opt_.clip_norm > 0 && norm > opt_.clip_norm ? static_cast<float>(opt_.clip_norm / norm) : 1.0f;
    ++t_;
    const float c1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(opt_.beta1), static_cast<double>(t_)));
    const float c2 = 1.0f - static_cast<float>(std::pow(static_cast<double>(opt_.beta2), static_cast<double>(t_)));
    const float decay = opt_.lr * opt_.weight_decay;
    for (std::size_t i = 0; i < m_.size(); ++i) {
      const ParamRole role = roles_.empty() ? ParamRole::decay : roles_[i];
      if (role == ParamRole::frozen) continue;
      const float g = grad[i] * clip;
      m_[i] = opt_.beta1 * m_[i] + (1.0f - opt_.beta1) * g;
      v_[i] = opt_.beta2 * v_[i] + (1.0f - opt_.beta2) * g * g;
      const float update = (m_[i] / c1) / (std::sqrt(v_[i] / c2) + opt_.eps);
      if (role == ParamRole::decay) {
        params[i] -= opt_.lr * update + decay * params[i];
      } else {
        params[i] -= opt_.lr * update;
      }
    }
    return norm;
  }

 private:
  AdamWOptions opt_;
  std::vector<float> m_, v_;
  std::vector<ParamRole> roles_;  // empty: every parameter decays
  std::uint64_t t_ = 0;
};

}  // namespace aether::train
