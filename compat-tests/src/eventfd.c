// eventfd.c - eventfd counters: writes add, a read returns the count and
// resets it, EFD_SEMAPHORE reads one at a time, initial values, EFD_NONBLOCK
// (EAGAIN on zero and on overflow), EFD_CLOEXEC, EINVAL for the all-ones
// value, short buffers and bad flags, poll readiness, the old eventfd
// syscall, and blocking reads and writes finished by a forked child.
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const char *ready(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
    if (poll(&p, 1, 0) < 0)
        return "error";
    switch (p.revents & (POLLIN | POLLOUT | POLLERR | POLLHUP)) {
    case 0: return "none";
    case POLLIN: return "IN";
    case POLLOUT: return "OUT";
    case POLLIN | POLLOUT: return "IN|OUT";
    default: return "other";
    }
}

static int put(int fd, uint64_t v) { return (int)write(fd, &v, sizeof v); }

/* Read the counter: it must hold want (or fail with want_err). */
static void get(int fd, uint64_t want, int want_err, const char *what)
{
    uint64_t v = 0;
    errno = 0;
    ssize_t n = read(fd, &v, sizeof v);
    if (n == 8)
        check(!want_err && v == want, "%s: read %#llx", what, (unsigned long long)v);
    else
        check(n == -1 && errno == want_err, "%s: read returned %zd %s", what, n, errno_name(errno));
}

int main(void)
{
    int fd = eventfd(0, 0);
    check(fd >= 0, "eventfd(0, 0)");
    printf("fresh: %s\n", ready(fd));
    EXPECT_RET(put(fd, 3), 8);
    EXPECT_RET(put(fd, 4), 8);
    printf("after writes: %s\n", ready(fd));
    get(fd, 7, 0, "3 + 4");
    printf("after the read: %s\n", ready(fd));
    EXPECT_ERR(put(fd, UINT64_MAX), EINVAL);
    char small[4];
    EXPECT_ERR(read(fd, small, sizeof small), EINVAL);
    EXPECT_ERR(write(fd, small, sizeof small), EINVAL);
    char big[16];
    EXPECT_RET(put(fd, 5), 8);
    EXPECT_RET(read(fd, big, sizeof big), 8); /* a longer buffer is fine */
    uint64_t v = 0;
    memcpy(&v, big, 8);
    printf("read into 16 bytes: %llu\n", (unsigned long long)v);
    check(fcntl(fd, F_GETFD) == 0 && !(fcntl(fd, F_GETFL) & O_NONBLOCK), "no flags: not cloexec, blocking");
    close(fd);

    /* Initial value; non-blocking; overflow. */
    fd = eventfd(5, EFD_NONBLOCK | EFD_CLOEXEC);
    check(fd >= 0, "eventfd(5, EFD_NONBLOCK | EFD_CLOEXEC)");
    check(fcntl(fd, F_GETFD) == FD_CLOEXEC && (fcntl(fd, F_GETFL) & O_NONBLOCK), "close-on-exec, O_NONBLOCK");
    get(fd, 5, 0, "initial 5");
    get(fd, 0, EAGAIN, "empty, non-blocking");
    EXPECT_RET(put(fd, UINT64_MAX - 1), 8);
    printf("at the maximum: %s\n", ready(fd));
    EXPECT_ERR(put(fd, 1), EAGAIN);
    EXPECT_RET(put(fd, 0), 8);
    get(fd, UINT64_MAX - 1, 0, "the maximum");
    EXPECT_RET(put(fd, 1), 8);
    EXPECT_ERR(put(fd, UINT64_MAX - 1), EAGAIN);
    get(fd, 1, 0, "after a refused write");
    close(fd);

    /* EFD_SEMAPHORE: each read takes one. */
    fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    EXPECT_RET(put(fd, 1), 8);
    get(fd, 1, 0, "semaphore 3");
    get(fd, 1, 0, "semaphore 2");
    get(fd, 1, 0, "semaphore 1");
    get(fd, 0, EAGAIN, "semaphore 0");
    close(fd);

    /* The library helpers and the flag checks. */
    fd = eventfd(0, 0);
    eventfd_t ev = 0;
    EXPECT_RET(eventfd_write(fd, 40), 0);
    EXPECT_RET(eventfd_write(fd, 2), 0);
    EXPECT_RET(eventfd_read(fd, &ev), 0);
    printf("eventfd_read: %llu\n", (unsigned long long)ev);
    close(fd);
    EXPECT_ERR(eventfd(0, 0x12345), EINVAL);
#ifdef SYS_eventfd
    /* The original eventfd syscall: a count, no flags. */
    fd = (int)syscall(SYS_eventfd, 9);
    check(fd >= 0, "SYS_eventfd");
    get(fd, 9, 0, "SYS_eventfd(9)");
    close(fd);
#endif

    /* A blocking read waits for a forked child's write... */
    fd = eventfd(0, 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        usleep(30000);
        _exit(put(fd, 9) == 8 ? 0 : 1);
    }
    get(fd, 9, 0, "blocking read, the child wrote 9");
    int st;
    waitpid(c, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's write");
    /* ...and a blocking write that would overflow waits for its read. */
    EXPECT_RET(put(fd, UINT64_MAX - 1), 8);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        usleep(30000);
        uint64_t x = 0;
        _exit(read(fd, &x, 8) == 8 && x == UINT64_MAX - 1 ? 0 : 1);
    }
    EXPECT_RET(put(fd, 6), 8);
    waitpid(c, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child read the maximum");
    get(fd, 6, 0, "after the blocked write");
    /* poll waits for the child's write too. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        usleep(30000);
        _exit(put(fd, 1) == 8 ? 0 : 1);
    }
    struct pollfd p = { .fd = fd, .events = POLLIN };
    EXPECT_RET(poll(&p, 1, 5000), 1);
    printf("poll woke with %s\n", p.revents == POLLIN ? "POLLIN" : "something else");
    get(fd, 1, 0, "after poll");
    waitpid(c, &st, 0);
    close(fd);
    return finish();
}
