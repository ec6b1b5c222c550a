//! Neighbours learned from the frames the node receives, handed to smoltcp's
//! ARP cache before it would have to ask.
//!
//! Why: smoltcp learns a MAC address only from ARP, allows one ARP request
//! per second for the whole interface, and holds back every datagram of a
//! socket while the one at its head waits for a neighbour. The group server
//! sends all its datagrams through one UDP socket, so a single peer that
//! needed resolving (a member just heard of, or one whose entry expired
//! after smoltcp's 60 s) silenced the node for up to a second: allocation
//! requests went unanswered and probes late. Any frame a peer sends tells
//! us its MAC address; this table turns it into an ARP reply for smoltcp
//! (see `nic.rs`), so smoltcp rarely needs to ask. For an address nobody
//! has sent from lately, the server asks itself before smoltcp would
//! ([`Neighbors::want`]): its request is not held to smoltcp's one per
//! second, and the reply, aimed at us, fills smoltcp's cache, which frees a
//! socket waiting on that neighbour within a round trip.
//!
//! Sans-IO: the caller passes every received frame and the time, injects
//! the frames [`Neighbors::next_feed`] returns, and sends those
//! [`Neighbors::want`] returns.

use crate::ether::{self, ARP_FRAME_LEN};
use alloc::collections::{BTreeMap, VecDeque};

/// smoltcp keeps a neighbour 60 s after it was last filled; a peer that
/// keeps talking is fed again well before that.
pub const REFEED_NS: u64 = 20_000_000_000;
/// Neighbours remembered (the oldest-fed is forgotten first).
pub const CAPACITY: usize = 1024;
/// Feeds waiting to be injected; beyond this a frame teaches nothing.
pub const MAX_QUEUED: usize = 64;
/// smoltcp's entry is trusted this long after we fed it (it keeps it 60 s).
pub const TRUSTED_NS: u64 = 55_000_000_000;
/// An address is asked for again no sooner than this.
pub const ASK_AGAIN_NS: u64 = 200_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Local {
    mac: [u8; 6],
    ip: [u8; 4],
    mask: u32,
}

#[derive(Clone, Copy, Debug)]
struct Known {
    mac: [u8; 6],
    /// When smoltcp was last told, if since our address was set.
    fed_at: Option<u64>,
}

pub struct Neighbors {
    mac: [u8; 6],
    local: Option<Local>,
    known: BTreeMap<[u8; 4], Known>,
    queued: VecDeque<[u8; ARP_FRAME_LEN]>,
    /// When we last sent an ARP request for an address.
    asked: BTreeMap<[u8; 4], u64>,
}

impl Neighbors {
    pub fn new(mac: [u8; 6]) -> Neighbors {
        Neighbors {
            mac,
            local: None,
            known: BTreeMap::new(),
            queued: VecDeque::new(),
            asked: BTreeMap::new(),
        }
    }

    /// Our address changed (`None`: we have none). smoltcp forgets its
    /// neighbours when its addresses change, so those still on our network
    /// are fed again at once.
    pub fn set_address(&mut self, addr: Option<([u8; 4], u8)>, now: u64) {
        self.queued.clear();
        self.asked.clear();
        self.local = addr.map(|(ip, prefix)| Local {
            mac: self.mac,
            ip,
            mask: mask(prefix),
        });
        let ips: alloc::vec::Vec<[u8; 4]> = self.known.keys().copied().collect();
        for ip in ips {
            let k = self.known.get_mut(&ip).unwrap();
            k.fed_at = None;
            let mac = k.mac;
            self.teach(now, mac, ip);
        }
    }

    /// A frame we received (not one we injected).
    pub fn observe(&mut self, now: u64, frame: &[u8]) {
        if let Some(a) = ether::parse_arp(frame) {
            self.teach(now, a.sender_mac, a.sender_ip);
        } else if let Some((mac, ip)) = ether::ipv4_sender(frame) {
            self.teach(now, mac, ip);
        }
    }

