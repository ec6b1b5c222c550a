//! Threads in the process table: creating one (clone with CLONE_THREAD),
//! serving the right one, a thread's end (clear_child_tid, robust futexes),
//! signals to one thread, and futexes.
//!
//! A futex waiter is a thread whose pending call is [`Pending::Futex`]: the
//! wait queue of an address is the set of those threads, in `seq` order.
//! Waits and wakes are serialised by the server, so checking the word and
//! queueing the waiter cannot race a wake. A futex is (process, address,
//! private or not), except a shared one in shared anonymous memory
//! (MAP_SHARED|MAP_ANONYMOUS, kept across fork), which is (mapping, offset)
//! and so reaches waiters in every process that maps it.

use super::{Answer, Life, Member, Procs, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_PARENT_SETTID, CLONE_SETTLS, CLONE_SIGHAND, CLONE_VM};
use crate::errno::Errno;
use crate::futex::{self, Op, FUTEX_BITSET_MATCH_ANY, FUTEX_CLOCK_REALTIME, FUTEX_OWNER_DIED, FUTEX_PRIVATE_FLAG, FUTEX_TID_MASK, FUTEX_WAITERS, ROBUST_LIST_LIMIT};
use crate::host::Host;
use crate::layout::{Abi, TimeBits};
use crate::process::{Outcome, Pending, Thread};
use crate::signal::{self, SigInfo, NSIG};
use alloc::vec::Vec;
use sion_abi::console::Exit;
use sion_abi::msg::LinuxSyscall;

/// Where a futex's waiters are: in one process, or in any process that
/// maps the same shared memory (name, offset).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scope {
    Process(u32, Key),
    Shm(u64, u64),
}

/// A futex: its address in the process, and whether it was named private.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Key {
    addr: u64,
    private: bool,
}

impl Procs {
    /// The process of `task`, with that task's thread made the served one.
    pub(super) fn enter(&mut self, task: u64) -> Option<u32> {
        let &(pid, tid) = self.by_task.get(&task)?;
        self.activate(pid, tid).then_some(pid)
    }

    /// Make thread `tid` of `pid` the served one (false if there is none).
    pub(super) fn activate(&mut self, pid: u32, tid: u32) -> bool {
        let Some(Member { life: Life::Running { proc, task, .. }, .. }) = self.members.get_mut(&pid) else { return false };
        if proc.tid == tid {
            return true;
        }
        let Some(i) = proc.threads.iter().position(|t| t.tid == tid) else { return false };
        let mut t = proc.threads.swap_remove(i);
        proc.swap_thread(&mut t);
        core::mem::swap(task, &mut t.task);
        proc.threads.push(t);
        true
    }

    /// The task of thread `tid` of `pid`.
    pub(super) fn thread_task(&self, pid: u32, tid: u32) -> Option<u64> {
        match &self.members.get(&pid)?.life {
            Life::Running { proc, task, .. } if proc.tid == tid => Some(*task),
            Life::Running { proc, .. } => proc.threads.iter().find(|t| t.tid == tid).map(|t| t.task),
            _ => None,
        }
    }

    /// Every task of `pid`.
    pub(super) fn tasks_of(&self, pid: u32) -> alloc::vec::Vec<u64> {
        match self.members.get(&pid).map(|m| &m.life) {
            Some(Life::Running { proc, task, .. }) => core::iter::once(*task).chain(proc.threads.iter().map(|t| t.task)).collect(),
            _ => alloc::vec::Vec::new(),
        }
    }

    /// Processes and threads of the job, for its limit.
    pub(super) fn population(&self) -> usize {
        self.members.len() + self.by_task.values().filter(|&&(pid, tid)| pid != tid).count()
    }

