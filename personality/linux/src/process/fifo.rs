//! Named pipes (FIFOs) and mknod.
//!
//! A FIFO is an inode (`Data::Fifo`) in the job's file tree. Opening it
//! joins the pipe of that inode (`JobState::fifos`, made at its first open
//! and gone, with any bytes in it, when the last end closes, as on Linux),
//! so the open file description is an ordinary pipe end (`Obj::Pipe`) whose
//! pipe knows its inode (`JobState::fifo_pipes`) for `fstat` and the close.
//!
//! Opening follows Linux's `fifo_open`: for reading it waits until a writer
//! has opened (unless O_NONBLOCK), for writing until a reader has
//! (O_NONBLOCK without a reader: ENXIO), O_RDWR never waits. Each side
//! counts its opens (`r_counter`, `w_counter`) and a waiting open finishes
//! once the other side's counter moved, even if that opener closed again.
//! A waiting open is counted as an end of the pipe (a writer that comes
//! finds its reader) and waits as a deferred reply (`Pending::Retry`); its
//! record (`JobState::fifo_waits`, by process and thread) is dropped with
//! its ends when the wait is interrupted or the process ends.

use super::files::{Obj, VfsRes, O_ACCMODE, O_NONBLOCK, O_RDWR, O_WRONLY};
use super::pipe::{Pipe, PIPE_DEFAULT};
use super::*;
use sion_vfs::Ino;

/// The pipe of a FIFO inode and its open counters.
#[derive(Debug, Default, Clone)]
pub struct Fifo {
    pub pipe: u32,
    pub r_counter: u64,
    pub w_counter: u64,
}

/// An open of a FIFO waiting for the other side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FifoWait {
    pub ino: Ino,
    /// Waiting as a writer (for a reader), or as a reader.
    pub write: bool,
    /// The other side's counter when the wait began.
    pub seen: u64,
}

impl JobState {
    /// The pipe of FIFO `ino`, made if it has none (or its pipe went away).
    fn fifo_pipe(&mut self, ino: Ino) -> u32 {
        let live = self.fifos.get(&ino).map(|f| f.pipe).filter(|id| self.pipes.contains_key(id));
        if let Some(id) = live {
            return id;
        }
        let id = self.next_pipe;
        self.next_pipe += 1;
        self.pipes.insert(id, Pipe { capacity: PIPE_DEFAULT, ..Default::default() });
        self.fifos.entry(ino).or_default().pipe = id;
        self.fifo_pipes.insert(id, ino);
        id
    }

    /// Drop an end of a FIFO's pipe (the pipe goes with its last end).
    fn fifo_end_gone(&mut self, ino: Ino, write: bool) {
        let Some(id) = self.fifos.get(&ino).map(|f| f.pipe) else { return };
        let Some(p) = self.pipes.get_mut(&id) else { return };
        if write {
            p.writers = p.writers.saturating_sub(1);
        } else {
            p.readers = p.readers.saturating_sub(1);
        }
        if p.readers == 0 && p.writers == 0 {
            self.pipes.remove(&id);
            self.fifo_pipes.remove(&id);
        }
    }

    /// Forget the waiting FIFO opens of process `pid` (of its thread `tid`
    /// only, if given): interrupted, or the process ended.
    pub fn fifo_cancel(&mut self, pid: u32, tid: Option<u32>) {
        let gone: Vec<(u32, u32)> = self.fifo_waits.keys().copied().filter(|&(p, t)| p == pid && tid.is_none_or(|x| x == t)).collect();
        for k in gone {
            if let Some(w) = self.fifo_waits.remove(&k) {
                self.fifo_end_gone(w.ino, w.write);
            }
        }
    }
}

