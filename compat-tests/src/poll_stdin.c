// poll_stdin.c - waiting for stdin (a pipe the runner fills): poll with no
// timeout, select and epoll_wait wake when the bytes arrive, then read them;
// at the end of input stdin stays readable (EOF).
// stdin: first line\n
#include "compat.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

int main(void)
{
    struct pollfd p = {.fd = 0, .events = POLLIN};
    EXPECT_RET(poll(&p, 1, -1), 1);
    printf("poll: POLLIN %d\n", !!(p.revents & POLLIN));
    fd_set r;
    FD_ZERO(&r);
    FD_SET(0, &r);
    EXPECT_RET(select(1, &r, NULL, NULL, NULL), 1);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    EXPECT_RET(epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev), 0);
    struct epoll_event out;
    EXPECT_RET(epoll_wait(ep, &out, 1, -1), 1);
    printf("epoll: data %u, EPOLLIN %d\n", out.data.u32, !!(out.events & EPOLLIN));
    char buf[64] = {0};
    EXPECT_RET(read(0, buf, sizeof buf - 1), 11);
    printf("read: %s", buf);
    EXPECT_RET(poll(&p, 1, 5000), 1);
    EXPECT_RET(read(0, buf, sizeof buf), 0);
    return finish();
}
