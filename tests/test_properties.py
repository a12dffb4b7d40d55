"""Hypothesis properties of the parser: total, lossless, deterministic, batch == single.

`assert_invariants` (conftest.py) holds every structural promise of a Trace: sections tile the
text in DLCoT order, all spans lie in [0, len], solutions are ordered and disjoint and tiled by
their steps, checks lie in their solution, answer spans cover their answers, the JSON view
agrees with the attributes. Here it is run on arbitrary text and on text built from the pieces
real traces are made of (cue phrases, tags, boxes, chat-template tokens), plus odd code points
(non-ASCII, emoji, RTL marks, NUL) that stress the byte -> str index conversion.
"""

from __future__ import annotations

import json
import pickle
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dlcot
from conftest import FIXTURES, assert_invariants, load_fixtures

PIECES = [
    # cues
    "Alternatively, ", "Wait, let me check", "Wait, ", "Wait,", "But wait, ", "Hmm, ", "Let me verify: ",
    "Let me start over. ", "Let me double-check. ", "Yes, that checks out. ", "Plugging back in, ",
    "Okay, so I need to ", "So I have this problem ", "Another approach: ", "Let me recalculate. ",
    "That's wrong. ", "So the total is 24. ", "Therefore, x = 5. ", "In conclusion, ",
    "So the answer is 18. ", "The final answer is ", "The answer is (B). ", "Let’s check ",
    # tags and template tokens
    "<think>", "</think>", "<think>\n", "\n</think>\n\n", "<|begin_of_thought|>", "<|end_of_thought|>",
    "<|begin_of_solution|>", "<|end_of_solution|>", "<thinking>", "</thinking>", "\u25c1think\u25b7",
    "\u25c1/think\u25b7", "<answer>", "</answer>", "<\uff5cUser\uff5c>", "<\uff5cAssistant\uff5c>",
    "<\uff5cend\u2581of\u2581sentence\uff5c>", "<|im_start|>assistant\n", "<|im_end|>", "<|eot_id|>", "</s>",
    # answers and math
    "\\boxed{", "}", "{", "\\boxed{42}", "\\boxed 7", "\\fbox{3}", "\\boxed{\\frac{1}{2}}", "$", "\\(", "\\)",
    "\\[", "\\]", "#### ", "1,234", "3.5", "= 18", "2 + 3 = 5", "\\frac{1}{2}", "(B)",
    "**Final Answer**", "**Final Answer**\n\\[ \\boxed{12} \\]", "**", "Final Answer:",
    # layout
    "\n\n", "\n", " ", "\r\n", "\t", ". ", "? ", "\n\n\n\n", "- ", "> ", "# ",
    # code points that stress char/byte offsets
    "é", "ü", "日本語", "😀", "👨\u200d👩\u200d👧", "\u200f", "\u200e", "\u202e", "\x00", "\ufeff", "’", "\u0301",
    "\U0001d49c", "Ä", "\u2028",
]

piece = st.sampled_from(PIECES)
mixed_text = st.lists(st.one_of(piece, piece, st.text(max_size=12)), max_size=60).map("".join)
any_text = st.one_of(st.text(), mixed_text)
problems = st.one_of(st.none(), st.text(max_size=80), mixed_text)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.text())
def test_arbitrary_text_parses_and_holds_invariants(text):
    assert_invariants(text, dlcot.parse(text))


@SETTINGS
@given(mixed_text, problems)
def test_trace_like_text_parses_and_holds_invariants(text, problem):
    t = dlcot.parse(text, problem=problem)
    assert t.problem == problem
    assert_invariants(text, t)


@settings(max_examples=150, deadline=None)
@given(st.lists(piece, min_size=1, max_size=200).map("".join))
def test_only_pieces(text):
    # no free text at all: tags, cues and braces back to back
    assert_invariants(text, dlcot.parse(text))


@settings(max_examples=100, deadline=None)
@given(any_text, problems)
def test_parse_is_deterministic(text, problem):
    a = dlcot.parse(text, problem=problem)
    b = dlcot.parse(text, problem=problem)
    assert a.to_json() == b.to_json()
    assert repr(a) == repr(b)


@settings(max_examples=60, deadline=None)
@given(st.lists(any_text, max_size=12), st.data())
def test_parse_batch_equals_parse(texts, data):
    probs = data.draw(st.lists(problems, min_size=len(texts), max_size=len(texts)))
    want = [dlcot.parse(t, problem=p).to_json() for t, p in zip(texts, probs)]
    for threads in (1, 2):
        got = dlcot.parse_batch(texts, problems=probs, num_threads=threads)
        assert [g.to_json() for g in got] == want
        assert [g.text for g in got] == texts
        assert [g.problem for g in got] == probs
        assert dlcot.parse_batch_json(texts, problems=probs, num_threads=threads) == want


@settings(max_examples=100, deadline=None)
@given(any_text, problems)
def test_pickle_round_trip(text, problem):
    t = dlcot.parse(text, problem=problem)
    u = pickle.loads(pickle.dumps(t))
    assert u.text == text and u.problem == problem
    assert u.to_json() == t.to_json()
    assert u.final_answer == t.final_answer


@settings(max_examples=100, deadline=None)
@given(any_text)
def test_final_answer_matches_json(text):
    t = dlcot.parse(text)
    fa = json.loads(t.to_json())["final_answer"]
    assert (fa["text"] if fa else None) == t.final_answer


@settings(max_examples=100, deadline=None)
@given(any_text)
def test_extract_answer_never_raises(text):
    a = dlcot.extract_answer(text)
    assert a is None or (isinstance(a, str) and a.strip() == a and a)
    r = dlcot.extract_reference(text)
    assert r is None or isinstance(r, str)


