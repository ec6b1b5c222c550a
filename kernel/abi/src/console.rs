//! The job console: the protocol between the node's personality server and
//! the host's `sion` on the job's byte stream (for `sion exec` a virtio
//! serial port, see `sion_virtio::console`; COM2 where there is none).
//!
//! One byte stream each way carries several channels, so the program's stdout,
//! stderr and exit status stay apart and exact, whatever bytes they contain.
//! A frame is `tag: u8`, `len: u16` (little-endian), then `len` bytes.
//! The kernel's own log goes to COM1 and never mixes with this.

/// Largest payload of one frame.
pub const MAX_PAYLOAD: usize = 4096;

/// Frames from the node to the host.
pub mod up {
    /// Bytes the program wrote to its stdout.
    pub const STDOUT: u8 = 1;
    /// Bytes the program wrote to its stderr.
    pub const STDERR: u8 = 2;
    /// The job ended: payload [`super::Exit::encode`].
    pub const EXIT: u8 = 3;
    /// A line for the host's log (shown with `--verbose`): unimplemented calls and such.
    pub const LOG: u8 = 4;
    /// The node's console is set up: the host may send stdin from now on.
    /// (Bytes sent earlier could be lost when the node resets its UART FIFO.)
    /// An empty payload: no flow control, send freely. A `u32` (little-endian)
    /// payload: the stdin window; the host keeps at most that many STDIN
    /// bytes sent beyond the count of the last [`STDIN_TAKEN`], so the node
    /// never holds more than the window and always has room for SIGNAL frames.
    pub const READY: u8 = 5;
    /// `--out` files coming back, sent after the program ended and before
    /// EXIT. A directory: payload `mode: u32` (little-endian) then its
    /// absolute guest path.
    pub const OUT_DIR: u8 = 6;
    /// A regular file starts: `mode: u32` then its absolute guest path; its
    /// bytes follow in `OUT_DATA` frames (none for an empty file).
    pub const OUT_FILE: u8 = 7;
    /// Bytes of the file last started by `OUT_FILE`.
    pub const OUT_DATA: u8 = 8;
    /// A symbolic link: the guest path, a NUL, then the link's target.
    pub const OUT_SYMLINK: u8 = 9;
    /// An `--out` path that does not exist on the node (or is not a file,
    /// directory or link): payload its guest path.
    pub const OUT_MISSING: u8 = 10;
    /// With `trace=1` in `job/config`: one line per system call of the
    /// program, `ABI NR NAME = RESULT` (`x86_64 1 write = 6`,
    /// `i386 2 fork = -38 ENOSYS`); `sion exec --trace FILE` writes them to FILE.
    /// With `trace=counts`, nothing per call: at the job's end one line per
    /// distinct call, `ABI NR NAME calls=N enosys=M` (`sion exec --trace-counts FILE`).
    pub const TRACE: u8 = 11;
    /// The node failed, not the program (the personality server panicked,
    /// e.g. its heap ran out): payload a one-line reason. No EXIT follows;
    /// `sion` reports a node failure (exit 125) with the reason.
    pub const FAILED: u8 = 12;
    /// Sent before EXIT when the job ends killed by SIGKILL because a
    /// process of it could not get a page (Linux's OOM killer): payload the
    /// job's memory limit in bytes (`u64`, little-endian).
    pub const OOM_KILLED: u8 = 13;
    /// Flow control of stdin (when READY gave a window): payload `u64`
    /// (little-endian), how many stdin bytes the program has taken so far.
    pub const STDIN_TAKEN: u8 = 14;
    /// The workstation's files on demand ([`super::fs`]): the entries of a
    /// directory. Payload: a [`super::fs::Request`].
    pub const FS_LIST: u8 = 15;
    /// The same for the bytes of a regular file; the request carries the
    /// size and mtime its directory's listing gave (what a node's cache
    /// checks its copy against).
    pub const FS_READ: u8 = 16;
    /// Write-back (after the `--out` frames, before EXIT): a directory the
    /// job made under its shared working directory. Payload: mode (`u32`),
    /// then the path.
    pub const WB_DIR: u8 = 17;
    /// A file the job made or changed there; its bytes follow as `OUT_DATA`
    /// frames. Payload: mode (`u32`), whether the workstation had it when the
    /// job first saw it (`u8`), its size and mtime in ns then (`u64` each),
    /// then the path.
    pub const WB_FILE: u8 = 18;
}

