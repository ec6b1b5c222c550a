//! The group key file: 64 hex digits (32 bytes) and a newline.
//!
//! Which file (the first that applies):
//! 1. `--key-file FILE`, then `$SION_KEY_FILE`: that file, never created;
//! 2. `~/.config/sion/group.key` ($XDG_CONFIG_HOME honoured) if it exists: the user's own;
//! 3. `/etc/sion/group.key` if it exists: the installed service's (the Debian
//!    package creates it, mode 0640 root:sion; members of group `sion` read it);
//! 4. else `~/.config/sion/group.key`, created (mode 0600) on first use.
//!
//! Copy the key to every workstation of the group (`sion key show`, `sion key
//! import`); nodes get it on their command line.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sion_group::Key;

/// The installed service's key (the Debian package's postinst creates it).
pub const SYSTEM_PATH: &str = "/etc/sion/group.key";

/// The user's own key file, whether or not it exists.
pub fn user_path() -> PathBuf {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/".into())).join(".config"),
    };
    base.join("sion").join("group.key")
}

/// The key file `sion` uses when no `--key-file` is given (see the module's rules).
pub fn default_path() -> PathBuf {
    resolve(None).0
}

/// The key file for `explicit` (`--key-file`) and whether it may be created.
pub fn resolve(explicit: Option<&Path>) -> (PathBuf, bool) {
    resolve_from(explicit, std::env::var_os("SION_KEY_FILE"), user_path(), Path::new(SYSTEM_PATH))
}

/// [`resolve`] with its inputs given (for the tests).
pub fn resolve_from(explicit: Option<&Path>, env: Option<OsString>, user: PathBuf, system: &Path) -> (PathBuf, bool) {
    if let Some(p) = explicit {
        return (p.to_path_buf(), false);
    }
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        return (PathBuf::from(p), false);
    }
    let exists = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    if !exists(&user) && exists(system) {
        return (system.to_path_buf(), false);
    }
    (user, true)
}

