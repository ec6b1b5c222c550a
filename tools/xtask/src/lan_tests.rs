//! The test LAN: two nodes on a bridge inside a network namespace this test
//! creates and removes (nothing touches the host's own interfaces). No DHCP
//! server is there, so the nodes must take IPv4 link-local addresses by
//! themselves; they find each other by UDP broadcast and talk TCP; a third
//! party on the bridge (an address of the namespace) pings both and talks TCP
//! to both.

use crate::build::BARE_METAL_TARGET;
use crate::util::{self, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NODES: usize = 2;
/// The third party's address on the LAN (link-local too, so on-link).
const OBSERVER: &str = "169.254.250.1";

pub struct Outcome {
    pub addresses: Vec<String>,
    pub seconds_to_addresses: f64,
}

fn ip(ns: &str, args: &[&str]) -> Result<()> {
    let out = Command::new("ip").arg("-n").arg(ns).args(args).output().map_err(|e| format!("ip: {e}"))?;
    if !out.status.success() {
        return Err(format!("ip -n {ns} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

/// Removes the namespace (and with it the bridge and taps) and the nodes.
struct Lan {
    ns: String,
    nodes: Vec<Child>,
}

impl Drop for Lan {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            let _ = n.kill();
            let _ = n.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

fn in_ns(ns: &str, script: &str) -> std::io::Result<std::process::Output> {
    Command::new("ip").args(["netns", "exec", ns, "bash", "-c", script]).stdin(Stdio::null()).output()
}

/// Whether this machine can build a test LAN (root, `ip`, /dev/net/tun).
pub fn available() -> std::result::Result<(), String> {
    // SAFETY: geteuid has no side effects.
    if unsafe { libc::geteuid() } != 0 {
        return Err("needs root (network namespaces and tap devices)".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err("no /dev/net/tun".into());
    }
    Ok(())
}

fn log_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The link-local address a node logged, if any.
fn address_in(log: &str) -> Option<String> {
    log.lines().find_map(|l| l.split("netstack: address ").nth(1)?.strip_suffix("/16 (link-local)").map(str::to_string))
}

pub fn run() -> Result<Outcome> {
    let images = util::target_dir().join(BARE_METAL_TARGET).join("release");
    let dir = util::target_dir().join("lan-tests");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut w = sion_abi::bootfs::Writer::new();
    for (name, file) in [("nettest", "sion-netstack-selftest"), ("netstack", "sion-netstack")] {
        let bytes = std::fs::read(images.join(file)).map_err(|e| format!("{file}: {e} (run `cargo xtask build`)"))?;
        w.add(&format!("servers/{name}"), sion_abi::bootfs::regular(0o755), &bytes);
    }
    let cpio = dir.join("lan.cpio");
    std::fs::write(&cpio, w.finish()).map_err(|e| e.to_string())?;

    let ns = format!("sion-lan-{}", std::process::id());
    let status = Command::new("ip").args(["netns", "add", &ns]).status().map_err(|e| format!("ip: {e}"))?;
    if !status.success() {
        return Err(format!("ip netns add {ns} failed"));
    }
    let mut lan = Lan { ns: ns.clone(), nodes: Vec::new() };
    ip(&ns, &["link", "add", "br0", "type", "bridge"])?;
    ip(&ns, &["link", "set", "br0", "up"])?;
    ip(&ns, &["link", "set", "lo", "up"])?;
    ip(&ns, &["addr", "add", &format!("{OBSERVER}/16"), "dev", "br0"])?;
    let mut logs: Vec<PathBuf> = Vec::new();
    let started = Instant::now();
    for i in 0..NODES {
        let tap = format!("tap{i}");
        ip(&ns, &["tuntap", "add", "dev", &tap, "mode", "tap"])?;
        ip(&ns, &["link", "set", &tap, "master", "br0", "up"])?;
        let log = dir.join(format!("node{i}.log"));
        let _ = std::fs::remove_file(&log);
        let mut q = Command::new("ip");
        q.args(["netns", "exec", &ns, "qemu-system-x86_64"])
            .args(["-machine", "microvm", "-cpu", "max", "-m", "128M", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-accel", "tcg"])
            .arg("-kernel")
            .arg(images.join("sion-kernel"))
            .arg("-initrd")
            .arg(&cpio)
            .args(["-append", "console=com1 netstack.mmio=feb00000:3000 netstack.irq=24-47 nettest.lan=1"])
            .arg("-serial")
            .arg(format!("file:{}", log.display()))
            .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
            .args(["-netdev", &format!("tap,id=net0,ifname={tap},script=no,downscript=no")])
            .args(["-device", &format!("virtio-net-device,netdev=net0,mac=52:54:00:5e:00:{:02x}", i + 1)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        tracing::debug!("$ {}", util::show(&q));
        lan.nodes.push(q.spawn().map_err(|e| format!("qemu: {e}"))?);
        logs.push(log);
    }

    // Link-local addressing takes a DHCP wait (3 s) and RFC 3927's probes (~4-7 s).
    let deadline = started + Duration::from_secs(60);
    let mut addresses: Vec<Option<String>> = vec![None; NODES];
    let mut seconds_to_addresses = 0.0;
    while Instant::now() < deadline {
        for (i, l) in logs.iter().enumerate() {
            if addresses[i].is_none() {
                addresses[i] = address_in(&log_of(l));
            }
        }
        if addresses.iter().all(Option::is_some) {
            seconds_to_addresses = started.elapsed().as_secs_f64();
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let dump = |logs: &[PathBuf]| logs.iter().map(|l| log_of(l).lines().filter(|x| x.contains("net")).collect::<Vec<_>>().join(" | ")).collect::<Vec<_>>().join(" || ");
    if addresses.iter().any(Option::is_none) {
        return Err(format!("not every node took a link-local address in 60 s: {}", dump(&logs)));
    }
    let addresses: Vec<String> = addresses.into_iter().map(Option::unwrap).collect();
    if addresses[0] == addresses[1] {
        return Err(format!("both nodes took {}", addresses[0]));
    }
    // The nodes see each other: the lower greets the higher over TCP.
    let mut met = false;
    while Instant::now() < deadline && !met {
        let all: String = logs.iter().map(|l| log_of(l)).collect();
        met = all.contains("answered over TCP") && all.contains("heard peer");
        std::thread::sleep(Duration::from_millis(200));
    }
    if !met {
        return Err(format!("the nodes did not find each other: {}", dump(&logs)));
    }
    // A third party on the LAN reaches both: ping, then TCP echo.
    for a in &addresses {
        let ping = in_ns(&ns, &format!("ping -c 1 -W 3 {a}")).map_err(|e| e.to_string())?;
        if !ping.status.success() {
            return Err(format!("ping {a} from the LAN failed: {}", String::from_utf8_lossy(&ping.stdout)));
        }
        let echo = in_ns(&ns, &format!("exec 3<>/dev/tcp/{a}/7 && printf sion >&3 && timeout 5 head -c 4 <&3")).map_err(|e| e.to_string())?;
        if echo.stdout != b"sion" {
            return Err(format!("TCP echo from the LAN to {a} returned {:?}", String::from_utf8_lossy(&echo.stdout)));
        }
    }
    // Done: ask each node to power off.
    for a in &addresses {
        let _ = in_ns(&ns, &format!("exec 3<>/dev/tcp/{a}/1"));
    }
    let end = Instant::now() + Duration::from_secs(10);
    for n in &mut lan.nodes {
        while Instant::now() < end {
            if let Ok(Some(_)) = n.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(Outcome { addresses, seconds_to_addresses })
}
