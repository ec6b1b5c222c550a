//! The dispatch tables: for each ABI, which Linux system calls the personality
//! implements, by which handler, and how completely. This is the single source
//! of truth for the coverage report; every number not listed answers -ENOSYS
//! and is logged by name.

use super::names::{i386 as n32, x86_64 as n64};
use crate::layout::Abi;
use crate::sys::{self, Handler};

/// Sockets: what works.
const INET: &str = "AF_INET stream (TCP) and datagram (UDP) through the netstack; AF_UNIX stream, datagram and seqpacket within the job; IPv6: EAFNOSUPPORT";
const INET_IO: &str = "MSG_PEEK, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_TRUNC (AF_UNIX); MSG_WAITALL and other flags ignored";
const MSG: &str = "the address and the iovec; SCM_RIGHTS on AF_UNIX (SCM_CREDENTIALS accepted on send, never received); control messages on AF_INET: EINVAL";
const SOCKOPT: &str = "SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF, SO_LINGER, SO_TYPE, SO_ERROR, TCP_NODELAY (kept, read back); others ENOPROTOOPT";

/// How a structure-returning variant of a call lays out its result.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StatLayout {
    /// x86_64 `struct stat`.
    Stat64,
    /// i386 `struct stat64`.
    I386Stat64,
    /// i386 old `struct stat`.
    I386Old,
}

/// What an extended-attribute call does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum XattrOp {
    Get,
    Set,
    List,
    Remove,
}

/// What it names: a path (following a final symlink), a path (not
/// following it: the l* calls) or a descriptor (the f* calls).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum XattrOn {
    Path,
    Link,
    Fd,
}

/// How completely a call is implemented.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Complete,
    /// Works for the cases described; other cases return the errno noted.
    Partial(&'static str),
}

/// One call of an ABI: Linux's number and name, the handler, how complete.
#[derive(Clone, Copy)]
pub struct Entry {
    pub nr: u32,
    pub name: &'static str,
    pub handler: Handler,
    pub status: Status,
    /// The call only reads the caller's process, other processes' ids or the
    /// clock, and writes only the caller's memory: it cannot wake a waiting
    /// call, set a timer, print, end anything or raise a signal. The server
    /// answers such a call with its next receive without its upkeep (the
    /// console, waiting calls, timers): the personality's fast dispatch.
    pub quiet: bool,
}

impl core::fmt::Debug for Entry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Entry").field("nr", &self.nr).field("name", &self.name).field("status", &self.status).finish()
    }
}

const fn e(nr: u32, name: &'static str, handler: Handler, status: Status) -> Entry {
    Entry { nr, name, handler, status, quiet: false }
}

impl Entry {
    /// Mark the row [`Entry::quiet`].
    const fn quiet(self) -> Entry {
        Entry { quiet: true, ..self }
    }
}

use Status::{Complete as C, Partial as P};
const IPC_SHM_GET: &str = "per job (the job is the IPC namespace): IPC_PRIVATE and keys, IPC_CREAT/IPC_EXCL, SHMMIN/SHMMAX, the mode's rights; the segment's pages are taken at once (Linux takes them on first touch)";
const IPC_SHM_AT: &str = "the segment's own frames in every attach and across fork; NULL or a given address, SHM_RND, SHM_RDONLY, SHM_EXEC, SHM_REMAP; detached at exit and exec";
const IPC_SHM_DT: &str = "the attach at that address; an attach partly unmapped stays attached";
const IPC_SHM_CTL: &str = "IPC_STAT, SHM_STAT, SHM_STAT_ANY, IPC_SET, IPC_RMID (the segment lives until its last detach), IPC_INFO, SHM_INFO, SHM_LOCK/SHM_UNLOCK (kept as a flag: nothing is swapped)";
const IPC_SEM_GET: &str = "per job: IPC_PRIVATE and keys, IPC_CREAT/IPC_EXCL, SEMMSL, the mode's rights";
const IPC_SEM_OP: &str = "atomic arrays, SEM_UNDO (applied at exit), IPC_NOWAIT, waits woken when the job changes, EINTR by a handler, timeouts, EIDRM on removal; waiters are not served in Linux's order";
const IPC_SEM_CTL: &str = "GETVAL, SETVAL, GETALL, SETALL, GETPID, GETNCNT, GETZCNT, IPC_STAT, SEM_STAT, SEM_STAT_ANY, IPC_SET, IPC_RMID, IPC_INFO, SEM_INFO";
const IPC_MSG_GET: &str = "per job: IPC_PRIVATE and keys, IPC_CREAT/IPC_EXCL, the mode's rights";
const IPC_MSG_SND: &str = "waits while the queue is full (msg_qbytes), IPC_NOWAIT, EINTR by a handler, EIDRM on removal";
const IPC_MSG_RCV: &str = "by type (0, >0, <0, MSG_EXCEPT), MSG_NOERROR, E2BIG, MSG_COPY, IPC_NOWAIT, waits, EINTR, EIDRM";
const IPC_MSG_CTL: &str = "IPC_STAT, MSG_STAT, MSG_STAT_ANY, IPC_SET (msg_qbytes past msgmnb takes CAP_SYS_RESOURCE), IPC_RMID, IPC_INFO, MSG_INFO";
const IPC_IPC_MUX: &str = "the System V calls of i386's multiplexer, with the old structures unless IPC_64 (msgrcv's ipc_kludge, shmat's address through the pointer)";

