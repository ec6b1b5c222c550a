//! Core files, as Linux's fs/binfmt_elf.c writes them for an x86_64
//! process (`elf_core_dump`): an ELF64 `ET_CORE` file with one `PT_NOTE`
//! (per thread `NT_PRSTATUS` and `NT_PRFPREG`; for the process
//! `NT_PRPSINFO`, `NT_SIGINFO` and `NT_AUXV`) and a `PT_LOAD` per mapping,
//! its dumped bytes page aligned after the notes. What a mapping dumps
//! follows /proc/PID/coredump_filter ([`dump_size`]). The file is written
//! through a [`Sink`] that stops at RLIMIT_CORE as `dump_emit` does: a
//! piece that would pass the limit is not written, and nothing after it.

use alloc::vec::Vec;
use sion_abi::regs::TaskRegs;

const PAGE: u64 = 4096;
const NT_PRSTATUS: u32 = 1;
const NT_PRFPREG: u32 = 2;
const NT_PRPSINFO: u32 = 3;
const NT_AUXV: u32 = 6;
const NT_SIGINFO: u32 = 0x5349_4749;
const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
/// Linux's __USER_CS and __USER_DS.
const USER_CS: u64 = 0x33;
const USER_DS: u64 = 0x2b;
/// The default /proc/PID/coredump_filter: anonymous private and shared
/// memory, ELF headers, private huge pages.
pub const DEFAULT_FILTER: u32 = 0x33;

/// What a mapping is, for the filter.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backing {
    /// Anonymous memory (heap, stack, MAP_ANONYMOUS), private.
    AnonPrivate,
    /// Anonymous shared memory (MAP_SHARED|MAP_ANONYMOUS, System V).
    AnonShared,
    /// A private mapping of a file (program segments) never written.
    FilePrivate,
    /// A private file mapping with pages of its own (written: Linux's anon_vma).
    FilePrivateWritten,
    /// A shared mapping of a file.
    FileShared,
    /// The vDSO: always dumped.
    Vdso,
    /// Never dumped (`[vvar]`, MADV_DONTDUMP: VM_DONTDUMP, VM_IO).
    Never,
}

/// Bytes of a mapping of `len` bytes that go into the dump under `filter`
/// (fs/binfmt_elf.c, vma_dump_size); `elf_header` tells whether a file
/// mapping's first page is an ELF header (bit 4 dumps that page alone).
pub fn dump_size(backing: Backing, len: u64, filter: u32, elf_header: bool) -> u64 {
    let on = |bit: u32| filter & (1 << bit) != 0;
    match backing {
        Backing::Never => 0,
        Backing::Vdso => len,
        Backing::AnonPrivate => if on(0) { len } else { 0 },
        Backing::AnonShared => if on(1) { len } else { 0 },
        Backing::FileShared => if on(3) { len } else { 0 },
        Backing::FilePrivateWritten if on(0) || on(2) => len,
        Backing::FilePrivate | Backing::FilePrivateWritten => {
            if on(2) {
                len
            } else if on(4) && elf_header {
                PAGE.min(len)
            } else {
                0
            }
        }
    }
}

/// What a core pattern's `%` specifiers stand for.
pub struct NameFields<'a> {
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub gid: u32,
    pub sig: u8,
    pub time_s: u64,
    pub hostname: &'a [u8],
    pub comm: &'a [u8],
    pub exe: &'a [u8],
    /// RLIMIT_CORE's soft limit.
    pub limit: u64,
    /// The dump mode (1: dumpable).
    pub dumpable: u32,
}

