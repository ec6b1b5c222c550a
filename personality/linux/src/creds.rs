//! Linux's user and group credentials: four ids of each kind (real,
//! effective, saved set-ID, file-system) and the rules by which setuid,
//! setreuid, setresuid and setfsuid (and their group twins) change them
//! (credentials(7), kernel/sys.c), with the capability changes that follow
//! a change of user ids (capabilities(7), "Effect of user ID changes on
//! capabilities"; security/commoncap.c `cap_emulate_setxuid`).
//!
//! A process keeps its effective ids in `Process::uid`/`gid` (what most
//! permission checks use), its file-system ids in `files.cred` (what the VFS
//! checks), and its real and saved ids in `Process::ids`; `IdQuad` gathers
//! the four of one kind for a change and gives them back.

use crate::errno::Errno;

/// "Leave this id as it is" in the set*id calls.
pub const KEEP: u32 = u32::MAX;

/// The four ids of one kind (user or group).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IdQuad {
    pub real: u32,
    pub effective: u32,
    pub saved: u32,
    pub fs: u32,
}

/// The real and saved ids of a process (its effective and file-system ids
/// live where permission checks read them: see the module comment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RealSaved {
    pub ruid: u32,
    pub suid: u32,
    pub rgid: u32,
    pub sgid: u32,
}

impl RealSaved {
    /// A process whose ids are all `uid` and `gid` (a job's first program).
    pub fn of(uid: u32, gid: u32) -> RealSaved {
        RealSaved { ruid: uid, suid: uid, rgid: gid, sgid: gid }
    }
}

impl IdQuad {
    /// Whether root is among the real, effective and saved ids (leaving
    /// all three drops the capabilities).
    pub fn has_root(&self) -> bool {
        self.holds(0)
    }

    /// Whether `id` is one of the real, effective or saved ids: what an
    /// unprivileged caller may switch among.
    fn holds(&self, id: u32) -> bool {
        id == self.real || id == self.effective || id == self.saved
    }

    /// setuid/setgid. Privileged (CAP_SETUID/CAP_SETGID): all four become
    /// `id`. Otherwise `id` must be the real or the saved id, and only the
    /// effective and file-system ids change.
    pub fn set(self, id: u32, privileged: bool) -> Result<IdQuad, Errno> {
        if id == KEEP {
            return Err(Errno::EINVAL);
        }
        if privileged {
            Ok(IdQuad { real: id, effective: id, saved: id, fs: id })
        } else if id == self.real || id == self.saved {
            Ok(IdQuad { effective: id, fs: id, ..self })
        } else {
            Err(Errno::EPERM)
        }
    }

    /// setreuid/setregid. Unprivileged, the real id may become the real or
    /// the effective one, the effective id any of the three. The saved id
    /// follows the new effective one when the real id is set, or the
    /// effective id is set to other than the old real id.
    pub fn set_re(self, real: u32, effective: u32, privileged: bool) -> Result<IdQuad, Errno> {
        let mut new = self;
        if real != KEEP {
            if !privileged && real != self.real && real != self.effective {
                return Err(Errno::EPERM);
            }
            new.real = real;
        }
        if effective != KEEP {
            if !privileged && !self.holds(effective) {
                return Err(Errno::EPERM);
            }
            new.effective = effective;
        }
        if real != KEEP || (effective != KEEP && effective != self.real) {
            new.saved = new.effective;
        }
        new.fs = new.effective;
        Ok(new)
    }

    /// setresuid/setresgid: unprivileged, each new id must be one of the
    /// three current ones.
    pub fn set_res(self, real: u32, effective: u32, saved: u32, privileged: bool) -> Result<IdQuad, Errno> {
        if !privileged && [real, effective, saved].iter().any(|&i| i != KEEP && !self.holds(i)) {
            return Err(Errno::EPERM);
        }
        let pick = |new: u32, old: u32| if new == KEEP { old } else { new };
        let effective = pick(effective, self.effective);
        Ok(IdQuad { real: pick(real, self.real), effective, saved: pick(saved, self.saved), fs: effective })
    }

    /// setfsuid/setfsgid: taken when privileged or one of the four ids,
    /// else ignored (the call always answers the old file-system id).
    pub fn set_fs(self, fs: u32, privileged: bool) -> IdQuad {
        if fs != KEEP && (privileged || self.holds(fs) || fs == self.fs) {
            IdQuad { fs, ..self }
        } else {
            self
        }
    }

    /// At exec (no set-user-ID programs): the saved and file-system ids
    /// become the effective one.
    pub fn exec(self) -> IdQuad {
        IdQuad { saved: self.effective, fs: self.effective, ..self }
    }
}

/// The capabilities that follow file-system work (`cap_drop_fs_set`):
/// CAP_CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID,
/// LINUX_IMMUTABLE, MKNOD and MAC_OVERRIDE.
pub const FS_CAPS: u64 = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 9) | (1 << 27) | (1 << 32);

/// (effective, permitted) capability sets after user ids went from `old`
/// to `new` by a setuid-family call (not setfsuid: see [`after_fs_change`]).
/// `keep_caps`: PR_SET_KEEPCAPS, which keeps the permitted set on leaving root.
pub fn after_uid_change(old: IdQuad, new: IdQuad, effective: u64, permitted: u64, keep_caps: bool) -> (u64, u64) {
    let (mut effective, mut permitted) = (effective, permitted);
    if old.has_root() && !new.has_root() {
        if !keep_caps {
            permitted = 0;
        }
        effective = 0;
    }
    if old.effective == 0 && new.effective != 0 {
        effective = 0;
    }
    if old.effective != 0 && new.effective == 0 {
        effective = permitted;
    }
    (effective, permitted)
}

