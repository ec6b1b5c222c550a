//! POSIX message queue calls of a process against the job's namespace
//! (`JobState::ipc.mq`, [`crate::mqueue`], pure and host-tested). A queue
//! descriptor is an open file description of `Obj::Mq(id)`, close-on-exec
//! as Linux makes them; a send to a full queue or a receive from an empty
//! one is a deferred reply ([`Process::block_retry`]) whose wait is kept
//! with System V's (`Ipc::waits`), so its absolute `CLOCK_REALTIME`
//! deadline wakes the server and ends it with `ETIMEDOUT`.

use super::files::{FileLike, Obj, OpenFile, O_ACCMODE, O_CREAT, O_EXCL, O_NONBLOCK, O_RDWR, O_WRONLY};
use super::*;
use crate::layout::StatInfo;
use crate::mqueue::{Create, Notify, MQ_PRIO_MAX};
use crate::signal::NSIG;
use crate::sysv::{Cred, Wait, WaitFor, READ, WRITE};
use alloc::rc::Rc;
use core::cell::RefCell;

/// Linux's capability to read and write what the mode forbids.
const CAP_DAC_OVERRIDE: u32 = 1;
const CAP_FOWNER: u32 = 3;
const RLIMIT_MSGQUEUE: usize = 12;

impl Process {
    fn mq_cred(&self, cap: u32) -> Cred {
        Cred { uid: self.files.cred.uid, gid: self.files.cred.gid, root: self.capable(cap) }
    }

    /// The queue behind descriptor `fd` and its description: EBADF for
    /// another kind, as Linux.
    fn mq_of(&self, fd: i32) -> Result<(u32, Rc<RefCell<OpenFile>>), Errno> {
        let f = self.file(fd as u32 as u64)?;
        let Obj::Mq(id) = f.borrow().obj else { return Err(Errno::EBADF) };
        Ok((id, f))
    }

    /// A queue name as glibc passes it (without its '/').
    fn mq_name(&mut self, h: &mut dyn Host, abi: Abi, addr: u64) -> Result<Vec<u8>, Errno> {
        self.read_path(h, abi, addr)
    }

