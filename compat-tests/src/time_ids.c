// time_ids.c - CPU-time clocks, times, getrusage, sysinfo, sched_yield,
// sched_getaffinity, getcpu, the id family, getgroups, sethostname's checks.
#include "compat.h"
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <time.h>

static volatile unsigned long sink;

static long long ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
    long long p0 = ns(CLOCK_PROCESS_CPUTIME_ID), t0 = ns(CLOCK_THREAD_CPUTIME_ID), m0 = ns(CLOCK_MONOTONIC);
    while (ns(CLOCK_PROCESS_CPUTIME_ID) - p0 < 30000000)
        for (unsigned long i = 0; i < 100000; i++)
            sink += i;
    long long p1 = ns(CLOCK_PROCESS_CPUTIME_ID), t1 = ns(CLOCK_THREAD_CPUTIME_ID), m1 = ns(CLOCK_MONOTONIC);
    check(p1 > p0 && t1 > t0, "CPU-time clocks advance while computing");
    check(p1 - p0 <= (m1 - m0) + 20000000, "process CPU time <= elapsed time (+20 ms)");
    struct timespec res;
    EXPECT_RET(clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res), 0);
    EXPECT_ERR(syscall(SYS_clock_gettime, 99, &res), EINVAL);

    struct tms t;
    clock_t c = times(&t);
    check(c != (clock_t)-1, "times succeeds");
    check(t.tms_utime + t.tms_stime >= 1, "times reports at least a tick of CPU time");
    printf("children's times: %ld %ld\n", (long)t.tms_cutime, (long)t.tms_cstime);

    struct rusage ru;
    EXPECT_RET(getrusage(RUSAGE_SELF, &ru), 0);
    check(ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec > 1000, "getrusage: more than 1 ms of CPU time");
    check(ru.ru_maxrss > 0, "getrusage: max RSS > 0");
    EXPECT_RET(getrusage(RUSAGE_CHILDREN, &ru), 0);
    printf("children's user time: %ld\n", (long)ru.ru_utime.tv_sec);
    EXPECT_ERR(getrusage(99, &ru), EINVAL);
    EXPECT_ERR(syscall(SYS_getrusage, RUSAGE_SELF, bad_ptr_8), EFAULT);

    EXPECT_RET(sched_yield(), 0);
    cpu_set_t set;
    CPU_ZERO(&set);
    EXPECT_RET(sched_getaffinity(0, sizeof set, &set), 0);
    check(CPU_COUNT(&set) >= 1, "at least one CPU in the affinity mask");
    EXPECT_ERR(syscall(SYS_sched_getaffinity, 0, 3, &set), EINVAL);
    EXPECT_ERR(syscall(SYS_sched_getaffinity, 99999, sizeof set, &set), ESRCH);
    unsigned cpu = 999, node = 999;
    EXPECT_RET(syscall(SYS_getcpu, &cpu, &node, NULL), 0);
    check(CPU_ISSET(cpu, &set), "getcpu names a CPU of the mask");

    uid_t ru_, eu, su;
    gid_t rg, eg, sg;
    EXPECT_RET(getresuid(&ru_, &eu, &su), 0);
    EXPECT_RET(getresgid(&rg, &eg, &sg), 0);
    check(ru_ == getuid() && eu == geteuid() && su == getuid(), "getresuid agrees with getuid/geteuid");
    check(rg == getgid() && eg == getegid() && sg == getgid(), "getresgid agrees with getgid/getegid");
    EXPECT_RET(setuid(getuid()), 0);
    EXPECT_RET(setgid(getgid()), 0);
    EXPECT_RET(setresuid(-1, -1, -1), 0);
    int ng = getgroups(0, NULL);
    check(ng >= 0, "getgroups(0) counts the groups");
    gid_t groups[256];
    EXPECT_RET(getgroups(256, groups), ng);
    if (ng > 0)
        EXPECT_ERR(getgroups(ng - 1 > 0 ? ng - 1 : -1, groups), EINVAL);
    EXPECT_ERR(getgroups(-1, groups), EINVAL);
    char longname[100];
    memset(longname, 'h', sizeof longname);
    EXPECT_ERR(sethostname(longname, sizeof longname), EINVAL);
    EXPECT_RET(getpgrp() == getpid() || getpgrp() > 0, 1);
    EXPECT_ERR(getpgid(999999), ESRCH);
    EXPECT_ERR(getsid(999999), ESRCH);
    return finish();
}
