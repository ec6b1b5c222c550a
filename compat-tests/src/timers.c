// timers.c - interval timers and alarm as values (no signal is awaited:
// delivery comes with signals): setitimer/getitimer report the time left,
// alarm returns the previous alarm's seconds; prctl names; scheduler queries.
#include "compat.h"
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>

int main(void)
{
    struct itimerval v = {{0, 0}, {100, 0}}, old;
    EXPECT_RET(setitimer(ITIMER_REAL, &v, NULL), 0);
    EXPECT_RET(getitimer(ITIMER_REAL, &old), 0);
    check(old.it_value.tv_sec >= 99 && old.it_value.tv_sec <= 100, "100 s timer: 99..100 s left");
    check(old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 0, "no interval");
    struct itimerval off = {{0, 0}, {0, 0}};
    EXPECT_RET(setitimer(ITIMER_REAL, &off, &old), 0);
    check(old.it_value.tv_sec >= 99, "setitimer returns the old value");
    EXPECT_RET(getitimer(ITIMER_REAL, &old), 0);
    check(old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0, "stopped");
    EXPECT_ERR(getitimer(7, &old), EINVAL);
    struct itimerval bad = {{0, 0}, {0, 2000000}};
    EXPECT_ERR(setitimer(ITIMER_REAL, &bad, NULL), EINVAL);
    EXPECT_ERR(syscall(SYS_getitimer, ITIMER_REAL, bad_ptr_8), EFAULT);
    struct itimerval prof = {{1, 0}, {50, 0}};
    EXPECT_RET(setitimer(ITIMER_PROF, &prof, NULL), 0);
    EXPECT_RET(getitimer(ITIMER_PROF, &old), 0);
    check(old.it_value.tv_sec >= 49 && old.it_interval.tv_sec == 1, "ITIMER_PROF keeps value and interval");
    EXPECT_RET(setitimer(ITIMER_PROF, &off, NULL), 0);

    EXPECT_RET(alarm(100), 0);
    EXPECT_RET(alarm(0), 100);
    EXPECT_RET(alarm(0), 0);

    char name[16] = {0};
    EXPECT_RET(prctl(PR_SET_NAME, "compat-worker-long-name"), 0);
    EXPECT_RET(prctl(PR_GET_NAME, name), 0);
    printf("PR_GET_NAME: %s\n", name);
    EXPECT_ERR(prctl(9999, 0), EINVAL);

    /* Raw: musl answers these two itself (ENOSYS). */
    EXPECT_RET(syscall(SYS_sched_getscheduler, 0), SCHED_OTHER);
    struct sched_param sp = {.sched_priority = 5};
    EXPECT_RET(syscall(SYS_sched_getparam, 0, &sp), 0);
    printf("priority %d\n", sp.sched_priority);
    EXPECT_RET(sched_get_priority_max(SCHED_FIFO), 99);
    EXPECT_RET(sched_get_priority_min(SCHED_FIFO), 1);
    EXPECT_RET(sched_get_priority_max(SCHED_OTHER), 0);
    EXPECT_ERR(sched_get_priority_max(42), EINVAL);
    EXPECT_ERR(syscall(SYS_sched_getscheduler, -1), EINVAL);
    return finish();
}
