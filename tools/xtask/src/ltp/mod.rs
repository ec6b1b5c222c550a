//! `cargo xtask ltp`: the Linux Test Project's syscall tests as SiON's second
//! judge (docs/testing.md, "LTP").
//!
//! The tests are built from `../shared/ltp/` (or `LTP_SRC=DIR`) as static
//! glibc programs ([`build`]); those of `runtest/syscalls` whose program was
//! built from a directory of `tools/ltp/syscall-dirs.txt` run first on the
//! host, then through `sion exec`. Only tests the host passes count; each is
//! judged by [`verdict`]'s rule and compared with `tools/ltp/expectations.txt`
//! ([`expectations`]): a failure not listed (a regression) or a listed test
//! that passes (an unexpected pass) fails the run.

pub mod build;
pub mod expectations;
pub mod verdict;

use crate::util::{self, Captured, Outcome, Result, Table};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use verdict::{Report, Run};

#[derive(clap::Args, Clone, Debug)]
pub struct LtpArgs {
    /// Run the tests on the host only (checks the build and the host, not SiON).
    #[arg(long)]
    pub host_only: bool,
    /// Parallel workers (each runs a test on the host, then on SiON).
    #[arg(short, long, default_value_t = 2)]
    pub jobs: usize,
    /// Seconds a run may take, on the host or on SiON, before it is killed.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT)]
    pub timeout: u64,
    /// Leave out the slow tests of tools/ltp/slow.txt (the fixed subset `cargo xtask test` runs).
    #[arg(long)]
    pub quick: bool,
    /// Only tests whose name contains one of these strings.
    pub filter: Vec<String>,
}

impl LtpArgs {
    /// What `cargo xtask test` runs.
    pub fn for_test(jobs: usize) -> LtpArgs {
        LtpArgs { host_only: false, jobs, timeout: DEFAULT_TIMEOUT, quick: true, filter: Vec::new() }
    }
}

/// Seconds a run may take by default: LTP's own limit is 30 s plus the
/// test's `.timeout` (at most 300 here) plus its runtime, and it kills a test
/// that overruns it; this is the runner's backstop.
const DEFAULT_TIMEOUT: u64 = 150;
/// LTP_RUNTIME_MUL: tests that run for a time (fork13's 600 s, writev03's
/// 75 s) run a tenth of it, never under their own minimum.
const RUNTIME_MUL: &str = "0.1";
/// The node's memory: fixed, so results do not depend on the host's.
const SION_MEM: &str = "1G";

/// One line of `runtest/syscalls`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Test {
    pub name: String,
    pub program: String,
    pub args: Vec<String>,
    /// The directory of testcases/kernel/syscalls it was built in.
    pub dir: String,
}

/// The tests of `runtest/syscalls` (`TAG PROGRAM ARGS...`, `#` comments)
/// whose program is one of `built` (program -> directory), in file order.
pub fn parse_runtest(text: &str, built: &BTreeMap<String, String>) -> Vec<Test> {
    let mut tests = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(name), Some(program)) = (words.next(), words.next()) else { continue };
        if let Some(dir) = built.get(program) {
            tests.push(Test { name: name.into(), program: program.into(), args: words.map(str::to_string).collect(), dir: dir.clone() });
        }
    }
    tests
}

/// Tests that change the machine they run on beyond their scratch
/// directory, so the harness never runs them on the host (a developer's
/// workstation, CI's machine): without a host pass they prove nothing.
/// (Setting the clock is not harmless even when the test sets it back: at
/// 2038 for a moment, cargo's cache cleaning took every crate of the
/// machine's registry for months unused and removed it.)
const NEVER_ON_HOST: &[(&str, &str)] = &[
    ("leapsec01", "it sets the host's clock to just before midnight with a leap second (and back)"),
    ("adjtimex01", "it adjusts the host's clock"),
    ("clock_adjtime01", "it adjusts the host's clock"),
    ("clock_adjtime02", "it adjusts the host's clock"),
    ("clock_settime01", "it sets the host's clock"),
    ("clock_settime02", "it saves and sets back the host's clock"),
    ("adjtimex02", "it adjusts the host's clock (its error cases as root)"),
    ("clock_settime03", "it sets the host's clock to the end of 32-bit time (2038) and back"),
    ("clock_settime04", "it sets the host's clock"),
    ("settimeofday01", "it sets the host's clock"),
    ("stime01", "it sets the host's clock"),
    ("reboot01", "it switches the host's Ctrl-Alt-Del action"),
    ("syslog11", "it sets the host's console log level and turns its console messages off and on"),
];

