//! The scheduler as a process sees it: the node's CPUs, any of which may
//! run any thread (no affinity), SCHED_OTHER, priority 0 (nice values are
//! the process table's, `procs/prio.rs`).

use super::{reply, Args, Ctx};
use crate::layout::{TimeBits, Timespec};
use crate::linux::{SCHED_FIFO, SCHED_RESET_ON_FORK};

/// The node's time slice (the kernel's `SLICE_NS`).
const SLICE_NS: u64 = 10_000_000;
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

/// The process a sched_* call names (0: the caller; below 0: EINVAL).
fn target(cx: &mut Ctx, pid: i32) -> Result<u32, Errno> {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    cx.procs.target(cx.pid, pid)
}

pub fn sched_getscheduler(cx: &mut Ctx, a: Args) -> Outcome {
    reply(target(cx, a.i32(0)).map(|t| cx.procs.sched_of(t).map_or(0, |s| s.0 as u64)))
}

pub fn sched_getparam(cx: &mut Ctx, a: Args) -> Outcome {
    let prio = match target(cx, a.i32(0)) {
        Ok(t) => cx.procs.sched_of(t).map_or(0, |s| s.1),
        Err(e) => return e.into(),
    };
    if a.ptr(1) == 0 {
        return Errno::EINVAL.into();
    }
    cx.process(|p, h| p.write_user(h, a.abi, a.ptr(1), &prio.to_le_bytes()).map(|_| 0))
}

/// The `sched_priority` of a `struct sched_param` (NULL: EINVAL).
fn read_param(cx: &mut Ctx, a: Args, at: u64) -> Result<u32, Outcome> {
    if at == 0 {
        return Err(Errno::EINVAL.into());
    }
    let mut prio = 0;
    match cx.process(|p, h| {
        let b = p.read_user(h, a.abi, at, 4)?;
        prio = i32::from_le_bytes(b.try_into().unwrap());
        Ok(0)
    }) {
        // A negative priority is out of every policy's range.
        Outcome::Reply(0) => u32::try_from(prio).map_err(|_| Errno::EINVAL.into()),
        o => Err(o),
    }
}

pub fn sched_setscheduler(cx: &mut Ctx, a: Args) -> Outcome {
    let (pid, policy) = (a.i32(0), a.i32(1));
    if pid < 0 || policy < 0 {
        return Errno::EINVAL.into();
    }
    let prio = match read_param(cx, a, a.ptr(2)) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let caller = cx.pid;
    reply(target(cx, pid).and_then(|t| cx.procs.set_sched(caller, t, Some(policy as u32), prio)))
}

pub fn sched_setparam(cx: &mut Ctx, a: Args) -> Outcome {
    if a.i32(0) < 0 {
        return Errno::EINVAL.into();
    }
    let prio = match read_param(cx, a, a.ptr(1)) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let caller = cx.pid;
    reply(target(cx, a.i32(0)).and_then(|t| cx.procs.set_sched(caller, t, None, prio)))
}

/// SCHED_RR's quantum: the node's time slice (SCHED_FIFO has none: 0),
/// which every thread gets here.
pub fn sched_rr_get_interval(cx: &mut Ctx, a: Args) -> Outcome {
    rr_interval(cx, a, a.time_bits())
}

/// i386's sched_rr_get_interval_time64.
pub fn sched_rr_get_interval_time64(cx: &mut Ctx, a: Args) -> Outcome {
    rr_interval(cx, a, TimeBits::B64)
}

fn rr_interval(cx: &mut Ctx, a: Args, bits: TimeBits) -> Outcome {
    let policy = match target(cx, a.i32(0)) {
        Ok(t) => cx.procs.sched_of(t).map_or(0, |s| s.0 & !SCHED_RESET_ON_FORK),
        Err(e) => return e.into(),
    };
    let ns = if policy == SCHED_FIFO { 0 } else { SLICE_NS };
    cx.process(|p, h| p.write_user(h, a.abi, a.ptr(1), &Timespec::from_ns(ns).encode(bits)).map(|_| 0))
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

pub fn ioprio_get(cx: &mut Ctx, a: Args) -> Outcome {
    reply(cx.procs.ioprio_get(cx.pid, a.i32(0), a.i32(1)))
}

pub fn ioprio_set(cx: &mut Ctx, a: Args) -> Outcome {
    reply(cx.procs.ioprio_set(cx.pid, a.i32(0), a.i32(1), a.u32(2)))
}
