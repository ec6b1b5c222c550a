//! `sion`: the SiON workstation command.
//!
//! `sion exec PROGRAM [ARGS]...` runs a static Linux program on a fresh SiON
//! node in QEMU as if it ran here (see `cli.rs` for the options).
#![deny(unsafe_code)] // the one exception is in qemu.rs (PR_SET_PDEATHSIG), commented there

mod args;
mod cli;
mod console;
mod deps;
mod elf_check;
mod group;
mod image;
mod outfiles;
mod qemu;
mod share;
mod up;

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use cli::{Cli, Command, ExecArgs};
use console::LogSink;
use qemu::{NodeConfig, Qemu, SpawnError};

/// The node failed (QEMU missing, boot failure, panic, timeout); also sion's own failures.
const EXIT_NODE_FAILED: i32 = 125;
/// How long QEMU may take to connect to the serial sockets.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the node may take to power off after the job's EXIT frame.
const POWEROFF_GRACE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(5);

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Exec(args) => {
            init_tracing(args.verbose);
            exec(args)
        }
        Command::Daemon(args) => group::daemon::main(args),
        Command::Nodes(args) => group::client::nodes(args),
        Command::Run(args) => {
            if args.control.is_none() {
                up::enter_lan();
            }
            group::client::run(args)
        }
        Command::Up(args) => up::up(args),
        Command::Down(args) => up::down(args),
        Command::Key(args) => group::key::main(args),
        Command::Generate { what, dir } => {
            let written = match dir {
                Some(dir) if what == cli::Generated::Man => cli::generate_man_pages(&dir),
                Some(_) => Err(io::Error::other("--dir is for the man pages")),
                None => cli::generate(what, &mut io::stdout().lock()),
            };
            match written {
                Ok(()) => 0,
                Err(e) => failed(format!("generate: {e}")),
            }
        }
    };
    let _ = io::stdout().flush();
    std::process::exit(code);
}

fn init_tracing(verbose: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) => spec.parse::<tracing_subscriber::filter::Targets>().ok(),
        Err(_) if verbose => "sion=debug".parse().ok(),
        Err(_) => None,
    };
    if let Some(filter) = filter {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let fmt = tracing_subscriber::fmt::layer().with_writer(io::stderr).without_time();
        let _ = tracing_subscriber::registry().with(fmt).with(filter).try_init();
    }
}

/// Reports a node failure and gives its status.
fn node_failed(reason: impl std::fmt::Display) -> i32 {
    eprintln!("sion: node failed: {reason}");
    EXIT_NODE_FAILED
}

/// Reports a failure of sion itself (bad `--file`, unwritable `--log`...).
fn failed(reason: impl std::fmt::Display) -> i32 {
    eprintln!("sion: {reason}");
    EXIT_NODE_FAILED
}

