//! /proc: the node's files, a directory per process (made empty at fork,
//! filled when first looked at) with its `fd/` links, and the text of the
//! generated files, taken when they are opened.

use super::*;


/// Tags of generated /proc files. A process's own files (`SELF_*`) carry
/// its pid too ([`tag::of`]): `/proc/<pid>/stat` is generated from process
/// `pid`, whoever opens it.
pub mod tag {
    /// The tag of kind `kind` for process `pid`.
    pub const fn of(kind: u32, pid: u32) -> u32 {
        kind | pid << 8
    }
    pub const fn kind(tag: u32) -> u32 {
        tag & 0xff
    }
    pub const fn pid(tag: u32) -> u32 {
        tag >> 8
    }
    /// The process whose file it is, 0 for the node's files (whose tags
    /// carry an index instead, as `SYSCTL`'s).
    pub const fn owner(tag: u32) -> u32 {
        if kind(tag) == SYSCTL {
            0
        } else {
            pid(tag)
        }
    }
    pub const CPUINFO: u32 = 1;
    pub const MEMINFO: u32 = 2;
    pub const UPTIME: u32 = 3;
    pub const LOADAVG: u32 = 4;
    pub const STAT: u32 = 5;
    pub const SELF_MAPS: u32 = 10;
    pub const SELF_STAT: u32 = 11;
    pub const SELF_STATUS: u32 = 12;
    pub const SELF_CMDLINE: u32 = 13;
    pub const SELF_ENVIRON: u32 = 14;
    pub const SELF_FD: u32 = 15;
    pub const SELF_STATM: u32 = 16;
    pub const FILESYSTEMS: u32 = 17;
    /// /proc/<pid> itself, while still empty (see `add_proc_stub`).
    pub const PROC_DIR: u32 = 19;
    pub const MOUNTS: u32 = 18;
    /// A file of /proc/sys, its index in `SYSCTLS` in place of a pid.
    pub const SYSCTL: u32 = 20;
    /// /proc/sysvipc/shm, sem, msg.
    pub const SYSVIPC_SHM: u32 = 21;
    pub const SYSVIPC_SEM: u32 = 22;
    pub const SYSVIPC_MSG: u32 = 23;
    pub const SELF_MOUNTINFO: u32 = 24;
    pub const SELF_COMM: u32 = 25;
    pub const SELF_COREDUMP_FILTER: u32 = 26;
    /// /proc/<pid>/pagemap, read at any offset (`Process::pagemap`).
    pub const SELF_PAGEMAP: u32 = 27;
    /// /proc/<pid>/fdinfo/<fd>: to generate, the kind carries the fd
    /// above its byte (`FDINFO | fd << 8`), found from the file's name.
    pub const FDINFO: u32 = 28;
    /// /sys/devices/system/node/node0/meminfo, cpulist and cpumap, and
    /// /sys/devices/system/cpu/online, possible and present (the CPU list).
    pub const NODE_MEMINFO: u32 = 31;
    pub const NODE_CPULIST: u32 = 32;
    pub const NODE_CPUMAP: u32 = 33;
    /// /proc/<pid>/auxv: the saved aux vector.
    pub const SELF_AUXV: u32 = 29;
    /// /proc/<pid>/timens_offsets.
    pub const SELF_TIMENS: u32 = 30;
}

/// The files of /proc/<pid>/ and of /proc/<pid>/task/<tid>/ (a thread's
/// view is its process's; its `fd` is a link to the process's).
const PROC_FILES: [(&str, u32, u32); 13] = [
    ("auxv", tag::SELF_AUXV, 0o400),
    ("timens_offsets", tag::SELF_TIMENS, 0o644),
    ("comm", tag::SELF_COMM, 0o444),
    ("coredump_filter", tag::SELF_COREDUMP_FILTER, 0o644),
    ("maps", tag::SELF_MAPS, 0o444),
    ("pagemap", tag::SELF_PAGEMAP, 0o400),
    ("stat", tag::SELF_STAT, 0o444),
    ("statm", tag::SELF_STATM, 0o444),
    ("status", tag::SELF_STATUS, 0o444),
    ("cmdline", tag::SELF_CMDLINE, 0o444),
    ("environ", tag::SELF_ENVIRON, 0o400),
    ("mounts", tag::MOUNTS, 0o444),
    ("mountinfo", tag::SELF_MOUNTINFO, 0o444),
];

