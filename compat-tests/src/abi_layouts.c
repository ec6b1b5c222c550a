// abi_layouts.c - the structures whose layout differs per ABI, through raw
// system calls: old getdents (linux_dirent with d_type last), stat/fstat/lstat
// (i386: the old struct stat of calls 106-108), stat64/fstatat64, _llseek,
// fcntl64 locks (i386), statx; sizes and offsets read field by field.
#include "compat.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int main(void)
{
    char dir[64] = "/tmp/compat-abi-XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    check(chdir(dir) == 0, "chdir");
    int fd = open("file", O_CREAT | O_RDWR, 0640);
    char data[5000];
    memset(data, 'z', sizeof data);
    write(fd, data, sizeof data);
    symlink("file", "link");

    /* Old getdents: long d_ino, long d_off, unsigned short d_reclen, name, NUL, ..., d_type. */
    int d = open(".", O_RDONLY | O_DIRECTORY);
    char buf[4096];
    long n = syscall(SYS_getdents, d, buf, sizeof buf);
    check(n > 0, "getdents returns entries");
    int files = 0, links = 0, dirs = 0;
    for (long off = 0; off < n;) {
        unsigned short reclen = *(unsigned short *)(buf + off + 2 * sizeof(long));
        char *name = buf + off + 2 * sizeof(long) + 2;
        unsigned char type = buf[off + reclen - 1];
        if (strcmp(name, "file") == 0)
            files += type == DT_REG;
        else if (strcmp(name, "link") == 0)
            links += type == DT_LNK;
        else if (name[0] == '.')
            dirs += type == DT_DIR;
        check(reclen % sizeof(long) == 0, "reclen %u is word aligned", reclen);
        off += reclen;
    }
    printf("getdents types: file %d, link %d, dots %d\n", files, links, dirs);
    EXPECT_RET(syscall(SYS_getdents, d, buf, sizeof buf), 0);
    EXPECT_RET(lseek(d, 0, SEEK_SET), 0);
    EXPECT_ERR(syscall(SYS_getdents, d, buf, 4), EINVAL);
    check(syscall(SYS_getdents, d, buf, sizeof buf) == n, "after rewinding, the same entries");
    close(d);

#if defined(__i386__)
    /* The old struct stat (calls 106, 107, 108): 16-bit mode and nlink. */
    struct {
        unsigned long st_dev, st_ino;
        unsigned short st_mode, st_nlink, st_uid, st_gid;
        unsigned long st_rdev, st_size, st_blksize, st_blocks;
        unsigned long at, atn, mt, mtn, ct, ctn, u4, u5;
    } old;
    EXPECT_RET(syscall(SYS_stat, "file", &old), 0);
    printf("old stat: mode %o nlink %u size %lu\n", old.st_mode, old.st_nlink, old.st_size);
    EXPECT_RET(syscall(SYS_lstat, "link", &old), 0);
    printf("old lstat: link %d size %lu\n", (old.st_mode & 0170000) == 0120000, old.st_size);
    EXPECT_RET(syscall(SYS_fstat, fd, &old), 0);
    printf("old fstat: size %lu\n", old.st_size);
    struct stat64 s64;
    EXPECT_RET(syscall(SYS_stat64, "file", &s64), 0);
    printf("stat64: mode %o size %lld blocks>0 %d\n", s64.st_mode, (long long)s64.st_size, s64.st_blocks > 0);
    EXPECT_RET(syscall(SYS_fstatat64, AT_FDCWD, "link", &s64, AT_SYMLINK_NOFOLLOW), 0);
    printf("fstatat64 nofollow: link %d\n", S_ISLNK(s64.st_mode));
    long long pos = -1;
    EXPECT_RET(syscall(SYS__llseek, fd, 0, 4096, &pos, SEEK_SET), 0);
    printf("_llseek: %lld\n", pos);
    EXPECT_RET(syscall(SYS__llseek, fd, 0, 10, &pos, SEEK_CUR), 0);
    printf("_llseek cur: %lld\n", pos);
    EXPECT_ERR(syscall(SYS__llseek, fd, 0xffffffff, 0xffffff00, &pos, SEEK_SET), EINVAL);
    EXPECT_ERR(syscall(SYS__llseek, fd, 0, 0, bad_ptr_8, SEEK_SET), EFAULT);
    struct flock64 lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    EXPECT_RET(syscall(SYS_fcntl64, fd, F_SETLK64, &lk), 0);
    EXPECT_RET(syscall(SYS_ftruncate64, fd, 3000, 0), 0);
    EXPECT_RET(syscall(SYS_fstat64, fd, &s64), 0);
    printf("ftruncate64: %lld\n", (long long)s64.st_size);
#else
    struct stat st;
    EXPECT_RET(syscall(SYS_stat, "file", &st), 0);
    printf("stat: mode %o nlink %lu size %ld\n", st.st_mode, (unsigned long)st.st_nlink, (long)st.st_size);
    EXPECT_RET(syscall(SYS_lstat, "link", &st), 0);
    printf("lstat: link %d size %ld\n", S_ISLNK(st.st_mode), (long)st.st_size);
    EXPECT_RET(syscall(SYS_newfstatat, AT_FDCWD, "link", &st, 0), 0);
    printf("newfstatat: size %ld blocks>0 %d\n", (long)st.st_size, st.st_blocks > 0);
    EXPECT_RET(syscall(SYS_lseek, fd, 4096, SEEK_SET), 4096);
    EXPECT_RET(syscall(SYS_ftruncate, fd, 3000), 0);
    EXPECT_RET(syscall(SYS_fstat, fd, &st), 0);
    printf("ftruncate: %ld\n", (long)st.st_size);
#endif
#if defined(SYS_statx) && defined(STATX_BASIC_STATS)
    struct statx sx;
    EXPECT_RET(syscall(SYS_statx, AT_FDCWD, "file", 0, STATX_BASIC_STATS, &sx), 0);
    printf("statx: size %llu mode %o nlink %u\n", (unsigned long long)sx.stx_size, sx.stx_mode, sx.stx_nlink);
    EXPECT_ERR(syscall(SYS_statx, AT_FDCWD, "file", 0x6000, STATX_BASIC_STATS, &sx), EINVAL);
    EXPECT_ERR(syscall(SYS_statx, AT_FDCWD, "file", 0, 0x80000000, &sx), EINVAL);
#endif
    unlink("file");
    unlink("link");
    chdir("/");
    EXPECT_RET(rmdir(dir), 0);
    return finish();
}
