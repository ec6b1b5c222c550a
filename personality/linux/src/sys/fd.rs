//! The descriptor table: open, close, dup, fcntl, ioctl, flock, fadvise.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::linux::{AT_FDCWD, O_CLOEXEC, O_CREAT, O_TRUNC, O_WRONLY};
use crate::process::files::Obj;
use crate::process::Outcome;

pub fn open(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_openat(h, a.abi, AT_FDCWD, a.ptr(0), a.u32(1), a.u32(2)))
}

pub fn creat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_openat(h, a.abi, AT_FDCWD, a.ptr(0), O_CREAT | O_WRONLY | O_TRUNC, a.u32(1)))
}

pub fn openat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_openat(h, a.abi, a.i32(0), a.ptr(1), a.u32(2), a.u32(3)))
}

pub fn openat2(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_openat2(h, a.abi, a.raw))
}

pub fn close(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| p.fd_close(a.i32(0)).map(|_| 0))
}

pub fn close_range(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| p.sys_close_range(a.u32(0), a.u32(1), a.u32(2)))
}

pub fn dup(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| {
        let f = p.file(a.u64(0))?;
        p.fd_install(f, 0, false).map(|fd| fd as u64)
    })
}

pub fn dup2(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| {
        let f = p.file(a.u64(0))?;
        if a.i32(0) == a.i32(1) {
            Ok(a.i32(1) as u64)
        } else {
            p.dup_to(f, a.i32(1), false)
        }
    })
}

pub fn dup3(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| {
        let fl = a.u32(2);
        if fl & !O_CLOEXEC != 0 || a.i32(0) == a.i32(1) {
            return Err(Errno::EINVAL);
        }
        let f = p.file(a.u64(0))?;
        p.dup_to(f, a.i32(1), fl != 0)
    })
}

/// fcntl and i386 fcntl64 (whose locks are 64-bit).
pub fn fcntl(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_fcntl(h, a.abi, a.u64(0), a.u32(1), a.u64(2)))
}

pub fn ioctl(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_ioctl_fd(h, a.abi, a.u64(0), a.u32(1), a.u64(2)))
}

/// flock: shared and exclusive locks of an open file description
/// (`process/files/locking.rs`); without LOCK_NB a conflict waits.
pub fn flock(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| p.sys_flock(a.u64(0), a.u32(1)))
}

/// Advice is accepted; there is nothing to do in memory.
pub fn fadvise64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| fadvise(p, a, a.u32(3)))
}

/// i386: 64-bit offset and length in register pairs, the advice last.
pub fn fadvise64_64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| fadvise(p, a, a.u32(5)))
}

fn fadvise(p: &mut crate::process::Process, a: Args, advice: u32) -> crate::errno::SysResult {
    let f = p.file(a.u64(0))?;
    if !matches!(f.borrow().obj, Obj::Node(_)) {
        return Err(Errno::ESPIPE);
    }
    if advice > 5 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub fn name_to_handle_at(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_name_to_handle_at(h, a.abi, a.i32(0), a.ptr(1), a.ptr(2), a.ptr(3), a.u32(4)))
}

pub fn open_by_handle_at(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_open_by_handle_at(h, a.abi, a.i32(0), a.ptr(1), a.u32(2)))
}
