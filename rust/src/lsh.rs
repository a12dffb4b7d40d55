//! Locality-sensitive hashing over MinHash signatures, and clustering by union-find.
//!
//! A signature of `num_perm` values is cut into `bands` bands of `rows` values; two texts become
//! a candidate pair when any band is equal (Indyk & Motwani 1998; Leskovec et al., *Mining of
//! Massive Datasets*, ch. 3). `bands`/`rows` are chosen from the threshold the way datasketch
//! does: the pair minimising the weighted areas under the false-positive and false-negative
//! parts of the S-curve `1 - (1 - s^r)^b` (integrated with Simpson's rule here, with `quad` there).
//!
//! Clustering is deterministic and order-independent of how the work is split: within each band
//! bucket (members in input order), member `i` is linked to the first of the up to
//! `max_compare` earlier members whose signature agrees on at least `threshold` of positions
//! (or to the first earlier member when verification is off). The links of all buckets of all
//! bands form a graph whose connected components are the clusters; every component is named by
//! its smallest index, which is also the member that is kept. The same rule applied in Ray Data
//! groups (python/dlcot/integrations/ray.py) gives the same clusters.
//!
//! Storage can spill to a directory (signatures and one band-key column per band as flat files),
//! so a run over 10^7 texts holds one band column and the union-find array in memory, with the
//! signatures memory-mapped for verification.

use crate::error::{Error, Result};
use crate::minhash::{estimate, hash_bytes};
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The (bands, rows) pair datasketch would choose for `threshold` and `num_perm`.
pub fn optimal_params(threshold: f64, num_perm: usize, fp_weight: f64, fn_weight: f64) -> Result<(usize, usize)> {
    if !(threshold > 0.0 && threshold < 1.0) {
        return Err(Error::InvalidArgument { name: "threshold", message: format!("must be in (0, 1), got {threshold}") });
    }
    if num_perm == 0 || num_perm > 8192 {
        return Err(Error::InvalidArgument { name: "num_perm", message: format!("must be between 1 and 8192, got {num_perm}") });
    }
    if !(fp_weight >= 0.0 && fn_weight >= 0.0 && fp_weight + fn_weight > 0.0) {
        return Err(Error::InvalidArgument { name: "weights", message: "must be two non-negative numbers, not both 0".into() });
    }
    let (fpw, fnw) = (fp_weight / (fp_weight + fn_weight), fn_weight / (fp_weight + fn_weight));
    let mut best = (f64::INFINITY, (1, 1));
    for b in 1..=num_perm {
        for r in 1..=num_perm / b {
            let p = |s: f64| 1.0 - (1.0 - s.powi(r as i32)).powi(b as i32);
            let fp = simpson(p, 0.0, threshold);
            let fneg = simpson(|s| 1.0 - p(s), threshold, 1.0);
            let err = fp * fpw + fneg * fnw;
            if err < best.0 {
                best = (err, (b, r));
            }
        }
    }
    Ok(best.1)
}

fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    const N: usize = 200;
    let h = (b - a) / N as f64;
    let mut s = f(a) + f(b);
    for i in 1..N {
        s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

/// Probability that a pair with Jaccard `s` becomes a candidate.
pub fn candidate_probability(s: f64, bands: usize, rows: usize) -> f64 {
    1.0 - (1.0 - s.powi(rows as i32)).powi(bands as i32)
}

/// Band keys of one signature, one per band.
pub fn band_keys_into(sig: &[u32], bands: usize, rows: usize, out: &mut [u64]) {
    let mut small = [0u8; 4 * 64];
    let mut large = Vec::new();
    let buf: &mut [u8] = if rows <= 64 {
        &mut small
    } else {
        large.resize(rows * 4, 0);
        &mut large
    };
    for (band, o) in out.iter_mut().enumerate().take(bands) {
        let vals = &sig[band * rows..(band + 1) * rows];
        let bytes = &mut buf[..rows * 4];
        for (chunk, v) in bytes.chunks_exact_mut(4).zip(vals) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        *o = hash_bytes(bytes, band as u64);
    }
}

/// The links one bucket contributes: `(later, earlier)` pairs, members given in input order.
/// `sig(i)` returns member `i`'s signature; `threshold` None links without verification.
pub fn bucket_links<'a>(
    members: &[u32],
    sig: impl Fn(u32) -> &'a [u32],
    threshold: Option<f64>,
    max_compare: usize,
) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for (pos, &i) in members.iter().enumerate().skip(1) {
        match threshold {
            None => out.push((i, members[0])),
            Some(t) => {
                let si = sig(i);
                if let Some(&j) = members[..pos].iter().take(max_compare).find(|&&j| estimate(si, sig(j)) >= t) {
                    out.push((i, j));
                }
            }
        }
    }
    out
}

