// random.c - getrandom fills buffers (two draws differ), honours GRND_NONBLOCK,
// rejects bad flags and bad pointers.
#include "compat.h"
#include <sys/syscall.h>

#ifndef GRND_NONBLOCK
#define GRND_NONBLOCK 1
#endif

int main(void)
{
    unsigned char a[32], b[32], c[32];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    EXPECT_RET(syscall(SYS_getrandom, a, 32, 0), 32);
    EXPECT_RET(syscall(SYS_getrandom, b, 32, 0), 32);
    check(memcmp(a, b, 32) != 0, "two draws of 32 bytes differ");
    static const unsigned char zero[32];
    check(memcmp(a, zero, 32) != 0, "the draw is not all zero");
    EXPECT_RET(syscall(SYS_getrandom, c, 32, GRND_NONBLOCK), 32);
    EXPECT_RET(syscall(SYS_getrandom, c, 0, 0), 0);
    EXPECT_RET(syscall(SYS_getrandom, c, 1, 0), 1);
    EXPECT_ERR(syscall(SYS_getrandom, bad_ptr_1, 32, 0), EFAULT);
    EXPECT_ERR(syscall(SYS_getrandom, c, 32, 0x1000), EINVAL);
    return finish();
}
