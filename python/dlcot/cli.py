"""The ``dlcot`` command line.

Commands:

* ``dlcot run IN -o OUTDIR``: the main job: prune every trace by a policy and write SFT data,
  edits, rejects, stats and a report.
* ``dlcot segment IN -o OUT.jsonl``: the structure of every trace as JSON lines.
* ``dlcot show IN [--id ID | --index N]``: one trace in the terminal, sections, solutions and
  checks marked.
* ``dlcot stats IN``: corpus statistics.
* ``dlcot dedup IN -o OUT.jsonl``: one record per cluster of near-duplicates (MinHash + LSH).
* ``dlcot decontaminate IN --against BENCH.jsonl -o OUT.jsonl``: drop records that contain a
  benchmark problem.

Every command reads JSONL (plain, .gz, .zst), whole-JSON files and Parquet, or ``-`` for stdin,
with the record layout auto-detected (see :mod:`dlcot.io`). Every input record ends up in the
output or in the rejects file with a reason, and the summary line says ``in = out + rejected``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO, Iterable, Iterator, Optional, Sequence

from dlcot import __version__
from dlcot import cli_models

# Exit codes: 0 ok, 1 runtime failure (bad input file), 2 usage error (argparse's own).
EXIT_FAILURE = 1


def _add_input_args(p: argparse.ArgumentParser, *, many: bool = False) -> None:
    if many:
        p.add_argument("inputs", nargs="+", metavar="IN", help="input files (JSONL[.gz|.zst], JSON, Parquet) or - for stdin")
    else:
        p.add_argument("input", metavar="IN", help="input file (JSONL[.gz|.zst], JSON, Parquet) or - for stdin")
    g = p.add_argument_group("record layout (auto-detected; these override it, dotted paths allowed)")
    g.add_argument("--problem-field", metavar="PATH", help="e.g. question, or messages")
    g.add_argument("--response-field", metavar="PATH", help="e.g. model_answers.thinking_model or code.0")
    g.add_argument("--answer-field", metavar="PATH", help="reference answer or reference solution, e.g. gt")
    g.add_argument("--id-field", metavar="PATH", help="record id, e.g. idx")
    g.add_argument(
        "--max-record-mb", type=float, default=64.0, metavar="MB", help="records larger than this are rejected (default 64)"
    )


def _reader(path: str, args: argparse.Namespace):
    from dlcot.io import RecordReader

    return RecordReader(
        path,
        problem_field=args.problem_field,
        response_field=args.response_field,
        answer_field=args.answer_field,
        id_field=args.id_field,
        max_record_bytes=int(args.max_record_mb * 2**20),
    )


def _policy_names() -> list[str]:
    from dlcot._core import policies

    return [name for name, _ in policies()]


def _threads(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("--num-threads must be at least 1")
    return n


def _console(stderr: bool = True):
    from rich.console import Console

    # soft_wrap: a summary or error line stays one line (for logs and grep), however narrow the terminal
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


class _Progress:
    """A rich progress bar over bytes read (MB/s) and records/s, on stderr, only on a terminal."""

    def __init__(self, enabled: bool, description: str):
        self.enabled = enabled and sys.stderr.isatty()
        self.description = description
        self._p = None

    def __enter__(self) -> "_Progress":
        if self.enabled:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._p = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TextColumn("{task.fields[records]:,} records ({task.fields[rate]:,.0f}/s)"),
                TextColumn("{task.fields[extra]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=_console(),
                transient=False,
            )
            self._p.__enter__()
        self._task = None
        self._t0 = time.perf_counter()
        return self

    def start_file(self, name: str, total: int | None) -> None:
        if self._p is not None:
            self._task = self._p.add_task(f"{self.description} {name}", total=total, records=0, rate=0.0, extra="")

    def update(self, bytes_done: int, records: int, extra: str = "") -> None:
        if self._p is not None and self._task is not None:
            rate = records / max(time.perf_counter() - self._t0, 1e-9)
            self._p.update(self._task, completed=bytes_done, records=records, rate=rate, extra=extra)

    def __exit__(self, *exc) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)


class _AtomicWriter:
    """Writes to ``PATH.tmp`` and renames it to ``PATH`` on success, so a crash never leaves a
    half-written output that looks complete. ``-`` writes to stdout."""

    def __init__(self, path: str):
        self.path = path
        self._f: IO[str]
        if path == "-":
            self._f = sys.stdout
            self._tmp = None
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._tmp = f"{path}.tmp"
            self._f = open(self._tmp, "w", encoding="utf-8", newline="\n")

    def write(self, s: str) -> None:
        self._f.write(s)

    def commit(self) -> None:
        if self._tmp is not None:
            self._f.close()
            os.replace(self._tmp, self.path)
        else:
            self._f.flush()

    def abort(self) -> None:
        if self._tmp is not None:
            self._f.close()
            try:
                os.unlink(self._tmp)
            except OSError:
                pass


def _writers(args: argparse.Namespace) -> tuple["_AtomicWriter", "_AtomicWriter", str]:
    """The output and rejects writers of a command (``-o``, ``--rejects``), and the rejects path."""
    rej_path = _rejects_path(args.output, args.rejects)
    return _AtomicWriter(args.output), _AtomicWriter(rej_path), rej_path


@contextlib.contextmanager
def _committed(*writers: "_AtomicWriter") -> Iterator[None]:
    """Commits every writer when the block succeeds; aborts them all if it raises."""
    try:
        yield
    except BaseException:
        for w in writers:
            w.abort()
        raise
    for w in writers:
        w.commit()


def _rejects_path(out: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    if out == "-":
        return "rejects.jsonl"
    p = Path(out)
    name = p.name
    for suffix in (".jsonl", ".json", ".ndjson"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return str(p.with_name(name + ".rejects.jsonl"))


def _reject_line(rej, source: str) -> str:
    return json.dumps(
        {"source": source, "index": rej.index, "id": rej.id, "reason": rej.reason, "detail": rej.detail, "raw": rej.raw},
        ensure_ascii=True,  # raw input may hold anything; keep each reject on one plain-ASCII line
    )


def _input_batches(args: argparse.Namespace, rej: "_AtomicWriter | None", what: str) -> Iterator[tuple[list, list]]:
    """Every input of ``args.inputs`` in batches of (records, rejects), with the rejects already
    written to ``rej`` (unless None: a second pass over the same input) and a progress bar
    advanced after each batch."""
    for _, records, rejects in _sourced_batches(args, rej, what):
        yield records, rejects


def _sourced_batches(args: argparse.Namespace, rej: "_AtomicWriter | None", what: str) -> Iterator[tuple[str, list, list]]:
    """:func:`_input_batches` with the input path of each batch."""
    from dlcot.io import Record

    seen = 0
    with _Progress(not args.quiet, what) as progress:
        for path in args.inputs:
            reader = _reader(path, args)
            progress.start_file(Path(path).name if path != "-" else "stdin", reader.total_bytes)
            for batch in _batches(reader, args.batch_size):
                records = [r for r in batch if isinstance(r, Record)]
                rejects = [r for r in batch if not isinstance(r, Record)]
                if rej is not None:
                    for r in rejects:
                        rej.write(_reject_line(r, path) + "\n")
                seen += len(batch)
                yield path, records, rejects
                progress.update(reader.bytes_read, seen)


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for it in items:
        batch.append(it)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ---------------------------------------------------------------------------------------------
# segment


def cmd_segment(args: argparse.Namespace) -> int:
    import dlcot

    console = _console()
    out, rej, rej_path = _writers(args)
    n_in = n_out = n_rej = 0
    nbytes = 0
    reasons: Counter = Counter()
    t0 = time.perf_counter()
    with _committed(out, rej):
        for records, rejects in _input_batches(args, rej, "segment"):
            reasons.update(r.reason for r in rejects)
            n_rej += len(rejects)
            n_in += len(records) + len(rejects)
            if not records:
                continue
            structures = dlcot.parse_batch_json(
                [r.response for r in records],
                problems=[r.problem for r in records],
                references=[r.answer for r in records],
                num_threads=args.num_threads,
            )
            refs = [dlcot.extract_reference(r.answer) if r.answer is not None else None for r in records]
            for r, s, ref in zip(records, structures, refs):
                head = {"id": r.id, "index": r.index, "generation": r.generation, "layout": r.layout, "reference": ref}
                # splice the core's JSON object into the record head without re-parsing it
                out.write(json.dumps(head, ensure_ascii=False)[:-1] + "," + s[1:] + "\n")
                nbytes += len(r.response.encode("utf-8", "surrogatepass"))
            n_out += len(records)
    dt = time.perf_counter() - t0
    why = ", ".join(f"{k}: {v}" for k, v in reasons.most_common()) or "none"
    console.print(
            f"[bold]segment[/]: in {n_in:,} = out {n_out:,} + rejected {n_rej:,} ({why}); "
            f"{nbytes / 1e6:,.1f} MB of responses in {dt:,.2f} s ({nbytes / 1e6 / max(dt, 1e-9):,.1f} MB/s). "
            f"Output: {args.output}; rejects: {rej_path}"
        )
    assert n_in == n_out + n_rej
    return 0


# ---------------------------------------------------------------------------------------------
# verify


def cmd_verify(args: argparse.Namespace) -> int:
    import dlcot

    console = _console()
    out, rej, rej_path = _writers(args)
    n_in = n_out = n_rej = 0
    outcome: Counter = Counter()
    paths: Counter = Counter()
    t0 = time.perf_counter()
    with _committed(out, rej):
        for records, rejects in _input_batches(args, rej, "verify"):
            n_rej += len(rejects)
            n_in += len(records) + len(rejects)
            traces = dlcot.parse_batch(
                [r.response for r in records],
                problems=[r.problem for r in records],
                references=[r.answer for r in records],
                num_threads=args.num_threads,
            )
            # the final answers, decided in one batch (fast path, then math-verify)
            todo = [(i, t.final_answer, r.answer) for i, (r, t) in enumerate(zip(records, traces))]
            todo = [(i, a, ref) for i, a, ref in todo if a is not None and ref is not None]
            verdicts, how = dlcot.verify_batch([(a, ref) for _, a, ref in todo], timeout=args.timeout)
            final = {i: (v, h) for (i, _, _), v, h in zip(todo, verdicts, how)}
            for i, (r, t) in enumerate(zip(records, traces)):
                if r.answer is None:
                    correct, decided = None, "no-reference"
                elif t.final_answer is None:
                    correct, decided = False, "no-answer"
                else:
                    correct, decided = final[i]
                labels = dlcot.label_solutions(t, r.answer, timeout=args.timeout) if r.answer is not None else []
                row = {
                    "id": r.id,
                    "index": r.index,
                    "generation": r.generation,
                    "reference": dlcot.extract_reference(r.answer) if r.answer is not None else None,
                    "final_answer": t.final_answer,
                    "correct": correct,
                    "decided_by": decided,
                    "solutions": [
                        {"index": s.index, "start": s.start, "end": s.end, "answer": s.answer, "label": lab}
                        for s, lab in zip(t.solutions, labels)
                    ],
                    "first_correct": dlcot.first_correct(labels) if labels else None,
                }
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                outcome["correct" if correct else ("unknown" if correct is None else "incorrect")] += 1
                paths[decided] += 1
            n_out += len(records)
    dt = time.perf_counter() - t0
    judged = outcome["correct"] + outcome["incorrect"]
    acc = f"{outcome['correct'] / judged:.1%}" if judged else "n/a"
    console.print(
        f"[bold]verify[/]: in {n_in:,} = out {n_out:,} + rejected {n_rej:,}; final answers correct {outcome['correct']:,}"
        f" / {judged:,} ({acc}), no reference {outcome['unknown']:,}; decided by "
        + ", ".join(f"{k} {v:,}" for k, v in paths.most_common())
        + f"; {dt:,.2f} s. Output: {args.output}; rejects: {rej_path}"
    )
    return 0


# ---------------------------------------------------------------------------------------------
# dedup and decontaminate


def _record_json(r) -> dict:
    return {"id": r.id, "problem": r.problem, "response": r.response, "answer": r.answer}


def _field_of(r, field: str) -> Optional[str]:
    return r.problem if field == "problem" else r.response


def cmd_dedup(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    import numpy as np

    import dlcot

    if "-" in args.inputs:
        _console().print("[red]error:[/] dedup reads its input twice (hash, then write); give a file, not - (stdin)")
        return EXIT_FAILURE
    for path in args.inputs:
        if not os.path.exists(path):
            raise FileNotFoundError(path)
    console = _console()
    hasher = dlcot.MinHasher(num_perm=args.num_perm, ngram=args.ngram, unit=args.unit, seed=args.seed)
    spill_root = args.spill_dir or str(Path(args.output).parent if args.output != "-" else Path("."))
    Path(spill_root).mkdir(parents=True, exist_ok=True)
    spill = tempfile.mkdtemp(prefix="dlcot-dedup-", dir=spill_root)
    out, rej, rej_path = _writers(args)
    n_in = n_out = n_dup = n_missing = 0
    reasons: Counter = Counter()
    t0 = time.perf_counter()
    with _committed(out, rej):
        try:
            lsh = dlcot.LSH(threshold=args.threshold, num_perm=args.num_perm, spill_dir=spill)
            # pass 1: hash the field of every record (in input order) into the spilled index
            for records, rejects in _input_batches(args, rej, "dedup: hashing"):
                reasons.update(r.reason for r in rejects)
                n_in += len(records) + len(rejects)
                texts = [t for t in (_field_of(r, args.field) for r in records) if t is not None]
                if texts:
                    lsh.insert(hasher.signatures(texts, num_threads=args.num_threads), num_threads=args.num_threads)
            cluster_id, keep = lsh.clusters(num_threads=args.num_threads)
            del lsh
            shutil.rmtree(spill, ignore_errors=True)
            # ids of the kept record of every cluster that has duplicates (roots come first)
            need = set(np.unique(cluster_id[~keep]).tolist())
            kept_id: dict[int, str] = {}
            j = 0  # index among records that have the field
            for path, records, _ in _sourced_batches(args, None, "dedup: writing"):
                for r in records:
                    text = _field_of(r, args.field)
                    if text is None:
                        n_missing += 1
                        out.write(json.dumps(_record_json(r), ensure_ascii=False) + "\n")
                        n_out += 1
                        continue
                    if keep[j]:
                        if j in need:
                            kept_id[j] = r.id
                        out.write(json.dumps(_record_json(r), ensure_ascii=False) + "\n")
                        n_out += 1
                    else:
                        root = int(cluster_id[j])
                        line = {
                            "source": path,
                            "index": r.index,
                            "id": r.id,
                            "generation": r.generation,
                            "reason": "near-duplicate",
                            "detail": f"{args.field} is a near-duplicate (Jaccard >= {args.threshold}) of record {kept_id[root]!r}",
                            "duplicate_of": kept_id[root],
                            "cluster": root,
                            "record": _record_json(r),
                        }
                        rej.write(json.dumps(line, ensure_ascii=False) + "\n")
                        n_dup += 1
                    j += 1
        finally:
            shutil.rmtree(spill, ignore_errors=True)
    dt = time.perf_counter() - t0
    if n_dup:
        reasons["near-duplicate"] = n_dup
    why = ", ".join(f"{k}: {v:,}" for k, v in reasons.most_common()) or "none"
    clusters = len(np.unique(cluster_id[~keep])) if n_dup else 0
    console.print(
        f"[bold]dedup[/] on {args.field}: in {n_in:,} = out {n_out:,} + rejected {sum(reasons.values()):,}"
        f" ({why}); {clusters:,} clusters had duplicates"
        + (f"; {n_missing:,} records without a {args.field} kept unchecked" if n_missing else "")
        + f"; {dt:,.2f} s. Output: {args.output}; rejects: {rej_path}"
    )
    assert n_in == n_out + sum(reasons.values())
    return 0


_BENCH_FIELDS = ("problem", "question", "prompt", "input", "instruction")


def _read_benchmark(path: str, field: Optional[str]) -> list:
    """(name, id, text) of every item of a benchmark file; the text field is auto-detected."""
    from dlcot.io import Record, RecordReader

    if field is None:
        for cand in _BENCH_FIELDS:
            try:
                items = list(RecordReader(path, problem_field=cand, response_field=cand))
            except Exception:
                continue
            recs = [r for r in items if isinstance(r, Record)]
            if recs and len(recs) >= len(items) // 2:
                field = cand
                break
        else:
            raise ValueError(f"cannot find the problem text in {path}: none of {', '.join(_BENCH_FIELDS)}; name it with --against-field")
    items = [r for r in RecordReader(path, problem_field=field, response_field=field) if isinstance(r, Record)]
    name = Path(path).name
    for suffix in (".jsonl", ".json", ".parquet", ".gz", ".zst"):
        name = name.removesuffix(suffix)
    return [(name, r.id, r.problem or r.response) for r in items]


def cmd_decontaminate(args: argparse.Namespace) -> int:
    import dlcot

    console = _console()
    bench: list = []
    for path in args.against:
        if not os.path.exists(path):
            raise FileNotFoundError(path)
        bench.extend(_read_benchmark(path, args.against_field))
    if not bench:
        console.print("[red]error:[/] the --against files hold no benchmark items")
        return EXIT_FAILURE
    decon = dlcot.Decontaminator(
        [t for _, _, t in bench],
        method=args.method,
        ngram=args.ngram,
        min_overlap=args.min_overlap,
        threshold=args.threshold,
        num_threads=args.num_threads,
    )
    out, rej, rej_path = _writers(args)
    n_in = n_out = n_hit = n_missing = 0
    reasons: Counter = Counter()
    per_bench: Counter = Counter()
    items_hit: set = set()
    t0 = time.perf_counter()
    with _committed(out, rej):
        for path, records, rejects in _sourced_batches(args, rej, "decontaminate"):
            reasons.update(r.reason for r in rejects)
            n_in += len(records) + len(rejects)
            texts = [_field_of(r, args.field) for r in records]
            present = [t for t in texts if t is not None]
            found = iter(decon.matches(present)) if present else iter(())
            for r, text in zip(records, texts):
                ms = next(found) if text is not None else []
                if text is None:
                    n_missing += 1
                if not ms:
                    out.write(json.dumps(_record_json(r), ensure_ascii=False) + "\n")
                    n_out += 1
                    continue
                matched = [
                    {
                        "benchmark": bench[m.index][0],
                        "id": bench[m.index][1],
                        "overlap": round(m.overlap, 4),
                        "shared_ngrams": m.shared,
                        "problem": bench[m.index][2][:300],
                    }
                    for m in ms[:5]
                ]
                top = matched[0]
                line = {
                    "source": path,
                    "index": r.index,
                    "id": r.id,
                    "generation": r.generation,
                    "reason": "contaminated",
                    "detail": f"{args.field} contains {top['benchmark']} item {top['id']!r} (overlap {top['overlap']:.2f})",
                    "matched": matched,
                    "record": _record_json(r),
                }
                rej.write(json.dumps(line, ensure_ascii=False) + "\n")
                n_hit += 1
                per_bench[top["benchmark"]] += 1
                items_hit.update((bench[m.index][0], bench[m.index][1]) for m in ms)
    dt = time.perf_counter() - t0
    if n_hit:
        reasons["contaminated"] = n_hit
    why = ", ".join(f"{k}: {v:,}" for k, v in reasons.most_common()) or "none"
    by = ", ".join(f"{k} {v:,}" for k, v in per_bench.most_common()) or "none"
    console.print(
        f"[bold]decontaminate[/] {args.field} against {len(bench):,} benchmark items ({args.method}): "
        f"in {n_in:,} = out {n_out:,} + rejected {sum(reasons.values()):,} ({why}); contaminated by benchmark: {by}; "
        f"{len(items_hit):,} benchmark items seen in the data"
        + (f"; {n_missing:,} records without a {args.field} kept unchecked" if n_missing else "")
        + f"; {dt:,.2f} s. Output: {args.output}; rejects: {rej_path}"
    )
    if args.report:
        report = {
            "records_in": n_in,
            "records_out": n_out,
            "rejected": dict(reasons),
            "contaminated_by_benchmark": dict(per_bench),
            "benchmark_items": len(bench),
            "benchmark_items_seen": sorted([list(x) for x in items_hit]),
            "method": args.method,
            "ngram": args.ngram,
            "min_overlap": args.min_overlap,
        }
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    assert n_in == n_out + sum(reasons.values())
    return 0


# ---------------------------------------------------------------------------------------------
# run


def cmd_run(args: argparse.Namespace) -> int:
    from rich.markup import escape

    import dlcot
    from dlcot.run import RunError

    console = _console()
    for path in args.inputs:
        if path == "-":
            console.print("[red]error:[/] run needs files it can reopen to resume and to compare policies; give a file, not - (stdin)")
            return EXIT_FAILURE
        if not os.path.exists(path):
            raise FileNotFoundError(path)
    try:
        judging = _judging(args)
        pipe = dlcot.Pipeline(
            args.policy,
            keep_unsolvable=args.keep_unsolvable,
            threshold=args.threshold,
            symbolic=not args.no_symbolic,
            tokenizer=args.tokenizer,
            format=args.format,
            num_threads=args.num_threads,
            judging=judging,
            smooth_joins=args.smooth_joins,
        )
    except (ValueError, FileNotFoundError, ImportError) as e:
        console.print(f"[red]error:[/] {escape(str(e))}")
        return EXIT_FAILURE
    if pipe.tokens is None and args.tokenizer is None:
        console.print("[yellow]note:[/] no default tokenizer installed; sizes are reported in chars (--tokenizer PATH for tokens)")
    reader_options = reader_options_of(args)
    t0 = time.perf_counter()
    seen = {"bytes": 0}
    with _Progress(not args.quiet, "run") as progress:
        progress.start_file(", ".join(Path(p).name for p in args.inputs) + " (MB of responses)", None)

        def on_batch(consumed: int, kept: int, nbytes: int) -> None:
            seen["bytes"] += nbytes
            extra = ""
            if judging is not None:
                js = judging.stats
                extra = f"judge: {js.calls:,} calls, {js.cache_hits:,} cached, {js.failures:,} failed, {js.tokens:,} tokens"
            progress.update(seen["bytes"], consumed, extra)

        try:
            stats = pipe.run(
                args.inputs,
                args.output,
                resume=args.resume,
                overwrite=args.overwrite,
                batch_size=args.batch_size,
                reader_options=reader_options,
                compare_policies=args.compare_policies,
                on_batch=on_batch,
            )
        except RunError as e:
            console.print(f"[red]error:[/] {escape(str(e))}")
            return EXIT_FAILURE
        finally:
            if judging is not None:
                judging.close()
    dt = time.perf_counter() - t0
    unit = stats["unit"]
    why = ", ".join(f"{k}: {v:,}" for k, v in stats["rejected"].items()) or "none"
    console.print(
        f"[bold]run[/] ({stats['policy']}): in {stats['records_in']:,} = out {stats['records_out']:,} + rejected "
        f"{sum(stats['rejected'].values()):,} ({why}); {unit} of kept traces {stats[unit + '_before']:,} -> "
        f"{stats[unit + '_after']:,} ({stats['reduction']:.1%} removed); {dt:,.2f} s "
        f"({seen['bytes'] / 1e6 / max(dt, 1e-9):,.1f} MB/s of responses this session). Output: {args.output}/"
        " (sft.jsonl, edits.jsonl, rejects.jsonl, stats.json, report.html)"
    )
    if judging is not None:
        js = stats.get("judge", {})
        console.print(
            f"[bold]judge[/]: {js.get('calls', 0):,} calls, {js.get('cache_hits', 0):,} from the cache, {js.get('failures', 0):,} failed "
            f"and {js.get('malformed', 0):,} malformed (the rules decided those), {js.get('tokens', 0):,} tokens, "
            f"{js.get('error_spans', 0):,} wrong steps placed"
        )
    return 0


def _judging(args: argparse.Namespace):
    """The judging layer the run options ask for, or None (rules only)."""
    wants = args.cluster != "lexical" or args.judge_url or args.judge_local or args.fix_errors or args.smooth_joins
    if not wants:
        return None
    if args.judge_url and args.judge_local:
        raise ValueError("give --judge-url or --judge-local, not both")
    if (args.fix_errors or args.smooth_joins) and not (args.judge_url or args.judge_local):
        raise ValueError("--fix-errors and --smooth-joins need a judge: --judge-url URL --judge-model NAME, or --judge-local PATH")
    if args.judge_url and not args.judge_model:
        raise ValueError("--judge-url needs --judge-model (the model name the endpoint serves)")
    if args.judge_concurrency < 1:
        raise ValueError("--judge-concurrency must be at least 1")
    if args.judge_retries < 0 or not args.judge_timeout > 0:
        raise ValueError("--judge-retries must be >= 0 and --judge-timeout > 0")
    from dlcot.judge import HTTPJudge, Judging, LocalJudge

    judge = None
    if args.judge_url:
        judge = HTTPJudge(
            args.judge_url,
            args.judge_model,
            api_key_env=args.judge_key_env,
            concurrency=args.judge_concurrency,
            timeout=args.judge_timeout,
            retries=args.judge_retries,
        )
    elif args.judge_local:
        judge = LocalJudge(args.judge_local)
    cache = args.judge_cache or os.path.join(args.output, "judge.sqlite")
    os.makedirs(os.path.dirname(os.path.abspath(cache)), exist_ok=True)
    return Judging(
        args.cluster, judge=judge, fix_errors=args.fix_errors, cache=cache, templates=args.judge_templates, threshold=args.threshold
    )


# ---------------------------------------------------------------------------------------------
# stats


def _percentiles(values: Sequence[float], qs=(50, 90, 99)) -> list[float]:
    if not values:
        return [0.0 for _ in qs]
    v = sorted(values)
    return [v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))] for q in qs]


def collect_stats(paths: Sequence[str], args: argparse.Namespace) -> dict:
    """Corpus statistics over every record of ``paths`` (what ``dlcot stats`` prints)."""
    import dlcot
    from dlcot.io import Record

    lengths: list[int] = []
    n_sol: list[int] = []
    n_chk: list[int] = []
    layouts: Counter = Counter()
    formats: Counter = Counter()
    issues: Counter = Counter()
    traces_with_issue: Counter = Counter()
    section_chars: Counter = Counter()
    rejects: Counter = Counter()
    with_answer = with_reference = 0
    n_records = 0
    for path in paths:
        reader = _reader(path, args)
        for batch in _batches(reader, args.batch_size):
            recs = [r for r in batch if isinstance(r, Record)]
            for r in batch:
                if not isinstance(r, Record):
                    rejects[r.reason] += 1
            n_records += len(batch)
            traces = dlcot.parse_batch(
                [r.response for r in recs], problems=[r.problem for r in recs], num_threads=args.num_threads
            )
            for r, t in zip(recs, traces):
                layouts[r.layout] += 1
                formats[t.format] += 1
                lengths.append(len(t))
                n_sol.append(len(t.solutions))
                n_chk.append(len(t.checks))
                with_answer += t.final_answer is not None
                with_reference += r.answer is not None
                kinds = [i.kind for i in t.issues]
                issues.update(kinds)
                traces_with_issue.update(set(kinds))
                for s in t.sections:
                    section_chars[s.kind] += s.end - s.start
    n = len(lengths)
    total_chars = sum(lengths) or 1

    def dist(v: Sequence[int]) -> dict:
        p50, p90, p99 = _percentiles(v)
        return {
            "mean": (sum(v) / len(v)) if v else 0.0,
            "p50": p50,
            "p90": p90,
            "p99": p99,
            "max": max(v) if v else 0,
        }

    return {
        "records": n_records,
        "traces": n,
        "rejected": sum(rejects.values()),
        "reject_reasons": dict(rejects.most_common()),
        "layouts": dict(layouts.most_common()),
        "formats": dict(formats.most_common()),
        "chars": dist(lengths),
        "solutions_per_trace": dist(n_sol),
        "checks_per_trace": dist(n_chk),
        "share_with_final_answer": with_answer / n if n else 0.0,
        "share_with_reference": with_reference / n if n else 0.0,
        "section_share_of_chars": {k: section_chars[k] / total_chars for k in ("restate", "understand", "explore", "verify", "conclude")},
        "issues": dict(issues.most_common()),
        "traces_with_issue": dict(traces_with_issue.most_common()),
    }


def cmd_stats(args: argparse.Namespace) -> int:
    stats = collect_stats(args.inputs, args)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    from rich.table import Table

    console = _console(stderr=False)
    n = stats["traces"] or 1
    t = Table(title=f"dlcot stats: {', '.join(args.inputs)}", show_header=True, header_style="bold")
    t.add_column("measure")
    t.add_column("value", overflow="fold")
    t.add_row("records in", f"{stats['records']:,} ({stats['traces']:,} traces, {stats['rejected']:,} rejected)")
    if stats["reject_reasons"]:
        t.add_row("reject reasons", ", ".join(f"{k} {v:,}" for k, v in stats["reject_reasons"].items()))
    t.add_row("layouts", ", ".join(f"{k} {v:,}" for k, v in stats["layouts"].items()))
    t.add_row("formats", ", ".join(f"{k} {v:,}" for k, v in stats["formats"].items()))
    for key, label in (("chars", "length (chars)"), ("solutions_per_trace", "solutions / trace"), ("checks_per_trace", "checks / trace")):
        d = stats[key]
        t.add_row(label, f"mean {d['mean']:,.1f}  p50 {d['p50']:,}  p90 {d['p90']:,}  p99 {d['p99']:,}  max {d['max']:,}")
    t.add_row("with a final answer", f"{stats['share_with_final_answer']:.1%}")
    t.add_row("with a reference answer", f"{stats['share_with_reference']:.1%}")
    t.add_row("chars by section", "  ".join(f"{k} {v:.1%}" for k, v in stats["section_share_of_chars"].items()))
    t.add_row(
        "issues (traces with it)",
        "\n".join(f"{k}: {v:,} ({v / n:.1%})" for k, v in stats["traces_with_issue"].items()) or "none",
    )
    console.print(t)
    return 0


# ---------------------------------------------------------------------------------------------
# show

SECTION_STYLE = {
    "restate": "cyan",
    "understand": "blue",
    "explore": "green",
    "verify": "yellow",
    "conclude": "magenta",
}


def render_trace(trace, *, title: str = "", max_chars: int | None = None):
    """A rich renderable of one trace: a margin names the section, the solution (S1, S2, ..) or
    check (C1 verify, ..) each line belongs to; answers are underlined."""
    from rich.console import Group
    from rich.rule import Rule
    from rich.table import Table
    from rich.text import Text

    text = trace.text
    sols = trace.solutions
    chks = trace.checks
    secs = trace.sections

    def find(spans, pos):
        for s in spans:
            if s.start <= pos < s.end:
                return s
        return None

    rows = Table.grid(padding=(0, 1))
    rows.add_column(width=20, no_wrap=True, style="dim")
    rows.add_column(ratio=1)
    pos = 0
    limit = len(text) if max_chars is None else min(len(text), max_chars)
    last_label = None
    answer_spans = [s.answer_span for s in sols if s.answer_span] + (
        [trace.final_answer_span] if trace.final_answer_span else []
    )
    while pos < limit:
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl + 1
        line = text[pos:end].rstrip("\n")
        sec = find(secs, pos)
        chk = next((c for c in chks if c.start <= pos < c.end and c.solution is None), None)
        sol = find(sols, pos)
        if chk is not None:
            label, marker = f"C{chk.index + 1} {chk.kind}", ("check", chk.index)
        elif sol is not None:
            label, marker = f"S{sol.index + 1}" + (" restart" if sol.restart else (" alt" if sol.cue else "")), ("sol", sol.index)
        else:
            label, marker = "", None
        style = SECTION_STYLE.get(sec.kind, "") if sec else ""
        if marker != last_label and marker is not None:
            if marker[0] == "sol":
                s = sols[marker[1]]
                rows.add_row("", Rule(f"solution {s.index + 1}" + (f" ({s.cue})" if s.cue else "") + f" -> {s.answer if s.answer is not None else 'no answer'}", style="bold", align="left"))
            else:
                c = chks[marker[1]]
                rows.add_row("", Rule(f"check {c.index + 1}: {c.kind}" + (f" ({c.cue})" if c.cue else "") + (f" -> {c.answer}" if c.answer else ""), style="dim", align="left"))
        last_label = marker
        if not line.strip():
            rows.add_row("", "")
            pos = end
            continue
        body = Text(line, style=style)
        for a, b in answer_spans:
            if a < end and b > pos:
                body.stylize("bold underline", max(a, pos) - pos, min(b, end) - pos)
        for c in chks:
            if c.solution is not None and c.start < end and c.end > pos:
                body.stylize("italic", max(c.start, pos) - pos, min(c.end, end) - pos)
        margin = Text(f"{(sec.kind if sec else ''):<10}", style=style)
        margin.append(f" {label}" if label and (sec is None or True) else "")
        rows.add_row(margin, body)
        pos = end
    legend = Text("sections: ")
    for k, st in SECTION_STYLE.items():
        legend.append(f"{k} ", style=st)
    legend.append("  margin: S = solution, C = check; underline = answer; italic = check inside a solution")
    head = Text(title + "\n", style="bold")
    head.append(repr(trace) + "\n")
    if trace.issues:
        for i in trace.issues:
            head.append(f"issue: {i.kind} at {i.start}-{i.end}: {i.message}\n", style="red")
    parts = [head, legend, rows]
    if max_chars is not None and len(text) > max_chars:
        parts.append(Text(f"... {len(text) - max_chars:,} more chars (use --max-chars 0 to see all)", style="dim"))
    return Group(*parts)


def cmd_show(args: argparse.Namespace) -> int:
    import dlcot
    from dlcot.io import Record

    reader = _reader(args.input, args)
    target = None
    k = 0
    for r in reader:
        if not isinstance(r, Record):
            if args.index is not None and r.index == args.index:
                _console().print(f"[red]record {r.index} is rejected[/]: {r.reason}: {r.detail}")
                return EXIT_FAILURE
            continue
        if args.id is not None:
            if r.id == args.id:
                target = r
                break
        elif args.index is not None:
            if r.index == args.index and (args.generation is None or r.generation == args.generation):
                target = r
                break
        else:
            target = r
            break
        k += 1
    if target is None:
        what = f"with id {args.id!r}" if args.id is not None else (f"with index {args.index}" if args.index is not None else "that can be read")
        _console().print(f"[red]no record {what} in {args.input}[/] ({reader.records_seen:,} records read)")
        return EXIT_FAILURE
    trace = dlcot.parse(target.response, problem=target.problem)
    from rich.console import Console

    console = Console(no_color=args.no_color, highlight=False, width=args.width)
    title = f"{args.input} | id {target.id} | index {target.index}" + (
        f" | generation {target.generation}" if target.generation is not None else ""
    )
    if target.answer is not None:
        title += f" | reference {dlcot.extract_reference(target.answer)!r}"
    console.print(render_trace(trace, title=title, max_chars=args.max_chars or None))
    return 0


# ---------------------------------------------------------------------------------------------


def reader_options_of(args: argparse.Namespace) -> dict:
    """The reader's options from the shared input flags (field overrides, record size limit)."""
    return {
        "problem_field": args.problem_field,
        "response_field": args.response_field,
        "answer_field": args.answer_field,
        "id_field": args.id_field,
        "max_record_bytes": int(args.max_record_mb * 2**20),
    }


