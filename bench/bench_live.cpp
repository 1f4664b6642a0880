// bench_live: the live reader under load. Starts csi_live on 127.0.0.1 (port
// 0), sends it N simulated nodes x R frames/s for S seconds with csi_send
// --nodes N --rate R, ends it with SIGINT and reports (reporting only, no
// threshold):
//   datagrams sent vs received; drops by cause: the socket's (the kernel's
//   SO_RXQ_OVFL / /proc/net/udp count: the receive buffer overflowed) and
//   elsewhere (sent - received - socket drops: lost before the socket, or
//   inside the program, which has no queue of its own); frames classified;
//   time from a frame's kernel arrival to its classification line written
//   (median, p99, max); csi_live's CPU share (CPU s / wall s) and peak RSS.
// `--find-max`: afterwards, the highest per-node rate (64 nodes) one csi_live
// sustains without loss: doubles the rate from R while a 10 s run loses
// nothing, then bisects 4 times (CI does not pass it: minutes).
//
//   bench_live TOOLS_DIR MODEL RECORDING [--nodes N] [--rate HZ] [--seconds S]
//              [--find-max] [--work DIR]
//
// csi_live runs with OMP_NUM_THREADS=1 (one core). Progress on stderr, the
// table on stdout (markdown) and one JSON line per run. Exit 0, 1 when a run
// failed (a tool exited non-zero), 2 on bad arguments.
// Driven by .ci/live_load.sh (which trains MODEL on tests/data).

#include "tools/process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

using json = nlohmann::json;
using namespace aether_tools;

struct Options {
  std::string tools, model, recording, work = "bench_live_work";
  int nodes = 64;
  double rate = 50, seconds = 60;
  bool find_max = false;
};

struct Run {
  long long sent = 0, received = 0, socket_drops = 0, classified = 0;
  double send_seconds = 0, median_ms = 0, p99_ms = 0, max_ms = 0, cpu_share = 0;
  long long rss_kb = 0;
  long long other_drops() const { return sent - received - socket_drops; }
  bool lossless() const { return received == sent && socket_drops == 0; }
};

/// One load run; throws aether::Error when a tool fails.
Run run_load(const Options& o, int nodes, double rate, double seconds) {
  const std::string w = o.work + "/";
  const pid_t live = spawn_program({o.tools + "/csi_live", "--model", o.model, "--bind", "127.0.0.1:0", "--quiet",
                                    "--status", "3600"},
                                   w + "live.out", w + "live.err");
  const auto port = wait_for_line(w + "live.err", "listening on 127.0.0.1:", std::chrono::seconds(30));
  if (!port) {
    kill(live, SIGKILL);
    wait_program(live);
    aether::detail::fail(aether::Errc::io_error, "csi_live did not start: " + read_text(w + "live.err"));
  }
  const int send_rc = run_program({o.tools + "/csi_send", "--to", "127.0.0.1:" + *port, "--nodes",
                                   std::to_string(nodes), "--rate", std::to_string(rate), "--duration",
                                   std::to_string(seconds), "--quiet", o.recording},
                                  w + "send.out", w + "send.err");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(live, SIGINT);
  const int live_rc = wait_program(live);
  if (send_rc != 0) aether::detail::fail(aether::Errc::io_error, "csi_send exited " + std::to_string(send_rc) + ": " + read_text(w + "send.err"));
  if (live_rc != 0) aether::detail::fail(aether::Errc::io_error, "csi_live exited " + std::to_string(live_rc) + ": " + read_text(w + "live.err"));
  const json sent = json::parse(read_text(w + "send.out"));
  const std::string out = read_text(w + "live.out");
  const auto last = out.rfind("{\"summary\"");
  if (last == std::string::npos) aether::detail::fail(aether::Errc::invalid_data, "csi_live printed no summary");
  const json s = json::parse(out.substr(last)).at("summary");
  Run r;
  r.sent = sent.at("sent").get<long long>();
  r.send_seconds = sent.at("seconds").get<double>();
  r.received = s.at("datagrams").get<long long>();
  r.socket_drops = s.at("socket_drops").get<long long>();
  r.classified = s.at("classified").get<long long>();
  r.median_ms = s.at("latency_ms").at("median").get<double>();
  r.p99_ms = s.at("latency_ms").at("p99").get<double>();
  r.max_ms = s.at("latency_ms").at("max").get<double>();
  r.cpu_share = s.at("cpu_seconds").get<double>() / std::max(1e-9, s.at("wall_seconds").get<double>());
  r.rss_kb = s.at("max_rss_kb").get<long long>();
  return r;
}

