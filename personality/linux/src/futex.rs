//! futex(2): decoding the operation and FUTEX_WAKE_OP's arithmetic. The wait
//! queues themselves are the waiting threads' pending calls (see
//! `procs/threads.rs`), keyed by process and address.

use crate::errno::Errno;
#[cfg(test)]
use alloc::vec::Vec;

pub const FUTEX_PRIVATE_FLAG: u32 = 128;
pub const FUTEX_CLOCK_REALTIME: u32 = 256;
pub const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;

/// The robust-list protocol's bits in a futex word.
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// Robust-list entries walked at a thread's death at most (Linux's ROBUST_LIST_LIMIT).
pub const ROBUST_LIST_LIMIT: usize = 2048;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Wait while `*addr == val`; relative timeout.
    Wait,
    Wake,
    /// Wake some, move up to `val2` others to `addr2`; CMP_REQUEUE first
    /// checks `*addr == val3`.
    Requeue { cmp: bool },
    WakeOp,
    /// Wait with a bitset; absolute timeout.
    WaitBitset,
    WakeBitset,
    /// Priority-inheritance operations and FUTEX_FD: not offered.
    Unsupported,
}

/// The operation of futex's `op` argument (the private and clock flags
/// stripped), or the error Linux gives.
pub fn decode(op: u32) -> Result<Op, Errno> {
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let o = match cmd {
        0 => Op::Wait,
        1 => Op::Wake,
        3 => Op::Requeue { cmp: false },
        4 => Op::Requeue { cmp: true },
        5 => Op::WakeOp,
        9 => Op::WaitBitset,
        10 => Op::WakeBitset,
        2 | 6 | 7 | 8 | 11 | 12 | 13 => Op::Unsupported,
        _ => return Err(Errno::ENOSYS),
    };
    // Only the bitset wait (and the PI ones) take CLOCK_REALTIME.
    if op & FUTEX_CLOCK_REALTIME != 0 && !matches!(o, Op::WaitBitset | Op::Unsupported) {
        return Err(Errno::ENOSYS);
    }
    Ok(o)
}

/// FUTEX_WAKE_OP's encoded operation: the new value of the second word and
/// whether its waiters are woken, given its old value.
pub fn wake_op(encoded: u32, old: u32) -> Result<(u32, bool), Errno> {
    let op = (encoded >> 28) & 7;
    let shift = encoded & (8 << 28) != 0;
    let cmp = (encoded >> 24) & 15;
    let sext12 = |v: u32| (((v & 0xfff) << 20) as i32 >> 20) as u32;
    let mut oparg = sext12(encoded >> 12);
    let cmparg = sext12(encoded);
    if shift {
        // Linux masks an out-of-range shift (after a warning).
        oparg = 1u32 << (oparg & 31);
    }
    let new = match op {
        0 => oparg,
        1 => old.wrapping_add(oparg),
        2 => old | oparg,
        3 => old & !oparg,
        4 => old ^ oparg,
        _ => return Err(Errno::ENOSYS),
    };
    let (a, b) = (old as i32, cmparg as i32);
    let wake = match cmp {
        0 => a == b,
        1 => a != b,
        2 => a < b,
        3 => a <= b,
        4 => a > b,
        5 => a >= b,
        _ => return Err(Errno::ENOSYS),
    };
    Ok((new, wake))
}

/// How many waiters a wake of `n` may wake: Linux wakes at least one.
pub fn wake_count(n: u64) -> usize {
    (n as u32 as i32).max(1) as usize
}

/// futex_waitv's limit on the number of futexes (FUTEX_WAITV_MAX).
pub const WAITV_MAX: u64 = 128;
/// The size of one `struct futex_waitv` (val, uaddr, flags, __reserved).
pub const WAITV_SIZE: usize = 24;
/// A futex_waitv waiter's size flag (FUTEX2_SIZE_U32): the only size offered.
pub const FUTEX2_SIZE_U32: u32 = 2;

/// One waiter of futex_waitv: the word at `addr` must still hold `val`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitvEntry {
    pub val: u32,
    pub addr: u64,
    pub private: bool,
}

/// Decode one `struct futex_waitv` as Linux's futex_parse_waitv: flags other
/// than FUTEX2_SIZE_U32 and FUTEX_PRIVATE_FLAG, a nonzero reserved word, no
/// FUTEX2_SIZE_U32, or a value wider than 32 bits are EINVAL (the last as
/// Linux since 6.7's futex_validate_input; 6.1 compared the low 32 bits).
pub fn parse_waitv(b: &[u8]) -> Result<WaitvEntry, Errno> {
    let b: &[u8; WAITV_SIZE] = b.get(..WAITV_SIZE).and_then(|b| b.try_into().ok()).ok_or(Errno::EFAULT)?;
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
    let (val, addr) = (word(0), word(8));
    let flags = u32::from_le_bytes([b[16], b[17], b[18], b[19]]);
    let reserved = u32::from_le_bytes([b[20], b[21], b[22], b[23]]);
    if flags & !(FUTEX2_SIZE_U32 | FUTEX_PRIVATE_FLAG) != 0 || reserved != 0 || flags & FUTEX2_SIZE_U32 == 0 || val >> 32 != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(WaitvEntry { val: val as u32, addr, private: flags & FUTEX_PRIVATE_FLAG != 0 })
}