/// Frames from the host to the node.
pub mod down {
    /// Bytes for the program's stdin.
    pub const STDIN: u8 = 1;
    /// The host's stdin ended: reads return 0 from now on.
    pub const STDIN_EOF: u8 = 2;
    /// A signal for the job (one byte, its number): `sion exec` forwards
    /// SIGINT and SIGTERM, as a terminal sends ^C to its foreground group.
    pub const SIGNAL: u8 = 3;
    /// Part of the answer to an `up::FS_LIST`/`FS_READ`: request id (`u32`)
    /// then bytes (a file's, or encoded [`super::fs::Entry`]s), in order.
    pub const FS_DATA: u8 = 4;
    /// The answer is complete: request id (`u32`) then a status (`i32`): 0,
    /// or the Linux errno the host met (the path vanished, is not shared...).
    /// Over `sion run`'s job stream a digest follows (SHA-256 of the whole
    /// answer, 32 bytes) for the node's cache; the personality ignores it.
    pub const FS_END: u8 = 5;
}

/// The workstation's files on demand: a node asks for what its job's tree
/// does not hold (a directory's entries, a file's bytes) by absolute path,
/// and `sion` answers from the workstation, only inside what it shares. One
/// round trip per directory and per file; the node keeps what came.
pub mod fs {
    pub const DIR: u8 = 0;
    pub const FILE: u8 = 1;
    pub const SYMLINK: u8 = 2;
    /// Bytes of an encoded entry before its name and link target: kind (1),
    /// permission bits, uid, gid (4 each), mtime in ns, size, 512-byte
    /// blocks (8 each), name and target lengths (2 each).
    pub const ENTRY_HEAD: usize = 1 + 4 + 4 + 4 + 8 + 8 + 8 + 2 + 2;

