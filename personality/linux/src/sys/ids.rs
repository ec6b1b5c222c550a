//! Identity: process and thread ids, user and group ids (the i386 16-bit
//! variants report ids above 65535 as the overflow id 65534).

use super::{reply, Args, Ctx};
use crate::errno::Errno;
use crate::layout::Abi;
use crate::creds::KEEP;
use crate::linux::{id_arg, LINUX_CAPABILITY_VERSION_1, LINUX_CAPABILITY_VERSION_2, LINUX_CAPABILITY_VERSION_3};
use crate::process::Caps;
use crate::process::Outcome;
use alloc::vec::Vec;

const NGROUPS_MAX: u64 = 65536;

pub fn getpid(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| Ok(p.pid as u64))
}

pub fn gettid(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| Ok(p.tid as u64))
}

/// An id as the call reports it: the old i386 calls have 16 bits.
fn id(id: u32, bits16: bool) -> u64 {
    if bits16 && id > 0xffff {
        65534
    } else {
        id as u64
    }
}

/// The old i386 calls (getuid, not getuid32) are the 16-bit ones.
fn old16(a: Args) -> bool {
    a.abi == Abi::I386
}

/// getuid: the real user id (geteuid: the effective one).
pub fn getuid(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| Ok(id(p.ids.ruid, old16(a))))
}

pub fn geteuid(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| Ok(id(p.uid, old16(a))))
}

pub fn getgid(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| Ok(id(p.ids.rgid, old16(a))))
}

pub fn getegid(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| Ok(id(p.gid, old16(a))))
}

/// i386 `getuid32` and friends: full ids.
pub fn getuid32(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| Ok(p.ids.ruid as u64))
}

pub fn getgid32(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| Ok(p.ids.rgid as u64))
}

pub fn geteuid32(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| Ok(p.uid as u64))
}

pub fn getegid32(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| Ok(p.gid as u64))
}

fn getgroups_as(cx: &mut Ctx, a: Args, bits16: bool) -> Outcome {
    cx.process(|p, h| {
        let size = a.i32(0);
        let n = p.files.cred.groups.len() as i32;
        if size < 0 {
            return Err(Errno::EINVAL);
        } else if size == 0 {
            return Ok(n as u64);
        } else if size < n {
            return Err(Errno::EINVAL);
        }
        let mut b = Vec::new();
        for &g in &p.files.cred.groups {
            if bits16 {
                b.extend_from_slice(&(id(g, true) as u16).to_le_bytes());
            } else {
                b.extend_from_slice(&g.to_le_bytes());
            }
        }
        p.write_user(h, a.abi, a.ptr(1), &b).map(|_| n as u64)
    })
}

pub fn getgroups(cx: &mut Ctx, a: Args) -> Outcome {
    getgroups_as(cx, a, old16(a))
}

pub fn getgroups32(cx: &mut Ctx, a: Args) -> Outcome {
    getgroups_as(cx, a, false)
}

fn setgroups_as(cx: &mut Ctx, a: Args, bits16: bool) -> Outcome {
    let size = a.i32(0);
    if size < 0 || size as u64 > NGROUPS_MAX {
        return Errno::EINVAL.into();
    }
    cx.process(|p, h| {
        if !p.capable(crate::linux::CAP_SETGID) {
            return Err(Errno::EPERM);
        }
        let w = if bits16 { 2 } else { 4 };
        let b = p.read_user(h, a.abi, a.ptr(1), size as usize * w)?;
        let mut g: Vec<u32> =
            b.chunks(w).map(|c| if bits16 { u16::from_le_bytes([c[0], c[1]]) as u32 } else { u32::from_le_bytes([c[0], c[1], c[2], c[3]]) }).collect();
        g.sort_unstable();
        g.dedup();
        p.files.cred.groups = g;
        Ok(0)
    })
}

pub fn setgroups(cx: &mut Ctx, a: Args) -> Outcome {
    setgroups_as(cx, a, old16(a))
}

pub fn setgroups32(cx: &mut Ctx, a: Args) -> Outcome {
    setgroups_as(cx, a, false)
}

