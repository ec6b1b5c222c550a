//! The vDSO: a small shared object mapped into every Linux program, whose
//! clock calls (`__vdso_clock_gettime`, `gettimeofday`, `time`,
//! `clock_getres`; i386 also `__vdso_clock_gettime64`) read the time without
//! a trap. libc finds it through `AT_SYSINFO_EHDR`.
//!
//! The images are built from `personality/vdso/` (C, the system's gcc, a
//! linker script in the shape of Linux's) by this crate's `build.rs`, which
//! refuses one with relocations or bigger than [`TEXT_PAGES`]; they are
//! embedded here. Below the image is its data page ([`DataPage`],
//! `personality/vdso/vvar.h`): the kernel's TSC figures, so the vDSO converts
//! a TSC reading to nanoseconds exactly as the server's clock calls do
//! (`ClockInfo::tsc_to_ns`), and a program mixing both never sees time go
//! back. Both pages are private copies in the program's space: `fork` clones
//! them with the rest, `execve` maps them afresh.
//!
//! Placement: the data page at the top of the mmap area (Linux's
//! `mmap_base`, [`crate::process::MMAP_TOP_64`] / `MMAP_TOP_32`), in the gap
//! below the stack, the image on the page above; `/proc/<pid>/maps` shows
//! them as `[vvar]` and `[vdso]`.

use crate::host::Host;
use crate::layout::Abi;
use crate::vma::{VmaKind, VmaMap, PAGE};
use alloc::format;
use alloc::string::String;

/// The x86_64 image (`personality/vdso`, built by build.rs).
pub static IMAGE_64: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso64.so"));
/// The i386 image.
pub static IMAGE_32: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso32.so"));

include!(concat!(env!("OUT_DIR"), "/vdso_syms.rs"));

/// Pages of the image (build.rs refuses a bigger one).
pub const TEXT_PAGES: u64 = 2;
/// Pages of data below it.
pub const DATA_PAGES: u64 = 1;
/// `SION_VVAR_VERSION` of vvar.h: the layout of [`DataPage`].
pub const VERSION: u32 = 1;
/// The fastest TSC the vDSO's arithmetic takes (`MAX_TSC_HZ` of vclock.c:
/// `(d % hz) * 10^9` must fit 64 bits); a faster one is published as 0, and
/// the vDSO makes the system calls.
pub const MAX_TSC_HZ: u64 = u64::MAX / 1_000_000_000;

/// The clock the data page describes, from the kernel's `ClockInfo`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// TSC ticks per second (0: no usable TSC).
    pub tsc_hz: u64,
    /// The TSC value that is monotonic time 0.
    pub tsc_at_boot: u64,
    /// CLOCK_REALTIME minus CLOCK_MONOTONIC, in ns.
    pub realtime_offset_ns: u64,
}

impl Clock {
    pub fn from_info(c: &sion_abi::call::ClockInfo) -> Clock {
        Clock { tsc_hz: c.tsc_hz, tsc_at_boot: c.tsc_at_boot, realtime_offset_ns: c.realtime_at_boot_ns }
    }

    /// Monotonic ns for a TSC reading as vclock.c computes it (without
    /// 128-bit division); equal to `ClockInfo::tsc_to_ns` (tested below).
    pub fn vdso_ns(&self, tsc: u64) -> u64 {
        let d = tsc.saturating_sub(self.tsc_at_boot);
        let hz = self.tsc_hz;
        (d / hz).wrapping_mul(1_000_000_000).wrapping_add(d % hz * 1_000_000_000 / hz)
    }
}

/// The data page (`struct sion_vvar` of vvar.h), little-endian.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataPage {
    /// Even while stable, odd while being rewritten (readers retry).
    pub seq: u32,
    pub clock: Clock,
    /// Resolution of the coarse clocks.
    pub coarse_ns: u64,
}

impl DataPage {
    /// Bytes used of the page.
    pub const SIZE: usize = 40;

    pub fn new(clock: Clock) -> DataPage {
        let usable = clock.tsc_hz <= MAX_TSC_HZ;
        let clock = Clock { tsc_hz: if usable { clock.tsc_hz } else { 0 }, ..clock };
        DataPage { seq: 0, clock, coarse_ns: crate::process::COARSE_NS }
    }

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.seq.to_le_bytes());
        b[4..8].copy_from_slice(&VERSION.to_le_bytes());
        b[8..16].copy_from_slice(&self.clock.tsc_hz.to_le_bytes());
        b[16..24].copy_from_slice(&self.clock.tsc_at_boot.to_le_bytes());
        b[24..32].copy_from_slice(&self.clock.realtime_offset_ns.to_le_bytes());
        b[32..40].copy_from_slice(&self.coarse_ns.to_le_bytes());
        b
    }
}

