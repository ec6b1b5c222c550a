//! Bounded random tests of everything in this crate that reads bytes from
//! the network: group datagrams (also authenticated garbage: a member holds
//! the key), job-stream frames and the START payload, and the node's file
//! cache under random use. Each must refuse what it cannot read, never
//! panic, and keep its invariants. Deterministic (fixed seeds), a few
//! hundred thousand inputs in well under a second.

use sion_group::cache::{Cache, Digest};
use sion_group::job::{self, Dec, Start};
use sion_group::rng::Rng;
use sion_group::wire::{self, Key};
use std::rc::Rc;

fn bytes(r: &mut Rng, max: usize) -> Vec<u8> {
    let n = r.below(max as u64 + 1) as usize;
    (0..n).map(|_| r.next_u64() as u8).collect()
}

/// `v` with a few bytes changed, cut or extended.
fn mutate(r: &mut Rng, v: &[u8]) -> Vec<u8> {
    let mut m = v.to_vec();
    for _ in 0..=r.below(4) {
        match r.below(4) {
            0 if !m.is_empty() => {
                let i = r.below(m.len() as u64) as usize;
                m[i] ^= 1 << r.below(8);
            }
            1 if !m.is_empty() => {
                let i = r.below(m.len() as u64) as usize;
                m[i] = r.next_u64() as u8;
            }
            2 => m.truncate(r.below(m.len() as u64 + 1) as usize),
            _ => m.extend(bytes(r, 16)),
        }
    }
    m
}

fn sample_start() -> Start {
    Start {
        argv: vec![b"/usr/bin/python3".to_vec(), b"-c".to_vec(), b"print(1)".to_vec()],
        env: vec![b"PATH=/usr/bin:/bin".to_vec()],
        cwd: b"/home/u/work".to_vec(),
        program_len: 6_831_736,
        files: vec![(b"/lib64/ld-linux-x86-64.so.2".to_vec(), 0o755, 210_968), (b"/lib/x86_64-linux-gnu/libc.so.6".to_vec(), 0o644, 1_922_136)],
        outs: vec![b"/home/u/work/out".to_vec()],
        exe: b"/usr/bin/python3.11".to_vec(),
        shares: vec![b"/usr".to_vec(), b"/home/u/work".to_vec()],
        write_back: b"/home/u/work".to_vec(),
        digests: vec![[1; 32], [2; 32], [3; 32]],
    }
}

#[test]
fn start_payloads_decode_or_are_refused_and_what_decodes_round_trips() {
    let mut r = Rng::new(0x5107);
    let good = sample_start().encode();
    let mut decoded = 0;
    for i in 0..60_000 {
        let input = if i % 2 == 0 { mutate(&mut r, &good) } else { bytes(&mut r, 200) };
        if let Ok(s) = Start::decode(&input) {
            decoded += 1;
            // What a node accepts it can describe again, the same.
            assert_eq!(Start::decode(&s.encode()), Ok(s.clone()));
            assert_eq!(s.item_lens().count(), 1 + s.files.len());
            assert!(s.digests.is_empty() || s.digests.len() == 1 + s.files.len());
        }
    }
    assert!(decoded > 100, "mutations of a good START should often still decode ({decoded})");
}

#[test]
fn job_frames_refuse_garbage_forgeries_and_replays() {
    let key = Key([9; 32]);
    let (node_nonce, client_nonce) = ([1u8; 16], [2u8; 16]);
    let mut r = Rng::new(0xf4a3e);
    for _ in 0..20_000 {
        let (_, mut rx) = job::keys(&key, &node_nonce, &job::hello(&client_nonce), true).unwrap();
        let mut buf = bytes(&mut r, 300);
        // Garbage never opens (a forgery would need the key).
        loop {
            match rx.take(&mut buf) {
                Ok(Some(f)) => panic!("a random frame authenticated: {f:?}"),
                Ok(None) | Err(_) => break,
            }
        }
    }
    // Real frames, mutated: each either opens as sent or is refused.
    for _ in 0..20_000 {
        let (mut tx, _) = job::keys(&key, &client_nonce, &job::hello(&node_nonce), false).unwrap();
        let (_, mut rx) = job::keys(&key, &node_nonce, &job::hello(&client_nonce), true).unwrap();
        let payload = bytes(&mut r, 64);
        let frame = tx.seal(job::STDIN, &payload);
        let mut m = mutate(&mut r, &frame);
        let same = m == frame || m.starts_with(&frame);
        match rx.take(&mut m) {
            Ok(Some((kind, p))) => assert!(same && kind == job::STDIN && p == payload, "a changed frame opened"),
            Ok(None) => {}
            Err(_) => assert!(!same, "the frame as sent was refused"),
        }
    }
}