    /// Linux's limits on a new process or thread of `pid` (copy_process),
    /// in its order, both EAGAIN: its real user's threads at RLIMIT_NPROC
    /// (not for root's, nor with CAP_SYS_RESOURCE or CAP_SYS_ADMIN; a
    /// zombie no longer counts for its user here), then the job's at
    /// /proc/sys/kernel/threads-max. The kernel's task table may still
    /// refuse later (other jobs share it): EAGAIN too.
    pub(super) fn may_create(&mut self, h: &mut dyn Host, pid: u32) -> bool {
        let Some(Life::Running { proc, .. }) = self.members.get(&pid).map(|m| &m.life) else { return false };
        let (ruid, nproc) = (proc.ids.ruid, proc.rlimits[crate::linux::RLIMIT_NPROC].0);
        let exempt = ruid == 0 || proc.capable(crate::linux::CAP_SYS_RESOURCE) || proc.capable(crate::linux::CAP_SYS_ADMIN);
        if !exempt {
            let mine: u64 = self
                .members
                .values()
                .map(|m| match &m.life {
                    Life::Running { proc, .. } if proc.ids.ruid == ruid => 1 + proc.threads.len() as u64,
                    _ => 0,
                })
                .sum();
            if mine >= nproc {
                self.log_once(h, "fork: the user's RLIMIT_NPROC is reached: EAGAIN");
                return false;
            }
        }
        if self.population() as u64 >= self.job.tunables.threads_max {
            self.log_once(h, "fork: the job's threads-max of processes and threads is reached: EAGAIN");
            return false;
        }
        true
    }

    /// A fresh id for a process or thread (pids and tids share one space);
    /// ids wrap at /proc/sys/kernel/pid_max to 300, as Linux's. None when
    /// every id is taken (a pid_max lowered under the job's population).
    pub(super) fn new_id(&mut self) -> Option<u32> {
        let max = self.job.tunables.pid_max.clamp(301, u32::MAX as u64) as u32;
        if let Some(last) = self.job.set_last_pid.take() {
            self.next_pid = last.saturating_add(1);
        }
        for _ in 0..max {
            if self.next_pid >= max {
                self.next_pid = 300;
            }
            let id = self.next_pid;
            self.next_pid += 1;
            if !self.members.contains_key(&id) && !self.by_task.values().any(|&(_, t)| t == id) {
                self.job.last_pid = id;
                return Some(id);
            }
        }
        None
    }

    /// The process that has thread `tid`.
    pub(super) fn owner_of(&self, tid: u32) -> Option<u32> {
        self.by_task.values().find(|&&(_, t)| t == tid).map(|&(pid, _)| pid)
    }

    // ----- creation and end -----

