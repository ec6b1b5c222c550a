// tcp_client.c - a static TCP client for the test LAN: it connects to the
// IPv4 address argv[1], port argv[2] (retrying for up to 20 s while the
// server is not listening yet), sends argv[3], shuts its side, prints what
// comes back until the server closes, and exits 0 (1 on any failure).
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: tcp_client ADDRESS PORT TEXT\n"); return 2; }
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", argv[1]); return 2; }
    int s = -1;
    for (int tries = 0; tries < 100; tries++) {
        s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) { perror("socket"); return 1; }
        if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) break;
        int e = errno;
        close(s);
        s = -1;
        if (e != ECONNREFUSED && e != ECONNRESET && e != ETIMEDOUT && e != EHOSTUNREACH) { errno = e; perror("connect"); return 1; }
        struct timespec t = { 0, 200 * 1000 * 1000 };
        nanosleep(&t, NULL);
    }
    if (s < 0) { fprintf(stderr, "connect: nobody listens at %s:%s\n", argv[1], argv[2]); return 1; }
    size_t len = strlen(argv[3]);
    if (write(s, argv[3], len) != (ssize_t)len) { perror("write"); return 1; }
    shutdown(s, SHUT_WR);
    char buf[4096];
    ssize_t n;
    while ((n = read(s, buf, sizeof buf)) > 0) fwrite(buf, 1, n, stdout);
    if (n < 0) { perror("read"); return 1; }
    printf("\n");
    return 0;
}
