"""Benchmarks of the near-duplicate engine (``MinHasher`` + ``LSH``) on the real traces.

Corpus: the 1,965 responses of ``../shared/data/traces_normalised.jsonl`` (12.84 MB of UTF-8).
Everything is measured in one process, peers in the same run on the same data:

1. **Signature throughput** from raw strings: dlcot ``MinHasher(num_perm=128, ngram=5,
   unit="word").signatures(texts)`` (``num_threads=1`` and default threads) against rensa
   ``RMinHash(num_perm=128, seed=0)`` and datasketch ``MinHash(num_perm=128).update_batch``,
   both fed the same word 5-gram shingles made in Python by :func:`py_shingles` (a
   reproduction of dlcot's normalisation and tokenizer; the peers' time includes it, since
   they need it). Also rensa's bulk ``RMinHash.digest_matrix_from_token_sets`` (no Python
   object per document) for reference.
2. **Estimate accuracy**: ``(sig_a == sig_b).mean()`` against the exact Jaccard of the same
   shingle sets (``MinHasher.jaccard_pairs``), in units of the binomial standard deviation
   ``sqrt(J(1-J)/num_perm)``.
3. **Planted near-duplicates**: every trace plus 1-3 lightly edited copies (word edits,
   paragraph swaps; seeded), shuffled, clustered with ``LSH(threshold=0.8)``; recall of the
   pairs with exact Jaccard >= 0.9 (all of them, found exactly by prefix filtering), precision
   of the reported pairs, detection probability against exact Jaccard with the theoretical
   S-curve (``results/lsh_scurve.png``).
4. **10^6 records for ``dlcot dedup``** (``--make-jsonl``), and an exact-Jaccard audit of the
   run's rejects (``--audit-dedup``).

Run::

    python bench/minhash_bench.py            # prints the tables, writes results/minhash.md + lsh_scurve.png
    python -m pytest bench/test_bench_minhash.py   # pytest-benchmark + the issue's floors (asserted)
    python bench/minhash_bench.py --make-jsonl /tmp/mh_million.jsonl --records 1000000
    /usr/bin/time -v dlcot dedup /tmp/mh_million.jsonl -o /tmp/out.jsonl --field response --threshold 0.8 -q
    python bench/minhash_bench.py --audit-dedup /tmp/mh_million.jsonl /tmp/out.rejects.jsonl
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import math
import os
import platform
import random
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import dlcot
import numpy as np
from dlcot import _core as core
from _machine import commit as current_commit, cpu_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "traces_normalised.jsonl"
RESULTS = Path(__file__).resolve().parent / "results"

NUM_PERM = 128
NGRAM = 5
THRESHOLD = 0.8

# ---------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Corpus:
    ids: list[str]
    problems: list[str]
    texts: list[str]  # the responses

    @property
    def mb(self) -> float:
        return mb_of(self.texts)


def mb_of(texts: Iterable[str]) -> float:
    """UTF-8 size in MB (10**6 bytes)."""
    return sum(len(t.encode("utf-8")) for t in texts) / 1e6


@lru_cache(maxsize=1)
def load_corpus() -> Corpus:
    ids, problems, texts = [], [], []
    with DATA.open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            ids.append(rec["id"])
            problems.append(rec.get("problem") or "")
            texts.append(rec["response"])
    return Corpus(ids, problems, texts)


def hasher() -> core.MinHasher:
    return core.MinHasher(num_perm=NUM_PERM, ngram=NGRAM, unit="word")


# ---------------------------------------------------------------------------- Python-side shingling

# dlcot's normalisation (rust/src/minhash.rs): lower-case, LaTeX spacing commands read as space,
# then units by the regex \w+|[^\w\s] (whitespace runs vanish between units).
LATEX_SPACING = re.compile(r"\\(?:[,;:!]|\s|(?:q?quad|left|right|displaystyle|textstyle)(?![a-z]))")
TOKEN = re.compile(r"\w+|[^\w\s]")


def py_units(text: str) -> list[str]:
    return TOKEN.findall(LATEX_SPACING.sub(" ", text.lower()))


def py_shingles(text: str, n: int = NGRAM) -> list[str]:
    """Word ``n``-gram shingles joined by one space, in order (what ``MinHasher.shingles`` gives)."""
    toks = py_units(text)
    if not toks:
        return []
    if len(toks) < n:
        return [" ".join(toks)]
    return [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]


def shingle_mismatches(texts: Sequence[str], m: core.MinHasher | None = None) -> list[int]:
    """Indices of the texts whose Python shingles differ from ``MinHasher.shingles``."""
    m = m or hasher()
    return [i for i, t in enumerate(texts) if py_shingles(t) != m.shingles(t)]


def hash_path_mismatches(texts: Sequence[str], m: core.MinHasher | None = None) -> tuple[list[int], list[int], int]:
    """Checks the hashing path (what signatures use) against the Python shingles.

    ``MinHasher.shingles`` goes through the general tokenizer, while signatures hash units on
    their own path (with an ASCII fast path). Returns (indices whose number of distinct shingle
    hashes differs from the number of distinct Python shingles; ASCII texts whose hash set is not
    that of the same text with ``"#é"`` appended (forcing the general path) minus the at most two
    shingles that touch the suffix; how many ASCII texts were checked).
    """
    m = m or hasher()
    count, path, n = [], [], 0
    for i, t in enumerate(texts):
        if len(m.shingle_hashes(t)) != len(set(py_shingles(t))):
            count.append(i)
        if t.isascii() and len(py_units(t)) >= NGRAM:
            n += 1
            a = set(m.shingle_hashes(t).tolist())
            b = set(m.shingle_hashes(t + "#é").tolist())
            if not (a <= b and len(b - a) <= 2):
                path.append(i)
    return count, path, n


def codepoint_sweep() -> dict[str, Any]:
    """Every code point c in "a" + c + "b": where do Rust units and the Python regex differ?

    Groups the differences by cause; the unassigned ones (category Cn in Python's
    ``unicodedata``) are Unicode-version skew between Python and Rust's std, not a logic difference.
    """
    m = core.MinHasher(num_perm=1, ngram=1, unit="word")
    diff: dict[str, list[int]] = collections.defaultdict(list)
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        s = "a" + chr(cp) + "b"
        if m.shingles(s) != py_units(s):
            diff[unicodedata.category(chr(cp))].append(cp)
    return {"unicode": unicodedata.unidata_version, "by_category": {k: v for k, v in sorted(diff.items())}}


# ---------------------------------------------------------------------------- peers


def rensa_signatures(texts: Sequence[str]) -> np.ndarray:
    """rensa fed the Python shingles, one ``RMinHash`` per text (the documented API)."""
    from rensa import RMinHash

    out = np.empty((len(texts), NUM_PERM), dtype=np.uint32)
    for i, t in enumerate(texts):
        h = RMinHash(num_perm=NUM_PERM, seed=0)
        h.update(py_shingles(t))
        out[i] = h.digest()
    return out


def rensa_bulk_signatures(texts: Sequence[str]) -> Any:
    """rensa's bulk path: all shingle lists at once, a digest matrix back."""
    from rensa import RMinHash

    return RMinHash.digest_matrix_from_token_sets([py_shingles(t) for t in texts], NUM_PERM, 0)


