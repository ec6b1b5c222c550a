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
//! (`percpu::serve_requests`), since they run with interrupts off.

use core::sync::atomic::{AtomicU32, Ordering};

/// The next ticket to hand out.
static NEXT: AtomicU32 = AtomicU32::new(0);
/// The ticket whose holder may enter.
static SERVING: AtomicU32 = AtomicU32::new(0);

/// Take the lock (interrupts off), serving other CPUs' requests while waiting.
#[inline(always)]
pub fn acquire() {
    let ticket = NEXT.fetch_add(1, Ordering::Relaxed);
    if SERVING.load(Ordering::Acquire) != ticket {
        wait(ticket);
    }
}

#[inline(never)]
fn wait(ticket: u32) {
    while SERVING.load(Ordering::Acquire) != ticket {
        crate::percpu::serve_requests();
        core::hint::spin_loop();
    }
}

/// Give the lock to the next CPU in line. Only the holder calls this.
#[inline(always)]
pub fn release() {
    SERVING.store(SERVING.load(Ordering::Relaxed).wrapping_add(1), Ordering::Release);
}
