//! Host tests on real images made by mke2fs, checked by `e2fsck -fn` after
//! the driver wrote to them (skipped, with the reason printed, where
//! e2fsprogs is missing).
extern crate std;
use super::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::string::ToString;
use std::{eprintln, fs};

struct Img(Vec<u8>);

impl Disk for Img {
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<()> {
        let o = off as usize;
        if o + buf.len() > self.0.len() {
            return Err(EIO);
        }
        buf.copy_from_slice(&self.0[o..o + buf.len()]);
        Ok(())
    }
    fn write(&mut self, off: u64, data: &[u8]) -> Result<()> {
        let o = off as usize;
        if o + data.len() > self.0.len() {
            return Err(EIO);
        }
        self.0[o..o + data.len()].copy_from_slice(data);
        Ok(())
    }
}

fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].iter().map(|d| Path::new(d).join(name)).find(|p| p.exists())
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(std::format!("sion-ext2-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// An image of `kib` KiB made by `mkfs` with `args`, populated from `from`.
fn mkfs(mkfs: &str, dir: &Path, args: &[&str], kib: u32, from: Option<&Path>) -> Option<Img> {
    let Some(m) = tool(mkfs) else {
        eprintln!("skipped: {mkfs} is not installed (e2fsprogs)");
        return None;
    };
    let img = dir.join("img");
    let mut c = Command::new(m);
    c.args(["-q", "-F"]).args(args);
    if let Some(f) = from {
        c.arg("-d").arg(f);
    }
    let ok = c.arg(&img).arg(kib.to_string()).env("E2FSPROGS_FAKE_TIME", "1700000000").status().unwrap().success();
    assert!(ok, "{mkfs} failed");
    Some(Img(fs::read(&img).unwrap()))
}

/// `e2fsck -fn` finds nothing to fix.
fn fsck(dir: &Path, img: &Img) {
    let Some(e) = tool("e2fsck") else {
        eprintln!("e2fsck check skipped: e2fsck is not installed");
        return;
    };
    let p = dir.join("check.img");
    fs::write(&p, &img.0).unwrap();
    let out = Command::new(e).arg("-fn").arg(&p).output().unwrap();
    assert!(out.status.success(), "e2fsck -fn: {}\n{}", std::string::String::from_utf8_lossy(&out.stdout), std::string::String::from_utf8_lossy(&out.stderr));
}

fn lookup(f: &mut Fs, d: &mut Img, path: &str) -> u32 {
    let mut ino = ROOT;
    for c in path.split('/').filter(|c| !c.is_empty()) {
        let n = f.inode(d, ino).unwrap();
        ino = f.dir(d, &n).unwrap().into_iter().find(|(_, name)| name == c.as_bytes()).unwrap_or_else(|| panic!("{c} not found")).0;
    }
    ino
}

fn contents(f: &mut Fs, d: &mut Img, ino: u32) -> Vec<u8> {
    let n = f.inode(d, ino).unwrap();
    let mut v = vec![0u8; n.size() as usize];
    assert_eq!(f.read(d, &n, 0, &mut v).unwrap(), v.len());
    v
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[1] ^ seed).collect()
}

#[test]
fn reads_what_mke2fs_wrote() {
    for bs in ["1024", "4096"] {
        let dir = scratch(&std::format!("read{bs}"));
        let src = dir.join("src");
        fs::create_dir_all(src.join("sub/deeper")).unwrap();
        // 300 KiB: double indirect blocks at 1 KiB a block.
        let big = pattern(300 * 1024 + 17, 3);
        fs::write(src.join("big"), &big).unwrap();
        fs::write(src.join("sub/small"), b"hello").unwrap();
        std::os::unix::fs::symlink("sub/small", src.join("fast")).unwrap();
        let long = "x/".repeat(40);
        std::os::unix::fs::symlink(&long, src.join("slow")).unwrap();
        let Some(mut d) = mkfs("mkfs.ext2", &dir, &["-b", bs], 8192, Some(&src)) else { return };
        let mut f = Fs::open(&mut d).unwrap();
        assert_eq!(f.bs.to_string(), bs);
        assert!(!f.ro_only);
        let b = lookup(&mut f, &mut d, "big");
        assert_eq!(contents(&mut f, &mut d, b), big);
        let s = lookup(&mut f, &mut d, "sub/small");
        assert_eq!(contents(&mut f, &mut d, s), b"hello");
        lookup(&mut f, &mut d, "sub/deeper");
        lookup(&mut f, &mut d, "lost+found");
        for (name, target) in [("fast", "sub/small"), ("slow", long.as_str())] {
            let i = lookup(&mut f, &mut d, name);
            let n = f.inode(&mut d, i).unwrap();
            assert_eq!(n.kind(), S_IFLNK);
            assert_eq!(f.link_target(&mut d, &n).unwrap(), target.as_bytes());
        }
        let st = f.statfs();
        assert!(st.bfree > 0 && st.bfree < st.blocks && st.ffree < st.files);
    }
}

#[test]
fn writes_what_e2fsck_accepts() {
    for bs in ["1024", "4096"] {
        let dir = scratch(&std::format!("write{bs}"));
        let Some(mut d) = mkfs("mkfs.ext2", &dir, &["-b", bs], 16384, None) else { return };
        let mut f = Fs::open(&mut d).unwrap();
        f.start_writing(&mut d, 1_700_000_100).unwrap();
        let free0 = f.statfs();
        let now = 1_700_000_200;
        let meta = |mode: u16, links: u16| Meta { mode, uid: 70000, gid: 1000, links, atime: now, mtime: now, ctime: now };
        // A file past the double indirect blocks at 1 KiB (12 + 256 + 65536 blocks is
        // too much for a test image: 600 KiB reaches the double indirect ones).
        let big = pattern(600 * 1024 + 5, 9);
        let fi = f.new_inode(&mut d, false, ROOT).unwrap();
        let bbs = f.bs as usize;
        f.put(
            &mut d,
            fi,
            &meta(S_IFREG | 0o644, 2),
            Content::File(big.len() as u64, &mut |l, buf| {
                let s = &big[l as usize * bbs..];
                let k = s.len().min(bbs);
                buf[..k].copy_from_slice(&s[..k]);
                buf.iter().any(|&b| b != 0)
            }),
        )
        .unwrap();
        // A sparse file: a hole then one block.
        let sp = f.new_inode(&mut d, false, ROOT).unwrap();
        let size = 40 * 4096 + 10;
        f.put(
            &mut d,
            sp,
            &meta(S_IFREG | 0o600, 1),
            Content::File(size, &mut |l, buf| {
                if (l + 1) * bbs as u64 >= size {
                    buf[0] = 7;
                    true
                } else {
                    false
                }
            }),
        )
        .unwrap();
        let sub = f.new_inode(&mut d, true, ROOT).unwrap();
        let fast = f.new_inode(&mut d, false, sub).unwrap();
        let slow = f.new_inode(&mut d, false, sub).unwrap();
        let dev = f.new_inode(&mut d, false, sub).unwrap();
        let fifo = f.new_inode(&mut d, false, sub).unwrap();
        let long = [b'y'; 100];
        f.put(&mut d, fast, &meta(S_IFLNK | 0o777, 1), Content::Symlink(b"../big")).unwrap();
        f.put(&mut d, slow, &meta(S_IFLNK | 0o777, 1), Content::Symlink(&long)).unwrap();
        f.put(&mut d, dev, &meta(S_IFCHR | 0o600, 1), Content::Dev((1 << 8) | 3)).unwrap();
        f.put(&mut d, fifo, &meta(S_IFIFO | 0o600, 1), Content::None).unwrap();
        // Enough names to take several blocks.
        let names: Vec<Vec<u8>> = (0..150).map(|i| std::format!("name-{i:04}-{}", "z".repeat(i % 40)).into_bytes()).collect();
        let mut ents: Vec<(u32, u16, &[u8])> = vec![
            (sub, S_IFDIR, b"."),
            (ROOT, S_IFDIR, b".."),
            (fast, S_IFLNK, b"fast"),
            (slow, S_IFLNK, b"slow"),
            (dev, S_IFCHR, b"null"),
            (fifo, S_IFIFO, b"fifo"),
        ];
        for n in &names {
            ents.push((fi, S_IFREG, n));
        }
        f.put(&mut d, sub, &meta(S_IFDIR | 0o755, 2), Content::Dir(&ents)).unwrap();
        // The big file has 2 + 150 names: its links count.
        f.put(&mut d, fi, &meta(S_IFREG | 0o644, 152), Content::Keep).unwrap();
        let root = f.inode(&mut d, ROOT).unwrap();
        let mut rents: Vec<(u32, u16, Vec<u8>)> = f.dir(&mut d, &root).unwrap().into_iter().map(|(i, n)| (i, S_IFDIR, n)).collect();
        rents.insert(0, (ROOT, S_IFDIR, b"..".to_vec()));
        rents.insert(0, (ROOT, S_IFDIR, b".".to_vec()));
        rents.push((fi, S_IFREG, b"big".to_vec()));
        rents.push((fi, S_IFREG, b"big2".to_vec()));
        rents.push((sp, S_IFREG, b"sparse".to_vec()));
        rents.push((sub, S_IFDIR, b"sub".to_vec()));
        let r: Vec<(u32, u16, &[u8])> = rents.iter().map(|(i, k, n)| (*i, *k, n.as_slice())).collect();
        f.put(&mut d, ROOT, &meta(S_IFDIR | 0o755, 4), Content::Dir(&r)).unwrap();
        f.flush(&mut d, now).unwrap();
        fsck(&dir, &d);

        // Read back through a fresh open.
        let mut g = Fs::open(&mut d).unwrap();
        let b = lookup(&mut g, &mut d, "sub/name-0007-zzzzzzz");
        assert_eq!(b, fi);
        assert_eq!(contents(&mut g, &mut d, fi), big);
        let n = g.inode(&mut d, fi).unwrap();
        assert_eq!((n.uid(), n.gid(), n.links(), n.mode()), (70000, 1000, 152, S_IFREG | 0o644));
        let sparse = contents(&mut g, &mut d, sp);
        assert_eq!(sparse.len() as u64, size);
        assert!(sparse[..sparse.len() - 10].iter().all(|&b| b == 0) || bbs == 1024);
        let n = g.inode(&mut d, sp).unwrap();
        assert!(n.sectors() <= 2 * (bbs as u32 / 512), "the hole takes no blocks");
        let l = lookup(&mut g, &mut d, "sub/slow");
        let ln = g.inode(&mut d, l).unwrap();
        assert_eq!(g.link_target(&mut d, &ln).unwrap(), long);
        let l = lookup(&mut g, &mut d, "sub/fast");
        let ln = g.inode(&mut d, l).unwrap();
        assert_eq!(g.link_target(&mut d, &ln).unwrap(), b"../big");
        assert_eq!(g.inode(&mut d, dev).unwrap().rdev(), 0x103);

        // Shrink, then remove everything but the root's own.
        f.put(
            &mut d,
            fi,
            &meta(S_IFREG | 0o644, 152),
            Content::File(5000, &mut |l, buf| {
                buf.fill(l as u8 + 1);
                true
            }),
        )
        .unwrap();
        f.flush(&mut d, now).unwrap();
        fsck(&dir, &d);
        for i in [fast, slow, dev, fifo, sub, fi, sp] {
            f.free_inode(&mut d, i, now).unwrap();
        }
        let root = f.inode(&mut d, ROOT).unwrap();
        let keep: Vec<(u32, u16, Vec<u8>)> =
            f.dir(&mut d, &root).unwrap().into_iter().filter(|(i, _)| ![fi, sp, sub].contains(i)).map(|(i, n)| (i, S_IFDIR, n)).collect();
        let mut r: Vec<(u32, u16, &[u8])> = vec![(ROOT, S_IFDIR, b"."), (ROOT, S_IFDIR, b"..")];
        r.extend(keep.iter().map(|(i, k, n)| (*i, *k, n.as_slice())));
        f.put(&mut d, ROOT, &meta(S_IFDIR | 0o755, 3), Content::Dir(&r)).unwrap();
        f.close(&mut d, now).unwrap();
        fsck(&dir, &d);
        let after = Fs::open(&mut d).unwrap().statfs();
        assert_eq!((after.bfree, after.ffree), (free0.bfree, free0.ffree), "everything freed");
    }
}

#[test]
fn refuses_what_it_lacks() {
    let dir = scratch("refuse");
    let Some(mut d) = mkfs("mkfs.ext4", &dir, &[], 8192, None) else { return };
    let e = Fs::open(&mut d).unwrap_err();
    assert_eq!(e.errno, EINVAL);
    assert!(e.why.contains("0x"), "{}", e.why);
    let Some(mut d) = mkfs("mkfs.ext2", &dir, &[], 2048, None) else { return };
    // An unknown read-only-compatible feature: read-only.
    let f = le32(&d.0, 1024 + 100) | 0x8000;
    put32(&mut d.0, 1024 + 100, f);
    let mut fs = Fs::open(&mut d).unwrap();
    assert!(fs.ro_only);
    assert_eq!(fs.unknown_ro_compat(), 0x8000);
    assert_eq!(fs.start_writing(&mut d, 1), Err(EROFS));
    d.0[1024 + 56] = 0;
    assert!(Fs::open(&mut d).is_err());
}
