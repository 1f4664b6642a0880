// aether_conformance DIR: runs every case of a conformance folder (format in
// tests/data/upstream-v0.1.1/README.md, or the gate format of tests/data/gate-v0.1.1/README.md,
// told apart by cases.txt) and prints one line per case with its max error.
// Exit status: 0 all pass, 1 any failure, 2 usage or unreadable data.
#include "conformance_data.hpp"
#include "gate_conformance_data.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  if (argc != 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fprintf(stderr, "usage: aether_conformance DIR\n  DIR holds cases.txt and NAME.{q,k,v,out}.f32 files\n");
    return 2;
  }
  try {
    int failures = 0;
    if (aether_test::is_gate_folder(argv[1])) {
      for (const auto& c : aether_test::load_gate_cases(argv[1])) {
        const auto r = aether_test::run_gate_case(argv[1], c);
        failures += r.ok() ? 0 : 1;
        std::printf("%-4s %-20s gate   salience_rel=%.3e tol=1e-05 keep_topk_diff=%zu keep_q_diff=%zu out_err=%.3e tol=2e-05\n",
                    r.ok() ? "ok" : "FAIL", c.name.c_str(), r.salience_rel_error, r.topk_mismatches,
                    r.quantile_mismatches, r.out_error);
      }
      std::printf("%s\n", failures == 0 ? "all cases pass" : "FAILURES");
      return failures == 0 ? 0 : 1;
    }
    for (const auto& c : aether_test::load_cases(argv[1])) {
      const auto r = aether_test::run_case(argv[1], c);
      const bool ok = r.max_error <= c.tolerance() && r.edges_ok && r.decode_matches_prefill;
      failures += ok ? 0 : 1;
      std::printf("%-4s %-20s %-6s max_err=%.3e tol=%.0e", ok ? "ok" : "FAIL", c.name.c_str(), c.op.c_str(),
                  r.max_error, c.tolerance());
      if (c.has_edges) std::printf(" edges=%llu/%llu", (unsigned long long)r.edges, (unsigned long long)c.edges);
      if (c.op == "decode") std::printf(" decode==prefill:%s", r.decode_matches_prefill ? "bit-exact" : "NO");
      std::printf("\n");
    }
    std::printf("%s\n", failures == 0 ? "all cases pass" : "FAILURES");
    return failures == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aether_conformance: %s\n", e.what());
    return 2;
  }
}
