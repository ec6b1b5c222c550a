//! The job's processes: the process table (running processes and zombies,
//! parents, process groups, sessions) and the calls that involve more than
//! one process: fork/vfork/clone, execve, exit and wait, kill, and the
//! signal actions and masks that decide what a signal does.
//!
//! Everything else a process asks goes to its [`Process`], with the job's
//! shared state ([`JobState`]: files, pipes, sockets, stdin) lent to it for
//! the call. A call that must wait for another process (a pipe, a child)
//! is a deferred reply: [`Procs::poll`] runs it again after a change.

use crate::binfmt;
use crate::errno::Errno;
use crate::host::Host;
use crate::layout::Abi;
use crate::linux::*;
use crate::process::{JobState, Outcome, Pending, Process, FIRST_PID};
use crate::signal::{self, bit, Disposition, FrameKind, SigAction, SigInfo, NSIG, SIGCHLD, SIGKILL, SS_DISABLE, UNBLOCKABLE};
use crate::syscalls::lookup;
use alloc::boxed::Box;
use sion_vecmap::VecMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use sion_abi::console::Exit;
use sion_abi::msg::LinuxSyscall;

mod attrs;
mod pidfd;
mod vm;
mod prio;
mod stop;
mod threads;

/// Largest argv + envp of an execve (Linux: a quarter of an 8 MiB stack).
const ARG_MAX: usize = 2 << 20;



pub struct Member {
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    pub life: Life,
    /// Stopped by a stop signal (its tasks are held off the CPU).
    pub stopped: bool,
    /// A stop or continue its parent's wait has not seen yet (WUNTRACED, WCONTINUED).
    pub report: Option<stop::Report>,
}

pub enum Life {
    /// `task` is the task of the thread being served (`proc.tid`); the
    /// other threads' tasks are in their [`Thread`]s.
    Running { proc: Box<Process>, space: u64, task: u64 },
    /// Ended, waiting for its parent's wait; `core`: it dumped core;
    /// `comm` its name, for its /proc/<pid> (kept until it is reaped);
    /// `times` its user and system time, its waited-for children's included (ns).
    Zombie { exit: Exit, core: bool, comm: String, times: (u64, u64) },
}

/// A reply for the server to send to a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    pub task: u64,
    pub outcome: Outcome,
    /// The call answered (for tracing).
    pub call: (Abi, u64),
}

/// A request for the workstation's files (`sion_abi::console::fs::Request`):
/// a directory's entries or a file's bytes, with what its listing said of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsRequest {
    pub id: u32,
    pub dir: bool,
    pub size: u64,
    pub mtime_ns: u64,
    pub path: Vec<u8>,
}

pub struct Procs {
    members: VecMap<u32, Member>,
    /// Task -> (pid, tid).
    by_task: VecMap<u64, (u32, u32)>,
    /// The job's shared state while no process is being served.
    job: Box<JobState>,
    next_pid: u32,
    /// Replies to send, in order.
    pub answers: Vec<Answer>,
    /// The first process ended: the job's exit status.
    pub ended: Option<Exit>,
    /// reboot(2) was called: the signal the job then ends by, as a child
    /// PID namespace's init (SIGHUP to restart, SIGINT to halt).
    rebooted: Option<u8>,
    /// The first process after its end (its file tree is the job's output).
    last: Option<Box<Process>>,
    last_has_job: bool,
    /// vfork parents waiting for their child's exec or exit: child -> (parent, its thread).
    vforks: VecMap<u32, (u32, u32)>,
    /// Something changed since blocked calls last ran.
    changed: bool,
    /// The last call was quiet (`Entry::quiet`): see `take_quick_answer`.
    quiet: bool,
    /// `poll`'s list of waiting threads, kept to be reused (no allocation per round).
    waiters: Vec<(u32, u32)>,
    /// Unsupported requests already logged.
    logged: Vec<&'static str>,
    /// Processes (or one thread of theirs) sent a signal their handler
    /// should see now: if blocked in a call, the call is interrupted.
    interrupt: Vec<(u32, Option<u32>)>,
    /// Orders futex waiters.
    futex_seq: u64,
    /// The workstation's files on demand: requests for the server to send ...
    pub fs_out: Vec<FsRequest>,
    /// ... and those in flight: id -> (the inode, a directory?, bytes so far).
    fs_wait: VecMap<u32, (sion_vfs::Ino, bool, Vec<u8>)>,
    fs_next: u32,
}

impl Procs {
    /// The table of a job whose first process runs as `task` in `space`.
    pub fn new(mut first: Process, space: u64, task: u64) -> Procs {
        let job = core::mem::take(&mut first.job);
        let mut members = VecMap::new();
        // The first process's parent is the job itself (pid 1, never seen);
        // it is not a group leader, as a program started by a shell script.
        members.insert(first.pid, Member { ppid: 1, pgid: 1, sid: 1, life: Life::Running { proc: Box::new(first), space, task }, stopped: false, report: None });
        let mut by_task = VecMap::new();
        by_task.insert(task, (FIRST_PID, FIRST_PID));
        Procs {
            members,
            by_task,
            job,
            next_pid: FIRST_PID + 1,
            answers: Vec::new(),
            ended: None,
            rebooted: None,
            last: None,
            last_has_job: false,
            vforks: VecMap::new(),
            changed: false,
            quiet: false,
            waiters: Vec::new(),
            logged: Vec::new(),
            interrupt: Vec::new(),
            futex_seq: 0, fs_out: Vec::new(), fs_wait: VecMap::new(), fs_next: 1,
        }
    }

    /// The job's shared state (stdin arrives here).
    pub fn job(&mut self) -> &mut JobState {
        &mut self.job
    }

    pub fn pid_of(&self, task: u64) -> Option<u32> {
        self.by_task.get(&task).map(|&(pid, _)| pid)
    }

    /// A memory barrier in every running process of the job (membarrier's
    /// global commands): see [`Process::barrier`].
    pub fn barrier_all(&mut self, h: &mut dyn Host) {
        for m in self.members.values_mut() {
            if let Life::Running { proc, space, task } = &mut m.life {
                h.select(*space, *task);
                proc.barrier(h);
            }
        }
    }

    /// Running processes.
    pub fn running(&self) -> usize {
        self.members.values().filter(|m| matches!(m.life, Life::Running { .. })).count()
    }

    /// Run `f` on a running process with the host switched to it and the
    /// job's state lent to it.
    pub fn serve<R>(&mut self, h: &mut dyn Host, pid: u32, f: impl FnOnce(&mut Process, &mut dyn Host) -> R) -> Option<R> {
        let Some(Member { life: Life::Running { proc, space, task }, ppid, pgid, sid, .. }) = self.members.get_mut(&pid) else { return None };
        h.select(*space, *task);
        proc.family = (*ppid, *pgid, *sid);
        // Paths resolve for this thread (/proc/self, /proc/thread-self).
        self.job.vfs.asker = (pid, proc.tid);
        // And in its mount namespace.
        self.job.vfs.enter_mnt_ns(proc.ns.mnt);
        core::mem::swap(&mut proc.job, &mut self.job);
        let r = f(proc, h);
        core::mem::swap(&mut proc.job, &mut self.job);
        Some(r)
    }

    /// Set /proc/sys/kernel/threads-max (host tests).
    pub fn set_threads_max(&mut self, n: u64) {
        self.job.tunables.threads_max = n;
    }

    /// The job's first process back, with the job's state, as [`Procs::new`]
    /// took it (host tests run its calls one at a time this way).
    pub fn into_first(mut self) -> Option<Process> {
        let m = self.members.remove(&FIRST_PID)?;
        let Life::Running { mut proc, .. } = m.life else { return None };
        proc.job = core::mem::take(&mut self.job);
        Some(*proc)
    }

    /// One call of process `pid`, looked up and run as [`Procs::syscall`]
    /// does, its outcome returned instead of answered (host tests).
    pub fn call(&mut self, h: &mut dyn Host, pid: u32, call: &LinuxSyscall) -> Outcome {
        self.dispatch(h, pid, call)
    }

    /// The first process once the job ended, with the job's state (for `--out`).
    pub fn finished(&mut self) -> Option<&mut Process> {
        let p = self.last.as_mut()?;
        if !self.last_has_job {
            core::mem::swap(&mut p.job, &mut self.job);
            self.last_has_job = true;
        }
        Some(p)
    }

    fn log_once(&mut self, h: &mut dyn Host, what: &'static str) {
        if !self.logged.contains(&what) {
            self.logged.push(what);
            let now = h.now_ns();
            self.job.klog_line(now, what);
            h.log(what);
        }
    }

    // ----- events -----

    /// A system call of `task`.
    pub fn syscall(&mut self, h: &mut dyn Host, task: u64, call: &LinuxSyscall) {
        let Some(pid) = self.enter(task) else { return };
        let entry = lookup(Abi::from_wire(call.abi()), call.nr);
        self.quiet = entry.is_some_and(|e| e.quiet);
        if !self.quiet {
            self.changed = true;
        }
        // The server's time on the call is the process's system time.
        let t0 = h.now_ns();
        let o = self.run_entry(h, pid, call, entry);
        let spent = h.now_ns().saturating_sub(t0);
        if let Some(p) = self.proc_mut(pid) {
            p.stime_ns += spent;
        }
        let o = self.fetch_if_needed(h, pid, call, o);
        if self.job.inotify_deliver() {
            self.changed = true;
        }
        self.send_fasync(h);
        if !self.job.proc_reads.is_empty() {
            self.generate_proc_reads(h);
        }
        self.send_lease_breaks(h);
        self.settle(h, pid, task, o, call);
    }

    /// The answer to the call just made when it was quiet and left nothing
    /// else to do (no other answer, request, interruption or end): the
    /// server sends it with its next receive and skips its upkeep, as the
    /// call changed nothing the upkeep looks at.
    pub fn take_quick_answer(&mut self) -> Option<Answer> {
        let alone = self.answers.len() == 1 && self.fs_out.is_empty() && self.interrupt.is_empty() && self.ended.is_none();
        if !(self.quiet && alone) {
            return None;
        }
        self.answers.pop()
    }

