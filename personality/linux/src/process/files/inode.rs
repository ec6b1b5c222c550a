//! Files of the tree as open files: regular files (a generated /proc file
//! reads its snapshot), directories and the character devices (null, zero,
//! full, random, urandom).

use super::*;

/// The VFS inode `ino`, open.
pub struct InodeFile(pub Ino);

impl FileLike for InodeFile {
    fn read(&self, p: &mut Process, h: &mut dyn Host, _abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let r = read(p, h, f, self.0, iov, None);
        accessed(p, self.0, r)
    }

    fn read_at(&self, p: &mut Process, h: &mut dyn Host, _abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>, off: u64) -> SysResult {
        let r = read(p, h, f, self.0, iov, Some(off));
        accessed(p, self.0, r)
    }

    fn write(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        write(p, h, abi, f, self.0, iov, None)
    }

    fn write_at(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>, off: u64) -> SysResult {
        write(p, h, abi, f, self.0, iov, Some(off))
    }

    fn write_bytes(&self, p: &mut Process, _h: &mut dyn Host, f: &Rc<RefCell<OpenFile>>, data: &[u8]) -> SysResult {
        let ino = self.0;
        let tagv = p.job.vfs.node(ino).tag;
        if tag::kind(tagv) == tag::SYSCTL {
            return p.sysctl_write(tag::pid(tagv), data);
        }
        if tag::kind(tagv) == tag::SELF_COREDUMP_FILTER {
            return p.coredump_filter_write(tag::pid(tagv), data);
        }
        match p.job.vfs.node(ino).data {
            Data::Chr(RDEV_FULL) => Err(Errno::ENOSPC),
            Data::Chr(_) => Ok(data.len() as u64),
            _ => {
                let off = if f.borrow().flags & O_APPEND != 0 { p.job.vfs.node(ino).size() } else { f.borrow().off };
                let n = p.job.vfs.write_at(ino, off, data).ex()?;
                f.borrow_mut().off = off + n as u64;
                Ok(n as u64)
            }
        }
    }

    fn stat(&self, p: &Process) -> StatInfo {
        let ino = self.0;
        let n = p.job.vfs.node(ino);
        let ts = |ns: u64| Timespec::from_ns(ns);
        // As the workstation has it, while it is as it came from there.
        let size = match (n.tag, n.host) {
            (0, Some((size, _))) if n.is_dir() => size,
            (0, _) => n.size(),
            _ => 0,
        };
        StatInfo {
            dev: n.dev,
            ino,
            mode: n.mode(),
            nlink: n.nlink,
            uid: n.uid,
            gid: n.gid,
            rdev: n.rdev(),
            size: size as i64,
            blksize: p.job.ext2.get(&n.dev).map_or(4096, |m| m.fs.bs),
            blocks: match (n.host, &n.data, p.job.ext2.get(&n.dev)) {
                // On ext2: its blocks (but the holes of 64 KiB) and the indirect ones.
                (_, Data::Reg(f), Some(m)) => m.fs.sectors_for(size.div_ceil(m.fs.bs as u64).min(f.allocated() / m.fs.bs as u64)),
                (_, Data::Symlink(t), Some(m)) if t.len() >= 60 => m.fs.bs as u64 / 512,
                (Some((_, blocks)), _, _) => blocks,
                (None, _, _) if n.is_reg() || n.is_dir() => stat_blocks(size),
                (None, _, _) => 0,
            },
            atime: ts(n.atime),
            mtime: ts(n.mtime),
            ctime: ts(n.ctime),
        }
    }

