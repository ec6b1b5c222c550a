//! POSIX message queues: the job's namespace of named queues (Linux's
//! mqueue file system, one per IPC namespace; the job is that namespace, as
//! for System V IPC, so it lives in [`crate::sysv::Ipc`] and shares its
//! waits). Pure and host-tested; the calls are `process/mqueue.rs`.
//!
//! A queue keeps its messages highest priority first, in arrival order
//! within a priority; it lives while it has a name or an open description.

use crate::errno::Errno;
use crate::signal::SigInfo;
use crate::sysv::{Cred, Perm};
use sion_vecmap::VecMap;
use alloc::vec::Vec;

/// Linux's bounds (ipc/mqueue.c, include/linux/ipc_namespace.h).
pub const MQ_PRIO_MAX: u32 = 32768;
pub const HARD_MSGMAX: u64 = 65536;
pub const HARD_MSGSIZEMAX: u64 = 16 << 20;
pub const SI_MESGQ: i32 = -3;
/// sizeof(struct msg_msg) and of a priority's tree node on x86_64: what a
/// queue costs against RLIMIT_MSGQUEUE besides its messages.
const MSG_OVERHEAD: u64 = 48;

/// mq_notify's registration: the process told, and with what signal (None:
/// SIGEV_NONE, the registration alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notify {
    pub pid: u32,
    pub sig: Option<(u8, u64)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mq {
    pub perm: Perm,
    pub maxmsg: u64,
    pub msgsize: u64,
    /// (priority, bytes), highest priority first.
    pub msgs: Vec<(u32, Vec<u8>)>,
    /// Bytes of all messages (the QSIZE a read of the descriptor shows).
    pub qsize: u64,
    /// Open descriptions of it.
    pub refs: u32,
    pub named: bool,
    pub notify: Option<Notify>,
    /// What it was charged against its creator's RLIMIT_MSGQUEUE.
    pub charged: u64,
}

impl Mq {
    pub fn full(&self) -> bool {
        self.msgs.len() as u64 >= self.maxmsg
    }
}

/// The limits of /proc/sys/fs/mqueue, the job's to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MqLimits {
    pub queues_max: u64,
    pub msg_max: u64,
    pub msgsize_max: u64,
    pub msg_default: u64,
    pub msgsize_default: u64,
}

