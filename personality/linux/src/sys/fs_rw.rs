//! Reading and writing: read/write and their vector and positioned forms,
//! seeking, and the in-kernel copies (sendfile, copy_file_range). What an
//! open file is (a node, a pipe, a socket, the console) is decided in
//! `process/files.rs`.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::layout::Abi;
use crate::process::Outcome;
use alloc::vec;

pub fn read(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.read_file(h, a.abi, a.u64(0), vec![(a.ptr(1), a.u64(2))], None))
}

pub fn write(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.write_file(h, a.abi, a.u64(0), vec![(a.ptr(1), a.u64(2))], None))
}

pub fn readv(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        p.fd_get(a.u64(0))?;
        let iov = p.iov_list(h, a.abi, a.ptr(1), a.u64(2))?;
        p.read_file(h, a.abi, a.u64(0), iov, None)
    })
}

pub fn writev(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        p.fd_get(a.u64(0))?;
        let iov = p.iov_list(h, a.abi, a.ptr(1), a.u64(2))?;
        p.write_file(h, a.abi, a.u64(0), iov, None)
    })
}

/// The offset: one register on x86_64, the pair (4th, 5th) on i386.
pub fn pread64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let off = positioned(a)?;
        p.read_file(h, a.abi, a.u64(0), vec![(a.ptr(1), a.u64(2))], Some(off))
    })
}

pub fn pwrite64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let off = positioned(a)?;
        p.write_file(h, a.abi, a.u64(0), vec![(a.ptr(1), a.u64(2))], Some(off))
    })
}

pub fn preadv(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let off = positioned(a)?;
        p.fd_get(a.u64(0))?;
        let iov = p.iov_list(h, a.abi, a.ptr(1), a.u64(2))?;
        p.read_file(h, a.abi, a.u64(0), iov, Some(off))
    })
}

pub fn pwritev(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let off = positioned(a)?;
        p.fd_get(a.u64(0))?;
        let iov = p.iov_list(h, a.abi, a.ptr(1), a.u64(2))?;
        p.write_file(h, a.abi, a.u64(0), iov, Some(off))
    })
}

/// An offset past 2 GiB does not fit i386's `off_t`: EOVERFLOW (`_llseek` has 64 bits).
pub fn lseek(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| {
        let o = p.do_lseek(a.u64(0), a.long(1), a.u32(2))?;
        if a.abi == Abi::I386 && o > i32::MAX as u64 {
            Err(Errno::EOVERFLOW)
        } else {
            Ok(o)
        }
    })
}

/// i386 `_llseek(fd, offset_high, offset_low, result, whence)`.
pub fn llseek(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let o = p.do_lseek(a.u64(0), ((a.u64(2) & 0xffff_ffff) | (a.u64(1) << 32)) as i64, a.u32(4))?;
        p.write_user(h, a.abi, a.ptr(3), &o.to_le_bytes()).map(|_| 0)
    })
}

/// x86_64's takes a 64-bit offset, i386's a 32-bit one (`sendfile64` 64).
pub fn sendfile(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_sendfile(h, a.abi, a.u64(0), a.u64(1), a.ptr(2), a.u64(3), a.abi == Abi::X86_64))
}

pub fn sendfile64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_sendfile(h, a.abi, a.u64(0), a.u64(1), a.ptr(2), a.u64(3), true))
}

pub fn copy_file_range(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_copy_file_range(h, a.abi, a.raw))
}

