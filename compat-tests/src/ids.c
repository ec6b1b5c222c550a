// ids.c - process and user ids have the expected relations (numbers not printed).
#include "compat.h"
#include <sys/syscall.h>

int main(void)
{
    pid_t pid = getpid();
    check(pid > 0, "getpid() > 0");
    check(getpid() == pid, "getpid() is stable");
    check(syscall(SYS_gettid) == pid, "gettid() == getpid() (single thread)");
    check(getppid() >= 0, "getppid() >= 0");
    check(getppid() != pid, "getppid() != getpid()");
    check(getuid() == geteuid(), "getuid() == geteuid()");
    check(getgid() == getegid(), "getgid() == getegid()");
    check(getuid() != (uid_t)-1, "getuid() != -1");
    check(getgid() != (gid_t)-1, "getgid() != -1");
    return finish();
}
