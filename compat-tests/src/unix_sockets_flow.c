// unix_sockets_flow.c - AF_UNIX sockets under load, between processes:
// a stream carrying 2 MiB in writes larger than the socket's buffer (the
// writer blocks and goes on), a non-blocking writer filling the buffer
// (EAGAIN, then POLLOUT once the reader drains it), a server that accepts
// several forked clients with poll and epoll, datagrams from a faster sender
// to a bound socket (the sender waits for room, nothing is lost or
// reordered), a blocked reader woken by the peer's close, and recvmmsg.
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define BIG (2 << 20)
#define CLIENTS 4

static unsigned char pattern(size_t i) { return (unsigned char)((i * 2654435761u) >> 13); }

static int status_of(pid_t c)
{
    int ws = 0;
    if (waitpid(c, &ws, 0) != c)
        return -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static socklen_t addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

int main(void)
{
    int sv[2];
    static unsigned char buf[1 << 16];
    signal(SIGPIPE, SIG_IGN);

    /* 2 MiB through a stream: the child writes 512 KiB at a time. */
    check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(sv[0]);
        static unsigned char out[512 << 10];
        for (size_t off = 0; off < BIG; off += sizeof out) {
            for (size_t i = 0; i < sizeof out; i++)
                out[i] = pattern(off + i);
            if (write(sv[1], out, sizeof out) != (ssize_t)sizeof out)
                _exit(1);
        }
        _exit(0);
    }
    close(sv[1]);
    size_t got = 0, bad = 0;
    ssize_t n;
    while ((n = read(sv[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            bad += buf[i] != pattern(got + i);
        got += n;
    }
    printf("stream: %zu bytes, %zu wrong, then EOF %d; writer status %d\n", got, bad, n == 0, status_of(c));
    close(sv[0]);

    /* A non-blocking writer fills the buffer, then waits for POLLOUT. */
    check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0, "socketpair");
    size_t queued = 0;
    memset(buf, 'x', sizeof buf);
    while ((n = write(sv[0], buf, 4096)) > 0)
        queued += n;
    printf("non-blocking writer stopped with %s after more than 64 KiB: %d\n", errno_name(errno), queued > 65536);
    struct pollfd p = { .fd = sv[0], .events = POLLOUT };
    printf("POLLOUT while full: %d\n", poll(&p, 1, 0));
    size_t drained = 0;
    while ((n = read(sv[1], buf, sizeof buf)) > 0)
        drained += n;
    printf("drained all: %d; POLLOUT after: %d\n", drained == queued, poll(&p, 1, 0) == 1 && (p.revents & POLLOUT));
    close(sv[0]);
    close(sv[1]);

    /* A server with poll and epoll, and CLIENTS forked clients. */
    char dir[] = "flowXXXXXX";
    check(mkdtemp(dir) != NULL && chdir(dir) == 0, "mkdtemp and chdir");
    struct sockaddr_un a;
    socklen_t al = addr(&a, "server");
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    EXPECT_RET(bind(l, (struct sockaddr *)&a, al), 0);
    EXPECT_RET(listen(l, CLIENTS), 0);
    fflush(stdout);
    pid_t kids[CLIENTS];
    for (int k = 0; k < CLIENTS; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            int s = socket(AF_UNIX, SOCK_STREAM, 0);
            if (connect(s, (struct sockaddr *)&a, al) != 0)
                _exit(10);
            char msg[32], r[32];
            int len = snprintf(msg, sizeof msg, "client %d", k);
            if (write(s, msg, len) != len)
                _exit(11);
            shutdown(s, SHUT_WR);
            ssize_t m = read(s, r, sizeof r);
            _exit(m == len + 1 && r[0] == '>' && memcmp(r + 1, msg, len) == 0 ? 0 : 12);
        }
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };
    EXPECT_RET(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev), 0);
    int served = 0, seen[CLIENTS] = { 0 };
    while (served < CLIENTS) {
        struct epoll_event out[4];
        int r = epoll_wait(ep, out, 4, 10000);
        if (r <= 0)
            break;
        for (int i = 0; i < r; i++) {
            if (out[i].data.fd == l) {
                int s;
                while ((s = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event e2 = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = s };
                    epoll_ctl(ep, EPOLL_CTL_ADD, s, &e2);
                }
                continue;
            }
            int s = out[i].data.fd;
            char m[40];
            ssize_t len = read(s, m + 1, sizeof m - 1);
            if (len <= 0)
                continue;
            int k = -1;
            sscanf(m + 1, "client %d", &k);
            if (k >= 0 && k < CLIENTS)
                seen[k]++;
            /* The client shut its side: the rest is EOF. */
            struct pollfd q = { .fd = s, .events = POLLIN };
            poll(&q, 1, 5000);
            m[0] = '>';
            write(s, m, len + 1);
            epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL);
            close(s);
            served++;
        }
    }
    int ok = 0;
    for (int k = 0; k < CLIENTS; k++)
        ok += seen[k] == 1 && status_of(kids[k]) == 0;
    printf("server: %d served, %d clients saw their answer\n", served, ok);
    close(ep);
    close(l);
    unlink("server");

    /* Datagrams: 100 from a child to a bound socket, read slowly. */
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un da;
    socklen_t dal = addr(&da, "dgram");
    EXPECT_RET(bind(d, (struct sockaddr *)&da, dal), 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        int s = socket(AF_UNIX, SOCK_DGRAM, 0);
        for (int i = 0; i < 100; i++) {
            char m[16];
            int len = snprintf(m, sizeof m, "%d", i);
            if (sendto(s, m, len, 0, (struct sockaddr *)&da, dal) != len)
                _exit(20);
        }
        _exit(0);
    }
    int next = 0, order_ok = 1;
    for (int i = 0; i < 100; i++) {
        char m[16] = { 0 };
        if (recv(d, m, sizeof m - 1, 0) <= 0) {
            order_ok = 0;
            break;
        }
        order_ok &= atoi(m) == next++;
        if (i % 10 == 0)
            usleep(1000);
    }
    printf("datagrams: %d received in order %d; sender status %d\n", next, order_ok, status_of(c));
    close(d);
    unlink("dgram");
    check(chdir("..") == 0 && rmdir(dir) == 0, "the directory is removed");

    /* A reader blocked in read() wakes when the peer closes. */
    check(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
    fflush(stdout);
    c = fork();
    if (c == 0) {
        close(sv[0]);
        char r[8];
        _exit(read(sv[1], r, sizeof r) == 0 ? 0 : 30);
    }
    close(sv[1]);
    usleep(20000);
    close(sv[0]);
    printf("blocked reader after the peer's close: status %d\n", status_of(c));

    /* recvmmsg takes what is queued. */
    check(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "socketpair");
    for (int i = 0; i < 3; i++)
        send(sv[0], "msg", 3 + (i > 0), 0);
    char b0[8], b1[8], b2[8], b3[8];
    struct iovec io[4] = { { b0, 8 }, { b1, 8 }, { b2, 8 }, { b3, 8 } };
    struct mmsghdr mm[4];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 4; i++) {
        mm[i].msg_hdr.msg_iov = &io[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    int r = recvmmsg(sv[1], mm, 4, MSG_DONTWAIT, NULL);
    printf("recvmmsg: %d messages, lengths %u %u %u\n", r, mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    close(sv[0]);
    close(sv[1]);
    return finish();
}
