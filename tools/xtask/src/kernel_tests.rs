//! The kernel's own tests in QEMU: the self-test server (kernel/selftest)
//! booted alone, through PVH (`qemu -kernel`, microvm) and from a GRUB ISO
//! (multiboot2, q35), each with 1 CPU and with 2 and 4 CPUs (`-smp N`,
//! multi-threaded TCG). It reports each check on the kernel console and
//! powers off through isa-debug-exit with 0 only if all passed (QEMU exit
//! status 1); a run also needs the kernel's `cpus: N found, N started` with N
//! the CPUs QEMU was given.

use crate::build::BARE_METAL_TARGET;
use crate::util::{self, Outcome, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// One boot of the self-test: its name, whether it passed, and the figures.
pub struct Run {
    pub name: &'static str,
    pub passed: bool,
    pub summary: String,
}

fn images() -> PathBuf {
    util::target_dir().join(BARE_METAL_TARGET).join("release")
}

/// The boot archive with the self-test as the only (boot) server.
fn archive(dir: &Path) -> Result<PathBuf> {
    let selftest = std::fs::read(images().join("sion-kernel-selftest")).map_err(|e| format!("sion-kernel-selftest: {e} (run `cargo xtask build`)"))?;
    let mut w = sion_abi::bootfs::Writer::new();
    w.add("servers/selftest", sion_abi::bootfs::regular(0o755), &selftest);
    let path = dir.join("selftest.cpio");
    std::fs::write(&path, w.finish()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The boots: (name, CPUs). One CPU is the machine every other test uses;
/// more CPUs run on multi-threaded TCG, truly in parallel.
const PVH_RUNS: [(&str, u32); 3] = [("PVH (microvm)", 1), ("PVH (microvm, 2 CPUs)", 2), ("PVH (microvm, 4 CPUs)", 4)];
const MB2_RUNS: [(&str, u32); 3] = [("multiboot2 (GRUB ISO, q35)", 1), ("multiboot2 (GRUB ISO, q35, 2 CPUs)", 2), ("multiboot2 (GRUB ISO, q35, 4 CPUs)", 4)];

fn qemu_base(cpus: u32) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-cpu", "max", "-m", "256M", "-display", "none", "-no-reboot"]);
    if cpus > 1 {
        cmd.args(["-accel", "tcg,thread=multi", "-smp"]).arg(cpus.to_string());
    } else {
        cmd.args(["-accel", "tcg"]);
    }
    cmd.args(["-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
    cmd
}

fn judge(name: &'static str, cpus: u32, c: util::Captured) -> Run {
    let log = String::from_utf8_lossy(&c.stdout).into_owned();
    for line in log.lines() {
        tracing::info!("{name}: {line}");
        if line.contains("FAIL") || line.contains("panic") {
            eprintln!("  {name}: {line}");
        }
    }
    let last = log.lines().rev().find(|l| l.starts_with("selftest:")).unwrap_or("no self-test output").to_string();
    // isa-debug-exit: guest code 0 -> QEMU status 1.
    let want = format!("cpus: {cpus} found, {cpus} started");
    let cpus_line = log.lines().find(|l| l.starts_with("cpus: ") && l.contains(" found, ")).unwrap_or("no `cpus:` line");
    let cpus_ok = cpus_line == want || cpus_line.starts_with(&format!("{want} "));
    let passed = c.outcome == Outcome::Exited(1) && last.ends_with(" 0 failed") && cpus_ok;
    let summary = if passed {
        format!("{}; {want}", last.trim_start_matches("selftest: "))
    } else if !cpus_ok {
        format!("FAILED (wanted `{want}`, the kernel said `{cpus_line}`; {last})")
    } else {
        format!("FAILED ({}; {last})", c.outcome.short())
    };
    Run { name, passed, summary }
}

pub fn run() -> Result<Vec<Run>> {
    let dir = util::target_dir().join("kernel-tests");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cpio = archive(&dir)?;
    let kernel = images().join("sion-kernel");
    let mut runs = Vec::new();

    // microvm's ACPI tables (acpi=auto, on by default) list the CPUs; PVH passes their root pointer.
    for (name, cpus) in PVH_RUNS {
        let mut pvh = qemu_base(cpus);
        pvh.args(["-machine", "microvm", "-nodefaults", "-no-user-config", "-kernel"]).arg(&kernel).arg("-initrd").arg(&cpio);
        runs.push(judge(name, cpus, util::capture(&mut pvh, None, Duration::from_secs(60))));
    }

    // multiboot2 through GRUB, when grub-mkrescue is there (cargo xtask setup installs it).
    let iso_root = dir.join("iso");
    std::fs::create_dir_all(iso_root.join("boot/grub")).map_err(|e| e.to_string())?;
    std::fs::copy(&kernel, iso_root.join("boot/sion-kernel")).map_err(|e| e.to_string())?;
    std::fs::copy(&cpio, iso_root.join("boot/boot.cpio")).map_err(|e| e.to_string())?;
    std::fs::write(
        iso_root.join("boot/grub/grub.cfg"),
        "set timeout=0\nmenuentry \"SiON kernel self-test\" {\n  multiboot2 /boot/sion-kernel console=com1\n  module2 /boot/boot.cpio\n  boot\n}\n",
    )
    .map_err(|e| e.to_string())?;
    let iso = dir.join("selftest.iso");
    let mut mk = Command::new("grub-mkrescue");
    mk.arg("-o").arg(&iso).arg(&iso_root);
    let made = util::capture(&mut mk, None, Duration::from_secs(120));
    if made.outcome != Outcome::Exited(0) {
        runs.push(Run { name: "multiboot2 (GRUB ISO)", passed: false, summary: format!("FAILED: grub-mkrescue: {}", String::from_utf8_lossy(&made.stderr).lines().last().unwrap_or("")) });
        return Ok(runs);
    }
    for (name, cpus) in MB2_RUNS {
        let mut mb2 = qemu_base(cpus);
        mb2.args(["-machine", "q35", "-cdrom"]).arg(&iso);
        runs.push(judge(name, cpus, util::capture(&mut mb2, None, Duration::from_secs(120))));
    }
    Ok(runs)
}
