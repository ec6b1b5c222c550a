//! The job stream over TCP (docs/group-protocol.md, "Jobs"), sans-IO: the
//! workstation's `sion run`, `sion daemon` and the node's group server all
//! seal and open frames with this code and do their own reading and writing.
//!
//! Handshake: each side sends `SIONJOB1` and a 16-byte random nonce (the node
//! first). Each direction then has its own key, HMAC(group key, label ||
//! node nonce || client nonce), and every frame is
//! `length u32 | kind u8 | payload | HMAC-SHA256(direction key, seq u64 || kind || payload)`
//! with `seq` counting the frames of that direction from 0. A recorded
//! session cannot be replayed (the peer's nonce differs), frames cannot be
//! reordered, dropped or moved between directions, and a peer without the
//! group key cannot produce a single valid frame.

use alloc::vec::Vec;

use crate::wire::Key;

pub const HELLO: &[u8; 8] = b"SIONJOB1";
/// Bytes of a hello: the magic and the nonce.
pub const HELLO_LEN: usize = 24;
/// Largest frame payload accepted (data travels in chunks of `CHUNK`).
pub const MAX_FRAME: usize = 1 << 20;
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 32;

// Client to node.
pub const START: u8 = 1;
pub const DATA: u8 = 2;
pub const STDIN: u8 = 3;
pub const STDIN_EOF: u8 = 4;
pub const CANCEL: u8 = 5;
/// Part of the answer to an FS_LIST/FS_READ: the job console's
/// `down::FS_DATA` payload (request id, bytes), in chunks of up to `CHUNK`.
pub const FS_DATA: u8 = 6;
/// The answer is complete: request id (`u32`), status (`i32`: 0, an errno,
/// or [`UNCHANGED`]), then the SHA-256 of the whole answer (32 bytes; absent
/// for an error).
pub const FS_END: u8 = 7;
/// FS_END's status for a listing that is still the one the node has.
pub const UNCHANGED: i32 = -1;
// Node to client.
pub const RUNNING: u8 = 10;
pub const STDOUT: u8 = 11;
pub const STDERR: u8 = 12;
/// The job ended: `kind u32` (0 exit status, 1 signal) then `code u32`.
pub const EXIT: u8 = 13;
/// The node refused or could not run the job: a UTF-8 reason.
pub const ERROR: u8 = 14;
/// `--out` files coming back after the program ended, before EXIT, with the
/// payloads of the job console's `up::OUT_*` frames (sion_abi::console): a
/// directory (`mode u32`, path), a file (`mode u32`, path) whose bytes follow
/// in OUT_DATA frames, a symlink (path NUL target), a missing path.
pub const OUT_DIR: u8 = 15;
pub const OUT_FILE: u8 = 16;
pub const OUT_DATA: u8 = 17;
pub const OUT_SYMLINK: u8 = 18;
pub const OUT_MISSING: u8 = 19;
/// The workstation's files on demand (the job console's `up::FS_LIST` and
/// `up::FS_READ`). FS_LIST's payload is the digest of the listing the node
/// holds (32 bytes, zeros for none) then the console's request; FS_READ's
/// is the console's request (`sion_abi::console::fs::Request`).
pub const FS_LIST: u8 = 20;
pub const FS_READ: u8 = 21;
/// Write-back (the job console's `up::WB_DIR`, `up::WB_FILE`; a file's bytes
/// follow as OUT_DATA), after the OUT_* frames and before EXIT.
pub const WB_DIR: u8 = 22;
pub const WB_FILE: u8 = 23;
/// The answer to a START that carries digests: which of its items (the
/// program, then each file) the node lacks, one byte each (1: send it).
/// Only those follow as DATA, in order.
pub const NEED: u8 = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The tag does not verify: the peer does not hold the group key.
    Auth,
    TooBig(usize),
    /// Not a job stream, or another version of it.
    NotJobStream,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::Auth => f.write_str("authentication failed (not the group key)"),
            FrameError::TooBig(n) => write!(f, "frame of {n} bytes is too large"),
            FrameError::NotJobStream => f.write_str("not a SiON job stream (version 1)"),
        }
    }
}

