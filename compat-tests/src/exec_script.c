// exec_script.c - execve of `#!` scripts as Linux's binfmt_script: the
// interpreter gets its one optional argument, the script's path and the
// original arguments after argv[0]; scripts naming scripts run five deep and
// the sixth is ELOOP; a missing interpreter is ENOENT, an empty `#!` line or
// a text file ENOEXEC, a script without execute permission EACCES. This
// program is its own interpreter (through /proc/self/exe's target).
// args: run
#include "compat.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char self[4096];

static void script(const char *path, const char *text, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        exit(9);
    close(fd);
    chmod(path, mode);
}

/* Run path with argv; the child's exit status, or -errno if execve failed. */
static int run(const char *path, char *const argv[])
{
    int p[2];
    if (pipe(p) != 0)
        return -1000;
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        fcntl(p[1], F_SETFD, FD_CLOEXEC);
        char *env[] = { NULL };
        execve(path, argv, env);
        int e = errno;
        if (write(p[1], &e, sizeof e) != sizeof e)
            _exit(99);
        _exit(98);
    }
    close(p[1]);
    int e = 0, st = 0;
    ssize_t n = read(p[0], &e, sizeof e);
    close(p[0]);
    waitpid(c, &st, 0);
    if (n == sizeof e)
        return -e;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "run") != 0) {
        /* Run as an interpreter: show what it was given (paths shortened). */
        printf("interpreter got %d arguments:", argc - 1);
        for (int i = 1; i < argc; i++) {
            const char *slash = strrchr(argv[i], '/');
            printf(" [%s]", slash ? slash + 1 : argv[i]);
        }
        printf("\n");
        fflush(stdout);
        return 40 + argc;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    check(n > 0, "readlink(/proc/self/exe)");
    self[n > 0 ? n : 0] = 0;
    char dir[] = "/tmp/exec_script.XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    if (chdir(dir) != 0)
        return 2;

    char text[8192];
    snprintf(text, sizeof text, "#!%s  -x  \necho never\n", self);
    script("s0", text, 0755);
    char *a[] = { "s0", "one", "two", NULL };
    check(run("./s0", a) == 45, "a script runs its interpreter with [-x] [script] [one] [two]");

    /* Five scripts naming scripts run; a sixth is ELOOP. */
    snprintf(text, sizeof text, "#!%s\n", self);
    script("n0", text, 0755);
    for (int i = 1; i <= 5; i++) {
        char name[16], t[64];
        snprintf(name, sizeof name, "n%d", i);
        snprintf(t, sizeof t, "#!%s/n%d\n", dir, i - 1);
        script(name, t, 0755);
    }
    char *b[] = { "n", NULL };
    check(run("./n4", b) == 46, "five nested scripts run (each adds the script before it)");
    check(run("./n5", b) == -ELOOP, "six are ELOOP");

    script("missing", "#!/nonexistent/interpreter\n", 0755);
    check(run("./missing", b) == -ENOENT, "a missing interpreter is ENOENT");
    script("empty", "#!\n", 0755);
    check(run("./empty", b) == -ENOEXEC, "an empty #! line is ENOEXEC");
    script("text", "just text\n", 0755);
    check(run("./text", b) == -ENOEXEC, "a text file is ENOEXEC");
    snprintf(text, sizeof text, "#!%s\n", self);
    script("noexec", text, 0644);
    check(run("./noexec", b) == -EACCES, "a script without execute permission is EACCES");
    script("noexecinterp", "#!/etc/passwd\n", 0755);
    check(run("./noexecinterp", b) == -EACCES, "an interpreter without execute permission is EACCES");
    const char *made[] = { "s0", "n0", "n1", "n2", "n3", "n4", "n5", "missing", "empty", "text", "noexec", "noexecinterp" };
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
        unlink(made[i]);
    if (chdir("/") == 0)
        rmdir(dir);
    return finish();
}
