/* aether/c/aether.h: the sensor node's C ABI (C99 and C++).
 *
 * An opaque node classifies sensor frames with the temporal model of a .rvne
 * blob (version 1 or 2), in one of two modes (docs/node.md):
 *   - AETHER_MODE_RING: push stores frames in a ring of window_len; classify
 *     runs the model over the frames in the ring, oldest first, pooled as the
 *     blob says (v1: mean; v2: its pool), positions from 0.
 *   - AETHER_MODE_STREAM: push runs the frame through per-layer KV caches of
 *     `capacity` frames and writes the logits of the newest frame (sliding-
 *     window eviction once full); classify repeats the newest push's logits.
 * Frames are feature vectors (aether_node_push) or, for a v2 blob carrying a
 * csi-amplitude featuriser, the radio's raw I/Q bytes (aether_node_push_csi).
 *
 * Memory: aether_node_init takes optional caller memory of at least
 * aether_node_memory_needed bytes (any alignment); with NULL it allocates
 * that much with malloc. After init, push, classify and reset allocate
 * nothing, on success and on error. The blob's bytes must stay valid and
 * unchanged until aether_node_destroy: fp32 weights starting 4-byte aligned
 * are read where they lie (e.g. in flash; a v2 blob's tensors are 16-byte
 * aligned from its start, so a 4-byte aligned v2 blob is read in place),
 * others (fp16, an unaligned blob) are widened once into the node's memory.
 * A v2 blob with a salience gate or the dense backend is refused
 * (AETHER_ERR_INVALID_CONFIG).
 *
 * Errors: every function returns an aether_status (0 = AETHER_OK); a refused
 * call changes nothing and leaves an existing node usable. Not thread-safe
 * per node; distinct nodes are independent.
 *
 * Implementation: header-only. Exactly one C++17 translation unit of the
 * program defines AETHER_C_IMPLEMENTATION before including this header (it
 * needs the aether include directory and Eigen 3.4); every other file, C or
 * C++, just includes it. Exceptions and RTTI may be off.
 */
#ifndef AETHER_C_AETHER_H
#define AETHER_C_AETHER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: the values of aether::Errc. */
typedef int32_t aether_status;
#define AETHER_OK 0
#define AETHER_ERR_INVALID_CONFIG 1
#define AETHER_ERR_SHAPE_MISMATCH 2
#define AETHER_ERR_INVALID_ARGUMENT 3 /* NULL pointer, zero or header-disagreeing dims, bad mode */
#define AETHER_ERR_LIMIT_EXCEEDED 5   /* the blob's model exceeds ModelLimits (2^26 weights by default) */
#define AETHER_ERR_TRUNCATED 10       /* fewer bytes than the header or weights_len require */
#define AETHER_ERR_BAD_MAGIC 11
#define AETHER_ERR_UNSUPPORTED_VERSION 12
#define AETHER_ERR_UNSUPPORTED_FLAGS 13
#define AETHER_ERR_TRAILING_BYTES 14
#define AETHER_ERR_CHECKSUM 15
#define AETHER_ERR_INVALID_HEADER 16
#define AETHER_ERR_LAYOUT_MISMATCH 17 /* weights_len is not the model layout's size */
#define AETHER_ERR_UNSUPPORTED_FEATURE 18 /* a v2 blob names a block, activation or featuriser this build does not know */
#define AETHER_ERR_NO_MEMORY 50       /* caller memory too small, or malloc failed at init */
#define AETHER_ERR_INVALID_STATE 51   /* classify with no frame pushed */
#define AETHER_ERR_CHECK_FAILED 52    /* aether_node_self_test found a wrong result */
#define AETHER_ERR_NON_FINITE 53      /* push of a frame holding NaN or an infinity, or push_csi features that are (refused, nothing changed) */
#define AETHER_ERR_NO_FEATURISER 54   /* push_csi on a blob without a csi-amplitude featuriser (v1 blobs) */
#define AETHER_SKIPPED_FRAME 55       /* not an error: push_csi's frame was filtered out by the featuriser; nothing changed */

