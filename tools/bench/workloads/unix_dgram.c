/* unix_dgram.c - AF_UNIX datagram sockets with the seed paper's message sizes
 * (table 3): for each size, the median cycles of
 *   unix_dgram.SIZE    a round trip between two processes (the client sends
 *                      SIZE bytes, the server receives and sends SIZE bytes
 *                      back): the counterpart of a native call + reply;
 *   unix_send_recv.SIZE  send + receive of SIZE bytes within one process. */
#include "bench.h"
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const int sizes[] = {4, 1024, 4096, 8192, 16384, 65500};
enum { NSIZES = sizeof sizes / sizeof sizes[0], BATCHES = 5, N = 200 };
static char buf[65536];

int main(void)
{
    int sv[2];
    int big = 1 << 20;
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) {
        perror("socketpair");
        return 1;
    }
    for (int i = 0; i < 2; i++) {
        setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
        setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    }
    char name[64];
    uint64_t v[BATCHES];
    /* One process: send then receive. */
    for (int s = 0; s < NSIZES; s++) {
        int n = sizes[s];
        for (int b = 0; b < BATCHES; b++) {
            uint64_t t0 = rdtsc();
            for (int i = 0; i < N; i++) {
                if (send(sv[0], buf, n, 0) != n || recv(sv[1], buf, sizeof buf, 0) != n) {
                    perror("send/recv");
                    return 1;
                }
            }
            v[b] = (rdtsc() - t0) / N;
        }
        snprintf(name, sizeof name, "unix_send_recv.%d", n);
        report(name, (double)median(v, BATCHES), "cycles");
    }
    /* Two processes: an echo server child. */
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        for (;;) {
            ssize_t r = recv(sv[1], buf, sizeof buf, 0);
            if (r <= 0 || (r == 1 && buf[0] == 'q'))
                _exit(0);
            send(sv[1], buf, r, 0);
        }
    }
    for (int s = 0; s < NSIZES; s++) {
        int n = sizes[s];
        for (int b = 0; b < BATCHES; b++) {
            uint64_t t0 = rdtsc();
            for (int i = 0; i < N; i++) {
                if (send(sv[0], buf, n, 0) != n || recv(sv[0], buf, sizeof buf, 0) != n) {
                    perror("round trip");
                    return 1;
                }
            }
            v[b] = (rdtsc() - t0) / N;
        }
        snprintf(name, sizeof name, "unix_dgram.%d", n);
        report(name, (double)median(v, BATCHES), "cycles");
    }
    send(sv[0], "q", 1, 0);
    waitpid(pid, 0, 0);
    return 0;
}
