#pragma once
/// \file train/trainer.hpp
/// `train`: fits a `.rvne` model (fp32) to labelled windows of frames with
/// AdamW over mini-batches; `evaluate`: loss, accuracy and per-class counts
/// of a blob on labelled windows.
///
/// The model trained is the model run: each step builds a `TemporalModel`
/// over the current weights and takes its forward (the bits of inference)
/// and the exact gradient of it (train/model_backward.hpp).
///
/// Version 1 and 2 shapes: a v2 blob names its pooling and attention
/// options (`TrainOptions::pool` and a default `TrainOptions::attention` are
/// then ignored; a non-default one must agree with the blob), its initial
/// weights are `rvne::init_trainable` (a standardised featuriser's constants
/// start as offset 0, scale 1: pass `TrainOptions::initial` to train with a
/// dataset's), and AdamW never writes its padding or standardisation
/// constants and decays no RMSNorm gain or bias (train/optimizer.hpp,
/// `parameter_roles`). Gated models are refused (`Errc::invalid_argument`).
///
/// Determinism: the initial weights are `rvne::init_random(shape, seed)`
/// (v2: `rvne::init_trainable`) (or `TrainOptions::initial`), the window order of each epoch a seeded
/// xorshift64* shuffle, and each window's gradient lands in its own slot;
/// the slots are summed in window order after the batch. The same seed and
/// data give a byte-identical blob, for any thread count (OpenMP spreads the
/// windows of a batch over threads when built with AETHER_USE_OPENMP).
///
/// Memory: the weights, AdamW's two moments, and per batch `batch` gradient
/// slots of the layout size, plus per thread one window's activations
/// (model_backward.hpp).

#include <aether/error.hpp>
#include <aether/rvne.hpp>
#include <aether/temporal_model.hpp>
#include <aether/train/model_backward.hpp>
#include <aether/train/optimizer.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#if defined(AETHER_USE_OPENMP)
#include <omp.h>
#endif

namespace aether::train {

/// Frames of one window, `(N, input_dim)` row-major float.
using Matrix = TemporalModel<float>::Matrix;

/// One labelled window.
struct Example {
  Matrix frames;          ///< N x input_dim, N >= 1 (windows may differ in N)
  std::size_t label = 0;  ///< class index, < n_classes
};

/// Training-time augmentation against session drift: the static channel
/// (each feature's level) moves between sessions while the motion does not.
/// Every training window of every epoch gets a fresh random offset per
/// feature, held over all its frames: `drift * n_f` per feature f plus a
/// smooth part `tilt * (a + b z_f)` over the feature index (z_f from -1 to 1
/// across the offset features), n, a, b standard normal; and, with `noise`,
/// independent noise on every value. Offsets are drawn
/// from (seed, epoch, window index), so the result does not depend on the
/// thread count. Validation and evaluation windows are never touched.
/// Cost: one copy of the window per training step.
struct Augment {
  float drift = 0.0f;        ///< std of the independent offset per feature (standardised units); 0 = off
  float tilt = 0.0f;         ///< std of the smooth offset (level and tilt over the feature index); 0 = off
  std::size_t features = 0;  ///< offset the first `features` columns only (0: all; e.g. exclude a constant feature)
  float noise = 0.0f;        ///< std of independent noise added to every value of those columns; 0 = off

