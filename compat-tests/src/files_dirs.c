// files_dirs.c - mkdir/mkdirat/rmdir, getdents64 (through readdir), chdir/
// fchdir/getcwd, rename/renameat/renameat2 rules, unlink of directories.
#include "compat.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *path)
{
    DIR *d = opendir(path);
    check(d != NULL, "opendir(%s)", path);
    if (!d)
        return;
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("%s:", path);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(void)
{
    char dir[64] = "/tmp/compat-dirs-XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    check(chdir(dir) == 0, "chdir");
    char cwd[256];
    check(getcwd(cwd, sizeof cwd) != NULL && strcmp(cwd, dir) == 0, "getcwd names the directory");
    EXPECT_ERR(syscall(SYS_getcwd, cwd, 3), ERANGE);
    EXPECT_ERR(syscall(SYS_getcwd, bad_ptr_8, 256), EFAULT);

    EXPECT_RET(mkdir("d1", 0755), 0);
    EXPECT_RET(mkdir("d1/sub", 0700), 0);
    EXPECT_ERR(mkdir("d1", 0755), EEXIST);
    EXPECT_ERR(mkdir("nope/x", 0755), ENOENT);
    EXPECT_ERR(mkdir("", 0755), ENOENT);
    EXPECT_ERR(mkdir(bad_ptr_8, 0755), EFAULT);
    EXPECT_RET(mkdir("d2/", 0755), 0);
    int dfd = open("d1", O_RDONLY | O_DIRECTORY);
    EXPECT_RET(mkdirat(dfd, "sub2", 0755), 0);
    EXPECT_ERR(mkdirat(9999, "x", 0755), EBADF);
    int fd = open("file", O_CREAT | O_WRONLY, 0644);
    write(fd, "data", 4);
    close(fd);
    EXPECT_ERR(mkdir("file/x", 0755), ENOTDIR);
    EXPECT_ERR(mkdirat(open("file", O_RDONLY), "x", 0755), ENOTDIR);
    struct stat st;
    EXPECT_RET(stat("d1", &st), 0);
    printf("d1: dir %d, nlink %ld, perm %o\n", S_ISDIR(st.st_mode), (long)st.st_nlink, st.st_mode & 07777);
    EXPECT_RET(stat("d1/sub", &st), 0);
    printf("d1/sub: perm %o\n", st.st_mode & 07777);
    mode_t old = umask(077);
    printf("umask was %o\n", old);
    EXPECT_RET(mkdir("masked", 0777), 0);
    EXPECT_RET(stat("masked", &st), 0);
    printf("masked: perm %o\n", st.st_mode & 07777);
    umask(old);
    list(".");
    list("d1");

    /* chdir and fchdir. */
    EXPECT_RET(chdir("d1/sub"), 0);
    getcwd(cwd, sizeof cwd);
    printf("cwd ends with /d1/sub: %d\n", strlen(cwd) > 7 && strcmp(cwd + strlen(cwd) - 7, "/d1/sub") == 0);
    EXPECT_RET(chdir("../.."), 0);
    EXPECT_ERR(chdir("file"), ENOTDIR);
    EXPECT_ERR(chdir("nope"), ENOENT);
    EXPECT_RET(fchdir(dfd), 0);
    EXPECT_RET(access("sub2", F_OK), 0);
    EXPECT_RET(chdir(dir), 0);
    EXPECT_ERR(fchdir(9999), EBADF);

    /* rmdir and unlink rules. */
    EXPECT_ERR(rmdir("d1"), ENOTEMPTY);
    EXPECT_ERR(rmdir("file"), ENOTDIR);
    EXPECT_ERR(rmdir("d1/sub/."), EINVAL);
    EXPECT_ERR(rmdir("nope"), ENOENT);
    EXPECT_ERR(unlink("d1"), EISDIR);
    EXPECT_ERR(syscall(SYS_unlinkat, AT_FDCWD, "d1", 0x4), EINVAL);
    EXPECT_ERR(unlinkat(AT_FDCWD, "file", AT_REMOVEDIR), ENOTDIR);

    /* rename. */
    fd = open("other", O_CREAT | O_WRONLY, 0644);
    write(fd, "other", 5);
    close(fd);
    EXPECT_ERR(rename("file", "d2"), EISDIR);
    EXPECT_ERR(rename("d2", "file"), ENOTDIR);
    EXPECT_ERR(rename("d2", "d1"), ENOTEMPTY);
    EXPECT_ERR(rename("d1", "d1/sub/inside"), EINVAL);
    EXPECT_ERR(rename("nope", "x"), ENOENT);
    EXPECT_ERR(rename("file", "nope/x"), ENOENT);
    EXPECT_ERR(rename("file/", "x"), ENOTDIR);
#ifdef SYS_renameat2
    EXPECT_ERR(syscall(SYS_renameat2, AT_FDCWD, "file", AT_FDCWD, "other", 1), EEXIST);
    EXPECT_ERR(syscall(SYS_renameat2, AT_FDCWD, "file", AT_FDCWD, "other", 3), EINVAL);
    EXPECT_RET(syscall(SYS_renameat2, AT_FDCWD, "file", AT_FDCWD, "other", 2), 0);
    char b[8] = {0};
    fd = open("file", O_RDONLY);
    read(fd, b, 7);
    close(fd);
    printf("after exchange, file holds: %s\n", b);
    EXPECT_RET(syscall(SYS_renameat2, AT_FDCWD, "file", AT_FDCWD, "other", 2), 0);
#endif
    EXPECT_RET(rename("file", "other"), 0);
    EXPECT_ERR(access("file", F_OK), ENOENT);
    EXPECT_RET(rename("other", "other"), 0);
    EXPECT_RET(rename("d2", "d1/sub/moved"), 0);
    EXPECT_RET(renameat(dfd, "sub2", AT_FDCWD, "back"), 0);
    list(".");
    list("d1/sub");
    EXPECT_RET(stat("d1", &st), 0);
    printf("d1 nlink after moves: %ld\n", (long)st.st_nlink);

    /* A removed cwd. */
    EXPECT_RET(mkdir("gone", 0755), 0);
    EXPECT_RET(chdir("gone"), 0);
    EXPECT_RET(rmdir(dir + 0 == 0 ? "" : "../gone"), 0);
    EXPECT_ERR(syscall(SYS_getcwd, cwd, sizeof cwd), ENOENT);
    EXPECT_ERR(open("new", O_CREAT | O_RDWR, 0644), ENOENT);
    EXPECT_RET(chdir(dir), 0);

    /* Clean up. */
    rmdir("d1/sub/moved");
    rmdir("d1/sub");
    rmdir("d1");
    rmdir("back");
    rmdir("masked");
    unlink("other");
    chdir("/");
    EXPECT_RET(rmdir(dir), 0);
    return finish();
}
