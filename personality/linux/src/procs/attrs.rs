//! Attributes one process may read or set on another of the job:
//! capability sets (capget/capset) and the scheduling policy
//! (sched_setscheduler and friends). The policy is kept and reported; the
//! node's scheduler runs every thread round-robin in one class.

use super::{Life, Procs};
use crate::errno::Errno;
use crate::linux::*;
use crate::process::Caps;

/// The most a SCHED_FIFO or SCHED_RR priority may be.
pub const MAX_RT_PRIO: u32 = 99;

impl Procs {
    /// The running process `pid` names for a call of `caller`: itself for
    /// 0, a process by its id or by one of its threads' ids; ESRCH if none
    /// (a negative id too: the calls that refuse one with EINVAL check first).
    /// A zombie is found too, as Linux finds an ended task not yet waited
    /// for; what it reports is then the default.
    pub(crate) fn target(&self, caller: u32, pid: i32) -> Result<u32, Errno> {
        if pid < 0 {
            return Err(Errno::ESRCH);
        }
        if pid == 0 {
            return Ok(caller);
        }
        let pid = pid as u32;
        self.members
            .iter()
            .find_map(|(&p, m)| match &m.life {
                Life::Running { proc, .. } if p == pid || proc.has_thread(pid) => Some(p),
                _ if p == pid => Some(p),
                _ => None,
            })
            .ok_or(Errno::ESRCH)
    }

    pub(crate) fn caps_of(&self, pid: u32) -> Option<Caps> {
        Some(self.proc_ref(pid).map_or(Caps::default(), |p| p.caps))
    }

    /// capset on the caller itself, with Linux's rules: no capability
    /// gained in the permitted set, effective within the new permitted,
    /// inheritable within the old inheritable and permitted.
    pub(crate) fn set_caps(&mut self, pid: u32, new: Caps) -> Result<u64, Errno> {
        let p = self.proc_mut(pid).ok_or(Errno::ESRCH)?;
        let old = p.caps;
        let within = |a: u64, b: u64| a & !b == 0;
        let setpcap = old.effective & (1 << CAP_SETPCAP) != 0;
        let inheritable_room = if setpcap { Caps::ALL } else { old.inheritable | old.permitted };
        if !within(new.permitted, old.permitted)
            || !within(new.effective, new.permitted)
            || !within(new.inheritable, inheritable_room)
            || !within(new.inheritable, old.inheritable | old.bounding)
        {
            return Err(Errno::EPERM);
        }
        // The ambient set stays within the new permitted and inheritable sets.
        p.caps = Caps { bounding: old.bounding, ambient: old.ambient & new.permitted & new.inheritable, ..new };
        Ok(0)
    }

    /// The policy (with SCHED_RESET_ON_FORK) and priority of process `pid`.
    pub(crate) fn sched_of(&self, pid: u32) -> Option<(u32, u32)> {
        Some(self.proc_ref(pid).map_or((SCHED_OTHER, 0), |p| p.sched))
    }

    /// sched_setscheduler and sched_setparam (`policy` None: keep it) of
    /// `caller` on `target`: EINVAL for an unknown policy or a priority out
    /// of its range, EPERM for a real-time policy without CAP_SYS_NICE or
    /// RLIMIT_RTPRIO, or for another user's process without it.
    pub(crate) fn set_sched(&mut self, caller: u32, target: u32, policy: Option<u32>, prio: u32) -> Result<u64, Errno> {
        let (uid, privileged, rtprio) = {
            let c = self.proc_ref(caller).ok_or(Errno::ESRCH)?;
            (c.uid, c.caps.effective & (1 << CAP_SYS_NICE) != 0, c.rlimits[RLIMIT_RTPRIO].0)
        };
        let Some(t) = self.proc_mut(target) else { return Ok(0) }; // a zombie: nothing to change
        let policy = policy.unwrap_or(t.sched.0);
        let (class, reset) = (policy & !SCHED_RESET_ON_FORK, policy & SCHED_RESET_ON_FORK);
        let realtime = match class {
            SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => false,
            SCHED_FIFO | SCHED_RR => true,
            _ => return Err(Errno::EINVAL),
        };
        if realtime != (1..=MAX_RT_PRIO).contains(&prio) {
            return Err(Errno::EINVAL);
        }
        if !privileged {
            if t.uid != uid {
                return Err(Errno::EPERM);
            }
            if realtime && prio as u64 > rtprio && prio > t.sched.1 {
                return Err(Errno::EPERM);
            }
            // Only root may take SCHED_RESET_ON_FORK back.
            if t.sched.0 & SCHED_RESET_ON_FORK != 0 && reset == 0 {
                return Err(Errno::EPERM);
            }
        }
        t.sched = (policy, prio);
        Ok(0)
    }

    /// kcmp: whether two processes share a resource (0), or their order
    /// (1 less, 2 greater). Every process of the job has its own memory,
    /// descriptor table, fs context, signal handlers, I/O context and undo
    /// list; KCMP_FILE compares two open file descriptions. Both processes
    /// must be the caller's user's (or it holds CAP_SYS_PTRACE).
    pub(crate) fn kcmp(&self, caller: u32, pid1: i32, pid2: i32, kind: i32, idx1: u64, idx2: u64) -> Result<u64, Errno> {
        let (t1, t2) = (self.target(caller, pid1)?, self.target(caller, pid2)?);
        let me = self.proc_ref(caller).ok_or(Errno::ESRCH)?;
        for t in [t1, t2] {
            // A zombie has nothing left to compare.
            let p = self.proc_ref(t).ok_or(Errno::ESRCH)?;
            if p.uid != me.uid && !me.capable(CAP_SYS_PTRACE) {
                return Err(Errno::EPERM);
            }
        }
        let order = |a: usize, b: usize| (a < b) as u64 | ((a > b) as u64) << 1;
        match kind {
            KCMP_FILE => {
                let file = |t: u32, fd: u64| -> Result<usize, Errno> {
                    let p = self.proc_ref(t).ok_or(Errno::ESRCH)?;
                    let e = p.files.fds.get(&(i32::try_from(fd).map_err(|_| Errno::EBADF)?)).ok_or(Errno::EBADF)?;
                    Ok(alloc::rc::Rc::as_ptr(&e.file) as usize)
                };
                Ok(order(file(t1, idx1)?, file(t2, idx2)?))
            }
            KCMP_VM..=KCMP_SYSVSEM => Ok(order(t1 as usize, t2 as usize)),
            KCMP_EPOLL_TFD => Err(Errno::EOPNOTSUPP),
            _ => Err(Errno::EINVAL),
        }
    }
}

const KCMP_FILE: i32 = 0;
const KCMP_VM: i32 = 1;
const KCMP_SYSVSEM: i32 = 6;
const KCMP_EPOLL_TFD: i32 = 7;
