// csi_send -> csi_live on the loopback interface (127.0.0.1, port 0), end to
// end, against csi_replay on the same recording:
//  - a pool-last model (csi_replay --stream) and a pool-mean one: the same
//    classes and logits, bit for bit, per node and in order; the socket
//    dropped nothing; --record writes back the frames' I/Q bytes and
//    subcarrier counts (and the RSSI sent);
//  - every packet kind plus truncated, oversized, wrong-magic, wrong-length,
//    bad-CRC, empty and random datagrams beside the frames: each counted
//    under its outcome in the summary, the frames still classified as
//    replayed.
// The recording is simulated here (csi_simulate: 2 nodes x 400 frames) and
// the models trained here (train_blob, one epoch, tiny): nothing is read from
// outside the build tree. Paths of the tools come from tools/CMakeLists.txt.
#include "tools/process.hpp"
#include "tools/udp.hpp"

#include <aether/io/csi_recording.hpp>
#include <aether/io/datagram.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Bytes = std::vector<std::uint8_t>;
using namespace aether_tools;

const std::string kBin = AETHER_TOOLS_DIR;

/// A scratch folder per test, with the simulated recording in it.
class LiveLoopback : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(AETHER_LIVE_WORK_DIR) / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_EQ(tool({"csi_simulate", "--out", p("sim"), "--seed", "3", "--segments", "2", "--seconds", "4", "--classes",
                    "0,3", "--nodes", "2", "--rate", "25"}),
              0);
  }

  std::string p(const std::string& name) const { return (dir_ / name).string(); }

  /// Runs tools/<argv[0]> to completion; stdout in `out` (when given); a
  /// failure unless it exits `want`.
  int tool(std::vector<std::string> argv, std::string* out = nullptr, int want = 0) {
    const std::string name = argv[0];
    argv[0] = kBin + "/" + name;
    const int rc = run_program(argv, p(name + ".out"), p(name + ".err"));
    if (out) *out = read_text(p(name + ".out"));
    if (rc != want) ADD_FAILURE() << name << " exited " << rc << ", expected " << want << ":\n" << read_text(p(name + ".err"));
    return rc;
  }

  /// Trains a tiny model pooling `pool` ("last" | "mean") on the recording,
  /// of architecture `arch` ("v2", train_blob's default, or "v1": NAME.rvne
  /// then NAME_v1.rvne).
  std::string train(const std::string& pool, const std::string& arch = "v2") {
    const std::string model = p(pool + (arch == "v2" ? "" : "_" + arch) + ".rvne");
    EXPECT_EQ(tool({"train_blob", "--data", p("sim.csi.jsonl"), "--task", "labels=" + p("sim.labels.csv"), "--window",
                    "16", "--stride", "4", "--epochs", "1", "--head-dim", "8", "--layers", "1", "--block-size", "4",
                    "--attn-window", "8", "--pool", pool, "--arch", arch, "--quiet", "--out", model}),
              0);
    return model;
  }

  /// csi_replay --json --logits (--stream for a pool-last model): per node
  /// id, the timeline's entries in order.
  std::map<long long, std::vector<json>> replay(const std::string& model, bool stream) {
    std::vector<std::string> argv = {"csi_replay", "--model", model, "--data", p("sim.csi.jsonl"), "--json", "--logits",
                                     "--quiet"};
    if (stream) argv.push_back("--stream");
    std::string out;
    EXPECT_EQ(tool(argv, &out), 0);
    std::map<long long, std::vector<json>> by_node;
    const json doc = json::parse(out);
    for (const json& e : doc.at("timeline")) by_node[e.at("node").get<long long>()].push_back(e);
    return by_node;
  }

  /// Starts csi_live on 127.0.0.1:0 with `extra` flags; returns the port.
  std::string start_live(const std::string& model, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {kBin + "/csi_live", "--model", model, "--bind", "127.0.0.1:0", "--logits"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    live_ = spawn_program(argv, p("live.out"), p("live.err"));
    const auto port = wait_for_line(p("live.err"), "listening on 127.0.0.1:", std::chrono::seconds(20));
    if (!port) {
      stop_live();
      ADD_FAILURE() << "csi_live printed no 'listening on' line:\n" << read_text(p("live.err"));
      return "";
    }
    return *port;
  }

  /// SIGINT (or `signal`) to csi_live; returns its stdout lines (the last is the summary).
  std::vector<json> stop_live(int signal = SIGINT) {
    std::vector<json> lines;
    if (live_ <= 0) return lines;
    kill(live_, signal);
    EXPECT_EQ(wait_program(live_), 0) << read_text(p("live.err"));
    live_ = -1;
    std::istringstream in(read_text(p("live.out")));
    std::string line;
    while (std::getline(in, line)) lines.push_back(json::parse(line));
    return lines;
  }

  void TearDown() override {
    if (live_ > 0) {
      kill(live_, SIGKILL);
      wait_program(live_);
    }
  }

  fs::path dir_;
  pid_t live_ = -1;
};