/// futex_waitv's own arguments, checked in Linux's order before the
/// waiters are read: no flags, 1 to 128 waiters, a non-NULL array, and with
/// a timeout only CLOCK_REALTIME (0) or CLOCK_MONOTONIC (1).
pub fn check_waitv_args(waiters: u64, nr: u64, flags: u64, timeout: u64, clock: i32) -> Result<(), Errno> {
    if flags != 0 || nr == 0 || nr > WAITV_MAX || waiters == 0 {
        return Err(Errno::EINVAL);
    }
    if timeout != 0 && clock != 0 && clock != 1 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(op: u32, oparg: u32, cmp: u32, cmparg: u32) -> u32 {
        ((op & 0xf) << 28) | ((cmp & 0xf) << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff)
    }

    #[test]
    fn ops() {
        assert_eq!(decode(0), Ok(Op::Wait));
        assert_eq!(decode(128 | 1), Ok(Op::Wake));
        assert_eq!(decode(256 | 9), Ok(Op::WaitBitset));
        assert_eq!(decode(256), Err(Errno::ENOSYS));
        assert_eq!(decode(14), Err(Errno::ENOSYS));
        assert_eq!(decode(6), Ok(Op::Unsupported));
    }

    #[test]
    fn wake_op_arithmetic() {
        // glibc's old condvar: FUTEX_OP_CLEAR_WAKE_IF_GT_ONE = set 0, wake if old > 1.
        let clear = encode(0, 0, 4, 1);
        assert_eq!(wake_op(clear, 2), Ok((0, true)));
        assert_eq!(wake_op(clear, 1), Ok((0, false)));
        assert_eq!(wake_op(encode(1, 5, 0, 7), 2), Ok((7, false)));
        assert_eq!(wake_op(encode(1, 5, 0, 2), 2), Ok((7, true)));
        assert_eq!(wake_op(encode(3, 1, 1, 0), 3), Ok((2, true)));
        // Negative oparg and cmparg are sign-extended 12-bit values.
        assert_eq!(wake_op(encode(1, 0xfff, 2, 0), 0), Ok((u32::MAX, false)));
        assert_eq!(wake_op(encode(0, 0, 2, 0xfff), 0), Ok((0, false)));
        assert_eq!(wake_op(encode(8 | 2, 4, 0, 0), 1), Ok((1 | 16, false)));
        assert_eq!(wake_op(encode(5, 0, 0, 0), 0), Err(Errno::ENOSYS));
        assert_eq!(wake_op(encode(0, 0, 6, 0), 0), Err(Errno::ENOSYS));
    }

    fn waitv(val: u64, addr: u64, flags: u32, reserved: u32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&val.to_le_bytes());
        b.extend_from_slice(&addr.to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(&reserved.to_le_bytes());
        b
    }

    #[test]
    fn waitv_entries() {
        assert_eq!(parse_waitv(&waitv(7, 0x1000, 2 | 128, 0)), Ok(WaitvEntry { val: 7, addr: 0x1000, private: true }));
        assert_eq!(parse_waitv(&waitv(1 << 32 | 7, 0x1000, 2 | 128, 0)), Err(Errno::EINVAL));
        assert_eq!(parse_waitv(&waitv(0, 0x1000, 2, 0)), Ok(WaitvEntry { val: 0, addr: 0x1000, private: false }));
        // No size flag, an unknown flag, a reserved word: EINVAL.
        assert_eq!(parse_waitv(&waitv(0, 0x1000, 128, 0)), Err(Errno::EINVAL));
        assert_eq!(parse_waitv(&waitv(0, 0x1000, 2 | 4, 0)), Err(Errno::EINVAL));
        assert_eq!(parse_waitv(&waitv(0, 0x1000, 2, 1)), Err(Errno::EINVAL));
        assert_eq!(parse_waitv(&[0; 8]), Err(Errno::EFAULT));
    }

    #[test]
    fn waitv_args() {
        assert_eq!(check_waitv_args(0x1000, 1, 0, 0x2000, 1), Ok(()));
        assert_eq!(check_waitv_args(0x1000, 128, 0, 0x2000, 0), Ok(()));
        assert_eq!(check_waitv_args(0x1000, 129, 0, 0x2000, 1), Err(Errno::EINVAL));
        assert_eq!(check_waitv_args(0x1000, 0, 0, 0x2000, 1), Err(Errno::EINVAL));
        assert_eq!(check_waitv_args(0, 1, 0, 0x2000, 1), Err(Errno::EINVAL));
        assert_eq!(check_waitv_args(0x1000, 1, 1, 0x2000, 1), Err(Errno::EINVAL));
        // CLOCK_TAI is refused, but only with a timeout.
        assert_eq!(check_waitv_args(0x1000, 1, 0, 0x2000, 11), Err(Errno::EINVAL));
        assert_eq!(check_waitv_args(0x1000, 1, 0, 0, 11), Ok(()));
    }

    #[test]
    fn counts() {
        assert_eq!(wake_count(0), 1);
        assert_eq!(wake_count(i32::MAX as u64), i32::MAX as usize);
        assert_eq!(wake_count(3), 3);
        assert_eq!(wake_count(u64::MAX), 1);
    }
}
