"""Throughput of parse + segment + answer extraction on the real traces, against pure Python.

Every benchmark runs on the same corpus: the 1,965 responses (and their problems) of
``../shared/data/traces_normalised.jsonl``. Throughput is UTF-8 MB (10**6 bytes) of responses
per second; "per core" numbers use ``num_threads=1``. Peers, measured in the same run:

* ``bench/baseline.py``: a straightforward pure-Python implementation of the same rules;
* ``baseline.naive_pass``: the naive pass (paragraph split, cue prefixes, last boxed answer).

Benchmarks are off in the normal test run (``pytest tests/``). Run them with::

    python -m pytest bench/test_bench_parse.py --benchmark-only

or, for the markdown table written to ``bench/results/parse_throughput.md``::

    python bench/test_bench_parse.py
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional

import dlcot

sys.path.insert(0, str(Path(__file__).resolve().parent))
import baseline  # noqa: E402
from _machine import commit as current_commit, cpu_model

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "traces_normalised.jsonl"
RESULTS = Path(__file__).resolve().parent / "results" / "parse_throughput.md"

# ---------------------------------------------------------------------------- corpus


@lru_cache(maxsize=1)
def load_corpus() -> tuple[list[str], list[Optional[str]], float]:
    """(responses, problems, MB of UTF-8 responses)."""
    texts: list[str] = []
    problems: list[Optional[str]] = []
    with DATA.open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            texts.append(rec["response"])
            problems.append(rec["problem"])
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    return texts, problems, mb


def cases(texts: list[str], problems: list[Optional[str]]) -> dict[str, tuple[Callable[[], Any], str]]:
    """name -> (call, what it is). The order is the table's order; the baseline comes first."""
    return {
        "baseline.parse (pure Python, same rules)": (lambda: baseline.parse(texts, problems), "1 thread"),
        "baseline.naive_pass (paragraphs, cue prefixes, last boxed)": (lambda: baseline.naive(texts), "1 thread"),
        "dlcot.parse_batch_json, num_threads=1": (
            lambda: dlcot.parse_batch_json(texts, problems=problems, num_threads=1), "1 thread"),
        "dlcot.parse_batch (objects), num_threads=1": (
            lambda: dlcot.parse_batch(texts, problems=problems, num_threads=1), "1 thread"),
        "dlcot.parse_batch_json, num_threads=None": (
            lambda: dlcot.parse_batch_json(texts, problems=problems, num_threads=None), f"{os.cpu_count()} threads"),
        "dlcot.extract_answer_batch, num_threads=1 (answers only)": (
            lambda: dlcot.extract_answer_batch(texts, num_threads=1), "1 thread"),
    }


def agreement(texts: list[str], problems: list[Optional[str]]) -> dict[str, Any]:
    """How often baseline.parse and dlcot agree on the real traces (per trace, exact)."""
    ours = baseline.parse(texts, problems)
    theirs = [json.loads(s) for s in dlcot.parse_batch_json(texts, problems=problems)]

    def sections(t: dict) -> list:
        return [(s["kind"], s["start"], s["end"]) for s in t["sections"]]

    def boundaries(t: dict) -> set:
        return {(s["kind"], s["start"]) for s in t["sections"]}

    def final(t: dict) -> Optional[str]:
        return t["final_answer"]["text"] if t["final_answer"] else None

    def solutions(t: dict) -> list:
        return [(s["start"], s["end"], s["cue"], s["answer"] and s["answer"]["text"]) for s in t["solutions"]]

    def checks(t: dict) -> list:
        return [(c["start"], c["end"], c["kind"], c["solution"], c["answer"] and c["answer"]["text"]) for c in t["checks"]]

    def issues(t: dict) -> list:
        return [(i["kind"], i["start"], i["end"]) for i in t["issues"]]

    n = len(texts)
    same_b = sum(len(boundaries(a) & boundaries(b)) for a, b in zip(ours, theirs))
    all_b = sum(len(boundaries(a) | boundaries(b)) for a, b in zip(ours, theirs))
    return {
        "traces": n,
        "sections_identical": sum(sections(a) == sections(b) for a, b in zip(ours, theirs)),
        "section_boundaries_shared": f"{same_b}/{all_b}",
        "final_answer_identical": sum(final(a) == final(b) for a, b in zip(ours, theirs)),
        "final_answer_span_identical": sum(
            (a["final_answer"] and (a["final_answer"]["start"], a["final_answer"]["end"]))
            == (b["final_answer"] and (b["final_answer"]["start"], b["final_answer"]["end"]))
            for a, b in zip(ours, theirs)
        ),
        "solutions_identical": sum(solutions(a) == solutions(b) for a, b in zip(ours, theirs)),
        "checks_identical": sum(checks(a) == checks(b) for a, b in zip(ours, theirs)),
        "issues_identical": sum(issues(a) == issues(b) for a, b in zip(ours, theirs)),
    }


