/* getppid.c - the round trip of a trivial system call (raw syscall, so no
 * libc caching): the median over 9 batches of 2,000 calls, per call. */
#include "bench.h"
#include <unistd.h>
#include <sys/syscall.h>

int main(void)
{
    enum { BATCHES = 9, N = 2000 };
    uint64_t cyc[BATCHES], ns[BATCHES];
    for (int i = 0; i < 200; i++)
        syscall(SYS_getppid);
    for (int b = 0; b < BATCHES; b++) {
        uint64_t n0 = now_ns(), t0 = rdtsc();
        for (int i = 0; i < N; i++)
            syscall(SYS_getppid);
        uint64_t t1 = rdtsc(), n1 = now_ns();
        cyc[b] = (t1 - t0) / N;
        ns[b] = (n1 - n0) / N;
    }
    report("getppid", (double)median(cyc, BATCHES), "cycles");
    report("getppid_ns", (double)median(ns, BATCHES), "ns");
    return 0;
}
