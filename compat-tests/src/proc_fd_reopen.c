// proc_fd_reopen.c - opening a pipe end again through /proc/self/fd/N
// makes a new description, a new reader or writer, and closing it leaves
// the first working: the write end reopened and closed (the reader still
// sees a writer: EAGAIN, not end of file), the read end likewise (a write
// still finds a reader), bytes through the new description; anonymous
// inodes (eventfd, signalfd, epoll) cannot be opened again (ENXIO) and
// keep working.
#include "compat.h"
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

static int reopen(int fd, int flags)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return open(path, flags);
}

int main(void)
{
    int p[2];
    char c = 0;
    EXPECT_RET(pipe(p), 0);
    EXPECT_RET(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);

    /* The write end, reopened and closed: a writer is left. */
    int w2 = reopen(p[1], O_WRONLY);
    check(w2 >= 0, "reopen the write end: %s", errno_name(errno));
    EXPECT_RET(write(w2, "a", 1), 1);
    EXPECT_RET(read(p[0], &c, 1), 1);
    check(c == 'a', "the byte written through the new description");
    EXPECT_RET(close(w2), 0);
    EXPECT_ERR(read(p[0], &c, 1), EAGAIN);

    /* The read end, reopened and closed: a reader is left. */
    int r2 = reopen(p[0], O_RDONLY);
    check(r2 >= 0, "reopen the read end: %s", errno_name(errno));
    EXPECT_RET(close(r2), 0);
    EXPECT_RET(write(p[1], "b", 1), 1);
    EXPECT_RET(read(p[0], &c, 1), 1);
    check(c == 'b', "the byte read after the second description closed");

    /* Every writer gone: end of file. */
    EXPECT_RET(close(p[1]), 0);
    EXPECT_RET(read(p[0], &c, 1), 0);
    EXPECT_RET(close(p[0]), 0);

    /* Anonymous inodes: ENXIO, and the first descriptor goes on. */
    int e = eventfd(5, 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    int s = signalfd(-1, &set, 0);
    int ep = epoll_create1(0);
    check(e >= 0 && s >= 0 && ep >= 0, "eventfd, signalfd, epoll");
    EXPECT_ERR(reopen(e, O_RDWR), ENXIO);
    EXPECT_ERR(reopen(s, O_RDONLY), ENXIO);
    EXPECT_ERR(reopen(ep, O_RDONLY), ENXIO);
    uint64_t v = 0;
    EXPECT_RET(read(e, &v, sizeof v), 8);
    printf("eventfd counted %llu\n", (unsigned long long)v);
    EXPECT_RET(close(e), 0);
    EXPECT_RET(close(s), 0);
    EXPECT_RET(close(ep), 0);
    return finish();
}
