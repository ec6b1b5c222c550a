//! /proc/sys: the kernel's tunables that programs and LTP's library read,
//! each with the value SiON actually works by; the writable ones (root
//! only, as Linux's 0644 files) change that behaviour for the job. And the
//! kernel's configuration as Debian ships it (/boot/config-RELEASE): what
//! SiON implements, for programs that check an option before they use it.

use super::*;

/// One tunable: its path under /proc/sys and what it is.
pub struct Sysctl {
    pub path: &'static str,
    pub knob: Knob,
}

/// What a tunable reads and, when it can be written, governs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Knob {
    /// A number the job may change within Linux's bounds (inclusive).
    Tunable(Tunable, u64, u64),
    /// A fixed text: what SiON is, not a setting.
    Fixed(&'static str),
    /// The job's host and NIS domain names (sethostname, setdomainname).
    Hostname,
    Domainname,
    /// A System V IPC limit or next id, kept in the job's namespace
    /// (`JobState::ipc`).
    Ipc(IpcKnob),
    /// The events of the job's AIO contexts.
    AioNr,
    /// uname's release and version.
    Release,
    Version,
    /// Where core files go (kernel/core_pattern).
    CorePattern,
    /// kernel/ns_last_pid: the last process id given (a checkpoint/restore
    /// file: writing it chooses the next one).
    LastPid,
}

/// The System V IPC tunables.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IpcKnob {
    MsgMax,
    MsgMnb,
    MsgMni,
    ShmMni,
    ShmMax,
    /// In pages.
    ShmAll,
    /// semmsl, semmns, semopm, semmni.
    Sem,
    /// The id the next object gets (-1: any), reset once used.
    MsgNextId,
    SemNextId,
    ShmNextId,
    /// POSIX message queues (fs/mqueue): queues_max, msg_max,
    /// msgsize_max, msg_default, msgsize_default.
    MqQueuesMax,
    MqMsgMax,
    MqMsgsizeMax,
    MqMsgDefault,
    MqMsgsizeDefault,
}

/// The numbers a job may change, each used where Linux uses it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tunable {
    /// Pids and tids wrap past it (to 300, as Linux).
    PidMax,
    /// The largest F_SETPIPE_SZ for a process without privilege.
    PipeMaxSize,
    /// Pipe pages a user may hold before their new pipes get two pages.
    PipeUserPagesSoft,
    /// The largest RLIMIT_NOFILE anyone may set.
    NrOpen,
    /// Seconds an open waits for a lease holder to give its lease up.
    LeaseBreakTime,
    /// inotify: events an instance queues, instances and watches a user may have.
    InotifyEvents,
    InotifyInstances,
    InotifyWatches,
    /// Processes and threads the job may have at once (fork and clone: EAGAIN).
    ThreadsMax,
    /// A core file's name gets ".PID" when its pattern has no %p.
    CoreUsesPid,
    /// Events all AIO contexts may hold.
    AioMaxNr,
}

/// Values of the tunables, for one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tunables {
    pub pid_max: u64,
    pub pipe_max_size: u64,
    pub pipe_user_pages_soft: u64,
    pub nr_open: u64,
    pub lease_break_time: u64,
    pub inotify: [u64; 3],
    pub threads_max: u64,
    pub core_uses_pid: u64,
    /// kernel/core_pattern: a core file's name, relative to the dumping
    /// process's working directory ("core", as Linux's default).
    pub core_pattern: Vec<u8>,
    pub aio_max_nr: u64,
}

impl Default for Tunables {
    /// Linux's defaults (pid_max for a machine of up to 32 CPUs).
    fn default() -> Self {
        Tunables {
            pid_max: 32768,
            pipe_max_size: 1 << 20,
            pipe_user_pages_soft: 16384,
            nr_open: 1 << 20,
            lease_break_time: 45,
            inotify: [16384, 128, 8192],
            threads_max: threads_max(256 << 20),
            core_uses_pid: 0,
            core_pattern: b"core".to_vec(),
            aio_max_nr: 65536,
        }
    }
}

/// Linux's default threads-max for a node of `total_bytes` of memory
/// (kernel/fork.c, set_max_threads: the threads whose 16 KiB stacks fill
/// an eighth of it, at least 20), bounded by the kernel's task table.
pub fn threads_max(total_bytes: u64) -> u64 {
    (total_bytes / (8 * 16 * 1024)).clamp(20, sion_abi::MAX_TASKS as u64)
}