    /// A request for a directory's entries or a file's bytes: `id` names
    /// the answer; `size` and `mtime_ns` are what the node knows of the
    /// path from its directory's listing (0 when it knows nothing).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Request<'a> {
        pub id: u32,
        pub size: u64,
        pub mtime_ns: u64,
        pub path: &'a [u8],
    }

    /// Bytes of an encoded request before its path.
    pub const REQUEST_HEAD: usize = 4 + 8 + 8;

    impl<'a> Request<'a> {
        /// Encoded length.
        pub fn len(&self) -> usize {
            REQUEST_HEAD + self.path.len()
        }
        pub fn is_empty(&self) -> bool {
            false
        }
        /// Encode into `out` (at least [`Request::len`] bytes).
        pub fn encode(&self, out: &mut [u8]) -> usize {
            out[..4].copy_from_slice(&self.id.to_le_bytes());
            out[4..12].copy_from_slice(&self.size.to_le_bytes());
            out[12..20].copy_from_slice(&self.mtime_ns.to_le_bytes());
            out[REQUEST_HEAD..self.len()].copy_from_slice(self.path);
            self.len()
        }

        pub fn decode(bytes: &'a [u8]) -> Option<Request<'a>> {
            let h = bytes.get(..REQUEST_HEAD)?;
            let u64_at = |i: usize| u64::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3], h[i + 4], h[i + 5], h[i + 6], h[i + 7]]);
            Some(Request { id: u32::from_le_bytes([h[0], h[1], h[2], h[3]]), size: u64_at(4), mtime_ns: u64_at(12), path: &bytes[REQUEST_HEAD..] })
        }
    }

    /// One directory entry of an answer to `FS_LIST`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Entry<'a> {
        pub kind: u8,
        pub perm: u32,
        pub uid: u32,
        pub gid: u32,
        pub mtime_ns: u64,
        pub size: u64,
        /// `st_blocks` there (what `ls -s`, `du` show).
        pub blocks: u64,
        pub name: &'a [u8],
        /// A symbolic link's target (empty otherwise).
        pub target: &'a [u8],
    }

    impl Entry<'_> {
        /// Encoded length.
        pub fn len(&self) -> usize {
            ENTRY_HEAD + self.name.len() + self.target.len()
        }
        pub fn is_empty(&self) -> bool {
            false
        }
        /// Encode into `out` (at least [`Entry::len`] bytes); names and
        /// targets are at most 65,535 bytes (Linux allows 255 and 4,095).
        pub fn encode(&self, out: &mut [u8]) -> usize {
            out[0] = self.kind;
            out[1..5].copy_from_slice(&self.perm.to_le_bytes());
            out[5..9].copy_from_slice(&self.uid.to_le_bytes());
            out[9..13].copy_from_slice(&self.gid.to_le_bytes());
            out[13..21].copy_from_slice(&self.mtime_ns.to_le_bytes());
            out[21..29].copy_from_slice(&self.size.to_le_bytes());
            out[29..37].copy_from_slice(&self.blocks.to_le_bytes());
            out[37..39].copy_from_slice(&(self.name.len() as u16).to_le_bytes());
            out[39..41].copy_from_slice(&(self.target.len() as u16).to_le_bytes());
            out[ENTRY_HEAD..ENTRY_HEAD + self.name.len()].copy_from_slice(self.name);
            out[ENTRY_HEAD + self.name.len()..self.len()].copy_from_slice(self.target);
            self.len()
        }
    }

    /// The first entry of `bytes` and the rest, or `None` if `bytes` does
    /// not start with a whole entry.
    pub fn next_entry(bytes: &[u8]) -> Option<(Entry<'_>, &[u8])> {
        let h = bytes.get(..ENTRY_HEAD)?;
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let u64_at = |i: usize| u64::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3], h[i + 4], h[i + 5], h[i + 6], h[i + 7]]);
        let (nl, tl) = (u16::from_le_bytes([h[37], h[38]]) as usize, u16::from_le_bytes([h[39], h[40]]) as usize);
        let name = bytes.get(ENTRY_HEAD..ENTRY_HEAD + nl)?;
        let target = bytes.get(ENTRY_HEAD + nl..ENTRY_HEAD + nl + tl)?;
        let e = Entry { kind: h[0], perm: u32_at(1), uid: u32_at(5), gid: u32_at(9), mtime_ns: u64_at(13), size: u64_at(21), blocks: u64_at(29), name, target };
        Some((e, &bytes[ENTRY_HEAD + nl + tl..]))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn entries_round_trip() {
            let a = Entry { kind: SYMLINK, perm: 0o777, uid: 1, gid: 2, mtime_ns: 3, size: 4, blocks: 0, name: b"sbin", target: b"usr/sbin" };
            let b = Entry { kind: FILE, perm: 0o644, uid: 0, gid: 0, mtime_ns: 9, size: 1 << 40, blocks: 8, name: b"f", target: b"" };
            let mut buf = [0u8; 128];
            let n = a.encode(&mut buf);
            let m = b.encode(&mut buf[n..]);
            let (x, rest) = next_entry(&buf[..n + m]).unwrap();
            let (y, rest) = next_entry(rest).unwrap();
            assert_eq!((x, y, rest.len()), (a, b, 0));
            assert!(next_entry(&buf[..n - 1]).is_none(), "a truncated entry");
        }

        /// Random bytes: the decoders take whole entries and requests or
        /// nothing, never reading past the end (a node parses what a
        /// workstation sent, a workstation what a node asked).
        #[test]
        fn decoders_refuse_what_is_not_whole() {
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            let mut next = || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let mut buf = [0u8; 96];
            for _ in 0..100_000 {
                let n = (next() % 97) as usize;
                for b in &mut buf[..n] {
                    *b = next() as u8;
                }
                let mut rest = &buf[..n];
                while let Some((e, r)) = next_entry(rest) {
                    assert!(r.len() + e.len() <= rest.len());
                    rest = r;
                }
                if let Some(r) = Request::decode(&buf[..n]) {
                    assert_eq!(r.len(), n);
                }
            }
        }

        #[test]
        fn requests_round_trip() {
            let r = Request { id: 7, size: 1 << 33, mtime_ns: 5, path: b"/usr/lib/libc.so.6" };
            let mut buf = [0u8; 64];
            let n = r.encode(&mut buf);
            assert_eq!(Request::decode(&buf[..n]), Some(r));
            assert!(Request::decode(&buf[..REQUEST_HEAD - 1]).is_none());
        }
    }
}

