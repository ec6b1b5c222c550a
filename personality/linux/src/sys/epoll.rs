//! epoll instances.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::process::Outcome;

pub fn epoll_create(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| if a.i32(0) <= 0 { Err(Errno::EINVAL) } else { p.sys_epoll_create(0) })
}

pub fn epoll_create1(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| p.sys_epoll_create(a.u32(0)))
}

pub fn epoll_ctl(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_epoll_ctl(h, a.abi, a.u64(0), a.u32(1), a.i32(2), a.ptr(3)))
}

pub fn epoll_wait(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_epoll_wait(h, a.abi, a.u64(0), a.ptr(1), a.i32(2), a.i32(3) as i64))
}

/// epoll_pwait(epfd, events, maxevents, timeout, sigmask, sigsetsize): the mask in place while it waits.
pub fn epoll_pwait(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| super::poll::with_mask(p, h, a, a.ptr(4), a.u64(5), |p, h| p.sys_epoll_wait(h, a.abi, a.u64(0), a.ptr(1), a.i32(2), a.i32(3) as i64)))
}

/// epoll_pwait2: the timeout a timespec (NULL: wait without end), rounded
/// up to whole milliseconds as the wait keeps it.
pub fn epoll_pwait2(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let timeout_ms = match a.ptr(3) {
            0 => -1,
            at => {
                let b = p.read_user(h, a.abi, at, 16)?;
                let t = crate::layout::Timespec::decode(crate::layout::TimeBits::B64, &b);
                if t.sec < 0 || !(0..1_000_000_000).contains(&t.nsec) {
                    return Err(Errno::EINVAL);
                }
                t.sec.saturating_mul(1000).saturating_add((t.nsec + 999_999) / 1_000_000)
            }
        };
        super::poll::with_mask(p, h, a, a.ptr(4), a.u64(5), |p, h| p.sys_epoll_wait(h, a.abi, a.u64(0), a.ptr(1), a.i32(2), timeout_ms))
    })
}
