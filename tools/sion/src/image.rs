//! Composes the boot archive of a node: the servers and the boot job
//! (see `sion_abi::boot::names` for the entries and their meaning).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use sion_abi::boot::names;
use sion_abi::bootfs::{regular, Writer};

use crate::args::FileSpec;

/// Everything the boot job consists of.
#[derive(Debug, Default)]
pub struct Job {
    /// The program's bytes.
    pub program: Vec<u8>,
    /// argv, argv[0] first, as given.
    pub argv: Vec<OsString>,
    /// `K=V` strings, exactly the environment.
    pub env: Vec<OsString>,
    /// Absolute canonical host path of the program.
    pub exe: PathBuf,
    /// The working directory of the program.
    pub cwd: PathBuf,
    /// Input files.
    pub files: Vec<GuestFile>,
    /// The user and group the program runs as: the host user's, so it sees
    /// the same ids as when run locally.
    pub uid: u32,
    pub gid: u32,
    /// Host entropy mixed into the node's CSPRNG (the node may lack RDSEED).
    pub seed: [u8; 32],
    /// `--out` guest paths (absolute) the node sends back at the end.
    pub outs: Vec<PathBuf>,
    /// Ask the personality for a trace of the system calls: `trace=1`
    /// (every call) or `trace=counts` (counts at the end).
    pub trace: Option<&'static str>,
    /// Paths of this machine the job sees on demand (`share=`).
    pub shares: Vec<PathBuf>,
    /// The shared working directory whose changes come back (`writeback=`).
    pub write_back: Option<PathBuf>,
}

/// A file to place in the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestFile {
    /// Absolute, normalized guest path, as a UTF-8 string.
    pub path: String,
    /// Permission bits.
    pub perm: u32,
    /// The file's bytes, or a symbolic link's target, as it was written.
    pub data: Vec<u8>,
    /// A symbolic link (kept as one, dangling or not), not a regular file.
    pub symlink: bool,
}

/// `S_IFLNK`: the type bits of a symbolic link in a file mode.
pub const S_IFLNK: u32 = 0o120000;

impl GuestFile {
    pub fn file(path: impl Into<String>, perm: u32, data: impl Into<Vec<u8>>) -> GuestFile {
        GuestFile { path: path.into(), perm, data: data.into(), symlink: false }
    }

    pub fn link(path: impl Into<String>, target: impl Into<Vec<u8>>) -> GuestFile {
        GuestFile { path: path.into(), perm: 0o777, data: target.into(), symlink: true }
    }

    /// Its mode in the job archive (a cpio mode): a regular file with its
    /// permissions, or `S_IFLNK | 0777` with the target as its data, as cpio
    /// stores links.
    pub fn archive_mode(&self) -> u32 {
        if self.symlink {
            S_IFLNK | 0o777
        } else {
            regular(self.perm)
        }
    }

    /// The mode `sion run` announces for it: the permission bits of a file
    /// (as before links were carried), `S_IFLNK | 0777` for a link.
    pub fn wire_mode(&self) -> u32 {
        if self.symlink {
            S_IFLNK | 0o777
        } else {
            self.perm
        }
    }
}

/// The PATH a job gets unless `--env PATH=...` gives one: a login shell's.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A job's environment: the `--env` entries, in order, then `PATH` (the
/// default) when they set none, unless `clear` (`--clear-env`: exactly the
/// `--env` entries).
pub fn job_env(env: &[OsString], clear: bool) -> Vec<OsString> {
    let mut out = env.to_vec();
    if !clear && !env.iter().any(|kv| kv.as_bytes().starts_with(b"PATH=")) {
        out.push(format!("PATH={DEFAULT_PATH}").into());
    }
    out
}

/// NUL-terminates each string and concatenates them.
pub fn nul_list(items: &[OsString]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for s in items {
        let b = s.as_bytes();
        if b.contains(&0) {
            bail!("{s:?} contains a NUL byte");
        }
        out.extend_from_slice(b);
        out.push(0);
    }
    Ok(out)
}

