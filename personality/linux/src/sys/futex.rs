//! Futexes: the wait queues of the process table (`procs/threads.rs`), keyed
//! by process and address, or by shared mapping and offset.

use super::{Args, Ctx};
use crate::layout::TimeBits;
use crate::process::Outcome;

pub fn futex(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.futex(cx.h, cx.pid, a.abi, a.time_bits(), cx.call)
}

/// i386 `futex_time64`: a 64-bit timespec.
pub fn futex_time64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.futex(cx.h, cx.pid, a.abi, TimeBits::B64, cx.call)
}

/// futex_waitv (x86_64 and i386 449; its timeout is a 64-bit timespec on both).
pub fn futex_waitv(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.futex_waitv(cx.h, cx.pid, a.abi, cx.call)
}
