//! The differential compat suite: every `compat-tests/src/NAME.c` is built
//! three ways (musl, glibc, i386 glibc), run on the host and through
//! `sion exec`, and the two runs must agree on stdout, stderr and exit
//! status. The host run must also match the test's declared exit status, so
//! a test that Linux itself fails is caught. See docs/testing.md.

use crate::util::{self, Captured, Outcome, Result, Table};
pub use sion_compat_spec::{Abi, Expect, Spec};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// Seconds `sion exec --timeout` gives each test program.
pub const SION_TIMEOUT: u64 = 60;
/// The runner's own limit for a host run.
const HOST_TIMEOUT: Duration = Duration::from_secs(60);
/// The runner's limit for `sion exec` (its own timeout plus boot and slack).
const SION_WATCHDOG: Duration = Duration::from_secs(SION_TIMEOUT + 60);

#[derive(clap::Args, Clone, Debug)]
pub struct SuiteArgs {
    /// Run the tests on the host only (checks the tests themselves, not SiON).
    #[arg(long)]
    pub host_only: bool,
    /// Parallel workers.
    #[arg(short, long, default_value_t = 2)]
    pub jobs: usize,
    /// ABIs to run (comma separated): musl, glibc, i386, glibc-dyn.
    #[arg(long, value_delimiter = ',', default_value = "musl,glibc,i386,glibc-dyn", value_parser = <Abi as std::str::FromStr>::from_str)]
    pub abi: Vec<Abi>,
    /// CPUs of each SiON node (`sion exec --cpus`; more than one runs on
    /// multi-threaded TCG).
    #[arg(long, default_value_t = 1)]
    pub cpus: u32,
    /// Only tests whose name contains one of these strings.
    pub filter: Vec<String>,
}

/// Whether the host run came out as the test declares.
fn expect_matches(e: Expect, o: &Outcome) -> bool {
    match (e, o) {
        (Expect::Exit(a), Outcome::Exited(b)) => a == *b,
        (Expect::Signal(a), Outcome::Signaled(b)) => a == *b,
        _ => false,
    }
}

/// The compat-tests directory.
pub fn tests_dir() -> PathBuf {
    util::root().join("compat-tests")
}

/// One test file.
#[derive(Clone, Debug)]
pub struct TestFile {
    pub name: String,
    pub path: PathBuf,
    pub spec: std::result::Result<Spec, String>,
}

pub fn discover() -> Result<Vec<TestFile>> {
    let mut tests = Vec::new();
    // C tests in src/, program tests (a prebuilt binary, files staged in and
    // out) in programs/, Go programs in go/.
    for (sub, ext) in [("src", "c"), ("programs", "test"), ("go", "go")] {
        let dir = tests_dir().join(sub);
        if sub != "src" && !dir.is_dir() {
            continue;
        }
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for e in entries {
            let path = e.map_err(|e| e.to_string())?.path();
            if path.extension().and_then(|x| x.to_str()) != Some(ext) {
                continue;
            }
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let spec = std::fs::read_to_string(&path)
                .map_err(|e| format!("{}: {e}", path.display()))
                .and_then(|s| Spec::parse(&s).map_err(|e| format!("{name}.{ext} header: {e}")))
                .and_then(|mut spec| {
                    if ext == "test" {
                        if spec.program.is_none() {
                            return Err(format!("{name}.test: no `program:` line"));
                        }
                        // A prebuilt program is one binary: Debian's static
                        // programs are glibc ones.
                        if !std::fs::read_to_string(&path).unwrap_or_default().lines().any(|l| l.trim_start().starts_with("// abis:")) {
                            spec.abis = vec![Abi::Glibc];
                        }
                    }
                    if ext == "go" {
                        // Go links no libc: its amd64 build runs in the musl
                        // column (x86_64 `syscall`), its 386 build in i386's.
                        spec.abis.retain(|a| matches!(a, Abi::Musl | Abi::I386));
                    }
                    Ok(spec)
                });
            tests.push(TestFile { name, path, spec });
        }
    }
    tests.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tests)
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Build one test for one ABI into target/compat/ABI/NAME (if out of date).
fn compile(t: &TestFile, spec: &Spec, abi: Abi) -> Result<PathBuf> {
    if let Some(p) = &spec.program {
        let p = PathBuf::from(p);
        return if p.is_file() { Ok(p) } else { Err(format!("{}: not installed (run `cargo xtask setup`)", p.display())) };
    }
    let out_dir = util::target_dir().join("compat").join(abi.name());
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let out = out_dir.join(&t.name);
    let header = tests_dir().join("include/compat.h");
    let newest_input = [mtime(&t.path), mtime(&header)].into_iter().flatten().max();
    if let (Some(o), Some(i)) = (mtime(&out), newest_input) {
        if o > i {
            return Ok(out);
        }
    }
    if t.path.extension().and_then(|x| x.to_str()) == Some("go") {
        return compile_go(t, abi, &out);
    }
    let (cc, flags) = abi.compiler();
    let mut cmd = Command::new(cc);
    cmd.args(flags)
        .args(["-Wall", "-U_FORTIFY_SOURCE", "-I"])
        .arg(tests_dir().join("include"))
        .arg(&t.path)
        // After the source, so libraries resolve its symbols (a dynamic link
        // keeps only the libraries needed by what comes before them).
        .args(&spec.cflags)
        .arg("-o")
        .arg(&out);
    tracing::debug!("$ {}", util::show(&cmd));
    let res = cmd.output().map_err(|e| format!("cannot run {cc}: {e} (run `cargo xtask setup`)"))?;
    if !res.status.success() {
        let _ = std::fs::remove_file(&out);
        return Err(format!(
            "{} failed:\n{}",
            util::show(&cmd),
            String::from_utf8_lossy(&res.stderr).trim_end()
        ));
    }
    Ok(out)
}

