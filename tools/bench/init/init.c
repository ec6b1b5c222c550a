/* init.c - the init of the Linux baseline's initramfs (`cargo xtask bench`).
 *
 * Linux runs it as the first program. It reports its own start (the boot
 * probe, as hello.c does on SiON), then runs each line of /bench/run
 * ("PROGRAM ARG...") with fork + execv + waitpid, its output going to the
 * serial console, and powers the machine off through QEMU's isa-debug-exit
 * (port 0xf4), falling back to reboot(RB_POWER_OFF). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static void poweroff(int code)
{
    fflush(stdout);
    /* The serial driver sends what it was given after write returns: wait
       until the UART took it, or the last lines (init: done) die with QEMU. */
    tcdrain(1);
    sync();
    if (ioperm(0xf4, 4, 1) == 0)
        outb(code, 0xf4);
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}

int main(void)
{
    uint64_t t0 = rdtsc();
    static const char line[] = "init: Linux baseline for SiON benchmarks\n";
    if (write(1, line, sizeof line - 1) < 0) {
        /* No console: nothing to report to. */
        poweroff(3);
    }
    uint64_t t1 = rdtsc();
    printf("BENCH boot.main %llu tsc\nBENCH boot.output %llu tsc\n", (unsigned long long)t0, (unsigned long long)t1);
    fflush(stdout);
    mount("proc", "/proc", "proc", 0, 0);

    FILE *f = fopen("/bench/run", "r");
    if (!f) {
        printf("init: no /bench/run\n");
        poweroff(2);
    }
    char cmd[1024];
    int failed = 0;
    while (fgets(cmd, sizeof cmd, f)) {
        cmd[strcspn(cmd, "\n")] = 0;
        if (!cmd[0] || cmd[0] == '#')
            continue;
        char copy[1024], *argv[32];
        int argc = 0;
        strcpy(copy, cmd);
        for (char *tok = strtok(copy, " "); tok && argc < 31; tok = strtok(0, " "))
            argv[argc++] = tok;
        argv[argc] = 0;
        printf("init: run %s\n", cmd);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char *envp[] = {"PATH=/bench", 0};
            execve(argv[0], argv, envp);
            perror("execve");
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        printf("init: exit %d: %s\n", code, cmd);
        failed |= code != 0;
    }
    printf("init: done\n");
    poweroff(failed ? 1 : 0);
}
