//! The boot archive: a cpio "newc" archive (the format of Linux initramfs, so
//! `cpio -t` can list it) holding the servers and the boot job. The kernel
//! reads it to find servers; the personality reads the job from it.

/// One file in the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub mode: u32,
    pub data: &'a [u8],
}

/// Why an archive was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveError {
    BadMagic { offset: usize },
    BadHeader { offset: usize },
    Truncated { offset: usize },
    BadName { offset: usize },
}

const HEADER_LEN: usize = 110;
const MAGIC: &[u8] = b"070701";
const TRAILER: &str = "TRAILER!!!";

fn align4(x: usize) -> usize {
    (x + 3) & !3
}

fn hex_field(h: &[u8], index: usize) -> Option<u32> {
    let f = h.get(6 + index * 8..6 + index * 8 + 8)?;
    let mut v: u32 = 0;
    for &c in f {
        let d = (c as char).to_digit(16)?;
        v = (v << 4) | d;
    }
    Some(v)
}

/// Iterates over the entries of an archive, stopping at the trailer.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    done: bool,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0, done: false }
    }

    /// The entry with this exact name.
    pub fn find(bytes: &'a [u8], name: &str) -> Option<Entry<'a>> {
        Reader::new(bytes).filter_map(Result::ok).find(|e| e.name == name)
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Entry<'a>, ArchiveError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.at;
        let fail = |r: &mut Self, e| {
            r.done = true;
            Some(Err(e))
        };
        let Some(h) = self.bytes.get(offset..offset + HEADER_LEN) else {
            return fail(self, ArchiveError::Truncated { offset });
        };
        if &h[..6] != MAGIC {
            return fail(self, ArchiveError::BadMagic { offset });
        }
        let (Some(mode), Some(size), Some(namesize)) = (hex_field(h, 1), hex_field(h, 6), hex_field(h, 11)) else {
            return fail(self, ArchiveError::BadHeader { offset });
        };
        let name_start = offset + HEADER_LEN;
        let Some(name_end) = name_start.checked_add(namesize as usize) else {
            return fail(self, ArchiveError::BadHeader { offset });
        };
        let Some(raw_name) = self.bytes.get(name_start..name_end) else {
            return fail(self, ArchiveError::Truncated { offset });
        };
        // namesize counts the terminating NUL.
        let Some((&0, name)) = raw_name.split_last() else {
            return fail(self, ArchiveError::BadName { offset });
        };
        let Ok(name) = core::str::from_utf8(name) else {
            return fail(self, ArchiveError::BadName { offset });
        };
        let data_start = align4(name_end);
        let Some(data_end) = data_start.checked_add(size as usize) else {
            return fail(self, ArchiveError::BadHeader { offset });
        };
        let Some(data) = self.bytes.get(data_start..data_end) else {
            return fail(self, ArchiveError::Truncated { offset });
        };
        if name == TRAILER {
            self.done = true;
            return None;
        }
        self.at = align4(data_end);
        Some(Ok(Entry { name, mode, data }))
    }
}

/// File mode of a regular file with permissions `perm`.
pub const fn regular(perm: u32) -> u32 {
    0o100000 | (perm & 0o7777)
}

/// Builds an archive into any byte sink (a `Vec<u8>`; the kernel, which
/// never writes archives, does not link `alloc` for it).
pub struct Writer<O: Extend<u8>> {
    out: O,
    len: usize,
    ino: u32,
}

#[cfg(any(feature = "alloc", test))]
impl Writer<alloc::vec::Vec<u8>> {
    pub fn new() -> Self {
        Writer::to(alloc::vec::Vec::new())
    }
}

#[cfg(any(feature = "alloc", test))]
impl Default for Writer<alloc::vec::Vec<u8>> {
    fn default() -> Self {
        Self::new()
    }
}

impl<O: Extend<u8>> Writer<O> {
    pub fn to(out: O) -> Self {
        Writer { out, len: 0, ino: 0 }
    }

    fn put(&mut self, b: &[u8]) {
        self.out.extend(b.iter().copied());
        self.len += b.len();
    }

    pub fn add(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.ino += 1;
        let fields = [self.ino, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
        let mut h = [0u8; HEADER_LEN];
        h[..6].copy_from_slice(b"070701");
        for (i, f) in fields.iter().enumerate() {
            for d in 0..8 {
                h[6 + i * 8 + d] = b"0123456789abcdef"[((f >> (28 - 4 * d)) & 0xf) as usize];
            }
        }
        self.put(&h);
        self.put(name.as_bytes());
        self.put(&[0]);
        self.pad();
        self.put(data);
        self.pad();
    }

    fn pad(&mut self) {
        let n = (4 - self.len % 4) % 4;
        self.put(&[0, 0, 0][..n]);
    }

    pub fn finish(mut self) -> O {
        self.add(TRAILER, 0, &[]);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn round_trip() {
        let mut w = Writer::new();
        w.add("servers/personality", regular(0o755), b"\x7fELF...");
        w.add("job/argv", regular(0o644), b"hello\0world\0");
        w.add("empty", regular(0o644), b"");
        let bytes = w.finish();
        let entries: Vec<_> = Reader::new(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].name, "servers/personality");
        assert_eq!(entries[1].data, b"hello\0world\0");
        assert_eq!(entries[2].data, b"");
        assert_eq!(entries[0].mode, 0o100755);
        assert_eq!(Reader::find(&bytes, "job/argv").unwrap().data.len(), 12);
    }

    #[test]
    fn refuses_garbage_with_reason() {
        assert_eq!(Reader::new(b"hello").next(), Some(Err(ArchiveError::Truncated { offset: 0 })));
        let mut w = Writer::new();
        w.add("a", regular(0o644), b"abc");
        let mut bytes = w.finish();
        bytes.truncate(HEADER_LEN + 2);
        assert_eq!(Reader::new(&bytes).next(), Some(Err(ArchiveError::Truncated { offset: 0 })));
        let mut bad = Writer::new();
        bad.add("a", regular(0o644), b"abc");
        let mut bytes = bad.finish();
        bytes[0] = b'X';
        assert_eq!(Reader::new(&bytes).next(), Some(Err(ArchiveError::BadMagic { offset: 0 })));
    }
}
