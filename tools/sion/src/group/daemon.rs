//! `sion daemon`: the group manager on a Linux workstation. One thread runs
//! the protocol core; others receive datagrams, serve the control socket and
//! run jobs. Jobs placed here run as ordinary local processes in a scratch
//! directory.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use sion_group::node::Rejection;
use sion_group::{Addr, Config, Event, Key, Node, NodeId, PlaceError, PlaceRequest, State, Status, Weights};
use socket2::{Domain, Protocol, Socket, Type};

use super::cli::DaemonArgs;
use super::frame::{self, Dir, FrameError, Start};
use super::{from_socket, key, sysinfo, to_socket};

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

enum Msg {
    JobStarted,
    Datagram(Addr, Vec<u8>),
    Control(String, Sender<String>),
}

fn udp_socket(addr: SocketAddrV4) -> Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_broadcast(true)?;
    s.bind(&SocketAddr::V4(addr).into()).with_context(|| format!("binding UDP {addr}"))?;
    Ok(s.into())
}

/// The bind address, broadcast address and whether they were given.
fn addresses(args: &DaemonArgs) -> (Ipv4Addr, Ipv4Addr) {
    let detected = if args.bind.is_none() { sysinfo::default_ipv4() } else { None };
    let bind = args.bind.or(detected.map(|d| Ipv4Addr::from(d.0))).unwrap_or(Ipv4Addr::LOCALHOST);
    let brd = args.broadcast.unwrap_or_else(|| {
        if bind.is_loopback() {
            Ipv4Addr::new(127, 255, 255, 255)
        } else if let Some((_, Some(b))) = detected {
            Ipv4Addr::from(b)
        } else {
            Ipv4Addr::BROADCAST
        }
    });
    (bind, brd)
}

pub fn main(args: DaemonArgs) -> i32 {
    super::init_logging(args.verbose, true);
    match run(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sion: daemon: {e:#}");
            1
        }
    }
}

struct Local {
    name: String,
    ncpus: u16,
    cpu_speed: u32,
    net_mbps: u32,
    mem_limit: Option<u32>,
    accepting: bool,
    jobs: Arc<AtomicU16>,
}

impl Local {
    fn status(&self) -> Status {
        let (mut free, mut total) = sysinfo::memory();
        if let Some(l) = self.mem_limit {
            free = free.min(l);
            total = total.min(l);
        }
        Status {
            version: 0,
            cpu_load: sysinfo::cpu_load(self.ncpus),
            ncpus: self.ncpus,
            cpu_speed: self.cpu_speed,
            free_mem_mib: free,
            total_mem_mib: total,
            net_mbps: self.net_mbps,
            jobs: self.jobs.load(Ordering::Relaxed),
            accepting: self.accepting,
            workstation: true,
            name: self.name.clone(),
        }
    }
}

