// proc_zombie_mem.c - /proc/PID of a zombie (state Z until it is reaped,
// then gone); /proc/PID/stat of a process whose leader waits shows S;
// VmLck counts mlock and MAP_LOCKED; /proc/self/pagemap's present bit;
// MADV_WIPEONFORK (the child sees zeros), MADV_KEEPONFORK, MADV_DONTFORK,
// and their refusals (EINVAL on shared or file mappings); MAP_SHARED of
// /dev/zero is shared with a child; a read-only descriptor's shared
// mapping refuses PROT_WRITE (EACCES); brk grows after mprotect split
// the heap; threads-max and RLIMIT_NPROC are numbers.
#include "compat.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static char state_of(int pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return '-';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : '?';
}

static long vmlck(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char *p = strstr(buf, "VmLck:");
    return p ? strtol(p + 6, NULL, 10) : -1;
}

int main(void)
{
    // A zombie: Z until reaped, then its directory goes.
    fflush(stdout);
    int c = fork();
    if (c == 0)
        _exit(3);
    char st = '?';
    for (int i = 0; i < 2000 && (st = state_of(c)) != 'Z'; i++)
        usleep(1000);
    printf("a zombie's state: %c\n", st);
    int status;
    EXPECT_RET(waitpid(c, &status, 0) == c, 1);
    printf("after the wait: /proc/PID exists %d\n", state_of(c) != '-');

    // A child whose only thread waits in a call sleeps (S).
    int p[2];
    pipe(p);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        char b;
        read(p[0], &b, 1);
        _exit(0);
    }
    for (int i = 0; i < 2000 && (st = state_of(c)) != 'S'; i++)
        usleep(1000);
    printf("a child blocked in read: %c\n", st);
    write(p[1], "x", 1);
    waitpid(c, &status, 0);

    // VmLck.
    long before = vmlck();
    char *l = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
    printf("MAP_LOCKED adds to VmLck: %ld kB\n", vmlck() - before);
    EXPECT_RET(munlock(l, 1 << 19), 0);
    printf("after munlock of half: %ld kB\n", vmlck() - before);
    EXPECT_RET(mlock(l, 8192), 0);
    printf("after mlock of two pages: %ld kB\n", vmlck() - before);
    munmap(l, 1 << 20);
    printf("after munmap: %ld kB\n", vmlck() - before);

    // pagemap: bit 63 for present pages (a page far from the touched one:
    // SiON maps anonymous memory 16 pages at a time).
    char *big = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    big[0] = 1;
    int pm = open("/proc/self/pagemap", O_RDONLY);
    uint64_t e[2] = { 0, 0 };
    EXPECT_RET(pread(pm, &e[0], 8, (uintptr_t)big / 4096 * 8), 8);
    EXPECT_RET(pread(pm, &e[1], 8, ((uintptr_t)big / 4096 + 63) * 8), 8);
    printf("pagemap: touched page present %d, untouched %d\n", (int)(e[0] >> 63), (int)(e[1] >> 63));
    close(pm);
    munmap(big, 64 * 4096);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    // Fork advice.
    m[4096] = 7;
    m[0] = 5;
    EXPECT_RET(madvise(m, 4096, MADV_WIPEONFORK), 0);
    fflush(stdout);
    c = fork();
    if (c == 0)
        _exit(m[0] * 16 + m[4096]);
    waitpid(c, &status, 0);
    printf("child sees the wiped page as %d, the other as %d; the parent keeps %d\n", WEXITSTATUS(status) / 16, WEXITSTATUS(status) % 16, m[0]);
    EXPECT_RET(madvise(m, 4096, MADV_KEEPONFORK), 0);
    fflush(stdout);
    c = fork();
    if (c == 0)
        _exit(m[0]);
    waitpid(c, &status, 0);
    printf("after MADV_KEEPONFORK the child sees %d\n", WEXITSTATUS(status));
    EXPECT_RET(madvise(m + 4096, 4096, MADV_DONTFORK), 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        volatile char *q = m + 4096;
        _exit(*q);
    }
    waitpid(c, &status, 0);
    printf("MADV_DONTFORK: the child's access is signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    char *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    EXPECT_ERR(madvise(sh, 4096, MADV_WIPEONFORK), EINVAL);
    EXPECT_ERR(madvise(m + 1, 4096, MADV_NORMAL), EINVAL);
    EXPECT_ERR(madvise(m, 4096, 1212), EINVAL);
    EXPECT_RET(madvise(m, 4096, MADV_DONTDUMP), 0);
    EXPECT_RET(madvise(m, 4096, MADV_DODUMP), 0);
    munmap(m + 4096, 4096);
    EXPECT_ERR(madvise(m, 8192, MADV_NORMAL), ENOMEM);

    // /dev/zero shared, and a read-only descriptor's shared mapping.
    int z = open("/dev/zero", O_RDWR);
    int *zs = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, z, 0);
    check(zs != MAP_FAILED, "MAP_SHARED of /dev/zero");
    fflush(stdout);
    c = fork();
    if (c == 0) {
        zs[1] = 42;
        _exit(0);
    }
    waitpid(c, &status, 0);
    printf("/dev/zero shared: the parent sees the child's %d\n", zs[1]);
    close(z);
    z = open("/dev/zero", O_RDONLY);
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, z, 0);
    check(ro != MAP_FAILED, "read-only MAP_SHARED of /dev/zero");
    EXPECT_ERR(mprotect(ro, 4096, PROT_READ | PROT_WRITE), EACCES);
    EXPECT_RET(mprotect(ro, 4096, PROT_NONE), 0);
    close(z);

    // brk after an mprotect of the heap.
    char *b0 = (char *)syscall(SYS_brk, 0);
    char *b = (char *)syscall(SYS_brk, b0 + 8192);
    check(b == b0 + 8192, "brk grows by two pages");
    EXPECT_RET(mprotect(b0 + 4096, 4096, PROT_READ), 0);
    b = (char *)syscall(SYS_brk, b0 + 12288);
    printf("brk grows after the mprotect: %d\n", b == b0 + 12288);
    b = (char *)syscall(SYS_brk, b0);
    printf("brk back to its start: %d\n", b == b0);

    // threads-max and RLIMIT_NPROC.
    char t[64] = { 0 };
    int tf = open("/proc/sys/kernel/threads-max", O_RDONLY);
    read(tf, t, sizeof t - 1);
    close(tf);
    struct rlimit r;
    getrlimit(RLIMIT_NPROC, &r);
    printf("threads-max at least 20: %d, RLIMIT_NPROC positive %d\n", atol(t) >= 20, r.rlim_cur > 0);
    return finish();
}
