//! IPv4 link-local addresses (RFC 3927): with no DHCP server on the LAN, a
//! node picks an address in 169.254/16 by itself, checks with ARP probes that
//! no one has it, announces it, and defends it.
//!
//! Sans-IO: the caller feeds time and received ARP packets and carries out the
//! returned [`Action`]s. Times are nanoseconds on any monotonic clock.

const SECOND: u64 = 1_000_000_000;
pub const PROBE_WAIT: u64 = SECOND;
pub const PROBE_NUM: u32 = 3;
pub const PROBE_MIN: u64 = SECOND;
pub const PROBE_MAX: u64 = 2 * SECOND;
pub const ANNOUNCE_WAIT: u64 = 2 * SECOND;
pub const ANNOUNCE_NUM: u32 = 2;
pub const ANNOUNCE_INTERVAL: u64 = 2 * SECOND;
pub const MAX_CONFLICTS: u32 = 10;
pub const RATE_LIMIT_INTERVAL: u64 = 60 * SECOND;
pub const DEFEND_INTERVAL: u64 = 10 * SECOND;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send an ARP probe for this address (sender IP 0.0.0.0, target = it).
    Probe([u8; 4]),
    /// Send an ARP announcement (sender IP = target IP = it).
    Announce([u8; 4]),
    /// Start using the address (after the probes found no one).
    Configure([u8; 4]),
    /// Stop using it (lost a conflict).
    Deconfigure([u8; 4]),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting until `at` for the next probe; `sent` probes so far.
    Probing { sent: u32 },
    /// Configured; `sent` announcements so far.
    Announcing { sent: u32 },
    Bound,
}

pub struct LinkLocal {
    mac: [u8; 6],
    rng: u64,
    candidate: [u8; 4],
    state: State,
    next_at: u64,
    conflicts: u32,
    last_defend: Option<u64>,
}

/// An ARP packet as the caller parsed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    pub sender_mac: [u8; 6],
    pub sender_ip: [u8; 4],
    pub target_ip: [u8; 4],
}