    /// A call that needs the workstation's files waits for them: the
    /// directory or file is asked for (once), and the call runs again when
    /// it is here (a deferred reply; the server goes on serving others).
    fn fetch_if_needed(&mut self, h: &mut dyn Host, pid: u32, call: &LinuxSyscall, o: Outcome) -> Outcome {
        if o != Outcome::Reply(Errno(sion_vfs::Errno::FETCH.0).as_ret()) {
            return o;
        }
        let Some(ino) = self.job.vfs.take_missing() else { return Outcome::Reply(Errno::EIO.as_ret()) };
        // A process's /proc directory, made now from that process: the call
        // goes on at once.
        if let Some(owner) = crate::process::proc_stub_of(&self.job.vfs, ino) {
            self.fill_proc(ino, owner);
            let o = self.dispatch(h, pid, call);
            return self.fetch_if_needed(h, pid, call, o);
        }
        if !self.fs_wait.values().any(|w| w.0 == ino) {
            match self.job.vfs.path_of(ino) {
                Some(path) => {
                    let id = self.fs_next;
                    self.fs_next = self.fs_next.wrapping_add(1);
                    let node = self.job.vfs.node(ino);
                    let dir = node.is_dir();
                    // What the listing said of it: a node's cache checks its copy against it.
                    let (size, mtime_ns) = node.origin.unwrap_or((0, 0));
                    self.fs_out.push(FsRequest { id, dir, size, mtime_ns, path });
                    self.fs_wait.insert(id, (ino, dir, Vec::new()));
                }
                // Unlinked meanwhile: nothing to ask; it is ours as it is.
                None => self.job.vfs.node_mut(ino).remote = false,
            }
        }
        self.block(pid, call)
    }

    /// Fill /proc/<owner> (directory `dir`) from process `owner`; empty for
    /// a process that is gone.
    fn fill_proc(&mut self, dir: sion_vfs::Ino, owner: u32) {
        let Some(Member { life: Life::Running { proc, .. }, .. }) = self.members.get_mut(&owner) else {
            self.job.vfs.node_mut(dir).remote = false;
            return;
        };
        let cwd = self.job.vfs.path_of(proc.files.cwd).unwrap_or_else(|| b"/".to_vec());
        let tids: Vec<u32> = core::iter::once(proc.tid).chain(proc.threads.iter().map(|t| t.tid)).collect();
        proc.files.proc_fd_dir = crate::process::fill_proc_dir(&mut self.job.vfs, dir, owner, proc.exe.as_bytes(), &cwd, &tids);
        proc.files.fd_dirty = true;
        // Its ns/ links name its namespaces.
        core::mem::swap(&mut proc.job, &mut self.job);
        proc.sync_ns_links();
        core::mem::swap(&mut proc.job, &mut self.job);
    }

    /// Part of the workstation's answer to request `id`.
    pub fn fs_data(&mut self, id: u32, bytes: &[u8]) {
        if let Some(w) = self.fs_wait.get_mut(&id) {
            w.2.extend_from_slice(bytes);
        }
    }

    /// The workstation's answer to request `id` is complete (`status` 0, or
    /// the errno it met): the directory's entries or the file's bytes join
    /// the tree, and the calls waiting for them run again.
    pub fn fs_end(&mut self, h: &mut dyn Host, id: u32, status: i32) {
        let Some((ino, dir, data)) = self.fs_wait.remove(&id) else { return };
        self.changed = true;
        if self.job.vfs.get(ino).is_none() {
            return;
        }
        if dir {
            let mut entries = Vec::new();
            let mut rest = &data[..];
            while let Some((e, r)) = sion_abi::console::fs::next_entry(rest) {
                let kind = match e.kind {
                    sion_abi::console::fs::DIR => sion_vfs::RemoteKind::Dir,
                    sion_abi::console::fs::SYMLINK => sion_vfs::RemoteKind::Symlink(e.target.to_vec()),
                    _ => sion_vfs::RemoteKind::File { size: e.size },
                };
                entries.push(sion_vfs::RemoteEntry { name: e.name.to_vec(), kind, perm: e.perm & 0o7777, uid: e.uid, gid: e.gid, mtime: e.mtime_ns, size: e.size, blocks: e.blocks });
                rest = r;
            }
            if status != 0 {
                h.log(&format!("workstation: listing {}: errno {status}", String::from_utf8_lossy(&self.job.vfs.path_of(ino).unwrap_or_default())));
            }
            self.job.vfs.fill_dir(ino, entries);
            return;
        }
        let path = self.job.vfs.path_of(ino).unwrap_or_default();
        let filled = if status == 0 { self.job.vfs.fill_file(ino, data).map_err(|e| e.0) } else { Err(status) };
        if let Err(e) = filled {
            // Gone or unreadable there, or no room here: it is not in the tree.
            h.log(&format!("workstation: reading {}: errno {e}", String::from_utf8_lossy(&path)));
            let _ = self.job.vfs.unlink(self.job.vfs.root, &path, &sion_vfs::Cred::root());
        }
    }

    /// /proc/<pid> files of other processes the last call opened: their
    /// text comes from process `pid` itself (as Linux generates them from
    /// the task they describe), before the opener can read them.
    fn generate_proc_reads(&mut self, h: &mut dyn Host) {
        for (file, owner, kind) in core::mem::take(&mut self.job.proc_reads) {
            let tid = match file.borrow().obj {
                crate::process::Obj::Node(ino) => crate::process::files::task_of_file(&self.job.vfs, ino),
                _ => None,
            };
            let text = self.serve(h, owner, |p, h| {
                p.node = h.node_info();
                p.generate_for(kind, tid)
            });
            let text = text.unwrap_or_else(|| self.zombie_text(owner, kind));
            file.borrow_mut().snapshot = Some(text);
        }
    }

    /// /proc/<pid> files of a zombie (Linux keeps its directory until it
    /// is reaped): its state Z, its ids and name; the rest is empty.
    fn zombie_text(&self, pid: u32, kind: u32) -> Vec<u8> {
        use crate::process::files::tag;
        let Some(Member { life: Life::Zombie { comm, .. }, ppid, pgid, sid, .. }) = self.members.get(&pid) else { return Vec::new() };
        match kind {
            tag::SELF_STAT => format!(
                "{pid} ({comm}) Z {ppid} {pgid} {sid} 0 -1 4227340 0 0 0 0 0 0 0 0 20 0 1 0 0 0 0 {} 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
                u64::MAX
            )
            .into_bytes(),
            tag::SELF_STATUS => format!("Name:\t{comm}\nState:\tZ (zombie)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t{ppid}\nTracerPid:\t0\nThreads:\t1\n").into_bytes(),
            tag::SELF_COMM => format!("{comm}\n").into_bytes(),
            _ => Vec::new(),
        }
    }

    /// A fault of `task`.
    pub fn fault(&mut self, h: &mut dyn Host, task: u64, f: &sion_abi::msg::Fault) {
        let Some(pid) = self.enter(task) else { return };
        if f.vector == sion_abi::msg::VECTOR_INTERRUPT {
            // Stopped by us where it computed (`task_interrupt`) for a signal:
            // its handler runs now, or it simply goes on.
            if self.deliver(h, pid, None).is_some() {
                self.answers.push(Answer { task, outcome: Outcome::KeepRegs, call: (Abi::X86_64, u64::MAX) });
            }
            return;
        }
        let Some(o) = self.serve(h, pid, |p, h| p.handle_fault(h, f)) else { return };
        match o {
            Outcome::Exit(Exit::Signal(sig)) if self.proc_ref(pid).is_some_and(|p| p.sig.action(sig).handler > signal::SIG_IGN && p.sig.mask & bit(sig) == 0) => {
                // A handler for the fault (SIGSEGV for a guard page, ...).
                let code = if sig == signal::SIGBUS {
                    signal::BUS_ADRERR
                } else if f.vector == 14 && f.error_code & sion_abi::msg::pf::PRESENT != 0 {
                    signal::SEGV_ACCERR
                } else {
                    signal::SEGV_MAPERR
                };
                let info = SigInfo { signo: sig, code, addr: Some(if f.vector == 14 { f.addr } else { f.rip }), ..Default::default() };
                self.serve(h, pid, |p, _| {
                    p.sig.record(sig, info, false);
                    p.sig.private |= bit(sig);
                });
                match self.deliver(h, pid, None) {
                    Some(true) => self.answers.push(Answer { task, outcome: Outcome::KeepRegs, call: (Abi::X86_64, u64::MAX) }),
                    _ => self.exit(h, pid, Exit::Signal(sig)),
                }
            }
            Outcome::Exit(e) => self.exit(h, pid, e),
            o => {
                // A signal that came while the fault was on its way here (the
                // thread could not be stopped then) runs its handler now.
                if self.proc_ref(pid).is_some_and(|p| p.sig.deliverable().is_some()) && self.deliver(h, pid, None).is_none() {
                    return;
                }
                self.answers.push(Answer { task, outcome: o, call: (Abi::X86_64, u64::MAX) })
            }
        }
    }

    /// The netstack reported changes.
    pub fn net_changed(&mut self) {
        self.job.net_changed();
        self.changed = true;
    }

    /// Stdin arrived or ended.
    pub fn stdin_changed(&mut self) {
        self.changed = true;
    }

    /// SIGIO to the holders of leases an open just started to break, and
    /// the signals of message queues that a send made non-empty (mq_notify).
    fn send_lease_breaks(&mut self, h: &mut dyn Host) {
        for pid in core::mem::take(&mut self.job.locks.sigio) {
            self.send(h, pid, signal::SIGIO, SigInfo { signo: signal::SIGIO, code: signal::SI_KERNEL, ..Default::default() });
        }
        for (pid, info) in core::mem::take(&mut self.job.ipc.mq.signals) {
            self.send(h, pid, info.signo, info);
        }
    }

    /// SIGIO (or F_SETSIG's signal) to the owners of O_ASYNC descriptions
    /// that became ready and of dnotify marks that heard an event: a
    /// thread (F_OWNER_TID), a process, or each process of a group.
    fn send_fasync(&mut self, h: &mut dyn Host) {
        self.job.fasync.collect();
        for (kind, id, info) in core::mem::take(&mut self.job.fasync.out) {
            let id = id as u32;
            match kind {
                F_OWNER_TID => {
                    if let Some(pid) = self.owner_of(id) {
                        self.send_to(h, pid, Some(id), info.signo, info);
                    }
                }
                F_OWNER_PGRP => {
                    let group: Vec<u32> = self.members.iter().filter(|(_, m)| m.pgid == id).map(|(&p, _)| p).collect();
                    for pid in group {
                        self.send(h, pid, info.signo, info);
                    }
                }
                _ => self.send(h, id, info.signo, info),
            }
        }
    }

