// ODR test, translation unit B (see odr_a.cpp).
#include "odr_common.hpp"

namespace aether_odr {
OdrResult run_b() { return run_all(); }
}  // namespace aether_odr
