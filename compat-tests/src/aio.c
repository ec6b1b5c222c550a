// aio.c - Linux native AIO through the raw calls: io_setup's errors and
// its ring (AIO_RING_MAGIC, header length, head and tail), pwrite, pread,
// pwritev, preadv and fsync through io_submit and their events (data, obj,
// res), aio_key cleared, IOCB_FLAG_RESFD counting on an eventfd,
// IOCB_CMD_POLL completing once its pipe is readable, io_cancel of a poll
// (EINPROGRESS, an event with res 0) and of a finished request (EINVAL),
// io_getevents with a zero timeout, a child's EINVAL (contexts are the
// memory's), io_destroy, and the errors of each call.
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

typedef unsigned long ctx_t;
struct iocb_ {
    uint64_t data;
    uint32_t key, rw_flags;
    uint16_t opcode;
    int16_t reqprio;
    uint32_t fildes;
    uint64_t buf, nbytes;
    int64_t offset;
    uint64_t reserved2;
    uint32_t flags, resfd;
};
struct event_ {
    uint64_t data, obj;
    int64_t res, res2;
};
struct ring {
    unsigned id, nr, head, tail, magic, compat_features, incompat_features, header_length;
};

enum { PREAD = 0, PWRITE = 1, FSYNC = 2, POLL = 5, PREADV = 7, PWRITEV = 8 };

static long setup(unsigned nr, ctx_t *ctx) { return syscall(SYS_io_setup, nr, ctx); }
static long destroy(ctx_t ctx) { return syscall(SYS_io_destroy, ctx); }
static long submit(ctx_t ctx, long nr, struct iocb_ **cbs) { return syscall(SYS_io_submit, ctx, nr, cbs); }
static long getevents(ctx_t ctx, long min, long nr, struct event_ *ev, struct timespec *ts)
{
    return syscall(SYS_io_getevents, ctx, min, nr, ev, ts);
}
static long cancel(ctx_t ctx, struct iocb_ *cb, struct event_ *ev) { return syscall(SYS_io_cancel, ctx, cb, ev); }

static struct iocb_ prep(int op, int fd, void *buf, uint64_t n, int64_t off, uint64_t data)
{
    struct iocb_ cb;
    memset(&cb, 0, sizeof cb);
    cb.opcode = op;
    cb.fildes = fd;
    cb.buf = (uintptr_t)buf;
    cb.nbytes = n;
    cb.offset = off;
    cb.data = data;
    cb.key = 0x5555; /* io_submit clears it */
    return cb;
}

/* Submit one and take its event (waiting without end). */
static long one(ctx_t ctx, struct iocb_ *cb, struct event_ *ev)
{
    struct iocb_ *cbs[1] = { cb };
    long r = submit(ctx, 1, cbs);
    if (r != 1)
        return r < 0 ? -errno : -1000;
    return getevents(ctx, 1, 1, ev, NULL);
}

