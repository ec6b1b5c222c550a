//! A Linux process: its memory map, limits, ids, stdin and the system calls,
//! written against [`Host`] so all of it runs in host tests.

use crate::mm_map::MmMap;
use crate::elf::{self, LoadPlan, LIMIT_32};
use crate::errno::{Errno, SysResult};
use crate::host::{Host, MapError};
use crate::layout::*;
use crate::linux::*;
use crate::stack::{self, StackParams, STACK_SIZE, STACK_TOP_32, STACK_TOP_64};
use crate::syscalls::name_of;
use crate::vma::{page_down, page_up, VmaKind, VmaMap, PAGE};
use crate::signal::Signals;

pub(crate) mod files;
mod dump;
mod misc;
mod mm_prctl;
mod namespaces;
mod net;
pub mod pipe;
mod thread;
pub use thread::Thread;
mod console;
pub mod epoll;
mod eventfd;
mod unix;
mod signalfd;
mod fifo;
mod xattr;
pub mod posix_timer;
mod timerfd;
pub mod pidfd;
pub mod numa;
mod sysv;
mod mqueue;
pub mod inotify;
pub mod fasync;
pub mod acct;
pub mod aio;
pub use fifo::{Fifo, FifoWait};
pub use files::{add_proc_dir, add_proc_stub, add_task_dir, fill_proc_dir, proc_stub_of, remove_proc_dir, remove_task_dir, set_proc_link, Files, Obj, OpenFile, OutItem, Resolved, WriteBack, AT_FDCWD, FILES_DO_NOT_FIT};
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use sion_vecmap::VecMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sion_abi::console::{up, Exit};
use sion_abi::msg::{pf, Fault, LinuxSyscall};
use sion_abi::regs::{self, Mode, TaskRegs};

/// Linux's `vm.mmap_min_addr` (Debian's 65536): mappings below it need
/// root (CAP_SYS_RAWIO).
pub const MMAP_MIN: u64 = 0x10000;
/// Top of the mmap area of a 64-bit process (Linux's mmap_base without randomisation).
pub const MMAP_TOP_64: u64 = 0x7fff_f7ff_f000;
/// Top of the mmap area of a 32-bit process.
pub const MMAP_TOP_32: u64 = 0xf7ff_e000;
/// Largest single read/write (Linux's MAX_RW_COUNT).
pub const MAX_RW: u64 = 0x7fff_f000;
/// How often a blocked stdin read polls the console.
pub const STDIN_POLL_NS: u64 = 1_000_000;
const PATH_MAX: usize = 4096;
const UIO_MAXIOV: u64 = 1024;

pub use crate::signal::{SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGTRAP};

/// What the server does with the trapped task after a system call or fault.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Reply with this rax (flags 0).
    Reply(u64),
    /// Reply with `KEEP_REGS` (registers were set, or a fault was fixed).
    KeepRegs,
    /// Keep the task blocked; [`Process::poll`] answers later.
    Blocked,
    /// The process ended: report and stop.
    Exit(Exit),
}

impl From<SysResult> for Outcome {
    fn from(r: SysResult) -> Outcome {
        match r {
            Ok(v) => Outcome::Reply(v),
            Err(e) => e.into(),
        }
    }
}

/// A deferred reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pending {
    /// Read from stdin into these (address, length) buffers.
    Read { iov: Vec<(u64, u64)> },
    /// Sleep until this monotonic time.
    Sleep { deadline: u64 },
    /// poll/select/epoll_wait: until something is ready or the deadline.
    Wait { call: files::WaitCall, deadline: Option<u64> },
    /// A socket call that would block: run it again when the netstack says
    /// something changed.
    Net { call: LinuxSyscall },
    /// A call waiting on another process of the job (a pipe, a child): run
    /// it again after anything in the job changed.
    Retry { call: LinuxSyscall },
    /// futex wait on `addr` until a wake whose bitset meets `bitset`, or the
    /// deadline (ETIMEDOUT). `seq` orders the waiters (woken first come, first
    /// served). Private and shared waits on one address are different
    /// futexes, as on Linux.
    Futex { addr: u64, private: bool, bitset: u32, seq: u64, deadline: Option<u64> },
    /// futex_waitv on each (address, private) of `keys`: a wake of any of
    /// them answers the index of the first one woken; the deadline ETIMEDOUT.
    FutexV { keys: Vec<(u64, bool)>, seq: u64, deadline: Option<u64> },
    /// rt_sigtimedwait: a signal of `set` (its siginfo to `info`), or EAGAIN
    /// at the deadline.
    SigWait { set: u64, info: u64, deadline: Option<u64> },
}

impl Pending {
    /// When the server should look at this call again (monotonic ns), if ever
    /// on its own.
    pub fn deadline(&self, now: u64) -> Option<u64> {
        match self {
            Pending::Read { .. } => Some(now + STDIN_POLL_NS),
            Pending::Sleep { deadline } => Some(*deadline),
            Pending::Wait { deadline, .. } => Some(deadline.map_or(now + STDIN_POLL_NS, |d| d.min(now + STDIN_POLL_NS))),
            // The netstack's notification wakes it; a slow look-again as well,
            // in case a change came while nothing listened.
            Pending::Net { .. } => Some(now + NET_RECHECK_NS),
            Pending::Retry { .. } => None,
            Pending::Futex { deadline, .. } | Pending::FutexV { deadline, .. } | Pending::SigWait { deadline, .. } => *deadline,
        }
    }
}

/// What the process was started with.
#[derive(Clone, Debug)]
pub struct Spawn<'a> {
    pub program: &'a [u8],
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    /// `/proc/self/exe` and AT_EXECFN.
    pub exe: String,
    pub uid: u32,
    pub gid: u32,
    /// CSPRNG seed (hardware entropy mixed with the host's seed).
    pub seed: [u8; 32],
    /// AT_HWCAP (CPUID.1:EDX).
    pub hwcap: u64,
    /// stdin is a stream from the host; otherwise reads see end of file.
    pub stdin_stream: bool,
    /// Bytes of memory the node has: one brk or writable private mmap larger
    /// than this fails with ENOMEM, as under Linux's heuristic overcommit.
    pub memory: u64,
    /// The job's input files: absolute path, contents, mode (permission
    /// bits; with `S_IFLNK` type bits a symbolic link, the contents its target).
    pub files: Vec<(String, &'a [u8], u32)>,
    /// The working directory (created if missing).
    pub cwd: String,
    /// Paths of the workstation the job sees on demand (`share=`).
    pub shares: Vec<String>,
}

/// The registers a new task starts with.
pub fn initial_regs(abi: Abi, entry: u64, sp: u64) -> TaskRegs {
    TaskRegs {
        rip: entry,
        rsp: sp,
        rflags: 0x202,
        mode: match abi {
            Abi::X86_64 => Mode::Long as u64,
            Abi::I386 => Mode::Compat32 as u64,
        },
        ..Default::default()
    }
}

/// What the processes of a job share: the file tree, pipes, sockets, epoll
/// instances, the console's stdin. The process table keeps it and lends it
/// to the process it serves (`procs.rs`), so a process's calls reach it as
/// `self.job`.
pub struct JobState {
    pub vfs: sion_vfs::Vfs,
    pub hostname: Vec<u8>,
    /// setdomainname's NIS domain name ("(none)" until set).
    pub domainname: Vec<u8>,
    /// The UTS and time namespaces the job's processes made (the initial
    /// ones' names are `hostname` and `domainname`).
    pub ns: crate::ns::Namespaces,
    /// The last process id given (/proc/sys/kernel/ns_last_pid), and one a
    /// write there chose (the next id is the first free one after it).
    pub last_pid: u32,
    pub set_last_pid: Option<u32>,
    /// Interest lists of epoll instances: fd -> its interest.
    pub epolls: VecMap<u32, VecMap<i32, epoll::Interest>>,
    /// Per epoll instance, the descriptor its last wait reported last: the
    /// next wait starts after it (the ready list's rotation).
    pub epoll_cursor: VecMap<u32, i32>,
    pub next_epoll: u32,
    /// Sockets: their netstack handle, options and last known readiness.
    pub sockets: VecMap<u32, net::Sock>,
    pub next_socket: u32,
    /// Netstack handles of sockets whose last descriptor closed, to close
    /// there at the next chance (closing needs the host).
    pub sockets_closed: Vec<u32>,
    pub pipes: VecMap<u32, pipe::Pipe>,
    pub next_pipe: u32,
    /// FIFO inodes and their pipes; opens of FIFOs waiting for the other
    /// side, by (pid, tid) (see `process/fifo.rs`).
    pub fifos: VecMap<sion_vfs::Ino, Fifo>,
    pub fifo_waits: VecMap<(u32, u32), FifoWait>,
    pub fifo_pipes: VecMap<u32, sion_vfs::Ino>,
    /// AF_UNIX sockets (see `process/unix.rs`), their abstract names and the
    /// inodes of their path names.
    pub unix: VecMap<u32, unix::UnixSock>,
    pub next_unix: u32,
    pub unix_names: VecMap<Vec<u8>, u32>,
    pub unix_paths: VecMap<sion_vfs::Ino, u32>,
    pub next_autobind: u32,
    pub eventfds: VecMap<u32, eventfd::EventFd>,
    pub next_eventfd: u32,
    /// signalfd descriptors: their signal sets.
    pub signalfds: VecMap<u32, u64>,
    pub next_signalfd: u32,
    /// timerfds (see `process/timerfd.rs`).
    pub timerfds: VecMap<u32, timerfd::TimerFd>,
    pub next_timerfd: u32,
    /// Names of shared mappings (see [`Process::shm`]).
    pub next_shm: u64,
    /// The name of each file mapped shared (its futexes are keyed by it).
    pub file_shm: VecMap<sion_vfs::Ino, u64>,
    stdin: VecDeque<u8>,
    stdin_eof: bool,
    /// The netstack signalled changes not looked at yet.
    net_dirty: bool,
    /// Unimplemented calls seen: name -> count.
    pub unimplemented: VecMap<&'static str, u64>,
    /// Another process's /proc files just opened, for the process table to
    /// generate from that process: (the open file, its pid, the file's kind).
    pub proc_reads: Vec<(alloc::rc::Rc<core::cell::RefCell<files::OpenFile>>, u32, u32)>,
    /// MAP_SHARED file mappings of the job's processes, so that another
    /// mmap of the same file shares their frames (`Host::mem_share_from`):
    /// hints, checked by the kernel when used (a mapping whose space died
    /// is refused, then forgotten).
    pub file_maps: Vec<FileMap>,
    /// Processes some pidfd names (see `process/pidfd.rs`).
    pub pidfds: VecMap<u32, pidfd::PidFdTarget>,
    /// The job's /proc/sys tunables (pid_max, pipe-max-size, ...).
    pub tunables: files::Tunables,
    /// File locks of every process of the job, and the calls waiting for
    /// them (see `locks.rs`).
    pub locks: crate::locks::Locks,
    /// System V IPC: the job is its namespace (see `sysv.rs`).
    pub ipc: crate::sysv::Ipc,
    /// Loop block devices by number (see `process/files/loopdev.rs`).
    pub loops: VecMap<u32, LoopDev>,
    /// ext2 file systems mounted on them, by the `dev` of their tree (see
    /// `process/files/ext2.rs`).
    pub ext2: VecMap<u64, files::Ext2Mount>,
    /// inotify instances by id, a slot each (see `process/inotify.rs`).
    pub inotify: Vec<Option<inotify::Inotify>>,
    /// Events of the job's AIO contexts (/proc/sys/fs/aio-nr).
    pub aio_nr: u64,
    /// Process accounting's file (acct), open for appending.
    pub acct: Option<alloc::rc::Rc<core::cell::RefCell<files::OpenFile>>>,
    /// O_ASYNC descriptions, dnotify marks and the signals they make (see
    /// `process/fasync.rs`).
    pub fasync: fasync::Fasync,
    /// membarrier registrations by pid (`sys/mm.rs`; gone at exec and exit).
    pub membarrier: VecMap<u32, u64>,
    /// The job's kernel log as syslog reads it (`sys/system.rs`): the
    /// lines the personality logged for it, at most `KLOG_LEN` bytes.
    pub klog: Vec<u8>,
    /// Bytes of `klog` SYSLOG_ACTION_READ took.
    pub klog_read: usize,
}

