/// csi_simulate: writes a simulated recording (io/csi_simulator.hpp) in the
/// sensing server's format, for trying and testing the training tools:
/// PREFIX.csi.jsonl (raw_csi records), PREFIX.csi.meta.json, PREFIX.labels.csv.
///
///   csi_simulate --out PREFIX [--seed X] [--classes 0,1,...] [--segments N]
///                [--seconds S] [--rate HZ] [--nodes K] [--start T]
///
/// Exit 0 written, 1 invalid settings, 2 usage or I/O error.

#include "tools/cli.hpp"

#include <aether/io/csi_simulator.hpp>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  aether::io::SimulatorOptions o;
  std::string out;
  auto app = aether_cli::make_app("csi_simulate", "Write a simulated CSI recording and its labels CSV.");
  app->add_option("--out", out, "path prefix of the three files")->required();
  app->add_option("--seed", o.seed, "simulator seed")->capture_default_str();
  app->add_option("--classes", o.classes, "class indices to generate (default: all); rates 0.25,0.5,1,2 Hz")->delimiter(',');
  app->add_option("--segments", o.segments_per_class, "segments per class")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--seconds", o.segment_seconds, "seconds per segment")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--rate", o.frame_rate, "frames per second per node")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--nodes", o.nodes, "nodes")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--start", o.start_time, "Unix time of the first frame")->capture_default_str();
  app->footer("Exit status: 0 written, 1 invalid settings, 2 usage or I/O error.");
  if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
  try {
    const std::size_t n = aether::io::simulate_recording(out, o);
    std::printf("wrote %s.csi.jsonl (%zu raw_csi records), %s.csi.meta.json, %s.labels.csv\n", out.c_str(), n,
                out.c_str(), out.c_str());
    return aether_cli::kExitOk;
  } catch (const aether::Error& e) {
    std::fprintf(stderr, "csi_simulate: %s\n", e.what());
    return aether_cli::exit_code_of(e);
  }
}
