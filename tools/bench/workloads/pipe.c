/* pipe.c - a 4-byte round trip between two processes over two pipes: the
 * parent writes 4 bytes, the child reads them and writes them back. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    enum { BATCHES = 5, N = 1000 };
    int up[2], down[2];
    if (pipe(up) || pipe(down)) {
        perror("pipe");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    char b[4] = "ping";
    if (pid == 0) {
        close(down[1]); /* so the parent's close ends the loop */
        close(up[0]);
        while (read(down[0], b, 4) == 4)
            if (write(up[1], b, 4) != 4)
                break;
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    uint64_t v[BATCHES];
    for (int k = 0; k < BATCHES; k++) {
        uint64_t t0 = rdtsc();
        for (int i = 0; i < N; i++)
            if (write(down[1], b, 4) != 4 || read(up[0], b, 4) != 4) {
                perror("pipe round trip");
                return 1;
            }
        v[k] = (rdtsc() - t0) / N;
    }
    close(down[1]);
    waitpid(pid, 0, 0);
    report("pipe", (double)median(v, BATCHES), "cycles");
    return 0;
}
