//! The 32-bit entry shared by PVH (`qemu -kernel`) and multiboot2 (GRUB):
//! both enter in protected mode with paging off and a pointer to their boot
//! information in ebx. The stub builds just enough page tables (the first GiB
//! identity-mapped, at the direct map and at the kernel's link address), enters
//! long mode and calls `kmain(eax, ebx)` on the kernel stack.

core::arch::global_asm!(
    r#"
    .section .multiboot2, "a"
    .balign 8
mb2_header_start:
    .long 0xe85250d6
    .long 0
    .long mb2_header_end - mb2_header_start
    .long 0x100000000 - (0xe85250d6 + (mb2_header_end - mb2_header_start))
    .balign 8
    /* entry address tag: the ELF entry is a 64-bit address GRUB cannot use */
    .short 3
    .short 0
    .long 12
    .long _start32
    .balign 8
    .short 0
    .short 0
    .long 8
mb2_header_end:

    .section .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 4
    .long 18            /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .long _start32
    .balign 4

    .section .boot.bss, "aw", @nobits
    .balign 4096
    /* Global, with boot_gdt_ptr: the APs enter long mode on them too (smp.rs). */
    .global boot_pml4
    .global boot_gdt_ptr
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4096
boot_stack:     .skip 4096
boot_stack_top:

    .section .boot.data, "aw"
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00209a0000000000    /* 0x08: 64-bit code */
    .quad 0x0000920000000000    /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .boot.text, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    mov %eax, %ebp
    mov %ebx, %esi
    mov $boot_stack_top, %esp

    mov $boot_pml4, %edi
    xor %eax, %eax
    mov $(4 * 1024), %ecx
    rep stosl

    mov $boot_pdpt_low, %eax
    or $3, %eax
    mov %eax, boot_pml4
    mov %eax, boot_pml4 + 256 * 8
    mov $boot_pdpt_high, %eax
    or $3, %eax
    mov %eax, boot_pml4 + 511 * 8
    mov $boot_pd, %eax
    or $3, %eax
    mov %eax, boot_pdpt_low
    mov %eax, boot_pdpt_high + 510 * 8

    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, boot_pd(,%ecx,8)
    inc %ecx
    cmp $512, %ecx
    jne 1b

    mov %cr4, %eax
    or $(1 << 5), %eax          /* PAE */
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3

    /* NX only if the CPU has it (CPUID 0x80000001 edx bit 20) */
    mov $0x80000001, %eax
    cpuid
    xor %edi, %edi
    bt $20, %edx
    jnc 2f
    mov $(1 << 11), %edi
2:  mov $0xC0000080, %ecx       /* EFER */
    rdmsr
    or $((1 << 8) | 1), %eax    /* LME, SCE */
    or %edi, %eax
    wrmsr

    mov %cr0, %eax
    or $((1 << 31) | (1 << 1) | 1), %eax   /* PG, MP, PE */
    and $~(1 << 2), %eax                   /* no EM: SSE for user code */
    mov %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $long_entry

    .code64
long_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    movabs $kernel_stack_top, %rsp
    mov %ebp, %edi
    /* esi already holds the boot information pointer, zero-extended */
    movabs $kmain, %rax
    call *%rax
3:  hlt
    jmp 3b

    .section .bss
    .balign 4096
    .global kernel_stack_bottom
kernel_stack_bottom:
    .skip 65536
    .global kernel_stack_top
kernel_stack_top:
    .skip 4096
    .global double_fault_stack_top
double_fault_stack_top:
"#,
    options(att_syntax)
);

extern "C" {
    pub static kernel_stack_top: u8;
    pub static double_fault_stack_top: u8;
    pub static __kernel_phys_start: u8;
    pub static __kernel_phys_end: u8;
}
