#pragma once
/// \file csi_simulator.hpp
/// A multipath CSI simulator for a synthetic benchmark whose classes differ
/// only in temporal structure. It writes recordings in the sensing server's
/// format (`.csi.jsonl` raw_csi records + `.csi.meta.json`) and a labels CSV,
/// so the training tools run on it unchanged.
///
/// Model (per node, per subcarrier k at baseband offset f_k, carrier f_c):
///
///     H_k(t) = sum_p a_p exp(-j (2 pi f_k tau_p + psi_p))                  static paths
///            + b exp(-j 2 pi (f_c + f_k) (tau_m + d(t) / c))               one moving reflector
///            + noise (complex Gaussian, sigma = noise * mean |static|)
///     d(t)   = D sin(2 pi r t + phi)                                       periodic motion
///
/// A recording is a sequence of segments ("samples"), each with one class
/// and its own random room: 3-6 static paths (gain, delay 5-80 ns, phase),
/// the reflector's gain b (0.3-0.9 of the static mean), delay, and motion
/// amplitude D (0.05-0.25 wavelengths: 6-31 mm at 2.437 GHz), phase phi, and
/// a receiver gain (int8 full scale 20-60, like AGC). Class c moves at rate
/// r = rates[c] (default 0.25, 0.5, 1, 2 Hz: breathing to a slow gesture)
/// times a random factor in [0.9, 1.1]. Motion and rates are bounded so
/// that 20 frames/s sample the motion well: the reflector's phase moves at
/// most 2 pi (D / lambda) 2 pi r / frame_rate = 1.1 rad between frames
/// (D 0.25 lambda, 2.2 Hz), and the fastest class has 9 frames per period.
/// The earlier settings (D 0.3-1.2 wavelengths, rates up to 4 Hz) stepped
/// the phase by up to 10 rad a frame: the fast classes aliased, and even
/// with D bounded a 4 Hz class (5 frames per period) kept consecutive
/// frames as unalike as shuffled ones (median squared lag-1 distance over
/// twice the window's variance: 1.04 recorded, 1.02 shuffled), so nothing
/// could tell their order. Because amplitude,
/// phase, room and gain are random per segment, a single frame says nothing
/// about the class, and over a window the set of frames (an order-blind
/// view) is a sine's samples at random amplitude: the class is in how fast
/// consecutive frames change. Subcarriers are laid out like the ESP32's 64:
/// index 0 (DC) and 27..37 (guard band) are zero pairs.
///
/// Files: `PREFIX.csi.jsonl` (one raw_csi record a line per node and frame:
/// `timestamp`, `node_id` 1.. (see `stream_per_room`), `subcarriers` 64, `iq_hex` = 64 signed int8
/// I/Q pairs, as the sensing server writes them), `PREFIX.csi.meta.json`
/// (label "synthetic", frame_count, simulator_seed) and `PREFIX.labels.csv`
/// (`start,end,label`, one row per segment, class names from
/// `simulator_class_name`). All nodes of a segment share the motion (rate,
/// amplitude, phase) but each has its own static paths and gain.
///
/// Deterministic from the seed: own xorshift64* and Box-Muller, so the
/// random stream is the same everywhere; the bytes are identical for one
/// libm (sin/cos/log results feed an int8 rounding, so another libm may
/// differ in rare last-bit cases). Tested in tests/synth_io_test.cpp;
/// the task and its measured results: docs/training-synthetic.md.
/// Standard library only. Cost O(frames x nodes x 64 x paths).
/// Thread safety: free functions over values.

#include <aether/detail/atomic_file.hpp>
#include <aether/error.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aether::io {

/// Simulator settings (defaults: the benchmark of docs/training-synthetic.md).
struct SimulatorOptions {
  std::uint64_t seed = 1;
  std::vector<double> rates = {0.25, 0.5, 1.0, 2.0};  ///< Hz, one per class (see the file comment)
  std::vector<std::size_t> classes;   ///< classes to generate (empty: all); segments cycle through them
  std::size_t segments_per_class = 6;
  double segment_seconds = 6.0;
  double frame_rate = 20.0;           ///< frames per second per node
  std::size_t nodes = 1;
  /// false: nodes 1..nodes stream every segment, each jumping to a new room
  /// at every segment boundary (a steady set of senders, as the live tools
  /// want). true: every room is its own stream, as a sensor stays in its
  /// room: segment s's node n writes node_id 1 + s x nodes + n. A featuriser
  /// with state (the v2 high-pass, io/featurizer.hpp step 6) then starts
  /// afresh in every room, as on a node, instead of spending each segment's
  /// first seconds following a jump no sensor sees.
  bool stream_per_room = false;
  double noise = 0.05;                ///< relative to the mean static amplitude
  double start_time = 1.8e9;          ///< Unix seconds of the first frame
};

