//! Linux's ABI constants, named once (as gVisor's `pkg/abi/linux`): the
//! values programs pass in flags and commands, with Linux's names, for the
//! handlers (`sys/`) and what they call. Signal numbers and actions are in
//! [`crate::signal`], socket ones in [`crate::socket`], the system-call
//! numbers in [`crate::syscalls::names`].

/// uname's release and version: the Linux SiON answers as.
pub const UTS_RELEASE: &str = "6.1.0-sion";
pub const UTS_VERSION: &str = "#1 SiON";

// open(2) flags.
pub const O_ACCMODE: u32 = 3;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_DSYNC: u32 = 0o10000;
pub const O_ASYNC: u32 = 0o20000;
pub const O_DIRECT: u32 = 0o40000;
pub const O_LARGEFILE: u32 = 0o100000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;
pub const O_NOATIME: u32 = 0o1000000;
pub const O_CLOEXEC: u32 = 0o2000000;
pub const O_SYNC: u32 = 0o4010000;
pub const O_PATH: u32 = 0o10000000;
pub const O_TMPFILE: u32 = 0o20000000;

// The *at calls.
pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_REMOVEDIR: u32 = 0x200;
pub const AT_EACCESS: u32 = 0x200;
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
pub const AT_EMPTY_PATH: u32 = 0x1000;

// fcntl(2) commands.
pub const F_DUPFD: u32 = 0;
pub const F_GETFD: u32 = 1;
pub const F_SETFD: u32 = 2;
pub const F_GETFL: u32 = 3;
pub const F_SETFL: u32 = 4;
pub const F_GETLK: u32 = 5;
pub const F_SETLK: u32 = 6;
pub const F_SETLKW: u32 = 7;
pub const F_GETLK64: u32 = 12;
pub const F_SETLK64: u32 = 13;
pub const F_SETLKW64: u32 = 14;
pub const F_OFD_GETLK: u32 = 36;
pub const F_OFD_SETLK: u32 = 37;
pub const F_OFD_SETLKW: u32 = 38;
pub const F_SETLEASE: u32 = 1024;
/// dnotify: the events of a directory as signals.
pub const F_NOTIFY: u32 = 1026;
pub const F_GETLEASE: u32 = 1025;
pub const F_DUPFD_CLOEXEC: u32 = 1030;
pub const F_SETPIPE_SZ: u32 = 1031;
/// fcntl: the owner of SIGIO (F_SETOWN, F_SETOWN_EX) and its signal.
pub const F_SETOWN: u32 = 8;
pub const F_GETOWN: u32 = 9;
pub const F_SETSIG: u32 = 10;
pub const F_GETSIG: u32 = 11;
pub const F_SETOWN_EX: u32 = 15;
pub const F_GETOWN_EX: u32 = 16;
pub const F_OWNER_TID: u32 = 0;
pub const F_OWNER_PID: u32 = 1;
pub const F_OWNER_PGRP: u32 = 2;
pub const F_GETPIPE_SZ: u32 = 1032;

// ioctl(2) requests on any descriptor.
pub const FIONBIO: u32 = 0x5421;
pub const FIOASYNC: u32 = 0x5452;
/// poll: the peer shut its writing down, or we our reading.
pub const POLLRDHUP: u16 = 0x2000;
pub const FIONREAD: u32 = 0x541b;
pub const FIONCLEX: u32 = 0x5450;
pub const FIOCLEX: u32 = 0x5451;

// close_range(2), fallocate(2), utimensat(2), epoll_ctl(2), memfd_create(2).
pub const CLOSE_RANGE_UNSHARE: u32 = 2;
pub const CLOSE_RANGE_CLOEXEC: u32 = 4;
pub const FALLOC_FL_KEEP_SIZE: u32 = 1;
pub const FALLOC_FL_PUNCH_HOLE: u32 = 2;
pub const FALLOC_FL_ZERO_RANGE: u32 = 0x10;
pub const UTIME_NOW: i64 = (1 << 30) - 1;
pub const UTIME_OMIT: i64 = (1 << 30) - 2;
pub const EPOLL_CTL_ADD: u32 = 1;
pub const EPOLL_CTL_DEL: u32 = 2;
pub const EPOLL_CTL_MOD: u32 = 3;
pub const MFD_CLOEXEC: u32 = 1;
pub const MFD_ALLOW_SEALING: u32 = 2;
pub const MFD_NOEXEC_SEAL: u32 = 8;
pub const MFD_EXEC: u32 = 0x10;

