//! The load plan of a Linux ELF program: which bytes go where with which
//! protection, the entry point, the interpreter it names and the figures the
//! aux vector needs.
//!
//! Accepted: ELF64 x86_64 and ELF32 i386, `ET_EXEC` or position-independent
//! `ET_DYN`, static or dynamically linked (`PT_INTERP`: the caller loads the
//! interpreter with [`plan_interp`], as Linux's binfmt_elf does). Anything
//! else is refused with a reason.

use crate::layout::Abi;
use crate::vma::{page_down, page_up, PAGE};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use goblin::elf::header::{EM_386, EM_X86_64, ET_DYN, ET_EXEC};
use goblin::elf::program_header::{PF_R, PF_W, PF_X, PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_PHDR};
use goblin::elf::Elf;

/// Where Linux puts a 64-bit static-PIE (`ELF_ET_DYN_BASE` without randomisation).
pub const PIE_BASE_64: u64 = 0x5555_5555_4000;
/// The same for a 32-bit static-PIE (below 4 GiB).
pub const PIE_BASE_32: u64 = 0x5655_5000;
/// Highest address + 1 a 32-bit program can use.
pub const LIMIT_32: u64 = 0x1_0000_0000;

/// One `PT_LOAD` segment, with the load bias applied.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    /// `PROT_*` bits.
    pub prot: u64,
}

