"""How often is each judge needed after the rules? On the developers' traces.

For every trace, ``dlcot.judge.Judging.needs`` (the same selection code ``decide_batch`` runs,
without calling anything) lists the requests each judge task would make in its first wave:

* correctness (b): solutions the rules cannot label: "undecided" (``equivalent`` returned None)
  when there is a reference; without one, every solution that reaches an answer, and every
  solution of a trace with no final answer at all (proofs);
* segment (a): ambiguous units: a standalone "Wait, ..." check that reaches an answer (a check,
  or a new attempt?), and a short non-first solution that reaches no answer (a pivot, or a check?);
* approach (d): pairs of solutions (or checks) no similarity signal is sure about (lexical
  0.2-0.6; with ``--cluster both`` also semantic 0.8-0.95: ``dlcot.judge.BANDS``), against the
  rules' leaders, at most 24 per trace and kind;
* errors (c): main-path solutions (before the first correct one) the rules label incorrect, or
  that the model abandons with a restart ("wait, that's wrong").

It needs only the dlcot core for ``--cluster lexical``; ``--cluster both`` loads the packaged
MiniLM. Prompt tokens are counted with the bundled R1-Distill-Qwen tokenizer on the rendered
prompts. With ``--judge-url``/``--judge-model`` (or ``--local-judge``) it also runs the judging
twice on ``--limit`` traces (a seeded random sample) with a fresh cache and reports the rerun's cache hit rate.

Usage::

    python bench/judge_need.py                      # writes bench/results/judge_need.md
    python bench/judge_need.py --cluster lexical both   # "both" on a 200-trace sample, lexical beside it
    python bench/judge_need.py --judge-url http://127.0.0.1:8000/v1 --judge-model M --limit 200
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _machine import commit, cpu_model  # noqa: E402

import dlcot  # noqa: E402
from dlcot.judge import Judging  # noqa: E402

CORPUS = HERE.parent.parent / "shared" / "data" / "traces_normalised.jsonl"
OUT = HERE / "results" / "judge_need.md"
TASKS = ("correctness", "segment", "approach", "errors")


def pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f}%" if b else "n/a"


class CachedEmbedder:
    """The packaged MiniLM, each distinct text encoded once (the band sweep re-plans the same traces)."""

    name = "all-MiniLM-L6-v2"

    def __init__(self):
        from dlcot.judge import Embedder

        self.e = Embedder(batch_size=32)
        self.memo: dict = {}

    def encode(self, texts):
        import numpy as np

        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            for t, v in zip(todo, self.e.encode(todo)):
                self.memo[t] = v
        return np.stack([self.memo[t] for t in texts]) if texts else np.zeros((0, self.e.dim), np.float32)


EMBEDDER = None


def judging(cluster: str, **kw) -> Judging:
    global EMBEDDER
    if cluster != "lexical" and EMBEDDER is None:
        EMBEDDER = CachedEmbedder()
    return Judging(cluster, embedder=EMBEDDER if cluster != "lexical" else None, **kw)


def measure(recs, traces, cluster: str, tokens) -> dict:
    j = judging(cluster)
    t0 = time.perf_counter()
    states, jobs = j._plan(recs, traces)
    plan_s = time.perf_counter() - t0
    per = [Counter() for _ in states]
    parts_unsure = [{"solution": set(), "check": set()} for _ in states]
    prompts = {t: [] for t in TASKS}
    for job in jobs:
        per[job.state.index][job.task] += 1
        if job.task == "approach":
            kind, pair = job.what.split(" ", 1)
            parts_unsure[job.state.index][kind[:-1]].add(int(pair.split("~")[0]))
        tpl = j.templates[job.task]
        prompts[job.task].append("\n".join(m["content"] for m in tpl.render(**job.values)))
    tok = {t: (sum(tokens.count(p)) if p else 0) for t, p in prompts.items()}
    return {"states": states, "per": per, "unsure": parts_unsure, "tokens": tok, "plan_s": plan_s}


def rows_for(name: str, idx: list[int], m: dict, traces) -> list[str]:
    per = m["per"]
    n_sol = sum(len(traces[i].solutions) for i in idx)
    n_chk = sum(len(traces[i].checks) for i in idx)
    n_later_sol = sum(max(0, len(traces[i].solutions) - 1) for i in idx)
    n_later_chk = sum(max(0, len(traces[i].checks) - 1) for i in idx)
    c = {t: sum(per[i][t] for i in idx) for t in TASKS}
    uns = sum(len(m["unsure"][i]["solution"]) for i in idx)
    unc = sum(len(m["unsure"][i]["check"]) for i in idx)
    traces_with = {t: sum(1 for i in idx if per[i][t]) for t in TASKS}
    any_ = sum(1 for i in idx if sum(per[i].values()))
    calls = [sum(per[i].values()) for i in idx]
    return [
        f"| {name} | {len(idx):,} | {n_sol:,} | "
        f"{c['correctness']:,} ({pct(c['correctness'], n_sol)}) | "
        f"{c['segment']:,} ({pct(c['segment'], n_sol + n_chk)} of units) | "
        f"{c['approach']:,} pairs; {pct(uns, n_later_sol)} of later solutions, {pct(unc, n_later_chk)} of later checks | "
        f"{c['errors']:,} ({pct(c['errors'], n_sol)}) | "
        f"{pct(any_, len(idx))} | {statistics.mean(calls) if calls else 0:.2f} / {sorted(calls)[int(0.9 * (len(calls) - 1))] if calls else 0} |",
    ], traces_with


def rerun(recs, traces, args) -> list[str]:
    from dlcot.judge import HTTPJudge, LocalJudge

    if args.local_judge:
        judge = LocalJudge(args.local_judge)
        what = f"LocalJudge({Path(args.local_judge).name})"
    else:
        judge = HTTPJudge(args.judge_url, args.judge_model, concurrency=args.concurrency, timeout=120, retries=2)
        what = f"HTTPJudge(model={args.judge_model!r})"
    if args.judge_note:
        what = args.judge_note
    import random

    pick = sorted(random.Random(0).sample(range(len(traces)), min(args.limit, len(traces))))
    recs, traces = [recs[i] for i in pick], [traces[i] for i in pick]
    out = []
    with tempfile.TemporaryDirectory() as d:
        cache = Path(d) / "judge.sqlite"
        for run in (1, 2):
            j = Judging(args.cluster[0], judge=judge, fix_errors=True, cache=cache, tasks=list(TASKS))
            t0 = time.perf_counter()
            ds = j.decide_batch(recs, traces)
            dt = time.perf_counter() - t0
            s = j.stats
            out.append(
                f"| {run} | {s.requests:,} | {s.calls:,} | {s.cache_hits:,} ({pct(s.cache_hits, s.requests)}) | "
                f"{s.failures:,} | {s.malformed:,} | {s.tokens:,} | {dt:.1f} s | {sum(len(x.issues) for x in ds):,} |"
            )
    head = [
        f"Judge: {what}, cluster={args.cluster[0]}, all four tasks, fix_errors, {len(traces):,} traces (a seeded random sample), "
        "a fresh cache, run twice:",
        "",
        "| run | requests | calls made | cache hits | failed | malformed | tokens | wall | issues |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    return head + out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(CORPUS))
    ap.add_argument("--cluster", nargs="+", default=["lexical"], choices=["lexical", "semantic", "both"])
    ap.add_argument("--out", default=str(OUT), help="markdown report ('-' for none)")
    ap.add_argument("--judge-url")
    ap.add_argument("--judge-model")
    ap.add_argument("--local-judge", metavar="PATH")
    ap.add_argument("--semantic-sample", type=int, default=200, help="traces for the semantic/both modes (embedding on a CPU is slow)")
    ap.add_argument("--limit", type=int, default=200, help="traces for the cache rerun")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--judge-note", default="", help="what the judge is, for the report (e.g. a tiny random model)")
    a = ap.parse_args(argv)
    path = Path(a.corpus)
    if not path.is_file():
        print(f"{path} not found (the shared data folder sits beside the repository)", file=sys.stderr)
        return 2
    t0 = time.time()
    with path.open(encoding="utf-8") as f:
        recs = [json.loads(line) for line in f if line.strip()]
    traces = dlcot.parse_batch(
        [r["response"] for r in recs], problems=[r.get("problem") for r in recs], references=[r.get("answer") for r in recs]
    )
    from dlcot.tokens import load_token_counter

    tokens = load_token_counter(None)
    L = ["# How often each judge task is needed after the rules", ""]
    n_loops = sum(1 for t in traces if any(x.kind == "repetition" for x in t.issues))
    L.append(
        f"Made by `python bench/judge_need.py {' '.join(sys.argv[1:] if argv is None else argv)}` (dlcot {dlcot.__version__}, commit "
        f"{commit()}, {cpu_model()}) on `../shared/data/traces_normalised.jsonl` ({len(recs):,} traces, "
        f"{sum(len(t.solutions) for t in traces):,} solutions, {sum(len(t.checks) for t in traces):,} checks; "
        f"{sum(r.get('answer') is not None for r in recs):,} with a reference answer; {n_loops} caught in "
        "repetition loops)."
    )
    L.append("")
    L.append(
        "Each count is a judge request `Judging.decide_batch` would send in its first wave (the selection code "
        "is the same; `Judging.needs` runs it without calling). Per task: correctness (b) = solutions without a "
        "rule label; segment (a) = ambiguous units (a standalone \"Wait, ...\" check reaching an answer, a short "
        "non-first solution reaching none); approach (d) = pairs no similarity signal is sure about, and the "
        "share of non-first solutions/checks in at least one; errors (c) = main-path solutions labelled "
        "incorrect or abandoned with a restart. Later waves (pairs a judged verdict makes the clustering ask "
        "about) add a few approach requests; caps (24 pairs per kind, 16 labels, 16 error checks, 8 segment "
        "units per trace) bound the Sky-T1 loops."
    )
    L.append("")
    import random

    sample = sorted(random.Random(1).sample(range(len(traces)), min(a.semantic_sample, len(traces))))
    runs = []
    for cluster in a.cluster:
        if cluster == "lexical":
            runs.append(("lexical", "all traces", list(range(len(traces)))))
        else:
            if ("lexical", "sample", sample) not in runs:
                runs.append(("lexical", "sample", sample))
            runs.append((cluster, "sample", sample))
    for cluster, scope, pick in runs:
        sub_r, sub_t = [recs[i] for i in pick], [traces[i] for i in pick]
        m = measure(sub_r, sub_t, cluster, tokens)
        loops = {i for i, t in enumerate(sub_t) if any(x.kind == "repetition" for x in t.issues)}
        groups = [
            ("all", list(range(len(sub_t)))),
            ("without repetition loops", [i for i in range(len(sub_t)) if i not in loops]),
            ("with a reference answer", [i for i, r in enumerate(sub_r) if r.get("answer") is not None]),
            ("without one", [i for i, r in enumerate(sub_r) if r.get("answer") is None]),
        ]
        where = "all traces" if scope == "all traces" else f"a seeded random sample of {len(pick)} traces"
        L.append(f"## cluster={cluster}, {where}")
        L.append("")
        L.append(
            "| traces | n | solutions | correctness (b): solutions | segment (a) | approach (d) | errors (c): solutions | "
            "traces needing any call | calls per trace: mean / p90 |"
        )
        L.append("|---|---:|---:|---:|---:|---|---:|---:|---:|")
        for name, idx in groups:
            row, _ = rows_for(name, idx, m, sub_t)
            L += row
        total = {t: sum(p[t] for p in m["per"]) for t in TASKS}
        L.append("")
        L.append(
            "Requests and prompt tokens (first wave, default templates): "
            + "; ".join(f"{t} {total[t]:,} ({m['tokens'][t]:,} tokens)" for t in TASKS)
            + f"; in all {sum(total.values()):,} requests, {sum(m['tokens'].values()):,} prompt tokens "
            f"(planned in {m['plan_s']:.1f} s)."
        )
        L.append("")
    if any(c != "lexical" for c in a.cluster):
        sub_r, sub_t = [recs[i] for i in sample], [traces[i] for i in sample]
        L.append(f"## semantic band: approach requests by the band's bottom (cluster=both, the {len(sample)} sampled traces)")
        L.append("")
        L.append("| semantic band | approach requests | per trace |")
        L.append("|---|---:|---:|")
        for lo in (0.6, 0.7, 0.8, 0.85):
            n = sum(d["approach"] for d in judging("both", bands={"semantic": (lo, 0.95)}).needs(sub_r, sub_t))
            L.append(f"| {lo}-0.95 | {n:,} | {n / len(sample):.2f} |")
        n = sum(d["approach"] for d in judging("lexical").needs(sub_r, sub_t))
        L.append(f"| (lexical only: 0.2-0.6) | {n:,} | {n / len(sample):.2f} |")
        L.append("")
    if a.judge_url or a.local_judge:
        if not (a.local_judge or a.judge_model):
            ap.error("--judge-url needs --judge-model")
        L.append("## Cache hit rate on a rerun")
        L.append("")
        L += rerun(recs, traces, a)
        L.append("")
    L.append(f"Total time {time.time() - t0:.0f} s.")
    md = "\n".join(L)
    print(md)
    if a.out != "-":
        Path(a.out).write_text(md + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
