// unix_sockets.c - AF_UNIX sockets: stream socketpairs (data both ways,
// shutdown, EOF, EPIPE with and without SIGPIPE, poll, FIONREAD, O_NONBLOCK),
// datagram and seqpacket boundaries and MSG_TRUNC, sendmsg/recvmsg with
// iovecs, SCM_RIGHTS, sockets bound to paths (S_ISSOCK, EADDRINUSE, ENOENT,
// ECONNREFUSED, EPROTOTYPE) with a forked client, accept4, getsockname and
// getpeername, SO_TYPE/SO_ERROR/SO_PEERCRED, abstract names and autobind, and
// datagrams between bound sockets with the sender's address.
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

static volatile sig_atomic_t sigpipes;
static void on_pipe(int sig) { (void)sig; sigpipes++; }

/* What poll reports right now, as text ("IN|OUT"). */
static const char *ready(int fd)
{
    static char buf[64];
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
    buf[0] = 0;
    if (poll(&p, 1, 0) < 0)
        return "error";
    if (p.revents & POLLIN) strcat(buf, "|IN");
    if (p.revents & POLLOUT) strcat(buf, "|OUT");
    if (p.revents & POLLHUP) strcat(buf, "|HUP");
    if (p.revents & POLLERR) strcat(buf, "|ERR");
    return buf[0] ? buf + 1 : "none";
}

static socklen_t addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static int sockopt(int fd, int opt)
{
    int v = -1;
    socklen_t l = sizeof v;
    return getsockopt(fd, SOL_SOCKET, opt, &v, &l) == 0 ? v : -100;
}

