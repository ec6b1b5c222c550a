//! `cargo xtask bench`: SiON against Linux booted in the same QEMU.
//!
//! Both systems run under the same QEMU settings ([`Qemu`]: machine, CPU
//! model, memory, accelerator). The workloads (tools/bench/workloads/*.c) are
//! static musl programs that print `BENCH name value unit` lines:
//!
//! - on SiON each runs through `sion exec` (the Linux personality). `sion exec`
//!   starts `qemu-system-x86_64` from PATH, so the bench puts a wrapper first
//!   on PATH that adds the bench's extra QEMU arguments (`-icount`) and logs
//!   the command line it ran;
//! - the native IPC figures come from `sion-bench` (kernel/bench), booted with
//!   the kernel alone;
//! - on Linux, Debian's `linux-image-amd64` kernel boots an initramfs built
//!   here: a static init (tools/bench/init/init.c) that runs the same binaries
//!   from /bench/run and powers off.
//!
//! Two clocks, never mixed in one row:
//! - **icount** (`-icount shift=0,sleep=off`): the guest's TSC and clocks count
//!   virtual nanoseconds, one per guest instruction (an idle guest jumps to its
//!   next timer). "cycles" then means guest instructions; figures repeat.
//! - **wall**: plain TCG, the guest clock follows the host's; noisy, but what
//!   a user waits for.
//!
//! Results: one table on stdout, target/bench/results.json (with the machine
//! and the QEMU command lines) and SVG charts in target/bench/.

mod chart;

use crate::build::BARE_METAL_TARGET;
use crate::util::{self, Outcome, Result};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The QEMU settings both systems share.
pub struct Qemu {
    pub machine: &'static str,
    pub cpu: &'static str,
    pub memory: &'static str,
    pub accel: &'static str,
    pub icount: &'static str,
}

pub const QEMU: Qemu = Qemu { machine: "microvm", cpu: "max", memory: "256M", accel: "tcg", icount: "shift=0,sleep=off" };

/// The n of the n-th prime runs (the seed paper's table 2 goes to 50,000).
pub const PRIMES: &[u64] = &[500, 1000, 5000, 10000, 50000];
pub const PRIMES_QUICK: &[u64] = &[500, 1000, 5000];
/// Message sizes of the IPC rows (the paper's table 3).
pub const IPC_SIZES: &[u64] = &[4, 1024, 4096, 8192, 16384, 65500];
/// The workload programs (tools/bench/workloads/NAME.c).
pub const WORKLOADS: &[&str] = &["prime", "getppid", "clock_gettime", "unix_dgram", "pipe", "forkexec", "hello", "spawn", "parallel"];
/// CPUs of the SMP pass, and the bound of its prime count (quick, full).
const SMP_CPUS: u32 = 2;
const SMP_LIMIT: (u64, u64) = (1_500_000, 4_000_000);

/// Real programs run whole through `spawn` on both systems: Debian's static
/// busybox over generated data (`real_data`), one run each: (figure name,
/// argv, the row's label).
const REAL: &[(&str, &[&str], &str)] = &[
    ("real.sha256sum", &["/bench/busybox", "sha256sum", "/bench/data"], "busybox sha256sum of 2 MiB (4 KiB reads)"),
    ("real.gzip", &["/bench/busybox", "gzip", "-c", "/bench/data"], "busybox gzip -c of 2 MiB"),
    ("real.sort", &["/bench/busybox", "sort", "/bench/lines"], "busybox sort of 20,000 lines"),
];

/// Debian's static busybox, for the real-program rows (busybox-static).
const BUSYBOX: &str = "/bin/busybox";

/// The real programs' input: 2 MiB of pseudo-random bytes, 20,000 lines of
/// pseudo-random words; the same bytes on every run (a fixed xorshift).
fn real_data() -> Result<(PathBuf, PathBuf)> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let data: Vec<u8> = (0..2 << 20).map(|_| next() as u8).collect();
    let mut lines = Vec::new();
    for _ in 0..20_000 {
        let len = 5 + next() % 8;
        lines.extend((0..len).map(|_| b'a' + (next() % 26) as u8));
        lines.push(b'\n');
    }
    let (d, l) = (bench_dir().join("data"), bench_dir().join("lines"));
    std::fs::write(&d, data).map_err(|e| format!("{}: {e}", d.display()))?;
    std::fs::write(&l, lines).map_err(|e| format!("{}: {e}", l.display()))?;
    Ok((d, l))
}
/// Samples of the wall-clock pass; each figure is the smallest.
const WALL_SAMPLES: usize = 3;

/// Merge `new` into `best`, keeping the smaller value of each figure.
fn keep_min(best: &mut Figures, new: Figures) {
    for (k, v) in new {
        let e = best.entry(k).or_insert(v);
        *e = e.min(v);
    }
}

/// Why SiON has no figure for the fork-based workloads.
#[cfg(test)]
const NO_FORK: &str = "n/a (no fork yet)";

#[derive(clap::Args, Debug, Default)]
pub struct BenchArgs {
    /// Only the small primes (500 to 5,000) and no wall-clock pass.
    #[arg(long)]
    pub quick: bool,
    /// Skip setup and the build of the node images and `sion` (use what is built).
    #[arg(long)]
    pub no_build: bool,
}

/// Figures by name (`prime.500` -> 288114.0), as the workloads print them (the
/// lowest of a name printed more than once).
pub type Figures = BTreeMap<String, f64>;

/// Parse `BENCH name value unit` lines anywhere in `text`.
pub fn parse_figures(text: &str) -> Figures {
    let mut f = Figures::new();
    for line in text.lines() {
        let mut w = line.split_whitespace().skip_while(|w| *w != "BENCH");
        if w.next() != Some("BENCH") {
            continue;
        }
        if let (Some(name), Some(Ok(v))) = (w.next(), w.next().map(str::parse::<f64>)) {
            // A figure reported more than once (runs repeated in one boot): the best.
            let e = f.entry(name.to_string()).or_insert(v);
            *e = e.min(v);
        }
    }
    f
}

/// One cell: a number, or the reason there is none.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Value(f64),
    Missing(String),
}

impl Cell {
    fn of(f: &Figures, key: &str) -> Cell {
        match f.get(key) {
            Some(v) => Cell::Value(*v),
            None => Cell::Missing("missing".into()),
        }
    }
    fn na(why: &str) -> Cell {
        Cell::Missing(why.into())
    }
    fn value(&self) -> Option<f64> {
        match self {
            Cell::Value(v) => Some(*v),
            Cell::Missing(_) => None,
        }
    }
    fn scaled(self, k: f64) -> Cell {
        match self {
            Cell::Value(v) => Cell::Value(v * k),
            m => m,
        }
    }
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub workload: String,
    /// "icount" (guest instructions / virtual time), "wall" or "size".
    pub clock: &'static str,
    pub sion: Cell,
    pub linux: Cell,
    pub unit: &'static str,
}

