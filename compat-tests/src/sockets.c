// sockets.c - AF_INET socket calls without a peer: argument checks, bind,
// listen, getsockname, options, and the errors of the wrong kind of socket or
// descriptor. (Traffic between sockets of one node needs loopback: not yet.)
#include "compat.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

int main(void)
{
    EXPECT_ERR(socket(12345, SOCK_STREAM, 0), EAFNOSUPPORT);
    EXPECT_ERR(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    EXPECT_ERR(socket(AF_INET, 0x12345, 0), EINVAL);

    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(t >= 0, "socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC)");
    check(fcntl(t, F_GETFD) == FD_CLOEXEC, "SOCK_CLOEXEC sets FD_CLOEXEC");
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    check(u >= 0, "socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK)");
    check((fcntl(u, F_GETFL) & O_NONBLOCK) != 0, "SOCK_NONBLOCK sets O_NONBLOCK");
    struct stat st;
    EXPECT_RET(fstat(t, &st), 0);
    check(S_ISSOCK(st.st_mode), "fstat of a socket says S_IFSOCK");

    struct sockaddr_in a;
    socklen_t al = sizeof a;
    EXPECT_RET(getsockname(t, (struct sockaddr *)&a, &al), 0);
    check(al == sizeof a && a.sin_family == AF_INET && a.sin_port == 0 && a.sin_addr.s_addr == 0, "unbound: 0.0.0.0 port 0");
    EXPECT_ERR(getpeername(t, (struct sockaddr *)&a, &al), ENOTCONN);

    struct sockaddr_in b = { .sin_family = AF_INET, .sin_port = htons(0), .sin_addr.s_addr = htonl(INADDR_ANY) };
    EXPECT_ERR(bind(t, (struct sockaddr *)&b, 3), EINVAL);
    EXPECT_ERR(bind(t, (struct sockaddr *)bad_ptr_8, sizeof b), EFAULT);
    EXPECT_RET(bind(t, (struct sockaddr *)&b, sizeof b), 0);
    al = sizeof a;
    EXPECT_RET(getsockname(t, (struct sockaddr *)&a, &al), 0);
    check(ntohs(a.sin_port) != 0, "bind to port 0 chose a port");
    EXPECT_ERR(bind(t, (struct sockaddr *)&b, sizeof b), EINVAL);
    EXPECT_RET(listen(t, 5), 0);
    EXPECT_ERR(listen(u, 5), EOPNOTSUPP);
    EXPECT_RET(fcntl(t, F_SETFL, O_NONBLOCK), 0);
    EXPECT_ERR(accept(t, NULL, NULL), EAGAIN);
    EXPECT_ERR(accept(u, NULL, NULL), EOPNOTSUPP);

    int t2 = socket(AF_INET, SOCK_STREAM, 0);
    char buf[8];
    EXPECT_ERR(recv(t2, buf, sizeof buf, 0), ENOTCONN);
    EXPECT_ERR(shutdown(t2, 7), EINVAL);
    EXPECT_ERR(shutdown(t2, SHUT_RDWR), ENOTCONN);
    EXPECT_ERR(send(u, "x", 1, 0), EDESTADDRREQ);
    EXPECT_ERR(recv(u, buf, sizeof buf, 0), EAGAIN);
    EXPECT_ERR(recv(u, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);

    int v = 0;
    socklen_t vl = sizeof v;
    EXPECT_RET(getsockopt(t2, SOL_SOCKET, SO_TYPE, &v, &vl), 0);
    check(v == SOCK_STREAM && vl == sizeof v, "SO_TYPE of a stream socket");
    vl = sizeof v;
    EXPECT_RET(getsockopt(u, SOL_SOCKET, SO_TYPE, &v, &vl), 0);
    check(v == SOCK_DGRAM, "SO_TYPE of a datagram socket");
    v = 1;
    EXPECT_RET(setsockopt(t2, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v), 0);
    v = 0;
    vl = sizeof v;
    EXPECT_RET(getsockopt(t2, SOL_SOCKET, SO_REUSEADDR, &v, &vl), 0);
    check(v == 1, "SO_REUSEADDR reads back");
    v = 1;
    EXPECT_RET(setsockopt(t2, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v), 0);
    EXPECT_ERR(setsockopt(t2, SOL_SOCKET, SO_REUSEADDR, &v, 2), EINVAL);
    EXPECT_ERR(setsockopt(t2, SOL_SOCKET, 12345, &v, sizeof v), ENOPROTOOPT);
    v = 4096;
    EXPECT_RET(setsockopt(t2, SOL_SOCKET, SO_RCVBUF, &v, sizeof v), 0);
    vl = sizeof v;
    EXPECT_RET(getsockopt(t2, SOL_SOCKET, SO_RCVBUF, &v, &vl), 0);
    check(v == 8192, "SO_RCVBUF reads back doubled, as Linux keeps it");
    vl = sizeof v;
    EXPECT_RET(getsockopt(t2, SOL_SOCKET, SO_ERROR, &v, &vl), 0);
    check(v == 0, "no pending error");

    EXPECT_ERR(listen(0, 1), ENOTSOCK);
    EXPECT_ERR(listen(999, 1), EBADF);
    EXPECT_ERR(getsockname(1, (struct sockaddr *)&a, &al), ENOTSOCK);
    EXPECT_RET(close(t), 0);
    EXPECT_RET(close(u), 0);
    EXPECT_RET(close(t2), 0);
    return finish();
}