/// Union-find with path halving; a root is always its component's smallest index.
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind { parent: (0..n as u32).collect() }
    }
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[hi as usize] = lo;
        true
    }
    /// Each element's root (its component's smallest index).
    pub fn roots(mut self) -> Vec<u32> {
        (0..self.parent.len() as u32).map(|i| self.find(i)).collect()
    }
}

/// Connected components of `n` nodes linked by `links`; each node gets its component's smallest
/// index.
pub fn components(n: usize, links: &[(u32, u32)]) -> Result<Vec<u32>> {
    let mut uf = UnionFind::new(n);
    for &(a, b) in links {
        if a as usize >= n || b as usize >= n {
            return Err(Error::InvalidArgument { name: "links", message: format!("link ({a}, {b}) is out of range for {n} items") });
        }
        uf.union(a, b);
    }
    Ok(uf.roots())
}

/// The outcome of clustering.
#[derive(Clone, Debug)]
pub struct Clusters {
    /// Each item's cluster, named by the cluster's first (kept) item.
    pub roots: Vec<u32>,
    /// Candidate pairs met in buckets (each later member with its earlier ones, counted once per bucket).
    pub candidates: u64,
    /// Links that passed verification.
    pub links: u64,
}

enum Store {
    Memory { sigs: Vec<u32>, keys: Vec<Vec<u64>> },
    Disk { dir: PathBuf, sigs: BufWriter<File>, keys: Vec<BufWriter<File>> },
}

/// An LSH index that items are inserted into in order, then clustered.
pub struct Lsh {
    pub threshold: f64,
    pub num_perm: usize,
    pub bands: usize,
    pub rows: usize,
    pub max_compare: usize,
    n: usize,
    store: Store,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Io { message: format!("{what} {}: {e}", path.display()) }
}

