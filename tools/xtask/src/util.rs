//! Paths, command helpers and tables shared by the tasks.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub type Result<T> = std::result::Result<T, String>;

/// The workspace root (two levels above this crate).
pub fn root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}

/// The cargo target directory (honours CARGO_TARGET_DIR).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                root().join(d)
            }
        }
        _ => root().join("target"),
    }
}

/// The `sion` host binary built by `cargo xtask build`.
/// Where `sion up` keeps its state (as tools/sion's `up::state_dir`).
pub fn sion_state_dir() -> PathBuf {
    let base = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("sion"),
        _ => PathBuf::from(format!("/tmp/sion-{}", std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(0))),
    };
    base.join("up")
}

pub fn sion_binary() -> PathBuf {
    target_dir().join("release/sion")
}

/// A `cargo` command (the same cargo that runs xtask).
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
}

/// Shell-like rendering of a command, for logs.
pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&quote(&a.to_string_lossy()));
    }
    s
}

/// Quote an argument for display the way a shell user would type it.
pub fn quote(a: &str) -> String {
    let plain = !a.is_empty()
        && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

/// Run a command with inherited stdio; Ok(true) when it exits 0.
pub fn run_status(cmd: &mut Command) -> Result<bool> {
    tracing::debug!("$ {}", show(cmd));
    let status = cmd.status().map_err(|e| format!("cannot run {}: {e}", show(cmd)))?;
    Ok(status.success())
}

/// Run a command with inherited stdio; an error unless it exits 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    if run_status(cmd)? {
        Ok(())
    } else {
        Err(format!("command failed: {}", show(cmd)))
    }
}

/// A section header on stderr, so long output stays readable.
pub fn banner(what: &str) {
    eprintln!("\n==> {what}");
}

/// How a child process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signaled(i32),
    TimedOut(u64),
    NotRun(String),
}

impl Outcome {
    pub fn from_status(s: ExitStatus) -> Outcome {
        use std::os::unix::process::ExitStatusExt;
        match (s.code(), s.signal()) {
            (Some(c), _) => Outcome::Exited(c),
            (None, Some(sig)) => Outcome::Signaled(sig),
            _ => Outcome::NotRun(format!("unknown status {s:?}")),
        }
    }

    /// The status a shell would report: the exit code or 128 + signal.
    pub fn shell_code(&self) -> Option<i32> {
        match self {
            Outcome::Exited(c) => Some(*c),
            Outcome::Signaled(s) => Some(128 + s),
            _ => None,
        }
    }

    pub fn short(&self) -> String {
        match self {
            Outcome::Exited(c) => format!("exit {c}"),
            Outcome::Signaled(s) => format!("signal {s}"),
            Outcome::TimedOut(t) => format!("timeout {t}s"),
            Outcome::NotRun(_) => "not run".into(),
        }
    }
}

/// Output of a finished child.
pub struct Captured {
    pub outcome: Outcome,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

fn reader<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        buf
    })
}

/// Kill the child and everything in its process group (the child was
/// started as a group leader, so QEMU started by `sion` dies with it).
fn kill_group(child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill() has no memory effects; the group is the one we created.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let _ = child.kill();
}

/// Run `cmd` with `stdin` (None: /dev/null), capturing stdout and stderr,
/// killing it (and its process group) after `timeout`.
pub fn capture(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> Captured {
    use std::os::unix::process::CommandExt;
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    tracing::debug!("$ {}", show(cmd));
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Captured {
                outcome: Outcome::NotRun(format!("cannot start {}: {e}", cmd.get_program().to_string_lossy())),
                stdout: Vec::new(),
                stderr: Vec::new(),
            }
        }
    };
    let writer = match (child.stdin.take(), stdin) {
        (Some(mut w), Some(data)) => {
            let data = data.to_vec();
            Some(std::thread::spawn(move || {
                // The program may exit without reading: EPIPE is fine.
                let _ = w.write_all(&data);
            }))
        }
        _ => None,
    };
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let outcome = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Outcome::from_status(status),
            Ok(None) if start.elapsed() >= timeout => {
                kill_group(&mut child);
                let _ = child.wait();
                break Outcome::TimedOut(timeout.as_secs());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => break Outcome::NotRun(format!("wait failed: {e}")),
        }
    };
    // Anything left in the group (a grandchild holding our pipes) goes too.
    kill_group(&mut child);
    if let Some(w) = writer {
        let _ = w.join();
    }
    Captured {
        outcome,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// A plain-text table whose columns line up.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table { header: header.iter().map(|s| s.to_string()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    pub fn render(&self) -> String {
        let n = self.header.len();
        let mut width = vec![0; n];
        for r in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in r.iter().enumerate().take(n) {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let line = |r: &Vec<String>| {
            let mut s = String::new();
            for (i, c) in r.iter().enumerate().take(n) {
                if i + 1 == n {
                    s.push_str(c);
                } else {
                    s.push_str(&format!("{c:<w$}  ", w = width[i]));
                }
            }
            s.trim_end().to_string() + "\n"
        };
        let mut out = line(&self.header);
        let total: usize = width.iter().sum::<usize>() + 2 * (n - 1);
        out.push_str(&"-".repeat(total));
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_line_up() {
        let mut t = Table::new(&["test", "abi", "verdict"]);
        t.row(vec!["hello".into(), "musl".into(), "pass".into()]);
        t.row(vec!["procself".into(), "i386".into(), "FAIL".into()]);
        let s = t.render();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "test      abi   verdict");
        assert_eq!(lines[2], "hello     musl  pass");
        assert_eq!(lines[3], "procself  i386  FAIL");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote("two words"), "'two words'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn capture_reports_signal_and_output() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "cat; echo err >&2; kill -SEGV $$"]);
        let c = capture(&mut cmd, Some(b"in\n"), Duration::from_secs(10));
        assert_eq!(c.outcome, Outcome::Signaled(11));
        assert_eq!(c.outcome.shell_code(), Some(139));
        assert_eq!(c.stdout, b"in\n");
        assert_eq!(c.stderr, b"err\n");
    }

    #[test]
    fn capture_times_out() {
        let mut cmd = Command::new("sleep");
        cmd.arg("10");
        let c = capture(&mut cmd, None, Duration::from_millis(200));
        assert_eq!(c.outcome, Outcome::TimedOut(0));
    }

    #[test]
    fn capture_missing_program() {
        let mut cmd = Command::new("/nonexistent/program");
        let c = capture(&mut cmd, None, Duration::from_secs(1));
        assert!(matches!(c.outcome, Outcome::NotRun(_)));
    }
}

/// Run `work` on every item with `workers` threads, items taken in order;
/// `done(n, result)` is called as each finishes (n counts from 1, for
/// progress lines). The results come back in the items' order.
pub fn parallel<T: Sync, R: Send>(items: &[T], workers: usize, work: impl Fn(&T) -> R + Sync, done: impl Fn(usize, &R) + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = work(item);
                done(finished.fetch_add(1, Ordering::SeqCst) + 1, &r);
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    results.into_inner().unwrap().into_iter().flatten().collect()
}
