// signals_handlers.c - handlers run: SA_SIGINFO and what siginfo says, the mask
// inside a handler, SA_RESETHAND, SA_ONSTACK, sigsuspend, SIGCHLD, SIGALRM from
// setitimer, EINTR and SA_RESTART for a blocked read, a sleep's remaining time, SIGPIPE, and a SIGSEGV
// handler that escapes with siglongjmp.
#include "compat.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits, last_sig, last_code, self_blocked, pid_ok, on_alt;
static volatile uintptr_t fault_addr;
static char alt[65536];
static sigjmp_buf env;

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    hits++;
    last_sig = sig;
    last_code = si->si_code;
    pid_ok = si->si_pid == getpid();
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    self_blocked = sigismember(&cur, sig);
    char here;
    on_alt = (uintptr_t)&here >= (uintptr_t)alt && (uintptr_t)&here < (uintptr_t)alt + sizeof alt;
}

static void on_plain(int sig)
{
    hits++;
    last_sig = sig;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    fault_addr = (uintptr_t)si->si_addr;
    last_code = si->si_code;
    siglongjmp(env, 1);
}

static void set(int sig, void (*fn)(int, siginfo_t *, void *), void (*plain)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (fn) {
        sa.sa_sigaction = fn;
        sa.sa_flags = SA_SIGINFO | flags;
    } else {
        sa.sa_handler = plain;
        sa.sa_flags = flags;
    }
    sigemptyset(&sa.sa_mask);
    check(sigaction(sig, &sa, NULL) == 0, "sigaction");
}

