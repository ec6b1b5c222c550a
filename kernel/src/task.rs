//! Tasks and address spaces: the kernel's two kinds of object, in fixed tables.

use crate::cpu::FpuState;
use crate::idt::TrapFrame;
use sion_abi::call::TaskKind;
use sion_abi::msg::LinuxAbi;
use sion_abi::regs::TLS_SLOTS;

pub use sion_abi::{MAX_SPACES, MAX_TASKS};
/// "No task" in the u16 links below.
pub const NONE: u16 = u16::MAX;
/// Device register windows a server may be granted (PCI needs the
/// configuration space and the BARs).
pub const MAX_MMIO_WINDOWS: usize = 4;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    Free,
    /// Created, not started (or stopped by its handler).
    Stopped,
    /// Running or in the run queue.
    Runnable,
    /// Waiting in `recv` with this buffer; with `regs`, a Linux system call
    /// is handed over in registers instead (`linux_reply_recv`).
    Recv { buf: u64, cap: u64, regs: bool },
    /// Queued at `to`, which has not received the message yet.
    Send { to: u16 },
    /// Its message was received by `from`; waiting for the reply.
    Reply { from: u16 },
}

/// What a blocked sender is sending: kept until delivery, so the message is
/// copied once, straight from the sender to the receiver.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outgoing {
    None,
    Native { ptr: u64, len: u64, reply_ptr: u64, reply_cap: u64 },
    LinuxSyscall { abi: LinuxAbi },
    Fault { vector: u64, error: u64, addr: u64 },
}

pub struct Task {
    pub generation: u16,
    pub state: State,
    pub kind: TaskKind,
    pub space: u16,
    /// Receives this task's traps and faults (Linux tasks).
    pub handler: u16,
    /// May control this task (set registers, start, kill).
    pub owner: u16,
    pub frame: TrapFrame,
    pub fs_base: u64,
    pub gs_base: u64,
    pub fs_sel: u16,
    pub gs_sel: u16,
    pub tls: [u64; TLS_SLOTS],
    pub fpu: FpuState,
    pub outgoing: Outgoing,
    /// Senders waiting for this task to `recv` (a FIFO through `next_in_queue`).
    pub queue_head: u16,
    pub queue_tail: u16,
    pub next_in_queue: u16,
    pub notify: u64,
    /// TSC deadline of the task's timer, 0 = none.
    pub timer_deadline: u64,
    pub cpu_tsc: u64,
    pub io: Option<(u16, u16)>,
    /// Device register windows it may map (`dev_map`): physical base and length.
    pub mmio: [Option<(u64, u64)>; MAX_MMIO_WINDOWS],
    /// Interrupt lines it may bind (`irq_bind`): first and last GSI.
    pub irqs: Option<(u32, u32)>,
    /// May power the machine off (the boot server).
    pub privileged: bool,
    /// Held off the CPU by its owner (`task_hold`): never in the run queue.
    pub held: bool,
    /// One more than the index of the CPU whose current task it is, or
    /// [`NO_CPU`] (0, as in the zeroed kernel state). A slot stays
    /// reserved while a CPU still has it as its current task (even dead:
    /// that CPU's next entry from user mode saves into its frame).
    pub on_cpu: u8,
    /// `task_interrupt` asked for it while it ran on another CPU: that CPU
    /// stops it at its next entry (the IPI's), unless a call or fault of
    /// the task comes first (whose answer serves the same purpose).
    pub interrupt_pending: bool,
}

/// "On no CPU" in [`Task::on_cpu`].
pub const NO_CPU: u8 = 0;

impl Task {
    pub const EMPTY: Task = Task {
        generation: 0,
        state: State::Free,
        kind: TaskKind::Native,
        space: 0,
        handler: NONE,
        owner: NONE,
        frame: TrapFrame { r15: 0, r14: 0, r13: 0, r12: 0, r11: 0, r10: 0, r9: 0, r8: 0, rbp: 0, rdi: 0, rsi: 0, rdx: 0, rcx: 0, rbx: 0, rax: 0, vector: 0, error_code: 0, rip: 0, cs: 0, rflags: 0, rsp: 0, ss: 0 },
        fs_base: 0,
        gs_base: 0,
        fs_sel: 0,
        gs_sel: 0,
        tls: [0; TLS_SLOTS],
        fpu: FpuState::zeroed(),
        outgoing: Outgoing::None,
        queue_head: NONE,
        queue_tail: NONE,
        next_in_queue: NONE,
        notify: 0,
        timer_deadline: 0,
        cpu_tsc: 0,
        io: None,
        mmio: [None; MAX_MMIO_WINDOWS],
        irqs: None,
        privileged: false,
        held: false,
        on_cpu: NO_CPU,
        interrupt_pending: false,
    };

    /// The CPU whose current task it is.
    pub fn cpu(&self) -> Option<usize> {
        (self.on_cpu != NO_CPU).then(|| self.on_cpu as usize - 1)
    }

    pub fn is_compat(&self) -> bool {
        self.frame.cs == sion_abi::regs::selector::USER_CODE32 as u64
    }
}

pub struct Space {
    pub generation: u16,
    pub in_use: bool,
    pub pml4: u64,
    pub owner: u16,
    /// Pages mapped in this space.
    pub pages: u64,
    /// The memory account it is charged to (see [`Account`]).
    pub account: u16,
}

impl Space {
    pub const EMPTY: Space = Space { generation: 0, in_use: false, pml4: 0, owner: NONE, pages: 0, account: 0 };
}

/// Pages charged to the spaces that share it, against a limit. A space gets
/// its own; clones and spaces created "like" another share it, so a job's
/// processes have one memory limit between them.
#[derive(Clone, Copy)]
pub struct Account {
    pub pages: u64,
    pub limit_pages: u64,
    /// Spaces charged to it (0: free).
    pub refs: u16,
}

impl Account {
    pub const EMPTY: Account = Account { pages: 0, limit_pages: u64::MAX, refs: 0 };
}
