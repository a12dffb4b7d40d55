"""A run directory: ``dlcot run IN -o OUTDIR`` / ``Pipeline.run``.

Files written to ``OUTDIR``:

* ``sft.jsonl`` (or ``sft.parquet``): one record per kept trace, in the chosen format;
* ``edits.jsonl``: one line per readable record: status, every removed span (offsets into the
  original response), its kind and reason, labels, clusters, token and char counts;
* ``rejects.jsonl``: every record not in ``sft.jsonl``, with its reason (unreadable input,
  ``unsolvable``, ``no-reference``, ``no-problem``) and the record itself;
* ``stats.json`` and ``report.html``: computed at the end from ``edits.jsonl`` and
  ``rejects.jsonl``, so a resumed run reports exactly what an uninterrupted one does;
* ``checkpoint.json``: after every batch, the number of input items consumed and the byte size
  of each output, written after the outputs are flushed (write-then-rename). ``--resume``
  truncates each output to its checkpointed size (dropping any torn tail), skips the consumed
  items and carries on: nothing lost, nothing duplicated, and the same bytes as an
  uninterrupted run. No timestamps go into the outputs: the same input and options give
  byte-identical files.
"""

from __future__ import annotations

import json
import os
import time
from array import array
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import orjson

from dlcot.pipeline import Pipeline

CHECKPOINT = "checkpoint.json"
OUTPUTS = ("sft.jsonl", "edits.jsonl", "rejects.jsonl")
CHECKPOINT_VERSION = 1
#: Seconds between checkpoints (at batch ends; a rename costs milliseconds on a busy disk).
#: A killed run redoes at most this much work on --resume. DLCOT_CHECKPOINT_SECONDS overrides.
CHECKPOINT_SECONDS = float(os.environ.get("DLCOT_CHECKPOINT_SECONDS", "0.5"))


class RunError(RuntimeError):
    """A run directory cannot be used as asked (an earlier run there, a changed input, ...)."""


