//! The user-visible structures whose layout differs between the x86_64 and
//! i386 ABIs, encoded and decoded explicitly as little-endian bytes.

use alloc::vec::Vec;

/// Which Linux ABI a process (or a system call) uses.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Abi {
    X86_64,
    I386,
}

impl Abi {
    /// Size of `long` and of a pointer.
    pub const fn word(self) -> usize {
        match self {
            Abi::X86_64 => 8,
            Abi::I386 => 4,
        }
    }
    pub fn from_wire(a: sion_abi::msg::LinuxAbi) -> Abi {
        match a {
            sion_abi::msg::LinuxAbi::X86_64 => Abi::X86_64,
            sion_abi::msg::LinuxAbi::I386 => Abi::I386,
        }
    }
}

fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn get_u64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}
fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Read a `long`/pointer-sized word of `abi` (zero-extended).
pub fn get_word(abi: Abi, b: &[u8]) -> u64 {
    match abi {
        Abi::X86_64 => get_u64(b, 0),
        Abi::I386 => get_u32(b, 0) as u64,
    }
}

/// Append a word of `abi`.
pub fn push_word(abi: Abi, out: &mut Vec<u8>, v: u64) {
    match abi {
        Abi::X86_64 => out.extend_from_slice(&v.to_le_bytes()),
        Abi::I386 => out.extend_from_slice(&(v as u32).to_le_bytes()),
    }
}

/// Width of the `time_t` in a time structure: i386's old calls use 32-bit
/// fields, x86_64 and i386's `*_time64` calls 64-bit ones.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TimeBits {
    B32,
    B64,
}

impl TimeBits {
    /// The `long`-based layout of an ABI (`struct timespec`, `struct timeval`).
    pub const fn of(abi: Abi) -> TimeBits {
        match abi {
            Abi::X86_64 => TimeBits::B64,
            Abi::I386 => TimeBits::B32,
        }
    }
    /// Size of a timespec or timeval of this width.
    pub const fn size(self) -> usize {
        match self {
            TimeBits::B32 => 8,
            TimeBits::B64 => 16,
        }
    }
}

/// `struct timespec` (or `struct timeval`, with `nsec` holding microseconds).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

impl Timespec {
    pub fn from_ns(ns: u64) -> Timespec {
        Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
    }
    pub fn encode(&self, bits: TimeBits) -> Vec<u8> {
        let mut v = alloc::vec![0u8; bits.size()];
        match bits {
            TimeBits::B32 => {
                put_u32(&mut v, 0, self.sec as i32 as u32);
                put_u32(&mut v, 4, self.nsec as i32 as u32);
            }
            TimeBits::B64 => {
                put_u64(&mut v, 0, self.sec as u64);
                put_u64(&mut v, 8, self.nsec as u64);
            }
        }
        v
    }
    /// Fields are sign-extended as the kernel does (the 64-bit `*_time64`
    /// calls from i386 take only the low 32 bits of tv_nsec, as Linux does).
    pub fn decode(bits: TimeBits, b: &[u8]) -> Timespec {
        match bits {
            TimeBits::B32 => Timespec { sec: get_u32(b, 0) as i32 as i64, nsec: get_u32(b, 4) as i32 as i64 },
            TimeBits::B64 => Timespec { sec: get_u64(b, 0) as i64, nsec: get_u64(b, 8) as i64 },
        }
    }
    /// Nanoseconds, or `None` when tv_nsec is out of range or the time negative.
    pub fn to_ns(&self) -> Option<u64> {
        if self.sec < 0 || !(0..1_000_000_000).contains(&self.nsec) {
            return None;
        }
        Some((self.sec as u64).saturating_mul(1_000_000_000).saturating_add(self.nsec as u64))
    }
}

