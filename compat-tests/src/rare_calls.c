// rare_calls.c - calls no other test makes, each with what it returns or
// fails with: vfork, utime/utimes, time, setrlimit, sched_rr_get_interval,
// sched_setaffinity, symlinkat, faccessat, the old signalfd, preadv/pwritev,
// rt_tgsigqueueinfo, syncfs, sendmmsg, execveat, pkey_alloc/free/mprotect,
// restart_syscall outside a restart.
#define _GNU_SOURCE
#include "compat.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <utime.h>

static volatile sig_atomic_t got_value;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    got_value = si->si_value.sival_int;
}

int main(void)
{
    char dir[64] = "/tmp/compat-rare-XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    check(chdir(dir) == 0, "chdir");

    /* vfork: the parent waits until the child exits. */
    pid_t pid = vfork();
    if (pid == 0)
        _exit(7);
    int status = 0;
    check(waitpid(pid, &status, 0) == pid, "waitpid takes the vfork child");
    printf("vfork child exit %d\n", WEXITSTATUS(status));

    /* utime, utimes: times set and read back. */
    int fd = open("f", O_CREAT | O_RDWR, 0644);
    struct utimbuf ub = {1000000000, 1200000000};
    EXPECT_RET(utime("f", &ub), 0);
    struct stat st;
    stat("f", &st);
    printf("utime: atime %ld mtime %ld\n", (long)st.st_atime, (long)st.st_mtime);
    struct timeval tv[2] = {{1300000000, 500000}, {1400000000, 250000}};
    EXPECT_RET(utimes("f", tv), 0);
    stat("f", &st);
    printf("utimes: atime %ld.%09ld mtime %ld.%09ld\n", (long)st.st_atime, st.st_atim.tv_nsec, (long)st.st_mtime, st.st_mtim.tv_nsec);
    EXPECT_ERR(utime("nope", &ub), ENOENT);

    /* time: the seconds, also through the pointer (the raw call where libc
       uses the vDSO). */
#ifdef SYS_time
    time_t t1 = 0;
    long t = syscall(SYS_time, &t1);
    check(t > 1700000000 && t == t1, "time() returns the seconds and stores them");
#endif

    /* setrlimit: lower a soft limit, read it back; above the hard limit EINVAL. */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    struct rlimit lower = {64, rl.rlim_max};
    EXPECT_RET(setrlimit(RLIMIT_NOFILE, &lower), 0);
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("RLIMIT_NOFILE soft %ld\n", (long)rl.rlim_cur);
    struct rlimit bad = {rl.rlim_max, 1};
    if (rl.rlim_max > 1)
        EXPECT_ERR(setrlimit(RLIMIT_NOFILE, &bad), EINVAL);

    /* sched_rr_get_interval: the caller's, a bad pid ESRCH. */
    struct timespec q;
    EXPECT_RET(sched_rr_get_interval(0, &q), 0);
    EXPECT_ERR(sched_rr_get_interval(-1, &q), EINVAL);
    EXPECT_ERR(sched_rr_get_interval(999999, &q), ESRCH);

    /* sched_setaffinity: the set it has is allowed; an empty set, or one of
       CPUs that do not exist, EINVAL. */
    cpu_set_t set;
    EXPECT_RET(sched_getaffinity(0, sizeof set, &set), 0);
    EXPECT_RET(sched_setaffinity(0, sizeof set, &set), 0);
    CPU_ZERO(&set);
    EXPECT_ERR(sched_setaffinity(0, sizeof set, &set), EINVAL);
    CPU_SET(1000, &set);
    EXPECT_ERR(sched_setaffinity(0, sizeof set, &set), EINVAL);

    /* symlinkat and faccessat relative to a directory descriptor. */
    int d = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_RET(symlinkat("f", d, "link"), 0);
    char target[16] = {0};
    EXPECT_RET(readlinkat(d, "link", target, sizeof target - 1), 1);
    printf("symlinkat target %s\n", target);
    EXPECT_ERR(symlinkat("f", d, "link"), EEXIST);
    EXPECT_RET(syscall(SYS_faccessat, d, "f", R_OK | W_OK), 0);
    EXPECT_ERR(syscall(SYS_faccessat, d, "nope", F_OK), ENOENT);
    EXPECT_ERR(syscall(SYS_faccessat, 999, "f", F_OK), EBADF);

    /* preadv/pwritev at an offset, the file offset unchanged. */
    char a[4] = "abcd", b[3] = "xyz", r1[3], r2[4];
    struct iovec w[2] = {{a, 4}, {b, 3}};
    EXPECT_RET(pwritev(fd, w, 2, 5), 7);
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 0);
    struct iovec rv[2] = {{r1, 3}, {r2, 4}};
    EXPECT_RET(preadv(fd, rv, 2, 5), 7);
    printf("preadv: %.3s|%.4s\n", r1, r2);
    EXPECT_ERR(preadv(fd, rv, 2, -1), EINVAL);

    /* syncfs of the working directory's file system; a bad fd EBADF. */
    EXPECT_RET(syncfs(fd), 0);
    EXPECT_ERR(syncfs(999), EBADF);

    /* The old signalfd (no flags): a pending signal read through it. */
