// fifo.c - named pipes and mknod: mkfifo/mknod/mknodat make FIFOs that
// open(2) as Linux named pipes (a reader waits for a writer and a writer for
// a reader unless O_NONBLOCK; O_WRONLY|O_NONBLOCK without a reader is ENXIO;
// O_RDWR never waits), data flows between processes, stat says S_IFIFO,
// unlink works; mknod of regular files; devices only for root.
#include "compat.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static void on_alarm(int sig)
{
    (void)sig;
}

static int child_ok(pid_t c)
{
    int st = 0;
    return waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(void)
{
    struct stat st;
    umask(022);
    unlink("f1");
    unlink("f2");
    unlink("f3");
    unlink("reg");
    unlink("reg0");

    /* Making them. */
    EXPECT_RET(mkfifo("f1", 0666), 0);
    EXPECT_RET(stat("f1", &st), 0);
    check(S_ISFIFO(st.st_mode), "f1 is a FIFO");
    check((st.st_mode & 07777) == 0644, "mode 0666 less the umask: %o", st.st_mode & 07777);
    check(st.st_size == 0 && st.st_rdev == 0, "size and rdev 0");
    EXPECT_RET(lstat("f1", &st), 0);
    check(S_ISFIFO(st.st_mode), "lstat: FIFO");
    EXPECT_ERR(mkfifo("f1", 0600), EEXIST);
    EXPECT_ERR(mkfifo("nodir/f", 0600), ENOENT);
    EXPECT_RET(syscall(SYS_mknodat, AT_FDCWD, "f2", S_IFIFO | 0600, 0), 0);
    EXPECT_RET(stat("f2", &st), 0);
    check(S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0600, "mknodat made a FIFO 0600");
#ifdef SYS_mknod
    EXPECT_RET(syscall(SYS_mknod, "f3", S_IFIFO | 0640, 0), 0);
    EXPECT_RET(stat("f3", &st), 0);
    check(S_ISFIFO(st.st_mode), "mknod made a FIFO");
    EXPECT_RET(unlink("f3"), 0);
#endif
    EXPECT_RET(mknod("reg", S_IFREG | 0600, 0), 0);
    EXPECT_RET(stat("reg", &st), 0);
    check(S_ISREG(st.st_mode) && st.st_size == 0, "mknod S_IFREG: an empty file");
    EXPECT_RET(mknod("reg0", 0600, 0), 0);
    EXPECT_RET(stat("reg0", &st), 0);
    check(S_ISREG(st.st_mode), "mknod type 0: a regular file");
    EXPECT_ERR(mknod("dir", S_IFDIR | 0700, 0), EPERM);
    EXPECT_ERR(mknod("bad", 0170000 | 0600, 0), EINVAL);
    EXPECT_ERR(mknod("reg", S_IFIFO | 0600, 0), EEXIST);
    EXPECT_ERR(mknod(bad_ptr_1, S_IFIFO | 0600, 0), EFAULT);

    /* Opening without waiting. */
    EXPECT_ERR(open("f1", O_WRONLY | O_NONBLOCK), ENXIO);
    int r = open("f1", O_RDONLY | O_NONBLOCK);
    check(r >= 0, "O_RDONLY|O_NONBLOCK without a writer opens");
    char buf[64];
    EXPECT_RET(read(r, buf, sizeof buf), 0);
    int w = open("f1", O_WRONLY | O_NONBLOCK);
    check(w >= 0, "O_WRONLY|O_NONBLOCK with a reader opens");
    EXPECT_RET(write(w, "abc", 3), 3);
    EXPECT_RET(read(r, buf, sizeof buf), 3);
    EXPECT_ERR(read(r, buf, sizeof buf), EAGAIN);
    EXPECT_RET(fstat(w, &st), 0);
    check(S_ISFIFO(st.st_mode), "fstat of the open FIFO: S_IFIFO");
    struct stat ps;
    EXPECT_RET(stat("f1", &ps), 0);
    check(st.st_ino == ps.st_ino && st.st_dev == ps.st_dev, "fstat names the FIFO's inode");
    EXPECT_ERR(lseek(r, 0, SEEK_SET), ESPIPE);
    close(w);
    EXPECT_RET(read(r, buf, sizeof buf), 0);
    close(r);

    /* O_RDWR never waits; the bytes go when the last end closes. */
    int rw = open("f1", O_RDWR);
    check(rw >= 0, "O_RDWR opens at once");
    EXPECT_RET(write(rw, "xyz", 3), 3);
    EXPECT_RET(read(rw, buf, 2), 2);
    close(rw);
    rw = open("f1", O_RDWR | O_NONBLOCK);
    EXPECT_ERR(read(rw, buf, sizeof buf), EAGAIN);
    close(rw);

    /* A reader waits for a writer in another process. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int fd = open("f1", O_RDONLY);
        if (fd < 0)
            _exit(2);
        char b[64];
        ssize_t n = read(fd, b, sizeof b);
        if (n != 5 || memcmp(b, "hello", 5) != 0)
            _exit(3);
        if (read(fd, b, sizeof b) != 0)
            _exit(4);
        _exit(0);
    }
    usleep(100 * 1000);
    w = open("f1", O_WRONLY);
    check(w >= 0, "the writer's open meets the waiting reader");
    EXPECT_RET(write(w, "hello", 5), 5);
    close(w);
    check(child_ok(c), "the reader opened, read hello, then end of file");

    /* A writer waits for a reader. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        int fd = open("f2", O_WRONLY);
        if (fd < 0)
            _exit(2);
        if (write(fd, "from child", 10) != 10)
            _exit(3);
        _exit(0);
    }
    usleep(100 * 1000);
    r = open("f2", O_RDONLY);
    check(r >= 0, "the reader's open meets the waiting writer");
    ssize_t got = 0, n;
    while ((n = read(r, buf + got, sizeof buf - got)) > 0)
        got += n;
    check(got == 10 && memcmp(buf, "from child", 10) == 0, "read what the child wrote (%d bytes)", (int)got);
    close(r);
    check(child_ok(c), "writer child");

    /* A waiting open interrupted by a signal is EINTR and leaves no reader. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    EXPECT_ERR(open("f1", O_RDONLY), EINTR);
    alarm(0);
    EXPECT_ERR(open("f1", O_WRONLY | O_NONBLOCK), ENXIO);

    /* Unlinked while open: the pipe goes on. */
    r = open("f1", O_RDONLY | O_NONBLOCK);
    w = open("f1", O_WRONLY);
    check(r >= 0 && w >= 0, "both ends open");
    EXPECT_RET(unlink("f1"), 0);
    EXPECT_ERR(stat("f1", &st), ENOENT);
    EXPECT_RET(write(w, "still", 5), 5);
    EXPECT_RET(read(r, buf, sizeof buf), 5);
    EXPECT_RET(fstat(r, &st), 0);
    check(S_ISFIFO(st.st_mode) && st.st_nlink == 0, "fstat after unlink: FIFO with no links");
    close(r);
    close(w);
    EXPECT_RET(unlink("f2"), 0);
    EXPECT_RET(unlink("reg"), 0);
    EXPECT_RET(unlink("reg0"), 0);

    /* Devices. */
    if (getuid() == 0) {
        unlink("null2");
        unlink("blk");
        EXPECT_RET(mknod("null2", S_IFCHR | 0666, makedev(1, 3)), 0);
        EXPECT_RET(stat("null2", &st), 0);
        check(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3, "root: a character device 1,3");
        int d = open("null2", O_WRONLY);
        check(d >= 0, "root's /dev/null twin opens");
        EXPECT_RET(write(d, "gone", 4), 4);
        close(d);
        EXPECT_RET(mknod("blk", S_IFBLK | 0600, makedev(7, 200)), 0);
        EXPECT_RET(stat("blk", &st), 0);
        check(S_ISBLK(st.st_mode) && major(st.st_rdev) == 7 && minor(st.st_rdev) == 200, "root: a block device 7,200");
        EXPECT_RET(unlink("null2"), 0);
        EXPECT_RET(unlink("blk"), 0);
        fflush(stdout);
        c = fork();
        if (c == 0) {
            check(setuid(65534) == 0, "setuid(65534)");
            EXPECT_ERR(mknod("/tmp/nodev", S_IFCHR | 0600, makedev(1, 3)), EPERM);
            EXPECT_ERR(mknod("/tmp/nodev", S_IFBLK | 0600, makedev(7, 0)), EPERM);
            EXPECT_ERR(mknod("/nodev", S_IFCHR | 0600, makedev(1, 3)), EACCES);
            EXPECT_RET(mknod("/tmp/userfifo", S_IFIFO | 0600, 0), 0);
            EXPECT_RET(unlink("/tmp/userfifo"), 0);
            fflush(stdout);
            _exit(finish());
        }
        check(child_ok(c), "unprivileged child passed");
    }
    return finish();
}
