"""Every reader and every CLI command on every bad input file (tests/data/bad/).

The promise: a bad file gives either one clear error line (exit code 1, no traceback), or it is
processed with every record accounted for: ``records in == out + rejected`` exactly, each
rejected record with a reason. "In" is not what the command says it read: it is counted from
how the file was made (``make_bad.EXPECTED``, and for the truncated compressed files the
complete lines zlib / zstandard can decode), and "out" and "rejected" are the lines of the files
the command wrote.

The reader runs on each file as written, as a stream without a name (the format sniffed), and
gzip- and zstd-compressed; each CLI command runs in process (``dlcot.cli.main``) on each file,
and a few run as a user runs them (a subprocess, stdin included).
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dlcot import cli
from dlcot.io import REJECT_REASONS, LayoutError, Record, RecordReader

HERE = Path(__file__).resolve().parent
BAD = HERE / "data" / "bad"
ROOT = HERE.parent

_spec = importlib.util.spec_from_file_location("make_bad", BAD / "make_bad.py")
make_bad = importlib.util.module_from_spec(_spec)
_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ among the bad files
try:
    _spec.loader.exec_module(make_bad)  # type: ignore[union-attr]
finally:
    sys.dont_write_bytecode = _write

FILES = sorted(make_bad.EXPECTED)
SUMMARY = re.compile(r"in ([\d,]+) = out ([\d,]+) \+ rejected ([\d,]+)")


def test_every_file_is_known_and_generated_files_are_current():
    on_disk = {p.name for p in BAD.iterdir() if p.name not in ("README.md", "make_bad.py", "__pycache__")}
    assert on_disk == set(FILES)
    for name, make in make_bad.GENERATED.items():
        if name.endswith(".parquet"):
            continue  # the writer's version is in the file
        assert (BAD / name).read_bytes() == make(), f"{name} is stale: run python tests/data/bad/make_bad.py"


# -------------------------------------------------------------------------------------------
# readers


def _variants(name: str, tmp_path: Path):
    """(label, source) pairs: the file by path, as an anonymous stream, gzip- and zstd-compressed."""
    path = BAD / name
    yield "path", path
    yield "stream", io.BytesIO(path.read_bytes())
    if name.endswith((".jsonl", ".json")):
        import zstandard

        gz = tmp_path / (name + ".gz")
        gz.write_bytes(gzip.compress(path.read_bytes()))
        yield "gzip", gz
        zst = tmp_path / (name + ".zst")
        zst.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
        yield "zstd", zst


def check_items(items: list, expected: tuple[int, int], where: str) -> None:
    n_items, n_records = expected
    records = [r for r in items if isinstance(r, Record)]
    rejects = [r for r in items if not isinstance(r, Record)]
    assert (len(items), len(records)) == (n_items, n_records), where
    for j in rejects:
        assert j.reason in REJECT_REASONS and j.detail, (where, j)
    for r in records:
        assert isinstance(r.response, str) and r.response.strip(), (where, r)
    # every source index appears, in order
    indices = [it.index for it in items]
    assert indices == sorted(indices), where


@pytest.mark.parametrize("name", FILES)
def test_readers(name, tmp_path):
    expected = make_bad.expected(name)
    for label, source in _variants(name, tmp_path):
        where = f"{name} ({label})"
        if expected is None:
            with pytest.raises(LayoutError, match="--response-field"):
                list(RecordReader(source))
            continue
        reader = RecordReader(source)
        check_items(list(reader), expected, where)
        # a second pass over a path gives the same (dedup reads its input twice)
        if label != "stream":
            assert [(type(i).__name__, i.index) for i in RecordReader(source)] == [
                (type(i).__name__, i.index) for i in reader
            ], where


def test_huge_record_is_read_or_rejected_as_too_large(tmp_path):
    path = tmp_path / "huge.jsonl"
    make_bad.huge_record_file(path, 3)
    check_items(list(RecordReader(path)), (3, 3), "default limit")
    items = list(RecordReader(path, max_record_bytes=2**20))
    check_items(items, (3, 2), "1 MB limit")
    assert [i.reason for i in items if not isinstance(i, Record)] == ["too-large"]


# -------------------------------------------------------------------------------------------
# the CLI, in process


def lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]


def call(capsys, *argv: str) -> tuple[int, str, str]:
    """Runs ``dlcot ARGV`` in process: (exit code, stdout, stderr). An exception that escapes
    ``main`` is a traceback the user would see: the test fails with it."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    msg = [x for x in err.splitlines() if x.strip()]
    assert len(msg) == 1 and "Traceback" not in err, err
    return msg[0]


def check_summary(err: str, n_in: int, n_out: int, n_rej: int) -> None:
    m = SUMMARY.search(err)
    assert m, err
    assert tuple(int(x.replace(",", "")) for x in m.groups()) == (n_in, n_out, n_rej), err