/// The most raw_csi records one simulated recording may hold (segments x
/// classes x frames per segment x nodes): about 3.4 GB of `.csi.jsonl`.
constexpr double kMaxSimulatedRecords = 1e7;
/// The range of SimulatorOptions::start_time (Unix seconds, 1970..2286).
constexpr double kMaxSimulatedStart = 1e10;

/// Name of class `c` ("rate_0.5Hz", ...).
inline std::string simulator_class_name(const SimulatorOptions& o, std::size_t c) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "rate_%gHz", o.rates.at(c));
  return buf;
}

namespace detail {

struct SimRng {
  std::uint64_t s;
  explicit SimRng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {
    if (s == 0) s = 1;
  }
  std::uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  double gaussian() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

struct SimRoom {
  std::vector<double> gain, delay, phase;  // static paths
  double b = 0, tau_m = 0, motion = 0, phi = 0, rate = 0, full_scale = 0, mean_static = 0;
};

constexpr std::size_t kSimSubcarriers = 64;
inline bool sim_null(std::size_t k) { return k == 0 || (k >= 27 && k <= 37); }

}  // namespace detail

/// Writes `PREFIX.csi.jsonl`, `PREFIX.csi.meta.json` and `PREFIX.labels.csv`,
/// each atomically (aether/detail/atomic_file.hpp: a failure leaves no part
/// of a file, and an existing file as it was). Returns the number of raw_csi
/// records. Throws invalid_argument for empty or non-finite rates, an
/// unknown class, a non-finite or negative start time or segment length, a
/// segment of no frame; limit_exceeded beyond kMaxSimulatedRecords records;
/// io_error when a file cannot be written.
inline std::size_t simulate_recording(const std::filesystem::path& prefix, const SimulatorOptions& o) {
  using detail::SimRng;
  if (o.rates.empty() || o.segments_per_class == 0 || o.nodes == 0 || !(o.frame_rate > 0) || !(o.segment_seconds > 0) ||
      !std::isfinite(o.frame_rate) || !std::isfinite(o.segment_seconds)) {
    aether::detail::fail(Errc::invalid_argument, "simulator: rates, segments, nodes, frame rate and segment length must be positive "
                                                 "and finite (frame rate " + std::to_string(o.frame_rate) + ", segment " +
                                                 std::to_string(o.segment_seconds) + " s)");
  }
  for (double r : o.rates) {
    if (!(r > 0) || !std::isfinite(r)) aether::detail::fail(Errc::invalid_argument, "simulator: rate " + std::to_string(r) + " Hz is not a positive finite number");
  }
  if (!(o.start_time >= 0 && o.start_time <= kMaxSimulatedStart)) {
    aether::detail::fail(Errc::invalid_argument, "simulator: start time " + std::to_string(o.start_time) +
                                                     " is outside [0, 1e10] Unix seconds");
  }
  std::vector<std::size_t> classes = o.classes;
  if (classes.empty()) {
    for (std::size_t c = 0; c < o.rates.size(); ++c) classes.push_back(c);
  }
  for (std::size_t c : classes) {
    if (c >= o.rates.size()) aether::detail::fail(Errc::invalid_argument, "simulator: class " + std::to_string(c) + " has no rate");
  }
  // Sizes in double first: the products of hostile counts must not wrap.
  const double frames_d = std::round(o.segment_seconds * o.frame_rate);
  const double records_d = frames_d * static_cast<double>(o.nodes) * static_cast<double>(o.segments_per_class) *
                           static_cast<double>(classes.size());
  if (frames_d < 1) {
    aether::detail::fail(Errc::invalid_argument, "simulator: a segment of " + std::to_string(o.segment_seconds) + " s at " +
                                                     std::to_string(o.frame_rate) + " frames/s holds no frame");
  }
  if (!(records_d <= kMaxSimulatedRecords)) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "simulator: %.6g raw_csi records asked for, at most %.6g", records_d, kMaxSimulatedRecords);
    aether::detail::fail(Errc::limit_exceeded, buf);
  }
  SimRng rng(o.seed);
  // Segment order: every class segments_per_class times, shuffled.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < o.segments_per_class; ++i) order.insert(order.end(), classes.begin(), classes.end());
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.next() % i]);

  const std::string base = prefix.string();
  aether::detail::AtomicFile jl(base + ".csi.jsonl"), csv(base + ".labels.csv"), meta(base + ".csi.meta.json");
  csv.write("start,end,label\n");
  const double fc = 2.437e9, df = 312.5e3, c_light = 2.998e8, two_pi = 6.283185307179586;
  const auto frames = static_cast<std::size_t>(frames_d);
  std::size_t records = 0;
  std::string hex(4 * detail::kSimSubcarriers, '0');
  static constexpr char digits[] = "0123456789abcdef";
  char head[160];
  for (std::size_t seg = 0; seg < order.size(); ++seg) {
    const std::size_t cls = order[seg];
    const double t0 = o.start_time + static_cast<double>(seg) * o.segment_seconds;
    std::vector<detail::SimRoom> rooms(o.nodes);
    const double phi = rng.uniform(0, two_pi);
    const double rate = o.rates[cls] * rng.uniform(0.9, 1.1);
    const double motion = rng.uniform(0.05, 0.25) * c_light / fc;  // metres (see the file comment: no aliasing)
    for (detail::SimRoom& r : rooms) {
      const std::size_t paths = 3 + static_cast<std::size_t>(rng.next() % 4);
      for (std::size_t p = 0; p < paths; ++p) {
        r.gain.push_back(rng.uniform(0.2, 1.0));
        r.delay.push_back(rng.uniform(5e-9, 80e-9));
        r.phase.push_back(rng.uniform(0, two_pi));
        r.mean_static += r.gain.back() / static_cast<double>(paths);
      }
      r.b = rng.uniform(0.3, 0.9) * r.mean_static * std::sqrt(static_cast<double>(paths));
      r.tau_m = rng.uniform(10e-9, 60e-9);
      r.full_scale = rng.uniform(20, 60);
      r.motion = motion;
      r.phi = phi;
      r.rate = rate;
    }
    for (std::size_t i = 0; i < frames; ++i) {
      const double t = t0 + static_cast<double>(i) / o.frame_rate;
      for (std::size_t n = 0; n < o.nodes; ++n) {
        const detail::SimRoom& r = rooms[n];
        const double d = r.motion * std::sin(two_pi * r.rate * (t - t0) + r.phi);
        double re[detail::kSimSubcarriers], im[detail::kSimSubcarriers], peak = 1e-12;
        for (std::size_t k = 0; k < detail::kSimSubcarriers; ++k) {
          re[k] = im[k] = 0;
          if (detail::sim_null(k)) continue;
          const double fk = (k < 32 ? static_cast<double>(k) : static_cast<double>(k) - 64.0) * df;
          for (std::size_t p = 0; p < r.gain.size(); ++p) {
            const double a = -(two_pi * fk * r.delay[p] + r.phase[p]);
            re[k] += r.gain[p] * std::cos(a);
            im[k] += r.gain[p] * std::sin(a);
          }
          const double am = -two_pi * (fc + fk) * (r.tau_m + d / c_light);
          re[k] += r.b * std::cos(am) + o.noise * r.mean_static * rng.gaussian();
          im[k] += r.b * std::sin(am) + o.noise * r.mean_static * rng.gaussian();
        }
        // Receiver gain: fixed per segment (the static part's scale), like a settled AGC.
        for (std::size_t p = 0; p < r.gain.size(); ++p) peak += r.gain[p];
        peak += r.b;
        const double g = r.full_scale / peak;
        for (std::size_t k = 0; k < detail::kSimSubcarriers; ++k) {
          for (int part = 0; part < 2; ++part) {
            long v = detail::sim_null(k) ? 0 : std::lround((part == 0 ? re[k] : im[k]) * g);
            v = v < -127 ? -127 : (v > 127 ? 127 : v);
            if (!detail::sim_null(k) && v == 0 && (part == 1 && std::lround(re[k] * g) == 0)) v = 1;  // keep non-null
            const auto byte = static_cast<std::uint8_t>(static_cast<std::int8_t>(v));
            hex[4 * k + 2 * part] = digits[byte >> 4];
            hex[4 * k + 2 * part + 1] = digits[byte & 0xF];
          }
        }
        std::snprintf(head, sizeof head,
                      "{\"timestamp\": %.6f, \"node_id\": %zu, \"magic\": \"0xC5110001\", \"size\": %zu, \"rssi\": -40, "
                      "\"type\": \"raw_csi\", \"iq_hex\": \"",
                      t, o.stream_per_room ? 1 + seg * o.nodes + n : n + 1, 2 * detail::kSimSubcarriers + 20);
        jl.write(head + hex + "\", \"subcarriers\": " + std::to_string(detail::kSimSubcarriers) + "}\n");
        ++records;
      }
    }
    char row[128];
    std::snprintf(row, sizeof row, "%.6f,%.6f,", t0, t0 + o.segment_seconds);
    csv.write(row + simulator_class_name(o, cls) + "\n");
  }
  meta.write("{\"id\": " + nlohmann::json(prefix.filename().string()).dump() +
             ", \"label\": \"synthetic\", \"frame_count\": " + std::to_string(records) +
             ", \"simulator_seed\": " + std::to_string(o.seed) + "}\n");
  jl.commit();
  csv.commit();
  meta.commit();
  return records;
}

}  // namespace aether::io
