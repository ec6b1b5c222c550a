//! The fast path of a forwarded Linux system call (seL4's `fastpath.c` shape).
//!
//! Two kernel entries make up every forwarded call: the program's trap, and
//! the personality's answer with its next receive (`linux_reply_recv`). When
//! the usual conditions hold, both are done here in registers: the message
//! goes from the trapping task's frame into the waiting handler's registers,
//! the answer from the handler's registers into the caller's `rax`, and the
//! CPU switches straight to the other side, with no page-table walk, no
//! run-queue round and no look at timers. Anything else (a handler that is
//! busy, a notification or another sender waiting, other runnable tasks, a
//! pending preemption, a bad argument) returns `false` and the general path
//! in `trap.rs` / `ipc.rs` does the same work the long way, so behaviour
//! never depends on which path ran.

use crate::idt::{VECTOR_LINUX_I386, VECTOR_SYSCALL};
use crate::kernel::Kernel;
use crate::task::{Outgoing, State, NONE};
use sion_abi::call::{Call, TaskKind};
use sion_abi::msg::{reply_flags, Header, InRegs, LinuxAbi, LinuxSyscall};

/// Length `recv` reports for a Linux system call.
const SYSCALL_LEN: u64 = (Header::SIZE + LinuxSyscall::SIZE) as u64;

/// The cheap test made on every entry from user mode: only Linux traps and
/// `linux_reply_recv` go further.
#[inline(always)]
pub fn may_qualify(k: &Kernel, cur: usize) -> bool {
    let frame = &k.tasks[cur].frame;
    match frame.vector {
        VECTOR_SYSCALL => frame.rax == Call::LinuxReplyRecv as u64 || k.tasks[cur].kind == TaskKind::Linux,
        VECTOR_LINUX_I386 => true,
        _ => false,
    }
}

impl Kernel {
    /// Handle the current task `cur`'s entry here if it qualifies: the task
    /// to run next, now loaded.
    #[inline(never)]
    pub fn fastpath(&mut self, cur: usize) -> Option<usize> {
        if self.cpu_ref().preempt {
            return None;
        }
        let next = match (self.tasks[cur].frame.vector, self.tasks[cur].kind) {
            (VECTOR_SYSCALL, TaskKind::Linux) => self.fast_trap(cur, LinuxAbi::X86_64),
            (VECTOR_LINUX_I386, TaskKind::Linux) => self.fast_trap(cur, LinuxAbi::I386),
            (VECTOR_SYSCALL, TaskKind::Native) => self.fast_reply_recv(cur),
            _ => None,
        }?;
        self.switch_to(next);
        Some(next)
    }

    /// A Linux task's system call while its handler waits in
    /// `linux_reply_recv`: the handler gets it in registers and runs now.
    fn fast_trap(&mut self, cur: usize, abi: LinuxAbi) -> Option<usize> {
        let h = self.tasks[cur].handler;
        if h == NONE || h as usize == cur {
            return None;
        }
        let h = h as usize;
        if !matches!(self.tasks[h].state, State::Recv { regs: true, .. }) || self.tasks[h].held {
            return None;
        }
        self.tasks[cur].outgoing = Outgoing::LinuxSyscall { abi };
        self.tasks[cur].state = State::Reply { from: h as u16 };
        let m = InRegs::of(self.task_id(cur).0, &self.syscall_message(cur, abi));
        let hf = &mut self.tasks[h].frame;
        hf.put_message(&m);
        hf.rax = SYSCALL_LEN;
        self.tasks[h].state = State::Runnable;
        Some(h)
    }

    /// The handler answers a Linux task and has nothing else to receive:
    /// the task runs now and the handler waits for its next call.
    fn fast_reply_recv(&mut self, cur: usize) -> Option<usize> {
        let frame = &self.tasks[cur].frame;
        if frame.rax != Call::LinuxReplyRecv as u64 {
            return None;
        }
        let (target, rax, flags, buf, cap) = (frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8);
        let me = &self.tasks[cur];
        if cap < SYSCALL_LEN || me.notify != 0 || me.queue_head != NONE || !self.runq.is_empty() {
            return None;
        }
        let t = self.task_slot(target)?;
        let waiting = &self.tasks[t];
        let linux = matches!(waiting.outgoing, Outgoing::LinuxSyscall { .. } | Outgoing::Fault { .. });
        if t == cur || waiting.state != (State::Reply { from: cur as u16 }) || !linux || waiting.held {
            return None;
        }
        let me = &mut self.tasks[cur];
        me.frame.r15 = 0;
        me.state = State::Recv { buf, cap, regs: true };
        let t_task = &mut self.tasks[t];
        if flags & reply_flags::KEEP_REGS == 0 {
            t_task.frame.rax = rax;
        }
        t_task.outgoing = Outgoing::None;
        t_task.state = State::Runnable;
        // As `schedule` would on taking it from the run queue: a new slice.
        self.cpu().slice_start = crate::cpu::rdtsc();
        Some(t)
    }
}