def datasketch_signatures(texts: Sequence[str]) -> np.ndarray:
    from datasketch import MinHash

    out = []
    for t in texts:
        h = MinHash(num_perm=NUM_PERM)
        h.update_batch([s.encode("utf-8") for s in py_shingles(t)])
        out.append(h.digest())
    return np.asarray(out)


def datasketch_subset(texts: Sequence[str], every: int = 4) -> list[str]:
    """The fixed datasketch subset when the full corpus is too slow: every ``every``-th trace."""
    return list(texts[::every])


# ---------------------------------------------------------------------------- timing


def time_interleaved(
    cases: dict[str, Callable[[], Any]], rounds: int, warmup: bool = True, reps: dict[str, int] | None = None
) -> dict[str, dict[str, list[float]]]:
    """Runs the cases round-robin (so drift hits them alike), ``reps[name]`` times per round
    (default 1; more for the fast cases, so their median sees the whole period); wall and CPU
    seconds per run."""
    if warmup:
        for call in cases.values():
            call()
    out: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in cases}
    for _ in range(rounds):
        for name, call in cases.items():
            for _ in range((reps or {}).get(name, 1)):
                c0, t0 = time.process_time(), time.perf_counter()
                call()
                out[name]["wall"].append(time.perf_counter() - t0)
                out[name]["cpu"].append(time.process_time() - c0)
    return out


@dataclass
class Row:
    name: str
    threads: str
    mb: float
    wall: list[float]
    cpu: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def mbps(self) -> float:
        return self.mb / self.median

    @property
    def mb_per_cpu_s(self) -> float:
        return self.mb / statistics.median(self.cpu)


def throughput(corpus: Corpus, rounds: int = 5, ds_every: int = 1, ds_rounds: int = 3) -> list[Row]:
    """Signature throughput rows (dlcot, rensa, datasketch), measured in this process.

    datasketch runs on every ``ds_every``-th trace (all when 1), with dlcot timed on the same
    subset too, so its ratio is like for like.
    """
    texts = corpus.texts
    m = hasher()
    threads = os.cpu_count() or 1
    cases = {
        "dlcot 1t": lambda: m.signatures(texts, num_threads=1),
        "dlcot all": lambda: m.signatures(texts),
        "rensa": lambda: rensa_signatures(texts),
        "rensa bulk": lambda: rensa_bulk_signatures(texts),
    }
    fast = {"dlcot 1t": 3, "dlcot all": 3}
    res = time_interleaved(cases, rounds, reps=fast)
    sub = datasketch_subset(texts, ds_every)
    ds_cases = {
        "dlcot 1t (datasketch subset)": lambda: m.signatures(sub, num_threads=1),
        "dlcot all (datasketch subset)": lambda: m.signatures(sub),
        "datasketch": lambda: datasketch_signatures(sub),
    }
    res.update(time_interleaved(ds_cases, ds_rounds, warmup=False,
                                reps={"dlcot 1t (datasketch subset)": 5, "dlcot all (datasketch subset)": 5}))
    mb, mb_sub = corpus.mb, mb_of(sub)
    desc = {
        "dlcot 1t": ("dlcot `MinHasher.signatures`, num_threads=1", "1", mb),
        "dlcot all": ("dlcot `MinHasher.signatures`, default threads", str(threads), mb),
        "rensa": ("rensa `RMinHash` per text + Python shingling", "1", mb),
        "rensa bulk": ("rensa `digest_matrix_from_token_sets` + Python shingling", "1 (+rensa's)", mb),
        "dlcot 1t (datasketch subset)": ("dlcot, num_threads=1, datasketch's subset", "1", mb_sub),
        "dlcot all (datasketch subset)": ("dlcot, default threads, datasketch's subset", str(threads), mb_sub),
        "datasketch": ("datasketch `MinHash.update_batch` + Python shingling", "1", mb_sub),
    }
    return [Row(desc[k][0], desc[k][1], desc[k][2], v["wall"], v["cpu"]) for k, v in res.items()]


def ratios(rows: list[Row]) -> dict[str, float]:
    """dlcot's speed-up over each peer, as ratios of MB/s medians (like-for-like subsets)."""
    by = {r.name: r for r in rows}
    d1 = by["dlcot `MinHasher.signatures`, num_threads=1"]
    da = by["dlcot `MinHasher.signatures`, default threads"]
    r = by["rensa `RMinHash` per text + Python shingling"]
    rb = by["rensa `digest_matrix_from_token_sets` + Python shingling"]
    ds = by["datasketch `MinHash.update_batch` + Python shingling"]
    s1 = by["dlcot, num_threads=1, datasketch's subset"]
    sa = by["dlcot, default threads, datasketch's subset"]
    return {
        "vs rensa, 1 thread": d1.mbps / r.mbps,
        "vs rensa, all threads": da.mbps / r.mbps,
        "vs rensa bulk, 1 thread": d1.mbps / rb.mbps,
        "vs rensa bulk, all threads": da.mbps / rb.mbps,
        "vs datasketch, 1 thread": s1.mbps / ds.mbps,
        "vs datasketch, all threads": sa.mbps / ds.mbps,
        # per core, robust to a busy machine: this process's CPU seconds (1-thread rows only)
        "vs rensa, 1 thread, CPU time": d1.mb_per_cpu_s / r.mb_per_cpu_s,
        "vs datasketch, 1 thread, CPU time": s1.mb_per_cpu_s / ds.mb_per_cpu_s,
    }


def breakdown(corpus: Corpus, rounds: int = 3) -> dict[str, float]:
    """Where the time goes (best of ``rounds``, seconds over the corpus, 1 thread)."""
    texts = corpus.texts

    def best(f: Callable[[], Any]) -> float:
        f()
        ts = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        return min(ts)

    out: dict[str, float] = {}
    for npm in (1, 32, NUM_PERM):
        mh = core.MinHasher(num_perm=npm, ngram=NGRAM, unit="word")
        out[f"dlcot signatures, num_perm={npm}"] = best(lambda mh=mh: mh.signatures(texts, num_threads=1))
    m = hasher()
    out["dlcot shingle_hashes (distinct, sorted) per text"] = best(lambda: [m.shingle_hashes(t) for t in texts])
    out["Python: lower + LaTeX sub + findall"] = best(lambda: [py_units(t) for t in texts])
    out["Python: py_shingles (units + join 5-grams)"] = best(lambda: [py_shingles(t) for t in texts])
    sh = [py_shingles(t) for t in texts]
    from rensa import RMinHash

    def rensa_only() -> None:
        for s in sh:
            h = RMinHash(num_perm=NUM_PERM, seed=0)
            h.update(s)
            h.digest()

    out["rensa RMinHash.update on ready shingles"] = best(rensa_only)
    out["rensa bulk on ready shingles"] = best(lambda: RMinHash.digest_matrix_from_token_sets(sh, NUM_PERM, 0))
    out["shingles (total)"] = float(sum(len(s) for s in sh))
    out["shingles (distinct per text, total)"] = float(sum(len(set(s)) for s in sh))
    return out


# ---------------------------------------------------------------------------- edits

WS = re.compile(r"(\s+)")
LIGHT_RATE = 0.012
MAX_RATE = 0.10


def vocabulary(texts: Sequence[str], rng: random.Random, size: int = 20000) -> list[str]:
    words = [w for t in texts for w in t.split()]
    return rng.sample(words, min(size, len(words)))