// clone(2) flags.
pub const CLONE_VM: u64 = 0x100;
pub const CLONE_SIGHAND: u64 = 0x800;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_PARENT: u64 = 0x8000;
pub const CLONE_THREAD: u64 = 0x1_0000;
pub const CLONE_SETTLS: u64 = 0x8_0000;
pub const CLONE_PARENT_SETTID: u64 = 0x10_0000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
pub const CLONE_CHILD_SETTID: u64 = 0x100_0000;
/// CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: no namespaces here.
pub const CLONE_NAMESPACES: u64 = 0x2_0000 | 0x0200_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000;

// wait4(2) and waitid(2) options.
pub const WNOHANG: u64 = 1;
pub const WUNTRACED: u64 = 2;
pub const WEXITED: u64 = 4;
pub const WCONTINUED: u64 = 8;
pub const WNOWAIT: u64 = 0x0100_0000;
/// __WNOTHREAD, __WALL, __WCLONE.
pub const W_LINUX_ONLY: u64 = 0xe000_0000;

// mmap(2), mprotect(2), mremap(2), madvise(2), msync(2), mlock2(2), mlockall(2).
pub const MAP_SHARED: u32 = 0x01;
pub const MAP_PRIVATE: u32 = 0x02;
pub const MAP_SHARED_VALIDATE: u32 = 0x03;
/// The flags MAP_SHARED_VALIDATE accepts: Linux's LEGACY_MAP_MASK (type,
/// FIXED, ANONYMOUS, 32BIT, GROWSDOWN, DENYWRITE, EXECUTABLE, LOCKED,
/// NORESERVE, POPULATE, NONBLOCK, STACK, HUGETLB, UNINITIALIZED), with
/// FIXED_NOREPLACE and the huge page size bits; not MAP_SYNC (it needs a
/// DAX file, which SiON has not).
pub const MAP_VALIDATE_KNOWN: u32 = 0x3 | 0x10 | 0x20 | 0x40 | 0x100 | 0x800 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x40000 | 0x10_0000 | 0x400_0000 | (0x3f << 26);
pub const MAP_TYPE: u32 = 0x03;
pub const MAP_FIXED: u32 = 0x10;
pub const MAP_ANONYMOUS: u32 = 0x20;
pub const MAP_32BIT: u32 = 0x40;
pub const MAP_LOCKED: u32 = 0x2000;
pub const MAP_NORESERVE: u32 = 0x4000;
pub const MAP_FIXED_NOREPLACE: u32 = 0x10_0000;
/// PROT_GROWSDOWN | PROT_GROWSUP.
pub const PROT_GROWS: u64 = 0x0100_0000 | 0x0200_0000;
pub const MREMAP_MAYMOVE: u32 = 1;
pub const MREMAP_FIXED: u32 = 2;
pub const MREMAP_DONTUNMAP: u32 = 4;
pub const MADV_DONTNEED: u32 = 4;
pub const MADV_FREE: u32 = 8;
pub const MADV_REMOVE: u32 = 9;
pub const MADV_DONTFORK: u32 = 10;
pub const MADV_DOFORK: u32 = 11;
pub const MADV_DONTDUMP: u32 = 16;
pub const MADV_DODUMP: u32 = 17;
pub const MADV_WIPEONFORK: u32 = 18;
pub const MADV_KEEPONFORK: u32 = 19;
pub const MADV_COLD: u32 = 20;
pub const MADV_PAGEOUT: u32 = 21;
pub const MADV_DONTNEED_LOCKED: u32 = 24;
pub const MS_ASYNC: u32 = 1;
pub const MS_INVALIDATE: u32 = 2;
pub const MS_SYNC: u32 = 4;
pub const MLOCK_ONFAULT: u32 = 1;
pub const MCL_CURRENT: u32 = 1;
pub const MCL_FUTURE: u32 = 2;
pub const MCL_ONFAULT: u32 = 4;

