//! Near-duplicate solutions and checks within one trace (DLCoT's "redundant" parts).
//!
//! A trace has tens of parts at most, so every pair can be compared exactly. Two signals, both
//! lexical (the embedding signal comes from the judging layer):
//! * Jaccard similarity of word-shingle sets (the normalisation of [`crate::minhash`]);
//! * when both parts are short (fewer than `short` words, where shingles are too few to mean much),
//!   rapidfuzz's `token_set_ratio` over the normalised words, computed here with the same
//!   algorithm (Indel distance through a bit-parallel LCS, Hyyrö 2004), scaled to 0..1.
//!
//! Clustering is leader-based and deterministic: parts are taken in order, each joins the cluster
//! of the first earlier leader it is at least `threshold` similar to, or leads a new cluster. So
//! every member is itself similar to its leader (the "redundant-of" a pruning policy cites), which
//! single-linkage would not guarantee.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::minhash::{jaccard_sorted, units, MinHasher, Unit};

/// The whitespace rapidfuzz splits tokens on: Python's `str.isspace` without U+0085 and
/// U+00A0 (checked against rapidfuzz 3 for every whitespace code point).
fn rapidfuzz_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\u{1c}'..='\u{20}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
}

/// rapidfuzz's `fuzz.token_set_ratio(a, b)` (processor None): 0..100.
pub fn token_set_ratio(a: &str, b: &str) -> f64 {
    let mut ta: Vec<&str> = a.split(rapidfuzz_space).filter(|t| !t.is_empty()).collect();
    let mut tb: Vec<&str> = b.split(rapidfuzz_space).filter(|t| !t.is_empty()).collect();
    if ta.is_empty() || tb.is_empty() {
        return 0.0;
    }
    ta.sort_unstable();
    ta.dedup();
    tb.sort_unstable();
    tb.dedup();
    let (mut inter, mut da, mut db) = (Vec::new(), Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < ta.len() || j < tb.len() {
        if j == tb.len() || (i < ta.len() && ta[i] < tb[j]) {
            da.push(ta[i]);
            i += 1;
        } else if i == ta.len() || tb[j] < ta[i] {
            db.push(tb[j]);
            j += 1;
        } else {
            inter.push(ta[i]);
            i += 1;
            j += 1;
        }
    }
    if !inter.is_empty() && (da.is_empty() || db.is_empty()) {
        return 100.0;
    }
    let chars = |v: &[&str]| -> usize {
        if v.is_empty() {
            0
        } else {
            v.iter().map(|s| s.chars().count()).sum::<usize>() + v.len() - 1
        }
    };
    let (ja, jb) = (da.join(" "), db.join(" "));
    let (ab_len, ba_len, sect_len) = (chars(&da), chars(&db), chars(&inter));
    let sep = usize::from(sect_len != 0);
    let sect_ab_len = sect_len + sep + ab_len;
    let sect_ba_len = sect_len + sep + ba_len;
    let norm = |dist: usize, lensum: usize| if lensum == 0 { 100.0 } else { 100.0 - 100.0 * dist as f64 / lensum as f64 };
    let result = norm(indel_distance(&ja, &jb), sect_ab_len + sect_ba_len);
    if sect_len == 0 {
        return result;
    }
    let sect_ab = norm(sep + ab_len, sect_len + sect_ab_len);
    let sect_ba = norm(sep + ba_len, sect_len + sect_ba_len);
    result.max(sect_ab).max(sect_ba)
}

/// Insertions + deletions turning `a` into `b` (over chars): `|a| + |b| - 2 LCS(a, b)`.
pub fn indel_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    a.len() + b.len() - 2 * lcs_len(&a, &b)
}

