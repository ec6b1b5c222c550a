//! `sion nodes` and `sion run`: clients of the local daemon (control socket)
//! and of the chosen node (job stream over TCP).

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use sion_group::{Key, Weights};

use super::cli::{NodesArgs, RunArgs};
use super::frame::{self, Dir, FrameError, Start};
use crate::outfiles::OutFiles;
use crate::share::Shares;
use crate::{elf_check, image};

const EXIT_NODE_FAILED: i32 = 125;

/// One request line to the daemon, the whole answer back.
pub fn ask(control: &Path, line: &str) -> Result<String> {
    let mut s = UnixStream::connect(control)
        .with_context(|| format!("no daemon at {} (start one with `sion daemon`)", control.display()))?;
    s.set_read_timeout(Some(Duration::from_secs(15)))?;
    s.write_all(format!("{line}\n").as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// A row of `sion nodes`.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub addr: String,
    pub state: String,
    pub load: u32,
    pub ncpus: u32,
    pub free: u32,
    pub total: u32,
    pub speed: u32,
    pub net: u32,
    pub jobs: u32,
    pub accepting: bool,
    pub workstation: bool,
    pub this: bool,
}

pub fn parse_rows(text: &str) -> Vec<Row> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() < 14 {
                return None;
            }
            let n = |i: usize| f[i].parse::<u32>().unwrap_or(0);
            Some(Row {
                id: f[0].into(),
                name: f[1].into(),
                addr: f[2].into(),
                state: f[3].into(),
                load: n(4),
                ncpus: n(5),
                free: n(6),
                total: n(7),
                speed: n(8),
                net: n(9),
                jobs: n(10),
                accepting: f[11] == "1",
                workstation: f[12] == "1",
                this: f[13] == "1",
            })
        })
        .collect()
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o += "\\\"",
            '\\' => o += "\\\\",
            c if (c as u32) < 0x20 => o += &format!("\\u{:04x}", c as u32),
            c => o.push(c),
        }
    }
    o + "\""
}

pub fn render_json(rows: &[Row]) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{{\"id\":{},\"name\":{},\"address\":{},\"state\":{},\"load\":{:.3},\"cpus\":{},\"free_mem_mib\":{},\"total_mem_mib\":{},\"cpu_speed\":{},\"net_mbps\":{},\"jobs\":{},\"accepting\":{},\"workstation\":{},\"self\":{}}}",
                json_str(&r.id),
                json_str(&r.name),
                json_str(&r.addr),
                json_str(&r.state),
                r.load as f64 / 1000.0,
                r.ncpus,
                r.free,
                r.total,
                r.speed,
                r.net,
                r.jobs,
                r.accepting,
                r.workstation,
                r.this
            )
        })
        .collect();
    format!("[{}]\n", items.join(",\n "))
}

