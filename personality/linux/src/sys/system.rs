//! The system as a program sees it: its name and figures, randomness, and
//! prctl's process attributes.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::layout::{push_word, Abi, Utsname};
use crate::process::secbit;
use crate::linux::{CAP_SYS_ADMIN, PER_LINUX32, CAP_LAST_CAP, CAP_SETPCAP, PR_CAPBSET_DROP, PR_CAPBSET_READ, PR_GET_DUMPABLE, PR_GET_KEEPCAPS, PR_GET_NAME, PR_SET_KEEPCAPS, PR_SET_DUMPABLE, PR_GET_SECUREBITS, PR_SET_SECUREBITS, PR_GET_NO_NEW_PRIVS, PR_SET_NO_NEW_PRIVS, PR_GET_THP_DISABLE, PR_SET_THP_DISABLE, PR_GET_TIMERSLACK, PR_SET_TIMERSLACK, PR_GET_CHILD_SUBREAPER, PR_SET_CHILD_SUBREAPER, PR_GET_TSC, PR_SET_TSC, PR_TSC_ENABLE, PR_GET_TIMING, PR_SET_TIMING, PR_TIMING_STATISTICAL, PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_RAISE, PR_CAP_AMBIENT_LOWER, PR_CAP_AMBIENT_CLEAR_ALL, PR_GET_PDEATHSIG, PR_SET_NAME, PR_SET_PDEATHSIG};
use crate::process::Outcome;
use alloc::vec::Vec;

pub fn uname(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let u = Utsname {
            sysname: "Linux",
            nodename: core::str::from_utf8(p.hostname()).unwrap_or("sion"),
            release: crate::linux::UTS_RELEASE,
            version: crate::linux::UTS_VERSION,
            // What a 64-bit Linux kernel tells 32-bit programs too, unless
            // their persona is PER_LINUX32 (linux32, setarch i686).
            machine: if p.persona & 0xff == PER_LINUX32 { "i686" } else { "x86_64" },
            domainname: core::str::from_utf8(p.domainname()).unwrap_or("(none)"),
        };
        let bytes = u.encode();
        p.write_user(h, a.abi, a.ptr(0), &bytes).map(|_| 0)
    })
}

pub fn getrandom(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_getrandom(h, a.abi, a.ptr(0), a.u64(1), a.u32(2)))
}

pub fn sysinfo(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let abi = a.abi;
        let n = h.node_info();
        let mut b = Vec::new();
        // The uptime is CLOCK_BOOTTIME's (offset in a time namespace) in
        // seconds, rounded up as Linux's do_sysinfo.
        push_word(abi, &mut b, crate::ns::to_ns_view(n.uptime_ns, p.clock_offset(7)).div_ceil(1_000_000_000));
        for _ in 0..3 {
            push_word(abi, &mut b, 0); // loads
        }
        let unit = if abi == Abi::I386 && n.total_bytes > u32::MAX as u64 { 4096 } else { 1 };
        push_word(abi, &mut b, n.total_bytes / unit);
        push_word(abi, &mut b, n.free_bytes / unit);
        push_word(abi, &mut b, p.job.vfs.used() / unit); // shared (tmpfs)
        push_word(abi, &mut b, 0); // buffers
        push_word(abi, &mut b, 0); // total swap
        push_word(abi, &mut b, 0); // free swap
        b.extend_from_slice(&(n.tasks.max(1) as u16).to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        if abi == Abi::X86_64 {
            b.extend_from_slice(&[0, 0, 0, 0]);
        }
        push_word(abi, &mut b, 0); // total high
        push_word(abi, &mut b, 0); // free high
        b.extend_from_slice(&(unit as u32).to_le_bytes());
        b.resize(if abi == Abi::X86_64 { 112 } else { 64 }, 0);
        p.write_user(h, abi, a.ptr(0), &b).map(|_| 0)
    })
}

pub fn sethostname(cx: &mut Ctx, a: Args) -> Outcome {
    let len = a.i32(1);
    if !(0..=64).contains(&len) {
        return Errno::EINVAL.into();
    }
    cx.process(|p, h| {
        if p.uid != 0 {
            return Err(Errno::EPERM);
        }
        let name = p.read_user(h, a.abi, a.ptr(0), len as usize)?;
        p.set_uts_name(true, name);
        Ok(0)
    })
}

