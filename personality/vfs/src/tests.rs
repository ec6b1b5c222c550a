use super::*;
use alloc::vec;

fn root() -> Cred {
    Cred::root()
}
fn user() -> Cred {
    Cred { uid: 1000, gid: 1000, groups: vec![] }
}

fn tree() -> Vfs {
    let mut v = Vfs::new();
    v.put_file(b"/a/b/file", b"hello".to_vec(), 0o644, 0, 0).unwrap();
    v.mkdir_p(b"/tmp", 0, 0).unwrap();
    v.node_mut(v.lookup(v.root, b"/tmp", true, &root()).unwrap()).perm = 0o1777;
    v
}

#[test]
fn resolution_basics() {
    let v = tree();
    let r = v.root;
    let f = v.lookup(r, b"/a/b/file", true, &root()).unwrap();
    assert_eq!(v.contents(f), Some(b"hello".to_vec()));
    assert_eq!(v.lookup(r, b"a/./b/../b//file", true, &root()), Ok(f));
    assert_eq!(v.lookup(r, b"/../../a/b/file", true, &root()), Ok(f));
    assert_eq!(v.lookup(r, b"/", true, &root()), Ok(r));
    assert_eq!(v.lookup(r, b"", true, &root()), Err(Errno::ENOENT));
    assert_eq!(v.lookup(r, b"/a/nope", true, &root()), Err(Errno::ENOENT));
    assert_eq!(v.lookup(r, b"/a/nope/x", true, &root()), Err(Errno::ENOENT));
    assert_eq!(v.lookup(r, b"/a/b/file/x", true, &root()), Err(Errno::ENOTDIR));
    assert_eq!(v.lookup(r, b"/a/b/file/", true, &root()), Err(Errno::ENOTDIR));
    assert_eq!(v.lookup(r, b"/a/b/file/.", true, &root()), Err(Errno::ENOTDIR));
    let long = vec![b'x'; 256];
    assert_eq!(v.lookup(r, &long, true, &root()), Err(Errno::ENAMETOOLONG));
    assert_eq!(v.lookup(r, &vec![b'x'; 255], true, &root()), Err(Errno::ENOENT));
    let mut huge = Vec::new();
    while huge.len() < PATH_MAX {
        huge.extend_from_slice(b"a/");
    }
    assert_eq!(v.lookup(r, &huge, true, &root()), Err(Errno::ENAMETOOLONG));
    let b = v.lookup(r, b"/a/b", true, &root()).unwrap();
    assert_eq!(v.lookup(b, b"file", true, &root()), Ok(f));
    assert_eq!(v.lookup(b, b"../b/file", true, &root()), Ok(f));
}

#[test]
fn symlinks() {
    let mut v = tree();
    let r = v.root;
    let c = root();
    v.symlink(b"b/file", r, b"/a/rel", &c).unwrap();
    v.symlink(b"/a/b", r, b"/abs", &c).unwrap();
    v.symlink(b"loop2", r, b"/loop1", &c).unwrap();
    v.symlink(b"loop1", r, b"/loop2", &c).unwrap();
    v.symlink(b"/nowhere/x", r, b"/dangling", &c).unwrap();
    let f = v.lookup(r, b"/a/b/file", true, &c).unwrap();
    assert_eq!(v.lookup(r, b"/a/rel", true, &c), Ok(f));
    let l = v.lookup(r, b"/a/rel", false, &c).unwrap();
    assert!(v.node(l).is_symlink());
    assert_eq!(v.lookup(r, b"/abs/file", false, &c), Ok(f));
    assert_eq!(v.lookup(r, b"/abs/", false, &c), v.lookup(r, b"/a/b", false, &c));
    assert_eq!(v.lookup(r, b"/loop1", true, &c), Err(Errno::ELOOP));
    assert_eq!(v.lookup(r, b"/loop1/x", false, &c), Err(Errno::ELOOP));
    assert!(v.lookup(r, b"/loop1", false, &c).is_ok());
    assert_eq!(v.lookup(r, b"/dangling", true, &c), Err(Errno::ENOENT));
    assert_eq!(v.readlink(r, b"/dangling", &c), Ok(b"/nowhere/x".to_vec()));
    assert_eq!(v.readlink(r, b"/a", &c), Err(Errno::EINVAL));
    assert_eq!(v.symlink(b"", r, b"/e", &c), Err(Errno::ENOENT));
    assert_eq!(v.symlink(b"x", r, b"/abs", &c), Err(Errno::EEXIST));
    // A dangling link's target is created through it (O_CREAT semantics).
    v.symlink(b"/tmp/new", r, b"/tolink", &c).unwrap();
    let fnd = v.walk(r, b"/tolink", true, &c).unwrap();
    assert_eq!(fnd.name, b"new");
    assert_eq!(fnd.ino, None);
    // 40 links are fine, 41 are not.
    for i in 0..41 {
        let name = alloc::format!("/c{}", i + 1);
        let target = alloc::format!("c{i}");
        v.symlink(target.as_bytes(), r, name.as_bytes(), &c).unwrap();
    }
    v.put_file(b"/c0", b"end".to_vec(), 0o644, 0, 0).unwrap();
    assert!(v.lookup(r, b"/c40", true, &c).is_ok());
    assert_eq!(v.lookup(r, b"/c41", true, &c), Err(Errno::ELOOP));
}