@pytest.mark.parametrize(
    "text",
    [
        "", " ", "\n", "\x00", "</think>", "<think>", "<think></think>", "</think><think>", "\\boxed{", "\\boxed{}",
        "}", "\\boxed", "\\boxed ", "\\boxed\n", "####", "#### ", "**Final Answer**", "<\uff5cAssistant\uff5c>",
        "<\uff5cUser\uff5c><\uff5cAssistant\uff5c>", "<|end_of_thought|><|begin_of_solution|>", "<|im_end|>",
        "\u200f\u200f", "😀" * 5, "Wait,\n\nWait,\n\nWait,", "Alternatively," * 3, "é\n\nÄlternatively",
        "a" * 32 + "\n\n" + "a" * 32 + "\n\n" + "a" * 32,
    ],
)
def test_edge_cases(text):
    assert_invariants(text, dlcot.parse(text, problem=text))


@pytest.mark.parametrize(
    "text",
    [
        "So, 2 and 3/4 is equal to ",
        "So sqrt(6² + 9²) is indeed ",
        "2 + 2 = 4.\n\nSo the total is just ",
        "So the total is just \n\nWait, hmm.",
        "So I think it's safe to assume that the total cost per visit is just ",
    ],
)
def test_statement_without_a_value_does_not_panic(text):
    try:
        t = dlcot.parse(text)
    except BaseException as e:  # a Rust panic is a BaseException, not an Exception
        pytest.fail(f"parse raised {type(e).__name__}: {str(e)[:120]}")
    assert_invariants(text, t)


def test_lone_surrogate_parses():
    text = "Okay.\n\nSo x = 5 \ud800 done.\n</think>\n\\boxed{5}"
    t = dlcot.parse(text)
    assert t.final_answer == "5"
    assert [s.end for s in t.sections][-1] == len(text)


def test_lone_surrogate_parses_with_indices_intact():
    # A str may hold a lone surrogate (json.loads('"\\ud800"') makes one), which UTF-8 cannot
    # encode. parse reads each one as "?" (one char for one), so every index stays right.
    text = "a\ud800b. So the answer is \\boxed{5}."
    t = dlcot.parse(text)
    assert t.final_answer == "5" and text[slice(*t.final_answer_span)] == "5"
    assert "".join(s.text for s in t.sections) == text.replace("\ud800", "?")
    assert [s.end for s in t.sections][-1] == len(text)
    [bt] = dlcot.parse_batch([text])
    assert bt.to_json() == t.to_json()


# ---------------------------------------------------------------------------------------------
# big inputs: linear time, no hang


def _real_paragraphs() -> list[str]:
    """Paragraphs of the bundled Sky-T1 excerpts and synthetic traces, without their tags."""
    out = []
    for fx in load_fixtures():
        for p in fx["text"].split("\n\n"):
            if p.strip() and "<" not in p:
                out.append(p)
    assert len(out) > 50, f"expected the fixtures in {FIXTURES}"
    return out


def test_50mb_trace_parses_in_time_and_tiles():
    paras = _real_paragraphs()
    body = "\n\n".join(paras) + "\n\n"
    text = (body * (50_000_000 // len(body) + 1))[:50_000_000]
    t0 = time.perf_counter()
    t = dlcot.parse(text)
    elapsed = time.perf_counter() - t0
    assert elapsed < 10.0, f"50 MB took {elapsed:.1f} s"
    secs = t.sections
    assert secs[0].start == 0 and secs[-1].end == len(text)
    assert all(a.end == b.start for a, b in zip(secs, secs[1:]))
    assert sum(len(s.text) for s in secs) == len(text)
    assert len(t.solutions) > 100  # thousands of "Alternatively"/"Let me" turns in 50 MB
    assert any(i.kind == "repetition" for i in t.issues)


def _timed_parse(text: str, budget: float):
    t0 = time.perf_counter()
    t = dlcot.parse(text)
    elapsed = time.perf_counter() - t0
    assert elapsed < budget, f"took {elapsed:.2f} s"
    return t


def test_deeply_nested_braces_in_a_box():
    text = "Okay.\n\nSo \\boxed{" + "{" * 100_000 + "1" + "}" * 100_000 + "}\n\nDone."
    t = _timed_parse(text, 5.0)
    assert_invariants(text, t)
    # the box is past the brace-matching cap: not taken as an answer, reported as unbalanced
    assert t.final_answer is None
    assert "unbalanced-boxed" in {i.kind for i in t.issues}


def test_unclosed_deep_braces():
    text = "x \\boxed{" + "{" * 100_000
    t = _timed_parse(text, 5.0)
    assert_invariants(text, t)
    assert t.final_answer is None
    assert "unbalanced-boxed" in {i.kind for i in t.issues}


def test_many_unclosed_boxes_no_hang():
    text = "\\boxed{" * 100_000
    t = _timed_parse(text, 30.0)
    assert_invariants(text, t)
    assert t.final_answer is None
    assert "unbalanced-boxed" in {i.kind for i in t.issues}


def test_many_unclosed_boxes_are_linear():
    # 0.5 s is ~50x what 700 KB of ordinary text takes
    _timed_parse("\\boxed{" * 100_000, 0.5)


def test_many_boxes_and_cues_in_one_paragraph():
    text = ("Wait, let me check \\boxed{1}. Alternatively, \\boxed{2}. " * 20_000) + "\n</think>\n\\boxed{2}"
    t = _timed_parse(text, 5.0)
    assert_invariants(text, t)
    assert t.final_answer == "2"


def test_many_tiny_paragraphs():
    text = "a\n\n" * 300_000
    t = _timed_parse(text, 5.0)
    assert_invariants(text, t)
