//! The dispatch tables: for each ABI, which Linux system calls the personality
//! implements, by which handler, and how completely. This is the single source
//! of truth for the coverage report; every number not listed answers -ENOSYS
//! and is logged by name.

use super::names::{i386 as n32, x86_64 as n64};
use crate::layout::{Abi, TimeBits};
use FileCall as F;
use crate::sys;

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

/// The file and descriptor calls.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileCall {
    Read,
    Write,
    Readv,
    Writev,
    Pread64,
    Pwrite64,
    Preadv,
    Pwritev,
    Open,
    Creat,
    Openat,
    Openat2,
    Close,
    CloseRange,
    Lseek,
    /// i386 `_llseek`.
    Llseek,
    Fstat(StatLayout),
    Stat(StatLayout),
    Lstat(StatLayout),
    Fstatat(StatLayout),
    Statx,
    Getdents,
    Getdents64,
    Dup,
    Dup2,
    Dup3,
    Fcntl,
    Ioctl,
    Mkdir,
    Mkdirat,
    Mknod,
    Mknodat,
    /// The extended-attribute calls.
    Xattr(XattrOp, XattrOn),
    Rmdir,
    Unlink,
    Unlinkat,
    Rename,
    Renameat,
    Renameat2,
    Link,
    Linkat,
    Symlink,
    Symlinkat,
    Readlink,
    Readlinkat,
    Chdir,
    Fchdir,
    Getcwd,
    Access,
    Faccessat,
    Faccessat2,
    Chmod,
    Fchmod,
    Fchmodat,
    Chown { bits16: bool },
    Lchown { bits16: bool },
    Fchown { bits16: bool },
    Fchownat,
    Umask,
    /// `split`: the i386 64-bit variants (length in two registers).
    Truncate { split: bool },
    Ftruncate { split: bool },
    Fallocate,
    Fsync,
    Sync,
    Utimensat { bits: TimeBits },
    /// `sized`: the i386 *64 variants with a size argument.
    Statfs { sized: bool },
    Fstatfs { sized: bool },
    /// `off64`: the offset pointer is 64-bit (x86_64, i386 sendfile64).
    Sendfile { off64: bool },
    CopyFileRange,
    Pipe,
    Pipe2,
    Eventfd,
    Eventfd2,
    Signalfd,
    Signalfd4,
    Poll,
    Ppoll { bits: TimeBits },
    Select,
    /// i386 `select` (82): arguments in a struct.
    OldSelect,
    Pselect6 { bits: TimeBits },
    Flock,
    /// `split`: i386 fadvise64_64 (offset and length in register pairs).
    Fadvise { split: bool },
    MemfdCreate,
    EpollCreate,
    EpollCreate1,
    EpollCtl,
    /// epoll_wait and epoll_pwait (the signal mask waits for signals, part 2).
    EpollWait,
}

/// The handlers: a [`crate::sys::Handler`], or (until they move to `sys/`)
/// one of the older per-family dispatchers.
#[derive(Clone, Copy)]
pub enum Sys {
    /// A handler of `sys/` (the shape every call is moving to).
    Fn(crate::sys::Handler),
    /// Files and descriptors (`process/files.rs`).
    File(FileCall),
}

impl core::fmt::Debug for Sys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Sys::Fn(_) => f.write_str("Fn"),
            Sys::File(c) => write!(f, "File({c:?})"),
        }
    }
}

/// How completely a call is implemented.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Complete,
    /// Works for the cases described; other cases return the errno noted.
    Partial(&'static str),
}

#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub nr: u32,
    pub name: &'static str,
    pub sys: Sys,
    pub status: Status,
}

const fn e(nr: u32, name: &'static str, sys: Sys, status: Status) -> Entry {
    Entry { nr, name, sys, status }
}

use Status::{Complete as C, Partial as P};

const CONSOLE: &str = "files, devices, pipes, sockets and the job console";
const OPEN: &str = "O_TMPFILE EOPNOTSUPP; /dev/tty ENXIO (no controlling terminal)";
const POLL: &str = "files, devices, pipes, sockets and the job console (a change anywhere in the job wakes a waiting call)";
const IOCTL: &str = "FIONREAD, FIOCLEX, FIONCLEX, FIONBIO, FS_IOC_GETFLAGS (no flags) and FS_IOC_SETFLAGS (no flags only); terminal requests ENOTTY (no terminals)";
const FCNTL: &str = "DUPFD(_CLOEXEC), GETFD/SETFD, GETFL/SETFL, record locks (one process: always granted, GETLK reports F_UNLCK), GETPIPE_SZ";
const IDS: &str = "one process: root may set any id, others only their own; the saved id follows";
const ONE_CPU: &str = "the node runs the process on one CPU (mask 1)";
const EPOLL: &str = "level-triggered readiness of the console streams and devices (EPOLLET treated as level); regular files EPERM as Linux; stdin wakes a waiting call";
const TIMERS: &str = "timers are kept and report their time left; the signal at expiry is not delivered until signals exist (part 2)";
const LOCKS: &str = "one process holds every lock: always granted";
const MMAP: &str = "anonymous and file mappings; MAP_SHARED file mappings are copies written back on msync, munmap and close (not coherent with read/write in between)";
const FORK: &str = "a copy-on-write copy of the process";
const CLONE: &str = "processes (fork, vfork, posix_spawn flags; CLONE_VM without CLONE_THREAD is a copy-on-write fork); threads (CLONE_THREAD with CLONE_VM|CLONE_SIGHAND, CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID); no namespaces";
const EXEC: &str = "static ELF64/ELF32 programs and #! scripts from the job's file tree; dynamic ELF ENOENT (no interpreter), foreign ELF ENOEXEC";
const WAIT: &str = "exited and killed children, stopped (WUNTRACED/WSTOPPED) and continued (WCONTINUED) ones";
const EXIT: &str = "ends the calling thread (clear_child_tid written and woken, robust futexes released); the process ends with its last thread";
const ROBUST: &str = "walked when a thread ends: futexes it holds get FUTEX_OWNER_DIED and a waiter is woken";
const FUTEX: &str = "WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET, WAKE_BITSET, private or not (keyed by process and address: no futexes shared between processes), timeouts; the PI operations: ENOSYS";
const SIGNALFD: &str = "reads signalfd_siginfo records of the pending signals in its set (signo, code, pid, uid, status, addr)";
const KILL: &str = "default actions (terminate, core as terminate, stop and continue, ignore) and handlers (x86_64 and i386 frames, SA_SIGINFO, SA_RESTART, SA_ONSTACK, SA_NODEFER, SA_RESETHAND); a handler runs when the process next enters the kernel (a call or a fault), so a process spinning in user space sees it late";
const SIGACT: &str = "all flags kept; the FPU state is not saved in the frame (handlers run at system-call boundaries, where no SSE register is live under the C ABIs)";
const MLOCK: &str = "ranges checked as Linux (ENOMEM for unmapped or, without MLOCK_ONFAULT, PROT_NONE pages); SiON never swaps, so nothing else is done; RLIMIT_MEMLOCK (without root) bounds one call, not the sum of locked pages";
const MLOCKALL: &str = "flags checked; SiON never swaps, so nothing else is done; RLIMIT_MEMLOCK (without root) against the mapped total for MCL_CURRENT, not applied to later mappings for MCL_FUTURE";
const PRIO: &str = "per process (a thread id names its process), PRIO_PROCESS, PRIO_PGRP, PRIO_USER, RLIMIT_NICE and the owner rules; kept and reported, the scheduler has one priority";
const PRCTL: &str = "PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_SET_PDEATHSIG/PR_GET_PDEATHSIG (sent when the parent process ends, not its thread); other options EINVAL";
const MKNOD: &str = "regular files, FIFOs (named pipes: opens wait for the other side as Linux) and socket names; character and block devices for root only (EPERM otherwise), opened as SiON's own devices when the number is null, zero, full, random or urandom, ENXIO otherwise";
const XATTR_GET: &str = "the file tree stores no extended attributes: ENODATA for user., trusted., security. and the ACL names, EOPNOTSUPP for others; name, path and permission errors as Linux";
const XATTR_SET: &str = "the file tree stores no extended attributes: EOPNOTSUPP after Linux's checks (flags, name, size, path, permissions)";
const XATTR_LIST: &str = "the file tree stores no extended attributes: always an empty list";
const XATTR_REMOVE: &str = "the file tree stores no extended attributes: ENODATA (nothing to remove) after Linux's checks";
const SLEEP: &str = "no signals yet, so never interrupted and the remaining time is not written";

