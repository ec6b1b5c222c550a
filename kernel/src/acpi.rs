//! The firmware's ACPI tables, read for the CPUs (and I/O APICs) the MADT
//! lists. The parsing and every check are `sion_kerncore::acpi` (tested on
//! the host); this finds the root pointer and reads physical memory through
//! the direct map.
//!
//! The root pointer comes from the loader when it gives one: a copy in the
//! multiboot2 ACPI tags (GRUB), or `rsdp_paddr` in PVH's `hvm_start_info`.
//! Otherwise it is searched for as on a PC BIOS: the first KiB of the EBDA,
//! then 0xE0000-0xFFFFF.

use crate::bootinfo::BootParams;
use crate::mem::phys_slice;
use sion_kerncore::acpi::{self, Error, Madt, Rsdp, RSDP_V2_LEN};

/// Physical memory below `end` (all of it is in the direct map).
struct Phys {
    end: u64,
}

impl acpi::Memory for Phys {
    fn bytes(&self, pa: u64, len: usize) -> Option<&[u8]> {
        let end = pa.checked_add(len as u64)?;
        (end <= self.end).then(|| phys_slice(pa, len))
    }
}

/// The MADT, and where its root pointer came from. `mapped_end` is the end
/// of the direct map.
pub fn madt(params: &BootParams, mapped_end: u64) -> Result<(&'static str, Madt), Error> {
    let mem = Phys { end: mapped_end };
    let (source, rsdp) = root(params, &mem)?;
    Ok((source, acpi::read_madt(&mem, &rsdp)?))
}

fn root(params: &BootParams, mem: &Phys) -> Result<(&'static str, Rsdp), Error> {
    use acpi::Memory as _;
    if params.rsdp_len > 0 {
        return Ok(("multiboot2 tag", acpi::parse_rsdp(&params.rsdp[..params.rsdp_len])?));
    }
    if params.rsdp_pa != 0 {
        let bytes = mem.bytes(params.rsdp_pa, RSDP_V2_LEN).ok_or(Error::Unreadable { pa: params.rsdp_pa })?;
        return Ok(("PVH start_info", acpi::parse_rsdp(bytes)?));
    }
    // The BIOS data area holds the EBDA's segment at 0x40e.
    let bda = phys_slice(0x40e, 2);
    let ebda = (u16::from_le_bytes([bda[0], bda[1]]) as u64) << 4;
    let areas = [("EBDA", ebda, 1024), ("BIOS area", 0xe_0000, 0x2_0000)];
    for (name, start, len) in areas {
        if name == "EBDA" && !(0x8_0000..0xa_0000).contains(&start) {
            continue;
        }
        let region = phys_slice(start, len);
        if let Some(at) = acpi::scan_rsdp(region) {
            return Ok((name, acpi::parse_rsdp(&region[at..])?));
        }
    }
    Err(Error::NoRsdp)
}
