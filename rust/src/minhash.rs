//! Shingling and MinHash signatures (Broder 1997), the near-duplicate engine's first half.
//!
//! Text is normalised before shingling: lower-cased (full Unicode case mapping, as Python's
//! `str.lower`), LaTeX spacing commands (`\,` `\;` `\:` `\!` `\ `, `\quad`, `\qquad`, `\left`,
//! `\right`, `\displaystyle`, `\textstyle`) read as whitespace, and whitespace runs collapsed.
//! Word units are runs of word characters (alphanumeric or `_`) or single other non-space
//! characters, so `x=2` and `x = 2` give the same tokens; this is the regex
//! `\w+|[^\w\s]` over the normalised text (bench/ reproduces it in Python for the peers), with
//! Rust's Unicode classes: combining marks with the `Other_Alphabetic` property (Devanagari
//! vowel signs) are word characters and U+001C..U+001F are not whitespace, unlike Python's `re`.
//! Char units are the characters of the normalised text with whitespace runs as one space.
//!
//! A shingle is `ngram` consecutive units (a text shorter than that is one shingle; an empty
//! text has none). Each shingle is hashed to 64 bits (xxh3 of the unit bytes, combined over the
//! window), then permuted `num_perm` times by multiply-add-shift (`(a*h + b) >> 32`, `a` odd),
//! the scheme rensa and most Rust MinHash crates use; the signature keeps each permutation's
//! minimum. A text with no shingle has the all-`u32::MAX` signature (datasketch's convention),
//! so two empty texts look identical. Exact Jaccard over the same 64-bit shingle hashes is
//! available for small sets and for checking estimates.

use crate::batch::map_ordered;
use crate::error::{Error, Result};
use rayon::prelude::*;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// What a shingle is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Word,
    Char,
}

impl Unit {
    pub fn parse(s: &str) -> Result<Unit> {
        match s {
            "word" => Ok(Unit::Word),
            "char" => Ok(Unit::Char),
            _ => Err(Error::InvalidArgument { name: "unit", message: format!("must be \"word\" or \"char\", got {s:?}") }),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Word => "word",
            Unit::Char => "char",
        }
    }
}

/// LaTeX spacing commands read as whitespace (besides the one-symbol ones `\,` `\;` ...).
const SPACING_COMMANDS: &[&str] = &["quad", "qquad", "left", "right", "displaystyle", "textstyle"];

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// ASCII whitespace as `char::is_whitespace` sees it.
#[inline]
fn ascii_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// [`for_each_unit`] for word units: the same units, ASCII read byte by byte and only other
/// characters decoded (nearly half the bytes of real traces are in texts with some non-ASCII).
fn for_each_word<'a>(lowered: &'a str, mut emit: impl FnMut(&'a str)) {
    let b = lowered.as_bytes();
    let n = b.len();
    let ascii_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let decode = |i: usize| lowered[i..].chars().next().unwrap_or(' ');
    // end of the word run starting at `i`
    let word_end = |mut i: usize| -> usize {
        while i < n {
            let c = b[i];
            if c < 0x80 {
                if !ascii_word(c) {
                    break;
                }
                i += 1;
            } else {
                let ch = decode(i);
                if !is_word(ch) {
                    break;
                }
                i += ch.len_utf8();
            }
        }
        i
    };
    let mut i = 0;
    while i < n {
        let c = b[i];
        if c < 0x80 {
            if c == b'\\' && i + 1 < n {
                let next = b[i + 1];
                if matches!(next, b',' | b';' | b':' | b'!') || ascii_space(next) {
                    i += 2;
                    continue;
                }
                if next >= 0x80 {
                    let ch = decode(i + 1);
                    if ch.is_whitespace() {
                        i += 1 + ch.len_utf8();
                        continue;
                    }
                } else if next.is_ascii_lowercase() {
                    let mut j = i + 1;
                    while j < n && b[j].is_ascii_lowercase() {
                        j += 1;
                    }
                    if SPACING_COMMANDS.contains(&&lowered[i + 1..j]) {
                        i = j;
                        continue;
                    }
                }
            }
            if ascii_space(c) {
                i += 1;
            } else if ascii_word(c) {
                let end = word_end(i + 1);
                emit(&lowered[i..end]);
                i = end;
            } else {
                emit(&lowered[i..i + 1]);
                i += 1;
            }
        } else {
            let ch = decode(i);
            let w = ch.len_utf8();
            if ch.is_whitespace() {
                i += w;
            } else if is_word(ch) {
                let end = word_end(i + w);
                emit(&lowered[i..end]);
                i = end;
            } else {
                emit(&lowered[i..i + w]);
                i += w;
            }
        }
    }
}