/// The image for `abi`.
pub fn image(abi: Abi) -> &'static [u8] {
    match abi {
        Abi::X86_64 => IMAGE_64,
        Abi::I386 => IMAGE_32,
    }
}

/// Where the data page goes for `abi`; the image is the page after it.
pub fn data_base(abi: Abi) -> u64 {
    match abi {
        Abi::X86_64 => crate::process::MMAP_TOP_64,
        Abi::I386 => crate::process::MMAP_TOP_32,
    }
}

/// AT_SYSINFO for a program whose vDSO is at `ehdr` (0: none): i386's
/// system-call entry, the image's entry point `__kernel_vsyscall` (`int
/// 0x80; ret`), as Linux always gives it to i386 programs. glibc 2.36 takes
/// its system-call entry from AT_SYSINFO whenever AT_SYSINFO_EHDR is there
/// (`_dl_parse_auxv`), so a vDSO without it would send every call to 0.
/// x86_64 has none.
pub fn sysinfo(abi: Abi, ehdr: u64) -> u64 {
    if abi != Abi::I386 || ehdr == 0 {
        return 0;
    }
    let e = IMAGE_32;
    ehdr + u32::from_le_bytes([e[24], e[25], e[26], e[27]]) as u64
}

/// The action a signal handler of `p` runs with: on i386, one without
/// `SA_RESTORER` returns through the vDSO's `__kernel_sigreturn` or
/// `__kernel_rt_sigreturn`, as on Linux (glibc gives no restorer of its own
/// when the vDSO is there; the frame's code on the stack would need an
/// executable stack). Without a vDSO the frame's own code stays the way back.
pub fn restorer(p: &crate::process::Process, act: crate::signal::SigAction) -> crate::signal::SigAction {
    use crate::signal::{SA_RESTORER, SA_SIGINFO};
    let text = data_base(Abi::I386) + DATA_PAGES * PAGE;
    if p.abi != Abi::I386 || act.flags & SA_RESTORER != 0 || p.vmas.lookup(text).map(|v| v.kind) != Some(VmaKind::Vdso) {
        return act;
    }
    let at = text + if act.flags & SA_SIGINFO != 0 { RT_SIGRETURN_32 } else { SIGRETURN_32 };
    crate::signal::SigAction { flags: act.flags | SA_RESTORER, restorer: at, ..act }
}

