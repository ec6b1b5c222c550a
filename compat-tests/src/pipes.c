// pipes.c - pipes between processes: data and EOF, EPIPE and SIGPIPE, O_NONBLOCK,
// capacity and F_SETPIPE_SZ, atomic small writes, poll, shared offsets after fork,
// dup2 onto stdout.
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

int main(void)
{
    int p[2];
    check(pipe(p) == 0, "pipe");
    struct stat sb;
    check(fstat(p[0], &sb) == 0 && S_ISFIFO(sb.st_mode), "a pipe is a FIFO");

    /* Parent to child and back: the child upper-cases what it reads until EOF. */
    int back[2];
    check(pipe(back) == 0, "second pipe");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(p[1]);
        close(back[0]);
        char buf[256];
        ssize_t n;
        long total = 0;
        while ((n = read(p[0], buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] >= 'a' && buf[i] <= 'z')
                    buf[i] -= 32;
            write(back[1], buf, n);
            total += n;
        }
        _exit(n == 0 ? 0 : 1);
    }
    close(p[0]);
    close(back[1]);
    const char *msg = "hello through a pipe\n";
    check(write(p[1], msg, strlen(msg)) == (ssize_t)strlen(msg), "write to the child");
    close(p[1]); /* EOF for the child */
    char got[256];
    ssize_t n, total = 0;
    while ((n = read(back[0], got + total, sizeof got - 1 - total)) > 0)
        total += n;
    got[total] = 0;
    printf("round trip: %s", got);
    int st;
    waitpid(c, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child saw EOF");
    close(back[0]);

    /* No readers: SIGPIPE kills a writer by default... */
    check(pipe(p) == 0, "pipe");
    close(p[0]);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        write(p[1], "x", 1);
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("writer without readers: signaled %d, SIGPIPE %d\n", WIFSIGNALED(st), WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
    /* ...and with SIGPIPE ignored the write fails with EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    EXPECT_ERR(write(p[1], "x", 1), EPIPE);
    close(p[1]);

    /* Non-blocking: EAGAIN on empty, capacity 64 KiB, EAGAIN when full. */
    check(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0, "pipe2");
    check(fcntl(p[0], F_GETFD) == FD_CLOEXEC, "O_CLOEXEC on the read end");
    char b[4096];
    EXPECT_ERR(read(p[0], b, sizeof b), EAGAIN);
    printf("F_GETPIPE_SZ: %d\n", fcntl(p[1], F_GETPIPE_SZ));
    memset(b, 'z', sizeof b);
    long filled = 0;
    while ((n = write(p[1], b, sizeof b)) > 0)
        filled += n;
    printf("filled %ld bytes, then %s\n", filled, errno_name(errno));
    int avail = -1;
    check(ioctl(p[0], FIONREAD, &avail) == 0 && avail == filled, "FIONREAD counts the bytes");
    EXPECT_ERR(fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY);
    while (read(p[0], b, sizeof b) > 0)
        ;
    EXPECT_RET(fcntl(p[1], F_SETPIPE_SZ, 5000), 8192);
    EXPECT_RET(fcntl(p[0], F_GETPIPE_SZ), 8192);
    /* A write of PIPE_BUF bytes is all or nothing. */
    EXPECT_RET(write(p[1], b, 4096), 4096);
    EXPECT_RET(write(p[1], b, 4096), 4096);
    EXPECT_ERR(write(p[1], b, 4096), EAGAIN);
    EXPECT_RET(write(p[1], b, 5000), -1);
    close(p[0]);
    close(p[1]);
    EXPECT_ERR(pipe2(p, 0x1234), EINVAL);
    EXPECT_ERR(pipe(bad_ptr_8), EFAULT);

    /* poll: readable once written; the read end hangs up after the writer goes. */
    check(pipe(p) == 0, "pipe");
    struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    EXPECT_RET(poll(pf, 2, 0), 1);
    printf("empty pipe: read end %s, write end %s\n", pf[0].revents ? "ready" : "not ready", pf[1].revents & POLLOUT ? "writable" : "not writable");
    write(p[1], "ab", 2);
    pf[0].revents = 0;
    EXPECT_RET(poll(pf, 1, 0), 1);
    check(pf[0].revents & POLLIN, "readable after a write");
    close(p[1]);
    read(p[0], b, 2);
    EXPECT_RET(read(p[0], b, 2), 0);
    close(p[0]);

    /* A blocking read in the parent waits for a slow child. */
    check(pipe(p) == 0, "pipe");
    fflush(stdout);
    c = fork();
    if (c == 0) {
        usleep(30000);
        write(p[1], "late", 4);
        _exit(0);
    }
    close(p[1]);
    n = read(p[0], b, sizeof b);
    printf("blocking read got %zd bytes: %.*s\n", n, (int)(n > 0 ? n : 0), b);
    waitpid(c, &st, 0);
    close(p[0]);

    /* Descriptions are shared across fork: one file offset. */
    int fd = open("shared_offset.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        write(fd, "child-", 6);
        _exit(0);
    }
    waitpid(c, &st, 0);
    write(fd, "parent", 6);
    lseek(fd, 0, SEEK_SET);
    n = read(fd, b, sizeof b);
    printf("shared offset: %.*s\n", (int)n, b);
    close(fd);
    unlink("shared_offset.txt");

    /* dup2 onto stdout in a child: its printf goes into the pipe. */
    check(pipe(p) == 0, "pipe");
    fflush(stdout);
    c = fork();
    if (c == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        printf("written by the child to its stdout\n");
        fflush(stdout);
        _exit(0);
    }
    close(p[1]);
    total = 0;
    while ((n = read(p[0], got + total, sizeof got - 1 - total)) > 0)
        total += n;
    got[total] = 0;
    printf("captured: %s", got);
    waitpid(c, &st, 0);
    return finish();
}