/// getresuid/getresgid: the real, effective and saved ids.
fn getres(cx: &mut Ctx, a: Args, user: bool, bits16: bool) -> Outcome {
    cx.process(|p, h| {
        let q = p.id_quad(user);
        for (at, v) in [(a.ptr(0), q.real), (a.ptr(1), q.effective), (a.ptr(2), q.saved)] {
            if bits16 {
                p.write_user(h, a.abi, at, &(id(v, true) as u16).to_le_bytes())?;
            } else {
                p.write_user(h, a.abi, at, &v.to_le_bytes())?;
            }
        }
        Ok(0)
    })
}

pub fn getresuid(cx: &mut Ctx, a: Args) -> Outcome {
    getres(cx, a, true, old16(a))
}

pub fn getresgid(cx: &mut Ctx, a: Args) -> Outcome {
    getres(cx, a, false, old16(a))
}

pub fn getresuid32(cx: &mut Ctx, a: Args) -> Outcome {
    getres(cx, a, true, false)
}

pub fn getresgid32(cx: &mut Ctx, a: Args) -> Outcome {
    getres(cx, a, false, false)
}

/// setreuid/setresuid (n = 2, 3) and the group twins: the ids given (-1,
/// or 0xffff for the 16-bit calls, leaves one as it is), by the rules of
/// `creds::IdQuad`.
fn set_ids(cx: &mut Ctx, a: Args, user: bool, n: usize, bits16: bool) -> Outcome {
    let [r, e, s] = [0, 1, 2].map(|i| if i < n { id_arg(a.raw[i], bits16) } else { KEEP });
    cx.process(|p, _| p.change_ids(user, false, |q, privileged| if n == 2 { q.set_re(r, e, privileged) } else { q.set_res(r, e, s, privileged) }).map(|_| 0))
}

/// setuid/setgid: one id, which -1 does not leave alone (EINVAL).
fn set_id(cx: &mut Ctx, user: bool, new: u32) -> Outcome {
    cx.process(|p, _| p.change_ids(user, false, |q, privileged| q.set(new, privileged)).map(|_| 0))
}

pub fn setuid(cx: &mut Ctx, a: Args) -> Outcome {
    set_id(cx, true, id_arg(a.raw[0], old16(a)))
}

pub fn setgid(cx: &mut Ctx, a: Args) -> Outcome {
    set_id(cx, false, id_arg(a.raw[0], old16(a)))
}

pub fn setuid32(cx: &mut Ctx, a: Args) -> Outcome {
    set_id(cx, true, a.u32(0))
}

pub fn setgid32(cx: &mut Ctx, a: Args) -> Outcome {
    set_id(cx, false, a.u32(0))
}

pub fn setreuid(cx: &mut Ctx, a: Args) -> Outcome {
    set_ids(cx, a, true, 2, old16(a))
}

pub fn setregid(cx: &mut Ctx, a: Args) -> Outcome {
    set_ids(cx, a, false, 2, old16(a))
}

pub fn setresuid(cx: &mut Ctx, a: Args) -> Outcome {
    set_ids(cx, a, true, 3, old16(a))
}

pub fn setresgid(cx: &mut Ctx, a: Args) -> Outcome {
    set_ids(cx, a, false, 3, old16(a))
}

pub fn setreuid32(cx: &mut Ctx, a: Args) -> Outcome {
    set_ids(cx, a, true, 2, false)
}

pub fn setregid32(cx: &mut Ctx, a: Args) -> Outcome {
    set_ids(cx, a, false, 2, false)
}

pub fn setresuid32(cx: &mut Ctx, a: Args) -> Outcome {
    set_ids(cx, a, true, 3, false)
}

pub fn setresgid32(cx: &mut Ctx, a: Args) -> Outcome {
    set_ids(cx, a, false, 3, false)
}

