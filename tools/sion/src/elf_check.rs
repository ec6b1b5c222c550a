//! Decides, before booting anything, whether SiON can run a program: an
//! ELF64 x86_64 or ELF32 i386 executable (ET_EXEC or ET_DYN, static or
//! dynamically linked: `deps` finds what a dynamic one needs) or a `#!`
//! script. Everything else is refused with a one-line reason.
#![forbid(unsafe_code)]

use std::fmt;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header;
use goblin::elf::Elf;
use goblin::elf::program_header::{self, ProgramHeader};

/// What kind of program was accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    X86_64,
    X86_64Pie,
    I386,
    /// Dynamically linked: started through this interpreter (its loader).
    Dynamic { interpreter: String },
    /// A `#!` script.
    Script,
}

/// Why a program cannot run. `Display` is the one-line reason.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The file does not exist (exit 127).
    Missing,
    /// Could not read it (permission, a directory...).
    Unreadable(String),
    NotExecutable,
    NotElf,
    WrongMachine { machine: String },
    WrongType { what: String },
    Malformed(String),
}

impl Refusal {
    /// The status a shell would give.
    pub fn exit_status(&self) -> i32 {
        match self {
            Refusal::Missing => 127,
            _ => 126,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Missing => write!(f, "No such file or directory"),
            Refusal::Unreadable(e) => write!(f, "cannot read: {e}"),
            Refusal::NotExecutable => write!(f, "Permission denied (not executable)"),
            Refusal::NotElf => write!(f, "not an ELF executable or a `#!` script"),
            Refusal::WrongMachine { machine } => {
                write!(f, "ELF for {machine}; SiON runs x86_64 and i386 programs only")
            }
            Refusal::WrongType { what } => write!(f, "{what}, not a program"),
            Refusal::Malformed(why) => write!(f, "malformed ELF: {why}"),
        }
    }
}

/// Where PROGRAM (as typed) is on the host: a name without `/` is looked up
/// in `PATH` like a shell does, then (as a convenience) in the current directory.
pub fn locate(program: &Path, path_var: Option<&std::ffi::OsStr>) -> PathBuf {
    if program.as_os_str().as_encoded_bytes().contains(&b'/') {
        return program.to_path_buf();
    }
    if let Some(paths) = path_var {
        for dir in std::env::split_paths(paths) {
            let candidate = dir.join(program);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    program.to_path_buf()
}

/// Reads and checks the program at `path`; on success returns its bytes.
pub fn check_file(path: &Path) -> Result<(Kind, Vec<u8>), Refusal> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Refusal::Missing),
        Err(e) => return Err(Refusal::Unreadable(e.to_string())),
    };
    if meta.is_dir() {
        return Err(Refusal::Unreadable("Is a directory".into()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(Refusal::NotExecutable);
    }
    let bytes = std::fs::read(path).map_err(|e| Refusal::Unreadable(e.to_string()))?;
    if bytes.starts_with(b"#!") {
        return Ok((Kind::Script, bytes));
    }
    let kind = check_bytes(&bytes)?;
    Ok((kind, bytes))
}

/// Checks an in-memory program. Never panics, whatever the bytes.
pub fn check_bytes(bytes: &[u8]) -> Result<Kind, Refusal> {
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        return Err(Refusal::NotElf);
    }
    // goblin is careful, but a panic in a parser must not become a panic of sion.
    let silent = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| check_elf(bytes));
    std::panic::set_hook(silent);
    r.unwrap_or_else(|_| Err(Refusal::Malformed("the ELF parser gave up on it".into())))
}

