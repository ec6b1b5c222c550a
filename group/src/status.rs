//! A member's status vector, admission and the placement score (pure functions).

use alloc::string::String;
use alloc::vec::Vec;

use crate::NodeId;

/// What a member says about itself. Travels in its pings, acks, allocation
/// replies and Alive updates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Bumped by the member whenever the vector changes (newer wins at equal incarnation).
    pub version: u32,
    /// CPU load in permille of the member's whole capacity (1000 = every CPU busy).
    pub cpu_load: u16,
    pub ncpus: u16,
    /// Measured CPU speed of one CPU, in the member's benchmark units (millions of loop iterations per second).
    pub cpu_speed: u32,
    pub free_mem_mib: u32,
    pub total_mem_mib: u32,
    /// Network speed in Mbit/s (0 = unknown).
    pub net_mbps: u32,
    /// Jobs running now.
    pub jobs: u16,
    /// Takes jobs at all.
    pub accepting: bool,
    /// A Linux workstation running `sion daemon` (not a SiON node).
    pub workstation: bool,
    /// Host name (at most 32 bytes on the wire).
    pub name: String,
}

/// What a job asks of its node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobNeed {
    /// Memory the job needs, MiB (0 = unknown).
    pub mem_mib: u32,
    /// CPUs it will keep busy.
    pub cpus: u16,
}

/// A node's own admission policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    /// Most jobs at once (counting jobs accepted but not yet started).
    pub max_jobs: u16,
    /// Memory kept free for the node itself, MiB.
    pub reserve_mem_mib: u32,
    /// Refuse when the CPU load (permille) is above this.
    pub max_load: u16,
}

impl Default for Admission {
    fn default() -> Self {
        Admission { max_jobs: 4, reserve_mem_mib: 16, max_load: 950 }
    }
}

/// Why a node refused an allocation request (wire codes 1..).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    NotAccepting = 1,
    TooManyJobs = 2,
    NotEnoughMemory = 3,
    Overloaded = 4,
    /// Did not answer in time.
    NoAnswer = 5,
}

impl Refusal {
    pub fn from_code(c: u8) -> Refusal {
        match c {
            1 => Refusal::NotAccepting,
            2 => Refusal::TooManyJobs,
            3 => Refusal::NotEnoughMemory,
            4 => Refusal::Overloaded,
            _ => Refusal::NoAnswer,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Refusal::NotAccepting => "not accepting jobs",
            Refusal::TooManyJobs => "too many jobs",
            Refusal::NotEnoughMemory => "not enough memory",
            Refusal::Overloaded => "CPU overloaded",
            Refusal::NoAnswer => "no answer",
        }
    }
}

/// The admission decision of a node with status `s` and `pending` jobs
/// accepted but not started yet.
pub fn admit(policy: &Admission, s: &Status, pending: u16, need: &JobNeed) -> Result<(), Refusal> {
    if !s.accepting {
        return Err(Refusal::NotAccepting);
    }
    if s.jobs.saturating_add(pending) >= policy.max_jobs {
        return Err(Refusal::TooManyJobs);
    }
    if s.free_mem_mib < need.mem_mib.saturating_add(policy.reserve_mem_mib) {
        return Err(Refusal::NotEnoughMemory);
    }
    if s.cpu_load > policy.max_load {
        return Err(Refusal::Overloaded);
    }
    Ok(())
}

/// Per-request weights of the placement score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    pub cpu: f32,
    pub mem: f32,
    pub speed: f32,
    pub net: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights { cpu: 1.0, mem: 1.0, speed: 1.0, net: 0.5 }
    }
}

impl Weights {
    /// Parses `cpu=W,mem=W,speed=W,net=W` (any subset; the others keep their default; W >= 0).
    pub fn parse(s: &str) -> Result<Weights, String> {
        let mut w = Weights::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| alloc::format!("{part:?} is not NAME=W"))?;
            let v: f32 = v.trim().parse().map_err(|_| alloc::format!("weight {v:?} is not a number"))?;
            if !v.is_finite() || v < 0.0 {
                return Err(alloc::format!("weight {v} must be a number >= 0"));
            }
            match k.trim() {
                "cpu" => w.cpu = v,
                "mem" => w.mem = v,
                "speed" => w.speed = v,
                "net" => w.net = v,
                other => return Err(alloc::format!("unknown weight {other:?} (cpu, mem, speed, net)")),
            }
        }
        Ok(w)
    }
}

/// The four normalized terms of a candidate, each in [0, 1]: idle CPU share,
/// free memory, CPU speed and network speed relative to the best candidate.
pub fn terms(s: &Status, best: &Status) -> [f32; 4] {
    let rel = |v: u32, max: u32| if max == 0 { 0.0 } else { v as f32 / max as f32 };
    let idle = 1.0 - (s.cpu_load.min(1000) as f32 / 1000.0);
    [idle, rel(s.free_mem_mib, best.free_mem_mib), rel(s.cpu_speed, best.cpu_speed), rel(s.net_mbps, best.net_mbps)]
}

