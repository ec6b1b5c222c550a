//! One member's protocol state machine.
//!
//! Inputs: [`Node::handle_datagram`], [`Node::tick`] (when
//! [`Node::next_deadline`] is reached), [`Node::set_status`], [`Node::place`],
//! [`Node::leave`]. Outputs: [`Node::poll_transmit`] and [`Node::poll_event`].
//! Time is the host's clock in ms since the Unix epoch (the simulator's
//! virtual clock in tests); it also stamps datagrams for replay protection.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use crate::replay::{Replay, Stale};
use crate::rng::Rng;
use crate::status::{admit, rank, Admission, JobNeed, Refusal, Status, Weights};
use crate::wire::{self, Body, DecodeError, Header, Key, Update, HEADER_LEN, MAX_DATAGRAM, TAG_LEN};
use crate::{Addr, NodeId};

/// Protocol parameters. Times in ms.
#[derive(Clone, Debug)]
pub struct Config {
    pub id: NodeId,
    /// Where this member receives datagrams (and job connections, on the same port over TCP).
    pub addr: Addr,
    /// The LAN's broadcast address and the group's port.
    pub broadcast: Addr,
    pub key: Key,
    /// One probe per period.
    pub probe_interval: u64,
    /// No ack by then: ask `indirect_probes` members to probe.
    pub probe_timeout: u64,
    pub indirect_probes: usize,
    /// A suspect that does not refute within this is declared dead (by the member that suspected it).
    pub suspicion_timeout: u64,
    /// Announces at start (one per probe period); then, every `announce_interval`, with probability min(1, 10 / members).
    pub initial_announces: u32,
    pub announce_interval: u64,
    /// Anti-entropy: every `push_interval` x max(1, members / 100), the full
    /// view goes to one random member (repairs views that missed an announce).
    pub push_interval: u64,
    /// Datagrams whose timestamp is further than this from our clock are refused.
    pub max_skew: u64,
    /// Each update is piggybacked `retransmit_mult * ceil(log10(members + 1))` times.
    pub retransmit_mult: u32,
    pub max_piggyback: usize,
    /// Allocation requests are answered within this or count as "no answer".
    pub alloc_timeout: u64,
    /// How long an accepted allocation request holds a job slot.
    pub reservation: u64,
    /// How many members (besides the local node) a placement asks.
    pub candidates: usize,
    pub admission: Admission,
    /// Dead and departed members are forgotten after this.
    pub tombstone_ttl: u64,
}

impl Config {
    pub fn new(id: NodeId, addr: Addr, broadcast: Addr, key: Key) -> Config {
        Config {
            id,
            addr,
            broadcast,
            key,
            probe_interval: 1000,
            probe_timeout: 400,
            indirect_probes: 3,
            suspicion_timeout: 2000,
            initial_announces: 3,
            announce_interval: 30_000,
            push_interval: 30_000,
            max_skew: 120_000,
            retransmit_mult: 3,
            max_piggyback: 8,
            alloc_timeout: 600,
            reservation: 2_000,
            candidates: 4,
            admission: Admission::default(),
            tombstone_ttl: 120_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Alive,
    Suspect,
    Dead,
    Left,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Alive => "alive",
            State::Suspect => "suspect",
            State::Dead => "dead",
            State::Left => "left",
        }
    }

    fn gone(self) -> bool {
        matches!(self, State::Dead | State::Left)
    }
}

/// What this node knows about another member.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: NodeId,
    pub addr: Addr,
    pub state: State,
    pub incarnation: u32,
    pub status: Status,
    /// When the state last changed.
    pub since: u64,
    /// Last datagram received from it.
    pub last_heard: u64,
    /// Last time we told it that it was declared dead.
    told: u64,
}

/// A datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub to: Addr,
    pub broadcast: bool,
    pub data: Vec<u8>,
}

/// What a placement is for.
#[derive(Clone, Debug, Default)]
pub struct PlaceRequest {
    pub weights: Weights,
    pub need: JobNeed,
    /// Only this node (the user's `--node`).
    pub node: Option<NodeId>,
    /// Never these (e.g. a node that failed the previous attempt).
    pub exclude: Vec<NodeId>,
    /// The local node is a candidate (unless excluded).
    pub include_local: bool,
}