#[test]
fn payload_decoders_never_read_past_the_end() {
    let mut r = Rng::new(0xdec);
    for _ in 0..50_000 {
        let b = bytes(&mut r, 40);
        let mut d = Dec(&b);
        // Any sequence of reads either succeeds within the bytes or fails.
        for _ in 0..6 {
            let ok = match r.below(4) {
                0 => d.u32().is_ok(),
                1 => d.u64().is_ok(),
                2 => d.bytes().is_ok(),
                _ => d.list().is_ok(),
            };
            if !ok {
                break;
            }
        }
    }
}

#[test]
fn group_datagrams_refuse_garbage_and_survive_authenticated_garbage() {
    let key = Key([7; 32]);
    let mut r = Rng::new(0x6709);
    for i in 0..60_000 {
        let mut d = bytes(&mut r, 160);
        if i % 3 == 0 && d.len() >= 3 {
            // Past magic and version, to reach the tag check.
            d[0..2].copy_from_slice(b"SG");
            d[2] = 1;
        }
        if i % 2 == 0 && d.len() > 32 {
            // Signed with the key: a member's garbage reaches the body decoder.
            let n = d.len() - 32;
            let tag = key.tag(&d[..n]);
            d[n..].copy_from_slice(&tag);
        }
        let _ = wire::open(&key, &d);
    }
}

#[test]
fn the_file_cache_keeps_its_budget_and_never_mixes_workstations() {
    let budget = 10_000;
    let mut c = Cache::new(budget);
    let mut r = Rng::new(0xcac4e);
    // What each (peer, digest) holds: the digest is the bytes' first byte repeated.
    let digest_of = |b: &[u8]| -> Digest { [b.first().copied().unwrap_or(0); 32] };
    for _ in 0..50_000 {
        let peer = r.below(3) as u32;
        match r.below(5) {
            0 => {
                let fill = r.below(256) as u8;
                let b = vec![fill; r.below(3_000) as usize + 1];
                c.put(peer, digest_of(&b), Rc::new(b));
            }
            1 => {
                let fill = r.below(256) as u8;
                let b = vec![fill; r.below(3_000) as usize + 1];
                let path = format!("/f{}", fill % 8);
                c.put_file(peer, path.as_bytes(), b.len() as u64, fill as u64 + 1, digest_of(&b), Rc::new(b));
            }
            2 => {
                let fill = r.below(256) as u8;
                if let Some(b) = c.by_digest(peer, &[fill; 32]) {
                    assert!(b.iter().all(|&x| x == fill), "bytes under another digest");
                }
            }
            3 => {
                let fill = r.below(256) as u8;
                let path = format!("/f{}", fill % 8);
                let size = r.below(3_000) + 1;
                if let Some(b) = c.file(peer, path.as_bytes(), size, fill as u64 + 1) {
                    assert_eq!(b.len() as u64, size);
                    assert!(b.iter().all(|&x| x == fill), "a file came back with other bytes");
                }
            }
            _ => {
                let view = [r.below(2) as u8; 32];
                let fill = r.below(256) as u8;
                let b = vec![fill; r.below(500) as usize];
                c.put_listing(peer, &view, b"/usr", digest_of(&b), Rc::new(b));
                if let Some((d, b)) = c.listing(peer, &view, b"/usr") {
                    assert_eq!(d, digest_of(&b));
                }
            }
        }
        assert!(c.used() <= budget, "the cache holds {} bytes, over its budget {budget}", c.used());
    }
}