#[test]
fn mkdir_rmdir_unlink() {
    let mut v = tree();
    let r = v.root;
    let c = root();
    let d = v.mkdir(r, b"/tmp/d/", 0o755, &c).unwrap();
    assert_eq!(v.node(d).nlink, 2);
    let tmp = v.lookup(r, b"/tmp", true, &c).unwrap();
    assert_eq!(v.node(tmp).nlink, 3);
    assert_eq!(v.mkdir(r, b"/tmp/d", 0o755, &c), Err(Errno::EEXIST));
    assert_eq!(v.mkdir(r, b"/tmp/x/y", 0o755, &c), Err(Errno::ENOENT));
    assert_eq!(v.mkdir(r, b"/a/b/file/y", 0o755, &c), Err(Errno::ENOTDIR));
    assert_eq!(v.mkdir(r, b"/tmp/.", 0o755, &c), Err(Errno::EEXIST));
    assert_eq!(v.mkdir(r, b"/", 0o755, &c), Err(Errno::EEXIST));
    v.put_file(b"/tmp/d/f", vec![], 0o644, 0, 0).unwrap();
    assert_eq!(v.rmdir(r, b"/tmp/d", &c), Err(Errno::ENOTEMPTY));
    assert_eq!(v.rmdir(r, b"/tmp/d/f", &c), Err(Errno::ENOTDIR));
    assert_eq!(v.rmdir(r, b"/tmp/d/.", &c), Err(Errno::EINVAL));
    assert_eq!(v.rmdir(r, b"/tmp/d/..", &c), Err(Errno::ENOTEMPTY));
    assert_eq!(v.rmdir(r, b"/", &c), Err(Errno::EBUSY));
    assert_eq!(v.unlink(r, b"/tmp/d", &c), Err(Errno::EISDIR));
    assert_eq!(v.unlink(r, b"/tmp/d/f/", &c), Err(Errno::ENOTDIR));
    assert_eq!(v.unlink(r, b"/tmp/d/nope", &c), Err(Errno::ENOENT));
    v.unlink(r, b"/tmp/d/f", &c).unwrap();
    v.rmdir(r, b"/tmp/d", &c).unwrap();
    assert_eq!(v.node(tmp).nlink, 2);
    assert_eq!(v.lookup(r, b"/tmp/d", true, &c), Err(Errno::ENOENT));
}

#[test]
fn links_and_open_unlinked_files() {
    let mut v = tree();
    let r = v.root;
    let c = root();
    let f = v.lookup(r, b"/a/b/file", true, &c).unwrap();
    v.link(f, r, b"/tmp/hard", &c).unwrap();
    assert_eq!(v.node(f).nlink, 2);
    assert_eq!(v.link(f, r, b"/tmp/hard", &c), Err(Errno::EEXIST));
    let dir = v.lookup(r, b"/a", true, &c).unwrap();
    assert_eq!(v.link(dir, r, b"/tmp/dl", &c), Err(Errno::EPERM));
    v.unlink(r, b"/a/b/file", &c).unwrap();
    assert_eq!(v.node(f).nlink, 1);
    v.open_ref(f);
    v.unlink(r, b"/tmp/hard", &c).unwrap();
    assert_eq!(v.node(f).nlink, 0);
    assert_eq!(v.contents(f), Some(b"hello".to_vec()));
    assert_eq!(v.path_of(f), None);
    v.close_ref(f);
    assert!(v.get(f).is_none());
    assert_eq!(v.used(), 0);
}

#[test]
fn rename_rules() {
    let mut v = tree();
    let r = v.root;
    let c = root();
    v.mkdir(r, b"/tmp/d1", 0o755, &c).unwrap();
    v.mkdir(r, b"/tmp/d2", 0o755, &c).unwrap();
    v.put_file(b"/tmp/d2/x", vec![], 0o644, 0, 0).unwrap();
    v.put_file(b"/tmp/f", b"F".to_vec(), 0o644, 0, 0).unwrap();
    v.put_file(b"/tmp/g", b"G".to_vec(), 0o644, 0, 0).unwrap();
    assert_eq!(v.rename(r, b"/tmp/f", r, b"/tmp/d1", 0, &c), Err(Errno::EISDIR));
    assert_eq!(v.rename(r, b"/tmp/d1", r, b"/tmp/f", 0, &c), Err(Errno::ENOTDIR));
    assert_eq!(v.rename(r, b"/tmp/d1", r, b"/tmp/d2", 0, &c), Err(Errno::ENOTEMPTY));
    assert_eq!(v.rename(r, b"/tmp/d1", r, b"/tmp/d1/sub", 0, &c), Err(Errno::EINVAL));
    assert_eq!(v.rename(r, b"/tmp/nope", r, b"/tmp/z", 0, &c), Err(Errno::ENOENT));
    assert_eq!(v.rename(r, b"/tmp/f", r, b"/tmp/g", RENAME_NOREPLACE, &c), Err(Errno::EEXIST));
    assert_eq!(v.rename(r, b"/tmp/f", r, b"/tmp/g", 4, &c), Err(Errno::EINVAL));
    assert_eq!(v.rename(r, b"/tmp/.", r, b"/tmp/z", 0, &c), Err(Errno::EBUSY));
    assert_eq!(v.rename(r, b"/tmp/f/", r, b"/tmp/z", 0, &c), Err(Errno::ENOTDIR));
    v.rename(r, b"/tmp/f", r, b"/tmp/g", 0, &c).unwrap();
    let g = v.lookup(r, b"/tmp/g", true, &c).unwrap();
    assert_eq!(v.contents(g), Some(b"F".to_vec()));
    assert_eq!(v.lookup(r, b"/tmp/f", true, &c), Err(Errno::ENOENT));
    v.rename(r, b"/tmp/d1", r, b"/tmp/d2/d1", 0, &c).unwrap();
    let d2 = v.lookup(r, b"/tmp/d2", true, &c).unwrap();
    assert_eq!(v.node(d2).nlink, 3);
    assert_eq!(v.lookup(r, b"/tmp/d2/d1/..", true, &c), Ok(d2));
    assert_eq!(v.path_of(v.lookup(r, b"/tmp/d2/d1", true, &c).unwrap()), Some(b"/tmp/d2/d1".to_vec()));
    // Exchange.
    v.put_file(b"/tmp/h", b"H".to_vec(), 0o644, 0, 0).unwrap();
    v.rename(r, b"/tmp/g", r, b"/tmp/h", RENAME_EXCHANGE, &c).unwrap();
    assert_eq!(v.contents(v.lookup(r, b"/tmp/h", true, &c).unwrap()), Some(b"F".to_vec()));
    assert_eq!(v.rename(r, b"/tmp/g", r, b"/tmp/none", RENAME_EXCHANGE, &c), Err(Errno::ENOENT));
    // Across file systems.
    let other = v.mkdir(r, b"/proc", 0o555, &c).unwrap();
    v.node_mut(other).dev = 9;
    assert_eq!(v.rename(r, b"/tmp/h", r, b"/proc/h", 0, &c), Err(Errno::EXDEV));
    let h = v.lookup(r, b"/tmp/h", true, &c).unwrap();
    assert_eq!(v.link(h, r, b"/proc/h", &c), Err(Errno::EXDEV));
}

