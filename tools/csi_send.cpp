/// csi_send: sends the raw-CSI frames of recordings as the nodes' UDP
/// datagrams (PACKETS.md 0xC5110001), for csi_live and its tests.
///
///   csi_send --to HOST:PORT [--speed X | --max-rate | --rate HZ] [--nodes N]
///            [--duration S] [--quiet] FILE...
///
/// Each datagram: node id, subcarrier count and I/Q bytes from the recording,
/// one antenna, a per-node sequence counter from 0, RSSI from the record,
/// frequency and noise floor 0 (unknown), bytes 18-19 zero.
/// - Without --nodes: every node id recorded in the files (0-255) is sent
///   from its own source socket with that id; its frames in recorded order
///   (the files one after another), at the recorded pace (`--speed X`: X
///   times faster).
/// - `--nodes N`: N simulated nodes (ids 1..N, one socket each); every one
///   sends all the files' frames (all recorded nodes, in time order), node k
///   starting k/N of the way through and cycling, at the recording's mean
///   frame rate (times `--speed`) or `--rate HZ` per node.
/// - `--max-rate`: no pacing (round robin over the nodes).
/// - `--duration S`: stop after S seconds (with --nodes the frames cycle
///   until then; otherwise each node stops at its last frame).
/// An amplitude-form recording (no I/Q) is refused. Progress on stderr each
/// second; at the end one JSON line on stdout: {"sent": N, "nodes": K,
/// "seconds": S, "datagrams_per_s": R}. A failed send is an I/O error (exit 2).
/// Exit 0 sent, 1 invalid recording, 2 usage or I/O error.

#include "tools/cli.hpp"
#include "tools/training_common.hpp"
#include "tools/udp.hpp"

#include <aether/io/datagram.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <queue>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace aether_tools;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string to;
  std::vector<std::string> files;
  double speed = 1, rate = 0, duration = 0;
  bool max_rate = false, quiet = false;
  std::size_t nodes = 0;
};

/// One frame to send, `time` seconds after the start of its sequence.
struct Item {
  const io::CsiFrame* frame;
  double time;
};

/// A sending node: its socket, id, frames and where it is.
struct Sender {
  Socket socket;
  std::uint8_t id = 0;
  std::vector<Item> items;
  std::size_t next = 0, sent = 0;
  std::uint32_t sequence = 0;
  double period = 0;  ///< --nodes: seconds between frames (0 = recorded times)
  double phase = 0;   ///< --nodes: first send time (the nodes spread over one period)
};

