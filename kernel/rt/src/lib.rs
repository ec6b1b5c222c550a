//! The runtime of SiON's native servers: kernel-call wrappers, the `_start`
//! entry, the panic handler, a growing heap, x86 port I/O and the TSC.
//!
//! All the `unsafe` code of the servers lives in this crate; each block says
//! why it is sound. The servers themselves are `#![forbid(unsafe_code)]`.
//!
//! A server names its main function with [`entry!`]:
//!
//! ```ignore
//! sion_rt::entry!(main);
//! fn main(boot: sion_rt::Boot) -> ! { ... }
//! ```
//!
//! Kernel calls touching the caller's own address space in ways that could
//! break Rust's memory model (unmapping, reprotecting or writing its own
//! pages, destroying its own space) are refused here with `Error::Denied`;
//! servers only do those things to the spaces of the programs they run.
#![no_std]

pub mod call;
pub mod io;
pub mod net;
pub mod spawn;

extern crate alloc;

mod heap;
mod panic;

pub use call::*;
pub use panic::set_panic_hook;

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use sion_abi::boot::{BootInfo, BOOT_INFO_ADDR};
use sion_abi::{SpaceId, TaskId};

/// What the kernel handed this server at start.
#[derive(Clone, Copy, Debug)]
pub struct Boot {
    pub info: BootInfo,
    /// The boot archive (read-only, mapped by the kernel).
    pub archive: &'static [u8],
    /// The kernel command line.
    pub cmdline: &'static str,
}

static SELF_SPACE: AtomicU32 = AtomicU32::new(u32::MAX);
static SELF_TASK: AtomicU32 = AtomicU32::new(u32::MAX);
static BOOT_ADDR: AtomicU64 = AtomicU64::new(0);

/// This server's own address space.
pub fn self_space() -> SpaceId {
    SpaceId(SELF_SPACE.load(Ordering::Relaxed))
}

/// This server's own task.
pub fn self_task() -> TaskId {
    TaskId(SELF_TASK.load(Ordering::Relaxed))
}

/// Define the server's main function: `entry!(main)` with `fn main(boot: Boot) -> !`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[no_mangle]
        pub fn __sion_rt_main(boot: $crate::Boot) -> ! {
            let f: fn($crate::Boot) -> ! = $main;
            f(boot)
        }
    };
}

#[cfg(target_os = "none")]
extern "Rust" {
    fn __sion_rt_main(boot: Boot) -> !;
}

/// The ELF entry. The kernel enters with rdi = the boot info address and rsp
/// = SERVER_STACK_TOP - 8, i.e. as if `_start` had just been called, so the
/// System V alignment rules already hold and a plain function works.
#[cfg(target_os = "none")]
#[no_mangle]
pub extern "C" fn _start(boot_info_addr: u64) -> ! {
    let addr = if boot_info_addr == 0 { BOOT_INFO_ADDR } else { boot_info_addr };
    BOOT_ADDR.store(addr, Ordering::Relaxed);
    // SAFETY: the kernel maps the boot info page read-only at `addr` for the
    // whole life of the server and never changes it; BootInfo::SIZE < 4096.
    let page: &'static [u8] = unsafe { core::slice::from_raw_parts(addr as *const u8, 4096) };
    let Some(info) = BootInfo::decode(page) else {
        log(b"sion-rt: no boot info (bad magic)\n");
        exit(101);
    };
    SELF_SPACE.store(info.self_space, Ordering::Relaxed);
    SELF_TASK.store(info.self_task, Ordering::Relaxed);
    // SAFETY: the kernel maps the archive read-only at archive_addr for
    // archive_len bytes for the whole life of the server.
    let archive: &'static [u8] = if info.archive_len == 0 {
        &[]
    } else {
        unsafe { core::slice::from_raw_parts(info.archive_addr as *const u8, info.archive_len as usize) }
    };
    // The command line sits on the boot info page, right after the encoding.
    let cmdline = if info.cmdline_addr >= addr && info.cmdline_addr + info.cmdline_len <= addr + 4096 {
        let at = (info.cmdline_addr - addr) as usize;
        core::str::from_utf8(&page[at..at + info.cmdline_len as usize]).unwrap_or("")
    } else {
        ""
    };
    let boot = Boot { info, archive, cmdline };
    // SAFETY: `__sion_rt_main` is defined by the server's `entry!`, with
    // exactly this signature.
    unsafe { __sion_rt_main(boot) }
}

/// Read the time-stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no memory effects; user mode may run it (CR4.TSD clear).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// `cpuid(leaf, 0)`: (eax, ebx, ecx, edx).
pub fn cpuid(leaf: u32) -> (u32, u32, u32, u32) {
    // SAFETY: cpuid exists on every x86_64 CPU and has no memory effects.
    #[allow(unused_unsafe)]
    let r = unsafe { core::arch::x86_64::__cpuid_count(leaf, 0) };
    (r.eax, r.ebx, r.ecx, r.edx)
}

/// Formats into a fixed buffer (for logs without the heap).
pub struct FixedBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for FixedBuf<N> {
    fn default() -> Self {
        FixedBuf { buf: [0; N], len: 0 }
    }
}

impl<const N: usize> FixedBuf<N> {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> core::fmt::Write for FixedBuf<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(N - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// `log!("fmt", args)`: format a line (up to 256 bytes) to the kernel log.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut b = $crate::FixedBuf::<256>::default();
        let _ = write!(b, $($arg)*);
        let _ = b.write_str("\n");
        $crate::log(b.as_bytes());
    }};
}
