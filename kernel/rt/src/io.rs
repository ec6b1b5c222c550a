//! x86 port I/O. From ring 3 it works for the ports the kernel granted through
//! the TSS I/O bitmap (`io=PORT:COUNT` on its command line); any other port
//! raises #GP and the kernel ends the server: no memory is ever at stake.

/// Read a byte from an I/O port.
pub fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: `in` touches no memory; a port not granted faults instead.
    unsafe { core::arch::asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Write a byte to an I/O port.
pub fn outb(port: u16, v: u8) {
    // SAFETY: as for `inb`; the device is owned by this server.
    unsafe { core::arch::asm!("out dx, al", in("dx") port, in("al") v, options(nomem, nostack, preserves_flags)) };
}
