//! Every operation checked against `BTreeMap`/`BTreeSet` over a long run of
//! pseudo-random operations: same answers, same order.
use super::*;
use alloc::collections::{BTreeMap, BTreeSet};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn map_matches_btreemap() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ours: VecMap<u32, u64> = VecMap::new();
    let mut std: BTreeMap<u32, u64> = BTreeMap::new();
    for step in 0..20_000u64 {
        let k = rng.below(300) as u32;
        match rng.below(9) {
            0 | 1 => assert_eq!(ours.insert(k, step), std.insert(k, step)),
            2 => assert_eq!(ours.remove(&k), std.remove(&k)),
            3 => assert_eq!(ours.get(&k), std.get(&k)),
            4 => {
                *ours.entry(k).or_insert(7) += 1;
                *std.entry(k).or_insert(7) += 1;
            }
            5 => {
                let hi = k + rng.below(40) as u32;
                assert!(ours.range(k..hi).map(|(a, b)| (*a, *b)).eq(std.range(k..hi).map(|(a, b)| (*a, *b))));
                assert_eq!(ours.range(..=k).next_back(), std.range(..=k).next_back());
                assert!(ours.range((Bound::Excluded(k), Bound::Unbounded)).eq(std.range((Bound::Excluded(k), Bound::Unbounded))));
            }
            6 => {
                let m = rng.below(7) + 2;
                ours.retain(|k, _| u64::from(*k) % m != 0);
                std.retain(|k, _| u64::from(*k) % m != 0);
            }
            7 => match (ours.entry(k), std.entry(k)) {
                (Entry::Occupied(o), alloc::collections::btree_map::Entry::Occupied(s)) => assert_eq!(o.remove_entry(), s.remove_entry()),
                (Entry::Vacant(v), alloc::collections::btree_map::Entry::Vacant(s)) => {
                    v.insert(step);
                    s.insert(step);
                }
                _ => panic!("entry kinds differ at step {step}"),
            },
            _ => {
                assert_eq!(ours.first_key_value(), std.first_key_value());
                assert_eq!(ours.last_key_value(), std.last_key_value());
                if rng.below(4) == 0 {
                    assert_eq!(ours.pop_first(), std.pop_first());
                }
            }
        }
        assert_eq!(ours.len(), std.len());
    }
    assert!(ours.iter().eq(std.iter()));
    assert!(ours.clone().into_iter().eq(std.clone().into_iter()));
    let mut high = ours.split_off(&150);
    let std_high = std.split_off(&150);
    assert!(ours.iter().eq(std.iter()) && high.iter().eq(std_high.iter()));
    ours.append(&mut high);
    assert!(high.is_empty() && ours.len() == std.len() + std_high.len());
}

#[test]
fn borrowed_keys_and_extract() {
    let mut m: VecMap<alloc::vec::Vec<u8>, u32> = VecMap::new();
    m.insert(b"b".to_vec(), 2);
    m.insert(b"a".to_vec(), 1);
    m.insert(b"c".to_vec(), 3);
    assert_eq!(m.get(&b"a"[..]), Some(&1));
    assert_eq!(m[&b"c"[..]], 3);
    let odd: alloc::vec::Vec<_> = m.extract_if(|_, v| *v % 2 == 1).collect();
    assert_eq!(odd, [(b"a".to_vec(), 1), (b"c".to_vec(), 3)]);
    assert_eq!(m.keys().collect::<alloc::vec::Vec<_>>(), [&b"b".to_vec()]);
}

#[test]
fn set_matches_btreeset() {
    let mut rng = Rng(42);
    let mut ours: VecSet<u64> = VecSet::new();
    let mut std: BTreeSet<u64> = BTreeSet::new();
    for _ in 0..10_000 {
        let v = rng.below(200);
        match rng.below(4) {
            0 | 1 => assert_eq!(ours.insert(v), std.insert(v)),
            2 => assert_eq!(ours.remove(&v), std.remove(&v)),
            _ => {
                assert_eq!(ours.contains(&v), std.contains(&v));
                assert!(ours.range(v..v + 20).eq(std.range(v..v + 20)));
                assert_eq!(ours.first(), std.first());
                assert_eq!(ours.last(), std.last());
            }
        }
    }
    assert!(ours.iter().eq(std.iter()));
}
