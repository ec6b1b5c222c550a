//! Building LTP's syscall tests into `target/ltp/`.
//!
//! - `target/ltp/src/`: the source, unpacked once from
//!   `../shared/ltp/ltp-*.tar.xz` (or copied from `LTP_SRC=DIR`); its
//!   `.sion-source` names what it came from, and a different source unpacks
//!   again;
//! - `make autotools && ./configure LDFLAGS=-static` once (`.sion-configured`);
//! - `make -C lib`, then `make -k -C testcases/kernel/syscalls/DIR` for each
//!   directory of `tools/ltp/syscall-dirs.txt`: make's own up-to-date checks
//!   make a second run cheap (well under a second per directory);
//! - `target/ltp/testcases/bin/`: a hard link to every program built in those
//!   directories, LTP's installed layout, so that `LTPROOT=target/ltp` and a
//!   PATH holding that one directory find each test's helper programs and
//!   resource files on the host and on SiON alike;
//! - `target/ltp/logs/`: the output of each step (`DIR.log` per directory).

use crate::util::{self, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where LTP's source comes from.
#[derive(Clone, Debug)]
pub enum Source {
    Archive(PathBuf),
    Checkout(PathBuf),
}

impl Source {
    /// What `.sion-source` records: a different value unpacks again.
    fn identity(&self) -> String {
        match self {
            Source::Archive(p) => {
                let m = std::fs::metadata(p).ok();
                let mtime = m.as_ref().and_then(|m| m.modified().ok()).and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs());
                format!("archive {} {} {mtime}", p.display(), m.map_or(0, |m| m.len()))
            }
            Source::Checkout(p) => {
                // Its own commit only (not that of a repository around it).
                let head = Command::new("git").arg("-C").arg(p).args(["rev-parse", "HEAD"]).stderr(Stdio::null()).output();
                let head = match head {
                    Ok(o) if o.status.success() && p.join(".git").exists() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
                    _ => "no-git".into(),
                };
                format!("checkout {} {head}", p.display())
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Source::Archive(p) => p.display().to_string(),
            Source::Checkout(p) => format!("LTP_SRC={}", p.display()),
        }
    }
}

/// `LTP_SRC` when set, else the one `ltp-*.tar.xz` in `../shared/ltp/`
/// (relative to the repository root). An error says where it looked.
pub fn find_source() -> Result<Source> {
    if let Some(dir) = std::env::var_os("LTP_SRC").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if !dir.join("runtest/syscalls").is_file() || !dir.join("configure.ac").is_file() {
            return Err(format!("LTP_SRC={}: not an LTP source tree (no runtest/syscalls or configure.ac)", dir.display()));
        }
        return Ok(Source::Checkout(dir.canonicalize().unwrap_or(dir)));
    }
    let shared = util::root().join("../shared/ltp");
    let shared = shared.canonicalize().unwrap_or(shared);
    let mut archives: Vec<PathBuf> = std::fs::read_dir(&shared)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("ltp-") && n.ends_with(".tar.xz")))
        .collect();
    archives.sort();
    match archives.len() {
        0 => Err(format!("no LTP source: no {}/ltp-*.tar.xz and LTP_SRC is not set", shared.display())),
        1 => Ok(Source::Archive(archives.remove(0))),
        _ => {
            let last = archives.pop().unwrap();
            tracing::warn!("ltp: several archives in {}; using {}", shared.display(), last.display());
            Ok(Source::Archive(last))
        }
    }
}

/// `target/ltp`.
pub fn ltp_dir() -> PathBuf {
    util::target_dir().join("ltp")
}

/// The unpacked source tree.
pub fn src_dir() -> PathBuf {
    ltp_dir().join("src")
}

/// LTP's installed layout: every built program, hard-linked.
pub fn bin_dir() -> PathBuf {
    ltp_dir().join("testcases/bin")
}

fn logs_dir() -> PathBuf {
    ltp_dir().join("logs")
}

/// The repository's list of `testcases/kernel/syscalls` directories.
pub fn dirs_file() -> PathBuf {
    util::root().join("tools/ltp/syscall-dirs.txt")
}

