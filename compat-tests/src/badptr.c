// badptr.c - wild pointers given to read/write/writev fail with EFAULT and the
// program keeps running.  stdin is a pipe with data (reading /dev/null would
// succeed without touching the buffer).
// stdin: data that must not be consumed by a failed read\n
#include "compat.h"
#include <sys/uio.h>

int main(void)
{
    EXPECT_ERR(write(1, bad_ptr_1, 10), EFAULT);
    EXPECT_ERR(write(2, bad_ptr_1, 10), EFAULT);
    EXPECT_ERR(read(0, bad_ptr_8, 10), EFAULT);
    EXPECT_ERR(writev(1, bad_ptr_1, 2), EFAULT);
    struct iovec iov[2] = { { "fine", 4 }, { NULL, 0 } };
    iov[1].iov_base = bad_ptr_1;
    iov[1].iov_len = 8;
    iov[0].iov_base = bad_ptr_8;
    EXPECT_ERR(writev(1, iov, 2), EFAULT);
    struct iovec riov[1] = { { NULL, 16 } };
    riov[0].iov_base = bad_ptr_8;
    EXPECT_ERR(readv(0, riov, 1), EFAULT);
    EXPECT_ERR(readv(0, bad_ptr_1, 1), EFAULT);
    EXPECT_RET(write(1, NULL, 0), 0);

    /* The data is still there after the failed reads. */
    char buf[128];
    size_t have = 0;
    ssize_t r;
    while ((r = read(0, buf + have, sizeof buf - have)) > 0)
        have += r;
    printf("stdin after failed reads: [%.*s]\n", (int)have, buf);
    static const char want[] = "data that must not be consumed by a failed read\n";
    check(have == sizeof want - 1 && memcmp(buf, want, have) == 0,
          "stdin content intact");
    printf("survived\n");
    return finish();
}
