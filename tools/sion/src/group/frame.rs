//! The job stream over TCP (see docs/group-protocol.md, "Jobs").
//!
//! Handshake: each side sends `SIONJOB1` and a 16-byte random nonce (the node
//! first). Each direction then has its own key, HMAC(group key, label ||
//! node nonce || client nonce), and every frame is
//! `length u32 | kind u8 | payload | HMAC-SHA256(direction key, seq u64 || kind || payload)`
//! with `seq` counting the frames of that direction from 0. A recorded
//! session cannot be replayed (the peer's nonce differs), frames cannot be
//! reordered, dropped or moved between directions, and a peer without the
//! group key cannot produce a single valid frame.
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};

use sion_group::Key;

pub const HELLO: &[u8; 8] = b"SIONJOB1";
/// Largest frame accepted (data travels in chunks of `CHUNK`).
pub const MAX_FRAME: usize = 1 << 20;
pub const CHUNK: usize = 64 * 1024;

// Client to node.
pub const START: u8 = 1;
pub const DATA: u8 = 2;
pub const STDIN: u8 = 3;
pub const STDIN_EOF: u8 = 4;
pub const CANCEL: u8 = 5;
// Node to client.
pub const RUNNING: u8 = 10;
pub const STDOUT: u8 = 11;
pub const STDERR: u8 = 12;
pub const EXIT: u8 = 13;
pub const ERROR: u8 = 14;

#[derive(Debug)]
pub enum FrameError {
    Io(io::Error),
    /// The tag does not verify: the peer does not hold the group key.
    Auth,
    TooBig(usize),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Io(e) => write!(f, "{e}"),
            FrameError::Auth => f.write_str("authentication failed (not the group key)"),
            FrameError::TooBig(n) => write!(f, "frame of {n} bytes is too large"),
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        FrameError::Io(e)
    }
}

/// One direction of a job stream.
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

    pub fn write(&mut self, w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
        let tag = self.tag(kind, payload);
        self.seq += 1;
        let mut buf = Vec::with_capacity(4 + 1 + payload.len() + 32);
        buf.extend_from_slice(&((1 + payload.len() + 32) as u32).to_le_bytes());
        buf.push(kind);
        buf.extend_from_slice(payload);
        buf.extend_from_slice(&tag);
        w.write_all(&buf)?;
        w.flush()
    }

    pub fn read(&mut self, r: &mut impl Read) -> Result<(u8, Vec<u8>), FrameError> {
        let mut len = [0u8; 4];
        r.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_FRAME + 64 {
            return Err(FrameError::TooBig(len));
        }
        if len < 33 {
            return Err(FrameError::Auth);
        }
        let mut buf = vec![0u8; len];
        r.read_exact(&mut buf)?;
        let (body, tag) = buf.split_at(len - 32);
        let kind = body[0];
        let payload = &body[1..];
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
}

/// Sends our hello and reads the peer's; returns (to-peer, from-peer) directions.
pub fn handshake(s: &mut (impl Read + Write), key: &Key, node_side: bool) -> io::Result<(Dir, Dir)> {
    let mut mine = [0u8; 16];
    mine[..8].copy_from_slice(&super::key::random_u64().to_le_bytes());
    mine[8..].copy_from_slice(&super::key::random_u64().to_le_bytes());
    let mut hello = HELLO.to_vec();
    hello.extend_from_slice(&mine);
    s.write_all(&hello)?;
    s.flush()?;
    let mut theirs = [0u8; 24];
    s.read_exact(&mut theirs)?;
    if &theirs[..8] != HELLO {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a SiON job stream (version 1)"));
    }
    let (node_nonce, client_nonce) = if node_side { (&mine[..], &theirs[8..]) } else { (&theirs[8..], &mine[..]) };
    let mut ctx = node_nonce.to_vec();
    ctx.extend_from_slice(client_nonce);
    let c2n = Dir { key: key.derive(b"sion-job-v1 client-to-node", &ctx), seq: 0 };
    let n2c = Dir { key: key.derive(b"sion-job-v1 node-to-client", &ctx), seq: 0 };
    Ok(if node_side { (n2c, c2n) } else { (c2n, n2c) })
}

/// Payload helpers: length-prefixed byte strings and integers.
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

pub struct Dec<'a>(pub &'a [u8]);

impl<'a> Dec<'a> {
    fn bad() -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, "malformed job frame")
    }
    pub fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(Self::bad());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    pub fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    pub fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    pub fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    pub fn list(&mut self) -> io::Result<Vec<Vec<u8>>> {
        let n = self.u32()? as usize;
        if n > 1 << 16 {
            return Err(Self::bad());
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
    /// The client's working directory (files under it land relative to the job's).
    pub cwd: Vec<u8>,
    pub program_len: u64,
    /// (guest path, permission bits, length)
    pub files: Vec<(Vec<u8>, u32, u64)>,
}

impl Start {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::default();
        e.list(&self.argv).list(&self.env).bytes(&self.cwd).u64(self.program_len).u32(self.files.len() as u32);
        for (p, perm, len) in &self.files {
            e.bytes(p).u32(*perm).u64(*len);
        }
        e.0
    }

    pub fn decode(b: &[u8]) -> io::Result<Start> {
        let mut d = Dec(b);
        let argv = d.list()?;
        let env = d.list()?;
        let cwd = d.bytes()?;
        let program_len = d.u64()?;
        let n = d.u32()? as usize;
        if n > 1 << 16 {
            return Err(Dec::bad());
        }
        let mut files = Vec::with_capacity(n);
        for _ in 0..n {
            files.push((d.bytes()?, d.u32()?, d.u64()?));
        }
        Ok(Start { argv, env, cwd, program_len, files })
    }

    pub fn total(&self) -> u64 {
        self.program_len + self.files.iter().map(|f| f.2).sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn frames_round_trip_and_a_wrong_key_fails() {
        let key = Key([1; 32]);
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let k2 = key.clone();
        let t = std::thread::spawn(move || {
            let (mut tx, mut rx) = handshake(&mut b, &k2, true).unwrap();
            let got = rx.read(&mut b).unwrap();
            tx.write(&mut b, STDOUT, b"out").unwrap();
            got
        });
        let (mut tx, mut rx) = handshake(&mut a, &key, false).unwrap();
        tx.write(&mut a, START, b"hello").unwrap();
        assert_eq!(rx.read(&mut a).unwrap(), (STDOUT, b"out".to_vec()));
        assert_eq!(t.join().unwrap(), (START, b"hello".to_vec()));

        let (mut a, mut b) = UnixStream::pair().unwrap();
        let t = std::thread::spawn(move || {
            let (_, mut rx) = handshake(&mut b, &Key([2; 32]), true).unwrap();
            rx.read(&mut b).map(|_| ())
        });
        let (mut tx, _) = handshake(&mut a, &key, false).unwrap();
        tx.write(&mut a, START, b"x").unwrap();
        assert!(matches!(t.join().unwrap(), Err(FrameError::Auth)));
    }

    #[test]
    fn start_round_trip() {
        let s = Start {
            argv: vec![b"./p".to_vec(), b"a b".to_vec()],
            env: vec![b"A=1".to_vec()],
            cwd: b"/home".to_vec(),
            program_len: 10,
            files: vec![(b"/home/x".to_vec(), 0o644, 3)],
        };
        assert_eq!(Start::decode(&s.encode()).unwrap(), s);
        assert_eq!(s.total(), 13);
    }
}
