/* netserve.c - the Linux side of the network baseline (`cargo xtask net
 * --vs-linux`): the same services as SiON's netstack self-test server, on
 * Debian's kernel booted in the same QEMU. It loads the virtio network
 * modules from /modules, gives eth0 the address QEMU's user networking
 * expects (10.0.2.15/24), and serves TCP echo on 7, discard-and-count on 9,
 * and exits when anything connects to 1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *modules[] = {
    "virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci",
    "failover", "net_failover", "virtio_net",
};

static int set_addr(int s, const char *ifname, unsigned long req, const char *ip)
{
    struct ifreq r = { 0 };
    strncpy(r.ifr_name, ifname, IFNAMSIZ - 1);
    struct sockaddr_in *a = (struct sockaddr_in *)&r.ifr_addr;
    a->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &a->sin_addr);
    return ioctl(s, req, &r);
}

static int up(int s, const char *ifname)
{
    struct ifreq r = { 0 };
    strncpy(r.ifr_name, ifname, IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &r) < 0)
        return -1;
    r.ifr_flags |= IFF_UP | IFF_RUNNING;
    return ioctl(s, SIOCSIFFLAGS, &r);
}

static int listener(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4) < 0) {
        perror("listen");
        return -1;
    }
    return s;
}

int main(void)
{
    for (unsigned i = 0; i < sizeof modules / sizeof *modules; i++) {
        char path[128];
        snprintf(path, sizeof path, "/modules/%s.ko", modules[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0)
            perror(path);
        close(fd);
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    for (int tries = 0; if_nametoindex("eth0") == 0 && tries < 500; tries++)
        usleep(10000);
    if (up(s, "lo") < 0 || set_addr(s, "eth0", SIOCSIFADDR, "10.0.2.15") < 0 || set_addr(s, "eth0", SIOCSIFNETMASK, "255.255.255.0") < 0 || up(s, "eth0") < 0) {
        perror("eth0");
        return 1;
    }
    printf("netserve: serving on 10.0.2.15\n");
    fflush(stdout);
    struct pollfd p[16];
    int kind[16]; /* 0 echo listener, 1 discard listener, 2 quit, 3 echo conn, 4 discard conn */
    long count[16] = { 0 };
    int n = 3;
    p[0] = (struct pollfd){ listener(7), POLLIN, 0 }, kind[0] = 0;
    p[1] = (struct pollfd){ listener(9), POLLIN, 0 }, kind[1] = 1;
    p[2] = (struct pollfd){ listener(1), POLLIN, 0 }, kind[2] = 2;
    static char buf[65536];
    for (;;) {
        if (poll(p, n, -1) < 0)
            return 1;
        for (int i = 0; i < n; i++) {
            if (!p[i].revents)
                continue;
            if (kind[i] == 2)
                return 0;
            if (kind[i] < 2) {
                int c = accept(p[i].fd, NULL, NULL);
                if (c >= 0 && n < 16) {
                    p[n] = (struct pollfd){ c, POLLIN, 0 };
                    kind[n] = kind[i] + 3;
                    count[n] = 0;
                    n++;
                }
                continue;
            }
            ssize_t got = read(p[i].fd, buf, sizeof buf);
            if (got > 0) {
                count[i] += got;
                if (kind[i] == 3 && write(p[i].fd, buf, got) != got)
                    got = 0;
            }
            if (got <= 0) {
                if (kind[i] == 4) {
                    char line[32];
                    int l = snprintf(line, sizeof line, "%ld\n", count[i]);
                    if (write(p[i].fd, line, l) != l)
                        perror("count");
                }
                close(p[i].fd);
                p[i] = p[n - 1];
                kind[i] = kind[n - 1];
                count[i] = count[n - 1];
                n--;
                i--;
            }
        }
    }
}
