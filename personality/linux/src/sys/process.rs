//! Processes and threads: fork, clone, exec, wait, exit, process groups and
//! sessions, priorities, and what a thread registers with the kernel (its
//! TLS, its tid address, its robust-futex list). The work is in the process
//! table (`procs.rs`, `procs/*.rs`) and in `Process`.

use super::{reply, Args, Ctx};
use crate::errno::Errno;
use crate::layout::Abi;
use crate::linux::AT_FDCWD;
use crate::linux::{CLONE_VFORK, CLONE_VM};
use crate::process::Outcome;
use crate::signal;
use sion_abi::console::Exit;

pub fn fork(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.fork(cx.h, cx.pid, a.abi, signal::SIGCHLD as u64, 0, 0, 0, 0)
}

pub fn vfork(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.fork(cx.h, cx.pid, a.abi, CLONE_VFORK | CLONE_VM | signal::SIGCHLD as u64, 0, 0, 0, 0)
}

/// x86_64: flags, stack, parent_tid, child_tid, tls; i386: flags, stack, parent_tid, tls, child_tid.
pub fn clone(cx: &mut Ctx, a: Args) -> Outcome {
    let (ctid, tls) = if a.abi == Abi::X86_64 { (a.ptr(3), a.u64(4)) } else { (a.ptr(4), a.u64(3)) };
    cx.procs.fork(cx.h, cx.pid, a.abi, a.u64(0), a.ptr(1), a.ptr(2), ctid, tls)
}

pub fn clone3(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.clone3(cx.h, cx.pid, a.abi, a.ptr(0), a.u64(1))
}

pub fn execve(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.execve(cx.h, cx.pid, a.abi, AT_FDCWD, a.ptr(0), a.ptr(1), a.ptr(2), 0)
}

pub fn execveat(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.execve(cx.h, cx.pid, a.abi, a.i32(0), a.ptr(1), a.ptr(2), a.ptr(3), a.u32(4))
}

pub fn wait4(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.wait4(cx.h, cx.pid, a.abi, a.i32(0), a.ptr(1), a.u64(2), a.ptr(3), cx.call)
}

/// i386 `waitpid(pid, status, options)`.
pub fn waitpid(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.wait4(cx.h, cx.pid, a.abi, a.i32(0), a.ptr(1), a.u64(2), 0, cx.call)
}

pub fn waitid(cx: &mut Ctx, a: Args) -> Outcome {
    let (mut idtype, mut id, options) = (a.u32(0), a.i32(1), a.u64(3));
    // P_PIDFD: the process a pidfd names (its O_NONBLOCK as WNOHANG).
    if idtype == P_PIDFD {
        match cx.procs.serve(cx.h, cx.pid, |p, _| p.pidfd_target(id as u32 as u64)) {
            Some(Ok((pid, flags))) => {
                (idtype, id) = (P_PID, pid as i32);
                let stop_or_continue = options & (crate::linux::WUNTRACED | crate::linux::WCONTINUED) != 0;
                if flags & crate::linux::O_NONBLOCK != 0 && !stop_or_continue && cx.procs.pidfd_would_wait(pid) {
                    return Errno::EAGAIN.into();
                }
            }
            Some(Err(e)) => return e.into(),
            None => return Outcome::Blocked,
        }
    }
    cx.procs.waitid(cx.h, cx.pid, a.abi, idtype, id, a.ptr(2), options, cx.call)
}

/// waitid's id types.
const P_PID: u32 = 1;
const P_PIDFD: u32 = 3;

pub fn pidfd_open(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.pidfd_open(cx.h, cx.pid, a.i32(0), a.u32(1))
}

pub fn pidfd_send_signal(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.pidfd_send_signal(cx.h, cx.pid, a.abi, a.u64(0), a.u64(1), a.ptr(2), a.u32(3))
}

pub fn pidfd_getfd(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.pidfd_getfd(cx.h, cx.pid, a.u64(0), a.i32(1), a.u32(2))
}

/// Ends the calling thread; the process ends with its last one.
pub fn exit(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.thread_exit(cx.h, cx.pid, a.u64(0) as u8)
}

pub fn exit_group(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process_outcome(|p, h| {
        p.at_exit(h);
        Outcome::Exit(Exit::Code(a.u64(0) as u8))
    })
}

pub fn getppid(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.procs.family(cx.pid).map_or(Outcome::Blocked, |f| Outcome::Reply(f.0 as u64))
}

pub fn getpgrp(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.procs.family(cx.pid).map_or(Outcome::Blocked, |f| Outcome::Reply(f.1 as u64))
}

