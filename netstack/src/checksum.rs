//! TCP checksums of received frames, verified 64 bits at a time.
//!
//! smoltcp verifies a TCP segment's checksum 16 bits per step; on a bulk
//! transfer that was a quarter of the netstack's instructions per packet
//! (about 2,000 of 8,100 under `-icount`). The server checks TCP segments
//! here, before smoltcp, and drops those that fail; smoltcp then only
//! computes checksums for what it sends (`Checksum::Tx` for TCP). Every other
//! checksum (IPv4 headers, UDP, ICMP) smoltcp still verifies itself.
//! Fragments never reach TCP: smoltcp is built without reassembly and drops
//! them.

const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
const PROTO_TCP: u8 = 6;

/// What the check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A TCP segment whose checksum is right.
    Good,
    /// A TCP segment whose checksum is wrong (or that is cut short).
    Bad,
    /// Not an unfragmented TCP-over-IPv4 frame: smoltcp checks or drops it.
    NotTcp,
}

/// The one's-complement sum (RFC 1071) of `data` added to `acc`, read as
/// little-endian words: RFC 1071's sum is byte-order independent, so the
/// folded result is the network-order sum byte-swapped, and a correct
/// segment folds to 0xffff either way.
pub fn ones_sum(data: &[u8], mut acc: u64) -> u64 {
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let v = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        let (sum, carry) = acc.overflowing_add(v);
        acc = sum + carry as u64;
    }
    let mut rest = words.remainder();
    while rest.len() >= 2 {
        let (sum, carry) = acc.overflowing_add(u16::from_le_bytes([rest[0], rest[1]]) as u64);
        acc = sum + carry as u64;
        rest = &rest[2..];
    }
    if let Some(&b) = rest.first() {
        let (sum, carry) = acc.overflowing_add(b as u64);
        acc = sum + carry as u64;
    }
    acc
}

/// `acc` folded to 16 bits.
pub fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Checks the TCP checksum of an Ethernet frame.
pub fn verify_tcp(frame: &[u8]) -> Verdict {
    if frame.len() < 14 + 20 || frame[12..14] != ETHERTYPE_IPV4 {
        return Verdict::NotTcp;
    }
    let ip = &frame[14..];
    let header_len = ((ip[0] & 0x0f) as usize) * 4;
    let fragmented = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
    if ip[0] >> 4 != 4 || ip[9] != PROTO_TCP || header_len < 20 || fragmented {
        return Verdict::NotTcp;
    }
    let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
    if total < header_len + 20 || total > ip.len() {
        return Verdict::Bad;
    }
    let segment = &ip[header_len..total];
    let len = segment.len() as u16;
    // The pseudo-header: source, destination, zero, protocol, TCP length.
    let mut pseudo = [0u8; 12];
    pseudo[..8].copy_from_slice(&ip[12..20]);
    pseudo[9] = PROTO_TCP;
    pseudo[10..].copy_from_slice(&len.to_be_bytes());
    if fold(ones_sum(segment, ones_sum(&pseudo, 0))) == 0xffff {
        Verdict::Good
    } else {
        Verdict::Bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// RFC 1071 as written: big-endian 16-bit words.
    fn reference(data: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for c in data.chunks(2) {
            acc += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
        }
        while acc >> 16 != 0 {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    /// An Ethernet + IPv4 + TCP frame carrying `payload`, checksum filled in.
    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&[0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x55, 10, 0, 2, 2, 0x08, 0x00]);
        let total = (20 + 20 + payload.len()) as u16;
        f.extend_from_slice(&[0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, PROTO_TCP, 0, 0, 10, 0, 2, 2, 10, 0, 2, 15]);
        f[16..18].copy_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0x9c, 0x40, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        let mut pseudo = Vec::from(&f[26..34]);
        pseudo.extend_from_slice(&[0, PROTO_TCP]);
        pseudo.extend_from_slice(&(total - 20).to_be_bytes());
        pseudo.extend_from_slice(&f[34..]);
        let sum = !reference(&pseudo);
        f[34 + 16..34 + 18].copy_from_slice(&sum.to_be_bytes());
        f
    }

    #[test]
    fn sum_matches_rfc_1071_for_every_length_and_alignment() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for len in [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1460, 1461, 2999] {
            for start in [0, 1] {
                let d = &data[start..start + len];
                assert_eq!(fold(ones_sum(d, 0)).swap_bytes(), reference(d), "len {len} start {start}");
            }
        }
        // Every word 0xffff: the carries wrap around.
        assert_eq!(fold(ones_sum(&[0xff; 1024], 0)), 0xffff);
    }

    #[test]
    fn good_bad_and_foreign_frames() {
        for len in [0, 1, 5, 1460] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let f = frame(&payload);
            assert_eq!(verify_tcp(&f), Verdict::Good, "payload {len}");
            let mut bad = f.clone();
            let last = bad.len() - 1;
            bad[last] ^= if len == 0 { 0 } else { 0x40 };
            if len > 0 {
                assert_eq!(verify_tcp(&bad), Verdict::Bad, "flipped bit, payload {len}");
            }
            // Ethernet padding after the IP datagram is not summed.
            let mut padded = f.clone();
            padded.extend_from_slice(&[0xaa; 6]);
            assert_eq!(verify_tcp(&padded), Verdict::Good);
            // A length past the frame is refused.
            let mut cut = f.clone();
            cut.truncate(cut.len() - 1);
            if len > 0 {
                assert_eq!(verify_tcp(&cut), Verdict::Bad);
            }
        }
        let mut udp = frame(b"x");
        udp[23] = 17;
        assert_eq!(verify_tcp(&udp), Verdict::NotTcp);
        let mut fragment = frame(b"x");
        fragment[20] = 0x20; // more fragments
        assert_eq!(verify_tcp(&fragment), Verdict::NotTcp);
        assert_eq!(verify_tcp(&[0u8; 20]), Verdict::NotTcp);
    }
}