fn config_value(key: &str, p: &Path) -> Result<Vec<u8>> {
    let b = p.as_os_str().as_bytes();
    if b.contains(&b'\n') || b.contains(&0) {
        bail!("{key} path {} contains a newline or NUL", p.display());
    }
    let mut line = format!("{key}=").into_bytes();
    line.extend_from_slice(b);
    line.push(b'\n');
    Ok(line)
}

/// The `job/config` text.
pub fn config(job: &Job) -> Result<Vec<u8>> {
    let mut c = config_value("exe", &job.exe)?;
    c.extend(config_value("cwd", &job.cwd)?);
    c.extend_from_slice(b"stdin=stream\n");
    c.extend_from_slice(format!("uid={}\ngid={}\n", job.uid, job.gid).as_bytes());
    let seed: String = job.seed.iter().map(|b| format!("{b:02x}")).collect();
    c.extend_from_slice(format!("seed={seed}\n").as_bytes());
    for o in &job.outs {
        c.extend(config_value("out", o)?);
    }
    if let Some(mode) = job.trace {
        c.extend_from_slice(format!("trace={mode}\n").as_bytes());
    }
    for p in &job.shares {
        c.extend(config_value("share", p)?);
    }
    if let Some(d) = &job.write_back {
        c.extend(config_value("writeback", d)?);
    }
    Ok(c)
}

/// The whole archive: the servers in order (the first, the personality, is the
/// boot server), then the job.
pub fn compose(servers: &[(&str, &[u8])], job: &Job) -> Result<Vec<u8>> {
    let mut w = Writer::new();
    let mut add = |name: &str, mode: u32, data: &[u8]| -> Result<()> {
        if u32::try_from(data.len()).is_err() {
            bail!("{name} is {} bytes; the boot archive holds at most 4 GiB per file", data.len());
        }
        w.add(name, mode, data);
        Ok(())
    };
    for (name, image) in servers {
        add(&format!("{}{name}", names::SERVERS), regular(0o755), image)?;
    }
    add(names::JOB_PROGRAM, regular(0o755), &job.program)?;
    add(names::JOB_ARGV, regular(0o644), &nul_list(&job.argv)?)?;
    add(names::JOB_ENV, regular(0o644), &nul_list(&job.env)?)?;
    add(names::JOB_CONFIG, regular(0o644), &config(job)?)?;
    for f in &job.files {
        let rel = f.path.trim_start_matches('/');
        add(&format!("{}{rel}", names::JOB_FILES), f.archive_mode(), &f.data)?;
    }
    Ok(w.finish())
}

/// Memory a node needs besides the boot archive and the files (kernel,
/// servers); the node's figure is about 4 MiB.
const NODE_OVERHEAD: u64 = 8 << 20;
/// What the node keeps for the job itself when staging files: 32 MiB or an
/// eighth of its memory (`STAGING_RESERVE` in the personality's `build_tree`).
const JOB_RESERVE: u64 = 32 << 20;
/// The node's file space keeps a regular file in blocks of this size
/// (`sion_vfs::CHUNK`): a 1-byte file takes 64 KiB.
const FILE_BLOCK: u64 = 64 << 10;
const MIB: u64 = 1 << 20;

/// Room for files in a node of `mem` bytes whose boot archive (in its
/// memory too) is `archive_len` bytes.
fn file_room(archive_len: u64, mem: u64) -> u64 {
    let left = mem.saturating_sub(archive_len).saturating_sub(NODE_OVERHEAD);
    left.saturating_sub((left / 8).max(JOB_RESERVE))
}

