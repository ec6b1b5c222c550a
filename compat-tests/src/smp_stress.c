// smp_stress.c - threads hammering futexes, pipes and signals at once, for
// several CPUs (issue 18): 4 threads increment a counter under a mutex; pass
// a token around a ring of condition variables; fill and drain a bounded
// queue (two producers, two consumers); ping-pong bytes through a pipe pair
// while another pair streams a checksummed megabyte; take signals (pthread_kill
// and tgkill) while computing without system calls, blocked in read() and
// blocked in pthread_cond_wait; and finally all of that at once, with signals
// landing in futex waits and pipe reads. Every count is exact: a lost wake-up
// hangs a phase, which the alarm() watchdog turns into a failure that names
// the phase and what it waited for.
//
// Signals follow a protocol that makes their count deterministic although
// standard signals merge while pending: the sender sends signal k to a thread
// only once that thread has handled k - 1, so every signal sent is handled
// exactly once, by the thread it was sent to. Only deterministic figures are
// printed (the work is fixed; the "all at once" phase prints no work counts,
// only checks that they agree).
#include "compat.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#define NT 4
#define MUTEX_ROUNDS 100000
#define RING_ROUNDS 1000
#define QUEUE_ITEMS 8000
#define QUEUE_CAP 8
#define PING_ROUNDS 5000
#define STREAM_BYTES (1 << 20)
/* On one CPU each signal to a thread costs a time slice or two of the computing
 * thread (about 30 ms under TCG): 200 took 20 s there, near the watchdog when
 * the host is busy. */
#define SIGNALS 60
#define MIXED_SIGNALS 20
/* Seconds a phase may take before the watchdog fails the test (under 60, the
 * compat runner's limit for the whole program on SiON). */
#define WATCHDOG 40

/* What the program is doing, for the watchdog's message. */
static const char *volatile phase = "start";
static const char *volatile waiting_for = "";
static volatile long waiting_n = -1;

static void put(const char *s)
{
    size_t n = strlen(s);
    if (write(1, s, n) < 0 || write(2, s, n) < 0)
        return;
}

static void put_long(long v)
{
    char b[24], *p = b + sizeof b;
    *--p = 0;
    unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
    do
        *--p = '0' + u % 10;
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    put(p);
}

static void on_watchdog(int sig)
{
    (void)sig;
    put("FAIL: watchdog: phase \"");
    put(phase);
    put("\" did not end in ");
    put_long(WATCHDOG);
    put(" s (a lost wake-up, signal or byte?)");
    if (*waiting_for) {
        put("; waiting for ");
        put(waiting_for);
        if (waiting_n >= 0) {
            put(" ");
            put_long(waiting_n);
        }
    }
    put("\n");
    _exit(2);
}

static void begin(const char *name)
{
    fflush(stdout);
    phase = name;
    waiting_for = "";
    waiting_n = -1;
    alarm(WATCHDOG);
}

static void start_all(pthread_t *t, int n, void *(*fn)(void *))
{
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, fn, (void *)(intptr_t)i) != 0) {
            printf("FAIL: pthread_create in phase %s\n", phase);
            exit(1);
        }
}

static void join_all(pthread_t *t, int n)
{
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* Reads exactly n bytes (a pipe may return fewer); counts EINTRs, which
 * SA_RESTART handlers must never cause on a pipe. */
static volatile long eintrs;

static int read_full(int fd, unsigned char *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR) {
            __atomic_add_fetch(&eintrs, 1, __ATOMIC_RELAXED);
            continue;
        }
        if (r <= 0)
            return -1;
        got += r;
    }
    return 0;
}

static int write_full(int fd, const unsigned char *b, size_t n)
{
    size_t put_ = 0;
    while (put_ < n) {
        ssize_t r = write(fd, b + put_, n - put_);
        if (r < 0 && errno == EINTR) {
            __atomic_add_fetch(&eintrs, 1, __ATOMIC_RELAXED);
            continue;
        }
        if (r <= 0)
            return -1;
        put_ += r;
    }
    return 0;
}

