//! Descriptors for objects that are not files: pipes, eventfds, signalfds,
//! memfds, inotify instances.

use super::{Args, Ctx};
use crate::process::Outcome;

pub fn pipe(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_pipe2(h, a.abi, a.ptr(0), 0))
}

pub fn pipe2(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_pipe2(h, a.abi, a.ptr(0), a.u32(1)))
}

pub fn eventfd(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| p.sys_eventfd2(a.u32(0), 0))
}

pub fn eventfd2(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| p.sys_eventfd2(a.u32(0), a.u32(1)))
}

pub fn signalfd(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_signalfd4(h, a.abi, a.i32(0), a.ptr(1), a.u64(2), 0))
}

pub fn signalfd4(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_signalfd4(h, a.abi, a.i32(0), a.ptr(1), a.u64(2), a.u32(3)))
}

pub fn memfd_create(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_memfd_create(h, a.abi, a.ptr(0), a.u32(1)))
}

pub fn inotify_init(cx: &mut Ctx, _a: Args) -> Outcome {
    init1(cx, 0)
}

pub fn inotify_init1(cx: &mut Ctx, a: Args) -> Outcome {
    init1(cx, a.u32(0))
}

fn init1(cx: &mut Ctx, flags: u32) -> Outcome {
    cx.process(|p, _h| p.sys_inotify_init1(flags))
}

pub fn inotify_add_watch(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_inotify_add_watch(h, a.abi, a.i32(0), a.ptr(1), a.u32(2)))
}

pub fn inotify_rm_watch(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, _h| p.sys_inotify_rm_watch(a.i32(0), a.i32(1)))
}