def edit_words(text: str, rate: float, rng: random.Random, vocab: Sequence[str]) -> str:
    """Each whitespace-separated word is, with probability ``rate``, substituted, deleted or
    followed by an inserted word (a third each); whitespace (paragraphs) is kept."""
    parts = WS.split(text)
    for i in range(0, len(parts), 2):
        if not parts[i]:
            continue
        u = rng.random()
        if u < rate / 3:
            parts[i] = rng.choice(vocab)
        elif u < 2 * rate / 3:
            parts[i] = ""
        elif u < rate:
            parts[i] = parts[i] + " " + rng.choice(vocab)
    return "".join(parts)


def swap_paragraphs(text: str, swaps: int, rng: random.Random) -> str:
    ps = text.split("\n\n")
    for _ in range(swaps):
        if len(ps) < 2:
            break
        i, j = rng.sample(range(len(ps)), 2)
        ps[i], ps[j] = ps[j], ps[i]
    return "\n\n".join(ps)


def planted_copy(text: str, rng: random.Random, vocab: Sequence[str]) -> tuple[str, float, int]:
    """One near-duplicate: a word-edit rate uniform in [0, 1.2%] (one copy in three) or in
    [0, 10%] (the others), then 0-2 paragraph swaps; this spreads the copies' exact Jaccard with
    their original over 0.5-1.0. Returns (text, rate, swaps)."""
    rate = LIGHT_RATE * rng.random() if rng.random() < 1 / 3 else MAX_RATE * rng.random()
    swaps = rng.randint(0, 2)
    return swap_paragraphs(edit_words(text, rate, rng, vocab), swaps, rng), rate, swaps


# ---------------------------------------------------------------------------- 2. estimate accuracy

LADDER = (0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32)


def accuracy_pairs(corpus: Corpus, n_originals: int = 400, seed: int = 1) -> tuple[list[tuple[str, str]], list[str]]:
    """Real pairs: (a) a trace vs copies edited at each rate of ``LADDER`` (and one paragraph
    swap), for ``n_originals`` traces; (b) every pair of traces of the same problem."""
    rng = random.Random(seed)
    vocab = vocabulary(corpus.texts, rng)
    pairs: list[tuple[str, str]] = []
    kinds: list[str] = []
    idx = rng.sample(range(len(corpus.texts)), min(n_originals, len(corpus.texts)))
    for i in idx:
        t = corpus.texts[i]
        for rate in LADDER:
            pairs.append((t, swap_paragraphs(edit_words(t, rate, rng, vocab), 1, rng)))
            kinds.append("edited copy")
    by_problem: dict[str, list[int]] = collections.defaultdict(list)
    for i, p in enumerate(corpus.problems):
        if p:
            by_problem[p].append(i)
    for members in by_problem.values():
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                pairs.append((corpus.texts[members[a]], corpus.texts[members[b]]))
                kinds.append("same problem")
    return pairs, kinds


@dataclass
class Accuracy:
    n: int
    n_interior: int  # 0 < J < 1
    within2: float
    within3: float
    mean_err: float
    mean_abs_err: float
    mean_z: float
    sd_z: float
    exact_at_1: str  # J == 1 pairs estimated 1.0
    exact_at_0: str  # J == 0 pairs estimated 0.0
    bins: list[tuple[str, int, float, float, float, float]] = field(default_factory=list)  # label, n, mean err, sd err, theory sd, within2
    by_kind: dict[str, tuple[int, float, float, float]] = field(default_factory=dict)


def accuracy(sig_a: np.ndarray, sig_b: np.ndarray, exact: np.ndarray, kinds: Sequence[str] | None = None) -> Accuracy:
    est = (sig_a == sig_b).mean(axis=1)
    err = est - exact
    interior = (exact > 0) & (exact < 1)
    sd = np.sqrt(exact * (1 - exact) / sig_a.shape[1])
    z = np.where(interior, err / np.where(interior, sd, 1), 0.0)
    zi = z[interior]
    at1, at0 = exact == 1, exact == 0
    acc = Accuracy(
        n=len(exact),
        n_interior=int(interior.sum()),
        within2=float((np.abs(zi) <= 2).mean()),
        within3=float((np.abs(zi) <= 3).mean()),
        mean_err=float(err[interior].mean()),
        mean_abs_err=float(np.abs(err[interior]).mean()),
        mean_z=float(zi.mean()),
        sd_z=float(zi.std()),
        exact_at_1=f"{int((est[at1] == 1).sum())}/{int(at1.sum())}",
        exact_at_0=f"{int((est[at0] == 0).sum())}/{int(at0.sum())}",
    )
    edges = [0, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0]
    for lo, hi in zip(edges, edges[1:]):
        s = interior & (exact >= lo) & (exact < hi)
        if s.any():
            acc.bins.append((f"[{lo:.1f}, {hi:.1f})", int(s.sum()), float(err[s].mean()), float(err[s].std()),
                             float(np.sqrt((sd[s] ** 2).mean())), float((np.abs(z[s]) <= 2).mean())))
    if kinds is not None:
        k = np.asarray(kinds)
        for name in dict.fromkeys(kinds):
            s = interior & (k == name)
            if s.any():
                acc.by_kind[name] = (int(s.sum()), float((np.abs(z[s]) <= 2).mean()), float((np.abs(z[s]) <= 3).mean()), float(err[s].mean()))
    return acc


def run_accuracy(corpus: Corpus, n_originals: int = 400, with_rensa: bool = True) -> tuple[Accuracy, Accuracy | None]:
    pairs, kinds = accuracy_pairs(corpus, n_originals)
    m = hasher()
    a = m.signatures([p[0] for p in pairs])
    b = m.signatures([p[1] for p in pairs])
    exact = m.jaccard_pairs(pairs)
    ours = accuracy(a, b, exact, kinds)
    theirs = None
    if with_rensa:
        ra = rensa_signatures([p[0] for p in pairs])
        rb = rensa_signatures([p[1] for p in pairs])
        theirs = accuracy(ra, rb, exact, kinds)
    return ours, theirs


# ---------------------------------------------------------------------------- 3. planted near-duplicates


@dataclass
class Planted:
    texts: list[str]
    family: np.ndarray  # the original each item comes from
    original: np.ndarray  # bool: the untouched original
    problem: list[str]
    rate: np.ndarray  # word-edit rate (0 for originals)


def build_planted(corpus: Corpus, n_originals: int | None = None, seed: int = 0) -> Planted:
    """Originals (untouched) + 1-3 edited copies of each, shuffled with a seeded RNG."""
    rng = random.Random(seed)
    vocab = vocabulary(corpus.texts, rng)
    idx = list(range(len(corpus.texts)))
    if n_originals is not None and n_originals < len(idx):
        idx = sorted(rng.sample(idx, n_originals))
    items: list[tuple[str, int, bool, str, float]] = []
    for f in idx:
        t = corpus.texts[f]
        items.append((t, f, True, corpus.problems[f], 0.0))
        for _ in range(rng.randint(1, 3)):
            c, rate, _swaps = planted_copy(t, rng, vocab)
            items.append((c, f, False, corpus.problems[f], rate))
    rng.shuffle(items)
    return Planted(
        texts=[x[0] for x in items],
        family=np.array([x[1] for x in items]),
        original=np.array([x[2] for x in items]),
        problem=[x[3] for x in items],
        rate=np.array([x[4] for x in items]),
    )


