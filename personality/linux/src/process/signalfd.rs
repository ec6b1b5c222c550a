//! Taking signals synchronously: signalfd (a descriptor that reads the
//! pending signals of a set) and rt_sigtimedwait. Both take a signal off the
//! calling thread's pending sets, the thread's own first.

use super::files::{FileLike, Obj, OpenFile, O_CLOEXEC, O_NONBLOCK};
use super::*;
use crate::signal::{SigInfo, UNBLOCKABLE};
use alloc::rc::Rc;
use core::cell::RefCell;

/// Size of `struct signalfd_siginfo`.
pub const SIGNALFD_INFO: u64 = 128;

impl Process {
    /// signalfd4 (and signalfd with `flags` 0): a new descriptor, or a new
    /// set for an existing one.
    pub(crate) fn sys_signalfd4(&mut self, h: &mut dyn Host, abi: Abi, fd: i32, mask: u64, size: u64, flags: u32) -> SysResult {
        if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 || size != 8 {
            return Err(Errno::EINVAL);
        }
        let b = self.read_user(h, abi, mask, 8)?;
        let set = u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?) & !UNBLOCKABLE;
        if fd != -1 {
            let f = self.file(fd as u32 as u64)?;
            let Obj::SignalFd(id) = f.borrow().obj else { return Err(Errno::EINVAL) };
            self.job.signalfds.insert(id, set);
            return Ok(fd as u64);
        }
        let id = self.job.next_signalfd;
        self.job.next_signalfd += 1;
        self.job.signalfds.insert(id, set);
        // Read-write, as Linux opens it (a write is EINVAL, a pwrite ESPIPE).
        let f = self.new_file(Obj::SignalFd(id), O_RDWR | (flags & O_NONBLOCK));
        match self.fd_install(f.clone(), 0, flags & O_CLOEXEC != 0) {
            Ok(fd) => Ok(fd as u64),
            Err(e) => {
                self.release(f);
                Err(e)
            }
        }
    }

    /// A read: as many `signalfd_siginfo` records as fit and are pending.
    pub(super) fn signalfd_read(&mut self, h: &mut dyn Host, abi: Abi, id: u32, iov: &[(u64, u64)], nonblock: bool) -> SysResult {
        let (base, len) = super::eventfd::record_buffer(iov, SIGNALFD_INFO)?;
        let set = self.job.signalfds.get(&id).copied().ok_or(Errno::EBADF)?;
        let mut done = 0;
        while done + SIGNALFD_INFO <= len {
            let Some((_, info)) = self.sig.dequeue(set) else { break };
            if let Err(e) = self.write_user(h, abi, base + done, &signalfd_info(&info)) {
                return if done == 0 { Err(e) } else { Ok(done) };
            }
            done += SIGNALFD_INFO;
        }
        if done > 0 {
            Ok(done)
        } else if nonblock {
            Err(Errno::EAGAIN)
        } else {
            self.block_retry()
        }
    }

    pub(super) fn signalfd_ready(&self, id: u32) -> bool {
        self.job.signalfds.get(&id).is_some_and(|&set| (self.sig.pending | self.sig.private) & set != 0)
    }

    /// rt_sigtimedwait(set, info, timeout, sigsetsize): a pending signal of
    /// `set`, waiting up to the timeout (EAGAIN) for one.
    pub(crate) fn sys_rt_sigtimedwait(&mut self, h: &mut dyn Host, abi: Abi, a: [u64; 6], bits: TimeBits) -> Outcome {
        if a[3] != 8 {
            return Errno::EINVAL.into();
        }
        let set = match self.read_user(h, abi, a[0], 8) {
            Ok(b) => u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])) & !UNBLOCKABLE,
            Err(e) => return e.into(),
        };
        let deadline = if a[2] == 0 {
            None
        } else {
            match self.read_timespec(h, abi, a[2], bits) {
                Ok(ns) => Some(h.now_ns().saturating_add(ns)),
                Err(e) => return e.into(),
            }
        };
        self.pending = Some(Pending::SigWait { set, info: a[1], deadline });
        match self.sigwait_poll(h) {
            Some(o) => o,
            None => Outcome::Blocked,
        }
    }

    /// A waiting rt_sigtimedwait: its signal, its timeout, or nothing yet.
    pub(super) fn sigwait_poll(&mut self, h: &mut dyn Host) -> Option<Outcome> {
        let Some(Pending::SigWait { set, info, deadline }) = self.pending else { return None };
        let r = match self.sig.dequeue(set) {
            Some((sig, si)) => {
                let abi = self.abi;
                if info != 0 {
                    if let Err(e) = self.write_user(h, abi, info, &si.encode(abi)) {
                        self.pending = None;
                        return Some(e.into());
                    }
                }
                Outcome::Reply(sig as u64)
            }
            None if deadline.is_some_and(|d| h.now_ns() >= d) => Errno::EAGAIN.into(),
            None => return None,
        };
        self.pending = None;
        Some(r)
    }
}

/// `struct signalfd_siginfo` (the same for both ABIs).
fn signalfd_info(si: &SigInfo) -> [u8; SIGNALFD_INFO as usize] {
    let mut b = [0u8; SIGNALFD_INFO as usize];
    let mut put = |at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put(0, si.signo as u32);
    put(8, si.code as u32);
    if let Some((band, fd)) = si.poll {
        put(20, fd as u32);
        put(28, band as u32);
    }
    if si.code == crate::signal::SI_TIMER {
        // A POSIX timer's: ssi_tid (the timer id) and ssi_overrun.
        put(24, si.pid);
        put(32, si.uid);
    } else {
        put(12, si.pid);
        put(16, si.uid);
    }
    if let Some(s) = si.status {
        put(40, s as u32);
    }
    if let Some(v) = si.value {
        put(44, v as u32);
        b[48..56].copy_from_slice(&v.to_le_bytes());
    }
    if let Some(addr) = si.addr {
        b[72..80].copy_from_slice(&addr.to_le_bytes());
    }
    b
}

/// The signal set `JobState::signalfds[id]`.
pub struct SignalFdFile(pub u32);

impl FileLike for SignalFdFile {
    fn seek(&self, _p: &mut Process, f: &Rc<RefCell<OpenFile>>, _off: i64, _whence: u32) -> Result<u64, Errno> {
        super::files::noop_seek(f)
    }

    fn read(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.signalfd_read(h, abi, self.0, &iov, nonblock)
    }

    fn ready(&self, p: &Process, _f: &OpenFile) -> (bool, bool) {
        (p.signalfd_ready(self.0), false)
    }

    fn release(&self, p: &mut Process, _flags: u32) {
        p.job.signalfds.remove(&self.0);
    }

    fn path(&self, _p: &Process) -> Vec<u8> {
        b"anon_inode:[signalfd]".to_vec()
    }
}