/* aether_node_config.mode */
#define AETHER_MODE_RING 0u
#define AETHER_MODE_STREAM 1u
/* aether_node_config.cache_dtype (stream mode) */
#define AETHER_CACHE_F32 0u
#define AETHER_CACHE_F16 1u

/* A node's configuration. input_dim and n_classes must equal the blob's
 * header. window_len >= 1 (ring mode only); capacity >= 2 (stream mode only:
 * frames per layer cache, slot 0 keeps the global token). */
typedef struct aether_node_config {
  uint32_t input_dim;
  uint32_t window_len;
  uint32_t n_classes;
  uint32_t mode;        /* AETHER_MODE_RING or AETHER_MODE_STREAM */
  uint32_t capacity;
  uint32_t cache_dtype; /* AETHER_CACHE_F32 or AETHER_CACHE_F16 */
} aether_node_config;

/* Opaque node. */
typedef struct aether_node aether_node;

/* Validates the blob and the configuration and stores in *bytes the caller
 * memory aether_node_init needs for them. */
aether_status aether_node_memory_needed(const uint8_t* blob, size_t blob_len, const aether_node_config* config,
                                        size_t* bytes);

/* Validates and builds a node in `memory` (memory_len bytes; NULL: malloc).
 * On success *out is the node; on failure *out is not written. */
aether_status aether_node_init(const uint8_t* blob, size_t blob_len, const aether_node_config* config, void* memory,
                               size_t memory_len, aether_node** out);

/* One frame of input_dim floats. Stream mode: writes n_classes logits to
 * `logits` unless it is NULL. Ring mode: stores the frame; logits unused.
 * A frame holding a NaN or an infinity is refused with AETHER_ERR_NON_FINITE
 * in both modes: nothing changes (logits not written, no frame stored). */
aether_status aether_node_push(aether_node* node, const float* frame, float* logits);

/* One raw CSI frame as the radio gave it: `iq` holds n_subcarriers (I, Q)
 * pairs of signed bytes, the 0xC5110001 datagram from offset 20 (for a
 * multi-antenna frame, the first antenna's n_subcarriers pairs). Runs the
 * blob's featuriser (the host's io::featurize_iq: amplitudes, grouping, log,
 * centring, standardisation as the blob says), then the frame as
 * aether_node_push (logits likewise). Statuses besides push's:
 *   AETHER_SKIPPED_FRAME      the featuriser filtered the frame out (its
 *                             subcarrier count is not the blob's, or every
 *                             pair is null): not an error, nothing changed;
 *   AETHER_ERR_NO_FEATURISER  the blob carries no csi-amplitude featuriser
 *                             (every v1 blob);
 *   AETHER_ERR_NON_FINITE     a computed feature is NaN or infinite;
 *   AETHER_ERR_INVALID_ARGUMENT  NULL node or iq.
 * No allocation. */
aether_status aether_node_push_csi(aether_node* node, const int8_t* iq, uint32_t n_subcarriers, float* logits);

/* Writes n_classes logits (n_classes must equal the configuration's). */
aether_status aether_node_classify(aether_node* node, float* logits, uint32_t n_classes);

/* Forgets every frame (the next classify is AETHER_ERR_INVALID_STATE). */
aether_status aether_node_reset(aether_node* node);

/* Destroys a node (frees its memory if init allocated it). Safe on NULL. */
void aether_node_destroy(aether_node* node);

/* Runs a small built-in model through both modes and checks them against
 * the prefill and against a fixed CRC. Allocates (it is a start-up check). */
aether_status aether_node_self_test(void);

/* Short stable name of a status ("ok", "truncated", ...). */
const char* aether_status_name(aether_status status);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AETHER_C_AETHER_H */

#if defined(AETHER_C_IMPLEMENTATION) && defined(__cplusplus) && !defined(AETHER_C_AETHER_IMPLEMENTED)
#define AETHER_C_AETHER_IMPLEMENTED
#include <aether/c/detail/aether_impl.hpp>
#endif