fn proc_dir(v: &Vfs) -> Ino {
    v.child(v.root, b"proc").ok().flatten().unwrap_or(v.root)
}

/// Make /proc/<pid> for a new process (the job's first) with `exe`, `cwd`,
/// `fd/`, the generated files and `task/<pid>/`; the owner is the
/// process's (uid, gid). Returns its `fd` directory.
pub fn add_proc_dir(v: &mut Vfs, pid: u32, (uid, gid): (u32, u32), exe: &[u8], cwd: &[u8]) -> Ino {
    let pd = add_proc_stub(v, pid, (uid, gid));
    fill_proc_dir(v, pd, pid, exe, cwd, &[pid])
}

/// Make /proc/<pid> of a fork's child empty: its files are made when first
/// looked for (`fill_proc_dir`, through the VFS's `FETCH`, answered by the
/// process table at once), so a fork does not pay for a tree few look at.
pub fn add_proc_stub(v: &mut Vfs, pid: u32, (uid, gid): (u32, u32)) -> Ino {
    let proc_ = proc_dir(v);
    let name = format!("{pid}");
    v.remove_tree(proc_, name.as_bytes());
    let pd = v.add(proc_, name.as_bytes(), Data::Dir(Default::default()), 0o555, uid, gid);
    let n = v.node_mut(pd);
    n.tag = tag::of(tag::PROC_DIR, pid);
    n.remote = true;
    pd
}

/// The process whose /proc directory `ino` is (filled or not).
pub fn proc_dir_pid(v: &Vfs, ino: Ino) -> Option<u32> {
    let n = v.node(ino);
    (n.is_dir() && tag::kind(n.tag) == tag::PROC_DIR).then(|| tag::pid(n.tag))
}

/// The process whose /proc directory `ino` is, if it is one still empty.
pub fn proc_stub_of(v: &Vfs, ino: Ino) -> Option<u32> {
    let n = v.node(ino);
    (n.remote && n.is_dir() && tag::kind(n.tag) == tag::PROC_DIR).then(|| tag::pid(n.tag))
}

/// Fill /proc/<pid> (directory `pd`) with its files and a `task/<tid>/`
/// per thread of `tids`. Returns its `fd` directory.
pub fn fill_proc_dir(v: &mut Vfs, pd: Ino, pid: u32, exe: &[u8], cwd: &[u8], tids: &[u32]) -> Ino {
    let (uid, gid) = (v.node(pd).uid, v.node(pd).gid);
    v.node_mut(pd).remote = false;
    proc_files(v, pd, pid, (uid, gid), exe, cwd);
    let fdd = v.add(pd, b"fd", Data::Dir(Default::default()), 0o500, uid, gid);
    v.node_mut(fdd).tag = tag::of(tag::SELF_FD, pid);
    v.add(pd, b"fdinfo", Data::Dir(Default::default()), 0o555, uid, gid);
    // Filled by the process's next path call (`sync_map_files`).
    v.add(pd, b"map_files", Data::Dir(Default::default()), 0o500, uid, gid);
    // Its namespaces (`Process::sync_ns_links` points them).
    let nsd = v.add(pd, b"ns", Data::Dir(Default::default()), 0o511, uid, gid);
    for k in crate::ns::Kind::ALL {
        v.add(nsd, k.name().as_bytes(), Data::Symlink(k.link(crate::ns::NsSet::default().get(k)).into_bytes()), 0o777, uid, gid);
    }
    v.add(pd, b"task", Data::Dir(Default::default()), 0o555, uid, gid);
    for &tid in tids {
        add_task_dir(v, pid, tid, exe, cwd);
    }
    fdd
}

fn proc_files(v: &mut Vfs, dir: Ino, pid: u32, (uid, gid): (u32, u32), exe: &[u8], cwd: &[u8]) {
    for (name, kind, perm) in PROC_FILES {
        let i = v.add(dir, name.as_bytes(), Data::Reg(Default::default()), perm, uid, gid);
        v.node_mut(i).tag = tag::of(kind, pid);
    }
    v.add(dir, b"exe", Data::Symlink(exe.to_vec()), 0o777, uid, gid);
    v.add(dir, b"cwd", Data::Symlink(cwd.to_vec()), 0o777, uid, gid);
}

