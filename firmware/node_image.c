/* The node's test image (issue 10): the C ABI over the embedded blobs
 * (node_blobs.h), built for the Cortex-M4F (qemu -M mps2-an386) and, as
 * node_image_host, for the host; .ci/firmware.sh compares the two outputs
 * with firmware_compare.
 *
 * For the fp32 blob, its fp16 conversion and an unaligned copy of the fp32
 * blob: ring mode (window 16; classify after 1, 7, 16, 23 and 40 of a fixed
 * frame sequence) and stream mode (capacity 32: 80 pushes evict; every
 * push's logits; fp32 and fp16 caches); the firmware's ruv_temporal names;
 * the hostile blobs through both inits. v2 (the v2 blob, its fp16 conversion
 * and an unaligned copy; input width and class count from its header: by
 * default the blob train_blob trained on a real recording,
 * firmware/data/ruview_order_v2.rvne): real raw frames (node_v2_frames) through
 * aether_node_push_csi in ring mode (window 16: classify after every push)
 * and stream mode (capacity 16, fp32 and fp16 caches; every push's logits),
 * the frames the featuriser filters out reported as skipped; push_csi's
 * codes (no featuriser on a v1 blob, NULL I/Q). After every init the heap is locked
 * (board.h): push, classify, reset and their refused calls run with every
 * malloc failing, and any attempt is counted.
 *
 * Output, one result a line, for firmware_compare: "KEY... VALUE..." lines
 * that must match the host's (numbers within 1e-5 * max(1, |host|), other
 * tokens exactly); lines starting with "#" are facts of this build (memory,
 * heap) and are not compared. In-image checks (expected codes, no allocation
 * after init, finite logits, a refused call leaving the node as it was) count
 * failures; main returns their number (0: pass). */
#include "board.h"
#include "node_blobs.h"
#include "test_frames.h"

#include <aether/c/aether.h>
#include <aether/c/ruv_temporal.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

/* newlib on Debian prints no C99 size modifiers (%zu): sizes go as %lu. */

enum { kInputDim = 16, kClasses = 4, kWindow = 16, kCapacity = 32, kRingFrames = 40, kStreamFrames = 80 };

static int failures;

static void check(int ok, const char* what) {
  if (!ok) {
    ++failures;
    printf("# FAILED: %s\n", what);
  }
}

/* Caller memory for every node (the largest configuration here needs less). */
static unsigned char arena[160 * 1024];

static void print_logits_n(const char* prefix, unsigned t, const float* logits, uint32_t n) {
  printf("%s t=%u", prefix, t);
  for (uint32_t i = 0; i < n; ++i) {
    printf(" %.9g", (double)logits[i]);
    check(isfinite(logits[i]), "finite logits");
  }
  printf("\n");
}
static void print_logits(const char* prefix, unsigned t, const float* logits) {
  print_logits_n(prefix, t, logits, kClasses);
}

/* Inits a node over `blob` in the arena, with the heap-at-init figures. */
static aether_node* init_node(const node_blob* blob, const aether_node_config* cfg, const char* label) {
  size_t need = 0;
  aether_node* node = NULL;
  check(aether_node_memory_needed(blob->data, blob->len, cfg, &need) == AETHER_OK, "memory_needed");
  check(need <= sizeof arena, "arena large enough");
  const size_t heap_before = board_heap_in_use();
  const unsigned long calls_before = board_heap_calls();
  const aether_status s = aether_node_init(blob->data, blob->len, cfg, arena, sizeof arena, &node);
  printf("init %s %s status=%d\n", label, blob->name, (int)s);
  check(s == AETHER_OK && node != NULL, "init");
  printf("# memory %s %s memory_needed=%lu heap_at_init=%lu allocations_at_init=%lu\n", label, blob->name,
         (unsigned long)need, (unsigned long)(board_heap_in_use() - heap_before), board_heap_calls() - calls_before);
  board_heap_lock(1);
  return node;
}

static void done_node(aether_node* node) {
  board_heap_lock(0);
  aether_node_destroy(node);
}

