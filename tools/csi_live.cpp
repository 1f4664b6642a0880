/// csi_live: the nodes' UDP datagrams in, classes out, in real time.
///
///   csi_live --model FILE [--bind HOST:PORT] [--every N] [--window N] [--idle S]
///            [--record FILE] [--logits] [--status S] [--quiet]
///
/// Binds a UDP socket (default 0.0.0.0:5005; port 0 picks a free one) and
/// first prints "listening on HOST:PORT" on stderr. Every datagram is parsed
/// (include/aether/io/datagram.hpp) and counted under its outcome (the names
/// listed there). One stream per node, keyed by source address and node id,
/// named "ADDR:PORT/ID". Each raw frame is featurised and classified by
/// tools/track_classifier.hpp, the code csi_replay runs on a recording: a
/// pool-last model through the node's stream (as csi_replay --stream), a
/// pool-mean model as a forward over the node's last `window` frames; first
/// at the window-th frame, then every `--every` frames (default: the
/// sidecar's stride). `--window` overrides the sidecar's window. A version
/// 2 blob runs with its own featuriser, pool and attention (setup_of).
///
/// stdout, one JSON line per classification:
///   {"node": "127.0.0.1:40000/1", "time": <host receive time, Unix s>,
///    "seq": <the frame's sequence>, "frame": <frames of this node so far>,
///    "class": NAME, "probabilities": [...], "logits": [...] (--logits)}
/// and when it ends (SIGINT, SIGTERM) one last line
///   {"summary": {"datagrams": N, "outcomes": {NAME: COUNT, ...}, "nodes": [...],
///                "socket_drops": D, "classified": K, "latency_ms": {...},
///                "cpu_seconds": C, "wall_seconds": W, "max_rss_kb": R}}
/// where every outcome is listed (0 included) and the counts add up to N;
/// `socket_drops` is the kernel's count for this socket (SO_RXQ_OVFL, or
/// /proc/net/udp if larger): datagrams that never reached the program; the
/// program itself drops none. `latency_ms`: kernel arrival time of the frame
/// to its line written and flushed (median, p99, max). Each node entry:
/// name, state ("open", "closed: idle"), frames, classified, filtered (frames
/// the featuriser gave nothing for), sequence gaps (frames missing between
/// consecutive sequence numbers) and restarts (sequence went back), other
/// kinds seen from it by outcome name.
///
/// stderr: the listening line, a status every `--status` seconds (per node
/// frames/s, sequence gaps, other kinds; refused datagrams by reason), nodes
/// closed after `--idle` seconds of silence (a new stream opens when the node
/// returns).
///
/// `--record FILE.csi.jsonl`: what arrives in the sensing server's recording
/// form, which io::read_recording reads back: raw_csi (iq_hex = the datagram
/// from byte 20, subcarriers = the I/Q pairs, size, plus the fields the
/// reference's recorder loses: true rssi, noise_floor, frequency, sequence,
/// n_antennas), vitals and feature records; other kinds are counted only.
/// Flushed at every status and complete when the program ends.
///
/// Single-threaded. Exit 0 after a signal, 1 invalid model, 2 usage or I/O error.

#include "tools/cli.hpp"
#include "tools/track_classifier.hpp"
#include "tools/training_common.hpp"
#include "tools/udp.hpp"

#include <aether/io/datagram.hpp>
#include <aether/io/featurizer.hpp>

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace aether_tools;
using Model = aether::TemporalModel<float>;

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }

struct Args {
  std::string model, bind = "0.0.0.0:5005", record;
  std::size_t every = 0, window = 0;
  double idle = 10, status = 5;
  bool logits = false, quiet = false;
};

double unix_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// One node: a source address and node id.
struct Node {
  std::string name;  ///< ADDR:PORT/ID
  std::size_t track = 0;
  double last_seen = 0;
  std::size_t frames = 0, classified = 0, filtered = 0, frames_at_status = 0;
  std::uint64_t seq_gaps = 0, seq_restarts = 0;
  bool has_seq = false;
  std::uint32_t last_seq = 0;
  std::map<std::string, std::size_t> other;
  std::string state = "open";
  std::vector<float> baseline;      ///< the featuriser's step-6 baseline over this node's frames (highpass models)
  std::uint64_t baseline_seen = 0;  ///< frames in it