#[test]
fn permissions() {
    let mut v = tree();
    let r = v.root;
    let u = user();
    assert_eq!(v.mkdir(r, b"/a/x", 0o755, &u), Err(Errno::EACCES));
    let d = v.mkdir(r, b"/tmp/mine", 0o700, &u).unwrap();
    assert_eq!(v.node(d).uid, 1000);
    v.put_file(b"/tmp/mine/f", vec![], 0o644, 1000, 1000).unwrap();
    let other = Cred { uid: 1001, gid: 1001, groups: vec![] };
    assert_eq!(v.lookup(r, b"/tmp/mine/f", true, &other), Err(Errno::EACCES));
    assert!(v.lookup(r, b"/tmp/mine/f", true, &root()).is_ok());
    // Sticky /tmp: another user may not remove u's directory.
    assert_eq!(v.rename(r, b"/tmp/mine", r, b"/tmp/theirs", 0, &other), Err(Errno::EPERM));
    assert_eq!(v.chmod(d, 0o777, &other), Err(Errno::EPERM));
    v.chmod(d, 0o755, &u).unwrap();
    assert!(v.lookup(r, b"/tmp/mine/f", true, &other).is_ok());
    assert_eq!(v.chown(d, 0, u32::MAX, &u), Err(Errno::EPERM));
    v.chown(d, 5, 5, &root()).unwrap();
    assert_eq!((v.node(d).uid, v.node(d).gid), (5, 5));
    let f = v.lookup(r, b"/a/b/file", true, &root()).unwrap();
    assert!(v.may(f, R_OK, &u));
    assert!(!v.may(f, W_OK, &u));
    assert!(!v.may(f, X_OK, &root()));
}

#[test]
fn data_and_space() {
    let mut v = tree();
    let c = root();
    let f = v.lookup(v.root, b"/a/b/file", true, &c).unwrap();
    assert_eq!(v.write_at(f, 8, b"!"), Ok(1));
    assert_eq!(v.contents(f), Some(b"hello\0\0\0!".to_vec()));
    let mut buf = [0u8; 4];
    assert_eq!(v.read_at(f, 7, &mut buf), Ok(2));
    assert_eq!(v.read_at(f, 100, &mut buf), Ok(0));
    v.truncate(f, 2).unwrap();
    assert_eq!(v.contents(f), Some(b"he".to_vec()));
    assert_eq!(v.used(), CHUNK as u64);
    v.capacity = CHUNK as u64;
    assert_eq!(v.write_at(f, CHUNK as u64, &[1]), Err(Errno::ENOSPC));
    assert_eq!(v.write_at(f, 10, &[1]), Ok(1), "within an allocated chunk");
    assert_eq!(v.truncate(f, u64::MAX), Err(Errno::EFBIG));
    let d = v.lookup(v.root, b"/a", true, &c).unwrap();
    assert_eq!(v.truncate(d, 0), Err(Errno::EISDIR));
    let names: Vec<Vec<u8>> = v.readdir(d).unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, [b".".to_vec(), b"..".to_vec(), b"b".to_vec()]);
    assert_eq!(v.readdir(f), Err(Errno::ENOTDIR));
}

/// A small deterministic random walk: lookups of random paths never panic and
/// agree with a lexical normalisation when no symlinks are involved.
#[test]
fn random_paths_agree_with_lexical_resolution() {
    let mut v = Vfs::new();
    let names: [&[u8]; 3] = [b"a", b"b", b"c"];
    for x in names {
        for y in names {
            let p = [b"/", x, b"/", y].concat();
            v.mkdir_p(&p, 0, 0).unwrap();
        }
    }
    let mut seed: u64 = 0x1234_5678;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..5000 {
        let n = next() % 7;
        let mut path = Vec::new();
        let mut stack: Vec<&[u8]> = Vec::new();
        let mut ok = true;
        for _ in 0..=n {
            let c: &[u8] = match next() % 6 {
                0 => b".",
                1 => b"..",
                2 => b"a",
                3 => b"b",
                4 => b"c",
                _ => b"zz",
            };
            path.push(b'/');
            path.extend_from_slice(c);
            match c {
                b"." => {}
                b".." => {
                    stack.pop();
                }
                b"zz" => ok = false,
                c => {
                    if stack.len() >= 2 {
                        ok = false;
                    }
                    if ok {
                        stack.push(c);
                    }
                }
            }
            if !ok {
                break;
            }
        }
        let got = v.lookup(v.root, &path, true, &root());
        if ok {
            let canon: Vec<u8> = if stack.is_empty() { b"/".to_vec() } else { stack.iter().flat_map(|c| [&b"/"[..], c].concat()).collect() };
            assert_eq!(got.map(|i| v.path_of(i).unwrap()), Ok(canon), "{:?}", core::str::from_utf8(&path));
        } else {
            assert_eq!(got, Err(Errno::ENOENT), "{:?}", core::str::from_utf8(&path));
        }
    }
}