/// Every frame of every file, in time order (files one after another, the
/// later shifted to start where the earlier ended), per recorded node id or
/// all nodes merged (`node` < 0). Refuses amplitude-form frames.
std::vector<Item> items_of(const std::vector<io::Recording>& recs, long long node) {
  std::vector<Item> out;
  double offset = 0;
  for (const io::Recording& r : recs) {
    std::vector<Item> part;
    double first = 0, last = 0;
    bool any = false;
    for (const io::NodeRecords& n : r.nodes) {
      for (const io::CsiFrame& f : n.frames) {
        if (f.iq.empty()) {
          aether::detail::fail(aether::Errc::invalid_data, r.path.string() + ": line " + std::to_string(f.line) +
                                                               " is an amplitude-form frame (no I/Q): csi_send sends "
                                                               "raw_csi recordings only");
        }
        first = any ? std::min(first, f.timestamp) : f.timestamp;
        last = any ? std::max(last, f.timestamp) : f.timestamp;
        any = true;
        if (node < 0 || n.node_id == node) part.push_back(Item{&f, f.timestamp});
      }
    }
    std::sort(part.begin(), part.end(), [](const Item& x, const Item& y) {
      return x.time != y.time ? x.time < y.time : x.frame->line < y.frame->line;
    });
    for (Item& i : part) i.time = i.time - first + offset;
    if (any) offset += last - first;
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

/// Sends `s`'s next frame (the datagram of the frame at `next`).
void send_next(Sender& s, const sockaddr_in& to, std::vector<std::uint8_t>& buf) {
  const io::CsiFrame& f = *s.items[s.next % s.items.size()].frame;
  aether::io::RawCsiPacket p;
  p.node_id = s.id;
  p.n_antennas = 1;
  p.n_subcarriers = f.subcarriers;
  p.sequence = s.sequence++;
  p.rssi = static_cast<std::int8_t>(std::clamp(f.rssi, -128, 127));
  p.iq = f.iq.data();
  buf.resize(aether::io::raw_csi_size(p));
  const std::size_t n = aether::io::encode_raw_csi(p, buf.data(), buf.size());
  const ssize_t r = ::sendto(s.socket.fd(), buf.data(), n, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  if (r != static_cast<ssize_t>(n)) fail_errno("sendto " + to_string(to));
  ++s.next;
  ++s.sent;
}

int run(const Args& a, CLI::App& app) {
  if (a.rate > 0 && a.nodes == 0) return aether_cli::usage_error(app, "--rate needs --nodes");
  sockaddr_in to;
  try {
    to = parse_host_port(a.to, "--to");
  } catch (const aether::Error& e) {
    return aether_cli::usage_error(app, e.what());
  }
  const std::vector<io::Recording> recs = read_recordings(a.files);

  std::vector<Sender> senders;
  sockaddr_in any{};
  any.sin_family = AF_INET;
  if (a.nodes > 0) {
    const std::vector<Item> all = items_of(recs, -1);
    if (all.empty()) aether::detail::fail(aether::Errc::invalid_data, a.files.front() + ": no raw_csi frame to send");
    const double span = all.back().time - all.front().time;
    const double mean_rate = span > 0 ? static_cast<double>(all.size() - 1) / span : 50.0;
    for (std::size_t k = 0; k < a.nodes; ++k) {
      Sender s;
      s.socket = bind_udp(any);
      s.id = static_cast<std::uint8_t>(k + 1);
      s.items = all;
      s.next = k * all.size() / a.nodes;
      s.period = 1.0 / (a.rate > 0 ? a.rate : mean_rate * a.speed);
      s.phase = s.period * static_cast<double>(k) / static_cast<double>(a.nodes);
      senders.push_back(std::move(s));
    }
  } else {
    std::vector<std::int64_t> ids;
    for (const io::Recording& r : recs) {
      for (const io::NodeRecords& n : r.nodes) {
        if (n.frames.empty()) continue;
        if (n.node_id < 0 || n.node_id > 255) {
          aether::detail::fail(aether::Errc::invalid_data, r.path.string() + ": node_id " + std::to_string(n.node_id) +
                                                               " does not fit the datagram's u8 node id");
        }
        if (std::find(ids.begin(), ids.end(), n.node_id) == ids.end()) ids.push_back(n.node_id);
      }
    }
    for (std::int64_t id : ids) {
      Sender s;
      s.socket = bind_udp(any);
      s.id = static_cast<std::uint8_t>(id);
      s.items = items_of(recs, id);
      senders.push_back(std::move(s));
    }
    if (senders.empty()) aether::detail::fail(aether::Errc::invalid_data, a.files.front() + ": no raw_csi frame to send");
  }

  // Each sender's next send time (s after start); a min-heap over senders.
  const auto due = [&](const Sender& s) {
    if (a.max_rate) return 0.0;
    if (s.period > 0) return s.phase + static_cast<double>(s.sent) * s.period;
    return s.items[s.next].time / a.speed;
  };
  const auto finished = [&](const Sender& s, double elapsed) {
    if (a.duration > 0 && elapsed >= a.duration) return true;
    return a.nodes == 0 ? s.next >= s.items.size() : (a.duration <= 0 && s.sent >= s.items.size());
  };
  using Entry = std::pair<double, std::size_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue;
  for (std::size_t i = 0; i < senders.size(); ++i) {
    if (!senders[i].items.empty()) queue.push({due(senders[i]), i});
  }
  ProgressLine progress("csi_send", a.quiet);
  std::vector<std::uint8_t> buf;
  std::size_t sent = 0;
  const auto t0 = Clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  std::size_t round = 0;
  while (!queue.empty()) {
    const auto [when, i] = queue.top();
    queue.pop();
    Sender& s = senders[i];
    if (finished(s, when)) continue;
    if (!a.max_rate) std::this_thread::sleep_until(t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(when)));
    send_next(s, to, buf);
    ++sent;
    // A recorded node whose frames are all sent leaves the queue (its next
    // due time would read past its frames).
    if (a.nodes == 0 && s.next >= s.items.size()) continue;
    // --max-rate: round robin (the rank of the send, not a time).
    queue.push({a.max_rate ? static_cast<double>(++round) : due(s), i});
    if (a.max_rate && a.duration > 0 && elapsed() >= a.duration) break;
    if (progress.due(false)) progress.print(std::to_string(sent) + " datagrams in " + std::to_string(static_cast<long>(elapsed())) + " s");
  }
  const double secs = elapsed();
  const json out = {{"sent", sent}, {"nodes", senders.size()}, {"seconds", secs},
                    {"datagrams_per_s", secs > 0 ? static_cast<double>(sent) / secs : 0.0}};
  std::printf("%s\n", out.dump().c_str());
  return aether_cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return aether_cli::guarded("csi_send", [&]() -> int {
    using aether_cli::in_range;
    Args a;
    auto app = aether_cli::make_app("csi_send", "Send recordings' raw CSI frames as the nodes' UDP datagrams.");
    app->add_option("--to", a.to, "HOST:PORT to send to")->required();
    auto* speed = app->add_option("--speed", a.speed, "times the recorded pace")->check(in_range(1e-3, 1e6));
    auto* max_rate = app->add_flag("--max-rate", a.max_rate, "as fast as possible")->excludes(speed);
    app->add_option("--rate", a.rate, "frames per second per simulated node (with --nodes)")
        ->check(in_range(1e-3, 1e6))
        ->excludes(speed)
        ->excludes(max_rate);
    app->add_option("--nodes", a.nodes, "simulate N nodes (ids 1..N), each sending all the frames")
        ->check(in_range<std::size_t>(1, 255));
    app->add_option("--duration", a.duration, "stop after this many seconds")->check(in_range(1e-3, 1e7));
    app->add_flag("--quiet", a.quiet, "no progress on stderr");
    app->add_option("FILE", a.files, "recordings (.csi.jsonl, raw_csi form)")->required()->expected(1, -1);
    app->footer("Exit status: 0 sent, 1 invalid recording, 2 usage or I/O error.");
    if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
    return run(a, *app);
  });
}