pub fn read_dirs() -> Result<Vec<String>> {
    let path = dirs_file();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let dirs: Vec<String> = text.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty()).map(str::to_string).collect();
    for d in &dirs {
        if d.contains('/') || d.starts_with('.') {
            return Err(format!("{}: {d:?} is not a directory name of testcases/kernel/syscalls", path.display()));
        }
    }
    Ok(dirs)
}

/// The programs LTP needs to build its tests.
const TOOLS: &[(&str, &str)] = &[
    ("make", "make"),
    ("gcc", "gcc"),
    ("autoconf", "autoconf"),
    ("automake", "automake"),
    ("m4", "m4"),
    ("pkg-config", "pkg-config"),
    ("tar", "tar"),
    ("xz", "xz-utils"),
];

fn check_tools() -> Result<()> {
    let missing: Vec<String> = TOOLS
        .iter()
        .filter(|(tool, _)| !std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|d| d.join(tool).is_file()))
        .map(|(tool, pkg)| format!("{tool} (Debian package {pkg})"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("building LTP needs {}: run `cargo xtask setup`", missing.join(", ")))
    }
}

/// Run a step with its output in `logs/NAME.log`; an error names the log.
fn logged(cmd: &mut Command, name: &str) -> Result<bool> {
    let log = logs_dir().join(format!("{name}.log"));
    let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null()).stdout(file).stderr(err);
    tracing::debug!("$ {} > {}", util::show(cmd), log.display());
    let status = cmd.status().map_err(|e| format!("cannot run {}: {e}", util::show(cmd)))?;
    Ok(status.success())
}

fn logged_ok(cmd: &mut Command, name: &str) -> Result<()> {
    if logged(cmd, name)? {
        Ok(())
    } else {
        let log = logs_dir().join(format!("{name}.log"));
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        Err(format!("{} failed (log: {}):\n{}", util::show(cmd), log.display(), tail.into_iter().rev().collect::<Vec<_>>().join("\n")))
    }
}

/// Unpack (or copy) the source into `target/ltp/src` unless it is already there.
fn unpack(source: &Source) -> Result<()> {
    let src = src_dir();
    let stamp = src.join(".sion-source");
    let identity = source.identity();
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == identity) {
        return Ok(());
    }
    if src.exists() {
        tracing::info!("ltp: the source changed; unpacking again into {}", src.display());
        std::fs::remove_dir_all(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    }
    std::fs::create_dir_all(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    let start = Instant::now();
    match source {
        Source::Archive(a) => {
            tracing::info!("ltp: unpacking {}", a.display());
            let mut tar = Command::new("tar");
            tar.arg("-xJf").arg(a).arg("-C").arg(&src).arg("--strip-components=1");
            logged_ok(&mut tar, "unpack")?;
        }
        Source::Checkout(dir) => {
            tracing::info!("ltp: copying {}", dir.display());
            let mut reader = Command::new("tar");
            reader.arg("-C").arg(dir).args(["--exclude=.git", "-cf", "-", "."]).stdout(Stdio::piped());
            let mut r = reader.spawn().map_err(|e| format!("cannot run tar: {e}"))?;
            let mut writer = Command::new("tar");
            writer.arg("-C").arg(&src).args(["-xf", "-"]).stdin(r.stdout.take().unwrap());
            let ok = writer.status().map_err(|e| format!("cannot run tar: {e}"))?.success();
            let ok = r.wait().map_err(|e| e.to_string())?.success() && ok;
            if !ok {
                return Err(format!("copying {} into {} failed", dir.display(), src.display()));
            }
        }
    }
    if !src.join("runtest/syscalls").is_file() {
        return Err(format!("{}: no runtest/syscalls after unpacking {}", src.display(), source.describe()));
    }
    std::fs::write(&stamp, format!("{identity}\n")).map_err(|e| format!("{}: {e}", stamp.display()))?;
    tracing::info!("ltp: source ready in {:.0}s", start.elapsed().as_secs_f64());
    Ok(())
}

fn make_jobs() -> String {
    format!("-j{}", std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// What the build made: the programs of each listed directory.
pub struct Built {
    /// Directory -> the programs built there (file names).
    pub programs: BTreeMap<String, Vec<String>>,
    /// Directories whose make reported errors (some programs may be missing).
    pub failed_dirs: Vec<String>,
}

impl Built {
    pub fn count(&self) -> usize {
        self.programs.values().map(Vec::len).sum()
    }
}

/// An executable ELF file.
fn is_program(p: &Path) -> bool {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let Ok(m) = std::fs::metadata(p) else { return false };
    if !m.is_file() || m.permissions().mode() & 0o111 == 0 {
        return false;
    }
    let mut magic = [0u8; 4];
    std::fs::File::open(p).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && &magic == b"\x7fELF"
}

/// The programs of one test directory, sorted.
fn programs_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).filter(|e| is_program(&e.path())).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Link `from` at `to` (replacing what is there unless it is already the same file).
fn link(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(a), Ok(b)) = (std::fs::metadata(from), std::fs::metadata(to)) {
        if a.ino() == b.ino() && a.dev() == b.dev() {
            return Ok(());
        }
    }
    let _ = std::fs::remove_file(to);
    std::fs::hard_link(from, to).or_else(|_| std::fs::copy(from, to).map(|_| ())).map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))
}

