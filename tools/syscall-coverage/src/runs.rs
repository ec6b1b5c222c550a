//! Runs: a program through `sion exec --trace` (what it calls on SiON and
//! what answered ENOSYS), under `strace -f` on the host (the accuracy check
//! of the static analysis), and the compat suite with traces (what the suite
//! proves).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// One call as a trace saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Use {
    pub count: u64,
    /// How many of them answered ENOSYS.
    pub enosys: u64,
}

/// The calls of a trace, by ABI and name.
pub type Uses = BTreeMap<(String, String), Use>;

/// Parses `sion exec --trace` lines: `ABI NR NAME = RESULT`.
pub fn parse_trace(text: &str) -> Uses {
    let mut uses = Uses::new();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        let (Some(abi), Some(_nr), Some(name), Some("=")) = (w.next(), w.next(), w.next(), w.next()) else { continue };
        let rest: Vec<&str> = w.collect();
        let u = uses.entry((abi.to_string(), name.to_string())).or_default();
        u.count += 1;
        if rest.last() == Some(&"ENOSYS") {
            u.enosys += 1;
        }
    }
    uses
}

/// Where `sion` is: `--sion`, else beside this tool's build (target/release/sion).
pub fn sion_binary(given: Option<&Path>) -> PathBuf {
    if let Some(p) = given {
        return p.to_path_buf();
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().unwrap_or(Path::new("."));
    for cand in [dir.join("sion"), dir.join("../release/sion")] {
        if cand.is_file() {
            return cand;
        }
    }
    repo_root().join("target/release/sion")
}

/// The workspace root (this crate is tools/syscall-coverage).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// The outcome of a captured run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

fn capture(cmd: &mut Command, stdin: Option<&[u8]>) -> Result<Outcome> {
    use std::os::unix::process::ExitStatusExt;
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let out = child.wait_with_output()?;
    let status = match (out.status.code(), out.status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => -1,
    };
    Ok(Outcome { status, stdout: out.stdout, stderr: out.stderr })
}

/// Runs `program args` through `sion exec --trace`; the trace's calls and the outcome.
pub fn sion_traced(sion: &Path, program: &Path, args: &[String], env: &[String], stdin: Option<&[u8]>, cwd: Option<&Path>) -> Result<(Uses, Outcome)> {
    if !sion.is_file() {
        bail!("{} not found (run `cargo xtask build`)", sion.display());
    }
    let dir = tempfile::tempdir()?;
    let trace = dir.path().join("trace");
    let mut cmd = Command::new(sion);
    // As the compat runner: the declared environment, no default PATH.
    cmd.arg("exec").arg("--timeout").arg("120").arg("--trace").arg(&trace).arg("--clear-env").arg("--no-write-back");
    for kv in env {
        cmd.arg("--env").arg(kv);
    }
    cmd.arg(program).args(args);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let out = capture(&mut cmd, stdin)?;
    let text = std::fs::read_to_string(&trace).unwrap_or_default();
    Ok((parse_trace(&text), out))
}

/// Parses `strace -f -o FILE` output: the names of the calls made.
pub fn parse_strace(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut first = true;
    // Processes that ran another program (execve): what follows is not ours.
    let mut other_program: BTreeSet<String> = BTreeSet::new();
    for line in text.lines() {
        let mut l = line.trim_start();
        let mut pid = "";
        // `-f` puts the pid first.
        if let Some((p, rest)) = l.split_once(char::is_whitespace) {
            if p.chars().all(|c| c.is_ascii_digit()) {
                l = rest.trim_start();
                pid = p;
            }
        }
        if other_program.contains(pid) {
            continue;
        }
        if !first && l.starts_with("execve(") && !l.contains("= -1") {
            other_program.insert(pid.to_string());
        }
        if let Some(rest) = l.strip_prefix("<... ") {
            if let Some(name) = rest.split_whitespace().next() {
                names.insert(name.to_string());
            }
            continue;
        }
        let name: String = l.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() && l[name.len()..].starts_with('(') {
            // The first line is strace's own execve of the program.
            if !(first && name == "execve") {
                names.insert(name);
            }
            first = false;
        }
    }
    names
}

/// Runs `program args` on the host under `strace -f`; the names of the calls.
/// With `env`, the program gets exactly that environment (as in the compat runner).
pub fn strace(program: &Path, args: &[String], env: Option<&[String]>, stdin: Option<&[u8]>, cwd: &Path) -> Result<BTreeSet<String>> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("strace");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o"]).arg(&out);
    if let Some(env) = env {
        // strace passes its environment on to the program.
        cmd.env_clear();
        for kv in env {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
    }
    cmd.arg(program).args(args).current_dir(cwd);
    let r = capture(&mut cmd, stdin).context("strace (apt-get install strace)")?;
    let text = std::fs::read_to_string(&out).with_context(|| format!("strace wrote nothing: {}", String::from_utf8_lossy(&r.stderr)))?;
    Ok(parse_strace(&text))
}

// ----- the compat suite -----

pub use sion_compat_spec::Spec;

/// One compat test run through `sion exec --trace`, judged as the runner does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompatRun {
    pub test: String,
    /// musl, glibc or i386.
    pub build: String,
    pub passed: bool,
    /// `pass`, or why not.
    pub verdict: String,
    /// The calls, by (syscall ABI, name).
    #[serde(with = "uses_as_list")]
    pub calls: Uses,
}

