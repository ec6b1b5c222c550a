//! pidfd: a descriptor naming a process of the job (pidfd_open,
//! pidfd_send_signal, pidfd_getfd, waitid(P_PIDFD)). It polls readable once
//! the process has ended; reading it is EINVAL, as Linux.

use super::files::{FileLike, Obj, OpenFile, O_NONBLOCK, O_RDWR};
use super::*;
use alloc::rc::Rc;
use core::cell::RefCell;

/// pidfd_open's one flag (O_NONBLOCK: waitid on it does not wait).
pub const PIDFD_NONBLOCK: u32 = O_NONBLOCK;

/// What the job knows of a process some pidfd names.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PidFdTarget {
    /// Open descriptions naming it.
    pub refs: u32,
    /// It has ended (a zombie or reaped).
    pub ended: bool,
}

impl Process {
    /// A new pidfd for process `pid` (`ended`: already a zombie), close-on-exec
    /// as Linux makes every pidfd.
    pub(crate) fn new_pidfd(&mut self, pid: u32, ended: bool, flags: u32) -> SysResult {
        let t = self.job.pidfds.entry(pid).or_default();
        t.refs += 1;
        t.ended |= ended;
        let f = self.new_file(Obj::PidFd(pid), O_RDWR | (flags & O_NONBLOCK));
        match self.fd_install(f.clone(), 0, true) {
            Ok(fd) => Ok(fd as u64),
            Err(e) => {
                self.release(f);
                Err(e)
            }
        }
    }

    /// The process descriptor `fd` names and its flags (EBADF if it is not
    /// a pidfd).
    pub(crate) fn pidfd_target(&self, fd: u64) -> Result<(u32, u32), Errno> {
        let f = self.file(fd)?;
        let f = f.borrow();
        match f.obj {
            Obj::PidFd(pid) => Ok((pid, f.flags)),
            _ => Err(Errno::EBADF),
        }
    }
}

impl Process {
    /// The process a descriptor names for pidfd_send_signal: a pidfd, or as
    /// on Linux an open /proc/<pid> directory.
    pub(crate) fn signal_target(&self, fd: u64) -> Result<u32, Errno> {
        let f = self.file(fd)?;
        let obj = f.borrow().obj;
        match obj {
            Obj::PidFd(pid) => Ok(pid),
            Obj::Node(ino) => {
                let pid = super::files::proc_dir_pid(&self.job.vfs, ino).ok_or(Errno::EBADF)?;
                // The directory of a process that ended names no process,
                // even when its id was given again.
                let v = &self.job.vfs;
                match v.lookup(v.root, alloc::format!("/proc/{pid}").as_bytes(), false, &sion_vfs::Cred::root()) {
                    Ok(now) if now == ino => Ok(pid),
                    _ => Err(Errno::ESRCH),
                }
            }
            _ => Err(Errno::EBADF),
        }
    }
}

impl JobState {
    /// Process `pid` ended: its pidfds poll readable from now on.
    pub fn pidfd_process_ended(&mut self, pid: u32) {
        if let Some(t) = self.pidfds.get_mut(&pid) {
            t.ended = true;
        }
    }
}

/// A pidfd naming process `.0`.
pub struct PidFdFile(pub u32);

impl FileLike for PidFdFile {
    fn ready(&self, p: &Process, _f: &OpenFile) -> (bool, bool) {
        (p.job.pidfds.get(&self.0).is_some_and(|t| t.ended), false)
    }

    fn release(&self, p: &mut Process, _flags: u32) {
        if let Some(t) = p.job.pidfds.get_mut(&self.0) {
            t.refs = t.refs.saturating_sub(1);
            if t.refs == 0 {
                p.job.pidfds.remove(&self.0);
            }
        }
    }

    fn seek(&self, _p: &mut Process, f: &Rc<RefCell<OpenFile>>, _off: i64, _whence: u32) -> Result<u64, Errno> {
        super::files::noop_seek(f)
    }

    fn path(&self, _p: &Process) -> Vec<u8> {
        b"anon_inode:[pidfd]".to_vec()
    }
}
