/* The node's C ABI from C99 (compiled as C, -std=c99 -pedantic): every call
 * and status code, both modes. The implementation TU (node_c_impl.cpp) is
 * built without exceptions and RTTI. Exit status 0 when every check passes. */
#include <aether/c/aether.h>
#include <aether/c/ruv_temporal.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const unsigned char* node_test_blob(size_t* len, int fp16);
const unsigned char* node_test_v2_blob(size_t* len);


static int failures = 0;
#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

static void frame_of(int t, float* f) {
  int i;
  for (i = 0; i < 16; ++i) f[i] = (float)sin(0.3 * (t * 16 + i));
}

/* Frame t's raw CSI: 64 (I, Q) byte pairs, the first one null (as the radio's DC). */
static void iq_of(int t, int8_t* iq) {
  int j;
  for (j = 0; j < 128; ++j) iq[j] = (int8_t)(j < 2 ? 0 : (int)(20.0 * sin(0.21 * (t * 128 + j))));
}

/* v2 from C: raw CSI through aether_node_push_csi in both modes, and its codes. */
static void v2_checks(void) {
  size_t len = 0, v1_len = 0;
  const unsigned char* blob = node_test_v2_blob(&len);
  const unsigned char* v1 = node_test_blob(&v1_len, 0);
  aether_node_config ring = {16, 8, 4, AETHER_MODE_RING, 0, AETHER_CACHE_F32};
  aether_node_config stream = {16, 0, 4, AETHER_MODE_STREAM, 16, AETHER_CACHE_F16};
  aether_node* node = NULL;
  aether_node* old = NULL;
  int8_t iq[256], nulls[128];
  float logits[4] = {9, 9, 9, 9}, again[4];
  int t;
  memset(nulls, 0, sizeof nulls);
  CHECK(aether_node_init(v1, v1_len, &stream, NULL, 0, &old) == AETHER_OK);
  iq_of(0, iq);
  CHECK(aether_node_push_csi(old, iq, 64, logits) == AETHER_ERR_NO_FEATURISER);
  CHECK(logits[0] == 9.0f);
  aether_node_destroy(old);
  CHECK(aether_node_init(blob, len, &stream, NULL, 0, &node) == AETHER_OK);
  CHECK(aether_node_push_csi(NULL, iq, 64, logits) == AETHER_ERR_INVALID_ARGUMENT);
  CHECK(aether_node_push_csi(node, NULL, 64, logits) == AETHER_ERR_INVALID_ARGUMENT);
  CHECK(aether_node_push_csi(node, iq, 128, logits) == AETHER_SKIPPED_FRAME);
  CHECK(aether_node_push_csi(node, nulls, 64, logits) == AETHER_SKIPPED_FRAME);
  CHECK(logits[0] == 9.0f);
  CHECK(aether_node_classify(node, logits, 4) == AETHER_ERR_INVALID_STATE);
  for (t = 0; t < 40; ++t) {
    iq_of(t, iq);
    CHECK(aether_node_push_csi(node, iq, 64, logits) == AETHER_OK);
  }
  CHECK(isfinite(logits[0]) && isfinite(logits[3]));
  CHECK(aether_node_classify(node, again, 4) == AETHER_OK && memcmp(logits, again, sizeof logits) == 0);
  aether_node_destroy(node);
  CHECK(aether_node_init(blob, len, &ring, NULL, 0, &node) == AETHER_OK);
  for (t = 0; t < 12; ++t) {
    iq_of(t, iq);
    CHECK(aether_node_push_csi(node, iq, 64, NULL) == AETHER_OK);
  }
  CHECK(aether_node_classify(node, logits, 4) == AETHER_OK && isfinite(logits[0]));
  aether_node_destroy(node);
  CHECK(strcmp(aether_status_name(AETHER_SKIPPED_FRAME), "skipped_frame") == 0);
  CHECK(strcmp(aether_status_name(AETHER_ERR_NO_FEATURISER), "no_featuriser") == 0);
  CHECK(ruv_temporal_esp_err(AETHER_SKIPPED_FRAME) == ESP_ERR_NOT_FOUND);
  CHECK(ruv_temporal_esp_err(AETHER_ERR_NO_FEATURISER) == ESP_ERR_NOT_SUPPORTED);
}

