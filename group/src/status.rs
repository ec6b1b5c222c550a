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

/// Jobs a SiON node time-shares beyond one per CPU.
pub const NODE_EXTRA_JOBS: u16 = 3;

impl Admission {
    /// A SiON node's policy with `ncpus` CPUs: a job per CPU at full speed,
    /// and [`NODE_EXTRA_JOBS`] more time-shared, so a busy group still runs
    /// what it is given (the requesters' ranking by load per CPU sends work
    /// to idle CPUs first). It refuses by job count and memory, never by
    /// load (`max_load` 1000: every CPU busy is still accepted).
    pub fn node(ncpus: u16) -> Admission {
        Admission { max_jobs: ncpus.max(1).saturating_add(NODE_EXTRA_JOBS), max_load: 1000, ..Admission::default() }
    }
}

impl Status {
    /// CPUs, at least 1.
    pub fn cpus(&self) -> u16 {
        self.ncpus.max(1)
    }

    /// The load admission and ranking go by, in permille of all CPUs: the
    /// measured `cpu_load`, or what the running jobs keep busy (a CPU each,
    /// [`jobs_load`]) when that is more, since a measurement lags behind a
    /// job that just started (a workstation's load average by a minute).
    pub fn load_per_cpu(&self) -> u16 {
        self.cpu_load.max(jobs_load(self.jobs, self.ncpus))
    }
}

/// The load `jobs` CPU-bound jobs put on `ncpus` CPUs, in permille of all of
/// them: each keeps one CPU busy; jobs beyond the CPUs share them (1000).
pub fn jobs_load(jobs: u16, ncpus: u16) -> u16 {
    let n = ncpus.max(1) as u32;
    ((jobs as u32).min(n) * 1000 / n) as u16
}