impl Row {
    fn new(workload: impl Into<String>, clock: &'static str, sion: Cell, linux: Cell, unit: &'static str) -> Row {
        Row { workload: workload.into(), clock, sion, linux, unit }
    }

    /// Linux / SiON: above 1 SiON is faster (or smaller).
    pub fn ratio(&self) -> Option<f64> {
        match (self.sion.value(), self.linux.value()) {
            (Some(s), Some(l)) if s > 0.0 => Some(l / s),
            _ => None,
        }
    }
}

/// A figure with thousands separators, one decimal below 100.
pub fn fmt_num(v: f64) -> String {
    if v.abs() < 100.0 && v.fract() != 0.0 {
        return format!("{v:.2}");
    }
    let n = v.round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A cell's text; a long reason is cut here and printed whole under the table.
fn fmt_cell(c: &Cell) -> String {
    match c {
        Cell::Value(v) => fmt_num(*v),
        Cell::Missing(why) if why.chars().count() > REASON_WIDTH => format!("{}...", why.chars().take(REASON_WIDTH - 3).collect::<String>()),
        Cell::Missing(why) => why.clone(),
    }
}

/// The widest reason a table cell shows.
const REASON_WIDTH: usize = 24;

/// The one table: workload, SiON, Linux, ratio (Linux/SiON), unit, clock.
pub fn render_table(rows: &[Row]) -> String {
    let mut t = util::Table::new(&["workload", "SiON", "Linux", "Linux/SiON", "unit", "clock"]);
    for r in rows {
        let ratio = r.ratio().map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into());
        t.row(vec![r.workload.clone(), fmt_cell(&r.sion), fmt_cell(&r.linux), ratio, r.unit.into(), r.clock.into()]);
    }
    let mut out = t.render();
    for r in rows {
        for c in [&r.sion, &r.linux] {
            if let Cell::Missing(why) = c {
                if why.chars().count() > REASON_WIDTH {
                    out.push_str(&format!("{}: {why}\n", r.workload));
                }
            }
        }
    }
    out
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_num(v: f64) -> String {
    if v.is_finite() {
        if v.fract() == 0.0 && v.abs() < 1e15 {
            format!("{}", v as i64)
        } else {
            format!("{v}")
        }
    } else {
        "null".into()
    }
}

fn json_cell(c: &Cell) -> String {
    match c {
        Cell::Value(v) => json_num(*v),
        Cell::Missing(_) => "null".into(),
    }
}

fn json_figures(f: &Figures) -> String {
    let items: Vec<String> = f.iter().map(|(k, v)| format!("{}: {}", json_str(k), json_num(*v))).collect();
    format!("{{{}}}", items.join(", "))
}

/// results.json: settings beside the rows and the raw figures.
pub fn render_json(settings: &[(&str, String)], rows: &[Row], raw: &[(&str, &Figures)]) -> String {
    let mut o = String::from("{\n  \"settings\": {\n");
    let s: Vec<String> = settings.iter().map(|(k, v)| format!("    {}: {}", json_str(k), json_str(v))).collect();
    o.push_str(&s.join(",\n"));
    o.push_str("\n  },\n  \"rows\": [\n");
    let r: Vec<String> = rows
        .iter()
        .map(|r| {
            let note = |c: &Cell| match c {
                Cell::Missing(w) => json_str(w),
                _ => "null".into(),
            };
            format!(
                "    {{\"workload\": {}, \"clock\": {}, \"unit\": {}, \"sion\": {}, \"linux\": {}, \"ratio_linux_over_sion\": {}, \"sion_note\": {}, \"linux_note\": {}}}",
                json_str(&r.workload),
                json_str(r.clock),
                json_str(r.unit),
                json_cell(&r.sion),
                json_cell(&r.linux),
                r.ratio().map(json_num).unwrap_or_else(|| "null".into()),
                note(&r.sion),
                note(&r.linux)
            )
        })
        .collect();
    o.push_str(&r.join(",\n"));
    o.push_str("\n  ],\n  \"raw\": {\n");
    let r: Vec<String> = raw.iter().map(|(k, f)| format!("    {}: {}", json_str(k), json_figures(f))).collect();
    o.push_str(&r.join(",\n"));
    o.push_str("\n  }\n}\n");
    o
}

// ---------------------------------------------------------------- running

fn bench_dir() -> PathBuf {
    util::target_dir().join("bench")
}

fn images() -> PathBuf {
    util::target_dir().join(BARE_METAL_TARGET).join("release")
}

/// Build the workloads and the init with musl-gcc into target/bench/bin.
fn build_workloads() -> Result<PathBuf> {
    let src = util::root().join("tools/bench");
    let bin = bench_dir().join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut jobs: Vec<(PathBuf, PathBuf)> = WORKLOADS.iter().map(|w| (src.join(format!("workloads/{w}.c")), bin.join(w))).collect();
    jobs.push((src.join("init/init.c"), bin.join("init")));
    for (c, out) in jobs {
        let mut cmd = Command::new("musl-gcc");
        cmd.args(["-static", "-O2", "-Wall", "-U_FORTIFY_SOURCE", "-o"]).arg(&out).arg(&c);
        util::run(&mut cmd)?;
    }
    Ok(bin)
}

/// The newest Debian kernel under /boot.
pub(crate) fn linux_kernel() -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/boot")
        .map_err(|e| format!("/boot: {e}"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("vmlinuz-")))
        .collect();
    found.sort_by_key(|p| version_key(&p.to_string_lossy()));
    found.pop().ok_or_else(|| "no /boot/vmlinuz-* (cargo xtask setup installs linux-image-amd64)".into())
}

/// Sort key for kernel versions: the numbers in the name, in order.
fn version_key(s: &str) -> Vec<u64> {
    s.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect()
}

/// The uncompressed kernel inside a bzImage (its XZ payload, as the kernel's
/// scripts/extract-vmlinux finds it): an ELF with a PVH note, so QEMU boots it
/// the way it boots SiON, without the decompressor. Cached in target/bench.
pub(crate) fn linux_vmlinux(kernel: &Path) -> Result<PathBuf> {
    let name = kernel.file_name().and_then(|n| n.to_str()).unwrap_or("vmlinuz").replace("vmlinuz", "vmlinux");
    let out = bench_dir().join(name);
    if out.is_file() {
        return Ok(out);
    }
    std::fs::create_dir_all(bench_dir()).map_err(|e| format!("{}: {e}", bench_dir().display()))?;
    let image = std::fs::read(kernel).map_err(|e| format!("{}: {e}", kernel.display()))?;
    let at = image.windows(6).position(|w| w == b"\xfd7zXZ\x00").ok_or_else(|| format!("{}: no XZ payload", kernel.display()))?;
    let mut xz = Command::new("xz");
    xz.args(["-dc", "--single-stream"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = xz.spawn().map_err(|e| format!("xz: {e}"))?;
    let mut stdin = child.stdin.take().unwrap();
    let payload = image[at..].to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut stdin, &payload);
    });
    let o = child.wait_with_output().map_err(|e| format!("xz: {e}"))?;
    let _ = feeder.join();
    if !o.stdout.starts_with(b"\x7fELF") {
        return Err(format!("{}: the XZ payload is not an ELF kernel", kernel.display()));
    }
    std::fs::write(&out, &o.stdout).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(out)
}

