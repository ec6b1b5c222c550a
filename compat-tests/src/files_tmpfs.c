// files_tmpfs.c - what a tmpfs (/dev/shm) file system and running programs
// add to files: O_TMPFILE's unnamed files (linked through /proc/self/fd/N or
// AT_EMPTY_PATH unless O_EXCL, and the flags' errors); ETXTBSY both ways (a
// running program's file opened for writing or truncated, a file open for
// writing executed); inode flags FS_IMMUTABLE_FL and FS_APPEND_FL and what
// they forbid; SEEK_DATA and SEEK_HOLE over page-sized holes, and
// FALLOC_FL_PUNCH_HOLE.
#define _GNU_SOURCE
#include "compat.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#define GETFLAGS _IOR('f', 1, long)
#define SETFLAGS _IOW('f', 2, long)
#define IMMUTABLE 0x10
#define APPEND 0x20
#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_KEEP_SIZE 1
#define FALLOC_FL_PUNCH_HOLE 2
#endif

static char dir[64];
static char path[128];

static const char *at(const char *name)
{
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static int entries(const char *d)
{
    DIR *dp = opendir(d);
    int n = 0;
    struct dirent *e;
    while (dp && (e = readdir(dp)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (dp)
        closedir(dp);
    return n;
}

static int setflags(int fd, int f)
{
    return ioctl(fd, SETFLAGS, &f);
}

static void tmpfile_(void)
{
    umask(022);
    int fd = open(dir, O_TMPFILE | O_RDWR, 0666);
    check(fd >= 0, "O_TMPFILE | O_RDWR in a tmpfs directory");
    struct stat st;
    EXPECT_RET(write(fd, "unnamed", 7), 7);
    EXPECT_RET(fstat(fd, &st), 0);
    check(st.st_nlink == 0 && st.st_size == 7 && (st.st_mode & 07777) == 0644, "no name, 7 bytes, mode 0644 (umask)");
    check(entries(dir) == 0, "the directory lists nothing");
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    EXPECT_RET(linkat(AT_FDCWD, proc, AT_FDCWD, at("named"), AT_SYMLINK_FOLLOW), 0);
    EXPECT_RET(stat(at("named"), &st), 0);
    check(st.st_nlink == 1 && st.st_size == 7, "linked: one name, its bytes");
    EXPECT_ERR(linkat(AT_FDCWD, proc, AT_FDCWD, at("named"), AT_SYMLINK_FOLLOW), EEXIST);
    EXPECT_RET(unlink(at("named")), 0);
    EXPECT_RET(close(fd), 0);

    fd = open(dir, O_TMPFILE | O_WRONLY, 0600);
    check(fd >= 0, "O_TMPFILE | O_WRONLY");
    EXPECT_RET(linkat(fd, "", AT_FDCWD, at("empty_path"), AT_EMPTY_PATH), 0);
    EXPECT_RET(unlink(at("empty_path")), 0);
    EXPECT_RET(close(fd), 0);

    fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600);
    check(fd >= 0, "O_TMPFILE | O_EXCL");
    EXPECT_ERR(linkat(fd, "", AT_FDCWD, at("excl"), AT_EMPTY_PATH), ENOENT);
    EXPECT_RET(close(fd), 0);
    check(entries(dir) == 0, "nothing left behind");

    EXPECT_ERR(open(dir, O_TMPFILE | O_RDONLY, 0600), EINVAL);
    EXPECT_ERR(open(dir, O_TMPFILE | O_RDWR | O_CREAT, 0600), EINVAL);
    EXPECT_ERR(open(dir, (O_TMPFILE & ~O_DIRECTORY) | O_RDWR, 0600), EINVAL);
    int reg = open(at("reg"), O_CREAT | O_RDWR, 0600);
    EXPECT_ERR(open(at("reg"), O_TMPFILE | O_RDWR, 0600), ENOTDIR);
    EXPECT_ERR(open(at("none"), O_TMPFILE | O_RDWR, 0600), ENOENT);
    EXPECT_ERR(open("/proc", O_TMPFILE | O_RDWR, 0600), EOPNOTSUPP);
    close(reg);
    unlink(at("reg"));
}

static void text_busy(const char *self)
{
    /* A copy of this program, run while open for writing and written while run. */
    int in = open(self, O_RDONLY), out = open("busy_copy", O_CREAT | O_TRUNC | O_WRONLY, 0755);
    check(in >= 0 && out >= 0, "copy this program");
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        check(write(out, buf, n) == n, "copy");
    close(in);
    char *argv[] = {"busy_copy", "child", NULL};
    char *envp[] = {NULL};
    EXPECT_ERR(execve("./busy_copy", argv, envp), ETXTBSY);
    close(out);

    int p[2];
    check(pipe(p) == 0, "pipe");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        dup2(p[0], 0);
        close(p[1]);
        execve("./busy_copy", argv, envp);
        _exit(99);
    }
    close(p[0]);
    /* The child waits on its stdin; wait until it runs the copy. */
    char exe[256];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)c);
    for (int i = 0; i < 2000; i++) {
        ssize_t l = readlink(path, exe, sizeof exe - 1);
        if (l > 0 && l >= 9 && memcmp(exe + l - 9, "busy_copy", 9) == 0)
            break;
        usleep(1000);
    }
    EXPECT_ERR(open("busy_copy", O_WRONLY), ETXTBSY);
    EXPECT_ERR(open("busy_copy", O_RDWR | O_TRUNC), ETXTBSY);
    EXPECT_ERR(truncate("busy_copy", 0), ETXTBSY);
    int r = open("busy_copy", O_RDONLY);
    check(r >= 0, "open for reading while it runs");
    close(r);
    close(p[1]);
    int st = 0;
    check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 7, "the copy ran and exited 7");
    int w = open("busy_copy", O_WRONLY);
    check(w >= 0, "open for writing once it ended");
    close(w);
    unlink("busy_copy");
}

