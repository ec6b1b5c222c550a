//! Thin wrappers over privileged x86 instructions.

use core::arch::asm;

pub fn outb(port: u16, v: u8) {
    // SAFETY: port I/O has no memory effects the compiler must know about.
    unsafe { asm!("out dx, al", in("dx") port, in("al") v, options(nomem, nostack, preserves_flags)) }
}

pub fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: as above.
    unsafe { asm!("in al, dx", out("al") v, in("dx") port, options(nomem, nostack, preserves_flags)) }
    v
}

pub fn outl(port: u16, v: u32) {
    // SAFETY: as above.
    unsafe { asm!("out dx, eax", in("dx") port, in("eax") v, options(nomem, nostack, preserves_flags)) }
}

pub fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: callers pass architectural MSRs this CPU has.
    unsafe { asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) }
    ((hi as u64) << 32) | lo as u64
}

pub fn wrmsr(msr: u32, v: u64) {
    // SAFETY: callers pass architectural MSRs and values valid for them.
    unsafe { asm!("wrmsr", in("ecx") msr, in("eax") v as u32, in("edx") (v >> 32) as u32, options(nostack, preserves_flags)) }
}

pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc only reads the time-stamp counter.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) }
    ((hi as u64) << 32) | lo as u64
}

pub fn read_cr2() -> u64 {
    let v: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}

pub fn read_cr3() -> u64 {
    let v: u64;
    // SAFETY: reading CR3 has no side effects.
    unsafe { asm!("mov {}, cr3", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}

/// Switch address space. The kernel half is the same in every space, so the
/// code running now stays mapped.
pub fn write_cr3(v: u64) {
    // SAFETY: `v` is the physical address of a PML4 whose kernel half is the
    // kernel's own (see paging::new_space).
    unsafe { asm!("mov cr3, {}", in(reg) v, options(nostack, preserves_flags)) }
}

pub fn invlpg(va: u64) {
    // SAFETY: only drops a TLB entry.
    unsafe { asm!("invlpg [{}]", in(reg) va, options(nostack, preserves_flags)) }
}

pub fn read_cr0() -> u64 {
    let v: u64;
    // SAFETY: reading CR0 has no side effects.
    unsafe { asm!("mov {}, cr0", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}

pub fn write_cr0(v: u64) {
    // SAFETY: the caller changes only FPU-related bits.
    unsafe { asm!("mov cr0, {}", in(reg) v, options(nostack, preserves_flags)) }
}

pub fn read_cr4() -> u64 {
    let v: u64;
    // SAFETY: reading CR4 has no side effects.
    unsafe { asm!("mov {}, cr4", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}

pub fn write_cr4(v: u64) {
    // SAFETY: the caller sets feature bits the CPU reported.
    unsafe { asm!("mov cr4, {}", in(reg) v, options(nostack, preserves_flags)) }
}

/// Wait for an interrupt with interrupts enabled, then disable them again:
/// the idle loop. `sti` takes effect after the next instruction, so no wake-up
/// is lost between the check and the `hlt`.
pub fn idle_wait() {
    // SAFETY: the interrupt handlers return here; the kernel stack below rsp is free.
    unsafe { asm!("sti", "hlt", "cli", options(nomem, nostack)) }
}

pub fn halt_forever() -> ! {
    loop {
        // SAFETY: stops the CPU for good.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) }
    }
}

/// A 512-byte FXSAVE area: x87, MMX and SSE state of one task.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct FpuState(pub [u8; 512]);

impl FpuState {
    pub const fn zeroed() -> Self {
        FpuState([0; 512])
    }
    pub fn save(&mut self) {
        // SAFETY: the area is 512 bytes and 16-byte aligned, as fxsave64 needs.
        unsafe { asm!("fxsave64 [{}]", in(reg) self.0.as_mut_ptr(), options(nostack, preserves_flags)) }
    }
    pub fn restore(&self) {
        // SAFETY: the area holds a state saved by fxsave64 (or the initial one).
        unsafe { asm!("fxrstor64 [{}]", in(reg) self.0.as_ptr(), options(nostack, preserves_flags)) }
    }
}

/// Make the next FPU/SSE instruction trap (#NM): the lazy FPU switch.
pub fn set_ts() {
    write_cr0(read_cr0() | (1 << 3));
}

pub fn clear_ts() {
    // SAFETY: clts only clears CR0.TS.
    unsafe { asm!("clts", options(nomem, nostack, preserves_flags)) }
}

/// Turn on SSE for user code and capture the clean FPU state new tasks start with.
pub fn init_fpu(clean: &mut FpuState) {
    write_cr0((read_cr0() | (1 << 1)) & !((1 << 2) | (1 << 3))); // MP on, EM and TS off
    write_cr4(read_cr4() | (1 << 9) | (1 << 10)); // OSFXSR, OSXMMEXCPT
    // SAFETY: fninit resets x87; ldmxcsr loads the Linux default MXCSR.
    unsafe {
        let mxcsr: u32 = 0x1f80;
        asm!("fninit", "ldmxcsr [{}]", in(reg) &mxcsr, options(nostack));
    }
    clean.save();
}

pub mod msr {
    pub const APIC_BASE: u32 = 0x1b;
    pub const EFER: u32 = 0xc000_0080;
    pub const STAR: u32 = 0xc000_0081;
    pub const LSTAR: u32 = 0xc000_0082;
    pub const CSTAR: u32 = 0xc000_0083;
    pub const SFMASK: u32 = 0xc000_0084;
    pub const FS_BASE: u32 = 0xc000_0100;
    pub const GS_BASE: u32 = 0xc000_0101;
    /// The GS base `swapgs` exchanges with GS_BASE: the user's while the kernel runs.
    pub const KERNEL_GS_BASE: u32 = 0xc000_0102;
}

/// Hardware entropy: RDSEED, else RDRAND. Returns false when the CPU has neither
/// or it failed repeatedly.
pub fn hw_random_u64(has_rdseed: bool, has_rdrand: bool) -> Option<u64> {
    for _ in 0..32 {
        let v: u64;
        let ok: u8;
        if has_rdseed {
            // SAFETY: RDSEED was reported by CPUID.
            unsafe { asm!("rdseed {}", "setc {}", out(reg) v, out(reg_byte) ok, options(nomem, nostack)) }
        } else if has_rdrand {
            // SAFETY: RDRAND was reported by CPUID.
            unsafe { asm!("rdrand {}", "setc {}", out(reg) v, out(reg_byte) ok, options(nomem, nostack)) }
        } else {
            return None;
        }
        if ok != 0 {
            return Some(v);
        }
    }
    None
}
