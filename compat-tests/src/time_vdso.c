// time_vdso.c - the vDSO: AT_SYSINFO_EHDR names an ELF image whose dynamic
// symbols carry __vdso_clock_gettime, gettimeofday, time and clock_getres at
// version LINUX_2.6 (found by walking its tables, no dlsym); calls through it
// agree with the system calls (MONOTONIC: vdso <= syscall <= vdso), clocks it
// cannot answer (CPU time, bad ids) still work or fail as the calls do.
#include "compat.h"
#include <elf.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#if UINTPTR_MAX > 0xffffffffu
typedef Elf64_Ehdr Ehdr;
typedef Elf64_Phdr Phdr;
typedef Elf64_Sym Sym;
typedef Elf64_Dyn Dyn;
#else
typedef Elf32_Ehdr Ehdr;
typedef Elf32_Phdr Phdr;
typedef Elf32_Sym Sym;
typedef Elf32_Dyn Dyn;
#endif

/* The ABI's own timespec and timeval (two longs), as the vDSO writes them. */
struct kts {
    long sec, nsec;
};

static const char *base;
static uintptr_t bias;
static const Sym *symtab;
static const char *strtab;
static const uint32_t *hash;
static const uint16_t *versym;
static const Elf32_Verdef *verdef;

/* Find the dynamic tables of the image, as libc's vDSO lookup does. */
static int parse(const char *image)
{
    const Ehdr *e = (const Ehdr *)image;
    const Phdr *ph = (const Phdr *)(image + e->e_phoff);
    const Dyn *dyn = 0;
    base = image;
    bias = 0;
    for (int i = 0; i < e->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD)
            bias = (uintptr_t)image + ph[i].p_offset - ph[i].p_vaddr;
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = (const Dyn *)(image + ph[i].p_offset);
    }
    if (!dyn)
        return 0;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        const void *p = (const void *)(bias + dyn->d_un.d_ptr);
        switch (dyn->d_tag) {
        case DT_SYMTAB: symtab = p; break;
        case DT_STRTAB: strtab = p; break;
        case DT_HASH: hash = p; break;
        case DT_VERSYM: versym = p; break;
        case DT_VERDEF: verdef = p; break;
        }
    }
    return symtab && strtab && hash && versym && verdef;
}

/* The name of version index `ndx`. */
static const char *version_name(int ndx)
{
    const Elf32_Verdef *d = verdef;
    for (;;) {
        if (!(d->vd_flags & VER_FLG_BASE) && (d->vd_ndx & 0x7fff) == ndx) {
            const Elf32_Verdaux *a = (const Elf32_Verdaux *)((const char *)d + d->vd_aux);
            return strtab + a->vda_name;
        }
        if (!d->vd_next)
            return "";
        d = (const Elf32_Verdef *)((const char *)d + d->vd_next);
    }
}

/* The address of `name` at version `ver`, or 0. */
static void *lookup(const char *name, const char *ver)
{
    for (uint32_t i = 0; i < hash[1]; i++) {
        const Sym *s = &symtab[i];
        if (s->st_shndx == SHN_UNDEF || strcmp(strtab + s->st_name, name))
            continue;
        if (strcmp(version_name(versym[i] & 0x7fff), ver))
            continue;
        return (void *)(bias + s->st_value);
    }
    return 0;
}

static long long ns(const struct kts *t)
{
    return (long long)t->sec * 1000000000LL + t->nsec;
}

int main(void)
{
    unsigned long at = getauxval(AT_SYSINFO_EHDR);
    check(at != 0, "AT_SYSINFO_EHDR is given");
    if (!at)
        return finish();
    const char *image = (const char *)at;
    check(memcmp(image, ELFMAG, SELFMAG) == 0, "an ELF image there");
    check(((const Ehdr *)image)->e_type == ET_DYN, "a shared object");
    check(parse(image), "with DT_SYMTAB, DT_STRTAB, DT_HASH, DT_VERSYM, DT_VERDEF");

    int (*vgettime)(clockid_t, struct kts *) = lookup("__vdso_clock_gettime", "LINUX_2.6");
    int (*vgetres)(clockid_t, struct kts *) = lookup("__vdso_clock_getres", "LINUX_2.6");
    int (*vgettimeofday)(struct kts *, void *) = lookup("__vdso_gettimeofday", "LINUX_2.6");
    long (*vtime)(long *) = lookup("__vdso_time", "LINUX_2.6");
    check(vgettime != 0, "__vdso_clock_gettime@LINUX_2.6");
    check(vgetres != 0, "__vdso_clock_getres@LINUX_2.6");
    check(vgettimeofday != 0, "__vdso_gettimeofday@LINUX_2.6");
    check(vtime != 0, "__vdso_time@LINUX_2.6");
    check(lookup("__vdso_clock_gettime", "LINUX_2.5") == 0, "not at another version");
#if UINTPTR_MAX <= 0xffffffffu
    int (*vgettime64)(clockid_t, long long *) = lookup("__vdso_clock_gettime64", "LINUX_2.6");
    check(vgettime64 != 0, "__vdso_clock_gettime64@LINUX_2.6");
    check(lookup("__kernel_vsyscall", "LINUX_2.5") != 0, "__kernel_vsyscall@LINUX_2.5");
#endif
    if (!vgettime || !vgetres || !vgettimeofday || !vtime)
        return finish();

    /* MONOTONIC through the vDSO and the system call, interleaved: never back. */
    int back = 0, bad = 0;
    for (int i = 0; i < 2000; i++) {
        struct kts a, b, c;
        bad |= vgettime(CLOCK_MONOTONIC, &a);
        bad |= syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b);
        bad |= vgettime(CLOCK_MONOTONIC, &c);
        if (ns(&a) > ns(&b) || ns(&b) > ns(&c))
            back = 1;
    }
    check(!bad, "MONOTONIC: vDSO and system call succeed");
    check(!back, "MONOTONIC: vdso <= syscall <= vdso over 2000 rounds");
