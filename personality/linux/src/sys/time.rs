//! Clocks, sleeping, interval timers, POSIX timers and timerfds (their handlers; the timerfd is
//! a kind of file, so it sits with the timers rather than in `objects.rs`). The `*_time64` calls of i386 take 64-bit timespecs;
//! the others the ABI's own width.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::layout::{get_word, push_word, Abi, TimeBits, Timespec};
use crate::process::{clock_res, Outcome};
use alloc::vec::Vec;

fn clock_gettime_as(cx: &mut Ctx, a: Args, bits: TimeBits) -> Outcome {
    cx.process(|p, h| {
        let ns = p.clock_now(h, a.i32(0))?;
        p.write_user(h, a.abi, a.ptr(1), &Timespec::from_ns(ns).encode(bits)).map(|_| 0)
    })
}

pub fn clock_gettime(cx: &mut Ctx, a: Args) -> Outcome {
    clock_gettime_as(cx, a, a.time_bits())
}

pub fn clock_gettime64(cx: &mut Ctx, a: Args) -> Outcome {
    clock_gettime_as(cx, a, TimeBits::B64)
}

fn clock_getres_as(cx: &mut Ctx, a: Args, bits: TimeBits) -> Outcome {
    cx.process(|p, h| {
        let res = clock_res(a.i32(0))?;
        if a.ptr(1) != 0 {
            p.write_user(h, a.abi, a.ptr(1), &Timespec::from_ns(res).encode(bits))?;
        }
        Ok(0)
    })
}

pub fn clock_getres(cx: &mut Ctx, a: Args) -> Outcome {
    clock_getres_as(cx, a, a.time_bits())
}

pub fn clock_getres_time64(cx: &mut Ctx, a: Args) -> Outcome {
    clock_getres_as(cx, a, TimeBits::B64)
}

pub fn gettimeofday(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let now = h.realtime_ns();
        if a.ptr(0) != 0 {
            let tv = Timespec { sec: (now / 1_000_000_000) as i64, nsec: ((now % 1_000_000_000) / 1000) as i64 };
            p.write_user(h, a.abi, a.ptr(0), &tv.encode(a.time_bits()))?;
        }
        if a.ptr(1) != 0 {
            // The time zone: UTC, no daylight saving.
            p.write_user(h, a.abi, a.ptr(1), &[0u8; 8])?;
        }
        Ok(0)
    })
}

pub fn time(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let t = h.realtime_ns() / 1_000_000_000;
        if a.ptr(0) != 0 {
            let mut b = Vec::new();
            push_word(a.abi, &mut b, t);
            p.write_user(h, a.abi, a.ptr(0), &b)?;
        }
        Ok(t)
    })
}

pub fn nanosleep(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process_outcome(|p, h| match p.read_timespec(h, a.abi, a.ptr(0), a.time_bits()) {
        Ok(ns) => {
            let deadline = h.now_ns().saturating_add(ns);
            p.sleep_until(h, deadline)
        }
        Err(e) => e.into(),
    })
}

fn clock_nanosleep_as(cx: &mut Ctx, a: Args, bits: TimeBits) -> Outcome {
    let clock = a.i32(0);
    match clock {
        // REALTIME, MONOTONIC, BOOTTIME, TAI sleep.
        0 | 1 | 7 | 11 => {}
        // Clocks Linux knows that cannot be slept on here (the CPU-time
        // clocks, MONOTONIC_RAW, the coarse ones, the alarm clocks, whose
        // CAP_WAKE_ALARM is the node's): EOPNOTSUPP, as Linux for a clock
        // without nanosleep.
        2..=10 => return Errno::EOPNOTSUPP.into(),
        _ => return Errno::EINVAL.into(),
    }
    cx.process_outcome(|p, h| match p.read_timespec(h, a.abi, a.ptr(2), bits) {
        Ok(ns) => {
            let now = h.now_ns();
            // TIMER_ABSTIME: a time on the clock (REALTIME and TAI move it to the monotonic one).
            let deadline = if a.u32(1) & 1 != 0 {
                if clock == 0 || clock == 11 {
                    ns.saturating_sub(h.realtime_ns().saturating_sub(now)).saturating_add(crate::vdso::REALTIME_SLACK_NS)
                } else {
                    // In a time namespace, as the node's clock reads it.
                    p.to_node_clock(clock, ns)
                }
            } else {
                now.saturating_add(ns)
            };
            p.sleep_until(h, deadline)
        }
        Err(e) => e.into(),
    })
}

/// Where a relative sleep that a handler interrupted writes the time it had
/// left, and in which layout: nanosleep's `rem`, clock_nanosleep's unless
/// TIMER_ABSTIME (Linux writes none then). None for other calls or a NULL `rem`.
pub fn remaining_time_at(a: &Args, name: &str) -> Option<(u64, TimeBits)> {
    let (addr, bits) = match name {
        "nanosleep" => (a.ptr(1), a.time_bits()),
        "clock_nanosleep" if a.u32(1) & 1 == 0 => (a.ptr(3), a.time_bits()),
        "clock_nanosleep_time64" if a.u32(1) & 1 == 0 => (a.ptr(3), TimeBits::B64),
        _ => return None,
    };
    (addr != 0).then_some((addr, bits))
}

pub fn clock_nanosleep(cx: &mut Ctx, a: Args) -> Outcome {
    clock_nanosleep_as(cx, a, a.time_bits())
}

pub fn clock_nanosleep_time64(cx: &mut Ctx, a: Args) -> Outcome {
    clock_nanosleep_as(cx, a, TimeBits::B64)
}

