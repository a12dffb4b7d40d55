"""`dlcot run` end to end: throughput, peak memory as the input grows, and what each policy
removes (tokens, with the bundled DeepSeek-R1-Distill-Qwen tokenizer).

    python bench/run_bench.py                      # writes bench/results/run.md
    python bench/run_bench.py --copies 1 4 --no-policies

Throughput is input bytes (the JSONL file) over the wall time of the whole command (start-up,
reading, pruning, writing, stats and report included). "Rules only" is
``--tokenizer none --no-symbolic --compare-policies 0``: no token counting, no math-verify.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from _machine import commit as current_commit, cpu_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "traces_normalised.jsonl"
RESULTS = ROOT / "bench" / "results"


def replicate(src: Path, copies: int, dst: Path) -> Path:
    """`copies` copies of the corpus, ids made unique."""
    lines = src.read_text(encoding="utf-8").splitlines()
    with dst.open("w", encoding="utf-8") as f:
        for k in range(copies):
            for line in lines:
                r = json.loads(line)
                r["id"] = f"{r['id']}#{k}"
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return dst


def timed_run(inp: Path, out: Path, extra: list[str]) -> dict:
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "dlcot.cli", "run", str(inp), "-o", str(out), "-q", "--overwrite", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) / 1024
    stats = json.loads((out / "stats.json").read_text())
    mb = inp.stat().st_size / 1e6
    return {"mb": mb, "wall": wall, "mbps": mb / wall, "rss_mb": rss, "records": stats["records_in"], "kept": stats["records_out"]}


def policy_table(limit: int | None) -> list[dict]:
    import dlcot
    from dlcot.io import Record, iter_records

    records = [r for r in iter_records(str(DATA)) if isinstance(r, Record)]
    if limit:
        records = records[:limit]
    rows = []
    for name in dlcot.POLICIES:
        p = dlcot.Pipeline(name)
        t0 = time.perf_counter()
        res = []
        for i in range(0, len(records), 256):
            res.extend(p.process_batch(records[i : i + 256]))
        dt = time.perf_counter() - t0
        kept = [r for r in res if r.status == "kept"]
        before = sum(r.tokens_before for r in kept)
        after = sum(r.tokens_after for r in kept)
        same = 0
        for r in kept:
            a, b = dlcot.parse(r.response).final_answer, dlcot.parse(r.record.response).final_answer
            same += a == b or (a is not None and b is not None and dlcot.equivalent(a, b) is True)
        cut = [r for r in kept if r.pruned.edits]
        rows.append(
            {
                "policy": name,
                "records": len(res),
                "kept": len(kept),
                "rejected": {s: sum(1 for r in res if r.status == s) for s in sorted({r.status for r in res} - {"kept"})},
                "tokens_before": before,
                "tokens_after": after,
                "reduction": 1 - after / before if before else 0.0,
                "mean_before": before / max(len(kept), 1),
                "mean_after": after / max(len(kept), 1),
                "traces_cut": len(cut),
                "answers_unchanged": same,
                "fallbacks": sum(r.fallback for r in kept),
                "seconds": dt,
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--no-policies", action="store_true")
    ap.add_argument("--limit", type=int, default=None, help="records for the policy table (default: all)")
    ap.add_argument("--out", default=str(RESULTS / "run.md"))
    args = ap.parse_args()
    lines = [
        "# `dlcot run` end to end",
        "",
        f"Machine: {cpu_model()}, commit {current_commit()}, {os.cpu_count()} CPUs; load at start "
        f"{os.getloadavg()[0]:.1f}. Corpus: `{DATA.name}` ({DATA.stat().st_size / 1e6:.1f} MB, replicated).",
        "Command: `python bench/run_bench.py " + " ".join(sys.argv[1:]) + "`",
        "",
        "| input | mode | records | kept | wall s | MB/s of input | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    modes = {
        "rules only (`--tokenizer none --no-symbolic --compare-policies 0`)": ["--tokenizer", "none", "--no-symbolic", "--compare-policies", "0"],
        "default (bundled tokenizer, math-verify, policy comparison on 1,000)": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for copies in args.copies:
            inp = replicate(DATA, copies, Path(tmp) / f"in{copies}.jsonl")
            for label, extra in modes.items():
                if copies > 1 and not extra:
                    continue  # the default mode is measured on one copy (token counting dominates)
                r = timed_run(inp, Path(tmp) / "out", extra)
                lines.append(f"| {r['mb']:.1f} MB ({copies}x) | {label} | {r['records']:,} | {r['kept']:,} | {r['wall']:.1f} | {r['mbps']:.1f} | {r['rss_mb']:.0f} |")
                print(lines[-1], flush=True)
    if not args.no_policies:
        rows = policy_table(args.limit)
        lines += [
            "",
            "## What each policy removes (tokens: bundled DeepSeek-R1-Distill-Qwen tokenizer; math-verify settles undecided labels)",
            "",
            "| policy | kept / records | rejected | traces cut | tokens before -> after (kept) | reduction | mean tokens per kept trace | final answer unchanged | fallbacks |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            rej = ", ".join(f"{k} {v:,}" for k, v in r["rejected"].items()) or "none"
            lines.append(
                f"| {r['policy']} | {r['kept']:,} / {r['records']:,} | {rej} | {r['traces_cut']:,} | {r['tokens_before']:,} -> {r['tokens_after']:,} "
                f"| {r['reduction']:.1%} | {r['mean_before']:,.0f} -> {r['mean_after']:,.0f} | {r['answers_unchanged']:,} / {r['kept']:,} | {r['fallbacks']} |"
            )
            print(lines[-1], flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
