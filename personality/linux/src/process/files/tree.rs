//! The job's file tree: built before the program starts (/etc, /dev, /proc,
//! the job's files, shared directories of the workstation), and what goes
//! back when it ends (`--out`, the write-back of a shared working directory).

use super::*;

/// How a job whose `--file`s exceed the file space fails to start.
pub const FILES_DO_NOT_FIT: &str = "the job's files do not fit in the node's memory";

/// Memory kept for the job itself when staging its files (or an eighth of
/// the node's, if more); `sion exec` refuses a tree past it before booting.
pub const STAGING_RESERVE: u64 = 32 << 20;

/// A staged regular file, its bytes copied once, straight into the file's
/// blocks (no whole copy in between: a large file would need twice its size).
fn put_staged(v: &mut Vfs, path: &[u8], data: &[u8], perm: u32, uid: u32, gid: u32) -> Result<Ino, sion_vfs::Errno> {
    let i = v.put_file(path, Vec::new(), perm, uid, gid)?;
    // Staging is bounded by the caller's check, not by the file space (the
    // job's own writes are).
    let cap = core::mem::replace(&mut v.capacity, u64::MAX);
    let written = v.write_at(i, 0, data);
    v.capacity = cap;
    written.map(|_| i)
}

/// A staged symbolic link (`--file` keeps them), its target unchanged,
/// dangling or not; the directories above it are created as for files.
fn put_symlink(v: &mut Vfs, path: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<Ino, sion_vfs::Errno> {
    let (dirpath, name) = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b""[..], path),
    };
    if name.is_empty() || target.is_empty() {
        return Err(sion_vfs::Errno::ENOENT);
    }
    let dir = v.mkdir_p(dirpath, uid, gid)?;
    if let Some(old) = v.child(dir, name)? {
        if v.node(old).is_dir() {
            return Err(sion_vfs::Errno::EISDIR);
        }
    }
    Ok(v.add(dir, name, Data::Symlink(target.to_vec()), 0o777, uid, gid))
}