    /// clone with CLONE_THREAD: a new task in the caller's space.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_thread(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, flags: u64, stack: u64, ptid: u64, ctid: u64, tls: u64) -> Outcome {
        if flags & (CLONE_VM | CLONE_SIGHAND) != CLONE_VM | CLONE_SIGHAND {
            return Outcome::Reply(Errno::EINVAL.as_ret());
        }
        if !self.may_create(h, pid) {
            return Outcome::Reply(Errno::EAGAIN.as_ret());
        }
        let regs = self.serve(h, pid, |p, h| -> Result<_, Errno> {
            let mut regs = h.get_regs().ok_or(Errno::EAGAIN)?;
            regs.rax = 0;
            if stack != 0 {
                regs.rsp = stack;
            }
            if flags & CLONE_SETTLS != 0 {
                match abi {
                    Abi::X86_64 => regs.fs_base = tls,
                    Abi::I386 => p.install_tls(h, abi, tls, &mut regs, false)?,
                }
            }
            Ok(regs)
        });
        let regs = match regs {
            Some(Ok(r)) => r,
            Some(Err(e)) => return Outcome::Reply(e.as_ret()),
            None => return Outcome::Blocked,
        };
        let Some(&Member { life: Life::Running { space, .. }, .. }) = self.members.get(&pid) else { return Outcome::Blocked };
        let Some(tid) = self.new_id() else { return Outcome::Reply(Errno::EAGAIN.as_ret()) };
        let Some(task) = h.task_start(space, &regs) else { return Outcome::Reply(Errno::EAGAIN.as_ret()) };
        self.by_task.insert(task, (pid, tid));
        let tid_bytes = tid.to_le_bytes();
        let wrote = self.serve(h, pid, |p, h| -> Result<(), Errno> {
            let clear = if flags & CLONE_CHILD_CLEARTID != 0 { ctid } else { 0 };
            p.threads.push(Thread::new(tid, task, p.sig.mask, clear));
            if flags & CLONE_PARENT_SETTID != 0 {
                p.write_user(h, abi, ptid, &tid_bytes)?;
            }
            if flags & CLONE_CHILD_SETTID != 0 {
                p.write_user(h, abi, ctid, &tid_bytes)?;
            }
            Ok(())
        });
        self.changed = true;
        if let Some(p) = self.proc_ref(pid) {
            let exe = p.exe.clone();
            let cwd = self.job.vfs.path_of(p.files.cwd).unwrap_or_else(|| b"/".to_vec());
            crate::process::add_task_dir(&mut self.job.vfs, pid, tid, exe.as_bytes(), &cwd);
        }
        match wrote {
            Some(Err(e)) => Outcome::Reply(e.as_ret()),
            _ => Outcome::Reply(tid as u64),
        }
    }

    /// exit(2): the calling thread ends; the process with its last thread.
    pub(crate) fn thread_exit(&mut self, h: &mut dyn Host, pid: u32, code: u8) -> Outcome {
        if self.proc_ref(pid).is_some_and(|p| p.threads.is_empty()) {
            self.serve(h, pid, |p, h| p.at_exit(h));
            return Outcome::Exit(Exit::Code(code));
        }
        self.thread_death(h, pid);
        let Some(Member { life: Life::Running { proc, task, .. }, .. }) = self.members.get_mut(&pid) else { return Outcome::Blocked };
        let Some(mut next) = proc.threads.pop() else { return Outcome::Blocked };
        crate::process::remove_task_dir(&mut self.job.vfs, pid, proc.tid);
        let dead = *task;
        proc.swap_thread(&mut next);
        *task = next.task;
        h.task_kill(dead);
        self.by_task.remove(&dead);
        self.changed = true;
        Outcome::Blocked
    }

    /// What Linux does as the served thread of `pid` ends: its robust
    /// futexes are marked FUTEX_OWNER_DIED (a waiter woken), and its
    /// clear_child_tid word is zeroed and woken (pthread_join waits on it).
    fn thread_death(&mut self, h: &mut dyn Host, pid: u32) {
        let Some(wake) = self.serve(h, pid, |p, h| {
            let abi = p.abi;
            let mut wake = release_robust(p, h, abi);
            if p.clear_child_tid != 0 && p.write_user(h, abi, p.clear_child_tid, &0u32.to_le_bytes()).is_ok() {
                wake.push(p.clear_child_tid);
            }
            wake
        }) else {
            return;
        };
        // Linux wakes these as shared futexes (robust mutexes may be shared).
        for addr in wake {
            self.futex_wake(pid, Key { addr, private: false }, FUTEX_BITSET_MATCH_ANY, 1);
            self.futex_wake(pid, Key { addr, private: true }, FUTEX_BITSET_MATCH_ANY, 1);
        }
    }

    /// Before an exec: every thread but the caller ends; the caller takes
    /// the process's id as its thread id.
    pub(super) fn end_other_threads(&mut self, h: &mut dyn Host, pid: u32) {
        let Some(Member { life: Life::Running { proc, .. }, .. }) = self.members.get_mut(&pid) else { return };
        let others = core::mem::take(&mut proc.threads);
        let caller = core::mem::replace(&mut proc.tid, pid);
        let (exe, cwd) = (proc.exe.clone(), self.job.vfs.path_of(proc.files.cwd).unwrap_or_else(|| b"/".to_vec()));
        for t in others {
            h.task_kill(t.task);
            self.by_task.remove(&t.task);
            crate::process::remove_task_dir(&mut self.job.vfs, pid, t.tid);
            self.job.fifo_cancel(pid, Some(t.tid));
            self.job.locks.cancel(pid, Some(t.tid));
            self.job.ipc.cancel(pid, Some(t.tid));
        }
        if caller != pid {
            crate::process::remove_task_dir(&mut self.job.vfs, pid, caller);
            crate::process::add_task_dir(&mut self.job.vfs, pid, pid, exe.as_bytes(), &cwd);
        }
        if let Some(Member { life: Life::Running { task, .. }, .. }) = self.members.get(&pid) {
            let task = *task;
            self.by_task.insert(task, (pid, pid));
        }
    }

    pub(crate) fn get_robust_list(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, who: i32, head: u64, len: u64) -> Result<u64, Errno> {
        let target = if who == 0 { self.proc_ref(pid).map(|p| p.tid) } else { Some(who as u32) };
        let owner = target.and_then(|t| self.owner_of(t)).ok_or(Errno::ESRCH)?;
        if owner != pid {
            return Err(Errno::EPERM);
        }
        let tid = target.unwrap_or(pid);
        let list = match self.proc_ref(pid) {
            Some(p) if p.tid == tid => p.robust_list.0,
            Some(p) => p.threads.iter().find(|t| t.tid == tid).map_or(0, |t| t.robust_list.0),
            None => 0,
        };
        let w = abi.word();
        self.serve(h, pid, |p, h| -> Result<u64, Errno> {
            p.write_user(h, abi, head, &list.to_le_bytes()[..w])?;
            p.write_user(h, abi, len, &((3 * w) as u64).to_le_bytes()[..w])?;
            Ok(0)
        })
        .unwrap_or(Err(Errno::ESRCH))
    }

    // ----- signals to one thread -----

    /// tkill (`tgid` None) and tgkill.
    pub(crate) fn kill_thread(&mut self, h: &mut dyn Host, pid: u32, tgid: Option<u32>, tid: u32, sig: u64, queued: Option<SigInfo>) -> Outcome {
        if sig > NSIG as u64 {
            return Outcome::Reply(Errno::EINVAL.as_ret());
        }
        let Some(owner) = self.owner_of(tid) else { return Outcome::Reply(Errno::ESRCH.as_ret()) };
        if tgid.is_some_and(|g| g != owner) {
            return Outcome::Reply(Errno::ESRCH.as_ret());
        }
        if sig == 0 {
            return Outcome::Reply(0);
        }
        let task = self.task_of(pid);
        let uid = self.proc_ref(pid).map_or(0, |p| p.uid);
        let sig = sig as u8;
        let info = queued.unwrap_or(SigInfo { signo: sig, code: signal::SI_TKILL, pid, uid, ..Default::default() });
        self.send_to(h, owner, Some(tid), sig, info);
        self.if_alive(pid, task, Outcome::Reply(0))
    }

    /// rt_sigqueueinfo (`tid` None) and rt_tgsigqueueinfo: a signal with
    /// the caller's siginfo. Only to itself may a process claim a code of
    /// the kernel's (>= 0) or of tkill.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sigqueueinfo(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, tgid: i32, tid: Option<i32>, sig: u64, uinfo: u64) -> Outcome {
        if sig == 0 || sig > NSIG as u64 {
            return Outcome::Reply(Errno::EINVAL.as_ret());
        }
        let b = match self.serve(h, pid, |p, h| p.read_user(h, abi, uinfo, 128)) {
            Some(Ok(b)) => b,
            Some(Err(e)) => return Outcome::Reply(e.as_ret()),
            None => return Outcome::Blocked,
        };
        let info = SigInfo::decode_queued(abi, sig as u8, &b);
        if tgid <= 0 || tid.is_some_and(|t| t <= 0) {
            return Outcome::Reply(Errno::EINVAL.as_ret());
        }
        if tgid as u32 != pid && (info.code >= 0 || info.code == signal::SI_TKILL) {
            return Outcome::Reply(Errno::EPERM.as_ret());
        }
        match tid {
            Some(t) => self.kill_thread(h, pid, Some(tgid as u32), t as u32, sig, Some(info)),
            None => {
                if !self.members.get(&(tgid as u32)).is_some_and(|m| matches!(m.life, Life::Running { .. })) {
                    return Outcome::Reply(Errno::ESRCH.as_ret());
                }
                let task = self.task_of(pid);
                self.send(h, tgid as u32, sig as u8, info);
                self.if_alive(pid, task, Outcome::Reply(0))
            }
        }
    }

    // ----- futex -----

    pub(crate) fn futex(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, bits: TimeBits, call: &LinuxSyscall) -> Outcome {
        let a = call.args;
        let (addr, op, val) = (a[0], a[1] as u32, a[2] as u32);
        let private = op & FUTEX_PRIVATE_FLAG != 0;
        let key = Key { addr, private };
        let r = match futex::decode(op) {
            Err(e) => Err(e),
            Ok(Op::Unsupported) => {
                self.log_once(h, "futex: priority-inheritance operations and FUTEX_FD are not offered: ENOSYS");
                Err(Errno::ENOSYS)
            }
            Ok(_) if addr % 4 != 0 => Err(Errno::EINVAL),
            Ok(o @ (Op::Wait | Op::WaitBitset)) => {
                let bitset = if o == Op::WaitBitset { a[5] as u32 } else { FUTEX_BITSET_MATCH_ANY };
                return self.futex_wait(h, pid, abi, bits, Key { addr, private }, val, a[3], bitset, o == Op::WaitBitset, op & FUTEX_CLOCK_REALTIME != 0);
            }
            Ok(o @ (Op::Wake | Op::WakeBitset)) => {
                let bitset = if o == Op::WakeBitset { a[5] as u32 } else { FUTEX_BITSET_MATCH_ANY };
                if bitset == 0 {
                    Err(Errno::EINVAL)
                } else if !private && self.read_word(h, pid, abi, addr).is_err() {
                    // A shared futex's key needs its page.
                    Err(Errno::EFAULT)
                } else {
                    Ok(self.futex_wake(pid, key, bitset, futex::wake_count(a[2])))
                }
            }
            Ok(Op::Requeue { cmp }) => self.futex_requeue(h, pid, abi, key, a[2], a[3], a[4], cmp.then_some(a[5] as u32)),
            Ok(Op::WakeOp) => self.futex_wake_op(h, pid, abi, key, a[2], a[3], a[4], a[5] as u32),
        };
        r.into()
    }

    fn read_word(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, addr: u64) -> Result<u32, Errno> {
        let b = self.serve(h, pid, |p, h| p.read_user(h, abi, addr, 4)).ok_or(Errno::ESRCH)??;
        Ok(u32::from_le_bytes(b[..4].try_into().map_err(|_| Errno::EFAULT)?))
    }

    #[allow(clippy::too_many_arguments)]
    fn futex_wait(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, bits: TimeBits, key: Key, val: u32, timeout: u64, bitset: u32, absolute: bool, realtime: bool) -> Outcome {
        if bitset == 0 {
            return Outcome::Reply(Errno::EINVAL.as_ret());
        }
        let deadline = if timeout == 0 {
            None
        } else {
            match self.serve(h, pid, |p, h| p.read_timespec(h, abi, timeout, bits)) {
                Some(Ok(ns)) => {
                    let now = h.now_ns();
                    Some(if !absolute {
                        now.saturating_add(ns)
                    } else if realtime {
                        // A microsecond late rather than early: the program's
                        // realtime clock (the vDSO's arithmetic) may trail
                        // the server's by its rounding.
                        ns.saturating_sub(h.realtime_ns().saturating_sub(now)).saturating_add(crate::vdso::REALTIME_SLACK_NS)
                    } else {
                        crate::ns::from_ns_view(ns, self.monotonic_offset(pid))
                    })
                }
                Some(Err(e)) => return Outcome::Reply(e.as_ret()),
                None => return Outcome::Blocked,
            }
        };
        match self.read_word(h, pid, abi, key.addr) {
            Err(e) => return Outcome::Reply(e.as_ret()),
            Ok(w) if w != val => return Outcome::Reply(Errno::EAGAIN.as_ret()),
            Ok(_) => {}
        }
        if deadline.is_some_and(|d| d <= h.now_ns()) {
            return Outcome::Reply(Errno::ETIMEDOUT.as_ret());
        }
        self.futex_seq += 1;
        let seq = self.futex_seq;
        if let Some(p) = self.proc_mut(pid) {
            p.pending = Some(Pending::Futex { addr: key.addr, private: key.private, bitset, seq, deadline });
        }
        Outcome::Blocked
    }

    /// futex_waitv(waiters, nr_futexes, flags, timeout, clockid): wait on up
    /// to 128 futexes at once until a wake of any of them (its index is the
    /// answer) or the absolute timeout on CLOCK_REALTIME or CLOCK_MONOTONIC.
    /// Linux's order: the arguments, the timeout, each waiter's flags, every
    /// address's alignment and (shared ones) its page, then each word.
    pub(crate) fn futex_waitv(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, call: &LinuxSyscall) -> Outcome {
        let a = call.args;
        let (uwaitv, nr, flags, timeout, clock) = (a[0], a[1] as u32 as u64, a[2] as u32 as u64, a[3], a[4] as i32);
        if let Err(e) = futex::check_waitv_args(uwaitv, nr, flags, timeout, clock) {
            return Outcome::Reply(e.as_ret());
        }
        let deadline = if timeout == 0 {
            None
        } else {
            match self.serve(h, pid, |p, h| p.read_timespec(h, abi, timeout, TimeBits::B64)) {
                Some(Ok(ns)) => {
                    let now = h.now_ns();
                    Some(if clock == 0 { ns.saturating_sub(h.realtime_ns().saturating_sub(now)) } else { crate::ns::from_ns_view(ns, self.monotonic_offset(pid)) })
                }
                Some(Err(e)) => return Outcome::Reply(e.as_ret()),
                None => return Outcome::Blocked,
            }
        };
        let mut entries = Vec::with_capacity(nr as usize);
        for i in 0..nr {
            let at = uwaitv.wrapping_add(i * futex::WAITV_SIZE as u64);
            let r = self.serve(h, pid, |p, h| p.read_user(h, abi, at, futex::WAITV_SIZE)).unwrap_or(Err(Errno::ESRCH));
            match r.and_then(|b| futex::parse_waitv(&b)) {
                Ok(e) => entries.push(e),
                Err(e) => return Outcome::Reply(e.as_ret()),
            }
        }
        // get_futex_key: alignment, then a shared futex's page.
        for e in &entries {
            if e.addr % 4 != 0 {
                return Outcome::Reply(Errno::EINVAL.as_ret());
            }
        }
        for e in entries.iter().filter(|e| !e.private) {
            if let Err(err) = self.read_word(h, pid, abi, e.addr) {
                return Outcome::Reply(err.as_ret());
            }
        }
        for e in &entries {
            match self.read_word(h, pid, abi, e.addr) {
                Err(err) => return Outcome::Reply(err.as_ret()),
                Ok(w) if w != e.val => return Outcome::Reply(Errno::EAGAIN.as_ret()),
                Ok(_) => {}
            }
        }
        if deadline.is_some_and(|d| d <= h.now_ns()) {
            return Outcome::Reply(Errno::ETIMEDOUT.as_ret());
        }
        self.futex_seq += 1;
        let seq = self.futex_seq;
        if let Some(p) = self.proc_mut(pid) {
            p.pending = Some(Pending::FutexV { keys: entries.iter().map(|e| (e.addr, e.private)).collect(), seq, deadline });
        }
        Outcome::Blocked
    }

    /// CLOCK_MONOTONIC's offset in the time namespace of `pid` (futex
    /// deadlines on it are the namespace's, as Linux's futex_init_timeout).
    fn monotonic_offset(&self, pid: u32) -> i64 {
        match self.proc_ref(pid) {
            Some(p) if p.ns.time != crate::ns::INIT_TIME => self.job.ns.time_of(p.ns.time).monotonic,
            _ => 0,
        }
    }

    /// Where the waiters of a futex named by `pid` are.
    fn scope(&self, pid: u32, key: Key) -> Scope {
        if !key.private {
            if let Some((name, off)) = self.proc_ref(pid).and_then(|p| p.shm_key(key.addr)) {
                return Scope::Shm(name, off);
            }
        }
        Scope::Process(pid, key)
    }

    /// The threads (pid, tid, index) waiting on a futex whose bitset meets
    /// `bitset`, first come first; the index is the futex's among a
    /// futex_waitv's (0 for a futex wait), what a wake answers.
    fn waiters(&self, scope: Scope, bitset: u32) -> Vec<(u32, u32, u64)> {
        let mut w: Vec<(u64, u32, u32, u64)> = Vec::new();
        for (&pid, m) in &self.members {
            let Life::Running { proc, .. } = &m.life else { continue };
            if matches!(scope, Scope::Process(p, _) if p != pid) {
                continue;
            }
            let same = |addr: u64, private: bool| match scope {
                Scope::Process(_, key) => Key { addr, private } == key,
                Scope::Shm(name, off) => !private && proc.shm_key(addr) == Some((name, off)),
            };
            for (tid, pend) in proc.pendings() {
                match pend {
                    Some(&Pending::Futex { addr, private, bitset: b, seq, .. }) if same(addr, private) && b & bitset != 0 => w.push((seq, pid, tid, 0)),
                    Some(Pending::FutexV { keys, seq, .. }) => {
                        if let Some(i) = keys.iter().position(|&(addr, private)| same(addr, private)) {
                            w.push((*seq, pid, tid, i as u64));
                        }
                    }
                    _ => {}
                }
            }
        }
        w.sort_unstable();
        w.into_iter().map(|(_, pid, tid, i)| (pid, tid, i)).collect()
    }

    /// Wake up to `n` waiters of the futex `pid` names by `key`; how many woke.
    pub(super) fn futex_wake(&mut self, pid: u32, key: Key, bitset: u32, n: usize) -> u64 {
        let woken: Vec<(u32, u32, u64)> = self.waiters(self.scope(pid, key), bitset).into_iter().take(n).collect();
        for &(wpid, tid, i) in &woken {
            self.answer_waiter(wpid, tid, i);
        }
        woken.len() as u64
    }

    /// End thread `tid`'s futex wait with `rax`.
    fn answer_waiter(&mut self, pid: u32, tid: u32, rax: u64) {
        let Some(task) = self.thread_task(pid, tid) else { return };
        let Some(p) = self.proc_mut(pid) else { return };
        let abi = p.abi;
        if let Some(slot) = p.pending_of(tid) {
            *slot = None;
        }
        self.answers.push(Answer { task, outcome: Outcome::Reply(rax), call: (abi, u64::MAX) });
        self.changed = true;
    }

    #[allow(clippy::too_many_arguments)]
    fn futex_requeue(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, key: Key, nr_wake: u64, nr_requeue: u64, addr2: u64, expect: Option<u32>) -> Result<u64, Errno> {
        let (nr_wake, nr_requeue) = (nr_wake as u32 as i32, nr_requeue as u32 as i32);
        if nr_wake < 0 || nr_requeue < 0 || addr2 % 4 != 0 {
            return Err(Errno::EINVAL);
        }
        // A shared futex's key comes from its page (Linux's get_futex_key
        // faults it in): an unmapped or inaccessible second address is
        // EFAULT. A private one is only an address.
        if !key.private {
            self.read_word(h, pid, abi, addr2)?;
        }
        if let Some(v) = expect {
            if self.read_word(h, pid, abi, key.addr)? != v {
                return Err(Errno::EAGAIN);
            }
        }
        let all = self.waiters(self.scope(pid, key), FUTEX_BITSET_MATCH_ANY);
        let (wake, rest) = all.split_at((nr_wake as usize).min(all.len()));
        for &(wpid, tid, i) in wake {
            self.answer_waiter(wpid, tid, i);
        }
        let moved: Vec<(u32, u32, u64)> = rest.iter().copied().take(nr_requeue as usize).collect();
        let target = self.scope(pid, Key { addr: addr2, ..key });
        for &(wpid, tid, i) in &moved {
            let Some(p) = self.proc_mut(wpid) else { continue };
            // The second futex as the waiter's process maps it.
            let at = match target {
                Scope::Process(_, k) => Some(k.addr),
                Scope::Shm(name, off) => p.shm_addr(name, off),
            };
            match (at, p.pending_of(tid)) {
                (Some(at), Some(Some(Pending::Futex { addr: a, .. }))) => *a = at,
                // A futex_waitv waiter moves only the futex that matched.
                (Some(at), Some(Some(Pending::FutexV { keys, .. }))) => {
                    if let Some(k) = keys.get_mut(i as usize) {
                        k.0 = at;
                    }
                }
                _ => {}
            }
        }
        Ok((wake.len() + moved.len()) as u64)
    }

    #[allow(clippy::too_many_arguments)]
    fn futex_wake_op(&mut self, h: &mut dyn Host, pid: u32, abi: Abi, key: Key, nr_wake: u64, nr_wake2: u64, addr2: u64, encoded: u32) -> Result<u64, Errno> {
        if addr2 % 4 != 0 {
            return Err(Errno::EINVAL);
        }
        // Read, compute, compare-and-exchange until no other thread changed
        // the word in between (they may run on other CPUs meanwhile).
        let mut old = self.read_word(h, pid, abi, addr2)?;
        let wake2 = loop {
            let (new, wake2) = futex::wake_op(encoded, old)?;
            let seen = self.serve(h, pid, |p, h| p.cmpxchg_user(h, abi, addr2, old, new)).ok_or(Errno::ESRCH)??;
            if seen == old {
                break wake2;
            }
            old = seen;
        };
        let mut n = self.futex_wake(pid, key, FUTEX_BITSET_MATCH_ANY, futex::wake_count(nr_wake));
        if wake2 {
            n += self.futex_wake(pid, Key { addr: addr2, ..key }, FUTEX_BITSET_MATCH_ANY, futex::wake_count(nr_wake2));
        }
        Ok(n)
    }
}

