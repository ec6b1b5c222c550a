//! `sion exec --out GUEST[:HOST]`: the files and directories the node sends
//! back after the program ended (job console frames `up::OUT_*`), written to
//! the host.
#![forbid(unsafe_code)]

use anyhow::{Context, Result};
use sion_abi::console::up;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Dir { path: String, mode: u32 },
    File { path: String, mode: u32, data: Vec<u8> },
    Symlink { path: String, target: String },
    Missing { path: String },
    /// Write-back: a directory the job made under its working directory.
    WriteBackDir { path: String, mode: u32 },
    /// Write-back: a file the job made or changed; `origin`: the size and
    /// mtime (ns) the file had here when the job first saw it.
    WriteBackFile { path: String, mode: u32, origin: Option<(u64, u64)>, data: Vec<u8> },
}

/// The `--out` items received so far.
#[derive(Debug, Default)]
pub struct OutFiles {
    pub items: Vec<Item>,
}

fn mode_path(p: &[u8]) -> Option<(u32, String)> {
    if p.len() < 4 {
        return None;
    }
    Some((u32::from_le_bytes(p[..4].try_into().ok()?), String::from_utf8_lossy(&p[4..]).into_owned()))
}

impl OutFiles {
    /// Take one frame; false if the tag is not an `OUT_*` one or is malformed.
    pub fn frame(&mut self, tag: u8, payload: &[u8]) -> bool {
        match tag {
            up::OUT_DIR => match mode_path(payload) {
                Some((mode, path)) => self.items.push(Item::Dir { path, mode }),
                None => return false,
            },
            up::OUT_FILE => match mode_path(payload) {
                Some((mode, path)) => self.items.push(Item::File { path, mode, data: Vec::new() }),
                None => return false,
            },
            up::OUT_DATA => match self.items.last_mut() {
                Some(Item::File { data, .. } | Item::WriteBackFile { data, .. }) => data.extend_from_slice(payload),
                _ => return false,
            },
            up::WB_DIR => match mode_path(payload) {
                Some((mode, path)) => self.items.push(Item::WriteBackDir { path, mode }),
                None => return false,
            },
            up::WB_FILE => {
                if payload.len() < 21 {
                    return false;
                }
                let mode = u32::from_le_bytes(payload[..4].try_into().unwrap());
                let word = |at: usize| u64::from_le_bytes(payload[at..at + 8].try_into().unwrap());
                let origin = (payload[4] != 0).then(|| (word(5), word(13)));
                let path = String::from_utf8_lossy(&payload[21..]).into_owned();
                self.items.push(Item::WriteBackFile { path, mode, origin, data: Vec::new() });
            }
            up::OUT_SYMLINK => {
                let Some(z) = payload.iter().position(|&b| b == 0) else { return false };
                let path = String::from_utf8_lossy(&payload[..z]).into_owned();
                let target = String::from_utf8_lossy(&payload[z + 1..]).into_owned();
                self.items.push(Item::Symlink { path, target });
            }
            up::OUT_MISSING => self.items.push(Item::Missing { path: String::from_utf8_lossy(payload).into_owned() }),
            _ => return false,
        }
        true
    }

