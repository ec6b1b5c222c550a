//! The load plan of a Linux ELF program: which bytes go where with which
//! protection, the entry point, the interpreter it names and the figures the
//! aux vector needs.
//!
//! Accepted: ELF64 x86_64 and ELF32 i386, `ET_EXEC` or position-independent
//! `ET_DYN`, static or dynamically linked (`PT_INTERP`: the caller loads the
//! interpreter with [`plan_interp`], as Linux's binfmt_elf does). Anything
//! else is refused with a one-line reason, the one the workstation's `sion`
//! also gives when it refuses a program before booting a node (it checks
//! programs with [`plan`]).

use crate::layout::Abi;
use crate::vma::{page_down, page_up, PAGE};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header::{self, EM_386, EM_X86_64, ET_DYN, ET_EXEC};
use goblin::elf::program_header::{ProgramHeader, PF_R, PF_W, PF_X, PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_PHDR};
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
    /// Where exec put the aux vector on the stack, and its bytes (AT_NULL
    /// included): what a core dump's NT_AUXV holds.
    pub auxv: (u64, u64),
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
    let Class { abi, pie, interp } = classify(bytes)?;
    let elf = Elf::parse(bytes).map_err(|e| format!("malformed ELF: {e}"))?;
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
        auxv: (0, 0),
    })
}

/// What the ELF header and program headers say a file is.
struct Class {
    abi: Abi,
    /// `ET_DYN`.
    pie: bool,
    /// What `PT_INTERP` names.
    interp: Option<Vec<u8>>,
}

/// Is `bytes` a program of an ABI this personality runs, by its header and
/// program headers alone? Never panics, whatever the bytes.
fn classify(bytes: &[u8]) -> Result<Class, PlanError> {
    let malformed = |why: &str| format!("malformed ELF: {why}");
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        return Err("not an ELF executable or a `#!` script".into());
    }
    let h = Elf::parse_header(bytes).map_err(|e| malformed(&format!("{e}")))?;
    let class = h.e_ident[header::EI_CLASS];
    let abi = match (abi_of(class, h.e_machine), class, h.e_machine) {
        (Some(abi), _, _) => abi,
        (None, header::ELFCLASS32, EM_X86_64) => return Err(wrong_machine("x86_64 x32 ABI (ELF32)")),
        (None, header::ELFCLASS64 | header::ELFCLASS32, m) => {
            let bits = if class == header::ELFCLASS64 { 64 } else { 32 };
            return Err(wrong_machine(&format!("{} ({bits}-bit)", machine_name(m))));
        }
        (None, c, _) => return Err(malformed(&format!("unknown ELF class {c}"))),
    };
    let container = match abi {
        Abi::X86_64 => Container::Big,
        Abi::I386 => Container::Little,
    };
    if h.e_ident[header::EI_DATA] != header::ELFDATA2LSB {
        return Err(malformed("big-endian ELF for an x86 machine"));
    }
    let not_a_program = |what: &str| format!("{what}, not a program");
    let pie = match h.e_type {
        ET_EXEC => false,
        ET_DYN => true,
        header::ET_REL => return Err(not_a_program("a relocatable object file")),
        header::ET_CORE => return Err(not_a_program("a core dump")),
        t => return Err(not_a_program(&format!("an ELF of type {t}"))),
    };
    let phnum = h.e_phnum as usize;
    let phentsize = match container {
        Container::Big => goblin::elf64::program_header::SIZEOF_PHDR,
        Container::Little => goblin::elf32::program_header::SIZEOF_PHDR,
    };
    if phnum == 0 {
        return Err(malformed("no program headers"));
    }
    if h.e_phentsize as usize != phentsize {
        return Err(malformed(&format!("program header size {} (expected {phentsize})", h.e_phentsize)));
    }
    let ph_end = (h.e_phoff as u128) + (phnum as u128) * (phentsize as u128);
    if ph_end > bytes.len() as u128 {
        return Err(malformed(&format!("truncated: program headers end at byte {ph_end}, the file has {}", bytes.len())));
    }
    let phdrs = ProgramHeader::parse(bytes, h.e_phoff as usize, phnum, Ctx::new(container, Endian::Little)).map_err(|e| malformed(&format!("program headers: {e}")))?;
    for (i, ph) in phdrs.iter().enumerate() {
        let end = ph.p_offset as u128 + ph.p_filesz as u128;
        if ph.p_type == PT_LOAD && end > bytes.len() as u128 {
            return Err(malformed(&format!("truncated: segment {i} ends at byte {end}, the file has {}", bytes.len())));
        }
    }
    if let Some(ph) = phdrs.iter().find(|p| p.p_type == PT_INTERP) {
        let start = ph.p_offset as usize;
        let raw = bytes.get(start..start.saturating_add(ph.p_filesz as usize)).ok_or_else(|| malformed("PT_INTERP outside the file"))?;
        let name: Vec<u8> = raw.iter().copied().take_while(|&b| b != 0).collect();
        if name.is_empty() {
            return Err(malformed("an empty PT_INTERP"));
        }
        if name.len() >= 4096 {
            return Err(malformed("a PT_INTERP longer than a path"));
        }
        return Ok(Class { abi, pie, interp: Some(name) });
    }
    if !phdrs.iter().any(|p| p.p_type == PT_LOAD) {
        return Err(malformed("no loadable segment"));
    }
    if pie && h.e_entry == 0 {
        return Err(not_a_program("a shared library"));
    }
    Ok(Class { abi, pie, interp: None })
}

