//! Kernel calls.
//!
//! A native task makes a kernel call with `syscall` (or `int 0x40`, the seed
//! paper's vector): the call number in `rax`, up to six arguments in `rdi`,
//! `rsi`, `rdx`, `r10`, `r8`, `r9` (the Linux x86_64 convention, so the same
//! register shuffling serves both). The result comes back in `rax`: a value
//! `>= 0` on success or a negated [`Error`] code. Some calls return a second
//! value in `rdx`. `rcx` and `r11` are clobbered, as with Linux.
//!
//! Every user pointer a call receives is checked by walking the caller's page
//! tables; a bad one yields [`Error::Fault`], never a kernel fault.

/// Kernel call numbers.
#[repr(u64)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Call {
    /// `log(ptr, len)`: write bytes to the kernel console (serial port 1).
    Log = 0,
    /// `yield()`: give up the rest of the time slice.
    Yield = 1,
    /// `exit(code)`: end the calling task.
    Exit = 2,
    /// `call(dest, send_ptr, send_len, reply_ptr, reply_cap) -> reply_len`:
    /// send a message to native task `dest` and block until it replies.
    /// The message is copied once, from the sender's buffer to the receiver's.
    IpcCall = 3,
    /// `recv(buf, cap) -> total_len`: block until a message or notification
    /// arrives; a [`crate::msg::Header`] followed by the payload is written at `buf`.
    /// If the payload does not fit, it is truncated and `Header::len` tells its
    /// full size.
    IpcRecv = 4,
    /// `reply(task, ptr, len)`: answer the message `task` is blocked on. For a
    /// native caller the bytes are copied into its reply buffer; for a Linux task
    /// the payload is a [`crate::msg::LinuxReply`]. A server may defer a reply
    /// (keep the caller blocked) and answer later, in any order.
    IpcReply = 5,
    /// `notify(task, bits)`: OR `bits` into `task`'s notification word and wake it
    /// if it waits in `recv`.
    Notify = 6,
    /// `timer_set(deadline_ns)`: raise [`crate::msg::NOTIFY_TIMER`] on the caller
    /// once the monotonic clock reaches `deadline_ns` (0 cancels). One timer per task.
    TimerSet = 7,
    /// `clock_info(ptr)`: fill a [`ClockInfo`].
    ClockInfo = 8,
    /// `space_create(like) -> space`: a new, empty user address space owned by
    /// the caller; with `like` (a space the caller controls, 0 for none) it
    /// is charged to the same memory account (one limit for a job's spaces).
    SpaceCreate = 9,
    /// `space_destroy(space)`: free a space, its frames, and kill its tasks.
    SpaceDestroy = 10,
    /// `mem_map(space, vaddr, len, prot)`: back `[vaddr, vaddr+len)` (page
    /// aligned) with fresh zeroed frames. Fails with `Exists` (changing nothing)
    /// if any page is already mapped, `NoMemory` when frames or the space's
    /// limit run out.
    MemMap = 11,
    /// `mem_unmap(space, vaddr, len)`: unmap and free; unmapped holes are fine.
    MemUnmap = 12,
    /// `mem_protect(space, vaddr, len, prot)`: change the protection of mapped pages.
    MemProtect = 13,
    /// `mem_write(space, vaddr, src, len) -> copied`: copy from the caller's
    /// memory into `space`. Stops at the first page of `space` that is not
    /// mapped user-writable and returns how much was copied (a short count is
    /// not an error; the caller decides whether to map the page and retry).
    MemWrite = 14,
    /// `mem_read(space, vaddr, dst, len) -> copied`: copy from `space` into the
    /// caller's memory; stops at the first unmapped or non-user page.
    MemRead = 15,
    /// `task_create(space, kind) -> task`: a new stopped task in `space`, with the
    /// caller as its handler (the receiver of its traps and faults).
    TaskCreate = 16,
    /// `task_set_regs(task, &TaskRegs)`: only while the task is stopped or blocked
    /// waiting for its handler.
    TaskSetRegs = 17,
    /// `task_get_regs(task, &mut TaskRegs)`.
    TaskGetRegs = 18,
    /// `task_start(task)`: make a created task runnable.
    TaskStart = 19,
    /// `task_kill(task)`: destroy a task the caller handles.
    TaskKill = 20,
    /// `poweroff(code)`: stop the machine; only for the boot server.
    Poweroff = 21,
    /// `sys_info(ptr)`: fill a [`SysInfo`].
    SysInfo = 22,
    /// `task_info(task, ptr)`: fill a [`TaskInfo`] for a task the caller handles (or itself).
    TaskInfo = 23,
    /// `random(ptr, len) -> n`: hardware entropy (RDSEED/RDRAND) for seeding a
    /// CSPRNG; returns 0 bytes when the CPU has none.
    HwRandom = 24,
    /// `space_set_limit(space, bytes)`: cap the memory mapped into a space and
    /// every space sharing its account (its clones, spaces created like it).
    SpaceSetLimit = 25,
    /// `dev_map(space, vaddr, paddr, len)`: map device registers (uncached)
    /// at `vaddr`. Only inside the caller's device window (granted on the
    /// kernel command line as `NAME.mmio=BASE:LEN`), never RAM.
    DevMap = 26,
    /// `dma_alloc(space, vaddr, len) -> paddr`: physically contiguous zeroed
    /// memory for a device, mapped read-write at `vaddr`; returns its physical
    /// address. Only for tasks with a device grant.
    DmaAlloc = 27,
    /// `irq_bind(gsi, bits)`: deliver interrupt line `gsi` to the caller as
    /// notification `bits` (edge-triggered, active high). Only for lines granted
    /// as `NAME.irq=LO-HI`.
    IrqBind = 28,
    /// `server_lookup(name_ptr, len) -> task`: the task of a boot server by its
    /// archive name (`servers/NAME`).
    ServerLookup = 29,
    /// `reply_recv(task, ptr, len, buf, cap) -> total_len`: `reply` then `recv`
    /// in one kernel entry, the loop of every server. The receive happens even
    /// if the reply finds its caller gone (killed meanwhile).
    IpcReplyRecv = 30,
    /// `space_clone(space) -> new space`: a copy of a space the caller
    /// controls, owned by the caller, sharing every frame copy-on-write (the
    /// first write to a shared page, by a task or by `mem_write`, copies it).
    /// How a fork is cheap.
    SpaceClone = 31,
    /// `task_hold(task, held)`: with `held` 1, the task is not scheduled
    /// until released with 0, whatever happens to it meanwhile (a reply
    /// makes it ready, not running). Not for the caller itself. How a Linux
    /// process is stopped (SIGSTOP) while its threads compute.
    TaskHold = 32,
    /// `task_interrupt(task)`: stop a runnable Linux task the caller handles
    /// where it is, in user code, and send the caller a [`crate::msg::Fault`]
    /// with vector [`crate::msg::VECTOR_INTERRUPT`] for it, answered like a
    /// fault. How a signal reaches a thread computing without system calls.
    /// `BadState` when the task is not runnable (blocked in a call or fault,
    /// stopped, held) or is the caller.
    TaskInterrupt = 33,
    /// `task_get_fpu(task, ptr)`: the task's x87/SSE state, the 512-byte
    /// FXSAVE image ([`FPU_STATE_SIZE`]), for a signal frame.
    TaskGetFpu = 34,
    /// `task_set_fpu(task, ptr)`: load a 512-byte FXSAVE image into the task
    /// (MXCSR bits the CPU does not have are cleared); only while it is
    /// stopped or waiting for the caller, as `task_set_regs`.
    TaskSetFpu = 35,
    /// `linux_reply_recv(task, rax, flags, buf, cap) -> total_len`: the
    /// personality's loop in one entry, with no message bytes in memory.
    /// Answers the Linux task `task` (0: none) with `rax` (or keeps its
    /// registers: [`crate::msg::reply_flags`]), then receives as `recv`,
    /// except that a Linux system call comes back in registers
    /// ([`crate::msg::InRegs`]): no page-table walk on either side. Other
    /// messages and notifications are written at `buf` as by `recv`.
    LinuxReplyRecv = 36,
    /// `mem_cmpxchg32(space, vaddr, expected, new) -> old`: an atomic
    /// compare-and-exchange of the aligned 32-bit word at `vaddr` in `space`
    /// (a lock-prefixed instruction on the word itself), against the
    /// space's threads running on other CPUs: how the personality updates
    /// a futex word (`FUTEX_WAKE_OP`, robust lists). Returns the old word
    /// (the exchange happened if it equals `expected`); `Fault` when the
    /// page is not mapped user-writable (copy-on-write pages are made the
    /// space's own first), `Invalid` when `vaddr` is not 4-byte aligned.
    MemCmpxchg32 = 37,
    /// `mem_share(from, from_vaddr, to, to_vaddr, len, prot)`: map in space
    /// `to` the very frames that space `from` maps shared
    /// (`prot::SHARED`) over the range: both see each other's writes, as
    /// after a `space_clone`. Every page of the source range must be mapped
    /// shared (`Invalid` otherwise: a private or copy-on-write page is
    /// never aliased); the destination range must be unmapped (`Exists`).
    /// How two mmaps of one file share its pages in different processes.
    MemShare = 38,
}

