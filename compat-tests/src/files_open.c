// files_open.c - open/openat/creat/close/read/write/pread/pwrite/lseek/
// truncate on regular files in a fresh temporary directory, with bad input:
// bad fds, bad flags, bad pointers, wrong file types, names too long,
// paths through a file.
#include "compat.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

static char dir[64];

static void cleanup(void)
{
    const char *names[] = {"a", "b", "c", "t", "app", "ro", "sub/x", "sub", NULL};
    for (int i = 0; names[i]; i++) {
        unlink(names[i]);
        rmdir(names[i]);
    }
    chdir("/");
    rmdir(dir);
}

int main(void)
{
    strcpy(dir, "/tmp/compat-open-XXXXXX");
    check(mkdtemp(dir) != NULL, "mkdtemp");
    check(chdir(dir) == 0, "chdir into it");
    char buf[256];

    int fd = open("a", O_WRONLY | O_CREAT | O_EXCL, 0644);
    check(fd >= 3, "open(O_CREAT|O_EXCL) gives a new fd >= 3");
    EXPECT_ERR(open("a", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    EXPECT_RET(write(fd, "hello world\n", 12), 12);
    EXPECT_ERR(read(fd, buf, 4), EBADF);
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 12);
    EXPECT_RET(lseek(fd, 6, SEEK_SET), 6);
    EXPECT_RET(write(fd, "WORLD", 5), 5);
    EXPECT_RET(lseek(fd, 0, SEEK_END), 12);
    EXPECT_RET(lseek(fd, 100, SEEK_SET), 100);
    EXPECT_ERR(lseek(fd, -1, SEEK_SET), EINVAL);
    EXPECT_ERR(lseek(fd, 0, 99), EINVAL);
    EXPECT_RET(lseek(fd, 0, SEEK_SET), 0);
    EXPECT_RET(close(fd), 0);
    EXPECT_ERR(close(fd), EBADF);

    fd = open("a", O_RDONLY);
    check(fd >= 0, "reopen read-only");
    memset(buf, 0, sizeof buf);
    EXPECT_RET(read(fd, buf, sizeof buf), 12);
    printf("contents: %s", buf);
    EXPECT_RET(read(fd, buf, sizeof buf), 0);
    EXPECT_ERR(write(fd, "x", 1), EBADF);
    EXPECT_RET(pread(fd, buf, 5, 6), 5);
    printf("pread at 6: %.5s\n", buf);
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 12);
    EXPECT_ERR(pread(fd, buf, 5, -1), EINVAL);
    EXPECT_RET(read(fd, bad_ptr_8, 4), 0); /* at the end: nothing to copy */
    EXPECT_RET(lseek(fd, 0, SEEK_SET), 0);
    EXPECT_ERR(read(fd, bad_ptr_8, 4), EFAULT);
    struct iovec iov[2] = {{buf, 3}, {buf + 10, 4}};
    EXPECT_RET(readv(fd, iov, 2), 7);
    printf("readv: %.3s|%.4s\n", buf, buf + 10);
    close(fd);

    fd = open("a", O_RDWR);
    EXPECT_RET(pwrite(fd, "!!", 2, 20), 2);
    struct stat st;
    EXPECT_RET(fstat(fd, &st), 0);
    printf("size after pwrite past the end: %ld, regular %d, mode %o\n", (long)st.st_size, S_ISREG(st.st_mode), st.st_mode & 0777);
    EXPECT_RET(pread(fd, buf, 10, 10), 10);
    printf("hole reads as zeros: %d %d\n", buf[2] == 0, buf[9] == 0);
    EXPECT_RET(ftruncate(fd, 5), 0);
    EXPECT_RET(fstat(fd, &st), 0);
    printf("size after ftruncate: %ld\n", (long)st.st_size);
    EXPECT_ERR(ftruncate(fd, -1), EINVAL);
    EXPECT_RET(truncate("a", 3), 0);
    EXPECT_RET(stat("a", &st), 0);
    printf("size after truncate: %ld\n", (long)st.st_size);
    close(fd);

    /* O_TRUNC, O_APPEND, creat. */
    fd = open("a", O_WRONLY | O_TRUNC);
    EXPECT_RET(fstat(fd, &st), 0);
    printf("size after O_TRUNC: %ld\n", (long)st.st_size);
    close(fd);
    fd = open("app", O_WRONLY | O_CREAT | O_APPEND, 0600);
    EXPECT_RET(write(fd, "one\n", 4), 4);
    EXPECT_RET(lseek(fd, 0, SEEK_SET), 0);
    EXPECT_RET(write(fd, "two\n", 4), 4);
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 8);
    close(fd);
    fd = open("app", O_RDONLY);
    memset(buf, 0, sizeof buf);
    EXPECT_RET(read(fd, buf, 100), 8);
    printf("append: %s", buf);
    close(fd);
    fd = creat("c", 0644);
    check(fd >= 0, "creat");
    EXPECT_ERR(read(fd, buf, 1), EBADF);
    close(fd);

    /* Wrong file types and bad paths. */
    EXPECT_RET(mkdir("sub", 0755), 0);
    EXPECT_ERR(open("sub", O_WRONLY), EISDIR);
    EXPECT_ERR(open("sub", O_RDWR), EISDIR);
    fd = open("sub", O_RDONLY);
    check(fd >= 0, "a directory opens read-only");
    EXPECT_ERR(read(fd, buf, 10), EISDIR);
    close(fd);
    EXPECT_ERR(open("a", O_RDONLY | O_DIRECTORY), ENOTDIR);
    EXPECT_ERR(open("a/x", O_RDONLY), ENOTDIR);
    EXPECT_ERR(open("a/x", O_RDWR | O_CREAT, 0644), ENOTDIR);
    EXPECT_ERR(open("a/", O_RDONLY), ENOTDIR);
    EXPECT_ERR(open("nope", O_RDONLY), ENOENT);
    EXPECT_ERR(open("nope/x", O_RDWR | O_CREAT, 0644), ENOENT);
    EXPECT_ERR(open("", O_RDONLY), ENOENT);
    EXPECT_ERR(open("new/", O_RDWR | O_CREAT, 0644), EISDIR);
    EXPECT_ERR(open(bad_ptr_8, O_RDONLY), EFAULT);
    char longname[300];
    memset(longname, 'n', 299);
    longname[299] = 0;
    EXPECT_ERR(open(longname, O_RDONLY | O_CREAT, 0644), ENAMETOOLONG);
    static char longpath[5000];
    for (int i = 0; i < 4999; i += 2) {
        longpath[i] = 'p';
        longpath[i + 1] = '/';
    }
    longpath[4999] = 0;
    EXPECT_ERR(open(longpath, O_RDONLY), ENAMETOOLONG);
    EXPECT_ERR(syscall(SYS_openat, 9999, "a", O_RDONLY), EBADF);
    int afd = open("a", O_RDONLY);
    EXPECT_ERR(syscall(SYS_openat, afd, "x", O_RDONLY), ENOTDIR);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    fd = openat(dfd, "a", O_RDONLY);
    check(fd >= 0, "openat relative to a directory fd");
    close(fd);
    fd = openat(9999, "/etc/passwd", O_RDONLY);
    check(fd >= 0, "openat ignores the fd for absolute paths");
    close(fd);
    close(afd);
    close(dfd);
    EXPECT_ERR(write(9999, "x", 1), EBADF);
    EXPECT_ERR(read(-1, buf, 1), EBADF);
    EXPECT_ERR(lseek(1, 0, SEEK_SET), ESPIPE);
    EXPECT_ERR(truncate("sub", 0), EISDIR);
    EXPECT_ERR(truncate("nope", 0), ENOENT);

    /* Lowest free descriptor. */
    int f1 = open("a", O_RDONLY), f2 = open("a", O_RDONLY);
    close(f1);
    int f3 = open("a", O_RDONLY);
    check(f3 == f1, "open reuses the lowest free descriptor");
    close(f2);
    close(f3);

    /* /dev devices. */
    fd = open("/dev/null", O_RDWR);
    EXPECT_RET(write(fd, "gone", 4), 4);
    EXPECT_RET(read(fd, buf, 4), 0);
    close(fd);
    fd = open("/dev/zero", O_RDONLY);
    memset(buf, 1, 8);
    EXPECT_RET(read(fd, buf, 8), 8);
    printf("zeros: %d\n", buf[0] == 0 && buf[7] == 0);
    close(fd);
    fd = open("/dev/full", O_WRONLY);
    EXPECT_ERR(write(fd, "x", 1), ENOSPC);
    close(fd);
    fd = open("/dev/urandom", O_RDONLY);
    EXPECT_RET(read(fd, buf, 16), 16);
    close(fd);
    EXPECT_RET(stat("/dev/null", &st), 0);
    printf("/dev/null: chr %d rdev %d:%d\n", S_ISCHR(st.st_mode), (int)(st.st_rdev >> 8), (int)(st.st_rdev & 0xff));

    cleanup();
    return finish();
}
