//! `sion exec` as a user runs it, on real binaries built here by real compilers.
//!
//! The ELF checks need no node. The end-to-end tests boot QEMU with a stand-in
//! for the kernel (`fixtures/fake_node.S`, a tiny PVH guest that speaks the job
//! console protocol), so the whole host side (archive, sockets, pumps, exit
//! status, failure reasons) is exercised before the real kernel exists.
//! A case whose compiler or QEMU is missing is skipped with a printed note.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SION: &str = env!("CARGO_BIN_EXE_sion");
const HELLO_C: &str = "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n";

fn have(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {cmd}")).stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Compiles `source` (C or assembly, by `ext`) with `cc flags`; None (with a
/// note) if the compiler is missing or cannot build for these flags here.
fn compile(dir: &Path, name: &str, cc: &str, flags: &[&str], source: &str, ext: &str) -> Option<PathBuf> {
    if !have(cc) {
        eprintln!("note: {cc} not installed; skipping {name}");
        return None;
    }
    let src = dir.join(format!("{name}.{ext}"));
    std::fs::write(&src, source).unwrap();
    let out = dir.join(name);
    let r = Command::new(cc).args(flags).arg("-o").arg(&out).arg(&src).output().unwrap();
    if !r.status.success() {
        eprintln!("note: `{cc} {}` failed here; skipping {name}: {}", flags.join(" "), String::from_utf8_lossy(&r.stderr).trim());
        return None;
    }
    Some(out)
}

/// Runs sion with the node images in `images` and `input` on its stdin.
fn sion(args: &[&str], images: &Path, input: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(SION);
    // The fake node speaks the job console on COM2.
    cmd.args(args).env("SION_IMAGE_DIR", images).env("SION_JOB_CONSOLE", "com2").env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(data) = input {
        let mut stdin = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts that `sion exec prog` refused the program with `status` and a message containing `want`.
fn assert_refused(prog: &Path, status: i32, want: &str) {
    let empty = tempfile::tempdir().unwrap();
    let o = sion(&["exec", prog.to_str().unwrap()], empty.path(), None, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(status), "{}: {err}", prog.display());
    assert!(err.contains(want), "{}: expected {want:?} in {err:?}", prog.display());
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(o.stdout.is_empty());
}

/// Asserts that the program passed the checks: with no node images sion stops
/// right after them, asking for `cargo xtask build`.
fn assert_accepted(prog: &Path) {
    let empty = tempfile::tempdir().unwrap();
    let o = sion(&["exec", prog.to_str().unwrap(), "arg"], empty.path(), None, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(125), "{}: {err}", prog.display());
    assert!(err.starts_with("sion: node failed: ") && err.contains("cargo xtask build"), "{}: {err}", prog.display());
}

#[test]
fn static_programs_are_accepted() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut built = 0;
    for (name, cc, flags) in [
        ("glibc_static", "gcc", &["-static", "-O1"][..]),
        ("glibc_static_pie", "gcc", &["-static-pie", "-fPIE", "-O1"]),
        ("glibc_i386_static", "gcc", &["-m32", "-static", "-O1"]),
        ("musl_static", "musl-gcc", &["-static", "-O1"]),
    ] {
        if let Some(p) = compile(dir, name, cc, flags, HELLO_C, "c") {
            assert_accepted(&p);
            built += 1;
        }
    }
    assert!(built > 0 || !have("gcc"), "gcc is installed but built nothing");
}

#[test]
fn dynamic_programs_and_scripts_are_accepted() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for (name, cc, flags) in [
        ("glibc_dynamic", "gcc", &["-O1"][..]),
        ("glibc_i386_dynamic", "gcc", &["-m32", "-O1"]),
        ("musl_dynamic", "musl-gcc", &["-O1"]),
    ] {
        let Some(p) = compile(dir, name, cc, flags, HELLO_C, "c") else { continue };
        assert_accepted(&p);
    }
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("script.sh");
    std::fs::write(&script, b"#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_accepted(&script);
    // A script whose interpreter is missing: as a shell says it (126).
    let bad = dir.join("bad.sh");
    std::fs::write(&bad, b"#!/no/such/shell\necho hi\n").unwrap();
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_refused(&bad, 126, "bad interpreter /no/such/shell");
}

#[test]
fn other_files_are_refused_with_a_reason() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    use std::os::unix::fs::PermissionsExt;
    let exec_file = |name: &str, data: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    assert_refused(&exec_file("text", b"echo hi\n"), 126, "not an ELF executable or a `#!` script");
    assert_refused(&exec_file("empty", b""), 126, "not an ELF");
    assert_refused(&dir.join("does-not-exist"), 127, "No such file or directory");
    assert_refused(dir, 126, "Is a directory");
    let noexec = dir.join("noexec");
    std::fs::write(&noexec, b"\x7fELF").unwrap();
    assert_refused(&noexec, 126, "Permission denied");

    if let Some(p) = compile(dir, "truncated", "gcc", &["-static"], HELLO_C, "c") {
        let bytes = std::fs::read(&p).unwrap();
        for cut in [bytes.len() / 2, 100, 40] {
            let t = exec_file(&format!("truncated_{cut}"), &bytes[..cut]);
            assert_refused(&t, 126, "malformed ELF");
        }
    }
    if let Some(p) = compile(dir, "object.o", "gcc", &["-c"], HELLO_C, "c") {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_refused(&p, 126, "relocatable object");
    }
    if let Some(p) = compile(dir, "libx.so", "gcc", &["-shared", "-fPIC"], "int f(void) { return 1; }\n", "c") {
        assert_refused(&p, 126, "shared library");
    }
    let mut cross = 0;
    for (cc, machine) in [("aarch64-linux-gnu-gcc", "aarch64"), ("riscv64-linux-gnu-gcc", "riscv"), ("arm-linux-gnueabihf-gcc", "arm")] {
        if let Some(p) = compile(dir, &format!("hello_{machine}"), cc, &["-static"], HELLO_C, "c") {
            assert_refused(&p, 126, &format!("ELF for {machine}"));
            cross += 1;
        }
    }
    if cross == 0 {
        eprintln!("note: no cross compiler installed; the non-x86 case is covered by unit tests only");
    }
}

// ---- end to end, with the fake node ----

/// The fake kernel images, or None (with a note) without QEMU or `gcc -m32`.
fn fake_images(dir: &Path, variant: &str) -> Option<PathBuf> {
    if !have("qemu-system-x86_64") {
        eprintln!("note: qemu-system-x86_64 not installed; skipping the end-to-end test");
        return None;
    }
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_node.S")).unwrap();
    let mut flags = vec!["-m32", "-nostdlib", "-static", "-no-pie", "-Wl,-Ttext-segment=0x100000", "-Wl,--build-id=none"];
    if !variant.is_empty() {
        flags.push(variant);
    }
    let kernel = compile(dir, &format!("fake_node{variant}"), "gcc", &flags, &src, "S")?;
    let images = dir.join(format!("images{variant}"));
    std::fs::create_dir_all(&images).unwrap();
    std::fs::copy(kernel, images.join("sion-kernel")).unwrap();
    std::fs::write(images.join("sion-personality"), b"\x7fELF stand-in").unwrap();
    std::fs::write(images.join("sion-netstack"), b"\x7fELF stand-in").unwrap();
    Some(images)
}

#[test]
fn end_to_end_with_a_fake_node() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let Some(images) = fake_images(dir, "") else { return };
    // Any static ELF is a valid program for the fake node; use the fake itself.
    let prog = images.join("sion-kernel");
    let prog = prog.to_str().unwrap();

    // Stdin comes back as stdout byte for byte; stderr and the status are the job's.
    let input: Vec<u8> = (0..20_000u32).map(|i| (i * 7 + i / 256) as u8).collect();
    let o = sion(&["exec", "--env", "A=1", prog, "-x", "--verbose"], &images, Some(&input), &[]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(o.stdout == input, "stdout differs from stdin ({} vs {} bytes)", o.stdout.len(), input.len());
    assert_eq!(stderr(&o), "err\n", "nothing but the job's stderr");

    // No stdin at all: EOF at once.
    let log = dir.join("node.log");
    let o = sion(&["exec", "--log", log.to_str().unwrap(), prog], &images, None, &[]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(stderr(&o), "err\n");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "fake node up\n");

    // --verbose shows the kernel log on stderr.
    let o = sion(&["exec", "--verbose", prog], &images, None, &[]);
    assert_eq!(o.status.code(), Some(7));
    assert!(stderr(&o).contains("fake node up"), "{}", stderr(&o));

    // A node that never finishes: stdin stays open, so the fake waits forever.
    let started = Instant::now();
    let mut child = Command::new(SION)
        .args(["exec", "--timeout", "1", prog])
        .env("SION_IMAGE_DIR", &images)
        .env("SION_JOB_CONSOLE", "com2")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin_kept_open = child.stdin.take();
    let o = child.wait_with_output().unwrap();
    drop(stdin_kept_open);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(stderr(&o), "err\nsion: node failed: timed out after 1 s\n");
    assert!(started.elapsed() < Duration::from_secs(20));

    // Without QEMU on PATH.
    let empty_path = dir.join("empty-path");
    std::fs::create_dir_all(&empty_path).unwrap();
    let o = sion(&["exec", prog], &images, None, &[("PATH", empty_path.to_str().unwrap())]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(stderr(&o), "sion: node failed: qemu-system-x86_64 not found (apt-get install qemu-system-x86)\n");
}

#[test]
fn a_crashing_node_reports_its_panic() {
    let d = tempfile::tempdir().unwrap();
    let Some(images) = fake_images(d.path(), "-DPANIC") else { return };
    let prog = images.join("sion-kernel");
    let o = sion(&["exec", prog.to_str().unwrap()], &images, Some(b"ignored"), &[]);
    assert_eq!(o.status.code(), Some(125));
    assert!(o.stdout.is_empty());
    assert_eq!(stderr(&o), "sion: node failed: kernel panic: fake node crashed\n");
}

#[test]
fn a_node_kvm_cannot_run_falls_back_to_tcg() {
    let d = tempfile::tempdir().unwrap();
    let Some(images) = fake_images(d.path(), "") else { return };
    let prog = images.join("sion-kernel");
    // A QEMU whose KVM hangs the guest: asked for KVM, it starts the node
    // but never runs it (-S), as a host where ring 3 faults under KVM.
    let wrap = d.path().join("wrap");
    std::fs::create_dir_all(&wrap).unwrap();
    let real = String::from_utf8(Command::new("sh").args(["-c", "command -v qemu-system-x86_64"]).output().unwrap().stdout).unwrap();
    let qemu = wrap.join("qemu-system-x86_64");
    let script = format!("#!/bin/sh\nhang=\nfor a; do shift; if [ \"$a\" = kvm ]; then a=tcg; hang=-S; fi; set -- \"$@\" \"$a\"; done\nexec {} $hang \"$@\"\n", real.trim());
    std::fs::write(&qemu, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&qemu, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", wrap.display(), std::env::var("PATH").unwrap_or_default());
    let started = Instant::now();
    let o = sion(&["exec", "--accel", "kvm", prog.to_str().unwrap()], &images, Some(b"through stdin"), &[("PATH", &path)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(7), "{err}");
    assert_eq!(o.stdout, b"through stdin", "{err}");
    assert!(err.starts_with("sion: warning: --accel kvm: the node made no progress in 5 s after boot;") && err.contains("running it with TCG\n"), "{err}");
    assert!(err.ends_with("\nerr\n"), "one warning line, then the job's stderr: {err:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
}