    fn seek(&self, p: &mut Process, f: &Rc<RefCell<OpenFile>>, off: i64, whence: u32) -> Result<u64, Errno> {
        let n = p.job.vfs.node(self.0);
        if matches!(n.data, Data::Chr(_)) {
            if whence > 4 {
                return Err(Errno::EINVAL);
            }
            f.borrow_mut().off = 0;
            return Ok(0);
        }
        let size = match &f.borrow().snapshot {
            Some(s) => s.len() as u64,
            None => n.size(),
        } as i64;
        let cur = f.borrow().off as i64;
        let new = match whence {
            0 => off,
            1 => cur.checked_add(off).ok_or(Errno::EOVERFLOW)?,
            2 => {
                if n.is_dir() {
                    return Err(Errno::EINVAL);
                }
                size.checked_add(off).ok_or(Errno::EOVERFLOW)?
            }
            3 | 4 => {
                if n.is_dir() || off < 0 || off >= size {
                    return Err(Errno::ENXIO);
                }
                if f.borrow().snapshot.is_some() || !n.is_reg() {
                    if whence == 3 {
                        off
                    } else {
                        size
                    }
                } else {
                    // tmpfs's holes: pages never written (or punched).
                    p.job.vfs.seek_data(self.0, off as u64, whence == 4).ok_or(Errno::ENXIO)? as i64
                }
            }
            _ => return Err(Errno::EINVAL),
        };
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        f.borrow_mut().off = new as u64;
        Ok(new as u64)
    }

    fn ioctl(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, req: u32, arg: u64) -> SysResult {
        let ino = self.0;
        if super::loopdev::is_loop_node(&p.job.vfs.node(ino).data) {
            let rdev = p.job.vfs.node(ino).rdev();
            return p.loop_ioctl(h, abi, f, rdev, req, arg);
        }
        if let Some(r) = p.inode_flags_ioctl(h, abi, ino, req, arg) {
            return r;
        }
        let n = p.job.vfs.node(ino);
        if req == FIONREAD && n.is_reg() {
            let left = n.size().saturating_sub(f.borrow().off) as u32;
            return p.write_user(h, abi, arg, &left.to_le_bytes()).map(|_| 0);
        }
        if n.is_dir() && req == FIONREAD {
            return Err(Errno::ENOTTY);
        }
        Err(Errno::ENOTTY)
    }

    fn release(&self, p: &mut Process, flags: u32) {
        if flags & O_PATH == 0 {
            let write = matches!(flags & O_ACCMODE, O_WRONLY | O_RDWR);
            if write && p.job.vfs.node(self.0).is_reg() {
                p.job.vfs.writer(self.0, false);
            }
            p.job.vfs.event(self.0, if write { sion_vfs::IN_CLOSE_WRITE } else { sion_vfs::IN_CLOSE_NOWRITE });
        }
        p.job.vfs.close_ref(self.0);
        if !p.job.ext2.is_empty() {
            p.job.ext2_reap();
        }
    }

    fn path(&self, p: &Process) -> Vec<u8> {
        match p.job.vfs.path_of(self.0) {
            Some(path) => path,
            None => {
                let mut path = b"/".to_vec();
                path.extend_from_slice(b"(deleted)");
                path
            }
        }
    }

    fn inode(&self, _p: &Process) -> Option<Ino> {
        Some(self.0)
    }
}

/// inotify's IN_ACCESS after a read that read something.
fn accessed(p: &mut Process, ino: Ino, r: SysResult) -> SysResult {
    if matches!(r, Ok(n) if n > 0) {
        p.job.vfs.event(ino, sion_vfs::IN_ACCESS);
    }
    r
}

