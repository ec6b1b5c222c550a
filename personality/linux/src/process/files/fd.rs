//! The descriptor table of a process and the calls on a descriptor: what
//! is the same for every file (O_PATH, the access mode, the descriptor's
//! flags) is checked here, the rest is the kind's ([`FileLike`]).

use super::*;

/// Flags F_SETFL may change.
const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;

impl Process {
    pub(crate) fn fd_get(&self, fd: u64) -> Result<FdEntry, Errno> {
        let fd = fd as u32 as i32;
        self.files.fds.get(&fd).cloned().ok_or(Errno::EBADF)
    }

    pub(crate) fn file(&self, fd: u64) -> Result<Rc<RefCell<OpenFile>>, Errno> {
        Ok(self.fd_get(fd)?.file)
    }

    /// A descriptor usable for I/O (not O_PATH).
    pub(crate) fn io_file(&self, fd: u64) -> Result<Rc<RefCell<OpenFile>>, Errno> {
        let f = self.file(fd)?;
        if f.borrow().flags & O_PATH != 0 {
            return Err(Errno::EBADF);
        }
        Ok(f)
    }

    pub(super) fn nofile(&self) -> i32 {
        self.rlimits[7].0.min(1 << 20) as i32
    }

    /// Install a description at the lowest free descriptor >= `min`.
    pub(crate) fn fd_install(&mut self, file: Rc<RefCell<OpenFile>>, min: i32, cloexec: bool) -> Result<i32, Errno> {
        let limit = self.nofile();
        let mut fd = min;
        for (&k, _) in self.files.fds.range(min..) {
            if k != fd {
                break;
            }
            fd += 1;
        }
        if fd >= limit {
            return Err(Errno::EMFILE);
        }
        self.files.fds.insert(fd, FdEntry { file, cloexec });
        self.files.touched(fd);
        Ok(fd)
    }

    pub(crate) fn fd_close(&mut self, fd: i32) -> Result<(), Errno> {
        let ent = self.files.fds.remove(&fd).ok_or(Errno::EBADF)?;
        self.files.touched(fd);
        self.drop_posix_locks(&ent.file);
        self.flush(&ent.file);
        self.release(ent.file);
        Ok(())
    }

    pub(crate) fn dup_to(&mut self, f: Rc<RefCell<OpenFile>>, new: i32, cloexec: bool) -> SysResult {
        if new < 0 || new >= self.nofile() {
            return Err(Errno::EBADF);
        }
        if let Some(old) = self.files.fds.insert(new, FdEntry { file: f, cloexec }) {
            self.drop_posix_locks(&old.file);
            self.flush(&old.file);
            self.release(old.file);
        }
        self.files.touched(new);
        Ok(new as u64)
    }

    /// What any close of a descriptor does (Linux's `flush`): a message
    /// queue's notification registered by this process goes.
    fn flush(&mut self, file: &Rc<RefCell<OpenFile>>) {
        if let Obj::Mq(id) = file.borrow().obj {
            self.job.ipc.mq.flush(id, self.pid);
        }
        // The process's dnotify marks through it.
        if !self.job.fasync.marks.is_empty() && self.job.fasync.flush(file, self.pid) {
            self.job.inotify_rewatch();
        }
    }

    pub(in crate::process) fn release(&mut self, file: Rc<RefCell<OpenFile>>) {
        if Rc::strong_count(&file) == 1 {
            let (obj, flags) = (file.borrow().obj, file.borrow().flags);
            if let Obj::Node(ino) = obj {
                let f = file.borrow();
                if flags & O_PATH == 0 {
                    self.job.locks.closed(ino, f.readable(), f.writable());
                }
            }
            // Its OFD and flock locks and its lease go with the description.
            if !self.job.locks.is_empty() {
                if let Some(ino) = obj.with(|k| k.inode(self)) {
                    self.job.locks.release_file(ino, description_id(&file));
                }
            }
            obj.with(|k| k.release(self, flags));
        }
    }

