//! The protocol core through its public interface: wire format, authentication,
//! replay, refutation and placement on a tiny hand-driven network.

use sion_group::wire::{self, Body, Header, Kind, Update};
use sion_group::{Addr, Config, Event, Key, Node, NodeId, PlaceRequest, Status, Weights};

const T0: u64 = 1_767_225_600_000;

fn addr(i: u8) -> Addr {
    Addr { ip: [10, 0, 0, i], port: 7470 }
}

fn status(mem: u32, load: u16) -> Status {
    Status { ncpus: 1, cpu_speed: 500, free_mem_mib: mem, total_mem_mib: mem, net_mbps: 100, cpu_load: load, accepting: true, name: "n".into(), ..Default::default() }
}

fn node(i: u8, key: &Key, mem: u32) -> Node {
    let cfg = Config::new(NodeId(i as u64), addr(i), Addr { ip: [10, 0, 0, 255], port: 7470 }, key.clone());
    Node::new(cfg, status(mem, 0), T0, i as u64)
}

/// Delivers every datagram among `nodes` (broadcasts to all others) and ticks
/// them until `until`, in 10 ms steps.
fn run(nodes: &mut [Node], from: u64, until: u64, drop: &dyn Fn(usize, usize) -> bool) -> Vec<(usize, Event)> {
    let mut events = Vec::new();
    let mut now = from;
    while now <= until {
        for i in 0..nodes.len() {
            if nodes[i].next_deadline() <= now {
                nodes[i].tick(now);
            }
        }
        loop {
            let mut moved = false;
            for i in 0..nodes.len() {
                while let Some(t) = nodes[i].poll_transmit() {
                    moved = true;
                    for j in 0..nodes.len() {
                        let to_j = if t.broadcast { j != i } else { nodes[j].addr() == t.to };
                        if to_j && !drop(i, j) {
                            let from_addr = nodes[i].addr();
                            nodes[j].handle_datagram(now, from_addr, &t.data);
                        }
                    }
                }
                while let Some(e) = nodes[i].poll_event() {
                    events.push((i, e));
                }
            }
            if !moved {
                break;
            }
        }
        now += 10;
    }
    events
}

#[test]
fn every_body_round_trips_and_a_flipped_bit_is_refused() {
    let key = Key([9; 32]);
    let alive = Update::Alive { id: NodeId(1), incarnation: 2, addr: addr(1), status: status(100, 5) };
    let bodies = [
        Body::Announce { me: alive.clone(), want_view: true },
        Body::Sync { updates: vec![alive.clone(), Update::Dead { id: NodeId(3), incarnation: 1 }, Update::Left { id: NodeId(4), incarnation: 0 }] },
        Body::Ping { probe: 7, target: NodeId(2), status: status(1, 2), updates: vec![Update::Suspect { id: NodeId(5), incarnation: 9 }] },
        Body::Ack { probe: 7, target: NodeId(2), status: status(3, 4), updates: vec![] },
        Body::PingReq { probe: 8, target: NodeId(2), addr: addr(2), updates: vec![alive] },
        Body::AllocRequest { req: 1, need: sion_group::JobNeed { mem_mib: 64, cpus: 1 } },
        Body::AllocReply { req: 1, verdict: 3, status: status(10, 0) },
        Body::AllocRelease { req: 1 },
    ];
    for b in bodies {
        let h = Header { kind: b.kind(), sender: NodeId(1), incarnation: 2, seq: 5, timestamp: T0 };
        let mut d = wire::seal(&key, &h, &b);
        assert_eq!(wire::open(&key, &d), Ok((h, b.clone())));
        assert_eq!(wire::open(&Key([8; 32]), &d), Err(wire::DecodeError::BadTag));
        let mid = d.len() / 2;
        d[mid] ^= 1;
        assert_eq!(wire::open(&key, &d), Err(wire::DecodeError::BadTag));
    }
    assert_eq!(Kind::Announce as u8, 1);
}

