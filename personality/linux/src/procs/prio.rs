//! Nice values: getpriority, setpriority and the i386 nice call, per
//! process (Linux keeps one per thread; a thread's id names its process
//! here). The values are kept and reported; the node's scheduler has a
//! single priority, so they change nothing else.

use super::{Life, Procs};
use crate::linux::{CAP_SYS_ADMIN, CAP_SYS_NICE, PRIO_PGRP, PRIO_PROCESS, PRIO_USER, RLIMIT_NICE};
use crate::errno::Errno;

const MIN_NICE: i32 = -20;
const MAX_NICE: i32 = 19;

impl Procs {
    /// The running processes `which`/`who` names (ESRCH if none, EINVAL
    /// for an unknown `which`).
    fn prio_targets(&self, pid: u32, which: i32, who: i32) -> Result<alloc::vec::Vec<u32>, Errno> {
        let me = self.members.get(&pid).ok_or(Errno::ESRCH)?;
        let running = self.members.iter().filter_map(|(&p, m)| match &m.life {
            Life::Running { proc, .. } => Some((p, m, proc)),
            _ => None,
        });
        let t: alloc::vec::Vec<u32> = match which {
            PRIO_PROCESS => {
                let who = if who == 0 { pid } else { who as u32 };
                running.filter(|(p, _, proc)| *p == who || proc.has_thread(who)).map(|x| x.0).collect()
            }
            PRIO_PGRP => {
                let g = if who == 0 { me.pgid } else { who as u32 };
                running.filter(|(_, m, _)| m.pgid == g).map(|x| x.0).collect()
            }
            PRIO_USER => {
                let uid = if who == 0 { self.proc_ref(pid).map_or(0, |p| p.uid) } else { who as u32 };
                running.filter(|(_, _, proc)| proc.uid == uid).map(|x| x.0).collect()
            }
            _ => return Err(Errno::EINVAL),
        };
        if t.is_empty() {
            return Err(Errno::ESRCH);
        }
        Ok(t)
    }

    /// getpriority: `20 - nice` of the highest-priority target, as the
    /// raw Linux call returns it (the libcs turn it back into a nice value).
    pub(crate) fn getpriority(&self, pid: u32, which: i32, who: i32) -> Result<u64, Errno> {
        let t = self.prio_targets(pid, which, who)?;
        let best = t.iter().filter_map(|&p| self.proc_ref(p)).map(|p| 20 - p.nice).max().unwrap_or(0);
        Ok(best as u64)
    }

    /// setpriority: EPERM for a target of another user (without root),
    /// EACCES for lowering a nice value below what RLIMIT_NICE allows
    /// (without root); the last error wins, as Linux's loop does.
    pub(crate) fn setpriority(&mut self, pid: u32, which: i32, who: i32, nice: i32) -> Result<u64, Errno> {
        let nice = nice.clamp(MIN_NICE, MAX_NICE);
        let t = self.prio_targets(pid, which, who)?;
        let uid = self.proc_ref(pid).map_or(0, |p| p.uid);
        let mut r = Err(Errno::ESRCH);
        for p in t {
            let Some(proc) = self.proc_mut(p) else { continue };
            if uid != 0 && proc.uid != uid {
                r = Err(Errno::EPERM);
            } else if nice < proc.nice && uid != 0 && (20 - nice) as u64 > proc.rlimits[RLIMIT_NICE].0 {
                r = Err(Errno::EACCES);
            } else {
                if r == Err(Errno::ESRCH) {
                    r = Ok(0);
                }
                proc.nice = nice;
            }
        }
        r
    }

    /// The i386 `nice(inc)` call: EPERM (not EACCES) when not allowed.
    pub(crate) fn nice(&mut self, pid: u32, inc: i32) -> Result<u64, Errno> {
        let inc = inc.clamp(-40, 40);
        let Some(p) = self.proc_mut(pid) else { return Err(Errno::ESRCH) };
        let nice = (p.nice + inc).clamp(MIN_NICE, MAX_NICE);
        if inc < 0 && p.uid != 0 && (20 - nice) as u64 > p.rlimits[RLIMIT_NICE].0 {
            return Err(Errno::EPERM);
        }
        p.nice = nice;
        Ok(0)
    }

    /// ioprio_get: the highest I/O priority among the targets (`which`
    /// IOPRIO_WHO_PROCESS, _PGRP, _USER); a process that never set one has
    /// Linux's default, best effort at the level its nice value gives.
    pub(crate) fn ioprio_get(&self, pid: u32, which: i32, who: i32) -> Result<u64, Errno> {
        let t = self.prio_targets(pid, which - 1, who)?;
        let prio = |p: &crate::process::Process| p.ioprio.unwrap_or(ioprio_value(IOPRIO_CLASS_BE, ((p.nice + 20) / 5) as u32));
        // Lower class, then lower level, is higher priority (NONE last).
        let rank = |v: u32| if v >> 13 == 0 { u32::MAX } else { v };
        Ok(t.iter().filter_map(|&p| self.proc_ref(p)).map(prio).min_by_key(|&v| rank(v)).unwrap_or(0) as u64)
    }

    /// ioprio_set: a class and level (RT needs CAP_SYS_ADMIN; IDLE has no
    /// level); another user's process needs CAP_SYS_NICE. Kept and
    /// reported: the node's files are in memory, there is no I/O to order.
    pub(crate) fn ioprio_set(&mut self, pid: u32, which: i32, who: i32, ioprio: u32) -> Result<u64, Errno> {
        let (class, level) = (ioprio >> 13, ioprio & 0x1fff);
        match class {
            IOPRIO_CLASS_NONE if level != 0 => return Err(Errno::EINVAL),
            IOPRIO_CLASS_RT | IOPRIO_CLASS_BE if level >= 8 => return Err(Errno::EINVAL),
            IOPRIO_CLASS_NONE | IOPRIO_CLASS_BE | IOPRIO_CLASS_IDLE => {}
            IOPRIO_CLASS_RT => {
                if !self.proc_ref(pid).is_some_and(|p| p.capable(CAP_SYS_ADMIN)) {
                    return Err(Errno::EPERM);
                }
            }
            _ => return Err(Errno::EINVAL),
        }
        let t = self.prio_targets(pid, which - 1, who)?;
        let (uid, nice_cap) = self.proc_ref(pid).map_or((0, false), |p| (p.uid, p.capable(CAP_SYS_NICE)));
        let mut r = Err(Errno::ESRCH);
        for p in t {
            let Some(proc) = self.proc_mut(p) else { continue };
            if proc.uid != uid && !nice_cap {
                r = Err(Errno::EPERM);
                continue;
            }
            proc.ioprio = Some(ioprio);
            r = Ok(0);
        }
        r
    }
}

const IOPRIO_CLASS_NONE: u32 = 0;
const IOPRIO_CLASS_RT: u32 = 1;
const IOPRIO_CLASS_BE: u32 = 2;
const IOPRIO_CLASS_IDLE: u32 = 3;

const fn ioprio_value(class: u32, level: u32) -> u32 {
    class << 13 | level
}
