//! epoll instances as open files: an interest list in `JobState::epolls`,
//! level-triggered, or edge-triggered (EPOLLET: reported again after a new
//! wake-up of the file's wait queue, for the kinds that count them (see
//! `fasync.rs`), or after its readiness rose, for the others), EPOLLONESHOT
//! (disarmed once reported, until EPOLL_CTL_MOD), EPOLLEXCLUSIVE (a
//! wake-up goes to one such waiter).

use super::files::{FileLike, OpenFile, WaitCall, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, O_CLOEXEC, O_RDWR, RDEV_FULL, RDEV_NULL, RDEV_ZERO};
use super::*;
use alloc::rc::Rc;
use core::cell::RefCell;
use sion_vfs::Data;

/// The epoll instance `JobState::epolls[id]`.
pub struct EpollFile(pub u32);

impl FileLike for EpollFile {
    fn seek(&self, _p: &mut Process, f: &Rc<RefCell<OpenFile>>, _off: i64, _whence: u32) -> Result<u64, Errno> {
        super::files::noop_seek(f)
    }

    fn ready(&self, p: &Process, _f: &OpenFile) -> (bool, bool) {
        (p.epoll_ready(self.0).next().is_some(), false)
    }

    fn release(&self, p: &mut Process, _flags: u32) {
        p.job.epolls.remove(&self.0);
    }

    fn path(&self, _p: &Process) -> Vec<u8> {
        b"anon_inode:[eventpoll]".to_vec()
    }
}

/// Linux's limit on epoll-in-epoll steps (fs/eventpoll.c EP_MAX_NESTS).
const EP_MAX_NESTS: u32 = 4;

pub const EPOLLIN: u32 = 0x001;
pub const EPOLLOUT: u32 = 0x004;
pub const EPOLLERR: u32 = 0x008;
pub const EPOLLHUP: u32 = 0x010;
pub const EPOLLRDNORM: u32 = 0x040;
pub const EPOLLWRNORM: u32 = 0x100;
pub const EPOLLRDHUP: u32 = 0x2000;
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLWAKEUP: u32 = 1 << 29;
pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLET: u32 = 1 << 31;
/// What stays of an EPOLLONESHOT interest once reported.
const EP_PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
const EPOLLEXCLUSIVE_OK_BITS: u32 = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;

/// One descriptor in an interest list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest {
    /// What was asked (with EPOLLERR and EPOLLHUP, as Linux adds them).
    pub events: u32,
    pub data: u64,
    /// Edge-triggered: the events seen at the last look, and the file's
    /// wake-ups then (a new one reports again).
    pub seen: u32,
    pub wakes: u64,
}

impl Interest {
    /// Is an interest whose file shows `rev` (of what it asked) and has had
    /// `wakes` wake-ups (None: the kind does not count them) to be reported?
    pub fn due(&self, rev: u32, wakes: Option<u64>) -> bool {
        if rev == 0 {
            return false;
        }
        if self.events & EPOLLET == 0 {
            return true;
        }
        match wakes {
            Some(n) => n != self.wakes,
            None => rev & !self.seen != 0,
        }
    }
}

impl Process {
    /// What descriptor `fd` shows of the events `events` asks, and its
    /// wake-ups (for the kinds that count them).
    fn epoll_events(&self, id: u32, fd: i32, events: u32) -> Option<(u32, Option<u64>)> {
        let e = self.files.fds.get(&fd)?;
        let f = e.file.borrow();
        let (r, w) = match f.obj {
            Obj::Epoll(x) if x == id => (false, false),
            _ => self.ready(fd)?,
        };
        let mut rev = self.hangup(fd) as u32;
        if r {
            rev |= EPOLLIN | EPOLLRDNORM;
        }
        if w {
            rev |= EPOLLOUT | EPOLLWRNORM;
        }
        Some((rev & events & !EP_PRIVATE_BITS, self.job.fasync.wakes_of(&f)))
    }

