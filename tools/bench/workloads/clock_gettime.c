/* clock_gettime.c - clock_gettime(CLOCK_MONOTONIC) through libc, as a
 * program calls it (musl takes the vDSO's __vdso_clock_gettime when the
 * system gives one, else makes the system call): the median over 9 batches
 * of 2,000 calls, per call. Goal on SiON: at most Linux's. */
#include "bench.h"

int main(void)
{
    enum { BATCHES = 9, N = 2000 };
    uint64_t cyc[BATCHES];
    struct timespec ts;
    for (int i = 0; i < 200; i++)
        clock_gettime(CLOCK_MONOTONIC, &ts);
    for (int b = 0; b < BATCHES; b++) {
        uint64_t t0 = rdtsc();
        for (int i = 0; i < N; i++)
            clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t t1 = rdtsc();
        cyc[b] = (t1 - t0) / N;
    }
    report("clock_gettime", (double)median(cyc, BATCHES), "cycles");
    return 0;
}