/// Parses a key as `sion key show` prints it (surrounding white space ignored);
/// the error says what is wrong with it.
pub fn parse(text: &str) -> Result<Key> {
    let t = text.trim();
    if t.is_empty() {
        bail!("no key: a group key is 64 hexadecimal digits");
    }
    if let Some((i, c)) = t.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        bail!("{c:?} at offset {i} is not a hexadecimal digit: a group key is 64 hexadecimal digits");
    }
    if t.len() != 64 {
        bail!("{} hexadecimal digits: a group key is 64 (32 bytes)", t.len());
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

/// The key file's text: what `sion key show` prints and `import` accepts.
pub fn format(k: &Key) -> String {
    format!("{}\n", to_hex(k))
}

/// Reads the key file for `explicit` (`--key-file`, see [`resolve`]); creates
/// the user's own if that is the one and it does not exist yet.
pub fn load_or_create(explicit: Option<&Path>) -> Result<Key> {
    let (path, may_create) = resolve(explicit);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mode = std::fs::metadata(&path)?.permissions().mode();
            // Group read is fine (the service's key is root:sion 0640); more is not.
            if mode & 0o027 != 0 {
                tracing::warn!("{}: readable by others (mode {:o}); chmod 600 it", path.display(), mode & 0o777);
            }
            parse(&text).with_context(|| format!("{}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => {
            let key = random_key()?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            let mut f =
                std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).with_context(|| format!("creating {}", path.display()))?;
            f.write_all(format(&key).as_bytes())?;
            eprintln!("sion: created a new group key in {} (copy it to the group's other workstations)", path.display());
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && path == Path::new(SYSTEM_PATH) => {
            Err(e).with_context(|| format!("reading the group key {} (only root and group sion may: `adduser $USER sion`, or pass --key-file)", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("reading the group key {}", path.display())),
    }
}

/// Writes `key` to `path` atomically (a new file beside it, renamed over it):
/// an existing file's mode and owner are kept, a new file gets 0600 (its
/// directory is created if missing).
pub fn store(path: &Path, key: &Key) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let old = std::fs::metadata(path).ok();
    let mut tmp = tempfile::Builder::new().prefix(".group.key.").tempfile_in(dir).with_context(|| format!("writing in {}", dir.display()))?;
    let mode = old.as_ref().map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o600);
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
    if let Some(m) = &old {
        // Only root may give a file away; anyone else keeps their own.
        if let Err(e) = std::os::unix::fs::fchown(tmp.as_file(), Some(m.uid()), Some(m.gid())) {
            tracing::debug!("keeping the owner of {}: {e}", path.display());
        }
    }
    tmp.write_all(format(key).as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
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

/// `sion key show` and `sion key import`.
pub fn main(args: super::cli::KeyArgs) -> i32 {
    use super::cli::KeyCommand;
    let result = match args.command {
        KeyCommand::Show { key_file } => load_or_create(key_file.as_deref()).and_then(|k| {
            std::io::stdout().write_all(format(&k).as_bytes())?;
            Ok(())
        }),
        KeyCommand::Import { key_file, file } => import(key_file.as_deref(), &file),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sion: key: {e:#}");
            1
        }
    }
}

/// `sion key import [--key-file DEST] FILE|-`.
fn import(dest: Option<&Path>, from: &Path) -> Result<()> {
    let mut text = String::new();
    let what = if from == Path::new("-") {
        std::io::stdin().read_to_string(&mut text).context("reading standard input")?;
        "standard input".to_string()
    } else {
        std::fs::File::open(from).and_then(|mut f| f.read_to_string(&mut text)).with_context(|| format!("reading {}", from.display()))?;
        from.display().to_string()
    };
    let key = parse(&text).with_context(|| format!("{what}: not imported"))?;
    let dest = match dest {
        Some(p) => p.to_path_buf(),
        None => match std::env::var_os("SION_KEY_FILE").filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => user_path(),
        },
    };
    if std::fs::read_to_string(&dest).ok().and_then(|t| parse(&t).ok()).is_some_and(|old| old.0 == key.0) {
        eprintln!("sion: {} already holds this key", dest.display());
        return Ok(());
    }
    store(&dest, &key)?;
    eprintln!("sion: the group key is now in {} (restart the daemon that uses it)", dest.display());
    Ok(())
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
        std::fs::write(&p, format(&k)).unwrap();
        assert_eq!(load_or_create(Some(&p)).unwrap().0, k.0);
    }

    #[test]
    fn what_show_prints_import_accepts() {
        let k = Key([0xa5; 32]);
        let text = format(&k);
        assert_eq!(text, format!("{}\n", "a5".repeat(32)));
        assert_eq!(parse(&text).unwrap().0, k.0);
        // Upper case and surrounding white space (a copy and paste) are fine.
        assert_eq!(parse(&format!("  {}\r\n\n", "A5".repeat(32))).unwrap().0, k.0);
    }

    #[test]
    fn malformed_keys_are_refused_with_the_reason() {
        let reason = |t: &str| match parse(t) {
            Err(e) => format!("{e}"),
            Ok(_) => panic!("{t:?} accepted"),
        };
        assert!(reason("").contains("no key"), "{}", reason(""));
        assert!(reason(" \n").contains("no key"));
        assert!(reason(&"ab".repeat(31)).contains("62 hexadecimal digits"));
        assert!(reason(&"ab".repeat(33)).contains("66 hexadecimal digits"));
        let r = reason(&format!("{}z{}", "0".repeat(10), "0".repeat(53)));
        assert!(r.contains("'z' at offset 10"), "{r}");
        // Two keys, or a key with a comment: not one key.
        assert!(reason(&format!("{0}\n{0}", "ab".repeat(32))).contains("'\\n' at offset 64"));
        assert!(parse(&format!("{} # mine", "ab".repeat(32))).is_err());
    }

    #[test]
    fn store_keeps_mode_and_replaces_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/group.key");
        store(&p, &Key([1; 32])).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        store(&p, &Key([2; 32])).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), format(&Key([2; 32])));
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn which_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let (user, system) = (dir.path().join("home/.config/sion/group.key"), dir.path().join("etc/sion/group.key"));
        let given = Path::new("/given");
        // --key-file, then $SION_KEY_FILE: never created.
        assert_eq!(resolve_from(Some(given), Some("/env".into()), user.clone(), &system), (given.to_path_buf(), false));
        assert_eq!(resolve_from(None, Some("/env".into()), user.clone(), &system), (PathBuf::from("/env"), false));
        // Nothing yet: the user's, to create.
        assert_eq!(resolve_from(None, Some("".into()), user.clone(), &system), (user.clone(), true));
        // The service's key when the user has none.
        std::fs::create_dir_all(system.parent().unwrap()).unwrap();
        std::fs::write(&system, "x").unwrap();
        assert_eq!(resolve_from(None, None, user.clone(), &system), (system.clone(), false));
        // The user's own first.
        std::fs::create_dir_all(user.parent().unwrap()).unwrap();
        std::fs::write(&user, "x").unwrap();
        assert_eq!(resolve_from(None, None, user.clone(), &system), (user.clone(), true));
    }
}