fn exec(args: ExecArgs) -> i32 {
    // ^C and SIGTERM: stop the node and leave like a killed program would.
    let interrupted = Arc::new(AtomicBool::new(false));
    let terminated = Arc::new(AtomicBool::new(false));
    for (sig, flag) in [(signal_hook::consts::SIGINT, &interrupted), (signal_hook::consts::SIGTERM, &terminated)] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(flag)) {
            tracing::warn!("cannot handle signal {sig}: {e}");
        }
    }
    let signalled = || {
        if interrupted.load(Ordering::Relaxed) {
            Some(130)
        } else if terminated.load(Ordering::Relaxed) {
            Some(143)
        } else {
            None
        }
    };

    // 1. The program: refused before booting if SiON cannot run it.
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => return failed(format!("cannot get the current directory: {e}")),
    };
    let located = elf_check::locate(Path::new(&args.program), std::env::var_os("PATH").as_deref());
    let program = match elf_check::check_file(&located) {
        Ok((kind, bytes)) => {
            tracing::debug!(?kind, path = %located.display(), "program accepted");
            bytes
        }
        Err(refusal) => {
            eprintln!("sion: {}: {refusal}", Path::new(&args.program).display());
            return refusal.exit_status();
        }
    };
    let exe = match std::fs::canonicalize(&located) {
        Ok(p) => p,
        Err(e) => return failed(format!("{}: {e}", located.display())),
    };
    let mut files = match image::collect_files(&args.files, &cwd) {
        Ok(f) => f,
        Err(e) => return failed(format!("{e:#}")),
    };
    // A script's interpreter, a dynamic program's loader and libraries.
    match deps::stage(&located, &mut files) {
        Ok(warnings) => {
            for w in warnings {
                eprintln!("sion: warning: {w}");
            }
        }
        Err(e) => {
            eprintln!("sion: {e}");
            return e.exit_status();
        }
    }
    let mut argv: Vec<OsString> = vec![args.program.clone()];
    argv.extend(args.args.iter().cloned());
    let mut seed = [0u8; 32];
    if let Err(e) = File::open("/dev/urandom").and_then(|mut f| io::Read::read_exact(&mut f, &mut seed)) {
        return failed(format!("reading /dev/urandom: {e}"));
    }
    // The ids of this process, without libc: the owner of /proc/self.
    let (uid, gid) = match std::fs::metadata("/proc/self") {
        Ok(m) => (std::os::unix::fs::MetadataExt::uid(&m), std::os::unix::fs::MetadataExt::gid(&m)),
        Err(_) => (0, 0),
    };
    // The program's working directory, and the --out paths on both sides.
    let guest_cwd = match &args.cwd {
        Some(d) => image::normalize(d, &cwd),
        None => cwd.clone(),
    };
    let out_specs: Vec<(String, PathBuf)> = args
        .outs
        .iter()
        .map(|o| {
            let g = image::normalize(&o.guest, &guest_cwd);
            let h = image::normalize(o.host.as_deref().unwrap_or(&o.guest), &cwd);
            (g.to_string_lossy().into_owned(), h)
        })
        .collect();
    let outs = out_specs.iter().map(|(g, _)| PathBuf::from(g)).collect();
    // What the job sees of this machine, on demand.
    let shares = if args.share.no_share { share::Shares::default() } else { share::for_job(&cwd, args.cwd.is_none(), &args.args, &args.share.shares) };
    let job = image::Job {
        program,
        argv,
        env: image::job_env(&args.env, args.clear_env),
        exe,
        cwd: guest_cwd,
        files,
        uid,
        gid,
        seed,
        outs,
        trace: if args.trace.is_some() {
            Some("1")
        } else if args.trace_counts.is_some() {
            Some("counts")
        } else {
            None
        },
        shares: shares.paths().to_vec(),
        // The working directory is written back when it is this one, shared.
        write_back: (!args.share.no_write_back && !args.share.no_share && args.cwd.is_none()).then(|| cwd.clone()),
    };
    let write_back_dir = job.write_back.clone();
    let shares = Arc::new(shares);

    // 2. The node image.
    let dir = qemu::image_dir();
    let kernel = dir.join("sion-kernel");
    if !kernel.is_file() {
        return node_failed(format!("no node image at {} (run `cargo xtask build` first)", kernel.display()));
    }
    // The servers, the personality first: it is the boot server.
    let mut servers = Vec::new();
    for name in ["personality", "netstack"] {
        let path = dir.join(format!("sion-{name}"));
        match std::fs::read(&path) {
            Ok(b) => servers.push((name, b)),
            Err(e) => return node_failed(format!("no node image at {}: {e} (run `cargo xtask build` first)", path.display())),
        }
    }
    let servers: Vec<(&str, &[u8])> = servers.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let archive = match image::compose(&servers, &job) {
        Ok(a) => a,
        Err(e) => return failed(format!("{e:#}")),
    };
    let mem = args.mem.unwrap_or_else(crate::args::default_mem);
    if let Err(e) = image::check_fits(&job.files, archive.len() as u64, mem.0) {
        return failed(format!("{e:#}"));
    }
    drop(job);
    let tmp = match tempfile::Builder::new().prefix("sion-").tempdir() {
        Ok(t) => t,
        Err(e) => return failed(format!("cannot create a temporary directory: {e}")),
    };
    let initrd = tmp.path().join("boot.cpio");
    if let Err(e) = std::fs::write(&initrd, &archive) {
        return failed(format!("{}: {e}", initrd.display()));
    }
    drop(archive);
    tracing::debug!(dir = %tmp.path().display(), "boot archive written");

    // 3. The log.
    let log_path = args.log.clone().unwrap_or_else(|| tmp.path().join("node.log"));
    let log_file = match File::create(&log_path) {
        Ok(f) => f,
        Err(e) => return failed(format!("cannot create the log {}: {e}", log_path.display())),
    };
    let mut log = LogSink::new(Some(Box::new(io::BufWriter::new(log_file))), args.verbose);
    if let Some(path) = args.trace.as_ref().or(args.trace_counts.as_ref()) {
        match File::create(path) {
            Ok(f) => log.trace = Some(Box::new(io::BufWriter::new(f))),
            Err(e) => return failed(format!("cannot create the trace {}: {e}", path.display())),
        }
    }
    let log = log.shared();

    let realtime_ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut accel = args.accel;
    let started = Instant::now();
    // Booted once, or twice when KVM cannot run the node: then again with TCG.
    let (mut node, log_thread, job_thread, exit, out_files, to_node) = loop {
        // 4. The serial sockets, listening before QEMU starts.
        let (log_sock, job_sock) = (tmp.path().join("log.sock"), tmp.path().join("job.sock"));
        let _ = (std::fs::remove_file(&log_sock), std::fs::remove_file(&job_sock));
        let listeners = match (UnixListener::bind(&log_sock), UnixListener::bind(&job_sock)) {
            (Ok(a), Ok(b)) => [a, b],
            (Err(e), _) | (_, Err(e)) => return failed(format!("cannot listen on {}: {e}", tmp.path().display())),
        };

        // 5. QEMU.
        let config = NodeConfig {
            kernel: kernel.clone(),
            initrd: initrd.clone(),
            mem,
            accel,
            cpus: args.cpus,
            realtime_ns,
            log_socket: log_sock,
            job_socket: job_sock,
            publish: args.publish.clone(),
        };
        let qemu_args = qemu::qemu_args(&config);
        tracing::debug!(args = ?qemu_args, "starting {}", qemu::QEMU);
        if let Some(code) = signalled() {
            return code;
        }
        let mut node = match Qemu::spawn(qemu::QEMU, &qemu_args) {
            Ok(q) => q,
            Err(SpawnError::NotFound) => {
                return node_failed(format!("{} not found (apt-get install qemu-system-x86)", qemu::QEMU))
            }
            Err(SpawnError::Other(e)) => return node_failed(format!("cannot start {}: {e}", qemu::QEMU)),
        };
        tracing::debug!(pid = node.id(), "QEMU started");

        let [log_stream, job_stream] = match accept_both(&listeners, &mut node, &signalled) {
            Ok(s) => s,
            Err(code) => return code,
        };
        drop(listeners);
        tracing::debug!(elapsed = ?started.elapsed(), "QEMU connected");

        // 6. The pumps.
        let log_thread = {
            let log = log.clone();
            std::thread::spawn(move || console::pump_log(log_stream, log))
        };
        let exit = Arc::new(Mutex::new(None));
        let out_files = Arc::new(Mutex::new(outfiles::OutFiles::default()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (fs_tx, fs_rx) = std::sync::mpsc::channel::<(u8, Vec<u8>)>();
        let job_thread = {
            let (log, exit) = (log.clone(), exit.clone());
            let reader = match job_stream.try_clone() {
                Ok(r) => r,
                Err(e) => return failed(format!("job console: {e}")),
            };
            let out_files = out_files.clone();
            std::thread::spawn(move || console::pump_job(reader, io::stdout(), io::stderr(), log, exit, ready_tx, out_files, Some(fs_tx)))
        };
        let to_node = console::FrameWriter(Arc::new(Mutex::new(job_stream)));
        // The workstation's files, as the node asks for them.
        {
            let (to_node, shares) = (to_node.clone(), Arc::clone(&shares));
            std::thread::spawn(move || {
                for (tag, payload) in fs_rx {
                    if shares.answer_console(tag, &payload, &to_node).is_err() {
                        return;
                    }
                }
            });
        }
        // Under KVM, the node must show progress (its first server's console
        // up) soon: a host whose KVM cannot run ring 3 properly hangs it
        // right after boot. Then the job runs under TCG instead.
        let ready_rx = if accel == crate::args::Accel::Kvm {
            match wait_ready(&ready_rx, &mut node, KVM_PROGRESS, &signalled) {
                Ready::Yes(first) => {
                    // The stdin pump gets the READY taken here, then the rest.
                    let (tx, rx) = std::sync::mpsc::channel();
                    let _ = tx.send(first);
                    std::thread::spawn(move || {
                        for f in ready_rx {
                            if tx.send(f).is_err() {
                                return;
                            }
                        }
                    });
                    rx
                }
                Ready::Signalled(code) => {
                    node.kill();
                    return code;
                }
                Ready::No(why) => {
                    node.kill();
                    node.finish_output();
                    let _ = (job_thread.join(), log_thread.join());
                    eprintln!("sion: warning: --accel kvm: {why}; KVM cannot run the node on this host, running it with TCG");
                    log.lock().unwrap().restart();
                    accel = crate::args::Accel::Tcg;
                    continue;
                }
            }
        } else {
            ready_rx
        };
        // Detached: it may sit in a read of a terminal forever; exit never waits for it.
        {
            let to_node = to_node.clone();
            std::thread::spawn(move || console::pump_stdin(io::stdin(), to_node, ready_rx));
        }
        break (node, log_thread, job_thread, exit, out_files, to_node);
    };

    // 7. Wait for the node to power off, a timeout or a signal.
    let timeout = args.timeout.map(Duration::from_secs);
    let mut exit_seen: Option<Instant> = None;
    // ^C and SIGTERM go to the job, as a terminal's ^C goes to its
    // foreground group: a job that catches it runs on; a second one stops
    // the node.
    let mut forwarded = false;
    let status = loop {
        if let Some(code) = signalled() {
            let sig = if code == 130 { 2u8 } else { 15u8 };
            if !forwarded && to_node.send(sion_abi::console::down::SIGNAL, &[sig]).is_ok() {
                tracing::debug!(sig, "signal forwarded to the job");
                forwarded = true;
                interrupted.store(false, Ordering::Relaxed);
                terminated.store(false, Ordering::Relaxed);
            } else {
                node.kill();
                return code;
            }
        }
        match node.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(e) => {
                node.kill();
                return node_failed(format!("cannot wait for QEMU: {e}"));
            }
        }
        if let Some(t) = timeout {
            if started.elapsed() >= t {
                node.kill();
                return node_failed(format!("timed out after {} s", t.as_secs()));
            }
        }
        if exit.lock().unwrap().is_some() {
            let seen = *exit_seen.get_or_insert_with(Instant::now);
            if seen.elapsed() >= POWEROFF_GRACE {
                tracing::warn!("the node reported the exit but did not power off; killing QEMU");
                node.kill();
                break None;
            }
        }
        std::thread::sleep(POLL);
    };
    // QEMU is gone, so both sockets are at their end: everything it sent is in.
    node.finish_output();
    let _ = job_thread.join();
    let _ = log_thread.join();
    let _ = io::stdout().flush();

    // 8. The outcome.
    if let Some(e) = *exit.lock().unwrap() {
        match out_files.lock().unwrap().write(&out_specs) {
            Ok(missing) => {
                for m in missing {
                    eprintln!("sion: --out {m}: no such file or directory on the node");
                }
            }
            Err(err) => eprintln!("sion: {err:#}"),
        }
        if let Some(dir) = &write_back_dir {
            let (notes, written) = out_files.lock().unwrap().write_back(dir);
            tracing::debug!(written, "written back to {}", dir.display());
            for n in notes {
                eprintln!("sion: write-back: {n}");
            }
        }
        if let (sion_abi::console::Exit::Signal(9), Some(limit)) = (e, log.lock().unwrap().oom_limit) {
            eprintln!("{}", oom_message(mem.0, limit));
        }
        return e.shell_status();
    }
    let reason = log.lock().unwrap().failure_reason();
    let reason = reason.unwrap_or_else(|| {
        let out = node.output();
        let last = out.lines().map(str::trim).rfind(|l| !l.is_empty()).map(str::to_string);
        let st = status.map(|s| s.to_string()).unwrap_or_else(|| "unknown status".into());
        match last {
            Some(l) => format!("QEMU ended ({st}): {l}"),
            None => format!("QEMU ended ({st}) before the program's exit was reported"),
        }
    });
    node_failed(reason)
}