/// A Go test: `go build` with CGO_ENABLED=0 (a static program, as Go
/// builds it by default), GOARCH amd64 for the musl column, 386 for i386's.
fn compile_go(t: &TestFile, abi: Abi, out: &Path) -> Result<PathBuf> {
    let goarch = match abi {
        Abi::Musl => "amd64",
        Abi::I386 => "386",
        Abi::Glibc | Abi::GlibcDyn => return Err(format!("{}: a Go program has no glibc build", t.name)),
    };
    let cache = util::target_dir().join("compat/go-cache");
    let mut cmd = Command::new("go");
    cmd.args(["build", "-o"])
        .arg(out)
        .arg(&t.path)
        .env("CGO_ENABLED", "0")
        .env("GOARCH", goarch)
        .env("GOOS", "linux")
        .env("GOCACHE", &cache)
        .env("GOPATH", cache.join("gopath"))
        .env("GOFLAGS", "-trimpath")
        .env("GOTOOLCHAIN", "local");
    tracing::debug!("$ {}", util::show(&cmd));
    let res = cmd.output().map_err(|e| format!("cannot run go: {e} (run `cargo xtask setup`, which installs golang-go)"))?;
    if !res.status.success() {
        let _ = std::fs::remove_file(out);
        return Err(format!("{} failed:\n{}", util::show(&cmd), String::from_utf8_lossy(&res.stderr).trim_end()));
    }
    Ok(out.to_path_buf())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// The host run disagrees with the test's declaration: the test or the
    /// host is broken, SiON is not to blame.
    HostFail,
    /// Host and SiON differ.
    Differ,
    /// `sion exec` could not run the program (node failure, refused, timeout).
    SionError,
    /// The test did not build or its header is invalid.
    BuildFail,
}

impl Verdict {
    fn show(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::HostFail => "FAIL (host)",
            Verdict::Differ => "FAIL (differs)",
            Verdict::SionError => "FAIL (sion)",
            Verdict::BuildFail => "FAIL (build)",
        }
    }
}

struct Job {
    test: TestFile,
    abi: Abi,
}

struct JobResult {
    name: String,
    abi: Abi,
    host: String,
    sion: String,
    verdict: Verdict,
    elapsed: Duration,
    /// Explanation shown after the table for anything but a pass.
    details: String,
}

/// Totals of a suite run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Summary {
    pub fn exit_ok(&self) -> bool {
        self.failed == 0 && self.passed > 0
    }

    /// The closing line: `N passed, N failed` (plus `, N skipped`).
    pub fn closing_line(&self) -> String {
        let mut s = format!("{} passed, {} failed", self.passed, self.failed);
        if self.skipped > 0 {
            s.push_str(&format!(", {} skipped", self.skipped));
        }
        s
    }

    pub fn short(&self) -> String {
        let s = self.closing_line();
        if self.exit_ok() {
            s
        } else {
            format!("FAILED: {s}")
        }
    }
}

fn show_outcome(c: &Captured) -> String {
    match &c.outcome {
        Outcome::NotRun(e) => format!("not run: {e}"),
        o => o.short(),
    }
}