/// i386 `struct user_desc` (set_thread_area), 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct UserDesc {
    pub entry_number: u32,
    pub base_addr: u32,
    pub limit: u32,
    pub seg_32bit: bool,
    pub contents: u32,
    pub read_exec_only: bool,
    pub limit_in_pages: bool,
    pub seg_not_present: bool,
    pub useable: bool,
}

impl UserDesc {
    pub const SIZE: usize = 16;
    pub fn decode(b: &[u8]) -> UserDesc {
        let f = get_u32(b, 12);
        UserDesc {
            entry_number: get_u32(b, 0),
            base_addr: get_u32(b, 4),
            limit: get_u32(b, 8),
            seg_32bit: f & 1 != 0,
            contents: (f >> 1) & 3,
            read_exec_only: f & 8 != 0,
            limit_in_pages: f & 16 != 0,
            seg_not_present: f & 32 != 0,
            useable: f & 64 != 0,
        }
    }
    pub fn encode(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        put_u32(&mut b, 0, self.entry_number);
        put_u32(&mut b, 4, self.base_addr);
        put_u32(&mut b, 8, self.limit);
        let f = self.seg_32bit as u32
            | (self.contents & 3) << 1
            | (self.read_exec_only as u32) << 3
            | (self.limit_in_pages as u32) << 4
            | (self.seg_not_present as u32) << 5
            | (self.useable as u32) << 6;
        put_u32(&mut b, 12, f);
        b
    }
    /// Linux's `LDT_empty`/`LDT_zero`: a request to clear the slot.
    pub fn is_empty(&self) -> bool {
        let zero = self.base_addr == 0 && self.limit == 0 && self.contents == 0 && !self.seg_32bit && !self.limit_in_pages && !self.useable;
        zero && ((self.read_exec_only && self.seg_not_present) || (!self.read_exec_only && !self.seg_not_present))
    }
}

/// `struct new_utsname`: six fields of 65 bytes.
pub struct Utsname<'a> {
    pub sysname: &'a str,
    pub nodename: &'a str,
    pub release: &'a str,
    pub version: &'a str,
    pub machine: &'a str,
    pub domainname: &'a str,
}

impl Utsname<'_> {
    pub const FIELD: usize = 65;
    pub const SIZE: usize = 6 * 65;
    pub fn encode(&self) -> Vec<u8> {
        let mut v = alloc::vec![0u8; Self::SIZE];
        for (i, s) in [self.sysname, self.nodename, self.release, self.version, self.machine, self.domainname].iter().enumerate() {
            let n = s.len().min(Self::FIELD - 1);
            v[i * Self::FIELD..i * Self::FIELD + n].copy_from_slice(&s.as_bytes()[..n]);
        }
        v
    }
}

/// `RLIM_INFINITY` in the 64-bit layouts.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// Layouts of `struct rlimit`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RlimitLayout {
    /// Two u64 (x86_64 `rlimit`, `rlimit64` of prlimit64 on both ABIs).
    U64,
    /// Two u32 with infinity = 0xffffffff (i386 `ugetrlimit`, `setrlimit`).
    U32,
    /// i386's old `getrlimit` (76): two u32, infinity reported as 0x7fffffff.
    OldU32,
}

impl RlimitLayout {
    pub const fn size(self) -> usize {
        match self {
            RlimitLayout::U64 => 16,
            _ => 8,
        }
    }
    pub fn encode(self, cur: u64, max: u64) -> Vec<u8> {
        let mut v = alloc::vec![0u8; self.size()];
        match self {
            RlimitLayout::U64 => {
                put_u64(&mut v, 0, cur);
                put_u64(&mut v, 8, max);
            }
            RlimitLayout::U32 | RlimitLayout::OldU32 => {
                let top = if self == RlimitLayout::U32 { u32::MAX as u64 } else { 0x7fff_ffff };
                put_u32(&mut v, 0, cur.min(top) as u32);
                put_u32(&mut v, 4, max.min(top) as u32);
            }
        }
        v
    }
    pub fn decode(self, b: &[u8]) -> (u64, u64) {
        match self {
            RlimitLayout::U64 => (get_u64(b, 0), get_u64(b, 8)),
            _ => {
                let w = |x: u32| if x == u32::MAX { RLIM_INFINITY } else { x as u64 };
                (w(get_u32(b, 0)), w(get_u32(b, 4)))
            }
        }
    }
}

