//! The IDT and the kernel entry paths.
//!
//! Every entry — an exception, an interrupt, `int 0x40`/`int 0x80`, or the
//! `syscall` instruction — builds the same [`TrapFrame`] and calls
//! `trap_entry`. From user mode the frame is built in place, in the running
//! task's own `frame` (the CPU's TSS.rsp0 and the frame-top word of its
//! per-CPU area point just past it; `Kernel::switch_to` keeps them so), then
//! the entry swaps in the kernel's GS base (`swapgs`: `gs:` is the CPU's
//! area, see percpu.rs) and moves to the CPU's kernel stack: the registers
//! are saved once and never copied on entry or exit, as seL4 keeps them in
//! the TCB. `trap_entry` returns the frame to resume, that of the task chosen
//! to run next; the return swaps the user's GS base back when it goes to
//! user mode. An interrupt taken in the kernel (only the idle loop runs with
//! interrupts on) swaps nothing and pushes its frame on the kernel stack, as
//! usual.

use core::arch::global_asm;
use core::ptr::addr_of_mut;

/// Vector number the `syscall` path puts in the frame.
pub const VECTOR_SYSCALL: u64 = 0x100;
/// `syscall` executed in 32-bit compatibility mode: treated as #UD.
pub const VECTOR_SYSCALL_COMPAT: u64 = 0x101;
pub const VECTOR_TIMER: u64 = 0x20;
pub const VECTOR_NATIVE_CALL: u64 = 0x40;
pub const VECTOR_LINUX_I386: u64 = 0x80;
pub const VECTOR_SPURIOUS: u64 = 0xff;
/// Another CPU asks this one to look at its requests (smp::send_ipi_to).
pub const VECTOR_IPI: u64 = 0xf0;

/// 16-byte aligned: the CPU aligns the stack to 16 before pushing a frame,
/// so the end of a frame (the TSS's rsp0) must be aligned for the pushes to
/// land in it.
#[repr(C, align(16))]
#[derive(Clone, Copy, Default, Debug)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl TrapFrame {
    /// Hand a Linux system call to a receiver in its registers.
    pub fn put_message(&mut self, m: &sion_abi::msg::InRegs) {
        (self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9) = (m.rdi, m.rsi, m.rdx, m.r10, m.r8, m.r9);
        (self.r12, self.r13, self.r14, self.r15) = (m.r12, m.r13, m.r14, m.r15);
    }
}

global_asm!(
    r#"
    .section .text
    .macro ISR_NOERR v
    isr_\v:
        push 0
        push \v
        jmp trap_common
    .endm
    .macro ISR_ERR v
    isr_\v:
        push \v
        jmp trap_common
    .endm

    .irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31,32,64,128,240,255,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,127
    ISR_NOERR \v
    .endr
    .irp v, 8,10,11,12,13,14,17,21,29,30
    ISR_ERR \v
    .endr

    .macro PUSH_GPRS
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    .endm

    .global trap_common
trap_common:
    PUSH_GPRS
    cld
    mov rdi, rsp
    /* From user mode the frame is the task's: take the kernel's GS base
       (the CPU's area) and go to the CPU's kernel stack. */
    test qword ptr [rsp + 0x90], 3
    jz trap_call
    swapgs
    mov rsp, gs:[{kstack}]
trap_call:
    call trap_entry
    mov rsp, rax
    .global trap_return
trap_return:
    /* Back to user mode: the user's GS base again. */
    test qword ptr [rsp + 0x90], 3
    jz 1f
    swapgs
1:
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq

    /* syscall: rcx = user rip, r11 = user rflags, rsp still the user's,
       GS base the user's: swap it first, to reach the CPU's area. */
    .global syscall_entry
syscall_entry:
    swapgs
    mov gs:[{user_rsp}], rsp
    mov rsp, gs:[{frame_top}]
    push 0x23
    push qword ptr gs:[{user_rsp}]
    push r11
    push 0x2b
    push rcx
    push 0
    push 0x100
    PUSH_GPRS
    cld
    mov rdi, rsp
    mov rsp, gs:[{kstack}]
    jmp trap_call

    .global syscall_entry_compat
syscall_entry_compat:
    swapgs
    mov gs:[{user_rsp}], rsp
    mov rsp, gs:[{frame_top}]
    push 0x23
    push qword ptr gs:[{user_rsp}]
    push r11
    push 0x1b
    push rcx
    push 0
    push 0x101
    PUSH_GPRS
    cld
    mov rdi, rsp
    mov rsp, gs:[{kstack}]
    jmp trap_call
"#,
    kstack = const crate::percpu::OFF_KERNEL_STACK,
    frame_top = const crate::percpu::OFF_FRAME_TOP,
    user_rsp = const crate::percpu::OFF_USER_RSP,
);

