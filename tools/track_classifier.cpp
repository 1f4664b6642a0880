// Members of tools/track_classifier.hpp, compiled once into the tools'
// static library aether_tools_common (tools/CMakeLists.txt).
#include "tools/track_classifier.hpp"

#include "tools/model_runs.hpp"

namespace aether_tools {

TrackClassifier::TrackClassifier(const Model& model, aether::Pool pool, TrackOptions o) : model_(&model), pool_(pool), o_(o) {
  if (o.window == 0) aether::detail::fail(aether::Errc::invalid_argument, "window 0: must be at least 1");
  if (o.every == 0) aether::detail::fail(aether::Errc::invalid_argument, "every 0: must be at least 1");
  if (model.header().version == aether::rvne::kVersion2 && pool != model.pool()) {
    aether::detail::fail(aether::Errc::invalid_argument,
                         "pool contradicts the version 2 blob's own pool (pass model.pool())");
  }
  if (o.stream) {
    if (pool != aether::Pool::last) {
      aether::detail::fail(aether::Errc::invalid_argument, "stream mode needs a model trained with pool last");
    }
    streams_.emplace(model, o.window, aether::Eviction::sliding_window);
  }
}

std::size_t TrackClassifier::open() {
  std::size_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = tracks_.size();
    tracks_.emplace_back();
  }
  Track& t = tracks_[id];
  t.count = 0;
  if (streams_) {
    t.stream = streams_->open();
  } else if (t.ring.rows() == 0) {
    t.ring.resize(static_cast<Eigen::Index>(o_.window), static_cast<Eigen::Index>(model_->input_dim()));
  }
  return id;
}

void TrackClassifier::close(std::size_t id) {
  if (streams_) streams_->close(tracks_[id].stream);
  free_.push_back(id);
}

std::optional<TrackClassifier::Model::Vector> TrackClassifier::push(std::size_t id, const float* features) {
  Track& t = tracks_[id];
  const auto d = static_cast<Eigen::Index>(model_->input_dim());
  const Eigen::Map<const Matrix> row(features, 1, d);
  std::optional<Model::Vector> logits;
  if (streams_) {
    logits = streams_->push({t.stream}, row).row(0).transpose();
  } else {
    t.ring.row(static_cast<Eigen::Index>(t.count % o_.window)) = row;
  }
  ++t.count;
  if (t.count < o_.window || (t.count - o_.window) % o_.every != 0) return std::nullopt;
  if (streams_) return logits;
  const auto w = static_cast<Eigen::Index>(o_.window), start = static_cast<Eigen::Index>(t.count % o_.window);
  Matrix in(w, d);
  in.topRows(w - start) = t.ring.bottomRows(w - start);
  in.bottomRows(start) = t.ring.topRows(start);
  return window_logits(*model_, in, pool_);
}

}  // namespace aether_tools
