//! The group on a test LAN: `sion up -n 3` (three SiON nodes in QEMU on a
//! bridge in a network namespace, and a workstation daemon), then the group
//! as `sion nodes --json` shows it: every member alive with the status
//! vector it measured, with no configuration but the shared key; then
//! `sion down`. In between, jobs offloaded with `sion run` to the SiON
//! nodes, each compared with the same program run here: output, stdin, exit
//! status, `--file`/`--out`, placement by the weights, a submission without
//! the group key refused, ^C, a node frozen for 0.9 s during a placement,
//! and a node killed mid-job with `--retries 1`.
//! Needs root, like the test LAN.

use crate::util::{self, Outcome, Result};
use std::process::Command;
use std::time::{Duration, Instant};

const BUSYBOX: &str = "/bin/busybox";

pub struct Group {
    pub members: usize,
    pub nodes: usize,
    pub jobs: Jobs,
    pub summary: String,
    /// The workstation's programs through `sion run`, cold and warm.
    pub programs: String,
}

#[derive(Default)]
pub struct Jobs {
    /// Median time from `sion run` of a small program to its end, seconds.
    pub hello_s: f64,
    pub checks: Vec<&'static str>,
}

fn sion(args: &[&str], timeout: u64) -> util::Captured {
    let mut c = Command::new(util::sion_binary());
    c.args(args);
    util::capture(&mut c, None, Duration::from_secs(timeout))
}

pub fn run() -> Result<Group> {
    let key = util::target_dir().join("group-tests/test-group.key");
    std::fs::create_dir_all(key.parent().unwrap()).map_err(|e| e.to_string())?;
    std::fs::write(&key, "3c".repeat(32)).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(|e| e.to_string())?;
    // A group left over from an interrupted run would make `up` refuse.
    let _ = sion(&["down"], 30);
    let key_arg = key.to_string_lossy().into_owned();
    let up = sion(&["up", "-n", "3", "--mem", "128M,192M,256M", "--key-file", &key_arg, "--wait", "90"], 150);
    let result = (|| {
        if up.outcome != Outcome::Exited(0) {
            return Err(format!("sion up: {} {}", up.outcome.short(), String::from_utf8_lossy(&up.stderr).lines().last().unwrap_or("")));
        }
        let nodes = sion(&["nodes", "--json"], 30);
        let text = String::from_utf8_lossy(&nodes.stdout).into_owned();
        let members: Vec<&str> = text.lines().filter(|l| l.contains("\"id\"")).collect();
        let alive = members.iter().filter(|l| l.contains("\"state\":\"alive\"")).count();
        let sion_nodes: Vec<&&str> = members.iter().filter(|l| l.contains("\"workstation\":false")).collect();
        if alive != 4 || sion_nodes.len() != 3 {
            return Err(format!("expected 4 alive members (3 SiON nodes): {text}"));
        }
        // Each node reports what it measured: memory near its size, a CPU speed.
        for l in &sion_nodes {
            if l.contains("\"cpu_speed\":0,") || l.contains("\"total_mem_mib\":0,") {
                return Err(format!("a node reported no measurements: {l}"));
            }
        }
        // Before offload(), which kills a node on purpose.
        let across = across_nodes(&key_arg, &text)?;
        let programs = crate::workstation_tests::through_run(&key_arg, &by_memory(&text))?;
        let mut jobs = offload(&key_arg, &text)?;
        jobs.checks.push(across);
        Ok(Group { members: members.len(), nodes: sion_nodes.len(), jobs, summary: String::new(), programs })
    })();
    let down = sion(&["down"], 30);
    let mut g = result?;
    if down.outcome != Outcome::Exited(0) {
        return Err(format!("sion down: {}", String::from_utf8_lossy(&down.stderr).trim()));
    }
    g.summary = format!(
        "sion up -n 3: {} members alive ({} SiON nodes + this workstation); sion run on the nodes: {} ({:.2} s for a small job); the workstation's programs: {}; sion down",
        g.members,
        g.nodes,
        g.jobs.checks.join(", "),
        g.jobs.hello_s,
        g.programs
    );
    Ok(g)
}

