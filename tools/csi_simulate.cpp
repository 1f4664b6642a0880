/// csi_simulate: writes a simulated recording (io/csi_simulator.hpp) in the
/// sensing server's format, for trying and testing the training tools:
/// PREFIX.csi.jsonl (raw_csi records), PREFIX.csi.meta.json, PREFIX.labels.csv.
///
///   csi_simulate --out PREFIX [--seed X] [--classes 0,1,...] [--segments N]
///                [--seconds S] [--rate HZ] [--nodes K] [--start T] [--stream-per-room]
///
/// Every number has a range (--help); the files are written atomically (a
/// failure leaves none of them half-written) and hold at most 10 million
/// raw_csi records (segments x classes x seconds x rate x nodes).
/// Exit 0 written, 1 invalid settings, 2 usage or I/O error.

#include "tools/cli.hpp"

#include <aether/io/csi_simulator.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  return aether_cli::guarded("csi_simulate", [&]() -> int {
    using aether_cli::in_range;
    aether::io::SimulatorOptions o;
    std::string out;
    auto app = aether_cli::make_app("csi_simulate", "Write a simulated CSI recording and its labels CSV.");
    app->add_option("--out", out, "path prefix of the three files")->required();
    app->add_option("--seed", o.seed, "simulator seed")->capture_default_str()->check(in_range<std::uint64_t>(0, UINT64_MAX));
    app->add_option("--classes", o.classes, "class indices to generate (default: all); rates 0.25,0.5,1,2 Hz")
        ->delimiter(',')
        ->check(in_range<std::size_t>(0, o.rates.size() - 1));
    app->add_option("--segments", o.segments_per_class, "segments per class")->capture_default_str()->check(in_range<std::size_t>(1, 100000));
    app->add_option("--seconds", o.segment_seconds, "seconds per segment")->capture_default_str()->check(in_range(0.001, 86400.0));
    app->add_option("--rate", o.frame_rate, "frames per second per node")->capture_default_str()->check(in_range(0.001, 10000.0));
    app->add_option("--nodes", o.nodes, "nodes")->capture_default_str()->check(in_range<std::size_t>(1, 1024));
    app->add_flag("--stream-per-room", o.stream_per_room,
                  "every room (segment) its own stream: node ids 1 + segment x nodes + node, as a sensor stays in its "
                  "room (default: nodes 1..K jump to a new room at every segment)");
    app->add_option("--start", o.start_time, "Unix time of the first frame")->capture_default_str()->check(in_range(0.0, aether::io::kMaxSimulatedStart));
    app->footer("Exit status: 0 written, 1 invalid settings, 2 usage or I/O error.");
    if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
    const std::size_t n = aether::io::simulate_recording(out, o);
    std::printf("wrote %s.csi.jsonl (%zu raw_csi records), %s.csi.meta.json, %s.labels.csv\n", out.c_str(), n,
                out.c_str(), out.c_str());
    return static_cast<int>(aether_cli::kExitOk);
  });
}
