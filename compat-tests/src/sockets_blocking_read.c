// sockets_blocking_read.c - plain read() and write() on TCP sockets over
// loopback that must wait: accept waits for the child's connect, read waits
// for bytes the child sends later, then sees the end. (A call that waits for
// the netstack runs again whole: read must stay read, not become another
// socket operation.)
#include "compat.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

int main(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    check(bind(l, (struct sockaddr *)&a, sizeof a) == 0, "bind 127.0.0.1");
    socklen_t al = sizeof a;
    check(getsockname(l, (struct sockaddr *)&a, &al) == 0, "getsockname");
    check(listen(l, 1) == 0, "listen");
    pid_t child = fork();
    if (child == 0) {
        pause_ms(200);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, sizeof a) != 0)
            _exit(2);
        pause_ms(200);
        if (write(c, "hello", 5) != 5)
            _exit(3);
        pause_ms(200);
        if (write(c, " world", 6) != 6)
            _exit(4);
        char back[8] = {0};
        if (read(c, back, 2) != 2 || memcmp(back, "ok", 2) != 0)
            _exit(5);
        close(c);
        _exit(0);
    }
    int s = accept(l, NULL, NULL);
    check(s >= 0, "accept waited for the connection");
    char buf[32] = {0};
    ssize_t n = read(s, buf, sizeof buf - 1);
    printf("first read: %zd \"%s\"\n", n, buf);
    check(n == 5 && strcmp(buf, "hello") == 0, "read waited for the first bytes");
    memset(buf, 0, sizeof buf);
    n = read(s, buf, sizeof buf - 1);
    printf("second read: %zd \"%s\"\n", n, buf);
    check(n == 6 && strcmp(buf, " world") == 0, "read waited for the next bytes");
    check(write(s, "ok", 2) == 2, "write back");
    n = read(s, buf, sizeof buf);
    printf("at the end: %zd\n", n);
    check(n == 0, "read sees the end");
    int st = 0;
    check(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's side went as planned (%d)", WEXITSTATUS(st));
    close(s);
    close(l);
    return finish();
}