#ifdef SYS_signalfd
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    int sfd = syscall(SYS_signalfd, -1, &usr2, 8);
    check(sfd >= 0, "signalfd");
    raise(SIGUSR2);
    unsigned char info[128];
    EXPECT_RET(read(sfd, info, sizeof info), 128);
    printf("signalfd read signal %u\n", *(unsigned *)info);
    EXPECT_ERR(syscall(SYS_signalfd, -1, &usr2, 4), EINVAL);
    close(sfd);
#endif

    /* rt_tgsigqueueinfo to this thread: the handler sees the value. */
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    siginfo_t si = {0};
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = 42;
    EXPECT_RET(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR1, &si), 0);
    printf("rt_tgsigqueueinfo value %d\n", (int)got_value);
    EXPECT_ERR(syscall(SYS_rt_tgsigqueueinfo, getpid(), 999999, SIGUSR1, &si), ESRCH);

    /* sendmmsg: two datagrams in one call. */
    int sv[2];
    EXPECT_RET(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    struct iovec m1 = {"one", 3}, m2 = {"three", 5};
    struct mmsghdr mm[2] = {{{.msg_iov = &m1, .msg_iovlen = 1}, 0}, {{.msg_iov = &m2, .msg_iovlen = 1}, 0}};
    EXPECT_RET(sendmmsg(sv[0], mm, 2, 0), 2);
    printf("sendmmsg lengths %u %u\n", mm[0].msg_len, mm[1].msg_len);
    char got[8];
    EXPECT_RET(recv(sv[1], got, sizeof got, 0), 3);
    EXPECT_RET(recv(sv[1], got, sizeof got, 0), 5);
    EXPECT_ERR(sendmmsg(999, mm, 2, 0), EBADF);

    /* execveat: an empty path without AT_EMPTY_PATH is ENOENT; a directory
       descriptor and a missing name ENOENT; a bad descriptor EBADF. */
    char *argv[] = {"x", NULL};
    EXPECT_ERR(syscall(SYS_execveat, fd, "", argv, argv + 1, 0), ENOENT);
    EXPECT_ERR(syscall(SYS_execveat, d, "nope", argv, argv + 1, 0), ENOENT);
    EXPECT_ERR(syscall(SYS_execveat, 999, "x", argv, argv + 1, 0), EBADF);
    EXPECT_ERR(syscall(SYS_execveat, d, "f", argv, argv + 1, 0x12345), EINVAL);

    /* restart_syscall with nothing to restart: EINTR. */
    EXPECT_ERR(syscall(SYS_restart_syscall), EINTR);

    /* Protection keys: pkey_free of a key never allocated is EINVAL, as are
       bad flags; pkey_mprotect with key -1 is mprotect. */
    EXPECT_ERR(syscall(SYS_pkey_alloc, 1, 0), EINVAL);
    EXPECT_ERR(syscall(SYS_pkey_free, 15), EINVAL);
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_RET(syscall(SYS_pkey_mprotect, page, 4096, PROT_READ, -1), 0);
    EXPECT_ERR(syscall(SYS_pkey_mprotect, page, 4096, PROT_READ, 99), EINVAL);

    close(fd);
    close(d);
    unlink("link");
    unlink("f");
    chdir("/");
    rmdir(dir);
    return finish();
}