/// Our hello: the magic and our nonce.
pub fn hello(nonce: &[u8; 16]) -> [u8; HELLO_LEN] {
    let mut h = [0u8; HELLO_LEN];
    h[..8].copy_from_slice(HELLO);
    h[8..].copy_from_slice(nonce);
    h
}

/// The two directions once both hellos are known: (to the peer, from the peer).
pub fn keys(key: &Key, mine: &[u8; 16], theirs: &[u8], node_side: bool) -> Result<(Dir, Dir), FrameError> {
    if theirs.len() != HELLO_LEN || &theirs[..8] != HELLO {
        return Err(FrameError::NotJobStream);
    }
    let theirs = &theirs[8..];
    let (node_nonce, client_nonce) = if node_side { (&mine[..], theirs) } else { (theirs, &mine[..]) };
    let mut ctx = node_nonce.to_vec();
    ctx.extend_from_slice(client_nonce);
    let c2n = Dir { key: key.derive(b"sion-job-v1 client-to-node", &ctx), seq: 0 };
    let n2c = Dir { key: key.derive(b"sion-job-v1 node-to-client", &ctx), seq: 0 };
    Ok(if node_side { (n2c, c2n) } else { (c2n, n2c) })
}

/// One direction of a job stream: its key and frame counter.
pub struct Dir {
    key: Key,
    seq: u64,
}

impl Dir {
    fn tag(&self, kind: u8, payload: &[u8]) -> [u8; 32] {
        let mut m = Vec::with_capacity(9 + payload.len());
        m.extend_from_slice(&self.seq.to_le_bytes());
        m.push(kind);
        m.extend_from_slice(payload);
        self.key.tag(&m)
    }

    /// The bytes of the next frame.
    pub fn seal(&mut self, kind: u8, payload: &[u8]) -> Vec<u8> {
        let tag = self.tag(kind, payload);
        self.seq += 1;
        let mut buf = Vec::with_capacity(4 + 1 + payload.len() + TAG);
        buf.extend_from_slice(&((1 + payload.len() + TAG) as u32).to_le_bytes());
        buf.push(kind);
        buf.extend_from_slice(payload);
        buf.extend_from_slice(&tag);
        buf
    }

    /// How many bytes the frame starting with these 4 length bytes takes
    /// after them; an error if it cannot be a frame.
    pub fn body_len(len: [u8; 4]) -> Result<usize, FrameError> {
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_FRAME + 1 + TAG {
            return Err(FrameError::TooBig(len));
        }
        if len < 1 + TAG {
            return Err(FrameError::Auth);
        }
        Ok(len)
    }

    /// Check and open one frame body (what follows the length).
    pub fn open(&mut self, body: &[u8]) -> Result<(u8, Vec<u8>), FrameError> {
        if body.len() < 1 + TAG {
            return Err(FrameError::Auth);
        }
        let (head, tag) = body.split_at(body.len() - TAG);
        let (kind, payload) = (head[0], &head[1..]);
        let mut m = Vec::with_capacity(9 + payload.len());
        m.extend_from_slice(&self.seq.to_le_bytes());
        m.push(kind);
        m.extend_from_slice(payload);
        if !self.key.verify(&m, tag) {
            return Err(FrameError::Auth);
        }
        self.seq += 1;
        Ok((kind, payload.to_vec()))
    }

    /// Take the next whole frame from the front of `buf`, if it has one.
    pub fn take(&mut self, buf: &mut Vec<u8>) -> Result<Option<(u8, Vec<u8>)>, FrameError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let len = Self::body_len([buf[0], buf[1], buf[2], buf[3]])?;
        if buf.len() < 4 + len {
            return Ok(None);
        }
        let frame = self.open(&buf[4..4 + len]);
        buf.drain(..4 + len);
        frame.map(Some)
    }
}

/// Payload encoding: little-endian integers, length-prefixed byte strings.
#[derive(Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
        self
    }
    pub fn list(&mut self, items: &[Vec<u8>]) -> &mut Self {
        self.u32(items.len() as u32);
        for i in items {
            self.bytes(i);
        }
        self
    }
}

/// A payload that does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

impl core::fmt::Display for Malformed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("malformed job frame")
    }
}

pub struct Dec<'a>(pub &'a [u8]);

