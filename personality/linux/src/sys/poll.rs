//! Waiting for descriptors: poll, ppoll, select, pselect6 (the i386 old
//! `select` takes its arguments from memory). The `*_time64` forms of i386
//! take 64-bit timespecs.

use super::{Args, Ctx};
use crate::errno::{Errno, SysResult};
use crate::host::Host;
use crate::layout::{get_word, TimeBits};
use crate::process::{Outcome, Process, BLOCK};
use crate::signal::UNBLOCKABLE;

/// Run a wait with the signal mask at `set` (a `sigset_t` of `size` bytes;
/// none when `set` is 0) in place of the thread's, as ppoll, pselect6 and
/// epoll_pwait do: a call that finishes at once gets its mask back now; one
/// that waits keeps the old mask aside (`suspend_mask`), given back when it
/// finishes or by the frame of a signal that interrupts it (as sigsuspend).
pub(crate) fn with_mask(
    p: &mut Process,
    h: &mut dyn Host,
    a: Args,
    set: u64,
    size: u64,
    wait: impl FnOnce(&mut Process, &mut dyn Host) -> SysResult,
) -> SysResult {
    if set == 0 {
        return wait(p, h);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let b = p.read_user(h, a.abi, set, 8)?;
    let mask = u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let old = p.sig.mask;
    p.sig.mask = mask & !UNBLOCKABLE;
    let r = wait(p, h);
    if r == Err(BLOCK) && p.pending.is_some() {
        p.sig.suspend_mask = Some(old);
    } else {
        p.sig.mask = old;
    }
    r
}

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
    cx.process(|p, h| p.sys_select(h, a.abi, a.i32(0), a.ptr(1), a.ptr(2), a.ptr(3), a.ptr(4), None))
}

/// i386 `select` (number 82): the five arguments in a structure in memory.
pub fn old_select(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let b = p.read_user(h, a.abi, a.ptr(0), 20)?;
        let w = |i: usize| u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]) as u64;
        p.sys_select(h, a.abi, w(0) as i32, w(1), w(2), w(3), w(4), None)
    })
}

/// A timespec of the ABI's width (`pselect6_time64`: 64 bits).
pub fn pselect6(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| pselect6_as(p, h, a, a.time_bits()))
}

pub fn pselect6_time64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| pselect6_as(p, h, a, TimeBits::B64))
}

/// ppoll(fds, nfds, timeout, sigmask, sigsetsize).
fn ppoll_as(p: &mut Process, h: &mut dyn Host, a: Args, bits: TimeBits) -> SysResult {
    let timeout = if a.ptr(2) == 0 { -1 } else { (p.read_timespec(h, a.abi, a.ptr(2), bits)? / 1_000_000) as i64 };
    with_mask(p, h, a, a.ptr(3), a.u64(4), |p, h| p.sys_poll(h, a.abi, a.ptr(0), a.u64(1), timeout))
}

/// pselect6's sixth argument: the address of `{ const sigset_t *ss; size_t ss_len }` (words of the ABI).
fn pselect6_as(p: &mut Process, h: &mut dyn Host, a: Args, bits: TimeBits) -> SysResult {
    let (set, size) = if a.ptr(5) == 0 {
        (0, 0)
    } else {
        let w = a.abi.word();
        let b = p.read_user(h, a.abi, a.ptr(5), 2 * w)?;
        (get_word(a.abi, &b), get_word(a.abi, &b[w..]))
    };
    with_mask(p, h, a, set, size, |p, h| p.sys_select(h, a.abi, a.i32(0), a.ptr(1), a.ptr(2), a.ptr(3), a.ptr(4), Some(bits)))
}
