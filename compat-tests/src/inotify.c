// inotify.c - inotify: the events of a watched directory and of a file in
// it (create, open, modify, close-write, attrib, access, close-nowrite,
// moved-from/to with one cookie, move-self, create and delete of a
// subdirectory with IN_ISDIR, the unlink's attrib, delete and delete-self,
// IN_IGNORED after delete-self and after inotify_rm_watch), the order they
// come in, IN_ONESHOT, IN_MASK_ADD and IN_MASK_CREATE, one watch descriptor
// per inode, events of a file unlinked while open (and IN_EXCL_UNLINK),
// a blocking read woken by another process, O_NONBLOCK's EAGAIN,
// a buffer too small (EINVAL), FIONREAD, poll, and the calls' errors. The
// directory is made under /tmp with the pid in its name, never printed.
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

static char dir[64], path_f[96], path_g[96], path_sub[96];
static int wd_dir, wd_file;

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static const char *wd_name(int wd)
{
    if (wd == wd_dir)
        return "dir";
    if (wd == wd_file)
        return "file";
    return wd == -1 ? "-1" : "other";
}

static void mask_text(unsigned m, char *out, size_t n)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        { IN_ACCESS, "ACCESS" }, { IN_MODIFY, "MODIFY" }, { IN_ATTRIB, "ATTRIB" },
        { IN_CLOSE_WRITE, "CLOSE_WRITE" }, { IN_CLOSE_NOWRITE, "CLOSE_NOWRITE" }, { IN_OPEN, "OPEN" },
        { IN_MOVED_FROM, "MOVED_FROM" }, { IN_MOVED_TO, "MOVED_TO" }, { IN_CREATE, "CREATE" },
        { IN_DELETE, "DELETE" }, { IN_DELETE_SELF, "DELETE_SELF" }, { IN_MOVE_SELF, "MOVE_SELF" },
        { IN_UNMOUNT, "UNMOUNT" }, { IN_Q_OVERFLOW, "Q_OVERFLOW" }, { IN_IGNORED, "IGNORED" }, { IN_ISDIR, "ISDIR" },
    };
    out[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (m & names[i].bit) {
            if (out[0])
                strncat(out, "|", n - strlen(out) - 1);
            strncat(out, names[i].name, n - strlen(out) - 1);
            m &= ~names[i].bit;
        }
    }
    if (m)
        snprintf(out + strlen(out), n - strlen(out), "|%#x", m);
}

/* Read what is queued (O_NONBLOCK) and print it; return the count. */
static int drain(int fd, unsigned *cookies, int max_cookies)
{
    char buf[4096] __attribute__((aligned(8)));
    int count = 0, nc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) {
            check(n == -1 && errno == EAGAIN, "the queue is empty: EAGAIN");
            return count;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            char m[160];
            mask_text(e->mask, m, sizeof m);
            printf("  event %s %s%s%s%s\n", wd_name(e->wd), m, e->len ? " \"" : "", e->len ? e->name : "", e->len ? "\"" : "");
            check(e->len % 16 == 0 && (e->len == 0 || strlen(e->name) < e->len), "name padded to 16 bytes");
            if (e->cookie) {
                if (nc < max_cookies && cookies)
                    cookies[nc++] = e->cookie;
            }
            p += sizeof *e + e->len;
            count++;
        }
    }
}