#[test]
fn strangers_and_replays_are_refused() {
    let key = Key([1; 32]);
    let mut a = node(1, &key, 100);
    let mut b = node(2, &key, 100);
    let mut intruder = node(3, &Key([2; 32]), 100);
    a.tick(T0);
    intruder.tick(T0);
    let announce = a.poll_transmit().unwrap();
    assert!(announce.broadcast);
    b.handle_datagram(T0, addr(1), &announce.data);
    assert!(matches!(b.poll_event(), Some(Event::Up { id: NodeId(1), .. })));
    // The same datagram again: a replay.
    b.handle_datagram(T0 + 5, addr(1), &announce.data);
    let evs: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
    assert!(evs.iter().any(|e| matches!(e, Event::Rejected { reason: sion_group::node::Rejection::Stale(sion_group::replay::Stale::Replay), .. })), "{evs:?}");
    // Another key: refused, and the intruder never becomes a member.
    let bad = intruder.poll_transmit().unwrap();
    b.handle_datagram(T0 + 10, addr(3), &bad.data);
    assert!(matches!(b.poll_event(), Some(Event::Rejected { reason: sion_group::node::Rejection::Unauthenticated, .. })));
    assert!(b.member(NodeId(3)).is_none());
    // A datagram from three minutes ago: refused by its timestamp.
    let mut late = node(4, &key, 100);
    late.tick(T0);
    let old = late.poll_transmit().unwrap();
    b.handle_datagram(T0 + 180_000, addr(4), &old.data);
    assert!(matches!(b.poll_event(), Some(Event::Rejected { reason: sion_group::node::Rejection::Stale(sion_group::replay::Stale::Clock), .. })));
}

#[test]
fn a_suspected_member_refutes_and_is_not_declared_dead() {
    let key = Key([1; 32]);
    let mut nodes: Vec<Node> = (1..=3).map(|i| node(i, &key, 100)).collect();
    run(&mut nodes, T0, T0 + 3_000, &|_, _| false);
    assert!(nodes.iter().all(|n| n.live_members() == 2));
    // Node 3 cannot be heard for 2.5 s (its replies are lost): it is suspected,
    // hears of it (a notice is sent to the suspect directly) and refutes with
    // a new incarnation once it can be heard again.
    let ev = run(&mut nodes, T0 + 3_000, T0 + 5_500, &|from, _| from == 2);
    let ev2 = run(&mut nodes, T0 + 5_500, T0 + 15_000, &|_, _| false);
    let all: Vec<&(usize, Event)> = ev.iter().chain(&ev2).collect();
    let dead = all.iter().filter(|(_, e)| matches!(e, Event::Down { .. })).count();
    let suspected = all.iter().any(|(_, e)| matches!(e, Event::Suspect { id: NodeId(3), .. }));
    let refuted = all.iter().any(|(i, e)| *i == 2 && matches!(e, Event::Refuted { .. }));
    assert!(suspected);
    assert!(refuted, "{all:?}");
    assert_eq!(dead, 0, "{all:?}");
    assert!(nodes.iter().all(|n| n.live_members() == 2), "views heal");
    assert!(nodes[2].incarnation() >= 1);
}

#[test]
fn a_crash_is_detected_and_broadcast() {
    let key = Key([1; 32]);
    let mut nodes: Vec<Node> = (1..=4).map(|i| node(i, &key, 100)).collect();
    run(&mut nodes, T0, T0 + 3_000, &|_, _| false);
    let ev = run(&mut nodes, T0 + 3_000, T0 + 12_000, &|from, to| from == 3 || to == 3);
    for i in 0..3 {
        assert!(ev.iter().any(|(j, e)| *j == i && matches!(e, Event::Down { id: NodeId(4), .. })), "node {i}: {ev:?}");
        assert_eq!(nodes[i].live_members(), 2);
    }
}

