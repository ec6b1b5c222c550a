//! The Ethernet frames the server reads or builds itself, beside smoltcp: ARP
//! (for the link-local logic and the neighbour table) and the sender of an
//! IPv4 frame.

use crate::linklocal::Arp;

pub const ARP_FRAME_LEN: usize = 42;
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
/// Hardware type Ethernet, protocol IPv4, address lengths 6 and 4.
const ARP_ETHER_IPV4: [u8; 6] = [0, 1, 0x08, 0x00, 6, 4];
const ARP_REQUEST: [u8; 2] = [0, 1];
const ARP_REPLY: [u8; 2] = [0, 2];

/// The ARP fields of an Ethernet frame (request or reply).
pub fn parse_arp(frame: &[u8]) -> Option<Arp> {
    if frame.len() < ARP_FRAME_LEN || frame[12..14] != ETHERTYPE_ARP {
        return None;
    }
    let a = &frame[14..];
    if a[0..6] != ARP_ETHER_IPV4 || (a[6..8] != ARP_REQUEST && a[6..8] != ARP_REPLY) {
        return None;
    }
    Some(Arp {
        sender_mac: a[8..14].try_into().ok()?,
        sender_ip: a[14..18].try_into().ok()?,
        target_ip: a[24..28].try_into().ok()?,
    })
}

/// The source MAC and IPv4 address of an IPv4 frame.
pub fn ipv4_sender(frame: &[u8]) -> Option<([u8; 6], [u8; 4])> {
    if frame.len() < 34
        || frame[12..14] != ETHERTYPE_IPV4
        || frame[14] >> 4 != 4
        || frame[14] & 0x0f < 5
    {
        return None;
    }
    Some((
        frame[6..12].try_into().ok()?,
        frame[26..30].try_into().ok()?,
    ))
}

/// A broadcast ARP request: a probe has sender IP 0.0.0.0, an announcement has sender = target.
pub fn arp_request(mac: [u8; 6], sender_ip: [u8; 4], target_ip: [u8; 4]) -> [u8; ARP_FRAME_LEN] {
    arp_frame(ARP_REQUEST, [0xff; 6], mac, sender_ip, [0; 6], target_ip)
}

/// An ARP reply from `sender` (MAC, IP) to `target` (MAC, IP).
pub fn arp_reply(sender: ([u8; 6], [u8; 4]), target: ([u8; 6], [u8; 4])) -> [u8; ARP_FRAME_LEN] {
    arp_frame(ARP_REPLY, target.0, sender.0, sender.1, target.0, target.1)
}

fn arp_frame(
    op: [u8; 2],
    to: [u8; 6],
    mac: [u8; 6],
    sender_ip: [u8; 4],
    target_mac: [u8; 6],
    target_ip: [u8; 4],
) -> [u8; ARP_FRAME_LEN] {
    let mut f = [0u8; ARP_FRAME_LEN];
    f[0..6].copy_from_slice(&to);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETHERTYPE_ARP);
    f[14..20].copy_from_slice(&ARP_ETHER_IPV4);
    f[20..22].copy_from_slice(&op);
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&sender_ip);
    f[32..38].copy_from_slice(&target_mac);
    f[38..42].copy_from_slice(&target_ip);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x52, 0x54, 0, 0x5e, 1, 1];
    const PEER: [u8; 6] = [0x52, 0x54, 0, 0x5e, 1, 2];

    #[test]
    fn requests_and_replies_parse_back() {
        let probe = arp_request(MAC, [0; 4], [169, 254, 3, 4]);
        assert_eq!(probe[0..6], [0xff; 6]);
        assert_eq!(
            parse_arp(&probe),
            Some(Arp {
                sender_mac: MAC,
                sender_ip: [0; 4],
                target_ip: [169, 254, 3, 4]
            })
        );
        let reply = arp_reply((PEER, [169, 254, 9, 9]), (MAC, [169, 254, 3, 4]));
        assert_eq!(reply[0..6], MAC, "a reply goes to its target");
        assert_eq!(reply[20..22], ARP_REPLY);
        assert_eq!(reply[32..38], MAC);
        assert_eq!(
            parse_arp(&reply),
            Some(Arp {
                sender_mac: PEER,
                sender_ip: [169, 254, 9, 9],
                target_ip: [169, 254, 3, 4]
            })
        );
    }

    #[test]
    fn other_frames_are_not_arp() {
        let mut f = arp_request(MAC, [1, 2, 3, 4], [1, 2, 3, 5]);
        assert!(parse_arp(&f[..41]).is_none(), "short");
        f[20..22].copy_from_slice(&[0, 3]);
        assert!(parse_arp(&f).is_none(), "RARP operation");
        f[20..22].copy_from_slice(&ARP_REQUEST);
        f[12..14].copy_from_slice(&ETHERTYPE_IPV4);
        assert!(parse_arp(&f).is_none(), "IPv4 ethertype");
    }

    #[test]
    fn the_sender_of_an_ipv4_frame() {
        let mut f = [0u8; 60];
        f[6..12].copy_from_slice(&PEER);
        f[12..14].copy_from_slice(&ETHERTYPE_IPV4);
        f[14] = 0x45;
        f[26..30].copy_from_slice(&[169, 254, 7, 8]);
        assert_eq!(ipv4_sender(&f), Some((PEER, [169, 254, 7, 8])));
        f[14] = 0x65;
        assert_eq!(ipv4_sender(&f), None, "IPv6 in an IPv4 frame");
        f[14] = 0x44;
        assert_eq!(ipv4_sender(&f), None, "header shorter than 20 bytes");
        f[14] = 0x45;
        assert_eq!(ipv4_sender(&f[..33]), None, "truncated");
    }
}