/// The last non-empty line of a byte stream (sion's one-line reason).
fn last_line(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string()
}

fn run_job(job: &Job, host_only: bool, cpus: u32, sion_unavailable: Option<&str>) -> JobResult {
    let start = Instant::now();
    let mut r = JobResult {
        name: job.test.name.clone(),
        abi: job.abi,
        host: "-".into(),
        sion: "-".into(),
        verdict: Verdict::BuildFail,
        elapsed: Duration::ZERO,
        details: String::new(),
    };
    let spec = match &job.test.spec {
        Ok(s) => s,
        Err(e) => {
            r.details = e.clone();
            return r;
        }
    };
    let binary = match compile(&job.test, spec, job.abi) {
        Ok(b) => b,
        Err(e) => {
            r.details = e;
            r.elapsed = start.elapsed();
            return r;
        }
    };
    // A scratch working directory per test and ABI (tests may create files).
    let scratch = util::target_dir().join("compat/run").join(format!("{}-{}", job.abi.name(), job.test.name));
    // Empty at the start of each run, on the host as on SiON.
    let _ = stage(&scratch, &[]);
    let staged = spec.program.is_some() || !spec.files.is_empty() || !spec.outs.is_empty();
    if staged {
        if let Err(e) = stage(&scratch, &spec.files) {
            r.details = e;
            return r;
        }
    }

    // Host: same argv (argv[0] = the path given to sion), env = the --env list.
    let mut host_cmd = Command::new(&binary);
    host_cmd.args(&spec.args).env_clear().current_dir(&scratch);
    for kv in &spec.env {
        let (k, v) = kv.split_once('=').unwrap();
        host_cmd.env(k, v);
    }
    no_core_dumps(&mut host_cmd);
    let mut host = util::capture(&mut host_cmd, spec.stdin.as_deref(), HOST_TIMEOUT);
    host.stdout.extend(read_outs(&scratch, &spec.outs));
    r.host = show_outcome(&host);
    let host_ok = expect_matches(spec.expect, &host.outcome);
    let mut details = Vec::new();
    if !host_ok {
        details.push(format!(
            "on Linux the test should end with {} but ended with {}: the test or the host is wrong",
            spec.expect.show(),
            show_outcome(&host)
        ));
        details.push(excerpt("host stdout", &host.stdout));
        details.push(excerpt("host stderr", &host.stderr));
    }

    if host_only {
        r.verdict = if host_ok { Verdict::Pass } else { Verdict::HostFail };
        r.elapsed = start.elapsed();
        r.details = details.join("\n");
        return r;
    }

    let sion = util::sion_binary();
    let sion_run = if let Some(why) = sion_unavailable {
        Captured { outcome: Outcome::NotRun(why.to_string()), stdout: vec![], stderr: vec![] }
    } else if !sion.is_file() {
        Captured {
            outcome: Outcome::NotRun(format!("{} not found: run `cargo xtask build`", sion.display())),
            stdout: vec![],
            stderr: vec![],
        }
    } else {
        let mut cmd = Command::new(&sion);
        // `env:` is the whole environment on both sides: the host run
        // starts from env_clear(), the SiON run without sion's default PATH.
        // No write-back: the outcome is compared, the working directory
        // (the workstation's, seen on demand) is not changed by the node.
        cmd.arg("exec").arg("--timeout").arg(SION_TIMEOUT.to_string()).arg("--clear-env").arg("--no-write-back");
        if cpus > 1 {
            cmd.arg("--cpus").arg(cpus.to_string());
        }
        // The node's log beside the scratch directory, kept for a failure.
        cmd.arg("--log").arg(scratch.with_extension("node.log"));
        for kv in &spec.env {
            cmd.arg("--env").arg(kv);
        }
        if !staged {
            // The node sees the working directory as the host run began in it.
            if let Err(e) = stage(&scratch, &[]) {
                r.details = e;
                return r;
            }
        }
        if staged {
            // The same starting point as the host run had: the data files
            // staged beside the (emptied) working directory and placed at
            // their paths in it with --file, so that only what --out brings
            // back appears in it.
            let inputs = scratch.with_extension("in");
            if let Err(e) = stage(&inputs, &spec.files).and_then(|_| stage(&scratch, &[])) {
                r.details = e;
                return r;
            }
            for f in &spec.files {
                let mut arg = inputs.join(f).into_os_string();
                arg.push(":");
                arg.push(scratch.join(f));
                cmd.arg("--file").arg(arg);
            }
        }
        for o in &spec.outs {
            cmd.arg("--out").arg(o);
        }
        cmd.arg(&binary).args(&spec.args).current_dir(&scratch);
        let mut c = util::capture(&mut cmd, spec.stdin.as_deref(), SION_WATCHDOG);
        c.stdout.extend(read_outs(&scratch, &spec.outs));
        c
    };
    r.sion = show_outcome(&sion_run);

    let host_code = host.outcome.shell_code();
    let sion_code = sion_run.outcome.shell_code();
    let same_status = host_code.is_some() && host_code == sion_code;
    let same_out = host.stdout == sion_run.stdout;
    let same_err = host.stderr == sion_run.stderr;

    let sion_failed = match &sion_run.outcome {
        Outcome::NotRun(e) => Some(e.clone()),
        Outcome::TimedOut(t) => Some(format!("sion exec did not finish within {t} s (runner watchdog)")),
        Outcome::Signaled(s) => Some(format!("sion exec itself was killed by signal {s}")),
        Outcome::Exited(c @ (125..=127)) if !same_status => {
            let why = match c {
                125 => "the node failed",
                126 => "sion refused the program",
                _ => "sion did not find the program",
            };
            Some(format!("sion exec exited {c} ({why}): {}", last_line(&sion_run.stderr)))
        }
        Outcome::Exited(_) => None,
    };

    r.verdict = if !host_ok {
        Verdict::HostFail
    } else if let Some(why) = &sion_failed {
        details.push(why.clone());
        if let Outcome::Exited(_) | Outcome::TimedOut(_) = sion_run.outcome {
            details.push(excerpt("sion stderr", &sion_run.stderr));
        }
        // What the node said last (its kernel and servers' log).
        let log = std::fs::read(scratch.with_extension("node.log")).unwrap_or_default();
        let tail: Vec<&[u8]> = log.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
        details.push(excerpt("node log, last lines", &tail[tail.len().saturating_sub(12)..].join(&b'\n')));
        Verdict::SionError
    } else if same_status && same_out && same_err {
        Verdict::Pass
    } else {
        if !same_status {
            details.push(format!(
                "exit status: host {} (= {}), sion {}",
                host.outcome.short(),
                host_code.map_or("-".into(), |c| c.to_string()),
                sion_run.outcome.short()
            ));
        }
        if !same_out {
            details.push(diff("stdout", &host.stdout, &sion_run.stdout));
        }
        if !same_err {
            details.push(diff("stderr", &host.stderr, &sion_run.stderr));
        }
        Verdict::Differ
    };
    r.elapsed = start.elapsed();
    r.details = details.into_iter().filter(|d| !d.is_empty()).collect::<Vec<_>>().join("\n");
    r
}