    /// The entries of an epoll instance to report now: (fd, events, data)
    /// in descriptor order.
    pub(in crate::process) fn epoll_ready(&self, id: u32) -> impl Iterator<Item = (i32, u32, u64)> + '_ {
        self.job.epolls.get(&id).into_iter().flat_map(move |list| {
            list.iter().filter_map(move |(&fd, i)| {
                let (rev, wakes) = self.epoll_events(id, fd, i.events)?;
                i.due(rev, wakes).then_some((fd, rev, i.data))
            })
        })
    }

    /// After a wait looked: edge-triggered interests remember what they
    /// saw (those reported, and those not ready, which a later wake-up
    /// makes due), one-shot ones that were reported are disarmed, and an
    /// EPOLLEXCLUSIVE one takes its wake-up, unless another waiter took it
    /// (then it is not reported). What remains to report is returned.
    fn epoll_reported(&mut self, id: u32, mut reported: Vec<(i32, u32, u64)>) -> Vec<(i32, u32, u64)> {
        let Some(list) = self.job.epolls.get(&id) else { return reported };
        let fds: Vec<(i32, Interest)> = list.iter().map(|(&fd, &i)| (fd, i)).collect();
        let mut keep = Vec::new();
        for (fd, i) in fds {
            if i.events & (EPOLLET | EPOLLONESHOT) == 0 {
                continue;
            }
            let Some((rev, wakes)) = self.epoll_events(id, fd, i.events) else { continue };
            let is_reported = reported.iter().any(|r| r.0 == fd);
            if !is_reported && rev != 0 {
                continue;
            }
            let mut now = i;
            if is_reported && i.events & EPOLLEXCLUSIVE != 0 {
                let file = self.files.fds.get(&fd).map(|e| e.file.clone());
                if let (Some(f), Some(n)) = (file, wakes) {
                    if !self.job.fasync.take_exclusive(&f.borrow(), n) {
                        keep.push(fd);
                    }
                }
            }
            now.seen = rev;
            now.wakes = wakes.unwrap_or(0);
            if is_reported && i.events & EPOLLONESHOT != 0 && !keep.contains(&fd) {
                now.events &= EP_PRIVATE_BITS;
            }
            if let Some(e) = self.job.epolls.get_mut(&id).and_then(|l| l.get_mut(&fd)) {
                *e = now;
            }
        }
        reported.retain(|r| !keep.contains(&r.0));
        reported
    }

    pub(crate) fn sys_epoll_create(&mut self, flags: u32) -> SysResult {
        if flags & !O_CLOEXEC != 0 {
            return Err(Errno::EINVAL);
        }
        let id = self.job.next_epoll;
        self.job.next_epoll += 1;
        self.job.epolls.insert(id, VecMap::new());
        let file = self.new_file(Obj::Epoll(id), O_RDWR);
        self.fd_install(file, 0, flags & O_CLOEXEC != 0).map(|f| f as u64)
    }

    pub(crate) fn sys_epoll_ctl(&mut self, h: &mut dyn Host, abi: Abi, epfd: u64, op: u32, fd: i32, ev: u64) -> SysResult {
        let ep = self.file(epfd)?;
        let target = self.file(fd as u32 as u64)?;
        let Obj::Epoll(id) = ep.borrow().obj else { return Err(Errno::EINVAL) };
        let tobj = target.borrow().obj;
        if target.borrow().flags & crate::process::files::O_PATH != 0 {
            return Err(Errno::EBADF);
        }
        if Rc::ptr_eq(&ep, &target) {
            return Err(Errno::EINVAL);
        }
        // An epoll in an epoll: no cycle, and at most EP_MAX_NESTS (4)
        // epoll-in-epoll steps along any chain through the new one (ELOOP).
        if let (Obj::Epoll(inner), EPOLL_CTL_ADD) = (tobj, op) {
            let below = self.epoll_depth_below(inner, id, 0).ok_or(Errno::ELOOP)?;
            if below + 1 + self.epoll_depth_above(id, 0) > EP_MAX_NESTS {
                return Err(Errno::ELOOP);
            }
        }
        if let Obj::Node(ino) = tobj {
            // Regular files, directories, null, zero and full cannot be watched (no poll).
            if matches!(self.job.vfs.node(ino).data, Data::Reg(_) | Data::Dir(_) | Data::Chr(RDEV_NULL | RDEV_ZERO | RDEV_FULL)) {
                return Err(Errno::EPERM);
            }
        }
        let event = if op != EPOLL_CTL_DEL {
            let b = self.read_user(h, abi, ev, 12)?;
            Some((u32::from_le_bytes(b[0..4].try_into().unwrap()), u64::from_le_bytes(b[4..12].try_into().unwrap())))
        } else {
            None
        };
        if let Some((events, _)) = event {
            // EPOLLEXCLUSIVE: not with EPOLL_CTL_MOD, nor on an epoll, nor
            // with other events than these.
            if events & EPOLLEXCLUSIVE != 0 && (op == EPOLL_CTL_MOD || matches!(tobj, Obj::Epoll(_)) || events & !EPOLLEXCLUSIVE_OK_BITS != 0) {
                return Err(Errno::EINVAL);
            }
        }
        // Linux looks at the file as it adds it: if ready, it is due at
        // once, edge-triggered or not.
        let wakes = self.job.fasync.wakes_of(&target.borrow());
        let list = self.job.epolls.get_mut(&id).ok_or(Errno::EINVAL)?;
        let interest = |(events, data): (u32, u64)| Interest { events: events | EPOLLERR | EPOLLHUP, data, seen: 0, wakes: wakes.map_or(0, |n| n.wrapping_sub(1)) };
        match op {
            EPOLL_CTL_ADD => {
                if list.contains_key(&fd) {
                    return Err(Errno::EEXIST);
                }
                list.insert(fd, interest(event.unwrap()));
            }
            EPOLL_CTL_MOD => {
                let e = list.get_mut(&fd).ok_or(Errno::ENOENT)?;
                if e.events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                *e = interest(event.unwrap());
            }
            EPOLL_CTL_DEL => {
                list.remove(&fd).ok_or(Errno::ENOENT)?;
            }
            _ => return Err(Errno::EINVAL),
        }
        Ok(0)
    }

    /// The epoll instances epoll `id` watches (through this process's descriptors).
    fn epoll_children(&self, id: u32) -> Vec<u32> {
        let Some(list) = self.job.epolls.get(&id) else { return Vec::new() };
        list.keys()
            .filter_map(|fd| match self.files.fds.get(fd).map(|e| e.file.borrow().obj) {
                Some(Obj::Epoll(x)) => Some(x),
                _ => None,
            })
            .collect()
    }

    /// The longest chain of epoll-in-epoll steps below `id`; None if it
    /// reaches `forbidden` (a cycle) or runs past the nesting limit.
    fn epoll_depth_below(&self, id: u32, forbidden: u32, depth: u32) -> Option<u32> {
        if id == forbidden || depth > EP_MAX_NESTS {
            return None;
        }
        let mut most = 0;
        for child in self.epoll_children(id) {
            most = most.max(1 + self.epoll_depth_below(child, forbidden, depth + 1)?);
        }
        Some(most)
    }

    /// The longest chain of epoll instances above `id` (those watching it).
    fn epoll_depth_above(&self, id: u32, depth: u32) -> u32 {
        if depth > EP_MAX_NESTS {
            return depth;
        }
        let parents: Vec<u32> = self.job.epolls.keys().copied().filter(|&e| self.epoll_children(e).contains(&id)).collect();
        parents.into_iter().map(|p| 1 + self.epoll_depth_above(p, depth + 1)).max().unwrap_or(0)
    }

    pub(crate) fn sys_epoll_wait(&mut self, h: &mut dyn Host, abi: Abi, epfd: u64, events: u64, max: i32, timeout_ms: i64) -> SysResult {
        let ep = self.file(epfd)?;
        let Obj::Epoll(id) = ep.borrow().obj else { return Err(Errno::EINVAL) };
        if max <= 0 || max as u64 > (i32::MAX as u64) / 12 {
            return Err(Errno::EINVAL);
        }
        self.check_range(abi, events, max as u64 * 12)?;
        // Closed descriptors leave the interest list, as their last close does on Linux.
        let open: Vec<i32> = self.files.fds.keys().copied().collect();
        if let Some(list) = self.job.epolls.get_mut(&id) {
            list.retain(|fd, _| open.contains(fd));
        }
        // Linux moves what it reported to the back of the ready list, so
        // with fewer slots than ready descriptors successive waits take
        // turns: start after the descriptor reported last.
        let mut all: Vec<(i32, u32, u64)> = self.epoll_ready(id).collect();
        let after = self.job.epoll_cursor.get(&id).copied().unwrap_or(-1);
        let first = all.iter().position(|&(fd, _, _)| fd > after).unwrap_or(0);
        all.rotate_left(first);
        all.truncate(max as usize);
        let all = self.epoll_reported(id, all);
        if let Some(&(fd, _, _)) = all.last() {
            self.job.epoll_cursor.insert(id, fd);
        }
        let ready: Vec<(u32, u64)> = all.into_iter().map(|(_, ev, data)| (ev, data)).collect();
        if ready.is_empty() && timeout_ms != 0 {
            let deadline = (timeout_ms > 0).then(|| h.now_ns().saturating_add(timeout_ms as u64 * 1_000_000));
            self.pending = Some(Pending::Wait { call: WaitCall::Epoll { abi, epfd, events, max }, deadline });
            return Err(BLOCK);
        }
        let mut out = Vec::with_capacity(ready.len() * 12);
        for (ev, data) in &ready {
            out.extend_from_slice(&ev.to_le_bytes());
            out.extend_from_slice(&data.to_le_bytes());
        }
        self.write_user(h, abi, events, &out)?;
        Ok(ready.len() as u64)
    }
}