  json to_json() const {
    return {{"node", name},       {"state", state},           {"frames", frames},
            {"classified", classified}, {"filtered", filtered}, {"sequence_gaps", seq_gaps},
            {"sequence_restarts", seq_restarts}, {"other", other}};
  }
};

/// The node id a decoded datagram carries, or -1 (mesh).
long long node_id_of(const aether::io::Datagram& g) {
  using aether::io::Outcome;
  switch (g.outcome) {
    case Outcome::raw_csi: return g.raw.node_id;
    case Outcome::vitals: return g.vitals.node_id;
    case Outcome::features: return g.features.node_id;
    case Outcome::fused_vitals: return g.fused.vitals.node_id;
    case Outcome::module_events: return g.events.node_id;
    case Outcome::compressed_csi: return g.compressed.node_id;
    case Outcome::feature_state: return g.state.node_id;
    case Outcome::temporal_result: return g.temporal.node_id;
    case Outcome::time_sync: return g.time_sync.node_id;
    default: return -1;
  }
}

std::string hex_of(const std::int8_t* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    const auto b = static_cast<std::uint8_t>(p[i]);
    s[2 * i] = kDigits[b >> 4];
    s[2 * i + 1] = kDigits[b & 15];
  }
  return s;
}

/// The recording line for a decoded datagram, or empty for kinds counted only.
std::string record_line(const aether::io::Datagram& g, double t) {
  using aether::io::Outcome;
  char magic[16];
  std::snprintf(magic, sizeof magic, "0x%08X", static_cast<unsigned>(g.magic));
  json j = {{"timestamp", t}, {"magic", magic}, {"size", g.size}};
  if (g.outcome == Outcome::raw_csi) {
    const auto& r = g.raw;
    j.update({{"type", "raw_csi"}, {"node_id", r.node_id}, {"subcarriers", r.pairs()}, {"n_antennas", r.n_antennas},
              {"rssi", r.rssi}, {"noise_floor", r.noise_floor}, {"frequency", r.frequency_mhz},
              {"sequence", r.sequence}, {"ppdu_type", r.ppdu_type}, {"flags", r.flags},
              {"iq_hex", hex_of(r.iq, 2 * r.pairs())}});
  } else if (g.outcome == Outcome::vitals || g.outcome == Outcome::fused_vitals) {
    const auto& v = g.outcome == Outcome::vitals ? g.vitals : g.fused.vitals;
    j.update({{"type", "vitals"}, {"node_id", v.node_id}, {"rssi", v.rssi}, {"flags", v.flags},
              {"breathing_bpm", v.breathing_x100 / 100.0}, {"heartrate_bpm", v.heart_rate_x10000 / 10000.0},
              {"n_persons", v.n_persons}, {"motion_energy", v.motion_energy}, {"presence_score", v.presence_score},
              {"ms_since_boot", v.ms_since_boot}});
  } else if (g.outcome == Outcome::features) {
    const auto& f = g.features;
    j.update({{"type", "feature"}, {"node_id", f.node_id}, {"seq", f.seq}, {"us_since_boot", f.us_since_boot},
              {"features", std::vector<float>(f.features, f.features + 8)}});
  } else {
    return {};
  }
  return j.dump() + "\n";
}

class Live {
 public:
  Live(const Args& a, const ModelSetup& m, const Model& model)
      : a_(a),
        m_(m),
        window_(a.window ? a.window : m.window),
        tracks_(model, m.pool, TrackOptions{m.pool == aether::Pool::last, window_, a.every ? a.every : m.stride}),
        features_(m.features.input_dim),
        start_(unix_now()),
        last_status_(start_) {}

  ~Live() {
    if (record_) std::fclose(record_);
  }

  void open_record(const std::string& path) {
    record_ = std::fopen(path.c_str(), "wb");
    if (record_ == nullptr) aether::detail::fail(aether::Errc::io_error, path + ": cannot open for writing");
    record_path_ = path;
  }

