//! A deterministic network simulator for the protocol core: N nodes on one
//! virtual LAN with message loss, delay, a partition, crashes and churn
//! (crashed nodes come back as new members). Every datagram is really
//! sealed and checked, so the figures include the wire format.
//!
//! Used by the crate's tests (`group/tests/sim.rs`) and `cargo xtask sim`.

use alloc::collections::{BTreeMap, BinaryHeap};
use alloc::vec;
use alloc::vec::Vec;
use core::cmp::Reverse;

use crate::node::{Config, Event, Node, State};
use crate::rng::Rng;
use crate::status::Status;
use crate::wire::Key;
use crate::{Addr, NodeId};

/// Virtual clock origin: a plausible wall-clock time (datagram timestamps are checked).
pub const EPOCH: u64 = 1_767_225_600_000;

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub nodes: usize,
    pub seed: u64,
    /// Simulated time, ms.
    pub duration: u64,
    /// Probability that a datagram (or one copy of a broadcast) is lost.
    pub loss: f64,
    /// One-way delay, uniform in this range, ms.
    pub delay: (u64, u64),
    /// Crashes, spread evenly over the middle of the run.
    pub crashes: usize,
    /// A crashed node restarts (as a new member) after this, if set.
    pub restart_after: Option<u64>,
    /// Between these times, `partition_fraction` of the nodes cannot reach the others.
    pub partition: Option<(u64, u64)>,
    pub partition_fraction: f64,
    /// Nodes start knowing each other (else: they start within the first
    /// `stagger` ms and find each other by broadcast).
    pub preformed: bool,
    pub stagger: u64,
    pub probe_interval: u64,
}

