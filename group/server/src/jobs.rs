//! Offloaded jobs on a SiON node: the job stream (`sion_group::job`) over the
//! netstack's TCP, and one personality server per job, started from the
//! node's archive (`images/personality`) with the job's program, arguments
//! and files as its archive and this server as its console
//! (`sion_abi::console::ipc`).
//!
//! Everything is non-blocking: the server's one loop pumps every connection
//! and answers the personalities' console calls. A personality writing faster
//! than the connection drains waits for the answer to its call (flow
//! control); stdin is held here until the personality fetches it.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use sion_abi::boot::names;
use sion_abi::bootfs::{regular, Reader, Writer};
use sion_abi::console::{down, frame_header, ipc, up, Exit, MAX_PAYLOAD};
use sion_abi::msg::Fault;
use sion_abi::{SpaceId, TaskId};
use sion_group::job::{self, Dir, Start};
use sion_group::Key;
use sion_rt as rt;
use sion_rt::net::{NetError, Netstack, Socket};

const EAGAIN: i64 = 11;
/// Output held for a connection before the personality is made to wait.
const OUT_HIGH: usize = 256 * 1024;
/// Stdin held for a personality before we stop reading its connection.
const IN_HIGH: usize = 256 * 1024;
/// Memory a job's upload may take, as a share of the node's free memory (1/N).
const UPLOAD_SHARE: u64 = 3;
/// A connection that has not sent its job after this long is dropped.
const SETUP_TIMEOUT_MS: u64 = 30_000;

enum Phase {
    /// Waiting for the client's hello.
    Hello,
    /// Waiting for START.
    Start,
    /// Receiving the program and files.
    Data,
    Running,
    /// The last frames are going out; then the connection closes.
    Closing,
}

struct Job {
    id: u32,
    sock: Socket,
    peer: String,
    phase: Phase,
    nonce: [u8; 16],
    tx: Option<Dir>,
    rx: Option<Dir>,
    /// Bytes from the connection not yet framed.
    inbuf: Vec<u8>,
    /// Sealed frames not yet taken by the netstack.
    outbuf: VecDeque<u8>,
    start: Option<Start>,
    data: Vec<u8>,
    personality: Option<(TaskId, SpaceId)>,
    /// Console input for the personality: encoded `down` frames.
    input: Vec<u8>,
    /// A personality whose console call waits for room in `outbuf`.
    held: Option<TaskId>,
    /// The connection ended (closed, reset, or failed authentication).
    gone: bool,
    just_started: bool,
    since_ms: u64,
}

pub struct Jobs {
    listener: Socket,
    key: Key,
    next_id: u32,
    jobs: Vec<Job>,
    /// The personality image (from our archive): no image, no jobs.
    image: Option<&'static [u8]>,
}