/// The outcome of a placement.
#[derive(Clone, Debug)]
pub struct Placement {
    pub node: NodeId,
    pub addr: Addr,
    /// Accepting candidates, best first, with their scores.
    pub ranking: Vec<(NodeId, f32)>,
    /// Candidates that refused (or did not answer).
    pub refusals: Vec<(NodeId, Refusal)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PlaceError {
    /// The view has no candidate at all (or the `--node` is unknown).
    NoCandidates,
    /// Every candidate refused.
    AllRefused(Vec<(NodeId, Refusal)>),
}

/// Something the host may want to know or log.
#[derive(Clone, Debug)]
pub enum Event {
    /// A member joined, or came back with a higher incarnation.
    Up { id: NodeId, addr: Addr },
    Suspect { id: NodeId, incarnation: u32 },
    /// Dead (failed) or Left (graceful).
    Down { id: NodeId, state: State },
    /// Someone suspected or declared us dead; we refuted with a new incarnation.
    Refuted { incarnation: u32 },
    Placed { req: u32, result: Result<Placement, PlaceError> },
    /// An allocation request from `from` and our verdict (None = accepted).
    AllocRequested { from: NodeId, verdict: Option<Refusal> },
    /// A datagram was refused.
    Rejected { from: Addr, reason: Rejection },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Bad HMAC: the sender does not hold the group key.
    Unauthenticated,
    /// Another protocol version.
    Version(u8),
    Malformed,
    Stale(Stale),
}

impl Rejection {
    pub fn describe(self) -> &'static str {
        match self {
            Rejection::Unauthenticated => "authentication failed (not the group key)",
            Rejection::Version(_) => "unsupported protocol version",
            Rejection::Malformed => "malformed datagram",
            Rejection::Stale(Stale::Clock) => "timestamp outside the allowed clock skew",
            Rejection::Stale(Stale::Replay) => "replayed datagram",
        }
    }
}

/// Counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub sent: u64,
    pub broadcasts: u64,
    pub received: u64,
    pub rejected: u64,
}

struct Probe {
    target: NodeId,
    probe: u32,
    start: u64,
    indirect_sent: bool,
    acked: bool,
}

struct Relay {
    probe: u32,
    requester: Addr,
    requester_probe: u32,
    target: NodeId,
    expires: u64,
}

struct Suspicion {
    deadline: u64,
    next_ping: u64,
}

struct Gossip {
    update: Update,
    transmits: u32,
}

struct Pending {
    req: u32,
    weights: Weights,
    need: JobNeed,
    asked: Vec<(NodeId, Addr)>,
    answers: BTreeMap<NodeId, Result<Status, Refusal>>,
    deadline: u64,
    resent: bool,
}

pub struct Node {
    cfg: Config,
    now: u64,
    incarnation: u32,
    status: Status,
    last_status_gossip: u64,
    seq: u64,
    members: BTreeMap<NodeId, Member>,
    order: Vec<NodeId>,
    order_pos: usize,
    probe: Option<Probe>,
    next_probe: u64,
    next_probe_id: u32,
    relays: Vec<Relay>,
    suspicions: BTreeMap<NodeId, Suspicion>,
    /// Probe ids of pings sent to members we suspect.
    suspect_pings: BTreeMap<u32, NodeId>,
    gossip: Vec<Gossip>,
    /// Death notices to broadcast again at the given time.
    repeat: Vec<(u64, Update)>,
    replay: Replay,
    next_announce: u64,
    announces_left: u32,
    next_gc: u64,
    next_push: u64,
    pending: Vec<Pending>,
    next_req: u32,
    /// Job slots held for accepted allocation requests: (requester, request, expiry).
    reserved: Vec<(NodeId, u32, u64)>,
    out: VecDeque<Transmit>,
    events: VecDeque<Event>,
    rng: Rng,
    stats: Stats,
    left: bool,
    /// Members that sent us their view (a Sync of several members), up to 3.
    welcomed_by: Vec<NodeId>,
}

fn ceil_log10(mut n: usize) -> u32 {
    let mut d = 0;
    while n > 0 {
        d += 1;
        n /= 10;
    }
    d.max(1)
}

impl Node {
    pub fn new(cfg: Config, status: Status, now: u64, seed: u64) -> Node {
        let mut rng = Rng::new(seed);
        let first_probe = now + rng.below(cfg.probe_interval.max(1));
        let announces_left = cfg.initial_announces;
        Node {
            now,
            incarnation: 0,
            status,
            last_status_gossip: now,
            seq: 0,
            members: BTreeMap::new(),
            order: Vec::new(),
            order_pos: 0,
            probe: None,
            next_probe: first_probe,
            next_probe_id: 1,
            relays: Vec::new(),
            suspicions: BTreeMap::new(),
            suspect_pings: BTreeMap::new(),
            gossip: Vec::new(),
            repeat: Vec::new(),
            replay: Replay::default(),
            next_announce: if announces_left > 0 { now } else { now + cfg.announce_interval },
            announces_left,
            next_gc: now + 10_000,
            next_push: now + cfg.push_interval,
            pending: Vec::new(),
            next_req: 1,
            reserved: Vec::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            rng,
            stats: Stats::default(),
            left: false,
            welcomed_by: Vec::new(),
            cfg,
        }
    }

