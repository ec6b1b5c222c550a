//! `sion exec` forwards ^C and SIGTERM to the job: a shell that traps SIGINT
//! runs its trap and exits with its own status; a program that does not
//! dies of the signal and sion exits 128+N, like a shell.

use crate::util::{self, Result};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BUSYBOX: &str = "/bin/busybox";

/// Start `sion exec ARGS`, wait for `ready` on its stdout, send `sig`, and
/// return (everything it printed, its exit code).
fn interrupt(args: &[&str], sig: i32) -> Result<(String, Option<i32>)> {
    let mut child = Command::new(util::sion_binary())
        .args(["exec", "--timeout", "60"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("sion exec: {e}"))?;
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    let mut seen = String::new();
    let mut line = String::new();
    while out.read_line(&mut line).map_err(|e| e.to_string())? > 0 {
        seen.push_str(&line);
        if line.trim() == "ready" {
            break;
        }
        line.clear();
    }
    if !seen.contains("ready") {
        let _ = child.kill();
        return Err(format!("the job never said ready: {seen:?}"));
    }
    let pid = child.id().to_string();
    Command::new("kill").args([format!("-{sig}"), pid]).status().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).map_err(|e| e.to_string())?;
    seen.push_str(&rest);
    let status = child.wait().map_err(|e| e.to_string())?;
    if started.elapsed() > Duration::from_secs(10) {
        return Err(format!("sion took {:.1} s to end after the signal", started.elapsed().as_secs_f64()));
    }
    Ok((seen, status.code()))
}

pub fn run() -> Result<String> {
    if !std::path::Path::new(BUSYBOX).is_file() {
        return Err(format!("{BUSYBOX} not installed (run `cargo xtask setup`)"));
    }
    let (out, code) = interrupt(&[BUSYBOX, "sh", "-c", "trap 'echo caught INT; exit 7' INT; echo ready; while :; do sleep 1; done"], 2)?;
    if !out.contains("caught INT") || code != Some(7) {
        return Err(format!("a shell trapping SIGINT: printed {out:?}, exit {code:?} (want its trap and exit 7)"));
    }
    let (out, code) = interrupt(&[BUSYBOX, "sh", "-c", "echo ready; exec sleep 30"], 2)?;
    if code != Some(130) {
        return Err(format!("SIGINT to a sleeping program: exit {code:?} (want 130), printed {out:?}"));
    }
    let (_, code) = interrupt(&[BUSYBOX, "sh", "-c", "echo ready; sleep 30"], 15)?;
    if code != Some(143) {
        return Err(format!("SIGTERM to a shell running a child: exit {code:?} (want 143)"));
    }
    Ok("SIGINT trapped by a shell (exit 7); SIGINT kills a sleeper (130); SIGTERM (143)".into())
}