/// The job console over IPC: how a personality that a group server started
/// for an offloaded job talks to that server instead of COM2. The frames and
/// their meaning are the same as on the serial console.
pub mod ipc {
    /// Notification bit the console server raises on the personality when it
    /// holds input (stdin bytes or its end) for the program.
    pub const NOTIFY_CONSOLE: u64 = 1 << 61;
    /// A request (an IPC call to the console server) is one `tag` byte and a
    /// payload of at most [`super::MAX_PAYLOAD`]: an [`super::up`] frame, or
    /// `FETCH` (no payload) to collect input. The reply to an up frame is
    /// empty (the server may hold it back while its connection is full: flow
    /// control); the reply to `FETCH` is the input held for the personality
    /// so far as [`super::down`] frames, each encoded as on the serial line
    /// ([`super::frame_header`] then the payload), at most `MAX_REPLY` bytes.
    pub const FETCH: u8 = 0;
    /// Largest reply: the personality's receive buffer.
    pub const MAX_REPLY: usize = 64 * 1024;
    /// The console server, on the command line of a personality it started
    /// (`job.console=<task id in hex>`).
    pub const CMDLINE_KEY: &str = "job.console";
}

/// How the job ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Exit {
    /// exit status (0..=255).
    Code(u8),
    /// Killed by this signal number.
    Signal(u8),
}

impl Exit {
    pub fn encode(self) -> [u8; 2] {
        match self {
            Exit::Code(c) => [0, c],
            Exit::Signal(s) => [1, s],
        }
    }
    pub fn decode(b: &[u8]) -> Option<Exit> {
        match b {
            [0, c] => Some(Exit::Code(*c)),
            [1, s] => Some(Exit::Signal(*s)),
            _ => None,
        }
    }
    /// The status a shell reports: the code, or 128 + the signal.
    pub fn shell_status(self) -> i32 {
        match self {
            Exit::Code(c) => c as i32,
            Exit::Signal(s) => 128 + s as i32,
        }
    }
}

/// The 3-byte header of a frame.
pub fn frame_header(tag: u8, len: usize) -> [u8; 3] {
    assert!(len <= MAX_PAYLOAD);
    let l = (len as u16).to_le_bytes();
    [tag, l[0], l[1]]
}

/// A frame being reassembled from a byte stream.
pub struct Decoder {
    state: State,
    tag: u8,
    len: usize,
    got: usize,
    buf: [u8; MAX_PAYLOAD],
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Tag,
    Len0,
    Len1,
    Payload,
}