/// A core file's name from /proc/sys/kernel/core_pattern, as Linux's
/// format_corename: `%p`/`%P` pid, `%i`/`%I` tid, `%u` uid, `%g` gid, `%s`
/// signal, `%t` time, `%h` host name, `%e` command name, `%E` executable
/// path, `%c` core limit, `%d` dump mode, `%%`; other specifiers give
/// nothing, and in `%h`, `%e` and `%E` a `/` becomes `!`. Without `%p` in
/// a file pattern, core_uses_pid adds ".PID".
pub fn core_name(pattern: &[u8], uses_pid: bool, f: &NameFields) -> Vec<u8> {
    use alloc::format;
    let esc = |b: &[u8]| -> Vec<u8> { b.iter().map(|&c| if c == b'/' { b'!' } else { c }).collect() };
    let mut out = Vec::new();
    let mut pid_in = false;
    let mut i = 0;
    while i < pattern.len() {
        let c = pattern[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        let Some(&k) = pattern.get(i) else { break };
        i += 1;
        match k {
            b'%' => out.push(b'%'),
            b'p' | b'P' => {
                pid_in = true;
                out.extend_from_slice(format!("{}", f.pid).as_bytes());
            }
            b'i' | b'I' => out.extend_from_slice(format!("{}", f.tid).as_bytes()),
            b'u' => out.extend_from_slice(format!("{}", f.uid).as_bytes()),
            b'g' => out.extend_from_slice(format!("{}", f.gid).as_bytes()),
            b'd' => out.extend_from_slice(format!("{}", f.dumpable).as_bytes()),
            b's' => out.extend_from_slice(format!("{}", f.sig).as_bytes()),
            b't' => out.extend_from_slice(format!("{}", f.time_s).as_bytes()),
            b'h' => out.extend(esc(f.hostname)),
            b'e' => out.extend(esc(f.comm)),
            b'E' => out.extend(esc(f.exe)),
            b'c' => out.extend_from_slice(format!("{}", f.limit).as_bytes()),
            _ => {}
        }
    }
    if pattern.first() != Some(&b'|') && !pid_in && uses_pid {
        out.extend_from_slice(format!(".{}", f.pid).as_bytes());
    }
    out
}

/// A mapping in the dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub start: u64,
    pub end: u64,
    /// PROT_* bits.
    pub prot: u64,
    /// Bytes dumped from `start` ([`dump_size`]).
    pub dump: u64,
}

/// A thread's state.
pub struct ThreadState {
    pub tid: u32,
    pub regs: TaskRegs,
    /// FXSAVE image, when the kernel gave it.
    pub fpu: Option<[u8; 512]>,
    /// Pending and blocked signals (bit n-1 for signal n).
    pub pending: u64,
    pub blocked: u64,
    /// User and system time (ns).
    pub utime_ns: u64,
    pub stime_ns: u64,
}

/// The process's state.
pub struct ProcessState<'a> {
    pub sig: u8,
    /// siginfo's code and sending pid/uid (kill: SI_USER).
    pub si_code: i32,
    pub si_pid: u32,
    pub si_uid: u32,
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    pub uid: u32,
    pub gid: u32,
    pub nice: i8,
    /// The command name (at most 15 bytes kept) and the first 80 bytes of
    /// the arguments, separated by spaces.
    pub comm: &'a [u8],
    pub args: &'a [Vec<u8>],
    pub auxv: &'a [u8],
    /// Children's user and system time (ns), for the first thread's status.
    pub cutime_ns: u64,
    pub cstime_ns: u64,
}

/// Where the bytes go: `write(offset, bytes)`, false if the file refused.
pub trait Sink {
    fn write(&mut self, off: u64, data: &[u8]) -> bool;
}

/// `dump_emit`/`dump_skip` of Linux: every byte written counts against the
/// limit, skipped ranges (holes: pages never touched) do not.
struct Emitter<'a> {
    sink: &'a mut dyn Sink,
    pos: u64,
    written: u64,
    limit: u64,
    ok: bool,
}

impl Emitter<'_> {
    fn emit(&mut self, data: &[u8]) -> bool {
        if !self.ok || self.written + data.len() as u64 > self.limit || !self.sink.write(self.pos, data) {
            self.ok = false;
            return false;
        }
        self.pos += data.len() as u64;
        self.written += data.len() as u64;
        true
    }
    fn skip_to(&mut self, pos: u64) {
        if self.ok && pos > self.pos {
            self.pos = pos;
        }
    }
    fn align4(&mut self) {
        let p = (self.pos + 3) & !3;
        self.skip_to(p);
    }
}

fn timeval(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
    b
}