static void inode_flags(void)
{
    int fd = open(at("frozen"), O_CREAT | O_RDWR, 0644);
    int f = -1;
    check(fd >= 0, "create frozen");
    EXPECT_RET(ioctl(fd, GETFLAGS, &f), 0);
    check(f == 0, "a new file has no flags");
    EXPECT_RET(setflags(fd, IMMUTABLE), 0);
    EXPECT_RET(ioctl(fd, GETFLAGS, &f), 0);
    check(f == IMMUTABLE, "FS_IMMUTABLE_FL set");
    EXPECT_ERR(open(at("frozen"), O_WRONLY), EPERM);
    EXPECT_ERR(open(at("frozen"), O_RDONLY | O_TRUNC), EPERM);
    int r = open(at("frozen"), O_RDONLY);
    check(r >= 0, "an immutable file opens for reading");
    close(r);
    EXPECT_ERR(unlink(at("frozen")), EPERM);
    char other[128];
    snprintf(other, sizeof other, "%s/moved", dir);
    EXPECT_ERR(rename(at("frozen"), other), EPERM);
    EXPECT_ERR(link(at("frozen"), other), EPERM);
    EXPECT_ERR(truncate(at("frozen"), 0), EPERM);
    EXPECT_ERR(chmod(at("frozen"), 0600), EPERM);
    EXPECT_ERR(chown(at("frozen"), 1, 1), EPERM);
    EXPECT_RET(chown(at("frozen"), -1, -1), 0);
    EXPECT_ERR(utimes(at("frozen"), NULL), EPERM);
    EXPECT_ERR(fallocate(fd, 0, 0, 4096), EPERM);
    EXPECT_ERR(setflags(fd, 0x1000), EOPNOTSUPP);

    EXPECT_RET(setflags(fd, APPEND), 0);
    EXPECT_ERR(open(at("frozen"), O_WRONLY), EPERM);
    EXPECT_ERR(open(at("frozen"), O_WRONLY | O_APPEND | O_TRUNC), EPERM);
    int a = open(at("frozen"), O_WRONLY | O_APPEND);
    check(a >= 0, "an append-only file opens to append");
    EXPECT_RET(write(a, "more", 4), 4);
    EXPECT_ERR(fcntl(a, F_SETFL, 0), EPERM);
    EXPECT_ERR(ftruncate(a, 0), EPERM);
    EXPECT_ERR(unlink(at("frozen")), EPERM);
    EXPECT_ERR(chmod(at("frozen"), 0600), EPERM);
    EXPECT_RET(utimes(at("frozen"), NULL), 0);
    close(a);
    EXPECT_RET(setflags(fd, 0), 0);
    EXPECT_RET(close(fd), 0);
    EXPECT_RET(unlink(at("frozen")), 0);

    /* Directories: immutable takes no names, append-only keeps its own. */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    EXPECT_RET(mkdir(sub, 0755), 0);
    int d = open(sub, O_RDONLY | O_DIRECTORY);
    EXPECT_RET(setflags(d, IMMUTABLE), 0);
    snprintf(other, sizeof other, "%s/sub/x", dir);
    EXPECT_ERR(open(other, O_CREAT | O_WRONLY, 0600), EPERM);
    EXPECT_ERR(mkdir(other, 0755), EPERM);
    EXPECT_RET(setflags(d, APPEND), 0);
    int x = open(other, O_CREAT | O_WRONLY, 0600);
    check(x >= 0, "an append-only directory takes a new name");
    close(x);
    EXPECT_ERR(unlink(other), EPERM);
    EXPECT_ERR(rmdir(sub), EPERM);
    EXPECT_RET(setflags(d, 0), 0);
    close(d);
    EXPECT_RET(unlink(other), 0);
    EXPECT_RET(rmdir(sub), 0);
}