/// What a byte fed to the [`Decoder`] produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// Nothing complete yet.
    Pending,
    /// A whole frame.
    Frame { tag: u8, payload: &'a [u8] },
    /// The stream is corrupt: a length over [`MAX_PAYLOAD`]; the decoder resets.
    Malformed,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    pub const fn new() -> Self {
        Decoder { state: State::Tag, tag: 0, len: 0, got: 0, buf: [0; MAX_PAYLOAD] }
    }

    /// Feed bytes from the start of `input`: how many were used and what
    /// they completed. Payload bytes are copied in bulk; call again with the
    /// rest (`&input[used..]`) until it is empty.
    pub fn push_slice(&mut self, input: &[u8]) -> (usize, Event<'_>) {
        if self.state != State::Payload {
            return match input.first() {
                Some(&b) => (1, self.push(b)),
                None => (0, Event::Pending),
            };
        }
        let n = (self.len - self.got).min(input.len());
        self.buf[self.got..self.got + n].copy_from_slice(&input[..n]);
        self.got += n;
        if self.got == self.len {
            self.state = State::Tag;
            return (n, Event::Frame { tag: self.tag, payload: &self.buf[..self.len] });
        }
        (n, Event::Pending)
    }

    pub fn push(&mut self, byte: u8) -> Event<'_> {
        match self.state {
            State::Tag => {
                self.tag = byte;
                self.state = State::Len0;
            }
            State::Len0 => {
                self.len = byte as usize;
                self.state = State::Len1;
            }
            State::Len1 => {
                self.len |= (byte as usize) << 8;
                self.got = 0;
                if self.len > MAX_PAYLOAD {
                    self.state = State::Tag;
                    return Event::Malformed;
                }
                if self.len == 0 {
                    self.state = State::Tag;
                    return Event::Frame { tag: self.tag, payload: &[] };
                }
                self.state = State::Payload;
            }
            State::Payload => {
                self.buf[self.got] = byte;
                self.got += 1;
                if self.got == self.len {
                    self.state = State::Tag;
                    return Event::Frame { tag: self.tag, payload: &self.buf[..self.len] };
                }
            }
        }
        Event::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn frames_survive_any_bytes() {
        let mut stream = Vec::new();
        let data: Vec<u8> = (0..=255u8).collect();
        stream.extend_from_slice(&frame_header(up::STDOUT, data.len()));
        stream.extend_from_slice(&data);
        stream.extend_from_slice(&frame_header(up::EXIT, 2));
        stream.extend_from_slice(&Exit::Signal(11).encode());
        let mut d = Decoder::new();
        let mut frames = Vec::new();
        for b in stream {
            if let Event::Frame { tag, payload } = d.push(b) {
                frames.push((tag, payload.to_vec()));
            }
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0], (up::STDOUT, data));
        assert_eq!(Exit::decode(&frames[1].1), Some(Exit::Signal(11)));
        assert_eq!(Exit::Signal(11).shell_status(), 139);
    }

    #[test]
    fn push_slice_matches_push() {
        let mut stream = Vec::new();
        for (i, len) in [0usize, 1, 4096, 17, 3000].into_iter().enumerate() {
            let data: Vec<u8> = (0..len).map(|j| (i * 31 + j) as u8).collect();
            stream.extend_from_slice(&frame_header(i as u8, len));
            stream.extend_from_slice(&data);
        }
        let mut want = Vec::new();
        let mut d = Decoder::new();
        for &b in &stream {
            if let Event::Frame { tag, payload } = d.push(b) {
                want.push((tag, payload.to_vec()));
            }
        }
        for step in [1, 2, 5, 4099, 100000] {
            let mut d = Decoder::new();
            let mut got = Vec::new();
            for chunk in stream.chunks(step) {
                let mut rest = chunk;
                while !rest.is_empty() {
                    let (n, ev) = d.push_slice(rest);
                    assert!(n > 0);
                    if let Event::Frame { tag, payload } = ev {
                        got.push((tag, payload.to_vec()));
                    }
                    rest = &rest[n..];
                }
            }
            assert_eq!(got, want, "step {step}");
        }
    }

    #[test]
    fn oversized_length_is_malformed() {
        let mut d = Decoder::new();
        assert_eq!(d.push(1), Event::Pending);
        assert_eq!(d.push(0xff), Event::Pending);
        assert_eq!(d.push(0xff), Event::Malformed);
    }
}