impl Tunables {
    pub fn get(&self, t: Tunable) -> u64 {
        match t {
            Tunable::PidMax => self.pid_max,
            Tunable::PipeMaxSize => self.pipe_max_size,
            Tunable::PipeUserPagesSoft => self.pipe_user_pages_soft,
            Tunable::NrOpen => self.nr_open,
            Tunable::LeaseBreakTime => self.lease_break_time,
            Tunable::InotifyEvents => self.inotify[0],
            Tunable::InotifyInstances => self.inotify[1],
            Tunable::InotifyWatches => self.inotify[2],
            Tunable::ThreadsMax => self.threads_max,
            Tunable::CoreUsesPid => self.core_uses_pid,
            Tunable::AioMaxNr => self.aio_max_nr,
        }
    }

    fn set(&mut self, t: Tunable, v: u64) {
        match t {
            Tunable::PidMax => self.pid_max = v,
            Tunable::PipeMaxSize => self.pipe_max_size = v,
            Tunable::PipeUserPagesSoft => self.pipe_user_pages_soft = v,
            Tunable::NrOpen => self.nr_open = v,
            Tunable::LeaseBreakTime => self.lease_break_time = v,
            Tunable::InotifyEvents => self.inotify[0] = v,
            Tunable::InotifyInstances => self.inotify[1] = v,
            Tunable::InotifyWatches => self.inotify[2] = v,
            Tunable::ThreadsMax => self.threads_max = v,
            Tunable::CoreUsesPid => self.core_uses_pid = v,
            Tunable::AioMaxNr => self.aio_max_nr = v,
        }
    }
}

use Knob::{AioNr, CorePattern, Domainname, Fixed, Hostname, Ipc as I, LastPid, Release, Tunable as T, Version};
use Tunable::*;

/// Every file of /proc/sys, sorted by path. Fixed values say what SiON is:
/// nothing tainted, no swap (overcommit as Linux's heuristic default),
/// threads-max from the node's memory as Linux's.
pub const SYSCTLS: &[Sysctl] = &[
    Sysctl { path: "fs/aio-max-nr", knob: T(AioMaxNr, 0, u64::MAX) },
    Sysctl { path: "fs/aio-nr", knob: AioNr },
    Sysctl { path: "fs/file-max", knob: Fixed("9223372036854775807\n") },
    Sysctl { path: "fs/inotify/max_queued_events", knob: T(InotifyEvents, 0, i32::MAX as u64) },
    Sysctl { path: "fs/inotify/max_user_instances", knob: T(InotifyInstances, 0, i32::MAX as u64) },
    Sysctl { path: "fs/inotify/max_user_watches", knob: T(InotifyWatches, 0, i32::MAX as u64) },
    Sysctl { path: "fs/lease-break-time", knob: T(LeaseBreakTime, 0, i32::MAX as u64) },
    Sysctl { path: "fs/mqueue/msg_default", knob: I(IpcKnob::MqMsgDefault) },
    Sysctl { path: "fs/mqueue/msg_max", knob: I(IpcKnob::MqMsgMax) },
    Sysctl { path: "fs/mqueue/msgsize_default", knob: I(IpcKnob::MqMsgsizeDefault) },
    Sysctl { path: "fs/mqueue/msgsize_max", knob: I(IpcKnob::MqMsgsizeMax) },
    Sysctl { path: "fs/mqueue/queues_max", knob: I(IpcKnob::MqQueuesMax) },
    Sysctl { path: "fs/nr_open", knob: T(NrOpen, 64, 1 << 30) },
    Sysctl { path: "fs/pipe-max-size", knob: T(PipeMaxSize, 4096, 1 << 31) },
    Sysctl { path: "fs/pipe-user-pages-hard", knob: Fixed("0\n") },
    Sysctl { path: "fs/pipe-user-pages-soft", knob: T(PipeUserPagesSoft, 0, i32::MAX as u64) },
    Sysctl { path: "kernel/core_pattern", knob: CorePattern },
    Sysctl { path: "kernel/core_uses_pid", knob: T(CoreUsesPid, 0, i32::MAX as u64) },
    Sysctl { path: "kernel/domainname", knob: Domainname },
    Sysctl { path: "kernel/hostname", knob: Hostname },
    Sysctl { path: "kernel/msg_next_id", knob: I(IpcKnob::MsgNextId) },
    Sysctl { path: "kernel/msgmax", knob: I(IpcKnob::MsgMax) },
    Sysctl { path: "kernel/msgmnb", knob: I(IpcKnob::MsgMnb) },
    Sysctl { path: "kernel/msgmni", knob: I(IpcKnob::MsgMni) },
    Sysctl { path: "kernel/ngroups_max", knob: Fixed("65536\n") },
    Sysctl { path: "kernel/ns_last_pid", knob: LastPid },
    Sysctl { path: "kernel/osrelease", knob: Release },
    Sysctl { path: "kernel/ostype", knob: Fixed("Linux\n") },
    Sysctl { path: "kernel/pid_max", knob: T(PidMax, 301, 4 << 20) },
    Sysctl { path: "kernel/sem", knob: I(IpcKnob::Sem) },
    Sysctl { path: "kernel/sem_next_id", knob: I(IpcKnob::SemNextId) },
    Sysctl { path: "kernel/shm_next_id", knob: I(IpcKnob::ShmNextId) },
    Sysctl { path: "kernel/shmall", knob: I(IpcKnob::ShmAll) },
    Sysctl { path: "kernel/shmmax", knob: I(IpcKnob::ShmMax) },
    Sysctl { path: "kernel/shmmni", knob: I(IpcKnob::ShmMni) },
    Sysctl { path: "kernel/tainted", knob: Fixed("0\n") },
    Sysctl { path: "kernel/threads-max", knob: T(ThreadsMax, 20, 0x3fff_ffff) },
    Sysctl { path: "kernel/version", knob: Version },
    Sysctl { path: "vm/max_map_count", knob: Fixed("65530\n") },
    Sysctl { path: "vm/overcommit_memory", knob: Fixed("0\n") },
    Sysctl { path: "vm/swappiness", knob: Fixed("0\n") },
];