#[test]
fn links_that_name_the_asker() {
    let mut v = tree();
    let r = v.root;
    let proc_ = v.mkdir_p(b"/proc", 0, 0).unwrap();
    for pid in [7u32, 9] {
        let d = v.mkdir_p(alloc::format!("/proc/{pid}/task/{pid}").as_bytes(), 0, 0).unwrap();
        v.add(d, b"who", Data::Symlink(alloc::format!("/pid{pid}").into_bytes()), 0o777, 0, 0);
    }
    let s = v.add(proc_, b"self", Data::Symlink(b"7".to_vec()), 0o777, 0, 0);
    v.node_mut(s).tag = TAG_SELF_LINK;
    let t = v.add(proc_, b"thread-self", Data::Symlink(Vec::new()), 0o777, 0, 0);
    v.node_mut(t).tag = TAG_THREAD_SELF_LINK;
    v.asker = (9, 9);
    assert_eq!(v.readlink(r, b"/proc/self", &root()), Ok(b"9".to_vec()), "the asker, not what was stored");
    assert_eq!(v.readlink(r, b"/proc/thread-self", &root()), Ok(b"9/task/9".to_vec()));
    assert_eq!(v.readlink(r, b"/proc/self/task/9/who", &root()), Ok(b"/pid9".to_vec()));
    assert_eq!(v.readlink(r, b"/proc/thread-self/who", &root()), Ok(b"/pid9".to_vec()));
    v.asker = (7, 7);
    assert_eq!(v.readlink(r, b"/proc/self/task/7/who", &root()), Ok(b"/pid7".to_vec()));
    // A process that ended: its directory goes, with everything in it.
    let before = v.inode_count();
    v.remove_tree(proc_, b"9");
    assert_eq!(v.inode_count(), before - 4);
    assert_eq!(v.lookup(r, b"/proc/9", true, &root()), Err(Errno::ENOENT));
    v.asker = (9, 9);
    assert_eq!(v.lookup(r, b"/proc/self/task", true, &root()), Err(Errno::ENOENT));
    assert_eq!(v.node(proc_).nlink, 3, "/proc's link count lost the directory");
}

#[test]
fn fifos_and_devices() {
    let mut v = tree();
    let f = v.walk(v.root, b"/tmp/p", false, &user()).unwrap();
    let p = v.create(&f, Data::Fifo, 0o640, &user()).unwrap();
    assert_eq!(v.node(p).mode(), S_IFIFO | 0o640);
    assert_eq!((v.node(p).size(), v.node(p).rdev(), v.node(p).dtype()), (0, 0, 1));
    let f = v.walk(v.root, b"/tmp/b", false, &root()).unwrap();
    let b = v.create(&f, Data::Blk(0x7c8), 0o600, &root()).unwrap();
    assert_eq!(v.node(b).mode(), S_IFBLK | 0o600);
    assert_eq!((v.node(b).rdev(), v.node(b).dtype()), (0x7c8, 6));
    let f = v.walk(v.root, b"/tmp/p", false, &user()).unwrap();
    assert_eq!(v.create(&f, Data::Fifo, 0o600, &user()), Err(Errno::EEXIST));
    v.unlink(v.root, b"/tmp/p", &user()).unwrap();
    assert_eq!(v.lookup(v.root, b"/tmp/p", false, &user()), Err(Errno::ENOENT));
}

#[test]
fn workstation_directories_and_files_come_on_demand() {
    let mut v = tree();
    let r = v.root;
    let usr = v.mkdir_p(b"/usr", 0, 0).unwrap();
    v.put_file(b"/usr/local.txt", b"mine".to_vec(), 0o644, 0, 0).unwrap();
    v.node_mut(usr).remote = true;
    // A name already here wins; another is FETCH of the directory.
    assert!(v.lookup(r, b"/usr/local.txt", true, &root()).is_ok());
    assert_eq!(v.lookup(r, b"/usr/bin/ls", true, &root()), Err(Errno::FETCH));
    assert_eq!(v.take_missing(), Some(usr));
    assert_eq!(v.readdir(usr).map(|_| ()), Err(Errno::FETCH));
    let e = |name: &str, kind| RemoteEntry { name: name.as_bytes().to_vec(), kind, perm: 0o755, uid: 0, gid: 0, mtime: 7, size: 4096, blocks: 8 };
    v.fill_dir(
        usr,
        vec![
            e("bin", RemoteKind::Dir),
            e("local.txt", RemoteKind::File { size: 99 }),
            e("big", RemoteKind::File { size: 1 << 30 }),
            e("sbin", RemoteKind::Symlink(b"bin".to_vec())),
        ],
    );
    assert_eq!(v.contents(v.lookup(r, b"/usr/local.txt", true, &root()).unwrap()), Some(b"mine".to_vec()), "ours stays");
    let used = v.used();
    let big = v.lookup(r, b"/usr/big", true, &root()).unwrap();
    assert_eq!((v.node(big).size(), v.node(big).mtime, v.used()), (1 << 30, 7, used), "a remote file is a hole of its size");
    assert_eq!(v.need_content(big), Err(Errno::FETCH));
    assert_eq!(v.take_missing(), Some(big));
    v.fill_file(big, b"hello".to_vec()).unwrap();
    assert_eq!((v.need_content(big), v.contents(big)), (Ok(()), Some(b"hello".to_vec())));
    // The subdirectory is remote in its turn; the link resolves through it.
    assert_eq!(v.lookup(r, b"/usr/sbin/x", true, &root()), Err(Errno::FETCH));
    let bin = v.take_missing().unwrap();
    assert_eq!(v.path_of(bin), Some(b"/usr/bin".to_vec()));
    v.fill_dir(bin, vec![e("x", RemoteKind::File { size: 0 })]);
    let x = v.lookup(r, b"/usr/sbin/x", true, &root()).unwrap();
    assert_eq!(v.need_content(x), Ok(()), "an empty file needs nothing");
    assert_eq!(v.readdir(usr).unwrap().len(), 2 + 4);
}