impl Lsh {
    /// `bands`/`rows` default to [`optimal_params`]; `spill_dir` keeps signatures and band keys
    /// in files there instead of memory.
    pub fn new(
        threshold: f64,
        num_perm: usize,
        bands_rows: Option<(usize, usize)>,
        weights: (f64, f64),
        max_compare: usize,
        spill_dir: Option<&Path>,
    ) -> Result<Lsh> {
        if num_perm == 0 || num_perm > 8192 {
            return Err(Error::InvalidArgument { name: "num_perm", message: format!("must be between 1 and 8192, got {num_perm}") });
        }
        let (bands, rows) = match bands_rows {
            Some((b, r)) => {
                if b == 0 || r == 0 || b * r > num_perm {
                    return Err(Error::InvalidArgument {
                        name: "bands",
                        message: format!("bands={b} x rows={r} must be positive and use at most num_perm={num_perm} values"),
                    });
                }
                (b, r)
            }
            None => optimal_params(threshold, num_perm, weights.0, weights.1)?,
        };
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(Error::InvalidArgument { name: "threshold", message: format!("must be in (0, 1], got {threshold}") });
        }
        if max_compare == 0 {
            return Err(Error::InvalidArgument { name: "max_compare", message: "must be at least 1".into() });
        }
        let store = match spill_dir {
            None => Store::Memory { sigs: Vec::new(), keys: vec![Vec::new(); bands] },
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
                let open = |name: String| -> Result<BufWriter<File>> {
                    let p = dir.join(name);
                    File::create(&p).map(|f| BufWriter::with_capacity(1 << 20, f)).map_err(|e| io_err("cannot create", &p, e))
                };
                let sigs = open("signatures.u32".into())?;
                let keys = (0..bands).map(|b| open(format!("band{b:04}.u64"))).collect::<Result<Vec<_>>>()?;
                Store::Disk { dir: dir.to_path_buf(), sigs, keys }
            }
        };
        Ok(Lsh { threshold, num_perm, bands, rows, max_compare, n: 0, store })
    }

    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Band keys of row-major signatures, `(n, bands)` row-major.
    pub fn band_keys(&self, sigs: &[u32], threads: usize) -> Vec<u64> {
        let (np, b, r) = (self.num_perm, self.bands, self.rows);
        let n = sigs.len() / np;
        let mut out = vec![0u64; n * b];
        let work = |(row, sig): (&mut [u64], &[u32])| band_keys_into(sig, b, r, row);
        match crate::batch::parallel_pool(threads).filter(|_| n > 256) {
            Some(pool) => pool.install(|| out.par_chunks_mut(b).zip(sigs.par_chunks(np)).for_each(work)),
            None => out.chunks_mut(b).zip(sigs.chunks(np)).for_each(work),
        }
        out
    }

    /// Appends items (row-major signatures, a multiple of `num_perm` values), indexed in order.
    pub fn insert(&mut self, sigs: &[u32], threads: usize) -> Result<()> {
        if sigs.len() % self.num_perm != 0 {
            return Err(Error::InvalidArgument {
                name: "signatures",
                message: format!("must have num_perm={} columns, got {} values", self.num_perm, sigs.len()),
            });
        }
        let n = sigs.len() / self.num_perm;
        if self.n + n > u32::MAX as usize {
            return Err(Error::InvalidArgument { name: "signatures", message: "an index holds at most 2^32-1 items".into() });
        }
        let keys = self.band_keys(sigs, threads);
        let b = self.bands;
        match &mut self.store {
            Store::Memory { sigs: all, keys: cols } => {
                all.extend_from_slice(sigs);
                for (band, col) in cols.iter_mut().enumerate() {
                    col.extend(keys.iter().skip(band).step_by(b));
                }
            }
            Store::Disk { dir, sigs: sf, keys: kf } => {
                let bytes: Vec<u8> = sigs.iter().flat_map(|v| v.to_le_bytes()).collect();
                sf.write_all(&bytes).map_err(|e| io_err("cannot write to", dir, e))?;
                for (band, f) in kf.iter_mut().enumerate() {
                    let bytes: Vec<u8> = keys.iter().skip(band).step_by(b).flat_map(|v| v.to_le_bytes()).collect();
                    f.write_all(&bytes).map_err(|e| io_err("cannot write to", dir, e))?;
                }
            }
        }
        self.n += n;
        Ok(())
    }

    /// Clusters everything inserted so far (see the module docs for the rule).
    pub fn clusters(&mut self, verify: bool, threads: usize) -> Result<Clusters> {
        let n = self.n;
        let np = self.num_perm;
        let threshold = verify.then_some(self.threshold);
        let max_compare = self.max_compare;
        if let Store::Disk { dir, sigs, keys } = &mut self.store {
            sigs.flush().map_err(|e| io_err("cannot write to", dir, e))?;
            for k in keys.iter_mut() {
                k.flush().map_err(|e| io_err("cannot write to", dir, e))?;
            }
        }
        // signatures: memory, or the spilled file mapped
        let mapped;
        let disk_sigs: Vec<u32>;
        let sigs: &[u32] = match &self.store {
            Store::Memory { sigs, .. } => sigs,
            Store::Disk { dir, .. } => {
                let p = dir.join("signatures.u32");
                let f = File::open(&p).map_err(|e| io_err("cannot open", &p, e))?;
                if f.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
                    disk_sigs = Vec::new();
                    &disk_sigs
                } else {
                    // SAFETY: the file is private to this index and not modified while mapped.
                    mapped = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| io_err("cannot map", &p, e))?;
                    if cfg!(target_endian = "little") && (mapped.as_ptr() as usize) % 4 == 0 {
                        // SAFETY: aligned, little-endian u32 values written by `insert`
                        unsafe { std::slice::from_raw_parts(mapped.as_ptr() as *const u32, mapped.len() / 4) }
                    } else {
                        disk_sigs = mapped.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                        &disk_sigs
                    }
                }
            }
        };
        let sig = |i: u32| &sigs[i as usize * np..(i as usize + 1) * np];
        let mut uf = UnionFind::new(n);
        let (mut candidates, mut links) = (0u64, 0u64);
        let pool = crate::batch::parallel_pool(threads);
        for band in 0..self.bands {
            let column: std::borrow::Cow<'_, [u64]> = match &self.store {
                Store::Memory { keys, .. } => std::borrow::Cow::Borrowed(&keys[band]),
                Store::Disk { dir, .. } => {
                    let p = dir.join(format!("band{band:04}.u64"));
                    let mut bytes = Vec::with_capacity(n * 8);
                    File::open(&p).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(|e| io_err("cannot read", &p, e))?;
                    std::borrow::Cow::Owned(bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect())
                }
            };
            let mut pairs: Vec<(u64, u32)> = column.iter().enumerate().map(|(i, &k)| (k, i as u32)).collect();
            drop(column);
            match &pool {
                Some(p) => p.install(|| pairs.par_sort_unstable()),
                None => pairs.sort_unstable(),
            }
            let groups: Vec<Vec<u32>> =
                pairs.chunk_by(|a, b| a.0 == b.0).filter(|g| g.len() > 1).map(|g| g.iter().map(|p| p.1).collect()).collect();
            drop(pairs);
            candidates += groups.iter().map(|g| (g.len() - 1) as u64).sum::<u64>();
            let per_group = |g: &Vec<u32>| bucket_links(g, sig, threshold, max_compare);
            let found: Vec<Vec<(u32, u32)>> = match &pool {
                Some(p) => p.install(|| groups.par_iter().map(per_group).collect()),
                None => groups.iter().map(per_group).collect(),
            };
            for (a, b) in found.into_iter().flatten() {
                links += 1;
                uf.union(a, b);
            }
        }
        Ok(Clusters { roots: uf.roots(), candidates, links })
    }
}

