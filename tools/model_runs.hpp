#pragma once
// The tools' two model runs that are not a track: a windowed forward and an
// evaluation over labelled windows. Declared here and defined in
// model_runs.cpp, compiled once into aether_tools_common, so the model's
// prefill (~15 s of -O2 compile per translation unit that instantiates it)
// is compiled once for eval_blob, csi_replay and the track classifier
// instead of once in each. Tools only (needs aether::io through
// training_common.hpp).

#include "tools/training_common.hpp"

#include <aether/temporal_model.hpp>

namespace aether_tools {

/// `model.forward(frames, pool)`: logits `(classes)` of the rows `frames`
/// `(window, input_dim)`. Throws as `forward` (shape_mismatch for bad frames).
/// Thread safety: as the model's const members.
aether::TemporalModel<float>::Vector window_logits(
    const aether::TemporalModel<float>& model,
    const Eigen::Ref<const aether::TemporalModel<float>::Matrix>& frames, aether::Pool pool);

/// `train::evaluate(blob, examples, options)`.
train::EvalResult evaluate_windows(const aether::rvne::Blob& blob, const std::vector<train::Example>& examples,
                                   const train::EvalOptions& options);

}  // namespace aether_tools
