"""Scoring model generations against a benchmark: ``dlcot score GENERATIONS --bench FILE``.

Any engine's output can be scored: the generation file's layout is detected as the reader
(:mod:`dlcot.io`) detects trace layouts, with a few more that only generation dumps have:

- vLLM ``RequestOutput`` dumps ``{prompt, outputs: [{text}, ...]}`` and ``{prompt,
  generated_text}`` (also Hugging Face ``pipeline`` output);
- SGLang ``{text, meta_info}``;
- lm-evaluation-harness ``--log_samples`` files ``{doc_id, doc: {...}, target, resps: [[...]],
  filtered_resps}`` (the raw ``resps`` are scored, not lm-eval's own extracted answers);
- OpenAI-style response objects ``{choices: [{message: {content}}]}``;
- and every trace layout of the reader: plain ``{problem|question|prompt, response|output|
  completion|generation|text}``, lists of samples (``generations``, ``responses``,
  ``outputs``, ``completions``, ``samples``), chat ``messages``, the Qwen2.5-Math harness
  (``code`` + ``gt``), thinking-llms-interp results, and ``dlcot eval``'s own files.

A record with several samples gives one scored sample each. Generations are matched to the
benchmark's items by their problem text (exact after normalising case and whitespace, else
the benchmark problem contained in the prompt, as in a chat-templated or few-shot prompt; the
last one in the prompt wins), and by id or position when the record has no problem text.
Every generation is scored, listed as unmatched with the reason, or rejected by the reader:
none is dropped silently.

Per benchmark: accuracy (mean over all samples) and pass@k (unbiased, Chen et al. 2021) with
dlcot's own answer checker (the trace's final answer, :func:`dlcot.verify_batch`: fast rules,
then math-verify); response tokens; solutions and checks per response; the position of the
first correct solution; and the overthinking metrics of Chen et al. 2024 (arXiv 2412.21187),
computed exactly as ``dlcot run`` computes them for training traces: *outcome efficiency*, the
share of a response's tokens up to the end of its first correct solution (0 when none is
correct), and *process efficiency*, the share in distinct solutions (the first of each
near-duplicate cluster).

>>> import dlcot
>>> s = dlcot.score_generations("generations.jsonl", "bench/math500.jsonl")  # doctest: +SKIP
>>> s.benchmarks["math500"]["accuracy"]  # doctest: +SKIP
0.62
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from dlcot._core import prune_batch
from dlcot.io import FieldMap, Record, RecordReader, Reject, _conversation_keys, detect_layout, resolve_path
from dlcot.tokens import TokenCounter, load_token_counter

__all__ = [
    "BenchItem",
    "Benchmark",
    "Scores",
    "comparison_plot",
    "comparison_table",
    "merge_scores",
    "pass_at_k",
    "read_benchmark",
    "read_generations",
    "score_generations",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Fields of a benchmark record that may hold the problem, in the order they are tried.
PROBLEM_FIELDS = ("problem", "question", "prompt", "input", "instruction", "query", "Problem", "Question")
_ANSWER_FIELDS = ("answer", "ground_truth", "gt", "reference", "reference_answer", "final_answer", "target", "label", "solution", "Answer")
_BENCH_ID_FIELDS = ("id", "unique_id", "uid", "idx", "question_id", "problem_id", "_id", "task_id", "ID")


# ---------------------------------------------------------------------------------------------
# Benchmarks


@dataclass(frozen=True)
class BenchItem:
    """One benchmark problem.

    Attributes:
        index: 0-based position in the benchmark file.
        id: The record's id field as text, else ``str(index)``.
        problem: The problem text.
        answer: The reference answer (raw: a bare answer or a worked solution), or None.
    """

    index: int
    id: str
    problem: str
    answer: Optional[str]


@dataclass(frozen=True)
class Benchmark:
    """A benchmark file: its name (the file name without extensions), path and items."""

    name: str
    path: str
    items: tuple[BenchItem, ...]


def _stem(path: PathLike) -> str:
    name = Path(path).name
    for suffix in (".gz", ".zst", ".bz2", ".xz", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"):
        name = name.removesuffix(suffix)
    for suffix in (".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return name


def _peek(path: PathLike, n: int = 1) -> list[dict]:
    """The first ``n`` source records of a file as decoded JSON objects (any format)."""
    reader = RecordReader(path)
    out: list[dict] = []
    # RecordReader._items yields the decoded source records before any layout mapping
    with contextlib.closing(reader._items()) as items:
        for item in items:
            if isinstance(item, Reject):
                continue
            value = item[1]
            if isinstance(value, dict):
                out.append(value)
                if len(out) >= n:
                    break
    return out


def read_benchmark(
    path: PathLike,
    *,
    problem_field: Optional[str] = None,
    answer_field: Optional[str] = None,
    id_field: Optional[str] = None,
    name: Optional[str] = None,
) -> Benchmark:
    """Reads a benchmark file: any JSONL/JSON/Parquet with a problem and an answer field.

    Args:
        path: The file (e.g. ``../shared/data/bench/math500.jsonl``).
        problem_field: Dotted path of the problem (default: the first of problem, question,
            prompt, input, instruction, query present).
        answer_field: Dotted path of the reference answer (default: answer, ground_truth, gt,
            ..., solution).
        id_field: Dotted path of the id (default: id, unique_id, idx, ...; else the index).
        name: What to call it (default: the file name without extensions).

    Raises:
        FileNotFoundError: No such file.
        ValueError: No problem field can be found.

    >>> b = read_benchmark("../shared/data/bench/aime24.jsonl")  # doctest: +SKIP
    >>> len(b.items), b.items[0].answer  # doctest: +SKIP
    (30, '204')
    """
    first = _peek(path, 1)
    if not first:
        raise ValueError(f"benchmark {path} holds no records")
    rec = first[0]
    if problem_field is None:
        problem_field = next((k for k in PROBLEM_FIELDS if isinstance(rec.get(k), str)), None)
        if problem_field is None:
            raise ValueError(
                f"cannot find the problem text in benchmark {path}: none of {', '.join(PROBLEM_FIELDS)}; "
                f"the first record has {', '.join(map(str, list(rec)[:20]))}. Name it with --bench-problem-field"
            )
    if answer_field is None:
        answer_field = next((k for k in _ANSWER_FIELDS if k in rec and rec[k] is not None), None)
    if id_field is None:
        id_field = next((k for k in _BENCH_ID_FIELDS if k in rec and rec[k] is not None), None)
    items = []
    reader = RecordReader(path, problem_field=problem_field, response_field=problem_field, answer_field=answer_field, id_field=id_field)
    for r in reader:
        if isinstance(r, Record):
            items.append(BenchItem(r.index, r.id if id_field else str(r.index), r.problem or r.response, r.answer))
    return Benchmark(name or _stem(path), os.fspath(path), tuple(items))


# ---------------------------------------------------------------------------------------------
# Generations


def generation_layout(record: dict) -> tuple[str, dict]:
    """The layout of one generation record and the reader's field overrides for it.

    Returns:
        ``(name, overrides)``: ``overrides`` holds ``problem_field``, ``response_field``,
        ``answer_field``, ``id_field`` for :class:`dlcot.io.RecordReader` (empty when the
        reader's own detection applies; ``name`` is then "auto").

    >>> generation_layout({"doc_id": 3, "doc": {"problem": "1+1?"}, "target": "2", "resps": [["2"]]})
    ('lm-eval', {'problem_field': 'doc.problem', 'response_field': 'resps.0', 'answer_field': 'target', 'id_field': 'doc_id'})
    """
    def first(d: dict, keys: Sequence[str], prefix: str = "") -> Optional[str]:
        k = next((k for k in keys if isinstance(d.get(k), str) and d.get(k)), None)
        return None if k is None else prefix + k

    doc = record.get("doc")
    resps = record.get("resps")
    if isinstance(resps, list) and isinstance(doc, dict):
        answer = "target" if record.get("target") is not None else first(doc, _ANSWER_FIELDS, "doc.")
        if answer is None and doc.get("answer") is not None:
            answer = "doc.answer"
        return "lm-eval", {
            "problem_field": first(doc, PROBLEM_FIELDS, "doc."),
            "response_field": "resps.0" if resps and isinstance(resps[0], list) else "resps",
            "answer_field": answer,
            "id_field": "doc_id" if "doc_id" in record else None,
        }
    if "generated_text" in record:
        return "vllm", {
            "problem_field": first(record, PROBLEM_FIELDS),
            "response_field": "generated_text",
            "answer_field": first(record, _ANSWER_FIELDS),
            "id_field": None,
        }
    if isinstance(record.get("meta_info"), dict) and isinstance(record.get("text"), str):
        return "sglang", {
            "problem_field": first(record, PROBLEM_FIELDS),
            "response_field": "text",
            "answer_field": first(record, _ANSWER_FIELDS),
            "id_field": None,
        }
    choices = record.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        chat = isinstance(choices[0].get("message"), dict)
        return "openai", {
            "problem_field": first(record, PROBLEM_FIELDS),
            # a chat completion: its first choice; a completion: every choice's text
            "response_field": "choices.0.message.content" if chat else "choices",
            "answer_field": first(record, _ANSWER_FIELDS),
            "id_field": None,
        }
    if isinstance(record.get("outputs"), list) and "prompt" in record:
        return "vllm", {}
    return "auto", {}


@dataclass
class _Generations:
    records: list  # (path, Record, has_id)
    rejects: list  # (path, Reject)
    layouts: Counter


def read_generations(
    paths: Union[PathLike, Sequence[PathLike]],
    *,
    problem_field: Optional[str] = None,
    response_field: Optional[str] = None,
    answer_field: Optional[str] = None,
    id_field: Optional[str] = None,
    max_record_bytes: int = 64 * 2**20,
) -> _Generations:
    """Every sample of every generation file: (path, Record, has_id) triples, the reader's
    rejects, and the layouts seen. The field overrides apply to every file."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    user = {"problem_field": problem_field, "response_field": response_field, "answer_field": answer_field, "id_field": id_field}
    user = {k: v for k, v in user.items() if v is not None}
    out = _Generations([], [], Counter())
    for path in paths:
        first = _peek(path, 1)
        name, overrides = generation_layout(first[0]) if first and not user else ("auto", {})
        overrides = {k: v for k, v in (overrides | user).items() if v is not None}
        fmap: Optional[FieldMap] = detect_layout(first[0]) if first else None
        has_id = bool(overrides.get("id_field") or (fmap is not None and fmap.id))
        reader = RecordReader(path, max_record_bytes=max_record_bytes, **overrides)
        records, empty = [], []
        for r in reader:
            if isinstance(r, Record):
                records.append(r)
            elif r.reason == "empty-response":
                empty.append(r)
            else:
                out.rejects.append((os.fspath(path), r))
        if empty:
            # an empty response is a wrong answer, not unreadable input: score it as ""
            records.extend(_empty_records(path, empty, overrides, max_record_bytes))
            records.sort(key=lambda r: (r.index, r.generation or 0))
        out.records.extend((os.fspath(path), r, has_id) for r in records)
        for layout, n in reader.layouts.items():
            out.layouts[name if name != "auto" else layout] += n
    return out


def _empty_records(path: PathLike, empty: list, overrides: dict, max_record_bytes: int) -> list[Record]:
    """Records with response "" for the reader's ``empty-response`` rejects, their problem,
    answer and id read from the source records again."""
    from dlcot.io import _problem_text, _scalar_str

    want = {j.index for j in empty}
    raw: dict[int, dict] = {}
    with contextlib.closing(RecordReader(path, max_record_bytes=max_record_bytes)._items()) as items:
        for item in items:
            if not isinstance(item, Reject) and item[0] in want and isinstance(item[1], dict):
                raw[item[0]] = item[1]
                if len(raw) == len(want):
                    break

    def get(rec: dict, path_: Optional[str]) -> Any:
        if not path_:
            return None
        try:
            return resolve_path(rec, path_)
        except KeyError:
            return None

    out = []
    for j in empty:
        rec = raw.get(j.index)
        if rec is None:
            continue
        fmap = detect_layout(rec)
        paths = {
            "problem": overrides.get("problem_field") or (fmap.problem if fmap else None),
            "response": overrides.get("response_field") or (fmap.response if fmap else None),
            "answer": overrides.get("answer_field") or (fmap.answer if fmap else None),
        }
        problem = _problem_text(get(rec, paths["problem"]))
        answer = get(rec, paths["answer"])
        answer = answer if answer is None or isinstance(answer, str) else _scalar_str(answer)
        response = get(rec, paths["response"])
        generation = None
        rid = j.id if j.id is not None else str(j.index)
        if isinstance(response, list) and j.id and "#" in j.id:
            head, _, k = j.id.rpartition("#")
            if k.isdigit() and _conversation_keys(response) is None:
                generation = int(k)
        text = response[generation] if generation is not None and generation < len(response) else response
        if isinstance(text, dict):
            text = next((text[k] for k in ("text", "response", "content", "output") if k in text), "")
        text = text if isinstance(text, str) else ""  # whitespace is kept: it has tokens
        out.append(Record(rid, problem, text, answer, j.index, generation, fmap.layout if fmap else "custom", 0))
    return out


# ---------------------------------------------------------------------------------------------
# Matching generations to benchmark items

_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


class _Matcher:
    """Finds the benchmark item of a generation: exact normalised problem text, else the
    benchmark problem that the prompt contains (word 13-gram overlap, dlcot's
    :class:`~dlcot.Decontaminator`, confirmed by position), else id, else position."""

    def __init__(self, benches: Sequence[Benchmark]):
        self.benches = benches
        self.flat = [(b, it) for b, bench in enumerate(benches) for it in bench.items]
        self.exact: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for b, it in self.flat:
            self.exact[_norm(it.problem)].append((b, it.index))
        self.ids = [{it.id: it.index for it in bench.items} for bench in benches]
        self._decon = None

    def by_text(self, texts: Sequence[str], ids: Sequence[str], sources: Sequence[Any]) -> list[Optional[tuple[int, int, str]]]:
        """The item of each text (with the generation's id and source record, which settle
        problems that occur more than once: the item with that id, else the next such item
        for each new source record)."""
        found: list[Optional[tuple[int, int, str]]] = []
        todo = []
        turn: Counter = Counter()
        chosen: dict[Any, tuple[int, int]] = {}
        for k, t in enumerate(texts):
            key = _norm(t)
            cands = self.exact.get(key)
            if not cands:
                found.append(None)
                todo.append(k)
                continue
            hit = cands[0]
            if len(cands) > 1:
                same_id = [c for c in cands if self.benches[c[0]].items[c[1]].id == ids[k]]
                if same_id:
                    hit = same_id[0]
                else:
                    if sources[k] not in chosen:
                        chosen[sources[k]] = cands[turn[key] % len(cands)]
                        turn[key] += 1
                    hit = chosen[sources[k]]
            found.append((hit[0], hit[1], "problem"))
        if todo and self.flat:
            if self._decon is None:
                from dlcot.dedup import Decontaminator

                self._decon = Decontaminator([it.problem for _, it in self.flat])
            matches = self._decon.matches([texts[k] for k in todo])
            for k, ms in zip(todo, matches):
                if not ms:
                    continue
                prompt = _norm(texts[k])
                best = max(ms[:16], key=lambda m: (round(m.overlap, 6), prompt.rfind(_norm(self.flat[m.index][1].problem))))
                b, it = self.flat[best.index]
                found[k] = (b, it.index, "prompt-contains")
        return found


# ---------------------------------------------------------------------------------------------
# Scores


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem with ``c`` correct among ``n`` samples (Chen et al. 2021).

    >>> pass_at_k(4, 1, 1), pass_at_k(4, 1, 4)
    (0.25, 1.0)
    """
    if k > n:
        raise ValueError(f"invalid `k`: {k} > n = {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def _stats(values: Sequence[float]) -> dict:
    if not values:
        return {"mean": None, "median": None, "p90": None, "max": None}
    v = sorted(values)
    return {
        "mean": sum(v) / len(v),
        "median": statistics.median(v),
        "p90": v[min(len(v) - 1, int(0.9 * len(v)))],
        "max": v[-1],
    }


def _mean(values: Sequence[float]) -> Optional[float]:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class Scores:
    """What :func:`score_generations` found.

    Attributes:
        benchmarks: Benchmark name -> summary: ``items`` (in the benchmark), ``answered``
            (items with at least one sample), ``samples``, ``accuracy`` (mean over samples),
            ``pass_at_k`` ({k: value}, over items with at least k samples), ``correct``,
            ``no_answer`` (samples without a final answer: truncated or unfinished),
            ``tokens`` (mean, median, p90, max of response tokens), ``tokens_correct_mean``,
            ``tokens_incorrect_mean``, ``solutions_mean``, ``checks_mean``,
            ``first_correct_position`` (mean and median over samples that have one; 1 = the
            first solution) and its ``first_correct_histogram``, ``outcome_efficiency``,
            ``process_efficiency`` (over ``efficiency_samples``: samples with solutions),
            ``decided_by`` (how each final answer was judged).
        samples: One dict per scored sample: benchmark, item (id), index, sample, source,
            source_index, correct, final_answer, decided_by, tokens, solutions, checks,
            first_correct_position, outcome_efficiency, process_efficiency.
        unmatched: Generations not scored, each with source, index, id, problem (start) and
            reason ("no-match", "no-problem", "no-reference").
        rejects: Records the reader could not use (source, index, id, reason, detail).
        matched_by: How the scored samples were matched ("problem", "prompt-contains", "id",
            "index" (a numeric id that is a position, as lm-eval's ``doc_id``), "position",
            "own-reference").
        layouts: Generation layouts seen, with record counts.
        unit: "tokens" or "chars" (no tokenizer).
        tokenizer: The tokenizer's name, or None.
    """

    benchmarks: dict
    samples: list
    unmatched: list
    rejects: list
    matched_by: dict
    layouts: dict
    unit: str
    tokenizer: Optional[str]
    sources: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """Everything, JSON-ready."""
        return {
            "version": 1,
            "sources": self.sources,
            "unit": self.unit,
            "tokenizer": self.tokenizer,
            "benchmarks": self.benchmarks,
            "matched_by": self.matched_by,
            "layouts": self.layouts,
            "unmatched": self.unmatched,
            "rejects": self.rejects,
            "samples": self.samples,
        }

    def write_json(self, path: PathLike) -> None:
        """Writes :meth:`to_dict` as JSON (write-then-rename)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, p)

    def table(self, title: str = "dlcot score"):
        """The summary as a rich Table, one row per benchmark."""
        return comparison_table([("", self)], title=title)


def merge_scores(parts: Sequence[Scores]) -> Scores:
    """One :class:`Scores` of several (e.g. each benchmark scored on its own); benchmark names
    must differ."""
    if not parts:
        raise ValueError("`parts` is empty")
    benchmarks: dict = {}
    for p in parts:
        for name, b in p.benchmarks.items():
            if name in benchmarks:
                raise ValueError(f"benchmark {name!r} is in two of the scores")
            benchmarks[name] = b
    matched: Counter = Counter()
    layouts: Counter = Counter()
    for p in parts:
        matched.update(p.matched_by)
        layouts.update(p.layouts)
    return Scores(
        benchmarks=benchmarks,
        samples=[x for p in parts for x in p.samples],
        unmatched=[x for p in parts for x in p.unmatched],
        rejects=[x for p in parts for x in p.rejects],
        matched_by=dict(matched.most_common()),
        layouts=dict(layouts),
        unit=parts[0].unit,
        tokenizer=parts[0].tokenizer,
        sources=[x for p in parts for x in p.sources],
    )


def _pct(x: Optional[float]) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x: Optional[float], digits: int = 0) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def comparison_table(named: Sequence[tuple[str, Scores]], *, title: str = "dlcot score"):
    """One rich Table for one or several models' scores: a row per measure, a column per
    benchmark (and model)."""
    from rich.table import Table

    unit = named[0][1].unit if named else "tokens"
    several = len(named) > 1 or any(name for name, _ in named)
    benches: list[str] = []
    for _, s in named:
        benches.extend(b for b in s.benchmarks if b not in benches)
    cols = [(bench, model, s.benchmarks[bench]) for bench in benches for model, s in named if bench in s.benchmarks]
    t = Table(title=title, header_style="bold")
    t.add_column("")
    for bench, model, _ in cols:
        t.add_column(f"{bench}\n{model}" if several else bench, justify="right")
    kmax = max((int(k) for _, _, b in cols for k in b["pass_at_k"]), default=1)

    def row(label: str, fn) -> None:
        t.add_row(label, *[fn(b) for _, _, b in cols])

    row("problems answered", lambda b: f"{b['answered']:,}/{b['items']:,}" if b["items"] else f"{b['answered']:,}")
    row("responses", lambda b: f"{b['samples']:,}")
    row("accuracy", lambda b: _pct(b["accuracy"]))
    if kmax > 1:
        row(f"pass@{kmax}", lambda b: _pct(b["pass_at_k"].get(str(kmax))))
    row(f"{unit}: mean", lambda b: _num(b[unit]["mean"]))
    row(f"{unit}: median", lambda b: _num(b[unit]["median"]))
    row(f"{unit}: mean if correct", lambda b: _num(b[f"{unit}_correct_mean"]))
    row("solutions / response", lambda b: _num(b["solutions_mean"], 1))
    row("checks / response", lambda b: _num(b["checks_mean"], 1))
    row("first correct solution", lambda b: _num(b["first_correct_position"]["mean"], 2))
    row("outcome efficiency", lambda b: _pct(b["outcome_efficiency"]))
    row("process efficiency", lambda b: _pct(b["process_efficiency"]))
    row("no final answer", lambda b: _pct(b["no_answer"] / b["samples"] if b["samples"] else None))
    return t


