// checkpoint.c - what CONFIG_CHECKPOINT_RESTORE offers a restore tool:
// prctl(PR_SET_MM) (the map size; the single-landmark options EPERM without
// CAP_SYS_RESOURCE; PR_SET_MM_MAP with Linux's checks of the landmarks, brk
// moved by it, the saved aux vector in /proc/self/auxv, its exe_fd refused
// while the program is mapped), the landmarks in
// /proc/self/stat, and /proc/self/map_files (a link per file mapping, named
// START-END in hex, to the file).
#include "compat.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef PR_SET_MM
#define PR_SET_MM 35
#endif
#define MM_START_CODE 1
#define MM_START_BRK 6
#define MM_AUXV 12
#define MM_EXE_FILE 13
#define MM_MAP 14
#define MM_MAP_SIZE 15

struct mm_map {
    uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
    uint64_t arg_start, arg_end, env_start, env_end;
    uint64_t auxv;
    uint32_t auxv_size, exe_fd;
};

/* Field `n` (1-based) of /proc/self/stat. */
static unsigned long long stat_field(int n)
{
    char buf[2048];
    int fd = open("/proc/self/stat", O_RDONLY);
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0)
        return 0;
    buf[len] = 0;
    char *p = strrchr(buf, ')') + 2; /* field 3 */
    for (int i = 3; i < n; i++)
        p = strchr(p, ' ') + 1;
    return strtoull(p, NULL, 10);
}

static long set_mm(int opt, unsigned long addr, unsigned long a4, unsigned long a5)
{
    return prctl(PR_SET_MM, opt, addr, a4, a5);
}