const CONSOLE: &str = "files, devices, pipes, sockets and the job console";
const OPEN: &str = "O_TMPFILE EOPNOTSUPP; /dev/tty ENXIO (no controlling terminal)";
const POLL: &str = "files, devices, pipes, sockets and the job console (a change anywhere in the job wakes a waiting call)";
const MOUNT: &str = "tmpfs (size=, mode=, uid=, gid=; its own st_dev and statfs), views of /proc and /dev, MS_BIND of directories (a view keeps its directory's `..`), MS_REMOUNT, MS_MOVE, MS_RDONLY (EROFS; per file system), MS_NOEXEC, MS_NODEV, MS_NOSYMFOLLOW, the access-time flags; MS_NOSUID shown only; propagation flags accepted (one namespace per job); other file system types ENODEV (no block file systems); root only";
const UMOUNT: &str = "EBUSY while a file or working directory is in it, MNT_DETACH (files live on while open), MNT_EXPIRE, UMOUNT_NOFOLLOW; MNT_FORCE as a plain unmount; the file systems there from the start (/, /proc, /dev) stay (EBUSY)";
const IOCTL: &str = "FIONREAD, FIOCLEX, FIONCLEX, FIONBIO, FS_IOC_GETFLAGS (no flags) and FS_IOC_SETFLAGS (no flags only); loop devices (LOOP_SET_FD, LOOP_CONFIGURE, LOOP_CLR_FD, LOOP_SET/GET_STATUS(64), LOOP_SET_BLOCK_SIZE, LOOP_CTL_GET_FREE/ADD/REMOVE, BLKGETSIZE(64), BLKSSZGET); terminal requests ENOTTY (no terminals)";
const FCNTL: &str = "DUPFD(_CLOEXEC), GETFD/SETFD, GETFL/SETFL, GETPIPE_SZ/SETPIPE_SZ; record locks (POSIX and OFD) enforced between the job's processes as Linux (F_SETLKW waits, EDEADLK, GETLK reports the holder); locks on pipes, sockets and the console are granted and not kept; SETLEASE/GETLEASE with lease breaks (SIGIO to the holder, the opener waits up to 45 s); SETOWN(_EX)/SETSIG with O_ASYNC signals from pipes, FIFOs, the console, inotify and AF_UNIX sockets' input (not from inet sockets); F_NOTIFY (dnotify) on directories";
const IDS: &str = "one process: root may set any id, others only their own; the saved id follows";
const AFFINITY: &str = "any CPU of the node runs any thread: the mask is every CPU, and only that mask can be set (a narrower one is EINVAL)";
const ACCT: &str = "BSD process accounting of the job's processes (struct acct_v3 at each process's end, CAP_SYS_PACCT); no system time, I/O or page-fault counts, no ASU flag, no suspension when the disk fills";
const AIO: &str = "native AIO: a ring mapped at the context's address (libaio reads it); reads, writes and fsyncs complete at submission as on tmpfs, IOCB_FLAG_RESFD signals an eventfd; IOCB_CMD_POLL completes when its file is ready, looked at as events are read; io_cancel cancels a pending poll";
const EPOLL: &str = "readiness of the console streams and devices, level- or edge-triggered (EPOLLET by wake-ups for pipes, the console and inotify, by rising readiness for the others), EPOLLONESHOT, EPOLLEXCLUSIVE waking one waiter; no EPOLLPRI; regular files EPERM as Linux; stdin wakes a waiting call";
const TIMERS: &str = "ITIMER_REAL (and alarm) sends SIGALRM at expiry, repeating by its interval; ITIMER_VIRTUAL and ITIMER_PROF are kept and report their time left but send no signal";
const LOCKS: &str = "shared and exclusive locks of an open file description, enforced between the job's processes (a conflict waits, or EWOULDBLOCK with LOCK_NB); on pipes, sockets and the console granted and not kept";
const MMAP: &str = "anonymous and file mappings; MAP_SHARED file mappings are the file's bytes in shared frames, the same frames in every mapping of the file in the job (futexes in them shared), written back on msync, munmap and exit; not coherent with read/write in between";
const FORK: &str = "a copy-on-write copy of the process";
const CLONE: &str = "processes (fork, vfork, posix_spawn flags; CLONE_VM without CLONE_THREAD is a copy-on-write fork); threads (CLONE_THREAD with CLONE_VM|CLONE_SIGHAND, CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID); new mount, UTS and time namespaces (CLONE_NEWNS, CLONE_NEWUTS, clone3's CLONE_NEWTIME); IPC, PID, network, user and cgroup ones EINVAL";
const UNSHARE: &str = "new mount (a copy of the mount table), UTS and time (for the children) namespaces, with CAP_SYS_ADMIN; IPC, PID, network, user and cgroup ones EINVAL (not built in); files, fs, memory and handlers are a single-threaded process's alone already (with threads: EINVAL, they share them and their namespaces here)";
const SETNS: &str = "a /proc/PID/ns file of a mount, UTS or time namespace, with Linux's checks per type; a pidfd is EINVAL";
const EXEC: &str = "ELF64/ELF32 programs, static or dynamic (the interpreter loaded as binfmt_elf does), and #! scripts (nested up to 5 deep) from the job's file tree; foreign ELF ENOEXEC";
const WAIT: &str = "exited and killed children, stopped (WUNTRACED/WSTOPPED) and continued (WCONTINUED) ones; waitid also by pidfd (P_PIDFD)";
const EXIT: &str = "ends the calling thread (clear_child_tid written and woken, robust futexes released); the process ends with its last thread";
const ROBUST: &str = "walked when a thread ends: futexes it holds get FUTEX_OWNER_DIED and a waiter is woken";
const FUTEX: &str = "WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET, WAKE_BITSET, private or not (keyed by process and address, or by shared anonymous mapping and offset across processes), timeouts; the PI operations: ENOSYS";
const SIGNALFD: &str = "reads signalfd_siginfo records of the pending signals in its set (signo, code, pid, uid, status, addr)";
const KILL: &str = "default actions (terminate, core as terminate, stop and continue, ignore) and handlers (x86_64 and i386 frames, SA_SIGINFO, SA_RESTART, SA_ONSTACK, SA_NODEFER, SA_RESETHAND), also for a thread computing without calls (it is interrupted)";
const SIGACT: &str = "all flags kept; the frame holds the FPU and SSE state (FXSAVE) and sigreturn restores it";
const MLOCK: &str = "ranges checked as Linux (ENOMEM for unmapped or, without MLOCK_ONFAULT, PROT_NONE pages); SiON never swaps, so nothing else is done; RLIMIT_MEMLOCK (without root) bounds one call, not the sum of locked pages";
const MLOCKALL: &str = "flags checked; SiON never swaps, so nothing else is done; RLIMIT_MEMLOCK (without root) against the mapped total for MCL_CURRENT, not applied to later mappings for MCL_FUTURE";
const PRIO: &str = "per process (a thread id names its process), PRIO_PROCESS, PRIO_PGRP, PRIO_USER, RLIMIT_NICE and the owner rules; kept and reported, the scheduler has one priority";
const PRCTL: &str = "PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_SET_PDEATHSIG/PR_GET_PDEATHSIG (sent when the parent process ends, not its thread), PR_SET_MM (every option, Linux's checks); other options EINVAL";
const MKNOD: &str = "regular files, FIFOs (named pipes: opens wait for the other side as Linux) and socket names; character and block devices for root only (EPERM otherwise), opened as SiON's own devices when the number is null, zero, full, random or urandom, ENXIO otherwise";
const XATTR_GET: &str = "the file tree stores no extended attributes: ENODATA for user., trusted., security. and the ACL names, EOPNOTSUPP for others; name, path and permission errors as Linux";
const XATTR_SET: &str = "the file tree stores no extended attributes: EOPNOTSUPP after Linux's checks (flags, name, size, path, permissions)";
const XATTR_LIST: &str = "the file tree stores no extended attributes: always an empty list";
const XATTR_REMOVE: &str = "the file tree stores no extended attributes: ENODATA (nothing to remove) after Linux's checks";
const POSIX_TIMER: &str = "CLOCK_REALTIME, MONOTONIC, BOOTTIME, TAI and the caller's CPU clocks, which count the CPU time of the thread that created the timer (or that SIGEV_THREAD_ID names) and are looked at no later than the CPU time left could pass on every CPU at once; SIGEV_SIGNAL (SI_TIMER, si_timerid, si_overrun, si_value), SIGEV_NONE, SIGEV_THREAD_ID; TIMER_ABSTIME; overruns counted while the signal is pending; the alarm clocks EOPNOTSUPP (no RTC to wake the node)";
const TIMERFD: &str = "CLOCK_REALTIME, MONOTONIC, BOOTTIME (the alarm clocks need CAP_WAKE_ALARM, which no job holds: EPERM); TFD_TIMER_ABSTIME; TFD_TIMER_CANCEL_ON_SET accepted, never cancels: a job cannot set the real-time clock; no TFD_IOC_SET_TICKS";
const SYSLOG: &str = "the job's kernel log (the personality's lines about it) with Debian's dmesg_restrict: CAP_SYSLOG or CAP_SYS_ADMIN; the console actions are the node's (EPERM)";
const MEMBARRIER: &str = "QUERY, GLOBAL, GLOBAL_EXPEDITED, PRIVATE_EXPEDITED and SYNC_CORE with their registrations (a TLB shootdown of each space concerned); no RSEQ commands, as Linux without CONFIG_RSEQ";
const INOTIFY: &str = "events of the job's own operations on its tree (no IN_UNMOUNT; the inode replaced by a rename gets no IN_ATTRIB); no /proc/PID/fdinfo";
const MQ_NOTIFY: &str = "SIGEV_SIGNAL and SIGEV_NONE; SIGEV_THREAD needs an AF_NETLINK socket, which SiON lacks (ENOTSOCK, EINVAL for another socket; glibc answers ENOSYS)";
const CAPS: &str = "per process: every capability for root, none for others (dropped when root changes its uid, back at exec as root); capset keeps Linux's rules (nothing gained); consulted by F_SETPIPE_SZ, sched_setscheduler";
const SCHED: &str = "per process of the job (a thread id names its process): SCHED_OTHER, BATCH, IDLE, FIFO and RR (1-99, CAP_SYS_NICE or RLIMIT_RTPRIO), SCHED_RESET_ON_FORK, the owner rules; kept and reported, the node runs every thread round-robin in one class";
const FUTEX_WAITV: &str = "up to 128 32-bit futexes, private or shared, woken by any FUTEX_WAKE (or requeue, wake-op, robust release) of one of them; absolute timeout on CLOCK_REALTIME or CLOCK_MONOTONIC; no flags";
const REMAP: &str = "as Linux emulates it (an mmap(MAP_SHARED|MAP_FIXED) of the same object from pgoff): System V segment attaches (EINVAL once the segment is gone, the range left unmapped); private mappings EINVAL; shared file and anonymous mappings EINVAL (not offered)";
const NUMA: &str = "one memory node (0), as Linux without NUMA: modes, flags and node masks checked as Linux, the process's and each range's policy kept and reported; nothing moves (every page is on node 0)";
const PKEYS: &str = "no protection keys (as Linux on a CPU without PKU): pkey_alloc ENOSPC after its checks, pkey_free EINVAL, pkey_mprotect with key -1 is mprotect";
const IOPRIO: &str = "per process, IOPRIO_WHO_PROCESS/PGRP/USER, classes and levels checked (RT needs CAP_SYS_ADMIN), the owner rules; kept and reported (files are in memory: no I/O to order)";
const FSID: &str = "the ids file access is checked with; taken with CAP_SETUID/CAP_SETGID or when it is the caller's own, the old one returned";
const RWF: &str = "offset -1 is the file position; RWF_HIPRI, DSYNC, SYNC accepted (files are in memory), RWF_APPEND appends, RWF_NOWAIT on pipes and sockets (EAGAIN rather than a wait), EOPNOTSUPP elsewhere as on Linux 6.1 (tmpfs has no FMODE_NOWAIT)";
const PIDFD: &str = "a descriptor naming a process of the job (close-on-exec), readable in poll/epoll once it ended; signals as kill or rt_sigqueueinfo; pidfd_getfd copies a description (same user or CAP_SYS_PTRACE); pidfd_send_signal also through an open /proc/<pid>; waitid P_PIDFD (PIDFD_NONBLOCK: EAGAIN while it runs); no PIDFD_THREAD, no CLONE_PIDFD";
const REBOOT: &str = "reboots the job as Linux a child PID namespace: restart ends it as killed by SIGHUP, halt and power-off by SIGINT; other commands EINVAL";
const NO_CTTY: &str = "with CAP_SYS_TTY_CONFIG succeeds: a job's processes have no controlling terminal to hang up";
const NODE: &str = "the node's, not a job's: its capability is out of every job's bounding set (as a container's), so Linux's argument checks then EPERM";
const ADJTIME: &str = "reads the clock's state (unsynchronised: TIME_ERROR, STA_UNSYNC); any change needs CAP_SYS_TIME, which no job holds: EPERM";
const SPLICE: &str = "between a pipe and a regular file, or pipe to any descriptor that takes bytes (file, pipe, socket, console), with loff_t offsets; a socket or the console into a pipe: EINVAL";
const VMCOPY: &str = "between the caller and any process of the job (same user or CAP_SYS_PTRACE), iovecs on both sides, a short count at the first hole";
const SLEEP: &str = "a signal with a handler interrupts it (EINTR, never restarted, as Linux; a relative sleep writes the time it had left)";

