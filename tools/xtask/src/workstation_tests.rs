//! The workstation's own programs through `sion exec`, with no flags: each
//! runs here and on a node, and stdout, stderr and the exit status must be
//! the same. Dynamically linked programs from Debian (ls, sort, sha256sum,
//! gzip, python3, gcc with cc1 and as), a `#!/bin/sh` script running a
//! pipeline of them, files of the working directory and of /usr read on
//! demand, what the job writes there written back; and what a job must not
//! see: a file outside what is shared.
//!
//! [`through_run`] does the same through `sion run --no-local` on the nodes
//! of `sion up` (the group stage calls it), where the node's file cache
//! serves the second run of a program: it gives the cold and warm figures.

use crate::util::{self, Outcome, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SCRIPT: &str = "#!/bin/sh\nset -e\ncat fruits.txt | sort | uniq -c | sort -rn | head -2\nwc -l < nums.txt\ngrep -c 7 nums.txt | tr 0-9 a-j\nls -l fruits.txt | cut -c1-10\n";
const PYTHON: &str = "import json, hashlib, sqlite3\ndb = sqlite3.connect(':memory:')\ndb.execute('create table t (k text, v int)')\ndb.executemany('insert into t values (?, ?)', [(w, len(w)) for w in open('fruits.txt').read().split()])\nrows = db.execute('select k, sum(v) from t group by k order by k').fetchall()\nprint(json.dumps(rows), hashlib.sha256(open('nums.txt', 'rb').read()).hexdigest()[:16])";

/// Lines of `sion --verbose` (tracing's, starting with a timestamp) are not the program's.
fn without_log(stderr: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(stderr);
    let is_log = |l: &str| l.len() > 20 && l.as_bytes()[4] == b'-' && l.as_bytes()[10] == b'T' && l[..4].bytes().all(|b| b.is_ascii_digit());
    text.split_inclusive('\n').filter(|l| !is_log(l)).collect::<String>().into_bytes()
}

/// Runs `argv` in `dir` here, then through `sion` with `via` (`exec ...` or
/// `run ...`); both must agree. The time and stderr of the `sion` run.
fn same_via(dir: &Path, via: &[&str], argv: &[&str]) -> Result<(Duration, String)> {
    let host = util::capture(Command::new(argv[0]).args(&argv[1..]).current_dir(dir).env_clear().env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), None, Duration::from_secs(60));
    let t0 = Instant::now();
    let sion = util::capture(Command::new(util::sion_binary()).args(via).args(argv).current_dir(dir), None, Duration::from_secs(180));
    let took = t0.elapsed();
    let status = |o: &Outcome| match o {
        Outcome::Exited(c) => *c,
        Outcome::Signaled(s) => 128 + s,
        _ => -1,
    };
    if (status(&host.outcome), &host.stdout, &host.stderr) != (status(&sion.outcome), &sion.stdout, &without_log(&sion.stderr)) {
        return Err(format!(
            "`{}` differs: here {} {:?} {:?}; on SiON (sion {}) {} {:?} {:?}",
            argv.join(" "),
            host.outcome.short(),
            String::from_utf8_lossy(&host.stdout),
            String::from_utf8_lossy(&host.stderr),
            via[0],
            sion.outcome.short(),
            String::from_utf8_lossy(&sion.stdout),
            String::from_utf8_lossy(&sion.stderr)
        ));
    }
    Ok((took, String::from_utf8_lossy(&sion.stderr).into_owned()))
}

fn same(dir: &Path, argv: &[&str]) -> Result<Duration> {
    same_via(dir, &["exec", "--timeout", "120"], argv).map(|(t, _)| t)
}

