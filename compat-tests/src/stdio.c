// stdio.c - write/writev/read/readv on fds 0, 1 and 2; stdin is a pipe filled by
// the runner; reads may be partial but never exceed the request; EOF reads 0.
// stdin: line one\nline two\nthe third and last line\n
#include "compat.h"
#include <sys/uio.h>

static const char expected_input[] = "line one\nline two\nthe third and last line\n";

int main(void)
{
    /* Raw writes go straight to the fds; stdio is flushed before each. */
    EXPECT_RET(write(1, "raw write to stdout\n", 20), 20);
    EXPECT_RET(write(2, "raw write to stderr\n", 20), 20);
    EXPECT_RET(write(1, "", 0), 0);
    fflush(stdout);

    struct iovec iov[3] = {
        { "writev ", 7 }, { "to ", 3 }, { "stdout\n", 7 },
    };
    EXPECT_RET(writev(1, iov, 3), 17);
    struct iovec eiov[2] = { { "writev to ", 10 }, { "stderr\n", 7 } };
    EXPECT_RET(writev(2, eiov, 2), 17);
    struct iovec ziov[2] = { { "", 0 }, { "x", 0 } };
    EXPECT_RET(writev(1, ziov, 2), 0);
    fflush(stdout);

    /* Bad descriptors. */
    EXPECT_ERR(write(-1, "x", 1), EBADF);
    EXPECT_ERR(write(99, "x", 1), EBADF);
    EXPECT_ERR(read(99, (char[4]){0}, 4), EBADF);
    EXPECT_ERR(write(0, "x", 1), EBADF);   /* stdin is a pipe's read end */
    volatile int minus_one = -1;
    EXPECT_ERR(writev(1, iov, minus_one), EINVAL);

    /* Read stdin: first a readv into two small buffers, then small reads. */
    char input[256];
    size_t have = 0;
    char a[3], b[4];
    struct iovec riov[2] = { { a, sizeof a }, { b, sizeof b } };
    ssize_t r = readv(0, riov, 2);
    check(r > 0 && r <= 7, "readv(0, 3+4 bytes) returns 1..7");
    if (r > 0) {
        memcpy(input, a, r < 3 ? r : 3);
        if (r > 3)
            memcpy(input + 3, b, r - 3);
        have = r;
    }
    EXPECT_RET(read(0, input, 0), 0);
    int reads = 0, partial_ok = 1;
    for (;;) {
        r = read(0, input + have, 5);
        if (r <= 0)
            break;
        if (r > 5)
            partial_ok = 0;
        have += r;
        reads++;
        if (have + 5 > sizeof input)
            break;
    }
    check(r == 0, "read at EOF returns 0 (got %ld)", (long)r);
    check(partial_ok, "every read(0, 5) returned 1..5 bytes");
    check(reads >= (int)(sizeof expected_input - 1 - 7) / 5, "enough reads for the input");
    printf("stdin (%zu bytes): [%.*s]\n", have, (int)have, input);
    check(have == sizeof expected_input - 1 && memcmp(input, expected_input, have) == 0,
          "stdin content equals what the runner sent");
    EXPECT_RET(read(0, input, sizeof input), 0);
    EXPECT_RET(readv(0, riov, 2), 0);

    fprintf(stderr, "stderr via stdio\n");
    return finish();
}