fn tmpfs() -> MountKind {
    MountKind::Tmpfs { perm: 0o1777, uid: 0, gid: 0, limit: u64::MAX }
}

#[test]
fn mounts_cross_both_ways_and_hide_what_was_there() {
    let mut v = tree();
    let r = v.root;
    v.mount_in_place(r, "tmpfs", "tmpfs", MS_RELATIME);
    let point = v.lookup(r, b"/a/b", true, &root()).unwrap();
    let id = v.mount(point, tmpfs(), "tmpfs", "none", 0, "").unwrap();
    let mroot = v.lookup(r, b"/a/b", true, &root()).unwrap();
    assert_ne!(mroot, point);
    assert_ne!(v.node(mroot).dev, v.node(point).dev);
    assert_eq!(v.mount_at(mroot).map(|m| m.id), Some(id));
    // What was there is hidden; the new file system is empty.
    assert_eq!(v.lookup(r, b"/a/b/file", true, &root()), Err(Errno::ENOENT));
    assert_eq!(v.readdir(mroot).unwrap().len(), 2);
    v.mkdir(r, b"/a/b/d", 0o755, &root()).unwrap();
    let d = v.lookup(r, b"/a/b/d", true, &root()).unwrap();
    assert_eq!(v.node(d).dev, v.node(mroot).dev);
    // `..` of the mount's root is the mount point's parent.
    assert_eq!(v.lookup(d, b"../..", true, &root()), v.lookup(r, b"/a", true, &root()));
    assert_eq!(v.lookup(mroot, b"..", true, &root()), v.lookup(r, b"/a", true, &root()));
    assert_eq!(v.path_of(d), Some(b"/a/b/d".to_vec()));
    // Across file systems: EXDEV.
    let f = v.lookup(r, b"/tmp", true, &root()).unwrap();
    let file = v.create(&v.walk(f, b"x", false, &root()).unwrap(), Data::Reg(FileData::default()), 0o644, &root()).unwrap();
    assert_eq!(v.link(file, r, b"/a/b/x", &root()), Err(Errno::EXDEV));
    assert_eq!(v.rename(r, b"/tmp/x", r, b"/a/b/x", 0, &root()), Err(Errno::EXDEV));
    // The mount point is busy.
    assert_eq!(v.rmdir(r, b"/a/b", &root()), Err(Errno::EBUSY));
    assert_eq!(v.rename(r, b"/a/b", r, b"/a/c", 0, &root()), Err(Errno::EBUSY));
    // umount: EBUSY while open, then back to what was under it.
    v.open_ref(d);
    assert_eq!(v.umount(mroot, 0), Err(Errno::EBUSY));
    v.close_ref(d);
    assert_eq!(v.umount(point, 0), Err(Errno::EINVAL));
    let n = v.inode_count();
    v.umount(mroot, 0).unwrap();
    assert_eq!(v.inode_count(), n - 2);
    assert_eq!(v.lookup(r, b"/a/b", true, &root()), Ok(point));
    assert!(v.lookup(r, b"/a/b/file", true, &root()).is_ok());
    // The root stays.
    assert_eq!(v.umount(r, 0), Err(Errno::EBUSY));
}

#[test]
fn lazy_unmount_and_expire() {
    let mut v = tree();
    let r = v.root;
    let point = v.lookup(r, b"/tmp", true, &root()).unwrap();
    v.mount(point, tmpfs(), "tmpfs", "none", 0, "").unwrap();
    let m = v.lookup(r, b"/tmp", true, &root()).unwrap();
    let f = v.create(&v.walk(r, b"/tmp/f", false, &root()).unwrap(), Data::Reg(FileData::default()), 0o644, &root()).unwrap();
    v.open_ref(f);
    assert_eq!(v.umount(m, MNT_EXPIRE), Err(Errno::EBUSY));
    v.umount(m, MNT_DETACH).unwrap();
    assert_eq!(v.lookup(r, b"/tmp", true, &root()), Ok(point));
    // The open file lives on until closed.
    assert_eq!(v.write_at(f, 0, b"abc"), Ok(3));
    v.close_ref(f);
    assert!(v.get(f).is_none());
    v.mount(point, tmpfs(), "tmpfs", "none", 0, "").unwrap();
    let m = v.lookup(r, b"/tmp", true, &root()).unwrap();
    assert_eq!(v.umount(m, MNT_EXPIRE), Err(Errno::EAGAIN));
    assert_eq!(v.umount(m, MNT_EXPIRE), Ok(()));
}