/// Calls `emit` with each unit of `text` (see the module docs), in order.
fn for_each_unit<'a>(lowered: &'a str, unit: Unit, mut emit: impl FnMut(&'a str)) {
    if unit == Unit::Word {
        return for_each_word(lowered, emit);
    }
    let b = lowered.as_bytes();
    let n = b.len();
    let mut i = 0;
    // char units: the pending whitespace that becomes one space between units
    let mut pending_space = false;
    let mut any = false;
    while i < n {
        let c = lowered[i..].chars().next().unwrap_or(' ');
        let w = c.len_utf8();
        if c == '\\' && i + 1 < n {
            let next = lowered[i + 1..].chars().next().unwrap_or('a');
            if matches!(next, ',' | ';' | ':' | '!') || next.is_whitespace() {
                i += 1 + next.len_utf8();
                pending_space = true;
                continue;
            }
            if next.is_ascii_lowercase() {
                let start = i + 1;
                let mut j = start;
                while j < n && b[j].is_ascii_lowercase() {
                    j += 1;
                }
                if SPACING_COMMANDS.contains(&&lowered[start..j]) {
                    i = j;
                    pending_space = true;
                    continue;
                }
            }
        }
        if c.is_whitespace() {
            i += w;
            pending_space = true;
            continue;
        }
        match unit {
            Unit::Char => {
                if pending_space && any {
                    emit(" ");
                }
                emit(&lowered[i..i + w]);
                i += w;
            }
            Unit::Word => {
                if is_word(c) {
                    let start = i;
                    i += w;
                    while i < n {
                        let d = lowered[i..].chars().next().unwrap_or(' ');
                        if !is_word(d) {
                            break;
                        }
                        i += d.len_utf8();
                    }
                    emit(&lowered[start..i]);
                } else {
                    emit(&lowered[i..i + w]);
                    i += w;
                }
            }
        }
        pending_space = false;
        any = true;
    }
}

/// Lower-cases like Python's `str.lower` (full mapping, final sigma), cheaply for ASCII.
fn lower(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii() {
        if text.bytes().any(|c| c.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(text.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(text)
        }
    } else if text.contains('\u{3a3}') {
        // capital sigma lowers by context (final or not): the full algorithm
        std::borrow::Cow::Owned(text.to_lowercase())
    } else {
        // char by char is the same mapping without sigma; ASCII runs are copied lowered
        let mut out = String::with_capacity(text.len());
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let start = i;
            while i < b.len() && b[i] < 0x80 {
                i += 1;
            }
            out.push_str(&text[start..i]);
            let done = out.len() - (i - start);
            out[done..].make_ascii_lowercase();
            if i < b.len() {
                let ch = text[i..].chars().next().unwrap_or(' ');
                out.extend(ch.to_lowercase());
                i += ch.len_utf8();
            }
        }
        std::borrow::Cow::Owned(out)
    }
}

/// The normalised units of `text` (words or characters), as owned strings.
pub fn units(text: &str, unit: Unit) -> Vec<String> {
    let lowered = lower(text);
    let mut out = Vec::new();
    for_each_unit(&lowered, unit, |u| out.push(u.to_string()));
    out
}

