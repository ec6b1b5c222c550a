//! `cargo xtask deb`: the Debian package of the workstation side,
//! `target/debian/sion_<version>_amd64.deb`, built with `dpkg-deb` alone:
//! `/usr/bin/sion`, the node images in `/usr/lib/sion/` (where an installed
//! `sion` looks for them), the `sion daemon` service (`tools/sion/debian/`:
//! the unit and the maintainer scripts), shell completions and the man pages
//! (made by the built `sion generate`).
//!
//! `cargo xtask deb --test` also installs it on this machine (root, dpkg),
//! runs the daemon with the unit's own command line as its user, and removes
//! and purges it, checking what each step leaves.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::build::BARE_METAL_TARGET;
use crate::util::{self, Result};

/// The node images `sion exec` and `sion up` boot (not the self-tests).
pub const NODE_IMAGES: &[&str] = &["sion-kernel", "sion-personality", "sion-netstack", "sion-group-server"];

const UNIT: &str = include_str!("../../sion/debian/sion.service");
const POSTINST: &str = include_str!("../../sion/debian/postinst");
const PRERM: &str = include_str!("../../sion/debian/prerm");
const POSTRM: &str = include_str!("../../sion/debian/postrm");

/// The package's version (the workspace's).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

pub fn deb_path() -> PathBuf {
    util::target_dir().join("debian").join(format!("sion_{}_amd64.deb", version()))
}

/// What the package holds, besides the node images (checked by the test).
const FILES: &[&str] = &[
    "./usr/bin/sion",
    "./lib/systemd/system/sion.service",
    "./usr/share/bash-completion/completions/sion",
    "./usr/share/zsh/vendor-completions/_sion",
    "./usr/share/fish/vendor_completions.d/sion.fish",
    "./usr/share/man/man1/sion.1.gz",
    "./usr/share/man/man1/sion-daemon.1.gz",
    "./usr/share/man/man1/sion-key-import.1.gz",
    "./usr/share/doc/sion/copyright",
];

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> String {
    move |e| format!("{what}: {e}")
}

fn write(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(io(d.display()))?;
    }
    std::fs::write(path, data).map_err(io(path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io(path.display()))
}