def comparison_plot(named: Sequence[tuple[str, Scores]], path: PathLike, *, title: str = "") -> None:
    """One PNG: accuracy and mean response tokens per benchmark, a bar per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benches: list[str] = []
    for _, s in named:
        benches.extend(b for b in s.benchmarks if b not in benches)
    unit = named[0][1].unit if named else "tokens"
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        fig, axes = plt.subplots(1, 2, figsize=(max(7.0, 2.2 + 1.4 * len(benches) * 2), 3.6), dpi=100)
        width = 0.8 / max(len(named), 1)
        colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
        for m, (name, s) in enumerate(named):
            xs = [i - 0.4 + width * (m + 0.5) for i in range(len(benches))]
            acc = [100 * (s.benchmarks.get(b, {}).get("accuracy") or 0.0) for b in benches]
            tok = [(s.benchmarks.get(b, {}).get(unit, {}).get("mean") or 0.0) for b in benches]
            axes[0].bar(xs, acc, width, label=name or "model", color=colors[m % len(colors)])
            axes[1].bar(xs, tok, width, label=name or "model", color=colors[m % len(colors)])
            for x, a in zip(xs, acc):
                axes[0].annotate(f"{a:.1f}", (x, a), ha="center", va="bottom", fontsize=7)
        for ax, ylabel in ((axes[0], "accuracy (%)"), (axes[1], f"mean response {unit}")):
            ax.set_xticks(range(len(benches)))
            ax.set_xticklabels(benches, rotation=20, ha="right", fontsize=8)
            ax.set_ylabel(ylabel)
            ax.spines[["top", "right"]].set_visible(False)
        axes[0].set_ylim(0, 105)
        axes[1].legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        if title:
            fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", metadata={"Software": None})
        plt.close(fig)


# ---------------------------------------------------------------------------------------------
# The scorer


def _source_id(r: Record) -> str:
    """The id of a generation's source record (``Record.id`` without its ``#k``)."""
    return r.id.rsplit("#", 1)[0] if r.generation is not None else r.id


