//! What a job may not do to the node it runs on: set the node's clock,
//! load kernel modules, kexec, raw port I/O. Each is gated on Linux by a
//! capability that no job's process holds (they are out of every job's
//! bounding set, `Caps::NODE_ONLY`, as a container's are), so these calls
//! check their arguments in Linux's order and then answer EPERM, as Linux
//! answers a process without the capability. adjtimex and clock_adjtime
//! still read the clock's state. What a job may do to itself is here too:
//! reboot (the job, as a child PID namespace's init is) and vhangup (a
//! job's processes have no controlling terminal to hang up) and acct (the
//! job's process accounting, `process/acct.rs`).

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::layout::{Abi, TimeBits, Timespec};
use crate::process::{Caps, Outcome, Process};

/// EPERM for a call that needs node-only capability `cap`.
fn refused(p: &Process, cap: u32) -> Errno {
    debug_assert!(Caps::NODE_ONLY & (1 << cap) != 0 && !p.capable(cap));
    Errno::EPERM
}

use crate::linux::{CAP_SYS_BOOT, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_TIME, CAP_SYS_TTY_CONFIG};
use sion_abi::console::Exit;

const CLOCK_REALTIME: i32 = 0;
const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

/// settimeofday(tv, tz): a timeval out of range or a time zone past 15
/// hours is EINVAL first, as Linux checks.
pub fn settimeofday(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        if a.ptr(0) != 0 {
            let b = p.read_user(h, a.abi, a.ptr(0), a.time_bits().size())?;
            let tv = Timespec::decode(a.time_bits(), &b);
            if tv.sec < 0 || !(0..1_000_000).contains(&tv.nsec) {
                return Err(Errno::EINVAL);
            }
        }
        if a.ptr(1) != 0 {
            let b = p.read_user(h, a.abi, a.ptr(1), 8)?;
            let west = i32::from_le_bytes(b[..4].try_into().unwrap());
            if !(-15 * 60..=15 * 60).contains(&west) {
                return Err(Errno::EINVAL);
            }
        }
        Err(refused(p, CAP_SYS_TIME))
    })
}

/// i386 stime(&t).
pub fn stime(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        p.read_user(h, a.abi, a.ptr(0), 4)?;
        Err(refused(p, CAP_SYS_TIME))
    })
}

fn clock_settime_as(cx: &mut Ctx, a: Args, bits: TimeBits) -> Outcome {
    cx.process(|p, h| {
        let b = p.read_user(h, a.abi, a.ptr(1), bits.size())?;
        let clock = a.i32(0);
        match clock {
            CLOCK_REALTIME => {
                let ts = Timespec::decode(bits, &b);
                if ts.sec < 0 || !(0..1_000_000_000).contains(&ts.nsec) {
                    return Err(Errno::EINVAL);
                }
                Err(refused(p, CAP_SYS_TIME))
            }
            // The caller's CPU-time clocks have no set operation (EINVAL);
            // another's, named by a negative id, is never set (EPERM), as
            // Linux's posix_cpu_clock_set.
            CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => Err(Errno::EINVAL),
            c if c < 0 => Err(Errno::EPERM),
            c => crate::process::clock_res(c).and(Err(Errno::EINVAL)),
        }
    })
}

pub fn clock_settime(cx: &mut Ctx, a: Args) -> Outcome {
    clock_settime_as(cx, a, a.time_bits())
}

pub fn clock_settime64(cx: &mut Ctx, a: Args) -> Outcome {
    clock_settime_as(cx, a, TimeBits::B64)
}

/// adjtimex's `modes` bits that only read.
const ADJ_OFFSET_SINGLESHOT: u32 = 0x0001;
const ADJ_OFFSET_READONLY: u32 = 0x2000;
const ADJ_ADJTIME: u32 = 0x8000;
/// adjtimex's answer for a clock no NTP daemon disciplines (STA_UNSYNC).
const TIME_ERROR: u64 = 5;
const STA_UNSYNC: i32 = 0x0040;

/// `struct timex` of `bits` (the ABI's longs, or the 64-bit
/// `__kernel_timex` of clock_adjtime64): the clock's state as Linux gives
/// it for an undisciplined clock, at time `now_ns`.
fn timex_state(long64: bool, modes: u32, now_ns: u64) -> alloc::vec::Vec<u8> {
    let w = if long64 { 8 } else { 4 };
    let mut b = alloc::vec![0u8; if long64 { 208 } else { 128 }];
    let put = |b: &mut [u8], at: usize, v: i64| b[at..at + w].copy_from_slice(&v.to_le_bytes()[..w]);
    b[..4].copy_from_slice(&modes.to_le_bytes());
    // offset, freq, maxerror, esterror, status, constant, precision, tolerance
    let fields = [0, 0, 16_000_000, 16_000_000, STA_UNSYNC as i64, 2, 1, 32_768_000];
    for (i, v) in fields.into_iter().enumerate() {
        put(&mut b, w * (i + 1), v);
    }
    let t = Timespec::from_ns(now_ns);
    put(&mut b, w * 9, t.sec);
    put(&mut b, w * 10, t.nsec / 1000);
    // tick: microseconds per USER_HZ tick.
    put(&mut b, w * 11, 10_000);
    b
}