/// The group as an aligned table (numbers right-aligned).
pub fn render_table(rows: &[Row]) -> String {
    let head = ["NODE", "NAME", "ADDRESS", "STATE", "LOAD", "CPUS", "FREE MEM", "CPU SPEED", "NET", "JOBS"];
    let right = [false, false, false, false, true, true, true, true, true, true];
    let mut cells: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
    for r in rows {
        let mut state = r.state.clone();
        if !r.accepting && r.state == "alive" {
            state += " (no jobs)";
        }
        cells.push(vec![
            format!("{}{}", &r.id[..r.id.len().min(8)], if r.this { "*" } else { "" }),
            r.name.clone(),
            r.addr.clone(),
            state,
            format!("{}%", r.load / 10),
            r.ncpus.to_string(),
            format!("{} MiB", r.free),
            r.speed.to_string(),
            if r.net == 0 { "?".into() } else { format!("{} Mb/s", r.net) },
            r.jobs.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..head.len()).map(|c| cells.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &cells {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line += "  ";
            }
            let pad = widths[c] - cell.chars().count();
            if right[c] {
                line += &" ".repeat(pad);
                line += cell;
            } else {
                line += cell;
                line += &" ".repeat(pad);
            }
        }
        out += line.trim_end();
        out += "\n";
    }
    out
}

pub fn nodes(args: NodesArgs) -> i32 {
    let control = args.control.unwrap_or_else(super::client_control_path);
    match ask(&control, "nodes") {
        Ok(text) => {
            let rows = parse_rows(&text);
            let mut out = std::io::stdout().lock();
            let _ = if args.json {
                out.write_all(render_json(&rows).as_bytes())
            } else {
                out.write_all(render_table(&rows).as_bytes()).and_then(|_| writeln!(out, "(* this workstation; {} members)", rows.len()))
            };
            0
        }
        Err(e) => {
            eprintln!("sion: {e:#}");
            1
        }
    }
}

// ---- run ----------------------------------------------------------------

/// Stdin, read once and kept, so a retried job gets all of it again.
#[derive(Default)]
struct Input {
    chunks: Mutex<(Vec<Vec<u8>>, bool)>,
    more: Condvar,
}

impl Input {
    fn start_reader(self: &Arc<Self>) {
        let me = Arc::clone(self);
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = vec![0u8; frame::CHUNK];
            loop {
                let n = stdin.read(&mut buf).unwrap_or(0);
                let mut g = me.chunks.lock().unwrap();
                if n == 0 {
                    g.1 = true;
                } else {
                    g.0.push(buf[..n].to_vec());
                }
                me.more.notify_all();
                if n == 0 {
                    return;
                }
            }
        });
    }

    /// Chunk `i`, waiting for it; None at the end.
    fn get(&self, i: usize, stop: &AtomicBool) -> Option<Vec<u8>> {
        let mut g = self.chunks.lock().unwrap();
        loop {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            if let Some(c) = g.0.get(i) {
                return Some(c.clone());
            }
            if g.1 {
                return None;
            }
            g = self.more.wait_timeout(g, Duration::from_millis(200)).unwrap().0;
        }
    }
}

enum Outcome {
    /// The job ended: sion's exit status and the `--out` files that came back.
    Exit(i32, OutFiles),
    /// The node failed (died, connection lost): may retry elsewhere.
    NodeFailed(String),
    /// The node refused or could not start the job.
    Refused(String),
}

struct Choice {
    id: String,
    addr: SocketAddr,
    name: String,
}

pub fn run(args: RunArgs) -> i32 {
    super::init_logging(args.verbose, false);
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sion: {e:#}");
            EXIT_NODE_FAILED
        }
    }
}