#[test]
fn placement_asks_candidates_and_follows_the_weights() {
    let key = Key([1; 32]);
    let mut nodes = vec![node(1, &key, 100), node(2, &key, 400), node(3, &key, 200)];
    run(&mut nodes, T0, T0 + 3_000, &|_, _| false);
    // Memory-heavy weights: node 2 (400 MiB).
    let mem = Weights { cpu: 0.0, mem: 10.0, speed: 0.0, net: 0.0 };
    let req = nodes[0].place(T0 + 3_000, PlaceRequest { weights: mem, include_local: true, ..Default::default() });
    let ev = run(&mut nodes, T0 + 3_000, T0 + 4_000, &|_, _| false);
    let placed = ev.iter().find_map(|(i, e)| match e {
        Event::Placed { req: r, result } if *i == 0 && *r == req => Some(result.clone()),
        _ => None,
    });
    let p = placed.expect("placed").expect("a node");
    assert_eq!((p.node, p.addr), (NodeId(2), addr(2)));
    assert_eq!(p.ranking.len(), 3);
    // Candidates answered with their admission verdict.
    assert!(ev.iter().filter(|(_, e)| matches!(e, Event::AllocRequested { verdict: None, .. })).count() == 2);
    // A job needing 300 MiB: only node 2 accepts; excluding it leaves nobody.
    let need = sion_group::JobNeed { mem_mib: 300, cpus: 1 };
    let req = nodes[0].place(T0 + 4_000, PlaceRequest { need, exclude: vec![NodeId(2)], include_local: true, ..Default::default() });
    let ev = run(&mut nodes, T0 + 4_000, T0 + 5_000, &|_, _| false);
    let r = ev.iter().find_map(|(_, e)| match e {
        Event::Placed { req: r, result } if *r == req => Some(result.clone()),
        _ => None,
    });
    assert!(matches!(r, Some(Err(sion_group::PlaceError::AllRefused(_)))), "{r:?}");
    // --node: only that one, even if others score better.
    let req = nodes[0].place(T0 + 5_000, PlaceRequest { weights: mem, node: Some(NodeId(3)), include_local: true, ..Default::default() });
    let ev = run(&mut nodes, T0 + 5_000, T0 + 6_000, &|_, _| false);
    assert!(ev.iter().any(|(_, e)| matches!(e, Event::Placed { req: r, result: Ok(p) } if *r == req && p.node == NodeId(3))));
}

#[test]
fn a_named_member_under_suspicion_is_still_asked() {
    let key = Key([1; 32]);
    let mut nodes: Vec<Node> = (1..=3).map(|i| node(i, &key, 100)).collect();
    run(&mut nodes, T0, T0 + 3_000, &|_, _| false);
    // Node 3 is cut off until node 1 suspects it, then heard again.
    let mut t = T0 + 3_000;
    loop {
        let ev = run(&mut nodes, t, t + 100, &|a, b| a == 2 || b == 2);
        t += 100;
        if ev.iter().any(|(i, e)| *i == 0 && matches!(e, Event::Suspect { id: NodeId(3), .. })) {
            break;
        }
        assert!(t < T0 + 20_000, "node 3 never suspected");
    }
    let req = nodes[0].place(t, PlaceRequest { node: Some(NodeId(3)), ..Default::default() });
    let ev = run(&mut nodes, t, t + 1_000, &|_, _| false);
    assert!(ev.iter().any(|(_, e)| matches!(e, Event::Placed { req: r, result: Ok(p) } if *r == req && p.node == NodeId(3))), "{ev:?}");
}

#[test]
fn a_leaving_member_is_gone_at_once() {
    let key = Key([1; 32]);
    let mut nodes: Vec<Node> = (1..=3).map(|i| node(i, &key, 100)).collect();
    run(&mut nodes, T0, T0 + 3_000, &|_, _| false);
    nodes[2].leave(T0 + 3_000);
    let ev = run(&mut nodes, T0 + 3_000, T0 + 3_100, &|_, _| false);
    for i in 0..2 {
        assert!(ev.iter().any(|(j, e)| *j == i && matches!(e, Event::Down { id: NodeId(3), state: sion_group::State::Left })));
    }
}
