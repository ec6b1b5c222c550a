// time.c - clocks read sanely, monotonic never decreases, sleeps last at least
// as long as asked; bad pointers and bad timespecs fail.
#include "compat.h"
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

static int64_t ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return ns(&t);
}

int main(void)
{
    struct timespec rt, mono, prev;
    EXPECT_RET(clock_gettime(CLOCK_REALTIME, &rt), 0);
    EXPECT_RET(clock_gettime(CLOCK_MONOTONIC, &mono), 0);
    check(rt.tv_nsec >= 0 && rt.tv_nsec < 1000000000, "REALTIME tv_nsec in range");
    check(mono.tv_nsec >= 0 && mono.tv_nsec < 1000000000, "MONOTONIC tv_nsec in range");
    check(rt.tv_sec > 1600000000, "REALTIME is after 2020");

    time_t t = time(NULL);
    int64_t diff = (int64_t)rt.tv_sec - (int64_t)t;
    check(diff > -86400 && diff < 86400, "REALTIME within one day of time()");

    struct timeval tv;
    EXPECT_RET(gettimeofday(&tv, NULL), 0);
    check(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "gettimeofday tv_usec in range");
    diff = (int64_t)tv.tv_sec - (int64_t)rt.tv_sec;
    check(diff > -86400 && diff < 86400, "gettimeofday within one day of REALTIME");

    int decreased = 0;
    prev = mono;
    for (int i = 0; i < 1000; i++) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ns(&now) < ns(&prev))
            decreased = 1;
        prev = now;
    }
    check(!decreased, "MONOTONIC never decreases over 1000 reads");

    struct timespec req = { 0, 20 * 1000000 }, rem = { 99, 99 };
    int64_t t0 = mono_ns();
    EXPECT_RET(nanosleep(&req, &rem), 0);
    int64_t el = mono_ns() - t0;
    check(el >= 20 * 1000000, "nanosleep(20 ms) elapses >= 20 ms");

    t0 = mono_ns();
    /* clock_nanosleep returns the error number, not -1/errno. */
    int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
    el = mono_ns() - t0;
    check(r == 0, "clock_nanosleep(MONOTONIC, relative 20 ms) = 0 (%s)", errno_name(r));
    check(el >= 20 * 1000000, "clock_nanosleep relative elapses >= 20 ms");

    /* Clocks that cannot be slept on, and clocks that do not exist (the raw
       call: libc may turn the thread clock's answer into EINVAL). */
    printf("clock_nanosleep(THREAD_CPUTIME): %s\n", errno_name(syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL) == -1 ? errno : 0));
    printf("clock_nanosleep(MONOTONIC_RAW): %s\n", errno_name(clock_nanosleep(CLOCK_MONOTONIC_RAW, 0, &req, NULL)));
    printf("clock_nanosleep(clock 42): %s\n", errno_name(clock_nanosleep(42, 0, &req, NULL)));

    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 20 * 1000000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
    struct timespec after;
    clock_gettime(CLOCK_MONOTONIC, &after);
    check(r == 0, "clock_nanosleep(MONOTONIC, absolute) = 0 (%s)", errno_name(r));
    check(ns(&after) >= ns(&abs), "absolute sleep ends after its deadline");

    struct timespec bad_nsec = { 0, 1000000000 };
    EXPECT_ERR(nanosleep(&bad_nsec, NULL), EINVAL);
    struct timespec neg_nsec = { 0, -1 };
    EXPECT_ERR(nanosleep(&neg_nsec, NULL), EINVAL);
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &bad_nsec, NULL);
    check(r == EINVAL, "clock_nanosleep(tv_nsec 1e9) = EINVAL (%s)", errno_name(r));

    /* Raw calls: libc may read the clock without a system call (vDSO). */
    EXPECT_ERR(syscall(SYS_clock_gettime, CLOCK_REALTIME, bad_ptr_8), EFAULT);
    EXPECT_ERR(syscall(SYS_clock_gettime, 9999, &rt), EINVAL);
    EXPECT_ERR(syscall(SYS_nanosleep, bad_ptr_8, NULL), EFAULT);
    EXPECT_ERR(syscall(SYS_gettimeofday, bad_ptr_8, NULL), EFAULT);
    return finish();
}