/// A cpio "newc" archive with directories, regular files and device nodes.
#[derive(Default)]
pub struct Cpio {
    out: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        self.ino += 1;
        let fields = [self.ino, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, rdev.0, rdev.1, name.len() as u32 + 1, 0];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        while self.out.len() % 4 != 0 {
            self.out.push(0);
        }
        self.out.extend_from_slice(data);
        while self.out.len() % 4 != 0 {
            self.out.push(0);
        }
    }
    pub fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, (0, 0), &[]);
    }
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, 0o100000 | perm, (0, 0), data);
    }
    pub fn chardev(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020666, (major, minor), &[]);
    }
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.out
    }
}

/// The Linux initramfs: /init, the workloads in /bench, /bench/run.
fn linux_initramfs(bin: &Path, run: &[String], out: &Path) -> Result<()> {
    let read = |n: &str| std::fs::read(bin.join(n)).map_err(|e| format!("{n}: {e}"));
    let mut c = Cpio::default();
    for d in ["bench", "proc", "dev"] {
        c.dir(d);
    }
    c.chardev("dev/null", 1, 3);
    c.file("init", 0o755, &read("init")?);
    for w in WORKLOADS {
        c.file(&format!("bench/{w}"), 0o755, &read(w)?);
    }
    if Path::new(BUSYBOX).exists() {
        c.file("bench/busybox", 0o755, &std::fs::read(BUSYBOX).map_err(|e| format!("{BUSYBOX}: {e}"))?);
        for n in ["data", "lines"] {
            c.file(&format!("bench/{n}"), 0o644, &std::fs::read(bench_dir().join(n)).map_err(|e| format!("{n}: {e}"))?);
        }
    }
    c.file("bench/run", 0o644, (run.join("\n") + "\n").as_bytes());
    std::fs::write(out, c.finish()).map_err(|e| format!("{}: {e}", out.display()))
}

/// The common QEMU arguments of both systems (as `sion exec` passes them).
fn qemu_common(icount: bool) -> Vec<String> {
    let mut a: Vec<String> = ["-machine", QEMU.machine, "-cpu", QEMU.cpu, "-m", QEMU.memory, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-accel", QEMU.accel]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if icount {
        a.extend(["-icount".to_string(), QEMU.icount.to_string()]);
    }
    a
}

/// A finished timed run: output, exit, and when the marker line arrived.
struct Timed {
    outcome: Outcome,
    stdout: String,
    stderr: String,
    marker_after: Option<Duration>,
    /// Every stdout line with the host time (from spawn) it arrived.
    lines: Vec<(Duration, String)>,
}

/// Host time between the first line containing `from` and the first later
/// line containing `to`.
fn between(lines: &[(Duration, String)], from: &str, to: &str) -> Option<Duration> {
    let i = lines.iter().position(|(_, l)| l.contains(from))?;
    let j = lines[i..].iter().position(|(_, l)| l.contains(to))? + i;
    Some(lines[j].0 - lines[i].0)
}

/// Run `cmd`, reading stdout line by line to time the first line that
/// contains `marker` (host clock from spawn).
fn run_timed(cmd: &mut Command, marker: &str, timeout: Duration) -> Timed {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    tracing::debug!("$ {}", util::show(cmd));
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Timed { outcome: Outcome::NotRun(format!("cannot start {}: {e}", cmd.get_program().to_string_lossy())), stdout: String::new(), stderr: String::new(), marker_after: None, lines: Vec::new() },
    };
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let marker = marker.to_string();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let mut at = None;
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let t = start.elapsed();
            if at.is_none() && line.contains(&marker) {
                at = Some(t);
            }
            text.push_str(&line);
            text.push('\n');
            lines.push((t, line));
        }
        (text, at, lines)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let outcome = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Outcome::from_status(st),
            Ok(None) if start.elapsed() > timeout => {
                // SAFETY: kill() of the process group we created.
                unsafe {
                    libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
                }
                let _ = child.wait();
                break Outcome::TimedOut(timeout.as_secs());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => break Outcome::NotRun(format!("wait: {e}")),
        }
    };
    let (stdout, marker_after, lines) = out.join().unwrap_or_default();
    Timed { outcome, stdout, stderr: err.join().unwrap_or_default(), marker_after, lines }
}

/// The QEMU wrapper `sion exec` finds first on PATH: adds the bench's extra
/// arguments (from SION_BENCH_QEMU_EXTRA) and logs each command line.
fn qemu_wrapper() -> Result<(PathBuf, PathBuf)> {
    let dir = bench_dir().join("qemu-wrapper");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let real = which("qemu-system-x86_64").ok_or("qemu-system-x86_64 not found (cargo xtask setup installs it)")?;
    let log = dir.join("args.log");
    let script = format!(
        "#!/bin/sh\n# Written by cargo xtask bench: sion exec runs this QEMU.\nprintf '%s\\n' \"$*\" >> {}\nexec {} \"$@\" $SION_BENCH_QEMU_EXTRA\n",
        util::quote(&log.to_string_lossy()),
        util::quote(&real.to_string_lossy())
    );
    let path = dir.join("qemu-system-x86_64");
    std::fs::write(&path, script).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&log);
    Ok((dir, log))
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(prog)).find(|p| p.is_file() && !p.starts_with(bench_dir())))
}

/// `wall.prime.N` (ms): host time from `prime: start N` to its result line.
fn wall_primes(lines: &[(Duration, String)], f: &mut Figures) {
    for (_, l) in lines {
        if let Some(n) = l.strip_prefix("prime: start ") {
            if let Some(d) = between(lines, l, &format!("BENCH prime.{} ", n.trim())) {
                f.insert(format!("wall.prime.{}", n.trim()), d.as_secs_f64() * 1e3);
            }
        }
    }
}

/// One program on SiON through `sion exec`.
/// One program on SiON through `sion exec`: its figures (plus `wall.prime.N`,
/// the host time between a prime run's start and result lines), the host
/// time to its first line, and the whole run.
fn sion_exec(wrapper: &Path, icount: bool, prog: &Path, args: &[String]) -> Result<(Figures, Option<Duration>, Duration)> {
    sion_exec_with(wrapper, icount, &[], prog, args)
}

