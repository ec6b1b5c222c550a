//! The coverage report (what SiON implements, what the suite proves) and the
//! program report (what a program needs), as text, Markdown, JSON or HTML.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::catalog::{self, Category, Support, CATEGORIES};
use crate::runs::CompatRun;
use crate::scan::Site;

#[derive(Clone, Debug, Serialize)]
pub struct CallRow {
    pub nr: u32,
    pub name: &'static str,
    pub category: Category,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Compat runs whose trace has this call (`glibc/time`), passing or not.
    pub tests: Vec<String>,
    /// Passing LTP tests (`cargo xtask ltp`'s saved counts) that make this call.
    pub ltp_tests: Vec<String>,
    /// Some passing compat or LTP run makes this call.
    pub proved: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub complete: usize,
    pub partial: usize,
    pub absent: usize,
    /// Implemented calls a passing compat or LTP test makes.
    pub proved: usize,
}

impl Counts {
    pub fn implemented(&self) -> usize {
        self.complete + self.partial
    }
    pub fn total(&self) -> usize {
        self.complete + self.partial + self.absent
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct AbiCoverage {
    pub abi: &'static str,
    pub counts: Counts,
    pub categories: BTreeMap<Category, Counts>,
    pub calls: Vec<CallRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CompatSummary {
    pub runs: usize,
    pub passed: usize,
    pub failed: Vec<String>,
    /// Tests each call was seen in, for every call that answered ENOSYS in a run.
    pub enosys: BTreeMap<String, Vec<String>>,
    /// LTP runs with saved calls, and how many of them passed.
    pub ltp_runs: usize,
    pub ltp_passed: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    /// Where the implemented set comes from.
    pub source: &'static str,
    pub abis: Vec<AbiCoverage>,
    pub compat: Option<CompatSummary>,
}

/// The coverage of the tables; `compat` holds the traced compat runs and the
/// LTP runs (build `ltp`), either of which proves the calls it makes when it passes.
pub fn coverage(compat: Option<&[CompatRun]>) -> Coverage {
    let mut abis = Vec::new();
    for abi in catalog::ABIS {
        let an = catalog::abi_name(abi);
        let mut counts = Counts::default();
        let mut categories: BTreeMap<Category, Counts> = CATEGORIES.iter().map(|c| (*c, Counts::default())).collect();
        let mut calls = Vec::new();
        for c in catalog::calls(abi) {
            let key = (an.to_string(), c.name.to_string());
            let (mut tests, mut ltp_tests) = (Vec::new(), Vec::new());
            let mut proved = false;
            for r in compat.unwrap_or(&[]) {
                if r.calls.get(&key).is_some_and(|u| u.count > u.enosys) {
                    if r.build == LTP {
                        if r.passed {
                            ltp_tests.push(r.test.clone());
                        }
                    } else {
                        tests.push(format!("{}/{}", r.build, r.test));
                    }
                    proved |= r.passed && c.support.implemented();
                }
            }
            let cat = categories.get_mut(&c.category).unwrap();
            for k in [&mut counts, cat] {
                match c.support {
                    Support::Complete => k.complete += 1,
                    Support::Partial(_) => k.partial += 1,
                    Support::Absent => k.absent += 1,
                }
                k.proved += proved as usize;
            }
            let note = match &c.support {
                Support::Partial(n) => Some(n.clone()),
                _ => None,
            };
            calls.push(CallRow { nr: c.nr, name: c.name, category: c.category, status: c.support.word(), note, tests, ltp_tests, proved });
        }
        abis.push(AbiCoverage { abi: an, counts, categories, calls });
    }
    let compat = compat.map(|runs| {
        let mut enosys: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in runs {
            for ((abi, name), u) in &r.calls {
                if u.enosys > 0 {
                    enosys.entry(format!("{abi} {name}")).or_default().push(format!("{}/{}", r.build, r.test));
                }
            }
        }
        let (ltp, compat): (Vec<&CompatRun>, Vec<&CompatRun>) = runs.iter().partition(|r| r.build == LTP);
        CompatSummary {
            runs: compat.len(),
            passed: compat.iter().filter(|r| r.passed).count(),
            // LTP's known failures are listed in tools/ltp/expectations.txt.
            failed: compat.iter().filter(|r| !r.passed).map(|r| format!("{}/{}: {}", r.build, r.test, r.verdict)).collect(),
            enosys,
            ltp_runs: ltp.len(),
            ltp_passed: ltp.iter().filter(|r| r.passed).count(),
        }
    });
    Coverage { source: "personality/linux/src/syscalls/table.rs", abis, compat }
}

/// The build name of LTP runs among the traced runs.
pub const LTP: &str = "ltp";

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{:.0}%", 100.0 * a as f64 / b as f64)
    }
}

pub fn coverage_text(c: &Coverage, md: bool) -> String {
    let mut s = String::new();
    let row = |s: &mut String, cells: &[String]| {
        if md {
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        } else {
            let widths = [10, 9, 9, 9, 7, 14];
            let line: Vec<String> = cells.iter().enumerate().map(|(i, x)| format!("{:<w$}", x, w = widths.get(i).copied().unwrap_or(10))).collect();
            let _ = writeln!(s, "{}", line.join(" ").trim_end());
        }
    };
    if md {
        let _ = writeln!(s, "# SiON Linux system call coverage\n\nFrom the personality's dispatch tables (`{}`).\n", c.source);
    } else {
        let _ = writeln!(s, "SiON Linux system calls, from the dispatch tables ({})\n", c.source);
    }
    let head: Vec<String> = ["abi", "complete", "partial", "absent", "total", "proved by tests"].iter().map(|x| x.to_string()).collect();
    row(&mut s, &head);
    if md {
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    }
    for a in &c.abis {
        let k = &a.counts;
        let proved = if c.compat.is_some() { format!("{} of {}", k.proved, k.implemented()) } else { "-".into() };
        row(&mut s, &[a.abi.into(), k.complete.to_string(), k.partial.to_string(), k.absent.to_string(), k.total().to_string(), proved]);
    }
    let _ = writeln!(s);
    let mut head = vec!["category".to_string()];
    for a in &c.abis {
        head.push(format!("{} c/p/a", a.abi));
        head.push("impl.".into());
    }
    if md {
        let _ = writeln!(s, "| {} |\n|---|---:|---:|---:|---:|", head.join(" | "));
    } else {
        let _ = writeln!(s, "{:<10} {:<16} {:<6} {:<16} {:<6}", head[0], head[1], head[2], head[3], head[4]);
    }
    for cat in CATEGORIES {
        let mut cells = vec![cat.name().to_string()];
        for a in &c.abis {
            let k = &a.categories[&cat];
            cells.push(format!("{}/{}/{}", k.complete, k.partial, k.absent));
            cells.push(pct(k.implemented(), k.total()));
        }
        if md {
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        } else {
            let _ = writeln!(s, "{:<10} {:<16} {:<6} {:<16} {:<6}", cells[0], cells[1], cells[2], cells[3], cells[4]);
        }
    }
    let _ = writeln!(s);
    match &c.compat {
        Some(cs) => {
            let _ = writeln!(s, "compat suite (traced): {} runs, {} passed; LTP (cargo xtask ltp's saved calls): {} runs, {} passed", cs.runs, cs.passed, cs.ltp_runs, cs.ltp_passed);
            for a in &c.abis {
                let k = &a.counts;
                let untested: Vec<&str> = a.calls.iter().filter(|r| r.status != "absent" && !r.proved).map(|r| r.name).collect();
                let _ = writeln!(s, "  {}: {} of {} implemented calls made by a passing test; not proved: {}", a.abi, k.proved, k.implemented(), if untested.is_empty() { "none".into() } else { untested.join(" ") });
            }
            for f in &cs.failed {
                let _ = writeln!(s, "  failed: {f}");
            }
            for (call, tests) in &cs.enosys {
                let more = if tests.len() > 4 { format!(" and {} more", tests.len() - 4) } else { String::new() };
                let _ = writeln!(s, "  ENOSYS: {call} in {}{more}", tests[..tests.len().min(4)].join(" "));
            }
        }
        None => {
            let _ = writeln!(s, "compat suite: no traces yet (run `syscall-coverage --run-compat`)");
        }
    }
    if md {
        for a in &c.abis {
            let _ = writeln!(s, "\n## {}\n\n| nr | call | category | status | compat tests | LTP tests | note |\n|---:|---|---|---|---|---|---|", a.abi);
            for r in &a.calls {
                let _ = writeln!(s, "| {} | {} | {} | {} | {} | {} | {} |", r.nr, r.name, r.category.name(), r.status, r.tests.join(" "), few(&r.ltp_tests), r.note.as_deref().unwrap_or(""));
            }
        }
    }
    s
}

/// The first few names of a long list, and how many more.
fn few(names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = names[..names.len().min(SHOWN)].join(" ");
    if names.len() > SHOWN {
        let _ = write!(s, " and {} more", names.len() - SHOWN);
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The HTML page: one stacked bar per category and ABI (complete, partial,
/// absent), then every call with its status and links to its compat tests.
/// `tests_href` is the link prefix of the compat sources (`.../compat-tests/src/`).
pub fn coverage_html(c: &Coverage, tests_href: &str) -> String {
    const GREEN: &str = "#2e7d32";
    const AMBER: &str = "#f2a900";
    const GREY: &str = "#cfd8dc";
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>SiON system call coverage</title><style>\
body{{font-family:sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;font-size:13px}} td,th{{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left}}\
.complete{{color:{GREEN};font-weight:bold}} .partial{{color:#b07800;font-weight:bold}} .absent{{color:#888}} .abis{{display:flex;gap:3em;flex-wrap:wrap}} a{{color:#1565c0}}\
</style></head><body><h1>SiON Linux system call coverage</h1><p>From the personality's dispatch tables (<code>{}</code>).{}</p>",
        c.source,
        match &c.compat {
            Some(cs) => format!(" Compat suite traced: {} runs, {} passed; LTP: {} runs, {} passed.", cs.runs, cs.passed, cs.ltp_runs, cs.ltp_passed),
            None => " No compat traces yet.".into(),
        }
    );
    let _ = write!(s, "<div class=abis>");
    let (label_w, bar_w, row_h) = (90.0, 340.0, 30.0);
    for a in &c.abis {
        let h = row_h * (CATEGORIES.len() as f64 + 1.0) + 30.0;
        let _ = write!(s, "<div><h2>{} <small>{} complete, {} partial, {} absent of {}</small></h2>", a.abi, a.counts.complete, a.counts.partial, a.counts.absent, a.counts.total());
        let _ = write!(s, "<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{h}' font-size='13' role='img' aria-label='coverage of {} by category'>", label_w + bar_w + 120.0, a.abi);
        let mut rows: Vec<(String, &Counts)> = CATEGORIES.iter().map(|cat| (cat.name().to_string(), &a.categories[cat])).collect();
        rows.push(("all".into(), &a.counts));
        for (i, (name, k)) in rows.iter().enumerate() {
            let y = 10.0 + i as f64 * row_h + if name == "all" { 10.0 } else { 0.0 };
            let total = k.total().max(1) as f64;
            let mut x = label_w;
            let _ = write!(s, "<text x='0' y='{}' font-weight='{}'>{name}</text>", y + 15.0, if name == "all" { "bold" } else { "normal" });
            for (n, color, what) in [(k.complete, GREEN, "complete"), (k.partial, AMBER, "partial"), (k.absent, GREY, "absent")] {
                let w = bar_w * n as f64 / total;
                if w > 0.0 {
                    let _ = write!(s, "<rect fill='{color}' x='{x:.1}' y='{y}' width='{w:.1}' height='20'><title>{name}: {n} {what}</title></rect>");
                }
                x += w;
            }
            if c.compat.is_some() && k.implemented() > 0 {
                // A tick under the bar: the share of implemented calls a passing test makes.
                let pw = bar_w * k.proved as f64 / total;
                let _ = write!(s, "<rect x='{label_w}' y='{}' width='{pw:.1}' height='3' fill='#1565c0'><title>{} proved by a passing compat or LTP test</title></rect>", y + 22.0, k.proved);
            }
            let _ = write!(s, "<text x='{}' y='{}'>{}/{} ({})</text>", label_w + bar_w + 8.0, y + 15.0, k.implemented(), k.total(), pct(k.implemented(), k.total()));
        }
        let _ = write!(s, "</svg></div>");
    }
    let _ = write!(
        s,
        "</div><p><svg width='14' height='14'><rect width='14' height='14' fill='{GREEN}'/></svg> complete &nbsp; <svg width='14' height='14'><rect width='14' height='14' fill='{AMBER}'/></svg> partial &nbsp; <svg width='14' height='14'><rect width='14' height='14' fill='{GREY}'/></svg> absent (ENOSYS) &nbsp; <svg width='14' height='4'><rect width='14' height='4' fill='#1565c0'/></svg> made by a passing compat or LTP test</p>"
    );
    for a in &c.abis {
        let _ = write!(s, "<h2 id='{0}'>{0}: every call</h2><table><tr><th>nr</th><th>call</th><th>category</th><th>status</th><th>compat tests</th><th>LTP tests</th><th>note</th></tr>", a.abi);
        for r in &a.calls {
            let tests: Vec<String> = r
                .tests
                .iter()
                .map(|t| {
                    let name = t.split('/').nth(1).unwrap_or(t);
                    format!("<a href='{}{}.c'>{}</a>", esc(tests_href), esc(name), esc(t))
                })
                .collect();
            let _ = write!(
                s,
                "<tr id='{}-{}'><td>{}</td><td>{}</td><td>{}</td><td class={}>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                a.abi,
                r.name,
                r.nr,
                r.name,
                r.category.name(),
                r.status,
                r.status,
                tests.join(" "),
                esc(&few(&r.ltp_tests)),
                esc(r.note.as_deref().unwrap_or(""))
            );
        }
        let _ = write!(s, "</table>");
    }
    s.push_str("</body></html>\n");
    s
}

// ----- programs -----

#[derive(Clone, Debug, Serialize)]
pub struct Found {
    pub abi: &'static str,
    pub nr: u64,
    pub name: String,
    pub status: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct DynRun {
    pub args: Vec<String>,
    pub status: i32,
    /// `abi name` and how often.
    pub calls: BTreeMap<String, u64>,
    pub enosys: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StraceCheck {
    pub runs: usize,
    /// Distinct calls strace saw over all runs.
    pub seen: usize,
    /// How many of those the static set holds.
    pub found: usize,
    pub missed: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProgramReport {
    pub path: String,
    pub abi: &'static str,
    pub instructions: usize,
    pub sites: usize,
    pub resolved_sites: usize,
    pub trampolines: usize,
    pub unresolved: Vec<Site>,
    pub calls: Vec<Found>,
    /// Constant numbers that name no call of their ABI.
    pub unknown_numbers: Vec<String>,
    /// Calls made through i386 `socketcall` / `ipc`.
    pub subcalls: Vec<String>,
    pub missing: Vec<String>,
    pub verdict: String,
    pub runs: Vec<DynRun>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strace: Option<StraceCheck>,
}

pub fn verdict(missing: &[String], unresolved: usize) -> String {
    if !missing.is_empty() {
        format!("will hit {} missing call{}: {}", missing.len(), if missing.len() == 1 { "" } else { "s" }, missing.join(", "))
    } else if unresolved > 0 {
        format!("may run ({unresolved} unresolved site{})", if unresolved == 1 { "" } else { "s" })
    } else {
        "runs".into()
    }
}

pub fn program_text(p: &ProgramReport, md: bool) -> String {
    let mut s = String::new();
    let h = if md { "## " } else { "" };
    let _ = writeln!(s, "{h}{} ({}, {} instructions)", p.path, p.abi, p.instructions);
    if md {
        let _ = writeln!(s, "\n**verdict: {}**\n", p.verdict);
    } else {
        let _ = writeln!(s, "verdict: {}", p.verdict);
    }
    let _ = writeln!(s, "sites: {} ({} resolved, {} trampolines, {} unresolved)", p.sites, p.resolved_sites, p.trampolines, p.unresolved.len());
    let list = |st: &str| -> Vec<String> { p.calls.iter().filter(|c| c.status == st).map(|c| c.name.clone()).collect() };
    for st in ["complete", "partial", "absent"] {
        let l = list(st);
        let _ = writeln!(s, "calls found, {st} on SiON ({}): {}", l.len(), l.join(" "));
    }
    if !p.subcalls.is_empty() {
        let _ = writeln!(s, "through socketcall/ipc: {}", p.subcalls.join(" "));
    }
    if !p.unknown_numbers.is_empty() {
        let _ = writeln!(s, "numbers that name no call: {}", p.unknown_numbers.join(" "));
    }
    for u in p.unresolved.iter().take(20) {
        let _ = writeln!(
            s,
            "unresolved: {:#x} {}{} ({}){}",
            u.addr,
            u.kind.text(),
            u.function.as_deref().map(|f| format!(" in {f}")).unwrap_or_default(),
            u.unresolved.iter().cloned().collect::<Vec<_>>().join("; "),
            if u.numbers.is_empty() { String::new() } else { format!(", also {:?}", u.numbers) }
        );
    }
    if p.unresolved.len() > 20 {
        let _ = writeln!(s, "... {} more unresolved sites (--format json lists all)", p.unresolved.len() - 20);
    }
    for r in &p.runs {
        let _ = writeln!(s, "traced run {:?}: exit {}, {} distinct calls; ENOSYS: {}", r.args, r.status, r.calls.len(), if r.enosys.is_empty() { "none".into() } else { r.enosys.join(" ") });
        let calls: Vec<String> = r.calls.iter().map(|(k, n)| format!("{}×{n}", k.split(' ').nth(1).unwrap_or(k))).collect();
        let _ = writeln!(s, "  calls: {}", calls.join(" "));
    }
    if let Some(st) = &p.strace {
        let _ = writeln!(s, "strace -f on the host, {} runs: {} distinct calls, {} in the static set; missed: {}", st.runs, st.seen, st.found, if st.missed.is_empty() { "none".into() } else { st.missed.join(" ") });
    }
    if md {
        // A list, so that Markdown keeps the lines apart.
        let mut lines: Vec<String> = s.lines().map(str::to_string).collect();
        for l in lines.iter_mut().skip(4) {
            if !l.is_empty() {
                *l = format!("- {l}");
            }
        }
        s = lines.join("\n") + "\n";
    }
    s
}

pub fn programs_html(ps: &[ProgramReport]) -> String {
    let mut s = String::from("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>What these programs need from SiON</title></head><body style='font-family:sans-serif'><h1>What these programs need from SiON</h1>");
    for p in ps {
        let _ = write!(s, "<h2>{}</h2><pre>{}</pre>", esc(&p.path), esc(&program_text(p, false)));
    }
    s.push_str("</body></html>\n");
    s
}

/// Names in `a` and not in `b`.
pub fn minus(a: &BTreeSet<String>, b: &BTreeSet<String>) -> Vec<String> {
    a.difference(b).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::{CompatRun, Use, Uses};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    fn sample() -> Coverage {
        let mut calls = Uses::new();
        calls.insert(("x86_64".into(), "write".into()), Use { count: 3, enosys: 0 });
        calls.insert(("x86_64".into(), "io_uring_setup".into()), Use { count: 1, enosys: 1 });
        let runs = [CompatRun { test: "stdio".into(), build: "musl".into(), passed: true, verdict: "pass".into(), calls }];
        coverage(Some(&runs))
    }

    #[test]
    fn counts_and_proof_from_traces() {
        let c = sample();
        let x = &c.abis[0];
        assert_eq!(x.abi, "x86_64");
        assert_eq!(x.counts.total(), 362);
        let write = x.calls.iter().find(|r| r.name == "write").unwrap();
        assert_eq!(write.tests, ["musl/stdio"]);
        assert!(write.proved);
        let absent = x.calls.iter().find(|r| r.name == "io_uring_setup").unwrap();
        assert!(!absent.proved, "an absent call is never proved");
        assert_eq!(x.counts.proved, 1);
        assert_eq!(c.compat.as_ref().unwrap().enosys["x86_64 io_uring_setup"], ["musl/stdio"]);
        let md = coverage_text(&c, true);
        assert!(md.contains("| x86_64 |") && md.contains("| 1 | write | files | partial | musl/stdio |"), "{md}");
    }

    fn chromium() -> Option<&'static str> {
        ["chromium", "chromium-browser"].into_iter().find(|b| Command::new(b).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success()))
    }

    /// Runs headless Chromium with `args` on `url`; its stdout.
    fn headless(browser: &str, profile: &std::path::Path, args: &[String], url: &str) -> Vec<u8> {
        let mut child = Command::new(browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args)
            .arg(url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = std::io::Read::read_to_end(&mut out, &mut v);
            v
        });
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(90) {
                let _ = child.kill();
                panic!("{browser} took over 90 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        reader.join().unwrap()
    }

    /// The page in a real browser: it parses into the chart and the tables,
    /// and renders to a screenshot that is not blank.
    #[test]
    fn html_renders_in_headless_chromium() {
        let Some(browser) = chromium() else {
            eprintln!("skipped: no chromium in PATH (apt-get install chromium) to check the HTML report");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("coverage.html");
        std::fs::write(&page, coverage_html(&sample(), "../compat-tests/src/")).unwrap();
        let url = format!("file://{}", page.display());
        let dom = String::from_utf8_lossy(&headless(browser, &dir.path().join("p1"), &["--dump-dom".into()], &url)).into_owned();
        assert!(dom.contains("<svg"), "no chart in the DOM: {}", &dom[..dom.len().min(500)]);
        // 8 bars (7 categories + all) per ABI, each of up to 3 segments and a proof tick.
        assert!(dom.matches("<rect").count() >= 2 * 8 * 2, "too few bars");
        assert!(dom.contains("href=\"../compat-tests/src/stdio.c\""), "no link to the compat test");
        assert!(dom.contains("id=\"i386-set_thread_area\""), "no row per call");
        let shot = dir.path().join("shot.png");
        headless(browser, &dir.path().join("p2"), &[format!("--screenshot={}", shot.display()), "--window-size=1280,900".into()], &url);
        let png = std::fs::read(&shot).expect("no screenshot written");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // A blank 1280x900 page compresses to a few KB; the chart and text do not.
        assert!(png.len() > 20_000, "screenshot of {} bytes looks blank", png.len());
    }
}
