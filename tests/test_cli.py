"""The ``dlcot`` command line, run as a user runs it (a subprocess), on real and hostile files."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import dlcot

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sky_t1_sample.jsonl"
DATA = ROOT.parent / "shared" / "data"


def run(*args: str, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "dlcot.cli", *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "120"},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout: {proc.stdout[-2000:]!r}\nstderr: {proc.stderr[-2000:]!r}")
    return proc


def read_jsonl(path: Path) -> list[dict]:
    # split on "\n" only: str.splitlines() also splits at U+2028/U+0085 inside JSON strings
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def test_segment_sample_matches_the_api(tmp_path):
    out = tmp_path / "seg.jsonl"
    proc = run("segment", str(SAMPLE), "-o", str(out), "-q")
    rows = read_jsonl(out)
    assert len(rows) == 18
    assert read_jsonl(tmp_path / "seg.rejects.jsonl") == []
    assert "in 18 = out 18 + rejected 0" in proc.stderr.decode()
    # each line is the core's structure for that record's trace, plus the record head
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    for row, rec in zip(rows, records):
        trace = dlcot.parse(rec["code"][0], problem=rec["question"], reference=rec["gt"])
        expected = json.loads(trace.to_json())
        assert {k: row[k] for k in expected} == expected
        assert row["id"] == f"{rec['idx']}#0" or row["id"] == str(rec["idx"])
        assert row["layout"] == "qwen-math-eval"
        assert row["reference"] == rec["gt"]
        # spans are str indices into the response
        text = rec["code"][0]
        assert "".join(text[s["start"] : s["end"]] for s in row["sections"]) == text


def test_segment_is_deterministic_and_thread_independent(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run("segment", str(SAMPLE), "-o", str(a), "-q", "--num-threads", "1", "--batch-size", "5")
    run("segment", str(SAMPLE), "-o", str(b), "-q", "--num-threads", "2")
    assert a.read_bytes() == b.read_bytes()


def test_segment_accounts_for_every_record(tmp_path):
    lines = SAMPLE.read_bytes().splitlines()[:3]
    bad = tmp_path / "mixed.jsonl"
    bad.write_bytes(
        b"\n".join(
            [
                lines[0],
                b"{not json",
                b'{"question": "q", "code": [""], "gt": "1"}',  # empty response
                b"\xff\xfe garbage bytes",
                b'["an", "array"]',
                lines[1],
                b'{"question": "q", "code": [{"nested": 1}], "gt": "1"}',  # wrong type
                lines[2],
            ]
        )
        + b"\n"
    )
    out = tmp_path / "out.jsonl"
    rej = tmp_path / "rej.jsonl"
    proc = run("segment", str(bad), "-o", str(out), "--rejects", str(rej), "-q")
    rows, rejects = read_jsonl(out), read_jsonl(rej)
    assert len(rows) == 3
    assert len(rows) + len(rejects) == 8
    assert sorted(r["index"] for r in rejects) == [1, 2, 3, 4, 6]
    assert {r["reason"] for r in rejects} >= {"bad-json", "empty-response", "not-utf8", "not-an-object"}
    assert all(r["detail"] for r in rejects)
    assert "in 8 = out 3 + rejected 5" in proc.stderr.decode()


def test_segment_reads_stdin_and_gzip(tmp_path):
    gz = tmp_path / "s.jsonl.gz"
    gz.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run("segment", str(gz), "-o", str(a), "-q")
    run("segment", "-", "-o", str(b), "-q", "--rejects", str(tmp_path / "r.jsonl"), stdin=SAMPLE.read_bytes())
    assert a.read_bytes() == b.read_bytes()
    assert len(read_jsonl(a)) == 18


def test_segment_to_stdout():
    proc = run("segment", str(SAMPLE), "-o", "-", "-q", "--rejects", os.devnull)
    assert len(proc.stdout.decode().splitlines()) == 18


def test_unknown_layout_names_fields_and_flags(tmp_path):
    f = tmp_path / "weird.jsonl"
    f.write_text('{"foo": "x", "bar": {"baz": 1}}\n' * 3, encoding="utf-8")
    proc = run("segment", str(f), "-o", str(tmp_path / "o.jsonl"), "-q", check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 1
    assert "foo" in err and "bar" in err and "--response-field" in err
    assert "Traceback" not in err
    # ... and the flag makes it work
    run("segment", str(f), "-o", str(tmp_path / "o.jsonl"), "-q", "--response-field", "foo")
    assert len(read_jsonl(tmp_path / "o.jsonl")) == 3


def test_missing_file_is_a_clear_error(tmp_path):
    proc = run("segment", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "o.jsonl"), check=False)
    assert proc.returncode == 1
    assert "nope.jsonl" in proc.stderr.decode() and "Traceback" not in proc.stderr.decode()
    assert not (tmp_path / "o.jsonl").exists()


def test_show_marks_structure():
    proc = run("show", str(SAMPLE), "--index", "0", "--no-color", "--max-chars", "0")
    out = proc.stdout.decode()
    trace = dlcot.parse(json.loads(SAMPLE.read_text(encoding="utf-8").splitlines()[0])["code"][0])
    for s in trace.sections:
        assert s.kind in out
    assert "solution 1" in out
    assert f"final_answer={trace.final_answer!r}".replace("'", '"') in out
    assert "reference '50'" in out


def test_show_by_id_and_missing_id():
    proc = run("show", str(SAMPLE), "--id", "9#0", "--no-color")
    assert "id 9#0" in proc.stdout.decode()
    proc = run("show", str(SAMPLE), "--id", "no-such-id", check=False)
    assert proc.returncode == 1 and "no record with id" in proc.stderr.decode()


def test_stats_json_counts():
    proc = run("stats", str(SAMPLE), "--json")
    stats = json.loads(proc.stdout)
    assert stats["records"] == 18 and stats["traces"] == 18 and stats["rejected"] == 0
    assert stats["layouts"] == {"qwen-math-eval": 18}
    assert stats["formats"] == {"thought-solution": 18}
    assert 0.8 <= stats["share_with_final_answer"] <= 1.0
    assert abs(sum(stats["section_share_of_chars"].values()) - 1.0) < 1e-9
    # the looping 14B AIME trace is flagged
    assert stats["traces_with_issue"].get("repetition", 0) >= 1


@pytest.mark.skipif(not (DATA / "traces").exists(), reason="../shared/data not present")
def test_segment_every_real_file(tmp_path):
    files = sorted((DATA / "traces").iterdir())
    out = tmp_path / "all.jsonl"
    proc = run("segment", *map(str, files), "-o", str(out), "-q")
    rows = read_jsonl(out)
    assert len(rows) == 1965  # every trace of the developers' set (README of shared/data)
    assert read_jsonl(tmp_path / "all.rejects.jsonl") == []
    assert "in 1,965 = out 1,965 + rejected 0" in proc.stderr.decode()


def test_segment_memory_stays_flat(tmp_path):
    """Peak RSS of `dlcot segment` on ~60 MB of input stays far under 300 MB (it streams)."""
    line = SAMPLE.read_bytes().splitlines()[0] + b"\n"  # ~4 KB record
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as f:
        for _ in range(60_000_000 // len(line)):
            f.write(line)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork + exec, so a child of this
    # (large) pytest process would report the parent's peak
    script = (
        "import sys; from dlcot.cli import main; rc = main(sys.argv[1:]); "
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "segment", str(big), "-o", str(tmp_path / "o.jsonl"), "-q"],
        capture_output=True,
        timeout=600,
        check=True,
    )
    peak_mb = int(proc.stdout.decode().split()[-1]) / 1024
    assert 20 < peak_mb < 300, f"peak RSS {peak_mb:.0f} MB"


def test_segment_1e5_records_and_hostile_ones(tmp_path):
    """10^5 records (some empty, some binary garbage, some with unbalanced braces): every one is
    accounted for, in reasonable time."""
    import random

    rng = random.Random(0)
    f = tmp_path / "many.jsonl"
    kinds = Counter()
    with open(f, "wb") as out:
        for i in range(100_000):
            k = rng.random()
            if k < 0.01:
                out.write(b'{"id": %d, "response": ""}\n' % i)
                kinds["empty"] += 1
            elif k < 0.02:
                out.write(bytes(rng.randrange(256) for _ in range(40)).replace(b"\n", b" ") + b"\n")
                kinds["garbage"] += 1
            else:
                body = rng.choice(["x = 1. So the answer is 1.", "\\\\boxed{ {{ unbalanced", "Wait,\\n\\nAlternatively, \\\\boxed{2}"])
                out.write(b'{"id": %d, "response": "%s"}\n' % (i, body.encode()))
                kinds["ok"] += 1
    proc = run("segment", str(f), "-o", str(tmp_path / "o.jsonl"), "-q")
    rows, rejects = read_jsonl(tmp_path / "o.jsonl"), read_jsonl(tmp_path / "o.rejects.jsonl")
    assert len(rows) + len(rejects) == 100_000
    assert len(rows) == kinds["ok"]
    assert Counter(r["reason"] for r in rejects)["empty-response"] == kinds["empty"]
    assert "in 100,000 = out" in proc.stderr.decode()
