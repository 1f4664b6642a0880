/* The node's cost image (issue 10 item 6): instruction counts, stack
 * high-water and memory of the C ABI on the Cortex-M4F, for firmware_report
 * (.ci/firmware.d/report.sh), which runs it under
 *   qemu-system-arm -M mps2-an386 -icount shift=0 ...
 *
 * Instructions: SysTick, clocked from the processor clock (25 MHz on this
 * board), counts down one tick per 40 instructions under -icount shift=0
 * (one instruction per virtual nanosecond). The image first calibrates this
 * with a loop of a known instruction count and prints the ratio it measured;
 * every count below is ticks times that ratio (resolution: one tick).
 *
 * Stack: the unused part of the main stack below the caller is painted with
 * a pattern before the call; the lowest word no longer holding it after the
 * call gives the bytes the call used (high-water, to 4 bytes).
 *
 * v2 (the benchmark-shape blob and the report's second v2 blob, the training
 * default train::V2Defaults with standardisation; both seeded, both with a
 * csi-amplitude featuriser for 64-subcarrier frames): the same stream and
 * ring costs through aether_node_push_csi, each push featurising one
 * 64-subcarrier frame of I/Q bytes (test_iq); keys "v2 NAME ...".
 *
 * Output: "KEY VALUE" lines (key words separated by spaces, value last);
 * main returns 0 unless a C ABI call failed. */
#include "board.h"
#include "node_blobs.h"
#include "test_frames.h"

#include <aether/c/aether.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { kInputDim = 16, kClasses = 4, kCapacity = 128, kFirstTimed = 129, kLastTimed = 1128 };

/* SysTick (Armv7-M system control space). */
#define SYST_CSR (*(volatile uint32_t*)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018u)
#define SYST_MASK 0x00FFFFFFu

static void ticks_start(void) {
  SYST_RVR = SYST_MASK;
  SYST_CVR = 0;       /* any write clears: reloads at the next tick */
  SYST_CSR = 1u | 4u; /* enable, processor clock, no interrupt */
}
static uint32_t ticks_now(void) { return SYST_CVR; }
/* Ticks from `from` to `to` (a down counter, 24 bits: spans < 2^24 ticks). */
static uint32_t ticks_between(uint32_t from, uint32_t to) { return (from - to) & SYST_MASK; }

/* The calibration loop: n x (subs, bne), then bx lr: 2 n + 1 instructions. */
__attribute__((noinline, naked)) static void spin(uint32_t n __attribute__((unused))) {
  __asm volatile(
      "1: subs r0, r0, #1\n"
      "   bne 1b\n"
      "   bx lr\n");
}

static int failures;
static void check(aether_status s, const char* what) {
  if (s != AETHER_OK) {
    ++failures;
    printf("# FAILED: %s: %s\n", what, aether_status_name(s));
  }
}

/* --- stack painting --- */
extern uint32_t __stack_limit;
#define PAINT 0xC5A5C5A5u
static uint32_t* paint_low;

/* Paints from the stack's limit up to just below this function's frame;
 * returns the painted top (the caller's frame lies above it). */
__attribute__((noinline)) static uint32_t* paint_stack(void) {
  uint32_t here;
  uint32_t* top = (uint32_t*)((uintptr_t)&here & ~(uintptr_t)3) - 64; /* leave this frame alone */
  paint_low = &__stack_limit;
  for (uint32_t* p = paint_low; p < top; ++p) *p = PAINT;
  return top;
}
/* Bytes of painted stack overwritten since paint_stack (below `top`). */
static unsigned long stack_used(const uint32_t* top) {
  const uint32_t* p = paint_low;
  while (p < top && *p == PAINT) ++p;
  return (unsigned long)((const char*)top - (const char*)p);
}

/* Caller memory for every node (the largest configuration here needs less). */
static unsigned char arena[416 * 1024];

static aether_node_config config(uint32_t mode, uint32_t window_len, uint32_t capacity, uint32_t dtype) {
  aether_node_config c;
  c.input_dim = kInputDim;
  c.window_len = window_len;
  c.n_classes = kClasses;
  c.mode = mode;
  c.capacity = capacity;
  c.cache_dtype = dtype;
  return c;
}

