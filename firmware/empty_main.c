/* The trivial image: startup, board glue and nothing else. It proves the
 * toolchain, startup and semihosting exit work (exit status 0 under qemu), and
 * is the baseline that firmware_report subtracts to attribute flash to aether. */
int main(void) { return 0; }
