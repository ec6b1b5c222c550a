// xattr.c - extended attributes where SiON's tmpfs and the host's file
// system agree: an ordinary file has none (empty lists, ENODATA), and the
// errors Linux gives before any file system is asked (flags, names, sizes,
// paths, descriptors, permissions). Whether a set succeeds depends on the
// file system and is not printed. FS_IOC_GETFLAGS/SETFLAGS round-trip.
#include "compat.h"
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#define GETFLAGS _IOR('f', 1, long)
#define SETFLAGS _IOW('f', 2, long)

int main(void)
{
    char buf[256];
    unlink("xa");
    unlink("xl");
    rmdir("xd");
    int fd = open("xa", O_RDWR | O_CREAT | O_TRUNC, 0644);
    check(fd >= 0, "create xa");
    check(symlink("xa", "xl") == 0, "symlink xl -> xa");
    check(mkdir("xd", 0755) == 0, "mkdir xd");

    /* Nothing there. */
    EXPECT_RET(listxattr("xa", buf, sizeof buf), 0);
    EXPECT_RET(listxattr("xa", NULL, 0), 0);
    EXPECT_RET(llistxattr("xl", buf, sizeof buf), 0);
    EXPECT_RET(flistxattr(fd, buf, sizeof buf), 0);
    EXPECT_RET(listxattr("xd", buf, sizeof buf), 0);
    EXPECT_ERR(getxattr("xa", "user.none", buf, sizeof buf), ENODATA);
    EXPECT_ERR(getxattr("xa", "user.none", NULL, 0), ENODATA);
    EXPECT_ERR(lgetxattr("xl", "user.none", buf, sizeof buf), ENODATA);
    EXPECT_ERR(fgetxattr(fd, "user.none", buf, sizeof buf), ENODATA);
    EXPECT_ERR(getxattr("xd", "user.none", buf, sizeof buf), ENODATA);
    EXPECT_ERR(getxattr("xa", "trusted.none", buf, sizeof buf), ENODATA);
    EXPECT_ERR(getxattr("xa", "security.none", buf, sizeof buf), ENODATA);
    EXPECT_ERR(getxattr("xa", "system.posix_acl_access", buf, sizeof buf), ENODATA);
    EXPECT_ERR(getxattr("xa", "nonamespace", buf, sizeof buf), EOPNOTSUPP);
    EXPECT_ERR(removexattr("xa", "user.none"), ENODATA);
    EXPECT_ERR(fremovexattr(fd, "user.none"), ENODATA);
    EXPECT_ERR(removexattr("xa", "nonamespace"), EOPNOTSUPP);
    /* user.* on a symlink itself: nothing to read, nothing to write. */
    EXPECT_ERR(lsetxattr("xl", "user.x", "v", 1, 0), EPERM);
    EXPECT_ERR(lremovexattr("xl", "user.x"), EPERM);

    /* Errors before the file system: flags, names, sizes, pointers. */
    EXPECT_ERR(setxattr("xa", "user.x", "v", 1, 4), EINVAL);
    EXPECT_ERR(setxattr("xa", "", "v", 1, 0), ERANGE);
    EXPECT_ERR(getxattr("xa", "", buf, sizeof buf), ERANGE);
    EXPECT_ERR(removexattr("xa", ""), ERANGE);
    char longname[300];
    memset(longname, 'a', sizeof longname);
    memcpy(longname, "user.", 5);
    longname[299] = 0;
    EXPECT_ERR(getxattr("xa", longname, buf, sizeof buf), ERANGE);
    EXPECT_ERR(setxattr("xa", longname, "v", 1, 0), ERANGE);
    static char big[70000];
    EXPECT_ERR(setxattr("xa", "user.x", big, sizeof big, 0), E2BIG);
    EXPECT_ERR(setxattr("xa", "user.x", bad_ptr_8, 4, 0), EFAULT);
    EXPECT_ERR(getxattr("xa", bad_ptr_8, buf, sizeof buf), EFAULT);
    EXPECT_ERR(getxattr(bad_ptr_8, "user.x", buf, sizeof buf), EFAULT);
    EXPECT_ERR(listxattr(bad_ptr_8, buf, sizeof buf), EFAULT);
    EXPECT_RET(listxattr("xa", bad_ptr_8, 16), 0);
    EXPECT_ERR(getxattr("missing", "user.x", buf, sizeof buf), ENOENT);
    EXPECT_ERR(listxattr("missing", buf, sizeof buf), ENOENT);
    EXPECT_ERR(setxattr("missing", "user.x", "v", 1, 0), ENOENT);
    EXPECT_ERR(removexattr("missing", "user.x"), ENOENT);
    EXPECT_ERR(getxattr("xa/sub", "user.x", buf, sizeof buf), ENOTDIR);
    EXPECT_ERR(fgetxattr(99, "user.x", buf, sizeof buf), EBADF);
    EXPECT_ERR(flistxattr(99, buf, sizeof buf), EBADF);
    EXPECT_ERR(fsetxattr(99, "user.x", "v", 1, 0), EBADF);
    EXPECT_ERR(fremovexattr(99, "user.x"), EBADF);
    int pfd = open("xa", O_PATH);
    check(pfd >= 0, "O_PATH descriptor");
    EXPECT_ERR(fgetxattr(pfd, "user.x", buf, sizeof buf), EBADF);
    EXPECT_ERR(flistxattr(pfd, buf, sizeof buf), EBADF);
    close(pfd);
    /* A set either works or is refused; what follows it is not printed. */
    int s = setxattr("xa", "user.x", "v", 1, 0);
    check(s == 0 || errno == EOPNOTSUPP, "setxattr user.x: stored or EOPNOTSUPP");
    if (s == 0)
        removexattr("xa", "user.x");

    /* Inode flags. */
    int flags = -1;
    EXPECT_RET(ioctl(fd, GETFLAGS, &flags), 0);
    check(flags != -1, "FS_IOC_GETFLAGS wrote the flags");
    EXPECT_RET(ioctl(fd, SETFLAGS, &flags), 0);
    int dfd = open("xd", O_RDONLY | O_DIRECTORY);
    EXPECT_RET(ioctl(dfd, GETFLAGS, &flags), 0);
    close(dfd);
    EXPECT_ERR(ioctl(fd, GETFLAGS, bad_ptr_8), EFAULT);
    int p[2];
    check(pipe(p) == 0, "pipe");
    EXPECT_ERR(ioctl(p[0], GETFLAGS, &flags), ENOTTY);
    EXPECT_ERR(fgetxattr(p[0], "user.x", buf, sizeof buf), ENODATA);
    EXPECT_ERR(fsetxattr(p[0], "user.x", "v", 1, 0), EPERM);
    EXPECT_RET(flistxattr(p[0], buf, sizeof buf), 0);

    if (getuid() == 0) {
        /* Without root: permissions and trusted.*. */
        check(chmod("xa", 0600) == 0, "chmod 0600");
        fflush(stdout);
        pid_t c = fork();
        if (c == 0) {
            check(setuid(65534) == 0, "setuid(65534)");
            EXPECT_ERR(getxattr("xa", "user.x", buf, sizeof buf), EACCES);
            EXPECT_ERR(setxattr("xa", "user.x", "v", 1, 0), EACCES);
            EXPECT_ERR(getxattr("xa", "trusted.x", buf, sizeof buf), ENODATA);
            EXPECT_ERR(setxattr("xa", "trusted.x", "v", 1, 0), EPERM);
            EXPECT_RET(listxattr("xa", buf, sizeof buf), 0);
            int ff = 0;
            EXPECT_ERR(ioctl(fd, SETFLAGS, &ff), EPERM);
            fflush(stdout);
            _exit(finish());
        }
        int st = 0;
        check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "unprivileged child passed");
    }
    close(fd);
    unlink("xl");
    unlink("xa");
    rmdir("xd");
    return finish();
}
