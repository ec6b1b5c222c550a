// sigchld_blocked.c - a blocked SIGCHLD stays pending although its default
// action is to ignore it: sigtimedwait and a signalfd take it (a common way
// to wait for children with a timeout); an explicitly ignored one is never
// sent, and the child is reaped by itself.
#include "compat.h"
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

int main(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    check(sigprocmask(SIG_BLOCK, &set, NULL) == 0, "block SIGCHLD");

    pid_t child = fork();
    if (child == 0)
        _exit(3);
    struct timespec ts = {5, 0};
    siginfo_t si;
    int sig = sigtimedwait(&set, &si, &ts);
    printf("sigtimedwait: %s, code %s, status %d, from the child: %s\n", sig == SIGCHLD ? "SIGCHLD" : "other", si.si_code == CLD_EXITED ? "CLD_EXITED" : "other",
           si.si_status, si.si_pid == child ? "yes" : "no");
    check(sig == SIGCHLD, "SIGCHLD taken by sigtimedwait");
    int st = 0;
    check(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 3, "then reaped with status 3");

    // The same through a signalfd.
    int fd = signalfd(-1, &set, SFD_CLOEXEC);
    check(fd >= 0, "signalfd");
    child = fork();
    if (child == 0)
        _exit(4);
    struct signalfd_siginfo ssi;
    check(read(fd, &ssi, sizeof ssi) == sizeof ssi, "a record from the signalfd");
    printf("signalfd: %s, status %d\n", ssi.ssi_signo == SIGCHLD ? "SIGCHLD" : "other", ssi.ssi_status);
    check(waitpid(child, &st, 0) == child && WEXITSTATUS(st) == 4, "reaped with status 4");
    close(fd);

    // Pending, seen by sigpending, until taken.
    child = fork();
    if (child == 0)
        _exit(0);
    check(waitpid(child, &st, 0) == child, "reaped");
    sigset_t pend;
    sigpending(&pend);
    printf("pending after a child ended: %d\n", sigismember(&pend, SIGCHLD));
    check(sigismember(&pend, SIGCHLD) == 1, "SIGCHLD pending");
    ts.tv_sec = 0;
    check(sigtimedwait(&set, &si, &ts) == SIGCHLD, "taken");

    // Explicitly ignored: none is sent, even while blocked, and the child reaps itself.
    signal(SIGCHLD, SIG_IGN);
    child = fork();
    if (child == 0)
        _exit(0);
    errno = 0;
    int r = waitpid(child, &st, 0);
    printf("waitpid with SIGCHLD ignored: %d %s\n", r, errno_name(errno));
    sigpending(&pend);
    printf("pending with SIGCHLD ignored: %d\n", sigismember(&pend, SIGCHLD));
    check(sigismember(&pend, SIGCHLD) == 0, "nothing pending");
    return finish();
}
