//! Build the vDSO images (personality/vdso) with the system's gcc, for x86_64
//! and i386, into OUT_DIR, where `src/vdso.rs` embeds them with `include_bytes!`.
//!
//! An image is refused here, failing the build, when it has relocations (it
//! is mapped as is, never relocated), a second loadable segment, a loadable
//! segment that is not the file itself from offset 0, or more bytes than the
//! pages it is given (`VDSO_TEXT_PAGES` in src/vdso.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Pages of the vDSO text (must match `vdso::TEXT_PAGES`).
const TEXT_PAGES: usize = 2;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let src = manifest.join("../vdso").canonicalize().expect("personality/vdso exists");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=build.rs");
    for f in ["vclock.c", "vvar.h", "note.S", "vdso-layout.lds", "vdso64.lds", "vdso32.lds"] {
        println!("cargo:rerun-if-changed={}", src.join(f).display());
    }
    println!("cargo:rerun-if-env-changed=SION_VDSO_CC");
    let cc = std::env::var("SION_VDSO_CC").unwrap_or_else(|_| "gcc".into());
    for (bits, flag) in [(64, "-m64"), (32, "-m32")] {
        let image = build(&cc, &src, &out, bits, flag);
        let bytes = std::fs::read(&image).unwrap_or_else(|e| panic!("{}: {e}", image.display()));
        if let Err(why) = check(&bytes, TEXT_PAGES * 4096) {
            panic!("the {bits}-bit vDSO image {} is refused: {why}", image.display());
        }
    }
}

fn run(cmd: &mut Command) {
    let shown = format!("{cmd:?}");
    let o = cmd.output().unwrap_or_else(|e| panic!("cannot run {shown}: {e} (cargo xtask setup installs gcc and gcc-multilib)"));
    if !o.status.success() {
        panic!("{shown} failed:\n{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    }
}

/// Compile and link one image; returns the stripped `vdsoNN.so`.
fn build(cc: &str, src: &Path, out: &Path, bits: u32, flag: &str) -> PathBuf {
    let dbg = out.join(format!("vdso{bits}.dbg"));
    let so = out.join(format!("vdso{bits}.so"));
    let mut c = Command::new(cc);
    c.arg(flag)
        .args(["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-fno-stack-protector", "-fno-builtin", "-ffreestanding", "-fcf-protection=none"])
        .args(["-nostdlib", "-shared", "-Wl,-soname=linux-vdso.so.1", "-Wl,--hash-style=both", "-Wl,--build-id=none", "-Wl,--eh-frame-hdr"])
        .args(["-Wl,-z,max-page-size=4096", "-Wl,-z,noexecstack", "-Wl,-Bsymbolic"])
        .arg(format!("-L{}", src.display()))
        .arg(format!("-Wl,-T,{}", src.join(format!("vdso{bits}.lds")).display()))
        .arg("-o")
        .arg(&dbg)
        .arg(src.join("vclock.c"))
        .arg(src.join("note.S"));
    if bits == 32 {
        // 64-bit division on i386 (__udivdi3, __umoddi3): position-independent
        // leaf code from libgcc, linked in; the check below proves it added
        // no relocation.
        c.arg("-lgcc");
    }
    run(&mut c);
    // Drop the static symbol table (the dynamic one stays), as Linux's image.
    run(Command::new("objcopy").arg("-S").arg(&dbg).arg(&so));
    so
}

fn u16_at(b: &[u8], at: usize) -> u64 {
    u16::from_le_bytes([b[at], b[at + 1]]) as u64
}
fn u32_at(b: &[u8], at: usize) -> u64 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as u64
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The image is mapped as is: one PT_LOAD covering the file from offset 0 at
/// address 0 (memory size = file size), no relocation sections or dynamic
/// relocation tags, and it fits `limit` bytes.
fn check(b: &[u8], limit: usize) -> Result<(), String> {
    if b.len() > limit {
        return Err(format!("{} bytes, more than its {limit}", b.len()));
    }
    if b.len() < 52 || &b[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    let wide = match b[4] {
        2 => true,
        1 => false,
        _ => return Err("bad ELF class".into()),
    };
    let word = |at: usize| if wide { u64_at(b, at) } else { u32_at(b, at) };
    let (phoff, shoff) = if wide { (u64_at(b, 32), u64_at(b, 40)) } else { (u32_at(b, 28), u32_at(b, 32)) };
    let (phentsize, phnum, shentsize, shnum) =
        if wide { (u16_at(b, 54), u16_at(b, 56), u16_at(b, 58), u16_at(b, 60)) } else { (u16_at(b, 42), u16_at(b, 44), u16_at(b, 46), u16_at(b, 48)) };
    if u16_at(b, 16) != 3 {
        return Err("not ET_DYN".into());
    }
    let mut loads = 0;
    let mut dynamic = None;
    for i in 0..phnum {
        let p = (phoff + i * phentsize) as usize;
        let kind = u32_at(b, p);
        let (offset, vaddr, filesz, memsz) = if wide {
            (u64_at(b, p + 8), u64_at(b, p + 16), u64_at(b, p + 32), u64_at(b, p + 40))
        } else {
            (u32_at(b, p + 4), u32_at(b, p + 8), u32_at(b, p + 16), u32_at(b, p + 20))
        };
        match kind {
            1 => {
                loads += 1;
                if offset != 0 || vaddr != 0 || filesz != memsz {
                    return Err(format!("PT_LOAD at offset {offset:#x}, address {vaddr:#x}, {filesz:#x} bytes in the file, {memsz:#x} in memory"));
                }
            }
            2 => dynamic = Some((offset as usize, filesz as usize)),
            _ => {}
        }
    }
    if loads != 1 {
        return Err(format!("{loads} PT_LOAD segments"));
    }
    for i in 0..shnum {
        let s = (shoff + i * shentsize) as usize;
        let (kind, size) = (u32_at(b, s + 4), if wide { u64_at(b, s + 32) } else { u32_at(b, s + 20) });
        if (kind == 4 || kind == 9) && size > 0 {
            return Err("it has a relocation section".into());
        }
    }
    let (at, len) = dynamic.ok_or("no PT_DYNAMIC")?;
    let entry = if wide { 16 } else { 8 };
    for e in (at..at + len).step_by(entry) {
        let tag = word(e);
        // DT_RELA, DT_RELASZ, DT_REL, DT_RELSZ, DT_TEXTREL, DT_JMPREL, DT_RELR.
        if matches!(tag, 7 | 8 | 17 | 18 | 22 | 23 | 36) && word(e + entry / 2) != 0 || tag == 22 {
            return Err(format!("its dynamic section has relocation tag {tag}"));
        }
    }
    Ok(())
}
