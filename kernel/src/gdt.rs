//! The GDT, the TSS with its I/O permission bitmap, and the per-task TLS slots.
//!
//! Layout (fixed; `sysret`-compatible and shared with the ABI crate):
//! 0x08 kernel code64, 0x10 kernel data, 0x18 user code32, 0x20 user data,
//! 0x28 user code64, 0x30 TSS (two slots), 0x40.. three TLS slots.
//!
//! Each CPU has its own GDT and TSS (index = the CPU's index, 0 the boot
//! CPU): a TSS is marked busy in the GDT that loads it, and holds that CPU's
//! stacks. The calls made on a task switch (`set_tls`, `set_io_ports`, and
//! `percpu::set_frame_top` for rsp0) work on the running CPU's: each CPU
//! changes only its own slot.

use crate::smp::{BOOT_CPU, MAX_CPUS};
use core::arch::asm;
use core::ptr::addr_of_mut;
use sion_abi::regs::{TLS_FIRST_GDT_INDEX, TLS_SLOTS};

pub const KERNEL_CODE: u16 = 0x08;
pub const KERNEL_DATA: u16 = 0x10;
pub const USER_DATA: u16 = 0x23;
const TSS_SELECTOR: u16 = 0x30;

const GDT_LEN: usize = TLS_FIRST_GDT_INDEX + TLS_SLOTS;

#[repr(C, packed)]
pub struct Tss {
    reserved0: u32,
    pub rsp0: u64,
    rsp1: u64,
    rsp2: u64,
    reserved1: u64,
    pub ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
}

/// The TSS followed by the I/O bitmap (a set bit denies the port) and the
/// terminating byte the CPU requires.
#[repr(C, packed)]
pub struct TssWithIo {
    pub tss: Tss,
    pub iomap: [u8; 8192],
    end: u8,
}

static mut GDT: [[u64; GDT_LEN]; MAX_CPUS] = [[0; GDT_LEN]; MAX_CPUS];
/// Zero here (so in .bss, not in the image); `init_cpu` closes every port
/// before the CPU loads its TSS.
static mut TSS: [TssWithIo; MAX_CPUS] = [TSS_ZERO; MAX_CPUS];
const TSS_ZERO: TssWithIo = TssWithIo {
    tss: Tss { reserved0: 0, rsp0: 0, rsp1: 0, rsp2: 0, reserved1: 0, ist: [0; 7], reserved2: 0, reserved3: 0, iomap_base: 0 },
    iomap: [0; 8192],
    end: 0,
};

/// The boot CPU's GDT and TSS.
pub fn init(kernel_stack_top: u64, double_fault_stack_top: u64) {
    init_cpu(BOOT_CPU, kernel_stack_top, double_fault_stack_top)
}

