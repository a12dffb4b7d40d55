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
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from dlcot.pipeline import Pipeline

CHECKPOINT = "checkpoint.json"
OUTPUTS = ("sft.jsonl", "edits.jsonl", "rejects.jsonl")
CHECKPOINT_VERSION = 1


class RunError(RuntimeError):
    """A run directory cannot be used as asked (an earlier run there, a changed input, ...)."""


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
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
        files[name] = open(p, "a", encoding="utf-8", newline="\n")
    try:
        if not state["done"]:
            _process(pipeline, paths, reader_options, batch_size, state, files, ck_path, on_batch, Record)
    finally:
        for f in files.values():
            f.close()
    stats, plot = compute_stats(out, pipeline, paths, reader_options, compare_policies)
    _write_atomic(out / "stats.json", json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    from dlcot.report import write_report

    write_report(out / "report.html", stats, plot)
    if pipeline.format == "parquet":
        _to_parquet(out / "sft.jsonl", out / "sft.parquet")
    return stats


def _process(pipeline, paths, reader_options, batch_size, state, files, ck_path, on_batch, Record) -> None:
    skip = state["consumed"]
    consumed = 0
    batch: list = []
    nbytes = 0

    def flush_batch() -> None:
        nonlocal batch, nbytes
        records = [(p, it) for p, it in batch if isinstance(it, Record)]
        results = pipeline.process_batch([it for _, it in records]) if records else []
        res_iter = iter(results)
        kept = 0
        for path, it in batch:
            if not isinstance(it, Record):
                files["rejects.jsonl"].write(
                    _dump({"source": path, "index": it.index, "id": it.id, "reason": it.reason, "detail": it.detail, "raw": it.raw}) + "\n"
                )
                continue
            res = next(res_iter)
            files["edits.jsonl"].write(_dump(pipeline.edit_record(res)) + "\n")
            if res.status == "kept":
                files["sft.jsonl"].write(_dump(pipeline.sft_record(res)) + "\n")
                kept += 1
            else:
                files["rejects.jsonl"].write(
                    _dump(
                        {
                            "source": path,
                            "index": it.index,
                            "id": it.id,
                            "generation": it.generation,
                            "reason": res.status,
                            "detail": _reject_detail(res.status, pipeline.policy),
                            "record": {"id": it.id, "problem": it.problem, "response": it.response, "answer": it.answer},
                        }
                    )
                    + "\n"
                )
        for f in files.values():
            f.flush()
        state["consumed"] += len(batch)
        state["sizes"] = {name: os.path.getsize(f.name) for name, f in files.items()}
        _write_atomic(ck_path, json.dumps(state, indent=1) + "\n")
        if on_batch is not None:
            on_batch(state["consumed"], kept, nbytes)
        batch = []
        nbytes = 0

    for path, item in _items(paths, reader_options):
        consumed += 1
        if consumed <= skip:
            continue
        batch.append((path, item))
        if isinstance(item, Record):
            nbytes += len(item.response)
        if len(batch) >= state["batch_size"]:
            flush_batch()
    if batch:
        flush_batch()
    state["done"] = True
    _write_atomic(ck_path, json.dumps(state, indent=1) + "\n")


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


def _quantiles(values: list, qs=(0.5, 0.9, 0.99)) -> dict:
    if not values:
        return {}
    v = sorted(values)
    return {f"p{int(q * 100)}": v[min(len(v) - 1, int(q * len(v)))] for q in qs} | {"mean": sum(v) / len(v), "max": v[-1]}


def compute_stats(out: Path, pipeline: Pipeline, paths, reader_options, compare_policies: int) -> tuple[dict, dict]:
    """Aggregates ``edits.jsonl`` and ``rejects.jsonl`` of a finished run: (stats, per-record
    values for the report's plots)."""
    n_in = n_kept = 0
    rejected: Counter = Counter()
    unit = "tokens" if pipeline.tokens is not None else "chars"
    before_kept = after_kept = 0
    per_record: dict[str, list] = {"before": [], "after": [], "reduction": [], "solutions": [], "checks": [], "first_correct": []}
    removed_by_reason: Counter = Counter()
    removed_chars_by_reason: Counter = Counter()
    removed_by_kind: Counter = Counter()
    fallbacks = 0
    outcome, process = [], []
    with open(out / "edits.jsonl", encoding="utf-8") as f:
        for line in f:
            e = json.loads(line)
            per_record["solutions"].append(e["solutions"])
            per_record["checks"].append(e["checks"])
            if e["first_correct"] is not None:
                per_record["first_correct"].append(e["first_correct"])
            eff = e.get("efficiency") or {}
            if eff.get("tokens"):
                if "tokens_to_first_correct" in eff:
                    outcome.append(eff["tokens_to_first_correct"] / eff["tokens"])
                elif e["status"] != "no-reference":
                    outcome.append(0.0)
                process.append(min(1.0, eff.get("distinct_solution_tokens", 0) / eff["tokens"]))
            if e["status"] != "kept":
                continue
            n_kept += 1
            fallbacks += bool(e["fallback"])
            b = e["tokens_before"] if unit == "tokens" else e["chars_before"]
            a = e["tokens_after"] if unit == "tokens" else e["chars_after"]
            before_kept += b
            after_kept += a
            per_record["before"].append(b)
            per_record["after"].append(a)
            per_record["reduction"].append(1 - a / b if b else 0.0)
            for ed in e["edits"]:
                reason = ed["reason"].split(":")[0]
                removed_by_reason[reason] += 1
                removed_chars_by_reason[reason] += ed["end"] - ed["start"]
                removed_by_kind[ed["kind"]] += 1
    with open(out / "rejects.jsonl", encoding="utf-8") as f:
        for line in f:
            rejected[json.loads(line)["reason"]] += 1
    n_in = n_kept + sum(rejected.values())
    stats = {
        "policy": pipeline.policy,
        "options": pipeline.options(),
        "unit": unit,
        "records_in": n_in,
        "records_out": n_kept,
        "rejected": dict(sorted(rejected.items())),
        "answer_changed_fallbacks": fallbacks,
        f"{unit}_before": before_kept,
        f"{unit}_after": after_kept,
        "reduction": (1 - after_kept / before_kept) if before_kept else 0.0,
        "per_record": {
            f"{unit}_before": _quantiles(per_record["before"]),
            f"{unit}_after": _quantiles(per_record["after"]),
            "reduction": _quantiles(per_record["reduction"]),
            "solutions": _quantiles(per_record["solutions"]),
            "checks": _quantiles(per_record["checks"]),
            "first_correct": _quantiles(per_record["first_correct"]),
        },
        "first_correct_histogram": dict(sorted(Counter(min(x, 10) for x in per_record["first_correct"]).items())),
        "solutions_histogram": dict(sorted(Counter(min(x, 20) for x in per_record["solutions"]).items())),
        "removed_parts_by_reason": dict(removed_by_reason.most_common()),
        "removed_chars_by_reason": dict(removed_chars_by_reason.most_common()),
        "removed_parts_by_kind": dict(removed_by_kind.most_common()),
        "outcome_efficiency": sum(outcome) / len(outcome) if outcome else None,
        "process_efficiency": sum(process) / len(process) if process else None,
        "efficiency_records": len(outcome),
        "_hist": {k: per_record[k] for k in ("before", "after", "reduction")},
    }
    if compare_policies:
        stats["policies"] = compare(pipeline, paths, reader_options, compare_policies)
    plot = stats.pop("_hist")
    return stats, plot


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
