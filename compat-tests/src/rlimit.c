// rlimit.c - getrlimit and prlimit64 for RLIMIT_STACK and RLIMIT_NOFILE report
// soft <= hard; bad resources and pointers fail.
#include "compat.h"
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>

struct rlimit64_raw { uint64_t cur, max; };

int main(void)
{
    struct rlimit r;
    EXPECT_RET(getrlimit(RLIMIT_STACK, &r), 0);
    check(r.rlim_cur <= r.rlim_max, "RLIMIT_STACK soft <= hard");
    check(r.rlim_cur >= 65536, "RLIMIT_STACK soft >= 64 KiB");
    EXPECT_RET(getrlimit(RLIMIT_NOFILE, &r), 0);
    check(r.rlim_cur <= r.rlim_max, "RLIMIT_NOFILE soft <= hard");
    check(r.rlim_cur >= 3, "RLIMIT_NOFILE soft >= 3");

    struct rlimit64_raw r64;
    EXPECT_RET(syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &r64), 0);
    check(r64.cur <= r64.max, "prlimit64 RLIMIT_STACK soft <= hard");
    EXPECT_RET(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &r64), 0);
    check(r64.cur <= r64.max, "prlimit64 RLIMIT_NOFILE soft <= hard");
    check(r64.cur >= 3, "prlimit64 RLIMIT_NOFILE soft >= 3");
    EXPECT_ERR(syscall(SYS_prlimit64, 0, 999, NULL, &r64), EINVAL);
    EXPECT_ERR(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, bad_ptr_8), EFAULT);
    EXPECT_RET(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, NULL), 0);
#ifdef SYS_getrlimit
    EXPECT_ERR(syscall(SYS_getrlimit, RLIMIT_NOFILE, bad_ptr_8), EFAULT);
#endif
    return finish();
}
