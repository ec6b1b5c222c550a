//! `cargo xtask`: the one entry point for building, demonstrating and
//! testing SiON.
//!
//! - `setup`  installs what a fresh Debian machine with Rust is missing;
//! - `build`  builds the bare-metal images and the `sion` host tool;
//! - `demo`   setup + build + a static hello world run through `sion exec`;
//! - `compat` builds and runs the differential compat suite (compat-tests/);
//! - `test`   setup + build + `cargo test` + the compat suite;
//! - `bench`  SiON against Linux in the same QEMU (slow; not part of `test`).

mod bench;
mod build;
mod compat;
mod coverage_check;
mod demo;
mod group_tests;
mod iso;
mod kernel_tests;
mod lan_tests;
mod net_tests;
mod setup;
mod sim;
mod util;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", about = "Build, demo and test SiON", version)]
struct Cli {
    /// Log every command run and show full program output.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install missing Debian packages and the x86_64-unknown-none Rust target.
    Setup,
    /// Build the kernel and personality images and the `sion` host tool.
    Build,
    /// Setup, build, then run a static hello world (musl and i386 glibc) on SiON.
    Demo,
    /// Setup, build, `cargo test`, then the compat suite; ends with `N passed, N failed`.
    Test(compat::SuiteArgs),
    /// Only the compat suite (no setup, no build): C tests on Linux and through `sion exec`.
    Compat(compat::SuiteArgs),
    /// Only the network test (no setup, no build): echo and bulk transfer to a node.
    Net {
        /// Also measure the same transfer to Debian's Linux in the same QEMU (q35, virtio-pci).
        #[arg(long)]
        vs_linux: bool,
    },
    /// Benchmarks: SiON against Linux booted in the same QEMU; table, target/bench/results.json, SVG charts.
    Bench(bench::BenchArgs),
    /// Only the test LAN (no setup, no build; needs root): two nodes, link-local, TCP.
    Lan,
    /// The group protocol's simulations (10, 100, 1,000 nodes) as a table.
    Sim {
        /// Seed of the runs (the same seed gives the same table).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Skip the 1,000-node runs.
        #[arg(long)]
        quick: bool,
    },
    /// A bootable GRUB ISO of a group node (kernel, group server, netstack; virtio-net PCI).
    Iso {
        /// The group key file (default: sion's, ~/.config/sion/group.key).
        #[arg(long)]
        key_file: Option<std::path::PathBuf>,
        /// Where to write the ISO.
        #[arg(long, default_value = "target/sion-node.iso")]
        out: std::path::PathBuf,
        /// Then boot it in QEMU (q35) and check the node starts its group member.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = if cli.verbose { tracing::Level::DEBUG } else { tracing::Level::INFO };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();

    let result = match cli.command {
        Cmd::Setup => setup::setup(),
        Cmd::Build => build::build(),
        Cmd::Demo => demo::demo(),
        Cmd::Test(args) => test(args, cli.verbose),
        Cmd::Compat(args) => compat::run_suite(&args, cli.verbose, None).map(|s| s.exit_ok()),
        Cmd::Sim { seed, quick } => Ok(sim::run(seed, quick)),
        Cmd::Iso { key_file, out, check } => iso::build(key_file.as_deref(), &out).and_then(|_| {
            println!("{}", out.display());
            if check {
                println!("{}", iso::smoke_test(&out)?);
            }
            Ok(true)
        }),
        Cmd::Bench(args) => bench::bench(&args),
        Cmd::Lan => lan_tests::available().and_then(|_| lan_tests::run()).map(|o| {
            println!("link-local addresses {} after {:.1} s; nodes met over broadcast and TCP; the LAN pinged and reached both", o.addresses.join(", "), o.seconds_to_addresses);
            true
        }),
        Cmd::Net { vs_linux } => net_tests::Machine::ALL
            .iter()
            .try_for_each(|&m| net_tests::run(m).map(|f| println!("{}: TCP echo RTT {:.0} us, {} MiB bulk at {:.1} MB/s", m.name(), f.tcp_rtt_us, f.bytes >> 20, f.tcp_mb_per_s)))
            .and_then(|_| net_tests::published_server().map(|s| println!("{s}")))
            .and_then(|_| {
                if vs_linux {
                    let sion = net_tests::run(net_tests::Machine::Q35Pci)?;
                    let linux = net_tests::linux_baseline()?;
                    let mut t = util::Table::new(&["host to node, q35 + virtio-net PCI, TCG", "SiON", "Linux 6.1", "SiON advantage"]);
                    t.row(vec!["TCP echo round trip, 32 B (median of 200)".into(), format!("{:.0} us", sion.tcp_rtt_us), format!("{:.0} us", linux.tcp_rtt_us), format!("{:.2}", linux.tcp_rtt_us / sion.tcp_rtt_us)]);
                    t.row(vec![format!("TCP bulk, {} MiB verified", sion.bytes >> 20), format!("{:.1} MB/s", sion.tcp_mb_per_s), format!("{:.1} MB/s", linux.tcp_mb_per_s), format!("{:.2}", sion.tcp_mb_per_s / linux.tcp_mb_per_s)]);
                    print!("{}", t.render());
                }
                Ok(())
            })
            .map(|_| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Everything: setup, build, host unit tests, compat suite.
fn test(args: compat::SuiteArgs, verbose: bool) -> util::Result<bool> {
    let mut stages: Vec<(&str, String)> = Vec::new();
    setup::setup()?;
    stages.push(("setup", "ok".into()));

    let build_error = match build::build() {
        Ok(_) => None,
        Err(e) => {
            tracing::error!("build failed: {e}");
            Some(e)
        }
    };
    stages.push(("build", if build_error.is_some() { "FAILED".into() } else { "ok".into() }));

    util::banner("cargo test (host crates)");
    let mut cmd = util::cargo();
    cmd.arg("test").current_dir(util::root());
    let cargo_ok = util::run_status(&mut cmd)?;
    stages.push(("cargo test", if cargo_ok { "ok".into() } else { "FAILED".into() }));

    util::banner("syscall coverage report against the dispatch tables");
    stages.push(("syscall coverage", coverage_check::run()));
    // The host unit tests count as one test in the closing line (their own
    // runner printed the details above).
    let (mut host_passed, mut host_failed) = (0, 0);
    if cargo_ok {
        host_passed += 1;
    } else {
        host_failed += 1;
    }

    util::banner("kernel self-test in QEMU");
    // Each boot of the self-test counts as one test in the closing line.
    let (mut kernel_passed, mut kernel_failed) = (0, 0);
    if build_error.is_some() {
        kernel_failed += 1;
        stages.push(("kernel self-test", "FAILED (not built)".into()));
    } else {
        for run in kernel_tests::run()? {
            eprintln!("  {}: {}", run.name, run.summary);
            if run.passed {
                kernel_passed += 1;
            } else {
                kernel_failed += 1;
            }
            stages.push(("kernel self-test", format!("{}: {}", run.name, run.summary)));
        }
    }

    util::banner("network test in QEMU (netstack + echo server)");
    if build_error.is_some() {
        kernel_failed += 1;
        stages.push(("network", "FAILED (not built)".into()));
    } else {
        for machine in net_tests::Machine::ALL {
            match net_tests::run(machine) {
                Ok(f) => {
                    kernel_passed += 1;
                    let s = format!("{}: TCP echo ok, RTT {:.0} us; {} MiB bulk verified at {:.1} MB/s", machine.name(), f.tcp_rtt_us, f.bytes >> 20, f.tcp_mb_per_s);
                    eprintln!("  {s}");
                    stages.push(("network", s));
                }
                Err(e) => {
                    kernel_failed += 1;
                    eprintln!("  network test ({}) FAILED: {e}", machine.name());
                    stages.push(("network", format!("FAILED ({}): {e}", machine.name())));
                }
            }
        }
    }

    if build_error.is_none() {
        match net_tests::published_server() {
            Ok(s) => {
                kernel_passed += 1;
                eprintln!("  {s}");
                stages.push(("network", s));
            }
            Err(e) => {
                kernel_failed += 1;
                eprintln!("  published server FAILED: {e}");
                stages.push(("network", format!("FAILED (published Linux server): {e}")));
            }
        }
    }

    util::banner("bootable ISO of a group node (GRUB, q35, virtio-pci)");
    if build_error.is_some() {
        kernel_failed += 1;
        stages.push(("node ISO", "FAILED (not built)".into()));
    } else {
        // A throwaway key: the test must not depend on (or create) the user's.
        let key_file = util::target_dir().join("iso/test-group.key");
        let iso = util::target_dir().join("iso/test-node.iso");
        let r = std::fs::create_dir_all(util::target_dir().join("iso"))
            .map_err(|e| e.to_string())
            .and_then(|_| std::fs::write(&key_file, "5e".repeat(32)).map_err(|e| e.to_string()))
            .and_then(|_| iso::build(Some(&key_file), &iso))
            .and_then(|_| iso::smoke_test(&iso));
        match r {
            Ok(s) => {
                kernel_passed += 1;
                eprintln!("  {s}");
                stages.push(("node ISO", s));
            }
            Err(e) => {
                kernel_failed += 1;
                eprintln!("  node ISO FAILED: {e}");
                stages.push(("node ISO", format!("FAILED: {e}")));
            }
        }
    }

    util::banner("test LAN: two nodes in a network namespace");
    let mut lan_skipped = 0;
    match lan_tests::available() {
        Err(why) => {
            lan_skipped += 1;
            eprintln!("  skipped: {why}");
            stages.push(("test LAN", format!("skipped: {why}")));
        }
        Ok(()) if build_error.is_some() => {
            kernel_failed += 1;
            stages.push(("test LAN", "FAILED (not built)".into()));
        }
        Ok(()) => match lan_tests::run() {
            Ok(o) => {
                kernel_passed += 1;
                let s = format!("link-local {} in {:.1} s; broadcast, TCP between nodes, ping + TCP from the LAN ok", o.addresses.join(" and "), o.seconds_to_addresses);
                eprintln!("  {s}");
                stages.push(("test LAN", s));
            }
            Err(e) => {
                kernel_failed += 1;
                eprintln!("  test LAN FAILED: {e}");
                stages.push(("test LAN", format!("FAILED: {e}")));
            }
        },
    }

    util::banner("the group on a test LAN: sion up -n 3");
    match lan_tests::available() {
        Err(why) => {
            lan_skipped += 1;
            stages.push(("group (sion up)", format!("skipped: {why}")));
        }
        Ok(()) if build_error.is_some() => {
            kernel_failed += 1;
            stages.push(("group (sion up)", "FAILED (not built)".into()));
        }
        Ok(()) => match group_tests::run() {
            Ok(g) => {
                kernel_passed += 1;
                eprintln!("  {}", g.summary);
                stages.push(("group (sion up)", g.summary));
            }
            Err(e) => {
                kernel_failed += 1;
                eprintln!("  group FAILED: {e}");
                stages.push(("group (sion up)", format!("FAILED: {e}")));
            }
        },
    }

    util::banner("compat suite");
    let sion_unavailable = build_error.map(|e| format!("sion not built: {e}"));
    let summary = compat::run_suite(&args, verbose, sion_unavailable)?;
    stages.push(("compat suite", summary.short()));

    eprintln!();
    let mut table = util::Table::new(&["stage", "result"]);
    for (stage, result) in &stages {
        table.row(vec![stage.to_string(), result.clone()]);
    }
    print!("{}", table.render());
    let all_ok = stages.iter().all(|(_, r)| !r.contains("FAILED")) && summary.exit_ok() && kernel_failed == 0;
    let total = compat::Summary { passed: summary.passed + kernel_passed + host_passed, failed: summary.failed + kernel_failed + host_failed, skipped: summary.skipped + lan_skipped };
    println!("{}", total.closing_line());
    Ok(all_ok)
}
