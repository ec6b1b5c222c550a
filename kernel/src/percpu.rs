//! The per-CPU area: one [`PerCpu`] per CPU, reached through the GS base.
//!
//! In the kernel, GS_BASE holds the address of the running CPU's area, so
//! `gs:[OFFSET]` reads its fields with no lookup: the entry code keeps the
//! user rsp of a `syscall` there, finds the running task's frame end and the
//! CPU's kernel stack, and Rust code reads the CPU's index. User mode has
//! its own GS base (Linux programs set it with `arch_prctl`): every entry
//! from user mode does `swapgs` and every return to it `swapgs` again, so
//! while the kernel runs the user's GS base sits in `KERNEL_GS_BASE`, where
//! `Kernel::switch_to` writes the next task's and `save_current` reads it
//! back. An interrupt taken in the kernel (the idle loop) swaps nothing: the
//! entry code tests the saved CS, as it does to pick the stack.
//!
//! Only what the entry code and the interrupt path use without the kernel
//! state lives here (all atomics, so each CPU's area may be shared); the
//! rest of a CPU's state (its current task, FPU owner, segment cache, timer)
//! is its [`CpuState`] in `Kernel::cpus` (at [`state_offset`]), under the
//! kernel's own rules.

use crate::cpu::{msr, wrmsr};
use crate::kernel::CpuState;
use crate::smp::MAX_CPUS;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// Offsets the entry code (idt.rs) uses; checked against the struct below.
pub const OFF_INDEX: usize = 0x08;
pub const OFF_KERNEL_STACK: usize = 0x10;
pub const OFF_FRAME_TOP: usize = 0x18;
pub const OFF_USER_RSP: usize = 0x20;
pub const OFF_STATE: usize = 0x28;
pub const OFF_TSS_RSP0: usize = 0x30;

#[repr(C, align(64))]
pub struct PerCpu {
    /// The area's own address (`gs:[0]`).
    this: AtomicU64,
    /// The CPU's index (0 = the boot CPU; `gdt.rs`'s slot, `Kernel::cpus`'s).
    index: AtomicU64,
    /// Top of the CPU's kernel stack, where entries from user mode go.
    kernel_stack_top: AtomicU64,
    /// The end of the running task's frame (as the TSS's rsp0), where the
    /// `syscall` entry saves the registers.
    frame_top: AtomicU64,
    /// The `syscall` entry's scratch word for the user's rsp.
    user_rsp: AtomicU64,
    /// Where the CPU's [`CpuState`] is in `Kernel::cpus`: its byte offset
    /// (index times the size), so reaching it costs one `gs:` read.
    state_offset: AtomicU64,
    /// The address of the CPU's TSS.rsp0 (moved with the running task).
    tss_rsp0: AtomicU64,
    /// The local APIC id (from CPUID).
    pub apic_id: AtomicU32,
    /// Set by the timer interrupt when it arrives while the CPU idles in the kernel.
    pub timer_fired: AtomicBool,
    /// Device interrupt lines that fired while the CPU idled (bit n = GSI n).
    pub pending_irqs: AtomicU64,
    /// A wake-up IPI arrived while the CPU idled.
    pub kicked: AtomicBool,
    /// The page tables of the user space in CR3 (0: the kernel's own).
    /// Written by this CPU (on a switch, or a shootdown); read by the CPU
    /// holding the kernel lock to decide whom a shootdown concerns.
    pub loaded_pml4: AtomicU64,
    /// A TLB shootdown asked of this CPU (see [`request_shootdown`]): the
    /// page tables to flush, with [`SHOOTDOWN_LEAVE`] when the space dies;
    /// 0 when there is none or it is done.
    shootdown: AtomicU64,
}

/// In a shootdown request: the space is being destroyed, so leave it for the
/// kernel's own tables rather than flush it.
pub const SHOOTDOWN_LEAVE: u64 = 1;
/// A request that names no space (never a page-aligned table address):
/// [`serve_requests`] only acknowledges it (`Kernel::sync_with`).
pub const SHOOTDOWN_PING: u64 = 2;