#[inline]
fn mix(h: u64) -> u64 {
    // the xxh3/murmur finaliser: spreads a combined value over all 64 bits
    let mut h = h ^ (h >> 33);
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Shingling and MinHash configuration; cheap to clone, immutable.
#[derive(Clone, Debug)]
pub struct MinHasher {
    pub num_perm: usize,
    pub ngram: usize,
    pub seed: u64,
    pub unit: Unit,
    a: Vec<u64>,
    b: Vec<u64>,
}

impl MinHasher {
    pub fn new(num_perm: usize, ngram: usize, seed: u64, unit: Unit) -> Result<MinHasher> {
        if num_perm == 0 || num_perm > 8192 {
            return Err(Error::InvalidArgument { name: "num_perm", message: format!("must be between 1 and 8192, got {num_perm}") });
        }
        if ngram == 0 || ngram > 64 {
            return Err(Error::InvalidArgument { name: "ngram", message: format!("must be between 1 and 64, got {ngram}") });
        }
        // permutation parameters from a splitmix64 stream of the seed: same seed, same signatures
        let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            mix(state)
        };
        let mut a = Vec::with_capacity(num_perm);
        let mut b = Vec::with_capacity(num_perm);
        for _ in 0..num_perm {
            a.push(next() | 1);
            b.push(next());
        }
        Ok(MinHasher { num_perm, ngram, seed, unit, a, b })
    }

    /// Calls `f` with the 64-bit hash of each shingle of `text`, in order (repeats included).
    pub fn for_each_shingle_hash(&self, text: &str, mut f: impl FnMut(u64)) {
        const P: u64 = 0x0000_0100_0000_01b3;
        let lowered = lower(text);
        let n = self.ngram;
        let seed = self.seed;
        // a shingle's hash is a polynomial in its units' hashes (`sum u_k P^(len-1-k)`), kept
        // rolling over a ring of the last `n` unit hashes, then tagged with its length and mixed
        let p_top = (1..n).fold(1u64, |acc, _| acc.wrapping_mul(P));
        let finish = |h: u64, len: usize| mix(h ^ (len as u64).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ seed);
        let mut ring = [0u64; 64];
        let (mut pos, mut count, mut h) = (0usize, 0usize, 0u64);
        for_each_unit(&lowered, self.unit, |u| {
            let uh = xxh3_64(u.as_bytes());
            if count >= n {
                h = h.wrapping_sub(ring[pos].wrapping_mul(p_top));
            }
            h = h.wrapping_mul(P).wrapping_add(uh);
            ring[pos] = uh;
            pos += 1;
            if pos == n {
                pos = 0;
            }
            count += 1;
            if count >= n {
                f(finish(h, n));
            }
        });
        if count > 0 && count < n {
            f(finish(h, count));
        }
    }

    /// The distinct shingle hashes of `text`, sorted, and the number of units it has.
    /// The distinct shingle hashes of `text` (in no particular order) and its number of units.
    pub fn shingle_set_and_units(&self, text: &str) -> (Vec<u64>, usize) {
        let mut v = Vec::new();
        self.for_each_shingle_hash(text, |h| v.push(h));
        // windows = units - ngram + 1, or one shingle for a shorter non-empty text
        let units = if v.len() > 1 { v.len() + self.ngram - 1 } else { units(text, self.unit).len() };
        dedup_hashes(&mut v);
        (v, units)
    }

    /// The distinct shingle hashes of `text`, sorted.
    pub fn shingle_set(&self, text: &str) -> Vec<u64> {
        let mut v = Vec::new();
        self.for_each_shingle_hash(text, |h| v.push(h));
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The shingles of `text` as strings (units joined by a space for words, concatenated for
    /// characters), in order, repeats included: for inspection and for feeding other libraries.
    pub fn shingles(&self, text: &str) -> Vec<String> {
        let us = units(text, self.unit);
        let sep = if self.unit == Unit::Word { " " } else { "" };
        if us.is_empty() {
            return Vec::new();
        }
        if us.len() < self.ngram {
            return vec![us.join(sep)];
        }
        us.windows(self.ngram).map(|w| w.join(sep)).collect()
    }

    /// Writes the signature of `text` into `out` (`num_perm` values).
    pub fn signature_into(&self, text: &str, out: &mut [u32]) {
        out.fill(u32::MAX);
        // each distinct shingle once (about half of a trace's shingles repeat), then every
        // permutation over all of them
        thread_local! {
            static HASHES: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        HASHES.with(|cell| {
            let mut hashes = cell.borrow_mut();
            hashes.clear();
            self.for_each_shingle_hash(text, |h| hashes.push(h));
            dedup_hashes(&mut hashes);
            permute_min(&hashes, &self.a, &self.b, out);
        });
    }

    pub fn signature(&self, text: &str) -> Vec<u32> {
        let mut v = vec![0; self.num_perm];
        self.signature_into(text, &mut v);
        v
    }

    /// Signatures of many texts, row-major `(texts.len(), num_perm)`, computed on `threads`.
    pub fn signatures<S: AsRef<str> + Sync>(&self, texts: &[S], threads: usize) -> Vec<u32> {
        let np = self.num_perm;
        let mut out = vec![0u32; texts.len() * np];
        match crate::batch::parallel_pool(threads).filter(|_| texts.len() > 1) {
            None => {
                for (t, row) in texts.iter().zip(out.chunks_mut(np)) {
                    self.signature_into(t.as_ref(), row);
                }
            }
            Some(pool) => pool.install(|| {
                out.par_chunks_mut(np).zip(texts.par_iter()).with_min_len(2).for_each(|(row, t)| self.signature_into(t.as_ref(), row))
            }),
        }
        out
    }

    /// Exact Jaccard similarity of two texts' shingle sets (1.0 when both have none).
    pub fn jaccard(&self, a: &str, b: &str) -> f64 {
        jaccard_sorted(&self.shingle_set(a), &self.shingle_set(b))
    }

    /// Exact Jaccard for many pairs, in parallel.
    pub fn jaccard_pairs<S: AsRef<str> + Sync>(&self, pairs: &[(S, S)], threads: usize) -> Vec<f64> {
        map_ordered(pairs, threads, |(a, b)| self.jaccard(a.as_ref(), b.as_ref()))
    }
}

/// Drops repeated hashes (order not kept) with an open-addressing set sized to the input,
/// cheaper than sorting for the thousands of shingles of a trace.
fn dedup_hashes(hashes: &mut Vec<u64>) {
    if hashes.len() < 32 {
        hashes.sort_unstable();
        hashes.dedup();
        return;
    }
    thread_local! {
        static TABLE: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    TABLE.with(|cell| {
        let mut table = cell.borrow_mut();
        let cap = (hashes.len() * 2).next_power_of_two();
        let mask = cap - 1;
        table.clear();
        table.resize(cap, 0);
        // 0 marks an empty slot; a real 0 hash is kept aside
        let mut zero = false;
        let mut w = 0;
        for r in 0..hashes.len() {
            let h = hashes[r];
            if h == 0 {
                if !zero {
                    zero = true;
                    hashes[w] = 0;
                    w += 1;
                }
                continue;
            }
            let mut i = (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & mask;
            loop {
                let slot = table[i];
                if slot == 0 {
                    table[i] = h;
                    hashes[w] = h;
                    w += 1;
                    break;
                }
                if slot == h {
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        hashes.truncate(w);
    });
}

/// `out[j] = min(out[j], min over h of (a[j] * h + b[j]) >> 32)`: the MinHash inner loop,
/// compiled three times (baseline x86-64, AVX2, AVX-512 with native 64-bit multiplies; chosen
/// at run time) so the permutations are
/// computed several lanes at a time on CPUs that can.
fn permute_min(hashes: &[u64], a: &[u64], b: &[u64], out: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512dq") && std::arch::is_x86_feature_detected!("avx512vl") {
            // SAFETY: the CPU supports AVX-512 F/DQ/VL (checked just above).
            unsafe { permute_min_avx512(hashes, a, b, out) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { permute_min_avx2(hashes, a, b, out) };
            return;
        }
    }
    permute_min_generic(hashes, a, b, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl")]
unsafe fn permute_min_avx512(hashes: &[u64], a: &[u64], b: &[u64], out: &mut [u32]) {
    permute_min_generic(hashes, a, b, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn permute_min_avx2(hashes: &[u64], a: &[u64], b: &[u64], out: &mut [u32]) {
    permute_min_generic(hashes, a, b, out);
}

#[inline(always)]
fn permute_min_generic(hashes: &[u64], a: &[u64], b: &[u64], out: &mut [u32]) {
    let n = out.len().min(a.len()).min(b.len());
    let (a, b, out) = (&a[..n], &b[..n], &mut out[..n]);
    // four hashes per pass over the permutations: a quarter of the loads and stores of `a`,
    // `b` and `out`
    let mut pairs = hashes.chunks_exact(4);
    for q in &mut pairs {
        let (h1, h2, h3, h4) = (q[0], q[1], q[2], q[3]);
        for j in 0..n {
            let (aj, bj) = (a[j], b[j]);
            let v1 = (aj.wrapping_mul(h1).wrapping_add(bj) >> 32) as u32;
            let v2 = (aj.wrapping_mul(h2).wrapping_add(bj) >> 32) as u32;
            let v3 = (aj.wrapping_mul(h3).wrapping_add(bj) >> 32) as u32;
            let v4 = (aj.wrapping_mul(h4).wrapping_add(bj) >> 32) as u32;
            out[j] = out[j].min(v1.min(v2).min(v3.min(v4)));
        }
    }
    for &h in pairs.remainder() {
        for j in 0..n {
            let v = (a[j].wrapping_mul(h).wrapping_add(b[j]) >> 32) as u32;
            out[j] = out[j].min(v);
        }
    }
}

/// Jaccard of two sorted, deduplicated sets (1.0 when both are empty).
pub fn jaccard_sorted(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    inter as f64 / (a.len() + b.len() - inter) as f64
}

/// The share of equal positions of two signatures: the MinHash estimate of their Jaccard.
#[inline]
pub fn estimate(a: &[u32], b: &[u32]) -> f64 {
    let eq = a.iter().zip(b).filter(|(x, y)| x == y).count();
    eq as f64 / a.len().max(1) as f64
}

/// A seeded 64-bit hash of bytes (band keys, n-gram index keys).
#[inline]
pub fn hash_bytes(bytes: &[u8], seed: u64) -> u64 {
    xxh3_64_with_seed(bytes, seed)
}

/// Exact n-gram overlap against a fixed set of texts (benchmark problems, for decontamination):
/// every shingle hash of every indexed text, mapped to the texts holding it. An indexed text
/// shorter than `ngram` units is one shingle of all its units; queries look for it as a window
/// of that length too, so a short problem quoted inside a longer text is found.
pub struct NgramIndex {
    pub hasher: MinHasher,
    map: std::collections::HashMap<u64, Vec<u32>>,
    sizes: Vec<u32>,
    /// Hashers for the unit counts (< ngram) of short indexed texts.
    short: Vec<MinHasher>,
}

impl NgramIndex {
    pub fn new<S: AsRef<str> + Sync>(hasher: MinHasher, texts: &[S], threads: usize) -> Result<NgramIndex> {
        if texts.len() > u32::MAX as usize {
            return Err(Error::InvalidArgument { name: "texts", message: "an index holds at most 2^32-1 texts".into() });
        }
        let sets = map_ordered(texts, threads, |t| hasher.shingle_set(t.as_ref()));
        let mut map: std::collections::HashMap<u64, Vec<u32>> = std::collections::HashMap::new();
        for (i, set) in sets.iter().enumerate() {
            for &h in set {
                map.entry(h).or_default().push(i as u32);
            }
        }
        let mut lengths: Vec<usize> = map_ordered(texts, threads, |t| {
            let n = units(t.as_ref(), hasher.unit).len();
            if n > 0 && n < hasher.ngram {
                n
            } else {
                0
            }
        });
        lengths.retain(|&n| n > 0);
        lengths.sort_unstable();
        lengths.dedup();
        let short = lengths.into_iter().map(|k| MinHasher::new(1, k, hasher.seed, hasher.unit)).collect::<Result<Vec<_>>>()?;
        Ok(NgramIndex { hasher, map, sizes: sets.iter().map(|s| s.len() as u32).collect(), short })
    }

    pub fn len(&self) -> usize {
        self.sizes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }
    /// Distinct shingles of indexed text `i`.
    pub fn size(&self, i: usize) -> u32 {
        self.sizes[i]
    }

    /// Indexed texts sharing shingles with `text`: (index, shared distinct shingles), most shared
    /// first, ties by index; and the number of distinct shingles of `text`.
    pub fn query(&self, text: &str) -> (Vec<(u32, u32)>, u32) {
        let set = self.hasher.shingle_set(text);
        let mut hits: Vec<u32> = set.iter().filter_map(|h| self.map.get(h)).flatten().copied().collect();
        for m in &self.short {
            let windows = m.shingle_set(text);
            hits.extend(windows.iter().filter_map(|h| self.map.get(h)).flatten().copied().filter(|&i| self.sizes[i as usize] == 1));
        }
        hits.sort_unstable();
        hits.dedup_by(|a, b| a == b && self.sizes[*a as usize] == 1);
        hits.sort_unstable();
        let mut out: Vec<(u32, u32)> = hits.chunk_by(|a, b| a == b).map(|g| (g[0], g.len() as u32)).collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        (out, set.len() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mh(unit: Unit, n: usize) -> MinHasher {
        MinHasher::new(128, n, 0, unit).unwrap()
    }

    #[test]
    fn units_follow_the_regex() {
        assert_eq!(units("X=2, y_1 \\quad z", Unit::Word), ["x", "=", "2", ",", "y_1", "z"]);
        assert_eq!(units("a\\,b \\left( c \\right)", Unit::Word), ["a", "b", "(", "c", ")"]);
        assert_eq!(units("\\frac{1}{2}", Unit::Word), ["\\", "frac", "{", "1", "}", "{", "2", "}"]);
        assert_eq!(units("\\\\,x", Unit::Word), ["\\", "x"]);
        assert_eq!(units("  Ab \n c ", Unit::Char), ["a", "b", " ", "c"]);
        assert!(units("", Unit::Word).is_empty());
        assert!(units(" \\, \\quad ", Unit::Char).is_empty());
        assert_eq!(units("ΣΑΣ", Unit::Word), ["σας"]);
    }

    #[test]
    fn shingles_and_short_texts() {
        let m = mh(Unit::Word, 3);
        assert_eq!(m.shingles("a b c d"), ["a b c", "b c d"]);
        assert_eq!(m.shingles("a b"), ["a b"]);
        assert!(m.shingles("").is_empty());
        let mut hs = Vec::new();
        m.for_each_shingle_hash("a b c d", |h| hs.push(h));
        assert_eq!(hs.len(), 2);
        assert_ne!(hs[0], hs[1]);
        assert_eq!(m.shingle_set("A  B C d").len(), 2);
        assert_eq!(m.shingle_set("a b c d"), m.shingle_set("A\tb  c\\,d"));
        // "a b" as a whole-text shingle differs from a window "a b" of a 2-gram hasher? only by ngram
        assert_ne!(m.shingle_set("a b"), m.shingle_set("a b c"));
    }

    #[test]
    fn signatures_estimate_jaccard() {
        let m = mh(Unit::Word, 1);
        let a: String = (0..400).map(|i| format!("w{i} ")).collect();
        let b: String = (100..500).map(|i| format!("w{i} ")).collect();
        let exact = m.jaccard(&a, &b);
        assert!((exact - 300.0 / 500.0).abs() < 1e-12);
        let m = MinHasher::new(1024, 1, 7, Unit::Word).unwrap();
        let est = estimate(&m.signature(&a), &m.signature(&b));
        assert!((est - exact).abs() < 0.06, "{est} vs {exact}");
        assert_eq!(m.signature(""), vec![u32::MAX; 1024]);
        assert_eq!(estimate(&m.signature(&a), &m.signature(&a.to_uppercase())), 1.0);
    }

    #[test]
    fn ngram_index_counts_shared_shingles() {
        let m = MinHasher::new(1, 3, 0, Unit::Word).unwrap();
        let idx = NgramIndex::new(m, &["a b c d e", "x y z", "a b c q", "q r"], 1).unwrap();
        let (hits, n) = idx.query("A b c d f");
        assert_eq!(n, 3);
        assert_eq!(hits, vec![(0, 2), (2, 1)]);
        assert_eq!(idx.size(1), 1);
        assert!(idx.query("nothing here at all").0.is_empty());
        // a short indexed text is found inside a longer one, once
        assert_eq!(idx.query("so q r then q r").0, vec![(3, 1)]);
        assert!(idx.query("q then r").0.is_empty());
    }

    #[test]
    fn batch_equals_single_and_seed_matters() {
        let m = mh(Unit::Char, 5);
        let texts = ["hello world", "", "héllo wörld ΣΑΣ", "x"];
        let batch = m.signatures(&texts, 2);
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(&batch[i * 128..(i + 1) * 128], &m.signature(t)[..]);
        }
        let other = MinHasher::new(128, 5, 1, Unit::Char).unwrap();
        assert_ne!(other.signature("hello world"), m.signature("hello world"));
        assert!(MinHasher::new(0, 5, 0, Unit::Word).is_err());
        assert!(MinHasher::new(128, 0, 0, Unit::Word).is_err());
    }
}