// getrandom(2), arch_prctl(2), prctl(2), getpriority(2), resource limits.
pub const GRND_NONBLOCK: u32 = 1;
pub const GRND_RANDOM: u32 = 2;
pub const GRND_INSECURE: u32 = 4;
pub const ARCH_SET_GS: u32 = 0x1001;
pub const ARCH_SET_FS: u32 = 0x1002;
pub const ARCH_GET_FS: u32 = 0x1003;
pub const ARCH_GET_GS: u32 = 0x1004;
pub const PR_SET_PDEATHSIG: u32 = 1;
pub const PR_GET_PDEATHSIG: u32 = 2;
pub const PR_GET_DUMPABLE: u32 = 3;
pub const PR_SET_NAME: u32 = 15;
pub const PR_GET_NAME: u32 = 16;
pub const PR_CAPBSET_READ: u32 = 23;
pub const PR_CAPBSET_DROP: u32 = 24;
pub const PR_GET_KEEPCAPS: u32 = 7;
pub const PR_SET_KEEPCAPS: u32 = 8;
pub const PR_SET_DUMPABLE: u32 = 4;
pub const PR_GET_TIMING: u32 = 13;
pub const PR_SET_TIMING: u32 = 14;
pub const PR_TIMING_STATISTICAL: u32 = 0;
pub const PR_GET_TSC: u32 = 25;
pub const PR_SET_TSC: u32 = 26;
pub const PR_TSC_ENABLE: u32 = 1;
pub const PR_GET_SECUREBITS: u32 = 27;
pub const PR_SET_SECUREBITS: u32 = 28;
pub const PR_SET_TIMERSLACK: u32 = 29;
pub const PR_GET_TIMERSLACK: u32 = 30;
pub const PR_SET_CHILD_SUBREAPER: u32 = 36;
pub const PR_GET_CHILD_SUBREAPER: u32 = 37;
pub const PR_SET_NO_NEW_PRIVS: u32 = 38;
pub const PR_GET_NO_NEW_PRIVS: u32 = 39;
pub const PR_SET_THP_DISABLE: u32 = 41;
pub const PR_GET_THP_DISABLE: u32 = 42;
pub const PR_CAP_AMBIENT: u32 = 47;
pub const PR_CAP_AMBIENT_IS_SET: u64 = 1;
pub const PR_CAP_AMBIENT_RAISE: u64 = 2;
pub const PR_CAP_AMBIENT_LOWER: u64 = 3;
pub const PR_CAP_AMBIENT_CLEAR_ALL: u64 = 4;
pub const PRIO_PROCESS: i32 = 0;
pub const PRIO_PGRP: i32 = 1;
pub const PRIO_USER: i32 = 2;
pub const RLIMIT_CPU: usize = 0;
pub const RLIMIT_DATA: usize = 2;
pub const RLIMIT_CORE: usize = 4;
pub const RLIMIT_NPROC: usize = 6;
pub const RLIMIT_MEMLOCK: usize = 8;
pub const RLIMIT_NICE: usize = 13;
pub const RLIMIT_RTPRIO: usize = 14;

// Clocks (clock_gettime(2), timer_create(2), timerfd_create(2)).
pub const CLOCK_REALTIME: i32 = 0;
pub const CLOCK_MONOTONIC: i32 = 1;
pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
pub const CLOCK_BOOTTIME: i32 = 7;
pub const CLOCK_REALTIME_ALARM: i32 = 8;
pub const CLOCK_BOOTTIME_ALARM: i32 = 9;
pub const CLOCK_TAI: i32 = 11;
/// A negative clock id names a CPU clock: `~pid << 3 | type`, bit 2 for a thread.
pub const CPUCLOCK_PERTHREAD: i32 = 4;
pub const CPUCLOCK_SCHED: i32 = 2;
pub const CPUCLOCK_CLOCK_MASK: i32 = 3;

