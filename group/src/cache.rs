//! A node's cache of workstations' files, shared by all the jobs it runs:
//! libc, ld.so, python's library and gcc's cc1 cross the LAN once.
//!
//! Bytes are kept by content (the SHA-256 the workstation's `sion` gives
//! with them) and by the workstation they came from: a client that names a
//! digest gets bytes its own address sent before, never another
//! workstation's. Three ways in:
//! - a START's items (the program, the loader and libraries `sion` stages)
//!   by digest: the node answers NEED with what it lacks;
//! - a file asked on demand by path, with the size and mtime its
//!   directory's listing gave: a copy fetched with the same size and mtime
//!   is used without asking (the listing, fetched afresh for each job, is
//!   the validation: one round trip per directory, none per file);
//! - a directory's listing by path (and the job's shares, which filter it):
//!   the node asks with the digest of its copy and the workstation answers
//!   "unchanged" instead of the entries when it still is.
//!
//! Bounded: at most `budget` bytes of content; the least recently used goes
//! first. Pure logic (no I/O), tested on the host.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec::Vec;

pub type Digest = [u8; 32];
/// Cached bytes, shared with the jobs reading them (an `Rc<Vec>`: a buffer
/// received whole becomes one without a copy).
pub type Bytes = Rc<Vec<u8>>;

/// What a cached answer is found by, besides its digest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Name {
    /// A file: the workstation, its path, the size and mtime (ns) it had.
    File { peer: u32, path: Vec<u8>, size: u64, mtime_ns: u64 },
    /// A listing: the workstation, the digest of the job's shares, the path.
    List { peer: u32, view: Digest, path: Vec<u8> },
}

struct Blob {
    bytes: Bytes,
    last_use: u64,
}

/// Counters, for logs and the benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub hits: u64,
    pub misses: u64,
    pub hit_bytes: u64,
    pub evicted: u64,
}

pub struct Cache {
    budget: u64,
    used: u64,
    clock: u64,
    blobs: BTreeMap<(u32, Digest), Blob>,
    names: BTreeMap<Name, Digest>,
    pub stats: Stats,
}

/// Names kept at most (each is small; the bytes are bounded by the budget).
const MAX_NAMES: usize = 1 << 16;

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// What names a job's view of its workstation (its shares): listings are
/// filtered by them, so they are cached per view.
pub fn view_of(shares: &[Vec<u8>]) -> Digest {
    let mut all = Vec::new();
    for s in shares {
        all.extend_from_slice(&(s.len() as u32).to_le_bytes());
        all.extend_from_slice(s);
    }
    sha256(&all)
}