/// read and pread (`at`) of a file or device.
fn read(p: &mut Process, h: &mut dyn Host, f: &Rc<RefCell<OpenFile>>, ino: Ino, iov: Vec<(u64, u64)>, at: Option<u64>) -> SysResult {
    p.job.vfs.now = h.realtime_ns();
    let mut total = 0u64;
    // A loop device reads its file, within the device's size.
    let (ino, shift, end) = match p.job.vfs.node(ino).data {
        Data::Blk(r) => match p.loop_backing(r) {
            Ok((file, shift)) => (file, shift, p.loop_size(super::loopdev::loop_number(r).unwrap_or(0))),
            Err(Errno::ENXIO) => return Ok(0),
            Err(er) => return Err(er),
        },
        _ => (ino, 0, u64::MAX),
    };
    let chr = match p.job.vfs.node(ino).data {
        Data::Dir(_) => return Err(Errno::EISDIR),
        Data::Chr(r) => Some(r),
        Data::Symlink(_) | Data::Sock | Data::Fifo | Data::Blk(_) => return Err(Errno::EBADF),
        Data::Reg(_) => None,
    };
    let mut off = at.unwrap_or(f.borrow().off);
    let wanted: u64 = iov.iter().map(|x| x.1).sum();
    let mut buf = vec![0u8; 0];
    for (base, len) in iov {
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(1 << 16).min(end.saturating_sub(off)) as usize;
            if n == 0 {
                break;
            }
            buf.resize(n, 0);
            let got = match chr {
                Some(RDEV_NULL) => 0,
                Some(RDEV_ZERO) | Some(RDEV_FULL) => {
                    buf.fill(0);
                    n
                }
                Some(RDEV_RANDOM) | Some(RDEV_URANDOM) => {
                    p.random_bytes(&mut buf[..n]);
                    n
                }
                Some(_) => return Err(Errno::EIO),
                None if tag::kind(p.job.vfs.node(ino).tag) == tag::SELF_PAGEMAP => {
                    let owner = tag::pid(p.job.vfs.node(ino).tag);
                    p.pagemap(h, owner, off, &mut buf[..n])?
                }
                None => {
                    let snap = f.borrow().snapshot.clone();
                    match snap {
                        Some(s) => {
                            let o = (off as usize).min(s.len());
                            let k = n.min(s.len() - o);
                            buf[..k].copy_from_slice(&s[o..o + k]);
                            k
                        }
                        None => p.job.vfs.read_at(ino, off + shift, &mut buf[..n]).ex()?,
                    }
                }
            };
            if got == 0 {
                break;
            }
            let w = p.write_partial(h, base + done, &buf[..got]);
            done += w as u64;
            total += w as u64;
            if chr.is_none() {
                off += w as u64;
            }
            if w < got {
                if total == 0 {
                    return Err(Errno::EFAULT);
                }
                break;
            }
            if got < n {
                break;
            }
        }
        if done < len {
            break;
        }
    }
    if at.is_none() && chr.is_none() {
        f.borrow_mut().off = off;
    }
    if chr.is_none() && wanted > 0 && f.borrow().flags & O_NOATIME == 0 {
        p.job.vfs.touch_atime(ino);
    }
    Ok(total)
}

/// write and pwrite (`at`) of a file or device.
fn write(p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, ino: Ino, iov: Vec<(u64, u64)>, at: Option<u64>) -> SysResult {
    p.job.vfs.now = h.realtime_ns();
    // A loop device writes its file, within the device's size.
    let (ino, shift, end) = match p.job.vfs.node(ino).data {
        Data::Blk(r) => match p.loop_backing(r) {
            Ok((file, shift)) => (file, shift, p.loop_size(super::loopdev::loop_number(r).unwrap_or(0))),
            Err(Errno::ENXIO) => return Err(Errno::ENOSPC),
            Err(er) => return Err(er),
        },
        _ => (ino, 0, u64::MAX),
    };
    let chr = match p.job.vfs.node(ino).data {
        Data::Chr(r) => Some(r),
        Data::Dir(_) => return Err(Errno::EISDIR),
        _ => None,
    };
    let total_len: u64 = iov.iter().map(|x| x.1).sum();
    let tagv = p.job.vfs.node(ino).tag;
    if tag::kind(tagv) == tag::SELF_TIMENS {
        let mut data = Vec::new();
        for &(base, len) in &iov {
            if data.len() as u64 + len > PAGE {
                return Err(Errno::EINVAL);
            }
            data.extend(p.read_user(h, abi, base, len as usize)?);
        }
        // Another process's offsets: not offered (it would need that
        // process's namespace for children, which the writer cannot reach).
        if tag::pid(tagv) != p.pid {
            return Err(Errno::EPERM);
        }
        return p.timens_offsets_write(h, &data);
    }
    if tag::kind(tagv) == tag::SYSCTL || tag::kind(tagv) == tag::SELF_COREDUMP_FILTER {
        // A tunable takes one write of its whole value (a page at most).
        let mut data = Vec::new();
        for &(base, len) in &iov {
            if data.len() as u64 + len > PAGE {
                return Err(Errno::EINVAL);
            }
            data.extend(p.read_user(h, abi, base, len as usize)?);
        }
        if tag::kind(tagv) == tag::SELF_COREDUMP_FILTER {
            return p.coredump_filter_write(tag::pid(tagv), &data);
        }
        return p.sysctl_write(tag::pid(tagv), &data);
    }
    match chr {
        Some(RDEV_FULL) => return if total_len == 0 { Ok(0) } else { Err(Errno::ENOSPC) },
        Some(_) => {
            for &(base, len) in &iov {
                p.check_range(abi, base, len)?;
            }
            return Ok(total_len.min(MAX_RW));
        }
        None => {}
    }
    let append = f.borrow().flags & O_APPEND != 0;
    let mut off = match at {
        Some(o) => o,
        None if append => p.job.vfs.node(ino).size(),
        None => f.borrow().off,
    };
    if at.is_some() && append {
        off = p.job.vfs.node(ino).size();
    }
    let fsize = p.rlimits[1].0;
    let mut total = 0u64;
    let mut buf = Vec::new();
    'outer: for (base, len) in iov {
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(1 << 16).min(end.saturating_sub(off)) as usize;
            if n == 0 {
                if total == 0 {
                    return Err(Errno::ENOSPC);
                }
                break 'outer;
            }
            buf.resize(n, 0);
            let got = if p.check_range(abi, base + done, n as u64).is_ok() { p.read_partial(h, base + done, &mut buf[..n]) } else { 0 };
            if got == 0 {
                if total == 0 {
                    return Err(Errno::EFAULT);
                }
                break 'outer;
            }
            if off + got as u64 > fsize {
                if total == 0 {
                    return Err(Errno::EFBIG);
                }
                break 'outer;
            }
            // File data lives in the server's memory: keep a reserve so
            // that a growing file ends in ENOSPC, never in a dead node.
            let grow = p.job.vfs.write_growth(ino, off, got);
            if grow > 0 && h.free_memory() < grow + FREE_RESERVE {
                if total == 0 {
                    return Err(Errno::ENOSPC);
                }
                break 'outer;
            }
            match p.job.vfs.write_at(ino, off + shift, &buf[..got]) {
                Ok(w) => {
                    off += w as u64;
                    total += w as u64;
                    done += w as u64;
                }
                Err(er) => {
                    if total == 0 {
                        return Err(e(er));
                    }
                    break 'outer;
                }
            }
            if got < n {
                break 'outer;
            }
        }
    }
    if at.is_none() {
        f.borrow_mut().off = off;
    }
    Ok(total)
}

