// files_links.c - link/linkat, symlink/symlinkat, readlink/readlinkat,
// unlink/unlinkat, lstat vs stat, ELOOP, O_NOFOLLOW, link counts, an open
// file outliving its last name, access/faccessat, chmod/fchmod/chown, utimensat.
#include "compat.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>

int main(void)
{
    char dir[64] = "/tmp/compat-links-XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    check(chdir(dir) == 0, "chdir");
    int fd = open("f", O_CREAT | O_RDWR, 0640);
    EXPECT_RET(write(fd, "content\n", 8), 8);
    struct stat st, st2;

    EXPECT_RET(link("f", "hard"), 0);
    EXPECT_RET(fstat(fd, &st), 0);
    printf("nlink after link: %ld\n", (long)st.st_nlink);
    EXPECT_RET(stat("hard", &st2), 0);
    check(st.st_ino == st2.st_ino && st.st_dev == st2.st_dev, "a hard link is the same inode");
    EXPECT_ERR(link("f", "hard"), EEXIST);
    EXPECT_ERR(link("nope", "x"), ENOENT);
    EXPECT_RET(mkdir("d", 0755), 0);
    EXPECT_ERR(link("d", "dlink"), EPERM);
    EXPECT_ERR(link("f", "nope/x"), ENOENT);
    EXPECT_ERR(link(bad_ptr_8, "x"), EFAULT);

    EXPECT_RET(symlink("f", "sym"), 0);
    EXPECT_RET(symlink("nowhere", "dangling"), 0);
    EXPECT_RET(symlink("loop2", "loop1"), 0);
    EXPECT_RET(symlink("loop1", "loop2"), 0);
    EXPECT_RET(symlink("d", "dsym"), 0);
    EXPECT_ERR(symlink("f", "sym"), EEXIST);
    EXPECT_ERR(symlink("", "empty"), ENOENT);
    char buf[64];
    memset(buf, 0, sizeof buf);
    EXPECT_RET(readlink("sym", buf, sizeof buf), 1);
    printf("sym -> %s\n", buf);
    EXPECT_ERR(readlink("f", buf, sizeof buf), EINVAL);
    EXPECT_ERR(readlink("nope", buf, sizeof buf), ENOENT);
    EXPECT_RET(readlink("dangling", buf, 3), 3);
    EXPECT_RET(readlinkat(AT_FDCWD, "sym", buf, sizeof buf), 1);
    EXPECT_RET(lstat("sym", &st), 0);
    printf("lstat(sym): link %d size %ld\n", S_ISLNK(st.st_mode), (long)st.st_size);
    EXPECT_RET(stat("sym", &st), 0);
    printf("stat(sym): reg %d size %ld\n", S_ISREG(st.st_mode), (long)st.st_size);
    EXPECT_ERR(stat("dangling", &st), ENOENT);
    EXPECT_RET(lstat("dangling", &st), 0);
    EXPECT_ERR(stat("loop1", &st), ELOOP);
    EXPECT_ERR(open("loop1", O_RDONLY), ELOOP);
    EXPECT_ERR(open("sym", O_RDONLY | O_NOFOLLOW), ELOOP);
    EXPECT_RET(stat("dsym/", &st), 0);
    EXPECT_ERR(stat("sym/", &st), ENOTDIR);
    EXPECT_ERR(fstatat(AT_FDCWD, "sym", &st, 0x8), EINVAL);
    EXPECT_RET(fstatat(AT_FDCWD, "sym", &st, AT_SYMLINK_NOFOLLOW), 0);
    printf("fstatat NOFOLLOW: link %d\n", S_ISLNK(st.st_mode));
    /* Creating through a dangling symlink creates its target. */
    int c = open("dangling", O_CREAT | O_WRONLY, 0644);
    check(c >= 0, "O_CREAT through a dangling symlink");
    close(c);
    EXPECT_RET(access("nowhere", F_OK), 0);
    EXPECT_ERR(open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    EXPECT_RET(linkat(AT_FDCWD, "sym", AT_FDCWD, "symlink-itself", 0), 0);
    EXPECT_RET(lstat("symlink-itself", &st), 0);
    printf("linkat without FOLLOW links the symlink: %d\n", S_ISLNK(st.st_mode));
    EXPECT_RET(linkat(AT_FDCWD, "sym", AT_FDCWD, "followed", AT_SYMLINK_FOLLOW), 0);
    EXPECT_RET(lstat("followed", &st), 0);
    printf("linkat with FOLLOW links the file: %d nlink %ld\n", S_ISREG(st.st_mode), (long)st.st_nlink);
    EXPECT_ERR(linkat(AT_FDCWD, "sym", AT_FDCWD, "x", 0x8), EINVAL);

    /* Unlink while open: the data stays reachable through the fd. */
    EXPECT_RET(unlink("f"), 0);
    EXPECT_RET(unlink("hard"), 0);
    EXPECT_RET(unlink("followed"), 0);
    EXPECT_RET(fstat(fd, &st), 0);
    printf("nlink of the open, unlinked file: %ld\n", (long)st.st_nlink);
    EXPECT_RET(pread(fd, buf, 8, 0), 8);
    printf("still reads: %.7s\n", buf);
    close(fd);
    EXPECT_ERR(unlink("f"), ENOENT);
    EXPECT_RET(unlinkat(AT_FDCWD, "d", AT_REMOVEDIR), 0);

    /* access, chmod, chown, utimensat. */
    fd = open("m", O_CREAT | O_RDWR, 0600);
    EXPECT_RET(access("m", R_OK | W_OK), 0);
    EXPECT_ERR(access("m", 0x10), EINVAL);
    EXPECT_ERR(access("nope", F_OK), ENOENT);
    EXPECT_RET(faccessat(AT_FDCWD, "m", R_OK, AT_EACCESS), 0);
    EXPECT_RET(chmod("m", 04751), 0);
    EXPECT_RET(stat("m", &st), 0);
    printf("after chmod: %o\n", st.st_mode & 07777);
    EXPECT_RET(fchmod(fd, 0644), 0);
    EXPECT_RET(fstat(fd, &st), 0);
    printf("after fchmod: %o\n", st.st_mode & 07777);
    EXPECT_ERR(fchmod(9999, 0644), EBADF);
    EXPECT_ERR(chmod("nope", 0644), ENOENT);
    EXPECT_RET(fchmodat(AT_FDCWD, "m", 0600, 0), 0);
    EXPECT_RET(chown("m", 1234, 5678), 0);
    EXPECT_RET(stat("m", &st), 0);
    printf("after chown: %d %d\n", (int)st.st_uid, (int)st.st_gid);
    EXPECT_RET(fchown(fd, -1, 42), 0);
    EXPECT_RET(fstat(fd, &st), 0);
    printf("after fchown(-1, 42): %d %d\n", (int)st.st_uid, (int)st.st_gid);
    EXPECT_RET(lchown("sym", 7, 7), 0);
    EXPECT_RET(lstat("sym", &st), 0);
    printf("lchown changes the link: %d\n", (int)st.st_uid);
    struct timespec ts[2] = {{1000000000, 5}, {1200000000, 7}};
    EXPECT_RET(utimensat(AT_FDCWD, "m", ts, 0), 0);
    EXPECT_RET(stat("m", &st), 0);
    printf("times: atime %ld.%ld mtime %ld.%ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {99, 0}};
    EXPECT_RET(futimens(fd, omit), 0);
    EXPECT_RET(fstat(fd, &st), 0);
    printf("futimens omit atime: atime %ld mtime %ld\n", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
    struct timespec badts[2] = {{0, 2000000000}, {0, 0}};
    EXPECT_ERR(utimensat(AT_FDCWD, "m", badts, 0), EINVAL);
    EXPECT_ERR(utimensat(AT_FDCWD, "nope", NULL, 0), ENOENT);
    close(fd);

    const char *names[] = {"m", "sym", "dangling", "nowhere", "loop1", "loop2", "dsym", "symlink-itself", NULL};
    for (int i = 0; names[i]; i++)
        unlink(names[i]);
    chdir("/");
    EXPECT_RET(rmdir(dir), 0);
    return finish();
}
