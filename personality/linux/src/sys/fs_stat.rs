//! Status of files and file systems: the stat family in its three i386
//! layouts, statx, statfs.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::layout::encode_statx;
use crate::layout::Abi;
use crate::linux::{AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_SYMLINK_NOFOLLOW};
use crate::process::Outcome;
use crate::syscalls::table::StatLayout;

/// x86_64's `struct stat`, or i386's old one.
pub fn stat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| stat_path(p, h, a, native(a), 0))
}

pub fn lstat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| stat_path(p, h, a, native(a), AT_SYMLINK_NOFOLLOW))
}

pub fn fstat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.fd_resolved(a.u64(0))?;
        let b = p.encode_stat(r, native(a))?;
        p.write_user(h, a.abi, a.ptr(1), &b).map(|_| 0)
    })
}

/// i386 `struct stat64`.
pub fn stat64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| stat_path(p, h, a, StatLayout::I386Stat64, 0))
}

pub fn lstat64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| stat_path(p, h, a, StatLayout::I386Stat64, AT_SYMLINK_NOFOLLOW))
}

pub fn fstat64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.fd_resolved(a.u64(0))?;
        let b = p.encode_stat(r, StatLayout::I386Stat64)?;
        p.write_user(h, a.abi, a.ptr(1), &b).map(|_| 0)
    })
}

/// x86_64 `newfstatat`, i386 `fstatat64`.
pub fn newfstatat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| fstatat(p, h, a, if a.abi == Abi::I386 { StatLayout::I386Stat64 } else { StatLayout::Stat64 }))
}

pub fn statx(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let fl = a.u32(2);
        if fl & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | 0x6000) != 0 || fl & 0x6000 == 0x6000 || a.u32(3) & 0x8000_0000 != 0 {
            return Err(Errno::EINVAL);
        }
        let r = p.resolve_at(h, a.abi, a.i32(0), a.ptr(1), fl)?;
        let b = encode_statx(&p.stat_of(r));
        p.write_user(h, a.abi, a.ptr(4), &b).map(|_| 0)
    })
}

pub fn statfs(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.resolve_at(h, a.abi, AT_FDCWD, a.ptr(0), 0)?;
        p.put_statfs(h, a.abi, r, a.ptr(1), false, 0)
    })
}

pub fn fstatfs(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.fd_resolved(a.u64(0))?;
        p.put_statfs(h, a.abi, r, a.ptr(1), false, 0)
    })
}

/// i386 `statfs64(path, size, buf)`.
pub fn statfs64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.resolve_at(h, a.abi, AT_FDCWD, a.ptr(0), 0)?;
        p.put_statfs(h, a.abi, r, a.ptr(2), true, a.u64(1))
    })
}

pub fn fstatfs64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.fd_resolved(a.u64(0))?;
        p.put_statfs(h, a.abi, r, a.ptr(2), true, a.u64(1))
    })
}

/// The native `struct stat`: x86_64's, or i386's old one.
fn native(a: Args) -> StatLayout {
    if a.abi == Abi::I386 {
        StatLayout::I386Old
    } else {
        StatLayout::Stat64
    }
}

fn stat_path(p: &mut crate::process::Process, h: &mut dyn crate::host::Host, a: Args, layout: StatLayout, flags: u32) -> crate::errno::SysResult {
    let r = p.resolve_at(h, a.abi, AT_FDCWD, a.ptr(0), flags)?;
    let b = p.encode_stat(r, layout)?;
    p.write_user(h, a.abi, a.ptr(1), &b).map(|_| 0)
}

fn fstatat(p: &mut crate::process::Process, h: &mut dyn crate::host::Host, a: Args, layout: StatLayout) -> crate::errno::SysResult {
    let fl = a.u32(3);
    if fl & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | 0x6000) != 0 {
        return Err(Errno::EINVAL);
    }
    let r = p.resolve_at(h, a.abi, a.i32(0), a.ptr(1), fl)?;
    let b = p.encode_stat(r, layout)?;
    p.write_user(h, a.abi, a.ptr(2), &b).map(|_| 0)
}
