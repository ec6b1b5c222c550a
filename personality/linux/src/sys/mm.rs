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

/// SiON never swaps: every mapping's lock (VmLck) goes, nothing else.
pub fn munlockall(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| {
        let all: alloc::vec::Vec<(u64, u64)> = p.vmas.iter().map(|v| (v.start, v.end)).collect();
        for (a, b) in all {
            p.vmas.set_flags(a, b, 0, crate::vma::flag::LOCKED);
        }
        Ok(0)
    })
}

pub fn set_mempolicy(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_set_mempolicy(h, a.abi, a.u32(0), a.ptr(1), a.u64(2)))
}

pub fn get_mempolicy(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_get_mempolicy(h, a.abi, a.ptr(0), a.ptr(1), a.u64(2), a.ptr(3), a.u32(4)))
}

pub fn mbind(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mbind(h, a.abi, a.ptr(0), a.u64(1), a.u32(2), a.ptr(3), a.u64(4), a.u32(5)))
}

/// migrate_pages(pid, maxnode, old_nodes, new_nodes): one node, so no
/// page moves (0 left unmoved); another user's process needs CAP_SYS_NICE.
pub fn migrate_pages(cx: &mut Ctx, a: Args) -> Outcome {
    let t = match cx.procs.target(cx.pid, a.i32(0)) {
        Ok(t) => t,
        Err(e) => return e.into(),
    };
    let other_uid = cx.procs.serve(cx.h, t, |p, _| p.uid);
    cx.process(|p, h| {
        if other_uid.is_some_and(|u| u != p.uid) && !p.capable(crate::linux::CAP_SYS_NICE) {
            return Err(Errno::EPERM);
        }
        p.check_migrate_nodes(h, a.abi, a.u64(1), a.ptr(2), a.ptr(3))
    })
}

/// move_pages of the caller's own pages (pid 0 or its own; another
/// process of the job: EPERM, its pages are not looked up from here).
pub fn move_pages(cx: &mut Ctx, a: Args) -> Outcome {
    let t = match cx.procs.target(cx.pid, a.i32(0)) {
        Ok(t) => t,
        Err(e) => return e.into(),
    };
    if t != cx.pid {
        return Errno::EPERM.into();
    }
    cx.process(|p, h| p.sys_move_pages(h, a.abi, a.u64(1), a.ptr(2), a.ptr(3), a.ptr(4), a.u32(5)))
}

/// Memory protection keys: the node's CPUs run without them (as Linux on a
/// CPU without PKU): none to allocate (ENOSPC), none to free, and
/// pkey_mprotect is mprotect for key -1 only.
const PKEY_DISABLE_ACCESS: u32 = 1;
const PKEY_DISABLE_WRITE: u32 = 2;

pub fn pkey_alloc(_cx: &mut Ctx, a: Args) -> Outcome {
    if a.u32(0) != 0 || a.u32(1) & !(PKEY_DISABLE_ACCESS | PKEY_DISABLE_WRITE) != 0 {
        return Errno::EINVAL.into();
    }
    Errno::ENOSPC.into()
}

pub fn pkey_free(_cx: &mut Ctx, _a: Args) -> Outcome {
    Errno::EINVAL.into()
}

pub fn pkey_mprotect(cx: &mut Ctx, a: Args) -> Outcome {
    if a.i32(3) != -1 {
        return Errno::EINVAL.into();
    }
    mprotect(cx, a)
}

const MEMBARRIER_CMD_GLOBAL: i32 = 1;
const MEMBARRIER_CMD_GLOBAL_EXPEDITED: i32 = 2;
const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: i32 = 4;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: i32 = 8;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: i32 = 16;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE: i32 = 32;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: i32 = 64;
/// Registrations (`JobState::membarrier`).
const READY_PRIVATE: u64 = 1;
const READY_SYNC_CORE: u64 = 2;
const REGISTERED_GLOBAL: u64 = 4;

/// membarrier: QUERY, the global and the private expedited commands (and
/// SYNC_CORE); no RSEQ ones, as Linux without CONFIG_RSEQ (SiON has no
/// rseq). A barrier is a TLB shootdown of the process's space (the kernel
/// interrupts every other CPU running it and waits for each, an interrupt
/// being serializing on x86), asked by changing the protection of a page
/// no mapping covers; the global commands do that in every process of the
/// job, the only ones whose memory the caller can share.
pub fn membarrier(cx: &mut Ctx, a: Args) -> Outcome {
    let (cmd, flags) = (a.i32(0), a.u32(1));
    if flags != 0 {
        return Outcome::Reply(Errno::EINVAL.as_ret());
    }
    let pid = cx.pid;
    let state = cx.procs.job().membarrier.get(&pid).copied().unwrap_or(0);
    let (need, set) = match cmd {
        0 => return Outcome::Reply(0x7f),
        MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED => {
            cx.procs.barrier_all(cx.h);
            // The caller's space selected again for its answer.
            return cx.process(|_, _| Ok(0));
        }
        MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED => (0, REGISTERED_GLOBAL),
        MEMBARRIER_CMD_PRIVATE_EXPEDITED => (READY_PRIVATE, 0),
        MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED => (0, READY_PRIVATE),
        MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE => (READY_SYNC_CORE, 0),
        MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE => (0, READY_SYNC_CORE),
        _ => return Outcome::Reply(Errno::EINVAL.as_ret()),
    };
    if state & need != need {
        return Outcome::Reply(Errno::EPERM.as_ret());
    }
    if set != 0 {
        *cx.procs.job().membarrier.entry(pid).or_default() |= set;
        return Outcome::Reply(0);
    }
    cx.process(|p, h| {
        p.barrier(h);
        Ok(0)
    })
}
