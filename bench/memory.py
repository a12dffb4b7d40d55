"""Peak memory of `dlcot segment` as the input grows: it streams, so the peak stays flat.

Run: ``python bench/memory.py [--copies 1 4 16]``. Builds inputs in a temporary folder by
repeating ../shared/data/traces_normalised.jsonl N times, runs ``dlcot segment`` on each in a
fresh process and reports its peak RSS (``VmHWM``) and throughput. Writes
bench/results/memory.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "traces_normalised.jsonl"

# VmHWM (kB), not ru_maxrss: Linux carries ru_maxrss over fork + exec, so the child would
# report this script's own peak when that is higher
PROBE = (
    "import sys; from dlcot.cli import main; rc = main(sys.argv[1:]); "
    "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0], file=sys.stderr)"
)


def run(copies: int, tmp: Path) -> tuple[float, float, float]:
    src = DATA.read_bytes()
    f = tmp / f"x{copies}.jsonl"
    with open(f, "wb") as out:
        for _ in range(copies):
            out.write(src)
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "segment", str(f), "-o", str(tmp / "out.jsonl"), "-q", "--num-threads", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    dt = time.perf_counter() - t
    peak_mb = int(proc.stderr.strip().splitlines()[-1]) / 1024
    size_mb = f.stat().st_size / 1e6
    f.unlink()
    return size_mb, peak_mb, size_mb / dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, nargs="+", default=[1, 4, 16])
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for c in args.copies:
            size, peak, rate = run(c, Path(d))
            rows.append(f"| {c} | {size:,.0f} | {peak:,.0f} | {rate:,.1f} |")
            print(rows[-1], flush=True)
    report = "\n".join(
        [
            "# Peak memory of `dlcot segment`",
            "",
            f"Made by `python bench/memory.py --copies {' '.join(map(str, args.copies))}` on {os.cpu_count()} cores"
            " (one thread), input = the developers' set repeated N times.",
            "",
            "| copies | input MB | peak RSS MB | MB/s end to end (read JSON, parse, write) |",
            "|---:|---:|---:|---:|",
            *rows,
        ]
    )
    (ROOT / "bench" / "results" / "memory.md").write_text(report + "\n", encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