  /// One received datagram from `src`, arrived at `t` (Unix s).
  void on_datagram(const std::uint8_t* bytes, std::size_t size, const sockaddr_in& src, double t) {
    const aether::io::Datagram g = aether::io::parse_datagram(bytes, size);
    ++datagrams_;
    ++outcomes_[static_cast<std::size_t>(g.outcome)];
    if (record_) {
      const std::string line = record_line(g, t);
      if (!line.empty() && std::fwrite(line.data(), 1, line.size(), record_) != line.size()) {
        aether::detail::fail(aether::Errc::io_error, record_path_ + ": write failed");
      }
    }
    const long long id = node_id_of(g);
    if (id < 0) return;
    Node& n = node_of(src, static_cast<std::uint32_t>(id), t);
    if (g.outcome != aether::io::Outcome::raw_csi) {
      ++n.other[aether::io::outcome_name(g.outcome)];
      return;
    }
    on_frame(n, g.raw, t);
  }

  /// Closes nodes silent for --idle seconds; prints the status when due.
  void tick(double now) {
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      Node& n = it->second;
      if (now - n.last_seen < a_.idle) {
        ++it;
        continue;
      }
      if (!a_.quiet) {
        std::fprintf(stderr, "csi_live: node %s closed: silent for %.1f s (%zu frames, %zu classified)\n",
                     n.name.c_str(), now - n.last_seen, n.frames, n.classified);
      }
      tracks_.close(n.track);
      n.state = "closed: idle";
      closed_.push_back(std::move(n));
      it = nodes_.erase(it);
    }
    if (now - last_status_ >= a_.status) print_status(now);
  }

  void print_summary(long long socket_drops) {
    json outcomes = json::object();
    for (std::size_t i = 0; i < aether::io::kOutcomeCount; ++i) {
      outcomes[aether::io::outcome_name(static_cast<aether::io::Outcome>(i))] = outcomes_[i];
    }
    json nodes = json::array();
    for (const Node& n : closed_) nodes.push_back(n.to_json());
    for (const auto& [key, n] : nodes_) nodes.push_back(n.to_json());
    std::vector<float> lat = latencies_ms_;
    const auto pct = [&lat](double q) -> double {
      if (lat.empty()) return 0.0;
      const auto k = static_cast<std::size_t>(q * static_cast<double>(lat.size() - 1) + 0.5);
      std::nth_element(lat.begin(), lat.begin() + static_cast<std::ptrdiff_t>(k), lat.end());
      return lat[k];
    };
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    const json s = {{"summary",
                     {{"datagrams", datagrams_},
                      {"outcomes", outcomes},
                      {"nodes", nodes},
                      {"socket_drops", socket_drops},
                      {"classified", classified_},
                      {"latency_ms", {{"median", pct(0.5)}, {"p99", pct(0.99)}, {"max", pct(1.0)}}},
                      {"cpu_seconds", cpu},
                      {"wall_seconds", unix_now() - start_},
                      {"max_rss_kb", ru.ru_maxrss}}}};
    std::printf("%s\n", s.dump().c_str());
    std::fflush(stdout);
  }

  /// Flushes and closes the recording (io_error if that fails).
  void finish_record() {
    if (record_ == nullptr) return;
    std::FILE* f = record_;
    record_ = nullptr;
    if (std::fclose(f) != 0) aether::detail::fail(aether::Errc::io_error, record_path_ + ": write failed");
  }

 private:
  Node& node_of(const sockaddr_in& src, std::uint32_t id, double t) {
    const std::uint64_t addr = (static_cast<std::uint64_t>(ntohl(src.sin_addr.s_addr)) << 16) | ntohs(src.sin_port);
    const auto key = std::make_pair(addr, id);
    auto it = nodes_.find(key);
    if (it == nodes_.end()) {
      Node n;
      n.name = to_string(src) + "/" + std::to_string(id);
      n.track = tracks_.open();
      it = nodes_.emplace(key, std::move(n)).first;
      if (!a_.quiet) std::fprintf(stderr, "csi_live: node %s opened\n", it->second.name.c_str());
    }
    it->second.last_seen = t;
    return it->second;
  }

  void on_frame(Node& n, const aether::io::RawCsiPacket& r, double t) {
    ++n.frames;
    if (n.has_seq) {
      if (r.sequence > n.last_seq) {
        n.seq_gaps += r.sequence - n.last_seq - 1;
      } else {
        ++n.seq_restarts;
      }
    }
    n.has_seq = true;
    n.last_seq = r.sequence;
    if (aether::io::featurize_iq(m_.features, r.iq, r.pairs(), features_.data()) != aether::io::FrameResult::ok) {
      ++n.filtered;
      return;
    }
    n.baseline.resize(features_.size());
    aether::io::remove_baseline(m_.features, n.baseline.data(), n.baseline_seen, features_.data());
    const std::optional<Model::Vector> z = tracks_.push(n.track, features_.data());
    if (!z) return;
    ++n.classified;
    ++classified_;
    const Model::Vector p = Model::probabilities(*z);
    Eigen::Index best;
    p.maxCoeff(&best);
    const std::size_t C = m_.class_names.size();
    json j = {{"node", n.name},
              {"time", t},
              {"seq", r.sequence},
              {"frame", tracks_.frames(n.track)},
              {"class", m_.class_names[static_cast<std::size_t>(best)]},
              {"probabilities", std::vector<float>(p.data(), p.data() + static_cast<Eigen::Index>(C))}};
    if (a_.logits) j["logits"] = std::vector<float>(z->data(), z->data() + static_cast<Eigen::Index>(C));
    const std::string line = j.dump() + "\n";
    // A reader that went away (a closed pipe) ends the run like a signal.
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0) g_stop = 1;
    latencies_ms_.push_back(static_cast<float>(1e3 * (unix_now() - t)));
  }

  void print_status(double now) {
    const double dt = now - last_status_;
    last_status_ = now;
    if (record_) std::fflush(record_);
    if (a_.quiet) return;
    std::string refused;
    for (std::size_t i = 0; i < aether::io::kOutcomeCount; ++i) {
      const auto o = static_cast<aether::io::Outcome>(i);
      if (!aether::io::decoded(o) && outcomes_[i] > 0) {
        refused += std::string(" ") + aether::io::outcome_name(o) + "=" + std::to_string(outcomes_[i]);
      }
    }
    std::fprintf(stderr, "csi_live: %.0f s, %zu datagrams, %zu classified, %zu nodes open; refused:%s\n", now - start_,
                 datagrams_, classified_, nodes_.size(), refused.empty() ? " none" : refused.c_str());
    for (auto& [key, n] : nodes_) {
      std::string other;
      for (const auto& [name, count] : n.other) other += " " + name + "=" + std::to_string(count);
      std::fprintf(stderr, "  %s: %.1f frames/s, %zu frames, sequence gaps %llu, restarts %llu, other:%s\n",
                   n.name.c_str(), dt > 0 ? static_cast<double>(n.frames - n.frames_at_status) / dt : 0.0, n.frames,
                   static_cast<unsigned long long>(n.seq_gaps), static_cast<unsigned long long>(n.seq_restarts),
                   other.empty() ? " none" : other.c_str());
      n.frames_at_status = n.frames;
    }
  }

  const Args& a_;
  const ModelSetup& m_;
  std::size_t window_;
  TrackClassifier tracks_;
  std::vector<float> features_;  ///< one frame's input_dim features (scratch)
  std::map<std::pair<std::uint64_t, std::uint32_t>, Node> nodes_;
  std::vector<Node> closed_;
  std::array<std::size_t, aether::io::kOutcomeCount> outcomes_{};
  std::size_t datagrams_ = 0, classified_ = 0;
  std::vector<float> latencies_ms_;
  std::FILE* record_ = nullptr;
  std::string record_path_;
  double start_, last_status_;
};

