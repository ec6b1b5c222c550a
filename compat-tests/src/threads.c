// threads.c - pthreads: create/join with return values, a mutex-protected
// counter, a condition-variable producer/consumer queue and broadcast,
// pthread_cond_timedwait timing out, barriers, pthread_once, __thread
// variables, gettid/getpid in threads, detach, pthread_exit, robust mutexes
// (EOWNERDEAD, ENOTRECOVERABLE), pthread_kill/tgkill reaching the chosen
// thread, fork from a thread, and exit() from a thread ending the process.
#include "compat.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define NT 8
#define ROUNDS 20000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER, cv2 = PTHREAD_COND_INITIALIZER;
static long counter;
__thread long tls = 42; /* not static: the compiler cannot assume it */
static long *tls_addr[NT];
static pid_t tids[NT];
static pid_t main_pid;

/* pthread functions return an error number rather than setting errno. */
#define EXPECT_PT(call, want) do { int e_ = (call); \
        check(e_ == (want), "%s -> %s", #call, errno_name(e_)); } while (0)

static void add(int n)
{
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
    }
}

/* Start n threads running fn(i) and join them all; 1 if every call succeeded. */
static int run_threads(int n, void *(*fn)(void *))
{
    pthread_t t[NT];
    int ok = 1;
    for (long i = 0; i < n; i++)
        ok &= pthread_create(&t[i], NULL, fn, (void *)(intptr_t)i) == 0;
    for (int i = 0; i < n; i++)
        ok &= pthread_join(t[i], NULL) == 0;
    return ok;
}

static void *adder(void *arg)
{
    long id = (long)(intptr_t)arg;
    tls = id;
    tls_addr[id] = &tls;
    tids[id] = gettid();
    add(ROUNDS);
    int ok = tls == id && getpid() == main_pid && gettid() != main_pid;
    return (void *)(intptr_t)(ok ? id * 10 + 1 : -1);
}

/* A bounded queue: one producer, two consumers, values 1..ITEMS. */
#define QCAP 4
#define ITEMS 1000
static int q[QCAP], qhead, qlen, qdone;
static long qsum, qsq, qcount;

static void *producer(void *arg)
{
    (void)arg;
    for (int v = 1; v <= ITEMS; v++) {
        pthread_mutex_lock(&mu);
        while (qlen == QCAP)
            pthread_cond_wait(&cv2, &mu);
        q[(qhead + qlen++) % QCAP] = v;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&mu);
    }
    pthread_mutex_lock(&mu);
    qdone = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (qlen == 0 && !qdone)
            pthread_cond_wait(&cv, &mu);
        if (qlen == 0)
            break;
        int v = q[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        qsum += v;
        qsq += (long)v * v;
        qcount++;
        pthread_cond_signal(&cv2);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* Broadcast: every waiter is surely inside pthread_cond_wait before it. */
static int waiting, go, woken;
static void *waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    waiting++;
    pthread_cond_signal(&cv2);
    while (!go)
        pthread_cond_wait(&cv, &mu);
    woken++;
    pthread_mutex_unlock(&mu);
    return NULL;
}

static pthread_barrier_t bar;
static int slots[4], serial_count, barrier_bad;
static void *barrier_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int round = 1; round <= 3; round++) {
        slots[id] = round;
        int r = pthread_barrier_wait(&bar);
        pthread_mutex_lock(&mu);
        if (r == PTHREAD_BARRIER_SERIAL_THREAD)
            serial_count++;
        else if (r != 0)
            barrier_bad++;
        for (int i = 0; i < 4; i++)
            if (slots[i] != round)
                barrier_bad++;
        pthread_mutex_unlock(&mu);
        pthread_barrier_wait(&bar); /* nobody starts the next round early */
    }
    return NULL;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static void once_init(void) { once_runs++; }
static void *once_worker(void *arg) { (void)arg; pthread_once(&once, once_init); return NULL; }

static void nested_exit(void) { pthread_exit((void *)77); }
static void *exiter(void *arg) { (void)arg; nested_exit(); return (void *)1; }

static volatile sig_atomic_t detached_ran;
static void *detached(void *arg) { (void)arg; detached_ran = 1; return NULL; }

static pthread_mutex_t robust;
static void *die_holding(void *arg) { (void)arg; return (void *)(intptr_t)pthread_mutex_lock(&robust); }

/* Signals aimed at one thread: the handler notes who ran it. */
static volatile sig_atomic_t sig_hits, stop_targets;
static pthread_t sig_ran_on;
static volatile pid_t sig_ran_tid;
static volatile pid_t target_tids[3];
static void on_sig(int sig)
{
    (void)sig;
    /* The count last: the main thread reads the others once it sees it. */
    sig_ran_on = pthread_self();
    sig_ran_tid = gettid();
    __sync_synchronize();
    sig_hits++;
}
static void *target(void *arg)
{
    target_tids[(intptr_t)arg] = gettid();
    while (!stop_targets)
        usleep(1000);
    return NULL;
}

