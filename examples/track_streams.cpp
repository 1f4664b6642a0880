// track_streams: runs a .rvne model over several simulated tracks at once.
//
//   track_streams [BLOB] [--tracks N] [--frames T] [--capacity C] [--help] [--version]
//
// BLOB defaults to the seeded AETHER default model (what init_random_blob
// writes), built in memory. Each track gets a stream in a StreamPool; every
// step pushes one synthetic frame per track (a drifting sinusoid per track,
// standing in for CSI features) and the pool returns each track's logits. At
// the end it prints each track's class probabilities, the time per pool step,
// and checks the first track's streamed logits against a prefill of its
// frames (bit-identical for the causal sparse default).
//
// Exit status (tools/cli.hpp): 0 ok, 1 the blob or model is invalid or the
// stream/prefill check failed, 2 usage or I/O error.

#include "tools/cli.hpp"

#include <aether/rvne.hpp>
#include <aether/stream_pool.hpp>
#include <aether/temporal_model.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

/// The most track-frames (--tracks x --frames) one run pushes: about a
/// minute of work with the default model.
constexpr std::size_t kMaxTrackFrames = std::size_t{1} << 22;

struct Options {
  std::string blob;
  std::size_t tracks = 8, frames = 256, capacity = 0;  // capacity 0: frames
};

}  // namespace

int main(int argc, char** argv) {
  return aether_cli::guarded("track_streams", [&]() -> int {
    Options o;
    auto app = aether_cli::make_app("track_streams", "Runs a .rvne model over several simulated tracks at once (a StreamPool).");
    app->add_option("BLOB", o.blob, "the model (default: the seeded AETHER default model, built in memory)");
    const auto count = aether_cli::in_range<std::size_t>(1, 65536);
    app->add_option("--tracks", o.tracks, "tracks, one stream each (default 8)")->check(count);
    app->add_option("--frames", o.frames, "frames pushed per track (default 256)")->check(count);
    app->add_option("--capacity", o.capacity, "frames each stream holds (default: --frames)")->check(count);
    app->footer("Exit status: 0 ok, 1 invalid blob or model or a failed stream/prefill check, 2 usage or I/O error.");
    if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
    if (o.capacity == 0) o.capacity = o.frames;
    if (o.tracks * o.frames > kMaxTrackFrames) {
      return aether_cli::usage_error(*app, "--tracks " + std::to_string(o.tracks) + " x --frames " +
                                               std::to_string(o.frames) + " is more than " +
                                               std::to_string(kMaxTrackFrames) + " track-frames");
    }

    const aether::rvne::Blob blob = o.blob.empty() ? aether::rvne::init_random(aether::rvne::Header::aether_default())
                                                   : aether::rvne::read_file(o.blob);
    const aether::TemporalModel<float> model(blob);  // AETHER head attention: sparse W32 B16, causal
    const std::size_t D = model.input_dim();
    std::printf("model: D %zu, q_heads %u, kv_heads %u, head_dim %u, layers %zu, classes %zu (%s)\n", D,
                static_cast<unsigned>(blob.header.q_heads), static_cast<unsigned>(blob.header.kv_heads),
                static_cast<unsigned>(blob.header.head_dim), model.layers(), model.classes(),
                o.blob.empty() ? "seeded default, in memory" : o.blob.c_str());

    aether::StreamPool<float> pool(model, o.capacity, aether::Eviction::sliding_window);
    std::vector<std::size_t> ids;
    for (std::size_t t = 0; t < o.tracks; ++t) ids.push_back(pool.open());

    using Matrix = aether::TemporalModel<float>::Matrix;
    Matrix frames(static_cast<Eigen::Index>(o.tracks), static_cast<Eigen::Index>(D));
    Matrix first_track(static_cast<Eigen::Index>(o.frames), static_cast<Eigen::Index>(D));
    Matrix logits;
    double seconds = 0;
    for (std::size_t step = 0; step < o.frames; ++step) {
      for (std::size_t t = 0; t < o.tracks; ++t) {
        for (std::size_t c = 0; c < D; ++c) {
          frames(static_cast<Eigen::Index>(t), static_cast<Eigen::Index>(c)) =
              std::sin(0.05f * static_cast<float>(step * (t + 1)) + 0.3f * static_cast<float>(c));
        }
      }
      first_track.row(static_cast<Eigen::Index>(step)) = frames.row(0);
      const auto t0 = std::chrono::steady_clock::now();
      logits = pool.push(ids, frames);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }

    for (std::size_t t = 0; t < o.tracks; ++t) {
      const auto p = aether::TemporalModel<float>::probabilities(logits.row(static_cast<Eigen::Index>(t)).transpose());
      std::printf("track %zu:", t);
      for (Eigen::Index c = 0; c < p.size(); ++c) std::printf(" %.4f", static_cast<double>(p[c]));
      std::printf("\n");
    }
    std::printf("%zu tracks x %zu frames: %.2f us per pool step (%.2f us per track-frame)\n", o.tracks, o.frames,
                1e6 * seconds / static_cast<double>(o.frames),
                1e6 * seconds / static_cast<double>(o.frames * o.tracks));

    if (o.capacity < o.frames) {
      std::printf("stream/prefill check skipped: frames were evicted (capacity %zu < frames %zu)\n", o.capacity,
                  o.frames);
      return 0;
    }
    const auto prefill = model.forward(first_track, aether::Pool::last);
    const bool same = std::memcmp(prefill.data(), logits.row(0).data(), sizeof(float) * model.classes()) == 0;
    std::printf("track 0 streamed logits %s its prefill\n", same ? "equal (bit for bit)" : "DIFFER from");
    return same ? 0 : 1;
  });
}
