// fault_race.c - threads touching the same fresh pages at once: a fault on a
// page that another thread's fault mapped meanwhile simply resumes (SiON gave
// the second thread SIGSEGV, which killed tokio's runtime and musl's malloc
// with two or more threads); then threads allocating, filling and freeing
// blocks of many sizes at once, small (the heap) and large (mmap).
#include "compat.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#define NT 4
#define PAGES 256
#define ROUNDS 6
#define ALLOCS 600

static pthread_barrier_t bar;
static unsigned char *volatile region;

static void *toucher(void *arg)
{
    long id = (long)(intptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        pthread_barrier_wait(&bar); /* the main thread mapped a fresh region */
        unsigned char *m = region;
        for (int i = 0; i < PAGES; i++) {
            /* Half read first (a read fault), half write first. */
            if ((id + i) % 2 && m[(long)i * 4096 + NT] != 0)
                return (void *)1;
            m[(long)i * 4096 + id] = (unsigned char)(id + 1);
        }
        pthread_barrier_wait(&bar);
    }
    return NULL;
}

static void *allocator(void *arg)
{
    unsigned seed = 12345u + (unsigned)(intptr_t)arg;
    void *held[8] = {0};
    size_t sizes[8] = {0};
    for (int i = 0; i < ALLOCS; i++) {
        seed = seed * 1103515245u + 12345u;
        int slot = (seed >> 8) % 8;
        if (held[slot]) {
            unsigned char *p = held[slot];
            unsigned char want = (unsigned char)(sizes[slot] * 7);
            if (p[0] != want || p[sizes[slot] - 1] != want || p[sizes[slot] / 2] != want)
                return (void *)1;
            free(p);
        }
        /* Mostly small blocks, now and then one past musl's and glibc's mmap threshold. */
        size_t n = (seed >> 12) % 16 == 0 ? 150000 + (seed >> 16) % 100000 : 1 + (seed >> 16) % 3000;
        unsigned char *p = malloc(n);
        if (!p)
            return (void *)1;
        memset(p, (unsigned char)(n * 7), n);
        held[slot] = p;
        sizes[slot] = n;
    }
    for (int s = 0; s < 8; s++)
        free(held[s]);
    return NULL;
}

static int run(void *(*fn)(void *))
{
    pthread_t t[NT];
    int ok = 1;
    for (long i = 0; i < NT; i++)
        ok &= pthread_create(&t[i], NULL, fn, (void *)(intptr_t)i) == 0;
    if (fn == toucher) {
        for (int r = 0; r < ROUNDS; r++) {
            unsigned char *m = mmap(NULL, PAGES * 4096L, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED)
                return 0;
            region = m;
            pthread_barrier_wait(&bar);
            pthread_barrier_wait(&bar);
            for (int i = 0; i < PAGES; i++)
                for (int id = 0; id < NT; id++)
                    ok &= m[(long)i * 4096 + id] == id + 1;
            munmap(m, PAGES * 4096L);
        }
    }
    for (int i = 0; i < NT; i++) {
        void *r = (void *)1;
        ok &= pthread_join(t[i], &r) == 0 && r == NULL;
    }
    return ok;
}

int main(void)
{
    pthread_barrier_init(&bar, NULL, NT + 1);
    check(run(toucher), "%d threads touched %d fresh pages at once, %d times, and each page holds every thread's byte", NT, PAGES, ROUNDS);
    check(run(allocator), "%d threads allocated, filled, checked and freed %d blocks each at once", NT, ALLOCS);
    return finish();
}