mod uses_as_list {
    use super::{Use, Uses};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    #[derive(Serialize, Deserialize)]
    struct Row {
        abi: String,
        name: String,
        count: u64,
        enosys: u64,
    }
    pub fn serialize<S: Serializer>(u: &Uses, s: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<Row> = u.iter().map(|((abi, name), x)| Row { abi: abi.clone(), name: name.clone(), count: x.count, enosys: x.enosys }).collect();
        rows.serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Uses, D::Error> {
        let rows = Vec::<Row>::deserialize(d)?;
        Ok(rows.into_iter().map(|r| ((r.abi, r.name), Use { count: r.count, enosys: r.enosys })).collect())
    }
}

/// The saved compat traces.
pub fn compat_cache() -> PathBuf {
    repo_root().join("target/syscall-coverage/compat.json")
}

pub fn load_compat(path: &Path) -> Option<Vec<CompatRun>> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Where `cargo xtask ltp` saves each test's calls on SiON (`NAME.json`, a
/// [`CompatRun`] of build `ltp`, from `sion exec --trace-counts`).
pub fn ltp_calls_dir() -> PathBuf {
    repo_root().join("target/ltp/calls")
}

/// The saved LTP runs, by test name; none when `cargo xtask ltp` has not run.
pub fn load_ltp(dir: &Path) -> Vec<CompatRun> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut runs: Vec<CompatRun> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).ok()?).ok())
        .collect();
    runs.sort_by(|a, b| a.test.cmp(&b.test));
    runs
}

/// Runs every built compat test (target/compat/{musl,glibc,i386}/NAME) on
/// the host and through `sion exec --trace`, in parallel on `jobs` workers.
pub fn run_compat(sion: &Path, filter: &[String], jobs: usize) -> Result<Vec<CompatRun>> {
    let root = repo_root();
    let src = root.join("compat-tests/src");
    let mut work = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&src).with_context(|| src.display().to_string())?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.extension().and_then(|x| x.to_str()) != Some("c") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let spec = Spec::parse(&std::fs::read_to_string(&path)?).map_err(|e| anyhow::anyhow!("{name}.c header: {e}"))?;
        for build in ["musl", "glibc", "i386"] {
            let bin = root.join("target/compat").join(build).join(&name);
            if spec.abis.iter().any(|a| a.name() == build) && bin.is_file() && std::fs::metadata(&bin)?.modified()? >= std::fs::metadata(&path)?.modified()? {
                work.push((name.clone(), build, bin, spec.clone()));
            } else if spec.abis.iter().any(|a| a.name() == build) {
                eprintln!("syscall-coverage: {build}/{name} not built or older than its source: run `cargo xtask compat --host-only` first");
            }
        }
    }
    let total = work.len();
    let work = std::sync::Mutex::new(work.into_iter().enumerate().collect::<Vec<_>>());
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let Some((n, (name, build, bin, spec))) = work.lock().unwrap().pop() else { break };
                let r = run_one(sion, &root, &name, build, &bin, &spec);
                eprintln!("[{:2}/{total}] {name} {build}: {}", n + 1, r.verdict);
                results.lock().unwrap().push(r);
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| (&a.test, &a.build).cmp(&(&b.test, &b.build)));
    Ok(results)
}

