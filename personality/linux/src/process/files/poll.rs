//! Readiness of descriptors (each kind's [`FileLike::ready`] and
//! [`FileLike::hangup`]), poll and select, and the waits they become.

use super::*;

/// A blocked poll, select or epoll_wait, looked at again when stdin data
/// arrives and at its deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitCall {
    Poll { abi: Abi, fds: u64, nfds: u64 },
    Select { abi: Abi, nfds: usize, addrs: [u64; 3], sets: [Option<Vec<u8>>; 3] },
    Epoll { abi: Abi, epfd: u64, events: u64, max: i32 },
    /// io_getevents and io_pgetevents waiting for `min_nr` events.
    Aio { abi: Abi, ctx: u64, min_nr: i64, nr: i64, events: u64 },
}

impl Process {
    /// Readiness of a descriptor: (readable, writable), or None if not open.
    pub(in crate::process) fn ready(&self, fd: i32) -> Option<(bool, bool)> {
        let e = self.files.fds.get(&fd)?;
        let f = e.file.borrow();
        Some(f.obj.with(|k| k.ready(self, &f)))
    }

    /// POLLHUP (0x10) and POLLERR (0x08) of a descriptor: poll and epoll
    /// report them whatever was asked.
    pub(in crate::process) fn hangup(&self, fd: i32) -> u16 {
        let Some(e) = self.files.fds.get(&fd) else { return 0 };
        let obj = e.file.borrow().obj;
        obj.with(|k| k.hangup(self))
    }

    pub(crate) fn sys_poll(&mut self, h: &mut dyn Host, abi: Abi, fds: u64, nfds: u64, timeout_ms: i64) -> SysResult {
        if nfds > self.nofile() as u64 {
            return Err(Errno::EINVAL);
        }
        let mut b = self.read_user(h, abi, fds, 8 * nfds as usize)?;
        let mut n = 0;
        for i in 0..nfds as usize {
            let r = &mut b[i * 8..i * 8 + 8];
            let fd = i32::from_le_bytes(r[0..4].try_into().unwrap());
            let events = u16::from_le_bytes([r[4], r[5]]);
            let mut rev: u16 = 0;
            if fd >= 0 {
                match self.ready(fd) {
                    None => rev = 0x20, // POLLNVAL
                    Some((rd, wr)) => {
                        rev |= self.hangup(fd) & (0x18 | (events & POLLRDHUP));
                        if rd {
                            rev |= events & (0x001 | 0x040); // POLLIN | POLLRDNORM
                        }
                        if wr {
                            rev |= events & (0x004 | 0x100); // POLLOUT | POLLWRNORM
                        }
                    }
                }
            }
            r[6..8].copy_from_slice(&rev.to_le_bytes());
            if rev != 0 {
                n += 1;
            }
        }
        if n == 0 && timeout_ms != 0 {
            // Only stdin can become ready later: wait for it or the timeout.
            let deadline = (timeout_ms > 0).then(|| h.now_ns().saturating_add(timeout_ms as u64 * 1_000_000));
            self.pending = Some(Pending::Wait { call: WaitCall::Poll { abi, fds, nfds }, deadline });
            return Err(BLOCK);
        }
        self.write_user(h, abi, fds, &b)?;
        Ok(n)
    }