fn run_inner(args: RunArgs) -> Result<i32> {
    let key = super::key::load_or_create(args.key_file.as_deref())?;
    let control = args.control.clone().unwrap_or_else(super::client_control_path);
    let cwd = std::env::current_dir().context("the current directory")?;
    let located = elf_check::locate(Path::new(&args.program), std::env::var_os("PATH").as_deref());
    let program = match elf_check::check_file(&located) {
        Ok((_, bytes)) => bytes,
        Err(refusal) => {
            eprintln!("sion: {}: {refusal}", Path::new(&args.program).display());
            return Ok(refusal.exit_status());
        }
    };
    let mut files = image::collect_files(&args.files, &cwd)?;
    // A script's interpreter, a dynamic program's loader and libraries.
    match crate::deps::stage(&located, &mut files) {
        Ok(warnings) => {
            for w in warnings {
                eprintln!("sion: warning: {w}");
            }
        }
        Err(e) => {
            eprintln!("sion: {e}");
            return Ok(e.exit_status());
        }
    }
    let mut argv: Vec<Vec<u8>> = vec![args.program.as_bytes().to_vec()];
    argv.extend(args.args.iter().map(|a| a.as_bytes().to_vec()));
    // The --out paths on both sides, as `sion exec` takes them.
    let out_specs: Vec<(String, std::path::PathBuf)> = args
        .outs
        .iter()
        .map(|o| {
            let g = image::normalize(&o.guest, &cwd);
            let h = image::normalize(o.host.as_deref().unwrap_or(&o.guest), &cwd);
            (g.to_string_lossy().into_owned(), h)
        })
        .collect();
    let exe = std::fs::canonicalize(&located).unwrap_or_else(|_| image::normalize(&located, &cwd));
    // What the job sees of this machine, on demand, and where its results go.
    let shares = Arc::new(if args.share.no_share { Shares::default() } else { crate::share::for_job(&cwd, true, &args.args, &args.share.shares) });
    let write_back = (!args.share.no_write_back && !args.share.no_share).then(|| cwd.clone());
    let mut data: Vec<&[u8]> = vec![&program];
    data.extend(files.iter().map(|f| f.data.as_slice()));
    // The items by content: a node that holds one already is not sent it.
    let digests = data.iter().map(|d| sion_group::cache::sha256(d)).collect();
    let start = Start {
        argv,
        env: image::job_env(&args.env, args.clear_env).iter().map(|e: &OsString| e.as_bytes().to_vec()).collect(),
        cwd: cwd.as_os_str().as_bytes().to_vec(),
        program_len: program.len() as u64,
        files: files.iter().map(|f| (f.path.as_bytes().to_vec(), f.wire_mode(), f.data.len() as u64)).collect(),
        outs: out_specs.iter().map(|(g, _)| g.as_bytes().to_vec()).collect(),
        exe: exe.as_os_str().as_bytes().to_vec(),
        shares: shares.paths().iter().map(|p| p.as_os_str().as_bytes().to_vec()).collect(),
        write_back: write_back.as_ref().map(|d| d.as_os_str().as_bytes().to_vec()).unwrap_or_default(),
        digests,
    };

    let only = match &args.node {
        Some(n) => Some(resolve_node(&control, n)?),
        None => None,
    };
    let weights = args.weights.unwrap_or_default();
    let input = Arc::new(Input::default());
    input.start_reader();
    let interrupted = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted));

    let mut exclude: Vec<String> = Vec::new();
    let mut attempt = 0;
    loop {
        let t0 = Instant::now();
        let choice = match args.to {
            Some(addr) => Choice { id: "-".into(), addr, name: addr.to_string() },
            None => place(&control, &weights, args.need_mem, !args.no_local, only.as_deref(), &exclude)?,
        };
        tracing::info!("placed on {} ({} at {}) in {:?}", choice.name, choice.id, choice.addr, t0.elapsed());
        let stats = Arc::new(Stats::default());
        let outcome = run_on(&choice, &key, &control, &start, &data, &input, &interrupted, &shares, &stats);
        stats.report(t0.elapsed());
        match outcome {
            Outcome::Exit(code, outs) => {
                match outs.write(&out_specs) {
                    Ok(missing) => {
                        for m in missing {
                            eprintln!("sion: --out {m}: no such file or directory on the node");
                        }
                    }
                    Err(err) => eprintln!("sion: {err:#}"),
                }
                if let Some(dir) = &write_back {
                    let (notes, written) = outs.write_back(dir);
                    tracing::debug!(written, "written back to {}", dir.display());
                    for n in notes {
                        eprintln!("sion: write-back: {n}");
                    }
                }
                return Ok(code);
            }
            Outcome::Refused(msg) => {
                eprintln!("sion: node {} refused the job: {msg}", choice.name);
                return Ok(EXIT_NODE_FAILED);
            }
            Outcome::NodeFailed(why) => {
                if attempt < args.retries && only.is_none() && args.to.is_none() {
                    attempt += 1;
                    eprintln!(
                        "sion: node {} ({}) failed mid-job: {why}; running the job again on another node (retry {attempt} of {})",
                        choice.name, choice.id, args.retries
                    );
                    exclude.push(choice.id);
                    continue;
                }
                eprintln!("sion: node failed: {} ({}): {why}", choice.name, choice.id);
                return Ok(EXIT_NODE_FAILED);
            }
        }
    }
}

