//! The other CPUs (application processors, APs): found in the ACPI MADT,
//! started with INIT-SIPI-SIPI through the boot CPU's local APIC, and parked.
//!
//! This is the first phase of SMP (issue 18): the kernel still runs tasks on
//! the boot CPU alone. An AP comes up through a real-mode trampoline copied
//! to a page below 1 MiB, which enters protected mode and jumps to
//! `smp_ap_start32` in the kernel's identity-mapped boot section; that enters
//! long mode on the boot stub's page tables (as the boot CPU did), jumps to
//! the kernel's link address, switches to the kernel's page tables and its
//! own stack, and calls [`smp_ap_main`]. There the AP loads its own GDT and
//! TSS, points its GS base at its per-CPU area (percpu.rs) and checks that
//! the area knows it (its index, the APIC id it was started for, found
//! through `gs:`), loads the shared IDT, the boot CPU's CR0/CR4 and
//! `syscall` MSRs, enables its local APIC, counts itself online and halts
//! with interrupts off. An AP whose area fails the check is not counted
//! online (the boot log then shows fewer started). It never touches the
//! `Kernel` (that needs the big kernel lock, a later phase).
//!
//! With no ACPI tables, or none that pass the checks, the node runs on the
//! boot CPU alone and says so in the log.

use crate::bootinfo::BootParams;
use crate::cpu::{self, msr, rdmsr, rdtsc, wrmsr};
use crate::mem::{phys_to_virt, Frames, DIRECT_MAP, PAGE};
use crate::{gdt, kprintln};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use sion_kerncore::acpi::Madt;
use sion_kerncore::memmap::Range;

/// CPUs the kernel will use; further ones are logged and left off.
pub use sion_abi::call::MAX_CPUS;
/// The index of the boot CPU.
pub const BOOT_CPU: usize = 0;

/// Each AP's kernel stack (as large as the boot CPU's) and, below it, its
/// double-fault stack.
const STACK_PAGES: u64 = 16;
const DOUBLE_FAULT_PAGES: u64 = 1;

/// How long to wait for an AP: INIT to the first SIPI and between SIPIs on
/// older CPUs (Intel before family 6, AMD before family 0xF: Linux's rule; the
/// newer need no INIT delay), and for it to reach `smp_ap_main` (generous:
/// under TCG a virtual CPU may wait for a host thread).
const INIT_DELAY_US: u64 = 10_000;
const SIPI_DELAY_US: (u64, u64) = (10, 300);
const ONLINE_TIMEOUT_US: u64 = 1_000_000;

/// A CPU that needs no delay after INIT (the rule Linux uses).
fn modern_cpu() -> bool {
    let id = raw_cpuid::CpuId::new();
    let family = id.get_feature_info().map_or(0, |f| f.family_id());
    match id.get_vendor_info() {
        Some(v) if v.as_str() == "GenuineIntel" => family == 6,
        Some(v) if v.as_str() == "AuthenticAMD" => family >= 0xf,
        Some(v) if v.as_str() == "HygonGenuine" => family >= 0x18,
        _ => false,
    }
}

/// What [`start_aps`] found, for the boot log.
pub struct Report {
    pub found: u32,
    pub started: u32,
    /// Where the MADT came from (its root pointer's source), or why there is none.
    source: Result<&'static str, sion_kerncore::acpi::Error>,
    disabled: usize,
    ioapics: [(u32, u32); 4],
    ioapic_count: usize,
}

impl core::fmt::Display for Report {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "cpus: {} found, {} started", self.found, self.started)?;
        match self.source {
            Ok(source) => {
                write!(f, " (ACPI MADT via {source}; {} disabled; I/O APICs", self.disabled)?;
                for (i, (addr, gsi)) in self.ioapics[..self.ioapic_count].iter().enumerate() {
                    write!(f, "{} {addr:#x} GSI {gsi}", if i == 0 { "" } else { "," })?;
                }
                write!(f, ")")
            }
            Err(e) => write!(f, " (no usable ACPI tables: {e}; the boot CPU alone)"),
        }
    }
}

