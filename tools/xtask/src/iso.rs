//! `cargo xtask iso`: a bootable GRUB ISO (BIOS) of a SiON group node: the
//! kernel (multiboot2) and a boot archive with the group server and the
//! netstack, for a PC or VM with a virtio-net PCI card (QEMU `q35`). The
//! group key is baked into the image's boot command line (issue #5: "from the
//! node's boot command line or image").

use crate::build::BARE_METAL_TARGET;
use crate::util::{self, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The netstack's grants on a q35-like PC: ECAM at 0xb0000000 (bus 0), BARs in
/// the 32-bit PCI hole below the I/O APIC, PCI interrupts on GSI 16-23.
pub const PCI_GRANTS: &str = "netstack.ecam=b0000000 netstack.mmio=b0000000:100000,c0000000:3ec00000 netstack.irq=16-23";

fn default_key_file() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".config"));
    base.join("sion/group.key")
}

/// Build the ISO at `out` with the key in `key_file` (default: sion's).
pub fn build(key_file: Option<&Path>, out: &Path) -> Result<()> {
    let key_path = key_file.map(Path::to_path_buf).unwrap_or_else(default_key_file);
    let key = std::fs::read_to_string(&key_path).map_err(|e| format!("group key {}: {e} (`sion daemon` creates one, or pass --key-file)", key_path.display()))?;
    let key = key.trim();
    if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{}: a group key is 64 hexadecimal digits", key_path.display()));
    }
    let images = util::target_dir().join(BARE_METAL_TARGET).join("release");
    let dir = util::target_dir().join("iso");
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("boot/grub")).map_err(|e| e.to_string())?;
    let mut w = sion_abi::bootfs::Writer::new();
    for (name, file) in [("servers/group", "sion-group-server"), ("servers/netstack", "sion-netstack"), (sion_abi::boot::names::PERSONALITY_IMAGE, "sion-personality")] {
        let bytes = std::fs::read(images.join(file)).map_err(|e| format!("{file}: {e} (run `cargo xtask build`)"))?;
        w.add(name, sion_abi::bootfs::regular(0o755), &bytes);
    }
    std::fs::write(root.join("boot/node.cpio"), w.finish()).map_err(|e| e.to_string())?;
    std::fs::copy(images.join("sion-kernel"), root.join("boot/sion-kernel")).map_err(|e| e.to_string())?;
    let cfg = format!(
        "set timeout=0\nserial --unit=0 --speed=115200\nterminal_output serial\nmenuentry \"SiON group node\" {{\n  multiboot2 /boot/sion-kernel console=com1 {PCI_GRANTS} group.key={key}\n  module2 /boot/node.cpio\n  boot\n}}\n"
    );
    std::fs::write(root.join("boot/grub/grub.cfg"), cfg).map_err(|e| e.to_string())?;
    let mut mk = Command::new("grub-mkrescue");
    mk.arg("-o").arg(out).arg(&root);
    let made = util::capture(&mut mk, None, Duration::from_secs(120));
    if made.outcome != util::Outcome::Exited(0) {
        return Err(format!("grub-mkrescue: {}", String::from_utf8_lossy(&made.stderr).lines().last().unwrap_or("")));
    }
    // The image holds the key: keep it from other users.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
    Ok(())
}

/// CPUs of the ISO test's machine: its group member must count them all.
const SMOKE_CPUS: u32 = 4;

/// Boot the ISO on q35 with 4 CPUs (multi-threaded TCG) and a virtio-net
/// PCI card behind QEMU user networking (restrict=on) and check that the
/// node comes up and starts its group member with its 4 CPUs.
pub fn smoke_test(iso: &Path) -> Result<String> {
    let log = iso.with_extension("log");
    let _ = std::fs::remove_file(&log);
    let mut q = Command::new("qemu-system-x86_64");
    q.args(["-machine", "q35", "-cpu", "max", "-m", "256M", "-display", "none", "-no-reboot", "-accel", "tcg,thread=multi", "-smp", &SMOKE_CPUS.to_string(), "-cdrom"])
        .arg(iso)
        .arg("-serial")
        .arg(format!("file:{}", log.display()))
        .args(["-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0"]);
    let mut child = q.spawn().map_err(|e| format!("qemu: {e}"))?;
    let start = std::time::Instant::now();
    let result = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.starts_with("group: member")) {
            if !line.contains(&format!(", {SMOKE_CPUS} CPUs,")) {
                break Err(format!("the ISO node has {SMOKE_CPUS} CPUs but its group member says otherwise: {line}"));
            }
            break Ok(format!("booted from GRUB in {:.1} s: {line}", start.elapsed().as_secs_f64()));
        }
        if text.contains("panic") || start.elapsed() > Duration::from_secs(60) {
            break Err(format!("the ISO node did not start its group member: {}", text.lines().last().unwrap_or("(no output)")));
        }
        if let Ok(Some(s)) = child.try_wait() {
            break Err(format!("QEMU exited ({s}): {}", text.lines().last().unwrap_or("(no output)")));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}
