//! The command line of `sion`.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The SiON workstation command.
#[derive(Parser, Debug)]
#[command(name = "sion", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a static Linux program on a fresh throwaway SiON node in QEMU, as if
    /// it ran here: its stdout, stderr, stdin and exit status are sion's.
    ///
    /// Exit status: the program's, 128+N if signal N killed it, 125 if the
    /// node failed (QEMU missing, boot failure, panic, timeout), 126 if the
    /// program cannot run on SiON, 127 if it does not exist.
    Exec(ExecArgs),
    /// Run the group manager: this workstation joins the group on the LAN
    /// (found by broadcast) and runs jobs placed on it as local processes.
    Daemon(crate::group::cli::DaemonArgs),
    /// Show the group as the local daemon sees it.
    Nodes(crate::group::cli::NodesArgs),
    /// Run a static Linux program on the best node of the group, as if it ran
    /// here (same stdout, stderr, stdin and exit status contract as `exec`).
    Run(crate::group::cli::RunArgs),
    /// Start N SiON nodes in QEMU on a private test LAN (a bridge in a network
    /// namespace; needs root) with a daemon for this workstation.
    Up(crate::up::UpArgs),
    /// Stop what `sion up` started and remove its test LAN.
    Down(crate::up::DownArgs),
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Make the program's TCP port GUESTPORT reachable at 127.0.0.1:HOSTPORT
    /// on the host, like `docker run -p`. Repeatable.
    #[arg(long = "publish", value_name = "HOSTPORT:GUESTPORT", value_parser = parse_publish)]
    pub publish: Vec<(u16, u16)>,
    /// Copy a host file or directory (recursively) into the node at GUEST
    /// (default: the host path made absolute). Symbolic links inside a
    /// directory stay links (target unchanged, dangling or not); a named link
    /// is followed. Repeatable.
    #[arg(long = "file", value_name = "HOST[:GUEST]", value_parser = parse_file_spec)]
    pub files: Vec<FileSpec>,

    /// Let the job see this path of this machine too, read on demand
    /// (besides the system's tree, the working directory and the paths the
    /// arguments name). Repeatable; `--share /` shares everything.
    #[arg(long = "share", value_name = "PATH")]
    pub shares: Vec<PathBuf>,

    /// Share nothing of this machine: the job sees only its staged files.
    #[arg(long, conflicts_with = "shares")]
    pub no_share: bool,

    /// Leave the working directory alone: what the job makes or changes
    /// there stays in the node (by default it is written back when the job
    /// ends).
    #[arg(long)]
    pub no_write_back: bool,

    /// The program's working directory on the node (default: the current
    /// directory); created if missing.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,

    /// After the program exits, copy GUEST (a file or a whole directory; a
    /// relative path is relative to the program's working directory) from the
    /// node to HOST (default: GUEST, relative to the current directory).
    /// Repeatable.
    #[arg(long = "out", value_name = "GUEST[:HOST]", value_parser = parse_out_spec)]
    pub outs: Vec<OutSpec>,

    /// Set an environment variable of the program. Repeatable. The program
    /// gets these and, unless they set PATH, a login shell's
    /// PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin;
    /// nothing of sion's own environment.
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
    pub env: Vec<OsString>,

    /// The program gets exactly the --env variables: no default PATH.
    #[arg(long)]
    pub clear_env: bool,

    /// Kill the node after SECS seconds (exit 125).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,

    /// Memory of the node, QEMU-style (256M, 1G; a bare number is MiB).
    /// Default: a quarter of this host's available memory (MemAvailable),
    /// at least 256M and at most 4G. The job's files take at most half of
    /// what the boot archive leaves.
    #[arg(long, value_name = "SIZE", value_parser = parse_mem)]
    pub mem: Option<MemSize>,

    /// Show the kernel and server logs (and sion's own) on stderr.
    #[arg(long)]
    pub verbose: bool,

    /// Write the kernel and server logs to FILE.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Write one line per system call of the program to FILE:
    /// `ABI NR NAME = RESULT` (`x86_64 1 write = 6`, `x86_64 57 fork = -38 ENOSYS`).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// QEMU accelerator. KVM needs a host whose KVM runs ring 3 properly.
    #[arg(long, value_enum, default_value_t = Accel::Tcg)]
    pub accel: Accel,

    /// The program (a static x86_64 or i386 Linux ELF); becomes argv[0] as typed.
    #[arg(value_name = "PROGRAM", required = true)]
    pub program: OsString,

    /// Arguments of the program (everything after PROGRAM goes to it).
    #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

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

fn parse_env(s: &str) -> Result<OsString, String> {
    match s.split_once('=') {
        Some((k, _)) if !k.is_empty() => Ok(OsString::from(s)),
        _ => Err(format!("{s:?} is not K=V")),
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

    fn exec(args: &[&str]) -> ExecArgs {
        let mut v = vec!["sion", "exec"];
        v.extend_from_slice(args);
        match Cli::try_parse_from(v).unwrap().command {
            Command::Exec(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn everything_after_program_is_its_arguments() {
        let a = exec(&["--verbose", "--env", "A=1", "./prog", "-x", "--verbose", "--env", "B=2"]);
        assert!(a.verbose);
        assert_eq!(a.env, vec![OsString::from("A=1")]);
        assert_eq!(a.program, OsString::from("./prog"));
        assert_eq!(a.args, ["-x", "--verbose", "--env", "B=2"].map(OsString::from));
        assert_eq!(a.mem, None);
        assert_eq!(a.accel, Accel::Tcg);
        assert_eq!(a.timeout, None);
    }

    #[test]
    fn options() {
        let a = exec(&["--file", "/nonexistent/a:/etc/a", "--file", "rel", "--timeout", "5", "--mem", "1G", "--accel", "kvm", "--log", "/tmp/l", "p"]);
        assert_eq!(a.files[0], FileSpec { host: "/nonexistent/a".into(), guest: Some("/etc/a".into()) });
        assert_eq!(a.files[1], FileSpec { host: "rel".into(), guest: None });
        assert_eq!(a.timeout, Some(5));
        assert_eq!(a.mem, Some(MemSize(1 << 30)));
        assert_eq!(a.accel, Accel::Kvm);
        assert_eq!(a.log, Some(PathBuf::from("/tmp/l")));
        assert!(a.args.is_empty());
    }

    #[test]
    fn bad_options_are_refused() {
        for bad in [
            &["--mem", "lots", "p"][..],
            &["--mem", "1M", "p"],
            &["--env", "NOEQUALS", "p"],
            &["--env", "=v", "p"],
            &["--timeout", "0", "p"],
            &["--file", "/nonexistent/a:rel", "p"],
            &["--accel", "hvf", "p"],
            &[],
        ] {
            let mut v = vec!["sion", "exec"];
            v.extend_from_slice(bad);
            assert!(Cli::try_parse_from(&v).is_err(), "{v:?} accepted");
        }
    }

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

/// `8080:80` -> (8080, 80).
fn parse_publish(s: &str) -> Result<(u16, u16), String> {
    let (h, g) = s.split_once(':').ok_or_else(|| format!("{s:?}: expected HOSTPORT:GUESTPORT"))?;
    let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| format!("{p:?} is not a port (1-65535)"));
    Ok((port(h)?, port(g)?))
}
