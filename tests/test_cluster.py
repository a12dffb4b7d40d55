"""Within-trace near-duplicates: ``token_set_ratio`` against rapidfuzz, and
``Trace.cluster_solutions`` on the developers' traces (../shared/data, skipped when absent) and
on hand-built traces.

``cluster_solutions`` is reproduced here in Python from its documented rule (Jaccard of word
n-gram shingle sets, or the larger of it and the token-set ratio / 100 when both parts have fewer
than ``short`` word units; each part joins the first earlier leader it is at least ``threshold``
similar to), and the reproduction must give the same leaders and scores on every real trace.

Known defects are strict xfails whose reason says what differs.
"""

from __future__ import annotations

import functools
import math
import pickle
import random
import re

import dlcot
import pytest
from conftest import load_corpus, needs_shared
from dlcot import _core as core
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

fuzz = pytest.importorskip("rapidfuzz.fuzz")

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# rapidfuzz splits on 0x09-0x0D, 0x1C-0x1F, 0x20, U+1680, U+2000-200A, U+2028/2029, U+202F, U+205F,
# U+3000; Rust's split_whitespace on Unicode White_Space. They differ on these six:
SPLIT_DIFFERS = "\x1c\x1d\x1e\x1f\x85\xa0"
_DIFFERS = re.compile(f"[{re.escape(SPLIT_DIFFERS)}]")


# ============================================================================================
# token_set_ratio


def _mismatches(pairs):
    bad = []
    for a, b in pairs:
        ours, theirs = core.token_set_ratio(a, b), fuzz.token_set_ratio(a, b)
        if not abs(ours - theirs) <= 1e-9:
            bad.append((a[:60], b[:60], ours, theirs))
    return bad


