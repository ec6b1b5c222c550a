// posix_timers.c - POSIX timers and timerfd: the errors of timer_create,
// timer_settime, timer_gettime, timer_delete; a NULL sigevent (SIGALRM with
// the timer id as value); periodic SIGEV_SIGNAL with a SA_SIGINFO handler
// (si_code SI_TIMER, si_timerid, si_value); SIGEV_THREAD_ID reaching its
// thread alone; overruns while the signal is blocked (si_overrun and
// timer_getoverrun); absolute times on CLOCK_REALTIME and CLOCK_MONOTONIC;
// SIGEV_NONE's remaining time; the siginfo a signalfd reads; timers not
// inherited by fork and gone after exec. timerfd: read counts, EAGAIN,
// blocking reads, poll and epoll readiness, gettime, TFD_TIMER_ABSTIME, its
// errors, and a timerfd shared across fork. Times are checked against wide
// tolerances and printed as ok/FAIL only, never raw. Through the C library:
// SIGEV_THREAD callbacks and a CLOCK_PROCESS_CPUTIME_ID timer.
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

#define MS 1000000LL

/* The kernel's struct sigevent (64 bytes), so SIGEV_THREAD_ID is spelled
 * the same with every libc. */
struct ksigevent {
    union sigval value;
    int signo;
    int notify;
    union {
        int tid;
        char pad[64 - 2 * sizeof(int) - sizeof(union sigval)];
    } un;
};

static long k_create(clockid_t clock, struct ksigevent *ev, int *id)
{
    return syscall(SYS_timer_create, clock, ev, id);
}

static long k_settime(int id, int flags, const struct itimerspec *new, struct itimerspec *old)
{
    return syscall(SYS_timer_settime, id, flags, new, old);
}

static long k_gettime(int id, struct itimerspec *cur)
{
    return syscall(SYS_timer_gettime, id, cur);
}

static int64_t ns_of(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static struct itimerspec spec(int64_t value_ns, int64_t interval_ns)
{
    struct itimerspec s;
    s.it_value.tv_sec = value_ns / 1000000000LL;
    s.it_value.tv_nsec = value_ns % 1000000000LL;
    s.it_interval.tv_sec = interval_ns / 1000000000LL;
    s.it_interval.tv_nsec = interval_ns % 1000000000LL;
    return s;
}

static void sleep_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * MS };
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

static volatile int handled, bad_code, bad_value, bad_id, handler_id;

static void on_timer(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    handled++;
    if (si->si_code != SI_TIMER)
        bad_code++;
    if (si->si_value.sival_int != 42)
        bad_value++;
    if (si->si_timerid != handler_id)
        bad_id++;
}

/* Wait up to 2 s for a blocked signal of `set`. */
static int wait_sig(const sigset_t *set, siginfo_t *si)
{
    struct timespec t = { 2, 0 };
    return sigtimedwait(set, si, &t);
}

/* Take what is left pending of `set` (a periodic timer may have expired
 * again between the signal taken and its deletion). */
static void drain(const sigset_t *set)
{
    struct timespec zero = { 0, 0 };
    while (sigtimedwait(set, NULL, &zero) > 0) {
    }
}

static volatile int callbacks;

static void on_expiry(union sigval v)
{
    if (v.sival_int == 7)
        __atomic_add_fetch(&callbacks, 1, __ATOMIC_SEQ_CST);
}

/* SIGEV_THREAD (the C library's thread, on SIGEV_THREAD_ID underneath) and
 * a timer on the process's CPU clock, which expires only after that much
 * CPU time. */
static void libc_timers(void)
{
    struct sigevent sev;
    timer_t t;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = on_expiry;
    sev.sigev_value.sival_int = 7;
    EXPECT_RET(timer_create(CLOCK_MONOTONIC, &sev, &t), 0);
    struct itimerspec its = spec(10 * MS, 10 * MS);
    EXPECT_RET(timer_settime(t, 0, &its, NULL), 0);
    for (int i = 0; i < 500 && __atomic_load_n(&callbacks, __ATOMIC_SEQ_CST) < 5; i++)
        sleep_ms(10);
    check(__atomic_load_n(&callbacks, __ATOMIC_SEQ_CST) >= 5, "SIGEV_THREAD: 5 callbacks with the value");
    EXPECT_RET(timer_delete(t), 0);

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    EXPECT_RET(timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &t), 0);
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    its = spec(50 * MS, 0);
    EXPECT_RET(timer_settime(t, 0, &its, NULL), 0);
    sigset_t pend;
    do
        sigpending(&pend);
    while (!sigismember(&pend, SIGUSR1));
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    check(ns_of(&b) - ns_of(&a) >= 50 * MS, "CPU-time timer: expired after 50 ms of CPU time");
    EXPECT_RET(timer_delete(t), 0);
    drain(&set);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static volatile int thread_tid, thread_got, thread_code;