impl<'a> Dec<'a> {
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if self.0.len() < n {
            return Err(Malformed);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    pub fn u32(&mut self) -> Result<u32, Malformed> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(self.u32()? as u64 | (self.u32()? as u64) << 32)
    }
    pub fn bytes(&mut self) -> Result<Vec<u8>, Malformed> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    pub fn list(&mut self) -> Result<Vec<Vec<u8>>, Malformed> {
        let n = self.u32()? as usize;
        if n > 1 << 16 {
            return Err(Malformed);
        }
        (0..n).map(|_| self.bytes()).collect()
    }
}

/// The START frame: what to run. The program's and the files' bytes follow
/// in DATA frames, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub argv: Vec<Vec<u8>>,
    pub env: Vec<Vec<u8>>,
    /// The client's working directory (the job's too, on a SiON node).
    pub cwd: Vec<u8>,
    pub program_len: u64,
    /// (guest path, permission bits, length)
    pub files: Vec<(Vec<u8>, u32, u64)>,
    /// Paths to send back when the job ends (`sion run --out`), as `OUT_*` frames.
    pub outs: Vec<Vec<u8>>,
    /// The program's absolute path on the client (`/proc/self/exe` on a node).
    pub exe: Vec<u8>,
    /// What of the client's file tree the job sees on demand (absolute
    /// paths; none: its staged files alone).
    pub shares: Vec<Vec<u8>>,
    /// The client's directory that files the job makes or changes under it
    /// go back to when it ends (empty: none).
    pub write_back: Vec<u8>,
    /// SHA-256 of each item's bytes, the program then each file (empty: the
    /// client sends every item without waiting for NEED).
    pub digests: Vec<[u8; 32]>,
}

impl Start {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::default();
        e.list(&self.argv).list(&self.env).bytes(&self.cwd).u64(self.program_len).u32(self.files.len() as u32);
        for (p, perm, len) in &self.files {
            e.bytes(p).u32(*perm).u64(*len);
        }
        e.list(&self.outs).bytes(&self.exe).list(&self.shares).bytes(&self.write_back);
        e.u32(self.digests.len() as u32);
        for d in &self.digests {
            e.0.extend_from_slice(d);
        }
        e.0
    }

    pub fn decode(b: &[u8]) -> Result<Start, Malformed> {
        let mut d = Dec(b);
        let argv = d.list()?;
        let env = d.list()?;
        let cwd = d.bytes()?;
        let program_len = d.u64()?;
        let n = d.u32()? as usize;
        if n > 1 << 16 {
            return Err(Malformed);
        }
        let mut files = Vec::with_capacity(n);
        for _ in 0..n {
            files.push((d.bytes()?, d.u32()?, d.u64()?));
        }
        // Older clients send neither the out list nor the program's path.
        let outs = if d.0.is_empty() { Vec::new() } else { d.list()? };
        let exe = if d.0.is_empty() { Vec::new() } else { d.bytes()? };
        let shares = if d.0.is_empty() { Vec::new() } else { d.list()? };
        let write_back = if d.0.is_empty() { Vec::new() } else { d.bytes()? };
        let mut digests = Vec::new();
        if !d.0.is_empty() {
            // None (the client sends every item without waiting for NEED), or one per item.
            let n = d.u32()? as usize;
            if n != 0 && n != 1 + files.len() {
                return Err(Malformed);
            }
            for _ in 0..n {
                let b = d.take(32)?;
                let mut x = [0u8; 32];
                x.copy_from_slice(b);
                digests.push(x);
            }
        }
        Ok(Start { argv, env, cwd, program_len, files, outs, exe, shares, write_back, digests })
    }

    /// The length of each item, the program then each file.
    pub fn item_lens(&self) -> impl Iterator<Item = u64> + '_ {
        core::iter::once(self.program_len).chain(self.files.iter().map(|f| f.2))
    }

    /// Bytes of the DATA frames that follow.
    pub fn total(&self) -> u64 {
        self.program_len.saturating_add(self.files.iter().fold(0u64, |a, f| a.saturating_add(f.2)))
    }
}

