// futex_waitv.c - futex_waitv(2) (449 on x86_64 and i386): Linux's checks in
// order (flags, 0 or 129 waiters, a NULL array, a clock other than REALTIME
// or MONOTONIC, a waiter without FUTEX2_SIZE_U32 or with unknown flags or a
// reserved word, an unaligned or NULL address, a changed word), absolute
// timeouts on both clocks, and a wake of one of several futexes, private and
// shared, by another thread: the answer is that futex's index.
#include "compat.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#define NR_futex_waitv 449
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX2_SIZE_U32 2

struct futex_waitv {
    uint64_t val;
    uint64_t uaddr;
    uint32_t flags;
    uint32_t reserved;
};

/* The kernel's timespec: 64-bit seconds and nanoseconds on both ABIs. */
struct kts {
    int64_t sec;
    int64_t nsec;
};

static long waitv(struct futex_waitv *w, unsigned long n, unsigned long flags, struct kts *to, int clock)
{
    return syscall(NR_futex_waitv, w, n, flags, to, clock);
}

static struct kts after(int clock, long ms)
{
    struct timespec now;
    clock_gettime(clock, &now);
    long ns = now.tv_nsec + ms * 1000000L;
    struct kts t = { now.tv_sec + ns / 1000000000L, ns % 1000000000L };
    return t;
}

static uint32_t words[8];
static uint32_t shared_words[8];
static volatile int stop;

static void *waker(void *arg)
{
    uint32_t *w = arg;
    int flags = (w >= words && w < words + 8) ? FUTEX_PRIVATE_FLAG : 0;
    while (!stop) {
        if (syscall(SYS_futex, w, FUTEX_WAKE | flags, 1, NULL, NULL, 0) == 1)
            break;
        usleep(1000);
    }
    return NULL;
}

int main(void)
{
    struct futex_waitv w[8];
    for (int i = 0; i < 8; i++) {
        w[i].val = 0;
        w[i].uaddr = (uintptr_t)&words[i];
        w[i].flags = FUTEX2_SIZE_U32 | FUTEX_PRIVATE_FLAG;
        w[i].reserved = 0;
    }
    struct kts to = after(CLOCK_MONOTONIC, 1000);

    EXPECT_ERR(waitv(w, 1, 1, &to, CLOCK_MONOTONIC), EINVAL);
    EXPECT_ERR(waitv(w, 0, 0, &to, CLOCK_MONOTONIC), EINVAL);
    EXPECT_ERR(waitv(w, 129, 0, &to, CLOCK_MONOTONIC), EINVAL);
    EXPECT_ERR(waitv(NULL, 1, 0, &to, CLOCK_MONOTONIC), EINVAL);
    EXPECT_ERR(waitv(w, 1, 0, &to, CLOCK_TAI), EINVAL);
    EXPECT_ERR(waitv(w, 1, 0, &to, CLOCK_BOOTTIME), EINVAL);
    EXPECT_ERR(waitv(w, 1, 0, (struct kts *)bad_ptr_8, CLOCK_MONOTONIC), EFAULT);
    EXPECT_ERR(waitv((struct futex_waitv *)bad_ptr_8, 1, 0, &to, CLOCK_MONOTONIC), EFAULT);
    struct kts bad = { 0, 1000000000L };
    EXPECT_ERR(waitv(w, 1, 0, &bad, CLOCK_MONOTONIC), EINVAL);

    w[1].flags = FUTEX_PRIVATE_FLAG;
    EXPECT_ERR(waitv(w, 2, 0, &to, CLOCK_MONOTONIC), EINVAL);
    w[1].flags = FUTEX2_SIZE_U32 | 4;
    EXPECT_ERR(waitv(w, 2, 0, &to, CLOCK_MONOTONIC), EINVAL);
    w[1].flags = FUTEX2_SIZE_U32 | FUTEX_PRIVATE_FLAG;
    w[1].reserved = 1;
    EXPECT_ERR(waitv(w, 2, 0, &to, CLOCK_MONOTONIC), EINVAL);
    w[1].reserved = 0;

    /* An unaligned address is EINVAL even after a NULL one (alignment first). */
    w[0].uaddr = 0;
    w[1].uaddr = (uintptr_t)&words[1] + 1;
    EXPECT_ERR(waitv(w, 2, 0, &to, CLOCK_MONOTONIC), EINVAL);
    w[1].uaddr = (uintptr_t)&words[1];
    EXPECT_ERR(waitv(w, 2, 0, &to, CLOCK_MONOTONIC), EFAULT);
    w[0].uaddr = (uintptr_t)&words[0];

    /* A changed word anywhere: EAGAIN. */
    words[5] = 1;
    EXPECT_ERR(waitv(w, 8, 0, &to, CLOCK_MONOTONIC), EAGAIN);
    words[5] = 0;
    /* A value wider than the futex's 32 bits. */
    w[2].val = 1ULL << 32;
    EXPECT_ERR(waitv(w, 3, 0, &to, CLOCK_MONOTONIC), EINVAL);
    w[2].val = 0;

    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    to = after(CLOCK_REALTIME, 30);
    EXPECT_ERR(waitv(w, 8, 0, &to, CLOCK_REALTIME), ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    check(ms >= 25, "the CLOCK_REALTIME deadline was waited for (%s)", ms >= 25 ? "yes" : "no");
    /* A deadline already past. */
    to = after(CLOCK_MONOTONIC, -10);
    EXPECT_ERR(waitv(w, 1, 0, &to, CLOCK_MONOTONIC), ETIMEDOUT);

    /* A wake of the sixth private futex answers 5. */
    pthread_t t;
    stop = 0;
    pthread_create(&t, NULL, waker, &words[5]);
    to = after(CLOCK_MONOTONIC, 5000);
    EXPECT_RET(waitv(w, 8, 0, &to, CLOCK_MONOTONIC), 5);
    stop = 1;
    pthread_join(t, NULL);

    /* Shared futexes (no FUTEX_PRIVATE_FLAG), with no timeout. */
    for (int i = 0; i < 8; i++) {
        w[i].uaddr = (uintptr_t)&shared_words[i];
        w[i].flags = FUTEX2_SIZE_U32;
    }
    stop = 0;
    pthread_create(&t, NULL, waker, &shared_words[2]);
    EXPECT_RET(waitv(w, 8, 0, NULL, 0), 2);
    stop = 1;
    pthread_join(t, NULL);
    /* Nobody waits any more. */
    EXPECT_RET(syscall(SYS_futex, &shared_words[0], FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0), 0);
    return finish();
}
