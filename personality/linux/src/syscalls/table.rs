//! The dispatch tables: for each ABI, which Linux system calls the personality
//! implements, by which handler, and how completely. This is the single source
//! of truth for the coverage report; every number not listed answers -ENOSYS
//! and is logged by name.

use super::names::{i386 as n32, x86_64 as n64};
use crate::layout::{Abi, RlimitLayout, TimeBits};

/// How a structure-returning variant of a call lays out its result.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StatLayout {
    /// x86_64 `struct stat`.
    Stat64,
    /// i386 `struct stat64`.
    I386Stat64,
    /// i386 old `struct stat`.
    I386Old,
}

/// The handlers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sys {
    Read,
    Write,
    Readv,
    Writev,
    Ioctl,
    Fstat(StatLayout),
    Fstatat(StatLayout),
    Statx,
    Readlink,
    Readlinkat,
    Uname,
    Getpid,
    Getppid,
    Gettid,
    /// `bits16`: the i386 16-bit-id variants (overflow ids above 65535).
    Getuid { bits16: bool },
    Geteuid { bits16: bool },
    Getgid { bits16: bool },
    Getegid { bits16: bool },
    Prlimit64,
    Getrlimit(RlimitLayout),
    Setrlimit(RlimitLayout),
    Getrandom,
    ClockGettime(TimeBits),
    ClockGetres(TimeBits),
    Gettimeofday,
    Time,
    Nanosleep(TimeBits),
    ClockNanosleep(TimeBits),
    Exit,
    ExitGroup,
    ArchPrctl,
    SetTidAddress,
    SetThreadArea,
    SetRobustList,
    Rseq,
    Brk,
    /// x86_64 mmap (offset in bytes).
    Mmap,
    /// i386 mmap2 (offset in pages).
    Mmap2,
    /// i386 old_mmap (arguments in a struct in memory).
    OldMmap,
    Munmap,
    Mprotect,
}

/// How completely a call is implemented.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Complete,
    /// Works for the cases described; other cases return the errno noted.
    Partial(&'static str),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Entry {
    pub nr: u32,
    pub name: &'static str,
    pub sys: Sys,
    pub status: Status,
}

const fn e(nr: u32, name: &'static str, sys: Sys, status: Status) -> Entry {
    Entry { nr, name, sys, status }
}

use Status::{Complete as C, Partial as P};

const STDIO_ONLY: &str = "fds 0-2 (the job console) only; other fds EBADF until files land (issue #3)";
const ANON_ONLY: &str = "anonymous memory only; file mappings ENODEV on fds 0-2, EBADF otherwise (issue #3)";
const FIFO_STAT: &str = "fds 0-2 report a FIFO; paths ENOENT until files land (issue #3)";
const SLEEP: &str = "no signals yet, so never interrupted and the remaining time is not written";

/// The x86_64 table, sorted by number.
pub static X86_64: &[Entry] = &[
    e(n64::READ, "read", Sys::Read, P(STDIO_ONLY)),
    e(n64::WRITE, "write", Sys::Write, P(STDIO_ONLY)),
    e(n64::FSTAT, "fstat", Sys::Fstat(StatLayout::Stat64), P(FIFO_STAT)),
    e(n64::MMAP, "mmap", Sys::Mmap, P(ANON_ONLY)),
    e(n64::MPROTECT, "mprotect", Sys::Mprotect, C),
    e(n64::MUNMAP, "munmap", Sys::Munmap, C),
    e(n64::BRK, "brk", Sys::Brk, C),
    e(n64::IOCTL, "ioctl", Sys::Ioctl, P("fds 0-2 are not terminals: ENOTTY; other fds EBADF")),
    e(n64::READV, "readv", Sys::Readv, P(STDIO_ONLY)),
    e(n64::WRITEV, "writev", Sys::Writev, P(STDIO_ONLY)),
    e(n64::NANOSLEEP, "nanosleep", Sys::Nanosleep(TimeBits::B64), P(SLEEP)),
    e(n64::GETPID, "getpid", Sys::Getpid, C),
    e(n64::EXIT, "exit", Sys::Exit, P("single-threaded processes: ends the process")),
    e(n64::UNAME, "uname", Sys::Uname, C),
    e(n64::READLINK, "readlink", Sys::Readlink, P("/proc/self/exe only; other paths ENOENT until files land")),
    e(n64::GETTIMEOFDAY, "gettimeofday", Sys::Gettimeofday, C),
    e(n64::GETRLIMIT, "getrlimit", Sys::Getrlimit(RlimitLayout::U64), C),
    e(n64::GETUID, "getuid", Sys::Getuid { bits16: false }, C),
    e(n64::GETGID, "getgid", Sys::Getgid { bits16: false }, C),
    e(n64::GETEUID, "geteuid", Sys::Geteuid { bits16: false }, C),
    e(n64::GETEGID, "getegid", Sys::Getegid { bits16: false }, C),
    e(n64::GETPPID, "getppid", Sys::Getppid, C),
    e(n64::ARCH_PRCTL, "arch_prctl", Sys::ArchPrctl, P("ARCH_SET_FS/GET_FS/SET_GS/GET_GS; others EINVAL")),
    e(n64::SETRLIMIT, "setrlimit", Sys::Setrlimit(RlimitLayout::U64), P("limits are stored and reported, not enforced")),
    e(n64::GETTID, "gettid", Sys::Gettid, C),
    e(n64::TIME, "time", Sys::Time, C),
    e(n64::SET_TID_ADDRESS, "set_tid_address", Sys::SetTidAddress, P("address stored; cleared on thread exit once threads exist")),
    e(n64::CLOCK_GETTIME, "clock_gettime", Sys::ClockGettime(TimeBits::B64), P("REALTIME, MONOTONIC, *_RAW, *_COARSE, BOOTTIME, CPUTIME clocks")),
    e(n64::CLOCK_GETRES, "clock_getres", Sys::ClockGetres(TimeBits::B64), C),
    e(n64::CLOCK_NANOSLEEP, "clock_nanosleep", Sys::ClockNanosleep(TimeBits::B64), P(SLEEP)),
    e(n64::EXIT_GROUP, "exit_group", Sys::ExitGroup, C),
    e(n64::NEWFSTATAT, "newfstatat", Sys::Fstatat(StatLayout::Stat64), P(FIFO_STAT)),
    e(n64::READLINKAT, "readlinkat", Sys::Readlinkat, P("/proc/self/exe only; other paths ENOENT until files land")),
    e(n64::SET_ROBUST_LIST, "set_robust_list", Sys::SetRobustList, P("list stored; walked on thread exit once threads exist")),
    e(n64::PRLIMIT64, "prlimit64", Sys::Prlimit64, P("own process only; limits stored, not enforced")),
    e(n64::GETRANDOM, "getrandom", Sys::Getrandom, C),
    e(n64::STATX, "statx", Sys::Statx, P(FIFO_STAT)),
    e(n64::RSEQ, "rseq", Sys::Rseq, P("always ENOSYS: no restartable sequences (libcs carry on without)")),
];