    /// Write everything under the host paths of `specs` (guest absolute
    /// path, host path). Returns the guest paths the node did not have.
    pub fn write(&self, specs: &[(String, PathBuf)]) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for item in &self.items {
            let path = match item {
                Item::Dir { path, .. } | Item::File { path, .. } | Item::Symlink { path, .. } => path,
                Item::Missing { path } => {
                    missing.push(path.clone());
                    continue;
                }
                Item::WriteBackDir { .. } | Item::WriteBackFile { .. } => continue,
            };
            let Some(host) = host_path(specs, path) else { continue };
            match item {
                Item::Dir { mode, .. } => {
                    std::fs::create_dir_all(&host).with_context(|| format!("--out: creating {}", host.display()))?;
                    let _ = std::fs::set_permissions(&host, std::fs::Permissions::from_mode(mode | 0o700));
                }
                Item::File { mode, data, .. } => {
                    if let Some(parent) = host.parent() {
                        std::fs::create_dir_all(parent).with_context(|| format!("--out: creating {}", parent.display()))?;
                    }
                    if host.is_symlink() {
                        let _ = std::fs::remove_file(&host);
                    }
                    std::fs::write(&host, data).with_context(|| format!("--out: writing {}", host.display()))?;
                    std::fs::set_permissions(&host, std::fs::Permissions::from_mode(*mode)).with_context(|| format!("--out: chmod {}", host.display()))?;
                }
                Item::Symlink { target, .. } => {
                    if let Some(parent) = host.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    if host.symlink_metadata().is_ok() {
                        let _ = std::fs::remove_file(&host);
                    }
                    std::os::unix::fs::symlink(target, &host).with_context(|| format!("--out: symlink {}", host.display()))?;
                }
                Item::Missing { .. } | Item::WriteBackDir { .. } | Item::WriteBackFile { .. } => {}
            }
        }
        Ok(missing)
    }

    /// Write back what the job made or changed under `dir` (its working
    /// directory here, at the same path): each file whole and atomically
    /// (a temporary file renamed over it), with its mode. A file that
    /// changed here since the job first saw it (or appeared here meanwhile
    /// with other bytes) is left alone; the job's version goes beside it as
    /// `NAME.sion-job`. Returns one line per such conflict, and the count
    /// of files written.
    pub fn write_back(&self, dir: &Path) -> (Vec<String>, usize) {
        let mut notes = Vec::new();
        let mut written = 0;
        for item in &self.items {
            let (path, mode) = match item {
                Item::WriteBackDir { path, mode } | Item::WriteBackFile { path, mode, .. } => (Path::new(path), *mode),
                _ => continue,
            };
            // Only inside the working directory, only plain paths.
            let plain = path.components().all(|c| matches!(c, std::path::Component::RootDir | std::path::Component::Normal(_)));
            if !plain || !path.starts_with(dir) || path == dir {
                continue;
            }
            match item {
                Item::WriteBackDir { .. } => {
                    if std::fs::create_dir_all(path).is_ok() {
                        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
                    }
                }
                Item::WriteBackFile { origin, data, .. } => {
                    let here = std::fs::symlink_metadata(path).ok();
                    let unchanged_since = |m: &std::fs::Metadata| {
                        use std::os::unix::fs::MetadataExt;
                        origin.is_some_and(|(size, mtime)| m.len() == size && (m.mtime().max(0) as u64) * 1_000_000_000 + m.mtime_nsec().max(0) as u64 == mtime)
                    };
                    let target = match &here {
                        None => path.to_path_buf(),
                        Some(m) if m.is_file() && std::fs::read(path).is_ok_and(|b| b == *data) => continue, // the same bytes
                        Some(m) if m.is_file() && unchanged_since(m) => path.to_path_buf(),
                        Some(_) => {
                            let beside = PathBuf::from(format!("{}.sion-job", path.display()));
                            notes.push(format!("{} changed here while the job ran; the job's version is {}", path.display(), beside.display()));
                            beside
                        }
                    };
                    match write_atomically(&target, data, mode) {
                        Ok(()) => written += 1,
                        Err(e) => notes.push(format!("{}: {e:#}", target.display())),
                    }
                }
                _ => {}
            }
        }
        (notes, written)
    }
}

