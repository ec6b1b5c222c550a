/* note.S - the vDSO's ELF note: Linux's "Linux" note carrying the kernel
 * version (LINUX_VERSION_CODE), which glibc reads as the kernel's version.
 * SiON's personality reports 6.1.0 in uname (personality/linux). */
	.section .note.Linux, "a", @note
	.balign 4
	.long 2f - 1f		/* name size */
	.long 4f - 3f		/* descriptor size */
	.long 0			/* type */
1:	.asciz "Linux"
2:	.balign 4
3:	.long 0x060100		/* 6.1.0 */
4:	.balign 4
	.section .note.GNU-stack, "", @progbits