/// The SiON nodes' names in `sion nodes --json`, the one with least memory first.
fn by_memory(nodes_json: &str) -> Vec<String> {
    let field = |l: &str, k: &str| l.split(&format!("\"{k}\":")).nth(1).map(|r| r.trim_start_matches('"').split(['"', ',', '}']).next().unwrap_or("").to_string());
    let mut nodes: Vec<(u64, String)> = nodes_json
        .lines()
        .filter(|l| l.contains("\"workstation\":false"))
        .filter_map(|l| Some((field(l, "total_mem_mib")?.parse().ok()?, field(l, "name")?)))
        .collect();
    nodes.sort();
    nodes.into_iter().map(|(_, n)| n).collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `sion run --no-local` (a SiON node, never this workstation).
fn run_job(key: &str, extra: &[&str], program: &[&str], stdin: Option<&[u8]>, cwd: Option<&std::path::Path>) -> util::Captured {
    let mut c = Command::new(util::sion_binary());
    c.args(["run", "--no-local", "--key-file", key]).args(extra).args(program);
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    util::capture(&mut c, stdin, Duration::from_secs(120))
}

/// Static Linux programs talking TCP across the test LAN: `tcp_upper` (a
/// server, compat-tests/servers) runs on one node, `tcp_client` on another
/// connects to it by its link-local address; a third party on the host's
/// side of the LAN (the namespace of `sion up`) reaches that server and a
/// second one on the other node.
fn across_nodes(key: &str, nodes_json: &str) -> Result<&'static str> {
    // (name, address) of each SiON node; jobs go through the daemon (`--node`),
    // which is on the LAN, where this process is not.
    let field = |l: &str, k: &str| l.split(&format!("\"{k}\":\"")).nth(1).and_then(|r| r.split('"').next()).map(str::to_string);
    let nodes: Vec<(String, String)> = nodes_json.lines().filter(|l| l.contains("\"workstation\":false")).filter_map(|l| Some((field(l, "name")?, field(l, "address")?))).collect();
    let [(name_a, a), (name_b, b), ..] = &nodes[..] else { return Err(format!("two SiON nodes needed: {nodes_json}")) };
    let ip_of = |addr: &str| addr.rsplit_once(':').map(|(ip, _)| ip.to_string()).unwrap_or_default();
    let dir = util::target_dir().join("group-tests");
    let mut bins = Vec::new();
    for name in ["tcp_upper", "tcp_client"] {
        let bin = dir.join(name);
        let src = util::root().join(format!("compat-tests/servers/{name}.c"));
        let built = Command::new("musl-gcc").args(["-static", "-O1"]).arg(&src).arg("-o").arg(&bin).output().map_err(|e| format!("musl-gcc: {e}"))?;
        if !built.status.success() {
            return Err(format!("musl-gcc {name}.c: {}", text(&built.stderr)));
        }
        bins.push(bin.to_string_lossy().into_owned());
    }
    let (upper, client) = (bins[0].clone(), bins[1].clone());
    // Servers: on A for two connections (node B's client, then the LAN), on B for one (the LAN).
    let serve = |to: &str, port: &'static str, conns: &'static str| {
        let (key, to, upper) = (key.to_string(), to.to_string(), upper.clone());
        std::thread::spawn(move || run_job(&key, &["--node", &to], &[&upper, port, conns], None, None))
    };
    let server_a = serve(name_a, "7100", "2");
    let server_b = serve(name_b, "7101", "1");
    let from_b = run_job(key, &["--node", name_b], &[&client, &ip_of(a), "7100", "hello from node b"], None, None);
    let lan = |ip: String, port: &str, what: &str| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", "sion-up", &client, &ip, port, what]);
        util::capture(&mut c, None, Duration::from_secs(60))
    };
    let lan_a = lan(ip_of(a), "7100", "the lan to a");
    let lan_b = lan(ip_of(b), "7101", "the lan to b");
    let (done_a, done_b) = (server_a.join().map_err(|_| "server thread")?, server_b.join().map_err(|_| "server thread")?);
    let expect = [
        ("node B's client to node A", &from_b, "HELLO FROM NODE B\n"),
        ("the LAN to node A", &lan_a, "THE LAN TO A\n"),
        ("the LAN to node B", &lan_b, "THE LAN TO B\n"),
    ];
    // A client that found no server says little by itself: say how the servers' jobs went too.
    let servers = || format!("; server on A: {} {:?}, on B: {} {:?}", done_a.outcome.short(), text(&done_a.stderr), done_b.outcome.short(), text(&done_b.stderr));
    for (what, got, want) in expect {
        if got.outcome != Outcome::Exited(0) || text(&got.stdout) != want {
            return Err(format!("{what}: {} {:?} (stderr {:?}){}", got.outcome.short(), text(&got.stdout), text(&got.stderr), servers()));
        }
    }
    for (what, done, bytes) in [("node A", &done_a, 29), ("node B", &done_b, 12)] {
        if done.outcome != Outcome::Exited(0) || !text(&done.stdout).contains(&format!("served {bytes} bytes")) {
            return Err(format!("the server on {what}: {} {:?} (stderr {:?})", done.outcome.short(), text(&done.stdout), text(&done.stderr)));
        }
    }
    Ok("TCP between static programs on two nodes, and from the LAN to both")
}

