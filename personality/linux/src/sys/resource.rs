//! Resource limits and usage.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::layout::{push_word, Abi, RlimitLayout};
use crate::process::Outcome;
use alloc::vec::Vec;

pub fn prlimit64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_prlimit64(h, a.abi, a.i32(0), a.u32(1), a.ptr(2), a.ptr(3)))
}

fn getrlimit_as(cx: &mut Ctx, a: Args, layout: RlimitLayout) -> Outcome {
    let res = a.u32(0) as usize;
    if res >= 16 {
        return Errno::EINVAL.into();
    }
    cx.process(|p, h| {
        let (cur, max) = p.rlimits[res];
        p.write_user(h, a.abi, a.ptr(1), &layout.encode(cur, max)).map(|_| 0)
    })
}

/// x86_64's, and i386's old one (infinity as 0x7fffffff).
pub fn getrlimit(cx: &mut Ctx, a: Args) -> Outcome {
    getrlimit_as(cx, a, if a.abi == Abi::I386 { RlimitLayout::OldU32 } else { RlimitLayout::U64 })
}

/// i386 `ugetrlimit`: 32-bit limits, infinity as 0xffffffff.
pub fn ugetrlimit(cx: &mut Ctx, a: Args) -> Outcome {
    getrlimit_as(cx, a, RlimitLayout::U32)
}

pub fn setrlimit(cx: &mut Ctx, a: Args) -> Outcome {
    let res = a.u32(0) as usize;
    if res >= 16 {
        return Errno::EINVAL.into();
    }
    let layout = if a.abi == Abi::I386 { RlimitLayout::U32 } else { RlimitLayout::U64 };
    cx.process(|p, h| {
        let b = p.read_user(h, a.abi, a.ptr(1), layout.size())?;
        p.set_rlimit(res, layout.decode(&b)).map(|_| 0)
    })
}

/// All the CPU time counts as user time; no children are counted.
/// The process's user time (its threads' CPU time), system time (the
/// server's on its calls) and its waited-for children's, in clock ticks.
pub fn times(cx: &mut Ctx, a: Args) -> Outcome {
    let (user, sys, cuser, csys) = cx.procs.cpu_times(cx.h, cx.pid);
    cx.process(|p, h| {
        if a.ptr(0) != 0 {
            let mut b = Vec::new();
            for v in [user, sys, cuser, csys] {
                push_word(a.abi, &mut b, v / 10_000_000);
            }
            p.write_user(h, a.abi, a.ptr(0), &b)?;
        }
        // Clock ticks since boot (the value Linux returns, offset as Linux does).
        let t = h.now_ns() / 10_000_000;
        Ok(if a.abi == Abi::I386 { t & 0xffff_ffff } else { t })
    })
}

/// User and system time (RUSAGE_SELF: the process's, RUSAGE_CHILDREN:
/// its waited-for children's, RUSAGE_THREAD: the thread's CPU time) and
/// the maximum resident size; the rest 0.
pub fn getrusage(cx: &mut Ctx, a: Args) -> Outcome {
    let who = a.i32(0);
    if !matches!(who, 0 | -1 | 1) {
        return Errno::EINVAL.into();
    }
    let (user, sys, cuser, csys) = cx.procs.cpu_times(cx.h, cx.pid);
    cx.process(|p, h| {
        let abi = a.abi;
        let (u, s) = match who {
            -1 => (cuser, csys),
            1 => (h.cpu_ns(), 0),
            _ => (user, sys),
        };
        let mut b = Vec::new();
        for t in [u, s] {
            push_word(abi, &mut b, t / 1_000_000_000);
            push_word(abi, &mut b, t % 1_000_000_000 / 1000);
        }
        let maxrss = if who == -1 { 0 } else { h.node_info().space_bytes / 1024 };
        push_word(abi, &mut b, maxrss);
        for _ in 0..13 {
            push_word(abi, &mut b, 0);
        }
        p.write_user(h, abi, a.ptr(1), &b).map(|_| 0)
    })
}
