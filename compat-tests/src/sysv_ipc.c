// sysv_ipc.c - System V IPC between processes: a shared memory segment
// shared across fork and attaches (same bytes, nattch, IPC_RMID living on
// until the last detach), semaphores (arrays all or nothing, IPC_NOWAIT,
// a wait woken by another process, GETNCNT, SEM_UNDO undone at exit,
// semtimedop's timeout, EIDRM on removal, ERANGE, EFBIG, E2BIG), message
// queues (by type, MSG_EXCEPT, MSG_NOERROR, E2BIG, a blocked receive woken
// by a sender), keys with IPC_CREAT/IPC_EXCL, and the errors of each call.
// Everything is IPC_PRIVATE or an unlikely key, removed at the end; no ids
// or pids are printed.
#include "compat.h"
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static int wait_child(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A key no other run uses at once (the host's namespace is shared by the
 * test's builds running side by side): from the pid, never printed. */
static key_t unique_key(int tag)
{
    return (key_t)(((unsigned)tag << 16) | (((unsigned)getpid() << 1) & 0xfffe));
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void test_shm(void)
{
    int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    check(id >= 0, "shmget IPC_PRIVATE");
    struct shmid_ds ds;
    EXPECT_RET(shmctl(id, IPC_STAT, &ds), 0);
    check(ds.shm_segsz == 10000 && ds.shm_nattch == 0 && (ds.shm_perm.mode & 0777) == 0600, "IPC_STAT: size, nattch 0, mode");
    check(ds.shm_cpid == getpid() && ds.shm_lpid == 0, "IPC_STAT: cpid is the creator, lpid 0");
    char *p = shmat(id, NULL, 0);
    check(p != (void *)-1, "shmat NULL");
    check(p[0] == 0 && p[9999] == 0, "a new segment is zero");
    strcpy(p, "parent");
    EXPECT_RET(shmctl(id, IPC_STAT, &ds), 0);
    check(ds.shm_nattch == 1 && ds.shm_lpid == getpid() && ds.shm_atime != 0, "after shmat: nattch 1, lpid, atime");

    /* A second attach of the same segment: the same bytes. */
    char *q = shmat(id, NULL, SHM_RDONLY);
    check(q != (void *)-1 && q != p, "second shmat (SHM_RDONLY) at another address");
    check(strcmp(q, "parent") == 0, "the second attach sees the first's bytes");
    p[0] = 'P';
    check(q[0] == 'P', "a write through one attach is seen through the other");
    EXPECT_RET(shmctl(id, IPC_STAT, &ds), 0);
    check(ds.shm_nattch == 2, "nattch 2");
    EXPECT_RET(shmdt(q), 0);
    EXPECT_ERR(shmdt(q), EINVAL);

    /* Across fork: the child inherits the attach and writes; a child that
     * attaches anew sees the same segment. */
    pid_t pid = fork();
    if (pid == 0) {
        struct shmid_ds d;
        int ok = shmctl(id, IPC_STAT, &d) == 0 && d.shm_nattch == 2;
        strcpy(p + 100, "child");
        char *r = shmat(id, NULL, 0);
        ok = ok && r != (void *)-1 && strcmp(r, "Parent") == 0;
        strcpy(r + 200, "child2");
        _exit(ok ? 0 : 1);
    }
    check(wait_child(pid) == 0, "the child saw the segment, nattch 2 after fork");
    check(strcmp(p + 100, "child") == 0 && strcmp(p + 200, "child2") == 0, "the parent sees the child's writes");
    EXPECT_RET(shmctl(id, IPC_STAT, &ds), 0);
    check(ds.shm_nattch == 1, "the child's attaches went at its exit");

    /* IPC_RMID while attached: it lives on until the last detach. */
    EXPECT_RET(shmctl(id, IPC_RMID, NULL), 0);
    EXPECT_RET(shmctl(id, IPC_STAT, &ds), 0);
    check((ds.shm_perm.mode & SHM_DEST) != 0 && ds.shm_nattch == 1, "removed while attached: SHM_DEST, still attached");
    check(strcmp(p, "Parent") == 0, "the bytes are still there");
    EXPECT_RET(shmdt(p), 0);
    EXPECT_ERR(shmctl(id, IPC_STAT, &ds), EINVAL);

    /* Keys and errors. */
    key_t key = unique_key(0x51a0);
    int k = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
    check(k >= 0, "shmget key IPC_CREAT|IPC_EXCL");
    EXPECT_RET(shmget(key, 4096, 0600) == k, 1);
    EXPECT_RET(shmget(key, 100, 0) == k, 1);
    EXPECT_ERR(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    EXPECT_ERR(shmget(key, 8192, 0600), EINVAL);
    EXPECT_ERR(shmget(key + 1, 4096, 0600), ENOENT);
    EXPECT_ERR(shmget(IPC_PRIVATE, 0, 0600), EINVAL);
    EXPECT_ERR(shmat(-1, NULL, 0), EINVAL);
    EXPECT_ERR(shmat(k, (void *)0x10001, 0), EINVAL);
    EXPECT_ERR(shmat(k, NULL, SHM_REMAP), EINVAL);
    EXPECT_ERR(shmctl(k, 12345, &ds), EINVAL);
    /* A given address, SHM_RND and SHM_REMAP. */
    char *a = shmat(k, NULL, 0);
    check(a != (void *)-1, "shmat of the keyed segment");
    EXPECT_RET(shmdt(a), 0);
    char *b = shmat(k, a + 1, SHM_RND);
    check(b == a, "SHM_RND rounds the address down");
    EXPECT_ERR(shmat(k, a, 0), EINVAL);
    char *c = shmat(k, a, SHM_REMAP);
    check(c == a, "SHM_REMAP over an attach");
    EXPECT_RET(shmdt(c), 0);
    struct shminfo info;
    check(shmctl(0, IPC_INFO, (struct shmid_ds *)&info) >= 0 && info.shmmin == 1, "IPC_INFO: shmmin 1");
    EXPECT_RET(shmctl(k, IPC_RMID, NULL), 0);
    EXPECT_ERR(shmctl(k, IPC_RMID, NULL), EINVAL);
}

static void test_sem(void)
{
    int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    check(id >= 0, "semget 3 semaphores");
    EXPECT_ERR(semget(IPC_PRIVATE, 0, 0600), EINVAL);
    EXPECT_ERR(semget(IPC_PRIVATE, -1, 0600), EINVAL);
    EXPECT_RET(semctl(id, 0, GETVAL), 0);
    EXPECT_RET(semctl(id, 1, SETVAL, (union semun){ .val = 5 }), 0);
    EXPECT_RET(semctl(id, 1, GETVAL), 5);
    EXPECT_ERR(semctl(id, 3, GETVAL), EINVAL);
    EXPECT_ERR(semctl(id, 0, SETVAL, (union semun){ .val = 40000 }), ERANGE);
    unsigned short vals[3] = { 1, 2, 3 }, got[3] = { 0 };
    EXPECT_RET(semctl(id, 0, SETALL, (union semun){ .array = vals }), 0);
    EXPECT_RET(semctl(id, 0, GETALL, (union semun){ .array = got }), 0);
    check(got[0] == 1 && got[1] == 2 && got[2] == 3, "GETALL after SETALL");
    EXPECT_RET(semctl(id, 2, GETPID) == getpid(), 1);

    /* All or nothing. */
    struct sembuf two[2] = { { 0, -1, 0 }, { 1, -5, IPC_NOWAIT } };
    EXPECT_ERR(semop(id, two, 2), EAGAIN);
    EXPECT_RET(semctl(id, 0, GETVAL), 1);
    struct sembuf bad = { 3, 1, 0 };
    EXPECT_ERR(semop(id, &bad, 1), EFBIG);
    EXPECT_ERR(semop(id, two, 0), EINVAL);
    EXPECT_ERR(semop(id, two, 100000), E2BIG);
    struct sembuf big = { 0, 32767, 0 };
    EXPECT_ERR(semop(id, &big, 1), ERANGE);
    struct sembuf zero = { 0, 0, IPC_NOWAIT };
    EXPECT_ERR(semop(id, &zero, 1), EAGAIN);

    /* A child waits on semaphore 2 going down by 10; the parent adds. */
    EXPECT_RET(semctl(id, 2, SETVAL, (union semun){ .val = 0 }), 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct sembuf down = { 2, -10, 0 };
        _exit(semop(id, &down, 1) == 0 ? 0 : 1);
    }
    int n = 0;
    for (int i = 0; i < 200 && (n = semctl(id, 2, GETNCNT)) != 1; i++)
        sleep_ms(10);
    check(n == 1, "GETNCNT 1 while the child waits");
    struct sembuf up = { 2, 6, 0 };
    EXPECT_RET(semop(id, &up, 1), 0);
    sleep_ms(50);
    EXPECT_RET(semctl(id, 2, GETVAL), 6);
    EXPECT_RET(semop(id, &up, 1), 0);
    check(wait_child(pid) == 0, "the child's semop finished once the value was 12");
    EXPECT_RET(semctl(id, 2, GETVAL), 2);
    EXPECT_RET(semctl(id, 2, GETNCNT), 0);

    /* SEM_UNDO: a child's operations are undone when it exits. */
    pid = fork();
    if (pid == 0) {
        struct sembuf u = { 1, 3, SEM_UNDO };
        struct sembuf d = { 0, -1, SEM_UNDO };
        if (semop(id, &u, 1) != 0 || semop(id, &d, 1) != 0)
            _exit(1);
        _exit(semctl(id, 1, GETVAL) == 5 && semctl(id, 0, GETVAL) == 0 ? 0 : 2);
    }
    check(wait_child(pid) == 0, "the child's SEM_UNDO operations were done");
    EXPECT_RET(semctl(id, 1, GETVAL), 2);
    EXPECT_RET(semctl(id, 0, GETVAL), 1);

    /* semtimedop's timeout. */
    struct timespec ts = { 0, 50 * 1000000L };
    struct sembuf wait0 = { 0, -2, 0 };
    EXPECT_ERR(semtimedop(id, &wait0, 1, &ts), EAGAIN);
    struct timespec badts = { 0, 2000000000L };
    EXPECT_ERR(semtimedop(id, &wait0, 1, &badts), EINVAL);

    struct semid_ds ds;
    EXPECT_RET(semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }), 0);
    check(ds.sem_nsems == 3 && (ds.sem_perm.mode & 0777) == 0600 && ds.sem_otime != 0, "IPC_STAT: nsems 3, mode, otime");
    ds.sem_perm.mode = 0640;
    EXPECT_RET(semctl(id, 0, IPC_SET, (union semun){ .buf = &ds }), 0);
    EXPECT_RET(semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }), 0);
    check((ds.sem_perm.mode & 0777) == 0640, "IPC_SET changed the mode");

    /* Removal wakes a waiter with EIDRM. */
    pid = fork();
    if (pid == 0) {
        struct sembuf d = { 0, -5, 0 };
        int r = semop(id, &d, 1);
        _exit(r == -1 && errno == EIDRM ? 0 : 1);
    }
    for (int i = 0; i < 200 && semctl(id, 0, GETNCNT) != 1; i++)
        sleep_ms(10);
    EXPECT_RET(semctl(id, 0, IPC_RMID), 0);
    check(wait_child(pid) == 0, "the waiting child got EIDRM");
    EXPECT_ERR(semctl(id, 0, GETVAL), EINVAL);

    key_t key = unique_key(0x5e3a);
    int k = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
    check(k >= 0, "semget with a key");
    EXPECT_RET(semget(key, 1, 0) == k, 1);
    EXPECT_ERR(semget(key, 3, 0), EINVAL);
    EXPECT_ERR(semget(key, 2, IPC_CREAT | IPC_EXCL), EEXIST);
    EXPECT_RET(semctl(k, 0, IPC_RMID), 0);
}