int main(void)
{
    ctx_t ctx = 0, bad = 1;
    struct timespec zero = { 0, 0 }, second = { 1, 0 };
    EXPECT_ERR(setup(1, NULL), EFAULT);
    EXPECT_ERR(setup(1, &bad), EINVAL);
    EXPECT_ERR(setup(0, &ctx), EINVAL);
    EXPECT_ERR(setup(-1, &ctx), EINVAL);
    unsigned max = 0;
    FILE *f = fopen("/proc/sys/fs/aio-max-nr", "r");
    check(f && fscanf(f, "%u", &max) == 1, "/proc/sys/fs/aio-max-nr");
    if (f)
        fclose(f);
    EXPECT_ERR(setup(max + 1, &ctx), EAGAIN);
    EXPECT_RET(setup(4, &ctx), 0);
    check(ctx != 0, "a context");
    struct ring *r = (struct ring *)ctx;
    check(r->magic == 0xa10a10a1 && r->header_length == sizeof *r, "the ring's header: magic, length");
    check(r->nr >= 8 && r->head == 0 && r->tail == 0 && r->incompat_features == 0, "an empty ring of at least 8 events");

    char path[64];
    snprintf(path, sizeof path, "/tmp/aio-%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    check(fd >= 0, "open the file");
    char out[64] = "hello, asynchronous world", in[64];
    struct event_ ev[4];
    struct iocb_ w = prep(PWRITE, fd, out, 25, 0, 42);
    memset(ev, 0, sizeof ev);
    EXPECT_RET(one(ctx, &w, ev), 1);
    check(ev[0].data == 42 && ev[0].obj == (uintptr_t)&w && ev[0].res == 25 && ev[0].res2 == 0, "pwrite's event: data, obj, res 25");
    check(w.key == 0, "aio_key cleared");
    check(r->head == r->tail, "the ring read to its tail");
    struct iocb_ rd = prep(PREAD, fd, in, sizeof in, 7, 43);
    EXPECT_RET(one(ctx, &rd, ev), 1);
    check(ev[0].res == 18 && memcmp(in, "asynchronous world", 18) == 0, "pread at 7: 18 bytes back");
    /* Vectors. */
    struct iovec iov[2] = { { out, 5 }, { out + 7, 12 } };
    struct iocb_ wv = prep(PWRITEV, fd, iov, 2, 100, 44);
    EXPECT_RET(one(ctx, &wv, ev), 1);
    check(ev[0].res == 17, "pwritev: 17 bytes");
    memset(in, 0, sizeof in);
    struct iovec iiv[2] = { { in, 3 }, { in + 3, 30 } };
    struct iocb_ rv = prep(PREADV, fd, iiv, 2, 100, 45);
    EXPECT_RET(one(ctx, &rv, ev), 1);
    check(ev[0].res == 17 && memcmp(in, "helloasynchronous", 17) == 0, "preadv reads them back");
    struct iocb_ s = prep(FSYNC, fd, NULL, 0, 0, 46);
    EXPECT_RET(one(ctx, &s, ev), 1);
    check(ev[0].res == 0 && ev[0].data == 46, "fsync: res 0");
    /* Two at once; a read past the end. */
    struct iocb_ a = prep(PREAD, fd, in, 10, 0, 1), b = prep(PREAD, fd, in + 10, 10, 1000, 2);
    struct iocb_ *two[2] = { &a, &b };
    EXPECT_RET(submit(ctx, 2, two), 2);
    EXPECT_RET(getevents(ctx, 2, 4, ev, &second), 2);
    check(ev[0].data == 1 && ev[0].res == 10 && ev[1].data == 2 && ev[1].res == 0, "two events in order; past the end: 0");
    EXPECT_RET(getevents(ctx, 0, 4, ev, &zero), 0);

    /* The eventfd. */
    int efd = eventfd(0, EFD_NONBLOCK);
    struct iocb_ e = prep(PWRITE, fd, out, 1, 0, 47);
    e.flags = 1; /* IOCB_FLAG_RESFD */
    e.resfd = efd;
    EXPECT_RET(one(ctx, &e, ev), 1);
    uint64_t count = 0;
    check(read(efd, &count, 8) == 8 && count == 1, "IOCB_FLAG_RESFD: the eventfd counts 1");
    e.resfd = fd;
    struct iocb_ *pe[1] = { &e };
    EXPECT_ERR(submit(ctx, 1, pe), EINVAL);

    /* Errors of io_submit. */
    struct iocb_ *pw[1] = { &w };
    EXPECT_ERR(submit(ctx, -1, pw), EINVAL);
    EXPECT_ERR(submit(bad, 1, pw), EINVAL);
    EXPECT_ERR(submit(ctx, 1, (struct iocb_ **)bad_ptr_8), EFAULT);
    struct iocb_ *pnull[1] = { NULL };
    EXPECT_ERR(submit(ctx, 1, pnull), EFAULT);
    EXPECT_RET(submit(ctx, 0, pw), 0);
    struct iocb_ x = prep(PREAD, 999, in, 1, 0, 0);
    struct iocb_ *px[1] = { &x };
    EXPECT_ERR(submit(ctx, 1, px), EBADF);
    int ro = open(path, O_RDONLY);
    x = prep(PWRITE, ro, out, 1, 0, 0);
    EXPECT_ERR(submit(ctx, 1, px), EBADF);
    x = prep(PREAD, fd, in, 1, 0, 0);
    x.reserved2 = 1;
    EXPECT_ERR(submit(ctx, 1, px), EINVAL);
    x = prep(99, fd, in, 1, 0, 0);
    EXPECT_ERR(submit(ctx, 1, px), EINVAL);
    x = prep(FSYNC, fd, in, 0, 0, 0);
    EXPECT_ERR(submit(ctx, 1, px), EINVAL);
    EXPECT_ERR(getevents(ctx, 2, 1, ev, &zero), EINVAL);
    EXPECT_ERR(getevents(bad, 1, 1, ev, &zero), EINVAL);

    /* Poll: completes once the pipe is readable; cancel. */
    int p[2];
    check(pipe(p) == 0, "pipe");
    struct iocb_ pl = prep(POLL, p[0], (void *)(uintptr_t)POLLIN, 0, 0, 48);
    struct iocb_ *ppl[1] = { &pl };
    EXPECT_RET(submit(ctx, 1, ppl), 1);
    EXPECT_RET(getevents(ctx, 1, 1, ev, &zero), 0);
    EXPECT_RET(write(p[1], "x", 1), 1);
    EXPECT_RET(getevents(ctx, 1, 1, ev, &second), 1);
    check(ev[0].data == 48 && (ev[0].res & POLLIN), "poll: POLLIN once written");
    char c;
    EXPECT_RET(read(p[0], &c, 1), 1);
    pl = prep(POLL, p[0], (void *)(uintptr_t)POLLIN, 0, 0, 49);
    EXPECT_RET(submit(ctx, 1, ppl), 1);
    EXPECT_ERR(cancel(ctx, &pl, ev), EINPROGRESS);
    EXPECT_RET(getevents(ctx, 1, 1, ev, &second), 1);
    check(ev[0].data == 49 && ev[0].res == 0, "a cancelled poll: res 0");
    EXPECT_ERR(cancel(ctx, &w, ev), EINVAL);
    w.key = 7;
    EXPECT_ERR(cancel(ctx, &w, ev), EINVAL);
    EXPECT_ERR(cancel(ctx, (struct iocb_ *)bad_ptr_8, ev), EFAULT);

    /* A child has no contexts. */
    pid_t child = fork();
    if (child == 0)
        _exit(submit(ctx, 1, pw) == -1 && errno == EINVAL ? 0 : 1);
    int st;
    waitpid(child, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a child's io_submit: EINVAL");

    EXPECT_RET(destroy(ctx), 0);
    EXPECT_ERR(destroy(ctx), EINVAL);
    EXPECT_ERR(destroy(bad), EINVAL);
    EXPECT_ERR(submit(ctx, 1, pw), EINVAL);
    close(fd);
    close(ro);
    unlink(path);
    return finish();
}