def _chars_counter() -> Any:
    class _Chars:
        name = None

        @staticmethod
        def count(texts: Sequence[str]) -> list[int]:
            return [len(t) for t in texts]

    return _Chars()


def score_generations(
    generations: Union[PathLike, Sequence[PathLike]],
    bench: Union[None, PathLike, Benchmark, Sequence[Union[PathLike, Benchmark]]] = None,
    *,
    tokenizer: Union[None, str, PathLike, TokenCounter] = None,
    symbolic: bool = True,
    timeout: Optional[float] = 5.0,
    threshold: float = 0.4,
    reader_options: Optional[dict] = None,
    num_threads: Optional[int] = None,
) -> Scores:
    """Scores generation files against benchmarks (see the module docstring).

    Args:
        generations: One or more generation files (any layout; see :func:`generation_layout`).
        bench: Benchmark files or :class:`Benchmark` objects. None: each generation's own
            reference answer is used (e.g. lm-eval's ``target``, the harness's ``gt``), one
            benchmark per generation file.
        tokenizer: None for the bundled DeepSeek-R1-Distill-Qwen tokenizer, "none" to count
            chars, a ``tokenizer.json`` path, or a :class:`~dlcot.tokens.TokenCounter`.
        symbolic: Settle what the fast rules cannot decide with math-verify, if installed.
        timeout: Seconds per pair for math-verify.
        threshold: Similarity at which two solutions are repeats (process efficiency).
        reader_options: ``problem_field``, ``response_field``, ``answer_field``, ``id_field``,
            ``max_record_bytes`` for the generation files.
        num_threads: Threads for the Rust core and the tokenizer.

    Returns:
        The :class:`Scores`.
    """
    from dlcot.pipeline import Pipeline, _efficiency, _efficiency_parts
    from dlcot.verification import symbolic_available, verify_batch

    paths = [generations] if isinstance(generations, (str, os.PathLike)) else list(generations)
    if not paths:
        raise ValueError("`generations` names no file")
    if bench is None:
        benches: list[Benchmark] = []
    else:
        blist = [bench] if isinstance(bench, (str, os.PathLike, Benchmark)) else list(bench)
        benches = [b if isinstance(b, Benchmark) else read_benchmark(b) for b in blist]
        seen: Counter = Counter()
        for i, b in enumerate(benches):
            seen[b.name] += 1
            if seen[b.name] > 1:
                benches[i] = dataclasses.replace(b, name=f"{b.name}#{seen[b.name]}")
    counter = tokenizer if isinstance(tokenizer, TokenCounter) else load_token_counter(tokenizer, num_threads=num_threads)
    if counter is None:
        counter = _chars_counter()
    unit = "tokens" if isinstance(counter, TokenCounter) else "chars"
    symbolic = symbolic and symbolic_available()

    gens = read_generations(paths, **(reader_options or {}))
    unmatched: list[dict] = []

    def miss(path: str, r: Record, reason: str) -> None:
        unmatched.append({
            "source": path, "index": r.index, "id": r.id, "generation": r.generation,
            "problem": (r.problem or "")[:300], "reason": reason,
        })

    # (benchmark name, item key) of every generation, or a reason
    keys: list[Optional[tuple[str, str, int, Optional[str], Optional[str], str]]] = [None] * len(gens.records)
    if benches:
        matcher = _Matcher(benches)
        with_text = [k for k, (_, r, _) in enumerate(gens.records) if r.problem and r.problem.strip()]
        hits = matcher.by_text(
            [gens.records[k][1].problem for k in with_text],
            [_source_id(gens.records[k][1]) for k in with_text],
            [(gens.records[k][0], gens.records[k][1].index) for k in with_text],
        )
        hit_of = dict(zip(with_text, hits))
        src_records: dict[str, set] = defaultdict(set)
        for p, r, _ in gens.records:
            src_records[p].add(r.index)
        for k, (path, r, has_id) in enumerate(gens.records):
            hit = hit_of.get(k)
            if hit is None and len(benches) == 1:
                b = benches[0]
                rid = _source_id(r)
                if has_id and rid in matcher.ids[0]:
                    hit = (0, matcher.ids[0][rid], "id")
                elif has_id and rid.isdigit() and int(rid) < len(b.items):
                    hit = (0, int(rid), "index")  # lm-eval's doc_id, the harness's idx: positions
                elif not has_id and not (r.problem and r.problem.strip()) and len(src_records[path]) == len(b.items):
                    hit = (0, r.index, "position")
            if hit is None:
                miss(path, r, "no-match" if r.problem and r.problem.strip() else "no-problem")
                continue
            bi, idx, how = hit
            item = benches[bi].items[idx]
            keys[k] = (benches[bi].name, item.id, item.index, item.answer, item.problem, how)
    else:
        # each file is its own benchmark; samples of one problem (same text, else same source
        # record) are one item
        item_of: dict[tuple[str, str], int] = {}
        for k, (path, r, _) in enumerate(gens.records):
            name = _stem(path)
            key = (name, _norm(r.problem) if r.problem and r.problem.strip() else f"#{r.index}")
            idx = item_of.setdefault(key, len(item_of))
            keys[k] = (name, _source_id(r), idx, r.answer, r.problem, "own-reference")

    todo = []
    for k, key in enumerate(keys):
        if key is None:
            continue
        path, r, _ = gens.records[k]
        if key[3] is None:
            miss(path, r, "no-reference")
            continue
        todo.append(k)

    texts = [gens.records[k][1].response for k in todo]
    refs = [keys[k][3] for k in todo]
    recs = [dataclasses.replace(gens.records[k][1], answer=keys[k][3], problem=keys[k][4] or gens.records[k][1].problem) for k in todo]
    outs = prune_batch(texts, problems=[r.problem for r in recs], references=refs, policy="first-correct",
                       keep_unsolvable=True, threshold=threshold, num_threads=num_threads) if todo else []
    # labels the fast rules leave undecided, settled by math-verify where they move the first correct one
    settler = Pipeline("first-correct", keep_unsolvable=True, threshold=threshold, symbolic=symbolic, tokenizer="none", num_threads=num_threads)
    outs = [settler._settle(r, o) for r, o in zip(recs, outs)]
    parts, owners = _efficiency_parts(texts, outs)
    counts = counter.count(texts + parts)
    totals, effs = counts[: len(texts)], _efficiency(counts[: len(texts)], owners, counts[len(texts):])
    pairs = [(o.final_answer, ref) for o, ref in zip(outs, refs) if o.final_answer is not None]
    verdicts, how = verify_batch(pairs, timeout=timeout, num_threads=num_threads) if pairs else ([], [])
    judged = iter(zip(verdicts, how))

    samples: list[dict] = []
    sample_no: Counter = Counter()
    for k, o, n_tok, eff in zip(todo, outs, totals, effs):
        path, r, _ = gens.records[k]
        bench_name, item_id, item_index, _, _, matched = keys[k]
        if o.final_answer is None:
            correct, decided = False, "no-answer"
        else:
            correct, decided = next(judged)
        fc = o.first_correct
        if eff:
            oe = (eff["tokens_to_first_correct"] / eff["tokens"]) if "tokens_to_first_correct" in eff and eff["tokens"] else 0.0
            pe = min(1.0, eff["distinct_solution_tokens"] / eff["tokens"]) if eff["tokens"] else None
        else:
            oe = pe = None
        s = sample_no[(bench_name, item_index)]
        sample_no[(bench_name, item_index)] += 1
        samples.append({
            "benchmark": bench_name,
            "item": item_id,
            "index": item_index,
            "sample": s,
            "source": path,
            "source_index": r.index,
            "generation": r.generation,
            "matched_by": matched,
            "correct": bool(correct),
            "final_answer": o.final_answer,
            "decided_by": decided,
            unit: n_tok,
            "solutions": len(o.labels),
            "checks": len(o.check_leaders),
            "first_correct_position": None if fc is None else fc + 1,
            "outcome_efficiency": oe,
            "process_efficiency": pe,
        })

    summaries = {}
    order = [b.name for b in benches] if benches else list(dict.fromkeys(_stem(p) for p in paths))
    by_bench: dict[str, list[dict]] = defaultdict(list)
    for s in samples:
        by_bench[s["benchmark"]].append(s)
    sizes = {b.name: len(b.items) for b in benches}
    for name in order:
        summaries[name] = _summary(by_bench.get(name, []), sizes.get(name, 0), unit)
    return Scores(
        benchmarks=summaries,
        samples=samples,
        unmatched=unmatched,
        rejects=[{"source": p, "index": j.index, "id": j.id, "reason": j.reason, "detail": j.detail} for p, j in gens.rejects],
        matched_by=dict(Counter(s["matched_by"] for s in samples).most_common()),
        layouts=dict(gens.layouts),
        unit=unit,
        tokenizer=getattr(counter, "name", None),
        sources=[os.fspath(p) for p in paths],
    )


