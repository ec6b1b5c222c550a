//! The system as a program sees it: its name, randomness.

use super::{Args, Ctx};
use crate::layout::Utsname;
use crate::process::Outcome;

pub fn uname(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| {
        let u = Utsname {
            sysname: "Linux",
            nodename: core::str::from_utf8(&p.job.hostname).unwrap_or("sion"),
            release: "6.1.0-sion",
            version: "#1 SiON",
            machine: "x86_64", // what a 64-bit Linux kernel tells 32-bit programs too (no PER_LINUX32)
            domainname: "(none)",
        };
        let bytes = u.encode();
        p.write_user(h, a.abi, a.ptr(0), &bytes).map(|_| 0)
    })
}

pub fn getrandom(cx: &mut Ctx, a: Args) -> Outcome {
    cx.process(|p, h| p.sys_getrandom(h, a.abi, a.ptr(0), a.u64(1), a.u32(2)))
}
