// poll.c - poll/ppoll/select/pselect6 on files, /dev/null and the console
// streams (stdin is a pipe at end of file, stdout and stderr pipes), bad fds
// (POLLNVAL, EBADF), bad pointers, timeouts that expire.
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>

static long ms_since(struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(void)
{
    int f = open("/etc/passwd", O_RDONLY);
    int n = open("/dev/null", O_WRONLY);
    struct pollfd p[5] = {
        {.fd = f, .events = POLLIN | POLLOUT},
        {.fd = n, .events = POLLOUT},
        {.fd = 1, .events = POLLOUT},
        {.fd = 0, .events = POLLIN},
        {.fd = 999, .events = POLLIN},
    };
    EXPECT_RET(poll(p, 5, 1000), 5);
    printf("file: %s%s\n", p[0].revents & POLLIN ? "IN " : "", p[0].revents & POLLOUT ? "OUT" : "");
    printf("/dev/null: %s\n", p[1].revents & POLLOUT ? "OUT" : "-");
    printf("stdout: %s\n", p[2].revents & POLLOUT ? "OUT" : "-");
    printf("stdin at EOF: %s\n", p[3].revents & (POLLIN | POLLHUP) ? "readable or hung up" : "-");
    printf("fd 999: %s\n", p[4].revents == POLLNVAL ? "POLLNVAL" : "?");
    struct pollfd neg = {.fd = -1, .events = POLLIN, .revents = 77};
    EXPECT_RET(poll(&neg, 1, 0), 0);
    printf("negative fd ignored, revents %d\n", neg.revents);
    EXPECT_ERR(poll(bad_ptr_8, 1, 0), EFAULT);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_RET(poll(NULL, 0, 30), 0);
    check(ms_since(&t0) >= 25, "poll with no fds waits for its timeout");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec ts = {0, 20 * 1000 * 1000};
    EXPECT_RET(ppoll(NULL, 0, &ts, NULL), 0);
    check(ms_since(&t0) >= 15, "ppoll waits for its timeout");

    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(f, &r);
    FD_SET(1, &w);
    FD_SET(n, &w);
    struct timeval tv = {1, 0};
    EXPECT_RET(select(n + 1, &r, &w, NULL, &tv), 3);
    printf("select: file readable %d, stdout writable %d, null writable %d\n", FD_ISSET(f, &r), FD_ISSET(1, &w), FD_ISSET(n, &w));
    /* A closed fd below 64: Linux ignores set bits past its fd table (64 slots at least), so a
       higher fd would give EBADF or 0 depending on how many files the host runner has open. */
    close(40);
    FD_ZERO(&r);
    FD_SET(40, &r);
    tv.tv_sec = 0;
    EXPECT_ERR(select(41, &r, NULL, NULL, &tv), EBADF);
    tv.tv_sec = -1;
    FD_ZERO(&r);
    EXPECT_ERR(select(1, &r, NULL, NULL, &tv), EINVAL);
    EXPECT_ERR(select(-1, NULL, NULL, NULL, NULL), EINVAL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tv.tv_sec = 0;
    tv.tv_usec = 20000;
    EXPECT_RET(select(0, NULL, NULL, NULL, &tv), 0);
    check(ms_since(&t0) >= 15, "select with no fds sleeps");
    FD_ZERO(&w);
    FD_SET(1, &w);
    struct timespec pts = {0, 0};
    EXPECT_RET(pselect(2, NULL, &w, NULL, &pts, NULL), 1);
    return finish();
}
