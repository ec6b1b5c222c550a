// mmap_sigbus.c - a file mapping longer than its file: the rest of the last
// page reads as zeros, the pages after it raise SIGBUS (BUS_ADRERR, si_addr
// the address touched), caught by a handler or killing the process. This is
// what a dynamic loader meets with a truncated library.
#include "compat.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

static sigjmp_buf back;
static volatile siginfo_t seen;

static void on_bus(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    seen = *si;
    siglongjmp(back, 1);
}

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char path[] = "/tmp/mmap_sigbus_XXXXXX";
    int fd = mkstemp(path);
    check(fd >= 0, "mkstemp");
    unlink(path);
    char text[100];
    memset(text, 'x', sizeof text);
    EXPECT_RET(write(fd, text, sizeof text), 100);

    volatile char *p = mmap(NULL, 3 * page, PROT_READ, MAP_PRIVATE, fd, 0);
    check(p != MAP_FAILED, "mmap of 3 pages over a 100-byte file");
    check(p[0] == 'x' && p[99] == 'x', "the file's bytes");
    check(p[100] == 0 && p[page - 1] == 0, "the rest of its last page is zero");

    struct sigaction sa = {0};
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    volatile char *beyond = p + page + 10;
    if (sigsetjmp(back, 1) == 0) {
        char c = *beyond;
        printf("read past the end: %d (no signal)\n", c);
        compat_failed++;
    } else {
        printf("past the file's end: signal %s, code %s, at the address touched: %s\n", seen.si_signo == SIGBUS ? "SIGBUS" : "other",
               seen.si_code == BUS_ADRERR ? "BUS_ADRERR" : "other", seen.si_addr == (void *)beyond ? "yes" : "no");
        check(seen.si_signo == SIGBUS && seen.si_code == BUS_ADRERR, "SIGBUS with BUS_ADRERR");
    }
    // The third page too; and after munmap and a fresh anonymous mapping
    // there, the same addresses are plain memory.
    if (sigsetjmp(back, 1) == 0) {
        (void)p[2 * page];
        check(0, "the third page raised no signal");
    } else {
        check(seen.si_signo == SIGBUS, "the third page: SIGBUS");
    }
    EXPECT_RET(munmap((void *)p, 3 * page), 0);
    char *q = mmap((void *)p, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check(q == (char *)p, "an anonymous mapping in its place");
    q[page + 10] = 7;
    check(q[page + 10] == 7 && q[2 * page] == 0, "plain memory there now");

    // Without a handler, SIGBUS kills.
    signal(SIGBUS, SIG_DFL);
    pid_t child = fork();
    if (child == 0) {
        volatile char *r = mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE, fd, 0);
        (void)r[page];
        _exit(0);
    }
    int st = 0;
    check(waitpid(child, &st, 0) == child, "waitpid");
    printf("a child touching past the end: %s %d\n", WIFSIGNALED(st) ? "killed by signal" : "exited", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    check(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "killed by SIGBUS");
    close(fd);
    return finish();
}