/// Make /proc/sys and its files, each tagged with its index in [`SYSCTLS`].
pub fn add_sysctl_dir(v: &mut Vfs, proc_: Ino) {
    let sys = v.add(proc_, b"sys", Data::Dir(Default::default()), 0o555, 0, 0);
    for (i, s) in SYSCTLS.iter().enumerate() {
        let (dir, name) = s.path.rsplit_once('/').unwrap_or(("", s.path));
        let mut d = sys;
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            d = match v.child(d, part.as_bytes()).ok().flatten() {
                Some(c) => c,
                None => v.add(d, part.as_bytes(), Data::Dir(Default::default()), 0o555, 0, 0),
            };
        }
        // ns_last_pid is 0666, its writes checked for the capability.
        let perm = match s.knob {
            Fixed(_) | Release | Version | AioNr => 0o444,
            LastPid => 0o666,
            _ => 0o644,
        };
        let f = v.add(d, name.as_bytes(), Data::Reg(Default::default()), perm, 0, 0);
        v.node_mut(f).tag = tag::of(tag::SYSCTL, i as u32);
    }
}

impl Process {
    /// The text of /proc/sys file `index` now.
    pub(super) fn sysctl_text(&self, index: u32) -> Vec<u8> {
        match SYSCTLS.get(index as usize).map(|s| s.knob) {
            Some(T(t, ..)) => format!("{}\n", self.job.tunables.get(t)).into_bytes(),
            Some(Fixed(text)) => text.as_bytes().to_vec(),
            Some(AioNr) => format!("{}\n", self.job.aio_nr).into_bytes(),
            Some(Hostname) => [self.hostname(), b"\n"].concat(),
            Some(Domainname) => [self.domainname(), b"\n"].concat(),
            Some(I(k)) => {
                let ipc = &self.job.ipc;
                match k {
                    IpcKnob::MsgMax => format!("{}\n", ipc.msgmax),
                    IpcKnob::MsgMnb => format!("{}\n", ipc.msgmnb),
                    IpcKnob::MsgMni => format!("{}\n", ipc.msgmni),
                    IpcKnob::ShmMni => format!("{}\n", ipc.shmmni),
                    IpcKnob::ShmMax => format!("{}\n", ipc.shmmax),
                    IpcKnob::ShmAll => format!("{}\n", ipc.shmall),
                    IpcKnob::Sem => {
                        let [a, b, c, d] = ipc.sem_limits;
                        format!("{a}\t{b}\t{c}\t{d}\n")
                    }
                    IpcKnob::MsgNextId => format!("{}\n", ipc.msg.next_id),
                    IpcKnob::SemNextId => format!("{}\n", ipc.sem.next_id),
                    IpcKnob::ShmNextId => format!("{}\n", ipc.shm.next_id),
                    IpcKnob::MqQueuesMax => format!("{}\n", ipc.mq.limits.queues_max),
                    IpcKnob::MqMsgMax => format!("{}\n", ipc.mq.limits.msg_max),
                    IpcKnob::MqMsgsizeMax => format!("{}\n", ipc.mq.limits.msgsize_max),
                    IpcKnob::MqMsgDefault => format!("{}\n", ipc.mq.limits.msg_default),
                    IpcKnob::MqMsgsizeDefault => format!("{}\n", ipc.mq.limits.msgsize_default),
                }
                .into_bytes()
            }
            Some(CorePattern) => [&self.job.tunables.core_pattern[..], b"\n"].concat(),
            Some(LastPid) => format!("{}\n", self.job.last_pid).into_bytes(),
            Some(Release) => format!("{UTS_RELEASE}\n").into_bytes(),
            Some(Version) => format!("{UTS_VERSION}\n").into_bytes(),
            None => Vec::new(),
        }
    }