    /// Finish the deferred replies that can be finished now.
    pub fn poll(&mut self, h: &mut dyn Host) {
        self.fire_timers(h);
        self.cpu_limits(h);
        if self.job.inotify_deliver() {
            self.changed = true;
        }
        self.send_fasync(h);
        // Lease breaks that timed out: the opens waiting for them look again.
        if self.job.locks.expire_leases(h.now_ns()) {
            self.changed = true;
        }
        // semtimedop deadlines that passed: those calls look again (EAGAIN).
        if self.job.ipc.expire(h.now_ns()) {
            self.changed = true;
        }
        if !self.interrupt.is_empty() {
            self.interrupt_calls(h);
        }
        let waiting = self.members.values().any(|m| matches!(&m.life, Life::Running { proc, .. } if proc.pendings().any(|(_, p)| p.is_some())));
        if !waiting {
            self.changed = false;
            return;
        }
        // A finished call may unblock another (a pipe write, a child's exit):
        // go round until nothing moves.
        for _ in 0..256 {
            let mut progress = false;
            let retry = core::mem::take(&mut self.changed);
            let mut waiters = core::mem::take(&mut self.waiters);
            waiters.clear();
            for (&pid, m) in &self.members {
                if let Life::Running { proc, .. } = &m.life {
                    waiters.extend(proc.pendings().filter(|(_, p)| p.is_some()).map(|(tid, _)| (pid, tid)));
                }
            }
            for i in 0..waiters.len() {
                let (pid, tid) = waiters[i];
                if self.ended.is_some() {
                    return;
                }
                if !self.activate(pid, tid) {
                    continue;
                }
                let Some(task) = self.task_of(pid) else { continue };
                // Calls that run again whole: after any change in the job
                // (Retry), or each time round while they wait for the
                // netstack (Net), through the table like a new call.
                let again = match self.proc_ref(pid).and_then(|p| p.pending.as_ref()) {
                    Some(Pending::Retry { .. }) => Some(false),
                    Some(Pending::Net { .. }) => Some(true),
                    _ => None,
                };
                if let Some(net) = again {
                    if !net && !retry {
                        continue;
                    }
                    if net {
                        // The netstack's news first (Process::poll syncs the sockets).
                        self.serve(h, pid, |p, h| {
                            let _ = p.poll(h);
                        });
                    }
                    let Some(Some(Pending::Retry { call } | Pending::Net { call })) = self.proc_mut(pid).map(|p| p.pending.take()) else { continue };
                    let written = self.proc_ref(pid).map(|p| p.partial_write);
                    let o = self.dispatch(h, pid, &call);
                    let o = self.fetch_if_needed(h, pid, &call, o);
                    self.send_lease_breaks(h);
                    // A long write that put some bytes in and waits again moved too.
                    let moved = self.proc_ref(pid).map(|p| p.partial_write) != written;
                    if o != Outcome::Blocked || moved {
                        progress = true;
                        self.changed = true;
                    }
                    self.settle(h, pid, task, o, &call);
                } else {
                    let Some((Some(o), call)) = self.serve(h, pid, |p, h| (p.poll(h), p.last_call())) else { continue };
                    progress = true;
                    self.changed = true;
                    self.settle(h, pid, task, o, &call);
                }
            }
            self.waiters = waiters;
            if !progress {
                break;
            }
        }
    }

    /// When the server should next look (monotonic ns), if ever.
    pub fn next_deadline(&self, now: u64) -> Option<u64> {
        if !self.interrupt.is_empty() {
            // Threads to stop once their answers are out (`interrupt_calls`).
            return Some(now);
        }
        // A timerfd matters until it expired (then reads count for themselves).
        let fds = self.job.timerfds.values().filter(|t| t.ticks == 0).filter_map(|t| t.t.next().map(|d| d.saturating_sub(t.offset))).min();
        let lease = self.job.locks.next_lease_deadline().into_iter().chain(self.job.ipc.next_deadline()).min();
        self.members
            .values()
            .filter_map(|m| match &m.life {
                Life::Running { proc, .. } => {
                    let timers = proc.timers.iter().filter(|(_, t)| t.t.armed() && t.notify != SIGEV_NONE).map(|(&id, t)| {
                        if t.cpu() {
                            t.check_at
                        } else if t.queued(id, &proc.sig) {
                            // Its signal still pending: overruns are counted, not urgent.
                            t.t.deadline.saturating_sub(t.offset).max(now.saturating_add(1_000_000))
                        } else {
                            t.t.deadline.saturating_sub(t.offset)
                        }
                    });
                    let cpu_limit = (proc.rlimits[crate::linux::RLIMIT_CPU].0 != u64::MAX).then_some(proc.cpu_limit_at.max(now));
                    [proc.next_deadline(now), proc.itimers[0].next(), cpu_limit].into_iter().flatten().chain(timers).min()
                }
                _ => None,
            })
            .chain(fds)
            .chain(lease)
            .min()
    }

    /// The timers' upkeep: SIGALRM for the real-time interval timers (alarm,
    /// setitimer) that expired, the POSIX timers' signals (or overruns, while
    /// the last one is pending), the timerfds' expirations (waking readers).
    fn fire_timers(&mut self, h: &mut dyn Host) {
        let procs = self.members.values().any(|m| matches!(&m.life, Life::Running { proc, .. } if proc.itimers[0].armed() || !proc.timers.is_empty()));
        let fds = self.job.timerfds.values().any(|t| t.ticks == 0 && t.t.armed());
        if !procs && !fds {
            return;
        }
        let (now, real) = (h.now_ns(), h.realtime_ns());
        // Real-time deadlines move with the real-time clock's offset as now.
        let on_clock = |clock: i32, offset: &mut u64| {
            if crate::process::posix_timer::realtime_clock(clock) {
                *offset = real.saturating_sub(now);
                real
            } else {
                now
            }
        };
        for t in self.job.timerfds.values_mut() {
            if t.ticks == 0 && t.t.armed() {
                let clock = on_clock(t.clock, &mut t.offset);
                if t.expire(clock) > 0 {
                    self.changed = true;
                }
            }
        }
        if !procs {
            return;
        }
        let cpu_due = self
            .members
            .values()
            .any(|m| matches!(&m.life, Life::Running { proc, .. } if proc.timers.values().any(|t| t.cpu() && t.t.armed() && now >= t.check_at)));
        let cpus = if cpu_due { h.node_info().cpus } else { 1 };
        let mut due = Vec::new();
        for (&pid, m) in self.members.iter_mut() {
            let Life::Running { proc, space, task } = &mut m.life else { continue };
            if proc.itimers[0].expire(now) > 0 {
                due.push((pid, None, SigInfo { signo: signal::SIGALRM, code: signal::SI_KERNEL, ..Default::default() }));
            }
            for (&id, t) in proc.timers.iter_mut() {
                if !t.t.armed() {
                    continue;
                }
                let clock = if t.cpu() {
                    if now < t.check_at {
                        continue;
                    }
                    // The CPU time of the timer's thread.
                    let tt = if proc.tid == t.tid { Some(*task) } else { proc.threads.iter().find(|x| x.tid == t.tid).map(|x| x.task) };
                    h.select(*space, tt.unwrap_or(*task));
                    h.cpu_ns()
                } else {
                    on_clock(t.clock, &mut t.offset)
                };
                let n = t.t.expire(clock);
                if t.cpu() && t.t.armed() {
                    t.check_at = crate::timer::cpu_check_at(now, clock, t.t.deadline, cpus);
                }
                if n == 0 || t.notify == SIGEV_NONE {
                    continue;
                }
                if t.queued(id, &proc.sig) {
                    // Still pending: these expirations are its overruns.
                    t.overrun = crate::timer::add_overruns(t.overrun, n);
                    let q = proc.sig.info.get_mut(&t.signo).into_iter().flatten();
                    q.filter(|i| i.code == signal::SI_TIMER && i.pid == id as u32).for_each(|i| i.uid = t.overrun as u32);
                } else {
                    t.overrun_last = t.overrun;
                    t.overrun = crate::timer::add_overruns(0, n - 1);
                    let alive = proc.tid == t.tid || proc.threads.iter().any(|x| x.tid == t.tid);
                    let tid = (t.notify == SIGEV_THREAD_ID && alive).then_some(t.tid);
                    due.push((pid, tid, t.info(id)));
                }
            }
        }
        for (pid, tid, info) in due {
            self.send_to(h, pid, tid, info.signo, info);
        }
    }

    /// Calls blocked in processes that must run a handler now end: with
    /// EINTR, or restarted after the handler (SA_RESTART).
    fn interrupt_calls(&mut self, h: &mut dyn Host) {
        let mut later = Vec::new();
        for (pid, tid) in core::mem::take(&mut self.interrupt) {
            // The thread to interrupt: the one named, or one blocked in a
            // call that can take the signal, or else one computing.
            let Some(tid) = tid.or_else(|| self.proc_ref(pid).and_then(|p| p.taker(true).or_else(|| p.taker(false)))) else { continue };
            if !self.activate(pid, tid) {
                continue;
            }
            let Some(p) = self.proc_ref(pid) else { continue };
            let Some(sig) = p.sig.deliverable() else { continue };
            let Some(task) = self.task_of(pid) else { continue };
            let retry = match &p.pending {
                None if self.answers.iter().any(|a| a.task == task) => {
                    // Its call was answered before the signal came (a timer
                    // that expired in this upkeep) and the answer is not out
                    // yet: the task is not running, so it is stopped once it
                    // runs again, at the next upkeep (which comes at once).
                    later.push((pid, Some(tid)));
                    continue;
                }
                None => {
                    // Running: stop it where it computes (it then comes to us
                    // as a fault); if it is on its way here with a call or a
                    // fault, that call's answer delivers the signal.
                    h.task_interrupt(task);
                    continue;
                }
                Some(Pending::Retry { call }) => Some(*call),
                Some(_) => None,
            };
            if let Some(call) = retry {
                // It may be able to finish now (a wait4 for the child whose
                // SIGCHLD this is): then it returns its result, then the handler runs.
                if let Some(p) = self.proc_mut(pid) {
                    p.pending = None;
                }
                let o = self.dispatch(h, pid, &call);
                let o = self.fetch_if_needed(h, pid, &call, o);
                if o != Outcome::Blocked {
                    self.settle(h, pid, task, o, &call);
                    continue;
                }
            }
            // Still blocked: the call ends here. A table call's own record
            // is its Retry; a process call's is its last call.
            // A FIFO open waiting for the other side gives its end back.
            self.job.fifo_cancel(pid, Some(tid));
            self.job.locks.cancel(pid, Some(tid));
            self.job.ipc.cancel(pid, Some(tid));
            let Some(p) = self.proc_mut(pid) else { continue };
            let slept_until = match p.pending.take() {
                Some(Pending::Sleep { deadline }) => Some(deadline),
                _ => None,
            };
            p.partial_write = 0;
            let call = retry.unwrap_or_else(|| p.last_call());
            let abi = Abi::from_wire(call.abi());
            let restart = self.proc_ref(pid).is_some_and(|p| p.sig.action(sig).flags & signal::SA_RESTART != 0) && restartable(abi, call.nr);
            if restart {
                self.serve(h, pid, |_, h| {
                    if let Some(mut r) = h.get_regs() {
                        r.rip = r.rip.wrapping_sub(2); // back onto `syscall` / `int 0x80`
                        r.rax = call.nr;
                        h.set_regs(&r);
                    }
                });
                if self.deliver(h, pid, None) == Some(true) {
                    self.answers.push(Answer { task, outcome: Outcome::KeepRegs, call: (abi, call.nr) });
                }
            } else {
                // A relative sleep tells the time it had left (an unwritable
                // `rem` turns the EINTR into EFAULT, as Linux).
                let args = crate::sys::Args::new(abi, call.args);
                let rem = slept_until.zip(crate::syscalls::name_of(abi, call.nr).and_then(|n| crate::sys::time::remaining_time_at(&args, n)));
                let mut r = Errno::EINTR;
                if let (Some((deadline, (addr, bits))), Some(p)) = (rem, self.proc_mut(pid)) {
                    let left = crate::layout::Timespec::from_ns(deadline.saturating_sub(h.now_ns())).encode(bits);
                    if p.write_user(h, abi, addr, &left).is_err() {
                        r = Errno::EFAULT;
                    }
                }
                self.settle(h, pid, task, Outcome::Reply(r.as_ret()), &call);
            }
        }
        self.interrupt.extend(later);
    }