fn run(args: DaemonArgs) -> Result<()> {
    let key = key::load_or_create(args.key_file.as_deref())?;
    let (bind, brd) = addresses(&args);
    let me = Addr { ip: bind.octets(), port: args.port };
    let unicast = udp_socket(SocketAddrV4::new(bind, args.port))?;
    // Broadcasts arrive on a socket bound to the broadcast address (every
    // daemon of this machine gets a copy: SO_REUSEADDR).
    let bcast = udp_socket(SocketAddrV4::new(brd, args.port))
        .or_else(|_| udp_socket(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, args.port)))
        .context("binding the broadcast socket")?;
    let jobs_listener = TcpListener::bind(SocketAddrV4::new(bind, args.port)).with_context(|| format!("binding TCP {bind}:{}", args.port))?;

    let local = Local {
        name: args.name.clone().unwrap_or_else(sysinfo::hostname),
        ncpus: sysinfo::ncpus(),
        cpu_speed: sysinfo::measure_cpu_speed(),
        net_mbps: sysinfo::net_speed(me.ip),
        mem_limit: args.mem_limit,
        accepting: !args.no_jobs,
        jobs: Arc::new(AtomicU16::new(0)),
    };
    let id = NodeId(key::random_u64());
    let mut cfg = Config::new(id, me, Addr { ip: brd.octets(), port: args.port }, key.clone());
    cfg.admission.max_jobs = args.max_jobs;
    cfg.admission.max_load = (args.max_load.saturating_mul(10)).min(u16::MAX as u32) as u16;
    let mut node = Node::new(cfg, local.status(), now_ms(), key::random_u64());
    tracing::info!("member {id} ({}) at {me}, broadcast {brd}, CPU speed {}, network {} Mbit/s", local.name, local.cpu_speed, local.net_mbps);

    let (tx, rx) = mpsc::channel::<Msg>();
    for sock in [unicast.try_clone()?, bcast] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            loop {
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        if let Some(a) = from_socket(from) {
                            if tx.send(Msg::Datagram(a, buf[..n].to_vec())).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => tracing::debug!("UDP receive: {e}"),
                }
            }
        });
    }
    let control = args.control.clone().unwrap_or_else(super::default_control_path);
    let control_listener = bind_control(&control, args.control_group)?;
    {
        let tx = tx.clone();
        std::thread::spawn(move || serve_control(control_listener, tx));
    }
    {
        let key = key.clone();
        let jobs = Arc::clone(&local.jobs);
        let tx = tx.clone();
        let accepting = local.accepting;
        std::thread::spawn(move || {
            for conn in jobs_listener.incoming().flatten() {
                let (key, jobs, tx) = (key.clone(), Arc::clone(&jobs), tx.clone());
                std::thread::spawn(move || serve_job(conn, key, jobs, tx, accepting));
            }
        });
    }

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }

    let mut waiting: HashMap<u32, Sender<String>> = HashMap::new();
    let mut refused_log: HashMap<Addr, Instant> = HashMap::new();
    let mut next_status = Instant::now() + Duration::from_secs(1);
    loop {
        if stop.load(Ordering::Relaxed) {
            node.leave(now_ms());
            flush(&mut node, &unicast);
            tracing::info!("left the group");
            let _ = std::fs::remove_file(&control);
            return Ok(());
        }
        flush(&mut node, &unicast);
        while let Some(e) = node.poll_event() {
            log_event(&node, &e, &mut refused_log);
            if let Event::Placed { req, result } = e {
                if let Some(reply) = waiting.remove(&req) {
                    let _ = reply.send(format_placement(&node, result));
                }
            }
        }
        if Instant::now() >= next_status {
            node.set_status(local.status());
            next_status = Instant::now() + Duration::from_secs(1);
        }
        let now = now_ms();
        let wait = node.next_deadline().saturating_sub(now).min(200);
        match rx.recv_timeout(Duration::from_millis(wait)) {
            Ok(Msg::Datagram(from, data)) => node.handle_datagram(now_ms(), from, &data),
            Ok(Msg::JobStarted) => {
                node.job_started();
                node.set_status(local.status());
            }
            Ok(Msg::Control(line, reply)) => {
                if let Some(req) = control_request(&mut node, &line, &reply) {
                    waiting.insert(req, reply);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => bail!("receivers ended"),
        }
        let now = now_ms();
        if now >= node.next_deadline() {
            node.tick(now);
        }
    }
}

fn flush(node: &mut Node, sock: &UdpSocket) {
    while let Some(t) = node.poll_transmit() {
        if let Err(e) = sock.send_to(&t.data, to_socket(t.to)) {
            tracing::debug!("send to {}: {e}", t.to);
        }
    }
}

fn member_name(node: &Node, id: NodeId) -> String {
    node.member(id).map(|m| m.status.name.clone()).filter(|n| !n.is_empty()).unwrap_or_else(|| "?".into())
}

fn log_event(node: &Node, e: &Event, refused: &mut HashMap<Addr, Instant>) {
    match e {
        Event::Up { id, addr } => tracing::info!("member {id} ({}) up at {addr}", member_name(node, *id)),
        Event::Suspect { id, .. } => tracing::info!("member {id} ({}) suspect", member_name(node, *id)),
        Event::Down { id, state } => {
            tracing::info!("member {id} ({}) {}", member_name(node, *id), if *state == State::Left { "left" } else { "dead" })
        }
        Event::Refuted { incarnation } => tracing::info!("refuted a suspicion of this member (incarnation {incarnation})"),
        Event::AllocRequested { from, verdict } => match verdict {
            None => tracing::info!("allocation request from {from}: accepted"),
            Some(r) => tracing::info!("allocation request from {from}: refused ({})", r.describe()),
        },
        Event::Rejected { from, reason } => {
            // Once per sender and minute at warning level.
            let loud = matches!(reason, Rejection::Unauthenticated | Rejection::Version(_) | Rejection::Stale(_));
            let last = refused.get(from).copied();
            if loud && last.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                refused.insert(*from, Instant::now());
                tracing::warn!("refused a datagram from {from}: {}", reason.describe());
            } else {
                tracing::debug!("refused a datagram from {from}: {}", reason.describe());
            }
        }
        Event::Placed { .. } => {}
    }
}

