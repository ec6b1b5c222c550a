// tcp_upper.c - a static TCP server for the network tests: it listens on the
// port in argv[1], takes argv[2] connections (default 1) one after another,
// sends back what it reads on each in upper case until the client shuts its
// side, and exits 0. `cargo xtask test` runs
// it through `sion exec --publish` and talks to it from the host.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ctype.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <arpa/inet.h>
int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 7000;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) { perror("socket"); return 1; }
    int one = 1;
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) perror("setsockopt");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
    if (listen(s, 4) < 0) { perror("listen"); return 1; }
    struct sockaddr_in me; socklen_t ml = sizeof me;
    getsockname(s, (struct sockaddr *)&me, &ml);
    printf("listening on port %d\n", ntohs(me.sin_port)); fflush(stdout);
    int conns = argc > 2 ? atoi(argv[2]) : 1;
    long total = 0;
    for (int k = 0; k < conns; k++) {
        struct sockaddr_in peer; socklen_t pl = sizeof peer;
        int c = accept(s, (struct sockaddr *)&peer, &pl);
        if (c < 0) { perror("accept"); return 1; }
        printf("accepted a connection (addrlen %d)\n", pl); fflush(stdout);
        char buf[4096]; ssize_t n;
        while ((n = read(c, buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < n; i++) buf[i] = toupper((unsigned char)buf[i]);
            if (write(c, buf, n) != n) { perror("write"); return 1; }
            total += n;
        }
        if (n < 0) perror("read");
        close(c);
    }
    close(s);
    printf("served %ld bytes\n", total);
    return 0;
}