impl Segment {
    /// The page range the segment occupies.
    pub fn pages(&self) -> (u64, u64) {
        (page_down(self.vaddr), page_up(self.vaddr + self.memsz).unwrap_or(u64::MAX & !(PAGE - 1)))
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LoadPlan {
    pub abi: Abi,
    /// Position independent (static-PIE): loaded at `bias`.
    pub pie: bool,
    pub bias: u64,
    /// Entry point, bias applied.
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// Address of the program headers in memory (AT_PHDR), bias applied.
    pub phdr: u64,
    pub phent: u64,
    pub phnum: u64,
    /// First page after the image: where brk starts.
    pub brk_start: u64,
    /// The program interpreter `PT_INTERP` names (the dynamic loader).
    pub interp: Option<Vec<u8>>,
}

impl LoadPlan {
    /// Bytes from the lowest segment's page to the end of the highest.
    pub fn span(&self) -> u64 {
        let lo = self.segments.first().map_or(0, |s| page_down(s.vaddr));
        self.brk_start - lo
    }
}

/// The plan of an interpreter (`ld-linux-x86-64.so.2`, `ld-musl-*.so.1`):
/// position independent, loaded with its lowest page at `base`; it must not
/// name an interpreter itself and must be of the program's ABI.
pub fn plan_interp(bytes: &[u8], abi: Abi, base: u64) -> Result<LoadPlan, PlanError> {
    let p = plan_with(bytes, Some(base))?;
    if p.interp.is_some() {
        return Err("the interpreter names an interpreter itself".into());
    }
    if p.abi != abi {
        return Err("the interpreter is not of the program's architecture".into());
    }
    Ok(p)
}

fn prot_of(flags: u32) -> u64 {
    let mut p = 0;
    if flags & PF_R != 0 {
        p |= 1;
    }
    if flags & PF_W != 0 {
        p |= 2;
    }
    if flags & PF_X != 0 {
        p |= 4;
    }
    p
}

/// Why a program was refused.
pub type PlanError = String;

/// Make the load plan of `bytes`.
pub fn plan(bytes: &[u8]) -> Result<LoadPlan, PlanError> {
    plan_with(bytes, None)
}

/// `base`: where a position-independent image's lowest page goes (an
/// interpreter); `None`: the program's own place (`ET_EXEC`'s addresses,
/// Linux's `ELF_ET_DYN_BASE` for a PIE).
fn plan_with(bytes: &[u8], base: Option<u64>) -> Result<LoadPlan, PlanError> {
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    let elf = Elf::parse(bytes).map_err(|e| format!("malformed ELF: {e}"))?;
    let abi = match (elf.is_64, elf.header.e_machine) {
        (true, EM_X86_64) => Abi::X86_64,
        (false, EM_386) => Abi::I386,
        (is64, m) => return Err(format!("unsupported machine {m} for a {}-bit ELF (need x86_64 or i386)", if is64 { 64 } else { 32 })),
    };
    if !elf.little_endian {
        return Err("big-endian ELF".into());
    }
    let interp = match elf.program_headers.iter().find(|p| p.p_type == PT_INTERP) {
        None => None,
        Some(ph) => {
            let start = ph.p_offset as usize;
            let raw = start.checked_add(ph.p_filesz as usize).and_then(|end| bytes.get(start..end)).ok_or("the interpreter's name runs past the end of the file")?;
            let name: Vec<u8> = raw.iter().copied().take_while(|&b| b != 0).collect();
            if name.is_empty() || name.len() >= 4096 {
                return Err("an empty or overlong interpreter name".into());
            }
            Some(name)
        }
    };
    let pie = match elf.header.e_type {
        ET_EXEC => false,
        ET_DYN => true,
        t => return Err(format!("ELF type {t} is not an executable")),
    };
    if base.is_some() && !pie {
        return Err("the interpreter is not position independent".into());
    }
    if interp.is_none() && elf.program_headers.iter().any(|p| p.p_type == PT_DYNAMIC) && elf.dynamic.as_ref().is_some_and(|d| d.info.needed_count > 0) {
        return Err("needs shared libraries but names no interpreter".into());
    }
    let limit = match abi {
        Abi::X86_64 => sion_abi::USER_END,
        Abi::I386 => LIMIT_32,
    };
    let lowest = elf.program_headers.iter().filter(|p| p.p_type == PT_LOAD && p.p_memsz > 0).map(|p| page_down(p.p_vaddr)).min().unwrap_or(0);
    let bias = match (pie, base) {
        (false, _) => 0,
        (true, Some(b)) => b.checked_sub(lowest).ok_or("the image's first segment lies above its load address")?,
        (true, None) => match abi {
            Abi::X86_64 => PIE_BASE_64,
            Abi::I386 => PIE_BASE_32,
        },
    };
    let mut segments = Vec::new();
    for ph in elf.program_headers.iter().filter(|p| p.p_type == PT_LOAD) {
        if ph.p_memsz == 0 {
            continue;
        }
        if ph.p_filesz > ph.p_memsz {
            return Err(format!("segment at {:#x}: file size over memory size", ph.p_vaddr));
        }
        let file_end = ph.p_offset.checked_add(ph.p_filesz).ok_or("segment offset overflows")?;
        if file_end > bytes.len() as u64 {
            return Err(format!("segment at {:#x} runs past the end of the file", ph.p_vaddr));
        }
        if ph.p_vaddr % PAGE != ph.p_offset % PAGE {
            return Err(format!("segment at {:#x}: address and file offset disagree modulo the page size", ph.p_vaddr));
        }
        let vaddr = ph.p_vaddr.checked_add(bias).ok_or("segment address overflows")?;
        let end = vaddr.checked_add(ph.p_memsz).ok_or("segment size overflows")?;
        if vaddr < PAGE || page_up(end).is_none_or(|e| e > limit) {
            return Err(format!("segment {:#x}..{:#x} outside the user address space", vaddr, end));
        }
        segments.push(Segment { vaddr, memsz: ph.p_memsz, offset: ph.p_offset, filesz: ph.p_filesz, prot: prot_of(ph.p_flags) });
    }
    if segments.is_empty() {
        return Err("no loadable segment".into());
    }
    segments.sort_by_key(|s| s.vaddr);
    for w in segments.windows(2) {
        if w[0].vaddr + w[0].memsz > w[1].vaddr {
            return Err(format!("segments at {:#x} and {:#x} overlap", w[0].vaddr, w[1].vaddr));
        }
    }
    let entry = elf.entry.checked_add(bias).ok_or("entry overflows")?;
    if !segments.iter().any(|s| s.prot & 4 != 0 && (s.vaddr..s.vaddr + s.memsz).contains(&entry)) {
        return Err(format!("entry point {entry:#x} is not in an executable segment"));
    }
    let phoff = elf.header.e_phoff;
    let phdr = if let Some(p) = elf.program_headers.iter().find(|p| p.p_type == PT_PHDR) {
        p.p_vaddr + bias
    } else {
        // The program headers inside a loaded segment's file bytes.
        segments
            .iter()
            .find(|s| s.offset <= phoff && phoff < s.offset + s.filesz)
            .map(|s| s.vaddr + (phoff - s.offset))
            .unwrap_or(0)
    };
    let brk_start = segments.iter().map(|s| page_up(s.vaddr + s.memsz).unwrap_or(0)).max().unwrap_or(0);
    Ok(LoadPlan {
        abi,
        pie,
        bias,
        entry,
        segments,
        phdr,
        phent: elf.header.e_phentsize as u64,
        phnum: elf.header.e_phnum as u64,
        brk_start,
        interp,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal ELF64 x86_64 ET_EXEC with one RX segment, built by hand.
    pub(crate) fn tiny_elf64(e_type: u16, machine: u16, interp: bool) -> Vec<u8> {
        let mut b = alloc::vec![0u8; 0x1000 + 16];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2; // ELFCLASS64
        b[5] = 1; // little endian
        b[6] = 1;
        b[16..18].copy_from_slice(&e_type.to_le_bytes());
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b[20..24].copy_from_slice(&1u32.to_le_bytes());
        b[24..32].copy_from_slice(&0x401000u64.to_le_bytes()); // entry
        b[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
        b[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
        b[54..56].copy_from_slice(&56u16.to_le_bytes()); // phentsize
        let phnum: u16 = if interp { 2 } else { 1 };
        b[56..58].copy_from_slice(&phnum.to_le_bytes());
        let ph = |b: &mut Vec<u8>, at: usize, ty: u32, flags: u32, off: u64, va: u64, fsz: u64, msz: u64| {
            b[at..at + 4].copy_from_slice(&ty.to_le_bytes());
            b[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
            b[at + 8..at + 16].copy_from_slice(&off.to_le_bytes());
            b[at + 16..at + 24].copy_from_slice(&va.to_le_bytes());
            b[at + 24..at + 32].copy_from_slice(&va.to_le_bytes());
            b[at + 32..at + 40].copy_from_slice(&fsz.to_le_bytes());
            b[at + 40..at + 48].copy_from_slice(&msz.to_le_bytes());
            b[at + 48..at + 56].copy_from_slice(&0x1000u64.to_le_bytes());
        };
        ph(&mut b, 64, PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1010, 0x3000);
        if interp {
            ph(&mut b, 120, PT_INTERP, PF_R, 0x1000, 0x401000, 8, 8);
        }
        b[0x1000..0x1002].copy_from_slice(&[0x0f, 0x05]);
        b
    }

    #[test]
    fn tiny_static_exec() {
        let p = plan(&tiny_elf64(ET_EXEC, EM_X86_64, false)).unwrap();
        assert_eq!(p.abi, Abi::X86_64);
        assert!(!p.pie);
        assert_eq!(p.entry, 0x401000);
        assert_eq!(p.segments.len(), 1);
        assert_eq!(p.segments[0].prot, 5);
        assert_eq!(p.phdr, 0x400040);
        assert_eq!(p.phnum, 1);
        assert_eq!(p.brk_start, 0x403000);
    }

    #[test]
    fn refusals_have_reasons() {
        assert!(plan(b"hello").unwrap_err().contains("not an ELF"));
        let mut t = tiny_elf64(ET_EXEC, EM_X86_64, true);
        t[120 + 32..120 + 40].copy_from_slice(&0x100000u64.to_le_bytes());
        assert!(plan(&t).unwrap_err().contains("interpreter's name"), "a PT_INTERP past the end");
        assert!(plan(&tiny_elf64(ET_EXEC, 183, false)).unwrap_err().contains("unsupported machine"));
        assert!(plan(&tiny_elf64(1, EM_X86_64, false)).unwrap_err().contains("not an executable"));
        let mut t = tiny_elf64(ET_EXEC, EM_X86_64, false);
        t.truncate(0x800);
        assert!(plan(&t).is_err(), "truncated file refused");
        let mut t = tiny_elf64(ET_EXEC, EM_X86_64, false);
        t[24..32].copy_from_slice(&0x900000u64.to_le_bytes());
        assert!(plan(&t).unwrap_err().contains("entry point"));
        let mut t = tiny_elf64(ET_EXEC, EM_X86_64, false);
        t[64 + 32..64 + 40].copy_from_slice(&0x5000u64.to_le_bytes()); // filesz > memsz
        assert!(plan(&t).is_err());
        // Garbage after the magic.
        let mut g = alloc::vec![0xffu8; 200];
        g[..4].copy_from_slice(b"\x7fELF");
        assert!(plan(&g).is_err());
    }

    #[test]
    fn dynamic_programs_name_their_interpreter() {
        let mut t = tiny_elf64(ET_EXEC, EM_X86_64, true);
        t[0x1000..0x1008].copy_from_slice(b"/lib/ld\0");
        let p = plan(&t).unwrap();
        assert_eq!(p.interp.as_deref(), Some(&b"/lib/ld"[..]));
        // The interpreter itself: position independent, at the base given.
        let mut i = tiny_elf64(ET_DYN, EM_X86_64, false);
        i[24..32].copy_from_slice(&0x1000u64.to_le_bytes());
        i[64 + 16..64 + 24].copy_from_slice(&0u64.to_le_bytes());
        let ip = plan_interp(&i, Abi::X86_64, 0x7fff_f000_0000).unwrap();
        assert_eq!((ip.bias, ip.entry, ip.segments[0].vaddr), (0x7fff_f000_0000, 0x7fff_f000_1000, 0x7fff_f000_0000));
        assert_eq!(ip.span(), 0x3000);
        assert!(plan_interp(&i, Abi::I386, 0x7fff_f000_0000).unwrap_err().contains("architecture"));
        assert!(plan_interp(&tiny_elf64(ET_EXEC, EM_X86_64, false), Abi::X86_64, 0x1000_0000).unwrap_err().contains("position independent"));
        assert!(plan_interp(&t, Abi::X86_64, 0x1000_0000).is_err(), "an interpreter with an interpreter");
    }

    #[test]
    fn static_pie_gets_a_bias() {
        let mut t = tiny_elf64(ET_DYN, EM_X86_64, false);
        // Make it position independent: segment at 0, entry 0x1000.
        t[24..32].copy_from_slice(&0x1000u64.to_le_bytes());
        t[64 + 16..64 + 24].copy_from_slice(&0u64.to_le_bytes());
        let p = plan(&t).unwrap();
        assert!(p.pie);
        assert_eq!(p.bias, PIE_BASE_64);
        assert_eq!(p.entry, PIE_BASE_64 + 0x1000);
        assert_eq!(p.segments[0].vaddr, PIE_BASE_64);
    }
}