/// /proc/<pid>/task/<tid> for a thread of process `pid`.
pub fn add_task_dir(v: &mut Vfs, pid: u32, tid: u32, exe: &[u8], cwd: &[u8]) {
    let Ok(task) = v.lookup(v.root, format!("/proc/{pid}/task").as_bytes(), false, &Cred::root()) else { return };
    let (uid, gid) = (v.node(task).uid, v.node(task).gid);
    let name = format!("{tid}");
    v.remove_tree(task, name.as_bytes());
    let td = v.add(task, name.as_bytes(), Data::Dir(Default::default()), 0o555, uid, gid);
    proc_files(v, td, pid, (uid, gid), exe, cwd);
    v.add(td, b"fd", Data::Symlink(b"../../fd".to_vec()), 0o777, uid, gid);
    v.add(td, b"fdinfo", Data::Symlink(b"../../fdinfo".to_vec()), 0o777, uid, gid);
}

/// The thread whose view file `ino` is: <tid> of /proc/<pid>/task/<tid>/NAME.
pub fn task_of_file(v: &Vfs, ino: Ino) -> Option<u32> {
    let path = v.path_of(ino)?;
    let parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    match parts.as_slice() {
        [b"", b"proc", _, b"task", tid, _] => core::str::from_utf8(tid).ok()?.parse().ok(),
        _ => None,
    }
}

/// A thread ended: its /proc/<pid>/task/<tid> goes.
pub fn remove_task_dir(v: &mut Vfs, pid: u32, tid: u32) {
    if let Ok(task) = v.lookup(v.root, format!("/proc/{pid}/task").as_bytes(), false, &Cred::root()) {
        v.remove_tree(task, format!("{tid}").as_bytes());
    }
}

/// A process ended: /proc/<pid> goes (files open in it live on).
pub fn remove_proc_dir(v: &mut Vfs, pid: u32) {
    let proc_ = proc_dir(v);
    v.remove_tree(proc_, format!("{pid}").as_bytes());
}

/// Point the links named `name` (`exe`, `cwd`) of /proc/<pid> and of each
/// of its threads at `target`.
pub fn set_proc_link(v: &mut Vfs, pid: u32, name: &[u8], target: &[u8]) {
    let Ok(pd) = v.lookup(v.root, format!("/proc/{pid}").as_bytes(), false, &Cred::root()) else { return };
    let mut dirs = alloc::vec![pd];
    if let Ok(Some(task)) = v.child(pd, b"task") {
        dirs.extend(v.readdir(task).unwrap_or_default().into_iter().skip(2).map(|e| e.ino));
    }
    for d in dirs {
        if let Ok(Some(l)) = v.child(d, name) {
            if let Data::Symlink(t) = &mut v.node_mut(l).data {
                *t = target.to_vec();
            }
        }
    }
}

impl Process {
    /// /proc/<pid>/map_files: a link named "start-end" (hex) per mapping
    /// of a file (the program's image, its interpreter's, mmap'd files),
    /// to the file, rebuilt when the mappings changed.
    fn sync_map_files(&mut self) {
        let Ok(dir) = self.job.vfs.lookup(self.job.vfs.root, format!("/proc/{}/map_files", self.pid).as_bytes(), false, &Cred::root()) else { return };
        let interp = self.plan.interp.clone().unwrap_or_default();
        let mut want: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for v in self.vmas.iter() {
            let (start, end, target) = match v.kind {
                VmaKind::Image => (v.start, v.end, self.exe.as_bytes().to_vec()),
                VmaKind::Interp => (v.start, v.end, interp.clone()),
                _ => match self.mapped_files.iter().find(|m| m.0 < v.end && v.start < m.1) {
                    Some((s, e, path)) => (v.start.max(*s), v.end.min(*e), path.clone()),
                    None => continue,
                },
            };
            want.push((format!("{start:x}-{end:x}").into_bytes(), target));
        }
        let have: Vec<(Vec<u8>, Vec<u8>)> = self
            .job
            .vfs
            .readdir(dir)
            .unwrap_or_default()
            .into_iter()
            .skip(2)
            .map(|e| {
                let t = match &self.job.vfs.node(e.ino).data {
                    Data::Symlink(t) => t.clone(),
                    _ => Vec::new(),
                };
                (e.name, t)
            })
            .collect();
        let (mut have, mut want) = (have, want);
        have.sort_unstable();
        want.sort_unstable();
        if have == want {
            return;
        }
        for (name, _) in have {
            let _ = self.job.vfs.unlink(dir, &name, &Cred::root());
        }
        for (name, target) in want {
            self.job.vfs.add(dir, &name, Data::Symlink(target), 0o400, self.uid, self.gid);
        }
    }

