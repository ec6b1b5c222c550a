// file_locks.c - file locks between processes: fcntl record locks (ranges,
// F_GETLK reporting the holder, F_SETLKW waking on unlock, close and exit,
// EDEADLK, EINTR), their errors (whence, negative start, access mode),
// splitting and merging, close of any descriptor dropping a process's locks;
// OFD locks (owned by the open file description, l_pid -1); flock (shared,
// exclusive, LOCK_NB, inherited with the description, independent of fcntl).
// Children report through a shared page; only the parent prints.
#include "compat.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>

#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#endif

#define FILE_NAME "locks.dat"

/* What children report: results and flags, in a shared anonymous page. */
struct shared {
    volatile int r[16];
    volatile int e[16];
    volatile int flag;
    volatile int type, whence, pid_is_parent, pid;
    volatile long start, len;
};
static struct shared *sh;

static int lk(int fd, int cmd, int type, int whence, long start, long len)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = whence;
    fl.l_start = start;
    fl.l_len = len;
    return fcntl(fd, cmd, &fl);
}

/* F_GETLK (or F_OFD_GETLK) of a range: the answer in sh->type, start, len, pid. */
static int getlk(int fd, int cmd, int type, long start, long len)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    int r = fcntl(fd, cmd, &fl);
    sh->type = fl.l_type;
    sh->whence = fl.l_whence;
    sh->start = fl.l_start;
    sh->len = fl.l_len;
    sh->pid = fl.l_pid;
    sh->pid_is_parent = fl.l_pid == getppid();
    return r;
}

