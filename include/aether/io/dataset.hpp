#pragma once
/// \file dataset.hpp
/// Recordings -> labelled windows, the one path shared by `train_blob`,
/// `eval_blob` and `csi_replay`. This entry header includes every stage;
/// each stage is its own header under io/dataset/:
///
/// 1. `featurize_recording` (dataset/series.hpp): per node, each kept frame
///    through the featuriser (io/featurizer.hpp) -> a `Series` (times +
///    `(frames, input_dim)` features). Frames the featuriser refuses are
///    counted. The standardisation (featuriser step 5) is fitted on the
///    training windows' rows and applied by `fit_standardisation` /
///    `standardise_series` (dataset/standardise.hpp).
/// 2. `make_windows` (dataset/windows.hpp): per series, windows of `window`
///    frames starting at 0, stride, 2 stride, ... (a replay classifies each
///    node's latest window exactly at those frames). Nodes are never mixed.
/// 3. `assign_split` (dataset/windows.hpp): a time-ordered split per
///    recording (fractions of its time span: train | validation | test, in
///    that order); windows crossing a cut are dropped and counted, so no
///    frame is in two parts.
/// 4. `label_of` (dataset/labels.hpp): the task (`meta`, `labels=CSV`,
///    `motion`, `order`) names each window's class, or skips it with a
///    counted reason. The labels CSV reader is there too.
/// 5. `ClassMap` (dataset/labels.hpp): class names seen in training,
///    lexicographic.
///
/// `build_dataset` (dataset/assembly.hpp) runs them all and returns the
/// labelled examples per part, with `to_json` for its counts. Also the
/// featuriser's JSON form for the sidecar (`features_to_json`,
/// `features_from_json`: dataset/features_json.hpp).
///
/// Needs nlohmann-json (target `aether::io`). Thread safety: free functions
/// over values (each stage header states its own thread safety and cost).

#include <aether/io/dataset/features_json.hpp>
#include <aether/io/dataset/series.hpp>
#include <aether/io/dataset/standardise.hpp>
#include <aether/io/dataset/windows.hpp>
#include <aether/io/dataset/labels.hpp>
#include <aether/io/dataset/assembly.hpp>