static void run_ring(const node_blob* blob) {
  const aether_node_config cfg = {kInputDim, kWindow, kClasses, AETHER_MODE_RING, 0, AETHER_CACHE_F32};
  char prefix[64];
  float frame[kInputDim], logits[kClasses], again[kClasses];
  aether_node* node = init_node(blob, &cfg, "ring");
  if (!node) return;
  snprintf(prefix, sizeof prefix, "ring %s", blob->name);
  check(aether_node_classify(node, logits, kClasses) == AETHER_ERR_INVALID_STATE, "ring classify with no frame");
  for (unsigned t = 1; t <= kRingFrames; ++t) {
    test_frame(t, frame, kInputDim);
    check(aether_node_push(node, frame, NULL) == AETHER_OK, "ring push");
    if (t == 1 || t == 7 || t == kWindow || t == 23 || t == kRingFrames) {
      check(aether_node_classify(node, logits, kClasses) == AETHER_OK, "ring classify");
      print_logits(prefix, t, logits);
    }
  }
  /* Refused calls change nothing. */
  check(aether_node_push(node, NULL, NULL) == AETHER_ERR_INVALID_ARGUMENT, "ring push NULL");
  check(aether_node_classify(node, again, kClasses - 1) == AETHER_ERR_INVALID_ARGUMENT, "ring classify n_classes");
  check(aether_node_classify(node, again, kClasses) == AETHER_OK && memcmp(again, logits, sizeof logits) == 0,
        "ring classify after refused calls repeats");
  check(aether_node_reset(node) == AETHER_OK, "ring reset");
  check(aether_node_classify(node, again, kClasses) == AETHER_ERR_INVALID_STATE, "ring classify after reset");
  done_node(node);
}

static void run_stream(const node_blob* blob, uint32_t cache_dtype) {
  const aether_node_config cfg = {kInputDim, 0, kClasses, AETHER_MODE_STREAM, kCapacity, cache_dtype};
  const char* cache = cache_dtype == AETHER_CACHE_F16 ? "f16" : "f32";
  char prefix[64], label[32];
  float frame[kInputDim], logits[kClasses], again[kClasses];
  snprintf(label, sizeof label, "stream_cache_%s", cache);
  aether_node* node = init_node(blob, &cfg, label);
  if (!node) return;
  snprintf(prefix, sizeof prefix, "stream %s cache=%s", blob->name, cache);
  for (unsigned t = 1; t <= kStreamFrames; ++t) {
    test_frame(t, frame, kInputDim);
    check(aether_node_push(node, frame, logits) == AETHER_OK, "stream push");
    print_logits(prefix, t, logits);
  }
  check(aether_node_classify(node, again, kClasses) == AETHER_OK && memcmp(again, logits, sizeof logits) == 0,
        "stream classify repeats the newest push");
  check(aether_node_push(node, NULL, logits) == AETHER_ERR_INVALID_ARGUMENT, "stream push NULL");
  check(aether_node_reset(node) == AETHER_OK, "stream reset");
  done_node(node);
}

static void run_ruv_temporal(void) {
  ruv_temporal_ctx_t* ctx = NULL;
  float frame[kInputDim], logits[kClasses];
  esp_err_t e = ruv_temporal_init(node_blob_f32.data, node_blob_f32.len, kInputDim, kWindow, kClasses, &ctx);
  printf("ruv_temporal_init f32 esp=0x%X\n", (unsigned)e);
  check(e == ESP_OK && ctx != NULL, "ruv_temporal_init");
  if (!ctx) return;
  board_heap_lock(1);
  check(ruv_temporal_classify(ctx, logits, kClasses) == ESP_ERR_INVALID_STATE, "ruv classify with no frame");
  for (unsigned t = 1; t <= 20; ++t) {
    test_frame(t, frame, kInputDim);
    check(ruv_temporal_push(ctx, frame) == ESP_OK, "ruv push");
  }
  check(ruv_temporal_classify(ctx, logits, kClasses + 1) == ESP_ERR_INVALID_ARG, "ruv classify n_classes");
  check(ruv_temporal_classify(ctx, logits, kClasses) == ESP_OK, "ruv classify");
  print_logits("ruv_temporal f32", 20, logits);
  board_heap_lock(0);
  ruv_temporal_destroy(ctx);
  ruv_temporal_destroy(NULL);
}

