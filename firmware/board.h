/* Board glue of the Cortex-M4F images (qemu -M mps2-an386, semihosting),
 * with a host implementation (host/host_board.c) so the same test program
 * runs on both.
 *
 * The heap guard: the images link with -Wl,--wrap=malloc,... (firmware/
 * CMakeLists.txt), so every malloc, calloc, realloc, memalign,
 * aligned_alloc and posix_memalign of the program (operator new included)
 * goes through board.c. While the heap is locked, each such call is counted
 * and FAILS (returns NULL): a program that locks the heap after init and
 * still pushes and classifies proves it allocates nothing after init.
 * newlib's own stdio buffers (_malloc_r) are not wrapped. Not thread-safe. */
#ifndef AETHER_FIRMWARE_BOARD_H
#define AETHER_FIRMWARE_BOARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flushes stdout and ends the program with exit status `code` (semihosting
 * SYS_EXIT_EXTENDED on the target; exit() on the host). */
__attribute__((noreturn)) void board_exit(int code);

/* What runs the program ("Cortex-M4F, qemu mps2-an386" or "host"). */
const char* board_name(void);

/* Writes a line to stdout without stdio (safe in a fault handler). */
void board_puts(const char* line);

/* Heap guard (see above). locked != 0: every allocation fails from now on. */
void board_heap_lock(int locked);
/* Allocation calls refused while locked, since reset. */
unsigned long board_heap_refused(void);
/* Allocation calls granted, and the bytes they asked for, since reset. */
unsigned long board_heap_calls(void);
unsigned long board_heap_bytes(void);
/* Bytes currently allocated from the heap (newlib mallinfo: uordblks). */
size_t board_heap_in_use(void);

#ifdef __cplusplus
}
#endif

#endif
