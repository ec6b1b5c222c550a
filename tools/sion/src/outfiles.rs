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
                Some(Item::File { data, .. }) => data.extend_from_slice(payload),
                _ => return false,
            },
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
                Item::Missing { .. } => {}
            }
        }
        Ok(missing)
    }
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