// ---- control socket -----------------------------------------------------

fn bind_control(path: &Path, group: bool) -> Result<UnixListener> {
    if let Some(dir) = path.parent() {
        if !dir.exists() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    if UnixStream::connect(path).is_ok() {
        bail!("a daemon already listens on {} (use --control)", path.display());
    }
    let _ = std::fs::remove_file(path);
    let l = UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(if group { 0o660 } else { 0o600 }))?;
    Ok(l)
}

fn serve_control(l: UnixListener, tx: Sender<Msg>) {
    for conn in l.incoming().flatten() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(&conn);
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                return;
            }
            let (rtx, rrx) = mpsc::channel();
            if tx.send(Msg::Control(line.trim().to_string(), rtx)).is_err() {
                return;
            }
            if let Ok(answer) = rrx.recv_timeout(Duration::from_secs(10)) {
                let _ = (&conn).write_all(answer.as_bytes());
            }
        });
    }
}

fn status_fields(s: &Status) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        s.cpu_load, s.ncpus, s.free_mem_mib, s.total_mem_mib, s.cpu_speed, s.net_mbps, s.jobs, s.accepting as u8, s.workstation as u8
    )
}

/// Handles a control line; returns a placement id when the answer comes later.
///
/// - `nodes`: one line per member, this node first:
///   `id name addr state load ncpus free total speed net jobs accepting workstation self`
/// - `state ID`: alive, suspect, dead, left or unknown
/// - `place CPU MEM SPEED NET NEED_MIB LOCAL(0|1) NODE|- EXCLUDE,..|-`
fn control_request(node: &mut Node, line: &str, reply: &Sender<String>) -> Option<u32> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["nodes"] => {
            let mut out = format!(
                "{}\t{}\t{}\talive\t{}\t1\n",
                node.id(),
                node.status().name,
                node.addr(),
                status_fields(node.status())
            );
            for m in node.members() {
                out += &format!("{}\t{}\t{}\t{}\t{}\t0\n", m.id, m.status.name, m.addr, m.state.name(), status_fields(&m.status));
            }
            let _ = reply.send(out);
            None
        }
        ["state", id] => {
            let st = parse_id(id).and_then(|id| if id == node.id() { Some("alive") } else { node.member(id).map(|m| m.state.name()) });
            let _ = reply.send(format!("{}\n", st.unwrap_or("unknown")));
            None
        }
        ["place", cpu, mem, speed, net, need, local, only, exclude] => {
            let f = |s: &str| s.parse::<f32>().unwrap_or(0.0);
            let r = PlaceRequest {
                weights: Weights { cpu: f(cpu), mem: f(mem), speed: f(speed), net: f(net) },
                need: sion_group::JobNeed { mem_mib: need.parse().unwrap_or(0), cpus: 1 },
                node: parse_id(only),
                exclude: exclude.split(',').filter_map(parse_id).collect(),
                include_local: *local == "1",
            };
            Some(node.place(now_ms(), r))
        }
        _ => {
            let _ = reply.send("err\tunknown request\n".into());
            None
        }
    }
}

fn parse_id(s: &str) -> Option<NodeId> {
    u64::from_str_radix(s, 16).ok().map(NodeId)
}

