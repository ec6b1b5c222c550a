//! System V IPC: shared memory, semaphores and message queues, the job
//! being their namespace (`process/sysv.rs`, `sysv.rs`). x86_64 and i386's
//! direct calls (Linux 5.1's numbers) have the 64-bit structures; i386's
//! `ipc` multiplexer has the old ones unless `cmd` carries `IPC_64`.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::layout::{Abi, IpcLayout, TimeBits};
use crate::linux::*;
use crate::process::Outcome;

/// The direct calls' layout (an `IPC_64` bit in `cmd` is an unknown command there).
fn direct(a: &Args) -> IpcLayout {
    IpcLayout::of(a.abi, true)
}

/// A `*ctl` call's id and command: negative ones are EINVAL.
fn ctl_args(id: i32, cmd: i32) -> Result<u32, Errno> {
    if id < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(cmd as u32)
}

pub fn shmget(cx: &mut Ctx, a: Args) -> Outcome {
    let size = if a.abi == Abi::I386 { a.u64(1) & 0xffff_ffff } else { a.u64(1) };
    cx.process(|p, h| p.sys_shmget(h, a.i32(0), size, a.u32(2)))
}

pub fn shmat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_shmat(h, a.abi, a.i32(0), a.ptr(1), a.u32(2)))
}

/// remap_file_pages(start, size, prot, pgoff, flags): see
/// `Process::sys_remap_file_pages`.
pub fn remap_file_pages(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_remap_file_pages(h, a.abi, a.ptr(0), a.u64(1), a.u64(2), a.u64(3)))
}

pub fn shmdt(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_shmdt(h, a.ptr(0)))
}

pub fn shmctl(cx: &mut Ctx, a: Args) -> Outcome {
    let l = direct(&a);
    cx.process(|p, h| p.sys_shmctl(h, a.abi, a.i32(0), ctl_args(a.i32(0), a.i32(1))?, a.ptr(2), l))
}

pub fn semget(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_semget(h, a.i32(0), a.i32(1), a.u32(2)))
}

pub fn semop(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_semop(h, a.abi, a.i32(0), a.ptr(1), a.u32(2) as u64, 0, TimeBits::B64))
}

pub fn semtimedop(cx: &mut Ctx, a: Args) -> Outcome {
    let bits = a.time_bits();
    cx.process(|p, h| p.sys_semop(h, a.abi, a.i32(0), a.ptr(1), a.u32(2) as u64, a.ptr(3), bits))
}

/// i386 `semtimedop_time64`: a 64-bit timespec.
pub fn semtimedop_time64(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_semop(h, a.abi, a.i32(0), a.ptr(1), a.u32(2) as u64, a.ptr(3), TimeBits::B64))
}

pub fn semctl(cx: &mut Ctx, a: Args) -> Outcome {
    let l = direct(&a);
    cx.process(|p, h| p.sys_semctl(h, a.abi, a.i32(0), a.i32(1), ctl_args(a.i32(0), a.i32(2))?, a.u64(3), l))
}

pub fn msgget(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_msgget(h, a.i32(0), a.u32(1)))
}

pub fn msgsnd(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_msgsnd(h, a.abi, a.i32(0), a.ptr(1), a.long(2), a.u32(3)))
}

pub fn msgrcv(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_msgrcv(h, a.abi, a.i32(0), a.ptr(1), a.long(2), a.long(3), a.u32(4)))
}

pub fn msgctl(cx: &mut Ctx, a: Args) -> Outcome {
    let l = direct(&a);
    cx.process(|p, h| p.sys_msgctl(h, a.abi, a.i32(0), ctl_args(a.i32(0), a.i32(1))?, a.ptr(2), l))
}

