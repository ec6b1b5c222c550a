// fork_bomb.c - a bounded fork bomb: children that wait are forked until fork
// fails or 300 exist. On SiON the job's process cap stops it with EAGAIN; the
// node goes on: every child is reaped and fork works again afterwards.
#include "compat.h"
#include <signal.h>
#include <sys/wait.h>

int main(void)
{
    int gate[2];
    check(pipe(gate) == 0, "pipe");
    int made = 0, err = 0;
    fflush(stdout);
    while (made < 300) {
        pid_t c = fork();
        if (c < 0) {
            err = errno;
            break;
        }
        if (c == 0) {
            char b;
            close(gate[1]);
            read(gate[0], &b, 1);
            _exit(0);
        }
        made++;
    }
    printf("forked at least 30 children: %s\n", made >= 30 ? "yes" : "no");
    printf("stopped by: %s\n", err == 0 || err == EAGAIN ? "the limit (EAGAIN) or the count" : errno_name(err));
    check(made >= 30, "at least 30 children");
    check(err == 0 || err == EAGAIN, "only EAGAIN stops the loop");
    close(gate[1]); /* EOF: every child exits */
    int reaped = 0, st;
    while (wait(&st) > 0)
        reaped++;
    check(reaped == made, "every child reaped");
    printf("all reaped: %s\n", reaped == made ? "yes" : "no");
    pid_t c = fork();
    if (c == 0)
        _exit(4);
    waitpid(c, &st, 0);
    printf("fork after the bomb: exit %d\n", WEXITSTATUS(st));
    return finish();
}
