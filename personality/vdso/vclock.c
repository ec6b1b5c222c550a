/* vclock.c - the clock calls of SiON's vDSO, built for x86_64 and i386.
 *
 * Linux programs call these instead of trapping (libc finds them through
 * AT_SYSINFO_EHDR): the time comes from the TSC and the data page below the
 * image (vvar.h), converted exactly as the personality server converts it
 * (ClockInfo::tsc_to_ns: floor((tsc - tsc_at_boot) * 10^9 / tsc_hz)), so a
 * program mixing these and the system calls never sees time go back.
 * Whatever the page cannot answer (CPU-time clocks, bad ids, a page without
 * a usable TSC) is the real system call, made from here as Linux's vDSO
 * does, so its errors (EINVAL, EFAULT) stay the personality's. As on Linux,
 * a bad pointer given with a clock the page answers faults in the caller.
 *
 * Built by personality/linux/build.rs: -fPIC -nostdlib -shared, linked by
 * vdso64.lds / vdso32.lds, checked there to carry no relocations.
 */
#include "vvar.h"

#define NSEC 1000000000ull
/* Above this rate (18.4 GHz) (tsc % hz) * 10^9 no longer fits 64 bits. */
#define MAX_TSC_HZ 18446744073ull

/* Linux's clock ids. */
enum {
    CLOCK_REALTIME = 0,
    CLOCK_MONOTONIC = 1,
    CLOCK_MONOTONIC_RAW = 4,
    CLOCK_REALTIME_COARSE = 5,
    CLOCK_MONOTONIC_COARSE = 6,
    CLOCK_BOOTTIME = 7,
    CLOCK_TAI = 11,
};

#if defined(__x86_64__)
enum { NR_gettimeofday = 96, NR_time = 201, NR_clock_gettime = 228, NR_clock_getres = 229 };
static long sys2(long nr, long a, long b)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "0"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return r;
}
#elif defined(__i386__)
enum { NR_time = 13, NR_gettimeofday = 78, NR_clock_gettime = 265, NR_clock_getres = 266, NR_clock_gettime64 = 403, NR_clock_getres_time64 = 406 };
static long sys2(long nr, long a, long b)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "0"(nr), "b"(a), "c"(b) : "memory");
    return r;
}
#else
#error "x86_64 or i386 only"
#endif

#define EXPORT __attribute__((visibility("default")))

/* The reading path, inlined into each call on x86_64 (its instructions are
 * the call's whole cost); on i386, where 64-bit arithmetic is long, the
 * functions stay out of line, so the image stays within its pages. */
#if defined(__x86_64__)
#define HOT inline __attribute__((always_inline))
#else
#define HOT __attribute__((noinline))
#endif

/* The data page: one page below the image (the linker script's vvar_page).
 * Read through a volatile pointer: the server may rewrite it at any time. */
extern struct sion_vvar vvar_page __attribute__((visibility("hidden")));

/* The time-stamp counter, not read before the instructions ahead of it. */
static inline uint64_t rdtsc_ordered(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}

struct now {
    uint64_t mono;   /* CLOCK_MONOTONIC, ns */
    uint64_t offset; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
    uint64_t coarse; /* resolution of the coarse clocks, ns */
};

/* What a reader needs besides CLOCK_MONOTONIC (constants once inlined, so a
 * MONOTONIC read loads nothing else). */
enum { WANT_OFFSET = 1, WANT_COARSE = 2 };

/* Read the page and the TSC as one consistent snapshot; -1 when the page
 * cannot answer (the caller makes the system call). Inlined: this is the
 * whole cost of a call, counted in instructions. The page's version is not
 * checked: the image and the server that writes the page are built from the
 * same tree (the image is embedded in the server). */
static HOT int read_now(struct now *n, int want)
{
    const volatile struct sion_vvar *v = &vvar_page;
    uint32_t seq;
    uint64_t hz, at, tsc;
    for (;;) {
        seq = v->seq;
        __asm__ volatile("" ::: "memory");
        hz = v->tsc_hz;
        at = v->tsc_at_boot;
        if (want & WANT_OFFSET)
            n->offset = v->realtime_offset_ns;
        if (want & WANT_COARSE)
            n->coarse = v->coarse_ns;
        tsc = rdtsc_ordered();
        __asm__ volatile("" ::: "memory");
        if (__builtin_expect(!(seq & 1) && v->seq == seq, 1))
            break;
        __asm__ volatile("pause");
    }
    /* hz in 1..=MAX_TSC_HZ, in one comparison; a coarse resolution of 0 is none. */
    if (__builtin_expect(hz - 1 >= MAX_TSC_HZ || ((want & WANT_COARSE) && n->coarse == 0), 0))
        return -1;
    /* floor(d * 10^9 / hz) without 128-bit division: with d = q*hz + r it is
     * q * 10^9 + floor(r * 10^9 / hz), and r * 10^9 fits since hz <= MAX_TSC_HZ. */
    uint64_t d = tsc > at ? tsc - at : 0;
    n->mono = d / hz * NSEC + d % hz * NSEC / hz;
    return 0;
}

/* Nanoseconds on `clock`, or -1 for the system call (the clocks Linux's
 * vDSO answers: the high-resolution, coarse and raw ones). */
