// ODR test, translation unit A (with main): A and B both include every public
// header and instantiate the same templates and inline functions; the program
// must link (no duplicate symbols) and both TUs must compute the same values.
#include "odr_common.hpp"

#include <cstdio>

namespace aether_odr {
OdrResult run_a() { return run_all(); }
}  // namespace aether_odr

int main() {
  const aether_odr::OdrResult a = aether_odr::run_a();
  const aether_odr::OdrResult b = aether_odr::run_b();
  if (!(a == b) || !a.ok) {
    std::fprintf(stderr, "ODR check failed: A {%g %g %u %d} vs B {%g %g %u %d}\n", double(a.head), double(a.dense),
                 unsigned(a.crc), int(a.ok), double(b.head), double(b.dense), unsigned(b.crc), int(b.ok));
    return 1;
  }
  std::printf("odr ok\n");
  return 0;
}
