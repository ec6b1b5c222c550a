//! Resource limits.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::layout::{Abi, RlimitLayout};
use crate::process::Outcome;

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
