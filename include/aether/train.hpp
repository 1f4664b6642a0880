#pragma once
/// \file train.hpp
/// Entry header of training (namespace `aether::train`), apart from the
/// umbrella `aether.hpp` as Eigen gives each module its own: inference code
/// never compiles the trainer (its non-template `train` and `evaluate`
/// instantiate the model's forward and backward passes in float and double,
/// about 8 s of compile time in every translation unit that includes them,
/// and `<omp.h>` in OpenMP builds).
///
/// - train/attention_backward.hpp  exact gradient of the attention kernels
/// - train/model_backward.hpp      exact gradient of a whole `TemporalModel` (v1 and v2)
/// - train/rms_norm_backward.hpp, conv_backward.hpp, rope_backward.hpp,
///   ffn_backward.hpp, linear_backward.hpp, pool_backward.hpp
///                                 the v2 blocks' backward passes (model_backward.hpp includes them)
/// - train/optimizer.hpp           `train::AdamW`, gradient-norm clipping
/// - train/trainer.hpp             `train::train`, `train::evaluate` (mini-batches over
///                                 OpenMP with a fixed reduction order), `train::Augment`
/// - train/v2_defaults.hpp         `train::V2Defaults`: the v2 model and recipe train_blob trains

#include <aether/aether.hpp>
#include <aether/train/attention_backward.hpp>
#include <aether/train/model_backward.hpp>
#include <aether/train/optimizer.hpp>
#include <aether/train/trainer.hpp>
#include <aether/train/v2_defaults.hpp>