    #[allow(clippy::too_many_arguments)]
    /// select and pselect6: `ts` is the timespec's layout for pselect6, None for select's timeval.
    pub(crate) fn sys_select(&mut self, h: &mut dyn Host, abi: Abi, nfds: i32, rd: u64, wr: u64, ex: u64, tv: u64, ts: Option<TimeBits>) -> SysResult {
        if nfds < 0 {
            return Err(Errno::EINVAL);
        }
        let nfds = nfds.min(self.nofile()) as usize;
        let bytes = nfds.div_ceil(8 * abi.word()) * abi.word();
        let get = |p: &mut Self, h: &mut dyn Host, a: u64| -> Result<Option<Vec<u8>>, Errno> {
            if a == 0 {
                Ok(None)
            } else {
                p.read_user(h, abi, a, bytes).map(Some)
            }
        };
        let r = get(self, h, rd)?;
        let w = get(self, h, wr)?;
        let x = get(self, h, ex)?;
        let timeout_ns: Option<u64> = if tv == 0 {
            None
        } else if let Some(bits) = ts {
            Some(self.read_timespec(h, abi, tv, bits)?)
        } else {
            let b = self.read_user(h, abi, tv, 2 * abi.word())?;
            let (s, us) = (get_word(abi, &b) as i64, get_word(abi, &b[abi.word()..]) as i64);
            let (s, us) = if abi == Abi::I386 { (s as i32 as i64, us as i32 as i64) } else { (s, us) };
            if s < 0 || !(0..1_000_000).contains(&us) {
                return Err(Errno::EINVAL);
            }
            Some(s as u64 * 1_000_000_000 + us as u64 * 1000)
        };
        let sets = [r, w, x];
        let (n, outs) = self.select_eval(nfds, bytes, &sets)?;
        if n == 0 && timeout_ns != Some(0) {
            let deadline = timeout_ns.map(|t| h.now_ns().saturating_add(t));
            self.pending = Some(Pending::Wait { call: WaitCall::Select { abi, nfds, addrs: [rd, wr, ex], sets }, deadline });
            return Err(BLOCK);
        }
        self.select_write(h, abi, [rd, wr, ex], &outs)?;
        Ok(n)
    }

    /// Which of the requested descriptors are ready: the count and the sets.
    fn select_eval(&self, nfds: usize, bytes: usize, sets: &[Option<Vec<u8>>; 3]) -> Result<(u64, [Vec<u8>; 3]), Errno> {
        let [r, w, x] = sets;
        let mut outs = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
        let mut n = 0;
        for fd in 0..nfds {
            let bit = |s: &Option<Vec<u8>>| s.as_ref().is_some_and(|v| v[fd / 8] & (1 << (fd % 8)) != 0);
            let (br, bw, bx) = (bit(&r), bit(&w), bit(&x));
            if !(br || bw || bx) {
                continue;
            }
            let Some((cr, cw)) = self.ready(fd as i32) else { return Err(Errno::EBADF) };
            // Linux's POLLIN_SET and POLLOUT_SET: a hang-up or an error is
            // readable, an error writable.
            let hup = self.hangup(fd as i32) & 0x18;
            let (cr, cw) = (cr || hup & (0x10 | 0x08) != 0, cw || hup & 0x08 != 0);
            if br && cr {
                outs[0][fd / 8] |= 1 << (fd % 8);
                n += 1;
            }
            if bw && cw {
                outs[1][fd / 8] |= 1 << (fd % 8);
                n += 1;
            }
        }
        Ok((n, outs))
    }

    fn select_write(&mut self, h: &mut dyn Host, abi: Abi, addrs: [u64; 3], outs: &[Vec<u8>; 3]) -> Result<(), Errno> {
        for (a, o) in addrs.iter().zip(outs) {
            if *a != 0 {
                self.write_user(h, abi, *a, o)?;
            }
        }
        Ok(())
    }

    /// Look again at a blocked poll, select or epoll_wait: `None` while
    /// nothing is ready and the deadline has not passed.
    pub(in crate::process) fn retry_wait(&mut self, h: &mut dyn Host, call: &WaitCall, deadline: Option<u64>) -> Option<SysResult> {
        let expired = deadline.is_some_and(|d| h.now_ns() >= d);
        let r = match call {
            WaitCall::Poll { abi, fds, nfds } => {
                // With no timeout the call never blocks; it rewrites revents.
                let saved = self.pending.take();
                let r = self.sys_poll(h, *abi, *fds, *nfds, 0);
                self.pending = saved;
                r
            }
            WaitCall::Select { abi, nfds, addrs, sets } => {
                let bytes = sets.iter().flatten().map(|v| v.len()).next().unwrap_or(0);
                match self.select_eval(*nfds, bytes, sets) {
                    Ok((n, outs)) if n > 0 || expired => self.select_write(h, *abi, *addrs, &outs).map(|_| n),
                    Ok(_) => Ok(0),
                    Err(e) => Err(e),
                }
            }
            WaitCall::Epoll { abi, epfd, events, max } => self.sys_epoll_wait(h, *abi, *epfd, *events, *max, 0),
            WaitCall::Aio { abi, ctx, min_nr, nr, events } => return self.aio_retry(h, *abi, *ctx, *min_nr, *nr, *events, expired),
        };
        match r {
            Ok(0) if !expired => None,
            r => Some(r),
        }
    }
}