  bool on() const noexcept { return drift > 0.0f || tilt > 0.0f || noise > 0.0f; }
};

/// Training options (see the file comment for what is deterministic).
struct TrainOptions {
  std::size_t epochs = 20;                    ///< passes over the training windows
  std::size_t batch = 16;                     ///< windows per step (the last batch of an epoch may be smaller)
  AdamWOptions adamw;                         ///< learning rate, betas, weight decay, clipping
  std::uint64_t seed = rvne::kDefaultSeed;    ///< initial weights and window order
  Pool pool = Pool::mean;                     ///< pooling trained (and stored in the sidecar by the tools); v1 only: a v2 blob names its own
  ModelAttention attention;                   ///< attention options (the sidecar's `attention`)
  std::size_t patience = 5;                   ///< stop after this many epochs without a lower validation loss (0: never)
  std::size_t max_steps = 0;                  ///< stop after this many optimiser steps (0: no limit)
  int threads = 0;                            ///< OpenMP threads over a batch's windows (0: OpenMP's default)
  std::optional<rvne::Blob> initial;          ///< start from these weights (same shape) instead of init_random
  Augment augment;                            ///< off by default
  /// Without validation windows: the kept weights are the mean of the
  /// weights at the end of each of the last `average_epochs` planned epochs
  /// (those of them that ran, when training stops early; 0 or 1: the last
  /// epoch's), summed in double in epoch order. One point of a
  /// constant-rate walk depends on the seed's last steps; the mean of its
  /// late points less so (v2 defaults: 30 of 60). With validation: unused
  /// (the best epoch is kept). Cost: P doubles, one pass per epoch.
  std::size_t average_epochs = 0;
};

/// Reported to the progress callback after every step.
struct Progress {
  std::size_t epoch = 0, epochs = 0;           ///< 1-based epoch, of `epochs`
  std::size_t step = 0, total_steps = 0;       ///< optimiser steps done, planned (epochs x batches, or max_steps)
  double loss = 0, accuracy = 0;               ///< running training means over this epoch's windows so far
  double val_loss = std::numeric_limits<double>::quiet_NaN();      ///< last finished epoch's (NaN: none yet)
  double val_accuracy = std::numeric_limits<double>::quiet_NaN();
  double windows_per_s = 0;                    ///< training windows per second so far
  double seconds_left = 0;                     ///< estimate for the planned steps
  bool epoch_end = false;                      ///< true once per epoch, after validation
};

/// Metrics of one finished epoch.
struct EpochMetrics {
  std::size_t epoch = 0;
  double train_loss = 0, train_accuracy = 0;   ///< running means during the epoch (weights changing)
  double val_loss = std::numeric_limits<double>::quiet_NaN(), val_accuracy = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0;                          ///< wall time since training started
};

/// Callbacks of `train` (all optional).
struct TrainCallbacks {
  /// After every step; return false to stop training (the result is then
  /// the best weights so far, as for early stopping).
  std::function<bool(const Progress&)> progress;
  /// After an epoch that lowered the validation loss (or after every epoch
  /// without validation data): the current weights, to be written as a
  /// checkpoint (`.rvne` + sidecar) by the caller.
  std::function<void(const rvne::Blob&, const EpochMetrics&)> checkpoint;
};

/// What `train` returns.
struct TrainResult {
  rvne::Blob blob;                     ///< fp32; weights of the best validation epoch (last epoch without validation)
  std::vector<EpochMetrics> history;   ///< one entry per finished epoch
  std::size_t best_epoch = 0;          ///< 1-based epoch whose weights `blob` holds (0: the initial weights)
  std::size_t steps = 0;               ///< optimiser steps taken
  bool stopped_early = false;          ///< by patience, max_steps or the progress callback
  double seconds = 0;                  ///< wall time
};

/// Per-class counts of an evaluation.
struct ClassCounts {
  std::size_t total = 0;     ///< windows whose label is this class
  std::size_t correct = 0;   ///< of them, predicted as this class
  std::size_t predicted = 0; ///< windows (any label) predicted as this class
};

/// What `evaluate` returns.
struct EvalResult {
  double loss = 0;                        ///< mean cross-entropy
  double accuracy = 0;                    ///< fraction predicted right
  std::vector<ClassCounts> per_class;     ///< n_classes entries
  std::vector<std::size_t> predictions;   ///< argmax per example, in input order
  std::vector<std::vector<float>> probabilities;  ///< softmax per example
};

/// Evaluation options: how to run the blob (as it was trained).
struct EvalOptions {
  Pool pool = Pool::mean;  ///< v1 only: a v2 blob names its own
  ModelAttention attention;
  int threads = 0;  ///< as TrainOptions::threads
};

namespace detail {

/// `x` with `Augment`'s offsets for window `index` in `epoch` (see Augment).
/// Deterministic: a generator seeded from (seed, epoch, index) alone.
inline Matrix augmented(const Matrix& x, const Augment& a, std::uint64_t seed, std::size_t epoch, std::size_t index) {
  std::uint64_t s = seed ^ (0xA24BAED4963EE407ull * (epoch + 1)) ^ (0x9FB21C651E98DF25ull * (index + 1));
  rvne::detail::XorShift64Star rng(s == 0 ? 1 : s);
  auto uniform = [&rng] { return (static_cast<double>(rng.next_u32()) + 0.5) / 4294967296.0; };
  auto normal = [&] { return std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform()); };
  const Eigen::Index f = a.features == 0 ? x.cols() : std::min<Eigen::Index>(x.cols(), static_cast<Eigen::Index>(a.features));
  const double level = normal(), slope = normal();
  Matrix out = x;
  for (Eigen::Index c = 0; c < f; ++c) {
    const double z = f > 1 ? 2.0 * static_cast<double>(c) / static_cast<double>(f - 1) - 1.0 : 0.0;
    const double off = static_cast<double>(a.drift) * normal() + static_cast<double>(a.tilt) * (level + slope * z);
    out.col(c).array() += static_cast<float>(off);
  }
  if (a.noise > 0.0f) {
    for (Eigen::Index r = 0; r < out.rows(); ++r) {
      for (Eigen::Index c = 0; c < f; ++c) out(r, c) += static_cast<float>(static_cast<double>(a.noise) * normal());
    }
  }
  return out;
}

/// Throws `Errc::invalid_argument` naming the first example whose shape or
/// label does not fit `h` (`what` names the set).
inline void check_examples(const rvne::Header& h, const std::vector<Example>& xs, const char* what) {
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Example& x = xs[i];
    if (x.frames.rows() < 1 || static_cast<std::size_t>(x.frames.cols()) != h.input_dim) {
      aether::detail::fail(Errc::shape_mismatch, std::string(what) + " example " + std::to_string(i) + ": frames (" +
                                                     std::to_string(x.frames.rows()) + ", " +
                                                     std::to_string(x.frames.cols()) + "), expected (N >= 1, " +
                                                     std::to_string(h.input_dim) + ")");
    }
    if (x.label >= h.classes) {
      aether::detail::fail(Errc::invalid_argument, std::string(what) + " example " + std::to_string(i) + ": label " +
                                                       std::to_string(x.label) + " is not below n_classes " +
                                                       std::to_string(h.classes));
    }
  }
}