    /// Install two new descriptions and write their descriptors, two ints,
    /// at `out` (pipe2, socketpair): both or neither.
    pub(in crate::process) fn install_pair(&mut self, h: &mut dyn Host, abi: Abi, pair: [Rc<RefCell<OpenFile>>; 2], cloexec: bool, out: u64) -> SysResult {
        let [a, b] = pair;
        let fa = match self.fd_install(a.clone(), 0, cloexec) {
            Ok(fd) => fd,
            Err(e) => {
                self.release(a);
                self.release(b);
                return Err(e);
            }
        };
        let fb = match self.fd_install(b.clone(), 0, cloexec) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = self.fd_close(fa);
                self.release(b);
                return Err(e);
            }
        };
        let mut bytes = (fa as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&(fb as u32).to_le_bytes());
        if let Err(e) = self.write_user(h, abi, out, &bytes) {
            let _ = self.fd_close(fa);
            let _ = self.fd_close(fb);
            return Err(e);
        }
        Ok(0)
    }

    pub(in crate::process) fn new_file(&mut self, obj: Obj, flags: u32) -> Rc<RefCell<OpenFile>> {
        if let Obj::Node(ino) = obj {
            self.job.vfs.open_ref(ino);
            if flags & O_PATH == 0 {
                let f = OpenFile { obj, flags, off: 0, snapshot: None, owner: (0, 0), sig: 0 };
                self.job.locks.opened(ino, f.readable(), f.writable());
                if f.writable() && self.job.vfs.node(ino).is_reg() {
                    self.job.vfs.writer(ino, true);
                }
                self.job.vfs.event(ino, sion_vfs::IN_OPEN);
            }
        }
        Rc::new(RefCell::new(OpenFile { obj, flags, off: 0, snapshot: None, owner: (0, 0), sig: 0 }))
    }

    pub(crate) fn sys_close_range(&mut self, first: u32, last: u32, flags: u32) -> SysResult {
        if flags & !(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE) != 0 || first > last {
            return Err(Errno::EINVAL);
        }
        let fds: Vec<i32> = self.files.fds.keys().copied().filter(|&f| f as u32 >= first && f as u32 <= last).collect();
        for fd in fds {
            if flags & CLOSE_RANGE_CLOEXEC != 0 {
                if let Some(e) = self.files.fds.get_mut(&fd) {
                    e.cloexec = true;
                }
            } else {
                let _ = self.fd_close(fd);
            }
        }
        Ok(0)
    }

    pub(crate) fn sys_fcntl(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, cmd: u32, arg: u64) -> SysResult {
        let ent = self.fd_get(fd)?;
        let is_path = ent.file.borrow().flags & O_PATH != 0;
        match cmd {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                let min = arg as u32 as i32;
                if min < 0 || min >= self.nofile() {
                    return Err(Errno::EINVAL);
                }
                self.fd_install(ent.file, min, cmd == F_DUPFD_CLOEXEC).map(|f| f as u64)
            }
            F_GETFD => Ok(ent.cloexec as u64),
            F_SETFD => {
                if let Some(e) = self.files.fds.get_mut(&(fd as u32 as i32)) {
                    e.cloexec = arg & 1 != 0;
                }
                Ok(0)
            }
            F_GETFL => Ok(ent.file.borrow().flags as u64),
            F_SETFL => {
                if is_path {
                    return Err(Errno::EBADF);
                }
                // O_APPEND stays on an append-only file.
                if let Obj::Node(ino) = ent.file.borrow().obj {
                    if (arg as u32 ^ ent.file.borrow().flags) & O_APPEND != 0 && self.job.vfs.node(ino).append_only() {
                        return Err(Errno::EPERM);
                    }
                }
                let mut f = ent.file.borrow_mut();
                let was = f.flags & O_ASYNC;
                f.flags = (f.flags & !SETFL_MASK) | (arg as u32 & SETFL_MASK);
                let now = f.flags & O_ASYNC;
                drop(f);
                if was != now || now != 0 {
                    self.job.fasync.set(&ent.file, fd as u32 as i32, now != 0);
                }
                Ok(0)
            }
            F_GETLK | F_SETLK | F_SETLKW | F_GETLK64 | F_SETLK64 | F_SETLKW64 | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => {
                if is_path {
                    return Err(Errno::EBADF);
                }
                self.fcntl_lock(h, abi, &ent.file, cmd, arg)
            }
            F_SETLEASE | F_GETLEASE => {
                if is_path {
                    return Err(Errno::EBADF);
                }
                self.fcntl_lease(&ent.file, cmd, arg)
            }
            // The owner of SIGIO/SIGURG: a pid (F_OWNER_PID), a process
            // group (negative, F_OWNER_PGRP) or a thread (F_SETOWN_EX).
            F_SETOWN => {
                let id = arg as u32 as i32;
                ent.file.borrow_mut().owner = match id {
                    0 => (F_OWNER_PID, 0),
                    i32::MIN => return Err(Errno::EINVAL),
                    i if i < 0 => (F_OWNER_PGRP, -i),
                    i => (F_OWNER_PID, i),
                };
                Ok(0)
            }
            F_GETOWN => {
                let (kind, id) = ent.file.borrow().owner;
                Ok(if kind == F_OWNER_PGRP { (-id) as i64 as u64 } else { id as i64 as u64 })
            }
            F_SETOWN_EX => {
                let b = self.read_user(h, abi, arg, 8)?;
                let kind = u32::from_le_bytes(b[0..4].try_into().unwrap());
                let id = i32::from_le_bytes(b[4..8].try_into().unwrap());
                if kind > F_OWNER_PGRP || id < 0 {
                    return Err(Errno::EINVAL);
                }
                ent.file.borrow_mut().owner = (kind, id);
                Ok(0)
            }
            F_GETOWN_EX => {
                let (kind, id) = ent.file.borrow().owner;
                let mut b = kind.to_le_bytes().to_vec();
                b.extend_from_slice(&id.to_le_bytes());
                self.write_user(h, abi, arg, &b).map(|_| 0)
            }
            F_SETSIG => {
                if arg > crate::signal::NSIG as u64 {
                    return Err(Errno::EINVAL);
                }
                ent.file.borrow_mut().sig = arg as u32;
                Ok(0)
            }
            F_GETSIG => Ok(ent.file.borrow().sig as u64),
            F_NOTIFY => {
                if is_path {
                    return Err(Errno::EBADF);
                }
                self.fcntl_notify(&ent.file, fd as u32 as i32, arg as u32)
            }
            F_GETPIPE_SZ | F_SETPIPE_SZ => {
                let obj = ent.file.borrow().obj;
                let set = (cmd == F_SETPIPE_SZ).then_some(arg as u32 as u64);
                obj.with(|k| k.pipe_size(self, set))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    pub(crate) fn sys_ioctl_fd(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, req: u32, arg: u64) -> SysResult {
        let ent = self.fd_get(fd)?;
        if ent.file.borrow().flags & O_PATH != 0 {
            return Err(Errno::EBADF);
        }
        let obj = ent.file.borrow().obj;
        match req {
            FIOCLEX | FIONCLEX => {
                if let Some(e) = self.files.fds.get_mut(&(fd as u32 as i32)) {
                    e.cloexec = req == FIOCLEX;
                }
                return Ok(0);
            }
            FIONBIO => {
                let b = self.read_user(h, abi, arg, 4)?;
                let on = u32::from_le_bytes(b.try_into().unwrap()) != 0;
                let mut f = ent.file.borrow_mut();
                if on {
                    f.flags |= O_NONBLOCK
                } else {
                    f.flags &= !O_NONBLOCK
                }
                return Ok(0);
            }
            // FIOASYNC: O_ASYNC as F_SETFL sets it.
            FIOASYNC => {
                let b = self.read_user(h, abi, arg, 4)?;
                let on = u32::from_le_bytes(b.try_into().unwrap()) != 0;
                let mut f = ent.file.borrow_mut();
                if on {
                    f.flags |= O_ASYNC
                } else {
                    f.flags &= !O_ASYNC
                }
                drop(f);
                self.job.fasync.set(&ent.file, fd as u32 as i32, on);
                return Ok(0);
            }
            _ => {}
        }
        obj.with(|k| k.ioctl(self, h, abi, &ent.file, req, arg))
    }

    pub(crate) fn read_file(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, iov: Vec<(u64, u64)>, at: Option<u64>) -> SysResult {
        let f = self.io_file(fd)?;
        let obj = f.borrow().obj;
        if at.is_some() && !matches!(obj, Obj::Node(_)) {
            return Err(Errno::ESPIPE);
        }
        if !f.borrow().readable() {
            return Err(Errno::EBADF);
        }
        for &(base, len) in &iov {
            self.check_range(abi, base, len)?;
        }
        obj.with(|k| match at {
            None => k.read(self, h, abi, &f, iov),
            Some(off) => k.read_at(self, h, abi, &f, iov, off),
        })
    }

    pub(crate) fn write_file(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, iov: Vec<(u64, u64)>, at: Option<u64>) -> SysResult {
        let f = self.io_file(fd)?;
        let obj = f.borrow().obj;
        // Positioned I/O on what has no position: ESPIPE before the mode.
        if at.is_some() && !matches!(obj, Obj::Node(_)) {
            return Err(Errno::ESPIPE);
        }
        if !f.borrow().writable() {
            return Err(Errno::EBADF);
        }
        obj.with(|k| match at {
            None => k.write(self, h, abi, &f, iov),
            Some(off) => k.write_at(self, h, abi, &f, iov, off),
        })
    }

    pub(crate) fn iov_list(&mut self, h: &mut dyn Host, abi: Abi, iov: u64, cnt: u64) -> Result<Vec<(u64, u64)>, Errno> {
        let cnt = cnt as u32 as i32;
        if cnt < 0 || cnt as u64 > UIO_MAXIOV {
            return Err(Errno::EINVAL);
        }
        let sz = iovec_size(abi);
        let raw = self.read_user(h, abi, iov, sz * cnt as usize)?;
        let mut out = Vec::with_capacity(cnt as usize);
        let mut total: u64 = 0;
        let signed_max = if abi == Abi::I386 { i32::MAX as u64 } else { i64::MAX as u64 };
        for i in 0..cnt as usize {
            let (base, len) = decode_iovec(abi, &raw[i * sz..]);
            if len > signed_max {
                return Err(Errno::EINVAL);
            }
            total = total.checked_add(len).filter(|t| *t <= signed_max).ok_or(Errno::EINVAL)?;
            out.push((base, len));
        }
        Ok(out)
    }

    /// Write server-held bytes to a descriptor (sendfile, copy_file_range).
    pub(super) fn write_bytes(&mut self, h: &mut dyn Host, fd: u64, data: &[u8]) -> SysResult {
        let f = self.io_file(fd)?;
        let obj = f.borrow().obj;
        obj.with(|k| k.write_bytes(self, h, &f, data))
    }

    pub(crate) fn do_lseek(&mut self, fd: u64, off: i64, whence: u32) -> Result<u64, Errno> {
        let f = self.io_file(fd)?;
        let obj = f.borrow().obj;
        obj.with(|k| k.seek(self, &f, off, whence))
    }

    pub(crate) fn fd_resolved(&self, fd: u64) -> Result<Resolved, Errno> {
        let obj = self.file(fd)?.borrow().obj;
        Ok(match obj.with(|k| k.inode(self)) {
            Some(i) => Resolved::Node(i),
            None => Resolved::Console(obj),
        })
    }

    pub(crate) fn stat_of(&self, r: Resolved) -> StatInfo {
        match r {
            Resolved::Node(ino) => inode::InodeFile(ino).stat(self),
            Resolved::Console(obj) => obj.with(|k| k.stat(self)),
        }
    }

    pub(crate) fn encode_stat(&self, r: Resolved, l: StatLayout) -> Result<Vec<u8>, Errno> {
        let s = self.stat_of(r);
        Ok(match l {
            StatLayout::Stat64 => encode_stat_x86_64(&s),
            StatLayout::I386Stat64 => encode_stat64_i386(&s),
            StatLayout::I386Old => {
                if s.size > i32::MAX as i64 || s.ino > u32::MAX as u64 {
                    return Err(Errno::EOVERFLOW);
                }
                encode_stat_i386(&s)
            }
        })
    }
}