impl LinkLocal {
    /// Start, seeding the choice from the MAC (so a node tends to get the same
    /// address again) mixed with `seed`.
    pub fn new(mac: [u8; 6], seed: u64, now: u64) -> Self {
        let mut rng = seed ^ 0x9e37_79b9_7f4a_7c15;
        for b in mac {
            rng = (rng ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        let mut ll = LinkLocal { mac, rng: rng | 1, candidate: [0; 4], state: State::Probing { sent: 0 }, next_at: 0, conflicts: 0, last_defend: None };
        ll.candidate = ll.pick();
        ll.next_at = now + ll.random(PROBE_WAIT);
        ll
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: cheap, and unpredictability is not the point here.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn random(&mut self, below: u64) -> u64 {
        if below == 0 {
            0
        } else {
            self.next_random() % below
        }
    }

    /// 169.254.1.0 to 169.254.254.255, as the RFC requires.
    fn pick(&mut self) -> [u8; 4] {
        let n = self.random(254 * 256 - 256) + 256;
        [169, 254, (n >> 8) as u8, n as u8]
    }

    pub fn address(&self) -> Option<[u8; 4]> {
        match self.state {
            State::Probing { .. } => None,
            _ => Some(self.candidate),
        }
    }

    pub fn candidate(&self) -> [u8; 4] {
        self.candidate
    }

    /// When `poll` next has something to do.
    pub fn deadline(&self) -> Option<u64> {
        (self.state != State::Bound).then_some(self.next_at)
    }

    /// Advance to `now`; at most one action per call (call again while it returns some).
    pub fn poll(&mut self, now: u64) -> Option<Action> {
        if self.state == State::Bound || now < self.next_at {
            return None;
        }
        match self.state {
            State::Probing { sent } if sent < PROBE_NUM => {
                self.state = State::Probing { sent: sent + 1 };
                self.next_at = if sent + 1 < PROBE_NUM { now + PROBE_MIN + self.random(PROBE_MAX - PROBE_MIN) } else { now + ANNOUNCE_WAIT };
                Some(Action::Probe(self.candidate))
            }
            State::Probing { .. } => {
                self.state = State::Announcing { sent: 0 };
                self.next_at = now;
                Some(Action::Configure(self.candidate))
            }
            State::Announcing { sent } => {
                let sent = sent + 1;
                self.state = if sent < ANNOUNCE_NUM { State::Announcing { sent } } else { State::Bound };
                self.next_at = now + ANNOUNCE_INTERVAL;
                Some(Action::Announce(self.candidate))
            }
            State::Bound => None,
        }
    }

    /// An ARP packet arrived. Returns what to do about a conflict, if any.
    pub fn on_arp(&mut self, now: u64, arp: &Arp) -> Option<Action> {
        if arp.sender_mac == self.mac {
            return None;
        }
        match self.state {
            State::Probing { .. } => {
                // Someone uses it, or probes for it at the same time.
                let probing_same = arp.sender_ip == [0; 4] && arp.target_ip == self.candidate;
                if arp.sender_ip == self.candidate || probing_same {
                    self.restart(now);
                }
                None
            }
            State::Announcing { .. } | State::Bound => {
                if arp.sender_ip != self.candidate {
                    return None;
                }
                match self.last_defend {
                    Some(t) if now.saturating_sub(t) < DEFEND_INTERVAL => {
                        let lost = self.candidate;
                        self.restart(now);
                        Some(Action::Deconfigure(lost))
                    }
                    _ => {
                        self.last_defend = Some(now);
                        Some(Action::Announce(self.candidate))
                    }
                }
            }
        }
    }

    fn restart(&mut self, now: u64) {
        self.conflicts += 1;
        self.candidate = self.pick();
        self.state = State::Probing { sent: 0 };
        self.last_defend = None;
        self.next_at = if self.conflicts >= MAX_CONFLICTS { now + RATE_LIMIT_INTERVAL } else { now + self.random(PROBE_WAIT) };
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    const MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];

    /// Run until bound with nobody else on the LAN; returns actions and the time.
    fn run_alone(ll: &mut LinkLocal, mut now: u64) -> (std::vec::Vec<Action>, u64) {
        let mut actions = std::vec::Vec::new();
        while let Some(d) = ll.deadline() {
            now = now.max(d);
            while let Some(a) = ll.poll(now) {
                actions.push(a);
            }
        }
        (actions, now)
    }

    #[test]
    fn probes_then_configures_then_announces() {
        let mut ll = LinkLocal::new(MAC, 1, 0);
        let c = ll.candidate();
        assert_eq!(c[0..2], [169, 254]);
        assert!((1..=254).contains(&c[2]));
        let (actions, end) = run_alone(&mut ll, 0);
        assert_eq!(actions, [Action::Probe(c), Action::Probe(c), Action::Probe(c), Action::Configure(c), Action::Announce(c), Action::Announce(c)]);
        assert_eq!(ll.address(), Some(c));
        // 3 probes 1-2 s apart, 2 s wait, announcements 2 s apart.
        assert!(end >= 2 * PROBE_MIN + ANNOUNCE_WAIT + ANNOUNCE_INTERVAL && end <= PROBE_WAIT + 2 * PROBE_MAX + ANNOUNCE_WAIT + ANNOUNCE_INTERVAL);
    }

    #[test]
    fn conflict_while_probing_picks_another_address() {
        let mut ll = LinkLocal::new(MAC, 2, 0);
        let first = ll.candidate();
        ll.poll(PROBE_WAIT);
        let other = Arp { sender_mac: [2; 6], sender_ip: first, target_ip: first };
        assert_eq!(ll.on_arp(PROBE_WAIT + 1, &other), None);
        assert_ne!(ll.candidate(), first);
        assert_eq!(ll.address(), None);
        // A simultaneous probe for our candidate is a conflict too.
        let second = ll.candidate();
        let probe = Arp { sender_mac: [3; 6], sender_ip: [0; 4], target_ip: second };
        ll.on_arp(PROBE_WAIT + 2, &probe);
        assert_ne!(ll.candidate(), second);
    }

    #[test]
    fn defends_once_then_yields() {
        let mut ll = LinkLocal::new(MAC, 3, 0);
        let (_, t) = run_alone(&mut ll, 0);
        let ip = ll.address().unwrap();
        let attacker = Arp { sender_mac: [9; 6], sender_ip: ip, target_ip: ip };
        assert_eq!(ll.on_arp(t + 1, &attacker), Some(Action::Announce(ip)));
        assert_eq!(ll.on_arp(t + 2, &attacker), Some(Action::Deconfigure(ip)));
        assert_eq!(ll.address(), None);
        assert_ne!(ll.candidate(), ip);
        // Our own packets are never conflicts.
        let own = Arp { sender_mac: MAC, sender_ip: ll.candidate(), target_ip: ll.candidate() };
        assert_eq!(ll.on_arp(t + 3, &own), None);
    }

    #[test]
    fn rate_limited_after_many_conflicts() {
        let mut ll = LinkLocal::new(MAC, 4, 0);
        for i in 0..MAX_CONFLICTS {
            let c = ll.candidate();
            ll.on_arp(i as u64, &Arp { sender_mac: [7; 6], sender_ip: c, target_ip: c });
        }
        assert!(ll.deadline().unwrap() >= RATE_LIMIT_INTERVAL);
    }

    #[test]
    fn different_macs_tend_to_differ() {
        let a = LinkLocal::new([1, 2, 3, 4, 5, 6], 0, 0).candidate();
        let b = LinkLocal::new([1, 2, 3, 4, 5, 7], 0, 0).candidate();
        assert_ne!(a, b);
    }
}