    /// struct mq_attr: four longs (flags, maxmsg, msgsize, curmsgs) and four reserved.
    fn mq_read_attr(&mut self, h: &mut dyn Host, abi: Abi, addr: u64) -> Result<[i64; 4], Errno> {
        let w = abi.word();
        let b = self.read_user(h, abi, addr, 8 * w)?;
        let long = |i: usize| {
            if w == 8 {
                i64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]))
            } else {
                i32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap_or([0; 4])) as i64
            }
        };
        Ok([long(0), long(1), long(2), long(3)])
    }

    pub(crate) fn sys_mq_open(&mut self, h: &mut dyn Host, abi: Abi, name: u64, oflag: u32, mode: u32, attr: u64) -> SysResult {
        let attr = if attr != 0 { Some(self.mq_read_attr(h, abi, attr)?) } else { None };
        let name = self.mq_name(h, abi, name)?;
        let acc = match oflag & O_ACCMODE {
            O_WRONLY => Some(WRITE),
            O_RDWR => Some(READ | WRITE),
            O_ACCMODE => None,
            _ => Some(READ),
        };
        let create = (oflag & O_CREAT != 0).then(|| Create {
            excl: oflag & O_EXCL != 0,
            mode: mode & !self.files.umask,
            attr: attr.map(|a| (a[1], a[2])),
            resource: self.capable(CAP_SYS_RESOURCE),
            rlimit: self.rlimits[RLIMIT_MSGQUEUE].0,
        });
        let c = self.mq_cred(CAP_DAC_OVERRIDE);
        let existed = self.job.ipc.mq.names.contains_key(&name);
        let id = self.job.ipc.mq.open(&name, acc, create, &c)?;
        let f = self.new_file(Obj::Mq(id), oflag & (O_ACCMODE | O_NONBLOCK));
        match self.fd_install(f.clone(), 0, true) {
            Ok(fd) => Ok(fd as u64),
            Err(e) => {
                // Linux takes the descriptor first: nothing was made.
                if !existed {
                    let _ = self.job.ipc.mq.unlink(&name, &Cred { root: true, ..c });
                }
                self.release(f);
                Err(e)
            }
        }
    }

    pub(crate) fn sys_mq_unlink(&mut self, h: &mut dyn Host, abi: Abi, name: u64) -> SysResult {
        let name = self.mq_name(h, abi, name)?;
        let c = self.mq_cred(CAP_FOWNER);
        self.job.ipc.mq.unlink(&name, &c).map(|_| 0)
    }

    /// The deadline (monotonic ns) of a timed call: the one it recorded
    /// when it first blocked, or its absolute real-time `timeout` read now.
    fn mq_deadline(&mut self, h: &mut dyn Host, abi: Abi, timeout: u64, bits: TimeBits, before: &Option<Wait>) -> Result<Option<u64>, Errno> {
        if let Some(w) = before {
            return Ok(w.deadline);
        }
        if timeout == 0 {
            return Ok(None);
        }
        let t = self.read_timespec(h, abi, timeout, bits)?;
        Ok(Some(h.now_ns().saturating_add(t.saturating_sub(h.realtime_ns()))))
    }

    /// Wait (a deferred reply) unless the deadline passed (ETIMEDOUT).
    fn mq_wait(&mut self, h: &mut dyn Host, id: u32, send: bool, deadline: Option<u64>) -> SysResult {
        if deadline.is_some_and(|d| d <= h.now_ns()) {
            return Err(Errno::ETIMEDOUT);
        }
        self.job.ipc.waits.insert((self.pid, self.tid), Wait { what: WaitFor::Mq { id, send }, deadline, expired: false });
        self.block_retry()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_mq_timedsend(&mut self, h: &mut dyn Host, abi: Abi, fd: i32, msg: u64, len: u64, prio: u32, timeout: u64, bits: TimeBits) -> SysResult {
        let before = self.job.ipc.take_wait(self.pid, self.tid);
        let deadline = self.mq_deadline(h, abi, timeout, bits, &before)?;
        if prio >= MQ_PRIO_MAX {
            return Err(Errno::EINVAL);
        }
        let (id, f) = self.mq_of(fd)?;
        let (writable, nonblock) = {
            let f = f.borrow();
            (matches!(f.flags & O_ACCMODE, O_WRONLY | O_RDWR), f.nonblock())
        };
        let q = self.job.ipc.mq.get(id).ok_or(Errno::EBADF)?;
        if !writable {
            return Err(Errno::EBADF);
        }
        if len > q.msgsize {
            return Err(Errno::EMSGSIZE);
        }
        let full = q.full();
        let data = self.read_user(h, abi, msg, len as usize)?;
        if full {
            return if nonblock { Err(Errno::EAGAIN) } else { self.mq_wait(h, id, true, deadline) };
        }
        let sender = (self.pid, self.uid);
        let receiver = self.job.ipc.waits.values().any(|w| w.what == WaitFor::Mq { id, send: false });
        self.job.ipc.mq.send(id, prio, data, sender, receiver);
        Ok(0)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_mq_timedreceive(
        &mut self,
        h: &mut dyn Host,
        abi: Abi,
        fd: i32,
        msg: u64,
        len: u64,
        prio: u64,
        timeout: u64,
        bits: TimeBits,
    ) -> SysResult {
        let before = self.job.ipc.take_wait(self.pid, self.tid);
        let deadline = self.mq_deadline(h, abi, timeout, bits, &before)?;
        let (id, f) = self.mq_of(fd)?;
        let (readable, nonblock) = {
            let f = f.borrow();
            (f.readable(), f.nonblock())
        };
        let q = self.job.ipc.mq.get(id).ok_or(Errno::EBADF)?;
        if !readable {
            return Err(Errno::EBADF);
        }
        if len < q.msgsize {
            return Err(Errno::EMSGSIZE);
        }
        let Some((p, data)) = self.job.ipc.mq.receive(id) else {
            return if nonblock { Err(Errno::EAGAIN) } else { self.mq_wait(h, id, false, deadline) };
        };
        // As Linux, the message is taken even when it cannot be written.
        if prio != 0 {
            self.write_user(h, abi, prio, &p.to_le_bytes())?;
        }
        self.write_user(h, abi, msg, &data)?;
        Ok(data.len() as u64)
    }

    pub(crate) fn sys_mq_notify(&mut self, h: &mut dyn Host, abi: Abi, fd: i32, sev: u64) -> SysResult {
        let mut n = None;
        if sev != 0 {
            let b = self.read_user(h, abi, sev, 64)?;
            let w = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or([0; 4]));
            // sigval, signo, notify.
            let (value, at) = if abi == Abi::X86_64 { (w(0) as u64 | (w(4) as u64) << 32, 8) } else { (w(0) as u64, 4) };
            let (signo, notify) = (w(at), w(at + 4) as i32);
            match notify {
                SIGEV_NONE => n = Some(Notify { pid: self.pid, sig: None }),
                SIGEV_SIGNAL if signo > NSIG as u32 => return Err(Errno::EINVAL),
                SIGEV_SIGNAL => n = Some(Notify { pid: self.pid, sig: Some((signo as u8, value)) }),
                SIGEV_THREAD => {
                    // The kernel's side of SIGEV_THREAD is a netlink socket
                    // (sigev_signo) to post the cookie to: SiON has no
                    // AF_NETLINK, so no descriptor can be one.
                    self.read_user(h, abi, value, 32)?;
                    let s = self.file(signo as u64)?;
                    let sock = matches!(s.borrow().obj, Obj::Socket(_) | Obj::Unix(_));
                    return Err(if sock { Errno::EINVAL } else { Errno::ENOTSOCK });
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        let (id, _) = self.mq_of(fd)?;
        self.job.ipc.mq.notify(id, self.pid, n).map(|_| 0)
    }

    pub(crate) fn sys_mq_getsetattr(&mut self, h: &mut dyn Host, abi: Abi, fd: i32, new: u64, old: u64) -> SysResult {
        let new = if new != 0 { Some(self.mq_read_attr(h, abi, new)?) } else { None };
        if new.is_some_and(|a| a[0] & !(O_NONBLOCK as i64) != 0) {
            return Err(Errno::EINVAL);
        }
        let (id, f) = self.mq_of(fd)?;
        let q = self.job.ipc.mq.get(id).ok_or(Errno::EBADF)?;
        let flags = (f.borrow().flags & O_NONBLOCK) as i64;
        let now = [flags, q.maxmsg as i64, q.msgsize as i64, q.msgs.len() as i64];
        if let Some(a) = new {
            let mut f = f.borrow_mut();
            f.flags = (f.flags & !O_NONBLOCK) | a[0] as u32;
        }
        if old != 0 {
            let w = abi.word();
            let mut b = alloc::vec![0u8; 8 * w];
            for (i, v) in now.iter().enumerate() {
                b[i * w..i * w + w].copy_from_slice(&v.to_le_bytes()[..w]);
            }
            self.write_user(h, abi, old, &b)?;
        }
        Ok(0)
    }

    /// What a read of a queue descriptor shows (Linux's `mqueue_read_file`).
    fn mq_status(&self, id: u32) -> Vec<u8> {
        let Some(q) = self.job.ipc.mq.get(id) else { return Vec::new() };
        let (notify, signo, pid) = match q.notify {
            Some(Notify { pid, sig: Some((s, _)) }) => (SIGEV_SIGNAL, s as i32, pid),
            Some(Notify { pid, sig: None }) => (SIGEV_NONE, 0, pid),
            None => (0, 0, 0),
        };
        format!("QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n", q.qsize, notify, signo, pid).into_bytes()
    }
}

/// The queue `JobState::ipc.mq.queues[id]`.
pub struct MqFile(pub u32);

impl FileLike for MqFile {
    fn read(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let text = p.mq_status(self.0);
        let off = f.borrow().off as usize;
        let mut done = 0usize;
        for (base, len) in iov {
            let from = (off + done).min(text.len());
            let n = (len as usize).min(text.len() - from);
            if n == 0 {
                break;
            }
            p.write_user(h, abi, base, &text[from..from + n])?;
            done += n;
        }
        f.borrow_mut().off += done as u64;
        Ok(done as u64)
    }

    /// Readable with a message in it, writable with room.
    fn ready(&self, p: &Process, _f: &OpenFile) -> (bool, bool) {
        p.job.ipc.mq.get(self.0).map_or((false, false), |q| (!q.msgs.is_empty(), !q.full()))
    }

    fn stat(&self, p: &Process) -> StatInfo {
        let q = p.job.ipc.mq.get(self.0);
        let (mode, uid, gid) = q.map_or((0, 0, 0), |q| (q.perm.mode, q.perm.uid, q.perm.gid));
        StatInfo { dev: 0x13, ino: self.0 as u64 + 2, mode: 0o100000 | mode, nlink: 1, uid, gid, size: 80, blksize: 4096, ..Default::default() }
    }

    fn seek(&self, _p: &mut Process, f: &Rc<RefCell<OpenFile>>, off: i64, whence: u32) -> Result<u64, Errno> {
        let to = match whence {
            0 => off,
            1 => f.borrow().off as i64 + off,
            _ => return Err(Errno::EINVAL),
        };
        if to < 0 {
            return Err(Errno::EINVAL);
        }
        f.borrow_mut().off = to as u64;
        Ok(to as u64)
    }

    fn release(&self, p: &mut Process, _flags: u32) {
        let pid = p.pid;
        p.job.ipc.mq.close(self.0, pid);
    }

    fn path(&self, p: &Process) -> Vec<u8> {
        let mq = &p.job.ipc.mq;
        match mq.names.iter().find(|(_, &id)| id == self.0) {
            Some((name, _)) => [b"/", &name[..]].concat(),
            None => b"/ (deleted)".to_vec(),
        }
    }
}
