//! Safe wrappers for every kernel call (`sion_abi::call::Call`).
//!
//! Convention: `syscall` with the call number in rax and arguments in rdi,
//! rsi, rdx, r10, r8, r9; the result in rax (negative = `-Error`), a second
//! value in rdx; rcx and r11 are clobbered.

use core::arch::asm;
use sion_abi::call::{Call, ClockInfo, Error, SysInfo, TaskInfo, TaskKind, FPU_STATE_SIZE};
use sion_abi::regs::TaskRegs;
use sion_abi::{SpaceId, TaskId};

pub type Result<T> = core::result::Result<T, Error>;

/// The raw call: (rax, rdx).
#[inline(always)]
fn raw(call: Call, a: [u64; 6]) -> (u64, u64) {
    let rax: u64;
    let rdx: u64;
    // SAFETY: the kernel-call convention: only rax, rdx (results), rcx and
    // r11 (clobbered by syscall) change. Memory the kernel writes is always a
    // buffer the safe wrapper passed with its exact length, so the asm is not
    // marked `nomem`.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") call as u64 => rax,
            in("rdi") a[0],
            in("rsi") a[1],
            inlateout("rdx") a[2] => rdx,
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    (rax, rdx)
}

fn check(rax: u64) -> Result<u64> {
    match Error::from_ret(rax) {
        Some(e) => Err(e),
        None => Ok(rax),
    }
}

fn call(c: Call, a: [u64; 6]) -> Result<u64> {
    check(raw(c, a).0)
}

fn own(space: SpaceId) -> bool {
    space == crate::self_space()
}

/// Write bytes to the kernel console (serial port 1).
pub fn log(bytes: &[u8]) {
    let _ = call(Call::Log, [bytes.as_ptr() as u64, bytes.len() as u64, 0, 0, 0, 0]);
}

/// Give up the rest of the time slice.
pub fn yield_now() {
    let _ = call(Call::Yield, [0; 6]);
}

/// End the calling task.
pub fn exit(code: u64) -> ! {
    let _ = call(Call::Exit, [code, 0, 0, 0, 0, 0]);
    loop {
        core::hint::spin_loop();
    }
}

/// Send `msg` to native task `dest` and wait for its reply in `reply`;
/// returns the reply's length.
pub fn ipc_call(dest: TaskId, msg: &[u8], reply: &mut [u8]) -> Result<usize> {
    call(Call::IpcCall, [dest.0 as u64, msg.as_ptr() as u64, msg.len() as u64, reply.as_mut_ptr() as u64, reply.len() as u64, 0]).map(|n| n as usize)
}

/// As [`ipc_call`], the reply appended to `reply`'s spare capacity (up to
/// `max` bytes) without zeroing it first: a caller that may get up to 16 KiB
/// back but usually gets a few bytes no longer clears 16 KiB per call.
pub fn ipc_call_into(dest: TaskId, msg: &[u8], reply: &mut alloc::vec::Vec<u8>, max: usize) -> Result<usize> {
    reply.reserve(max);
    let spare = reply.spare_capacity_mut();
    let n = call(Call::IpcCall, [dest.0 as u64, msg.as_ptr() as u64, msg.len() as u64, spare.as_mut_ptr() as u64, max as u64, 0])? as usize;
    // SAFETY: the kernel wrote `n` <= `max` bytes (the reply it copied) at the
    // start of the spare capacity, which `reserve` made at least `max` long.
    unsafe { reply.set_len(reply.len() + n.min(max)) };
    Ok(n)
}

/// Wait for a message or notification: a `msg::Header` then the payload is
/// written to `buf`; returns the total length written.
pub fn ipc_recv(buf: &mut [u8]) -> Result<usize> {
    call(Call::IpcRecv, [buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0, 0]).map(|n| n as usize)
}

