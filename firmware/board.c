/* Board glue for qemu -M mps2-an386 (see board.h): semihosting exit and
 * output, and the heap guard over the wrapped allocation functions. */
#include "board.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arm semihosting: operation in r0, parameter in r1, BKPT 0xAB (Thumb). */
static int semihost(int op, const void* arg) {
  register int r0 __asm("r0") = op;
  register const void* r1 __asm("r1") = arg;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

enum { SYS_WRITE0 = 0x04, SYS_EXIT_EXTENDED = 0x20 };
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

void board_exit(int code) {
  fflush(stdout);
  fflush(stderr);
  const unsigned block[2] = {ADP_STOPPED_APPLICATION_EXIT, (unsigned)code};
  semihost(SYS_EXIT_EXTENDED, block);
  for (;;) {
  }
}

const char* board_name(void) { return "Cortex-M4F, qemu mps2-an386"; }

void board_puts(const char* line) {
  semihost(SYS_WRITE0, line);
  semihost(SYS_WRITE0, "\n");
}

static int heap_locked;
static unsigned long heap_refused, heap_calls, heap_bytes;

void board_heap_lock(int locked) { heap_locked = locked != 0; }
unsigned long board_heap_refused(void) { return heap_refused; }
unsigned long board_heap_calls(void) { return heap_calls; }
unsigned long board_heap_bytes(void) { return heap_bytes; }
size_t board_heap_in_use(void) { return (size_t)mallinfo().uordblks; }

/* 1 when the call may go ahead (and is counted as granted). */
static int heap_grant(size_t bytes) {
  if (heap_locked) {
    ++heap_refused;
    return 0;
  }
  ++heap_calls;
  heap_bytes += bytes;
  return 1;
}

void* __real_malloc(size_t n);
void* __real_calloc(size_t count, size_t n);
void* __real_realloc(void* p, size_t n);
void* __real_memalign(size_t alignment, size_t n);
void* __real_aligned_alloc(size_t alignment, size_t n);
int __real_posix_memalign(void** out, size_t alignment, size_t n);

void* __wrap_malloc(size_t n) { return heap_grant(n) ? __real_malloc(n) : NULL; }
void* __wrap_calloc(size_t count, size_t n) { return heap_grant(count * n) ? __real_calloc(count, n) : NULL; }
void* __wrap_realloc(void* p, size_t n) { return heap_grant(n) ? __real_realloc(p, n) : NULL; }
void* __wrap_memalign(size_t alignment, size_t n) { return heap_grant(n) ? __real_memalign(alignment, n) : NULL; }
void* __wrap_aligned_alloc(size_t alignment, size_t n) {
  return heap_grant(n) ? __real_aligned_alloc(alignment, n) : NULL;
}
int __wrap_posix_memalign(void** out, size_t alignment, size_t n) {
  return heap_grant(n) ? __real_posix_memalign(out, alignment, n) : 12 /* ENOMEM */;
}

/* newlib's getentropy stub is absent on bare metal; nothing here draws from
 * it (std::random_device is not used by the node headers). */
int getentropy(void* buffer, size_t length) {
  (void)buffer;
  (void)length;
  return -1;
}