def check_rejects(rows: list[dict]) -> None:
    for row in rows:
        assert isinstance(row.get("reason"), str) and row["reason"], row


@pytest.fixture(scope="module")
def bench_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("bench") / "bench.jsonl"
    p.write_text(json.dumps({"id": "b0", "problem": "What is 1 + 1?"}) + "\n", encoding="utf-8")
    return p


COMMANDS = ["segment", "verify", "show", "stats", "run", "dedup", "decontaminate", "decontaminate-against"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", FILES)
def test_cli(name, command, tmp_path, capsys, bench_file):
    expected = make_bad.expected(name)
    f = str(BAD / name)
    out = tmp_path / "out.jsonl"
    rej = tmp_path / "out.rejects.jsonl"
    if command == "decontaminate-against":  # the bad file as the benchmark
        code, _, err = call(capsys, "decontaminate", str(BAD / "crlf.jsonl"), "--against", f, "-o", str(out), "-q")
        if code != 0:
            assert code == 1 and one_error_line(err).startswith("error:")
        else:
            check_summary(err, 3, len(lines(out)), len(lines(rej)))
        return
    if expected is None:  # no layout: one error line naming the flags
        argv = {"segment": ["-o", str(out)], "verify": ["-o", str(out)], "run": ["-o", str(tmp_path / "run"), "--tokenizer", "none"],
                "dedup": ["-o", str(out)], "decontaminate": ["--against", str(bench_file), "-o", str(out)]}.get(command, [])  # fmt: skip
        code, _, err = call(capsys, command.split("-")[0], f, *argv)
        assert code == 1
        assert "--response-field" in one_error_line(err)
        assert not out.exists() and not rej.exists()  # nothing half-written
        return
    n_in, n_rec = expected
    n_bad = n_in - n_rec
    if command == "segment":
        code, _, err = call(capsys, "segment", f, "-o", str(out), "-q")
        assert code == 0
        assert len(lines(out)) == n_rec and len(lines(rej)) == n_bad
        check_summary(err, n_in, n_rec, n_bad)
        check_rejects(lines(rej))
    elif command == "verify":
        code, _, err = call(capsys, "verify", f, "-o", str(out), "-q", "--timeout", "1")
        assert code == 0
        assert len(lines(out)) == n_rec and len(lines(rej)) == n_bad
        check_summary(err, n_in, n_rec, n_bad)
        check_rejects(lines(rej))
    elif command == "show":
        code, stdout, err = call(capsys, "show", f, "--no-color", "--width", "100")
        if n_rec:
            assert code == 0 and stdout.strip()
        else:
            assert code == 1 and "no record" in one_error_line(err)
    elif command == "stats":
        code, stdout, _ = call(capsys, "stats", f, "--json")
        assert code == 0
        s = json.loads(stdout)
        assert (s["records"], s["traces"], s["rejected"]) == (n_in, n_rec, n_bad)
    elif command == "run":
        d = tmp_path / "run"
        code, _, err = call(capsys, "run", f, "-o", str(d), "--tokenizer", "none", "--no-symbolic", "--compare-policies", "0", "-q")
        assert code == 0, err
        sft, rejects = lines(d / "sft.jsonl"), lines(d / "rejects.jsonl")
        assert len(sft) + len(rejects) == n_in
        stats = json.loads((d / "stats.json").read_text(encoding="utf-8"))
        assert stats["records_in"] == n_in and stats["records_out"] == len(sft)
        assert sum(stats["rejected"].values()) == len(rejects)
        check_summary(err, n_in, len(sft), len(rejects))
        check_rejects(rejects)
        assert len(lines(d / "edits.jsonl")) == n_rec  # every read record, kept or rejected by the policy
    elif command == "dedup":
        code, _, err = call(capsys, "dedup", f, "-o", str(out), "-q")
        assert code == 0
        kept, rejects = lines(out), lines(rej)
        assert len(kept) + len(rejects) == n_in and len(kept) <= n_rec
        check_summary(err, n_in, len(kept), len(rejects))
        check_rejects(rejects)
        if name == "duplicate_ids.jsonl":  # the exact repeat of r1's text, nothing else
            assert [(r["id"], r["reason"]) for r in rejects] == [("r1", "near-duplicate")]
    elif command == "decontaminate":
        code, _, err = call(capsys, "decontaminate", f, "--against", str(bench_file), "-o", str(out), "-q")
        assert code == 0
        kept, rejects = lines(out), lines(rej)
        assert len(kept) + len(rejects) == n_in
        check_summary(err, n_in, len(kept), len(rejects))
        check_rejects(rejects)


def test_cli_huge_record(tmp_path, capsys):
    path = tmp_path / "huge.jsonl"
    make_bad.huge_record_file(path, 3)
    out = tmp_path / "s.jsonl"
    code, _, err = call(capsys, "segment", str(path), "-o", str(out), "-q", "--max-record-mb", "1")
    assert code == 0
    check_summary(err, 3, 2, 1)
    assert [r["reason"] for r in lines(tmp_path / "s.rejects.jsonl")] == ["too-large"]
    code, _, err = call(capsys, "segment", str(path), "-o", str(out), "-q")
    check_summary(err, 3, 3, 0)
    d = tmp_path / "run"
    code, _, err = call(capsys, "run", str(path), "-o", str(d), "--tokenizer", "none", "--no-symbolic", "--compare-policies", "0", "-q")
    assert code == 0 and len(lines(d / "sft.jsonl")) + len(lines(d / "rejects.jsonl")) == 3


@pytest.mark.parametrize(
    "argv",
    [
        ["segment", "{data}", "-o", "{tmp}/x.jsonl"],  # a directory as input
        ["run", "{data}", "-o", "{tmp}/run", "--tokenizer", "none"],
        ["segment", "{bad}/crlf.jsonl", "-o", "{tmp}"],  # a directory as output
        ["segment", "{bad}/crlf.jsonl", "-o", "{tmp}/x.jsonl", "--max-record-mb", "0"],
        ["dedup", "{bad}/crlf.jsonl", "-o", "{tmp}/x.jsonl", "--num-perm", "0"],
        ["dedup", "{bad}/crlf.jsonl", "-o", "{tmp}/x.jsonl", "--threshold", "2"],
        ["decontaminate", "{bad}/crlf.jsonl", "--against", "{bad}/crlf.jsonl", "-o", "{tmp}/x.jsonl", "--ngram", "0"],
        ["decontaminate", "{bad}/crlf.jsonl", "--against", "{bad}/empty.jsonl", "-o", "{tmp}/x.jsonl"],
        ["show", "{bad}/empty.jsonl"],
        ["show", "{bad}/crlf.jsonl", "--index", "99"],
        ["stats", "{tmp}/missing.jsonl"],
    ],
    ids=["dir-in", "run-dir-in", "dir-out", "max-mb-0", "num-perm-0", "threshold-2", "ngram-0", "empty-bench", "show-empty",
         "show-missing-index", "missing-file"],
)
def test_cli_errors_are_one_line(argv, tmp_path, capsys):
    argv = [a.format(data=HERE / "data", bad=BAD, tmp=tmp_path) for a in argv]
    code, _, err = call(capsys, *argv)
    assert code == 1
    one_error_line(err)
    assert not list(tmp_path.glob("*.tmp"))  # no half-written output left behind


# -------------------------------------------------------------------------------------------
# the CLI as a user runs it


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlcot.cli", *args], input=stdin, capture_output=True, timeout=300,
                          env={**os.environ, "COLUMNS": "60"}, check=False)  # fmt: skip