@functools.lru_cache(maxsize=1)
def _real_pieces() -> tuple[list[str], list[str]]:
    sents, paras = [], []
    for r in load_corpus():
        text = r["response"]
        sents += [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
        paras += [p for p in text.split("\n\n") if p.strip()]
    return sents, paras


def _perturb(s: str, rng: random.Random) -> str:
    words = s.split()
    if not words:
        return s + " x"
    op = rng.randrange(4)
    if op == 0:
        del words[rng.randrange(len(words))]
    elif op == 1:
        words.insert(rng.randrange(len(words) + 1), rng.choice(words))
    elif op == 2:
        rng.shuffle(words)
    else:
        words[rng.randrange(len(words))] = "changed"
    return " ".join(words)


@needs_shared
def test_token_set_ratio_equals_rapidfuzz_on_real_pairs():
    sents, paras = _real_pieces()
    rng = random.Random(0)
    non_ascii = [s for s in sents if any(ord(c) > 127 for c in s)]
    assert len(non_ascii) > 1000
    pairs = []
    for pool, k in ((sents, 3000), (paras, 1000), (non_ascii, 1000)):
        for _ in range(k):
            a = rng.choice(pool)
            b = _perturb(a, rng) if rng.random() < 0.4 else rng.choice(pool)
            pairs.append((a, b))
    kept = [(a, b) for a, b in pairs if not (_DIFFERS.search(a) or _DIFFERS.search(b))]
    assert len(kept) >= 4900
    # both branches of the ratio are exercised: intersections, subsets, disjoint sets
    scores = [core.token_set_ratio(a, b) for a, b in kept]
    assert sum(s == 100.0 for s in scores) > 100 and sum(0 < s < 100 for s in scores) > 2000
    assert _mismatches(kept) == []


@needs_shared
def test_token_set_ratio_equals_rapidfuzz_on_normalised_units_of_real_parts():
    # what cluster_solutions feeds it: the word units of two parts joined by single spaces
    units = core.MinHasher(num_perm=1, ngram=1).shingles
    sents, _ = _real_pieces()
    rng = random.Random(1)
    pairs = [(" ".join(units(rng.choice(sents))), " ".join(units(rng.choice(sents)))) for _ in range(2000)]
    pairs += [(a, " ".join(units(_perturb(a, rng)))) for a, _ in pairs[:1000]]
    assert _mismatches([(a, b) for a, b in pairs if not (_DIFFERS.search(a) or _DIFFERS.search(b))]) == []


WORDS = ["the", "a", "x", "=", "2", "answer", "is", "Wait,", "check", "é", "日本", "Σ", "σ", "😀", "\u0301", "{", "}"]
word_text = st.lists(st.sampled_from(WORDS), max_size=15).map(" ".join)
ws = st.sampled_from([" ", "  ", "\t", "\n", "\r\n", "\u3000", "\u2003"])
spaced_text = st.lists(st.tuples(st.sampled_from(WORDS), ws), max_size=12).map(lambda xs: "".join(a + b for a, b in xs))
plain_text = st.text(alphabet=st.characters(exclude_characters=SPLIT_DIFFERS, exclude_categories=("Cs",)), max_size=40)
tsr_text = st.one_of(word_text, spaced_text, plain_text)


@SETTINGS
@given(tsr_text, tsr_text)
@example("fuzzy was a bear", "fuzzy fuzzy was a bear")
@example("", "")
@example("  ", "a")
@example("a b", "b a")
def test_token_set_ratio_equals_rapidfuzz(a, b):
    ours = core.token_set_ratio(a, b)
    assert abs(ours - fuzz.token_set_ratio(a, b)) <= 1e-9
    assert 0.0 <= ours <= 100.0
    assert ours == core.token_set_ratio(b, a)


@pytest.mark.parametrize("ch", list(SPLIT_DIFFERS), ids=[f"U+{ord(c):04X}" for c in SPLIT_DIFFERS])
def test_token_set_ratio_splits_where_rapidfuzz_does(ch):
    a, b = f"one{ch}two three", "one two three"
    assert core.token_set_ratio(a, b) == fuzz.token_set_ratio(a, b)


# ============================================================================================
# cluster_solutions: a Python reproduction of the documented rule

_UNITS = core.MinHasher(num_perm=1, ngram=1)


@functools.lru_cache(maxsize=16)
def _hasher(ngram: int):
    return core.MinHasher(num_perm=1, ngram=ngram)


def _prep(text: str, ngram: int):
    us = _UNITS.shingles(text)
    return frozenset(_hasher(ngram).shingle_hashes(text).tolist()), len(us), " ".join(us)


def _score(a, b, short: int) -> float:
    (sa, wa, ja), (sb, wb, jb) = a, b
    inter = len(sa & sb)
    union = len(sa) + len(sb) - inter
    j = inter / union if union else 1.0
    if wa == 0 or wb == 0:
        return 1.0 if wa == wb else 0.0
    if wa < short and wb < short:
        return max(j, core.token_set_ratio(ja, jb) / 100.0)
    return j


def _leaders(texts, threshold, ngram, short):
    parts = [_prep(t, ngram) for t in texts]
    lead, of, scores = [], [], []
    for i, p in enumerate(parts):
        for l in lead:
            s = _score(p, parts[l], short)
            if s >= threshold:
                of.append(l)
                scores.append(s)
                break
        else:
            lead.append(i)
            of.append(i)
            scores.append(1.0)
    return of, scores


def _texts(t, kind):
    spans = t.solutions if kind == "solution" else t.checks
    return [t.text[p.start:p.end] for p in spans]


@functools.lru_cache(maxsize=1)
def _traces():
    recs = load_corpus()
    return recs, dlcot.parse_batch([r["response"] for r in recs], problems=[r["problem"] for r in recs])


SETTINGS_GRID = [(0.5, 3, 24), (0.4, 3, 8), (0.8, 1, 0), (0.3, 5, 64), (1.0, 2, 24)]


def _check_structure(cl, n_sol, n_chk, threshold):
    assert cl.threshold == threshold
    for leaders, scores, n in ((cl.solutions, cl.solution_scores, n_sol), (cl.checks, cl.check_scores, n_chk)):
        assert len(leaders) == len(scores) == n
        for i, (l, s) in enumerate(zip(leaders, scores)):
            assert 0 <= l <= i
            assert leaders[l] == l, "a leader leads its own cluster"
            if l == i:
                assert s == 1.0
            else:
                assert threshold <= s <= 1.0
        # the leader is the cluster's first member
        for l in set(leaders):
            assert min(i for i, x in enumerate(leaders) if x == l) == l
    assert cl.redundant_solutions == [i for i, l in enumerate(cl.solutions) if l != i]
    assert cl.redundant_checks == [i for i, l in enumerate(cl.checks) if l != i]


@needs_shared
@pytest.mark.parametrize("threshold, ngram, short", SETTINGS_GRID)
def test_cluster_structure_on_real_traces(threshold, ngram, short):
    recs, traces = _traces()
    any_redundant = 0
    for r, t in zip(recs, traces):
        cl = t.cluster_solutions(threshold, ngram=ngram, short=short)
        try:
            _check_structure(cl, len(t.solutions), len(t.checks), threshold)
        except AssertionError as e:
            raise AssertionError(f"{r['id']}: {e}") from e
        assert cl == t.cluster_solutions(threshold, ngram=ngram, short=short), "deterministic"
        any_redundant += bool(cl.redundant_solutions or cl.redundant_checks)
    assert any_redundant >= 50, "the repetition loops alone give dozens of redundant parts"


@needs_shared
@pytest.mark.parametrize("threshold, ngram, short", SETTINGS_GRID[:3])
def test_cluster_equals_the_documented_rule_on_real_traces(threshold, ngram, short):
    recs, traces = _traces()
    compared = 0
    for r, t in zip(recs, traces):
        if len(t.solutions) > 60 or len(t.checks) > 60:
            continue  # the repetition loops: hundreds of parts, slow in Python
        cl = t.cluster_solutions(threshold, ngram=ngram, short=short)
        for kind, leaders, scores in (("solution", cl.solutions, cl.solution_scores), ("check", cl.checks, cl.check_scores)):
            of, sc = _leaders(_texts(t, kind), threshold, ngram, short)
            assert leaders == of, (r["id"], kind)
            assert all(math.isclose(x, y, rel_tol=0, abs_tol=1e-12) for x, y in zip(scores, sc)), (r["id"], kind)
        compared += 1
    assert compared >= 1900


@needs_shared
def test_clusters_pickle_and_compare():
    _recs, traces = _traces()
    n = 0
    for t in traces[::5]:
        cl = t.cluster_solutions()
        back = pickle.loads(pickle.dumps(cl))
        assert back == cl
        assert (back.solutions, back.solution_scores, back.checks, back.check_scores, back.threshold) == (
            cl.solutions, cl.solution_scores, cl.checks, cl.check_scores, cl.threshold)
        assert back.redundant_solutions == cl.redundant_solutions and back.redundant_checks == cl.redundant_checks
        n += bool(cl.redundant_solutions)
    assert n > 0
    # a trace pickles as its text and re-parses to the same clusters
    t = next(t for t in traces if t.cluster_solutions().redundant_solutions)
    assert pickle.loads(pickle.dumps(t)).cluster_solutions() == t.cluster_solutions()


def test_clusters_constructor_and_redundant_lists():
    cl = core.Clusters([0, 0, 2, 0], [1.0, 0.7, 1.0, 0.9], [0, 1, 1], [1.0, 1.0, 0.6], 0.5)
    assert cl.redundant_solutions == [1, 3]
    assert cl.redundant_checks == [2]
    assert pickle.loads(pickle.dumps(cl)) == cl
    assert cl != core.Clusters([0, 0, 2, 0], [1.0, 0.7, 1.0, 0.9], [0, 1, 1], [1.0, 1.0, 0.6], 0.6)


# ============================================================================================
# hand-built traces

PROBLEM = "Solve 2x + 3 = 11."
ALGEBRA = ("First, I subtract 3 from both sides of 2x + 3 = 11, which gives 2x = 8. "
           "Then I divide both sides by 2, so x = 4. ")
GUESS = ("Alternatively, I can just guess and check small values. If x = 1 the left side is 5, "
         "if x = 2 it is 7, if x = 3 it is 9, and at x = 4 it is 11, which matches. So x = 4.\n\n")
BALANCE = ("Alternatively, think of it as a balance: the scale holds two equal bags plus three marbles on one pan "
           "and eleven marbles on the other; removing three marbles from each pan leaves two bags weighing eight, "
           "so each bag weighs four.\n\n")
GRAPH = ("Alternatively, picture the line y = 2x + 3 crossing the horizontal line y = 11; the slope is two and "
         "the intercept three, so the crossing sits where x equals four.\n\n")
CHECK = "Let me verify: 2 * 4 + 3 = 8 + 3 = 11. Yes, that checks out.\n\n"


def _trace(body: str):
    return dlcot.parse("<think>\nOkay, so I need to solve 2x + 3 = 11 for x.\n\n" + body
                       + "</think>\n\nThe answer is \\boxed{4}.", problem=PROBLEM)


def _solution_texts(t):
    return [t.text[s.start:s.end] for s in t.solutions]


@pytest.mark.parametrize("threshold, short", [(0.5, 24), (0.4, 8), (0.3, 0)])
def test_a_verbatim_repeated_solution_clusters_with_the_first(threshold, short):
    t = _trace(ALGEBRA + "\n\n" + GUESS + BALANCE + "Alternatively, " + ALGEBRA + "\n\n")
    texts = _solution_texts(t)
    assert len(texts) == 4, texts
    assert texts[3].startswith("Alternatively, ") and texts[3][len("Alternatively, "):].strip() == texts[0].strip()
    cl = t.cluster_solutions(threshold, short=short)
    assert cl.solutions == [0, 1, 2, 0]
    assert cl.redundant_solutions == [3]
    assert 0.9 <= cl.solution_scores[3] < 1.0  # the repeat adds its cue "Alternatively, "


def test_an_exact_repeat_including_its_cue_scores_one():
    t = _trace(ALGEBRA + "\n\n" + GUESS + BALANCE + GUESS)
    cl = t.cluster_solutions()
    assert cl.solutions == [0, 1, 2, 1]
    assert cl.solution_scores[3] == 1.0


@pytest.mark.parametrize("threshold, ngram, short", [(0.5, 3, 24), (0.4, 3, 8), (0.3, 5, 0), (0.5, 2, 24)])
def test_distinct_approaches_do_not_cluster(threshold, ngram, short):
    t = _trace(ALGEBRA + "\n\n" + GUESS + BALANCE + GRAPH)
    assert len(t.solutions) == 4
    cl = t.cluster_solutions(threshold, ngram=ngram, short=short)
    assert cl.solutions == [0, 1, 2, 3]
    assert cl.redundant_solutions == []
    assert cl.solution_scores == [1.0] * 4


def test_a_repeated_check_clusters_and_checks_cluster_apart_from_solutions():
    t = _trace(ALGEBRA + CHECK + GUESS + CHECK + BALANCE)
    checks = [t.text[c.start:c.end] for c in t.checks]
    assert len(checks) >= 2, checks
    rep = [i for i, c in enumerate(checks) if c.startswith("Let me verify")]
    assert len(rep) == 2, checks
    cl = t.cluster_solutions()
    assert cl.checks[rep[1]] == rep[0]
    assert cl.check_scores[rep[1]] == 1.0
    assert cl.redundant_solutions == []


def test_short_parts_use_the_token_set_ratio_only_below_short():
    # two one-line pivots sharing their opening: near 0 by 3-gram Jaccard, high by token-set ratio
    a = "Alternatively, maybe I made a mistake in the percentage?"
    b = "Alternatively, maybe the problem is in meters?"
    t = _trace(ALGEBRA + "\n\n" + a + "\n\n" + GUESS + b + "\n\n")
    texts = _solution_texts(t)
    ia = next(i for i, s in enumerate(texts) if s.startswith(a))
    ib = next(i for i, s in enumerate(texts) if s.startswith(b))
    ua, ub = len(_UNITS.shingles(texts[ia])), len(_UNITS.shingles(texts[ib]))
    assert 8 <= min(ua, ub) and max(ua, ub) < 24
    ratio = core.token_set_ratio(" ".join(_UNITS.shingles(texts[ia])), " ".join(_UNITS.shingles(texts[ib]))) / 100
    jaccard = _hasher(3).jaccard(texts[ia], texts[ib])
    assert jaccard < 0.2 and ratio > 0.7
    with_ratio = t.cluster_solutions(0.5, short=24)
    assert with_ratio.solutions[ib] == ia and with_ratio.solution_scores[ib] == pytest.approx(ratio, abs=1e-12)
    # both parts must be shorter than `short` (exclusive) for the ratio to count
    assert t.cluster_solutions(0.5, short=max(ua, ub)).solutions[ib] == ib
    assert t.cluster_solutions(0.5, short=max(ua, ub) + 1).solutions[ib] == ia
    assert t.cluster_solutions(0.4, short=8).solutions[ib] == ib


def test_no_parts_and_one_part():
    assert dlcot.parse("").cluster_solutions() == core.Clusters([], [], [], [], 0.4)
    t = _trace(ALGEBRA)
    cl = t.cluster_solutions(0.7)
    assert len(t.solutions) == 1 and cl.solutions == [0] and cl.solution_scores == [1.0]
    assert cl.threshold == 0.7


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": -0.1}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"ngram": 0}, "ngram"),
        ({"ngram": 65}, "ngram"),
    ],
)
def test_cluster_argument_errors_name_the_argument(kwargs, name):
    t = _trace(ALGEBRA + "\n\n" + GUESS)
    with pytest.raises(ValueError, match=name):
        t.cluster_solutions(**kwargs)


def test_cluster_argument_types():
    t = _trace(ALGEBRA)
    with pytest.raises(TypeError):
        t.cluster_solutions("0.5")
    with pytest.raises(TypeError):
        t.cluster_solutions(0.5, 3)  # ngram and short are keyword-only