// POSIX timers (timer_create(2)) and timerfd (timerfd_create(2)).
pub const SIGEV_SIGNAL: i32 = 0;
pub const SIGEV_NONE: i32 = 1;
pub const SIGEV_THREAD: i32 = 2;
pub const SIGEV_THREAD_ID: i32 = 4;
pub const TIMER_ABSTIME: u32 = 1;
pub const TFD_TIMER_ABSTIME: u32 = 1;
pub const TFD_TIMER_CANCEL_ON_SET: u32 = 2;

/// An id argument of the set*id and chown calls: -1 (0xffff for the old
/// 16-bit i386 calls) means "leave it as it is", given as `u32::MAX`.
pub fn id_arg(x: u64, bits16: bool) -> u32 {
    match bits16 {
        true if x as u16 == 0xffff => u32::MAX,
        true => x as u16 as u32,
        false => x as u32,
    }
}

// capget/capset header versions.
pub const LINUX_CAPABILITY_VERSION_1: u32 = 0x1998_0330;
pub const LINUX_CAPABILITY_VERSION_2: u32 = 0x2007_1026;
pub const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// CAP_SYS_RESOURCE: past pipe-max-size, RLIMIT raises.
pub const CAP_SYS_RESOURCE: u32 = 24;
/// CAP_SYS_PACCT: acct (the job's own accounting, `process/acct.rs`).
pub const CAP_SYS_PACCT: u32 = 20;
/// CAP_DAC_READ_SEARCH: open_by_handle_at.
pub const CAP_DAC_READ_SEARCH: u32 = 2;
/// The node's own capabilities, out of every job's bounding set
/// (`Caps::NODE_ONLY`, `sys/node.rs`).
pub const CAP_SYS_MODULE: u32 = 16;
pub const CAP_SYS_RAWIO: u32 = 17;
pub const CAP_SYS_BOOT: u32 = 22;
pub const CAP_SYS_TIME: u32 = 25;
/// CAP_SYS_CHROOT: setns into a mount namespace (with CAP_SYS_ADMIN).
pub const CAP_SYS_CHROOT: u32 = 18;
pub const CAP_SYS_TTY_CONFIG: u32 = 26;
/// CAP_SETPCAP: dropping from the bounding set, inheritable past permitted.
pub const CAP_SETPCAP: u32 = 8;
/// The highest capability number Linux 6.1 knows (CAP_CHECKPOINT_RESTORE).
pub const CAP_LAST_CAP: u32 = 40;
/// CAP_CHECKPOINT_RESTORE: PR_SET_MM_MAP's exe_fd, /proc/PID/map_files (with CAP_SYS_ADMIN).
pub const CAP_CHECKPOINT_RESTORE: u32 = 40;
/// CAP_SYS_ADMIN: setdomainname, the real-time I/O class.
pub const CAP_SYS_ADMIN: u32 = 21;
/// CAP_SETUID, CAP_SETGID: setfsuid, setfsgid to any id.
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
/// CAP_LINUX_IMMUTABLE: setting or clearing FS_IMMUTABLE_FL, FS_APPEND_FL.
pub const CAP_LINUX_IMMUTABLE: u32 = 9;
/// CAP_FOWNER: O_NOATIME on another user's file.
pub const CAP_FOWNER: u32 = 3;
/// CAP_KILL: signals to another user's processes.
pub const CAP_KILL: u32 = 5;
/// CAP_SYS_PTRACE: kcmp of another user's processes.
pub const CAP_SYS_PTRACE: u32 = 19;
/// CAP_SYS_NICE: real-time policies, others' scheduling.
pub const CAP_SYS_NICE: u32 = 23;
/// Timers on the alarm clocks (out of every job's bounding set).
pub const CAP_WAKE_ALARM: u32 = 35;

// Scheduling policies.
pub const SCHED_OTHER: u32 = 0;
pub const SCHED_FIFO: u32 = 1;
pub const SCHED_RR: u32 = 2;
pub const SCHED_BATCH: u32 = 3;
pub const SCHED_IDLE: u32 = 5;
pub const SCHED_DEADLINE: u32 = 6;
pub const SCHED_RESET_ON_FORK: u32 = 0x4000_0000;

