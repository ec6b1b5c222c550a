//! `sion daemon`, `sion nodes` and `sion run` with real processes: several
//! daemons on this machine, each on its own loopback address (127.0.N.x),
//! find each other by broadcast on 127.255.255.255 and run jobs over TCP.
//! Each test uses its own port, so tests run in parallel without meeting.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SION: &str = env!("CARGO_BIN_EXE_sion");

const PROGRAM: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "sleep") == 0) {
        printf("start\n"); fflush(stdout);
        sleep(atoi(argv[2]));
        printf("done\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "cat") == 0) {
        char b[256]; size_t n;
        while ((n = fread(b, 1, sizeof b, stdin)) > 0) fwrite(b, 1, n, stdout);
        return 7;
    }
    if (argc > 1 && strcmp(argv[1], "abort") == 0) { fflush(stdout); abort(); }
    for (int i = 0; i < argc; i++) printf("argv[%d] = %s\n", i, argv[i]);
    FILE *f = fopen("data.txt", "r");
    char line[64];
    if (f && fgets(line, sizeof line, f)) printf("data: %s", line);
    const char *v = getenv("GREETING");
    if (v) printf("GREETING=%s\n", v);
    fprintf(stderr, "to stderr\n");
    return argc;
}
"#;

/// Builds the test program statically (musl-gcc, else gcc -static).
fn program(dir: &Path) -> Option<PathBuf> {
    let src = dir.join("prog.c");
    std::fs::write(&src, PROGRAM).unwrap();
    let exe = dir.join("prog");
    for cc in ["musl-gcc", "gcc"] {
        let ok = Command::new(cc).args(["-static", "-O1", "-o"]).arg(&exe).arg(&src).stderr(Stdio::null()).status();
        if ok.is_ok_and(|s| s.success()) {
            return Some(exe);
        }
    }
    eprintln!("no static C compiler (musl-gcc or gcc -static): skipped");
    None
}

struct Daemon {
    child: Child,
    ip: String,
    control: PathBuf,
    log: PathBuf,
}

struct Group {
    dir: tempfile::TempDir,
    port: u16,
    daemons: Vec<Daemon>,
}

impl Group {
    fn new(test: u16) -> Group {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("group.key");
        write_key(&key, &"5d".repeat(32));
        let port = 20000 + (std::process::id() % 2000) as u16 * 10 + test;
        Group { dir, port, daemons: Vec::new() }
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("group.key")
    }