fn format_placement(node: &Node, r: Result<sion_group::Placement, PlaceError>) -> String {
    match r {
        Ok(p) => {
            let mut out = format!("ok\t{}\t{}\t{}\n", p.node, p.addr, member_name_or_self(node, p.node));
            for (id, score) in &p.ranking {
                out += &format!("rank\t{id}\t{score:.3}\t{}\n", member_name_or_self(node, *id));
            }
            for (id, why) in &p.refusals {
                out += &format!("refused\t{id}\t{}\t{}\n", why.describe(), member_name_or_self(node, *id));
            }
            out
        }
        Err(PlaceError::NoCandidates) => "err\tno node in the group can take jobs\n".into(),
        Err(PlaceError::AllRefused(v)) => {
            let why: Vec<String> = v.iter().map(|(id, r)| format!("{} {}", member_name_or_self(node, *id), r.describe())).collect();
            // Nobody answered in time: worth asking again (a busy or briefly unreachable node).
            let tag = if v.iter().all(|(_, r)| *r == sion_group::Refusal::NoAnswer) { "unanswered" } else { "err" };
            format!("{tag}\tevery candidate refused: {}\n", why.join(", "))
        }
    }
}

fn member_name_or_self(node: &Node, id: NodeId) -> String {
    if id == node.id() {
        node.status().name.clone()
    } else {
        member_name(node, id)
    }
}

// ---- jobs ---------------------------------------------------------------

/// Where a job's file goes inside its scratch directory: paths under the
/// client's working directory keep their place relative to it, others keep
/// their absolute path below the scratch directory. None for `..`.
pub fn job_path(dir: &Path, client_cwd: &Path, guest: &Path) -> Option<PathBuf> {
    let rel = guest.strip_prefix(client_cwd).ok().filter(|r| !r.as_os_str().is_empty()).unwrap_or(guest);
    let mut out = dir.to_path_buf();
    for c in rel.components() {
        match c {
            Component::Normal(x) => out.push(x),
            Component::RootDir | Component::CurDir => {}
            _ => return None,
        }
    }
    (out != dir).then_some(out)
}

type Writer = Arc<Mutex<(TcpStream, Dir)>>;

fn send(w: &Writer, kind: u8, payload: &[u8]) -> std::io::Result<()> {
    let mut g = w.lock().unwrap();
    let (s, d) = &mut *g;
    d.write(s, kind, payload)
}

fn serve_job(mut conn: TcpStream, key: Key, jobs: Arc<AtomicU16>, events: Sender<Msg>, accepting: bool) {
    let peer = conn.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let _ = conn.set_nodelay(true);
    let (tx, mut rx) = match frame::handshake(&mut conn, &key, true) {
        Ok(x) => x,
        Err(e) => return tracing::warn!("refused a job connection from {peer}: {e}"),
    };
    let start = match rx.read(&mut conn) {
        Ok((frame::START, p)) => match Start::decode(&p) {
            Ok(s) => s,
            Err(e) => return tracing::warn!("refused a job from {peer}: {e}"),
        },
        Ok((k, _)) => return tracing::warn!("refused a job from {peer}: frame {k} before START"),
        Err(FrameError::Auth) => return tracing::warn!("refused a job from {peer}: authentication failed (not the group key)"),
        Err(e) => return tracing::warn!("job connection from {peer} lost: {e}"),
    };
    let argv0 = String::from_utf8_lossy(start.argv.first().map(|v| v.as_slice()).unwrap_or(b"?")).into_owned();
    tracing::info!("job from {peer}: {argv0} ({} bytes, {} args, {} files)", start.program_len, start.argv.len(), start.files.len());
    let writer: Writer = match conn.try_clone() {
        Ok(c) => Arc::new(Mutex::new((c, tx))),
        Err(_) => return,
    };
    if !accepting {
        tracing::warn!("refused a job from {peer}: this member takes no jobs (--no-jobs)");
        let _ = send(&writer, frame::ERROR, b"this member takes no jobs");
        return;
    }
    // This machine keeps no cache of other workstations' files: every item comes.
    if !start.digests.is_empty() && send(&writer, frame::NEED, &vec![1u8; start.digests.len()]).is_err() {
        return;
    }
    jobs.fetch_add(1, Ordering::Relaxed);
    let _ = events.send(Msg::JobStarted);
    match run_job(&mut conn, rx, &writer, &start) {
        Ok(outcome) => tracing::info!("job from {peer}: {argv0} {outcome}"),
        Err(e) => {
            tracing::warn!("job from {peer}: {argv0}: {e:#}");
            let _ = send(&writer, frame::ERROR, format!("{e:#}").as_bytes());
        }
    }
    jobs.fetch_sub(1, Ordering::Relaxed);
}

