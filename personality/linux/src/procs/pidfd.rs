//! The process table's side of pidfds: opening one for a process, sending
//! it a signal, taking a copy of one of its descriptors.

use super::{Life, Procs};
use crate::errno::Errno;
use crate::host::Host;
use crate::layout::Abi;
use crate::linux::CAP_SYS_PTRACE;
use crate::process::pidfd::PIDFD_NONBLOCK;
use crate::process::Outcome;

impl Procs {
    /// waitid(P_PIDFD) on a pidfd opened with PIDFD_NONBLOCK: EAGAIN while
    /// the process runs, as Linux (instead of waiting).
    pub(crate) fn pidfd_would_wait(&self, pid: u32) -> bool {
        matches!(self.members.get(&pid).map(|m| &m.life), Some(Life::Running { .. }))
    }

    /// pidfd_open(pid, flags): a process of the job (not one of its other
    /// threads: EINVAL), running or ended and not yet waited for.
    pub(crate) fn pidfd_open(&mut self, h: &mut dyn Host, caller: u32, pid: i32, flags: u32) -> Outcome {
        if flags & !PIDFD_NONBLOCK != 0 || pid <= 0 {
            return Errno::EINVAL.into();
        }
        let pid = pid as u32;
        let ended = match self.members.get(&pid).map(|m| &m.life) {
            Some(Life::Running { .. }) => false,
            Some(_) => true,
            None if self.members.values().any(|m| matches!(&m.life, Life::Running { proc, .. } if proc.has_thread(pid))) => {
                return Errno::EINVAL.into();
            }
            None => return Errno::ESRCH.into(),
        };
        self.serve(h, caller, |p, _| p.new_pidfd(pid, ended, flags)).map_or(Outcome::Blocked, Outcome::from)
    }

    /// The process a pidfd of `caller` names and whether it still runs
    /// (ESRCH once it was waited for, EBADF when `fd` is not a pidfd).
    fn pidfd_process(&mut self, h: &mut dyn Host, caller: u32, fd: u64, or_proc_dir: bool) -> Result<(u32, bool), Errno> {
        let pid = match or_proc_dir {
            true => self.serve(h, caller, |p, _| p.signal_target(fd)).ok_or(Errno::ESRCH)??,
            false => self.serve(h, caller, |p, _| p.pidfd_target(fd)).ok_or(Errno::ESRCH)??.0,
        };
        match self.members.get(&pid).map(|m| &m.life) {
            Some(Life::Running { .. }) => Ok((pid, true)),
            Some(_) => Ok((pid, false)),
            None => Err(Errno::ESRCH),
        }
    }

    /// pidfd_send_signal(pidfd, sig, info, flags): kill, or rt_sigqueueinfo
    /// with `info`, to the process the pidfd (or /proc/<pid> directory) names.
    pub(crate) fn pidfd_send_signal(&mut self, h: &mut dyn Host, caller: u32, abi: Abi, fd: u64, sig: u64, info: u64, flags: u32) -> Outcome {
        if flags != 0 {
            return Errno::EINVAL.into();
        }
        // A zombie takes a signal (and ignores it), as on Linux.
        let pid = match self.pidfd_process(h, caller, fd, true) {
            Ok((p, _)) => p,
            Err(e) => return e.into(),
        };
        if info == 0 {
            self.kill(h, caller, pid as i32, sig)
        } else {
            self.sigqueueinfo(h, caller, abi, pid as i32, None, sig, info)
        }
    }

    /// pidfd_getfd(pidfd, targetfd, flags): a new descriptor of `caller`
    /// for the open file description behind `targetfd` of the process the
    /// pidfd names (close-on-exec); that process must be the caller's
    /// user's (or the caller holds CAP_SYS_PTRACE).
    pub(crate) fn pidfd_getfd(&mut self, h: &mut dyn Host, caller: u32, fd: u64, target_fd: i32, flags: u32) -> Outcome {
        if flags != 0 {
            return Errno::EINVAL.into();
        }
        let pid = match self.pidfd_process(h, caller, fd, false) {
            Ok((p, true)) => p,
            Ok(_) => return Errno::ESRCH.into(),
            Err(e) => return e.into(),
        };
        let (Some(me), Some(them)) = (self.proc_ref(caller), self.proc_ref(pid)) else { return Errno::ESRCH.into() };
        if me.uid != them.uid && !me.capable(CAP_SYS_PTRACE) {
            return Errno::EPERM.into();
        }
        let Some(file) = them.files.fds.get(&target_fd).map(|e| e.file.clone()) else { return Errno::EBADF.into() };
        self.serve(h, caller, |p, _| p.fd_install(file, 0, true).map(|fd| fd as u64)).map_or(Outcome::Blocked, Outcome::from)
    }
}