static void test_errors(void)
{
    int p[2];
    EXPECT_RET(pipe(p), 0);
    EXPECT_ERR(inotify_init1(0x1234), EINVAL);
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    check(fd >= 0, "inotify_init1(IN_NONBLOCK | IN_CLOEXEC)");
    check(fcntl(fd, F_GETFD) == FD_CLOEXEC && (fcntl(fd, F_GETFL) & O_NONBLOCK), "close-on-exec and non-blocking");
    EXPECT_ERR(inotify_add_watch(-1, dir, IN_ALL_EVENTS), EBADF);
    EXPECT_ERR(inotify_add_watch(p[0], dir, IN_ALL_EVENTS), EINVAL);
    EXPECT_ERR(inotify_add_watch(fd, dir, 0), EINVAL);
    EXPECT_ERR(inotify_add_watch(fd, "/nonexistent/x", IN_ALL_EVENTS), ENOENT);
    EXPECT_ERR(inotify_add_watch(fd, (const char *)bad_ptr_8, IN_ALL_EVENTS), EFAULT);
    EXPECT_ERR(inotify_add_watch(fd, "/dev/null", IN_ALL_EVENTS | IN_ONLYDIR), ENOTDIR);
    EXPECT_ERR(inotify_add_watch(fd, dir, IN_ALL_EVENTS | IN_MASK_ADD | IN_MASK_CREATE), EINVAL);
    int wd = inotify_add_watch(fd, dir, IN_CREATE);
    check(wd == 1, "the first watch descriptor is 1");
    EXPECT_RET(inotify_add_watch(fd, dir, IN_DELETE), wd);
    EXPECT_ERR(inotify_add_watch(fd, dir, IN_DELETE | IN_MASK_CREATE), EEXIST);
    int wd2 = inotify_add_watch(fd, "/dev/null", IN_OPEN);
    check(wd2 == 2, "the second is 2");
    EXPECT_ERR(inotify_rm_watch(fd, 99), EINVAL);
    EXPECT_ERR(inotify_rm_watch(-1, wd), EBADF);
    EXPECT_ERR(inotify_rm_watch(p[0], wd), EINVAL);
    EXPECT_RET(inotify_rm_watch(fd, wd2), 0);
    EXPECT_ERR(inotify_rm_watch(fd, wd2), EINVAL);
    char small[16];
    /* IN_IGNORED (16 bytes) is queued: a buffer of 8 is too small. */
    EXPECT_ERR(read(fd, small, 8), EINVAL);
    int avail = -1;
    EXPECT_RET(ioctl(fd, FIONREAD, &avail), 0);
    check(avail == 16, "FIONREAD: one event without a name (%d)", avail);
    wd_dir = wd;
    wd_file = wd2;
    drain(fd, NULL, 0);
    EXPECT_ERR(read(fd, small, sizeof small), EAGAIN);
    close(fd);
    close(p[0]);
    close(p[1]);
}

static void test_events(void)
{
    int fd = inotify_init1(IN_NONBLOCK);
    check(fd >= 0, "inotify_init1(IN_NONBLOCK)");
    wd_dir = inotify_add_watch(fd, dir, IN_ALL_EVENTS);
    check(wd_dir > 0, "watch the directory");
    wd_file = -2;
    struct pollfd pfd = { fd, POLLIN, 0 };
    EXPECT_RET(poll(&pfd, 1, 0), 0);

    printf("create, write, close:\n");
    int f = open(path_f, O_WRONLY | O_CREAT | O_EXCL, 0644);
    check(f >= 0, "create f");
    EXPECT_RET(write(f, "hello", 5), 5);
    close(f);
    EXPECT_RET(poll(&pfd, 1, 0), 1);
    check(pfd.revents == POLLIN, "poll: POLLIN");
    check(drain(fd, NULL, 0) == 4, "four events");

    wd_file = inotify_add_watch(fd, path_f, IN_ALL_EVENTS);
    check(wd_file > wd_dir, "watch the file");
    printf("chmod, open, read, close:\n");
    EXPECT_RET(chmod(path_f, 0600), 0);
    f = open(path_f, O_RDONLY);
    char b[8];
    EXPECT_RET(read(f, b, sizeof b), 5);
    EXPECT_RET(read(f, b, sizeof b), 0);
    close(f);
    check(drain(fd, NULL, 0) == 8, "eight events (four each)");

    printf("rename:\n");
    unsigned cookies[4] = { 0 };
    EXPECT_RET(rename(path_f, path_g), 0);
    check(drain(fd, cookies, 4) == 3, "three events");
    check(cookies[0] != 0 && cookies[0] == cookies[1], "MOVED_FROM and MOVED_TO share a cookie");

    printf("mkdir, rmdir:\n");
    EXPECT_RET(mkdir(path_sub, 0755), 0);
    EXPECT_RET(rmdir(path_sub), 0);
    check(drain(fd, NULL, 0) == 2, "two events");

    printf("truncate, utimes:\n");
    EXPECT_RET(truncate(path_g, 2), 0);
    EXPECT_RET(utimensat(AT_FDCWD, path_g, NULL, 0), 0);
    check(drain(fd, NULL, 0) == 4, "four events");

    printf("unlink:\n");
    EXPECT_RET(unlink(path_g), 0);
    check(drain(fd, NULL, 0) == 4, "four events");
    EXPECT_ERR(inotify_rm_watch(fd, wd_file), EINVAL);

    printf("rm_watch:\n");
    EXPECT_RET(inotify_rm_watch(fd, wd_dir), 0);
    check(drain(fd, NULL, 0) == 1, "one event");
    f = open(path_f, O_WRONLY | O_CREAT, 0644);
    close(f);
    unlink(path_f);
    check(drain(fd, NULL, 0) == 0, "nothing after the watch went");
    close(fd);
}

