//! Linux native AIO: io_setup, io_destroy, io_submit, io_cancel,
//! io_getevents and io_pgetevents (`process/aio.rs`).

use super::{Args, Ctx};
use crate::layout::{get_word, TimeBits};
use crate::process::Outcome;

pub fn io_setup(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_io_setup(h, a.abi, a.u32(0), a.ptr(1)))
}

pub fn io_destroy(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_io_destroy(h, a.abi, a.ptr(0)))
}

pub fn io_submit(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_io_submit(h, a.abi, a.ptr(0), a.long(1), a.ptr(2)))
}

pub fn io_cancel(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_io_cancel(h, a.abi, a.ptr(0), a.ptr(1), a.ptr(2)))
}

/// io_getevents(ctx, min_nr, nr, events, timeout): NULL waits for ever.
pub fn io_getevents(cx: &mut Ctx, a: Args) -> Outcome {
    getevents(cx, a, a.time_bits(), false)
}

/// io_pgetevents(..., timeout, usig): usig points at { sigset pointer, size }.
pub fn io_pgetevents(cx: &mut Ctx, a: Args) -> Outcome {
    getevents(cx, a, a.time_bits(), true)
}

pub fn io_pgetevents_time64(cx: &mut Ctx, a: Args) -> Outcome {
    getevents(cx, a, TimeBits::B64, true)
}

fn getevents(cx: &mut Ctx, a: Args, bits: TimeBits, masked: bool) -> Outcome {
    cx.process(|p, h| {
        let timeout = match a.ptr(4) {
            0 => None,
            at => Some(p.read_timespec(h, a.abi, at, bits)?),
        };
        let (ctx, min_nr, nr, events) = (a.ptr(0), a.long(1), a.long(2), a.ptr(3));
        if !masked || a.ptr(5) == 0 {
            return p.sys_io_getevents(h, a.abi, ctx, min_nr, nr, events, timeout);
        }
        let w = a.abi.word();
        let b = p.read_user(h, a.abi, a.ptr(5), 2 * w)?;
        let (set, size) = (get_word(a.abi, &b), get_word(a.abi, &b[w..]));
        super::poll::with_mask(p, h, a, set, size, |p, h| p.sys_io_getevents(h, a.abi, ctx, min_nr, nr, events, timeout))
    })
}
