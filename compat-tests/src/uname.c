// uname.c - the system says it is Linux, with a non-empty release.
#include "compat.h"
#include <sys/syscall.h>
#include <sys/utsname.h>

int main(void)
{
    struct utsname u;
    memset(&u, 0, sizeof u);
    EXPECT_RET(uname(&u), 0);
    printf("sysname: %s\n", u.sysname);
    check(strcmp(u.sysname, "Linux") == 0, "sysname == Linux");
    check(u.release[0] != 0, "release is non-empty");
    check(u.version[0] != 0, "version is non-empty");
    check(u.nodename[0] != 0, "nodename is non-empty");
    printf("machine: %s\n", u.machine);
    check(strcmp(u.machine, "x86_64") == 0 || strcmp(u.machine, "i686") == 0,
          "machine is x86_64 or i686");
    EXPECT_ERR(syscall(SYS_uname, bad_ptr_8), EFAULT);
    return finish();
}
