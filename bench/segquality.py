"""Segmentation quality of ``dlcot.parse`` against DeltaBench's human section annotations.

DeltaBench (OpenStellarTeam/DeltaBench) splits each long CoT into numbered *steps* (the
paragraphs of ``long_cot`` at blank lines, numbered from 1) and groups consecutive steps into
*sections*, each labelled for strategy shift (with the step where the new strategy starts),
reflection (with the step where it starts), usefulness and correctness. Annotation stops after
the last erroneous section, so the labels cover a prefix of the sections only; everything here
is scored inside the region that the labels cover. See ``bench/README.md`` ("Segmentation
quality") for what the fields mean and how they were checked.

Gold sections are placed in ``long_cot`` by their *content*, not by their step numbers: the
annotators' copy of the text sometimes differs (trailing spaces dropped, a paragraph missing),
so step numbers drift while contents still match once whitespace is ignored.

Metrics (micro-averaged over records; tolerances in paragraphs):

* solution boundaries: starts of dlcot solutions after the first (optionally also check
  starts) vs the strategy-shift steps;
* reflection recall / check precision: gold reflection sections vs dlcot check spans;
* section boundaries: every dlcot block start (solutions and checks) vs every gold section start;
* baselines: the same number of boundaries at random paragraph starts (seeded, mean of 100
  draws), and every paragraph a boundary.

Usage::

    python bench/segquality.py [FILE ...]      # default: ../shared/data/traces/deltabench_examples.jsonl

>>> golds = load_gold(DEFAULT_FILE)            # doctest: +SKIP
>>> report = score(DEFAULT_FILE)               # doctest: +SKIP
>>> round(report.overall["shift"].f1, 2)       # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import ast
import bisect
import json
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import dlcot

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_FILE = REPO.parent / "shared" / "data" / "traces" / "deltabench_examples.jsonl"
DEFAULT_OUT = HERE / "results" / "segquality.md"

_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")


# --------------------------------------------------------------------------------------------
# reading the files
# --------------------------------------------------------------------------------------------


def _read_records(path: str | Path) -> list[dict[str, Any]]:
    """Records of a JSON array, a JSON object holding one list, or JSON Lines."""
    raw = Path(path).read_text(encoding="utf-8")
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError:
        return [json.loads(line) for line in raw.splitlines() if line.strip()]
    if isinstance(obj, list):
        return obj
    if isinstance(obj, dict):
        if "long_cot" in obj:
            return [obj]
        lists = [v for v in obj.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            return lists[0]
    raise ValueError(f"{path}: no list of records found")


def _literal(value: Any) -> Any:
    """A field that may be stored as JSON, as a Python repr string, or as the value itself."""
    if not isinstance(value, str):
        return value
    s = value.strip()
    if not s:
        return None
    for load in (json.loads, ast.literal_eval):
        try:
            return load(s)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return value


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    m = re.search(r"\d+", str(value))
    return int(m.group()) if m else None


def _flag(value: Any) -> bool | None:
    """'1' / 1 / True -> True, '0' / 0 -> False, '' / None -> None (not labelled)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    s = str(value).strip()
    if s == "":
        return None
    return s not in ("0", "false", "False", "no")


# --------------------------------------------------------------------------------------------
# placing text in text, ignoring whitespace and case
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Squeezed:
    """``text`` without whitespace, lower-cased, with a map back to ``text`` indices."""

    s: str
    pos: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> "_Squeezed":
        chars: list[str] = []
        pos: list[int] = []
        for i, c in enumerate(text):
            if c.isspace():
                continue
            lc = c.lower()
            chars.append(lc if len(lc) == 1 else c)
            pos.append(i)
        return cls("".join(chars), tuple(pos))

    def start(self, k: int) -> int:
        return self.pos[k] if k < len(self.pos) else (self.pos[-1] + 1 if self.pos else 0)

    def end(self, k_end: int) -> int:
        """Original index just past the squeezed char ``k_end - 1``."""
        return self.pos[k_end - 1] + 1 if k_end > 0 else 0


def _squeeze(s: str) -> str:
    return "".join((c.lower() if len(c.lower()) == 1 else c) for c in s if not c.isspace())


def _paragraphs(s: str) -> list[str]:
    return [p for p in _BLANK_LINE.split(s) if p.strip()]