impl SimConfig {
    pub fn new(nodes: usize, seed: u64) -> SimConfig {
        SimConfig {
            nodes,
            seed,
            duration: 60_000,
            loss: 0.0,
            delay: (1, 5),
            crashes: 0,
            restart_after: None,
            partition: None,
            partition_fraction: 0.5,
            preformed: false,
            stagger: 2_000,
            probe_interval: 1000,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct SimReport {
    pub nodes: usize,
    /// Time until every node that was up knew the group (None: never).
    pub formed_ms: Option<u64>,
    /// Per crash: ms from the crash until every live member held it dead (None: not all did by the end).
    pub detection_ms: Vec<Option<u64>>,
    /// Times a live member was declared dead by someone.
    pub false_deaths: u64,
    /// Suspicions of live members (distinct member and incarnation; each was refuted).
    pub false_suspicions: u64,
    /// Datagrams sent per node per second (a broadcast counts once).
    pub sent_per_node_s: f64,
    /// Datagrams received per node per second (each copy of a broadcast counts).
    pub received_per_node_s: f64,
    pub rejected: u64,
    /// At the end: live nodes whose view differs from the set of live nodes
    /// (after the partition healed and churn settled).
    pub diverged_views: usize,
}

impl SimReport {
    /// Median and 99th percentile of the detection times (undetected crashes count as infinite).
    pub fn detection_percentiles(&self) -> (Option<u64>, Option<u64>) {
        let mut v: Vec<u64> = self.detection_ms.iter().map(|d| d.unwrap_or(u64::MAX)).collect();
        if v.is_empty() {
            return (None, None);
        }
        v.sort_unstable();
        let pick = |q: f64| {
            let i = ((v.len() as f64 - 1.0) * q + 0.5) as usize;
            Some(v[i.min(v.len() - 1)]).filter(|&x| x != u64::MAX)
        };
        (pick(0.5), pick(0.99))
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// (to slot, from address, datagram)
    Deliver(usize, Addr, Vec<u8>),
    Timer(usize),
    Crash,
    Restart(usize),
}

struct Slot {
    node: Node,
    up: bool,
    started: bool,
    /// Time of the queued timer event that is current.
    timer: u64,
}

struct Crash {
    id: NodeId,
    at: u64,
    /// Live slots (at crash time) that do not hold it dead yet.
    waiting: BTreeMap<usize, ()>,
    done: Option<u64>,
}

fn addr_of(slot: usize) -> Addr {
    Addr { ip: [10, 0, (slot >> 8) as u8, slot as u8], port: 7946 }
}

fn slot_of(a: Addr) -> usize {
    ((a.ip[2] as usize) << 8) | a.ip[3] as usize
}

const BROADCAST: Addr = Addr { ip: [10, 0, 255, 255], port: 7946 };

fn status(slot: usize) -> Status {
    Status {
        version: 0,
        cpu_load: 0,
        ncpus: 1,
        cpu_speed: 1000,
        free_mem_mib: 256,
        total_mem_mib: 256,
        net_mbps: 1000,
        jobs: 0,
        accepting: true,
        workstation: false,
        name: alloc::format!("n{slot}"),
    }
}

pub struct Sim {
    cfg: SimConfig,
    rng: Rng,
    key: Key,
    now: u64,
    queue: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    qseq: u64,
    slots: Vec<Slot>,
    /// Ids of nodes that are up, by slot.
    live_ids: BTreeMap<NodeId, usize>,
    partitioned: Vec<bool>,
    crashes: Vec<Crash>,
    report: SimReport,
    sent: u64,
    received: u64,
    suspected: BTreeMap<(NodeId, u32), ()>,
    generation: u64,
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Sim {
        assert!(cfg.nodes >= 2 && cfg.nodes < 0xff00);
        let mut rng = Rng::new(cfg.seed);
        let key = Key([7; 32]);
        let mut sim = Sim {
            rng: Rng::new(rng.next_u64()),
            key,
            now: EPOCH,
            queue: BinaryHeap::new(),
            qseq: 0,
            slots: Vec::new(),
            live_ids: BTreeMap::new(),
            partitioned: vec![false; cfg.nodes],
            crashes: Vec::new(),
            report: SimReport { nodes: cfg.nodes, ..Default::default() },
            sent: 0,
            received: 0,
            suspected: BTreeMap::new(),
            generation: 0,
            cfg,
        };
        for s in 0..sim.cfg.nodes {
            let start = if sim.cfg.preformed { EPOCH } else { EPOCH + sim.rng.below(sim.cfg.stagger + 1) };
            let node = sim.make_node(s, start);
            sim.slots.push(Slot { node, up: false, started: false, timer: u64::MAX });
            sim.push(start, Ev::Restart(s));
        }
        if sim.cfg.preformed {
            let ids: Vec<NodeId> = sim.slots.iter().map(|s| s.node.id()).collect();
            for s in 0..sim.cfg.nodes {
                for (t, id) in ids.iter().enumerate() {
                    sim.slots[s].node.add_member(*id, addr_of(t), status(t));
                }
                while sim.slots[s].node.poll_event().is_some() {}
            }
        }
        if sim.cfg.crashes > 0 {
            let span = sim.cfg.duration / 2;
            for i in 0..sim.cfg.crashes {
                let at = EPOCH + sim.cfg.duration / 4 + span * i as u64 / sim.cfg.crashes as u64;
                sim.push(at, Ev::Crash);
            }
        }
        for s in 0..sim.cfg.nodes {
            sim.partitioned[s] = sim.rng.chance(sim.cfg.partition_fraction);
        }
        sim
    }

    fn make_node(&mut self, slot: usize, now: u64) -> Node {
        self.generation += 1;
        let id = NodeId(self.rng.next_u64());
        let mut c = Config::new(id, addr_of(slot), BROADCAST, self.key.clone());
        c.probe_interval = self.cfg.probe_interval;
        c.probe_timeout = self.cfg.probe_interval * 2 / 5;
        if self.cfg.preformed && self.generation <= self.cfg.nodes as u64 {
            c.initial_announces = 0;
        }
        Node::new(c, status(slot), now, self.rng.next_u64())
    }

    fn push(&mut self, t: u64, e: Ev) {
        self.qseq += 1;
        self.queue.push(Reverse((t, self.qseq, e)));
    }

    fn reachable(&self, a: usize, b: usize) -> bool {
        match self.cfg.partition {
            Some((s, e)) if self.now >= EPOCH + s && self.now < EPOCH + e => self.partitioned[a] == self.partitioned[b],
            _ => true,
        }
    }

    /// Drains a node's output and events, and reschedules its timer.
    fn after(&mut self, s: usize) {
        while let Some(t) = self.slots[s].node.poll_transmit() {
            self.sent += 1;
            let targets: Vec<usize> = if t.broadcast { (0..self.slots.len()).filter(|&x| x != s).collect() } else { vec![slot_of(t.to)] };
            for d in targets {
                if d >= self.slots.len() || !self.reachable(s, d) || self.rng.chance(self.cfg.loss) {
                    continue;
                }
                let (lo, hi) = self.cfg.delay;
                let at = self.now + lo + self.rng.below(hi - lo + 1);
                self.push(at, Ev::Deliver(d, addr_of(s), t.data.clone()));
            }
        }
        while let Some(e) = self.slots[s].node.poll_event() {
            match e {
                Event::Down { id, state: State::Dead } => {
                    if self.live_ids.contains_key(&id) {
                        self.report.false_deaths += 1;
                    }
                    for c in self.crashes.iter_mut().filter(|c| c.id == id && c.done.is_none()) {
                        c.waiting.remove(&s);
                        if c.waiting.is_empty() {
                            c.done = Some(self.now - c.at);
                        }
                    }
                }
                Event::Suspect { id, incarnation } if self.live_ids.contains_key(&id) => {
                    self.suspected.insert((id, incarnation), ());
                }
                Event::Rejected { .. } => self.report.rejected += 1,
                _ => {}
            }
        }
        let d = self.slots[s].node.next_deadline().max(self.now);
        if d < self.slots[s].timer || self.slots[s].timer < self.now {
            self.slots[s].timer = d;
            self.push(d, Ev::Timer(s));
        }
    }

    fn crash_one(&mut self) {
        let up: Vec<usize> = (0..self.slots.len()).filter(|&s| self.slots[s].up).collect();
        if up.len() < 3 {
            return;
        }
        let victim = up[self.rng.below(up.len() as u64) as usize];
        let id = self.slots[victim].node.id();
        self.slots[victim].up = false;
        self.live_ids.remove(&id);
        // Every live node that knows the victim must come to hold it dead.
        let waiting: BTreeMap<usize, ()> = up
            .iter()
            .filter(|&&s| s != victim && self.slots[s].node.member(id).is_some_and(|m| !matches!(m.state, State::Dead | State::Left)))
            .map(|&s| (s, ()))
            .collect();
        // The victim no longer has to learn of earlier crashes.
        let now = self.now;
        for c in self.crashes.iter_mut().filter(|c| c.done.is_none()) {
            c.waiting.remove(&victim);
            if c.waiting.is_empty() {
                c.done = Some(now - c.at);
            }
        }
        self.crashes.push(Crash { id, at: self.now, done: if waiting.is_empty() { Some(0) } else { None }, waiting });
        if let Some(after) = self.cfg.restart_after {
            self.push(self.now + after, Ev::Restart(victim));
        }
    }

    /// Runs to the end and reports.
    pub fn run(mut self) -> SimReport {
        let end = EPOCH + self.cfg.duration;
        while let Some(Reverse((t, _, ev))) = self.queue.pop() {
            if t > end {
                break;
            }
            self.now = t;
            match ev {
                Ev::Deliver(d, from, data) => {
                    if self.slots[d].up && self.reachable(slot_of(from), d) {
                        self.received += 1;
                        self.slots[d].node.handle_datagram(t, from, &data);
                        self.after(d);
                    }
                }
                Ev::Timer(s) => {
                    if self.slots[s].up && self.slots[s].timer == t {
                        self.slots[s].timer = u64::MAX;
                        self.slots[s].node.tick(t);
                        self.after(s);
                    }
                }
                Ev::Crash => self.crash_one(),
                Ev::Restart(s) => {
                    if self.slots[s].up {
                        continue;
                    }
                    if self.slots[s].started {
                        // Back as a new member (a rebooted node picks a new id).
                        let n = self.make_node(s, t);
                        self.slots[s].node = n;
                    }
                    self.slots[s].started = true;
                    self.slots[s].up = true;
                    self.slots[s].timer = u64::MAX;
                    self.live_ids.insert(self.slots[s].node.id(), s);
                    self.after(s);
                }
            }
            if self.report.formed_ms.is_none() && self.live_ids.len() == self.cfg.nodes {
                let n = self.cfg.nodes - 1;
                if self.slots.iter().all(|s| s.node.live_members() >= n) {
                    self.report.formed_ms = Some(t - EPOCH);
                }
            }
        }
        let secs = self.cfg.duration as f64 / 1000.0;
        self.report.sent_per_node_s = self.sent as f64 / self.cfg.nodes as f64 / secs;
        self.report.received_per_node_s = self.received as f64 / self.cfg.nodes as f64 / secs;
        self.report.false_suspicions = self.suspected.len() as u64;
        self.report.detection_ms = self.crashes.iter().map(|c| c.done).collect();
        let live: Vec<NodeId> = self.live_ids.keys().copied().collect();
        self.report.diverged_views = self
            .slots
            .iter()
            .filter(|s| s.up)
            .filter(|s| {
                let mine: Vec<NodeId> =
                    s.node.members().filter(|m| !matches!(m.state, State::Dead | State::Left)).map(|m| m.id).collect();
                let expect: Vec<NodeId> = live.iter().copied().filter(|&i| i != s.node.id()).collect();
                if mine != expect && option_env!("SIM_DEBUG").is_some() {
                    let extra: Vec<_> = mine.iter().filter(|i| !expect.contains(i)).map(|i| (i, s.node.member(*i).map(|m| (m.state, m.since)))).collect();
                    let missing: Vec<_> = expect.iter().filter(|i| !mine.contains(i)).collect();
                    panic!("node {} extra {:?} missing {:?}", s.node.id(), extra, missing);
                }
                mine != expect
            })
            .count();
        self.report
    }
}