/// Walk the served thread's robust list (set_robust_list): every futex it
/// still holds gets FUTEX_OWNER_DIED; returns the addresses with waiters
/// to wake. A list that cannot be read ends the walk, as on Linux.
fn release_robust(p: &mut crate::process::Process, h: &mut dyn Host, abi: Abi) -> Vec<u64> {
    let (head, _) = p.robust_list;
    let mut wake = Vec::new();
    if head == 0 {
        return wake;
    }
    let w = abi.word();
    let word = |p: &mut crate::process::Process, h: &mut dyn Host, at: u64| -> Option<u64> {
        let b = p.read_user(h, abi, at, w).ok()?;
        let mut v = [0u8; 8];
        v[..w].copy_from_slice(&b[..w]);
        Some(u64::from_le_bytes(v))
    };
    let Some(first) = word(p, h, head) else { return wake };
    let Some(offset) = word(p, h, head + w as u64) else { return wake };
    let Some(pending) = word(p, h, head + 2 * w as u64) else { return wake };
    // futex_offset is a signed long.
    let offset = if w == 4 { offset as u32 as i32 as i64 } else { offset as i64 };
    let tid = p.tid;
    let release = |p: &mut crate::process::Process, h: &mut dyn Host, entry: u64, wake: &mut Vec<u64>| {
        let uaddr = (entry as i64).wrapping_add(offset) as u64;
        let uaddr = if w == 4 { uaddr & 0xffff_ffff } else { uaddr };
        let Ok(b) = p.read_user(h, abi, uaddr, 4) else { return };
        let mut v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        // Atomically, as Linux: other threads may take or wait on the lock
        // on other CPUs meanwhile (setting FUTEX_WAITERS).
        loop {
            if v & FUTEX_TID_MASK != tid {
                return;
            }
            let new = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
            match p.cmpxchg_user(h, abi, uaddr, v, new) {
                Ok(seen) if seen == v => break,
                Ok(seen) => v = seen,
                Err(_) => return,
            }
        }
        if v & FUTEX_WAITERS != 0 {
            wake.push(uaddr);
        }
    };
    // Bit 0 of an entry marks a PI futex; the address is the rest.
    let mut entry = first & !1;
    let pending = pending & !1;
    let mut n = 0;
    while entry != head && entry != 0 && n < ROBUST_LIST_LIMIT {
        let next = word(p, h, entry);
        if entry != pending {
            release(p, h, entry, &mut wake);
        }
        let Some(next) = next else { break };
        entry = next & !1;
        n += 1;
    }
    if pending != 0 {
        release(p, h, pending, &mut wake);
    }
    wake
}
