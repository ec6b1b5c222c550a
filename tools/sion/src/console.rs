//! The pumps between the node's ports and sion's stdio:
//! the kernel log (COM1), the job console (a virtio serial port, framed by
//! `sion_abi::console`) and sion's stdin.
#![forbid(unsafe_code)]

use std::io::{self, ErrorKind, Read, Write};
use std::sync::{Arc, Mutex};

use sion_abi::console::{self, down, up, Decoder, Event, Exit};

/// Where log lines go: a file, and stderr with `--verbose`. It also remembers
/// what explains a failed node: the kernel's first line with "panic", and its last line.
pub struct LogSink {
    file: Option<Box<dyn Write + Send>>,
    verbose: bool,
    /// `--trace FILE`: where `up::TRACE` lines go.
    pub trace: Option<Box<dyn Write + Send>>,
    pub panic_line: Option<String>,
    pub last_kernel_line: Option<String>,
    /// The panic line ended with `:` (Rust's "panicked at FILE:LINE:COL:"),
    /// so its message is on the next line.
    panic_continues: bool,
    /// The node's own report of its failure (`up::FAILED`).
    pub node_failure: Option<String>,
    /// The job was killed for want of memory (`up::OOM_KILLED`): its limit in bytes.
    pub oom_limit: Option<u64>,
}

pub type SharedLog = Arc<Mutex<LogSink>>;

impl LogSink {
    pub fn new(file: Option<Box<dyn Write + Send>>, verbose: bool) -> Self {
        LogSink { file, verbose, trace: None, panic_line: None, last_kernel_line: None, panic_continues: false, node_failure: None, oom_limit: None }
    }

    pub fn shared(self) -> SharedLog {
        Arc::new(Mutex::new(self))
    }

    fn write(&mut self, line: &[u8]) {
        let mut l = line.to_vec();
        if l.last() != Some(&b'\n') {
            l.push(b'\n');
        }
        if let Some(f) = &mut self.file {
            if f.write_all(&l).and_then(|_| f.flush()).is_err() {
                tracing::warn!("cannot write the log file; dropping it");
                self.file = None;
            }
        }
        if self.verbose {
            let _ = io::stderr().lock().write_all(&l);
        }
    }

    /// A new boot of the node (KVM gave up, TCG next): forget what explained
    /// the last one.
    pub fn restart(&mut self) {
        self.panic_line = None;
        self.last_kernel_line = None;
        self.panic_continues = false;
        self.node_failure = None;
        self.oom_limit = None;
    }

    /// A line of the kernel log (COM1).
    pub fn kernel_line(&mut self, line: &[u8]) {
        self.write(line);
        let text = String::from_utf8_lossy(line);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        if self.panic_continues {
            self.panic_continues = false;
            if let Some(p) = &mut self.panic_line {
                p.push(' ');
                p.push_str(text);
            }
        } else if self.panic_line.is_none() && text.to_ascii_lowercase().contains("panic") {
            self.panic_line = Some(text.to_string());
            self.panic_continues = text.ends_with(':');
        }
        self.last_kernel_line = Some(text.to_string());
    }

    /// A `up::LOG` frame from the node's servers.
    pub fn server_line(&mut self, payload: &[u8]) {
        self.write(payload);
    }

    /// A `up::TRACE` frame: one system call, to the `--trace` file.
    pub fn trace_line(&mut self, payload: &[u8]) {
        if let Some(f) = &mut self.trace {
            if f.write_all(payload).and_then(|_| f.write_all(b"\n")).and_then(|_| f.flush()).is_err() {
                tracing::warn!("cannot write the trace file; dropping it");
                self.trace = None;
            }
        }
    }

    /// The line that best explains why the node failed, if the log has one.
    pub fn failure_reason(&self) -> Option<String> {
        self.node_failure.clone().or_else(|| self.panic_line.clone()).or_else(|| self.last_kernel_line.clone())
    }
}

/// Reads, treating a reset connection (QEMU gone) as the end.
fn read_some(r: &mut impl Read, buf: &mut [u8]) -> usize {
    loop {
        match r.read(buf) {
            Ok(n) => return n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return 0,
        }
    }
}

/// Copies the kernel log (COM1) into `log`, line by line, until the stream ends.
pub fn pump_log(mut stream: impl Read, log: SharedLog) {
    let mut buf = [0u8; 4096];
    let mut line = Vec::new();
    loop {
        let n = read_some(&mut stream, &mut buf);
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            if b == b'\n' {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                log.lock().unwrap().kernel_line(&line);
                line.clear();
            } else {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        log.lock().unwrap().kernel_line(&line);
    }
}

/// What the job console's reader tells the stdin pump: the node is ready
/// (with its stdin window, if it flow-controls stdin), or how many stdin
/// bytes the program has taken so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Ready(Option<u64>),
    Taken(u64),
}

