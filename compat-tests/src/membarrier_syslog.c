// membarrier_syslog.c - membarrier: QUERY (the commands every x86_64 Linux
// offers), the private expedited commands needing their registration
// (EPERM before, 0 after, kept by a fork's child, gone after exec), the
// global ones, bad commands and flags (EINVAL); a barrier seen by a thread
// spinning on another CPU. syslog (klogctl): SIZE_BUFFER, SIZE_UNREAD,
// READ_ALL into a buffer, OPEN and CLOSE, and the errors of bad types,
// NULL buffers and lengths; without root (dmesg_restrict, as Debian) EPERM.
// Log contents and sizes differ between machines: only properties are printed.
#include "compat.h"
#include <pthread.h>
#include <sched.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define CMD_QUERY 0
#define CMD_GLOBAL 1
#define CMD_GLOBAL_EXPEDITED 2
#define CMD_REGISTER_GLOBAL_EXPEDITED 4
#define CMD_PRIVATE_EXPEDITED 8
#define CMD_REGISTER_PRIVATE_EXPEDITED 16
#define CMD_PRIVATE_EXPEDITED_SYNC_CORE 32
#define CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE 64

static long membarrier(int cmd, unsigned flags)
{
    return syscall(SYS_membarrier, cmd, flags, 0);
}

static volatile int stop;
static volatile long counter;

static void *spin(void *arg)
{
    (void)arg;
    while (!stop)
        counter++;
    return NULL;
}

static int wait_child(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_membarrier(const char *self)
{
    long q = membarrier(CMD_QUERY, 0);
    check(q >= 0 && (q & 0x7f) == 0x7f, "QUERY offers GLOBAL, GLOBAL_EXPEDITED, PRIVATE_EXPEDITED, SYNC_CORE and their registrations");
    EXPECT_ERR(membarrier(CMD_QUERY, 1), EINVAL);
    EXPECT_ERR(membarrier(-1, 0), EINVAL);
    EXPECT_ERR(membarrier(3, 0), EINVAL);
    EXPECT_ERR(membarrier(CMD_GLOBAL, 1), EINVAL);
    EXPECT_ERR(membarrier(CMD_PRIVATE_EXPEDITED, 0), EPERM);
    EXPECT_ERR(membarrier(CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0), EPERM);
    EXPECT_RET(membarrier(CMD_GLOBAL, 0), 0);
    EXPECT_RET(membarrier(CMD_GLOBAL_EXPEDITED, 0), 0);
    EXPECT_RET(membarrier(CMD_REGISTER_GLOBAL_EXPEDITED, 0), 0);
    EXPECT_RET(membarrier(CMD_GLOBAL_EXPEDITED, 0), 0);
    EXPECT_RET(membarrier(CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0), 0);
    EXPECT_RET(membarrier(CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0), 0);
    EXPECT_ERR(membarrier(CMD_PRIVATE_EXPEDITED, 0), EPERM);
    EXPECT_RET(membarrier(CMD_REGISTER_PRIVATE_EXPEDITED, 0), 0);
    EXPECT_RET(membarrier(CMD_REGISTER_PRIVATE_EXPEDITED, 0), 0);

    /* With a thread computing beside us. */
    pthread_t t;
    check(pthread_create(&t, NULL, spin, NULL) == 0, "a spinning thread");
    while (counter == 0)
        sched_yield();
    for (int i = 0; i < 20; i++) {
        if (membarrier(CMD_PRIVATE_EXPEDITED, 0) != 0 || membarrier(CMD_GLOBAL_EXPEDITED, 0) != 0) {
            check(0, "barriers beside a spinning thread");
            break;
        }
    }
    stop = 1;
    pthread_join(t, NULL);
    check(counter > 0, "barriers beside a spinning thread return, the thread ran");

    /* A fork's child keeps the registrations; exec drops them. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(membarrier(CMD_PRIVATE_EXPEDITED, 0) == 0 && membarrier(CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0) == 0 ? 0 : 1);
    check(wait_child(pid) == 0, "a fork's child keeps the registrations");
    pid = fork();
    if (pid == 0) {
        execl(self, self, "after-exec", (char *)NULL);
        _exit(99);
    }
    check(wait_child(pid) == 0, "after exec: PRIVATE_EXPEDITED is EPERM again");
}

static void test_syslog(void)
{
    if (geteuid() != 0) {
        printf("skip: syslog needs root\n");
        return;
    }
    int size = klogctl(10, NULL, 0);
    check(size >= 4096, "SIZE_BUFFER: a buffer of at least 4 KiB");
    int unread = klogctl(9, NULL, 0);
    check(unread >= 0, "SIZE_UNREAD >= 0");
    EXPECT_RET(klogctl(0, NULL, 0), 0);
    EXPECT_RET(klogctl(1, NULL, 0), 0);
    EXPECT_ERR(klogctl(99, NULL, 0), EINVAL);
    EXPECT_ERR(klogctl(-1, NULL, 0), EINVAL);
    EXPECT_ERR(klogctl(3, NULL, 10), EINVAL);
    EXPECT_ERR(klogctl(3, (char *)bad_ptr_8, -1), EINVAL);
    EXPECT_RET(klogctl(3, (char *)bad_ptr_8, 0), 0);
    EXPECT_ERR(klogctl(2, NULL, 10), EINVAL);
    EXPECT_RET(klogctl(2, (char *)bad_ptr_8, 0), 0);
    EXPECT_ERR(klogctl(8, NULL, 0), EINVAL);
    EXPECT_ERR(klogctl(8, NULL, 9), EINVAL);
    char buf[4096];
    int n = klogctl(3, buf, sizeof buf);
    check(n >= 0 && n <= (int)sizeof buf, "READ_ALL into 4 KiB: 0 to 4096 bytes");
    check(n == 0 || buf[n - 1] == '\n', "whole lines");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setuid(65534) != 0)
            _exit(9);
        errno = 0;
        int a = klogctl(10, NULL, 0) == -1 && errno == EPERM;
        errno = 0;
        int b = klogctl(3, buf, sizeof buf) == -1 && errno == EPERM;
        errno = 0;
        int c = klogctl(99, NULL, 0) == -1 && errno == EPERM;
        _exit(a && b && c ? 0 : 1);
    }
    check(wait_child(pid) == 0, "without root: EPERM for every action (dmesg_restrict)");
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        /* After exec: the registrations are gone. */
        errno = 0;
        long r = membarrier(CMD_PRIVATE_EXPEDITED, 0);
        return r == -1 && errno == EPERM ? 0 : 1;
    }
    test_membarrier("/proc/self/exe");
    test_syslog();
    return finish();
}