/// The i386 table, sorted by number.
pub static I386: &[Entry] = &[
    e(n32::EXIT, "exit", Sys::Exit, P("single-threaded processes: ends the process")),
    e(n32::READ, "read", Sys::Read, P(STDIO_ONLY)),
    e(n32::WRITE, "write", Sys::Write, P(STDIO_ONLY)),
    e(n32::TIME, "time", Sys::Time, C),
    e(n32::GETPID, "getpid", Sys::Getpid, C),
    e(n32::GETUID, "getuid", Sys::Getuid { bits16: true }, C),
    e(n32::BRK, "brk", Sys::Brk, C),
    e(n32::GETGID, "getgid", Sys::Getgid { bits16: true }, C),
    e(n32::GETEUID, "geteuid", Sys::Geteuid { bits16: true }, C),
    e(n32::GETEGID, "getegid", Sys::Getegid { bits16: true }, C),
    e(n32::IOCTL, "ioctl", Sys::Ioctl, P("fds 0-2 are not terminals: ENOTTY; other fds EBADF")),
    e(n32::GETPPID, "getppid", Sys::Getppid, C),
    e(n32::SETRLIMIT, "setrlimit", Sys::Setrlimit(RlimitLayout::U32), P("limits are stored and reported, not enforced")),
    e(n32::GETRLIMIT, "getrlimit", Sys::Getrlimit(RlimitLayout::OldU32), C),
    e(n32::GETTIMEOFDAY, "gettimeofday", Sys::Gettimeofday, C),
    e(n32::READLINK, "readlink", Sys::Readlink, P("/proc/self/exe only; other paths ENOENT until files land")),
    e(n32::MMAP, "mmap", Sys::OldMmap, P(ANON_ONLY)),
    e(n32::MUNMAP, "munmap", Sys::Munmap, C),
    e(n32::FSTAT, "fstat", Sys::Fstat(StatLayout::I386Old), P(FIFO_STAT)),
    e(n32::UNAME, "uname", Sys::Uname, C),
    e(n32::MPROTECT, "mprotect", Sys::Mprotect, C),
    e(n32::READV, "readv", Sys::Readv, P(STDIO_ONLY)),
    e(n32::WRITEV, "writev", Sys::Writev, P(STDIO_ONLY)),
    e(n32::NANOSLEEP, "nanosleep", Sys::Nanosleep(TimeBits::B32), P(SLEEP)),
    e(n32::UGETRLIMIT, "ugetrlimit", Sys::Getrlimit(RlimitLayout::U32), C),
    e(n32::MMAP2, "mmap2", Sys::Mmap2, P(ANON_ONLY)),
    e(n32::FSTAT64, "fstat64", Sys::Fstat(StatLayout::I386Stat64), P(FIFO_STAT)),
    e(n32::GETUID32, "getuid32", Sys::Getuid { bits16: false }, C),
    e(n32::GETGID32, "getgid32", Sys::Getgid { bits16: false }, C),
    e(n32::GETEUID32, "geteuid32", Sys::Geteuid { bits16: false }, C),
    e(n32::GETEGID32, "getegid32", Sys::Getegid { bits16: false }, C),
    e(n32::GETTID, "gettid", Sys::Gettid, C),
    e(n32::SET_THREAD_AREA, "set_thread_area", Sys::SetThreadArea, C),
    e(n32::EXIT_GROUP, "exit_group", Sys::ExitGroup, C),
    e(n32::SET_TID_ADDRESS, "set_tid_address", Sys::SetTidAddress, P("address stored; cleared on thread exit once threads exist")),
    e(n32::CLOCK_GETTIME, "clock_gettime", Sys::ClockGettime(TimeBits::B32), P("REALTIME, MONOTONIC, *_RAW, *_COARSE, BOOTTIME, CPUTIME clocks")),
    e(n32::CLOCK_GETRES, "clock_getres", Sys::ClockGetres(TimeBits::B32), C),
    e(n32::CLOCK_NANOSLEEP, "clock_nanosleep", Sys::ClockNanosleep(TimeBits::B32), P(SLEEP)),
    e(n32::FSTATAT64, "fstatat64", Sys::Fstatat(StatLayout::I386Stat64), P(FIFO_STAT)),
    e(n32::READLINKAT, "readlinkat", Sys::Readlinkat, P("/proc/self/exe only; other paths ENOENT until files land")),
    e(n32::SET_ROBUST_LIST, "set_robust_list", Sys::SetRobustList, P("list stored; walked on thread exit once threads exist")),
    e(n32::PRLIMIT64, "prlimit64", Sys::Prlimit64, P("own process only; limits stored, not enforced")),
    e(n32::GETRANDOM, "getrandom", Sys::Getrandom, C),
    e(n32::STATX, "statx", Sys::Statx, P(FIFO_STAT)),
    e(n32::RSEQ, "rseq", Sys::Rseq, P("always ENOSYS: no restartable sequences (libcs carry on without)")),
    e(n32::CLOCK_GETTIME64, "clock_gettime64", Sys::ClockGettime(TimeBits::B64), P("REALTIME, MONOTONIC, *_RAW, *_COARSE, BOOTTIME, CPUTIME clocks")),
    e(n32::CLOCK_GETRES_TIME64, "clock_getres_time64", Sys::ClockGetres(TimeBits::B64), C),
    e(n32::CLOCK_NANOSLEEP_TIME64, "clock_nanosleep_time64", Sys::ClockNanosleep(TimeBits::B64), P(SLEEP)),
];

