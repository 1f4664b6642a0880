// Members of tools/model_runs.hpp, compiled once into the tools' static
// library aether_tools_common (tools/CMakeLists.txt).
#include "tools/model_runs.hpp"

namespace aether_tools {

aether::TemporalModel<float>::Vector window_logits(
    const aether::TemporalModel<float>& model,
    const Eigen::Ref<const aether::TemporalModel<float>::Matrix>& frames, aether::Pool pool) {
  return model.forward(frames, pool);
}

train::EvalResult evaluate_windows(const aether::rvne::Blob& blob, const std::vector<train::Example>& examples,
                                   const train::EvalOptions& options) {
  return train::evaluate(blob, examples, options);
}

}  // namespace aether_tools
