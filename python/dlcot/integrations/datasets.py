"""Pruning a Hugging Face ``datasets.Dataset`` with ``Dataset.map``, worker processes included.

``map_fn(...)`` returns a picklable callable for ``Dataset.map(fn, batched=True)``: it prunes
each batch with a :class:`dlcot.Pipeline` and returns the batch with six columns added
(replaced if present):

- ``dlcot_status`` (str): "kept", or why the record was rejected: the
  :attr:`dlcot.Result.status` reasons ("unsolvable", "no-reference", "no-problem"), or
  "missing-field" (the response is None) / "wrong-type" (the response is not a str).
- ``dlcot_response`` (str or None): the pruned response of a kept record; the original
  otherwise (None when it is not a str).
- ``dlcot_edits`` (str): JSON list of the removed spans of the original, each ``{"start",
  "end", "kind", "index", "reason"}``, as in ``edits.jsonl`` (``[]`` unless kept).
- ``dlcot_tokens_before``, ``dlcot_tokens_after`` (int or None): token counts of the original
  and the pruned response (None with ``tokenizer="none"``; ``after`` is None unless kept).
- ``dlcot_sft`` (str or None): JSON of the SFT record in ``format`` (as a line of
  ``sft.jsonl``), None unless kept.

The results are those of ``Pipeline.process_batch`` on the same records, whatever the batch
size or ``num_proc``. Each process builds its own Pipeline on its first batch (the callable
pickles as its options only; the tokenizer never travels), so ``num_proc=N`` works with fork and
spawn alike, and datasets' cache fingerprint of the callable does not change once it has run.

Column types: ``datasets`` takes a column's type from the first batch it writes, and a first
batch where an added column is all None (no record kept: no ``dlcot_sft``) would fix it to null.
Pass ``features=fn.features(ds.features)`` to ``map``, or call :func:`prune_dataset`, which does
that (and gives each process one thread under ``num_proc``).

``import dlcot`` never imports ``datasets``, and this module imports it only in
:meth:`PruneBatch.features`.

>>> from dlcot.integrations.datasets import map_fn
>>> fn = map_fn("first-correct", tokenizer="none")
>>> out = fn({"problem": ["2+2?"], "response": ["2+2=4.\\n\\nAlternatively, 2+2=5.\\n\\n**Final Answer**\\n\\\\boxed{4}"], "answer": ["4"]})
>>> out["dlcot_status"], "2+2=5" in out["dlcot_response"][0]
(['kept'], False)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from dlcot.io import Record, _problem_text, _scalar_str
from dlcot.pipeline import FORMATS, POLICY_NAMES, Pipeline, sft_record

__all__ = ["COLUMNS", "PruneBatch", "map_fn", "prune_dataset"]

#: The columns :func:`map_fn`'s callable adds, in order.
COLUMNS = (
    "dlcot_status",
    "dlcot_response",
    "dlcot_edits",
    "dlcot_tokens_before",
    "dlcot_tokens_after",
    "dlcot_sft",
)


@dataclass(frozen=True)
class _Options:
    """The pruning options, validated on the driver; cheap to pickle."""

    policy: str
    keep_unsolvable: bool
    threshold: float
    symbolic: bool
    tokenizer: Optional[str]
    format: str
    num_threads: Optional[int]
    problem_column: Optional[str]
    response_column: str
    answer_column: Optional[str]
    id_column: Optional[str]

    def pipeline(self) -> Pipeline:
        return Pipeline(
            self.policy,
            keep_unsolvable=self.keep_unsolvable,
            threshold=self.threshold,
            symbolic=self.symbolic,
            tokenizer=self.tokenizer,
            format=self.format,
            num_threads=self.num_threads,
        )


def _options(
    policy: str,
    *,
    problem_column: Optional[str],
    response_column: str,
    answer_column: Optional[str],
    id_column: Optional[str],
    keep_unsolvable: bool,
    threshold: float,
    tokenizer: Union[None, str, os.PathLike],
    format: str,
    num_threads: Optional[int],
    symbolic: bool,
) -> _Options:
    """Checks the options where the call is made (not in a worker), as ``Pipeline`` would, and
    makes a tokenizer path absolute (workers may run in another directory)."""
    if policy not in POLICY_NAMES:
        raise ValueError(f"invalid `policy`: {policy!r}; choose one of {', '.join(POLICY_NAMES)}")
    if format not in FORMATS:
        raise ValueError(f"invalid `format`: {format!r}; choose one of {', '.join(FORMATS)}")
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"invalid `threshold`: must be in (0, 1], got {threshold}")
    if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
        raise ValueError(f"invalid `num_threads`: must be a positive int or None, got {num_threads!r}")
    if not isinstance(response_column, str):
        raise TypeError(f"`response_column` must be a str, got {type(response_column).__name__}")
    for name, value in (("problem_column", problem_column), ("answer_column", answer_column), ("id_column", id_column)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"`{name}` must be a str or None, got {type(value).__name__}")
    if tokenizer is None or tokenizer == "none":
        tok = tokenizer
    elif isinstance(tokenizer, (str, os.PathLike)):
        tok = os.path.abspath(os.fspath(tokenizer))
        if not (os.path.isfile(tok) or os.path.isfile(os.path.join(tok, "tokenizer.json"))):
            raise FileNotFoundError(f"invalid `tokenizer`: no tokenizer.json at {tokenizer}")
    else:
        raise TypeError(
            f"`tokenizer` must be None (the bundled tokenizer), \"none\" or a path to a tokenizer.json, "
            f"got {type(tokenizer).__name__}"
        )
    return _Options(
        policy=policy,
        keep_unsolvable=bool(keep_unsolvable),
        threshold=float(threshold),
        symbolic=bool(symbolic),
        tokenizer=tok,
        format=format,
        num_threads=num_threads,
        problem_column=problem_column,
        response_column=response_column,
        answer_column=answer_column,
        id_column=id_column,
    )


@functools.lru_cache(maxsize=1)
def _code_id() -> str:
    """A digest of the code that decides the output: dlcot's version, its Rust core and its
    Python modules. ``datasets`` names a map's cache by a hash of the pickled callable, so the
    digest in the pickled state keeps it from reusing results made by another dlcot (a rebuilt
    core included)."""
    import dlcot
    from dlcot import _core

    h = hashlib.sha256(dlcot.__version__.encode())
    root = Path(dlcot.__file__).parent
    for path in [Path(_core.__file__), *sorted(root.glob("*.py")), *sorted((root / "integrations").glob("*.py"))]:
        try:
            data = path.read_bytes()
        except OSError:  # pragma: no cover - an unreadable install: the version alone
            continue
        h.update(path.name.encode() + b"\0" + data)
    return h.hexdigest()[:16]


def _missing_column(arg: str, name: str, columns: Sequence[str]) -> str:
    hint = f"; pass {arg}=None if there is none" if arg in ("problem_column", "answer_column") else ""
    return f"invalid `{arg}`: the dataset has no column {name!r} (it has {list(columns)}){hint}"


class PruneBatch:
    """A batch of records -> the same batch with the :data:`COLUMNS` added.

    Made by :func:`map_fn` (see there). Picklable: its state is the options only; the Pipeline
    (which holds a Rust tokenizer) is built in each process on the first call.
    """

    def __init__(self, options: _Options):
        self.options = options
        self._pipeline: Optional[Pipeline] = None

    def __getstate__(self) -> dict:
        # the code digest makes datasets' cache fingerprint of a map change with dlcot itself
        return {"options": self.options, "code": _code_id()}

    def __setstate__(self, state: dict) -> None:
        self.options = state["options"]
        self._pipeline = None

    def __repr__(self) -> str:
        o = self.options
        return f"PruneBatch(policy={o.policy!r}, response_column={o.response_column!r}, format={o.format!r})"

    @property
    def pipeline(self) -> Pipeline:
        """This process's Pipeline, built on first use."""
        if self._pipeline is None:
            self._pipeline = self.options.pipeline()
        return self._pipeline

    def __call__(self, batch: Mapping[str, Sequence[Any]], indices: Optional[Sequence[int]] = None) -> Any:
        """Prunes a batch (a mapping of column name -> list of values).

        Args:
            batch: The batch, as ``Dataset.map(batched=True)`` passes it.
            indices: The rows' indices in the dataset (``Dataset.map(with_indices=True)``): the
                SFT record's id when there is no ``id_column``.

        Returns:
            The batch with the :data:`COLUMNS` added as lists (replaced if present): a copy of a
            plain dict; datasets' own batch object (or a DataFrame) is updated and returned, so
            that datasets re-writes only the columns read or added.
        """
        o = self.options
        columns = list(batch.keys())
        for arg, name in (
            ("response_column", o.response_column),
            ("problem_column", o.problem_column),
            ("answer_column", o.answer_column),
            ("id_column", o.id_column),
        ):
            if name is not None and name not in columns:
                raise ValueError(_missing_column(arg, name, columns))
        responses = list(batch[o.response_column])
        n = len(responses)
        problems = list(batch[o.problem_column]) if o.problem_column is not None else [None] * n
        answers = list(batch[o.answer_column]) if o.answer_column is not None else [None] * n
        ids = list(batch[o.id_column]) if o.id_column is not None else None
        if indices is not None:
            indices = list(indices)
            if len(indices) != n:
                raise ValueError(f"`indices` has {len(indices)} values for a batch of {n} rows")
        new = self.columns(problems, responses, answers, ids=ids, indices=indices)
        out: Any = dict(batch) if type(batch) is dict or not hasattr(batch, "__setitem__") else batch
        for k, v in new.items():
            out[k] = v
        return out

    def features(self, input_features: Any = None) -> Any:
        """The ``datasets.Features`` of the output: ``input_features`` (a dataset's
        ``features``) with the :data:`COLUMNS` added (replaced if present).

        Pass it as ``Dataset.map(..., features=fn.features(ds.features))``: without it,
        ``datasets`` takes each column's type from the first batch it writes, and a first batch
        in which a column is all None (no record kept, so no ``dlcot_sft``) fixes that column's
        type to null, so that a later value fails to be written.
        """
        try:
            from datasets import Features, Value  # type: ignore[import-untyped]
        except ImportError as e:  # pragma: no cover - exercised only without datasets
            raise ImportError("`features` needs Hugging Face datasets; install it with: pip install datasets") from e
        given = dict(input_features or {})
        rtype = given.get(self.options.response_column)
        text = "large_string" if isinstance(rtype, Value) and rtype.dtype == "large_string" else "string"
        types = {
            "dlcot_status": Value("string"),
            "dlcot_response": Value(text),
            "dlcot_edits": Value(text),
            "dlcot_tokens_before": Value("int64"),
            "dlcot_tokens_after": Value("int64"),
            "dlcot_sft": Value(text),
        }
        out = {k: v for k, v in given.items() if k not in types}
        out.update(types)
        return Features(out)

    def columns(
        self,
        problems: Sequence[Any],
        responses: Sequence[Any],
        answers: Sequence[Any],
        *,
        ids: Optional[Sequence[Any]] = None,
        indices: Optional[Sequence[int]] = None,
    ) -> dict[str, list]:
        """The :data:`COLUMNS` of the rows given column by column (all of one length)."""
        n = len(responses)
        status: list[str] = ["missing-field"] * n
        response: list[Any] = list(responses)
        edits: list[str] = ["[]"] * n
        before: list[Optional[int]] = [None] * n
        after: list[Optional[int]] = [None] * n
        sft: list[Optional[str]] = [None] * n
        todo: list[int] = []
        records: list[Record] = []
        for i, text in enumerate(responses):
            if not isinstance(text, str):
                if text is not None:
                    status[i] = "wrong-type"
                    response[i] = None  # the column holds str only
                continue
            index = indices[i] if indices is not None else i
            rid = _scalar_str(ids[i]) if ids is not None else (str(index) if indices is not None else None)
            records.append(
                Record(
                    id=rid,  # type: ignore[arg-type]  # None: no id column and no indices
                    problem=_problem_text(problems[i]),
                    response=text,
                    answer=_scalar_str(answers[i]),
                    index=index,
                    generation=None,
                    layout="dict",
                    raw_bytes=0,
                )
            )
            todo.append(i)
        if records:
            pipeline = self.pipeline
            for i, r in zip(todo, pipeline.process_batch(records)):
                status[i] = r.status
                before[i] = r.tokens_before
                if r.status == "kept":
                    response[i] = r.response
                    after[i] = r.tokens_after
                    sft[i] = json.dumps(sft_record(r.record, r.response, pipeline.format), ensure_ascii=False)
                    edits[i] = json.dumps(
                        [
                            {"start": e.start, "end": e.end, "kind": e.kind, "index": e.index, "reason": e.reason}
                            for e in r.pruned.edits
                        ],
                        ensure_ascii=False,
                    )
        return dict(zip(COLUMNS, (status, response, edits, before, after, sft)))


