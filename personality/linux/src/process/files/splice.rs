//! splice, tee and vmsplice: moving bytes into and out of pipes without a
//! trip through the caller's memory. The pipe's bytes are in the server,
//! so splice is one copy from the pipe's ring to a file or another
//! descriptor (or from a file's blocks into a pipe), tee copies between two
//! pipes without taking, vmsplice is readv/writev on a pipe.

use super::*;

const SPLICE_F_MOVE: u32 = 1;
const SPLICE_F_NONBLOCK: u32 = 2;
const SPLICE_F_MORE: u32 = 4;
const SPLICE_F_GIFT: u32 = 8;
const SPLICE_FLAGS: u32 = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

/// The largest count one call moves (Linux's MAX_RW_COUNT).
const MAX_RW: u64 = 0x7fff_f000;

impl Process {
    /// The pipe an open descriptor is one end of: (id, write end).
    fn pipe_end(&self, fd: u64) -> Result<Option<(u32, bool)>, Errno> {
        Ok(match self.io_file(fd)?.borrow().obj {
            Obj::Pipe { id, write } => Some((id, write)),
            _ => None,
        })
    }

    /// A `loff_t *` argument: None when NULL; a negative offset is EINVAL.
    fn read_loff(&mut self, h: &mut dyn Host, abi: Abi, at: u64) -> Result<Option<u64>, Errno> {
        if at == 0 {
            return Ok(None);
        }
        let b = self.read_user(h, abi, at, 8)?;
        let v = i64::from_le_bytes(b.try_into().map_err(|_| Errno::EFAULT)?);
        if v < 0 {
            return Err(Errno::EINVAL);
        }
        Ok(Some(v as u64))
    }

