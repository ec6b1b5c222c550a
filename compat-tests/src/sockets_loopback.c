// sockets_loopback.c - TCP and UDP between sockets of one process over the
// loopback (127.0.0.1): connect/accept with non-blocking sockets and poll,
// data both ways, end of stream, getpeername/getsockname agreeing, UDP
// datagrams with their sender, MSG_PEEK, and ECONNREFUSED to a closed port.
#include "compat.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

static int wait_for(int fd, short events)
{
    struct pollfd p = { .fd = fd, .events = events };
    return poll(&p, 1, 5000) == 1 ? p.revents : 0;
}

int main(void)
{
    struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int l = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_RET(bind(l, (struct sockaddr *)&any, sizeof any), 0);
    EXPECT_RET(listen(l, 4), 0);
    struct sockaddr_in la;
    socklen_t len = sizeof la;
    EXPECT_RET(getsockname(l, (struct sockaddr *)&la, &len), 0);
    check(la.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && la.sin_port != 0, "the listener is on 127.0.0.1 with a port");

    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr *)&la, sizeof la);
    check(r == 0 || errno == EINPROGRESS, "non-blocking connect: 0 or EINPROGRESS");
    check(wait_for(l, POLLIN) & POLLIN, "the listener becomes readable");
    struct sockaddr_in pa;
    len = sizeof pa;
    int a = accept(l, (struct sockaddr *)&pa, &len);
    check(a >= 0, "accept");
    check(len == sizeof pa && pa.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "the peer is 127.0.0.1");
    check(wait_for(c, POLLOUT) & POLLOUT, "the client becomes writable once connected");
    int err = -1;
    socklen_t el = sizeof err;
    EXPECT_RET(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el), 0);
    check(err == 0, "SO_ERROR is 0 after the connection");
    struct sockaddr_in cn, cp;
    len = sizeof cn;
    EXPECT_RET(getsockname(c, (struct sockaddr *)&cn, &len), 0);
    len = sizeof cp;
    EXPECT_RET(getpeername(a, (struct sockaddr *)&cp, &len), 0);
    check(cn.sin_port == cp.sin_port, "the client's port is what the server sees");

    EXPECT_RET(send(c, "ping", 4, 0), 4);
    char buf[64] = { 0 };
    check(wait_for(a, POLLIN) & POLLIN, "data makes the accepted socket readable");
    EXPECT_RET(recv(a, buf, 2, MSG_PEEK), 2);
    EXPECT_RET(recv(a, buf, sizeof buf, 0), 4);
    check(memcmp(buf, "ping", 4) == 0, "the bytes arrived");
    EXPECT_RET(write(a, "pong!", 5), 5);
    check(wait_for(c, POLLIN) & POLLIN, "the answer makes the client readable");
    EXPECT_RET(read(c, buf, sizeof buf), 5);
    check(memcmp(buf, "pong!", 5) == 0, "the answer arrived");
    EXPECT_RET(shutdown(c, SHUT_WR), 0);
    check(wait_for(a, POLLIN) & POLLIN, "end of stream makes it readable");
    EXPECT_RET(read(a, buf, sizeof buf), 0);
    EXPECT_RET(close(a), 0);
    EXPECT_RET(close(c), 0);
    EXPECT_RET(close(l), 0);

    // Nothing listens there any more.
    int d = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_ERR(connect(d, (struct sockaddr *)&la, sizeof la), ECONNREFUSED);
    close(d);

    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    EXPECT_RET(bind(u1, (struct sockaddr *)&any, sizeof any), 0);
    struct sockaddr_in ua;
    len = sizeof ua;
    EXPECT_RET(getsockname(u1, (struct sockaddr *)&ua, &len), 0);
    EXPECT_RET(sendto(u2, "datagram", 8, 0, (struct sockaddr *)&ua, sizeof ua), 8);
    check(wait_for(u1, POLLIN) & POLLIN, "the datagram makes the receiver readable");
    struct sockaddr_in from;
    len = sizeof from;
    EXPECT_RET(recvfrom(u1, buf, sizeof buf, 0, (struct sockaddr *)&from, &len), 8);
    check(memcmp(buf, "datagram", 8) == 0 && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "the datagram and its sender");
    EXPECT_RET(sendto(u1, "back", 4, 0, (struct sockaddr *)&from, len), 4);
    EXPECT_RET(recv(u2, buf, sizeof buf, 0), 4);
    check(memcmp(buf, "back", 4) == 0, "the answer to the sender's port");

    // sendmsg from two pieces, recvmsg into two pieces with the sender's name.
    struct iovec out[2] = { { "scatter/", 8 }, { "gather", 6 } };
    struct msghdr sm = { .msg_name = &ua, .msg_namelen = sizeof ua, .msg_iov = out, .msg_iovlen = 2 };
    EXPECT_RET(sendmsg(u2, &sm, 0), 14);
    char p1[5] = { 0 }, p2[20] = { 0 };
    struct iovec in[2] = { { p1, 4 }, { p2, sizeof p2 } };
    struct sockaddr_in src;
    struct msghdr rm = { .msg_name = &src, .msg_namelen = sizeof src, .msg_iov = in, .msg_iovlen = 2 };
    EXPECT_RET(recvmsg(u1, &rm, 0), 14);
    check(memcmp(p1, "scat", 4) == 0 && memcmp(p2, "ter/gather", 10) == 0, "recvmsg scattered the datagram");
    check(rm.msg_namelen == sizeof src && src.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "recvmsg named the sender");
    check(rm.msg_controllen == 0 && rm.msg_flags == 0, "no control data, no flags");
    close(u1);
    close(u2);
    return finish();
}