/// The x86_64 table, sorted by number.
pub static X86_64: &[Entry] = &[
    e(n64::READ, "read", Sys::File(F::Read), P(CONSOLE)),
    e(n64::WRITE, "write", Sys::File(F::Write), P(CONSOLE)),
    e(n64::OPEN, "open", Sys::File(F::Open), P(OPEN)),
    e(n64::CLOSE, "close", Sys::File(F::Close), C),
    e(n64::STAT, "stat", Sys::File(F::Stat(StatLayout::Stat64)), C),
    e(n64::FSTAT, "fstat", Sys::File(F::Fstat(StatLayout::Stat64)), C),
    e(n64::LSTAT, "lstat", Sys::File(F::Lstat(StatLayout::Stat64)), C),
    e(n64::POLL, "poll", Sys::File(F::Poll), P(POLL)),
    e(n64::LSEEK, "lseek", Sys::File(F::Lseek), C),
    e(n64::MMAP, "mmap", Sys::Fn(sys::mm::mmap), P(MMAP)),
    e(n64::MPROTECT, "mprotect", Sys::Fn(sys::mm::mprotect), C),
    e(n64::MUNMAP, "munmap", Sys::Fn(sys::mm::munmap), C),
    e(n64::BRK, "brk", Sys::Fn(sys::mm::brk), C),
    e(n64::RT_SIGACTION, "rt_sigaction", Sys::Fn(sys::signal::rt_sigaction), P(SIGACT)),
    e(n64::RT_SIGPROCMASK, "rt_sigprocmask", Sys::Fn(sys::signal::rt_sigprocmask), C),
    e(n64::RT_SIGRETURN, "rt_sigreturn", Sys::Fn(sys::signal::rt_sigreturn), C),
    e(n64::IOCTL, "ioctl", Sys::File(F::Ioctl), P(IOCTL)),
    e(n64::PREAD64, "pread64", Sys::File(F::Pread64), C),
    e(n64::PWRITE64, "pwrite64", Sys::File(F::Pwrite64), C),
    e(n64::READV, "readv", Sys::File(F::Readv), P(CONSOLE)),
    e(n64::WRITEV, "writev", Sys::File(F::Writev), P(CONSOLE)),
    e(n64::ACCESS, "access", Sys::File(F::Access), C),
    e(n64::PIPE, "pipe", Sys::File(F::Pipe), C),
    e(n64::SELECT, "select", Sys::File(F::Select), P(POLL)),
    e(n64::SCHED_YIELD, "sched_yield", Sys::Fn(sys::sched::sched_yield), C),
    e(n64::MREMAP, "mremap", Sys::Fn(sys::mm::mremap), P("MAYMOVE and FIXED; DONTUNMAP EINVAL")),
    e(n64::MSYNC, "msync", Sys::Fn(sys::mm::msync), C),
    e(n64::MINCORE, "mincore", Sys::Fn(sys::mm::mincore), C),
    e(n64::MADVISE, "madvise", Sys::Fn(sys::mm::madvise), P("DONTNEED drops private pages (they come back zero, file pages too); other advice accepted")),
    e(n64::DUP, "dup", Sys::File(F::Dup), C),
    e(n64::DUP2, "dup2", Sys::File(F::Dup2), C),
    e(n64::PAUSE, "pause", Sys::Fn(sys::signal::pause), C),
    e(n64::NANOSLEEP, "nanosleep", Sys::Fn(sys::time::nanosleep), P(SLEEP)),
    e(n64::GETITIMER, "getitimer", Sys::Fn(sys::time::getitimer), P(TIMERS)),
    e(n64::ALARM, "alarm", Sys::Fn(sys::time::alarm), P(TIMERS)),
    e(n64::SETITIMER, "setitimer", Sys::Fn(sys::time::setitimer), P(TIMERS)),
    e(n64::GETPID, "getpid", Sys::Fn(sys::ids::getpid), C),
    e(n64::SENDFILE, "sendfile", Sys::File(F::Sendfile { off64: true }), P("from regular files")),
    e(n64::SOCKET, "socket", Sys::Fn(sys::socket::socket), P(INET)),
    e(n64::CONNECT, "connect", Sys::Fn(sys::socket::connect), P(INET)),
    e(n64::ACCEPT, "accept", Sys::Fn(sys::socket::accept), P(INET)),
    e(n64::SENDTO, "sendto", Sys::Fn(sys::socket::sendto), P(INET_IO)),
    e(n64::RECVFROM, "recvfrom", Sys::Fn(sys::socket::recvfrom), P(INET_IO)),
    e(n64::SENDMSG, "sendmsg", Sys::Fn(sys::socket::sendmsg), P(MSG)),
    e(n64::RECVMSG, "recvmsg", Sys::Fn(sys::socket::recvmsg), P(MSG)),
    e(n64::SHUTDOWN, "shutdown", Sys::Fn(sys::socket::shutdown), P(INET)),
    e(n64::BIND, "bind", Sys::Fn(sys::socket::bind), P(INET)),
    e(n64::LISTEN, "listen", Sys::Fn(sys::socket::listen), P(INET)),
    e(n64::GETSOCKNAME, "getsockname", Sys::Fn(sys::socket::getsockname), P(INET)),
    e(n64::GETPEERNAME, "getpeername", Sys::Fn(sys::socket::getpeername), P(INET)),
    e(n64::SOCKETPAIR, "socketpair", Sys::Fn(sys::socket::socketpair), P("AF_UNIX (AF_INET: EOPNOTSUPP)")),
    e(n64::SETSOCKOPT, "setsockopt", Sys::Fn(sys::socket::setsockopt), P(SOCKOPT)),
    e(n64::GETSOCKOPT, "getsockopt", Sys::Fn(sys::socket::getsockopt), P(SOCKOPT)),
    e(n64::CLONE, "clone", Sys::Fn(sys::process::clone), P(CLONE)),
    e(n64::FORK, "fork", Sys::Fn(sys::process::fork), P(FORK)),
    e(n64::VFORK, "vfork", Sys::Fn(sys::process::vfork), P("the parent waits until the child execs or exits; the child has a copy-on-write copy of the memory, not the parent's")),
    e(n64::EXECVE, "execve", Sys::Fn(sys::process::execve), P(EXEC)),
    e(n64::EXIT, "exit", Sys::Fn(sys::process::exit), P(EXIT)),
    e(n64::WAIT4, "wait4", Sys::Fn(sys::process::wait4), P(WAIT)),
    e(n64::KILL, "kill", Sys::Fn(sys::signal::kill), P(KILL)),
    e(n64::UNAME, "uname", Sys::Fn(sys::system::uname), C),
    e(n64::FCNTL, "fcntl", Sys::File(F::Fcntl), P(FCNTL)),
    e(n64::FLOCK, "flock", Sys::File(F::Flock), P(LOCKS)),
    e(n64::FSYNC, "fsync", Sys::File(F::Fsync), C),
    e(n64::FDATASYNC, "fdatasync", Sys::File(F::Fsync), C),
    e(n64::TRUNCATE, "truncate", Sys::File(F::Truncate { split: false }), C),
    e(n64::FTRUNCATE, "ftruncate", Sys::File(F::Ftruncate { split: false }), C),
    e(n64::GETDENTS, "getdents", Sys::File(F::Getdents), C),
    e(n64::GETCWD, "getcwd", Sys::File(F::Getcwd), C),
    e(n64::CHDIR, "chdir", Sys::File(F::Chdir), C),
    e(n64::FCHDIR, "fchdir", Sys::File(F::Fchdir), C),
    e(n64::RENAME, "rename", Sys::File(F::Rename), C),
    e(n64::MKDIR, "mkdir", Sys::File(F::Mkdir), C),
    e(n64::RMDIR, "rmdir", Sys::File(F::Rmdir), C),
    e(n64::CREAT, "creat", Sys::File(F::Creat), C),
    e(n64::LINK, "link", Sys::File(F::Link), C),
    e(n64::UNLINK, "unlink", Sys::File(F::Unlink), C),
    e(n64::SYMLINK, "symlink", Sys::File(F::Symlink), C),
    e(n64::READLINK, "readlink", Sys::File(F::Readlink), C),
    e(n64::CHMOD, "chmod", Sys::File(F::Chmod), C),
    e(n64::FCHMOD, "fchmod", Sys::File(F::Fchmod), C),
    e(n64::CHOWN, "chown", Sys::File(F::Chown { bits16: false }), C),
    e(n64::FCHOWN, "fchown", Sys::File(F::Fchown { bits16: false }), C),
    e(n64::LCHOWN, "lchown", Sys::File(F::Lchown { bits16: false }), C),
    e(n64::UMASK, "umask", Sys::File(F::Umask), C),
    e(n64::GETTIMEOFDAY, "gettimeofday", Sys::Fn(sys::time::gettimeofday), C),
    e(n64::GETRLIMIT, "getrlimit", Sys::Fn(sys::resource::getrlimit), C),
    e(n64::GETRUSAGE, "getrusage", Sys::Fn(sys::resource::getrusage), P("CPU time (as user time) and max RSS; other fields 0")),
    e(n64::SYSINFO, "sysinfo", Sys::Fn(sys::system::sysinfo), P("loads 0, no swap")),
    e(n64::TIMES, "times", Sys::Fn(sys::resource::times), P("user time is all the CPU time; no children")),
    e(n64::GETUID, "getuid", Sys::Fn(sys::ids::getuid), C),
    e(n64::GETGID, "getgid", Sys::Fn(sys::ids::getgid), C),
    e(n64::SETUID, "setuid", Sys::Fn(sys::ids::setuid), P(IDS)),
    e(n64::SETGID, "setgid", Sys::Fn(sys::ids::setgid), P(IDS)),
    e(n64::GETEUID, "geteuid", Sys::Fn(sys::ids::geteuid), C),
    e(n64::GETEGID, "getegid", Sys::Fn(sys::ids::getegid), C),
    e(n64::SETPGID, "setpgid", Sys::Fn(sys::process::setpgid), C),
    e(n64::GETPPID, "getppid", Sys::Fn(sys::process::getppid), C),
    e(n64::GETPGRP, "getpgrp", Sys::Fn(sys::process::getpgrp), C),
    e(n64::SETSID, "setsid", Sys::Fn(sys::process::setsid), C),
    e(n64::SETREUID, "setreuid", Sys::Fn(sys::ids::setreuid), P(IDS)),
    e(n64::SETREGID, "setregid", Sys::Fn(sys::ids::setregid), P(IDS)),
    e(n64::GETGROUPS, "getgroups", Sys::Fn(sys::ids::getgroups), C),
    e(n64::SETGROUPS, "setgroups", Sys::Fn(sys::ids::setgroups), C),
    e(n64::SETRESUID, "setresuid", Sys::Fn(sys::ids::setresuid), P(IDS)),
    e(n64::GETRESUID, "getresuid", Sys::Fn(sys::ids::getresuid), C),
    e(n64::SETRESGID, "setresgid", Sys::Fn(sys::ids::setresgid), P(IDS)),
    e(n64::GETRESGID, "getresgid", Sys::Fn(sys::ids::getresgid), C),
    e(n64::GETPGID, "getpgid", Sys::Fn(sys::process::getpgid), C),
    e(n64::GETSID, "getsid", Sys::Fn(sys::process::getsid), C),
    e(n64::RT_SIGPENDING, "rt_sigpending", Sys::Fn(sys::signal::rt_sigpending), C),
    e(n64::RT_SIGTIMEDWAIT, "rt_sigtimedwait", Sys::Fn(sys::signal::rt_sigtimedwait), C),
    e(n64::RT_SIGQUEUEINFO, "rt_sigqueueinfo", Sys::Fn(sys::signal::rt_sigqueueinfo), C),
    e(n64::RT_SIGSUSPEND, "rt_sigsuspend", Sys::Fn(sys::signal::rt_sigsuspend), C),
    e(n64::SIGALTSTACK, "sigaltstack", Sys::Fn(sys::signal::sigaltstack), C),
    e(n64::MKNOD, "mknod", Sys::File(F::Mknod), P(MKNOD)),
    e(n64::STATFS, "statfs", Sys::File(F::Statfs { sized: false }), C),
    e(n64::FSTATFS, "fstatfs", Sys::File(F::Fstatfs { sized: false }), C),
    e(n64::GETPRIORITY, "getpriority", Sys::Fn(sys::process::getpriority), P(PRIO)),
    e(n64::SETPRIORITY, "setpriority", Sys::Fn(sys::process::setpriority), P(PRIO)),
    e(n64::SCHED_GETPARAM, "sched_getparam", Sys::Fn(sys::sched::sched_getparam), P("own process: priority 0")),
    e(n64::SCHED_GETSCHEDULER, "sched_getscheduler", Sys::Fn(sys::sched::sched_getscheduler), P("own process: SCHED_OTHER")),
    e(n64::SCHED_GET_PRIORITY_MAX, "sched_get_priority_max", Sys::Fn(sys::sched::sched_get_priority_max), C),
    e(n64::SCHED_GET_PRIORITY_MIN, "sched_get_priority_min", Sys::Fn(sys::sched::sched_get_priority_min), C),
    e(n64::MLOCK, "mlock", Sys::Fn(sys::mm::mlock), P(MLOCK)),
    e(n64::MUNLOCK, "munlock", Sys::Fn(sys::mm::munlock), P(MLOCK)),
    e(n64::MLOCKALL, "mlockall", Sys::Fn(sys::mm::mlockall), P(MLOCKALL)),
    e(n64::MUNLOCKALL, "munlockall", Sys::Fn(sys::mm::munlockall), C),
    e(n64::PRCTL, "prctl", Sys::Fn(sys::system::prctl), P(PRCTL)),
    e(n64::ARCH_PRCTL, "arch_prctl", Sys::Fn(sys::process::arch_prctl), P("ARCH_SET_FS/GET_FS/SET_GS/GET_GS; others EINVAL")),
    e(n64::SETRLIMIT, "setrlimit", Sys::Fn(sys::resource::setrlimit), P("limits are stored and reported, not enforced")),
    e(n64::SYNC, "sync", Sys::File(F::Sync), C),
    e(n64::SETHOSTNAME, "sethostname", Sys::Fn(sys::system::sethostname), C),
    e(n64::GETTID, "gettid", Sys::Fn(sys::ids::gettid), C),
    e(n64::SETXATTR, "setxattr", Sys::File(F::Xattr(XattrOp::Set, XattrOn::Path)), P(XATTR_SET)),
    e(n64::LSETXATTR, "lsetxattr", Sys::File(F::Xattr(XattrOp::Set, XattrOn::Link)), P(XATTR_SET)),
    e(n64::FSETXATTR, "fsetxattr", Sys::File(F::Xattr(XattrOp::Set, XattrOn::Fd)), P(XATTR_SET)),
    e(n64::GETXATTR, "getxattr", Sys::File(F::Xattr(XattrOp::Get, XattrOn::Path)), P(XATTR_GET)),
    e(n64::LGETXATTR, "lgetxattr", Sys::File(F::Xattr(XattrOp::Get, XattrOn::Link)), P(XATTR_GET)),
    e(n64::FGETXATTR, "fgetxattr", Sys::File(F::Xattr(XattrOp::Get, XattrOn::Fd)), P(XATTR_GET)),
    e(n64::LISTXATTR, "listxattr", Sys::File(F::Xattr(XattrOp::List, XattrOn::Path)), P(XATTR_LIST)),
    e(n64::LLISTXATTR, "llistxattr", Sys::File(F::Xattr(XattrOp::List, XattrOn::Link)), P(XATTR_LIST)),
    e(n64::FLISTXATTR, "flistxattr", Sys::File(F::Xattr(XattrOp::List, XattrOn::Fd)), P(XATTR_LIST)),
    e(n64::REMOVEXATTR, "removexattr", Sys::File(F::Xattr(XattrOp::Remove, XattrOn::Path)), P(XATTR_REMOVE)),
    e(n64::LREMOVEXATTR, "lremovexattr", Sys::File(F::Xattr(XattrOp::Remove, XattrOn::Link)), P(XATTR_REMOVE)),
    e(n64::FREMOVEXATTR, "fremovexattr", Sys::File(F::Xattr(XattrOp::Remove, XattrOn::Fd)), P(XATTR_REMOVE)),
    e(n64::TKILL, "tkill", Sys::Fn(sys::signal::tkill), P(KILL)),
    e(n64::TIME, "time", Sys::Fn(sys::time::time), C),
    e(n64::FUTEX, "futex", Sys::Fn(sys::futex::futex), P(FUTEX)),
    e(n64::SCHED_SETAFFINITY, "sched_setaffinity", Sys::Fn(sys::sched::sched_setaffinity), P(ONE_CPU)),
    e(n64::SCHED_GETAFFINITY, "sched_getaffinity", Sys::Fn(sys::sched::sched_getaffinity), P(ONE_CPU)),
    e(n64::EPOLL_CREATE, "epoll_create", Sys::File(F::EpollCreate), P(EPOLL)),
    e(n64::GETDENTS64, "getdents64", Sys::File(F::Getdents64), C),
    e(n64::SET_TID_ADDRESS, "set_tid_address", Sys::Fn(sys::process::set_tid_address), P("address stored; cleared on thread exit once threads exist")),
    e(n64::FADVISE64, "fadvise64", Sys::File(F::Fadvise { split: false }), P("advice accepted, nothing to do in memory")),
    e(n64::CLOCK_GETTIME, "clock_gettime", Sys::Fn(sys::time::clock_gettime), P("REALTIME, MONOTONIC, *_RAW, *_COARSE, BOOTTIME, CPUTIME clocks")),
    e(n64::CLOCK_GETRES, "clock_getres", Sys::Fn(sys::time::clock_getres), C),
    e(n64::CLOCK_NANOSLEEP, "clock_nanosleep", Sys::Fn(sys::time::clock_nanosleep), P(SLEEP)),
    e(n64::EXIT_GROUP, "exit_group", Sys::Fn(sys::process::exit_group), C),
    e(n64::EPOLL_WAIT, "epoll_wait", Sys::File(F::EpollWait), P(EPOLL)),
    e(n64::EPOLL_CTL, "epoll_ctl", Sys::File(F::EpollCtl), P(EPOLL)),
    e(n64::TGKILL, "tgkill", Sys::Fn(sys::signal::tgkill), P(KILL)),
    e(n64::WAITID, "waitid", Sys::Fn(sys::process::waitid), P(WAIT)),
    e(n64::OPENAT, "openat", Sys::File(F::Openat), P(OPEN)),
    e(n64::MKDIRAT, "mkdirat", Sys::File(F::Mkdirat), C),
    e(n64::MKNODAT, "mknodat", Sys::File(F::Mknodat), P(MKNOD)),
    e(n64::FCHOWNAT, "fchownat", Sys::File(F::Fchownat), C),
    e(n64::NEWFSTATAT, "newfstatat", Sys::File(F::Fstatat(StatLayout::Stat64)), C),
    e(n64::UNLINKAT, "unlinkat", Sys::File(F::Unlinkat), C),
    e(n64::RENAMEAT, "renameat", Sys::File(F::Renameat), C),
    e(n64::LINKAT, "linkat", Sys::File(F::Linkat), C),
    e(n64::SYMLINKAT, "symlinkat", Sys::File(F::Symlinkat), C),
    e(n64::READLINKAT, "readlinkat", Sys::File(F::Readlinkat), C),
    e(n64::FCHMODAT, "fchmodat", Sys::File(F::Fchmodat), C),
    e(n64::FACCESSAT, "faccessat", Sys::File(F::Faccessat), C),
    e(n64::PSELECT6, "pselect6", Sys::File(F::Pselect6 { bits: TimeBits::B64 }), P(POLL)),
    e(n64::PPOLL, "ppoll", Sys::File(F::Ppoll { bits: TimeBits::B64 }), P(POLL)),
    e(n64::SET_ROBUST_LIST, "set_robust_list", Sys::Fn(sys::process::set_robust_list), P(ROBUST)),
    e(n64::GET_ROBUST_LIST, "get_robust_list", Sys::Fn(sys::process::get_robust_list), C),
    e(n64::UTIMENSAT, "utimensat", Sys::File(F::Utimensat { bits: TimeBits::B64 }), C),
    e(n64::EPOLL_PWAIT, "epoll_pwait", Sys::File(F::EpollWait), P(EPOLL)),
    e(n64::SIGNALFD, "signalfd", Sys::File(F::Signalfd), P(SIGNALFD)),
    e(n64::EVENTFD, "eventfd", Sys::File(F::Eventfd), C),
    e(n64::FALLOCATE, "fallocate", Sys::File(F::Fallocate), P("modes 0, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE")),
    e(n64::ACCEPT4, "accept4", Sys::Fn(sys::socket::accept4), P(INET)),
    e(n64::SIGNALFD4, "signalfd4", Sys::File(F::Signalfd4), P(SIGNALFD)),
    e(n64::EVENTFD2, "eventfd2", Sys::File(F::Eventfd2), C),
    e(n64::EPOLL_CREATE1, "epoll_create1", Sys::File(F::EpollCreate1), P(EPOLL)),
    e(n64::DUP3, "dup3", Sys::File(F::Dup3), C),
    e(n64::PIPE2, "pipe2", Sys::File(F::Pipe2), P("O_DIRECT (packet mode) is accepted and behaves as a byte stream")),
    e(n64::PREADV, "preadv", Sys::File(F::Preadv), C),
    e(n64::PWRITEV, "pwritev", Sys::File(F::Pwritev), C),
    e(n64::RT_TGSIGQUEUEINFO, "rt_tgsigqueueinfo", Sys::Fn(sys::signal::rt_tgsigqueueinfo), C),
    e(n64::RECVMMSG, "recvmmsg", Sys::Fn(sys::socket::recvmmsg), P("the first message waits as recvmsg would, later ones are taken if already there; the timeout is not applied")),
    e(n64::PRLIMIT64, "prlimit64", Sys::Fn(sys::resource::prlimit64), P("own process only; limits stored, not enforced")),
    e(n64::SYNCFS, "syncfs", Sys::File(F::Fsync), C),
    e(n64::SENDMMSG, "sendmmsg", Sys::Fn(sys::socket::sendmmsg), P(MSG)),
    e(n64::GETCPU, "getcpu", Sys::Fn(sys::sched::getcpu), P(ONE_CPU)),
    e(n64::RENAMEAT2, "renameat2", Sys::File(F::Renameat2), P("NOREPLACE and EXCHANGE; WHITEOUT EINVAL")),
    e(n64::GETRANDOM, "getrandom", Sys::Fn(sys::system::getrandom), C),
    e(n64::MEMFD_CREATE, "memfd_create", Sys::File(F::MemfdCreate), P("no seals")),
    e(n64::EXECVEAT, "execveat", Sys::Fn(sys::process::execveat), P(EXEC)),
    e(n64::MLOCK2, "mlock2", Sys::Fn(sys::mm::mlock2), P(MLOCK)),
    e(n64::COPY_FILE_RANGE, "copy_file_range", Sys::File(F::CopyFileRange), C),
    e(n64::STATX, "statx", Sys::File(F::Statx), C),
    e(n64::RSEQ, "rseq", Sys::Fn(sys::process::rseq), P("always ENOSYS: no restartable sequences (libcs carry on without)")),
    e(n64::CLONE3, "clone3", Sys::Fn(sys::process::clone3), P(CLONE)),
    e(n64::CLOSE_RANGE, "close_range", Sys::File(F::CloseRange), C),
    e(n64::OPENAT2, "openat2", Sys::File(F::Openat2), P("resolve flags EINVAL")),
    e(n64::FACCESSAT2, "faccessat2", Sys::File(F::Faccessat2), C),
];

