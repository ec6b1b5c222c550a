// hello.c - argv, envp and the exit status travel intact.
// args: first "two words" --flag= 42
// env: GREETING=hello SION_TEST=1
// exit: 42
#include "compat.h"

extern char **environ;

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    printf("argv[0] basename: %s\n", base);
    printf("argc: %d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]: [%s]\n", i, argv[i]);
    check(argv[argc] == NULL, "argv[argc] == NULL");

    int envc = 0;
    for (char **e = environ; *e; e++, envc++)
        printf("env: [%s]\n", *e);
    printf("envc: %d\n", envc);
    const char *g = getenv("GREETING");
    check(g && strcmp(g, "hello") == 0, "getenv(GREETING) == hello");
    check(getenv("PATH") == NULL, "no PATH in the environment");
    check(argc == 5, "argc == 5");
    check(argc == 5 && strcmp(argv[2], "two words") == 0, "argv[2] kept its space");

    if (finish())
        return 1;
    /* Exit with the status given as the last argument. */
    return atoi(argv[argc - 1]);
}