def map_fn(
    policy: str = "dlcot",
    *,
    problem_column: Optional[str] = "problem",
    response_column: str = "response",
    answer_column: Optional[str] = "answer",
    id_column: Optional[str] = None,
    keep_unsolvable: bool = False,
    threshold: float = 0.4,
    tokenizer: Union[None, str, os.PathLike] = None,
    format: str = "messages",
    num_threads: Optional[int] = None,
    symbolic: bool = True,
) -> PruneBatch:
    """A callable for ``Dataset.map(fn, batched=True)`` that prunes each record.

    Args:
        policy, keep_unsolvable, threshold, format, num_threads, symbolic: As in
            :class:`dlcot.Pipeline` (``num_threads`` per process: pass 1 under ``num_proc``).
        problem_column: The prompt column (str, or a conversation: its last user turn), or None
            if there is none (kept records are then "no-problem", except with
            ``format="parquet"``).
        response_column: The response column (str; None gives "missing-field").
        answer_column: The reference-answer column (str or number), or None if there is none
            (the policies that need one then reject every record as "no-reference").
        id_column: A column whose value (as text) becomes the SFT record's ``id``. Without it
            the id is the row index under ``Dataset.map(with_indices=True)``, else null.
        tokenizer: None for the bundled tokenizer, "none" for no token counts (fastest), or the
            path of a ``tokenizer.json`` (or a directory holding one) that every worker can read.

    Returns:
        A :class:`PruneBatch`: ``fn(batch)`` (or ``fn(batch, indices)``) returns the batch with
        the :data:`COLUMNS` added. The options are checked now; the Pipeline is built in each
        worker on its first batch.

    Example::

        import datasets
        from dlcot.integrations.datasets import map_fn

        ds = datasets.load_dataset("json", data_files="traces.jsonl", split="train")
        fn = map_fn("dlcot", id_column="id", num_threads=1)   # one thread per process
        ds = ds.map(fn, batched=True, batch_size=256, num_proc=8, features=fn.features(ds.features))
        kept = ds.filter(lambda s: [x == "kept" for x in s], input_columns="dlcot_status", batched=True)
    """
    return PruneBatch(
        _options(
            policy,
            problem_column=problem_column,
            response_column=response_column,
            answer_column=answer_column,
            id_column=id_column,
            keep_unsolvable=keep_unsolvable,
            threshold=threshold,
            tokenizer=tokenizer,
            format=format,
            num_threads=num_threads,
            symbolic=symbolic,
        )
    )


