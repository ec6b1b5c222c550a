//! `cargo xtask sim`: the group protocol's deterministic simulations at 10,
//! 100 and 1,000 nodes (sion_group::sim), as a table.

use std::time::Instant;

use sion_group::sim::{Sim, SimConfig, SimReport};

/// Reported, not judged against the goals (which are about a running group):
/// a thousand nodes booting at once flood the LAN with announces and views.
const MASS_BOOT: &str = "all boot within 10 s";

struct Scenario {
    name: &'static str,
    cfg: SimConfig,
}

fn scenarios(seed: u64, quick: bool) -> Vec<Scenario> {
    let mut v = Vec::new();
    let churn = |n: usize, loss: f64, crashes: usize, secs: u64| {
        let mut c = SimConfig::new(n, seed);
        c.loss = loss;
        c.crashes = crashes;
        c.restart_after = Some(5_000);
        c.delay = (1, 20);
        c.duration = secs * 1000;
        c
    };
    v.push(Scenario { name: "join by broadcast, churn", cfg: churn(10, 0.0, 6, 60) });
    v.push(Scenario { name: "join by broadcast, churn", cfg: churn(10, 0.05, 6, 60) });
    v.push(Scenario { name: "join by broadcast, churn", cfg: churn(100, 0.0, 20, 90) });
    v.push(Scenario { name: "join by broadcast, churn", cfg: churn(100, 0.05, 20, 90) });
    let mut p = SimConfig::new(100, seed);
    p.preformed = true;
    p.loss = 0.01;
    p.partition = Some((10_000, 25_000));
    p.duration = 90_000;
    v.push(Scenario { name: "partition 10-25 s, heals", cfg: p });
    if !quick {
        for loss in [0.0, 0.05] {
            let mut c = SimConfig::new(1000, seed);
            c.preformed = true;
            c.loss = loss;
            c.crashes = 30;
            c.duration = 60_000;
            v.push(Scenario { name: "formed group, crashes", cfg: c });
        }
        let mut c = SimConfig::new(1000, seed);
        c.loss = 0.05;
        c.stagger = 10_000;
        c.duration = 40_000;
        v.push(Scenario { name: MASS_BOOT, cfg: c });
    }
    v
}

fn ms(v: Option<u64>) -> String {
    match v {
        Some(v) => format!("{:.1} s", v as f64 / 1000.0),
        None => "-".into(),
    }
}

pub fn run(seed: u64, quick: bool) -> bool {
    let head = ["nodes", "loss", "scenario", "formed", "crashes", "detect p50", "detect p99", "false deaths", "refuted susp.", "sent/s/node", "recv/s/node", "views ok", "run time"];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut ok = true;
    for s in scenarios(seed, quick) {
        let t0 = Instant::now();
        let (n, loss, partitioned) = (s.cfg.nodes, s.cfg.loss, s.cfg.partition.is_some());
        let r: SimReport = Sim::new(s.cfg).run();
        let (p50, p99) = r.detection_percentiles();
        let undetected = r.detection_ms.iter().filter(|d| d.is_none()).count();
        let crashes = if undetected > 0 { format!("{} ({} missed)", r.detection_ms.len(), undetected) } else { r.detection_ms.len().to_string() };
        if !partitioned && s.name != MASS_BOOT {
            ok &= r.false_deaths == 0 && undetected == 0 && r.sent_per_node_s <= 4.0 && p50.is_none_or(|v| v < 5000) && p99.is_none_or(|v| v < 10_000);
        }
        if s.name != MASS_BOOT {
            ok &= r.diverged_views == 0;
        }
        rows.push(vec![
            n.to_string(),
            format!("{:.0}%", loss * 100.0),
            s.name.to_string(),
            ms(r.formed_ms),
            crashes,
            ms(p50),
            ms(p99),
            if partitioned { format!("{} (expected)", r.false_deaths) } else { r.false_deaths.to_string() },
            r.false_suspicions.to_string(),
            format!("{:.2}", r.sent_per_node_s),
            format!("{:.2}", r.received_per_node_s),
            if r.diverged_views == 0 { "yes".into() } else { format!("{} differ", r.diverged_views) },
            format!("{:.1} s", t0.elapsed().as_secs_f64()),
        ]);
        eprintln!("  {} nodes, {} done", n, rows.last().unwrap()[2]);
    }
    let right = [true, true, false, true, true, true, true, true, true, true, true, false, true];
    let widths: Vec<usize> = (0..head.len()).map(|c| rows.iter().map(|r| r[c].len()).chain([head[c].len()]).max().unwrap()).collect();
    let line = |cells: Vec<String>| {
        let mut l = String::new();
        for (c, cell) in cells.iter().enumerate() {
            if c > 0 {
                l += "  ";
            }
            if right[c] {
                l += &format!("{cell:>w$}", w = widths[c]);
            } else {
                l += &format!("{cell:<w$}", w = widths[c]);
            }
        }
        println!("{}", l.trim_end());
    };
    println!("group protocol simulation, seed {seed}, probe period 1 s, delay 1-20 ms (1-5 ms in formed groups)");
    line(head.iter().map(|s| s.to_string()).collect());
    println!("{}", "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
    for r in rows {
        line(r);
    }
    println!(
        "detect = until every live member holds the crashed one dead; goals: p50 < 5 s, p99 < 10 s, no false deaths, <= 4 packets/s/node: {}",
        if ok { "met" } else { "NOT met" }
    );
    ok
}
