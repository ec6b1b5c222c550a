// system_shell.c - a static program runs the system's shell: system(3) and
// popen(3) exec /bin/sh (on a merged-/usr workstation a link to usr/bin,
// shared from the workstation on SiON), and the shell runs /bin/true,
// /bin/false and a pipeline; exit statuses come back through wait.
#include "compat.h"
#include <sys/wait.h>

int main(void)
{
    fflush(stdout);
    int r = system("echo hi from sh; /bin/true");
    check(r != -1 && WIFEXITED(r) && WEXITSTATUS(r) == 0, "system(true): %d", r);
    r = system("/bin/false");
    check(r != -1 && WIFEXITED(r) && WEXITSTATUS(r) == 1, "system(false): %d", r);
    r = system("exit 7");
    check(r != -1 && WIFEXITED(r) && WEXITSTATUS(r) == 7, "system(exit 7): %d", r);
    FILE *p = popen("echo one; echo two", "r");
    check(p != NULL, "popen");
    if (p) {
        char line[64];
        while (fgets(line, sizeof line, p))
            printf("popen read: %s", line);
        r = pclose(p);
        check(WIFEXITED(r) && WEXITSTATUS(r) == 0, "pclose: %d", r);
    }
    return finish();
}