fn check_elf(bytes: &[u8]) -> Result<Kind, Refusal> {
    let h = Elf::parse_header(bytes).map_err(|e| Refusal::Malformed(e.to_string()))?;
    let class = h.e_ident[header::EI_CLASS];
    let data = h.e_ident[header::EI_DATA];
    let machine = h.e_machine;
    let (container, kind) = match (class, machine) {
        (header::ELFCLASS64, header::EM_X86_64) => (Container::Big, Kind::X86_64),
        (header::ELFCLASS32, header::EM_386) => (Container::Little, Kind::I386),
        (header::ELFCLASS32, header::EM_X86_64) => {
            return Err(Refusal::WrongMachine { machine: "x86_64 x32 ABI (ELF32)".into() })
        }
        (header::ELFCLASS64 | header::ELFCLASS32, m) => {
            let bits = if class == header::ELFCLASS64 { 64 } else { 32 };
            return Err(Refusal::WrongMachine { machine: format!("{} ({bits}-bit)", machine_name(m)) });
        }
        (c, _) => return Err(Refusal::Malformed(format!("unknown ELF class {c}"))),
    };
    if data != header::ELFDATA2LSB {
        return Err(Refusal::Malformed("big-endian ELF for an x86 machine".into()));
    }
    match h.e_type {
        header::ET_EXEC | header::ET_DYN => {}
        header::ET_REL => return Err(Refusal::WrongType { what: "a relocatable object file".into() }),
        header::ET_CORE => return Err(Refusal::WrongType { what: "a core dump".into() }),
        t => return Err(Refusal::WrongType { what: format!("an ELF of type {t}") }),
    }
    let ctx = Ctx::new(container, Endian::Little);
    let phnum = h.e_phnum as usize;
    let phentsize = match container {
        Container::Big => goblin::elf64::program_header::SIZEOF_PHDR,
        Container::Little => goblin::elf32::program_header::SIZEOF_PHDR,
    };
    if phnum == 0 {
        return Err(Refusal::Malformed("no program headers".into()));
    }
    if h.e_phentsize as usize != phentsize {
        return Err(Refusal::Malformed(format!("program header size {} (expected {phentsize})", h.e_phentsize)));
    }
    let ph_end = (h.e_phoff as u128) + (phnum as u128) * (phentsize as u128);
    if ph_end > bytes.len() as u128 {
        return Err(Refusal::Malformed(format!(
            "truncated: program headers end at byte {ph_end}, the file has {}",
            bytes.len()
        )));
    }
    let phdrs = ProgramHeader::parse(bytes, h.e_phoff as usize, phnum, ctx)
        .map_err(|e| Refusal::Malformed(format!("program headers: {e}")))?;
    for (i, ph) in phdrs.iter().enumerate() {
        let end = ph.p_offset as u128 + ph.p_filesz as u128;
        if ph.p_type == program_header::PT_LOAD && end > bytes.len() as u128 {
            return Err(Refusal::Malformed(format!(
                "truncated: segment {i} ends at byte {end}, the file has {}",
                bytes.len()
            )));
        }
    }
    if let Some(interp) = phdrs.iter().find(|p| p.p_type == program_header::PT_INTERP) {
        let start = interp.p_offset as usize;
        let end = start.saturating_add(interp.p_filesz as usize);
        let raw = bytes
            .get(start..end)
            .ok_or_else(|| Refusal::Malformed("PT_INTERP outside the file".into()))?;
        let raw = raw.split(|&b| b == 0).next().unwrap_or_default();
        if raw.is_empty() {
            return Err(Refusal::Malformed("an empty PT_INTERP".into()));
        }
        return Ok(Kind::Dynamic { interpreter: String::from_utf8_lossy(raw).into_owned() });
    }
    if !phdrs.iter().any(|p| p.p_type == program_header::PT_LOAD) {
        return Err(Refusal::Malformed("no loadable segment".into()));
    }
    match h.e_type {
        header::ET_EXEC => Ok(kind),
        header::ET_DYN if h.e_entry == 0 => Err(Refusal::WrongType { what: "a shared library".into() }),
        header::ET_DYN if kind == Kind::X86_64 => Ok(Kind::X86_64Pie),
        _ => Ok(kind),
    }
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
        m => {
            let s = header::machine_to_str(m);
            if s == "UNKNOWN_MACHINE" { format!("machine {m}") } else { s.to_string() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid static ELF64 x86_64 executable: header + one PT_LOAD.
    fn tiny_elf64(machine: u16, e_type: u16) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56 + 16];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2; // ELFCLASS64
        b[5] = 1; // little-endian
        b[6] = 1; // EV_CURRENT
        b[16..18].copy_from_slice(&e_type.to_le_bytes());
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b[20..24].copy_from_slice(&1u32.to_le_bytes());
        b[24..32].copy_from_slice(&0x401000u64.to_le_bytes()); // entry
        b[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
        b[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
        b[54..56].copy_from_slice(&56u16.to_le_bytes()); // phentsize
        b[56..58].copy_from_slice(&1u16.to_le_bytes()); // phnum
        let p = 64;
        b[p..p + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        b[p + 4..p + 8].copy_from_slice(&5u32.to_le_bytes());
        b[p + 8..p + 16].copy_from_slice(&0u64.to_le_bytes()); // offset
        b[p + 16..p + 24].copy_from_slice(&0x400000u64.to_le_bytes());
        let len = (b.len() as u64).to_le_bytes();
        b[p + 32..p + 40].copy_from_slice(&len); // filesz
        b[p + 40..p + 48].copy_from_slice(&len); // memsz
        b
    }

    #[test]
    fn accepts_minimal_static() {
        assert_eq!(check_bytes(&tiny_elf64(header::EM_X86_64, header::ET_EXEC)), Ok(Kind::X86_64));
        assert_eq!(check_bytes(&tiny_elf64(header::EM_X86_64, header::ET_DYN)), Ok(Kind::X86_64Pie));
    }

    #[test]
    fn refuses_other_machines_and_types() {
        let e = check_bytes(&tiny_elf64(header::EM_AARCH64, header::ET_EXEC)).unwrap_err();
        assert_eq!(e, Refusal::WrongMachine { machine: "aarch64 (64-bit)".into() });
        assert!(e.to_string().contains("aarch64"), "{e}");
        let e = check_bytes(&tiny_elf64(header::EM_X86_64, header::ET_REL)).unwrap_err();
        assert!(e.to_string().contains("relocatable"), "{e}");
    }

    #[test]
    fn garbage_gets_a_reason_never_a_panic() {
        assert_eq!(check_bytes(b""), Err(Refusal::NotElf));
        assert_eq!(check_bytes(b"echo hi\n"), Err(Refusal::NotElf));
        let good = tiny_elf64(header::EM_X86_64, header::ET_EXEC);
        // Every truncation and a pile of single-byte corruptions.
        for n in 0..good.len() {
            let r = check_bytes(&good[..n]);
            assert!(r.is_err(), "truncated to {n} accepted");
            assert_eq!(r.unwrap_err().exit_status(), 126);
        }
        for i in 0..good.len() {
            for v in [0u8, 0xff, 0x7f, 2] {
                let mut b = good.clone();
                b[i] = v;
                let _ = check_bytes(&b);
            }
        }
    }
}