/// The process group (`pgid`) or session of `pid` (0: the caller).
fn group_of(cx: &mut Ctx, a: Args, session: bool) -> Outcome {
    if a.i32(0) < 0 {
        return Errno::ESRCH.into();
    }
    let target = if a.i32(0) == 0 { cx.pid } else { a.u32(0) };
    match cx.procs.family(target) {
        Some((_, pgid, sid)) => Outcome::Reply(if session { sid } else { pgid } as u64),
        None => Errno::ESRCH.into(),
    }
}

pub fn getpgid(cx: &mut Ctx, a: Args) -> Outcome {
    group_of(cx, a, false)
}

pub fn getsid(cx: &mut Ctx, a: Args) -> Outcome {
    group_of(cx, a, true)
}

pub fn setpgid(cx: &mut Ctx, a: Args) -> Outcome {
    reply(cx.procs.setpgid(cx.pid, a.i32(0), a.i32(1)))
}

pub fn setsid(cx: &mut Ctx, _a: Args) -> Outcome {
    reply(cx.procs.setsid(cx.pid))
}

pub fn getpriority(cx: &mut Ctx, a: Args) -> Outcome {
    reply(cx.procs.getpriority(cx.pid, a.i32(0), a.i32(1)))
}

pub fn setpriority(cx: &mut Ctx, a: Args) -> Outcome {
    reply(cx.procs.setpriority(cx.pid, a.i32(0), a.i32(1), a.i32(2)))
}

/// i386 `nice(inc)`.
pub fn nice(cx: &mut Ctx, a: Args) -> Outcome {
    reply(cx.procs.nice(cx.pid, a.i32(0)))
}

pub fn set_tid_address(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| {
        p.clear_child_tid = a.ptr(0);
        Ok(p.tid as u64)
    })
}

pub fn set_robust_list(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| {
        if a.u64(1) != 3 * a.abi.word() as u64 {
            return Err(Errno::EINVAL);
        }
        p.robust_list = (a.ptr(0), a.u64(1));
        Ok(0)
    })
}

pub fn get_robust_list(cx: &mut Ctx, a: Args) -> Outcome {
    reply(cx.procs.get_robust_list(cx.h, cx.pid, a.abi, a.i32(0), a.ptr(1), a.ptr(2)))
}

pub fn arch_prctl(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process_outcome(|p, h| p.sys_arch_prctl(h, a.abi, a.u32(0), a.u64(1)))
}

/// i386 `set_thread_area(u_info)`: a TLS descriptor.
pub fn set_thread_area(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_set_thread_area(h, a.abi, a.ptr(0)))
}

/// No restartable sequences: the libcs carry on without them.
pub fn kcmp(cx: &mut Ctx, a: Args) -> Outcome {
    reply(cx.procs.kcmp(cx.pid, a.i32(0), a.i32(1), a.i32(2), a.u64(3), a.u64(4)))
}

pub fn process_vm_readv(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.process_vm(cx.h, cx.pid, a.abi, a.i32(0), (a.ptr(1), a.u64(2)), (a.ptr(3), a.u64(4)), a.u64(5), false)
}

pub fn process_vm_writev(cx: &mut Ctx, a: Args) -> Outcome {
    cx.procs.process_vm(cx.h, cx.pid, a.abi, a.i32(0), (a.ptr(1), a.u64(2)), (a.ptr(3), a.u64(4)), a.u64(5), true)
}