/* Each hostile blob through both inits, while a good node lives on. */
static void run_hostile(void) {
  const aether_node_config cfg = {kInputDim, kWindow, kClasses, AETHER_MODE_RING, 0, AETHER_CACHE_F32};
  static unsigned char other_memory[128 * 1024];
  float frame[kInputDim], before[kClasses], after[kClasses];
  aether_node* node = init_node(&node_blob_f32, &cfg, "hostile_witness");
  if (!node) return;
  test_frame(1, frame, kInputDim);
  check(aether_node_push(node, frame, NULL) == AETHER_OK && aether_node_classify(node, before, kClasses) == AETHER_OK,
        "witness classify");
  board_heap_lock(0);
  for (size_t i = 0; i < node_hostile_count; ++i) {
    const node_hostile_blob* h = &node_hostile_blobs[i];
    aether_node* other = NULL;
    ruv_temporal_ctx_t* ctx = NULL;
    const aether_status s = aether_node_init(h->blob.data, h->blob.len, &cfg, other_memory, sizeof other_memory, &other);
    const esp_err_t e = ruv_temporal_init(h->blob.data, h->blob.len, kInputDim, kWindow, kClasses, &ctx);
    printf("hostile %s len=%lu aether=%d esp=0x%X\n", h->blob.name, (unsigned long)h->blob.len, (int)s, (unsigned)e);
    check(s == h->aether_status && other == NULL, h->blob.name);
    check(e == h->esp_code && ctx == NULL, h->blob.name);
  }
  /* Empty and NULL blobs, and a config disagreeing with the header. */
  aether_node* other = NULL;
  ruv_temporal_ctx_t* ctx = NULL;
  aether_node_config dims = cfg;
  dims.input_dim = 8;
  const aether_status empty = aether_node_init(node_blob_f32.data, 0, &cfg, NULL, 0, &other);
  const esp_err_t null_blob = ruv_temporal_init(NULL, node_blob_f32.len, kInputDim, kWindow, kClasses, &ctx);
  const aether_status bad_dims = aether_node_init(node_blob_f32.data, node_blob_f32.len, &dims, NULL, 0, &other);
  const esp_err_t bad_classes = ruv_temporal_init(node_blob_f32.data, node_blob_f32.len, kInputDim, kWindow, 3, &ctx);
  const aether_status small = aether_node_init(node_blob_f32.data, node_blob_f32.len, &cfg, other_memory, 64, &other);
  printf("refused empty=%d null_blob=0x%X input_dim=%d n_classes=0x%X small_memory=%d\n", (int)empty,
         (unsigned)null_blob, (int)bad_dims, (unsigned)bad_classes, (int)small);
  check(empty == AETHER_ERR_INVALID_ARGUMENT && null_blob == ESP_ERR_INVALID_ARG, "empty / NULL blob");
  check(bad_dims == AETHER_ERR_INVALID_ARGUMENT && bad_classes == ESP_ERR_INVALID_ARG, "dims disagreeing");
  check(small == AETHER_ERR_NO_MEMORY && other == NULL && ctx == NULL, "caller memory too small");
  board_heap_lock(1);
  check(aether_node_classify(node, after, kClasses) == AETHER_OK && memcmp(before, after, sizeof before) == 0,
        "refused inits leave the witness node as it was");
  done_node(node);
}

/* --- v2: raw CSI in (lines "v2 ...": .ci/firmware.sh also compares the
 * fp32-cache ones with firmware_v2_reference, the host library's logits) --- */
enum { kV2Window = 16, kV2Capacity = 16, kV2MaxClasses = 64 };

