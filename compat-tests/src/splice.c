// splice.c - bytes moved through pipes without the caller's memory: splice
// from a file into a pipe and from a pipe into a file (with and without
// offsets), tee between two pipes, vmsplice both ways, SPLICE_F_NONBLOCK on
// an empty pipe, the errors (no pipe, offsets on a pipe, one pipe twice, bad
// flags); and process_vm_readv/writev with a forked child.
#include "compat.h"
#include <fcntl.h>
#include <sys/uio.h>
#include <sys/wait.h>

static char child_buf[64] = "the child's own bytes";

int main(void)
{
    char path[] = "/tmp/splice-XXXXXX";
    int f = mkstemp(path);
    check(f >= 0, "mkstemp");
    const char *text = "0123456789abcdefghij";
    EXPECT_RET(write(f, text, 20), 20);
    int p[2], q[2];
    EXPECT_RET(pipe(p), 0);
    EXPECT_RET(pipe(q), 0);

    // File -> pipe at an offset (the file position stays), then the rest.
    loff_t off = 5;
    EXPECT_RET(splice(f, &off, p[1], NULL, 4, 0), 4);
    check(off == 9, "the offset advanced to 9 (%lld)", (long long)off);
    EXPECT_RET(lseek(f, 0, SEEK_CUR), 20);
    EXPECT_RET(lseek(f, 10, SEEK_SET), 10);
    EXPECT_RET(splice(f, NULL, p[1], NULL, 100, 0), 10);
    EXPECT_RET(lseek(f, 0, SEEK_CUR), 20);

    // tee copies to q and leaves p's bytes; then read both.
    EXPECT_RET(tee(p[0], q[1], 3, 0), 3);
    char b[64] = { 0 };
    EXPECT_RET(read(q[0], b, sizeof b), 3);
    check(memcmp(b, "567", 3) == 0, "tee copied \"567\" (%.3s)", b);

    // Pipe -> file at an offset: 14 bytes at 20.
    off = 20;
    EXPECT_RET(splice(p[0], NULL, f, &off, 100, 0), 14);
    check(off == 34, "the file offset advanced to 34 (%lld)", (long long)off);
    memset(b, 0, sizeof b);
    EXPECT_RET(pread(f, b, sizeof b, 0), 34);
    check(memcmp(b + 20, "5678abcdefghij", 14) == 0, "the file ends with \"5678abcdefghij\" (%.14s)", b + 20);

    // An empty pipe: SPLICE_F_NONBLOCK is EAGAIN.
    off = 0;
    EXPECT_ERR(splice(p[0], NULL, f, &off, 10, SPLICE_F_NONBLOCK), EAGAIN);

    // vmsplice: memory into the pipe, then the pipe into memory.
    struct iovec v[2] = { { "hello ", 6 }, { "world", 5 } };
    EXPECT_RET(vmsplice(p[1], v, 2, 0), 11);
    char out[11] = { 0 };
    struct iovec r = { out, sizeof out };
    EXPECT_RET(vmsplice(p[0], &r, 1, 0), 11);
    check(memcmp(out, "hello world", 11) == 0, "vmsplice round trip");

    // Errors.
    EXPECT_ERR(splice(f, NULL, f, NULL, 4, 0), EINVAL);
    off = 0;
    EXPECT_ERR(splice(p[0], &off, f, NULL, 4, 0), ESPIPE);
    EXPECT_ERR(splice(p[0], NULL, p[1], NULL, 4, 0), EINVAL);
    EXPECT_ERR(splice(f, NULL, p[1], NULL, 4, 0x100), EINVAL);
    EXPECT_ERR(tee(p[0], f, 4, 0), EINVAL);
    EXPECT_ERR(vmsplice(f, v, 1, 0), EBADF);
    EXPECT_ERR(splice(p[1], NULL, f, NULL, 4, 0), EBADF);

    // process_vm_readv/writev with a child that waits on a pipe.
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char x;
        close(q[1]);
        if (read(q[0], &x, 1) != 1)
            _exit(2);
        // The parent wrote into child_buf: report it back.
        _exit(strcmp(child_buf, "written by the parent") == 0 ? 0 : 3);
    }
    char got[64] = { 0 };
    struct iovec loc[2] = { { got, 9 }, { got + 9, 20 } };
    struct iovec rem = { child_buf, 21 };
    EXPECT_RET(process_vm_readv(c, loc, 2, &rem, 1, 0), 21);
    check(strcmp(got, "the child's own bytes") == 0, "read the child's bytes (%s)", got);
    const char *msg = "written by the parent";
    struct iovec src = { (void *)msg, strlen(msg) + 1 };
    struct iovec dst = { child_buf, sizeof child_buf };
    EXPECT_RET(process_vm_writev(c, &src, 1, &dst, 1, 0), (long)strlen(msg) + 1);
    EXPECT_ERR(process_vm_readv(c, loc, 2, &rem, 1, 1), EINVAL);
    struct iovec bad = { (void *)8, 16 };
    EXPECT_ERR(process_vm_readv(c, loc, 1, &bad, 1, 0), EFAULT);
    EXPECT_RET(write(q[1], "go", 1), 1);
    int st = 0;
    check(waitpid(c, &st, 0) == c, "waitpid(child)");
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child saw the parent's bytes");
    EXPECT_ERR(process_vm_readv(c, loc, 2, &rem, 1, 0), ESRCH);

    unlink(path);
    return finish();
}