/// One `struct iovec` of `abi`.
pub fn iovec_size(abi: Abi) -> usize {
    2 * abi.word()
}
pub fn decode_iovec(abi: Abi, b: &[u8]) -> (u64, u64) {
    let w = abi.word();
    (get_word(abi, b), get_word(abi, &b[w..]))
}

/// What `fstat` reports about a file, independent of layout.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct StatInfo {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: u32,
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

/// File type bits.
pub const S_IFIFO: u32 = 0o010000;

/// x86_64 `struct stat` (fstat, newfstatat): 144 bytes.
pub fn encode_stat_x86_64(s: &StatInfo) -> Vec<u8> {
    let mut v = alloc::vec![0u8; 144];
    put_u64(&mut v, 0, s.dev);
    put_u64(&mut v, 8, s.ino);
    put_u64(&mut v, 16, s.nlink as u64);
    put_u32(&mut v, 24, s.mode);
    put_u32(&mut v, 28, s.uid);
    put_u32(&mut v, 32, s.gid);
    put_u64(&mut v, 40, s.rdev);
    put_u64(&mut v, 48, s.size as u64);
    put_u64(&mut v, 56, s.blksize as u64);
    put_u64(&mut v, 64, s.blocks);
    for (i, t) in [s.atime, s.mtime, s.ctime].iter().enumerate() {
        put_u64(&mut v, 72 + 16 * i, t.sec as u64);
        put_u64(&mut v, 80 + 16 * i, t.nsec as u64);
    }
    v
}

/// i386 `struct stat64` (fstat64, fstatat64): 96 bytes, packed.
pub fn encode_stat64_i386(s: &StatInfo) -> Vec<u8> {
    let mut v = alloc::vec![0u8; 96];
    put_u64(&mut v, 0, s.dev);
    put_u32(&mut v, 12, s.ino as u32);
    put_u32(&mut v, 16, s.mode);
    put_u32(&mut v, 20, s.nlink);
    put_u32(&mut v, 24, s.uid);
    put_u32(&mut v, 28, s.gid);
    put_u64(&mut v, 32, s.rdev);
    put_u64(&mut v, 44, s.size as u64);
    put_u32(&mut v, 52, s.blksize);
    put_u64(&mut v, 56, s.blocks);
    for (i, t) in [s.atime, s.mtime, s.ctime].iter().enumerate() {
        put_u32(&mut v, 64 + 8 * i, t.sec as u32);
        put_u32(&mut v, 68 + 8 * i, t.nsec as u32);
    }
    put_u64(&mut v, 88, s.ino);
    v
}

/// i386 old `struct stat` (fstat 108): 64 bytes.
pub fn encode_stat_i386(s: &StatInfo) -> Vec<u8> {
    let mut v = alloc::vec![0u8; 64];
    put_u32(&mut v, 0, s.dev as u32);
    put_u32(&mut v, 4, s.ino as u32);
    put_u16(&mut v, 8, s.mode as u16);
    put_u16(&mut v, 10, s.nlink as u16);
    put_u16(&mut v, 12, s.uid as u16);
    put_u16(&mut v, 14, s.gid as u16);
    put_u32(&mut v, 16, s.rdev as u32);
    put_u32(&mut v, 20, s.size as u32);
    put_u32(&mut v, 24, s.blksize);
    put_u32(&mut v, 28, s.blocks as u32);
    for (i, t) in [s.atime, s.mtime, s.ctime].iter().enumerate() {
        put_u32(&mut v, 32 + 8 * i, t.sec as u32);
        put_u32(&mut v, 36 + 8 * i, t.nsec as u32);
    }
    v
}

