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