/// Bytes of a task's FPU state as `task_get_fpu`/`task_set_fpu` carry it.
pub const FPU_STATE_SIZE: usize = 512;

impl Call {
    pub const ALL: &'static [Call] = &[
        Call::Log,
        Call::Yield,
        Call::Exit,
        Call::IpcCall,
        Call::IpcRecv,
        Call::IpcReply,
        Call::Notify,
        Call::TimerSet,
        Call::ClockInfo,
        Call::SpaceCreate,
        Call::SpaceDestroy,
        Call::MemMap,
        Call::MemUnmap,
        Call::MemProtect,
        Call::MemWrite,
        Call::MemRead,
        Call::TaskCreate,
        Call::TaskSetRegs,
        Call::TaskGetRegs,
        Call::TaskStart,
        Call::TaskKill,
        Call::Poweroff,
        Call::SysInfo,
        Call::TaskInfo,
        Call::HwRandom,
        Call::SpaceSetLimit,
        Call::DevMap,
        Call::DmaAlloc,
        Call::IrqBind,
        Call::ServerLookup,
        Call::IpcReplyRecv,
        Call::SpaceClone,
        Call::TaskHold,
        Call::TaskInterrupt,
        Call::TaskGetFpu,
        Call::TaskSetFpu,
        Call::LinuxReplyRecv,
        Call::MemCmpxchg32,
        Call::MemShare,
    ];

    /// The call numbered `n` (calls are numbered densely, in `ALL` order).
    pub fn from_u64(n: u64) -> Option<Call> {
        Call::ALL.get(usize::try_from(n).ok()?).copied()
    }
}