/// The working directory of the tests, with its files.
fn workdir(name: &str) -> Result<PathBuf> {
    let dir = util::target_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let dir = std::fs::canonicalize(&dir).map_err(|e| e.to_string())?;
    let write = |name: &str, text: &str, mode: u32| -> Result<()> {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(mode)).map_err(|e| e.to_string())
    };
    write("fruits.txt", "pear\napple\nfig\napple\n", 0o644)?;
    write("nums.txt", &(1..=2000).map(|i| format!("{i}\n")).collect::<String>(), 0o644)?;
    write("pipe.sh", SCRIPT, 0o755)?;
    write("hello.c", "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n", 0o644)?;
    write("noshell.sh", "#!/no/such/shell\necho never\n", 0o755)?;
    // Corrupt libraries found first through LD_LIBRARY_PATH: garbage, and a
    // real libc cut short (the loader maps past its end: SIGBUS).
    write("corrupt.sh", CORRUPT, 0o755)?;
    std::fs::create_dir_all(dir.join("badlib")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir.join("cutlib")).map_err(|e| e.to_string())?;
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(dir.join("badlib/libc.so.6"), garbage).map_err(|e| e.to_string())?;
    let libc = std::fs::read("/lib/x86_64-linux-gnu/libc.so.6").unwrap_or_default();
    std::fs::write(dir.join("cutlib/libc.so.6"), &libc[..libc.len().min(3000)]).map_err(|e| e.to_string())?;
    Ok(dir)
}

const CORRUPT: &str = "#!/bin/sh\nLD_LIBRARY_PATH=./badlib sort fruits.txt; echo \"garbage: $?\"\nLD_LIBRARY_PATH=./cutlib sort fruits.txt; echo \"cut short: $?\"\nsort fruits.txt | head -1\n";

/// A job that reads a file of the working directory again and again while
/// it is rewritten here, with other sizes: nothing may break (the job keeps
/// the copy it fetched first, or sees a newer one whole).
fn changing_file(dir: &Path, via: &[&str]) -> Result<()> {
    let path = dir.join("changing.txt");
    std::fs::write(&path, "first\n").map_err(|e| e.to_string())?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let _ = std::fs::write(&path, "x".repeat((i % 50) as usize * 100 + 1));
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let script = "for i in 1 2 3 4 5 6; do wc -c < changing.txt; sleep 0.3; done";
    let r = util::capture(Command::new(util::sion_binary()).args(via).args(["/bin/sh", "-c", script]).current_dir(dir), None, Duration::from_secs(120));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = writer.join();
    let out = String::from_utf8_lossy(&r.stdout).into_owned();
    let sizes_ok = out.lines().count() == 6 && out.lines().all(|l| l.trim().parse::<u64>().is_ok());
    if r.outcome != Outcome::Exited(0) || !sizes_ok {
        return Err(format!("a job reading a file rewritten meanwhile: {} {:?} {:?}", r.outcome.short(), out, String::from_utf8_lossy(&r.stderr)));
    }
    Ok(())
}

/// The small programs of the issue, where this machine has them.
const SMALL: &[&[&str]] = &[
    &["/bin/ls", "-la", "/usr/share/doc/bash"],
    &["/usr/bin/sort", "fruits.txt"],
    &["/usr/bin/sha256sum", "fruits.txt", "nums.txt"],
    &["/bin/gzip", "-c", "-n", "fruits.txt"],
    &["./pipe.sh"],
    &["./corrupt.sh"],
];

/// The figures `sion run --verbose` gives at the end: (items sent, items
/// in all, file requests, bytes sent for them).
fn stream_figures(stderr: &str) -> Option<(u64, u64, u64, u64)> {
    let l = stderr.lines().rfind(|l| l.contains("job stream:"))?;
    let nums: Vec<u64> = l.split(|c: char| !c.is_ascii_digit() && c != '.').filter_map(|w| w.parse().ok()).collect();
    // "... job stream: S s; items A of B bytes sent (...); N file requests (U listings unchanged), F bytes sent for them"
    let n = nums.len();
    (n >= 5).then(|| (nums[n - 5], nums[n - 4], nums[n - 3], nums[n - 1]))
}

