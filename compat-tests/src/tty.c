// tty.c - terminal ioctls on fds that are pipes (as the runner sets them up:
// stdin /dev/null, stdout and stderr pipes) fail with ENOTTY; bad fd -> EBADF.
#include "compat.h"
#include <sys/ioctl.h>
#include <termios.h>

int main(void)
{
    struct winsize ws;
    struct termios t;
    for (int fd = 0; fd <= 2; fd++) {
        char what[64];
        snprintf(what, sizeof what, "ioctl(%d, TIOCGWINSZ)", fd);
        errno = 0;
        int r = ioctl(fd, TIOCGWINSZ, &ws);
        check_errno(r, errno, ENOTTY, what);
        snprintf(what, sizeof what, "ioctl(%d, TCGETS)", fd);
        errno = 0;
        r = ioctl(fd, TCGETS, &t);
        check_errno(r, errno, ENOTTY, what);
        snprintf(what, sizeof what, "tcgetattr(%d)", fd);
        errno = 0;
        r = tcgetattr(fd, &t);
        check_errno(r, errno, ENOTTY, what);
        errno = 0;
        r = isatty(fd);
        int e = errno;
        check(r == 0 && e == ENOTTY, "isatty(%d) == 0, errno %s", fd, errno_name(e));
    }
    EXPECT_ERR(ioctl(99, TIOCGWINSZ, &ws), EBADF);
    EXPECT_ERR(ioctl(-1, TCGETS, &t), EBADF);
    return finish();
}
