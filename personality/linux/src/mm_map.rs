//! The landmarks of a process's memory that Linux keeps in its mm (where
//! the code, data, heap, stack, arguments and environment are, and the
//! saved aux vector), and prctl(PR_SET_MM)'s checks when a checkpoint/restore
//! tool sets them (kernel/sys.c: prctl_set_mm, validate_prctl_map_addr).

use crate::errno::Errno;
use alloc::vec::Vec;

pub const PR_SET_MM: u32 = 35;
pub const PR_SET_MM_START_CODE: u32 = 1;
pub const PR_SET_MM_END_CODE: u32 = 2;
pub const PR_SET_MM_START_DATA: u32 = 3;
pub const PR_SET_MM_END_DATA: u32 = 4;
pub const PR_SET_MM_START_STACK: u32 = 5;
pub const PR_SET_MM_START_BRK: u32 = 6;
pub const PR_SET_MM_BRK: u32 = 7;
pub const PR_SET_MM_ARG_START: u32 = 8;
pub const PR_SET_MM_ARG_END: u32 = 9;
pub const PR_SET_MM_ENV_START: u32 = 10;
pub const PR_SET_MM_ENV_END: u32 = 11;
pub const PR_SET_MM_AUXV: u32 = 12;
pub const PR_SET_MM_EXE_FILE: u32 = 13;
pub const PR_SET_MM_MAP: u32 = 14;
pub const PR_SET_MM_MAP_SIZE: u32 = 15;

/// sizeof(struct prctl_mm_map): eleven addresses, the auxv pointer, its
/// size and the exe descriptor.
pub const PRCTL_MM_MAP_SIZE: usize = 104;
/// Words of mm->saved_auxv in Linux 6.1 on x86 (AT_VECTOR_SIZE: 2 * (3 + 20 + 1)).
pub const SAVED_AUXV_WORDS: usize = 48;

/// The addresses prctl(PR_SET_MM) sets, in `struct prctl_mm_map`'s order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MmMap {
    pub start_code: u64,
    pub end_code: u64,
    pub start_data: u64,
    pub end_data: u64,
    pub start_brk: u64,
    pub brk: u64,
    pub start_stack: u64,
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
}

/// A decoded `struct prctl_mm_map`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrctlMmMap {
    pub map: MmMap,
    pub auxv: u64,
    pub auxv_size: u32,
    pub exe_fd: u32,
}

impl MmMap {
    fn fields(&self) -> [u64; 11] {
        [
            self.start_code,
            self.end_code,
            self.start_data,
            self.end_data,
            self.start_brk,
            self.brk,
            self.start_stack,
            self.arg_start,
            self.arg_end,
            self.env_start,
            self.env_end,
        ]
    }

    /// Set the field a single-field PR_SET_MM option names (EINVAL for any
    /// other option).
    pub fn set(&mut self, opt: u32, addr: u64) -> Result<(), Errno> {
        let f = match opt {
            PR_SET_MM_START_CODE => &mut self.start_code,
            PR_SET_MM_END_CODE => &mut self.end_code,
            PR_SET_MM_START_DATA => &mut self.start_data,
            PR_SET_MM_END_DATA => &mut self.end_data,
            PR_SET_MM_START_STACK => &mut self.start_stack,
            PR_SET_MM_START_BRK => &mut self.start_brk,
            PR_SET_MM_BRK => &mut self.brk,
            PR_SET_MM_ARG_START => &mut self.arg_start,
            PR_SET_MM_ARG_END => &mut self.arg_end,
            PR_SET_MM_ENV_START => &mut self.env_start,
            PR_SET_MM_ENV_END => &mut self.env_end,
            _ => return Err(Errno::EINVAL),
        };
        *f = addr;
        Ok(())
    }

    /// Linux's validate_prctl_map_addr: every address in
    /// [mmap_min_addr, TASK_SIZE), the pairs in order (code strictly), and
    /// the heap plus the data within RLIMIT_DATA; any failure is EINVAL.
    pub fn validate(&self, task_size: u64, mmap_min: u64, rlimit_data: u64) -> Result<(), Errno> {
        if self.fields().iter().any(|&v| v >= task_size || v < mmap_min) {
            return Err(Errno::EINVAL);
        }
        let ordered = self.start_code < self.end_code
            && self.start_data <= self.end_data
            && self.start_brk <= self.brk
            && self.arg_start <= self.arg_end
            && self.env_start <= self.env_end;
        if !ordered {
            return Err(Errno::EINVAL);
        }
        // check_data_rlimit: (brk - start_brk) + (end_data - start_data).
        if rlimit_data != u64::MAX && (self.brk - self.start_brk).saturating_add(self.end_data - self.start_data) > rlimit_data {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// Decode a `struct prctl_mm_map` (little-endian, PRCTL_MM_MAP_SIZE bytes).
    pub fn decode(b: &[u8]) -> Option<PrctlMmMap> {
        if b.len() < PRCTL_MM_MAP_SIZE {
            return None;
        }
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default());
        let map = MmMap {
            start_code: w(0),
            end_code: w(1),
            start_data: w(2),
            end_data: w(3),
            start_brk: w(4),
            brk: w(5),
            start_stack: w(6),
            arg_start: w(7),
            arg_end: w(8),
            env_start: w(9),
            env_end: w(10),
        };
        let u = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or_default());
        Some(PrctlMmMap { map, auxv: w(11), auxv_size: u(96), exe_fd: u(100) })
    }
}

