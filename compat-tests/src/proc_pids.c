// proc_pids.c - /proc is per process for every process, not only the job's
// first: /proc/self, /proc/thread-self, /proc/self/{stat,status,cwd,exe} in a
// forked child and in a thread; the parent reads /proc/<child>/{stat,cmdline,
// exe} of a child that re-executed itself through /proc/self/exe, and the
// child's /proc entry goes once it is reaped; stat of /dev/fd/N of a pipe
// (bash's <(...)) is the pipe.
// args: parent
#include "compat.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static long link_number(const char *path)
{
    char buf[64];
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    return strtol(buf, NULL, 10);
}

/* Up to size-1 bytes of a file, NUL-terminated; the count, or -1. */
static int read_text(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int n = (int)read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return n > 0 ? n : -1;
}

/* Field `field` (1-based) of a /proc/<pid>/stat text, after "(comm)". */
static long stat_field(const char *path, int field, char *comm, size_t commsz)
{
    char buf[1024];
    if (read_text(path, buf, sizeof buf) < 0)
        return -1;
    char *open_ = strchr(buf, '('), *close_ = strrchr(buf, ')');
    if (!open_ || !close_)
        return -1;
    if (comm) {
        size_t len = (size_t)(close_ - open_ - 1) < commsz - 1 ? (size_t)(close_ - open_ - 1) : commsz - 1;
        memcpy(comm, open_ + 1, len);
        comm[len] = 0;
    }
    if (field == 1)
        return strtol(buf, NULL, 10);
    char *p = close_ + 2; /* field 3 starts here */
    for (int f = 3; f < field; f++) {
        p = strchr(p, ' ');
        if (!p)
            return -1;
        p++;
    }
    return field == 3 ? *p : strtol(p, NULL, 10);
}

static long status_value(const char *path, const char *key)
{
    char buf[4096];
    if (read_text(path, buf, sizeof buf) < 0)
        return -1;
    char *p = strstr(buf, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}


static void *in_thread(void *arg)
{
    (void)arg;
    char want[64];
    long tid = syscall(SYS_gettid);
    snprintf(want, sizeof want, "%ld/task/%ld", (long)getpid(), tid);
    char got[64] = "";
    ssize_t n = readlink("/proc/thread-self", got, sizeof got - 1);
    if (n > 0)
        got[n] = 0;
    return (void *)(long)(strcmp(got, want) == 0 && link_number("/proc/self") == getpid());
}

/* The re-executed child: tells the parent it runs, then waits for its word. */
static int child_main(int ready, int go)
{
    char c = 'r';
    if (write(ready, &c, 1) != 1)
        return 2;
    return read(go, &c, 1) == 1 ? 0 : 3;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "child") == 0)
        return child_main(atoi(argv[2]), atoi(argv[3]));

    char self_exe[4096];
    ssize_t en = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    check(en > 0, "readlink(/proc/self/exe) in the first process");
    self_exe[en > 0 ? en : 0] = 0;
    check(link_number("/proc/self") == getpid(), "/proc/self names the first process");

    /* A forked child sees itself. */
    int p[2];
    EXPECT_RET(pipe(p), 0);
    pid_t c = fork();
    if (c == 0) {
        int ok = link_number("/proc/self") == getpid();
        ok &= stat_field("/proc/self/stat", 1, NULL, 0) == getpid();
        ok &= stat_field("/proc/self/stat", 4, NULL, 0) == getppid();
        ok &= status_value("/proc/self/status", "\nPid:\t") == getpid();
        ok &= status_value("/proc/self/status", "\nPPid:\t") == getppid();
        if (chdir("/tmp") == 0) {
            char cwd[256] = "";
            ssize_t n = readlink("/proc/self/cwd", cwd, sizeof cwd - 1);
            if (n > 0)
                cwd[n] = 0;
            ok &= strcmp(cwd, "/tmp") == 0;
        } else {
            ok = 0;
        }
        char exe[4096] = "";
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0)
            exe[n] = 0;
        ok &= strcmp(exe, self_exe) == 0;
        pthread_t t;
        void *tok = NULL;
        ok &= pthread_create(&t, NULL, in_thread, NULL) == 0 && pthread_join(t, &tok) == 0 && tok == (void *)1;
        char c1 = ok ? 'y' : 'n';
        if (write(p[1], &c1, 1) != 1)
            _exit(3);
        _exit(0);
    }
    char got = 0;
    EXPECT_RET(read(p[0], &got, 1), 1);
    check(got == 'y', "a forked child's /proc/self: itself (stat, status, cwd after chdir, exe, thread-self in a thread)");
    int st = -1;
    check(waitpid(c, &st, 0) == c, "waitpid for the child");
    close(p[0]);
    close(p[1]);

    /* A child that re-executed itself through /proc/self/exe, seen by its parent. */
    int ready[2], go[2];
    EXPECT_RET(pipe(ready), 0);
    EXPECT_RET(pipe(go), 0);
    c = fork();
    if (c == 0) {
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", ready[1]);
        snprintf(b, sizeof b, "%d", go[0]);
        char *args[] = { "proc-pids-child", "child", a, b, NULL };
        char *env[] = { NULL };
        execve("/proc/self/exe", args, env);
        _exit(127);
    }
    EXPECT_RET(read(ready[0], &got, 1), 1);
    char path[64], comm[64] = "";
    snprintf(path, sizeof path, "/proc/%d/stat", c);
    check(stat_field(path, 1, comm, sizeof comm) == c, "the parent reads /proc/<child>/stat: the child's pid");
    check(stat_field(path, 4, NULL, 0) == getpid(), "... its parent is us");
    printf("child's comm (the basename execve was given): %s\n", comm);
    snprintf(path, sizeof path, "/proc/%d/cmdline", c);
    char cmd[256];
    int n = read_text(path, cmd, sizeof cmd);
    check(n > 0 && memcmp(cmd, "proc-pids-child\0child\0", 22) == 0, "/proc/<child>/cmdline is the argv it was exec'd with");
    snprintf(path, sizeof path, "/proc/%d/exe", c);
    char exe[4096] = "";
    ssize_t xn = readlink(path, exe, sizeof exe - 1);
    if (xn > 0)
        exe[xn] = 0;
    check(strcmp(exe, self_exe) == 0, "/proc/<child>/exe is this program");
    snprintf(path, sizeof path, "/proc/%d", c);
    struct stat sb;
    EXPECT_RET(stat(path, &sb), 0);
    check(S_ISDIR(sb.st_mode), "/proc/<child> is a directory");
    EXPECT_RET(write(go[1], "g", 1), 1);
    check(waitpid(c, &st, 0) == c, "waitpid for the child");
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child exited 0");
    EXPECT_ERR(stat(path, &sb), ENOENT);

    /* stat of /dev/fd/N for a pipe is the pipe (bash's <(...)). */
    int q[2];
    EXPECT_RET(pipe(q), 0);
    char fdpath[32];
    snprintf(fdpath, sizeof fdpath, "/dev/fd/%d", q[0]);
    struct stat viapath, viafd;
    EXPECT_RET(stat(fdpath, &viapath), 0);
    EXPECT_RET(fstat(q[0], &viafd), 0);
    check(S_ISFIFO(viapath.st_mode), "stat(/dev/fd/N) of a pipe says FIFO");
    check(viapath.st_ino == viafd.st_ino, "... the same inode as fstat");
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", q[1]);
    EXPECT_RET(stat(fdpath, &viapath), 0);
    check(S_ISFIFO(viapath.st_mode), "stat(/proc/self/fd/N) too");
    return finish();
}
