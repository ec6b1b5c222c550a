//! A process's namespaces (see `crate::ns`): its UTS names, its time
//! namespace's clock offsets, /proc/<pid>/ns and timens_offsets, unshare and
//! setns, and the vDSO of a process whose clocks are offset.

use super::*;
use sion_vfs::{Cred, Data};
use crate::linux::{CAP_SYS_ADMIN, CAP_SYS_CHROOT};
use crate::ns::{self, Kind, NsSet, TimeNs, CLONE_NEWNS, CLONE_NEWTIME, CLONE_NEWUTS, INIT_TIME, INIT_UTS};

impl Process {
    /// The host name of the process's UTS namespace.
    pub(crate) fn hostname(&self) -> &[u8] {
        match self.job.ns.uts.get(&self.ns.uts) {
            Some(u) if self.ns.uts != INIT_UTS => &u.0,
            _ => &self.job.hostname,
        }
    }

    pub(crate) fn domainname(&self) -> &[u8] {
        match self.job.ns.uts.get(&self.ns.uts) {
            Some(u) if self.ns.uts != INIT_UTS => &u.1,
            _ => &self.job.domainname,
        }
    }

    /// Set the host name (`host`) or the domain name of the process's UTS namespace.
    pub(crate) fn set_uts_name(&mut self, host: bool, name: Vec<u8>) {
        let slot = match self.job.ns.uts.get_mut(&self.ns.uts) {
            Some(u) if self.ns.uts != INIT_UTS => {
                if host {
                    &mut u.0
                } else {
                    &mut u.1
                }
            }
            _ if host => &mut self.job.hostname,
            _ => &mut self.job.domainname,
        };
        *slot = name;
    }

    /// The clock offsets of the process's time namespace.
    pub(crate) fn time_ns(&self) -> TimeNs {
        if self.ns.time == INIT_TIME {
            TimeNs::default()
        } else {
            self.job.ns.time_of(self.ns.time)
        }
    }

    /// The offset of `clock` in the process's time namespace (ns): the
    /// monotonic clocks and the boot-time ones have one, others none.
    pub(crate) fn clock_offset(&self, clock: i32) -> i64 {
        match clock {
            1 | 4 | 6 => self.time_ns().monotonic,
            7 | 9 => self.time_ns().boottime,
            _ => 0,
        }
    }

    /// An absolute time on `clock` as the process gave it, on the node's clock.
    pub(crate) fn to_node_clock(&self, clock: i32, ns: u64) -> u64 {
        ns::from_ns_view(ns, self.clock_offset(clock))
    }

    /// A privileged operation over a namespace the job made: a container's
    /// root holds every capability over what it owns, even those withheld
    /// from it over the node (CAP_SYS_TIME for a time namespace's offsets).
    fn capable_over_own_ns(&self, cap: u32) -> bool {
        self.capable(cap) || (Caps::NODE_ONLY & (1 << cap) != 0 && self.capable(CAP_SYS_ADMIN))
    }

    /// unshare's namespace flags (already checked by the caller: only
    /// CLONE_NEWNS, CLONE_NEWUTS and CLONE_NEWTIME, with CAP_SYS_ADMIN).
    pub(crate) fn unshare_ns(&mut self, flags: u64) {
        let before = self.ns;
        self.ns = self.new_namespaces(flags, self.ns);
        if self.ns.mnt != before.mnt {
            self.job.vfs.enter_mnt_ns(self.ns.mnt);
        }
        self.sync_ns_links();
    }

    /// `set` with new namespaces of the types `flags` names, copies of the
    /// ones `set` has (a new time namespace is for children: it starts with
    /// the offsets of the one it copies).
    pub(crate) fn new_namespaces(&mut self, flags: u64, mut set: NsSet) -> NsSet {
        if flags & CLONE_NEWNS != 0 {
            let id = self.job.ns.alloc();
            self.job.vfs.enter_mnt_ns(set.mnt);
            self.job.vfs.copy_mnt_ns(id);
            self.job.vfs.enter_mnt_ns(self.ns.mnt);
            set.mnt = id;
        }
        if flags & CLONE_NEWUTS != 0 {
            let id = self.job.ns.alloc();
            let names = (self.hostname().to_vec(), self.domainname().to_vec());
            self.job.ns.uts.insert(id, names);
            set.uts = id;
        }
        if flags & CLONE_NEWTIME != 0 {
            let id = self.job.ns.alloc();
            let t = TimeNs { frozen: false, ..self.job.ns.time_of(set.time_for_children) };
            self.job.ns.time.insert(id, t);
            set.time_for_children = id;
        }
        set
    }