/// Runs `f(i, thread)` for i in [0, count) over `threads` OpenMP threads
/// (serially without OpenMP); `thread` < `thread_count(threads)`. The first
/// exception thrown is rethrown after the loop.
inline int thread_count(int threads) {
#if defined(AETHER_USE_OPENMP)
  return threads > 0 ? threads : omp_get_max_threads();
#else
  (void)threads;
  return 1;
#endif
}
template <class F>
void parallel_for(std::size_t count, int threads, F&& f) {
  std::exception_ptr error;
#if defined(AETHER_USE_OPENMP)
  const int nt = thread_count(threads);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
  for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(count); ++i) {
    try {
      f(static_cast<std::size_t>(i), omp_get_thread_num());
    } catch (...) {
#pragma omp critical(aether_train_error)
      if (!error) error = std::current_exception();
    }
  }
#else
  (void)threads;
  for (std::size_t i = 0; i < count; ++i) {
    try {
      f(i, 0);
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
#endif
  if (error) std::rethrow_exception(error);
}

inline rvne::Header f32_of(rvne::Header h) {
  h.dtype = rvne::Dtype::f32;
  return h;
}

/// The pooling a model of `h` is trained and evaluated with: a v2 blob's
/// own, else `given`.
inline Pool pool_of(const rvne::Header& h, Pool given) {
  if (h.version != rvne::kVersion2) return given;
  return h.arch.pool == rvne::PoolKind::last ? Pool::last : Pool::mean;
}

/// Loss and prediction of each example under `model` (forward only).
/// `forward_all`, `evaluate` and `train` are templates only so that they are
/// compiled where they are called: as inline non-templates they instantiated
/// the model's forward and backward passes in every translation unit that
/// includes this header (~7 s of -O3 compile each). `Lazy` is always void.
template <class Lazy = void>
void forward_all(const TemporalModel<float>& model, const std::vector<Example>& xs, Pool pool, int threads,
                        std::vector<double>& loss, std::vector<std::size_t>& pred,
                        std::vector<std::vector<float>>* probs) {
  loss.assign(xs.size(), 0.0);
  pred.assign(xs.size(), 0);
  if (probs != nullptr) probs->assign(xs.size(), {});
  parallel_for(xs.size(), threads, [&](std::size_t i, int) {
    const TemporalModel<float>::Vector z = model.forward(xs[i].frames, pool);
    loss[i] = static_cast<double>(cross_entropy<float>(z, xs[i].label));
    pred[i] = argmax<float>(z);
    if (probs != nullptr) {
      const TemporalModel<float>::Vector p = TemporalModel<float>::probabilities(z);
      (*probs)[i].assign(p.data(), p.data() + p.size());
    }
  });
}

}  // namespace detail

