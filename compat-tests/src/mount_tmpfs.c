// mount_tmpfs.c - mount(2) of tmpfs over a directory and umount2: a new,
// empty file system of its own (st_dev, statfs), hiding what was there until
// unmounted; size= as ENOSPC; `..` out of it; EBUSY while a file or the
// working directory is in it, MNT_DETACH, MNT_EXPIRE; MS_REMOUNT|MS_RDONLY
// and EROFS for every change; MS_NOEXEC; /proc/self/mounts and mountinfo;
// ENODEV, EINVAL, EPERM. Needs root: without it, says so and passes.
// On the host it runs in a private mount namespace, so nothing is left
// mounted there whatever happens.
#include "compat.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <sys/wait.h>

#define TMPFS_MAGIC 0x01021994
#define ST_RDONLY 1

static char dir[64];
static char paths[2][128];

/* DIR/NAME, in one of two buffers taken in turn (two in one call). */
static const char *at(const char *name)
{
    static int turn;
    char *p = paths[turn++ & 1];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

static int listed(const char *file, const char *needle)
{
    FILE *f = fopen(file, "r");
    char line[1024];
    int found = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, dir) && strstr(line, needle))
            found = 1;
    fclose(f);
    return found;
}

static void basics(void)
{
    struct stat parent, before, st;
    struct statfs sf;
    EXPECT_RET(stat("/tmp", &parent), 0);
    EXPECT_RET(stat(dir, &before), 0);
    int fd = open(at("under"), O_CREAT | O_WRONLY, 0644);
    check(fd >= 0, "a file under the mount point");
    close(fd);
    EXPECT_RET(mount("none", dir, "tmpfs", 0, "size=64k,mode=755"), 0);
    EXPECT_RET(stat(dir, &st), 0);
    check(st.st_dev != before.st_dev, "the mount has its own st_dev");
    check(st.st_mode == (S_IFDIR | 0755), "its root has mode= (%o)", st.st_mode);
    EXPECT_ERR(access(at("under"), F_OK), ENOENT);
    EXPECT_RET(statfs(dir, &sf), 0);
    check(sf.f_type == TMPFS_MAGIC, "statfs: TMPFS_MAGIC");
    check(sf.f_bsize == 4096 && sf.f_blocks == 16, "statfs: 16 blocks of 4096 (size=64k)");
    check(sf.f_blocks == sf.f_bfree, "statfs: all free");
    check(listed("/proc/self/mounts", " tmpfs rw,relatime,size=64k,mode=755 0 0"), "/proc/self/mounts lists it");
    check(listed("/proc/self/mountinfo", " - tmpfs none rw,size=64k,mode=755"), "/proc/self/mountinfo lists it");

    /* size=: ENOSPC past 64 KiB. */
    static char buf[65536];
    memset(buf, 'x', sizeof buf);
    fd = open(at("big"), O_CREAT | O_RDWR, 0644);
    EXPECT_RET(write(fd, buf, sizeof buf), 65536);
    EXPECT_ERR(write(fd, buf, 1), ENOSPC);
    EXPECT_RET(ftruncate(fd, 0), 0);
    close(fd);
    EXPECT_RET(unlink(at("big")), 0);

    /* Across: EXDEV; `..` of its root is the mount point's parent. */
    EXPECT_ERR(rename(at("x"), "/tmp/x"), EXDEV);
    fd = open(at("f"), O_CREAT | O_WRONLY, 0644);
    close(fd);
    EXPECT_ERR(link(at("f"), "/tmp/mount_tmpfs_link"), EXDEV);
    EXPECT_RET(mkdir(at("sub"), 0755), 0);
    EXPECT_RET(chdir(at("sub")), 0);
    EXPECT_RET(stat("../..", &st), 0);
    check(st.st_dev == parent.st_dev && st.st_ino == parent.st_ino, "../.. from inside is /tmp");
    char cwd[256];
    check(getcwd(cwd, sizeof cwd) && strcmp(cwd, at("sub")) == 0, "getcwd inside the mount");

    /* Busy while the working directory or a file is in it. */
    EXPECT_ERR(umount(dir), EBUSY);
    EXPECT_ERR(rmdir(dir), EBUSY);
    EXPECT_RET(chdir("/"), 0);
    fd = open(at("f"), O_RDONLY);
    EXPECT_ERR(umount2(dir, 0), EBUSY);
    EXPECT_ERR(umount2(dir, MNT_EXPIRE), EBUSY);
    close(fd);
    EXPECT_ERR(umount2(dir, MNT_EXPIRE), EAGAIN);
    EXPECT_RET(umount2(dir, MNT_EXPIRE), 0);
    EXPECT_RET(access(at("under"), F_OK), 0);
    EXPECT_RET(stat(dir, &st), 0);
    check(st.st_dev == before.st_dev && st.st_ino == before.st_ino, "the directory is back");
    check(!listed("/proc/self/mounts", " tmpfs "), "/proc/self/mounts no longer lists it");

    /* MNT_DETACH: gone from the tree at once, open files live on. */
    EXPECT_RET(mount(NULL, dir, "tmpfs", 0, NULL), 0);
    fd = open(at("f"), O_CREAT | O_RDWR, 0644);
    EXPECT_ERR(umount(dir), EBUSY);
    EXPECT_RET(umount2(dir, MNT_DETACH), 0);
    EXPECT_RET(write(fd, "abc", 3), 3);
    EXPECT_RET(pread(fd, buf, 3, 0), 3);
    EXPECT_RET(access(at("under"), F_OK), 0);
    close(fd);
}

