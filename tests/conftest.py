"""Shared fixtures: the developers' trace set in ../shared/data and the hand-checked fixtures.

The real traces are read at run time from the shared data folder that sits beside the repository
(CI has it too); tests that need it are skipped when it is absent. Only the Apache-2.0 Sky-T1
excerpts and synthetic traces are stored in the repository (tests/data/fixtures/).
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "data" / "fixtures"

needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "traces_normalised.jsonl").is_file(),
    reason=f"the developers' trace set is not at {SHARED_DATA}",
)


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not found (the shared data folder sits beside the repository)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder, or a skip."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def bench_dir(shared_data: Path) -> Path:
    return _require(shared_data / "bench")


@functools.lru_cache(maxsize=1)
def load_corpus() -> tuple[dict, ...]:
    """Every record of traces_normalised.jsonl (id, problem, response, answer, source, model), or ()
    when the shared data is absent. Cached: test modules parametrize over it at collection time."""
    path = SHARED_DATA / "traces_normalised.jsonl"
    if not path.is_file():
        return ()
    with path.open(encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f if line.strip())


@pytest.fixture(scope="session")
def corpus(shared_data: Path) -> tuple[dict, ...]:
    """The normalised traces, or a skip."""
    recs = load_corpus()
    if not recs:
        pytest.skip("traces_normalised.jsonl not found")
    return recs


SECTION_ORDER = ["restate", "understand", "explore", "verify", "conclude"]
CHECK_KINDS = {"verify", "substitute", "recompute", "affirm", "negate", "reflect"}
ISSUE_KINDS = {
    "empty", "chat-template", "missing-open-tag", "missing-close-tag", "several-think-blocks",
    "truncated", "no-answer", "several-answers", "unbalanced-boxed", "repetition",
}
FORMATS = {"think", "thought-solution", "plain"}


def _span_ok(span, n: int) -> bool:
    return span is not None and len(span) == 2 and 0 <= span[0] <= span[1] <= n


def _ungroup(s: str) -> str:
    """Drops thousands separators (`1,430`, `1{,}430`, `1,\\!430`, `1\\,430`)."""
    return re.sub(r"(?<=\d)(?:,\\!|\{,\}|\\,|,)(?=\d)", "", s)


def _answer_in(text: str, answer: str | None, span) -> bool:
    """The answer relates to the text its span covers: a substring of it (a multiple-choice
    letter taken from "(B)" is one), or the same number written with thousands separators (the
    segmenter reports a statement "= 1,430" as the final value "1430")."""
    if answer is None:
        return span is None
    if span is None:
        return False
    piece = text[span[0]:span[1]]
    return answer in piece or (bool(answer) and _ungroup(answer) in _ungroup(piece))


def _blank(text: str) -> bool:
    """Empty or Unicode White_Space only (as Rust's `str::trim`; Python's `str.isspace` also counts the
    separators U+001C..U+001F, which are not White_Space)."""
    return all(ch.isspace() and ch not in "\x1c\x1d\x1e\x1f" for ch in text)


def assert_invariants(text: str, t) -> None:
    """Every structural promise of a parsed Trace, checked against the text it was parsed from."""
    n = len(text)
    assert t.text == text
    assert len(t) == n
    assert t.format in FORMATS

    # sections tile the text, in DLCoT order, each kind at most once
    secs = t.sections
    if n == 0:
        assert secs == []
    else:
        assert secs, "a non-empty text has at least one section"
        assert secs[0].start == 0 and secs[-1].end == n
        for a, b in zip(secs, secs[1:]):
            assert a.end == b.start, (a, b)
        for s in secs:
            assert s.start < s.end, s
            assert s.text == text[s.start:s.end]
            assert s.kind in SECTION_ORDER
        ranks = [SECTION_ORDER.index(s.kind) for s in secs]
        assert ranks == sorted(set(ranks)), [s.kind for s in secs]
        assert "".join(s.text for s in secs) == text

    sec_starts = [s.start for s in secs]

    def section_at(pos: int) -> str | None:
        k = bisect.bisect_right(sec_starts, pos) - 1
        return secs[k].kind if k >= 0 and secs[k].start <= pos < secs[k].end else None

    # reasoning / summary
    r, sm = t.reasoning_span, t.summary_span
    assert _span_ok(r, n) and _span_ok(sm, n)
    assert r[1] <= sm[0], (r, sm)
    assert t.reasoning == text[r[0]:r[1]]
    assert t.summary == text[sm[0]:sm[1]]

    # solutions: ordered, disjoint, tiled by their steps, inside explore/verify
    sols = t.solutions
    for i, s in enumerate(sols):
        assert s.index == i
        assert _span_ok((s.start, s.end), n) and s.start < s.end, s
        assert s.section in {"explore", "verify"}
        assert section_at(s.start) == s.section, (s, secs)
        assert section_at(s.end - 1) in {"explore", "verify"}
        assert s.steps, s
        assert s.steps[0][0] == s.start and s.steps[-1][1] == s.end, s
        for a, b in zip(s.steps, s.steps[1:]):
            assert a[1] == b[0], (a, b)
        for st in s.steps:
            assert _span_ok(st, n) and st[0] < st[1]
        assert _answer_in(text, s.answer, s.answer_span), (s.answer, s.answer_span)
        assert (s.answer is None) == (s.answer_kind is None)
        if s.answer_span is not None:
            assert _span_ok(s.answer_span, n)
        if i > 0:
            assert sols[i - 1].end <= s.start, (sols[i - 1], s)
        if s.restart:
            assert s.cue, "a restart is opened by a cue"

    sol_starts = [s.start for s in sols]

    # checks: inside explore/verify; with `solution`, inside it; without, outside every solution
    checks = t.checks  # each attribute access builds new objects: read once
    for i, c in enumerate(checks):
        assert c.index == i
        assert _span_ok((c.start, c.end), n) and c.start < c.end, c
        assert c.kind in CHECK_KINDS
        assert c.section in {"explore", "verify"}
        assert section_at(c.start) == c.section, (c, secs)
        if c.solution is not None:
            assert 0 <= c.solution < len(sols)
            s = sols[c.solution]
            assert s.start <= c.start and c.end <= s.end, (c, s)
        else:
            # solutions are sorted and disjoint (checked above): only the neighbours can overlap
            k = bisect.bisect_right(sol_starts, c.start)
            for s in sols[max(0, k - 1):k + 1]:
                assert c.end <= s.start or s.end <= c.start, (c, s)
        if c.answer is not None:
            assert c.answer in text[c.start:c.end] or _ungroup(c.answer) in _ungroup(text[c.start:c.end]), c
        if i > 0:
            assert checks[i - 1].end <= c.start, (checks[i - 1], c)

    # final answer
    fa, fs = t.final_answer, t.final_answer_span
    assert (fa is None) == (fs is None)
    if fs is not None:
        assert _span_ok(fs, n)
        assert _answer_in(text, fa, fs), (fa, fs, text[fs[0]:fs[1]])

    # issues
    issues = t.issues
    kinds = [i.kind for i in issues]
    for i in issues:
        assert i.kind in ISSUE_KINDS
        assert _span_ok((i.start, i.end), n), i
        assert i.message
    assert (fa is None) == ("no-answer" in kinds or "empty" in kinds), (fa, kinds)
    assert ("empty" in kinds) == _blank(text), (kinds, text[:20])

    # the JSON view agrees with the attributes
    d = json.loads(t.to_json())
    assert d == t.to_dict()
    assert d["format"] == t.format and d["length"] == n
    assert tuple(d["reasoning"]) == r and tuple(d["summary"]) == sm
    assert [(s["kind"], s["start"], s["end"]) for s in d["sections"]] == [(s.kind, s.start, s.end) for s in secs]
    assert [(s["start"], s["end"], s["cue"]) for s in d["solutions"]] == [(s.start, s.end, s.cue) for s in sols]
    assert [(c["start"], c["end"], c["kind"], c["solution"]) for c in d["checks"]] == [
        (c.start, c.end, c.kind, c.solution) for c in checks
    ]
    assert (d["final_answer"] or {}).get("text") == fa
    if fs is not None:
        assert (d["final_answer"]["start"], d["final_answer"]["end"]) == fs
    assert [i["kind"] for i in d["issues"]] == kinds


def group_of(record_id: str) -> str:
    """`tli/qwq-32b_gsm8k/17` -> `tli/qwq-32b_gsm8k`; `deltabench/<hash>` -> `deltabench`."""
    return record_id.rsplit("/", 1)[0]


def load_fixtures() -> list[dict]:
    """The hand-checked fixtures (tests/data/fixtures/*.json), sorted by file name."""
    out = []
    for p in sorted(FIXTURES.glob("*.json")):
        with p.open(encoding="utf-8") as f:
            d = json.load(f)
        d["_file"] = p.name
        out.append(d)
    return out
