// mmap_file.c - file-backed mmap: private (copy on write, the file is not
// changed), shared (written back by msync and munmap), offsets, past the end,
// wrong access modes, non-regular files; memfd_create; mremap, madvise,
// mincore, msync.
#include "compat.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int main(void)
{
    char dir[64] = "/tmp/compat-mmap-XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    check(chdir(dir) == 0, "chdir");
    int fd = open("f", O_CREAT | O_RDWR, 0644);
    char page[4096];
    for (int i = 0; i < 4096; i++)
        page[i] = 'a' + i % 26;
    write(fd, page, 4096);
    write(fd, "second page", 11);

    char *p = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
    check(p != MAP_FAILED, "private read-only mapping");
    printf("first bytes: %.5s, page 2: %.11s, past EOF is zero: %d\n", p, p + 4096, p[4096 + 11] == 0);
    munmap(p, 8192);
    p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    check(p != MAP_FAILED, "mapping at an offset");
    printf("at offset 4096: %.6s\n", p);
    munmap(p, 4096);
    EXPECT_ERR(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 100), EINVAL);

    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    p[0] = 'X';
    char b[4] = {0};
    pread(fd, b, 1, 0);
    printf("a private write stays private: file has %c, mapping %c\n", b[0], p[0]);
    munmap(p, 4096);

    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check(p != MAP_FAILED, "shared writable mapping");
    memcpy(p, "SHARED", 6);
    EXPECT_RET(msync(p, 4096, MS_SYNC), 0);
    pread(fd, b, 3, 0);
    printf("after msync the file has: %.3s\n", b);
    memcpy(p + 10, "LATER", 5);
    EXPECT_RET(munmap(p, 4096), 0);
    char b2[8] = {0};
    pread(fd, b2, 5, 10);
    printf("after munmap the file has: %.5s\n", b2);
    EXPECT_ERR(msync(p, 4096, 99), EINVAL);
    EXPECT_ERR(msync((char *)p + 1, 4096, MS_SYNC), EINVAL);

    int ro = open("f", O_RDONLY);
    EXPECT_ERR(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), EACCES);
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    check(p != MAP_FAILED, "a private writable mapping of a read-only fd is fine");
    int wo = open("f", O_WRONLY);
    EXPECT_ERR(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, wo, 0), EACCES);
    EXPECT_ERR(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 9999, 0), EBADF);
    int dfd = open(".", O_RDONLY);
    EXPECT_ERR(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, dfd, 0), ENODEV);
    EXPECT_ERR(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 1, 0), EACCES);
    EXPECT_ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE, fd, 0), EINVAL);

    /* mremap, madvise, mincore. */
    char *a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    a[0] = 1;
    a[4096] = 2;
    char *g = mremap(a, 8192, 16384, MREMAP_MAYMOVE);
    check(g != MAP_FAILED, "mremap grows");
    printf("contents kept: %d %d\n", g[0], g[4096]);
    g[16383] = 3;
    char *s = mremap(g, 16384, 4096, 0);
    check(s == g, "mremap shrinks in place");
    EXPECT_ERR(mremap(g, 4096, 8192, 0x40), EINVAL);
    EXPECT_ERR(mremap((char *)g + 1, 4096, 8192, MREMAP_MAYMOVE), EINVAL);
    EXPECT_RET(madvise(g, 4096, MADV_DONTNEED), 0);
    printf("MADV_DONTNEED zeroes private anonymous memory: %d\n", g[0] == 0);
    EXPECT_RET(madvise(g, 4096, MADV_WILLNEED), 0);
    EXPECT_ERR(madvise(g, 4096, 9999), EINVAL);
    EXPECT_ERR(madvise((char *)g + 1, 4096, MADV_NORMAL), EINVAL);
    unsigned char vec[2];
    g[0] = 5;
    EXPECT_RET(mincore(g, 4096, vec), 0);
    printf("mincore: resident %d\n", vec[0] & 1);
    EXPECT_ERR(mincore((char *)g + 1, 4096, vec), EINVAL);
    munmap(g, 4096);
    EXPECT_ERR(mincore(g, 4096, vec), ENOMEM);

#ifdef SYS_memfd_create
    int m = syscall(SYS_memfd_create, "buf", MFD_CLOEXEC);
    check(m >= 0, "memfd_create");
    EXPECT_RET(fcntl(m, F_GETFD), FD_CLOEXEC);
    EXPECT_RET(ftruncate(m, 4096), 0);
    char *mp = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    check(mp != MAP_FAILED, "map the memfd");
    strcpy(mp, "memfd!");
    munmap(mp, 4096);
    char mb[8] = {0};
    EXPECT_RET(pread(m, mb, 6, 0), 6);
    printf("memfd holds: %s\n", mb);
    EXPECT_ERR(syscall(SYS_memfd_create, "x", 0x100), EINVAL);
    close(m);
#endif

    unlink("f");
    chdir("/");
    EXPECT_RET(rmdir(dir), 0);
    return finish();
}
