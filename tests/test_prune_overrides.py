"""Decisions from outside the rules (the judging layer) fed to the pruner: cluster leaders,
labels and wrong-step spans, on real traces."""

from __future__ import annotations

import pytest

import dlcot


@pytest.fixture(scope="module")
def multi(corpus):
    """Real traces with a reference and at least three solutions."""
    out = []
    for r in corpus:
        if r["answer"] is None:
            continue
        t = dlcot.parse(r["response"], problem=r["problem"], reference=r["answer"])
        if len(t.solutions) >= 3 and t.first_correct is not None:
            out.append((r, t))
        if len(out) >= 40:
            break
    assert len(out) >= 20
    return out


def test_given_leaders_replace_the_lexical_clusters(multi):
    """dedup-only with every solution in solution 0's cluster cuts every later solution as a
    repeat of 0 (or leaves it where a protected part overlaps)."""
    for r, t in multi:
        n = len(t.solutions)
        p = dlcot.prune(r["response"], problem=r["problem"], reference=r["answer"], policy="dedup-only", solution_leaders=[0] * n)
        assert p.solution_leaders == [0] * n
        cut = {e.index for e in p.edits if e.kind == "solution"}
        assert all(e.reason == "redundant-of:0" for e in p.edits if e.kind == "solution")
        assert cut, r["id"]
        assert 0 not in cut
        # every leader its own cluster: nothing is a repeat
        q = dlcot.prune(r["response"], problem=r["problem"], reference=r["answer"], policy="dedup-only", solution_leaders=list(range(n)))
        assert not [e for e in q.edits if e.kind == "solution"]


def test_batch_overrides_equal_single_calls(multi):
    texts = [r["response"] for r, _ in multi]
    leaders = [[0] * len(t.solutions) if i % 2 else None for i, (_, t) in enumerate(multi)]
    batch = dlcot.prune_batch(texts, references=[r["answer"] for r, _ in multi], policy="dedup-only", solution_leaders=leaders)
    for (r, _), lead, got in zip(multi, leaders, batch):
        one = dlcot.prune(r["response"], reference=r["answer"], policy="dedup-only", solution_leaders=lead)
        assert (got.text, got.edits) == (one.text, one.edits)


def test_error_spans_on_and_off_the_main_path(multi):
    """A wrong step in the first correct solution loses only its sentences; one in a later
    solution takes the whole solution (dlcot policy); the final answer never changes."""
    checked = 0
    for r, t in multi:
        f = t.first_correct
        sol = t.solutions[f]
        text = r["response"]
        mid = (sol.start + sol.end) // 2
        spans = [(f, mid, mid + 5)]
        later = [i for i in range(f + 1, len(t.solutions))]
        if later:
            s2 = t.solutions[later[0]]
            spans.append((later[0], s2.start, s2.start + 3))
        base = dlcot.prune(text, problem=r["problem"], reference=r["answer"])
        p = dlcot.prune(text, problem=r["problem"], reference=r["answer"], error_spans=spans)
        if p.status != "kept" or base.status != "kept":
            continue
        errors = [e for e in p.edits if e.kind == "error"]
        for e in errors:
            assert e.reason == "error-span" and e.index == f
            assert sol.start <= e.start < e.end <= sol.end
        if later:
            assert any(e.kind == "solution" and e.index == later[0] for e in p.edits)
        assert dlcot.parse(p.text).final_answer == dlcot.parse(text).final_answer
        assert len(p.text) <= len(base.text)
        checked += bool(errors)
    assert checked >= 10


def test_error_spans_ignored_without_a_main_path(multi):
    r, t = multi[0]
    spans = [(i, s.start, s.start + 10) for i, s in enumerate(t.solutions)]
    for policy in ("none", "dedup-only"):
        a = dlcot.prune(r["response"], reference=r["answer"], policy=policy)
        b = dlcot.prune(r["response"], reference=r["answer"], policy=policy, error_spans=spans)
        assert (a.text, a.edits) == (b.text, b.edits)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"solution_leaders": [1, 0]}, "solution_leaders"),
        ({"check_leaders": [0, 2, 1]}, "check_leaders"),
        ({"error_spans": [(0, 9, 3)]}, "error_spans"),
        ({"labels": ["right"]}, "labels"),
    ],
)
def test_malformed_overrides_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dlcot.prune("Some text.\n\nAlternatively, more.", reference="1", **kwargs)


def test_batch_override_lengths_are_checked():
    with pytest.raises(ValueError, match="solution_leaders"):
        dlcot.prune_batch(["a", "b"], solution_leaders=[None])
    with pytest.raises(ValueError, match=r"error_spans`\[1\]"):
        dlcot.prune_batch(["a", "b"], error_spans=[None, [(0, 5, 1)]])
