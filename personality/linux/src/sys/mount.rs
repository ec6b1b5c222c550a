//! Mounting: mount, umount2 and i386's old umount (`process/files/mount.rs`).

use super::{Args, Ctx};
use crate::process::Outcome;

pub fn mount(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mount(h, a.abi, a.ptr(0), a.ptr(1), a.ptr(2), a.u64(3), a.ptr(4)))
}

pub fn umount2(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_umount2(h, a.abi, a.ptr(0), a.u32(1)))
}

/// i386's `umount(target)`: umount2 without flags.
pub fn umount(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_umount2(h, a.abi, a.ptr(0), 0))
}
