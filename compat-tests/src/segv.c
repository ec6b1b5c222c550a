// segv.c - a write to a page made read-only by mprotect kills the program with
// SIGSEGV (the runner expects "killed by signal 11" on Linux, exit 139 from sion).
// exit: signal 11
#include "compat.h"
#include <sys/mman.h>

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    check(page == 4096, "page size is 4096");
    char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(p != MAP_FAILED, "mmap one page");
    if (p == MAP_FAILED)
        return finish();
    p[0] = 'x';
    check(mprotect(p, page, PROT_READ) == 0, "mprotect(PROT_READ)");
    check(p[0] == 'x', "page still readable after mprotect");
    if (compat_failed)
        return finish();
    printf("writing to the read-only page\n");
    fprintf(stderr, "expect SIGSEGV now\n");
    fflush(stdout);
    *(volatile char *)p = 'y';
    /* Not reached on Linux. */
    printf("FAIL: write to read-only page succeeded\n");
    return 1;
}
