/* spawn.c - one run of a real program: fork, exec argv[2..] with stdout to
 * /dev/null, wait; reports the cycles of the whole run as BENCH <argv[1]>.
 * The bench uses it for syscall-heavy programs (busybox sha256sum, gzip,
 * sort over a few MB) on both systems. */
#include "bench.h"
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: spawn NAME PROGRAM [ARGS...]\n");
        return 2;
    }
    uint64_t t0 = rdtsc();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 1);
        execv(argv[2], argv + 2);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "spawn: %s failed\n", argv[2]);
        return 1;
    }
    report(argv[1], (double)(rdtsc() - t0), "cycles");
    return 0;
}