fn resolve_node(control: &Path, n: &str) -> Result<String> {
    let rows = parse_rows(&ask(control, "nodes")?);
    let hits: Vec<&Row> = rows.iter().filter(|r| r.name == n || r.id == n).collect();
    let hits = if hits.is_empty() { rows.iter().filter(|r| r.id.starts_with(&n.to_ascii_lowercase())).collect() } else { hits };
    match hits.as_slice() {
        [r] => Ok(r.id.clone()),
        [] => bail!("no node {n:?} in the group (see `sion nodes`)"),
        _ => bail!("{n:?} names several nodes; give more of the id"),
    }
}

/// Placements asked in all when no candidate answers in time.
const PLACE_TRIES: u32 = 3;

fn place(control: &Path, w: &Weights, need: u32, local: bool, only: Option<&str>, exclude: &[String]) -> Result<Choice> {
    let mut tries = 1;
    loop {
        match place_once(control, w, need, local, only, exclude)? {
            Placed::Chosen(c) => return Ok(c),
            Placed::Unanswered(msg) if tries < PLACE_TRIES => {
                tracing::info!("placement {tries} of {PLACE_TRIES}: {msg}; asking again");
                tries += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
            Placed::Unanswered(msg) => bail!("no node to run on: {msg} ({PLACE_TRIES} times)"),
        }
    }
}

enum Placed {
    Chosen(Choice),
    /// No candidate answered in time.
    Unanswered(String),
}

fn place_once(control: &Path, w: &Weights, need: u32, local: bool, only: Option<&str>, exclude: &[String]) -> Result<Placed> {
    let line = format!(
        "place {} {} {} {} {need} {} {} {}",
        w.cpu,
        w.mem,
        w.speed,
        w.net,
        local as u8,
        only.unwrap_or("-"),
        if exclude.is_empty() { "-".to_string() } else { exclude.join(",") }
    );
    let answer = ask(control, &line)?;
    let mut choice = None;
    for l in answer.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        match f.as_slice() {
            ["ok", id, addr, name] => {
                choice = Some(Choice { id: id.to_string(), addr: addr.parse().context("bad address from the daemon")?, name: name.to_string() })
            }
            ["rank", id, score, name] => tracing::debug!("candidate {name} ({id}): score {score}"),
            ["refused", id, why, name] => tracing::debug!("candidate {name} ({id}) refused: {why}"),
            ["err", msg] => bail!("no node to run on: {msg}"),
            ["unanswered", msg] => return Ok(Placed::Unanswered(msg.to_string())),
            _ => {}
        }
    }
    choice.map(Placed::Chosen).context("the daemon gave no answer")
}

type Writer = Arc<Mutex<(TcpStream, Dir)>>;

/// What crossed the job stream for one attempt (`--verbose` shows it).
#[derive(Default)]
struct Stats {
    /// The job's items: bytes in all, and bytes sent (the node had the rest).
    items_total: std::sync::atomic::AtomicU64,
    items_sent: std::sync::atomic::AtomicU64,
    /// File requests of the node, those a listing answered "unchanged", bytes sent for them.
    requests: std::sync::atomic::AtomicU64,
    unchanged: std::sync::atomic::AtomicU64,
    file_bytes: std::sync::atomic::AtomicU64,
}

