// futex.c - the raw futex syscall: FUTEX_WAIT on a changed word (EAGAIN),
// relative and absolute (CLOCK_MONOTONIC, CLOCK_REALTIME) timeouts, FUTEX_WAKE
// counts, FUTEX_REQUEUE/FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP arithmetic and its
// conditional second wake, FUTEX_WAIT_BITSET/FUTEX_WAKE_BITSET masks,
// FUTEX_PRIVATE_FLAG, EINVAL/EFAULT/ENOSYS, and a futex shared with a forked
// child in a MAP_SHARED page.
//
// To make wake counts exact, waiters first block on a "gate" word and are
// moved onto the word under test with FUTEX_CMP_REQUEUE until all of them
// have moved: a waiter can only be requeued once it is blocked.
#include "compat.h"
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

/* From <linux/futex.h>, which musl-gcc does not see. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_BITSET_MATCH_ANY 0xffffffff
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_OR 2
#define FUTEX_OP_ANDN 3
#define FUTEX_OP_XOR 4
#define FUTEX_OP_OPARG_SHIFT 8
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_NE 1
#define FUTEX_OP_CMP_LT 2
#define FUTEX_OP_CMP_LE 3
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP_CMP_GE 5
#define FUTEX_OP(op, oparg, cmp, cmparg) \
    ((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

/* SYS_futex takes the native struct timespec: 32-bit time_t under -m32. */
static long futex(int *uaddr, int op, int val, const struct timespec *ts, int *uaddr2, int val3)
{
    return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}
/* For FUTEX_REQUEUE, FUTEX_CMP_REQUEUE and FUTEX_WAKE_OP the timeout argument is a count. */
#define VAL2(n) ((const struct timespec *)(uintptr_t)(n))

static long elapsed_ns(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000000000L + b->tv_nsec - a->tv_nsec;
}

#define MAXW 8
static int gate;
static int nw;
static pthread_t wt[MAXW];
static struct waiter { int *word; int priv; unsigned mask; long ret; } wa[MAXW];

static void *waiter(void *arg)
{
    struct waiter *w = arg;
    if (w->mask == FUTEX_BITSET_MATCH_ANY)
        w->ret = futex(w->word, FUTEX_WAIT | w->priv, 0, NULL, NULL, 0);
    else
        w->ret = futex(w->word, FUTEX_WAIT_BITSET | w->priv, 0, NULL, NULL, w->mask);
    return NULL;
}

static void start_waiter(int *word, int priv, unsigned mask)
{
    wa[nw] = (struct waiter){ word, priv, mask, -2 };
    pthread_create(&wt[nw], NULL, waiter, &wa[nw]);
    nw++;
}

/* Block k waiters (bitsets from masks, or any) on *x; 1 once all are surely there. */
static int park(int *x, int k, int priv, const unsigned *masks)
{
    for (int i = 0; i < k; i++)
        start_waiter(&gate, priv, masks ? masks[i] : FUTEX_BITSET_MATCH_ANY);
    long moved = 0;
    for (int tries = 0; moved < k && tries < 5000; tries++) {
        long r = futex(&gate, FUTEX_CMP_REQUEUE | priv, 0, VAL2(INT_MAX), x, 0);
        if (r > 0)
            moved += r;
        else
            usleep(1000);
    }
    return moved == k;
}

/* Nobody is left on *x; join every waiter, whose wait returned 0. */
static void unpark(int *x, int priv)
{
    check(futex(x, FUTEX_WAKE | priv, INT_MAX, NULL, NULL, 0) == 0, "no waiter left behind");
    int ok = 1;
    for (int i = 0; i < nw; i++)
        ok &= pthread_join(wt[i], NULL) == 0 && wa[i].ret == 0;
    check(ok, "%d waiters joined, each FUTEX_WAIT returned 0", nw);
    nw = 0;
}