/// A loop block device: the file it is bound to (held open), its offset,
/// size limit, flags (`LO_FLAGS_*`), name and block size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoopDev {
    pub backing: Option<sion_vfs::Ino>,
    pub offset: u64,
    pub sizelimit: u64,
    pub flags: u32,
    pub name: Vec<u8>,
    pub block_size: u32,
}

/// A MAP_SHARED file mapping of some process: `len` bytes (whole pages
/// that hold file data) at `start` in space `space`, file offset `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileMap {
    pub ino: sion_vfs::Ino,
    pub offset: u64,
    pub len: u64,
    pub space: u64,
    pub start: u64,
}

/// The size of the job's kernel log (Linux's `log_buf_len`, Debian's 2^17).
pub const KLOG_LEN: usize = 1 << 17;

impl JobState {
    /// A line of the job's kernel log, as dmesg shows it (level 4, warning).
    pub fn klog_line(&mut self, now_ns: u64, line: &str) {
        let us = now_ns / 1000;
        let text = format!("<4>[{:5}.{:06}] sion: {line}\n", us / 1_000_000, us % 1_000_000);
        self.klog.extend_from_slice(text.as_bytes());
        if self.klog.len() > KLOG_LEN {
            let cut = self.klog.len() - KLOG_LEN;
            self.klog.drain(..cut);
            self.klog_read = self.klog_read.saturating_sub(cut);
        }
    }
}

impl Default for JobState {
    fn default() -> Self {
        JobState {
            vfs: sion_vfs::Vfs::new(),
            hostname: b"sion".to_vec(),
            domainname: b"(none)".to_vec(),
            ns: Default::default(),
            last_pid: 0,
            set_last_pid: None,
            epolls: VecMap::new(),
            epoll_cursor: VecMap::new(),
            next_epoll: 1,
            sockets: VecMap::new(),
            next_socket: 1,
            next_shm: 1,
            file_shm: VecMap::new(),
            eventfds: VecMap::new(),
            next_eventfd: 1,
            signalfds: VecMap::new(),
            next_signalfd: 1,
            timerfds: VecMap::new(),
            next_timerfd: 1,
            sockets_closed: Vec::new(),
            pipes: VecMap::new(),
            next_pipe: 1,
            fifos: VecMap::new(),
            fifo_waits: VecMap::new(),
            fifo_pipes: VecMap::new(),
            unix: VecMap::new(),
            next_unix: 1,
            unix_names: VecMap::new(),
            unix_paths: VecMap::new(),
            next_autobind: 0,
            stdin: VecDeque::new(),
            stdin_eof: false,
            net_dirty: false,
            unimplemented: VecMap::new(),
            proc_reads: Vec::new(),
            file_maps: Vec::new(),
            tunables: files::Tunables::default(),
            pidfds: VecMap::new(),
            locks: crate::locks::Locks::new(),
            ipc: crate::sysv::Ipc::default(),
            loops: VecMap::new(),
            ext2: VecMap::new(),
            inotify: Vec::new(),
            fasync: fasync::Fasync::default(),
            acct: None,
            aio_nr: 0,
            membarrier: VecMap::new(),
            klog: Vec::new(),
            klog_read: 0,
        }
    }
}

impl JobState {
    /// Bytes arrived for stdin.
    pub fn stdin_data(&mut self, bytes: &[u8]) {
        self.stdin.extend(bytes);
        self.fasync.ready(files::Obj::Stdin, fasync::POLL_IN);
    }
    /// Stdin bytes arrived and not yet read by the program (the job
    /// console's flow control counts what was taken).
    pub fn stdin_buffered(&self) -> usize {
        self.stdin.len()
    }
    /// The host's stdin ended.
    pub fn stdin_eof(&mut self) {
        self.stdin_eof = true;
    }
    pub fn net_changed(&mut self) {
        self.net_dirty = true;
    }
}

/// The pid of a job's first process (its parent, pid 1, is the job itself).
pub const FIRST_PID: u32 = 2;

fn mmap_top(abi: Abi) -> u64 {
    match abi {
        Abi::X86_64 => MMAP_TOP_64,
        Abi::I386 => MMAP_TOP_32,
    }
}

/// A program loaded into a space: its memory map and first registers.
struct Image {
    abi: Abi,
    vmas: VmaMap,
    plan: LoadPlan,
    stack_top: u64,
    /// Where mmap starts looking down from (below the interpreter).
    mmap_top: u64,
    regs: TaskRegs,
    /// The landmarks of the new memory (brk's are the plan's) and the aux
    /// vector as written (mm->saved_auxv).
    mm: MmMap,
    auxv: Vec<u8>,
}

/// Load a program into the host's current (empty) space: its segments, its
/// interpreter's if it is dynamically linked (`interp`: the bytes of the file
/// its `PT_INTERP` names, read from the job's tree by the caller), and a
/// stack with argv, envp and the aux vector. As Linux's binfmt_elf: the
/// interpreter goes at the top of the mmap area, the task starts at its entry,
/// and AT_BASE/AT_ENTRY/AT_PHDR tell it where it and the program are.
#[allow(clippy::too_many_arguments)]
fn load_image(h: &mut dyn Host, program: &[u8], interp: Option<&[u8]>, argv: &[Vec<u8>], envp: &[Vec<u8>], execfn: &[u8], uid: u32, gid: u32, hwcap: u64, rng: &mut ChaCha20Rng) -> Result<Image, String> {
    let plan = elf::plan(program)?;
    let abi = plan.abi;
    let mut vmas = VmaMap::new();
    map_segments(h, &plan, program, &mut vmas, VmaKind::Image)?;
    let mut top_of_mmap = mmap_top(abi);
    let (start, base) = match (&plan.interp, interp) {
        (None, _) => (plan.entry, 0),
        (Some(name), None) => return Err(format!("the interpreter {} was not given", String::from_utf8_lossy(name))),
        (Some(_), Some(ib)) => {
            let span = elf::plan_interp(ib, abi, 0x1000_0000).map_err(|e| format!("interpreter: {e}"))?.span();
            let base = top_of_mmap.checked_sub(page_up(span).ok_or("interpreter too large")?).ok_or("interpreter too large")?;
            let ip = elf::plan_interp(ib, abi, base).map_err(|e| format!("interpreter: {e}"))?;
            if ip.segments.iter().any(|s| vmas.lookup(s.vaddr).is_some()) || base < plan.brk_start {
                return Err("the interpreter overlaps the program".into());
            }
            map_segments(h, &ip, ib, &mut vmas, VmaKind::Interp)?;
            top_of_mmap = base;
            (ip.entry, base)
        }
    };
    let mut random = [0u8; 16];
    rng.fill_bytes(&mut random);
    let top = match abi {
        Abi::X86_64 => STACK_TOP_64,
        Abi::I386 => STACK_TOP_32,
    };
    let sysinfo_ehdr = crate::vdso::map(h, abi, &mut vmas)?.unwrap_or(0);
    let sysinfo = crate::vdso::sysinfo(abi, sysinfo_ehdr);
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let envp: Vec<&[u8]> = envp.iter().map(|a| a.as_slice()).collect();
    let img = stack::build(&StackParams {
        abi,
        top,
        argv: &argv,
        envp: &envp,
        execfn,
        random,
        phdr: plan.phdr,
        phent: plan.phent,
        phnum: plan.phnum,
        entry: plan.entry,
        base,
        uid,
        gid,
        hwcap,
        sysinfo_ehdr,
        sysinfo,
    })
    .ok_or("arguments and environment too large")?;
    if !vmas.insert(top - STACK_SIZE, top, 3, VmaKind::Stack) {
        return Err("the stack overlaps the program".into());
    }
    let low = page_down(img.sp);
    h.mem_map(low, top - low, 3).map_err(map_err)?;
    if h.mem_write(img.sp, &img.bytes) != img.bytes.len() {
        return Err("could not write the stack".into());
    }
    let regs = initial_regs(abi, start, img.sp);
    let mut plan = plan;
    plan.auxv = img.auxv;
    let mm = image_landmarks(&plan, &img);
    let w = abi.word();
    let auxv: Vec<u8> = img.saved_auxv.iter().flat_map(|&(k, v)| [k, v]).flat_map(|x| x.to_le_bytes().into_iter().take(w)).collect();
    let auxv = crate::mm_map::saved_auxv(&auxv);
    Ok(Image { abi, vmas, plan, stack_top: top, mmap_top: top_of_mmap, regs, mm, auxv })
}