fn run_one(sion: &Path, root: &Path, name: &str, build: &str, bin: &Path, spec: &Spec) -> CompatRun {
    let mut r = CompatRun { test: name.into(), build: build.into(), passed: false, verdict: String::new(), calls: Uses::new() };
    let scratch = root.join("target/syscall-coverage/run").join(format!("{build}-{name}"));
    let _ = std::fs::remove_dir_all(&scratch);
    let _ = std::fs::create_dir_all(&scratch);
    let mut host = Command::new(bin);
    host.args(&spec.args).env_clear().current_dir(&scratch);
    for kv in &spec.env {
        if let Some((k, v)) = kv.split_once('=') {
            host.env(k, v);
        }
    }
    let host = match capture(&mut host, spec.stdin.as_deref()) {
        Ok(h) => h,
        Err(e) => {
            r.verdict = format!("host run failed: {e:#}");
            return r;
        }
    };
    let _ = std::fs::remove_dir_all(&scratch);
    let _ = std::fs::create_dir_all(&scratch);
    let (calls, on_sion) = match sion_traced(sion, bin, &spec.args, &spec.env, spec.stdin.as_deref(), Some(&scratch)) {
        Ok(x) => x,
        Err(e) => {
            r.verdict = format!("sion exec failed: {e:#}");
            return r;
        }
    };
    r.calls = calls;
    r.verdict = if host.status != spec.expect.shell_status() {
        format!("FAIL (host): exit {} instead of {}", host.status, spec.expect.shell_status())
    } else if on_sion.status != host.status {
        format!("FAIL: exit {} on SiON, {} on Linux", on_sion.status, host.status)
    } else if on_sion.stdout != host.stdout || on_sion.stderr != host.stderr {
        "FAIL: output differs".into()
    } else {
        r.passed = true;
        "pass".into()
    };
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_and_straces_parse() {
        let u = parse_trace("x86_64 1 write = 6\nx86_64 57 fork = -38 ENOSYS\nx86_64 1 write = -9 EBADF\ngarbage\n");
        assert_eq!(u[&("x86_64".into(), "write".into())], Use { count: 2, enosys: 0 });
        assert_eq!(u[&("x86_64".into(), "fork".into())], Use { count: 1, enosys: 1 });
        let s = parse_strace("123 execve(\"/bin/x\", [], []) = 0\n123 brk(NULL) = 0x1\n124 <... wait4 resumed>) = 0\n124 +++ exited with 0 +++\n--- SIGCHLD {} ---\nexit_group(0) = ?\n");
        assert_eq!(s.into_iter().collect::<Vec<_>>(), ["brk", "exit_group", "wait4"]);
        // A child that runs another program: its execve counts, the rest is the other program's.
        let s = parse_strace("1 execve(\"/p\") = 0\n1 clone(x) = 2\n2 execve(\"/bin/ls\") = 0\n2 openat(x) = 3\n1 wait4(2) = 2\n3 execve(\"/nope\") = -1 ENOENT\n3 exit_group(127) = ?\n");
        assert_eq!(s.into_iter().collect::<Vec<_>>(), ["clone", "execve", "exit_group", "wait4"]);
    }

    #[test]
    fn ltp_runs_load_from_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        // As cargo xtask ltp writes them (tools/xtask/src/ltp/mod.rs, save_calls).
        std::fs::write(dir.path().join("b01.json"), r#"{"test":"b01","build":"ltp","passed":false,"verdict":"TFAIL","calls":[]}"#).unwrap();
        std::fs::write(dir.path().join("a01.json"), r#"{"test":"a01","build":"ltp","passed":true,"verdict":"pass","calls":[{"abi":"x86_64","name":"write","count":3,"enosys":0}]}"#).unwrap();
        std::fs::write(dir.path().join("junk.json"), "not json").unwrap();
        let runs = load_ltp(dir.path());
        assert_eq!(runs.iter().map(|r| r.test.as_str()).collect::<Vec<_>>(), ["a01", "b01"]);
        assert_eq!(runs[0].calls[&("x86_64".into(), "write".into())], Use { count: 3, enosys: 0 });
        assert!(load_ltp(&dir.path().join("none")).is_empty());
    }
}
