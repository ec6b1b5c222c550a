// resolve.c - name resolution from /etc/hosts, as a static program does it:
// getaddrinfo and gethostbyname of "localhost" (IPv4), numeric hosts and
// ports, AI_NUMERICHOST refusing a name, getnameinfo numeric, and a TCP
// connection over 127.0.0.1 to a listener found by name. Only names every
// Linux machine's /etc/hosts has (localhost); no DNS.
#include "compat.h"
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void show(const char *what, const char *host, const char *port, int flags)
{
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_flags = flags }, *res = NULL;
    int r = getaddrinfo(host, port, &hints, &res);
    if (r != 0) {
        printf("%s: getaddrinfo failed (%s)\n", what, r == EAI_NONAME ? "EAI_NONAME" : "another error");
        return;
    }
    int n = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        struct sockaddr_in *in = (struct sockaddr_in *)a->ai_addr;
        char ip[32];
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        printf("%s: %s port %d, socktype %d, protocol %d\n", what, ip, ntohs(in->sin_port), a->ai_socktype, a->ai_protocol);
        n++;
    }
    freeaddrinfo(res);
    check(n >= 1, "at least one address");
}

int main(void)
{
    show("localhost", "localhost", "8080", 0);
    show("numeric", "127.0.0.1", "99", AI_NUMERICHOST | AI_NUMERICSERV);
    show("numeric host, name refused", "localhost", "1", AI_NUMERICHOST);
    show("passive, no host", NULL, "7000", AI_PASSIVE);

    struct hostent *he = gethostbyname("localhost");
    check(he != NULL && he->h_addrtype == AF_INET && he->h_length == 4, "gethostbyname(localhost)");
    if (he)
        printf("gethostbyname: %s\n", inet_ntoa(*(struct in_addr *)he->h_addr_list[0]));

    struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = htons(5353), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    char host[64], serv[16];
    EXPECT_RET(getnameinfo((struct sockaddr *)&lo, sizeof lo, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV), 0);
    printf("getnameinfo: %s %s\n", host, serv);

    /* A listener on 127.0.0.1, reached by the name "localhost". */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    check(bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0 && getsockname(l, (struct sockaddr *)&a, &al) == 0, "listener");
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
    check(getaddrinfo("localhost", port, &hints, &res) == 0 && res, "getaddrinfo(localhost, port)");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_RET(connect(c, res->ai_addr, res->ai_addrlen), 0);
    freeaddrinfo(res);
    int s = accept(l, NULL, NULL);
    EXPECT_RET(write(c, "by name", 7), 7);
    char buf[16] = { 0 };
    EXPECT_RET(read(s, buf, sizeof buf), 7);
    printf("received: %s\n", buf);
    close(c);
    close(s);
    close(l);
    return finish();
}
