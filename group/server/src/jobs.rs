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
//!
//! The workstation's files on demand pass through here both ways (the
//! console's `FS_LIST`/`FS_READ` up, the client's answers down), and so do
//! the job's items: what this node already holds in its cache
//! (`sion_group::cache`, shared by all its jobs) is answered from there.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use sion_abi::boot::names;
use sion_abi::bootfs::{regular, Reader, Writer};
use sion_abi::console::{down, frame_header, fs, ipc, up, Exit, MAX_PAYLOAD};
use sion_abi::msg::Fault;
use sion_abi::{SpaceId, TaskId};
use sion_group::cache::{self, Bytes, Cache, Digest};
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
/// The file cache's share of the node's memory at start (1/N). The group
/// server's heap keeps what it once held, so this is memory jobs lose.
const CACHE_SHARE: u64 = 4;

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
    /// The job's items (the program, then each file) as they arrive or
    /// come from the cache; the ones still to come, in order.
    items: Vec<Option<Bytes>>,
    to_come: VecDeque<usize>,
    /// The item being received.
    receiving: Vec<u8>,
    personality: Option<(TaskId, SpaceId)>,
    /// The client's address (the cache keeps each workstation's files apart).
    peer_ip: u32,
    /// Digest of the job's shares (listings are cached per view).
    view: Digest,
    /// File requests forwarded to the client, by id.
    asked: BTreeMap<u32, Asked>,
    /// Answers from the cache still to go to the personality: (request id, bytes, sent so far).
    serving: VecDeque<(u32, Bytes, usize)>,
    /// Console input for the personality: encoded `down` frames.
    input: Vec<u8>,
    /// A personality whose console call waits for room in `outbuf`.
    held: Option<TaskId>,
    /// The connection ended (closed, reset, or failed authentication).
    gone: bool,
    just_started: bool,
    since_ms: u64,
}

/// A file request of the personality forwarded to the client.
struct Asked {
    list: bool,
    path: Vec<u8>,
    size: u64,
    mtime_ns: u64,
    /// The answer so far, for the cache.
    bytes: Vec<u8>,
    /// The listing the node holds (offered to the client as its digest).
    have: Option<(Digest, Bytes)>,
}

