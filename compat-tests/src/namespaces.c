// namespaces.c - mount, UTS and time namespaces: /proc/self/ns links
// ("uts:[N]", N the file's inode number), unshare(CLONE_NEWUTS) with its own
// host name and setns back through a saved ns file, unshare(CLONE_NEWNS) (a
// tmpfs mounted in the copy is not seen outside it), unshare(CLONE_NEWTIME)
// and /proc/self/timens_offsets (the children's clocks offset, the
// caller's not; offsets fixed once entered), setns's EBADF and EINVAL.
#include "compat.h"
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

static unsigned long long link_number(const char *name, const char *type)
{
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/self/ns/%s", name);
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    size_t t = strlen(type);
    if (strncmp(buf, type, t) != 0 || buf[t] != ':' || buf[t + 1] != '[' || buf[n - 1] != ']')
        return 0;
    return strtoull(buf + t + 2, NULL, 10);
}

static long long mono_ms(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static int wait_child(pid_t pid)
{
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

int main(void)
{
    const char *names[] = { "mnt", "uts", "time", "time_for_children" };
    const char *types[] = { "mnt", "uts", "time", "time" };
    for (int i = 0; i < 4; i++) {
        unsigned long long id = link_number(names[i], types[i]);
        char path[64];
        struct stat st;
        snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
        check(id != 0, "/proc/self/ns/%s reads %s:[N]", names[i], types[i]);
        check(stat(path, &st) == 0 && st.st_ino == id, "stat of ns/%s: st_ino is N", names[i]);
    }
    check(link_number("time", "time") == link_number("time_for_children", "time"), "time_for_children is time at first");

    int uts0 = open("/proc/self/ns/uts", O_RDONLY);
    int time0 = open("/proc/self/ns/time", O_RDONLY);
    check(uts0 >= 0 && time0 >= 0, "ns files open");
    EXPECT_ERR(syscall(SYS_setns, -1, 0), EBADF);
    EXPECT_ERR(syscall(SYS_setns, 1, 0), EINVAL);
    EXPECT_ERR(syscall(SYS_setns, uts0, CLONE_NEWNS), EINVAL);
    EXPECT_ERR(syscall(SYS_setns, uts0, -1), EINVAL);
    EXPECT_ERR(read(uts0, (char[8]){ 0 }, 8), EINVAL);

    /* UTS: a child with its own host name, then back. */
    struct utsname u0, u;
    uname(&u0);
    pid_t pid = fork();
    if (pid == 0) {
        unsigned long long before = link_number("uts", "uts");
        if (unshare(CLONE_NEWUTS) != 0)
            _exit(2);
        check(link_number("uts", "uts") != before, "a new UTS namespace");
        EXPECT_RET(sethostname("inner-ns", 8), 0);
        uname(&u);
        check(strcmp(u.nodename, "inner-ns") == 0, "uname in the new namespace: inner-ns");
        EXPECT_RET(syscall(SYS_setns, uts0, CLONE_NEWUTS), 0);
        uname(&u);
        check(strcmp(u.nodename, u0.nodename) == 0, "setns back: the first name");
        check(link_number("uts", "uts") == before, "ns/uts names the first again");
        fflush(stdout);
        _exit(compat_failed ? 1 : 0);
    }
    EXPECT_RET(wait_child(pid), 0);
    uname(&u);
    check(strcmp(u.nodename, u0.nodename) == 0, "the parent's host name is unchanged");

    /* Mount: a tmpfs in a child's copy of the table. */
    mkdir("nsmnt", 0755);
    pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0)
            _exit(2);
        EXPECT_RET(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
        EXPECT_RET(mount("tmpfs", "nsmnt", "tmpfs", 0, "size=64k"), 0);
        int fd = open("nsmnt/inside", O_CREAT | O_WRONLY, 0644);
        check(fd >= 0, "a file on the child's tmpfs");
        close(fd);
        check(access("nsmnt/inside", F_OK) == 0, "the child sees it");
        fflush(stdout);
        _exit(compat_failed ? 1 : 0);
    }
    EXPECT_RET(wait_child(pid), 0);
    check(access("nsmnt/inside", F_OK) != 0 && errno == ENOENT, "the parent does not");
    rmdir("nsmnt");

    /* Time: offsets for the children. */
    EXPECT_RET(unshare(CLONE_NEWTIME), 0);
    check(link_number("time", "time") != link_number("time_for_children", "time"), "unshare moves only time_for_children");
    int off = open("/proc/self/timens_offsets", O_WRONLY);
    check(off >= 0, "timens_offsets opens for writing");
    EXPECT_ERR(write(off, "0 10 0", 6), EINVAL);
    EXPECT_ERR(write(off, "1 10 1000000000", 15), EINVAL);
    EXPECT_RET(write(off, "1 100 0", 7), 7);
    EXPECT_RET(write(off, "boottime 200 0", 14), 14);
    close(off);
    char text[128] = { 0 };
    int rd = open("/proc/self/timens_offsets", O_RDONLY);
    ssize_t n = read(rd, text, sizeof text - 1);
    close(rd);
    check(n > 0 && strcmp(text, "monotonic         100         0\nboottime          200         0\n") == 0, "timens_offsets reads back");
    long long m0 = mono_ms(CLOCK_MONOTONIC), b0 = mono_ms(CLOCK_BOOTTIME);
    pid = fork();
    if (pid == 0) {
        long long m1 = mono_ms(CLOCK_MONOTONIC), b1 = mono_ms(CLOCK_BOOTTIME);
        long long c1 = mono_ms(CLOCK_MONOTONIC_COARSE);
        check(m1 - m0 >= 100000 && m1 - m0 < 105000, "the child's CLOCK_MONOTONIC is 100 s ahead");
        check(b1 - b0 >= 200000 && b1 - b0 < 205000, "its CLOCK_BOOTTIME 200 s");
        check(c1 - m0 >= 99000 && c1 - m0 < 105000, "its CLOCK_MONOTONIC_COARSE too");
        check(link_number("time", "time") == link_number("time_for_children", "time"), "the child is in the new namespace");
        int w = open("/proc/self/timens_offsets", O_WRONLY);
        EXPECT_ERR(write(w, "1 5 0", 5), EACCES);
        close(w);
        struct timespec abs;
        clock_gettime(CLOCK_MONOTONIC, &abs);
        abs.tv_nsec += 20000000;
        if (abs.tv_nsec >= 1000000000) {
            abs.tv_sec++;
            abs.tv_nsec -= 1000000000;
        }
        long long s0 = mono_ms(CLOCK_MONOTONIC);
        EXPECT_RET(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL), 0);
        long long slept = mono_ms(CLOCK_MONOTONIC) - s0;
        check(slept >= 15 && slept < 5000, "an absolute sleep on the offset clock takes its time (%s)", slept >= 15 && slept < 5000 ? "yes" : "no");
        EXPECT_RET(syscall(SYS_setns, time0, CLONE_NEWTIME), 0);
        long long m2 = mono_ms(CLOCK_MONOTONIC);
        check(m2 - m0 < 5000, "setns back: the node's clock again");
        fflush(stdout);
        _exit(compat_failed ? 1 : 0);
    }
    EXPECT_RET(wait_child(pid), 0);
    check(mono_ms(CLOCK_MONOTONIC) - m0 < 5000, "the parent's clock is not offset");
    off = open("/proc/self/timens_offsets", O_WRONLY);
    EXPECT_ERR(write(off, "1 5 0", 5), EACCES);
    close(off);
    return finish();
}
