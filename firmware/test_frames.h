/* The fixed frame sequence the firmware images push (node_image, cost_image
 * and node_image_host): frame t is `dim` xorshift32 draws in [-1, 1), each a
 * 24-bit integer times a power of two minus 1, so exact in float on the
 * target and the host alike. Pure function of (t, dim); no state. */
#ifndef AETHER_FIRMWARE_TEST_FRAMES_H
#define AETHER_FIRMWARE_TEST_FRAMES_H

#include <stdint.h>

/* Writes frame[0..dim). */
static inline void test_frame(unsigned t, float* frame, int dim) {
  uint32_t x = 0x9E3779B9u ^ (t * 0x85EBCA6Bu);
  for (int i = 0; i < dim; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    frame[i] = (float)(x >> 8) * (1.0f / 8388608.0f) - 1.0f;
  }
}

/* Frame t's I/Q bytes for cost_image's v2 pushes: `n` (I, Q) pairs of
 * xorshift32 draws in [-64, 63], no null pair (every subcarrier counts). */
static inline void test_iq(unsigned t, int8_t* iq, int n) {
  uint32_t x = 0x2545F491u ^ (t * 0x9E3779B9u);
  for (int j = 0; j < n; ++j) {
    for (int k = 0; k < 2; ++k) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      iq[2 * j + k] = (int8_t)((int)(x >> 25) - 64);
    }
    if (iq[2 * j] == 0 && iq[2 * j + 1] == 0) iq[2 * j] = 1;
  }
}

#endif
