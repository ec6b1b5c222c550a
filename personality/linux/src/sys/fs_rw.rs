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