/// Enabled CPUs the firmware lists (the boot CPU included).
static FOUND: AtomicU32 = AtomicU32::new(1);
/// CPUs that reached `smp_ap_main`, the boot CPU included.
static ONLINE: AtomicU32 = AtomicU32::new(1);

/// CPUs online (running kernel code; only the boot CPU runs tasks yet).
pub fn online() -> u32 {
    ONLINE.load(Ordering::Acquire)
}

/// CPUs the firmware lists as enabled.
pub fn found() -> u32 {
    FOUND.load(Ordering::Relaxed)
}

// What the AP start code reads before it has a stack: the boot CPU sets
// them before each start-up IPI and waits for that AP to come online before
// changing them.
#[no_mangle]
static SMP_AP_CR3: AtomicU64 = AtomicU64::new(0);
#[no_mangle]
static SMP_AP_STACK: AtomicU64 = AtomicU64::new(0);
#[no_mangle]
static SMP_AP_CPU: AtomicU64 = AtomicU64::new(0);
/// The APIC id the boot CPU sent the start-up IPI to.
static SMP_AP_APIC_ID: AtomicU32 = AtomicU32::new(0);
/// APs whose per-CPU area failed its check (bit n = CPU n).
static PERCPU_BAD: AtomicU32 = AtomicU32::new(0);

/// The boot CPU's control registers and MSRs, which the APs copy.
struct BspState {
    idt_base: AtomicU64,
    idt_limit: AtomicU64,
    cr0: AtomicU64,
    cr4: AtomicU64,
    star: AtomicU64,
    lstar: AtomicU64,
    cstar: AtomicU64,
    sfmask: AtomicU64,
}

static BSP: BspState = BspState {
    idt_base: AtomicU64::new(0),
    idt_limit: AtomicU64::new(0),
    cr0: AtomicU64::new(0),
    cr4: AtomicU64::new(0),
    star: AtomicU64::new(0),
    lstar: AtomicU64::new(0),
    cstar: AtomicU64::new(0),
    sfmask: AtomicU64::new(0),
};

#[repr(C, packed)]
struct DescriptorPointer {
    limit: u16,
    base: u64,
}

core::arch::global_asm!(
    r#"
    /* The real-mode trampoline, copied to a page below 1 MiB: a start-up
       IPI with vector V starts the AP at V:0000 (cs = V << 8). */
    .section .rodata.smp_trampoline, "a"
    .balign 16
    .code16
    .global smp_trampoline_start
smp_trampoline_start:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    movb $1, (smp_trampoline_entered - smp_trampoline_start)
    lgdtl (smp_trampoline_gdt_ptr - smp_trampoline_start)
    mov %cr0, %eax
    or $1, %eax                 /* PE */
    mov %eax, %cr0
    ljmpl *(smp_trampoline_far - smp_trampoline_start)
    .balign 8
smp_trampoline_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 0x08: 32-bit code, flat */
    .quad 0x00cf92000000ffff    /* 0x10: data, flat */
smp_trampoline_gdt_ptr:
    .short 23
    /* The GDT's offset in the page: the copier adds the page's address. */
    .global smp_trampoline_gdt_base
smp_trampoline_gdt_base:
    .long smp_trampoline_gdt - smp_trampoline_start
smp_trampoline_far:
    .long smp_ap_start32
    .short 0x08
    /* Set by the AP when it runs the trampoline: the second SIPI is then not needed. */
    .global smp_trampoline_entered
smp_trampoline_entered:
    .byte 0
    .global smp_trampoline_end
smp_trampoline_end:

    /* Protected mode, paging off, identity: long mode on the boot stub's
       tables (the first GiB identity, at the direct map and at the kernel's
       link address), exactly as _start32 enters it. */
    .section .boot.text, "ax"
    .code32
smp_ap_start32:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr4, %eax
    or $(1 << 5), %eax          /* PAE */
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0x80000001, %eax
    cpuid
    xor %edi, %edi
    bt $20, %edx
    jnc 1f
    mov $(1 << 11), %edi        /* NX, as the boot CPU */
1:  mov $0xC0000080, %ecx       /* EFER */
    rdmsr
    or $((1 << 8) | 1), %eax    /* LME, SCE */
    or %edi, %eax
    wrmsr
    mov %cr0, %eax
    and $~((1 << 30) | (1 << 29) | (1 << 2)), %eax  /* caches on (INIT sets CD and NW), no EM */
    or $((1 << 31) | (1 << 1) | 1), %eax            /* PG, MP, PE */
    mov %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $0x08, $smp_ap_long

    .code64
smp_ap_long:
    movabs $smp_ap_entry64, %rax
    jmp *%rax

    /* At the kernel's link address: the kernel's own tables, this AP's stack. */
    .section .text
smp_ap_entry64:
    movabs $SMP_AP_CR3, %rax
    mov (%rax), %rax
    mov %rax, %cr3
    movabs $SMP_AP_STACK, %rax
    mov (%rax), %rsp
    movabs $SMP_AP_CPU, %rax
    mov (%rax), %rdi
    xor %ebp, %ebp
    movabs $smp_ap_main, %rax
    call *%rax
2:  cli
    hlt
    jmp 2b
"#,
    options(att_syntax)
);