/// The effective set after the file-system user id went from `old` to `new`.
pub fn after_fs_change(old: u32, new: u32, effective: u64, permitted: u64) -> u64 {
    if old == 0 && new != 0 {
        effective & !FS_CAPS
    } else if old != 0 && new == 0 {
        effective | (permitted & FS_CAPS)
    } else {
        effective
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOBODY: u32 = 65534;

    fn root() -> IdQuad {
        IdQuad::default()
    }

    fn user(id: u32) -> IdQuad {
        IdQuad { real: id, effective: id, saved: id, fs: id }
    }

    #[test]
    fn root_drops_to_nobody_and_back_through_the_saved_id() {
        // seteuid(nobody) is setresuid(-1, nobody, -1) in glibc.
        let dropped = root().set_res(KEEP, NOBODY, KEEP, true).unwrap();
        assert_eq!(dropped, IdQuad { real: 0, effective: NOBODY, saved: 0, fs: NOBODY });
        // Unprivileged now, but 0 is still the real and saved id.
        let back = dropped.set_res(KEEP, 0, KEEP, false).unwrap();
        assert_eq!(back, root());
        // setuid(0) from the dropped state also works: 0 is the real id.
        assert_eq!(dropped.set(0, false).unwrap(), IdQuad { real: 0, effective: 0, saved: 0, fs: 0 });
    }

    #[test]
    fn privileged_setuid_sets_all_four_for_good() {
        let u = root().set(1000, true).unwrap();
        assert_eq!(u, user(1000));
        assert_eq!(u.set(0, false), Err(Errno::EPERM));
        assert_eq!(u.set_res(0, KEEP, KEEP, false), Err(Errno::EPERM));
        assert_eq!(u.set(KEEP, false), Err(Errno::EINVAL));
    }

    #[test]
    fn setreuid_rules() {
        let u = IdQuad { real: 1000, effective: 1001, saved: 1002, fs: 1001 };
        // The real id may become the effective one, not the saved one.
        assert_eq!(u.set_re(1001, KEEP, false).unwrap(), IdQuad { real: 1001, effective: 1001, saved: 1001, fs: 1001 });
        assert_eq!(u.set_re(1002, KEEP, false), Err(Errno::EPERM));
        // The effective id may become the saved one; saved follows (not the old real id).
        assert_eq!(u.set_re(KEEP, 1002, false).unwrap(), IdQuad { real: 1000, effective: 1002, saved: 1002, fs: 1002 });
        // Back to the real id: the saved id stays.
        assert_eq!(u.set_re(KEEP, 1000, false).unwrap(), IdQuad { real: 1000, effective: 1000, saved: 1002, fs: 1000 });
        // Swapping real and effective (the classic BSD idiom).
        assert_eq!(u.set_re(1001, 1000, false).unwrap(), IdQuad { real: 1001, effective: 1000, saved: 1000, fs: 1000 });
        assert_eq!(u.set_re(KEEP, 7, false), Err(Errno::EPERM));
        assert_eq!(u.set_re(KEEP, KEEP, false).unwrap(), IdQuad { fs: 1001, ..u });
    }

    #[test]
    fn setfsuid_takes_only_held_ids_unless_privileged() {
        let u = IdQuad { real: 1000, effective: 1001, saved: 1002, fs: 1001 };
        assert_eq!(u.set_fs(1002, false).fs, 1002);
        assert_eq!(u.set_fs(0, false).fs, 1001);
        assert_eq!(u.set_fs(0, true).fs, 0);
        assert_eq!(u.set_fs(KEEP, true).fs, 1001);
    }

    #[test]
    fn capabilities_follow_the_user_ids() {
        let all = crate::process::Caps::ALL;
        // seteuid(nobody): effective cleared, permitted kept (0 is still real/saved).
        let dropped = root().set_res(KEEP, NOBODY, KEEP, true).unwrap();
        assert_eq!(after_uid_change(root(), dropped, all, all, false), (0, all));
        // seteuid(0) again: effective back from permitted.
        assert_eq!(after_uid_change(dropped, root(), 0, all, false), (all, all));
        // setuid(nobody) as root: every id leaves 0, both sets cleared...
        assert_eq!(after_uid_change(root(), user(NOBODY), all, all, false), (0, 0));
        // ... unless PR_SET_KEEPCAPS keeps the permitted set.
        assert_eq!(after_uid_change(root(), user(NOBODY), all, all, true), (0, all));
        // fsuid away from 0 drops the file-system capabilities only.
        assert_eq!(after_fs_change(0, NOBODY, all, all), all & !FS_CAPS);
        assert_eq!(after_fs_change(NOBODY, 0, all & !FS_CAPS, all), all);
    }

    #[test]
    fn exec_saves_the_effective_id() {
        let u = IdQuad { real: 0, effective: 1000, saved: 0, fs: 7 };
        assert_eq!(u.exec(), IdQuad { real: 0, effective: 1000, saved: 1000, fs: 1000 });
    }
}