static int child_ok(pid_t c)
{
    int st = 0;
    return waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static pid_t spawn(void)
{
    fflush(stdout);
    pid_t c = fork();
    if (c < 0) {
        perror("fork");
        exit(2);
    }
    return c;
}

static void on_alarm(int sig)
{
    (void)sig;
}

/* Give a child the time to start waiting (the outcome does not depend on it). */
static void pause_a_little(void)
{
    usleep(200 * 1000);
}

int main(void)
{
    sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return 2;
    unlink(FILE_NAME);
    int fd = open(FILE_NAME, O_CREAT | O_RDWR, 0644);
    check(fd >= 0, "open %s", FILE_NAME);
    char buf[100];
    memset(buf, 'x', sizeof buf);
    EXPECT_RET(write(fd, buf, sizeof buf), 100);

    /* Errors. */
    EXPECT_ERR(lk(fd, F_SETLK, F_WRLCK, 5, 0, 1), EINVAL);
    EXPECT_ERR(lk(fd, F_SETLK, F_WRLCK, -1, 0, 1), EINVAL);
    EXPECT_ERR(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1), EINVAL);
    EXPECT_ERR(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 3, -5), EINVAL);
    EXPECT_ERR(lk(fd, F_SETLK, 7, SEEK_SET, 0, 1), EINVAL);
    EXPECT_ERR(lk(fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1), EINVAL);
    EXPECT_ERR(lk(-1, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), EBADF);
    int ro = open(FILE_NAME, O_RDONLY), wo = open(FILE_NAME, O_WRONLY);
    EXPECT_ERR(lk(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), EBADF);
    EXPECT_ERR(lk(wo, F_SETLK, F_RDLCK, SEEK_SET, 0, 1), EBADF);
    EXPECT_RET(lk(ro, F_SETLK, F_RDLCK, SEEK_SET, 0, 1), 0);
    EXPECT_RET(lk(wo, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), 0);
    EXPECT_RET(lk(ro, F_SETLK, F_UNLCK, SEEK_SET, 0, 0), 0);
    close(ro);
    close(wo);

    /* Two processes contending on ranges; F_GETLK names the holder. */
    EXPECT_RET(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10), 0);
    EXPECT_RET(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 50, 10), 0);
    pid_t c = spawn();
    if (c == 0) {
        sh->r[0] = lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 5, 1);
        sh->e[0] = errno;
        sh->r[1] = getlk(fd, F_GETLK, F_RDLCK, 3, 100);
        sh->r[2] = lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 50, 5);
        sh->r[3] = lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 55, 1);
        sh->e[3] = errno;
        sh->r[4] = lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 40);
        _exit(0);
    }
    check(child_ok(c), "child ran");
    check(sh->r[0] == -1 && sh->e[0] == EAGAIN, "child: a read lock inside the parent's write lock: EAGAIN (%s)", errno_name(sh->e[0]));
    check(sh->r[1] == 0 && sh->type == F_WRLCK && sh->whence == SEEK_SET && sh->start == 0 && sh->len == 10, "child: F_GETLK reports the write lock 0+10");
    check(sh->pid_is_parent, "child: F_GETLK l_pid is the parent");
    check(sh->r[2] == 0, "child: read locks share");
    check(sh->r[3] == -1 && sh->e[3] == EAGAIN, "child: a write lock over the parent's read lock: EAGAIN");
    check(sh->r[4] == 0, "child: the free range between");
    /* The child's locks went with its exit. */
    EXPECT_RET(getlk(fd, F_GETLK, F_WRLCK, 10, 40), 0);
    check(sh->type == F_UNLCK, "a child's locks go at its exit");
    /* One's own locks are never reported. */
    EXPECT_RET(getlk(fd, F_GETLK, F_WRLCK, 0, 0), 0);
    check(sh->type == F_UNLCK, "own locks do not conflict");

    /* Splitting and merging, negative lengths, SEEK_END, to EOF. */
    EXPECT_RET(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0), 0);
    EXPECT_RET(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 100), 0);
    EXPECT_RET(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 40, 20), 0);
    EXPECT_RET(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 70, -5), 0);
    EXPECT_RET(lk(fd, F_SETLK, F_RDLCK, SEEK_END, 10, 0), 0);
    c = spawn();
    if (c == 0) {
        int i = 0;
        long q[][2] = {{40, 20}, {0, 0}, {45, 0}, {66, 3}, {66, 0}, {110, 5}, {200, 5}};
        for (unsigned k = 0; k < sizeof q / sizeof q[0]; k++) {
            getlk(fd, F_GETLK, F_RDLCK, q[k][0], q[k][1]);
            sh->r[i++] = sh->type;
            sh->r[i++] = (int)sh->start;
            sh->r[i++] = (int)sh->len;
        }
        _exit(0);
    }
    check(child_ok(c), "child ran");
    check(sh->r[0] == F_UNLCK, "the unlocked hole 40+20 is free");
    check(sh->r[3] == F_WRLCK && sh->r[4] == 0 && sh->r[5] == 40, "first piece 0+40: %d %d", sh->r[4], sh->r[5]);
    check(sh->r[6] == F_WRLCK && sh->r[7] == 60 && sh->r[8] == 5, "second piece 60+5 (the read lock 65+5 split it): %d %d", sh->r[7], sh->r[8]);
    check(sh->r[9] == F_UNLCK, "a read lock does not stop a reader");
    check(sh->r[12] == F_WRLCK && sh->r[13] == 70 && sh->r[14] == 30, "third piece 70+30: %d %d", sh->r[13], sh->r[14]);
    check(sh->r[15] == F_UNLCK && sh->r[18] == F_UNLCK, "the SEEK_END read lock lets readers pass");
    EXPECT_RET(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 40, 20), 0);
    EXPECT_RET(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 60, 10), 0);
    c = spawn();
    if (c == 0) {
        sh->r[0] = getlk(fd, F_GETLK, F_RDLCK, 0, 1);
        sh->r[1] = sh->type;
        sh->r[2] = (int)sh->start;
        sh->r[3] = (int)sh->len;
        sh->r[4] = getlk(fd, F_GETLK, F_WRLCK, 150, 1);
        sh->r[5] = sh->type;
        sh->r[6] = (int)sh->start;
        sh->r[7] = (int)sh->len;
        _exit(0);
    }
    check(child_ok(c), "child ran");
    check(sh->r[1] == F_WRLCK && sh->r[2] == 0 && sh->r[3] == 100, "merged again: 0+100 (%d %d)", sh->r[2], sh->r[3]);
    check(sh->r[5] == F_RDLCK && sh->r[6] == 110 && sh->r[7] == 0, "SEEK_END+10 to EOF: 110, l_len 0 (%d %d)", sh->r[6], sh->r[7]);

    /* F_SETLKW waits for an unlock, a close of any descriptor, an exit. */
    EXPECT_RET(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0), 0);
    EXPECT_RET(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), 0);
    sh->flag = 0;
    c = spawn();
    if (c == 0) {
        sh->r[0] = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
        sh->r[1] = sh->flag;
        _exit(0);
    }
    pause_a_little();
    sh->flag = 1;
    EXPECT_RET(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1), 0);
    check(child_ok(c), "child ran");
    check(sh->r[0] == 0 && sh->r[1] == 1, "F_SETLKW granted after the unlock");

    EXPECT_RET(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), 0);
    int other = open(FILE_NAME, O_RDONLY);
    sh->flag = 0;
    c = spawn();
    if (c == 0) {
        sh->r[0] = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
        sh->r[1] = sh->flag;
        _exit(0);
    }
    pause_a_little();
    sh->flag = 1;
    EXPECT_RET(close(other), 0);
    check(child_ok(c), "child ran");
    check(sh->r[0] == 0 && sh->r[1] == 1, "F_SETLKW granted after the holder closed another descriptor of the file");
    EXPECT_RET(getlk(fd, F_GETLK, F_WRLCK, 0, 1), 0);
    check(sh->type == F_UNLCK, "the parent's lock went with that close");

    int ready[2];
    check(pipe(ready) == 0, "pipe");
    sh->flag = 0;
    pid_t holder = spawn();
    if (holder == 0) {
        lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
        if (write(ready[1], "x", 1) != 1)
            _exit(3);
        usleep(200 * 1000);
        sh->flag = 1;
        _exit(0);
    }
    check(read(ready[0], buf, 1) == 1, "the child holds its lock");
    EXPECT_RET(getlk(fd, F_GETLK, F_WRLCK, 0, 0), 0);
    check(sh->type == F_WRLCK && sh->pid == holder, "F_GETLK: l_pid is the holder's pid");
    EXPECT_RET(lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1), 0);
    check(sh->flag == 1, "F_SETLKW granted after the holder's exit");
    check(child_ok(holder), "holder ran");
    EXPECT_RET(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0), 0);

    /* EDEADLK: the parent holds 0, the child 10; each then waits for the other's. */
    EXPECT_RET(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), 0);
    c = spawn();
    if (c == 0) {
        lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 1);
        if (write(ready[1], "x", 1) != 1)
            _exit(3);
        sh->r[0] = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
        sh->e[0] = errno;
        if (sh->r[0] < 0)
            lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 10, 1);
        _exit(0);
    }
    check(read(ready[0], buf, 1) == 1, "the child holds its lock");
    pause_a_little();
    int r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 10, 1);
    int e = errno;
    if (r < 0)
        lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1);
    check(child_ok(c), "child ran");
    int deadlocks = (r < 0 && e == EDEADLK) + (sh->r[0] < 0 && sh->e[0] == EDEADLK);
    int granted = (r == 0) + (sh->r[0] == 0);
    check(deadlocks == 1 && granted == 1, "one of the two waits is EDEADLK, the other is granted");
    EXPECT_RET(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0), 0);

    /* EINTR: a handler without SA_RESTART ends a waiting F_SETLKW. */
    EXPECT_RET(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), 0);
    c = spawn();
    if (c == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval it = {{0, 0}, {0, 200 * 1000}};
        setitimer(ITIMER_REAL, &it, NULL);
        sh->r[0] = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
        sh->e[0] = errno;
        /* The interrupted wait is over: no deadlock is seen through it. */
        sh->r[1] = lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 1);
        _exit(0);
    }
    check(child_ok(c), "child ran");
    check(sh->r[0] == -1 && sh->e[0] == EINTR, "F_SETLKW interrupted by a handler: EINTR (%s)", errno_name(sh->e[0]));
    check(sh->r[1] == 0, "the child could lock elsewhere");
    EXPECT_RET(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0), 0);

    /* OFD locks: owned by the open file description. */
    int d1 = open(FILE_NAME, O_RDWR), d2 = open(FILE_NAME, O_RDWR);
    EXPECT_RET(lk(d1, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10), 0);
    EXPECT_ERR(lk(d2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1), EAGAIN);
    EXPECT_ERR(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 5, 1), EAGAIN);
    EXPECT_RET(lk(d1, F_OFD_SETLK, F_RDLCK, SEEK_SET, 5, 1), 0);
    EXPECT_RET(getlk(d2, F_OFD_GETLK, F_WRLCK, 0, 0), 0);
    check(sh->type == F_WRLCK && sh->start == 0 && sh->len == 5 && sh->pid == -1, "F_OFD_GETLK: the first piece, l_pid -1 (%ld %ld %d)", sh->start, sh->len, sh->pid);
    EXPECT_RET(getlk(fd, F_GETLK, F_RDLCK, 5, 1), 0);
    check(sh->type == F_UNLCK, "the read piece lets a reader pass");
    {
        struct flock fl;
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_RDLCK;
        fl.l_pid = 1;
        EXPECT_ERR(fcntl(d2, F_OFD_SETLK, &fl), EINVAL);
        EXPECT_ERR(fcntl(d2, F_OFD_GETLK, &fl), EINVAL);
    }
    /* Closing another descriptor of the file leaves OFD locks alone. */
    int d3 = open(FILE_NAME, O_RDONLY);
    close(d3);
    EXPECT_ERR(lk(d2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1), EAGAIN);
    /* A forked child shares the description, so its locks. */
    sh->flag = 0;
    c = spawn();
    if (c == 0) {
        sh->r[0] = lk(d1, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10);
        sh->r[1] = lk(d2, F_OFD_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
        sh->r[2] = sh->flag;
        _exit(0);
    }
    pause_a_little();
    sh->flag = 1;
    EXPECT_RET(lk(d1, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0), 0);
    check(child_ok(c), "child ran");
    check(sh->r[0] == 0, "child: the inherited description's lock is its own");
    check(sh->r[1] == 0 && sh->r[2] == 1, "child: F_OFD_SETLKW granted after the unlock");
    EXPECT_ERR(lk(d1, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1), EAGAIN);
    /* The last close of a description drops its locks. */
    close(d2);
    EXPECT_RET(lk(d1, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1), 0);
    close(d1);

    /* flock: shared and exclusive, per open file description. */
    d1 = open(FILE_NAME, O_RDWR);
    d2 = open(FILE_NAME, O_RDONLY);
    d3 = open(FILE_NAME, O_RDWR);
    EXPECT_RET(flock(d1, LOCK_SH), 0);
    EXPECT_RET(flock(d2, LOCK_SH | LOCK_NB), 0);
    EXPECT_ERR(flock(d3, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    EXPECT_ERR(flock(d3, LOCK_NB), EINVAL);
    EXPECT_ERR(flock(d3, LOCK_SH | LOCK_EX), EINVAL);
    EXPECT_ERR(flock(99, LOCK_SH), EBADF);
    EXPECT_RET(flock(d2, LOCK_UN), 0);
    /* Independent of fcntl locks. */
    EXPECT_RET(lk(d3, F_SETLK, F_WRLCK, SEEK_SET, 0, 0), 0);
    EXPECT_RET(flock(d1, LOCK_EX | LOCK_NB), 0);
    EXPECT_RET(lk(d3, F_SETLK, F_UNLCK, SEEK_SET, 0, 0), 0);
    /* A waiting flock goes on when the holder unlocks. */
    sh->flag = 0;
    c = spawn();
    if (c == 0) {
        int mine = open(FILE_NAME, O_RDWR);
        sh->r[0] = flock(mine, LOCK_EX);
        sh->r[1] = sh->flag;
        sh->r[2] = flock(mine, LOCK_UN);
        _exit(0);
    }
    pause_a_little();
    sh->flag = 1;
    EXPECT_RET(flock(d1, LOCK_UN), 0);
    check(child_ok(c), "child ran");
    check(sh->r[0] == 0 && sh->r[1] == 1, "flock(LOCK_EX) granted after the unlock");
    EXPECT_RET(flock(d1, LOCK_EX | LOCK_NB), 0);
    c = spawn();
    if (c == 0) {
        sh->r[0] = flock(d3, LOCK_SH | LOCK_NB);
        sh->e[0] = errno;
        sh->r[1] = flock(d1, LOCK_UN);
        sh->r[2] = flock(d3, LOCK_SH | LOCK_NB);
        _exit(0);
    }
    check(child_ok(c), "child ran");
    check(sh->r[0] == -1 && sh->e[0] == EWOULDBLOCK, "child: the parent's exclusive flock stops it");
    check(sh->r[1] == 0 && sh->r[2] == 0, "child: unlocking the shared description frees the file");
    EXPECT_RET(flock(d3, LOCK_UN), 0);
    EXPECT_RET(flock(d1, LOCK_EX | LOCK_NB), 0);
    EXPECT_RET(close(d1), 0);
    EXPECT_RET(flock(d3, LOCK_EX | LOCK_NB), 0);
    close(d2);
    close(d3);

    close(fd);
    unlink(FILE_NAME);
    return finish();
}