def _dump(obj: Any) -> bytes:
    """One JSON line: compact, non-ASCII kept (orjson; byte-identical to ``json.dumps(obj,
    ensure_ascii=False, separators=(",", ":"))``). Text orjson refuses (a lone surrogate from a
    ``\\ud800`` escape) is written ASCII-escaped, still valid JSON and UTF-8."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return (json.dumps(obj, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


def _write_atomic(path: Path, text: str, *, sync: bool = True) -> None:
    """Write-then-rename: a reader (or a resumed run) sees the old file or the new one, never
    a torn one. ``sync=False`` skips the fsync, for the per-batch checkpoints: a killed process
    leaves the kernel's page cache intact, so the rename alone is enough there (the outputs the
    checkpoint describes are not fsynced either; after a power loss a resume finds them short
    and refuses, it does not trust them)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
        if sync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def fingerprint(paths: Sequence[str]) -> list[dict]:
    """Path, size and mtime of each input, to check a resumed run reads the same files."""
    out = []
    for p in paths:
        st = os.stat(p)
        out.append({"path": os.path.abspath(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


def _items(paths: Sequence[str], reader_options: dict) -> Iterator[tuple[str, Any]]:
    from dlcot.io import RecordReader

    for path in paths:
        for item in RecordReader(path, **reader_options):
            yield path, item


def run(
    pipeline: Pipeline,
    paths: Sequence[str],
    output_dir: str | os.PathLike,
    *,
    resume: bool = False,
    overwrite: bool = False,
    batch_size: int = 512,
    reader_options: Optional[dict] = None,
    compare_policies: int = 1000,
    on_batch: Optional[Callable[[int, int, int], None]] = None,
) -> dict:
    """Runs ``pipeline`` over ``paths`` into ``output_dir``; returns the stats.

    Args:
        resume: Continue an interrupted run in ``output_dir`` (same inputs and options).
        overwrite: Start afresh even if ``output_dir`` holds a run.
        batch_size: Records per Rust batch call, and per checkpoint.
        reader_options: Passed to :class:`dlcot.io.RecordReader` (field overrides, size limit).
        compare_policies: Records (the first readable ones) on which every policy's reduction
            is measured for the report; 0 to skip.
        on_batch: Called after each batch with (items consumed, records kept, input bytes).
    """
    from dlcot.io import Record

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    reader_options = dict(reader_options or {})
    ck_path = out / CHECKPOINT
    state = {
        "version": CHECKPOINT_VERSION,
        "inputs": fingerprint(paths),
        "options": pipeline.options(),
        "reader_options": {k: v for k, v in sorted(reader_options.items())},
        "batch_size": batch_size,
        "consumed": 0,
        "sizes": {name: 0 for name in OUTPUTS},
        "done": False,
    }
    if ck_path.exists() and not overwrite:
        old = json.loads(ck_path.read_text(encoding="utf-8"))
        if not resume:
            raise RunError(f"{out} already holds a run ({'finished' if old.get('done') else 'interrupted'}); use --resume to continue it or --overwrite to start again")
        for key in ("inputs", "options", "reader_options", "batch_size"):
            if old.get(key) != state[key]:
                raise RunError(f"cannot resume in {out}: the {key.replace('_', ' ')} changed since the run started ({old.get(key)} -> {state[key]})")
        state = old
    elif resume and not ck_path.exists():
        raise RunError(f"nothing to resume in {out}: no {CHECKPOINT}")
    # outputs back to their checkpointed sizes (a kill may have left a torn tail)
    files = {}
    for name in OUTPUTS:
        p = out / name
        if not p.exists():
            p.touch()
        if p.stat().st_size < state["sizes"][name]:
            raise RunError(
                f"cannot resume in {out}: {name} is shorter ({p.stat().st_size:,} bytes) than the checkpoint says "
                f"({state['sizes'][name]:,}); the directory was changed since; use --overwrite to start again"
            )
        with open(p, "r+b") as f:
            f.truncate(state["sizes"][name])
        files[name] = open(p, "ab")
    _warm_report_imports()
    acc = Stats(pipeline)
    if state["consumed"]:  # a resumed or finished run: what is already written counts too
        acc.read(out)
    try:
        if not state["done"]:
            _process(pipeline, paths, reader_options, state, files, ck_path, on_batch, Record, acc)
    finally:
        for f in files.values():
            f.close()
    stats, plot = acc.finish()
    if compare_policies:
        stats["policies"] = compare(pipeline, paths, reader_options, compare_policies)
    _write_atomic(out / "stats.json", json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    from dlcot.report import write_report

    write_report(out / "report.html", stats, plot)
    if pipeline.format == "parquet":
        _to_parquet(out / "sft.jsonl", out / "sft.parquet")
    return stats


def _process(pipeline, paths, reader_options, state, files, ck_path, on_batch, Record, acc) -> None:
    """Reads, prunes and writes batch by batch. Two batches are in flight: while the Rust core
    prunes one (in a worker thread, the GIL released), the main thread reads the next and
    finishes and writes the previous (math-verify, judging and token counts stay in the main
    thread: math-verify's timeout needs it); outputs and checkpoints are written in input
    order, as before."""
    from concurrent.futures import ThreadPoolExecutor

    skip = state["consumed"]
    policy = pipeline.policy
    last_checkpoint = [time.monotonic()]

    def finish(batch: list, nbytes: int, records: list, future) -> None:
        results = iter(pipeline._complete(records, future.result()) if future is not None else ())
        sft: list[bytes] = []
        edits: list[bytes] = []
        rejects: list[bytes] = []
        kept = 0
        for path, it in batch:
            if not isinstance(it, Record):
                acc.add_reject(it.reason)
                rejects.append(_dump({"source": path, "index": it.index, "id": it.id, "reason": it.reason, "detail": it.detail, "raw": it.raw}))
                continue
            res = next(results)
            e = pipeline.edit_record(res)
            acc.add_edit(e)
            edits.append(_dump(e))
            if res.status == "kept":
                sft.append(_dump(pipeline.sft_record(res)))
                kept += 1
            else:
                acc.add_reject(res.status)
                rejects.append(
                    _dump(
                        {
                            "source": path,
                            "index": it.index,
                            "id": it.id,
                            "generation": it.generation,
                            "reason": res.status,
                            "detail": _reject_detail(res.status, policy),
                            "record": {"id": it.id, "problem": it.problem, "response": it.response, "answer": it.answer},
                        }
                    )
                )
        for name, lines in (("sft.jsonl", sft), ("edits.jsonl", edits), ("rejects.jsonl", rejects)):
            f = files[name]
            f.write(b"".join(lines))
            f.flush()
        state["consumed"] += len(batch)
        state["sizes"] = {name: f.tell() for name, f in files.items()}
        now = time.monotonic()
        if now - last_checkpoint[0] >= CHECKPOINT_SECONDS:
            _write_atomic(ck_path, json.dumps(state, indent=1) + "\n", sync=False)
            last_checkpoint[0] = now
        if on_batch is not None:
            on_batch(state["consumed"], kept, nbytes)

    def batches() -> Iterator[tuple[list, int]]:
        batch: list = []
        nbytes = 0
        consumed = 0
        for path, item in _items(paths, reader_options):
            consumed += 1
            if consumed <= skip:
                continue
            batch.append((path, item))
            if isinstance(item, Record):
                nbytes += len(item.response)
            if len(batch) >= state["batch_size"]:
                yield batch, nbytes
                batch, nbytes = [], 0
        if batch:
            yield batch, nbytes

    pool = ThreadPoolExecutor(1, thread_name_prefix="dlcot-prune")
    pending = None
    try:
        for batch, nbytes in batches():
            records = [it for _, it in batch if isinstance(it, Record)]
            future = pool.submit(pipeline._prune, records) if records else None
            if pending is not None:
                finish(*pending)
            pending = (batch, nbytes, records, future)
        if pending is not None:
            finish(*pending)
    except BaseException:
        # Ctrl-C or an error: record what is fully written (state is updated only after a
        # batch's lines are all out), so --resume redoes nothing that is already there
        pool.shutdown(wait=True, cancel_futures=True)
        _write_atomic(ck_path, json.dumps(state, indent=1) + "\n")
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    state["done"] = True
    _write_atomic(ck_path, json.dumps(state, indent=1) + "\n")


def _warm_report_imports() -> None:
    """Imports matplotlib (about 0.4 s) in a background thread while the batches run: the Rust
    core releases the GIL, so the import overlaps the work instead of adding to it."""
    import threading

    def load() -> None:
        try:
            import matplotlib.backends.backend_agg  # noqa: F401
            import matplotlib.figure  # noqa: F401
        except Exception:  # the report says what is missing when it is written
            pass

    threading.Thread(target=load, name="dlcot-import", daemon=True).start()


def _reject_detail(status: str, policy: str) -> str:
    return {
        "unsolvable": f"no solution reaches the reference answer; policy {policy!r} rejects such traces (--keep-unsolvable keeps them)",
        "no-reference": f"policy {policy!r} needs a reference answer to find the first correct solution, and the record has none",
        "no-problem": "the record has no problem text to put in the user turn",
    }.get(status, status)


def _to_parquet(src: Path, dst: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in src.read_text(encoding="utf-8").split("\n") if line]
    table = pa.Table.from_pylist(rows, schema=pa.schema([("id", pa.string()), ("prompt", pa.string()), ("completion", pa.string()), ("answer", pa.string())]))
    pq.write_table(table, dst)


# ---- stats ----------------------------------------------------------------------------------


def _quantiles(values, qs=(0.5, 0.9, 0.99)) -> dict:
    if not len(values):
        return {}
    v = sorted(values)
    return {f"p{int(q * 100)}": v[min(len(v) - 1, int(q * len(v)))] for q in qs} | {"mean": sum(v) / len(v), "max": v[-1]}


class Stats:
    """The run's statistics, accumulated record by record from the ``edits.jsonl`` lines and
    the reject reasons as they are written (or read back from a run directory), so a resumed
    run reports exactly what an uninterrupted one does. Per-record values are kept in compact
    arrays (8 bytes each) for the quantiles and the report's histograms."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.unit = "tokens" if pipeline.tokens is not None else "chars"
        self.n_kept = 0
        self.rejected: Counter = Counter()
        self.before_kept = self.after_kept = 0
        self.per_record = {k: array("q") for k in ("before", "after", "solutions", "checks", "first_correct")}
        self.reduction = array("d")
        self.removed_by_reason: Counter = Counter()
        self.removed_chars_by_reason: Counter = Counter()
        self.removed_by_kind: Counter = Counter()
        self.fallbacks = 0
        self.outcome_sum = self.process_sum = 0.0
        self.outcome_n = self.process_n = 0
        self.judge: Optional[Counter] = Counter() if getattr(pipeline, "judging", None) is not None else None

    def add_reject(self, reason: str) -> None:
        self.rejected[reason] += 1

    def add_edit(self, e: dict) -> None:
        j = e.get("judge")
        if j is not None and self.judge is not None:
            for k in ("calls", "cache_hits", "failures", "malformed", "tokens", "error_spans"):
                self.judge[k] += j.get(k, 0)
            self.judge["records_with_issues"] += bool(j.get("issues"))
        pr = self.per_record
        pr["solutions"].append(e["solutions"])
        pr["checks"].append(e["checks"])
        if e["first_correct"] is not None:
            pr["first_correct"].append(e["first_correct"])
        eff = e.get("efficiency") or {}
        if eff.get("tokens"):
            if "tokens_to_first_correct" in eff:
                self.outcome_sum += eff["tokens_to_first_correct"] / eff["tokens"]
                self.outcome_n += 1
            elif e["status"] != "no-reference":
                self.outcome_n += 1
            self.process_sum += min(1.0, eff.get("distinct_solution_tokens", 0) / eff["tokens"])
            self.process_n += 1
        if e["status"] != "kept":
            return
        self.n_kept += 1
        self.fallbacks += bool(e["fallback"])
        tokens = self.unit == "tokens"
        b = e["tokens_before"] if tokens else e["chars_before"]
        a = e["tokens_after"] if tokens else e["chars_after"]
        self.before_kept += b
        self.after_kept += a
        pr["before"].append(b)
        pr["after"].append(a)
        self.reduction.append(1 - a / b if b else 0.0)
        for ed in e["edits"]:
            reason = ed["reason"].split(":")[0]
            self.removed_by_reason[reason] += 1
            self.removed_chars_by_reason[reason] += ed["end"] - ed["start"]
            self.removed_by_kind[ed["kind"]] += 1

    def read(self, out: Path) -> None:
        """Adds what a run directory's ``edits.jsonl`` and ``rejects.jsonl`` hold."""
        with open(out / "edits.jsonl", "rb") as f:
            for line in f:
                self.add_edit(orjson.loads(line))
        with open(out / "rejects.jsonl", "rb") as f:
            for line in f:
                self.add_reject(orjson.loads(line)["reason"])

    def finish(self) -> tuple[dict, dict]:
        """(stats, per-record values for the report's plots)."""
        unit, pr = self.unit, self.per_record
        n_in = self.n_kept + sum(self.rejected.values())
        stats = {
            "policy": self.pipeline.policy,
            "options": self.pipeline.options(),
            "unit": unit,
            "records_in": n_in,
            "records_out": self.n_kept,
            "rejected": dict(sorted(self.rejected.items())),
            "answer_changed_fallbacks": self.fallbacks,
            f"{unit}_before": self.before_kept,
            f"{unit}_after": self.after_kept,
            "reduction": (1 - self.after_kept / self.before_kept) if self.before_kept else 0.0,
            "per_record": {
                f"{unit}_before": _quantiles(pr["before"]),
                f"{unit}_after": _quantiles(pr["after"]),
                "reduction": _quantiles(self.reduction),
                "solutions": _quantiles(pr["solutions"]),
                "checks": _quantiles(pr["checks"]),
                "first_correct": _quantiles(pr["first_correct"]),
            },
            "first_correct_histogram": dict(sorted(Counter(min(x, 10) for x in pr["first_correct"]).items())),
            "solutions_histogram": dict(sorted(Counter(min(x, 20) for x in pr["solutions"]).items())),
            "removed_parts_by_reason": dict(self.removed_by_reason.most_common()),
            "removed_chars_by_reason": dict(self.removed_chars_by_reason.most_common()),
            "removed_parts_by_kind": dict(self.removed_by_kind.most_common()),
            "outcome_efficiency": self.outcome_sum / self.outcome_n if self.outcome_n else None,
            "process_efficiency": self.process_sum / self.process_n if self.process_n else None,
            "efficiency_records": self.outcome_n,
        }
        if self.judge is not None:
            keys = ("calls", "cache_hits", "failures", "malformed", "tokens", "error_spans", "records_with_issues")
            stats["judge"] = {k: self.judge[k] for k in keys}
        return stats, {"before": pr["before"], "after": pr["after"], "reduction": self.reduction}


def compare(pipeline: Pipeline, paths, reader_options, limit: int) -> dict:
    """Every policy on the first ``limit`` readable records: kept records and reduction."""
    from dlcot.io import Record

    records = []
    for _, item in _items(paths, reader_options):
        if isinstance(item, Record):
            records.append(item)
            if len(records) >= limit:
                break
    out = {}
    for name in ("none", "dedup-only", "first-correct", "first-correct-reflect", "dlcot"):
        p = Pipeline(name, keep_unsolvable=pipeline.keep_unsolvable, threshold=pipeline.threshold, symbolic=pipeline.symbolic,
                     tokenizer=pipeline.tokens if pipeline.tokens is not None else "none", format="messages",
                     num_threads=pipeline.num_threads)
        res = p.process_batch(records)
        kept = [r for r in res if r.status == "kept"]
        unit = "tokens" if p.tokens is not None else "chars"
        b = sum((r.tokens_before if unit == "tokens" else r.pruned.chars_before) or 0 for r in kept)
        a = sum((r.tokens_after if unit == "tokens" else r.pruned.chars_after) or 0 for r in kept)
        out[name] = {
            "records": len(records),
            "kept": len(kept),
            f"{unit}_before": b,
            f"{unit}_after": a,
            "reduction": (1 - a / b) if b else 0.0,
        }
    return out