def paragraph_starts(text: str) -> list[int]:
    """Paragraph starts: 0 and the first non-blank char after each blank line (as dlcot does)."""
    starts = [0]
    for m in _BLANK_LINE.finditer(text):
        s = m.end()
        while s < len(text) and text[s].isspace():
            s += 1
        if s < len(text) and s > starts[-1]:
            starts.append(s)
    return starts


# --------------------------------------------------------------------------------------------
# gold
# --------------------------------------------------------------------------------------------


@dataclass
class GoldSection:
    """One annotated section, placed in ``long_cot`` (``start``/``end`` are str indices)."""

    number: int
    first_step: int | None
    last_step: int | None
    description: str
    content: str
    placed: str  # "exact" | "paragraphs" | "missing"
    start: int = -1
    end: int = -1
    labeled: bool = False
    strategy_shift: bool = False
    shift_step: int | None = None
    shift_offset: int | None = None  # where the shift step's paragraph starts
    reflection: bool = False
    reflection_step: int | None = None
    step_offsets: dict[int, int] = field(default_factory=dict)  # step number -> str index

    @property
    def ok(self) -> bool:
        return self.placed != "missing"


@dataclass
class Gold:
    """A DeltaBench record with its gold sections placed in the text."""

    id: str
    file: str
    text: str
    problem: str | None
    sections: list[GoldSection]
    para_starts: list[int]
    labeled_end: int  # the labels cover text[:labeled_end]
    sectioned_end: int  # the sections cover text[:sectioned_end]

    @property
    def n_placed(self) -> int:
        return sum(s.ok for s in self.sections)

    def para_of(self, offset: int) -> int:
        return bisect.bisect_right(self.para_starts, offset) - 1

    def shift_offsets(self, anchor: str = "step") -> list[int]:
        out = []
        for s in self.sections:
            if s.ok and s.strategy_shift:
                out.append(s.shift_offset if anchor == "step" and s.shift_offset is not None else s.start)
        return out


def _raw_sections(rec: dict[str, Any]) -> list[dict[str, Any]]:
    secs = _literal(rec.get("sections"))
    if isinstance(secs, list) and secs and isinstance(secs[0], dict) and "content" in secs[0]:
        return secs
    # fall back to "section1: ...\n\n\nsection2: ..." without step numbers
    sc = rec.get("sections_content")
    if not isinstance(sc, str) or not sc.strip():
        return []
    parts = re.split(r"(?:^|\n+)section(\d+):[ \t]*", sc)
    out = []
    for i in range(1, len(parts) - 1, 2):
        out.append({"content": parts[i + 1].strip("\n"), "description": "", "number": int(parts[i])})
    return out


def _labels(rec: dict[str, Any]) -> dict[int, dict[str, Any]]:
    info = _literal(rec.get("sections_labeled_info"))
    out: dict[int, dict[str, Any]] = {}
    if isinstance(info, list):
        for k, x in enumerate(info):
            if isinstance(x, dict):
                out[_int_or_none(x.get("section_number")) or (k + 1)] = x
    return out


def _number_list(rec: dict[str, Any], *keys: str) -> list[int] | None:
    for k in keys:
        if k in rec:
            v = _literal(rec[k])
            if v is None:
                return []
            if isinstance(v, (list, tuple)):
                return [n for n in (_int_or_none(x) for x in v) if n is not None]
            n = _int_or_none(v)
            return [] if n is None else [n]
    return None


def _place(sq: _Squeezed, content: str, cursor: int) -> tuple[str, int, int, list[int | None]]:
    """Places ``content`` at or after squeezed index ``cursor``.

    Returns (how, start, end, paragraph starts), indices into the squeezed text; ``how`` is
    "exact" (the whole content found), "paragraphs" (found paragraph by paragraph; the
    content's first paragraph found) or "missing".
    """
    paras = _paragraphs(content)
    sparas = [_squeeze(p) for p in paras]
    whole = "".join(sparas)
    if not whole:
        return "missing", -1, -1, []
    k = sq.s.find(whole, cursor)
    if k >= 0:
        starts: list[int | None] = []
        at = k
        for p in sparas:
            starts.append(at)
            at += len(p)
        return "exact", k, k + len(whole), starts
    # paragraph by paragraph, each within a window past the previous one
    starts = []
    at = cursor
    window = 2 * len(whole) + 400
    first_ok = False
    end = -1
    for i, p in enumerate(sparas):
        j = sq.s.find(p, at, at + window + len(p)) if p else -1
        if j < 0 and len(p) > 80:  # long paragraph with an edit inside: anchor on its head
            j = sq.s.find(p[:60], at, at + window)
            if j >= 0:
                starts.append(j)
                at = end = j + 60
                first_ok |= i == 0
                continue
        if j < 0:
            starts.append(None)
            continue
        starts.append(j)
        first_ok |= i == 0
        at = end = j + len(p)
    found = sum(s is not None for s in starts)
    if first_ok and found * 2 >= len(sparas):
        return "paragraphs", starts[0] or 0, end, starts
    return "missing", -1, -1, starts