#if UINTPTR_MAX <= 0xffffffffu
    if (vgettime64) {
        back = 0;
        for (int i = 0; i < 200; i++) {
            long long a[2], c[2];
            struct kts b;
            vgettime64(CLOCK_MONOTONIC, a);
            syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b);
            vgettime64(CLOCK_MONOTONIC, c);
            if (a[0] * 1000000000LL + a[1] > ns(&b) || ns(&b) > c[0] * 1000000000LL + c[1])
                back = 1;
        }
        check(!back, "MONOTONIC: vdso64 <= syscall <= vdso64");
    }
#endif
    static const clockid_t clocks[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_TAI };
    static const char *names[] = { "REALTIME", "MONOTONIC", "MONOTONIC_RAW", "REALTIME_COARSE", "MONOTONIC_COARSE", "BOOTTIME", "TAI" };
    for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        struct kts t = { -1, -1 };
        int r = vgettime(clocks[i], &t);
        check(r == 0 && t.sec >= 0 && t.nsec >= 0 && t.nsec < 1000000000, "vDSO %s = 0, tv_nsec in range", names[i]);
        struct kts v, s;
        int rv = vgetres(clocks[i], &v), rs = syscall(SYS_clock_getres, clocks[i], &s);
        check(rv == 0 && rs == 0 && v.sec == s.sec && v.nsec == s.nsec, "vDSO clock_getres(%s) = the system call's", names[i]);
    }

    /* REALTIME, gettimeofday and time agree with the system's calls. */
    struct kts rt, tv;
    vgettime(CLOCK_REALTIME, &rt);
    long long t = syscall(SYS_clock_gettime, CLOCK_REALTIME, &tv) == 0 ? tv.sec : -1;
    check(rt.sec - t <= 1 && t - rt.sec <= 1, "REALTIME through the vDSO within a second of the system call");
    check(rt.sec - (long long)time(NULL) <= 1 && (long long)time(NULL) - rt.sec <= 1, "and of time()");
    long vt = 0;
    long vr = vtime(&vt);
    check(vr == vt && vt - rt.sec <= 1 && rt.sec - vt <= 1, "__vdso_time returns and stores the time");
    check(vtime(NULL) > 1600000000, "__vdso_time(NULL) after 2020");
    struct kts g;
    struct { int minuteswest, dsttime; } tz = { 99, 99 };
    int r = vgettimeofday(&g, &tz);
    check(r == 0 && g.nsec >= 0 && g.nsec < 1000000, "__vdso_gettimeofday = 0, tv_usec in range");
    check(g.sec - rt.sec <= 1 && rt.sec - g.sec <= 1, "gettimeofday within a second of REALTIME");
    check(vgettimeofday(NULL, NULL) == 0, "__vdso_gettimeofday(NULL, NULL) = 0");

    /* What the page cannot answer: the system call, from the vDSO. */
    struct kts cpu;
    check(vgettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0 && cpu.nsec >= 0 && cpu.nsec < 1000000000, "vDSO PROCESS_CPUTIME_ID = 0");
    check(vgettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0, "vDSO THREAD_CPUTIME_ID = 0");
    r = vgettime(9999, &cpu);
    check(r == -EINVAL, "vDSO clock_gettime(9999) = -EINVAL (%s)", errno_name(-r));
    r = vgettime(-1, &cpu);
    check(r == -EINVAL, "vDSO clock_gettime(-1) = -EINVAL (%s)", errno_name(-r));
    r = vgettime(CLOCK_PROCESS_CPUTIME_ID, bad_ptr_8);
    check(r == -EFAULT, "vDSO clock_gettime(PROCESS_CPUTIME_ID, bad pointer) = -EFAULT (%s)", errno_name(-r));
    r = vgetres(9999, &cpu);
    check(r == -EINVAL, "vDSO clock_getres(9999) = -EINVAL (%s)", errno_name(-r));
    check(vgetres(CLOCK_MONOTONIC, NULL) == 0, "vDSO clock_getres(MONOTONIC, NULL) = 0");

    /* And through libc, which uses the vDSO when it is there. */
    struct timespec ts;
    EXPECT_RET(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
    EXPECT_ERR(clock_gettime(9999, &ts), EINVAL);
    EXPECT_ERR(clock_getres(9999, &ts), EINVAL);
    return finish();
}