/// Linux's mm landmarks of a loaded program (binfmt_elf): the code from the
/// lowest executable segment to the end of the highest one's file bytes, the
/// data from the highest segment's start to its file end, the heap at the
/// plan's brk, the stack at the initial stack pointer, argv's and envp's strings.
fn image_landmarks(plan: &LoadPlan, img: &stack::StackImage) -> MmMap {
    let (mut start_code, mut end_code, mut start_data, mut end_data) = (u64::MAX, 0, 0, 0);
    for s in &plan.segments {
        if s.prot & 4 != 0 {
            start_code = start_code.min(s.vaddr);
            end_code = end_code.max(s.vaddr + s.filesz);
        }
        start_data = start_data.max(s.vaddr);
        end_data = end_data.max(s.vaddr + s.filesz);
    }
    MmMap {
        start_code: if start_code == u64::MAX { 0 } else { start_code },
        end_code,
        start_data,
        end_data,
        start_brk: plan.brk_start,
        brk: plan.brk_start,
        start_stack: img.sp,
        arg_start: img.args.0,
        arg_end: img.args.1,
        env_start: img.env.0,
        env_end: img.env.1,
    }
}

/// Map the segments of `plan` (the file's bytes written, the rest zero and
/// mapped lazily) and record them in `vmas` as `kind`.
fn map_segments(h: &mut dyn Host, plan: &LoadPlan, program: &[u8], vmas: &mut VmaMap, kind: VmaKind) -> Result<(), String> {
    // Final protection of every page of the image (segments may share a page).
    let mut prot: VecMap<u64, u64> = VecMap::new();
    let mut eager: VecMap<u64, ()> = VecMap::new();
    for seg in &plan.segments {
        let (a, b) = seg.pages();
        for p in (a..b).step_by(PAGE as usize) {
            *prot.entry(p).or_insert(0) |= seg.prot;
        }
        if seg.filesz > 0 {
            let fe = page_up(seg.vaddr + seg.filesz).unwrap_or(b);
            for p in (a..fe).step_by(PAGE as usize) {
                eager.insert(p, ());
            }
        }
    }
    // Runs of contiguous pages, mapped RW while the bytes are written.
    for (start, end) in runs(eager.keys().copied(), |_| 0) {
        h.mem_map(start, end - start, 3).map_err(map_err)?;
    }
    for seg in &plan.segments {
        let bytes = &program[seg.offset as usize..(seg.offset + seg.filesz) as usize];
        if h.mem_write(seg.vaddr, bytes) != bytes.len() {
            return Err(format!("could not write the segment at {:#x}", seg.vaddr));
        }
    }
    for (start, end) in runs(eager.keys().copied(), |p| prot[&p]) {
        h.mem_protect(start, end - start, prot[&start]);
    }
    for (start, end) in runs(prot.keys().copied(), |p| prot[&p]) {
        vmas.insert(start, end, prot[&start], kind);
    }
    Ok(())
}

/// Pages of anonymous memory mapped per fault (see `Process::fault_in`).
const FAULT_AROUND: u64 = 16;

pub struct Process {
    /// The job's shared state while this process is being served (see
    /// [`JobState`]). Boxed: it moves between the table and the served
    /// process on every call, and a pointer moves in one instruction.
    pub job: Box<JobState>,
    pub abi: Abi,
    pub pid: u32,
    /// The thread being served (its per-thread state is in the fields below;
    /// see [`Thread`]).
    pub tid: u32,
    /// The process's other threads, parked.
    pub threads: Vec<Thread>,
    pub vmas: VmaMap,
    pub plan: LoadPlan,
    pub brk_start: u64,
    pub brk: u64,
    /// Where code, data, stack, arguments and environment are (Linux's mm
    /// fields; its brk ones are `brk_start` and `brk`), as exec set them or
    /// prctl(PR_SET_MM) since; and the saved aux vector (/proc/PID/auxv).
    pub mm: MmMap,
    pub saved_auxv: Vec<u8>,
    pub mmap_top: u64,
    pub stack_top: u64,
    pub uid: u32,
    pub gid: u32,
    /// AT_HWCAP for programs this process execs.
    pub hwcap: u64,
    pub exe: String,
    /// The inode of `exe` while this process runs it (0: none), which may
    /// not be opened for writing meanwhile (ETXTBSY).
    pub exe_ino: sion_vfs::Ino,
    /// (soft, hard) per resource.
    pub rlimits: [(u64, u64); 16],
    rng: ChaCha20Rng,
    pub clear_child_tid: u64,
    pub robust_list: (u64, u64),
    pub pending: Option<Pending>,
    /// The system call being served (a blocked socket call runs it again).
    last_call: LinuxSyscall,
    /// Realtime at start, for stat times.
    start_realtime: u64,
    /// See [`Spawn::memory`].
    pub memory: u64,
    /// Descriptors and the file tree.
    pub files: Files,
    /// Figures of the node, refreshed when /proc files are opened.
    pub node: crate::host::NodeInfo,
    /// Shared mappings (MAP_SHARED anonymous or of a file, in shared frames kept by fork):
    /// (start, end, name). Shared futexes in them are keyed by (name, offset).
    /// (start, end, name, offset of `start` in the named memory): a file's
    /// mappings are all named after the file (`JobState::file_shm`), with
    /// its file offset, so futexes in two mmaps of one file meet.
    pub shm: Vec<(u64, u64, u64, u64)>,
    /// System V shared memory attaches: (start, end, segment id).
    pub sysv_shm: Vec<(u64, u64, i32)>,
    /// MAP_SHARED file mappings: (start, end, inode, file offset).
    pub shared: Vec<(u64, u64, sion_vfs::Ino, u64)>,
    /// The pages of file mappings wholly past their file's end (start,
    /// end): an access there is SIGBUS (BUS_ADRERR), as on Linux, not zeros.
    pub past_eof: Vec<(u64, u64)>,
    /// mmap'd files, private or shared (start, end, the file's path at
    /// mmap): /proc/<pid>/map_files lists them with the program's image.
    pub mapped_files: Vec<(u64, u64, Vec<u8>)>,
    /// Interval timers REAL, VIRTUAL, PROF, on their clocks (ns); REAL
    /// sends SIGALRM (`Procs::fire_timers`).
    pub itimers: [crate::timer::Timer; 3],
    /// POSIX timers (timer_create) by id (`process/posix_timer.rs`).
    pub timers: VecMap<i32, posix_timer::PosixTimer>,
    /// The id the next POSIX timer gets (ids go up, as Linux's).
    pub next_timer_id: i32,
    /// The name prctl(PR_SET_NAME) gave the process, if any.
    pub name: Option<Vec<u8>>,
    /// A page could not be had: the memory of the node is exhausted.
    pub out_of_memory: bool,
    /// Bytes a blocked pipe write already wrote (it goes on from there).
    pub partial_write: u64,
    /// A signal the last call raised against the process itself (SIGPIPE).
    pub raise: Option<u8>,
    pub sig: Signals,
    /// (parent, process group, session) as the process table knew them when
    /// it last lent the job to this process (for /proc/<pid>/stat, status).
    pub family: (u32, u32, u32),
    /// prctl(PR_SET_PDEATHSIG): the signal this process gets when its
    /// parent ends (0: none). Cleared in a fork's child and when an id
    /// changes; kept across execve.
    pub pdeathsig: u8,
    /// The nice value (-20..=19) of getpriority/setpriority.
    pub nice: i32,
    /// Capability sets (capget/capset): all for root, none for others.
    pub caps: Caps,
    /// The real and saved user and group ids (the effective ones are `uid`
    /// and `gid`, the file-system ones `files.cred`: see `creds.rs`).
    pub ids: crate::creds::RealSaved,
    /// prctl's per-process settings (PR_SET_SECUREBITS, DUMPABLE,
    /// NO_NEW_PRIVS, THP_DISABLE, TIMERSLACK, CHILD_SUBREAPER).
    pub prctl: Prctl,
    /// sched_setscheduler's policy (with SCHED_RESET_ON_FORK) and
    /// priority: kept and reported, the node's scheduler has one class.
    pub sched: (u32, u32),
    /// ioprio_set's class and level (None: never set, Linux's default).
    pub ioprio: Option<u32>,
    /// personality(2)'s persona (PER_LINUX 0, PER_LINUX32 8, flags),
    /// kept across fork and exec; PER_LINUX32 makes uname say i686.
    pub persona: u32,
    /// set_mempolicy's policy (kept across fork and exec) and mbind's per
    /// range (start, end), newest last.
    pub mempolicy: numa::MemPolicy,
    /// Its namespaces (see `crate::ns`).
    pub ns: crate::ns::NsSet,
    pub range_policies: Vec<(u64, u64, numa::MemPolicy)>,
    /// System time: what the server spent on its calls (ns).
    pub stime_ns: u64,
    /// User and system time of its children that were waited for, theirs
    /// included (times' cutime and cstime, RUSAGE_CHILDREN), ns.
    pub child_times: (u64, u64),
    /// When to look at its CPU time against RLIMIT_CPU next (monotonic ns).
    pub cpu_limit_at: u64,
    /// When it was forked (the node's monotonic clock), and whether it has
    /// not exec'd since (process accounting's AFORK).
    pub started_ns: u64,
    pub forked: bool,
    /// Its AIO contexts by ring address (see `process/aio.rs`).
    pub aio: Vec<aio::AioCtx>,
}

/// A process's capability sets, bit `n` for capability `n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    /// The bounding set: what an exec may give (PR_CAPBSET_DROP).
    pub bounding: u64,
    /// The ambient set (PR_CAP_AMBIENT): what an unprivileged program keeps
    /// across exec; always within permitted and inheritable.
    pub ambient: u64,
}

/// The SECBIT_* flags of PR_SET_SECUREBITS (capabilities(7)).
pub mod secbit {
    pub const NOROOT: u32 = 1 << 0;
    pub const NO_SETUID_FIXUP: u32 = 1 << 2;
    pub const KEEP_CAPS: u32 = 1 << 4;
    pub const KEEP_CAPS_LOCKED: u32 = 1 << 5;
    pub const NO_CAP_AMBIENT_RAISE: u32 = 1 << 6;
    /// Every flag and every lock (each flag's lock is the bit above it).
    pub const ALL: u32 = 0xff;
    pub const ALL_LOCKS: u32 = 0xaa;
}

/// What prctl sets per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prctl {
    pub securebits: u32,
    /// PR_SET_DUMPABLE; also cleared when effective or file-system ids change.
    pub dumpable: bool,
    /// PR_SET_NO_NEW_PRIVS: set once, kept across fork and exec.
    pub no_new_privs: bool,
    pub thp_disable: bool,
    /// PR_SET_TIMERSLACK's value, and the one PR_SET_TIMERSLACK 0 returns
    /// to (a child's is its parent's value at fork).
    pub timer_slack: u64,
    pub default_slack: u64,
    /// PR_SET_CHILD_SUBREAPER: orphaned descendants come to this process.
    pub child_subreaper: bool,
    /// /proc/PID/coredump_filter (Linux's MMF_DUMP_* bits, 9 of them),
    /// kept across fork and exec.
    pub coredump_filter: u32,
}