/// The offset of the positioned calls: one register on x86_64, a pair on i386.
fn positioned(a: Args) -> Result<u64, Errno> {
    let off = a.u64_pair(3, 4);
    if (off as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(off)
}

/// preadv2/pwritev2 flags (RWF_*): all accepted, none changes what a file
/// in memory does but RWF_APPEND; RWF_NOWAIT only where nothing waits.
const RWF_HIPRI: u32 = 1;
const RWF_DSYNC: u32 = 2;
const RWF_SYNC: u32 = 4;
const RWF_NOWAIT: u32 = 8;
const RWF_APPEND: u32 = 16;

/// The offset of preadv2/pwritev2 (x86_64: one register; i386: a pair),
/// None for -1 (the file's position, as readv/writev).
fn offset_v2(a: Args) -> Result<Option<u64>, Errno> {
    let off = a.u64_pair(3, 4) as i64;
    match off {
        -1 => Ok(None),
        o if o < 0 => Err(Errno::EINVAL),
        o => Ok(Some(o as u64)),
    }
}

/// The RWF flags of argument 5, checked: unknown ones EOPNOTSUPP, and
/// RWF_NOWAIT where Linux 6.1 has no FMODE_NOWAIT: tmpfs and /proc files,
/// devices, the console, the anonymous inodes (pipes and sockets have it).
fn rwf_flags(p: &mut crate::process::Process, a: Args) -> Result<u32, Errno> {
    use crate::process::files::Obj;
    let flags = a.u32(5);
    if flags & !(RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & RWF_NOWAIT != 0 && !matches!(p.file(a.u64(0))?.borrow().obj, Obj::Pipe { .. } | Obj::Socket(_) | Obj::Unix(_)) {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(flags)
}

/// Run `f` with status flag `flag` (O_APPEND, O_NONBLOCK) set on the
/// description of `fd` for this call alone, as RWF_APPEND and RWF_NOWAIT do.
fn with_flag(p: &mut crate::process::Process, fd: u64, flag: u32, f: impl FnOnce(&mut crate::process::Process) -> crate::errno::SysResult) -> crate::errno::SysResult {
    if flag == 0 {
        return f(p);
    }
    let file = p.file(fd)?;
    let had = file.borrow().flags & flag;
    file.borrow_mut().flags |= flag;
    let r = f(p);
    let now = file.borrow().flags;
    file.borrow_mut().flags = now & !flag | had;
    r
}

fn nowait(flags: u32) -> u32 {
    if flags & RWF_NOWAIT != 0 {
        crate::linux::O_NONBLOCK
    } else {
        0
    }
}

pub fn preadv2(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let off = offset_v2(a)?;
        p.fd_get(a.u64(0))?;
        let flags = rwf_flags(p, a)?;
        if flags & RWF_APPEND != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let iov = p.iov_list(h, a.abi, a.ptr(1), a.u64(2))?;
        with_flag(p, a.u64(0), nowait(flags), |p| p.read_file(h, a.abi, a.u64(0), iov, off))
    })
}

pub fn pwritev2(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let off = offset_v2(a)?;
        p.fd_get(a.u64(0))?;
        let flags = rwf_flags(p, a)?;
        let iov = p.iov_list(h, a.abi, a.ptr(1), a.u64(2))?;
        // RWF_APPEND appends whatever the offset, as O_APPEND for this call alone.
        let add = nowait(flags) | if flags & RWF_APPEND != 0 { crate::linux::O_APPEND } else { 0 };
        with_flag(p, a.u64(0), add, |p| p.write_file(h, a.abi, a.u64(0), iov, off))
    })
}

/// readahead(fd, offset, count): a file's bytes are in memory (a
/// workstation's arrive when it opens): nothing to read ahead. EBADF for a
/// descriptor not open for reading, EINVAL for what is not a regular file.
pub fn readahead(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| {
        let f = p.io_file(a.u64(0))?;
        if !f.borrow().readable() {
            return Err(Errno::EBADF);
        }
        let ino = match f.borrow().obj {
            crate::process::files::Obj::Node(i) => i,
            _ => return Err(Errno::EINVAL),
        };
        if !p.job.vfs.node(ino).is_reg() {
            return Err(Errno::EINVAL);
        }
        Ok(0)
    })
}

/// sync_file_range(fd, offset, nbytes, flags): files live in memory, so
/// nothing is written back; the checks are Linux's. i386 passes the 64-bit
/// offset and length in register pairs.
pub fn sync_file_range(cx: &mut Ctx, a: Args) -> Outcome {
    let (off, n, flags) = match a.abi {
        crate::layout::Abi::X86_64 => (a.u64(1) as i64, a.u64(2) as i64, a.u32(3)),
        crate::layout::Abi::I386 => (a.u64_pair(1, 2) as i64, a.u64_pair(3, 4) as i64, a.u32(5)),
    };
    cx.process(|p, _h| {
        if flags & !7 != 0 || off < 0 || n < 0 || off.checked_add(n).is_none() {
            return Err(Errno::EINVAL);
        }
        let f = p.io_file(a.u64(0))?;
        let ino = match f.borrow().obj {
            crate::process::files::Obj::Node(i) => i,
            _ => return Err(Errno::ESPIPE),
        };
        if !p.job.vfs.node(ino).is_reg() && !p.job.vfs.node(ino).is_dir() {
            return Err(Errno::ESPIPE);
        }
        Ok(0)
    })
}

pub fn splice(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_splice(h, a.abi, a.u64(0), a.ptr(1), a.u64(2), a.ptr(3), a.u64(4), a.u32(5)))
}

pub fn tee(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| p.sys_tee(a.u64(0), a.u64(1), a.u64(2), a.u32(3)))
}

pub fn vmsplice(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_vmsplice(h, a.abi, a.u64(0), a.ptr(1), a.u64(2), a.u32(3)))
}