/// Unpack, configure, build the library and each listed directory, link the
/// programs into `target/ltp/testcases/bin`. Prints a line per directory.
pub fn build(source: &Source) -> Result<Built> {
    check_tools()?;
    let start = Instant::now();
    std::fs::create_dir_all(logs_dir()).map_err(|e| format!("{}: {e}", logs_dir().display()))?;
    unpack(source)?;
    let src = src_dir();
    let configured = src.join(".sion-configured");
    if !configured.is_file() {
        tracing::info!("ltp: make autotools (log: {})", logs_dir().join("autotools.log").display());
        logged_ok(Command::new("make").arg("autotools").current_dir(&src), "autotools")?;
        tracing::info!("ltp: ./configure LDFLAGS=-static (log: {})", logs_dir().join("configure.log").display());
        logged_ok(Command::new("./configure").arg("LDFLAGS=-static").current_dir(&src), "configure")?;
        std::fs::write(&configured, "").map_err(|e| format!("{}: {e}", configured.display()))?;
    }
    tracing::info!("ltp: make -C lib (log: {})", logs_dir().join("lib.log").display());
    logged_ok(Command::new("make").arg(make_jobs()).args(["-C", "lib"]).current_dir(&src), "lib")?;

    let dirs = read_dirs()?;
    let width = dirs.len().to_string().len();
    let name_width = dirs.iter().map(String::len).max().unwrap_or(0);
    let mut built = Built { programs: BTreeMap::new(), failed_dirs: Vec::new() };
    let mut up_to_date = true;
    std::fs::create_dir_all(bin_dir()).map_err(|e| format!("{}: {e}", bin_dir().display()))?;
    for (i, d) in dirs.iter().enumerate() {
        let dir = src.join("testcases/kernel/syscalls").join(d);
        if !dir.is_dir() {
            return Err(format!("{}: no directory {d} in {} (listed in {})", dir.display(), source.describe(), dirs_file().display()));
        }
        let t = Instant::now();
        let ok = logged(Command::new("make").arg(make_jobs()).arg("-k").arg("-C").arg(&dir).current_dir(&src), d)?;
        let programs = programs_in(&dir);
        for p in &programs {
            link(&dir.join(p), &bin_dir().join(p))?;
        }
        // A directory make had nothing to do in says nothing.
        let quiet = ok && t.elapsed() < Duration::from_millis(300);
        if !quiet {
            up_to_date = false;
            eprintln!(
                "[{:>width$}/{}] {d:<name_width$}  {:>3} programs  {}{:>5.1}s",
                i + 1,
                dirs.len(),
                programs.len(),
                if ok { "" } else { "make errors (see target/ltp/logs), " },
                t.elapsed().as_secs_f64()
            );
        }
        if !ok {
            built.failed_dirs.push(d.clone());
        }
        built.programs.insert(d.clone(), programs);
    }
    tracing::info!(
        "ltp: {} programs from {} directories{} in {:.0}s{}",
        built.count(),
        dirs.len(),
        if up_to_date { ", all up to date," } else { "" },
        start.elapsed().as_secs_f64(),
        if built.failed_dirs.is_empty() { String::new() } else { format!("; make reported errors in {}", built.failed_dirs.join(", ")) }
    );
    Ok(built)
}