/// unshare(flags): no namespaces here (CONFIG_NAMESPACES is not set: their
/// flags are EINVAL for root, EPERM for others, and so is CLONE_NEWNS: the
/// job's mounts are one table); the rest a process has alone already when
/// it has one thread (its threads share them here), EMFILE when a copy of
/// its descriptor table would pass /proc/sys/fs/nr_open.
pub fn unshare(cx: &mut Ctx, a: Args) -> Outcome {
    const CLONE_VM: u64 = 0x100;
    const CLONE_FS: u64 = 0x200;
    const CLONE_FILES: u64 = 0x400;
    const CLONE_SIGHAND: u64 = 0x800;
    const CLONE_THREAD: u64 = 0x1_0000;
    const CLONE_SYSVSEM: u64 = 0x4_0000;
    const NAMESPACES: u64 = 0x80 | 0x2_0000 | 0x200_0000 | 0x400_0000 | 0x800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000;
    let flags = a.u64(0) & 0xffff_ffff;
    if flags & !(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | NAMESPACES) != 0 {
        return Errno::EINVAL.into();
    }
    use crate::ns::{CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEW_ANY, CLONE_NEW_OFFERED};
    // CLONE_NEWNS unshares the fs (cwd, root) too.
    let flags = if flags & CLONE_NEWNS != 0 { flags | CLONE_FS } else { flags };
    cx.process(|p, _| {
        let _ = NAMESPACES;
        if flags & CLONE_NEW_ANY != 0 {
            // Linux's order: a user namespace (not built in: EINVAL), then
            // CAP_SYS_ADMIN, then each type (those SiON cannot separate:
            // EINVAL, as Linux built without them).
            if flags & CLONE_NEWUSER != 0 {
                return Err(Errno::EINVAL);
            }
            if !p.capable(crate::linux::CAP_SYS_ADMIN) {
                return Err(Errno::EPERM);
            }
            if flags & CLONE_NEW_ANY & !CLONE_NEW_OFFERED != 0 {
                return Err(Errno::EINVAL);
            }
        }
        // A copy of the descriptor table past nr_open cannot be made.
        if flags & CLONE_FILES != 0 && p.files.fds.keys().next_back().is_some_and(|&fd| fd as u64 >= p.job.tunables.nr_open) {
            return Err(Errno::EMFILE);
        }
        let alone = p.threads.is_empty();
        // A process's threads share their namespaces here too.
        if flags & (CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_FILES | CLONE_FS | CLONE_NEW_ANY) != 0 && !alone {
            return Err(Errno::EINVAL);
        }
        if flags & CLONE_NEW_ANY != 0 {
            p.unshare_ns(flags);
        }
        Ok(0)
    })
}

/// setns(fd, nstype): a /proc/PID/ns file moves the caller into that
/// namespace (Linux's checks per type); a pidfd, not offered here, and any
/// other descriptor are EINVAL, a closed one EBADF.
pub fn setns(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let f = p.file(a.i32(0) as u32 as u64)?;
        let obj = f.borrow().obj;
        match obj {
            crate::process::files::Obj::Ns { kind, id } => p.setns_file(h, kind, id, a.u64(1) & 0xffff_ffff),
            _ => Err(Errno::EINVAL),
        }
    })
}

/// process_madvise(pidfd, iovec, vlen, advice, flags): the advice other
/// processes may be given (COLD, PAGEOUT, WILLNEED, COLLAPSE) over ranges
/// of the process a pidfd names; like madvise here, nothing to do in memory
/// that never swaps. The bytes advised.
pub fn process_madvise(cx: &mut Ctx, a: Args) -> Outcome {
    const MADV_WILLNEED: u32 = 3;
    const MADV_COLD: u32 = 20;
    const MADV_PAGEOUT: u32 = 21;
    const MADV_COLLAPSE: u32 = 25;
    if a.u32(4) != 0 || a.u64(2) > 1024 {
        return Errno::EINVAL.into();
    }
    let advice = a.u32(3);
    let target = match cx.procs.serve(cx.h, cx.pid, |p, h| -> Result<_, Errno> {
        let (pid, _) = p.pidfd_target(a.u64(0))?;
        Ok((pid, p.iov_list(h, a.abi, a.ptr(1), a.u64(2))?, p.uid, p.capable(crate::linux::CAP_SYS_NICE)))
    }) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return e.into(),
        None => return Outcome::Blocked,
    };
    if !matches!(advice, MADV_WILLNEED | MADV_COLD | MADV_PAGEOUT | MADV_COLLAPSE) {
        return Errno::EINVAL.into();
    }
    let (pid, iov, uid, nice) = target;
    if pid != cx.pid && !nice {
        return Errno::EPERM.into();
    }
    match cx.procs.serve(cx.h, pid, |p, h| -> Result<u64, Errno> {
        if p.uid != uid && !nice {
            return Err(Errno::EPERM);
        }
        let mut total = 0;
        for (base, len) in iov {
            p.sys_madvise(h, a.abi, base, len, advice)?;
            total += len;
        }
        Ok(total)
    }) {
        Some(r) => r.into(),
        None => Errno::ESRCH.into(),
    }
}

/// process_mrelease(pidfd, flags): a process whose memory is already gone
/// (it ended) is done; one still running is not exiting: EINVAL.
pub fn process_mrelease(cx: &mut Ctx, a: Args) -> Outcome {
    if a.u32(1) != 0 {
        return Errno::EINVAL.into();
    }
    let pid = match cx.procs.serve(cx.h, cx.pid, |p, _| p.pidfd_target(a.u64(0))) {
        Some(Ok((pid, _))) => pid,
        Some(Err(e)) => return e.into(),
        None => return Outcome::Blocked,
    };
    if cx.procs.pidfd_would_wait(pid) {
        Errno::EINVAL.into()
    } else {
        Outcome::Reply(0)
    }
}