# ---------------------------------------------------------------------------- pytest-benchmark

try:
    import pytest
except ImportError:  # script mode works without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None and __name__ != "__main__":
    pytest.importorskip("pytest_benchmark")


def _module_fixture(f: Callable) -> Callable:
    return pytest.fixture(scope="module")(f) if pytest is not None else f


@_module_fixture
def corpus() -> tuple[list[str], list[Optional[str]], float]:
    if not DATA.exists():
        pytest.skip(f"{DATA} is absent")
    return load_corpus()


_medians: dict[str, float] = {}  # name -> median seconds, for ratios within this run
BASELINE = "baseline.parse (pure Python, same rules)"


def _run(benchmark: Any, corpus: tuple, name: str, rounds: int) -> Any:
    texts, problems, mb = corpus
    call, threads = cases(texts, problems)[name]
    cpu: list[float] = []

    def timed() -> Any:  # also records CPU seconds: on a busy machine wall time overstates
        t0 = time.process_time()
        out = call()
        cpu.append(time.process_time() - t0)
        return out

    result = benchmark.pedantic(timed, rounds=rounds, iterations=1, warmup_rounds=1 if rounds > 3 else 0)
    if benchmark.stats is not None:  # None under --benchmark-disable
        median = benchmark.stats.stats.median
        _medians[name] = median
        benchmark.extra_info.update({
            "name": name,
            "threads": threads,
            "corpus_mb": round(mb, 3),
            "traces": len(texts),
            "mb_per_s": round(mb / median, 2),
            "mb_per_s_best": round(mb / benchmark.stats.stats.min, 2),
            "mb_per_cpu_s": round(mb / statistics.median(cpu[-rounds:]), 2),
        })
        if BASELINE in _medians:
            benchmark.extra_info["x_vs_baseline"] = round(_medians[BASELINE] / median, 2)
    return result


# The baseline runs first, so that the others can record their ratio to it.
def test_baseline_parse(benchmark: Any, corpus: tuple) -> None:
    out = _run(benchmark, corpus, BASELINE, rounds=3)
    assert len(out) == len(corpus[0])
    benchmark.extra_info["agreement_with_dlcot"] = agreement(corpus[0], corpus[1])


def test_baseline_naive_pass(benchmark: Any, corpus: tuple) -> None:
    out = _run(benchmark, corpus, "baseline.naive_pass (paragraphs, cue prefixes, last boxed)", rounds=5)
    assert len(out) == len(corpus[0])


def test_dlcot_parse_batch_json_one_thread(benchmark: Any, corpus: tuple) -> None:
    out = _run(benchmark, corpus, "dlcot.parse_batch_json, num_threads=1", rounds=7)
    assert len(out) == len(corpus[0])


def test_dlcot_parse_batch_objects_one_thread(benchmark: Any, corpus: tuple) -> None:
    out = _run(benchmark, corpus, "dlcot.parse_batch (objects), num_threads=1", rounds=7)
    assert len(out) == len(corpus[0])