    /// Bring /proc/<pid>/fd up to date when descriptors changed: the links
    /// of the changed descriptors, or all of them after a fork or exec.
    pub(super) fn sync_proc(&mut self) {
        self.sync_map_files();
        if !self.files.fd_dirty && self.files.fd_changed.is_empty() {
            return;
        }
        let dir = self.files.proc_fd_dir;
        if dir == 0 {
            return; // /proc/<pid> not made yet: it will be, with its fd/
        }
        // fdinfo/ beside fd/: a file per descriptor, generated when opened.
        let info = self.job.vfs.child(self.job.vfs.node(dir).parent, b"fdinfo").ok().flatten().filter(|&i| self.job.vfs.node(i).is_dir());
        let dirs: Vec<Ino> = core::iter::once(dir).chain(info).collect();
        let changed: Vec<i32> = if self.files.fd_dirty {
            self.files.fd_dirty = false;
            self.files.fd_changed.clear();
            for &d in &dirs {
                let old: Vec<Vec<u8>> = self.job.vfs.readdir(d).unwrap_or_default().into_iter().skip(2).map(|e| e.name).collect();
                for name in old {
                    let _ = self.job.vfs.unlink(d, &name, &Cred::root());
                }
            }
            self.files.fds.keys().copied().collect()
        } else {
            let mut c = core::mem::take(&mut self.files.fd_changed);
            c.sort_unstable();
            c.dedup();
            for &fd in &c {
                for &d in &dirs {
                    let _ = self.job.vfs.unlink(d, format!("{fd}").as_bytes(), &Cred::root());
                }
            }
            c
        };
        for fd in changed {
            let Some(obj) = self.files.fds.get(&fd).map(|e| e.file.borrow().obj) else { continue };
            let target = obj.with(|k| k.path(self));
            let name = format!("{fd}");
            self.job.vfs.add(dir, name.as_bytes(), Data::Symlink(target), 0o700, self.uid, self.gid);
            if let Some(info) = info {
                let i = self.job.vfs.add(info, name.as_bytes(), Data::Reg(Default::default()), 0o444, self.uid, self.gid);
                self.job.vfs.node_mut(i).tag = tag::of(tag::FDINFO, self.pid);
            }
        }
    }

