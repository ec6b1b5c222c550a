/* bench.h - shared helpers of the SiON benchmark workloads.
 *
 * Every result is one line on stdout:  BENCH <name> <value> <unit>
 * `cargo xtask bench` (tools/xtask/src/bench.rs) collects these lines from
 * SiON (`sion exec`) and from Linux (the serial console of the initramfs
 * init), so the same static binary reports the same way on both systems.
 *
 * Time comes from rdtsc. Under QEMU TCG with `-icount shift=0` the guest TSC
 * counts virtual nanoseconds, one per guest instruction, so "cycles" here are
 * guest instructions and repeat run to run; without icount the TSC follows
 * the host clock.
 */
#ifndef SION_BENCH_H
#define SION_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void report(const char *name, double value, const char *unit)
{
    printf("BENCH %s %.1f %s\n", name, value, unit);
    fflush(stdout);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The median of n samples (sorts them). */
static inline uint64_t median(uint64_t *v, int n)
{
    qsort(v, n, sizeof v[0], cmp_u64);
    return v[n / 2];
}

#endif
