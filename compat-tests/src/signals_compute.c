// signals_compute.c - a caught signal reaches a thread that computes without
// making system calls (Go preempts goroutines so, with SIGURG and tgkill): a
// timer's SIGALRM interrupts the main thread's loop, pthread_kill reaches a
// spinning thread again and again, a signal sent to a stopped process that
// spins runs its handler once SIGCONT comes, and the interrupted floating-point work
// goes on intact although every handler wipes the x87 and SSE registers (the
// FPU state rides in the signal frame and comes back at sigreturn).
#include "compat.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <poll.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

/* Spins give up after this many rounds (seconds on Linux, minutes in QEMU):
 * a signal that never comes is a failure, not a hang. */
#define LIMIT 4000000000UL

static volatile sig_atomic_t fired, stop;
static volatile int hits;

/* Leave the x87 and SSE registers as no interrupted code had them. */
static void wipe_fpu(void)
{
    __asm__ volatile("fninit" ::: "memory");
#if defined(__x86_64__) || defined(__SSE2__)
    __asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\tpcmpeqd %%xmm2, %%xmm2\n\tpcmpeqd %%xmm3, %%xmm3\n\t"
                     "pcmpeqd %%xmm4, %%xmm4\n\tpcmpeqd %%xmm5, %%xmm5\n\tpcmpeqd %%xmm6, %%xmm6\n\tpcmpeqd %%xmm7, %%xmm7"
                     ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
#endif
#ifdef __x86_64__
    __asm__ volatile("pcmpeqd %%xmm8, %%xmm8\n\tpcmpeqd %%xmm9, %%xmm9\n\tpcmpeqd %%xmm10, %%xmm10\n\tpcmpeqd %%xmm11, %%xmm11\n\t"
                     "pcmpeqd %%xmm12, %%xmm12\n\tpcmpeqd %%xmm13, %%xmm13\n\tpcmpeqd %%xmm14, %%xmm14\n\tpcmpeqd %%xmm15, %%xmm15"
                     ::: "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
#endif
}

static void on_alarm(int sig)
{
    (void)sig;
    wipe_fpu();
    fired = 1;
}

static void on_urg(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    wipe_fpu();
    if (si->si_code == SI_TKILL)
        hits++;
}

/* a and b stay in registers through the loop; a == 2b at the end unless
 * something clobbered them. */
struct spin { double a, b; unsigned long n; };

static struct spin spin_until(volatile sig_atomic_t *flag)
{
    double a = 0, b = 0;
    unsigned long n = 0;
    while (!*flag && n < LIMIT) {
        a += 2.0;
        b += 1.0;
        n++;
    }
    return (struct spin){ a, b, n };
}

static struct spin spun;

static void *spinner(void *arg)
{
    (void)arg;
    spun = spin_until(&stop);
    return NULL;
}

static int usr1_pipe = -1;

static void on_usr1(int sig)
{
    (void)sig;
    wipe_fpu();
    if (write(usr1_pipe, "h", 1) != 1)
        _exit(4);
    stop = 1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_alarm;
    EXPECT_RET(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval it = { { 0, 0 }, { 0, 20000 } };
    EXPECT_RET(setitimer(ITIMER_REAL, &it, NULL), 0);
    struct spin s = spin_until(&fired);
    check(fired, "SIGALRM's handler ran while the main thread computed");
    check(s.n < LIMIT, "the loop ended because of it");
    check(s.a == 2 * s.b && s.b == (double)s.n, "the loop's floating-point registers came back intact");

    sa.sa_handler = NULL;
    sa.sa_sigaction = on_urg;
    sa.sa_flags = SA_SIGINFO;
    EXPECT_RET(sigaction(SIGURG, &sa, NULL), 0);
    pthread_t t;
    EXPECT_RET(pthread_create(&t, NULL, spinner, NULL), 0);
    int reached = 0;
    for (int i = 0; i < 5; i++) {
        int before = hits;
        if (pthread_kill(t, SIGURG) != 0)
            break;
        double t0 = now();
        while (hits == before && now() - t0 < 10) {
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);
        }
        reached += hits > before;
    }
    check(reached == 5, "each of 5 SIGURGs reached the spinning thread (%d did)", reached);
    stop = 1;
    EXPECT_RET(pthread_join(t, NULL), 0);
    check(spun.n < LIMIT, "the spinning thread stopped when told");
    check(spun.a == 2 * spun.b && spun.b == (double)spun.n, "its floating-point registers came back intact 5 times");

    /* A signal for a stopped process that computes: its handler runs once it continues. */
    int p[2];
    EXPECT_RET(pipe(p), 0);
    stop = 0;
    pid_t c = fork();
    if (c == 0) {
        usr1_pipe = p[1];
        struct sigaction su = { 0 };
        su.sa_handler = on_usr1;
        sigaction(SIGUSR1, &su, NULL);
        if (write(p[1], "r", 1) != 1)
            _exit(3);
        struct spin s2 = spin_until(&stop);
        _exit(s2.n < LIMIT && s2.a == 2 * s2.b ? 0 : 5);
    }
    char got = 0;
    EXPECT_RET(read(p[0], &got, 1), 1);
    EXPECT_RET(kill(c, SIGSTOP), 0);
    int st = 0;
    check(waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st), "the spinning child stopped");
    EXPECT_RET(kill(c, SIGUSR1), 0);
    struct pollfd pf = { p[0], POLLIN, 0 };
    check(poll(&pf, 1, 200) == 0, "no handler runs while it is stopped");
    EXPECT_RET(kill(c, SIGCONT), 0);
    check(poll(&pf, 1, 10000) == 1 && read(p[0], &got, 1) == 1 && got == 'h', "its handler ran once SIGCONT came, while it spun");
    check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "it stopped spinning and exited 0, registers intact");
    return finish();
}