@pytest.mark.parametrize("name", ["truncated.jsonl.gz", "truncated.jsonl.zst", "invalid_utf8_line2.jsonl", "cut_array.json",
                                  "crlf_bom_array.json", "unknown_layout.jsonl", "empty.jsonl"])  # fmt: skip
def test_subprocess_stdin(name, tmp_path):
    """``-`` reads stdin: the same accounting, or the one error line, from a real process (on a
    60-column terminal: the line must not wrap)."""
    expected = make_bad.expected(name)
    out = tmp_path / "s.jsonl"
    proc = run_cli("segment", "-", "-o", str(out), "--rejects", str(tmp_path / "r.jsonl"), stdin=(BAD / name).read_bytes())
    err = proc.stderr.decode()
    assert "Traceback" not in err
    if expected is None:
        assert proc.returncode == 1 and len(err.strip().splitlines()) == 1 and err.startswith("error:")
        return
    assert proc.returncode == 0, err
    n_in, n_rec = expected
    assert len(err.strip().splitlines()) == 1
    check_summary(err, n_in, n_rec, n_in - n_rec)
    assert len(lines(out)) == n_rec and len(lines(tmp_path / "r.jsonl")) == n_in - n_rec


def test_subprocess_errors_have_no_traceback(tmp_path):
    for args in (["segment", str(HERE / "data"), "-o", str(tmp_path / "x.jsonl")],
                 ["decontaminate", str(BAD / "crlf.jsonl"), "--against", str(BAD / "mixed_layouts.jsonl"), "-o", str(tmp_path / "y.jsonl")],
                 ["stats", str(BAD / "unknown_layout.jsonl")]):  # fmt: skip
        proc = run_cli(*args)
        err = proc.stderr.decode()
        assert proc.returncode == 1 and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1 and err.startswith("error:"), err