static void read_only(void)
{
    struct statfs sf;
    EXPECT_RET(mount("ro-test", dir, "tmpfs", 0, NULL), 0);
    int fd = open(at("file"), O_CREAT | O_WRONLY, 0666);
    close(fd);
    EXPECT_RET(mkdir(at("dir"), 0777), 0);
    EXPECT_RET(mount("ro-test", dir, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL), 0);
    check(listed("/proc/self/mounts", " tmpfs ro,relatime 0 0"), "/proc/self/mounts says ro");
    EXPECT_RET(statfs(dir, &sf), 0);
    check(sf.f_flags & ST_RDONLY, "statfs: ST_RDONLY");
    EXPECT_ERR(open(at("file"), O_WRONLY), EROFS);
    EXPECT_ERR(open(at("file"), O_RDONLY | O_TRUNC), EROFS);
    EXPECT_ERR(open(at("new"), O_CREAT | O_RDONLY, 0644), EROFS);
    fd = open(at("file"), O_RDONLY);
    check(fd >= 0, "open O_RDONLY works");
    close(fd);
    EXPECT_ERR(mkdir(at("new"), 0777), EROFS);
    EXPECT_ERR(mkdir(at("dir"), 0777), EEXIST);
    EXPECT_ERR(rmdir(at("dir")), EROFS);
    EXPECT_ERR(unlink(at("file")), EROFS);
    EXPECT_ERR(unlink(at("nope")), EROFS);
    EXPECT_ERR(rename(at("file"), at("file2")), EROFS);
    EXPECT_ERR(link(at("file"), at("file2")), EROFS);
    EXPECT_ERR(symlink("file", at("link")), EROFS);
    EXPECT_ERR(mknod(at("fifo"), S_IFIFO | 0600, 0), EROFS);
    EXPECT_ERR(chmod(at("file"), 0600), EROFS);
    EXPECT_ERR(chown(at("file"), 1, 1), EROFS);
    EXPECT_ERR(utimes(at("file"), NULL), EROFS);
    EXPECT_ERR(truncate(at("file"), 0), EROFS);
    EXPECT_ERR(access(at("file"), W_OK), EROFS);
    EXPECT_RET(access(at("file"), R_OK), 0);
    /* Back to read-write. */
    EXPECT_RET(mount("ro-test", dir, "tmpfs", MS_REMOUNT, NULL), 0);
    EXPECT_RET(mkdir(at("new"), 0777), 0);
    EXPECT_RET(umount(dir), 0);
}

static void noexec(void)
{
    EXPECT_RET(mount(NULL, dir, "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, NULL), 0);
    check(listed("/proc/self/mounts", " tmpfs rw,nosuid,nodev,noexec,relatime 0 0"), "/proc/self/mounts: nosuid,nodev,noexec");
    int fd = open(at("prog"), O_CREAT | O_WRONLY, 0755);
    check(write(fd, "#!/bin/true\n", 12) == 12, "a script");
    close(fd);
    char *argv[] = {"prog", NULL};
    EXPECT_ERR(execve(at("prog"), argv, argv + 1), EACCES);
    EXPECT_RET(umount(dir), 0);
}

static void errors(void)
{
    EXPECT_ERR(umount(dir), EINVAL);
    EXPECT_ERR(umount2(dir, 0x100), EINVAL);
    EXPECT_ERR(umount("/tmp/mount_tmpfs_nope"), ENOENT);
    EXPECT_ERR(mount(NULL, "/tmp/mount_tmpfs_nope", "tmpfs", 0, NULL), ENOENT);
    EXPECT_ERR(mount(NULL, dir, "nosuchfs", 0, NULL), ENODEV);
    EXPECT_ERR(mount(NULL, dir, "tmpfs", 0, "bogus=1"), EINVAL);
    EXPECT_ERR(mount(NULL, dir, "tmpfs", MS_REMOUNT, NULL), EINVAL);
    EXPECT_RET(mount(NULL, dir, "tmpfs", 0, NULL), 0);
    EXPECT_ERR(umount2(dir, MNT_EXPIRE | MNT_DETACH), EINVAL);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        if (setuid(65534) != 0)
            _exit(3);
        EXPECT_ERR(mount(NULL, dir, "tmpfs", 0, NULL), EPERM);
        EXPECT_ERR(umount(dir), EPERM);
        fflush(stdout);
        _exit(finish());
    }
    int st = 0;
    check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "unprivileged child passed");
    EXPECT_RET(umount(dir), 0);
}

int main(void)
{
    if (geteuid() != 0) {
        printf("skip: mount needs root\n");
        return 0;
    }
    /* The host: a mount namespace of our own, private, so that nothing
     * leaks out or stays behind. (SiON has one namespace per job: these
     * may fail there, harmlessly.) */
    if (unshare(CLONE_NEWNS) == 0)
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    strcpy(dir, "/tmp/mount_tmpfs_XXXXXX");
    check(mkdtemp(dir) != NULL, "mkdtemp");
    basics();
    read_only();
    noexec();
    errors();
    unlink(at("under"));
    rmdir(dir);
    return finish();
}
