// remap_file_pages.c - remap_file_pages(2) as Linux emulates it since 3.16,
// over System V shared memory: an attach mapped again from another page of
// the segment (the whole attach, or one page of it), prot other than 0 and
// a private mapping EINVAL, and once the segment was removed (IPC_RMID) the
// remap of its last attach fails with EINVAL and leaves the range unmapped.
#include "compat.h"
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>

static long remap(void *addr, unsigned long size, unsigned long prot, unsigned long pgoff)
{
    return syscall(SYS_remap_file_pages, addr, size, prot, pgoff, 0);
}

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    int id = shmget(IPC_PRIVATE, 2 * page, IPC_CREAT | 0600);
    check(id >= 0, "shmget of two pages");
    char *a = shmat(id, NULL, 0);
    check(a != (char *)-1, "shmat");
    strcpy(a, "page zero");
    strcpy(a + page, "page one");

    EXPECT_ERR(remap(a, page, PROT_READ, 1), EINVAL);
    char *priv = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_ERR(remap(priv, page, 0, 0), EINVAL);
    munmap(priv, page);

    /* The first page shows the segment's second one, then its first again. */
    EXPECT_RET(remap(a, page, 0, 1), 0);
    check(strcmp(a, "page one") == 0, "after remap to page 1: \"%s\"", a);
    check(strcmp(a + page, "page one") == 0, "the second page unchanged");
    a[0] = 'P';
    check(a[page] == 'P', "both show the same frame");
    EXPECT_RET(remap(a, page, 0, 0), 0);
    check(strcmp(a, "page zero") == 0, "remapped back: \"%s\"", a);
    /* The whole attach, over the two mappings the remaps left. */
    EXPECT_RET(remap(a, 2 * page, 0, 0), 0);
    check(strcmp(a + page, "Page one") == 0, "the whole attach again");

    struct shmid_ds ds;
    EXPECT_RET(shmctl(id, IPC_STAT, &ds), 0);
    check(ds.shm_nattch >= 1, "attached");
    EXPECT_RET(shmctl(id, IPC_RMID, NULL), 0);
    /* Its last attach mapped again: the segment is gone meanwhile. */
    long r = remap(a, 2 * page, 0, 0);
    check(r == -1 && (errno == EINVAL || errno == EIDRM), "remap after IPC_RMID fails (%s)", r == -1 && (errno == EINVAL || errno == EIDRM) ? "EINVAL or EIDRM" : "no");
    EXPECT_ERR(shmdt(a), EINVAL);
    check(msync(a, page, MS_ASYNC) == -1 && errno == ENOMEM, "the range is unmapped");
    return finish();
}
