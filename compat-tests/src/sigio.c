// sigio.c - O_ASYNC and dnotify: SIGIO to the owner (F_SETOWN, F_SETOWN_EX
// for a thread, a process, a process group) when a pipe's read end gets
// data, its write end room, one side closes; F_SETSIG's real-time signal
// with si_code POLL_IN/POLL_OUT, si_band and si_fd, queued once per write;
// plain SIGIO with SI_KERNEL; no owner or O_ASYNC cleared: no signal;
// FIOASYNC; a child's write signals the parent; an AF_UNIX socket's input;
// F_NOTIFY on a directory (DN_CREATE once, DN_MULTISHOT, DN_ATTRIB of a
// child, POLL_MSG), its owner set to the caller, ENOTDIR on a file. The
// directory is made under /tmp with the pid in its name, never printed.
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define RTSIG (SIGRTMIN + 1)

/* The signals of `set` pending now, one taken: its number (0 if none). */
static int take(sigset_t *set, siginfo_t *si)
{
    struct timespec zero = { 0, 0 };
    memset(si, 0, sizeof *si);
    int s = sigtimedwait(set, si, &zero);
    return s < 0 ? 0 : s;
}

static int count(sigset_t *set)
{
    siginfo_t si;
    int n = 0;
    while (take(set, &si))
        n++;
    return n;
}