#[test]
fn read_only_mounts_refuse_every_change() {
    let mut v = tree();
    let r = v.root;
    let point = v.lookup(r, b"/tmp", true, &root()).unwrap();
    v.mount(point, tmpfs(), "tmpfs", "none", 0, "").unwrap();
    let m = v.lookup(r, b"/tmp", true, &root()).unwrap();
    v.mkdir(r, b"/tmp/dir", 0o777, &root()).unwrap();
    let f = v.create(&v.walk(r, b"/tmp/file", false, &root()).unwrap(), Data::Reg(FileData::default()), 0o777, &root()).unwrap();
    assert_eq!(v.remount(point, MS_RDONLY, None), Err(Errno::EINVAL));
    v.remount(m, MS_RDONLY, None).unwrap();
    assert!(v.rofs(f) && v.rofs(m) && !v.rofs(r));
    for c in [root(), user()] {
        assert_eq!(v.mkdir(r, b"/tmp/new", 0o777, &c), Err(Errno::EROFS));
        assert_eq!(v.mkdir(r, b"/tmp/dir", 0o777, &c), Err(Errno::EEXIST));
        assert_eq!(v.create(&v.walk(r, b"/tmp/n", false, &c).unwrap(), Data::Reg(FileData::default()), 0o644, &c), Err(Errno::EROFS));
        assert_eq!(v.symlink(b"x", r, b"/tmp/l", &c), Err(Errno::EROFS));
        assert_eq!(v.unlink(r, b"/tmp/file", &c), Err(Errno::EROFS));
        assert_eq!(v.unlink(r, b"/tmp/nope", &c), Err(Errno::EROFS));
        assert_eq!(v.rmdir(r, b"/tmp/dir", &c), Err(Errno::EROFS));
        assert_eq!(v.rename(r, b"/tmp/file", r, b"/tmp/f2", 0, &c), Err(Errno::EROFS));
        assert_eq!(v.link(f, r, b"/tmp/f3", &c), Err(Errno::EROFS));
        assert_eq!(v.chmod(f, 0o600, &c), Err(Errno::EROFS));
        assert_eq!(v.chown(f, 0, 0, &c), Err(Errno::EROFS));
    }
    assert_eq!(v.mount_of(f).unwrap().option_text(), "ro");
    // Back to read-write.
    v.remount(m, 0, None).unwrap();
    v.mkdir(r, b"/tmp/new", 0o777, &root()).unwrap();
}

#[test]
fn tmpfs_size_limit_is_enospc() {
    let (perm, uid, gid, limit, shown) = tmpfs_options(b"size=64k,mode=700,uid=5", 1 << 30, 0, 0).unwrap();
    assert_eq!((perm, uid, gid, limit), (0o700, 5, 0, 65536));
    assert_eq!(shown, "size=64k,mode=700,uid=5");
    assert_eq!(tmpfs_options(b"size=1M", 0, 0, 0).unwrap().3, 1 << 20);
    assert_eq!(tmpfs_options(b"bogus=1", 0, 0, 0), Err(Errno::EINVAL));
    let mut v = tree();
    let r = v.root;
    let point = v.lookup(r, b"/tmp", true, &root()).unwrap();
    v.mount(point, MountKind::Tmpfs { perm, uid, gid, limit }, "tmpfs", "none", 0, &shown).unwrap();
    let f = v.create(&v.walk(r, b"/tmp/f", false, &root()).unwrap(), Data::Reg(FileData::default()), 0o644, &root()).unwrap();
    assert_eq!(v.write_at(f, 0, &[1u8; 100]), Ok(100));
    let dev = v.node(f).dev;
    // Counted in pages, as Linux's tmpfs: 16 small files fill 64 KiB.
    assert_eq!(v.dev_used(dev), 4096);
    assert_eq!(v.write_at(f, 1 << 20, &[1u8; 100]), Err(Errno::ENOSPC));
    for i in 1..16 {
        let name = alloc::format!("/tmp/f{i}");
        let g = v.create(&v.walk(r, name.as_bytes(), false, &root()).unwrap(), Data::Reg(FileData::default()), 0o644, &root()).unwrap();
        assert_eq!(v.write_at(g, 0, &[1u8; 100]), Ok(100));
    }
    assert_eq!(v.dev_used(dev), 65536);
    assert_eq!(v.write_at(f, 4096, &[1u8; 1]), Err(Errno::ENOSPC));
    v.truncate(f, 0).unwrap();
    assert_eq!(v.dev_used(dev), 61440);
    v.unlink(r, b"/tmp/f1", &root()).unwrap();
    assert_eq!(v.dev_used(dev), 57344);
}

#[test]
fn access_times_and_nosymfollow_follow_the_mount() {
    let mut v = tree();
    let r = v.root;
    let point = v.lookup(r, b"/tmp", true, &root()).unwrap();
    v.mount(point, tmpfs(), "tmpfs", "none", MS_RELATIME, "").unwrap();
    let m = v.lookup(r, b"/tmp", true, &root()).unwrap();
    v.now = 10;
    let f = v.create(&v.walk(r, b"/tmp/f", false, &root()).unwrap(), Data::Reg(FileData::default()), 0o644, &root()).unwrap();
    // relatime: once after a change, then not again within a day.
    v.now = 20;
    v.touch_atime(f);
    assert_eq!(v.node(f).atime, 20);
    v.now = 30;
    v.touch_atime(f);
    assert_eq!(v.node(f).atime, 20);
    v.remount(m, 0, None).unwrap();
    v.touch_atime(f);
    assert_eq!(v.node(f).atime, 30);
    v.remount(m, MS_NOATIME, None).unwrap();
    v.now = 40;
    v.touch_atime(f);
    assert_eq!(v.node(f).atime, 30);
    v.remount(m, MS_NODIRATIME, None).unwrap();
    v.touch_atime(m);
    v.touch_atime(f);
    assert_eq!((v.node(f).atime, v.node(m).atime), (40, 0));
    // nosymfollow: links are not followed (ELOOP), still read.
    v.symlink(b"f", r, b"/tmp/l", &root()).unwrap();
    assert_eq!(v.lookup(r, b"/tmp/l", true, &root()), Ok(f));
    v.remount(m, MS_NOSYMFOLLOW, None).unwrap();
    assert_eq!(v.lookup(r, b"/tmp/l", true, &root()), Err(Errno::ELOOP));
    assert_eq!(v.readlink(r, b"/tmp/l", &root()), Ok(b"f".to_vec()));
}