int main(void)
{
    int sv[2];
    char buf[128];
    signal(SIGPIPE, on_pipe);

    /* Stream socketpair: both ways, readiness, FIONREAD, non-blocking. */
    EXPECT_RET(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    printf("fresh: %s\n", ready(sv[1]));
    EXPECT_RET(write(sv[0], "hello, peer", 11), 11);
    printf("after a write: %s\n", ready(sv[1]));
    int n = -1;
    EXPECT_RET(ioctl(sv[1], FIONREAD, &n), 0);
    printf("FIONREAD: %d\n", n);
    EXPECT_RET(read(sv[1], buf, 5), 5);
    EXPECT_RET(read(sv[1], buf + 5, sizeof buf - 5), 6);
    check(memcmp(buf, "hello, peer", 11) == 0, "the bytes arrived in order");
    EXPECT_RET(write(sv[1], "back", 4), 4);
    EXPECT_RET(read(sv[0], buf, sizeof buf), 4);
    EXPECT_ERR(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    EXPECT_ERR(read(sv[0], buf, sizeof buf), EAGAIN);
    printf("SO_TYPE stream %d, SO_ERROR %d\n", sockopt(sv[0], SO_TYPE) == SOCK_STREAM, sockopt(sv[0], SO_ERROR));
    struct ucred cr;
    socklen_t cl = sizeof cr;
    EXPECT_RET(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &cl), 0);
    check(cr.pid == getpid() && cr.uid == getuid() && cr.gid == getgid(), "SO_PEERCRED of a socketpair is us");

    /* shutdown(SHUT_WR): the peer sees EOF, the other direction still works. */
    EXPECT_RET(shutdown(sv[0], SHUT_WR), 0);
    printf("after the peer's SHUT_WR: %s\n", ready(sv[1]));
    EXPECT_RET(read(sv[1], buf, sizeof buf), 0);
    EXPECT_ERR(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    EXPECT_RET(write(sv[1], "still", 5), 5);
    EXPECT_RET(read(sv[0], buf, sizeof buf), 5);
    /* The peer closes: EOF, EPIPE with SIGPIPE, or without it under MSG_NOSIGNAL. */
    close(sv[0]);
    printf("after the peer's close: %s\n", ready(sv[1]));
    EXPECT_RET(read(sv[1], buf, sizeof buf), 0);
    EXPECT_ERR(write(sv[1], "x", 1), EPIPE);
    printf("SIGPIPEs: %d\n", sigpipes);
    EXPECT_ERR(send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
    printf("SIGPIPEs after MSG_NOSIGNAL: %d\n", sigpipes);
    close(sv[1]);

    /* sendmsg/recvmsg scatter and gather. */
    EXPECT_RET(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    check(fcntl(sv[0], F_GETFD) == FD_CLOEXEC, "SOCK_CLOEXEC");
    struct iovec out[3] = { { "ab", 2 }, { "cde", 3 }, { "f", 1 } };
    struct msghdr m = { .msg_iov = out, .msg_iovlen = 3 };
    EXPECT_RET(sendmsg(sv[0], &m, 0), 6);
    char in1[4], in2[10] = { 0 };
    struct iovec in[2] = { { in1, sizeof in1 }, { in2, sizeof in2 } };
    m = (struct msghdr){ .msg_iov = in, .msg_iovlen = 2 };
    EXPECT_RET(recvmsg(sv[1], &m, 0), 6);
    printf("gathered: %.4s + %s\n", in1, in2);

    /* SCM_RIGHTS: a pipe's write end crosses the socket and still works. */
    int p[2];
    check(pipe(p) == 0, "pipe");
    union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } cbuf;
    memset(&cbuf, 0, sizeof cbuf);
    struct iovec one = { "F", 1 };
    m = (struct msghdr){ .msg_iov = &one, .msg_iovlen = 1, .msg_control = cbuf.b, .msg_controllen = sizeof cbuf.b };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
    EXPECT_RET(sendmsg(sv[0], &m, 0), 1);
    close(p[1]);
    memset(&cbuf, 0, sizeof cbuf);
    one = (struct iovec){ buf, sizeof buf };
    m = (struct msghdr){ .msg_iov = &one, .msg_iovlen = 1, .msg_control = cbuf.b, .msg_controllen = sizeof cbuf.b };
    EXPECT_RET(recvmsg(sv[1], &m, MSG_CMSG_CLOEXEC), 1);
    cm = CMSG_FIRSTHDR(&m);
    check(cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)), "one SCM_RIGHTS message");
    int got = -1;
    if (cm)
        memcpy(&got, CMSG_DATA(cm), sizeof got);
    check(fcntl(got, F_GETFD) == FD_CLOEXEC, "MSG_CMSG_CLOEXEC set close-on-exec");
    EXPECT_RET(write(got, "via fd", 6), 6);
    close(got);
    n = read(p[0], buf, sizeof buf);
    printf("read from the pipe: %.*s\n", n > 0 ? n : 0, buf);
    EXPECT_RET(read(p[0], buf, sizeof buf), 0);
    close(p[0]);
    close(sv[0]);
    close(sv[1]);

    /* Datagrams keep their boundaries; short buffers truncate. */
    EXPECT_RET(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    EXPECT_RET(send(sv[0], "one", 3, 0), 3);
    EXPECT_RET(send(sv[0], "three", 5, 0), 5);
    EXPECT_RET(send(sv[0], "", 0, 0), 0);
    EXPECT_RET(send(sv[0], "abcdef", 6, 0), 6);
    EXPECT_RET(send(sv[0], "truncated", 9, 0), 9);
    EXPECT_RET(ioctl(sv[1], FIONREAD, &n), 0);
    printf("FIONREAD (next datagram): %d\n", n);
    EXPECT_RET(recv(sv[1], buf, sizeof buf, 0), 3);
    EXPECT_RET(recv(sv[1], buf, sizeof buf, 0), 5);
    EXPECT_RET(recv(sv[1], buf, sizeof buf, 0), 0);
    one = (struct iovec){ buf, 2 };
    m = (struct msghdr){ .msg_iov = &one, .msg_iovlen = 1 };
    EXPECT_RET(recvmsg(sv[1], &m, 0), 2);
    printf("short recvmsg: %.2s, MSG_TRUNC %d\n", buf, !!(m.msg_flags & MSG_TRUNC));
    EXPECT_RET(recv(sv[1], buf, 4, MSG_TRUNC), 9);
    EXPECT_ERR(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    EXPECT_ERR(listen(sv[0], 1), EOPNOTSUPP);
    close(sv[0]);
    EXPECT_ERR(send(sv[1], "x", 1, MSG_NOSIGNAL), ECONNREFUSED);
    close(sv[1]);

    /* Seqpacket: records and EOF. */
    EXPECT_RET(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    EXPECT_RET(send(sv[0], "rec1", 4, 0), 4);
    EXPECT_RET(send(sv[0], "record2", 7, 0), 7);
    EXPECT_RET(recv(sv[1], buf, sizeof buf, 0), 4);
    EXPECT_RET(recv(sv[1], buf, 3, 0), 3);
    close(sv[0]);
    EXPECT_RET(recv(sv[1], buf, sizeof buf, 0), 0);
    close(sv[1]);

    /* Sockets bound to paths, in a fresh directory. */
    char dir[] = "unixXXXXXX";
    check(mkdtemp(dir) != NULL && chdir(dir) == 0, "mkdtemp and chdir");
    struct sockaddr_un a, b;
    socklen_t al = addr(&a, "srv"), bl;
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_RET(bind(l, (struct sockaddr *)&a, al), 0);
    struct stat st;
    check(stat("srv", &st) == 0 && S_ISSOCK(st.st_mode), "the path is a socket");
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR(bind(l2, (struct sockaddr *)&a, al), EADDRINUSE);
    EXPECT_ERR(connect(l2, (struct sockaddr *)&a, al), ECONNREFUSED); /* bound, not listening */
    bl = addr(&b, "missing");
    EXPECT_ERR(connect(l2, (struct sockaddr *)&b, bl), ENOENT);
    EXPECT_ERR(bind(l2, (struct sockaddr *)&a, sizeof a + 1), EINVAL);
    close(l2);
    EXPECT_RET(listen(l, 4), 0);
    memset(&b, 0, sizeof b);
    bl = sizeof b;
    EXPECT_RET(getsockname(l, (struct sockaddr *)&b, &bl), 0);
    printf("getsockname: %s, length %d\n", b.sun_path, (int)bl);
    fcntl(l, F_SETFL, O_NONBLOCK);
    EXPECT_ERR(accept(l, NULL, NULL), EAGAIN);
    fcntl(l, F_SETFL, 0);
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_ERR(connect(d, (struct sockaddr *)&a, al), EPROTOTYPE);
    close(d);

    /* A forked client connects; its exit status reports what it saw. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0), bad = 0;
        if (connect(s, (struct sockaddr *)&a, al) != 0)
            _exit(100);
        struct sockaddr_un pa;
        socklen_t pl = sizeof pa;
        bad |= getpeername(s, (struct sockaddr *)&pa, &pl) != 0 || strcmp(pa.sun_path, "srv") != 0;
        struct ucred pc;
        socklen_t pcl = sizeof pc;
        bad |= (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &pc, &pcl) != 0 || pc.pid != getppid()) << 1;
        bad |= (write(s, "from the child", 14) != 14) << 2;
        char r[16];
        bad |= (read(s, r, sizeof r) != 5 || memcmp(r, "reply", 5) != 0) << 3;
        _exit(bad);
    }
    struct sockaddr_un pa;
    socklen_t pl = sizeof pa;
    int s = accept4(l, (struct sockaddr *)&pa, &pl, SOCK_CLOEXEC);
    check(s >= 0, "accept4");
    printf("accepted: peer address length %d (unnamed), close-on-exec %d\n", (int)pl, fcntl(s, F_GETFD) == FD_CLOEXEC);
    cl = sizeof cr;
    EXPECT_RET(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl), 0);
    check(cr.pid == c && cr.uid == getuid() && cr.gid == getgid(), "SO_PEERCRED names the child");
    bl = sizeof b;
    EXPECT_RET(getsockname(s, (struct sockaddr *)&b, &bl), 0);
    printf("accepted socket's name: %s\n", b.sun_path);
    n = read(s, buf, sizeof buf);
    printf("from the client: %.*s\n", n > 0 ? n : 0, buf);
    EXPECT_RET(write(s, "reply", 5), 5);
    int ws = 0;
    waitpid(c, &ws, 0);
    printf("client status: %d\n", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
    close(s);
    close(l);
    EXPECT_ERR(connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, al), ECONNREFUSED);

    /* Datagram sockets bound to paths: recvfrom names the sender. */
    int da = socket(AF_UNIX, SOCK_DGRAM, 0), db = socket(AF_UNIX, SOCK_DGRAM, 0), du = socket(AF_UNIX, SOCK_DGRAM, 0);
    al = addr(&a, "da");
    bl = addr(&b, "db");
    EXPECT_RET(bind(da, (struct sockaddr *)&a, al), 0);
    EXPECT_RET(bind(db, (struct sockaddr *)&b, bl), 0);
    EXPECT_RET(sendto(db, "to da", 5, 0, (struct sockaddr *)&a, al), 5);
    EXPECT_RET(sendto(du, "anon", 4, 0, (struct sockaddr *)&a, al), 4);
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    memset(&from, 0, sizeof from);
    n = recvfrom(da, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("recvfrom: %.*s from %s (length %d)\n", n > 0 ? n : 0, buf, from.sun_path, (int)fl);
    fl = sizeof from;
    n = recvfrom(da, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("recvfrom: %.*s from an unbound socket (length %d)\n", n > 0 ? n : 0, buf, (int)fl);
    EXPECT_RET(connect(da, (struct sockaddr *)&b, bl), 0);
    EXPECT_RET(send(da, "reply", 5, 0), 5);
    EXPECT_RET(recv(db, buf, sizeof buf, 0), 5);
    struct sockaddr_un m2;
    socklen_t m2l = addr(&m2, "nobody");
    EXPECT_ERR(sendto(du, "x", 1, 0, (struct sockaddr *)&m2, m2l), ENOENT);
    close(da);
    close(db);
    close(du);
    unlink("srv");
    unlink("da");
    unlink("db");
    check(chdir("..") == 0 && rmdir(dir) == 0, "the directory is removed");

    /* Abstract names (leading NUL, no file) and autobind. */
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    int nl = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "sion-compat-%d", (int)getpid());
    al = offsetof(struct sockaddr_un, sun_path) + 1 + nl;
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_RET(bind(l, (struct sockaddr *)&a, al), 0);
    EXPECT_RET(listen(l, 1), 0);
    bl = sizeof b;
    getsockname(l, (struct sockaddr *)&b, &bl);
    check(bl == al && memcmp(&a, &b, al) == 0, "getsockname returns the abstract name and its length");
    int cs = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_RET(connect(cs, (struct sockaddr *)&a, al), 0);
    s = accept(l, NULL, NULL);
    EXPECT_RET(write(cs, "abstract", 8), 8);
    EXPECT_RET(read(s, buf, sizeof buf), 8);
    close(s);
    close(cs);
    close(l);
    cs = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR(connect(cs, (struct sockaddr *)&a, al), ECONNREFUSED);
    EXPECT_RET(bind(cs, (struct sockaddr *)&a, sizeof(sa_family_t)), 0);
    bl = sizeof b;
    EXPECT_RET(getsockname(cs, (struct sockaddr *)&b, &bl), 0);
    printf("autobind: length %d, abstract %d\n", (int)bl, b.sun_path[0] == 0);
    close(cs);
    return finish();
}