extern "C" {
    static smp_trampoline_start: u8;
    static smp_trampoline_end: u8;
    static smp_trampoline_gdt_base: u8;
    static smp_trampoline_entered: u8;
}

// Local APIC registers (xAPIC, memory-mapped).
const REG_ID: u64 = 0x20;
const REG_TPR: u64 = 0x80;
const REG_SVR: u64 = 0xf0;
const REG_ESR: u64 = 0x280;
const REG_ICR_LOW: u64 = 0x300;
const REG_ICR_HIGH: u64 = 0x310;
const REG_LVT_TIMER: u64 = 0x320;
const REG_DIVIDE: u64 = 0x3e0;
const ICR_PENDING: u32 = 1 << 12;
const ICR_INIT_ASSERT: u32 = 0xc500; // INIT, level-triggered, assert
const ICR_INIT_DEASSERT: u32 = 0x8500;
const ICR_STARTUP: u32 = 0x0600;

/// This CPU's local APIC registers in the direct map.
fn lapic_base() -> u64 {
    DIRECT_MAP + (rdmsr(msr::APIC_BASE) & 0xffff_f000)
}

fn lapic_read(reg: u64) -> u32 {
    // SAFETY: the LAPIC page is mapped uncached in the direct map; each CPU
    // reaches its own LAPIC at the same address.
    unsafe { core::ptr::read_volatile((lapic_base() + reg) as *const u32) }
}

fn lapic_write(reg: u64, v: u32) {
    // SAFETY: as lapic_read.
    unsafe { core::ptr::write_volatile((lapic_base() + reg) as *mut u32, v) }
}

/// Wait `us` microseconds on the TSC.
fn delay_us(tsc_hz: u64, us: u64) {
    let end = rdtsc() + tsc_hz / 1_000_000 * us;
    while rdtsc() < end {
        core::hint::spin_loop();
    }
}