const _: () = {
    assert!(core::mem::offset_of!(PerCpu, this) == 0);
    assert!(core::mem::offset_of!(PerCpu, index) == OFF_INDEX);
    assert!(core::mem::offset_of!(PerCpu, kernel_stack_top) == OFF_KERNEL_STACK);
    assert!(core::mem::offset_of!(PerCpu, frame_top) == OFF_FRAME_TOP);
    assert!(core::mem::offset_of!(PerCpu, user_rsp) == OFF_USER_RSP);
    assert!(core::mem::offset_of!(PerCpu, state_offset) == OFF_STATE);
    assert!(core::mem::offset_of!(PerCpu, tss_rsp0) == OFF_TSS_RSP0);
};

impl PerCpu {
    const fn new() -> Self {
        PerCpu {
            this: AtomicU64::new(0),
            index: AtomicU64::new(0),
            kernel_stack_top: AtomicU64::new(0),
            frame_top: AtomicU64::new(0),
            user_rsp: AtomicU64::new(0),
            state_offset: AtomicU64::new(0),
            tss_rsp0: AtomicU64::new(0),
            apic_id: AtomicU32::new(0),
            timer_fired: AtomicBool::new(false),
            pending_irqs: AtomicU64::new(0),
            kicked: AtomicBool::new(false),
            loaded_pml4: AtomicU64::new(0),
            shootdown: AtomicU64::new(0),
        }
    }

    pub fn frame_top(&self) -> u64 {
        self.frame_top.load(Ordering::Relaxed)
    }
}

static CPUS: [PerCpu; MAX_CPUS] = [const { PerCpu::new() }; MAX_CPUS];

/// The local APIC id of the CPU running this (CPUID leaf 1).
pub fn cpuid_apic_id() -> u32 {
    raw_cpuid::CpuId::new().get_feature_info().map_or(0, |f| f.initial_local_apic_id() as u32)
}

/// Set up CPU `cpu`'s area and point its GS base at it, on that CPU, after
/// its TSS is loaded and before it first leaves for user mode; the user's GS
/// base starts at 0.
pub fn init(cpu: usize, kernel_stack_top: u64) {
    let area = &CPUS[cpu];
    let addr = area as *const PerCpu as u64;
    area.this.store(addr, Ordering::Relaxed);
    area.index.store(cpu as u64, Ordering::Relaxed);
    area.kernel_stack_top.store(kernel_stack_top, Ordering::Relaxed);
    area.frame_top.store(kernel_stack_top, Ordering::Relaxed);
    area.state_offset.store((cpu * core::mem::size_of::<CpuState>()) as u64, Ordering::Relaxed);
    area.tss_rsp0.store(crate::gdt::rsp0_address(cpu), Ordering::Relaxed);
    area.apic_id.store(cpuid_apic_id(), Ordering::Relaxed);
    wrmsr(msr::GS_BASE, addr);
    wrmsr(msr::KERNEL_GS_BASE, 0);
}

/// The running CPU's index. The same value on every call (kernel code never
/// moves between CPUs: it keeps no state across a switch), so the compiler
/// may read it once per function.
#[inline(always)]
pub fn index() -> usize {
    let i: u64;
    // SAFETY: in the kernel GS_BASE is this CPU's area (set by `init` before
    // any task ran; the entry code swaps it back in), whose index word never
    // changes after `init`: a pure read.
    unsafe { core::arch::asm!("mov {}, gs:[{off}]", out(reg) i, off = const OFF_INDEX, options(pure, nomem, nostack, preserves_flags)) };
    let i = i as usize;
    // SAFETY: `init` stores an index below MAX_CPUS (an index of `CPUS`).
    unsafe { core::hint::assert_unchecked(i < MAX_CPUS) };
    i
}

/// The byte offset of the running CPU's [`CpuState`] in `Kernel::cpus`
/// (pure, as [`index`]).
#[inline(always)]
pub fn state_offset() -> usize {
    let off: u64;
    // SAFETY: as `index`: a word of this CPU's area that never changes after `init`.
    unsafe { core::arch::asm!("mov {}, gs:[{off}]", out(reg) off, off = const OFF_STATE, options(pure, nomem, nostack, preserves_flags)) };
    let off = off as usize;
    // SAFETY: `init` stores index * size with index below MAX_CPUS.
    unsafe { core::hint::assert_unchecked(off < MAX_CPUS * core::mem::size_of::<CpuState>()) };
    off
}

