//! The value types of `sion`'s options that more than one command takes
//! (`--file`, `--out`, `--mem`, `--accel`) and their parsers. A leaf: it
//! uses nothing else of this crate, so `cli.rs`, `group/cli.rs` and `up.rs`
//! all take their option types from here and not from each other.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Accel {
    Tcg,
    Kvm,
}

impl Accel {
    pub fn qemu_name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

/// `--file HOST[:GUEST]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    pub host: PathBuf,
    /// An absolute guest path, if given.
    pub guest: Option<PathBuf>,
}

/// Splits `HOST[:GUEST]`. A host path that itself contains `:` is taken whole
/// when it exists; otherwise the text after the last `:` is the guest path,
/// which must be absolute.
pub fn parse_file_spec(s: &str) -> Result<FileSpec, String> {
    if s.is_empty() {
        return Err("empty file spec".into());
    }
    if std::path::Path::new(s).exists() {
        return Ok(FileSpec { host: s.into(), guest: None });
    }
    match s.rsplit_once(':') {
        None => Ok(FileSpec { host: s.into(), guest: None }),
        Some((host, guest)) => {
            if host.is_empty() {
                return Err(format!("no host path in {s:?}"));
            }
            if !guest.starts_with('/') {
                return Err(format!("guest path {guest:?} must be absolute (HOST:/GUEST)"));
            }
            Ok(FileSpec { host: host.into(), guest: Some(guest.into()) })
        }
    }
}

/// `--out GUEST[:HOST]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutSpec {
    pub guest: PathBuf,
    pub host: Option<PathBuf>,
}

/// Splits `GUEST[:HOST]` at the first `:`.
pub fn parse_out_spec(s: &str) -> Result<OutSpec, String> {
    match s.split_once(':') {
        _ if s.is_empty() => Err("empty --out spec".into()),
        None => Ok(OutSpec { guest: s.into(), host: None }),
        Some((g, _)) if g.is_empty() => Err(format!("no guest path in {s:?}")),
        Some((_, h)) if h.is_empty() => Err(format!("no host path in {s:?}")),
        Some((g, h)) => Ok(OutSpec { guest: g.into(), host: Some(h.into()) }),
    }
}

/// A memory size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemSize(pub u64);

const MIB: u64 = 1 << 20;
/// Below this the node cannot hold kernel, servers and a program.
pub const MIN_MEM: u64 = 32 * MIB;
/// microvm has no high-memory hole handling past this in practice; keep it sane.
pub const MAX_MEM: u64 = 1 << 40;

impl MemSize {
    /// The value for QEMU's `-m`.
    pub fn qemu_arg(self) -> String {
        if self.0.is_multiple_of(MIB) {
            format!("{}M", self.0 / MIB)
        } else {
            format!("{}K", self.0.div_ceil(1024))
        }
    }
}

/// The default node memory: a quarter of what the host has available, at
/// least 256 MiB, at most 4 GiB, in whole MiB (QEMU only touches the pages
/// the node uses).
pub fn default_mem_for(available: u64) -> MemSize {
    MemSize((available / 4).clamp(DEFAULT_MEM_MIN, DEFAULT_MEM_MAX) / MIB * MIB)
}

pub const DEFAULT_MEM_MIN: u64 = 256 * MIB;
pub const DEFAULT_MEM_MAX: u64 = 4 << 30;

/// [`default_mem_for`] this host's `MemAvailable` (256 MiB if unknown).
pub fn default_mem() -> MemSize {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = text
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    default_mem_for(kib * 1024)
}

/// QEMU-style size: a number with an optional suffix K, M, G or T (any case,
/// optionally followed by `B` or `iB`); no suffix means MiB, as for `-m`.
pub fn parse_mem(s: &str) -> Result<MemSize, String> {
    let bad = || format!("invalid memory size {s:?} (expected e.g. 256M or 1G)");
    let t = s.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if digits_end == 0 {
        return Err(bad());
    }
    let n: u64 = t[..digits_end].parse().map_err(|_| bad())?;
    let suffix = t[digits_end..].to_ascii_lowercase();
    let unit: u64 = match suffix.trim_end_matches("ib").trim_end_matches('b') {
        "" if suffix.is_empty() => MIB,
        "" if suffix == "b" => 1,
        "k" => 1 << 10,
        "m" => MIB,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err(bad()),
    };
    let bytes = n.checked_mul(unit).ok_or_else(bad)?;
    if bytes < MIN_MEM {
        return Err(format!("memory size {s:?} is too small (at least 32M)"));
    }
    if bytes > MAX_MEM {
        return Err(format!("memory size {s:?} is too large (at most 1T)"));
    }
    Ok(MemSize(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_memory_is_a_quarter_of_what_is_available() {
        assert_eq!(default_mem_for(0), MemSize(256 * MIB));
        assert_eq!(default_mem_for(900 * MIB), MemSize(256 * MIB));
        assert_eq!(default_mem_for(4 << 30), MemSize(1 << 30));
        assert_eq!(default_mem_for((6 << 30) + 12345), MemSize(1536 * MIB));
        assert_eq!(default_mem_for(64 << 30), MemSize(4 << 30));
        let here = default_mem();
        assert!((256 * MIB..=4 << 30).contains(&here.0) && here.0 % MIB == 0, "{here:?}");
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_mem("256M"), Ok(MemSize(256 * MIB)));
        assert_eq!(parse_mem("256"), Ok(MemSize(256 * MIB)));
        assert_eq!(parse_mem("2g"), Ok(MemSize(2 << 30)));
        assert_eq!(parse_mem("1GiB"), Ok(MemSize(1 << 30)));
        assert_eq!(parse_mem("65536K"), Ok(MemSize(64 * MIB)));
        assert!(parse_mem("").is_err());
        assert!(parse_mem("M").is_err());
        assert!(parse_mem("1.5G").is_err());
        assert!(parse_mem("-1G").is_err());
        assert!(parse_mem("99999999999999999999G").is_err());
        assert!(parse_mem("2T").is_err());
        assert_eq!(MemSize(256 * MIB).qemu_arg(), "256M");
        assert_eq!(MemSize(256 * MIB + 4096).qemu_arg(), "262148K");
    }
}

/// What a job sees of this machine, on demand, and whether what it makes in
/// the working directory comes back (`sion exec` and `sion run` alike).
#[derive(Args, Debug, Clone, Default)]
pub struct ShareArgs {
    /// Let the job see this path of this machine too, read on demand
    /// (besides the system's tree, the working directory and the paths the
    /// arguments name). Repeatable; `--share /` shares everything.
    #[arg(long = "share", value_name = "PATH")]
    pub shares: Vec<PathBuf>,

    /// Share nothing of this machine: the job sees only its staged files.
    #[arg(long, conflicts_with = "shares")]
    pub no_share: bool,

    /// Leave the working directory alone: what the job makes or changes
    /// there stays on the node (by default it is written back when the job
    /// ends).
    #[arg(long)]
    pub no_write_back: bool,
}