def _add_batch_args(p: argparse.ArgumentParser, batch_size: int, what: str = "records per batch") -> None:
    """--batch-size, --num-threads and -q, shared by the batch commands."""
    p.add_argument("--batch-size", type=int, default=batch_size, help=f"{what} (default {batch_size})")
    p.add_argument("--num-threads", type=_threads, default=None, help="threads (default: DLCOT_NUM_THREADS or all cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _add_output_args(p: argparse.ArgumentParser, rejects: str = "rejects JSONL path (default: OUT with .rejects.jsonl)") -> None:
    p.add_argument("-o", "--output", required=True, help="output JSONL path, or - for stdout")
    p.add_argument("--rejects", help=rejects)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dlcot",
        description="Deconstruct long chain-of-thought traces: prune them into SFT data (run), segment, verify, inspect, deduplicate, decontaminate.",
    )
    p.add_argument("--version", action="version", version=f"dlcot {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("segment", help="write the structure of every trace as JSON lines")
    _add_input_args(s, many=True)
    _add_output_args(s)
    _add_batch_args(s, 512, "records per Rust batch call")
    s.set_defaults(func=cmd_segment)

    v = sub.add_parser("verify", help="label every record's final answer and every solution against its reference")
    _add_input_args(v, many=True)
    _add_output_args(v)
    v.add_argument("--timeout", type=float, default=5.0, help="seconds per pair for the symbolic fallback (default 5)")
    _add_batch_args(v, 512)
    v.set_defaults(func=cmd_verify)

    sh = sub.add_parser("show", help="print one trace with its structure marked")
    _add_input_args(sh)
    which = sh.add_mutually_exclusive_group()
    which.add_argument("--id", help="the record id to show")
    which.add_argument("--index", type=int, help="the 0-based record index to show")
    sh.add_argument("--generation", type=int, help="with --index: which generation of a multi-generation record")
    sh.add_argument("--max-chars", type=int, default=20000, help="show at most this many chars (0: all; default 20000)")
    sh.add_argument("--width", type=int, default=None, help="terminal width")
    sh.add_argument("--no-color", action="store_true", help="plain text (margin labels only)")
    sh.set_defaults(func=cmd_show)

    r = sub.add_parser("run", help="the main job: prune traces by a policy, write SFT data, edits, rejects, stats and a report")
    _add_input_args(r, many=True)
    r.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output directory")
    r.add_argument("--policy", default="dlcot", choices=list(_policy_names()), help="pruning policy (default dlcot)")
    r.add_argument("--keep-unsolvable", action="store_true", help="keep traces with no correct solution (cutting repeats only)")
    r.add_argument("--threshold", type=float, default=0.4, help="similarity at which two solutions or checks are repeats (default 0.4)")
    r.add_argument("--format", default="messages", choices=("messages", "sharegpt", "prompt-completion", "parquet"), help="sft output format")
    r.add_argument("--tokenizer", help="tokenizer.json for token counts (default: the bundled DeepSeek-R1-Distill-Qwen tokenizer; 'none': sizes in chars)")
    r.add_argument("--no-symbolic", action="store_true", help="do not settle undecided labels with math-verify")
    r.add_argument("--resume", action="store_true", help="continue an interrupted run in OUTDIR")
    r.add_argument("--overwrite", action="store_true", help="start afresh even if OUTDIR holds a run")
    r.add_argument("--compare-policies", type=int, default=1000, metavar="N", help="measure every policy on the first N records for the report (0: skip)")
    j = r.add_argument_group("judging (models decide where the rules are unsure; needs dlcot[gpu] for --cluster semantic/both and --judge-local)")
    j.add_argument("--cluster", choices=("lexical", "semantic", "both"), default="lexical",
                   help="how repeated solutions and checks are found: word overlap (default), sentence embeddings, or either")
    j.add_argument("--judge-url", help="an OpenAI-compatible chat completions endpoint (vLLM, SGLang, a hosted API)")
    j.add_argument("--judge-model", help="the model name to ask for at --judge-url")
    j.add_argument("--judge-key-env", default="DLCOT_JUDGE_API_KEY", metavar="VAR",
                   help="environment variable holding the API key (default DLCOT_JUDGE_API_KEY; the key itself is never an option)")
    j.add_argument("--judge-local", metavar="PATH", help="a local transformers model to judge with instead of an endpoint")
    j.add_argument("--judge-templates", metavar="FILE", help="JSON file overriding the judge prompt templates")
    j.add_argument("--judge-concurrency", type=int, default=8, help="requests in flight at once (default 8)")
    j.add_argument("--judge-timeout", type=float, default=60.0, help="seconds per request attempt (default 60)")
    j.add_argument("--judge-retries", type=int, default=3, help="retries of a failed request, with exponential backoff (default 3)")
    j.add_argument("--judge-cache", metavar="FILE", help="SQLite cache of judge replies (default OUTDIR/judge.sqlite)")
    j.add_argument("--fix-errors", action="store_true",
                   help="ask the judge for wrong steps: cut them on the main path, cut the whole solution after it")
    j.add_argument("--smooth-joins", action="store_true",
                   help="ask the judge to rewrite the first sentence after a cut where it refers to what was cut (numbers kept)")
    _add_batch_args(r, 512, "records per batch and per checkpoint")
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("dedup", help="keep one record per cluster of near-duplicates (MinHash + LSH)")
    _add_input_args(d, many=True)
    _add_output_args(d, "rejects JSONL path, near-duplicates included (default: OUT with .rejects.jsonl)")
    d.add_argument("--field", choices=("response", "problem"), default="response", help="what to compare (default response)")
    d.add_argument("--threshold", type=float, default=0.8, help="Jaccard similarity of shingle sets (default 0.8)")
    d.add_argument("--num-perm", type=int, default=128, help="MinHash permutations (default 128)")
    d.add_argument("--ngram", type=int, default=5, help="shingle length in units (default 5)")
    d.add_argument("--unit", choices=("word", "char"), default="word", help="shingle unit (default word)")
    d.add_argument("--seed", type=int, default=0, help="MinHash seed (default 0)")
    d.add_argument("--spill-dir", help="where signatures and band keys are spilled (default: next to OUT)")
    _add_batch_args(d, 4096, "records per Rust batch call")
    d.set_defaults(func=cmd_dedup)

    dc = sub.add_parser("decontaminate", help="drop records whose problem contains a benchmark problem")
    _add_input_args(dc, many=True)
    dc.add_argument("--against", nargs="+", required=True, metavar="BENCH", help="benchmark files (JSONL/JSON/Parquet)")
    dc.add_argument("--against-field", metavar="PATH", help="benchmark text field (default: problem, question, prompt, ...)")
    _add_output_args(dc, "rejects JSONL path, contaminated records included (default: OUT with .rejects.jsonl)")
    dc.add_argument("--field", choices=("problem", "response"), default="problem", help="what to check (default problem)")
    dc.add_argument("--method", choices=("ngram", "minhash"), default="ngram", help="exact n-gram overlap (default) or MinHash")
    dc.add_argument("--ngram", type=int, default=13, help="n-gram length in words (default 13)")
    dc.add_argument(
        "--min-overlap", type=float, default=0.5, help="share of a benchmark item's n-grams that must appear (default 0.5)"
    )
    dc.add_argument("--threshold", type=float, default=0.8, help="with --method minhash: Jaccard threshold (default 0.8)")
    dc.add_argument("--report", help="also write per-benchmark counts as JSON here")
    _add_batch_args(dc, 4096)
    dc.set_defaults(func=cmd_decontaminate)

    st = sub.add_parser("stats", help="corpus statistics")
    _add_input_args(st, many=True)
    st.add_argument("--json", action="store_true", help="print JSON instead of a table")
    st.add_argument("--batch-size", type=int, default=512, help=argparse.SUPPRESS)
    st.add_argument("--num-threads", type=_threads, default=None, help="threads (default: all cores)")
    st.set_defaults(func=cmd_stats)
    cli_models.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "batch_size", 1) < 1:
        parser.error("--batch-size must be at least 1")
    from dlcot.io import LayoutError

    try:
        return args.func(args)
    except LayoutError as e:
        from rich.markup import escape

        _console().print(f"[red]error:[/] {escape(str(e))}")
        return EXIT_FAILURE
    except FileNotFoundError as e:
        from rich.markup import escape

        _console().print(f"[red]error:[/] no such file: {escape(str(e.filename or e))}")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        if args.command == "run":
            _console().print(f"[yellow]interrupted[/]: the run in {args.output} is checkpointed; continue it with --resume")
        else:
            _console().print("[yellow]interrupted[/]: outputs not written")
        return 130
    except BrokenPipeError:
        return 0
    except (OSError, ValueError) as e:
        # an input that is a directory, an output that cannot be written, an option value the
        # core refuses (`--num-perm 0`): one line, no traceback
        from rich.markup import escape

        _console().print(f"[red]error:[/] {escape(str(e))}")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