/// The tests `cargo xtask test` leaves out: `tools/ltp/slow.txt`, a test
/// name (then its time) a line.
pub fn slow_list() -> Result<Vec<String>> {
    let p = util::root().join("tools/ltp/slow.txt");
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(text.lines().filter_map(|l| l.split('#').next().unwrap_or("").split_whitespace().next()).map(str::to_string).collect())
}

/// One run of a test on one side.
struct Side {
    run: Run,
    report: Report,
    /// Why `sion exec` itself failed (exit 125-127), its last stderr line.
    sion_error: Option<String>,
    log: PathBuf,
    elapsed: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// SiON passes a test that is not listed.
    Pass,
    /// SiON fails a listed test.
    Known,
    /// A test listed as flaky, whatever it did.
    Flaky,
    /// SiON fails a test that is not listed.
    Regression,
    /// SiON passes a listed test: remove its line.
    UnexpectedPass,
    /// The host does not pass it: proves nothing about SiON.
    HostSkip,
    /// --host-only: the host passes it.
    HostPass,
}

impl Verdict {
    fn show(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Known => "known failure",
            Verdict::Flaky => "flaky (listed)",
            Verdict::Regression => "FAIL (regression)",
            Verdict::UnexpectedPass => "FAIL (unexpected pass)",
            Verdict::HostSkip => "skipped (host)",
            Verdict::HostPass => "host pass",
        }
    }
}

struct TestResult {
    test: Test,
    host: Side,
    sion: Option<Side>,
    expected: Option<expectations::Known>,
    verdict: Verdict,
}

/// Totals of an LTP run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    pub built: usize,
    pub tests: usize,
    pub host_passed: usize,
    pub sion_passed: usize,
    /// SiON passes not listed or listed as flaky (or, with --host-only, host passes).
    pub passed: usize,
    /// Regressions, unexpected passes and stale expectation lines.
    pub failed: usize,
    /// Listed failures (flaky ones that failed this time included).
    pub known: usize,
    /// Tests the host does not pass.
    pub skipped: usize,
}

impl Summary {
    pub fn exit_ok(&self) -> bool {
        self.failed == 0 && self.passed > 0
    }

    pub fn closing_line(&self) -> String {
        format!("{} passed, {} failed, {} known failures, {} skipped", self.passed, self.failed, self.known, self.skipped)
    }

    pub fn short(&self) -> String {
        let s = format!("{}; SiON passes {} of the {} tests the host passes", self.closing_line(), self.sion_passed, self.host_passed);
        if self.exit_ok() {
            s
        } else {
            format!("FAILED: {s}")
        }
    }
}

fn env_pairs(tmpdir: &Path) -> Vec<(String, String)> {
    vec![
        ("PATH".into(), format!("{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", build::bin_dir().display())),
        ("TMPDIR".into(), tmpdir.display().to_string()),
        ("LTPROOT".into(), build::ltp_dir().display().to_string()),
        ("LTP_COLORIZE_OUTPUT".into(), "0".into()),
        ("LTP_RUNTIME_MUL".into(), RUNTIME_MUL.into()),
    ]
}

/// `target/ltp/run/NAME.SIDE.log`: the command, the outcome, stdout and stderr.
fn write_log(path: &Path, cmd: &Command, c: &Captured) {
    let mut text = format!("$ {}\n== outcome: {}\n== stdout\n", util::show(cmd), c.outcome.short());
    if let Outcome::NotRun(e) = &c.outcome {
        text = format!("$ {}\n== not run: {e}\n== stdout\n", util::show(cmd));
    }
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(&c.stdout);
    bytes.extend_from_slice(b"\n== stderr\n");
    bytes.extend_from_slice(&c.stderr);
    let _ = std::fs::write(path, bytes);
}

/// An empty directory, writable by all with the sticky bit as /tmp is: a
/// test that drops to `nobody` makes its own directories in it.
fn fresh_dir(d: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_dir_all(d);
    std::fs::create_dir_all(d).and_then(|_| std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o1777))).map_err(|e| format!("{}: {e}", d.display()))
}

