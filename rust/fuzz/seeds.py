#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (rust/fuzz/corpus/<target>/) from real traces.

Seeds are made at run time, not committed: from ``examples/sky_t1_sample.jsonl`` and
``bench/data/answer_pairs.jsonl`` (both in the repository, so seeding always works), plus the
developers' trace set ``../shared/data/traces_normalised.jsonl`` when it sits beside the
repository. Each seed is cut to at most ``--max-len`` bytes (the fuzzer's ``-max_len``), taking
the head and the tail of long traces (where the envelope, the conclusion and the answers are).
Pieces of a multi-string input are joined by the byte 0xFF, as the targets split them
(``fuzz_targets/common.rs``). Existing corpus files are kept: what the fuzzer found stays.

    python rust/fuzz/seeds.py [--max-len 16384] [--per-source 60]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parents[1]
SEP = b"\xff"


def records(path: Path, limit: int, rng: random.Random) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rng.shuffle(rows)
    return rows[:limit]


def cut(text: str, max_len: int) -> bytes:
    b = text.encode("utf-8", "surrogatepass")
    if len(b) <= max_len:
        return b
    half = max_len // 2
    return b[:half] + b[-half:]  # may split a char: the lossy decode in the targets copes


def write(target: str, seeds: list[bytes]) -> int:
    d = FUZZ / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    n = 0
    for s in seeds:
        name = hashlib.sha1(s).hexdigest()
        p = d / name
        if not p.exists():
            p.write_bytes(s)
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-len", type=int, default=16384)
    ap.add_argument("--per-source", type=int, default=60, help="traces taken from each source file")
    args = ap.parse_args()
    rng = random.Random(0)
    m = args.max_len

    traces = records(ROOT / "examples" / "sky_t1_sample.jsonl", args.per_source, rng)
    traces += records(ROOT.parent / "shared" / "data" / "traces_normalised.jsonl", args.per_source, rng)
    pairs = records(ROOT / "bench" / "data" / "answer_pairs.jsonl", 400, rng)

    def field(r: dict, *keys: str) -> str:
        for k in keys:
            v = r.get(k)
            if isinstance(v, str):
                return v
        return ""

    # (the sample is Qwen2.5-Math eval output: its generations are the list `code`)
    resp = [field(r, "response", "output") or next(iter(r.get("code") or []), "") for r in traces]
    prob = [field(r, "problem", "question") for r in traces]
    ans = [field(r, "answer", "gt", "reference") for r in traces]
    tails = [x[-2000:] for x in resp]
    paragraphs = [p for x in resp for p in x.split("\n\n") if 20 < len(p) < 2000]
    rng.shuffle(paragraphs)

    out = {
        "parse": [cut(r, m - 600) + SEP + cut(p, 400) + SEP + cut(a, 200) for r, p, a in zip(resp, prob, ans)],
        "prune": [bytes([i % 256]) + cut(r, m - 300) + SEP + cut(a, 200) for i, (r, a) in enumerate(zip(resp, ans))],
        "answer": [cut(t, m) for t in tails] + [cut(a, m) for a in ans if a],
        "equiv": [p["pred"].encode() + SEP + p["ref"].encode() for p in pairs],
        "minhash": [bytes([128, 5, i % 2, i % 7]) + SEP.join(x.encode() for x in paragraphs[3 * i : 3 * i + 3]) for i in range(60)],
        "cues": [cut(p, 4096) for p in paragraphs[:200]],
    }
    for target, seeds in out.items():
        n = write(target, seeds)
        print(f"{target}: {n} new seeds ({len(seeds)} made)")


if __name__ == "__main__":
    main()
