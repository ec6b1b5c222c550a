//! The workstation's files on demand (`sion_abi::console::fs`): what a job
//! may see of this machine, and the answers to its node's requests.
//!
//! A job sees the shared paths (by default the system's tree, the working
//! directory and the paths its arguments name; `--share` adds, `--no-share`
//! removes all) and the directories on the way to them, nothing else: a node
//! cannot read the user's keys because a job asked. Answers are read with
//! this process's rights, so a job sees only what its user may read. Paths
//! are answered only as they are, with no symbolic link on the way: the node
//! follows links itself (they arrive as links), so a link cannot lead it
//! out of what is shared. The node keeps what it got; writes stay in the job.
#![forbid(unsafe_code)]

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sion_abi::console::{down, fs, up, MAX_PAYLOAD};

use crate::console::FrameWriter;

/// The system's tree, shared by default.
pub const SYSTEM: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"];

const ENOENT: i32 = 2;
const EACCES: i32 = 13;
const EISDIR: i32 = 21;
const EINVAL: i32 = 22;

/// What a job may see.
#[derive(Clone, Debug, Default)]
pub struct Shares {
    /// As given (absolute, normalized) and as the file system resolves them.
    roots: Vec<PathBuf>,
    /// Never seen through a share that merely contains them (the user's keys,
    /// even when the working directory is `$HOME` or `/`): only a share at
    /// or below one of them opens it.
    hidden: Vec<PathBuf>,
}

/// The user's secrets a job never sees unless they are shared by name:
/// `~/.ssh`, `~/.gnupg`, the group key's directory, `/etc/sion`, and the like.
pub fn secrets(home: Option<&Path>, group_key: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(h) = home {
        for d in [".ssh", ".gnupg", ".config/sion", ".aws", ".netrc", ".docker", ".kube", ".password-store", ".local/share/keyrings"] {
            v.push(h.join(d));
        }
    }
    if let Some(d) = group_key.parent() {
        v.push(d.to_path_buf());
    }
    // The installed service's key (readable by group sion).
    if let Some(d) = Path::new(crate::group::key::SYSTEM_PATH).parent() {
        v.push(d.to_path_buf());
    }
    v
}

/// What a job run from `cwd` sees by default: the system's tree, the
/// working directory (when it is the job's: `cwd_shared`), the paths its
/// arguments name (those that exist, or start with `/` or `.`), and `extra`
/// (`--share`); the user's secrets hidden. `--no-share` is `Shares::default()`.
pub fn for_job(cwd: &Path, cwd_shared: bool, args: &[std::ffi::OsString], extra: &[PathBuf]) -> Shares {
    let mut paths: Vec<PathBuf> = SYSTEM.iter().map(PathBuf::from).collect();
    if cwd_shared {
        paths.push(cwd.to_path_buf());
    }
    for a in args {
        let p = crate::image::normalize(Path::new(a), cwd);
        if a.as_encoded_bytes().first().is_some_and(|&b| b == b'/' || b == b'.') || std::fs::symlink_metadata(&p).is_ok() {
            paths.push(p);
        }
    }
    paths.extend(extra.iter().map(|p| crate::image::normalize(p, cwd)));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    Shares::new(paths).hiding(secrets(home.as_deref(), &crate::group::key::default_path()))
}

impl Shares {
    /// `paths` that exist here (absolute ones as they are; links among them
    /// are shared as links and where they lead).
    pub fn new(paths: impl IntoIterator<Item = PathBuf>) -> Shares {
        let mut roots = Vec::new();
        for p in paths {
            if !p.is_absolute() || std::fs::symlink_metadata(&p).is_err() {
                continue;
            }
            if let Ok(c) = std::fs::canonicalize(&p) {
                if !roots.contains(&c) {
                    roots.push(c);
                }
            }
            if !roots.contains(&p) {
                roots.push(p);
            }
        }
        Shares { roots, hidden: Vec::new() }
    }