/// The host run: a fresh temporary directory as working directory and TMPDIR.
fn run_host(t: &Test, timeout: u64, scratch_base: &Path) -> Side {
    let start = Instant::now();
    let scratch = scratch_base.join(&t.name);
    let log = build::ltp_dir().join("run").join(format!("{}.host.log", t.name));
    let mut cmd = Command::new(build::bin_dir().join(&t.program));
    cmd.args(&t.args).env_clear().envs(env_pairs(&scratch)).current_dir(&scratch);
    let c = match fresh_dir(&scratch) {
        Ok(()) => util::capture(&mut cmd, None, Duration::from_secs(timeout)),
        Err(e) => Captured { outcome: Outcome::NotRun(e), stdout: vec![], stderr: vec![] },
    };
    let _ = std::fs::remove_dir_all(&scratch);
    write_log(&log, &cmd, &c);
    let report = verdict::parse(&c.stdout, &c.stderr);
    Side { run: verdict::judge(&c.outcome, &report), report, sion_error: None, log, elapsed: start.elapsed() }
}

/// The SiON run: `sion exec` from an empty working directory, TMPDIR=/tmp
/// (the node's own, writable), the built programs shared (helpers, resources).
fn run_sion(t: &Test, timeout: u64) -> Side {
    let start = Instant::now();
    let run_dir = build::ltp_dir().join("run");
    let scratch = run_dir.join(&t.name);
    let log = run_dir.join(format!("{}.sion.log", t.name));
    let node_log = run_dir.join(format!("{}.node.log", t.name));
    let mut cmd = Command::new(util::sion_binary());
    cmd.arg("exec").arg("--timeout").arg(timeout.to_string()).args(["--mem", SION_MEM, "--clear-env", "--no-write-back"]);
    cmd.arg("--share").arg(build::bin_dir()).arg("--log").arg(&node_log);
    cmd.arg("--trace-counts").arg(run_dir.join(format!("{}.calls", t.name)));
    // A test that needs more CPUs (`.min_cpus`) gets a node with them, as a
    // host with them runs it.
    let cpus = min_cpus(t);
    if cpus > 1 {
        cmd.arg("--cpus").arg(cpus.to_string());
    }
    for (k, v) in env_pairs(Path::new("/tmp")) {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    cmd.arg(build::bin_dir().join(&t.program)).args(&t.args).current_dir(&scratch);
    let c = if !util::sion_binary().is_file() {
        Captured { outcome: Outcome::NotRun(format!("{} not found: run `cargo xtask build`", util::sion_binary().display())), stdout: vec![], stderr: vec![] }
    } else {
        match fresh_dir(&scratch) {
            // sion's own limit kills the node; this one is the backstop.
            Ok(()) => util::capture(&mut cmd, None, Duration::from_secs(timeout + 30)),
            Err(e) => Captured { outcome: Outcome::NotRun(e), stdout: vec![], stderr: vec![] },
        }
    };
    let _ = std::fs::remove_dir_all(&scratch);
    write_log(&log, &cmd, &c);
    let report = verdict::parse(&c.stdout, &c.stderr);
    let sion_error = match &c.outcome {
        Outcome::Exited(code @ 125..=127) => {
            let last = String::from_utf8_lossy(&c.stderr).lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
            Some(format!("sion exec exited {code}: {last}"))
        }
        Outcome::NotRun(e) => Some(e.clone()),
        _ => None,
    };
    Side { run: verdict::judge(&c.outcome, &report), report, sion_error, log, elapsed: start.elapsed() }
}

fn judge(host: &Side, sion: Option<&Side>, expected: Option<&expectations::Known>) -> Verdict {
    if !host.run.passed() {
        return Verdict::HostSkip;
    }
    let Some(sion) = sion else { return Verdict::HostPass };
    match (sion.run.passed(), expected) {
        (_, Some(k)) if k.flaky() => Verdict::Flaky,
        (true, None) => Verdict::Pass,
        (true, Some(_)) => Verdict::UnexpectedPass,
        (false, Some(_)) => Verdict::Known,
        (false, None) => Verdict::Regression,
    }
}

/// The CPUs a test asks for in its `struct tst_test` (`.min_cpus = N`), 1
/// when it says nothing.
fn min_cpus(t: &Test) -> u16 {
    let src = build::src_dir().join("testcases/kernel/syscalls").join(&t.dir).join(format!("{}.c", t.program));
    std::fs::read_to_string(src).ok().and_then(|text| parse_min_cpus(&text)).unwrap_or(1)
}

fn parse_min_cpus(text: &str) -> Option<u16> {
    let rest = text.split(".min_cpus").nth(1)?.trim_start().strip_prefix('=')?.trim_start();
    rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}

/// `target/ltp/calls/NAME.json`: the calls the test made on SiON (from
/// `sion exec --trace-counts`) and whether it passed, in syscall-coverage's
/// run format (docs/syscall-coverage.md): a passing test proves the calls it made.
fn save_calls(t: &Test, s: &Side) {
    let text = std::fs::read_to_string(build::ltp_dir().join("run").join(format!("{}.calls", t.name))).unwrap_or_default();
    let calls: Vec<serde_json::Value> = text.lines().filter_map(parse_count_line).collect();
    let dir = calls_dir();
    let run = serde_json::json!({
        "test": t.name, "build": "ltp", "passed": s.run.passed(),
        "verdict": if s.run.passed() { "pass".to_string() } else { why(s) }, "calls": calls,
    });
    let _ = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(dir.join(format!("{}.json", t.name)), run.to_string()));
}