/// Errors of kernel calls, returned negated in `rax`.
#[repr(i64)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Error {
    /// Unknown call number.
    NoSuchCall = 1,
    /// A pointer or range the kernel could not use.
    Fault = 2,
    /// An argument is out of range or malformed.
    Invalid = 3,
    /// No such task or space (or a stale id).
    NoSuchObject = 4,
    /// The caller does not own the object.
    Denied = 5,
    /// Out of frames, tasks, spaces or the space's memory limit.
    NoMemory = 6,
    /// A page in the range is already mapped.
    Exists = 7,
    /// The target is not in a state that allows this (e.g. not waiting for a reply).
    BadState = 8,
}

impl Error {
    pub const fn as_ret(self) -> u64 {
        (-(self as i64)) as u64
    }
    pub fn from_ret(ret: u64) -> Option<Error> {
        let v = ret as i64;
        if v >= 0 {
            return None;
        }
        Some(match -v {
            1 => Error::NoSuchCall,
            2 => Error::Fault,
            3 => Error::Invalid,
            4 => Error::NoSuchObject,
            5 => Error::Denied,
            6 => Error::NoMemory,
            7 => Error::Exists,
            _ => Error::BadState,
        })
    }
}

/// Protection bits for memory calls: the same values as Linux's `PROT_*`.
pub mod prot {
    pub const READ: u64 = 1;
    pub const WRITE: u64 = 2;
    pub const EXEC: u64 = 4;
    /// The pages stay shared with clones of the space (MAP_SHARED memory):
    /// `space_clone` shares their frames writable instead of copy-on-write.
    pub const SHARED: u64 = 8;
    /// Every bit a caller may give.
    pub const ALL: u64 = READ | WRITE | EXEC | SHARED;
}

