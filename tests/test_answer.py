"""Answer extraction: `extract_answer`, `extract_answer_batch` and `extract_reference`.

Hand-written cases in the shapes real traces and graders meet (R1/QwQ summaries, MATH and
Minerva solutions, GSM8K references), then the benchmark sets in ../shared/data/bench: every
record whose reference field holds a `\\boxed{}` or `#### N` must give back the set's normalised
`answer`.
"""

from __future__ import annotations

import json
import re
import time

import pytest

import dlcot
from dlcot import extract_answer, extract_reference

# --------------------------------------------------------------------------------------------
# extract_answer: hand-written cases


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # nested braces inside \boxed
        (r"So the ratio is $\boxed{\frac{\sqrt{3}}{2}}$ in the end.", r"\frac{\sqrt{3}}{2}"),
        (r"\boxed{\frac{a}{b^{2}}}", r"\frac{a}{b^{2}}"),
        (r"The set is \boxed{\{1, 2\}}.", r"\{1, 2\}"),
        (r"\boxed{\left( 3, \frac{\pi}{2} \right)}", r"\left( 3, \frac{\pi}{2} \right)"),
        # \fbox and the brace-less \boxed N
        (r"\fbox{42}", "42"),
        (r"so the answer is \boxed 5 and we are done", "5"),
        (r"$\boxed 5$", "5"),
        # several boxes: the last non-empty one wins (Qwen2.5-Math / lm-eval rule)
        (r"First guess \boxed{3}. Wait, no: it is \boxed{4}.", "4"),
        (r"We get \boxed{7} and then an empty \boxed{} slipped in.", "7"),
        # a box beats a later phrase: the box is the strongest marker
        (r"\boxed{4}. Checking once more, the answer is 4.", "4"),
        # "the final answer is" (the Minerva / lm-eval sentence)
        (r"The final answer is $\frac{1}{2}$.", r"\frac{1}{2}"),
        (r"Final Answer: The final answer is $18$. I hope it is correct.", "18"),
        (r"The final answer is \(\boxed{7}\).", "7"),
        # **Final Answer** headings with display math, as R1 distills write them
        ("Thus 12 apples.\n\n**Final Answer**\n\\[ \\boxed{12} \\]", "12"),
        ("**Final Answer**\n\\[\n\\boxed{\\dfrac{3}{4}}\n\\]\n", r"\dfrac{3}{4}"),
        ("**Final Answer**\nThe answer is 3.5. That is all.", "3.5"),
        # multiple choice: reduced to the letter
        ("The answer is (B).", "B"),
        ("Answer: (C)", "C"),
        ("So the answer is D) 12.", "D"),
        (r"\boxed{B}", "B"),
        # decimals and numbers ending a sentence
        ("Adding them up, the answer is 3.5.", "3.5"),
        ("So the answer is 3.5. Now let me write it up.", "3.5"),
        ("the answer is 0.25.", "0.25"),
        ("The answer is 1,000.", "1,000"),
        ("The answer is: 7", "7"),
        # no answer at all
        ("Let me think about this problem for a while.", None),
        ("", None),
        ("   \n\n ", None),
        (r"\boxed{}", None),
        (r"an unclosed \boxed{12", None),
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_gsm8k_hashes():
    assert extract_answer("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18") == "18"
    assert extract_answer("blah\n#### 1,234") in {"1,234", "1234"}
    assert extract_answer("#### -3.5") == "-3.5"


@pytest.mark.parametrize(
    "text",
    [
        "So the answer is $25,000 per year. Let me just check again",
        "So the answer is \\$25,000 per year. Let me check again.",
    ],
)
def test_currency_dollar_does_not_swallow_the_next_sentence(text):
    got = extract_answer(text)
    assert got is not None and "25,000" in got
    assert "check" not in got.lower()


@pytest.mark.parametrize(
    "text",
    [
        "We need the largest imaginary part. The answer should be in the form \\( \\frac{\\sqrt{m}}{n} \\), "
        "where \\( m \\) and \\( n \\) are relatively prime positive integers.",
        "The answer should be expressed in the form \\( p^{a/b} \\), where \\( p \\) is a prime number.",
    ],
)
def test_answer_format_instruction_is_not_an_answer(text):
    assert extract_answer(text) is None


def test_question_mark_ends_the_value():
    got = extract_answer("So if the same amount keep coming, then answer is 120? But that seems contradictory.")
    assert got is None or got.rstrip("?") == "120"


def test_answer_is_a_substring_of_the_text():
    # the value handed back is (up to a multiple-choice letter) a piece of the text
    for text in [
        r"So $x = \boxed{\frac{1}{2}}$.",
        "**Final Answer**\n\\[ \\boxed{12} \\]",
        "The final answer is $\\frac{1}{2}$.",
        "#### 1,234",
    ]:
        a = extract_answer(text)
        assert a is not None and a in text