impl Process {
    /// open(2) of FIFO `ino` (permissions already checked).
    pub(super) fn fifo_open(&mut self, ino: Ino, flags: u32) -> SysResult {
        let acc = flags & O_ACCMODE;
        let nonblock = flags & O_NONBLOCK != 0;
        let key = (self.pid, self.tid);
        if let Some(w) = self.job.fifo_waits.get(&key).copied() {
            if w.ino == ino && (acc == O_WRONLY) == w.write {
                // This open waited: done once the other side opened.
                let f = self.job.fifos.get(&ino).cloned().unwrap_or_default();
                let now = if w.write { f.r_counter } else { f.w_counter };
                if now == w.seen {
                    return self.block_retry();
                }
                self.job.fifo_waits.remove(&key);
                return self.fifo_install(ino, f.pipe, flags);
            }
            // A stale wait (the path names something else now).
            self.job.fifo_cancel(self.pid, Some(self.tid));
        }
        let id = self.job.fifo_pipe(ino);
        let (readers, writers) = self.job.pipes.get(&id).map_or((0, 0), |p| (p.readers, p.writers));
        match acc {
            0 => {
                let f = self.job.fifos.get_mut(&ino).expect("fifo");
                f.r_counter += 1;
                let seen = f.w_counter;
                self.job.pipes.get_mut(&id).expect("pipe").readers += 1;
                if writers == 0 && !nonblock {
                    self.job.fifo_waits.insert(key, FifoWait { ino, write: false, seen });
                    return self.block_retry();
                }
            }
            O_WRONLY => {
                if readers == 0 && nonblock {
                    if writers == 0 {
                        self.job.pipes.remove(&id);
                        self.job.fifo_pipes.remove(&id);
                    }
                    return Err(Errno::ENXIO);
                }
                let f = self.job.fifos.get_mut(&ino).expect("fifo");
                f.w_counter += 1;
                let seen = f.r_counter;
                self.job.pipes.get_mut(&id).expect("pipe").writers += 1;
                if readers == 0 {
                    self.job.fifo_waits.insert(key, FifoWait { ino, write: true, seen });
                    return self.block_retry();
                }
            }
            O_RDWR => {
                let f = self.job.fifos.get_mut(&ino).expect("fifo");
                f.r_counter += 1;
                f.w_counter += 1;
                let p = self.job.pipes.get_mut(&id).expect("pipe");
                p.readers += 1;
                p.writers += 1;
            }
            _ => {
                if readers == 0 && writers == 0 {
                    self.job.pipes.remove(&id);
                    self.job.fifo_pipes.remove(&id);
                }
                return Err(Errno::EINVAL);
            }
        }
        self.fifo_install(ino, id, flags)
    }

    /// A description for ends already counted in the pipe.
    fn fifo_install(&mut self, ino: Ino, id: u32, flags: u32) -> SysResult {
        let mut fl = flags & !(files::O_CREAT | files::O_EXCL | files::O_NOCTTY | files::O_TRUNC | files::O_CLOEXEC);
        if self.abi == Abi::X86_64 {
            fl |= files::O_LARGEFILE;
        }
        let file = self.new_file(Obj::Pipe { id, write: flags & O_ACCMODE != 0 }, fl);
        self.job.vfs.open_ref(ino);
        match self.fd_install(file.clone(), 0, flags & files::O_CLOEXEC != 0) {
            Ok(fd) => Ok(fd as u64),
            Err(e) => {
                self.release(file);
                Err(e)
            }
        }
    }

    /// The FIFO inode the ends of pipe `id` were opened through, if they were.
    pub(super) fn fifo_of(&self, id: u32) -> Option<Ino> {
        self.job.fifo_pipes.get(&id).copied()
    }

    /// The last reference to a FIFO's open description went.
    pub(super) fn fifo_closed(&mut self, ino: Ino, flags: u32) {
        let acc = flags & O_ACCMODE;
        if acc != O_WRONLY {
            self.job.fifo_end_gone(ino, false);
        }
        if acc != 0 {
            self.job.fifo_end_gone(ino, true);
        }
        self.job.vfs.close_ref(ino);
    }

    /// mknod/mknodat: regular files, FIFOs and socket names for anyone;
    /// character and block devices for root only (EPERM otherwise, as
    /// without CAP_MKNOD). A device root makes opens as SiON's own (null,
    /// zero, full, random, urandom) when its number is one of theirs, and
    /// fails with ENXIO otherwise (no driver).
    pub(crate) fn sys_mknodat(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, mode: u32, dev: u64) -> SysResult {
        use sion_vfs::{Data, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK};
        let data = match mode & S_IFMT {
            0 | S_IFREG => Data::Reg(Default::default()),
            S_IFIFO => Data::Fifo,
            S_IFSOCK => Data::Sock,
            S_IFCHR => Data::Chr(dev & 0xffff_ffff),
            S_IFBLK => Data::Blk(dev & 0xffff_ffff),
            S_IFDIR => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        let (p, start, _) = self.walk_at(h, abi, dirfd, path, false)?;
        let cred = self.files.cred.clone();
        let f = self.job.vfs.walk(start, &p, false, &cred).ex()?;
        if f.ino.is_some() {
            return Err(Errno::EEXIST);
        }
        if f.trailing {
            return Err(Errno::ENOENT);
        }
        let device = matches!(data, Data::Chr(_) | Data::Blk(_));
        if device && self.uid != 0 {
            // may_create's EACCES comes first, then CAP_MKNOD's EPERM.
            let dir_ok = self.job.vfs.may(f.dir, sion_vfs::W_OK | sion_vfs::X_OK, &cred);
            return Err(if dir_ok { Errno::EPERM } else { Errno::EACCES });
        }
        let perm = mode & 0o7777 & !self.files.umask;
        self.job.vfs.create(&f, data, perm, &cred).ex().map(|_| 0)
    }
}