impl Default for Prctl {
    fn default() -> Prctl {
        Prctl { securebits: 0, dumpable: true, no_new_privs: false, thp_disable: false, timer_slack: 50_000, default_slack: 50_000, child_subreaper: false, coredump_filter: crate::coredump::DEFAULT_FILTER }
    }
}

impl Prctl {
    /// A child's settings: all kept but the subreaper flag.
    pub fn fork(self) -> Prctl {
        Prctl { default_slack: self.timer_slack, child_subreaper: false, ..self }
    }

    /// After exec: SECBIT_KEEP_CAPS goes (unless locked), dumpable again.
    pub fn exec(&mut self) {
        if self.securebits & secbit::KEEP_CAPS_LOCKED == 0 {
            self.securebits &= !secbit::KEEP_CAPS;
        }
        self.dumpable = true;
    }
}

impl Process {
    /// Whether the process holds capability `cap` in its effective set.
    pub fn capable(&self, cap: u32) -> bool {
        self.caps.effective & (1 << cap) != 0
    }
}

impl Caps {
    /// Every capability Linux 6.1 has (up to CAP_CHECKPOINT_RESTORE, 40).
    pub const ALL: u64 = (1 << 41) - 1;

    /// Capabilities over the node itself, out of every job's bounding set
    /// (as a container's): CAP_SYS_MODULE, SYS_RAWIO, SYS_TIME, WAKE_ALARM.
    /// `sys/node.rs` has their calls. (CAP_SYS_BOOT reboots only the job,
    /// as in a child PID namespace; CAP_SYS_TTY_CONFIG hangs up only the
    /// job's terminals; process accounting, CAP_SYS_PACCT, records the
    /// job's processes, as Linux's is per pid namespace.)
    pub const NODE_ONLY: u64 = {
        use crate::linux::*;
        1 << CAP_SYS_MODULE | 1 << CAP_SYS_RAWIO | 1 << CAP_SYS_TIME | 1 << CAP_WAKE_ALARM
    };

    /// What a process of user `uid` starts with.
    pub fn of(uid: u32) -> Caps {
        Caps { bounding: Caps::ALL & !Caps::NODE_ONLY, ..Caps::default() }.exec(uid)
    }

    /// The sets after an exec by user `uid` (root: all its bounding set
    /// allows; others: none).
    pub fn exec(self, uid: u32) -> Caps {
        self.exec_as(uid, uid)
    }

    /// The sets after an exec with real user id `ruid` and effective `euid`:
    /// root in either gets the bounding set permitted, effective only when
    /// the effective id is root (capabilities(7), "root" programs).
    /// A program run by neither keeps only its ambient set, permitted and effective.
    pub fn exec_as(self, ruid: u32, euid: u32) -> Caps {
        if ruid == 0 || euid == 0 {
            let permitted = self.bounding;
            Caps { effective: if euid == 0 { permitted } else { 0 }, permitted, ..self }
        } else {
            Caps { effective: self.ambient, permitted: self.ambient, ..self }
        }
    }
}

/// The limits a job starts with, as Linux's init has them: RLIMIT_NPROC
/// and RLIMIT_SIGPENDING are half of threads-max (kernel/fork.c, fork_init).
fn default_rlimits(threads_max: u64) -> [(u64, u64); 16] {
    let inf = RLIM_INFINITY;
    let half = threads_max / 2;
    [
        (inf, inf),            // CPU
        (inf, inf),            // FSIZE
        (inf, inf),            // DATA
        (STACK_SIZE, inf),     // STACK
        (0, inf),              // CORE
        (inf, inf),            // RSS
        (half, half),          // NPROC
        (1024, 4096),          // NOFILE
        (8 << 20, 8 << 20),    // MEMLOCK
        (inf, inf),            // AS
        (inf, inf),            // LOCKS
        (half, half),          // SIGPENDING
        (819_200, 819_200),    // MSGQUEUE
        (0, 0),                // NICE
        (0, 0),                // RTPRIO
        (inf, inf),            // RTTIME
    ]
}

fn map_err(e: MapError) -> String {
    format!("mem_map failed: {e:?}")
}

impl Process {
    /// Load the program into the host's (empty) space and build its stack.
    /// Returns the process and the registers its task starts with.
    pub fn spawn(h: &mut dyn Host, s: &Spawn) -> Result<(Process, TaskRegs), String> {
        let mut rng = ChaCha20Rng::from_seed(s.seed);
        let start_realtime = h.realtime_ns();
        let (mut files, mut job) = files::build_tree(s, start_realtime, FIRST_PID)?;
        let threads_max = files::threads_max(h.node_info().total_bytes);
        job.tunables.threads_max = threads_max;
        // A script runs its interpreter and a dynamic program its loader,
        // both from the job's tree, as execve would.
        let read = |name: &[u8]| files::read_executable(&job.vfs, files.cwd, name, &files.cred);
        let prog = crate::binfmt::resolve((s.program.to_vec(), s.exe.clone()), s.argv.clone(), read).map_err(|e| match e {
            Errno::ENOEXEC => match elf::plan(s.program) {
                Err(why) => why,
                Ok(_) => String::from("a `#!` line that names no interpreter"),
            },
            Errno::ELIBBAD => String::from("its interpreter is not a loadable ELF program of its kind"),
            Errno::ELOOP => String::from("`#!` scripts nested too deep"),
            e => {
                let named = elf::plan(s.program).ok().and_then(|p| p.interp).or_else(|| crate::binfmt::shebang(s.program).map(|(i, _)| i));
                format!("its interpreter {}: {}", String::from_utf8_lossy(&named.unwrap_or_default()), e.name())
            }
        })?;
        let img = load_image(h, &prog.bytes, prog.interp.as_deref(), &prog.argv, &s.envp, prog.exe.as_bytes(), s.uid, s.gid, s.hwcap, &mut rng)?;
        files::set_proc_link(&mut job.vfs, FIRST_PID, b"exe", prog.exe.as_bytes());
        files.argv = prog.argv.clone();
        let exe_ino = job.vfs.lookup(job.vfs.root, prog.exe.as_bytes(), true, &sion_vfs::Cred::root()).unwrap_or(0);
        job.vfs.runner(exe_ino, true);
        let p = Process {
            job: Box::new(job),
            abi: img.abi,
            pid: FIRST_PID,
            tid: FIRST_PID,
            threads: Vec::new(),
            vmas: img.vmas,
            brk_start: img.plan.brk_start,
            brk: img.plan.brk_start,
            mm: img.mm,
            saved_auxv: img.auxv,
            plan: img.plan,
            mmap_top: img.mmap_top,
            stack_top: img.stack_top,
            uid: s.uid,
            gid: s.gid,
            hwcap: s.hwcap,
            exe: prog.exe.clone(),
            exe_ino,
            rlimits: default_rlimits(threads_max),
            rng,
            clear_child_tid: 0,
            robust_list: (0, 0),
            pending: None,
            last_call: LinuxSyscall::default(),
            start_realtime,
            memory: s.memory,
            files,
            node: Default::default(),
            shared: Vec::new(),
            shm: Vec::new(),
            sysv_shm: Vec::new(),
            past_eof: Vec::new(),
            mapped_files: Vec::new(),
            itimers: Default::default(),
            timers: VecMap::new(),
            next_timer_id: 0,
            name: None,
            out_of_memory: false,
            partial_write: 0,
            raise: None,
            sig: Signals::default(),
            family: (1, 1, 1),
            pdeathsig: 0,
            nice: 0,
            caps: Caps::of(s.uid),
            ids: crate::creds::RealSaved::of(s.uid, s.gid),
            prctl: Prctl::default(),
            sched: (0, 0),
            ioprio: None,
            persona: 0,
            mempolicy: numa::MemPolicy::default(),
            ns: crate::ns::NsSet::default(),
            range_policies: Vec::new(),
            stime_ns: 0,
            child_times: (0, 0),
            cpu_limit_at: 0,
            started_ns: 0,
            forked: false,
            aio: Vec::new(),
        };
        Ok((p, img.regs))
    }

    /// The child of a fork: a copy of this process (whose memory the caller
    /// copies), sharing its open file descriptions. The job's shared state
    /// stays lent to `self`; the child gets an empty stand-in.
    pub fn fork_child(&mut self, pid: u32) -> Process {
        for &(_, _, ino, _) in &self.shared {
            self.job.vfs.open_ref(ino);
        }
        // The child's working directory holds its inode too (umount EBUSY).
        self.job.vfs.open_ref(self.files.cwd);
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let mut sig = self.sig.clone();
        sig.pending = 0;
        sig.private = 0;
        sig.info.clear();
        sig.suspend_mask = None;
        Process {
            job: Box::default(),
            abi: self.abi,
            pid,
            tid: pid,
            threads: Vec::new(),
            vmas: self.vmas.clone(),
            plan: self.plan.clone(),
            brk_start: self.brk_start,
            brk: self.brk,
            mm: self.mm,
            saved_auxv: self.saved_auxv.clone(),
            mmap_top: self.mmap_top,
            stack_top: self.stack_top,
            uid: self.uid,
            gid: self.gid,
            hwcap: self.hwcap,
            exe: self.exe.clone(),
            // Counted as running it when the child starts (`Procs::fork`).
            exe_ino: self.exe_ino,
            rlimits: self.rlimits,
            rng: ChaCha20Rng::from_seed(seed),
            clear_child_tid: 0,
            robust_list: (0, 0),
            pending: None,
            last_call: LinuxSyscall::default(),
            start_realtime: self.start_realtime,
            memory: self.memory,
            files: self.files.fork(),
            node: self.node.clone(),
            shared: self.shared.clone(),
            shm: self.shm.clone(),
            sysv_shm: self.sysv_shm.clone(),
            past_eof: self.past_eof.clone(),
            mapped_files: self.mapped_files.clone(),
            // Interval timers are not inherited.
            itimers: Default::default(),
            timers: VecMap::new(),
            next_timer_id: 0,
            name: self.name.clone(),
            out_of_memory: false,
            partial_write: 0,
            raise: None,
            sig,
            family: self.family,
            pdeathsig: 0,
            nice: self.nice,
            caps: self.caps,
            ids: self.ids,
            prctl: self.prctl.fork(),
            // SCHED_RESET_ON_FORK: the child starts as SCHED_OTHER.
            mempolicy: self.mempolicy,
            ns: self.ns.for_child(),
            ioprio: self.ioprio,
            persona: self.persona,
            range_policies: self.range_policies.clone(),
            stime_ns: 0,
            child_times: (0, 0),
            cpu_limit_at: 0,
            started_ns: self.started_ns,
            forked: true,
            aio: Vec::new(),
            sched: if self.sched.0 & crate::linux::SCHED_RESET_ON_FORK != 0 { (0, 0) } else { self.sched },
        }
    }