/// Receives every pending datagram (non-blocking) into `live`; returns false
/// when none was pending. Keeps the kernel's drop counter in `drops`.
bool receive_pending(const Socket& s, Live& live, std::vector<std::uint8_t>& buf, long long& drops) {
  bool any = false;
  while (true) {
    sockaddr_in src{};
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[256];
    msghdr msg{};
    msg.msg_name = &src;
    msg.msg_namelen = sizeof src;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(s.fd(), &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return any;
      fail_errno("recvmsg");
    }
    any = true;
    double t = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SO_TIMESTAMPNS) {
        timespec ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        t = static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
      } else if (c->cmsg_type == SO_RXQ_OVFL) {
        std::uint32_t d;
        std::memcpy(&d, CMSG_DATA(c), sizeof d);
        drops = std::max(drops, static_cast<long long>(d));
      }
    }
    if (t == 0) t = unix_now();
    // The buffer holds 65536 bytes, more than any UDP datagram: never cut.
    live.on_datagram(buf.data(), static_cast<std::size_t>(n), src, t);
  }
}

int run(const Args& a, CLI::App& app) {
  sockaddr_in bind_to;
  try {
    bind_to = parse_host_port(a.bind, "--bind");
  } catch (const aether::Error& e) {
    return aether_cli::usage_error(app, e.what());
  }
  const ModelSetup m = setup_of(a.model);
  if (m.features.source != aether::io::FeatureSource::csi_amplitude) {
    aether::detail::fail(aether::Errc::invalid_argument,
                         a.model + ": csi_live classifies raw CSI frames; this model's featuriser is " +
                             m.features.name());
  }
  const Model model(m.model.blob, m.attention);
  Live live(a, m, model);
  if (!a.record.empty()) live.open_record(a.record);

  const Socket s = bind_udp(bind_to);
  const int on = 1;
  if (setsockopt(s.fd(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) fail_errno("SO_TIMESTAMPNS");
  if (setsockopt(s.fd(), SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) != 0) fail_errno("SO_RXQ_OVFL");
  const int want = 8 << 20;
  setsockopt(s.fd(), SOL_SOCKET, SO_RCVBUF, &want, sizeof want);  // capped by net.core.rmem_max; not fatal
  const sockaddr_in local = local_address(s);
  std::fprintf(stderr, "listening on %s\n", to_string(local).c_str());
  std::fflush(stderr);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);  // no SA_RESTART: poll returns EINTR
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout is seen as a failed write

  std::vector<std::uint8_t> buf(65536);
  long long drops = 0;
  pollfd pfd{s.fd(), POLLIN, 0};
  while (!g_stop) {
    const int r = ::poll(&pfd, 1, 100);
    if (r < 0 && errno != EINTR) fail_errno("poll");
    if (r > 0) receive_pending(s, live, buf, drops);
    live.tick(unix_now());
  }
  receive_pending(s, live, buf, drops);  // what arrived before the signal
  drops = std::max(drops, proc_udp_drops(ntohs(local.sin_port)));
  live.finish_record();
  live.print_summary(drops);
  return aether_cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return aether_cli::guarded("csi_live", [&]() -> int {
    using aether_cli::in_range;
    Args a;
    auto app = aether_cli::make_app("csi_live", "Classify the CSI nodes' UDP datagrams live with a trained .rvne model.");
    app->add_option("--model", a.model, "model (NAME.rvne with its sidecar NAME.rvne.json)")->required();
    app->add_option("--bind", a.bind, "HOST:PORT to listen on (port 0: a free one)")->capture_default_str();
    app->add_option("--every", a.every, "frames between classifications after the first (default: the sidecar's stride)")
        ->check(in_range<std::size_t>(1, std::size_t{1} << 20));
    app->add_option("--window", a.window, "frames per classification (default: the sidecar's window)")
        ->check(in_range<std::size_t>(1, std::size_t{1} << 20));
    app->add_option("--idle", a.idle, "close a node silent this many seconds")
        ->check(in_range(0.001, 1e6))->capture_default_str();
    app->add_option("--record", a.record, "write what arrives to this .csi.jsonl (the sensing server's form)");
    app->add_flag("--logits", a.logits, "add each classification's logits (key logits)");
    app->add_option("--status", a.status, "seconds between status reports on stderr")
        ->check(in_range(0.001, 1e6))->capture_default_str();
    app->add_flag("--quiet", a.quiet, "no status or node reports on stderr (the listening line stays)");
    app->footer("Ends on SIGINT or SIGTERM with a summary line. Exit status: 0 ended by a signal, 1 invalid model, "
                "2 usage or I/O error.");
    if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
    return run(a, *app);
  });
}
