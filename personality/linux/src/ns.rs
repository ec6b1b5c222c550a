//! Namespaces a job's processes may separate: mount (each its own copy of
//! the mount table, kept by the VFS), UTS (host and domain names) and time
//! (offsets of CLOCK_MONOTONIC and CLOCK_BOOTTIME, /proc/PID/timens_offsets).
//! The others (user, PID, network, IPC, cgroup) SiON cannot separate: asking
//! for a new one is EINVAL, as Linux built without them.
//!
//! A namespace is named by its nsfs inode number, as /proc/PID/ns/* shows
//! it ("uts:[4026531838]"): the initial ones have Linux's fixed numbers.

use crate::errno::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use sion_vecmap::VecMap;

pub const CLONE_NEWTIME: u64 = 0x80;
pub const CLONE_NEWNS: u64 = 0x2_0000;
pub const CLONE_NEWCGROUP: u64 = 0x200_0000;
pub const CLONE_NEWUTS: u64 = 0x400_0000;
pub const CLONE_NEWIPC: u64 = 0x800_0000;
pub const CLONE_NEWUSER: u64 = 0x1000_0000;
pub const CLONE_NEWPID: u64 = 0x2000_0000;
pub const CLONE_NEWNET: u64 = 0x4000_0000;
/// Every CLONE_NEW* flag.
pub const CLONE_NEW_ANY: u64 = CLONE_NEWTIME | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
/// The ones SiON separates.
pub const CLONE_NEW_OFFERED: u64 = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWTIME;

/// Linux's inode numbers of the initial namespaces (PROC_UTS_INIT_INO,
/// PROC_TIME_INIT_INO; the initial mount namespace's is the first one
/// allocated, 0xF0000000 being the initial network namespace's).
pub const INIT_UTS: u32 = 0xEFFF_FFFE;
pub const INIT_TIME: u32 = 0xEFFF_FFFA;
pub const INIT_MNT: u32 = 0xF000_0001;
/// Where the numbers of new namespaces start.
const FIRST_NEW: u32 = 0xF000_0100;

/// The kinds of /proc/PID/ns entries SiON has, in Linux's order there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Uts,
    Mnt,
    Time,
    TimeForChildren,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Uts, Kind::Mnt, Kind::Time, Kind::TimeForChildren];

    /// The entry's name in /proc/PID/ns.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Uts => "uts",
            Kind::Mnt => "mnt",
            Kind::Time => "time",
            Kind::TimeForChildren => "time_for_children",
        }
    }

    /// What readlink shows before the number ("time" for both time entries).
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::TimeForChildren => "time",
            k => k.name(),
        }
    }

    /// The CLONE_NEW* flag of its type (setns's `nstype`).
    pub fn flag(self) -> u64 {
        match self {
            Kind::Uts => CLONE_NEWUTS,
            Kind::Mnt => CLONE_NEWNS,
            Kind::Time | Kind::TimeForChildren => CLONE_NEWTIME,
        }
    }

    pub fn from_name(n: &[u8]) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name().as_bytes() == n)
    }

    /// The link text: "uts:[4026531838]".
    pub fn link(self, id: u32) -> String {
        format!("{}:[{id}]", self.type_name())
    }

    /// A link text's kind and number (the entry's name decides between the
    /// two time entries).
    pub fn parse_link(name: &[u8], text: &[u8]) -> Option<(Kind, u32)> {
        let k = Kind::from_name(name)?;
        let rest = core::str::from_utf8(text).ok()?.strip_prefix(k.type_name())?.strip_prefix(":[")?.strip_suffix(']')?;
        Some((k, rest.parse().ok()?))
    }
}

/// The namespaces of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NsSet {
    pub mnt: u32,
    pub uts: u32,
    pub time: u32,
    /// The time namespace its children start in (unshare(CLONE_NEWTIME)
    /// moves only them; setns moves both).
    pub time_for_children: u32,
}

impl Default for NsSet {
    fn default() -> NsSet {
        NsSet { mnt: INIT_MNT, uts: INIT_UTS, time: INIT_TIME, time_for_children: INIT_TIME }
    }
}

impl NsSet {
    pub fn get(&self, k: Kind) -> u32 {
        match k {
            Kind::Uts => self.uts,
            Kind::Mnt => self.mnt,
            Kind::Time => self.time,
            Kind::TimeForChildren => self.time_for_children,
        }
    }

    /// A forked child's set: its time namespace is its parent's for children.
    pub fn for_child(&self) -> NsSet {
        NsSet { time: self.time_for_children, ..*self }
    }
}

/// A time namespace: its clocks' offsets (ns) from the node's, and whether a
/// process has entered it (its offsets are then fixed: EACCES).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeNs {
    pub monotonic: i64,
    pub boottime: i64,
    pub frozen: bool,
}

/// The job's UTS and time namespaces other than the initial ones (whose
/// names are the job's own and whose offsets are 0).
#[derive(Clone, Debug, Default)]
pub struct Namespaces {
    next: u32,
    /// (hostname, domainname) per UTS namespace.
    pub uts: VecMap<u32, (Vec<u8>, Vec<u8>)>,
    pub time: VecMap<u32, TimeNs>,
}

impl Namespaces {
    /// A number for a new namespace.
    pub fn alloc(&mut self) -> u32 {
        let id = FIRST_NEW + self.next;
        self.next += 1;
        id
    }

    /// The offsets of time namespace `id`.
    pub fn time_of(&self, id: u32) -> TimeNs {
        self.time.get(&id).copied().unwrap_or_default()
    }
}

