"""Near-duplicate engine: throughput against rensa and datasketch, estimate accuracy, LSH recall
and precision on planted near-duplicates of the real traces, with the issue's floors asserted.

Off in the normal test run (``pytest`` collects ``tests/`` only). Run with::

    python -m pytest bench/test_bench_minhash.py            # ~1-2 min on 2 cores

The floors compare speeds measured in this process, on the same data, rounds interleaved
(``minhash_bench.throughput``); the pytest-benchmark rows are for the table. The full report
(all traces for datasketch, the S-curve plot) is ``python bench/minhash_bench.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import minhash_bench as mb

pytest.importorskip("pytest_benchmark")
pytest.importorskip("rensa")
pytest.importorskip("datasketch")

DS_EVERY = 4  # datasketch on every 4th trace (~3.2 MB), normalised per MB
FLOOR_RENSA = 5.0
FLOOR_DATASKETCH = 50.0
FLOOR_RECALL = 0.95
FLOOR_PRECISION = 0.99


@pytest.fixture(scope="module")
def corpus() -> mb.Corpus:
    if not mb.DATA.exists():
        pytest.skip(f"{mb.DATA} is absent")
    return mb.load_corpus()


# ---------------------------------------------------------------------------- shingles


def test_python_shingles_equal_dlcot_on_every_trace(corpus: mb.Corpus) -> None:
    m = mb.hasher()
    bad_r = mb.shingle_mismatches(corpus.texts, m)
    bad_p = mb.shingle_mismatches(corpus.problems, m)
    assert not bad_r and not bad_p, (
        f"{len(bad_r)} responses / {len(bad_p)} problems shingle differently, e.g. {[corpus.ids[i] for i in (bad_r + bad_p)[:5]]}"
    )


def test_hashing_path_agrees_with_python_shingles(corpus: mb.Corpus) -> None:
    count, path, n = mb.hash_path_mismatches(corpus.texts + corpus.problems)
    assert n > 1000
    assert not count, f"{len(count)} texts: distinct shingle hashes != distinct Python shingles"
    assert not path, f"{len(path)} ASCII texts hash differently on the ASCII path"


def test_python_units_on_known_cases() -> None:
    m = mb.hasher()
    for s in ["X=2, y_1 \\quad z", "a\\,b \\left( c \\right)", "\\frac{1}{2}", "\\\\,x", "ΣΑΣ", "\\quadx \\Quad y", "", "a b"]:
        assert mb.py_shingles(s) == m.shingles(s), s


# ---------------------------------------------------------------------------- pytest-benchmark rows

_results: dict[str, float] = {}


def _bench(benchmark: Any, name: str, call: Callable[[], Any], mb_size: float, rounds: int) -> Any:
    out = benchmark.pedantic(call, rounds=rounds, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:  # None under --benchmark-disable
        med = benchmark.stats.stats.median
        _results[name] = mb_size / med
        benchmark.extra_info.update({"name": name, "corpus_mb": round(mb_size, 3), "mb_per_s": round(mb_size / med, 2)})
    return out


def test_bench_dlcot_one_thread(benchmark: Any, corpus: mb.Corpus) -> None:
    m = mb.hasher()
    out = _bench(benchmark, "dlcot 1t", lambda: m.signatures(corpus.texts, num_threads=1), corpus.mb, 5)
    assert out.shape == (len(corpus.texts), mb.NUM_PERM)


def test_bench_dlcot_all_threads(benchmark: Any, corpus: mb.Corpus) -> None:
    m = mb.hasher()
    out = _bench(benchmark, "dlcot all", lambda: m.signatures(corpus.texts), corpus.mb, 5)
    assert out.shape == (len(corpus.texts), mb.NUM_PERM)


def test_bench_rensa(benchmark: Any, corpus: mb.Corpus) -> None:
    out = _bench(benchmark, "rensa", lambda: mb.rensa_signatures(corpus.texts), corpus.mb, 3)
    assert out.shape == (len(corpus.texts), mb.NUM_PERM)


def test_bench_datasketch_subset(benchmark: Any, corpus: mb.Corpus) -> None:
    sub = mb.datasketch_subset(corpus.texts, DS_EVERY)
    out = _bench(benchmark, "datasketch", lambda: mb.datasketch_signatures(sub), mb.mb_of(sub), 2)
    assert out.shape == (len(sub), mb.NUM_PERM)


# ---------------------------------------------------------------------------- floors (same process, interleaved)


@pytest.fixture(scope="module")
def speedups(corpus: mb.Corpus) -> dict[str, float]:
    rows = mb.throughput(corpus, rounds=3, ds_every=DS_EVERY, ds_rounds=3)
    r = mb.ratios(rows)
    print("\n" + "\n".join(f"  {x.name}: {x.mbps:.2f} MB/s ({x.mb:.2f} MB)" for x in rows)
          + "\n" + "\n".join(f"  dlcot {k}: {v:.2f}x" for k, v in r.items()))
    return r


@pytest.mark.parametrize("threads", ["1 thread", "all threads"])
def test_floor_signatures_vs_rensa(speedups: dict[str, float], threads: str) -> None:
    ratio = speedups[f"vs rensa, {threads}"]
    assert ratio >= FLOOR_RENSA, f"dlcot is {ratio:.2f}x rensa (+ Python shingling), {threads}; floor {FLOOR_RENSA}x"


@pytest.mark.parametrize("threads", ["1 thread", "all threads"])
def test_floor_signatures_vs_datasketch(speedups: dict[str, float], threads: str) -> None:
    ratio = speedups[f"vs datasketch, {threads}"]
    assert ratio >= FLOOR_DATASKETCH, f"dlcot is {ratio:.2f}x datasketch (+ Python shingling), {threads}; floor {FLOOR_DATASKETCH}x"


# ---------------------------------------------------------------------------- estimate accuracy


def test_estimates_within_binomial_bounds(corpus: mb.Corpus) -> None:
    acc, _ = mb.run_accuracy(corpus, n_originals=250, with_rensa=False)
    summary = (f"{acc.n_interior} pairs: within 2 sd {acc.within2:.4f}, within 3 sd {acc.within3:.4f}, "
               f"mean error {acc.mean_err:+.5f}, mean z {acc.mean_z:+.3f}, sd z {acc.sd_z:.3f}")
    print("\n  " + summary)
    assert acc.n_interior > 2000
    assert acc.within2 >= 0.93, summary  # theory 0.9545
    assert acc.within3 >= 0.99, summary  # theory 0.9973
    assert abs(acc.mean_err) < 0.005, summary  # unbiased
    assert 0.85 <= acc.sd_z <= 1.15, summary


# ---------------------------------------------------------------------------- planted near-duplicates


@pytest.fixture(scope="module")
def planted(corpus: mb.Corpus) -> mb.PlantedResult:
    res = mb.run_planted(corpus, n_originals=1000, seed=0)
    cvo = res.copy_vs_original
    print(f"\n  {res.n_items} items, bands={res.bands} rows={res.rows}; copy-vs-original J: "
          f"p10 {np.percentile(cvo, 10):.3f}, median {np.median(cvo):.3f}; recall {res.recall}; reported {res.reported}")
    return res


def test_planted_copies_spread_over_half_to_one(planted: mb.PlantedResult) -> None:
    cvo = planted.copy_vs_original
    hist = np.histogram(cvo, bins=[0.5, 0.6, 0.7, 0.8, 0.9, 1.0])[0]
    assert (hist >= 0.05 * len(cvo)).all(), hist  # every tenth of [0.5, 1] is populated


def test_planted_recall_at_jaccard_09(planted: mb.PlantedResult) -> None:
    found, total = planted.recall["verify"]["all"]
    assert total > 500
    assert found / total >= FLOOR_RECALL, f"recall {found}/{total} = {found / total:.4f} < {FLOOR_RECALL}"


@pytest.mark.parametrize("which", ["cluster_pairs", "kept_pairs"])
def test_planted_precision_at_jaccard_07(planted: mb.PlantedResult, which: str) -> None:
    rep = planted.reported["verify"]
    good, total = rep[f"{which}_ge_07"], rep[which]
    assert total > 500
    assert good / total >= FLOOR_PRECISION, f"{which}: {good}/{total} = {good / total:.4f} have exact J >= 0.7"


def test_planted_detection_follows_the_s_curve(planted: mb.PlantedResult) -> None:
    """Far from the threshold the measured curve is 0 or 1, as the theory says."""
    same = planted.same["verify"]
    lo = planted.exact < 0.6
    hi = planted.exact >= 0.95
    assert same[lo].mean() <= 0.01 and same[hi].mean() >= 0.99, (same[lo].mean(), same[hi].mean())


def test_lsh_unverified_is_reported_not_floored(planted: mb.PlantedResult) -> None:
    """verify=False: for comparison only (no floor); it must not find fewer pairs than verify=True."""
    v, n = planted.recall["verify"]["all"], planted.recall["no verify"]["all"]
    assert n[0] >= v[0] and n[1] == v[1]
