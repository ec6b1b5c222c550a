// proc.c - the files of /proc and /etc a program looks at: /proc/self/
// {exe,fd,maps,stat,status,cmdline,environ}, /proc/{cpuinfo,meminfo,uptime,
// loadavg,stat}, /etc/passwd lookups, uname and sysinfo figures.
// args: one "two words"
// env: COMPAT=1
#include "compat.h"
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

static long slurp(const char *path, char *buf, long size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -errno;
    long n = 0, r;
    while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
        n += r;
    buf[n] = 0;
    close(fd);
    return n;
}

static int has_line(const char *text, const char *prefix)
{
    size_t l = strlen(prefix);
    for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, prefix, l) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    static char buf[65536];
    long n = slurp("/proc/self/cmdline", buf, sizeof buf);
    check(n > 0, "cmdline readable");
    int args = 0;
    for (long i = 0; i < n; i++)
        args += buf[i] == 0;
    printf("cmdline: %d NUL-terminated args, last: %s\n", args, buf + n - 10);
    n = slurp("/proc/self/environ", buf, sizeof buf);
    printf("environ: %.*s\n", (int)n - 1, buf);
    n = slurp("/proc/self/status", buf, sizeof buf);
    check(n > 0 && has_line(buf, "Name:") && has_line(buf, "Pid:") && has_line(buf, "Uid:") && has_line(buf, "VmRSS:"), "status has Name, Pid, Uid, VmRSS");
    n = slurp("/proc/self/stat", buf, sizeof buf);
    char comm[64];
    int pid;
    char state;
    check(sscanf(buf, "%d (%63[^)]) %c", &pid, comm, &state) == 3 && pid == getpid(), "stat starts with the pid, (comm) and a state");
    printf("stat comm is the program's name: %d\n", strncmp(comm, "proc", 4) == 0);
    n = slurp("/proc/self/maps", buf, sizeof buf);
    check(n > 0 && strstr(buf, "[stack]") != NULL, "maps lists the stack");
    struct stat st;
    EXPECT_RET(stat("/proc/self/exe", &st), 0);
    check(S_ISREG(st.st_mode), "/proc/self/exe is the program file");
    int fd = open("/etc/hostname", O_RDONLY);
    char link[256];
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    printf("fd link: %s\n", link);
    DIR *d = opendir("/proc/self/fd");
    int fds = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        fds += e->d_name[0] != '.';
    closedir(d);
    check(fds >= 5, "at least 5 fds listed (0, 1, 2, the file and the directory)");
    close(fd);

    n = slurp("/proc/meminfo", buf, sizeof buf);
    long total = 0, avail = 0;
    sscanf(strstr(buf, "MemTotal:"), "MemTotal: %ld", &total);
    sscanf(strstr(buf, "MemAvailable:"), "MemAvailable: %ld", &avail);
    check(total > 1000 && avail > 0 && avail <= total, "meminfo: MemTotal > 1000 kB, 0 < MemAvailable <= MemTotal");
    n = slurp("/proc/cpuinfo", buf, sizeof buf);
    check(has_line(buf, "processor") && has_line(buf, "model name"), "cpuinfo has processor and model name");
    n = slurp("/proc/uptime", buf, sizeof buf);
    double up = 0, idle = 0;
    check(sscanf(buf, "%lf %lf", &up, &idle) == 2 && up > 0, "uptime: two numbers, uptime > 0");
    n = slurp("/proc/loadavg", buf, sizeof buf);
    double l1;
    check(sscanf(buf, "%lf", &l1) == 1, "loadavg starts with a number");
    n = slurp("/proc/stat", buf, sizeof buf);
    check(has_line(buf, "cpu ") && has_line(buf, "btime"), "stat has cpu and btime lines");
    EXPECT_RET(stat("/proc/cpuinfo", &st), 0);
    printf("/proc/cpuinfo size %ld (proc files report 0)\n", (long)st.st_size);
    EXPECT_ERR(open("/proc/nope", O_RDONLY), ENOENT);

    struct passwd *pw = getpwuid(getuid());
    check(pw != NULL, "getpwuid finds the current user");
    if (pw)
        printf("passwd: uid matches %d, home starts with /: %d\n", pw->pw_uid == getuid(), pw->pw_dir[0] == '/');
    struct utsname u;
    EXPECT_RET(uname(&u), 0);
    printf("uname: %s %s\n", u.sysname, u.machine);
    struct sysinfo si;
    EXPECT_RET(sysinfo(&si), 0);
    check(si.totalram > 0 && si.freeram <= si.totalram && si.uptime >= 0 && si.mem_unit >= 1, "sysinfo figures are plausible");
    return finish();
}
