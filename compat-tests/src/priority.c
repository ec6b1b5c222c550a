// priority.c - getpriority/setpriority (and nice through them): nice values
// per process, inherited by fork, PRIO_PROCESS/PGRP/USER, the raw call's
// 20 - nice, EINVAL/ESRCH, and without root EACCES for lowering the value
// and EPERM for another user's process. Expects to start at nice 0 when not
// run as root.
#include "compat.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static long raw_get(int which, int who)
{
    return syscall(SYS_getpriority, which, who);
}

int main(void)
{
    /* A group of its own, so PRIO_PGRP reaches no process of the runner. */
    check(setpgid(0, 0) == 0, "setpgid(0, 0)");
    /* The runner may itself run niced (nice -n 10 cargo xtask compat):
     * root starts from 0 again. */
    if (getuid() == 0)
        check(setpriority(PRIO_PROCESS, 0, 0) == 0, "start from nice 0");
    EXPECT_RET(raw_get(PRIO_PROCESS, 0), 20);
    EXPECT_RET(getpriority(PRIO_PROCESS, 0), 0);
    EXPECT_RET(raw_get(PRIO_PROCESS, getpid()), 20);
    EXPECT_RET(raw_get(PRIO_PGRP, 0), 20);
    EXPECT_ERR(raw_get(3, 0), EINVAL);
    EXPECT_ERR(raw_get(-1, 0), EINVAL);
    EXPECT_ERR(raw_get(PRIO_PROCESS, 999999), ESRCH);
    EXPECT_ERR(raw_get(PRIO_PGRP, 999999), ESRCH);
    EXPECT_ERR(setpriority(3, 0, 1), EINVAL);
    EXPECT_ERR(setpriority(PRIO_PROCESS, 999999, 1), ESRCH);
    EXPECT_RET(setpriority(PRIO_PROCESS, 0, 5), 0);
    EXPECT_RET(raw_get(PRIO_PROCESS, 0), 15);
    EXPECT_RET(getpriority(PRIO_PROCESS, 0), 5);
    /* Values are clamped to -20..19. */
    EXPECT_RET(setpriority(PRIO_PROCESS, 0, 100), 0);
    EXPECT_RET(getpriority(PRIO_PROCESS, 0), 19);
    errno = 0;
    EXPECT_RET(nice(-4), 15);
    EXPECT_RET(getpriority(PRIO_PROCESS, 0), 15);
#ifdef SYS_nice
    EXPECT_RET(syscall(SYS_nice, -5), 0);
    EXPECT_RET(getpriority(PRIO_PROCESS, 0), 10);
    EXPECT_RET(syscall(SYS_nice, 100), 0);
    EXPECT_RET(getpriority(PRIO_PROCESS, 0), 19);
#else
    EXPECT_RET(setpriority(PRIO_PROCESS, 0, 19), 0);
#endif
    int root = getuid() == 0;
    if (root) {
        EXPECT_RET(setpriority(PRIO_PROCESS, 0, -7), 0);
        EXPECT_RET(getpriority(PRIO_PROCESS, 0), -7);
        EXPECT_RET(raw_get(PRIO_PROCESS, 0), 27);
        EXPECT_RET(setpriority(PRIO_PROCESS, 0, -100), 0);
        EXPECT_RET(getpriority(PRIO_PROCESS, 0), -20);
        EXPECT_RET(setpriority(PRIO_PROCESS, 0, 0), 0);
    }
    /* A child inherits the value; the group and user forms see both. */
    EXPECT_RET(setpriority(PRIO_PROCESS, 0, 3), 0);
    int go[2], done[2];
    check(pipe(go) == 0 && pipe(done) == 0, "pipes");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(go[1]);
        close(done[0]);
        check(getpriority(PRIO_PROCESS, 0) == 3, "child inherited nice 3");
        check(setpriority(PRIO_PROCESS, 0, 8) == 0, "child sets nice 8");
        if (write(done[1], "x", 1) != 1)
            _exit(3);
        if (read(go[0], &b, 1) < 0)
            _exit(3);
        fflush(stdout);
        _exit(finish());
    }
    close(go[0]);
    close(done[1]);
    char b;
    check(read(done[0], &b, 1) == 1, "child ready");
    EXPECT_RET(getpriority(PRIO_PROCESS, c), 8);
    EXPECT_RET(raw_get(PRIO_PGRP, 0), 17);   /* the best of 3 and 8 */
    EXPECT_RET(setpriority(PRIO_PGRP, 0, 6), 0);
    EXPECT_RET(getpriority(PRIO_PROCESS, c), 6);
    EXPECT_RET(getpriority(PRIO_PROCESS, 0), 6);
    EXPECT_RET(setpriority(PRIO_PROCESS, c, 9), 0);
    EXPECT_RET(raw_get(PRIO_PGRP, 0), 14);
    check(write(go[1], "x", 1) == 1, "release child");
    int st = 0;
    check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child passed");
    EXPECT_ERR(raw_get(PRIO_PROCESS, c), ESRCH);

    if (root) {
        /* Without root: raising is fine, lowering past RLIMIT_NICE is not,
         * and another user's process is out of reach. */
        EXPECT_RET(setpriority(PRIO_PROCESS, 0, 0), 0);
        fflush(stdout);
        c = fork();
        if (c == 0) {
            struct rlimit rl = { 0, 0 };
            check(setrlimit(RLIMIT_NICE, &rl) == 0, "RLIMIT_NICE 0");
            check(setuid(65534) == 0, "setuid(65534)");
            EXPECT_RET(setpriority(PRIO_PROCESS, 0, 5), 0);
            EXPECT_RET(setpriority(PRIO_PROCESS, 0, 7), 0);
            EXPECT_ERR(setpriority(PRIO_PROCESS, 0, 6), EACCES);
            EXPECT_RET(setpriority(PRIO_PROCESS, 0, 7), 0);
            EXPECT_ERR(nice(-1), EPERM);
#ifdef SYS_nice
            EXPECT_ERR(syscall(SYS_nice, -1), EPERM);
            EXPECT_RET(syscall(SYS_nice, 1), 0);
#endif
            EXPECT_ERR(setpriority(PRIO_PROCESS, getppid(), 10), EPERM);
            check(raw_get(PRIO_PROCESS, getppid()) == 20, "the parent's value can be read");
            fflush(stdout);
            _exit(finish());
        }
        st = 0;
        check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "unprivileged child passed");
        /* PRIO_USER, with a uid no other process has. */
        c = fork();
        if (c == 0) {
            check(setuid(54321) == 0, "setuid(54321)");
            int d[2];
            check(pipe(d) == 0, "pipe");
            EXPECT_RET(setpriority(PRIO_PROCESS, 0, 4), 0);
            fflush(stdout);
            pid_t g = fork();
            if (g == 0) {
                char x;
                close(d[1]);
                if (read(d[0], &x, 1) < 0)
                    _exit(3);
                _exit(getpriority(PRIO_PROCESS, 0) == 12 ? 0 : 4);
            }
            close(d[0]);
            EXPECT_RET(raw_get(PRIO_USER, 0), 16);
            EXPECT_RET(raw_get(PRIO_USER, 54321), 16);
            EXPECT_RET(setpriority(PRIO_USER, 0, 12), 0);
            EXPECT_RET(raw_get(PRIO_USER, 54321), 8);
            EXPECT_ERR(setpriority(PRIO_USER, 0, 2), EACCES);
            check(write(d[1], "x", 1) == 1, "release grandchild");
            int gs = 0;
            check(waitpid(g, &gs, 0) == g && WIFEXITED(gs) && WEXITSTATUS(gs) == 0, "grandchild saw nice 12");
            fflush(stdout);
            _exit(finish());
        }
        st = 0;
        check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "PRIO_USER child passed");
    }
    return finish();
}