/// personality(2): the 32-bit persona (uname says i686).
pub const PER_LINUX32: u32 = 8;
// System V IPC (ipc/, include/uapi/linux/{ipc,shm,sem,msg}.h).
pub const IPC_PRIVATE: i32 = 0;
pub const IPC_CREAT: u32 = 0o1000;
pub const IPC_EXCL: u32 = 0o2000;
pub const IPC_NOWAIT: u32 = 0o4000;
pub const IPC_RMID: u32 = 0;
pub const IPC_SET: u32 = 1;
pub const IPC_STAT: u32 = 2;
pub const IPC_INFO: u32 = 3;
/// The `cmd` flag of the 64-bit structure layouts (i386's `ipc` and old calls).
pub const IPC_64: u32 = 0x100;
pub const SHM_LOCK: u32 = 11;
pub const SHM_UNLOCK: u32 = 12;
pub const SHM_STAT: u32 = 13;
pub const SHM_INFO: u32 = 14;
pub const SHM_STAT_ANY: u32 = 15;
pub const SHM_RDONLY: u32 = 0o10000;
pub const SHM_RND: u32 = 0o20000;
pub const SHM_REMAP: u32 = 0o40000;
pub const SHM_EXEC: u32 = 0o100000;
/// shmget's huge pages (SiON has none: EINVAL, as without CONFIG_HUGETLBFS).
pub const SHM_HUGETLB: u32 = 0o4000;
/// Mode bits of a segment: removed (lives until its last detach), locked.
pub const SHM_DEST: u32 = 0o1000;
pub const SHM_LOCKED: u32 = 0o2000;
pub const GETPID: u32 = 11;
pub const GETVAL: u32 = 12;
pub const GETALL: u32 = 13;
pub const GETNCNT: u32 = 14;
pub const GETZCNT: u32 = 15;
pub const SETVAL: u32 = 16;
pub const SETALL: u32 = 17;
pub const SEM_STAT: u32 = 18;
pub const SEM_INFO: u32 = 19;
pub const SEM_STAT_ANY: u32 = 20;
pub const SEM_UNDO: u16 = 0x1000;
pub const MSG_STAT: u32 = 11;
pub const MSG_INFO: u32 = 12;
pub const MSG_STAT_ANY: u32 = 13;
pub const MSG_NOERROR: u32 = 0o10000;
pub const MSG_EXCEPT: u32 = 0o20000;
pub const MSG_COPY: u32 = 0o40000;
// The limits (Linux's defaults, /proc/sys/kernel).
pub const SHMMIN: u64 = 1;
pub const SHMMAX: u64 = u64::MAX - (1 << 24);
pub const SHMALL: u64 = u64::MAX - (1 << 24);
pub const SHMMNI: u32 = 4096;
pub const SEMMSL: u32 = 32000;
pub const SEMMNS: u32 = 1_024_000_000;
pub const SEMOPM: u32 = 500;
pub const SEMMNI: u32 = 32000;
pub const SEMVMX: i32 = 32767;
pub const SEMAEM: i32 = SEMVMX;
pub const SEMUSZ: u32 = 20;
pub const MSGMAX: u32 = 8192;
pub const MSGMNB: u32 = 16384;
pub const MSGMNI: u32 = 32000;
// The `ipc` multiplexer's calls (i386).
pub const IPCOP_SEMOP: u32 = 1;
pub const IPCOP_SEMGET: u32 = 2;
pub const IPCOP_SEMCTL: u32 = 3;
pub const IPCOP_SEMTIMEDOP: u32 = 4;
pub const IPCOP_MSGSND: u32 = 11;
pub const IPCOP_MSGRCV: u32 = 12;
pub const IPCOP_MSGGET: u32 = 13;
pub const IPCOP_MSGCTL: u32 = 14;
pub const IPCOP_SHMAT: u32 = 21;
pub const IPCOP_SHMDT: u32 = 22;
pub const IPCOP_SHMGET: u32 = 23;
pub const IPCOP_SHMCTL: u32 = 24;