def all_pairs_at_least(hash_sets: Sequence[np.ndarray], t_num: int = 90, t_den: int = 100) -> set[tuple[int, int]]:
    """Candidate pairs that include every pair with exact Jaccard >= t = t_num/t_den.

    Prefix filtering (Chaudhuri et al. 2006; Bayardo et al. 2007): order each set's shingles by
    corpus frequency (rarest first, ties by hash); two sets with J >= t share a shingle among
    their first |X| - ceil(t|X|) + 1, and their sizes are within a factor t. Exact, no hashing
    of signatures involved; the candidates still need the exact Jaccard computed.
    """
    sizes = np.array([len(h) for h in hash_sets], dtype=np.int64)
    if sizes.sum() == 0:
        return set()
    allh = np.concatenate([np.asarray(h, dtype=np.uint64) for h in hash_sets])
    item = np.repeat(np.arange(len(hash_sets)), sizes)
    _, inv, cnt = np.unique(allh, return_inverse=True, return_counts=True)
    df = cnt[inv]
    order = np.lexsort((allh, df, item))  # by item, then rarest first, then hash
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.arange(len(order)) - starts[item[order]]
    prefix = sizes - (t_num * sizes + t_den - 1) // t_den + 1  # |X| - ceil(t|X|) + 1
    keep = order[rank < prefix[item[order]]]
    tok, who = inv[keep], item[keep]
    o = np.lexsort((who, tok))
    tok, who = tok[o], who[o]
    bounds = np.flatnonzero(np.diff(tok)) + 1
    out: set[tuple[int, int]] = set()
    for g in np.split(who, bounds):
        if len(g) < 2:
            continue
        g = g.tolist()
        for a in range(len(g)):
            for b in range(a + 1, len(g)):
                i, j = g[a], g[b]
                si, sj = sizes[i], sizes[j]
                if t_den * min(si, sj) >= t_num * max(si, sj):
                    out.add((i, j) if i < j else (j, i))
    return out


def exact_jaccard(hash_sets: Sequence[np.ndarray], pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    out = np.empty(len(pairs))
    for k, (i, j) in enumerate(pairs):
        a, b = hash_sets[i], hash_sets[j]
        if len(a) == 0 and len(b) == 0:
            out[k] = 1.0
            continue
        inter = len(np.intersect1d(a, b, assume_unique=True))
        out[k] = inter / (len(a) + len(b) - inter)
    return out


@dataclass
class PlantedResult:
    n_items: int
    n_families: int
    bands: int
    rows: int
    seconds_signatures: float
    seconds_lsh: dict[str, float]
    pairs: np.ndarray  # (k, 2) item pairs judged
    pair_kind: np.ndarray  # "family" / "same problem" / "other"
    exact: np.ndarray
    same: dict[str, np.ndarray]  # verify -> same-cluster flag per pair
    clusters: dict[str, np.ndarray]
    keep: dict[str, np.ndarray]
    candidates: dict[str, int]
    links: dict[str, int]
    reported: dict[str, dict[str, Any]]
    recall: dict[str, dict[str, tuple[int, int]]]
    copy_vs_original: np.ndarray  # exact J of each copy with its original (distribution)
    enumerated_at_least_09: int


def cluster_pairs(cid: np.ndarray) -> list[tuple[int, int]]:
    groups: dict[int, list[int]] = collections.defaultdict(list)
    for i, c in enumerate(cid.tolist()):
        groups[c].append(i)
    out = []
    for g in groups.values():
        for a in range(len(g)):
            for b in range(a + 1, len(g)):
                out.append((g[a], g[b]))
    return out


def run_planted(corpus: Corpus, n_originals: int | None = None, seed: int = 0) -> PlantedResult:
    pl = build_planted(corpus, n_originals, seed)
    m = hasher()
    t0 = time.perf_counter()
    sigs = m.signatures(pl.texts)
    t_sig = time.perf_counter() - t0
    hash_sets = [m.shingle_hashes(t) for t in pl.texts]

    # pairs to judge: every pair within a family, every pair of items of the same problem, and
    # every pair with exact J >= 0.9 anywhere (prefix filter), plus whatever LSH reports below
    fam_members: dict[int, list[int]] = collections.defaultdict(list)
    for i, f in enumerate(pl.family.tolist()):
        fam_members[f].append(i)
    kind: dict[tuple[int, int], str] = {}
    for g in fam_members.values():
        for a in range(len(g)):
            for b in range(a + 1, len(g)):
                kind[(min(g[a], g[b]), max(g[a], g[b]))] = "family"
    by_problem: dict[str, list[int]] = collections.defaultdict(list)
    for i, p in enumerate(pl.problem):
        if p:
            by_problem[p].append(i)
    for g in by_problem.values():
        for a in range(len(g)):
            for b in range(a + 1, len(g)):
                kind.setdefault((min(g[a], g[b]), max(g[a], g[b])), "same problem")
    enumerated = all_pairs_at_least(hash_sets, 90, 100)
    for p in enumerated:
        kind.setdefault(p, "other")

    cl: dict[str, np.ndarray] = {}
    kp: dict[str, np.ndarray] = {}
    secs: dict[str, float] = {}
    cands: dict[str, int] = {}
    links: dict[str, int] = {}
    lsh = None
    for verify in (True, False):
        key = "verify" if verify else "no verify"
        t0 = time.perf_counter()
        lsh = core.LSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        lsh.insert(sigs)
        cid, keep = lsh.clusters(verify=verify)
        secs[key] = time.perf_counter() - t0
        cl[key], kp[key] = np.asarray(cid), np.asarray(keep)
        cands[key], links[key] = lsh.candidates, lsh.links
        for p in cluster_pairs(cl[key]):
            kind.setdefault(p, "other")
    assert lsh is not None
    pairs = np.array(sorted(kind), dtype=np.int64).reshape(-1, 2)
    pair_kind = np.array([kind[tuple(p)] for p in pairs.tolist()])
    exact = exact_jaccard(hash_sets, [tuple(p) for p in pairs.tolist()])
    jmap = {tuple(p): j for p, j in zip(pairs.tolist(), exact.tolist())}

    same = {k: cl[k][pairs[:, 0]] == cl[k][pairs[:, 1]] for k in cl}
    recall: dict[str, dict[str, tuple[int, int]]] = {}
    reported: dict[str, dict[str, Any]] = {}
    hi = exact >= 0.9
    for k in cl:
        recall[k] = {"all": (int((same[k] & hi).sum()), int(hi.sum()))}
        for name in ("family", "same problem", "other"):
            s = hi & (pair_kind == name)
            recall[k][name] = (int((same[k] & s).sum()), int(s.sum()))
        cp = cluster_pairs(cl[k])
        jc = np.array([jmap[p] for p in cp]) if cp else np.zeros(0)
        nk = [(i, int(cl[k][i])) for i in range(len(pl.texts)) if not kp[k][i]]
        jk = np.array([jmap[(min(a, b), max(a, b))] for a, b in nk]) if nk else np.zeros(0)
        reported[k] = {
            "cluster_pairs": len(cp),
            "cluster_pairs_ge_07": int((jc >= 0.7).sum()),
            "cluster_pairs_min": float(jc.min()) if len(jc) else float("nan"),
            "kept_pairs": len(nk),
            "kept_pairs_ge_07": int((jk >= 0.7).sum()),
            "kept_pairs_min": float(jk.min()) if len(jk) else float("nan"),
            "cluster_pairs_other_family": sum(pl.family[a] != pl.family[b] for a, b in cp),
            "clusters": len(np.unique(cl[k])),
            "removed": int((~kp[k]).sum()),
            "max_cluster": int(np.bincount(cl[k]).max()),
        }
    orig_of = {int(pl.family[i]): i for i in range(len(pl.texts)) if pl.original[i]}
    cvo = np.array([jmap[(min(i, orig_of[int(pl.family[i])]), max(i, orig_of[int(pl.family[i])]))]
                    for i in range(len(pl.texts)) if not pl.original[i]])
    n_enum = sum(1 for p in enumerated if jmap[p] >= 0.9)
    return PlantedResult(
        n_items=len(pl.texts), n_families=len(fam_members), bands=lsh.bands, rows=lsh.rows,
        seconds_signatures=t_sig, seconds_lsh=secs, pairs=pairs, pair_kind=pair_kind, exact=exact,
        same=same, clusters=cl, keep=kp, candidates=cands, links=links, reported=reported, recall=recall,
        copy_vs_original=cvo, enumerated_at_least_09=n_enum,
    )


def s_curve(s: np.ndarray, bands: int, rows: int) -> np.ndarray:
    return 1 - (1 - s**rows) ** bands


def verified_curve(s: np.ndarray, bands: int, rows: int, num_perm: int = NUM_PERM, threshold: float = THRESHOLD) -> np.ndarray:
    """Approximate detection with verification: candidate AND binomial estimate >= threshold
    (treated as independent; ignores transitive links through a third item)."""
    k0 = math.ceil(threshold * num_perm - 1e-9)
    out = []
    for x in np.atleast_1d(s):
        p = sum(math.comb(num_perm, k) * x**k * (1 - x) ** (num_perm - k) for k in range(k0, num_perm + 1))
        out.append(p)
    return s_curve(s, bands, rows) * np.array(out)


def detection_bins(exact: np.ndarray, same: np.ndarray, width: float = 0.05) -> list[tuple[float, float, int, float]]:
    """(bin low, bin high, pairs, share in the same cluster) per Jaccard bin."""
    out = []
    nb = int(round(1 / width))
    for b in range(nb):
        lo, hi = b * width, (b + 1) * width
        s = (exact >= lo) & ((exact < hi) if b < nb - 1 else (exact <= hi))
        out.append((lo, hi, int(s.sum()), float(same[s].mean()) if s.any() else float("nan")))
    return out


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


def plot_scurve(res: PlantedResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = np.linspace(0, 1, 401)
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=120)
    ax.plot(s, s_curve(s, res.bands, res.rows), color="0.35", lw=1.6,
            label=f"theory, candidate: $1-(1-s^{{{res.rows}}})^{{{res.bands}}}$")
    ax.plot(s, verified_curve(s, res.bands, res.rows), color="0.35", lw=1.2, ls="--",
            label=f"theory, candidate and estimate >= {THRESHOLD} (binomial)")
    for key, color, marker in (("verify", "C0", "o"), ("no verify", "C3", "s")):
        bins = detection_bins(res.exact, res.same[key])
        xs, ys, lo, hi, ns = [], [], [], [], []
        for a, b, n, share in bins:
            if n == 0:
                continue
            k = int(round(share * n))
            w = wilson(k, n)
            xs.append((a + b) / 2)
            ys.append(share)
            lo.append(max(0.0, share - w[0]))
            hi.append(max(0.0, w[1] - share))
            ns.append(n)
        ax.errorbar(xs, ys, yerr=[lo, hi], fmt=marker, color=color, ms=5, capsize=2, lw=1,
                    label=f"measured, LSH clusters ({'verify=True' if key == 'verify' else 'verify=False'})")
        if key == "verify":
            for x, n in zip(xs, ns):
                ax.text(x, 1.075, f"{n}", ha="center", va="center", fontsize=6.5, color="0.3", rotation=90)
    ax.axvline(THRESHOLD, color="0.7", lw=0.8, ls=":")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.03, 1.12)
    ax.set_xlabel("exact Jaccard of word 5-gram shingle sets (bins of 0.05)")
    ax.set_ylabel("share of pairs in the same cluster")
    ax.set_title(f"dlcot LSH(threshold={THRESHOLD}, num_perm={NUM_PERM}): bands={res.bands}, rows={res.rows}\n"
                 f"{res.n_items:,} items ({res.n_families:,} real traces + edited copies); numbers on top: pairs per bin; "
                 "bars: 95% Wilson intervals",
                 fontsize=9.5)
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(0.005, 0.93))
    ax.grid(alpha=0.25)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------------------- 4. a big file for `dlcot dedup`