int main(void)
{
    static int w = 0, w2 = 0;
    struct timespec t0, t1, ts;

    /* Waiting on a word that no longer holds the value; waking nobody. */
    EXPECT_ERR(futex(&w, FUTEX_WAIT, 1, NULL, NULL, 0), EAGAIN);
    EXPECT_ERR(futex(&w, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0), EAGAIN);
    EXPECT_RET(futex(&w, FUTEX_WAKE, 1, NULL, NULL, 0), 0);
    EXPECT_RET(futex(&w, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0), 0);

    /* Timeouts: FUTEX_WAIT's is relative, FUTEX_WAIT_BITSET's absolute. */
    ts = (struct timespec){ 0, 0 };
    EXPECT_ERR(futex(&w, FUTEX_WAIT, 0, &ts, NULL, 0), ETIMEDOUT);
    ts = (struct timespec){ 0, 50000000 };
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_ERR(futex(&w, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, &ts, NULL, 0), ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    check(elapsed_ns(&t0, &t1) >= 50000000, "the relative wait lasted 50 ms");
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += 50000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    EXPECT_ERR(futex(&w, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, &ts, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    check(elapsed_ns(&ts, &t1) >= 0, "the absolute CLOCK_MONOTONIC deadline has passed");
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    EXPECT_ERR(futex(&w, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 0, &ts, NULL, 1), ETIMEDOUT);
    clock_gettime(CLOCK_REALTIME, &t1);
    check(elapsed_ns(&ts, &t1) >= 0, "the absolute CLOCK_REALTIME deadline has passed");
    clock_gettime(CLOCK_MONOTONIC, &ts);
    EXPECT_ERR(futex(&w, FUTEX_WAIT_BITSET, 0, &ts, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);

    /* Bad arguments. */
    ts = (struct timespec){ 0, 1000000000 };
    EXPECT_ERR(futex(&w, FUTEX_WAIT, 0, &ts, NULL, 0), EINVAL);
    EXPECT_ERR(futex(&w, FUTEX_WAIT_BITSET, 0, NULL, NULL, 0), EINVAL);
    EXPECT_ERR(futex(&w, FUTEX_WAKE_BITSET, 1, NULL, NULL, 0), EINVAL);
    EXPECT_ERR(futex((int *)((char *)&w + 1), FUTEX_WAIT, 0, NULL, NULL, 0), EINVAL);
    EXPECT_ERR(futex(bad_ptr_8, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT);
    EXPECT_ERR(futex(bad_ptr_8, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0), EFAULT);
    EXPECT_ERR(futex(&w, FUTEX_WAIT, 0, bad_ptr_8, NULL, 0), EFAULT);
    EXPECT_ERR(futex(&w, 99, 0, NULL, NULL, 0), ENOSYS);
    EXPECT_ERR(futex(&w, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0), ENOSYS);
    EXPECT_ERR(futex(&w, FUTEX_CMP_REQUEUE, 0, VAL2(1), &w2, 1), EAGAIN);
    EXPECT_ERR(futex(&w, FUTEX_CMP_REQUEUE, -1, VAL2(1), &w2, 0), EINVAL);
    EXPECT_RET(futex(&w, FUTEX_CMP_REQUEUE, 1, VAL2(1), &w2, 0), 0);
    EXPECT_RET(futex(&w, FUTEX_REQUEUE, 1, VAL2(1), &w2, 0), 0);

    /* Plain waiters woken with retries: the counts add up to the waiters. */
    for (int i = 0; i < 3; i++)
        start_waiter(&w, 0, FUTEX_BITSET_MATCH_ANY);
    long woken = 0, most = 0;
    for (int tries = 0; woken < 3 && tries < 5000; tries++) {
        long r = futex(&w, FUTEX_WAKE, 1, NULL, NULL, 0);
        woken += r;
        most = r > most ? r : most;
        if (r == 0)
            usleep(1000);
    }
    printf("FUTEX_WAKE(1) retried: %ld woken in all, at most %ld at a time\n", woken, most);
    unpark(&w, 0);

    /* Exact wake counts once the waiters are surely blocked. */
    check(park(&w, 3, 0, NULL), "3 waiters requeued onto w");
    EXPECT_RET(futex(&w, FUTEX_WAKE, 2, NULL, NULL, 0), 2);
    EXPECT_RET(futex(&w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0), 1);
    unpark(&w, 0);
    check(park(&w, 2, FUTEX_PRIVATE_FLAG, NULL), "2 private waiters on w");
    EXPECT_RET(futex(&w, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0), 2);
    unpark(&w, FUTEX_PRIVATE_FLAG);

    /* Requeue: some woken, some moved, the rest stay. */
    check(park(&w, 4, FUTEX_PRIVATE_FLAG, NULL), "4 waiters on w");
    EXPECT_ERR(futex(&w, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG, 1, VAL2(1), &w2, 5), EAGAIN);
    EXPECT_RET(futex(&w, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG, 1, VAL2(2), &w2, 0), 3);
    EXPECT_RET(futex(&w2, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0), 2);
    EXPECT_RET(futex(&w, FUTEX_REQUEUE | FUTEX_PRIVATE_FLAG, 0, VAL2(INT_MAX), &w2, 0), 1);
    EXPECT_RET(futex(&w, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0), 0);
    EXPECT_RET(futex(&w2, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0), 1);
    unpark(&w, FUTEX_PRIVATE_FLAG);

    /* FUTEX_WAKE_OP: *uaddr2 = old OP oparg; wake uaddr1, and uaddr2 if old CMP cmparg. */
    w2 = 5;
    EXPECT_RET(futex(&w, FUTEX_WAKE_OP, 1, VAL2(1), &w2, FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 5)), 0);
    printf("ADD 3: %d\n", w2);
    EXPECT_RET(futex(&w, FUTEX_WAKE_OP, 1, VAL2(1), &w2, FUTEX_OP(FUTEX_OP_OR, 0x30, FUTEX_OP_CMP_GT, 0)), 0);
    printf("OR 0x30: %#x\n", w2);
    EXPECT_RET(futex(&w, FUTEX_WAKE_OP, 1, VAL2(1), &w2, FUTEX_OP(FUTEX_OP_ANDN, 0x18, FUTEX_OP_CMP_LT, 0)), 0);
    printf("ANDN 0x18: %#x\n", w2);
    EXPECT_RET(futex(&w, FUTEX_WAKE_OP, 1, VAL2(1), &w2, FUTEX_OP(FUTEX_OP_XOR, 0xff, FUTEX_OP_CMP_NE, 0)), 0);
    printf("XOR 0xff: %#x\n", w2);
    EXPECT_RET(futex(&w, FUTEX_WAKE_OP, 1, VAL2(1), &w2, FUTEX_OP(FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_GE, 0)), 0);
    printf("SET 1<<4: %#x\n", w2);
    EXPECT_ERR(futex(&w, FUTEX_WAKE_OP, 1, VAL2(1), &w2, 5 << 28), ENOSYS);
    printf("after an unknown op: %#x\n", w2);
    w2 = 0;
    check(park(&w, 2, FUTEX_PRIVATE_FLAG, NULL) && park(&w2, 2, FUTEX_PRIVATE_FLAG, NULL), "2 waiters on w, 2 on w2");
    EXPECT_RET(futex(&w, FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG, 1, VAL2(2), &w2, FUTEX_OP(FUTEX_OP_SET, 7, FUTEX_OP_CMP_EQ, 0)), 3);
    printf("SET 7 (old 0 == 0: both woken): %d\n", w2);
    check(park(&w2, 1, FUTEX_PRIVATE_FLAG, NULL), "1 more waiter on w2");
    EXPECT_RET(futex(&w, FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG, 1, VAL2(2), &w2, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0)), 1);
    printf("ADD 1 (old 7 != 0: only w woken): %d\n", w2);
    EXPECT_RET(futex(&w2, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0), 1);
    unpark(&w2, FUTEX_PRIVATE_FLAG);

    /* Bitsets: a wake reaches only the waiters whose mask it intersects. */
    static const unsigned masks[3] = { 0x1, 0x6, 0x4 };
    check(park(&w, 3, 0, masks), "waiters with masks 0x1, 0x6, 0x4");
    EXPECT_RET(futex(&w, FUTEX_WAKE_BITSET, INT_MAX, NULL, NULL, 0x8), 0);
    EXPECT_RET(futex(&w, FUTEX_WAKE_BITSET, INT_MAX, NULL, NULL, 0x4), 2);
    EXPECT_RET(futex(&w, FUTEX_WAKE_BITSET, INT_MAX, NULL, NULL, 0x4), 0);
    EXPECT_RET(futex(&w, FUTEX_WAKE_BITSET, INT_MAX, NULL, NULL, 0x3), 1);
    unpark(&w, 0);

    /* A private wake does not reach a shared waiter of the same word. */
    check(park(&w, 1, 0, NULL), "1 shared waiter");
    EXPECT_RET(futex(&w, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0), 0);
    EXPECT_RET(futex(&w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0), 1);
    unpark(&w, 0);

    /* ---- A futex shared with a forked child through a MAP_SHARED page. ---- */
    int *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check(sh != MAP_FAILED, "mmap MAP_SHARED|MAP_ANONYMOUS");
    sh[0] = sh[1] = 0;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        long r = futex(&sh[0], FUTEX_WAIT, 0, NULL, NULL, 0);
        sh[1] = 42;
        futex(&sh[1], FUTEX_WAKE, 1, NULL, NULL, 0);
        _exit(r == 0 ? 0 : 1);
    }
    woken = 0;
    for (int tries = 0; woken < 1 && tries < 5000; tries++) {
        woken += futex(&sh[0], FUTEX_WAKE, 1, NULL, NULL, 0);
        if (!woken)
            usleep(1000);
    }
    printf("the parent woke %ld waiter(s) in the child\n", woken);
    while (sh[1] == 0)
        futex(&sh[1], FUTEX_WAIT, 0, NULL, NULL, 0);
    printf("the child's answer: %d\n", sh[1]);
    int st = 0;
    waitpid(c, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's FUTEX_WAIT returned 0");
    return finish();
}