/// The x86_64 table, sorted by number.
pub static X86_64: &[Entry] = &[
    e(n64::READ, "read", sys::fs_rw::read, P(CONSOLE)),
    e(n64::WRITE, "write", sys::fs_rw::write, P(CONSOLE)),
    e(n64::OPEN, "open", sys::fd::open, P(OPEN)),
    e(n64::CLOSE, "close", sys::fd::close, C),
    e(n64::STAT, "stat", sys::fs_stat::stat, C),
    e(n64::FSTAT, "fstat", sys::fs_stat::fstat, C),
    e(n64::LSTAT, "lstat", sys::fs_stat::lstat, C),
    e(n64::POLL, "poll", sys::poll::poll, P(POLL)),
    e(n64::LSEEK, "lseek", sys::fs_rw::lseek, C),
    e(n64::MMAP, "mmap", sys::mm::mmap, P(MMAP)),
    e(n64::MPROTECT, "mprotect", sys::mm::mprotect, C),
    e(n64::MUNMAP, "munmap", sys::mm::munmap, C),
    e(n64::BRK, "brk", sys::mm::brk, C),
    e(n64::RT_SIGACTION, "rt_sigaction", sys::signal::rt_sigaction, P(SIGACT)),
    e(n64::RT_SIGPROCMASK, "rt_sigprocmask", sys::signal::rt_sigprocmask, C),
    e(n64::RT_SIGRETURN, "rt_sigreturn", sys::signal::rt_sigreturn, C),
    e(n64::IOCTL, "ioctl", sys::fd::ioctl, P(IOCTL)),
    e(n64::PREAD64, "pread64", sys::fs_rw::pread64, C),
    e(n64::PWRITE64, "pwrite64", sys::fs_rw::pwrite64, C),
    e(n64::READV, "readv", sys::fs_rw::readv, P(CONSOLE)),
    e(n64::WRITEV, "writev", sys::fs_rw::writev, P(CONSOLE)),
    e(n64::ACCESS, "access", sys::fs_meta::access, C),
    e(n64::PIPE, "pipe", sys::objects::pipe, C),
    e(n64::SELECT, "select", sys::poll::select, P(POLL)),
    e(n64::SCHED_YIELD, "sched_yield", sys::sched::sched_yield, C).quiet(),
    e(n64::MREMAP, "mremap", sys::mm::mremap, P("MAYMOVE and FIXED; DONTUNMAP EINVAL")),
    e(n64::MSYNC, "msync", sys::mm::msync, C),
    e(n64::MINCORE, "mincore", sys::mm::mincore, C),
    e(n64::MADVISE, "madvise", sys::mm::madvise, P("as Linux without KSM, THP or memory-failure injection: DONTNEED/FREE drop private pages (private file pages come back zero, not from the file), REMOVE punches the hole, DONTDUMP, WIPEONFORK, DONTFORK kept; the paging advice checked and accepted, nothing to do")),
    e(n64::SHMGET, "shmget", sys::ipc::shmget, P(IPC_SHM_GET)),
    e(n64::SHMAT, "shmat", sys::ipc::shmat, P(IPC_SHM_AT)),
    e(n64::SHMCTL, "shmctl", sys::ipc::shmctl, P(IPC_SHM_CTL)),
    e(n64::DUP, "dup", sys::fd::dup, C),
    e(n64::DUP2, "dup2", sys::fd::dup2, C),
    e(n64::PAUSE, "pause", sys::signal::pause, C),
    e(n64::NANOSLEEP, "nanosleep", sys::time::nanosleep, P(SLEEP)),
    e(n64::GETITIMER, "getitimer", sys::time::getitimer, P(TIMERS)),
    e(n64::ALARM, "alarm", sys::time::alarm, P(TIMERS)),
    e(n64::SETITIMER, "setitimer", sys::time::setitimer, P(TIMERS)),
    e(n64::GETPID, "getpid", sys::ids::getpid, C).quiet(),
    e(n64::SENDFILE, "sendfile", sys::fs_rw::sendfile, P("from regular files")),
    e(n64::SOCKET, "socket", sys::socket::socket, P(INET)),
    e(n64::CONNECT, "connect", sys::socket::connect, P(INET)),
    e(n64::ACCEPT, "accept", sys::socket::accept, P(INET)),
    e(n64::SENDTO, "sendto", sys::socket::sendto, P(INET_IO)),
    e(n64::RECVFROM, "recvfrom", sys::socket::recvfrom, P(INET_IO)),
    e(n64::SENDMSG, "sendmsg", sys::socket::sendmsg, P(MSG)),
    e(n64::RECVMSG, "recvmsg", sys::socket::recvmsg, P(MSG)),
    e(n64::SHUTDOWN, "shutdown", sys::socket::shutdown, P(INET)),
    e(n64::BIND, "bind", sys::socket::bind, P(INET)),
    e(n64::LISTEN, "listen", sys::socket::listen, P(INET)),
    e(n64::GETSOCKNAME, "getsockname", sys::socket::getsockname, P(INET)),
    e(n64::GETPEERNAME, "getpeername", sys::socket::getpeername, P(INET)),
    e(n64::SOCKETPAIR, "socketpair", sys::socket::socketpair, P("AF_UNIX (AF_INET: EOPNOTSUPP)")),
    e(n64::SETSOCKOPT, "setsockopt", sys::socket::setsockopt, P(SOCKOPT)),
    e(n64::GETSOCKOPT, "getsockopt", sys::socket::getsockopt, P(SOCKOPT)),
    e(n64::CLONE, "clone", sys::process::clone, P(CLONE)),
    e(n64::FORK, "fork", sys::process::fork, P(FORK)),
    e(n64::VFORK, "vfork", sys::process::vfork, P("the parent waits until the child execs or exits; the child has a copy-on-write copy of the memory, not the parent's")),
    e(n64::EXECVE, "execve", sys::process::execve, P(EXEC)),
    e(n64::EXIT, "exit", sys::process::exit, P(EXIT)),
    e(n64::WAIT4, "wait4", sys::process::wait4, P(WAIT)),
    e(n64::KILL, "kill", sys::signal::kill, P(KILL)),
    e(n64::UNAME, "uname", sys::system::uname, C).quiet(),
    e(n64::SEMGET, "semget", sys::ipc::semget, P(IPC_SEM_GET)),
    e(n64::SEMOP, "semop", sys::ipc::semop, P(IPC_SEM_OP)),
    e(n64::SEMCTL, "semctl", sys::ipc::semctl, P(IPC_SEM_CTL)),
    e(n64::SHMDT, "shmdt", sys::ipc::shmdt, P(IPC_SHM_DT)),
    e(n64::MSGGET, "msgget", sys::ipc::msgget, P(IPC_MSG_GET)),
    e(n64::MSGSND, "msgsnd", sys::ipc::msgsnd, P(IPC_MSG_SND)),
    e(n64::MSGRCV, "msgrcv", sys::ipc::msgrcv, P(IPC_MSG_RCV)),
    e(n64::MSGCTL, "msgctl", sys::ipc::msgctl, P(IPC_MSG_CTL)),
    e(n64::FCNTL, "fcntl", sys::fd::fcntl, P(FCNTL)),
    e(n64::FLOCK, "flock", sys::fd::flock, P(LOCKS)),
    e(n64::FSYNC, "fsync", sys::fs_meta::fsync, C),
    e(n64::FDATASYNC, "fdatasync", sys::fs_meta::fsync, C),
    e(n64::TRUNCATE, "truncate", sys::fs_meta::truncate, C),
    e(n64::FTRUNCATE, "ftruncate", sys::fs_meta::ftruncate, C),
    e(n64::GETDENTS, "getdents", sys::fs_dir::getdents, C),
    e(n64::GETCWD, "getcwd", sys::fs_dir::getcwd, C),
    e(n64::CHDIR, "chdir", sys::fs_dir::chdir, C),
    e(n64::FCHDIR, "fchdir", sys::fs_dir::fchdir, C),
    e(n64::RENAME, "rename", sys::fs_dir::rename, C),
    e(n64::MKDIR, "mkdir", sys::fs_dir::mkdir, C),
    e(n64::RMDIR, "rmdir", sys::fs_dir::rmdir, C),
    e(n64::CREAT, "creat", sys::fd::creat, C),
    e(n64::LINK, "link", sys::fs_dir::link, C),
    e(n64::UNLINK, "unlink", sys::fs_dir::unlink, C),
    e(n64::SYMLINK, "symlink", sys::fs_dir::symlink, C),
    e(n64::READLINK, "readlink", sys::fs_dir::readlink, C),
    e(n64::CHMOD, "chmod", sys::fs_meta::chmod, C),
    e(n64::FCHMOD, "fchmod", sys::fs_meta::fchmod, C),
    e(n64::CHOWN, "chown", sys::fs_meta::chown, C),
    e(n64::FCHOWN, "fchown", sys::fs_meta::fchown, C),
    e(n64::LCHOWN, "lchown", sys::fs_meta::lchown, C),
    e(n64::UMASK, "umask", sys::fs_meta::umask, C),
    e(n64::GETTIMEOFDAY, "gettimeofday", sys::time::gettimeofday, C).quiet(),
    e(n64::GETRLIMIT, "getrlimit", sys::resource::getrlimit, C),
    e(n64::GETRUSAGE, "getrusage", sys::resource::getrusage, P("user time (the kernel's CPU time of the threads), system time (the server's on the calls), children's times, max RSS; other fields 0")),
    e(n64::SYSINFO, "sysinfo", sys::system::sysinfo, P("loads 0, no swap")),
    e(n64::TIMES, "times", sys::resource::times, P("user time is the threads' CPU time, system time the server's on the calls; the waited-for children's")),
    e(n64::GETUID, "getuid", sys::ids::getuid, C).quiet(),
    e(n64::SYSLOG, "syslog", sys::system::syslog, P(SYSLOG)),
    e(n64::GETGID, "getgid", sys::ids::getgid, C).quiet(),
    e(n64::SETUID, "setuid", sys::ids::setuid, P(IDS)),
    e(n64::SETGID, "setgid", sys::ids::setgid, P(IDS)),
    e(n64::GETEUID, "geteuid", sys::ids::geteuid, C).quiet(),
    e(n64::GETEGID, "getegid", sys::ids::getegid, C).quiet(),
    e(n64::SETPGID, "setpgid", sys::process::setpgid, C),
    e(n64::GETPPID, "getppid", sys::process::getppid, C).quiet(),
    e(n64::GETPGRP, "getpgrp", sys::process::getpgrp, C).quiet(),
    e(n64::SETSID, "setsid", sys::process::setsid, C),
    e(n64::SETREUID, "setreuid", sys::ids::setreuid, P(IDS)),
    e(n64::SETREGID, "setregid", sys::ids::setregid, P(IDS)),
    e(n64::GETGROUPS, "getgroups", sys::ids::getgroups, C),
    e(n64::SETGROUPS, "setgroups", sys::ids::setgroups, C),
    e(n64::SETRESUID, "setresuid", sys::ids::setresuid, P(IDS)),
    e(n64::GETRESUID, "getresuid", sys::ids::getresuid, C),
    e(n64::SETRESGID, "setresgid", sys::ids::setresgid, P(IDS)),
    e(n64::GETRESGID, "getresgid", sys::ids::getresgid, C),
    e(n64::GETPGID, "getpgid", sys::process::getpgid, C).quiet(),
    e(n64::SETFSUID, "setfsuid", sys::ids::setfsuid, P(FSID)),
    e(n64::SETFSGID, "setfsgid", sys::ids::setfsgid, P(FSID)),
    e(n64::GETSID, "getsid", sys::process::getsid, C).quiet(),
    e(n64::CAPGET, "capget", sys::ids::capget, P(CAPS)),
    e(n64::CAPSET, "capset", sys::ids::capset, P(CAPS)),
    e(n64::RT_SIGPENDING, "rt_sigpending", sys::signal::rt_sigpending, C),
    e(n64::RT_SIGTIMEDWAIT, "rt_sigtimedwait", sys::signal::rt_sigtimedwait, C),
    e(n64::RT_SIGQUEUEINFO, "rt_sigqueueinfo", sys::signal::rt_sigqueueinfo, C),
    e(n64::RT_SIGSUSPEND, "rt_sigsuspend", sys::signal::rt_sigsuspend, C),
    e(n64::SIGALTSTACK, "sigaltstack", sys::signal::sigaltstack, C),
    e(n64::UTIME, "utime", sys::fs_meta::utime, C),
    e(n64::MKNOD, "mknod", sys::fs_dir::mknod, P(MKNOD)),
    e(n64::PERSONALITY, "personality", sys::system::personality, P("any persona is kept and returned; PER_LINUX32 makes uname say i686, the flags change nothing else")),
    e(n64::STATFS, "statfs", sys::fs_stat::statfs, C),
    e(n64::FSTATFS, "fstatfs", sys::fs_stat::fstatfs, C),
    e(n64::SYSFS, "sysfs", sys::system::sysfs, C),
    e(n64::GETPRIORITY, "getpriority", sys::process::getpriority, P(PRIO)),
    e(n64::SETPRIORITY, "setpriority", sys::process::setpriority, P(PRIO)),
    e(n64::SCHED_SETPARAM, "sched_setparam", sys::sched::sched_setparam, P(SCHED)),
    e(n64::SCHED_GETPARAM, "sched_getparam", sys::sched::sched_getparam, P(SCHED)),
    e(n64::SCHED_SETSCHEDULER, "sched_setscheduler", sys::sched::sched_setscheduler, P(SCHED)),
    e(n64::SCHED_GETSCHEDULER, "sched_getscheduler", sys::sched::sched_getscheduler, P(SCHED)),
    e(n64::SCHED_GET_PRIORITY_MAX, "sched_get_priority_max", sys::sched::sched_get_priority_max, C),
    e(n64::SCHED_GET_PRIORITY_MIN, "sched_get_priority_min", sys::sched::sched_get_priority_min, C),
    e(n64::SCHED_RR_GET_INTERVAL, "sched_rr_get_interval", sys::sched::sched_rr_get_interval, P(SCHED)),
    e(n64::MLOCK, "mlock", sys::mm::mlock, P(MLOCK)),
    e(n64::MUNLOCK, "munlock", sys::mm::munlock, P(MLOCK)),
    e(n64::MLOCKALL, "mlockall", sys::mm::mlockall, P(MLOCKALL)),
    e(n64::MUNLOCKALL, "munlockall", sys::mm::munlockall, C),
    e(n64::VHANGUP, "vhangup", sys::node::vhangup, P(NO_CTTY)),
    e(n64::PRCTL, "prctl", sys::system::prctl, P(PRCTL)),
    e(n64::ARCH_PRCTL, "arch_prctl", sys::process::arch_prctl, P("ARCH_SET_FS/GET_FS/SET_GS/GET_GS; others EINVAL")),
    e(n64::ADJTIMEX, "adjtimex", sys::node::adjtimex, P(ADJTIME)),
    e(n64::SETRLIMIT, "setrlimit", sys::resource::setrlimit, P("RLIMIT_CPU (SIGXCPU, SIGKILL), CORE, NPROC, FSIZE, NOFILE, MEMLOCK, MSGQUEUE, NICE, RTPRIO enforced; the others stored and reported")),
    e(n64::SYNC, "sync", sys::fs_meta::sync, C),
    e(n64::ACCT, "acct", sys::node::acct, P(ACCT)),
    e(n64::SETTIMEOFDAY, "settimeofday", sys::node::settimeofday, P(NODE)),
    e(n64::MOUNT, "mount", sys::mount::mount, P(MOUNT)),
    e(n64::UMOUNT2, "umount2", sys::mount::umount2, P(UMOUNT)),
    e(n64::REBOOT, "reboot", sys::node::reboot, P(REBOOT)),
    e(n64::SETHOSTNAME, "sethostname", sys::system::sethostname, C),
    e(n64::SETDOMAINNAME, "setdomainname", sys::system::setdomainname, C),
    e(n64::IOPL, "iopl", sys::node::iopl, P(NODE)),
    e(n64::IOPERM, "ioperm", sys::node::ioperm, P(NODE)),
    e(n64::INIT_MODULE, "init_module", sys::node::init_module, P(NODE)),
    e(n64::DELETE_MODULE, "delete_module", sys::node::delete_module, P(NODE)),
    e(n64::GETTID, "gettid", sys::ids::gettid, C).quiet(),
    e(n64::READAHEAD, "readahead", sys::fs_rw::readahead, P("checks only: files are in memory")),
    e(n64::SETXATTR, "setxattr", sys::fs_meta::setxattr, P(XATTR_SET)),
    e(n64::LSETXATTR, "lsetxattr", sys::fs_meta::lsetxattr, P(XATTR_SET)),
    e(n64::FSETXATTR, "fsetxattr", sys::fs_meta::fsetxattr, P(XATTR_SET)),
    e(n64::GETXATTR, "getxattr", sys::fs_meta::getxattr, P(XATTR_GET)),
    e(n64::LGETXATTR, "lgetxattr", sys::fs_meta::lgetxattr, P(XATTR_GET)),
    e(n64::FGETXATTR, "fgetxattr", sys::fs_meta::fgetxattr, P(XATTR_GET)),
    e(n64::LISTXATTR, "listxattr", sys::fs_meta::listxattr, P(XATTR_LIST)),
    e(n64::LLISTXATTR, "llistxattr", sys::fs_meta::llistxattr, P(XATTR_LIST)),
    e(n64::FLISTXATTR, "flistxattr", sys::fs_meta::flistxattr, P(XATTR_LIST)),
    e(n64::REMOVEXATTR, "removexattr", sys::fs_meta::removexattr, P(XATTR_REMOVE)),
    e(n64::LREMOVEXATTR, "lremovexattr", sys::fs_meta::lremovexattr, P(XATTR_REMOVE)),
    e(n64::FREMOVEXATTR, "fremovexattr", sys::fs_meta::fremovexattr, P(XATTR_REMOVE)),
    e(n64::TKILL, "tkill", sys::signal::tkill, P(KILL)),
    e(n64::TIME, "time", sys::time::time, C).quiet(),
    e(n64::FUTEX, "futex", sys::futex::futex, P(FUTEX)),
    e(n64::SCHED_SETAFFINITY, "sched_setaffinity", sys::sched::sched_setaffinity, P(AFFINITY)),
    e(n64::SCHED_GETAFFINITY, "sched_getaffinity", sys::sched::sched_getaffinity, P(AFFINITY)),
    e(n64::IO_SETUP, "io_setup", sys::aio::io_setup, P(AIO)),
    e(n64::IO_DESTROY, "io_destroy", sys::aio::io_destroy, P(AIO)),
    e(n64::IO_GETEVENTS, "io_getevents", sys::aio::io_getevents, P(AIO)),
    e(n64::IO_SUBMIT, "io_submit", sys::aio::io_submit, P(AIO)),
    e(n64::IO_CANCEL, "io_cancel", sys::aio::io_cancel, P(AIO)),
    e(n64::EPOLL_CREATE, "epoll_create", sys::epoll::epoll_create, P(EPOLL)),
    e(n64::REMAP_FILE_PAGES, "remap_file_pages", sys::ipc::remap_file_pages, P(REMAP)),
    e(n64::GETDENTS64, "getdents64", sys::fs_dir::getdents64, C),
    e(n64::SET_TID_ADDRESS, "set_tid_address", sys::process::set_tid_address, P("address stored; the word is cleared and its futex woken when the thread ends")),
    e(n64::RESTART_SYSCALL, "restart_syscall", sys::signal::restart_syscall, P("EINTR: SiON restarts interrupted calls by running them again, never through this call")),
    e(n64::SEMTIMEDOP, "semtimedop", sys::ipc::semtimedop, P(IPC_SEM_OP)),
    e(n64::FADVISE64, "fadvise64", sys::fd::fadvise64, P("advice accepted, nothing to do in memory")),
    e(n64::TIMER_CREATE, "timer_create", sys::time::timer_create, P(POSIX_TIMER)),
    e(n64::TIMER_SETTIME, "timer_settime", sys::time::timer_settime, P(POSIX_TIMER)),
    e(n64::TIMER_GETTIME, "timer_gettime", sys::time::timer_gettime, P(POSIX_TIMER)),
    e(n64::TIMER_GETOVERRUN, "timer_getoverrun", sys::time::timer_getoverrun, P(POSIX_TIMER)),
    e(n64::TIMER_DELETE, "timer_delete", sys::time::timer_delete, P(POSIX_TIMER)),
    e(n64::CLOCK_SETTIME, "clock_settime", sys::node::clock_settime, P(NODE)),
    e(n64::CLOCK_GETTIME, "clock_gettime", sys::time::clock_gettime, P("REALTIME, MONOTONIC, *_RAW, *_COARSE, BOOTTIME, CPUTIME clocks")).quiet(),
    e(n64::CLOCK_GETRES, "clock_getres", sys::time::clock_getres, C).quiet(),
    e(n64::CLOCK_NANOSLEEP, "clock_nanosleep", sys::time::clock_nanosleep, P(SLEEP)),
    e(n64::EXIT_GROUP, "exit_group", sys::process::exit_group, C),
    e(n64::EPOLL_WAIT, "epoll_wait", sys::epoll::epoll_wait, P(EPOLL)),
    e(n64::EPOLL_CTL, "epoll_ctl", sys::epoll::epoll_ctl, P(EPOLL)),
    e(n64::TGKILL, "tgkill", sys::signal::tgkill, P(KILL)),
    e(n64::UTIMES, "utimes", sys::fs_meta::utimes, C),
    e(n64::MBIND, "mbind", sys::mm::mbind, P(NUMA)),
    e(n64::SET_MEMPOLICY, "set_mempolicy", sys::mm::set_mempolicy, P(NUMA)),
    e(n64::GET_MEMPOLICY, "get_mempolicy", sys::mm::get_mempolicy, P(NUMA)),
    e(n64::MQ_OPEN, "mq_open", sys::ipc::mq_open, C),
    e(n64::MQ_UNLINK, "mq_unlink", sys::ipc::mq_unlink, C),
    e(n64::MQ_TIMEDSEND, "mq_timedsend", sys::ipc::mq_timedsend, C),
    e(n64::MQ_TIMEDRECEIVE, "mq_timedreceive", sys::ipc::mq_timedreceive, C),
    e(n64::MQ_NOTIFY, "mq_notify", sys::ipc::mq_notify, P(MQ_NOTIFY)),
    e(n64::MQ_GETSETATTR, "mq_getsetattr", sys::ipc::mq_getsetattr, C),
    e(n64::KEXEC_LOAD, "kexec_load", sys::node::kexec_load, P(NODE)),
    e(n64::WAITID, "waitid", sys::process::waitid, P(WAIT)),
    e(n64::IOPRIO_SET, "ioprio_set", sys::sched::ioprio_set, P(IOPRIO)),
    e(n64::IOPRIO_GET, "ioprio_get", sys::sched::ioprio_get, P(IOPRIO)),
    e(n64::INOTIFY_INIT, "inotify_init", sys::objects::inotify_init, P(INOTIFY)),
    e(n64::INOTIFY_ADD_WATCH, "inotify_add_watch", sys::objects::inotify_add_watch, P(INOTIFY)),
    e(n64::INOTIFY_RM_WATCH, "inotify_rm_watch", sys::objects::inotify_rm_watch, C),
    e(n64::MIGRATE_PAGES, "migrate_pages", sys::mm::migrate_pages, P(NUMA)),
    e(n64::OPENAT, "openat", sys::fd::openat, P(OPEN)),
    e(n64::MKDIRAT, "mkdirat", sys::fs_dir::mkdirat, C),
    e(n64::MKNODAT, "mknodat", sys::fs_dir::mknodat, P(MKNOD)),
    e(n64::FCHOWNAT, "fchownat", sys::fs_meta::fchownat, C),
    e(n64::FUTIMESAT, "futimesat", sys::fs_meta::futimesat, C),
    e(n64::NEWFSTATAT, "newfstatat", sys::fs_stat::newfstatat, C),
    e(n64::UNLINKAT, "unlinkat", sys::fs_dir::unlinkat, C),
    e(n64::RENAMEAT, "renameat", sys::fs_dir::renameat, C),
    e(n64::LINKAT, "linkat", sys::fs_dir::linkat, C),
    e(n64::SYMLINKAT, "symlinkat", sys::fs_dir::symlinkat, C),
    e(n64::READLINKAT, "readlinkat", sys::fs_dir::readlinkat, C),
    e(n64::FCHMODAT, "fchmodat", sys::fs_meta::fchmodat, C),
    e(n64::FACCESSAT, "faccessat", sys::fs_meta::faccessat, C),
    e(n64::PSELECT6, "pselect6", sys::poll::pselect6, P(POLL)),
    e(n64::PPOLL, "ppoll", sys::poll::ppoll, P(POLL)),
    e(n64::UNSHARE, "unshare", sys::process::unshare, P(UNSHARE)),
    e(n64::SET_ROBUST_LIST, "set_robust_list", sys::process::set_robust_list, P(ROBUST)),
    e(n64::GET_ROBUST_LIST, "get_robust_list", sys::process::get_robust_list, C),
    e(n64::SPLICE, "splice", sys::fs_rw::splice, P(SPLICE)),
    e(n64::TEE, "tee", sys::fs_rw::tee, C),
    e(n64::SYNC_FILE_RANGE, "sync_file_range", sys::fs_rw::sync_file_range, P("files are in memory: an ext2 file system is written back whole, others have nothing to write")),
    e(n64::VMSPLICE, "vmsplice", sys::fs_rw::vmsplice, P("readv/writev on a pipe (the bytes are copied, not the pages gifted)")),
    e(n64::MOVE_PAGES, "move_pages", sys::mm::move_pages, P("the caller's own pages: each on node 0, -EFAULT where nothing is mapped, target node other than 0 ENODEV; another process of the job: EPERM")),
    e(n64::UTIMENSAT, "utimensat", sys::fs_meta::utimensat, C),
    e(n64::EPOLL_PWAIT, "epoll_pwait", sys::epoll::epoll_pwait, P(EPOLL)),
    e(n64::SIGNALFD, "signalfd", sys::objects::signalfd, P(SIGNALFD)),
    e(n64::TIMERFD_CREATE, "timerfd_create", sys::time::timerfd_create, P(TIMERFD)),
    e(n64::EVENTFD, "eventfd", sys::objects::eventfd, C),
    e(n64::FALLOCATE, "fallocate", sys::fs_meta::fallocate, P("modes 0, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE")),
    e(n64::TIMERFD_SETTIME, "timerfd_settime", sys::time::timerfd_settime, P(TIMERFD)),
    e(n64::TIMERFD_GETTIME, "timerfd_gettime", sys::time::timerfd_gettime, P(TIMERFD)),
    e(n64::ACCEPT4, "accept4", sys::socket::accept4, P(INET)),
    e(n64::SIGNALFD4, "signalfd4", sys::objects::signalfd4, P(SIGNALFD)),
    e(n64::EVENTFD2, "eventfd2", sys::objects::eventfd2, C),
    e(n64::EPOLL_CREATE1, "epoll_create1", sys::epoll::epoll_create1, P(EPOLL)),
    e(n64::DUP3, "dup3", sys::fd::dup3, C),
    e(n64::PIPE2, "pipe2", sys::objects::pipe2, P("O_DIRECT (packet mode) is accepted and behaves as a byte stream")),
    e(n64::INOTIFY_INIT1, "inotify_init1", sys::objects::inotify_init1, P(INOTIFY)),
    e(n64::PREADV, "preadv", sys::fs_rw::preadv, C),
    e(n64::PWRITEV, "pwritev", sys::fs_rw::pwritev, C),
    e(n64::RT_TGSIGQUEUEINFO, "rt_tgsigqueueinfo", sys::signal::rt_tgsigqueueinfo, C),
    e(n64::RECVMMSG, "recvmmsg", sys::socket::recvmmsg, P("the first message waits as recvmsg would, later ones are taken if already there; the timeout is not applied")),
    e(n64::PRLIMIT64, "prlimit64", sys::resource::prlimit64, P("own process only; enforced as setrlimit's")),
    e(n64::NAME_TO_HANDLE_AT, "name_to_handle_at", sys::fd::name_to_handle_at, P("handles of 16 bytes (inode and device; inode numbers are never reused); the mount id of /proc/self/mountinfo")),
    e(n64::OPEN_BY_HANDLE_AT, "open_by_handle_at", sys::fd::open_by_handle_at, P("CAP_DAC_READ_SEARCH; ESTALE once the file is gone")),
    e(n64::CLOCK_ADJTIME, "clock_adjtime", sys::node::clock_adjtime, P(ADJTIME)),
    e(n64::SYNCFS, "syncfs", sys::fs_meta::fsync, C),
    e(n64::SENDMMSG, "sendmmsg", sys::socket::sendmmsg, P(MSG)),
    e(n64::SETNS, "setns", sys::process::setns, P(SETNS)),
    e(n64::GETCPU, "getcpu", sys::sched::getcpu, P(AFFINITY)).quiet(),
    e(n64::PROCESS_VM_READV, "process_vm_readv", sys::process::process_vm_readv, P(VMCOPY)),
    e(n64::PROCESS_VM_WRITEV, "process_vm_writev", sys::process::process_vm_writev, P(VMCOPY)),
    e(n64::KCMP, "kcmp", sys::process::kcmp, P("every process of the job has its own memory, tables and contexts; KCMP_FILE compares descriptions; KCMP_EPOLL_TFD EOPNOTSUPP")),
    e(n64::FINIT_MODULE, "finit_module", sys::node::init_module, P(NODE)),
    e(n64::RENAMEAT2, "renameat2", sys::fs_dir::renameat2, P("NOREPLACE and EXCHANGE; WHITEOUT EINVAL")),
    e(n64::GETRANDOM, "getrandom", sys::system::getrandom, C),
    e(n64::MEMFD_CREATE, "memfd_create", sys::objects::memfd_create, P("no seals")),
    e(n64::KEXEC_FILE_LOAD, "kexec_file_load", sys::node::kexec_load, P(NODE)),
    e(n64::EXECVEAT, "execveat", sys::process::execveat, P(EXEC)),
    e(n64::MEMBARRIER, "membarrier", sys::mm::membarrier, P(MEMBARRIER)),
    e(n64::MLOCK2, "mlock2", sys::mm::mlock2, P(MLOCK)),
    e(n64::COPY_FILE_RANGE, "copy_file_range", sys::fs_rw::copy_file_range, C),
    e(n64::PREADV2, "preadv2", sys::fs_rw::preadv2, P(RWF)),
    e(n64::PWRITEV2, "pwritev2", sys::fs_rw::pwritev2, P(RWF)),
    e(n64::PKEY_MPROTECT, "pkey_mprotect", sys::mm::pkey_mprotect, P(PKEYS)),
    e(n64::PKEY_ALLOC, "pkey_alloc", sys::mm::pkey_alloc, P(PKEYS)),
    e(n64::PKEY_FREE, "pkey_free", sys::mm::pkey_free, P(PKEYS)),
    e(n64::STATX, "statx", sys::fs_stat::statx, C),
    e(n64::IO_PGETEVENTS, "io_pgetevents", sys::aio::io_pgetevents, P(AIO)),
    e(n64::PIDFD_SEND_SIGNAL, "pidfd_send_signal", sys::process::pidfd_send_signal, P(PIDFD)),
    e(n64::PIDFD_OPEN, "pidfd_open", sys::process::pidfd_open, P(PIDFD)),
    e(n64::CLONE3, "clone3", sys::process::clone3, P(CLONE)),
    e(n64::CLOSE_RANGE, "close_range", sys::fd::close_range, C),
    e(n64::OPENAT2, "openat2", sys::fd::openat2, P("resolve flags EINVAL")),
    e(n64::PIDFD_GETFD, "pidfd_getfd", sys::process::pidfd_getfd, P(PIDFD)),
    e(n64::FACCESSAT2, "faccessat2", sys::fs_meta::faccessat2, C),
    e(n64::PROCESS_MADVISE, "process_madvise", sys::process::process_madvise, P("COLD, PAGEOUT, WILLNEED, COLLAPSE over a pidfd's process (CAP_SYS_NICE for another): checked as madvise, nothing to do in memory that never swaps")),
    e(n64::EPOLL_PWAIT2, "epoll_pwait2", sys::epoll::epoll_pwait2, P(EPOLL)),
    e(n64::PROCESS_MRELEASE, "process_mrelease", sys::process::process_mrelease, C),
    e(n64::FUTEX_WAITV, "futex_waitv", sys::futex::futex_waitv, P(FUTEX_WAITV)),
];

