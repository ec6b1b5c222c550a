// i386_raw_calls.c - the i386 calls a 32-bit libc no longer makes, through
// syscall(): the old 16-bit id calls and their 32-bit twins, open, fork,
// waitpid, signal, sigaction/sigprocmask/sigpending/sigsuspend, select,
// lseek, truncate64, lstat64, the direct socket calls (glibc goes through
// socketcall), time64 variants, System V calls, fadvise64, readahead,
// sendfile64, tkill, get_robust_list, timerfd_gettime, ioprio, the NUMA
// calls, personality, sysfs, setfsuid/setfsgid and arguments the node-only
// calls refuse before any capability check (not iopl/ioperm: a host kernel
// may lack them). Results as Linux gives them.
// abis: i386
#define _GNU_SOURCE
#include "compat.h"
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

/* struct __kernel_timespec (64-bit time) for the *_time64 calls. */
struct ts64 {
    int64_t sec;
    int64_t nsec;
};

static volatile int hits;
static void on_signal(int sig)
{
    (void)sig;
    hits++;
}

int main(void)
{
    char dir[64] = "/tmp/compat-i386-XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    check(chdir(dir) == 0, "chdir");

    /* open, lseek, truncate64, lstat64, chown/lchown/fchown (16-bit ids). */
    long fd = syscall(SYS_open, "f", O_CREAT | O_RDWR, 0644);
    check(fd >= 0, "open");
    EXPECT_RET(syscall(SYS_write, fd, "0123456789", 10), 10);
    EXPECT_RET(syscall(SYS_lseek, fd, 3, SEEK_SET), 3);
    EXPECT_ERR(syscall(SYS_lseek, fd, -1, SEEK_SET), EINVAL);
    EXPECT_RET(syscall(SYS_truncate64, "f", 4, 0), 0);
    struct stat64 st;
    EXPECT_RET(syscall(SYS_lstat64, "f", &st), 0);
    printf("truncate64 size %lld\n", (long long)st.st_size);
    EXPECT_RET(syscall(SYS_chown, "f", 1, 2), 0);
    EXPECT_RET(syscall(SYS_lchown, "f", 3, 4), 0);
    EXPECT_RET(syscall(SYS_fchown, fd, 5, 6), 0);
    syscall(SYS_lstat64, "f", &st);
    printf("16-bit chown: %u:%u\n", st.st_uid, st.st_gid);
    EXPECT_ERR(syscall(SYS_open, "nope/x", O_RDONLY), ENOENT);

    /* readahead, fadvise64 and fadvise64_64, sendfile64. */
    EXPECT_RET(syscall(SYS_readahead, fd, 0, 0, 4096), 0);
    EXPECT_ERR(syscall(SYS_readahead, 999, 0, 0, 4096), EBADF);
    EXPECT_RET(syscall(SYS_fadvise64, fd, 0, 0, 4, POSIX_FADV_SEQUENTIAL), 0);
    EXPECT_RET(syscall(SYS_fadvise64_64, fd, 0, 0, 4, 0, POSIX_FADV_WILLNEED), 0);
    EXPECT_ERR(syscall(SYS_fadvise64_64, fd, 0, 0, 4, 0, 99), EINVAL);
    long out = syscall(SYS_open, "g", O_CREAT | O_RDWR, 0644);
    int64_t off = 1;
    EXPECT_RET(syscall(SYS_sendfile64, out, fd, &off, 2), 2);
    printf("sendfile64 offset %lld\n", (long long)off);

    /* The 16-bit and 32-bit id calls, as root: set to root again. */
    EXPECT_RET(syscall(SYS_getuid) == syscall(SYS_getuid32), 1);
    EXPECT_RET(syscall(SYS_getgid) == syscall(SYS_getgid32), 1);
    EXPECT_RET(syscall(SYS_geteuid) == syscall(SYS_geteuid32), 1);
    EXPECT_RET(syscall(SYS_getegid) == syscall(SYS_getegid32), 1);
    EXPECT_RET(syscall(SYS_setuid, 0), 0);
    EXPECT_RET(syscall(SYS_setgid, 0), 0);
    EXPECT_RET(syscall(SYS_setreuid, -1, 0), 0);
    EXPECT_RET(syscall(SYS_setregid, -1, 0), 0);
    EXPECT_RET(syscall(SYS_setreuid32, -1, 0), 0);
    EXPECT_RET(syscall(SYS_setregid32, -1, 0), 0);
    EXPECT_RET(syscall(SYS_setresuid, -1, -1, -1), 0);
    EXPECT_RET(syscall(SYS_setresgid, -1, -1, -1), 0);
    EXPECT_RET(syscall(SYS_setresgid32, -1, -1, -1), 0);
    unsigned short r16, e16, s16;
    EXPECT_RET(syscall(SYS_getresuid, &r16, &e16, &s16), 0);
    printf("getresuid (16-bit): %u %u %u\n", r16, e16, s16);
    EXPECT_RET(syscall(SYS_getresgid, &r16, &e16, &s16), 0);
    printf("getresgid (16-bit): %u %u %u\n", r16, e16, s16);
    EXPECT_RET(syscall(SYS_setfsuid, -1), 0);
    EXPECT_RET(syscall(SYS_setfsgid, -1), 0);
    EXPECT_RET(syscall(SYS_setfsuid32, -1), 0);
    EXPECT_RET(syscall(SYS_setfsgid32, -1), 0);
    unsigned short g16[4] = {7, 8};
    EXPECT_RET(syscall(SYS_setgroups, 2, g16), 0);
    EXPECT_RET(syscall(SYS_getgroups, 0, NULL), 2);
    unsigned short back[4] = {0};
    EXPECT_RET(syscall(SYS_getgroups, 4, back), 2);
    printf("16-bit groups %u %u\n", back[0], back[1]);
    unsigned g32[1] = {9};
    EXPECT_RET(syscall(SYS_setgroups32, 1, g32), 0);
    EXPECT_RET(syscall(SYS_setgroups, 0, NULL), 0);

    /* signal, sigaction (old), sigprocmask, sigpending, sigsuspend. */
    EXPECT_RET(syscall(SYS_signal, SIGUSR1, on_signal), (long)SIG_DFL);
    EXPECT_RET(syscall(SYS_signal, SIGUSR1, on_signal), (long)on_signal);
    unsigned long oldmask = 0, block = 1UL << (SIGUSR1 - 1), pending = 0;
    EXPECT_RET(syscall(SYS_sigprocmask, SIG_BLOCK, &block, &oldmask), 0);
    EXPECT_RET(syscall(SYS_kill, getpid(), SIGUSR1), 0);
    EXPECT_RET(syscall(SYS_sigpending, &pending), 0);
    printf("sigpending has SIGUSR1: %d\n", (pending & block) != 0);
    EXPECT_ERR(syscall(SYS_sigsuspend, 0, 0, 0), EINTR);
    printf("sigsuspend ran the handler: %d\n", hits);
    EXPECT_RET(syscall(SYS_sigprocmask, SIG_SETMASK, &oldmask, NULL), 0);
    struct {
        void *handler;
        unsigned long mask, flags;
        void *restorer;
    } old_act = {0};
    EXPECT_RET(syscall(SYS_sigaction, SIGUSR1, NULL, &old_act), 0);
    /* The old signal() is one-shot (SA_RESETHAND): the handler ran once. */
    printf("sigaction (old) sees SIG_DFL again: %d\n", old_act.handler == (void *)SIG_DFL);
    signal(SIGUSR1, on_signal);

    /* tkill to this thread, get_robust_list of this thread. */
    EXPECT_RET(syscall(SYS_tkill, syscall(SYS_gettid), SIGUSR1), 0);
    printf("tkill ran the handler: %d\n", hits);
    void *head = NULL;
    size_t len = 0;
    EXPECT_RET(syscall(SYS_get_robust_list, 0, &head, &len), 0);
    printf("get_robust_list length %zu\n", len);
    EXPECT_ERR(syscall(SYS_get_robust_list, 999999, &head, &len), ESRCH);

    /* fork and waitpid. */
    long pid = syscall(SYS_fork);
    if (pid == 0)
        syscall(SYS_exit, 5);
    int status = 0;
    check(syscall(SYS_waitpid, pid, &status, 0) == pid, "waitpid takes the child");
    printf("child status %d\n", WEXITSTATUS(status));
    EXPECT_ERR(syscall(SYS_waitpid, -1, &status, 0), ECHILD);

    /* select (the old one takes a pointer to its arguments) and _newselect. */
    struct timeval tv = {0, 0};
    EXPECT_RET(syscall(SYS__newselect, 0, NULL, NULL, NULL, &tv), 0);
    struct {
        long n;
        void *in, *out, *ex, *tv;
    } sel = {0, NULL, NULL, NULL, &tv};
    EXPECT_RET(syscall(SYS_select, &sel), 0);

    /* time, clock_nanosleep_time64, ppoll_time64, pselect6_time64,
       utimensat_time64, timer_gettime64, timerfd_settime64/gettime. */
    time_t t = 0;
    check(syscall(SYS_time, &t) > 0 && t > 0, "time");
    struct ts64 zero = {0, 0}, bad = {0, 2000000000}, rem = {0, 0};
    EXPECT_RET(syscall(SYS_clock_nanosleep_time64, CLOCK_MONOTONIC, 0, &zero, &rem), 0);
    EXPECT_ERR(syscall(SYS_clock_nanosleep_time64, CLOCK_MONOTONIC, 0, &bad, &rem), EINVAL);
    EXPECT_RET(syscall(SYS_ppoll_time64, NULL, 0, &zero, NULL, 8), 0);
    EXPECT_RET(syscall(SYS_pselect6_time64, 0, NULL, NULL, NULL, &zero, NULL), 0);
    struct ts64 times[2] = {{100, 0}, {200, 0}};
    EXPECT_RET(syscall(SYS_utimensat_time64, AT_FDCWD, "f", times, 0), 0);
    syscall(SYS_lstat64, "f", &st);
    printf("utimensat_time64 mtime %ld\n", (long)st.st_mtime);
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct ts64 its[2] = {{0, 0}, {100, 0}}, cur[2];
    EXPECT_RET(syscall(SYS_timerfd_settime64, tfd, 0, its, NULL), 0);
    struct itimerspec ois;
    EXPECT_RET(syscall(SYS_timerfd_gettime, tfd, &ois), 0);
    printf("timerfd_gettime: %d\n", ois.it_value.tv_sec >= 99 && ois.it_value.tv_sec <= 100);
    EXPECT_RET(syscall(SYS_timerfd_gettime64, tfd, cur), 0);
    timer_t timer;
    check(timer_create(CLOCK_MONOTONIC, NULL, &timer) == 0, "timer_create");
    EXPECT_RET(syscall(SYS_timer_gettime64, timer, cur), 0);
    printf("timer_gettime64 disarmed: %d\n", cur[1].sec == 0 && cur[1].nsec == 0);
    EXPECT_RET(syscall(SYS_sched_rr_get_interval_time64, 0, cur), 0);
    EXPECT_ERR(syscall(SYS_rt_sigtimedwait_time64, &block, NULL, &zero, 8), EAGAIN);
    int word = 1;
    EXPECT_ERR(syscall(SYS_futex_time64, &word, 0 /* FUTEX_WAIT */, 0, &zero), EAGAIN);
    EXPECT_ERR(syscall(SYS_futex_time64, &word, 0, 1, &zero), ETIMEDOUT);
    /* Setting the node's clock is refused; its arguments are checked first. */
    EXPECT_ERR(syscall(SYS_clock_settime64, CLOCK_REALTIME, &bad), EINVAL);
    EXPECT_ERR(syscall(SYS_clock_settime, CLOCK_MONOTONIC, &tv), EINVAL);

    /* The direct socket calls. */
    long s = syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0);
    check(s >= 0, "socket");
    struct sockaddr_un {
        unsigned short family;
        char path[108];
    } a = {AF_UNIX, "sock"};
    EXPECT_RET(syscall(SYS_bind, s, &a, sizeof a), 0);
    long c = syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_RET(syscall(SYS_connect, c, &a, sizeof a), 0);
    EXPECT_RET(syscall(SYS_sendto, c, "hi", 2, 0, NULL, 0), 2);
    char buf[8];
    EXPECT_RET(syscall(SYS_recvfrom, s, buf, sizeof buf, 0, NULL, NULL), 2);
    int v = 0;
    socklen_t vl = sizeof v;
    EXPECT_RET(syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, &v, &vl), 0);
    printf("SO_TYPE %d\n", v);
    v = 1;
    EXPECT_RET(syscall(SYS_setsockopt, s, SOL_SOCKET, SO_PASSCRED, &v, sizeof v), 0);
    struct sockaddr_un got;
    socklen_t gl = sizeof got;
    EXPECT_RET(syscall(SYS_getsockname, s, &got, &gl), 0);
    printf("getsockname %s\n", got.path);
    gl = sizeof got;
    EXPECT_RET(syscall(SYS_getpeername, c, &got, &gl), 0);
    struct iovec iov = {"yo", 2};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    EXPECT_RET(syscall(SYS_sendmsg, c, &mh, 0), 2);
    iov.iov_base = buf;
    iov.iov_len = sizeof buf;
    EXPECT_RET(syscall(SYS_recvmsg, s, &mh, 0), 2);
    EXPECT_RET(syscall(SYS_sendto, c, "a", 1, 0, NULL, 0), 1);
    struct mmsghdr mm = {{.msg_iov = &iov, .msg_iovlen = 1}, 0};
    EXPECT_RET(syscall(SYS_recvmmsg, s, &mm, 1, MSG_DONTWAIT, NULL), 1);
    int sv[2];
    EXPECT_RET(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv), 0);
    EXPECT_RET(syscall(SYS_shutdown, sv[0], SHUT_WR), 0);
    long l = syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un la = {AF_UNIX, "listen"};
    EXPECT_RET(syscall(SYS_bind, l, &la, sizeof la), 0);
    EXPECT_RET(syscall(SYS_listen, l, 4), 0);
    EXPECT_ERR(syscall(SYS_accept4, l, NULL, NULL, SOCK_NONBLOCK), EAGAIN);

    /* System V through the direct calls (glibc goes through ipc). */
    long shm = syscall(SYS_shmget, IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    check(shm >= 0, "shmget");
    void *at = (void *)syscall(SYS_shmat, shm, NULL, 0);
    check(at != (void *)-1, "shmat");
    EXPECT_RET(syscall(SYS_shmdt, at), 0);
    EXPECT_RET(shmctl(shm, IPC_RMID, NULL), 0);
    long q = syscall(SYS_msgget, IPC_PRIVATE, IPC_CREAT | 0600);
    check(q >= 0, "msgget");
    EXPECT_RET(msgctl(q, IPC_RMID, NULL), 0);

    /* I/O priorities, NUMA policy with one node, personality, sysfs. */
    EXPECT_RET(syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (2 << 13) | 4), 0);
    EXPECT_RET(syscall(SYS_ioprio_get, 1, 0), (2 << 13) | 4);
    unsigned long nodes = 0;
    int mode = -1;
    EXPECT_RET(syscall(SYS_get_mempolicy, &mode, &nodes, 64, NULL, 0), 0);
    printf("get_mempolicy mode %d\n", mode);
    EXPECT_RET(syscall(SYS_set_mempolicy, 0 /* MPOL_DEFAULT */, NULL, 0), 0);
    EXPECT_ERR(syscall(SYS_mbind, 4096, 4096, 0, NULL, 0, 0), EFAULT);
    unsigned long one = 1;
    EXPECT_RET(syscall(SYS_migrate_pages, 0, 64, &one, &one), 0);
    EXPECT_RET(syscall(SYS_personality, 0xffffffff), 0);
    EXPECT_ERR(syscall(SYS_sysfs, 9), EINVAL);

    /* Node-only calls: the arguments Linux refuses before the capability. */
    EXPECT_ERR(syscall(SYS_setdomainname, "x", -1), EINVAL);

    /* exit_group of a child, with the group's status. */
    pid = syscall(SYS_fork);
    if (pid == 0)
        syscall(SYS_exit_group, 9);
    check(syscall(SYS_waitpid, pid, &status, 0) == pid, "waitpid");
    printf("exit_group status %d\n", WEXITSTATUS(status));

    syscall(SYS_close, fd);
    syscall(SYS_close, out);
    unlink("f");
    unlink("g");
    unlink("sock");
    unlink("listen");
    chdir("/");
    rmdir(dir);
    return finish();
}