/// Length of the longest common subsequence, bit-parallel (64 positions of `a` per word).
fn lcs_len(a: &[char], b: &[char]) -> usize {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    let words = a.len().div_ceil(64);
    // position masks of each char of `a`
    let mut masks: std::collections::HashMap<char, Vec<u64>> = std::collections::HashMap::new();
    for (i, &c) in a.iter().enumerate() {
        masks.entry(c).or_insert_with(|| vec![0; words])[i / 64] |= 1 << (i % 64);
    }
    let mut s = vec![u64::MAX; words];
    let zero = vec![0u64; words];
    for c in b {
        let m = masks.get(c).unwrap_or(&zero);
        let mut carry = 0u64;
        for w in 0..words {
            let u = s[w] & m[w];
            let (sum1, c1) = s[w].overflowing_add(u);
            let (sum, c2) = sum1.overflowing_add(carry);
            carry = u64::from(c1 || c2);
            s[w] = sum | (s[w] - u);
        }
    }
    let tail = a.len() % 64;
    let mut zeros = 0;
    for (w, &v) in s.iter().enumerate() {
        let v = if w == words - 1 && tail != 0 { v | (u64::MAX << tail) } else { v };
        zeros += v.count_zeros() as usize;
    }
    zeros
}

/// How parts of one trace are compared.
#[derive(Clone, Debug)]
pub struct Similarity {
    hasher: MinHasher,
    /// Parts with fewer words than this also use the token-set ratio.
    pub short: usize,
}

/// A part prepared for comparison.
pub struct Prepared {
    shingles: Vec<u64>,
    words: usize,
    joined: String,
}

impl Similarity {
    pub fn new(ngram: usize, short: usize) -> crate::Result<Similarity> {
        Ok(Similarity { hasher: MinHasher::new(1, ngram, 0, Unit::Word)?, short })
    }

    pub fn prepare(&self, text: &str) -> Prepared {
        let (shingles, words) = self.hasher.shingle_set_and_units(text);
        let joined = if words < self.short { units(text, Unit::Word).join(" ") } else { String::new() };
        Prepared { shingles, words, joined }
    }

    /// Similarity in 0..1: shingle Jaccard, or the larger of it and the token-set ratio when
    /// either part is short.
    pub fn score(&self, a: &Prepared, b: &Prepared) -> f64 {
        if a.words == 0 || b.words == 0 {
            return if a.words == b.words { 1.0 } else { 0.0 };
        }
        let (mut x, mut y) = (a.shingles.clone(), b.shingles.clone());
        x.sort_unstable();
        y.sort_unstable();
        let j = jaccard_sorted(&x, &y);
        if a.words < self.short && b.words < self.short {
            j.max(token_set_ratio(&a.joined, &b.joined) / 100.0)
        } else {
            j
        }
    }

