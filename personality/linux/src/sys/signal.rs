//! Signals: sending (kill, tkill, tgkill, the queued variants), handling
//! (sigaction and the old i386 forms, the mask, the alternate stack,
//! sigreturn) and waiting (sigsuspend, pause, rt_sigtimedwait). Delivery
//! and the frames are in `signal.rs` and the process table.

use super::{reply, Args, Ctx};
use crate::errno::Errno;
use crate::layout::TimeBits;
use crate::process::Outcome;
use crate::signal::{FrameKind, UNBLOCKABLE};

pub fn kill(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.kill(cx.h, cx.pid, a.i32(0), a.u64(1))
}

pub fn tkill(cx: &mut Ctx, a: Args) -> Outcome {
    if a.i32(0) <= 0 {
        return Errno::EINVAL.into();
    }
    cx.procs.kill_thread(cx.h, cx.pid, None, a.u32(0), a.u64(1), None)
}

pub fn tgkill(cx: &mut Ctx, a: Args) -> Outcome {
    if a.i32(0) <= 0 || a.i32(1) <= 0 {
        return Errno::EINVAL.into();
    }
    cx.procs.kill_thread(cx.h, cx.pid, Some(a.u32(0)), a.u32(1), a.u64(2), None)
}

pub fn rt_sigqueueinfo(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.sigqueueinfo(cx.h, cx.pid, a.abi, a.i32(0), None, a.u64(1), a.ptr(2))
}

pub fn rt_tgsigqueueinfo(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.sigqueueinfo(cx.h, cx.pid, a.abi, a.i32(0), Some(a.i32(1)), a.u64(2), a.ptr(3))
}

pub fn rt_sigaction(cx: &mut Ctx, a: Args) -> Outcome {
    reply(cx.procs.sigaction(cx.h, cx.pid, a.abi, a.u64(0), a.ptr(1), a.ptr(2), Some(a.u64(3))))
}

/// i386 `sigaction` with the old structure.
pub fn sigaction(cx: &mut Ctx, a: Args) -> Outcome {
    reply(cx.procs.sigaction(cx.h, cx.pid, a.abi, a.u64(0), a.ptr(1), a.ptr(2), None))
}

/// i386 `signal(sig, handler)`.
pub fn signal(cx: &mut Ctx, a: Args) -> Outcome {
    reply(cx.procs.signal_call(cx.h, cx.pid, a.u64(0), a.u64(1)))
}

pub fn rt_sigprocmask(cx: &mut Ctx, a: Args) -> Outcome {
    if a.u64(3) != 8 {
        return Errno::EINVAL.into();
    }
    cx.procs.sigprocmask(cx.h, cx.pid, a.abi, a.u32(0), a.ptr(1), a.ptr(2), 8)
}

/// i386 `sigprocmask` with the old 32-bit set.
pub fn sigprocmask(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.sigprocmask(cx.h, cx.pid, a.abi, a.u32(0), a.ptr(1), a.ptr(2), 4)
}

fn pending(cx: &mut Ctx, a: Args, size: u64) -> Outcome {
    if size > 8 {
        return Errno::EINVAL.into();
    }
    cx.process(|p, h| {
        let set = p.sig.pending | p.sig.private;
        p.write_user(h, a.abi, a.ptr(0), &set.to_le_bytes()[..size as usize]).map(|_| 0)
    })
}

pub fn rt_sigpending(cx: &mut Ctx, a: Args) -> Outcome {
    pending(cx, a, a.u64(1))
}

/// i386 `sigpending` with the old 32-bit set.
pub fn sigpending(cx: &mut Ctx, a: Args) -> Outcome {
    pending(cx, a, 4)
}

pub fn sigaltstack(cx: &mut Ctx, a: Args) -> Outcome {
    reply(cx.procs.sigaltstack(cx.h, cx.pid, a.abi, a.ptr(0), a.ptr(1)))
}

pub fn rt_sigreturn(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.sigreturn(cx.h, cx.pid, a.abi, FrameKind::Rt)
}

/// i386 `sigreturn` from a non-RT frame.
pub fn sigreturn(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.sigreturn(cx.h, cx.pid, a.abi, FrameKind::Plain32)
}

/// Wait for a signal with the mask `set` in place (None: the mask as it
/// is): the call blocks and runs again after each change; the first time
/// the temporary mask is put in place.
fn suspend(cx: &mut Ctx, set: impl FnOnce(&mut Ctx) -> Result<Option<u64>, Outcome>) -> Outcome {
    let first = cx.procs.process_ref(cx.pid).is_some_and(|p| p.sig.suspend_mask.is_none());
    let set = if first {
        match set(cx) {
            Ok(s) => s,
            Err(o) => return o,
        }
    } else {
        None
    };
    let ready = cx.procs.serve(cx.h, cx.pid, |p, _| {
        if let Some(m) = set {
            p.sig.suspend_mask = Some(p.sig.mask);
            p.sig.mask = m & !UNBLOCKABLE;
        }
        p.sig.deliverable().is_some()
    });
    if ready == Some(true) {
        Errno::EINTR.into()
    } else {
        cx.procs.block(cx.pid, cx.call)
    }
}

pub fn rt_sigsuspend(cx: &mut Ctx, a: Args) -> Outcome {
    if a.u64(1) != 8 {
        return Errno::EINVAL.into();
    }
    suspend(cx, |cx| match cx.procs.serve(cx.h, cx.pid, |p, h| p.read_user(h, a.abi, a.ptr(0), 8)) {
        Some(Ok(b)) => Ok(Some(u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])))),
        Some(Err(e)) => Err(e.into()),
        None => Err(Outcome::Blocked),
    })
}

/// i386 `sigsuspend(history0, history1, mask)`: the old 32-bit set.
pub fn sigsuspend(cx: &mut Ctx, a: Args) -> Outcome {
    suspend(cx, |_| Ok(Some(a.u64(2) & 0xffff_ffff)))
}

pub fn pause(cx: &mut Ctx, _a: Args) -> Outcome {
    suspend(cx, |_| Ok(None))
}

pub fn rt_sigtimedwait(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process_outcome(|p, h| p.sys_rt_sigtimedwait(h, a.abi, a.raw, a.time_bits()))
}

/// i386 `rt_sigtimedwait_time64`: a 64-bit timespec.
pub fn rt_sigtimedwait_time64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process_outcome(|p, h| p.sys_rt_sigtimedwait(h, a.abi, a.raw, TimeBits::B64))
}

/// restart_syscall: SiON restarts an interrupted call by running it again
/// (SA_RESTART), never through this call; called by a program, as on Linux
/// with nothing to restart, it is EINTR.
pub fn restart_syscall(_cx: &mut Ctx, _a: Args) -> Outcome {
    Errno::EINTR.into()
}
