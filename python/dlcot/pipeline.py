"""The main job: read -> parse/segment -> label -> cluster -> prune by a policy -> re-stitch ->
export, streaming and parallel.

The per-trace work (parsing, labels, near-duplicate clusters, the policy's cuts, re-stitching
and the check that the final answer is unchanged) is one Rust batch call,
:func:`dlcot.prune_batch`. This module adds what Python is for: settling undecided labels with
math-verify, token counts with a real tokenizer, the output formats, the run directory
(``sft.jsonl``, ``edits.jsonl``, ``rejects.jsonl``, ``stats.json``, ``report.html``) and
resumable runs.

>>> import dlcot
>>> p = dlcot.Pipeline(policy="first-correct", tokenizer="none")
>>> r = p.process({"problem": "2+2?", "response": "2+2=4, so the answer is 4.\\n\\nAlternatively, 2+2=5, so 5.\\n\\n**Final Answer**\\n\\\\boxed{4}", "answer": "4"})
>>> r.status, "2+2=5" in r.response
('kept', False)
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from dlcot._core import Pruned, parse, policies, prune, prune_batch
from dlcot.io import Record
from dlcot.tokens import TokenCounter, load_token_counter

FORMATS = ("messages", "sharegpt", "prompt-completion", "parquet")
POLICY_NAMES = tuple(name for name, _ in policies())


@dataclass(frozen=True)
class Result:
    """What became of one record.

    Attributes:
        record: The input record.
        status: "kept" (in ``sft.jsonl``), or the reject reason: "unsolvable" (no correct
            solution), "no-reference" (the policy needs a reference answer and the record has
            none), "no-problem" (nothing to put in the user turn).
        response: The pruned response (the original when nothing was cut).
        pruned: The core's outcome: edits (spans of the original), labels, clusters.
        tokens_before, tokens_after: Token counts of the original and pruned response (None
            without a tokenizer).
        fallback: True when the cut text's final answer would have differed, so the original
            was kept whole.
        judge: With a judging layer: its calls, cache hits and issues for this record.
    """

    record: Record
    status: str
    response: str
    pruned: Pruned
    tokens_before: Optional[int]
    tokens_after: Optional[int]
    fallback: bool = False
    efficiency: dict = field(default_factory=dict)
    judge: Optional[dict] = None


def _as_record(item: Union[Record, dict], index: int) -> Record:
    if isinstance(item, Record):
        return item
    if not isinstance(item, dict):
        raise TypeError(f"`records[{index}]` must be a dlcot.io.Record or a dict, got {type(item).__name__}")
    if not isinstance(item.get("response"), str):
        raise ValueError(f"`records[{index}]` has no str `response`")
    return Record(
        id=str(item.get("id", index)),
        problem=item.get("problem"),
        response=item["response"],
        answer=item.get("answer"),
        index=index,
        generation=None,
        layout="dict",
        raw_bytes=0,
    )


class Pipeline:
    """Prunes traces by a policy and exports SFT data.

    Args:
        policy: One of ``dlcot.POLICIES``: "dlcot" (default), "dedup-only", "first-correct",
            "first-correct-reflect", "none".
        keep_unsolvable: Keep traces with no correct solution (cutting repeats only) instead of
            rejecting them.
        threshold: Similarity at which two solutions (or checks) of a trace are repeats.
        symbolic: Settle labels the fast rules leave undecided with math-verify, if installed.
        tokenizer: None for the default tokenizer (see :mod:`dlcot.tokens`), "none" for no token
            counts, a path to a ``tokenizer.json``, or a :class:`TokenCounter`.
        format: SFT record format: "messages", "sharegpt", "prompt-completion" or "parquet".
        num_threads: Threads for the Rust core and the tokenizer.
        judging: A :class:`dlcot.judge.Judging`: model-based decisions (semantic clusters,
            correctness where the rules are undecided, wrong-step spans with ``fix_errors``)
            that the pruner takes instead of the rules' where it has them. None: rules only.
        smooth_joins: With a judging layer that has an LLM judge: rewrite the first sentence
            after each cut where it refers to what was cut (a rewrite that changes a number or
            touches the boxed answer is refused and the sentence kept).
    """

    def __init__(
        self,
        policy: str = "dlcot",
        *,
        keep_unsolvable: bool = False,
        threshold: float = 0.4,
        symbolic: bool = True,
        tokenizer: Union[None, str, os.PathLike, TokenCounter] = None,
        format: str = "messages",
        num_threads: Optional[int] = None,
        judging: Any = None,
        smooth_joins: bool = False,
    ):
        if policy not in POLICY_NAMES:
            raise ValueError(f"invalid `policy`: {policy!r}; choose one of {', '.join(POLICY_NAMES)}")
        if format not in FORMATS:
            raise ValueError(f"invalid `format`: {format!r}; choose one of {', '.join(FORMATS)}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"invalid `threshold`: must be in (0, 1], got {threshold}")
        self.policy = policy
        self.keep_unsolvable = keep_unsolvable
        self.threshold = threshold
        self.format = format
        self.num_threads = num_threads
        self.symbolic = symbolic and _symbolic_available()
        self.tokens: Optional[TokenCounter] = (
            tokenizer if isinstance(tokenizer, TokenCounter) else load_token_counter(tokenizer, num_threads=num_threads)
        )
        self._needs_reference = policy in ("dlcot", "first-correct", "first-correct-reflect")
        self.judging = judging
        if smooth_joins and (judging is None or getattr(judging, "judge", None) is None):
            raise ValueError("`smooth_joins` needs `judging` with an LLM judge")
        self.smooth_joins = smooth_joins

    # ---- options, for run directories ------------------------------------------------------

    def options(self) -> dict:
        """The options that decide the output (a resumed run must use the same)."""
        return {
            "policy": self.policy,
            "keep_unsolvable": self.keep_unsolvable,
            "threshold": self.threshold,
            "symbolic": self.symbolic,
            "tokenizer": self.tokens.name if self.tokens else None,
            "format": self.format,
        } | ({"judging": self.judging.options() | {"smooth_joins": self.smooth_joins}} if self.judging is not None else {})

    # ---- processing -------------------------------------------------------------------------

    def process(self, record: Union[Record, dict]) -> Result:
        """Prunes one record."""
        return self.process_batch([record])[0]

    def process_batch(self, records: Sequence[Union[Record, dict]]) -> list[Result]:
        """Prunes many records (the Rust part in parallel), results in input order."""
        recs = [_as_record(r, i) for i, r in enumerate(records)]
        return self._complete(recs, self._prune(recs))

    def _prune(self, recs: Sequence[Record]) -> list[Pruned]:
        """The Rust stage: parse, label, cluster, prune, stitch (GIL released; thread-safe)."""
        if not recs:
            return []
        return prune_batch(
            [r.response for r in recs],
            problems=[r.problem for r in recs],
            references=[r.answer for r in recs],
            policy=self.policy,
            keep_unsolvable=self.keep_unsolvable,
            threshold=self.threshold,
            num_threads=self.num_threads,
        )

    def _complete(self, recs: Sequence[Record], outs: Sequence[Pruned]) -> list[Result]:
        """The Python stage: math-verify for undecided labels, the judging layer, token counts.
        Runs in the main thread in a run (math-verify's timeout uses SIGALRM, main thread only)."""
        if not recs:
            return []
        outs = [self._settle(r, o) for r, o in zip(recs, outs)]
        decisions = self._judge(recs, outs) if self.judging is not None else [None] * len(recs)
        if self.judging is not None:
            outs = self._apply(recs, outs, decisions)
        texts_before = [r.response for r in recs]
        texts_after = [o.text for o in outs]
        smoothed: dict[int, list[str]] = {}
        if self.smooth_joins:
            todo = [i for i, o in enumerate(outs) if o.status == "kept" and o.joins]
            for i, (text, issues) in zip(todo, self.judging.smooth_batch([(texts_after[i], outs[i].joins) for i in todo])):
                smoothed[i] = issues
                texts_after[i] = text
        if self.tokens is not None:
            # one batch: every original, every changed output, and the spans the efficiency
            # metrics need (up to the first correct solution; each distinct solution)
            parts, owners = _efficiency_parts(texts_before, outs)
            changed = [i for i, o in enumerate(outs) if o.edits or i in smoothed]
            n = len(recs)
            flat = self.tokens.count(texts_before + [texts_after[i] for i in changed] + parts)
            before = flat[:n]
            recount = dict(zip(changed, flat[n : n + len(changed)]))
            after = [recount.get(i, before[i]) for i in range(n)]
            effs = _efficiency(before, owners, flat[n + len(changed) :])
        else:
            before, after, effs = [None] * len(recs), [None] * len(recs), [{}] * len(recs)
        results = []
        for k, (r, o, c, a, eff, d) in enumerate(zip(recs, outs, before, after, effs, decisions)):
            status = o.status
            fallback = status == "answer-changed"
            if fallback:
                status = "kept"
            if status == "unsolvable" and r.answer is None:
                status = "no-reference"
            if status == "kept" and not (r.problem and r.problem.strip()) and self.format != "parquet":
                status = "no-problem"
            results.append(
                Result(
                    record=r,
                    status=status,
                    response=texts_after[k],
                    pruned=o,
                    tokens_before=c,
                    tokens_after=a,
                    fallback=fallback,
                    efficiency=eff,
                    judge=_judge_summary(d, smoothed.get(k), k in smoothed and texts_after[k] != o.text),
                )
            )
        return results

    def _judge(self, recs: Sequence[Record], outs: Sequence[Pruned]) -> list:
        """The judging layer's decisions for each record, given the labels the rules (and
        math-verify) settled, so a model is asked only what they left open."""
        from dlcot._core import parse_batch

        traces = parse_batch(
            [r.response for r in recs], problems=[r.problem for r in recs], references=[r.answer for r in recs], num_threads=self.num_threads
        )
        settled = [[None if x == "undecided" else x for x in o.labels] for o in outs]
        return self.judging.decide_batch(recs, traces, labels=settled)

    def _apply(self, recs: Sequence[Record], outs: Sequence[Pruned], decisions: Sequence) -> list[Pruned]:
        """Re-prunes the records whose decisions differ from what the rules decided."""
        todo = []
        for i, (o, d) in enumerate(zip(outs, decisions)):
            labels = list(o.labels)
            if d.labels is not None:
                labels = [j or x for j, x in zip(d.labels, labels)] + labels[len(d.labels) :]
            sol = d.solution_clusters if d.solution_clusters is not None and d.solution_clusters != o.solution_leaders else None
            chk = d.check_clusters if d.check_clusters is not None and d.check_clusters != o.check_leaders else None
            if labels != list(o.labels) or sol is not None or chk is not None or d.error_spans:
                todo.append((i, [x or "undecided" for x in labels], sol, chk, list(d.error_spans) or None))
        if not todo:
            return list(outs)
        redone = prune_batch(
            [recs[i].response for i, *_ in todo],
            problems=[recs[i].problem for i, *_ in todo],
            references=[recs[i].answer for i, *_ in todo],
            policy=self.policy,
            keep_unsolvable=self.keep_unsolvable,
            threshold=self.threshold,
            num_threads=self.num_threads,
            labels=[t[1] for t in todo],
            solution_leaders=[t[2] for t in todo],
            check_leaders=[t[3] for t in todo],
            error_spans=[t[4] for t in todo],
        )
        out = list(outs)
        for (i, *_), o in zip(todo, redone):
            out[i] = o
        return out

    def _settle(self, r: Record, o: Pruned) -> Pruned:
        """Re-prunes with math-verify's verdicts where the fast rules left a label undecided
        and the label can change the outcome: before the first correct solution (it may be
        the real first correct one) and, for the ``dlcot`` policy, after it (an incorrect
        solution there is cut). Verdicts are cached per (answer, reference)."""
        if not self.symbolic or r.answer is None or self.policy in ("none", "dedup-only") or "undecided" not in o.labels:
            return o
        fc = o.labels.index("correct") if "correct" in o.labels else None
        todo = [
            i
            for i, label in enumerate(o.labels)
            if label == "undecided" and (fc is None or i < fc or self.policy == "dlcot")
        ]
        if not todo:
            return o
        trace = parse(r.response, problem=r.problem, reference=r.answer)
        labels = list(o.labels)
        for i in todo:
            answer = trace.solutions[i].answer if i < len(trace.solutions) else None
            if answer is not None:
                labels[i] = "correct" if _verify_cached(answer, r.answer) else "incorrect"
        if labels == list(o.labels):
            return o
        return prune(
            r.response,
            problem=r.problem,
            reference=r.answer,
            policy=self.policy,
            keep_unsolvable=self.keep_unsolvable,
            threshold=self.threshold,
            labels=[label or "undecided" for label in labels],
        )

    # ---- export -------------------------------------------------------------------------------

    def sft_record(self, result: Result) -> dict:
        """The SFT record of a kept result, in this pipeline's format."""
        # the Rust-built turn, unless a smoothing pass rewrote the text since
        assistant = result.pruned.assistant if not self.smooth_joins or result.response == result.pruned.text else None
        return sft_record(result.record, result.response, self.format, assistant)

    def edit_record(self, result: Result) -> dict:
        """The ``edits.jsonl`` line of a result: every removed span, with its reason."""
        r, o = result.record, result.pruned
        return {
            "id": r.id,
            "index": r.index,
            "generation": r.generation,
            "status": result.status,
            "fallback": result.fallback,
            "policy": o.policy,
            "tokens_before": result.tokens_before,
            "tokens_after": result.tokens_after if result.status == "kept" else None,
            "chars_before": o.chars_before,
            "chars_after": (o.chars_after if not self.smooth_joins or result.response == o.text else len(result.response)) if result.status == "kept" else None,
            "solutions": len(o.labels),
            "checks": len(o.check_leaders),
            "labels": o.labels,
            "first_correct": o.first_correct,
            "solution_leaders": o.solution_leaders,
            "check_leaders": o.check_leaders,
            "efficiency": result.efficiency,
            **({"judge": result.judge} if result.judge is not None else {}),
            "edits": [
                {"start": e.start, "end": e.end, "kind": e.kind, "index": e.index, "reason": e.reason}
                for e in (o.edits if result.status == "kept" else [])
            ],
        }

    def run(self, input: Union[str, os.PathLike, Sequence[str]], output_dir: Union[str, os.PathLike], **kw: Any):
        """Runs the whole job on files into ``output_dir`` (see :func:`dlcot.run.run`)."""
        from dlcot.run import run

        paths = [str(input)] if isinstance(input, (str, os.PathLike)) else [str(p) for p in input]
        return run(self, paths, output_dir, **kw)


@functools.lru_cache(maxsize=65536)
def _verify_cached(answer: str, reference: str) -> bool:
    from dlcot.verification import verify

    return verify(answer, reference)


def _symbolic_available() -> bool:
    from dlcot.verification import symbolic_available

    return symbolic_available()


def _judge_summary(d: Any, smooth_issues: Optional[list] = None, smoothed: bool = False) -> Optional[dict]:
    if d is None:
        return None
    extra = {} if smooth_issues is None else {"smoothed": smoothed}
    return extra | {
        "calls": d.calls,
        "cache_hits": d.cache_hits,
        "failures": d.failures,
        "malformed": d.malformed,
        "tokens": d.tokens,
        "error_spans": len(d.error_spans),
        "issues": list(d.issues) + list(smooth_issues or ()),
    }


def split_response(text: str) -> tuple[str, str]:
    """(reasoning, summary) of a response, whatever its delimiters."""
    t = parse(text)
    rs, re_ = t.reasoning_span
    ss, se = t.summary_span
    return text[rs:re_].strip(), text[ss:se].strip()


def assistant_turn(response: str) -> str:
    """The response as ``<think>\\n{reasoning}\\n</think>\\n\\n{summary}``."""
    reasoning, summary = split_response(response)
    out = f"<think>\n{reasoning}\n</think>"
    return out + (f"\n\n{summary}" if summary else "")


def sft_record(record: Record, response: str, fmt: str, assistant: Optional[str] = None) -> dict:
    """One SFT record of ``record`` with ``response`` as the assistant turn (``assistant``: that
    turn already built, as :attr:`Pruned.assistant` holds it)."""
    problem = record.problem or ""
    if assistant is None:
        assistant = assistant_turn(response)
    if fmt == "messages":
        return {
            "id": record.id,
            "messages": [{"role": "user", "content": problem}, {"role": "assistant", "content": assistant}],
        }
    if fmt == "sharegpt":
        return {"id": record.id, "conversations": [{"from": "human", "value": problem}, {"from": "gpt", "value": assistant}]}
    if fmt in ("prompt-completion", "parquet"):
        return {"id": record.id, "prompt": problem, "completion": assistant, "answer": record.answer}
    raise ValueError(f"invalid `format`: {fmt!r}")


def _efficiency_parts(texts: Sequence[str], outs: Sequence[Pruned]) -> tuple[list[str], list[tuple[int, str]]]:
    """The texts whose token counts Chen et al. 2024's efficiency metrics need, and whose they
    are: each response up to the end of its first correct solution, and each distinct solution
    (the leader of its near-duplicate cluster)."""
    parts: list[str] = []
    owners: list[tuple[int, str]] = []
    for i, (text, o) in enumerate(zip(texts, outs)):
        if not o.labels:
            continue
        spans = o.solution_spans
        if o.first_correct is not None and o.first_correct < len(spans):
            parts.append(text[: spans[o.first_correct][1]])
            owners.append((i, "to_first_correct"))
        for k, (start, end) in enumerate(spans):
            if k < len(o.solution_leaders) and o.solution_leaders[k] == k:
                parts.append(text[start:end])
                owners.append((i, "distinct"))
    return parts, owners


def _efficiency(before: Sequence[int], owners, counts: Sequence[int]) -> list[dict]:
    """Per response: total tokens, tokens up to the end of the first correct solution (outcome
    efficiency's numerator) and tokens of distinct solutions (process efficiency's)."""
    effs: list[dict] = [{} for _ in before]
    for (i, what), c in zip(owners, counts):
        e = effs[i]
        if not e:
            e["tokens"] = before[i]
            e["distinct_solution_tokens"] = 0
        if what == "to_first_correct":
            e["tokens_to_first_correct"] = c
        else:
            e["distinct_solution_tokens"] += c
    return effs
