/* prime.c - the n-th prime by trial division (the seed paper's table 2).
 * Usage: prime N...   prints, for each N, the guest cycles (rdtsc) and the
 * CLOCK_MONOTONIC nanoseconds the search took, and the prime found. */
#include "bench.h"

static unsigned long nth_prime(unsigned long n)
{
    unsigned long found = 0, c = 1;
    while (found < n) {
        c++;
        int prime = 1;
        for (unsigned long d = 2; d * d <= c; d++)
            if (c % d == 0) {
                prime = 0;
                break;
            }
        found += prime;
    }
    return c;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        unsigned long n = strtoul(argv[i], 0, 10);
        /* A line before and after: the host times the interval between them. */
        printf("prime: start %lu\n", n);
        fflush(stdout);
        uint64_t ns0 = now_ns(), t0 = rdtsc();
        unsigned long p = nth_prime(n);
        uint64_t t1 = rdtsc(), ns1 = now_ns();
        char name[64];
        snprintf(name, sizeof name, "prime.%lu", n);
        report(name, (double)(t1 - t0), "cycles");
        snprintf(name, sizeof name, "prime_ns.%lu", n);
        report(name, (double)(ns1 - ns0), "ns");
        printf("prime %lu = %lu\n", n, p);
        fflush(stdout);
    }
    return 0;
}
