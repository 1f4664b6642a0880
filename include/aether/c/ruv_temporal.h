/* aether/c/ruv_temporal.h: the firmware's `ruv_temporal` component API,
 * backed by aether (C99 and C++). Callers keep their code; they pass a real
 * .rvne blob. Ring mode (aether/c/aether.h, AETHER_MODE_RING): push stores a
 * frame in a ring of window_len, classify runs the model over the ring,
 * oldest first, mean-pooled.
 *
 * Codes are ESP-IDF's (esp_err.h when it is available, else the same values):
 *   ESP_OK 0; ESP_FAIL -1 (self test failed);
 *   ESP_ERR_NO_MEM 0x101 (allocation at init failed);
 *   ESP_ERR_INVALID_ARG 0x102 (NULL pointer, NULL or empty blob, zero dims,
 *     input_dim or n_classes disagreeing with the blob's header at init, a
 *     classify whose n_classes differs from init's, any header or layout rule,
 *     a pushed frame holding NaN or an infinity: refused, nothing stored);
 *   ESP_ERR_INVALID_STATE 0x103 (classify with no frame);
 *   ESP_ERR_INVALID_SIZE 0x104 (truncated blob or trailing bytes);
 *   ESP_ERR_NOT_FOUND 0x105 (AETHER_SKIPPED_FRAME: a raw CSI frame the
 *     featuriser filtered out; nothing changed);
 *   ESP_ERR_NOT_SUPPORTED 0x106 (AETHER_ERR_NO_FEATURISER: raw CSI for a blob
 *     without a featuriser; AETHER_ERR_UNSUPPORTED_FEATURE: a v2 blob naming
 *     a block or featuriser this build does not know);
 *   ESP_ERR_INVALID_CRC 0x109; ESP_ERR_INVALID_VERSION 0x10A.
 * AETHER_ERR_NON_FINITE (a frame, or raw CSI's features, holding NaN or an
 * infinity) is ESP_ERR_INVALID_ARG, as are AETHER_ERR_INVALID_CONFIG (a v2
 * blob with a gate or the dense backend) and the other header rules.
 * ruv_temporal_init takes v1 and v2 blobs (input_dim: the featuriser's output).
 * A refused call leaves any existing context usable.
 *
 * Implementation: compiled by the one C++ TU that defines
 * AETHER_C_IMPLEMENTATION before including this header (which includes
 * aether/c/aether.h and its implementation too).
 */
#ifndef AETHER_C_RUV_TEMPORAL_H
#define AETHER_C_RUV_TEMPORAL_H

#include <aether/c/aether.h>

#include <stddef.h>
#include <stdint.h>

#if defined(__has_include)
#if __has_include(<esp_err.h>)
#include <esp_err.h>
#define AETHER_HAVE_ESP_ERR_H 1
#endif
#endif

#if !defined(AETHER_HAVE_ESP_ERR_H)
typedef int esp_err_t;
#endif
#ifndef ESP_OK
#define ESP_OK 0
#endif
#ifndef ESP_FAIL
#define ESP_FAIL -1
#endif
#ifndef ESP_ERR_NO_MEM
#define ESP_ERR_NO_MEM 0x101
#endif
#ifndef ESP_ERR_INVALID_ARG
#define ESP_ERR_INVALID_ARG 0x102
#endif
#ifndef ESP_ERR_INVALID_STATE
#define ESP_ERR_INVALID_STATE 0x103
#endif
#ifndef ESP_ERR_INVALID_SIZE
#define ESP_ERR_INVALID_SIZE 0x104
#endif
#ifndef ESP_ERR_NOT_FOUND
#define ESP_ERR_NOT_FOUND 0x105
#endif
#ifndef ESP_ERR_NOT_SUPPORTED
#define ESP_ERR_NOT_SUPPORTED 0x106
#endif
#ifndef ESP_ERR_INVALID_CRC
#define ESP_ERR_INVALID_CRC 0x109
#endif
#ifndef ESP_ERR_INVALID_VERSION
#define ESP_ERR_INVALID_VERSION 0x10A
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque context. */
typedef struct ruv_temporal_ctx ruv_temporal_ctx_t;

/* Validates `weights` (a .rvne blob of weights_len bytes, which must outlive
 * the context) and builds a ring-mode context of window_len frames. May
 * allocate (this is init). */
esp_err_t ruv_temporal_init(const uint8_t* weights, size_t weights_len, uint32_t input_dim, uint32_t window_len,
                            uint32_t n_classes, ruv_temporal_ctx_t** out_ctx);

/* Stores one frame of input_dim floats. No allocation. */
esp_err_t ruv_temporal_push(ruv_temporal_ctx_t* ctx, const float* frame);

/* Writes n_classes logits of the frames in the ring. No allocation. */
esp_err_t ruv_temporal_classify(ruv_temporal_ctx_t* ctx, float* logits, uint32_t n_classes);

/* Destroys a context. Safe on NULL. */
void ruv_temporal_destroy(ruv_temporal_ctx_t* ctx);

/* aether_node_self_test: ESP_OK or ESP_FAIL. */
esp_err_t ruv_temporal_kernel_self_test(void);

/* The ESP-IDF code of an aether status. */
esp_err_t ruv_temporal_esp_err(aether_status status);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AETHER_C_RUV_TEMPORAL_H */

#if defined(AETHER_C_IMPLEMENTATION) && defined(__cplusplus) && !defined(AETHER_C_RUV_TEMPORAL_IMPLEMENTED)
#define AETHER_C_RUV_TEMPORAL_IMPLEMENTED
#include <aether/c/detail/ruv_temporal_impl.hpp>
#endif
