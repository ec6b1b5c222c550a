//! Asynchronous notification by signal: O_ASYNC (Linux's fasync lists and
//! `send_sigio`) and dnotify (`fcntl(F_NOTIFY)`).
//!
//! An open file description with O_ASYNC set (F_SETFL, FIOASYNC) is listed
//! in `JobState::fasync` with the descriptor it was set through. The kinds
//! that signal on Linux say when they became readable or writable
//! ([`Fasync::event`]: a pipe's write, read and close, the console's input,
//! an inotify instance's event); after each call the process table sends
//! the signal to each listed description's owner (F_SETOWN, F_SETOWN_EX):
//! SIGIO as the kernel's own, or F_SETSIG's signal with si_code POLL_IN...,
//! si_band and si_fd. A dnotify mark (a directory's description, the
//! process that set it, the events) hears the VFS's events as inotify does
//! and sends POLL_MSG to the description's owner, which F_NOTIFY makes the
//! caller when there is none.

use super::files::{Obj, OpenFile, O_ASYNC, F_OWNER_PID};
use super::*;
use crate::signal::{SigInfo, SIGIO};
use alloc::rc::{Rc, Weak};
use core::cell::RefCell;
use sion_vfs::{FsEvent, Ino, IN_ACCESS, IN_ATTRIB, IN_CREATE, IN_DELETE, IN_MODIFY, IN_MOVED_FROM, IN_MOVED_TO};

pub const POLL_IN: i32 = 1;
pub const POLL_OUT: i32 = 2;
pub const POLL_MSG: i32 = 3;
pub const POLL_ERR: i32 = 4;
pub const POLL_PRI: i32 = 5;
pub const POLL_HUP: i32 = 6;
/// si_code of a signal whose own codes POLL_* would be mistaken for.
pub const SI_SIGIO: i32 = -5;

pub const DN_ACCESS: u32 = 0x1;
pub const DN_MODIFY: u32 = 0x2;
pub const DN_CREATE: u32 = 0x4;
pub const DN_DELETE: u32 = 0x8;
pub const DN_RENAME: u32 = 0x10;
pub const DN_ATTRIB: u32 = 0x20;
pub const DN_MULTISHOT: u32 = 0x8000_0000;

/// A dnotify mark: directory `dir` watched through description `file`
/// (descriptor `fd` of process `pid`) for the `DN_*` events of `mask`.
#[derive(Debug)]
pub struct DnMark {
    pub dir: Ino,
    pub file: Weak<RefCell<OpenFile>>,
    pub fd: i32,
    pub pid: u32,
    pub mask: u32,
}

#[derive(Debug, Default)]
pub struct Fasync {
    /// Descriptions with O_ASYNC and the descriptor that set it.
    files: Vec<(Weak<RefCell<OpenFile>>, i32)>,
    /// What became ready since the last delivery: (what, POLL_* reason).
    events: Vec<(Obj, i32)>,
    pub marks: Vec<DnMark>,
    /// Signals to send: (owner kind F_OWNER_*, owner id, what to send).
    pub out: Vec<(u32, i32, SigInfo)>,
    /// Wake-ups of the kinds that count them (what wakes a wait queue on
    /// Linux: a pipe's write for its readers...), for edge-triggered epoll:
    /// (what, wake-ups so far, the last one an EPOLLEXCLUSIVE waiter took).
    wakes: Vec<(Obj, u64, u64)>,
}

/// Linux's band_table: si_band for each POLL_* reason.
pub fn band(reason: i32) -> i64 {
    const IN: i64 = 0x1 | 0x40; // EPOLLIN | EPOLLRDNORM
    match reason {
        POLL_IN => IN,
        POLL_OUT => 0x4 | 0x100 | 0x200,
        POLL_MSG => IN | 0x400,
        POLL_ERR => 0x8,
        POLL_PRI => 0x2 | 0x80,
        POLL_HUP => 0x10 | 0x8,
        _ => !0,
    }
}

/// What `send_sigio_to_task` sends for F_SETSIG's `sig` (0: plain SIGIO,
/// as the kernel's), about descriptor `fd` becoming ready for `reason`.
pub fn sigio_info(sig: u32, fd: i32, reason: i32) -> SigInfo {
    if sig == 0 {
        return SigInfo { signo: SIGIO, code: crate::signal::SI_KERNEL, ..Default::default() };
    }
    let signo = sig as u8;
    // Signals with codes of their own (SIGILL, SIGTRAP, SIGBUS, SIGFPE,
    // SIGSEGV, SIGCHLD, SIGSYS) say SI_SIGIO instead.
    let code = if matches!(signo, 4 | 5 | 7 | 8 | 11 | 17 | 31) { SI_SIGIO } else { reason };
    SigInfo { signo, code, poll: Some((band(reason), fd)), ..Default::default() }
}