/// The same program here, for the comparison.
fn run_here(program: &[&str], stdin: Option<&[u8]>) -> util::Captured {
    let mut c = Command::new(program[0]);
    c.args(&program[1..]).env_clear();
    util::capture(&mut c, stdin, Duration::from_secs(60))
}

fn same(what: &str, node: &util::Captured, here: &util::Captured) -> Result<()> {
    if node.outcome != here.outcome || node.stdout != here.stdout {
        return Err(format!(
            "{what}: on a node {} {:?} (stderr {:?}), here {} {:?}",
            node.outcome.short(),
            text(&node.stdout),
            text(&node.stderr),
            here.outcome.short(),
            text(&here.stdout)
        ));
    }
    Ok(())
}

fn offload(key: &str, nodes_json: &str) -> Result<Jobs> {
    let mut jobs = Jobs::default();
    if !std::path::Path::new(BUSYBOX).is_file() {
        return Err(format!("{BUSYBOX} is missing (cargo xtask setup installs busybox-static)"));
    }
    // Output, arguments with spaces, the environment: as here.
    let prog = [BUSYBOX, "printf", "%s|", "a", "b c", ""];
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let node = run_job(key, &[], &prog, None, None);
        times.push(t.elapsed().as_secs_f64());
        same("printf", &node, &run_here(&prog, None))?;
    }
    times.sort_by(f64::total_cmp);
    jobs.hello_s = times[1];
    // The --env entries, then a login shell's PATH (sion's default), or exactly them with --clear-env.
    let node = run_job(key, &["--env", "A=1", "--env", "B=two words"], &[BUSYBOX, "env"], None, None);
    if node.outcome != Outcome::Exited(0) || text(&node.stdout) != "A=1\nB=two words\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n" {
        return Err(format!("env: {} {:?}", node.outcome.short(), text(&node.stdout)));
    }
    let node = run_job(key, &["--clear-env", "--env", "A=1"], &[BUSYBOX, "env"], None, None);
    if node.outcome != Outcome::Exited(0) || text(&node.stdout) != "A=1\n" {
        return Err(format!("env --clear-env: {} {:?}", node.outcome.short(), text(&node.stdout)));
    }
    jobs.checks.push("output");
    // Stdin: 1 MiB through sha256sum.
    let input: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let prog = [BUSYBOX, "sha256sum"];
    same("sha256sum of 1 MiB of stdin", &run_job(key, &[], &prog, Some(&input), None), &run_here(&prog, Some(&input)))?;
    jobs.checks.push("1 MiB stdin");
    // Exit statuses.
    for code in ["0", "3", "255"] {
        let prog = [BUSYBOX, "sh", "-c", &format!("exit {code}")];
        same("exit status", &run_job(key, &[], &prog, None, None), &run_here(&prog, None))?;
    }
    jobs.checks.push("exit status");
    // Input files in, output files back.
    let dir = util::target_dir().join("group-tests/files");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("in.txt"), "carried there and back\n").map_err(|e| e.to_string())?;
    let node = run_job(key, &["--file", "in.txt", "--out", "out.txt"], &[BUSYBOX, "cp", "in.txt", "out.txt"], None, Some(&dir));
    let back = std::fs::read_to_string(dir.join("out.txt")).unwrap_or_default();
    if node.outcome != Outcome::Exited(0) || back != "carried there and back\n" {
        return Err(format!("--file/--out: {} {:?}, out.txt {:?}", node.outcome.short(), text(&node.stderr), back));
    }
    jobs.checks.push("--file/--out");
    // Placement: a memory-only weighting picks the node with the most free memory.
    let most_free = nodes_json
        .lines()
        .filter(|l| l.contains("\"workstation\":false"))
        .filter_map(|l| {
            let field = |k: &str| l.split(&format!("\"{k}\":")).nth(1).map(|r| r.split([',', '}']).next().unwrap_or("").trim_matches('"').to_string());
            Some((field("free_mem_mib")?.parse::<u32>().ok()?, field("name")?))
        })
        .max();
    let Some((_, best)) = most_free else { return Err(format!("no node in {nodes_json}")) };
    let node = run_job(key, &["--verbose", "--weights", "cpu=0,mem=1,speed=0,net=0"], &[BUSYBOX, "true"], None, None);
    let placed = text(&node.stderr).lines().find(|l| l.contains("placed on")).map(|l| l.split("placed on ").nth(1).unwrap_or("").split(' ').next().unwrap_or("").to_string());
    if placed.as_deref() != Some(best.as_str()) {
        return Err(format!("--weights mem=1 placed the job on {placed:?}, not on {best} (most free memory)"));
    }
    jobs.checks.push("placement by memory");
    // Without the group key: refused, and the node says why.
    let wrong = util::target_dir().join("group-tests/wrong.key");
    std::fs::write(&wrong, "5a".repeat(32)).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&wrong, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(|e| e.to_string())?;
    let first = nodes_json.lines().find(|l| l.contains("\"workstation\":false")).and_then(|l| l.split("\"address\":\"").nth(1)).and_then(|r| r.split('"').next()).unwrap_or("");
    let mut c = Command::new(util::sion_binary());
    c.args(["run", "--to", first, "--key-file"]).arg(&wrong).args([BUSYBOX, "true"]);
    let refused = util::capture(&mut c, None, Duration::from_secs(60));
    if refused.outcome != Outcome::Exited(125) {
        return Err(format!("a job without the group key: {} {:?}", refused.outcome.short(), text(&refused.stderr)));
    }
    let logged = (0..3).any(|i| std::fs::read_to_string(util::sion_state_dir().join(format!("node{i}.log"))).is_ok_and(|l| l.contains("authentication failed")));
    if !logged {
        return Err("a job without the group key was not logged as refused on the node".into());
    }
    jobs.checks.push("wrong key refused");
    // ^C: the job is cancelled on its node; sion ends as SIGINT would.
    let mut c = Command::new(util::sion_binary());
    c.args(["run", "--no-local", "--key-file", key, BUSYBOX, "sleep", "60"]).stdin(std::process::Stdio::null());
    let mut child = c.spawn().map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_secs(3));
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let t = Instant::now();
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if status.and_then(|s| s.code()) != Some(130) {
        return Err(format!("^C during a job: sion ended {status:?}, not 130"));
    }
    jobs.checks.push("^C");
    jobs.checks.push(frozen_node(key)?);
    // A node dies mid-job: with --retries 1 the job runs again elsewhere.
    let marker = "group: job";
    let before: Vec<usize> = (0..3).map(|i| std::fs::read_to_string(util::sion_state_dir().join(format!("node{i}.log"))).map(|l| l.matches(marker).count()).unwrap_or(0)).collect();
    let mut c = Command::new(util::sion_binary());
    c.args(["run", "--verbose", "--no-local", "--retries", "1", "--key-file", key, BUSYBOX, "sleep", "4"]);
    c.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = c.spawn().map_err(|e| e.to_string())?;
    let t = Instant::now();
    let victim = loop {
        let now: Vec<usize> = (0..3).map(|i| std::fs::read_to_string(util::sion_state_dir().join(format!("node{i}.log"))).map(|l| l.matches(marker).count()).unwrap_or(0)).collect();
        if let Some(i) = (0..3).find(|&i| now[i] > before[i]) {
            break Some(i);
        }
        if t.elapsed() > Duration::from_secs(20) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let Some(victim) = victim else { return Err("the retried job never reached a node".into()) };
    let pids = std::fs::read_to_string(util::sion_state_dir().join("pids")).unwrap_or_default();
    let pid = pids.lines().nth(victim + 1).unwrap_or("").trim().to_string();
    let _ = Command::new("kill").args(["-KILL", &pid]).status();
    let mut child = child;
    let t = Instant::now();
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if t.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let out = child.wait_with_output().map_err(|e| e.to_string())?;
            return Err(format!("a node killed mid-job (node {victim}) with --retries 1: sion run did not end within 90 s: {}", text(&out.stderr)));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let err = text(&out.stderr);
    if out.status.code() != Some(0) || !err.contains("running the job again") {
        return Err(format!("a node killed mid-job with --retries 1: exit {:?}, stdout {:?}, stderr {:?}", out.status.code(), text(&out.stdout), err));
    }
    jobs.checks.push("node killed mid-job, retried");
    Ok(jobs)
}