/// As `sion_exec`, with more `sion exec` options (`--file`...).
fn sion_exec_with(wrapper: &Path, icount: bool, opts: &[String], prog: &Path, args: &[String]) -> Result<(Figures, Option<Duration>, Duration)> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![wrapper.to_path_buf()];
    paths.extend(std::env::split_paths(&path));
    let mut cmd = Command::new(util::sion_binary());
    cmd.env("PATH", std::env::join_paths(paths).map_err(|e| e.to_string())?)
        .env("SION_BENCH_QEMU_EXTRA", if icount { format!("-icount {}", QEMU.icount) } else { String::new() })
        .args(["exec", "--timeout", "900", "--mem", QEMU.memory])
        .args(opts)
        .arg(prog)
        .args(args);
    let t = Instant::now();
    let r = run_timed(&mut cmd, "", Duration::from_secs(1000));
    let total = t.elapsed();
    if r.outcome != Outcome::Exited(0) {
        return Err(format!("sion exec {} {}: {} {}", prog.display(), args.join(" "), r.outcome.short(), r.stderr.trim()));
    }
    let mut f = parse_figures(&r.stdout);
    if !icount {
        wall_primes(&r.lines, &mut f);
    }
    Ok((f, r.marker_after, total))
}

/// One boot of Linux running `run` (lines of /bench/run).
fn linux_boot(kernel: &Path, bin: &Path, run: &[String], icount: bool, tag: &str) -> Result<(Figures, Option<Duration>, Vec<String>)> {
    linux_boot_cpus(kernel, bin, run, icount, 1, tag)
}

/// As `linux_boot`, with `cpus` CPUs (more than one: multi-threaded TCG, as `sion exec --cpus`).
fn linux_boot_cpus(kernel: &Path, bin: &Path, run: &[String], icount: bool, cpus: u32, tag: &str) -> Result<(Figures, Option<Duration>, Vec<String>)> {
    let initrd = bench_dir().join(format!("linux-{tag}.cpio"));
    linux_initramfs(bin, run, &initrd)?;
    let mut args = qemu_common(icount);
    if cpus > 1 {
        let at = args.iter().position(|a| a == QEMU.accel).expect("the -accel value");
        args[at] = format!("{},thread=multi", QEMU.accel);
        args.extend(["-smp".into(), cpus.to_string()]);
    }
    args.extend(["-kernel".into(), kernel.to_string_lossy().into_owned(), "-initrd".into(), initrd.to_string_lossy().into_owned()]);
    let mut append = String::from("console=ttyS0 quiet");
    if !icount {
        if let Some(khz) = host_tsc_khz() {
            append.push_str(&format!(" tsc_early_khz={khz} tsc=reliable"));
        }
    }
    args.extend(["-append".into(), append, "-serial".into(), "stdio".into()]);
    args.extend(["-device".into(), "isa-debug-exit,iobase=0xf4,iosize=0x04".into()]);
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(&args);
    let r = run_timed(&mut cmd, "BENCH boot.output", Duration::from_secs(900));
    let log = bench_dir().join(format!("linux-{tag}.log"));
    let _ = std::fs::write(&log, &r.stdout);
    // isa-debug-exit: init's `out 0` ends QEMU with status 1.
    if r.outcome != Outcome::Exited(1) || !r.stdout.contains("init: done") {
        let last = r.stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!("Linux boot ({tag}): {}; last line: {last} (log {})", r.outcome.short(), log.display()));
    }
    let mut f = parse_figures(&r.stdout);
    if !icount {
        wall_primes(&r.lines, &mut f);
    }
    Ok((f, r.marker_after, args))
}

/// The native bench server booted with the kernel alone.
fn native_bench(icount: bool) -> Result<(Figures, Vec<String>)> {
    let image = std::fs::read(images().join("sion-bench")).map_err(|e| format!("sion-bench: {e}"))?;
    let mut w = sion_abi::bootfs::Writer::new();
    w.add("servers/bench", sion_abi::bootfs::regular(0o755), &image);
    w.add("servers/echo", sion_abi::bootfs::regular(0o755), &image);
    let cpio = bench_dir().join("native.cpio");
    std::fs::write(&cpio, w.finish()).map_err(|e| e.to_string())?;
    let mut args = qemu_common(icount);
    args.extend(["-kernel".into(), images().join("sion-kernel").to_string_lossy().into_owned(), "-initrd".into(), cpio.to_string_lossy().into_owned()]);
    args.extend(["-append".into(), "console=com1".into(), "-serial".into(), "stdio".into(), "-device".into(), "isa-debug-exit,iobase=0xf4,iosize=0x04".into()]);
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(&args);
    let r = run_timed(&mut cmd, "", Duration::from_secs(600));
    let _ = std::fs::write(bench_dir().join("native.log"), &r.stdout);
    if r.outcome != Outcome::Exited(1) || !r.stdout.contains("bench: done") {
        return Err(format!("native bench: {}: {}", r.outcome.short(), r.stdout.lines().last().unwrap_or("")));
    }
    Ok((parse_figures(&r.stdout), args))
}

/// The host's TSC rate in kHz (/proc/cpuinfo): without icount the guest's
/// TSC runs at the host's, and Linux on microvm (no HPET, no ACPI PM timer)
/// cannot calibrate it against the PIT on a busy host, so it is told.
fn host_tsc_khz() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = s.lines().find(|l| l.starts_with("cpu MHz"))?.split(':').nth(1)?.trim().parse().ok()?;
    Some((mhz * 1000.0) as u64)
}

/// The wall-clock pass: plain TCG, no icount. SiON: hello (host clock to its
/// first line), getppid, the biggest prime; Linux: one boot with the same.
fn wall_pass(wrapper: &Path, kernel: &Path, bin: &Path, biggest: &str) -> Result<(Figures, Figures)> {
    let mut sion = Figures::new();
    let (_, first, total) = sion_exec(wrapper, false, &bin.join("hello"), &[])?;
    if let Some(d) = first {
        sion.insert("wall.first_output".into(), d.as_secs_f64() * 1e3);
    }
    sion.insert("wall.hello_total".into(), total.as_secs_f64() * 1e3);
    sion.extend(sion_exec(wrapper, false, &bin.join("getppid"), &[])?.0);
    sion.extend(sion_exec(wrapper, false, &bin.join("prime"), &[biggest.to_string()])?.0);
    let run = vec![format!("/bench/prime {biggest}"), "/bench/getppid".into()];
    let (mut linux, first, _) = linux_boot(kernel, bin, &run, false, "wall")?;
    if let Some(d) = first {
        linux.insert("wall.first_output".into(), d.as_secs_f64() * 1e3);
    }
    Ok((sion, linux))
}