    /// /proc/<pid>/fdinfo/<fd> as Linux 6.1 writes it: the position, the
    /// status flags (O_CLOEXEC for the descriptor's flag), the mount and
    /// the inode, then what the kind adds (inotify's watches, eventfd's
    /// count, epoll's interest list, signalfd's mask, timerfd's setting,
    /// pidfd's process).
    fn fdinfo_text(&self, fd: i32) -> String {
        let Some(ent) = self.files.fds.get(&fd) else { return String::new() };
        let f = ent.file.borrow();
        let flags = f.flags | if ent.cloexec { O_CLOEXEC } else { 0 };
        let v = &self.job.vfs;
        let st = f.obj.with(|k| k.stat(self));
        // Pipes, sockets and anonymous inodes are on Linux's internal mounts.
        let mnt = match f.obj {
            Obj::Node(ino) => v.mount_of(ino).map_or(0, |m| m.id),
            _ => 15,
        };
        let kdev = |dev: u64| ((dev >> 8) & 0xfff) << 20 | (dev & 0xff) | ((dev >> 12) & 0xfff00);
        let mut s = format!("pos:\t{}\nflags:\t0{:o}\nmnt_id:\t{}\nino:\t{}\n", f.off, flags, mnt, st.ino);
        match f.obj {
            Obj::Inotify(id) => {
                if let Some(Some(n)) = self.job.inotify.get(id as usize) {
                    for &(wd, ino, mask) in &n.watches {
                        let dev = v.get(ino).map_or(0, |i| i.dev);
                        let mut h = Vec::new();
                        h.extend_from_slice(&0u32.to_le_bytes());
                        h.extend_from_slice(&ino.to_le_bytes());
                        let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
                        s += &format!("inotify wd:{wd:x} ino:{ino:x} sdev:{:x} mask:{mask:x} ignored_mask:0 fhandle-bytes:c fhandle-type:1 f_handle:{hex}\n", kdev(dev));
                    }
                }
            }
            Obj::EventFd(id) => {
                if let Some(e) = self.job.eventfds.get(&id) {
                    s += &format!("eventfd-count: {:16x}\neventfd-id: {id}\n", e.count);
                }
            }
            Obj::Epoll(id) => {
                if let Some(list) = self.job.epolls.get(&id) {
                    for (&tfd, i) in list.iter() {
                        let (events, data) = (i.events, i.data);
                        let (pos, ino, dev) = match self.files.fds.get(&tfd) {
                            Some(e) => {
                                let t = e.file.borrow();
                                let st = t.obj.with(|k| k.stat(self));
                                (t.off, st.ino, st.dev)
                            }
                            None => (0, 0, 0),
                        };
                        s += &format!("tfd: {tfd:8} events: {events:8x} data: {data:16x}  pos:{pos} ino:{ino:x} sdev:{:x}\n", kdev(dev));
                    }
                }
            }
            Obj::SignalFd(id) => {
                if let Some(mask) = self.job.signalfds.get(&id) {
                    s += &format!("sigmask:\t{mask:016x}\n");
                }
            }
            Obj::TimerFd(id) => {
                if let Some(t) = self.job.timerfds.get(&id) {
                    let now = if crate::process::posix_timer::realtime_clock(t.clock) { self.node.realtime_ns } else { self.node.uptime_ns };
                    let left = t.t.left(now);
                    s += &format!(
                        "clockid: {}\nticks: {}\nsettime flags: 00\nit_value: ({}, {})\nit_interval: ({}, {})\n",
                        t.clock,
                        t.ticks,
                        left / 1_000_000_000,
                        left % 1_000_000_000,
                        t.t.interval / 1_000_000_000,
                        t.t.interval % 1_000_000_000
                    );
                }
            }
            Obj::PidFd(pid) => s += &format!("Pid:\t{pid}\nNSpid:\t{pid}\n"),
            _ => {}
        }
        s
    }

    /// The text of the generated /proc file of kind `t`, for this process.
    pub fn generate(&mut self, t: u32) -> Vec<u8> {
        self.generate_for(t, None)
    }

