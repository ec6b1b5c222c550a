//! The QEMU command line of a node, and the QEMU process.
//!
//! The node is `-machine microvm` with a serial port, a virtio serial port and isa-debug-exit:
//! - COM1 (0x3f8, IRQ 4, microvm's built-in port, `-serial chardev:log`): the kernel log;
//! - `virtio-serial-device` (virtio-mmio, the last of microvm's 24 slots,
//!   GSI 47) with a `virtserialport` at port 1: the job console
//!   (`sion_abi::console`), driven by the personality (`sion_virtio::console`);
//! - isa-debug-exit at 0xf4 (4 ports): a guest `out` of v ends QEMU with status `(v << 1) | 1`.
//!
//! Both chardevs are Unix sockets that sion listens on before QEMU starts;
//! QEMU connects to them as a client during start-up, so nothing is lost.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::args::{Accel, MemSize};

/// The QEMU binary.
pub const QEMU: &str = "qemu-system-x86_64";

/// Most CPUs a node may have: the kernel starts at most this many.
pub const MAX_CPUS: u16 = sion_abi::call::MAX_CPUS as u16;

/// `--cpus N`: 1 to [`MAX_CPUS`].
pub fn parse_cpus(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u16>() {
        Ok(n) if (1..=MAX_CPUS).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a CPU count (1-{MAX_CPUS})")),
    }
}

/// The accelerator and CPU arguments of a node with `cpus` CPUs: one CPU is
/// plain `-accel tcg` (or `kvm`), as every node was before SMP; more add
/// `-smp N`, and TCG then runs multi-threaded (a host thread per CPU), as
/// the kernel self-test does (tools/xtask/src/kernel_tests.rs).
pub fn accel_args(accel: Accel, cpus: u16) -> Vec<String> {
    if cpus <= 1 {
        return vec!["-accel".into(), accel.qemu_name().into()];
    }
    let accel = match accel {
        Accel::Tcg => "tcg,thread=multi",
        Accel::Kvm => "kvm",
    };
    vec!["-accel".into(), accel.into(), "-smp".into(), cpus.to_string()]
}

/// Where the kernel and server images are: `$SION_IMAGE_DIR`, else beside
/// this executable as cargo builds it (`target/release/sion` ->
/// `target/x86_64-unknown-none/release/`), else as the Debian package
/// installs it (`/usr/bin/sion` -> `/usr/lib/sion/`); the first when none
/// has a kernel (for the error message).
pub fn image_dir() -> PathBuf {
    let dir = match std::env::var_os("SION_IMAGE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let exe = std::env::current_exe().unwrap_or_default();
            image_dir_for(exe.parent().unwrap_or(Path::new(".")), |d| d.join("sion-kernel").is_file())
        }
    };
    std::path::absolute(&dir).unwrap_or(dir)
}

/// The image directory for an executable in `bin`: the development layout,
/// else the installed one, whichever `has_images`; the development one when neither.
pub fn image_dir_for(bin: &Path, has_images: impl Fn(&Path) -> bool) -> PathBuf {
    let dev = bin.join("../x86_64-unknown-none/release");
    let installed = bin.parent().map(|p| p.join("lib/sion")).unwrap_or_else(|| bin.join("../lib/sion"));
    if !has_images(&dev) && has_images(&installed) {
        installed
    } else {
        dev
    }
}

/// What a node is booted with.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub mem: MemSize,
    pub accel: Accel,
    /// CPUs (`-smp`), 1 to [`MAX_CPUS`].
    pub cpus: u16,
    /// Host time at boot (ns since the Unix epoch), for the guest's clock.
    pub realtime_ns: u128,
    pub log_socket: PathBuf,
    pub job_socket: PathBuf,
    /// TCP ports forwarded from 127.0.0.1 on the host into the node: (host, guest).
    pub publish: Vec<(u16, u16)>,
}

/// Where microvm puts its virtio-mmio transports (24 slots of 512 bytes) and
/// their interrupt lines (GSI 24-47, on the second I/O APIC): granted to the
/// netstack server on the command line.
pub const NETSTACK_GRANTS: &str = "netstack.mmio=feb00000:3000 netstack.irq=24-47";