/// Kind of a task, given at `task_create`.
#[repr(u64)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TaskKind {
    /// `syscall`/`int 0x40` are kernel calls; faults kill the task.
    Native = 0,
    /// `syscall` and `int 0x80` become [`crate::msg::LinuxSyscall`] messages to
    /// the handler; faults become [`crate::msg::Fault`] messages.
    Linux = 1,
}

/// The clock: the kernel calibrates the TSC at boot; user space reads `rdtsc`
/// itself and converts with these figures.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct ClockInfo {
    /// TSC ticks per second.
    pub tsc_hz: u64,
    /// TSC value taken as monotonic time 0 (kernel start).
    pub tsc_at_boot: u64,
    /// Wall-clock time (ns since the Unix epoch) at `tsc_at_boot`, from the RTC
    /// or the boot command line, 0 if unknown.
    pub realtime_at_boot_ns: u64,
    /// Where the frequency came from: 0 = CPUID leaf 0x15, 1 = hypervisor leaf
    /// 0x40000010, 2 = calibrated against the PIT.
    pub source: u64,
}

impl ClockInfo {
    /// Nanoseconds since boot for a TSC reading.
    pub fn tsc_to_ns(&self, tsc: u64) -> u64 {
        let d = tsc.saturating_sub(self.tsc_at_boot) as u128;
        if self.tsc_hz == 0 {
            return 0;
        }
        (d * 1_000_000_000 / self.tsc_hz as u128) as u64
    }
}

/// The most CPUs the kernel starts; further ones the firmware lists are left off.
pub const MAX_CPUS: usize = 16;

/// Figures of the node for /proc and sysinfo.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct SysInfo {
    pub total_frames: u64,
    pub free_frames: u64,
    pub tasks: u64,
    pub uptime_ns: u64,
    /// Nanoseconds the CPUs spent idle since boot, summed over all of them.
    pub idle_ns: u64,
    /// CPUs online, each running tasks.
    pub cpus: u64,
    /// CPUs the firmware lists as enabled (1 without ACPI tables); the
    /// kernel starts at most [`MAX_CPUS`] of them.
    pub cpus_found: u64,
}

/// Figures of one task.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct TaskInfo {
    /// CPU time the task has used, in nanoseconds.
    pub cpu_ns: u64,
    /// Bytes of memory mapped into its space.
    pub space_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_numbers_round_trip() {
        for (i, c) in Call::ALL.iter().enumerate() {
            assert_eq!(*c as u64, i as u64, "calls are numbered densely in order");
            assert_eq!(Call::from_u64(*c as u64), Some(*c));
        }
        assert_eq!(Call::from_u64(Call::ALL.len() as u64), None);
    }

    #[test]
    fn errors_round_trip() {
        for e in [Error::NoSuchCall, Error::Fault, Error::Invalid, Error::NoSuchObject, Error::Denied, Error::NoMemory, Error::Exists, Error::BadState] {
            assert_eq!(Error::from_ret(e.as_ret()), Some(e));
        }
        assert_eq!(Error::from_ret(0), None);
        assert_eq!(Error::from_ret(12345), None);
    }

    #[test]
    fn clock_converts() {
        let c = ClockInfo { tsc_hz: 2_000_000_000, tsc_at_boot: 1000, realtime_at_boot_ns: 0, source: 2 };
        assert_eq!(c.tsc_to_ns(1000 + 2_000_000_000), 1_000_000_000);
        assert_eq!(c.tsc_to_ns(0), 0);
    }
}
