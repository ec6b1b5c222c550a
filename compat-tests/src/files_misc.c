// files_misc.c - statfs/fstatfs, sendfile, copy_file_range, fallocate,
// fsync/fdatasync/sync, O_PATH descriptors, openat2, faccessat2, fchownat
// with AT_EMPTY_PATH, readlink of /proc/self/fd, /dev/stdout, umask.
#include "compat.h"
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

int main(void)
{
    char dir[64] = "/tmp/compat-misc-XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    check(chdir(dir) == 0, "chdir");
    int fd = open("src", O_CREAT | O_RDWR, 0644);
    write(fd, "0123456789abcdef", 16);

    struct statfs sf;
    EXPECT_RET(statfs(".", &sf), 0);
    check(sf.f_bsize > 0 && sf.f_namelen == 255, "statfs: block size > 0, name length 255");
    EXPECT_RET(fstatfs(fd, &sf), 0);
    EXPECT_RET(statfs("/proc", &sf), 0);
    printf("/proc is procfs: %d\n", sf.f_type == 0x9fa0);
    EXPECT_ERR(statfs("/nope", &sf), ENOENT);
    EXPECT_ERR(fstatfs(999, &sf), EBADF);

    int dst = open("dst", O_CREAT | O_RDWR, 0644);
    off_t off = 4;
    EXPECT_RET(sendfile(dst, fd, &off, 6), 6);
    printf("sendfile moved the offset pointer to %ld\n", (long)off);
    EXPECT_RET(lseek(fd, 0, SEEK_CUR), 16);
    lseek(fd, 10, SEEK_SET);
    EXPECT_RET(sendfile(1, fd, NULL, 100), 6);
    printf("\n");
    EXPECT_ERR(sendfile(dst, 999, NULL, 1), EBADF);
    int ro = open("src", O_RDONLY);
    EXPECT_ERR(sendfile(ro, fd, NULL, 1), EBADF);
#ifdef SYS_copy_file_range
    loff_t in = 0, out = 6;
    EXPECT_RET(syscall(SYS_copy_file_range, fd, &in, dst, &out, 4, 0), 4);
    EXPECT_ERR(syscall(SYS_copy_file_range, fd, &in, dst, &out, 4, 1), EINVAL);
#endif
    char b[32] = {0};
    EXPECT_RET(pread(dst, b, sizeof b, 0), 10);
    printf("dst: %s\n", b);

    EXPECT_RET(fallocate(dst, 0, 0, 100), 0);
    struct stat st;
    fstat(dst, &st);
    printf("after fallocate: %ld\n", (long)st.st_size);
    EXPECT_RET(fallocate(dst, FALLOC_FL_KEEP_SIZE, 0, 200), 0);
    fstat(dst, &st);
    printf("after KEEP_SIZE: %ld\n", (long)st.st_size);
    EXPECT_ERR(fallocate(dst, 0, -1, 10), EINVAL);
    EXPECT_ERR(fallocate(dst, 0, 0, 0), EINVAL);
    EXPECT_ERR(fallocate(ro, 0, 0, 10), EBADF);
    EXPECT_RET(fsync(dst), 0);
    EXPECT_RET(fdatasync(dst), 0);
    EXPECT_ERR(fsync(999), EBADF);
    sync();

    int p = open("src", O_PATH);
    check(p >= 0, "O_PATH open");
    EXPECT_ERR(read(p, b, 1), EBADF);
    EXPECT_RET(fstat(p, &st), 0);
    EXPECT_RET(fstatat(p, "", &st, AT_EMPTY_PATH), 0);
    printf("O_PATH fstat size: %ld\n", (long)st.st_size);
    EXPECT_RET(fchownat(p, "", -1, -1, AT_EMPTY_PATH), 0);
    close(p);
#ifdef SYS_faccessat2
    EXPECT_RET(syscall(SYS_faccessat2, AT_FDCWD, "src", R_OK, AT_EACCESS), 0);
    EXPECT_ERR(syscall(SYS_faccessat2, AT_FDCWD, "src", R_OK, 0x8), EINVAL);
#endif
#ifdef SYS_openat2
    struct { unsigned long long flags, mode, resolve; } how = {O_RDONLY, 0, 0};
    int o2 = syscall(SYS_openat2, AT_FDCWD, "src", &how, sizeof how);
    check(o2 >= 0, "openat2 opens");
    close(o2);
    how.flags = 1ULL << 40;
    EXPECT_ERR(syscall(SYS_openat2, AT_FDCWD, "src", &how, sizeof how), EINVAL);
    how.flags = O_RDONLY;
    how.mode = 0644;
    EXPECT_ERR(syscall(SYS_openat2, AT_FDCWD, "src", &how, sizeof how), EINVAL);
    EXPECT_ERR(syscall(SYS_openat2, AT_FDCWD, "src", &how, 8), EINVAL);
#endif
    char link[128] = {0};
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    check(n > 0 && strcmp(link + strlen(link) - 4, "/src") == 0, "the fd link names the file");
    int so = open("/dev/stdout", O_WRONLY);
    EXPECT_RET(write(so, "via /dev/stdout\n", 16), 16);
    close(so);

    umask(0);
    int u = open("u", O_CREAT | O_WRONLY, 0666);
    fstat(u, &st);
    printf("umask 0: mode %o\n", st.st_mode & 0777);
    close(u);
    umask(022);

    unlink("src");
    unlink("dst");
    unlink("u");
    chdir("/");
    EXPECT_RET(rmdir(dir), 0);
    return finish();
}
