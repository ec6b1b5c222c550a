//! The command line of `sion`.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::args::{parse_file_spec, parse_mem, parse_out_spec, Accel, FileSpec, MemSize, OutSpec};

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
    /// Show or import the group key, to move it between machines and into images.
    Key(crate::group::cli::KeyArgs),
    /// Write a shell completion script or the man page to standard output
    /// (for packaging).
    #[command(hide = true)]
    Generate {
        #[arg(value_enum)]
        what: Generated,
        /// `man` only: write every page into DIR (sion.1 and sion-SUBCOMMAND.1,
        /// nested ones too) instead of sion.1 to standard output.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// What `sion generate` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generated {
    Bash,
    Zsh,
    Fish,
    /// The man page, sion(1), in roff.
    Man,
}

/// Writes `what`, made from [`Cli`]'s definitions, to `out`.
pub fn generate(what: Generated, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut cmd = public_command();
    let shell = match what {
        Generated::Bash => clap_complete::Shell::Bash,
        Generated::Zsh => clap_complete::Shell::Zsh,
        Generated::Fish => clap_complete::Shell::Fish,
        Generated::Man => return clap_mangen::Man::new(cmd).render(out),
    };
    clap_complete::generate(shell, &mut cmd, "sion", out);
    Ok(())
}

/// Writes every man page (sion.1, sion-exec.1, sion-key-import.1...) into `dir`.
pub fn generate_man_pages(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(public_command(), dir)
}

/// [`Cli`]'s command line without its hidden subcommands (`generate`), which
/// completions would otherwise offer.
fn public_command() -> clap::Command {
    use clap::CommandFactory;
    let full = Cli::command();
    let subcommands: Vec<clap::Command> = full.get_subcommands().filter(|s| !s.is_hide_set()).cloned().collect();
    let mut cmd = clap::Command::new("sion").version(env!("CARGO_PKG_VERSION")).propagate_version(true).subcommand_required(true);
    if let Some(about) = full.get_about() {
        cmd = cmd.about(about.clone());
    }
    if let Some(about) = full.get_long_about() {
        cmd = cmd.long_about(about.clone());
    }
    cmd.subcommands(subcommands)
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

    #[command(flatten)]
    pub share: crate::args::ShareArgs,

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
    #[arg(long, value_name = "FILE", conflicts_with = "trace_counts")]
    pub trace: Option<PathBuf>,

    /// Write, when the program ends, one line per distinct system call it
    /// made to FILE: `ABI NR NAME calls=N enosys=M` (cheap for long runs).
    #[arg(long, value_name = "FILE")]
    pub trace_counts: Option<PathBuf>,

    /// QEMU accelerator. KVM needs a host whose KVM runs ring 3 properly.
    #[arg(long, value_enum, default_value_t = Accel::Tcg)]
    pub accel: Accel,

    /// CPUs of the node (QEMU -smp N, at most 16), for a program with
    /// threads or child processes that run at once. More than one CPU runs
    /// on multi-threaded TCG (-accel tcg,thread=multi): each CPU is a host
    /// thread.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = crate::qemu::parse_cpus)]
    pub cpus: u16,

    /// The program (a static x86_64 or i386 Linux ELF); becomes argv[0] as typed.
    #[arg(value_name = "PROGRAM", required = true)]
    pub program: OsString,

    /// Arguments of the program (everything after PROGRAM goes to it).
    #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

fn parse_env(s: &str) -> Result<OsString, String> {
    match s.split_once('=') {
        Some((k, _)) if !k.is_empty() => Ok(OsString::from(s)),
        _ => Err(format!("{s:?} is not K=V")),
    }
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
        assert_eq!(a.cpus, 1);
    }

    #[test]
    fn options() {
        let a = exec(&["--file", "/nonexistent/a:/etc/a", "--file", "rel", "--timeout", "5", "--mem", "1G", "--accel", "kvm", "--cpus", "4", "--log", "/tmp/l", "p"]);
        assert_eq!(a.files[0], FileSpec { host: "/nonexistent/a".into(), guest: Some("/etc/a".into()) });
        assert_eq!(a.files[1], FileSpec { host: "rel".into(), guest: None });
        assert_eq!(a.timeout, Some(5));
        assert_eq!(a.mem, Some(MemSize(1 << 30)));
        assert_eq!(a.accel, Accel::Kvm);
        assert_eq!(a.cpus, 4);
        assert_eq!(a.log, Some(PathBuf::from("/tmp/l")));
        assert!(a.args.is_empty());
    }

    #[test]
    fn completions_and_man_page_from_the_definitions() {
        let text = |what| {
            let mut out = Vec::new();
            generate(what, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        for what in [Generated::Bash, Generated::Zsh, Generated::Fish, Generated::Man] {
            let t = text(what);
            assert!(t.contains("daemon") && t.contains("key"), "{what:?}");
            assert!(!t.contains("generate"), "{what:?} offers the hidden subcommand");
        }
        assert!(text(Generated::Bash).contains("--key-file"));
        assert!(text(Generated::Bash).contains("--cpus"));
        assert!(text(Generated::Man).starts_with(".ie"));
        let dir = tempfile::tempdir().unwrap();
        generate_man_pages(dir.path()).unwrap();
        for page in ["sion.1", "sion-exec.1", "sion-daemon.1", "sion-key.1", "sion-key-import.1"] {
            assert!(dir.path().join(page).is_file(), "no {page}");
        }
        assert!(!dir.path().join("sion-generate.1").exists());
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
            &["--cpus", "0", "p"],
            &["--cpus", "17", "p"],
            &["--cpus", "many", "p"],
            &[],
        ] {
            let mut v = vec!["sion", "exec"];
            v.extend_from_slice(bad);
            assert!(Cli::try_parse_from(&v).is_err(), "{v:?} accepted");
        }
    }
}

/// `8080:80` -> (8080, 80).
fn parse_publish(s: &str) -> Result<(u16, u16), String> {
    let (h, g) = s.split_once(':').ok_or_else(|| format!("{s:?}: expected HOSTPORT:GUESTPORT"))?;
    let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| format!("{p:?} is not a port (1-65535)"));
    Ok((port(h)?, port(g)?))
}
