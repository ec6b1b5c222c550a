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
    // SAFETY: as above, the frame the entry code built (the current task's).
    if unsafe { (*frame).vector } == idt::VECTOR_IPI {
        // What another CPU waits for (it may hold the lock meanwhile).
        crate::percpu::serve_requests();
        crate::time::eoi();
    }
    crate::lock::acquire();
    // SAFETY: the kernel lock is held (interrupts off, not preemptible):
    // this is the only reference until it is given up in `run_next`.
    let k = unsafe { crate::kernel() };
    let cur = k.cpu_ref().current;
    if !core::ptr::eq(frame, &k.tasks[cur].frame) {
        panic!("entry from user mode with a frame that is not task {}'s", cur);
    }
    // What other CPUs may have done meanwhile (with one CPU, nothing: only
    // the idle loop halts, and it looks itself).
    let mut interrupt = false;
    if crate::lock::enabled() {
        k.cpu().kicked = false;
        k.noted_interrupts();
        if k.tasks[cur].state == crate::task::State::Free {
            // Killed from another CPU while it ran here: its call or fault
            // is void, but an interrupt that brought it here is served.
            let vector = k.tasks[cur].frame.vector;
            k.interrupt(vector);
            return run_next(k, None);
        }
        // Asked by another CPU's `task_interrupt` while it ran here (see general_path).
        interrupt = core::mem::take(&mut k.tasks[cur].interrupt_pending);
    }
    let next = if crate::fastpath::may_qualify(k, cur) { k.fastpath(cur) } else { None };
    let next = match next {
        Some(n) => Some(n),
        None => k.general_path(cur, interrupt),
    };
    run_next(k, next)
}

/// Leave the kernel for the task chosen (`next`, or the first `schedule`
/// finds): give up the kernel lock and return its frame for `trap_return`.
/// With nothing to run, the CPU idles (`idle_loop`).
#[inline(always)]
pub fn run_next(k: &'static mut Kernel, next: Option<usize>) -> *mut TrapFrame {
    match next.or_else(|| k.schedule()) {
        Some(n) => leave(k, n),
        None => {
            k.enter_idle();
            crate::lock::release();
            idle_loop()
        }
    }
}

#[inline(always)]
fn leave(k: &'static mut Kernel, n: usize) -> *mut TrapFrame {
    let frame: *mut TrapFrame = &mut k.tasks[n].frame;
    crate::lock::release();
    frame
}

/// Halt without the lock until an interrupt (this CPU's timer, a device,
/// another CPU's IPI), then take the lock and look for a task again. (Its
/// own function, so that no reference to the kernel state lives across the
/// time the lock is given up: each round takes a new one.)
#[inline(never)]
fn idle_loop() -> *mut TrapFrame {
    loop {
        wait_for_work();
        crate::lock::acquire();
        // SAFETY: the lock is held; this reference ends with this round.
        let k = unsafe { crate::kernel() };
        k.cpu().kicked = false;
        k.leave_idle();
        if let Some(n) = k.schedule() {
            return leave(k, n);
        }
        k.enter_idle();
        crate::lock::release();
    }
}

/// Halt until something may have given this CPU work: its timer, a device
/// interrupt (noted by `kernel_mode_trap`), or another CPU's IPI.
fn wait_for_work() {
    let area = crate::percpu::this();
    loop {
        if area.timer_fired.load(Ordering::Acquire) || area.pending_irqs.load(Ordering::Acquire) != 0 || area.kicked.load(Ordering::Acquire) {
            return;
        }
        // Interrupts are taken only between `sti` and `hlt`'s wake-up: one
        // that arrived since the test above wakes it at once.
        cpu::idle_wait();
    }
}

