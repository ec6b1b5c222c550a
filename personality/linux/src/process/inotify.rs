//! inotify: instances of the job (`JobState::inotify`), each with watches
//! on inodes of the job's tree and a queue of `struct inotify_event`s. The
//! VFS records the events of the operations on watched inodes
//! (`sion_vfs::FsEvent`, `Vfs::watched`); the process table hands them to
//! the instances after each call ([`JobState::inotify_deliver`]), and a
//! read takes whole records, waiting while there are none.

use super::files::{FileLike, Obj, OpenFile, Resolved, O_CLOEXEC, O_NONBLOCK, O_RDWR};
use super::*;
use alloc::rc::Rc;
use core::cell::RefCell;
use sion_vfs::{FsEvent, Ino, IN_DELETE_SELF, IN_ISDIR, R_OK};

const IN_ALL_EVENTS: u32 = 0xfff;
const IN_UNMOUNT: u32 = 0x2000;
const IN_Q_OVERFLOW: u32 = 0x4000;
const IN_IGNORED: u32 = 0x8000;
const IN_ONLYDIR: u32 = 0x0100_0000;
const IN_DONT_FOLLOW: u32 = 0x0200_0000;
const IN_EXCL_UNLINK: u32 = 0x0400_0000;
const IN_MASK_CREATE: u32 = 0x1000_0000;
const IN_MASK_ADD: u32 = 0x2000_0000;
const IN_ONESHOT: u32 = 0x8000_0000;
const ALL_BITS: u32 = IN_ALL_EVENTS
    | IN_UNMOUNT
    | IN_Q_OVERFLOW
    | IN_IGNORED
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
    | IN_MASK_CREATE
    | IN_MASK_ADD
    | IN_ISDIR
    | IN_ONESHOT;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub wd: i32,
    pub mask: u32,
    pub cookie: u32,
    pub name: Vec<u8>,
}

impl Event {
    /// Its `struct inotify_event` size: the name NUL-padded to 16 bytes.
    fn len(&self) -> usize {
        16 + self.name_len()
    }
    fn name_len(&self) -> usize {
        if self.name.is_empty() {
            0
        } else {
            (self.name.len() + 1).div_ceil(16) * 16
        }
    }
}

#[derive(Debug, Default)]
pub struct Inotify {
    /// (wd, inode, mask): a few, looked through.
    pub watches: Vec<(i32, Ino, u32)>,
    pub last_wd: i32,
    pub queue: Vec<Event>,
    pub uid: u32,
    /// /proc/sys/fs/inotify/max_queued_events when it was made.
    pub max_events: usize,
}

impl Inotify {
    fn push(&mut self, e: Event) {
        // Linux merges an event identical to the last one queued.
        if self.queue.last() == Some(&e) {
            return;
        }
        if self.queue.len() >= self.max_events {
            if self.queue.last().is_none_or(|b| b.mask != IN_Q_OVERFLOW) {
                self.queue.push(Event { wd: -1, mask: IN_Q_OVERFLOW, cookie: 0, name: Vec::new() });
            }
            return;
        }
        self.queue.push(e);
    }

    /// Deliver one VFS event to the watches of its inode.
    fn deliver(&mut self, ev: &FsEvent) {
        let hits: Vec<(i32, u32)> = self.watches.iter().filter(|w| w.1 == ev.ino).map(|w| (w.0, w.2)).collect();
        for (wd, mask) in hits {
            if ev.mask & IN_UNMOUNT != 0 {
                // Whatever the watch asked for; then it goes.
                self.push(Event { wd, mask: ev.mask, cookie: 0, name: Vec::new() });
                self.remove(wd);
                continue;
            }
            if mask & ev.mask & IN_ALL_EVENTS != 0 && !(ev.unlinked && mask & IN_EXCL_UNLINK != 0) {
                self.push(Event { wd, mask: ev.mask, cookie: ev.cookie, name: ev.name.clone() });
                if mask & IN_ONESHOT != 0 {
                    self.remove(wd);
                    continue;
                }
            }
            if ev.mask & IN_DELETE_SELF != 0 {
                self.remove(wd);
            }
        }
    }

    /// A watch goes: IN_IGNORED tells.
    fn remove(&mut self, wd: i32) {
        if let Some(at) = self.watches.iter().position(|w| w.0 == wd) {
            self.watches.remove(at);
            self.push(Event { wd, mask: IN_IGNORED, cookie: 0, name: Vec::new() });
        }
    }
}