/// What sion says when the job was killed for memory, as Linux's OOM killer
/// logs it (the status stays 137).
pub fn oom_message(node_mem: u64, job_limit: u64) -> String {
    format!(
        "sion: the program was killed: out of memory (node memory {} MiB, {} MiB for the job; try --mem)",
        node_mem >> 20,
        job_limit >> 20
    )
}

/// How long a node under KVM may take to bring its first server's console
/// up (READY) before sion concludes KVM cannot run it; a working KVM boot
/// takes milliseconds.
const KVM_PROGRESS: Duration = Duration::from_secs(5);

enum Ready {
    /// READY came (the message, for the stdin pump).
    Yes(console::Flow),
    /// No READY: why.
    No(String),
    Signalled(i32),
}

/// Waits for the node's READY (from the job pump), QEMU's end, a signal or
/// the deadline.
fn wait_ready(ready: &std::sync::mpsc::Receiver<console::Flow>, node: &mut Qemu, deadline: Duration, signalled: &dyn Fn() -> Option<i32>) -> Ready {
    let t0 = Instant::now();
    loop {
        match ready.recv_timeout(POLL) {
            Ok(f @ console::Flow::Ready(_)) => return Ready::Yes(f),
            Ok(console::Flow::Taken(_)) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Some(code) = signalled() {
            return Ready::Signalled(code);
        }
        if let Ok(Some(st)) = node.try_wait() {
            node.finish_output();
            let out = node.output();
            let last = out.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("").to_string();
            return Ready::No(if last.is_empty() { format!("QEMU ended ({st}) before the node was up") } else { format!("QEMU ended ({st}): {last}") });
        }
        if t0.elapsed() >= deadline {
            return Ready::No(format!("the node made no progress in {} s after boot", deadline.as_secs()));
        }
    }
}

/// Accepts QEMU's connections to the log and job sockets (in that order of the
/// array). On failure returns the exit status after reporting the reason.
fn accept_both(
    listeners: &[UnixListener; 2],
    node: &mut Qemu,
    signalled: &dyn Fn() -> Option<i32>,
) -> Result<[UnixStream; 2], i32> {
    for l in listeners {
        if let Err(e) = l.set_nonblocking(true) {
            return Err(failed(format!("socket: {e}")));
        }
    }
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let mut streams: [Option<UnixStream>; 2] = [None, None];
    loop {
        for (slot, l) in streams.iter_mut().zip(listeners) {
            if slot.is_none() {
                if let Ok((s, _)) = l.accept() {
                    if let Err(e) = s.set_nonblocking(false) {
                        return Err(failed(format!("socket: {e}")));
                    }
                    *slot = Some(s);
                }
            }
        }
        if let [Some(_), Some(_)] = &streams {
            let [a, b] = streams;
            return Ok([a.unwrap(), b.unwrap()]);
        }
        if let Some(code) = signalled() {
            node.kill();
            return Err(code);
        }
        if let Ok(Some(st)) = node.try_wait() {
            node.finish_output();
            let out = node.output();
            let out = out.trim();
            let reason = if out.is_empty() { format!("QEMU exited at start-up ({st})") } else { out.replace('\n', "; ") };
            return Err(node_failed(reason));
        }
        if Instant::now() >= deadline {
            node.kill();
            return Err(node_failed(format!("QEMU did not connect to the serial ports within {} s", CONNECT_TIMEOUT.as_secs())));
        }
        std::thread::sleep(POLL);
    }
}
