//! The bytes of a regular file, in chunks: growing a file never copies it
//! (no reallocation of one big buffer), and holes take no memory.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// Bytes per chunk.
pub const CHUNK: usize = 64 * 1024;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileData {
    len: u64,
    /// Chunk i holds bytes [i*CHUNK, (i+1)*CHUNK); `None` is a hole (zeros).
    chunks: Vec<Option<Box<[u8]>>>,
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
                Some(c) => buf[done..done + k].copy_from_slice(&c[co..co + k]),
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
            let c = self.chunks[ci].get_or_insert_with(|| vec![0u8; CHUNK].into_boxed_slice());
            c[co..co + k].copy_from_slice(&data[done..done + k]);
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
                    c[len as usize % CHUNK..].fill(0);
                }
            }
            self.chunks.shrink_to_fit();
        }
        self.len = len;
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
}
