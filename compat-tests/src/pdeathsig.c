// pdeathsig.c - prctl(PR_SET_PDEATHSIG / PR_GET_PDEATHSIG): kept per
// process, cleared in a fork's child and by a change of uid, kept across
// execve, and sent to the child when its parent process ends.
// args: main
#include "compat.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static volatile sig_atomic_t got;
static volatile sig_atomic_t from_pid;

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    got = sig;
    from_pid = si->si_pid;
}

int main(int argc, char **argv)
{
    int v = -1;
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        check(prctl(PR_GET_PDEATHSIG, &v) == 0 && v == SIGUSR2, "after execve PR_GET_PDEATHSIG = SIGUSR2 (%d)", v);
        fflush(stdout);
        return finish();
    }
    EXPECT_RET(prctl(PR_GET_PDEATHSIG, &v), 0);
    check(v == 0, "PR_GET_PDEATHSIG = 0 at start");
    EXPECT_ERR(prctl(PR_SET_PDEATHSIG, 65), EINVAL);
    EXPECT_ERR(prctl(PR_SET_PDEATHSIG, -1), EINVAL);
    EXPECT_ERR(prctl(PR_GET_PDEATHSIG, bad_ptr_8), EFAULT);
    EXPECT_RET(prctl(PR_SET_PDEATHSIG, SIGUSR1), 0);
    EXPECT_RET(prctl(PR_GET_PDEATHSIG, &v), 0);
    check(v == SIGUSR1, "PR_GET_PDEATHSIG = SIGUSR1");
    EXPECT_RET(prctl(PR_SET_PDEATHSIG, 64), 0);
    EXPECT_RET(prctl(PR_SET_PDEATHSIG, 0), 0);

    /* A fork's child starts without one. */
    EXPECT_RET(prctl(PR_SET_PDEATHSIG, SIGUSR1), 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        v = -1;
        prctl(PR_GET_PDEATHSIG, &v);
        _exit(v == 0 ? 0 : 1);
    }
    int st = 0;
    check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork's child has no parent-death signal");
    EXPECT_RET(prctl(PR_SET_PDEATHSIG, 0), 0);

    /* Kept across execve. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        prctl(PR_SET_PDEATHSIG, SIGUSR2);
        execl("/proc/self/exe", argv[0], "exec", (char *)0);
        _exit(99);
    }
    st = 0;
    check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec'd child passed");

    /* A change of uid clears it (root only: others cannot change it). */
    if (getuid() == 0) {
        fflush(stdout);
        c = fork();
        if (c == 0) {
            prctl(PR_SET_PDEATHSIG, SIGUSR1);
            if (setuid(0) != 0)
                _exit(2);
            v = -1;
            prctl(PR_GET_PDEATHSIG, &v);
            if (v != SIGUSR1)
                _exit(3);
            if (setuid(65534) != 0)
                _exit(4);
            v = -1;
            prctl(PR_GET_PDEATHSIG, &v);
            _exit(v == 0 ? 0 : 5);
        }
        st = 0;
        check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "setuid to another uid clears it (status %d)", WEXITSTATUS(st));
    }

    /* The signal itself: a middle process forks a grandchild that asks for
     * SIGUSR1 when the middle one ends; the grandchild reports through a pipe. */
    int rep[2];
    check(pipe(rep) == 0, "pipe");
    fflush(stdout);
    pid_t mid = fork();
    if (mid == 0) {
        int ready[2];
        if (pipe(ready) != 0)
            _exit(10);
        pid_t me = getpid();
        pid_t g = fork();
        if (g == 0) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_sigaction = on_usr1;
            sa.sa_flags = SA_SIGINFO;
            sigaction(SIGUSR1, &sa, NULL);
            prctl(PR_SET_PDEATHSIG, SIGUSR1);
            close(ready[0]);
            if (write(ready[1], "r", 1) != 1)
                _exit(11);
            for (int i = 0; i < 2000 && !got; i++)
                usleep(5000);
            char msg[64];
            int n = snprintf(msg, sizeof msg, "%d %d %d\n", got, from_pid == me, getppid() != me);
            if (write(rep[1], msg, n) != n)
                _exit(12);
            _exit(0);
        }
        char b;
        close(ready[1]);
        if (read(ready[0], &b, 1) != 1)
            _exit(13);
        _exit(0);
    }
    close(rep[1]);
    st = 0;
    check(waitpid(mid, &st, 0) == mid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "middle process ended");
    char buf[64] = { 0 };
    ssize_t n = read(rep[0], buf, sizeof buf - 1);
    check(n > 0, "grandchild reported");
    int sig = 0, same = 0, moved = 0;
    sscanf(buf, "%d %d %d", &sig, &same, &moved);
    check(sig == SIGUSR1, "grandchild got SIGUSR1 when its parent ended (%d)", sig);
    check(same == 1, "si_pid is the parent that ended");
    check(moved == 1, "grandchild was reparented");
    return finish();
}
