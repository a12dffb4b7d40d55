"""Hostile input on every Python entry point: never a crash, never an exception but a typed one.

Hypothesis drives each public function with arbitrary surrogate-free Unicode mixed with the
pieces that break parsers: bidi marks (RLM, RLO, isolates), NUL and other controls, BOMs and
noncharacters, lone braces and brackets, unclosed ``\\boxed{``, LaTeX fragments, think tags and
chat-template tokens, CR, CRLF and the Unicode line separators, combining marks, emoji ZWJ
sequences, case mappings that change length (``İ``, ``ß``). Each property checks what the
function promises (a Trace's spans round-trip through ``str`` slicing, a verdict is one of
three values, a signature has ``num_perm`` uint32 values, edits lie inside the text) and that a
batch call agrees with the single one.

Then one test each for the extreme shapes, with a time bound: 10^5-deep nesting of each kind
of bracket, 10^5 unclosed boxes, a 50 MB single line, CRLF line ends. Those run in a child
process, so that a crash of the Rust core (a stack overflow aborts the process, which no
``catch_unwind`` can stop) fails one test instead of killing the test session.

The only exceptions allowed are the documented ones: ``TypeError`` for an argument of the
wrong type, ``ValueError`` for an invalid option (both name the argument).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dlcot
import numpy as np
import pytest
from conftest import SHARED_DATA, assert_invariants
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]

HOSTILE = [
    # bidi controls: marks, embeddings, overrides, isolates, the Arabic letter mark
    "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
    "\u2069", "\u061c",
    # controls, BOMs, noncharacters, the replacement character, line and paragraph separators
    "\x00", "\x01", "\x1b", "\x1c", "\x1f", "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\ufffe",
    "\uffff", "\ufffd", "\U0010ffff", "\U000e0001",
    # whitespace of every kind
    "\r\n", "\r", "\n", "\n\n", "\r\n\r\n", "\t", " ", "\u00a0", "\u3000", "\u2009", "\v", "\f",
    # brackets, alone and unbalanced, and LaTeX that opens groups
    "{", "}", "{{", "}}", "\\{", "\\}", "[", "]", "(", ")", "\\boxed{", "\\boxed", "\\boxed ", "\\fbox{",
    "\\frac{", "\\dfrac", "\\sqrt[", "\\text{", "\\left(", "\\right)", "\\begin{pmatrix}", "\\end{pmatrix}",
    "{,}", "\\\\", "&", "^", "_", "$", "$$", "\\(", "\\)", "\\[", "\\]", "\\", "%", "\\%",
    # what the parser keys on
    "<think>", "</think>", "<|begin_of_thought|>", "<|end_of_thought|>", "<|begin_of_solution|>",
    "<\uff5cAssistant\uff5c>", "<|im_end|>", "Alternatively, ", "Wait, let me check", "Wait, ", "Hmm, ",
    "The answer is ", "the final answer is ", "**Final Answer**", "#### ", "So x = ", "= 18", "(B)", "1,234",
    "3.5", "1/0", "1e999", "-", ". ", "? ",
    # code points whose byte, UTF-16 and lower-case lengths differ
    "é", "e\u0301", "\u0301", "日本語", "\U0001f600", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0001d49c", "İ", "ß", "Σ", "ς", "\ufb03", "\u0130\u0307",
]  # fmt: skip

CHARS = st.characters(blacklist_categories=("Cs",))  # any code point but a surrogate
hostile = st.one_of(
    st.text(CHARS, max_size=40),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(CHARS, max_size=8)), max_size=80).map("".join),
)
maybe = st.one_of(st.none(), hostile)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
POLICIES = [name for name, _ in dlcot.policies()]
LABELS = {None, "correct", "incorrect", "incomplete", "undecided"}


# -------------------------------------------------------------------------------------------
# properties, in process


@SETTINGS
@given(hostile, maybe, maybe)
def test_parse(text, problem, reference):
    t = dlcot.parse(text, problem=problem, reference=reference)
    assert_invariants(text, t)  # sections tile the text; every span slices the str it names
    assert t.problem == problem and t.reference == reference
    assert all(s.label in LABELS for s in t.solutions)
    if reference is None:
        assert all(s.label is None for s in t.solutions)
    (b,) = dlcot.parse_batch([text], problems=[problem], references=[reference], num_threads=2)
    assert b.to_dict() == t.to_dict()
    (j,) = dlcot.parse_batch_json([text], problems=[problem], references=[reference])
    assert json.loads(j) == json.loads(t.to_json())


@SETTINGS
@given(hostile)
def test_answer_extraction(text):
    a = dlcot.extract_answer(text)
    assert a is None or isinstance(a, str)
    assert dlcot.extract_answer_batch([text, text], num_threads=2) == [a, a]
    r = dlcot.extract_reference(text)
    assert r is None or isinstance(r, str)
    assert isinstance(dlcot.normalize_answer(text), str)


@SETTINGS
@given(hostile, hostile)
def test_equivalence(a, b):
    v = dlcot.equivalent(a, b)
    assert v in (True, False, None)
    assert dlcot.equivalent(a, a) is not False  # never wrong when it decides
    assert dlcot.equivalent_batch([(a, b), (b, a)], num_threads=2) == [v, dlcot.equivalent(b, a)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile, hostile)
def test_verify(a, b):
    # math-verify runs on what the fast rules leave undecided, with its own time limit
    verdicts, paths = dlcot.verify_batch([(a, b)], timeout=1)
    assert verdicts[0] in (True, False) and paths[0] in ("fast", "symbolic", "undecided")
    assert isinstance(dlcot.verify(a, b, timeout=1), bool)


@SETTINGS
@given(st.lists(hostile, max_size=5), st.integers(1, 64), st.integers(1, 8), st.sampled_from(["word", "char"]))
def test_minhash(texts, num_perm, ngram, unit):
    h = dlcot.MinHasher(num_perm=num_perm, ngram=ngram, unit=unit, seed=7)
    sigs = h.signatures(texts, num_threads=2)
    assert sigs.shape == (len(texts), num_perm) and sigs.dtype == np.uint32
    for t, row in zip(texts, sigs):
        assert (h.signature(t) == row).all()
        shingles = h.shingles(t)
        assert all(isinstance(s, str) for s in shingles)
        assert len(h.shingle_hashes(t)) <= len(shingles)
        assert h.jaccard(t, t) == 1.0
    for a, b in zip(texts, texts[1:]):
        assert 0.0 <= h.jaccard(a, b) <= 1.0
        assert 0.0 <= dlcot.token_set_ratio(a, b) <= 100.0


@SETTINGS
@given(hostile, maybe, maybe, st.sampled_from(POLICIES), st.booleans())
def test_prune(text, problem, reference, policy, keep_unsolvable):
    p = dlcot.prune(text, problem=problem, reference=reference, policy=policy, keep_unsolvable=keep_unsolvable)
    assert p.status in ("kept", "unsolvable", "answer-changed") and p.policy == policy
    assert p.chars_before == len(text) and p.chars_after == len(p.text)
    end = 0
    for e in p.edits:  # sorted, disjoint, inside the text
        assert end <= e.start < e.end <= len(text), (e, len(text))
        end = e.end
    if not p.edits:
        assert p.text == text
    assert len(p.labels) == len(p.solution_spans) == len(p.solution_leaders)
    assert all(label in LABELS for label in p.labels)
    for s, e in p.solution_spans:
        assert 0 <= s <= e <= len(text)
    (b,) = dlcot.prune_batch([text], problems=[problem], references=[reference], policy=policy,
                             keep_unsolvable=keep_unsolvable, num_threads=2)  # fmt: skip
    assert (b.status, b.text, [(e.start, e.end) for e in b.edits]) == (p.status, p.text, [(e.start, e.end) for e in p.edits])


@pytest.fixture(scope="module")
def pipeline():
    return dlcot.Pipeline("dlcot", keep_unsolvable=True, symbolic=False, tokenizer="none")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(hostile, maybe, maybe)
def test_pipeline_process(pipeline, text, problem, answer):
    r = pipeline.process({"id": "x", "response": text, "problem": problem, "answer": answer})
    assert r.status in ("kept", "unsolvable", "no-reference", "no-problem")
    assert isinstance(r.response, str)
    if r.status == "kept":
        json.dumps(pipeline.sft_record(r), ensure_ascii=False)  # exportable
    json.dumps(pipeline.edit_record(r))


def test_wrong_types_raise_typed_errors():
    """The documented errors: TypeError / ValueError naming the argument, never a crash."""
    cases = [
        (lambda: dlcot.parse(123), TypeError, "text"),
        (lambda: dlcot.parse("x", problem=b"p"), TypeError, "problem"),
        (lambda: dlcot.parse_batch(["a", None]), TypeError, "texts[1]"),
        (lambda: dlcot.extract_answer(None), TypeError, "text"),
        (lambda: dlcot.equivalent("1", 1), TypeError, "reference"),
        (lambda: dlcot.prune("x", reference=5), TypeError, "reference"),
        (lambda: dlcot.prune("x", policy="nope"), ValueError, "policy"),
        (lambda: dlcot.prune("x", threshold=0.0), ValueError, "threshold"),
        (lambda: dlcot.MinHasher(num_perm=0), ValueError, "num_perm"),
        (lambda: dlcot.MinHasher(unit="byte"), ValueError, "unit"),
        (lambda: dlcot.MinHasher().signature(3.5), TypeError, "text"),
        (lambda: dlcot.verify_batch([("1", None)]), TypeError, "pairs[0]"),
        (lambda: dlcot.Pipeline("nope"), ValueError, "policy"),
        (lambda: dlcot.Pipeline(symbolic=False, tokenizer="none").process({"response": 5}), ValueError, "response"),
    ]
    for call, error, name in cases:
        with pytest.raises(error) as info:
            call()
        assert name in str(info.value), (name, info.value)


def test_lone_surrogates_do_not_crash():
    # (outside the surrogate-free contract, but a str can hold them: a result or a ValueError
    # such as UnicodeEncodeError, never a crash)
    for text in ["\ud800", "a\udfffb", "\\boxed{\ud83d}"]:
        for call in (dlcot.parse, lambda x: dlcot.equivalent(x, x), dlcot.MinHasher().signature, dlcot.prune):
            try:
                call(text)
            except ValueError:
                pass


# -------------------------------------------------------------------------------------------
# extreme shapes, each in a child process with a time bound


def isolated(code: str, timeout: float) -> dict:
    """Runs ``code`` in a fresh interpreter (``dlcot`` imported); it prints one JSON line of
    results, returned here. A crash or a time-out fails the calling test with what it printed."""
    prog = "import json, time, dlcot\n" + textwrap.dedent(code)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"took more than {timeout} s")
    if proc.returncode != 0:
        pytest.fail(f"the child exited {proc.returncode} after {time.perf_counter() - t0:.1f} s "
                    f"(negative: killed by that signal)\n{proc.stderr[-3000:]}")  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


EVERY_ENTRY_POINT = """
def every_entry_point(text, reference="1"):
    t0 = time.perf_counter()
    t = dlcot.parse(text, problem=text[:1000], reference=reference)
    assert "".join(s.text for s in t.sections) == text
    dlcot.extract_answer(text)
    dlcot.extract_reference(text)
    dlcot.normalize_answer(text)
    dlcot.equivalent(text, reference)
    dlcot.equivalent(text, text)
    dlcot.verify_batch([(text, reference)], timeout=1)
    h = dlcot.MinHasher(num_perm=16)
    h.signature(text)
    h.jaccard(text, text[: len(text) // 2])
    p = dlcot.prune(text, reference=reference, keep_unsolvable=True)
    assert all(0 <= e.start <= e.end <= len(text) for e in p.edits)
    pipe = dlcot.Pipeline(keep_unsolvable=True, symbolic=False, tokenizer="none")
    pipe.process({"response": text, "problem": "p", "answer": reference})
    return round(time.perf_counter() - t0, 3)
"""


@pytest.mark.parametrize(
    "opener, closer",
    [("{", "}"), ("[", "]"), ("(", ")"), ("\\{", "\\}"), ("\\left(", "\\right)"), ("\\boxed{", "}"),
     ("\\frac{1}{", "}"), ("\\text{", "}"), ("$", "$")],
    ids=["braces", "brackets", "parens", "latex-sets", "left-right", "boxed", "frac", "text", "dollars"],
)
def test_deep_nesting(opener, closer):
    """10^5 levels of one kind of group, balanced, in every entry point (and unbalanced: the
    openers alone). The fast rules used to recurse once per level and overflow the stack."""
    out = isolated(EVERY_ENTRY_POINT + f"""
deep = {opener!r} * 100_000 + "1" + {closer!r} * 100_000
print(json.dumps({{"balanced": every_entry_point(deep), "open": every_entry_point({opener!r} * 100_000)}}))
""", timeout=120)  # fmt: skip
    assert out["balanced"] < 60 and out["open"] < 60, out


def test_unclosed_boxes_and_a_box_per_line():
    out = isolated(EVERY_ENTRY_POINT + """
res = {}
for name, text in [("boxed", "\\\\boxed{" * 100_000), ("fbox", "\\\\fbox{" * 100_000),
                   ("lines", "\\\\boxed{1}\\n" * 100_000), ("answers", "The answer is \\\\boxed{" * 50_000)]:
    res[name] = every_entry_point(text)
print(json.dumps(res))
""", timeout=120)  # fmt: skip
    assert max(out.values()) < 30, out


def test_50mb_single_line():
    """A 50 MB response with no line break (a degenerate generation) through every entry point:
    bounded time, and parse's result tiles it."""
    out = isolated(EVERY_ENTRY_POINT + """
unit = "Wait, so x = 12 \\u200f{and} (\\\\frac{1}{2}) \\u00e9t\\u00e9 \\\\boxed{3} "
text = unit * (50 * 2**20 // len(unit.encode()))
print(json.dumps({"mb": len(text.encode()) / 2**20, "seconds": every_entry_point(text)}))
""", timeout=300)  # fmt: skip
    assert out["mb"] > 49 and out["seconds"] < 200, out


def test_nul_and_rtl_only_texts():
    out = isolated(EVERY_ENTRY_POINT + """
res = {name: every_entry_point(ch * 1_000_000) for name, ch in
       [("nul", "\\x00"), ("rlm", "\\u200f"), ("rlo", "\\u202e"), ("bom", "\\ufeff"), ("crlf", "\\r\\n"), ("cr", "\\r")]}
print(json.dumps(res))
""", timeout=120)  # fmt: skip
    assert max(out.values()) < 30, out


def _real_traces() -> list[dict]:
    from dlcot.io import Record, iter_records

    recs = [{"id": r.id, "response": r.response, "problem": r.problem}
            for r in iter_records(ROOT / "examples" / "sky_t1_sample.jsonl") if isinstance(r, Record)]  # fmt: skip
    path = SHARED_DATA / "traces_normalised.jsonl"
    if path.is_file():
        with path.open(encoding="utf-8") as f:
            recs += [json.loads(line) for line in f if line.strip()][:400]
    return recs


def test_crlf_gives_the_same_structure_as_lf():
    """Windows line ends change no decision: the same sections, solutions, checks, answer and
    issues as with ``\\n`` on real traces, and the spans still slice the CRLF text."""
    for r in _real_traces():
        text = r["response"].replace("\r\n", "\n")
        crlf = text.replace("\n", "\r\n")
        a = dlcot.parse(text, problem=r.get("problem"))
        b = dlcot.parse(crlf, problem=r.get("problem"))
        assert_invariants(crlf, b)
        shape = lambda t: ([s.kind for s in t.sections], [s.cue for s in t.solutions], [c.kind for c in t.checks],
                           t.final_answer, [i.kind for i in t.issues])  # fmt: skip
        assert shape(a) == shape(b), r.get("id")