def prune_dataset(
    ds: Any,
    policy: str = "dlcot",
    *,
    problem_column: Optional[str] = "problem",
    response_column: str = "response",
    answer_column: Optional[str] = "answer",
    id_column: Optional[str] = None,
    keep_unsolvable: bool = False,
    threshold: float = 0.4,
    tokenizer: Union[None, str, os.PathLike] = None,
    format: str = "messages",
    num_threads: Optional[int] = None,
    symbolic: bool = True,
    batch_size: int = 256,
    num_proc: Optional[int] = None,
    **map_kwargs: Any,
) -> Any:
    """``ds.map(map_fn(...), batched=True, ...)`` with the output types set.

    Args:
        ds: A ``datasets.Dataset`` (or ``IterableDataset``).
        policy, problem_column, response_column, answer_column, id_column, keep_unsolvable,
            threshold, tokenizer, format, symbolic: As in :func:`map_fn`. Without
            ``id_column``, the SFT record's id is the row index.
        num_threads: Threads per process; None: all CPUs, or 1 when ``num_proc`` > 1.
        batch_size: Records per call.
        num_proc: Worker processes (``Dataset.map``'s ``num_proc``).
        map_kwargs: More ``Dataset.map`` arguments (``desc``, ``cache_file_name``, ...).

    Returns:
        ``ds`` with the :data:`COLUMNS` added, typed (``features=``) so that a first batch with
        a column all None does not fix its type to null.
    """
    if batch_size is None or batch_size < 1:
        raise ValueError(f"invalid `batch_size`: must be at least 1, got {batch_size}")
    if num_threads is None and num_proc is not None and num_proc > 1:
        num_threads = 1
    fn = map_fn(
        policy,
        problem_column=problem_column,
        response_column=response_column,
        answer_column=answer_column,
        id_column=id_column,
        keep_unsolvable=keep_unsolvable,
        threshold=threshold,
        tokenizer=tokenizer,
        format=format,
        num_threads=num_threads,
        symbolic=symbolic,
    )
    given = getattr(ds, "features", None)
    if given is not None:
        map_kwargs.setdefault("features", fn.features(given))
    if num_proc is not None:
        map_kwargs["num_proc"] = num_proc
    return ds.map(fn, batched=True, batch_size=batch_size, with_indices=id_column is None, **map_kwargs)
