// masked_waits.c - ppoll, pselect and epoll_pwait wait with the signal mask
// they are given: a signal blocked outside the call but not in its mask
// interrupts the wait (EINTR, its handler runs), and the thread's own mask
// is back afterwards; a wait that times out or finds a ready descriptor also
// gives the mask back; a signal the call's mask blocks does not interrupt.
#define _GNU_SOURCE 1
#include "compat.h"
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t got;
static void on_usr1(int sig) { (void)sig; got++; }

/* A child that sends SIGUSR1 to the parent after 150 ms. */
static pid_t later_usr1(void)
{
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        struct timespec ts = {0, 150000000L};
        nanosleep(&ts, NULL);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    return c;
}

static int usr1_blocked(void)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, SIGUSR1);
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, open_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sigemptyset(&open_mask);
    int fds[2];
    check(pipe(fds) == 0, "pipe");
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    int st;

    // ppoll: interrupted by the signal its mask lets in.
    pid_t c = later_usr1();
    struct timespec five = {5, 0};
    errno = 0;
    int r = ppoll(&pfd, 1, &five, &open_mask);
    printf("ppoll: %d %s, handler ran %d, SIGUSR1 blocked after: %d\n", r, errno_name(errno), (int)got, usr1_blocked());
    check(r == -1 && errno == EINTR && got == 1 && usr1_blocked() == 1, "ppoll interrupted, mask back");
    waitpid(c, &st, 0);

    // ppoll timing out with a mask: the mask comes back, no signal.
    struct timespec short_ts = {0, 20000000L};
    r = ppoll(&pfd, 1, &short_ts, &open_mask);
    printf("ppoll timeout: %d, SIGUSR1 blocked after: %d\n", r, usr1_blocked());
    check(r == 0 && usr1_blocked() == 1, "ppoll timed out, mask back");

    // ppoll with a ready descriptor returns at once, mask back.
    check(write(fds[1], "x", 1) == 1, "write");
    r = ppoll(&pfd, 1, &five, &open_mask);
    printf("ppoll ready: %d, SIGUSR1 blocked after: %d\n", r, usr1_blocked());
    check(r == 1 && usr1_blocked() == 1, "ppoll ready, mask back");
    char ch;
    check(read(fds[0], &ch, 1) == 1, "drain");

    // pselect: the same.
    c = later_usr1();
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fds[0], &rd);
    errno = 0;
    r = pselect(fds[0] + 1, &rd, NULL, NULL, &five, &open_mask);
    printf("pselect: %d %s, handler ran %d, SIGUSR1 blocked after: %d\n", r, errno_name(errno), (int)got, usr1_blocked());
    check(r == -1 && errno == EINTR && got == 2 && usr1_blocked() == 1, "pselect interrupted, mask back");
    waitpid(c, &st, 0);

    // epoll_pwait: the same.
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[0]};
    check(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev) == 0, "epoll_ctl");
    c = later_usr1();
    errno = 0;
    struct epoll_event out;
    r = epoll_pwait(ep, &out, 1, 5000, &open_mask);
    printf("epoll_pwait: %d %s, handler ran %d, SIGUSR1 blocked after: %d\n", r, errno_name(errno), (int)got, usr1_blocked());
    check(r == -1 && errno == EINTR && got == 3 && usr1_blocked() == 1, "epoll_pwait interrupted, mask back");
    waitpid(c, &st, 0);

    // A mask that blocks the signal: the wait is not interrupted; the
    // signal stays pending and runs once unblocked.
    c = later_usr1();
    struct timespec half = {0, 400000000L};
    r = ppoll(&pfd, 1, &half, &block);
    printf("ppoll with SIGUSR1 blocked: %d, handler ran %d\n", r, (int)got);
    check(r == 0 && got == 3, "not interrupted");
    waitpid(c, &st, 0);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    printf("after unblocking: handler ran %d\n", (int)got);
    check(got == 4, "the pending signal ran when unblocked");
    return finish();
}