    /// Run the handler of a deliverable signal of `pid`, which is stopped
    /// at a call (whose result `rax` is, if given) or a fault: write the
    /// frame and point the task at the handler. `Some(false)`: nothing to
    /// deliver; `None`: the frame could not be written and the process died.
    fn deliver(&mut self, h: &mut dyn Host, pid: u32, rax: Option<u64>) -> Option<bool> {
        let r = self.serve(h, pid, |p, h| -> Result<bool, u8> {
            let Some(sig) = p.sig.deliverable() else { return Ok(false) };
            let act = crate::vdso::restorer(p, p.sig.action(sig));
            let mut regs = h.get_regs().ok_or(signal::SIGSEGV)?;
            if let Some(v) = rax {
                regs.rax = v;
            }
            let info = p.sig.take(sig);
            let old = p.sig.suspend_mask.take().unwrap_or(p.sig.mask);
            let fpu = h.get_fpu();
            let f = signal::frame(p.abi, &regs, &act, &info, old, p.sig.altstack, fpu.as_ref()).ok_or(signal::SIGSEGV)?;
            p.write_user(h, p.abi, f.sp, &f.bytes).map_err(|_| signal::SIGSEGV)?;
            if !h.set_regs(&f.regs) {
                return Err(signal::SIGSEGV);
            }
            p.sig.mask |= (act.mask | if act.flags & signal::SA_NODEFER != 0 { 0 } else { bit(sig) }) & !UNBLOCKABLE;
            if act.flags & signal::SA_RESETHAND != 0 {
                // Only the handler goes back to SIG_DFL; Linux keeps the
                // flags and mask (sigaction01 reads SA_SIGINFO back).
                p.sig.actions[sig as usize].handler = signal::SIG_DFL;
            }
            Ok(true)
        })?;
        match r {
            Ok(d) => Some(d),
            Err(sig) => {
                self.exit(h, pid, Exit::Signal(sig));
                None
            }
        }
    }

    /// A running process, for what needs neither the host nor the job's state.
    fn proc_mut(&mut self, pid: u32) -> Option<&mut Process> {
        match &mut self.members.get_mut(&pid)?.life {
            Life::Running { proc, .. } => Some(proc),
            _ => None,
        }
    }

    /// The answer to a call of `pid` that was made by `task`, unless the
    /// call ended the process (or replaced its task).
    fn if_alive(&self, pid: u32, task: Option<u64>, o: Outcome) -> Outcome {
        match task {
            Some(t) if self.task_of(pid) == Some(t) => o,
            _ => Outcome::Blocked,
        }
    }

    fn proc_ref(&self, pid: u32) -> Option<&Process> {
        match &self.members.get(&pid)?.life {
            Life::Running { proc, .. } => Some(proc),
            _ => None,
        }
    }

    fn task_of(&self, pid: u32) -> Option<u64> {
        match &self.members.get(&pid)?.life {
            Life::Running { task, .. } => Some(*task),
            _ => None,
        }
    }

    /// Turn an outcome into an answer, an exit or nothing.
    fn settle(&mut self, h: &mut dyn Host, pid: u32, task: u64, o: Outcome, call: &LinuxSyscall) {
        // The common case in one look-up: a reply to the task that asked,
        // no signal raised, none to deliver.
        if let (Outcome::Reply(_), Some(Member { life: Life::Running { proc, task: t, .. }, .. })) = (o, self.members.get_mut(&pid)) {
            if *t == task && proc.raise.is_none() && proc.sig.deliverable().is_none() {
                self.answers.push(Answer { task, outcome: o, call: (Abi::from_wire(call.abi()), call.nr) });
                return;
            }
        }
        let raised = self.proc_mut(pid).and_then(|p| p.raise.take());
        match o {
            Outcome::Exit(e) => return self.exit(h, pid, e),
            Outcome::Blocked => {
                // A signal that came while the call was on its way here
                // (the thread could not be stopped then): the wait it just
                // began ends for it, as Linux checks before sleeping.
                if let Some(p) = self.proc_ref(pid) {
                    if p.pending.is_some() && self.task_of(pid) == Some(task) && p.sig.deliverable().is_some() {
                        self.interrupt.push((pid, Some(p.tid)));
                    }
                }
            }
            o => {
                if let Some(sig) = raised {
                    self.signal(h, pid, sig);
                }
                // The caller may have been replaced (execve) or have died.
                if self.task_of(pid) != Some(task) {
                    return;
                }
                // A handler to run: it starts now, with the result in the frame.
                let o = if self.proc_ref(pid).is_some_and(|p| p.sig.deliverable().is_some()) {
                    let rax = if let Outcome::Reply(v) = o { Some(v) } else { None };
                    match self.deliver(h, pid, rax) {
                        Some(true) => Outcome::KeepRegs,
                        Some(false) => o,
                        None => return,
                    }
                } else {
                    o
                };
                self.answers.push(Answer { task, outcome: o, call: (Abi::from_wire(call.abi()), call.nr) });
                return;
            }
        }
        if let Some(sig) = raised {
            self.signal(h, pid, sig);
        }
    }

    /// Look the call up once and run its handler; an unknown call is
    /// ENOSYS, logged once per name.
    fn dispatch(&mut self, h: &mut dyn Host, pid: u32, call: &LinuxSyscall) -> Outcome {
        self.run_entry(h, pid, call, lookup(Abi::from_wire(call.abi()), call.nr))
    }

    /// Run the handler of `entry` (the table's row for `call`, if any).
    fn run_entry(&mut self, h: &mut dyn Host, pid: u32, call: &LinuxSyscall, entry: Option<&'static crate::syscalls::table::Entry>) -> Outcome {
        let abi = Abi::from_wire(call.abi());
        let Some(entry) = entry else {
            return self.serve(h, pid, |p, h| p.unimplemented(h, call)).unwrap_or(Outcome::Blocked);
        };
        if let Some(p) = self.proc_mut(pid) {
            p.set_last_call(call);
        }
        let mut cx = crate::sys::Ctx { procs: self, h, pid, call };
        (entry.handler)(&mut cx, crate::sys::Args::new(abi, call.args))
    }

    /// The parent, process group and session of `pid`.
    pub(crate) fn family(&self, pid: u32) -> Option<(u32, u32, u32)> {
        self.members.get(&pid).map(|m| (m.ppid, m.pgid, m.sid))
    }

    /// setsid: a new session and group led by the caller, unless it leads a group.
    pub(crate) fn setsid(&mut self, pid: u32) -> Result<u64, Errno> {
        let (_, pgid, _) = self.family(pid).ok_or(Errno::ESRCH)?;
        if pgid == pid || self.members.values().any(|m| m.pgid == pid) {
            return Err(Errno::EPERM);
        }
        let m = self.members.get_mut(&pid).ok_or(Errno::ESRCH)?;
        m.pgid = pid;
        m.sid = pid;
        Ok(pid as u64)
    }

    /// A running process, for what needs neither the host nor the job's state.
    pub(crate) fn process_ref(&self, pid: u32) -> Option<&Process> {
        self.proc_ref(pid)
    }

    pub(crate) fn sigreturn(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, kind: FrameKind) -> Outcome {
        let r = self.serve(h, pid, |p, h| -> Result<(), Errno> {
            let mut regs = h.get_regs().ok_or(Errno::EFAULT)?;
            let (at, len) = signal::frame_at(abi, kind, regs.rsp);
            let b = p.read_user(h, abi, at, len)?;
            let mask = signal::restore(abi, kind, &b, &mut regs);
            // The FPU state the frame points at (a handler may have changed it).
            let fx = signal::fxsave_at(abi, kind, &b);
            if fx != 0 {
                let state = p.read_user(h, abi, fx, signal::FPU_SIZE)?;
                let mut img = [0u8; signal::FPU_SIZE];
                img.copy_from_slice(&state);
                h.set_fpu(&img);
            }
            p.sig.mask = mask & !UNBLOCKABLE;
            if h.set_regs(&regs) {
                Ok(())
            } else {
                Err(Errno::EFAULT)
            }
        });
        match r {
            Some(Ok(())) => Outcome::KeepRegs,
            // A frame that cannot be read: Linux kills with SIGSEGV.
            Some(Err(_)) => Outcome::Exit(Exit::Signal(signal::SIGSEGV)),
            None => Outcome::Blocked,
        }
    }

    pub(crate) fn setpgid(&mut self, pid: u32, target: i32, pgid: i32) -> Result<u64, Errno> {
        if pgid < 0 || target < 0 {
            return Err(Errno::EINVAL);
        }
        let target = if target == 0 { pid } else { target as u32 };
        let my_sid = self.members.get(&pid).map(|m| m.sid).unwrap_or(0);
        let t = self.members.get(&target).ok_or(Errno::ESRCH)?;
        if target != pid && t.ppid != pid {
            return Err(Errno::ESRCH);
        }
        if t.sid != my_sid {
            return Err(Errno::EPERM);
        }
        if t.sid == target {
            // A session leader keeps its group.
            return Err(Errno::EPERM);
        }
        let pgid = if pgid == 0 { target } else { pgid as u32 };
        if pgid != target && !self.members.values().any(|m| m.pgid == pgid && m.sid == my_sid) {
            return Err(Errno::EPERM);
        }
        self.members.get_mut(&target).expect("checked").pgid = pgid;
        Ok(0)
    }