static const char* dtype_name(uint32_t dtype) { return dtype == AETHER_CACHE_F16 ? "f16" : "f32"; }

static double instr_per_tick;

/* Streaming push: capacity 128, sliding-window eviction; pushes 1..1128,
 * pushes 129..1128 timed one by one (mean and worst), the stack of one push. */
static void stream_cost(const node_blob* blob, uint32_t dtype) {
  const aether_node_config cfg = config(AETHER_MODE_STREAM, 0, kCapacity, dtype);
  aether_node* node = NULL;
  const size_t heap0 = board_heap_in_use();
  check(aether_node_init(blob->data, blob->len, &cfg, arena, sizeof arena, &node), "stream init");
  if (node == NULL) return;
  printf("heap init stream %s %lu\n", dtype_name(dtype), (unsigned long)(board_heap_in_use() - heap0));
  float frame[kInputDim], logits[kClasses];
  uint64_t total = 0;
  uint32_t worst = 0;
  unsigned worst_at = 0;
  for (unsigned t = 1; t <= kLastTimed; ++t) {
    test_frame(t, frame, kInputDim);
    const uint32_t a = ticks_now();
    const aether_status s = aether_node_push(node, frame, logits);
    const uint32_t b = ticks_now();
    check(s, "stream push");
    if (t >= kFirstTimed) {
      const uint32_t dt = ticks_between(a, b);
      total += dt;
      if (dt > worst) worst = dt, worst_at = t;
    }
  }
  const unsigned n = kLastTimed - kFirstTimed + 1;
  printf("push mean instructions %s %.0f\n", dtype_name(dtype), (double)total * instr_per_tick / n);
  printf("push worst instructions %s %.0f\n", dtype_name(dtype), (double)worst * instr_per_tick);
  printf("push worst at %s %u\n", dtype_name(dtype), worst_at);
  printf("push logit0 %s %.6g\n", dtype_name(dtype), (double)logits[0]);
  test_frame(kLastTimed + 1, frame, kInputDim);
  uint32_t* top = paint_stack();
  check(aether_node_push(node, frame, logits), "stream push (stack)");
  printf("stack push %s %lu\n", dtype_name(dtype), stack_used(top));
  aether_node_destroy(node);
}

/* Ring classify (forward over window_len frames, Pool::mean) of a full ring. */
static void ring_cost(const node_blob* blob, uint32_t window_len) {
  const aether_node_config cfg = config(AETHER_MODE_RING, window_len, 0, 0);
  aether_node* node = NULL;
  const size_t heap0 = board_heap_in_use();
  check(aether_node_init(blob->data, blob->len, &cfg, arena, sizeof arena, &node), "ring init");
  if (node == NULL) return;
  printf("heap init ring %lu %lu\n", (unsigned long)window_len, (unsigned long)(board_heap_in_use() - heap0));
  float frame[kInputDim], logits[kClasses];
  for (unsigned t = 1; t <= window_len; ++t) {
    test_frame(t, frame, kInputDim);
    check(aether_node_push(node, frame, NULL), "ring push");
  }
  const uint32_t a = ticks_now();
  const aether_status s = aether_node_classify(node, logits, kClasses);
  const uint32_t b = ticks_now();
  check(s, "ring classify");
  printf("classify instructions %lu %.0f\n", (unsigned long)window_len, (double)ticks_between(a, b) * instr_per_tick);
  uint32_t* top = paint_stack();
  check(aether_node_classify(node, logits, kClasses), "ring classify (stack)");
  printf("stack classify %lu %lu\n", (unsigned long)window_len, stack_used(top));
  aether_node_destroy(node);
}

/* --- v2: raw CSI in --- */
enum { kIqSubcarriers = 64, kMaxDim = 64, kMaxClasses = 16 };