extern "C" {
    fn syscall_entry();
    fn syscall_entry_compat();
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    flags: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

static mut IDT: [Gate; 256] = [Gate { offset_low: 0, selector: 0, ist: 0, flags: 0, offset_mid: 0, offset_high: 0, reserved: 0 }; 256];

fn set_gate(v: usize, handler: u64, dpl: u8, ist: u8) {
    // SAFETY: single CPU, during boot.
    unsafe {
        (*addr_of_mut!(IDT))[v] = Gate {
            offset_low: handler as u16,
            selector: crate::gdt::KERNEL_CODE,
            ist,
            flags: 0x8e | (dpl << 5), // present, interrupt gate (IF cleared on entry)
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        };
    }
}

/// From now on, entries from user mode on this CPU save the registers in
/// `frame` (the running task's): the `syscall` entry's word in the per-CPU
/// area and the CPU's TSS.rsp0 for the others.
#[inline(always)]
pub fn set_user_frame(frame: &mut TrapFrame) {
    let top = frame as *mut TrapFrame as u64 + core::mem::size_of::<TrapFrame>() as u64;
    crate::percpu::set_frame_top(top);
}

pub fn init() {
    macro_rules! gate {
        ($($v:literal => $dpl:expr),* $(,)?) => {$(
            {
                extern "C" {
                    #[link_name = concat!("isr_", stringify!($v))]
                    fn stub();
                }
                set_gate($v, stub as *const () as u64, $dpl, if $v == 8 { 1 } else { 0 });
            }
        )*};
    }
    gate!(
        0 => 0, 1 => 0, 2 => 0, 3 => 3, 4 => 3, 5 => 0, 6 => 0, 7 => 0, 8 => 0, 9 => 0, 10 => 0, 11 => 0,
        12 => 0, 13 => 0, 14 => 0, 15 => 0, 16 => 0, 17 => 0, 18 => 0, 19 => 0, 20 => 0, 21 => 0, 22 => 0,
        23 => 0, 24 => 0, 25 => 0, 26 => 0, 27 => 0, 28 => 0, 29 => 0, 30 => 0, 31 => 0,
        32 => 0, 64 => 3, 128 => 3, 240 => 0, 255 => 0,
    );
    // Device interrupts: GSI n on vector 0x50 + n.
    gate!(
        80 => 0, 81 => 0, 82 => 0, 83 => 0, 84 => 0, 85 => 0, 86 => 0, 87 => 0, 88 => 0, 89 => 0, 90 => 0, 91 => 0, 92 => 0, 93 => 0, 94 => 0, 95 => 0, 96 => 0, 97 => 0, 98 => 0, 99 => 0, 100 => 0, 101 => 0, 102 => 0, 103 => 0, 104 => 0, 105 => 0, 106 => 0, 107 => 0, 108 => 0, 109 => 0, 110 => 0, 111 => 0, 112 => 0, 113 => 0, 114 => 0, 115 => 0, 116 => 0, 117 => 0, 118 => 0, 119 => 0, 120 => 0, 121 => 0, 122 => 0, 123 => 0, 124 => 0, 125 => 0, 126 => 0, 127 => 0,
    );
    #[repr(C, packed)]
    struct Pointer {
        limit: u16,
        base: u64,
    }
    // SAFETY: the IDT is static and fully initialised above.
    unsafe {
        let ptr = Pointer { limit: (core::mem::size_of::<[Gate; 256]>() - 1) as u16, base: addr_of_mut!(IDT) as u64 };
        core::arch::asm!("lidt [{}]", in(reg) &ptr, options(nostack));
    }
    use crate::cpu::{msr, wrmsr};
    // syscall: kernel CS 0x08 (SS 0x10); sysret bases at 0x18 (unused: we return with iretq).
    wrmsr(msr::STAR, (0x18u64 << 48) | (0x08u64 << 32));
    wrmsr(msr::LSTAR, syscall_entry as *const () as u64);
    wrmsr(msr::CSTAR, syscall_entry_compat as *const () as u64);
    // Clear IF, TF, DF, AC, NT and IOPL on entry.
    wrmsr(msr::SFMASK, 0x47700);
}