/// The per-metric maxima over a candidate set (the normalization of `terms`).
pub fn maxima<'a>(set: impl IntoIterator<Item = &'a Status>) -> Status {
    let mut m = Status::default();
    for s in set {
        m.free_mem_mib = m.free_mem_mib.max(s.free_mem_mib);
        m.cpu_speed = m.cpu_speed.max(s.cpu_speed);
        m.net_mbps = m.net_mbps.max(s.net_mbps);
    }
    m
}

/// The weighted sum of a candidate's terms.
pub fn score(s: &Status, best: &Status, w: &Weights) -> f32 {
    let t = terms(s, best);
    w.cpu * t[0] + w.mem * t[1] + w.speed * t[2] + w.net * t[3]
}

/// Ranks accepting candidates, best first: by score, then the local node
/// (no transfer), then the node id (determinism).
pub fn rank(cands: &[(NodeId, Status)], local: NodeId, w: &Weights) -> Vec<(NodeId, f32)> {
    let best = maxima(cands.iter().map(|(_, s)| s));
    let mut v: Vec<(NodeId, f32)> = cands.iter().map(|(id, s)| (*id, score(s, &best, w))).collect();
    v.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(core::cmp::Ordering::Equal)
            .then_with(|| (b.0 == local).cmp(&(a.0 == local)))
            .then_with(|| a.0.cmp(&b.0))
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(load: u16, mem: u32, speed: u32, net: u32) -> Status {
        Status { cpu_load: load, free_mem_mib: mem, cpu_speed: speed, net_mbps: net, accepting: true, ncpus: 1, ..Default::default() }
    }

    #[test]
    fn memory_heavy_weights_pick_the_most_free_memory() {
        let c = [(NodeId(1), st(0, 100, 900, 1000)), (NodeId(2), st(500, 4000, 300, 100)), (NodeId(3), st(100, 1000, 1000, 1000))];
        let w = Weights { cpu: 0.0, mem: 10.0, speed: 0.0, net: 0.0 };
        assert_eq!(rank(&c, NodeId(9), &w)[0].0, NodeId(2));
        let w = Weights { cpu: 0.0, mem: 0.0, speed: 1.0, net: 0.0 };
        assert_eq!(rank(&c, NodeId(9), &w)[0].0, NodeId(3));
        let w = Weights { cpu: 1.0, mem: 0.0, speed: 0.0, net: 0.0 };
        assert_eq!(rank(&c, NodeId(9), &w)[0].0, NodeId(1));
    }

    #[test]
    fn ties_prefer_the_local_node_then_the_lower_id() {
        let c = [(NodeId(5), st(0, 100, 100, 0)), (NodeId(7), st(0, 100, 100, 0)), (NodeId(3), st(0, 100, 100, 0))];
        assert_eq!(rank(&c, NodeId(7), &Weights::default())[0].0, NodeId(7));
        assert_eq!(rank(&c, NodeId(9), &Weights::default())[0].0, NodeId(3));
    }

    #[test]
    fn score_terms_are_normalized() {
        let a = st(250, 50, 10, 0);
        let best = maxima([&a, &st(0, 200, 40, 0)]);
        assert_eq!(terms(&a, &best), [0.75, 0.25, 0.25, 0.0]);
        let w = Weights { cpu: 2.0, mem: 4.0, speed: 0.0, net: 9.0 };
        assert_eq!(score(&a, &best, &w), 2.5);
    }

    #[test]
    fn weights_parse() {
        assert_eq!(Weights::parse("mem=3").unwrap(), Weights { mem: 3.0, ..Weights::default() });
        let w = Weights::parse("cpu=0, mem=1,speed=2.5,net=0").unwrap();
        assert_eq!(w, Weights { cpu: 0.0, mem: 1.0, speed: 2.5, net: 0.0 });
        for bad in ["mem", "disk=1", "cpu=-1", "cpu=x", "cpu=inf"] {
            assert!(Weights::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn admission() {
        let p = Admission { max_jobs: 2, reserve_mem_mib: 10, max_load: 900 };
        let need = JobNeed { mem_mib: 50, cpus: 1 };
        assert_eq!(admit(&p, &st(0, 100, 1, 1), 0, &need), Ok(()));
        assert_eq!(admit(&p, &st(0, 59, 1, 1), 0, &need), Err(Refusal::NotEnoughMemory));
        assert_eq!(admit(&p, &st(0, 100, 1, 1), 2, &need), Err(Refusal::TooManyJobs));
        assert_eq!(admit(&p, &st(901, 100, 1, 1), 0, &need), Err(Refusal::Overloaded));
        let mut s = st(0, 100, 1, 1);
        s.accepting = false;
        assert_eq!(admit(&p, &s, 0, &need), Err(Refusal::NotAccepting));
    }
}
