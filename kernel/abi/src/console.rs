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
    pub const MAX_REPLY: usize = 16 * 1024;
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