pub struct Jobs {
    listener: Socket,
    cache: Cache,
    key: Key,
    next_id: u32,
    jobs: Vec<Job>,
    /// The personality image (from our archive): no image, no jobs.
    image: Option<&'static [u8]>,
    /// The last accept error logged: the same one again is not (a dead
    /// netstack answered every loop with it, filling the log).
    accept_error: Option<i64>,
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
        let free = rt::sys_info().map(|i| i.free_frames * 4096).unwrap_or(0);
        let cache = Cache::new(free / CACHE_SHARE);
        rt::log!("group: file cache of up to {} MiB", cache.budget() >> 20);
        Jobs { listener, cache, key, next_id: 1, jobs: Vec::new(), image, accept_error: None }
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
                    self.accept_error = None;
                    let peer_ip = addr;
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
                        items: Vec::new(),
                        to_come: VecDeque::new(),
                        receiving: Vec::new(),
                        personality: None,
                        peer_ip,
                        view: [0; 32],
                        asked: BTreeMap::new(),
                        serving: VecDeque::new(),
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
                    if self.accept_error != Some(e.0) {
                        self.accept_error = Some(e.0);
                        rt::log!("group: accepting a job connection: errno {} (0: the netstack does not answer)", e.0);
                    }
                    break;
                }
            }
        }
        let image = self.image;
        let key = self.key.clone();
        for j in &mut self.jobs {
            j.read();
            j.advance(&key, image, now_ms, &mut self.cache);
            j.feed();
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
        let Jobs { jobs, cache, .. } = self;
        let Some(j) = jobs.iter_mut().find(|j| j.personality.is_some_and(|(t, _)| t == from)) else { return false };
        let (tag, payload) = match msg.split_first() {
            Some((t, p)) => (*t, p),
            None => (ipc::FETCH, &[][..]),
        };
        match tag {
            ipc::FETCH => {
                j.feed();
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
            up::WB_DIR => j.send(job::WB_DIR, payload),
            up::WB_FILE => j.send(job::WB_FILE, payload),
            up::FS_LIST | up::FS_READ => j.file_request(tag == up::FS_LIST, payload, cache),
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

    fn advance(&mut self, key: &Key, image: Option<&[u8]>, now_ms: u64, cache: &mut Cache) {
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
            self.frame(frame, image, cache);
        }
    }

    fn frame(&mut self, (kind, payload): (u8, Vec<u8>), image: Option<&[u8]>, cache: &mut Cache) {
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
                // The items the cache holds need not come (the client waits
                // for NEED when it sent digests); the others come in order.
                let lens: Vec<u64> = start.item_lens().collect();
                self.items = Vec::with_capacity(lens.len());
                for (i, _) in lens.iter().enumerate() {
                    let cached = start.digests.get(i).and_then(|d| cache.by_digest(self.peer_ip, d));
                    if cached.is_none() {
                        self.to_come.push_back(i);
                    }
                    self.items.push(cached);
                }
                if !start.digests.is_empty() {
                    let need: Vec<u8> = self.items.iter().map(|i| i.is_none() as u8).collect();
                    let cached: u64 = self.items.iter().flatten().map(|b| b.len() as u64).sum();
                    rt::log!("group: job {}: {} of {} items ({} KiB) from the cache", self.id, lens.len() - self.to_come.len(), lens.len(), cached >> 10);
                    self.send(job::NEED, &need);
                }
                self.view = cache::view_of(&start.shares);
                self.start = Some(start);
                self.phase = Phase::Data;
                self.next_item(cache);
                self.maybe_spawn(image);
            }
            (Phase::Data, job::DATA) => {
                let Some(&i) = self.to_come.front() else { return self.error("refused: more data than the job announced") };
                let len = self.start.as_ref().and_then(|s| s.item_lens().nth(i)).unwrap_or(0) as usize;
                if self.receiving.len() + payload.len() > len {
                    return self.error("refused: more data than the job announced");
                }
                if self.receiving.capacity() < len {
                    self.receiving.reserve_exact(len - self.receiving.len());
                }
                self.receiving.extend_from_slice(&payload);
                self.next_item(cache);
                self.maybe_spawn(image);
            }
            (Phase::Running, job::FS_DATA) if payload.len() >= 4 => {
                let id = u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]);
                if let Some(a) = self.asked.get_mut(&id) {
                    // Kept for the cache unless it could never fit.
                    if (a.bytes.len() + payload.len() - 4) as u64 <= cache.budget() {
                        if a.bytes.is_empty() && !a.list {
                            a.bytes.reserve_exact(a.size as usize);
                        }
                        a.bytes.extend_from_slice(&payload[4..]);
                    }
                    fs_data(&mut self.input, &payload[..4], &payload[4..]);
                    self.poke();
                }
            }
            (Phase::Running, job::FS_END) if payload.len() >= 8 => {
                let id = u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]);
                let status = i32::from_le_bytes([payload[4], payload[5], payload[6], payload[7]]);
                let Some(a) = self.asked.remove(&id) else { return };
                if status == job::UNCHANGED {
                    if let Some((_, bytes)) = a.have {
                        cache.listing_used(&bytes);
                        self.serving.push_back((id, bytes, 0));
                        self.feed();
                        return;
                    }
                }
                if status == 0 && payload.len() >= 8 + 32 {
                    let mut digest = [0u8; 32];
                    digest.copy_from_slice(&payload[8..40]);
                    let bytes = Rc::new(a.bytes);
                    if a.list {
                        cache.put_listing(self.peer_ip, &self.view, &a.path, digest, bytes);
                    } else {
                        cache.put_file(self.peer_ip, &a.path, a.size, a.mtime_ns, digest, bytes);
                    }
                }
                // "Unchanged" with no copy here cannot be answered: EIO.
                fs_end(&mut self.input, id, if status == job::UNCHANGED { 5 } else { status });
                self.poke();
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

    /// The item being received is complete (or has nothing to receive):
    /// it joins the job and the cache, and the next is awaited.
    fn next_item(&mut self, cache: &mut Cache) {
        let Some(start) = &self.start else { return };
        while let Some(&i) = self.to_come.front() {
            let len = start.item_lens().nth(i).unwrap_or(0) as usize;
            if self.receiving.len() < len {
                return;
            }
            let bytes = Rc::new(core::mem::take(&mut self.receiving));
            if let Some(d) = start.digests.get(i) {
                cache.put(self.peer_ip, *d, bytes.clone());
            }
            self.items[i] = Some(bytes);
            self.to_come.pop_front();
        }
    }

    /// A file request of the personality: from the cache when it holds the
    /// file as the listing describes it, else from the client (a listing
    /// with the digest of the copy held here, which the client may confirm).
    fn file_request(&mut self, list: bool, payload: &[u8], cache: &mut Cache) {
        let Some(req) = fs::Request::decode(payload) else { return };
        if !list {
            if let Some(bytes) = cache.file(self.peer_ip, req.path, req.size, req.mtime_ns) {
                self.serving.push_back((req.id, bytes, 0));
                self.feed();
                return;
            }
        }
        let have = if list { cache.listing(self.peer_ip, &self.view, req.path) } else { None };
        let asked = Asked { list, path: req.path.to_vec(), size: req.size, mtime_ns: req.mtime_ns, bytes: Vec::new(), have };
        if list {
            let mut p = asked.have.as_ref().map_or([0u8; 32], |h| h.0).to_vec();
            p.extend_from_slice(payload);
            self.send(job::FS_LIST, &p);
        } else {
            self.send(job::FS_READ, payload);
        }
        self.asked.insert(req.id, asked);
    }

    /// Move answers from the cache into the personality's input while it
    /// has room: data chunks, then the end.
    fn feed(&mut self) {
        let mut fed = false;
        while self.input.len() < IN_HIGH {
            let Some((id, bytes, at)) = self.serving.front_mut() else { break };
            if *at < bytes.len() {
                let n = (bytes.len() - *at).min(MAX_PAYLOAD - 4);
                fs_data(&mut self.input, &id.to_le_bytes(), &bytes[*at..*at + n]);
                *at += n;
            } else {
                fs_end(&mut self.input, *id, 0);
                self.serving.pop_front();
            }
            fed = true;
        }
        if fed {
            self.poke();
        }
    }

    /// Once the whole job is here: its archive, its personality.
    fn maybe_spawn(&mut self, image: Option<&[u8]>) {
        let Some(start) = &self.start else { return };
        if !self.to_come.is_empty() || !matches!(self.phase, Phase::Data) {
            return;
        }
        let items: Vec<Bytes> = self.items.drain(..).map(|i| i.unwrap_or_default()).collect();
        let archive = job_archive(start, &items);
        drop(items);
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

/// Console `down::FS_DATA` frames of request `id` (its 4 bytes) carrying `bytes`.
fn fs_data(input: &mut Vec<u8>, id: &[u8], bytes: &[u8]) {
    for chunk in bytes.chunks(MAX_PAYLOAD - 4) {
        input.extend_from_slice(&frame_header(down::FS_DATA, chunk.len() + 4));
        input.extend_from_slice(id);
        input.extend_from_slice(chunk);
    }
}

/// The console `down::FS_END` frame of request `id`: its status.
fn fs_end(input: &mut Vec<u8>, id: u32, status: i32) {
    input.extend_from_slice(&frame_header(down::FS_END, 8));
    input.extend_from_slice(&id.to_le_bytes());
    input.extend_from_slice(&status.to_le_bytes());
}

/// The archive a job's personality reads (`sion_abi::boot::names`), as
/// `sion exec` composes it for a boot job.
fn job_archive(start: &Start, items: &[Bytes]) -> Vec<u8> {
    let mut w = Writer::to(Vec::new());
    w.add(names::JOB_PROGRAM, regular(0o755), &items[0]);
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
    for p in &start.shares {
        config += &format!("share={}\n", text(p));
    }
    if !start.write_back.is_empty() {
        config += &format!("writeback={}\n", text(&start.write_back));
    }
    w.add(names::JOB_CONFIG, regular(0o644), config.as_bytes());
    for ((path, perm, _), bytes) in start.files.iter().zip(&items[1..]) {
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