def light_edit_fast(text: str, rng: random.Random, vocab: Sequence[str], max_rate: float = 0.02) -> str:
    """A cheap light edit for millions of records: ``rate * words`` splices (rate uniform in
    [0, max_rate]) at random word boundaries (substitute / delete / insert a word), then one
    paragraph swap with probability 0.3."""
    n_words = text.count(" ") + text.count("\n") + 1
    for _ in range(int(max_rate * rng.random() * n_words + 0.5)):
        j = text.find(" ", rng.randrange(len(text))) if text else -1
        if j < 0:
            continue
        end = text.find(" ", j + 1)
        end = len(text) if end < 0 else end
        kind = rng.randrange(3)
        if kind == 0:
            text = text[: j + 1] + rng.choice(vocab) + text[end:]
        elif kind == 1:
            text = text[:j] + text[end:]
        else:
            text = text[: j + 1] + rng.choice(vocab) + " " + text[j + 1 :]
    if rng.random() < 0.3:
        text = swap_paragraphs(text, 1, rng)
    return text


def make_jsonl(path: Path, records: int, seed: int = 0) -> tuple[int, float]:
    """Writes ``records`` JSON lines (id, problem, response, answer), each a random real trace
    with a light edit of its response. Returns (records, GB written)."""
    corpus = load_corpus()
    rng = random.Random(seed)
    vocab = vocabulary(corpus.texts, rng)
    answers = []
    with DATA.open(encoding="utf-8") as f:
        for line in f:
            answers.append(json.loads(line).get("answer"))
    head = [json.dumps({"problem": p}, ensure_ascii=False)[1:-1] for p in corpus.problems]
    tail = [json.dumps({"answer": a}, ensure_ascii=False)[1:-1] for a in answers]
    n = len(corpus.texts)
    size = 0
    with open(path, "w", encoding="utf-8") as out:
        for i in range(records):
            k = rng.randrange(n)
            resp = light_edit_fast(corpus.texts[k], rng, vocab)
            line = (f'{{"id": "m{i}", {head[k]}, "response": {json.dumps(resp, ensure_ascii=False)}, {tail[k]}}}\n')
            size += out.write(line)
    return records, size / 1e9