    /// execve after the caller switched the host to a fresh, empty space:
    /// load the program there and reset what an exec resets. On an error the
    /// process is unchanged (the caller goes back to the old space).
    #[allow(clippy::too_many_arguments)]
    pub fn exec(&mut self, h: &mut dyn Host, program: &[u8], interp: Option<&[u8]>, argv: &[Vec<u8>], envp: &[Vec<u8>], exe: String) -> Result<TaskRegs, String> {
        let img = load_image(h, program, interp, argv, envp, exe.as_bytes(), self.uid, self.gid, self.hwcap, &mut self.rng)?;
        for (_, _, ino, _) in core::mem::take(&mut self.shared) {
            self.job.vfs.close_ref(ino);
        }
        self.shm.clear();
        self.sysv_detach_all(h);
        self.past_eof.clear();
        self.mapped_files.clear();
        self.abi = img.abi;
        self.vmas = img.vmas;
        self.brk_start = img.plan.brk_start;
        self.brk = img.plan.brk_start;
        self.mm = img.mm;
        self.saved_auxv = img.auxv;
        self.plan = img.plan;
        self.mmap_top = img.mmap_top;
        self.stack_top = img.stack_top;
        self.name = Some(exe.rsplit('/').next().unwrap_or("").as_bytes().iter().take(15).copied().collect());
        files::set_proc_link(&mut self.job.vfs, self.pid, b"exe", exe.as_bytes());
        let ino = self.job.vfs.lookup(self.job.vfs.root, exe.as_bytes(), true, &sion_vfs::Cred::root()).unwrap_or(0);
        self.job.vfs.runner(ino, true);
        self.job.vfs.runner(core::mem::replace(&mut self.exe_ino, ino), false);
        self.exe = exe;
        self.clear_child_tid = 0;
        self.robust_list = (0, 0);
        self.pending = None;
        self.sig.reset_for_exec();
        // POSIX timers go (interval timers stay, as on Linux), and membarrier registrations.
        self.timers.clear();
        self.job.membarrier.remove(&self.pid);
        // The saved and file-system ids become the effective ones (there
        // are no set-user-ID programs); a program run by root, really or
        // effectively, gets every capability again (no file capabilities).
        self.ids.suid = self.uid;
        self.ids.sgid = self.gid;
        self.files.cred.uid = self.uid;
        self.files.cred.gid = self.gid;
        self.caps = self.caps.exec_as(self.ids.ruid, self.uid);
        self.prctl.exec();
        self.range_policies.clear();
        self.forked = false;
        self.aio_exit();
        let cloexec: Vec<i32> = self.files.fds.iter().filter(|(_, e)| e.cloexec).map(|(&fd, _)| fd).collect();
        for fd in cloexec {
            let _ = self.fd_close(fd);
        }
        self.files.argv = argv.to_vec();
        self.files.envp = envp.to_vec();
        if self.ns.time != crate::ns::INIT_TIME {
            self.publish_vdso(h);
        }
        Ok(img.regs)
    }

    /// Close every descriptor and let go of the working directory (the
    /// process ends).
    pub fn close_all(&mut self) {
        let fds: Vec<i32> = self.files.fds.keys().copied().collect();
        for fd in fds {
            let _ = self.fd_close(fd);
        }
        // Its program may be written again.
        self.job.vfs.runner(core::mem::take(&mut self.exe_ino), false);
        self.job.vfs.close_ref(self.files.cwd);
    }

    // ----- stdin -----

    pub fn stdin_buffered(&self) -> usize {
        self.job.stdin.len()
    }

    // ----- deferred replies -----

    /// Finish a deferred reply if it can be: call after stdin data arrived or
    /// a timer fired.
    pub fn poll(&mut self, h: &mut dyn Host) -> Option<Outcome> {
        if self.job.net_dirty && !self.job.sockets.is_empty() {
            self.sync_sockets(h);
        }
        let r = match self.pending.as_ref()? {
            // The process table runs these again, through the tables (they
            // may need other processes; a socket call may have come as read).
            Pending::Retry { .. } | Pending::Net { .. } => return None,
            Pending::Read { iov } => {
                let iov = iov.clone();
                self.try_read_stdin(h, &iov)?
            }
            Pending::Sleep { deadline } => {
                if h.now_ns() < *deadline {
                    return None;
                }
                Ok(0)
            }
            Pending::Wait { call, deadline } => {
                let (call, deadline) = (call.clone(), *deadline);
                let r = self.retry_wait(h, &call, deadline)?;
                // ppoll, pselect6, epoll_pwait waited with a mask of their
                // own: the thread's comes back (a signal would have taken it
                // back through its frame instead).
                if let Some(m) = self.sig.suspend_mask.take() {
                    self.sig.mask = m;
                }
                r
            }
            Pending::SigWait { .. } => return self.sigwait_poll(h),
            // A wake answers it (the process table); here only the timeout.
            Pending::Futex { deadline, .. } | Pending::FutexV { deadline, .. } => {
                if deadline.is_none_or(|d| h.now_ns() < d) {
                    return None;
                }
                Err(Errno::ETIMEDOUT)
            }
        };
        self.pending = None;
        Some(r.into())
    }

    /// When the server should next look at this process (monotonic ns), if
    /// something is pending.
    pub fn next_deadline(&self, now: u64) -> Option<u64> {
        self.pendings().filter_map(|(_, p)| p.and_then(|p| p.deadline(now))).min()
    }

    // ----- faults -----

    /// A fault of the task: map a lazily backed page, or kill the process.
    /// `[start, end)` is unmapped or mapped anew: no longer past a file's end.
    fn forget_past_eof(&mut self, start: u64, end: u64) {
        self.forget_mapped_files(start, end);
        if self.past_eof.is_empty() {
            return;
        }
        let mut kept = Vec::new();
        for &(s, e) in &self.past_eof {
            if s < start {
                kept.push((s, e.min(start)));
            }
            if e > end {
                kept.push((s.max(end), e));
            }
        }
        self.past_eof = kept;
    }

    /// `[start, end)` no longer maps the files it mapped.
    pub(crate) fn forget_mapped_files(&mut self, start: u64, end: u64) {
        if self.mapped_files.iter().all(|&(s, e, _)| e <= start || s >= end) {
            return;
        }
        let mut kept = Vec::new();
        for (s, e, path) in core::mem::take(&mut self.mapped_files) {
            if e <= start || s >= end {
                kept.push((s, e, path));
                continue;
            }
            if s < start {
                kept.push((s, start, path.clone()));
            }
            if e > end {
                kept.push((end, e, path));
            }
        }
        self.mapped_files = kept;
    }

    pub fn handle_fault(&mut self, h: &mut dyn Host, f: &Fault) -> Outcome {
        self.out_of_memory = false;
        if f.vector == 14 && f.error_code & pf::PRESENT == 0 && self.past_eof.iter().any(|&(s, e)| (s..e).contains(&f.addr)) && self.vmas.lookup(f.addr).is_some() {
            h.log(&format!("fault: signal {SIGBUS}: {:#x} is past the end of a mapped file (rip {:#x})", f.addr, f.rip));
            return Outcome::Exit(Exit::Signal(SIGBUS));
        }
        if f.vector == 14 && f.error_code & pf::PRESENT == 0 && self.fault_in(h, f.addr, access_of(f.error_code)) {
            return Outcome::KeepRegs;
        }
        // A write to a copy-on-write page the kernel could not copy (the
        // job's memory or the node's is exhausted) is out of memory too.
        if self.out_of_memory || (f.vector == 14 && f.error_code & pf::NO_MEMORY != 0) {
            // As Linux's OOM killer: the process that cannot get a page dies
            // of SIGKILL; the node goes on.
            h.log(&format!("out of memory at {:#x}: killed by signal 9", f.addr));
            h.oom_kill();
            return Outcome::Exit(Exit::Signal(9));
        }
        let sig = match f.vector {
            0 => SIGFPE,
            1 | 3 => SIGTRAP,
            6 => SIGILL,
            16 | 19 => SIGFPE,
            17 => SIGBUS,
            _ => SIGSEGV,
        };
        h.log(&format!(
            "fault: signal {sig}: vector {} error {:#x} addr {:#x} rip {:#x} rsp {:#x}",
            f.vector, f.error_code, f.addr, f.rip, f.rsp
        ));
        Outcome::Exit(Exit::Signal(sig))
    }

    /// Map the page holding `addr` (and its neighbours: fault-around) if a
    /// VMA allows `need` (1 read, 2 write, 4 execute) there.
    fn fault_in(&mut self, h: &mut dyn Host, addr: u64, need: u64) -> bool {
        let Some(v) = self.vmas.lookup(addr) else { return false };
        // Past a mapped file's end there is nothing to map (SIGBUS, EFAULT).
        if self.past_eof.iter().any(|&(s, e)| (s..e).contains(&addr)) {
            return false;
        }
        let allowed = match need {
            1 => v.prot != 0,
            n => v.prot & n == n,
        };
        if !allowed {
            return false;
        }
        let page = page_down(addr);
        // Fault-around: anonymous memory is mapped FAULT_AROUND pages at a
        // time, ahead in the direction it grows (one fault per 64 KiB
        // instead of per page: each fault is a message to this server).
        // Only where all of it is unmapped and inside the VMA, never over
        // the SIGBUS pages past a mapped file's end; else the one page.
        let window = FAULT_AROUND * PAGE;
        let (lo, hi) = match v.kind {
            VmaKind::Brk | VmaKind::Anon => (page, (page + window).min(v.end)),
            VmaKind::Stack => ((page + PAGE).saturating_sub(window).max(v.start), page + PAGE),
            _ => (page, page + PAGE),
        };
        if hi - lo > PAGE && !self.past_eof.iter().any(|&(s, e)| s < hi && lo < e) && h.mem_map(lo, hi - lo, v.prot).is_ok() {
            return true;
        }
        match h.mem_map(page, PAGE, v.prot) {
            Ok(()) => true,
            // Another thread's fault mapped it meanwhile (with the VMA's
            // rights): the access simply goes on.
            Err(MapError::Exists) => true,
            Err(MapError::NoMemory) => {
                self.out_of_memory = true;
                false
            }
            Err(_) => false,
        }
    }

