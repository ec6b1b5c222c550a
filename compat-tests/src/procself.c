// procself.c - readlink("/proc/self/exe") names the running program: its
// basename equals basename(argv[0]); truncation and bad buffers behave.
#include "compat.h"
#include <sys/syscall.h>

static const char *base(const char *p, size_t n, char *out, size_t outsz)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '/')
            start = i + 1;
    size_t len = n - start;
    if (len >= outsz)
        len = outsz - 1;
    memcpy(out, p + start, len);
    out[len] = 0;
    return out;
}

int main(int argc, char **argv)
{
    (void)argc;
    char buf[4096];
    memset(buf, '#', sizeof buf);
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf);
    check(n > 0 && n < (ssize_t)sizeof buf, "readlink(/proc/self/exe) succeeds");
    if (n <= 0)
        return finish();
    check(buf[0] == '/', "the link target is an absolute path");
    check(buf[n] == '#', "readlink does not NUL-terminate");
    char b1[256], b2[256];
    base(buf, n, b1, sizeof b1);
    base(argv[0], strlen(argv[0]), b2, sizeof b2);
    printf("basename of /proc/self/exe: %s\n", b1);
    check(strcmp(b1, b2) == 0, "basename equals basename(argv[0]) (%s)", b2);

    char small[4] = "@@@@";
    EXPECT_RET(readlink("/proc/self/exe", small, 3), 3);
    check(small[3] == '@', "truncated readlink wrote only 3 bytes");
    check(memcmp(small, buf, 3) == 0, "truncated result is a prefix");
#ifdef SYS_readlink
    /* Raw: musl's readlink() handles a zero size itself. */
    EXPECT_ERR(syscall(SYS_readlink, "/proc/self/exe", buf, 0), EINVAL);
    EXPECT_ERR(syscall(SYS_readlink, "/proc/self/exe", bad_ptr_8, 64), EFAULT);
    EXPECT_ERR(syscall(SYS_readlink, bad_ptr_8, buf, 64), EFAULT);
#endif
    return finish();
}