    /// Keep `secrets` out of sight unless a share lies at or below one of them.
    pub fn hiding(mut self, secrets: Vec<PathBuf>) -> Shares {
        for s in secrets {
            let s = std::fs::canonicalize(&s).unwrap_or(s);
            if !self.roots.iter().any(|r| r.starts_with(&s)) {
                self.hidden.push(s);
            }
        }
        self
    }

    fn secret(&self, p: &Path) -> bool {
        self.hidden.iter().any(|h| p.starts_with(h))
    }

    /// The paths for the job's config (`share=`).
    pub fn paths(&self) -> &[PathBuf] {
        &self.roots
    }

    fn under(&self, p: &Path) -> bool {
        !self.secret(p) && self.roots.iter().any(|r| p.starts_with(r))
    }

    fn visible(&self, p: &Path) -> bool {
        !self.secret(p) && (self.under(p) || self.roots.iter().any(|r| r.starts_with(p)))
    }

    /// The entries of directory `path` a job may see, encoded.
    pub fn list(&self, path: &Path) -> Result<Vec<u8>, i32> {
        let path = self.checked(path)?;
        if !self.visible(&path) {
            return Err(ENOENT);
        }
        let all = self.under(&path);
        let rd = std::fs::read_dir(&path).map_err(errno)?;
        let mut out = Vec::new();
        for e in rd.flatten() {
            let child = path.join(e.file_name());
            if (!all && !self.visible(&child)) || self.secret(&child) {
                continue;
            }
            let Ok(m) = std::fs::symlink_metadata(&child) else { continue };
            let ft = m.file_type();
            let (kind, target) = if ft.is_dir() {
                (fs::DIR, Vec::new())
            } else if ft.is_file() {
                (fs::FILE, Vec::new())
            } else if ft.is_symlink() {
                match std::fs::read_link(&child) {
                    Ok(t) => (fs::SYMLINK, t.as_os_str().as_bytes().to_vec()),
                    Err(_) => continue,
                }
            } else {
                continue; // devices, sockets, FIFOs are the node's own business
            };
            let name = e.file_name();
            let entry = fs::Entry {
                kind,
                perm: m.permissions().mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
                mtime_ns: (m.mtime().max(0) as u64) * 1_000_000_000 + m.mtime_nsec().max(0) as u64,
                size: m.len(),
                blocks: m.blocks(),
                name: name.as_bytes(),
                target: &target,
            };
            let at = out.len();
            out.resize(at + entry.len(), 0);
            entry.encode(&mut out[at..]);
        }
        Ok(out)
    }

    /// The bytes of file `path`, if shared.
    pub fn read(&self, path: &Path) -> Result<Vec<u8>, i32> {
        let path = self.checked(path)?;
        if !self.under(&path) {
            return Err(ENOENT);
        }
        let m = std::fs::symlink_metadata(&path).map_err(errno)?;
        if m.is_dir() {
            return Err(EISDIR);
        }
        if !m.is_file() {
            return Err(EINVAL);
        }
        std::fs::read(&path).map_err(errno)
    }

    /// `path` if it is absolute, plain (no `.`, `..` or empty component)
    /// and reaches its file with no symbolic link on the way.
    fn checked(&self, path: &Path) -> Result<PathBuf, i32> {
        let plain = path.is_absolute() && path.components().all(|c| matches!(c, std::path::Component::RootDir | std::path::Component::Normal(_)));
        if !plain {
            return Err(EINVAL);
        }
        let parent_real = match path.parent() {
            Some(p) => std::fs::canonicalize(p).map_err(errno)?,
            None => return Ok(PathBuf::from("/")),
        };
        if parent_real != path.parent().unwrap_or(Path::new("/")) {
            return Err(ENOENT); // a link on the way: the node must follow it itself
        }
        Ok(path.to_path_buf())
    }

    /// The answer to one request frame (`up::FS_LIST`/`FS_READ`, a
    /// `fs::Request`): its id and the bytes, or the errno met. None for a
    /// malformed request.
    pub fn answer(&self, tag: u8, payload: &[u8]) -> Option<(u32, Result<Vec<u8>, i32>)> {
        let req = fs::Request::decode(payload)?;
        let path = Path::new(std::ffi::OsStr::from_bytes(req.path));
        let got = match tag {
            up::FS_LIST => self.list(path),
            _ => self.read(path),
        };
        tracing::debug!(path = %path.display(), list = tag == up::FS_LIST, bytes = got.as_ref().map_or(0, Vec::len), "workstation file asked for");
        Some((req.id, got))
    }