/// The SMP pass (wall clock, multi-threaded TCG, `SMP_CPUS` CPUs, no
/// icount, which needs one TCG thread): `parallel` on a SiON node and on
/// Linux in the same QEMU.
/// Each time is the best of `WALL_SAMPLES` runs (Linux: of as many runs in one boot).
fn smp_pass(wrapper: &Path, kernel: &Path, bin: &Path, limit: u64) -> Result<(Figures, Figures)> {
    let opts = vec!["--cpus".to_string(), SMP_CPUS.to_string()];
    let mut sion = Figures::new();
    for _ in 0..WALL_SAMPLES {
        keep_min(&mut sion, sion_exec_with(wrapper, false, &opts, &bin.join("parallel"), &[limit.to_string()])?.0);
    }
    let run = vec![format!("/bench/parallel {limit}"); WALL_SAMPLES];
    let (linux, _, _) = linux_boot_cpus(kernel, bin, &run, false, SMP_CPUS, "smp")?;
    Ok((sion, linux))
}

/// `a / b` of two figures, as a cell.
fn quotient(f: &Figures, a: &str, b: &str) -> Cell {
    match (f.get(a), f.get(b)) {
        (Some(x), Some(y)) if *y > 0.0 => Cell::Value(x / y),
        _ => Cell::na("missing"),
    }
}

fn file_size(p: &Path) -> Cell {
    match std::fs::metadata(p) {
        Ok(m) => Cell::Value(m.len() as f64 / 1024.0),
        Err(_) => Cell::na("not built"),
    }
}

fn command_output(prog: &str, args: &[&str]) -> String {
    Command::new(prog).args(args).output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

fn host_cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|s| s.trim().to_string()))
        .unwrap_or_default()
}