impl Stats {
    fn add(c: &std::sync::atomic::AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    fn report(&self, took: Duration) {
        let g = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        tracing::info!(
            "job stream: {:.2} s; items {} of {} bytes sent (the node's cache had the rest); {} file requests ({} listings unchanged), {} bytes sent for them",
            took.as_secs_f64(),
            g(&self.items_sent),
            g(&self.items_total),
            g(&self.requests),
            g(&self.unchanged),
            g(&self.file_bytes)
        );
    }
}

fn send(w: &Writer, kind: u8, payload: &[u8]) -> std::io::Result<()> {
    let mut g = w.lock().unwrap();
    let (s, d) = &mut *g;
    d.write(s, kind, payload)
}

#[allow(clippy::too_many_arguments)]
fn run_on(
    c: &Choice,
    key: &Key,
    control: &Path,
    start: &Start,
    data: &[&[u8]],
    input: &Arc<Input>,
    interrupted: &Arc<AtomicBool>,
    shares: &Arc<Shares>,
    stats: &Arc<Stats>,
) -> Outcome {
    let mut conn = match TcpStream::connect_timeout(&c.addr, Duration::from_secs(5)) {
        Ok(s) => s,
        Err(e) => return Outcome::NodeFailed(format!("cannot connect to {}: {e}", c.addr)),
    };
    let _ = conn.set_nodelay(true);
    // A node that dies before its hello must not hang us.
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let (tx, mut rx) = match frame::handshake(&mut conn, key, false) {
        Ok(x) => x,
        Err(e) => return Outcome::NodeFailed(format!("handshake: {e}")),
    };
    let _ = conn.set_read_timeout(None);
    let writer: Writer = Arc::new(Mutex::new((conn.try_clone().expect("socket clone"), tx)));
    let done = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(Mutex::new(None::<String>));
    // Liveness from the first byte of the upload on: the group's verdict on
    // the node (a node that powers off closes no connection), and ^C.
    let cancelled = Arc::new(AtomicBool::new(false));
    {
        let (w, done, failed, cancelled, interrupted) =
            (Arc::clone(&writer), Arc::clone(&done), Arc::clone(&failed), Arc::clone(&cancelled), Arc::clone(interrupted));
        let (control, id) = (control.to_path_buf(), c.id.clone());
        let sock = conn.try_clone().expect("socket clone");
        std::thread::spawn(move || watch(&control, &id, &sock, &w, &done, &failed, &cancelled, &interrupted));
    }
    // START, then (when it carries digests) the node's NEED, then the items it lacks.
    if let Err(e) = send(&writer, frame::START, &start.encode()) {
        done.store(true, Ordering::Relaxed);
        let why = failed.lock().unwrap().take().unwrap_or_else(|| format!("sending the job: {e}"));
        return Outcome::NodeFailed(why);
    }
    let need = if start.digests.is_empty() {
        vec![1u8; data.len()]
    } else {
        match rx.read(&mut conn) {
            Ok((frame::NEED, n)) if n.len() == data.len() => n,
            Ok((frame::ERROR, m)) => {
                done.store(true, Ordering::Relaxed);
                return Outcome::Refused(String::from_utf8_lossy(&m).into_owned());
            }
            Ok((k, _)) => {
                done.store(true, Ordering::Relaxed);
                return Outcome::NodeFailed(format!("unexpected frame {k} instead of NEED"));
            }
            Err(e) => {
                done.store(true, Ordering::Relaxed);
                let why = failed.lock().unwrap().take().unwrap_or_else(|| format!("the node closed the connection before starting the job ({e}; a different group key?)"));
                return Outcome::NodeFailed(why);
            }
        }
    };
    let wanted: Vec<&[u8]> = data.iter().zip(&need).filter(|(_, &n)| n != 0).map(|(d, _)| *d).collect();
    Stats::add(&stats.items_total, data.iter().map(|d| d.len() as u64).sum());
    Stats::add(&stats.items_sent, wanted.iter().map(|d| d.len() as u64).sum());
    if let Err(e) = upload(&writer, &wanted) {
        done.store(true, Ordering::Relaxed);
        let why = failed.lock().unwrap().take().unwrap_or_else(|| format!("sending the job: {e}"));
        return Outcome::NodeFailed(why);
    }
    // The workstation's files, as the node asks for them: served apart, so
    // a big file does not hold the program's output back.
    let (fs_tx, fs_rx) = std::sync::mpsc::channel::<(u8, Vec<u8>)>();
    {
        let (w, shares, stats) = (Arc::clone(&writer), Arc::clone(shares), Arc::clone(stats));
        std::thread::spawn(move || {
            for (kind, payload) in fs_rx {
                if answer(&w, &shares, &stats, kind, &payload).is_err() {
                    return;
                }
            }
        });
    }
    // Stdin to the job.
    {
        let (w, input, done) = (Arc::clone(&writer), Arc::clone(input), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut i = 0;
            while let Some(chunk) = input.get(i, &done) {
                if send(&w, frame::STDIN, &chunk).is_err() {
                    return;
                }
                i += 1;
            }
            if !done.load(Ordering::Relaxed) {
                let _ = send(&w, frame::STDIN_EOF, &[]);
            }
        });
    }
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let mut running = false;
    let mut outs = OutFiles::default();
    let result = loop {
        match rx.read(&mut conn) {
            Ok((frame::STDOUT, d)) => {
                let _ = out.write_all(&d).and_then(|_| out.flush());
            }
            Ok((frame::STDERR, d)) => {
                let _ = err.write_all(&d);
            }
            Ok((kind @ frame::OUT_DIR..=frame::OUT_MISSING, d)) => {
                // The job stream's OUT_* frames carry the job console's payloads.
                if !outs.frame(kind - frame::OUT_DIR + sion_abi::console::up::OUT_DIR, &d) {
                    break Outcome::NodeFailed(format!("malformed --out frame {kind}"));
                }
            }
            Ok((kind @ (frame::WB_DIR | frame::WB_FILE), d)) => {
                let tag = if kind == frame::WB_DIR { sion_abi::console::up::WB_DIR } else { sion_abi::console::up::WB_FILE };
                if !outs.frame(tag, &d) {
                    break Outcome::NodeFailed(format!("malformed write-back frame {kind}"));
                }
            }
            Ok((kind @ (frame::FS_LIST | frame::FS_READ), d)) => {
                let _ = fs_tx.send((kind, d));
            }
            Ok((frame::RUNNING, _)) => {
                running = true;
                tracing::debug!("running on {}", c.name)
            }
            Ok((frame::EXIT, p)) => {
                let mut d = frame::Dec(&p);
                let (kind, code) = (d.u32().unwrap_or(0), d.u32().unwrap_or(125));
                // After ^C too: the program's own outcome (130 if SIGINT killed it).
                let status = if kind == 1 {
                    128 + code as i32
                } else {
                    code as i32
                };
                break Outcome::Exit(status, std::mem::take(&mut outs));
            }
            Ok((frame::ERROR, m)) => break Outcome::Refused(String::from_utf8_lossy(&m).into_owned()),
            Ok((k, _)) => break Outcome::NodeFailed(format!("unexpected frame {k}")),
            Err(FrameError::Auth) => break Outcome::NodeFailed("the node's reply failed authentication".into()),
            Err(e) => {
                let lost = if running {
                    match e {
                        FrameError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => "the connection closed mid-job".to_string(),
                        e => format!("connection lost ({e})"),
                    }
                } else {
                    "the node closed the connection before starting the job (a different group key?)".to_string()
                };
                let why = failed.lock().unwrap().take().unwrap_or(lost);
                break Outcome::NodeFailed(why);
            }
        }
    };
    done.store(true, Ordering::Relaxed);
    let _ = conn.shutdown(Shutdown::Both);
    result
}