    /// The same for thread `tid`'s view (/proc/<pid>/task/<tid>/...);
    /// `None`: the process's (its leader's state).
    pub fn generate_for(&mut self, t: u32, tid: Option<u32>) -> Vec<u8> {
        if tag::kind(t) == tag::FDINFO {
            return self.fdinfo_text((t >> 8) as i32).into_bytes();
        }
        let view = tid.unwrap_or(self.pid);
        let s: String = match t {
            tag::CPUINFO => {
                let mhz = self.node.tsc_hz / 1_000_000;
                let mut s = String::new();
                for cpu in 0..self.node.cpus.max(1) {
                    s += &format!(
                        "processor\t: {cpu}\nvendor_id\t: {}\nmodel name\t: {}\ncpu MHz\t\t: {mhz}.000\ncache size\t: 512 KB\nphysical id\t: 0\nsiblings\t: {}\ncore id\t\t: {cpu}\ncpu cores\t: {}\nfpu\t\t: yes\nflags\t\t: fpu tsc sse sse2\nbogomips\t: {}.00\n\n",
                        self.node.vendor, self.node.model, self.node.cpus, self.node.cpus, mhz * 2
                    );
                }
                s
            }
            tag::MEMINFO => {
                let kb = |b: u64| b / 1024;
                let (total, free) = (self.node.total_bytes, self.node.free_bytes);
                format!(
                    "MemTotal:       {:8} kB\nMemFree:        {:8} kB\nMemAvailable:   {:8} kB\nBuffers:               0 kB\nCached:         {:8} kB\nSwapCached:            0 kB\nShmem:          {:8} kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n",
                    kb(total),
                    kb(free),
                    kb(free),
                    kb(self.job.vfs.used()),
                    kb(self.job.vfs.used())
                )
            }
            tag::NODE_MEMINFO => {
                // Linux's node_read_meminfo: the node's share (all of it) in
                // its own format, "Node 0 " before each figure.
                let kb = |b: u64| b / 1024;
                let (total, free, files) = (self.node.total_bytes, self.node.free_bytes, self.job.vfs.used());
                let mut s = String::new();
                for (name, v) in [("MemTotal", kb(total)), ("MemFree", kb(free)), ("MemUsed", kb(total.saturating_sub(free))), ("FilePages", kb(files)), ("Shmem", kb(files)), ("HugePages_Total", 0), ("HugePages_Free", 0)] {
                    let unit = if name.starts_with("Huge") { "" } else { " kB" };
                    s += &format!("Node 0 {:<16}{v:8}{unit}\n", format!("{name}:"));
                }
                s
            }
            tag::NODE_CPULIST => match self.node.cpus.max(1) {
                1 => String::from("0\n"),
                n => format!("0-{}\n", n - 1),
            },
            tag::NODE_CPUMAP => format!("{:08x}\n", (1u64 << self.node.cpus.clamp(1, 32)) - 1),
            tag::UPTIME => {
                let up = crate::ns::to_ns_view(self.node.uptime_ns, self.clock_offset(7));
                let idle = self.node.idle_ns;
                format!("{}.{:02} {}.{:02}\n", up / 1_000_000_000, up / 10_000_000 % 100, idle / 1_000_000_000, idle / 10_000_000 % 100)
            }
            tag::LOADAVG => format!("0.00 0.00 0.00 1/{} {}\n", self.node.tasks.max(1), self.pid),
            tag::STAT => {
                let ticks = |ns: u64| ns / 10_000_000;
                // The kernel's idle time is summed over the CPUs.
                let cpus = self.node.cpus.max(1);
                let busy = ticks(self.node.uptime_ns.saturating_mul(cpus).saturating_sub(self.node.idle_ns));
                let idle = ticks(self.node.idle_ns);
                let boot = (self.node.realtime_ns.saturating_sub(self.node.uptime_ns)) / 1_000_000_000;
                // A line per CPU (glibc counts them when /sys is missing);
                // the kernel reports the node's time, shared out evenly.
                let mut s = format!("cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\n");
                for cpu in 0..cpus {
                    s += &format!("cpu{cpu} {} 0 0 {} 0 0 0 0 0 0\n", busy / cpus, idle / cpus);
                }
                s + &format!("intr 0\nctxt 0\nbtime {boot}\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n")
            }
            tag::SYSVIPC_SHM => self.job.ipc.proc_shm(),
            tag::SYSVIPC_SEM => self.job.ipc.proc_sem(),
            tag::SYSVIPC_MSG => self.job.ipc.proc_msg(),
            tag::FILESYSTEMS => String::from(super::FILESYSTEMS),
            tag::MOUNTS => self.mounts_text(false),
            tag::SELF_MOUNTINFO => self.mounts_text(true),
            tag::SELF_MAPS => {
                let mut s = String::new();
                for v in self.vmas.iter() {
                    let p = |b: u64, c: char| if v.prot & b != 0 { c } else { '-' };
                    let name = match v.kind {
                        VmaKind::Stack => "[stack]",
                        VmaKind::Brk => "[heap]",
                        VmaKind::Vdso => "[vdso]",
                        VmaKind::Vvar => "[vvar]",
                        VmaKind::Image => self.exe.as_str(),
                        VmaKind::Interp => core::str::from_utf8(self.plan.interp.as_deref().unwrap_or_default()).unwrap_or(""),
                        _ => "",
                    };
                    // 's': a shared mapping (MAP_SHARED anonymous or of a file, System V).
                    let within = |a: u64, b: u64| a <= v.start && v.end <= b;
                    let shared = v.flags & crate::vma::flag::SHARED != 0
                        || self.shm.iter().any(|&(a, b, _, _)| within(a, b))
                        || self.shared.iter().any(|&(a, b, _, _)| within(a, b))
                        || self.sysv_shm.iter().any(|&(a, b, _)| within(a, b));
                    let share = if shared { 's' } else { 'p' };
                    s += &format!("{:08x}-{:08x} {}{}{}{share} 00000000 00:00 0", v.start, v.end, p(1, 'r'), p(2, 'w'), p(4, 'x'));
                    if !name.is_empty() {
                        s += &format!("                          {name}");
                    }
                    s += "\n";
                }
                s
            }
            tag::SELF_STAT => {
                let comm = self.comm();
                let cpu = self.node.cpu_ns / 10_000_000;
                let vsize: u64 = self.vmas.iter().map(|v| v.end - v.start).sum();
                let start = self.node.uptime_ns.saturating_sub(self.node.cpu_ns.max(1)) / 10_000_000;
                let (ppid, pgid, sid) = self.family;
                // startcode, endcode, startstack; start_data ... env_end
                // (Linux's mm landmarks, as exec or PR_SET_MM set them).
                let m = self.mm_map();
                format!(
                    "{} ({comm}) {} {ppid} {pgid} {sid} 0 -1 4194304 0 0 0 0 {cpu} 0 0 0 20 0 {} 0 {start} {vsize} {} {} {} {} {} 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 {} {} {} {} {} {} {} 0\n",
                    self.pid,
                    self.state_letter(view),
                    self.threads.len() + 1,
                    self.node.space_bytes / 4096,
                    u64::MAX,
                    m.start_code,
                    m.end_code,
                    m.start_stack,
                    m.start_data,
                    m.end_data,
                    m.start_brk,
                    m.arg_start,
                    m.arg_end,
                    m.env_start,
                    m.env_end
                )
            }
            tag::SELF_COMM => format!("{}\n", self.comm()),
            tag::SELF_COREDUMP_FILTER => format!("{:08x}\n", self.prctl.coredump_filter),
            tag::SELF_STATM => {
                let vsize: u64 = self.vmas.iter().map(|v| v.end - v.start).sum();
                format!("{} {} 0 0 0 0 0\n", vsize / 4096, self.node.space_bytes / 4096)
            }
            tag::SELF_STATUS => {
                let vsize: u64 = self.vmas.iter().map(|v| v.end - v.start).sum();
                format!(
                    "Name:\t{}\nUmask:\t{:04o}\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\nTracerPid:\t0\nUid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t64\nGroups:\t\nVmSize:\t{:8} kB\nVmLck:\t{:8} kB\nVmRSS:\t{:8} kB\nThreads:\t{}\nSigQ:\t0/63439\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\nCapInh:\t{:016x}\nCapPrm:\t{:016x}\nCapEff:\t{:016x}\nCapBnd:\t{:016x}\nCapAmb:\t{:016x}\nNoNewPrivs:\t{}\nSeccomp:\t0\nCpus_allowed:\t{:x}\nCpus_allowed_list:\t{}\nMems_allowed:\t1\nMems_allowed_list:\t0\n",
                    self.comm(),
                    self.files.umask,
                    if self.state_letter(view) == 'R' { "R (running)" } else { "S (sleeping)" },
                    self.pid,
                    self.pid,
                    self.family.0,
                    self.ids.ruid,
                    self.uid,
                    self.ids.suid,
                    self.files.cred.uid,
                    self.ids.rgid,
                    self.gid,
                    self.ids.sgid,
                    self.files.cred.gid,
                    vsize / 1024,
                    self.vmas.iter().filter(|v| v.flags & crate::vma::flag::LOCKED != 0).map(|v| v.end - v.start).sum::<u64>() / 1024,
                    self.node.space_bytes / 1024,
                    self.threads.len() + 1,
                    self.caps.inheritable,
                    self.caps.permitted,
                    self.caps.effective,
                    self.caps.bounding,
                    self.caps.ambient,
                    self.prctl.no_new_privs as u8,
                    // Every CPU of the node (no affinity narrower than that).
                    (1u64 << self.node.cpus.clamp(1, 63)) - 1,
                    match self.node.cpus.max(1) {
                        1 => String::from("0"),
                        n => format!("0-{}", n - 1),
                    },
                )
            }
            tag::SELF_CMDLINE => {
                let mut v = Vec::new();
                for a in &self.files.argv {
                    v.extend_from_slice(a);
                    v.push(0);
                }
                return v;
            }
            tag::SELF_AUXV => return crate::mm_map::auxv_text(&self.saved_auxv).to_vec(),
            tag::SELF_TIMENS => self.timens_offsets_text(),
            tag::SELF_ENVIRON => {
                let mut v = Vec::new();
                for a in &self.files.envp {
                    v.extend_from_slice(a);
                    v.push(0);
                }
                return v;
            }
            _ => String::new(),
        };
        s.into_bytes()
    }

