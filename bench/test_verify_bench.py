"""Answer-equivalence benchmark as a test (off by default, like all of bench/).

Run with ``python -m pytest bench/test_verify_bench.py -s`` (``-s`` shows the printed accuracies).
Asserts that the labelled pair file is well formed and is what :func:`build_pairs` makes, prints
math-verify's accuracy on it, and checks that ``dlcot.verify`` beats math-verify (skipped, with
the reason, while the dlcot equivalence API is missing).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import verify_bench as vb

pytestmark = pytest.mark.skipif(not vb.PAIRS.exists(), reason=f"{vb.PAIRS} not found")

FIELDS = {"pred": str, "ref": str, "equivalent": bool, "kind": str, "source": str}


@pytest.fixture(scope="module")
def pairs() -> list[dict]:
    return vb.load_pairs()


@pytest.fixture(scope="module")
def mv_results(pairs: list[dict]) -> list[tuple[bool, bool]]:
    pytest.importorskip("math_verify", reason="math-verify is not installed (pip install math-verify)")
    return [vb.math_verify_check(p["ref"], p["pred"], wrap=True) for p in pairs]


def test_pairs_well_formed(pairs: list[dict]) -> None:
    assert len(pairs) >= 600
    for p in pairs:
        assert set(p) == set(FIELDS), p
        for k, t in FIELDS.items():
            assert isinstance(p[k], t), (k, p)
        assert p["pred"].strip() and p["ref"].strip(), p
        assert p["pred"] != p["ref"], p
        assert p["kind"] in vb.KINDS, p
    keys = [(p["pred"], p["ref"]) for p in pairs]
    assert len(keys) == len(set(keys)), "duplicate (pred, ref)"


def test_every_kind_has_both_labels(pairs: list[dict]) -> None:
    c = Counter((p["kind"], p["equivalent"]) for p in pairs)
    for k in vb.KINDS:
        n = c[(k, True)] + c[(k, False)]
        assert n >= 40, f"{k}: only {n} pairs"
        assert c[(k, True)] >= 10 and c[(k, False)] >= 10, f"{k}: {c[(k, True)]} equivalent / {c[(k, False)]} not"


def test_sources_point_at_real_references(pairs: list[dict]) -> None:
    if not vb.BENCH_DATA.exists():
        pytest.skip(f"{vb.BENCH_DATA} not found (../shared/data)")
    bench = vb._Bench()
    for p in pairs:
        f, i = p["source"].rsplit(":", 1)
        ans = bench.ans(f, int(i))
        # the reference is the benchmark answer itself, or (mixed numbers) its mixed form
        assert p["ref"] == ans or p["kind"] == "mixed_number", p


def test_committed_file_is_the_generator_output(pairs: list[dict]) -> None:
    if not vb.BENCH_DATA.exists():
        pytest.skip(f"{vb.BENCH_DATA} not found (../shared/data)")
    assert vb.build_pairs() == pairs, "bench/data/answer_pairs.jsonl is stale: run python bench/verify_bench.py --build"


def test_math_verify_accuracy_printed(pairs: list[dict], mv_results: list[tuple[bool, bool]]) -> None:
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for p, (v, _) in zip(pairs, mv_results):
        total[p["kind"]] += 1
        right[p["kind"]] += v == p["equivalent"]
    acc = sum(right.values()) / len(pairs)
    lines = [f"{k:>16}: {right[k] / total[k]:6.1%} of {total[k]}" for k in vb.KINDS]
    print(
        "\nmath-verify ($-wrapped bare answers) accuracy per kind\n"
        + "\n".join(lines)
        + f"\n{'overall':>16}: {acc:6.1%}"
    )
    assert 0.5 < acc < 1.0


def test_dlcot_verify_beats_math_verify(pairs: list[dict], mv_results: list[tuple[bool, bool]]) -> None:
    dl, missing = vb.load_dlcot()
    if dl is None or "verify" in missing:
        pytest.skip(f"dlcot.verify is not available yet (missing: {', '.join(missing)})")
    labels = [p["equivalent"] for p in pairs]
    ours = sum(bool(dl.verify(p["pred"], p["ref"])) == y for p, y in zip(pairs, labels)) / len(pairs)
    mv_default = sum(vb.math_verify_check(p["ref"], p["pred"])[0] == y for p, y in zip(pairs, labels)) / len(pairs)
    mv_wrapped = sum(v == y for (v, _), y in zip(mv_results, labels)) / len(pairs)
    print(f"\ndlcot.verify {ours:.1%}  math-verify default {mv_default:.1%}  math-verify $-wrapped {mv_wrapped:.1%}")
    assert ours > max(mv_default, mv_wrapped)


def test_fast_path_decisions_mostly_right(pairs: list[dict]) -> None:
    dl, missing = vb.load_dlcot()
    if dl is None or "equivalent" in missing:
        pytest.skip(f"dlcot.equivalent is not available yet (missing: {', '.join(missing)})")
    got = [dl.equivalent(p["pred"], p["ref"]) for p in pairs]
    dec = [(g, p) for g, p in zip(got, pairs) if g is not None]
    wrong = [p for g, p in dec if g != p["equivalent"]]
    print(f"\nfast path decides {len(dec)}/{len(pairs)}, wrong on {len(wrong)}:")
    for p in wrong:
        print("  ", json.dumps(p, ensure_ascii=False))
    # a report, not a gate: the wrong decisions are listed in bench/results/verify.md
    assert len(dec) > 0