def test_pathological_boxes_are_fast():
    t0 = time.perf_counter()
    # 10^5 unclosed boxes: all unbalanced, no answer, and no quadratic rescan
    assert extract_answer("\\boxed{" * 100_000) is None
    # a box 100k braces deep is past the 8 KiB brace-matching cap: skipped, not followed
    deep = "\\boxed{" + "{" * 100_000 + "7" + "}" * 100_000 + "}"
    assert extract_answer(deep) is None
    # a later, ordinary box is still found after it
    assert extract_answer(deep + " so \\boxed{8}") == "8"
    assert extract_answer("x" * 1_000_000 + " the answer is 5.") == "5"
    assert time.perf_counter() - t0 < 5.0


def test_extract_answer_batch_keeps_order_and_matches_single():
    texts = [
        r"\boxed{1}",
        "no answer",
        "The answer is (B).",
        "#### 7",
        "",
        "é \\boxed{ü}",
    ] * 20
    want = [extract_answer(t) for t in texts]
    assert dlcot.extract_answer_batch(texts) == want
    assert dlcot.extract_answer_batch(texts, num_threads=1) == want
    assert dlcot.extract_answer_batch(texts, num_threads=2) == want
    assert dlcot.extract_answer_batch([]) == []


def test_extract_answer_batch_rejects_bad_input():
    with pytest.raises(TypeError):
        dlcot.extract_answer_batch("a single str")
    with pytest.raises(TypeError):
        dlcot.extract_answer_batch(["ok", 3])
    with pytest.raises(ValueError):
        dlcot.extract_answer_batch(["ok"], num_threads=0)


# --------------------------------------------------------------------------------------------
# extract_reference: hand-written cases


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # GSM8K worked solution with calculator annotations
        (
            "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
            "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72",
            "72",
        ),
        ("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs.\nShe makes 9 * 2 = $<<9*2=18>>$18.\n#### 18", "18"),
        # bare answers come back as they are, without math delimiters
        (r"\frac{1}{2}", r"\frac{1}{2}"),
        (r"\left( 3, \frac{\pi}{2} \right)", r"\left( 3, \frac{\pi}{2} \right)"),
        ("$5$", "5"),
        (r"\(3\)", "3"),
        ("204", "204"),
        # a worked solution ending in a box (MATH style)
        ("We have $r = 3$.\n\nTherefore the answer is $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$", r"\left( 3, \frac{\pi}{2} \right)"),
        ("so $x=\\boxed{5}$.", "5"),
        # nothing there
        ("", None),
        ("   ", None),
    ],
)
def test_extract_reference(text, expected):
    assert extract_reference(text) == expected


def test_extract_reference_gsm8k_thousands():
    assert extract_reference("It costs 1000 + 234 = <<1000+234=1234>>1,234\n#### 1,234") in {"1,234", "1234"}


def test_extract_reference_reads_a_one_line_sentence():
    assert extract_reference("The answer is 4.") == "4"


@pytest.mark.xfail(strict=True, reason="formatting inside the box (\\textbf{(113) }, \\mathbf{127}, a trailing "
                   "period) is kept; AoPS solutions box answers that way (aime24 ids 61, 70, 88, ...)")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"Hence the answer is $\boxed{\textbf{(113) }}$.", "113"),
        (r"$99+28=\boxed{\mathbf{127} }$", "127"),
        (r"so the answer is $\boxed{104.}$", "104"),
    ],
)
def test_extract_reference_strips_box_formatting(text, expected):
    assert extract_reference(text) == expected


# --------------------------------------------------------------------------------------------
# the benchmark sets


def _read(bench_dir, name):
    path = bench_dir / f"{name}.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _reference_field(record):
    """The first reference field that holds a box or a GSM8K marker, else None."""
    for field in ("answer_original", "solution"):
        v = record.get(field)
        if isinstance(v, list):
            v = "\n".join(v)
        if isinstance(v, str) and ("\\boxed" in v or "\\fbox" in v or "####" in v):
            return v
    return None


@pytest.mark.parametrize("name", ["math500", "minerva_math", "gsm8k"])
def test_bench_reference_equals_normalised_answer(bench_dir, name):
    # Measured: math500 500/500, minerva_math 272/272, gsm8k 1319/1319. In these sets the
    # normalised `answer` was itself made from the box / `####` (or agrees with it), so every
    # record must match exactly.
    records = _read(bench_dir, name)
    checked, mismatches = 0, []
    for r in records:
        ref = _reference_field(r)
        if ref is None:
            continue
        checked += 1
        got = extract_reference(ref)
        if got != r["answer"]:
            mismatches.append((r.get("unique_id") or r.get("idx") or r["problem"][:40], got, r["answer"]))
    assert checked == len(records), "every record of these sets has a boxed / #### reference"
    assert not mismatches, mismatches[:10]