/// Map the data page and the image into the host's current space (a program
/// being loaded) and record them in `vmas`. Returns the image's address for
/// `AT_SYSINFO_EHDR`, or `None` when there is no vDSO: the host has no clock
/// for it, or the program's own segments are where it goes (its calls then
/// trap, as they did before there was a vDSO).
pub fn map(h: &mut dyn Host, abi: Abi, vmas: &mut VmaMap) -> Result<Option<u64>, String> {
    let Some(clock) = h.vdso_clock() else { return Ok(None) };
    let data = data_base(abi);
    let text = data + DATA_PAGES * PAGE;
    let end = text + TEXT_PAGES * PAGE;
    if !vmas.is_free(data, end) {
        return Ok(None);
    }
    let image = image(abi);
    h.mem_map(data, end - data, 3).map_err(|e| format!("mapping the vDSO: {e:?}"))?;
    let page = DataPage::new(clock).encode();
    if h.mem_write(data, &page) != page.len() || h.mem_write(text, image) != image.len() {
        return Err("could not write the vDSO".into());
    }
    h.mem_protect(data, text - data, 1);
    h.mem_protect(text, end - text, 5);
    vmas.insert(data, text, 1, VmaKind::Vvar);
    vmas.insert(text, end, 5, VmaKind::Vdso);
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimHost;
    use alloc::vec::Vec;
    use goblin::elf::Elf;

    /// The dynamic symbols of `image` with their version names.
    fn symbols(image: &[u8]) -> Vec<(String, String, u64)> {
        let elf = Elf::parse(image).expect("the image parses as ELF");
        let verdefs: Vec<(u16, String)> = elf
            .verdef
            .as_ref()
            .expect("version definitions")
            .iter()
            .map(|d| {
                let name = d.iter().next().and_then(|a| elf.dynstrtab.get_at(a.vda_name)).unwrap_or("").into();
                (d.vd_ndx, name)
            })
            .collect();
        let versym = elf.versym.as_ref().expect("version symbols");
        elf.dynsyms
            .iter()
            .enumerate()
            .filter(|(_, s)| s.st_value != 0)
            .map(|(i, s)| {
                let ver = versym.get_at(i).map(|v| v.version()).unwrap_or(0);
                let vname = verdefs.iter().find(|d| d.0 == ver).map(|d| d.1.clone()).unwrap_or_default();
                (elf.dynstrtab.get_at(s.st_name).unwrap_or("").into(), vname, s.st_value)
            })
            .collect()
    }

    fn has(syms: &[(String, String, u64)], name: &str, ver: &str) -> bool {
        syms.iter().any(|(n, v, _)| n == name && v == ver)
    }

    #[test]
    fn images_are_shared_objects_with_linux_names_and_versions() {
        for (abi, image) in [(Abi::X86_64, IMAGE_64), (Abi::I386, IMAGE_32)] {
            let elf = Elf::parse(image).unwrap();
            assert_eq!(elf.header.e_type, goblin::elf::header::ET_DYN);
            assert_eq!(elf.is_64, abi == Abi::X86_64);
            assert!(image.len() as u64 <= TEXT_PAGES * PAGE, "{abi:?}: {} bytes", image.len());
            use goblin::elf::program_header::*;
            let kinds: Vec<u32> = elf.program_headers.iter().map(|p| p.p_type).collect();
            for k in [PT_LOAD, PT_DYNAMIC, PT_NOTE, PT_GNU_EH_FRAME] {
                assert_eq!(kinds.iter().filter(|&&x| x == k).count(), 1, "{abi:?}: one of program header type {k}");
            }
            let load = elf.program_headers.iter().find(|p| p.p_type == PT_LOAD).unwrap();
            assert_eq!((load.p_offset, load.p_vaddr), (0, 0), "the file is its memory image");
            assert_eq!(load.p_filesz, load.p_memsz);
            let dynamic = elf.dynamic.as_ref().expect("a dynamic section");
            let tags: Vec<u64> = dynamic.dyns.iter().map(|d| d.d_tag).collect();
            use goblin::elf::dynamic::*;
            for t in [DT_HASH, DT_GNU_HASH, DT_SYMTAB, DT_STRTAB, DT_VERSYM, DT_VERDEF, DT_SONAME] {
                assert!(tags.contains(&t), "{abi:?}: dynamic tag {t}");
            }
            for t in [DT_REL, DT_RELA, DT_JMPREL, DT_TEXTREL] {
                assert!(!tags.contains(&t), "{abi:?}: relocation tag {t}");
            }
            assert!(elf.dynrelas.is_empty() && elf.dynrels.is_empty() && elf.pltrelocs.is_empty(), "{abi:?}: no relocations");
            assert_eq!(elf.soname, Some("linux-vdso.so.1"));
            let syms = symbols(image);
            for name in ["__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_clock_getres"] {
                assert!(has(&syms, name, "LINUX_2.6"), "{abi:?}: {name}@LINUX_2.6 in {syms:?}");
            }
            assert!(!syms.iter().any(|s| s.0.contains("getcpu")), "getcpu stays a system call (no per-CPU number yet)");
            match abi {
                Abi::X86_64 => {
                    for name in ["clock_gettime", "gettimeofday", "time", "clock_getres"] {
                        assert!(has(&syms, name, "LINUX_2.6"), "{name}");
                    }
                    assert_eq!(elf.entry, 0);
                    assert_eq!(sysinfo(abi, 0x1000_0000), 0, "no AT_SYSINFO on x86_64");
                }
                Abi::I386 => {
                    assert!(has(&syms, "__vdso_clock_gettime64", "LINUX_2.6"));
                    assert!(has(&syms, "__kernel_vsyscall", "LINUX_2.5"));
                    // glibc calls the entry point for every system call when
                    // AT_SYSINFO is absent: it must be __kernel_vsyscall, int 0x80; ret.
                    let vsyscall = syms.iter().find(|s| s.0 == "__kernel_vsyscall").unwrap().2;
                    assert_eq!(elf.entry, vsyscall);
                    assert_eq!(&image[vsyscall as usize..vsyscall as usize + 3], [0xcd, 0x80, 0xc3]);
                    assert_eq!(sysinfo(abi, 0x1000_0000), 0x1000_0000 + vsyscall, "AT_SYSINFO");
                    assert_eq!(sysinfo(abi, 0), 0);
                    let off = |name: &str| syms.iter().find(|s| s.0 == name).unwrap().2;
                    assert_eq!((off("__kernel_sigreturn"), off("__kernel_rt_sigreturn")), (SIGRETURN_32, RT_SIGRETURN_32));
                    // popl %eax; movl $119, %eax; int $0x80 and movl $173, %eax; int $0x80.
                    assert_eq!(image[SIGRETURN_32 as usize..][..8], [0x58, 0xb8, 119, 0, 0, 0, 0xcd, 0x80]);
                    assert_eq!(image[RT_SIGRETURN_32 as usize..][..7], [0xb8, 173, 0, 0, 0, 0xcd, 0x80]);
                }
            }
            // The "Linux" note with the version uname reports (6.1.0).
            let note = elf.iter_note_headers(image).expect("notes").flatten().find(|n| n.name == "Linux").expect("a Linux note");
            assert_eq!(note.desc, 0x060100u32.to_le_bytes());
        }
    }

    #[test]
    fn data_page_layout() {
        let p = DataPage::new(Clock { tsc_hz: 2_000_000_000, tsc_at_boot: 0x1122, realtime_offset_ns: 7 }).encode();
        let word = |at: usize| u64::from_le_bytes(p[at..at + 8].try_into().unwrap());
        assert_eq!(u32::from_le_bytes(p[0..4].try_into().unwrap()), 0, "seq: even, stable");
        assert_eq!(u32::from_le_bytes(p[4..8].try_into().unwrap()), VERSION);
        assert_eq!((word(8), word(16), word(24), word(32)), (2_000_000_000, 0x1122, 7, 4_000_000));
        // A TSC too fast for the vDSO's arithmetic: published as none.
        let fast = DataPage::new(Clock { tsc_hz: MAX_TSC_HZ + 1, ..Default::default() });
        assert_eq!(fast.clock.tsc_hz, 0);
        assert_eq!(DataPage::new(Clock { tsc_hz: MAX_TSC_HZ, ..Default::default() }).clock.tsc_hz, MAX_TSC_HZ);
    }

    #[test]
    fn vdso_arithmetic_equals_the_servers() {
        // vclock.c's q * 10^9 + (r * 10^9) / hz against ClockInfo::tsc_to_ns's
        // 128-bit division, over rates from 1 Hz to MAX_TSC_HZ.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..200_000u64 {
            let hz = match i % 5 {
                0 => 1 + next() % 10,
                1 => 1_000_000_000 + next() % 4_000_000_000,
                2 => MAX_TSC_HZ - next() % 1000,
                _ => 1 + next() % MAX_TSC_HZ,
            };
            let at = next() >> (next() % 64);
            // Readings up to ~500 years of uptime, and some before tsc_at_boot.
            let span = hz.saturating_mul(500 * 365 * 86_400).max(1);
            let tsc = at.saturating_add(next() % span).wrapping_sub(if i % 97 == 0 { next() % 1000 } else { 0 });
            let info = sion_abi::call::ClockInfo { tsc_hz: hz, tsc_at_boot: at, realtime_at_boot_ns: 0, source: 0 };
            let c = Clock::from_info(&info);
            assert_eq!(c.vdso_ns(tsc), info.tsc_to_ns(tsc), "hz {hz} at {at} tsc {tsc}");
        }
    }

    #[test]
    fn placed_below_the_stack_above_the_mmap_area() {
        let mut h = SimHost::new();
        for abi in [Abi::X86_64, Abi::I386] {
            let mut vmas = VmaMap::new();
            let at = map(&mut h, abi, &mut vmas).unwrap().expect("a vDSO");
            let data = data_base(abi);
            assert_eq!(at, data + PAGE);
            let (stack_top, mmap_top) = match abi {
                Abi::X86_64 => (crate::stack::STACK_TOP_64, crate::process::MMAP_TOP_64),
                Abi::I386 => (crate::stack::STACK_TOP_32, crate::process::MMAP_TOP_32),
            };
            assert!(data >= mmap_top && at + TEXT_PAGES * PAGE <= stack_top - crate::stack::STACK_SIZE, "{abi:?}");
            let v = vmas.lookup(data).unwrap();
            assert_eq!((v.start, v.end, v.prot, v.kind), (data, at, 1, VmaKind::Vvar));
            let v = vmas.lookup(at).unwrap();
            assert_eq!((v.start, v.end, v.prot, v.kind), (at, at + TEXT_PAGES * PAGE, 5, VmaKind::Vdso));
            assert_eq!(h.prot_of(data), Some(1), "the data page is read-only");
            assert_eq!(h.prot_of(at), Some(5));
            assert_eq!(h.peek(at, image(abi).len()), image(abi));
            let clock = h.vdso_clock().unwrap();
            assert_eq!(h.peek(data, DataPage::SIZE), DataPage::new(clock).encode());
            // Taken (a program mapped there): no vDSO, not an error.
            let mut taken = VmaMap::new();
            taken.insert(data, data + PAGE, 3, VmaKind::Image);
            assert_eq!(map(&mut h, abi, &mut taken), Ok(None));
        }
    }
}

/// How much later than the server's own reckoning an absolute
/// CLOCK_REALTIME deadline is met: the program reads the clock through the
/// vDSO's multiply-and-shift, which may trail the server's by its rounding,
/// and a wait must not end before the program's clock says it may.
pub const REALTIME_SLACK_NS: u64 = 1_000;