/// Where [`save_calls`] keeps each test's calls.
pub fn calls_dir() -> PathBuf {
    build::ltp_dir().join("calls")
}

/// `ABI NR NAME calls=N enosys=M` as `{abi, name, count, enosys}`.
fn parse_count_line(line: &str) -> Option<serde_json::Value> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let [abi, _nr, name, calls, enosys] = w[..] else { return None };
    let count: u64 = calls.strip_prefix("calls=")?.parse().ok()?;
    let enosys: u64 = enosys.strip_prefix("enosys=")?.parse().ok()?;
    Some(serde_json::json!({"abi": abi, "name": name, "count": count, "enosys": enosys}))
}

/// Why a run did not pass, in one line: sion's own failure, else the first
/// TFAIL/TBROK/TWARN line, else the first TCONF line, else the verdict.
fn why(s: &Side) -> String {
    s.sion_error.clone().or_else(|| s.report.first_bad.clone()).or_else(|| s.report.first_conf.clone()).unwrap_or_else(|| s.run.short())
}

/// Build, run, print the table; the summary says whether the run passed.
pub fn run(args: &LtpArgs, verbose: bool) -> Result<Summary> {
    let source = build::find_source()?;
    let expected = expectations::load()?;
    let built = build::build(&source)?;
    let mut by_program = BTreeMap::new();
    for (dir, programs) in &built.programs {
        for p in programs {
            by_program.insert(p.clone(), dir.clone());
        }
    }
    let runtest = build::src_dir().join("runtest/syscalls");
    let text = std::fs::read_to_string(&runtest).map_err(|e| format!("{}: {e}", runtest.display()))?;
    let all = parse_runtest(&text, &by_program);
    let mut summary = Summary { built: built.count(), tests: all.len(), ..Default::default() };

    // Lines naming no test of the listed directories are stale.
    let stale: Vec<(&String, &expectations::Known)> = expected.iter().filter(|(n, _)| !all.iter().any(|t| &t.name == *n)).collect();

    let slow = if args.quick { slow_list()? } else { Vec::new() };
    if let Some(missing) = slow.iter().find(|n| !all.iter().any(|t| &t.name == *n)) {
        return Err(format!("tools/ltp/slow.txt: {missing} is not a test of the listed directories"));
    }
    for (name, why) in NEVER_ON_HOST {
        tracing::info!("ltp: {name} is never run: {why}");
    }
    let tests: Vec<Test> = all
        .iter()
        .filter(|t| !slow.contains(&t.name))
        .filter(|t| !NEVER_ON_HOST.iter().any(|(n, _)| *n == t.name))
        .filter(|t| args.filter.is_empty() || args.filter.iter().any(|f| t.name.contains(f.as_str())))
        .cloned()
        .collect();
    if tests.is_empty() {
        return Err("no LTP test matched".into());
    }
    let total = tests.len();
    let workers = args.jobs.max(1).min(total);
    let mode = if args.host_only { "on the host only" } else { "on the host, then through sion exec" };
    tracing::info!(
        "ltp: {total} of the {} tests built from {} directories{} ({mode}), {workers} worker{}, {} s per run at most",
        all.len(),
        built.programs.len(),
        if args.quick { format!(", less the {} of tools/ltp/slow.txt", slow.len()) } else { String::new() },
        if workers == 1 { "" } else { "s" },
        args.timeout
    );
    if !args.host_only && !util::sion_binary().is_file() {
        tracing::warn!("ltp: {} is missing; run `cargo xtask build`", util::sion_binary().display());
    }
    let run_dir = build::ltp_dir().join("run");
    std::fs::create_dir_all(&run_dir).map_err(|e| format!("{}: {e}", run_dir.display()))?;
    let scratch_base = std::env::temp_dir().join(format!("sion-ltp-{}", std::process::id()));

    let width = total.to_string().len();
    let name_width = tests.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let start = Instant::now();
    let results: Vec<TestResult> = util::parallel(
        &tests,
        workers,
        |t| {
            let host = run_host(t, args.timeout, &scratch_base);
            // A test the host does not pass proves nothing: SiON is not asked.
            let sion = if args.host_only || !host.run.passed() { None } else { Some(run_sion(t, args.timeout)) };
            if let Some(s) = &sion {
                save_calls(t, s);
            }
            let known = expected.get(&t.name).cloned();
            let verdict = judge(&host, sion.as_ref(), known.as_ref());
            TestResult { test: t.clone(), host, sion, expected: known, verdict }
        },
        |n, r| {
            eprintln!(
                "[{n:>width$}/{total}] {:<name_width$}  host {:<12} sion {:<12} {:<22} {:>6.1}s",
                r.test.name,
                r.host.run.short(),
                r.sion.as_ref().map_or("-".into(), |s| s.run.short()),
                r.verdict.show(),
                r.host.elapsed.as_secs_f64() + r.sion.as_ref().map_or(0.0, |s| s.elapsed.as_secs_f64())
            );
            if verbose && matches!(r.verdict, Verdict::Regression | Verdict::UnexpectedPass) {
                if let Some(s) = &r.sion {
                    eprintln!("    {} (log: {})", why(s), s.log.display());
                }
            }
        },
    );
    let _ = std::fs::remove_dir_all(&scratch_base);

    let mut table = Table::new(&["test", "host", "sion", "expected", "verdict", "time"]);
    for r in &results {
        table.row(vec![
            r.test.name.clone(),
            r.host.run.short(),
            r.sion.as_ref().map_or("-".into(), |s| s.run.short()),
            match &r.expected {
                Some(k) if k.flaky() => "flaky".into(),
                Some(_) => "fail".into(),
                None => "pass".into(),
            },
            r.verdict.show().into(),
            format!("{:.1}s", r.host.elapsed.as_secs_f64() + r.sion.as_ref().map_or(0.0, |s| s.elapsed.as_secs_f64())),
        ]);
        if r.host.run.passed() {
            summary.host_passed += 1;
        }
        if r.sion.as_ref().is_some_and(|s| s.run.passed()) {
            summary.sion_passed += 1;
        }
        match r.verdict {
            Verdict::Pass | Verdict::HostPass => summary.passed += 1,
            // A flaky test counts as what it did this time.
            Verdict::Flaky if r.sion.as_ref().is_some_and(|s| s.run.passed()) => summary.passed += 1,
            Verdict::Known | Verdict::Flaky => summary.known += 1,
            Verdict::Regression | Verdict::UnexpectedPass => summary.failed += 1,
            Verdict::HostSkip => summary.skipped += 1,
        }
    }
    println!();
    print!("{}", table.render());

    let skipped: Vec<&TestResult> = results.iter().filter(|r| r.verdict == Verdict::HostSkip).collect();
    if !skipped.is_empty() {
        println!("\nSkipped: the host does not pass these, so they prove nothing about SiON:");
        let mut t = Table::new(&["test", "host", "why"]);
        for r in skipped {
            t.row(vec![r.test.name.clone(), r.host.run.short(), why(&r.host)]);
        }
        print!("{}", t.render());
    }
    let bad: Vec<&TestResult> = results.iter().filter(|r| matches!(r.verdict, Verdict::Regression | Verdict::UnexpectedPass)).collect();
    if !bad.is_empty() || !stale.is_empty() {
        println!("\nFailures:");
        for r in &bad {
            let s = r.sion.as_ref().unwrap();
            match r.verdict {
                Verdict::UnexpectedPass => {
                    let k = r.expected.as_ref().unwrap();
                    println!("{}: passes on SiON but {}:{} lists it ({}): remove the line", r.test.name, expectations::path().display(), k.line, k.reason);
                }
                _ => println!("{}: {} on SiON, not listed: {} (log: {})", r.test.name, s.run.short(), why(s), s.log.display()),
            }
        }
        for (name, k) in &stale {
            println!("{name}: {}:{} lists it, but it is no test of the listed directories: remove the line", expectations::path().display(), k.line);
        }
    }
    summary.failed += stale.len();
    if !args.host_only {
        println!(
            "\n{} tests built ({} programs); the host passes {}, SiON {} of those; {} listed in {}",
            summary.tests,
            summary.built,
            summary.host_passed,
            summary.sion_passed,
            expected.len(),
            expectations::path().display()
        );
    }
    println!("ltp finished in {:.1}s (logs: {})", start.elapsed().as_secs_f64(), run_dir.display());
    println!("{}", summary.closing_line());
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(run: Run) -> Side {
        Side { run, report: Report::default(), sion_error: None, log: PathBuf::new(), elapsed: Duration::ZERO }
    }

    #[test]
    fn runtest_lines_restricted_to_built_programs() {
        let built: BTreeMap<String, String> = [("dup201".to_string(), "dup2".to_string()), ("fork_procs".to_string(), "fork".to_string())].into();
        let text = "#DESCRIPTION:Kernel system calls\ndup201 dup201\n\naccept01 accept01\nfork06 fork_procs -n 1000\n#fork07 fork_procs\n";
        let tests = parse_runtest(text, &built);
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0], Test { name: "dup201".into(), program: "dup201".into(), args: vec![], dir: "dup2".into() });
        assert_eq!(tests[1].args, vec!["-n", "1000"]);
        assert_eq!(tests[1].dir, "fork");
    }

    #[test]
    fn min_cpus_is_read_from_the_test_struct() {
        assert_eq!(parse_min_cpus("static struct tst_test test = {\n\t.test_all = run,\n\t.min_cpus = 2,\n};"), Some(2));
        assert_eq!(parse_min_cpus("\t.min_cpus=4\n"), Some(4));
        assert_eq!(parse_min_cpus("static struct tst_test test = { .needs_root = 1 };"), None);
    }

    #[test]
    fn count_lines_parse() {
        assert_eq!(parse_count_line("x86_64 1 write calls=12 enosys=0").unwrap(), serde_json::json!({"abi": "x86_64", "name": "write", "count": 12, "enosys": 0}));
        assert_eq!(parse_count_line("i386 2 fork calls=1 enosys=1").unwrap()["enosys"], 1);
        assert!(parse_count_line("x86_64 1 write = 6").is_none());
    }

    #[test]
    fn verdicts_against_expectations() {
        let known = expectations::Known { reason: "no mknod".into(), line: 1 };
        let flaky = expectations::Known { reason: "flaky: sleeps overshoot".into(), line: 2 };
        let pass = side(Run::Pass(1));
        let fail = side(Run::Fail("TFAIL 1".into()));
        assert_eq!(judge(&pass, Some(&pass), None), Verdict::Pass);
        assert_eq!(judge(&pass, Some(&fail), None), Verdict::Regression);
        assert_eq!(judge(&pass, Some(&fail), Some(&known)), Verdict::Known);
        assert_eq!(judge(&pass, Some(&pass), Some(&known)), Verdict::UnexpectedPass);
        assert_eq!(judge(&pass, Some(&pass), Some(&flaky)), Verdict::Flaky);
        assert_eq!(judge(&side(Run::Conf), None, Some(&known)), Verdict::HostSkip);
        assert_eq!(judge(&pass, None, None), Verdict::HostPass);
        // TCONF on SiON where the host passed is a failure too.
        assert_eq!(judge(&pass, Some(&side(Run::Conf)), None), Verdict::Regression);
    }

    #[test]
    fn the_slow_list_parses() {
        let slow = slow_list().unwrap();
        assert!(!slow.is_empty());
        assert!(slow.iter().all(|n| !n.is_empty() && !n.contains(char::is_whitespace)));
    }
}
