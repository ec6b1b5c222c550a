// mlock.c - mlock, munlock, mlock2, mlockall, munlockall: ranges checked as
// Linux checks them (ENOMEM for unmapped pages, EINVAL for bad flags and
// wrapping ranges), RLIMIT_MEMLOCK for a process without CAP_IPC_LOCK.
#include "compat.h"
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef SYS_mlock2
#define SYS_mlock2 (sizeof(long) == 8 ? 325 : 376)
#endif

static long page;

static void ranges(void)
{
    char *p = mmap(NULL, 5 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(p != MAP_FAILED, "mmap 5 pages");
    EXPECT_RET(munmap(p + 4 * page, page), 0);
    EXPECT_RET(syscall(SYS_mlock, p, 4 * page), 0);
    EXPECT_RET(syscall(SYS_munlock, p, 4 * page), 0);
    /* Unaligned start and length: rounded to pages. */
    EXPECT_RET(syscall(SYS_mlock, p + 10, page), 0);
    EXPECT_RET(syscall(SYS_munlock, p + 10, page), 0);
    EXPECT_RET(syscall(SYS_mlock, p, 0), 0);
    EXPECT_RET(syscall(SYS_munlock, p, 0), 0);
    /* A hole in the middle, and a range running off the end. */
    EXPECT_RET(munmap(p + page, page), 0);
    EXPECT_ERR(syscall(SYS_mlock, p, 4 * page), ENOMEM);
    EXPECT_ERR(syscall(SYS_munlock, p, 4 * page), ENOMEM);
    EXPECT_RET(syscall(SYS_mlock, p + 2 * page, 2 * page), 0);
    EXPECT_ERR(syscall(SYS_mlock, p + 3 * page, 2 * page), ENOMEM);
    EXPECT_ERR(syscall(SYS_mlock, p + page, page), ENOMEM);
    /* PROT_NONE pages cannot be brought in (MLOCK_ONFAULT does not try). */
    EXPECT_RET(mprotect(p + 2 * page, page, PROT_NONE), 0);
    EXPECT_ERR(syscall(SYS_mlock, p + 2 * page, 2 * page), ENOMEM);
    EXPECT_RET(syscall(SYS_mlock2, p + 2 * page, 2 * page, 1), 0);
    EXPECT_RET(syscall(SYS_munlock, p + 2 * page, 2 * page), 0);
    EXPECT_RET(mprotect(p + 2 * page, page, PROT_READ), 0);
    EXPECT_RET(syscall(SYS_mlock, p + 2 * page, 2 * page), 0);
    /* A range that wraps around the address space (the 64-bit kernel
     * sees an i386 one end past the 32-bit space instead). */
    EXPECT_ERR(syscall(SYS_mlock, p + 2 * page, -(unsigned long)(2 * page)), sizeof(long) == 8 ? EINVAL : ENOMEM);
    /* mlock2 flags. */
    EXPECT_RET(syscall(SYS_mlock2, p, page, 0), 0);
    EXPECT_RET(syscall(SYS_mlock2, p, page, 1), 0); /* MLOCK_ONFAULT */
    EXPECT_ERR(syscall(SYS_mlock2, p, page, 2), EINVAL);
    EXPECT_ERR(syscall(SYS_mlock2, p + page, page, 0), ENOMEM);
    /* The locked memory still works. */
    p[0] = 'x';
    check(p[0] == 'x', "locked page written and read");
    EXPECT_RET(munmap(p, 4 * page), 0);
    /* mlockall flags. */
    EXPECT_ERR(syscall(SYS_mlockall, 0), EINVAL);
    EXPECT_ERR(syscall(SYS_mlockall, 8), EINVAL);
    EXPECT_ERR(syscall(SYS_mlockall, 4), EINVAL); /* MCL_ONFAULT alone */
    EXPECT_RET(syscall(SYS_munlockall), 0);
}

int main(void)
{
    page = sysconf(_SC_PAGESIZE);
    ranges();
    if (getuid() == 0) {
        EXPECT_RET(mlockall(MCL_CURRENT | MCL_FUTURE), 0);
        char *q = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        check(q != MAP_FAILED, "mmap after mlockall(MCL_FUTURE)");
        q[page] = 1;
        EXPECT_RET(munlockall(), 0);
        EXPECT_RET(mlockall(MCL_CURRENT | MCL_ONFAULT), 0);
        EXPECT_RET(munlockall(), 0);
        /* Without CAP_IPC_LOCK, RLIMIT_MEMLOCK counts. */
        fflush(stdout);
        pid_t c = fork();
        if (c == 0) {
            struct rlimit rl = { 16 * page, 16 * page };
            check(setrlimit(RLIMIT_MEMLOCK, &rl) == 0, "setrlimit(RLIMIT_MEMLOCK, 16 pages)");
            check(setuid(65534) == 0, "setuid(65534)");
            char *r = mmap(NULL, 32 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            check(r != MAP_FAILED, "mmap 32 pages");
            EXPECT_RET(syscall(SYS_mlock, r, 4 * page), 0);
            EXPECT_ERR(syscall(SYS_mlock, r, 32 * page), ENOMEM);
            EXPECT_RET(syscall(SYS_munlock, r, 32 * page), 0);
            EXPECT_ERR(syscall(SYS_mlockall, MCL_CURRENT), ENOMEM);
            EXPECT_RET(syscall(SYS_mlockall, MCL_FUTURE), 0);
            EXPECT_RET(syscall(SYS_munlockall), 0);
            rl.rlim_cur = rl.rlim_max = 0;
            check(setrlimit(RLIMIT_MEMLOCK, &rl) == 0, "setrlimit(RLIMIT_MEMLOCK, 0)");
            EXPECT_ERR(syscall(SYS_mlock, r, page), EPERM);
            EXPECT_ERR(syscall(SYS_mlockall, MCL_FUTURE), EPERM);
            EXPECT_RET(syscall(SYS_munlock, r, page), 0);
            EXPECT_RET(syscall(SYS_munlockall), 0);
            fflush(stdout);
            _exit(finish());
        }
        int st = 0;
        check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "unprivileged child passed");
    }
    return finish();
}
