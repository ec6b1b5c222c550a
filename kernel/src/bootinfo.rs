//! What the loader tells us: PVH `hvm_start_info` or multiboot2 information.

use crate::mem::phys_slice;
use sion_kerncore::memmap::{Range, RangeSet};

const PVH_MAGIC: u32 = 0x336e_c578;
const MB2_MAGIC: u32 = 0x36d7_6289;

pub const MAX_MODULES: usize = 8;

pub struct BootParams {
    pub loader: &'static str,
    pub ram: RangeSet<64>,
    pub modules: [Range; MAX_MODULES],
    pub module_count: usize,
    pub cmdline: [u8; 1024],
    pub cmdline_len: usize,
    /// Physical ranges the boot information itself occupies.
    pub info: Range,
    /// Where the ACPI root pointer is (PVH `rsdp_paddr`; 0 if not given).
    pub rsdp_pa: u64,
    /// A copy of the ACPI root pointer (multiboot2 ACPI tags), `rsdp_len` bytes.
    pub rsdp: [u8; 36],
    pub rsdp_len: usize,
}

impl BootParams {
    pub fn cmdline(&self) -> &str {
        core::str::from_utf8(&self.cmdline[..self.cmdline_len]).unwrap_or("")
    }
    pub fn modules(&self) -> &[Range] {
        &self.modules[..self.module_count]
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn c_string(pa: u64, out: &mut [u8; 1024]) -> usize {
    if pa == 0 {
        return 0;
    }
    let s = phys_slice(pa, 1023);
    let n = s.iter().position(|&c| c == 0).unwrap_or(1023);
    out[..n].copy_from_slice(&s[..n]);
    n
}

pub fn parse(magic: u32, info_pa: u64) -> BootParams {
    let mut p = BootParams { loader: "?", ram: RangeSet::new(), modules: [Range::new(0, 0); MAX_MODULES], module_count: 0, cmdline: [0; 1024], cmdline_len: 0, info: Range::new(info_pa, info_pa + 4096), rsdp_pa: 0, rsdp: [0; 36], rsdp_len: 0 };
    let head = phys_slice(info_pa, 8);
    if u32_at(head, 0) == PVH_MAGIC {
        p.loader = "PVH";
        let si = phys_slice(info_pa, 56);
        let version = u32_at(si, 4);
        let nr_modules = u32_at(si, 12) as usize;
        let modlist = u64_at(si, 16);
        p.cmdline_len = c_string(u64_at(si, 24), &mut p.cmdline);
        p.rsdp_pa = u64_at(si, 32);
        for i in 0..nr_modules.min(MAX_MODULES) {
            let m = phys_slice(modlist + i as u64 * 32, 32);
            let (pa, size) = (u64_at(m, 0), u64_at(m, 8));
            p.modules[p.module_count] = Range::new(pa, pa + size);
            p.module_count += 1;
        }
        let (memmap, entries) = if version >= 1 { (u64_at(si, 40), u32_at(si, 48) as usize) } else { (0, 0) };
        for i in 0..entries {
            let e = phys_slice(memmap + i as u64 * 24, 24);
            if u32_at(e, 16) == 1 {
                let (a, s) = (u64_at(e, 0), u64_at(e, 8));
                p.ram.add(Range::new(a, a + s));
            }
        }
        if entries == 0 {
            panic!("PVH start_info (version {version}) has no memory map");
        }
    } else if magic == MB2_MAGIC {
        p.loader = "multiboot2";
        let total = u32_at(head, 0) as usize;
        p.info = Range::new(info_pa, info_pa + total as u64);
        let mbi = phys_slice(info_pa, total);
        let mut at = 8;
        while at + 8 <= total {
            let ty = u32_at(mbi, at);
            let size = u32_at(mbi, at + 4) as usize;
            match ty {
                0 => break,
                1 => {
                    let s = &mbi[at + 8..at + size];
                    let n = s.iter().position(|&c| c == 0).unwrap_or(s.len()).min(1023);
                    p.cmdline[..n].copy_from_slice(&s[..n]);
                    p.cmdline_len = n;
                }
                3 if p.module_count < MAX_MODULES => {
                    let (start, end) = (u32_at(mbi, at + 8) as u64, u32_at(mbi, at + 12) as u64);
                    p.modules[p.module_count] = Range::new(start, end);
                    p.module_count += 1;
                }
                6 => {
                    let entry_size = u32_at(mbi, at + 8) as usize;
                    let mut e = at + 16;
                    while entry_size >= 24 && e + entry_size <= at + size {
                        if u32_at(mbi, e + 16) == 1 {
                            let (a, l) = (u64_at(mbi, e), u64_at(mbi, e + 8));
                            p.ram.add(Range::new(a, a + l));
                        }
                        e += entry_size;
                    }
                }
                // ACPI 1.0 (14) and 2.0 (15) root pointers, copied into the tag;
                // the newer one wins.
                14 | 15 if size > 8 && at + size <= total && (ty == 15 || p.rsdp_len == 0) => {
                    let n = (size - 8).min(36);
                    p.rsdp[..n].copy_from_slice(&mbi[at + 8..at + 8 + n]);
                    p.rsdp_len = n;
                }
                _ => {}
            }
            at += (size + 7) & !7;
        }
    } else {
        panic!("unknown boot protocol (eax={magic:#x}): boot with PVH (qemu -kernel) or multiboot2 (GRUB)");
    }
    p
}
