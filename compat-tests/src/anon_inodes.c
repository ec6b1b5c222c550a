// anon_inodes.c - what eventfd, signalfd and epoll descriptors answer to the
// calls every descriptor takes: their access mode (read-write, as Linux
// opens them), read and write where the kind has none (EINVAL), pread and
// pwrite (ESPIPE: no offset), lseek (0: Linux ignores it), and O_NONBLOCK
// in F_GETFL.
#include "compat.h"
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

static void probe(const char *name, int fd, int has_read, int has_write)
{
    char b[128];
    memset(b, 0, sizeof b);
    int fl = fcntl(fd, F_GETFL);
    printf("%s: access %s nonblock %d\n", name, (fl & O_ACCMODE) == O_RDWR ? "rw" : "other", !!(fl & O_NONBLOCK));
    EXPECT_ERR(pread(fd, b, 8, 0), ESPIPE);
    EXPECT_ERR(pwrite(fd, b, 8, 0), ESPIPE);
    EXPECT_RET(lseek(fd, 0, SEEK_SET), 0); /* noop_llseek: 0, not ESPIPE */
    if (!has_read)
        EXPECT_ERR(read(fd, b, 8), EINVAL);
    if (!has_write)
        EXPECT_ERR(write(fd, b, 8), EINVAL);
}

int main(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    int e = eventfd(0, EFD_NONBLOCK);
    int s = signalfd(-1, &set, SFD_NONBLOCK);
    int ep = epoll_create1(0);
    check(e >= 0 && s >= 0 && ep >= 0, "eventfd, signalfd, epoll");
    probe("eventfd", e, 1, 1);
    probe("signalfd", s, 1, 0);
    probe("epoll", ep, 0, 0);
    /* The kinds that read still read (nothing there: EAGAIN). */
    char b[128];
    EXPECT_ERR(read(e, b, 8), EAGAIN);
    EXPECT_ERR(read(s, b, sizeof b), EAGAIN);
    return finish();
}