/// The standard output of `cmd`, or why it failed.
fn output(cmd: &mut Command) -> Result<Vec<u8>> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("cannot run {}: {e}", util::show(cmd)))?;
    if !out.status.success() {
        return Err(format!("{} failed ({}): {}", util::show(cmd), out.status, String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(out.stdout)
}

/// Builds the package from what `cargo xtask build` made; returns its path.
pub fn package() -> Result<PathBuf> {
    util::banner("Debian package");
    let sion = util::sion_binary();
    let images = util::target_dir().join(BARE_METAL_TARGET).join("release");
    let dir = util::target_dir().join("debian");
    let root = dir.join("root");
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(io(root.display()))?;
    }

    let bin = std::fs::read(&sion).map_err(|e| format!("{}: {e} (run `cargo xtask build`)", sion.display()))?;
    write(&root.join("usr/bin/sion"), &bin, 0o755)?;
    for name in NODE_IMAGES {
        let path = images.join(name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e} (run `cargo xtask build`)", path.display()))?;
        write(&root.join("usr/lib/sion").join(name), &bytes, 0o644)?;
    }
    write(&root.join("lib/systemd/system/sion.service"), UNIT.as_bytes(), 0o644)?;

    // Completions and the man page, from the clap definitions of the binary packaged.
    let generate = |what: &str| output(Command::new(&sion).args(["generate", what]));
    write(&root.join("usr/share/bash-completion/completions/sion"), &generate("bash")?, 0o644)?;
    write(&root.join("usr/share/zsh/vendor-completions/_sion"), &generate("zsh")?, 0o644)?;
    write(&root.join("usr/share/fish/vendor_completions.d/sion.fish"), &generate("fish")?, 0o644)?;
    // sion.1 and a page per subcommand (sion-exec.1, sion-key-import.1...).
    let man = dir.join("man");
    if man.exists() {
        std::fs::remove_dir_all(&man).map_err(io(man.display()))?;
    }
    output(Command::new(&sion).args(["generate", "man", "--dir"]).arg(&man))?;
    for e in std::fs::read_dir(&man).map_err(io(man.display()))? {
        let page = e.map_err(io(man.display()))?.path();
        let name = page.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let roff = std::fs::read(&page).map_err(io(page.display()))?;
        write(&root.join("usr/share/man/man1").join(format!("{name}.gz")), &gzip(&roff)?, 0o644)?;
    }
    let license = std::fs::read_to_string(util::root().join("LICENSE")).map_err(io("LICENSE"))?;
    let copyright =
        format!("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: sion\n\nFiles: *\nLicense: see below\n\n{license}");
    write(&root.join("usr/share/doc/sion/copyright"), copyright.as_bytes(), 0o644)?;

    // DEBIAN/: control and the maintainer scripts.
    let installed_kib = du_kib(&root)?;
    let depends = depends(&sion)?;
    let control = format!(
        "Package: sion\n\
         Version: {version}\n\
         Architecture: amd64\n\
         Maintainer: SiON developers <sion@localhost>\n\
         Installed-Size: {installed_kib}\n\
         Depends: {depends}, adduser, iproute2\n\
         Recommends: qemu-system-x86\n\
         Section: admin\n\
         Priority: optional\n\
         Description: SiON workstation command and group manager service\n \
         sion runs static and dynamic Linux programs on SiON nodes (throwaway\n \
         nodes in QEMU, or the group's spare PCs on the LAN) as if they ran here.\n \
         This package installs the sion command, the node images it boots, and\n \
         the sion service: this workstation as a member of the group (sion daemon,\n \
         as user sion, with the group key /etc/sion/group.key).\n \
         .\n \
         QEMU (qemu-system-x86) is needed by sion exec and sion up, not by the service.\n",
        version = version()
    );
    write(&root.join("DEBIAN/control"), control.as_bytes(), 0o644)?;
    for (name, text) in [("postinst", POSTINST), ("prerm", PRERM), ("postrm", POSTRM)] {
        write(&root.join("DEBIAN").join(name), text.as_bytes(), 0o755)?;
    }

    let deb = deb_path();
    let _ = std::fs::remove_file(&deb);
    let mut cmd = Command::new("dpkg-deb");
    cmd.args(["--build", "--root-owner-group"]).arg(&root).arg(&deb);
    output(&mut cmd)?;
    tracing::info!("built {}", deb.display());
    Ok(deb)
}

fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    // -n: no name or time stamp, so the same page gives the same bytes.
    let mut child = Command::new("gzip").args(["-9n"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().map_err(io("gzip"))?;
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().map_err(io("gzip"))?;
    writer.join().map_err(|_| "gzip: writer panicked".to_string())?.map_err(io("gzip"))?;
    if !out.status.success() {
        return Err(format!("gzip failed: {}", out.status));
    }
    Ok(out.stdout)
}

/// Installed-Size: the files' sizes in KiB, rounded up each.
fn du_kib(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir).map_err(io(dir.display()))? {
        let e = e.map_err(io(dir.display()))?;
        let m = e.metadata().map_err(io(e.path().display()))?;
        total += if m.is_dir() { du_kib(&e.path())? } else { m.len().div_ceil(1024) };
    }
    Ok(total)
}

/// The shared-library dependencies of `bin`: dpkg-shlibdeps's answer when
/// dpkg-dev is installed, else read from the binary (its NEEDED libgcc_s and
/// the newest GLIBC_ symbol version it asks for).
fn depends(bin: &Path) -> Result<String> {
    if let Ok(d) = shlibdeps(bin) {
        return Ok(d);
    }
    let bytes = std::fs::read(bin).map_err(io(bin.display()))?;
    let glibc = newest_glibc(&bytes).ok_or_else(|| format!("{}: no GLIBC_ symbol versions", bin.display()))?;
    let mut d = format!("libc6 (>= {glibc})");
    if bytes.windows(13).any(|w| w == b"libgcc_s.so.1") {
        d.push_str(", libgcc-s1");
    }
    tracing::info!("dpkg-shlibdeps unavailable; Depends from the binary: {d}");
    Ok(d)
}

fn shlibdeps(bin: &Path) -> Result<String> {
    let tmp = util::target_dir().join("debian/shlibdeps");
    write(&tmp.join("debian/control"), b"Source: sion\n\nPackage: sion\nArchitecture: amd64\n", 0o644)?;
    let out = output(Command::new("dpkg-shlibdeps").current_dir(&tmp).args(["-O", "-e"]).arg(bin))?;
    let text = String::from_utf8_lossy(&out);
    let line = text.lines().find_map(|l| l.strip_prefix("shlibs:Depends=")).ok_or_else(|| format!("dpkg-shlibdeps said {text:?}"))?;
    Ok(line.trim().to_string())
}

/// The newest `GLIBC_2.N` version string in an ELF's bytes (its version needs).
pub fn newest_glibc(bytes: &[u8]) -> Option<String> {
    let mut best: Option<(u32, u32)> = None;
    let pat = b"GLIBC_2.";
    let mut i = 0;
    while let Some(off) = bytes[i..].windows(pat.len()).position(|w| w == pat) {
        let start = i + off + pat.len();
        let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
        let n = digits(start);
        if n > 0 {
            let minor: u32 = std::str::from_utf8(&bytes[start..start + n]).ok()?.parse().ok()?;
            let mut patch = 0;
            if bytes.get(start + n) == Some(&b'.') {
                let m = digits(start + n + 1);
                patch = std::str::from_utf8(&bytes[start + n + 1..start + n + 1 + m]).ok()?.parse().unwrap_or(0);
            }
            if best.is_none_or(|b| (minor, patch) > b) {
                best = Some((minor, patch));
            }
        }
        i = start;
    }
    best.map(|(m, p)| if p == 0 { format!("2.{m}") } else { format!("2.{m}.{p}") })
}

// ---- the test ----------------------------------------------------------------

/// Why the install test cannot run here, if it cannot.
pub fn test_available() -> std::result::Result<(), String> {
    // SAFETY: geteuid has no side effects.
    if unsafe { libc::geteuid() } != 0 {
        return Err("needs root (dpkg -i)".into());
    }
    // Under systemd the postinst starts the service for real, on this
    // machine's LAN: not a test's business (CI runs without systemd).
    if Path::new("/run/systemd/system").exists() {
        return Err("systemd runs here: dpkg -i would start the sion service on this machine's LAN".into());
    }
    for tool in ["dpkg", "dpkg-deb", "setpriv", "unshare", "ip"] {
        if !Command::new("sh").args(["-c", &format!("command -v {tool}")]).stdout(Stdio::null()).status().is_ok_and(|s| s.success()) {
            return Err(format!("needs {tool}"));
        }
    }
    Ok(())
}

/// What the test found, for the summary line.
struct Found {
    checks: Vec<String>,
}

impl Found {
    fn ok(&mut self, what: impl Into<String>) {
        let what = what.into();
        tracing::info!("ok: {what}");
        self.checks.push(what);
    }
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

fn text(cmd: &mut Command) -> Result<String> {
    output(cmd).map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn installed() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", "sion"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty() && !o.stdout.ends_with(b"not-installed"))
}

fn user_exists(name: &str) -> bool {
    Command::new("getent").args(["passwd", name]).stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn group_exists(name: &str) -> bool {
    Command::new("getent").args(["group", name]).stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Puts the machine back as the test found it, whatever happened.
struct Cleanup {
    daemon: Option<Child>,
    run_dir: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            stop(&mut d);
        }
        if self.run_dir {
            let _ = std::fs::remove_dir_all("/run/sion");
        }
        if installed() {
            let _ = Command::new("dpkg").args(["--purge", "sion"]).stdout(Stdio::null()).status();
        }
        if user_exists("sion") {
            let _ = Command::new("userdel").arg("sion").status();
        }
        if group_exists("sion") {
            let _ = Command::new("groupdel").arg("sion").status();
        }
        let _ = std::fs::remove_dir_all("/etc/sion");
    }
}

fn stop(child: &mut Child) {
    // SAFETY: kill() has no memory effects; the pid is our child's.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The value of `key=` in the unit's [Service] section.
fn unit_value<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines().find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('='))).map(str::trim)
}