impl JobState {
    fn inotify_ref(&self, id: u32) -> Option<&Inotify> {
        self.inotify.get(id as usize)?.as_ref()
    }

    fn inotify_mut(&mut self, id: u32) -> Option<&mut Inotify> {
        self.inotify.get_mut(id as usize)?.as_mut()
    }

    /// Hand the events the VFS recorded to the instances watching their
    /// inodes. True if any was queued (readers may go on).
    pub fn inotify_deliver(&mut self) -> bool {
        if self.vfs.events.is_empty() {
            return false;
        }
        let events = core::mem::take(&mut self.vfs.events);
        for ev in &events {
            for (id, i) in self.inotify.iter_mut().enumerate() {
                let Some(i) = i else { continue };
                let n = i.queue.len();
                i.deliver(ev);
                if i.queue.len() != n {
                    self.fasync.ready(Obj::Inotify(id as u32), super::fasync::POLL_IN);
                }
            }
        }
        self.fasync.dnotify(&events);
        self.inotify_rewatch();
        true
    }

    /// The VFS records events for the inodes some watch or dnotify mark names.
    pub(crate) fn inotify_rewatch(&mut self) {
        let marks = self.fasync.watched();
        let mut watched: Vec<Ino> = self.inotify.iter().flatten().flat_map(|i| i.watches.iter().map(|w| w.1)).chain(marks).collect();
        // Once each: an inode two watches name makes its events once.
        watched.sort_unstable();
        watched.dedup();
        self.vfs.watched = watched;
    }
}

impl Process {
    pub(crate) fn sys_inotify_init1(&mut self, flags: u32) -> SysResult {
        if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        let uid = self.uid;
        let [events, instances, _] = self.job.tunables.inotify;
        if self.job.inotify.iter().flatten().filter(|i| i.uid == uid).count() as u64 >= instances {
            return Err(Errno::EMFILE);
        }
        let slots = &mut self.job.inotify;
        let id = slots.iter().position(Option::is_none).unwrap_or(slots.len());
        if id == slots.len() {
            slots.push(None);
        }
        slots[id] = Some(Inotify { uid, max_events: events as usize, ..Default::default() });
        let id = id as u32;
        let f = self.new_file(Obj::Inotify(id), O_RDWR | (flags & O_NONBLOCK));
        match self.fd_install(f.clone(), 0, flags & O_CLOEXEC != 0) {
            Ok(fd) => Ok(fd as u64),
            Err(e) => {
                self.release(f);
                Err(e)
            }
        }
    }

    /// The instance behind `fd`: EBADF, EINVAL for another kind.
    fn inotify_of(&self, fd: i32) -> Result<u32, Errno> {
        let f = self.file(fd as u32 as u64)?;
        let Obj::Inotify(id) = f.borrow().obj else { return Err(Errno::EINVAL) };
        Ok(id)
    }

