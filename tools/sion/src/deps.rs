//! What a program needs beside itself to start on a node: a `#!` script's
//! interpreter (scripts may name scripts), a dynamically linked program's
//! loader (`PT_INTERP`) and the shared libraries of its `DT_NEEDED`
//! closure, each found where this machine's dynamic loader would find it:
//! `DT_RPATH` (when there is no `DT_RUNPATH`), `DT_RUNPATH` (with `$ORIGIN`),
//! `/etc/ld.so.cache`, then the loader's default directories; musl's loader
//! reads `/etc/ld-musl-ARCH.path` or its defaults instead. Besides `DT_NEEDED`,
//! a glibc program gets `libgcc_s.so.1`, which glibc opens with `dlopen` to
//! unwind a thread's stack (`pthread_exit`, `pthread_cancel`). `sion exec` stages
//! these files (and the cache, so the node's loader agrees) at the paths they
//! were found at, until the workstation's files are served on demand.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use goblin::elf::Elf;
use sion_linux::elf::abi_of;
/// The two kinds of program a node runs.
pub use sion_linux::layout::Abi as Arch;

/// `#!` scripts followed at most (Linux runs five levels).
const MAX_SCRIPTS: usize = 5;
/// Libraries followed at most (a loop or a huge closure stops here).
const MAX_FILES: usize = 512;

/// What a program needs: files to stage (the path the loader will look up,
/// which is also where they are on this machine) and names not found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub files: Vec<PathBuf>,
    /// Libraries no directory holds (`libfoo.so.1 (needed by /usr/bin/x)`):
    /// the program will fail to start on the node as it would here.
    pub missing: Vec<String>,
}

/// Why the closure could not be made.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// A `#!` interpreter or `PT_INTERP` loader that does not exist.
    NoInterpreter { interpreter: String, of: PathBuf, script: bool },
    TooDeep(PathBuf),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoInterpreter { interpreter, of, script: true } => write!(f, "{}: bad interpreter {interpreter}: No such file or directory", of.display()),
            Error::NoInterpreter { interpreter, of, script: false } => write!(f, "{}: its loader {interpreter}: No such file or directory", of.display()),
            Error::TooDeep(p) => write!(f, "{}: `#!` scripts nested deeper than {MAX_SCRIPTS}", p.display()),
        }
    }
}

/// The files `program` (a path on this machine) needs, besides itself.
pub fn needs(program: &Path) -> Result<Needs, Error> {
    needs_with(program, &System::here())
}

/// Add what `program` needs to the job's files (a `--file` at the same path
/// wins); returns a warning line per library not found here. Staged at the
/// path it was found at, with the content of the file it names.
pub fn stage(program: &Path, files: &mut Vec<crate::image::GuestFile>) -> Result<Vec<String>, Error> {
    let n = needs(program)?;
    for p in &n.files {
        let guest = p.to_string_lossy().into_owned();
        if files.iter().any(|f| f.path == guest) {
            continue;
        }
        let Ok(data) = std::fs::read(p) else { continue };
        let perm = std::fs::metadata(p).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777).unwrap_or(0o755);
        files.push(crate::image::GuestFile::file(guest, perm, data));
    }
    Ok(n.missing.iter().map(|m| format!("{m}: not found here")).collect())
}

impl Error {
    /// The status a shell gives: 126 for a script's bad interpreter, 127 for a
    /// program whose loader is missing.
    pub fn exit_status(&self) -> i32 {
        match self {
            Error::NoInterpreter { script: false, .. } => 127,
            _ => 126,
        }
    }
}

/// Where this machine keeps libraries.
pub struct System {
    /// `/etc/ld.so.cache`: (name, arch) -> path.
    pub cache: BTreeMap<(String, Arch), PathBuf>,
    pub cache_file: Option<PathBuf>,
}

impl System {
    pub fn here() -> System {
        let path = PathBuf::from("/etc/ld.so.cache");
        match std::fs::read(&path) {
            Ok(b) => System { cache: parse_cache(&b), cache_file: Some(path) },
            Err(_) => System { cache: BTreeMap::new(), cache_file: None },
        }
    }
}

/// The loader's own directories, after the cache.
fn default_dirs(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::X86_64 => &["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"],
        Arch::I386 => &["/lib/i386-linux-gnu", "/usr/lib/i386-linux-gnu", "/lib32", "/usr/lib32", "/lib", "/usr/lib"],
    }
}

/// What an ELF file says about loading it.
struct ElfInfo {
    arch: Arch,
    interp: Option<String>,
    needed: Vec<String>,
    rpath: Vec<String>,
    runpath: Vec<String>,
}

