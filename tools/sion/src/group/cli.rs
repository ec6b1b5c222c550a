//! Arguments of `sion daemon`, `sion nodes` and `sion run`.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use sion_group::Weights;

use crate::args::{parse_file_spec, parse_out_spec, FileSpec, OutSpec};

#[derive(Args, Debug)]
pub struct DaemonArgs {
    /// IPv4 address to listen on and to announce (default: the first global
    /// address of this machine, else 127.0.0.1).
    #[arg(long, value_name = "IP")]
    pub bind: Option<Ipv4Addr>,

    /// UDP port of the group and TCP port of jobs.
    #[arg(long, default_value_t = super::DEFAULT_PORT)]
    pub port: u16,

    /// Broadcast address of the LAN (default: the interface's; 127.255.255.255
    /// on the loopback).
    #[arg(long, value_name = "IP")]
    pub broadcast: Option<Ipv4Addr>,

    /// The group key file (default: $SION_KEY_FILE, else ~/.config/sion/group.key
    /// if it exists, else /etc/sion/group.key if it exists, else
    /// ~/.config/sion/group.key, created on first use).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// The control socket for `sion nodes` and `sion run`.
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,

    /// Let the members of the daemon's group use the control socket (mode
    /// 0660 instead of 0600), as the packaged service does for group `sion`.
    #[arg(long)]
    pub control_group: bool,

    /// Name shown in `sion nodes` (default: the host name).
    #[arg(long)]
    pub name: Option<String>,

    /// Most jobs run at once for the group.
    #[arg(long, default_value_t = 4)]
    pub max_jobs: u16,

    /// Refuse jobs while the load is above this share of all CPUs, in
    /// percent: the load average, or a CPU per job running for the group
    /// when that is more.
    #[arg(long, value_name = "PERCENT", default_value_t = 300)]
    pub max_load: u32,

    /// Offer at most this much memory (MiB) to the group.
    #[arg(long, value_name = "MIB")]
    pub mem_limit: Option<u32>,

    /// Take part in the group but run no jobs for it.
    #[arg(long)]
    pub no_jobs: bool,

    /// Debug logs (membership details, every placement).
    #[arg(long)]
    pub verbose: bool,
}

#[derive(Args, Debug)]
pub struct NodesArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,

    /// The daemon's control socket (default: $SION_CONTROL, else this user's
    /// daemon's if it runs, else the service's, /run/sion/daemon.sock).
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct KeyArgs {
    #[command(subcommand)]
    pub command: KeyCommand,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Print the group key (64 hexadecimal digits and a newline), as `sion key
    /// import` reads it.
    Show {
        /// The key file (default: as `sion daemon`'s; created on first use).
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
    },
    /// Replace the group key with the one in FILE (`-`: standard input),
    /// checked first. The file keeps its mode and owner (a new one is 0600).
    /// Restart the daemon afterwards (`systemctl restart sion`).
    Import {
        /// The key file to write (default: $SION_KEY_FILE, else
        /// ~/.config/sion/group.key; the service's is /etc/sion/group.key).
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
        /// Where the key comes from: a file `sion key show` wrote, or `-`.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Placement weights (any subset; defaults cpu=1,mem=1,speed=1,net=0.5).
    #[arg(long, value_name = "cpu=W,mem=W,speed=W,net=W", value_parser = Weights::parse)]
    pub weights: Option<Weights>,

    /// Run on this node only (its id, an id prefix, or its name).
    #[arg(long, value_name = "ID")]
    pub node: Option<String>,

    /// Send the job straight to the node at IP:PORT (no daemon, no placement).
    #[arg(long, value_name = "IP:PORT", conflicts_with = "node")]
    pub to: Option<std::net::SocketAddr>,

    /// If the node dies mid-job, run the job again elsewhere up to N times.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,

    /// Never run on this workstation itself.
    #[arg(long)]
    pub no_local: bool,

    /// Memory the job needs, MiB (nodes with less refuse it).
    #[arg(long, value_name = "MIB", default_value_t = 0)]
    pub need_mem: u32,

    /// Copy a host file or directory to the job (HOST[:GUEST]). Repeatable.
    #[arg(long = "file", value_name = "HOST[:GUEST]", value_parser = parse_file_spec)]
    pub files: Vec<FileSpec>,

    /// Set an environment variable of the program. Repeatable. It gets these
    /// and, unless they set PATH, a login shell's PATH (as `sion exec`).
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<OsString>,

    /// The program gets exactly the --env variables: no default PATH.
    #[arg(long)]
    pub clear_env: bool,

    /// Bring a file or directory back from the job when it ends (GUEST[:HOST],
    /// relative paths from the working directory). Repeatable.
    #[arg(long = "out", value_name = "GUEST[:HOST]", value_parser = parse_out_spec)]
    pub outs: Vec<OutSpec>,

    #[command(flatten)]
    pub share: crate::args::ShareArgs,

    /// The group key file (default: as `sion daemon`'s).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// The local daemon's control socket.
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,

    /// Say where the job goes and why.
    #[arg(long)]
    pub verbose: bool,

    /// The program (a static x86_64 or i386 Linux ELF); becomes argv[0] as typed.
    #[arg(value_name = "PROGRAM", required = true)]
    pub program: OsString,

    /// Arguments of the program.
    #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}
