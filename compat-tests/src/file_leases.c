// file_leases.c - fcntl F_SETLEASE/F_GETLEASE: read and write leases of an
// open file description, EAGAIN when conflicting opens exist, and the lease
// break: an open that conflicts sends the holder SIGIO and waits until the
// holder downgrades or removes the lease (O_NONBLOCK: EWOULDBLOCK).
// Children report through a shared page; only the parent prints.
#include "compat.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#ifndef F_SETLEASE
#define F_SETLEASE 1024
#define F_GETLEASE 1025
#endif

#define FILE_NAME "leases.dat"

struct shared {
    volatile int r[8];
    volatile int e[8];
    volatile int flag;
};
static struct shared *sh;

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

/* Wait for SIGIO (blocked), at most 5 s. */
static int got_sigio(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGIO);
    struct timespec ts = {5, 0};
    return sigtimedwait(&s, NULL, &ts) == SIGIO;
}

int main(void)
{
    sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return 2;
    sigset_t io;
    sigemptyset(&io);
    sigaddset(&io, SIGIO);
    sigprocmask(SIG_BLOCK, &io, NULL);
    unlink(FILE_NAME);
    int w = open(FILE_NAME, O_CREAT | O_RDWR, 0644);
    check(w >= 0, "create %s", FILE_NAME);

    /* Conflicting opens. */
    EXPECT_ERR(fcntl(w, F_SETLEASE, F_RDLCK), EAGAIN);
    EXPECT_RET(fcntl(w, F_SETLEASE, F_WRLCK), 0);
    EXPECT_RET(fcntl(w, F_GETLEASE), F_WRLCK);
    EXPECT_RET(fcntl(w, F_SETLEASE, F_UNLCK), 0);
    EXPECT_ERR(fcntl(w, F_SETLEASE, F_UNLCK), EAGAIN);
    EXPECT_ERR(fcntl(w, F_SETLEASE, 7), EINVAL);
    int r = open(FILE_NAME, O_RDONLY);
    EXPECT_ERR(fcntl(w, F_SETLEASE, F_WRLCK), EAGAIN);
    EXPECT_ERR(fcntl(r, F_SETLEASE, F_RDLCK), EAGAIN);
    EXPECT_RET(close(w), 0);
    EXPECT_RET(fcntl(r, F_SETLEASE, F_RDLCK), 0);
    EXPECT_RET(fcntl(r, F_GETLEASE), F_RDLCK);
    int pfd[2];
    check(pipe(pfd) == 0, "pipe");
    EXPECT_ERR(fcntl(pfd[0], F_SETLEASE, F_RDLCK), EINVAL);
    EXPECT_RET(fcntl(pfd[0], F_GETLEASE), F_UNLCK);

    /* A reader's open does not break a read lease; a writer's does. */
    int r2 = open(FILE_NAME, O_RDONLY);
    check(r2 >= 0, "a reader opens past a read lease");
    close(r2);
    EXPECT_ERR(open(FILE_NAME, O_WRONLY | O_NONBLOCK), EWOULDBLOCK);
    check(got_sigio(), "the holder got SIGIO");
    EXPECT_RET(fcntl(r, F_GETLEASE), F_UNLCK);
    EXPECT_RET(fcntl(r, F_SETLEASE, F_UNLCK), 0);
    EXPECT_RET(fcntl(r, F_SETLEASE, F_RDLCK), 0);
    sh->flag = 0;
    pid_t c = spawn();
    if (c == 0) {
        int fd = open(FILE_NAME, O_WRONLY);
        sh->r[0] = fd >= 0;
        sh->r[1] = sh->flag;
        _exit(0);
    }
    check(got_sigio(), "the holder got SIGIO for the child's open");
    usleep(100 * 1000);
    sh->flag = 1;
    EXPECT_RET(fcntl(r, F_SETLEASE, F_UNLCK), 0);
    check(child_ok(c), "child ran");
    check(sh->r[0] && sh->r[1], "the writer's open went on once the lease was removed");

    /* A write lease: a reader's open waits for a downgrade. */
    EXPECT_RET(fcntl(r, F_SETLEASE, F_WRLCK), 0);
    sh->flag = 0;
    c = spawn();
    if (c == 0) {
        int fd = open(FILE_NAME, O_RDONLY);
        sh->r[0] = fd >= 0;
        sh->r[1] = sh->flag;
        _exit(0);
    }
    check(got_sigio(), "the holder got SIGIO");
    EXPECT_RET(fcntl(r, F_GETLEASE), F_RDLCK);
    usleep(100 * 1000);
    sh->flag = 1;
    EXPECT_RET(fcntl(r, F_SETLEASE, F_RDLCK), 0);
    check(child_ok(c), "child ran");
    check(sh->r[0] && sh->r[1], "the reader's open went on once the lease was downgraded");
    EXPECT_RET(fcntl(r, F_GETLEASE), F_RDLCK);
    EXPECT_RET(close(r), 0);
    unlink(FILE_NAME);
    return finish();
}
