/* The blobs node_image runs, as byte arrays generated at build time
 * (node_blobs.c, by firmware/host/embed.cpp from the model_init.rvne that
 * init_random_blob writes and its `rvne convert --dtype f16`; the v2 blobs
 * and raw frames as firmware/host/v2_blobs.hpp says).
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
/* v2 (firmware/host/v2_blobs.hpp): the test blob (by default the trained
 * firmware/data/ruview_order_v2.rvne; its input width and classes are its
 * header's), its fp16 conversion, an unaligned copy; for the report, the seeded benchmark shape and the second
 * v2 blob (the training default). Equal blobs share one array. */
extern const node_blob node_blob_v2_f32;
extern const node_blob node_blob_v2_f16;
extern const node_blob node_blob_v2_unaligned;
extern const node_blob node_blob_v2_bench;
extern const node_blob node_blob_v2_report;

/* One real raw CSI frame: n_subcarriers (I, Q) byte pairs as the radio sent them. */
typedef struct node_csi_frame {
  uint16_t n_subcarriers;
  const int8_t* iq; /* iq[0 .. 2 * n_subcarriers) */
} node_csi_frame;
/* Node 1's first raw frames of tests/data/ruview-cfda8db/pretrain-1775182186.first72s.csi.jsonl. */
extern const node_csi_frame node_v2_frames[];
extern const size_t node_v2_frame_count;

/* v1 hostile blobs, then v2 ones (all for input_dim 16, 4 classes). */
extern const node_hostile_blob node_hostile_blobs[];
extern const size_t node_hostile_count;

#endif