static void *child_adder(void *arg) { (void)arg; add(1000); return NULL; }
static void *forker(void *arg)
{
    (void)arg;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        /* The child's only thread is this one: it is the new main thread. */
        int ok = gettid() == getpid();
        counter = 0;
        ok &= run_threads(4, child_adder);
        _exit(ok && counter == 4000 ? 9 : 1);
    }
    int st = 0;
    waitpid(c, &st, 0);
    return (void *)(intptr_t)(WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st));
}

static void at_exit_note(void) { printf("child: atexit handler ran\n"); }
static void *exit_42(void *arg) { (void)arg; exit(42); }
static void *exit_later(void *arg) { (void)arg; usleep(20000); exit(5); }

/* pthread_cond_timedwait with a deadline 50 ms ahead on CLK: ETIMEDOUT, late enough. */
static void timed_out(pthread_cond_t *c, clockid_t clk, const char *name)
{
    struct timespec t0, t1, dl;
    clock_gettime(clk, &t0);
    dl = t0;
    dl.tv_nsec += 50000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&mu);
    int r = pthread_cond_timedwait(c, &mu, &dl);
    pthread_mutex_unlock(&mu);
    clock_gettime(clk, &t1);
    long ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + t1.tv_nsec - t0.tv_nsec;
    check(r == ETIMEDOUT && ns >= 50000000, "pthread_cond_timedwait (%s) -> %s, not early", name, errno_name(r));
}

/* Poll (up to 5 s) until *flag reaches want. */
static int wait_flag(volatile sig_atomic_t *flag, int want)
{
    for (int i = 0; i < 5000 && *flag < want; i++)
        usleep(1000);
    return *flag >= want;
}

