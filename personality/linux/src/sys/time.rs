//! Clocks and sleeping. The `*_time64` calls of i386 take 64-bit timespecs;
//! the others the ABI's own width.

use super::{Args, Ctx};
use crate::errno::Errno;
use crate::layout::{push_word, TimeBits, Timespec};
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
    if !matches!(clock, 0 | 1 | 7 | 11) {
        return Errno::EINVAL.into();
    }
    cx.process_outcome(|p, h| match p.read_timespec(h, a.abi, a.ptr(2), bits) {
        Ok(ns) => {
            let now = h.now_ns();
            // TIMER_ABSTIME: a time on the clock (REALTIME and TAI move it to the monotonic one).
            let deadline = if a.u32(1) & 1 != 0 {
                if clock == 0 || clock == 11 {
                    ns.saturating_sub(h.realtime_ns().saturating_sub(now))
                } else {
                    ns
                }
            } else {
                now.saturating_add(ns)
            };
            p.sleep_until(h, deadline)
        }
        Err(e) => e.into(),
    })
}

pub fn clock_nanosleep(cx: &mut Ctx, a: Args) -> Outcome {
    clock_nanosleep_as(cx, a, a.time_bits())
}

pub fn clock_nanosleep_time64(cx: &mut Ctx, a: Args) -> Outcome {
    clock_nanosleep_as(cx, a, TimeBits::B64)
}