/// The i386 table, sorted by number.
pub static I386: &[Entry] = &[
    e(n32::RESTART_SYSCALL, "restart_syscall", sys::signal::restart_syscall, P("EINTR: SiON restarts interrupted calls by running them again, never through this call")),
    e(n32::EXIT, "exit", sys::process::exit, P(EXIT)),
    e(n32::FORK, "fork", sys::process::fork, P(FORK)),
    e(n32::READ, "read", sys::fs_rw::read, P(CONSOLE)),
    e(n32::WRITE, "write", sys::fs_rw::write, P(CONSOLE)),
    e(n32::OPEN, "open", sys::fd::open, P(OPEN)),
    e(n32::CLOSE, "close", sys::fd::close, C),
    e(n32::WAITPID, "waitpid", sys::process::waitpid, P(WAIT)),
    e(n32::CREAT, "creat", sys::fd::creat, C),
    e(n32::LINK, "link", sys::fs_dir::link, C),
    e(n32::UNLINK, "unlink", sys::fs_dir::unlink, C),
    e(n32::EXECVE, "execve", sys::process::execve, P(EXEC)),
    e(n32::CHDIR, "chdir", sys::fs_dir::chdir, C),
    e(n32::TIME, "time", sys::time::time, C).quiet(),
    e(n32::MKNOD, "mknod", sys::fs_dir::mknod, P(MKNOD)),
    e(n32::CHMOD, "chmod", sys::fs_meta::chmod, C),
    e(n32::LCHOWN, "lchown", sys::fs_meta::lchown, C),
    e(n32::LSEEK, "lseek", sys::fs_rw::lseek, C),
    e(n32::GETPID, "getpid", sys::ids::getpid, C).quiet(),
    e(n32::MOUNT, "mount", sys::mount::mount, P(MOUNT)),
    e(n32::UMOUNT, "umount", sys::mount::umount, P(UMOUNT)),
    e(n32::SETUID, "setuid", sys::ids::setuid, P(IDS)),
    e(n32::GETUID, "getuid", sys::ids::getuid, C).quiet(),
    e(n32::STIME, "stime", sys::node::stime, P(NODE)),
    e(n32::ALARM, "alarm", sys::time::alarm, P(TIMERS)),
    e(n32::PAUSE, "pause", sys::signal::pause, C),
    e(n32::UTIME, "utime", sys::fs_meta::utime, C),
    e(n32::ACCESS, "access", sys::fs_meta::access, C),
    e(n32::NICE, "nice", sys::process::nice, P(PRIO)),
    e(n32::SYNC, "sync", sys::fs_meta::sync, C),
    e(n32::KILL, "kill", sys::signal::kill, P(KILL)),
    e(n32::RENAME, "rename", sys::fs_dir::rename, C),
    e(n32::MKDIR, "mkdir", sys::fs_dir::mkdir, C),
    e(n32::RMDIR, "rmdir", sys::fs_dir::rmdir, C),
    e(n32::DUP, "dup", sys::fd::dup, C),
    e(n32::PIPE, "pipe", sys::objects::pipe, C),
    e(n32::TIMES, "times", sys::resource::times, P("user time is the threads' CPU time, system time the server's on the calls; the waited-for children's")),
    e(n32::BRK, "brk", sys::mm::brk, C),
    e(n32::SETGID, "setgid", sys::ids::setgid, P(IDS)),
    e(n32::GETGID, "getgid", sys::ids::getgid, C).quiet(),
    e(n32::SIGNAL, "signal", sys::signal::signal, P(SIGACT)),
    e(n32::GETEUID, "geteuid", sys::ids::geteuid, C).quiet(),
    e(n32::GETEGID, "getegid", sys::ids::getegid, C).quiet(),
    e(n32::ACCT, "acct", sys::node::acct, P(ACCT)),
    e(n32::UMOUNT2, "umount2", sys::mount::umount2, P(UMOUNT)),
    e(n32::IOCTL, "ioctl", sys::fd::ioctl, P(IOCTL)),
    e(n32::FCNTL, "fcntl", sys::fd::fcntl, P(FCNTL)),
    e(n32::SETPGID, "setpgid", sys::process::setpgid, C),
    e(n32::UMASK, "umask", sys::fs_meta::umask, C),
    e(n32::DUP2, "dup2", sys::fd::dup2, C),
    e(n32::GETPPID, "getppid", sys::process::getppid, C).quiet(),
    e(n32::GETPGRP, "getpgrp", sys::process::getpgrp, C).quiet(),
    e(n32::SETSID, "setsid", sys::process::setsid, C),
    e(n32::SIGACTION, "sigaction", sys::signal::sigaction, P(SIGACT)),
    e(n32::SETREUID, "setreuid", sys::ids::setreuid, P(IDS)),
    e(n32::SETREGID, "setregid", sys::ids::setregid, P(IDS)),
    e(n32::SIGSUSPEND, "sigsuspend", sys::signal::sigsuspend, C),
    e(n32::SIGPENDING, "sigpending", sys::signal::sigpending, C),
    e(n32::SETHOSTNAME, "sethostname", sys::system::sethostname, C),
    e(n32::SETRLIMIT, "setrlimit", sys::resource::setrlimit, P("RLIMIT_CPU (SIGXCPU, SIGKILL), CORE, NPROC, FSIZE, NOFILE, MEMLOCK, MSGQUEUE, NICE, RTPRIO enforced; the others stored and reported")),
    e(n32::GETRLIMIT, "getrlimit", sys::resource::getrlimit, C),
    e(n32::GETRUSAGE, "getrusage", sys::resource::getrusage, P("user time (the kernel's CPU time of the threads), system time (the server's on the calls), children's times, max RSS; other fields 0")),
    e(n32::GETTIMEOFDAY, "gettimeofday", sys::time::gettimeofday, C).quiet(),
    e(n32::SETTIMEOFDAY, "settimeofday", sys::node::settimeofday, P(NODE)),
    e(n32::GETGROUPS, "getgroups", sys::ids::getgroups, C),
    e(n32::SETGROUPS, "setgroups", sys::ids::setgroups, C),
    e(n32::SELECT, "select", sys::poll::old_select, P(POLL)),
    e(n32::SYMLINK, "symlink", sys::fs_dir::symlink, C),
    e(n32::READLINK, "readlink", sys::fs_dir::readlink, C),
    e(n32::REBOOT, "reboot", sys::node::reboot, P(REBOOT)),
    e(n32::MMAP, "mmap", sys::mm::old_mmap, P(MMAP)),
    e(n32::MUNMAP, "munmap", sys::mm::munmap, C),
    e(n32::TRUNCATE, "truncate", sys::fs_meta::truncate, C),
    e(n32::FTRUNCATE, "ftruncate", sys::fs_meta::ftruncate, C),
    e(n32::FCHMOD, "fchmod", sys::fs_meta::fchmod, C),
    e(n32::FCHOWN, "fchown", sys::fs_meta::fchown, C),
    e(n32::GETPRIORITY, "getpriority", sys::process::getpriority, P(PRIO)),
    e(n32::SETPRIORITY, "setpriority", sys::process::setpriority, P(PRIO)),
    e(n32::STATFS, "statfs", sys::fs_stat::statfs, C),
    e(n32::FSTATFS, "fstatfs", sys::fs_stat::fstatfs, C),
    e(n32::IOPERM, "ioperm", sys::node::ioperm, P(NODE)),
    e(n32::SOCKETCALL, "socketcall", sys::socket::socketcall, P("every socket call: socket, socketpair, bind, connect, listen, accept(4), send(to), recv(from), shutdown, get/setsockopt, get*name, send/recvmsg, send/recvmmsg")),
    e(n32::SYSLOG, "syslog", sys::system::syslog, P(SYSLOG)),
    e(n32::SETITIMER, "setitimer", sys::time::setitimer, P(TIMERS)),
    e(n32::GETITIMER, "getitimer", sys::time::getitimer, P(TIMERS)),
    e(n32::STAT, "stat", sys::fs_stat::stat, C),
    e(n32::LSTAT, "lstat", sys::fs_stat::lstat, C),
    e(n32::FSTAT, "fstat", sys::fs_stat::fstat, C),
    e(n32::IOPL, "iopl", sys::node::iopl, P(NODE)),
    e(n32::VHANGUP, "vhangup", sys::node::vhangup, P(NO_CTTY)),
    e(n32::WAIT4, "wait4", sys::process::wait4, P(WAIT)),
    e(n32::SYSINFO, "sysinfo", sys::system::sysinfo, P("loads 0, no swap")),
    e(n32::IPC, "ipc", sys::ipc::ipc, P(IPC_IPC_MUX)),
    e(n32::FSYNC, "fsync", sys::fs_meta::fsync, C),
    e(n32::SIGRETURN, "sigreturn", sys::signal::sigreturn, C),
    e(n32::CLONE, "clone", sys::process::clone, P(CLONE)),
    e(n32::SETDOMAINNAME, "setdomainname", sys::system::setdomainname, C),
    e(n32::UNAME, "uname", sys::system::uname, C).quiet(),
    e(n32::ADJTIMEX, "adjtimex", sys::node::adjtimex, P(ADJTIME)),
    e(n32::MPROTECT, "mprotect", sys::mm::mprotect, C),
    e(n32::SIGPROCMASK, "sigprocmask", sys::signal::sigprocmask, C),
    e(n32::INIT_MODULE, "init_module", sys::node::init_module, P(NODE)),
    e(n32::DELETE_MODULE, "delete_module", sys::node::delete_module, P(NODE)),
    e(n32::GETPGID, "getpgid", sys::process::getpgid, C).quiet(),
    e(n32::FCHDIR, "fchdir", sys::fs_dir::fchdir, C),
    e(n32::SYSFS, "sysfs", sys::system::sysfs, C),
    e(n32::PERSONALITY, "personality", sys::system::personality, P("any persona is kept and returned; PER_LINUX32 makes uname say i686, the flags change nothing else")),
    e(n32::SETFSUID, "setfsuid", sys::ids::setfsuid, P(FSID)),
    e(n32::SETFSGID, "setfsgid", sys::ids::setfsgid, P(FSID)),
    e(n32::_LLSEEK, "_llseek", sys::fs_rw::llseek, C),
    e(n32::GETDENTS, "getdents", sys::fs_dir::getdents, C),
    e(n32::_NEWSELECT, "_newselect", sys::poll::select, P(POLL)),
    e(n32::FLOCK, "flock", sys::fd::flock, P(LOCKS)),
    e(n32::MSYNC, "msync", sys::mm::msync, C),
    e(n32::READV, "readv", sys::fs_rw::readv, P(CONSOLE)),
    e(n32::WRITEV, "writev", sys::fs_rw::writev, P(CONSOLE)),
    e(n32::GETSID, "getsid", sys::process::getsid, C).quiet(),
    e(n32::FDATASYNC, "fdatasync", sys::fs_meta::fsync, C),
    e(n32::MLOCK, "mlock", sys::mm::mlock, P(MLOCK)),
    e(n32::MUNLOCK, "munlock", sys::mm::munlock, P(MLOCK)),
    e(n32::MLOCKALL, "mlockall", sys::mm::mlockall, P(MLOCKALL)),
    e(n32::MUNLOCKALL, "munlockall", sys::mm::munlockall, C),
    e(n32::SCHED_SETPARAM, "sched_setparam", sys::sched::sched_setparam, P(SCHED)),
    e(n32::SCHED_GETPARAM, "sched_getparam", sys::sched::sched_getparam, P(SCHED)),
    e(n32::SCHED_SETSCHEDULER, "sched_setscheduler", sys::sched::sched_setscheduler, P(SCHED)),
    e(n32::SCHED_GETSCHEDULER, "sched_getscheduler", sys::sched::sched_getscheduler, P(SCHED)),
    e(n32::SCHED_YIELD, "sched_yield", sys::sched::sched_yield, C).quiet(),
    e(n32::SCHED_GET_PRIORITY_MAX, "sched_get_priority_max", sys::sched::sched_get_priority_max, C),
    e(n32::SCHED_GET_PRIORITY_MIN, "sched_get_priority_min", sys::sched::sched_get_priority_min, C),
    e(n32::SCHED_RR_GET_INTERVAL, "sched_rr_get_interval", sys::sched::sched_rr_get_interval, P(SCHED)),
    e(n32::NANOSLEEP, "nanosleep", sys::time::nanosleep, P(SLEEP)),
    e(n32::MREMAP, "mremap", sys::mm::mremap, P("MAYMOVE and FIXED; DONTUNMAP EINVAL")),
    e(n32::SETRESUID, "setresuid", sys::ids::setresuid, P(IDS)),
    e(n32::GETRESUID, "getresuid", sys::ids::getresuid, C),
    e(n32::POLL, "poll", sys::poll::poll, P(POLL)),
    e(n32::SETRESGID, "setresgid", sys::ids::setresgid, P(IDS)),
    e(n32::GETRESGID, "getresgid", sys::ids::getresgid, C),
    e(n32::PRCTL, "prctl", sys::system::prctl, P(PRCTL)),
    e(n32::RT_SIGRETURN, "rt_sigreturn", sys::signal::rt_sigreturn, C),
    e(n32::RT_SIGACTION, "rt_sigaction", sys::signal::rt_sigaction, P(SIGACT)),
    e(n32::RT_SIGPROCMASK, "rt_sigprocmask", sys::signal::rt_sigprocmask, C),
    e(n32::RT_SIGPENDING, "rt_sigpending", sys::signal::rt_sigpending, C),
    e(n32::RT_SIGTIMEDWAIT, "rt_sigtimedwait", sys::signal::rt_sigtimedwait, C),
    e(n32::RT_SIGQUEUEINFO, "rt_sigqueueinfo", sys::signal::rt_sigqueueinfo, C),
    e(n32::RT_SIGSUSPEND, "rt_sigsuspend", sys::signal::rt_sigsuspend, C),
    e(n32::PREAD64, "pread64", sys::fs_rw::pread64, C),
    e(n32::PWRITE64, "pwrite64", sys::fs_rw::pwrite64, C),
    e(n32::CHOWN, "chown", sys::fs_meta::chown, C),
    e(n32::GETCWD, "getcwd", sys::fs_dir::getcwd, C),
    e(n32::CAPGET, "capget", sys::ids::capget, P(CAPS)),
    e(n32::CAPSET, "capset", sys::ids::capset, P(CAPS)),
    e(n32::SIGALTSTACK, "sigaltstack", sys::signal::sigaltstack, C),
    e(n32::SENDFILE, "sendfile", sys::fs_rw::sendfile, P("from regular files")),
    e(n32::VFORK, "vfork", sys::process::vfork, P("the parent waits until the child execs or exits; the child has a copy-on-write copy of the memory")),
    e(n32::UGETRLIMIT, "ugetrlimit", sys::resource::ugetrlimit, C),
    e(n32::MMAP2, "mmap2", sys::mm::mmap2, P(MMAP)),
    e(n32::TRUNCATE64, "truncate64", sys::fs_meta::truncate64, C),
    e(n32::FTRUNCATE64, "ftruncate64", sys::fs_meta::ftruncate64, C),
    e(n32::STAT64, "stat64", sys::fs_stat::stat64, C),
    e(n32::LSTAT64, "lstat64", sys::fs_stat::lstat64, C),
    e(n32::FSTAT64, "fstat64", sys::fs_stat::fstat64, C),
    e(n32::LCHOWN32, "lchown32", sys::fs_meta::lchown32, C),
    e(n32::GETUID32, "getuid32", sys::ids::getuid32, C).quiet(),
    e(n32::GETGID32, "getgid32", sys::ids::getgid32, C).quiet(),
    e(n32::GETEUID32, "geteuid32", sys::ids::geteuid32, C).quiet(),
    e(n32::GETEGID32, "getegid32", sys::ids::getegid32, C).quiet(),
    e(n32::SETREUID32, "setreuid32", sys::ids::setreuid32, P(IDS)),
    e(n32::SETREGID32, "setregid32", sys::ids::setregid32, P(IDS)),
    e(n32::GETGROUPS32, "getgroups32", sys::ids::getgroups32, C),
    e(n32::SETGROUPS32, "setgroups32", sys::ids::setgroups32, C),
    e(n32::FCHOWN32, "fchown32", sys::fs_meta::fchown32, C),
    e(n32::SETRESUID32, "setresuid32", sys::ids::setresuid32, P(IDS)),
    e(n32::GETRESUID32, "getresuid32", sys::ids::getresuid32, C),
    e(n32::SETRESGID32, "setresgid32", sys::ids::setresgid32, P(IDS)),
    e(n32::GETRESGID32, "getresgid32", sys::ids::getresgid32, C),
    e(n32::CHOWN32, "chown32", sys::fs_meta::chown32, C),
    e(n32::SETUID32, "setuid32", sys::ids::setuid32, P(IDS)),
    e(n32::SETGID32, "setgid32", sys::ids::setgid32, P(IDS)),
    e(n32::SETFSUID32, "setfsuid32", sys::ids::setfsuid32, P(FSID)),
    e(n32::SETFSGID32, "setfsgid32", sys::ids::setfsgid32, P(FSID)),
    e(n32::MINCORE, "mincore", sys::mm::mincore, C),
    e(n32::MADVISE, "madvise", sys::mm::madvise, P("as Linux without KSM, THP or memory-failure injection: DONTNEED/FREE drop private pages (private file pages come back zero, not from the file), REMOVE punches the hole, DONTDUMP, WIPEONFORK, DONTFORK kept; the paging advice checked and accepted, nothing to do")),
    e(n32::GETDENTS64, "getdents64", sys::fs_dir::getdents64, C),
    e(n32::FCNTL64, "fcntl64", sys::fd::fcntl, P(FCNTL)),
    e(n32::GETTID, "gettid", sys::ids::gettid, C).quiet(),
    e(n32::READAHEAD, "readahead", sys::fs_rw::readahead, P("checks only: files are in memory")),
    e(n32::SETXATTR, "setxattr", sys::fs_meta::setxattr, P(XATTR_SET)),
    e(n32::LSETXATTR, "lsetxattr", sys::fs_meta::lsetxattr, P(XATTR_SET)),
    e(n32::FSETXATTR, "fsetxattr", sys::fs_meta::fsetxattr, P(XATTR_SET)),
    e(n32::GETXATTR, "getxattr", sys::fs_meta::getxattr, P(XATTR_GET)),
    e(n32::LGETXATTR, "lgetxattr", sys::fs_meta::lgetxattr, P(XATTR_GET)),
    e(n32::FGETXATTR, "fgetxattr", sys::fs_meta::fgetxattr, P(XATTR_GET)),
    e(n32::LISTXATTR, "listxattr", sys::fs_meta::listxattr, P(XATTR_LIST)),
    e(n32::LLISTXATTR, "llistxattr", sys::fs_meta::llistxattr, P(XATTR_LIST)),
    e(n32::FLISTXATTR, "flistxattr", sys::fs_meta::flistxattr, P(XATTR_LIST)),
    e(n32::REMOVEXATTR, "removexattr", sys::fs_meta::removexattr, P(XATTR_REMOVE)),
    e(n32::LREMOVEXATTR, "lremovexattr", sys::fs_meta::lremovexattr, P(XATTR_REMOVE)),
    e(n32::FREMOVEXATTR, "fremovexattr", sys::fs_meta::fremovexattr, P(XATTR_REMOVE)),
    e(n32::TKILL, "tkill", sys::signal::tkill, P(KILL)),
    e(n32::SENDFILE64, "sendfile64", sys::fs_rw::sendfile64, P("from regular files")),
    e(n32::FUTEX, "futex", sys::futex::futex, P(FUTEX)),
    e(n32::SCHED_SETAFFINITY, "sched_setaffinity", sys::sched::sched_setaffinity, P(AFFINITY)),
    e(n32::SCHED_GETAFFINITY, "sched_getaffinity", sys::sched::sched_getaffinity, P(AFFINITY)),
    e(n32::SET_THREAD_AREA, "set_thread_area", sys::process::set_thread_area, C),
    e(n32::IO_SETUP, "io_setup", sys::aio::io_setup, P(AIO)),
    e(n32::IO_DESTROY, "io_destroy", sys::aio::io_destroy, P(AIO)),
    e(n32::IO_GETEVENTS, "io_getevents", sys::aio::io_getevents, P(AIO)),
    e(n32::IO_SUBMIT, "io_submit", sys::aio::io_submit, P(AIO)),
    e(n32::IO_CANCEL, "io_cancel", sys::aio::io_cancel, P(AIO)),
    e(n32::FADVISE64, "fadvise64", sys::fd::fadvise64, P("advice accepted, nothing to do in memory")),
    e(n32::EXIT_GROUP, "exit_group", sys::process::exit_group, C),
    e(n32::EPOLL_CREATE, "epoll_create", sys::epoll::epoll_create, P(EPOLL)),
    e(n32::EPOLL_CTL, "epoll_ctl", sys::epoll::epoll_ctl, P(EPOLL)),
    e(n32::EPOLL_WAIT, "epoll_wait", sys::epoll::epoll_wait, P(EPOLL)),
    e(n32::REMAP_FILE_PAGES, "remap_file_pages", sys::ipc::remap_file_pages, P(REMAP)),
    e(n32::SET_TID_ADDRESS, "set_tid_address", sys::process::set_tid_address, P("address stored; the word is cleared and its futex woken when the thread ends")),
    e(n32::TIMER_CREATE, "timer_create", sys::time::timer_create, P(POSIX_TIMER)),
    e(n32::TIMER_SETTIME, "timer_settime", sys::time::timer_settime, P(POSIX_TIMER)),
    e(n32::TIMER_GETTIME, "timer_gettime", sys::time::timer_gettime, P(POSIX_TIMER)),
    e(n32::TIMER_GETOVERRUN, "timer_getoverrun", sys::time::timer_getoverrun, P(POSIX_TIMER)),
    e(n32::TIMER_DELETE, "timer_delete", sys::time::timer_delete, P(POSIX_TIMER)),
    e(n32::CLOCK_SETTIME, "clock_settime", sys::node::clock_settime, P(NODE)),
    e(n32::CLOCK_GETTIME, "clock_gettime", sys::time::clock_gettime, P("REALTIME, MONOTONIC, *_RAW, *_COARSE, BOOTTIME, CPUTIME clocks")).quiet(),
    e(n32::CLOCK_GETRES, "clock_getres", sys::time::clock_getres, C).quiet(),
    e(n32::CLOCK_NANOSLEEP, "clock_nanosleep", sys::time::clock_nanosleep, P(SLEEP)),
    e(n32::STATFS64, "statfs64", sys::fs_stat::statfs64, C),
    e(n32::FSTATFS64, "fstatfs64", sys::fs_stat::fstatfs64, C),
    e(n32::TGKILL, "tgkill", sys::signal::tgkill, P(KILL)),
    e(n32::UTIMES, "utimes", sys::fs_meta::utimes, C),
    e(n32::FADVISE64_64, "fadvise64_64", sys::fd::fadvise64_64, P("advice accepted, nothing to do in memory")),
    e(n32::MBIND, "mbind", sys::mm::mbind, P(NUMA)),
    e(n32::GET_MEMPOLICY, "get_mempolicy", sys::mm::get_mempolicy, P(NUMA)),
    e(n32::SET_MEMPOLICY, "set_mempolicy", sys::mm::set_mempolicy, P(NUMA)),
    e(n32::MQ_OPEN, "mq_open", sys::ipc::mq_open, C),
    e(n32::MQ_UNLINK, "mq_unlink", sys::ipc::mq_unlink, C),
    e(n32::MQ_TIMEDSEND, "mq_timedsend", sys::ipc::mq_timedsend, C),
    e(n32::MQ_TIMEDRECEIVE, "mq_timedreceive", sys::ipc::mq_timedreceive, C),
    e(n32::MQ_NOTIFY, "mq_notify", sys::ipc::mq_notify, P(MQ_NOTIFY)),
    e(n32::MQ_GETSETATTR, "mq_getsetattr", sys::ipc::mq_getsetattr, C),
    e(n32::KEXEC_LOAD, "kexec_load", sys::node::kexec_load, P(NODE)),
    e(n32::WAITID, "waitid", sys::process::waitid, P(WAIT)),
    e(n32::IOPRIO_SET, "ioprio_set", sys::sched::ioprio_set, P(IOPRIO)),
    e(n32::IOPRIO_GET, "ioprio_get", sys::sched::ioprio_get, P(IOPRIO)),
    e(n32::INOTIFY_INIT, "inotify_init", sys::objects::inotify_init, P(INOTIFY)),
    e(n32::INOTIFY_ADD_WATCH, "inotify_add_watch", sys::objects::inotify_add_watch, P(INOTIFY)),
    e(n32::INOTIFY_RM_WATCH, "inotify_rm_watch", sys::objects::inotify_rm_watch, C),
    e(n32::MIGRATE_PAGES, "migrate_pages", sys::mm::migrate_pages, P(NUMA)),
    e(n32::OPENAT, "openat", sys::fd::openat, P(OPEN)),
    e(n32::MKDIRAT, "mkdirat", sys::fs_dir::mkdirat, C),
    e(n32::MKNODAT, "mknodat", sys::fs_dir::mknodat, P(MKNOD)),
    e(n32::FCHOWNAT, "fchownat", sys::fs_meta::fchownat, C),
    e(n32::FUTIMESAT, "futimesat", sys::fs_meta::futimesat, C),
    e(n32::FSTATAT64, "fstatat64", sys::fs_stat::newfstatat, C),
    e(n32::UNLINKAT, "unlinkat", sys::fs_dir::unlinkat, C),
    e(n32::RENAMEAT, "renameat", sys::fs_dir::renameat, C),
    e(n32::LINKAT, "linkat", sys::fs_dir::linkat, C),
    e(n32::SYMLINKAT, "symlinkat", sys::fs_dir::symlinkat, C),
    e(n32::READLINKAT, "readlinkat", sys::fs_dir::readlinkat, C),
    e(n32::FCHMODAT, "fchmodat", sys::fs_meta::fchmodat, C),
    e(n32::FACCESSAT, "faccessat", sys::fs_meta::faccessat, C),
    e(n32::PSELECT6, "pselect6", sys::poll::pselect6, P(POLL)),
    e(n32::PPOLL, "ppoll", sys::poll::ppoll, P(POLL)),
    e(n32::UNSHARE, "unshare", sys::process::unshare, P(UNSHARE)),
    e(n32::SET_ROBUST_LIST, "set_robust_list", sys::process::set_robust_list, P(ROBUST)),
    e(n32::GET_ROBUST_LIST, "get_robust_list", sys::process::get_robust_list, C),
    e(n32::SPLICE, "splice", sys::fs_rw::splice, P(SPLICE)),
    e(n32::SYNC_FILE_RANGE, "sync_file_range", sys::fs_rw::sync_file_range, P("files are in memory: an ext2 file system is written back whole, others have nothing to write")),
    e(n32::TEE, "tee", sys::fs_rw::tee, C),
    e(n32::VMSPLICE, "vmsplice", sys::fs_rw::vmsplice, P("readv/writev on a pipe (the bytes are copied, not the pages gifted)")),
    e(n32::MOVE_PAGES, "move_pages", sys::mm::move_pages, P("the caller's own pages: each on node 0, -EFAULT where nothing is mapped, target node other than 0 ENODEV; another process of the job: EPERM")),
    e(n32::GETCPU, "getcpu", sys::sched::getcpu, P(AFFINITY)).quiet(),
    e(n32::EPOLL_PWAIT, "epoll_pwait", sys::epoll::epoll_pwait, P(EPOLL)),
    e(n32::UTIMENSAT, "utimensat", sys::fs_meta::utimensat, C),
    e(n32::SIGNALFD, "signalfd", sys::objects::signalfd, P(SIGNALFD)),
    e(n32::TIMERFD_CREATE, "timerfd_create", sys::time::timerfd_create, P(TIMERFD)),
    e(n32::EVENTFD, "eventfd", sys::objects::eventfd, C),
    e(n32::FALLOCATE, "fallocate", sys::fs_meta::fallocate, P("modes 0, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE")),
    e(n32::TIMERFD_SETTIME, "timerfd_settime", sys::time::timerfd_settime, P(TIMERFD)),
    e(n32::TIMERFD_GETTIME, "timerfd_gettime", sys::time::timerfd_gettime, P(TIMERFD)),
    e(n32::SIGNALFD4, "signalfd4", sys::objects::signalfd4, P(SIGNALFD)),
    e(n32::EVENTFD2, "eventfd2", sys::objects::eventfd2, C),
    e(n32::EPOLL_CREATE1, "epoll_create1", sys::epoll::epoll_create1, P(EPOLL)),
    e(n32::DUP3, "dup3", sys::fd::dup3, C),
    e(n32::PIPE2, "pipe2", sys::objects::pipe2, P("O_DIRECT (packet mode) is accepted and behaves as a byte stream")),
    e(n32::INOTIFY_INIT1, "inotify_init1", sys::objects::inotify_init1, P(INOTIFY)),
    e(n32::PREADV, "preadv", sys::fs_rw::preadv, C),
    e(n32::PWRITEV, "pwritev", sys::fs_rw::pwritev, C),
    e(n32::RT_TGSIGQUEUEINFO, "rt_tgsigqueueinfo", sys::signal::rt_tgsigqueueinfo, C),
    e(n32::RECVMMSG, "recvmmsg", sys::socket::recvmmsg, P("the first message waits as recvmsg would, later ones are taken if already there; the timeout is not applied")),
    e(n32::PRLIMIT64, "prlimit64", sys::resource::prlimit64, P("own process only; enforced as setrlimit's")),
    e(n32::NAME_TO_HANDLE_AT, "name_to_handle_at", sys::fd::name_to_handle_at, P("handles of 16 bytes (inode and device; inode numbers are never reused); the mount id of /proc/self/mountinfo")),
    e(n32::OPEN_BY_HANDLE_AT, "open_by_handle_at", sys::fd::open_by_handle_at, P("CAP_DAC_READ_SEARCH; ESTALE once the file is gone")),
    e(n32::CLOCK_ADJTIME, "clock_adjtime", sys::node::clock_adjtime, P(ADJTIME)),
    e(n32::SYNCFS, "syncfs", sys::fs_meta::fsync, C),
    e(n32::SENDMMSG, "sendmmsg", sys::socket::sendmmsg, P(MSG)),
    e(n32::SETNS, "setns", sys::process::setns, P(SETNS)),
    e(n32::PROCESS_VM_READV, "process_vm_readv", sys::process::process_vm_readv, P(VMCOPY)),
    e(n32::PROCESS_VM_WRITEV, "process_vm_writev", sys::process::process_vm_writev, P(VMCOPY)),
    e(n32::KCMP, "kcmp", sys::process::kcmp, P("every process of the job has its own memory, tables and contexts; KCMP_FILE compares descriptions; KCMP_EPOLL_TFD EOPNOTSUPP")),
    e(n32::FINIT_MODULE, "finit_module", sys::node::init_module, P(NODE)),
    e(n32::RENAMEAT2, "renameat2", sys::fs_dir::renameat2, P("NOREPLACE and EXCHANGE; WHITEOUT EINVAL")),
    e(n32::GETRANDOM, "getrandom", sys::system::getrandom, C),
    e(n32::MEMFD_CREATE, "memfd_create", sys::objects::memfd_create, P("no seals")),
    e(n32::EXECVEAT, "execveat", sys::process::execveat, P(EXEC)),
    e(n32::SOCKET, "socket", sys::socket::socket, P(INET)),
    e(n32::SOCKETPAIR, "socketpair", sys::socket::socketpair, P("AF_UNIX (AF_INET: EOPNOTSUPP)")),
    e(n32::BIND, "bind", sys::socket::bind, P(INET)),
    e(n32::CONNECT, "connect", sys::socket::connect, P(INET)),
    e(n32::LISTEN, "listen", sys::socket::listen, P(INET)),
    e(n32::ACCEPT4, "accept4", sys::socket::accept4, P(INET)),
    e(n32::GETSOCKOPT, "getsockopt", sys::socket::getsockopt, P(SOCKOPT)),
    e(n32::SETSOCKOPT, "setsockopt", sys::socket::setsockopt, P(SOCKOPT)),
    e(n32::GETSOCKNAME, "getsockname", sys::socket::getsockname, P(INET)),
    e(n32::GETPEERNAME, "getpeername", sys::socket::getpeername, P(INET)),
    e(n32::SENDTO, "sendto", sys::socket::sendto, P(INET_IO)),
    e(n32::SENDMSG, "sendmsg", sys::socket::sendmsg, P(MSG)),
    e(n32::RECVFROM, "recvfrom", sys::socket::recvfrom, P(INET_IO)),
    e(n32::RECVMSG, "recvmsg", sys::socket::recvmsg, P(MSG)),
    e(n32::SHUTDOWN, "shutdown", sys::socket::shutdown, P(INET)),
    e(n32::MEMBARRIER, "membarrier", sys::mm::membarrier, P(MEMBARRIER)),
    e(n32::MLOCK2, "mlock2", sys::mm::mlock2, P(MLOCK)),
    e(n32::COPY_FILE_RANGE, "copy_file_range", sys::fs_rw::copy_file_range, C),
    e(n32::PREADV2, "preadv2", sys::fs_rw::preadv2, P(RWF)),
    e(n32::PWRITEV2, "pwritev2", sys::fs_rw::pwritev2, P(RWF)),
    e(n32::PKEY_MPROTECT, "pkey_mprotect", sys::mm::pkey_mprotect, P(PKEYS)),
    e(n32::PKEY_ALLOC, "pkey_alloc", sys::mm::pkey_alloc, P(PKEYS)),
    e(n32::PKEY_FREE, "pkey_free", sys::mm::pkey_free, P(PKEYS)),
    e(n32::STATX, "statx", sys::fs_stat::statx, C),
    e(n32::IO_PGETEVENTS, "io_pgetevents", sys::aio::io_pgetevents, P(AIO)),
    e(n32::SEMGET, "semget", sys::ipc::semget, P(IPC_SEM_GET)),
    e(n32::SEMCTL, "semctl", sys::ipc::semctl, P(IPC_SEM_CTL)),
    e(n32::SHMGET, "shmget", sys::ipc::shmget, P(IPC_SHM_GET)),
    e(n32::SHMCTL, "shmctl", sys::ipc::shmctl, P(IPC_SHM_CTL)),
    e(n32::SHMAT, "shmat", sys::ipc::shmat, P(IPC_SHM_AT)),
    e(n32::SHMDT, "shmdt", sys::ipc::shmdt, P(IPC_SHM_DT)),
    e(n32::MSGGET, "msgget", sys::ipc::msgget, P(IPC_MSG_GET)),
    e(n32::MSGSND, "msgsnd", sys::ipc::msgsnd, P(IPC_MSG_SND)),
    e(n32::MSGRCV, "msgrcv", sys::ipc::msgrcv, P(IPC_MSG_RCV)),
    e(n32::MSGCTL, "msgctl", sys::ipc::msgctl, P(IPC_MSG_CTL)),
    e(n32::CLOCK_GETTIME64, "clock_gettime64", sys::time::clock_gettime64, P("REALTIME, MONOTONIC, *_RAW, *_COARSE, BOOTTIME, CPUTIME clocks")).quiet(),
    e(n32::CLOCK_SETTIME64, "clock_settime64", sys::node::clock_settime64, P(NODE)),
    e(n32::CLOCK_ADJTIME64, "clock_adjtime64", sys::node::clock_adjtime64, P(ADJTIME)),
    e(n32::CLOCK_GETRES_TIME64, "clock_getres_time64", sys::time::clock_getres_time64, C).quiet(),
    e(n32::CLOCK_NANOSLEEP_TIME64, "clock_nanosleep_time64", sys::time::clock_nanosleep_time64, P(SLEEP)),
    e(n32::TIMER_GETTIME64, "timer_gettime64", sys::time::timer_gettime64, P(POSIX_TIMER)),
    e(n32::TIMER_SETTIME64, "timer_settime64", sys::time::timer_settime64, P(POSIX_TIMER)),
    e(n32::TIMERFD_GETTIME64, "timerfd_gettime64", sys::time::timerfd_gettime64, P(TIMERFD)),
    e(n32::TIMERFD_SETTIME64, "timerfd_settime64", sys::time::timerfd_settime64, P(TIMERFD)),
    e(n32::UTIMENSAT_TIME64, "utimensat_time64", sys::fs_meta::utimensat_time64, C),
    e(n32::PSELECT6_TIME64, "pselect6_time64", sys::poll::pselect6_time64, P(POLL)),
    e(n32::PPOLL_TIME64, "ppoll_time64", sys::poll::ppoll_time64, P(POLL)),
    e(n32::IO_PGETEVENTS_TIME64, "io_pgetevents_time64", sys::aio::io_pgetevents_time64, P(AIO)),
    e(n32::RECVMMSG_TIME64, "recvmmsg_time64", sys::socket::recvmmsg, P("the first message waits as recvmsg would, later ones are taken if already there; the timeout is not applied")),
    e(n32::MQ_TIMEDSEND_TIME64, "mq_timedsend_time64", sys::ipc::mq_timedsend_time64, C),
    e(n32::MQ_TIMEDRECEIVE_TIME64, "mq_timedreceive_time64", sys::ipc::mq_timedreceive_time64, C),
    e(n32::SEMTIMEDOP_TIME64, "semtimedop_time64", sys::ipc::semtimedop_time64, P(IPC_SEM_OP)),
    e(n32::RT_SIGTIMEDWAIT_TIME64, "rt_sigtimedwait_time64", sys::signal::rt_sigtimedwait_time64, C),
    e(n32::FUTEX_TIME64, "futex_time64", sys::futex::futex_time64, P(FUTEX)),
    e(n32::SCHED_RR_GET_INTERVAL_TIME64, "sched_rr_get_interval_time64", sys::sched::sched_rr_get_interval_time64, P(SCHED)),
    e(n32::PIDFD_SEND_SIGNAL, "pidfd_send_signal", sys::process::pidfd_send_signal, P(PIDFD)),
    e(n32::PIDFD_OPEN, "pidfd_open", sys::process::pidfd_open, P(PIDFD)),
    e(n32::CLONE3, "clone3", sys::process::clone3, P(CLONE)),
    e(n32::CLOSE_RANGE, "close_range", sys::fd::close_range, C),
    e(n32::OPENAT2, "openat2", sys::fd::openat2, P("resolve flags EINVAL")),
    e(n32::PIDFD_GETFD, "pidfd_getfd", sys::process::pidfd_getfd, P(PIDFD)),
    e(n32::FACCESSAT2, "faccessat2", sys::fs_meta::faccessat2, C),
    e(n32::PROCESS_MADVISE, "process_madvise", sys::process::process_madvise, P("COLD, PAGEOUT, WILLNEED, COLLAPSE over a pidfd's process (CAP_SYS_NICE for another): checked as madvise, nothing to do in memory that never swaps")),
    e(n32::EPOLL_PWAIT2, "epoll_pwait2", sys::epoll::epoll_pwait2, P(EPOLL)),
    e(n32::PROCESS_MRELEASE, "process_mrelease", sys::process::process_mrelease, C),
    e(n32::FUTEX_WAITV, "futex_waitv", sys::futex::futex_waitv, P(FUTEX_WAITV)),
];