    pub(crate) fn sys_inotify_add_watch(&mut self, h: &mut dyn Host, abi: Abi, fd: i32, path: u64, mask: u32) -> SysResult {
        if mask & ALL_BITS & !(IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ONESHOT) == 0 {
            return Err(Errno::EINVAL);
        }
        if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 {
            return Err(Errno::EINVAL);
        }
        let id = self.inotify_of(fd)?;
        let flags = if mask & IN_DONT_FOLLOW != 0 { AT_SYMLINK_NOFOLLOW } else { 0 };
        let ino = match self.resolve_at(h, abi, AT_FDCWD, path, flags)? {
            Resolved::Node(ino) => ino,
            Resolved::Console(_) => return Err(Errno::EINVAL),
        };
        if mask & IN_ONLYDIR != 0 && !self.job.vfs.node(ino).is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !self.job.vfs.may(ino, R_OK, &self.files.cred) {
            return Err(Errno::EACCES);
        }
        self.job.inotify_deliver();
        let (uid, watches) = (self.uid, self.job.tunables.inotify[2]);
        let total: usize = self.job.inotify.iter().flatten().filter(|i| i.uid == uid).map(|i| i.watches.len()).sum();
        let i = self.job.inotify_mut(id).ok_or(Errno::EBADF)?;
        let keep = mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK);
        if let Some(w) = i.watches.iter_mut().find(|w| w.1 == ino) {
            if mask & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            w.2 = if mask & IN_MASK_ADD != 0 { w.2 | keep } else { keep };
            return Ok(w.0 as u64);
        }
        if total as u64 >= watches {
            return Err(Errno::ENOSPC);
        }
        // Watch descriptors count up from 1, as Linux's idr_alloc_cyclic.
        let mut wd = i.last_wd;
        loop {
            wd = if wd == i32::MAX { 1 } else { wd + 1 };
            if !i.watches.iter().any(|w| w.0 == wd) {
                break;
            }
        }
        i.last_wd = wd;
        i.watches.push((wd, ino, keep));
        self.job.inotify_rewatch();
        Ok(wd as u64)
    }

    pub(crate) fn sys_inotify_rm_watch(&mut self, fd: i32, wd: i32) -> SysResult {
        let id = self.inotify_of(fd)?;
        self.job.inotify_deliver();
        let i = self.job.inotify_mut(id).ok_or(Errno::EBADF)?;
        if !i.watches.iter().any(|w| w.0 == wd) {
            return Err(Errno::EINVAL);
        }
        i.remove(wd);
        self.job.inotify_rewatch();
        Ok(0)
    }

    fn inotify_read(&mut self, h: &mut dyn Host, abi: Abi, id: u32, iov: &[(u64, u64)], nonblock: bool) -> SysResult {
        self.job.inotify_deliver();
        let (base, len) = iov.iter().copied().find(|&(_, l)| l > 0).unwrap_or((iov.first().map_or(0, |v| v.0), 0));
        let i = self.job.inotify_ref(id).ok_or(Errno::EBADF)?;
        let Some(first) = i.queue.first() else {
            return if nonblock { Err(Errno::EAGAIN) } else { self.block_retry() };
        };
        if (len as usize) < first.len() {
            return Err(Errno::EINVAL);
        }
        let mut out = Vec::new();
        let mut n = 0;
        for e in &i.queue {
            if out.len() + e.len() > len as usize {
                break;
            }
            out.extend_from_slice(&e.wd.to_le_bytes());
            out.extend_from_slice(&e.mask.to_le_bytes());
            out.extend_from_slice(&e.cookie.to_le_bytes());
            out.extend_from_slice(&(e.name_len() as u32).to_le_bytes());
            let at = out.len();
            out.extend_from_slice(&e.name);
            out.resize(at + e.name_len(), 0);
            n += 1;
        }
        self.write_user(h, abi, base, &out)?;
        if let Some(i) = self.job.inotify_mut(id) {
            i.queue.drain(..n);
        }
        Ok(out.len() as u64)
    }
}

/// The instance `JobState::inotify[id]`.
pub struct InotifyFile(pub u32);

impl FileLike for InotifyFile {
    fn seek(&self, _p: &mut Process, f: &Rc<RefCell<OpenFile>>, _off: i64, _whence: u32) -> Result<u64, Errno> {
        super::files::noop_seek(f)
    }

    fn read(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.inotify_read(h, abi, self.0, &iov, nonblock)
    }

    fn ready(&self, p: &Process, _f: &OpenFile) -> (bool, bool) {
        let pending = p.job.inotify_ref(self.0).is_some_and(|i| !i.queue.is_empty());
        // Events the VFS holds for a watch of this instance count too.
        let held =
            !p.job.vfs.events.is_empty() && p.job.inotify_ref(self.0).is_some_and(|i| p.job.vfs.events.iter().any(|e| i.watches.iter().any(|w| w.1 == e.ino)));
        (pending || held, false)
    }

    /// FIONREAD: the bytes of the queued records.
    fn ioctl(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, _f: &Rc<RefCell<OpenFile>>, req: u32, arg: u64) -> SysResult {
        if req != FIONREAD {
            return Err(Errno::EINVAL);
        }
        p.job.inotify_deliver();
        let n: usize = p.job.inotify_ref(self.0).map_or(0, |i| i.queue.iter().map(|e| e.len()).sum());
        p.write_user(h, abi, arg, &(n as u32).to_le_bytes()).map(|_| 0)
    }

    fn release(&self, p: &mut Process, _flags: u32) {
        p.job.inotify_deliver();
        if let Some(slot) = p.job.inotify.get_mut(self.0 as usize) {
            *slot = None;
        }
        p.job.inotify_rewatch();
    }

    fn path(&self, _p: &Process) -> Vec<u8> {
        b"anon_inode:inotify".to_vec()
    }
}
