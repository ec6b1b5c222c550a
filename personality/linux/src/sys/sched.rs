//! The scheduler as a process sees it: the node's CPUs, any of which may
//! run any thread (no affinity), SCHED_OTHER, priority 0 (nice values are
//! the process table's, `procs/prio.rs`).

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::process::Outcome;

pub fn sched_yield(_cx: &mut Ctx, _a: Args) -> Outcome {
    Outcome::Reply(0)
}

pub fn sched_getaffinity(cx: &mut Ctx, a: Args) -> Outcome {
    let (pid, len, mask) = (a.i32(0), a.u32(1) as usize, a.ptr(2));
    cx.process(|p, h| {
        let w = a.abi.word();
        if pid != 0 && pid as u32 != p.pid {
            Err(Errno::ESRCH)
        } else {
            // Every CPU of the node, in whole words as Linux writes it.
            let cpus = h.node_info().cpus.clamp(1, 1024) as usize;
            let bytes = cpus.div_ceil(8).div_ceil(w) * w;
            if len % w != 0 || len < bytes {
                return Err(Errno::EINVAL);
            }
            let mut b = alloc::vec![0u8; bytes];
            for c in 0..cpus {
                b[c / 8] |= 1 << (c % 8);
            }
            p.write_user(h, a.abi, mask, &b).map(|_| bytes as u64)
        }
    })
}

pub fn sched_setaffinity(cx: &mut Ctx, a: Args) -> Outcome {
    let (pid, len, mask) = (a.i32(0), a.u32(1) as usize, a.ptr(2));
    cx.process(|p, h| {
        if pid != 0 && pid as u32 != p.pid {
            return Err(Errno::ESRCH);
        }
        // Threads run on any CPU: only a mask that allows them all can be
        // honoured; a narrower one is refused rather than ignored.
        let cpus = h.node_info().cpus.clamp(1, 1024) as usize;
        let b = p.read_user(h, a.abi, mask, len.min(128))?;
        let allows = |c: usize| b.get(c / 8).is_some_and(|x| x & (1 << (c % 8)) != 0);
        if (0..cpus).all(allows) {
            Ok(0)
        } else {
            Err(Errno::EINVAL)
        }
    })
}

pub fn getcpu(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        for at in [a.ptr(0), a.ptr(1)] {
            if at != 0 {
                p.write_user(h, a.abi, at, &0u32.to_le_bytes())?;
            }
        }
        Ok(0)
    })
}

/// The caller itself (pid 0 or its own): ESRCH for others, EINVAL below 0.
fn own(p: &crate::process::Process, pid: i32) -> Result<(), Errno> {
    if pid < 0 {
        Err(Errno::EINVAL)
    } else if pid != 0 && pid as u32 != p.pid {
        Err(Errno::ESRCH)
    } else {
        Ok(())
    }
}

pub fn sched_getscheduler(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| own(p, a.i32(0)).map(|_| 0)) // SCHED_OTHER
}

pub fn sched_getparam(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        own(p, a.i32(0))?;
        p.write_user(h, a.abi, a.ptr(1), &0u32.to_le_bytes()).map(|_| 0)
    })
}

fn priority_range(a: Args, max: bool) -> Outcome {
    match a.u32(0) {
        0 | 3 | 5 => Outcome::Reply(0),
        1 | 2 => Outcome::Reply(if max { 99 } else { 1 }),
        _ => Errno::EINVAL.into(),
    }
}

pub fn sched_get_priority_max(_cx: &mut Ctx, a: Args) -> Outcome {
    priority_range(a, true)
}

pub fn sched_get_priority_min(_cx: &mut Ctx, a: Args) -> Outcome {
    priority_range(a, false)
}