impl Cache {
    /// A cache of at most `budget` bytes of content.
    pub fn new(budget: u64) -> Cache {
        Cache { budget, used: 0, clock: 0, blobs: BTreeMap::new(), names: BTreeMap::new(), stats: Stats::default() }
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Bytes of content held.
    pub fn used(&self) -> u64 {
        self.used
    }

    fn touch(&mut self, peer: u32, digest: &Digest) -> Option<Bytes> {
        self.clock += 1;
        let clock = self.clock;
        let b = self.blobs.get_mut(&(peer, *digest))?;
        b.last_use = clock;
        Some(b.bytes.clone())
    }

    fn found(&mut self, got: Option<Bytes>) -> Option<Bytes> {
        match &got {
            Some(b) => {
                self.stats.hits += 1;
                self.stats.hit_bytes += b.len() as u64;
            }
            None => self.stats.misses += 1,
        }
        got
    }

    /// The bytes `peer` sent with this digest, if still here.
    pub fn by_digest(&mut self, peer: u32, digest: &Digest) -> Option<Bytes> {
        let got = self.touch(peer, digest);
        self.found(got)
    }

    /// Whether the bytes are here, without counting a use.
    pub fn has(&self, peer: u32, digest: &Digest) -> bool {
        self.blobs.contains_key(&(peer, *digest))
    }

    /// The file `path` of `peer` as it was with this size and mtime.
    pub fn file(&mut self, peer: u32, path: &[u8], size: u64, mtime_ns: u64) -> Option<Bytes> {
        if size == 0 && mtime_ns == 0 {
            return self.found(None); // nothing known to check a copy against
        }
        let name = Name::File { peer, path: path.to_vec(), size, mtime_ns };
        let got = match self.names.get(&name).copied() {
            Some(d) => self.touch(peer, &d).filter(|b| b.len() as u64 == size),
            None => None,
        };
        if got.is_none() {
            self.names.remove(&name);
        }
        self.found(got)
    }

    /// The digest and bytes of the listing of `path` last seen through `view`.
    pub fn listing(&mut self, peer: u32, view: &Digest, path: &[u8]) -> Option<(Digest, Bytes)> {
        let name = Name::List { peer, view: *view, path: path.to_vec() };
        let d = self.names.get(&name).copied()?;
        match self.touch(peer, &d) {
            Some(b) => Some((d, b)),
            None => {
                self.names.remove(&name);
                None
            }
        }
    }

    /// Count a listing the workstation said is unchanged as a hit.
    pub fn listing_used(&mut self, bytes: &[u8]) {
        self.stats.hits += 1;
        self.stats.hit_bytes += bytes.len() as u64;
    }

    /// Keep bytes `peer` sent with this digest; false if they cannot fit.
    pub fn put(&mut self, peer: u32, digest: Digest, bytes: Bytes) -> bool {
        let len = bytes.len() as u64;
        if len > self.budget {
            return false;
        }
        self.clock += 1;
        if let Some(b) = self.blobs.get_mut(&(peer, digest)) {
            b.last_use = self.clock;
            return true;
        }
        while self.used + len > self.budget {
            let Some((&key, _)) = self.blobs.iter().min_by_key(|(_, b)| b.last_use) else { break };
            if let Some(b) = self.blobs.remove(&key) {
                self.used -= b.bytes.len() as u64;
                self.stats.evicted += 1;
            }
        }
        self.used += len;
        self.blobs.insert((peer, digest), Blob { bytes, last_use: self.clock });
        true
    }

    fn name(&mut self, name: Name, digest: Digest) {
        if self.names.len() >= MAX_NAMES {
            // Names of evicted bytes pile up: start again (the bytes stay).
            self.names.clear();
        }
        self.names.insert(name, digest);
    }

    /// Keep file `path` of `peer` (its size and mtime then) with its bytes.
    pub fn put_file(&mut self, peer: u32, path: &[u8], size: u64, mtime_ns: u64, digest: Digest, bytes: Bytes) {
        if (size == 0 && mtime_ns == 0) || bytes.len() as u64 != size {
            return; // changed between its listing and its reading: not to be found by that listing
        }
        if self.put(peer, digest, bytes) {
            self.name(Name::File { peer, path: path.to_vec(), size, mtime_ns }, digest);
        }
    }

    /// Keep the listing of `path` seen through `view`.
    pub fn put_listing(&mut self, peer: u32, view: &Digest, path: &[u8], digest: Digest, bytes: Bytes) {
        if self.put(peer, digest, bytes) {
            self.name(Name::List { peer, view: *view, path: path.to_vec() }, digest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(b: &[u8]) -> Bytes {
        Rc::new(b.to_vec())
    }

    #[test]
    fn files_are_found_by_path_size_and_mtime_of_the_same_workstation() {
        let mut c = Cache::new(1000);
        c.put_file(1, b"/lib/libc.so.6", 3, 77, [9; 32], rc(b"elf"));
        assert_eq!(c.file(1, b"/lib/libc.so.6", 3, 77).as_deref().map(Vec::as_slice), Some(&b"elf"[..]));
        assert!(c.file(1, b"/lib/libc.so.6", 3, 78).is_none(), "another mtime");
        assert!(c.file(2, b"/lib/libc.so.6", 3, 77).is_none(), "another workstation");
        assert!(c.file(1, b"/lib/libm.so.6", 3, 77).is_none());
        assert_eq!(c.by_digest(1, &[9; 32]).as_deref().map(Vec::as_slice), Some(&b"elf"[..]), "by content too");
        assert!(c.by_digest(2, &[9; 32]).is_none(), "never another workstation's bytes");
        assert_eq!((c.stats.hits, c.stats.misses), (2, 4));
        // A file that changed between its listing and its reading is not kept under that listing.
        c.put_file(1, b"/x", 5, 1, [1; 32], rc(b"abc"));
        assert!(c.file(1, b"/x", 5, 1).is_none());
        // Nothing known of it: never from the cache.
        c.put_file(1, b"/y", 0, 0, [2; 32], rc(b""));
        assert!(c.file(1, b"/y", 0, 0).is_none());
    }

    #[test]
    fn the_least_recently_used_goes_first_and_the_budget_holds() {
        let mut c = Cache::new(10);
        c.put(1, [1; 32], rc(b"aaaa"));
        c.put(1, [2; 32], rc(b"bbbb"));
        assert!(c.by_digest(1, &[1; 32]).is_some()); // 1 is now the newer
        c.put(1, [3; 32], rc(b"cccc"));
        assert!(c.has(1, &[1; 32]) && c.has(1, &[3; 32]) && !c.has(1, &[2; 32]));
        assert_eq!((c.used(), c.stats.evicted), (8, 1));
        assert!(!c.put(1, [4; 32], rc(&[0; 11])), "larger than the whole budget");
        // Putting the same bytes twice counts them once.
        c.put(1, [3; 32], rc(b"cccc"));
        assert_eq!(c.used(), 8);
        // A name whose bytes were evicted finds nothing (and is forgotten).
        c.put_file(1, b"/f", 4, 1, [5; 32], rc(b"ffff"));
        c.put(1, [6; 32], rc(b"gggggggg"));
        assert!(c.file(1, b"/f", 4, 1).is_none());
        assert!(c.used() <= 10);
    }

    #[test]
    fn listings_are_kept_per_view() {
        let mut c = Cache::new(100);
        c.put_listing(1, &[7; 32], b"/usr", [3; 32], rc(b"entries"));
        assert_eq!(c.listing(1, &[7; 32], b"/usr").map(|(d, b)| (d, b.to_vec())), Some(([3; 32], b"entries".to_vec())));
        assert!(c.listing(1, &[8; 32], b"/usr").is_none(), "other shares see other entries");
        assert!(c.listing(2, &[7; 32], b"/usr").is_none());
    }
}