/// The ABI of an ELF of this class (`EI_CLASS`) and machine (`e_machine`),
/// if it is one this personality runs.
pub fn abi_of(class: u8, machine: u16) -> Option<Abi> {
    match (class, machine) {
        (header::ELFCLASS64, EM_X86_64) => Some(Abi::X86_64),
        (header::ELFCLASS32, EM_386) => Some(Abi::I386),
        _ => None,
    }
}

fn wrong_machine(machine: &str) -> PlanError {
    format!("ELF for {machine}; SiON runs x86_64 and i386 programs only")
}

fn machine_name(m: u16) -> String {
    match m {
        header::EM_AARCH64 => "aarch64".into(),
        header::EM_ARM => "arm".into(),
        header::EM_RISCV => "riscv".into(),
        header::EM_PPC64 => "ppc64".into(),
        header::EM_PPC => "ppc".into(),
        header::EM_S390 => "s390".into(),
        header::EM_MIPS => "mips".into(),
        header::EM_SPARCV9 => "sparcv9".into(),
        header::EM_IA_64 => "ia64".into(),
        header::EM_386 => "i386".into(),
        header::EM_X86_64 => "x86_64".into(),
        m => match header::machine_to_str(m) {
            "EM_UNKNOWN" => format!("machine {m}"),
            s => s.into(),
        },
    }
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
        assert!(plan(&t).unwrap_err().contains("PT_INTERP outside the file"), "a PT_INTERP past the end");
        assert!(plan(&tiny_elf64(ET_EXEC, 183, false)).unwrap_err().contains("SiON runs x86_64 and i386 programs only"));
        assert!(plan(&tiny_elf64(1, EM_X86_64, false)).unwrap_err().contains("not a program"));
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

    /// The reasons `sion` prints when it refuses a program (its tests check
    /// them through real files too).
    #[test]
    fn refusals_say_what_the_file_is() {
        use goblin::elf::header::{EM_AARCH64, ET_CORE, ET_REL};
        assert_eq!(plan(b"").unwrap_err(), "not an ELF executable or a `#!` script");
        assert_eq!(plan(b"echo hi\n").unwrap_err(), "not an ELF executable or a `#!` script");
        assert_eq!(plan(&tiny_elf64(ET_EXEC, EM_AARCH64, false)).unwrap_err(), "ELF for aarch64 (64-bit); SiON runs x86_64 and i386 programs only");
        assert_eq!(plan(&tiny_elf64(ET_EXEC, 0xbeef, false)).unwrap_err(), "ELF for machine 48879 (64-bit); SiON runs x86_64 and i386 programs only");
        let mut x32 = tiny_elf64(ET_EXEC, EM_X86_64, false);
        x32[4] = 1; // ELFCLASS32
        assert_eq!(plan(&x32).unwrap_err(), "ELF for x86_64 x32 ABI (ELF32); SiON runs x86_64 and i386 programs only");
        assert_eq!(plan(&tiny_elf64(ET_REL, EM_X86_64, false)).unwrap_err(), "a relocatable object file, not a program");
        assert_eq!(plan(&tiny_elf64(ET_CORE, EM_X86_64, false)).unwrap_err(), "a core dump, not a program");
        let mut lib = tiny_elf64(ET_DYN, EM_X86_64, false);
        lib[24..32].copy_from_slice(&0u64.to_le_bytes());
        assert_eq!(plan(&lib).unwrap_err(), "a shared library, not a program");
        let mut big = tiny_elf64(ET_EXEC, EM_X86_64, false);
        big[5] = 2; // ELFDATA2MSB
        big[18..20].copy_from_slice(&EM_X86_64.to_be_bytes());
        assert_eq!(plan(&big).unwrap_err(), "malformed ELF: big-endian ELF for an x86 machine");
    }

    #[test]
    fn garbage_gets_a_reason_never_a_panic() {
        let good = tiny_elf64(ET_EXEC, EM_X86_64, true);
        assert!(plan(&good).is_ok());
        // Every truncation and a pile of single-byte corruptions of the headers.
        for n in 0..good.len() {
            let r = plan(&good[..n]);
            assert!(r.is_err(), "truncated to {n} accepted");
            if n >= 64 + 2 * 56 {
                assert_eq!(r.unwrap_err(), format!("malformed ELF: truncated: segment 0 ends at byte 4112, the file has {n}"));
            }
        }
        for i in 0..64 + 2 * 56 {
            for v in [0u8, 0xff, 0x7f, 2, 0x80] {
                let mut b = good.clone();
                b[i] = v;
                let _ = plan(&b);
            }
        }
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