/// Only a halted CPU (idle, or waiting for the lock) runs with interrupts on
/// in the kernel: note the timer, the device line or the IPI and return
/// (`Kernel::noted_interrupts` serves them); anything else here is a kernel bug.
fn kernel_mode_trap(frame: &TrapFrame) {
    match frame.vector {
        idt::VECTOR_TIMER => {
            crate::percpu::this().timer_fired.store(true, Ordering::Release);
            crate::time::eoi();
        }
        idt::VECTOR_IPI => {
            crate::percpu::serve_requests();
            crate::percpu::this().kicked.store(true, Ordering::Release);
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
    /// Handle the current task's entry, pick the next task (`None`: idle).
    fn general_path(&mut self, cur: usize, interrupt: bool) -> Option<usize> {
        let (vector, error) = (self.tasks[cur].frame.vector, self.tasks[cur].frame.error_code);
        if !self.interrupt(vector) {
            self.route(cur, vector, error);
        } else if interrupt && self.tasks[cur].state == crate::task::State::Runnable && !self.tasks[cur].held {
            // `task_interrupt` from another CPU while it ran here: an
            // interrupt (the IPI's, or another) stops it now. (A call or a
            // fault of its own goes to its handler instead, as good.)
            self.linux_trap(cur, Outgoing::Fault { vector: sion_abi::msg::VECTOR_INTERRUPT, error: 0, addr: 0 });
        }
        self.schedule()
    }

    /// An interrupt (timer, device, IPI), whatever task it stopped: `false`
    /// for any other vector.
    fn interrupt(&mut self, vector: u64) -> bool {
        match vector {
            idt::VECTOR_TIMER => {
                crate::time::eoi();
                self.cpu().timer_armed = 0; // it fired
                self.expire_timers();
            }
            idt::VECTOR_SPURIOUS | idt::VECTOR_IPI => {} // (the IPI: served and acknowledged before the lock)
            v if (crate::ioapic::IRQ_VECTOR_BASE..crate::ioapic::IRQ_VECTOR_BASE + crate::ioapic::MAX_GSI as u64).contains(&v) => {
                crate::time::eoi();
                self.device_interrupt((v - crate::ioapic::IRQ_VECTOR_BASE) as u32);
            }
            _ => return false,
        }
        true
    }

    fn route(&mut self, cur: usize, vector: u64, error: u64) {
        if self.interrupt(vector) {
            return;
        }
        let kind = self.tasks[cur].kind;
        match (vector, kind) {
            (idt::VECTOR_SYSCALL, TaskKind::Native) | (idt::VECTOR_NATIVE_CALL, TaskKind::Native) => self.kernel_call(cur),
            (idt::VECTOR_SYSCALL, TaskKind::Linux) => self.linux_trap(cur, Outgoing::LinuxSyscall { abi: LinuxAbi::X86_64 }),
            (idt::VECTOR_LINUX_I386, TaskKind::Linux) => self.linux_trap(cur, Outgoing::LinuxSyscall { abi: LinuxAbi::I386 }),
            (idt::VECTOR_LINUX_I386, TaskKind::Native) => self.tasks[cur].frame.rax = Error::NoSuchCall.as_ret(),
            // int 0x40 from a Linux program: Linux has no such gate, so it is a #GP.
            (idt::VECTOR_NATIVE_CALL, TaskKind::Linux) => self.user_fault(cur, 13, (idt::VECTOR_NATIVE_CALL << 3) | 2),
            (idt::VECTOR_SYSCALL_COMPAT, _) => self.user_fault(cur, 6, 0),
            (7, _) if self.cpu_ref().ts_set => self.fpu_switch(cur),
            (v, _) if v < 32 => self.user_fault(cur, v, error),
            (v, _) => kprintln!("unexpected vector {} from task {}", v, cur),
        }
    }

    /// Whether task `cur`'s page table now allows the access that faulted.
    fn fault_is_stale(&self, cur: usize, addr: u64, error: u64) -> bool {
        const WRITE: u64 = 1 << 1;
        const FETCH: u64 = 1 << 4;
        const RESERVED_BIT: u64 = 1 << 3;
        if error & RESERVED_BIT != 0 {
            return false; // a bad entry, not a stale fault: retrying would loop
        }
        let pml4 = self.spaces[self.tasks[cur].space as usize].pml4;
        match crate::paging::translate(pml4, addr) {
            Some(e) => {
                sion_kerncore::paging::user_allows(e, error & WRITE != 0)
                    && (error & FETCH == 0 || e & sion_kerncore::paging::pte::NO_EXECUTE == 0)
                    && e & sion_kerncore::paging::pte::COW == 0
            }
            None => false,
        }
    }

    fn user_fault(&mut self, cur: usize, vector: u64, error: u64) {
        let addr = if vector == 14 { cpu::read_cr2() } else { 0 };
        // A write to a copy-on-write page: copy it and retry, unseen by the handler.
        const PRESENT_USER_WRITE: u64 = 0b111;
        let mut error = error;
        if vector == 14 && error & PRESENT_USER_WRITE == PRESENT_USER_WRITE {
            match self.cow_write(self.tasks[cur].space as usize, addr) {
                Some(true) => return,
                Some(false) => error |= sion_abi::msg::pf::NO_MEMORY,
                None => {}
            }
        }
        if vector == 14 && self.fault_is_stale(cur, addr, error) {
            // Another CPU gave the access while this fault waited for the
            // lock (the personality mapped the page, or wrote there and so
            // made a copy-on-write page the space's own): run it again.
            cpu::invlpg(addr);
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
