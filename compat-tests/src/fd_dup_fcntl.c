// fd_dup_fcntl.c - dup/dup2/dup3, fcntl (F_DUPFD*, F_GETFD/SETFD, F_GETFL/
// SETFL, record locks), shared offsets between duplicates, close_range,
// ioctl FIONREAD/FIOCLEX, flock, getdents64 raw, bad descriptors.
#include "compat.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int main(void)
{
    char dir[64] = "/tmp/compat-fd-XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    check(chdir(dir) == 0, "chdir");
    int fd = open("f", O_CREAT | O_RDWR, 0644);
    check(fd == 3, "first free descriptor is 3");
    write(fd, "0123456789", 10);
    lseek(fd, 2, SEEK_SET);

    int d = dup(fd);
    check(d == 4, "dup gives 4");
    EXPECT_RET(lseek(d, 0, SEEK_CUR), 2);
    char c;
    EXPECT_RET(read(d, &c, 1), 1);
    printf("read through the dup: %c\n", c);
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 3);
    EXPECT_ERR(dup(9999), EBADF);
    EXPECT_RET(dup2(fd, 10), 10);
    EXPECT_RET(dup2(fd, fd), fd);
    EXPECT_ERR(dup2(9999, 11), EBADF);
    EXPECT_ERR(dup2(fd, -1), EBADF);
    EXPECT_ERR(dup2(fd, 1 << 20), EBADF);
    EXPECT_RET(dup3(fd, 12, O_CLOEXEC), 12);
    EXPECT_ERR(dup3(fd, fd, 0), EINVAL);
    EXPECT_RET(fcntl(12, F_GETFD), FD_CLOEXEC);
    EXPECT_RET(fcntl(10, F_GETFD), 0);
    EXPECT_RET(fcntl(10, F_SETFD, FD_CLOEXEC), 0);
    EXPECT_RET(fcntl(10, F_GETFD), FD_CLOEXEC);
    EXPECT_RET(fcntl(fd, F_DUPFD, 20), 20);
    EXPECT_RET(fcntl(fd, F_DUPFD_CLOEXEC, 20), 21);
    EXPECT_RET(fcntl(21, F_GETFD), FD_CLOEXEC);
    EXPECT_ERR(fcntl(fd, F_DUPFD, -1), EINVAL);
    EXPECT_ERR(fcntl(9999, F_GETFD), EBADF);
    EXPECT_ERR(fcntl(fd, 9999), EINVAL);

    int fl = fcntl(fd, F_GETFL);
    printf("F_GETFL: accmode %d append %d nonblock %d\n", fl & O_ACCMODE, !!(fl & O_APPEND), !!(fl & O_NONBLOCK));
    EXPECT_RET(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK | O_RDONLY), 0);
    fl = fcntl(d, F_GETFL);
    printf("after F_SETFL, the dup sees: accmode %d append %d nonblock %d\n", fl & O_ACCMODE, !!(fl & O_APPEND), !!(fl & O_NONBLOCK));
    EXPECT_RET(write(fd, "A", 1), 1);
    struct stat st;
    fstat(fd, &st);
    printf("O_APPEND write lands at the end: size %ld\n", (long)st.st_size);
    fcntl(fd, F_SETFL, 0);

    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5};
    EXPECT_RET(fcntl(fd, F_SETLK, &lk), 0);
    lk.l_type = F_RDLCK;
    EXPECT_RET(fcntl(fd, F_GETLK, &lk), 0);
    printf("F_GETLK by the owner reports: %s\n", lk.l_type == F_UNLCK ? "F_UNLCK" : "locked");
    lk.l_type = 42;
    EXPECT_ERR(fcntl(fd, F_SETLK, &lk), EINVAL);
    int ro = open("f", O_RDONLY);
    lk.l_type = F_WRLCK;
    EXPECT_ERR(fcntl(ro, F_SETLK, &lk), EBADF);
    EXPECT_RET(flock(fd, LOCK_EX), 0);
    EXPECT_RET(flock(fd, LOCK_UN), 0);
    EXPECT_ERR(flock(fd, 3), EINVAL);
    EXPECT_ERR(flock(9999, LOCK_EX), EBADF);

    int n = -1;
    lseek(ro, 4, SEEK_SET);
    EXPECT_RET(ioctl(ro, FIONREAD, &n), 0);
    printf("FIONREAD: %d\n", n);
    EXPECT_RET(ioctl(ro, FIOCLEX), 0);
    EXPECT_RET(fcntl(ro, F_GETFD), FD_CLOEXEC);
    EXPECT_ERR(ioctl(ro, TCGETS, &n), ENOTTY);
    EXPECT_ERR(ioctl(9999, FIONREAD, &n), EBADF);

#ifdef SYS_close_range
    EXPECT_RET(syscall(SYS_close_range, 20, 21, 0), 0);
    EXPECT_ERR(fcntl(20, F_GETFD), EBADF);
    EXPECT_ERR(syscall(SYS_close_range, 5, 4, 0), EINVAL);
    EXPECT_RET(syscall(SYS_close_range, 10, 10, 4), 0);
    EXPECT_RET(fcntl(10, F_GETFD), FD_CLOEXEC);
#endif

    /* Closing one duplicate keeps the file open through the others. */
    close(fd);
    EXPECT_RET(lseek(d, 0, SEEK_SET), 0);
    char b[16] = {0};
    EXPECT_RET(read(d, b, 11), 11);
    printf("via the remaining dup: %s\n", b);

    /* getdents64 raw: a too small buffer, a non-directory. */
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    char small[8];
    EXPECT_ERR(syscall(SYS_getdents64, dfd, small, sizeof small), EINVAL);
    EXPECT_ERR(syscall(SYS_getdents64, d, b, sizeof b), ENOTDIR);
    EXPECT_ERR(syscall(SYS_getdents64, 9999, b, sizeof b), EBADF);
    char big[1024];
    long got = syscall(SYS_getdents64, dfd, big, sizeof big);
    int entries = 0;
    for (long off = 0; off < got;) {
        struct { unsigned long long ino; long long off; unsigned short reclen; unsigned char type; char name[]; } *e = (void *)(big + off);
        entries++;
        off += e->reclen;
    }
    printf("getdents64 entries: %d\n", entries);
    EXPECT_RET(syscall(SYS_getdents64, dfd, big, sizeof big), 0);
    close(dfd);

    unlink("f");
    chdir("/");
    EXPECT_RET(rmdir(dir), 0);
    return finish();
}