    // ----- fork -----

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn fork(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, flags: u64, stack: u64, ptid: u64, ctid: u64, tls: u64) -> Outcome {
        if flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0 {
            return Outcome::Reply(Errno::EINVAL.as_ret());
        }
        // New namespaces: CLONE_NEW* (clone3's CLONE_NEWTIME comes as
        // CLONE3_NEWTIME: clone's low byte is the exit signal).
        let new_ns = (flags & CLONE_NAMESPACES) | if flags & CLONE3_NEWTIME != 0 { crate::ns::CLONE_NEWTIME } else { 0 };
        if new_ns != 0 {
            use crate::ns::{CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEW_OFFERED};
            const CLONE_FS: u64 = 0x200;
            const CLONE_SYSVSEM: u64 = 0x4_0000;
            // Linux's copy_process, then copy_creds, then copy_namespaces.
            if flags & (CLONE_NEWNS | CLONE_FS) == CLONE_NEWNS | CLONE_FS || flags & (CLONE_NEWUSER | CLONE_FS) == CLONE_NEWUSER | CLONE_FS {
                return Outcome::Reply(Errno::EINVAL.as_ret());
            }
            // A thread in namespaces of its own: its process's are its threads' here.
            if flags & CLONE_THREAD != 0 || flags & CLONE_NEWUSER != 0 {
                return Outcome::Reply(Errno::EINVAL.as_ret());
            }
            if !self.proc_ref(pid).is_some_and(|p| p.capable(crate::linux::CAP_SYS_ADMIN)) {
                return Outcome::Reply(Errno::EPERM.as_ret());
            }
            if flags & (CLONE_NEWIPC | CLONE_SYSVSEM) == CLONE_NEWIPC | CLONE_SYSVSEM || new_ns & !CLONE_NEW_OFFERED != 0 {
                self.log_once(h, "clone with IPC, PID, network, user or cgroup namespaces: not offered: EINVAL");
                return Outcome::Reply(Errno::EINVAL.as_ret());
            }
        }
        if flags & CLONE_THREAD != 0 {
            return self.new_thread(h, pid, abi, flags, stack, ptid, ctid, tls);
        }
        if !self.may_create(h, pid) {
            return Outcome::Reply(Errno::EAGAIN.as_ret());
        }
        let Some(child_pid) = self.new_id() else { return Outcome::Reply(Errno::EAGAIN.as_ret()) };
        let Some(Some(mut regs)) = self.serve(h, pid, |_, h| h.get_regs()) else { return Outcome::Reply(Errno::EAGAIN.as_ret()) };
        let Some(Some(space)) = self.serve(h, pid, |_, h| h.space_fork()) else { return Outcome::Reply(Errno::ENOMEM.as_ret()) };
        let mut child = match self.serve(h, pid, |p, _| p.fork_child(child_pid)) {
            Some(c) => c,
            None => return Outcome::Blocked,
        };
        // MADV_WIPEONFORK memory is zero in the child (its pages go, fresh
        // ones come on touch); MADV_DONTFORK memory is not there at all.
        let odd: Vec<crate::vma::Vma> = child.vmas.iter().filter(|v| v.flags & (crate::vma::flag::WIPEONFORK | crate::vma::flag::DONTFORK) != 0).collect();
        if !odd.is_empty() {
            h.select(space, 0);
            for v in odd {
                h.mem_unmap(v.start, v.end - v.start);
                if v.flags & crate::vma::flag::DONTFORK != 0 {
                    child.vmas.remove_range(v.start, v.end);
                    child.shm.retain(|&(s, e, _, _)| e <= v.start || s >= v.end);
                    for &(s, e, ino, _) in &child.shared {
                        if s < v.end && v.start < e {
                            self.job.vfs.close_ref(ino);
                        }
                    }
                    child.shared.retain(|&(s, e, _, _)| e <= v.start || s >= v.end);
                    child.sysv_shm.retain(|&(s, e, _)| e <= v.start || s >= v.end);
                }
            }
        }
        child.started_ns = h.now_ns();
        if new_ns != 0 {
            let set = child.ns;
            child.ns = self.serve(h, pid, |p, _| p.new_namespaces(new_ns, set)).unwrap_or(set);
            // A new time namespace of clone3 is the child's own at once.
            if new_ns & crate::ns::CLONE_NEWTIME != 0 {
                child.ns.time = child.ns.time_for_children;
            }
        }
        regs.rax = 0;
        if stack != 0 {
            regs.rsp = stack;
        }
        if flags & CLONE_SETTLS != 0 && abi == Abi::X86_64 {
            regs.fs_base = tls;
        }
        if flags & CLONE_CHILD_CLEARTID != 0 {
            child.clear_child_tid = ctid;
        }
        let Some(task) = h.task_start(space, &regs) else {
            h.space_drop(space);
            return Outcome::Reply(Errno::EAGAIN.as_ret());
        };
        crate::process::add_proc_stub(&mut self.job.vfs, child_pid, (child.uid, child.gid));
        self.job.vfs.runner(child.exe_ino, true);
        if !child.sysv_shm.is_empty() {
            // The child has the parent's System V segments attached too.
            let now = h.realtime_ns() / 1_000_000_000;
            for &(_, _, id) in &child.sysv_shm {
                self.job.ipc.shm_attached(id, pid, now);
            }
        }
        child.files.proc_fd_dir = 0;
        child.files.fd_dirty = true;
        let (ppid, pgid, sid) = {
            let m = &self.members[&pid];
            (if flags & CLONE_PARENT != 0 { m.ppid } else { pid }, m.pgid, m.sid)
        };
        self.members.insert(child_pid, Member { ppid, pgid, sid, life: Life::Running { proc: Box::new(child), space, task }, stopped: false, report: None });
        // The memory's membarrier registrations come with its copy.
        if let Some(&m) = self.job.membarrier.get(&pid) {
            self.job.membarrier.insert(child_pid, m);
        }
        self.by_task.insert(task, (child_pid, child_pid));
        // A child starting in a time namespace other than the node's: the
        // namespace's offsets are fixed, its vDSO asks the server.
        if self.proc_ref(child_pid).is_some_and(|c| c.ns.time != crate::ns::INIT_TIME) {
            self.serve(h, child_pid, |c, h| {
                c.freeze_time_ns(c.ns.time);
                c.publish_vdso(h);
            });
        }
        let tid = (child_pid as u32).to_le_bytes();
        if flags & CLONE_PARENT_SETTID != 0 {
            let _ = self.serve(h, pid, |p, h| p.write_user(h, abi, ptid, &tid));
        }
        if flags & CLONE_CHILD_SETTID != 0 {
            let _ = self.serve(h, child_pid, |p, h| p.write_user(h, abi, ctid, &tid));
        }
        self.changed = true;
        if flags & CLONE_VFORK != 0 {
            let tid = self.proc_ref(pid).map_or(pid, |p| p.tid);
            self.vforks.insert(child_pid, (pid, tid));
            return Outcome::Blocked;
        }
        Outcome::Reply(child_pid as u64)
    }

