// signals_default.c - signal actions and masks without handlers: sigaction
// set/get, SIG_IGN, blocking and pending, default actions seen by the parent
// (terminate, ignore), kill errors.
#include "compat.h"
#include <signal.h>
#include <sys/wait.h>

static void handler(int sig) { (void)sig; }

int main(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sa.sa_flags = SA_RESTART;
    EXPECT_RET(sigaction(SIGUSR1, &sa, NULL), 0);
    memset(&old, 0, sizeof old);
    EXPECT_RET(sigaction(SIGUSR1, NULL, &old), 0);
    printf("handler kept: %d, SA_RESTART kept: %d, mask has SIGUSR2: %d\n", old.sa_handler == handler, (old.sa_flags & SA_RESTART) != 0, sigismember(&old.sa_mask, SIGUSR2));
    EXPECT_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
    EXPECT_ERR(sigaction(SIGSTOP, &sa, NULL), EINVAL);
    EXPECT_RET(sigaction(SIGKILL, NULL, &old), 0);
    EXPECT_ERR(sigaction(0, NULL, &old), EINVAL);
    EXPECT_ERR(sigaction(65, NULL, &old), EINVAL);

    /* Blocked signals stay pending; SIGKILL and SIGSTOP cannot be blocked. */
    sigset_t set, cur;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGKILL);
    EXPECT_RET(sigprocmask(SIG_BLOCK, &set, NULL), 0);
    EXPECT_RET(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
    printf("blocked: SIGTERM %d, SIGKILL %d\n", sigismember(&cur, SIGTERM), sigismember(&cur, SIGKILL));
    EXPECT_RET(kill(getpid(), SIGTERM), 0);
    sigset_t pend;
    sigemptyset(&pend);
    EXPECT_RET(sigpending(&pend), 0);
    printf("pending: SIGTERM %d, SIGUSR1 %d\n", sigismember(&pend, SIGTERM), sigismember(&pend, SIGUSR1));
    /* Ignoring a pending signal discards it. */
    signal(SIGTERM, SIG_IGN);
    sigpending(&pend);
    printf("after SIG_IGN: SIGTERM pending %d\n", sigismember(&pend, SIGTERM));
    EXPECT_RET(sigprocmask(SIG_UNBLOCK, &set, NULL), 0);
    signal(SIGTERM, SIG_DFL);
    EXPECT_ERR(sigprocmask(99, &set, NULL), EINVAL);

    /* A child that blocks SIGTERM, gets it, then unblocks it: it dies then. */
    int st;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        sigprocmask(SIG_BLOCK, &set, NULL);
        kill(getpid(), SIGTERM);
        write(1, "child still alive while blocked\n", 32);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        write(1, "not reached\n", 12);
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("child: signaled %d by SIGTERM %d\n", WIFSIGNALED(st), WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);

    /* Default actions: SIGCHLD and SIGWINCH are ignored, SIGUSR1 and SIGALRM kill. */
    int sigs[] = {SIGCHLD, SIGWINCH, SIGUSR1, SIGALRM, SIGKILL};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        fflush(stdout);
        c = fork();
        if (c == 0) {
            raise(sigs[i]);
            _exit(42);
        }
        waitpid(c, &st, 0);
        if (WIFEXITED(st))
            printf("signal %d: survived (exit %d)\n", sigs[i], WEXITSTATUS(st));
        else
            printf("signal %d: killed by %d\n", sigs[i], WTERMSIG(st));
    }

    /* Ignored in the parent, ignored in the child after fork and exec alike. */
    signal(SIGUSR2, SIG_IGN);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        kill(getpid(), SIGUSR2);
        _exit(5);
    }
    waitpid(c, &st, 0);
    printf("SIGUSR2 ignored across fork: exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

    /* sigaltstack: set, read back, and the small-size error. */
    static char alt[16384];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0}, os;
    EXPECT_RET(sigaltstack(&ss, NULL), 0);
    EXPECT_RET(sigaltstack(NULL, &os), 0);
    printf("altstack: size %zu, flags %d\n", os.ss_size, os.ss_flags);
    ss.ss_size = 100;
    EXPECT_ERR(sigaltstack(&ss, NULL), ENOMEM);
    return finish();
}
