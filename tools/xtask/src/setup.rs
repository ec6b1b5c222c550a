//! `cargo xtask setup`: install what a fresh Debian machine with Rust lacks.
//! Checks first, so a complete machine does nothing and prints one line.

use crate::util::{self, Result};
use std::process::{Command, Stdio};

/// Debian packages the build and the tests need.
pub const PACKAGES: &[&str] = &[
    "qemu-system-x86", // qemu-system-x86_64 boots the nodes
    "musl-tools",      // musl-gcc: static musl test programs
    "gcc-multilib",    // gcc -m32: static i386 glibc test programs
    "grub-pc-bin",     // grub-mkrescue: bootable ISO images
    "grub-common",
    "xorriso",
    "mtools",
    "iproute2",     // ip netns / bridge / tuntap: the test LAN
    "iputils-ping", // the test LAN's third party pings the nodes
    "curl",         // fetches from busybox httpd through `sion exec --publish`
    "busybox-static", // /bin/busybox: real programs in the compat suite (compat-tests/programs)
    "bash-static",    // /bin/bash-static: syscall-coverage's accuracy check (tools/syscall-coverage/accuracy.sh)
    "strace",         // what those programs really call, for that check
    "liblua5.4-dev",  // static Lua library: compat-tests/src/lua.c
    "libsqlite3-dev", // static SQLite library: compat-tests/src/sqlite.c
    "golang-go",      // Go programs in the compat suite (compat-tests/go)
    "linux-image-amd64", // cargo xtask bench: the Linux baseline kernel (/boot/vmlinuz-*)
    "autoconf",          // cargo xtask ltp: LTP's `make autotools` and ./configure
    "automake",
    "m4",
    "pkg-config",
    "xz-utils",    // unpacks ../shared/ltp/ltp-*.tar.xz
    "libaio-dev",  // LTP tests of asynchronous I/O
    "libcap-dev",  // LTP tests of capabilities
    "libnuma-dev", // LTP tests of NUMA policies
];

pub const RUST_TARGET: &str = "x86_64-unknown-none";

fn package_installed(pkg: &str) -> bool {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .stderr(Stdio::null())
        .output();
    matches!(out, Ok(o) if o.status.success()
        && String::from_utf8_lossy(&o.stdout).ends_with("install ok installed"))
}

fn rust_target_installed() -> bool {
    // The sysroot check works with or without rustup.
    let out = Command::new("rustc").args(["--print", "sysroot"]).output();
    match out {
        Ok(o) if o.status.success() => {
            let sysroot = String::from_utf8_lossy(&o.stdout).trim().to_string();
            std::path::Path::new(&sysroot).join("lib/rustlib").join(RUST_TARGET).is_dir()
        }
        _ => false,
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn apt(args: &[&str]) -> Command {
    let mut cmd = if is_root() {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    };
    cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

pub fn setup() -> Result<bool> {
    linux_default_pipes();
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| !package_installed(p)).collect();
    let target_missing = !rust_target_installed();
    if missing.is_empty() && !target_missing {
        tracing::info!(
            "setup: everything is installed ({} Debian packages, Rust target {RUST_TARGET})",
            PACKAGES.len()
        );
        return Ok(true);
    }
    if !missing.is_empty() {
        tracing::info!("setup: installing {}", missing.join(" "));
        if Command::new("dpkg-query").arg("--version").stdout(Stdio::null()).status().is_err() {
            return Err(format!(
                "not a Debian system (no dpkg-query): install by hand: {}",
                missing.join(" ")
            ));
        }
        util::run(&mut apt(&["update", "-q"]))?;
        let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
        install.args(&missing);
        util::run(&mut install)?;
        let still: Vec<&str> = missing.iter().copied().filter(|p| !package_installed(p)).collect();
        if !still.is_empty() {
            return Err(format!("setup: still missing after apt-get install: {}", still.join(" ")));
        }
    }
    if target_missing {
        tracing::info!("setup: adding Rust target {RUST_TARGET}");
        util::run(Command::new("rustup").args(["target", "add", RUST_TARGET]))
            .map_err(|e| format!("{e} (is rustup installed?)"))?;
    }
    tracing::info!("setup: done");
    Ok(true)
}

/// Linux's default `fs.pipe-max-size` (1 MiB). The differential tests
/// compare with Linux as it ships; a host that lowers it below 64 KiB makes
/// every pipe of a user without CAP_SYS_RESOURCE one page (root in a
/// container is such a user), and pipes, splice, epoll and LTP's fcntl35
/// then fail on the host itself. Root raises it back (with a line that says
/// so); anyone else is told.
const PIPE_MAX_SIZE: &str = "/proc/sys/fs/pipe-max-size";
const LINUX_PIPE_MAX_SIZE: u64 = 1 << 20;

fn linux_default_pipes() {
    let Some(now) = std::fs::read_to_string(PIPE_MAX_SIZE).ok().and_then(|s| s.trim().parse::<u64>().ok()) else { return };
    if now >= 65536 {
        return;
    }
    match std::fs::write(PIPE_MAX_SIZE, LINUX_PIPE_MAX_SIZE.to_string()) {
        Ok(()) => tracing::info!("setup: fs.pipe-max-size was {now}: set to Linux's default {LINUX_PIPE_MAX_SIZE} (pipes of one page fail the host's side of the tests)"),
        Err(e) => tracing::warn!("setup: fs.pipe-max-size is {now} and cannot be raised ({e}): pipe tests may fail on the host; run `sysctl fs.pipe-max-size={LINUX_PIPE_MAX_SIZE}` as root"),
    }
}