/// An EXIT payload.
pub fn exit_payload(signal: bool, code: u32) -> Vec<u8> {
    let mut e = Enc::default();
    e.u32(signal as u32).u32(code);
    e.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: &Key, b: &Key) -> ((Dir, Dir), Result<(Dir, Dir), FrameError>) {
        let (nn, cn) = ([1u8; 16], [2u8; 16]);
        let node = keys(a, &nn, &hello(&cn), true).unwrap();
        let client = keys(b, &cn, &hello(&nn), false);
        (node, client)
    }

    #[test]
    fn frames_round_trip_in_order_and_a_wrong_key_fails() {
        let key = Key([1; 32]);
        let ((mut n_tx, mut n_rx), client) = pair(&key, &key);
        let (mut c_tx, mut c_rx) = client.unwrap();
        let mut wire = c_tx.seal(START, b"hello");
        wire.extend(c_tx.seal(DATA, b"x"));
        // A partial frame is not taken.
        let mut part = wire[..7].to_vec();
        assert_eq!(n_rx.take(&mut part), Ok(None));
        assert_eq!(n_rx.take(&mut wire), Ok(Some((START, b"hello".to_vec()))));
        assert_eq!(n_rx.take(&mut wire), Ok(Some((DATA, b"x".to_vec()))));
        assert!(wire.is_empty());
        let mut back = n_tx.seal(STDOUT, b"out");
        assert_eq!(c_rx.take(&mut back), Ok(Some((STDOUT, b"out".to_vec()))));

        // Replaying the first frame fails: the counter moved on.
        let ((_, mut n_rx), client) = pair(&key, &key);
        let (mut c_tx, _) = client.unwrap();
        let first = c_tx.seal(START, b"a");
        let mut twice = first.clone();
        twice.extend(first);
        assert!(n_rx.take(&mut twice).unwrap().is_some());
        assert_eq!(n_rx.take(&mut twice), Err(FrameError::Auth));

        let ((_, mut n_rx), client) = pair(&key, &Key([2; 32]));
        let (mut c_tx, _) = client.unwrap();
        let mut w = c_tx.seal(START, b"x");
        assert_eq!(n_rx.take(&mut w), Err(FrameError::Auth));
    }

    #[test]
    fn bad_hellos_and_lengths_are_refused() {
        let key = Key([1; 32]);
        assert!(matches!(keys(&key, &[0; 16], b"GET / HTTP/1.1\r\nHost: x\r\n", true), Err(FrameError::NotJobStream)));
        let ((_, mut rx), _) = pair(&key, &key);
        let mut huge = (u32::MAX).to_le_bytes().to_vec();
        assert!(matches!(rx.take(&mut huge), Err(FrameError::TooBig(_))));
        let mut tiny = 3u32.to_le_bytes().to_vec();
        tiny.extend([0; 3]);
        assert_eq!(rx.take(&mut tiny), Err(FrameError::Auth));
    }

    #[test]
    fn start_round_trip_and_truncation() {
        let s = Start {
            argv: alloc::vec![b"./p".to_vec(), b"a b".to_vec()],
            env: alloc::vec![b"A=1".to_vec()],
            cwd: b"/home".to_vec(),
            program_len: 10,
            files: alloc::vec![(b"/home/x".to_vec(), 0o644, 3)],
            outs: alloc::vec![b"/home/out".to_vec()],
            exe: b"/home/p".to_vec(),
            shares: alloc::vec![b"/usr".to_vec(), b"/home".to_vec()],
            write_back: b"/home".to_vec(),
            digests: alloc::vec![[1; 32], [2; 32]],
        };
        let e = s.encode();
        assert_eq!(Start::decode(&e), Ok(s.clone()));
        assert_eq!(s.total(), 13);
        // Cut anywhere: an error or (before the optional out list) a job without outs, never a panic.
        for cut in 0..e.len() {
            if let Ok(d) = Start::decode(&e[..cut]) {
                assert!(d.digests.is_empty() && d.files == s.files, "cut at {cut}");
            }
        }
        // Digests must be one per item, or none.
        let mut bad = s.clone();
        bad.digests.pop();
        assert_eq!(Start::decode(&bad.encode()), Err(Malformed));
        let mut none = s.clone();
        none.digests.clear();
        assert_eq!(Start::decode(&none.encode()), Ok(none));
        assert_eq!(s.item_lens().collect::<Vec<_>>(), [10, 3]);
        let mut d = Dec(&exit_payload(true, 9));
        assert_eq!((d.u32(), d.u32()), (Ok(1), Ok(9)));
    }
}