/// The dispatch table of an ABI.
pub fn table_of(abi: Abi) -> &'static [Entry] {
    match abi {
        Abi::X86_64 => X86_64,
        Abi::I386 => I386,
    }
}

/// Call numbers below this have a slot in the direct index (Linux's
/// highest in either table is in the 450s).
const INDEXED: usize = 512;

/// Number -> row of the table, `u16::MAX` for none: one load per call
/// instead of a binary search (built at compile time).
const fn index(t: &[Entry]) -> [u16; INDEXED] {
    let mut idx = [u16::MAX; INDEXED];
    let mut i = 0;
    while i < t.len() {
        assert!((t[i].nr as usize) < INDEXED, "a call number past the direct index");
        idx[t[i].nr as usize] = i as u16;
        i += 1;
    }
    idx
}

static X86_64_INDEX: [u16; INDEXED] = index(X86_64);
static I386_INDEX: [u16; INDEXED] = index(I386);

/// The implemented call with this number, if any.
pub fn lookup(abi: Abi, nr: u64) -> Option<&'static Entry> {
    let (t, idx) = match abi {
        Abi::X86_64 => (X86_64, &X86_64_INDEX),
        Abi::I386 => (I386, &I386_INDEX),
    };
    let row = *idx.get(usize::try_from(nr).ok()?)?;
    t.get(row as usize)
}