/// Empty the scratch directory and copy the declared data files into it.
fn stage(scratch: &Path, files: &[String]) -> Result<()> {
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    for f in files {
        copy_tree(&tests_dir().join("data").join(f), &scratch.join(f))?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let err = |e: std::io::Error| format!("staging {}: {e}", from.display());
    let link = std::fs::symlink_metadata(from).map_err(err)?.file_type().is_symlink();
    if link {
        // Links stay links, dangling or not (as `sion exec --file DIR` keeps them).
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).map_err(err)?;
        }
        let target = std::fs::read_link(from).map_err(err)?;
        let _ = std::fs::remove_file(to);
        std::os::unix::fs::symlink(target, to).map_err(err)
    } else if from.is_dir() {
        std::fs::create_dir_all(to).map_err(err)?;
        let mut entries: Vec<_> = std::fs::read_dir(from).map_err(err)?.filter_map(|e| e.ok()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        Ok(())
    } else {
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).map_err(err)?;
        }
        std::fs::copy(from, to).map(|_| ()).map_err(err)
    }
}

/// The declared output files after a run, as text appended to stdout:
/// `== out NAME` then the bytes of each file (directories: every file under
/// them, sorted), or `== out NAME: missing`.
fn read_outs(scratch: &Path, outs: &[String]) -> Vec<u8> {
    fn walk(base: &Path, rel: &str, out: &mut Vec<u8>) {
        let p = base.join(rel);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {
                out.extend(format!("== out {rel}/ (mode {:o})\n", std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777).as_bytes());
                let mut names: Vec<String> = std::fs::read_dir(&p).map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
                names.sort();
                for n in names {
                    walk(base, &format!("{rel}/{n}"), out);
                }
            }
            Ok(m) if m.file_type().is_symlink() => {
                let t = std::fs::read_link(&p).map(|t| t.display().to_string()).unwrap_or_default();
                out.extend(format!("== out {rel} -> {t}\n").as_bytes());
            }
            Ok(m) => {
                out.extend(format!("== out {rel} (mode {:o}, {} bytes)\n", std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777, m.len()).as_bytes());
                out.extend(std::fs::read(&p).unwrap_or_default());
                out.push(b'\n');
            }
            Err(_) => out.extend(format!("== out {rel}: missing\n").as_bytes()),
        }
    }
    let mut out = Vec::new();
    for o in outs {
        walk(scratch, o.trim_end_matches('/'), &mut out);
    }
    out
}

