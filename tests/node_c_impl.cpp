// The C ABI's one implementation TU for node_c_test, compiled with
// -fno-exceptions -fno-rtti (the embedded profile, on the host), plus a
// helper that hands the C test the seeded AETHER default blob (and a v2
// blob of the benchmark shape, with its csi-amplitude featuriser).
#define AETHER_C_IMPLEMENTATION
#include <aether/c/ruv_temporal.h>

#include <aether/rvne/codec.hpp>
#include <aether/rvne/init.hpp>

#include <cstring>
#include <vector>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(__GXX_RTTI) || AETHER_EXCEPTIONS
#error "node_c_impl.cpp must be compiled with -fno-exceptions -fno-rtti"
#endif

extern "C" const unsigned char* node_test_blob(size_t* len, int fp16) {
  static std::vector<std::uint8_t> blob[2];
  std::vector<std::uint8_t>& b = blob[fp16 ? 1 : 0];
  if (b.empty()) {
    b = aether::rvne::serialize(aether::rvne::init_random(
        aether::rvne::Header::aether_default(fp16 ? aether::rvne::Dtype::f16 : aether::rvne::Dtype::f32)));
  }
  *len = b.size();
  return b.data();
}

extern "C" const unsigned char* node_test_v2_blob(size_t* len) {
  static std::vector<std::uint8_t> b;
  if (b.empty()) b = aether::rvne::serialize(aether::rvne::init_trainable(aether::rvne::v2_benchmark_header(), 7));
  *len = b.size();
  return b.data();
}
