// The C ABI's one implementation TU for the images (and for the host build
// of node_image, firmware/host): aether/c/aether.h and ruv_temporal.h.
#define AETHER_C_IMPLEMENTATION
#include <aether/c/ruv_temporal.h>

#if defined(__arm__) && (defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(__GXX_RTTI))
#error "the firmware images are built with -fno-exceptions -fno-rtti"
#endif
