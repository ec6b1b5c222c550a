//! process_vm_readv and process_vm_writev: bytes copied between the
//! caller's memory and another process's of the job, through the server
//! (each side's pages faulted in as a call of its own would).

use super::Procs;
use crate::errno::Errno;
use crate::host::Host;
use crate::layout::Abi;
use crate::linux::CAP_SYS_PTRACE;
use crate::process::Outcome;
use alloc::vec::Vec;

/// At most this many iovec entries on either side (Linux's UIO_MAXIOV).
const UIO_MAXIOV: u64 = 1024;

impl Procs {
    /// `write`: from the caller's `local` iovecs into `pid`'s `remote`
    /// ones; else the other way. The count moved; EFAULT only when nothing
    /// could be (as Linux: a partial transfer is a short count).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn process_vm(&mut self, h: &mut dyn Host, caller: u32, abi: Abi, pid: i32, local: (u64, u64), remote: (u64, u64), flags: u64, write: bool) -> Outcome {
        if flags != 0 || local.1 > UIO_MAXIOV || remote.1 > UIO_MAXIOV {
            return Errno::EINVAL.into();
        }
        let iovs = self.serve(h, caller, |p, h| -> Result<_, Errno> { Ok((p.iov_list(h, abi, local.0, local.1)?, p.iov_list(h, abi, remote.0, remote.1)?)) });
        let (liov, riov) = match iovs {
            Some(Ok(x)) => x,
            Some(Err(e)) => return e.into(),
            None => return Outcome::Blocked,
        };
        let target = match self.target(caller, pid) {
            Ok(t) => t,
            Err(e) => return e.into(),
        };
        let (Some(me), Some(them)) = (self.proc_ref(caller), self.proc_ref(target)) else { return Errno::ESRCH.into() };
        if me.uid != them.uid && !me.capable(CAP_SYS_PTRACE) {
            return Errno::EPERM.into();
        }
        let total: u64 = liov.iter().map(|x| x.1).sum::<u64>().min(riov.iter().map(|x| x.1).sum());
        let (src, dst, from, to) = if write { (caller, target, liov, riov) } else { (target, caller, riov, liov) };
        // Gather from the source side (stopping at its first hole)...
        let data = self.serve(h, src, |p, h| {
            let mut out = Vec::new();
            for (base, len) in from {
                let want = len.min(total - out.len() as u64) as usize;
                let mut buf = alloc::vec![0u8; want];
                let got = p.read_partial(h, base, &mut buf);
                out.extend_from_slice(&buf[..got]);
                if got < want || out.len() as u64 == total {
                    break;
                }
            }
            out
        });
        let Some(data) = data else { return Outcome::Blocked };
        // ...then scatter into the other.
        let moved = self.serve(h, dst, |p, h| {
            let mut done = 0usize;
            for (base, len) in to {
                if done == data.len() {
                    break;
                }
                let n = (len as usize).min(data.len() - done);
                let w = p.write_partial(h, base, &data[done..done + n]);
                done += w;
                if w < n {
                    break;
                }
            }
            done
        });
        match moved {
            Some(0) if total > 0 => Errno::EFAULT.into(),
            Some(n) => Outcome::Reply(n as u64),
            None => Outcome::Blocked,
        }
    }
}