    /// Bytes of /proc/`pid`/pagemap from offset `off`: a 64-bit word per
    /// page of the address space, bit 63 when the page is present, bit 61
    /// when it is shared memory or a file's; the frame number (bits 0-54)
    /// is 0, as Linux shows it to a process without CAP_SYS_ADMIN (SiON
    /// never tells frames). Another process's: EPERM (not served here).
    pub(super) fn pagemap(&mut self, h: &mut dyn Host, pid: u32, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if pid != self.pid {
            h.log("reading another process's /proc/PID/pagemap: not implemented: EPERM");
            return Err(Errno::EPERM);
        }
        let mut one = [0u8; 1];
        let mut i = 0;
        while i < buf.len() {
            let at = off + i as u64;
            let addr = (at / 8) * PAGE;
            if addr >= self.limit(self.abi) {
                // The end of the address space is the end of the file.
                return Ok(i);
            }
            let word = match self.vmas.lookup(addr) {
                Some(v) if h.mem_read(addr, &mut one) == 1 || (v.prot & 1 == 0 && v.prot != 0) => {
                    let shared = v.flags & (crate::vma::flag::SHARED | crate::vma::flag::FILE) != 0;
                    (1u64 << 63) | if shared { 1 << 61 } else { 0 }
                }
                _ => 0,
            };
            let b = word.to_le_bytes();
            let k = ((8 - at % 8) as usize).min(buf.len() - i);
            buf[i..i + k].copy_from_slice(&b[(at % 8) as usize..(at % 8) as usize + k]);
            i += k;
        }
        Ok(buf.len())
    }

