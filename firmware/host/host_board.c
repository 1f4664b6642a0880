/* board.h on the host, for node_image_host: plain exit and stdout; the heap
 * guard only counts nothing (the host's allocation proof is
 * tests/node_alloc_test.cpp's counting allocator). */
#include "board.h"

#include <stdio.h>
#include <stdlib.h>

const char* board_name(void) { return "host"; }

void board_exit(int code) {
  fflush(stdout);
  exit(code);
}

void board_puts(const char* line) { puts(line); }

void board_heap_lock(int locked) { (void)locked; }
unsigned long board_heap_refused(void) { return 0; }
unsigned long board_heap_calls(void) { return 0; }
unsigned long board_heap_bytes(void) { return 0; }
size_t board_heap_in_use(void) { return 0; }