def _record_gold(rec: dict[str, Any], file: str, index: int) -> Gold | None:
    text = rec.get("long_cot") or rec.get("response") or ""
    if not isinstance(text, str) or not text:
        return None
    raw = _raw_sections(rec)
    labels = _labels(rec)
    shift_nums = _number_list(rec, "stragegy_shift_section_numbers", "strategy_shift_section_numbers")
    refl_nums = _number_list(rec, "reflection_section_numbers")
    sq = _Squeezed.of(text)
    sections: list[GoldSection] = []
    cursor = 0
    next_step = 1
    for k, s in enumerate(raw):
        number = _int_or_none(s.get("number")) or (k + 1)
        content = s.get("content") or ""
        first = _int_or_none(s.get("start"))
        last = _int_or_none(s.get("end"))
        if first is None:
            first = next_step
            last = first + max(len(_paragraphs(content)), 1) - 1
        next_step = (last or first) + 1
        how, a, z, pstarts = _place(sq, content, cursor)
        g = GoldSection(number, first, last, str(s.get("description") or ""), content, how)
        if how != "missing":
            g.start, g.end = sq.start(a), sq.end(z)
            cursor = z
            for i, p in enumerate(pstarts):
                if p is not None:
                    g.step_offsets[first + i] = sq.start(p)
        sections.append(g)
    # labels
    any_labels = False
    for g in sections:
        lab = labels.get(g.number, {})
        ss = _flag(lab.get("strategy_shift"))
        rf = _flag(lab.get("reflection"))
        g.labeled = ss is not None or rf is not None
        any_labels |= g.labeled
        g.strategy_shift = bool(ss)
        g.reflection = bool(rf)
        g.shift_step = _int_or_none(lab.get("strategy_shift_step"))
        g.reflection_step = _int_or_none(lab.get("reflection_start_step"))
    if not any_labels:  # no per-section labels: trust the number lists over every section
        for g in sections:
            g.labeled = True
    if shift_nums is not None:
        for g in sections:
            g.strategy_shift = g.number in shift_nums
    if refl_nums is not None:
        for g in sections:
            g.reflection = g.number in refl_nums
    for g in sections:
        if g.strategy_shift and g.ok:
            if g.shift_step is not None and g.shift_step in g.step_offsets:
                g.shift_offset = g.step_offsets[g.shift_step]
            else:
                g.shift_offset = g.start
    placed = [g for g in sections if g.ok]
    sectioned_end = max((g.end for g in placed), default=0)
    labeled = [g for g in placed if g.labeled]
    labeled_end = max((g.end for g in labeled), default=0)
    return Gold(
        id=str(rec.get("id", index)),
        file=Path(file).name,
        text=text,
        problem=rec.get("question") or rec.get("problem"),
        sections=sections,
        para_starts=paragraph_starts(text),
        labeled_end=labeled_end,
        sectioned_end=sectioned_end,
    )


def load_gold(path: str | Path) -> list[Gold]:
    """Reads a DeltaBench-layout file and places every gold section in its ``long_cot``.

    >>> golds = load_gold(DEFAULT_FILE)  # doctest: +SKIP
    >>> sum(g.n_placed for g in golds) / sum(len(g.sections) for g in golds)  # doctest: +SKIP
    1.0
    """
    out = []
    for i, rec in enumerate(_read_records(path)):
        g = _record_gold(rec, str(path), i)
        if g is not None:
            out.append(g)
    return out


# --------------------------------------------------------------------------------------------
# matching and scores
# --------------------------------------------------------------------------------------------