    /// A write to /proc/`pid`/coredump_filter: a number (0x for hex, 0 for
    /// octal, as kstrtouint with base 0) whose 9 filter bits are kept.
    /// Another process's file: EPERM here (Linux lets a process that may
    /// ptrace it write there; SiON writes only its own).
    pub(super) fn coredump_filter_write(&mut self, pid: u32, data: &[u8]) -> SysResult {
        if pid != self.pid {
            return Err(Errno::EPERM);
        }
        let s = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
        let s = s.strip_suffix('\n').unwrap_or(s);
        let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            u32::from_str_radix(h, 16)
        } else if s.len() > 1 && s.starts_with('0') {
            u32::from_str_radix(&s[1..], 8)
        } else {
            s.parse::<u32>()
        }
        .map_err(|_| Errno::EINVAL)?;
        self.prctl.coredump_filter = v & 0x1ff;
        Ok(data.len() as u64)
    }

    /// `R` when thread `view` (the leader for /proc/<pid>, a thread for
    /// task/<tid>) is being served or computing, `S` when it waits in a
    /// call (as Linux's interruptible sleep).
    fn state_letter(&self, view: u32) -> char {
        let waiting = if view == self.tid {
            self.pending.is_some()
        } else {
            self.threads.iter().find(|t| t.tid == view).map_or(self.pending.is_some(), |t| t.pending.is_some())
        };
        if waiting {
            'S'
        } else {
            'R'
        }
    }

    pub(crate) fn comm(&self) -> String {
        if let Some(n) = &self.name {
            return String::from_utf8_lossy(n).into_owned();
        }
        let exe = self.exe.rsplit('/').next().unwrap_or("");
        String::from(&exe[..exe.len().min(15)])
    }
}