def _summary(ss: list[dict], n_items: int, unit: str) -> dict:
    per_item: dict[int, list[bool]] = defaultdict(list)
    for s in ss:
        per_item[s["index"]].append(s["correct"])
    n_min = min((len(v) for v in per_item.values()), default=0)
    ks = sorted({k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256, n_min) if 1 <= k <= n_min})
    pass_k = {}
    for k in ks:
        vals = [pass_at_k(len(v), sum(v), k) for v in per_item.values() if len(v) >= k]
        pass_k[str(k)] = _mean(vals)
    fcs = [s["first_correct_position"] for s in ss if s["first_correct_position"] is not None]
    oe = [s["outcome_efficiency"] for s in ss if s["outcome_efficiency"] is not None]
    pe = [s["process_efficiency"] for s in ss if s["process_efficiency"] is not None]
    tokens = [s[unit] for s in ss]
    return {
        "items": n_items,
        "answered": len(per_item),
        "samples": len(ss),
        "samples_per_item": {"min": n_min, "max": max((len(v) for v in per_item.values()), default=0)},
        "correct": sum(s["correct"] for s in ss),
        "accuracy": _mean([float(s["correct"]) for s in ss]),
        "pass_at_k": pass_k,
        "no_answer": sum(s["final_answer"] is None for s in ss),
        unit: _stats(tokens),
        f"{unit}_correct_mean": _mean([s[unit] for s in ss if s["correct"]]),
        f"{unit}_incorrect_mean": _mean([s[unit] for s in ss if not s["correct"]]),
        "solutions_mean": _mean([s["solutions"] for s in ss]),
        "checks_mean": _mean([s["checks"] for s in ss]),
        "first_correct_position": {
            "mean": _mean(fcs),
            "median": statistics.median(fcs) if fcs else None,
            "samples": len(fcs),
        },
        "first_correct_histogram": {str(k): v for k, v in sorted(Counter(min(x, 10) for x in fcs).items())},
        "outcome_efficiency": _mean(oe),
        "process_efficiency": _mean(pe),
        "efficiency_samples": len(oe),
        "decided_by": dict(Counter(s["decided_by"] for s in ss).most_common()),
    }