/// The grants of a `sion exec` node: the job console's virtio-mmio device
/// is created first, so it takes the last slot (0xfeb02e00, GSI 47); the
/// personality may map the page of slots 16-23 (it probes them for the
/// console) and binds GSI 47; the netstack keeps every slot (it looks for a
/// network device and skips the console) and the other 23 lines.
pub const EXEC_GRANTS: &str = "personality.mmio=feb02000:1000 personality.irq=47-47 netstack.mmio=feb00000:3000 netstack.irq=24-46";

/// `SION_JOB_CONSOLE=com2` puts the job console on COM2 (a 16550 at 0x2f8,
/// polled by the personality, about 13 KB/s in and 1 MB/s out) instead of
/// the virtio serial port: for nodes without the virtio driver, such as the
/// fake node of sion's own tests.
pub fn job_console_com2() -> bool {
    std::env::var_os("SION_JOB_CONSOLE").is_some_and(|v| v == "com2")
}

/// The kernel command line.
pub fn kernel_cmdline(realtime_ns: u128) -> String {
    if job_console_com2() {
        return format!("console=com1 io=0x2f8:8 {NETSTACK_GRANTS} realtime={realtime_ns}");
    }
    format!("console=com1 {EXEC_GRANTS} realtime={realtime_ns}")
}

/// The node's network: QEMU user networking confined with `restrict=on` (the
/// guest reaches nothing outside; its DHCP server gives 10.0.2.15), plus the
/// published ports.
pub fn network_args(publish: &[(u16, u16)]) -> Vec<OsString> {
    let mut netdev = String::from("user,id=net0,restrict=on");
    for (host, guest) in publish {
        netdev.push_str(&format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}"));
    }
    vec!["-netdev".into(), netdev.into(), "-device".into(), "virtio-net-device,netdev=net0".into()]
}

/// The QEMU arguments (without the program name).
pub fn qemu_args(c: &NodeConfig) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |s: &str| a.push(s.into());
    for s in ["-machine", "microvm", "-cpu", "max", "-m"] {
        push(s);
    }
    push(&c.mem.qemu_arg());
    for s in ["-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"] {
        push(s);
    }
    a.extend(accel_args(c.accel, c.cpus).into_iter().map(OsString::from));
    a.push("-kernel".into());
    a.push(c.kernel.clone().into());
    a.push("-initrd".into());
    a.push(c.initrd.clone().into());
    a.push("-append".into());
    a.push(kernel_cmdline(c.realtime_ns).into());
    a.extend(device_args(&c.log_socket, &c.job_socket));
    a.extend(network_args(&c.publish));
    a
}

/// The chardevs and devices: the log's serial port, the job console's
/// virtio serial port (before any other virtio device: see [`EXEC_GRANTS`])
/// and isa-debug-exit. A `virtserialport`, not a `virtconsole`: QEMU drops
/// what a console port cannot write at once, and holds a serial port's
/// buffers until the host reads them (flow control).
pub fn device_args(log_socket: &Path, job_socket: &Path) -> Vec<OsString> {
    let chardev = |id: &str, path: &Path| {
        let mut s = OsString::from(format!("socket,id={id},path="));
        s.push(path.as_os_str());
        s
    };
    let mut a: Vec<OsString> = vec![
        "-chardev".into(),
        chardev("log", log_socket),
        "-chardev".into(),
        chardev("job", job_socket),
        // microvm's own ISA serial port is COM1 (0x3f8, IRQ 4).
        "-serial".into(),
        "chardev:log".into(),
    ];
    let console: &[&str] = if job_console_com2() {
        &["-device", "isa-serial,chardev=job,iobase=0x2f8,irq=3"]
    } else {
        &["-device", "virtio-serial-device,max_ports=2", "-device", "virtserialport,chardev=job,nr=1,name=sion.job"]
    };
    a.extend(console.iter().map(OsString::from));
    a.extend(["-device".into(), "isa-debug-exit,iobase=0xf4,iosize=0x04".into()]);
    a
}