/// `STATX_BASIC_STATS`.
pub const STATX_BASIC_STATS: u32 = 0x7ff;

/// `struct statx`: 256 bytes, the same on both ABIs.
pub fn encode_statx(s: &StatInfo) -> Vec<u8> {
    let mut v = alloc::vec![0u8; 256];
    put_u32(&mut v, 0, STATX_BASIC_STATS);
    put_u32(&mut v, 4, s.blksize);
    put_u32(&mut v, 16, s.nlink);
    put_u32(&mut v, 20, s.uid);
    put_u32(&mut v, 24, s.gid);
    put_u16(&mut v, 28, s.mode as u16);
    put_u64(&mut v, 32, s.ino);
    put_u64(&mut v, 40, s.size as u64);
    put_u64(&mut v, 48, s.blocks);
    // atime @64, btime @80 (not in the mask), ctime @96, mtime @112.
    for (at, t) in [(64, s.atime), (96, s.ctime), (112, s.mtime)] {
        put_u64(&mut v, at, t.sec as u64);
        put_u32(&mut v, at + 8, t.nsec as u32);
    }
    put_u32(&mut v, 128, (s.rdev >> 8) as u32 & 0xfff);
    put_u32(&mut v, 132, (s.rdev & 0xff) as u32);
    put_u32(&mut v, 136, (s.dev >> 8) as u32 & 0xfff);
    put_u32(&mut v, 140, (s.dev & 0xff) as u32);
    v
}

/// The System V IPC structures' layouts: x86_64's, i386's 64-bit ones
/// (`IPC_64`, what glibc and musl use) and i386's old ones (16-bit ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpcLayout {
    X86_64,
    I386_64,
    I386Old,
}

fn get_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