    /// We are about to send to `ip`: an ARP request to send first, unless
    /// smoltcp knows it (we fed it lately), it is not on our network, or we
    /// asked lately.
    pub fn want(&mut self, now: u64, ip: [u8; 4]) -> Option<[u8; ARP_FRAME_LEN]> {
        let me = self.local?;
        if !on_our_network(&me, ip) {
            return None;
        }
        if self.trusted(now, ip) || self.asked.get(&ip).is_some_and(|&t| now.saturating_sub(t) < ASK_AGAIN_NS) {
            return None;
        }
        if self.asked.len() >= CAPACITY {
            self.asked.retain(|_, t| now.saturating_sub(*t) < ASK_AGAIN_NS);
            if self.asked.len() >= CAPACITY {
                return None;
            }
        }
        self.asked.insert(ip, now);
        Some(ether::arp_request(me.mac, me.ip, ip))
    }

    /// Whether smoltcp can send to `ip` without waiting for ARP (as far as
    /// we can tell): somewhere not on our network (a router or broadcast,
    /// smoltcp's business), or a neighbour we fed lately.
    pub fn trusted(&self, now: u64, ip: [u8; 4]) -> bool {
        let Some(me) = self.local else { return true };
        !on_our_network(&me, ip) || self.known.get(&ip).is_some_and(|k| k.fed_at.is_some_and(|t| now.saturating_sub(t) < TRUSTED_NS))
    }

    /// The next ARP reply to give smoltcp as if received.
    pub fn next_feed(&mut self) -> Option<[u8; ARP_FRAME_LEN]> {
        self.queued.pop_front()
    }

    fn teach(&mut self, now: u64, mac: [u8; 6], ip: [u8; 4]) {
        let Some(me) = self.local else {
            // Remembered for when we have an address.
            if self.on_any_network(mac, ip) {
                self.remember(ip, Known { mac, fed_at: None });
            }
            return;
        };
        if !on_link(&me, mac, ip) {
            return;
        }
        let fresh = self.known.get(&ip).is_some_and(|k| {
            k.mac == mac && k.fed_at.is_some_and(|t| now.saturating_sub(t) < REFEED_NS)
        });
        if fresh || self.queued.len() >= MAX_QUEUED {
            return;
        }
        self.queued
            .push_back(ether::arp_reply((mac, ip), (me.mac, me.ip)));
        self.remember(
            ip,
            Known {
                mac,
                fed_at: Some(now),
            },
        );
    }

    fn on_any_network(&self, mac: [u8; 6], ip: [u8; 4]) -> bool {
        unicast_mac(mac) && mac != self.mac && ip != [0; 4] && ip[0] < 224 && ip != [255; 4]
    }

    fn remember(&mut self, ip: [u8; 4], k: Known) {
        if !self.known.contains_key(&ip) && self.known.len() >= CAPACITY {
            // Forget the one fed longest ago (never fed counts as oldest).
            if let Some(old) = self
                .known
                .iter()
                .min_by_key(|(_, k)| k.fed_at)
                .map(|(ip, _)| *ip)
            {
                self.known.remove(&old);
            }
        }
        self.known.insert(ip, k);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.known.len()
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix.min(32))
    }
}

fn unicast_mac(mac: [u8; 6]) -> bool {
    mac[0] & 1 == 0 && mac != [0; 6]
}

/// A unicast host on our network other than us: what smoltcp would take an
/// ARP entry for.
fn on_link(me: &Local, mac: [u8; 6], ip: [u8; 4]) -> bool {
    unicast_mac(mac) && mac != me.mac && on_our_network(me, ip)
}

