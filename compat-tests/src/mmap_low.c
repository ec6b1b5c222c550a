// mmap_low.c - mappings below vm.mmap_min_addr: root (CAP_SYS_RAWIO) may
// map page 0 with MAP_FIXED or MAP_FIXED_NOREPLACE (qemu-user does), others
// get EPERM. Only address 0 is tried without root: the host's mmap_min_addr
// may be 4096 where SiON's is 65536.
#include "compat.h"
#include <sys/mman.h>
#include <sys/wait.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    if (getuid() == 0) {
        char *p = mmap((void *)0, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        check(p == (char *)0, "root: mmap(0, MAP_FIXED) maps page 0");
        if (p == (char *)0) {
            volatile char *z = p;
            z[0] = 'a';
            z[page + 5] = 'b';
            check(z[0] == 'a' && z[page + 5] == 'b', "page 0 written and read");
            EXPECT_RET(write(-1, (void *)0, 0), -1);
            int fds[2];
            check(pipe(fds) == 0, "pipe");
            EXPECT_RET(write(fds[1], (void *)0, 1), 1);
            char c = 0;
            EXPECT_RET(read(fds[0], &c, 1), 1);
            check(c == 'a', "a write from address 0 carried page 0's byte");
            close(fds[0]);
            close(fds[1]);
            char *q = mmap((void *)0, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            check(q == MAP_FAILED && errno == EEXIST, "MAP_FIXED_NOREPLACE over page 0: EEXIST (%s)", q == MAP_FAILED ? errno_name(errno) : "mapped");
            EXPECT_RET(munmap((void *)0, 2 * page), 0);
        }
        p = mmap((void *)page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        check(p == (char *)page, "root: mmap(4096, MAP_FIXED_NOREPLACE)");
        if (p == (char *)page) {
            p[1] = 'x';
            check(p[1] == 'x', "page 1 written and read");
            EXPECT_RET(munmap(p, page), 0);
        }
        p = mmap((void *)(8 * page), page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        check(p == (char *)(8 * page), "root: mmap(8 pages, MAP_FIXED)");
        if (p != MAP_FAILED)
            EXPECT_RET(munmap(p, page), 0);
        fflush(stdout);
        pid_t c = fork();
        if (c == 0) {
            check(setuid(65534) == 0, "setuid(65534)");
            char *r = mmap((void *)0, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            check(r == MAP_FAILED && errno == EPERM, "user: mmap(0, MAP_FIXED): EPERM (%s)", r == MAP_FAILED ? errno_name(errno) : "mapped");
            r = mmap((void *)0, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            /* musl turns EPERM into ENOMEM when MAP_FIXED is not set. */
            check(r == MAP_FAILED && (errno == EPERM || errno == ENOMEM), "user: mmap(0, MAP_FIXED_NOREPLACE) fails (%s)", r == MAP_FAILED ? errno_name(errno) : "mapped");
            fflush(stdout);
            _exit(finish());
        }
        int st = 0;
        check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "unprivileged child passed");
    } else {
        char *r = mmap((void *)0, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        check(r == MAP_FAILED && errno == EPERM, "user: mmap(0, MAP_FIXED): EPERM");
    }
    /* A hint below the minimum is only a hint. */
    char *h = mmap((void *)page, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(h != MAP_FAILED, "mmap with a low hint maps somewhere");
    return finish();
}