/// Host runs must not leave core files around (segv.c dies on purpose):
/// the soft limit is 0, as SiON's default; the hard one stays, so a test
/// of core files (core_dump.c) may raise its own soft limit, as on SiON.
fn no_core_dumps(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only getrlimit and setrlimit (async-signal-safe) run between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            libc::getrlimit(libc::RLIMIT_CORE, &mut r);
            r.rlim_cur = 0;
            libc::setrlimit(libc::RLIMIT_CORE, &r);
            Ok(())
        });
    }
}

/// The first lines of an output stream, indented, for failure details.
fn excerpt(what: &str, b: &[u8]) -> String {
    if b.is_empty() {
        return format!("  {what}: (empty)");
    }
    let text = String::from_utf8_lossy(b);
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    let mut s = format!("  {what} ({n} line{}):", if n == 1 { "" } else { "s" });
    for l in lines.iter().take(20) {
        s.push_str(&format!("\n    | {l}"));
    }
    if lines.len() > 20 {
        s.push_str(&format!("\n    | ... {} more lines", lines.len() - 20));
    }
    s
}

/// A unified-style diff of the first differing region of two outputs:
/// context lines, `-` host lines, `+` sion lines.
pub fn diff(what: &str, host: &[u8], sion: &[u8]) -> String {
    const CONTEXT: usize = 3;
    const MAX: usize = 12;
    let a_text = String::from_utf8_lossy(host);
    let b_text = String::from_utf8_lossy(sion);
    // split_inclusive keeps a missing final newline visible as a difference.
    let a: Vec<&str> = a_text.split_inclusive('\n').collect();
    let b: Vec<&str> = b_text.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let a_mid = &a[prefix..a.len() - suffix];
    let b_mid = &b[prefix..b.len() - suffix];
    let ctx_start = prefix.saturating_sub(CONTEXT);
    let mut s = format!("  --- {what} (host)\n  +++ {what} (sion)\n");
    s.push_str(&format!(
        "  @@ -{},{} +{},{} @@",
        ctx_start + 1,
        prefix - ctx_start + a_mid.len(),
        ctx_start + 1,
        prefix - ctx_start + b_mid.len()
    ));
    let show = |l: &str| {
        let t = l.strip_suffix('\n').map(str::to_string).unwrap_or_else(|| format!("{l}\\ (no newline at end)"));
        t
    };
    for l in &a[ctx_start..prefix] {
        s.push_str(&format!("\n   {}", show(l)));
    }
    for l in a_mid.iter().take(MAX) {
        s.push_str(&format!("\n  -{}", show(l)));
    }
    if a_mid.len() > MAX {
        s.push_str(&format!("\n  -... {} more lines", a_mid.len() - MAX));
    }
    for l in b_mid.iter().take(MAX) {
        s.push_str(&format!("\n  +{}", show(l)));
    }
    if b_mid.len() > MAX {
        s.push_str(&format!("\n  +... {} more lines", b_mid.len() - MAX));
    }
    let after = a.len() - suffix;
    for l in a[after..].iter().take(CONTEXT) {
        s.push_str(&format!("\n   {}", show(l)));
    }
    s
}

