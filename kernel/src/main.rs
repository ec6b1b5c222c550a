//! The SiON microkernel.
//!
//! It schedules tasks round-robin, gives each address space its own page
//! tables, routes interrupts and traps, and passes messages. Everything else —
//! Linux, the network, the group — is a server in user space. See docs/kernel.md.
#![no_std]
#![no_main]

mod acpi;
mod boot;
mod bootinfo;
mod cpu;
mod fastpath;
mod gdt;
mod idt;
mod ioapic;
mod ipc;
mod kcall;
mod kernel;
mod lock;
mod mem;
mod paging;
mod percpu;
mod serial;
mod servers;
mod smp;
mod task;
mod time;
mod trap;

use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::Kernel;
use sion_kerncore::memmap::Range;

/// TSC at the first Rust instruction: monotonic time 0.
pub static BOOT_TSC: AtomicU64 = AtomicU64::new(0);

// All-zero is a valid empty kernel (every table slot free), which keeps this
// large object in .bss instead of the image; slots are fully set when allocated.
// SAFETY: every field of Kernel is valid when zeroed (see task.rs and kernel.rs).
static mut KERNEL: Kernel = unsafe { core::mem::zeroed() };

/// The kernel state.
///
/// # Safety
/// The caller must hold the kernel lock (lock.rs) and the only reference to
/// the state while the one it gets lives: take it once per kernel entry (the
/// boot path, an AP's start, `trap_entry`, after each idle wait), with
/// interrupts off, and not use it after giving up the lock. The kernel is
/// not preemptible, and the only code that runs with interrupts on (an idle
/// CPU's interrupt path) never calls this and touches only atomics.
pub unsafe fn kernel() -> &'static mut Kernel {
    // SAFETY: a raw pointer to the static (no reference to a `static mut` is
    // made but this one), unique by the caller's contract.
    unsafe { &mut *addr_of_mut!(KERNEL) }
}

/// Stop the machine: QEMU's isa-debug-exit device turns `code` into its exit
/// status `(code << 1) | 1`; on other machines we halt.
pub fn poweroff(code: u32) -> ! {
    cpu::outl(0xf4, code);
    cpu::halt_forever()
}

fn addr_of_symbol(s: &u8) -> u64 {
    s as *const u8 as u64
}

#[no_mangle]
extern "C" fn kmain(magic: u32, info: u32) -> ! {
    BOOT_TSC.store(cpu::rdtsc(), Ordering::Relaxed);
    // The APs wait for it until the boot CPU leaves for the first task.
    lock::acquire();
    serial::init();
    let params = bootinfo::parse(magic, info as u64);
    kprintln!("SiON kernel: booted by {}, cmdline \"{}\"", params.loader, Redacted(params.cmdline()));

    // SAFETY: the boot path is the first kernel entry and holds the lock,
    // interrupts are off, and `k` is last used in `run_next`, which gives
    // the lock up, so no other reference exists.
    let k = unsafe { kernel() };
    // SAFETY: linker-provided symbols; only their addresses are used.
    let (kstart, kend, kstack, dfstack) = unsafe {
        (addr_of_symbol(&boot::__kernel_phys_start), addr_of_symbol(&boot::__kernel_phys_end), addr_of_symbol(&boot::kernel_stack_top), addr_of_symbol(&boot::double_fault_stack_top))
    };
    let mut reserved = [Range::new(kstart, kend), params.info, Range::new(0, 0), Range::new(0, 0), Range::new(0, 0), Range::new(0, 0), Range::new(0, 0), Range::new(0, 0), Range::new(0, 0), Range::new(0, 0)];
    for (i, m) in params.modules().iter().enumerate() {
        reserved[2 + i] = *m;
    }
    k.frames.init(params.ram, &reserved);
    k.tables = paging::build_kernel_tables(&mut k.frames);
    percpu::set_kernel_pml4(k.tables.pml4);
    k.frames.init_refs();
    gdt::init(kstack, dfstack);
    percpu::init(smp::BOOT_CPU, kstack);
    idt::init();
    cpu::init_fpu(&mut k.clean_fpu);
    let realtime = sion_abi::boot::cmdline_value(params.cmdline(), "realtime").and_then(|v| v.parse().ok());
    k.clock.init(realtime);
    k.slice_tsc = k.clock.ns_to_tsc(kernel::SLICE_NS) - k.clock.info.tsc_at_boot;
    let features = raw_cpuid::CpuId::new();
    let rdseed = features.get_extended_feature_info().is_some_and(|f| f.has_rdseed());
    let rdrand = features.get_feature_info().is_some_and(|f| f.has_rdrand());
    k.hw_rng = (rdseed, rdrand);
    kprintln!(
        "memory: {} MiB free of {} MiB RAM; TSC {} MHz (source {}), LAPIC timer {} MHz; NX {}; RDSEED {} RDRAND {}",
        (k.frames.free_frames() * 4096) >> 20,
        k.frames.ram.total() >> 20,
        k.clock.info.tsc_hz / 1_000_000,
        k.clock.info.source,
        k.clock.lapic_hz / 1_000_000,
        paging::nx_enabled(),
        rdseed,
        rdrand
    );
    kprintln!("{}", smp::start_aps(&params, &mut k.frames, k.tables.pml4, k.clock.info.tsc_hz));
    if smp::online() == 1 {
        lock::one_cpu();
    }
    let started = k.start_servers(params.modules(), params.cmdline());
    if started == 0 {
        panic!("no servers in the boot modules ({} modules)", params.module_count);
    }
    k.cpu_joins();
    enter_user(trap::run_next(k, None))
}

/// An application processor, started and checked (smp.rs), runs tasks.
fn ap_run() -> ! {
    if !lock::enabled() {
        // Came online after the boot gave up on it and chose to run alone.
        cpu::halt_forever();
    }
    lock::acquire();
    // SAFETY: the lock is held; `run_next` gives it up after the last use.
    let k = unsafe { kernel() };
    k.cpu_joins();
    enter_user(trap::run_next(k, None))
}

/// Leave the kernel's own stack for the first task this CPU runs: take the
/// common return path with its frame (entries from it will save into the
/// same frame).
fn enter_user(frame: *const idt::TrapFrame) -> ! {
    // SAFETY: `frame` is the task's that `run_next` made current; trap_return
    // pops exactly a TrapFrame and leaves by iretq. Nothing on the kernel
    // stack is needed any more.
    unsafe {
        core::arch::asm!("mov rsp, {0}", "jmp trap_return", in(reg) frame, options(noreturn));
    }
}

/// The command line for the log, with secrets (`*.key=` values) left out.
struct Redacted<'a>(&'a str);

impl core::fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, word) in self.0.split_ascii_whitespace().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match word.split_once('=') {
                Some((k, _)) if k.ends_with(".key") || k == "key" => write!(f, "{k}=(secret)")?,
                _ => f.write_str(word)?,
            }
        }
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    kprintln!("kernel panic: {}", info);
    poweroff(0x7f)
}
