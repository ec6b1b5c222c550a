//! The file tree: directories and their entries, names (link, unlink,
//! rename, symlink, mknod), the working directory.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::linux::AT_FDCWD;
use crate::process::files::{Resolved, VfsRes};
use crate::process::Outcome;

pub fn getdents(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_getdents(h, a.abi, a.u64(0), a.ptr(1), a.u64(2), false))
}

pub fn getdents64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_getdents(h, a.abi, a.u64(0), a.ptr(1), a.u64(2), true))
}

pub fn mkdir(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mkdirat(h, a.abi, AT_FDCWD, a.ptr(0), a.u32(1)))
}

pub fn mkdirat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mkdirat(h, a.abi, a.i32(0), a.ptr(1), a.u32(2)))
}

pub fn mknod(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mknodat(h, a.abi, AT_FDCWD, a.ptr(0), a.u32(1), a.u64(2)))
}

pub fn mknodat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mknodat(h, a.abi, a.i32(0), a.ptr(1), a.u32(2), a.u64(3)))
}

pub fn rmdir(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let (path, start, _) = p.walk_at(h, a.abi, AT_FDCWD, a.ptr(0), false)?;
        p.job.vfs.rmdir(start, &path, &p.files.cred).ex().map(|_| 0)
    })
}

pub fn unlink(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_unlinkat(h, a.abi, AT_FDCWD, a.ptr(0), 0))
}

pub fn unlinkat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_unlinkat(h, a.abi, a.i32(0), a.ptr(1), a.u32(2)))
}

pub fn rename(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_renameat(h, a.abi, AT_FDCWD, a.ptr(0), AT_FDCWD, a.ptr(1), 0))
}

pub fn renameat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_renameat(h, a.abi, a.i32(0), a.ptr(1), a.i32(2), a.ptr(3), 0))
}

pub fn renameat2(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_renameat(h, a.abi, a.i32(0), a.ptr(1), a.i32(2), a.ptr(3), a.u32(4)))
}

pub fn link(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_linkat(h, a.abi, AT_FDCWD, a.ptr(0), AT_FDCWD, a.ptr(1), 0))
}

pub fn linkat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_linkat(h, a.abi, a.i32(0), a.ptr(1), a.i32(2), a.ptr(3), a.u32(4)))
}

pub fn symlink(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_symlinkat(h, a.abi, a.ptr(0), AT_FDCWD, a.ptr(1)))
}

pub fn symlinkat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_symlinkat(h, a.abi, a.ptr(0), a.i32(1), a.ptr(2)))
}

pub fn readlink(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_readlinkat(h, a.abi, AT_FDCWD, a.ptr(0), a.ptr(1), a.u64(2)))
}

pub fn readlinkat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_readlinkat(h, a.abi, a.i32(0), a.ptr(1), a.ptr(2), a.u64(3)))
}

pub fn chdir(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| match p.resolve_at(h, a.abi, AT_FDCWD, a.ptr(0), 0)? {
        Resolved::Node(i) => p.chdir_to(i),
        _ => Err(Errno::ENOTDIR),
    })
}

pub fn fchdir(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| match p.fd_resolved(a.u64(0))? {
        Resolved::Node(i) => p.chdir_to(i),
        _ => Err(Errno::ENOTDIR),
    })
}

pub fn getcwd(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_getcwd(h, a.abi, a.ptr(0), a.u64(1)))
}
