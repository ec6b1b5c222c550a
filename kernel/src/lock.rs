//! The big kernel lock: one CPU at a time runs kernel code on the kernel state.
//!
//! The kernel is not preemptible and its entries are short, so one lock
//! around every entry is the simplest design known to work for a small
//! microkernel (seL4's SMP kernel does the same). It is a ticket lock: CPUs
//! get it in the order they asked (FIFO), so none starves. Every entry from
//! user mode takes it before it touches the kernel state and gives it back
//! just before it returns to user mode; a CPU with nothing to run gives it
//! back while it halts (trap.rs).
//!
//! A CPU holding the lock may wait for another to act (a TLB shootdown):
//! the waiting CPUs serve such requests while they spin
//! (`percpu::serve_requests`).
//!
//! A waiter that has spun for a while halts until the CPU before it hands
//! the lock over and wakes it with an IPI. On a machine whose CPUs are
//! themselves threads of a busier host (QEMU, any hypervisor), the holder
//! may be descheduled while it holds the lock; a waiter that only spun
//! would burn the host time the holder needs (Linux's paravirtual spinlocks
//! halt and kick for the same reason). While halted the waiter takes
//! interrupts as an idle CPU does (`trap::kernel_mode_trap` notes them), and
//! the kernel looks at what they noted as soon as it has the lock
//! (`Kernel::noted_interrupts`).

use crate::smp::MAX_CPUS;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Whether there is anyone to exclude: false once the boot finds no other
/// CPU to start (`one_cpu`), so a one-CPU node pays a load and a branch per
/// entry, not the lock.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// The next ticket to hand out.
static NEXT: AtomicU32 = AtomicU32::new(0);
/// The ticket whose holder may enter.
static SERVING: AtomicU32 = AtomicU32::new(0);
/// CPUs halted in `wait` (bit n = CPU n), and the ticket each waits for.
static SLEEPERS: AtomicU32 = AtomicU32::new(0);
static SLEEP_TICKET: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// Rounds a waiter spins before it halts: far longer than a usual hold.
const SPINS_BEFORE_HALT: u32 = 2000;

/// The boot CPU, holding the lock, started no other CPU: the lock is left
/// as it is, never to be taken again.
pub fn one_cpu() {
    ENABLED.store(false, Ordering::Relaxed);
}

/// Whether the lock is in use (more than one CPU).
#[inline(always)]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Take the lock (interrupts off), serving other CPUs' requests while waiting.
#[inline(always)]
pub fn acquire() {
    if !enabled() {
        return;
    }
    let ticket = NEXT.fetch_add(1, Ordering::Relaxed);
    if SERVING.load(Ordering::Acquire) != ticket {
        wait(ticket);
    }
}

#[inline(never)]
fn wait(ticket: u32) {
    let me = crate::percpu::index();
    let mut spins = 0;
    while SERVING.load(Ordering::Acquire) != ticket {
        crate::percpu::serve_requests();
        spins += 1;
        if spins < SPINS_BEFORE_HALT {
            core::hint::spin_loop();
            continue;
        }
        spins = 0;
        // Say what it waits for, then look once more: `release` stores
        // SERVING before it reads SLEEPERS, so one of the two sees the other.
        SLEEP_TICKET[me].store(ticket, Ordering::Relaxed);
        SLEEPERS.fetch_or(1 << me, Ordering::SeqCst);
        if SERVING.load(Ordering::SeqCst) != ticket {
            // An IPI that came since is taken at once after `sti`.
            crate::cpu::idle_wait();
        }
        SLEEPERS.fetch_and(!(1 << me), Ordering::SeqCst);
    }
}

/// Give the lock to the next CPU in line, waking it if it halted. Only the
/// holder calls this.
#[inline(always)]
pub fn release() {
    if !enabled() {
        return;
    }
    let next = SERVING.load(Ordering::Relaxed).wrapping_add(1);
    SERVING.store(next, Ordering::SeqCst);
    let sleepers = SLEEPERS.load(Ordering::SeqCst);
    if sleepers != 0 {
        wake(sleepers, next);
    }
}

#[inline(never)]
fn wake(sleepers: u32, next: u32) {
    for c in 0..MAX_CPUS {
        if sleepers & (1 << c) != 0 && SLEEP_TICKET[c].load(Ordering::Relaxed) == next {
            crate::smp::send_ipi_to(c);
        }
    }
}