fn stat_blocks(size: u64) -> u64 {
    size.div_ceil(4096) * 8
}

fn dirent_name_ok(name: &[u8]) -> bool {
    !name.is_empty()
}

impl Process {
    pub(crate) fn sys_getdents(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, buf: u64, count: u64, d64: bool) -> SysResult {
        let f = self.io_file(fd)?;
        let ino = match f.borrow().obj {
            Obj::Node(i) => i,
            _ => return Err(Errno::ENOTDIR),
        };
        if !self.job.vfs.node(ino).is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if ino == self.files.proc_fd_dir {
            self.sync_proc();
        }
        let count = (count as u32).min(i32::MAX as u32) as usize;
        self.check_range(abi, buf, count as u64)?;
        // A directory removed while open lists nothing: ENOENT, as Linux.
        if self.job.vfs.node(ino).nlink == 0 {
            return Err(Errno::ENOENT);
        }
        let list = self.job.vfs.readdir(ino).ex()?;
        if f.borrow().flags & O_NOATIME == 0 {
            self.job.vfs.now = h.realtime_ns();
            self.job.vfs.touch_atime(ino);
        }
        let mut pos = f.borrow().off as usize;
        let mut out: Vec<u8> = Vec::new();
        let word = if d64 { 8 } else { abi.word() };
        while pos < list.len() {
            let ent = &list[pos];
            if !dirent_name_ok(&ent.name) {
                pos += 1;
                continue;
            }
            let reclen = if d64 { (19 + ent.name.len() + 1).div_ceil(8) * 8 } else { (2 * word + 2 + ent.name.len() + 2).div_ceil(word) * word };
            if out.len() + reclen > count {
                if out.is_empty() {
                    return Err(Errno::EINVAL);
                }
                break;
            }
            let start = out.len();
            out.resize(start + reclen, 0);
            let r = &mut out[start..];
            let next = (pos + 1) as u64;
            if d64 {
                r[0..8].copy_from_slice(&ent.ino.to_le_bytes());
                r[8..16].copy_from_slice(&next.to_le_bytes());
                r[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
                r[18] = ent.dtype;
                r[19..19 + ent.name.len()].copy_from_slice(&ent.name);
            } else {
                if word == 4 && ent.ino > u32::MAX as u64 {
                    return Err(Errno::EOVERFLOW);
                }
                r[..word].copy_from_slice(&ent.ino.to_le_bytes()[..word]);
                r[word..2 * word].copy_from_slice(&next.to_le_bytes()[..word]);
                r[2 * word..2 * word + 2].copy_from_slice(&(reclen as u16).to_le_bytes());
                let s = 2 * word + 2;
                r[s..s + ent.name.len()].copy_from_slice(&ent.name);
                r[reclen - 1] = ent.dtype;
            }
            pos += 1;
        }
        self.write_user(h, abi, buf, &out)?;
        f.borrow_mut().off = pos as u64;
        Ok(out.len() as u64)
    }

    pub(crate) fn sys_ftruncate(&mut self, h: &mut dyn Host, fd: u64, len: i64) -> SysResult {
        let f = self.io_file(fd)?;
        if len < 0 {
            return Err(Errno::EINVAL);
        }
        let obj = f.borrow().obj;
        let Obj::Node(ino) = obj else { return Err(Errno::EINVAL) };
        if !self.job.vfs.node(ino).is_reg() || !f.borrow().writable() {
            return Err(Errno::EINVAL);
        }
        // do_sys_ftruncate: not an append-only file (tmpfs lets an
        // immutable one's open descriptor truncate it, as it writes it).
        if self.job.vfs.node(ino).append_only() {
            return Err(Errno::EPERM);
        }
        if len as u64 > self.rlimits[1].0 {
            return Err(Errno::EFBIG);
        }
        self.job.vfs.truncate(ino, len as u64).ex()?;
        self.file_shrunk(h, ino, len as u64);
        Ok(0)
    }

    pub(crate) fn sys_fallocate(&mut self, fd: u64, mode: u32, off: i64, len: i64) -> SysResult {
        let f = self.io_file(fd)?;
        if off < 0 || len <= 0 {
            return Err(Errno::EINVAL);
        }
        if !f.borrow().writable() {
            return Err(Errno::EBADF);
        }
        let obj = f.borrow().obj;
        let Obj::Node(ino) = obj else { return Err(Errno::ESPIPE) };
        let n = self.job.vfs.node(ino);
        if n.is_dir() {
            return Err(Errno::EISDIR);
        }
        if !n.is_reg() {
            return Err(Errno::ENODEV);
        }
        // vfs_fallocate: nothing on an immutable file, only growth on an append-only one.
        if n.immutable() || (n.append_only() && mode & !FALLOC_FL_KEEP_SIZE != 0) {
            return Err(Errno::EPERM);
        }
        let end = off.checked_add(len).ok_or(Errno::EFBIG)? as u64;
        let size = n.size();
        match mode {
            0 | FALLOC_FL_KEEP_SIZE => {
                if mode == 0 && end > size {
                    self.job.vfs.truncate(ino, end).ex()?;
                }
                Ok(0)
            }
            m if m == FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE => {
                self.job.vfs.punch_hole(ino, off as u64, len as u64).ex()?;
                Ok(0)
            }
            m if m == FALLOC_FL_ZERO_RANGE || m == FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE => {
                let zend = if m & FALLOC_FL_KEEP_SIZE != 0 { end.min(size) } else { end };
                if zend > off as u64 {
                    let zeros = vec![0u8; (zend - off as u64) as usize];
                    self.job.vfs.write_at(ino, off as u64, &zeros).ex()?;
                }
                Ok(0)
            }
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_sendfile(&mut self, h: &mut dyn Host, abi: Abi, out_fd: u64, in_fd: u64, offp: u64, count: u64, off64: bool) -> SysResult {
        let inf = self.io_file(in_fd)?;
        let outf = self.io_file(out_fd)?;
        if !inf.borrow().readable() || !outf.borrow().writable() {
            return Err(Errno::EBADF);
        }
        let in_ino = match inf.borrow().obj {
            Obj::Node(i) if self.job.vfs.node(i).is_reg() => i,
            Obj::Node(_) => return Err(Errno::EINVAL),
            _ => return Err(Errno::EINVAL),
        };
        if outf.borrow().flags & O_APPEND != 0 {
            return Err(Errno::EINVAL);
        }
        let osz = if off64 || abi == Abi::X86_64 { 8 } else { 4 };
        let mut off = if offp != 0 {
            let b = self.read_user(h, abi, offp, osz)?;
            let v = if osz == 8 { i64::from_le_bytes(b.try_into().unwrap()) } else { i32::from_le_bytes(b.try_into().unwrap()) as i64 };
            if v < 0 {
                return Err(Errno::EINVAL);
            }
            v as u64
        } else {
            inf.borrow().off
        };
        let count = count.min(MAX_RW);
        let snap = inf.borrow().snapshot.clone();
        let chunk = match &snap {
            Some(s) => {
                let start = (off as usize).min(s.len());
                s[start..(start + count as usize).min(s.len())].to_vec()
            }
            None => self.job.vfs.read_range(in_ino, off, count as usize),
        };
        let n = self.write_bytes(h, out_fd, &chunk)?;
        off += n;
        if offp != 0 {
            let b = if osz == 8 { off.to_le_bytes().to_vec() } else { (off as u32).to_le_bytes().to_vec() };
            self.write_user(h, abi, offp, &b)?;
        } else {
            inf.borrow_mut().off = off;
        }
        Ok(n)
    }

    pub(crate) fn sys_copy_file_range(&mut self, h: &mut dyn Host, abi: Abi, a: [u64; 6]) -> SysResult {
        let (in_fd, in_off, out_fd, out_off, len, flags) = (a[0], a[1], a[2], a[3], a[4], a[5] as u32);
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let inf = self.io_file(in_fd)?;
        let outf = self.io_file(out_fd)?;
        if !inf.borrow().readable() || !outf.borrow().writable() || outf.borrow().flags & O_APPEND != 0 {
            return Err(Errno::EBADF);
        }
        let (Obj::Node(ii), Obj::Node(oi)) = (inf.borrow().obj, outf.borrow().obj) else { return Err(Errno::EINVAL) };
        let (ni, no) = (self.job.vfs.node(ii), self.job.vfs.node(oi));
        if ni.is_dir() || no.is_dir() {
            return Err(Errno::EISDIR);
        }
        if !ni.is_reg() || !no.is_reg() {
            return Err(Errno::EINVAL);
        }
        let read_off = |p: &mut Self, h: &mut dyn Host, at: u64, f: &Rc<RefCell<OpenFile>>| -> Result<u64, Errno> {
            if at == 0 {
                Ok(f.borrow().off)
            } else {
                let b = p.read_user(h, abi, at, 8)?;
                let v = i64::from_le_bytes(b.try_into().unwrap());
                if v < 0 {
                    Err(Errno::EINVAL)
                } else {
                    Ok(v as u64)
                }
            }
        };
        let ro = read_off(self, h, in_off, &inf)?;
        let wo = read_off(self, h, out_off, &outf)?;
        if ii == oi && ro < wo + len && wo < ro + len {
            return Err(Errno::EINVAL);
        }
        let chunk = self.job.vfs.read_range(ii, ro, len.min(MAX_RW) as usize);
        let n = self.job.vfs.write_at(oi, wo, &chunk).ex()? as u64;
        if in_off == 0 {
            inf.borrow_mut().off = ro + n;
        } else {
            self.write_user(h, abi, in_off, &(ro + n).to_le_bytes())?;
        }
        if out_off == 0 {
            outf.borrow_mut().off = wo + n;
        } else {
            self.write_user(h, abi, out_off, &(wo + n).to_le_bytes())?;
        }
        Ok(n)
    }

    pub(crate) fn put_statfs(&mut self, h: &mut dyn Host, abi: Abi, r: Resolved, buf: u64, sized: bool, size: u64) -> SysResult {
        // tmpfs-like figures for the root, proc's for /proc; a mounted
        // tmpfs its own (its size= limit, its files), its flags.
        let mut fl = 0x20u64; // ST_VALID
        let (mut bsize, mut bavail) = (4096u64, None);
        let ext2 = match r {
            Resolved::Node(i) => self.job.vfs.get(i).map(|n| n.dev).filter(|d| self.job.ext2.contains_key(d)),
            _ => None,
        };
        let ext2 = ext2.and_then(|d| self.ext2_statfs(d));
        let (ftype, blocks, bfree, files, ffree): (u64, u64, u64, u64, u64) = match r {
            Resolved::Node(i) if ext2.is_some() => {
                let st = ext2.expect("ext2");
                let v = &self.job.vfs;
                let m = v.mount_of(i).expect("mount");
                fl |= v.dev_flags(m.dev) & 0xf;
                for (ms, stf) in [(sion_vfs::MS_NOATIME, 0x400u64), (sion_vfs::MS_NODIRATIME, 0x800), (sion_vfs::MS_RELATIME, 0x1000), (sion_vfs::MS_NOSYMFOLLOW, 0x2000)] {
                    if m.flags & ms != 0 {
                        fl |= stf;
                    }
                }
                (bsize, bavail) = (st.bs as u64, Some(st.bavail));
                (sion_ext2::EXT2_SUPER_MAGIC as u64, st.blocks, st.bfree, st.files, st.ffree)
            }
            Resolved::Node(i) if self.job.vfs.node(i).dev == DEV_PROC => (0x9fa0, 0, 0, 0, 0),
            Resolved::Node(i) if self.job.vfs.node(i).dev == DEV_SYS => (0x62656572, 0, 0, 0, 0),
            Resolved::Console(_) => (0x50495045, 0, 0, 0, 0),
            Resolved::Node(i) if self.job.vfs.node(i).dev == DEV_DEV => (0x01021994, 0, 0, 0, 0),
            Resolved::Node(i) if self.job.vfs.node(i).dev == DEV_SYS => (0x62656572, 0, 0, 0, 0),
            Resolved::Node(i) if self.job.vfs.mount_of(i).is_some_and(|m| m.owned) => {
                let v = &self.job.vfs;
                let m = v.mount_of(i).expect("mount");
                let dev = m.dev;
                // ST_RDONLY, NOSUID, NODEV, NOEXEC, then the time flags.
                fl |= v.dev_flags(dev) & 0xf;
                for (ms, st) in [(sion_vfs::MS_NOATIME, 0x400u64), (sion_vfs::MS_NODIRATIME, 0x800), (sion_vfs::MS_RELATIME, 0x1000), (sion_vfs::MS_NOSYMFOLLOW, 0x2000)] {
                    if m.flags & ms != 0 {
                        fl |= st;
                    }
                }
                let total = if m.limit == u64::MAX { self.memory / 4096 / 2 } else { m.limit / 4096 };
                let used = v.dev_used(dev).div_ceil(4096);
                let inodes = v.dev_inodes(dev);
                let maxi = (self.memory / 4096 / 2).max(inodes);
                (0x01021994, total, total.saturating_sub(used), maxi, maxi - inodes)
            }
            _ => {
                let total = self.memory / 4096 / 2;
                let used = self.job.vfs.used().div_ceil(4096);
                (0x01021994, total, total.saturating_sub(used), 65536, 65536 - (self.job.vfs.inode_count() as u64).min(65536))
            }
        };
        let avail = bavail.unwrap_or(bfree);
        let w64 = abi == Abi::X86_64 || sized;
        let mut b = Vec::new();
        let word = |b: &mut Vec<u8>, v: u64| push_word(abi, b, v);
        if abi == Abi::X86_64 {
            for v in [ftype, bsize, blocks, bfree, avail, files, ffree, 0, 255, bsize, fl] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.resize(120, 0);
        } else if sized {
            if size != 84 && size != 88 {
                return Err(Errno::EINVAL);
            }
            b.extend_from_slice(&(ftype as u32).to_le_bytes());
            b.extend_from_slice(&(bsize as u32).to_le_bytes());
            for v in [blocks, bfree, avail, files, ffree] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&[0u8; 8]);
            for v in [255u32, bsize as u32, fl as u32] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.resize(size as usize, 0);
        } else {
            for v in [ftype, bsize, blocks, bfree, avail, files, ffree, 0, 0, 255, bsize, fl] {
                word(&mut b, v);
            }
            b.resize(64, 0);
        }
        let _ = w64;
        self.write_user(h, abi, buf, &b).map(|_| 0)
    }
}