/// `data` to `path` through a temporary file in the same directory renamed
/// over it, so a reader sees the old file or the new one, never half.
fn write_atomically(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().context("no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(".{}.sion-{}", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), std::process::id()));
    std::fs::write(&tmp, data).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).with_context(|| format!("chmod {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

/// The host path of a guest path: under the first spec whose guest path is
/// it or one of its parents.
pub fn host_path(specs: &[(String, PathBuf)], guest: &str) -> Option<PathBuf> {
    for (g, h) in specs {
        if guest == g {
            return Some(h.clone());
        }
        let prefix = if g.ends_with('/') { g.clone() } else { format!("{g}/") };
        if let Some(rest) = guest.strip_prefix(&prefix) {
            return Some(Path::new(h).join(rest));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(mode: u32, p: &str) -> Vec<u8> {
        let mut v = mode.to_le_bytes().to_vec();
        v.extend_from_slice(p.as_bytes());
        v
    }

    #[test]
    fn write_back_leaves_alone_what_changed_here() {
        let tmp = tempfile::tempdir().unwrap();
        let d = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::write(d.join("kept.txt"), "base").unwrap();
        std::fs::write(d.join("moved.txt"), "changed here").unwrap();
        let m = std::fs::metadata(d.join("kept.txt")).unwrap();
        use std::os::unix::fs::MetadataExt;
        let origin = Some((m.len(), m.mtime() as u64 * 1_000_000_000 + m.mtime_nsec() as u64));
        let file = |name: &str, origin, data: &str| Item::WriteBackFile { path: d.join(name).to_string_lossy().into_owned(), mode: 0o640, origin, data: data.as_bytes().to_vec() };
        let o = OutFiles {
            items: vec![
                Item::WriteBackDir { path: d.join("new").to_string_lossy().into_owned(), mode: 0o755 },
                file("new/made.txt", None, "made"),
                file("kept.txt", origin, "job's"),
                file("moved.txt", Some((1, 1)), "job's too"),
                Item::WriteBackFile { path: "/etc/passwd".into(), mode: 0o644, origin: None, data: b"x".to_vec() },
                file("../escape.txt", None, "no"),
            ],
        };
        let (notes, written) = o.write_back(&d);
        assert_eq!(std::fs::read_to_string(d.join("new/made.txt")).unwrap(), "made");
        assert_eq!(std::fs::read_to_string(d.join("kept.txt")).unwrap(), "job's", "unchanged here: replaced");
        assert_eq!(std::fs::read_to_string(d.join("moved.txt")).unwrap(), "changed here", "changed here: left alone");
        assert_eq!(std::fs::read_to_string(d.join("moved.txt.sion-job")).unwrap(), "job's too");
        assert_eq!((notes.len(), written), (1, 3));
        assert!(notes[0].contains("changed here while the job ran"));
        assert_eq!(std::fs::metadata(d.join("kept.txt")).unwrap().permissions().mode() & 0o777, 0o640);
        assert!(!tmp.path().parent().unwrap().join("escape.txt").exists());
    }

    #[test]
    fn frames_become_files() {
        let tmp = tempfile::tempdir().unwrap();
        let mut o = OutFiles::default();
        assert!(o.frame(up::OUT_DIR, &head(0o755, "/w/res")));
        assert!(o.frame(up::OUT_FILE, &head(0o640, "/w/res/a.txt")));
        assert!(o.frame(up::OUT_DATA, b"hello "));
        assert!(o.frame(up::OUT_DATA, b"world"));
        assert!(o.frame(up::OUT_FILE, &head(0o600, "/w/res/empty")));
        assert!(o.frame(up::OUT_SYMLINK, b"/w/res/l\0a.txt"));
        assert!(o.frame(up::OUT_MISSING, b"/w/nope"));
        assert!(!o.frame(up::OUT_DATA, b"x"), "data after a non-file");
        assert!(!o.frame(up::STDOUT, b"x"));
        let specs = vec![("/w/res".to_string(), tmp.path().join("got")), ("/w/nope".to_string(), tmp.path().join("nope"))];
        let missing = o.write(&specs).unwrap();
        assert_eq!(missing, ["/w/nope"]);
        let got = tmp.path().join("got");
        assert_eq!(std::fs::read(got.join("a.txt")).unwrap(), b"hello world");
        assert_eq!(std::fs::metadata(got.join("a.txt")).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read(got.join("empty")).unwrap(), b"");
        assert_eq!(std::fs::read_link(got.join("l")).unwrap(), Path::new("a.txt"));
        assert_eq!(host_path(&specs, "/w/resx"), None);
    }
}
