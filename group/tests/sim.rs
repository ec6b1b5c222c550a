//! Deterministic simulations of the group protocol (see sion_group::sim).
//! The 1,000-node figures come from `cargo xtask sim`; these runs keep
//! `cargo test` within seconds.

use sion_group::sim::{Sim, SimConfig, SimReport};

fn show(name: &str, r: &SimReport) {
    let (p50, p99) = r.detection_percentiles();
    eprintln!(
        "{name}: formed {:?} ms, detection p50 {:?} p99 {:?} of {:?}, false deaths {}, false suspicions {}, sent {:.2}/s/node, received {:.2}/s/node, diverged {}",
        r.formed_ms, p50, p99, r.detection_ms, r.false_deaths, r.false_suspicions, r.sent_per_node_s, r.received_per_node_s, r.diverged_views
    );
}

fn check_detection(r: &SimReport) {
    let (p50, p99) = r.detection_percentiles();
    assert!(p50.expect("a crash went unnoticed") < 5_000, "median {p50:?}");
    assert!(p99.expect("a crash went unnoticed") < 10_000, "p99 {p99:?}");
}

#[test]
fn ten_nodes_form_a_group_by_broadcast() {
    let r = Sim::new(SimConfig::new(10, 1)).run();
    show("10 nodes", &r);
    assert!(r.formed_ms.unwrap() < 5_000);
    assert_eq!(r.diverged_views, 0);
    assert_eq!((r.false_deaths, r.false_suspicions), (0, 0));
    assert!(r.sent_per_node_s <= 4.0);
}

#[test]
fn ten_nodes_with_loss_and_crashes() {
    let mut c = SimConfig::new(10, 11);
    c.loss = 0.05;
    c.crashes = 4;
    c.restart_after = Some(3_000);
    let r = Sim::new(c).run();
    show("10 nodes, 5% loss, churn", &r);
    check_detection(&r);
    assert_eq!(r.false_deaths, 0);
    assert_eq!(r.diverged_views, 0, "restarted nodes rejoin");
}

#[test]
fn hundred_nodes_loss_delay_churn() {
    let mut c = SimConfig::new(100, 2);
    c.loss = 0.05;
    c.delay = (1, 40);
    c.crashes = 10;
    c.restart_after = Some(5_000);
    c.duration = 90_000;
    let r = Sim::new(c).run();
    show("100 nodes, 5% loss, churn", &r);
    assert!(r.formed_ms.unwrap() < 20_000);
    check_detection(&r);
    assert_eq!(r.false_deaths, 0);
    assert!(r.sent_per_node_s <= 4.0, "{}", r.sent_per_node_s);
    assert_eq!(r.diverged_views, 0);
}

#[test]
fn hundred_nodes_partition_heals() {
    let mut c = SimConfig::new(100, 5);
    c.preformed = true;
    c.loss = 0.01;
    c.partition = Some((10_000, 25_000));
    c.duration = 90_000;
    let r = Sim::new(c).run();
    show("100 nodes, partition", &r);
    // Each side declares the other dead (they are unreachable)...
    assert!(r.false_deaths > 0);
    // ...and after the partition heals every view is whole again.
    assert_eq!(r.diverged_views, 0);
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let run = || {
        let mut c = SimConfig::new(30, 9);
        c.loss = 0.1;
        c.crashes = 2;
        c.duration = 20_000;
        let r = Sim::new(c).run();
        (r.detection_ms, r.false_suspicions, r.sent_per_node_s.to_bits(), r.received_per_node_s.to_bits())
    };
    assert_eq!(run(), run());
}

#[test]
fn thousand_nodes_five_percent_loss() {
    let mut c = SimConfig::new(1000, 3);
    c.preformed = true;
    c.loss = 0.05;
    c.crashes = 10;
    c.duration = 30_000;
    let r = Sim::new(c).run();
    show("1000 nodes", &r);
    check_detection(&r);
    assert_eq!(r.false_deaths, 0);
    assert!(r.sent_per_node_s <= 4.0, "{}", r.sent_per_node_s);
}
