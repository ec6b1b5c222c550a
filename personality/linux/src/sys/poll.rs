//! Waiting for descriptors: poll, ppoll, select, pselect6 (the i386 old
//! `select` takes its arguments from memory). The `*_time64` forms of i386
//! take 64-bit timespecs.

use super::{Args, Ctx};
use crate::layout::TimeBits;
use crate::process::Outcome;

pub fn poll(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_poll(h, a.abi, a.ptr(0), a.u64(1), a.i32(2) as i64))
}

pub fn ppoll(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| ppoll_as(p, h, a, a.time_bits()))
}

pub fn ppoll_time64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| ppoll_as(p, h, a, TimeBits::B64))
}

/// x86_64 `select`, i386 `_newselect`: a timeval.
pub fn select(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        p.sys_select(
            h,
            a.abi,
            a.i32(0),
            a.ptr(1),
            a.ptr(2),
            a.ptr(3),
            a.ptr(4),
            None,
        )
    })
}

/// i386 `select` (number 82): the five arguments in a structure in memory.
pub fn old_select(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let b = p.read_user(h, a.abi, a.ptr(0), 20)?;
        let w = |i: usize| {
            u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]) as u64
        };
        p.sys_select(h, a.abi, w(0) as i32, w(1), w(2), w(3), w(4), None)
    })
}

/// A timespec of the ABI's width (`pselect6_time64`: 64 bits).
pub fn pselect6(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        p.sys_select(
            h,
            a.abi,
            a.i32(0),
            a.ptr(1),
            a.ptr(2),
            a.ptr(3),
            a.ptr(4),
            Some(a.time_bits()),
        )
    })
}

pub fn pselect6_time64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        p.sys_select(
            h,
            a.abi,
            a.i32(0),
            a.ptr(1),
            a.ptr(2),
            a.ptr(3),
            a.ptr(4),
            Some(TimeBits::B64),
        )
    })
}

fn ppoll_as(
    p: &mut crate::process::Process,
    h: &mut dyn crate::host::Host,
    a: Args,
    bits: TimeBits,
) -> crate::errno::SysResult {
    let timeout = if a.ptr(2) == 0 {
        -1
    } else {
        (p.read_timespec(h, a.abi, a.ptr(2), bits)? / 1_000_000) as i64
    };
    p.sys_poll(h, a.abi, a.ptr(0), a.u64(1), timeout)
}