@dataclass
class PRF:
    tp: int = 0
    n_pred: int = 0
    n_gold: int = 0

    def __iadd__(self, o: "PRF") -> "PRF":
        self.tp += o.tp
        self.n_pred += o.n_pred
        self.n_gold += o.n_gold
        return self

    @property
    def p(self) -> float | None:
        return self.tp / self.n_pred if self.n_pred else None

    @property
    def r(self) -> float | None:
        return self.tp / self.n_gold if self.n_gold else None

    @property
    def f1(self) -> float | None:
        p, r = self.p, self.r
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


def match(gold: Sequence[int], pred: Sequence[int], tol: int) -> list[tuple[int, int]]:
    """One-to-one greedy matching of paragraph indices: closest pairs first, ties by position."""
    pairs = sorted(
        (abs(g - p), g, p) for g in set(gold) for p in set(pred) if abs(g - p) <= tol
    )
    used_g: set[int] = set()
    used_p: set[int] = set()
    out = []
    for _, g, p in pairs:
        if g in used_g or p in used_p:
            continue
        used_g.add(g)
        used_p.add(p)
        out.append((g, p))
    return out


def _prf(gold: Sequence[int], pred: Sequence[int], tol: int) -> PRF:
    return PRF(len(match(gold, pred, tol)), len(set(pred)), len(set(gold)))


@dataclass
class Boundary:
    offset: int
    para: int
    kind: str  # "solution" | "check"
    cue: str


@dataclass
class RecordScore:
    gold: Gold
    trace: Any
    region_paras: int  # paragraphs inside the labelled region
    section_paras: int  # paragraphs inside the sectioned region
    shift_gold: list[int]  # paragraph indices
    shift_gold_section: list[int]
    sol_pred: list[Boundary]
    chk_pred: list[Boundary]
    block_pred: list[Boundary]
    section_gold: list[int]
    metrics: dict[str, PRF]
    all_bounds: list[Boundary] = field(default_factory=list)  # every solution and check start
    refl_gold: int = 0
    refl_hit: int = 0
    checks_in_region: int = 0
    checks_hit: int = 0


@dataclass
class Report:
    records: list[RecordScore]
    overall: dict[str, PRF]
    baselines: dict[str, dict[str, float]]
    placed: int
    total_sections: int


def _paras(g: Gold, offsets: Iterable[int], limit_para: int) -> list[int]:
    """Distinct paragraph indices of ``offsets``, dropping paragraph 0 and those past the region."""
    return sorted({p for p in (g.para_of(o) for o in offsets) if 0 < p < limit_para})


def _dedupe(bs: list[Boundary], limit_para: int) -> list[Boundary]:
    seen: set[int] = set()
    out = []
    for b in sorted(bs, key=lambda b: b.offset):
        if 0 < b.para < limit_para and b.para not in seen:
            seen.add(b.para)
            out.append(b)
    return out


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 < b1 and b0 < a1


_MARKUP = "*#>\"-_ \t"


def sentence_starts(text: str) -> list[int]:
    """Where dlcot may cut a unit: paragraph and sentence starts, past list/emphasis markup.

    Mirrors ``units``/``split_at_cues`` in ``rust/src/segment.rs``: a sentence starts after
    ``.``/``?``/``!`` followed by a space or newline, or after a newline.
    """
    out: list[int] = []
    n = len(text)
    i = 0
    while i < n:
        if i == 0 or (text[i - 1] == "\n") or (text[i - 1] in " \n" and i >= 2 and text[i - 2] in ".?!"):
            j = i
            while j < n and text[j] in " \n\t\r":
                j += 1
            while j < n and text[j] in _MARKUP:
                j += 1
            if j < n and (not out or out[-1] != j):
                out.append(j)
            i = max(i + 1, j)
            continue
        i += 1
    return out


def _opens_with(text: str, at: int, phrase: str) -> bool:
    """Does ``phrase`` open ``text`` at ``at`` (ASCII case-insensitive, word boundary after)?"""
    seg = text[at : at + len(phrase)]
    if seg.lower().replace("\u2019", "'") != phrase:
        return False
    e = at + len(phrase)
    return not (phrase[-1].isalnum() and e < len(text) and (text[e].isalnum() or text[e] == "-"))


