//! What `execve` runs for a file, as Linux's binfmt handlers decide it: a
//! `#!` script runs its interpreter (the interpreter's path, its one optional
//! argument, the script's path, then the original arguments after argv[0];
//! scripts may name scripts, five levels deep), an ELF program runs
//! as itself and, when it is dynamically linked, with the interpreter its
//! `PT_INTERP` names. Pure: the caller reads files (`read`: the bytes and the
//! absolute path of an executable file, with execve's checks and errnos).

use crate::elf::{self, LoadPlan};
use crate::errno::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// Nested `#!` scripts followed at most (Linux runs five, the sixth is ELOOP).
pub const MAX_INTERP_DEPTH: usize = 5;

/// The program to load.
#[derive(Debug)]
pub struct Program {
    pub bytes: Vec<u8>,
    /// Its absolute path (`/proc/<pid>/exe`): the ELF file, a script's interpreter.
    pub exe: String,
    pub plan: LoadPlan,
    /// The bytes of its ELF interpreter (dynamic programs).
    pub interp: Option<Vec<u8>>,
    pub argv: Vec<Vec<u8>>,
}

/// Resolve `file` (the bytes and absolute path of the file execve was given)
/// with `argv` into the program to load.
pub fn resolve(file: (Vec<u8>, String), mut argv: Vec<Vec<u8>>, mut read: impl FnMut(&[u8]) -> Result<(Vec<u8>, String), Errno>) -> Result<Program, Errno> {
    let (mut bytes, mut exe) = file;
    let mut depth = 0;
    while let Some((interp, arg)) = shebang(&bytes) {
        depth += 1;
        if depth > MAX_INTERP_DEPTH {
            return Err(Errno::ELOOP);
        }
        // argv becomes: interpreter [arg] script original-argv[1..].
        let mut new = alloc::vec![interp.clone()];
        new.extend(arg);
        new.push(exe.clone().into_bytes());
        new.extend(argv.iter().skip(1).cloned());
        argv = new;
        (bytes, exe) = read(&interp)?;
    }
    if bytes.starts_with(b"#!") {
        return Err(Errno::ENOEXEC); // `#!` with no interpreter named
    }
    let plan = elf::plan(&bytes).map_err(|_| Errno::ENOEXEC)?;
    let interp = match &plan.interp {
        None => None,
        Some(name) => {
            let (ib, _) = read(name)?;
            // Linux refuses an interpreter that is not a loadable ELF of the same kind.
            elf::plan_interp(&ib, plan.abi, 0x1000_0000).map_err(|_| Errno::ELIBBAD)?;
            Some(ib)
        }
    };
    Ok(Program { bytes, exe, plan, interp, argv })
}

/// The interpreter and optional argument of a `#!` line.
pub fn shebang(bytes: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let rest = bytes.strip_prefix(b"#!")?;
    let line = &rest[..rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len()).min(255)];
    let line: &[u8] = trim(line);
    if line.is_empty() {
        return None;
    }
    let split = line.iter().position(|&c| c == b' ' || c == b'\t');
    Some(match split {
        None => (line.to_vec(), None),
        Some(i) => {
            let arg = trim(&line[i..]);
            (line[..i].to_vec(), (!arg.is_empty()).then(|| arg.to_vec()))
        }
    })
}

fn trim(b: &[u8]) -> &[u8] {
    let ws = |c: &u8| *c == b' ' || *c == b'\t' || *c == b'\r';
    let start = b.iter().position(|c| !ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !ws(c)).map_or(start, |e| e + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::tests::tiny_elf64;
    use alloc::collections::BTreeMap;
    use alloc::string::ToString;
    use goblin::elf::header::{EM_X86_64, ET_DYN, ET_EXEC};

    #[test]
    fn shebang_lines() {
        assert_eq!(shebang(b"#!/bin/sh\necho"), Some((b"/bin/sh".to_vec(), None)));
        assert_eq!(shebang(b"#! /bin/busybox  sh -x \n"), Some((b"/bin/busybox".to_vec(), Some(b"sh -x".to_vec()))));
        assert_eq!(shebang(b"#!\n"), None);
        assert_eq!(shebang(b"\x7fELF"), None);
    }

    fn reader<'a>(files: &'a BTreeMap<&'static str, Vec<u8>>) -> impl FnMut(&[u8]) -> Result<(Vec<u8>, String), Errno> + 'a {
        move |p| {
            let p = core::str::from_utf8(p).unwrap();
            files.get(p).map(|b| (b.clone(), p.to_string())).ok_or(Errno::ENOENT)
        }
    }

    fn ld() -> Vec<u8> {
        let mut i = tiny_elf64(ET_DYN, EM_X86_64, false);
        i[24..32].copy_from_slice(&0x1000u64.to_le_bytes());
        i[64 + 16..64 + 24].copy_from_slice(&0u64.to_le_bytes());
        i
    }

    #[test]
    fn scripts_dynamic_programs_and_their_errors() {
        let mut dynamic = tiny_elf64(ET_EXEC, EM_X86_64, true);
        dynamic[0x1000..0x1008].copy_from_slice(b"/lib/ld\0");
        let mut files = BTreeMap::new();
        files.insert("/bin/sh", dynamic.clone());
        files.insert("/lib/ld", ld());
        files.insert("/s2", b"#!/s1 -e\n".to_vec());
        files.insert("/s1", b"#!/bin/sh\n".to_vec());
        let args = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        // A script naming a script naming a dynamic shell.
        let p = resolve((files["/s2"].clone(), "/s2".into()), args(&["s2", "a"]), reader(&files)).unwrap();
        assert_eq!(p.exe, "/bin/sh");
        assert_eq!(p.argv, args(&["/bin/sh", "/s1", "-e", "/s2", "a"]));
        assert_eq!(p.interp.as_deref(), Some(&ld()[..]));
        // Its interpreter missing: ENOENT, as Linux.
        let mut no_ld = files.clone();
        no_ld.remove("/lib/ld");
        assert_eq!(resolve((dynamic.clone(), "/bin/sh".into()), args(&["sh"]), reader(&no_ld)).unwrap_err(), Errno::ENOENT);
        // An interpreter that is no ELF: ELIBBAD.
        no_ld.insert("/lib/ld", b"garbage".to_vec());
        assert_eq!(resolve((dynamic, "/bin/sh".into()), args(&["sh"]), reader(&no_ld)).unwrap_err(), Errno::ELIBBAD);
        // Six levels of scripts: ELOOP; a missing script interpreter: ENOENT.
        let mut deep = BTreeMap::new();
        for i in 0..6 {
            deep.insert(["/0", "/1", "/2", "/3", "/4", "/5"][i], alloc::format!("#!/{}\n", i + 1).into_bytes());
        }
        assert_eq!(resolve((deep["/0"].clone(), "/0".into()), args(&["x"]), reader(&deep)).unwrap_err(), Errno::ELOOP);
        assert_eq!(resolve((b"#!/nowhere\n".to_vec(), "/s".into()), args(&["s"]), reader(&files)).unwrap_err(), Errno::ENOENT);
        assert_eq!(resolve((b"#!\n".to_vec(), "/s".into()), args(&["s"]), reader(&files)).unwrap_err(), Errno::ENOEXEC);
        assert_eq!(resolve((b"plain text".to_vec(), "/s".into()), args(&["s"]), reader(&files)).unwrap_err(), Errno::ENOEXEC);
    }
}
