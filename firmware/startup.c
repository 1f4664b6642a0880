/* Startup for the Cortex-M4F images (qemu -M mps2-an386): vector table,
 * reset handler, fault handler. Ours rather than newlib's rdimon crt0 (which
 * hangs on this board); the images link with -nostartfiles.
 *
 * Reset: enable the FPU (CPACR, before any floating-point instruction: the
 * code is built -mfloat-abi=hard), copy .data from its load address, zero
 * .bss, run the C/C++ constructors, open the semihosting stdio handles, call
 * main, and exit through semihosting with main's return code (board.c).
 * A fault prints its name and exits with code 3 (no hang under CI). */
#include "board.h"

#include <stdint.h>
#include <string.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, __stack_top;
extern void (*__preinit_array_start[])(void);
extern void (*__preinit_array_end[])(void);
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(void);
void initialise_monitor_handles(void); /* librdimon: semihosted stdin/stdout/stderr */
void Reset_Handler(void);
void board_reset_c(void);

/* C++ objects with static storage register their destructors against it
 * (crtbegin.o, left out by -nostartfiles, would define it). */
void* __dso_handle = 0;

/* Runs from the reset vector, before anything touches an FP register:
 * CPACR (0xE000ED88) bits 20-23 = full access to CP10 and CP11. */
__attribute__((naked, noreturn)) void Reset_Handler(void) {
  __asm volatile(
      "ldr r0, =0xE000ED88\n"
      "ldr r1, [r0]\n"
      "orr r1, r1, #(0xF << 20)\n"
      "str r1, [r0]\n"
      "dsb\n"
      "isb\n"
      "b board_reset_c\n");
}

__attribute__((noreturn)) void board_reset_c(void) {
  uint32_t* src = &_sidata;
  for (uint32_t* dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t* dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  for (void (**f)(void) = __preinit_array_start; f < __preinit_array_end; ++f) (*f)();
  for (void (**f)(void) = __init_array_start; f < __init_array_end; ++f) (*f)();
  initialise_monitor_handles();
  board_exit(main());
}

static void fault(const char* name) {
  board_puts(name);
  board_exit(3);
}
static void NMI_Handler(void) { fault("fault: NMI"); }
static void HardFault_Handler(void) { fault("fault: HardFault"); }
static void MemManage_Handler(void) { fault("fault: MemManage"); }
static void BusFault_Handler(void) { fault("fault: BusFault"); }
static void UsageFault_Handler(void) { fault("fault: UsageFault"); }
static void Unexpected_Handler(void) { fault("fault: unexpected interrupt"); }

/* Cortex-M vector table: initial SP, then the 15 system exceptions. No
 * interrupt is enabled; SysTick may run as a free counter without its
 * exception. */
__attribute__((section(".isr_vector"), used)) void (*const board_vectors[16])(void) = {
    (void (*)(void))(&__stack_top),
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0,
    0,
    0,
    0,
    Unexpected_Handler, /* SVCall */
    Unexpected_Handler, /* DebugMonitor */
    0,
    Unexpected_Handler, /* PendSV */
    Unexpected_Handler, /* SysTick */
};
