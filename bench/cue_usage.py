"""Which cues real traces use: the phrases that open solutions and checks, per model family.

Run: ``python bench/cue_usage.py [FILE.jsonl]`` (default ../shared/data/traces_normalised.jsonl).
Writes bench/results/cue_usage.md. This is the measurement behind the cue lexicon in
rust/src/cues.rs: a phrase that never fires on real data is dead weight, and the most frequent
openers of unclassified paragraphs are the candidates for new cues.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import dlcot

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "traces_normalised.jsonl"


def family(model: str | None, source: str) -> str:
    m = (model or "").lower()
    if "sky" in m or "skythought" in source.lower():
        return "Sky-T1"
    if "qwq" in m:
        return "QwQ-32B"
    if "distill" in m:
        return "R1 distills"
    return "other (DeltaBench)"


def main(path: Path) -> str:
    recs = [json.loads(line) for line in path.open(encoding="utf-8")]
    traces = dlcot.parse_batch([r["response"] for r in recs], problems=[r["problem"] for r in recs])
    by_family: dict[str, Counter] = defaultdict(Counter)
    sol_cues: dict[str, Counter] = defaultdict(Counter)
    chk: dict[str, Counter] = defaultdict(Counter)
    openers: Counter = Counter()
    n_traces: Counter = Counter()
    for r, t in zip(recs, traces):
        f = family(r.get("model"), r.get("source", ""))
        n_traces[f] += 1
        by_family[f]["solutions"] += len(t.solutions)
        by_family[f]["checks"] += len(t.checks)
        by_family[f]["chars"] += len(t)
        for s in t.solutions[1:]:
            sol_cues[f][s.cue or "(section start)"] += 1
        for c in t.checks:
            chk[f][f"{c.kind}: {c.cue or '(after first answer)'}"] += 1
        # openers of paragraphs that start no block: candidates for new cues
        starts = {s.start for s in t.solutions} | {c.start for c in t.checks}
        for m in re.finditer(r"(?:^|\n\n)(\S[^\n]{0,40})", t.text):
            if m.start(1) not in starts:
                openers[" ".join(m.group(1).lower().split()[:3])] += 1
    lines = ["# Cue usage on real traces", "", f"Made by `python bench/cue_usage.py {path.name}` with dlcot {dlcot.__version__}.", ""]
    lines += ["| family | traces | solutions / trace | checks / trace | chars / solution |", "|---|---:|---:|---:|---:|"]
    for f, c in sorted(by_family.items()):
        n = n_traces[f]
        lines.append(f"| {f} | {n} | {c['solutions'] / n:.1f} | {c['checks'] / n:.1f} | {c['chars'] / max(c['solutions'], 1):,.0f} |")
    for title, table in (("Phrases that open a new solution (after the first)", sol_cues), ("Checks by kind and cue", chk)):
        lines += ["", f"## {title}", ""]
        for f, c in sorted(table.items()):
            total = sum(c.values())
            top = ", ".join(f"`{k}` {v / total:.0%}" for k, v in c.most_common(8))
            lines.append(f"* **{f}** ({total:,}): {top}")
    lines += ["", "## Most frequent openers of paragraphs that start no solution or check", ""]
    lines += [", ".join(f"`{k}` {v}" for k, v in openers.most_common(40))]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    report = main(path)
    out = ROOT / "bench" / "results" / "cue_usage.md"
    out.write_text(report, encoding="utf-8")
    print(report)