/// csi_live's classification lines equal csi_replay's timeline: per node id
/// (the name's "/ID"), the same count, classes and logits (exact floats).
void expect_same_classifications(const std::vector<json>& live, const std::map<long long, std::vector<json>>& replayed) {
  std::map<long long, std::vector<json>> by_node;
  for (const json& l : live) {
    if (l.contains("summary")) continue;
    const std::string name = l.at("node").get<std::string>();
    by_node[std::stoll(name.substr(name.rfind('/') + 1))].push_back(l);
  }
  ASSERT_EQ(by_node.size(), replayed.size());
  std::size_t compared = 0;
  for (const auto& [id, want] : replayed) {
    const std::vector<json>& got = by_node[id];
    ASSERT_EQ(got.size(), want.size()) << "node " << id;
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].at("class"), want[i].at("class")) << "node " << id << " classification " << i;
      EXPECT_EQ(got[i].at("logits").get<std::vector<float>>(), want[i].at("logits").get<std::vector<float>>())
          << "node " << id << " classification " << i;
      ++compared;
    }
  }
  EXPECT_GT(compared, 100u);
}

const json& summary_of(const std::vector<json>& lines) {
  static const json none;
  if (lines.empty() || !lines.back().contains("summary")) {
    ADD_FAILURE() << "no summary line";
    return none;
  }
  return lines.back().at("summary");
}

TEST_F(LiveLoopback, StreamModelMatchesReplayAndRecordsTheFrames) {
  const std::string model = train("last");
  const auto replayed = replay(model, true);
  const std::string port = start_live(model, {"--record", p("rec.csi.jsonl")});
  ASSERT_FALSE(port.empty());
  ASSERT_EQ(tool({"csi_send", "--to", "127.0.0.1:" + port, "--speed", "16", "--quiet", p("sim.csi.jsonl")}), 0);
  const std::vector<json> lines = stop_live();
  const json& s = summary_of(lines);
  EXPECT_EQ(s.at("datagrams"), 800);
  EXPECT_EQ(s.at("outcomes").at("raw_csi"), 800);
  EXPECT_EQ(s.at("socket_drops"), 0);
  EXPECT_EQ(s.at("nodes").size(), 2u);
  expect_same_classifications(lines, replayed);

  // --record: the frames sent, byte for byte, per node and in order.
  const aether::io::Recording sent = aether::io::read_recording(p("sim.csi.jsonl"));
  const aether::io::Recording back = aether::io::read_recording(p("rec.csi.jsonl"));
  EXPECT_EQ(back.counts.raw_csi, 800u);
  EXPECT_EQ(back.counts.rejected(), 0u);
  ASSERT_EQ(back.nodes.size(), sent.nodes.size());
  for (std::size_t n = 0; n < sent.nodes.size(); ++n) {
    const auto& a = sent.nodes[n].frames;
    const auto& b = back.nodes[n].frames;
    ASSERT_EQ(b.size(), a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(b[i].subcarriers, a[i].subcarriers) << "node " << n << " frame " << i;
      ASSERT_EQ(b[i].iq, a[i].iq) << "node " << n << " frame " << i;
      ASSERT_EQ(b[i].rssi, a[i].rssi) << "node " << n << " frame " << i;
    }
  }
  // ... with the fields the reference's recorder loses: sequence (per node
  // from 0), frequency and noise floor (0 = unknown, as csi_send sends).
  std::map<long long, long long> next_seq;
  std::istringstream rec(read_text(p("rec.csi.jsonl")));
  std::string text;
  while (std::getline(rec, text)) {
    const json r = json::parse(text);
    ASSERT_EQ(r.at("type"), "raw_csi");
    EXPECT_EQ(r.at("sequence").get<long long>(), next_seq[r.at("node_id").get<long long>()]++) << text;
    EXPECT_EQ(r.at("frequency"), 0) << text;
    EXPECT_EQ(r.at("noise_floor"), 0) << text;
    EXPECT_EQ(r.at("size").get<std::size_t>(), 20 + r.at("iq_hex").get<std::string>().size() / 2) << text;
  }
  EXPECT_EQ(next_seq.size(), 2u);
}