/// Decodes the job console until the stream ends: stdout and stderr frames to
/// `out` and `err` (flushed after each read from the node, and before the
/// other stream is written, so output streams in order), log frames to
/// `log`, the exit frame into `exit`, READY and STDIN_TAKEN to the stdin pump.
#[allow(clippy::too_many_arguments)]
#[allow(clippy::too_many_arguments)]
pub fn pump_job(mut stream: impl Read, mut out: impl Write, mut err: impl Write, log: SharedLog, exit: Arc<Mutex<Option<Exit>>>, ready: std::sync::mpsc::Sender<Flow>, outs: Arc<Mutex<crate::outfiles::OutFiles>>, fs: Option<std::sync::mpsc::Sender<(u8, Vec<u8>)>>) {
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    let (mut out_ok, mut err_ok) = (true, true);
    let mut out_dirty = false;
    let flush_out = |out: &mut dyn Write, out_ok: &mut bool, dirty: &mut bool| {
        if *dirty && *out_ok && out.flush().is_err() {
            tracing::debug!("stdout closed; discarding further output");
            *out_ok = false;
        }
        *dirty = false;
    };
    loop {
        let n = read_some(&mut stream, &mut buf);
        if n == 0 {
            break;
        }
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let (used, event) = decoder.push_slice(rest);
            rest = &rest[used..];
            match event {
                Event::Pending => {}
                Event::Malformed => {
                    log.lock().unwrap().server_line(b"sion: job console: malformed frame (length over MAX_PAYLOAD)");
                }
                Event::Frame { tag, payload } => match tag {
                    up::STDOUT => {
                        if out_ok && out.write_all(payload).is_err() {
                            // The reader went away (e.g. `| head`): drop the rest.
                            tracing::debug!("stdout closed; discarding further output");
                            out_ok = false;
                        }
                        out_dirty = true;
                    }
                    up::STDERR => {
                        flush_out(&mut out, &mut out_ok, &mut out_dirty);
                        if err_ok && err.write_all(payload).and_then(|_| err.flush()).is_err() {
                            err_ok = false;
                        }
                    }
                    up::LOG => log.lock().unwrap().server_line(payload),
                    up::TRACE => log.lock().unwrap().trace_line(payload),
                    up::FAILED => {
                        let mut l = log.lock().unwrap();
                        l.server_line(payload);
                        let why = String::from_utf8_lossy(payload).trim().replace('\n', " ");
                        l.node_failure = Some(why);
                    }
                    up::OOM_KILLED => {
                        let limit = payload.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap())).unwrap_or(0);
                        log.lock().unwrap().oom_limit = Some(limit);
                    }
                    up::READY => {
                        let window = <[u8; 4]>::try_from(payload).ok().map(|w| u32::from_le_bytes(w) as u64);
                        let _ = ready.send(Flow::Ready(window));
                    }
                    up::STDIN_TAKEN => {
                        if let Ok(t) = <[u8; 8]>::try_from(payload) {
                            let _ = ready.send(Flow::Taken(u64::from_le_bytes(t)));
                        }
                    }
                    up::EXIT => {
                        flush_out(&mut out, &mut out_ok, &mut out_dirty);
                        match Exit::decode(payload) {
                            Some(e) => {
                                tracing::debug!(?e, "job exit");
                                *exit.lock().unwrap() = Some(e);
                            }
                            None => log.lock().unwrap().server_line(b"sion: job console: bad EXIT frame"),
                        }
                    }
                    up::FS_LIST | up::FS_READ => match &fs {
                        // The workstation's files are served apart, so a big
                        // file does not hold the program's output back.
                        Some(tx) => {
                            let _ = tx.send((tag, payload.to_vec()));
                        }
                        None => log.lock().unwrap().server_line(b"sion: job console: a file request, but nothing is shared"),
                    },
                    up::OUT_DIR..=up::OUT_MISSING | up::WB_DIR | up::WB_FILE => {
                        if !outs.lock().unwrap().frame(tag, payload) {
                            log.lock().unwrap().server_line(b"sion: job console: malformed --out frame");
                        }
                    }
                    t => {
                        let msg = format!("sion: job console: unknown frame tag {t} ({} bytes)", payload.len());
                        log.lock().unwrap().server_line(msg.as_bytes());
                    }
                },
            }
        }
        flush_out(&mut out, &mut out_ok, &mut out_dirty);
    }
}

/// The job console's write side, shared by the stdin pump and the signal
/// forwarder: each frame goes out whole under the lock.
pub struct FrameWriter<W: Write>(pub Arc<Mutex<W>>);

impl<W: Write> Clone for FrameWriter<W> {
    fn clone(&self) -> Self {
        FrameWriter(Arc::clone(&self.0))
    }
}