/// Build and run the suite; prints progress, the table, failure details and
/// the closing line. `sion_unavailable` (a reason) fails every SiON run.
pub fn run_suite(args: &SuiteArgs, verbose: bool, sion_unavailable: Option<String>) -> Result<Summary> {
    let tests = discover()?;
    let mut jobs = Vec::new();
    let mut summary = Summary::default();
    for t in tests {
        if !args.filter.is_empty() && !args.filter.iter().any(|f| t.name.contains(f.as_str())) {
            continue;
        }
        for abi in Abi::ALL {
            if !args.abi.contains(&abi) {
                continue;
            }
            match &t.spec {
                Ok(spec) if !spec.abis.contains(&abi) => summary.skipped += 1,
                _ => jobs.push(Job { test: t.clone(), abi }),
            }
        }
    }
    if jobs.is_empty() {
        return Err("no compat test matched".into());
    }
    let total = jobs.len();
    let mode = if args.host_only { "on the host only" } else { "on the host and through sion exec" };
    let workers = args.jobs.max(1).min(total);
    tracing::info!(
        "compat: {total} run{} ({mode}), {workers} worker{}",
        if total == 1 { "" } else { "s" },
        if workers == 1 { "" } else { "s" }
    );
    if let Some(why) = &sion_unavailable {
        tracing::warn!("compat: every SiON run will fail: {why}");
    } else if !args.host_only && !util::sion_binary().is_file() {
        tracing::warn!("compat: {} is missing; run `cargo xtask build`", util::sion_binary().display());
    }

    let width = total.to_string().len();
    let suite_start = Instant::now();
    let results: Vec<JobResult> = util::parallel(
        &jobs,
        workers,
        |job| {
            tracing::debug!("start {} ({})", job.test.name, job.abi.name());
            run_job(job, args.host_only, args.cpus, sion_unavailable.as_deref())
        },
        |n, r| {
            eprintln!("[{n:>width$}/{total}] {:<12} {:<6} {:<15} {:>6.2}s", r.name, r.abi.name(), r.verdict.show(), r.elapsed.as_secs_f64());
            if verbose && !r.details.is_empty() {
                eprintln!("{}", r.details);
            }
        },
    );

    let mut table = Table::new(&["test", "abi", "host", "sion", "verdict", "time"]);
    for r in &results {
        table.row(vec![
            r.name.clone(),
            r.abi.name().into(),
            r.host.clone(),
            if args.host_only { "(not run)".into() } else { r.sion.clone() },
            r.verdict.show().into(),
            format!("{:.2}s", r.elapsed.as_secs_f64()),
        ]);
        if r.verdict == Verdict::Pass {
            summary.passed += 1;
        } else {
            summary.failed += 1;
        }
    }
    println!();
    print!("{}", table.render());

    let failures: Vec<&JobResult> = results.iter().filter(|r| r.verdict != Verdict::Pass).collect();
    if !failures.is_empty() {
        println!("\nFailures:");
        let mut shown: Vec<&str> = Vec::new();
        for r in failures {
            // The same reason for many runs (say, the node does not boot) is shown once.
            if r.verdict == Verdict::SionError && shown.contains(&r.details.as_str()) {
                println!("{} ({}): {}: the same as above", r.name, r.abi.name(), r.verdict.show());
                continue;
            }
            println!("\n{} ({}): {}", r.name, r.abi.name(), r.verdict.show());
            if !r.details.is_empty() {
                println!("{}", r.details);
                shown.push(&r.details);
            }
        }
    }
    println!("\ncompat suite finished in {:.1}s", suite_start.elapsed().as_secs_f64());
    println!("{}", summary.closing_line());
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_match_outcomes() {
        assert!(expect_matches(Expect::Signal(11), &Outcome::Signaled(11)));
        assert!(!expect_matches(Expect::Signal(11), &Outcome::Exited(139)));
        assert!(expect_matches(Expect::Exit(7), &Outcome::Exited(7)));
    }

    #[test]
    fn diff_shows_first_difference_with_context() {
        let d = diff("stdout", b"a\nb\nc\nd\ne\n", b"a\nb\nC\nd\ne\n");
        assert!(d.contains("@@ -1,3 +1,3 @@"), "{d}");
        assert!(d.contains("\n  -c\n  +C\n   d"), "{d}");
        let d = diff("stdout", b"x\n", b"x");
        assert!(d.contains("+x\\ (no newline at end)"), "{d}");
        let d = diff("stderr", b"", b"extra\n");
        assert!(d.contains("+extra"), "{d}");
    }

    #[test]
    fn closing_line() {
        let s = Summary { passed: 3, failed: 1, skipped: 0 };
        assert_eq!(s.closing_line(), "3 passed, 1 failed");
        let s = Summary { passed: 3, failed: 0, skipped: 2 };
        assert_eq!(s.closing_line(), "3 passed, 0 failed, 2 skipped");
        assert!(s.exit_ok());
    }

    #[test]
    fn every_test_file_has_a_valid_header() {
        let tests = discover().unwrap();
        assert!(tests.len() >= 10);
        for t in tests {
            assert!(t.spec.is_ok(), "{}: {:?}", t.name, t.spec);
        }
    }
}
