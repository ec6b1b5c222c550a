//! Trap routing: every kernel entry lands in `trap_entry`.
//!
//! Native tasks: `syscall` and `int 0x40` are kernel calls; a fault kills the
//! task. Linux tasks: `syscall` becomes an x86_64-ABI message and `int 0x80`
//! an i386-ABI message to the task's handler; a fault becomes a fault message.
//! The kernel does not look at Linux call numbers.

use crate::idt::{self, TrapFrame};
use crate::kernel::Kernel;
use crate::task::Outgoing;
use crate::{cpu, kprintln};
use core::sync::atomic::Ordering;
use sion_abi::call::{Error, TaskKind};
use sion_abi::msg::LinuxAbi;

/// Every kernel entry: returns the frame to resume. From user mode `frame`
/// is the current task's own (see idt.rs) and is read through the task.
#[no_mangle]
extern "C" fn trap_entry(frame: *mut TrapFrame) -> *mut TrapFrame {
    // SAFETY: the entry code passes the frame it just built; a kernel-mode
    // one lives on the kernel stack below this call.
    if unsafe { (*frame).cs } & 3 == 0 {
        kernel_mode_trap(unsafe { &*frame });
        return frame;
    }
    // SAFETY: one kernel entry (interrupts off, only this CPU runs tasks, not preemptible):
    // this is the only reference until the next task's frame is returned.
    let k = unsafe { crate::kernel() };
    let cur = k.cpu_ref().current;
    if !core::ptr::eq(frame, &k.tasks[cur].frame) {
        panic!("entry from user mode with a frame that is not task {}'s", cur);
    }
    let next = if crate::fastpath::may_qualify(k, cur) { k.fastpath(cur) } else { None };
    let next = match next {
        Some(n) => n,
        None => k.general_path(cur),
    };
    &mut k.tasks[next].frame
}

/// Only the idle loop runs with interrupts on in the kernel: note the timer and
/// return; anything else here is a kernel bug.
fn kernel_mode_trap(frame: &TrapFrame) {
    match frame.vector {
        idt::VECTOR_TIMER => {
            crate::percpu::this().timer_fired.store(true, Ordering::Release);
            crate::time::eoi();
        }
        idt::VECTOR_SPURIOUS => {}
        v if (crate::ioapic::IRQ_VECTOR_BASE..crate::ioapic::IRQ_VECTOR_BASE + crate::ioapic::MAX_GSI as u64).contains(&v) => {
            crate::percpu::this().pending_irqs.fetch_or(1 << (v - crate::ioapic::IRQ_VECTOR_BASE), Ordering::AcqRel);
            crate::time::eoi();
        }
        v => panic!("kernel fault: vector {} error {:#x} at rip {:#x} (cr2 {:#x}, rsp {:#x})", v, frame.error_code, frame.rip, cpu::read_cr2(), frame.rsp),
    }
}

impl Kernel {
    /// Handle the current task's entry, pick the next task.
    fn general_path(&mut self, cur: usize) -> usize {
        let (vector, error) = (self.tasks[cur].frame.vector, self.tasks[cur].frame.error_code);
        self.route(cur, vector, error);
        self.schedule()
    }

    fn route(&mut self, cur: usize, vector: u64, error: u64) {
        let kind = self.tasks[cur].kind;
        match (vector, kind) {
            (idt::VECTOR_SYSCALL, TaskKind::Native) | (idt::VECTOR_NATIVE_CALL, TaskKind::Native) => self.kernel_call(cur),
            (idt::VECTOR_SYSCALL, TaskKind::Linux) => self.linux_trap(cur, Outgoing::LinuxSyscall { abi: LinuxAbi::X86_64 }),
            (idt::VECTOR_LINUX_I386, TaskKind::Linux) => self.linux_trap(cur, Outgoing::LinuxSyscall { abi: LinuxAbi::I386 }),
            (idt::VECTOR_LINUX_I386, TaskKind::Native) => self.tasks[cur].frame.rax = Error::NoSuchCall.as_ret(),
            (idt::VECTOR_TIMER, _) => {
                crate::time::eoi();
                self.cpu().timer_armed = 0; // it fired
                self.expire_timers();
            }
            (idt::VECTOR_SPURIOUS, _) => {}
            (v, _) if (crate::ioapic::IRQ_VECTOR_BASE..crate::ioapic::IRQ_VECTOR_BASE + crate::ioapic::MAX_GSI as u64).contains(&v) => {
                crate::time::eoi();
                self.device_interrupt((v - crate::ioapic::IRQ_VECTOR_BASE) as u32);
            }
            // int 0x40 from a Linux program: Linux has no such gate, so it is a #GP.
            (idt::VECTOR_NATIVE_CALL, TaskKind::Linux) => self.user_fault(cur, 13, (idt::VECTOR_NATIVE_CALL << 3) | 2),
            (idt::VECTOR_SYSCALL_COMPAT, _) => self.user_fault(cur, 6, 0),
            (7, _) if self.cpu_ref().ts_set => self.fpu_switch(cur),
            (v, _) if v < 32 => self.user_fault(cur, v, error),
            (v, _) => kprintln!("unexpected vector {} from task {}", v, cur),
        }
    }

    fn user_fault(&mut self, cur: usize, vector: u64, error: u64) {
        let addr = if vector == 14 { cpu::read_cr2() } else { 0 };
        // A write to a copy-on-write page: copy it and retry, unseen by the handler.
        const PRESENT_USER_WRITE: u64 = 0b111;
        if vector == 14 && error & PRESENT_USER_WRITE == PRESENT_USER_WRITE && self.unshare_page(self.tasks[cur].space as usize, addr) {
            return;
        }
        match self.tasks[cur].kind {
            TaskKind::Linux => self.linux_trap(cur, Outgoing::Fault { vector, error, addr }),
            // A server started by another (a job's personality, by the group
            // server) has that one as its handler: it hears of the fault and
            // decides (kill, report), as for a Linux program.
            TaskKind::Native if self.has_live_handler(cur) => self.linux_trap(cur, Outgoing::Fault { vector, error, addr }),
            TaskKind::Native => {
                let f = &self.tasks[cur].frame;
                kprintln!("native task {:#x} faulted: vector {} error {:#x} addr {:#x} rip {:#x}: killed", self.task_id(cur).0, vector, error, addr, f.rip);
                let boot = self.tasks[cur].privileged;
                self.kill(cur);
                if boot {
                    panic!("the boot server died");
                }
            }
        }
    }
}
