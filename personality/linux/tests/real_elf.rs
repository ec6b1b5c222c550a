//! Load plans and full spawns of real static programs, compiled here with the
//! compilers this machine has (gcc -static, musl-gcc -static, gcc -m32 -static,
//! static-PIE). A missing compiler skips its case with a note.

use sion_linux::elf::{plan, PIE_BASE_32, PIE_BASE_64};
use sion_linux::layout::Abi;
use sion_linux::process::{Process, Spawn};
use sion_linux::sim::SimHost;
use sion_linux::stack::{STACK_TOP_32, STACK_TOP_64};
use std::path::PathBuf;
use std::process::Command;

const HELLO: &str = "#include <stdio.h>\nint main(int c, char **v) { printf(\"hello %d\\n\", c); return 3; }\n";

fn build(name: &str, cc: &str, flags: &[&str]) -> Option<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("real_elf");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("hello.c");
    std::fs::write(&src, HELLO).unwrap();
    let out = dir.join(name);
    let st = Command::new(cc).args(flags).arg("-o").arg(&out).arg(&src).status();
    match st {
        Ok(s) if s.success() => Some(std::fs::read(&out).unwrap()),
        _ => {
            eprintln!("note: {cc} {flags:?} unavailable here; case {name} skipped");
            None
        }
    }
}

/// The host's copy of the interpreter a dynamic program names, staged at
/// the same path in the job's tree.
fn interp_of(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    match plan(bytes).unwrap().interp {
        None => vec![],
        Some(name) => {
            let path = String::from_utf8(name).unwrap();
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            vec![(path, data)]
        }
    }
}

fn spawn_and_check(bytes: &[u8], abi: Abi) {
    let staged = interp_of(bytes);
    let mut h = SimHost::new();
    let s = Spawn {
        program: bytes,
        argv: vec![b"hello".to_vec(), b"x".to_vec()],
        envp: vec![b"PATH=/bin".to_vec()],
        exe: "/tmp/hello".into(),
        uid: 0,
        gid: 0,
        seed: [1; 32],
        hwcap: 0x178bfbff,
        stdin_stream: false,
        memory: 1 << 30,
        files: staged.iter().map(|(p, d)| (p.clone(), d.as_slice(), 0o755)).collect(),
        cwd: "/".into(),
        shares: vec![],
    };
    let (p, regs) = Process::spawn(&mut h, &s).unwrap();
    assert_eq!(p.abi, abi);
    match staged.first() {
        None => assert_eq!(regs.rip, p.plan.entry),
        Some((_, ld)) => {
            // As binfmt_elf: the interpreter at the top of the mmap area, the
            // task starting at its entry, mmap going on below it.
            let ip = sion_linux::elf::plan_interp(ld, abi, p.mmap_top).unwrap();
            assert_eq!(regs.rip, ip.entry, "starts in the interpreter");
            assert!(ip.brk_start <= if abi == Abi::X86_64 { sion_linux::process::MMAP_TOP_64 } else { sion_linux::process::MMAP_TOP_32 });
            for seg in &ip.segments {
                let want = &ld[seg.offset as usize..(seg.offset + seg.filesz) as usize];
                assert_eq!(h.peek(seg.vaddr, want.len()), want, "interpreter segment at {:#x}", seg.vaddr);
            }
            // AT_BASE on the stack says where.
            let w = if abi == Abi::X86_64 { 8 } else { 4 };
            let words: Vec<u64> = h.peek(regs.rsp, 4096).chunks(w).map(|c| c.iter().rev().fold(0u64, |a, &b| a << 8 | b as u64)).collect();
            assert!(words.windows(2).any(|x| x[0] == 7 && x[1] == p.mmap_top), "AT_BASE");
            assert!(words.windows(2).any(|x| x[0] == 9 && x[1] == p.plan.entry), "AT_ENTRY is the program's");
        }
    }
    let top = if abi == Abi::X86_64 { STACK_TOP_64 } else { STACK_TOP_32 };
    assert!(regs.rsp < top && regs.rsp % 16 == 0);
    // Every file byte of every segment is in memory where the plan says.
    for seg in &p.plan.segments {
        let want = &bytes[seg.offset as usize..(seg.offset + seg.filesz) as usize];
        assert_eq!(h.peek(seg.vaddr, want.len()), want, "segment at {:#x}", seg.vaddr);
        let page = seg.vaddr & !0xfff;
        if seg.filesz > 0 {
            assert!(h.prot_of(page).unwrap() & seg.prot == seg.prot);
        }
    }
    // The entry's page is executable and not writable.
    assert_eq!(h.prot_of(regs.rip).unwrap() & 5, 5);
    // AT_PHDR points at the program headers as in the file.
    let phoff = u64::from_le_bytes(if abi == Abi::X86_64 { bytes[32..40].try_into().unwrap() } else { [bytes[28], bytes[29], bytes[30], bytes[31], 0, 0, 0, 0] });
    assert_eq!(h.peek(p.plan.phdr, 16), &bytes[phoff as usize..phoff as usize + 16]);
}