def audit_dedup(jsonl: Path, rejects: Path, families: int = 12, seed: int = 0) -> list[dict[str, Any]]:
    """Checks a ``dlcot dedup`` run over a :func:`make_jsonl` file against exact Jaccard.

    Takes ``families`` traces whose problem occurs once in the corpus (so the problem names the
    trace every record was copied from), collects all their copies from ``jsonl`` and their
    clusters from ``rejects`` (a kept record is its own cluster), and compares with the exact
    Jaccard of every pair within each family: the connected components of the J >= threshold
    graph (what an exact clustering would keep), recall of pairs with J >= 0.9, and the exact J
    of every (removed, kept) pair.
    """
    from scipy import sparse

    corpus = load_corpus()
    rng = random.Random(seed)
    count = collections.Counter(corpus.problems)
    unique = [i for i, p in enumerate(corpus.problems) if p and count[p] == 1]
    chosen = sorted(rng.sample(unique, families), key=lambda i: len(corpus.texts[i]))
    key_of = {json.dumps({"problem": corpus.problems[i]}, ensure_ascii=False)[1:-1].encode("utf-8"): i for i in chosen}
    members: dict[int, list[tuple[int, str]]] = {i: [] for i in chosen}
    with open(jsonl, "rb") as f:
        for idx, line in enumerate(f):
            a = line.find(b'"problem": ')
            b = line.find(b', "response": ', a)
            i = key_of.get(line[a:b])
            if i is not None:
                members[i].append((idx, json.loads(line)["response"]))
    wanted = {idx for ms in members.values() for idx, _ in ms}
    root: dict[int, int] = {}
    pat = re.compile(rb'"index": (\d+),.*?"cluster": (\d+)')
    with open(rejects, "rb") as f:
        for line in f:
            mt = pat.search(line, 0, 2000)
            if mt and int(mt.group(1)) in wanted:
                root[int(mt.group(1))] = int(mt.group(2))
    m = hasher()
    out = []
    for i in chosen:
        ms = members[i]
        idx = np.array([k for k, _ in ms])
        cl = np.array([root.get(k, k) for k in idx.tolist()])  # kept: its own cluster
        sets = [m.shingle_hashes(t) for _, t in ms]
        allh = np.concatenate(sets)
        _, inv = np.unique(allh, return_inverse=True)
        rows = np.repeat(np.arange(len(sets)), [len(x) for x in sets])
        x = sparse.csr_matrix((np.ones(len(inv), dtype=np.int32), (rows, inv)), shape=(len(sets), inv.max() + 1))
        inter = (x @ x.T).toarray().astype(np.float64)
        size = np.diag(inter).copy()
        jac = inter / (size[:, None] + size[None, :] - inter)
        iu = np.triu_indices(len(sets), 1)
        jp = jac[iu]
        same = cl[iu[0]] == cl[iu[1]]
        n_comp = sparse.csgraph.connected_components(sparse.csr_matrix(jac >= THRESHOLD), directed=False)[0]
        pos = {k: n for n, k in enumerate(idx.tolist())}
        removed = [n for n, k in enumerate(idx.tolist()) if cl[n] != k]
        jk = np.array([jac[n, pos[int(cl[n])]] for n in removed if int(cl[n]) in pos])
        out.append({
            "trace": corpus.ids[i],
            "words": len(corpus.texts[i].split()),
            "records": len(ms),
            "kept": int((cl == idx).sum()),
            "exact_components": int(n_comp),
            "pairs": len(jp),
            "pairs_ge_09": int((jp >= 0.9).sum()),
            "recall_09": float(same[jp >= 0.9].mean()) if (jp >= 0.9).any() else float("nan"),
            "pairs_ge_08": int((jp >= THRESHOLD).sum()),
            "median_pair_j": float(np.median(jp)),
            "kept_vs_removed_ge_07": f"{int((jk >= 0.7).sum())}/{len(jk)}",
            "kept_vs_removed_min": float(jk.min()) if len(jk) else float("nan"),
            "cross_family_roots": sum(1 for n in removed if int(cl[n]) not in pos),
        })
    return out


# ---------------------------------------------------------------------------- report


def machine() -> str:
    cpu = cpu_model()
    commit = current_commit()
    try:
        from importlib.metadata import version

        peers = f"rensa {version('rensa')}, datasketch {version('datasketch')}"
    except Exception:  # noqa: BLE001
        peers = "peers: versions unknown"
    try:
        import hashlib

        so = Path(core.__file__)
        built = datetime.datetime.fromtimestamp(so.stat().st_mtime, datetime.timezone.utc).strftime("%H:%M UTC")
        ext = f"`{so.name}` sha256 {hashlib.sha256(so.read_bytes()).hexdigest()[:12]} built {built}"
    except OSError:
        ext = "extension file unknown"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"commit `{commit}`, {ext}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"dlcot {dlcot.__version__}, {peers}, numpy {np.__version__}, {when}, load average before the run {load}")