/// adjtimex / clock_adjtime(CLOCK_REALTIME): read the state (modes 0, or
/// ADJTIME with OFFSET_READONLY); any change needs CAP_SYS_TIME: EPERM.
fn adjtime(p: &mut Process, h: &mut dyn crate::host::Host, abi: Abi, at: u64, long64: bool) -> crate::errno::SysResult {
    let b = p.read_user(h, abi, at, 4)?;
    let modes = u32::from_le_bytes(b[..4].try_into().unwrap());
    if modes & ADJ_ADJTIME != 0 {
        if modes & ADJ_OFFSET_SINGLESHOT == 0 {
            return Err(Errno::EINVAL);
        }
        if modes & ADJ_OFFSET_READONLY == 0 {
            return Err(refused(p, CAP_SYS_TIME));
        }
    } else if modes != 0 {
        return Err(refused(p, CAP_SYS_TIME));
    }
    let now = h.realtime_ns();
    p.write_user(h, abi, at, &timex_state(long64, modes, now))?;
    Ok(TIME_ERROR)
}

pub fn adjtimex(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| adjtime(p, h, a.abi, a.ptr(0), a.abi == Abi::X86_64))
}

fn clock_adjtime_as(cx: &mut Ctx, a: Args, long64: bool) -> Outcome {
    cx.process(|p, h| match a.i32(0) {
        CLOCK_REALTIME => adjtime(p, h, a.abi, a.ptr(1), long64),
        c => crate::process::clock_res(c).and(Err(Errno::EOPNOTSUPP)),
    })
}

pub fn clock_adjtime(cx: &mut Ctx, a: Args) -> Outcome {
    clock_adjtime_as(cx, a, a.abi == Abi::X86_64)
}

pub fn clock_adjtime64(cx: &mut Ctx, a: Args) -> Outcome {
    clock_adjtime_as(cx, a, true)
}

/// reboot(magic1, magic2, cmd, arg)'s magic numbers (LINUX_REBOOT_MAGIC*).
const REBOOT_MAGIC1: u32 = 0xfee1_dead;
const REBOOT_MAGIC2: [u32; 4] = [672_274_793, 85_072_278, 369_367_448, 537_993_216];
const CMD_RESTART: u32 = 0x0123_4567;
const CMD_RESTART2: u32 = 0xa1b2_c3d4;
const CMD_HALT: u32 = 0xcdef_0123;
const CMD_POWER_OFF: u32 = 0x4321_fedc;

/// reboot: as Linux in a child PID namespace, which a job is to its node.
/// CAP_SYS_BOOT first, then the magic numbers (EINVAL); restart ends the
/// job as killed by SIGHUP, halt and power-off as killed by SIGINT (the
/// caller exits, its first process is killed); any other command is EINVAL
/// (Ctrl-Alt-Del and kexec belong to the node).
pub fn reboot(cx: &mut Ctx, a: Args) -> Outcome {
    let mut ends_by = None;
    let checked = cx.process(|p, _| {
        if !p.capable(CAP_SYS_BOOT) {
            return Err(Errno::EPERM);
        }
        if a.u32(0) != REBOOT_MAGIC1 || !REBOOT_MAGIC2.contains(&a.u32(1)) {
            return Err(Errno::EINVAL);
        }
        ends_by = Some(match a.u32(2) {
            CMD_RESTART | CMD_RESTART2 => crate::signal::SIGHUP,
            CMD_HALT | CMD_POWER_OFF => crate::signal::SIGINT,
            _ => return Err(Errno::EINVAL),
        });
        Ok(0)
    });
    let Some(sig) = ends_by else { return checked };
    cx.h.log(&alloc::format!("reboot by process {}: the job ends as killed by signal {sig}", cx.pid));
    cx.procs.reboot(cx.h, sig);
    cx.process_outcome(|p, h| {
        p.at_exit(h);
        Outcome::Exit(Exit::Code(0))
    })
}

/// kexec_load: Linux asks for CAP_SYS_BOOT in the node's own namespace,
/// which a job's never is (its CAP_SYS_BOOT reboots only itself).
pub fn kexec_load(_cx: &mut Ctx, _a: Args) -> Outcome {
    Errno::EPERM.into()
}

pub fn init_module(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| Err(refused(p, CAP_SYS_MODULE)))
}

pub fn delete_module(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| Err(refused(p, CAP_SYS_MODULE)))
}

/// iopl(level): above 3 EINVAL; raising it needs CAP_SYS_RAWIO (level 0,
/// where every process is, is kept).
pub fn iopl(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| match a.u32(0) {
        l if l > 3 => Err(Errno::EINVAL),
        0 => Ok(0),
        _ => Err(refused(p, CAP_SYS_RAWIO)),
    })
}

/// ioperm(from, num, turn_on): a range past the 65,536 ports is EINVAL;
/// turning ports off (none is on) succeeds; on needs CAP_SYS_RAWIO.
pub fn ioperm(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _| {
        let (from, num) = (a.u64(0), a.u64(1));
        match from.checked_add(num) {
            Some(end) if end > from && end <= 65536 => {}
            _ => return Err(Errno::EINVAL),
        }
        if a.u32(2) == 0 {
            Ok(0)
        } else {
            Err(refused(p, CAP_SYS_RAWIO))
        }
    })
}

/// acct(path): the job's process accounting (`process/acct.rs`).
pub fn acct(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_acct(h, a.abi, a.ptr(0)))
}

/// vhangup: with CAP_SYS_TTY_CONFIG, hang up the caller's controlling
/// terminal; a job's processes have none (open("/dev/tty") is ENXIO), so
/// there is nothing to hang up, as for a Linux process without one.
pub fn vhangup(cx: &mut Ctx, _a: Args) -> Outcome {
    cx.process(|p, _| if p.capable(CAP_SYS_TTY_CONFIG) { Ok(0) } else { Err(Errno::EPERM) })
}