/// A running QEMU. Dropping it kills QEMU.
pub struct Qemu {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

/// Why QEMU could not be started.
#[derive(Debug)]
pub enum SpawnError {
    NotFound,
    Other(std::io::Error),
}

impl Qemu {
    /// Starts `qemu` (normally [`QEMU`], found on PATH) with `args`. Its stdout and
    /// stderr are captured (never mixed into sion's); it gets no stdin; it runs in
    /// its own process group so a terminal's ^C reaches only sion, and it dies with sion.
    pub fn spawn(qemu: &str, args: &[OsString]) -> Result<Qemu, SpawnError> {
        let mut cmd = Command::new(qemu);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        set_parent_death_signal(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SpawnError::NotFound,
            _ => SpawnError::Other(e),
        })?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        let pipes: [Option<Box<dyn Read + Send>>; 2] = [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        ];
        for mut pipe in pipes.into_iter().flatten() {
            let out = output.clone();
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            }));
        }
        Ok(Qemu { child, output, readers, status: None })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if QEMU has ended.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
        }
        Ok(self.status)
    }

    /// Kills QEMU (if still running) and reaps it.
    pub fn kill(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    /// What QEMU wrote on its stdout and stderr so far (all of it once it ended
    /// and [`Qemu::finish_output`] returned).
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits for the output readers (call after QEMU ended).
    pub fn finish_output(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Asks the kernel to SIGKILL QEMU when sion dies, however it dies (even by
/// SIGKILL, where no destructor runs). Linux sends it when the *thread* that
/// forked the child ends, so QEMU must be spawned from sion's main thread.
#[allow(unsafe_code)]
fn set_parent_death_signal(cmd: &mut Command) {
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec and only calls
    // async-signal-safe functions (prctl, getppid, _exit); it allocates
    // nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // sion may have died between fork and prctl: then nobody would kill us.
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn images_beside_the_build_or_installed() {
        let bin = Path::new("/usr/bin");
        assert_eq!(image_dir_for(bin, |d| d.ends_with("lib/sion")), Path::new("/usr/lib/sion"));
        assert_eq!(image_dir_for(bin, |_| false), Path::new("/usr/bin/../x86_64-unknown-none/release"));
        let bin = Path::new("/w/target/release");
        assert_eq!(image_dir_for(bin, |_| true), Path::new("/w/target/release/../x86_64-unknown-none/release"));
    }

    fn config() -> NodeConfig {
        NodeConfig {
            kernel: "/img/sion-kernel".into(),
            initrd: "/tmp/x/boot.cpio".into(),
            mem: MemSize(256 << 20),
            accel: Accel::Tcg,
            cpus: 1,
            realtime_ns: 1_700_000_000_123_456_789,
            log_socket: "/tmp/x/log.sock".into(),
            job_socket: "/tmp/x/job.sock".into(),
            publish: vec![(8080, 80)],
        }
    }

    fn strings(a: &[OsString]) -> Vec<String> {
        a.iter().map(|s| s.to_str().unwrap().to_string()).collect()
    }

    /// The value after `flag` (first occurrence), and all values of a repeated flag.
    fn values<'a>(a: &'a [String], flag: &str) -> Vec<&'a str> {
        a.windows(2).filter(|w| w[0] == flag).map(|w| w[1].as_str()).collect()
    }

    #[test]
    fn command_line() {
        let a = strings(&qemu_args(&config()));
        assert_eq!(values(&a, "-machine"), ["microvm"]);
        assert_eq!(values(&a, "-cpu"), ["max"]);
        assert_eq!(values(&a, "-m"), ["256M"]);
        assert_eq!(values(&a, "-accel"), ["tcg"]);
        assert!(values(&a, "-smp").is_empty(), "one CPU is QEMU's default machine");
        assert_eq!(values(&a, "-display"), ["none"]);
        for flag in ["-nodefaults", "-no-user-config", "-no-reboot"] {
            assert!(a.iter().any(|s| s == flag), "{flag} missing");
        }
        assert_eq!(values(&a, "-kernel"), ["/img/sion-kernel"]);
        assert_eq!(values(&a, "-initrd"), ["/tmp/x/boot.cpio"]);
        assert_eq!(values(&a, "-append"), [format!("console=com1 {EXEC_GRANTS} realtime=1700000000123456789")]);
        assert_eq!(
            values(&a, "-chardev"),
            ["socket,id=log,path=/tmp/x/log.sock", "socket,id=job,path=/tmp/x/job.sock"]
        );
        assert_eq!(values(&a, "-serial"), ["chardev:log"]);
        assert_eq!(
            values(&a, "-device"),
            ["virtio-serial-device,max_ports=2", "virtserialport,chardev=job,nr=1,name=sion.job", "isa-debug-exit,iobase=0xf4,iosize=0x04", "virtio-net-device,netdev=net0"]
        );
        // The only network is user networking confined with restrict=on.
        assert_eq!(values(&a, "-netdev"), ["user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80"]);

        let mut kvm = config();
        kvm.accel = Accel::Kvm;
        kvm.mem = MemSize(1 << 30);
        let a = strings(&qemu_args(&kvm));
        assert_eq!(values(&a, "-accel"), ["kvm"]);
        assert_eq!(values(&a, "-m"), ["1024M"]);

        let mut smp = config();
        smp.cpus = 4;
        let a = strings(&qemu_args(&smp));
        assert_eq!(values(&a, "-accel"), ["tcg,thread=multi"]);
        assert_eq!(values(&a, "-smp"), ["4"]);
        assert_eq!(values(&a, "-machine"), ["microvm"]);
    }

    #[test]
    fn cpus() {
        assert_eq!(accel_args(Accel::Tcg, 1), ["-accel", "tcg"]);
        assert_eq!(accel_args(Accel::Kvm, 1), ["-accel", "kvm"]);
        assert_eq!(accel_args(Accel::Tcg, 2), ["-accel", "tcg,thread=multi", "-smp", "2"]);
        assert_eq!(accel_args(Accel::Kvm, 16), ["-accel", "kvm", "-smp", "16"]);
        assert_eq!(parse_cpus("1"), Ok(1));
        assert_eq!(parse_cpus("16"), Ok(16));
        for bad in ["0", "17", "-1", "two", "", "2.5"] {
            assert!(parse_cpus(bad).is_err(), "{bad:?}");
        }
        assert_eq!(MAX_CPUS, 16, "the help of --cpus says 16");
    }

    /// QEMU really accepts the serial/debug-exit configuration on microvm,
    /// with one CPU and with several on multi-threaded TCG: started frozen
    /// (`-S`), it must connect to both sockets and keep running.
    #[test]
    fn qemu_accepts_the_devices() {
        if Command::new(QEMU).arg("--version").output().is_err() {
            eprintln!("note: {QEMU} not installed; skipping the device check");
            return;
        }
        for cpus in [1, 2] {
            qemu_accepts(cpus);
        }
    }

    fn qemu_accepts(cpus: u16) {
        let dir = tempfile::tempdir().unwrap();
        let (log, job) = (dir.path().join("log.sock"), dir.path().join("job.sock"));
        let listeners = [std::os::unix::net::UnixListener::bind(&log).unwrap(), std::os::unix::net::UnixListener::bind(&job).unwrap()];
        let mut args: Vec<OsString> =
            ["-machine", "microvm", "-cpu", "max", "-m", "64M", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-S"].iter().map(OsString::from).collect();
        args.extend(accel_args(Accel::Tcg, cpus).into_iter().map(OsString::from));
        args.extend(device_args(&log, &job));
        let mut q = Qemu::spawn(QEMU, &args).unwrap_or_else(|e| panic!("{e:?}"));
        for l in &listeners {
            l.set_nonblocking(true).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut accepted = [false, false];
        while accepted != [true, true] {
            for (i, l) in listeners.iter().enumerate() {
                if l.accept().is_ok() {
                    accepted[i] = true;
                }
            }
            if let Some(st) = q.try_wait().unwrap() {
                q.finish_output();
                panic!("QEMU refused the configuration with {cpus} CPUs ({st}): {}", q.output());
            }
            assert!(Instant::now() < deadline, "QEMU did not connect to both sockets");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(500));
        assert!(q.try_wait().unwrap().is_none(), "QEMU exited: {}", q.output());
        q.kill();
    }
}
