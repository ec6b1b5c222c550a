//! The bytes of a regular file, in chunks: growing a file never copies it
//! (no reallocation of one big buffer), and holes take no memory. Each
//! chunk also knows which of its 4 KiB pages were written, so holes are
//! page-granular as tmpfs's (SEEK_DATA, SEEK_HOLE, punched holes).

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// Bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
/// Bytes per page: the grain of holes.
pub const PAGE: usize = 4096;
const PAGES: usize = CHUNK / PAGE;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Chunk {
    bytes: Box<[u8]>,
    /// Bit i: page i of the chunk holds data (was written); the others are
    /// holes (their bytes are zeros).
    pages: u16,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileData {
    len: u64,
    /// Chunk i holds bytes [i*CHUNK, (i+1)*CHUNK); `None` is a hole (zeros).
    chunks: Vec<Option<Chunk>>,
}

/// The bits of the pages of a chunk that bytes [from, to) of it touch.
fn page_bits(from: usize, to: usize) -> u16 {
    if from >= to {
        return 0;
    }
    let (a, b) = (from / PAGE, (to - 1) / PAGE);
    ((1u32 << (b + 1)) - (1u32 << a)) as u16
}

impl From<Vec<u8>> for FileData {
    fn from(v: Vec<u8>) -> FileData {
        let mut f = FileData::default();
        f.write(0, &v);
        f
    }
}

impl FileData {
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Bytes of memory the chunks take.
    pub fn allocated(&self) -> u64 {
        self.chunks.iter().filter(|c| c.is_some()).count() as u64 * CHUNK as u64
    }

    /// Copy bytes from `off` into `buf`; the count copied (0 at or past the end).
    pub fn read(&self, off: u64, buf: &mut [u8]) -> usize {
        if off >= self.len {
            return 0;
        }
        let n = buf.len().min((self.len - off) as usize);
        let mut done = 0;
        while done < n {
            let at = off as usize + done;
            let (ci, co) = (at / CHUNK, at % CHUNK);
            let k = (CHUNK - co).min(n - done);
            match self.chunks.get(ci).and_then(|c| c.as_ref()) {
                Some(c) => buf[done..done + k].copy_from_slice(&c.bytes[co..co + k]),
                None => buf[done..done + k].fill(0),
            }
            done += k;
        }
        n
    }

    /// `len` bytes from `off` (fewer at the end of the file).
    pub fn read_range(&self, off: u64, len: usize) -> Vec<u8> {
        let n = if off >= self.len { 0 } else { len.min((self.len - off) as usize) };
        let mut v = vec![0u8; n];
        self.read(off, &mut v);
        v
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.read_range(0, self.len as usize)
    }

    /// Bytes of new chunks writing `n` bytes at `off` would allocate.
    pub fn growth(&self, off: u64, n: usize) -> u64 {
        if n == 0 {
            return 0;
        }
        let first = off as usize / CHUNK;
        let last = (off as usize + n - 1) / CHUNK;
        (first..=last).filter(|&i| self.chunks.get(i).is_none_or(|c| c.is_none())).count() as u64 * CHUNK as u64
    }

    /// Write `data` at `off`, extending the file (with a hole) as needed.
    pub fn write(&mut self, off: u64, data: &[u8]) {
        let mut done = 0;
        while done < data.len() {
            let at = off as usize + done;
            let (ci, co) = (at / CHUNK, at % CHUNK);
            let k = (CHUNK - co).min(data.len() - done);
            if self.chunks.len() <= ci {
                self.chunks.resize(ci + 1, None);
            }
            let c = self.chunks[ci].get_or_insert_with(|| Chunk { bytes: vec![0u8; CHUNK].into_boxed_slice(), pages: 0 });
            c.bytes[co..co + k].copy_from_slice(&data[done..done + k]);
            c.pages |= page_bits(co, co + k);
            done += k;
        }
        self.len = self.len.max(off + data.len() as u64);
    }

    /// Set the length: shorter drops the bytes past it, longer adds a hole.
    pub fn truncate(&mut self, len: u64) {
        if len < self.len {
            let keep = (len as usize).div_ceil(CHUNK);
            self.chunks.truncate(keep);
            // Zero the tail of the last chunk so a later extension reads zeros.
            if len as usize % CHUNK != 0 {
                if let Some(Some(c)) = self.chunks.last_mut() {
                    let at = len as usize % CHUNK;
                    c.bytes[at..].fill(0);
                    c.pages &= !page_bits(at.next_multiple_of(PAGE), CHUNK);
                }
            }
            self.chunks.shrink_to_fit();
        }
        self.len = len;
    }

    /// Zero bytes [off, off + len) of the file (within its length) and make
    /// the whole pages among them holes (FALLOC_FL_PUNCH_HOLE).
    pub fn punch(&mut self, off: u64, len: u64) {
        let end = off.saturating_add(len).min(self.len);
        let mut at = off;
        while at < end {
            let (ci, co) = ((at / CHUNK as u64) as usize, (at % CHUNK as u64) as usize);
            let k = ((CHUNK - co) as u64).min(end - at) as usize;
            if let Some(slot) = self.chunks.get_mut(ci) {
                if let Some(c) = slot {
                    c.bytes[co..co + k].fill(0);
                    // Whole pages only, or the part up to the file's end.
                    let last = if at + k as u64 == self.len { co + k } else { (co + k) / PAGE * PAGE };
                    c.pages &= !page_bits(co.next_multiple_of(PAGE), last.max(co.next_multiple_of(PAGE)));
                    if c.pages == 0 {
                        *slot = None;
                    }
                }
            }
            at += k as u64;
        }
    }

    /// Does page `p` (4 KiB) hold data?
    fn data_page(&self, p: u64) -> bool {
        let (ci, bit) = ((p / PAGES as u64) as usize, p % PAGES as u64);
        matches!(self.chunks.get(ci), Some(Some(c)) if c.pages & (1 << bit) != 0)
    }

    /// lseek's SEEK_DATA (`hole` false) or SEEK_HOLE from `off`, as tmpfs
    /// finds them, page by page: None past the end or, for SEEK_DATA, when
    /// only holes follow (ENXIO). The end of the file is a hole.
    pub fn seek(&self, off: u64, hole: bool) -> Option<u64> {
        if off >= self.len {
            return None;
        }
        let pages = self.len.div_ceil(PAGE as u64);
        let mut p = off / PAGE as u64;
        while p < pages {
            // A whole chunk at once when it is absent.
            let ci = (p / PAGES as u64) as usize;
            if p % PAGES as u64 == 0 && !matches!(self.chunks.get(ci), Some(Some(_))) {
                if hole {
                    break;
                }
                p += PAGES as u64;
                continue;
            }
            if self.data_page(p) != hole {
                break;
            }
            p += 1;
        }
        let at = (p * PAGE as u64).max(off);
        match hole {
            true => Some(at.min(self.len)),
            false => (at < self.len).then_some(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_holes_and_truncation() {
        let mut f = FileData::from(b"hello".to_vec());
        assert_eq!(f.to_vec(), b"hello");
        assert_eq!(f.allocated(), CHUNK as u64);
        f.write(3 * CHUNK as u64 + 10, b"far");
        assert_eq!(f.len(), 3 * CHUNK as u64 + 13);
        assert_eq!(f.allocated(), 2 * CHUNK as u64, "the hole takes nothing");
        assert_eq!(f.read_range(CHUNK as u64, 4), [0; 4]);
        assert_eq!(f.read_range(3 * CHUNK as u64 + 9, 10), b"\0far");
        let mut across = vec![0u8; 10];
        f.write(CHUNK as u64 - 5, b"0123456789");
        assert_eq!(f.read(CHUNK as u64 - 5, &mut across), 10);
        assert_eq!(across, b"0123456789");
        f.truncate(3);
        assert_eq!(f.to_vec(), b"hel");
        f.truncate(6);
        assert_eq!(f.to_vec(), b"hel\0\0\0");
        assert_eq!(f.growth(0, 10), 0);
        assert_eq!(f.growth(CHUNK as u64, 1), CHUNK as u64);
        assert_eq!(f.read(100, &mut across), 0);
    }

    #[test]
    fn pages_of_data_and_holes() {
        let p = PAGE as u64;
        let mut f = FileData::default();
        f.truncate(30 * p);
        assert_eq!(f.seek(0, false), None);
        assert_eq!(f.seek(0, true), Some(0));
        f.write(0, b"data01");
        f.write(10 * p, b"data02");
        f.write(30 * p - 128, b"data04");
        assert_eq!(f.seek(0, false), Some(0));
        assert_eq!(f.seek(4, false), Some(4));
        assert_eq!(f.seek(4, true), Some(p));
        assert_eq!(f.seek(p + 128, false), Some(10 * p));
        assert_eq!(f.seek(10 * p + 4, true), Some(11 * p));
        assert_eq!(f.seek(11 * p, false), Some(29 * p));
        assert_eq!(f.seek(30 * p - 128, true), Some(f.len()));
        assert_eq!(f.seek(f.len(), true), None);
        // Past the end a shorter file has no data; a punched page is a hole.
        f.punch(10 * p, p);
        assert_eq!(f.seek(p, false), Some(29 * p));
        assert_eq!(f.read_range(10 * p, 6), [0; 6]);
        f.truncate(29 * p + 1);
        assert_eq!(f.seek(29 * p, false), Some(29 * p));
        f.truncate(29 * p);
        f.truncate(30 * p);
        assert_eq!(f.seek(p, false), None);
    }
}