/// Answer the message `task` is blocked on.
pub fn ipc_reply(task: TaskId, msg: &[u8]) -> Result<()> {
    call(Call::IpcReply, [task.0 as u64, msg.as_ptr() as u64, msg.len() as u64, 0, 0, 0]).map(|_| ())
}

/// Reply to `task` and receive the next message into `buf`, in one kernel
/// entry (the receive happens even if `task` is gone).
pub fn ipc_reply_recv(task: TaskId, msg: &[u8], buf: &mut [u8]) -> Result<usize> {
    call(Call::IpcReplyRecv, [task.0 as u64, msg.as_ptr() as u64, msg.len() as u64, buf.as_mut_ptr() as u64, buf.len() as u64, 0]).map(|n| n as usize)
}

/// What `linux_reply_recv` received.
pub enum Incoming {
    /// A Linux system call, handed over in registers.
    Syscall { sender: TaskId, call: sion_abi::msg::LinuxSyscall },
    /// Any other message or a notification, written into the buffer as by
    /// `ipc_recv`: its length.
    InBuffer(usize),
}

/// The personality's loop step: answer Linux task `to` (if any) and receive
/// the next message, in one kernel entry. A Linux system call comes back in
/// registers (no page-table walk in the kernel, nothing to decode here).
pub fn linux_reply_recv(to: Option<(TaskId, sion_abi::msg::LinuxReply)>, buf: &mut [u8]) -> Result<Incoming> {
    use sion_abi::msg::InRegs;
    let (task, reply) = to.map_or((0, Default::default()), |(t, r)| (t.0 as u64, r));
    let rax: u64;
    let mut r = InRegs { rdi: task, rsi: reply.rax, rdx: reply.flags, r10: buf.as_mut_ptr() as u64, r8: buf.len() as u64, ..Default::default() };
    // SAFETY: as `raw`, except that the kernel returns a message in rdi, rsi,
    // rdx, r10, r8, r9 and r12-r15 (all declared here); it writes memory
    // only inside `buf`.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") Call::LinuxReplyRecv as u64 => rax,
            inlateout("rdi") r.rdi,
            inlateout("rsi") r.rsi,
            inlateout("rdx") r.rdx,
            inlateout("r10") r.r10,
            inlateout("r8") r.r8,
            inlateout("r9") r.r9,
            lateout("r12") r.r12,
            lateout("r13") r.r13,
            lateout("r14") r.r14,
            lateout("r15") r.r15,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    let n = check(rax)? as usize;
    Ok(match r.message() {
        Some((h, call)) => Incoming::Syscall { sender: h.sender(), call },
        None => Incoming::InBuffer(n),
    })
}

/// OR `bits` into `task`'s notification word.
pub fn notify(task: TaskId, bits: u64) -> Result<()> {
    call(Call::Notify, [task.0 as u64, bits, 0, 0, 0, 0]).map(|_| ())
}

/// Raise NOTIFY_TIMER at this monotonic time (0 cancels).
pub fn timer_set(deadline_ns: u64) -> Result<()> {
    call(Call::TimerSet, [deadline_ns, 0, 0, 0, 0, 0]).map(|_| ())
}

pub fn clock_info() -> Result<ClockInfo> {
    let mut c = ClockInfo::default();
    call(Call::ClockInfo, [&mut c as *mut ClockInfo as u64, 0, 0, 0, 0, 0])?;
    Ok(c)
}

pub fn space_create() -> Result<SpaceId> {
    call(Call::SpaceCreate, [0; 6]).map(|s| SpaceId(s as u32))
}

/// A new space charged to the memory account of `like` (see `Call::SpaceCreate`).
pub fn space_create_like(like: SpaceId) -> Result<SpaceId> {
    call(Call::SpaceCreate, [like.0 as u64, 0, 0, 0, 0, 0]).map(|s| SpaceId(s as u32))
}

/// A copy-on-write copy of `space` (see `Call::SpaceClone`).
pub fn space_clone(space: SpaceId) -> Result<SpaceId> {
    call(Call::SpaceClone, [space.0 as u64, 0, 0, 0, 0, 0]).map(|s| SpaceId(s as u32))
}

