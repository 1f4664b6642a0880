/* The blobs node_image runs, as byte arrays generated at build time
 * (node_blobs.c, by firmware/host/embed.cpp from the model_init.rvne that
 * init_random_blob writes and its `rvne convert --dtype f16`).
 * Read-only data: on the target they lie in the image's code memory, where
 * the node reads fp32 weights in place. */
#ifndef AETHER_FIRMWARE_NODE_BLOBS_H
#define AETHER_FIRMWARE_NODE_BLOBS_H

#include <stddef.h>
#include <stdint.h>

/* A named blob. */
typedef struct node_blob {
  const char* name;
  const uint8_t* data; /* data[0..len) */
  size_t len;
} node_blob;

/* A hostile blob and the codes init must return for it. */
typedef struct node_hostile_blob {
  node_blob blob;
  int32_t aether_status; /* aether_node_init (aether/c/aether.h) */
  int32_t esp_code;      /* ruv_temporal_init (aether/c/ruv_temporal.h) */
} node_hostile_blob;

extern const node_blob node_blob_f32;       /* model_init.rvne, 4-byte aligned */
extern const node_blob node_blob_f16;       /* its fp16 conversion */
extern const node_blob node_blob_unaligned; /* model_init.rvne at an odd address: weights not 4-byte aligned */
extern const node_hostile_blob node_hostile_blobs[];
extern const size_t node_hostile_count;

#endif