static uint32_t u16_at(const uint8_t* p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
/* A v2 node's configuration: input_dim and classes from the blob's header
 * (offsets 0x08 and 0x12), so the test blob decides them (a trained blob). */
static aether_node_config v2_config(const node_blob* blob, uint32_t mode, uint32_t window_len, uint32_t capacity,
                                    uint32_t dtype) {
  aether_node_config c = {u16_at(blob->data + 0x08), window_len, u16_at(blob->data + 0x12), mode, capacity, dtype};
  check(c.n_classes >= 1 && c.n_classes <= kV2MaxClasses, "v2 blob's class count within node_image's buffers");
  if (c.n_classes > kV2MaxClasses) c.n_classes = kV2MaxClasses; /* init then refuses the disagreeing config */
  return c;
}

/* Pushes node_v2_frames[t - 1] from its I/Q bytes; prints the line of frame t
 * (n_classes logits). */
static void v2_push(aether_node* node, const char* prefix, unsigned t, int ring, uint32_t n_classes) {
  const node_csi_frame* f = &node_v2_frames[t - 1];
  float logits[kV2MaxClasses], before[kV2MaxClasses];
  memset(logits, 0, sizeof logits);
  memcpy(before, logits, sizeof logits);
  const aether_status s = aether_node_push_csi(node, f->iq, f->n_subcarriers, ring ? NULL : logits);
  if (s == AETHER_SKIPPED_FRAME) {
    check(f->n_subcarriers != 64, "only frames of another subcarrier count are skipped here");
    check(memcmp(before, logits, sizeof logits) == 0, "a skipped frame writes no logits");
    printf("%s t=%u skipped\n", prefix, t);
    return;
  }
  check(s == AETHER_OK, "push_csi");
  if (ring) check(aether_node_classify(node, logits, n_classes) == AETHER_OK, "v2 ring classify");
  print_logits_n(prefix, t, logits, n_classes);
}

static void run_v2_ring(const node_blob* blob) {
  const aether_node_config cfg = v2_config(blob, AETHER_MODE_RING, kV2Window, 0, AETHER_CACHE_F32);
  char prefix[64];
  float logits[kV2MaxClasses];
  aether_node* node = init_node(blob, &cfg, "v2_ring");
  if (!node) return;
  snprintf(prefix, sizeof prefix, "v2 ring %s", blob->name);
  check(aether_node_classify(node, logits, cfg.n_classes) == AETHER_ERR_INVALID_STATE, "v2 ring classify with no frame");
  check(aether_node_push_csi(node, NULL, 64, NULL) == AETHER_ERR_INVALID_ARGUMENT, "v2 push_csi NULL");
  for (unsigned t = 1; t <= node_v2_frame_count; ++t) v2_push(node, prefix, t, 1, cfg.n_classes);
  check(aether_node_reset(node) == AETHER_OK, "v2 ring reset");
  check(aether_node_classify(node, logits, cfg.n_classes) == AETHER_ERR_INVALID_STATE, "v2 ring classify after reset");
  done_node(node);
}

static void run_v2_stream(const node_blob* blob, uint32_t cache_dtype) {
  const aether_node_config cfg = v2_config(blob, AETHER_MODE_STREAM, 0, kV2Capacity, cache_dtype);
  const char* cache = cache_dtype == AETHER_CACHE_F16 ? "f16" : "f32";
  char prefix[64], label[32];
  snprintf(label, sizeof label, "v2_stream_cache_%s", cache);
  aether_node* node = init_node(blob, &cfg, label);
  if (!node) return;
  snprintf(prefix, sizeof prefix, "v2 stream %s cache=%s", blob->name, cache);
  for (unsigned t = 1; t <= node_v2_frame_count; ++t) v2_push(node, prefix, t, 0, cfg.n_classes);
  check(aether_node_reset(node) == AETHER_OK, "v2 stream reset");
  done_node(node);
}

/* push_csi on a v1 blob: no featuriser. */
static void run_v2_codes(void) {
  const aether_node_config cfg = {kInputDim, 0, kClasses, AETHER_MODE_STREAM, kCapacity, AETHER_CACHE_F32};
  float logits[kClasses];
  aether_node* node = init_node(&node_blob_f32, &cfg, "v1_push_csi");
  if (!node) return;
  const aether_status s = aether_node_push_csi(node, node_v2_frames[1].iq, node_v2_frames[1].n_subcarriers, logits);
  printf("push_csi v1 status=%d\n", (int)s);
  check(s == AETHER_ERR_NO_FEATURISER, "push_csi on a v1 blob");
  check(aether_node_push_csi(NULL, node_v2_frames[1].iq, 64, logits) == AETHER_ERR_INVALID_ARGUMENT, "push_csi NULL node");
  check(aether_node_classify(node, logits, kClasses) == AETHER_ERR_INVALID_STATE, "refused push_csi stores nothing");
  done_node(node);
}

int main(void) {
  printf("# node_image: %s\n", board_name());
  check(aether_node_self_test() == AETHER_OK, "aether_node_self_test");
  check(ruv_temporal_kernel_self_test() == ESP_OK, "ruv_temporal_kernel_self_test");
  printf("self_test ok\n");
  run_ring(&node_blob_f32);
  run_ring(&node_blob_f16);
  run_ring(&node_blob_unaligned);
  run_stream(&node_blob_f32, AETHER_CACHE_F32);
  run_stream(&node_blob_f32, AETHER_CACHE_F16);
  run_stream(&node_blob_f16, AETHER_CACHE_F32);
  run_stream(&node_blob_unaligned, AETHER_CACHE_F32);
  run_ruv_temporal();
  run_v2_ring(&node_blob_v2_f32);
  run_v2_ring(&node_blob_v2_f16);
  run_v2_ring(&node_blob_v2_unaligned);
  run_v2_stream(&node_blob_v2_f32, AETHER_CACHE_F32);
  run_v2_stream(&node_blob_v2_f32, AETHER_CACHE_F16);
  run_v2_stream(&node_blob_v2_f16, AETHER_CACHE_F32);
  run_v2_stream(&node_blob_v2_unaligned, AETHER_CACHE_F32);
  run_v2_codes();
  run_hostile();
  printf("malloc_after_init refused=%lu\n", board_heap_refused());
  check(board_heap_refused() == 0, "nothing allocated after init");
  printf("# heap: %lu allocations granted (%lu bytes asked), %lu refused after init\n", board_heap_calls(),
         board_heap_bytes(), board_heap_refused());
  printf("end failures=%d\n", failures);
  return failures;
}