int main(void) {
  size_t len = 0, need = 0;
  const unsigned char* blob = node_test_blob(&len, 0);
  unsigned char* bad = (unsigned char*)malloc(len + 1);
  aether_node_config ring = {16, 8, 4, AETHER_MODE_RING, 0, AETHER_CACHE_F32};
  aether_node_config stream = {16, 0, 4, AETHER_MODE_STREAM, 32, AETHER_CACHE_F16};
  aether_node_config cfg;
  aether_node* node = NULL;
  aether_node* other = NULL;
  ruv_temporal_ctx_t* ctx = NULL;
  float frame[16], logits[4], first[4];
  void* memory;
  int t;

  CHECK(aether_node_self_test() == AETHER_OK);
  CHECK(ruv_temporal_kernel_self_test() == ESP_OK);

  /* Ring mode in caller memory. */
  CHECK(aether_node_memory_needed(blob, len, &ring, &need) == AETHER_OK && need > 0);
  memory = malloc(need);
  CHECK(aether_node_init(blob, len, &ring, memory, need - 1, &node) == AETHER_ERR_NO_MEMORY && node == NULL);
  CHECK(aether_node_init(blob, len, &ring, memory, need, &node) == AETHER_OK && node != NULL);
  CHECK(aether_node_classify(node, logits, 4) == AETHER_ERR_INVALID_STATE);
  for (t = 0; t < 20; ++t) {
    frame_of(t, frame);
    CHECK(aether_node_push(node, frame, NULL) == AETHER_OK);
  }
  CHECK(aether_node_classify(node, logits, 3) == AETHER_ERR_INVALID_ARGUMENT);
  CHECK(aether_node_classify(node, first, 4) == AETHER_OK);
  CHECK(aether_node_push(node, NULL, NULL) == AETHER_ERR_INVALID_ARGUMENT);
  /* Refused inits (another node) leave this one as it was. */
  memcpy(bad, blob, len);
  CHECK(aether_node_init(bad, len - 1, &ring, NULL, 0, &other) == AETHER_ERR_TRUNCATED);
  bad[len] = 0;
  CHECK(aether_node_init(bad, len + 1, &ring, NULL, 0, &other) == AETHER_ERR_TRAILING_BYTES);
  bad[200] ^= 0x10;
  CHECK(aether_node_init(bad, len, &ring, NULL, 0, &other) == AETHER_ERR_CHECKSUM);
  bad[200] ^= 0x10;
  bad[4] = 9;
  CHECK(aether_node_init(bad, len, &ring, NULL, 0, &other) == AETHER_ERR_UNSUPPORTED_VERSION);
  CHECK(ruv_temporal_init(bad, len, 16, 8, 4, &ctx) == ESP_ERR_INVALID_VERSION && ctx == NULL);
  CHECK(aether_node_init(NULL, len, &ring, NULL, 0, &other) == AETHER_ERR_INVALID_ARGUMENT);
  cfg = ring;
  cfg.input_dim = 8;
  CHECK(aether_node_init(blob, len, &cfg, NULL, 0, &other) == AETHER_ERR_INVALID_ARGUMENT);
  cfg = ring;
  cfg.window_len = 0;
  CHECK(aether_node_init(blob, len, &cfg, NULL, 0, &other) == AETHER_ERR_INVALID_ARGUMENT);
  CHECK(other == NULL);
  CHECK(aether_node_classify(node, logits, 4) == AETHER_OK && memcmp(logits, first, sizeof logits) == 0);
  CHECK(aether_node_reset(node) == AETHER_OK);
  CHECK(aether_node_classify(node, logits, 4) == AETHER_ERR_INVALID_STATE);
  aether_node_destroy(node);
  free(memory);

  /* Stream mode, fp16 cache, heap memory; pushes past the capacity evict. */
  node = NULL;
  CHECK(aether_node_init(blob, len, &stream, NULL, 0, &node) == AETHER_OK);
  for (t = 0; t < 100; ++t) {
    frame_of(t, frame);
    CHECK(aether_node_push(node, frame, logits) == AETHER_OK);
    CHECK(isfinite(logits[0]) && isfinite(logits[3]));
  }
  CHECK(aether_node_classify(node, first, 4) == AETHER_OK && memcmp(logits, first, sizeof logits) == 0);
  aether_node_destroy(node);
  aether_node_destroy(NULL);

  /* A frame holding NaN or an infinity is refused (53) and changes nothing:
   * stream mode, where a first such frame would sit in the global slot 0
   * forever, must then give the bits of a node that never saw it. */
  CHECK(aether_node_init(blob, len, &stream, NULL, 0, &node) == AETHER_OK);
  CHECK(aether_node_init(blob, len, &stream, NULL, 0, &other) == AETHER_OK);
  for (t = 0; t < 3; ++t) {
    frame_of(0, frame);
    frame[5] = t == 0 ? (float)NAN : (t == 1 ? (float)INFINITY : -(float)INFINITY);
    logits[0] = 7.0f;
    CHECK(aether_node_push(node, frame, logits) == AETHER_ERR_NON_FINITE && logits[0] == 7.0f);
  }
  CHECK(aether_node_classify(node, logits, 4) == AETHER_ERR_INVALID_STATE);
  CHECK(strcmp(aether_status_name(AETHER_ERR_NON_FINITE), "non_finite") == 0);
  for (t = 0; t < 60; ++t) {
    frame_of(t, frame);
    CHECK(aether_node_push(node, frame, logits) == AETHER_OK);
    CHECK(aether_node_push(other, frame, first) == AETHER_OK);
    if (t == 30) {
      frame[0] = (float)NAN;
      CHECK(aether_node_push(node, frame, NULL) == AETHER_ERR_NON_FINITE);
    }
  }
  CHECK(isfinite(logits[0]) && isfinite(logits[1]) && isfinite(logits[2]) && isfinite(logits[3]));
  CHECK(memcmp(logits, first, sizeof logits) == 0);
  aether_node_destroy(node);
  aether_node_destroy(other);
  /* Ring mode: nothing stored either. */
  CHECK(aether_node_init(blob, len, &ring, NULL, 0, &node) == AETHER_OK);
  frame_of(0, frame);
  frame[15] = (float)INFINITY;
  CHECK(aether_node_push(node, frame, NULL) == AETHER_ERR_NON_FINITE);
  CHECK(aether_node_classify(node, logits, 4) == AETHER_ERR_INVALID_STATE);
  aether_node_destroy(node);

  /* The firmware's names. */
  CHECK(ruv_temporal_init(blob, len, 16, 8, 4, &ctx) == ESP_OK && ctx != NULL);
  CHECK(ruv_temporal_classify(ctx, logits, 4) == ESP_ERR_INVALID_STATE);
  frame_of(0, frame);
  CHECK(ruv_temporal_push(ctx, frame) == ESP_OK);
  CHECK(ruv_temporal_classify(ctx, logits, 5) == ESP_ERR_INVALID_ARG);
  CHECK(ruv_temporal_classify(ctx, logits, 4) == ESP_OK);
  frame[3] = (float)NAN;
  CHECK(ruv_temporal_push(ctx, frame) == ESP_ERR_INVALID_ARG);
  CHECK(ruv_temporal_classify(ctx, first, 4) == ESP_OK && memcmp(logits, first, sizeof logits) == 0);
  ruv_temporal_destroy(ctx);
  ruv_temporal_destroy(NULL);

  v2_checks();

  free(bad);
  printf("node_c_test: %d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
