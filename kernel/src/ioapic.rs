//! I/O APICs: routing a device's interrupt line to a vector, so a driver
//! server can receive it as a notification. The kernel knows nothing else of
//! the device.
//!
//! QEMU places the I/O APICs at fixed addresses: 0xfec00000 (GSI 0-23) and,
//! on microvm, a second one at 0xfec10000 (GSI 24-47). (Reading the ACPI MADT
//! would find them on other machines; not needed yet.)

use crate::mem::DIRECT_MAP;

/// Vectors for device interrupts: GSI n arrives as vector IRQ_VECTOR_BASE + n.
pub const IRQ_VECTOR_BASE: u64 = 0x50;
pub const MAX_GSI: u32 = 48;

const BASES: [(u64, u32); 2] = [(0xfec0_0000, 0), (0xfec1_0000, 24)];

fn read(base: u64, reg: u32) -> u32 {
    // SAFETY: I/O APIC registers are mapped uncached in the direct map (first 4 GiB).
    unsafe {
        core::ptr::write_volatile((DIRECT_MAP + base) as *mut u32, reg);
        core::ptr::read_volatile((DIRECT_MAP + base + 0x10) as *const u32)
    }
}

fn write(base: u64, reg: u32, v: u32) {
    // SAFETY: as read().
    unsafe {
        core::ptr::write_volatile((DIRECT_MAP + base) as *mut u32, reg);
        core::ptr::write_volatile((DIRECT_MAP + base + 0x10) as *mut u32, v);
    }
}

/// The I/O APIC serving `gsi`, and the pin on it.
fn locate(gsi: u32) -> Option<(u64, u32)> {
    BASES.iter().find_map(|&(base, first)| {
        let version = read(base, 1);
        if version == 0xffff_ffff {
            return None; // absent
        }
        let pins = ((version >> 16) & 0xff) + 1;
        (gsi >= first && gsi < first + pins).then_some((base, gsi - first))
    })
}

/// Route `gsi` to its vector on CPU 0, edge-triggered, active high, unmasked.
pub fn route(gsi: u32) -> bool {
    let Some((base, pin)) = locate(gsi) else { return false };
    let vector = IRQ_VECTOR_BASE as u32 + gsi;
    write(base, 0x10 + 2 * pin + 1, 0); // destination: APIC id 0
    write(base, 0x10 + 2 * pin, vector);
    true
}