static void test_oneshot_and_wait(void)
{
    int fd = inotify_init();
    check(fd >= 0, "inotify_init");
    wd_dir = inotify_add_watch(fd, dir, IN_CREATE | IN_ONESHOT);
    wd_file = -2;
    /* A blocking read, woken by a child's create. */
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(50);
        int f = open(path_f, O_WRONLY | O_CREAT, 0644);
        close(f);
        f = open(path_g, O_WRONLY | O_CREAT, 0644);
        close(f);
        _exit(0);
    }
    char buf[256] __attribute__((aligned(8)));
    ssize_t n = read(fd, buf, sizeof buf);
    struct inotify_event *e = (struct inotify_event *)buf;
    check(n >= (ssize_t)sizeof *e && e->wd == wd_dir && e->mask == IN_CREATE && strcmp(e->name, "f") == 0, "the blocked read got the child's IN_CREATE \"f\"");
    int st;
    waitpid(pid, &st, 0);
    /* One shot: IN_IGNORED follows, nothing for g. */
    fcntl(fd, F_SETFL, O_NONBLOCK);
    printf("after the first event:\n");
    if (n > (ssize_t)(sizeof *e + e->len)) {
        /* The IN_IGNORED may have come in the same read. */
        struct inotify_event *e2 = (struct inotify_event *)(buf + sizeof *e + e->len);
        printf("  event %s IGNORED%s\n", wd_name(e2->wd), e2->mask == IN_IGNORED ? "" : "?");
        check(drain(fd, NULL, 0) == 0, "then nothing");
    } else {
        check(drain(fd, NULL, 0) == 1, "IN_IGNORED, nothing for g");
    }
    EXPECT_ERR(inotify_rm_watch(fd, wd_dir), EINVAL);
    /* IN_MASK_ADD adds to a watch's mask. */
    wd_dir = inotify_add_watch(fd, dir, IN_DELETE);
    EXPECT_RET(inotify_add_watch(fd, dir, IN_CREATE | IN_MASK_ADD), wd_dir);
    printf("mask add:\n");
    unlink(path_f);
    int f = open(path_f, O_WRONLY | O_CREAT, 0644);
    close(f);
    unlink(path_f);
    unlink(path_g);
    check(drain(fd, NULL, 0) == 4, "delete, create, delete, delete");
    close(fd);
}

/* A file unlinked while open is still the directory's child to inotify,
 * unless the watch says IN_EXCL_UNLINK. */
static void test_unlinked(void)
{
    for (int excl = 0; excl < 2; excl++) {
        int fd = inotify_init1(IN_NONBLOCK);
        wd_dir = inotify_add_watch(fd, dir, IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE | (excl ? IN_EXCL_UNLINK : 0));
        wd_file = -2;
        int f = open(path_f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        EXPECT_RET(unlink(path_f), 0);
        EXPECT_RET(write(f, "x", 1), 1);
        close(f);
        printf("unlinked while open%s:\n", excl ? ", IN_EXCL_UNLINK" : "");
        check(drain(fd, NULL, 0) == (excl ? 1 : 3), excl ? "IN_EXCL_UNLINK: the delete only" : "delete, then modify and close-write of the unlinked file");
        close(fd);
    }
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/compat_inotify_%d", (int)getpid());
    snprintf(path_f, sizeof path_f, "%s/f", dir);
    snprintf(path_g, sizeof path_g, "%s/g", dir);
    snprintf(path_sub, sizeof path_sub, "%s/sub", dir);
    if (mkdir(dir, 0755) != 0) {
        printf("FAIL: mkdir\n");
        return 1;
    }
    test_errors();
    test_events();
    test_oneshot_and_wait();
    test_unlinked();
    rmdir(dir);
    return finish();
}
