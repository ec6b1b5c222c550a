// pidfd.c - process descriptors: pidfd_open of a child (close-on-exec, not
// readable while it runs, readable in poll once it ended), a signal through
// pidfd_send_signal (plain and with a siginfo), waitid(P_PIDFD), a copy of
// the child's pipe end through pidfd_getfd, and the errors: bad flags, a
// pid that names no process, a descriptor that is not a pidfd, a read.
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open(pid_t pid, unsigned flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags) { return (int)syscall(SYS_pidfd_send_signal, fd, sig, info, flags); }
static int pidfd_getfd(int fd, int target, unsigned flags) { return (int)syscall(SYS_pidfd_getfd, fd, target, flags); }

static int readable(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static volatile sig_atomic_t got_value = -1;

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    got_value = si->si_value.sival_int;
}

int main(void)
{
    int to_child[2], from_child[2];
    EXPECT_RET(pipe(to_child), 0);
    EXPECT_RET(pipe(from_child), 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
        sigaction(SIGUSR1, &sa, NULL);
        close(to_child[1]);
        close(from_child[0]);
        // A pipe of its own, a byte in it, for the parent's pidfd_getfd.
        int secret[2];
        if (pipe(secret) != 0 || write(secret[1], "s", 1) != 1)
            _exit(2);
        // Ready (the handler is in place): tell the parent the fd number.
        char n = (char)secret[0];
        if (write(from_child[1], &n, 1) != 1)
            _exit(3);
        while (got_value < 0)
            pause();
        char v = (char)got_value;
        if (write(from_child[1], &v, 1) != 1)
            _exit(4);
        // Wait until SIGTERM ends it (nobody writes to_child).
        char b;
        if (read(to_child[0], &b, 1) < 0)
            _exit(5);
        _exit(0);
    }
    close(to_child[0]);
    close(from_child[1]);
    char b = 0, secret = 0;
    EXPECT_RET(read(from_child[0], &secret, 1), 1);

    int fd = pidfd_open(c, 0);
    check(fd >= 0, "pidfd_open(child, 0)");
    check((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "a pidfd is close-on-exec");
    check(!readable(fd, 0), "not readable while the child runs");
    EXPECT_ERR(read(fd, &b, 1), EINVAL);

    // A signal with a value, through the pidfd.
    siginfo_t si = { 0 };
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = 42;
    EXPECT_RET(pidfd_send_signal(fd, SIGUSR1, &si, 0), 0);
    EXPECT_RET(read(from_child[0], &b, 1), 1);
    check(b == 42, "the child's handler saw the value 42 (got %d)", b);

    // The read end of the child's own pipe: a copy reads its byte.
    int copy = pidfd_getfd(fd, secret, 0);
    check(copy >= 0, "pidfd_getfd(pidfd, the child's pipe)");
    check((fcntl(copy, F_GETFD) & FD_CLOEXEC) != 0, "the copy is close-on-exec");
    EXPECT_RET(read(copy, &b, 1), 1);
    check(b == 's', "the copy reads the child's pipe");
    EXPECT_ERR(pidfd_getfd(fd, 999, 0), EBADF);
    EXPECT_ERR(pidfd_getfd(fd, secret, 1), EINVAL);

    // SIGTERM through the pidfd; poll sees the end; waitid takes it.
    EXPECT_RET(pidfd_send_signal(fd, SIGTERM, NULL, 0), 0);
    check(readable(fd, 5000), "readable once the child ended");
    // A zombie still takes signals; one waited for is gone.
    EXPECT_RET(pidfd_send_signal(fd, SIGTERM, NULL, 0), 0);
    siginfo_t w = { 0 };
    EXPECT_RET(waitid(P_PIDFD, fd, &w, WEXITED), 0);
    check(w.si_pid == c && w.si_code == CLD_KILLED && w.si_status == SIGTERM, "waitid(P_PIDFD): killed by SIGTERM");
    EXPECT_ERR(waitid(P_PIDFD, fd, &w, WEXITED), ECHILD);
    EXPECT_ERR(pidfd_send_signal(fd, SIGTERM, NULL, 0), ESRCH);

    // Errors.
    EXPECT_ERR(pidfd_open(c, 0), ESRCH);
    EXPECT_ERR(pidfd_open(getpid(), 1), EINVAL);
    EXPECT_ERR(pidfd_open(0, 0), EINVAL);
    EXPECT_ERR(pidfd_send_signal(0, SIGTERM, NULL, 0), EBADF);
    EXPECT_ERR(pidfd_send_signal(fd, SIGTERM, NULL, 0x80), EINVAL);
    EXPECT_ERR(waitid(P_PIDFD, 0, &w, WEXITED), EBADF);
    int me = pidfd_open(getpid(), O_NONBLOCK);
    check(me >= 0, "pidfd_open(self, PIDFD_NONBLOCK)");
    check((fcntl(me, F_GETFL) & O_NONBLOCK) != 0, "O_NONBLOCK kept");
    EXPECT_RET(pidfd_send_signal(me, 0, NULL, 0), 0);
    close(me);
    close(copy);
    close(fd);
    return finish();
}