/// The workstation's programs through `sion run --no-local --node NODE` on
/// the nodes of `sion up` (key file `key`), python3 and gcc each on a node
/// of its own, twice: cold (nothing cached) then warm. `nodes`: names, the
/// roomiest last.
pub fn through_run(key: &str, nodes: &[String]) -> Result<String> {
    let dir = workdir("workstation-tests/run")?;
    let [.., second, roomiest] = nodes else { return Err("two SiON nodes needed".into()) };
    let via = |node: &str| -> Vec<String> { ["run", "--no-local", "--verbose", "--key-file", key, "--node", node].iter().map(|s| s.to_string()).collect() };
    let mut done = Vec::new();
    let mut figures = Vec::new();
    // Cold then warm; the bytes the warm run sent must be under 1% of the cold run's.
    let mut twice = |what: &str, node: &str, argv: &[&str], check: &dyn Fn() -> Result<()>| -> Result<()> {
        let v = via(node);
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        let t_here = Instant::now();
        let here = Command::new(argv[0]).args(&argv[1..]).current_dir(&dir).output().map_err(|e| e.to_string())?;
        let here_s = t_here.elapsed().as_secs_f64();
        if !here.status.success() {
            return Err(format!("{what} failed here"));
        }
        let mut runs = Vec::new();
        for _ in 0..2 {
            let (took, stderr) = same_via(&dir, &v, argv)?;
            check()?;
            let f = stream_figures(&stderr).ok_or_else(|| format!("{what}: no job stream figures in {stderr:?}"))?;
            runs.push((took.as_secs_f64(), f));
        }
        let bytes = |f: &(u64, u64, u64, u64)| f.0 + f.3;
        let (cold, warm) = (runs[0], runs[1]);
        if bytes(&warm.1) * 100 > bytes(&cold.1) {
            return Err(format!("{what}: the warm run sent {} bytes, the cold one {}: the node's cache did not serve it", bytes(&warm.1), bytes(&cold.1)));
        }
        figures.push(format!(
            "{what}: cold {:.1} s, {:.1} MB, {} requests; warm {:.1} s, {} B, {} requests; here {:.2} s",
            cold.0,
            bytes(&cold.1) as f64 / 1e6,
            cold.1 .2,
            warm.0,
            bytes(&warm.1),
            warm.1 .2,
            here_s
        ));
        Ok(())
    };
    if Path::new("/usr/bin/python3").exists() {
        twice("python3", second, &["/usr/bin/python3", "-c", PYTHON], &|| Ok(()))?;
    }
    // gcc execs cc1 and as; the object comes back by write-back, byte for byte.
    if Path::new("/usr/bin/gcc").exists() {
        let st = Command::new("gcc").args(["-c", "hello.c", "-o", "local.o"]).current_dir(&dir).status().map_err(|e| e.to_string())?;
        if !st.success() {
            return Err("gcc -c here failed".into());
        }
        let _ = std::fs::remove_file(dir.join("node.o"));
        let same_object = || -> Result<()> {
            let (a, b) = (std::fs::read(dir.join("local.o")).ok(), std::fs::read(dir.join("node.o")).ok());
            let _ = std::fs::remove_file(dir.join("node.o"));
            if a.is_none() || a != b {
                return Err("gcc -c on a node: its object file did not come back the same as here".into());
            }
            Ok(())
        };
        twice("gcc -c", roomiest, &["/usr/bin/gcc", "-c", "hello.c", "-o", "node.o"], &same_object)?;
    }
    let v = via(roomiest);
    let v: Vec<&str> = v.iter().map(String::as_str).collect();
    for argv in SMALL {
        if !Path::new(argv[0]).exists() && !argv[0].starts_with("./") {
            continue;
        }
        same_via(&dir, &v, argv)?;
        done.push(argv[0].rsplit('/').next().unwrap_or(argv[0]).to_string());
    }
    changing_file(&dir, &v)?;
    // Bad input: a missing interpreter is named; a file outside the shares is not there.
    let r = util::capture(Command::new(util::sion_binary()).args(&v).arg("./noshell.sh").current_dir(&dir), None, Duration::from_secs(60));
    if r.outcome != Outcome::Exited(126) || !String::from_utf8_lossy(&r.stderr).contains("/no/such/shell") {
        return Err(format!("sion run of a script whose interpreter is missing: {} {:?}", r.outcome.short(), String::from_utf8_lossy(&r.stderr)));
    }
    let secret: PathBuf = std::env::temp_dir().join(format!("sion-secret-run-{}", std::process::id()));
    std::fs::write(&secret, "do not read").map_err(|e| e.to_string())?;
    let cmd = format!("cat {} || echo not-there", secret.display());
    let r = util::capture(Command::new(util::sion_binary()).args(&v).args(["/bin/sh", "-c", &cmd]).current_dir(&dir), None, Duration::from_secs(60));
    let _ = std::fs::remove_file(&secret);
    let out = String::from_utf8_lossy(&r.stdout).into_owned();
    if out.contains("do not read") || !out.contains("not-there") {
        return Err(format!("a file outside the shares was readable from a sion run job: {out:?}"));
    }
    Ok(format!("{} as here; {}; a file rewritten mid-job; a missing interpreter 126; a file outside the shares unseen", done.join(", "), figures.join("; ")))
}