/// Linux's name of a call number (implemented or not).
pub fn name_of(abi: Abi, nr: u64) -> Option<&'static str> {
    let nr = u32::try_from(nr).ok()?;
    let names: &[(u32, &str)] = match abi {
        Abi::X86_64 => &n64::NAMES,
        Abi::I386 => &n32::NAMES,
    };
    names.binary_search_by_key(&nr, |x| x.0).ok().map(|i| names[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_finds_every_row_and_nothing_else() {
        for abi in [Abi::X86_64, Abi::I386] {
            for nr in 0..1000u64 {
                let by_search = table_of(abi).iter().find(|e| e.nr as u64 == nr).map(|e| e.name);
                assert_eq!(lookup(abi, nr).map(|e| e.name), by_search, "{abi:?} {nr}");
            }
            assert!(lookup(abi, u64::MAX).is_none());
        }
    }

    #[test]
    fn tables_sorted_and_named_as_linux() {
        for abi in [Abi::X86_64, Abi::I386] {
            let t = table_of(abi);
            for w in t.windows(2) {
                assert!(w[0].nr < w[1].nr, "{abi:?} table not sorted at {}", w[1].name);
            }
            for e in t {
                assert_eq!(name_of(abi, e.nr as u64), Some(e.name), "{abi:?} {}", e.nr);
                assert_eq!(lookup(abi, e.nr as u64).map(|x| x.name), Some(e.name));
            }
        }
    }

    /// A note says what works and what does not, never what will: promises
    /// go stale ("until signals exist" outlived signals by months).
    #[test]
    fn notes_describe_the_present() {
        let promises = ["once threads", "once signals", "until signals", "until threads", "not yet", "no signals yet", "yet)", "for now", "part 2", "todo", "will be", "soon"];
        for abi in [Abi::X86_64, Abi::I386] {
            for e in table_of(abi) {
                if let Status::Partial(note) = e.status {
                    let n = note.to_ascii_lowercase();
                    for p in promises {
                        if n.contains(p) {
                            panic!("{abi:?} {}: the note promises future work ({p:?}): {note}", e.name);
                        }
                    }
                }
            }
        }
    }

    /// docs/personality.md states the counts; they come from these tables.
    #[test]
    fn the_docs_give_the_tables_counts() {
        let docs = include_str!("../../../../docs/personality.md");
        let count = |abi| (table_of(abi).len(), table_of(abi).iter().filter(|e| e.status == Status::Complete).count());
        let ((n64, c64), (n32, c32)) = (count(Abi::X86_64), count(Abi::I386));
        let want = alloc::format!("**{n64} calls on x86_64 ({c64} complete)**, **{n32} on i386 ({c32} complete)**");
        assert!(docs.contains(&want), "docs/personality.md should say: {want}");
    }

    #[test]
    fn numbers_differ_per_abi() {
        let name = |abi, nr| lookup(abi, nr).map(|e| e.name);
        assert_eq!((name(Abi::X86_64, 1), name(Abi::I386, 4)), (Some("write"), Some("write")));
        assert_eq!(name(Abi::I386, 90), Some("mmap"), "old_mmap under Linux's name");
        assert_eq!((name(Abi::I386, 192), name(Abi::I386, 243)), (Some("mmap2"), Some("set_thread_area")));
        assert_eq!(name_of(Abi::X86_64, 425), Some("io_uring_setup"));
        assert!(lookup(Abi::X86_64, 425).is_none());
        assert_eq!(name_of(Abi::X86_64, 100_000), None);
        assert!(lookup(Abi::X86_64, u64::MAX).is_none());
        assert!(n32::NAMES.iter().any(|x| x.1 == "clock_gettime64"));
    }
}