    /// A write of `data` to /proc/sys file `index` (the open already
    /// checked permission): a number in the tunable's bounds, else EINVAL,
    /// as Linux's proc_dointvec_minmax.
    pub(super) fn sysctl_write(&mut self, index: u32, data: &[u8]) -> SysResult {
        let knob = SYSCTLS.get(index as usize).map(|s| s.knob).ok_or(Errno::EINVAL)?;
        match knob {
            Fixed(_) | Release | Version | AioNr => Err(Errno::EPERM),
            CorePattern => {
                // proc_dostring: up to a newline or NUL, at most
                // CORENAME_MAX_SIZE - 1 bytes kept; the whole write is taken.
                let end = data.iter().position(|&b| b == b'\n' || b == 0).unwrap_or(data.len()).min(127);
                self.job.tunables.core_pattern = data[..end].to_vec();
                Ok(data.len() as u64)
            }
            Hostname | Domainname => {
                let name = data.strip_suffix(b"\n").unwrap_or(data);
                if name.len() > 64 {
                    return Err(Errno::EINVAL);
                }
                self.set_uts_name(knob == Hostname, name.to_vec());
                Ok(data.len() as u64)
            }
            I(k) => {
                let text = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
                let words: Vec<&str> = text.split_whitespace().collect();
                if let (IpcKnob::ShmMax | IpcKnob::ShmAll, [w]) = (k, words.as_slice()) {
                    // unsigned longs (proc_doulongvec_minmax)
                    let v: u64 = w.parse().map_err(|_| Errno::EINVAL)?;
                    if k == IpcKnob::ShmMax {
                        self.job.ipc.shmmax = v;
                    } else {
                        self.job.ipc.shmall = v;
                    }
                    return Ok(data.len() as u64);
                }
                let nums: Vec<i64> = words.iter().map(|w| w.parse::<i64>().map_err(|_| Errno::EINVAL)).collect::<Result<_, _>>()?;
                let one = |lo: i64, hi: i64| nums.first().copied().filter(|v| (lo..=hi).contains(v)).ok_or(Errno::EINVAL);
                let ipc = &mut self.job.ipc;
                match k {
                    IpcKnob::MsgMax => ipc.msgmax = one(0, i32::MAX as i64)? as u64,
                    IpcKnob::MsgMnb => ipc.msgmnb = one(0, i32::MAX as i64)? as u64,
                    IpcKnob::MsgMni => ipc.msgmni = one(0, 32768)? as u32,
                    IpcKnob::ShmMni => ipc.shmmni = one(0, 32768)? as u32,
                    IpcKnob::ShmMax | IpcKnob::ShmAll => return Err(Errno::EINVAL),
                    IpcKnob::Sem => {
                        // As Linux's proc_ipc_sem_dointvec: four numbers, semmni at most 32768.
                        if nums.len() != 4 || nums.iter().any(|&v| !(0..=i32::MAX as i64).contains(&v)) || nums[3] > 32768 {
                            return Err(Errno::EINVAL);
                        }
                        ipc.sem_limits = [nums[0] as u32, nums[1] as u32, nums[2] as u32, nums[3] as u32];
                    }
                    IpcKnob::MsgNextId => ipc.msg.next_id = one(-1, i32::MAX as i64)? as i32,
                    IpcKnob::SemNextId => ipc.sem.next_id = one(-1, i32::MAX as i64)? as i32,
                    IpcKnob::ShmNextId => ipc.shm.next_id = one(-1, i32::MAX as i64)? as i32,
                    // Linux's bounds: HARD_MSGMAX, MIN_MSGSIZEMAX to HARD_MSGSIZEMAX.
                    IpcKnob::MqQueuesMax => ipc.mq.limits.queues_max = one(0, i32::MAX as i64)? as u64,
                    IpcKnob::MqMsgMax => ipc.mq.limits.msg_max = one(1, 65536)? as u64,
                    IpcKnob::MqMsgsizeMax => ipc.mq.limits.msgsize_max = one(128, 16 << 20)? as u64,
                    IpcKnob::MqMsgDefault => ipc.mq.limits.msg_default = one(1, 65536)? as u64,
                    IpcKnob::MqMsgsizeDefault => ipc.mq.limits.msgsize_default = one(128, 16 << 20)? as u64,
                }
                Ok(data.len() as u64)
            }
            // Linux's pid_ns_ctl_handler: CAP_SYS_ADMIN or
            // CAP_CHECKPOINT_RESTORE, a number from 0 to pid_max; the next
            // process gets the first free id after it.
            LastPid => {
                if !self.capable(crate::linux::CAP_SYS_ADMIN) && !self.capable(crate::linux::CAP_CHECKPOINT_RESTORE) {
                    return Err(Errno::EPERM);
                }
                let text = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
                let v: i64 = text.trim().parse().map_err(|_| Errno::EINVAL)?;
                if v < 0 || v as u64 > self.job.tunables.pid_max {
                    return Err(Errno::EINVAL);
                }
                self.job.last_pid = v as u32;
                self.job.set_last_pid = Some(v as u32);
                Ok(data.len() as u64)
            }
            T(t, lo, hi) => {
                let v = parse_number(data).ok_or(Errno::EINVAL)?;
                if v < lo || v > hi {
                    return Err(Errno::EINVAL);
                }
                self.job.tunables.set(t, v);
                Ok(data.len() as u64)
            }
        }
    }
}

