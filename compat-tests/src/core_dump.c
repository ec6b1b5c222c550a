// core_dump.c - core files and the wait status's core-dump bit, with
// /proc/sys/kernel/core_pattern "core" (Linux's default; a host that pipes
// cores to a program fails this test): RLIMIT_CORE 0 or under a page, not
// dumpable, SIGKILL: no core; otherwise an ELF ET_CORE file "core" (mode
// 0600) in the working directory with NT_PRSTATUS (signal, pid), the
// memory of anonymous mappings but not MADV_DONTDUMP ones nor, with
// coredump_filter 0, any; RLIMIT_CORE truncates it; waitid says
// CLD_DUMPED. The runner leaves the hard RLIMIT_CORE unlimited: the test
// raises its soft limit (0 by default) itself.
// abis: musl, glibc, glibc-dyn
#include "compat.h"
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* The headers of the core (its first 64 KiB) and what a scan found. */
static char core_buf[65536];

/* 64 bytes made at run time (never a literal of the program's image). */
static void pattern(unsigned char *p, int seed)
{
    for (int i = 0; i < 64; i++)
        p[i] = (unsigned char)(0x80 | ((i * 7 + seed) & 0x7f));
}

static void read_text(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    ssize_t got = fd >= 0 ? read(fd, buf, n - 1) : -1;
    buf[got > 0 ? got : 0] = 0;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
    if (fd >= 0)
        close(fd);
}

/* Fork a child that marks two mappings, sets its core limit, and dies of
 * `sig`; returns its wait status (and its pid through *pid). */
static int run_child(int sig, rlim_t limit, int dumpable, const char *filter, int *pid)
{
    fflush(stdout);
    int c = fork();
    if (c == 0) {
        struct rlimit r;
        getrlimit(RLIMIT_CORE, &r);
        r.rlim_cur = limit;
        setrlimit(RLIMIT_CORE, &r);
        if (!dumpable)
            prctl(PR_SET_DUMPABLE, 0);
        if (filter) {
            int fd = open("/proc/self/coredump_filter", O_WRONLY);
            write(fd, filter, strlen(filter));
            close(fd);
        }
        char *keep = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        char *skip = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        pattern((unsigned char *)keep + 4096, 13);
        pattern((unsigned char *)skip + 4096, 29);
        madvise(skip, 8192, MADV_DONTDUMP);
        kill(getpid(), sig);
        _exit(99);
    }
    int st = 0;
    waitpid(c, &st, 0);
    *pid = c;
    return st;
}

/* Read the core's first 64 KiB into core_buf; tell whether the whole file
 * holds the patterns of seeds 13 and 29 (a scan that keeps no pattern in
 * memory: a later child's core must not find it in this process's copy). */
static size_t load_core(int *kept, int *skipped)
{
    unsigned char want[2][64];
    pattern(want[0], 13);
    pattern(want[1], 29);
    int at[2] = { 0, 0 }, found[2] = { 0, 0 };
    memset(core_buf, 0, sizeof core_buf);
    int fd = open("core", O_RDONLY);
    if (fd < 0) {
        *kept = *skipped = 0;
        return 0;
    }
    size_t n = 0;
    static unsigned char chunk[65536];
    ssize_t got;
    while ((got = read(fd, chunk, sizeof chunk)) > 0) {
        for (ssize_t i = 0; i < got; i++, n++) {
            unsigned char c = chunk[i];
            if (n < sizeof core_buf)
                core_buf[n] = (char)c;
            for (int k = 0; k < 2; k++) {
                at[k] = c == want[k][at[k]] ? at[k] + 1 : c == want[k][0];
                if (at[k] == 64) {
                    found[k] = 1;
                    at[k] = 0;
                }
            }
        }
        memset(chunk, 0, sizeof chunk);
    }
    close(fd);
    memset(want, 0, sizeof want);
    *kept = found[0];
    *skipped = found[1];
    return n;
}