fn receive_files(conn: &mut TcpStream, rx: &mut Dir, start: &Start, dir: &Path) -> Result<PathBuf> {
    let mut pending = start.total();
    let mut buf = Vec::new();
    let mut take = |n: u64, buf: &mut Vec<u8>| -> Result<Vec<u8>> {
        while (buf.len() as u64) < n {
            match rx.read(conn) {
                Ok((frame::DATA, d)) => {
                    pending = pending.checked_sub(d.len() as u64).context("more data than announced")?;
                    buf.extend_from_slice(&d);
                }
                Ok((k, _)) => bail!("frame {k} inside the job's data"),
                Err(FrameError::Auth) => bail!("authentication failed (not the group key)"),
                Err(e) => bail!("connection lost: {e}"),
            }
        }
        let rest = buf.split_off(n as usize);
        Ok(std::mem::replace(buf, rest))
    };
    let program = take(start.program_len, &mut buf)?;
    let base = Path::new(std::ffi::OsStr::new(std::str::from_utf8(start.argv.first().map(|v| v.as_slice()).unwrap_or(b"program")).unwrap_or("program")))
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "program".into());
    let bin = dir.join(".sion-bin");
    std::fs::create_dir(&bin)?;
    let exe = bin.join(base);
    std::fs::write(&exe, program)?;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755))?;
    let cwd = PathBuf::from(String::from_utf8_lossy(&start.cwd).into_owned());
    let mut files = Vec::new();
    for (path, perm, len) in &start.files {
        files.push((path.as_slice(), *perm, take(*len, &mut buf)?));
    }
    stage_files(dir, &cwd, files)?;
    Ok(exe)
}

/// Writes a job's files under `dir` (`job_path`): regular files first,
/// symbolic links (mode `S_IFLNK`, the target as data) last, and never
/// through a link, so a staged link cannot send a file outside `dir`.
fn stage_files(dir: &Path, cwd: &Path, files: Vec<(&[u8], u32, Vec<u8>)>) -> Result<()> {
    let mut links = Vec::new();
    for (path, perm, data) in files {
        let guest = PathBuf::from(String::from_utf8_lossy(path).into_owned());
        let Some(target) = job_path(dir, cwd, &guest) else { bail!("bad file path {}", guest.display()) };
        if perm & S_IFMT == S_IFLNK {
            links.push((target, data));
            continue;
        }
        make_parents(dir, &target)?;
        std::fs::write(&target, data)?;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(perm & 0o7777))?;
    }
    for (target, link) in links {
        make_parents(dir, &target)?;
        let _ = std::fs::remove_file(&target);
        std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes_compat(&link), &target)
            .with_context(|| format!("symbolic link {}", target.display()))?;
    }
    Ok(())
}

const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;

/// Creates the directories above `target` (inside `dir`), refusing to go
/// through a symbolic link.
fn make_parents(dir: &Path, target: &Path) -> Result<()> {
    let Some(parent) = target.parent() else { return Ok(()) };
    let rel = parent.strip_prefix(dir).context("a job file outside the job's directory")?;
    let mut at = dir.to_path_buf();
    for c in rel.components() {
        at.push(c);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => bail!("{} is a symbolic link: not followed when staging", at.display()),
            Ok(m) if m.is_dir() => {}
            Ok(_) => bail!("{} is not a directory", at.display()),
            Err(_) => std::fs::create_dir(&at).with_context(|| format!("{}", at.display()))?,
        }
    }
    Ok(())
}

/// One `--out` path (and all under it) as OUT_* frames, named by its guest path.
fn send_out(writer: &Writer, local: &Path, guest: &str) -> std::io::Result<()> {
    let head = |mode: u32, p: &str| -> Vec<u8> {
        let mut v = mode.to_le_bytes().to_vec();
        v.extend_from_slice(p.as_bytes());
        v
    };
    let Ok(meta) = std::fs::symlink_metadata(local) else { return send(writer, frame::OUT_MISSING, guest.as_bytes()) };
    let mode = meta.permissions().mode() & 0o7777;
    if meta.file_type().is_symlink() {
        let mut v = guest.as_bytes().to_vec();
        v.push(0);
        v.extend_from_slice(std::fs::read_link(local)?.as_os_str().as_encoded_bytes());
        send(writer, frame::OUT_SYMLINK, &v)
    } else if meta.is_dir() {
        send(writer, frame::OUT_DIR, &head(mode, guest))?;
        let mut names: Vec<_> = std::fs::read_dir(local)?.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        names.sort();
        for n in names {
            send_out(writer, &local.join(&n), &format!("{}/{}", guest.trim_end_matches('/'), n.to_string_lossy()))?;
        }
        Ok(())
    } else if meta.is_file() {
        send(writer, frame::OUT_FILE, &head(mode, guest))?;
        for chunk in std::fs::read(local)?.chunks(frame::CHUNK) {
            send(writer, frame::OUT_DATA, chunk)?;
        }
        Ok(())
    } else {
        send(writer, frame::OUT_MISSING, guest.as_bytes())
    }
}