/// A decimal number with optional blanks around it, as proc_dointvec reads.
fn parse_number(data: &[u8]) -> Option<u64> {
    let s = core::str::from_utf8(data).ok()?.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// /boot/config-RELEASE, where Debian keeps its kernel's configuration and
/// LTP's library looks for one. `y` only for what SiON implements; what it
/// lacks is "not set", so a program checking an option learns the truth.
pub const KERNEL_CONFIG: &str = "\
# SiON's Linux personality: the options it implements
CONFIG_64BIT=y
CONFIG_X86_64=y
CONFIG_IA32_EMULATION=y
CONFIG_SMP=y
CONFIG_MMU=y
CONFIG_MULTIUSER=y
CONFIG_FUTEX=y
CONFIG_MEMBARRIER=y
CONFIG_EPOLL=y
CONFIG_SIGNALFD=y
CONFIG_EVENTFD=y
CONFIG_SHMEM=y
CONFIG_MEMFD_CREATE=y
CONFIG_TMPFS=y
CONFIG_PROC_FS=y
CONFIG_PROC_SYSCTL=y
CONFIG_UNIX=y
CONFIG_INET=y
CONFIG_FILE_LOCKING=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_COMPAT_32BIT_TIME=y
# CONFIG_SWAP is not set
# CONFIG_MODULES is not set
CONFIG_SYSVIPC=y
CONFIG_POSIX_MQUEUE=y
CONFIG_CHECKPOINT_RESTORE=y
CONFIG_NAMESPACES=y
CONFIG_UTS_NS=y
CONFIG_TIME_NS=y
# CONFIG_USER_NS is not set
# CONFIG_PID_NS is not set
# CONFIG_NET_NS is not set
# CONFIG_IPC_NS is not set
# CONFIG_CGROUPS is not set
CONFIG_DNOTIFY=y
CONFIG_INOTIFY_USER=y
# CONFIG_FANOTIFY is not set
# CONFIG_USERFAULTFD is not set
# CONFIG_MANDATORY_FILE_LOCKING is not set
# CONFIG_MEMORY_FAILURE is not set
# CONFIG_HUGETLBFS is not set
CONFIG_BLK_DEV_LOOP=y
# CONFIG_IPV6 is not set
# CONFIG_SECCOMP is not set
CONFIG_AIO=y
CONFIG_POSIX_TIMERS=y
CONFIG_BSD_PROCESS_ACCT=y
CONFIG_BSD_PROCESS_ACCT_V3=y
CONFIG_TIMERFD=y
# CONFIG_IO_URING is not set
# CONFIG_KASAN is not set
";