    // ----- user memory -----

    fn limit(&self, abi: Abi) -> u64 {
        match (self.abi, abi) {
            (Abi::X86_64, Abi::X86_64) => sion_abi::USER_END,
            _ => LIMIT_32,
        }
    }

    /// Copy from user memory, faulting pages in; the count copied.
    pub(crate) fn read_partial(&mut self, h: &mut dyn Host, addr: u64, buf: &mut [u8]) -> usize {
        let mut done = 0;
        let mut faulted = None;
        while done < buf.len() {
            done += h.mem_read(addr + done as u64, &mut buf[done..]);
            let at = addr + done as u64;
            // A page faulted in that still cannot be read ends the copy.
            if done == buf.len() || faulted == Some(at) || !self.fault_in(h, at, 1) {
                break;
            }
            faulted = Some(at);
        }
        done
    }

    pub(crate) fn write_partial(&mut self, h: &mut dyn Host, addr: u64, data: &[u8]) -> usize {
        let mut done = 0;
        let mut faulted = None;
        while done < data.len() {
            done += h.mem_write(addr + done as u64, &data[done..]);
            let at = addr + done as u64;
            if done == data.len() || faulted == Some(at) || !self.fault_in(h, at, 2) {
                break;
            }
            faulted = Some(at);
        }
        done
    }

    fn check_range(&self, abi: Abi, addr: u64, len: u64) -> Result<(), Errno> {
        match addr.checked_add(len) {
            Some(end) if end <= self.limit(abi) => Ok(()),
            _ => Err(Errno::EFAULT),
        }
    }

    /// Read exactly `len` bytes of user memory or fail with EFAULT.
    pub fn read_user(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
        self.check_range(abi, addr, len as u64)?;
        let mut v = alloc::vec![0u8; len];
        if self.read_partial(h, addr, &mut v) != len {
            return Err(Errno::EFAULT);
        }
        Ok(v)
    }

    /// Compare-and-exchange the aligned word at `addr`, atomically against
    /// the process's threads on other CPUs (a futex word): the word it
    /// held. The page is faulted in writable first if it must be; EFAULT
    /// if it cannot be written.
    pub fn cmpxchg_user(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, expected: u32, new: u32) -> Result<u32, Errno> {
        self.check_range(abi, addr, 4)?;
        if addr % 4 != 0 {
            return Err(Errno::EINVAL);
        }
        if let Some(old) = h.mem_cmpxchg32(addr, expected, new) {
            return Ok(old);
        }
        if !self.fault_in(h, addr, 2) {
            return Err(Errno::EFAULT);
        }
        h.mem_cmpxchg32(addr, expected, new).ok_or(Errno::EFAULT)
    }

    /// Write all of `data` to user memory or fail with EFAULT.
    pub fn write_user(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.check_range(abi, addr, data.len() as u64)?;
        if self.write_partial(h, addr, data) != data.len() {
            return Err(Errno::EFAULT);
        }
        Ok(())
    }

