//! The workstation's own programs through `sion exec`, with no flags: each
//! runs here and on a node, and stdout, stderr and the exit status must be
//! the same. Dynamically linked programs from Debian (ls, sort, sha256sum,
//! gzip, python3, gcc with cc1 and as), a `#!/bin/sh` script running a
//! pipeline of them, files of the working directory and of /usr read on
//! demand, what the job writes there written back; and what a job must not
//! see: a file outside what is shared.

use crate::util::{self, Outcome, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SCRIPT: &str = "#!/bin/sh\nset -e\ncat fruits.txt | sort | uniq -c | sort -rn | head -2\nwc -l < nums.txt\ngrep -c 7 nums.txt | tr 0-9 a-j\nls -l fruits.txt | cut -c1-10\n";
const PYTHON: &str = "import json, hashlib, sqlite3\ndb = sqlite3.connect(':memory:')\ndb.execute('create table t (k text, v int)')\ndb.executemany('insert into t values (?, ?)', [(w, len(w)) for w in open('fruits.txt').read().split()])\nrows = db.execute('select k, sum(v) from t group by k order by k').fetchall()\nprint(json.dumps(rows), hashlib.sha256(open('nums.txt', 'rb').read()).hexdigest()[:16])";

/// Runs `argv` in `dir` here, then through `sion exec`; both must agree.
fn same(dir: &Path, argv: &[&str]) -> Result<Duration> {
    let host = util::capture(Command::new(argv[0]).args(&argv[1..]).current_dir(dir).env_clear().env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), None, Duration::from_secs(60));
    let t0 = Instant::now();
    let sion = util::capture(Command::new(util::sion_binary()).args(["exec", "--timeout", "120"]).args(argv).current_dir(dir), None, Duration::from_secs(180));
    let took = t0.elapsed();
    let status = |o: &Outcome| match o {
        Outcome::Exited(c) => *c,
        Outcome::Signaled(s) => 128 + s,
        _ => -1,
    };
    if (status(&host.outcome), &host.stdout, &host.stderr) != (status(&sion.outcome), &sion.stdout, &sion.stderr) {
        return Err(format!(
            "`{}` differs: here {} {:?} {:?}; on SiON {} {:?} {:?}",
            argv.join(" "),
            host.outcome.short(),
            String::from_utf8_lossy(&host.stdout),
            String::from_utf8_lossy(&host.stderr),
            sion.outcome.short(),
            String::from_utf8_lossy(&sion.stdout),
            String::from_utf8_lossy(&sion.stderr)
        ));
    }
    Ok(took)
}

pub fn run() -> Result<String> {
    let dir = util::target_dir().join("workstation-tests");
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
    let mut done = Vec::new();
    let mut timed = Vec::new();
    for argv in [
        &["/bin/ls", "-la", "/usr/share/doc/bash"][..],
        &["/usr/bin/sort", "fruits.txt"],
        &["/usr/bin/sha256sum", "fruits.txt", "nums.txt"],
        &["/bin/gzip", "-c", "-n", "fruits.txt"],
        &["./pipe.sh"],
    ] {
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
    Ok(format!("{} as here (mean {mean:.1} s each); a missing interpreter 126; a file outside the shares and ~/.ssh unseen", done.join(", ")))
}