impl IpcLayout {
    /// The layout of a call: the direct calls always have the 64-bit
    /// structures; i386's `ipc` multiplexer has them with `IPC_64` in `cmd`.
    pub fn of(abi: Abi, ipc64: bool) -> IpcLayout {
        match (abi, ipc64) {
            (Abi::X86_64, _) => IpcLayout::X86_64,
            (Abi::I386, true) => IpcLayout::I386_64,
            (Abi::I386, false) => IpcLayout::I386Old,
        }
    }
    fn word(self) -> usize {
        if self == IpcLayout::X86_64 {
            8
        } else {
            4
        }
    }
    fn put_word(self, b: &mut [u8], at: usize, v: u64) {
        if self.word() == 8 {
            put_u64(b, at, v)
        } else {
            put_u32(b, at, v.min(u32::MAX as u64) as u32)
        }
    }
    /// `struct ipc64_perm` (or the old `ipc_perm`) at the start of `b`.
    fn put_perm(self, b: &mut [u8], p: &crate::sysv::Perm) {
        put_u32(b, 0, p.key as u32);
        if self == IpcLayout::I386Old {
            for (i, v) in [p.uid, p.gid, p.cuid, p.cgid, p.mode].into_iter().enumerate() {
                put_u16(b, 4 + 2 * i, v as u16);
            }
            put_u16(b, 14, p.seq);
        } else {
            for (i, v) in [p.uid, p.gid, p.cuid, p.cgid].into_iter().enumerate() {
                put_u32(b, 4 + 4 * i, v);
            }
            if self == IpcLayout::X86_64 {
                put_u32(b, 20, p.mode);
            } else {
                put_u16(b, 20, p.mode as u16);
            }
            put_u16(b, 24, p.seq);
        }
    }
    fn perm_size(self) -> usize {
        match self {
            IpcLayout::X86_64 => 48,
            IpcLayout::I386_64 => 36,
            IpcLayout::I386Old => 16,
        }
    }
    /// IPC_SET's (uid, gid, mode) from the perm at the start of a `*_ds`.
    pub fn read_set(self, b: &[u8]) -> (u32, u32, u32) {
        match self {
            IpcLayout::I386Old => (get_u16(b, 4) as u32, get_u16(b, 6) as u32, get_u16(b, 12) as u32),
            IpcLayout::I386_64 => (get_u32(b, 4), get_u32(b, 8), get_u16(b, 20) as u32),
            IpcLayout::X86_64 => (get_u32(b, 4), get_u32(b, 8), get_u32(b, 20)),
        }
    }
    /// Bytes of `struct shmid64_ds` / `semid64_ds` / `msqid64_ds` (or the old ones).
    pub fn shmid_size(self) -> usize {
        [112, 84, 48][self as usize]
    }
    pub fn semid_size(self) -> usize {
        [104, 64, 44][self as usize]
    }
    pub fn msqid_size(self) -> usize {
        [120, 88, 56][self as usize]
    }
    /// A time: one word on x86_64 (and in the old structures), a low and
    /// a high word in i386's 64-bit ones.
    fn put_time(self, b: &mut [u8], at: usize, t: u64) {
        match self {
            IpcLayout::X86_64 => put_u64(b, at, t),
            IpcLayout::I386_64 => {
                put_u32(b, at, t as u32);
                put_u32(b, at + 4, (t >> 32) as u32);
            }
            IpcLayout::I386Old => put_u32(b, at, t as u32),
        }
    }
    pub fn shmid_ds(self, p: &crate::sysv::Perm, s: &crate::sysv::Seg) -> Vec<u8> {
        let mut b = alloc::vec![0u8; self.shmid_size()];
        self.put_perm(&mut b, p);
        match self {
            IpcLayout::I386Old => {
                put_u32(&mut b, 16, s.size.min(i32::MAX as u64) as u32);
                put_u32(&mut b, 20, s.atime as u32);
                put_u32(&mut b, 24, s.dtime as u32);
                put_u32(&mut b, 28, s.ctime as u32);
                put_u16(&mut b, 32, s.cpid as u16);
                put_u16(&mut b, 34, s.lpid as u16);
                put_u16(&mut b, 36, s.nattch.min(u16::MAX as u64) as u16);
            }
            _ => {
                let (w, t) = (self.word(), if self == IpcLayout::X86_64 { 8 } else { 8 });
                let mut at = self.perm_size();
                self.put_word(&mut b, at, s.size);
                at += w;
                for v in [s.atime, s.dtime, s.ctime] {
                    self.put_time(&mut b, at, v);
                    at += t;
                }
                put_u32(&mut b, at, s.cpid);
                put_u32(&mut b, at + 4, s.lpid);
                self.put_word(&mut b, at + 8, s.nattch);
            }
        }
        b
    }
    pub fn semid_ds(self, p: &crate::sysv::Perm, s: &crate::sysv::SemSet) -> Vec<u8> {
        let mut b = alloc::vec![0u8; self.semid_size()];
        self.put_perm(&mut b, p);
        let n = s.sems.len() as u64;
        match self {
            IpcLayout::I386Old => {
                put_u32(&mut b, 16, s.otime as u32);
                put_u32(&mut b, 20, s.ctime as u32);
                put_u16(&mut b, 40, n as u16);
            }
            IpcLayout::I386_64 => {
                self.put_time(&mut b, 36, s.otime);
                self.put_time(&mut b, 44, s.ctime);
                put_u32(&mut b, 52, n as u32);
            }
            IpcLayout::X86_64 => {
                put_u64(&mut b, 48, s.otime);
                put_u64(&mut b, 64, s.ctime);
                put_u64(&mut b, 80, n);
            }
        }
        b
    }
    pub fn msqid_ds(self, p: &crate::sysv::Perm, q: &crate::sysv::Queue) -> Vec<u8> {
        let mut b = alloc::vec![0u8; self.msqid_size()];
        self.put_perm(&mut b, p);
        let qnum = q.msgs.len() as u64;
        match self {
            IpcLayout::I386Old => {
                put_u32(&mut b, 24, q.stime as u32);
                put_u32(&mut b, 28, q.rtime as u32);
                put_u32(&mut b, 32, q.ctime as u32);
                // msg_lcbytes and msg_lqbytes stay 0, as x86_64 Linux
                // writes them for i386 programs (copy_compat_msqid_to_user).
                put_u16(&mut b, 44, q.cbytes.min(u16::MAX as u64) as u16);
                put_u16(&mut b, 46, qnum.min(u16::MAX as u64) as u16);
                put_u16(&mut b, 48, q.qbytes.min(u16::MAX as u64) as u16);
                put_u16(&mut b, 50, q.lspid as u16);
                put_u16(&mut b, 52, q.lrpid as u16);
            }
            _ => {
                let (w, t) = (self.word(), 8);
                let mut at = self.perm_size();
                for v in [q.stime, q.rtime, q.ctime] {
                    self.put_time(&mut b, at, v);
                    at += t;
                }
                for v in [q.cbytes, qnum, q.qbytes] {
                    self.put_word(&mut b, at, v);
                    at += w;
                }
                put_u32(&mut b, at, q.lspid);
                put_u32(&mut b, at + 4, q.lrpid);
            }
        }
        b
    }
    /// IPC_SET's `msg_qbytes` (the old structure's 16-bit one: x86_64
    /// Linux reads no `msg_lqbytes` for i386 programs).
    pub fn read_qbytes(self, b: &[u8]) -> u64 {
        match self {
            IpcLayout::X86_64 => get_u64(b, 88),
            IpcLayout::I386_64 => get_u32(b, 68) as u64,
            IpcLayout::I386Old => get_u16(b, 48) as u64,
        }
    }
    /// IPC_INFO of shared memory: `struct shminfo64` (or the old `shminfo`).
    pub fn shminfo(self, shmmni: u32, shmmax: u64, shmall: u64) -> Vec<u8> {
        use crate::linux::SHMMIN;
        if self == IpcLayout::I386Old {
            let mut b = alloc::vec![0u8; 20];
            for (i, v) in [shmmax.min(i32::MAX as u64), SHMMIN, shmmni as u64, shmmni as u64, shmall.min(i32::MAX as u64)].into_iter().enumerate() {
                put_u32(&mut b, 4 * i, v as u32);
            }
            return b;
        }
        let w = self.word();
        let mut b = alloc::vec![0u8; 9 * w];
        for (i, v) in [shmmax, SHMMIN, shmmni as u64, shmmni as u64, shmall].into_iter().enumerate() {
            if w == 8 {
                put_u64(&mut b, 8 * i, v);
            } else {
                put_u32(&mut b, 4 * i, v as u32);
            }
        }
        b
    }
    /// SHM_INFO: `struct shm_info` (used_ids, shm_tot, shm_rss, shm_swp, ...).
    pub fn shm_info(self, used: u32, tot: u64, rss: u64) -> Vec<u8> {
        let w = self.word();
        let mut b = alloc::vec![0u8; w + 5 * w];
        put_u32(&mut b, 0, used);
        self.put_word(&mut b, w, tot);
        self.put_word(&mut b, 2 * w, rss);
        b
    }
    /// IPC_INFO and SEM_INFO: `struct seminfo`, ten ints.
    pub fn seminfo(v: [u32; 10]) -> Vec<u8> {
        let mut b = alloc::vec![0u8; 40];
        for (i, x) in v.into_iter().enumerate() {
            put_u32(&mut b, 4 * i, x);
        }
        b
    }
    /// IPC_INFO and MSG_INFO: `struct msginfo`, seven ints and a short.
    pub fn msginfo(v: [u32; 7], msgseg: u16) -> Vec<u8> {
        let mut b = alloc::vec![0u8; 32];
        for (i, x) in v.into_iter().enumerate() {
            put_u32(&mut b, 4 * i, x);
        }
        put_u16(&mut b, 28, msgseg);
        b
    }
}