    /// clone3's CLONE_NEWTIME as `fork` takes it (bit 7 of clone's flags is
    /// the exit signal's).
    pub(crate) fn clone3(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, args: u64, size: u64) -> Outcome {
        // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal,
        // stack, stack_size, tls, set_tid, set_tid_size, cgroup (u64 each).
        if !(64..=4096).contains(&size) {
            return Outcome::Reply(Errno::EINVAL.as_ret());
        }
        let Some(raw) = self.serve(h, pid, |p, h| p.read_user(h, abi, args, size.min(88) as usize)) else { return Outcome::Blocked };
        let raw = match raw {
            Ok(r) => r,
            Err(e) => return Outcome::Reply(e.as_ret()),
        };
        let w = |i: usize| raw.get(i * 8..i * 8 + 8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
        let (flags, ctid, ptid, exit_signal, stack, stack_size, tls) = (w(0), w(2), w(3), w(4), w(5), w(6), w(7));
        if exit_signal > NSIG as u64 || (w(8) != 0 || w(9) != 0) || flags & 0x1000 != 0 || (stack == 0) != (stack_size == 0) {
            // set_tid and pidfds are not offered.
            return Outcome::Reply(Errno::EINVAL.as_ret());
        }
        let top = if stack != 0 { stack + stack_size } else { 0 };
        let newtime = if flags & crate::ns::CLONE_NEWTIME != 0 { CLONE3_NEWTIME } else { 0 };
        self.fork(h, pid, abi, (flags & !crate::ns::CLONE_NEWTIME) | exit_signal | newtime, top, ptid, ctid, tls)
    }

    // ----- exec -----

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn execve(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, dirfd: i32, path: u64, argv: u64, envp: u64, flags: u32) -> Outcome {
        let read = self.serve(h, pid, |p, h| -> Result<_, Errno> {
            let path = p.read_path(h, abi, path)?;
            let mut argv = read_strings(p, h, abi, argv)?;
            // Linux 5.18 and later: an empty argv gets an empty argv[0],
            // so no program sees argc 0.
            if argv.is_empty() {
                argv.push(Vec::new());
            }
            let envp = read_strings(p, h, abi, envp)?;
            Ok((path, argv, envp))
        });
        let (path, argv, envp) = match read {
            Some(Ok(x)) => x,
            Some(Err(e)) => return Outcome::Reply(e.as_ret()),
            None => return Outcome::Blocked,
        };
        if argv.iter().chain(envp.iter()).map(|a| a.len() + 1).sum::<usize>() > ARG_MAX {
            return Outcome::Reply(Errno::E2BIG.as_ret());
        }
        // The new program's name (comm) is the basename execve was given,
        // as Linux's (a script's, not its interpreter's; "exe" for /proc/self/exe).
        let comm: Vec<u8> = path.rsplit(|&b| b == b'/').next().unwrap_or_default().iter().take(15).copied().collect();
        // The file, then what it makes run (a script's interpreter, a
        // dynamic program's loader), each read from the job's tree with
        // execve's checks.
        let file = match self.serve(h, pid, |p, _| p.exec_file(dirfd, &path, flags)) {
            Some(Ok(f)) => f,
            Some(Err(e)) => return Outcome::Reply(e.as_ret()),
            None => return Outcome::Blocked,
        };
        let resolved = self.serve(h, pid, |p, _| binfmt::resolve(file, argv, |name| p.exec_file(AT_FDCWD, name, 0)));
        let prog = match resolved {
            Some(Ok(x)) => x,
            Some(Err(e)) => {
                if e == Errno::ENOEXEC || e == Errno::ELIBBAD {
                    self.log_once(h, "execve of a file that cannot run here (see the call's errno)");
                }
                return Outcome::Reply(e.as_ret());
            }
            None => return Outcome::Blocked,
        };
        if prog.argv.iter().chain(envp.iter()).map(|a| a.len() + 1).sum::<usize>() > ARG_MAX {
            return Outcome::Reply(Errno::E2BIG.as_ret());
        }
        let (old_space, old_task) = match &self.members[&pid].life {
            Life::Running { space, task, .. } => (*space, *task),
            _ => return Outcome::Blocked,
        };
        // The other threads go; the caller becomes the process's only
        // thread. Shared file mappings reach their files before the memory goes.
        self.end_other_threads(h, pid);
        self.serve(h, pid, |p, h| p.at_exit(h));
        let Some(space) = h.space_new() else { return Outcome::Reply(Errno::ENOMEM.as_ret()) };
        let Some(Member { life: Life::Running { proc, .. }, .. }) = self.members.get_mut(&pid) else { return Outcome::Blocked };
        h.select(space, 0);
        core::mem::swap(&mut proc.job, &mut self.job);
        let loaded = proc.exec(h, &prog.bytes, prog.interp.as_deref(), &prog.argv, &envp, prog.exe);
        core::mem::swap(&mut proc.job, &mut self.job);
        let regs = match loaded {
            Ok(r) => r,
            Err(why) => {
                h.log(&format!("execve: {why}"));
                h.select(old_space, old_task);
                h.space_drop(space);
                return Outcome::Reply(Errno::ENOMEM.as_ret());
            }
        };
        if let Some(p) = self.proc_mut(pid) {
            p.name = Some(comm);
        }
        h.task_kill(old_task);
        h.space_drop(old_space);
        self.by_task.remove(&old_task);
        let Some(task) = h.task_start(space, &regs) else {
            h.space_drop(space);
            self.exit(h, pid, Exit::Signal(SIGKILL));
            return Outcome::Blocked;
        };
        if let Some(Member { life: Life::Running { space: s, task: t, .. }, .. }) = self.members.get_mut(&pid) {
            *s = space;
            *t = task;
        }
        self.by_task.insert(task, (pid, pid));
        self.release_vfork_parent(h, pid);
        self.changed = true;
        // A signal caught by the old program and not yet delivered now has
        // its default action (a ^C during the exec ends the new program).
        if let Some(p) = self.proc_ref(pid) {
            let ready = (p.sig.pending | p.sig.private) & !p.sig.mask;
            self.act_on_unhandled(h, pid, ready);
        }
        // No reply: the new program starts afresh.
        Outcome::Blocked
    }

    fn release_vfork_parent(&mut self, h: &mut dyn Host, child: u32) {
        let Some((parent, tid)) = self.vforks.remove(&child) else { return };
        let Some(task) = self.thread_task(parent, tid) else { return };
        let abi = self.proc_ref(parent).map_or(Abi::X86_64, |p| p.abi);
        // As `settle` answers a call: a handler for a signal that came
        // while the parent waited runs now, with the child's pid in its frame.
        let mut o = Outcome::Reply(child as u64);
        if self.activate(parent, tid) && self.proc_ref(parent).is_some_and(|p| p.sig.deliverable().is_some()) {
            match self.deliver(h, parent, Some(child as u64)) {
                Some(true) => o = Outcome::KeepRegs,
                Some(false) => {}
                None => return,
            }
        }
        self.answers.push(Answer { task, outcome: o, call: (abi, u64::MAX) });
    }

    // ----- exit and wait -----

    /// Process `pid` ends with `exit`: it becomes a zombie for its parent.
    /// A signal whose default action dumps core dumps it first.
    pub fn exit(&mut self, h: &mut dyn Host, pid: u32, exit: Exit) {
        self.exit_by(h, pid, exit, SigInfo { code: signal::SI_KERNEL, ..Default::default() })
    }

    /// The same, the fatal signal sent with `info` (its sender, for the core).
    fn exit_by(&mut self, h: &mut dyn Host, pid: u32, exit: Exit, info: SigInfo) {
        let core = match exit {
            Exit::Signal(sig) if signal::default_action(sig) == signal::DefaultAction::Core => self.dump_core(h, pid, sig, &info),
            _ => false,
        };
        self.serve(h, pid, |p, h| {
            p.acct_exit(h, exit);
            p.aio_exit();
            p.at_exit(h);
            p.close_all();
            p.sysv_detach_all(h);
        });
        self.job.fifo_cancel(pid, None);
        self.job.locks.exit(pid);
        // System V: its waits go, its SEM_UNDO adjustments are applied.
        self.job.ipc.cancel(pid, None);
        self.job.ipc.sem_exit(pid);
        self.job.ipc.mq.exit(pid);
        self.job.membarrier.remove(&pid);
        // Its /proc/<pid> stays, as the zombie's, until it is reaped: made
        // now if never looked at (the process is going), its threads' and
        // descriptors' entries gone.
        if let Some(dir) = self.job.vfs.lookup(self.job.vfs.root, format!("/proc/{pid}").as_bytes(), false, &sion_vfs::Cred::root()).ok() {
            if crate::process::proc_stub_of(&self.job.vfs, dir).is_some() {
                self.fill_proc(dir, pid);
            }
            for name in [&b"task"[..], b"fd"] {
                if let Ok(Some(d)) = self.job.vfs.child(dir, name) {
                    let names: Vec<Vec<u8>> = self.job.vfs.readdir(d).unwrap_or_default().into_iter().skip(2).map(|e| e.name).collect();
                    for n in names {
                        self.job.vfs.remove_tree(d, &n);
                    }
                }
            }
        }
        let comm = self.proc_ref(pid).map(|p| p.comm()).unwrap_or_default();
        let (user, sys, cuser, csys) = self.cpu_times(h, pid);
        let times = (user + cuser, sys + csys);
        let Some(m) = self.members.get_mut(&pid) else { return };
        let Life::Running { proc, space, task } = core::mem::replace(&mut m.life, Life::Zombie { exit, core, comm, times }) else { return };
        self.job.pidfd_process_ended(pid);
        let ppid = m.ppid;
        h.task_kill(task);
        h.space_drop(space);
        self.by_task.remove(&task);
        for t in &proc.threads {
            self.by_task.remove(&t.task);
        }
        self.release_vfork_parent(h, pid);
        self.vforks.retain(|_, (parent, _)| *parent != pid);
        self.changed = true;
        if pid == FIRST_PID {
            self.last = Some(proc);
            self.ended = Some(self.rebooted.map_or(exit, Exit::Signal));
            // The job ends with its first process: the rest go.
            let others: Vec<u32> = self.members.keys().copied().filter(|&p| p != pid).collect();
            for p in others {
                if let Some(&Member { life: Life::Running { space, .. }, .. }) = self.members.get(&p) {
                    // The space's death takes its tasks.
                    for t in self.tasks_of(p) {
                        self.by_task.remove(&t);
                    }
                    h.space_drop(space);
                }
                self.members.remove(&p);
            }
            return;
        }
        // Orphans go to the nearest living ancestor that made itself a
        // subreaper (PR_SET_CHILD_SUBREAPER), else to the job's first
        // process; those that asked for a parent-death signal (prctl
        // PR_SET_PDEATHSIG) get it, as from the parent (SI_USER). A zombie
        // that comes to a subreaper is reported to it as a child's end.
        let reaper = self.subreaper_above(pid);
        let mut orphans = Vec::new();
        let mut zombies = Vec::new();
        for (&cpid, m) in self.members.iter_mut() {
            if m.ppid == pid {
                m.ppid = reaper;
                match &m.life {
                    Life::Running { proc, .. } if proc.pdeathsig != 0 => orphans.push((cpid, proc.pdeathsig)),
                    Life::Zombie { exit, core, .. } if reaper != FIRST_PID => zombies.push((cpid, *exit, *core)),
                    _ => {}
                }
            }
        }
        let dead_uid = proc.uid;
        for (cpid, sig) in orphans {
            self.send(h, cpid, sig, SigInfo { signo: sig, code: signal::SI_USER, pid, uid: dead_uid, ..Default::default() });
        }
        let reaper_uid = self.proc_ref(reaper).map_or(0, |p| p.uid);
        for (cpid, exit, core) in zombies {
            self.send(h, reaper, SIGCHLD, SigInfo::child_core(cpid, reaper_uid, exit, core));
        }
        let reap_now = self.proc_ref(ppid).is_none_or(|p| p.sig.action(SIGCHLD).handler == signal::SIG_IGN || p.sig.action(SIGCHLD).flags & signal::SA_NOCLDWAIT != 0);
        if reap_now {
            self.reap(pid);
        }
        // A parent that ignores SIGCHLD explicitly gets none (Linux's
        // do_notify_parent), even while it blocks it.
        if self.proc_ref(ppid).is_some_and(|p| p.sig.action(SIGCHLD).handler == signal::SIG_IGN) {
            return;
        }
        let uid = self.proc_ref(ppid).map_or(0, |p| p.uid);
        self.send(h, ppid, SIGCHLD, SigInfo::child_core(pid, uid, exit, core));
    }

    /// Dump the core of process `pid`, ending of `sig` (sent with `info`):
    /// its other threads' registers first, then the file
    /// (`Process::dump_core`). Whether a core file was made.
    fn dump_core(&mut self, h: &mut dyn Host, pid: u32, sig: u8, info: &SigInfo) -> bool {
        let Some(Member { life: Life::Running { proc, space, .. }, .. }) = self.members.get(&pid) else { return false };
        let space = *space;
        let threads: Vec<(u32, u64, u64, u64)> = proc.threads.iter().map(|t| (t.tid, t.task, t.private | proc.sig.pending, t.mask)).collect();
        let mut others = Vec::new();
        for (tid, task, pending, blocked) in threads {
            h.select(space, task);
            others.push(crate::coredump::ThreadState { tid, regs: h.get_regs().unwrap_or_default(), fpu: h.get_fpu(), pending, blocked, utime_ns: h.cpu_ns(), stime_ns: 0 });
        }
        self.serve(h, pid, |p, h| p.dump_core(h, sig, (info.code, info.pid, info.uid), others)).unwrap_or(false)
    }

    /// A zombie is reaped: it and its /proc/<pid> go.
    fn reap(&mut self, pid: u32) {
        self.members.remove(&pid);
        crate::process::remove_proc_dir(&mut self.job.vfs, pid);
    }

    /// A zombie is reaped by its parent's wait: its times become the
    /// parent's children's times.
    fn reap_by(&mut self, pid: u32, parent: u32) {
        if let Some(Member { life: Life::Zombie { times, .. }, .. }) = self.members.get(&pid) {
            let t = *times;
            if let Some(p) = self.proc_mut(parent) {
                p.child_times.0 += t.0;
                p.child_times.1 += t.1;
            }
        }
        self.reap(pid);
    }

    /// Process `pid`'s user time (every thread's CPU time, as the kernel
    /// counts it), system time (the server's on its calls), and its
    /// waited-for children's (ns).
    pub(crate) fn cpu_times(&mut self, h: &mut dyn Host, pid: u32) -> (u64, u64, u64, u64) {
        let Some(Member { life: Life::Running { proc, space, task }, .. }) = self.members.get(&pid) else { return (0, 0, 0, 0) };
        let (space, task) = (*space, *task);
        let tasks: Vec<u64> = core::iter::once(task).chain(proc.threads.iter().map(|t| t.task)).collect();
        let (sys, child) = (proc.stime_ns, proc.child_times);
        let mut user = 0;
        for t in tasks {
            h.select(space, t);
            user += h.cpu_ns();
        }
        h.select(space, task);
        (user, sys, child.0, child.1)
    }

    /// RLIMIT_CPU (setrlimit(2)): at the soft limit SIGXCPU, and again each
    /// second past it (the soft limit moves up a second each time, as
    /// Linux's); at the hard limit SIGKILL. CPU time is looked at when it
    /// could have reached the next limit (`cpu_limit_at`).
    fn cpu_limits(&mut self, h: &mut dyn Host) {
        let now = h.now_ns();
        let due: Vec<u32> = self
            .members
            .iter()
            .filter(|(_, m)| matches!(&m.life, Life::Running { proc, .. } if proc.rlimits[crate::linux::RLIMIT_CPU].0 != u64::MAX && now >= proc.cpu_limit_at))
            .map(|(&p, _)| p)
            .collect();
        if due.is_empty() {
            return;
        }
        let cpus = h.node_info().cpus;
        for pid in due {
            let (user, sys, ..) = self.cpu_times(h, pid);
            let cpu = user + sys;
            let Some(p) = self.proc_mut(pid) else { continue };
            let (soft, hard) = p.rlimits[crate::linux::RLIMIT_CPU];
            let secs = |s: u64| s.saturating_mul(1_000_000_000);
            if hard != u64::MAX && cpu >= secs(hard) {
                self.send(h, pid, SIGKILL, SigInfo { signo: SIGKILL, code: signal::SI_KERNEL, ..Default::default() });
                continue;
            }
            let mut next = secs(soft);
            if cpu >= secs(soft) {
                if soft < hard {
                    p.rlimits[crate::linux::RLIMIT_CPU].0 = soft + 1;
                }
                next = secs(soft + 1);
                p.cpu_limit_at = crate::timer::cpu_check_at(now, cpu, next.min(secs(hard)), cpus);
                self.send(h, pid, signal::SIGXCPU, SigInfo { signo: signal::SIGXCPU, code: signal::SI_KERNEL, ..Default::default() });
                continue;
            }
            p.cpu_limit_at = crate::timer::cpu_check_at(now, cpu, next.min(secs(hard)), cpus);
        }
    }

    /// Whether process `sender` may signal process `target` (Linux's
    /// kill_ok_by_cred): the sender's real or effective user id is the
    /// target's real or saved one, or the sender holds CAP_KILL. A zombie
    /// (credentials gone) may be signalled, to no effect.
    pub(crate) fn may_signal(&self, sender: u32, target: u32) -> bool {
        let (Some(s), Some(t)) = (self.proc_ref(sender), self.proc_ref(target)) else { return true };
        s.capable(crate::linux::CAP_KILL) || [s.ids.ruid, s.uid].iter().any(|&u| u == t.ids.ruid || u == t.ids.suid)
    }

    /// Where the children of `pid` go when it ends: its nearest running
    /// ancestor with PR_SET_CHILD_SUBREAPER, else the job's first process.
    fn subreaper_above(&self, pid: u32) -> u32 {
        let mut at = self.members.get(&pid).map_or(FIRST_PID, |m| m.ppid);
        // Each step goes to a parent, which existed before its child: at
        // most as many steps as members.
        for _ in 0..self.members.len() {
            if at == FIRST_PID || at == 0 {
                break;
            }
            if self.proc_ref(at).is_some_and(|p| p.prctl.child_subreaper) {
                return at;
            }
            at = self.members.get(&at).map_or(FIRST_PID, |m| m.ppid);
        }
        FIRST_PID
    }

    /// The children of `pid` that `sel` (wait4's pid argument) names.
    fn waitable(&self, pid: u32, sel: i32) -> impl Iterator<Item = (u32, &Member)> + '_ {
        let my_pgid = self.members.get(&pid).map_or(0, |m| m.pgid);
        self.members.iter().filter(move |(&cpid, m)| {
            m.ppid == pid
                && match sel {
                    -1 => true,
                    0 => m.pgid == my_pgid,
                    s if s > 0 => cpid == s as u32,
                    s => m.pgid == s.unsigned_abs(),
                }
        }).map(|(&p, m)| (p, m))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn wait4(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, sel: i32, status: u64, options: u64, rusage: u64, call: &LinuxSyscall) -> Outcome {
        if options & !(WNOHANG | WUNTRACED | WCONTINUED | W_LINUX_ONLY) != 0 {
            return Outcome::Reply(Errno::EINVAL.as_ret());
        }
        // -INT_MIN names no process group (Linux's kernel_wait4).
        if sel == i32::MIN {
            return Outcome::Reply(Errno::ESRCH.as_ret());
        }
        let mut any = false;
        let mut zombie = None;
        for (cpid, m) in self.waitable(pid, sel) {
            any = true;
            if let Life::Zombie { exit, core, .. } = m.life {
                zombie = Some((cpid, exit, core));
                break;
            }
        }
        if !any {
            return Outcome::Reply(Errno::ECHILD.as_ret());
        }
        if let Some((cpid, exit, core)) = zombie {
            let st = signal::wait_status(exit, core);
            let rusage_len = if abi == Abi::X86_64 { 144 } else { 72 };
            let wrote = self.serve(h, pid, |p, h| -> Result<(), Errno> {
                if status != 0 {
                    p.write_user(h, abi, status, &st.to_le_bytes())?;
                }
                if rusage != 0 {
                    p.write_user(h, abi, rusage, &alloc::vec![0u8; rusage_len])?;
                }
                Ok(())
            });
            // Linux reaps the child even when the status cannot be written.
            self.reap_by(cpid, pid);
            if let Some(Err(e)) = wrote {
                return Outcome::Reply(e.as_ret());
            }
            return Outcome::Reply(cpid as u64);
        }
        if let Some((cpid, r)) = self.reported(pid, sel, options & WUNTRACED != 0, options & WCONTINUED != 0) {
            let st = r.wait_status();
            if let Some(Err(e)) = self.serve(h, pid, |p, h| if status != 0 { p.write_user(h, abi, status, &st.to_le_bytes()) } else { Ok(()) }) {
                return Outcome::Reply(e.as_ret());
            }
            if let Some(m) = self.members.get_mut(&cpid) {
                m.report = None;
            }
            return Outcome::Reply(cpid as u64);
        }
        if options & WNOHANG != 0 {
            return Outcome::Reply(0);
        }
        self.block(pid, call)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn waitid(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, idtype: u32, id: i32, infop: u64, options: u64, call: &LinuxSyscall) -> Outcome {
        if options & !(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | W_LINUX_ONLY) != 0 || options & (WEXITED | WUNTRACED | WCONTINUED) == 0 {
            return Outcome::Reply(Errno::EINVAL.as_ret());
        }
        let sel = match idtype {
            0 => -1,
            1 if id > 0 => id,
            2 if id >= 0 => {
                if id == 0 {
                    0
                } else {
                    -id
                }
            }
            _ => return Outcome::Reply(Errno::EINVAL.as_ret()),
        };
        let mut any = false;
        let mut zombie = None;
        for (cpid, m) in self.waitable(pid, sel) {
            any = true;
            if let Life::Zombie { exit, core, .. } = m.life {
                if options & WEXITED != 0 {
                    zombie = Some((cpid, exit, core));
                    break;
                }
            }
        }
        if !any {
            return Outcome::Reply(Errno::ECHILD.as_ret());
        }
        let uid = self.proc_ref(pid).map_or(0, |p| p.uid);
        let report = if zombie.is_none() { self.reported(pid, sel, options & WUNTRACED != 0, options & WCONTINUED != 0) } else { None };
        let info = match (zombie, report) {
            (Some((cpid, exit, core)), _) => Some(SigInfo::child_core(cpid, uid, exit, core).encode(abi).to_vec()),
            (None, Some((cpid, r))) => {
                if options & WNOWAIT == 0 {
                    if let Some(m) = self.members.get_mut(&cpid) {
                        m.report = None;
                    }
                }
                Some(r.info(cpid, uid).encode(abi).to_vec())
            }
            (None, None) if options & WNOHANG != 0 => None,
            (None, None) => return self.block(pid, call),
        };
        if infop != 0 {
            let bytes = info.clone().unwrap_or_else(|| alloc::vec![0u8; 128]);
            if let Some(Err(e)) = self.serve(h, pid, |p, h| p.write_user(h, abi, infop, &bytes)) {
                return Outcome::Reply(e.as_ret());
            }
        }
        if let (Some((cpid, ..)), true) = (zombie, options & WNOWAIT == 0) {
            self.reap_by(cpid, pid);
        }
        Outcome::Reply(0)
    }

    /// Keep the caller waiting; its call runs again after a change.
    pub(crate) fn block(&mut self, pid: u32, call: &LinuxSyscall) -> Outcome {
        if let Some(p) = self.proc_mut(pid) {
            p.pending = Some(Pending::Retry { call: *call });
        }
        Outcome::Blocked
    }

    // ----- signals -----

    pub(crate) fn kill(&mut self, h: &mut dyn Host, pid: u32, sel: i32, sig: u64) -> Outcome {
        if sig > NSIG as u64 {
            return Outcome::Reply(Errno::EINVAL.as_ret());
        }
        let my_pgid = self.members.get(&pid).map_or(0, |m| m.pgid);
        let targets: Vec<u32> = match sel {
            s if s > 0 => match self.members.get(&(s as u32)) {
                Some(_) => alloc::vec![s as u32],
                None => return Outcome::Reply(Errno::ESRCH.as_ret()),
            },
            0 => self.members.iter().filter(|(_, m)| m.pgid == my_pgid).map(|(&p, _)| p).collect(),
            -1 => self.members.keys().copied().filter(|&p| p != pid).collect(),
            i32::MIN => return Outcome::Reply(Errno::ESRCH.as_ret()),
            s => self.members.iter().filter(|(_, m)| m.pgid == s.unsigned_abs()).map(|(&p, _)| p).collect(),
        };
        if targets.is_empty() && sel != -1 {
            return Outcome::Reply(Errno::ESRCH.as_ret());
        }
        // Only the processes the caller may signal; none of a pid or a
        // group: EPERM (kill(-1) answers 0 regardless, as Linux does).
        let allowed: Vec<u32> = targets.iter().copied().filter(|&t| self.may_signal(pid, t)).collect();
        if allowed.is_empty() && sel != -1 && !targets.is_empty() {
            return Outcome::Reply(Errno::EPERM.as_ret());
        }
        let targets = allowed;
        if sig == 0 {
            return Outcome::Reply(0);
        }
        let task = self.task_of(pid);
        let uid = self.proc_ref(pid).map_or(0, |p| p.uid);
        let info = SigInfo { signo: sig as u8, code: signal::SI_USER, pid, uid, ..Default::default() };
        // The caller last: if it dies of the signal, nobody is answered.
        for t in targets.iter().copied().filter(|&t| t != pid).chain(targets.iter().copied().filter(|&t| t == pid)) {
            self.send(h, t, sig as u8, info);
        }
        self.if_alive(pid, task, Outcome::Reply(0))
    }

    /// A signal from the host (`sion exec` forwarding ^C): to the first
    /// process's group, as a terminal sends it to its foreground group.
    pub fn signal_from_host(&mut self, h: &mut dyn Host, sig: u8) {
        if sig == 0 || sig > NSIG {
            return;
        }
        let group = self.members.get(&FIRST_PID).map_or(1, |m| m.pgid);
        let targets: Vec<u32> = self.members.iter().filter(|(_, m)| m.pgid == group).map(|(&p, _)| p).collect();
        for pid in targets {
            self.send(h, pid, sig, SigInfo { signo: sig, code: signal::SI_KERNEL, ..Default::default() });
        }
    }

    /// Reboot the job as Linux reboots a child PID namespace: its first
    /// process is killed, and the job ends as killed by `sig`.
    pub fn reboot(&mut self, h: &mut dyn Host, sig: u8) {
        self.rebooted = Some(sig);
        self.signal(h, FIRST_PID, signal::SIGKILL);
    }

    /// Send `sig` to process `pid` (nothing if it is a zombie or unknown).
    pub fn signal(&mut self, h: &mut dyn Host, pid: u32, sig: u8) {
        self.send(h, pid, sig, SigInfo { signo: sig, code: signal::SI_KERNEL, ..Default::default() });
    }

    /// Send a signal with what its handler will be told.
    fn send(&mut self, h: &mut dyn Host, pid: u32, sig: u8, info: SigInfo) {
        self.send_to(h, pid, None, sig, info);
    }

    /// Send a signal to process `pid`, or to its thread `tid` alone.
    fn send_to(&mut self, h: &mut dyn Host, pid: u32, tid: Option<u32>, sig: u8, info: SigInfo) {
        if sig == signal::SIGCONT {
            // SIGCONT continues a stopped process whatever its action.
            self.resume(h, pid);
        }
        let Some(p) = self.proc_ref(pid) else { return };
        // Blocked by the thread named, or for the process only if every thread blocks it.
        let mask = p.masks().filter(|&(t, _, _)| tid.is_none_or(|want| want == t)).fold(u64::MAX, |acc, (_, m, _)| acc & m);
        match p.sig.disposition_masked(sig, mask) {
            Disposition::Discard | Disposition::Continue => {}
            Disposition::Pending => {
                if let Some(p) = self.proc_mut(pid) {
                    let was = match tid {
                        Some(want) => p.masks().any(|(t, _, private)| t == want && private & bit(sig) != 0),
                        None => p.sig.pending & bit(sig) != 0,
                    };
                    p.sig.record(sig, info, was);
                    match tid {
                        Some(t) => p.add_private(t, sig),
                        None => p.sig.pending |= bit(sig),
                    }
                }
                // A blocked one may be what a sigtimedwait or signalfd waits for.
                self.changed = true;
                if mask & bit(sig) == 0 {
                    self.interrupt.push((pid, tid));
                }
            }
            Disposition::Terminate { .. } => self.exit_by(h, pid, Exit::Signal(sig), info),
            Disposition::Stop => self.stop(h, pid, sig),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sigaction(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, sig: u64, act: u64, old: u64, setsize: Option<u64>) -> Result<u64, Errno> {
        if setsize.is_some_and(|s| s != 8) || sig == 0 || sig > NSIG as u64 {
            return Err(Errno::EINVAL);
        }
        let sig = sig as u8;
        if act != 0 && bit(sig) & UNBLOCKABLE != 0 {
            return Err(Errno::EINVAL);
        }
        let rt = setsize.is_some();
        let r = self.serve(h, pid, |p, h| -> Result<(), Errno> {
            let new = if act != 0 {
                let size = if rt { SigAction::size(abi) } else { 16 };
                let b = p.read_user(h, abi, act, size)?;
                Some(if rt { SigAction::decode(abi, &b) } else { SigAction::decode_old(&b) })
            } else {
                None
            };
            if old != 0 {
                let cur = p.sig.action(sig);
                let b = if rt { cur.encode(abi) } else { cur.encode_old() };
                p.write_user(h, abi, old, &b)?;
            }
            if let Some(mut a) = new {
                a.mask &= !UNBLOCKABLE;
                p.sig.actions[sig as usize] = a;
                if p.sig.ignored(sig) {
                    p.sig.pending &= !bit(sig);
                    p.sig.info.remove(&sig);
                }
            }
            Ok(())
        });
        r.unwrap_or(Err(Errno::ESRCH)).map(|_| 0)
    }

    /// i386 signal(2): set a handler, return the old one.
    pub(crate) fn signal_call(&mut self, h: &mut dyn Host, pid: u32, sig: u64, handler: u64) -> Result<u64, Errno> {
        if sig == 0 || sig > NSIG as u64 || bit(sig as u8) & UNBLOCKABLE != 0 {
            return Err(Errno::EINVAL);
        }
        self.serve(h, pid, |p, _| {
            let old = p.sig.actions[sig as usize].handler;
            p.sig.actions[sig as usize] = SigAction { handler, flags: signal::SA_RESETHAND | signal::SA_NODEFER, restorer: 0, mask: 0 };
            if p.sig.ignored(sig as u8) {
                p.sig.pending &= !bit(sig as u8);
                p.sig.info.remove(&(sig as u8));
            }
            old
        })
        .ok_or(Errno::ESRCH)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sigprocmask(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, how: u32, set: u64, old: u64, size: usize) -> Outcome {
        let r = self.serve(h, pid, |p, h| -> Result<u64, Errno> {
            let new = if set != 0 {
                let b = p.read_user(h, abi, set, size)?;
                let mut w = [0u8; 8];
                w[..size].copy_from_slice(&b);
                let v = u64::from_le_bytes(w);
                let keep_high = if size == 4 { p.sig.mask & !0xffff_ffff } else { 0 };
                Some(match how {
                    0 => p.sig.mask | v,
                    1 => p.sig.mask & !v,
                    2 => v | keep_high,
                    _ => return Err(Errno::EINVAL),
                })
            } else if how > 2 && size == 8 {
                return Err(Errno::EINVAL);
            } else {
                None
            };
            if old != 0 {
                p.write_user(h, abi, old, &p.sig.mask.to_le_bytes()[..size])?;
            }
            if let Some(m) = new {
                p.sig.mask = m & !UNBLOCKABLE;
            }
            Ok((p.sig.pending | p.sig.private) & !p.sig.mask)
        });
        let deliverable = match r {
            Some(Ok(d)) => d,
            Some(Err(e)) => return Outcome::Reply(e.as_ret()),
            None => return Outcome::Blocked,
        };
        // Signals just unblocked take effect now.
        let task = self.task_of(pid);
        self.act_on_unhandled(h, pid, deliverable);
        self.if_alive(pid, task, Outcome::Reply(0))
    }

    /// Pending signals among `ready` that `pid` has no handler for take their
    /// default action now (terminate, stop, or nothing). Linux does it on the
    /// way back to user space; here after the calls that can leave such a
    /// signal pending: sigprocmask unblocking it, execve resetting its handler.
    fn act_on_unhandled(&mut self, h: &mut dyn Host, pid: u32, ready: u64) {
        for sig in 1..=NSIG {
            if ready & bit(sig) == 0 {
                continue;
            }
            let Some(p) = self.proc_mut(pid) else { return };
            if p.sig.action(sig).handler == signal::SIG_DFL {
                let _ = p.sig.take(sig);
                self.signal(h, pid, sig);
            }
        }
    }

    pub(crate) fn sigaltstack(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, ss: u64, old: u64) -> Result<u64, Errno> {
        self.serve(h, pid, |p, h| -> Result<u64, Errno> {
            let (sp, flags, size) = p.sig.altstack;
            let new = if ss != 0 {
                let b = p.read_user(h, abi, ss, if abi == Abi::X86_64 { 24 } else { 12 })?;
                let w32 = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or([0; 4]));
                let w64 = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
                let (nsp, nflags, nsize) = if abi == Abi::X86_64 { (w64(0), w32(8), w64(16)) } else { (w32(0) as u64, w32(4), w32(8) as u64) };
                if nflags & !(SS_DISABLE | 1 << 31) != 0 {
                    return Err(Errno::EINVAL);
                }
                if nflags & SS_DISABLE == 0 && nsize < signal::MINSIGSTKSZ {
                    return Err(Errno::ENOMEM);
                }
                Some(if nflags & SS_DISABLE != 0 { (0, SS_DISABLE, 0) } else { (nsp, nflags, nsize) })
            } else {
                None
            };
            if old != 0 {
                let mut b = Vec::new();
                if abi == Abi::X86_64 {
                    b.extend_from_slice(&sp.to_le_bytes());
                    b.extend_from_slice(&flags.to_le_bytes());
                    b.extend_from_slice(&[0; 4]);
                    b.extend_from_slice(&size.to_le_bytes());
                } else {
                    b.extend_from_slice(&(sp as u32).to_le_bytes());
                    b.extend_from_slice(&flags.to_le_bytes());
                    b.extend_from_slice(&(size as u32).to_le_bytes());
                }
                p.write_user(h, abi, old, &b)?;
            }
            if let Some(n) = new {
                p.sig.altstack = n;
            }
            Ok(0)
        })
        .unwrap_or(Err(Errno::ESRCH))
    }
}

/// clone3's CLONE_NEWTIME, passed to `Procs::fork` past the flags Linux has.
const CLONE3_NEWTIME: u64 = 1 << 62;

/// Calls SA_RESTART restarts after a handler (Linux never restarts these).
fn restartable(abi: Abi, nr: u64) -> bool {
    !matches!(
        crate::syscalls::name_of(abi, nr),
        Some("nanosleep" | "clock_nanosleep" | "clock_nanosleep_time64" | "poll" | "ppoll" | "ppoll_time64" | "select" | "_newselect" | "pselect6" | "pselect6_time64" | "epoll_wait" | "epoll_pwait" | "epoll_pwait2" | "rt_sigsuspend" | "sigsuspend" | "pause" | "rt_sigtimedwait" | "rt_sigtimedwait_time64" | "futex" | "futex_time64" | "semop" | "semtimedop" | "semtimedop_time64" | "msgsnd" | "msgrcv" | "ipc")
    )
}

/// A NULL-terminated array of string pointers (argv, envp); NULL is empty.
fn read_strings(p: &mut Process, h: &mut dyn Host, abi: Abi, addr: u64) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    let word = abi.word();
    let mut total = 0usize;
    for i in 0.. {
        let b = p.read_user(h, abi, addr + (i * word) as u64, word)?;
        let ptr = if word == 8 { u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])) } else { u32::from_le_bytes(b[..4].try_into().unwrap_or([0; 4])) as u64 };
        if ptr == 0 {
            break;
        }
        let s = read_arg(p, h, abi, ptr)?;
        total += s.len() + 1 + word;
        if total > ARG_MAX {
            return Err(Errno::E2BIG);
        }
        out.push(s);
    }
    Ok(out)
}

/// One argument string (unlike a path, it may be longer than PATH_MAX).
fn read_arg(p: &mut Process, h: &mut dyn Host, abi: Abi, addr: u64) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        let chunk = (4096 - at % 4096) as usize;
        let b = p.read_user(h, abi, at, chunk)?;
        if let Some(z) = b.iter().position(|&c| c == 0) {
            out.extend_from_slice(&b[..z]);
            return Ok(out);
        }
        out.extend_from_slice(&b);
        if out.len() > ARG_MAX {
            return Err(Errno::E2BIG);
        }
        at += chunk as u64;
    }
}