/// Build the job's file tree, its process's descriptors 0, 1, 2 and the
/// job's shared state.
pub fn build_tree(s: &Spawn, now: u64, pid: u32) -> Result<(Files, JobState), String> {
    let mut v = Vfs::new();
    v.now = now;
    // Files live in the server's memory: at most half the node's.
    v.capacity = s.memory / 2;
    v.node_mut(v.root).dev = DEV_ROOT;
    let (uid, gid) = (s.uid, s.gid);
    let mkdir = |v: &mut Vfs, p: &str, perm: u32| -> Result<Ino, String> {
        let d = v.mkdir_p(p.as_bytes(), 0, 0).map_err(|e| format!("{p}: errno {}", e.0))?;
        v.node_mut(d).perm = perm;
        Ok(d)
    };
    for d in ["/bin", "/usr/bin", "/home", "/root", "/var/tmp"] {
        // A shared /bin comes from the workstation as it is there: on a
        // merged-/usr system a link to usr/bin, which a local directory
        // would hide (and the workstation serves no path through a link).
        if d == "/bin" && shared(d.as_bytes(), &s.shares) {
            continue;
        }
        mkdir(&mut v, d, 0o755)?;
    }
    mkdir(&mut v, "/root", 0o700)?;
    mkdir(&mut v, "/tmp", 0o1777)?;
    mkdir(&mut v, "/var/tmp", 0o1777)?;
    // /etc: enough for libc's lookups of the user and the host.
    let user = if uid == 0 { String::from("root") } else { String::from("user") };
    let home = if uid == 0 { String::from("/root") } else { String::from("/home/user") };
    // Debian's base-passwd system accounts (daemon, bin, sys) come first,
    // as every Debian system has them (LTP's chmod07 looks up "daemon").
    let mut passwd = String::from("root:x:0:0:root:/root:/bin/sh\n");
    for (name, id, home) in [("daemon", 1, "/usr/sbin"), ("bin", 2, "/bin"), ("sys", 3, "/dev")] {
        if id != uid {
            passwd += &format!("{name}:x:{id}:{id}:{name}:{home}:/usr/sbin/nologin\n");
        }
    }
    if uid != 0 {
        passwd += &format!("{user}:x:{uid}:{gid}:{user}:{home}:/bin/sh\n");
    }
    passwd += "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
    let mut group = String::from("root:x:0:\n");
    for (name, id) in [("daemon", 1), ("bin", 2), ("sys", 3)] {
        if id != gid {
            group += &format!("{name}:x:{id}:\n");
        }
    }
    if gid != 0 {
        group += &format!("users:x:{gid}:{user}\n");
    }
    group += "nogroup:x:65534:\n";
    let etc: [(&str, String); 5] = [
        ("passwd", passwd),
        ("group", group),
        ("hostname", String::from("sion\n")),
        ("hosts", String::from("127.0.0.1\tlocalhost\n127.0.1.1\tsion\n::1\tlocalhost ip6-localhost ip6-loopback\n")),
        ("nsswitch.conf", String::from("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n")),
    ];
    for (name, text) in etc {
        // With the workstation's /etc shared, its hosts file names hosts as
        // the program would see them there; the job's identity stays ours.
        if name == "hosts" && shared(b"/etc/hosts", &s.shares) {
            continue;
        }
        v.put_file(format!("/etc/{name}").as_bytes(), text.into_bytes(), 0o644, 0, 0).map_err(|e| format!("/etc/{name}: errno {}", e.0))?;
    }
    // /etc/mtab is the mount table, as on Debian.
    let etc = v.mkdir_p(b"/etc", 0, 0).map_err(|e| format!("/etc: errno {}", e.0))?;
    v.add(etc, b"mtab", Data::Symlink(b"../proc/self/mounts".to_vec()), 0o777, 0, 0);
    if uid != 0 {
        let h = mkdir(&mut v, &home, 0o755)?;
        v.node_mut(h).uid = uid;
        v.node_mut(h).gid = gid;
    }
    // /dev
    let dev = mkdir(&mut v, "/dev", 0o755)?;
    v.node_mut(dev).dev = DEV_DEV;
    for (name, rdev, perm) in [
        ("null", RDEV_NULL, 0o666),
        ("zero", RDEV_ZERO, 0o666),
        ("full", RDEV_FULL, 0o666),
        ("random", RDEV_RANDOM, 0o666),
        ("urandom", RDEV_URANDOM, 0o666),
        ("tty", RDEV_TTY, 0o666),
    ] {
        v.add(dev, name.as_bytes(), Data::Chr(rdev), perm, 0, 0);
    }
    for (name, target) in [("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("fd", "/proc/self/fd")] {
        v.add(dev, name.as_bytes(), Data::Symlink(target.as_bytes().to_vec()), 0o777, 0, 0);
    }
    let shm = v.add(dev, b"shm", Data::Dir(Default::default()), 0o1777, 0, 0);
    let _ = shm;
    // Loop block devices (group disk), as Debian's udev makes them.
    v.add(dev, b"loop-control", Data::Chr(super::loopdev::RDEV_LOOP_CONTROL), 0o660, 0, 6);
    for n in 0..super::loopdev::LOOPS_AT_START {
        v.add(dev, format!("loop{n}").as_bytes(), Data::Blk((super::loopdev::LOOP_MAJOR << 8) | n as u64), 0o660, 0, 6);
    }
    // /proc: the node's files; /proc/<pid> for each process (see add_proc_dir).
    let proc_ = mkdir(&mut v, "/proc", 0o555)?;
    v.node_mut(proc_).dev = DEV_PROC;
    // The file systems there from the start, as /proc/mounts lists them.
    use sion_vfs::{MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RELATIME};
    let root = v.root;
    v.mount_in_place(root, "tmpfs", "tmpfs", MS_RELATIME);
    v.name_mnt_ns(crate::ns::INIT_MNT);
    v.mount_in_place(proc_, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
    v.mount_in_place(dev, "devtmpfs", "devtmpfs", MS_NOSUID);
    let me = v.add(proc_, b"self", Data::Symlink(Vec::new()), 0o777, 0, 0);
    v.node_mut(me).tag = sion_vfs::TAG_SELF_LINK;
    let me = v.add(proc_, b"thread-self", Data::Symlink(Vec::new()), 0o777, 0, 0);
    v.node_mut(me).tag = sion_vfs::TAG_THREAD_SELF_LINK;
    for (name, t) in [
        ("cpuinfo", tag::CPUINFO),
        ("meminfo", tag::MEMINFO),
        ("uptime", tag::UPTIME),
        ("loadavg", tag::LOADAVG),
        ("stat", tag::STAT),
        ("filesystems", tag::FILESYSTEMS),
    ] {
        let i = v.add(proc_, name.as_bytes(), Data::Reg(Default::default()), 0o444, 0, 0);
        v.node_mut(i).tag = t;
    }
    v.add(proc_, b"mounts", Data::Symlink(b"self/mounts".to_vec()), 0o777, 0, 0);
    let sysvipc = v.add(proc_, b"sysvipc", Data::Dir(Default::default()), 0o555, 0, 0);
    for (name, t) in [("shm", tag::SYSVIPC_SHM), ("sem", tag::SYSVIPC_SEM), ("msg", tag::SYSVIPC_MSG)] {
        let i = v.add(sysvipc, name.as_bytes(), Data::Reg(Default::default()), 0o444, 0, 0);
        v.node_mut(i).tag = t;
    }
    // /sys: the node's one memory node (libnuma reads these), as Linux
    // without NUMA shows node0 (sysfs, its own device).
    let sys = mkdir(&mut v, "/sys", 0o555)?;
    v.node_mut(sys).dev = DEV_SYS;
    v.mount_in_place(sys, "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
    mkdir(&mut v, "/sys/devices/system/node", 0o755)?;
    let cpus = mkdir(&mut v, "/sys/devices/system/cpu", 0o755)?;
    let node0 = mkdir(&mut v, "/sys/devices/system/node/node0", 0o755)?;
    for d in ["/sys/devices", "/sys/devices/system"] {
        mkdir(&mut v, d, 0o755)?;
    }
    for name in ["online", "possible", "has_memory", "has_normal_memory", "has_cpu", "node0/distance"] {
        let (path, text) = (format!("/sys/devices/system/node/{name}"), if name.ends_with("distance") { "10\n" } else { "0\n" });
        v.put_file(path.as_bytes(), text.as_bytes().to_vec(), 0o444, 0, 0).map_err(|e| format!("{path}: errno {}", e.0))?;
    }
    for (dir, name, t) in [
        (node0, "meminfo", tag::NODE_MEMINFO),
        (node0, "cpulist", tag::NODE_CPULIST),
        (node0, "cpumap", tag::NODE_CPUMAP),
        (cpus, "online", tag::NODE_CPULIST),
        (cpus, "possible", tag::NODE_CPULIST),
        (cpus, "present", tag::NODE_CPULIST),
    ] {
        let i = v.add(dir, name.as_bytes(), Data::Reg(Default::default()), 0o444, 0, 0);
        v.node_mut(i).tag = t;
    }
    super::sysctl::add_sysctl_dir(&mut v, proc_);
    // The kernel's configuration where Debian keeps it (LTP reads it).
    let config = format!("/boot/config-{UTS_RELEASE}");
    v.put_file(config.as_bytes(), KERNEL_CONFIG.as_bytes().to_vec(), 0o644, 0, 0).map_err(|e| format!("{config}: errno {}", e.0))?;
    v.asker = (pid, pid);
    // The job's files, the program itself, then the working directory.
    for (path, data, mode) in &s.files {
        // Checked before copying: past what the node holds the copy would
        // exhaust the server's heap. The job keeps a reserve for itself.
        let need = (data.len() as u64).div_ceil(sion_vfs::CHUNK as u64) * sion_vfs::CHUNK as u64;
        let room = s.memory.saturating_sub((s.memory / 8).max(STAGING_RESERVE));
        if v.used() + need > room {
            return Err(format!("{FILES_DO_NOT_FIT} (at most {} MiB of files in {} MiB): {path}", room >> 20, s.memory >> 20));
        }
        let staged = if mode & 0o170000 == 0o120000 {
            put_symlink(&mut v, path.as_bytes(), data, uid, gid)
        } else {
            put_staged(&mut v, path.as_bytes(), data, mode & 0o7777, uid, gid)
        };
        staged.map_err(|e| format!("{path}: errno {}", e.0))?;
    }
    if s.exe.starts_with('/') && v.lookup(v.root, s.exe.as_bytes(), true, &Cred::root()).is_err() {
        v.put_file(s.exe.as_bytes(), s.program.to_vec(), 0o755, uid, gid).map_err(|e| format!("{}: errno {}", s.exe, e.0))?;
    }
    let cwd = match v.lookup(v.root, s.cwd.as_bytes(), true, &Cred::root()) {
        Ok(i) if v.node(i).is_dir() => i,
        _ => {
            let d = v.mkdir_p(s.cwd.as_bytes(), uid, gid).map_err(|e| format!("cwd {}: errno {}", s.cwd, e.0))?;
            d
        }
    };
    // Directories created for the job belong to the job's user.
    for p in [s.cwd.as_str()] {
        if let Ok(i) = v.lookup(v.root, p.as_bytes(), true, &Cred::root()) {
            if i != v.root {
                v.node_mut(i).uid = uid;
                v.node_mut(i).gid = gid;
            }
        }
    }
    v.open_ref(cwd);
    mark_shared(&mut v, &s.shares);
    let cwd_path = v.path_of(cwd).unwrap_or_else(|| b"/".to_vec());
    let proc_fd_dir = add_proc_dir(&mut v, pid, (uid, gid), s.exe.as_bytes(), &cwd_path);
    let mut fds = VecMap::new();
    for (fd, obj, flags) in [(0, Obj::Stdin, 0), (1, Obj::Stdout, O_WRONLY), (2, Obj::Stderr, O_WRONLY)] {
        fds.insert(fd, FdEntry { file: Rc::new(RefCell::new(OpenFile { obj, flags, off: 0, snapshot: None, owner: (0, 0), sig: 0 })), cloexec: false });
    }
    let files =
        Files { fds, cwd, umask: 0o022, cred: Cred { uid, gid, groups: Vec::new() }, fd_dirty: true, fd_changed: Vec::new(), proc_fd_dir, argv: s.argv.clone(), envp: s.envp.clone() };
    let job = JobState { vfs: v, stdin_eof: !s.stdin_stream, ..JobState::default() };
    Ok((files, job))
}

/// Whether `path` is under a shared path or on the way to one.
pub fn shared(path: &[u8], shares: &[String]) -> bool {
    let under = |root: &[u8], p: &[u8]| root == b"/" || p == root || (p.starts_with(root) && p.get(root.len()) == Some(&b'/'));
    shares.iter().any(|s| under(s.as_bytes(), path) || under(path, s.as_bytes()))
}

/// Every directory of the job's tree that the workstation shares (or that
/// leads to what it shares) gets the workstation's entries merged under its
/// own on first need: it becomes remote. /proc and /dev stay the node's.
fn mark_shared(v: &mut Vfs, shares: &[String]) {
    if shares.is_empty() {
        return;
    }
    let mut todo = alloc::vec![(v.root, b"/".to_vec())];
    while let Some((dir, path)) = todo.pop() {
        if path == b"/proc" || path == b"/dev" || !shared(&path, shares) {
            continue;
        }
        for e in v.readdir(dir).unwrap_or_default().into_iter().skip(2) {
            if v.node(e.ino).is_dir() {
                let mut p = if path == b"/" { Vec::new() } else { path.clone() };
                p.push(b'/');
                p.extend_from_slice(&e.name);
                todo.push((e.ino, p));
            }
        }
        v.node_mut(dir).remote = true;
    }
}

/// What the job changed under its working directory (shared from the
/// workstation), written back there when the job ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteBack {
    /// A directory the job made.
    Dir { path: Vec<u8>, mode: u32 },
    /// A file the job made or changed; `origin`: (size, mtime in ns) of the
    /// workstation's file when the job first saw it.
    File { path: Vec<u8>, mode: u32, origin: Option<(u64, u64)>, data: Vec<u8> },
}

/// One thing `--out` brings back to the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutItem {
    Dir { path: Vec<u8>, mode: u32 },
    File { path: Vec<u8>, mode: u32, data: Vec<u8> },
    Symlink { path: Vec<u8>, target: Vec<u8> },
    Missing { path: Vec<u8> },
}

/// `dir/name` of a directory's path and an entry's name.
fn child_path(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    if p.last() != Some(&b'/') {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

impl Process {
    /// What `--out PATH` sends back: the file, link or directory (with
    /// everything under it, parents before children) at the absolute guest
    /// path, not following a final symbolic link.
    pub fn collect_out(&self, path: &str) -> Vec<OutItem> {
        let v = &self.job.vfs;
        let mut out = Vec::new();
        let p = path.as_bytes().to_vec();
        match v.lookup(v.root, &p, false, &Cred::root()) {
            Ok(ino) => self.collect_node(ino, p, &mut out, 0),
            Err(_) => out.push(OutItem::Missing { path: p }),
        }
        out
    }

    /// The directories and files under `dir` the job made or changed (not
    /// those it only read, nor links), parents first.
    pub fn collect_write_back(&self, dir: &str) -> Vec<WriteBack> {
        let v = &self.job.vfs;
        let mut out = Vec::new();
        if let Ok(ino) = v.lookup(v.root, dir.as_bytes(), false, &Cred::root()) {
            self.write_back_node(ino, dir.as_bytes().to_vec(), &mut out, 0);
        }
        out
    }

    fn write_back_node(&self, dir: Ino, path: Vec<u8>, out: &mut Vec<WriteBack>, depth: u32) {
        let v = &self.job.vfs;
        let Data::Dir(entries) = &v.node(dir).data else { return };
        if depth > 64 {
            return;
        }
        for (name, &child) in entries {
            let cp = child_path(&path, name);
            let n = v.node(child);
            match &n.data {
                Data::Reg(d) if !n.remote && n.host.is_none() && n.tag == 0 => {
                    out.push(WriteBack::File { path: cp, mode: n.perm, origin: n.origin, data: d.to_vec() })
                }
                Data::Dir(_) if !n.remote => {
                    if n.origin.is_none() {
                        out.push(WriteBack::Dir { path: cp.clone(), mode: n.perm });
                    }
                    self.write_back_node(child, cp, out, depth + 1);
                }
                _ => {}
            }
        }
    }

    fn collect_node(&self, ino: Ino, path: Vec<u8>, out: &mut Vec<OutItem>, depth: u32) {
        let v = &self.job.vfs;
        let n = v.node(ino);
        match &n.data {
            // The workstation has a shared file the job never opened.
            Data::Reg(_) if n.remote => {}
            Data::Reg(d) => out.push(OutItem::File { path, mode: n.perm, data: if n.tag != 0 { Vec::new() } else { d.to_vec() } }),
            Data::Symlink(t) => out.push(OutItem::Symlink { path, target: t.clone() }),
            Data::Dir(entries) => {
                out.push(OutItem::Dir { path: path.clone(), mode: n.perm });
                if depth > 64 {
                    return;
                }
                for (name, &child) in entries {
                    self.collect_node(child, child_path(&path, name), out, depth + 1);
                }
            }
            Data::Chr(_) | Data::Sock | Data::Fifo | Data::Blk(_) => out.push(OutItem::Missing { path }),
        }
    }
}