pub const CLOCK_MONOTONIC: u32 = 1;
pub const CLOCK_BOOTTIME: u32 = 7;
const NSEC: i64 = 1_000_000_000;
/// Linux's KTIME_SEC_MAX (KTIME_MAX / NSEC_PER_SEC).
const KTIME_SEC_MAX: i64 = i64::MAX / NSEC;

/// The text of /proc/PID/timens_offsets ("%-10s %10lld %9ld\n" per clock).
pub fn offsets_text(t: &TimeNs) -> String {
    let line = |name: &str, ns: i64| format!("{name:<10} {:>10} {:>9}\n", ns.div_euclid(NSEC), ns.rem_euclid(NSEC));
    line("monotonic", t.monotonic) + &line("boottime", t.boottime)
}

/// Parse what a write to /proc/PID/timens_offsets says: lines of
/// "CLOCK SECS NSECS" (CLOCK a number or "monotonic"/"boottime"), checked as
/// Linux's proc_timens_set_offset: only those two clocks, nanoseconds below
/// a second (EINVAL), and the clock now plus the offset within 0 to
/// KTIME_SEC_MAX / 2 seconds (ERANGE). `now_s` is the clock's reading.
pub fn parse_offsets(text: &[u8], now_s: i64) -> Result<Vec<(u32, i64)>, Errno> {
    let text = core::str::from_utf8(text).map_err(|_| Errno::EINVAL)?;
    let mut out = Vec::new();
    for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
        let mut w = line.split_whitespace();
        let (Some(c), Some(s), Some(n), None) = (w.next(), w.next(), w.next(), w.next()) else { return Err(Errno::EINVAL) };
        let clock = match c {
            "monotonic" => CLOCK_MONOTONIC,
            "boottime" => CLOCK_BOOTTIME,
            c => c.parse::<u32>().map_err(|_| Errno::EINVAL)?,
        };
        let secs: i64 = s.parse().map_err(|_| Errno::EINVAL)?;
        let nsec: u64 = n.parse().map_err(|_| Errno::EINVAL)?;
        if clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME || nsec >= NSEC as u64 {
            return Err(Errno::EINVAL);
        }
        if !(-KTIME_SEC_MAX..=KTIME_SEC_MAX).contains(&secs) {
            return Err(Errno::ERANGE);
        }
        let t = now_s.saturating_add(secs);
        if t < 0 || t > KTIME_SEC_MAX / 2 {
            return Err(Errno::ERANGE);
        }
        out.push((clock, secs * NSEC + nsec as i64));
    }
    Ok(out)
}

/// `ns` (a reading of the node's clock) as a process in a time namespace
/// with `offset` sees it.
pub fn to_ns_view(ns: u64, offset: i64) -> u64 {
    (ns as i64).saturating_add(offset).max(0) as u64
}

/// A time a process in the namespace gave (an absolute deadline) as the
/// node's clock reads it.
pub fn from_ns_view(ns: u64, offset: i64) -> u64 {
    (ns as i64).saturating_sub(offset).max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        assert_eq!(Kind::Uts.link(INIT_UTS), "uts:[4026531838]");
        assert_eq!(Kind::TimeForChildren.link(INIT_TIME), "time:[4026531834]");
        assert_eq!(Kind::Mnt.link(INIT_MNT), "mnt:[4026531841]");
        assert_eq!(Kind::parse_link(b"time_for_children", b"time:[4026531834]"), Some((Kind::TimeForChildren, INIT_TIME)));
        assert_eq!(Kind::parse_link(b"uts", b"mnt:[4026531841]"), None);
        assert_eq!(Kind::parse_link(b"net", b"net:[4026531840]"), None);
    }

    #[test]
    fn children_take_the_time_namespace_for_children() {
        let s = NsSet { time_for_children: 5, ..NsSet::default() };
        assert_eq!(s.for_child().time, 5);
        assert_eq!(s.for_child().time_for_children, 5);
        assert_eq!(s.time, INIT_TIME);
    }

    #[test]
    fn offsets() {
        assert_eq!(offsets_text(&TimeNs::default()), "monotonic           0         0\nboottime            0         0\n");
        let t = TimeNs { monotonic: -10 * NSEC, boottime: 3 * NSEC + 5, frozen: false };
        assert_eq!(offsets_text(&t), "monotonic         -10         0\nboottime            3         5\n");
        assert_eq!(parse_offsets(b"1 10 0", 100), Ok(alloc::vec![(1, 10 * NSEC)]));
        assert_eq!(parse_offsets(b"monotonic -10 0\nboottime 2 7\n", 100), Ok(alloc::vec![(1, -10 * NSEC), (7, 2 * NSEC + 7)]));
        assert_eq!(parse_offsets(b"0 10 0", 100), Err(Errno::EINVAL), "CLOCK_REALTIME has no offset");
        assert_eq!(parse_offsets(b"1 10 1000000000", 100), Err(Errno::EINVAL));
        assert_eq!(parse_offsets(b"1 10", 100), Err(Errno::EINVAL));
        assert_eq!(parse_offsets(b"1 -200 0", 100), Err(Errno::ERANGE), "the clock would be negative");
        assert_eq!(to_ns_view(5 * NSEC as u64, -2 * NSEC), 3 * NSEC as u64);
        assert_eq!(from_ns_view(13 * NSEC as u64, 10 * NSEC), 3 * NSEC as u64);
    }
}