    /// Leader clustering of `texts` in order: each part's leader index and its similarity to
    /// the leader (1.0 for leaders).
    ///
    /// The shingle overlap of a part with every leader comes from one pass over an inverted
    /// index (shingle -> leaders holding it), so a trace of many distinct parts costs about its
    /// number of shingles, not parts x leaders merges of sorted sets. Scores are exact and the
    /// same as [`Similarity::score`].
    pub fn cluster(&self, texts: &[&str], threshold: f64) -> (Vec<usize>, Vec<f64>) {
        if texts.len() < 2 {
            // nothing to compare: no shingles (a 50 MB single-solution trace would spend
            // hundreds of MB on them)
            return ((0..texts.len()).collect(), vec![1.0; texts.len()]);
        }
        let prepared: Vec<Prepared> = texts.iter().map(|t| self.prepare(t)).collect();
        let mut leaders: Vec<usize> = Vec::new();
        // postings as linked lists in one arena: head[shingle] -> (leader, next) entries
        let total: usize = prepared.iter().map(|p| p.shingles.len()).sum();
        let mut head: HashMap<u64, u32, BuildHasherDefault<IdHasher>> = HashMap::with_capacity_and_hasher(total, Default::default());
        let mut arena: Vec<(u32, u32)> = Vec::with_capacity(total);
        let mut counts: Vec<u32> = Vec::new();
        // leaders a part with no shared shingle can still match: short ones (the token-set
        // ratio needs no shingle in common) and empty ones (an empty part matches those)
        let mut short_leaders: Vec<u32> = Vec::new();
        let mut empty_leaders: Vec<u32> = Vec::new();
        let mut touched: Vec<u32> = Vec::new();
        let mut of = Vec::with_capacity(texts.len());
        let mut scores = Vec::with_capacity(texts.len());
        for (i, p) in prepared.iter().enumerate() {
            touched.clear();
            for h in &p.shingles {
                let mut at = head.get(h).copied().unwrap_or(u32::MAX);
                while at != u32::MAX {
                    let (k, next) = arena[at as usize];
                    if counts[k as usize] == 0 {
                        touched.push(k);
                    }
                    counts[k as usize] += 1;
                    at = next;
                }
            }
            // the first leader, in order, at least `threshold` similar: only leaders sharing a
            // shingle, short ones (when this part is short) and empty ones can be
            let hit = if p.words == 0 {
                empty_leaders.first().map(|&k| (leaders[k as usize], 1.0))
            } else {
                if p.words < self.short {
                    touched.extend_from_slice(&short_leaders);
                }
                touched.sort_unstable();
                touched.dedup();
                touched.iter().find_map(|&k| {
                    let q = &prepared[leaders[k as usize]];
                    if q.words == 0 {
                        return None;
                    }
                    let inter = counts[k as usize] as usize;
                    let j = inter as f64 / (p.shingles.len() + q.shingles.len() - inter) as f64;
                    let s = if p.words < self.short && q.words < self.short { j.max(token_set_ratio(&p.joined, &q.joined) / 100.0) } else { j };
                    (s >= threshold).then_some((leaders[k as usize], s))
                })
            };
            for &k in &touched {
                counts[k as usize] = 0;
            }
            match hit {
                Some((l, s)) => {
                    of.push(l);
                    scores.push(s);
                }
                None => {
                    let k = leaders.len() as u32;
                    for &h in &p.shingles {
                        let slot = head.entry(h).or_insert(u32::MAX);
                        arena.push((k, *slot));
                        *slot = (arena.len() - 1) as u32;
                    }
                    if p.words == 0 {
                        empty_leaders.push(k);
                    } else if p.words < self.short {
                        short_leaders.push(k);
                    }
                    leaders.push(i);
                    counts.push(0);
                    of.push(i);
                    scores.push(1.0);
                }
            }
        }
        (of, scores)
    }
}

/// Shingle hashes are already mixed 64-bit values: hash them as themselves.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_set_ratio_matches_rapidfuzz_examples() {
        assert_eq!(token_set_ratio("fuzzy was a bear", "fuzzy fuzzy was a bear"), 100.0);
        assert_eq!(token_set_ratio("fuzzy was a bear but not a dog", "fuzzy was a bear"), 100.0);
        let r = token_set_ratio("fuzzy was a bear but not a dog", "fuzzy was a bear but not a cat");
        assert!((r - 92.3076923076923).abs() < 1e-9, "{r}");
        assert_eq!(token_set_ratio("", "a"), 0.0);
        assert_eq!(token_set_ratio("abc", "xyz"), 0.0);
    }

    #[test]
    fn lcs_over_word_boundaries() {
        let long_a: String = "ab".repeat(100);
        let long_b: String = "ba".repeat(90);
        assert_eq!(indel_distance(&long_a, &long_b), 200 + 180 - 2 * 180);
        assert_eq!(indel_distance("kitten", "sitting"), 5);
        assert_eq!(indel_distance("", "abc"), 3);
        assert_eq!(indel_distance("héllo", "hello"), 2);
    }

    #[test]
    fn leaders_are_first_and_members_are_similar() {
        let sim = Similarity::new(3, 64).unwrap();
        let a = "We square both sides to get x^2 = 4, so x = 2 or x = -2, and since x > 0, x = 2.";
        let b = "Alternatively, square both sides: x^2 = 4, so x = 2 or x = -2; x > 0 gives x = 2.";
        let c = "Let me instead think about the geometry of the circle and its tangent lines.";
        let (of, scores) = sim.cluster(&[a, c, b, a], 0.5);
        assert_eq!(of, vec![0, 1, 0, 0]);
        assert_eq!(scores[3], 1.0);
        assert!(scores[2] >= 0.5 && scores[2] < 1.0);
    }
}