/// struct elf_prstatus (x86_64, 336 bytes).
fn prstatus(p: &ProcessState, t: &ThreadState, first: bool) -> Vec<u8> {
    let mut b = Vec::with_capacity(336);
    let sig = if first { p.sig as i32 } else { 0 };
    for v in [sig, 0, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&(sig as i16).to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&t.pending.to_le_bytes());
    b.extend_from_slice(&t.blocked.to_le_bytes());
    for v in [t.tid, p.ppid, p.pgid, p.sid] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    let (cu, cs) = if first { (p.cutime_ns, p.cstime_ns) } else { (0, 0) };
    for ns in [t.utime_ns, t.stime_ns, cu, cs] {
        b.extend_from_slice(&timeval(ns));
    }
    let r = &t.regs;
    // struct user_regs_struct, orig_rax -1 (not in a system call).
    let regs = [
        r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx, r.rdx, r.rsi, r.rdi, u64::MAX, r.rip, USER_CS, r.rflags, r.rsp,
        USER_DS, r.fs_base, r.gs_base, 0, 0, 0, 0,
    ];
    for v in regs {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&(t.fpu.is_some() as i32).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    debug_assert_eq!(b.len(), 336);
    b
}

/// struct elf_prpsinfo (x86_64, 136 bytes).
fn prpsinfo(p: &ProcessState) -> Vec<u8> {
    let mut b = alloc::vec![0u8; 136];
    b[0] = 0; // pr_state: running, as the dumping task is
    b[1] = b'R';
    b[2] = 0;
    b[3] = p.nice as u8;
    // pr_flag: PF_DUMPCORE | PF_SIGNALED (Linux's task flags at dump).
    b[8..16].copy_from_slice(&(0x200u64 | 0x400).to_le_bytes());
    b[16..20].copy_from_slice(&p.uid.to_le_bytes());
    b[20..24].copy_from_slice(&p.gid.to_le_bytes());
    for (i, v) in [p.pid, p.ppid, p.pgid, p.sid].into_iter().enumerate() {
        b[24 + 4 * i..28 + 4 * i].copy_from_slice(&v.to_le_bytes());
    }
    let comm = &p.comm[..p.comm.len().min(15)];
    b[40..40 + comm.len()].copy_from_slice(comm);
    let mut args = Vec::new();
    for a in p.args {
        if !args.is_empty() {
            args.push(b' ');
        }
        args.extend_from_slice(a);
    }
    args.truncate(79);
    b[56..56 + args.len()].copy_from_slice(&args);
    b
}

/// siginfo_t (128 bytes): signo, errno, code, then kill's pid and uid.
fn siginfo(p: &ProcessState) -> Vec<u8> {
    let mut b = alloc::vec![0u8; 128];
    b[0..4].copy_from_slice(&(p.sig as i32).to_le_bytes());
    b[8..12].copy_from_slice(&p.si_code.to_le_bytes());
    b[16..20].copy_from_slice(&p.si_pid.to_le_bytes());
    b[20..24].copy_from_slice(&p.si_uid.to_le_bytes());
    b
}

/// The notes, in Linux's order: the first thread's status, the process's
/// notes, its FPU registers; then each other thread's.
fn notes(p: &ProcessState, threads: &[ThreadState]) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, t) in threads.iter().enumerate() {
        out.push((NT_PRSTATUS, prstatus(p, t, i == 0)));
        if i == 0 {
            out.push((NT_PRPSINFO, prpsinfo(p)));
            out.push((NT_SIGINFO, siginfo(p)));
            if !p.auxv.is_empty() {
                out.push((NT_AUXV, p.auxv.to_vec()));
            }
        }
        if let Some(f) = &t.fpu {
            out.push((NT_PRFPREG, f.to_vec()));
        }
    }
    out
}

fn note_size(desc: usize) -> u64 {
    // Header, "CORE\0" padded to 8, the descriptor padded to 4.
    12 + 8 + ((desc as u64 + 3) & !3)
}

