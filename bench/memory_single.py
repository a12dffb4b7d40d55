"""Peak memory of one huge trace: a single 50 MB response through ``dlcot run`` (rules only).

Run: ``python bench/memory_single.py [--mb 50] [--shape real single-line] [--breakdown]``.

For each shape it writes a one-record JSONL file in a temporary folder, runs
``dlcot run FILE -o OUT --tokenizer none --no-symbolic --compare-policies 0`` (and ``dlcot
segment`` on the same file) in a fresh process, and reports the process's peak RSS
(``VmHWM``), the same for an interpreter that only imports dlcot and runs a one-line input
(the baseline), and the ratio of the difference to the trace's size: how many copies of the
text the command holds at its peak.

Shapes:

* ``real``: the paragraphs of real traces (../shared/data/traces_normalised.jsonl, or the
  repository's Sky-T1 sample) repeated inside one ``<think>..</think>`` with a boxed answer
  after it: tens of thousands of solutions and checks, as a degenerate generation that keeps
  re-deriving has;
* ``single-line``: the same size with no line break at all.

``--breakdown`` also runs the steps of ``run`` one by one in a fresh process (read the record,
``dlcot.parse``, ``dlcot.prune_batch``, ``Pipeline.process``, the SFT line) and prints the peak
RSS after each, to see which step holds what. Writes bench/results/memory_single.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _machine import commit, cpu_model  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "traces_normalised.jsonl"
SAMPLE = ROOT / "examples" / "sky_t1_sample.jsonl"

# The peak is the kernel's high-water mark of this process's memory map (VmHWM), not
# ru_maxrss: ru_maxrss survives fork + exec, so a child would report its parent's peak (here the
# parent holds the 50 MB text it wrote).
PEAK = "int(next(x for x in open('/proc/self/status') if x.startswith('VmHWM')).split()[1])"
PROBE = (
    "import sys; from dlcot.cli import main; rc = main(sys.argv[1:]); "
    f"print('MAXRSS', {PEAK}, file=sys.stderr); sys.exit(rc)"
)

BREAKDOWN = r"""
import json, sys, time
def peak():
    with open("/proc/self/status") as f:
        return int(next(x for x in f if x.startswith("VmHWM")).split()[1]) / 1024
def cur():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
t0 = time.perf_counter()
steps = []
def step(name):
    steps.append((name, round(cur()), round(peak()), round(time.perf_counter() - t0, 2)))