int main(void)
{
    main_pid = getpid();
    check(gettid() == getpid(), "the main thread's tid is the pid");

    /* Counter under a mutex; join returns what each thread returned. */
    pthread_t t[NT];
    for (long i = 0; i < NT; i++)
        EXPECT_PT(pthread_create(&t[i], NULL, adder, (void *)(intptr_t)i), 0);
    int joins_ok = 1;
    for (long i = 0; i < NT; i++) {
        void *ret;
        joins_ok &= pthread_join(t[i], &ret) == 0 && ret == (void *)(intptr_t)(i * 10 + 1);
    }
    check(joins_ok, "every join returned id*10+1 (own __thread value, same pid, own tid)");
    printf("counter: %ld\n", counter);
    check(counter == (long)NT * ROUNDS, "the counter is exact");
    check(tls == 42, "the main thread's __thread value is untouched");
    int distinct = 1;
    for (int i = 0; i < NT; i++)
        for (int j = 0; j < i; j++)
            distinct &= tls_addr[i] != tls_addr[j] && tids[i] != tids[j];
    for (int i = 0; i < NT; i++)
        distinct &= tls_addr[i] != &tls;
    check(distinct, "each thread has its own __thread variable and tid");

    /* Producer/consumer. */
    pthread_t p, c1, c2;
    pthread_create(&c1, NULL, consumer, NULL);
    pthread_create(&c2, NULL, consumer, NULL);
    pthread_create(&p, NULL, producer, NULL);
    pthread_join(p, NULL);
    pthread_join(c1, NULL);
    pthread_join(c2, NULL);
    printf("queue: %ld items, sum %ld, sum of squares %ld\n", qcount, qsum, qsq);
    check(qcount == ITEMS && qsum == 500500 && qsq == 333833500, "every item consumed once");

    /* Broadcast wakes all waiters. */
    for (int i = 0; i < 5; i++)
        pthread_create(&t[i], NULL, waiter, NULL);
    pthread_mutex_lock(&mu);
    while (waiting < 5)
        pthread_cond_wait(&cv2, &mu);
    go = 1;
    EXPECT_PT(pthread_cond_broadcast(&cv), 0);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < 5; i++)
        pthread_join(t[i], NULL);
    printf("broadcast woke %d of 5\n", woken);
    check(woken == 5, "broadcast woke every waiter");

    /* Timed waits that time out, on CLOCK_REALTIME and CLOCK_MONOTONIC. */
    timed_out(&cv, CLOCK_REALTIME, "realtime");
    pthread_condattr_t ca;
    pthread_cond_t mcv;
    pthread_condattr_init(&ca);
    EXPECT_PT(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
    EXPECT_PT(pthread_cond_init(&mcv, &ca), 0);
    timed_out(&mcv, CLOCK_MONOTONIC, "monotonic");
    pthread_cond_destroy(&mcv);

    /* Barrier: one serial thread per round, everyone sees every slot. */
    EXPECT_PT(pthread_barrier_init(&bar, NULL, 4), 0);
    check(run_threads(4, barrier_worker), "4 threads at a barrier");
    printf("barrier: %d serial threads in 3 rounds, %d bad\n", serial_count, barrier_bad);
    check(serial_count == 3 && barrier_bad == 0, "one serial thread per round, all slots filled");
    EXPECT_PT(pthread_barrier_destroy(&bar), 0);

    /* pthread_once from many threads. */
    check(run_threads(NT, once_worker), "8 threads call pthread_once");
    printf("pthread_once ran the initialiser %d time(s)\n", once_runs);
    check(once_runs == 1, "once");

    /* pthread_exit from a nested call; a detached thread. */
    void *ret = NULL;
    pthread_create(&t[0], NULL, exiter, NULL);
    EXPECT_PT(pthread_join(t[0], &ret), 0);
    printf("pthread_exit value: %ld\n", (long)(intptr_t)ret);
    check(ret == (void *)77, "join got the pthread_exit value");
    pthread_create(&t[0], NULL, detached, NULL);
    EXPECT_PT(pthread_detach(t[0]), 0);
    check(wait_flag(&detached_ran, 1), "the detached thread ran");
    pthread_attr_t at;
    pthread_attr_init(&at);
    EXPECT_PT(pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED), 0);
    detached_ran = 0;
    EXPECT_PT(pthread_create(&t[0], &at, detached, NULL), 0);
    check(wait_flag(&detached_ran, 1), "the thread created detached ran");
    pthread_attr_destroy(&at);

    pthread_mutexattr_t ma;
    /* Robust mutex whose owner dies holding it. */
    pthread_mutexattr_init(&ma);
    EXPECT_PT(pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST), 0);
    EXPECT_PT(pthread_mutex_init(&robust, &ma), 0);
    pthread_create(&t[0], NULL, die_holding, NULL);
    pthread_join(t[0], &ret);
    check(ret == NULL, "the dying thread locked the robust mutex");
    int r = pthread_mutex_lock(&robust);
    printf("lock after the owner died: %s\n", errno_name(r));
    check(r == EOWNERDEAD, "EOWNERDEAD, and the caller owns it");
    EXPECT_PT(pthread_mutex_consistent(&robust), 0);
    EXPECT_PT(pthread_mutex_unlock(&robust), 0);
    EXPECT_PT(pthread_mutex_lock(&robust), 0);
    EXPECT_PT(pthread_mutex_unlock(&robust), 0);
    /* Again, but unlocked without pthread_mutex_consistent: unusable. */
    pthread_create(&t[0], NULL, die_holding, NULL);
    pthread_join(t[0], NULL);
    r = pthread_mutex_lock(&robust);
    printf("lock after the second owner died: %s\n", errno_name(r));
    check(r == EOWNERDEAD, "EOWNERDEAD again");
    EXPECT_PT(pthread_mutex_unlock(&robust), 0);
    r = pthread_mutex_lock(&robust);
    printf("lock after unlocking without consistent: %s\n", errno_name(r));
    check(r == ENOTRECOVERABLE, "the mutex is not recoverable");

    /* pthread_kill and tgkill reach exactly the chosen thread. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    for (long i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, target, (void *)(intptr_t)i);
    for (int i = 0; i < 3; i++)
        while (!target_tids[i])
            usleep(1000);
    EXPECT_PT(pthread_kill(t[1], 0), 0);
    EXPECT_PT(pthread_kill(t[1], SIGUSR1), 0);
    wait_flag(&sig_hits, 1);
    check(sig_hits == 1 && pthread_equal(sig_ran_on, t[1]), "pthread_kill: the handler ran once, on the target thread");
    EXPECT_RET(syscall(SYS_tgkill, getpid(), target_tids[2], SIGUSR2), 0);
    wait_flag(&sig_hits, 2);
    check(sig_hits == 2 && sig_ran_tid == target_tids[2] && pthread_equal(sig_ran_on, t[2]), "tgkill: the handler ran once, on the target thread");
    EXPECT_ERR(syscall(SYS_tgkill, getpid() + 0x40000000, target_tids[2], SIGUSR2), ESRCH);
    stop_targets = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);

    /* fork from a non-main thread while others run. */
    stop_targets = 0;
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, target, (void *)(intptr_t)i);
    pthread_create(&t[2], NULL, forker, NULL);
    pthread_join(t[2], &ret);
    printf("child forked from a thread (tid == pid, 4 threads of its own): status %ld\n", (long)(intptr_t)ret);
    check(ret == (void *)9, "the child ran as a one-thread process and made threads");
    stop_targets = 1;
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);

    /* exit() from a non-main thread ends the process, running atexit handlers. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        atexit(at_exit_note);
        pthread_create(&t[0], NULL, exit_42, NULL);
        pthread_join(t[0], NULL);
        _exit(1);
    }
    int st = 0;
    waitpid(c, &st, 0);
    printf("exit(42) from a thread: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
    check(WIFEXITED(st) && WEXITSTATUS(st) == 42, "the process exited 42");
    /* The main thread leaves with pthread_exit; the process lives on. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        pthread_create(&t[0], NULL, exit_later, NULL);
        pthread_exit(NULL);
    }
    waitpid(c, &st, 0);
    printf("main pthread_exit, then exit(5) from a thread: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
    check(WIFEXITED(st) && WEXITSTATUS(st) == 5, "the process exited 5");
    return finish();
}