impl Default for MqLimits {
    fn default() -> Self {
        MqLimits { queues_max: 256, msg_max: 10, msgsize_max: 8192, msg_default: 10, msgsize_default: 8192 }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Mqueues {
    /// By id (a slot each; a free slot is reused).
    pub queues: Vec<Option<Mq>>,
    pub names: VecMap<Vec<u8>, u32>,
    pub limits: MqLimits,
    /// Bytes charged per user (RLIMIT_MSGQUEUE).
    user_bytes: VecMap<u32, u64>,
    /// Notifications to send: (pid, siginfo), taken by the process table.
    pub signals: Vec<(u32, SigInfo)>,
}

/// What mq_open may do besides opening: create with these attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Create {
    pub excl: bool,
    pub mode: u32,
    /// (maxmsg, msgsize) asked for, or the defaults.
    pub attr: Option<(i64, i64)>,
    /// CAP_SYS_RESOURCE: past msg_max, msgsize_max and queues_max.
    pub resource: bool,
    /// RLIMIT_MSGQUEUE's soft limit.
    pub rlimit: u64,
}

/// A queue name as the kernel sees it (glibc stripped the leading '/'):
/// Linux's `lookup_one_len` then `simple_lookup`.
pub fn check_name(name: &[u8]) -> Result<(), Errno> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::EACCES);
    }
    if name.len() > 255 {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

impl Mqueues {
    pub fn get(&self, id: u32) -> Option<&Mq> {
        self.queues.get(id as usize)?.as_ref()
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut Mq> {
        self.queues.get_mut(id as usize)?.as_mut()
    }

    /// mq_open: the queue's id (its description counted). `acc` is READ
    /// and/or WRITE, as `Perm::allows` asks (None: an access mode of 3,
    /// EINVAL once the name is looked up, as Linux's `prepare_open`).
    pub fn open(&mut self, name: &[u8], acc: Option<u32>, create: Option<Create>, c: &Cred) -> Result<u32, Errno> {
        check_name(name)?;
        if let Some(&id) = self.names.get(name) {
            if create.is_some_and(|k| k.excl) {
                return Err(Errno::EEXIST);
            }
            let acc = acc.ok_or(Errno::EINVAL)?;
            let q = self.get_mut(id).ok_or(Errno::ENOENT)?;
            if !q.perm.allows(c, acc) {
                return Err(Errno::EACCES);
            }
            q.refs += 1;
            return Ok(id);
        }
        let k = create.ok_or(Errno::ENOENT)?;
        acc.ok_or(Errno::EINVAL)?;
        let named = self.queues.iter().flatten().filter(|q| q.named).count() as u64;
        if named >= self.limits.queues_max && !k.resource {
            return Err(Errno::ENOSPC);
        }
        let (maxmsg, msgsize) = match k.attr {
            Some((m, s)) => {
                if m <= 0 || s <= 0 {
                    return Err(Errno::EINVAL);
                }
                let (mm, sm) = if k.resource { (HARD_MSGMAX, HARD_MSGSIZEMAX) } else { (self.limits.msg_max, self.limits.msgsize_max) };
                if m as u64 > mm || s as u64 > sm {
                    return Err(Errno::EINVAL);
                }
                (m as u64, s as u64)
            }
            None => (self.limits.msg_default.min(self.limits.msg_max), self.limits.msgsize_default.min(self.limits.msgsize_max)),
        };
        let cost = maxmsg * MSG_OVERHEAD + maxmsg.min(MQ_PRIO_MAX as u64) * MSG_OVERHEAD + maxmsg * msgsize;
        let used = self.user_bytes.get(&c.uid).copied().unwrap_or(0);
        if used.checked_add(cost).is_none_or(|t| t > k.rlimit) {
            return Err(Errno::EMFILE);
        }
        *self.user_bytes.entry(c.uid).or_default() += cost;
        let id = self.queues.iter().position(Option::is_none).unwrap_or(self.queues.len());
        if id == self.queues.len() {
            self.queues.push(None);
        }
        let perm = Perm { key: 0, uid: c.uid, gid: c.gid, cuid: c.uid, cgid: c.gid, mode: k.mode & 0o777, seq: 0 };
        self.queues[id] = Some(Mq { perm, maxmsg, msgsize, msgs: Vec::new(), qsize: 0, refs: 1, named: true, notify: None, charged: cost });
        self.names.insert(name.to_vec(), id as u32);
        Ok(id as u32)
    }

    /// mq_unlink: the name goes; the queue lives on while it is open.
    pub fn unlink(&mut self, name: &[u8], c: &Cred) -> Result<(), Errno> {
        check_name(name)?;
        let id = *self.names.get(name).ok_or(Errno::ENOENT)?;
        if let Some(q) = self.get(id) {
            if !c.root && c.uid != q.perm.uid {
                return Err(Errno::EACCES);
            }
        }
        self.names.remove(name);
        if let Some(q) = self.get_mut(id) {
            q.named = false;
        }
        self.drop_if_unused(id);
        Ok(())
    }

    /// `pid` closed a descriptor of queue `id`: its notification goes,
    /// as Linux's `mqueue_flush_file`.
    pub fn flush(&mut self, id: u32, pid: u32) {
        if let Some(q) = self.get_mut(id) {
            if q.notify.is_some_and(|n| n.pid == pid) {
                q.notify = None;
            }
        }
    }

    /// An open description of queue `id` went (`pid` closed it last).
    pub fn close(&mut self, id: u32, pid: u32) {
        self.flush(id, pid);
        if let Some(q) = self.get_mut(id) {
            q.refs = q.refs.saturating_sub(1);
        }
        self.drop_if_unused(id);
    }

    /// A description was shared with a new one (none: descriptions are
    /// counted once however many descriptors name them).
    fn drop_if_unused(&mut self, id: u32) {
        if self.get(id).is_some_and(|q| q.refs == 0 && !q.named) {
            if let Some(q) = self.queues[id as usize].take() {
                if let Some(b) = self.user_bytes.get_mut(&q.perm.cuid) {
                    *b = b.saturating_sub(q.charged);
                }
            }
        }
    }

    /// Put a message in (the caller checked its size and that there is
    /// room): it goes after those of its priority and above. A queue that
    /// was empty tells the process registered with mq_notify, once, unless
    /// a receive waits for the message (`receiver`), as Linux's pipelined send.
    pub fn send(&mut self, id: u32, prio: u32, data: Vec<u8>, sender: (u32, u32), receiver: bool) {
        let Some(q) = self.get_mut(id) else { return };
        let at = q.msgs.iter().position(|m| m.0 < prio).unwrap_or(q.msgs.len());
        q.qsize += data.len() as u64;
        q.msgs.insert(at, (prio, data));
        if q.msgs.len() == 1 && !receiver {
            if let Some(n) = q.notify.take() {
                if let Some((signo, value)) = n.sig.filter(|s| s.0 != 0) {
                    let info = SigInfo { signo, code: SI_MESGQ, pid: sender.0, uid: sender.1, value: Some(value), ..Default::default() };
                    self.signals.push((n.pid, info));
                }
            }
        }
    }

    /// Take the first message.
    pub fn receive(&mut self, id: u32) -> Option<(u32, Vec<u8>)> {
        let q = self.get_mut(id)?;
        if q.msgs.is_empty() {
            return None;
        }
        let m = q.msgs.remove(0);
        q.qsize -= m.1.len() as u64;
        Some(m)
    }

    /// mq_notify: register `n` (EBUSY if anyone is), or with None remove
    /// `pid`'s registration (nothing if another's).
    pub fn notify(&mut self, id: u32, pid: u32, n: Option<Notify>) -> Result<(), Errno> {
        let q = self.get_mut(id).ok_or(Errno::EBADF)?;
        match n {
            None => {
                if q.notify.is_some_and(|r| r.pid == pid) {
                    q.notify = None;
                }
            }
            Some(_) if q.notify.is_some() => return Err(Errno::EBUSY),
            Some(n) => q.notify = Some(n),
        }
        Ok(())
    }

    /// A process ended: its registrations go.
    pub fn exit(&mut self, pid: u32) {
        for q in self.queues.iter_mut().flatten() {
            if q.notify.is_some_and(|n| n.pid == pid) {
                q.notify = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sysv::{READ, WRITE};

    const ROOT: Cred = Cred { uid: 0, gid: 0, root: true };
    const USER: Cred = Cred { uid: 1000, gid: 1000, root: false };

    fn create(attr: Option<(i64, i64)>) -> Option<Create> {
        Some(Create { excl: false, mode: 0o600, attr, resource: false, rlimit: 819_200 })
    }

    #[test]
    fn names_and_errors() {
        let mut m = Mqueues::default();
        assert_eq!(m.open(b"", Some(READ), create(None), &USER), Err(Errno::EACCES));
        assert_eq!(m.open(b"a/b", Some(READ), create(None), &USER), Err(Errno::EACCES));
        assert_eq!(m.open(&[b'a'; 256], Some(READ), create(None), &USER), Err(Errno::ENAMETOOLONG));
        assert_eq!(m.open(b"q", Some(READ), None, &USER), Err(Errno::ENOENT));
        assert_eq!(m.open(b"q", None, None, &USER), Err(Errno::ENOENT));
        assert_eq!(m.open(b"q", Some(READ), create(Some((0, 10))), &USER), Err(Errno::EINVAL));
        assert_eq!(m.open(b"q", Some(READ), create(Some((11, 10))), &USER), Err(Errno::EINVAL));
        let id = m.open(b"q", Some(READ), create(Some((3, 16))), &USER).unwrap();
        assert_eq!((m.get(id).unwrap().maxmsg, m.get(id).unwrap().msgsize), (3, 16));
        assert_eq!(m.open(b"q", Some(READ), Some(Create { excl: true, ..create(None).unwrap() }), &USER), Err(Errno::EEXIST));
        assert_eq!(m.open(b"q", None, None, &USER), Err(Errno::EINVAL));
        let other = Cred { uid: 1001, gid: 1001, root: false };
        assert_eq!(m.open(b"q", Some(WRITE), None, &other), Err(Errno::EACCES));
        assert_eq!(m.unlink(b"q", &other), Err(Errno::EACCES));
        assert_eq!(m.open(b"q", Some(READ | WRITE), None, &ROOT), Ok(id));
        m.unlink(b"q", &USER).unwrap();
        assert_eq!(m.unlink(b"q", &USER), Err(Errno::ENOENT));
        assert!(m.get(id).is_some());
        m.close(id, 1);
        m.close(id, 1);
        assert!(m.queues.iter().all(Option::is_none));
        assert_eq!(m.user_bytes[&1000], 0);
    }

    #[test]
    fn limits() {
        let mut m = Mqueues::default();
        m.limits.queues_max = 1;
        m.open(b"a", Some(READ), create(None), &USER).unwrap();
        assert_eq!(m.open(b"b", Some(READ), create(None), &USER), Err(Errno::ENOSPC));
        m.limits.queues_max = 100;
        // RLIMIT_MSGQUEUE: about nine default queues fit in 819,200 bytes.
        let n = (0..20u8).take_while(|i| m.open(&[b'x', *i], Some(READ), create(None), &USER).is_ok()).count();
        assert_eq!(n, 8);
        assert_eq!(m.open(b"y", Some(READ), create(None), &USER), Err(Errno::EMFILE));
    }

    #[test]
    fn priority_order_and_notify() {
        let mut m = Mqueues::default();
        let id = m.open(b"q", Some(READ), create(None), &USER).unwrap();
        m.notify(id, 7, Some(Notify { pid: 7, sig: Some((10, 42)) })).unwrap();
        assert_eq!(m.notify(id, 8, Some(Notify { pid: 8, sig: None })), Err(Errno::EBUSY));
        m.send(id, 1, b"a".to_vec(), (9, 1000), false);
        m.send(id, 5, b"b".to_vec(), (9, 1000), false);
        m.send(id, 1, b"c".to_vec(), (9, 1000), false);
        m.send(id, 0, b"d".to_vec(), (9, 1000), false);
        assert_eq!(m.signals.len(), 1);
        let (pid, info) = &m.signals[0];
        assert_eq!((*pid, info.signo, info.code, info.pid, info.value), (7, 10, SI_MESGQ, 9, Some(42)));
        assert!(m.get(id).unwrap().notify.is_none());
        let order: Vec<u8> = (0..4).map(|_| m.receive(id).unwrap().1[0]).collect();
        assert_eq!(order, b"bacd");
        assert_eq!(m.receive(id), None);
        assert_eq!(m.get(id).unwrap().qsize, 0);
        // A waiting receiver takes the message: no notification.
        m.notify(id, 7, Some(Notify { pid: 7, sig: Some((10, 1)) })).unwrap();
        m.send(id, 0, b"e".to_vec(), (9, 1000), true);
        assert_eq!(m.signals.len(), 1);
        assert!(m.get(id).unwrap().notify.is_some());
    }
}