    /// Answer one request on the job console (`sion exec`).
    pub fn answer_console<W: Write>(&self, tag: u8, payload: &[u8], to_node: &FrameWriter<W>) -> std::io::Result<()> {
        let Some((id, got)) = self.answer(tag, payload) else { return Ok(()) };
        let id = id.to_le_bytes();
        let status = match got {
            Ok(bytes) => {
                let mut frames = Vec::with_capacity(bytes.len() + bytes.len() / (MAX_PAYLOAD - 4) * 7 + 16);
                for chunk in bytes.chunks(MAX_PAYLOAD - 4) {
                    frames.extend_from_slice(&sion_abi::console::frame_header(down::FS_DATA, chunk.len() + 4));
                    frames.extend_from_slice(&id);
                    frames.extend_from_slice(chunk);
                }
                to_node.write_raw(&frames)?;
                0
            }
            Err(e) => e,
        };
        let mut end = id.to_vec();
        end.extend_from_slice(&status.to_le_bytes());
        to_node.send(down::FS_END, &end)
    }
}

fn errno(e: std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(EACCES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(bytes: &[u8]) -> Vec<(String, u8)> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while let Some((e, r)) = fs::next_entry(rest) {
            out.push((String::from_utf8_lossy(e.name).into_owned(), e.kind));
            rest = r;
        }
        out.sort();
        out
    }

    #[test]
    fn only_what_is_shared_and_the_way_to_it() {
        let d = tempfile::tempdir().unwrap();
        let d = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(d.join("home/u/work")).unwrap();
        std::fs::create_dir_all(d.join("home/u/.ssh")).unwrap();
        std::fs::write(d.join("home/u/.ssh/id"), "secret").unwrap();
        std::fs::write(d.join("home/u/work/a.txt"), "data").unwrap();
        std::os::unix::fs::symlink("../.ssh", d.join("home/u/work/keys")).unwrap();
        let s = Shares::new([d.join("home/u/work")]);
        // The way there shows only the way.
        assert_eq!(entries(&s.list(&d.join("home/u")).unwrap()), [("work".to_string(), fs::DIR)]);
        assert_eq!(entries(&s.list(&d.join("home/u/work")).unwrap()), [("a.txt".to_string(), fs::FILE), ("keys".to_string(), fs::SYMLINK)]);
        assert_eq!(s.read(&d.join("home/u/work/a.txt")).unwrap(), b"data");
        // Outside: not there, however asked.
        assert_eq!(s.read(&d.join("home/u/.ssh/id")), Err(ENOENT));
        assert_eq!(s.list(&d.join("home/u/.ssh")), Err(ENOENT));
        assert_eq!(s.read(&d.join("home/u/work/keys/id")), Err(ENOENT), "not through a link");
        assert_eq!(s.read(&d.join("home/u/work/../.ssh/id")), Err(EINVAL));
        assert_eq!(s.read(Path::new("relative")), Err(EINVAL));
        assert_eq!(s.read(&d.join("home/u/work")), Err(EISDIR));
        // The working directory is the home: its keys stay out of sight.
        let s = Shares::new([d.join("home/u")]).hiding(secrets(Some(&d.join("home/u")), &d.join("home/u/.config/sion/group.key")));
        assert_eq!(entries(&s.list(&d.join("home/u")).unwrap()), [("work".to_string(), fs::DIR)]);
        assert_eq!(s.read(&d.join("home/u/.ssh/id")), Err(ENOENT));
        assert_eq!(s.list(&d.join("home/u/.ssh")), Err(ENOENT));
        // Unless shared by name.
        let s = Shares::new([d.join("home/u"), d.join("home/u/.ssh")]).hiding(secrets(Some(&d.join("home/u")), Path::new("/x/y")));
        assert_eq!(s.read(&d.join("home/u/.ssh/id")).unwrap(), b"secret");
    }
}