    /// What a full or empty pipe answers: EPIPE (and SIGPIPE) with no reader
    /// left, EAGAIN when the call may not wait, else wait.
    fn pipe_wait(&mut self, nonblock: bool) -> SysResult {
        if nonblock {
            Err(Errno::EAGAIN)
        } else {
            self.block_retry()
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_splice(&mut self, h: &mut dyn Host, abi: Abi, fd_in: u64, off_in: u64, fd_out: u64, off_out: u64, len: u64, flags: u32) -> SysResult {
        if flags & !SPLICE_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        let (fin, fout) = (self.io_file(fd_in)?, self.io_file(fd_out)?);
        if !fin.borrow().readable() || !fout.borrow().writable() {
            return Err(Errno::EBADF);
        }
        let (pin, pout) = (self.pipe_end(fd_in)?, self.pipe_end(fd_out)?);
        if pin.is_some() && off_in != 0 || pout.is_some() && off_out != 0 {
            return Err(Errno::ESPIPE);
        }
        // What bytes cannot be spliced into (epoll, eventfd, signalfd,
        // pidfd, directories), and append-only files: EINVAL before any wait.
        let takes = match fout.borrow().obj {
            Obj::Node(ino) => !self.job.vfs.node(ino).is_dir(),
            Obj::Pipe { .. } | Obj::Socket(_) | Obj::Unix(_) | Obj::Stdout | Obj::Stderr => true,
            _ => false,
        };
        if !takes || fout.borrow().flags & O_APPEND != 0 {
            return Err(Errno::EINVAL);
        }
        let nonblock = flags & SPLICE_F_NONBLOCK != 0;
        match (pin, pout) {
            (None, None) => Err(Errno::EINVAL),
            (Some((a, _)), Some((b, _))) if a == b => Err(Errno::EINVAL),
            (Some((id, _)), out) => {
                let nonblock = nonblock || fin.borrow().nonblock();
                let Some(p) = self.job.pipes.get(&id) else { return Ok(0) };
                if len == 0 {
                    return Ok(0);
                }
                if p.buf.is_empty() {
                    return if p.writers == 0 { Ok(0) } else { self.pipe_wait(nonblock) };
                }
                let mut n = len.min(p.buf.len() as u64).min(MAX_RW) as usize;
                if let Some((oid, _)) = out {
                    let room = self.job.pipes.get(&oid).map_or(0, |q| q.capacity.saturating_sub(q.buf.len() as u64)) as usize;
                    if room == 0 {
                        if self.job.pipes.get(&oid).is_none_or(|q| q.readers == 0) {
                            self.raise = Some(crate::signal::SIGPIPE);
                            return Err(Errno::EPIPE);
                        }
                        return self.pipe_wait(nonblock || fout.borrow().nonblock());
                    }
                    n = n.min(room);
                }
                let data: Vec<u8> = self.job.pipes[&id].buf.iter().take(n).copied().collect();
                let written = match self.read_loff(h, abi, off_out)? {
                    Some(off) => {
                        let Obj::Node(ino) = fout.borrow().obj else { return Err(Errno::ESPIPE) };
                        let w = self.job.vfs.write_at(ino, off, &data).ex()? as u64;
                        self.write_user(h, abi, off_out, &(off + w).to_le_bytes())?;
                        w
                    }
                    None => self.write_bytes(h, fd_out, &data)?,
                };
                if let Some(p) = self.job.pipes.get_mut(&id) {
                    p.buf.drain(..written as usize);
                }
                Ok(written)
            }
            (None, Some((oid, _))) if matches!(fin.borrow().obj, Obj::Unix(_)) => {
                // From an AF_UNIX socket (Linux's unix_stream_splice_read,
                // a datagram's generic read): what fits in the pipe.
                let Obj::Unix(id) = fin.borrow().obj else { return Err(Errno::EINVAL) };
                let Some(q) = self.job.pipes.get(&oid) else { return Err(Errno::EPIPE) };
                if q.readers == 0 {
                    self.raise = Some(crate::signal::SIGPIPE);
                    return Err(Errno::EPIPE);
                }
                let room = q.capacity.saturating_sub(q.buf.len() as u64);
                if len == 0 {
                    return Ok(0);
                }
                if room == 0 {
                    return self.pipe_wait(nonblock || fout.borrow().nonblock());
                }
                let (data, got) = self.unix_take(id, len.min(room).min(MAX_RW), 0, nonblock || fin.borrow().nonblock())?;
                for f in got.rights {
                    self.release(f);
                }
                if data.is_empty() {
                    return Ok(0);
                }
                self.pipe_push(oid, &data, true)
            }
            (None, Some((oid, _))) => {
                let Obj::Node(ino) = fin.borrow().obj else { return Err(Errno::EINVAL) };
                if !self.job.vfs.node(ino).is_reg() {
                    return Err(Errno::EINVAL);
                }
                let Some(q) = self.job.pipes.get(&oid) else { return Err(Errno::EPIPE) };
                let room = q.capacity.saturating_sub(q.buf.len() as u64);
                if len == 0 {
                    return Ok(0);
                }
                if room == 0 && q.readers > 0 {
                    return self.pipe_wait(nonblock || fout.borrow().nonblock());
                }
                let given = self.read_loff(h, abi, off_in)?;
                let off = given.unwrap_or(fin.borrow().off);
                let n = len.min(room.max(1)).min(MAX_RW) as usize;
                let snap = fin.borrow().snapshot.clone();
                let data = match &snap {
                    Some(s) => s[(off as usize).min(s.len())..(off as usize + n).min(s.len())].to_vec(),
                    None => self.job.vfs.read_range(ino, off, n),
                };
                if data.is_empty() {
                    return Ok(0);
                }
                let w = self.pipe_push(oid, &data, true)?;
                match given {
                    Some(_) => self.write_user(h, abi, off_in, &(off + w).to_le_bytes())?,
                    None => fin.borrow_mut().off = off + w,
                }
                Ok(w)
            }
        }
    }

    /// tee: copy up to `len` bytes from one pipe to another, the first
    /// keeping them.
    pub(crate) fn sys_tee(&mut self, fd_in: u64, fd_out: u64, len: u64, flags: u32) -> SysResult {
        if flags & !SPLICE_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        let (fin, fout) = (self.io_file(fd_in)?, self.io_file(fd_out)?);
        if !fin.borrow().readable() || !fout.borrow().writable() {
            return Err(Errno::EBADF);
        }
        let (Some((a, _)), Some((b, _))) = (self.pipe_end(fd_in)?, self.pipe_end(fd_out)?) else { return Err(Errno::EINVAL) };
        if a == b {
            return Err(Errno::EINVAL);
        }
        let nonblock = flags & SPLICE_F_NONBLOCK != 0;
        let Some(p) = self.job.pipes.get(&a) else { return Ok(0) };
        if len == 0 {
            return Ok(0);
        }
        if p.buf.is_empty() {
            return if p.writers == 0 { Ok(0) } else { self.pipe_wait(nonblock || fin.borrow().nonblock()) };
        }
        let data: Vec<u8> = p.buf.iter().take(len.min(MAX_RW) as usize).copied().collect();
        let full = self.job.pipes.get(&b).is_some_and(|q| q.readers > 0 && q.buf.len() as u64 >= q.capacity);
        if full {
            return self.pipe_wait(nonblock || fout.borrow().nonblock());
        }
        self.pipe_push(b, &data, true)
    }

    /// vmsplice: the caller's memory into a pipe (its write end) or a
    /// pipe's bytes into it (its read end); other descriptors EBADF.
    pub(crate) fn sys_vmsplice(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, iov: u64, count: u64, flags: u32) -> SysResult {
        if flags & !SPLICE_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        let Some((id, write)) = self.pipe_end(fd)? else { return Err(Errno::EBADF) };
        let mut iov = self.iov_list(h, abi, iov, count)?;
        if write {
            // As Linux's splice_to_pipe: what fits now, waiting only while
            // nothing does (a pipe write would wait for all of it).
            let Some(q) = self.job.pipes.get(&id) else { return Err(Errno::EPIPE) };
            let mut room = q.capacity.saturating_sub(q.buf.len() as u64);
            if room == 0 && q.readers > 0 {
                return self.pipe_wait(flags & SPLICE_F_NONBLOCK != 0 || self.io_file(fd)?.borrow().nonblock());
            }
            room = room.max(1);
            for v in iov.iter_mut() {
                v.1 = v.1.min(room);
                room -= v.1;
            }
            iov.retain(|v| v.1 > 0);
        }
        let f = self.io_file(fd)?;
        let had = f.borrow().flags & O_NONBLOCK;
        if flags & SPLICE_F_NONBLOCK != 0 {
            f.borrow_mut().flags |= O_NONBLOCK;
        }
        let r = if write { self.write_file(h, abi, fd, iov, None) } else { self.read_file(h, abi, fd, iov, None) };
        let now = f.borrow().flags;
        f.borrow_mut().flags = now & !O_NONBLOCK | had;
        r
    }
}