    pub fn id(&self) -> NodeId {
        self.cfg.id
    }
    pub fn addr(&self) -> Addr {
        self.cfg.addr
    }
    pub fn config(&self) -> &Config {
        &self.cfg
    }
    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }
    pub fn status(&self) -> &Status {
        &self.status
    }
    pub fn stats(&self) -> Stats {
        self.stats
    }
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }
    pub fn member(&self, id: NodeId) -> Option<&Member> {
        self.members.get(&id)
    }
    /// Members currently alive or suspect (not counting this node).
    pub fn live_members(&self) -> usize {
        self.members.values().filter(|m| !m.state.gone()).count()
    }
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Adds a member known from elsewhere (a seed list; the simulator's pre-formed groups).
    pub fn add_member(&mut self, id: NodeId, addr: Addr, status: Status) {
        if id != self.cfg.id && !self.members.contains_key(&id) {
            self.insert_member(Member { id, addr, state: State::Alive, incarnation: 0, status, since: self.now, last_heard: self.now, told: 0 });
        }
    }

    /// When [`Node::tick`] must next be called.
    pub fn next_deadline(&self) -> u64 {
        let mut d = self.next_probe.min(self.next_gc).min(self.next_push);
        if let Some(p) = &self.probe {
            if !p.acked && !p.indirect_sent {
                d = d.min(p.start + self.cfg.probe_timeout);
            }
        }
        if self.announces_left > 0 || self.cfg.announce_interval > 0 {
            d = d.min(self.next_announce);
        }
        for s in self.suspicions.values() {
            d = d.min(s.deadline).min(s.next_ping);
        }
        for (t, _) in &self.repeat {
            d = d.min(*t);
        }
        for p in &self.pending {
            d = d.min(p.deadline);
            if !p.resent {
                d = d.min(p.deadline - self.cfg.alloc_timeout / 2);
            }
        }
        d
    }

    /// Sets this node's status vector (the version is managed here).
    pub fn set_status(&mut self, mut s: Status) {
        s.version = self.status.version;
        if s == self.status {
            return;
        }
        let o = &self.status;
        let big = s.accepting != o.accepting
            || s.jobs != o.jobs
            || s.cpu_load.abs_diff(o.cpu_load) > 100
            || s.free_mem_mib.abs_diff(o.free_mem_mib) > o.free_mem_mib / 10;
        s.version = self.status.version.wrapping_add(1);
        self.status = s;
        if big && self.now.saturating_sub(self.last_status_gossip) >= 2 * self.cfg.probe_interval {
            self.last_status_gossip = self.now;
            let me = self.me();
            self.enqueue(me);
        }
    }

    /// A job placed here has started (its slot now counts in the status's `jobs`).
    pub fn job_started(&mut self) {
        if !self.reserved.is_empty() {
            self.reserved.remove(0);
        }
    }

    /// Leaves the group gracefully: a Left notice is broadcast. The host
    /// sends what is queued and stops.
    pub fn leave(&mut self, now: u64) {
        self.now = now;
        self.left = true;
        let u = Update::Left { id: self.cfg.id, incarnation: self.incarnation };
        self.broadcast(Body::Sync { updates: alloc::vec![u] });
    }

    /// This node's own Alive update.
    fn me(&self) -> Update {
        Update::Alive { id: self.cfg.id, incarnation: self.incarnation, addr: self.cfg.addr, status: self.status.clone() }
    }

    fn send(&mut self, to: Addr, body: Body) {
        self.emit(to, false, body)
    }

    fn broadcast(&mut self, body: Body) {
        self.emit(self.cfg.broadcast, true, body)
    }

    fn emit(&mut self, to: Addr, broadcast: bool, body: Body) {
        self.seq += 1;
        let h = Header { kind: body.kind(), sender: self.cfg.id, incarnation: self.incarnation, seq: self.seq, timestamp: self.now };
        let data = wire::seal(&self.cfg.key, &h, &body);
        self.stats.sent += 1;
        if broadcast {
            self.stats.broadcasts += 1;
        }
        self.out.push_back(Transmit { to, broadcast, data });
    }

    // ---- gossip -------------------------------------------------------

    fn enqueue(&mut self, u: Update) {
        let id = u.id();
        self.gossip.retain(|g| g.update.id() != id);
        self.gossip.push(Gossip { update: u, transmits: 0 });
    }

    /// Updates to piggyback on a datagram with `used` bytes of body already.
    fn piggyback(&mut self, used: usize) -> Vec<Update> {
        if self.gossip.is_empty() {
            return Vec::new();
        }
        let limit = self.cfg.retransmit_mult * ceil_log10(self.members.len() + 1);
        self.gossip.sort_by_key(|g| g.transmits);
        let mut budget = MAX_DATAGRAM - HEADER_LEN - TAG_LEN - used - 1;
        let mut v = Vec::new();
        for g in self.gossip.iter_mut() {
            if v.len() >= self.cfg.max_piggyback {
                break;
            }
            let len = wire::update_len(&g.update);
            if len > budget {
                continue;
            }
            budget -= len;
            g.transmits += 1;
            v.push(g.update.clone());
        }
        self.gossip.retain(|g| g.transmits < limit);
        v
    }

    // ---- membership ---------------------------------------------------

    fn insert_member(&mut self, m: Member) {
        let id = m.id;
        let addr = m.addr;
        self.members.insert(id, m);
        // A new member goes to a random place of the probe order.
        let pos = self.rng.below(self.order.len() as u64 + 1) as usize;
        self.order.insert(pos, id);
        if pos < self.order_pos {
            self.order_pos += 1;
        }
        self.events.push_back(Event::Up { id, addr });
    }

    fn set_state(&mut self, id: NodeId, state: State, incarnation: u32) {
        let now = self.now;
        let Some(m) = self.members.get_mut(&id) else { return };
        let was = m.state;
        m.state = state;
        m.incarnation = incarnation;
        if was != state {
            m.since = now;
            match state {
                State::Alive => self.events.push_back(Event::Up { id, addr: m.addr }),
                State::Suspect => self.events.push_back(Event::Suspect { id, incarnation }),
                State::Dead | State::Left => self.events.push_back(Event::Down { id, state }),
            }
        }
        if state != State::Suspect {
            self.suspicions.remove(&id);
        }
    }

    /// Someone says we are suspect or dead: refute with a higher incarnation.
    fn refute(&mut self, inc: u32, teller: Option<Addr>, loudly: bool) {
        if inc < self.incarnation || self.left {
            return;
        }
        self.incarnation = inc + 1;
        self.events.push_back(Event::Refuted { incarnation: self.incarnation });
        let me = self.me();
        self.enqueue(me.clone());
        if loudly {
            self.broadcast(Body::Announce { me, want_view: false });
        } else if let Some(a) = teller {
            self.send(a, Body::Sync { updates: alloc::vec![me] });
        }
    }

    /// Applies a gossiped fact; returns whether it was news (then it is gossiped on).
    fn apply(&mut self, u: Update, teller: Option<Addr>) -> bool {
        let id = u.id();
        if id == self.cfg.id {
            match u {
                Update::Suspect { incarnation, .. } => self.refute(incarnation, teller, false),
                Update::Dead { incarnation, .. } => self.refute(incarnation, teller, true),
                _ => {}
            }
            return false;
        }
        let news = match (&u, self.members.get(&id)) {
            (Update::Alive { incarnation, addr, status, .. }, None) => {
                let m = Member { id, addr: *addr, state: State::Alive, incarnation: *incarnation, status: status.clone(), since: self.now, last_heard: 0, told: 0 };
                self.insert_member(m);
                true
            }
            (_, None) => false, // news of an unknown member's trouble: nothing to do
            (Update::Alive { incarnation, addr, .. }, Some(m)) if m.state == State::Dead && *incarnation <= m.incarnation => {
                // Someone still believes in a member we hold dead (a healed
                // partition): tell the member, it refutes if it lives.
                if self.now.saturating_sub(m.told) >= self.cfg.probe_interval {
                    let (addr, u) = (*addr, Update::Dead { id, incarnation: m.incarnation });
                    self.members.get_mut(&id).unwrap().told = self.now;
                    self.send(addr, Body::Sync { updates: alloc::vec![u] });
                }
                false
            }
            (Update::Alive { incarnation, addr, status, .. }, Some(m)) => {
                let newer = *incarnation > m.incarnation
                    || (*incarnation == m.incarnation && m.state == State::Alive && status.version > m.status.version);
                if newer {
                    let (inc, addr, status) = (*incarnation, *addr, status.clone());
                    let m = self.members.get_mut(&id).unwrap();
                    m.addr = addr;
                    m.status = status;
                    self.set_state(id, State::Alive, inc);
                }
                newer
            }
            (Update::Suspect { incarnation, .. }, Some(m)) => {
                let newer = match m.state {
                    State::Alive => *incarnation >= m.incarnation,
                    State::Suspect => *incarnation > m.incarnation,
                    _ => false,
                };
                if newer {
                    self.set_state(id, State::Suspect, *incarnation);
                }
                newer
            }
            (Update::Dead { incarnation, .. } | Update::Left { incarnation, .. }, Some(m)) => {
                let newer = !m.state.gone() && *incarnation >= m.incarnation;
                if newer {
                    let st = if matches!(u, Update::Dead { .. }) { State::Dead } else { State::Left };
                    self.set_state(id, st, *incarnation);
                }
                newer
            }
        };
        if news {
            self.enqueue(u);
        }
        news
    }

    /// A datagram came straight from `id` (header incarnation, source
    /// address, its status if the message carries one).
    fn heard_from(&mut self, id: NodeId, inc: u32, from: Addr, status: Option<&Status>) {
        let now = self.now;
        match self.members.get_mut(&id) {
            Some(m) => {
                m.last_heard = now;
                if m.state.gone() && inc <= m.incarnation {
                    // It does not know it was declared dead: tell it, it will refute.
                    if m.state == State::Dead && now.saturating_sub(m.told) >= self.cfg.probe_interval {
                        m.told = now;
                        let u = Update::Dead { id, incarnation: m.incarnation };
                        self.send(from, Body::Sync { updates: alloc::vec![u] });
                    }
                    return;
                }
                if let Some(s) = status {
                    if inc > m.incarnation || (inc == m.incarnation && m.state != State::Suspect && s.version > m.status.version) {
                        self.apply(Update::Alive { id, incarnation: inc, addr: from, status: s.clone() }, Some(from));
                    }
                }
            }
            None => {
                if let Some(s) = status {
                    self.apply(Update::Alive { id, incarnation: inc, addr: from, status: s.clone() }, Some(from));
                }
            }
        }
    }

    // ---- input --------------------------------------------------------

    /// A datagram from `from`.
    pub fn handle_datagram(&mut self, now: u64, from: Addr, data: &[u8]) {
        self.now = now;
        if self.left {
            return;
        }
        let (h, body) = match wire::open(&self.cfg.key, data) {
            Ok(x) => x,
            Err(e) => {
                let reason = match e {
                    DecodeError::BadTag => Rejection::Unauthenticated,
                    DecodeError::Version(v) => Rejection::Version(v),
                    _ => Rejection::Malformed,
                };
                return self.reject(from, reason);
            }
        };
        if h.sender == self.cfg.id {
            return; // our own broadcast
        }
        if let Err(s) = self.replay.check(h.sender, h.seq, h.timestamp, now, self.cfg.max_skew) {
            return self.reject(from, Rejection::Stale(s));
        }
        self.stats.received += 1;
        match body {
            Body::Announce { me, want_view } => {
                // A newcomer (unknown, or still without a view) gets views
                // from about three members per announce.
                let known = !want_view && self.members.get(&h.sender).is_some_and(|m| !m.state.gone());
                if me.id() != h.sender {
                    return self.reject(from, Rejection::Malformed);
                }
                self.heard_from(h.sender, h.incarnation, from, None);
                self.apply(me, Some(from));
                if !known {
                    // About three members answer with their view.
                    let n = self.live_members().max(1) as f64;
                    if self.rng.chance(3.0 / n) {
                        self.welcome(from);
                    }
                }
            }
            Body::Sync { updates } => {
                self.heard_from(h.sender, h.incarnation, from, None);
                if updates.len() > 1 && self.welcomed_by.len() < 3 && !self.welcomed_by.contains(&h.sender) {
                    self.welcomed_by.push(h.sender);
                }
                for u in updates {
                    self.apply(u, Some(from));
                }
            }
            Body::Ping { probe, target, status, updates } => {
                self.heard_from(h.sender, h.incarnation, from, Some(&status));
                for u in updates {
                    self.apply(u, Some(from));
                }
                if target == self.cfg.id {
                    let mut body = Body::Ack { probe, target, status: self.status.clone(), updates: Vec::new() };
                    let used = body_len(&body);
                    if let Body::Ack { updates, .. } = &mut body {
                        *updates = self.piggyback(used);
                    }
                    self.send(from, body);
                }
            }
            Body::Ack { probe, target, status, updates } => {
                if target == h.sender {
                    self.heard_from(h.sender, h.incarnation, from, Some(&status));
                }
                for u in updates {
                    self.apply(u, Some(from));
                }
                self.on_ack(probe, target, status);
            }
            Body::PingReq { probe, target, addr, updates } => {
                self.heard_from(h.sender, h.incarnation, from, None);
                for u in updates {
                    self.apply(u, Some(from));
                }
                let my = self.next_probe_id();
                self.relays.push(Relay { probe: my, requester: from, requester_probe: probe, target, expires: now + self.cfg.probe_interval });
                self.ping(addr, target, my);
            }
            Body::AllocRequest { req, need } => {
                self.heard_from(h.sender, h.incarnation, from, None);
                self.reserved.retain(|r| r.2 > now);
                let verdict = admit(&self.cfg.admission, &self.status, self.reserved.len() as u16, &need);
                if verdict.is_ok() && !self.reserved.iter().any(|r| r.0 == h.sender && r.1 == req) {
                    // Held for the job's arrival (or until the requester chose another node).
                    self.reserved.push((h.sender, req, now + self.cfg.reservation));
                }
                self.events.push_back(Event::AllocRequested { from: h.sender, verdict: verdict.err() });
                let code = match verdict {
                    Ok(()) => 0,
                    Err(r) => r as u8,
                };
                let status = self.status.clone();
                self.send(from, Body::AllocReply { req, verdict: code, status });
            }
            Body::AllocRelease { req } => {
                self.reserved.retain(|r| !(r.0 == h.sender && r.1 == req));
            }
            Body::AllocReply { req, verdict, status } => {
                self.heard_from(h.sender, h.incarnation, from, Some(&status));
                if let Some(p) = self.pending.iter_mut().find(|p| p.req == req) {
                    if p.asked.iter().any(|(id, _)| *id == h.sender) {
                        let a = if verdict == 0 { Ok(status) } else { Err(Refusal::from_code(verdict)) };
                        p.answers.insert(h.sender, a);
                    }
                }
                self.finish_placements(false);
            }
        }
    }

    fn reject(&mut self, from: Addr, reason: Rejection) {
        self.stats.rejected += 1;
        self.events.push_back(Event::Rejected { from, reason });
    }

    fn next_probe_id(&mut self) -> u32 {
        self.next_probe_id = self.next_probe_id.wrapping_add(1).max(1);
        self.next_probe_id
    }

    fn ping(&mut self, addr: Addr, target: NodeId, probe: u32) {
        let mut body = Body::Ping { probe, target, status: self.status.clone(), updates: Vec::new() };
        let used = body_len(&body);
        if let Body::Ping { updates, .. } = &mut body {
            *updates = self.piggyback(used);
        }
        self.send(addr, body);
    }

    fn on_ack(&mut self, probe: u32, target: NodeId, status: Status) {
        if let Some(p) = &mut self.probe {
            if p.probe == probe && p.target == target {
                p.acked = true;
                return;
            }
        }
        if let Some(i) = self.relays.iter().position(|r| r.probe == probe && r.target == target) {
            let r = self.relays.swap_remove(i);
            let mut body = Body::Ack { probe: r.requester_probe, target, status, updates: Vec::new() };
            let used = body_len(&body);
            if let Body::Ack { updates, .. } = &mut body {
                *updates = self.piggyback(used);
            }
            self.send(r.requester, body);
            return;
        }
        if self.suspect_pings.get(&probe) == Some(&target) {
            self.suspect_pings.remove(&probe);
            // It answers: our suspicion was wrong. Stop the clock and make sure it refutes.
            if self.suspicions.remove(&target).is_some() {
                if let Some(m) = self.members.get(&target) {
                    let (addr, inc) = (m.addr, m.incarnation);
                    self.send(addr, Body::Sync { updates: alloc::vec![Update::Suspect { id: target, incarnation: inc }] });
                }
            }
        }
    }

    /// A full view for a newcomer, in as many datagrams as it takes (at most 64).
    fn welcome(&mut self, to: Addr) {
        let mut all: Vec<Update> = alloc::vec![self.me()];
        all.extend(self.members.values().filter(|m| !m.state.gone()).map(|m| Update::Alive {
            id: m.id,
            incarnation: m.incarnation,
            addr: m.addr,
            status: m.status.clone(),
        }));
        let room = MAX_DATAGRAM - HEADER_LEN - TAG_LEN - 1;
        let mut batch = Vec::new();
        let mut used = 0;
        let mut sent = 0;
        for u in all {
            let len = wire::update_len(&u);
            if used + len > room || batch.len() == 255 {
                self.send(to, Body::Sync { updates: core::mem::take(&mut batch) });
                used = 0;
                sent += 1;
                if sent == 64 {
                    return;
                }
            }
            used += len;
            batch.push(u);
        }
        if !batch.is_empty() {
            self.send(to, Body::Sync { updates: batch });
        }
    }

    // ---- time ---------------------------------------------------------

    /// Time passes: probes, suspicions, announces, placements.
    pub fn tick(&mut self, now: u64) {
        self.now = now;
        if self.left {
            return;
        }
        // Indirect probes for an unanswered ping.
        let mut indirect = None;
        if let Some(p) = &mut self.probe {
            if !p.acked && !p.indirect_sent && now >= p.start + self.cfg.probe_timeout {
                p.indirect_sent = true;
                indirect = Some((p.target, p.probe));
            }
        }
        if let Some((target, probe)) = indirect {
            self.send_indirect(target, probe);
        }
        // End of the period: suspect an unanswered target, start the next probe.
        if now >= self.next_probe {
            if let Some(p) = self.probe.take() {
                if !p.acked {
                    self.suspect(p.target);
                }
            }
            self.start_probe();
            self.next_probe += self.cfg.probe_interval;
            if self.next_probe <= now {
                self.next_probe = now + self.cfg.probe_interval;
            }
        }
        self.check_suspicions();
        while let Some(i) = self.repeat.iter().position(|(t, _)| *t <= now) {
            let (_, u) = self.repeat.swap_remove(i);
            self.broadcast(Body::Sync { updates: alloc::vec![u] });
        }
        self.relays.retain(|r| r.expires > now);
        // Announces.
        if now >= self.next_announce && (self.announces_left > 0 || self.cfg.announce_interval > 0) {
            // After the first few, about ten members of the group announce per interval
            // (this heals partitions and finds members whose first announces were lost).
            let n = self.live_members().max(1) as f64;
            if self.announces_left > 0 || self.rng.chance(10.0 / n) {
                let me = self.me();
                // Views from three members: one lost datagram of one view does not leave a hole.
                let want_view = self.welcomed_by.len() < 3;
                self.broadcast(Body::Announce { me, want_view });
            }
            if self.announces_left > 0 {
                self.announces_left -= 1;
            }
            let base = if self.announces_left > 0 { self.cfg.probe_interval } else { self.cfg.announce_interval };
            // Jitter of +-25% keeps a group that booted together from announcing together.
            self.next_announce = now + base * 3 / 4 + self.rng.below(base / 2 + 1);
        }
        self.finish_placements(true);
        if now >= self.next_push {
            let live: Vec<Addr> = self.members.values().filter(|m| m.state == State::Alive).map(|m| m.addr).collect();
            // In a group of n > 100, one push per interval in n / 100.
            if !live.is_empty() && self.rng.chance(100.0 / (live.len().max(100) as f64)) {
                let to = live[self.rng.below(live.len() as u64) as usize];
                self.welcome(to);
            }
            let base = self.cfg.push_interval;
            self.next_push = now + base * 3 / 4 + self.rng.below(base / 2 + 1);
        }
        if now >= self.next_gc {
            self.next_gc = now + 10_000;
            self.replay.expire(now, self.cfg.max_skew);
            let ttl = self.cfg.tombstone_ttl;
            let gone: Vec<NodeId> =
                self.members.values().filter(|m| m.state.gone() && now.saturating_sub(m.since) > ttl).map(|m| m.id).collect();
            for id in gone {
                self.members.remove(&id);
            }
        }
    }

    fn start_probe(&mut self) {
        // Next live member in a random order; reshuffled after each round.
        let mut tries = 0;
        while tries <= self.order.len() {
            if self.order_pos >= self.order.len() {
                self.order.retain(|id| self_members_live(&self.members, id));
                let mut o = core::mem::take(&mut self.order);
                self.rng.shuffle(&mut o);
                self.order = o;
                self.order_pos = 0;
                if self.order.is_empty() {
                    return;
                }
            }
            let id = self.order[self.order_pos];
            self.order_pos += 1;
            tries += 1;
            if let Some(m) = self.members.get(&id) {
                if !m.state.gone() {
                    let (addr, probe) = (m.addr, self.next_probe_id());
                    self.probe = Some(Probe { target: id, probe, start: self.now, indirect_sent: false, acked: false });
                    self.ping(addr, id, probe);
                    return;
                }
            }
        }
    }

    fn send_indirect(&mut self, target: NodeId, probe: u32) {
        let Some(addr) = self.members.get(&target).map(|m| m.addr) else { return };
        let mut helpers: Vec<(NodeId, Addr)> =
            self.members.values().filter(|m| m.id != target && m.state == State::Alive).map(|m| (m.id, m.addr)).collect();
        // k random helpers (partial Fisher-Yates).
        let k = self.cfg.indirect_probes.min(helpers.len());
        for i in 0..k {
            let j = i + self.rng.below((helpers.len() - i) as u64) as usize;
            helpers.swap(i, j);
        }
        for &(_, h) in &helpers[..k] {
            let mut body = Body::PingReq { probe, target, addr, updates: Vec::new() };
            let used = body_len(&body);
            if let Body::PingReq { updates, .. } = &mut body {
                *updates = self.piggyback(used);
            }
            self.send(h, body);
        }
    }

    fn suspect(&mut self, id: NodeId) {
        let Some(m) = self.members.get(&id) else { return };
        if m.state.gone() {
            return;
        }
        let (inc, addr) = (m.incarnation, m.addr);
        if m.state == State::Alive {
            self.set_state(id, State::Suspect, inc);
            self.enqueue(Update::Suspect { id, incarnation: inc });
        }
        if !self.suspicions.contains_key(&id) {
            let now = self.now;
            self.suspicions.insert(id, Suspicion { deadline: now + self.cfg.suspicion_timeout, next_ping: now + self.cfg.probe_interval / 2 });
            // Tell the suspect at once so that it can refute.
            self.send(addr, Body::Sync { updates: alloc::vec![Update::Suspect { id, incarnation: inc }] });
        }
    }

    fn check_suspicions(&mut self) {
        let now = self.now;
        let due: Vec<(NodeId, bool)> = self
            .suspicions
            .iter()
            .filter(|(_, s)| now >= s.deadline || now >= s.next_ping)
            .map(|(id, s)| (*id, now >= s.deadline))
            .collect();
        for (id, dead) in due {
            let Some(m) = self.members.get(&id) else {
                self.suspicions.remove(&id);
                continue;
            };
            let (inc, addr, state) = (m.incarnation, m.addr, m.state);
            if state != State::Suspect {
                self.suspicions.remove(&id);
                continue;
            }
            if dead {
                self.suspicions.remove(&id);
                self.suspect_pings.retain(|_, t| *t != id);
                self.set_state(id, State::Dead, inc);
                let u = Update::Dead { id, incarnation: inc };
                self.enqueue(u.clone());
                // Death notices go to the whole LAN at once (twice: a lost
                // copy would leave its receiver to wait for gossip), and by gossip.
                self.broadcast(Body::Sync { updates: alloc::vec![u.clone()] });
                self.repeat.push((now + self.cfg.probe_interval / 4, u));
            } else {
                let interval = self.cfg.probe_interval / 2;
                if let Some(s) = self.suspicions.get_mut(&id) {
                    s.next_ping = now + interval;
                }
                let probe = self.next_probe_id();
                self.suspect_pings.retain(|_, t| *t != id);
                self.suspect_pings.insert(probe, id);
                self.ping(addr, id, probe);
                // Keep the notice coming too, in case the last one was lost.
                self.send(addr, Body::Sync { updates: alloc::vec![Update::Suspect { id, incarnation: inc }] });
            }
        }
    }

    // ---- placement ----------------------------------------------------

    /// Starts a placement; its result comes as [`Event::Placed`] with the returned id.
    pub fn place(&mut self, now: u64, r: PlaceRequest) -> u32 {
        self.now = now;
        let req = self.next_req;
        self.next_req = self.next_req.wrapping_add(1).max(1);
        let local = self.cfg.id;
        let allowed = |id: NodeId| !r.exclude.contains(&id) && r.node.is_none_or(|n| n == id);
        // Candidates from the view: alive, accepting, best by their last known
        // status, plus one at random so a stale view does not starve a node.
        let mut view: Vec<(NodeId, Status)> = self
            .members
            .values()
            // A member named by the request is asked while merely suspected:
            // it may be alive (a busy node), and its answer will tell.
            .filter(|m| (m.state == State::Alive || (m.state == State::Suspect && r.node == Some(m.id))) && m.status.accepting && allowed(m.id))
            .map(|m| (m.id, m.status.clone()))
            .collect();
        let ranked = rank(&view, local, &r.weights);
        let mut chosen: Vec<NodeId> = ranked.iter().take(self.cfg.candidates.saturating_sub(1).max(1)).map(|(id, _)| *id).collect();
        view.retain(|(id, _)| !chosen.contains(id));
        if !view.is_empty() && chosen.len() < self.cfg.candidates {
            let i = self.rng.below(view.len() as u64) as usize;
            chosen.push(view[i].0);
        }
        let mut p = Pending {
            req,
            weights: r.weights,
            need: r.need,
            asked: Vec::new(),
            answers: BTreeMap::new(),
            deadline: now + self.cfg.alloc_timeout,
            resent: false,
        };
        if r.include_local && allowed(local) {
            self.reserved.retain(|r| r.2 > now);
            let v = admit(&self.cfg.admission, &self.status, self.reserved.len() as u16, &r.need);
            if v.is_ok() {
                self.reserved.push((local, req, now + self.cfg.reservation));
            }
            p.asked.push((local, self.cfg.addr));
            p.answers.insert(local, v.map(|_| self.status.clone()));
        }
        for id in chosen {
            let addr = self.members[&id].addr;
            p.asked.push((id, addr));
            self.send(addr, Body::AllocRequest { req, need: r.need });
        }
        self.pending.push(p);
        self.finish_placements(false);
        req
    }

    fn finish_placements(&mut self, timers: bool) {
        let now = self.now;
        let mut i = 0;
        while i < self.pending.len() {
            let p = &mut self.pending[i];
            let complete = p.answers.len() == p.asked.len();
            if !complete && now < p.deadline {
                if timers && !p.resent && now >= p.deadline - self.cfg.alloc_timeout / 2 {
                    // Resend to those that have not answered (a lost request or reply).
                    p.resent = true;
                    let (req, need) = (p.req, p.need);
                    let missing: Vec<Addr> = p.asked.iter().filter(|(id, _)| !p.answers.contains_key(id)).map(|(_, a)| *a).collect();
                    for a in missing {
                        self.send(a, Body::AllocRequest { req, need });
                    }
                }
                i += 1;
                continue;
            }
            let p = self.pending.swap_remove(i);
            let mut accepting = Vec::new();
            let mut refusals = Vec::new();
            for (id, _) in &p.asked {
                match p.answers.get(id) {
                    Some(Ok(s)) => accepting.push((*id, s.clone())),
                    Some(Err(r)) => refusals.push((*id, *r)),
                    None => refusals.push((*id, Refusal::NoAnswer)),
                }
            }
            let result = if p.asked.is_empty() {
                Err(PlaceError::NoCandidates)
            } else if accepting.is_empty() {
                Err(PlaceError::AllRefused(refusals))
            } else {
                let ranking = rank(&accepting, self.cfg.id, &p.weights);
                let node = ranking[0].0;
                let addr = p.asked.iter().find(|(id, _)| *id == node).unwrap().1;
                // The others may free the slots they held for us.
                for (id, _) in &ranking[1..] {
                    if *id == self.cfg.id {
                        self.reserved.retain(|r| !(r.0 == self.cfg.id && r.1 == p.req));
                    } else if let Some(a) = p.asked.iter().find(|(x, _)| x == id).map(|x| x.1) {
                        self.send(a, Body::AllocRelease { req: p.req });
                    }
                }
                Ok(Placement { node, addr, ranking, refusals })
            };
            self.events.push_back(Event::Placed { req: p.req, result });
        }
    }
}

fn self_members_live(members: &BTreeMap<NodeId, Member>, id: &NodeId) -> bool {
    members.get(id).is_some_and(|m| !m.state.gone())
}

fn body_len(b: &Body) -> usize {
    wire::body_len(b)
}