/// A small in-memory LSH index for queries (benchmark items for decontamination).
pub struct QueryIndex {
    pub num_perm: usize,
    pub bands: usize,
    pub rows: usize,
    sigs: Vec<u32>,
    tables: Vec<std::collections::HashMap<u64, Vec<u32>>>,
}

impl QueryIndex {
    pub fn new(sigs: &[u32], num_perm: usize, bands: usize, rows: usize) -> QueryIndex {
        let n = sigs.len() / num_perm;
        let mut tables = vec![std::collections::HashMap::new(); bands];
        let mut keys = vec![0u64; bands];
        for i in 0..n {
            band_keys_into(&sigs[i * num_perm..(i + 1) * num_perm], bands, rows, &mut keys);
            for (t, &k) in tables.iter_mut().zip(&keys) {
                t.entry(k).or_insert_with(Vec::new).push(i as u32);
            }
        }
        QueryIndex { num_perm, bands, rows, sigs: sigs.to_vec(), tables }
    }

    /// Items whose signature agrees with `sig` on at least `threshold` of positions among the
    /// candidates, best first (ties by index), with the estimate.
    pub fn query(&self, sig: &[u32], threshold: f64) -> Vec<(u32, f64)> {
        let mut keys = vec![0u64; self.bands];
        band_keys_into(sig, self.bands, self.rows, &mut keys);
        let mut cands: Vec<u32> = keys.iter().zip(&self.tables).filter_map(|(k, t)| t.get(k)).flatten().copied().collect();
        cands.sort_unstable();
        cands.dedup();
        let np = self.num_perm;
        let mut out: Vec<(u32, f64)> = cands
            .into_iter()
            .map(|j| (j, estimate(sig, &self.sigs[j as usize * np..(j as usize + 1) * np])))
            .filter(|&(_, e)| e >= threshold)
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minhash::{MinHasher, Unit};

    #[test]
    fn params_match_datasketch() {
        // values from datasketch.lsh._optimal_param(t, 128, 0.5, 0.5)
        assert_eq!(optimal_params(0.8, 128, 0.5, 0.5).unwrap(), (9, 13));
        assert_eq!(optimal_params(0.5, 128, 0.5, 0.5).unwrap(), (25, 5));
        assert_eq!(optimal_params(0.9, 256, 0.5, 0.5).unwrap(), (9, 28));
        assert_eq!(optimal_params(0.8, 128, 0.1, 0.9).unwrap(), (14, 9));
        assert!(optimal_params(1.5, 128, 0.5, 0.5).is_err());
    }

    fn corpus() -> Vec<String> {
        let base: Vec<String> = (0..50).map(|d| (0..200).map(|w| format!("d{d}w{w} ")).collect()).collect();
        let mut out = Vec::new();
        for (d, b) in base.iter().enumerate() {
            out.push(b.clone());
            if d % 2 == 0 {
                out.push(b.replacen(&format!("d{d}w7 "), "changed ", 1));
            }
        }
        out
    }

    #[test]
    fn memory_and_disk_give_the_same_clusters() {
        let texts = corpus();
        let m = MinHasher::new(128, 5, 0, Unit::Word).unwrap();
        let sigs = m.signatures(&texts, 2);
        let mut mem = Lsh::new(0.8, 128, None, (0.5, 0.5), 8, None).unwrap();
        mem.insert(&sigs[..128 * 10], 1).unwrap();
        mem.insert(&sigs[128 * 10..], 1).unwrap();
        let a = mem.clusters(true, 2).unwrap();
        let dir = std::env::temp_dir().join(format!("dlcot-lsh-test-{}", std::process::id()));
        let mut disk = Lsh::new(0.8, 128, None, (0.5, 0.5), 8, Some(&dir)).unwrap();
        disk.insert(&sigs, 2).unwrap();
        let b = disk.clusters(true, 1).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(a.roots, b.roots);
        // each even document and its edited copy share a cluster named by the original
        let mut i = 0;
        for d in 0..50 {
            assert_eq!(a.roots[i], i as u32);
            if d % 2 == 0 {
                assert_eq!(a.roots[i + 1], i as u32);
                i += 2;
            } else {
                i += 1;
            }
        }
        assert!(a.links >= 25 && a.links <= 25 * 9, "{}", a.links);
        assert_eq!(a.candidates, a.links);
    }

    #[test]
    fn components_name_by_smallest() {
        assert_eq!(components(5, &[(4, 2), (2, 3), (1, 0)]).unwrap(), vec![0, 0, 2, 2, 2]);
        assert!(components(2, &[(0, 5)]).is_err());
    }

    #[test]
    fn query_finds_the_edited_copy() {
        let texts = corpus();
        let m = MinHasher::new(128, 5, 0, Unit::Word).unwrap();
        let sigs = m.signatures(&texts, 1);
        let idx = QueryIndex::new(&sigs, 128, 9, 13);
        let hits = idx.query(&sigs[128..256], 0.8);
        assert_eq!(hits[0].0, 1);
        assert!(hits.iter().any(|&(j, _)| j == 0));
    }
}
