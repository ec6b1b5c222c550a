// signalfd.c - reading blocked signals: signalfd with SIGUSR1 (ssi_signo,
// ssi_code SI_TKILL/SI_USER/SI_QUEUE, ssi_pid/ssi_uid, ssi_int), poll
// readiness, EAGAIN when empty, merging of standard signals and queueing of
// real-time ones, changing the mask, EINVAL cases, a blocking read in a child
// signalled by its parent; and sigtimedwait/sigwaitinfo/sigwait taking a
// pending signal or timing out with EAGAIN.
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

static int readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, 0) == 1 && p.revents == POLLIN;
}

/* Read one record; check its signal and code, and that it came from us. */
static void take(int fd, int sig, int code, const char *what)
{
    struct signalfd_siginfo si;
    memset(&si, 0, sizeof si);
    ssize_t n = read(fd, &si, sizeof si);
    check(n == sizeof si && (int)si.ssi_signo == sig && si.ssi_code == code && (pid_t)si.ssi_pid == getpid() && si.ssi_uid == getuid(),
          "%s: read %zd, signo ok %d, code ok %d", what, n, (int)si.ssi_signo == sig, si.ssi_code == code);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(void)
{
    sigset_t usr1, both, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    sigaddset(&both, SIGRTMIN + 3);
    EXPECT_RET(sigprocmask(SIG_BLOCK, &both, &old), 0);

    int fd = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC);
    check(fd >= 0, "signalfd");
    check(fcntl(fd, F_GETFD) == FD_CLOEXEC && (fcntl(fd, F_GETFL) & O_NONBLOCK), "SFD_CLOEXEC, SFD_NONBLOCK");
    struct signalfd_siginfo si;
    EXPECT_ERR(read(fd, &si, sizeof si), EAGAIN);
    check(!readable(fd), "nothing pending: not readable");

    EXPECT_RET(raise(SIGUSR1), 0);
    check(readable(fd), "a pending SIGUSR1 makes it readable");
    EXPECT_ERR(read(fd, &si, sizeof si - 1), EINVAL);
    take(fd, SIGUSR1, SI_TKILL, "raise");
    EXPECT_ERR(read(fd, &si, sizeof si), EAGAIN);

    /* Standard signals merge while pending; kill gives SI_USER. */
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    take(fd, SIGUSR1, SI_USER, "kill twice");
    EXPECT_ERR(read(fd, &si, sizeof si), EAGAIN);

    /* sigqueue: SI_QUEUE and the value. */
    union sigval sv = { .sival_int = 1234 };
    EXPECT_RET(sigqueue(getpid(), SIGUSR1, sv), 0);
    memset(&si, 0, sizeof si);
    EXPECT_RET(read(fd, &si, sizeof si), sizeof si);
    printf("sigqueue: SI_QUEUE %d, ssi_int %d\n", si.ssi_code == SI_QUEUE, si.ssi_int);

    /* A signal outside the mask is not read; widening the mask reaches it. */
    raise(SIGUSR2);
    EXPECT_ERR(read(fd, &si, sizeof si), EAGAIN);
    EXPECT_RET(signalfd(fd, &both, 0) == fd, 1);
    take(fd, SIGUSR2, SI_TKILL, "SIGUSR2 after widening the mask");

    /* Real-time signals queue, in order, several per read. */
    for (int i = 1; i <= 3; i++) {
        sv.sival_int = i * 11;
        sigqueue(getpid(), SIGRTMIN + 3, sv);
    }
    struct signalfd_siginfo many[4];
    EXPECT_RET(read(fd, many, sizeof many), 3 * sizeof many[0]);
    int ok = 1;
    for (int i = 0; i < 3; i++)
        ok &= (int)many[i].ssi_signo == SIGRTMIN + 3 && many[i].ssi_int == (i + 1) * 11;
    printf("real-time values: %d %d %d\n", many[0].ssi_int, many[1].ssi_int, many[2].ssi_int);
    check(ok, "three queued SIGRTMIN+3, in order");

    /* Bad calls. */
    EXPECT_ERR(signalfd(-1, &usr1, 0x4000000), EINVAL);
    int p[2];
    check(pipe(p) == 0, "pipe");
    EXPECT_ERR(signalfd(p[0], &usr1, 0), EINVAL);
    EXPECT_ERR(signalfd(12345, &usr1, 0), EBADF);
    close(p[0]);
    close(p[1]);

    /* A child blocks in read until its parent signals it. */
    int bfd = signalfd(-1, &usr1, 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        memset(&si, 0, sizeof si);
        ssize_t n = read(bfd, &si, sizeof si);
        _exit(n == sizeof si && si.ssi_signo == SIGUSR1 && (pid_t)si.ssi_pid == getppid() && si.ssi_code == SI_USER ? 0 : 1);
    }
    usleep(30000);
    kill(c, SIGUSR1);
    int st = 0;
    waitpid(c, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's blocking read got the parent's SIGUSR1");
    close(bfd);
    close(fd);

    /* sigtimedwait: a pending signal is taken; otherwise EAGAIN after the timeout. */
    siginfo_t info;
    struct timespec zero = { 0, 0 }, t50 = { 0, 50000000 }, bad = { 0, 1000000000 }, t0;
    kill(getpid(), SIGUSR2);
    sigset_t pend;
    sigpending(&pend);
    check(sigismember(&pend, SIGUSR2) && !sigismember(&pend, SIGUSR1), "SIGUSR2 pending");
    memset(&info, 0, sizeof info);
    EXPECT_RET(sigtimedwait(&both, &info, &zero), SIGUSR2);
    check(info.si_signo == SIGUSR2 && info.si_code == SI_USER && info.si_pid == getpid() && info.si_uid == getuid(), "siginfo: SIGUSR2, SI_USER, from us");
    EXPECT_ERR(sigtimedwait(&both, &info, &zero), EAGAIN);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_ERR(sigtimedwait(&both, &info, &t50), EAGAIN);
    check(ms_since(&t0) >= 50, "the 50 ms wait was not early");
    EXPECT_ERR(sigtimedwait(&both, &info, &bad), EINVAL);
    /* The lowest pending signal comes first. */
    raise(SIGUSR2);
    raise(SIGUSR1);
    EXPECT_RET(sigtimedwait(&both, NULL, &zero), SIGUSR1);
    EXPECT_RET(sigtimedwait(&both, NULL, &zero), SIGUSR2);

    /* sigwaitinfo and sigwait, with the signal already pending... */
    raise(SIGUSR1);
    memset(&info, 0, sizeof info);
    EXPECT_RET(sigwaitinfo(&usr1, &info), SIGUSR1);
    /* glibc folds the kernel's SI_TKILL into SI_USER here. */
    check(info.si_signo == SIGUSR1 && (info.si_code == SI_TKILL || info.si_code == SI_USER), "sigwaitinfo: SIGUSR1 from raise");
    raise(SIGUSR2);
    int sig = 0;
    EXPECT_RET(sigwait(&both, &sig), 0);
    printf("sigwait: %s\n", sig == SIGUSR2 ? "SIGUSR2" : "other");
    /* ...and sent later by a child. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        usleep(30000);
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    memset(&info, 0, sizeof info);
    EXPECT_RET(sigwaitinfo(&both, &info), SIGUSR2);
    check(info.si_pid == c && info.si_code == SI_USER, "sent by the child");
    waitpid(c, &st, 0);

    sigpending(&pend);
    check(!sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGUSR2), "nothing left pending");
    EXPECT_RET(sigprocmask(SIG_SETMASK, &old, NULL), 0);
    return finish();
}