/// Evaluates `blob` on `examples`. Throws `Errc::layout_mismatch` /
/// `invalid_header` for a blob that is not a model, `shape_mismatch` /
/// `invalid_argument` naming the first bad example.
template <class Lazy = void>
EvalResult evaluate(const rvne::Blob& blob, const std::vector<Example>& examples, const EvalOptions& options = {}) {
  const TemporalModel<float> model(blob, options.attention);
  detail::check_examples(blob.header, examples, "evaluation");
  EvalResult r;
  std::vector<double> loss;
  detail::forward_all(model, examples, detail::pool_of(blob.header, options.pool), options.threads, loss,
                      r.predictions, &r.probabilities);
  r.per_class.assign(blob.header.classes, ClassCounts{});
  std::size_t correct = 0;
  double total = 0;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    total += loss[i];
    ClassCounts& c = r.per_class[examples[i].label];
    ++c.total;
    ++r.per_class[r.predictions[i]].predicted;
    if (r.predictions[i] == examples[i].label) ++c.correct, ++correct;
  }
  if (!examples.empty()) {
    r.loss = total / static_cast<double>(examples.size());
    r.accuracy = static_cast<double>(correct) / static_cast<double>(examples.size());
  }
  return r;
}

/// Trains a model of shape `shape` (dtype ignored: training is fp32) on
/// `training`, early-stopping on `validation` (may be empty: then every
/// epoch runs and the last weights are returned). Throws
/// `Errc::invalid_header` for a bad shape, `Errc::invalid_config` for bad
/// options (batch 0, AdamW fields), `Errc::invalid_argument` /
/// `shape_mismatch` naming the first bad example or an empty training set,
/// `Errc::invalid_argument` if the gradient diverges (non-finite).
template <class Lazy = void>
TrainResult train(const rvne::Header& shape, const std::vector<Example>& training,
                         const std::vector<Example>& validation, const TrainOptions& options,
                         const TrainCallbacks& callbacks = {}) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const rvne::Header header = detail::f32_of(shape);
  rvne::check_header(header, 0);
  options.adamw.validate();
  if (options.batch == 0) aether::detail::fail(Errc::invalid_config, "TrainOptions.batch is 0 (must be >= 1)");
  if (training.empty()) aether::detail::fail(Errc::invalid_argument, "train: no training examples");
  detail::check_examples(header, training, "training");
  detail::check_examples(header, validation, "validation");

  std::vector<float> params;
  if (options.initial) {
    if (detail::f32_of(options.initial->header) != header) {
      aether::detail::fail(Errc::invalid_argument, "TrainOptions.initial: blob shape differs from the training shape");
    }
    rvne::check_layout(options.initial->header, options.initial->weights.size());
    params = options.initial->to_floats();
  } else if (header.version == rvne::kVersion2) {
    params = rvne::init_trainable(header, options.seed).to_floats();
  } else {
    params = rvne::init_random(header, options.seed).to_floats();
  }
  const std::size_t P = params.size();
  // Validates the attention options before any work.
  if (TemporalModel<float>(header, params.data(), P, options.attention).gated()) {
    aether::detail::fail(Errc::invalid_argument, "train: training through a gated model is not supported");
  }
  const Pool pool = detail::pool_of(header, options.pool);

  AdamW opt(P, options.adamw, parameter_roles(header));
  const std::size_t batch = std::min(options.batch, training.size());
  const std::size_t per_epoch = (training.size() + batch - 1) / batch;
  std::size_t planned = per_epoch * options.epochs;
  if (options.max_steps != 0) planned = std::min(planned, options.max_steps);

  const int nt = detail::thread_count(options.threads);
  std::vector<ModelBackwardScratch<float>> scratch(static_cast<std::size_t>(nt));
  std::vector<float> slots(batch * P), grad(P);
  std::vector<double> slot_loss(batch);
  std::vector<std::size_t> slot_pred(batch);
  std::vector<std::size_t> order(training.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  rvne::detail::XorShift64Star rng(options.seed ^ 0x9E3779B97F4A7C15ull);

  TrainResult result;
  std::vector<float> best = params;
  // TrainOptions::average_epochs: the sum of the averaged epochs' weights.
  const bool averaging = validation.empty() && options.average_epochs > 1;
  const std::size_t first_averaged = options.epochs - std::min(options.average_epochs, options.epochs) + 1;
  std::vector<double> average(averaging ? P : 0, 0.0);
  std::size_t averaged = 0;
  double best_val = std::numeric_limits<double>::infinity();
  std::size_t since_best = 0, windows = 0;
  Progress pr;
  pr.epochs = options.epochs;
  pr.total_steps = planned;
  auto blob_of = [&](const std::vector<float>& w) { return rvne::Blob::from_floats(header, w.data(), w.size()); };
  bool stop = false;

  for (std::size_t epoch = 1; epoch <= options.epochs && !stop; ++epoch) {
    // Fisher-Yates with the seeded generator (unbiased enough for shuffling:
    // 32 random bits per draw, modulo a count far below 2^32).
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.next_u32() % i]);
    double epoch_loss = 0;
    std::size_t epoch_correct = 0, epoch_seen = 0;
    pr.epoch = epoch;
    pr.epoch_end = false;
    for (std::size_t b0 = 0; b0 < order.size() && !stop; b0 += batch) {
      const std::size_t m = std::min(batch, order.size() - b0);
      const TemporalModel<float> model(header, params.data(), P, options.attention);
      detail::parallel_for(m, options.threads, [&](std::size_t j, int tid) {
        const Example& x = training[order[b0 + j]];
        Matrix moved;
        if (options.augment.on()) moved = detail::augmented(x.frames, options.augment, options.seed, epoch, order[b0 + j]);
        const WindowResult<float> w = loss_and_gradient<float>(model, options.augment.on() ? moved : x.frames, x.label,
                                                               pool, slots.data() + j * P,
                                                               scratch[static_cast<std::size_t>(tid)]);
        slot_loss[j] = static_cast<double>(w.loss);
        slot_pred[j] = w.predicted;
      });
      // Fixed-order reduction: window 0, 1, ... of the batch.
      const float inv = 1.0f / static_cast<float>(m);
      std::fill(grad.begin(), grad.end(), 0.0f);
      for (std::size_t j = 0; j < m; ++j) {
        const float* g = slots.data() + j * P;
        for (std::size_t i = 0; i < P; ++i) grad[i] += g[i];
        epoch_loss += slot_loss[j];
        epoch_correct += slot_pred[j] == training[order[b0 + j]].label ? 1 : 0;
      }
      for (float& g : grad) g *= inv;
      opt.step(params.data(), grad.data());
      ++result.steps;
      epoch_seen += m;
      windows += m;
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      pr.step = result.steps;
      pr.loss = epoch_loss / static_cast<double>(epoch_seen);
      pr.accuracy = static_cast<double>(epoch_correct) / static_cast<double>(epoch_seen);
      pr.windows_per_s = secs > 0 ? static_cast<double>(windows) / secs : 0;
      pr.seconds_left = result.steps > 0 ? secs / static_cast<double>(result.steps) *
                                               static_cast<double>(planned > result.steps ? planned - result.steps : 0)
                                         : 0;
      if (options.max_steps != 0 && result.steps >= options.max_steps) stop = true, result.stopped_early = true;
      if (callbacks.progress && !callbacks.progress(pr)) stop = true, result.stopped_early = true;
    }
    if (epoch_seen == 0) break;
    EpochMetrics em;
    em.epoch = epoch;
    em.train_loss = epoch_loss / static_cast<double>(epoch_seen);
    em.train_accuracy = static_cast<double>(epoch_correct) / static_cast<double>(epoch_seen);
    bool improved = true;
    if (!validation.empty()) {
      const TemporalModel<float> model(header, params.data(), P, options.attention);
      std::vector<double> vl;
      std::vector<std::size_t> vp;
      detail::forward_all(model, validation, pool, options.threads, vl, vp, nullptr);
      double sum = 0;
      std::size_t ok = 0;
      for (std::size_t i = 0; i < validation.size(); ++i) sum += vl[i], ok += vp[i] == validation[i].label ? 1 : 0;
      em.val_loss = sum / static_cast<double>(validation.size());
      em.val_accuracy = static_cast<double>(ok) / static_cast<double>(validation.size());
      improved = em.val_loss < best_val;
    }
    if (averaging && epoch >= first_averaged) {
      for (std::size_t i = 0; i < P; ++i) average[i] += static_cast<double>(params[i]);
      ++averaged;
    }
    em.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    result.history.push_back(em);
    if (improved) {
      best_val = em.val_loss;
      best = params;
      result.best_epoch = epoch;
      since_best = 0;
      if (callbacks.checkpoint) callbacks.checkpoint(blob_of(best), em);
    } else if (options.patience != 0 && ++since_best >= options.patience) {
      stop = true;
      result.stopped_early = true;
    }
    pr.val_loss = em.val_loss;
    pr.val_accuracy = em.val_accuracy;
    pr.epoch_end = true;
    if (callbacks.progress && !callbacks.progress(pr)) stop = true, result.stopped_early = true;
  }
  if (averaged > 1) {
    // Frozen values (padding, standardisation constants) are the same in
    // every averaged epoch; their mean is computed like the rest but equals them.
    for (std::size_t i = 0; i < P; ++i) params[i] = static_cast<float>(average[i] / static_cast<double>(averaged));
  }
  result.blob = blob_of(validation.empty() ? params : best);
  if (validation.empty()) result.best_epoch = result.history.size();
  result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return result;
}

}  // namespace aether::train