static uint32_t u16_at(const uint8_t* p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
/* A v2 node's configuration: input_dim and classes from the blob's header (offsets 0x08, 0x12). */
static aether_node_config v2_config(const node_blob* blob, uint32_t mode, uint32_t window_len, uint32_t capacity,
                                    uint32_t dtype) {
  aether_node_config c = config(mode, window_len, capacity, dtype);
  c.input_dim = u16_at(blob->data + 0x08);
  c.n_classes = u16_at(blob->data + 0x12);
  return c;
}

/* Streaming push_csi: as stream_cost, each push featurising a 64-subcarrier frame. */
static void v2_stream_cost(const char* name, const node_blob* blob, uint32_t dtype) {
  const aether_node_config cfg = v2_config(blob, AETHER_MODE_STREAM, 0, kCapacity, dtype);
  aether_node* node = NULL;
  const size_t heap0 = board_heap_in_use();
  check(aether_node_init(blob->data, blob->len, &cfg, arena, sizeof arena, &node), "v2 stream init");
  if (node == NULL) return;
  printf("v2 %s heap init stream %s %lu\n", name, dtype_name(dtype), (unsigned long)(board_heap_in_use() - heap0));
  int8_t iq[2 * kIqSubcarriers];
  float logits[kMaxClasses];
  uint64_t total = 0;
  uint32_t worst = 0;
  unsigned worst_at = 0;
  for (unsigned t = 1; t <= kLastTimed; ++t) {
    test_iq(t, iq, kIqSubcarriers);
    const uint32_t a = ticks_now();
    const aether_status s = aether_node_push_csi(node, iq, kIqSubcarriers, logits);
    const uint32_t b = ticks_now();
    check(s, "v2 stream push_csi");
    if (t >= kFirstTimed) {
      const uint32_t dt = ticks_between(a, b);
      total += dt;
      if (dt > worst) worst = dt, worst_at = t;
    }
  }
  const unsigned n = kLastTimed - kFirstTimed + 1;
  printf("v2 %s push mean instructions %s %.0f\n", name, dtype_name(dtype), (double)total * instr_per_tick / n);
  printf("v2 %s push worst instructions %s %.0f\n", name, dtype_name(dtype), (double)worst * instr_per_tick);
  printf("v2 %s push worst at %s %u\n", name, dtype_name(dtype), worst_at);
  test_iq(kLastTimed + 1, iq, kIqSubcarriers);
  uint32_t* top = paint_stack();
  check(aether_node_push_csi(node, iq, kIqSubcarriers, logits), "v2 stream push_csi (stack)");
  printf("v2 %s stack push %s %lu\n", name, dtype_name(dtype), stack_used(top));
  aether_node_destroy(node);
}

/* Ring classify of a full ring of featurised frames. */
static void v2_ring_cost(const char* name, const node_blob* blob, uint32_t window_len) {
  const aether_node_config cfg = v2_config(blob, AETHER_MODE_RING, window_len, 0, 0);
  aether_node* node = NULL;
  const size_t heap0 = board_heap_in_use();
  check(aether_node_init(blob->data, blob->len, &cfg, arena, sizeof arena, &node), "v2 ring init");
  if (node == NULL) return;
  printf("v2 %s heap init ring %lu %lu\n", name, (unsigned long)window_len, (unsigned long)(board_heap_in_use() - heap0));
  int8_t iq[2 * kIqSubcarriers];
  float logits[kMaxClasses];
  for (unsigned t = 1; t <= window_len; ++t) {
    test_iq(t, iq, kIqSubcarriers);
    check(aether_node_push_csi(node, iq, kIqSubcarriers, NULL), "v2 ring push_csi");
  }
  const uint32_t a = ticks_now();
  const aether_status s = aether_node_classify(node, logits, cfg.n_classes);
  const uint32_t b = ticks_now();
  check(s, "v2 ring classify");
  printf("v2 %s classify instructions %lu %.0f\n", name, (unsigned long)window_len,
         (double)ticks_between(a, b) * instr_per_tick);
  uint32_t* top = paint_stack();
  check(aether_node_classify(node, logits, cfg.n_classes), "v2 ring classify (stack)");
  printf("v2 %s stack classify %lu %lu\n", name, (unsigned long)window_len, stack_used(top));
  aether_node_destroy(node);
}

static void v2_costs(const char* name, const node_blob* blob) {
  size_t bytes = 0;
  if (u16_at(blob->data + 0x08) > kMaxDim || u16_at(blob->data + 0x12) > kMaxClasses) {
    ++failures;
    printf("# FAILED: v2 %s: input_dim or classes beyond cost_image's buffers\n", name);
    return;
  }
  for (uint32_t dt = 0; dt < 2; ++dt) {
    const aether_node_config cfg = v2_config(blob, AETHER_MODE_STREAM, 0, kCapacity, dt);
    check(aether_node_memory_needed(blob->data, blob->len, &cfg, &bytes), "v2 memory_needed");
    printf("v2 %s memory stream 128 %s %lu\n", name, dtype_name(dt), (unsigned long)bytes);
  }
  const aether_node_config ring = v2_config(blob, AETHER_MODE_RING, 64, 0, 0);
  check(aether_node_memory_needed(blob->data, blob->len, &ring, &bytes), "v2 memory_needed");
  printf("v2 %s memory ring 64 %lu\n", name, (unsigned long)bytes);
  v2_stream_cost(name, blob, AETHER_CACHE_F32);
  v2_stream_cost(name, blob, AETHER_CACHE_F16);
  v2_ring_cost(name, blob, 64);
}

static void memory(const char* what, const aether_node_config* cfg, const node_blob* blob) {
  size_t bytes = 0;
  check(aether_node_memory_needed(blob->data, blob->len, cfg, &bytes), "memory_needed");
  printf("memory %s %lu\n", what, (unsigned long)bytes);
}

int main(void) {
  printf("# %s\n", board_name());
  ticks_start();
  /* Calibration: 2 n instructions in the loop, plus the call and the two
   * counter reads (a few instructions: under one tick). */
  const uint32_t n = 1000000;
  const uint32_t a = ticks_now();
  spin(n);
  const uint32_t b = ticks_now();
  const uint32_t cal = ticks_between(a, b);
  instr_per_tick = cal > 0 ? (2.0 * n) / cal : 0;
  printf("calibration instructions %lu\n", (unsigned long)(2 * n));
  printf("calibration ticks %lu\n", (unsigned long)cal);
  printf("calibration instructions per tick %.3f\n", instr_per_tick);

  static const uint32_t caps[] = {64, 128, 256};
  char what[48];
  for (unsigned i = 0; i < 3; ++i) {
    for (uint32_t dt = 0; dt < 2; ++dt) {
      const aether_node_config cfg = config(AETHER_MODE_STREAM, 0, caps[i], dt);
      snprintf(what, sizeof what, "stream %lu %s", (unsigned long)caps[i], dtype_name(dt));
      memory(what, &cfg, &node_blob_f32);
    }
  }
  static const uint32_t windows[] = {64, 256};
  for (unsigned i = 0; i < 2; ++i) {
    const aether_node_config cfg = config(AETHER_MODE_RING, windows[i], 0, 0);
    snprintf(what, sizeof what, "ring %lu", (unsigned long)windows[i]);
    memory(what, &cfg, &node_blob_f32);
  }

  stream_cost(&node_blob_f32, AETHER_CACHE_F32);
  stream_cost(&node_blob_f32, AETHER_CACHE_F16);
  ring_cost(&node_blob_f32, 64);
  ring_cost(&node_blob_f32, 256);
  v2_costs("bench", &node_blob_v2_bench);
  /* The report's second v2 blob (the training default; firmware/host/v2_blobs.hpp), when it differs. */
  const int same = node_blob_v2_report.len == node_blob_v2_bench.len &&
                   memcmp(node_blob_v2_report.data, node_blob_v2_bench.data, node_blob_v2_bench.len) == 0;
  printf("v2 report same as bench %d\n", same);
  if (!same) v2_costs("report", &node_blob_v2_report);
  printf("failures %d\n", failures);
  return failures;
}
