#pragma once
// One node's frames -> classifications: the code path csi_replay (for a
// recording's tracks) and csi_live (for each node's datagrams) share, so the
// two give the same classes and logits bit for bit.
//
// A track is one node's featurised frames (input_dim floats each, in
// arrival order). Its first classification is at the window-th frame, then
// every `every` frames (frame counts k with k >= window and (k - window) %
// every == 0):
// - stream mode (pool-last models, csi_replay --stream): each track is a
//   StreamPool stream (capacity = window, sliding-window eviction), one push
//   per frame; the logits are the push's;
// - window mode: a forward (the model's pool) over the track's last `window`
//   frames, kept in a ring of window x input_dim floats.
//
// Ownership: refers to the model (must outlive it); owns the tracks' rings
// and the pool. Cost per frame: stream mode one push; window mode a copy of
// input_dim floats, plus window x input_dim and a forward at each
// classification. Not thread-safe (one caller).
//
// Tools only (needs aether::io through training_common.hpp). The members are
// defined in track_classifier.cpp, compiled once into aether_tools_common.

#include "tools/training_common.hpp"

#include <aether/stream_pool.hpp>

#include <optional>
#include <vector>

namespace aether_tools {

struct TrackOptions {
  bool stream = false;    ///< stream mode (needs a pool-last model)
  std::size_t window = 0; ///< frames per classification (>= 1)
  std::size_t every = 0;  ///< frames between classifications after the first (>= 1)
};

class TrackClassifier {
 public:
  using Model = aether::TemporalModel<float>;
  using Matrix = Model::Matrix;

  /// Throws invalid_argument for window or every 0, stream mode with a
  /// model that does not pool last, or a version 2 model with a `pool`
  /// other than its own (`model.pool()`).
  TrackClassifier(const Model& model, aether::Pool pool, TrackOptions o);

  /// Opens an empty track; returns its id (ids of closed tracks are reused).
  std::size_t open();

  /// Closes track `id` (must be open).
  void close(std::size_t id);

  /// Frames pushed to track `id` since it opened.
  std::size_t frames(std::size_t id) const { return tracks_[id].count; }

  /// Pushes one featurised frame (input_dim floats at `features`) to track
  /// `id`; returns the logits when this frame is a classification point.
  std::optional<Model::Vector> push(std::size_t id, const float* features);

 private:
  struct Track {
    std::size_t count = 0;
    std::size_t stream = 0;  ///< stream mode: its id in streams_
    Matrix ring;             ///< window mode: the last `window` frames, frame k at row k % window
  };
  const Model* model_;
  aether::Pool pool_;
  TrackOptions o_;
  std::optional<aether::StreamPool<float>> streams_;
  std::vector<Track> tracks_;
  std::vector<std::size_t> free_;
};

}  // namespace aether_tools