/// The running CPU's area.
#[inline(always)]
pub fn this() -> &'static PerCpu {
    &CPUS[index()]
}

/// CPU `cpu`'s area as `init` left it (for the checks made at start-up).
pub fn of(cpu: usize) -> &'static PerCpu {
    &CPUS[cpu]
}

/// The area GS_BASE points at now, by its own address word (`gs:[0]`).
pub fn by_gs_base() -> *const PerCpu {
    let p: u64;
    // SAFETY: reads this CPU's area's first word (see `index`).
    unsafe { core::arch::asm!("mov {}, gs:[0]", out(reg) p, options(nostack, preserves_flags, readonly)) };
    p as *const PerCpu
}

/// From now on, entries from user mode on this CPU save the registers in the
/// frame ending at `top` (the running task's): the `syscall` entry's word in
/// the area and the CPU's TSS.rsp0 for the others.
#[inline(always)]
pub fn set_frame_top(top: u64) {
    // SAFETY: this CPU's own area and TSS (whose rsp0 address `init` put in
    // the area); both are read only by this CPU on its next entry from user
    // mode, which cannot come now (interrupts are off in the kernel).
    unsafe {
        core::arch::asm!(
            "mov gs:[{frame}], {top}",
            "mov {tmp}, gs:[{tss}]",
            "mov [{tmp}], {top}",
            top = in(reg) top,
            tmp = out(reg) _,
            frame = const OFF_FRAME_TOP,
            tss = const OFF_TSS_RSP0,
            options(nostack, preserves_flags)
        )
    };
}

/// The kernel's own page tables (CR3 of a CPU that has left a dying space).
static KERNEL_PML4: AtomicU64 = AtomicU64::new(0);

pub fn set_kernel_pml4(pml4: u64) {
    KERNEL_PML4.store(pml4, Ordering::Relaxed);
}

/// Load `pml4` (a space's tables, or 0 for the kernel's) into CR3 unless it
/// is there already; what shootdowns compare against.
#[inline(always)]
pub fn load_space(pml4: u64) {
    let area = this();
    if area.loaded_pml4.load(Ordering::Relaxed) != pml4 {
        crate::cpu::write_cr3(if pml4 == 0 { KERNEL_PML4.load(Ordering::Relaxed) } else { pml4 });
        area.loaded_pml4.store(pml4, Ordering::Release);
    }
}

/// Ask CPU `cpu` to drop its TLB entries of the space with tables `pml4`
/// (and, with `leave`, to stop using it). The caller holds the kernel lock,
/// sends the IPI, and waits with [`shootdown_done`]: requests never overlap.
pub fn request_shootdown(cpu: usize, pml4: u64, leave: bool) {
    CPUS[cpu].shootdown.store(pml4 | if leave { SHOOTDOWN_LEAVE } else { 0 }, Ordering::Release);
}

pub fn shootdown_done(cpu: usize) -> bool {
    CPUS[cpu].shootdown.load(Ordering::Acquire) == 0
}

/// Do what another CPU asked of this one without the kernel lock: the IPI
/// handler calls this, and so does the lock's spin loop, since the asking
/// CPU holds the lock while it waits.
pub fn serve_requests() {
    let area = this();
    let req = area.shootdown.load(Ordering::Acquire);
    if req == 0 {
        return;
    }
    let pml4 = req & !SHOOTDOWN_LEAVE;
    if area.loaded_pml4.load(Ordering::Relaxed) == pml4 {
        if req & SHOOTDOWN_LEAVE != 0 {
            crate::cpu::write_cr3(KERNEL_PML4.load(Ordering::Relaxed));
            area.loaded_pml4.store(0, Ordering::Release);
        } else {
            // Reloading CR3 drops the space's (non-global) TLB entries.
            crate::cpu::write_cr3(pml4);
        }
    }
    area.shootdown.store(0, Ordering::Release);
}
