//! The group key file: 64 hex digits (32 bytes), mode 0600. `sion` creates
//! one on first use at `~/.config/sion/group.key` ($XDG_CONFIG_HOME honoured);
//! copy it to every workstation of the group (nodes get it on their command line).
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sion_group::Key;

pub fn default_path() -> PathBuf {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/".into())).join(".config"),
    };
    base.join("sion").join("group.key")
}

pub fn parse(text: &str) -> Result<Key> {
    let t = text.trim();
    if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("a group key is 64 hexadecimal digits");
    }
    let mut k = [0u8; 32];
    for (i, byte) in k.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).unwrap();
    }
    Ok(Key(k))
}

pub fn to_hex(k: &Key) -> String {
    k.0.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the key at `path`; creates it (and its directory) if `path` is the
/// default one and does not exist yet.
pub fn load_or_create(path: Option<&Path>) -> Result<Key> {
    let (path, may_create) = match path {
        Some(p) => (p.to_path_buf(), false),
        None => (default_path(), true),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mode = std::fs::metadata(&path)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!("{}: readable by others (mode {:o}); chmod 600 it", path.display(), mode & 0o777);
            }
            parse(&text).with_context(|| format!("{}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => {
            let key = random_key()?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            writeln!(f, "{}", to_hex(&key))?;
            eprintln!("sion: created a new group key in {} (copy it to the group's other workstations)", path.display());
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading the group key {}", path.display())),
    }
}

pub fn random_key() -> Result<Key> {
    let mut k = [0u8; 32];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut k)).context("reading /dev/urandom")?;
    Ok(Key(k))
}

pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_creation() {
        let k = random_key().unwrap();
        assert_eq!(parse(&to_hex(&k)).unwrap().0, k.0);
        assert!(parse("abc").is_err());
        assert!(parse(&"g".repeat(64)).is_err());
        let dir = tempfile::tempdir().unwrap();
        // An explicit path is never created.
        assert!(load_or_create(Some(&dir.path().join("none"))).is_err());
        let p = dir.path().join("k");
        std::fs::write(&p, format!("{}\n", to_hex(&k))).unwrap();
        assert_eq!(load_or_create(Some(&p)).unwrap().0, k.0);
    }
}
