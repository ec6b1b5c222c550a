// exit.c - exit(263) reaches the parent as 263 & 0xff == 7; atexit handlers and
// buffered stdout are flushed by libc before exit_group.
// args: 263
// exit: 7
#include "compat.h"

static void on_exit_handler(void)
{
    printf("atexit handler ran\n");
}

int main(int argc, char **argv)
{
    check(argc == 2, "argc == 2");
    if (argc != 2)
        return finish();
    int status = atoi(argv[1]);
    check(status == 263, "status argument is 263");
    check(atexit(on_exit_handler) == 0, "atexit registered");
    printf("exiting with %d (expect the parent to see %d)\n", status, status & 0xff);
    if (compat_failed)
        return finish();
    /* Deliberately no newline-terminated flush: exit() must flush stdout. */
    printf("unflushed tail");
    exit(status);
}
