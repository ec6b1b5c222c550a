//! BSD process accounting (acct(2), CONFIG_BSD_PROCESS_ACCT_V3): while a
//! file is set, each process of the job that ends appends a `struct
//! acct_v3` to it, as Linux's `acct_process` does for the processes of its
//! pid namespace (the job is SiON's). The fields SiON does not count are
//! zero: system time, I/O, page faults; ASU (used root's privilege) is
//! never set, nor ACORE (no core files), and there is no controlling tty.

use super::files::{Obj, O_APPEND, O_LARGEFILE, O_WRONLY};
use super::*;
use sion_abi::console::Exit;
use sion_vfs::Data;

/// Flags of `ac_flag`.
pub const AFORK: u8 = 0x01;
pub const AXSIG: u8 = 0x10;
/// Version 3, little-endian (ACCT_BYTEORDER 0).
pub const ACCT_VERSION: u8 = 3;
/// The record's size.
pub const ACCT_V3_SIZE: usize = 64;
/// Accounting's clock: USER_HZ ticks.
const AHZ: u64 = 100;

/// Linux's `encode_comp_t`: 13-bit mantissa, base-8 exponent in 3 bits.
pub fn encode_comp_t(mut value: u64) -> u16 {
    const MANTSIZE: u32 = 13;
    const MAXFRACT: u64 = (1 << MANTSIZE) - 1;
    let (mut exp, mut rnd) = (0u32, 0u64);
    while value > MAXFRACT {
        rnd = value & (1 << 2);
        value >>= 3;
        exp += 1;
    }
    if rnd != 0 {
        value += 1;
        if value > MAXFRACT {
            value >>= 3;
            exp += 1;
        }
    }
    if exp > 7 {
        return u16::MAX;
    }
    ((exp << MANTSIZE) as u64 + value) as u16
}

/// Linux's `encode_float`: an IEEE single of a count (ac_etime of v3).
pub fn encode_float(mut value: u64) -> u32 {
    if value == 0 {
        return 0;
    }
    let mut exp: u32 = 190;
    while (value as i64) > 0 {
        value <<= 1;
        exp -= 1;
    }
    ((value >> 40) as u32 & 0x7f_ffff) | (exp << 23)
}

/// What one record says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AcctRecord {
    pub flag: u8,
    pub exitcode: u32,
    pub uid: u32,
    pub gid: u32,
    pub pid: u32,
    pub ppid: u32,
    /// Start, in seconds since the epoch.
    pub btime: u32,
    /// Elapsed, user time (AHZ ticks), memory (KiB).
    pub etime: u64,
    pub utime: u64,
    pub mem: u64,
    pub comm: Vec<u8>,
}

impl AcctRecord {
    /// `struct acct_v3`.
    pub fn encode(&self) -> [u8; ACCT_V3_SIZE] {
        let mut b = [0u8; ACCT_V3_SIZE];
        b[0] = self.flag;
        b[1] = ACCT_VERSION;
        for (at, v) in [(4, self.exitcode), (8, self.uid), (12, self.gid), (16, self.pid), (20, self.ppid), (24, self.btime), (28, encode_float(self.etime))] {
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        // ac_utime, ac_stime, ac_mem, ac_io, ac_rw, ac_minflt, ac_majflt, ac_swaps.
        for (i, v) in [self.utime, 0, self.mem, 0, 0, 0, 0, 0].into_iter().enumerate() {
            b[32 + 2 * i..34 + 2 * i].copy_from_slice(&encode_comp_t(v).to_le_bytes());
        }
        let n = self.comm.len().min(15);
        b[48..48 + n].copy_from_slice(&self.comm[..n]);
        b
    }
}

impl Process {
    /// acct(path): account to that file (opened for appending; a regular
    /// file only: EACCES), or stop (NULL). CAP_SYS_PACCT first: EPERM.
    pub(crate) fn sys_acct(&mut self, h: &mut dyn Host, abi: Abi, path: u64) -> SysResult {
        if !self.capable(crate::linux::CAP_SYS_PACCT) {
            return Err(Errno::EPERM);
        }
        if path == 0 {
            if let Some(old) = self.job.acct.take() {
                self.release(old);
            }
            return Ok(0);
        }
        let fd = self.sys_openat(h, abi, AT_FDCWD, path, O_WRONLY | O_APPEND | O_LARGEFILE, 0)? as i32;
        let Some(ent) = self.files.fds.remove(&fd) else { return Err(Errno::EBADF) };
        self.files.fd_dirty = true;
        let file = ent.file;
        let regular = match file.borrow().obj {
            Obj::Node(ino) => matches!(self.job.vfs.node(ino).data, Data::Reg(_)),
            _ => false,
        };
        if !regular {
            self.release(file);
            return Err(Errno::EACCES);
        }
        if let Some(old) = self.job.acct.replace(file) {
            self.release(old);
        }
        Ok(0)
    }