/// Runs `cmd` with `feed` zero bytes on its stdin (none: stdin closed) and
/// counts its stdout: (bytes out, seconds from start to its end).
fn pipe_run(cmd: &mut Command, feed: u64) -> Option<(u64, f64)> {
    use std::io::{Read, Write};
    let start = Instant::now();
    let mut child = cmd.stdin(if feed > 0 { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().ok()?;
    let feeder = child.stdin.take().map(|mut w| {
        std::thread::spawn(move || {
            let zeros = vec![0u8; 64 * 1024];
            let mut left = feed;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                if w.write_all(&zeros[..n]).is_err() {
                    break;
                }
                left -= n as u64;
            }
        })
    });
    let mut out = child.stdout.take()?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    while let Ok(n) = out.read(&mut buf) {
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    let _ = child.wait();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Some((total, start.elapsed().as_secs_f64()))
}

/// MB/s (10^6 bytes) of a run that must move `bytes`, counted by `counted`
/// (what came out, or parsed from it).
fn rate(bytes: u64, run: Option<(u64, f64)>, counted: impl Fn(u64) -> bool) -> Cell {
    match run {
        Some((out, secs)) if counted(out) && secs > 0.0 => Cell::Value(bytes as f64 / 1e6 / secs),
        Some((out, _)) => Cell::na(&format!("wrong count ({out} bytes out)")),
        None => Cell::na("could not run"),
    }
}

/// `sion exec` stdin and stdout throughput (wall clock, start-up included)
/// beside the host's `cat` moving the same bytes through two pipes.
fn console_rows(bytes: u64) -> Vec<Row> {
    util::banner("job console throughput");
    let sion = util::sion_binary();
    let busybox = Path::new("/bin/busybox");
    let host_cat = rate(bytes, pipe_run(&mut Command::new("cat"), bytes), |o| o == bytes);
    let mb = fmt_num(bytes as f64 / 1e6);
    let mut rows = Vec::new();
    let mut row = |what: String, sion_cell: Cell| rows.push(Row::new(what, "wall", sion_cell, host_cat.clone(), "MB/s"));
    if !busybox.exists() {
        row(format!("sion exec stdin/stdout, {mb} MB (host: cat)"), Cell::na("no /bin/busybox (busybox-static)"));
        return rows;
    }
    let exec = |args: &[&str]| {
        let mut c = Command::new(&sion);
        c.arg("exec").arg(busybox).args(args);
        c
    };
    // stdin: `cat > /dev/null` reads 64 KiB at a time; `wc -c` 4 KiB and prints the count.
    let run = pipe_run(&mut exec(&["sh", "-c", "cat > /dev/null; echo done"]), bytes);
    row(format!("sion exec stdin: {mb} MB into busybox cat > /dev/null (host: cat)"), rate(bytes, run, |o| o == 5));
    let wc = pipe_run(&mut exec(&["wc", "-c"]), bytes);
    row(format!("sion exec stdin: {mb} MB into busybox wc -c, 4 KiB reads (host: cat)"), rate(bytes, wc, |o| o == format!("{bytes}\n").len() as u64));
    let count = (bytes / (1 << 20)).to_string();
    let run = pipe_run(&mut exec(&["dd", "if=/dev/zero", "bs=1M", &format!("count={count}")]), 0);
    let dd_bytes = bytes / (1 << 20) * (1 << 20);
    row(format!("sion exec stdout: {} MB from busybox dd bs=1M (host: cat)", fmt_num(dd_bytes as f64 / 1e6)), rate(dd_bytes, run, |o| o == dd_bytes));
    let run = pipe_run(&mut exec(&["head", "-c", &bytes.to_string(), "/dev/zero"]), 0);
    row(format!("sion exec stdout: {mb} MB from busybox head -c, 4 KiB writes (host: cat)"), rate(bytes, run, |o| o == bytes));
    rows
}

pub fn bench(args: &BenchArgs) -> Result<bool> {
    if !args.no_build {
        crate::setup::setup()?;
        crate::build::build()?;
    }
    util::banner("building sion-bench and the workloads");
    let mut cmd = util::cargo();
    cmd.current_dir(util::root()).args(["build", "--release", "--target", BARE_METAL_TARGET, "-p", "sion-bench"]);
    util::run(&mut cmd)?;
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let bin = build_workloads()?;
    let kernel = linux_kernel()?;
    let (wrapper, wrapper_log) = qemu_wrapper()?;
    let primes = if args.quick { PRIMES_QUICK } else { PRIMES };
    let prime_args: Vec<String> = primes.iter().map(|n| n.to_string()).collect();
    let biggest = primes.last().unwrap().to_string();

    // icount pass.
    util::banner("SiON (sion exec, -icount): hello, getppid, clock_gettime, n-th prime");
    let mut sion = Figures::new();
    sion.extend(sion_exec(&wrapper, true, &bin.join("hello"), &[])?.0);
    sion.extend(sion_exec(&wrapper, true, &bin.join("getppid"), &[])?.0);
    sion.extend(sion_exec(&wrapper, true, &bin.join("clock_gettime"), &[])?.0);
    sion.extend(sion_exec(&wrapper, true, &bin.join("prime"), &prime_args)?.0);
    util::banner("SiON (sion exec, -icount): pipe round trip, fork + exec + wait");
    sion.extend(sion_exec(&wrapper, true, &bin.join("pipe"), &[])?.0);
    util::banner("SiON (sion exec, -icount): AF_UNIX datagrams");
    sion.extend(sion_exec(&wrapper, true, &bin.join("unix_dgram"), &[])?.0);
    let hello = format!("{}:/bench/hello", bin.join("hello").display());
    sion.extend(sion_exec_with(&wrapper, true, &["--file".into(), hello], &bin.join("forkexec"), &["/bench/hello".into()])?.0);
    let real = Path::new(BUSYBOX).exists();
    if real {
        util::banner("SiON (sion exec, -icount): real programs (busybox sha256sum, gzip, sort)");
        let (data, lines) = real_data()?;
        let files: Vec<String> = [(Path::new(BUSYBOX), "/bench/busybox"), (data.as_path(), "/bench/data"), (lines.as_path(), "/bench/lines")]
            .iter()
            .flat_map(|(host, guest)| ["--file".to_string(), format!("{}:{guest}", host.display())])
            .collect();
        for (name, argv, _) in REAL {
            let args: Vec<String> = core::iter::once(name.to_string()).chain(argv.iter().map(|a| a.to_string())).collect();
            sion.extend(sion_exec_with(&wrapper, true, &files, &bin.join("spawn"), &args)?.0);
        }
    }
    util::banner("SiON native IPC (sion-bench, -icount)");
    let (native, native_args) = native_bench(true)?;
    sion.extend(native);

    util::banner(&format!("Linux ({}, -icount): the same workloads from an initramfs", kernel.display()));
    let run: Vec<String> = vec![
        format!("/bench/prime {}", prime_args.join(" ")),
        "/bench/getppid".into(),
        "/bench/clock_gettime".into(),
        "/bench/unix_dgram".into(),
        "/bench/pipe".into(),
        "/bench/forkexec /bench/hello".into(),
    ];
    let mut run = run;
    if real {
        run.extend(REAL.iter().map(|(name, argv, _)| format!("/bench/spawn {name} {}", argv.join(" "))));
    }
    let (mut linux, _, linux_args) = linux_boot(&kernel, &bin, &run, true, "icount")?;
    util::banner("Linux booted by PVH from the uncompressed kernel (-icount): boot only");
    let vmlinux = linux_vmlinux(&kernel)?;
    let (pvh, _, _) = linux_boot(&vmlinux, &bin, &[], true, "pvh")?;
    for k in ["boot.main", "boot.output"] {
        if let Some(v) = pvh.get(k) {
            linux.insert(format!("pvh.{k}"), *v);
        }
    }

    // Wall-clock pass: no icount, the guest clock follows the host's.
    let mut sion_wall = Figures::new();
    let mut linux_wall = Figures::new();
    let mut wall_note = String::from("not run (--quick)");
    if !args.quick {
        util::banner("wall-clock pass (no icount): SiON and Linux");
        // Best of WALL_SAMPLES: the host is shared, noise only adds time.
        for _ in 0..WALL_SAMPLES {
            match wall_pass(&wrapper, &kernel, &bin, &biggest) {
                Ok((s, l)) => {
                    keep_min(&mut sion_wall, s);
                    keep_min(&mut linux_wall, l);
                    wall_note = "missing".into();
                }
                Err(e) => {
                    tracing::error!("wall-clock pass: {e}");
                    wall_note = format!("failed: {e}");
                    break;
                }
            }
        }
    }
    let wall = |f: &Figures, k: &str| match f.get(k) {
        Some(v) => Cell::Value(*v),
        None => Cell::Missing(wall_note.clone()),
    };

    // The rows.
    let mut rows = Vec::new();
    for n in primes {
        let k = format!("prime.{n}");
        rows.push(Row::new(format!("n-th prime, n = {}", fmt_num(*n as f64)), "icount", Cell::of(&sion, &k), Cell::of(&linux, &k), "cycles"));
    }
    rows.push(Row::new("getppid round trip, forwarded on SiON (goal: at most 2 x Linux)", "icount", Cell::of(&sion, "getppid"), Cell::of(&linux, "getppid"), "cycles"));
    rows.push(Row::new("clock_gettime(MONOTONIC) through libc, vDSO (goal: at most Linux's)", "icount", Cell::of(&sion, "clock_gettime"), Cell::of(&linux, "clock_gettime"), "cycles"));
    for s in IPC_SIZES {
        rows.push(Row::new(format!("IPC {} B: SiON call+reply / Linux AF_UNIX dgram round trip{}", fmt_num(*s as f64), if *s == 4 { " (goal: SiON at most 500)" } else { "" }), "icount", Cell::of(&sion, &format!("ipc.{s}")), Cell::of(&linux, &format!("unix_dgram.{s}")), "cycles"));
    }
    rows.push(Row::new("AF_UNIX dgram send+recv 4 B, one process", "icount", Cell::of(&sion, "unix_send_recv.4"), Cell::of(&linux, "unix_send_recv.4"), "cycles"));
    for s in IPC_SIZES {
        rows.push(Row::new(format!("AF_UNIX dgram round trip {} B, two processes{}", fmt_num(*s as f64), if *s == 4 { " (goal: at most Linux)" } else { "" }), "icount", Cell::of(&sion, &format!("unix_dgram.{s}")), Cell::of(&linux, &format!("unix_dgram.{s}")), "cycles"));
    }
    rows.push(Row::new("pipe round trip 4 B, two processes (goal: at most Linux)", "icount", Cell::of(&sion, "pipe"), Cell::of(&linux, "pipe"), "cycles"));
    rows.push(Row::new("fork + exec + wait of a static hello (goal: at most Linux)", "icount", Cell::of(&sion, "forkexec"), Cell::of(&linux, "forkexec"), "cycles"));
    for (name, _, label) in REAL {
        let missing = |c: Cell| if real { c } else { Cell::na("no /bin/busybox (busybox-static)") };
        rows.push(Row::new(format!("{label} (goal: at most Linux)"), "icount", missing(Cell::of(&sion, name)), missing(Cell::of(&linux, name)), "cycles"));
    }
    rows.push(Row::new("SiON: null kernel call (yield)", "icount", Cell::of(&sion, "kcall.yield"), Cell::na("-"), "cycles"));
    rows.push(Row::new("SiON: kernel call writing a struct (clock_info)", "icount", Cell::of(&sion, "kcall.clock_info"), Cell::na("-"), "cycles"));
    rows.push(Row::new("SiON: empty call + reply (0 B)", "icount", Cell::of(&sion, "ipc.0"), Cell::na("-"), "cycles"));
    rows.push(Row::new("SiON: kernel part of a forwarded call (fast path, registers)", "icount", Cell::of(&sion, "linux_trap"), Cell::na("-"), "cycles"));
    rows.push(Row::new("SiON: the same through memory (reply_recv, general path)", "icount", Cell::of(&sion, "linux_trap.in_memory"), Cell::na("-"), "cycles"));
    rows.push(Row::new("SiON: the same with reply, then recv", "icount", Cell::of(&sion, "linux_trap.reply_then_recv"), Cell::na("-"), "cycles"));
    rows.push(Row::new("boot: power-on to main of first program", "icount", Cell::of(&sion, "boot.main").scaled(1e-6), Cell::of(&linux, "boot.main").scaled(1e-6), "ms"));
    rows.push(Row::new("boot: power-on to its first output", "icount", Cell::of(&sion, "boot.output").scaled(1e-6), Cell::of(&linux, "boot.output").scaled(1e-6), "ms"));
    rows.push(Row::new("boot: to first output, Linux by PVH (vmlinux, no XZ)", "icount", Cell::of(&sion, "boot.output").scaled(1e-6), Cell::of(&linux, "pvh.boot.output").scaled(1e-6), "ms"));
    if !args.quick {
        rows.push(Row::new("wall: start to first output (host clock)", "wall", wall(&sion_wall, "wall.first_output"), wall(&linux_wall, "wall.first_output"), "ms"));
        rows.push(Row::new(format!("wall: n-th prime, n = {} (host clock)", fmt_num(biggest.parse().unwrap_or(0.0))), "wall", wall(&sion_wall, &format!("wall.prime.{biggest}")), wall(&linux_wall, &format!("wall.prime.{biggest}")), "ms"));
        rows.push(Row::new("wall: getppid round trip (guest clock)", "wall", wall(&sion_wall, "getppid_ns"), wall(&linux_wall, "getppid_ns"), "ns"));
    }
    // Several CPUs: wall clock with multi-threaded TCG on this host's cores.
    util::banner(&format!("SMP: parallel on {SMP_CPUS} CPUs (wall, multi-threaded TCG), SiON and Linux"));
    let limit = if args.quick { SMP_LIMIT.0 } else { SMP_LIMIT.1 };
    match smp_pass(&wrapper, &kernel, &bin, limit) {
        Ok((s, l)) => {
            let label = fmt_num(limit as f64);
            rows.push(Row::new(format!("smp: prime count below {label}, 1 thread"), "wall", Cell::of(&s, "par.threads1"), Cell::of(&l, "par.threads1"), "ms"));
            rows.push(Row::new(format!("smp: the same, 2 threads on {SMP_CPUS} CPUs"), "wall", Cell::of(&s, "par.threads2"), Cell::of(&l, "par.threads2"), "ms"));
            rows.push(Row::new("smp: speed-up, 1 thread / 2 threads (goal: SiON at least 1.8)", "wall", quotient(&s, "par.threads1", "par.threads2"), quotient(&l, "par.threads1", "par.threads2"), "x"));
            rows.push(Row::new("smp: two CPU-bound processes / one alone (goal: SiON at most 1.15)", "wall", quotient(&s, "par.procs2", "par.procs1"), quotient(&l, "par.procs2", "par.procs1"), "x"));
            sion.extend(s.into_iter().map(|(k, v)| (format!("smp.{k}"), v)));
            linux.extend(l.into_iter().map(|(k, v)| (format!("smp.{k}"), v)));
        }
        Err(e) => rows.push(Row::new("smp: prime count, 1 and 2 threads", "wall", Cell::na(&format!("not run: {e}")), Cell::na("-"), "ms")),
    }
    // The network: the host's TCP to a node's netstack (q35, virtio-net PCI,
    // user networking restricted to forwarded ports), beside Linux in the
    // same QEMU serving the same ports (`cargo xtask net --vs-linux`).
    util::banner("network: TCP echo and bulk from the host to a node and to Linux (wall)");
    match crate::net_tests::run(crate::net_tests::Machine::Q35Pci).and_then(|s| crate::net_tests::linux_baseline().map(|l| (s, l))) {
        Ok((s, l)) => {
            rows.push(Row::new("net: TCP echo round trip host to node, 32 B, median of 200 (goal: at least 0.5 x Linux)", "wall", Cell::Value(s.tcp_rtt_us), Cell::Value(l.tcp_rtt_us), "us"));
            let ms = |f: &crate::net_tests::Figures| f.bytes as f64 / f.tcp_mb_per_s / 1e3;
            rows.push(Row::new(format!("net: TCP bulk host to node, {} MiB (goal: at least 0.5 x Linux)", s.bytes >> 20), "wall", Cell::Value(ms(&s)), Cell::Value(ms(&l)), "ms"));
        }
        Err(e) => rows.push(Row::new("net: TCP echo and bulk host to node", "wall", Cell::na(&format!("not run: {e}")), Cell::na("-"), "us")),
    }
    // The group: `sion run` of a small job to a SiON node, beside the same
    // job run by the workstation's own daemon (a local process), same run.
    if args.quick {
        rows.push(Row::new("group: sion run of a small job to its end (node / workstation)", "wall", Cell::na("not run (--quick)"), Cell::na("-"), "ms"));
    } else {
        match crate::group_tests::bench() {
            Ok(g) => {
                rows.push(Row::new("group: sion run of a small job to its end (node / workstation)", "wall", Cell::Value(g.node_ms), Cell::Value(g.workstation_ms), "ms"));
                rows.push(Row::new("group: jobs per second across 3 nodes (12 jobs, 3 clients)", "wall", Cell::Value(g.jobs_per_s), Cell::na("-"), "jobs/s"));
            }
            Err(e) => rows.push(Row::new("group: sion run of a small job to its end (node / workstation)", "wall", Cell::na(&format!("not run: {e}")), Cell::na("-"), "ms")),
        }
    }
    // The job console of `sion exec` (a virtio serial port): bytes through
    // stdin and stdout, beside the host's own `cat`.
    let console_bytes: u64 = if args.quick { 50_000_000 } else { 200_000_000 };
    rows.extend(console_rows(console_bytes));
    // Sizes.
    let img = images();
    let servers = ["personality", "netstack"];
    let mut w = sion_abi::bootfs::Writer::new();
    for s in servers {
        if let Ok(b) = std::fs::read(img.join(format!("sion-{s}"))) {
            w.add(&format!("servers/{s}"), sion_abi::bootfs::regular(0o755), &b);
        }
    }
    let archive = w.finish();
    let kernel_kib = file_size(&img.join("sion-kernel"));
    rows.push(Row::new("size: kernel (SiON ELF / Linux vmlinuz)", "size", kernel_kib.clone(), file_size(&kernel), "KiB"));
    for s in servers {
        rows.push(Row::new(format!("size: server {s}"), "size", file_size(&img.join(format!("sion-{s}"))), Cell::na("-"), "KiB"));
    }
    rows.push(Row::new("size: boot archive (servers, no job)", "size", Cell::Value(archive.len() as f64 / 1024.0), Cell::na("-"), "KiB"));
    let total = kernel_kib.value().map(|k| Cell::Value(k + archive.len() as f64 / 1024.0)).unwrap_or(Cell::na("not built"));
    rows.push(Row::new("size: kernel + boot archive (floppy: 1,440 KiB)", "size", total, Cell::na("-"), "KiB"));

    let table = render_table(&rows);
    println!();
    print!("{table}");
    println!("Linux/SiON above 1: SiON faster or smaller. icount: -icount {} (1 cycle = 1 guest instruction = 1 virtual ns); wall: plain TCG, best of {WALL_SAMPLES}.", QEMU.icount);

    // Settings and files.
    let sion_args = std::fs::read_to_string(&wrapper_log).unwrap_or_default().lines().next().unwrap_or("").to_string();
    let settings: Vec<(&str, String)> = vec![
        ("date", command_output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])),
        ("git_commit", command_output("git", &["-C", &util::root().to_string_lossy(), "rev-parse", "HEAD"])),
        ("host_cpu", host_cpu()),
        ("host_cpus", std::thread::available_parallelism().map(|n| n.get().to_string()).unwrap_or_default()),
        ("host_kernel", command_output("uname", &["-sr"])),
        ("qemu_version", command_output("qemu-system-x86_64", &["--version"]).lines().next().unwrap_or("").to_string()),
        ("machine", QEMU.machine.into()),
        ("cpu", QEMU.cpu.into()),
        ("memory", QEMU.memory.into()),
        ("accel", QEMU.accel.into()),
        ("icount", QEMU.icount.into()),
        ("linux_kernel", kernel.display().to_string()),
        ("qemu_sion_exec", format!("{sion_args} -icount {} (added by the bench's wrapper)", QEMU.icount)),
        ("qemu_sion_native", native_args.join(" ")),
        ("qemu_linux", linux_args.join(" ")),
        ("qemu_linux_pvh", format!("the same with -kernel {} and an empty /bench/run", vmlinux.display())),
        ("wall_linux_append", format!("console=ttyS0 quiet tsc_early_khz={} tsc=reliable (no -icount)", host_tsc_khz().unwrap_or(0))),
        ("ratio", "linux / sion: above 1 SiON is faster or smaller".into()),
    ];
    let json = render_json(&settings, &rows, &[("sion", &sion), ("linux", &linux), ("sion_wall", &sion_wall), ("linux_wall", &linux_wall)]);
    let json_path = dir.join("results.json");
    std::fs::write(&json_path, json).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("table.txt"), &table).map_err(|e| e.to_string())?;
    let charts = chart::draw(&dir, primes, &sion, &linux)?;
    println!("results: {}; table: {}; charts: {}", json_path.display(), dir.join("table.txt").display(), charts.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_parse_from_noisy_output() {
        let f = parse_figures("junk\nBENCH prime.500 288114.0 cycles\n[ 1.2] x BENCH getppid 359 cycles\nBENCH bad\n");
        assert_eq!(f.get("prime.500"), Some(&288114.0));
        assert_eq!(f.get("getppid"), Some(&359.0));
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn numbers_and_table() {
        assert_eq!(fmt_num(1234567.0), "1,234,567");
        assert_eq!(fmt_num(999.4), "999");
        assert_eq!(fmt_num(0.288), "0.29");
        let rows = vec![
            Row::new("getppid", "icount", Cell::Value(2491.0), Cell::Value(359.0), "cycles"),
            Row::new("pipe", "icount", Cell::na(NO_FORK), Cell::Value(2388.0), "cycles"),
        ];
        let t = render_table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "workload  SiON               Linux  Linux/SiON  unit    clock");
        assert_eq!(lines[2], "getppid   2,491              359    0.14        cycles  icount");
        assert_eq!(lines[3], "pipe      n/a (no fork yet)  2,388  -           cycles  icount");
    }

    #[test]
    fn json_has_settings_rows_and_nulls() {
        let rows = vec![Row::new("pipe \"4 B\"", "icount", Cell::na(NO_FORK), Cell::Value(2388.0), "cycles")];
        let mut raw = Figures::new();
        raw.insert("pipe".into(), 2388.0);
        let j = render_json(&[("machine", "microvm".into())], &rows, &[("linux", &raw)]);
        assert!(j.contains("\"machine\": \"microvm\""));
        assert!(j.contains("\"workload\": \"pipe \\\"4 B\\\"\""));
        assert!(j.contains("\"sion\": null"));
        assert!(j.contains("\"linux\": 2388"));
        assert!(j.contains("\"sion_note\": \"n/a (no fork yet)\""));
        assert!(j.contains("\"linux\": {\"pipe\": 2388}"));
    }

    #[test]
    fn host_times_between_lines() {
        let ms = Duration::from_millis;
        let lines = vec![(ms(5), "prime: start 500".to_string()), (ms(9), "BENCH prime.500 1 cycles".into()), (ms(12), "prime: start 1000".into()), (ms(30), "BENCH prime.1000 2 cycles".into())];
        let mut f = Figures::new();
        wall_primes(&lines, &mut f);
        assert_eq!(f.get("wall.prime.500"), Some(&4.0));
        assert_eq!(f.get("wall.prime.1000"), Some(&18.0));
    }

    #[test]
    fn best_of_samples() {
        let mut best = Figures::new();
        keep_min(&mut best, parse_figures("BENCH a 5 ms\nBENCH b 1 ms\n"));
        keep_min(&mut best, parse_figures("BENCH a 3 ms\nBENCH b 2 ms\nBENCH c 7 ms\n"));
        assert_eq!(best.get("a"), Some(&3.0));
        assert_eq!(best.get("b"), Some(&1.0));
        assert_eq!(best.get("c"), Some(&7.0));
    }

    #[test]
    fn cpio_is_newc() {
        let mut c = Cpio::default();
        c.dir("bench");
        c.chardev("dev/null", 1, 3);
        c.file("init", 0o755, b"abc");
        let b = c.finish();
        assert!(b.starts_with(b"070701"));
        assert_eq!(b.len() % 4, 0);
        let names: Vec<&str> = sion_abi::bootfs::Reader::new(&b).filter_map(|e| e.ok()).map(|e| e.name).collect();
        assert_eq!(names, ["bench", "dev/null", "init"]);
    }

    #[test]
    fn kernel_versions_sort_numerically() {
        let mut v = ["/boot/vmlinuz-6.1.0-9-amd64", "/boot/vmlinuz-6.1.0-56-amd64", "/boot/vmlinuz-5.10.0-1-amd64"];
        v.sort_by_key(|s| version_key(s));
        assert_eq!(v[2], "/boot/vmlinuz-6.1.0-56-amd64");
    }
}
