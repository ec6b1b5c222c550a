// posix_mqueue.c - POSIX message queues: mq_open's creation, attributes and
// errors (ENOENT, EEXIST, EINVAL, ENAMETOOLONG, EACCES), priority order,
// EMSGSIZE, O_NONBLOCK's EAGAIN, timed sends and receives (ETIMEDOUT, a bad
// timeout), mq_getattr/mq_setattr, EBADF for the wrong access mode or a
// descriptor that is no queue, poll readiness, a blocked receive and a
// blocked send woken by another process, mq_notify (SIGEV_SIGNAL's siginfo,
// one shot, EBUSY from another process, SIGEV_NONE, removal, removal by a
// close of any descriptor, bad sigevents,
// SIGEV_THREAD without a netlink socket), the text a read of the descriptor
// gives, mq_unlink of an open queue, close-on-exec, fstat, and the limits of
// /proc/sys/fs/mqueue. Queue names carry the pid (builds run side by side
// on the host) and are never printed.
#include "compat.h"
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

static char qname[64];

static void name_of(const char *tag)
{
    snprintf(qname, sizeof qname, "/compat_mq_%s_%d", tag, (int)getpid());
}

static long elapsed_ms(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static struct timespec in_ms(int ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += (long)ms * 1000000L;
    t.tv_sec += t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    return t;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int wait_child(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_open(void)
{
    struct mq_attr a = { 0 };
    name_of("open");
    mq_unlink(qname);
    EXPECT_ERR(mq_open(qname, O_RDWR), ENOENT);
    a.mq_maxmsg = 0;
    a.mq_msgsize = 16;
    EXPECT_ERR(mq_open(qname, O_RDWR | O_CREAT, 0600, &a), EINVAL);
    a.mq_maxmsg = 4;
    a.mq_msgsize = 0;
    EXPECT_ERR(mq_open(qname, O_RDWR | O_CREAT, 0600, &a), EINVAL);
    a.mq_maxmsg = 4;
    a.mq_msgsize = -1;
    EXPECT_ERR(mq_open(qname, O_RDWR | O_CREAT, 0600, &a), EINVAL);
    char longname[300];
    longname[0] = '/';
    memset(longname + 1, 'q', 256);
    longname[257] = 0;
    EXPECT_ERR(mq_open(longname, O_RDWR | O_CREAT, 0600, NULL), ENAMETOOLONG);
    longname[256] = 0;
    mqd_t l = mq_open(longname, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    check(l != (mqd_t)-1 || errno == EEXIST, "a name of 255 bytes is fine");
    if (l != (mqd_t)-1) {
        mq_close(l);
        EXPECT_RET(mq_unlink(longname), 0);
    }
    char sub[80];
    snprintf(sub, sizeof sub, "%s/sub", qname);
    EXPECT_ERR(mq_open(sub, O_RDWR | O_CREAT, 0600, NULL), EACCES);

    mqd_t q = mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    check(q != (mqd_t)-1, "mq_open O_CREAT|O_EXCL with default attributes");
    EXPECT_ERR(mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, NULL), EEXIST);
    struct mq_attr g;
    EXPECT_RET(mq_getattr(q, &g), 0);
    check(g.mq_maxmsg == 10 && g.mq_msgsize == 8192 && g.mq_curmsgs == 0 && g.mq_flags == 0, "defaults: maxmsg 10, msgsize 8192 (%ld %ld %ld %ld)", g.mq_flags, g.mq_maxmsg, g.mq_msgsize, g.mq_curmsgs);
    int fdflags = fcntl((int)q, F_GETFD);
    check(fdflags == FD_CLOEXEC, "a queue descriptor is close-on-exec");
    struct stat st;
    EXPECT_RET(fstat((int)q, &st), 0);
    check(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600 && st.st_uid == geteuid(), "fstat: a regular file, mode 0600, ours");
    /* Opening again (no O_CREAT) gives the same queue. */
    mqd_t q2 = mq_open(qname, O_WRONLY);
    check(q2 != (mqd_t)-1 && q2 != q, "mq_open of an existing queue");
    EXPECT_RET(mq_send(q2, "x", 1, 0), 0);
    EXPECT_RET(mq_getattr(q, &g), 0);
    check(g.mq_curmsgs == 1, "one queue behind both descriptors");
    EXPECT_RET(mq_close(q2), 0);
    /* Unlinked while open: the name goes, the queue stays. */
    EXPECT_RET(mq_unlink(qname), 0);
    EXPECT_ERR(mq_unlink(qname), ENOENT);
    EXPECT_ERR(mq_open(qname, O_RDWR), ENOENT);
    char buf[8192];
    EXPECT_RET(mq_receive(q, buf, sizeof buf, NULL), 1);
    EXPECT_RET(mq_close(q), 0);
    EXPECT_ERR(mq_close(q), EBADF);

    /* Permissions (root drops to nobody in a child). */
    if (geteuid() == 0) {
        q = mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
        pid_t pid = fork();
        if (pid == 0) {
            if (setuid(65534) != 0)
                _exit(9);
            errno = 0;
            int r1 = mq_open(qname, O_RDONLY) == (mqd_t)-1 && errno == EACCES;
            errno = 0;
            int r2 = mq_unlink(qname) == -1 && errno == EACCES;
            _exit(r1 && r2 ? 0 : 1);
        }
        check(wait_child(pid) == 0, "root: nobody may neither open a 0600 queue of root's nor unlink it (EACCES)");
        mq_close(q);
        mq_unlink(qname);
        /* Past msg_max with CAP_SYS_RESOURCE alone (a container's root may lack it). */
        struct { unsigned version; int pid; } hdr = { 0x20080522, 0 };
        struct { unsigned eff, perm, inh; } data[2] = { { 0 } };
        int res = syscall(SYS_capget, &hdr, data) == 0 && (data[0].eff & (1u << 24));
        a.mq_maxmsg = 20;
        a.mq_msgsize = 16384;
        errno = 0;
        q = mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
        check(res ? q != (mqd_t)-1 : q == (mqd_t)-1 && errno == EINVAL, "root: maxmsg 20, msgsize 16384 past msg_max as CAP_SYS_RESOURCE allows");
        if (q != (mqd_t)-1) {
            check(mq_getattr(q, &g) == 0 && g.mq_maxmsg == 20 && g.mq_msgsize == 16384, "root: the attributes asked");
            mq_close(q);
        } else {
            check(1, "root: the attributes asked");
        }
        mq_unlink(qname);
        pid = fork();
        if (pid == 0) {
            if (setuid(65534) != 0)
                _exit(9);
            errno = 0;
            int r = mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, &a) == (mqd_t)-1 && errno == EINVAL;
            _exit(r ? 0 : 1);
        }
        check(wait_child(pid) == 0, "root: nobody may not pass msg_max (EINVAL)");
    } else {
        printf("skip: permissions need root\n");
    }
}

static void test_messages(void)
{
    struct mq_attr a = { 0 };
    a.mq_maxmsg = 4;
    a.mq_msgsize = 64;
    name_of("msg");
    mq_unlink(qname);
    mqd_t q = mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0644, &a);
    check(q != (mqd_t)-1, "mq_open maxmsg 4, msgsize 64");
    struct mq_attr g;
    EXPECT_RET(mq_getattr(q, &g), 0);
    check(g.mq_maxmsg == 4 && g.mq_msgsize == 64, "the attributes asked");

    char big[65];
    memset(big, 'b', sizeof big);
    EXPECT_ERR(mq_send(q, big, 65, 0), EMSGSIZE);
    EXPECT_ERR(mq_send(q, "p", 1, 32768), EINVAL);
    EXPECT_RET(mq_send(q, big, 64, 0), 0);
    char buf[128];
    unsigned prio = 99;
    EXPECT_ERR(mq_receive(q, buf, 63, &prio), EMSGSIZE);
    EXPECT_RET(mq_receive(q, buf, 64, &prio), 64);
    check(prio == 0, "prio 0");

    /* Priority order, arrival order within a priority. */
    EXPECT_RET(mq_send(q, "a", 1, 1), 0);
    EXPECT_RET(mq_send(q, "bb", 2, 5), 0);
    EXPECT_RET(mq_send(q, "c", 1, 1), 0);
    EXPECT_RET(mq_send(q, "", 0, 0), 0);
    /* The text a read of the descriptor gives: 4 bytes queued. */
    char text[200] = { 0 };
    ssize_t n = read((int)q, text, sizeof text - 1);
    check(n > 0 && strncmp(text, "QSIZE:4 ", 8) == 0 && strstr(text, "NOTIFY:0 ") && strstr(text, "SIGNO:0 ") && strstr(text, "NOTIFY_PID:"),
          "read: QSIZE:4 NOTIFY:0 SIGNO:0 NOTIFY_PID:");
    EXPECT_RET(mq_getattr(q, &g), 0);
    check(g.mq_curmsgs == 4, "curmsgs 4");
    struct pollfd pfd = { (int)q, POLLIN | POLLOUT, 0 };
    EXPECT_RET(poll(&pfd, 1, 0), 1);
    check(pfd.revents == POLLIN, "full: POLLIN only (%#x)", pfd.revents);
    EXPECT_RET(mq_setattr(q, &(struct mq_attr){ .mq_flags = O_NONBLOCK }, &g), 0);
    check(g.mq_flags == 0, "mq_setattr gives the old flags");
    EXPECT_ERR(mq_send(q, "d", 1, 0), EAGAIN);
    struct mq_attr bad = { .mq_flags = O_NONBLOCK | O_APPEND };
    EXPECT_ERR(mq_setattr(q, &bad, NULL), EINVAL);
    EXPECT_RET(mq_getattr(q, &g), 0);
    check(g.mq_flags == O_NONBLOCK, "mq_getattr: O_NONBLOCK");
    EXPECT_RET(mq_setattr(q, &(struct mq_attr){ .mq_flags = 0 }, NULL), 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec dl = in_ms(60);
    EXPECT_ERR(mq_timedsend(q, "d", 1, 0, &dl), ETIMEDOUT);
    check(elapsed_ms(&t0) >= 50, "a full queue's timed send waited for its deadline");
    dl = in_ms(0);
    dl.tv_sec -= 1;
    EXPECT_ERR(mq_timedsend(q, "d", 1, 0, &dl), ETIMEDOUT);
    const char *want[] = { "bb", "a", "c", "" };
    unsigned wantp[] = { 5, 1, 1, 0 };
    for (int i = 0; i < 4; i++) {
        memset(buf, 0, sizeof buf);
        n = mq_receive(q, buf, sizeof buf, &prio);
        check(n == (ssize_t)strlen(want[i]) && strcmp(buf, want[i]) == 0 && prio == wantp[i], "message %d: \"%s\" priority %u", i, want[i], wantp[i]);
    }
    pfd.revents = 0;
    EXPECT_RET(poll(&pfd, 1, 0), 1);
    check(pfd.revents == POLLOUT, "empty: POLLOUT only (%#x)", pfd.revents);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dl = in_ms(60);
    EXPECT_ERR(mq_timedreceive(q, buf, sizeof buf, NULL, &dl), ETIMEDOUT);
    check(elapsed_ms(&t0) >= 50, "an empty queue's timed receive waited for its deadline");
    dl.tv_nsec = 1000000000L;
    EXPECT_ERR(mq_timedreceive(q, buf, sizeof buf, NULL, &dl), EINVAL);
    dl.tv_nsec = 0;
    dl.tv_sec = 0;
    EXPECT_ERR(mq_timedreceive(q, buf, sizeof buf, NULL, &dl), ETIMEDOUT);
    EXPECT_ERR(syscall(SYS_mq_timedreceive, (int)q, buf, sizeof buf, NULL, bad_ptr_8), EFAULT);
    mqd_t nb = mq_open(qname, O_RDWR | O_NONBLOCK);
    EXPECT_ERR(mq_receive(nb, buf, sizeof buf, NULL), EAGAIN);
    mq_close(nb);

    /* Access modes and descriptors that are no queue. */
    mqd_t ro = mq_open(qname, O_RDONLY), wo = mq_open(qname, O_WRONLY);
    EXPECT_ERR(mq_send(ro, "x", 1, 0), EBADF);
    EXPECT_RET(mq_send(wo, "x", 1, 0), 0);
    EXPECT_ERR(mq_receive(wo, buf, sizeof buf, NULL), EBADF);
    EXPECT_RET(mq_receive(ro, buf, sizeof buf, NULL), 1);
    EXPECT_ERR(mq_open(qname, O_RDWR | O_WRONLY), EINVAL);
    mq_close(ro);
    mq_close(wo);
    EXPECT_ERR(mq_send((mqd_t)-1, "x", 1, 0), EBADF);
    EXPECT_ERR(mq_getattr((mqd_t)1000, &g), EBADF);
    int p[2];
    EXPECT_RET(pipe(p), 0);
    EXPECT_ERR(mq_getattr((mqd_t)p[0], &g), EBADF);
    EXPECT_ERR(mq_send((mqd_t)p[1], "x", 1, 0), EBADF);
    EXPECT_ERR(syscall(SYS_mq_getsetattr, (int)q, bad_ptr_8, NULL), EFAULT);
    EXPECT_ERR(syscall(SYS_mq_timedsend, (int)q, bad_ptr_8, 4, 0, NULL), EFAULT);

    /* A receive blocked in a child, woken by the parent's send. */
    pid_t pid = fork();
    if (pid == 0) {
        char b[64] = { 0 };
        unsigned pr = 0;
        ssize_t r = mq_receive(q, b, sizeof b, &pr);
        _exit(r == 5 && strcmp(b, "hello") == 0 && pr == 7 ? 0 : 1);
    }
    sleep_ms(50);
    EXPECT_RET(mq_send(q, "hello", 5, 7), 0);
    check(wait_child(pid) == 0, "a child's blocked mq_receive got the parent's message");

    /* A send blocked on a full queue in a child, woken by a receive. */
    for (int i = 0; i < 4; i++)
        mq_send(q, "f", 1, 0);
    pid = fork();
    if (pid == 0)
        _exit(mq_send(q, "late", 4, 3) == 0 ? 0 : 1);
    sleep_ms(50);
    EXPECT_RET(mq_getattr(q, &g), 0);
    check(g.mq_curmsgs == 4, "the child's send waits");
    EXPECT_RET(mq_receive(q, buf, sizeof buf, NULL), 1);
    check(wait_child(pid) == 0, "a child's blocked mq_send went on after a receive");
    EXPECT_RET(mq_receive(q, buf, sizeof buf, &prio), 4);
    check(prio == 3, "its message is first (priority 3)");
    mq_close(q);
    mq_unlink(qname);
    close(p[0]);
    close(p[1]);
}

static volatile sig_atomic_t got, got_code, got_value, got_pid_ok;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    got++;
    got_code = si->si_code;
    got_value = si->si_value.sival_int;
    got_pid_ok = si->si_pid == getpid() && si->si_uid == getuid() && sig == SIGUSR1;
}

/* The kernel's struct sigevent (64 bytes). */
struct ksigevent {
    union { int i; void *p; } value;
    int signo;
    int notify;
    int pad[12];
};

static void test_notify(void)
{
    name_of("notify");
    mq_unlink(qname);
    mqd_t q = mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    check(q != (mqd_t)-1, "mq_open");
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent ev = { 0 };
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 0x1234;
    EXPECT_RET(mq_notify(q, &ev), 0);
    EXPECT_ERR(mq_notify(q, &ev), EBUSY);
    char text[200] = { 0 };
    check(lseek((int)q, 0, SEEK_SET) == 0 && read((int)q, text, sizeof text - 1) > 0 && strstr(text, "NOTIFY:0 ") && strstr(text, "SIGNO:10 "), "read: NOTIFY:0 SIGNO:10 once registered");
    pid_t pid = fork();
    if (pid == 0) {
        struct sigevent e2 = { 0 };
        e2.sigev_notify = SIGEV_NONE;
        errno = 0;
        int busy = mq_notify(q, &e2) == -1 && errno == EBUSY;
        /* Removing another process's registration does nothing. */
        int none = mq_notify(q, NULL) == 0;
        _exit(busy && none ? 0 : 1);
    }
    check(wait_child(pid) == 0, "another process: EBUSY, and mq_notify(NULL) leaves ours");
    EXPECT_RET(mq_send(q, "1", 1, 0), 0);
    for (int i = 0; i < 100 && !got; i++)
        sleep_ms(5);
    check(got == 1 && got_code == SI_MESGQ && got_value == 0x1234 && got_pid_ok, "SIGUSR1 with SI_MESGQ, si_value, si_pid and si_uid of the sender");
    /* One shot: the registration went with the signal. */
    EXPECT_RET(mq_notify(q, &ev), 0);
    /* Not empty: a send does not notify. */
    EXPECT_RET(mq_send(q, "2", 1, 0), 0);
    sleep_ms(20);
    check(got == 1, "a send to a queue that was not empty notifies no one");
    char buf[8192];
    mq_receive(q, buf, sizeof buf, NULL);
    mq_receive(q, buf, sizeof buf, NULL);
    /* A send by another process to the empty queue: si_pid is the sender's. */
    got = 0;
    pid = fork();
    if (pid == 0)
        _exit(mq_send(q, "3", 1, 0) == 0 ? 0 : 1);
    check(wait_child(pid) == 0, "the child's send");
    for (int i = 0; i < 100 && !got; i++)
        sleep_ms(5);
    check(got == 1 && got_code == SI_MESGQ && !got_pid_ok, "a child's send: SI_MESGQ with the child's pid");
    mq_receive(q, buf, sizeof buf, NULL);
    /* Removal, SIGEV_NONE. */
    EXPECT_RET(mq_notify(q, &ev), 0);
    EXPECT_RET(mq_notify(q, NULL), 0);
    got = 0;
    EXPECT_RET(mq_send(q, "4", 1, 0), 0);
    sleep_ms(20);
    check(got == 0, "no signal after mq_notify(NULL)");
    mq_receive(q, buf, sizeof buf, NULL);
    struct sigevent none = { 0 };
    none.sigev_notify = SIGEV_NONE;
    EXPECT_RET(mq_notify(q, &none), 0);
    EXPECT_ERR(mq_notify(q, &ev), EBUSY);
    EXPECT_RET(mq_send(q, "5", 1, 0), 0);
    EXPECT_RET(mq_notify(q, &ev), 0);
    EXPECT_RET(mq_notify(q, NULL), 0);
    /* Closing any descriptor of the queue drops our registration. */
    EXPECT_RET(mq_notify(q, &none), 0);
    int d = dup((int)q);
    check(d >= 0, "dup of the queue descriptor");
    close(d);
    EXPECT_RET(mq_notify(q, &none), 0);
    EXPECT_RET(mq_notify(q, NULL), 0);
    /* Bad sigevents and descriptors (the raw call: libc may check first). */
    struct ksigevent k = { 0 };
    k.notify = 99;
    EXPECT_ERR(syscall(SYS_mq_notify, (int)q, &k), EINVAL);
    k.notify = SIGEV_SIGNAL;
    k.signo = 65;
    EXPECT_ERR(syscall(SYS_mq_notify, (int)q, &k), EINVAL);
    k.signo = SIGUSR1;
    EXPECT_ERR(syscall(SYS_mq_notify, -1, &k), EBADF);
    EXPECT_ERR(syscall(SYS_mq_notify, 1, &k), EBADF);
    EXPECT_ERR(syscall(SYS_mq_notify, (int)q, bad_ptr_8), EFAULT);
    /* SIGEV_THREAD's signo names the netlink socket to post a cookie to. */
    char cookie[32] = { 0 };
    int p[2];
    EXPECT_RET(pipe(p), 0);
    k.notify = SIGEV_THREAD;
    k.value.p = cookie;
    k.signo = p[0];
    EXPECT_ERR(syscall(SYS_mq_notify, (int)q, &k), ENOTSOCK);
    k.signo = 1000;
    EXPECT_ERR(syscall(SYS_mq_notify, (int)q, &k), EBADF);
    close(p[0]);
    close(p[1]);
    mq_close(q);
    mq_unlink(qname);
}

static void test_limits(void)
{
    const char *files[] = { "msg_max", "msgsize_max", "msg_default", "msgsize_default", "queues_max" };
    for (int i = 0; i < 5; i++) {
        char path[80], text[32] = { 0 };
        snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", files[i]);
        int fd = open(path, O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
        check(n > 0, "%s readable", path);
        printf("%s: %s", files[i], n > 0 ? text : "?\n");
        if (fd >= 0)
            close(fd);
    }
}

int main(void)
{
    test_open();
    test_messages();
    test_notify();
    test_limits();
    return finish();
}