/// A capget/capset header: (version, pid). An unknown version gets the one
/// this kernel speaks written back and EINVAL (libcap's probe).
fn cap_header(cx: &mut Ctx, a: Args) -> Result<(usize, i32), Outcome> {
    let mut head = None;
    match cx.process(|p, h| {
        let b = p.read_user(h, a.abi, a.ptr(0), 8)?;
        let (version, pid) = (u32::from_le_bytes(b[..4].try_into().unwrap()), i32::from_le_bytes(b[4..].try_into().unwrap()));
        let Some(words) = cap_words(version) else {
            p.write_user(h, a.abi, a.ptr(0), &LINUX_CAPABILITY_VERSION_3.to_le_bytes())?;
            return Err(Errno::EINVAL);
        };
        head = Some((words, pid));
        Ok(0)
    }) {
        Outcome::Reply(0) => head.ok_or(Outcome::Blocked),
        o => Err(o),
    }
}

/// capget(header, data): the capability sets of the caller or of another
/// process of the job; no data: only the header's check (the probe).
pub fn capget(cx: &mut Ctx, a: Args) -> Outcome {
    let (words, pid) = match cap_header(cx, a) {
        Ok(x) => x,
        Err(o) => return o,
    };
    if pid < 0 {
        return Errno::EINVAL.into();
    }
    let caps = match cx.procs.target(cx.pid, pid).map(|t| cx.procs.caps_of(t)) {
        Ok(Some(c)) => c,
        Ok(None) => return Errno::ESRCH.into(),
        Err(e) => return e.into(),
    };
    if a.ptr(1) == 0 {
        return Outcome::Reply(0);
    }
    cx.process(|p, h| {
        let mut b = Vec::new();
        for w in 0..words {
            for set in [caps.effective, caps.permitted, caps.inheritable] {
                b.extend_from_slice(&((set >> (32 * w)) as u32).to_le_bytes());
            }
        }
        p.write_user(h, a.abi, a.ptr(1), &b).map(|_| 0)
    })
}

/// capset(header, data): the caller's own sets only (another pid: EPERM).
pub fn capset(cx: &mut Ctx, a: Args) -> Outcome {
    let (words, pid) = match cap_header(cx, a) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let mut sets = [0u64; 3];
    let read = cx.process(|p, h| {
        if pid != 0 && pid as u32 != p.pid && pid as u32 != p.tid {
            return Err(Errno::EPERM);
        }
        let b = p.read_user(h, a.abi, a.ptr(1), 12 * words)?;
        let word = |i: usize| u32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap()) as u64;
        for w in 0..words {
            for (k, s) in sets.iter_mut().enumerate() {
                *s |= word(3 * w + k) << (32 * w);
            }
        }
        Ok(0)
    });
    if read != Outcome::Reply(0) {
        return read;
    }
    let new = Caps { effective: sets[0] & Caps::ALL, permitted: sets[1] & Caps::ALL, inheritable: sets[2] & Caps::ALL, ..Caps::default() };
    reply(cx.procs.set_caps(cx.pid, new))
}

/// 32-bit words per set in a header version's data (v1: one; v2, v3: two).
fn cap_words(version: u32) -> Option<usize> {
    match version {
        LINUX_CAPABILITY_VERSION_1 => Some(1),
        LINUX_CAPABILITY_VERSION_2 | LINUX_CAPABILITY_VERSION_3 => Some(2),
        _ => None,
    }
}

/// setfsuid/setfsgid: the ids file access is checked with (the VFS's
/// credentials). Always the old one back; the new one is taken when the
/// caller may (CAP_SETUID/CAP_SETGID, or it is one of its ids), else ignored.
fn set_fs_id(cx: &mut Ctx, a: Args, user: bool, bits16: bool) -> Outcome {
    let new = id_arg(a.u64(0), bits16);
    cx.process(|p, _h| p.change_ids(user, true, |q, privileged| Ok(q.set_fs(new, privileged))).map(|old| id(old.fs, bits16)))
}

pub fn setfsuid(cx: &mut Ctx, a: Args) -> Outcome {
    set_fs_id(cx, a, true, old16(a))
}

pub fn setfsgid(cx: &mut Ctx, a: Args) -> Outcome {
    set_fs_id(cx, a, false, old16(a))
}

/// i386's 32-bit setfsuid32/setfsgid32.
pub fn setfsuid32(cx: &mut Ctx, a: Args) -> Outcome {
    set_fs_id(cx, a, true, false)
}

pub fn setfsgid32(cx: &mut Ctx, a: Args) -> Outcome {
    set_fs_id(cx, a, false, false)
}