/// Builds the package, checks it, installs, runs, removes and purges it.
pub fn test(deb: &Path) -> Result<String> {
    test_available()?;
    // Hermetic: refuse to touch a machine that has the package, its user or its files.
    if installed() || user_exists("sion") || group_exists("sion") || Path::new("/etc/sion").exists() || Path::new("/run/sion").exists() {
        return Err("this machine already has the sion package, user or group, /etc/sion or /run/sion; the test would clobber them".into());
    }
    let started = Instant::now();
    let mut f = Found { checks: Vec::new() };

    // The package itself.
    let info = text(Command::new("dpkg-deb").arg("--info").arg(deb))?;
    for want in ["Package: sion", &format!("Version: {}", version()), "Architecture: amd64", "Recommends: qemu-system-x86", " postinst", " prerm", " postrm"] {
        check(info.contains(want), || format!("dpkg-deb --info lacks {want:?}:\n{info}"))?;
    }
    let depends = info.lines().find_map(|l| l.trim().strip_prefix("Depends: ")).unwrap_or("");
    check(depends.contains("libc6 (>=") && depends.contains("adduser") && depends.contains("iproute2"), || format!("Depends: {depends}"))?;
    f.ok(format!("control: Depends: {depends}"));
    let contents = text(Command::new("dpkg-deb").arg("--contents").arg(deb))?;
    let listed: Vec<(&str, &str)> = contents.lines().filter_map(|l| Some((l.split_whitespace().nth(1)?, l.split_whitespace().last()?))).collect();
    let images: Vec<String> = NODE_IMAGES.iter().map(|n| format!("./usr/lib/sion/{n}")).collect();
    for want in FILES.iter().copied().chain(images.iter().map(String::as_str)) {
        check(listed.iter().any(|(_, p)| *p == want), || format!("{want} not in the package:\n{contents}"))?;
    }
    check(listed.iter().all(|(owner, _)| *owner == "root/root"), || format!("files not owned by root/root:\n{contents}"))?;
    f.ok(format!("{} entries, all root/root", listed.len()));

    let mut cleanup = Cleanup { daemon: None, run_dir: false };
    // Install.
    let dpkg = |args: &[&str]| {
        let mut c = Command::new("dpkg");
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        text(&mut c)
    };
    dpkg(&["--install", &deb.to_string_lossy()])?;
    check(installed(), || "dpkg -i: not installed".into())?;
    for p in FILES.iter().chain(images.iter().map(String::as_str).collect::<Vec<_>>().iter()) {
        let p = &p[1..];
        check(Path::new(p).is_file(), || format!("{p} missing after dpkg -i"))?;
    }
    let passwd = text(Command::new("getent").args(["passwd", "sion"]))?;
    let fields: Vec<&str> = passwd.trim().split(':').collect();
    let uid: u32 = fields.get(2).and_then(|u| u.parse().ok()).ok_or_else(|| format!("getent passwd sion: {passwd}"))?;
    check(uid < 1000 && fields.get(5) == Some(&"/var/lib/sion"), || format!("user sion is not a system user at /var/lib/sion: {passwd}"))?;
    let group = text(Command::new("getent").args(["group", "sion"]))?;
    let gid: u32 = group.split(':').nth(2).and_then(|g| g.trim().parse().ok()).ok_or_else(|| format!("getent group sion: {group}"))?;
    f.ok(format!("system user sion ({uid}:{gid})"));

    // The key: root:sion 0640, what `sion key show` prints, and the service user's.
    let key_path = Path::new("/etc/sion/group.key");
    let m = std::fs::metadata(key_path).map_err(io(key_path.display()))?;
    check(m.mode() & 0o7777 == 0o640 && m.uid() == 0 && m.gid() == gid, || {
        format!("{}: mode {:o} owner {}:{}", key_path.display(), m.mode() & 0o7777, m.uid(), m.gid())
    })?;
    let key = std::fs::read_to_string(key_path).map_err(io(key_path.display()))?;
    check(key.len() == 65 && key.ends_with('\n') && key[..64].bytes().all(|b| b.is_ascii_hexdigit()), || format!("the key file holds {key:?}"))?;
    f.ok("/etc/sion/group.key 0640 root:sion");
    let version_line = text(Command::new("/usr/bin/sion").arg("--version"))?;
    check(version_line.trim() == format!("sion {}", version()), || format!("sion --version: {version_line}"))?;
    let shown = text(Command::new("/usr/bin/sion").args(["key", "show", "--key-file", "/etc/sion/group.key"]))?;
    check(shown == key, || format!("sion key show printed {shown:?}, the file holds {key:?}"))?;
    // As the service's user, with no key of its own, sion finds the service's.
    let as_sion = |args: &[&str]| {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=sion", "--regid=sion", "--init-groups", "--", "env", "-i", "HOME=/var/lib/sion", "PATH=/usr/bin:/bin", "/usr/bin/sion"]).args(args);
        text(&mut c)
    };
    let shown = as_sion(&["key", "show"])?;
    check(shown == key, || format!("sion key show as user sion printed {shown:?}"))?;
    f.ok(format!("{} and sion key show (as root and as user sion)", version_line.trim()));
    // import refuses a malformed key and leaves the file as it was.
    let bad = Command::new("/usr/bin/sion")
        .args(["key", "import", "--key-file", "/etc/sion/group.key", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(b"not a key\n")?;
            c.wait_with_output()
        })
        .map_err(io("sion key import"))?;
    let why = String::from_utf8_lossy(&bad.stderr);
    check(!bad.status.success() && why.contains("not a hexadecimal digit"), || format!("sion key import of a bad key: {}: {why}", bad.status))?;
    check(std::fs::read_to_string(key_path).ok().as_deref() == Some(&key), || "a refused import changed the key".into())?;
    f.ok(format!("a malformed import refused: {}", why.trim()));

    // The node images where the installed sion looks for them: a node boots.
    if Command::new("sh").args(["-c", "command -v qemu-system-x86_64"]).stdout(Stdio::null()).status().is_ok_and(|s| s.success()) {
        let mut exec = Command::new("/usr/bin/sion");
        exec.args(["exec", "--timeout", "60", "/bin/echo", "booted", "from", "/usr/lib/sion"]).current_dir("/").env_remove("SION_IMAGE_DIR");
        let run = util::capture(&mut exec, None, Duration::from_secs(90));
        let out = String::from_utf8_lossy(&run.stdout);
        check(run.outcome == util::Outcome::Exited(0) && out == "booted from /usr/lib/sion\n", || {
            format!("installed sion exec /bin/echo: {:?}: {out:?} {}", run.outcome, String::from_utf8_lossy(&run.stderr))
        })?;
        f.ok("installed sion exec boots a node from /usr/lib/sion");
    } else {
        f.ok("installed sion exec skipped (no qemu-system-x86_64: only recommended)");
    }

    // The unit.
    let unit_path = "/lib/systemd/system/sion.service";
    let unit = std::fs::read_to_string(unit_path).map_err(io(unit_path))?;
    if Command::new("sh").args(["-c", "command -v systemd-analyze"]).stdout(Stdio::null()).status().is_ok_and(|s| s.success()) {
        // It also runs `man sion` for Documentation=; without man-db that cannot pass.
        let has_man = Command::new("sh").args(["-c", "command -v man"]).stdout(Stdio::null()).status().is_ok_and(|s| s.success());
        let mut cmd = Command::new("systemd-analyze");
        cmd.arg("verify");
        if !has_man {
            cmd.arg("--man=no");
        }
        let out = cmd.arg(unit_path).output().map_err(io("systemd-analyze"))?;
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let about_ours: Vec<&str> = said.lines().filter(|l| l.contains("sion.service")).collect();
        check(out.status.success() && about_ours.is_empty(), || format!("systemd-analyze verify {unit_path} ({}):\n{said}", out.status))?;
        f.ok(if has_man { "systemd-analyze verify: clean (man sion found)" } else { "systemd-analyze verify --man=no: clean (no man here)" });
    } else {
        tracing::info!("skipped systemd-analyze verify: systemd-analyze is not installed");
        f.ok("systemd-analyze verify skipped (not installed)");
    }

    // The daemon, under the unit's own command line, as its user. systemd
    // would make /run/sion (RuntimeDirectory=); when it is not PID 1 the test
    // does, and runs the line in a network namespace of its own (loopback
    // only: the daemon broadcasts on the LAN it finds).
    let exec_start = unit_value(&unit, "ExecStart").ok_or("the unit has no ExecStart")?;
    let user = unit_value(&unit, "User").ok_or("the unit has no User")?;
    let unit_group = unit_value(&unit, "Group").unwrap_or(user);
    let argv: Vec<&str> = exec_start.split_whitespace().collect();
    check(unit_value(&unit, "RuntimeDirectory") == Some("sion"), || "RuntimeDirectory is not sion".into())?;
    std::fs::create_dir("/run/sion").map_err(io("/run/sion"))?;
    cleanup.run_dir = true;
    check(Command::new("chown").args([&format!("{user}:{unit_group}"), "/run/sion"]).status().is_ok_and(|s| s.success()), || "chown /run/sion".into())?;
    std::fs::set_permissions("/run/sion", std::fs::Permissions::from_mode(0o750)).map_err(io("/run/sion"))?;
    let log_path = util::target_dir().join("debian/daemon.log");
    let log = std::fs::File::create(&log_path).map_err(io(log_path.display()))?;
    let script = "ip link set lo up && u=$0 g=$1 && shift && exec setpriv --reuid=\"$u\" --regid=\"$g\" --init-groups --no-new-privs -- env -i HOME=/var/lib/sion PATH=/usr/bin:/bin \"$@\"";
    let mut daemon = Command::new("unshare");
    daemon.args(["--net", "--", "sh", "-c", script, user, unit_group]).args(&argv).stdin(Stdio::null()).stdout(log.try_clone().map_err(io("log"))?).stderr(log);
    cleanup.daemon = Some(daemon.spawn().map_err(io("unshare"))?);
    let control = argv.iter().position(|a| *a == "--control").and_then(|i| argv.get(i + 1)).copied().unwrap_or("/run/sion/daemon.sock");
    let deadline = Instant::now() + Duration::from_secs(15);
    let nodes = loop {
        if let Ok(t) = text(Command::new("/usr/bin/sion").args(["nodes", "--control", control])) {
            break t;
        }
        if let Some(Ok(Some(st))) = cleanup.daemon.as_mut().map(Child::try_wait) {
            return Err(format!("the daemon ended ({st}): {}", std::fs::read_to_string(&log_path).unwrap_or_default()));
        }
        if Instant::now() >= deadline {
            return Err(format!("no answer on {control} in 15 s: {}", std::fs::read_to_string(&log_path).unwrap_or_default()));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    check(nodes.contains("(* this workstation; 1 members)"), || format!("sion nodes:\n{nodes}"))?;
    // unshare, sh, setpriv and env each exec the next: the child is the daemon.
    let ps = text(Command::new("ps").args(["-o", "user=,args=", "-p"]).arg(cleanup.daemon.as_ref().map(Child::id).unwrap_or(0).to_string()))?;
    check(ps.contains(&format!("{user} ")) && ps.contains(exec_start), || format!("the daemon runs as: {ps}"))?;
    let row = nodes.lines().nth(1).unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ");
    f.ok(format!("the daemon runs as {user} with the unit's ExecStart; sion nodes: {row}"));
    // The control socket: group sion may use it (a client with a user of its
    // own and no socket of its own finds the service's); others may not.
    let empty_runtime = tempfile_dir()?;
    let as_member = text(
        Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=sion", "--clear-groups", "--", "env", "-i", "PATH=/usr/bin:/bin"])
            .arg(format!("XDG_RUNTIME_DIR={}", empty_runtime.display()))
            .args(["/usr/bin/sion", "nodes"]),
    );
    let _ = std::fs::remove_dir_all(&empty_runtime);
    check(as_member.as_ref().is_ok_and(|t| t.contains("1 members")), || format!("sion nodes as a member of group sion: {as_member:?}"))?;
    let outsider =
        text(Command::new("setpriv").args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", "/usr/bin/sion", "nodes", "--control", control]));
    check(outsider.is_err(), || format!("sion nodes as nobody:nogroup answered: {outsider:?}"))?;
    f.ok("the control socket: group sion yes (found without --control), others no");
    if let Some(mut d) = cleanup.daemon.take() {
        stop(&mut d);
    }

    // An upgrade (the same package again) keeps the key.
    dpkg(&["--install", &deb.to_string_lossy()])?;
    check(std::fs::read_to_string(key_path).ok().as_deref() == Some(&key), || "reinstalling replaced the key".into())?;
    f.ok("reinstalled: the key kept");

    // Remove: the files go, the key and the user stay; purge: all goes.
    std::fs::remove_dir_all("/run/sion").map_err(io("/run/sion"))?;
    cleanup.run_dir = false;
    dpkg(&["--remove", "sion"])?;
    for p in FILES.iter().chain(images.iter().map(String::as_str).collect::<Vec<_>>().iter()) {
        check(!Path::new(&p[1..]).exists(), || format!("{} left after dpkg -r", &p[1..]))?;
    }
    check(!Path::new("/usr/lib/sion").exists(), || "/usr/lib/sion left after dpkg -r".into())?;
    check(key_path.is_file() && user_exists("sion"), || "dpkg -r removed the key or the user".into())?;
    f.ok("dpkg -r: files gone, key and user kept");
    dpkg(&["--purge", "sion"])?;
    for p in ["/etc/sion", "/var/lib/sion", "/run/sion", "/etc/systemd/system/multi-user.target.wants/sion.service"] {
        check(std::fs::symlink_metadata(p).is_err(), || format!("{p} left after dpkg -P"))?;
    }
    check(!user_exists("sion") && !group_exists("sion") && !installed(), || "dpkg -P left the user, the group or the package".into())?;
    f.ok("dpkg -P: key, user and group gone");
    drop(cleanup);

    Ok(format!(
        "{} checks passed in {:.1} s (built, installed, ran the unit's ExecStart as sion, upgraded, removed, purged)",
        f.checks.len(),
        started.elapsed().as_secs_f64()
    ))
}

/// An empty directory for a client's XDG_RUNTIME_DIR, readable by anyone.
fn tempfile_dir() -> Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("sion-deb-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).map_err(io(d.display()))?;
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).map_err(io(d.display()))?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_glibc_version() {
        assert_eq!(newest_glibc(b"\0GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.3.4\0GLIBC_PRIVATE\0").as_deref(), Some("2.34"));
        assert_eq!(newest_glibc(b"GLIBC_2.2.5").as_deref(), Some("2.2.5"));
        assert_eq!(newest_glibc(b"nothing"), None);
    }

    #[test]
    fn unit_values() {
        assert_eq!(unit_value(UNIT, "User"), Some("sion"));
        assert!(unit_value(UNIT, "ExecStart").unwrap().starts_with("/usr/bin/sion daemon "));
        assert_eq!(unit_value(UNIT, "RuntimeDirectory"), Some("sion"));
    }
}