fn ip_str(ip: u32) -> String {
    let b = ip.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

fn would_block(e: &NetError) -> bool {
    e.0 == EAGAIN
}

impl Jobs {
    pub fn new(net: Netstack, port: u16, key: Key, archive: &'static [u8]) -> Jobs {
        let listener = net.tcp().expect("a TCP socket for jobs");
        listener.bind(0, port).expect("bind the job port");
        listener.listen(8).expect("listen for jobs");
        let image = Reader::find(archive, names::PERSONALITY_IMAGE).map(|e| e.data);
        if image.is_none() {
            rt::log!("group: no {} in the node's archive: this node takes no jobs", names::PERSONALITY_IMAGE);
        }
        Jobs { listener, key, next_id: 1, jobs: Vec::new(), image }
    }

    /// Whether this node can run jobs at all.
    pub fn can_run(&self) -> bool {
        self.image.is_some()
    }

    /// How many jobs started since the last call (their reservations in the
    /// protocol core end: they count in the status's `jobs` now).
    pub fn take_started(&mut self) -> u32 {
        let n = self.jobs.iter().filter(|j| j.just_started).count() as u32;
        for j in &mut self.jobs {
            j.just_started = false;
        }
        n
    }

    /// Jobs running (or being set up).
    pub fn running(&self) -> u32 {
        self.jobs.iter().filter(|j| !matches!(j.phase, Phase::Closing)).count() as u32
    }

    /// Accept connections, move bytes both ways, start and end jobs.
    pub fn pump(&mut self, now_ms: u64, nonce: &mut dyn FnMut() -> [u8; 16]) {
        loop {
            match self.listener.try_accept() {
                Ok((sock, addr, port)) => {
                    let n = nonce();
                    let mut j = Job {
                        id: self.next_id,
                        sock,
                        peer: format!("{}:{}", ip_str(addr), port),
                        phase: Phase::Hello,
                        nonce: n,
                        tx: None,
                        rx: None,
                        inbuf: Vec::new(),
                        outbuf: VecDeque::new(),
                        start: None,
                        data: Vec::new(),
                        personality: None,
                        input: Vec::new(),
                        held: None,
                        gone: false,
                        just_started: false,
                        since_ms: now_ms,
                    };
                    self.next_id += 1;
                    j.outbuf.extend(job::hello(&n));
                    self.jobs.push(j);
                }
                Err(e) if would_block(&e) => break,
                Err(e) => {
                    rt::log!("group: accepting a job connection: errno {}", e.0);
                    break;
                }
            }
        }
        let image = self.image;
        let key = self.key.clone();
        for j in &mut self.jobs {
            j.read();
            j.advance(&key, image, now_ms);
            j.write();
        }
        self.jobs.retain_mut(|j| {
            let done = match j.phase {
                Phase::Closing => j.outbuf.is_empty() || j.gone,
                _ => j.gone,
            };
            if done {
                if let Some((_, space)) = j.personality.take() {
                    let _ = rt::space_destroy(space);
                    rt::log!("group: job {} from {}: connection lost, job killed", j.id, j.peer);
                }
                let _ = j.sock.shutdown(2);
            }
            !done
        });
    }

    /// A console call from a personality we started; false if it is not ours.
    pub fn console_call(&mut self, from: TaskId, msg: &[u8]) -> bool {
        let Some(j) = self.jobs.iter_mut().find(|j| j.personality.is_some_and(|(t, _)| t == from)) else { return false };
        let (tag, payload) = match msg.split_first() {
            Some((t, p)) => (*t, p),
            None => (ipc::FETCH, &[][..]),
        };
        match tag {
            ipc::FETCH => {
                // Whole frames only, up to what the personality can take.
                let mut n = 0;
                while n + 3 <= j.input.len() {
                    let len = u16::from_le_bytes([j.input[n + 1], j.input[n + 2]]) as usize;
                    if n + 3 + len > ipc::MAX_REPLY {
                        break;
                    }
                    n += 3 + len;
                }
                let _ = rt::ipc_reply(from, &j.input[..n]);
                j.input.drain(..n);
                if !j.input.is_empty() {
                    let _ = rt::notify(from, ipc::NOTIFY_CONSOLE);
                }
                return true;
            }
            up::STDOUT => j.send(job::STDOUT, payload),
            up::STDERR => j.send(job::STDERR, payload),
            up::OUT_DIR => j.send(job::OUT_DIR, payload),
            up::OUT_FILE => j.send(job::OUT_FILE, payload),
            up::OUT_DATA => j.send(job::OUT_DATA, payload),
            up::OUT_SYMLINK => j.send(job::OUT_SYMLINK, payload),
            up::OUT_MISSING => j.send(job::OUT_MISSING, payload),
            up::LOG => rt::log!("group: job {}: {}", j.id, core::str::from_utf8(payload).unwrap_or("(not UTF-8)")),
            up::FAILED => {
                // The personality server failed (not the program): the job
                // fails with its reason, as for a fault of the server.
                if let Some((_, space)) = j.personality.take() {
                    let _ = rt::space_destroy(space);
                }
                j.error(&String::from_utf8_lossy(payload));
            }
            up::EXIT => {
                let (signal, code) = match Exit::decode(payload) {
                    Some(Exit::Code(c)) => (false, c as u32),
                    Some(Exit::Signal(s)) => (true, s as u32),
                    None => (false, 125),
                };
                rt::log!("group: job {} from {} ended: {} {}", j.id, j.peer, if signal { "signal" } else { "exit" }, code);
                j.finish(signal, code);
            }
            _ => {}
        }
        if j.outbuf.len() >= OUT_HIGH && j.personality.is_some() {
            j.held = Some(from);
        } else {
            let _ = rt::ipc_reply(from, &[]);
        }
        true
    }

    /// A personality we started faulted: its job fails, the node goes on.
    pub fn fault(&mut self, from: TaskId, f: Option<Fault>) -> bool {
        let Some(j) = self.jobs.iter_mut().find(|j| j.personality.is_some_and(|(t, _)| t == from)) else { return false };
        let what = match f {
            Some(f) => format!("vector {} at {:#x} (rip {:#x})", f.vector, f.addr, f.rip),
            None => String::from("unknown"),
        };
        rt::log!("group: job {}: the personality server faulted: {}", j.id, what);
        if let Some((_, space)) = j.personality.take() {
            let _ = rt::space_destroy(space);
        }
        j.error(&format!("the node's personality server failed ({what})"));
        true
    }
}

impl Job {
    fn send(&mut self, kind: u8, payload: &[u8]) {
        if let Some(tx) = &mut self.tx {
            self.outbuf.extend(tx.seal(kind, payload));
        }
    }

    /// Refuse or fail the job with a reason the client shows.
    fn error(&mut self, why: &str) {
        rt::log!("group: job {} from {}: {}", self.id, self.peer, why);
        self.send(job::ERROR, why.as_bytes());
        self.phase = Phase::Closing;
    }

    fn finish(&mut self, signal: bool, code: u32) {
        self.send(job::EXIT, &job::exit_payload(signal, code));
        if let Some((_, space)) = self.personality.take() {
            // The personality exits after its EXIT; this frees whatever is left.
            let _ = rt::space_destroy(space);
        }
        self.held = None;
        self.phase = Phase::Closing;
    }

    fn read(&mut self) {
        if self.gone || self.input.len() >= IN_HIGH {
            return;
        }
        loop {
            match self.sock.try_recv(sion_abi::net::MAX_DATA) {
                Ok((d, _, _)) if d.is_empty() => {
                    // The client went away: its job goes too (the client
                    // keeps the connection open until EXIT).
                    if !matches!(self.phase, Phase::Closing) {
                        self.gone = true;
                    }
                    return;
                }
                Ok((d, _, _)) => {
                    self.inbuf.extend_from_slice(&d);
                    if self.inbuf.len() > job::MAX_FRAME * 2 {
                        return;
                    }
                }
                Err(e) if would_block(&e) => return,
                Err(_) => {
                    self.gone = true;
                    return;
                }
            }
        }
    }

    fn write(&mut self) {
        while !self.outbuf.is_empty() && !self.gone {
            let (a, _) = self.outbuf.as_slices();
            let n = a.len().min(sion_abi::net::MAX_DATA);
            match self.sock.try_send(&a[..n], None) {
                Ok(0) => break,
                Ok(sent) => {
                    self.outbuf.drain(..sent);
                }
                Err(e) if would_block(&e) => break,
                Err(_) => {
                    self.gone = true;
                }
            }
        }
        if self.outbuf.len() < OUT_HIGH / 2 {
            if let Some(t) = self.held.take() {
                let _ = rt::ipc_reply(t, &[]);
            }
        }
    }

    fn advance(&mut self, key: &Key, image: Option<&[u8]>, now_ms: u64) {
        if matches!(self.phase, Phase::Hello | Phase::Start | Phase::Data) && now_ms.saturating_sub(self.since_ms) > SETUP_TIMEOUT_MS {
            rt::log!("group: job connection from {}: no job after {} s, dropped", self.peer, SETUP_TIMEOUT_MS / 1000);
            self.gone = true;
            return;
        }
        if let Phase::Hello = self.phase {
            if self.inbuf.len() < job::HELLO_LEN {
                return;
            }
            match job::keys(key, &self.nonce, &self.inbuf[..job::HELLO_LEN], true) {
                Ok((tx, rx)) => {
                    self.tx = Some(tx);
                    self.rx = Some(rx);
                    self.inbuf.drain(..job::HELLO_LEN);
                    self.phase = Phase::Start;
                }
                Err(e) => {
                    rt::log!("group: refused a job connection from {}: {}", self.peer, e);
                    self.gone = true;
                    return;
                }
            }
        }
        loop {
            if matches!(self.phase, Phase::Closing) || self.gone {
                return;
            }
            let Some(rx) = &mut self.rx else { return };
            let frame = match rx.take(&mut self.inbuf) {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(e) => {
                    // Nothing can be said to a peer that cannot authenticate.
                    rt::log!("group: refused a job from {}: {}", self.peer, e);
                    self.gone = true;
                    return;
                }
            };
            self.frame(frame, image);
        }
    }

    fn frame(&mut self, (kind, payload): (u8, Vec<u8>), image: Option<&[u8]>) {
        match (&self.phase, kind) {
            (Phase::Start, job::START) => {
                let start = match Start::decode(&payload) {
                    Ok(s) => s,
                    Err(e) => return self.error(&format!("refused: {e}")),
                };
                let argv0 = String::from_utf8_lossy(start.argv.first().map(|v| v.as_slice()).unwrap_or(b"?")).into_owned();
                rt::log!("group: job {} from {}: {} ({} bytes, {} args, {} files)", self.id, self.peer, argv0, start.program_len, start.argv.len(), start.files.len());
                if image.is_none() {
                    return self.error("this node has no personality server image: it takes no jobs");
                }
                let free = rt::sys_info().map(|i| i.free_frames * 4096).unwrap_or(0);
                if start.total() > free / UPLOAD_SHARE {
                    return self.error(&format!("refused: the job's {} MiB do not fit in this node's {} MiB of free memory", start.total() >> 20, free >> 20));
                }
                self.data = Vec::with_capacity(start.total() as usize);
                self.start = Some(start);
                self.phase = Phase::Data;
                self.maybe_spawn(image);
            }
            (Phase::Data, job::DATA) => {
                let total = self.start.as_ref().map(|s| s.total()).unwrap_or(0);
                if self.data.len() as u64 + payload.len() as u64 > total {
                    return self.error("refused: more data than the job announced");
                }
                self.data.extend_from_slice(&payload);
                self.maybe_spawn(image);
            }
            (Phase::Running, job::STDIN) => {
                for chunk in payload.chunks(MAX_PAYLOAD) {
                    self.input.extend_from_slice(&frame_header(down::STDIN, chunk.len()));
                    self.input.extend_from_slice(chunk);
                }
                self.poke();
            }
            (Phase::Running, job::STDIN_EOF) => {
                self.input.extend_from_slice(&frame_header(down::STDIN_EOF, 0));
                self.poke();
            }
            (Phase::Running | Phase::Data, job::CANCEL) => {
                rt::log!("group: job {} from {}: cancelled by the client", self.id, self.peer);
                // No signal delivery yet: ^C ends the job as SIGINT's default action would.
                self.finish(true, 2);
            }
            (_, k) => self.error(&format!("refused: unexpected frame {k}")),
        }
    }

    fn poke(&self) {
        if let Some((t, _)) = self.personality {
            let _ = rt::notify(t, ipc::NOTIFY_CONSOLE);
        }
    }

    /// Once the whole job is here: its archive, its personality.
    fn maybe_spawn(&mut self, image: Option<&[u8]>) {
        let Some(start) = &self.start else { return };
        if (self.data.len() as u64) < start.total() {
            return;
        }
        let archive = job_archive(start, &self.data);
        self.data = Vec::new();
        let cmdline = format!("{}={:x}", ipc::CMDLINE_KEY, rt::self_task().0);
        let spec = rt::spawn::Start { archive: &archive, cmdline: &cmdline, mem_limit: 0 };
        match rt::spawn::start_server(image.unwrap_or(&[]), &spec) {
            Ok((task, space)) => {
                self.personality = Some((task, space));
                self.phase = Phase::Running;
                self.just_started = true;
                self.send(job::RUNNING, &task.0.to_le_bytes());
                if !self.input.is_empty() {
                    self.poke();
                }
            }
            Err(e) => self.error(&format!("cannot start a personality server for the job: {e:?}")),
        }
    }
}

/// The archive a job's personality reads (`sion_abi::boot::names`), as
/// `sion exec` composes it for a boot job.
fn job_archive(start: &Start, data: &[u8]) -> Vec<u8> {
    let mut w = Writer::to(Vec::new());
    let (program, mut rest) = data.split_at(start.program_len as usize);
    w.add(names::JOB_PROGRAM, regular(0o755), program);
    let nul_list = |items: &[Vec<u8>]| -> Vec<u8> {
        let mut v = Vec::new();
        for i in items {
            v.extend_from_slice(i);
            v.push(0);
        }
        v
    };
    w.add(names::JOB_ARGV, regular(0o644), &nul_list(&start.argv));
    w.add(names::JOB_ENV, regular(0o644), &nul_list(&start.env));
    let mut config = String::new();
    let text = |b: &[u8]| String::from_utf8_lossy(b).replace('\n', "");
    if !start.exe.is_empty() {
        config += &format!("exe={}\n", text(&start.exe));
    }
    if !start.cwd.is_empty() {
        config += &format!("cwd={}\n", text(&start.cwd));
    }
    config += "stdin=stream\n";
    for o in &start.outs {
        config += &format!("out={}\n", text(o));
    }
    w.add(names::JOB_CONFIG, regular(0o644), config.as_bytes());
    for (path, perm, len) in &start.files {
        let (bytes, tail) = rest.split_at(*len as usize);
        rest = tail;
        let p = text(path);
        let p = p.trim_start_matches('/');
        if p.is_empty() || p.split('/').any(|c| c == "..") {
            rt::log!("group: job file {:?} skipped (not a plain absolute path)", p);
            continue;
        }
        // A symbolic link (`sion run --file` keeps them) is S_IFLNK with its
        // target as data, as cpio and `sion exec` store links.
        let mode = if *perm & 0o170000 == 0o120000 { 0o120777 } else { regular(*perm & 0o7777) };
        w.add(&format!("{}{}", names::JOB_FILES, p), mode, bytes);
    }
    w.finish()
}