static void on_alarm(int sig)
{
    (void)sig;
}

struct m {
    long mtype;
    char text[64];
};

static void test_msg(void)
{
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    check(id >= 0, "msgget IPC_PRIVATE");
    struct m s;
    const char *texts[] = { "three", "one-a", "two", "one-b" };
    long types[] = { 3, 1, 2, 1 };
    for (int i = 0; i < 4; i++) {
        s.mtype = types[i];
        strcpy(s.text, texts[i]);
        EXPECT_RET(msgsnd(id, &s, strlen(texts[i]) + 1, 0), 0);
    }
    struct msqid_ds ds;
    EXPECT_RET(msgctl(id, IPC_STAT, &ds), 0);
    check(ds.msg_qnum == 4 && ds.msg_cbytes == 22 && ds.msg_qbytes == 16384 && ds.msg_lspid == getpid(), "IPC_STAT: qnum 4, cbytes 22, qbytes 16384, lspid");
    struct m r;
    EXPECT_RET(msgrcv(id, &r, sizeof r.text, 2, 0), 4);
    check(r.mtype == 2 && strcmp(r.text, "two") == 0, "msgrcv type 2");
    EXPECT_RET(msgrcv(id, &r, sizeof r.text, -2, 0), 6);
    check(r.mtype == 1 && strcmp(r.text, "one-a") == 0, "msgrcv type <= 2: the lowest type first");
    EXPECT_RET(msgrcv(id, &r, sizeof r.text, 1, MSG_EXCEPT), 6);
    check(r.mtype == 3 && strcmp(r.text, "three") == 0, "MSG_EXCEPT 1");
    EXPECT_ERR(msgrcv(id, &r, 2, 0, 0), E2BIG);
    EXPECT_RET(msgrcv(id, &r, 3, 0, MSG_NOERROR), 3);
    check(memcmp(r.text, "one", 3) == 0, "MSG_NOERROR cuts the message");
    EXPECT_ERR(msgrcv(id, &r, sizeof r.text, 0, IPC_NOWAIT), ENOMSG);
    s.mtype = 0;
    EXPECT_ERR(msgsnd(id, &s, 4, 0), EINVAL);
    s.mtype = 1;
    EXPECT_ERR(msgsnd(id, &s, 100000, 0), EINVAL);
    EXPECT_ERR(msgsnd(-1, &s, 4, 0), EINVAL);

    /* A receiver waits; a sender wakes it. */
    pid_t pid = fork();
    if (pid == 0) {
        struct m x;
        long n = msgrcv(id, &x, sizeof x.text, 7, 0);
        _exit(n == 5 && x.mtype == 7 && strcmp(x.text, "late") == 0 ? 0 : 1);
    }
    sleep_ms(100);
    s.mtype = 7;
    strcpy(s.text, "late");
    EXPECT_RET(msgsnd(id, &s, 5, 0), 0);
    check(wait_child(pid) == 0, "the waiting receiver got the message");

    /* A full queue: IPC_NOWAIT, then a sender that waits until a receive. */
    EXPECT_RET(msgctl(id, IPC_STAT, &ds), 0);
    ds.msg_qbytes = 10;
    EXPECT_RET(msgctl(id, IPC_SET, &ds), 0);
    s.mtype = 1;
    EXPECT_RET(msgsnd(id, &s, 8, 0), 0);
    EXPECT_ERR(msgsnd(id, &s, 8, IPC_NOWAIT), EAGAIN);
    pid = fork();
    if (pid == 0)
        _exit(msgsnd(id, &s, 8, 0) == 0 ? 0 : 1);
    sleep_ms(100);
    EXPECT_RET(msgrcv(id, &r, sizeof r.text, 0, 0), 8);
    check(wait_child(pid) == 0, "the waiting sender sent once there was room");
    EXPECT_RET(msgctl(id, IPC_STAT, &ds), 0);
    check(ds.msg_qnum == 1 && ds.msg_qbytes == 10, "qnum 1, qbytes 10");

    /* MSG_COPY: a copy of the n-th message, left in the queue. */
    EXPECT_RET(msgrcv(id, &r, sizeof r.text, 0, MSG_COPY | IPC_NOWAIT), 8);
    EXPECT_ERR(msgrcv(id, &r, sizeof r.text, 1, MSG_COPY | IPC_NOWAIT), ENOMSG);
    EXPECT_ERR(msgrcv(id, &r, sizeof r.text, 0, MSG_COPY), EINVAL);
    EXPECT_ERR(msgrcv(id, &r, sizeof r.text, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT), EINVAL);
    EXPECT_RET(msgctl(id, IPC_STAT, &ds), 0);
    check(ds.msg_qnum == 1, "MSG_COPY left the message");

    /* A signal handler interrupts a wait: EINTR (even with SA_RESTART). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    EXPECT_ERR(msgrcv(id, &r, sizeof r.text, 99, 0), EINTR);

    /* Removal wakes a waiting receiver with EIDRM. */
    pid = fork();
    if (pid == 0) {
        struct m x;
        long n = msgrcv(id, &x, sizeof x.text, 42, 0);
        _exit(n == -1 && errno == EIDRM ? 0 : 1);
    }
    sleep_ms(100);
    EXPECT_RET(msgctl(id, IPC_RMID, NULL), 0);
    check(wait_child(pid) == 0, "the waiting receiver got EIDRM");
    EXPECT_ERR(msgsnd(id, &s, 4, 0), EINVAL);

    key_t key = unique_key(0x3e5a);
    int k = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    check(k >= 0, "msgget with a key");
    EXPECT_RET(msgget(key, 0) == k, 1);
    EXPECT_ERR(msgget(key, IPC_CREAT | IPC_EXCL), EEXIST);
    EXPECT_ERR(msgget(key + 1, 0), ENOENT);
    EXPECT_RET(msgctl(k, IPC_RMID, NULL), 0);
}


