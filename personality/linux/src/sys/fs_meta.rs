//! What a file is allowed and owns: access checks, modes, owners, the
//! umask, sizes (truncate, fallocate), times, syncing, extended attributes.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::layout::{Abi, TimeBits};
use crate::linux::{AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_PATH};
use crate::process::Outcome;
use crate::syscalls::table::{XattrOn, XattrOp};

pub fn access(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_faccessat(h, a.abi, AT_FDCWD, a.ptr(0), a.u32(1), 0))
}

pub fn faccessat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_faccessat(h, a.abi, a.i32(0), a.ptr(1), a.u32(2), 0))
}

pub fn faccessat2(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_faccessat(h, a.abi, a.i32(0), a.ptr(1), a.u32(2), a.u32(3)))
}

pub fn chmod(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.resolve_at(h, a.abi, AT_FDCWD, a.ptr(0), 0)?;
        p.chmod_r(r, a.u32(1))
    })
}

pub fn fchmod(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| {
        if p.file(a.u64(0))?.borrow().flags & O_PATH != 0 {
            return Err(Errno::EBADF);
        }
        let r = p.fd_resolved(a.u64(0))?;
        p.chmod_r(r, a.u32(1))
    })
}

/// fchmodat has no flags argument (libcs handle AT_SYMLINK_NOFOLLOW themselves).
pub fn fchmodat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.resolve_at(h, a.abi, a.i32(0), a.ptr(1), 0)?;
        p.chmod_r(r, a.u32(2))
    })
}

/// x86_64's, and i386's old one with 16-bit ids (`chown32` has 32).
pub fn chown(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.resolve_at(h, a.abi, AT_FDCWD, a.ptr(0), 0)?;
        p.chown_r(r, a.u64(1), a.u64(2), old16(a))
    })
}

pub fn lchown(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.resolve_at(h, a.abi, AT_FDCWD, a.ptr(0), AT_SYMLINK_NOFOLLOW)?;
        p.chown_r(r, a.u64(1), a.u64(2), old16(a))
    })
}

pub fn fchown(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| {
        p.io_file(a.u64(0))?;
        let r = p.fd_resolved(a.u64(0))?;
        p.chown_r(r, a.u64(1), a.u64(2), old16(a))
    })
}

pub fn chown32(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.resolve_at(h, a.abi, AT_FDCWD, a.ptr(0), 0)?;
        p.chown_r(r, a.u64(1), a.u64(2), false)
    })
}

pub fn lchown32(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.resolve_at(h, a.abi, AT_FDCWD, a.ptr(0), AT_SYMLINK_NOFOLLOW)?;
        p.chown_r(r, a.u64(1), a.u64(2), false)
    })
}

pub fn fchown32(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| {
        p.io_file(a.u64(0))?;
        let r = p.fd_resolved(a.u64(0))?;
        p.chown_r(r, a.u64(1), a.u64(2), false)
    })
}

pub fn fchownat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let fl = a.u32(4);
        if fl & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let r = p.resolve_at(h, a.abi, a.i32(0), a.ptr(1), fl)?;
        p.chown_r(r, a.u64(2), a.u64(3), false)
    })
}

pub fn umask(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| {
        let old = p.files.umask;
        p.files.umask = a.u32(0) & 0o777;
        Ok(old as u64)
    })
}

pub fn truncate(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.resolve_at(h, a.abi, AT_FDCWD, a.ptr(0), 0)?;
        p.truncate_path(h, r, a.long(1))
    })
}

pub fn ftruncate(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_ftruncate(h, a.u64(0), a.long(1)))
}

/// i386: the length in a register pair.
pub fn truncate64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let r = p.resolve_at(h, a.abi, AT_FDCWD, a.ptr(0), 0)?;
        p.truncate_path(h, r, a.u64_pair(1, 2) as i64)
    })
}

pub fn ftruncate64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_ftruncate(h, a.u64(0), a.u64_pair(1, 2) as i64))
}

/// i386: offset and length in register pairs.
pub fn fallocate(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| {
        let (off, len) = if a.abi == Abi::I386 { (a.u64_pair(2, 3) as i64, a.u64_pair(4, 5) as i64) } else { (a.u64(2) as i64, a.u64(3) as i64) };
        p.sys_fallocate(a.u64(0), a.u32(1), off, len)
    })
}

/// fsync, fdatasync and syncfs: the tree is in memory, nothing to write.
/// fsync, fdatasync: the in-memory tree has nothing to write back; files,
/// directories and block devices answer 0, what has no fsync on Linux (pipes,
/// FIFOs, sockets, character devices, the console, epoll and the other
/// descriptor objects) EINVAL.
pub fn fsync(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| {
        let f = p.io_file(a.u64(0))?;
        let obj = f.borrow().obj;
        match obj {
            crate::process::files::Obj::Node(ino) if matches!(p.job.vfs.node(ino).data, sion_vfs::Data::Reg(_) | sion_vfs::Data::Dir(_) | sion_vfs::Data::Blk(_)) => Ok(0),
            _ => Err(Errno::EINVAL),
        }
    })
}

pub fn utimensat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_utimensat(h, a.abi, a.i32(0), a.ptr(1), a.ptr(2), a.u32(3), a.time_bits()))
}

pub fn utimensat_time64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_utimensat(h, a.abi, a.i32(0), a.ptr(1), a.ptr(2), a.u32(3), TimeBits::B64))
}

pub fn getxattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_xattr(h, a.abi, XattrOp::Get, XattrOn::Path, a.raw))
}

pub fn lgetxattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_xattr(h, a.abi, XattrOp::Get, XattrOn::Link, a.raw))
}

pub fn fgetxattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_xattr(h, a.abi, XattrOp::Get, XattrOn::Fd, a.raw))
}

pub fn setxattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_xattr(h, a.abi, XattrOp::Set, XattrOn::Path, a.raw))
}

pub fn lsetxattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_xattr(h, a.abi, XattrOp::Set, XattrOn::Link, a.raw))
}

pub fn fsetxattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_xattr(h, a.abi, XattrOp::Set, XattrOn::Fd, a.raw))
}

pub fn listxattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_xattr(h, a.abi, XattrOp::List, XattrOn::Path, a.raw))
}

pub fn llistxattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_xattr(h, a.abi, XattrOp::List, XattrOn::Link, a.raw))
}

pub fn flistxattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_xattr(h, a.abi, XattrOp::List, XattrOn::Fd, a.raw))
}

pub fn removexattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_xattr(h, a.abi, XattrOp::Remove, XattrOn::Path, a.raw))
}

pub fn lremovexattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_xattr(h, a.abi, XattrOp::Remove, XattrOn::Link, a.raw))
}

pub fn fremovexattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_xattr(h, a.abi, XattrOp::Remove, XattrOn::Fd, a.raw))
}

/// The tree is in memory: nothing to write.
pub fn sync(_cx: &mut Ctx, _a: Args) -> Outcome {
    Outcome::Reply(0)
}

/// The old i386 calls (chown, not chown32) take 16-bit ids.
fn old16(a: Args) -> bool {
    a.abi == Abi::I386
}

pub fn utime(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_utimes(h, a.abi, crate::linux::AT_FDCWD, a.ptr(0), a.ptr(1), false))
}

pub fn utimes(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_utimes(h, a.abi, crate::linux::AT_FDCWD, a.ptr(0), a.ptr(1), true))
}

pub fn futimesat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_utimes(h, a.abi, a.i32(0), a.ptr(1), a.ptr(2), true))
}
