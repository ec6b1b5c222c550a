// signals_stop.c - stop and continue: SIGSTOP and a default SIGTSTP stop a
// child that computes (a counter in shared memory stands still), SIGCONT
// continues it; wait4 with WUNTRACED/WCONTINUED and waitid with
// WSTOPPED/WCONTINUED report each once; SIGCHLD tells CLD_STOPPED and
// CLD_CONTINUED unless SA_NOCLDSTOP; a handled SIGTSTP does not stop;
// SIGKILL ends a stopped child; a child may stop itself with raise.
#include "compat.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

static volatile long *counter;
static volatile sig_atomic_t chld_codes[8];
static volatile sig_atomic_t nchld;

static void on_chld(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    if (nchld < 8)
        chld_codes[nchld++] = si->si_code;
}

static void pause_ms(int ms)
{
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

/* Does the child's counter move within a second? */
static int moving(void)
{
    long a = *counter;
    for (int i = 0; i < 100; i++) {
        pause_ms(10);
        if (*counter != a)
            return 1;
    }
    return 0;
}

/* Does it stand still over 60 ms? */
static int still(void)
{
    long a = *counter;
    pause_ms(60);
    return *counter == a;
}

static const char *code_name(int c)
{
    switch (c) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    default: return "other";
    }
}

static volatile sig_atomic_t tstp_seen;
static void on_tstp(int sig) { (void)sig; tstp_seen++; }

int main(void)
{
    counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check(counter != MAP_FAILED, "shared counter");
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);

    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        for (;;)
            (*counter)++;
    }
    while (*counter == 0)
        pause_ms(1);
    check(moving(), "the child computes");

    int st = 0;
    EXPECT_RET(kill(c, SIGSTOP), 0);
    check(waitpid(c, &st, WUNTRACED) == c, "waitpid WUNTRACED");
    printf("SIGSTOP: stopped %d, by %s\n", WIFSTOPPED(st), WSTOPSIG(st) == SIGSTOP ? "SIGSTOP" : "other");
    check(still(), "a stopped child does not run");
    check(waitpid(c, &st, WUNTRACED | WNOHANG) == 0, "a stop is reported once");

    EXPECT_RET(kill(c, SIGCONT), 0);
    check(waitpid(c, &st, WCONTINUED) == c, "waitpid WCONTINUED");
    printf("SIGCONT: continued %d\n", WIFCONTINUED(st));
    check(moving(), "a continued child runs again");

    /* SIGTSTP's default action stops too; waitid reports it. */
    EXPECT_RET(kill(c, SIGTSTP), 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    EXPECT_RET(waitid(P_PID, c, &si, WSTOPPED), 0);
    printf("waitid: %s, status %s, pid ok %d\n", code_name(si.si_code), si.si_status == SIGTSTP ? "SIGTSTP" : "other", si.si_pid == c);
    check(still(), "SIGTSTP stopped it");
    /* WNOWAIT leaves the report for the next wait. */
    EXPECT_RET(kill(c, SIGCONT), 0);
    memset(&si, 0, sizeof si);
    EXPECT_RET(waitid(P_PID, c, &si, WCONTINUED | WNOWAIT), 0);
    printf("waitid WNOWAIT: %s\n", code_name(si.si_code));
    memset(&si, 0, sizeof si);
    EXPECT_RET(waitid(P_PID, c, &si, WCONTINUED | WNOHANG), 0);
    printf("waitid again: %s\n", code_name(si.si_code));

    /* SIGKILL ends a stopped child. */
    EXPECT_RET(kill(c, SIGSTOP), 0);
    check(waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st), "stopped again");
    EXPECT_RET(kill(c, SIGKILL), 0);
    check(waitpid(c, &st, 0) == c, "waitpid after SIGKILL");
    printf("SIGKILL a stopped child: signaled %d, by %s\n", WIFSIGNALED(st), WTERMSIG(st) == SIGKILL ? "SIGKILL" : "other");

    /* SIGCHLD told the parent of the changes (a standard signal pending
       twice is delivered once, so only which codes came is compared). */
    int saw_stop = 0, saw_cont = 0;
    for (int i = 0; i < nchld; i++) {
        saw_stop |= chld_codes[i] == CLD_STOPPED;
        saw_cont |= chld_codes[i] == CLD_CONTINUED;
    }
    printf("SIGCHLD: CLD_STOPPED seen %d, CLD_CONTINUED seen %d, last %s\n", saw_stop, saw_cont, nchld ? code_name(chld_codes[nchld - 1]) : "none");

    /* With SA_NOCLDSTOP only the end is told; a child stops itself with
       raise; a handled SIGTSTP runs its handler and does not stop. */
    nchld = 0;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        signal(SIGTSTP, on_tstp);
        raise(SIGTSTP);
        raise(SIGSTOP);
        _exit(tstp_seen == 1 ? 7 : 8);
    }
    check(waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "the child stopped itself");
    EXPECT_RET(kill(c, SIGCONT), 0);
    check(waitpid(c, &st, 0) == c, "waitpid");
    printf("after raise(SIGSTOP) and SIGCONT: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
    printf("SIGCHLD codes with SA_NOCLDSTOP:");
    for (int i = 0; i < nchld; i++)
        printf(" %s", code_name(chld_codes[i]));
    printf("\n");
    return finish();
}
