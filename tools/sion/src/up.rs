//! `sion up` and `sion down`: a local group of SiON nodes in QEMU on a
//! private test LAN, together with a `sion daemon` for this workstation.
//!
//! The LAN is a bridge inside a network namespace (`sion-up`) that `up`
//! creates and `down` removes, so nothing touches the host's own interfaces.
//! The nodes have no DHCP server there: they take IPv4 link-local addresses
//! (RFC 3927) and find the group by broadcast; the workstation joins the
//! same LAN as 169.254.250.1. Plain `sion nodes` then shows the group (the
//! daemon uses the default control socket).
//!
//! The nodes get the group key on their kernel command line (readable by
//! local users through `ps`: a test LAN on one machine, not a secret store).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::args::{parse_mem, Accel, MemSize};
use crate::group;

const NAMESPACE: &str = "sion-up";
/// The workstation's address on the test LAN.
const WORKSTATION_IP: &str = "169.254.250.1";

#[derive(Args, Debug)]
pub struct UpArgs {
    /// How many nodes.
    #[arg(short = 'n', long = "nodes", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub nodes: u16,
    /// Memory of each node, as a comma-separated list used in turn (e.g. 128M,512M).
    #[arg(long, value_name = "SIZES", value_delimiter = ',', value_parser = parse_mem)]
    pub mem: Vec<MemSize>,
    /// CPUs of each node (QEMU -smp N, at most 16), as a comma-separated
    /// list used in turn like --mem (e.g. 1,4: the first node 1 CPU, the
    /// second 4, the third 1 again). Default 1. More than one CPU runs on
    /// multi-threaded TCG (-accel tcg,thread=multi): each CPU is a host thread.
    #[arg(long, value_name = "N[,N...]", value_delimiter = ',', value_parser = crate::qemu::parse_cpus)]
    pub cpus: Vec<u16>,
    /// The group key file (default ~/.config/sion/group.key, created on first use).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Accel::Tcg)]
    pub accel: Accel,
    /// How long to wait for every node to join (seconds).
    #[arg(long, default_value_t = 90)]
    pub wait: u64,
}

#[derive(Args, Debug)]
pub struct DownArgs {}

/// Where `up` keeps the logs, the image and the pids for `down`.
fn state_dir() -> PathBuf {
    group::default_control_path().parent().map(|p| p.join("up")).unwrap_or_else(|| PathBuf::from("/tmp/sion-up"))
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip").args(args).output().context("running ip (apt-get install iproute2)")?;
    if !out.status.success() {
        bail!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// The `i`th value of a list used in turn (`--mem`, `--cpus`), or `default` for an empty list.
fn in_turn<T: Copy>(list: &[T], i: usize, default: T) -> T {
    if list.is_empty() {
        default
    } else {
        list[i % list.len()]
    }
}

/// Node `i` of the test LAN.
struct UpNode<'a> {
    i: usize,
    mem: MemSize,
    cpus: u16,
    accel: Accel,
    kernel: &'a Path,
    archive: &'a Path,
    /// The kernel command line.
    append: String,
    /// The kernel log (COM1).
    log: PathBuf,
}

/// The QEMU arguments of a node (without the program name): microvm with
/// the kernel log in a file and a virtio-net device on tap`i`, its MAC from `i`.
fn node_qemu_args(n: &UpNode) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |s: &str| a.push(s.into());
    for s in ["-machine", "microvm", "-cpu", "max", "-m", &n.mem.qemu_arg(), "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"] {
        push(s);
    }
    for s in crate::qemu::accel_args(n.accel, n.cpus) {
        push(&s);
    }
    a.extend(["-kernel".into(), n.kernel.into(), "-initrd".into(), n.archive.into(), "-append".into(), n.append.clone().into()]);
    let mut serial = OsString::from("file:");
    serial.push(&n.log);
    a.extend(["-serial".into(), serial]);
    let tap = format!("tap{}", n.i);
    for s in [
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-netdev",
        &format!("tap,id=net0,ifname={tap},script=no,downscript=no"),
        "-device",
        &format!("virtio-net-device,netdev=net0,mac=52:54:00:5e:01:{:02x}", n.i + 1),
    ] {
        a.push(s.into());
    }
    a
}

fn node_archive(images: &Path) -> Result<Vec<u8>> {
    let mut w = sion_abi::bootfs::Writer::new();
    // The group server first: it is the boot server of these nodes; it starts
    // a personality from `images/personality` for each job.
    for (name, file) in [("servers/group", "sion-group-server"), ("servers/netstack", "sion-netstack"), (sion_abi::boot::names::PERSONALITY_IMAGE, "sion-personality")] {
        let path = images.join(file);
        let bytes = std::fs::read(&path).with_context(|| format!("no node image at {} (run `cargo xtask build`)", path.display()))?;
        w.add(name, sion_abi::bootfs::regular(0o755), &bytes);
    }
    Ok(w.finish())
}