TEST_F(LiveLoopback, WindowModelMatchesReplay) {
  const std::string model = train("mean");
  const auto replayed = replay(model, false);
  const std::string port = start_live(model, {});
  ASSERT_FALSE(port.empty());
  ASSERT_EQ(tool({"csi_send", "--to", "127.0.0.1:" + port, "--speed", "16", "--quiet", p("sim.csi.jsonl")}), 0);
  const std::vector<json> lines = stop_live();
  const json& s = summary_of(lines);
  EXPECT_EQ(s.at("datagrams"), 800);
  EXPECT_EQ(s.at("socket_drops"), 0);
  expect_same_classifications(lines, replayed);
}

// --- the hostile mix ---

void put32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

/// `size` bytes: `magic`, node id 9 at byte 4, `fill` after.
Bytes packet(std::uint32_t magic, std::size_t size, std::uint8_t fill = 0) {
  Bytes b(size, fill);
  put32(b, 0, magic);
  if (size > 4) b[4] = 9;
  return b;
}

/// Sets the last four bytes to the CRC-32 of the ones before.
Bytes with_crc(Bytes b) {
  put32(b, b.size() - 4, aether::rvne::crc32(b.data(), b.size() - 4));
  return b;
}

/// Module events: `n` events, u16 count at 6.
Bytes events(std::uint32_t magic, std::uint16_t n) {
  Bytes b = packet(magic, 8 + 5 * std::size_t{n});
  b[6] = static_cast<std::uint8_t>(n);
  b[7] = static_cast<std::uint8_t>(n >> 8);
  return b;
}

/// A raw frame of `subcarriers` subcarriers, then `extra` bytes more (< 0: fewer).
Bytes raw(std::uint16_t subcarriers, int extra) {
  Bytes b = packet(aether::io::kMagicRawCsi, 20 + 2 * std::size_t{subcarriers}, 3);
  b[5] = 1;
  b[6] = static_cast<std::uint8_t>(subcarriers);
  b[7] = static_cast<std::uint8_t>(subcarriers >> 8);
  b.resize(static_cast<std::size_t>(static_cast<long>(b.size()) + extra), 3);
  return b;
}