/// The dispatch table of an ABI.
pub fn table_of(abi: Abi) -> &'static [Entry] {
    match abi {
        Abi::X86_64 => X86_64,
        Abi::I386 => I386,
    }
}

/// The implemented call with this number, if any.
pub fn lookup(abi: Abi, nr: u64) -> Option<&'static Entry> {
    let nr = u32::try_from(nr).ok()?;
    let t = table_of(abi);
    t.binary_search_by_key(&nr, |e| e.nr).ok().map(|i| &t[i])
}

/// Linux's name of a call number (implemented or not).
pub fn name_of(abi: Abi, nr: u64) -> Option<&'static str> {
    let nr = u32::try_from(nr).ok()?;
    let names: &[(u32, &str)] = match abi {
        Abi::X86_64 => &n64::NAMES,
        Abi::I386 => &n32::NAMES,
    };
    names.binary_search_by_key(&nr, |x| x.0).ok().map(|i| names[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_sorted_and_named_as_linux() {
        for abi in [Abi::X86_64, Abi::I386] {
            let t = table_of(abi);
            for w in t.windows(2) {
                assert!(w[0].nr < w[1].nr, "{abi:?} table not sorted at {}", w[1].name);
            }
            for e in t {
                assert_eq!(name_of(abi, e.nr as u64), Some(e.name), "{abi:?} {}", e.nr);
                assert_eq!(lookup(abi, e.nr as u64), Some(e));
            }
        }
    }

    #[test]
    fn numbers_differ_per_abi() {
        assert_eq!(lookup(Abi::X86_64, 1).unwrap().sys, Sys::Write);
        assert_eq!(lookup(Abi::I386, 4).unwrap().sys, Sys::Write);
        assert_eq!(lookup(Abi::I386, 90).unwrap().sys, Sys::OldMmap);
        assert_eq!(lookup(Abi::I386, 192).unwrap().sys, Sys::Mmap2);
        assert_eq!(lookup(Abi::I386, 243).unwrap().sys, Sys::SetThreadArea);
        assert_eq!(name_of(Abi::X86_64, 57), Some("fork"));
        assert_eq!(lookup(Abi::X86_64, 57), None);
        assert_eq!(name_of(Abi::X86_64, 100_000), None);
        assert_eq!(lookup(Abi::X86_64, u64::MAX), None);
        assert!(n32::NAMES.iter().any(|x| x.1 == "clock_gettime64"));
    }
}