#[cfg(test)]
mod ipc_layout_tests {
    use super::*;
    use crate::sysv::{Perm, Queue, Seg, SemSet};

    fn perm() -> Perm {
        Perm { key: 0x1234, uid: 1000, gid: 100, cuid: 0, cgid: 0, mode: 0o1640, seq: 3 }
    }

    #[test]
    fn shmid64_ds() {
        let s = Seg { size: 8192, addr: 0, name: 0, atime: 11, dtime: 12, ctime: 13, cpid: 7, lpid: 8, nattch: 2 };
        let b = IpcLayout::X86_64.shmid_ds(&perm(), &s);
        assert_eq!(b.len(), 112);
        assert_eq!((get_u32(&b, 0), get_u32(&b, 4), get_u32(&b, 8), get_u32(&b, 20), get_u16(&b, 24)), (0x1234, 1000, 100, 0o1640, 3));
        assert_eq!((get_u64(&b, 48), get_u64(&b, 56), get_u64(&b, 64), get_u64(&b, 72)), (8192, 11, 12, 13));
        assert_eq!((get_u32(&b, 80), get_u32(&b, 84), get_u64(&b, 88)), (7, 8, 2));
        let b = IpcLayout::I386_64.shmid_ds(&perm(), &s);
        assert_eq!(b.len(), 84);
        assert_eq!((get_u32(&b, 36), get_u32(&b, 40), get_u32(&b, 48), get_u32(&b, 56)), (8192, 11, 12, 13));
        assert_eq!((get_u32(&b, 64), get_u32(&b, 68), get_u32(&b, 72)), (7, 8, 2));
        let b = IpcLayout::I386Old.shmid_ds(&perm(), &s);
        assert_eq!((b.len(), get_u16(&b, 4), get_u16(&b, 12), get_u32(&b, 16), get_u16(&b, 36)), (48, 1000, 0o1640, 8192, 2));
    }