pub fn up(args: UpArgs) -> i32 {
    match try_up(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sion: up: {e:#}");
            1
        }
    }
}

fn try_up(args: UpArgs) -> Result<()> {
    let dir = state_dir();
    if dir.join("pids").exists() {
        bail!("a group is already up (state in {}); `sion down` first", dir.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let key = group::key::load_or_create(args.key_file.as_deref())?;
    let images = crate::qemu::image_dir();
    let kernel = images.join("sion-kernel");
    if !kernel.is_file() {
        bail!("no node image at {} (run `cargo xtask build`)", kernel.display());
    }
    let archive = dir.join("node.cpio");
    std::fs::write(&archive, node_archive(&images)?)?;

    ip(&["netns", "add", NAMESPACE]).context("creating the test LAN's network namespace (needs root)")?;
    let mut pids: Vec<u32> = Vec::new();
    let result = (|| -> Result<()> {
        ip(&["-n", NAMESPACE, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", NAMESPACE, "link", "set", "br0", "up"])?;
        ip(&["-n", NAMESPACE, "link", "set", "lo", "up"])?;
        ip(&["-n", NAMESPACE, "addr", "add", &format!("{WORKSTATION_IP}/16"), "dev", "br0"])?;
        let exe = std::env::current_exe()?;
        let mut daemon = Command::new("ip");
        daemon.args(["netns", "exec", NAMESPACE]).arg(&exe).args(["daemon", "--bind", WORKSTATION_IP, "--broadcast", "169.254.255.255"]);
        if let Some(k) = &args.key_file {
            daemon.arg("--key-file").arg(k);
        }
        pids.push(spawn_detached(&mut daemon, &dir.join("daemon.log"))?);
        let realtime = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        for i in 0..args.nodes as usize {
            let tap = format!("tap{i}");
            ip(&["-n", NAMESPACE, "tuntap", "add", "dev", &tap, "mode", "tap"])?;
            ip(&["-n", NAMESPACE, "link", "set", &tap, "master", "br0", "up"])?;
            let node = UpNode {
                i,
                mem: in_turn(&args.mem, i, MemSize(128 << 20)),
                cpus: in_turn(&args.cpus, i, 1),
                accel: args.accel,
                kernel: &kernel,
                archive: &archive,
                append: format!("console=com1 {} group.key={} realtime={realtime}", crate::qemu::NETSTACK_GRANTS, group::key::to_hex(&key)),
                log: dir.join(format!("node{i}.log")),
            };
            let mut q = Command::new("ip");
            q.args(["netns", "exec", NAMESPACE, crate::qemu::QEMU]).args(node_qemu_args(&node));
            pids.push(spawn_detached(&mut q, &dir.join(format!("qemu{i}.log")))?);
        }
        std::fs::write(dir.join("pids"), pids.iter().map(|p| format!("{p}\n")).collect::<String>())?;
        Ok(())
    })();
    if let Err(e) = result {
        stop(&pids);
        let _ = ip(&["netns", "del", NAMESPACE]);
        return Err(e);
    }

    // Wait until the daemon sees every node.
    let control = group::default_control_path();
    let deadline = Instant::now() + Duration::from_secs(args.wait);
    let want = args.nodes as usize + 1;
    let mut seen = 0;
    let mut shown = usize::MAX;
    while Instant::now() < deadline {
        if let Ok(text) = group::client::ask(&control, "nodes") {
            seen = group::client::parse_rows(&text).iter().filter(|r| r.state.starts_with("alive")).count();
            if seen != shown {
                eprint!("\rsion: up: {seen} of {want} members alive");
                shown = seen;
            }
            if seen >= want {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!();
    if seen < want {
        bail!("only {seen} of {want} members joined in {} s (logs in {}); `sion down` stops what started", args.wait, dir.display());
    }
    let rows = group::client::parse_rows(&group::client::ask(&control, "nodes")?);
    print!("{}", group::client::render_table(&rows));
    eprintln!("sion: up: {} nodes on the test LAN ({NAMESPACE}); `sion nodes` shows the group, `sion down` stops it", args.nodes);
    Ok(())
}

/// Start `cmd` in its own process group, output to `log`, and let it run on
/// after we exit.
fn spawn_detached(cmd: &mut Command, log: &Path) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let out = std::fs::File::create(log)?;
    let child = cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out).process_group(0).spawn().with_context(|| format!("starting {:?}", cmd.get_program()))?;
    Ok(child.id())
}

fn stop(pids: &[u32]) {
    for p in pids {
        let _ = Command::new("kill").arg(p.to_string()).stderr(Stdio::null()).status();
    }
    std::thread::sleep(Duration::from_millis(300));
    for p in pids {
        let _ = Command::new("kill").args(["-9", &p.to_string()]).stderr(Stdio::null()).status();
    }
}

/// `sion run` from outside the test LAN of `sion up`: the daemon (on the
/// default control socket) lives in the namespace, and the nodes' addresses
/// are reachable only from there, so this process moves into it (before it
/// starts any thread), keeping its stdin, stdout, stderr and signals.
pub fn enter_lan() {
    use std::os::unix::fs::MetadataExt;
    if !state_dir().join("pids").exists() {
        return;
    }
    let path = format!("/run/netns/{NAMESPACE}");
    let (Ok(here), Ok(lan)) = (std::fs::metadata("/proc/self/ns/net"), std::fs::metadata(&path)) else { return };
    if here.ino() == lan.ino() {
        return;
    }
    let entered = std::fs::File::open(&path).map_err(|e| e.to_string()).and_then(|f| nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| e.to_string()));
    if let Err(e) = entered {
        eprintln!("sion: a group is up but its test LAN ({path}) cannot be entered: {e}");
    }
}

pub fn down(_args: DownArgs) -> i32 {
    let dir = state_dir();
    let pids: Vec<u32> = std::fs::read_to_string(dir.join("pids")).unwrap_or_default().lines().filter_map(|l| l.trim().parse().ok()).collect();
    stop(&pids);
    let ns_gone = ip(&["netns", "del", NAMESPACE]).is_err();
    let _ = std::fs::remove_file(dir.join("pids"));
    if pids.is_empty() && ns_gone {
        eprintln!("sion: down: no group was up");
        return 1;
    }
    eprintln!("sion: down: stopped {} processes and removed the test LAN", pids.len());
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        up: UpArgs,
    }

    fn up(args: &[&str]) -> UpArgs {
        Cli::try_parse_from([&["up"], args].concat()).unwrap().up
    }

    fn node(i: usize, args: &UpArgs) -> Vec<String> {
        let n = UpNode {
            i,
            mem: in_turn(&args.mem, i, MemSize(128 << 20)),
            cpus: in_turn(&args.cpus, i, 1),
            accel: args.accel,
            kernel: Path::new("/img/sion-kernel"),
            archive: Path::new("/run/up/node.cpio"),
            append: "console=com1".into(),
            log: PathBuf::from(format!("/run/up/node{i}.log")),
        };
        node_qemu_args(&n).iter().map(|s| s.to_str().unwrap().to_string()).collect()
    }

    fn values<'a>(a: &'a [String], flag: &str) -> Vec<&'a str> {
        a.windows(2).filter(|w| w[0] == flag).map(|w| w[1].as_str()).collect()
    }

    #[test]
    fn one_cpu_each_by_default() {
        let args = up(&[]);
        assert_eq!(args.nodes, 3);
        for i in 0..3 {
            let a = node(i, &args);
            assert_eq!(values(&a, "-accel"), ["tcg"]);
            assert!(values(&a, "-smp").is_empty());
            assert_eq!(values(&a, "-m"), ["128M"]);
        }
    }

    #[test]
    fn cpus_and_memory_per_node_in_turn() {
        let args = up(&["-n", "3", "--cpus", "2,4", "--mem", "256M"]);
        let (a0, a1, a2) = (node(0, &args), node(1, &args), node(2, &args));
        assert_eq!((values(&a0, "-accel"), values(&a0, "-smp")), (vec!["tcg,thread=multi"], vec!["2"]));
        assert_eq!(values(&a1, "-smp"), ["4"]);
        assert_eq!(values(&a2, "-smp"), ["2"]);
        assert_eq!(values(&a2, "-m"), ["256M"]);
        let args = up(&["--cpus", "1,2", "--accel", "kvm"]);
        assert_eq!((values(&node(0, &args), "-accel"), values(&node(0, &args), "-smp")), (vec!["kvm"], vec![]));
        assert_eq!((values(&node(1, &args), "-accel"), values(&node(1, &args), "-smp")), (vec!["kvm"], vec!["2"]));
        for bad in [&["--cpus", "0"][..], &["--cpus", "2,17"], &["--cpus", "x"]] {
            assert!(Cli::try_parse_from([&["up"], bad].concat()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_rest_of_a_node() {
        let a = node(1, &up(&[]));
        assert_eq!(values(&a, "-machine"), ["microvm"]);
        assert_eq!(values(&a, "-kernel"), ["/img/sion-kernel"]);
        assert_eq!(values(&a, "-initrd"), ["/run/up/node.cpio"]);
        assert_eq!(values(&a, "-append"), ["console=com1"]);
        assert_eq!(values(&a, "-serial"), ["file:/run/up/node1.log"]);
        assert_eq!(values(&a, "-netdev"), ["tap,id=net0,ifname=tap1,script=no,downscript=no"]);
        assert_eq!(values(&a, "-device"), ["isa-debug-exit,iobase=0xf4,iosize=0x04", "virtio-net-device,netdev=net0,mac=52:54:00:5e:01:02"]);
        for flag in ["-nodefaults", "-no-user-config", "-no-reboot"] {
            assert!(a.iter().any(|s| s == flag), "{flag} missing");
        }
    }
}
