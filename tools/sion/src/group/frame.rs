//! The job stream (`sion_group::job`, docs/group-protocol.md "Jobs") over
//! blocking std sockets.
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};

use sion_group::job;
pub use sion_group::job::{
    Dec, Enc, Start, CANCEL, CHUNK, DATA, ERROR, EXIT, FS_DATA, FS_END, FS_LIST, FS_READ, NEED, OUT_DATA, OUT_DIR, OUT_FILE, OUT_MISSING, OUT_SYMLINK, RUNNING, START, STDERR, STDIN, STDIN_EOF,
    STDOUT, UNCHANGED, WB_DIR, WB_FILE,
};
use sion_group::Key;

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

impl From<job::FrameError> for FrameError {
    fn from(e: job::FrameError) -> Self {
        match e {
            job::FrameError::Auth => FrameError::Auth,
            job::FrameError::TooBig(n) => FrameError::TooBig(n),
            job::FrameError::NotJobStream => FrameError::Io(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
        }
    }
}

/// One direction of a job stream on a blocking socket.
pub struct Dir(job::Dir);

impl Dir {
    pub fn write(&mut self, w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
        w.write_all(&self.0.seal(kind, payload))?;
        w.flush()
    }

    pub fn read(&mut self, r: &mut impl Read) -> Result<(u8, Vec<u8>), FrameError> {
        let mut len = [0u8; 4];
        r.read_exact(&mut len)?;
        let mut body = vec![0u8; job::Dir::body_len(len)?];
        r.read_exact(&mut body)?;
        Ok(self.0.open(&body)?)
    }
}

/// Sends our hello and reads the peer's; returns (to-peer, from-peer) directions.
pub fn handshake(s: &mut (impl Read + Write), key: &Key, node_side: bool) -> io::Result<(Dir, Dir)> {
    let mut mine = [0u8; 16];
    mine[..8].copy_from_slice(&super::key::random_u64().to_le_bytes());
    mine[8..].copy_from_slice(&super::key::random_u64().to_le_bytes());
    s.write_all(&job::hello(&mine))?;
    s.flush()?;
    let mut theirs = [0u8; job::HELLO_LEN];
    s.read_exact(&mut theirs)?;
    let (tx, rx) = job::keys(key, &mine, &theirs, node_side).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    Ok((Dir(tx), Dir(rx)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn frames_cross_a_socket_and_a_wrong_key_fails() {
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
}