/// A node whose QEMU is stopped (SIGSTOP) for 0.9 s when a job is placed
/// on it by name: the first placement goes unanswered, `sion run` asks
/// again, and the job runs there once the node is back.
fn frozen_node(key: &str) -> Result<&'static str> {
    let log = std::fs::read_to_string(util::sion_state_dir().join("node0.log")).map_err(|e| e.to_string())?;
    let ip = log.split("netstack: address ").nth(1).and_then(|r| r.split('/').next()).ok_or("node 0 has no address in its log")?;
    let name = format!("sion-{ip}");
    let pids = std::fs::read_to_string(util::sion_state_dir().join("pids")).unwrap_or_default();
    let pid = pids.lines().nth(1).unwrap_or("").trim().to_string();
    let signal = |sig: &str| Command::new("kill").args([sig, &pid]).status().map(|s| s.success()).unwrap_or(false);
    if !signal("-STOP") {
        return Err(format!("could not stop node 0's QEMU (pid {pid:?})"));
    }
    let thaw = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(900));
        let _ = Command::new("kill").args(["-CONT", &pid]).status();
    });
    let out = run_job(key, &["--verbose", "--node", &name], &[BUSYBOX, "echo", "back again"], None, None);
    let _ = thaw.join();
    let err = text(&out.stderr);
    if out.outcome != Outcome::Exited(0) || text(&out.stdout) != "back again\n" || !err.contains("asking again") {
        return Err(format!("a job placed on a node frozen for 0.9 s: {} {:?}, stderr {:?}", out.outcome.short(), text(&out.stdout), err.lines().filter(|l| !l.contains("DEBUG")).collect::<Vec<_>>()));
    }
    Ok("a node frozen for 0.9 s asked again")
}

