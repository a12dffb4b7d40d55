//! Shingling, MinHash signatures, exact Jaccard, n-gram index, LSH and in-trace clustering.
//!
//! Input: four config bytes (num_perm, ngram, unit, seed), then texts separated by 0xFF.
//! Checks: no panic; signatures have `num_perm` values and are deterministic and the same in a
//! batch; Jaccard lies in [0, 1] and is 1 for a text with itself; the string shingles and the
//! hashed ones agree in number; the token-set ratio lies in [0, 100]; Indel distance is
//! symmetric and 0 on equal texts.
#![no_main]

use dlcot::minhash::{MinHasher, NgramIndex, Unit};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::pieces;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let num_perm = 1 + data[0] as usize % 64;
    let ngram = 1 + data[1] as usize % 64;
    let unit = if data[2] & 1 == 0 { Unit::Word } else { Unit::Char };
    let seed = data[3] as u64;
    let texts = pieces(&data[4..], 1);
    let texts: Vec<&str> = texts.iter().map(String::as_str).take(16).collect();
    let h = MinHasher::new(num_perm, ngram, seed, unit).expect("valid parameters");

    let sigs = h.signatures(&texts, 1);
    assert_eq!(sigs.len(), texts.len() * num_perm);
    for (t, row) in texts.iter().zip(sigs.chunks(num_perm)) {
        assert_eq!(h.signature(t), row, "a signature differs alone and in a batch");
        let mut n = 0usize;
        h.for_each_shingle_hash(t, |_| n += 1);
        assert_eq!(h.shingles(t).len(), n, "string and hashed shingles differ in number for {t:?}");
        // (shingle_set is sorted; shingle_set_and_units promises no order)
        let (mut set, _units) = h.shingle_set_and_units(t);
        set.sort_unstable();
        assert_eq!(set, h.shingle_set(t));
        if !set.is_empty() {
            assert_eq!(h.jaccard(t, t), 1.0);
        }
    }
    for w in texts.windows(2) {
        let j = h.jaccard(w[0], w[1]);
        assert!((0.0..=1.0).contains(&j), "jaccard {j}");
        let e = dlcot::minhash::estimate(&h.signature(w[0]), &h.signature(w[1]));
        assert!((0.0..=1.0).contains(&e), "estimate {e}");
        // rapidfuzz-style ratios work on short parts; keep the quadratic-free LCS bounded
        let (a, b) = (&w[0][..w[0].floor_char_boundary(2000)], &w[1][..w[1].floor_char_boundary(2000)]);
        let r = dlcot::cluster::token_set_ratio(a, b);
        assert!((0.0..=100.0).contains(&r), "token_set_ratio {r}");
        let d = dlcot::cluster::indel_distance(a, b);
        assert_eq!(d, dlcot::cluster::indel_distance(b, a));
        assert!(d <= a.chars().count() + b.chars().count());
    }
    if let Some(t) = texts.first() {
        let t = &t[..t.floor_char_boundary(2000)];
        assert_eq!(dlcot::cluster::indel_distance(t, t), 0);
    }

    // within-trace clustering: leaders come first and score 1
    let sim = dlcot::cluster::Similarity::new(1 + ngram % 8, 8).expect("valid similarity");
    let (of, scores) = sim.cluster(&texts, 0.4);
    for (i, (&l, &s)) in of.iter().zip(&scores).enumerate() {
        assert!(l <= i && (0.0..=1.0).contains(&s));
        if l == i {
            assert_eq!(s, 1.0);
        }
    }

    // decontamination index and LSH over the same texts
    let idx = NgramIndex::new(h.clone(), &texts, 1).expect("index");
    for t in &texts {
        let (hits, _) = idx.query(t);
        for (i, shared) in hits {
            assert!((i as usize) < texts.len() && shared >= 1);
        }
    }
    let mut lsh = dlcot::lsh::Lsh::new(0.5, num_perm, None, (0.5, 0.5), 64, None).expect("lsh");
    lsh.insert(&sigs, 1).expect("insert");
    let c = lsh.clusters(true, 1).expect("clusters");
    assert_eq!(c.roots.len(), texts.len());
    for (i, &r) in c.roots.iter().enumerate() {
        assert!(r as usize <= i);
    }
});
