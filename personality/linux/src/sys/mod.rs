//! The system-call handlers, one file per Linux family (gVisor's
//! `sys_<family>.go` granularity), all of one shape: [`Handler`], a plain
//! function of the call's context and its arguments. The tables in
//! [`crate::syscalls::table`] name them; nothing else dispatches.
//!
//! Adding a call: write `pub fn name(cx: &mut Ctx, a: Args) -> Outcome` in
//! its family's file (decoding the arguments with [`Args`], which knows the
//! ABI's widths and register pairs), and add a line to each ABI's table with
//! its number, name, handler and how complete it is. docs/personality.md
//! has a worked example.

use crate::errno::Errno;
use crate::errno::SysResult;
use crate::host::Host;
use crate::layout::{Abi, TimeBits};
use crate::process::{Outcome, Process};
use crate::procs::Procs;
use sion_abi::msg::LinuxSyscall;

pub mod aio;
pub mod epoll;
pub mod fd;
pub mod fs_dir;
pub mod fs_meta;
pub mod fs_rw;
pub mod fs_stat;
pub mod mount;
pub mod futex;
pub mod ipc;
pub mod ids;
pub mod mm;
pub mod node;
pub mod objects;
pub mod poll;
pub mod process;
pub mod resource;
pub mod sched;
pub mod signal;
pub mod socket;
pub mod system;
pub mod time;

/// Every handler's shape.
pub type Handler = fn(&mut Ctx, Args) -> Outcome;

/// What a handler works with: the job's process table, the host, and who called.
pub struct Ctx<'a> {
    pub procs: &'a mut Procs,
    pub h: &'a mut dyn Host,
    /// The calling process.
    pub pid: u32,
    pub call: &'a LinuxSyscall,
}

impl Ctx<'_> {
    /// Run `f` on the calling process (its thread's state and the job's in
    /// place); its result is the reply.
    pub fn process(&mut self, f: impl FnOnce(&mut Process, &mut dyn Host) -> SysResult) -> Outcome {
        self.process_outcome(|p, h| f(p, h).into())
    }

    /// The same for a handler that may block, exit or set registers.
    pub fn process_outcome(&mut self, f: impl FnOnce(&mut Process, &mut dyn Host) -> Outcome) -> Outcome {
        self.procs
            .serve(self.h, self.pid, |p, h| {
                p.before_call(h);
                f(p, h)
            })
            .unwrap_or(Outcome::Blocked)
    }
}

/// A call's arguments, decoded for its ABI: on i386 a word is 32 bits
/// (sign-extended where Linux takes a `long`) and a 64-bit value comes in
/// two registers.
#[derive(Clone, Copy, Debug)]
pub struct Args {
    pub abi: Abi,
    pub raw: [u64; 6],
}

impl Args {
    pub fn new(abi: Abi, raw: [u64; 6]) -> Args {
        Args { abi, raw }
    }

    /// Argument `i` as the kernel passed it (zero-extended on i386).
    pub fn u64(&self, i: usize) -> u64 {
        self.raw[i]
    }

    /// An `int` (descriptors, pids, flags compared signed).
    pub fn i32(&self, i: usize) -> i32 {
        self.raw[i] as i32
    }

    /// An `unsigned int` (flags, modes, resource numbers).
    pub fn u32(&self, i: usize) -> u32 {
        self.raw[i] as u32
    }

    /// A user address (a pointer argument).
    pub fn ptr(&self, i: usize) -> u64 {
        self.raw[i]
    }

    /// A `long`: sign-extended from 32 bits on i386.
    pub fn long(&self, i: usize) -> i64 {
        match self.abi {
            Abi::I386 => self.raw[i] as u32 as i32 as i64,
            Abi::X86_64 => self.raw[i] as i64,
        }
    }

    /// A 64-bit value: one register on x86_64, the pair (`lo`, `hi`) on i386.
    pub fn u64_pair(&self, lo: usize, hi: usize) -> u64 {
        match self.abi {
            Abi::I386 => (self.raw[lo] & 0xffff_ffff) | (self.raw[hi] << 32),
            Abi::X86_64 => self.raw[lo],
        }
    }

    /// The native layout of time structures (`timespec`, `timeval`) for this ABI.
    pub fn time_bits(&self) -> TimeBits {
        TimeBits::of(self.abi)
    }
}

/// A result the process table gives (no process state needed).
pub fn reply(r: SysResult) -> Outcome {
    r.into()
}

/// `-EINVAL`, for handlers that refuse their arguments before doing anything.
pub fn invalid() -> Outcome {
    Errno::EINVAL.into()
}