import dlcot
from dlcot.io import iter_records
step("import dlcot")
(rec,) = list(iter_records(sys.argv[1]))
step("read the record (iter_records)")
t = dlcot.parse(rec.response, problem=rec.problem, reference=rec.answer)
n_sol, n_chk = len(t.solutions), len(t.checks)
step(f"dlcot.parse ({n_sol:,} solutions, {n_chk:,} checks)")
del t
step("trace freed")
(p,) = dlcot.prune_batch([rec.response], problems=[rec.problem], references=[rec.answer], keep_unsolvable=True)
step(f"dlcot.prune_batch ({len(p.edits):,} edits)")
del p
step("pruned freed")
pipe = dlcot.Pipeline(keep_unsolvable=True, symbolic=False, tokenizer="none")
(r,) = pipe.process_batch([rec])
step("Pipeline.process_batch")
line = json.dumps(pipe.sft_record(r), ensure_ascii=False)
edits = json.dumps(pipe.edit_record(r))
step("sft + edits lines")
print(json.dumps(steps))
"""


def real_text(mb: float) -> str:
    src = DATA if DATA.is_file() else SAMPLE
    paras: list[str] = []
    with src.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            resp = r.get("response") or next(iter(r.get("code") or []), "")
            body = resp.split("</think>")[0].replace("<think>", "").replace("<|begin_of_thought|>", "")
            paras += [p for p in body.split("\n\n") if p.strip()]
            if sum(map(len, paras)) > 4 * 2**20:
                break
    target = int(mb * 2**20)
    out, size, k = [], 0, 0
    while size < target:
        p = paras[k % len(paras)]
        out.append(p)
        size += len(p.encode()) + 2
        k += 1
    return "<think>\n" + "\n\n".join(out) + "\n</think>\n\nThe answer is \\boxed{18}."


def single_line_text(mb: float) -> str:
    unit = "so 16 - 3 - 4 = 9 and 9 * 2 = 18, wait, let me check that again: 3 + 4 = 7, 16 - 7 = 9; "
    body = unit * int(mb * 2**20 / len(unit))
    return body + "so the answer is \\boxed{18}."


def write_record(path: Path, text: str) -> float:
    rec = {"id": "huge", "problem": "Janet's ducks lay 16 eggs per day ... How much does she make?", "response": text, "answer": "18"}
    path.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(text.encode()) / 2**20


def probe(args: list[str]) -> tuple[float, float]:
    """(peak RSS MB, seconds) of ``dlcot ARGS`` in a fresh process."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"dlcot {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    kb = int(next(x for x in proc.stderr.splitlines() if x.startswith("MAXRSS")).split()[1])
    return kb / 1024, dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=50.0, help="size of the trace in MB (default 50)")
    ap.add_argument("--shape", nargs="+", default=["real", "single-line"], choices=["real", "single-line"])
    ap.add_argument("--breakdown", action="store_true", help="also the peak after each step of run")
    args = ap.parse_args()
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        tiny = tmp / "tiny.jsonl"
        write_record(tiny, "2 + 2 = 4. The answer is \\boxed{4}.")
        base, _ = probe(["run", str(tiny), "-o", str(tmp / "base"), "--tokenizer", "none", "--no-symbolic", "--compare-policies", "0", "-q"])
        rows.append(f"| baseline (a one-line record) | run | 0 | {base:,.0f} | | |")
        print(rows[-1], flush=True)
        for shape in args.shape:
            f = tmp / f"{shape}.jsonl"
            size = write_record(f, real_text(args.mb) if shape == "real" else single_line_text(args.mb))
            for cmd, extra in (("run", ["-o", str(tmp / f"run-{shape}"), "--tokenizer", "none", "--no-symbolic", "--compare-policies", "0"]),
                               ("segment", ["-o", str(tmp / f"seg-{shape}.jsonl"), "--num-threads", "1"])):  # fmt: skip
                peak, dt = probe([cmd, str(f), *extra, "-q"])
                rows.append(f"| {shape} | {cmd} | {size:,.1f} | {peak:,.0f} | {(peak - base) / size:,.1f} | {dt:,.1f} |")
                print(rows[-1], flush=True)
            if args.breakdown:
                proc = subprocess.run([sys.executable, "-c", BREAKDOWN, str(f)], capture_output=True, text=True, check=True)
                steps = json.loads(proc.stdout.strip().splitlines()[-1])
                notes += ["", f"Steps of `run` on the {shape} trace, one process (RSS now / peak so far, MB; seconds):", "",
                          "| step | RSS | peak | s |", "|---|---:|---:|---:|"]  # fmt: skip
                notes += [f"| {name} | {now:,} | {pk:,} | {s} |" for name, now, pk, s in steps]
                print("\n".join(notes[-len(steps) - 2 :]), flush=True)
    report = "\n".join(
        [
            "# Peak memory of one huge trace",
            "",
            f"Made by `python bench/memory_single.py --mb {args.mb:g} --shape {' '.join(args.shape)}"
            f"{' --breakdown' if args.breakdown else ''}` on {os.cpu_count()} cores ({cpu_model()}), commit"
            f" {commit()}. `run` is rules only"
            " (`--tokenizer none --no-symbolic --compare-policies 0`). Copies: (peak - baseline) / trace size.",
            "",
            "| trace | command | MB | peak RSS MB | copies | seconds |",
            "|---|---|---:|---:|---:|---:|",
            *rows,
            *notes,
        ]
    )
    out = ROOT / "bench" / "results" / "memory_single.md"
    out.write_text(report + "\n", encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
