//! Files of the tree as open files: regular files (a generated /proc file
//! reads its snapshot), directories and the character devices (null, zero,
//! full, random, urandom).

use super::*;

/// The VFS inode `ino`, open.
pub struct InodeFile(pub Ino);

impl FileLike for InodeFile {
    fn read(&self, p: &mut Process, h: &mut dyn Host, _abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        read(p, h, f, self.0, iov, None)
    }

    fn read_at(&self, p: &mut Process, h: &mut dyn Host, _abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>, off: u64) -> SysResult {
        read(p, h, f, self.0, iov, Some(off))
    }

    fn write(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        write(p, h, abi, f, self.0, iov, None)
    }

    fn write_at(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>, off: u64) -> SysResult {
        write(p, h, abi, f, self.0, iov, Some(off))
    }

    fn write_bytes(&self, p: &mut Process, _h: &mut dyn Host, f: &Rc<RefCell<OpenFile>>, data: &[u8]) -> SysResult {
        let ino = self.0;
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
            blksize: 4096,
            blocks: match n.host {
                Some((_, blocks)) => blocks,
                None if n.is_reg() || n.is_dir() => stat_blocks(size),
                None => 0,
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
                if whence == 3 {
                    off
                } else {
                    size
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

    fn release(&self, p: &mut Process, _flags: u32) {
        p.job.vfs.close_ref(self.0);
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

/// read and pread (`at`) of a file or device.
fn read(p: &mut Process, h: &mut dyn Host, f: &Rc<RefCell<OpenFile>>, ino: Ino, iov: Vec<(u64, u64)>, at: Option<u64>) -> SysResult {
    p.job.vfs.now = h.realtime_ns();
    let mut total = 0u64;
    let chr = match p.job.vfs.node(ino).data {
        Data::Dir(_) => return Err(Errno::EISDIR),
        Data::Chr(r) => Some(r),
        Data::Symlink(_) | Data::Sock | Data::Fifo | Data::Blk(_) => return Err(Errno::EBADF),
        Data::Reg(_) => None,
    };
    let mut off = at.unwrap_or(f.borrow().off);
    let mut buf = vec![0u8; 0];
    for (base, len) in iov {
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(1 << 16) as usize;
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
                None => {
                    let snap = f.borrow().snapshot.clone();
                    match snap {
                        Some(s) => {
                            let o = (off as usize).min(s.len());
                            let k = n.min(s.len() - o);
                            buf[..k].copy_from_slice(&s[o..o + k]);
                            k
                        }
                        None => p.job.vfs.read_at(ino, off, &mut buf[..n]).ex()?,
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
    Ok(total)
}

/// write and pwrite (`at`) of a file or device.
fn write(p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, ino: Ino, iov: Vec<(u64, u64)>, at: Option<u64>) -> SysResult {
    p.job.vfs.now = h.realtime_ns();
    let chr = match p.job.vfs.node(ino).data {
        Data::Chr(r) => Some(r),
        Data::Dir(_) => return Err(Errno::EISDIR),
        _ => None,
    };
    let total_len: u64 = iov.iter().map(|x| x.1).sum();
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
            let n = (len - done).min(1 << 16) as usize;
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
            match p.job.vfs.write_at(ino, off, &buf[..got]) {
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
