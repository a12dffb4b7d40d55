"""Answer normalisation, fast equivalence, verification with the symbolic fallback, solution
labels and `dlcot verify`, on the real benchmark answers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlcot

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "data" / "bench"
needs_bench = pytest.mark.skipif(not BENCH.exists(), reason="../shared/data/bench not present")


def bench_answers(names=("math500", "aime24", "aime25", "amc23", "gsm8k", "minerva_math", "olympiadbench")):
    out = []
    for name in names:
        f = BENCH / f"{name}.jsonl"
        if f.exists():
            out += [(name, i, json.loads(line)["answer"]) for i, line in enumerate(f.open(encoding="utf-8"))]
    return out


# --- the fast path on hand-checked pairs of every shape ------------------------------------

SAME = [
    ("1,234", "1234"),
    ("3{,}5", "3.5"),
    ("62.5\\%", "0.625"),
    ("3, 1", "1,3"),
    ("2\\frac{1}{2}", "\\frac{5}{2}"),
    ("2 1/2", "2.5"),
    ("\\dfrac{3}{4}", "0.75"),
    ("50\\%", "50"),
    ("\\left[ 0, 1 \\right)", "[0,1)"),
    ("\\{3, 1\\}", "\\{1,3\\}"),
    ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}"),
    ("x = 5", "5"),
    ("5 \\text{ cm}", "5"),
    ("18 dollars", "18"),
    ("\\$18.00", "18"),
    ("30^\\circ", "30"),
    ("2\\sqrt{3}", "\\sqrt{12}"),
    ("\\frac{\\pi}{2}", "\\frac{1}{2}\\pi"),
    ("1.5 \\times 10^{3}", "1500"),
    ("(B)", "B"),
    ("The answer is $18$.", "18"),
    ("\\text{Monday}", "Monday"),
    ("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}"),
    ("-\\frac{1}{2}", "-0.5"),
]
DIFFERENT = [
    ("2", "2.5"),
    ("(1,2)", "[1,2]"),
    ("1/2", "2"),
    ("-3", "3"),
    ("\\sqrt{2}", "2"),
    ("(0,1]", "(0,1)"),
    ("(1,2)", "(2,1)"),
    ("\\{1,2\\}", "\\{1,3\\}"),
    ("A", "C"),
    ("1,234", "1.234"),
    ("\\$5.4", "5.4 \\text{ cents}"),
    ("0.5", "50"),
    ("1.325\\times10^{-26}", "1.325e-27"),
    ("\\begin{pmatrix} 1 & 2 \\end{pmatrix}", "\\begin{pmatrix} 2 & 1 \\end{pmatrix}"),
    ("\\frac{1}{3}", "0.33"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_fast_path_says_same(a, b):
    assert dlcot.equivalent(a, b) is True
    assert dlcot.equivalent(b, a) is True


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_fast_path_says_different(a, b):
    assert dlcot.equivalent(a, b) is False
    assert dlcot.equivalent(b, a) is False


@pytest.mark.parametrize(("a", "b"), [("x^2-1", "(x-1)(x+1)"), ("y = 2x+1", "2x+1+0y"), ("\\ln 2", "0.693")])
def test_fast_path_leaves_symbols_to_the_fallback(a, b):
    assert dlcot.equivalent(a, b) is None


# --- every real benchmark answer ----------------------------------------------------------


@needs_bench
def test_every_bench_answer_equals_its_own_forms():
    """Each of the ~3,000 real answers equals itself boxed, in a sentence and in `$..$`."""
    answers = bench_answers()
    assert len(answers) > 2500
    pairs = []
    for _, _, a in answers:
        pairs += [(a, a), (f"\\boxed{{{a}}}", a), (f"${a}$", a), (f"The final answer is $\\boxed{{{a}}}$.", a)]
    got = dlcot.equivalent_batch(pairs)
    bad = [(p, g) for p, g in zip(pairs, got) if g is not True]
    assert not bad, bad[:10]


@needs_bench
def test_numeric_bench_answers_differ_from_their_neighbours():
    """For every integer answer n: n+1 and 10n are different answers, and the rules are sure."""
    import re

    pairs = []
    for _, _, a in bench_answers():
        if not re.fullmatch(r"-?\d{1,3}(,\d{3})+|-?\d+", a.strip()):
            continue  # "1,3,5" is a list, not a number
        s = a.strip().replace(",", "")
        if s.lstrip("-").isdigit():
            n = int(s)
            pairs += [(str(n + 1), a), (str(10 * n + 7), a)]
    assert len(pairs) > 1500
    got = dlcot.equivalent_batch(pairs)
    assert all(g is False for g in got), [p for p, g in zip(pairs, got) if g is not False][:10]


@needs_bench
def test_gsm8k_solutions_verify_against_their_answers():
    records = [json.loads(line) for line in (BENCH / "gsm8k.jsonl").open(encoding="utf-8")]
    pairs = [(r["answer_original"], r["answer"]) for r in records]
    verdicts, paths = dlcot.verify_batch(pairs)
    assert all(verdicts)
    assert set(paths) == {"fast"}


# --- properties ------------------------------------------------------------------------------

answer_like = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"-?[0-9]{1,7}(\.[0-9]{1,3})?", fullmatch=True),
    st.sampled_from([a for a, _ in SAME + DIFFERENT] + [b for _, b in SAME + DIFFERENT]),
)


@settings(max_examples=400, deadline=None)
@given(answer_like)
def test_normalize_is_idempotent(s):
    n = dlcot.normalize_answer(s)
    assert dlcot.normalize_answer(n) == n


@settings(max_examples=400, deadline=None)
@given(answer_like, answer_like)
def test_equivalent_is_symmetric_and_reflexive(a, b):
    assert dlcot.equivalent(a, b) == dlcot.equivalent(b, a)
    if dlcot.normalize_answer(a):
        assert dlcot.equivalent(a, a) is True


# --- verify: the fallback and its paths --------------------------------------------------------


def test_verify_uses_the_symbolic_fallback_only_when_needed():
    verdicts, paths = dlcot.verify_batch([("2", "2.5"), ("x^2-1", "(x-1)(x+1)"), ("x^2", "x^3")])
    assert paths[0] == "fast" and verdicts[0] is False
    from dlcot.verification import symbolic_available

    if symbolic_available():
        assert paths[1:] == ["symbolic", "symbolic"]
        assert verdicts[1:] == [True, False]
    else:  # without math-verify the undecidable pairs are undecided, not guessed
        assert paths[1:] == ["undecided", "undecided"] and verdicts[1:] == [False, False]


def test_verify_reads_whole_responses_and_reference_solutions():
    response = "Okay, so 3 + 4 = 7.\n</think>\n\nThe answer is \\boxed{7}."
    assert dlcot.verify(response, "She has 3 + 4 = <<3+4=7>>7 apples.\n#### 7")
    assert not dlcot.verify(response, "8")


def test_decimal_comma_is_read_in_the_prediction_only():
    assert dlcot.verify("3,5", "3.5")  # a European decimal comma
    assert not dlcot.verify("5.1", "5,1")  # the reference lists a minimum and a maximum
    assert dlcot.equivalent("3,5", "3.5") is None  # symmetric rules cannot tell a list from a decimal


def test_verify_rejects_wrong_arguments():
    with pytest.raises(TypeError, match=r"pairs\[0\]"):
        dlcot.verify_batch([(1, "2")])


# --- labels --------------------------------------------------------------------------------


TRACE = (
    "Okay, so I need 2 + 3.\n\n2 + 3 = 6, so the answer is 6.\n\n"
    "Wait, that's wrong. Let me start over: 2 + 3 = 5.\n\n"
    "Alternatively, I could count up.\n\n**Final Answer**\n\\boxed{5}\n</think>\n\n\\boxed{5}"
)


def test_parse_with_reference_labels_solutions():
    t = dlcot.parse(TRACE, reference="5")
    labels = [s.label for s in t.solutions]
    assert labels == ["incorrect", "correct"]
    assert t.first_correct == 1 and t.reference == "5"
    assert dlcot.label_solutions(t, "5") == labels
    assert json.loads(t.to_json())["first_correct"] == 1
    # no reference: no labels
    assert all(s.label is None for s in dlcot.parse(TRACE).solutions)
    # batch and pickle keep them
    [b] = dlcot.parse_batch([TRACE], references=["5"])
    assert b.to_json() == t.to_json()
    import pickle

    assert pickle.loads(pickle.dumps(t)).to_json() == t.to_json()


def test_a_solution_without_an_answer_is_incomplete():
    text = (
        "Okay, so I need 2 + 3.\n\n2 + 3 = 5.\n\nAlternatively, I could count on my fingers from two, "
        "one finger at a time.\n\n**Final Answer**\n\\boxed{5}"
    )
    t = dlcot.parse(text, reference="5")
    assert [s.label for s in t.solutions] == ["correct", "incomplete"]


def test_unsolvable_trace_has_no_first_correct():
    t = dlcot.parse(TRACE, reference="7")
    assert t.first_correct is None
    assert dlcot.first_correct(dlcot.label_solutions(t, "7")) is None


# --- the CLI -------------------------------------------------------------------------------


def test_cli_verify_on_the_sample(tmp_path):
    out = tmp_path / "v.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "dlcot.cli", "verify", str(ROOT / "examples" / "sky_t1_sample.jsonl"), "-o", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    records = [json.loads(line) for line in (ROOT / "examples" / "sky_t1_sample.jsonl").read_text(encoding="utf-8").split("\n") if line]
    assert len(rows) == 18
    # the harness's own grader (`score`) agrees with dlcot on every record
    for row, rec in zip(rows, records):
        assert row["correct"] == rec["score"][0], (row["id"], row["final_answer"], rec["gt"])
        assert all(s["label"] in {"correct", "incorrect", "incomplete"} for s in row["solutions"])
        if row["correct"]:
            assert row["first_correct"] is not None
    assert "in 18 = out 18 + rejected 0" in proc.stderr