/// The DN_* events a VFS event means for a directory's mark; `same_dir`
/// when it is the IN_MOVED_FROM of a rename within that directory.
pub fn dn_events(mask: u32, same_dir: bool) -> u32 {
    let mut dn = 0;
    for (i, d) in [(IN_ACCESS, DN_ACCESS), (IN_MODIFY, DN_MODIFY), (IN_ATTRIB, DN_ATTRIB), (IN_CREATE | IN_MOVED_TO, DN_CREATE), (IN_DELETE | IN_MOVED_FROM, DN_DELETE)] {
        if mask & i != 0 {
            dn |= d;
        }
    }
    if same_dir && mask & IN_MOVED_FROM != 0 {
        dn |= DN_RENAME;
    }
    dn
}

/// The wait queue a description of `file` waits on, for the kinds that
/// count their wake-ups: a pipe's readers or writers, the console's
/// input, an inotify instance.
fn wake_key(file: &OpenFile) -> Option<Obj> {
    match file.obj {
        Obj::Pipe { id, .. } => match (file.readable(), file.writable()) {
            (true, false) => Some(Obj::Pipe { id, write: false }),
            (false, true) => Some(Obj::Pipe { id, write: true }),
            _ => None,
        },
        o @ (Obj::Stdin | Obj::Inotify(_)) => Some(o),
        _ => None,
    }
}

/// Does a description of `file` hear what `ev` says of `what`?
fn hears(file: &OpenFile, what: Obj, reason: i32) -> bool {
    match (file.obj, what) {
        // A pipe's readers hear POLL_IN, its writers POLL_OUT (a FIFO open
        // for both, both).
        (Obj::Pipe { id: a, .. }, Obj::Pipe { id: b, .. }) if a == b => match reason {
            POLL_IN => file.readable(),
            _ => file.writable(),
        },
        (a, b) => a == b,
    }
}

impl Fasync {
    /// O_ASYNC was set (`on`) or cleared on `f` through descriptor `fd`.
    pub fn set(&mut self, f: &Rc<RefCell<OpenFile>>, fd: i32, on: bool) {
        let me = Rc::downgrade(f);
        self.files.retain(|(w, _)| w.strong_count() > 0 && !w.ptr_eq(&me));
        if on {
            self.files.push((me, fd));
        }
    }

    /// `what` became ready for `reason` (Linux's `kill_fasync`).
    #[inline(never)]
    pub fn event(&mut self, what: Obj, reason: i32) {
        if !self.files.is_empty() {
            self.events.push((what, reason));
        }
    }

    /// A wake-up of the waiters on `what` (Linux's `wake_up` of its queue).
    #[inline(never)]
    pub fn wake(&mut self, what: Obj) {
        match self.wakes.iter_mut().find(|w| w.0 == what) {
            Some(w) => w.1 += 1,
            None => self.wakes.push((what, 1, 0)),
        }
    }

    /// Both: a readiness event for O_ASYNC and a wake-up for epoll.
    #[inline(never)]
    pub fn ready(&mut self, what: Obj, reason: i32) {
        self.event(what, reason);
        self.wake(what);
    }

    /// `what` is gone: its wake-ups are forgotten.
    pub fn forget(&mut self, what: Obj) {
        self.wakes.retain(|w| w.0 != what);
    }

    /// Wake-ups so far of what a description of `file` waits on; None for
    /// the kinds that do not count them.
    pub fn wakes_of(&self, file: &OpenFile) -> Option<u64> {
        let key = wake_key(file)?;
        Some(self.wakes.iter().find(|w| w.0 == key).map_or(0, |w| w.1))
    }

    /// An EPOLLEXCLUSIVE waiter takes wake-up `n` of `file`'s queue: false
    /// if another took it (Linux wakes one exclusive waiter).
    pub fn take_exclusive(&mut self, file: &OpenFile, n: u64) -> bool {
        let Some(key) = wake_key(file) else { return true };
        match self.wakes.iter_mut().find(|w| w.0 == key) {
            Some(w) if w.2 >= n => false,
            Some(w) => {
                w.2 = n;
                true
            }
            None => true,
        }
    }

    /// The signals of the events since the last call, to `out`.
    pub fn collect(&mut self) {
        for (what, reason) in core::mem::take(&mut self.events) {
            for (w, fd) in &self.files {
                let Some(f) = w.upgrade() else { continue };
                let f = f.borrow();
                if f.flags & O_ASYNC != 0 && f.owner.1 != 0 && hears(&f, what, reason) {
                    self.out.push((f.owner.0, f.owner.1, sigio_info(f.sig, *fd, reason)));
                }
            }
        }
        self.files.retain(|(w, _)| w.strong_count() > 0);
    }

