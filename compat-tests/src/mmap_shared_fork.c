// mmap_shared_fork.c - a MAP_SHARED file mapping across fork and exec, as
// LTP keeps its results page and checkpoints: a file in /dev/shm (or /tmp)
// mapped shared, children writing counters and waking the parent through a
// futex in the mapping, the parent seeing every write; a child that execs
// and maps the file again by its path writes into the same page; two
// mappings in one process are one page; the file gets the bytes at munmap;
// a private mapping of the same file stays a copy in the child.
#include "compat.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 4
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1

static long futex(uint32_t *addr, int op, uint32_t val)
{
    return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

/* The exec'd child: map the file by its path, write, wake the parent. */
static int child_after_exec(const char *path)
{
    int fd = open(path, O_RDWR);
    uint32_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd < 0 || page == MAP_FAILED)
        return 2;
    page[2] = 777;
    __atomic_store_n(&page[3], 1, __ATOMIC_SEQ_CST);
    futex(&page[3], FUTEX_WAKE, 1);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child") == 0)
        return child_after_exec(argv[2]);
    char path[64] = "/dev/shm/compat-mmap-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        strcpy(path, "/tmp/compat-mmap-XXXXXX");
        fd = mkstemp(path);
    }
    check(fd >= 0, "a file to map");
    EXPECT_RET(ftruncate(fd, 4096), 0);
    uint32_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check(page != MAP_FAILED, "map it shared");
    close(fd);

    // Each child adds its number to its own slot and to a counter (atomic),
    // then wakes the parent, which waits on the counter (not FUTEX_PRIVATE:
    // another process).
    for (int i = 0; i < CHILDREN; i++) {
        pid_t p = fork();
        if (p == 0) {
            page[8 + i] = 100 + i;
            __atomic_fetch_add(&page[0], 1, __ATOMIC_SEQ_CST);
            futex(&page[0], FUTEX_WAKE, 1);
            _exit(0);
        }
        check(p > 0, "fork");
    }
    uint32_t seen;
    while ((seen = __atomic_load_n(&page[0], __ATOMIC_SEQ_CST)) < CHILDREN)
        futex(&page[0], FUTEX_WAIT, seen);
    for (int i = 0; i < CHILDREN; i++) {
        int st;
        check(wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "a child exits 0");
    }
    printf("counter after %d children: %u\n", CHILDREN, page[0]);
    for (int i = 0; i < CHILDREN; i++)
        printf("slot %d: %u\n", i, page[8 + i]);

    // The parent's write reaches a child forked before it (same frames).
    int pipefd[2];
    check(pipe(pipefd) == 0, "pipe");
    pid_t p = fork();
    if (p == 0) {
        char c;
        read(pipefd[0], &c, 1);
        _exit(page[1] == 4242 ? 0 : 1);
    }
    page[1] = 4242;
    write(pipefd[1], "x", 1);
    int st;
    waitpid(p, &st, 0);
    printf("a child forked earlier sees the parent's later write: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");

    // A child that execs and maps the file again by its path.
    p = fork();
    if (p == 0) {
        execl("/proc/self/exe", argv[0], "child", path, (char *)NULL);
        _exit(3);
    }
    // (The child has written when it exits: no wait that a copy would hang.)
    waitpid(p, &st, 0);
    printf("an exec'd child's own mapping of the file wrote %u (exit %d)\n", page[2], WIFEXITED(st) ? WEXITSTATUS(st) : -1);

    // Two mappings of the file in one process are one page.
    fd = open(path, O_RDWR);
    uint32_t *again = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check(again != MAP_FAILED, "map it a second time");
    again[4] = 99;
    printf("a write through the second mapping, read through the first: %u\n", page[4]);
    munmap(again, 4096);
    close(fd);

    // Unmapped, the file holds what the processes wrote.
    EXPECT_RET(munmap(page, 4096), 0);
    fd = open(path, O_RDONLY);
    uint32_t back[12] = {0};
    EXPECT_RET(pread(fd, back, sizeof back, 0), (long)sizeof back);
    printf("the file: counter %u, slot 0 %u, slot 3 %u\n", back[0], back[8], back[11]);

    // A private mapping of it: the child's write stays its own.
    uint32_t *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check(priv != MAP_FAILED, "map it private");
    p = fork();
    if (p == 0) {
        priv[0] = 7;
        _exit(0);
    }
    waitpid(p, &st, 0);
    printf("a private mapping after the child wrote: %u\n", priv[0]);
    close(fd);
    unlink(path);
    return finish();
}