/// Hold a task off the CPU, or release it (see `Call::TaskHold`).
pub fn task_hold(task: TaskId, held: bool) -> Result<()> {
    call(Call::TaskHold, [task.0 as u64, held as u64, 0, 0, 0, 0]).map(|_| ())
}

/// Stop a runnable Linux task where it is and hear of it as a fault
/// (see `Call::TaskInterrupt`).
pub fn task_interrupt(task: TaskId) -> Result<()> {
    call(Call::TaskInterrupt, [task.0 as u64, 0, 0, 0, 0, 0]).map(|_| ())
}

/// The task's FXSAVE image.
pub fn task_get_fpu(task: TaskId) -> Result<[u8; FPU_STATE_SIZE]> {
    let mut b = [0u8; FPU_STATE_SIZE];
    call(Call::TaskGetFpu, [task.0 as u64, b.as_mut_ptr() as u64, 0, 0, 0, 0])?;
    Ok(b)
}

/// Load an FXSAVE image into a stopped or waiting task.
pub fn task_set_fpu(task: TaskId, state: &[u8; FPU_STATE_SIZE]) -> Result<()> {
    call(Call::TaskSetFpu, [task.0 as u64, state.as_ptr() as u64, 0, 0, 0, 0]).map(|_| ())
}

pub fn space_destroy(space: SpaceId) -> Result<()> {
    if own(space) {
        return Err(Error::Denied);
    }
    call(Call::SpaceDestroy, [space.0 as u64, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Back `[vaddr, vaddr+len)` with fresh zeroed pages. Safe on the own space
/// too: it fails with `Exists` rather than replace anything mapped.
pub fn mem_map(space: SpaceId, vaddr: u64, len: u64, prot: u64) -> Result<()> {
    call(Call::MemMap, [space.0 as u64, vaddr, len, prot, 0, 0]).map(|_| ())
}

/// Unmap pages of another space.
pub fn mem_unmap(space: SpaceId, vaddr: u64, len: u64) -> Result<()> {
    if own(space) {
        return Err(Error::Denied);
    }
    call(Call::MemUnmap, [space.0 as u64, vaddr, len, 0, 0, 0]).map(|_| ())
}

/// Change the protection of pages of another space.
pub fn mem_protect(space: SpaceId, vaddr: u64, len: u64, prot: u64) -> Result<()> {
    if own(space) {
        return Err(Error::Denied);
    }
    call(Call::MemProtect, [space.0 as u64, vaddr, len, prot, 0, 0]).map(|_| ())
}

/// Copy `src` into another space at `vaddr`; returns the count copied (short
/// at the first page not mapped user-writable).
pub fn mem_write(space: SpaceId, vaddr: u64, src: &[u8]) -> Result<usize> {
    if own(space) {
        return Err(Error::Denied);
    }
    call(Call::MemWrite, [space.0 as u64, vaddr, src.as_ptr() as u64, src.len() as u64, 0, 0]).map(|n| n as usize)
}

/// Copy from a space at `vaddr` into `dst`; returns the count copied.
pub fn mem_read(space: SpaceId, vaddr: u64, dst: &mut [u8]) -> Result<usize> {
    if own(space) {
        return Err(Error::Denied);
    }
    call(Call::MemRead, [space.0 as u64, vaddr, dst.as_mut_ptr() as u64, dst.len() as u64, 0, 0]).map(|n| n as usize)
}

/// Map in `to` at `to_vaddr` the frames `from` maps shared at `from_vaddr`.
pub fn mem_share(from: SpaceId, from_vaddr: u64, to: SpaceId, to_vaddr: u64, len: u64, prot: u64) -> Result<()> {
    call(Call::MemShare, [from.0 as u64, from_vaddr, to.0 as u64, to_vaddr, len, prot]).map(|_| ())
}

/// Atomically replace the aligned word at `vaddr` of another space with
/// `new` if it holds `expected`; returns the word it held.
pub fn mem_cmpxchg32(space: SpaceId, vaddr: u64, expected: u32, new: u32) -> Result<u32> {
    if own(space) {
        return Err(Error::Denied);
    }
    call(Call::MemCmpxchg32, [space.0 as u64, vaddr, expected as u64, new as u64, 0, 0]).map(|v| v as u32)
}

pub fn task_create(space: SpaceId, kind: TaskKind) -> Result<TaskId> {
    call(Call::TaskCreate, [space.0 as u64, kind as u64, 0, 0, 0, 0]).map(|t| TaskId(t as u32))
}

pub fn task_set_regs(task: TaskId, regs: &TaskRegs) -> Result<()> {
    call(Call::TaskSetRegs, [task.0 as u64, regs as *const TaskRegs as u64, 0, 0, 0, 0]).map(|_| ())
}

pub fn task_get_regs(task: TaskId) -> Result<TaskRegs> {
    let mut r = TaskRegs::default();
    call(Call::TaskGetRegs, [task.0 as u64, &mut r as *mut TaskRegs as u64, 0, 0, 0, 0])?;
    Ok(r)
}

pub fn task_start(task: TaskId) -> Result<()> {
    call(Call::TaskStart, [task.0 as u64, 0, 0, 0, 0, 0]).map(|_| ())
}

pub fn task_kill(task: TaskId) -> Result<()> {
    call(Call::TaskKill, [task.0 as u64, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Stop the machine (boot server only).
pub fn poweroff(code: u64) -> ! {
    let _ = call(Call::Poweroff, [code, 0, 0, 0, 0, 0]);
    exit(code)
}

pub fn sys_info() -> Result<SysInfo> {
    let mut s = SysInfo::default();
    call(Call::SysInfo, [&mut s as *mut SysInfo as u64, 0, 0, 0, 0, 0])?;
    Ok(s)
}

pub fn task_info(task: TaskId) -> Result<TaskInfo> {
    let mut t = TaskInfo::default();
    call(Call::TaskInfo, [task.0 as u64, &mut t as *mut TaskInfo as u64, 0, 0, 0, 0])?;
    Ok(t)
}

/// Hardware entropy into `buf`; returns how many bytes (0 without RDSEED/RDRAND).
pub fn hw_random(buf: &mut [u8]) -> Result<usize> {
    call(Call::HwRandom, [buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0, 0]).map(|n| n as usize)
}

pub fn space_set_limit(space: SpaceId, bytes: u64) -> Result<()> {
    call(Call::SpaceSetLimit, [space.0 as u64, bytes, 0, 0, 0, 0]).map(|_| ())
}


/// Map device registers (physical `paddr`, `len` bytes) uncached at `vaddr`
/// in this server's space; the kernel checks them against its device grant.
pub fn dev_map(vaddr: u64, paddr: u64, len: u64) -> Result<()> {
    call(Call::DevMap, [crate::self_space().0 as u64, vaddr, paddr, len, 0, 0]).map(|_| ())
}

/// Physically contiguous zeroed memory for DMA at `vaddr` (in this server's
/// space); returns its physical address.
pub fn dma_alloc(vaddr: u64, len: u64) -> Result<u64> {
    call(Call::DmaAlloc, [crate::self_space().0 as u64, vaddr, len, 0, 0, 0])
}

/// Receive interrupt line `gsi` as notification `bits`.
pub fn irq_bind(gsi: u32, bits: u64) -> Result<()> {
    call(Call::IrqBind, [gsi as u64, bits, 0, 0, 0, 0]).map(|_| ())
}

/// The task of the boot server named `name` (its `servers/NAME` entry).
pub fn server_lookup(name: &str) -> Result<TaskId> {
    call(Call::ServerLookup, [name.as_ptr() as u64, name.len() as u64, 0, 0, 0, 0]).map(|t| TaskId(t as u32))
}