fn elf_info(bytes: &[u8]) -> Option<ElfInfo> {
    let elf = Elf::parse(bytes).ok()?;
    let arch = abi_of(elf.header.e_ident[goblin::elf::header::EI_CLASS], elf.header.e_machine)?;
    let split = |v: &[&str]| v.iter().flat_map(|s| s.split(':')).filter(|s| !s.is_empty()).map(String::from).collect::<Vec<_>>();
    Some(ElfInfo {
        arch,
        interp: elf.interpreter.map(String::from),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        rpath: split(&elf.rpaths),
        runpath: split(&elf.runpaths),
    })
}

fn is_lib_of(path: &Path, arch: Arch) -> bool {
    std::fs::read(path).ok().and_then(|b| elf_info(&b)).is_some_and(|i| i.arch == arch)
}

pub fn needs_with(program: &Path, sys: &System) -> Result<Needs, Error> {
    let mut out = Needs::default();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    // Scripts first: each names the next file to run.
    let mut file = program.to_path_buf();
    let mut scripts = 0;
    let bytes = loop {
        let Ok(bytes) = std::fs::read(&file) else { return Ok(out) };
        let Some(rest) = bytes.strip_prefix(b"#!") else { break bytes };
        let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(&line[..line.len().min(255)]).into_owned();
        let Some(interp) = line.split_whitespace().next() else { return Ok(out) };
        scripts += 1;
        if scripts > MAX_SCRIPTS {
            return Err(Error::TooDeep(program.to_path_buf()));
        }
        let ip = PathBuf::from(interp);
        if !ip.is_file() {
            return Err(Error::NoInterpreter { interpreter: interp.to_string(), of: file, script: true });
        }
        if seen.insert(ip.clone()) {
            out.files.push(ip.clone());
        }
        file = ip;
    };
    let Some(info) = elf_info(&bytes) else { return Ok(out) };
    let arch = info.arch;
    let musl = info.interp.as_deref().is_some_and(|i| i.contains("ld-musl"));
    if let Some(interp) = &info.interp {
        let ip = PathBuf::from(interp);
        if !ip.is_file() {
            return Err(Error::NoInterpreter { interpreter: interp.clone(), of: file, script: false });
        }
        if seen.insert(ip.clone()) {
            out.files.push(ip);
        }
    }
    if info.interp.is_none() {
        return Ok(out);
    }
    let musl_dirs: Vec<String> = if musl { musl_path(arch) } else { Vec::new() };
    let mut info = info;
    if !musl {
        // glibc opens libgcc_s with dlopen to unwind (pthread_exit,
        // pthread_cancel): no DT_NEEDED names it, yet threads need it.
        info.needed.push(String::from("libgcc_s.so.1"));
    }
    let mut queue = vec![(file.clone(), info)];
    let mut resolved: BTreeSet<(String, Arch)> = BTreeSet::new();
    while let Some((from, info)) = queue.pop() {
        let origin = from.parent().map(Path::to_path_buf).unwrap_or_default();
        let expand = |d: &str| PathBuf::from(d.replace("$ORIGIN", &origin.to_string_lossy()).replace("${ORIGIN}", &origin.to_string_lossy()));
        for name in &info.needed {
            // musl's loader is its libc.
            if musl && name.starts_with("libc.so") {
                continue;
            }
            if !resolved.insert((name.clone(), arch)) {
                continue;
            }
            let found = if name.contains('/') {
                Some(PathBuf::from(name)).filter(|p| p.is_file())
            } else {
                let mut dirs: Vec<PathBuf> = Vec::new();
                if info.runpath.is_empty() {
                    dirs.extend(info.rpath.iter().map(|d| expand(d)));
                }
                dirs.extend(info.runpath.iter().map(|d| expand(d)));
                let from_dirs = |dirs: &[PathBuf]| dirs.iter().map(|d| d.join(name)).find(|p| is_lib_of(p, arch));
                if musl {
                    dirs.extend(musl_dirs.iter().map(PathBuf::from));
                    from_dirs(&dirs)
                } else {
                    from_dirs(&dirs).or_else(|| sys.cache.get(&(name.clone(), arch)).cloned().filter(|p| p.is_file())).or_else(|| {
                        let defaults: Vec<PathBuf> = default_dirs(arch).iter().map(PathBuf::from).collect();
                        from_dirs(&defaults)
                    })
                }
            };
            match found {
                Some(p) => {
                    if seen.insert(p.clone()) && seen.len() <= MAX_FILES {
                        out.files.push(p.clone());
                        if let Some(i) = std::fs::read(&p).ok().and_then(|b| elf_info(&b)) {
                            queue.push((p, i));
                        }
                    }
                }
                None if name == "libgcc_s.so.1" && from == file => {} // optional
                None => out.missing.push(format!("{name} (needed by {})", from.display())),
            }
        }
    }
    if !musl {
        if let Some(c) = &sys.cache_file {
            out.files.push(c.clone());
        }
    }
    Ok(out)
}