#[test]
fn bind_mounts_and_moves() {
    let mut v = tree();
    let r = v.root;
    v.mount_in_place(r, "tmpfs", "tmpfs", 0);
    let tmp = v.lookup(r, b"/tmp", true, &root()).unwrap();
    // A directory bound over itself (LTP's tmpdir): nothing changes in the
    // tree; it unmounts, even with a working directory in it.
    v.mount(tmp, MountKind::Existing(tmp), "tmpfs", "/tmp", 0, "").unwrap();
    assert_eq!(v.lookup(r, b"/tmp", true, &root()), Ok(tmp));
    v.open_ref(tmp);
    assert_eq!(v.umount(tmp, 0), Ok(()));
    assert_eq!(v.umount(tmp, 0), Err(Errno::EINVAL));
    v.close_ref(tmp);
    // /a/b shown at /tmp/x, then moved to /tmp/y.
    v.mkdir(r, b"/tmp/x", 0o755, &root()).unwrap();
    v.mkdir(r, b"/tmp/y", 0o755, &root()).unwrap();
    let b = v.lookup(r, b"/a/b", true, &root()).unwrap();
    let x = v.lookup(r, b"/tmp/x", true, &root()).unwrap();
    v.mount(x, MountKind::Existing(b), "tmpfs", "/a/b", 0, "").unwrap();
    assert!(v.lookup(r, b"/tmp/x/file", true, &root()).is_ok());
    let y = v.lookup(r, b"/tmp/y", true, &root()).unwrap();
    assert_eq!(v.move_mount(b, b), Err(Errno::ELOOP));
    v.move_mount(b, y).unwrap();
    assert_eq!(v.lookup(r, b"/tmp/x/file", true, &root()), Err(Errno::ENOENT));
    assert!(v.lookup(r, b"/tmp/y/file", true, &root()).is_ok());
    assert_eq!(v.rmdir(r, b"/tmp/y", &root()), Err(Errno::EBUSY));
    assert_eq!(v.rename(r, b"/tmp/y", r, b"/tmp/z", 0, &root()), Err(Errno::EBUSY));
    assert_eq!(v.path_of(b), Some(b"/a/b".to_vec()));
    v.umount(b, 0).unwrap();
    // A view keeps its directory's place: `..` is its own parent.
    assert_eq!(v.lookup(b, b"..", true, &root()), v.lookup(r, b"/a", true, &root()));
    // The view's files are the directory's own: still there.
    assert!(v.lookup(r, b"/a/b/file", true, &root()).is_ok());
}

#[test]
fn inotify_events_of_watched_inodes() {
    let mut v = tree();
    let r = v.root;
    let tmp = v.lookup(r, b"/tmp", true, &root()).unwrap();
    let f = v.walk(r, b"/tmp/x", false, &root()).unwrap();
    v.create(&f, Data::Reg(Default::default()), 0o644, &root()).unwrap();
    assert!(v.events.is_empty(), "nothing watched, nothing recorded");
    v.watched.push(tmp);
    let f = v.walk(r, b"/tmp/y", false, &root()).unwrap();
    let y = v.create(&f, Data::Reg(Default::default()), 0o644, &root()).unwrap();
    v.watched.push(y);
    v.write_at(y, 0, b"hi").unwrap();
    v.rename(r, b"/tmp/y", r, b"/tmp/z", 0, &root()).unwrap();
    v.unlink(r, b"/tmp/z", &root()).unwrap();
    let got: Vec<(Ino, u32, &[u8])> = v.events.iter().map(|e| (e.ino, e.mask, &e.name[..])).collect();
    assert_eq!(
        got,
        vec![
            (tmp, IN_CREATE, &b"y"[..]),
            (tmp, IN_MODIFY, b"y"),
            (y, IN_MODIFY, b""),
            (tmp, IN_MOVED_FROM, b"y"),
            (tmp, IN_MOVED_TO, b"z"),
            (y, IN_MOVE_SELF, b""),
            (y, IN_ATTRIB, b""),
            (y, IN_DELETE_SELF, b""),
            (tmp, IN_DELETE, b"z"),
        ]
    );
    assert!(v.events[3].cookie != 0 && v.events[3].cookie == v.events[4].cookie);
}

#[test]
fn inotify_an_unlinked_open_file_stays_the_directorys_child() {
    let mut v = tree();
    let r = v.root;
    let tmp = v.lookup(r, b"/tmp", true, &root()).unwrap();
    v.watched.push(tmp);
    let f = v.walk(r, b"/tmp/x", false, &root()).unwrap();
    let x = v.create(&f, Data::Reg(Default::default()), 0o644, &root()).unwrap();
    v.open_ref(x);
    v.unlink(r, b"/tmp/x", &root()).unwrap();
    v.events.clear();
    v.write_at(x, 0, b"hi").unwrap();
    assert_eq!(v.events.len(), 1);
    assert_eq!((v.events[0].ino, v.events[0].mask, &v.events[0].name[..], v.events[0].unlinked), (tmp, IN_MODIFY, &b"x"[..], true));
    v.close_ref(x);
    v.events.clear();
    assert!(v.orphans.is_empty(), "forgotten once freed");
}