def test_dlcot_parse_batch_json_all_cores(benchmark: Any, corpus: tuple) -> None:
    out = _run(benchmark, corpus, "dlcot.parse_batch_json, num_threads=None", rounds=7)
    assert len(out) == len(corpus[0])


def test_dlcot_extract_answer_batch_one_thread(benchmark: Any, corpus: tuple) -> None:
    out = _run(benchmark, corpus, "dlcot.extract_answer_batch, num_threads=1 (answers only)", rounds=7)
    assert len(out) == len(corpus[0])


# ---------------------------------------------------------------------------- script mode


def machine() -> dict[str, str]:
    cpu = cpu_model()
    commit = current_commit()
    return {
        "commit": commit,
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "dlcot": dlcot.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a",
    }


def measure(call: Callable[[], Any], rounds: int) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds of this process) per round, after one warm-up call."""
    call()  # warm-up (lexicon, rayon pool, caches)
    wall, cpu = [], []
    for _ in range(rounds):
        c0, t0 = time.process_time(), time.perf_counter()
        call()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7, help="timed rounds per dlcot case (baseline: 3)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="markdown file to write ('-': none)")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"{DATA} is absent", file=sys.stderr)
        return 1
    texts, problems, mb = load_corpus()
    m = machine()
    rows = []
    base: Optional[tuple[float, float]] = None
    for name, (call, threads) in cases(texts, problems).items():
        rounds = 3 if name.startswith("baseline.parse") else args.rounds
        wall, cpu = measure(call, rounds)
        w, c = statistics.median(wall), statistics.median(cpu)
        if base is None:
            base = (w, c)
        rows.append((name, threads, mb / w, mb / c, base[0] / w, base[1] / c))
        print(f"  {name}: {mb / w:.1f} MB/s wall, {mb / c:.1f} MB per CPU-second", file=sys.stderr)
    agree = agreement(texts, problems)

    n = agree["traces"]
    lines = [
        "# Parse throughput",
        "",
        f"parse + segment + answer extraction on `../shared/data/traces_normalised.jsonl`: {len(texts):,} responses, "
        f"{mb:.2f} MB (UTF-8), with their problems.",
        "",
        f"commit `{m['commit']}`, {m['cpu']}, {m['cores']} cores, Python {m['python']}, dlcot {m['dlcot']}, "
        f"{m['date']}, load average before the run {m['load']}.",
        "",
        "| name | threads | MB/s (wall) | MB per CPU-second | x baseline (wall) | x baseline (CPU) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, threads, mbw, mbc, rw, rc in rows:
        lines.append(f"| {name} | {threads} | {mbw:.1f} | {mbc:.1f} | {rw:.1f} | {rc:.1f} |")
    lines += [
        "",
        f"Medians of {args.rounds} rounds (3 for `baseline.parse`) after one warm-up. MB per CPU-second is "
        "the per-core figure, robust to a busy machine (for a 1-thread row it equals MB/s on an idle "
        "core; for the all-cores row it is the per-core efficiency, and wall MB/s the throughput). "
        "x baseline: `baseline.parse`'s median over this row's median, same run. Targets (issue): "
        ">= 200 MB/s per core and >= 20x the pure-Python baseline.",
        "",
        f"Agreement of `bench/baseline.py` with dlcot on the {n:,} traces (exact, per trace):",
        "",
        f"* sections (kind, start, end) identical: {agree['sections_identical']}/{n} "
        f"({100 * agree['sections_identical'] / n:.1f}%); section boundaries shared: {agree['section_boundaries_shared']}",
        f"* final answer text identical: {agree['final_answer_identical']}/{n} "
        f"({100 * agree['final_answer_identical'] / n:.1f}%); span identical: {agree['final_answer_span_identical']}/{n}",
        f"* solutions identical: {agree['solutions_identical']}/{n}; checks identical: {agree['checks_identical']}/{n}; "
        f"issues (kind, span) identical: {agree['issues_identical']}/{n}",
        "",
        "Made with `python bench/test_bench_parse.py`.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if str(args.out) != "-":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