/// Send an IPI to local APIC `apic_id`; false if it stayed pending.
fn send_ipi(tsc_hz: u64, apic_id: u32, icr: u32) -> bool {
    lapic_write(REG_ESR, 0);
    lapic_write(REG_ICR_HIGH, apic_id << 24);
    lapic_write(REG_ICR_LOW, icr);
    let end = rdtsc() + tsc_hz / 10;
    while lapic_read(REG_ICR_LOW) & ICR_PENDING != 0 {
        if rdtsc() > end {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

fn addr_of_symbol(s: &u8) -> u64 {
    s as *const u8 as u64
}

/// Find the CPUs and start every AP (at most [`MAX_CPUS`] in all). Called
/// once on the boot CPU, after the kernel's page tables, the GDT/IDT, SSE and
/// the clock are set up and before any task runs. Logs only what went wrong;
/// the caller logs the report (one line, as boot logs cost time under TCG).
pub fn start_aps(params: &BootParams, frames: &mut Frames, pml4: u64, tsc_hz: u64) -> Report {
    let mapped_end = frames.ram_end.max(4 << 30);
    let mut report = Report { found: 1, started: 1, source: Err(sion_kerncore::acpi::Error::NoRsdp), disabled: 0, ioapics: [(0, 0); 4], ioapic_count: 0 };
    let madt = match crate::acpi::madt(params, mapped_end) {
        Ok((source, m)) => note_madt(&mut report, source, m),
        Err(e) => {
            report.source = Err(e);
            return report;
        }
    };
    let bsp_id = lapic_read(REG_ID) >> 24;
    let listed = madt.cpus();
    report.found = (madt.cpus_enabled + usize::from(!listed.contains(&bsp_id))) as u32;
    FOUND.store(report.found, Ordering::Relaxed);
    if rdmsr(msr::APIC_BASE) & (1 << 10) != 0 {
        kprintln!("cpus: the local APIC is in x2APIC mode, which the kernel does not drive: running on the boot CPU alone");
        return report;
    }

    // The APs to start, in table order, as (cpu index, APIC id).
    let mut aps = [(0usize, 0u32); MAX_CPUS];
    let mut count = 0;
    for &id in listed.iter().filter(|&&id| id != bsp_id) {
        if id >= 0xff {
            kprintln!("cpus: CPU with APIC id {id} needs x2APIC: left off");
        } else if count + 1 >= MAX_CPUS {
            kprintln!("cpus: CPU with APIC id {id} is past the kernel's {MAX_CPUS}: left off");
        } else {
            count += 1;
            aps[count - 1] = (count, id);
        }
    }
    let aps = &aps[..count];
    if aps.is_empty() {
        return report;
    }

    // The trampoline page, out of the way of everything the loader left.
    let mut avoid = [Range::new(0, 0); 2 + crate::bootinfo::MAX_MODULES];
    avoid[0] = params.info;
    avoid[1] = Range::new(params.rsdp_pa, params.rsdp_pa + 36);
    avoid[2..2 + params.modules().len()].copy_from_slice(params.modules());
    let Some(page) = frames.low_page(&avoid) else {
        kprintln!("cpus: no free page below 1 MiB for the start-up code: running on the boot CPU alone");
        return report;
    };
    // SAFETY: linker-provided symbols of the trampoline; only their addresses are used.
    let (start, end, gdt_base, entered) = unsafe {
        (
            addr_of_symbol(&smp_trampoline_start),
            addr_of_symbol(&smp_trampoline_end),
            addr_of_symbol(&smp_trampoline_gdt_base),
            addr_of_symbol(&smp_trampoline_entered),
        )
    };
    let len = (end - start) as usize;
    assert!(len <= PAGE as usize);
    let copy = phys_to_virt(page);
    // SAFETY: `page` is RAM below 1 MiB that nothing else uses (low_page);
    // the trampoline is `len` bytes of the kernel image.
    unsafe {
        core::ptr::copy_nonoverlapping(start as *const u8, copy, len);
        let base = copy.add((gdt_base - start) as usize) as *mut u32;
        base.write_unaligned(base.read_unaligned() + page as u32);
    }
    // SAFETY: a byte of the copy just made.
    let entered = unsafe { copy.add((entered - start) as usize) };

    capture_bsp_state();
    SMP_AP_CR3.store(pml4, Ordering::Relaxed);

    // INIT every AP (firmware may have left them halted in its own code),
    // then start them one by one: they share the start-up variables.
    for &(_, id) in aps {
        send_ipi(tsc_hz, id, ICR_INIT_ASSERT);
        send_ipi(tsc_hz, id, ICR_INIT_DEASSERT);
    }
    let modern = modern_cpu();
    if !modern {
        delay_us(tsc_hz, INIT_DELAY_US);
    }
    let sipi_delay = if modern { SIPI_DELAY_US.0 } else { SIPI_DELAY_US.1 };
    let vector = (page >> 12) as u32;
    for &(index, id) in aps {
        let pages = STACK_PAGES + DOUBLE_FAULT_PAGES;
        let Some(stack) = frames.alloc_contiguous(pages) else {
            kprintln!("cpus: no memory for CPU {index}'s stack: not starting it or the rest");
            break;
        };
        frames.total -= pages;
        SMP_AP_STACK.store(DIRECT_MAP + stack + pages * PAGE, Ordering::Relaxed);
        SMP_AP_CPU.store(index as u64, Ordering::Relaxed);
        SMP_AP_APIC_ID.store(id, Ordering::Relaxed);
        // SAFETY: the flag byte in the trampoline copy; the AP writes it in real mode.
        unsafe { entered.write_volatile(0) };
        let before = ONLINE.load(Ordering::Acquire);
        // Release the variables above before the IPI that starts the AP.
        core::sync::atomic::fence(Ordering::SeqCst);
        send_ipi(tsc_hz, id, ICR_STARTUP | vector);
        delay_us(tsc_hz, sipi_delay);
        // SAFETY: as above.
        if unsafe { entered.read_volatile() } == 0 {
            send_ipi(tsc_hz, id, ICR_STARTUP | vector);
            delay_us(tsc_hz, sipi_delay);
        }
        let deadline = rdtsc() + tsc_hz / 1_000_000 * ONLINE_TIMEOUT_US;
        while ONLINE.load(Ordering::Acquire) == before && rdtsc() < deadline {
            core::hint::spin_loop();
        }
        if PERCPU_BAD.load(Ordering::Acquire) & (1 << index) != 0 {
            kprintln!("cpus: CPU {index} (APIC id {id}) found a wrong per-CPU area through its GS base: not starting the rest");
            break;
        }
        if ONLINE.load(Ordering::Acquire) == before {
            // SAFETY: as above.
            let how = if unsafe { entered.read_volatile() } != 0 { "ran its start-up code but did not come online" } else { "did not answer" };
            kprintln!("cpus: CPU {index} (APIC id {id}) {how}: not starting the rest");
            break;
        }
    }
    report.started = online();
    report
}

/// Note what the MADT says in the report.
fn note_madt(report: &mut Report, source: &'static str, m: Madt) -> Madt {
    report.source = Ok(source);
    report.disabled = m.cpus_disabled;
    for io in m.ioapics().iter().take(report.ioapics.len()) {
        report.ioapics[report.ioapic_count] = (io.addr, io.gsi_base);
        report.ioapic_count += 1;
    }
    m
}

/// The boot CPU's state the APs copy.
fn capture_bsp_state() {
    let mut idtr = DescriptorPointer { limit: 0, base: 0 };
    // SAFETY: sidt stores 10 bytes into `idtr`.
    unsafe { core::arch::asm!("sidt [{}]", in(reg) &mut idtr, options(nostack, preserves_flags)) };
    let (limit, base) = (idtr.limit, idtr.base);
    BSP.idt_base.store(base, Ordering::Relaxed);
    BSP.idt_limit.store(limit as u64, Ordering::Relaxed);
    BSP.cr0.store(cpu::read_cr0() & !(1 << 3), Ordering::Relaxed); // TS off
    BSP.cr4.store(cpu::read_cr4(), Ordering::Relaxed);
    BSP.star.store(rdmsr(msr::STAR), Ordering::Relaxed);
    BSP.lstar.store(rdmsr(msr::LSTAR), Ordering::Relaxed);
    BSP.cstar.store(rdmsr(msr::CSTAR), Ordering::Relaxed);
    BSP.sfmask.store(rdmsr(msr::SFMASK), Ordering::Relaxed);
}

/// An AP's first Rust code, on its own stack and the kernel's page tables,
/// interrupts off.
#[no_mangle]
extern "C" fn smp_ap_main(cpu: u64) -> ! {
    let cpu = cpu as usize;
    let stack_top = SMP_AP_STACK.load(Ordering::Relaxed);
    gdt::init_cpu(cpu, stack_top, stack_top - STACK_PAGES * PAGE);
    crate::percpu::init(cpu, stack_top);
    // Its area, reached through `gs:` as the kernel will, must be its own.
    let area = crate::percpu::of(cpu);
    let ok = crate::percpu::index() == cpu
        && core::ptr::eq(crate::percpu::by_gs_base(), area)
        && crate::percpu::this().apic_id.load(Ordering::Relaxed) == SMP_AP_APIC_ID.load(Ordering::Relaxed)
        && area.frame_top() == stack_top;
    if !ok {
        PERCPU_BAD.fetch_or(1 << cpu, Ordering::AcqRel);
        park();
    }
    let idtr = DescriptorPointer { limit: BSP.idt_limit.load(Ordering::Relaxed) as u16, base: BSP.idt_base.load(Ordering::Relaxed) };
    // SAFETY: the boot CPU's IDT, static and complete before any AP starts.
    unsafe { core::arch::asm!("lidt [{}]", in(reg) &idtr, options(nostack, preserves_flags)) };
    cpu::write_cr0(BSP.cr0.load(Ordering::Relaxed));
    cpu::write_cr4(BSP.cr4.load(Ordering::Relaxed));
    let mut scratch = cpu::FpuState::zeroed();
    cpu::init_fpu(&mut scratch);
    wrmsr(msr::STAR, BSP.star.load(Ordering::Relaxed));
    wrmsr(msr::LSTAR, BSP.lstar.load(Ordering::Relaxed));
    wrmsr(msr::CSTAR, BSP.cstar.load(Ordering::Relaxed));
    wrmsr(msr::SFMASK, BSP.sfmask.load(Ordering::Relaxed));
    // The local APIC on, spurious interrupts to their vector, the timer masked.
    wrmsr(msr::APIC_BASE, rdmsr(msr::APIC_BASE) | (1 << 11));
    lapic_write(REG_SVR, 0x100 | crate::idt::VECTOR_SPURIOUS as u32);
    lapic_write(REG_LVT_TIMER, 1 << 16);
    lapic_write(REG_DIVIDE, 0b1011); // divide by 1, as the boot CPU's (time.rs)
    lapic_write(REG_TPR, 0);
    ONLINE.fetch_add(1, Ordering::AcqRel);
    // To work: it waits for the kernel lock, which the boot CPU gives up
    // when it leaves for the first task.
    crate::ap_run()
}

/// An AP that failed its checks: halt with interrupts off for good.
fn park() -> ! {
    cpu::halt_forever()
}

/// Interrupt CPU `cpu` with `VECTOR_IPI`: it looks at what is asked of it
/// (a shootdown in its per-CPU area, a task to run or to stop in the kernel
/// state). Fixed delivery, physical destination, edge-triggered.
pub fn send_ipi_to(cpu: usize) {
    let apic_id = crate::percpu::of(cpu).apic_id.load(Ordering::Relaxed);
    // The previous IPI from this CPU has left (the register takes one at a time).
    while lapic_read(REG_ICR_LOW) & ICR_PENDING != 0 {
        core::hint::spin_loop();
    }
    lapic_write(REG_ICR_HIGH, apic_id << 24);
    lapic_write(REG_ICR_LOW, crate::idt::VECTOR_IPI as u32);
}
