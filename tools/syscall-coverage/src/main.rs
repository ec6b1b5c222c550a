//! `syscall-coverage`: what SiON implements (from the personality's dispatch
//! tables), what the compat suite proves (from traces of its runs), and what
//! a program needs (static analysis of its code, and traced runs).
//!
//! ```text
//! syscall-coverage                        # counts per ABI and category, compat coverage
//! syscall-coverage --run-compat           # first trace the compat suite through sion exec --trace
//! syscall-coverage --format html -o report.html
//! syscall-coverage PROG...                # what each program needs, and a verdict
//! syscall-coverage PROG --run '' --run '-c "echo hi"'   # also traced runs on SiON
//! syscall-coverage PROG --strace --run 'ARGS'          # accuracy check against strace -f
//! ```
#![forbid(unsafe_code)]

mod catalog;
mod report;
mod runs;
mod scan;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use sion_linux::layout::Abi;
use sion_linux::syscalls::{lookup, name_of};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Md,
    Json,
    Html,
}

/// What SiON implements, what the compat suite proves, what a program needs.
///
/// With no PROGRAM: the implemented/partial/absent counts of Linux system
/// calls per ABI and category, from the personality's dispatch tables, and
/// which of them the compat suite's and LTP's passing tests make (from the
/// traces saved by --run-compat and by `cargo xtask ltp`). With PROGRAMs: the calls each one's code makes
/// (found statically), those SiON lacks, and a verdict.
#[derive(Parser, Debug)]
#[command(name = "syscall-coverage", version, about)]
struct Cli {
    /// Static Linux programs (ELF, x86_64 or i386) to analyse.
    #[arg(value_name = "PROGRAM")]
    programs: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Write the report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Trace the compat suite first: run every built compat test
    /// (target/compat/{musl,glibc,i386}/NAME) on Linux and through
    /// `sion exec --trace`, judge it as the runner does, and save the traces
    /// (target/syscall-coverage/compat.json) for the report.
    #[arg(long)]
    run_compat: bool,

    /// Only compat tests whose name contains one of these (with --run-compat).
    #[arg(long = "test", value_name = "NAME")]
    tests: Vec<String>,

    /// The saved compat traces to read.
    #[arg(long, value_name = "FILE")]
    compat_traces: Option<PathBuf>,

    /// The LTP runs' saved calls to read (`cargo xtask ltp` writes them,
    /// one NAME.json per test; default target/ltp/calls).
    #[arg(long, value_name = "DIR")]
    ltp_calls: Option<PathBuf>,

    /// Parallel runs for --run-compat.
    #[arg(long, default_value_t = 2)]
    jobs: usize,

    /// Run each PROGRAM through `sion exec --trace` with these arguments
    /// (split like a shell's words; '' for none). Repeatable: one run each.
    #[arg(long = "run", value_name = "ARGS", allow_hyphen_values = true)]
    run: Vec<String>,

    /// Run each PROGRAM on the host under `strace -f` (with each --run's
    /// arguments, or none) and compare what strace sees with the static set.
    #[arg(long)]
    strace: bool,

    /// Skip the traced runs on SiON (with --strace: only the host check).
    #[arg(long)]
    no_sion: bool,

    /// The accuracy check on the compat suite: for every compat test built
    /// for BUILD (musl, glibc or i386), the static set of its binary against
    /// what `strace -f` sees when it runs with its header's args, env and stdin.
    #[arg(long, value_name = "BUILD")]
    accuracy: Option<String>,

    /// The sion command (default: beside this tool, or target/release/sion).
    #[arg(long, value_name = "PATH")]
    sion: Option<PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("syscall-coverage: {e:#}");
            std::process::exit(1);
        }
    }
}