/// The load measured over a window of `elapsed_ns`, in permille of all
/// `ncpus` CPUs, from the idle time `idle_ns` of all of them together in
/// that window (the kernel's `SysInfo::idle_ns` sums its CPUs).
pub fn measured_load(elapsed_ns: u64, idle_ns: u64, ncpus: u16) -> u16 {
    let capacity = elapsed_ns.saturating_mul(ncpus.max(1) as u64);
    if capacity == 0 {
        return 0;
    }
    (1000 - idle_ns.min(capacity) as u128 * 1000 / capacity as u128) as u16
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
    if s.load_per_cpu() > policy.max_load {
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

/// The four normalized terms of a candidate, each in [0, 1]: idle CPU share
/// (of all its CPUs, [`Status::load_per_cpu`]), free memory, CPU speed and
/// network speed relative to the best candidate.
pub fn terms(s: &Status, best: &Status) -> [f32; 4] {
    let rel = |v: u32, max: u32| if max == 0 { 0.0 } else { v as f32 / max as f32 };
    let idle = 1.0 - (s.load_per_cpu().min(1000) as f32 / 1000.0);
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

    /// A node with `ncpus` CPUs running `jobs` jobs, its measured load `load`.
    fn node(ncpus: u16, jobs: u16, load: u16) -> Status {
        Status { ncpus, jobs, ..st(load, 1000, 500, 100) }
    }

    #[test]
    fn load_per_cpu_counts_a_job_per_cpu() {
        assert_eq!(jobs_load(0, 1), 0);
        assert_eq!(jobs_load(1, 1), 1000);
        assert_eq!(jobs_load(1, 2), 500);
        assert_eq!(jobs_load(3, 4), 750);
        assert_eq!(jobs_load(3, 2), 1000, "jobs beyond the CPUs share them");
        assert_eq!(jobs_load(1, 0), 1000, "no CPU count is one CPU");
        // The measured load stands when it is more (work besides the jobs) ...
        assert_eq!(node(2, 1, 800).load_per_cpu(), 800);
        // ... and the jobs when the measurement lags behind them.
        assert_eq!(node(2, 1, 0).load_per_cpu(), 500);
        assert_eq!(node(1, 1, 0).load_per_cpu(), 1000);
        assert_eq!(node(0, 0, 0).cpus(), 1);
        assert_eq!(node(4, 0, 0).cpus(), 4);
    }

    #[test]
    fn measured_load_is_of_all_cpus() {
        const S: u64 = 1_000_000_000;
        // One CPU busy of two: the kernel's idle time is the other's whole window.
        assert_eq!(measured_load(2 * S, 2 * S, 2), 500);
        assert_eq!(measured_load(2 * S, 4 * S, 2), 0);
        assert_eq!(measured_load(2 * S, 0, 2), 1000);
        assert_eq!(measured_load(2 * S, S, 1), 500);
        assert_eq!(measured_load(4 * S, 3 * S, 4), 813, "13 of 16 CPU-seconds busy");
        assert_eq!(measured_load(2 * S, 5 * S, 2), 0, "idle beyond the window (clock skew) is all idle");
        assert_eq!(measured_load(0, 0, 2), 0);
        assert_eq!(measured_load(S, S / 2, 0), 500, "no CPU count is one CPU");
    }

    #[test]
    fn a_node_runs_a_job_per_cpu_and_time_shares_a_few_more() {
        let need = JobNeed { mem_mib: 10, cpus: 1 };
        assert_eq!(Admission::node(1).max_jobs, 1 + NODE_EXTRA_JOBS);
        assert_eq!(Admission::node(0).max_jobs, 1 + NODE_EXTRA_JOBS);
        assert_eq!(Admission::node(8).max_jobs, 8 + NODE_EXTRA_JOBS);
        // A node never refuses by load, not even with every CPU busy ...
        for cpus in [1, 2, 4] {
            let p = Admission::node(cpus);
            for jobs in 0..cpus + NODE_EXTRA_JOBS {
                assert_eq!(admit(&p, &node(cpus, jobs, 1000), 0, &need), Ok(()), "{cpus} CPUs, {jobs} jobs");
            }
            // ... but by its job count, slots held included.
            assert_eq!(admit(&p, &node(cpus, cpus + NODE_EXTRA_JOBS, 1000), 0, &need), Err(Refusal::TooManyJobs));
            assert_eq!(admit(&p, &node(cpus, cpus, 1000), NODE_EXTRA_JOBS, &need), Err(Refusal::TooManyJobs));
        }
    }

    #[test]
    fn admission_by_load_per_cpu() {
        // A policy that refuses above 95 % of all CPUs (the default; a workstation's --max-load).
        let p = Admission { max_jobs: 8, ..Admission::default() };
        let need = JobNeed { mem_mib: 10, cpus: 1 };
        // A 1-CPU node with a job is full, even before its measurement shows it.
        assert_eq!(admit(&p, &node(1, 1, 0), 0, &need), Err(Refusal::Overloaded));
        assert_eq!(admit(&p, &node(1, 0, 1000), 0, &need), Err(Refusal::Overloaded));
        // A 2-CPU node with one job running is half loaded and accepts.
        assert_eq!(admit(&p, &node(2, 1, 0), 0, &need), Ok(()));
        assert_eq!(admit(&p, &node(2, 1, 500), 0, &need), Ok(()));
        assert_eq!(admit(&p, &node(2, 2, 0), 0, &need), Err(Refusal::Overloaded));
        assert_eq!(admit(&p, &node(4, 3, 750), 0, &need), Ok(()));
    }

    #[test]
    fn ranking_by_load_per_cpu() {
        let cpu_only = Weights { cpu: 1.0, mem: 0.0, speed: 0.0, net: 0.0 };
        // The same job count ranks a node with more CPUs higher; a 1-CPU node
        // with a job ranks last although its last measurement said idle.
        let c = [(NodeId(1), node(1, 1, 0)), (NodeId(2), node(2, 1, 500)), (NodeId(3), node(4, 1, 250)), (NodeId(4), node(4, 3, 0))];
        let order: Vec<NodeId> = rank(&c, NodeId(9), &cpu_only).iter().map(|r| r.0).collect();
        assert_eq!(order, [NodeId(3), NodeId(2), NodeId(4), NodeId(1)]);
        assert_eq!(rank(&c, NodeId(9), &cpu_only).iter().map(|r| r.1).collect::<Vec<_>>(), [0.75, 0.5, 0.25, 0.0]);
        // With the default weights (memory, speed and network equal) the same order.
        let order: Vec<NodeId> = rank(&c, NodeId(9), &Weights::default()).iter().map(|r| r.0).collect();
        assert_eq!(order, [NodeId(3), NodeId(2), NodeId(4), NodeId(1)]);
        // An idle 1-CPU node and a half-loaded 2-CPU node: the idle one first.
        let c = [(NodeId(1), node(2, 1, 0)), (NodeId(2), node(1, 0, 0))];
        assert_eq!(rank(&c, NodeId(9), &cpu_only)[0].0, NodeId(2));
    }
}