/// i386 `ipc(call, first, second, third, ptr, fifth)`: the call in the low
/// 16 bits, a version above (msgrcv's `ipc_kludge` for 0, shmat's iBCS2 1
/// refused); the `*ctl` commands choose their layout by `IPC_64`.
pub fn ipc(cx: &mut Ctx, a: Args) -> Outcome {
    let (call, version) = (a.u32(0) & 0xffff, a.u32(0) >> 16);
    let (first, second, third, ptr, fifth) = (a.i32(1), a.i32(2), a.u32(3), a.ptr(4), a.long(5));
    let abi = a.abi;
    let old = |cmd: i32| (IpcLayout::of(abi, cmd as u32 & IPC_64 != 0), cmd & !(IPC_64 as i32));
    cx.process(|p, h| match call {
        IPCOP_SEMOP => p.sys_semop(h, abi, first, ptr, second as u32 as u64, 0, TimeBits::B32),
        IPCOP_SEMTIMEDOP => p.sys_semop(h, abi, first, ptr, second as u32 as u64, fifth as u64 & 0xffff_ffff, TimeBits::B32),
        IPCOP_SEMGET => p.sys_semget(h, first, second, third),
        IPCOP_SEMCTL => {
            if ptr == 0 {
                return Err(Errno::EINVAL);
            }
            let b = p.read_user(h, abi, ptr, 4)?;
            let arg = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
            let (l, cmd) = old(third as i32);
            p.sys_semctl(h, abi, first, second, ctl_args(first, cmd)?, arg, l)
        }
        IPCOP_MSGSND => p.sys_msgsnd(h, abi, first, ptr, second as i64, third),
        IPCOP_MSGRCV => {
            if version == 0 {
                if ptr == 0 {
                    return Err(Errno::EINVAL);
                }
                // struct ipc_kludge { msgp; msgtyp; }
                let b = p.read_user(h, abi, ptr, 8)?;
                let msgp = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
                let msgtyp = i32::from_le_bytes([b[4], b[5], b[6], b[7]]) as i64;
                p.sys_msgrcv(h, abi, first, msgp, second as i64, msgtyp, third)
            } else {
                p.sys_msgrcv(h, abi, first, ptr, second as i64, fifth, third)
            }
        }
        IPCOP_MSGGET => p.sys_msgget(h, first, second as u32),
        IPCOP_MSGCTL => {
            let (l, cmd) = old(second);
            p.sys_msgctl(h, abi, first, ctl_args(first, cmd)?, ptr, l)
        }
        IPCOP_SHMAT => {
            if version == 1 {
                return Err(Errno::EINVAL);
            }
            let addr = p.sys_shmat(h, abi, first, ptr, second as u32)?;
            p.write_user(h, abi, third as u64, &(addr as u32).to_le_bytes())?;
            Ok(0)
        }
        IPCOP_SHMDT => p.sys_shmdt(h, ptr),
        IPCOP_SHMGET => p.sys_shmget(h, first, second as u32 as u64, third),
        IPCOP_SHMCTL => {
            let (l, cmd) = old(second);
            p.sys_shmctl(h, abi, first, ctl_args(first, cmd)?, ptr, l)
        }
        _ => Err(Errno::ENOSYS),
    })
}

// ----- POSIX message queues (`process/mqueue.rs`, `mqueue.rs`) -----

pub fn mq_open(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mq_open(h, a.abi, a.ptr(0), a.u32(1), a.u32(2), a.ptr(3)))
}

pub fn mq_unlink(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mq_unlink(h, a.abi, a.ptr(0)))
}

/// The size_t of a message's length: 32 bits on i386.
fn size(a: &Args, i: usize) -> u64 {
    if a.abi == Abi::I386 {
        a.u64(i) & 0xffff_ffff
    } else {
        a.u64(i)
    }
}

pub fn mq_timedsend(cx: &mut Ctx, a: Args) -> Outcome {
    let bits = a.time_bits();
    timedsend(cx, a, bits)
}

/// i386 `mq_timedsend_time64`: a 64-bit timespec.
pub fn mq_timedsend_time64(cx: &mut Ctx, a: Args) -> Outcome {
    timedsend(cx, a, TimeBits::B64)
}

fn timedsend(cx: &mut Ctx, a: Args, bits: TimeBits) -> Outcome {
    cx.process(|p, h| p.sys_mq_timedsend(h, a.abi, a.i32(0), a.ptr(1), size(&a, 2), a.u32(3), a.ptr(4), bits))
}

pub fn mq_timedreceive(cx: &mut Ctx, a: Args) -> Outcome {
    let bits = a.time_bits();
    timedreceive(cx, a, bits)
}

/// i386 `mq_timedreceive_time64`: a 64-bit timespec.
pub fn mq_timedreceive_time64(cx: &mut Ctx, a: Args) -> Outcome {
    timedreceive(cx, a, TimeBits::B64)
}

fn timedreceive(cx: &mut Ctx, a: Args, bits: TimeBits) -> Outcome {
    cx.process(|p, h| p.sys_mq_timedreceive(h, a.abi, a.i32(0), a.ptr(1), size(&a, 2), a.ptr(3), a.ptr(4), bits))
}

pub fn mq_notify(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mq_notify(h, a.abi, a.i32(0), a.ptr(1)))
}

pub fn mq_getsetattr(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_mq_getsetattr(h, a.abi, a.i32(0), a.ptr(1), a.ptr(2)))
}
