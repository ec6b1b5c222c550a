//! Identity: process and thread ids, user and group ids (the i386 16-bit
//! variants report ids above 65535 as the overflow id 65534).

use super::{Args, Ctx};
use crate::layout::Abi;
use crate::process::Outcome;

pub fn getpid(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| Ok(p.pid as u64))
}

pub fn gettid(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| Ok(p.tid as u64))
}

/// An id as the call reports it: the old i386 calls have 16 bits.
fn id(id: u32, bits16: bool) -> u64 {
    if bits16 && id > 0xffff {
        65534
    } else {
        id as u64
    }
}

/// The old i386 calls (getuid, not getuid32) are the 16-bit ones.
fn old16(a: Args) -> bool {
    a.abi == Abi::I386
}

pub fn getuid(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| Ok(id(p.uid, old16(a))))
}

pub fn geteuid(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| Ok(id(p.uid, old16(a))))
}

pub fn getgid(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| Ok(id(p.gid, old16(a))))
}

pub fn getegid(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| Ok(id(p.gid, old16(a))))
}

/// i386 `getuid32` and friends: full ids.
pub fn getuid32(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| Ok(p.uid as u64))
}

pub fn getgid32(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| Ok(p.gid as u64))
}
