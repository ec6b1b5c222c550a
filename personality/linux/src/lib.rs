//! The Linux personality's logic, independent of the hardware: everything the
//! personality server does for a Linux program except talking to the kernel,
//! written against [`host::Host`] so it runs in host tests.
//!
//! - [`elf`]: the load plan of static ELF64/ELF32 programs;
//! - [`stack`]: the initial stack and aux vector;
//! - [`syscalls`]: call numbers and names per ABI (generated) and the dispatch tables;
//! - [`sys`]: the handlers the tables name, one file per family of calls;
//! - [`process`]: a process and its system calls; [`vma`]: its memory map;
//! - [`layout`]: structures whose layout differs per ABI; [`linux`]: Linux's flag and command values, named once; [`errno`];
//! - [`job`]: the boot job's argv, env and config; [`sim`]: a simulated host;
//! - [`locks`]: file locks (fcntl record locks, OFD locks, flock) of the job's processes;
//! - [`socket`]: socket arguments and options per ABI (the pure half of sockets);
//! - [`vdso`]: the vDSO every program gets (clock calls without a trap) and its data page.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod binfmt;
pub mod coredump;
pub mod creds;
pub mod elf;
pub mod errno;
pub mod futex;
pub mod host;
pub mod job;
pub mod layout;
pub mod linux;
pub mod locks;
pub mod mm_map;
pub mod mqueue;
pub mod ns;
pub mod process;
pub mod procs;
pub mod signal;
pub mod sim;
pub mod socket;
pub mod stack;
pub mod sys;
pub mod syscalls;
pub mod sysv;
pub mod timer;
pub mod vdso;
pub mod vma;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod procs_tests;
