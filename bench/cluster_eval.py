"""Which defaults should ``Trace.cluster_solutions`` use? Similarities of real solution/check pairs,
read and hand-labelled.

``cluster_solutions(threshold, ngram=, short=)`` groups the solutions of a trace, and separately
its checks, leader-first: a part joins the first earlier leader it is at least ``threshold``
similar to. Similarity is the Jaccard of word ``ngram``-shingle sets, or the larger of it and
rapidfuzz's token-set ratio / 100 when both parts have fewer than ``short`` word units
(``rust/src/cluster.rs``). The defaults (0.5, 3, 24) were guessed; this script measures them.

What it does:

1. Parses the developers' traces (``../shared/data/traces_normalised.jsonl``) and reproduces
   the similarity in Python (``MinHasher(ngram=n).shingle_hashes`` for the shingle sets,
   ``MinHasher(ngram=1).shingles`` for the word units, ``dlcot._core.token_set_ratio``). It
   first checks that the reproduction gives exactly the leaders and scores of
   ``cluster_solutions`` (every trace with at most 80 parts, at the old and the recommended
   settings), so everything below is about the method as shipped.
2. Scores every pair of solutions within a trace and every pair of checks (4.4 M pairs; most
   come from a few Sky-T1 traces caught in repetition loops) and tabulates the distribution,
   raw and with each trace weighted equally.
3. Reads the hand labels in ``bench/data/cluster_pairs.jsonl`` (102 pairs: "same" = the same
   approach tried again or the same check repeated, i.e. redundant in the DLCoT sense, arXiv
   2503.16385; "different" otherwise) and reports precision / recall / F1 of "same" for
   thresholds 0.2..0.9 and for a grid of ``ngram`` x ``short``. The pairs are scored from their
   stored spans, so later parser changes do not move them; the stored SHA-1 prefixes check that
   the spans still cover the text that was read.
4. Reports, at the old and at the recommended settings, the share of traces with at least one
   redundant solution/check and the share of solution characters that would be flagged.

How the labelled pairs were drawn (seeded): the "dev" split (78 pairs) is stratified by the
old default score (bins 0-0.2, 0.2-0.3, ..., 0.9-1.0, =1.0; at most one pair per trace and
bin; both kinds) plus 12 long-part pairs (both parts >= 24 units) stratified by Jaccard; the
"validation" split (24 pairs, drawn after the dev labels were fixed, from traces not in dev) is
uniform over pairs whose 2- or 3-gram score with ``short=8`` lies in 0.2-0.7, the zone where the
threshold decides. The label file stores trace ids, str offsets into ``response`` and SHA-1
prefixes; text excerpts only for the Sky-T1 traces (NovaSky-AI/SkyThought, Apache-2.0), since the
tli and DeltaBench files state no licence. A part shorter than 200 characters was judged together with the 350
characters after it (``context`` in the file): many checks are a single opening sentence
("Let me check again.") whose content follows the span.

Usage::

    python bench/cluster_eval.py              # prints the report, writes bench/results/cluster.md
    python bench/cluster_eval.py --show 17    # one labelled pair, full text and scores
    python bench/cluster_eval.py --sample 10  # 10 fresh unlabelled pairs (JSON lines) to label
    python bench/cluster_eval.py --no-pairs   # skip the 4.4 M-pair distribution (fast)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dlcot
from dlcot import _core as core

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = REPO.parent / "shared" / "data" / "traces_normalised.jsonl"
LABELS = HERE / "data" / "cluster_pairs.jsonl"
OUT = HERE / "results" / "cluster.md"

OLD = (0.5, 3, 24)  # (threshold, ngram, short): the guessed defaults
RECOMMENDED = (0.4, 3, 8)
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
BINS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # last bin: [0.9, 1.0), then == 1.0

_UNITS = core.MinHasher(num_perm=1, ngram=1)
_HASHERS: dict[int, core.MinHasher] = {}


def _hasher(ngram: int) -> core.MinHasher:
    if ngram not in _HASHERS:
        _HASHERS[ngram] = core.MinHasher(num_perm=1, ngram=ngram)
    return _HASHERS[ngram]


# --------------------------------------------------------------------------------------------
# the similarity, reproduced
# --------------------------------------------------------------------------------------------


@dataclass
class Part:
    """One solution or check, prepared for comparison (shingle sets made on demand)."""

    text: str
    units: int
    joined: str
    _sets: dict[int, frozenset[int]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, text: str) -> Part:
        us = _UNITS.shingles(text)  # with ngram=1 each shingle is one normalised word unit
        return cls(text, len(us), " ".join(us))

    def shingles(self, ngram: int) -> frozenset[int]:
        s = self._sets.get(ngram)
        if s is None:
            s = self._sets[ngram] = frozenset(_hasher(ngram).shingle_hashes(self.text).tolist())
        return s


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    inter = len(a & b)
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0


def similarity(a: Part, b: Part, ngram: int, short: int) -> float:
    """What ``Similarity::score`` in rust/src/cluster.rs computes."""
    j = jaccard(a.shingles(ngram), b.shingles(ngram))
    if a.units == 0 or b.units == 0:
        return 1.0 if a.units == b.units else 0.0
    if a.units < short and b.units < short:
        return max(j, core.token_set_ratio(a.joined, b.joined) / 100.0)
    return j


def leaders(parts: Sequence[Part], threshold: float, ngram: int, short: int) -> tuple[list[int], list[float]]:
    """Leader clustering as in ``Similarity::cluster``."""
    lead: list[int] = []
    of: list[int] = []
    scores: list[float] = []
    for i, p in enumerate(parts):
        for l in lead:
            s = similarity(p, parts[l], ngram, short)
            if s >= threshold:
                of.append(l)
                scores.append(s)
                break
        else:
            lead.append(i)
            of.append(i)
            scores.append(1.0)
    return of, scores


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


@dataclass
class Corpus:
    recs: list[dict]
    traces: list  # dlcot.Trace, parallel to recs
    index: dict[str, int]


def load_corpus(path: Path = CORPUS) -> Corpus:
    with path.open(encoding="utf-8") as f:
        recs = [json.loads(line) for line in f if line.strip()]
    traces = dlcot.parse_batch([r["response"] for r in recs], problems=[r["problem"] for r in recs])
    return Corpus(recs, traces, {r["id"]: i for i, r in enumerate(recs)})


def parts_of(t, kind: str) -> list[str]:
    spans = t.solutions if kind == "solution" else t.checks
    return [t.text[p.start:p.end] for p in spans]


def load_labels(corpus: Corpus, path: Path = LABELS) -> list[dict]:
    """The labelled pairs, each with its two texts (checked against the stored hashes)."""
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f):
            d = json.loads(line)
            resp = corpus.recs[corpus.index[d["id"]]]["response"]
            ta, tb = resp[d["a"][0]:d["a"][1]], resp[d["b"][0]:d["b"][1]]
            for t, key in ((ta, "sha1_a"), (tb, "sha1_b")):
                if hashlib.sha1(t.encode()).hexdigest()[:12] != d[key]:
                    raise SystemExit(f"{path}:{n + 1}: span text changed for {d['id']} ({key})")
            d["n"] = n
            d["A"], d["B"] = Part.of(ta), Part.of(tb)
            out.append(d)
    return out


# --------------------------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------------------------


def check_reproduction(corpus: Corpus, settings: Sequence[tuple[float, int, int]], max_parts: int = 80) -> int:
    """Asserts the Python leaders/scores equal ``cluster_solutions``; returns traces compared."""
    n = 0
    for r, t in zip(corpus.recs, corpus.traces):
        sols, chks = parts_of(t, "solution"), parts_of(t, "check")
        if len(sols) > max_parts or len(chks) > max_parts:
            continue
        ps, pc = [Part.of(s) for s in sols], [Part.of(c) for c in chks]
        for thr, ng, sh in settings:
            cl = t.cluster_solutions(thr, ngram=ng, short=sh)
            a, b = leaders(ps, thr, ng, sh), leaders(pc, thr, ng, sh)
            got = (cl.solutions, cl.checks)
            if (a[0], b[0]) != got or any(
                abs(x - y) > 1e-12 for x, y in zip(a[1] + b[1], cl.solution_scores + cl.check_scores)
            ):
                raise SystemExit(f"reproduction differs from cluster_solutions on {r['id']} at {thr, ng, sh}")
        n += 1
    return n


def _bin(s: float) -> int:
    if s >= 1.0:
        return len(BINS) - 1
    return min(int(s * 10), len(BINS) - 2)


def pair_distribution(corpus: Corpus, settings: Sequence[tuple[int, int]]) -> dict:
    """Histogram of all within-trace pair scores per kind and (ngram, short), raw and with each
    trace weighted 1; also how much of the raw count comes from traces flagged `repetition`."""
    nb = len(BINS)
    res: dict = {}
    for kind in ("solution", "check"):
        for st in settings:
            res[(kind, st)] = {"raw": [0] * nb, "trace": [0.0] * nb, "rep": [0] * nb, "traces": 0}
    for t in corpus.traces:
        rep = any(i.kind == "repetition" for i in t.issues)
        for kind in ("solution", "check"):
            ps = [Part.of(x) for x in parts_of(t, kind)]
            m = len(ps) * (len(ps) - 1) // 2
            if m == 0:
                continue
            for st in settings:
                h = res[(kind, st)]
                h["traces"] += 1
                counts = [0] * nb
                for i in range(len(ps)):
                    for j in range(i):
                        counts[_bin(similarity(ps[i], ps[j], *st))] += 1
                for k, c in enumerate(counts):
                    h["raw"][k] += c
                    h["trace"][k] += c / m
                    if rep:
                        h["rep"][k] += c
    return res


def prf(scores: Sequence[float], gold: Sequence[bool], t: float) -> tuple[int, int, int, float, float, float]:
    tp = sum(1 for s, g in zip(scores, gold) if s >= t and g)
    fp = sum(1 for s, g in zip(scores, gold) if s >= t and not g)
    fn = sum(1 for s, g in zip(scores, gold) if s < t and g)
    p = tp / (tp + fp) if tp + fp else math.nan
    r = tp / (tp + fn) if tp + fn else math.nan
    f1 = 2 * p * r / (p + r) if tp else 0.0
    return tp, fp, fn, p, r, f1


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    ph = k / n
    d = 1 + z * z / n
    c = (ph + z * z / (2 * n)) / d
    h = z * math.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def impact(corpus: Corpus, setting: tuple[float, int, int]) -> dict:
    """Share of traces with a redundant solution/check, and of solution characters flagged."""
    thr, ng, sh = setting
    tot = {"all": [0, 0, 0, 0, 0, 0], "norep": [0, 0, 0, 0, 0, 0]}
    for t in corpus.traces:
        cl = t.cluster_solutions(thr, ngram=ng, short=sh)
        sols = t.solutions
        chars = sum(s.end - s.start for s in sols)
        red = sum(sols[i].end - sols[i].start for i in cl.redundant_solutions)
        row = [1, int(bool(cl.redundant_solutions)), int(bool(cl.redundant_checks)),
               int(bool(cl.redundant_solutions or cl.redundant_checks)), chars, red]
        keys = ["all"] if any(i.kind == "repetition" for i in t.issues) else ["all", "norep"]
        for k in keys:
            tot[k] = [a + b for a, b in zip(tot[k], row)]
    return tot


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def _f(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.2f}"


def _pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f}%" if b else "n/a"


def render(corpus: Corpus, labels: list[dict], dist: dict | None, n_repro: int, seconds: float) -> str:
    L: list[str] = []
    gold = [d["label"] == "same" for d in labels]
    n_same = sum(gold)
    L.append("# Near-duplicate solutions and checks: choosing the `cluster_solutions` defaults")
    L.append("")
    L.append(
        f"Made by `python bench/cluster_eval.py` with dlcot {dlcot.__version__} on "
        f"`../shared/data/traces_normalised.jsonl` ({len(corpus.recs):,} traces) in {seconds:.0f} s. "
        f"Labels: `bench/data/cluster_pairs.jsonl` ({len(labels)} pairs, {n_same} same / "
        f"{len(labels) - n_same} different). The Python reproduction of the similarity equals "
        f"`cluster_solutions` (leaders and scores) on all {n_repro:,} traces with at most 80 parts, "
        f"at both settings compared below."
    )
    L.append("")
    L.append(
        "**Labels.** \"same\" means the later part tries the same approach again or repeats the same check "
        "(redundant in the DLCoT sense, arXiv 2503.16385); a continuation of the earlier part, a correction, "
        "or the same template filled in for another case is \"different\". The 78 \"dev\" pairs are 66 stratified "
        "by the old score (0-0.2, then 0.1 bins, then exactly 1.0; at most one pair per trace and bin), plus 12 "
        "long-part pairs stratified by Jaccard. The 24 \"validation\" pairs were drawn after the dev labels "
        "were fixed, from other traces, uniformly over pairs whose 2- or 3-gram score with `short=8` lies in "
        "0.2-0.7 (the zone where the threshold decides). Parts shorter than 200 characters were judged "
        "together with the 350 characters after them. Precision and recall are over these samples. They are "
        "not corpus rates, since the samples over-represent the middle of the score range."
    )
    L.append("")
    old, rec = OLD, RECOMMENDED
    L.append("## Recommendation")
    L.append("")
    L.append(
        f"**threshold={rec[0]}, ngram={rec[1]}, short={rec[2]}** (was threshold={old[0]}, "
        f"ngram={old[1]}, short={old[2]})."
    )
    L.append("")
    rows = []
    for name, (thr, ng, sh) in (("old", old), ("recommended", rec)):
        sc = [similarity(d["A"], d["B"], ng, sh) for d in labels]
        tp, fp, fn, p, r, f1 = prf(sc, gold, thr)
        plo, phi = wilson(tp, tp + fp)
        rlo, rhi = wilson(tp, tp + fn)
        rows.append(
            f"| {name} ({thr}, {ng}, {sh}) | {tp} | {fp} | {fn} | {_f(p)} [{_f(plo)}-{_f(phi)}] | "
            f"{_f(r)} [{_f(rlo)}-{_f(rhi)}] | {_f(f1)} |"
        )
        for split in ("dev", "validation"):
            idx = [k for k, d in enumerate(labels) if d["split"] == split]
            t2 = prf([sc[k] for k in idx], [gold[k] for k in idx], thr)
            rows.append(f"| &nbsp;&nbsp;{split} only ({len(idx)}) | {t2[0]} | {t2[1]} | {t2[2]} | {_f(t2[3])} | {_f(t2[4])} | {_f(t2[5])} |")
    L.append("| setting (threshold, ngram, short) | TP | FP | FN | precision [95% Wilson] | recall [95% Wilson] | F1 |")
    L.append("|---|---:|---:|---:|---|---|---:|")
    L.extend(rows)
    L.append("")
    L.append(why(labels))
    L.append("")

    # ---- threshold sweep
    L.append("## Precision / recall of \"same\" by threshold (all labelled pairs)")
    L.append("")
    L.append("Each cell: precision / recall (F1). `short=0` means Jaccard only.")
    L.append("")
    configs = [(3, 24), (3, 0), (3, 8), (2, 8), (4, 8), (5, 8), (1, 8), (2, 0)]
    L.append("| ngram, short | " + " | ".join(f"t={t}" for t in THRESHOLDS) + " |")
    L.append("|---|" + "---|" * len(THRESHOLDS))
    for ng, sh in configs:
        sc = [similarity(d["A"], d["B"], ng, sh) for d in labels]
        cells = []
        for t in THRESHOLDS:
            _, _, _, p, r, f1 = prf(sc, gold, t)
            cells.append(f"{_f(p)} / {_f(r)} ({_f(f1)})")
        mark = " (old)" if (ng, sh) == old[1:] else (" (rec.)" if (ng, sh) == rec[1:] else "")
        L.append(f"| {ng}, {sh}{mark} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("By kind, at the old and recommended settings:")
    L.append("")
    L.append("| kind | pairs (same) | old P / R (F1) | recommended P / R (F1) |")
    L.append("|---|---:|---|---|")
    for kind in ("solution", "check"):
        idx = [k for k, d in enumerate(labels) if d["kind"] == kind]
        cells = []
        for thr, ng, sh in (old, rec):
            sc = [similarity(labels[k]["A"], labels[k]["B"], ng, sh) for k in idx]
            _, _, _, p, r, f1 = prf(sc, [gold[k] for k in idx], thr)
            cells.append(f"{_f(p)} / {_f(r)} ({_f(f1)})")
        L.append(f"| {kind} | {len(idx)} ({sum(gold[k] for k in idx)}) | {cells[0]} | {cells[1]} |")
    L.append("")
    L.append("`short` at ngram=3 (precision / recall):")
    L.append("")
    shorts = (0, 4, 6, 8, 10, 12, 16, 24, 48)
    ts = (0.3, 0.4, 0.5, 0.6)
    L.append("| short | " + " | ".join(f"t={t}" for t in ts) + " |")
    L.append("|---:|" + "---|" * len(ts))
    for sh in shorts:
        sc = [similarity(d["A"], d["B"], 3, sh) for d in labels]
        L.append(f"| {sh} | " + " | ".join(f"{_f(prf(sc, gold, t)[3])} / {_f(prf(sc, gold, t)[4])}" for t in ts) + " |")
    L.append("")

    # ---- labelled pairs by score bin
    L.append("## Labelled pairs by score (old setting)")
    L.append("")
    L.append("| score bin | solution pairs: same / different | check pairs: same / different |")
    L.append("|---|---|---|")
    sc_old = [similarity(d["A"], d["B"], old[1], old[2]) for d in labels]
    for k in range(len(BINS)):
        lab = "= 1.0" if k == len(BINS) - 1 else f"{BINS[k]:.1f}-{BINS[k + 1]:.1f}"
        cells = []
        for kind in ("solution", "check"):
            sel = [g for d, g, s in zip(labels, gold, sc_old) if d["kind"] == kind and _bin(s) == k]
            cells.append(f"{sum(sel)} / {len(sel) - sum(sel)}")
        L.append(f"| {lab} | {cells[0]} | {cells[1]} |")
    L.append("")

    # ---- the parts
    L.append("## How long the parts are")
    L.append("")
    L.append("| kind | parts | median word units | < 8 units | < 24 units |")
    L.append("|---|---:|---:|---:|---:|")
    for kind in ("solution", "check"):
        n = sorted(len(_UNITS.shingles(x)) for t in corpus.traces for x in parts_of(t, kind))
        med = n[len(n) // 2] if n else 0
        L.append(f"| {kind} | {len(n):,} | {med} | {_pct(sum(x < 8 for x in n), len(n))} | {_pct(sum(x < 24 for x in n), len(n))} |")
    L.append("")
    L.append(
        "A check often stops at the end of its opening sentence (\"Let me check again.\"), because a check "
        "runs to the end of its paragraph. Whether two such checks repeat each other shows only in the text "
        "after them, which the clustering does not see. Those pairs were labelled with that text in view "
        "(`context` in the label file). Extending a check span over the paragraphs that carry it out would "
        "give the lexical signal something to work with."
    )
    L.append("")

    # ---- distribution
    if dist is not None:
        L.append("## All within-trace pairs")
        L.append("")
        L.append(
            "Counts of pairs per score bin (every pair of solutions of a trace; every pair of checks). "
            "\"per trace\" weights each trace's pairs to sum to 1, so the repetition loops of a few "
            "Sky-T1 traces (hundreds of identical parts) do not dominate; \"in loops\" is the part of "
            "the raw count from traces the parser flags `repetition`."
        )
        L.append("")
        hdr = ["0-0.1"] + [f"{BINS[k]:.1f}-{BINS[k + 1]:.1f}" for k in range(1, len(BINS) - 1)] + ["1.0"]
        L.append("| kind, setting | row | " + " | ".join(hdr) + " |")
        L.append("|---|---|" + "---:|" * len(hdr))
        for (kind, st), h in dist.items():
            tag = f"{kind}s, ngram={st[0]} short={st[1]} ({h['traces']} traces)"
            L.append(f"| {tag} | raw | " + " | ".join(f"{c:,}" for c in h["raw"]) + " |")
            L.append("| | in loops | " + " | ".join(f"{c:,}" for c in h["rep"]) + " |")
            tw = sum(h["trace"])
            L.append("| | per trace | " + " | ".join(f"{100 * c / tw:.1f}%" for c in h["trace"]) + " |")
        L.append("")

    # ---- impact
    L.append("## What the clustering flags on the corpus")
    L.append("")
    L.append(
        "Share of traces with at least one redundant (non-leader) solution or check, and share of all "
        "solution characters that lie in redundant solutions. \"no loops\" leaves out the traces the "
        "parser flags `repetition`."
    )
    L.append("")
    L.append("| setting | traces | with redundant solution | with redundant check | either | solution chars flagged |")
    L.append("|---|---:|---:|---:|---:|---:|")
    for name, st in (("old", old), ("recommended", rec), ("recommended, threshold 0.5", (0.5, rec[1], rec[2]))):
        im = impact(corpus, st)
        for k in ("all", "norep"):
            n, s, c, e, ch, red = im[k]
            L.append(
                f"| {name} {st}, {'all' if k == 'all' else 'no loops'} | {n:,} | {_pct(s, n)} | {_pct(c, n)} | "
                f"{_pct(e, n)} | {_pct(red, ch)} |"
            )
    L.append("")
    L.append(READING.format(one=sum(len(t.solutions) <= 1 for t in corpus.traces), n=len(corpus.traces)))
    L.append("")

    # ---- the pairs
    L.append("## The labelled pairs")
    L.append("")
    L.append(
        "Scores at the old (o) and recommended (r) settings. Text is not reproduced here (the tli and "
        "DeltaBench traces carry no licence); `python bench/cluster_eval.py --show N` prints pair N. "
        "The JSONL keeps 100-character excerpts for the Sky-T1 traces only (NovaSky-AI/SkyThought, Apache-2.0; "
        "origin and commit in ../shared/data/README.md)."
    )
    L.append("")
    L.append("| # | split | trace | kind | parts | o | r | label | why |")
    L.append("|---:|---|---|---|---|---:|---:|---|---|")
    for d, so in zip(labels, sc_old):
        sr = similarity(d["A"], d["B"], rec[1], rec[2])
        flag_o = "*" if (so >= old[0]) != (d["label"] == "same") else ""
        flag_r = "*" if (sr >= rec[0]) != (d["label"] == "same") else ""
        L.append(
            f"| {d['n']} | {d['split']} | `{d['id']}` | {d['kind']} | {d['i']}, {d['j']} | {so:.2f}{flag_o} | "
            f"{sr:.2f}{flag_r} | {d['label']} | {d['note']} |"
        )
    L.append("")
    L.append("`*`: the setting gets this pair wrong.")
    return "\n".join(L)


def why(labels: list[dict]) -> str:
    """The reasons, with the counts taken from the labels."""
    gold = [d["label"] == "same" for d in labels]
    (t0, n0, s0), (t1, n1, s1) = OLD, RECOMMENDED
    short_old = [(d, g) for d, g in zip(labels, gold) if d["A"].units < s0 and d["B"].units < s0]
    flagged = [(d, g) for d, g in short_old if similarity(d["A"], d["B"], n0, s0) >= t0]
    tiny = [g for d, g in zip(labels, gold) if d["A"].units < s1 and d["B"].units < s1]
    fp_rec = [d for d, g in zip(labels, gold) if not g and similarity(d["A"], d["B"], n1, s1) >= t1]
    band = [g for d, g in zip(labels, gold) if 0.3 <= similarity(d["A"], d["B"], n1, s1) < t1]
    low = sum(1 for d, g in zip(labels, gold) if g and similarity(d["A"], d["B"], n1, s1) < 0.2)
    fps = "; ".join(f"#{d['n']} {d['note']}" for d in fp_rec) or "none"

    def pr(ngram: int, t: float) -> str:
        _, _, _, p, r, _ = prf([similarity(d["A"], d["B"], ngram, s1) for d in labels], gold, t)
        return f"P {_f(p)} / R {_f(r)}"
    return f"""Why:

* **`short={s0}` is the main source of false positives.** Below {s0} word units (punctuation counts
  as a unit, so about 15 words) the token-set ratio takes over. It is 100 whenever one part's token
  set is contained in the other's, and high whenever two one-line parts share their opening
  ("Alternatively, maybe ...", "Let me check ..."). In QwQ and R1 traces many parts that short are
  one-sentence pivots, such as "Alternatively, maybe I made a mistake in the division?" against
  "Alternatively, maybe the rates are in another unit?" (paraphrased). They score 0.5-0.95 by
  token-set ratio and near 0 by 3-gram Jaccard, and they are different moves. Of the {len(short_old)} labelled pairs where both parts are that short, the old
  setting flags {len(flagged)}, and {sum(1 for _, g in flagged if not g)} of those are "different".
  With `short={s1}` the ratio decides only for parts of a few words ("Same result." / "Same
  answer.", "Let me check the math again." / "Let me just check once more:"): {sum(tiny)} of the
  {len(tiny)} such pairs are "same". `short=0` (Jaccard only) loses those, and recall with them.
* **3-gram Jaccard is precise from 0.4 up.** At the recommended setting, the "different" pairs at
  or above {t1} are: {fps}. These are templated case work: the same sentence frame filled in for
  another case. Between 0.3 and {t1}, {sum(band)} of {len(band)} pairs are "same", close to a coin
  toss, so 0.3 would cost precision for little recall.
* **Paraphrase caps recall, not the threshold.** {low} of the {sum(gold)} "same" pairs score below
  0.2 at the recommended setting: the model re-derives the same reading of the problem in new
  words ("maybe the delivery fee is separate ... so 18"). No lexical threshold catches them
  without also flagging different approaches. They are a job for the judging layer (embeddings
  or an LLM).
* **ngram**: at {t1}, 2-grams recall a few more of those paraphrases ({pr(2, t1)}) than 3-grams
  ({pr(3, t1)}); 4- and 5-grams lose recall for little precision ({pr(4, t1)}, {pr(5, t1)}). Unigrams
  (a bag of words) catch most paraphrases but lose precision ({pr(1, 0.5)} at 0.5), because different
  approaches to one problem share its vocabulary. 3 stays: the gap to 2 is a few pairs out of
  {len(labels)}, within the noise of this sample.
* **Sample size**: {len(labels)} pairs ({sum(gold)} same). The Wilson intervals above are wide.
  The gap between the old and the recommended precision lies outside them; the choice between
  neighbouring thresholds (0.35 / 0.4 / 0.45) does not."""


READING = """How to read the impact table: most traces have at most one solution ({one:,} of {n:,}), so the
share of traces with a redundant part is small whatever the setting. The Sky-T1 repetition loops
(hundreds of verbatim repeats, flagged at any threshold) account for almost all the flagged solution
characters. Without the loops, the recommended setting flags fewer traces and fewer characters than
the old one. It drops the one-sentence pivots that the token-set ratio matched; lowering the
threshold from 0.5 to 0.4 adds long re-examinations of the same reading."""


def show(corpus: Corpus, labels: list[dict], n: int) -> str:
    d = labels[n]
    out = [f"#{n} {d['split']} {d['id']} {d['kind']} {d['i']} vs {d['j']}  label={d['label']}  ({d['note']})"]
    for ng, sh in ((3, 24), (3, 8), (2, 8), (3, 0)):
        out.append(f"  ngram={ng} short={sh}: {similarity(d['A'], d['B'], ng, sh):.3f}")
    resp = corpus.recs[corpus.index[d["id"]]]["response"]
    for key, part in (("a", d["A"]), ("b", d["B"])):
        s, e = d[key]
        out.append(f"--- {key} [{s}:{e}] ({part.units} units)")
        out.append(part.text)
        if e - s < 200:
            out.append(f">>> next: {resp[e:e + 350]!r}")
    return "\n".join(out)


def sample(corpus: Corpus, k: int, seed: int, labels: list[dict]) -> list[dict]:
    """k fresh pairs (one per trace, traces not yet labelled for that kind), uniform over the
    traces that have two parts of the kind, for extending the label file."""
    rng = random.Random(seed)
    used = {(d["id"], d["kind"]) for d in labels}
    cands = [
        (i, kind)
        for i, t in enumerate(corpus.traces)
        for kind in ("solution", "check")
        if len(parts_of(t, kind)) >= 2 and (corpus.recs[i]["id"], kind) not in used
    ]
    rng.shuffle(cands)
    out = []
    for i, kind in cands[:k]:
        t = corpus.traces[i]
        spans = t.solutions if kind == "solution" else t.checks
        a, b = sorted(rng.sample(range(len(spans)), 2))
        A, B = spans[a], spans[b]
        ta, tb = t.text[A.start:A.end], t.text[B.start:B.end]
        out.append({
            "split": "new", "id": corpus.recs[i]["id"], "kind": kind, "i": a, "j": b,
            "a": [A.start, A.end], "b": [B.start, B.end],
            "sha1_a": hashlib.sha1(ta.encode()).hexdigest()[:12], "sha1_b": hashlib.sha1(tb.encode()).hexdigest()[:12],
            "label": None, "context": A.end - A.start < 200 or B.end - B.start < 200, "note": "",
            "score_old": round(similarity(Part.of(ta), Part.of(tb), OLD[1], OLD[2]), 4),
        })
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(CORPUS))
    ap.add_argument("--labels", default=str(LABELS))
    ap.add_argument("--out", default=str(OUT), help="markdown report to write ('-' for none)")
    ap.add_argument("--show", type=int, metavar="N", help="print labelled pair N in full")
    ap.add_argument("--sample", type=int, metavar="K", help="print K fresh pairs to label (JSON lines)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-pairs", action="store_true", help="skip the all-pairs distribution")
    a = ap.parse_args(argv)
    t0 = time.time()
    path = Path(a.corpus)
    if not path.is_file():
        print(f"{path} not found (the shared data folder sits beside the repository)", file=sys.stderr)
        return 2
    corpus = load_corpus(path)
    labels = load_labels(corpus, Path(a.labels))
    if a.show is not None:
        print(show(corpus, labels, a.show))
        return 0
    if a.sample:
        for d in sample(corpus, a.sample, a.seed, labels):
            print(json.dumps(d, ensure_ascii=False))
        return 0
    n_repro = check_reproduction(corpus, [OLD, RECOMMENDED])
    dist = None if a.no_pairs else pair_distribution(corpus, [(OLD[1], OLD[2]), (RECOMMENDED[1], RECOMMENDED[2])])
    md = render(corpus, labels, dist, n_repro, time.time() - t0)
    print(md)
    if a.out != "-":
        out = Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(md + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
