//! Nice values: getpriority, setpriority and the i386 nice call, per
//! process (Linux keeps one per thread; a thread's id names its process
//! here). The values are kept and reported; the node's scheduler has a
//! single priority, so they change nothing else.

use super::{Life, Procs};
use crate::linux::{PRIO_PGRP, PRIO_PROCESS, PRIO_USER, RLIMIT_NICE};
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
}