    /// Starts a daemon at 127.0.NET.HOST offering MEM MiB.
    fn start(&mut self, net: u8, host: u8, mem: u32, key: &Path) -> usize {
        let ip = format!("127.0.{net}.{host}");
        let control = self.dir.path().join(format!("d{host}.sock"));
        let log = self.dir.path().join(format!("d{host}.log"));
        let child = Command::new(SION)
            .args(["daemon", "--bind", &ip, "--port", &self.port.to_string(), "--name", &format!("ws{host}")])
            .arg("--key-file")
            .arg(key)
            .arg("--control")
            .arg(&control)
            .args(["--mem-limit", &mem.to_string()])
            // This machine's load belongs to whatever else runs on it.
            .args(["--max-load", "6000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        self.daemons.push(Daemon { child, ip, control, log });
        self.daemons.len() - 1
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.daemons[i].log).unwrap_or_default()
    }

    /// `sion nodes --json` of daemon i, as (name, state) pairs.
    fn view(&self, i: usize) -> Vec<(String, String)> {
        let out = Command::new(SION).args(["nodes", "--json", "--control"]).arg(&self.daemons[i].control).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |item: &str, k: &str| {
            let at = item.find(&format!("\"{k}\":\"")).map(|p| p + k.len() + 4)?;
            Some(item[at..].split('"').next()?.to_string())
        };
        text.split('{').filter_map(|it| Some((field(it, "name")?, field(it, "state")?))).collect()
    }

    /// Waits until daemon i sees `alive` members alive (itself included).
    fn wait_alive(&self, i: usize, alive: usize, limit: Duration) -> Duration {
        let t0 = Instant::now();
        loop {
            let v = self.view(i);
            if v.iter().filter(|(_, s)| s == "alive").count() == alive {
                return t0.elapsed();
            }
            assert!(t0.elapsed() < limit, "daemon {i} sees {v:?} after {limit:?}; log:\n{}", self.log(i));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn run(&self, via: usize, args: &[&str], stdin: &[u8]) -> Output {
        let mut c = Command::new(SION);
        c.arg("run").arg("--control").arg(&self.daemons[via].control).arg("--key-file").arg(self.key()).args(args);
        c.current_dir(self.dir.path()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        {
            use std::io::Write;
            let mut i = child.stdin.take().unwrap();
            i.write_all(stdin).unwrap();
        }
        wait_output(child, Duration::from_secs(30))
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        for d in &mut self.daemons {
            let _ = Command::new("kill").args(["-CONT", &d.child.id().to_string()]).status();
            let _ = d.child.kill();
            let _ = d.child.wait();
        }
    }
}

fn wait_output(mut child: Child, limit: Duration) -> Output {
    let t0 = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("sion run did not end in {limit:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn write_key(path: &Path, hex: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("{hex}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_group_forms_and_runs_jobs_like_local_programs() {
    let mut g = Group::new(1);
    let Some(prog) = program(g.dir.path()) else { return };
    let key = g.key();
    for (host, mem) in [(2, 100), (3, 300), (4, 200)] {
        g.start(11, host, mem, &key);
    }
    // No configuration: broadcast discovery.
    let took = g.wait_alive(0, 3, Duration::from_secs(10));
    eprintln!("3 daemons formed a group in {took:?}");
    g.wait_alive(1, 3, Duration::from_secs(10));
    g.wait_alive(2, 3, Duration::from_secs(10));

    // The table lines up.
    let out = Command::new(SION).args(["nodes", "--control"]).arg(&g.daemons[0].control).output().unwrap();
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("NODE") && lines.len() == 5, "{table}");
    let col = lines[0].find("ADDRESS").unwrap();
    for l in &lines[1..4] {
        assert_eq!(&l[col..col + 8], "127.0.11", "{table}");
    }

    // stdout, stderr, exit status, argv, env, --file.
    std::fs::write(g.dir.path().join("data.txt"), "file content\n").unwrap();
    let p = prog.to_str().unwrap();
    let t0 = Instant::now();
    let o = g.run(0, &["--file", "data.txt", "--env", "GREETING=hi", p, "one", "two words"], b"");
    eprintln!("sion run of a hello: {:?}", t0.elapsed());
    assert_eq!(
        text(&o.stdout),
        format!("argv[0] = {p}\nargv[1] = one\nargv[2] = two words\ndata: file content\nGREETING=hi\n"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(text(&o.stderr), "to stderr\n");
    assert_eq!(o.status.code(), Some(3));
    // stdin is forwarded; a signal is 128+N.
    let o = g.run(1, &[p, "cat"], b"line one\nline two\n");
    assert_eq!((text(&o.stdout).as_str(), o.status.code()), ("line one\nline two\n", Some(7)));
    let o = g.run(2, &[p, "abort"], b"");
    assert_eq!(o.status.code(), Some(134));
    // ^C: the job gets SIGINT on its node, and sion run ends as the program did.
    let mut c = Command::new(SION);
    c.arg("run").arg("--control").arg(&g.daemons[0].control).arg("--key-file").arg(g.key()).args([p, "sleep", "20"]);
    let mut child = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = [0u8; 6];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    let t0 = Instant::now();
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let o = wait_output(child, Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
    assert!(t0.elapsed() < Duration::from_secs(3));
    // A dynamically linked program runs too (on a workstation daemon with
    // that machine's own libraries; its loader and libraries travel along).
    let o = g.run(0, &["/bin/sh", "-c", "echo dynamic; exit 3"], b"");
    assert_eq!((o.status.code(), text(&o.stdout).as_str()), (Some(3), "dynamic\n"), "{}", text(&o.stderr));
    // Not a program at all: refused before placement, like `sion exec`.
    let o = g.run(0, &["/etc/hostname"], b"");
    assert_eq!(o.status.code(), Some(126), "{}", text(&o.stderr));

    // Placement by weights: memory-heavy weights pick the 300 MiB daemon,
    // whichever daemon is asked.
    for via in 0..3 {
        let o = g.run(via, &["--verbose", "--weights", "cpu=0,mem=10,speed=0,net=0", p], b"");
        let err = text(&o.stderr);
        assert!(err.contains("placed on ws3 "), "via {via}: {err}");
    }
    assert!(g.log(1).matches("job from").count() >= 6, "{}", g.log(1));
    // --node forces the node; --no-local excludes the asking daemon.
    let o = g.run(1, &["--verbose", "--node", "ws2", p], b"");
    assert!(text(&o.stderr).contains("placed on ws2 "), "{}", text(&o.stderr));
    let o = g.run(1, &["--verbose", "--no-local", "--weights", "cpu=0,mem=10,speed=0,net=0", p], b"");
    assert!(text(&o.stderr).contains("placed on ws4 "), "{}", text(&o.stderr));
}

#[test]
fn a_node_killed_mid_job_is_noticed_and_the_job_runs_elsewhere() {
    let mut g = Group::new(2);
    let Some(prog) = program(g.dir.path()) else { return };
    let key = g.key();
    for (host, mem) in [(2, 100), (3, 300), (4, 200)] {
        g.start(12, host, mem, &key);
    }
    g.wait_alive(0, 3, Duration::from_secs(10));
    g.wait_alive(1, 3, Duration::from_secs(10));
    let p = prog.to_str().unwrap().to_string();
    let weights = "cpu=0,mem=10,speed=0,net=0";

    // 1. The process dies (its connections close): noticed at once.
    let mut c = Command::new(SION);
    c.arg("run").arg("--control").arg(&g.daemons[0].control).arg("--key-file").arg(&key);
    c.args(["--no-local", "--retries", "1", "--weights", weights, &p, "sleep", "2"]);
    let mut child = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = [0u8; 6];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    assert_eq!(&first, b"start\n");
    assert!(g.log(1).contains("job from"), "the job went to ws3");
    let t0 = Instant::now();
    g.daemons[1].child.kill().unwrap();
    let o = wait_output(child, Duration::from_secs(30));
    let err = text(&o.stderr);
    assert!(err.contains("node ws3") && err.contains("running the job again on another node (retry 1 of 1)"), "{err}");
    assert_eq!(text(&o.stdout), "start\ndone\n", "the retry ran on ws4: {err}");
    assert_eq!(o.status.code(), Some(0));
    eprintln!("killed node: job completed elsewhere {:?} after the kill", t0.elapsed());

    // 2. The node goes silent (no connection closes: a powered-off machine):
    //    the group declares it dead within the liveness bound and the job moves.
    g.wait_alive(0, 2, Duration::from_secs(15));
    let mut c = Command::new(SION);
    c.arg("run").arg("--control").arg(&g.daemons[0].control).arg("--key-file").arg(&key);
    c.args(["--no-local", "--retries", "1", "--weights", weights, &p, "sleep", "20"]);
    let mut child = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    let stopped = g.daemons[2].child.id().to_string();
    Command::new("kill").args(["-STOP", &stopped]).status().unwrap();
    let t0 = Instant::now();
    // The retry has nowhere to go but the requester itself (--no-local
    // excludes it): it fails cleanly, after the group noticed.
    let o = wait_output(child, Duration::from_secs(30));
    let noticed = t0.elapsed();
    let err = text(&o.stderr);
    assert!(err.contains("the group declared it dead"), "{err}");
    assert!(noticed < Duration::from_secs(10), "noticed after {noticed:?}");
    assert_eq!(o.status.code(), Some(125), "{err}");
    eprintln!("silent node: declared dead and the job abandoned {noticed:?} after it stopped");
    Command::new("kill").args(["-CONT", &stopped]).status().unwrap();
}

#[test]
fn a_daemon_with_another_key_is_refused_and_logged() {
    let mut g = Group::new(3);
    let Some(prog) = program(g.dir.path()) else { return };
    let key = g.key();
    g.start(13, 2, 100, &key);
    g.start(13, 3, 100, &key);
    let bad = g.dir.path().join("other.key");
    write_key(&bad, &"a7".repeat(32));
    g.start(13, 9, 100, &bad);
    g.wait_alive(0, 2, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(1500));
    // Nobody accepts the intruder, and it accepts nobody.
    assert_eq!(g.view(0).len(), 2, "{:?}", g.view(0));
    assert_eq!(g.view(2).len(), 1, "{:?}", g.view(2));
    let log = g.log(0);
    assert!(log.contains(&format!("refused a datagram from {}:{}: authentication failed", g.daemons[2].ip, g.port)), "{log}");

    // A job sent straight to a member with the wrong key runs nothing and is logged.
    let mut c = Command::new(SION);
    c.args(["run", "--key-file"]).arg(&bad).args(["--to", &format!("{}:{}", g.daemons[0].ip, g.port)]).arg(&prog);
    let o = wait_output(c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap(), Duration::from_secs(20));
    assert_eq!(o.status.code(), Some(125));
    assert!(o.stdout.is_empty());
    assert!(text(&o.stderr).contains("before starting the job"), "{}", text(&o.stderr));
    let t0 = Instant::now();
    while !g.log(0).contains("refused a job from 127.0.0.1") {
        assert!(t0.elapsed() < Duration::from_secs(5), "{}", g.log(0));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(g.log(0).contains("authentication failed (not the group key)"));
    assert!(!g.log(0).contains("INFO job from"), "{}", g.log(0));
}