static void holes(void)
{
    int fd = open(at("sparse"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    check(fd >= 0, "create sparse");
    EXPECT_RET(ftruncate(fd, 40960), 0);
    EXPECT_ERR(lseek(fd, 0, SEEK_DATA), ENXIO);
    EXPECT_RET(lseek(fd, 0, SEEK_HOLE), 0);
    EXPECT_RET(pwrite(fd, "a", 1, 100), 1);
    EXPECT_RET(pwrite(fd, "b", 1, 20480 + 7), 1);
    EXPECT_RET(lseek(fd, 0, SEEK_DATA), 0);
    EXPECT_RET(lseek(fd, 50, SEEK_DATA), 50);
    EXPECT_RET(lseek(fd, 0, SEEK_HOLE), 4096);
    EXPECT_RET(lseek(fd, 4096, SEEK_DATA), 20480);
    EXPECT_RET(lseek(fd, 20490, SEEK_HOLE), 24576);
    EXPECT_ERR(lseek(fd, 24576, SEEK_DATA), ENXIO);
    EXPECT_RET(lseek(fd, 40000, SEEK_HOLE), 40000);
    EXPECT_ERR(lseek(fd, 40960, SEEK_HOLE), ENXIO);
    EXPECT_ERR(lseek(fd, 40960, SEEK_DATA), ENXIO);
    EXPECT_ERR(lseek(fd, -1, SEEK_DATA), ENXIO);
    EXPECT_RET(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 20480, 4096), 0);
    EXPECT_ERR(lseek(fd, 4096, SEEK_DATA), ENXIO);
    char c = 1;
    EXPECT_RET(pread(fd, &c, 1, 20480 + 7), 1);
    check(c == 0, "a punched hole reads zeros");
    struct stat st;
    EXPECT_RET(fstat(fd, &st), 0);
    check(st.st_size == 40960, "the size stays");
    /* A write into the last page makes it data, up to the end. */
    EXPECT_RET(pwrite(fd, "z", 1, 40959), 1);
    EXPECT_RET(lseek(fd, 4096, SEEK_DATA), 36864);
    EXPECT_RET(lseek(fd, 36864, SEEK_HOLE), 40960);
    close(fd);
    unlink(at("sparse"));
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        char b;
        while (read(0, &b, 1) > 0)
            ;
        return 7;
    }
    snprintf(dir, sizeof dir, "/dev/shm/compat-files-tmpfs-%d", (int)getpid());
    check(mkdir(dir, 0755) == 0, "mkdir a directory in /dev/shm");
    tmpfile_();
    text_busy("/proc/self/exe");
    inode_flags();
    holes();
    check(rmdir(dir) == 0, "rmdir it");
    return finish();
}