/// A host address of our network, not ours (not the network's nor its broadcast).
fn on_our_network(me: &Local, ip: [u8; 4]) -> bool {
    let (a, m) = (u32::from_be_bytes(ip), u32::from_be_bytes(me.ip));
    let host = a & !me.mask;
    ip != me.ip && a & me.mask == m & me.mask && host != 0 && host != !me.mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linklocal::Arp;

    const SEC: u64 = 1_000_000_000;
    const ME: [u8; 6] = [0x52, 0x54, 0, 0x5e, 1, 1];
    const PEER: [u8; 6] = [0x52, 0x54, 0, 0x5e, 1, 2];
    const MY_IP: [u8; 4] = [169, 254, 10, 1];
    const PEER_IP: [u8; 4] = [169, 254, 20, 2];
    /// What smoltcp is fed for the peer.
    const PEER_TO_ME: Arp = Arp { sender_mac: PEER, sender_ip: PEER_IP, target_ip: MY_IP };

    fn ipv4_frame(src_mac: [u8; 6], src_ip: [u8; 4]) -> [u8; 60] {
        let mut f = [0u8; 60];
        f[0..6].copy_from_slice(&[0xff; 6]);
        f[6..12].copy_from_slice(&src_mac);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[26..30].copy_from_slice(&src_ip);
        f
    }

    fn configured() -> Neighbors {
        let mut n = Neighbors::new(ME);
        n.set_address(Some((MY_IP, 16)), 0);
        n
    }

    fn feeds(n: &mut Neighbors) -> alloc::vec::Vec<Arp> {
        core::iter::from_fn(|| n.next_feed())
            .map(|f| ether::parse_arp(&f).expect("a feed is ARP"))
            .collect()
    }

    #[test]
    fn a_datagram_from_a_peer_feeds_smoltcp_its_address() {
        let mut n = configured();
        n.observe(SEC, &ipv4_frame(PEER, PEER_IP));
        assert_eq!(feeds(&mut n), [PEER_TO_ME]);
        // The frame is a reply aimed at our MAC, as smoltcp needs.
        n.observe(2 * SEC, &ipv4_frame([0x52, 0x54, 0, 0, 0, 9], PEER_IP));
        let f = n.next_feed().unwrap();
        assert_eq!(f[0..6], ME);
        assert_eq!(f[20..22], [0, 2]);
    }

    #[test]
    fn a_talking_peer_is_fed_again_before_smoltcp_forgets_it() {
        let mut n = configured();
        let mut fed = 0;
        for s in 0..=120 {
            n.observe(s * SEC, &ipv4_frame(PEER, PEER_IP));
            fed += feeds(&mut n).len();
        }
        // Once at 0, 20, 40, ..., 120 s: every 20 s, never less often than smoltcp's 60 s.
        assert_eq!(fed, 7);
    }

    #[test]
    fn arp_traffic_between_others_teaches_too() {
        let mut n = configured();
        let other = [169, 254, 30, 3];
        n.observe(SEC, &ether::arp_request(PEER, PEER_IP, other));
        assert_eq!(feeds(&mut n)[0].sender_ip, PEER_IP);
        // A link-local probe (sender 0.0.0.0) teaches nothing.
        n.observe(
            SEC,
            &ether::arp_request([0x52, 0x54, 0, 0, 0, 7], [0; 4], other),
        );
        assert!(feeds(&mut n).is_empty());
    }

    #[test]
    fn only_unicast_hosts_on_our_network() {
        let mut n = configured();
        for (mac, ip, why) in [
            (
                PEER,
                [10, 0, 0, 5],
                "off our network (forwarded by a router)",
            ),
            (PEER, [169, 254, 255, 255], "the broadcast address"),
            (PEER, [169, 254, 0, 0], "the network address"),
            (PEER, MY_IP, "our own address"),
            (ME, PEER_IP, "our own MAC"),
            ([0x01, 0, 0x5e, 0, 0, 1], PEER_IP, "a multicast MAC"),
            ([0; 6], PEER_IP, "a zero MAC"),
        ] {
            n.observe(SEC, &ipv4_frame(mac, ip));
            assert!(feeds(&mut n).is_empty(), "{why}");
        }
    }

    #[test]
    fn peers_heard_before_our_address_are_fed_when_we_get_one() {
        let mut n = Neighbors::new(ME);
        n.observe(SEC, &ipv4_frame(PEER, PEER_IP));
        assert!(feeds(&mut n).is_empty(), "nothing to aim a reply at yet");
        n.set_address(Some((MY_IP, 16)), 2 * SEC);
        assert_eq!(feeds(&mut n), [PEER_TO_ME]);
        // A new address (a conflict lost) makes smoltcp forget: fed again, to the new address.
        n.observe(3 * SEC, &ipv4_frame(PEER, PEER_IP));
        assert!(feeds(&mut n).is_empty());
        n.set_address(Some(([169, 254, 10, 7], 16)), 4 * SEC);
        assert_eq!(feeds(&mut n)[0].target_ip, [169, 254, 10, 7]);
        n.set_address(None, 5 * SEC);
        n.observe(6 * SEC, &ipv4_frame(PEER, PEER_IP));
        assert!(feeds(&mut n).is_empty());
    }

    #[test]
    fn an_address_nobody_sent_from_is_asked_for_at_most_every_200_ms() {
        let mut n = configured();
        let ms = SEC / 1000;
        let ask = n.want(SEC, PEER_IP).expect("unknown: ask");
        assert_eq!(ask[0..6], [0xff; 6], "broadcast");
        assert_eq!(ether::parse_arp(&ask), Some(Arp { sender_mac: ME, sender_ip: MY_IP, target_ip: PEER_IP }));
        assert_eq!(n.want(SEC + 150 * ms, PEER_IP), None, "asked 150 ms ago");
        assert!(n.want(SEC + 200 * ms, PEER_IP).is_some(), "asked 200 ms ago: again");
        // The reply teaches the table; smoltcp is fed and trusted for 55 s.
        n.observe(SEC + 201 * ms, &ether::arp_reply((PEER, PEER_IP), (ME, MY_IP)));
        assert_eq!(feeds(&mut n), [PEER_TO_ME]);
        assert_eq!(n.want(SEC + 300 * ms, PEER_IP), None);
        assert!(n.trusted(SEC + 300 * ms, PEER_IP) && !n.trusted(SEC + 201 * ms + TRUSTED_NS, PEER_IP));
        assert!(n.trusted(SEC, [10, 0, 0, 5]) && n.trusted(SEC, [169, 254, 255, 255]), "not ours to resolve");
        assert_eq!(n.want(SEC + 201 * ms + TRUSTED_NS - 1, PEER_IP), None);
        assert!(n.want(SEC + 201 * ms + TRUSTED_NS, PEER_IP).is_some(), "quiet for 55 s: asked before smoltcp forgets");
    }

    #[test]
    fn only_hosts_of_our_network_are_asked_for() {
        let mut n = Neighbors::new(ME);
        assert_eq!(n.want(SEC, PEER_IP), None, "no address of our own yet");
        n.set_address(Some((MY_IP, 16)), SEC);
        for ip in [[10, 0, 0, 5], [169, 254, 255, 255], [169, 254, 0, 0], MY_IP, [255; 4]] {
            assert_eq!(n.want(SEC, ip), None, "{ip:?}");
        }
    }

    #[test]
    fn the_table_and_the_queue_are_bounded() {
        let mut n = configured();
        for i in 0..(CAPACITY as u32 + 100) {
            let ip = (0xa9fe_0000u32 + 1 + i).to_be_bytes();
            n.observe(SEC + i as u64, &ipv4_frame(PEER, ip));
        }
        assert_eq!(n.len(), MAX_QUEUED, "no feed queued, nothing remembered");
        assert_eq!(feeds(&mut n).len(), MAX_QUEUED);
        for i in 0..(CAPACITY as u32 + 100) {
            let ip = (0xa9fe_1000u32 + i).to_be_bytes();
            n.observe(SEC + i as u64, &ipv4_frame(PEER, ip));
            let _ = feeds(&mut n);
        }
        assert_eq!(n.len(), CAPACITY);
    }
}