    #[test]
    fn semid64_ds_and_msqid64_ds() {
        let s = SemSet { sems: alloc::vec![Default::default(); 3], otime: 5, ctime: 6 };
        let b = IpcLayout::X86_64.semid_ds(&perm(), &s);
        assert_eq!((b.len(), get_u64(&b, 48), get_u64(&b, 64), get_u64(&b, 80)), (104, 5, 6, 3));
        let b = IpcLayout::I386_64.semid_ds(&perm(), &s);
        assert_eq!((b.len(), get_u32(&b, 36), get_u32(&b, 44), get_u32(&b, 52)), (64, 5, 6, 3));
        let q = Queue { msgs: Default::default(), cbytes: 10, qbytes: 16384, stime: 1, rtime: 2, ctime: 3, lspid: 4, lrpid: 5 };
        let b = IpcLayout::X86_64.msqid_ds(&perm(), &q);
        assert_eq!(
            (b.len(), get_u64(&b, 48), get_u64(&b, 56), get_u64(&b, 64), get_u64(&b, 72), get_u64(&b, 88), get_u32(&b, 96), get_u32(&b, 100)),
            (120, 1, 2, 3, 10, 16384, 4, 5)
        );
        assert_eq!(IpcLayout::X86_64.read_qbytes(&b), 16384);
        let b = IpcLayout::I386_64.msqid_ds(&perm(), &q);
        assert_eq!(
            (b.len(), get_u32(&b, 36), get_u32(&b, 44), get_u32(&b, 52), get_u32(&b, 60), get_u32(&b, 68), get_u32(&b, 72), get_u32(&b, 76)),
            (88, 1, 2, 3, 10, 16384, 4, 5)
        );
        assert_eq!(IpcLayout::I386_64.read_qbytes(&b), 16384);
        assert_eq!(IpcLayout::I386_64.read_set(&b), (1000, 100, 0o1640));
        let b = IpcLayout::I386Old.msqid_ds(&perm(), &q);
        assert_eq!((b.len(), get_u16(&b, 48), IpcLayout::I386Old.read_qbytes(&b)), (56, 16384, 16384));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespec_layouts() {
        let t = Timespec { sec: 5, nsec: 7 };
        assert_eq!(t.encode(TimeBits::B32), [5, 0, 0, 0, 7, 0, 0, 0]);
        assert_eq!(t.encode(TimeBits::B64).len(), 16);
        assert_eq!(Timespec::decode(TimeBits::B64, &t.encode(TimeBits::B64)), t);
        assert_eq!(Timespec::decode(TimeBits::B32, &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).sec, -1);
        assert_eq!(Timespec { sec: 1, nsec: 1_000_000_000 }.to_ns(), None);
        assert_eq!(Timespec { sec: -1, nsec: 0 }.to_ns(), None);
        assert_eq!(Timespec { sec: 2, nsec: 3 }.to_ns(), Some(2_000_000_003));
        assert_eq!(Timespec::from_ns(2_000_000_003), Timespec { sec: 2, nsec: 3 });
    }

    #[test]
    fn user_desc_round_trip() {
        // What glibc i386 passes: entry -1, seg_32bit, limit_in_pages, useable.
        let mut raw = [0u8; 16];
        raw[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        raw[4..8].copy_from_slice(&0x0804_c000u32.to_le_bytes());
        raw[8..12].copy_from_slice(&0xfffffu32.to_le_bytes());
        raw[12..16].copy_from_slice(&0x51u32.to_le_bytes());
        let d = UserDesc::decode(&raw);
        assert!(d.seg_32bit && d.limit_in_pages && d.useable && !d.read_exec_only && !d.seg_not_present);
        assert_eq!(d.encode(), raw);
        assert!(!d.is_empty());
        assert!(UserDesc::default().is_empty());
    }

    #[test]
    fn rlimit_layouts() {
        assert_eq!(RlimitLayout::U32.encode(RLIM_INFINITY, RLIM_INFINITY), [0xff; 8]);
        assert_eq!(RlimitLayout::OldU32.encode(RLIM_INFINITY, 5), [0xff, 0xff, 0xff, 0x7f, 5, 0, 0, 0]);
        assert_eq!(RlimitLayout::U32.decode(&[0xff; 8]), (RLIM_INFINITY, RLIM_INFINITY));
        assert_eq!(RlimitLayout::U64.decode(&RlimitLayout::U64.encode(1, 2)), (1, 2));
    }

    #[test]
    fn uts_and_stat_sizes() {
        let u = Utsname { sysname: "Linux", nodename: "sion", release: "r", version: "v", machine: "x86_64", domainname: "(none)" };
        let b = u.encode();
        assert_eq!(b.len(), 390);
        assert_eq!(&b[..6], b"Linux\0");
        assert_eq!(&b[65..70], b"sion\0");
        let s = StatInfo { mode: S_IFIFO | 0o600, nlink: 1, ino: 0x1234_5678_9, ..Default::default() };
        let x = encode_stat_x86_64(&s);
        assert_eq!(u32::from_le_bytes(x[24..28].try_into().unwrap()), 0o010600);
        let y = encode_stat64_i386(&s);
        assert_eq!(u32::from_le_bytes(y[16..20].try_into().unwrap()), 0o010600);
        assert_eq!(u64::from_le_bytes(y[88..96].try_into().unwrap()), 0x1234_5678_9);
        let z = encode_statx(&s);
        assert_eq!(u16::from_le_bytes(z[28..30].try_into().unwrap()), 0o010600);
        assert_eq!(encode_stat_i386(&s).len(), 64);
    }
}
