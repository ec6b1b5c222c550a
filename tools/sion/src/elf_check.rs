//! Decides, before booting anything, whether SiON can run a program: an
//! ELF64 x86_64 or ELF32 i386 executable (ET_EXEC or ET_DYN, static or
//! dynamically linked: `deps` finds what a dynamic one needs) or a `#!`
//! script. Everything else is refused with a one-line reason. The ELF
//! verdict and its reason are the node's own: the personality's load plan
//! (`sion_linux::elf::plan`), so what is refused here would not load there.
#![forbid(unsafe_code)]

use std::fmt;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sion_linux::layout::Abi;

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
    /// Not a program the node loads: the personality's reason.
    Elf(String),
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
            Refusal::Elf(why) => f.write_str(why),
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
    // goblin is careful, but a panic in a parser must not become a panic of sion.
    let silent = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| sion_linux::elf::plan(bytes));
    std::panic::set_hook(silent);
    let plan = r.unwrap_or_else(|_| Err("malformed ELF: the ELF parser gave up on it".into())).map_err(Refusal::Elf)?;
    Ok(match (plan.interp, plan.abi) {
        (Some(interpreter), _) => Kind::Dynamic { interpreter: String::from_utf8_lossy(&interpreter).into_owned() },
        (None, Abi::X86_64) if plan.pie => Kind::X86_64Pie,
        (None, Abi::X86_64) => Kind::X86_64,
        (None, Abi::I386) => Kind::I386,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use goblin::elf::header;

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
        b[24..32].copy_from_slice(&0x400078u64.to_le_bytes()); // entry: the last 16 bytes
        b[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
        b[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
        b[54..56].copy_from_slice(&56u16.to_le_bytes()); // phentsize
        b[56..58].copy_from_slice(&1u16.to_le_bytes()); // phnum
        let p = 64;
        b[p..p + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        b[p + 4..p + 8].copy_from_slice(&5u32.to_le_bytes()); // R|X
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
        assert_eq!(e.to_string(), "ELF for aarch64 (64-bit); SiON runs x86_64 and i386 programs only");
        assert_eq!(e.exit_status(), 126);
        let e = check_bytes(&tiny_elf64(header::EM_X86_64, header::ET_REL)).unwrap_err();
        assert_eq!(e.to_string(), "a relocatable object file, not a program");
    }

    #[test]
    fn garbage_gets_a_reason_never_a_panic() {
        let not_elf = Err(Refusal::Elf("not an ELF executable or a `#!` script".into()));
        assert_eq!(check_bytes(b""), not_elf);
        assert_eq!(check_bytes(b"echo hi\n"), not_elf);
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
