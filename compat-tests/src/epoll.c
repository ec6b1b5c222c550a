// epoll.c - epoll_create1/ctl/wait on the console streams (pipes):
// level-triggered readiness, EEXIST/ENOENT/EPERM/EBADF/EINVAL, timeouts.
// stdin: x
#include "compat.h"
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>

int main(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    check(ep >= 3, "epoll_create1");
    EXPECT_RET(fcntl(ep, F_GETFD), FD_CLOEXEC);
    EXPECT_ERR(epoll_create1(0x4), EINVAL);
#ifdef SYS_epoll_create
    EXPECT_ERR(syscall(SYS_epoll_create, 0), EINVAL); /* raw: musl maps it to epoll_create1 */
#endif
    int e2 = epoll_create(10);
    check(e2 >= 0, "epoll_create(10)");
    close(e2);

    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = 0x1111};
    EXPECT_RET(epoll_ctl(ep, EPOLL_CTL_ADD, 1, &ev), 0);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, 1, &ev), EEXIST);
    int null = open("/dev/null", O_RDWR);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, null, &ev), EPERM);
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = 0x2222;
    EXPECT_RET(epoll_ctl(ep, EPOLL_CTL_ADD, 2, &ev), 0);
    int f = open("/etc/passwd", O_RDONLY);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev), EPERM);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF);
    EXPECT_ERR(epoll_ctl(999, EPOLL_CTL_ADD, 1, &ev), EBADF);
    EXPECT_ERR(epoll_ctl(f, EPOLL_CTL_ADD, 1, &ev), EINVAL);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL), ENOENT);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, 0, &ev), ENOENT);
    EXPECT_ERR(epoll_ctl(ep, 99, 1, &ev), EINVAL);

    struct epoll_event out[8];
    int n = epoll_wait(ep, out, 8, 1000);
    check(n == 2, "two ready entries (got %d)", n);
    unsigned long long seen = 0;
    for (int i = 0; i < n; i++) {
        if (out[i].data.u64 == 0x1111)
            seen |= 1, check(out[i].events == EPOLLOUT, "stdout: EPOLLOUT");
        if (out[i].data.u64 == 0x2222)
            seen |= 2, check(out[i].events == EPOLLOUT, "stderr: EPOLLOUT only");
    }
    check(seen == 3, "both entries carry their data");
    n = epoll_wait(ep, out, 8, 0);
    check(n == 2, "level-triggered: still ready");
    EXPECT_RET(epoll_wait(ep, out, 1, 0), 1);
    EXPECT_ERR(epoll_wait(ep, out, 0, 0), EINVAL);
    EXPECT_ERR(epoll_wait(f, out, 8, 0), EINVAL);
    EXPECT_ERR(epoll_wait(ep, bad_ptr_8, 8, 0), EFAULT);

    ev.events = 0;
    EXPECT_RET(epoll_ctl(ep, EPOLL_CTL_MOD, 1, &ev), 0);
    EXPECT_RET(epoll_ctl(ep, EPOLL_CTL_DEL, 2, NULL), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_RET(epoll_wait(ep, out, 8, 30), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    check(ms >= 25, "an empty wait lasts its timeout");
    close(ep);
    return finish();
}