    /// A NUL-terminated string of at most PATH_MAX bytes with its NUL.
    pub(crate) fn read_path(&mut self, h: &mut dyn Host, abi: Abi, addr: u64) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut at = addr;
        loop {
            let chunk = (PAGE - at % PAGE) as usize;
            self.check_range(abi, at, chunk as u64)?;
            let mut buf = alloc::vec![0u8; chunk];
            let n = self.read_partial(h, at, &mut buf);
            if let Some(z) = buf[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..z]);
                if out.len() >= PATH_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
                return Ok(out);
            }
            if n < chunk {
                return Err(Errno::EFAULT);
            }
            out.extend_from_slice(&buf);
            if out.len() >= PATH_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            at += chunk as u64;
        }
    }

    // ----- system calls -----

    /// Handle one system call.
    /// What every call served here starts with (the process table has
    /// recorded it already): sockets closed elsewhere are closed in the
    /// netstack, and the file tree's clock is set.
    pub(crate) fn before_call(&mut self, h: &mut dyn Host) {
        if !self.job.sockets_closed.is_empty() {
            self.sync_sockets(h);
        }
        self.job.vfs.now = h.realtime_ns();
    }

    /// A call the tables do not have: ENOSYS, logged the first time by name.
    pub(crate) fn unimplemented(&mut self, h: &mut dyn Host, call: &LinuxSyscall) -> Outcome {
        let abi = Abi::from_wire(call.abi());
        self.last_call = *call;
        let name = name_of(abi, call.nr).unwrap_or("unknown");
        let count = self.job.unimplemented.entry(name).or_insert(0);
        *count += 1;
        if *count == 1 {
            let line = format!("unimplemented syscall {name} (nr {}, {:?}): ENOSYS", call.nr, abi);
            let now = h.now_ns();
            self.job.klog_line(now, &line);
            h.log(&line);
        }
        Outcome::Reply(Errno::ENOSYS.as_ret())
    }

    /// Lines summing up the unimplemented calls, for the end of the job.
    pub fn report_unimplemented(&self, h: &mut dyn Host) {
        for (name, n) in &self.job.unimplemented {
            h.log(&format!("unimplemented syscall {name}: called {n} time(s)"));
        }
    }

    /// The call being served (or last served).
    pub fn last_call(&self) -> LinuxSyscall {
        self.last_call
    }

    /// The shared anonymous mapping holding `addr`: (its name, the offset in it).
    pub fn shm_key(&self, addr: u64) -> Option<(u64, u64)> {
        self.shm.iter().find(|&&(s, e, _, _)| (s..e).contains(&addr)).map(|&(s, _, name, base)| (name, base + (addr - s)))
    }

    /// Where this process maps offset `off` of shared mapping `name`.
    pub fn shm_addr(&self, name: u64, off: u64) -> Option<u64> {
        self.shm.iter().find(|&&(s, e, n, base)| n == name && off >= base && s + (off - base) < e).map(|&(s, _, _, base)| s + (off - base))
    }

    /// Record the call being served (for calls the process table serves).
    pub fn set_last_call(&mut self, call: &LinuxSyscall) {
        self.last_call = *call;
    }

    /// Block the current call; it runs again when something in the job changed.
    pub(crate) fn block_retry(&mut self) -> SysResult {
        self.pending = Some(Pending::Retry { call: self.last_call });
        Err(BLOCK)
    }

    /// A memory barrier in every thread of this process running on another
    /// CPU (membarrier): the kernel shoots the space's TLB down on each CPU
    /// that has it loaded and waits for each (an interrupt serializes an x86
    /// CPU), asked with a protection change of a page no mapping covers.
    pub(crate) fn barrier(&mut self, h: &mut dyn Host) {
        if let Some(page) = self.vmas.find_free_top_down(PAGE, 0x10000, self.mmap_top) {
            h.mem_protect(page, PAGE, 0);
        }
    }

    pub(crate) fn sleep_until(&mut self, h: &mut dyn Host, deadline: u64) -> Outcome {
        if deadline <= h.now_ns() {
            return Outcome::Reply(0);
        }
        self.pending = Some(Pending::Sleep { deadline });
        Outcome::Blocked
    }

    pub(crate) fn read_timespec(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, bits: TimeBits) -> Result<u64, Errno> {
        let b = self.read_user(h, abi, addr, bits.size())?;
        Timespec::decode(bits, &b).to_ns().ok_or(Errno::EINVAL)
    }

    /// What `clock` reads for this process (offset in a time namespace).
    pub(crate) fn clock_now(&mut self, h: &mut dyn Host, clock: i32) -> Result<u64, Errno> {
        let ns = self.node_clock_now(h, clock)?;
        Ok(crate::ns::to_ns_view(ns, self.clock_offset(clock)))
    }

    fn node_clock_now(&mut self, h: &mut dyn Host, clock: i32) -> Result<u64, Errno> {
        Ok(match clock {
            0 | 8 | 11 => h.realtime_ns(),
            5 => h.realtime_ns() / COARSE_NS * COARSE_NS,
            1 | 4 | 7 | 9 => h.now_ns(),
            6 => h.now_ns() / COARSE_NS * COARSE_NS,
            2 | 3 => h.cpu_ns(),
            _ => return Err(Errno::EINVAL),
        })
    }

    fn sys_write(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, iov: Vec<(u64, u64)>) -> SysResult {
        let tag = match stdio(fd) {
            Some(1) => up::STDOUT,
            Some(2) => up::STDERR,
            _ => return Err(Errno::EBADF),
        };
        let mut written: u64 = 0;
        let mut buf = alloc::vec![0u8; sion_abi::console::MAX_PAYLOAD];
        for (base, len) in iov {
            let len = len.min(MAX_RW - written);
            let mut done = 0u64;
            while done < len {
                let n = (len - done).min(buf.len() as u64) as usize;
                let got = if self.check_range(abi, base + done, n as u64).is_ok() { self.read_partial(h, base + done, &mut buf[..n]) } else { 0 };
                if got > 0 {
                    h.console_write(tag, &buf[..got]);
                }
                done += got as u64;
                written += got as u64;
                if got < n {
                    return if written > 0 { Ok(written) } else { Err(Errno::EFAULT) };
                }
            }
        }
        Ok(written)
    }

    fn sys_read(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, iov: Vec<(u64, u64)>) -> SysResult {
        if stdio(fd) != Some(0) {
            return Err(Errno::EBADF);
        }
        let mut total = 0u64;
        for &(base, len) in &iov {
            self.check_range(abi, base, len)?;
            total += len;
        }
        if total == 0 {
            return Ok(0);
        }
        match self.try_read_stdin(h, &iov) {
            Some(r) => r,
            None => {
                self.pending = Some(Pending::Read { iov });
                // The caller turns an Err(EAGAIN) marker into Blocked.
                Err(BLOCK)
            }
        }
    }

    /// Serve a read from the stdin buffer: `None` while there is nothing yet.
    fn try_read_stdin(&mut self, h: &mut dyn Host, iov: &[(u64, u64)]) -> Option<SysResult> {
        if self.job.stdin.is_empty() {
            return if self.job.stdin_eof { Some(Ok(0)) } else { None };
        }
        let mut copied = 0u64;
        for &(base, len) in iov {
            let len = len.min(MAX_RW - copied);
            let n = (len as usize).min(self.job.stdin.len());
            if n == 0 {
                continue;
            }
            let (a, b) = self.job.stdin.as_slices();
            let chunk: Vec<u8> = if a.len() >= n { a[..n].to_vec() } else { [a, &b[..n - a.len()]].concat() };
            let w = self.write_partial(h, base, &chunk);
            self.job.stdin.drain(..w);
            copied += w as u64;
            if w < n {
                return Some(if copied > 0 { Ok(copied) } else { Err(Errno::EFAULT) });
            }
            if self.job.stdin.is_empty() {
                break;
            }
        }
        Some(Ok(copied))
    }

    fn stat_info(&self, fd: u64) -> StatInfo {
        let t = Timespec::from_ns(self.start_realtime);
        StatInfo {
            dev: 0xc,
            ino: 1000 + fd,
            mode: S_IFIFO | 0o600,
            nlink: 1,
            uid: self.uid,
            gid: self.gid,
            blksize: 4096,
            atime: t,
            mtime: t,
            ctime: t,
            ..Default::default()
        }
    }

    pub(crate) fn set_rlimit(&mut self, res: usize, (cur, max): (u64, u64)) -> Result<(), Errno> {
        if cur > max {
            return Err(Errno::EINVAL);
        }
        let old = self.rlimits[res];
        if max > old.1 && self.uid != 0 {
            return Err(Errno::EPERM);
        }
        if res == 7 && max > self.job.tunables.nr_open {
            return Err(Errno::EPERM);
        }
        self.rlimits[res] = (cur, max);
        if res == RLIMIT_CPU {
            // Looked at with the next upkeep.
            self.cpu_limit_at = 0;
        }
        Ok(())
    }

    pub(crate) fn sys_prlimit64(&mut self, h: &mut dyn Host, abi: Abi, pid: i32, res: u32, new: u64, old: u64) -> SysResult {
        if pid != 0 && pid as u32 != self.pid {
            return Err(Errno::ESRCH);
        }
        let res = res as usize;
        if res >= 16 {
            return Err(Errno::EINVAL);
        }
        let newv = if new != 0 { Some(RlimitLayout::U64.decode(&self.read_user(h, abi, new, 16)?)) } else { None };
        let (c, m) = self.rlimits[res];
        if let Some(v) = newv {
            self.set_rlimit(res, v)?;
        }
        if old != 0 {
            self.write_user(h, abi, old, &RlimitLayout::U64.encode(c, m))?;
        }
        Ok(0)
    }

    pub(crate) fn sys_getrandom(&mut self, h: &mut dyn Host, abi: Abi, buf: u64, len: u64, flags: u32) -> SysResult {
        if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0 || flags & (GRND_RANDOM | GRND_INSECURE) == GRND_RANDOM | GRND_INSECURE {
            return Err(Errno::EINVAL);
        }
        let len = len.min(0x1ff_ffff);
        if len == 0 {
            return Ok(0);
        }
        if self.check_range(abi, buf, len).is_err() {
            return Err(Errno::EFAULT);
        }
        let mut chunk = [0u8; 256];
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(256) as usize;
            self.rng.fill_bytes(&mut chunk[..n]);
            let w = self.write_partial(h, buf + done, &chunk[..n]);
            done += w as u64;
            if w < n {
                return if done > 0 { Ok(done) } else { Err(Errno::EFAULT) };
            }
        }
        Ok(done)
    }

    /// Fill `out` from the process's CSPRNG (for the server's own needs).
    pub fn random_bytes(&mut self, out: &mut [u8]) {
        self.rng.fill_bytes(out);
    }

    pub(crate) fn sys_arch_prctl(&mut self, h: &mut dyn Host, abi: Abi, code: u32, addr: u64) -> Outcome {
        let r: SysResult = match code {
            ARCH_SET_FS | ARCH_SET_GS => {
                if addr >= sion_abi::USER_END {
                    Err(Errno::EPERM)
                } else {
                    match h.get_regs() {
                        Some(mut regs) => {
                            if code == ARCH_SET_FS {
                                regs.fs_base = addr;
                            } else {
                                regs.gs_base = addr;
                            }
                            if h.set_regs(&regs) {
                                Ok(0)
                            } else {
                                Err(Errno::EIO)
                            }
                        }
                        None => Err(Errno::EIO),
                    }
                }
            }
            ARCH_GET_FS | ARCH_GET_GS => match h.get_regs() {
                Some(regs) => {
                    let v = if code == ARCH_GET_FS { regs.fs_base } else { regs.gs_base };
                    self.write_user(h, abi, addr, &v.to_le_bytes()).map(|_| 0)
                }
                None => Err(Errno::EIO),
            },
            _ => Err(Errno::EINVAL),
        };
        r.into()
    }

    pub(crate) fn sys_set_thread_area(&mut self, h: &mut dyn Host, abi: Abi, uinfo: u64) -> SysResult {
        let mut regs = h.get_regs().ok_or(Errno::EIO)?;
        self.install_tls(h, abi, uinfo, &mut regs, true)?;
        if !h.set_regs(&regs) {
            return Err(Errno::EIO);
        }
        Ok(0)
    }

    /// Put the `user_desc` at `uinfo` into `regs`' TLS descriptors
    /// (set_thread_area, and clone's CLONE_SETTLS for i386). Only
    /// set_thread_area may pick a free entry (entry_number -1).
    pub(crate) fn install_tls(&mut self, h: &mut dyn Host, abi: Abi, uinfo: u64, regs: &mut TaskRegs, can_allocate: bool) -> Result<(), Errno> {
        let raw = self.read_user(h, abi, uinfo, UserDesc::SIZE)?;
        let d = UserDesc::decode(&raw);
        let empty = d.is_empty();
        if !empty && (!d.seg_32bit || d.contents > 1) {
            return Err(Errno::EINVAL);
        }
        let first = regs::TLS_FIRST_GDT_INDEX as u32;
        let mut idx = d.entry_number;
        if idx == u32::MAX && can_allocate {
            let free = regs.tls.iter().position(|&t| t == 0).ok_or(Errno::ESRCH)?;
            idx = first + free as u32;
            self.write_user(h, abi, uinfo, &idx.to_le_bytes())?;
        }
        if idx < first || idx >= first + regs::TLS_SLOTS as u32 {
            return Err(Errno::EINVAL);
        }
        regs.tls[(idx - first) as usize] = if empty {
            0
        } else {
            regs::tls_descriptor(d.base_addr, d.limit, d.seg_32bit, d.contents, d.read_exec_only, d.limit_in_pages, d.seg_not_present)
        };
        Ok(())
    }

    pub(crate) fn sys_brk(&mut self, h: &mut dyn Host, want: u64) -> u64 {
        if want < self.brk_start || want >= self.mmap_top {
            return self.brk;
        }
        let Some(new_end) = page_up(want) else { return self.brk };
        let old_end = page_up(self.brk).unwrap_or(self.brk);
        if new_end > old_end {
            if new_end - old_end > self.memory || !self.vmas.is_free(old_end, new_end) {
                return self.brk;
            }
            // Linux's do_brk_flags: the heap's last mapping grows when it is
            // a read-write heap mapping ending there, else a new one starts
            // at the old end (PR_SET_MM may have moved the heap).
            let last = if old_end > self.brk_start { self.vmas.lookup(old_end - 1) } else { None };
            let ok = match last {
                Some(v) if v.kind == VmaKind::Brk && v.end == old_end && v.prot == 3 && v.flags == 0 => self.vmas.resize(v.start, new_end),
                _ => self.vmas.insert(old_end, new_end, 3, VmaKind::Brk),
            };
            if !ok {
                return self.brk;
            }
        } else if new_end < old_end {
            self.vmas.remove_range(new_end, old_end);
            h.mem_unmap(new_end, old_end - new_end);
        }
        self.brk = want;
        want
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_mmap(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, len: u64, prot: u64, flags: u32, fd: i32, offset: u64) -> SysResult {
        // Linux's order: the descriptor (EBADF), then the length and type.
        let file = if flags & MAP_ANONYMOUS == 0 { Some(self.file(fd as u32 as u64)?) } else { None };
        if len == 0 || flags & MAP_TYPE == 0 {
            return Err(Errno::EINVAL);
        }
        let no_write = flags & MAP_TYPE != MAP_PRIVATE && file.as_ref().is_some_and(|f| f.borrow().flags & files::O_ACCMODE != files::O_RDWR);
        let file = if let Some(f) = file {
            let (obj, fflags) = (f.borrow().obj, f.borrow().flags);
            if fflags & files::O_PATH != 0 {
                return Err(Errno::EBADF);
            }
            // MAP_SHARED_VALIDATE refuses flags Linux does not know, and
            // MAP_SYNC (no DAX file here).
            if flags & MAP_TYPE == MAP_SHARED_VALIDATE && flags & !MAP_VALIDATE_KNOWN != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            if fflags & files::O_ACCMODE == files::O_WRONLY {
                return Err(Errno::EACCES);
            }
            let Obj::Node(ino) = obj else { return Err(Errno::ENODEV) };
            if flags & MAP_TYPE != MAP_PRIVATE && prot & 2 != 0 && fflags & files::O_ACCMODE != files::O_RDWR {
                return Err(Errno::EACCES);
            }
            if matches!(self.job.vfs.node(ino).data, sion_vfs::Data::Chr(files::RDEV_ZERO)) {
                // /dev/zero maps anonymous memory, shared or private
                // (Linux's mmap_zero: shmem_zero_setup for MAP_SHARED).
                None
            } else if !self.job.vfs.node(ino).is_reg() {
                return Err(Errno::ENODEV);
            } else {
                Some(ino)
            }
        } else {
            None
        };
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let prot = prot & 7;
        let limit = self.limit(abi);
        let accounted = prot & 2 != 0 && flags & MAP_TYPE == MAP_PRIVATE && flags & MAP_NORESERVE == 0;
        if len > limit || (accounted && len > self.memory) {
            return Err(Errno::ENOMEM);
        }
        let start = if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 {
            if addr % PAGE != 0 {
                return Err(Errno::EINVAL);
            }
            let end = addr.checked_add(len).filter(|e| *e <= limit).ok_or(Errno::ENOMEM)?;
            // Below vm.mmap_min_addr only with CAP_SYS_RAWIO (root), as
            // Linux (qemu-user, DOS emulators and wine map page 0).
            if addr < MMAP_MIN && self.uid != 0 {
                return Err(Errno::EPERM);
            }
            if !self.vmas.is_free(addr, end) {
                if flags & MAP_FIXED_NOREPLACE != 0 {
                    return Err(Errno::EEXIST);
                }
                if !self.shared.is_empty() {
                    // Shared file mappings it replaces reach their files first.
                    self.shared_unmap(h, addr, end);
                }
                self.sysv_unmapped(h, addr, end);
                self.vmas.remove_range(addr, end);
                h.mem_unmap(addr, len);
            }
            addr
        } else {
            let hint = page_down(addr);
            let (floor, ceiling) = if abi == Abi::X86_64 && flags & MAP_32BIT != 0 {
                (0x4000_0000, 0x8000_0000)
            } else {
                (MMAP_MIN, self.mmap_top.min(limit))
            };
            if hint >= MMAP_MIN && hint.checked_add(len).is_some_and(|e| e <= limit && self.vmas.is_free(hint, e)) {
                hint
            } else {
                self.vmas.find_free_top_down(len, floor, ceiling).ok_or(Errno::ENOMEM)?
            }
        };
        self.shm.retain(|&(s, e, _, _)| e <= start || s >= start + len);
        self.forget_past_eof(start, start + len);
        if !self.vmas.insert(start, start + len, prot, VmaKind::Anon) {
            return Err(Errno::ENOMEM);
        }
        let vflags = if flags & MAP_TYPE != MAP_PRIVATE {
            crate::vma::flag::SHARED
        } else if file.is_some() {
            crate::vma::flag::FILE
        } else {
            0
        } | if flags & MAP_LOCKED != 0 { crate::vma::flag::LOCKED } else { 0 }
            | if no_write { crate::vma::flag::NOWRITE } else { 0 };
        self.vmas.set_flags(start, start + len, vflags, 0);
        if file.is_none() && flags & MAP_TYPE != MAP_PRIVATE {
            // Shared anonymous memory is backed now, as shared pages: a fork
            // then shares the frames instead of copying them.
            if h.mem_map(start, len, prot | sion_abi::call::prot::SHARED).is_err() {
                self.vmas.remove_range(start, start + len);
                return Err(Errno::ENOMEM);
            }
            let name = self.job.next_shm;
            self.job.next_shm += 1;
            self.shm.push((start, start + len, name, 0));
        }
        if let Some(ino) = file {
            // The file's bytes are copied in now; the rest of the last page
            // is zero, and the pages after it are SIGBUS. A shared mapping's
            // pages are shared frames: a fork shares them with the child
            // (writable in both, not copied on write), and futexes in them
            // are shared ones.
            let bytes = self.job.vfs.read_range(ino, offset, len as usize);
            self.mapped_files.push((start, start + len, self.job.vfs.path_of(ino).unwrap_or_default()));
            let eof = page_up(bytes.len() as u64).unwrap_or(len);
            if eof < len {
                self.past_eof.push((start + eof, start + len));
            }
            let shared = if flags & MAP_TYPE != MAP_PRIVATE { sion_abi::call::prot::SHARED } else { 0 };
            let span = page_up(bytes.len() as u64).unwrap_or(len);
            // Another process's mapping of the same pages: the same frames.
            let aliased = shared != 0 && !bytes.is_empty() && prot != 0 && self.share_file_pages(h, ino, offset, span, start, prot);
            if !aliased && !bytes.is_empty() && prot != 0 {
                if h.mem_map(start, span, prot | 2 | shared).is_err() {
                    self.vmas.remove_range(start, start + len);
                    h.mem_unmap(start, span);
                    return Err(Errno::ENOMEM);
                }
                if h.mem_write(start, &bytes) != bytes.len() {
                    self.vmas.remove_range(start, start + len);
                    h.mem_unmap(start, span);
                    return Err(Errno::ENOMEM);
                }
                if prot & 2 == 0 {
                    h.mem_protect(start, span, prot);
                }
            }
            if flags & MAP_TYPE != MAP_PRIVATE {
                let _ = MAP_SHARED;
                self.job.vfs.open_ref(ino);
                self.shared.push((start, start + len, ino, offset));
                if !bytes.is_empty() && prot != 0 {
                    self.job.file_maps.push(FileMap { ino, offset, len: span, space: h.space(), start });
                }
                let name = match self.job.file_shm.get(&ino) {
                    Some(&n) => n,
                    None => {
                        let n = self.job.next_shm;
                        self.job.next_shm += 1;
                        self.job.file_shm.insert(ino, n);
                        n
                    }
                };
                self.shm.push((start, start + len, name, offset));
            }
        }
        Ok(start)
    }

    /// Map at `start` the frames of a live MAP_SHARED mapping of file `ino`
    /// in another process that covers `[offset, offset + len)`; false if
    /// there is none (or the kernel refused every one: they are forgotten).
    fn share_file_pages(&mut self, h: &mut dyn Host, ino: sion_vfs::Ino, offset: u64, len: u64, start: u64, prot: u64) -> bool {
        let me = h.space();
        let candidates: Vec<FileMap> = self
            .job
            .file_maps
            .iter()
            .filter(|m| m.ino == ino && (m.space != me || m.start + m.len <= start || m.start >= start + len) && m.offset <= offset && offset + len <= m.offset + m.len && (offset - m.offset) % PAGE == 0)
            .copied()
            .collect();
        for m in candidates {
            if h.mem_share_from(m.space, m.start + (offset - m.offset), start, len, prot | sion_abi::call::prot::SHARED) {
                return true;
            }
            self.job.file_maps.retain(|x| *x != m);
        }
        false
    }

    /// Write the pages of MAP_SHARED file mappings in `[start, end)` back to
    /// their files (never past a file's end, as Linux).
    pub fn shared_sync(&mut self, h: &mut dyn Host, start: u64, end: u64) {
        let maps = self.shared.clone();
        for (s, e, ino, off) in maps {
            let (a, b) = (s.max(start), e.min(end));
            if a >= b || self.job.vfs.get(ino).is_none() {
                continue;
            }
            let size = self.job.vfs.node(ino).size();
            let fo = off + (a - s);
            if fo >= size {
                continue;
            }
            let n = (b - a).min(size - fo) as usize;
            let mut buf = alloc::vec![0u8; n];
            let got = h.mem_read(a, &mut buf);
            if got > 0 {
                let _ = self.job.vfs.write_at(ino, fo, &buf[..got]);
            }
        }
    }

    /// Forget shared mappings wholly inside `[start, end)` after syncing them.
    fn shared_unmap(&mut self, h: &mut dyn Host, start: u64, end: u64) {
        self.shared_sync(h, start, end);
        let mut keep = Vec::new();
        for m in core::mem::take(&mut self.shared) {
            if m.0 >= start && m.1 <= end {
                self.job.vfs.close_ref(m.2);
            } else {
                keep.push(m);
            }
        }
        self.shared = keep;
        let me = h.space();
        self.job.file_maps.retain(|m| m.space != me || m.start + m.len <= start || m.start >= end);
    }

    /// File `ino` was cut to `len`: the pages of this process's shared
    /// mappings of it past its new end go, and touching them is SIGBUS
    /// (a futex there EFAULT), as on Linux. (Other processes' mappings
    /// keep their frames.)
    pub(crate) fn file_shrunk(&mut self, h: &mut dyn Host, ino: sion_vfs::Ino, len: u64) {
        let Some(end) = page_up(len) else { return };
        let cut: Vec<(u64, u64)> = self.shared.iter().filter(|m| m.2 == ino && m.3 + (m.1 - m.0) > end).map(|&(s, e, _, off)| (s + end.saturating_sub(off), e)).filter(|(a, e)| a < e).collect();
        for (a, e) in cut {
            if !self.past_eof.iter().any(|&(s, t)| s <= a && e <= t) {
                self.past_eof.push((a, e));
            }
            h.mem_unmap(a, e - a);
        }
    }

    /// Before the process ends: shared mappings reach their files.
    pub fn at_exit(&mut self, h: &mut dyn Host) {
        self.shared_sync(h, 0, u64::MAX);
    }

    pub(crate) fn sys_munmap(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, len: u64) -> SysResult {
        if addr % PAGE != 0 || len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).filter(|e| *e <= self.limit(abi)).ok_or(Errno::EINVAL)?;
        if !self.shared.is_empty() {
            self.shared_unmap(h, addr, end);
        }
        self.shm.retain(|&(s, e, _, _)| e <= addr || s >= end);
        self.sysv_unmapped(h, addr, end);
        self.forget_past_eof(addr, end);
        if !self.vmas.remove_range(addr, end).is_empty() {
            h.mem_unmap(addr, len);
        }
        Ok(0)
    }

    pub(crate) fn sys_mprotect(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, len: u64, prot: u64) -> SysResult {
        if addr % PAGE != 0 || prot & !(7 | PROT_GROWS) != 0 || prot & PROT_GROWS == PROT_GROWS {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(0);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let end = addr.checked_add(len).filter(|e| *e <= self.limit(abi)).ok_or(Errno::ENOMEM)?;
        if prot & 2 != 0 && self.vmas.iter().any(|v| v.start < end && addr < v.end && v.flags & crate::vma::flag::NOWRITE != 0) {
            return Err(Errno::EACCES);
        }
        if !self.vmas.protect_range(addr, end, prot & 7) {
            return Err(Errno::ENOMEM);
        }
        h.mem_protect(addr, len, prot & 7);
        Ok(0)
    }
}

