// proc_exec.c - execve of the test itself with new argv and envp, close-on-exec,
// #! scripts, signals across execve (mask and pending kept, handlers reset),
// and the errors of execve (ENOENT, EACCES, ENOEXEC, EFAULT).
#include "compat.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char self[4096];

static int run(char *const argv[], char *const envp[])
{
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        execve(self, argv, envp);
        _exit(100 + errno);
    }
    int st = 0;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}

int main(int argc, char **argv, char **envp)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0) {
        printf("exec'd child: argc %d, argv[2] %s, FOO=%s\n", argc, argc > 2 ? argv[2] : "-", getenv("FOO") ? getenv("FOO") : "(unset)");
        return 11;
    }
    if (argc >= 3 && strcmp(argv[1], "fd") == 0) {
        int fd = atoi(argv[2]);
        errno = 0;
        int r = fcntl(fd, F_GETFD);
        printf("fd %s after exec: %s\n", argv[3], r < 0 ? errno_name(errno) : "open");
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "pending") == 0) {
        /* Exec'd with SIGUSR1 blocked and pending, its handler gone. */
        sigset_t now, mask;
        sigpending(&now);
        sigprocmask(SIG_BLOCK, NULL, &mask);
        struct sigaction sa;
        sigaction(SIGUSR1, NULL, &sa);
        printf("after exec: SIGUSR1 pending %d, blocked %d, handler %s\n", sigismember(&now, SIGUSR1), sigismember(&mask, SIGUSR1),
               sa.sa_handler == SIG_DFL ? "SIG_DFL" : "kept");
        fflush(stdout);
        /* Its default action now: the process ends here. */
        sigprocmask(SIG_UNBLOCK, &mask, NULL);
        printf("still alive after unblocking\n");
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "script") == 0) {
        printf("via script: argc %d, last %s\n", argc, argv[argc - 1]);
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    check(n > 0, "readlink /proc/self/exe");
    if (n <= 0)
        return finish();
    self[n] = 0;
    (void)envp;

    char *a1[] = {"prog", "child", "two words", NULL};
    char *e1[] = {"FOO=bar", NULL};
    int code = run(a1, e1);
    printf("child exit code %d\n", code);
    check(code == 11, "exec'd program's exit code");

    char *a2[] = {"prog", "child", NULL};
    char *e2[] = {NULL};
    check(run(a2, e2) == 11, "empty environment");

    /* A caught signal blocked and pending at execve: still pending and
       blocked after it, with the default action, which kills on unblocking. */
    {
        fflush(stdout);
        pid_t c = fork();
        if (c == 0) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = (void (*)(int))exit;
            sigaction(SIGUSR1, &sa, NULL);
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGUSR1);
            sigprocmask(SIG_BLOCK, &set, NULL);
            raise(SIGUSR1);
            char *a[] = {"prog", "pending", NULL};
            execve(self, a, e2);
            _exit(100 + errno);
    }
    int pst = 0;
    waitpid(c, &pst, 0);
    printf("exec'd with SIGUSR1 pending: %s %d\n", WIFSIGNALED(pst) ? "killed by signal" : "exited", WIFSIGNALED(pst) ? WTERMSIG(pst) : WEXITSTATUS(pst));
    check(WIFSIGNALED(pst) && WTERMSIG(pst) == SIGUSR1, "the pending signal's default action after exec");
    }

    /* Close-on-exec: one descriptor with FD_CLOEXEC goes, one without stays. */
    int keep = open("/dev/null", O_RDONLY);
    int gone = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char kb[16], gb[16];
    snprintf(kb, sizeof kb, "%d", keep);
    snprintf(gb, sizeof gb, "%d", gone);
    char *a3[] = {"prog", "fd", kb, "without-cloexec", NULL};
    run(a3, e2);
    char *a4[] = {"prog", "fd", gb, "with-cloexec", NULL};
    run(a4, e2);

    /* A #! script naming this program as its interpreter. */
    char script[64];
    snprintf(script, sizeof script, "exec_script_%d.sh", 1);
    FILE *f = fopen(script, "w");
    fprintf(f, "#!%s script\necho not run by a shell\n", self);
    fclose(f);
    chmod(script, 0755);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char *a[] = {script, "arg1", NULL};
        execve(script, a, e2);
        _exit(100 + errno);
    }
    int st;
    waitpid(c, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the script ran");

    /* Errors. */
    char *none[] = {"x", NULL};
    EXPECT_ERR(execve("/no/such/program", none, e2), ENOENT);
    EXPECT_ERR(execve("/", none, e2), EACCES);
    f = fopen("plain.txt", "w");
    fprintf(f, "just text\n");
    fclose(f);
    EXPECT_ERR(execve("plain.txt", none, e2), EACCES);
    chmod("plain.txt", 0755);
    EXPECT_ERR(execve("plain.txt", none, e2), ENOEXEC);
    EXPECT_ERR(execve(bad_ptr_8, none, e2), EFAULT);
    EXPECT_ERR(execve(self, bad_ptr_8, e2), EFAULT);
    unlink("plain.txt");
    unlink(script);
    return finish();
}
