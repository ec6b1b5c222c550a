//! Memory: the program break and mappings.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::process::Outcome;
use crate::vma::PAGE;

pub fn brk(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| Ok(p.sys_brk(h, a.ptr(0))))
}

/// x86_64 `mmap`: the offset in bytes.
pub fn mmap(cx: &mut Ctx, a: Args) -> Outcome {
    if a.u64(5) % PAGE != 0 {
        return Errno::EINVAL.into();
    }
    cx.process(|p, h| p.sys_mmap(h, a.abi, a.ptr(0), a.u64(1), a.u64(2), a.u32(3), a.i32(4), a.u64(5)))
}

/// i386 `mmap2`: the offset in pages.
pub fn mmap2(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mmap(h, a.abi, a.ptr(0), a.u64(1), a.u64(2), a.u32(3), a.i32(4), (a.u64(5) & 0xffff_ffff) * PAGE))
}

/// i386 `old_mmap` (number 90): the six arguments in a structure in memory.
pub fn old_mmap(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let b = p.read_user(h, a.abi, a.ptr(0), 24)?;
        let w = |i: usize| u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]) as u64;
        if w(5) % PAGE != 0 {
            return Err(Errno::EINVAL);
        }
        p.sys_mmap(h, a.abi, w(0), w(1), w(2), w(3) as u32, w(4) as i32, w(5))
    })
}

pub fn munmap(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_munmap(h, a.abi, a.ptr(0), a.u64(1)))
}

pub fn mprotect(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mprotect(h, a.abi, a.ptr(0), a.u64(1), a.u64(2)))
}

pub fn mremap(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mremap(h, a.abi, a.ptr(0), a.u64(1), a.u64(2), a.u32(3), a.ptr(4)))
}

pub fn madvise(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_madvise(h, a.abi, a.ptr(0), a.u64(1), a.u32(2)))
}

pub fn msync(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_msync(h, a.abi, a.ptr(0), a.u64(1), a.u32(2)))
}

pub fn mincore(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mincore(h, a.abi, a.ptr(0), a.u64(1), a.ptr(2)))
}

pub fn mlock(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| p.sys_mlock(a.abi, a.ptr(0), a.u64(1), 0, true))
}

pub fn mlock2(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| p.sys_mlock(a.abi, a.ptr(0), a.u64(1), a.u32(2), true))
}

pub fn munlock(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| p.sys_mlock(a.abi, a.ptr(0), a.u64(1), 0, false))
}

pub fn mlockall(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| p.sys_mlockall(a.u32(0)))
}

/// SiON never swaps: nothing is locked, nothing to unlock.
pub fn munlockall(_cx: &mut Ctx, _a: Args) -> Outcome {
    Outcome::Reply(0)
}
