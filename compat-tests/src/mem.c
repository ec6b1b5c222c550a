// mem.c - brk grows and shrinks, anonymous mmap/munmap/mprotect, big regions
// read back what was written, bad arguments fail with Linux's errno.
#include "compat.h"
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define PAGE 4096UL

static int fill_and_verify(unsigned char *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i += 64)
        p[i] = (unsigned char)(i / 64 * 131 + seed);
    for (size_t i = 0; i < len; i += 64)
        if (p[i] != (unsigned char)(i / 64 * 131 + seed))
            return 0;
    return 1;
}

static int all_zero(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i += 512)
        if (p[i])
            return 0;
    return 1;
}

int main(void)
{
    /* Settle stdio's buffers first so that no malloc moves the break below. */
    printf("mem test\n");
    fflush(stdout);

    /* brk: raw system call (libc's brk/sbrk differ between musl and glibc). */
    uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
    int brk_ok = cur != 0;
    uintptr_t grown = (uintptr_t)syscall(SYS_brk, cur + 256 * 1024);
    brk_ok = brk_ok && grown == cur + 256 * 1024;
    int rw_ok = 0;
    if (brk_ok) {
        /* Only the whole pages past the old break are guaranteed fresh. */
        uintptr_t first = (cur + PAGE - 1) & ~(PAGE - 1);
        rw_ok = all_zero((unsigned char *)first, cur + 256 * 1024 - first) &&
                fill_and_verify((unsigned char *)cur, 256 * 1024, 7);
    }
    uintptr_t same = (uintptr_t)syscall(SYS_brk, 1);   /* below start: unchanged */
    uintptr_t shrunk = (uintptr_t)syscall(SYS_brk, cur);
    uintptr_t again = (uintptr_t)syscall(SYS_brk, 0);
#if UINTPTR_MAX > 0xffffffffUL
    uintptr_t huge = (uintptr_t)syscall(SYS_brk, cur + (1UL << 46));
#else
    uintptr_t huge = (uintptr_t)syscall(SYS_brk, 0xfff00000UL);
#endif
    uintptr_t after_huge = (uintptr_t)syscall(SYS_brk, 0);
    check(cur != 0, "brk(0) returns the current break");
    check(brk_ok, "brk(cur + 256 KiB) grows the break");
    check(rw_ok, "the grown heap is zero-filled and holds what was written");
    check(same == cur + 256 * 1024, "brk(1) leaves the break unchanged");
    check(shrunk == cur, "brk(cur) shrinks back");
    check(again == cur, "brk(0) after shrinking returns the old break");
    check(huge == cur, "an impossible brk returns the unchanged break");
    check(after_huge == cur, "the break is still unchanged");

    /* Anonymous mmap, big enough to span many page tables. */
    size_t big = 16UL << 20;
    unsigned char *p = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(p != MAP_FAILED, "mmap 16 MiB anonymous");
    if (p != MAP_FAILED) {
        check(((uintptr_t)p & (PAGE - 1)) == 0, "mmap result is page-aligned");
        check(all_zero(p, big), "fresh anonymous memory reads zero");
        check(fill_and_verify(p, big, 3), "16 MiB written and read back");
        EXPECT_RET(munmap(p + PAGE, PAGE), 0);               /* punch a hole */
        check(fill_and_verify(p, PAGE, 5), "page before the hole still usable");
        check(fill_and_verify(p + 2 * PAGE, big - 2 * PAGE, 9), "pages after the hole still usable");
        EXPECT_RET(munmap(p, big), 0);
        EXPECT_RET(munmap(p, big), 0);  /* unmapping nothing is not an error */
    }

    /* mprotect on a two-page mapping. */
    unsigned char *q = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(q != MAP_FAILED, "mmap 2 pages");
    if (q != MAP_FAILED) {
        q[0] = 1;
        q[PAGE] = 2;
        EXPECT_RET(mprotect(q + PAGE, PAGE, PROT_READ), 0);
        check(q[PAGE] == 2, "read-only page still reads its value");
        q[0] = 3;
        check(q[0] == 3, "the other page is still writable");
        EXPECT_RET(mprotect(q + PAGE, PAGE, PROT_READ | PROT_WRITE), 0);
        q[PAGE] = 4;
        check(q[PAGE] == 4, "page writable again after mprotect(RW)");
        /* Raw: musl's mprotect() rounds the address down itself. */
        EXPECT_ERR(syscall(SYS_mprotect, q + 1, PAGE, PROT_READ), EINVAL);
        EXPECT_RET(munmap(q, 2 * PAGE), 0);
        EXPECT_ERR(mprotect(q, PAGE, PROT_READ), ENOMEM);  /* no longer mapped */
    }

    /* Bad arguments. */
    void *m;
    errno = 0;
    m = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check_errno(m == MAP_FAILED ? -1 : 0, errno, EINVAL, "mmap(len 0)");
    errno = 0;
    m = mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0);
    check_errno(m == MAP_FAILED ? -1 : 0, errno, EINVAL, "mmap(neither PRIVATE nor SHARED)");
    errno = 0;
    m = mmap((void *)(PAGE + 1), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check_errno(m == MAP_FAILED ? -1 : 0, errno, EINVAL, "mmap(MAP_FIXED, unaligned)");
    errno = 0;
    m = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 99, 0);
    check_errno(m == MAP_FAILED ? -1 : 0, errno, EBADF, "mmap(file, bad fd)");
    EXPECT_ERR(munmap((void *)(PAGE + 1), PAGE), EINVAL);
    EXPECT_ERR(munmap((void *)PAGE, 0), EINVAL);
    return finish();
}