def fmt_pct(k: int, n: int) -> str:
    return f"{k:,}/{n:,} ({100 * k / n:.2f}%)" if n else "0/0"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7, help="timed rounds per throughput case (datasketch: --ds-rounds)")
    ap.add_argument("--ds-rounds", type=int, default=3)
    ap.add_argument("--ds-every", type=int, default=1, help="datasketch on every N-th trace (1: all)")
    ap.add_argument("--accuracy-originals", type=int, default=400)
    ap.add_argument("--planted-originals", type=int, default=None, help="originals to plant copies of (default: all)")
    ap.add_argument("--no-sweep", action="store_true", help="skip the code-point sweep (~10 s)")
    ap.add_argument("--out", type=Path, default=RESULTS / "minhash.md", help="markdown file ('-': none)")
    ap.add_argument("--plot", type=Path, default=RESULTS / "lsh_scurve.png")
    ap.add_argument("--make-jsonl", type=Path, default=None, metavar="PATH",
                    help="only write --records lightly edited copies of the traces to PATH (for `dlcot dedup`) and exit")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--audit-dedup", type=Path, nargs=2, default=None, metavar=("IN", "REJECTS"),
                    help="only check a `dlcot dedup` run over a --make-jsonl file against exact Jaccard and exit")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"{DATA} is absent", file=sys.stderr)
        return 1
    if args.audit_dedup is not None:
        rows = audit_dedup(*args.audit_dedup)
        cols = list(rows[0])
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for r in rows:
            print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
        hi = sum(r["pairs_ge_09"] for r in rows)
        found = sum(round(r["recall_09"] * r["pairs_ge_09"]) for r in rows if r["pairs_ge_09"])
        good, total = (sum(int(r["kept_vs_removed_ge_07"].split("/")[k]) for r in rows) for k in (0, 1))
        print(f"\nall {len(rows)} families: {sum(r['records'] for r in rows):,} records, kept {sum(r['kept'] for r in rows):,} "
              f"(exact J >= {THRESHOLD} components: {sum(r['exact_components'] for r in rows):,}); pairs with J >= 0.9 in one "
              f"cluster: {found:,}/{hi:,}; (removed, kept) pairs with J >= 0.7: {good:,}/{total:,} ({100 * good / total:.2f}%); "
              f"removed records whose kept record is another family's: {sum(r['cross_family_roots'] for r in rows)}")
        return 0
    if args.make_jsonl is not None:
        t0 = time.perf_counter()
        n, gb = make_jsonl(args.make_jsonl, args.records)
        print(f"wrote {n:,} records, {gb:.2f} GB, to {args.make_jsonl} in {time.perf_counter() - t0:.0f} s")
        return 0
    corpus = load_corpus()
    header = machine()
    t_start = time.perf_counter()

    def log(*a: Any) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f} s]", *a, file=sys.stderr, flush=True)

    log("shingle check ...")
    m = hasher()
    bad_resp = shingle_mismatches(corpus.texts, m)
    bad_prob = shingle_mismatches(corpus.problems, m)
    hp_count, hp_path, hp_n = hash_path_mismatches(corpus.texts + corpus.problems, m)
    sweep = None if args.no_sweep else codepoint_sweep()

    log("throughput ...")
    rows = throughput(corpus, args.rounds, args.ds_every, args.ds_rounds)
    rat = ratios(rows)
    log("breakdown ...")
    bd = breakdown(corpus)
    log("accuracy ...")
    acc, acc_rensa = run_accuracy(corpus, args.accuracy_originals)
    log("planted ...")
    t0 = time.perf_counter()
    res = run_planted(corpus, args.planted_originals)
    log(f"  planted took {time.perf_counter() - t0:.1f} s")
    plot_scurve(res, args.plot)

    L: list[str] = []
    L += [
        "# Near-duplicate engine: MinHash signatures and LSH",
        "",
        f"Corpus: `../shared/data/traces_normalised.jsonl`, {len(corpus.texts):,} responses, {corpus.mb:.2f} MB (UTF-8). "
        f"Signatures: num_perm={NUM_PERM}, word {NGRAM}-grams, seed 0.",
        "",
        header + ".",
        "",
        "## Shingling: Python reproduction vs `MinHasher.shingles`",
        "",
        "`py_shingles` (bench/minhash_bench.py): `str.lower`, LaTeX spacing -> space "
        "(`\\\\(?:[,;:!]|\\s|(?:q?quad|left|right|displaystyle|textstyle)(?![a-z]))`), "
        "`re.findall(r\"\\w+|[^\\w\\s]\")`, 5-grams joined by one space (1-4 tokens: one shingle; none: none).",
        "",
        f"* responses whose shingle lists differ: **{len(bad_resp)} / {len(corpus.texts):,}**",
        f"* problems whose shingle lists differ: **{len(bad_prob)} / {len(corpus.problems):,}**",
        f"* the hashing path that signatures use: texts (responses + problems) whose number of distinct shingle "
        f"hashes (`shingle_hashes`) differs from the number of distinct Python shingles: **{len(hp_count)}**; "
        f"ASCII texts whose hashes differ from the general (non-ASCII) path's: **{len(hp_path)} / {hp_n:,}**",
    ]
    if sweep is not None:
        cats = sweep["by_category"]
        total = sum(len(v) for v in cats.values())
        assigned = {k: v for k, v in cats.items() if k != "Cn"}
        L += [
            f"* code-point sweep (`\"a\" + chr(c) + \"b\"` for every c; Python's Unicode {sweep['unicode']}): "
            f"{total:,} differ; {sum(len(v) for v in assigned.values()):,} of them assigned in Python "
            "(" + ", ".join(f"{k}: {len(v)}" for k, v in assigned.items()) + "), "
            f"{len(cats.get('Cn', [])):,} unassigned in Python's tables (Cn: Unicode-version skew). "
            "The assigned ones are combining marks and circled letters with the Unicode `Other_Alphabetic` "
            "property (Rust's `char::is_alphanumeric` counts them as word characters, Python's `\\w` does not: "
            "`\"किताब\"` is 1 unit in dlcot, 5 in Python; `\"aⓐb\"` 1 vs 3) and U+001C..U+001F "
            "(Python's `\\s`, not Rust's `is_whitespace`). None occurs in the corpus.",
        ]
    L += ["", "## 1. Signature throughput (raw strings -> 128 x u32 per text)", ""]
    L += ["| what | threads | corpus MB | MB/s (median) | MB/s (best) | MB per CPU-s | runs |",
          "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        L.append(f"| {r.name} | {r.threads} | {r.mb:.2f} | {r.mbps:.2f} | {r.mb / min(r.wall):.2f} | "
                 f"{r.mb_per_cpu_s:.2f} | {len(r.wall)} |")
    floors = {"vs rensa, 1 thread": 5, "vs rensa, all threads": 5, "vs datasketch, 1 thread": 50, "vs datasketch, all threads": 50,
              "vs rensa, 1 thread, CPU time": 5, "vs datasketch, 1 thread, CPU time": 50}
    L += ["", "| dlcot speed-up | ratio of MB/s medians (wall; CPU-time rows: MB per CPU-s) | floor (issue) | |",
          "|---|---:|---:|---|"]
    for k, v in rat.items():
        fl = floors.get(k)
        L.append(f"| {k} | {v:.2f}x | {'>= ' + str(fl) + 'x' if fl else '-'} | "
                 f"{'' if fl is None else ('met' if v >= fl else '**missed**')} |")
    ds_note = ("all traces" if args.ds_every == 1 else
               f"every {args.ds_every}th trace ({rows[-1].mb:.2f} MB), dlcot timed on the same subset for its ratio")
    L += [
        "",
        f"Peers' times include the Python shingling (`py_shingles`), which they need. Rounds interleaved "
        f"(round-robin, {args.rounds} rounds; datasketch's block {args.ds_rounds}) after one warm-up, the fast dlcot "
        f"rows run 3-5 times per round; datasketch: {ds_note}. "
        "`MB per CPU-s` counts this process's CPU time (all threads).",
        "",
        "Where the time goes (1 thread, best of 3, whole corpus):",
        "",
        "| step | seconds | MB/s |",
        "|---|---:|---:|",
    ]
    for k, v in bd.items():
        if k.startswith("shingles"):
            continue
        L.append(f"| {k} | {v:.3f} | {corpus.mb / v:.1f} |")
    perm_s = bd[f"dlcot signatures, num_perm={NUM_PERM}"] - bd["dlcot signatures, num_perm=1"]
    tot_s = bd[f"dlcot signatures, num_perm={NUM_PERM}"]
    py_s = bd["Python: py_shingles (units + join 5-grams)"]
    L += [
        "",
        f"Shingles: {int(bd['shingles (total)']):,} in all, {int(bd['shingles (distinct per text, total)']):,} "
        f"distinct within their text ({100 * bd['shingles (distinct per text, total)'] / bd['shingles (total)']:.0f}%). "
        f"In dlcot, the 127 extra permutations (num_perm=128 minus num_perm=1) cost {perm_s:.3f} s of {tot_s:.3f} s "
        f"({100 * perm_s / tot_s:.0f}%; {1e9 * perm_s / (bd['shingles (distinct per text, total)'] * (NUM_PERM - 1)):.2f} ns "
        "per distinct shingle x permutation); the rest is normalising, tokenizing and hashing. "
        f"The peers' time is mostly the Python shingling ({py_s:.2f} s, {corpus.mb / py_s:.1f} MB/s): "
        f"with free hashing a Python-shingling peer cannot beat {corpus.mb / py_s:.1f} MB/s, so 5x it needs "
        f"{5 * corpus.mb / py_s:.0f} MB/s from dlcot.",
        "",
        "## 2. Estimate accuracy: `(sig_a == sig_b).mean()` vs exact Jaccard",
        "",
        f"{acc.n:,} real pairs: {args.accuracy_originals} random traces each vs copies with word-edit rates "
        f"{', '.join(f'{100 * x:g}%' for x in LADDER)} (+1 paragraph swap), and every pair of traces of the same "
        f"problem. Exact Jaccard: `MinHasher.jaccard_pairs` (same shingles). z = (estimate - J) / sqrt(J(1-J)/{NUM_PERM}), "
        f"over the {acc.n_interior:,} pairs with 0 < J < 1.",
        "",
        "| | pairs | within 2 sd | within 3 sd | mean error | mean abs error | mean z | sd of z |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| dlcot | {acc.n_interior:,} | {100 * acc.within2:.2f}% | {100 * acc.within3:.2f}% | {acc.mean_err:+.4f} | "
        f"{acc.mean_abs_err:.4f} | {acc.mean_z:+.3f} | {acc.sd_z:.3f} |",
    ]
    if acc_rensa is not None:
        L.append(f"| rensa (same pairs, same shingles) | {acc_rensa.n_interior:,} | {100 * acc_rensa.within2:.2f}% | "
                 f"{100 * acc_rensa.within3:.2f}% | {acc_rensa.mean_err:+.4f} | {acc_rensa.mean_abs_err:.4f} | "
                 f"{acc_rensa.mean_z:+.3f} | {acc_rensa.sd_z:.3f} |")
    L += ["| binomial theory | | 95.45% | 99.73% | 0 | | 0 | 1 |", "",
          "| exact J (dlcot) | pairs | mean error | sd of error | theory sd | within 2 sd |", "|---|---:|---:|---:|---:|---:|"]
    for lab, n, me, se, ts, w2 in acc.bins:
        L.append(f"| {lab} | {n:,} | {me:+.4f} | {se:.4f} | {ts:.4f} | {100 * w2:.1f}% |")
    L += ["", "| pairs (dlcot) | n (0<J<1) | within 2 sd | within 3 sd | mean error |", "|---|---:|---:|---:|---:|"]
    for name, (n, w2, w3, me) in acc.by_kind.items():
        L.append(f"| {name} | {n:,} | {100 * w2:.2f}% | {100 * w3:.2f}% | {me:+.4f} |")
    L += ["", f"Pairs with J = 1 estimated exactly 1: {acc.exact_at_1}; with J = 0 estimated 0: {acc.exact_at_0} "
          "(none of either kind when 0/0).", ""]

    # planted
    cvo = res.copy_vs_original
    hist_edges = [0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.0000001]
    hist = np.histogram(cvo, bins=hist_edges)[0]
    L += [
        "## 3. Planted near-duplicates, clustered with `LSH(threshold=0.8)`",
        "",
        f"Every trace ({res.n_families:,}) untouched, plus 1-3 copies each ({res.n_items - res.n_families:,} copies): "
        "each whitespace word substituted / deleted / followed by an inserted word (a third each; words drawn from "
        f"the corpus) with probability drawn uniformly from [0, {100 * LIGHT_RATE:g}%] (one copy in three) or [0, {100 * MAX_RATE:g}%] "
        "(the others), then 0-2 swaps of two `\\n\\n` paragraphs; "
        f"seed 0; all {res.n_items:,} items shuffled. `c.LSH(threshold=0.8)` chose bands={res.bands}, rows={res.rows}; "
        f"`insert(sigs)`, `clusters()`. Exact Jaccard on word 5-gram shingles (`MinHasher.shingle_hashes`).",
        "",
        "Exact Jaccard of each copy with its original:",
        "",
        "| J | " + " | ".join(
            (f"[{a:g}, {b:g})" if b <= 1 else "= 1") for a, b in zip(hist_edges, hist_edges[1:])) + " |",
        "|---|" + "---:|" * len(hist) + "",
        "| copies | " + " | ".join(f"{h:,}" for h in hist) + " |",
        "",
        f"(median {np.median(cvo):.3f}, 10th percentile {np.percentile(cvo, 10):.3f}, min {cvo.min():.3f}.)",
        "",
        f"Pairs judged: {len(res.pairs):,} (all pairs within a family, all pairs of items of the same problem, "
        f"every pair anywhere with exact J >= 0.9 found by exact prefix filtering "
        f"({res.enumerated_at_least_09:,}), and every pair LSH put in one cluster).",
        "",
        "| | verify=True | verify=False |",
        "|---|---:|---:|",
    ]
    rv, rn = res.recall["verify"], res.recall["no verify"]
    pv, pn = res.reported["verify"], res.reported["no verify"]
    L += [
        f"| **recall**, pairs with exact J >= 0.9 in one cluster (floor >= 0.95) | {fmt_pct(*rv['all'])} | {fmt_pct(*rn['all'])} |",
        f"| ... of which within a family | {fmt_pct(*rv['family'])} | {fmt_pct(*rn['family'])} |",
        f"| ... of which across families (same problem / other) | {fmt_pct(rv['same problem'][0] + rv['other'][0], rv['same problem'][1] + rv['other'][1])} "
        f"| {fmt_pct(rn['same problem'][0] + rn['other'][0], rn['same problem'][1] + rn['other'][1])} |",
        f"| **precision**, pairs in one cluster with exact J >= 0.7 (floor >= 99%) | {fmt_pct(pv['cluster_pairs_ge_07'], pv['cluster_pairs'])} "
        f"| {fmt_pct(pn['cluster_pairs_ge_07'], pn['cluster_pairs'])} |",
        f"| precision, (removed item, its cluster's kept item) with J >= 0.7 | {fmt_pct(pv['kept_pairs_ge_07'], pv['kept_pairs'])} "
        f"| {fmt_pct(pn['kept_pairs_ge_07'], pn['kept_pairs'])} |",
        f"| lowest exact J in one cluster / removed-vs-kept | {pv['cluster_pairs_min']:.3f} / {pv['kept_pairs_min']:.3f} "
        f"| {pn['cluster_pairs_min']:.3f} / {pn['kept_pairs_min']:.3f} |",
        f"| cluster pairs joining two different originals' families | {pv['cluster_pairs_other_family']:,} | {pn['cluster_pairs_other_family']:,} |",
        f"| clusters / removed / largest cluster | {pv['clusters']:,} / {pv['removed']:,} / {pv['max_cluster']} "
        f"| {pn['clusters']:,} / {pn['removed']:,} / {pn['max_cluster']} |",
        f"| candidates / links (`lsh.candidates`, `lsh.links`) | {res.candidates['verify']:,} / {res.links['verify']:,} "
        f"| {res.candidates['no verify']:,} / {res.links['no verify']:,} |",
        f"| seconds: LSH insert + clusters (default threads) | {res.seconds_lsh['verify']:.3f} | {res.seconds_lsh['no verify']:.3f} |",
        "",
        f"Signatures of the {res.n_items:,} items: {res.seconds_signatures:.2f} s (default threads).",
        "",
        "Detection probability against exact Jaccard (`results/lsh_scurve.png`; theory: candidate probability "
        f"`1-(1-s^{res.rows})^{res.bands}`, and that times P(binomial estimate >= {THRESHOLD}) for verified links):",
        "",
        "| exact J | pairs | in one cluster, verify=True | verify=False | theory (candidate) | theory (verified) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    bv = detection_bins(res.exact, res.same["verify"])
    bn = detection_bins(res.exact, res.same["no verify"])
    for (lo, hi, n, sv), (_, _, _, sn) in zip(bv, bn):
        if n == 0:
            continue
        mid = np.array([(lo + hi) / 2])
        L.append(f"| [{lo:.2f}, {hi:.2f}{']' if hi >= 1 else ')'} | {n:,} | {sv:.3f} | {sn:.3f} | "
                 f"{s_curve(mid, res.bands, res.rows)[0]:.3f} | {verified_curve(mid, res.bands, res.rows)[0]:.3f} |")
    L += ["", "![LSH S-curve](lsh_scurve.png)", "", "Made with `python bench/minhash_bench.py`.", ""]
    report = "\n".join(L)
    print(report)
    if str(args.out) != "-":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
