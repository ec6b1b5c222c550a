//! What SiON implements, straight from the personality's dispatch tables
//! (`sion_linux::syscalls::table`), against the full Linux tables generated
//! from Debian's kernel headers (`sion_linux::syscalls::names`).

use serde::Serialize;
use sion_linux::layout::Abi;
use sion_linux::syscalls::{names, table, Status};

/// The two ABIs, in report order.
pub const ABIS: [Abi; 2] = [Abi::X86_64, Abi::I386];

pub fn abi_name(abi: Abi) -> &'static str {
    match abi {
        Abi::X86_64 => "x86_64",
        Abi::I386 => "i386",
    }
}

/// The category a call belongs to in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Files,
    Memory,
    Processes,
    Signals,
    Time,
    Network,
    Other,
}

pub const CATEGORIES: [Category; 7] =
    [Category::Files, Category::Memory, Category::Processes, Category::Signals, Category::Time, Category::Network, Category::Other];

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Files => "files",
            Category::Memory => "memory",
            Category::Processes => "processes",
            Category::Signals => "signals",
            Category::Time => "time",
            Category::Network => "network",
            Category::Other => "other",
        }
    }
}

/// The category of a Linux call, by its name (the same for both ABIs, and for
/// calls SiON does not implement, so it cannot come from the handler alone).
/// The first rule that matches wins: `=name` exact, `name*` prefix, `*name` suffix.
pub fn category(name: &str) -> Category {
    use Category::*;
    const RULES: &[(&str, Category)] = &[
        // Before the broad prefixes below.
        ("=sethostname", Network),
        ("=setdomainname", Network),
        ("=signalfd", Signals),
        ("=signalfd4", Signals),
        ("timerfd_*", Time),
        ("=utime", Files),
        ("=utimes", Files),
        ("utimensat*", Files),
        ("=futimesat", Files),
        ("=sigaltstack", Signals),
        ("=rt_sigreturn", Signals),
        ("=restart_syscall", Signals),
        ("=pidfd_send_signal", Signals),
        ("=process_madvise", Memory),
        ("=process_mrelease", Memory),
        ("=memfd_create", Files),
        ("=memfd_secret", Memory),
        ("=alarm", Signals),
        ("=pause", Signals),
        ("=times", Time),
        // Signals.
        ("rt_sig*", Signals),
        ("sig*", Signals),
        ("=kill", Signals),
        ("=tkill", Signals),
        ("=tgkill", Signals),
        ("=rt_tgsigqueueinfo", Signals),
        ("=sgetmask", Signals),
        ("=ssetmask", Signals),
        // Time.
        ("clock_*", Time),
        ("timer_*", Time),
        ("=time", Time),
        ("=stime", Time),
        ("=gettimeofday", Time),
        ("=settimeofday", Time),
        ("=nanosleep", Time),
        ("=getitimer", Time),
        ("=setitimer", Time),
        ("=adjtimex", Time),
        ("=ftime", Time),
        // Network.
        ("socket*", Network),
        ("=bind", Network),
        ("=connect", Network),
        ("=listen", Network),
        ("accept*", Network),
        ("=sendfile", Files),
        ("=sendfile64", Files),
        ("send*", Network),
        ("recv*", Network),
        ("=shutdown", Network),
        ("=getsockname", Network),
        ("=getpeername", Network),
        ("=setsockopt", Network),
        ("=getsockopt", Network),
        // Memory.
        ("=brk", Memory),
        ("mmap*", Memory),
        ("=old_mmap", Memory),
        ("=munmap", Memory),
        ("=mprotect", Memory),
        ("=mremap", Memory),
        ("=msync", Memory),
        ("=mincore", Memory),
        ("=madvise", Memory),
        ("mlock*", Memory),
        ("munlock*", Memory),
        ("=remap_file_pages", Memory),
        ("=mbind", Memory),
        ("*mempolicy", Memory),
        ("=set_mempolicy_home_node", Memory),
        ("=migrate_pages", Memory),
        ("=move_pages", Memory),
        ("pkey_*", Memory),
        ("=userfaultfd", Memory),
        ("=membarrier", Memory),
        ("shm*", Memory),
        ("=swapon", Memory),
        ("=swapoff", Memory),
        // Processes, threads, ids, scheduling, limits.
        ("=fork", Processes),
        ("=vfork", Processes),
        ("clone*", Processes),
        ("execve*", Processes),
        ("=exit", Processes),
        ("=exit_group", Processes),
        ("wait*", Processes),
        ("get*id", Processes),
        ("get*id32", Processes),
        ("set*id", Processes),
        ("set*id32", Processes),
        ("getres*", Processes),
        ("setres*", Processes),
        ("getgroups*", Processes),
        ("setgroups*", Processes),
        ("=getpgrp", Processes),
        ("=setsid", Processes),
        ("=prctl", Processes),
        ("=arch_prctl", Processes),
        ("=set_tid_address", Processes),
        ("*_thread_area", Processes),
        ("*_robust_list", Processes),
        ("futex*", Processes),
        ("=rseq", Processes),
        ("sched_*", Processes),
        ("*rlimit", Processes),
        ("=prlimit64", Processes),
        ("=getrusage", Processes),
        ("*priority", Processes),
        ("=nice", Processes),
        ("=unshare", Processes),
        ("=setns", Processes),
        ("=personality", Processes),
        ("cap*", Processes),
        ("=ptrace", Processes),
        ("=kcmp", Processes),
        ("pidfd_*", Processes),
        ("process_vm_*", Processes),
        ("ioprio_*", Processes),
        ("=seccomp", Processes),
        ("=getcpu", Processes),
        ("=acct", Processes),
        ("=vhangup", Processes),
        ("=uname", Other),
        ("=olduname", Other),
        ("=oldolduname", Other),
        // Files, descriptors, file systems, I/O multiplexing.
        ("=read", Files),
        ("=write", Files),
        ("open*", Files),
        ("=close", Files),
        ("=close_range", Files),
        ("=creat", Files),
        ("*stat", Files),
        ("*stat64", Files),
        ("=statx", Files),
        ("=newfstatat", Files),
        ("=fstatat64", Files),
        ("=syncfs", Files),
        ("*statfs", Files),
        ("*statfs64", Files),
        ("=ustat", Files),
        ("=poll", Files),
        ("ppoll*", Files),
        ("*select", Files),
        ("pselect6*", Files),
        ("epoll_*", Files),
        ("*lseek", Files),
        ("pread*", Files),
        ("pwrite*", Files),
        ("=readv", Files),
        ("=writev", Files),
        ("*access*", Files),
        ("pipe*", Files),
        ("dup*", Files),
        ("fcntl*", Files),
        ("=flock", Files),
        ("*sync", Files),
        ("=sync_file_range", Files),
        ("*truncate*", Files),
        ("getdents*", Files),
        ("=readdir", Files),
        ("=getcwd", Files),
        ("*chdir", Files),
        ("=chroot", Files),
        ("rename*", Files),
        ("mkdir*", Files),
        ("=rmdir", Files),
        ("link*", Files),
        ("unlink*", Files),
        ("symlink*", Files),
        ("readlink*", Files),
        ("*chmod*", Files),
        ("*chown*", Files),
        ("=umask", Files),
        ("mknod*", Files),
        ("=ioctl", Files),
        ("sendfile*", Files),
        ("=splice", Files),
        ("=tee", Files),
        ("=vmsplice", Files),
        ("*xattr", Files),
        ("inotify_*", Files),
        ("fanotify_*", Files),
        ("eventfd*", Files),
        ("=copy_file_range", Files),
        ("=fallocate", Files),
        ("fadvise64*", Files),
        ("=readahead", Files),
        ("=name_to_handle_at", Files),
        ("io_*", Files),
        ("=lookup_dcookie", Files),
    ];
    for (pat, cat) in RULES {
        let hit = if let Some(exact) = pat.strip_prefix('=') {
            name == exact
        } else if let Some((pre, post)) = pat.split_once('*') {
            name.len() >= pre.len() + post.len() && name.starts_with(pre) && name.ends_with(post)
        } else {
            name == *pat
        };
        if hit {
            return *cat;
        }
    }
    Other
}