#[test]
fn glibc_static_x86_64() {
    let Some(b) = build("glibc64", "gcc", &["-static", "-O1"]) else { return };
    let p = plan(&b).unwrap();
    assert_eq!(p.abi, Abi::X86_64);
    assert!(!p.pie);
    assert_eq!(p.bias, 0);
    assert!(p.segments.len() >= 2);
    assert!(p.segments.iter().any(|s| s.prot == 5), "a text segment");
    assert!(p.segments.iter().any(|s| s.prot & 2 != 0 && s.memsz > s.filesz), "data + bss");
    assert_eq!(p.phent, 56);
    assert!(p.phdr >= 0x400000);
    spawn_and_check(&b, Abi::X86_64);
}

#[test]
fn glibc_static_pie_x86_64() {
    let Some(b) = build("glibc64pie", "gcc", &["-static-pie", "-fPIE", "-O1"]) else { return };
    let p = plan(&b).unwrap();
    assert!(p.pie);
    assert_eq!(p.bias, PIE_BASE_64);
    assert!(p.entry > PIE_BASE_64);
    spawn_and_check(&b, Abi::X86_64);
}

#[test]
fn musl_static_x86_64() {
    let Some(b) = build("musl64", "musl-gcc", &["-static", "-O1"]) else { return };
    let p = plan(&b).unwrap();
    assert_eq!(p.abi, Abi::X86_64);
    spawn_and_check(&b, Abi::X86_64);
}

#[test]
fn musl_static_pie_x86_64() {
    let Some(b) = build("musl64pie", "musl-gcc", &["-static-pie", "-fPIE", "-O1"]) else { return };
    // Debian's musl-gcc wrapper links -static-pie with an interpreter (musl's
    // libc.so): then it is started through it, as Linux does.
    let p = plan(&b).unwrap();
    assert!(p.pie);
    spawn_and_check(&b, Abi::X86_64);
}

#[test]
fn glibc_static_i386() {
    let Some(b) = build("glibc32", "gcc", &["-m32", "-static", "-O1"]) else { return };
    let p = plan(&b).unwrap();
    assert_eq!(p.abi, Abi::I386);
    assert_eq!(p.phent, 32);
    assert!(p.segments.iter().all(|s| s.vaddr + s.memsz <= 0x1_0000_0000));
    spawn_and_check(&b, Abi::I386);
}

#[test]
fn glibc_static_pie_i386() {
    let Some(b) = build("glibc32pie", "gcc", &["-m32", "-static-pie", "-fPIE", "-O1"]) else { return };
    let p = plan(&b).unwrap();
    assert!(p.pie);
    assert_eq!(p.bias, PIE_BASE_32);
    spawn_and_check(&b, Abi::I386);
}

#[test]
fn dynamic_glibc_x86_64() {
    let Some(b) = build("dyn64", "gcc", &["-O1"]) else { return };
    let p = plan(&b).unwrap();
    assert_eq!(p.interp.as_deref(), Some(&b"/lib64/ld-linux-x86-64.so.2"[..]));
    spawn_and_check(&b, Abi::X86_64);
}

#[test]
fn dynamic_glibc_i386() {
    let Some(b) = build("dyn32", "gcc", &["-m32", "-O1"]) else { return };
    let p = plan(&b).unwrap();
    assert_eq!(p.interp.as_deref(), Some(&b"/lib/ld-linux.so.2"[..]));
    spawn_and_check(&b, Abi::I386);
}

#[test]
fn dynamic_without_its_interpreter() {
    let Some(b) = build("dyn64m", "gcc", &["-O1"]) else { return };
    let mut h = SimHost::new();
    let s = Spawn {
        program: &b,
        argv: vec![b"hello".to_vec()],
        envp: vec![],
        exe: "/tmp/hello".into(),
        uid: 0,
        gid: 0,
        seed: [1; 32],
        hwcap: 0,
        stdin_stream: false,
        memory: 1 << 30,
        files: vec![],
        cwd: "/".into(),
        shares: vec![],
    };
    let e = Process::spawn(&mut h, &s).err().unwrap();
    assert!(e.contains("ENOENT"), "{e}");
}

#[test]
fn non_x86_refused() {
    // This test binary itself is x86_64 and dynamic; a non-x86 machine field is refused.
    let mut b = build("glibc64m", "gcc", &["-static", "-O1"]).unwrap_or_default();
    if b.is_empty() {
        return;
    }
    b[18] = 183; // EM_AARCH64
    b[19] = 0;
    assert!(plan(&b).unwrap_err().contains("ELF for aarch64 (64-bit); SiON runs x86_64 and i386 programs only"));
    // Every truncation of a real binary is refused or planned, never a panic.
    let good = build("glibc64t", "gcc", &["-static", "-O1"]).unwrap();
    for cut in [0, 3, 4, 20, 63, 64, 100, 200, 1000, 4096, good.len() / 2] {
        let _ = plan(&good[..cut.min(good.len())]);
    }
}
