/* parallel.c - CPU-bound work on one CPU and on two (issue 18's figures).
 * Usage: parallel N
 *   par.threads1 / par.threads2: count the primes below N by trial division
 *     with one thread, then with two (pthreads) splitting the range in
 *     interleaved blocks; wall milliseconds (CLOCK_MONOTONIC).
 *   par.procs1 / par.procs2: the same count in one child process, then in
 *     two child processes at once (each the whole count), as two jobs on
 *     one node; wall milliseconds until the last one is reaped.
 * Each count is printed too, so a wrong result shows. */
#include "bench.h"
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#define BLOCK 4096

static unsigned long limit;

static int is_prime(unsigned long c)
{
    if (c < 2)
        return 0;
    for (unsigned long d = 2; d * d <= c; d++)
        if (c % d == 0)
            return 0;
    return 1;
}

/* Primes in the blocks first, first + step, first + 2 step... below limit. */
static unsigned long count_blocks(unsigned long first, unsigned long step)
{
    unsigned long n = 0;
    for (unsigned long b = first; b * BLOCK < limit; b += step)
        for (unsigned long c = b * BLOCK; c < (b + 1) * BLOCK && c < limit; c++)
            n += is_prime(c);
    return n;
}

static void *worker(void *arg)
{
    unsigned long first = (unsigned long)arg;
    return (void *)count_blocks(first, 2);
}

static double ms_since(uint64_t t0)
{
    return (double)(now_ns() - t0) / 1e6;
}

static void threads(int n)
{
    uint64_t t0 = now_ns();
    unsigned long total = 0;
    if (n == 1) {
        total = count_blocks(0, 1);
    } else {
        pthread_t t[2];
        for (long i = 0; i < 2; i++)
            if (pthread_create(&t[i], 0, worker, (void *)i) != 0) {
                perror("pthread_create");
                exit(1);
            }
        for (int i = 0; i < 2; i++) {
            void *r;
            pthread_join(t[i], &r);
            total += (unsigned long)r;
        }
    }
    char name[32];
    snprintf(name, sizeof name, "par.threads%d", n);
    report(name, ms_since(t0), "ms");
    printf("parallel: %d thread(s): %lu primes below %lu\n", n, total, limit);
}

static void procs(int n)
{
    uint64_t t0 = now_ns();
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0) {
            perror("fork");
            exit(1);
        }
        if (p == 0)
            _exit(count_blocks(0, 1) % 251 == 0 ? 3 : 0);
    }
    int status, bad = 0;
    for (int i = 0; i < n; i++)
        if (wait(&status) < 0 || !WIFEXITED(status))
            bad = 1;
    char name[32];
    snprintf(name, sizeof name, "par.procs%d", n);
    report(name, ms_since(t0), "ms");
    if (bad) {
        printf("parallel: a child did not exit\n");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    limit = argc > 1 ? strtoul(argv[1], 0, 10) : 2000000;
    threads(1);
    threads(2);
    procs(1);
    procs(2);
    return 0;
}