def score_record(
    g: Gold,
    *,
    add_cues: Sequence[str] = (),
    drop_cues: Sequence[str] = (),
    add_check_cues: Sequence[str] = (),
) -> RecordScore:
    """Scores one record; the ``*_cues`` simulate lexicon edits (see ``score``)."""
    t = dlcot.parse(g.text, problem=g.problem)
    lab_par = g.para_of(max(g.labeled_end - 1, 0)) + 1 if g.labeled_end else 0
    sec_par = g.para_of(max(g.sectioned_end - 1, 0)) + 1 if g.sectioned_end else 0
    sols = [Boundary(s.start, g.para_of(s.start), "solution", s.cue) for s in t.solutions]
    chks = [Boundary(c.start, g.para_of(c.start), "check", f"{c.kind}:{c.cue}") for c in t.checks]
    later = sols[1:]
    if drop_cues:
        drop = {c.lower() for c in drop_cues}
        later = [b for b in later if b.cue not in drop]
    if add_cues and sols:
        add = sorted({c.lower() for c in add_cues}, key=len, reverse=True)
        have = {b.offset for b in later}
        for at in sentence_starts(g.text):
            if at <= sols[0].offset or at in have:
                continue
            hit = next((c for c in add if _opens_with(g.text, at, c)), None)
            if hit:
                later.append(Boundary(at, g.para_of(at), "solution", "+" + hit))
        later.sort(key=lambda b: b.offset)
    sols = sols[:1] + later
    check_spans = [(c.start, c.end) for c in t.checks]
    if add_check_cues and sols:
        addc = sorted({c.lower() for c in add_check_cues}, key=len, reverse=True)
        have = {c.start for c in t.checks}
        for at in sentence_starts(g.text):
            if at < sols[0].offset or at in have:
                continue
            hit = next((c for c in addc if _opens_with(g.text, at, c)), None)
            if hit:
                p = g.para_of(at)
                end = g.para_starts[p + 1] if p + 1 < len(g.para_starts) else len(g.text)
                chks.append(Boundary(at, p, "check", "+" + hit))
                check_spans.append((at, end))
        chks.sort(key=lambda b: b.offset)
    sol_pred = _dedupe(sols[1:], lab_par)
    all_sol_pred = _dedupe(sols, lab_par)
    chk_pred = _dedupe(chks, lab_par)
    solchk_pred = _dedupe(sols[1:] + chks, lab_par)
    block_pred = _dedupe(sols + chks, sec_par)
    shift_gold = _paras(g, g.shift_offsets("step"), lab_par)
    shift_gold_sec = _paras(g, g.shift_offsets("section"), lab_par)
    section_gold = _paras(g, (s.start for s in g.sections if s.ok), sec_par)
    sp = [b.para for b in sol_pred]
    asp = [b.para for b in all_sol_pred]
    scp = [b.para for b in solchk_pred]
    bp = [b.para for b in block_pred]
    m = {
        "shift": _prf(shift_gold, sp, 1),
        "shift@0": _prf(shift_gold, sp, 0),
        "shift/all-solutions": _prf(shift_gold, asp, 1),
        "shift+checks": _prf(shift_gold, scp, 1),
        "shift+checks@0": _prf(shift_gold, scp, 0),
        "shift/section-start": _prf(shift_gold_sec, sp, 1),
        "sections": _prf(section_gold, bp, 1),
        "sections@0": _prf(section_gold, bp, 0),
    }
    # section level: which labelled sections open a new strategy, whatever the granularity
    lab_secs = [s for s in g.sections if s.ok and s.labeled]
    gold_secs = {s.number for s in lab_secs if s.strategy_shift and g.para_of(s.shift_offset or s.start) > 0}
    pred_secs = {s.number for s in lab_secs for b in sol_pred if s.start <= b.offset < s.end}
    m["shift-sections"] = PRF(len(gold_secs & pred_secs), len(pred_secs), len(gold_secs))
    rs = RecordScore(g, t, lab_par, sec_par, shift_gold, shift_gold_sec, sol_pred, chk_pred, block_pred, section_gold, m)
    rs.all_bounds = sorted(sols + chks, key=lambda b: b.offset)
    # reflections vs checks, inside the labelled region
    refl = [s for s in g.sections if s.ok and s.labeled and s.reflection]
    checks = [c for c in check_spans if c[0] < g.labeled_end]
    rs.refl_gold = len(refl)
    rs.refl_hit = sum(any(_overlaps(s.start, s.end, c0, c1) for c0, c1 in check_spans) for s in refl)
    rs.checks_in_region = len(checks)
    rs.checks_hit = sum(any(_overlaps(s.start, s.end, c0, c1) for s in refl) for c0, c1 in checks)
    m["reflection"] = PRF(rs.refl_hit, 0, rs.refl_gold)  # recall only
    m["checks"] = PRF(rs.checks_hit, rs.checks_in_region, 0)  # precision only
    return rs