/// How SiON answers a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "status", content = "note")]
pub enum Support {
    Complete,
    Partial(String),
    Absent,
}

impl Support {
    pub fn word(&self) -> &'static str {
        match self {
            Support::Complete => "complete",
            Support::Partial(_) => "partial",
            Support::Absent => "absent",
        }
    }
    pub fn implemented(&self) -> bool {
        !matches!(self, Support::Absent)
    }
}

/// One Linux call of one ABI.
#[derive(Clone, Debug, Serialize)]
pub struct Call {
    pub nr: u32,
    pub name: &'static str,
    pub category: Category,
    #[serde(flatten)]
    pub support: Support,
}

/// Every Linux call of the ABI, in number order, with SiON's support.
pub fn calls(abi: Abi) -> Vec<Call> {
    let all: &[(u32, &str)] = match abi {
        Abi::X86_64 => &names::x86_64::NAMES,
        Abi::I386 => &names::i386::NAMES,
    };
    all.iter()
        .map(|&(nr, name)| {
            let support = match table::lookup(abi, nr as u64) {
                Some(e) => match e.status {
                    Status::Complete => Support::Complete,
                    Status::Partial(note) => Support::Partial(note.to_string()),
                },
                None => Support::Absent,
            };
            Call { nr, name, category: category(name), support }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_of_known_calls() {
        for (n, c) in [
            ("read", Category::Files),
            ("openat", Category::Files),
            ("fstatat64", Category::Files),
            ("newfstatat", Category::Files),
            ("_llseek", Category::Files),
            ("_newselect", Category::Files),
            ("mmap2", Category::Memory),
            ("brk", Category::Memory),
            ("clone3", Category::Processes),
            ("getuid32", Category::Processes),
            ("setresgid", Category::Processes),
            ("ugetrlimit", Category::Processes),
            ("rt_sigaction", Category::Signals),
            ("sigreturn", Category::Signals),
            ("signalfd4", Category::Signals),
            ("kill", Category::Signals),
            ("clock_gettime64", Category::Time),
            ("timerfd_settime64", Category::Time),
            ("nanosleep", Category::Time),
            ("socketcall", Category::Network),
            ("accept4", Category::Network),
            ("recvmmsg_time64", Category::Network),
            ("sendfile64", Category::Files),
            ("utimensat_time64", Category::Files),
            ("uname", Category::Other),
            ("bpf", Category::Other),
        ] {
            assert_eq!(category(n), c, "{n}");
        }
    }

    #[test]
    fn every_table_entry_is_reported_implemented() {
        for abi in ABIS {
            let calls = calls(abi);
            let implemented: Vec<u32> = calls.iter().filter(|c| c.support.implemented()).map(|c| c.nr).collect();
            let table: Vec<u32> = table::table_of(abi).iter().map(|e| e.nr).collect();
            assert_eq!(implemented, table, "{abi:?}");
        }
    }
}