void print_row(int nodes, double rate, const Run& r) {
  std::printf("| %d x %.0f/s | %.0f/s | %lld | %lld | %lld | %lld | %lld | %.3f | %.3f | %.3f | %.0f%% | %.1f |\n", nodes,
              rate, static_cast<double>(r.sent) / std::max(1e-9, r.send_seconds), r.sent, r.received, r.socket_drops,
              r.other_drops(), r.classified, r.median_ms, r.p99_ms, r.max_ms, 100 * r.cpu_share,
              static_cast<double>(r.rss_kb) / 1024.0);
  std::fflush(stdout);
}

void print_json(int nodes, double rate, const Run& r) {
  const json j = {{"nodes", nodes}, {"rate_per_node", rate}, {"sent", r.sent}, {"received", r.received},
                  {"socket_drops", r.socket_drops}, {"other_drops", r.other_drops()}, {"classified", r.classified},
                  {"latency_ms", {{"median", r.median_ms}, {"p99", r.p99_ms}, {"max", r.max_ms}}},
                  {"cpu_share", r.cpu_share}, {"peak_rss_kb", r.rss_kb}, {"send_seconds", r.send_seconds}};
  std::printf("%s\n", j.dump().c_str());
}

int usage(const char* why) {
  std::fprintf(stderr, "bench_live: %s\nusage: bench_live TOOLS_DIR MODEL RECORDING [--nodes N] [--rate HZ] "
                       "[--seconds S] [--find-max] [--work DIR]\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)flag;
      return argv[++i];
    };
    const char* v = nullptr;
    if (a == "--find-max") {
      o.find_max = true;
    } else if (a == "--nodes" || a == "--rate" || a == "--seconds" || a == "--work") {
      if ((v = value(a.c_str())) == nullptr) return usage((a + " needs a value").c_str());
      char* end = nullptr;
      const double x = std::strtod(v, &end);
      if (a == "--work") {
        o.work = v;
      } else if (end == v || *end != '\0' || !(x > 0)) {
        return usage((a + " '" + v + "': not a positive number").c_str());
      } else if (a == "--nodes") {
        if (x > 255 || x != static_cast<int>(x)) return usage((a + " '" + v + "': an integer 1-255").c_str());
        o.nodes = static_cast<int>(x);
      } else if (a == "--rate") {
        o.rate = x;
      } else {
        o.seconds = x;
      }
    } else if (a.rfind("--", 0) == 0) {
      return usage(("unknown flag " + a).c_str());
    } else {
      pos.push_back(a);
    }
  }
  if (pos.size() != 3) return usage("expected TOOLS_DIR MODEL RECORDING");
  o.tools = pos[0];
  o.model = pos[1];
  o.recording = pos[2];
  std::filesystem::create_directories(o.work);
  setenv("OMP_NUM_THREADS", "1", 1);
  try {
    std::fprintf(stderr, "bench_live: %d nodes x %.0f frames/s for %.0f s\n", o.nodes, o.rate, o.seconds);
    const Run r = run_load(o, o.nodes, o.rate, o.seconds);
    std::printf("| load | sent rate | sent | received | socket drops | other drops | classified | latency median ms | "
                "p99 ms | max ms | CPU | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    print_row(o.nodes, o.rate, r);
    print_json(o.nodes, o.rate, r);
    if (o.find_max) {
      double good = 0, bad = 0, rate = o.rate;
      while (bad == 0 && rate <= 64 * o.rate) {
        std::fprintf(stderr, "bench_live: --find-max: %d x %.0f/s for 10 s\n", o.nodes, rate);
        const Run t = run_load(o, o.nodes, rate, 10);
        print_row(o.nodes, rate, t);
        (t.lossless() ? good : bad) = rate;
        rate *= 2;
      }
      for (int step = 0; step < 4 && bad > 0 && good > 0; ++step) {
        const double mid = (good + bad) / 2;
        std::fprintf(stderr, "bench_live: --find-max: %d x %.0f/s for 10 s\n", o.nodes, mid);
        const Run t = run_load(o, o.nodes, mid, 10);
        print_row(o.nodes, mid, t);
        (t.lossless() ? good : bad) = mid;
      }
      std::printf("highest rate without loss: %d nodes x %.0f frames/s = %.0f datagrams/s (first loss at %.0f/s per node)\n",
                  o.nodes, good, o.nodes * good, bad);
    }
  } catch (const aether::Error& e) {
    std::fprintf(stderr, "bench_live: %s\n", e.what());
    return 1;
  }
  return 0;
}