    /// dnotify: the marks of the directories the VFS events are for.
    pub fn dnotify(&mut self, events: &[FsEvent]) {
        if self.marks.is_empty() {
            return;
        }
        for ev in events {
            // A rename within one directory: its IN_MOVED_FROM and
            // IN_MOVED_TO share a cookie and the directory.
            let same_dir = ev.mask & IN_MOVED_FROM != 0 && events.iter().any(|o| o.ino == ev.ino && o.cookie == ev.cookie && o.mask & IN_MOVED_TO != 0);
            let dn = dn_events(ev.mask, same_dir);
            if dn == 0 {
                continue;
            }
            let mut i = 0;
            while i < self.marks.len() {
                let m = &self.marks[i];
                if m.dir != ev.ino || m.mask & dn == 0 {
                    i += 1;
                    continue;
                }
                let Some(f) = m.file.upgrade() else {
                    self.marks.remove(i);
                    continue;
                };
                let f = f.borrow();
                if f.owner.1 != 0 {
                    self.out.push((f.owner.0, f.owner.1, sigio_info(f.sig, m.fd, POLL_MSG)));
                }
                if m.mask & DN_MULTISHOT != 0 {
                    i += 1;
                } else {
                    self.marks.remove(i);
                }
            }
        }
    }

    /// The directories the marks watch (the VFS records their events).
    pub fn watched(&self) -> impl Iterator<Item = Ino> + '_ {
        self.marks.iter().filter(|m| m.file.strong_count() > 0).map(|m| m.dir)
    }

    /// A descriptor of `file` closed in process `pid`: its marks go (Linux's
    /// `dnotify_flush`).
    pub fn flush(&mut self, file: &Rc<RefCell<OpenFile>>, pid: u32) -> bool {
        let me = Rc::downgrade(file);
        let n = self.marks.len();
        self.marks.retain(|m| !(m.pid == pid && m.file.ptr_eq(&me)) && m.file.strong_count() > 0);
        n != self.marks.len()
    }
}

impl Process {
    /// fcntl(F_NOTIFY): watch the directory open as `file` (descriptor `fd`)
    /// for the events of `arg`; no event bit removes the caller's mark.
    pub(crate) fn fcntl_notify(&mut self, file: &Rc<RefCell<OpenFile>>, fd: i32, arg: u32) -> SysResult {
        let pid = self.pid;
        if arg & !DN_MULTISHOT == 0 {
            if self.job.fasync.flush(file, pid) {
                self.job.inotify_rewatch();
            }
            return Ok(0);
        }
        let dir = match file.borrow().obj {
            Obj::Node(ino) if self.job.vfs.node(ino).is_dir() => ino,
            _ => return Err(Errno::ENOTDIR),
        };
        let me = Rc::downgrade(file);
        let marks = &mut self.job.fasync.marks;
        match marks.iter_mut().find(|m| m.pid == pid && m.file.ptr_eq(&me)) {
            // More events through the same description: added.
            Some(m) => {
                m.fd = fd;
                m.mask |= arg;
            }
            None => marks.push(DnMark { dir, file: me, fd, pid, mask: arg }),
        }
        // The caller becomes the owner of a description that has none.
        let mut f = file.borrow_mut();
        if f.owner.1 == 0 {
            f.owner = (F_OWNER_PID, pid as i32);
        }
        drop(f);
        self.job.inotify_rewatch();
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigio_info_as_linux() {
        let plain = sigio_info(0, 5, POLL_IN);
        assert_eq!((plain.signo, plain.code, plain.poll), (SIGIO, crate::signal::SI_KERNEL, None));
        let rt = sigio_info(35, 7, POLL_IN);
        assert_eq!((rt.signo, rt.code, rt.poll), (35, POLL_IN, Some((0x41, 7))));
        assert_eq!(sigio_info(10, 3, POLL_OUT).poll, Some((0x304, 3)));
        // SIGCHLD has codes of its own: SI_SIGIO.
        assert_eq!(sigio_info(17, 3, POLL_MSG).code, SI_SIGIO);
        assert_eq!(sigio_info(29, 3, POLL_MSG).code, POLL_MSG);
        assert_eq!(band(POLL_HUP), 0x18);
    }

    #[test]
    fn dnotify_events() {
        assert_eq!(dn_events(IN_ATTRIB, false), DN_ATTRIB);
        assert_eq!(dn_events(IN_MOVED_FROM, true), DN_DELETE | DN_RENAME);
        assert_eq!(dn_events(IN_MOVED_FROM, false), DN_DELETE);
        assert_eq!(dn_events(IN_MOVED_TO, false), DN_CREATE);
        assert_eq!(dn_events(sion_vfs::IN_CLOSE_WRITE | sion_vfs::IN_OPEN, false), 0);
    }

    #[test]
    fn pipe_ends_hear_their_direction() {
        let reader = OpenFile { obj: Obj::Pipe { id: 1, write: false }, flags: 0, off: 0, snapshot: None, owner: (1, 2), sig: 0 };
        let writer = OpenFile { obj: Obj::Pipe { id: 1, write: true }, flags: super::super::files::O_WRONLY, off: 0, snapshot: None, owner: (1, 2), sig: 0 };
        assert!(hears(&reader, Obj::Pipe { id: 1, write: false }, POLL_IN));
        assert!(!hears(&writer, Obj::Pipe { id: 1, write: false }, POLL_IN));
        assert!(hears(&writer, Obj::Pipe { id: 1, write: true }, POLL_OUT));
        assert!(!hears(&reader, Obj::Pipe { id: 2, write: false }, POLL_IN));
    }
}