#[allow(clippy::too_many_arguments)]
fn watch(
    control: &Path,
    id: &str,
    sock: &TcpStream,
    w: &Writer,
    done: &AtomicBool,
    failed: &Mutex<Option<String>>,
    cancelled: &AtomicBool,
    interrupted: &AtomicBool,
) {
    let mut last_check = Instant::now();
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if interrupted.load(Ordering::Relaxed) && !cancelled.swap(true, Ordering::Relaxed) {
            let _ = send(w, frame::CANCEL, &[]);
        }
        // (`--to ADDR` names no member: nothing to watch.)
        if id != "-" && last_check.elapsed() >= Duration::from_millis(250) {
            last_check = Instant::now();
            if let Ok(state) = ask(control, &format!("state {id}")) {
                let state = state.trim();
                // A dead member may already be gone from the view ("unknown").
                if state == "dead" || state == "left" || state == "unknown" {
                    *failed.lock().unwrap() = Some(format!("the group declared it {state}"));
                    let _ = sock.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
    }
}

/// The job's items the node lacks, in order, in chunks.
fn upload(w: &Writer, data: &[&[u8]]) -> std::io::Result<()> {
    let total: usize = data.iter().map(|d| d.len()).sum();
    let show = total >= 8 << 20 && std::io::stderr().is_terminal();
    let mut sent = 0usize;
    let t0 = Instant::now();
    for d in data {
        for chunk in d.chunks(frame::CHUNK) {
            send(w, frame::DATA, chunk)?;
            sent += chunk.len();
            if show {
                let pct = sent * 100 / total;
                let bar = "#".repeat(pct / 4) + &" ".repeat(25 - pct / 4);
                eprint!("\rsion: uploading [{bar}] {pct:3}% {} / {} MiB", sent >> 20, total >> 20);
            }
        }
    }
    if show {
        eprintln!("\rsion: uploaded {} MiB in {:.1}s{}", total >> 20, t0.elapsed().as_secs_f64(), " ".repeat(30));
    }
    Ok(())
}

/// Answer one file request of the node (FS_LIST: the digest of the
/// listing it holds, then the request; FS_READ: the request): the bytes in
/// FS_DATA chunks, then FS_END with the status and the bytes' digest (a
/// listing the node holds already is answered "unchanged", without them).
fn answer(w: &Writer, shares: &Shares, stats: &Stats, kind: u8, payload: &[u8]) -> std::io::Result<()> {
    let (have, req) = if kind == frame::FS_LIST {
        if payload.len() < 32 {
            return Ok(());
        }
        (Some(&payload[..32]), &payload[32..])
    } else {
        (None, payload)
    };
    let tag = if kind == frame::FS_LIST { sion_abi::console::up::FS_LIST } else { sion_abi::console::up::FS_READ };
    let Some((id, got)) = shares.answer(tag, req) else { return Ok(()) };
    Stats::add(&stats.requests, 1);
    let id = id.to_le_bytes();
    let mut end = id.to_vec();
    match got {
        Ok(bytes) => {
            let digest = sion_group::cache::sha256(&bytes);
            if have == Some(&digest[..]) {
                Stats::add(&stats.unchanged, 1);
                end.extend_from_slice(&frame::UNCHANGED.to_le_bytes());
            } else {
                for chunk in bytes.chunks(frame::CHUNK) {
                    let mut p = Vec::with_capacity(4 + chunk.len());
                    p.extend_from_slice(&id);
                    p.extend_from_slice(chunk);
                    send(w, frame::FS_DATA, &p)?;
                }
                Stats::add(&stats.file_bytes, bytes.len() as u64);
                end.extend_from_slice(&0i32.to_le_bytes());
            }
            end.extend_from_slice(&digest);
        }
        Err(errno) => end.extend_from_slice(&errno.to_le_bytes()),
    }
    send(w, frame::FS_END, &end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lines_up() {
        let text = "00000000000000aa\tws\t127.0.0.2:7470\talive\t250\t2\t1000\t2000\t900\t10000\t1\t1\t1\t1\n\
                    00000000000000bb\tnode-long-name\t127.0.0.3:7470\tsuspect\t0\t1\t64\t256\t1200\t0\t0\t1\t0\t0\n";
        let rows = parse_rows(text);
        assert_eq!(rows.len(), 2);
        let t = render_table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        // Columns start at the same offsets.
        let col = |l: &str, w: &str| l.find(w).unwrap();
        assert_eq!(col(lines[0], "ADDRESS"), col(lines[1], "127.0.0.2"));
        assert_eq!(col(lines[1], "127.0.0.2"), col(lines[2], "127.0.0.3"));
        assert!(lines[1].starts_with("00000000* ") || lines[1].starts_with("00000000*"));
        let j = render_json(&rows);
        assert!(j.contains("\"name\":\"node-long-name\"") && j.contains("\"load\":0.250"));
    }
}