/// Build and load CPU `cpu`'s GDT and TSS, on that CPU.
pub fn init_cpu(cpu: usize, kernel_stack_top: u64, double_fault_stack_top: u64) {
    // SAFETY: each CPU builds only its own slot of GDT and TSS (the indexing
    // is a place projection: no reference to the whole arrays), once, at
    // boot, with interrupts off, before loading it.
    unsafe {
        let gdt = &mut (*addr_of_mut!(GDT))[cpu];
        gdt[1] = 0x00af_9a00_0000_ffff; // kernel code64
        gdt[2] = 0x00cf_9200_0000_ffff; // kernel data
        gdt[3] = 0x00cf_fa00_0000_ffff; // user code32 (D=1)
        gdt[4] = 0x00cf_f200_0000_ffff; // user data
        gdt[5] = 0x00af_fa00_0000_ffff; // user code64 (L=1)
        let tss = &mut (*addr_of_mut!(TSS))[cpu];
        tss.iomap.fill(0xff);
        tss.end = 0xff;
        tss.tss.iomap_base = 104;
        tss.tss.rsp0 = kernel_stack_top;
        tss.tss.ist[0] = double_fault_stack_top;
        let base = tss as *mut TssWithIo as u64;
        let limit = (core::mem::size_of::<TssWithIo>() - 1) as u64;
        gdt[6] = (limit & 0xffff) | ((base & 0xff_ffff) << 16) | (0x89 << 40) | (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
        gdt[7] = base >> 32;

        #[repr(C, packed)]
        struct Pointer {
            limit: u16,
            base: u64,
        }
        let ptr = Pointer { limit: (core::mem::size_of::<[u64; GDT_LEN]>() - 1) as u16, base: gdt.as_ptr() as u64 };
        asm!(
            "lgdt [{ptr}]",
            "push {kcode}",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov ss, {kdata:x}",
            "mov ds, {udata:x}",
            "mov es, {udata:x}",
            "ltr {tss:x}",
            ptr = in(reg) &ptr,
            kcode = in(reg) KERNEL_CODE as u64,
            kdata = in(reg) KERNEL_DATA as u64,
            udata = in(reg) USER_DATA as u64,
            tss = in(reg) TSS_SELECTOR as u64,
            tmp = lateout(reg) _,
        );
    }
}

/// Install a task's TLS descriptors in this CPU's GDT.
pub fn set_tls(tls: &[u64; TLS_SLOTS]) {
    // SAFETY: each CPU writes only its own GDT (a place projection: no
    // reference to the whole array); the slots are not the ones in use by
    // the kernel.
    unsafe {
        let gdt = &mut (*addr_of_mut!(GDT))[crate::percpu::index()];
        gdt[TLS_FIRST_GDT_INDEX..].copy_from_slice(tls);
    }
}

/// The address of CPU `cpu`'s TSS.rsp0, the stack it switches to on an
/// interrupt from user mode (`percpu::set_frame_top` moves it with the
/// running task).
pub fn rsp0_address(cpu: usize) -> u64 {
    // SAFETY: only an address is taken (no reference is made).
    unsafe { core::ptr::addr_of_mut!((*addr_of_mut!(TSS))[cpu].tss.rsp0) as u64 }
}

/// Open exactly the ports `io` (base, count) for user mode on this CPU,
/// closing those of `open` (the grant open now, which the caller keeps in
/// the CPU's state and checks first).
#[cold]
pub fn set_io_ports(open: Option<(u16, u16)>, io: Option<(u16, u16)>) {
    let cpu = crate::percpu::index();
    // SAFETY: each CPU changes only its own TSS's bitmap, which the CPU
    // reads only on user I/O.
    unsafe {
        let map = &mut (*addr_of_mut!(TSS))[cpu].iomap;
        let mut set = |range: (u16, u16), deny: bool| {
            for p in range.0 as usize..(range.0 as usize + range.1 as usize).min(65536) {
                if deny {
                    map[p / 8] |= 1 << (p % 8);
                } else {
                    map[p / 8] &= !(1 << (p % 8));
                }
            }
        };
        if let Some(old) = open {
            set(old, true);
        }
        if let Some(new) = io {
            set(new, false);
        }
    }
}

/// Load a task's FS and GS selectors. Loading GS also loads its base (from
/// the descriptor, or unchanged or zero for a null selector, by CPU model):
/// that must be the user's base, which sits in KERNEL_GS_BASE while the
/// kernel runs, so the load is made between two `swapgs` and the kernel's
/// GS base (the per-CPU area) is kept.
pub fn load_user_selectors(fs: u16, gs: u16) {
    // SAFETY: the selectors were validated when set (null, user data or a
    // TLS slot). Interrupts are off in the kernel, so nothing runs between
    // the two swapgs with the user's GS base in GS_BASE.
    unsafe { asm!("mov fs, {0:x}", "swapgs", "mov gs, {1:x}", "swapgs", in(reg) fs as u64, in(reg) gs as u64, options(nostack, preserves_flags)) }
}

pub fn read_user_selectors() -> (u16, u16) {
    let (fs, gs): (u64, u64);
    // SAFETY: reading segment registers has no side effects.
    unsafe { asm!("mov {0:x}, fs", "mov {1:x}, gs", out(reg) fs, out(reg) gs, options(nomem, nostack, preserves_flags)) }
    (fs as u16, gs as u16)
}

/// Is this a selector user code may hold in fs/gs?
pub fn valid_user_selector(sel: u64) -> bool {
    let index = (sel >> 3) as usize;
    sel == 0 || sel == USER_DATA as u64 || (sel & 7 == 3 && (TLS_FIRST_GDT_INDEX..TLS_FIRST_GDT_INDEX + TLS_SLOTS).contains(&index))
}