int main(void)
{
    char text[256];
    read_text("/proc/sys/kernel/core_pattern", text, sizeof text);
    check(strcmp(text, "core") == 0, "core_pattern is \"core\" (got \"%s\")", text);
    read_text("/proc/sys/kernel/core_uses_pid", text, sizeof text);
    printf("core_uses_pid: %s\n", text);
    read_text("/proc/self/coredump_filter", text, sizeof text);
    printf("coredump_filter: %s\n", text);

    char dir[64] = "/tmp/compat-core-XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    check(chdir(dir) == 0, "chdir");
    int pid;

    int st = run_child(SIGABRT, 0, 1, NULL, &pid);
    printf("RLIMIT_CORE 0: signal %d, core bit %d, file %d\n", WTERMSIG(st), WCOREDUMP(st) != 0, access("core", F_OK) == 0);
    st = run_child(SIGABRT, 4095, 1, NULL, &pid);
    printf("RLIMIT_CORE 4095: core bit %d, file %d\n", WCOREDUMP(st) != 0, access("core", F_OK) == 0);
    st = run_child(SIGABRT, RLIM_INFINITY, 0, NULL, &pid);
    printf("not dumpable: core bit %d, file %d\n", WCOREDUMP(st) != 0, access("core", F_OK) == 0);
    st = run_child(SIGKILL, RLIM_INFINITY, 1, NULL, &pid);
    printf("SIGKILL: core bit %d, file %d\n", WCOREDUMP(st) != 0, access("core", F_OK) == 0);
    st = run_child(SIGTERM, RLIM_INFINITY, 1, NULL, &pid);
    printf("SIGTERM: core bit %d, file %d\n", WCOREDUMP(st) != 0, access("core", F_OK) == 0);

    st = run_child(SIGSEGV, RLIM_INFINITY, 1, NULL, &pid);
    printf("SIGSEGV: signalled %d, signal %d, core bit %d\n", WIFSIGNALED(st), WTERMSIG(st), WCOREDUMP(st) != 0);
    struct stat sb;
    check(stat("core", &sb) == 0, "a file named core");
    printf("core: regular %d, mode %o\n", S_ISREG(sb.st_mode), sb.st_mode & 07777);
    int kept, skipped;
    size_t n = load_core(&kept, &skipped);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)core_buf;
    check(n > sizeof *eh && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0, "an ELF file");
    printf("class %d, type %d, machine %d\n", eh->e_ident[EI_CLASS], eh->e_type, eh->e_machine);
    Elf64_Phdr *ph = (Elf64_Phdr *)(core_buf + eh->e_phoff);
    printf("first program header is PT_NOTE: %d\n", ph[0].p_type == PT_NOTE);
    int loads = 0;
    for (int i = 0; i < eh->e_phnum; i++)
        loads += ph[i].p_type == PT_LOAD;
    printf("PT_LOADs: %d\n", loads > 2);
    // The first note: NT_PRSTATUS named CORE, si_signo and pr_pid.
    Elf64_Nhdr *nh = (Elf64_Nhdr *)(core_buf + ph[0].p_offset);
    const char *name = (const char *)(nh + 1);
    const unsigned char *desc = (const unsigned char *)name + ((nh->n_namesz + 3) & ~3u);
    int32_t signo, prpid;
    memcpy(&signo, desc, 4);
    memcpy(&prpid, desc + 32, 4);
    printf("first note: type %u, name %s, signal %d, its pid %d\n", nh->n_type, name, signo, prpid == pid);
    printf("kept mapping in the core: %d, MADV_DONTDUMP mapping: %d\n", kept, skipped);

    st = run_child(SIGQUIT, RLIM_INFINITY, 1, "0", &pid);
    load_core(&kept, &skipped);
    printf("coredump_filter 0: core bit %d, anonymous memory in it %d\n", WCOREDUMP(st) != 0, kept);

    st = run_child(SIGABRT, 4096, 1, NULL, &pid);
    check(stat("core", &sb) == 0, "core again");
    printf("RLIMIT_CORE 4096: core bit %d, truncated %d\n", WCOREDUMP(st) != 0, sb.st_size > 0 && sb.st_size <= 4096);

    fflush(stdout);
    int c = fork();
    if (c == 0) {
        struct rlimit r;
        getrlimit(RLIMIT_CORE, &r);
        r.rlim_cur = RLIM_INFINITY;
        setrlimit(RLIMIT_CORE, &r);
        abort();
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    EXPECT_RET(waitid(P_PID, c, &si, WEXITED), 0);
    printf("waitid: code CLD_DUMPED %d, status %d\n", si.si_code == CLD_DUMPED, si.si_status);

    unlink("core");
    chdir("/");
    rmdir(dir);
    return finish();
}