#[test]
fn path_of_a_file_follows_its_names() {
    let mut v = tree();
    let r = v.root;
    let c = root();
    let f = v.lookup(r, b"/a/b/file", true, &c).unwrap();
    assert_eq!(v.path_of(f), Some(b"/a/b/file".to_vec()));
    v.rename(r, b"/a/b/file", r, b"/tmp/moved", 0, &c).unwrap();
    assert_eq!(v.path_of(f), Some(b"/tmp/moved".to_vec()));
    // The name it was made or moved under goes, another link stays.
    v.link(f, r, b"/a/other", &c).unwrap();
    v.unlink(r, b"/tmp/moved", &c).unwrap();
    assert_eq!(v.path_of(f), Some(b"/a/other".to_vec()));
    v.unlink(r, b"/a/other", &c).unwrap();
    assert_eq!(v.path_of(f), None);
}

#[test]
fn immutable_and_append_only_inodes() {
    let mut v = tree();
    let r = v.root;
    let c = root();
    let f = v.lookup(r, b"/a/b/file", true, &c).unwrap();
    v.node_mut(f).attr = FS_IMMUTABLE_FL;
    assert_eq!(v.unlink(r, b"/a/b/file", &c), Err(Errno::EPERM));
    assert_eq!(v.rename(r, b"/a/b/file", r, b"/tmp/x", 0, &c), Err(Errno::EPERM));
    assert_eq!(v.link(f, r, b"/tmp/x", &c), Err(Errno::EPERM));
    assert_eq!(v.chmod(f, 0o600, &c), Err(Errno::EPERM));
    assert_eq!(v.chown(f, 1, 1, &c), Err(Errno::EPERM));
    assert_eq!(v.chown(f, u32::MAX, u32::MAX, &c), Ok(()));
    v.node_mut(f).attr = FS_APPEND_FL;
    assert_eq!(v.unlink(r, b"/a/b/file", &c), Err(Errno::EPERM));
    // An append-only directory takes new names and keeps its old ones.
    v.node_mut(f).attr = 0;
    let b = v.lookup(r, b"/a/b", true, &c).unwrap();
    v.node_mut(b).attr = FS_APPEND_FL;
    v.symlink(b"file", r, b"/a/b/new", &c).unwrap();
    assert_eq!(v.unlink(r, b"/a/b/file", &c), Err(Errno::EPERM));
    v.node_mut(b).attr = FS_IMMUTABLE_FL | FS_NOATIME_FL;
    assert_eq!(v.symlink(b"file", r, b"/a/b/other", &c), Err(Errno::EPERM));
    v.node_mut(b).attr = FS_NOATIME_FL;
    let g = v.create(&v.walk(r, b"/a/b/g", false, &c).unwrap(), Data::Reg(FileData::default()), 0o644, &c).unwrap();
    assert_eq!(v.node(g).attr, FS_NOATIME_FL);
    assert_eq!(v.unlink(r, b"/a/b/file", &c), Ok(()));
}

#[test]
fn tmpfile_links_once_unless_excl() {
    let mut v = tree();
    let r = v.root;
    let c = root();
    let tmp = v.lookup(r, b"/tmp", true, &c).unwrap();
    let t = v.tmpfile(tmp, 0o600, true, &c).unwrap();
    v.open_ref(t);
    assert_eq!(v.node(t).nlink, 0);
    assert!(v.readdir(tmp).unwrap().iter().all(|e| e.ino != t));
    v.link(t, r, b"/tmp/named", &c).unwrap();
    assert_eq!(v.node(t).nlink, 1);
    v.unlink(r, b"/tmp/named", &c).unwrap();
    assert_eq!(v.link(t, r, b"/tmp/again", &c), Err(Errno::ENOENT));
    let x = v.tmpfile(tmp, 0o600, false, &c).unwrap();
    v.open_ref(x);
    assert_eq!(v.link(x, r, b"/tmp/excl", &c), Err(Errno::ENOENT));
    v.close_ref(x);
    assert!(v.get(x).is_none());
}

#[test]
fn mount_namespaces() {
    let mut v = Vfs::new();
    let r = v.root;
    v.mount_in_place(r, "tmpfs", "tmpfs", 0);
    v.name_mnt_ns(1);
    let mnt = v.mkdir_p(b"/mnt", 0, 0).unwrap();
    v.copy_mnt_ns(2);
    // A tmpfs mounted in namespace 2 is not seen from namespace 1.
    assert!(v.enter_mnt_ns(2));
    let fs = v.mount(mnt, MountKind::Tmpfs { perm: 0o755, uid: 0, gid: 0, limit: u64::MAX }, "tmpfs", "none", 0, "").unwrap();
    let _ = fs;
    let top = v.cover(mnt);
    assert_ne!(top, mnt);
    v.add(top, b"f", Data::Reg(Default::default()), 0o644, 0, 0);
    assert!(v.lookup(r, b"/mnt/f", true, &Cred::root()).is_ok());
    assert_ne!(v.mounts()[0].id, 0);
    assert!(v.enter_mnt_ns(1));
    assert_eq!(v.lookup(r, b"/mnt/f", true, &Cred::root()), Err(Errno::ENOENT));
    assert_eq!(v.mounts().len(), 1);
    assert!(!v.enter_mnt_ns(3));
    // Namespace 3, a copy of 2, keeps the tmpfs when 2 unmounts it.
    assert!(v.enter_mnt_ns(2));
    v.copy_mnt_ns(3);
    let root2 = v.lookup(r, b"/mnt", true, &Cred::root()).unwrap();
    v.umount(root2, 0).unwrap();
    assert!(v.enter_mnt_ns(3));
    assert!(v.lookup(r, b"/mnt/f", true, &Cred::root()).is_ok(), "the copy still mounts it");
    // Dropping 3 frees the tmpfs.
    assert!(v.enter_mnt_ns(1));
    v.drop_mnt_ns(3);
    assert!(!v.enter_mnt_ns(3));
    assert!(v.enter_mnt_ns(2));
}