impl<W: Write> FrameWriter<W> {
    /// Send one frame; an error means the node is gone.
    pub fn send(&self, tag: u8, payload: &[u8]) -> io::Result<()> {
        let frame = [&console::frame_header(tag, payload.len())[..], payload].concat();
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(&frame).and_then(|_| w.flush())
    }
}

impl<W: Write> FrameWriter<W> {
    /// Bytes already framed, in one write.
    pub fn write_raw(&self, frames: &[u8]) -> io::Result<()> {
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(frames).and_then(|_| w.flush())
    }

    /// Send `bytes` as frames of `tag` (at most MAX_PAYLOAD each) in one write.
    pub fn send_all(&self, tag: u8, bytes: &[u8]) -> io::Result<()> {
        let mut frames = Vec::with_capacity(bytes.len() + bytes.len() / console::MAX_PAYLOAD * 3 + 3);
        for chunk in bytes.chunks(console::MAX_PAYLOAD) {
            frames.extend_from_slice(&console::frame_header(tag, chunk.len()));
            frames.extend_from_slice(chunk);
        }
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(&frames).and_then(|_| w.flush())
    }
}

/// Once the node says READY, sends `input` to it as STDIN frames, then
/// STDIN_EOF. When the node gave a window, at most that many bytes go beyond
/// what it reported taken (`Flow::Taken`). A read error (stdin closed) counts
/// as the end; a write error (node gone) stops quietly.
pub fn pump_stdin<W: Write>(mut input: impl Read, to_node: FrameWriter<W>, flow: std::sync::mpsc::Receiver<Flow>) {
    let window = loop {
        match flow.recv() {
            Ok(Flow::Ready(w)) => break w,
            Ok(Flow::Taken(_)) => {}
            Err(_) => return, // the node went away before its console was up
        }
    };
    let mut buf = vec![0u8; 64 * 1024];
    let (mut sent, mut taken) = (0u64, 0u64);
    loop {
        let want = match window {
            Some(w) => {
                while let Ok(f) = flow.try_recv() {
                    if let Flow::Taken(t) = f {
                        taken = taken.max(t);
                    }
                }
                // Wait for room: at least a frame's worth, or all of it.
                while sent - taken.min(sent) + console::MAX_PAYLOAD as u64 > w {
                    match flow.recv() {
                        Ok(Flow::Taken(t)) => taken = taken.max(t),
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
                ((w - (sent - taken.min(sent))) as usize).min(buf.len())
            }
            None => buf.len(),
        };
        let n = read_some(&mut input, &mut buf[..want]);
        if n == 0 {
            break;
        }
        if to_node.send_all(down::STDIN, &buf[..n]).is_err() {
            return;
        }
        sent += n as u64;
    }
    let _ = to_node.send(down::STDIN_EOF, &[]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Shared {
        fn bytes(&self) -> Vec<u8> {
            self.0.lock().unwrap().clone()
        }
    }

    /// A READY signal that has already arrived.
    fn ready() -> std::sync::mpsc::Receiver<Flow> {
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(Flow::Ready(None)).unwrap();
        rx
    }

    fn frame(tag: u8, payload: &[u8]) -> Vec<u8> {
        [&console::frame_header(tag, payload.len())[..], payload].concat()
    }

    /// A reader that hands out at most `step` bytes per read.
    struct Dribble(Vec<u8>, usize, usize);
    impl Read for Dribble {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.2.min(buf.len()).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn job_frames_reach_the_right_places() {
        let all: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let mut stream = Vec::new();
        stream.extend(frame(up::STDOUT, b"hello "));
        stream.extend(frame(up::STDERR, b"warn\n"));
        stream.extend(frame(up::LOG, b"unimplemented: foo"));
        stream.extend(frame(up::TRACE, b"x86_64 1 write = 6"));
        stream.extend(frame(up::STDOUT, &all[..4096]));
        stream.extend(frame(up::STDOUT, &all[4096..]));
        stream.extend(frame(up::STDOUT, b""));
        stream.extend(frame(99, b"?"));
        stream.extend(frame(up::EXIT, &Exit::Signal(9).encode()));
        for step in [1, 7, 4096] {
            let (out, err, logf) = (Shared::default(), Shared::default(), Shared::default());
            let tracef = Shared::default();
            let mut sink = LogSink::new(Some(Box::new(logf.clone())), false);
            sink.trace = Some(Box::new(tracef.clone()));
            let log = sink.shared();
            let exit = Arc::new(Mutex::new(None));
            pump_job(Dribble(stream.clone(), 0, step), out.clone(), err.clone(), log, exit.clone(), std::sync::mpsc::channel().0, Default::default(), None);
            let mut want = b"hello ".to_vec();
            want.extend_from_slice(&all);
            assert_eq!(out.bytes(), want);
            assert_eq!(err.bytes(), b"warn\n");
            let logged = String::from_utf8(logf.bytes()).unwrap();
            assert!(logged.starts_with("unimplemented: foo\n"), "{logged}");
            assert!(logged.contains("unknown frame tag 99"), "{logged}");
            assert_eq!(tracef.bytes(), b"x86_64 1 write = 6\n");
            assert_eq!(*exit.lock().unwrap(), Some(Exit::Signal(9)));
        }
    }

    #[test]
    fn stdin_becomes_frames_then_eof() {
        let input: Vec<u8> = (0..10000u32).map(|i| i as u8).collect();
        let sent = Shared::default();
        pump_stdin(Dribble(input.clone(), 0, 100000), FrameWriter(Arc::new(Mutex::new(sent.clone()))), ready());
        let bytes = sent.bytes();
        let mut d = Decoder::new();
        let mut got = Vec::new();
        let mut tags = Vec::new();
        for b in bytes {
            if let Event::Frame { tag, payload } = d.push(b) {
                tags.push(tag);
                if tag == down::STDIN {
                    assert!(payload.len() <= console::MAX_PAYLOAD);
                    got.extend_from_slice(payload);
                }
            }
        }
        assert_eq!(got, input);
        assert_eq!(tags.last(), Some(&down::STDIN_EOF));
        assert_eq!(tags.iter().filter(|&&t| t == down::STDIN_EOF).count(), 1);

        let sent = Shared::default();
        pump_stdin(io::empty(), FrameWriter(Arc::new(Mutex::new(sent.clone()))), ready());
        assert_eq!(sent.bytes(), console::frame_header(down::STDIN_EOF, 0));
    }

    #[test]
    fn kernel_log_summary() {
        let logf = Shared::default();
        let log = LogSink::new(Some(Box::new(logf.clone())), false).shared();
        pump_log(&b"boot\r\nKERNEL PANIC at x.rs:1: oops\nlater line\npartial"[..], log.clone());
        let l = log.lock().unwrap();
        assert_eq!(l.failure_reason().as_deref(), Some("KERNEL PANIC at x.rs:1: oops"));
        assert_eq!(l.last_kernel_line.as_deref(), Some("partial"));
        assert_eq!(logf.bytes(), b"boot\nKERNEL PANIC at x.rs:1: oops\nlater line\npartial\n");
        let rust = LogSink::new(None, false).shared();
        pump_log(&b"kernel panic: panicked at kernel/src/main.rs:96:9:\n\nno servers\nmore\n"[..], rust.clone());
        assert_eq!(
            rust.lock().unwrap().failure_reason().as_deref(),
            Some("kernel panic: panicked at kernel/src/main.rs:96:9: no servers")
        );
        let quiet = LogSink::new(None, false).shared();
        pump_log(&b"one\ntwo\n\n"[..], quiet.clone());
        assert_eq!(quiet.lock().unwrap().failure_reason().as_deref(), Some("two"));
    }

    #[test]
    fn a_failed_node_and_an_oom_kill_are_remembered() {
        let mut stream = Vec::new();
        stream.extend(frame(up::STDOUT, b"partial"));
        stream.extend(frame(up::FAILED, b"the personality server failed: memory allocation of 65536 bytes failed"));
        let log = LogSink::new(None, false).shared();
        log.lock().unwrap().kernel_line(b"SiON kernel: booted by PVH");
        let (out, err) = (Shared::default(), Shared::default());
        let exit = Arc::new(Mutex::new(None));
        let (tx, _rx) = std::sync::mpsc::channel();
        pump_job(&stream[..], out.clone(), err.clone(), log.clone(), exit.clone(), tx, Default::default(), None);
        assert_eq!(*exit.lock().unwrap(), None, "no EXIT: a node failure");
        assert_eq!(log.lock().unwrap().failure_reason().as_deref(), Some("the personality server failed: memory allocation of 65536 bytes failed"));
        assert_eq!(out.bytes(), b"partial");

        let mut stream = frame(up::OOM_KILLED, &(224u64 << 20).to_le_bytes());
        stream.extend(frame(up::EXIT, &Exit::Signal(9).encode()));
        let log = LogSink::new(None, false).shared();
        let (tx, _rx) = std::sync::mpsc::channel();
        pump_job(&stream[..], Shared::default(), err.clone(), log.clone(), exit.clone(), tx, Default::default(), None);
        assert_eq!(*exit.lock().unwrap(), Some(Exit::Signal(9)));
        assert_eq!(log.lock().unwrap().oom_limit, Some(224 << 20));
        assert!(err.bytes().is_empty(), "the job's stderr stays the job's");
    }
}
