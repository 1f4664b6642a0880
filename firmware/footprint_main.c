/* The flash footprint image: every aether_node_* function of the C ABI
 * (both modes, both cache dtypes, push and push_csi, self_test; v1 and v2:
 * one code path) called on a blob whose address
 * the compiler cannot see, so the whole node code is linked but no blob is.
 * firmware_report subtracts empty_image (the same startup and board glue
 * with an empty main) to give the flash attributable to aether. Run, it
 * returns 0 (a NULL blob: every init is refused). */
#include <aether/c/aether.h>

#include <stdint.h>

const uint8_t* volatile footprint_blob; /* NULL at run time */
volatile size_t footprint_len;
volatile uint32_t footprint_mode, footprint_dtype;

int main(void) {
  aether_node_config cfg = {16, 64, 4, footprint_mode, 128, footprint_dtype};
  size_t bytes = 0;
  aether_node* node = 0;
  float frame[16] = {0}, logits[4];
  if (aether_node_memory_needed(footprint_blob, footprint_len, &cfg, &bytes) == AETHER_OK &&
      aether_node_init(footprint_blob, footprint_len, &cfg, 0, 0, &node) == AETHER_OK) {
    aether_node_push(node, frame, logits);
    aether_node_push_csi(node, (const int8_t*)footprint_blob, 64, logits);
    aether_node_classify(node, logits, 4);
    aether_node_reset(node);
    aether_node_destroy(node);
    return aether_node_self_test() == AETHER_OK ? 0 : 1;
  }
  return 0;
}