/// Bytes of mm->saved_auxv (SAVED_AUXV_WORDS 64-bit words).
pub const SAVED_AUXV_BYTES: usize = SAVED_AUXV_WORDS * 8;

/// mm->saved_auxv holding `bytes` (an aux vector as the process's ABI
/// writes it, at most SAVED_AUXV_BYTES), zero-filled, its last two words
/// kept AT_NULL as Linux does after PR_SET_MM_AUXV.
pub fn saved_auxv(bytes: &[u8]) -> Vec<u8> {
    let mut v = alloc::vec![0u8; SAVED_AUXV_BYTES];
    let n = bytes.len().min(SAVED_AUXV_BYTES - 16);
    v[..n].copy_from_slice(&bytes[..n]);
    v
}

/// What /proc/PID/auxv shows of a saved aux vector: its (key, value) pairs
/// of 64-bit words up to and including the first whose key is AT_NULL.
pub fn auxv_text(saved: &[u8]) -> &[u8] {
    let mut n = 0;
    while n + 16 <= saved.len() {
        n += 16;
        if saved[n - 16..n - 8].iter().all(|&b| b == 0) {
            break;
        }
    }
    &saved[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK: u64 = 0x7fff_ffff_f000;
    const MIN: u64 = 0x10000;

    fn sample() -> MmMap {
        MmMap {
            start_code: 0x400000,
            end_code: 0x401000,
            start_data: 0x402000,
            end_data: 0x403000,
            start_brk: 0x404000,
            brk: 0x405000,
            start_stack: 0x7ffe_0000_0000,
            arg_start: 0x7ffe_0000_1000,
            arg_end: 0x7ffe_0000_1010,
            env_start: 0x7ffe_0000_1010,
            env_end: 0x7ffe_0000_1100,
        }
    }

    #[test]
    fn checks_as_linux() {
        let m = sample();
        assert_eq!(m.validate(TASK, MIN, u64::MAX), Ok(()));
        let mut bad = m;
        bad.set(PR_SET_MM_END_CODE, m.start_code).unwrap();
        assert_eq!(bad.validate(TASK, MIN, u64::MAX), Err(Errno::EINVAL), "code must be a nonempty range");
        let mut empty = m;
        empty.set(PR_SET_MM_END_DATA, m.start_data).unwrap();
        assert_eq!(empty.validate(TASK, MIN, u64::MAX), Ok(()), "data may be empty");
        let mut low = m;
        low.set(PR_SET_MM_START_STACK, 0x1000).unwrap();
        assert_eq!(low.validate(TASK, MIN, u64::MAX), Err(Errno::EINVAL), "below mmap_min_addr");
        let mut high = m;
        high.set(PR_SET_MM_ENV_END, TASK).unwrap();
        assert_eq!(high.validate(TASK, MIN, u64::MAX), Err(Errno::EINVAL), "at TASK_SIZE");
        let mut brk = m;
        brk.set(PR_SET_MM_BRK, m.start_brk - 1).unwrap();
        assert_eq!(brk.validate(TASK, MIN, u64::MAX), Err(Errno::EINVAL));
        // The heap and data, 0x2000 bytes, within RLIMIT_DATA.
        assert_eq!(m.validate(TASK, MIN, 0x2000), Ok(()));
        assert_eq!(m.validate(TASK, MIN, 0x1fff), Err(Errno::EINVAL));
        assert_eq!(m.clone().set(PR_SET_MM_AUXV, 0), Err(Errno::EINVAL));
    }

    #[test]
    fn decodes_the_struct() {
        let m = sample();
        let mut b = Vec::new();
        for v in m.fields() {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&0x1234u64.to_le_bytes());
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(b.len(), PRCTL_MM_MAP_SIZE);
        assert_eq!(MmMap::decode(&b), Some(PrctlMmMap { map: m, auxv: 0x1234, auxv_size: 16, exe_fd: u32::MAX }));
        assert_eq!(MmMap::decode(&b[..100]), None);
    }

    #[test]
    fn saved_auxv_keeps_the_terminator() {
        let bytes: Vec<u8> = (0..60u64).flat_map(|v| (v + 1).to_le_bytes()).collect();
        let v = saved_auxv(&bytes);
        assert_eq!(v.len(), SAVED_AUXV_BYTES);
        assert_eq!(&v[..8], &1u64.to_le_bytes());
        assert!(v[SAVED_AUXV_BYTES - 16..].iter().all(|&b| b == 0));
        assert_eq!(auxv_text(&v).len(), SAVED_AUXV_BYTES, "read through the kept AT_NULL");
        let short = saved_auxv(&[6, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0]);
        assert_eq!(auxv_text(&short), &short[..32], "AT_PAGESZ, then AT_NULL");
    }
}