int main(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGIO);
    sigaddset(&set, RTSIG);
    sigprocmask(SIG_BLOCK, &set, NULL);
    siginfo_t si;
    char c = 'x', buf[16];

    int p[2];
    check(pipe(p) == 0, "pipe");
    /* O_ASYNC without an owner: nothing. */
    EXPECT_RET(fcntl(p[0], F_SETFL, O_ASYNC), 0);
    EXPECT_RET(write(p[1], &c, 1), 1);
    check(count(&set) == 0, "no owner: no signal");
    EXPECT_RET(read(p[0], buf, 1), 1);

    /* The owner: plain SIGIO, as the kernel's. */
    check(fcntl(p[0], F_SETOWN, getpid()) == 0, "F_SETOWN pid");
    check(fcntl(p[0], F_GETOWN) == getpid(), "F_GETOWN: the pid");
    EXPECT_RET(write(p[1], &c, 1), 1);
    int s = take(&set, &si);
    check(s == SIGIO && si.si_code == SI_KERNEL, "write: SIGIO (signal %d code %d)", s, si.si_code);
    check(count(&set) == 0, "once");
    EXPECT_RET(read(p[0], buf, 1), 1);

    /* F_SETSIG: a real-time signal with POLL_IN, si_band, si_fd; one per write. */
    EXPECT_RET(fcntl(p[0], F_SETSIG, RTSIG), 0);
    EXPECT_RET(fcntl(p[0], F_GETSIG), RTSIG);
    EXPECT_RET(write(p[1], &c, 1), 1);
    s = take(&set, &si);
    check(s == RTSIG && si.si_code == POLL_IN, "F_SETSIG: signal %d, code POLL_IN (%d)", s == RTSIG ? 1 : s, si.si_code);
    check(si.si_fd == p[0], "si_fd is the read end");
    check(si.si_band == (POLLIN | POLLRDNORM), "si_band POLLIN|POLLRDNORM (%#lx)", (long)si.si_band);
    EXPECT_RET(write(p[1], &c, 1), 1);
    EXPECT_RET(write(p[1], &c, 1), 1);
    s = count(&set);
    check(s == 2, "two writes, two queued signals (%d)", s);
    EXPECT_RET(read(p[0], buf, 3), 3);

    /* O_ASYNC cleared: nothing. */
    EXPECT_RET(fcntl(p[0], F_SETFL, 0), 0);
    EXPECT_RET(write(p[1], &c, 1), 1);
    check(count(&set) == 0, "O_ASYNC cleared: no signal");
    EXPECT_RET(read(p[0], buf, 1), 1);

    /* FIOASYNC sets it again; the owner a thread (F_OWNER_TID). */
    int on = 1;
    EXPECT_RET(ioctl(p[0], FIOASYNC, &on), 0);
    check(fcntl(p[0], F_GETFL) & O_ASYNC, "FIOASYNC sets O_ASYNC");
    struct f_owner_ex own = { F_OWNER_TID, (pid_t)syscall(SYS_gettid) }, got;
    EXPECT_RET(fcntl(p[0], F_SETOWN_EX, &own), 0);
    EXPECT_RET(fcntl(p[0], F_GETOWN_EX, &got), 0);
    check(got.type == F_OWNER_TID && got.pid == own.pid, "F_GETOWN_EX: the thread");
    EXPECT_RET(write(p[1], &c, 1), 1);
    check(take(&set, &si) == RTSIG && si.si_fd == p[0], "F_OWNER_TID: signalled");
    EXPECT_RET(read(p[0], buf, 1), 1);

    /* A process group, and a child's write. */
    check(fcntl(p[0], F_SETOWN, -getpgrp()) == 0, "F_SETOWN -pgrp");
    check(fcntl(p[0], F_GETOWN) == -getpgrp(), "F_GETOWN: minus the group");
    pid_t child = fork();
    if (child == 0) {
        /* The group's other member blocks it too: only the parent is counted. */
        _exit(write(p[1], &c, 1) == 1 ? 0 : 1);
    }
    int st;
    waitpid(child, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child wrote");
    check(take(&set, &si) == RTSIG && si.si_code == POLL_IN, "the group's owner: signalled by the child's write");
    EXPECT_RET(read(p[0], buf, 1), 1);

    /* The write end: room (POLL_OUT) after a read. */
    check(fcntl(p[1], F_SETOWN, getpid()) == 0, "F_SETOWN pid (write end)");
    EXPECT_RET(fcntl(p[1], F_SETSIG, RTSIG), 0);
    EXPECT_RET(fcntl(p[1], F_SETFL, O_ASYNC), 0);
    EXPECT_RET(write(p[1], &c, 1), 1);
    s = take(&set, &si);
    check(s == RTSIG && si.si_fd == p[0], "the write signals the reader only");
    check(count(&set) == 0, "nothing for the writer");
    EXPECT_RET(read(p[0], buf, 1), 1);
    s = take(&set, &si);
    check(s == RTSIG && si.si_code == POLL_OUT && si.si_fd == p[1], "read: the writer hears POLL_OUT (code %d)", si.si_code);
    check(si.si_band == (POLLOUT | POLLWRNORM | POLLWRBAND), "si_band POLLOUT|POLLWRNORM|POLLWRBAND (%#lx)", (long)si.si_band);
    /* The writer closes: the reader hears POLL_IN. */
    EXPECT_RET(close(p[1]), 0);
    s = take(&set, &si);
    check(s == RTSIG && si.si_code == POLL_IN && si.si_fd == p[0], "the writer closed: the reader hears POLL_IN");
    close(p[0]);

    /* An AF_UNIX socket's input. */
    int sv[2];
    check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    check(fcntl(sv[0], F_SETOWN, getpid()) == 0, "F_SETOWN pid (socket)");
    EXPECT_RET(fcntl(sv[0], F_SETFL, O_ASYNC), 0);
    EXPECT_RET(write(sv[1], &c, 1), 1);
    check(take(&set, &si) == SIGIO, "socket input: SIGIO");
    close(sv[0]);
    close(sv[1]);

    /* dnotify. */
    char dir[64], path[96];
    snprintf(dir, sizeof dir, "/tmp/sigio-%d", (int)getpid());
    check(mkdir(dir, 0700) == 0, "mkdir");
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    check(d >= 0, "open the directory");
    EXPECT_RET(fcntl(d, F_SETSIG, RTSIG), 0);
    EXPECT_RET(fcntl(d, F_GETOWN), 0);
    EXPECT_RET(fcntl(d, F_NOTIFY, DN_CREATE), 0);
    check(fcntl(d, F_GETOWN) == getpid(), "F_NOTIFY made the caller the owner");
    snprintf(path, sizeof path, "%s/a", dir);
    int f = open(path, O_CREAT | O_WRONLY, 0600);
    check(f >= 0, "create a");
    s = take(&set, &si);
    check(s == RTSIG && si.si_code == POLL_MSG && si.si_fd == d, "DN_CREATE: signal with POLL_MSG (code %d)", si.si_code);
    check(si.si_band == (POLLIN | POLLRDNORM | POLLMSG), "si_band POLLIN|POLLRDNORM|POLLMSG");
    snprintf(path, sizeof path, "%s/b", dir);
    int g = open(path, O_CREAT | O_WRONLY, 0600);
    check(count(&set) == 0, "without DN_MULTISHOT: once");
    EXPECT_RET(fcntl(d, F_NOTIFY, DN_ATTRIB | DN_MULTISHOT), 0);
    EXPECT_RET(fchmod(f, 0644), 0);
    EXPECT_RET(fchmod(g, 0644), 0);
    check(count(&set) == 2, "DN_ATTRIB | DN_MULTISHOT: each chmod");
    EXPECT_RET(write(f, &c, 1), 1);
    check(count(&set) == 0, "a write: no DN_MODIFY asked");
    EXPECT_RET(fcntl(d, F_NOTIFY, 0), 0);
    EXPECT_RET(fchmod(f, 0600), 0);
    check(count(&set) == 0, "F_NOTIFY 0: no more");
    EXPECT_ERR(fcntl(f, F_NOTIFY, DN_CREATE), ENOTDIR);
    close(f);
    close(g);
    unlink(path);
    snprintf(path, sizeof path, "%s/a", dir);
    unlink(path);
    close(d);
    rmdir(dir);
    return finish();
}