pub fn run() -> Result<String> {
    let dir = workdir("workstation-tests/exec")?;
    let mut done = Vec::new();
    let mut timed = Vec::new();
    for argv in SMALL {
        if !Path::new(argv[0]).exists() && !argv[0].starts_with("./") {
            continue;
        }
        let took = same(&dir, argv)?;
        done.push(argv[0].rsplit('/').next().unwrap_or(argv[0]).to_string());
        timed.push(took);
    }
    if Path::new("/usr/bin/python3").exists() {
        let took = same(&dir, &["/usr/bin/python3", "-c", PYTHON])?;
        done.push(format!("python3 ({:.1} s)", took.as_secs_f64()));
    }
    // gcc execs cc1 and as: the object comes back (written back into the
    // working directory, as if gcc had run here) byte for byte.
    if Path::new("/usr/bin/gcc").exists() {
        let local = dir.join("local.o");
        let st = Command::new("gcc").args(["-c", "hello.c", "-o"]).arg(&local).current_dir(&dir).status().map_err(|e| e.to_string())?;
        if !st.success() {
            return Err("gcc -c here failed".into());
        }
        let t0 = Instant::now();
        let r = util::capture(Command::new(util::sion_binary()).args(["exec", "--timeout", "120", "/usr/bin/gcc", "-c", "hello.c", "-o", "node.o"]).current_dir(&dir), None, Duration::from_secs(180));
        if r.outcome != Outcome::Exited(0) {
            return Err(format!("gcc -c on SiON: {} {:?}", r.outcome.short(), String::from_utf8_lossy(&r.stderr)));
        }
        if std::fs::read(&local).ok() != std::fs::read(dir.join("node.o")).ok() {
            return Err("gcc -c on SiON made another object file".into());
        }
        done.push(format!("gcc -c ({:.1} s)", t0.elapsed().as_secs_f64()));
    }
    changing_file(&dir, &["exec"])?;
    // A missing interpreter, as a shell says it.
    let r = util::capture(Command::new(util::sion_binary()).args(["exec", "./noshell.sh"]).current_dir(&dir), None, Duration::from_secs(60));
    if r.outcome != Outcome::Exited(126) || !String::from_utf8_lossy(&r.stderr).contains("/no/such/shell") {
        return Err(format!("a script whose interpreter is missing: {} {:?}", r.outcome.short(), String::from_utf8_lossy(&r.stderr)));
    }
    // What is not shared is not there: a file outside the shares, even named
    // inside a shell command (not an argument of its own).
    let secret: PathBuf = std::env::temp_dir().join(format!("sion-secret-{}", std::process::id()));
    std::fs::write(&secret, "do not read").map_err(|e| e.to_string())?;
    let cmd = format!("cat {} || echo not-there", secret.display());
    let r = util::capture(Command::new(util::sion_binary()).args(["exec", "/bin/sh", "-c", &cmd]).current_dir(&dir), None, Duration::from_secs(60));
    let _ = std::fs::remove_file(&secret);
    let out = String::from_utf8_lossy(&r.stdout).into_owned();
    if out.contains("do not read") || !out.contains("not-there") {
        return Err(format!("a file outside the shares was readable from a job: {out:?}"));
    }
    // Even from the home directory (shared as the working directory), the
    // user's keys stay out of sight.
    std::fs::create_dir_all(dir.join(".ssh")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join(".ssh/id_test"), "private key").map_err(|e| e.to_string())?;
    let r = util::capture(Command::new(util::sion_binary()).args(["exec", "/bin/sh", "-c", "cat .ssh/id_test || echo not-there; ls -a"]).current_dir(&dir).env("HOME", &dir), None, Duration::from_secs(60));
    let out = String::from_utf8_lossy(&r.stdout).into_owned();
    if out.contains("private key") || !out.contains("not-there") || out.lines().any(|l| l == ".ssh") {
        return Err(format!("~/.ssh was visible from a job run in the home directory: {out:?}"));
    }
    let mean = timed.iter().map(Duration::as_secs_f64).sum::<f64>() / timed.len().max(1) as f64;
    Ok(format!("{} as here (mean {mean:.1} s each); corrupt libraries fail their program only; a file rewritten mid-job; a missing interpreter 126; a file outside the shares and ~/.ssh unseen", done.join(", ")))
}