int main(int argc, char **argv)
{
    (void)argc;
    unsigned int size = 0;
    EXPECT_RET(set_mm(MM_MAP_SIZE, (unsigned long)&size, 0, 0), 0);
    check(size == sizeof(struct mm_map), "PR_SET_MM_MAP_SIZE is %u", size);

    unsigned long start_code = stat_field(26), end_code = stat_field(27), start_stack = stat_field(28);
    unsigned long start_data = stat_field(45), end_data = stat_field(46), start_brk = stat_field(47);
    unsigned long arg_start = stat_field(48), arg_end = stat_field(49), env_start = stat_field(50), env_end = stat_field(51);
    check(start_code < end_code && end_code <= start_data, "stat: code before data");
    check(start_brk >= end_data, "stat: the heap after the data");
    check(arg_start == (unsigned long)argv[0], "stat: arg_start is argv[0]");
    check(arg_end == arg_start + strlen(argv[0]) + 1, "stat: arg_end after argv[0]");
    check(env_start == arg_end && env_end >= env_start, "stat: the environment after the arguments");
    check(start_stack > (unsigned long)&size && start_stack <= (unsigned long)argv, "stat: the stack's start above main's frame, at argc");

    /* Linux's checks. */
    EXPECT_ERR(set_mm(MM_START_BRK, start_brk, 0, 1), EINVAL);
    EXPECT_ERR(set_mm(MM_START_BRK, start_brk, 1, 0), EINVAL);
    /* The single-landmark options need CAP_SYS_RESOURCE (which a
     * container's root may lack): without it in the effective set, EPERM. */
    struct { uint32_t version; int pid; } hdr = { 0x20080522, 0 };
    struct { uint32_t eff, perm, inh; } caps[2];
    EXPECT_RET(syscall(SYS_capget, &hdr, caps), 0);
    caps[0].eff &= ~(1u << 24);
    EXPECT_RET(syscall(SYS_capset, &hdr, caps), 0);
    EXPECT_ERR(set_mm(MM_START_CODE, start_code, 0, 0), EPERM);
    EXPECT_ERR(set_mm(MM_AUXV, 0, 16, 0), EPERM);
    EXPECT_ERR(set_mm(MM_EXE_FILE, 99, 0, 0), EPERM);

    /* PR_SET_MM_MAP needs no capability: every landmark at once, checked
     * as a whole. */
    unsigned long brk0 = syscall(SYS_brk, 0);
    struct mm_map m0 = { start_code, end_code, start_data, end_data, start_brk, brk0, start_stack, arg_start, arg_end, env_start, env_end, 0, 0, (uint32_t)-1 };
    struct mm_map m = m0;
    EXPECT_ERR(set_mm(MM_MAP, (unsigned long)&m, sizeof m - 1, 0), EINVAL);
    EXPECT_ERR(set_mm(MM_MAP, (unsigned long)bad_ptr_8, sizeof m, 0), EFAULT);
    m.start_code = 0x1000;
    EXPECT_ERR(set_mm(MM_MAP, (unsigned long)&m, sizeof m, 0), EINVAL);
    m = m0;
    m.end_code = start_code;
    EXPECT_ERR(set_mm(MM_MAP, (unsigned long)&m, sizeof m, 0), EINVAL);
    m = m0;
    m.env_end = env_start - 1;
    EXPECT_ERR(set_mm(MM_MAP, (unsigned long)&m, sizeof m, 0), EINVAL);
    m = m0;
    m.brk = start_brk - 1;
    EXPECT_ERR(set_mm(MM_MAP, (unsigned long)&m, sizeof m, 0), EINVAL);
    m = m0;
    m.auxv_size = 16;
    EXPECT_ERR(set_mm(MM_MAP, (unsigned long)&m, sizeof m, 0), EINVAL);
    uint64_t big[128] = { 0 };
    m.auxv = (uintptr_t)big;
    m.auxv_size = sizeof big;
    EXPECT_ERR(set_mm(MM_MAP, (unsigned long)&m, sizeof m, 0), EINVAL);
    m.auxv = (uintptr_t)bad_ptr_8;
    m.auxv_size = 16;
    EXPECT_ERR(set_mm(MM_MAP, (unsigned long)&m, sizeof m, 0), EFAULT);
    m = m0;
    m.exe_fd = 99;
    EXPECT_ERR(set_mm(MM_MAP, (unsigned long)&m, sizeof m, 0), EBADF);
    int fd = open("mapped", O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT_RET(write(fd, "mapped file\n", 12), 12);
    m.exe_fd = fd;
    EXPECT_ERR(set_mm(MM_MAP, (unsigned long)&m, sizeof m, 0), EACCES);
    int exe = open("/proc/self/exe", O_RDONLY);
    m.exe_fd = exe;
    EXPECT_ERR(set_mm(MM_MAP, (unsigned long)&m, sizeof m, 0), EBUSY);
    close(exe);

    /* The landmarks move; the stat file says so, brk(0) answers the new brk. */
    m = m0;
    m.arg_start = arg_start + 1;
    m.start_stack = start_stack - 8;
    m.brk = brk0 + 4096;
    EXPECT_RET(set_mm(MM_MAP, (unsigned long)&m, sizeof m, 0), 0);
    check(stat_field(48) == arg_start + 1, "stat: the new arg_start");
    check(stat_field(28) == start_stack - 8, "stat: the new start_stack");
    check((unsigned long)syscall(SYS_brk, 0) == brk0 + 4096, "brk(0) after PR_SET_MM_MAP");

    /* The saved aux vector: AT_PAGESZ then AT_NULL, as unsigned longs. */
    unsigned long auxv[4] = { 6, 4096, 0, 0 };
    m = m0;
    m.auxv = (uintptr_t)auxv;
    m.auxv_size = sizeof auxv;
    EXPECT_RET(set_mm(MM_MAP, (unsigned long)&m, sizeof m, 0), 0);
    check((unsigned long)syscall(SYS_brk, 0) == brk0, "brk(0) back");
    unsigned char got[512];
    int afd = open("/proc/self/auxv", O_RDONLY);
    ssize_t n = read(afd, got, sizeof got);
    close(afd);
    check(n == 32, "/proc/self/auxv holds %zd bytes", n);
    check(memcmp(got, auxv, sizeof auxv) == 0, "/proc/self/auxv is what was set");

    /* map_files: the file mapping's link. */
    char *p = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
    check(p != MAP_FAILED, "mmap of the file");
    char name[64], link[512], want[512];
    snprintf(name, sizeof name, "/proc/self/map_files/%lx-%lx", (unsigned long)p, (unsigned long)p + 8192);
    ssize_t l = readlink(name, link, sizeof link - 1);
    check(l > 0, "readlink of map_files/START-END");
    link[l > 0 ? l : 0] = 0;
    check(getcwd(want, sizeof want - 8) != NULL, "getcwd");
    strcat(want, "/mapped");
    check(strcmp(link, want) == 0, "the link names the mapped file");
    int found = 0;
    DIR *d = opendir("/proc/self/map_files");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, strrchr(name, '/') + 1) == 0)
            found = 1;
    }
    if (d)
        closedir(d);
    check(found, "map_files lists the mapping");
    munmap(p, 8192);
    check(access(name, F_OK) != 0 && errno == ENOENT, "gone after munmap");
    close(fd);
    unlink("mapped");
    return finish();
}