@pytest.mark.parametrize("name", ["math500", "minerva_math"])
def test_bench_extract_answer_on_solutions(bench_dir, name):
    # extract_answer reads a solution the way it reads a trace's summary: the last box wins.
    records = _read(bench_dir, name)
    bad = [(extract_answer(r["solution"]), r["answer"]) for r in records if extract_answer(r["solution"]) != r["answer"]]
    assert not bad, bad[:10]


_PLAIN_INT_BOX = re.compile(r"\\boxed\{\s*(\d+)\s*\}")


def _last_box(text):
    starts = [m.start() for m in re.finditer(r"\\boxed\{", text)]
    return text[starts[-1]:starts[-1] + 40] if starts else None


def _same_aime(a, b):
    # AIME answers are integers; the set keeps the source's zero padding ("025"), which the AoPS
    # solutions do not ("25"). Compare as integers.
    return a is not None and a.strip().isdigit() and int(a) == int(b)


def test_aime24_plain_boxes(bench_dir):
    # The AoPS solution's last box holds a plain integer: the reference must be that integer.
    records = _read(bench_dir, "aime24")
    rows = [r for r in records if _reference_field(r) and _PLAIN_INT_BOX.match(_last_box(r["solution"]) or "")]
    assert len(rows) >= 10
    bad = [(r["id"], extract_reference(r["solution"]), r["answer"]) for r in rows if not _same_aime(extract_reference(r["solution"]), r["answer"])]
    assert not bad, bad


@pytest.mark.xfail(strict=True, reason="AoPS solutions box formatted answers (\\textbf{(113) }, \\mathbf{127}, "
                   "104.) and extract_reference keeps the formatting: 12 of 29 aime24 references differ")
def test_aime24_formatted_boxes(bench_dir):
    records = _read(bench_dir, "aime24")
    rows = [r for r in records if _reference_field(r) and not _PLAIN_INT_BOX.match(_last_box(r["solution"]) or "")]
    assert rows
    bad = [(r["id"], extract_reference(r["solution"]), r["answer"]) for r in rows if not _same_aime(extract_reference(r["solution"]), r["answer"])]
    assert not bad, bad


def _dollars(s):
    return len(re.findall(r"(?<!\\)\$", s))


@pytest.mark.parametrize("name", ["college_math", "gaokao2023en"])
def test_bench_single_math_span_references(bench_dir, name):
    # answer_original is one `$...$` span (or no `$` at all), one line, under 200 chars: the set's
    # normalisation (drop unescaped `$`, strip) and extract_reference must agree.
    records = _read(bench_dir, name)
    rows = []
    for r in records:
        v = r["answer_original"].strip()
        single = _dollars(v) == 0 or (_dollars(v) == 2 and v.startswith("$") and v.endswith("$"))
        if single and v and len(v) <= 200 and "\n" not in v:
            rows.append(r)
    assert len(rows) > len(records) // 2
    bad = [(r["answer_original"], extract_reference(r["answer_original"]), r["answer"]) for r in rows if extract_reference(r["answer_original"]) != r["answer"]]
    assert not bad, bad[:10]


@pytest.mark.parametrize("name", ["college_math", "gaokao2023en"])
def test_bench_multi_span_references_keep_balanced_dollars(bench_dir, name):
    records = _read(bench_dir, name)
    bad = []
    for r in records:
        if _dollars(r["answer_original"]) % 2:
            continue  # the source itself is unbalanced (2 college_math records); nothing to keep
        got = extract_reference(r["answer_original"])
        if got is not None and _dollars(got) % 2:
            bad.append((r["answer_original"], got))
    assert not bad, bad[:10]


def test_bench_long_bare_references(bench_dir):
    # By design a reference longer than 200 chars, or on several lines, without a box or `####`
    # is taken for a solution that cannot be read and gives None (measured: 49 college_math
    # records, long answer lists and matrices). It may give None, never a wrong value.
    records = _read(bench_dir, "college_math")
    rows = 0
    for r in records:
        v = r["answer_original"].strip()
        single = _dollars(v) == 0 or (_dollars(v) == 2 and v.startswith("$") and v.endswith("$"))
        if single and (len(v) > 200 or "\n" in v):
            rows += 1
            got = extract_reference(r["answer_original"])
            assert got is None or got == r["answer"], (v[:80], got)
    assert rows > 0