TEST_F(LiveLoopback, EveryDatagramOfAHostileMixIsCounted) {
  using aether::io::Outcome;
  std::vector<std::pair<Bytes, Outcome>> mix = {
      {packet(aether::io::kMagicVitals, 32), Outcome::vitals},
      {packet(aether::io::kMagicFeatures, 48), Outcome::features},
      {packet(aether::io::kMagicFusedOrEvents, 48, 0x11), Outcome::fused_vitals},
      {events(aether::io::kMagicFusedOrEvents, 2), Outcome::module_events},
      {events(aether::io::kMagicTemporalOrEvents, 3), Outcome::module_events},
      {[] {
         Bytes b = packet(aether::io::kMagicCompressed, 14);
         b[8] = 4;
         return b;
       }(),
       Outcome::compressed_csi},
      {with_crc(packet(aether::io::kMagicFeatureState, 60)), Outcome::feature_state},
      {with_crc(packet(aether::io::kMagicTemporalOrEvents, 40, 0x22)), Outcome::temporal_result},
      {[] {
         Bytes b = packet(aether::io::kMagicMesh, 16 + 5 + 4);
         b[12] = 5;
         return with_crc(b);
       }(),
       Outcome::mesh},
      {[] {
         Bytes b = packet(aether::io::kMagicTimeSync, 32);
         b[5] = 1;
         return b;
       }(),
       Outcome::time_sync},
      {raw(64, -1), Outcome::wrong_length},                          // truncated frame
      {[] {
         Bytes b = raw(64, 0);
         b.resize(12);  // cut inside the header
         return b;
       }(),
       Outcome::too_short},
      {raw(64, 7), Outcome::wrong_length},                           // oversized frame
      {raw(306, 0), Outcome::raw_csi},                               // 40 MHz, classified as filtered or used
      {packet(0xC5110009u, 32), Outcome::unknown_magic},             // wrong magic, in the family
      {packet(0x12345678u, 148), Outcome::unknown_magic},            // wrong magic
      {packet(aether::io::kMagicVitals, 33), Outcome::wrong_length}, // wrong length
      {packet(aether::io::kMagicFeatureState, 60), Outcome::bad_crc},
      {[] {
         Bytes b = with_crc(packet(aether::io::kMagicMesh, 20));
         b[17] ^= 1;
         return b;
       }(),
       Outcome::bad_crc},
      {[] {
         Bytes b = packet(aether::io::kMagicTimeSync, 32);
         b[5] = 2;
         return b;
       }(),
       Outcome::bad_field},
      {Bytes{}, Outcome::empty},
      {Bytes{0xC5}, Outcome::too_short},
  };
  // Random datagrams: their outcome is whatever the parser says (a random
  // magic is unknown_magic but for 1 in 2^32); they must be counted too.
  std::mt19937 rng(11);
  for (int i = 0; i < 20; ++i) {
    Bytes b(1 + rng() % 300);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    const Outcome o = aether::io::parse_datagram(b.data(), b.size()).outcome;
    mix.emplace_back(std::move(b), o);
  }

  const std::string model = train("mean");
  const auto replayed = replay(model, false);
  const std::string port = start_live(model, {"--record", p("rec.csi.jsonl")});
  ASSERT_FALSE(port.empty());
  const sockaddr_in to = parse_host_port("127.0.0.1:" + port, "port");
  Socket hostile = bind_udp(parse_host_port("127.0.0.1:0", "hostile"));
  const pid_t send = spawn_program({kBin + "/csi_send", "--to", "127.0.0.1:" + port, "--speed", "16", "--quiet",
                                    p("sim.csi.jsonl")},
                                   p("send.out"), p("send.err"));
  std::map<std::string, long long> want;
  for (const auto& [bytes, outcome] : mix) {
    ASSERT_EQ(::sendto(hostile.fd(), bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(bytes.size()));
    ++want[aether::io::outcome_name(outcome)];
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // interleaved with the frames
  }
  ASSERT_EQ(wait_program(send), 0) << read_text(p("send.err"));
  const std::vector<json> lines = stop_live();
  const json& s = summary_of(lines);
  want["raw_csi"] += 800;
  EXPECT_EQ(s.at("datagrams"), 800 + mix.size());
  EXPECT_EQ(s.at("socket_drops"), 0);
  long long total = 0;
  for (std::size_t i = 0; i < aether::io::kOutcomeCount; ++i) {
    const std::string name = aether::io::outcome_name(static_cast<Outcome>(i));
    EXPECT_EQ(s.at("outcomes").at(name).get<long long>(), want[name]) << name;
    total += s.at("outcomes").at(name).get<long long>();
  }
  EXPECT_EQ(total, static_cast<long long>(800 + mix.size()));
  // The recorded nodes' frames are classified exactly as replayed; the
  // hostile sender (node 9) shows up with its other kinds.
  std::vector<json> frames_of_sim;
  for (const json& l : lines) {
    if (!l.contains("summary") && l.at("node").get<std::string>().find("/9") == std::string::npos) frames_of_sim.push_back(l);
  }
  expect_same_classifications(frames_of_sim, replayed);
  bool hostile_seen = false;
  for (const json& n : s.at("nodes")) {
    if (n.at("node").get<std::string>() != to_string(local_address(hostile)) + "/9") continue;
    hostile_seen = true;
    EXPECT_EQ(n.at("frames"), 1);  // the 306-subcarrier frame
    EXPECT_EQ(n.at("other").at("vitals"), 1);
    EXPECT_EQ(n.at("other").at("module_events"), 2);
    EXPECT_EQ(n.at("other").at("time_sync"), 1);
  }
  EXPECT_TRUE(hostile_seen);
  // --record kept the frames, the vitals (fused ones too) and the feature record.
  const aether::io::Recording back = aether::io::read_recording(p("rec.csi.jsonl"));
  EXPECT_EQ(back.counts.raw_csi, 801u);  // with the 306-subcarrier frame
  EXPECT_EQ(back.counts.vitals, 2u);
  EXPECT_EQ(back.counts.feature, 1u);
  EXPECT_EQ(back.counts.rejected(), 0u);
}

TEST_F(LiveLoopback, SilentNodeIsClosedAndReopenedWhenItReturns) {
  const std::string model = train("mean");
  const std::string port = start_live(model, {"--idle", "0.3"});
  ASSERT_FALSE(port.empty());
  const sockaddr_in to = parse_host_port("127.0.0.1:" + port, "port");
  Socket node = bind_udp(parse_host_port("127.0.0.1:0", "node"));
  const auto send_frames = [&](int n) {
    const Bytes frame = raw(64, 0);
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(::sendto(node.fd(), frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
                static_cast<ssize_t>(frame.size()));
    }
  };
  send_frames(5);
  std::this_thread::sleep_for(std::chrono::milliseconds(900));  // > --idle, with the 100 ms poll
  send_frames(3);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::vector<json> lines = stop_live(SIGTERM);
  const json& s = summary_of(lines);
  const std::string name = to_string(local_address(node)) + "/9";
  std::vector<json> entries;
  for (const json& n : s.at("nodes")) {
    if (n.at("node") == name) entries.push_back(n);
  }
  ASSERT_EQ(entries.size(), 2u) << s.dump();
  EXPECT_EQ(entries[0].at("state"), "closed: idle");
  EXPECT_EQ(entries[0].at("frames"), 5);
  EXPECT_EQ(entries[1].at("state"), "open");
  EXPECT_EQ(entries[1].at("frames"), 3);
  EXPECT_NE(read_text(p("live.err")).find("node " + name + " closed: silent"), std::string::npos)
      << read_text(p("live.err"));
}

TEST_F(LiveLoopback, BadInputsGetTheConventionsExitStatusAndName) {
  // An amplitude-form recording (no I/Q) cannot be sent: 1, naming the file.
  {
    std::ofstream f(p("amp.csi.jsonl"));
    f << "{\"timestamp\": 1.0, \"subcarriers\": [1.0, 2.0, 3.0]}\n";
  }
  tool({"csi_send", "--to", "127.0.0.1:9", p("amp.csi.jsonl")}, nullptr, 1);
  EXPECT_NE(read_text(p("csi_send.err")).find("amp.csi.jsonl: line 1 is an amplitude-form frame"), std::string::npos)
      << read_text(p("csi_send.err"));
  // Usage errors: 2, naming the flag and value.
  tool({"csi_send", "--to", "localhost:9", p("sim.csi.jsonl")}, nullptr, 2);
  EXPECT_NE(read_text(p("csi_send.err")).find("--to 'localhost:9'"), std::string::npos) << read_text(p("csi_send.err"));
  const std::string model = train("mean");
  tool({"csi_live", "--model", model, "--bind", "127.0.0.1:70000"}, nullptr, 2);
  EXPECT_NE(read_text(p("csi_live.err")).find("port '70000'"), std::string::npos) << read_text(p("csi_live.err"));
  // A v1 model without its sidecar (its featuriser is there): 1, naming the sidecar.
  const std::string v1 = train("mean", "v1");
  fs::remove(v1 + ".json");
  tool({"csi_live", "--model", v1, "--bind", "127.0.0.1:0"}, nullptr, 1);
  EXPECT_NE(read_text(p("csi_live.err")).find("mean_v1.rvne.json"), std::string::npos) << read_text(p("csi_live.err"));
}

}  // namespace