/// setdomainname: as sethostname, with CAP_SYS_ADMIN.
pub fn setdomainname(cx: &mut Ctx, a: Args) -> Outcome {
    let len = a.i32(1);
    if !(0..=64).contains(&len) {
        return Errno::EINVAL.into();
    }
    cx.process(|p, h| {
        if !p.capable(CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        let name = p.read_user(h, a.abi, a.ptr(0), len as usize)?;
        p.set_uts_name(false, name);
        Ok(0)
    })
}

/// personality(persona): 0xffffffff asks; any other value is taken, as
/// Linux takes it, and the old one returned. Only PER_LINUX32's uname
/// machine and the flags' record change anything here.
pub fn personality(cx: &mut Ctx, a: Args) -> Outcome {
    let new = a.u32(0);
    cx.process(|p, _h| {
        let old = p.persona;
        if new != 0xffff_ffff {
            p.persona = new;
        }
        Ok(old as u64)
    })
}

pub fn prctl(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| match a.u32(0) {
        PR_SET_NAME => {
            let mut n = p.read_user_str(h, a.abi, a.ptr(1), 16)?;
            n.truncate(15);
            p.name = Some(n);
            Ok(0)
        }
        PR_GET_NAME => {
            let mut n = p.comm().into_bytes();
            n.resize(16, 0);
            p.write_user(h, a.abi, a.ptr(1), &n).map(|_| 0)
        }
        PR_GET_DUMPABLE => Ok(p.prctl.dumpable as u64),
        PR_SET_DUMPABLE => match a.u64(1) {
            v @ (0 | 1) => {
                p.prctl.dumpable = v == 1;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        },
        PR_GET_KEEPCAPS => Ok((p.prctl.securebits & secbit::KEEP_CAPS != 0) as u64),
        PR_SET_KEEPCAPS => match a.u64(1) {
            v if v > 1 => Err(Errno::EINVAL),
            _ if p.prctl.securebits & secbit::KEEP_CAPS_LOCKED != 0 => Err(Errno::EPERM),
            v => {
                p.prctl.securebits = (p.prctl.securebits & !secbit::KEEP_CAPS) | if v == 1 { secbit::KEEP_CAPS } else { 0 };
                Ok(0)
            }
        },
        PR_GET_SECUREBITS => Ok(p.prctl.securebits as u64),
        PR_SET_SECUREBITS => {
            // Linux's rules (security/commoncap.c): a locked flag may not
            // change, a lock not go, no unknown bit, and CAP_SETPCAP.
            let (old, new) = (p.prctl.securebits as u64, a.u64(1));
            let locks = old & secbit::ALL_LOCKS as u64;
            if (locks >> 1) & (old ^ new) != 0 || locks & !new != 0 || new & !(secbit::ALL as u64) != 0 || !p.capable(CAP_SETPCAP) {
                return Err(Errno::EPERM);
            }
            p.prctl.securebits = new as u32;
            Ok(0)
        }
        PR_GET_NO_NEW_PRIVS if a.u64(1) | a.u64(2) | a.u64(3) | a.u64(4) != 0 => Err(Errno::EINVAL),
        PR_GET_NO_NEW_PRIVS => Ok(p.prctl.no_new_privs as u64),
        PR_SET_NO_NEW_PRIVS if a.u64(1) != 1 || a.u64(2) | a.u64(3) | a.u64(4) != 0 => Err(Errno::EINVAL),
        PR_SET_NO_NEW_PRIVS => {
            p.prctl.no_new_privs = true;
            Ok(0)
        }
        PR_GET_THP_DISABLE if a.u64(1) | a.u64(2) | a.u64(3) | a.u64(4) != 0 => Err(Errno::EINVAL),
        PR_GET_THP_DISABLE => Ok(p.prctl.thp_disable as u64),
        PR_SET_THP_DISABLE if a.u64(2) | a.u64(3) | a.u64(4) != 0 => Err(Errno::EINVAL),
        PR_SET_THP_DISABLE => {
            p.prctl.thp_disable = a.u64(1) != 0;
            Ok(0)
        }
        PR_GET_TIMERSLACK => Ok(p.prctl.timer_slack),
        PR_SET_TIMERSLACK => {
            p.prctl.timer_slack = match a.u64(1) {
                0 => p.prctl.default_slack,
                v => v,
            };
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => p.write_user(h, a.abi, a.ptr(1), &(p.prctl.child_subreaper as u32).to_le_bytes()).map(|_| 0),
        PR_SET_CHILD_SUBREAPER => {
            p.prctl.child_subreaper = a.u64(1) != 0;
            Ok(0)
        }
        // The time-stamp counter stays readable: PR_TSC_SIGSEGV would need
        // the kernel to set CR4.TSD for the task, which it does not.
        PR_GET_TSC => p.write_user(h, a.abi, a.ptr(1), &PR_TSC_ENABLE.to_le_bytes()).map(|_| 0),
        PR_SET_TSC => match a.u32(1) {
            PR_TSC_ENABLE => Ok(0),
            _ => Err(Errno::EINVAL),
        },
        PR_GET_TIMING => Ok(PR_TIMING_STATISTICAL as u64),
        PR_SET_TIMING => match a.u32(1) {
            PR_TIMING_STATISTICAL => Ok(0),
            _ => Err(Errno::EINVAL),
        },
        PR_CAP_AMBIENT => {
            let cap = a.u64(2);
            let valid = cap <= CAP_LAST_CAP as u64;
            let bit = if valid { 1u64 << cap } else { 0 };
            match a.u64(1) {
                _ if a.u64(3) | a.u64(4) != 0 => Err(Errno::EINVAL),
                PR_CAP_AMBIENT_CLEAR_ALL if cap != 0 => Err(Errno::EINVAL),
                PR_CAP_AMBIENT_CLEAR_ALL => {
                    p.caps.ambient = 0;
                    Ok(0)
                }
                _ if !valid => Err(Errno::EINVAL),
                PR_CAP_AMBIENT_IS_SET => Ok((p.caps.ambient & bit != 0) as u64),
                PR_CAP_AMBIENT_RAISE => {
                    if p.caps.permitted & p.caps.inheritable & bit == 0 || p.prctl.securebits & secbit::NO_CAP_AMBIENT_RAISE != 0 {
                        return Err(Errno::EPERM);
                    }
                    p.caps.ambient |= bit;
                    Ok(0)
                }
                PR_CAP_AMBIENT_LOWER => {
                    p.caps.ambient &= !bit;
                    Ok(0)
                }
                _ => Err(Errno::EINVAL),
            }
        }
        PR_CAPBSET_READ => match a.u64(1) {
            c if c <= CAP_LAST_CAP as u64 => Ok((p.caps.bounding >> c) & 1),
            _ => Err(Errno::EINVAL),
        },
        PR_CAPBSET_DROP => match a.u64(1) {
            c if c > CAP_LAST_CAP as u64 => Err(Errno::EINVAL),
            _ if !p.capable(CAP_SETPCAP) => Err(Errno::EPERM),
            c => {
                p.caps.bounding &= !(1 << c);
                Ok(0)
            }
        },
        PR_SET_PDEATHSIG => {
            if a.u64(1) > crate::signal::NSIG as u64 {
                return Err(Errno::EINVAL);
            }
            p.pdeathsig = a.u64(1) as u8;
            Ok(0)
        }
        PR_GET_PDEATHSIG => p.write_user(h, a.abi, a.ptr(1), &(p.pdeathsig as u32).to_le_bytes()).map(|_| 0),
        crate::mm_map::PR_SET_MM => p.prctl_set_mm(h, a.abi, a.u32(1), a.u64(2), a.u64(3), a.u64(4)),
        _ => Err(Errno::EINVAL),
    })
}

/// sysfs(option, ...): the file system types of /proc/filesystems, by
/// index (option 1: a name's index; 2: an index's name; 3: how many).
pub fn sysfs(cx: &mut Ctx, a: Args) -> Outcome {
    let types: Vec<&str> = crate::process::files::FILESYSTEMS.lines().filter_map(|l| l.split('\t').nth(1)).collect();
    cx.process(|p, h| match a.u32(0) {
        1 => {
            let name = p.read_user_str(h, a.abi, a.ptr(1), 256)?;
            types.iter().position(|t| t.as_bytes() == &name[..]).map(|i| i as u64).ok_or(Errno::EINVAL)
        }
        2 => {
            let t = types.get(a.u32(1) as usize).ok_or(Errno::EINVAL)?;
            let mut b = t.as_bytes().to_vec();
            b.push(0);
            p.write_user(h, a.abi, a.ptr(2), &b).map(|_| 0)
        }
        3 => Ok(types.len() as u64),
        _ => Err(Errno::EINVAL),
    })
}

const SYSLOG_ACTION_READ: i32 = 2;
const SYSLOG_ACTION_READ_ALL: i32 = 3;
const SYSLOG_ACTION_READ_CLEAR: i32 = 4;
const SYSLOG_ACTION_CLEAR: i32 = 5;
const SYSLOG_ACTION_CONSOLE_OFF: i32 = 6;
const SYSLOG_ACTION_CONSOLE_LEVEL: i32 = 8;
const SYSLOG_ACTION_SIZE_UNREAD: i32 = 9;
const SYSLOG_ACTION_SIZE_BUFFER: i32 = 10;
const CAP_SYSLOG: u32 = 34;

/// syslog (klogctl) on the job's kernel log: the lines the personality
/// logged for the job (unimplemented calls, refused clones...). As with
/// Debian's `dmesg_restrict`, every action needs CAP_SYSLOG (or
/// CAP_SYS_ADMIN), else EPERM. The console actions (off, on, level) are
/// the node's: EPERM, as for a job without CAP_SYSLOG over the node.
pub fn syslog(cx: &mut Ctx, a: Args) -> Outcome {
    let (kind, buf, len) = (a.i32(0), a.ptr(1), a.i32(2));
    cx.process(|p, h| {
        if !p.capable(CAP_SYSLOG) && !p.capable(CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        match kind {
            0 | 1 => Ok(0),
            SYSLOG_ACTION_READ | SYSLOG_ACTION_READ_ALL | SYSLOG_ACTION_READ_CLEAR => {
                if buf == 0 || len < 0 {
                    return Err(Errno::EINVAL);
                }
                if len == 0 {
                    return Ok(0);
                }
                let log = &p.job.klog;
                let from = if kind == SYSLOG_ACTION_READ {
                    if p.job.klog_read >= log.len() {
                        // Linux waits for new messages.
                        return p.block_retry();
                    }
                    p.job.klog_read
                } else {
                    // READ_ALL: the last `len` bytes, whole lines.
                    let mut from = log.len().saturating_sub(len as usize);
                    if from > 0 {
                        from = log[from..].iter().position(|&c| c == b'\n').map_or(log.len(), |i| from + i + 1);
                    }
                    from
                };
                let end = if kind == SYSLOG_ACTION_READ { log.len().min(from + len as usize) } else { log.len() };
                let out = log[from..end].to_vec();
                p.write_user(h, a.abi, buf, &out)?;
                if kind == SYSLOG_ACTION_READ {
                    p.job.klog_read = end;
                }
                if kind == SYSLOG_ACTION_READ_CLEAR {
                    p.job.klog.clear();
                    p.job.klog_read = 0;
                }
                Ok(out.len() as u64)
            }
            SYSLOG_ACTION_CLEAR => {
                p.job.klog.clear();
                p.job.klog_read = 0;
                Ok(0)
            }
            SYSLOG_ACTION_CONSOLE_OFF..=SYSLOG_ACTION_CONSOLE_LEVEL => {
                if kind == SYSLOG_ACTION_CONSOLE_LEVEL && !(1..=8).contains(&len) {
                    return Err(Errno::EINVAL);
                }
                Err(Errno::EPERM)
            }
            SYSLOG_ACTION_SIZE_UNREAD => Ok((p.job.klog.len() - p.job.klog_read.min(p.job.klog.len())) as u64),
            SYSLOG_ACTION_SIZE_BUFFER => Ok(crate::process::KLOG_LEN as u64),
            _ => Err(Errno::EINVAL),
        }
    })
}