/// A marker errno (never a real reply): the call blocked.
pub(crate) const BLOCK: Errno = Errno(-1);
/// How often a blocked socket call looks again without a netstack notification.
const NET_RECHECK_NS: u64 = 50_000_000;

impl From<Errno> for Outcome {
    fn from(e: Errno) -> Outcome {
        if e == BLOCK {
            Outcome::Blocked
        } else {
            Outcome::Reply(e.as_ret())
        }
    }
}

/// Resolution of the coarse clocks (a 250 Hz tick, as Debian's kernels).
pub(crate) const COARSE_NS: u64 = 4_000_000;

pub(crate) fn clock_res(clock: i32) -> Result<u64, Errno> {
    match clock {
        0 | 1 | 2 | 3 | 4 | 7 | 8 | 9 | 11 => Ok(1),
        5 | 6 => Ok(COARSE_NS),
        _ => Err(Errno::EINVAL),
    }
}

fn access_of(error_code: u64) -> u64 {
    if error_code & pf::WRITE != 0 {
        2
    } else if error_code & pf::INSTRUCTION != 0 {
        4
    } else {
        1
    }
}

fn stdio(fd: u64) -> Option<u64> {
    let fd = fd as u32 as i32;
    (0..=2).contains(&fd).then_some(fd as u64)
}

/// Runs of consecutive pages with the same key.
fn runs(pages: impl Iterator<Item = u64>, key: impl Fn(u64) -> u64) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for p in pages {
        match out.last_mut() {
            Some((s, e)) if *e == p && key(*s) == key(p) => *e = p + PAGE,
            _ => out.push((p, p + PAGE)),
        }
    }
    out
}