/* ---- a mutex-protected counter ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t gate;
static long counter;
static long mine[NT];

static void *mutex_worker(void *arg)
{
    int id = (intptr_t)arg;
    /* All start together, so the lock is contended from the first round. */
    pthread_barrier_wait(&gate);
    for (int i = 0; i < MUTEX_ROUNDS; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        mine[id]++;
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

/* ---- a token passed around a ring of condition variables ---- */

static pthread_cond_t ring_cv[NT];
static long turn;
static long ring_turns[NT];

static void *ring_worker(void *arg)
{
    int id = (intptr_t)arg;
    for (int r = 0; r < RING_ROUNDS; r++) {
        pthread_mutex_lock(&mu);
        while (turn % NT != id)
            pthread_cond_wait(&ring_cv[id], &mu);
        turn++;
        ring_turns[id]++;
        pthread_cond_signal(&ring_cv[(id + 1) % NT]);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

/* ---- a bounded queue: two producers, two consumers ---- */

static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;
static long queue[QUEUE_CAP];
static int q_head, q_len;
static long taken[2], taken_sum[2];

static void q_put(long v)
{
    pthread_mutex_lock(&mu);
    while (q_len == QUEUE_CAP)
        pthread_cond_wait(&not_full, &mu);
    queue[(q_head + q_len++) % QUEUE_CAP] = v;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&mu);
}

static long q_take(void)
{
    pthread_mutex_lock(&mu);
    while (q_len == 0)
        pthread_cond_wait(&not_empty, &mu);
    long v = queue[q_head];
    q_head = (q_head + 1) % QUEUE_CAP;
    q_len--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&mu);
    return v;
}

/* Threads 0 and 1 produce 1..QUEUE_ITEMS (odd and even ranks of one
 * sequence), then a 0 each; threads 2 and 3 consume until a 0 (each takes
 * exactly one: a consumer that took one stops). */
static void *queue_worker(void *arg)
{
    int id = (intptr_t)arg;
    if (id < 2) {
        for (long v = 1 + id; v <= QUEUE_ITEMS; v += 2)
            q_put(v);
        q_put(0);
    } else {
        long v;
        while ((v = q_take()) != 0) {
            taken[id - 2]++;
            taken_sum[id - 2] += v;
        }
    }
    return NULL;
}

/* ---- pipes: a ping-pong pair and a streaming pair ---- */

static int ping[2], pong[2], stream[2];
static long ping_bad, pong_bad, stream_bad, stream_got, pings, pongs;
static volatile int stop;

static unsigned char pattern(long i)
{
    return (unsigned char)(i * 7 + (i >> 8) + 3);
}

/* Sends round r as one byte (r & 0x7f) until `stop` (or `rounds` > 0 done),
 * then 0xff; checks each answer. */
static void ping_side(long rounds)
{
    for (long r = 0; rounds ? r < rounds : !stop; r++) {
        unsigned char b = r & 0x7f, a = 0;
        if (write_full(ping[1], &b, 1) || read_full(pong[0], &a, 1) || a != (b ^ 0x5a))
            ping_bad++;
        pings++;
    }
    unsigned char end = 0xff;
    if (write_full(ping[1], &end, 1))
        ping_bad++;
}

static void pong_side(void)
{
    for (long r = 0;; r++) {
        unsigned char b = 0;
        if (read_full(ping[0], &b, 1)) {
            pong_bad++;
            return;
        }
        if (b == 0xff)
            return;
        if (b != (r & 0x7f))
            pong_bad++;
        b ^= 0x5a;
        if (write_full(pong[1], &b, 1))
            pong_bad++;
        pongs++;
    }
}

static void *pipe_worker(void *arg)
{
    int id = (intptr_t)arg;
    unsigned seed = 12345 + id;
    unsigned char buf[4096];
    switch (id) {
    case 0:
        ping_side(PING_ROUNDS);
        break;
    case 1:
        pong_side();
        break;
    case 2: /* the writer: chunks of 1 to 4096 bytes */
        for (long i = 0; i < STREAM_BYTES;) {
            seed = seed * 1103515245 + 12345;
            long n = 1 + (seed >> 16) % sizeof buf;
            if (n > STREAM_BYTES - i)
                n = STREAM_BYTES - i;
            for (long k = 0; k < n; k++)
                buf[k] = pattern(i + k);
            if (write_full(stream[1], buf, n))
                stream_bad++;
            i += n;
        }
        close(stream[1]);
        break;
    case 3: /* the reader: reads of 1 to 4096 bytes until EOF */
        for (;;) {
            seed = seed * 1103515245 + 12345;
            ssize_t n = read(stream[0], buf, 1 + (seed >> 16) % sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            for (ssize_t k = 0; k < n; k++)
                if (buf[k] != pattern(stream_got + k))
                    stream_bad++;
            stream_got += n;
        }
        break;
    }
    return NULL;
}

/* ---- signals ---- */

/* Each thread's handled count; `my_count` points at the handling thread's
 * own (a thread-local pointer), and a signal handled by a thread without one
 * counts as stray. */
static volatile sig_atomic_t handled[NT];
static volatile sig_atomic_t stray;
static __thread volatile sig_atomic_t *my_count;
static pid_t tids[NT];
static volatile int ready;

static void on_signal(int sig)
{
    (void)sig;
    if (my_count)
        (*my_count)++;
    else
        stray++;
}

static void became(int id)
{
    my_count = &handled[id];
    tids[id] = gettid();
    __atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
}

static void wait_until(volatile sig_atomic_t *c, long want)
{
    unsigned spins = 0;
    while (*c < want) {
        if (++spins < 200) {
            sched_yield();
        } else {
            struct timespec ts = { 0, 20000 };
            nanosleep(&ts, NULL);
        }
    }
}

static void wait_ready(int n)
{
    waiting_for = "the threads to start";
    while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < n)
        sched_yield();
}

static int send_to(pthread_t t, int id, int how, int sig)
{
    if (how == 0)
        return pthread_kill(t, sig);
    return syscall(SYS_tgkill, getpid(), tids[id], sig) == 0 ? 0 : errno;
}

/* Sends `n` signals to each of threads 0..nt-1 in rounds: round k sends each
 * thread its k-th signal (SIGUSR1 or SIGUSR2) and waits until the thread has
 * handled it, so none merges with another. `how[id]`: 0 pthread_kill,
 * 1 tgkill, 2 the two in turn. */
static int send_rounds(pthread_t *t, int nt, const int *how, const char *const *what, long n)
{
    int errors = 0;
    for (long k = 1; k <= n; k++)
        for (int id = 0; id < nt; id++) {
            int h = how[id] == 2 ? (int)(k & 1) : how[id];
            if (send_to(t[id], id, h, (k + id) & 1 ? SIGUSR1 : SIGUSR2) != 0)
                errors++;
            waiting_for = what[id];
            waiting_n = k;
            wait_until(&handled[id], k);
        }
    waiting_for = "";
    waiting_n = -1;
    return errors;
}

/* Computes without system calls until it has handled SIGNALS signals. */
static volatile uint64_t spin_sink;

static void *spinner(void *arg)
{
    became((intptr_t)arg);
    uint64_t x = 1;
    while (handled[(intptr_t)arg] < SIGNALS)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    spin_sink = x;
    return NULL;
}

static int wake_pipe[2];
static long blocked_read_got = -1;

static void *blocked_reader(void *arg)
{
    became((intptr_t)arg);
    unsigned char b = 0;
    if (read_full(wake_pipe[0], &b, 1) == 0)
        blocked_read_got = b;
    return NULL;
}

static pthread_cond_t release_cv = PTHREAD_COND_INITIALIZER;
static int released;

static void *blocked_waiter(void *arg)
{
    became((intptr_t)arg);
    pthread_mutex_lock(&mu);
    while (!released)
        pthread_cond_wait(&release_cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* ---- everything at once ---- */

static long mixed_mine[2];

static void *mixed_worker(void *arg)
{
    int id = (intptr_t)arg;
    became(id);
    switch (id) {
    case 0:
    case 1:
        while (!stop) {
            pthread_mutex_lock(&mu);
            counter++;
            mixed_mine[id]++;
            pthread_mutex_unlock(&mu);
        }
        break;
    case 2:
        ping_side(0);
        break;
    case 3:
        pong_side();
        break;
    }
    return NULL;
}

static void reset_signals(void)
{
    for (int i = 0; i < NT; i++)
        handled[i] = 0;
    ready = 0;
}

int main(void)
{
    pthread_t t[NT];

    struct sigaction sa = { 0 };
    sa.sa_handler = on_watchdog;
    EXPECT_RET(sigaction(SIGALRM, &sa, NULL), 0);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    EXPECT_RET(sigaction(SIGUSR1, &sa, NULL), 0);
    EXPECT_RET(sigaction(SIGUSR2, &sa, NULL), 0);

    begin("mutex counter");
    EXPECT_RET(pthread_barrier_init(&gate, NULL, NT), 0);
    start_all(t, NT, mutex_worker);
    join_all(t, NT);
    check(counter == (long)NT * MUTEX_ROUNDS, "mutex: %d threads x %d increments: counter %ld", NT, MUTEX_ROUNDS, counter);
    int each = 1;
    for (int i = 0; i < NT; i++)
        each &= mine[i] == MUTEX_ROUNDS;
    check(each, "mutex: each thread counted its own %d", MUTEX_ROUNDS);

    begin("condition variable ring");
    for (int i = 0; i < NT; i++)
        pthread_cond_init(&ring_cv[i], NULL);
    start_all(t, NT, ring_worker);
    join_all(t, NT);
    each = 1;
    for (int i = 0; i < NT; i++)
        each &= ring_turns[i] == RING_ROUNDS;
    check(turn == (long)NT * RING_ROUNDS && each, "ring: the token went round %d threads %d times: %ld turns, none lost", NT, RING_ROUNDS, turn);

    begin("bounded queue");
    start_all(t, NT, queue_worker);
    join_all(t, NT);
    long n = taken[0] + taken[1], sum = taken_sum[0] + taken_sum[1];
    check(n == QUEUE_ITEMS && sum == (long)QUEUE_ITEMS * (QUEUE_ITEMS + 1) / 2, "queue: %ld items taken, sum %ld (2 producers, 2 consumers, room for %d)", n, sum, QUEUE_CAP);
    check(q_len == 0, "queue: empty at the end");

    begin("pipes");
    EXPECT_RET(pipe(ping), 0);
    EXPECT_RET(pipe(pong), 0);
    EXPECT_RET(pipe(stream), 0);
    start_all(t, NT, pipe_worker);
    join_all(t, NT);
    check(pings == PING_ROUNDS && pongs == PING_ROUNDS && ping_bad == 0 && pong_bad == 0, "pipes: %ld ping-pong round trips, every byte right", pongs);
    check(stream_got == STREAM_BYTES && stream_bad == 0, "pipes: %ld bytes streamed in odd-sized chunks, every byte right", stream_got);

    begin("signals to a computing and two blocked threads");
    EXPECT_RET(pipe(wake_pipe), 0);
    reset_signals();
    EXPECT_RET(pthread_create(&t[0], NULL, spinner, (void *)0), 0);
    EXPECT_RET(pthread_create(&t[1], NULL, blocked_reader, (void *)1), 0);
    EXPECT_RET(pthread_create(&t[2], NULL, blocked_waiter, (void *)2), 0);
    wait_ready(3);
    {
        static const int how[] = { 0, 1, 1 };
        static const char *const what[] = { "the computing thread to handle signal", "the thread blocked in read() to handle signal",
                                            "the thread blocked in pthread_cond_wait() to handle signal" };
        check(send_rounds(t, 3, how, what, SIGNALS) == 0, "signals: pthread_kill and tgkill succeeded");
    }
    unsigned char w = 'w';
    EXPECT_RET(write(wake_pipe[1], &w, 1), 1);
    pthread_mutex_lock(&mu);
    released = 1;
    pthread_cond_signal(&release_cv);
    pthread_mutex_unlock(&mu);
    waiting_for = "the three threads to end";
    join_all(t, 3);
    check(handled[0] == SIGNALS, "signals: the computing thread handled %ld of %d (pthread_kill)", (long)handled[0], SIGNALS);
    check(handled[1] == SIGNALS, "signals: the thread blocked in read() handled %ld of %d (tgkill)", (long)handled[1], SIGNALS);
    check(handled[2] == SIGNALS, "signals: the thread blocked in pthread_cond_wait() handled %ld of %d (tgkill)", (long)handled[2], SIGNALS);
    check(blocked_read_got == 'w', "signals: the read() went on under SA_RESTART and got its byte");
    check(stray == 0, "signals: none reached another thread");

    begin("everything at once");
    counter = 0;
    pings = pongs = ping_bad = pong_bad = 0;
    stop = 0;
    reset_signals();
    start_all(t, NT, mixed_worker);
    wait_ready(NT);
    {
        static const int how[] = { 0, 1, 2, 2 };
        static const char *const what[] = { "mutex thread 0 to handle signal", "mutex thread 1 to handle signal", "the pinging thread to handle signal",
                                            "the ponging thread to handle signal" };
        check(send_rounds(t, NT, how, what, MIXED_SIGNALS) == 0, "at once: pthread_kill and tgkill succeeded");
    }
    stop = 1;
    waiting_for = "the threads to end";
    join_all(t, NT);
    each = 1;
    for (int i = 0; i < NT; i++)
        each &= handled[i] == MIXED_SIGNALS;
    check(each, "at once: each of %d busy threads handled its %d signals", NT, MIXED_SIGNALS);
    check(counter == mixed_mine[0] + mixed_mine[1], "at once: the mutex counter equals the increments counted");
    check(pings == pongs && ping_bad == 0 && pong_bad == 0, "at once: every ping answered, every byte right");
    check(stray == 0, "at once: no signal reached another thread");
    check(eintrs == 0, "no read() or write() failed with EINTR under SA_RESTART");

    alarm(0);
    return finish();
}