    /// setns(fd, nstype) with a namespace file: Linux's checks of each
    /// type's install, then the move.
    pub(crate) fn setns_file(&mut self, h: &mut dyn Host, kind: Kind, id: u32, nstype: u64) -> SysResult {
        if nstype != 0 && nstype != kind.flag() {
            return Err(Errno::EINVAL);
        }
        match kind {
            Kind::Uts => {
                if !self.capable(CAP_SYS_ADMIN) {
                    return Err(Errno::EPERM);
                }
                self.ns.uts = id;
            }
            Kind::Mnt => {
                if !self.capable(CAP_SYS_ADMIN) || !self.capable(CAP_SYS_CHROOT) {
                    return Err(Errno::EPERM);
                }
                // The threads share the fs (cwd, root) here.
                if !self.threads.is_empty() {
                    return Err(Errno::EINVAL);
                }
                if !self.job.vfs.enter_mnt_ns(id) {
                    return Err(Errno::EINVAL);
                }
                self.ns.mnt = id;
                // Linux sets the root and the working directory to the
                // namespace's root.
                let root = self.job.vfs.root;
                if self.files.cwd != root {
                    self.job.vfs.open_ref(root);
                    let old = core::mem::replace(&mut self.files.cwd, root);
                    self.job.vfs.close_ref(old);
                    let path = b"/".to_vec();
                    files::set_proc_link(&mut self.job.vfs, self.pid, b"cwd", &path);
                }
            }
            Kind::Time | Kind::TimeForChildren => {
                if !self.threads.is_empty() {
                    return Err(Errno::EUSERS);
                }
                if !self.capable(CAP_SYS_ADMIN) {
                    return Err(Errno::EPERM);
                }
                self.ns.time = id;
                self.ns.time_for_children = id;
                self.freeze_time_ns(id);
                self.publish_vdso(h);
            }
        }
        self.sync_ns_links();
        Ok(0)
    }

    /// A process entered time namespace `id`: its offsets are fixed now.
    pub(crate) fn freeze_time_ns(&mut self, id: u32) {
        if let Some(t) = self.job.ns.time.get_mut(&id) {
            t.frozen = true;
        }
    }

    /// Point /proc/<pid>/ns/* at the process's namespaces.
    pub(crate) fn sync_ns_links(&mut self) {
        let Ok(dir) = self.job.vfs.lookup(self.job.vfs.root, format!("/proc/{}/ns", self.pid).as_bytes(), false, &Cred::root()) else { return };
        for k in Kind::ALL {
            if let Ok(Some(l)) = self.job.vfs.child(dir, k.name().as_bytes()) {
                if let Data::Symlink(t) = &mut self.job.vfs.node_mut(l).data {
                    *t = k.link(self.ns.get(k)).into_bytes();
                }
            }
        }
    }

    /// The text of /proc/<pid>/timens_offsets: the offsets of the time
    /// namespace its children get.
    pub(crate) fn timens_offsets_text(&self) -> String {
        ns::offsets_text(&self.job.ns.time_of(self.ns.time_for_children))
    }

    /// A write to /proc/<pid>/timens_offsets (Linux's
    /// proc_timens_set_offset): CAP_SYS_TIME over the namespace, one not yet
    /// entered (EACCES), offsets that keep the clocks in range.
    pub(crate) fn timens_offsets_write(&mut self, h: &mut dyn Host, data: &[u8]) -> SysResult {
        let id = self.ns.time_for_children;
        let now_s = (h.now_ns() / 1_000_000_000) as i64;
        let offsets = ns::parse_offsets(data, now_s)?;
        if !self.capable_over_own_ns(crate::linux::CAP_SYS_TIME) {
            return Err(Errno::EPERM);
        }
        let t = match self.job.ns.time.get_mut(&id) {
            Some(t) if id != INIT_TIME => t,
            // The node's own time namespace is always entered.
            _ => return Err(Errno::EACCES),
        };
        if t.frozen {
            return Err(Errno::EACCES);
        }
        for (clock, off) in offsets {
            if clock == ns::CLOCK_MONOTONIC {
                t.monotonic = off;
            } else {
                t.boottime = off;
            }
        }
        Ok(data.len() as u64)
    }

    /// Rewrite the vDSO's data page for the process's time namespace: in
    /// the node's own, the clock figures (the vDSO reads the clocks); in
    /// another, no usable TSC, so the vDSO asks the server, which adds the
    /// offsets.
    pub(crate) fn publish_vdso(&mut self, h: &mut dyn Host) {
        let data = crate::vdso::data_base(self.abi);
        if self.vmas.lookup(data).map(|v| v.kind) != Some(VmaKind::Vvar) {
            return;
        }
        let Some(clock) = h.vdso_clock() else { return };
        let mut page = crate::vdso::DataPage::new(clock);
        if self.ns.time != INIT_TIME {
            page.clock.tsc_hz = 0;
        }
        let bytes = page.encode();
        h.mem_protect(data, PAGE, 3);
        h.mem_write(data, &bytes);
        h.mem_protect(data, PAGE, 1);
    }
}