#if defined(__i386__)
/* i386: the old `ipc` multiplexer without IPC_64 (the old 16-bit-id
 * structures), its msgrcv kludge and shmat through a pointer, and the
 * direct calls of Linux 5.1 (the 64-bit structures). */
struct old_ipc_perm {
    int key;
    unsigned short uid, gid, cuid, cgid, mode, seq;
};
struct old_shmid_ds {
    struct old_ipc_perm perm;
    int segsz;
    int atime, dtime, ctime;
    unsigned short cpid, lpid, nattch, unused;
    void *u2, *u3;
};
struct old_msqid_ds {
    struct old_ipc_perm perm;
    void *first, *last;
    int stime, rtime, ctime;
    unsigned long lcbytes, lqbytes;
    unsigned short cbytes, qnum, qbytes, lspid, lrpid;
};

static void test_i386(void)
{
    int id = shmget(IPC_PRIVATE, 5000, IPC_CREAT | 0640);
    unsigned long addr = 0;
    EXPECT_RET(syscall(SYS_ipc, 21 /* SHMAT */, id, 0, &addr, 0, 0), 0);
    check(addr != 0, "ipc SHMAT writes the address through its pointer");
    struct old_shmid_ds o;
    memset(&o, 0xff, sizeof o);
    EXPECT_RET(syscall(SYS_ipc, 24 /* SHMCTL */, id, IPC_STAT, 0, &o, 0), 0);
    check(sizeof o == 48 && o.segsz == 5000 && o.nattch == 1 && (o.perm.mode & 0777) == 0640 && o.perm.uid == (unsigned short)getuid(), "old shmid_ds: segsz, nattch, mode, uid");
    struct shmid_ds n;
    EXPECT_RET(syscall(396 /* shmctl */, id, IPC_STAT, &n), 0);
    check(n.shm_segsz == 5000 && n.shm_nattch == 1 && n.shm_cpid == getpid(), "direct shmctl: shmid64_ds");
    EXPECT_ERR(syscall(396, id, IPC_STAT | 0x100, &n), EINVAL);
    EXPECT_RET(syscall(SYS_ipc, 22 /* SHMDT */, 0, 0, 0, addr, 0), 0);
    EXPECT_RET(syscall(396, id, IPC_RMID, 0), 0);

    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct m s = { 5, "five" };
    EXPECT_RET(syscall(400 /* msgsnd */, q, &s, 5, 0), 0);
    EXPECT_RET(syscall(SYS_ipc, 11 /* MSGSND */, q, 4, 0, &s, 0), 0);
    struct old_msqid_ds om;
    EXPECT_RET(syscall(SYS_ipc, 14 /* MSGCTL */, q, IPC_STAT, 0, &om, 0), 0);
    check(sizeof om == 56 && om.qnum == 2 && om.cbytes == 9 && om.qbytes == 16384 && (om.perm.mode & 0777) == 0600, "old msqid_ds: qnum, cbytes, qbytes, mode");
    struct m r;
    struct { void *msgp; long msgtyp; } kludge = { &r, 5 };
    EXPECT_RET(syscall(SYS_ipc, 12 /* MSGRCV */, q, sizeof r.text, 0, &kludge, 0), 5);
    check(r.mtype == 5 && strcmp(r.text, "five") == 0, "ipc MSGRCV version 0: through ipc_kludge");
    EXPECT_RET(syscall(SYS_ipc, 12 | (1 << 16), q, sizeof r.text, 0, &r, 0), 4);
    EXPECT_ERR(syscall(401 /* msgrcv */, q, &r, sizeof r.text, 0, IPC_NOWAIT), ENOMSG);
    EXPECT_RET(syscall(402 /* msgctl */, q, IPC_RMID, 0), 0);

    int sid = syscall(393 /* semget */, IPC_PRIVATE, 2, IPC_CREAT | 0600);
    check(sid >= 0, "direct semget");
    EXPECT_RET(syscall(394 /* semctl */, sid, 1, SETVAL, 7), 0);
    int seven = 0;
    EXPECT_RET(syscall(SYS_ipc, 3 /* SEMCTL */, sid, 1, GETVAL, &seven, 0), 7);
    struct sembuf d = { 0, -1, 0 };
    struct { long long sec; long long nsec; } t64 = { 0, 20 * 1000000 };
    EXPECT_ERR(syscall(420 /* semtimedop_time64 */, sid, &d, 1, &t64), EAGAIN);
    struct { long sec; long nsec; } t32 = { 0, 20 * 1000000 };
    EXPECT_ERR(syscall(SYS_ipc, 4 /* SEMTIMEDOP */, sid, 1, 0, &d, &t32), EAGAIN);
    struct sembuf u = { 0, 2, 0 };
    EXPECT_RET(syscall(SYS_ipc, 1 /* SEMOP */, sid, 1, 0, &u, 0), 0);
    EXPECT_RET(syscall(394, sid, 0, GETVAL, 0), 2);
    EXPECT_RET(syscall(394, sid, 0, IPC_RMID, 0), 0);
}
#endif

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    test_shm();
    test_sem();
    test_msg();
#if defined(__i386__)
    test_i386();
#endif
    return finish();
}