static HOT int clock_ns(int clock, uint64_t *ns)
{
    struct now n;
    /* The common clocks first, each reading only what it needs. */
    if (__builtin_expect(clock == CLOCK_MONOTONIC, 1)) {
        if (read_now(&n, 0))
            return -1;
        *ns = n.mono;
        return 0;
    }
    if (clock == CLOCK_REALTIME) {
        if (read_now(&n, WANT_OFFSET))
            return -1;
        *ns = n.offset + n.mono;
        return 0;
    }
    switch (clock) {
    case CLOCK_TAI:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME:
    case CLOCK_MONOTONIC_COARSE:
        break;
    default:
        return -1;
    }
    if (read_now(&n, WANT_OFFSET | WANT_COARSE))
        return -1;
    switch (clock) {
    case CLOCK_TAI:
        *ns = n.offset + n.mono;
        break;
    case CLOCK_REALTIME_COARSE:
        *ns = (n.offset + n.mono) / n.coarse * n.coarse;
        break;
    case CLOCK_MONOTONIC_COARSE:
        *ns = n.mono / n.coarse * n.coarse;
        break;
    default:
        *ns = n.mono;
    }
    return 0;
}

/* The resolution of `clock`, or -1 for the system call. */
static int res_ns(int clock, uint64_t *ns)
{
    struct now n;
    switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_TAI:
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME:
        *ns = 1;
        return 0;
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
        if (read_now(&n, WANT_COARSE))
            return -1;
        *ns = n.coarse;
        return 0;
    default:
        return -1;
    }
}

/* The ABI's own timespec and timeval (two longs), the 64-bit timespec of
 * i386's *_time64 calls, and struct timezone. */
struct ts_long {
    long sec, nsec;
};
struct ts_64 {
    long long sec, nsec;
};
struct tv_long {
    long sec, usec;
};
struct tz {
    int minuteswest, dsttime;
};

EXPORT int __vdso_clock_gettime(int clock, struct ts_long *ts)
{
    uint64_t ns;
    if (clock_ns(clock, &ns))
        return sys2(NR_clock_gettime, clock, (long)ts);
    ts->sec = (long)(ns / NSEC);
    ts->nsec = (long)(ns % NSEC);
    return 0;
}

EXPORT int __vdso_clock_getres(int clock, struct ts_long *res)
{
    uint64_t ns;
    if (res_ns(clock, &ns))
        return sys2(NR_clock_getres, clock, (long)res);
    if (res) {
        res->sec = 0;
        res->nsec = (long)ns;
    }
    return 0;
}

EXPORT int __vdso_gettimeofday(struct tv_long *tv, struct tz *tz)
{
    struct now n;
    if (read_now(&n, WANT_OFFSET))
        return sys2(NR_gettimeofday, (long)tv, (long)tz);
    if (tv) {
        uint64_t ns = n.offset + n.mono;
        tv->sec = (long)(ns / NSEC);
        tv->usec = (long)(ns % NSEC / 1000);
    }
    if (tz) {
        /* UTC, no daylight saving: what the personality's call writes. */
        tz->minuteswest = 0;
        tz->dsttime = 0;
    }
    return 0;
}

EXPORT long __vdso_time(long *t)
{
    struct now n;
    if (read_now(&n, WANT_OFFSET))
        return sys2(NR_time, (long)t, 0);
    long s = (long)((n.offset + n.mono) / NSEC);
    if (t)
        *t = s;
    return s;
}

#if defined(__x86_64__)
/* x86_64 Linux exports the plain names too. */
int clock_gettime(int, struct ts_long *) __attribute__((weak, alias("__vdso_clock_gettime")));
int clock_getres(int, struct ts_long *) __attribute__((weak, alias("__vdso_clock_getres")));
int gettimeofday(struct tv_long *, struct tz *) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
#else
EXPORT int __vdso_clock_gettime64(int clock, struct ts_64 *ts)
{
    uint64_t ns;
    if (clock_ns(clock, &ns))
        return sys2(NR_clock_gettime64, clock, (long)ts);
    ts->sec = (long long)(ns / NSEC);
    ts->nsec = (long long)(ns % NSEC);
    return 0;
}

EXPORT int __vdso_clock_getres_time64(int clock, struct ts_64 *res)
{
    uint64_t ns;
    if (res_ns(clock, &ns))
        return sys2(NR_clock_getres_time64, clock, (long)res);
    if (res) {
        res->sec = 0;
        res->nsec = (long long)ns;
    }
    return 0;
}

/* The image's entry point. glibc makes every system call through it when the
 * vDSO is there and AT_SYSINFO is not (setup_vdso: dl_sysinfo = e_entry):
 * plain int 0x80, as Linux's without SYSENTER. The signal returns are
 * Linux's, for unwinders that look for them. */
__asm__(".text\n"
        ".globl __kernel_vsyscall\n"
        ".type __kernel_vsyscall, @function\n"
        "__kernel_vsyscall:\n"
        "\t.cfi_startproc\n"
        "\tint $0x80\n"
        "\tret\n"
        "\t.cfi_endproc\n"
        ".size __kernel_vsyscall, .-__kernel_vsyscall\n"
        ".globl __kernel_sigreturn\n"
        ".type __kernel_sigreturn, @function\n"
        "__kernel_sigreturn:\n"
        "\tpopl %eax\n"
        "\tmovl $119, %eax\n"
        "\tint $0x80\n"
        ".size __kernel_sigreturn, .-__kernel_sigreturn\n"
        ".globl __kernel_rt_sigreturn\n"
        ".type __kernel_rt_sigreturn, @function\n"
        "__kernel_rt_sigreturn:\n"
        "\tmovl $173, %eax\n"
        "\tint $0x80\n"
        ".size __kernel_rt_sigreturn, .-__kernel_rt_sigreturn\n");
#endif