/// Figures for `cargo xtask bench`: a small job's time to its end through
/// `sion run` on a SiON node and, in the same run, on this workstation (the
/// daemon runs it as a local process), and jobs per second across 3 nodes.
pub struct Bench {
    pub node_ms: f64,
    pub workstation_ms: f64,
    pub jobs_per_s: f64,
}

pub fn bench() -> Result<Bench> {
    crate::lan_tests::available()?;
    let key = util::target_dir().join("group-tests/test-group.key");
    std::fs::create_dir_all(key.parent().unwrap()).map_err(|e| e.to_string())?;
    std::fs::write(&key, "3c".repeat(32)).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(|e| e.to_string())?;
    let _ = sion(&["down"], 30);
    let key = key.to_string_lossy().into_owned();
    let up = sion(&["up", "-n", "3", "--key-file", &key, "--wait", "90"], 150);
    let result = (|| {
        if up.outcome != Outcome::Exited(0) {
            return Err(format!("sion up: {}", up.outcome.short()));
        }
        let nodes = text(&sion(&["nodes", "--json"], 30).stdout);
        let ws = nodes
            .lines()
            .find(|l| l.contains("\"workstation\":true"))
            .and_then(|l| l.split("\"id\":\"").nth(1))
            .and_then(|r| r.split('"').next())
            .ok_or("no workstation in the group")?
            .to_string();
        let prog = [BUSYBOX, "printf", "hello\\n"];
        let median = |extra: &[&str]| -> Result<f64> {
            let mut t = Vec::new();
            for _ in 0..7 {
                let t0 = Instant::now();
                let r = run_job(&key, extra, &prog, None, None);
                if r.outcome != Outcome::Exited(0) {
                    return Err(format!("sion run {extra:?}: {} {}", r.outcome.short(), text(&r.stderr)));
                }
                t.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            t.sort_by(f64::total_cmp);
            Ok(t[t.len() / 2])
        };
        let node_ms = median(&[])?;
        // `--no-local` is given by run_job; --node names the workstation itself.
        let workstation_ms = {
            let mut t = Vec::new();
            for _ in 0..7 {
                let t0 = Instant::now();
                let mut c = Command::new(util::sion_binary());
                c.args(["run", "--node", &ws, "--key-file", &key]).args(prog);
                let r = util::capture(&mut c, None, Duration::from_secs(60));
                if r.outcome != Outcome::Exited(0) {
                    return Err(format!("sion run --node {ws}: {} {}", r.outcome.short(), text(&r.stderr)));
                }
                t.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        };
        // Throughput: 12 jobs of ~0.2 s of CPU each, 3 clients at a time.
        let jobs = 12;
        let t0 = Instant::now();
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let key = key.clone();
                std::thread::spawn(move || -> Result<()> {
                    for _ in 0..jobs / 3 {
                        let r = run_job(&key, &[], &[BUSYBOX, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"], None, None);
                        if r.outcome != Outcome::Exited(0) {
                            return Err(format!("a throughput job: {} {}", r.outcome.short(), text(&r.stderr)));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join().map_err(|_| "a worker panicked".to_string())??;
        }
        let jobs_per_s = jobs as f64 / t0.elapsed().as_secs_f64();
        Ok(Bench { node_ms, workstation_ms, jobs_per_s })
    })();
    let _ = sion(&["down"], 30);
    result
}
