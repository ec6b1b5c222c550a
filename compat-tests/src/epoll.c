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
    /* Nothing reaches stdout before the end: a pipe holding unread output
       is not writable when it has one page (a host with fs.pipe-max-size
       4096, as CI's), and the checks below want stdout writable. */
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
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

    /* Both streams are writable (the waits gather both, should one be
       reported a moment late). */
    struct epoll_event out[8];
    unsigned long long seen = 0;
    unsigned out_events = 0, err_events = 0;
    int n = 0, most = 0;
    for (int tries = 0; tries < 20 && seen != 3; tries++) {
        n = epoll_wait(ep, out, 8, 100);
        most = n > most ? n : most;
        for (int i = 0; i < n; i++) {
            if (out[i].data.u64 == 0x1111)
                seen |= 1, out_events = out[i].events;
            if (out[i].data.u64 == 0x2222)
                seen |= 2, err_events = out[i].events;
        }
    }
    check(seen == 3, "both entries carry their data");
    check(out_events == EPOLLOUT, "stdout: EPOLLOUT");
    check(err_events == EPOLLOUT, "stderr: EPOLLOUT only");
    check(most >= 1 && most <= 2, "one or two ready entries a wait");
    n = epoll_wait(ep, out, 8, 100);
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