fn run_job(conn: &mut TcpStream, mut rx: Dir, writer: &Writer, start: &Start) -> Result<String> {
    let dir = tempfile::Builder::new().prefix("sion-job-").tempdir().context("creating the job directory")?;
    let exe = receive_files(conn, &mut rx, start, dir.path())?;
    let mut cmd = Command::new(&exe);
    if let Some(a0) = start.argv.first() {
        cmd.arg0(std::ffi::OsStr::from_bytes_compat(a0));
    }
    for a in start.argv.iter().skip(1) {
        cmd.arg(std::ffi::OsStr::from_bytes_compat(a));
    }
    cmd.env_clear();
    for kv in &start.env {
        let s = String::from_utf8_lossy(kv);
        if let Some((k, v)) = s.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.current_dir(dir.path()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    die_with_this_thread(&mut cmd);
    let mut child = cmd.spawn().context("starting the program")?;
    send(writer, frame::RUNNING, &child.id().to_le_bytes())?;

    let cancel = Arc::new(AtomicBool::new(false));
    let mut pumps = Vec::new();
    for (mut out, kind) in [
        (Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>, frame::STDOUT),
        (Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>, frame::STDERR),
    ] {
        let w = Arc::clone(writer);
        pumps.push(std::thread::spawn(move || {
            let mut buf = vec![0u8; frame::CHUNK];
            loop {
                match out.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if send(&w, kind, &buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        }));
    }
    // Client frames: stdin, its end, cancel. A lost connection cancels.
    let mut stdin = child.stdin.take();
    let mut rconn = conn.try_clone()?;
    let mut rdir = rx;
    let c = Arc::clone(&cancel);
    let interrupt = Arc::new(AtomicBool::new(false));
    let i = Arc::clone(&interrupt);
    std::thread::spawn(move || loop {
        match rdir.read(&mut rconn) {
            Ok((frame::STDIN, d)) => {
                if let Some(s) = &mut stdin {
                    if s.write_all(&d).is_err() {
                        stdin = None;
                    }
                }
            }
            Ok((frame::STDIN_EOF, _)) => stdin = None,
            Ok((frame::CANCEL, _)) => i.store(true, Ordering::Relaxed),
            Ok(_) => {
                c.store(true, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                if let FrameError::Auth = e {
                    tracing::warn!("job stream failed authentication: cancelled");
                }
                c.store(true, Ordering::Relaxed);
                return;
            }
        }
    });
    let mut interrupted_at: Option<Instant> = None;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if cancel.load(Ordering::Relaxed) {
            let _ = child.kill();
            break child.wait()?;
        }
        // ^C on the client: SIGINT, as a terminal would; SIGKILL 2 s later.
        if interrupt.load(Ordering::Relaxed) && interrupted_at.is_none() {
            interrupt_process(child.id());
            interrupted_at = Some(Instant::now());
        }
        if interrupted_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2)) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    for p in pumps {
        let _ = p.join();
    }
    let (kind, code, text) = match (status.code(), status.signal()) {
        (Some(c), _) => (0u32, c as u32, format!("exited with {c}")),
        (None, Some(s)) => (1, s as u32, format!("killed by signal {s}")),
        _ => (0, 125, "ended".to_string()),
    };
    let text = if cancel.load(Ordering::Relaxed) || interrupted_at.is_some() { format!("{text} (cancelled)") } else { text };
    let client_cwd = PathBuf::from(String::from_utf8_lossy(&start.cwd).into_owned());
    for out in &start.outs {
        let guest = String::from_utf8_lossy(out).into_owned();
        match job_path(dir.path(), &client_cwd, Path::new(&guest)) {
            Some(local) => send_out(writer, &local, &guest)?,
            None => send(writer, frame::OUT_MISSING, guest.as_bytes())?,
        }
    }
    let mut e = frame::Enc::default();
    e.u32(kind).u32(code);
    send(writer, frame::EXIT, &e.0)?;
    let _ = conn.shutdown(std::net::Shutdown::Write);
    Ok(text)
}

/// `OsStr` from bytes (Unix).
trait FromBytesCompat {
    fn from_bytes_compat(b: &[u8]) -> &Self;
}
impl FromBytesCompat for std::ffi::OsStr {
    fn from_bytes_compat(b: &[u8]) -> &Self {
        std::os::unix::ffi::OsStrExt::from_bytes(b)
    }
}

/// SIGINT to a job.
#[allow(unsafe_code)]
fn interrupt_process(pid: u32) {
    // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own
    // child, not yet reaped (so not recycled).
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGINT);
    }
}

/// The job dies with the daemon, however the daemon dies (even SIGKILL):
/// PR_SET_PDEATHSIG, sent when the spawning thread ends; the job's thread
/// lives until the job ends.
#[allow(unsafe_code)]
fn die_with_this_thread(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe functions (prctl); it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_links_stay_links_and_are_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let (d, outside) = (tmp.path().join("job"), tmp.path().join("outside"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let cwd = Path::new("/home/u");
        let files: Vec<(&[u8], u32, Vec<u8>)> = vec![
            (b"/home/u/w/valid", 0o120777, b"real.txt".to_vec()),
            (b"/home/u/w/dangling", 0o120777, b"/nonexistent".to_vec()),
            (b"/home/u/w/real.txt", 0o640, b"real".to_vec()),
        ];
        stage_files(&d, cwd, files).unwrap();
        assert_eq!(std::fs::read_link(d.join("w/valid")).unwrap(), Path::new("real.txt"));
        assert_eq!(std::fs::read_link(d.join("w/dangling")).unwrap(), Path::new("/nonexistent"));
        assert_eq!(std::fs::read(d.join("w/valid")).unwrap(), b"real");
        assert_eq!(std::fs::metadata(d.join("w/real.txt")).unwrap().permissions().mode() & 0o777, 0o640);
        // A link to a directory outside, then a link under it: refused, nothing written outside.
        let o = outside.as_os_str().as_encoded_bytes().to_vec();
        let files: Vec<(&[u8], u32, Vec<u8>)> = vec![(b"/home/u/esc", 0o120777, o), (b"/home/u/esc/x", 0o120777, b"y".to_vec())];
        assert!(stage_files(&d, cwd, files).is_err());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }

    #[test]
    fn job_paths_stay_inside_the_scratch_directory() {
        let d = Path::new("/tmp/j");
        let cwd = Path::new("/home/u");
        assert_eq!(job_path(d, cwd, Path::new("/home/u/data.txt")), Some("/tmp/j/data.txt".into()));
        assert_eq!(job_path(d, cwd, Path::new("/home/u/sub/x")), Some("/tmp/j/sub/x".into()));
        assert_eq!(job_path(d, cwd, Path::new("/etc/a")), Some("/tmp/j/etc/a".into()));
        assert_eq!(job_path(d, cwd, Path::new("/etc/../../x")), None);
        assert_eq!(job_path(d, cwd, Path::new("/")), None);
    }

    #[test]
    fn a_placement_nobody_answered_is_worth_asking_again() {
        use sion_group::Refusal;
        let addr = Addr { ip: [169, 254, 250, 1], port: 7470 };
        let node = Node::new(Config::new(NodeId(1), addr, addr, Key([7; 32])), Status::default(), 0, 1);
        let all_silent = PlaceError::AllRefused(vec![(NodeId(2), Refusal::NoAnswer), (NodeId(3), Refusal::NoAnswer)]);
        assert!(format_placement(&node, Err(all_silent)).starts_with("unanswered\tevery candidate refused: "));
        let one_said_no = PlaceError::AllRefused(vec![(NodeId(2), Refusal::NoAnswer), (NodeId(3), Refusal::TooManyJobs)]);
        assert!(format_placement(&node, Err(one_said_no)).starts_with("err\t"));
        assert!(format_placement(&node, Err(PlaceError::NoCandidates)).starts_with("err\t"));
    }
}
