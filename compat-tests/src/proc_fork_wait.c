// proc_fork_wait.c - fork, exit statuses through wait4/waitpid/waitid, WNOHANG,
// ECHILD, getppid in the child, kill of a child, process groups, orphans.
#include "compat.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static pid_t child_exiting(int code)
{
    pid_t p = fork();
    if (p == 0)
        _exit(code);
    return p;
}

int main(void)
{
    pid_t me = getpid();

    /* A child sees its parent; its exit code comes back. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        printf("child: getppid is the parent: %s\n", getppid() == me ? "yes" : "no");
        printf("child: getpid differs: %s\n", getpid() != me ? "yes" : "no");
        fflush(stdout);
        _exit(getppid() == me ? 7 : 1);
    }
    /* Nothing printed before the wait: the child's lines and ours would race. */
    int st = 0;
    pid_t w = waitpid(c, &st, 0);
    check(c > 0, "fork returned a pid");
    check(w == c, "waitpid returned the child");
    printf("exited: %d, code %d\n", WIFEXITED(st), WEXITSTATUS(st));
    check(WIFEXITED(st) && WEXITSTATUS(st) == 7, "child exit code 7");

    /* Nothing left to wait for. */
    EXPECT_ERR(waitpid(-1, &st, 0), ECHILD);
    EXPECT_ERR(waitpid(-1, &st, WNOHANG), ECHILD);
    EXPECT_ERR(waitpid(-1, &st, 0x4000), EINVAL);

    /* WNOHANG while the child runs; then the child is killed. */
    int gate[2];
    check(pipe(gate) == 0, "pipe");
    c = fork();
    if (c == 0) {
        char b;
        close(gate[1]);
        read(gate[0], &b, 1); /* waits until killed */
        _exit(0);
    }
    close(gate[0]);
    EXPECT_RET(waitpid(c, &st, WNOHANG), 0);
    EXPECT_RET(kill(c, 0), 0);
    EXPECT_RET(kill(c, SIGTERM), 0);
    w = waitpid(c, &st, 0);
    check(w == c, "waited for the killed child");
    printf("signaled: %d, signal %d\n", WIFSIGNALED(st), WTERMSIG(st));
    check(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "killed by SIGTERM");
    EXPECT_ERR(kill(c, 0), ESRCH);
    close(gate[1]);

    /* Several children, reaped in any order with wait4(-1) and rusage. */
    int sum = 0;
    for (int i = 1; i <= 3; i++)
        child_exiting(10 * i);
    for (int i = 0; i < 3; i++) {
        struct rusage ru;
        pid_t r = wait4(-1, &st, 0, &ru);
        check(r > 0 && WIFEXITED(st), "wait4 reaped a child");
        sum += WEXITSTATUS(st);
    }
    printf("sum of exit codes: %d\n", sum);
    check(sum == 60, "codes 10+20+30");

    /* waitid with WNOWAIT leaves the zombie; the second waitid reaps it. */
    c = child_exiting(5);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    EXPECT_RET(waitid(P_PID, c, &si, WEXITED | WNOWAIT), 0);
    printf("waitid: signo %s, code %s, status %d, pid matches %d\n", si.si_signo == SIGCHLD ? "SIGCHLD" : "?",
           si.si_code == CLD_EXITED ? "CLD_EXITED" : "?", si.si_status, si.si_pid == c);
    memset(&si, 0, sizeof si);
    EXPECT_RET(waitid(P_ALL, 0, &si, WEXITED), 0);
    check(si.si_pid == c && si.si_status == 5, "second waitid reaps the same child");
    EXPECT_ERR(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), ECHILD);
    EXPECT_ERR(waitid(P_ALL, 0, &si, 0), EINVAL);

    /* A wild status pointer: EFAULT, and (as Linux) the child is reaped anyway. */
    c = child_exiting(9);
    EXPECT_ERR(waitpid(c, bad_ptr_8, 0), EFAULT);
    EXPECT_ERR(waitpid(c, &st, 0), ECHILD);

    /* Process groups: a child makes its own; the parent waits by group. */
    c = fork();
    if (c == 0) {
        int r = setpgid(0, 0);
        _exit(r == 0 && getpgrp() == getpid() ? 0 : 1);
    }
    check(waitpid(c, &st, 0) == c, "waitpid(c) returned c");
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child led its own group");
    EXPECT_ERR(setpgid(-1, 0), EINVAL);
    EXPECT_ERR(getpgid(999999), ESRCH);
    EXPECT_ERR(kill(999999, 0), ESRCH);
    EXPECT_ERR(kill(me, 65), EINVAL);

    /* setsid in a child (not a group leader) makes a new session. */
    c = fork();
    if (c == 0)
        _exit(setsid() == getpid() && getsid(0) == getpid() ? 0 : 1);
    check(waitpid(c, &st, 0) == c, "waitpid(c) returned c");
    check(WEXITSTATUS(st) == 0, "setsid in the child");

    /* A grandchild orphaned by its parent is still waited for by someone:
       the parent here only sees its own child. */
    c = fork();
    if (c == 0) {
        if (fork() == 0) {
            usleep(20000);
            _exit(0);
        }
        _exit(3);
    }
    check(waitpid(c, &st, 0) == c, "waitpid(c) returned c");
    check(WEXITSTATUS(st) == 3, "middle child exit 3");
    return finish();
}
