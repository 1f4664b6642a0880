// track_streams: runs a .rvne model over several simulated tracks at once.
//
//   track_streams [BLOB] [--tracks N] [--frames T] [--capacity C]
//
// BLOB defaults to the seeded AETHER default model (what init_random_blob
// writes), built in memory. Each track gets a stream in a StreamPool; every
// step pushes one synthetic frame per track (a drifting sinusoid per track,
// standing in for CSI features) and the pool returns each track's logits. At
// the end it prints each track's class probabilities, the time per pool step,
// and checks the first track's streamed logits against a prefill of its
// frames (bit-identical for the causal sparse default).
//
// Exit status: 0 ok, 1 the stream/prefill check failed, 2 usage or blob error.

#include <aether/rvne.hpp>
#include <aether/stream_pool.hpp>
#include <aether/temporal_model.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string blob;
  std::size_t tracks = 8, frames = 256, capacity = 0;  // capacity 0: frames
};

bool parse_count(const char* s, std::size_t& out) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0' || v == 0 || v > 1000000) return false;
  out = static_cast<std::size_t>(v);
  return true;
}

int usage(const char* why) {
  std::fprintf(stderr, "track_streams: %s\nusage: track_streams [BLOB] [--tracks N] [--frames T] [--capacity C]\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    std::size_t* target = a == "--tracks" ? &o.tracks : a == "--frames" ? &o.frames : a == "--capacity" ? &o.capacity : nullptr;
    if (target != nullptr) {
      if (i + 1 >= argc || !parse_count(argv[++i], *target)) return usage(("bad value for " + a).c_str());
    } else if (!a.empty() && a[0] == '-') {
      return usage(("unknown option " + a).c_str());
    } else if (o.blob.empty()) {
      o.blob = a;
    } else {
      return usage("more than one BLOB");
    }
  }
  if (o.capacity == 0) o.capacity = o.frames;

  try {
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
  } catch (const aether::Error& e) {
    std::fprintf(stderr, "track_streams: %s\n", e.what());
    return 2;
  }
}