/// `struct itimerval` (interval, value), each a timeval of words.
fn itimerval(abi: Abi, (interval, left): (u64, u64)) -> Vec<u8> {
    let mut b = Vec::new();
    for ns in [interval, left] {
        push_word(abi, &mut b, ns / 1_000_000_000);
        // Linux rounds a remaining time that is not zero up to 1 µs.
        push_word(abi, &mut b, (ns % 1_000_000_000).div_ceil(1000));
    }
    b
}

pub fn getitimer(cx: &mut Ctx, a: Args) -> Outcome {
    let which = a.u32(0);
    if which > 2 {
        return Errno::EINVAL.into();
    }
    cx.process(|p, h| {
        let v = p.itimer_now(h, which as usize);
        p.write_user(h, a.abi, a.ptr(1), &itimerval(a.abi, v)).map(|_| 0)
    })
}

pub fn setitimer(cx: &mut Ctx, a: Args) -> Outcome {
    let which = a.u32(0) as usize;
    if which > 2 {
        return Errno::EINVAL.into();
    }
    cx.process(|p, h| {
        let (abi, w) = (a.abi, a.abi.word());
        let b = if a.ptr(1) == 0 { alloc::vec![0u8; 4 * w] } else { p.read_user(h, abi, a.ptr(1), 4 * w)? };
        let f = |i: usize| {
            let v = get_word(abi, &b[i * w..]);
            if abi == Abi::I386 {
                v as u32 as i32 as i64
            } else {
                v as i64
            }
        };
        let (isec, iusec, vsec, vusec) = (f(0), f(1), f(2), f(3));
        if isec < 0 || vsec < 0 || !(0..1_000_000).contains(&iusec) || !(0..1_000_000).contains(&vusec) {
            return Err(Errno::EINVAL);
        }
        let old = p.itimer_now(h, which);
        let ns = |s: i64, us: i64| (s as u64).saturating_mul(1_000_000_000).saturating_add(us as u64 * 1000);
        let value = ns(vsec, vusec);
        let now = p.itimer_clock(h, which);
        p.itimers[which].set((value != 0).then(|| now.saturating_add(value)), ns(isec, iusec));
        if a.ptr(2) != 0 {
            p.write_user(h, abi, a.ptr(2), &itimerval(abi, old))?;
        }
        Ok(0)
    })
}

pub fn alarm(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let (_, left) = p.itimer_now(h, 0);
        let now = h.now_ns();
        let secs = a.u32(0) as u64;
        p.itimers[0].set((secs != 0).then(|| now + secs * 1_000_000_000), 0);
        // Seconds left of the previous alarm, rounded up as Linux does.
        Ok(left.div_ceil(1_000_000_000))
    })
}

// POSIX timers (`process/posix_timer.rs`).

pub fn timer_create(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_timer_create(h, a.abi, a.i32(0), a.ptr(1), a.ptr(2)))
}

fn timer_settime_as(cx: &mut Ctx, a: Args, bits: TimeBits) -> Outcome {
    cx.process(|p, h| p.sys_timer_settime(h, a.abi, a.i32(0), a.u32(1), a.ptr(2), a.ptr(3), bits))
}

pub fn timer_settime(cx: &mut Ctx, a: Args) -> Outcome {
    timer_settime_as(cx, a, a.time_bits())
}

pub fn timer_settime64(cx: &mut Ctx, a: Args) -> Outcome {
    timer_settime_as(cx, a, TimeBits::B64)
}

fn timer_gettime_as(cx: &mut Ctx, a: Args, bits: TimeBits) -> Outcome {
    cx.process(|p, h| p.sys_timer_gettime(h, a.abi, a.i32(0), a.ptr(1), bits))
}

pub fn timer_gettime(cx: &mut Ctx, a: Args) -> Outcome {
    timer_gettime_as(cx, a, a.time_bits())
}

pub fn timer_gettime64(cx: &mut Ctx, a: Args) -> Outcome {
    timer_gettime_as(cx, a, TimeBits::B64)
}

pub fn timer_getoverrun(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| p.sys_timer_getoverrun(a.i32(0)))
}

pub fn timer_delete(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| p.sys_timer_delete(a.i32(0)))
}

// timerfd (`process/timerfd.rs`).

pub fn timerfd_create(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| p.sys_timerfd_create(a.i32(0), a.u32(1)))
}

fn timerfd_settime_as(cx: &mut Ctx, a: Args, bits: TimeBits) -> Outcome {
    cx.process(|p, h| p.sys_timerfd_settime(h, a.abi, a.i32(0), a.u32(1), a.ptr(2), a.ptr(3), bits))
}

pub fn timerfd_settime(cx: &mut Ctx, a: Args) -> Outcome {
    timerfd_settime_as(cx, a, a.time_bits())
}

pub fn timerfd_settime64(cx: &mut Ctx, a: Args) -> Outcome {
    timerfd_settime_as(cx, a, TimeBits::B64)
}

fn timerfd_gettime_as(cx: &mut Ctx, a: Args, bits: TimeBits) -> Outcome {
    cx.process(|p, h| p.sys_timerfd_gettime(h, a.abi, a.i32(0), a.ptr(1), bits))
}

pub fn timerfd_gettime(cx: &mut Ctx, a: Args) -> Outcome {
    timerfd_gettime_as(cx, a, a.time_bits())
}

pub fn timerfd_gettime64(cx: &mut Ctx, a: Args) -> Outcome {
    timerfd_gettime_as(cx, a, TimeBits::B64)
}
