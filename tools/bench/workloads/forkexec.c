/* forkexec.c - fork + exec of a static hello (argv[1]) + wait, per run. */
#include "bench.h"
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    enum { BATCHES = 5, N = 20 };
    if (argc < 2) {
        fprintf(stderr, "usage: forkexec PROGRAM\n");
        return 2;
    }
    uint64_t v[BATCHES];
    for (int k = 0; k < BATCHES; k++) {
        uint64_t t0 = rdtsc();
        for (int i = 0; i < N; i++) {
            pid_t pid = fork();
            if (pid == 0) {
                int fd = open("/dev/null", O_WRONLY);
                if (fd >= 0)
                    dup2(fd, 1);
                execl(argv[1], argv[1], (char *)0);
                _exit(127);
            }
            int st;
            if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "forkexec: run failed\n");
                return 1;
            }
        }
        v[k] = (rdtsc() - t0) / N;
    }
    report("forkexec", (double)median(v, BATCHES), "cycles");
    return 0;
}