/// Write the core file. `read_page(addr, buf)` reads one page of the
/// process, false if it is not there (never touched: a hole in the file).
/// Returns the file's size, or `None` if the limit or the sink stopped it
/// (what was written stays, as Linux leaves a truncated core).
pub fn write(sink: &mut dyn Sink, limit: u64, p: &ProcessState, threads: &[ThreadState], segs: &[Segment], read_page: &mut dyn FnMut(u64, &mut [u8]) -> bool) -> Option<u64> {
    let notes = notes(p, threads);
    let phnum = segs.len() as u64 + 1;
    let notes_at = 64 + 56 * phnum;
    let notes_len: u64 = notes.iter().map(|(_, d)| note_size(d.len())).sum();
    let data_at = (notes_at + notes_len + PAGE - 1) & !(PAGE - 1);
    let mut e = Emitter { sink, pos: 0, written: 0, limit, ok: true };
    // The ELF header.
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&4u16.to_le_bytes()); // ET_CORE
    h.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes()); // e_entry
    h.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    h.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    h.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for v in [64u16, 56, phnum as u16, 64, 0, 0] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    e.emit(&h);
    let phdr = |kind: u32, flags: u32, off: u64, vaddr: u64, filesz: u64, memsz: u64, align: u64| {
        let mut b = Vec::with_capacity(56);
        b.extend_from_slice(&kind.to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
        for v in [off, vaddr, 0, filesz, memsz, align] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    };
    e.emit(&phdr(PT_NOTE, 0, notes_at, 0, notes_len, 0, 0));
    let mut off = data_at;
    for s in segs {
        let flags = (s.prot & 1 != 0) as u32 * 4 | (s.prot & 2 != 0) as u32 * 2 | (s.prot & 4 != 0) as u32;
        e.emit(&phdr(PT_LOAD, flags, off, s.start, s.dump, s.end - s.start, PAGE));
        off += s.dump;
    }
    for (kind, desc) in &notes {
        let mut n = Vec::with_capacity(20);
        n.extend_from_slice(&5u32.to_le_bytes());
        n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        n.extend_from_slice(&kind.to_le_bytes());
        n.extend_from_slice(b"CORE\0");
        e.emit(&n);
        e.align4();
        e.emit(desc);
        e.align4();
    }
    e.skip_to(data_at);
    let mut page = alloc::vec![0u8; PAGE as usize];
    for s in segs {
        let mut at = s.start;
        while at < s.start + s.dump {
            if read_page(at, &mut page) {
                e.emit(&page);
            } else {
                let p = e.pos + PAGE;
                e.skip_to(p);
            }
            at += PAGE;
        }
    }
    // A file ending in a hole gets its last byte, so its size is right.
    if e.ok && e.pos > e.written {
        let last = e.pos - 1;
        e.pos = last;
        e.emit(&[0]);
    }
    e.ok.then_some(e.pos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;

    struct File(BTreeMap<u64, Vec<u8>>);
    impl Sink for File {
        fn write(&mut self, off: u64, data: &[u8]) -> bool {
            self.0.insert(off, data.to_vec());
            true
        }
    }
    impl File {
        fn bytes(&self) -> Vec<u8> {
            let mut v = Vec::new();
            for (&o, d) in &self.0 {
                if v.len() < (o as usize + d.len()) {
                    v.resize(o as usize + d.len(), 0);
                }
                v[o as usize..o as usize + d.len()].copy_from_slice(d);
            }
            v
        }
    }

    fn state<'a>(args: &'a [Vec<u8>]) -> ProcessState<'a> {
        ProcessState {
            sig: 6,
            si_code: -6,
            si_pid: 9,
            si_uid: 0,
            pid: 9,
            ppid: 2,
            pgid: 2,
            sid: 1,
            uid: 1000,
            gid: 100,
            nice: 0,
            comm: b"prog",
            args,
            auxv: &[6, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            cutime_ns: 0,
            cstime_ns: 0,
        }
    }

    #[test]
    fn core_names_from_patterns() {
        let f = NameFields { pid: 42, tid: 43, uid: 1000, gid: 100, sig: 6, time_s: 99, hostname: b"sion", comm: b"a/b", exe: b"/bin/prog", limit: u64::MAX, dumpable: 1 };
        assert_eq!(core_name(b"core", false, &f), b"core");
        assert_eq!(core_name(b"core", true, &f), b"core.42");
        assert_eq!(core_name(b"/tmp/dump-%p", true, &f), b"/tmp/dump-42");
        assert_eq!(core_name(b"%e.%E.%h.%s.%i.%u.%g.%t.%d.%%.%c.%z%", false, &f), b"a!b.!bin!prog.sion.6.43.1000.100.99.1.%.18446744073709551615.".to_vec());
        assert_eq!(core_name(b"|/bin/catch %p", true, &f), b"|/bin/catch 42");
    }

    #[test]
    fn filter_decides_what_a_mapping_dumps() {
        assert_eq!(dump_size(Backing::AnonPrivate, 0x3000, DEFAULT_FILTER, false), 0x3000);
        assert_eq!(dump_size(Backing::AnonShared, 0x3000, DEFAULT_FILTER, false), 0x3000);
        assert_eq!(dump_size(Backing::FileShared, 0x3000, DEFAULT_FILTER, false), 0);
        assert_eq!(dump_size(Backing::FilePrivate, 0x3000, DEFAULT_FILTER, true), 0x1000, "the ELF header page alone");
        assert_eq!(dump_size(Backing::FilePrivate, 0x3000, DEFAULT_FILTER, false), 0);
        assert_eq!(dump_size(Backing::FilePrivateWritten, 0x3000, DEFAULT_FILTER, false), 0x3000);
        assert_eq!(dump_size(Backing::Never, 0x3000, 0xff, false), 0, "MADV_DONTDUMP");
        assert_eq!(dump_size(Backing::AnonPrivate, 0x3000, 0x32, false), 0);
        assert_eq!(dump_size(Backing::Vdso, 0x2000, 0, false), 0x2000);
    }

    #[test]
    fn an_elf_core_with_notes_and_loads() {
        let args = [b"prog".to_vec(), b"-x".to_vec()];
        let p = state(&args);
        let t = ThreadState { tid: 9, regs: TaskRegs { rip: 0x401234, rsp: 0x7ffe_0000, ..Default::default() }, fpu: Some([7; 512]), pending: 0, blocked: 1 << 9, utime_ns: 1_500_000_000, stime_ns: 0 };
        let segs = [Segment { start: 0x10000, end: 0x13000, prot: 3, dump: 0x3000 }, Segment { start: 0x20000, end: 0x21000, prot: 1, dump: 0 }];
        let mut f = File(BTreeMap::new());
        let mut read = |addr: u64, buf: &mut [u8]| {
            // The middle page was never touched.
            buf.fill((addr >> 12) as u8);
            addr != 0x11000
        };
        let size = write(&mut f, u64::MAX, &p, core::slice::from_ref(&t), &segs, &mut read).unwrap();
        let b = f.bytes();
        assert_eq!(b.len() as u64, size);
        assert_eq!(&b[..4], b"\x7fELF");
        assert_eq!(u16::from_le_bytes([b[16], b[17]]), 4, "ET_CORE");
        assert_eq!(u16::from_le_bytes([b[56], b[57]]), 3, "a note and two loads");
        let ph = |i: usize, f: usize| u64::from_le_bytes(b[64 + 56 * i + f..64 + 56 * i + f + 8].try_into().unwrap());
        assert_eq!(u32::from_le_bytes(b[64..68].try_into().unwrap()), PT_NOTE);
        let (notes_at, notes_len) = (ph(0, 8), ph(0, 32));
        assert_eq!(notes_at, 64 + 3 * 56);
        // The first note: NT_PRSTATUS named CORE, with the signal and the pid.
        let n = notes_at as usize;
        assert_eq!(&b[n..n + 12], &[5, 0, 0, 0, 0x50, 1, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&b[n + 12..n + 17], b"CORE\0");
        let d = n + 20;
        assert_eq!(u32::from_le_bytes(b[d..d + 4].try_into().unwrap()), 6);
        assert_eq!(u32::from_le_bytes(b[d + 32..d + 36].try_into().unwrap()), 9, "pr_pid");
        assert_eq!(u64::from_le_bytes(b[d + 48..d + 56].try_into().unwrap()), 1, "utime seconds");
        assert_eq!(u64::from_le_bytes(b[d + 112 + 16 * 8..d + 112 + 17 * 8].try_into().unwrap()), 0x401234, "rip");
        // PRPSINFO's name and arguments follow.
        let q = d + 336 + 20;
        assert_eq!(&b[q + 40..q + 44], b"prog");
        assert_eq!(&b[q + 56..q + 63], b"prog -x");
        // The loads: page aligned after the notes, the hole reads as zeros.
        let data = ph(1, 8);
        assert_eq!(data, (notes_at + notes_len + 4095) & !4095);
        assert_eq!((ph(1, 16), ph(1, 32), ph(1, 40)), (0x10000, 0x3000, 0x3000));
        assert_eq!((ph(2, 32), ph(2, 40)), (0, 0x1000));
        assert_eq!(b[data as usize], 0x10);
        assert_eq!(b[data as usize + 0x1000], 0, "never touched: a hole");
        assert_eq!(b[data as usize + 0x2000], 0x12);
        assert_eq!(size, data + 0x3000);
    }

    #[test]
    fn the_limit_truncates_and_stops() {
        let args = [b"prog".to_vec()];
        let p = state(&args);
        let t = ThreadState { tid: 9, regs: TaskRegs::default(), fpu: None, pending: 0, blocked: 0, utime_ns: 0, stime_ns: 0 };
        let segs = [Segment { start: 0x10000, end: 0x12000, prot: 3, dump: 0x2000 }];
        let mut f = File(BTreeMap::new());
        let mut read = |_: u64, buf: &mut [u8]| {
            buf.fill(1);
            true
        };
        assert_eq!(write(&mut f, 4096, &p, core::slice::from_ref(&t), &segs, &mut read), None);
        let b = f.bytes();
        assert!(b.len() <= 4096 && b.len() > 64, "headers and notes, not the first page: {}", b.len());
        assert_eq!(&b[..4], b"\x7fELF");
    }
}