static volatile int thread_ready;

static void *thread_main(void *arg)
{
    sigset_t *set = arg;
    siginfo_t si;
    thread_tid = (int)syscall(SYS_gettid);
    __atomic_store_n(&thread_ready, 1, __ATOMIC_SEQ_CST);
    struct timespec t = { 5, 0 };
    thread_got = sigtimedwait(set, &si, &t);
    thread_code = si.si_code;
    return NULL;
}

static void errors(void)
{
    struct ksigevent ev;
    int id;
    struct itimerspec its = spec(0, 0);
    memset(&ev, 0, sizeof ev);
    EXPECT_ERR(k_create(100, NULL, &id), EINVAL);
    ev.notify = 99;
    ev.signo = SIGUSR1;
    EXPECT_ERR(k_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
    ev.notify = SIGEV_SIGNAL;
    ev.signo = 0;
    EXPECT_ERR(k_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
    ev.signo = 65;
    EXPECT_ERR(k_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
    ev.notify = SIGEV_THREAD_ID;
    ev.signo = SIGUSR1;
    ev.un.tid = 0x3fffffff;
    EXPECT_ERR(k_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
    EXPECT_ERR(k_create(CLOCK_MONOTONIC, bad_ptr_8, &id), EFAULT);
    EXPECT_ERR(k_create(CLOCK_MONOTONIC, NULL, bad_ptr_8), EFAULT);
    EXPECT_ERR(k_settime(0x3fffffff, 0, &its, NULL), EINVAL);
    EXPECT_ERR(k_gettime(0x3fffffff, &its), EINVAL);
    EXPECT_ERR(syscall(SYS_timer_getoverrun, 0x3fffffff), EINVAL);
    EXPECT_ERR(syscall(SYS_timer_delete, 0x3fffffff), EINVAL);
    ev.notify = SIGEV_NONE;
    EXPECT_RET(k_create(CLOCK_MONOTONIC, &ev, &id), 0);
    EXPECT_ERR(k_settime(id, 0, NULL, NULL), EINVAL);
    its = spec(1000000000L, 0);
    its.it_value.tv_nsec = 1000000000LL;
    EXPECT_ERR(k_settime(id, 0, &its, NULL), EINVAL);
    its = spec(MS, 0);
    EXPECT_ERR(k_settime(id, 0, bad_ptr_8, NULL), EFAULT);
    EXPECT_ERR(k_gettime(id, bad_ptr_8), EFAULT);
    EXPECT_RET(syscall(SYS_timer_delete, id), 0);
    EXPECT_ERR(syscall(SYS_timer_delete, id), EINVAL);
}

static void signals(void)
{
    sigset_t set, old;
    siginfo_t si;
    int id;
    struct ksigevent ev;

    /* A NULL sigevent: SIGALRM, si_value = the timer id. */
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, &old);
    EXPECT_RET(k_create(CLOCK_MONOTONIC, NULL, &id), 0);
    struct itimerspec its = spec(20 * MS, 0);
    EXPECT_RET(k_settime(id, 0, &its, NULL), 0);
    int got = wait_sig(&set, &si);
    check(got == SIGALRM && si.si_code == SI_TIMER && si.si_value.sival_int == id && si.si_timerid == id && si.si_overrun == 0,
          "NULL sigevent: SIGALRM, SI_TIMER, value and si_timerid are the id");
    EXPECT_RET(syscall(SYS_timer_delete, id), 0);

    /* Periodic, to a SA_SIGINFO handler. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_timer;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    memset(&ev, 0, sizeof ev);
    ev.notify = SIGEV_SIGNAL;
    ev.signo = SIGUSR1;
    ev.value.sival_int = 42;
    EXPECT_RET(k_create(CLOCK_MONOTONIC, &ev, &id), 0);
    handler_id = id;
    its = spec(10 * MS, 10 * MS);
    EXPECT_RET(k_settime(id, 0, &its, NULL), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        sleep_ms(5);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (handled < 5 && ns_of(&t1) - ns_of(&t0) < 5000 * MS);
    check(handled >= 5, "periodic timer: 5 handler runs");
    check(!bad_code && !bad_value && !bad_id, "handler's siginfo: SI_TIMER, si_value 42, si_timerid");
    struct itimerspec cur;
    EXPECT_RET(k_gettime(id, &cur), 0);
    check(ns_of(&cur.it_interval) == 10 * MS && ns_of(&cur.it_value) > 0 && ns_of(&cur.it_value) <= 10 * MS, "gettime of a periodic timer");
    struct itimerspec zero = spec(0, 0), prev;
    EXPECT_RET(k_settime(id, 0, &zero, &prev), 0);
    check(ns_of(&prev.it_interval) == 10 * MS, "old value's interval");
    EXPECT_RET(k_gettime(id, &cur), 0);
    check(ns_of(&cur.it_value) == 0 && ns_of(&cur.it_interval) == 0, "disarmed");
    EXPECT_RET(syscall(SYS_timer_delete, id), 0);
    signal(SIGUSR1, SIG_DFL);

    /* Overruns while the signal is blocked. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    memset(&ev, 0, sizeof ev);
    ev.notify = SIGEV_SIGNAL;
    ev.signo = SIGUSR2;
    EXPECT_RET(k_create(CLOCK_MONOTONIC, &ev, &id), 0);
    its = spec(5 * MS, 5 * MS);
    EXPECT_RET(k_settime(id, 0, &its, NULL), 0);
    sleep_ms(150);
    got = wait_sig(&set, &si);
    long ov = syscall(SYS_timer_getoverrun, id);
    check(got == SIGUSR2 && si.si_code == SI_TIMER && si.si_overrun >= 5, "blocked periodic signal: si_overrun >= 5");
    check(ov == si.si_overrun, "timer_getoverrun equals the delivered si_overrun");
    EXPECT_RET(syscall(SYS_timer_delete, id), 0);
    drain(&set);

    /* An absolute time in the past, periodic: at once, with the periods missed as overruns. */
    EXPECT_RET(k_create(CLOCK_MONOTONIC, &ev, &id), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t abs = ns_of(&t0) - 100 * MS;
    its = spec(abs, 10 * MS);
    EXPECT_RET(k_settime(id, TIMER_ABSTIME, &its, NULL), 0);
    got = wait_sig(&set, &si);
    check(got == SIGUSR2 && si.si_overrun >= 9 && si.si_overrun < 100000, "absolute time in the past: at once, overruns >= 9");
    EXPECT_RET(syscall(SYS_timer_delete, id), 0);
    drain(&set);

    /* CLOCK_REALTIME absolute, one shot. */
    EXPECT_RET(k_create(CLOCK_REALTIME, &ev, &id), 0);
    clock_gettime(CLOCK_REALTIME, &t0);
    its = spec(ns_of(&t0) + 200 * MS, 0);
    EXPECT_RET(k_settime(id, TIMER_ABSTIME, &its, NULL), 0);
    EXPECT_RET(k_gettime(id, &cur), 0);
    check(ns_of(&cur.it_value) > 0 && ns_of(&cur.it_value) <= 200 * MS, "realtime absolute: time left within 200 ms");
    got = wait_sig(&set, &si);
    clock_gettime(CLOCK_REALTIME, &t1);
    check(got == SIGUSR2 && ns_of(&t1) >= ns_of(&t0) + 200 * MS, "realtime absolute: fired, not early");
    EXPECT_RET(syscall(SYS_timer_delete, id), 0);

    /* Through a signalfd: ssi_code, ssi_tid (the timer id), ssi_int. */
    int sfd = signalfd(-1, &set, 0);
    ev.value.sival_int = 7;
    EXPECT_RET(k_create(CLOCK_MONOTONIC, &ev, &id), 0);
    its = spec(10 * MS, 0);
    EXPECT_RET(k_settime(id, 0, &its, NULL), 0);
    struct signalfd_siginfo ssi;
    memset(&ssi, 0, sizeof ssi);
    ssize_t n = read(sfd, &ssi, sizeof ssi);
    check(n == sizeof ssi && ssi.ssi_signo == SIGUSR2 && ssi.ssi_code == SI_TIMER && (int)ssi.ssi_tid == id && ssi.ssi_int == 7 && ssi.ssi_overrun == 0,
          "signalfd: SI_TIMER, ssi_tid, ssi_int");
    close(sfd);
    EXPECT_RET(syscall(SYS_timer_delete, id), 0);

    /* SIGEV_NONE: nothing sent, the time left counts down. */
    ev.notify = SIGEV_NONE;
    EXPECT_RET(k_create(CLOCK_MONOTONIC, &ev, &id), 0);
    its = spec(30 * MS, 0);
    EXPECT_RET(k_settime(id, 0, &its, NULL), 0);
    sleep_ms(60);
    EXPECT_RET(k_gettime(id, &cur), 0);
    sigset_t pend;
    sigpending(&pend);
    check(ns_of(&cur.it_value) == 0 && !sigismember(&pend, SIGUSR2), "SIGEV_NONE: expired, no signal");
    EXPECT_RET(syscall(SYS_timer_delete, id), 0);

    /* SIGEV_THREAD_ID: the thread named takes it, the others do not see it. */
    pthread_t th;
    pthread_create(&th, NULL, thread_main, &set);
    while (!__atomic_load_n(&thread_ready, __ATOMIC_SEQ_CST))
        sleep_ms(1);
    memset(&ev, 0, sizeof ev);
    ev.notify = SIGEV_THREAD_ID;
    ev.signo = SIGUSR2;
    ev.un.tid = thread_tid;
    EXPECT_RET(k_create(CLOCK_MONOTONIC, &ev, &id), 0);
    its = spec(20 * MS, 0);
    EXPECT_RET(k_settime(id, 0, &its, NULL), 0);
    pthread_join(th, NULL);
    sigpending(&pend);
    check(thread_got == SIGUSR2 && thread_code == SI_TIMER && !sigismember(&pend, SIGUSR2), "SIGEV_THREAD_ID: its thread took it");
    EXPECT_RET(syscall(SYS_timer_delete, id), 0);

    /* Not inherited by fork. */
    ev.notify = SIGEV_NONE;
    EXPECT_RET(k_create(CLOCK_MONOTONIC, &ev, &id), 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct itimerspec x;
        _exit(k_gettime(id, &x) == -1 && errno == EINVAL ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork: the child has no timers");
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* ... and exec drops them (main checks in the new image). */
    c = fork();
    if (c == 0) {
        char arg[32];
        snprintf(arg, sizeof arg, "%d", id);
        char *argv[] = { "posix_timers", "after-exec", arg, NULL };
        execv("/proc/self/exe", argv);
        _exit(2);
    }
    waitpid(c, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec: the timer is gone");
    EXPECT_RET(syscall(SYS_timer_delete, id), 0);
}

static int readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, 0) == 1 && p.revents == POLLIN;
}

static void timerfds(void)
{
    uint64_t v = 0;
    struct itimerspec its, cur;

    EXPECT_ERR(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
    EXPECT_ERR(timerfd_create(CLOCK_MONOTONIC, 0x1234), EINVAL);
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    check(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC) && (fcntl(fd, F_GETFL) & O_NONBLOCK), "timerfd_create: TFD_CLOEXEC, TFD_NONBLOCK");
    EXPECT_ERR(read(fd, &v, 8), EAGAIN);
    its = spec(10 * MS, 0);
    EXPECT_ERR(timerfd_settime(fd, 0x100, &its, NULL), EINVAL);
    EXPECT_ERR(timerfd_settime(-1, 0, &its, NULL), EBADF);
    int p[2];
    pipe(p);
    EXPECT_ERR(timerfd_settime(p[0], 0, &its, NULL), EINVAL);
    EXPECT_ERR(timerfd_gettime(p[0], &cur), EINVAL);
    close(p[0]);
    close(p[1]);
    EXPECT_ERR(syscall(SYS_timerfd_settime, fd, 0, bad_ptr_8, NULL), EFAULT);
    its.it_value.tv_nsec = -1;
    EXPECT_ERR(timerfd_settime(fd, 0, &its, NULL), EINVAL);

    /* Periodic: the count of expirations. */
    its = spec(10 * MS, 10 * MS);
    EXPECT_RET(timerfd_settime(fd, 0, &its, NULL), 0);
    sleep_ms(55);
    check(readable(fd), "periodic timerfd readable");
    ssize_t n = read(fd, &v, 8);
    check(n == 8 && v >= 3 && v < 100000, "read: 8 bytes, at least 3 expirations");
    uint32_t small;
    EXPECT_ERR(read(fd, &small, 4), EINVAL);
    EXPECT_ERR(write(fd, &v, 8), EINVAL);
    EXPECT_RET(timerfd_gettime(fd, &cur), 0);
    check(ns_of(&cur.it_interval) == 10 * MS && ns_of(&cur.it_value) > 0 && ns_of(&cur.it_value) <= 10 * MS, "timerfd_gettime");
    struct itimerspec zero = spec(0, 0), prev;
    EXPECT_RET(timerfd_settime(fd, 0, &zero, &prev), 0);
    check(ns_of(&prev.it_interval) == 10 * MS, "old value");
    EXPECT_ERR(read(fd, &v, 8), EAGAIN);
    close(fd);

    /* Blocking read, poll, epoll. */
    fd = timerfd_create(CLOCK_MONOTONIC, 0);
    its = spec(200 * MS, 0);
    EXPECT_RET(timerfd_settime(fd, 0, &its, NULL), 0);
    check(!readable(fd), "not readable before it expires");
    n = read(fd, &v, 8);
    check(n == 8 && v == 1, "blocking read: one expiration");
    its = spec(20 * MS, 0);
    EXPECT_RET(timerfd_settime(fd, 0, &its, NULL), 0);
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    check(poll(&pf, 1, 5000) == 1 && pf.revents == POLLIN, "poll: readable when it expires");
    n = read(fd, &v, 8);
    check(n == 8 && v == 1 && !readable(fd), "read after poll");
    int ep = epoll_create1(0);
    struct epoll_event ee = { .events = EPOLLIN, .data.u32 = 5 }, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ee);
    EXPECT_RET(timerfd_settime(fd, 0, &its, NULL), 0);
    check(epoll_wait(ep, &out, 1, 5000) == 1 && out.data.u32 == 5 && (out.events & EPOLLIN), "epoll_wait: readable when it expires");
    n = read(fd, &v, 8);
    check(n == 8 && v == 1, "read after epoll");
    close(ep);

    /* Absolute on CLOCK_REALTIME (with TFD_TIMER_CANCEL_ON_SET). */
    int rfd = timerfd_create(CLOCK_REALTIME, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_REALTIME, &t0);
    its = spec(ns_of(&t0) + 30 * MS, 0);
    EXPECT_RET(timerfd_settime(rfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL), 0);
    n = read(rfd, &v, 8);
    clock_gettime(CLOCK_REALTIME, &t1);
    check(n == 8 && v == 1 && ns_of(&t1) >= ns_of(&t0) + 30 * MS, "absolute realtime: one expiration, not early");
    close(rfd);

    /* Shared across fork: the child's read takes the expiration. */
    its = spec(30 * MS, 0);
    EXPECT_RET(timerfd_settime(fd, 0, &its, NULL), 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        uint64_t w = 0;
        _exit(read(fd, &w, 8) == 8 && w == 1 ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork: the child read the shared timerfd");
    fcntl(fd, F_SETFL, O_NONBLOCK);
    EXPECT_ERR(read(fd, &v, 8), EAGAIN);
    EXPECT_RET(timerfd_gettime(fd, &cur), 0);
    check(ns_of(&cur.it_value) == 0, "parent sees it expired");
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "after-exec") == 0) {
        struct itimerspec x;
        return k_gettime(atoi(argv[2]), &x) == -1 && errno == EINVAL ? 0 : 1;
    }
    errors();
    signals();
    libc_timers();
    timerfds();
    return finish();
}