def _baselines(rows: list[RecordScore], draws: int, seed: int) -> dict[str, dict[str, float]]:
    """Random boundaries (same count as dlcot's, per record) and every-paragraph boundaries."""
    rng = random.Random(seed)
    tasks = {
        # metric: (gold paragraphs, region paragraphs); the random draw uses that metric's n_pred
        "shift": (lambda r: r.shift_gold, lambda r: r.region_paras),
        "shift/all-solutions": (lambda r: r.shift_gold, lambda r: r.region_paras),
        "shift+checks": (lambda r: r.shift_gold, lambda r: r.region_paras),
        "sections": (lambda r: r.section_gold, lambda r: r.section_paras),
    }
    out: dict[str, dict[str, float]] = {}
    for name, (gold_of, par_of) in tasks.items():
        ps, rs_, fs = [], [], []
        for _ in range(draws):
            tot = PRF()
            for r in rows:
                cand = list(range(1, par_of(r)))
                pred = rng.sample(cand, min(r.metrics[name].n_pred, len(cand)))
                tot += _prf(gold_of(r), pred, 1)
            ps.append(tot.p or 0.0)
            rs_.append(tot.r or 0.0)
            fs.append(tot.f1 or 0.0)
        every = PRF()
        for r in rows:
            every += _prf(gold_of(r), list(range(1, par_of(r))), 1)
        out[name] = {
            "random_p": sum(ps) / draws,
            "random_r": sum(rs_) / draws,
            "random_f1": sum(fs) / draws,
            "every_p": every.p or 0.0,
            "every_r": every.r or 0.0,
            "every_f1": every.f1 or 0.0,
        }
    return out


