/* hello.c - the boot probe and the program fork+exec runs. Reads the TSC at
 * main (a few thousand instructions after the program's first instruction)
 * and again after its first line of output was written. Under QEMU the TSC
 * starts at 0 at power-on, so these are the guest time from power-on. */
#include "bench.h"
#include <unistd.h>

int main(void)
{
    uint64_t t0 = rdtsc();
    static const char line[] = "hello from a static program\n";
    if (write(1, line, sizeof line - 1) != sizeof line - 1)
        return 1;
    uint64_t t1 = rdtsc();
    printf("BENCH boot.main %llu tsc\nBENCH boot.output %llu tsc\n", (unsigned long long)t0, (unsigned long long)t1);
    return 0;
}