/// musl's search path: `/etc/ld-musl-ARCH.path` (lines or colons), else its defaults.
fn musl_path(arch: Arch) -> Vec<String> {
    let name = match arch {
        Arch::X86_64 => "/etc/ld-musl-x86_64.path",
        Arch::I386 => "/etc/ld-musl-i386.path",
    };
    match std::fs::read_to_string(name) {
        Ok(t) => t.split(|c| c == '\n' || c == ':').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(),
        Err(_) => vec!["/lib".into(), "/usr/local/lib".into(), "/usr/lib".into()],
    }
}

/// Entries of glibc's `ld.so.cache` (the "glibc-ld.so.cache1.1" format glibc
/// has written alone since 2.32): library name and kind to path. Entries of
/// other kinds (x32, other machines) and anything malformed are skipped.
pub fn parse_cache(b: &[u8]) -> BTreeMap<(String, Arch), PathBuf> {
    const MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
    const HEADER: usize = 48;
    const ENTRY: usize = 24;
    let mut out = BTreeMap::new();
    if !b.starts_with(MAGIC) || b.len() < HEADER {
        return out;
    }
    let u32_at = |at: usize| b.get(at..at + 4).map(|s| u32::from_le_bytes(s.try_into().unwrap()));
    let Some(n) = u32_at(20) else { return out };
    let cstr = |at: u32| -> Option<String> {
        let s = b.get(at as usize..)?;
        let end = s.iter().position(|&c| c == 0)?;
        Some(String::from_utf8_lossy(&s[..end]).into_owned())
    };
    for i in 0..n as usize {
        let at = HEADER + i * ENTRY;
        let (Some(flags), Some(key), Some(value)) = (u32_at(at), u32_at(at + 4), u32_at(at + 8)) else { break };
        let arch = match flags {
            0x0303 => Arch::X86_64,
            0x0003 => Arch::I386,
            _ => continue,
        };
        if let (Some(k), Some(v)) = (cstr(key), cstr(value)) {
            // The first entry of a name wins, as in the loader's search.
            out.entry((k, arch)).or_insert_with(|| PathBuf::from(v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_cache_of_this_machine_parses() {
        let Ok(b) = std::fs::read("/etc/ld.so.cache") else { return };
        let c = parse_cache(&b);
        let libc = c.get(&("libc.so.6".to_string(), Arch::X86_64)).expect("libc.so.6 in the cache");
        assert!(libc.to_string_lossy().contains("x86_64-linux-gnu"), "{}", libc.display());
        assert!(parse_cache(b"garbage").is_empty());
        assert!(parse_cache(&b[..60]).is_empty() || parse_cache(&b[..60]).len() <= 1, "a truncated cache gives what it holds");
    }

    #[test]
    fn a_dynamic_program_needs_its_loader_and_libc() {
        let ls = Path::new("/bin/ls");
        if !ls.is_file() {
            return;
        }
        let n = needs(ls).unwrap();
        let names: Vec<String> = n.files.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        assert!(names.iter().any(|p| p.ends_with("ld-linux-x86-64.so.2")), "{names:?}");
        assert!(names.iter().any(|p| p.ends_with("/libc.so.6")), "{names:?}");
        assert!(names.iter().any(|p| p == "/etc/ld.so.cache"), "{names:?}");
        assert!(n.missing.is_empty(), "{:?}", n.missing);
        // A static program needs nothing.
        if Path::new("/bin/busybox").is_file() {
            assert_eq!(needs(Path::new("/bin/busybox")).unwrap(), Needs::default());
        }
    }

    #[test]
    fn scripts_name_their_interpreters() {
        let d = tempfile::tempdir().unwrap();
        let s1 = d.path().join("s1");
        let s2 = d.path().join("s2");
        std::fs::write(&s1, "#!/bin/sh -e\necho\n").unwrap();
        std::fs::write(&s2, format!("#! {} arg\n", s1.display())).unwrap();
        for s in [&s1, &s2] {
            std::fs::set_permissions(s, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let n = needs(&s2).unwrap();
        assert_eq!(n.files[..2], [s1.clone(), PathBuf::from("/bin/sh")]);
        let bad = d.path().join("bad");
        std::fs::write(&bad, "#!/no/such/shell\n").unwrap();
        let e = needs(&bad).unwrap_err();
        assert!(e.to_string().contains("bad interpreter /no/such/shell"), "{e}");
        // A loop of scripts stops.
        let a = d.path().join("a");
        std::fs::write(&a, format!("#!{}\n", a.display())).unwrap();
        assert_eq!(needs(&a).unwrap_err(), Error::TooDeep(a.clone()));
    }
}