/// Whether the `--file`s fit in a node of `mem` bytes whose boot archive is
/// `archive_len` bytes: the node copies them into the personality's heap
/// (`build_tree`), keeping a reserve for the job. A tree that cannot fit is
/// refused here, before booting, with the memory that would do.
pub fn check_fits(files: &[GuestFile], archive_len: u64, mem: u64) -> Result<()> {
    let need: u64 = files.iter().filter(|f| !f.symlink).map(|f| (f.data.len() as u64).div_ceil(FILE_BLOCK) * FILE_BLOCK).sum();
    let room = file_room(archive_len, mem);
    if need > room {
        let want = (256..).step_by(256).find(|m| file_room(archive_len, m * MIB) >= need).unwrap_or(0);
        bail!(
            "the --file tree does not fit in the node's memory: its {} file{} need {} MiB there (a file takes 64 KiB blocks), \
             and a node of {} MiB holds {} MiB of files besides its {} MiB boot archive; try --mem {want}M",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            need.div_ceil(MIB),
            mem / MIB,
            room / MIB,
            archive_len.div_ceil(MIB)
        );
    }
    Ok(())
}

/// Makes `p` absolute against `cwd` and resolves `.` and `..` lexically.
pub fn normalize(p: &Path, cwd: &Path) -> PathBuf {
    let joined = if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

fn guest_string(p: &Path) -> Result<String> {
    match p.to_str() {
        Some(s) if s != "/" => Ok(s.to_string()),
        Some(_) => bail!("guest path may not be / itself"),
        None => bail!("guest path {} is not UTF-8", p.display()),
    }
}

/// Nesting limit for `--file` directories.
const MAX_DEPTH: usize = 32;

/// Reads the `--file` arguments from the host: a file, or everything under a
/// directory (recursively, permissions kept). A path named by `--file` is
/// followed when it is a symbolic link (as `cp` copies the file a named link
/// points to); the links found inside a directory are kept as links, with
/// their target text unchanged, whether it exists or not (as `cp -a` and
/// `tar` keep them), so a dangling link does not stop the job and a link
/// stays a link on the node. A named link that loops or dangles is refused
/// with the reason.
pub fn collect_files(specs: &[FileSpec], cwd: &Path) -> Result<Vec<GuestFile>> {
    let mut out = Vec::new();
    for spec in specs {
        let host = if spec.host.is_absolute() { spec.host.clone() } else { cwd.join(&spec.host) };
        let guest = normalize(spec.guest.as_deref().unwrap_or(&spec.host), cwd);
        add_path(&host, &guest, 0, true, &mut out)
            .with_context(|| format!("--file {}", spec.host.display()))?;
    }
    // A later --file for the same guest path wins.
    let mut seen = std::collections::HashSet::new();
    let mut dedup: Vec<GuestFile> = out.into_iter().rev().filter(|f| seen.insert(f.path.clone())).collect();
    dedup.reverse();
    Ok(dedup)
}

fn add_path(host: &Path, guest: &Path, depth: usize, follow: bool, out: &mut Vec<GuestFile>) -> Result<()> {
    let meta = if follow {
        std::fs::metadata(host).map_err(|e| match e.raw_os_error() {
            Some(40) => anyhow::anyhow!("{}: a symbolic link loop (too many levels of links)", host.display()),
            Some(2) if std::fs::symlink_metadata(host).is_ok() => anyhow::anyhow!(
                "{}: a dangling symbolic link (to {})",
                host.display(),
                std::fs::read_link(host).map(|t| t.display().to_string()).unwrap_or_default()
            ),
            _ => anyhow::Error::new(e).context(host.display().to_string()),
        })?
    } else {
        std::fs::symlink_metadata(host).with_context(|| format!("{}", host.display()))?
    };
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(host).with_context(|| format!("{}", host.display()))?;
        out.push(GuestFile::link(guest_string(guest)?, target.as_os_str().as_bytes()));
        Ok(())
    } else if meta.is_dir() {
        if depth >= MAX_DEPTH {
            bail!("{}: directories nested deeper than {MAX_DEPTH}", host.display());
        }
        let mut entries: Vec<_> = std::fs::read_dir(host)
            .with_context(|| format!("{}", host.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}", host.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            add_path(&e.path(), &guest.join(e.file_name()), depth + 1, false, out)?;
        }
        Ok(())
    } else if meta.is_file() {
        let data = std::fs::read(host).with_context(|| format!("{}", host.display()))?;
        out.push(GuestFile::file(guest_string(guest)?, meta.permissions().mode() & 0o7777, data));
        Ok(())
    } else {
        bail!("{}: not a regular file, directory or symbolic link", host.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sion_abi::bootfs::Reader;

    fn entries(bytes: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        Reader::new(bytes)
            .map(|e| {
                let e = e.unwrap();
                (e.name.to_string(), e.mode, e.data.to_vec())
            })
            .collect()
    }

    #[test]
    fn trace_asks_the_personality() {
        let job = Job { exe: "/p".into(), cwd: "/".into(), trace: Some("1"), ..Default::default() };
        assert!(String::from_utf8(config(&job).unwrap()).unwrap().ends_with("trace=1\n"));
        let job = Job { exe: "/p".into(), cwd: "/".into(), trace: Some("counts"), ..Default::default() };
        assert!(String::from_utf8(config(&job).unwrap()).unwrap().ends_with("trace=counts\n"));
    }

    #[test]
    fn archive_has_exact_job_entries() {
        let job = Job {
            program: b"\x7fELFprog".to_vec(),
            argv: vec!["./prog".into(), "a b".into(), "".into(), "-x".into()],
            env: vec!["A=1".into(), "EMPTY=".into(), "B=x=y".into()],
            exe: "/home/u/prog".into(),
            cwd: "/home/u".into(),
            files: vec![
                GuestFile::file("/etc/hosts", 0o644, b"127.0.0.1 x\n".to_vec()),
                GuestFile::file("/data/run.sh", 0o755, b"#!".to_vec()),
            ],
            ..Default::default()
        };
        let bytes = compose(&[("personality", b"PERSONALITY")], &job).unwrap();
        let e = entries(&bytes);
        let names: Vec<_> = e.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "servers/personality",
                "job/program",
                "job/argv",
                "job/env",
                "job/config",
                "job/files/etc/hosts",
                "job/files/data/run.sh"
            ]
        );
        assert_eq!(e[0].2, b"PERSONALITY");
        assert_eq!(e[0].1, 0o100755);
        assert_eq!(e[1].2, b"\x7fELFprog");
        assert_eq!(e[2].2, b"./prog\0a b\0\0-x\0");
        assert_eq!(e[3].2, b"A=1\0EMPTY=\0B=x=y\0");
        assert_eq!(e[4].2, format!("exe=/home/u/prog\ncwd=/home/u\nstdin=stream\nuid=0\ngid=0\nseed={}\n", "00".repeat(32)).as_bytes());
        assert_eq!(e[5].1, 0o100644);
        assert_eq!(e[5].2, b"127.0.0.1 x\n");
        assert_eq!(e[6].1, 0o100755);
        // Lookup by the ABI's names.
        assert_eq!(Reader::find(&bytes, names::JOB_ARGV).unwrap().data, b"./prog\0a b\0\0-x\0");
    }

    #[test]
    fn empty_env_is_an_empty_entry() {
        let job = Job { argv: vec!["p".into()], exe: "/p".into(), cwd: "/".into(), ..Default::default() };
        let bytes = compose(&[("personality", b"")], &job).unwrap();
        assert_eq!(Reader::find(&bytes, names::JOB_ENV).unwrap().data, b"");
    }

    #[test]
    fn a_job_gets_a_path_unless_told_otherwise() {
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let path = format!("PATH={DEFAULT_PATH}");
        assert_eq!(job_env(&[], false), os(&[&path]));
        assert_eq!(job_env(&os(&["A=1"]), false), os(&["A=1", &path]));
        assert_eq!(job_env(&os(&["PATH=/x", "A=1"]), false), os(&["PATH=/x", "A=1"]));
        assert_eq!(job_env(&os(&["PATHX=1"]), false), os(&["PATHX=1", &path]));
        assert_eq!(job_env(&os(&["PATH="]), false), os(&["PATH="]));
        assert_eq!(job_env(&os(&["A=1"]), true), os(&["A=1"]));
        assert!(job_env(&[], true).is_empty());
    }

    #[test]
    fn nul_and_newline_are_refused() {
        assert!(nul_list(&[OsString::from("a\0b")]).is_err());
        let job = Job { exe: "/a\nb".into(), cwd: "/".into(), ..Default::default() };
        assert!(config(&job).is_err());
    }

    #[test]
    fn normalize_paths() {
        let cwd = Path::new("/home/u");
        assert_eq!(normalize(Path::new("x/y"), cwd), Path::new("/home/u/x/y"));
        assert_eq!(normalize(Path::new("../x/./y"), cwd), Path::new("/home/x/y"));
        assert_eq!(normalize(Path::new("/../../etc//x"), cwd), Path::new("/etc/x"));
    }

    #[test]
    fn files_and_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("d/sub/deeper")).unwrap();
        std::fs::write(root.join("single.txt"), b"single").unwrap();
        std::fs::write(root.join("d/a"), b"A").unwrap();
        std::fs::write(root.join("d/sub/b.sh"), b"B").unwrap();
        std::fs::set_permissions(root.join("d/sub/b.sh"), std::fs::Permissions::from_mode(0o750)).unwrap();
        std::fs::write(root.join("d/sub/deeper/c"), b"").unwrap();
        std::fs::set_permissions(root.join("d/a"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let specs = [
            FileSpec { host: "single.txt".into(), guest: None },
            FileSpec { host: root.join("d"), guest: Some("/srv/d".into()) },
            FileSpec { host: "single.txt".into(), guest: Some("/etc/../etc/s".into()) },
        ];
        let files = collect_files(&specs, root).unwrap_or_else(|e| panic!("{e:#}"));
        let got: Vec<_> = files.iter().map(|f| (f.path.as_str(), f.perm, f.data.as_slice())).collect();
        let single = format!("{}/single.txt", root.display());
        assert_eq!(
            got,
            [
                (single.as_str(), 0o644, &b"single"[..]),
                ("/srv/d/a", 0o600, b"A"),
                ("/srv/d/sub/b.sh", 0o750, b"B"),
                ("/srv/d/sub/deeper/c", 0o644, b""),
                ("/etc/s", 0o644, b"single"),
            ]
        );
        let job = Job { argv: vec!["p".into()], exe: "/p".into(), cwd: "/".into(), files, ..Default::default() };
        let bytes = compose(&[("personality", b"")], &job).unwrap();
        let f = Reader::find(&bytes, "job/files/srv/d/sub/b.sh").unwrap();
        assert_eq!((f.mode, f.data), (0o100750, &b"B"[..]));
        assert!(Reader::find(&bytes, &format!("job/files{single}")).is_some());

        let missing = [FileSpec { host: root.join("nope"), guest: None }];
        let err = format!("{:#}", collect_files(&missing, root).unwrap_err());
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn links_inside_a_directory_stay_links() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("d/sub")).unwrap();
        std::fs::write(root.join("d/real.txt"), b"real").unwrap();
        symlink("real.txt", root.join("d/valid")).unwrap();
        symlink("/nonexistent/target", root.join("d/dangling")).unwrap();
        symlink("sub", root.join("d/dirlink")).unwrap();
        symlink("loop", root.join("d/loop")).unwrap();
        symlink("..", root.join("d/sub/up")).unwrap();
        let specs = [FileSpec { host: root.join("d"), guest: Some("/w".into()) }];
        let files = collect_files(&specs, root).unwrap_or_else(|e| panic!("{e:#}"));
        let got: Vec<_> = files.iter().map(|f| (f.path.as_str(), f.symlink, f.data.as_slice())).collect();
        assert_eq!(
            got,
            [
                ("/w/dangling", true, &b"/nonexistent/target"[..]),
                ("/w/dirlink", true, b"sub"),
                ("/w/loop", true, b"loop"),
                ("/w/real.txt", false, b"real"),
                ("/w/sub/up", true, b".."),
                ("/w/valid", true, b"real.txt"),
            ]
        );
        // In the archive: cpio's way, S_IFLNK with the target as data.
        let job = Job { argv: vec!["p".into()], exe: "/p".into(), cwd: "/".into(), files, ..Default::default() };
        let bytes = compose(&[("personality", b"")], &job).unwrap();
        let l = Reader::find(&bytes, "job/files/w/dangling").unwrap();
        assert_eq!((l.mode, l.data), (0o120777, &b"/nonexistent/target"[..]));
        assert_eq!(Reader::find(&bytes, "job/files/w/real.txt").unwrap().mode, 0o100644);
    }

    #[test]
    fn a_named_link_is_followed_and_a_bad_one_refused() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("d")).unwrap();
        std::fs::write(root.join("d/f"), b"F").unwrap();
        symlink("d/f", root.join("to-file")).unwrap();
        symlink("d", root.join("to-dir")).unwrap();
        symlink("nowhere", root.join("dangling")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        let ok = [
            FileSpec { host: "to-file".into(), guest: Some("/x".into()) },
            FileSpec { host: "to-dir".into(), guest: Some("/y".into()) },
        ];
        let files = collect_files(&ok, root).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(files, [GuestFile::file("/x", 0o644, b"F".to_vec()), GuestFile::file("/y/f", 0o644, b"F".to_vec())]);
        let err = |name: &str| format!("{:#}", collect_files(&[FileSpec { host: name.into(), guest: Some("/z".into()) }], root).unwrap_err());
        let e = err("dangling");
        assert!(e.contains("dangling symbolic link (to nowhere)"), "{e}");
        let e = err("loop");
        assert!(e.contains("symbolic link loop"), "{e}");
    }

    #[test]
    fn a_tree_past_the_node_memory_is_refused_before_booting() {
        let big = vec![GuestFile::file("/t/f", 0o644, vec![0u8; 150 << 20])];
        // 256 MiB: the 151 MiB archive leaves 97, less 32 for the job.
        let e = format!("{:#}", check_fits(&big, 151 << 20, 256 << 20).unwrap_err());
        assert!(e.contains("1 file need 150 MiB") && e.contains("holds 65 MiB") && e.contains("try --mem 512M"), "{e}");
        assert!(check_fits(&big, 151 << 20, 512 << 20).is_ok());
        let ok = vec![GuestFile::file("/t/f", 0o644, vec![0u8; 100 << 20])];
        assert!(check_fits(&ok, 101 << 20, 256 << 20).is_ok());
        // Small files take a 64 KiB block each; links take none.
        let small: Vec<_> = (0..4000).map(|i| GuestFile::file(format!("/s/{i}"), 0o644, b"x".to_vec())).collect();
        let e = format!("{:#}", check_fits(&small, 1 << 20, 256 << 20).unwrap_err());
        assert!(e.contains("4000 files need 250 MiB"), "{e}");
        assert!(check_fits(&small[..2500], 1 << 20, 256 << 20).is_ok());
        let links: Vec<_> = (0..4000).map(|i| GuestFile::link(format!("/s/{i}"), b"x".to_vec())).collect();
        assert!(check_fits(&links, 1 << 20, 256 << 20).is_ok());
        assert!(check_fits(&[], 1 << 20, 32 << 20).is_ok());
    }
}