def score(
    paths: str | Path | Sequence[str | Path] = DEFAULT_FILE,
    *,
    draws: int = 100,
    seed: int = 0,
    add_cues: Sequence[str] = (),
    drop_cues: Sequence[str] = (),
    add_check_cues: Sequence[str] = (),
) -> Report:
    """Scores dlcot's segmentation on one or more DeltaBench-layout files.

    ``add_cues``/``drop_cues``/``add_check_cues`` simulate a lexicon edit without rebuilding
    the extension: an added solution phrase opens a new solution wherever it starts a sentence
    after the first solution's start; a dropped one no longer opens one; an added check phrase
    opens a check running to the end of its paragraph (as a ``Check`` cue does inside a running
    solution). This approximates the segmenter (a dropped solution start merges into the block
    before; added boundaries do not move the others), so confirm an edit by rebuilding and
    re-running without these options.

    >>> rep = score(DEFAULT_FILE)  # doctest: +SKIP
    >>> rep.overall["shift"].f1 > rep.baselines["shift"]["random_f1"]  # doctest: +SKIP
    True
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    golds = [g for p in paths for g in load_gold(p)]
    rows = [score_record(g, add_cues=add_cues, drop_cues=drop_cues, add_check_cues=add_check_cues) for g in golds]
    overall: dict[str, PRF] = {}
    for r in rows:
        for k, v in r.metrics.items():
            overall.setdefault(k, PRF())
            overall[k] += v
    return Report(
        records=rows,
        overall=overall,
        baselines=_baselines(rows, draws, seed),
        placed=sum(g.n_placed for g in golds),
        total_sections=sum(len(g.sections) for g in golds),
    )


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def _lexicon_id() -> str:
    """Size and digest of the cue lexicon, so a table can be tied to the lexicon that made it."""
    import hashlib

    lex = dlcot.cue_lexicon()
    digest = hashlib.sha1(repr(lex).encode()).hexdigest()[:8]
    return f"cue lexicon: {len(lex)} phrases, sha1 {digest}"


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _head(text: str, n: int = 100) -> str:
    s = " ".join(text.split())
    s = s[:n] + ("…" if len(s) > n else "")
    return s.replace("|", "\\|")


def _opener(text: str, words: int = 4) -> str:
    s = re.sub(r"^[\s*#>\"\-_]+", "", text)
    return " ".join(s.split()[:words]).lower()


def render(rep: Report, files: Sequence[str | Path]) -> str:
    o, b = rep.overall, rep.baselines
    L: list[str] = []
    L.append("# Segmentation quality (DeltaBench human sections)\n")
    L.append(
        "Made by `python bench/segquality.py "
        + " ".join(str(Path(f).name) for f in files)
        + f"` with dlcot {dlcot.__version__} ({_lexicon_id()}). Boundaries are compared as paragraph indices "
        "(paragraphs at blank lines; tolerance ±1 paragraph unless marked @0 = same paragraph); "
        "one-to-one greedy matching; micro-averaged over records; only the region covered by "
        "the labels (strategy shift, reflection) or by the sections (section boundaries).\n"
    )
    L.append(
        f"Gold sections placed in the text: **{rep.placed}/{rep.total_sections}** "
        f"({rep.placed / max(rep.total_sections, 1):.1%}).\n"
    )
    L.append("## Overall\n")
    L.append("| metric | gold | pred | TP | P | R | F1 | random F1 (P/R) | every-paragraph F1 (P/R) |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")

    def row(label: str, key: str, base: str | None) -> None:
        m = o[key]
        rb = eb = ""
        if base:
            bb = b[base]
            rb = f"{bb['random_f1']:.2f} ({bb['random_p']:.2f}/{bb['random_r']:.2f})"
            eb = f"{bb['every_f1']:.2f} ({bb['every_p']:.2f}/{bb['every_r']:.2f})"
        L.append(f"| {label} | {m.n_gold} | {m.n_pred} | {m.tp} | {_f(m.p)} | {_f(m.r)} | {_f(m.f1)} | {rb} | {eb} |")

    row("strategy shift vs solution starts (±1)", "shift", "shift")
    row("strategy shift vs solution starts (@0)", "shift@0", None)
    row("strategy shift vs *all* solution starts, first included (±1)", "shift/all-solutions", "shift/all-solutions")
    row("strategy shift vs solution + check starts (±1)", "shift+checks", "shift+checks")
    row("strategy shift vs solution + check starts (@0)", "shift+checks@0", None)
    row("shift *section start* vs solution starts (±1)", "shift/section-start", None)
    sl = o["shift-sections"]
    L.append(
        f"| strategy-shift *sections* containing a solution start (section level) | {sl.n_gold} | {sl.n_pred} | "
        f"{sl.tp} | {_f(sl.p)} | {_f(sl.r)} | {_f(sl.f1)} | | |"
    )
    row("all section starts vs block starts (±1)", "sections", "sections")
    row("all section starts vs block starts (@0)", "sections@0", None)
    ref, chk = o["reflection"], o["checks"]
    L.append(
        f"| reflection sections overlapping a check (recall) | {ref.n_gold} | | {ref.tp} | | {_f(ref.r)} | | | |"
    )
    L.append(
        f"| checks overlapping a reflection section (precision) | | {chk.n_pred} | {chk.tp} | {_f(chk.p)} | | | | |"
    )
    L.append("")
    L.append("## Per record\n")
    L.append(
        "| record | paras (labelled/all) | sections placed | shift gold | sol. pred | shift P/R/F1 (±1) | "
        "+checks F1 | sections P/R/F1 (±1) | refl. hit/gold | checks hit/n |"
    )
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rep.records:
        g, m = r.gold, r.metrics
        s, sc, se = m["shift"], m["shift+checks"], m["sections"]
        L.append(
            f"| {g.id[:8]} | {r.region_paras}/{len(g.para_starts)} | {g.n_placed}/{len(g.sections)} | "
            f"{s.n_gold} | {s.n_pred} | {_f(s.p)}/{_f(s.r)}/{_f(s.f1)} | {_f(sc.f1)} | "
            f"{_f(se.p)}/{_f(se.r)}/{_f(se.f1)} | {r.refl_hit}/{r.refl_gold} | {r.checks_hit}/{r.checks_in_region} |"
        )
    L.append("")

    # misses and false positives, for improving the cue lexicon
    missed_open: Counter[str] = Counter()
    fp_cues: Counter[str] = Counter()
    for r in rep.records:
        g = r.gold
        pairs = match(r.shift_gold, [b.para for b in r.sol_pred], 1)
        mg = {p for p, _ in pairs}
        mp = {q for _, q in pairs}
        for p in r.shift_gold:
            if p not in mg:
                missed_open[_opener(g.text[g.para_starts[p]:])] += 1
        for bnd in r.sol_pred:
            if bnd.para not in mp:
                fp_cues[bnd.cue or "(no cue)"] += 1
    L.append("## Missed strategy-shift openers (first four words of the gold shift paragraph)\n")
    for k, v in missed_open.most_common(25):
        L.append(f"- {v} × `{k}`")
    L.append("\n## Cues of solution starts matching no strategy shift (false positives)\n")
    for k, v in fp_cues.most_common(25):
        L.append(f"- {v} × `{k}`")
    L.append("")

    L.append("## Worst records: missed gold strategy shifts (nearest dlcot block start anywhere)\n")
    def n_missed(r: RecordScore) -> int:
        return len(r.shift_gold) - len(match(r.shift_gold, [b.para for b in r.sol_pred], 1))

    worst = sorted(
        (r for r in rep.records if n_missed(r)),
        key=lambda r: (-n_missed(r), r.metrics["shift"].f1 or 0.0),
    )[:5]
    for r in worst:
        g = r.gold
        pairs = match(r.shift_gold, [b.para for b in r.sol_pred], 1)
        mg = {p for p, _ in pairs}
        missed = [p for p in r.shift_gold if p not in mg]
        L.append(f"### {g.id} (F1 {_f(r.metrics['shift'].f1)}, {len(missed)} missed of {len(r.shift_gold)})\n")
        for p in missed[:6]:
            sec = next(
                (s for s in g.sections if s.ok and s.strategy_shift and g.para_of(s.shift_offset or s.start) == p), None
            )
            near = min(r.all_bounds, key=lambda b: abs(b.para - p), default=None)
            where = (
                f"nearest dlcot boundary: paragraph {near.para} ({near.para - p:+d}), {near.kind} cue `{near.cue or '-'}`: "
                f"“{_head(g.text[near.offset:], 60)}”"
                if near
                else "no dlcot boundary at all"
            )
            title = f"section {sec.number} “{sec.description}”, step {sec.shift_step}" if sec else ""
            L.append(f"- paragraph {p} ({title}): “{_head(g.text[g.para_starts[p]:])}”  \n  {where}")
        L.append("")
    return "\n".join(L)


def simulate(
    files: Sequence[str | Path],
    *,
    add_cues: Sequence[str] = (),
    drop_cues: Sequence[str] = (),
    add_check_cues: Sequence[str] = (),
) -> str:
    """Before/after table for a simulated lexicon edit (see ``score``); writes no file."""
    before = score(files, draws=1)
    after = score(files, draws=1, add_cues=add_cues, drop_cues=drop_cues, add_check_cues=add_check_cues)
    L = [
        f"simulated edit: add {list(add_cues)}, drop {list(drop_cues)}, add checks {list(add_check_cues)}",
        "",
        "| metric | TP/pred/gold before | P/R/F1 before | TP/pred/gold after | P/R/F1 after |",
        "|---|---:|---:|---:|---:|",
    ]
    for k in ("shift", "shift@0", "shift/all-solutions", "shift+checks", "shift-sections", "sections", "reflection", "checks"):
        x, y = before.overall[k], after.overall[k]
        L.append(
            f"| {k} | {x.tp}/{x.n_pred}/{x.n_gold} | {_f(x.p)}/{_f(x.r)}/{_f(x.f1)} | "
            f"{y.tp}/{y.n_pred}/{y.n_gold} | {_f(y.p)}/{_f(y.r)}/{_f(y.f1)} |"
        )
    return "\n".join(L)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", default=[str(DEFAULT_FILE)], help="DeltaBench-layout files")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="markdown report to write ('-' for none)")
    ap.add_argument("--draws", type=int, default=100, help="random-baseline draws")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--add-cue", action="append", default=[], metavar="PHRASE", help="simulate adding a solution cue")
    ap.add_argument("--drop-cue", action="append", default=[], metavar="PHRASE", help="simulate dropping a solution cue")
    ap.add_argument("--add-check-cue", action="append", default=[], metavar="PHRASE", help="simulate adding a check cue")
    a = ap.parse_args(argv)
    if a.add_cue or a.drop_cue or a.add_check_cue:
        print(simulate(a.files, add_cues=a.add_cue, drop_cues=a.drop_cue, add_check_cues=a.add_check_cue))
        return 0
    rep = score(a.files, draws=a.draws, seed=a.seed)
    md = render(rep, a.files)
    print(md)
    if a.out != "-":
        out = Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(md + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