    /// The process ends: its record, if accounting is on.
    pub(crate) fn acct_exit(&mut self, h: &mut dyn Host, exit: Exit) {
        let Some(file) = self.job.acct.clone() else { return };
        let Obj::Node(ino) = file.borrow().obj else { return };
        let elapsed = h.now_ns().saturating_sub(self.started_ns) / (1_000_000_000 / AHZ);
        let now_s = h.realtime_ns() / 1_000_000_000;
        let (flag, exitcode) = match exit {
            Exit::Code(c) => (0, (c as u32 & 0xff) << 8),
            Exit::Signal(s) => (AXSIG, s as u32),
        };
        let rec = AcctRecord {
            flag: flag | if self.forked { AFORK } else { 0 },
            exitcode,
            uid: self.ids.ruid,
            gid: self.ids.rgid,
            pid: self.pid,
            ppid: self.family.0,
            btime: now_s.saturating_sub(elapsed / AHZ).min(u32::MAX as u64) as u32,
            etime: elapsed,
            utime: h.cpu_ns() / (1_000_000_000 / AHZ),
            mem: self.vmas.iter().map(|v| v.end - v.start).sum::<u64>() / 1024,
            comm: self.comm().into_bytes(),
        };
        let end = self.job.vfs.node(ino).size();
        if self.job.vfs.write_at(ino, end, &rec.encode()).is_ok() {
            self.job.vfs.event(ino, sion_vfs::IN_MODIFY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comp_t_as_linux() {
        assert_eq!(encode_comp_t(0), 0);
        assert_eq!(encode_comp_t(8191), 8191);
        // 8192 = 1024 << 3: mantissa 1024, exponent 1.
        assert_eq!(encode_comp_t(8192), (1 << 13) | 1024);
        // 8196 >> 3 = 1024, bit 2 set: rounded up.
        assert_eq!(encode_comp_t(8196), (1 << 13) | 1025);
        assert_eq!(encode_comp_t(u64::MAX), u16::MAX);
    }

    #[test]
    fn float_as_ieee() {
        for v in [1u64, 2, 3, 100, 12345, 1 << 30] {
            assert_eq!(f32::from_bits(encode_float(v)), v as f32, "{v}");
        }
        assert_eq!(encode_float(0), 0);
    }

    #[test]
    fn record_layout() {
        let r = AcctRecord { flag: AFORK, exitcode: 128 << 8, uid: 1, gid: 2, pid: 3, ppid: 4, btime: 5, etime: 100, utime: 1, mem: 10, comm: b"acct02_helper".to_vec() };
        let b = r.encode();
        assert_eq!((b[0], b[1]), (AFORK, 3));
        assert_eq!(u32::from_le_bytes(b[4..8].try_into().unwrap()), 128 << 8);
        assert_eq!(u32::from_le_bytes(b[20..24].try_into().unwrap()), 4);
        assert_eq!(f32::from_bits(u32::from_le_bytes(b[28..32].try_into().unwrap())), 100.0);
        assert_eq!(&b[48..62], b"acct02_helper\0");
    }
}