fn emit(cli: &Cli, text: &str) -> Result<()> {
    match &cli.output {
        Some(p) => std::fs::write(p, text).with_context(|| p.display().to_string()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn run(cli: &Cli) -> Result<()> {
    let sion = runs::sion_binary(cli.sion.as_deref());
    if let Some(build) = &cli.accuracy {
        return accuracy(cli, build);
    }
    if cli.programs.is_empty() {
        let cache = cli.compat_traces.clone().unwrap_or_else(runs::compat_cache);
        if cli.run_compat {
            let results = runs::run_compat(&sion, &cli.tests, cli.jobs)?;
            std::fs::create_dir_all(cache.parent().unwrap())?;
            std::fs::write(&cache, serde_json::to_string_pretty(&results)?)?;
            eprintln!("syscall-coverage: {} traced runs saved in {}", results.len(), cache.display());
        }
        let compat = runs::load_compat(&cache);
        let ltp = runs::load_ltp(&cli.ltp_calls.clone().unwrap_or_else(runs::ltp_calls_dir));
        // A passing compat or LTP run proves the calls it makes.
        let traced = match (compat, ltp.is_empty()) {
            (None, true) => None,
            (c, _) => Some(c.unwrap_or_default().into_iter().chain(ltp).collect::<Vec<_>>()),
        };
        let c = report::coverage(traced.as_deref());
        let text = match cli.format {
            Format::Text => report::coverage_text(&c, false),
            Format::Md => report::coverage_text(&c, true),
            Format::Json => serde_json::to_string_pretty(&c)? + "\n",
            Format::Html => report::coverage_html(&c, &tests_href(cli.output.as_deref())),
        };
        return emit(cli, &text);
    }
    let mut reports = Vec::new();
    for p in &cli.programs {
        reports.push(program(cli, &sion, p).with_context(|| p.display().to_string())?);
    }
    let text = match cli.format {
        Format::Text | Format::Md => reports.iter().map(|r| report::program_text(r, cli.format == Format::Md)).collect::<Vec<_>>().join("\n"),
        Format::Json => serde_json::to_string_pretty(&reports)? + "\n",
        Format::Html => report::programs_html(&reports),
    };
    emit(cli, &text)
}

/// The link prefix of the compat sources as seen from the HTML file.
fn tests_href(output: Option<&Path>) -> String {
    let src = runs::repo_root().join("compat-tests/src");
    let src = std::fs::canonicalize(&src).unwrap_or(src);
    if let Some(dir) = output.and_then(|o| std::path::absolute(o).ok()).and_then(|o| o.parent().map(Path::to_path_buf)) {
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        // A relative link when the page lies under the repository.
        let root = std::fs::canonicalize(runs::repo_root()).unwrap_or_else(|_| runs::repo_root());
        if let Ok(rel) = dir.strip_prefix(&root) {
            let ups = "../".repeat(rel.components().count());
            return format!("{ups}compat-tests/src/");
        }
    }
    format!("file://{}/", src.display())
}

fn abi_of_name(abi: Abi) -> &'static str {
    catalog::abi_name(abi)
}

/// Splits `--run` text into words like a shell (quotes, no expansion), as
/// a compat test's `// args:` line.
fn words(s: &str) -> Result<Vec<String>> {
    sion_compat_spec::split_words(s).map_err(|e| anyhow::anyhow!("--run {s:?}: {e}"))
}

fn program(cli: &Cli, sion: &Path, path: &Path) -> Result<report::ProgramReport> {
    let data = std::fs::read(path)?;
    let code = scan::Program::from_elf(&data)?;
    let main_abi = if code.bits == 64 { Abi::X86_64 } else { Abi::I386 };
    let sites = code.sites();
    let mut found: BTreeMap<(u8, u64), report::Found> = BTreeMap::new();
    let mut unknown_numbers = BTreeSet::new();
    let mut static_names: BTreeSet<String> = BTreeSet::new();
    let mut subcalls = BTreeSet::new();
    for s in &sites {
        let abi = s.kind.abi(code.bits);
        subcalls.extend(s.subcalls.iter().cloned());
        static_names.extend(s.subcalls.iter().cloned());
        for &nr in &s.numbers {
            match name_of(abi, nr) {
                Some(name) => {
                    if abi == main_abi {
                        static_names.insert(name.to_string());
                    }
                    let status = match lookup(abi, nr) {
                        Some(e) => match e.status {
                            sion_linux::syscalls::Status::Complete => "complete",
                            sion_linux::syscalls::Status::Partial(_) => "partial",
                        },
                        None => "absent",
                    };
                    found.insert((abi as u8, nr), report::Found { abi: abi_of_name(abi), nr, name: name.to_string(), status });
                }
                None => {
                    unknown_numbers.insert(format!("{}:{nr:#x}", abi_of_name(abi)));
                }
            }
        }
    }
    let calls: Vec<report::Found> = found.into_values().collect();
    let missing: Vec<String> = calls.iter().filter(|c| c.status == "absent").map(|c| c.name.clone()).collect();
    let unresolved: Vec<scan::Site> = sites.iter().filter(|s| !s.unresolved.is_empty()).cloned().collect();
    let trampolines = sites.iter().filter(|s| s.trampoline).count();
    let resolved = sites.iter().filter(|s| s.unresolved.is_empty() && !s.trampoline).count();

    let arg_sets: Vec<Vec<String>> = if cli.run.is_empty() { vec![vec![]] } else { cli.run.iter().map(|r| words(r)).collect::<Result<_>>()? };
    let mut dyn_runs = Vec::new();
    if !cli.run.is_empty() && !cli.no_sion {
        for args in &arg_sets {
            let (uses, out) = runs::sion_traced(sion, path, args, &[], None, None)?;
            let calls: BTreeMap<String, u64> = uses.iter().map(|((a, n), u)| (format!("{a} {n}"), u.count)).collect();
            let enosys: Vec<String> = uses.iter().filter(|(_, u)| u.enosys > 0).map(|((_, n), _)| n.clone()).collect();
            dyn_runs.push(report::DynRun { args: args.clone(), status: out.status, calls, enosys });
        }
    }
    let strace = if cli.strace {
        let mut seen = BTreeSet::new();
        let dir = tempfile::tempdir()?;
        let prog = std::fs::canonicalize(path)?;
        for args in &arg_sets {
            seen.extend(runs::strace(&prog, args, None, None, dir.path())?);
        }
        let missed = report::minus(&seen, &static_names);
        Some(report::StraceCheck { runs: arg_sets.len(), seen: seen.len(), found: seen.len() - missed.len(), missed })
    } else {
        None
    };
    Ok(report::ProgramReport {
        path: path.display().to_string(),
        abi: abi_of_name(main_abi),
        instructions: code.instruction_count(),
        sites: sites.len(),
        resolved_sites: resolved,
        trampolines,
        verdict: report::verdict(&missing, unresolved.len()),
        unresolved,
        calls,
        unknown_numbers: unknown_numbers.into_iter().collect(),
        subcalls: subcalls.into_iter().collect(),
        missing,
        runs: dyn_runs,
        strace,
    })
}

/// `--accuracy BUILD`: static sets of the compat binaries against strace.
fn accuracy(cli: &Cli, build: &str) -> Result<()> {
    let root = runs::repo_root();
    let mut names: Vec<PathBuf> = std::fs::read_dir(root.join("compat-tests/src"))?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "c")).collect();
    names.sort();
    let (mut seen_total, mut found_total, mut tests) = (0, 0, 0);
    let mut out = String::new();
    let mut all_missed = BTreeSet::new();
    for src in names {
        let name = src.file_stem().unwrap().to_string_lossy().into_owned();
        let bin = root.join("target/compat").join(build).join(&name);
        if !bin.is_file() || (!cli.tests.is_empty() && !cli.tests.iter().any(|t| name.contains(t.as_str()))) {
            continue;
        }
        let spec = runs::Spec::parse(&std::fs::read_to_string(&src)?).map_err(|e| anyhow::anyhow!("{}: {e}", src.display()))?;
        let code = scan::Program::from_elf(&std::fs::read(&bin)?)?;
        let main_abi = if code.bits == 64 { Abi::X86_64 } else { Abi::I386 };
        let static_names: BTreeSet<String> = code
            .sites()
            .iter()
            .filter(|s| s.kind.abi(code.bits) == main_abi)
            .flat_map(|s| s.numbers.iter().filter_map(|&n| name_of(main_abi, n).map(str::to_string)).chain(s.subcalls.iter().cloned()).collect::<Vec<_>>())
            .collect();
        let dir = tempfile::tempdir()?;
        let seen = runs::strace(&bin, &spec.args, Some(&spec.env), spec.stdin.as_deref(), dir.path())?;
        let missed = report::minus(&seen, &static_names);
        seen_total += seen.len();
        found_total += seen.len() - missed.len();
        tests += 1;
        all_missed.extend(missed.iter().cloned());
        out.push_str(&format!("{build}/{name}: strace saw {} distinct calls, {} in the static set ({} found statically){}\n", seen.len(), seen.len() - missed.len(), static_names.len(), if missed.is_empty() { String::new() } else { format!("; missed: {}", missed.join(" ")) }));
    }
    out.push_str(&format!("{tests} tests: {found_total} of {seen_total} (test, call) pairs strace saw are in the static sets; missed calls: {}\n", if all_missed.is_empty() { "none".to_string() } else { all_missed.into_iter().collect::<Vec<_>>().join(" ") }));
    emit(cli, &out)
}