int main(void)
{
    /* raise: a thread-directed kill (SI_TKILL); kill: SI_USER with our pid. */
    set(SIGUSR1, on_info, NULL, 0);
    hits = 0;
    raise(SIGUSR1);
    printf("raise: hits %d, sig USR1 %d, code SI_TKILL %d, blocked inside %d\n", hits, last_sig == SIGUSR1, last_code == SI_TKILL, self_blocked);
    kill(getpid(), SIGUSR1);
    printf("kill: hits %d, code SI_USER %d, si_pid is us %d\n", hits, last_code == SI_USER, pid_ok);
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("after the handler, USR1 unblocked again: %d\n", !sigismember(&cur, SIGUSR1));

    /* A plain handler (no SA_SIGINFO). */
    set(SIGUSR2, NULL, on_plain, 0);
    hits = 0;
    raise(SIGUSR2);
    raise(SIGUSR2);
    printf("plain handler: hits %d\n", hits);

    /* SA_RESETHAND: the second signal takes the default action. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        set(SIGUSR2, NULL, on_plain, SA_RESETHAND);
        raise(SIGUSR2);
        write(1, "first USR2 handled\n", 19);
        raise(SIGUSR2);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("SA_RESETHAND: second killed the child %d\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR2);

    /* SA_ONSTACK runs the handler on the alternate stack. */
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    check(sigaltstack(&ss, NULL) == 0, "sigaltstack");
    set(SIGUSR1, on_info, NULL, SA_ONSTACK);
    raise(SIGUSR1);
    printf("SA_ONSTACK: on the alternate stack %d\n", on_alt);
    set(SIGUSR1, on_info, NULL, 0);
    raise(SIGUSR1);
    printf("without SA_ONSTACK: on the alternate stack %d\n", on_alt);

    /* sigsuspend: USR1 blocked, a child sends it, sigsuspend returns EINTR. */
    sigset_t block, old, wait_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t parent = getpid();
    hits = 0;
    fflush(stdout);
    c = fork();
    if (c == 0) {
        kill(parent, SIGUSR1);
        _exit(0);
    }
    sigemptyset(&wait_mask);
    errno = 0;
    int r = sigsuspend(&wait_mask);
    printf("sigsuspend: %d %s, hits %d\n", r, errno_name(errno), hits);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("mask restored after sigsuspend: %d\n", sigismember(&cur, SIGUSR1));
    waitpid(c, &st, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* SIGCHLD: the handler has run by the time waitpid returns. */
    set(SIGCHLD, NULL, on_plain, SA_RESTART);
    hits = 0;
    fflush(stdout);
    c = fork();
    if (c == 0)
        _exit(3);
    check(waitpid(c, &st, 0) == c, "waitpid with a SIGCHLD handler");
    printf("SIGCHLD handler ran: %d, exit %d\n", hits == 1 && last_sig == SIGCHLD, WEXITSTATUS(st));
    signal(SIGCHLD, SIG_DFL);

    /* SIGALRM from setitimer interrupts pause. */
    set(SIGALRM, NULL, on_plain, 0);
    hits = 0;
    struct itimerval it = {{0, 0}, {0, 20000}};
    check(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
    errno = 0;
    r = pause();
    printf("pause: %d %s, SIGALRM handled %d\n", r, errno_name(errno), hits == 1 && last_sig == SIGALRM);

    /* A sleep a handler interrupts: EINTR even with SA_RESTART, and the time
       it had left in rem (relative sleeps only; an unwritable rem is EFAULT). */
    set(SIGALRM, NULL, on_plain, SA_RESTART);
    for (int kind = 0; kind < 4; kind++) {
        struct timespec req = {2, 0}, rem = {-1, -1};
        struct itimerval once = {{0, 0}, {0, 50000}};
        check(setitimer(ITIMER_REAL, &once, NULL) == 0, "setitimer");
        errno = 0;
        if (kind == 0) {
            r = nanosleep(&req, &rem);
        } else if (kind == 1) {
            r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
            errno = r; r = r ? -1 : 0;
        } else if (kind == 2) {
            r = syscall(SYS_nanosleep, &req, bad_ptr_8);
        } else {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            now.tv_sec += 2;
            r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, &rem);
            errno = r; r = r ? -1 : 0;
        }
        int sane = rem.tv_sec >= 1 && rem.tv_sec <= 2 && rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000;
        printf("sleep kind %d interrupted: %d %s, rem %s\n", kind, r, errno_name(errno), sane ? "1..2 s" : rem.tv_sec == -1 && rem.tv_nsec == -1 ? "untouched" : "wrong");
    }

    /* A blocked read: EINTR without SA_RESTART, resumed with it. */
    for (int restart = 0; restart <= 1; restart++) {
        set(SIGUSR1, NULL, on_plain, restart ? SA_RESTART : 0);
        int p[2];
        check(pipe(p) == 0, "pipe");
        fflush(stdout);
        c = fork();
        if (c == 0) {
            usleep(20000);
            kill(parent, SIGUSR1);
            usleep(20000);
            write(p[1], "data", 4);
            _exit(0);
        }
        char b[8];
        errno = 0;
        ssize_t n = read(p[0], b, sizeof b);
        printf("read %s SA_RESTART: %zd %s\n", restart ? "with" : "without", n, n < 0 ? errno_name(errno) : "(data)");
        waitpid(c, &st, 0);
        close(p[0]);
        close(p[1]);
    }

    /* SIGPIPE with a handler: the handler runs and write fails with EPIPE. */
    set(SIGPIPE, NULL, on_plain, 0);
    int p[2];
    check(pipe(p) == 0, "pipe");
    close(p[0]);
    hits = 0;
    errno = 0;
    r = write(p[1], "x", 1);
    printf("SIGPIPE handler: write %d %s, handled %d\n", r, errno_name(errno), hits == 1 && last_sig == SIGPIPE);
    close(p[1]);

    /* SIGSEGV: the handler sees the address and leaves with siglongjmp. */
    set(SIGSEGV, on_segv, NULL, 0);
    if (sigsetjmp(env, 1) == 0) {
        volatile int *bad = (volatile int *)16;
        *bad = 1;
        printf("not reached\n");
    } else {
        printf("SIGSEGV handler: address 16 %d, SEGV_MAPERR %d\n", fault_addr == 16, last_code == SEGV_MAPERR);
    }
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("SIGSEGV unblocked after siglongjmp: %d\n", !sigismember(&cur, SIGSEGV));
    return finish();
}