/// The i386 table, sorted by number.
pub static I386: &[Entry] = &[
    e(n32::EXIT, "exit", Sys::Fn(sys::process::exit), P(EXIT)),
    e(n32::FORK, "fork", Sys::Fn(sys::process::fork), P(FORK)),
    e(n32::READ, "read", Sys::File(F::Read), P(CONSOLE)),
    e(n32::WRITE, "write", Sys::File(F::Write), P(CONSOLE)),
    e(n32::OPEN, "open", Sys::File(F::Open), P(OPEN)),
    e(n32::CLOSE, "close", Sys::File(F::Close), C),
    e(n32::WAITPID, "waitpid", Sys::Fn(sys::process::waitpid), P(WAIT)),
    e(n32::CREAT, "creat", Sys::File(F::Creat), C),
    e(n32::LINK, "link", Sys::File(F::Link), C),
    e(n32::UNLINK, "unlink", Sys::File(F::Unlink), C),
    e(n32::EXECVE, "execve", Sys::Fn(sys::process::execve), P(EXEC)),
    e(n32::CHDIR, "chdir", Sys::File(F::Chdir), C),
    e(n32::TIME, "time", Sys::Fn(sys::time::time), C),
    e(n32::MKNOD, "mknod", Sys::File(F::Mknod), P(MKNOD)),
    e(n32::CHMOD, "chmod", Sys::File(F::Chmod), C),
    e(n32::LCHOWN, "lchown", Sys::File(F::Lchown { bits16: true }), C),
    e(n32::LSEEK, "lseek", Sys::File(F::Lseek), C),
    e(n32::GETPID, "getpid", Sys::Fn(sys::ids::getpid), C),
    e(n32::SETUID, "setuid", Sys::Fn(sys::ids::setuid), P(IDS)),
    e(n32::GETUID, "getuid", Sys::Fn(sys::ids::getuid), C),
    e(n32::ALARM, "alarm", Sys::Fn(sys::time::alarm), P(TIMERS)),
    e(n32::PAUSE, "pause", Sys::Fn(sys::signal::pause), C),
    e(n32::ACCESS, "access", Sys::File(F::Access), C),
    e(n32::NICE, "nice", Sys::Fn(sys::process::nice), P(PRIO)),
    e(n32::SYNC, "sync", Sys::File(F::Sync), C),
    e(n32::KILL, "kill", Sys::Fn(sys::signal::kill), P(KILL)),
    e(n32::RENAME, "rename", Sys::File(F::Rename), C),
    e(n32::MKDIR, "mkdir", Sys::File(F::Mkdir), C),
    e(n32::RMDIR, "rmdir", Sys::File(F::Rmdir), C),
    e(n32::DUP, "dup", Sys::File(F::Dup), C),
    e(n32::PIPE, "pipe", Sys::File(F::Pipe), C),
    e(n32::TIMES, "times", Sys::Fn(sys::resource::times), P("user time is all the CPU time; no children")),
    e(n32::BRK, "brk", Sys::Fn(sys::mm::brk), C),
    e(n32::SETGID, "setgid", Sys::Fn(sys::ids::setgid), P(IDS)),
    e(n32::GETGID, "getgid", Sys::Fn(sys::ids::getgid), C),
    e(n32::SIGNAL, "signal", Sys::Fn(sys::signal::signal), P(SIGACT)),
    e(n32::GETEUID, "geteuid", Sys::Fn(sys::ids::geteuid), C),
    e(n32::GETEGID, "getegid", Sys::Fn(sys::ids::getegid), C),
    e(n32::IOCTL, "ioctl", Sys::File(F::Ioctl), P(IOCTL)),
    e(n32::FCNTL, "fcntl", Sys::File(F::Fcntl), P(FCNTL)),
    e(n32::SETPGID, "setpgid", Sys::Fn(sys::process::setpgid), C),
    e(n32::UMASK, "umask", Sys::File(F::Umask), C),
    e(n32::DUP2, "dup2", Sys::File(F::Dup2), C),
    e(n32::GETPPID, "getppid", Sys::Fn(sys::process::getppid), C),
    e(n32::GETPGRP, "getpgrp", Sys::Fn(sys::process::getpgrp), C),
    e(n32::SETSID, "setsid", Sys::Fn(sys::process::setsid), C),
    e(n32::SIGACTION, "sigaction", Sys::Fn(sys::signal::sigaction), P(SIGACT)),
    e(n32::SETREUID, "setreuid", Sys::Fn(sys::ids::setreuid), P(IDS)),
    e(n32::SETREGID, "setregid", Sys::Fn(sys::ids::setregid), P(IDS)),
    e(n32::SIGSUSPEND, "sigsuspend", Sys::Fn(sys::signal::sigsuspend), C),
    e(n32::SIGPENDING, "sigpending", Sys::Fn(sys::signal::sigpending), C),
    e(n32::SETHOSTNAME, "sethostname", Sys::Fn(sys::system::sethostname), C),
    e(n32::SETRLIMIT, "setrlimit", Sys::Fn(sys::resource::setrlimit), P("limits are stored and reported, not enforced")),
    e(n32::GETRLIMIT, "getrlimit", Sys::Fn(sys::resource::getrlimit), C),
    e(n32::GETRUSAGE, "getrusage", Sys::Fn(sys::resource::getrusage), P("CPU time (as user time) and max RSS; other fields 0")),
    e(n32::GETTIMEOFDAY, "gettimeofday", Sys::Fn(sys::time::gettimeofday), C),
    e(n32::GETGROUPS, "getgroups", Sys::Fn(sys::ids::getgroups), C),
    e(n32::SETGROUPS, "setgroups", Sys::Fn(sys::ids::setgroups), C),
    e(n32::SELECT, "select", Sys::File(F::OldSelect), P(POLL)),
    e(n32::SYMLINK, "symlink", Sys::File(F::Symlink), C),
    e(n32::READLINK, "readlink", Sys::File(F::Readlink), C),
    e(n32::MMAP, "mmap", Sys::Fn(sys::mm::old_mmap), P(MMAP)),
    e(n32::MUNMAP, "munmap", Sys::Fn(sys::mm::munmap), C),
    e(n32::TRUNCATE, "truncate", Sys::File(F::Truncate { split: false }), C),
    e(n32::FTRUNCATE, "ftruncate", Sys::File(F::Ftruncate { split: false }), C),
    e(n32::FCHMOD, "fchmod", Sys::File(F::Fchmod), C),
    e(n32::FCHOWN, "fchown", Sys::File(F::Fchown { bits16: true }), C),
    e(n32::GETPRIORITY, "getpriority", Sys::Fn(sys::process::getpriority), P(PRIO)),
    e(n32::SETPRIORITY, "setpriority", Sys::Fn(sys::process::setpriority), P(PRIO)),
    e(n32::STATFS, "statfs", Sys::File(F::Statfs { sized: false }), C),
    e(n32::FSTATFS, "fstatfs", Sys::File(F::Fstatfs { sized: false }), C),
    e(n32::SOCKETCALL, "socketcall", Sys::Fn(sys::socket::socketcall), P("every socket call: socket, socketpair, bind, connect, listen, accept(4), send(to), recv(from), shutdown, get/setsockopt, get*name, send/recvmsg, send/recvmmsg")),
    e(n32::SETITIMER, "setitimer", Sys::Fn(sys::time::setitimer), P(TIMERS)),
    e(n32::GETITIMER, "getitimer", Sys::Fn(sys::time::getitimer), P(TIMERS)),
    e(n32::STAT, "stat", Sys::File(F::Stat(StatLayout::I386Old)), C),
    e(n32::LSTAT, "lstat", Sys::File(F::Lstat(StatLayout::I386Old)), C),
    e(n32::FSTAT, "fstat", Sys::File(F::Fstat(StatLayout::I386Old)), C),
    e(n32::WAIT4, "wait4", Sys::Fn(sys::process::wait4), P(WAIT)),
    e(n32::SYSINFO, "sysinfo", Sys::Fn(sys::system::sysinfo), P("loads 0, no swap")),
    e(n32::FSYNC, "fsync", Sys::File(F::Fsync), C),
    e(n32::SIGRETURN, "sigreturn", Sys::Fn(sys::signal::sigreturn), C),
    e(n32::CLONE, "clone", Sys::Fn(sys::process::clone), P(CLONE)),
    e(n32::UNAME, "uname", Sys::Fn(sys::system::uname), C),
    e(n32::MPROTECT, "mprotect", Sys::Fn(sys::mm::mprotect), C),
    e(n32::SIGPROCMASK, "sigprocmask", Sys::Fn(sys::signal::sigprocmask), C),
    e(n32::GETPGID, "getpgid", Sys::Fn(sys::process::getpgid), C),
    e(n32::FCHDIR, "fchdir", Sys::File(F::Fchdir), C),
    e(n32::_LLSEEK, "_llseek", Sys::File(F::Llseek), C),
    e(n32::GETDENTS, "getdents", Sys::File(F::Getdents), C),
    e(n32::_NEWSELECT, "_newselect", Sys::File(F::Select), P(POLL)),
    e(n32::FLOCK, "flock", Sys::File(F::Flock), P(LOCKS)),
    e(n32::MSYNC, "msync", Sys::Fn(sys::mm::msync), C),
    e(n32::READV, "readv", Sys::File(F::Readv), P(CONSOLE)),
    e(n32::WRITEV, "writev", Sys::File(F::Writev), P(CONSOLE)),
    e(n32::GETSID, "getsid", Sys::Fn(sys::process::getsid), C),
    e(n32::FDATASYNC, "fdatasync", Sys::File(F::Fsync), C),
    e(n32::MLOCK, "mlock", Sys::Fn(sys::mm::mlock), P(MLOCK)),
    e(n32::MUNLOCK, "munlock", Sys::Fn(sys::mm::munlock), P(MLOCK)),
    e(n32::MLOCKALL, "mlockall", Sys::Fn(sys::mm::mlockall), P(MLOCKALL)),
    e(n32::MUNLOCKALL, "munlockall", Sys::Fn(sys::mm::munlockall), C),
    e(n32::SCHED_GETPARAM, "sched_getparam", Sys::Fn(sys::sched::sched_getparam), P("own process: priority 0")),
    e(n32::SCHED_GETSCHEDULER, "sched_getscheduler", Sys::Fn(sys::sched::sched_getscheduler), P("own process: SCHED_OTHER")),
    e(n32::SCHED_YIELD, "sched_yield", Sys::Fn(sys::sched::sched_yield), C),
    e(n32::SCHED_GET_PRIORITY_MAX, "sched_get_priority_max", Sys::Fn(sys::sched::sched_get_priority_max), C),
    e(n32::SCHED_GET_PRIORITY_MIN, "sched_get_priority_min", Sys::Fn(sys::sched::sched_get_priority_min), C),
    e(n32::NANOSLEEP, "nanosleep", Sys::Fn(sys::time::nanosleep), P(SLEEP)),
    e(n32::MREMAP, "mremap", Sys::Fn(sys::mm::mremap), P("MAYMOVE and FIXED; DONTUNMAP EINVAL")),
    e(n32::SETRESUID, "setresuid", Sys::Fn(sys::ids::setresuid), P(IDS)),
    e(n32::GETRESUID, "getresuid", Sys::Fn(sys::ids::getresuid), C),
    e(n32::POLL, "poll", Sys::File(F::Poll), P(POLL)),
    e(n32::SETRESGID, "setresgid", Sys::Fn(sys::ids::setresgid), P(IDS)),
    e(n32::GETRESGID, "getresgid", Sys::Fn(sys::ids::getresgid), C),
    e(n32::PRCTL, "prctl", Sys::Fn(sys::system::prctl), P(PRCTL)),
    e(n32::RT_SIGRETURN, "rt_sigreturn", Sys::Fn(sys::signal::rt_sigreturn), C),
    e(n32::RT_SIGACTION, "rt_sigaction", Sys::Fn(sys::signal::rt_sigaction), P(SIGACT)),
    e(n32::RT_SIGPROCMASK, "rt_sigprocmask", Sys::Fn(sys::signal::rt_sigprocmask), C),
    e(n32::RT_SIGPENDING, "rt_sigpending", Sys::Fn(sys::signal::rt_sigpending), C),
    e(n32::RT_SIGTIMEDWAIT, "rt_sigtimedwait", Sys::Fn(sys::signal::rt_sigtimedwait), C),
    e(n32::RT_SIGQUEUEINFO, "rt_sigqueueinfo", Sys::Fn(sys::signal::rt_sigqueueinfo), C),
    e(n32::RT_SIGSUSPEND, "rt_sigsuspend", Sys::Fn(sys::signal::rt_sigsuspend), C),
    e(n32::PREAD64, "pread64", Sys::File(F::Pread64), C),
    e(n32::PWRITE64, "pwrite64", Sys::File(F::Pwrite64), C),
    e(n32::CHOWN, "chown", Sys::File(F::Chown { bits16: true }), C),
    e(n32::GETCWD, "getcwd", Sys::File(F::Getcwd), C),
    e(n32::SIGALTSTACK, "sigaltstack", Sys::Fn(sys::signal::sigaltstack), C),
    e(n32::SENDFILE, "sendfile", Sys::File(F::Sendfile { off64: false }), P("from regular files")),
    e(n32::VFORK, "vfork", Sys::Fn(sys::process::vfork), P("the parent waits until the child execs or exits; the child has a copy-on-write copy of the memory")),
    e(n32::UGETRLIMIT, "ugetrlimit", Sys::Fn(sys::resource::ugetrlimit), C),
    e(n32::MMAP2, "mmap2", Sys::Fn(sys::mm::mmap2), P(MMAP)),
    e(n32::TRUNCATE64, "truncate64", Sys::File(F::Truncate { split: true }), C),
    e(n32::FTRUNCATE64, "ftruncate64", Sys::File(F::Ftruncate { split: true }), C),
    e(n32::STAT64, "stat64", Sys::File(F::Stat(StatLayout::I386Stat64)), C),
    e(n32::LSTAT64, "lstat64", Sys::File(F::Lstat(StatLayout::I386Stat64)), C),
    e(n32::FSTAT64, "fstat64", Sys::File(F::Fstat(StatLayout::I386Stat64)), C),
    e(n32::LCHOWN32, "lchown32", Sys::File(F::Lchown { bits16: false }), C),
    e(n32::GETUID32, "getuid32", Sys::Fn(sys::ids::getuid32), C),
    e(n32::GETGID32, "getgid32", Sys::Fn(sys::ids::getgid32), C),
    e(n32::GETEUID32, "geteuid32", Sys::Fn(sys::ids::getuid32), C),
    e(n32::GETEGID32, "getegid32", Sys::Fn(sys::ids::getgid32), C),
    e(n32::SETREUID32, "setreuid32", Sys::Fn(sys::ids::setreuid32), P(IDS)),
    e(n32::SETREGID32, "setregid32", Sys::Fn(sys::ids::setregid32), P(IDS)),
    e(n32::GETGROUPS32, "getgroups32", Sys::Fn(sys::ids::getgroups32), C),
    e(n32::SETGROUPS32, "setgroups32", Sys::Fn(sys::ids::setgroups32), C),
    e(n32::FCHOWN32, "fchown32", Sys::File(F::Fchown { bits16: false }), C),
    e(n32::SETRESUID32, "setresuid32", Sys::Fn(sys::ids::setresuid32), P(IDS)),
    e(n32::GETRESUID32, "getresuid32", Sys::Fn(sys::ids::getresuid32), C),
    e(n32::SETRESGID32, "setresgid32", Sys::Fn(sys::ids::setresgid32), P(IDS)),
    e(n32::GETRESGID32, "getresgid32", Sys::Fn(sys::ids::getresgid32), C),
    e(n32::CHOWN32, "chown32", Sys::File(F::Chown { bits16: false }), C),
    e(n32::SETUID32, "setuid32", Sys::Fn(sys::ids::setuid32), P(IDS)),
    e(n32::SETGID32, "setgid32", Sys::Fn(sys::ids::setgid32), P(IDS)),
    e(n32::MINCORE, "mincore", Sys::Fn(sys::mm::mincore), C),
    e(n32::MADVISE, "madvise", Sys::Fn(sys::mm::madvise), P("DONTNEED drops private pages (they come back zero, file pages too); other advice accepted")),
    e(n32::GETDENTS64, "getdents64", Sys::File(F::Getdents64), C),
    e(n32::FCNTL64, "fcntl64", Sys::File(F::Fcntl), P(FCNTL)),
    e(n32::GETTID, "gettid", Sys::Fn(sys::ids::gettid), C),
    e(n32::SETXATTR, "setxattr", Sys::File(F::Xattr(XattrOp::Set, XattrOn::Path)), P(XATTR_SET)),
    e(n32::LSETXATTR, "lsetxattr", Sys::File(F::Xattr(XattrOp::Set, XattrOn::Link)), P(XATTR_SET)),
    e(n32::FSETXATTR, "fsetxattr", Sys::File(F::Xattr(XattrOp::Set, XattrOn::Fd)), P(XATTR_SET)),
    e(n32::GETXATTR, "getxattr", Sys::File(F::Xattr(XattrOp::Get, XattrOn::Path)), P(XATTR_GET)),
    e(n32::LGETXATTR, "lgetxattr", Sys::File(F::Xattr(XattrOp::Get, XattrOn::Link)), P(XATTR_GET)),
    e(n32::FGETXATTR, "fgetxattr", Sys::File(F::Xattr(XattrOp::Get, XattrOn::Fd)), P(XATTR_GET)),
    e(n32::LISTXATTR, "listxattr", Sys::File(F::Xattr(XattrOp::List, XattrOn::Path)), P(XATTR_LIST)),
    e(n32::LLISTXATTR, "llistxattr", Sys::File(F::Xattr(XattrOp::List, XattrOn::Link)), P(XATTR_LIST)),
    e(n32::FLISTXATTR, "flistxattr", Sys::File(F::Xattr(XattrOp::List, XattrOn::Fd)), P(XATTR_LIST)),
    e(n32::REMOVEXATTR, "removexattr", Sys::File(F::Xattr(XattrOp::Remove, XattrOn::Path)), P(XATTR_REMOVE)),
    e(n32::LREMOVEXATTR, "lremovexattr", Sys::File(F::Xattr(XattrOp::Remove, XattrOn::Link)), P(XATTR_REMOVE)),
    e(n32::FREMOVEXATTR, "fremovexattr", Sys::File(F::Xattr(XattrOp::Remove, XattrOn::Fd)), P(XATTR_REMOVE)),
    e(n32::TKILL, "tkill", Sys::Fn(sys::signal::tkill), P(KILL)),
    e(n32::SENDFILE64, "sendfile64", Sys::File(F::Sendfile { off64: true }), P("from regular files")),
    e(n32::FUTEX, "futex", Sys::Fn(sys::futex::futex), P(FUTEX)),
    e(n32::SCHED_SETAFFINITY, "sched_setaffinity", Sys::Fn(sys::sched::sched_setaffinity), P(ONE_CPU)),
    e(n32::SCHED_GETAFFINITY, "sched_getaffinity", Sys::Fn(sys::sched::sched_getaffinity), P(ONE_CPU)),
    e(n32::SET_THREAD_AREA, "set_thread_area", Sys::Fn(sys::process::set_thread_area), C),
    e(n32::FADVISE64, "fadvise64", Sys::File(F::Fadvise { split: false }), P("advice accepted, nothing to do in memory")),
    e(n32::EXIT_GROUP, "exit_group", Sys::Fn(sys::process::exit_group), C),
    e(n32::EPOLL_CREATE, "epoll_create", Sys::File(F::EpollCreate), P(EPOLL)),
    e(n32::EPOLL_CTL, "epoll_ctl", Sys::File(F::EpollCtl), P(EPOLL)),
    e(n32::EPOLL_WAIT, "epoll_wait", Sys::File(F::EpollWait), P(EPOLL)),
    e(n32::SET_TID_ADDRESS, "set_tid_address", Sys::Fn(sys::process::set_tid_address), P("address stored; cleared on thread exit once threads exist")),
    e(n32::CLOCK_GETTIME, "clock_gettime", Sys::Fn(sys::time::clock_gettime), P("REALTIME, MONOTONIC, *_RAW, *_COARSE, BOOTTIME, CPUTIME clocks")),
    e(n32::CLOCK_GETRES, "clock_getres", Sys::Fn(sys::time::clock_getres), C),
    e(n32::CLOCK_NANOSLEEP, "clock_nanosleep", Sys::Fn(sys::time::clock_nanosleep), P(SLEEP)),
    e(n32::STATFS64, "statfs64", Sys::File(F::Statfs { sized: true }), C),
    e(n32::FSTATFS64, "fstatfs64", Sys::File(F::Fstatfs { sized: true }), C),
    e(n32::TGKILL, "tgkill", Sys::Fn(sys::signal::tgkill), P(KILL)),
    e(n32::FADVISE64_64, "fadvise64_64", Sys::File(F::Fadvise { split: true }), P("advice accepted, nothing to do in memory")),
    e(n32::WAITID, "waitid", Sys::Fn(sys::process::waitid), P(WAIT)),
    e(n32::OPENAT, "openat", Sys::File(F::Openat), P(OPEN)),
    e(n32::MKDIRAT, "mkdirat", Sys::File(F::Mkdirat), C),
    e(n32::MKNODAT, "mknodat", Sys::File(F::Mknodat), P(MKNOD)),
    e(n32::FCHOWNAT, "fchownat", Sys::File(F::Fchownat), C),
    e(n32::FSTATAT64, "fstatat64", Sys::File(F::Fstatat(StatLayout::I386Stat64)), C),
    e(n32::UNLINKAT, "unlinkat", Sys::File(F::Unlinkat), C),
    e(n32::RENAMEAT, "renameat", Sys::File(F::Renameat), C),
    e(n32::LINKAT, "linkat", Sys::File(F::Linkat), C),
    e(n32::SYMLINKAT, "symlinkat", Sys::File(F::Symlinkat), C),
    e(n32::READLINKAT, "readlinkat", Sys::File(F::Readlinkat), C),
    e(n32::FCHMODAT, "fchmodat", Sys::File(F::Fchmodat), C),
    e(n32::FACCESSAT, "faccessat", Sys::File(F::Faccessat), C),
    e(n32::PSELECT6, "pselect6", Sys::File(F::Pselect6 { bits: TimeBits::B32 }), P(POLL)),
    e(n32::PPOLL, "ppoll", Sys::File(F::Ppoll { bits: TimeBits::B32 }), P(POLL)),
    e(n32::SET_ROBUST_LIST, "set_robust_list", Sys::Fn(sys::process::set_robust_list), P(ROBUST)),
    e(n32::GET_ROBUST_LIST, "get_robust_list", Sys::Fn(sys::process::get_robust_list), C),
    e(n32::GETCPU, "getcpu", Sys::Fn(sys::sched::getcpu), P(ONE_CPU)),
    e(n32::EPOLL_PWAIT, "epoll_pwait", Sys::File(F::EpollWait), P(EPOLL)),
    e(n32::UTIMENSAT, "utimensat", Sys::File(F::Utimensat { bits: TimeBits::B32 }), C),
    e(n32::SIGNALFD, "signalfd", Sys::File(F::Signalfd), P(SIGNALFD)),
    e(n32::EVENTFD, "eventfd", Sys::File(F::Eventfd), C),
    e(n32::FALLOCATE, "fallocate", Sys::File(F::Fallocate), P("modes 0, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE")),
    e(n32::SIGNALFD4, "signalfd4", Sys::File(F::Signalfd4), P(SIGNALFD)),
    e(n32::EVENTFD2, "eventfd2", Sys::File(F::Eventfd2), C),
    e(n32::EPOLL_CREATE1, "epoll_create1", Sys::File(F::EpollCreate1), P(EPOLL)),
    e(n32::DUP3, "dup3", Sys::File(F::Dup3), C),
    e(n32::PIPE2, "pipe2", Sys::File(F::Pipe2), P("O_DIRECT (packet mode) is accepted and behaves as a byte stream")),
    e(n32::PREADV, "preadv", Sys::File(F::Preadv), C),
    e(n32::PWRITEV, "pwritev", Sys::File(F::Pwritev), C),
    e(n32::RT_TGSIGQUEUEINFO, "rt_tgsigqueueinfo", Sys::Fn(sys::signal::rt_tgsigqueueinfo), C),
    e(n32::RECVMMSG, "recvmmsg", Sys::Fn(sys::socket::recvmmsg), P("the first message waits as recvmsg would, later ones are taken if already there; the timeout is not applied")),
    e(n32::PRLIMIT64, "prlimit64", Sys::Fn(sys::resource::prlimit64), P("own process only; limits stored, not enforced")),
    e(n32::SYNCFS, "syncfs", Sys::File(F::Fsync), C),
    e(n32::SENDMMSG, "sendmmsg", Sys::Fn(sys::socket::sendmmsg), P(MSG)),
    e(n32::RENAMEAT2, "renameat2", Sys::File(F::Renameat2), P("NOREPLACE and EXCHANGE; WHITEOUT EINVAL")),
    e(n32::GETRANDOM, "getrandom", Sys::Fn(sys::system::getrandom), C),
    e(n32::MEMFD_CREATE, "memfd_create", Sys::File(F::MemfdCreate), P("no seals")),
    e(n32::EXECVEAT, "execveat", Sys::Fn(sys::process::execveat), P(EXEC)),
    e(n32::SOCKET, "socket", Sys::Fn(sys::socket::socket), P(INET)),
    e(n32::SOCKETPAIR, "socketpair", Sys::Fn(sys::socket::socketpair), P("AF_UNIX (AF_INET: EOPNOTSUPP)")),
    e(n32::BIND, "bind", Sys::Fn(sys::socket::bind), P(INET)),
    e(n32::CONNECT, "connect", Sys::Fn(sys::socket::connect), P(INET)),
    e(n32::LISTEN, "listen", Sys::Fn(sys::socket::listen), P(INET)),
    e(n32::ACCEPT4, "accept4", Sys::Fn(sys::socket::accept4), P(INET)),
    e(n32::GETSOCKOPT, "getsockopt", Sys::Fn(sys::socket::getsockopt), P(SOCKOPT)),
    e(n32::SETSOCKOPT, "setsockopt", Sys::Fn(sys::socket::setsockopt), P(SOCKOPT)),
    e(n32::GETSOCKNAME, "getsockname", Sys::Fn(sys::socket::getsockname), P(INET)),
    e(n32::GETPEERNAME, "getpeername", Sys::Fn(sys::socket::getpeername), P(INET)),
    e(n32::SENDTO, "sendto", Sys::Fn(sys::socket::sendto), P(INET_IO)),
    e(n32::SENDMSG, "sendmsg", Sys::Fn(sys::socket::sendmsg), P(MSG)),
    e(n32::RECVFROM, "recvfrom", Sys::Fn(sys::socket::recvfrom), P(INET_IO)),
    e(n32::RECVMSG, "recvmsg", Sys::Fn(sys::socket::recvmsg), P(MSG)),
    e(n32::SHUTDOWN, "shutdown", Sys::Fn(sys::socket::shutdown), P(INET)),
    e(n32::MLOCK2, "mlock2", Sys::Fn(sys::mm::mlock2), P(MLOCK)),
    e(n32::COPY_FILE_RANGE, "copy_file_range", Sys::File(F::CopyFileRange), C),
    e(n32::STATX, "statx", Sys::File(F::Statx), C),
    e(n32::RSEQ, "rseq", Sys::Fn(sys::process::rseq), P("always ENOSYS: no restartable sequences (libcs carry on without)")),
    e(n32::CLOCK_GETTIME64, "clock_gettime64", Sys::Fn(sys::time::clock_gettime64), P("REALTIME, MONOTONIC, *_RAW, *_COARSE, BOOTTIME, CPUTIME clocks")),
    e(n32::CLOCK_GETRES_TIME64, "clock_getres_time64", Sys::Fn(sys::time::clock_getres_time64), C),
    e(n32::CLOCK_NANOSLEEP_TIME64, "clock_nanosleep_time64", Sys::Fn(sys::time::clock_nanosleep_time64), P(SLEEP)),
    e(n32::UTIMENSAT_TIME64, "utimensat_time64", Sys::File(F::Utimensat { bits: TimeBits::B64 }), C),
    e(n32::PSELECT6_TIME64, "pselect6_time64", Sys::File(F::Pselect6 { bits: TimeBits::B64 }), P(POLL)),
    e(n32::PPOLL_TIME64, "ppoll_time64", Sys::File(F::Ppoll { bits: TimeBits::B64 }), P(POLL)),
    e(n32::RECVMMSG_TIME64, "recvmmsg_time64", Sys::Fn(sys::socket::recvmmsg), P("the first message waits as recvmsg would, later ones are taken if already there; the timeout is not applied")),
    e(n32::RT_SIGTIMEDWAIT_TIME64, "rt_sigtimedwait_time64", Sys::Fn(sys::signal::rt_sigtimedwait_time64), C),
    e(n32::FUTEX_TIME64, "futex_time64", Sys::Fn(sys::futex::futex_time64), P(FUTEX)),
    e(n32::CLONE3, "clone3", Sys::Fn(sys::process::clone3), P(CLONE)),
    e(n32::CLOSE_RANGE, "close_range", Sys::File(F::CloseRange), C),
    e(n32::OPENAT2, "openat2", Sys::File(F::Openat2), P("resolve flags EINVAL")),
    e(n32::FACCESSAT2, "faccessat2", Sys::File(F::Faccessat2), C),
];

/// The dispatch table of an ABI.
pub fn table_of(abi: Abi) -> &'static [Entry] {
    match abi {
        Abi::X86_64 => X86_64,
        Abi::I386 => I386,
    }
}

/// The implemented call with this number, if any.
pub fn lookup(abi: Abi, nr: u64) -> Option<&'static Entry> {
    let nr = u32::try_from(nr).ok()?;
    let t = table_of(abi);
    t.binary_search_by_key(&nr, |e| e.nr).ok().map(|i| &t[i])
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
