"""The judging layer: where the rules are unsure, ask a model; where the model fails, keep the
rules' decision.

:class:`Judging` takes parsed traces (labelled against their reference by the Rust core) and
returns one :class:`Decisions` per trace: near-duplicate clusters of solutions and checks
(lexical, semantic or both), label overrides for solutions the rules could not decide, error
spans on the main path, and segmentation hints, with every problem as an ``issues`` entry and
the calls counted. Judge calls of a whole batch go out together, in waves (labels, hints and
approach pairs first, then the pairs a changed clustering asks about, then errors, which need
the labels), through the client's bounded concurrency and the on-disk cache.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np

from dlcot.judge._align import align_quote
from dlcot.judge._cache import JudgeCache, cache_key
from dlcot.judge._clients import Completion, JudgeClient, Request
from dlcot.judge._templates import TASKS, MalformedOutput, Template, load_templates, parse_reply

CLUSTER_MODES = ("lexical", "semantic", "both")

#: Lexical threshold: `Trace.cluster_solutions`' default (bench/results/cluster.md).
LEXICAL_THRESHOLD = 0.4
#: Cosine threshold of the semantic signal (bench/results/semantic.md: chosen on the dev pairs).
SEMANTIC_THRESHOLD = 0.875
#: Where a signal is unsure (LLM approach judge asked): [low, high) per signal (semantic.md).
BANDS = {"lexical": (0.2, 0.6), "semantic": (0.8, 0.95)}


@dataclass(frozen=True)
class Decisions:
    """What the judging layer decided for one trace.

    Attributes:
        solution_clusters, check_clusters: The leader (first member) of each solution's (check's)
            cluster; leaders map to themselves (as :class:`dlcot.Clusters`). None: no solutions
            (checks).
        solution_scores, check_scores: Each part's similarity to its leader (1.0 for leaders; for
            a pair the LLM judged "same", the rule score it had).
        labels: Per solution, "correct"/"incorrect" from the correctness judge, None where the
            rules' label stands. None when no correctness judging ran.
        error_spans: (solution index, start, end): ``str`` offsets into the trace text of
            calculation or derivation errors the judge quoted and dlcot placed.
        segment_hints: (kind, index, role): a "check" the judge reads as a new "solution", or a
            "solution" it reads as a "check" or a "continuation" (not applied by the rules).
        issues: Malformed replies, failed calls, quotes that could not be placed.
        calls, cache_hits, failures, malformed, tokens: Requests sent (not cached), answered
            from the cache, failed after retries, answered with unusable replies; prompt +
            completion tokens of the requests sent.
        tasks: Requests (sent or cached) per judge task.
    """

    solution_clusters: Optional[list[int]]
    check_clusters: Optional[list[int]]
    solution_scores: Optional[list[float]] = None
    check_scores: Optional[list[float]] = None
    labels: Optional[list[Optional[str]]] = None
    error_spans: list[tuple[int, int, int]] = field(default_factory=list)
    segment_hints: list[tuple[str, int, str]] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    malformed: int = 0
    tokens: int = 0
    tasks: dict[str, int] = field(default_factory=dict)


@dataclass
class JudgeStats:
    """Running totals over a :class:`Judging`'s life (what the progress bar shows)."""

    requests: int = 0
    calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    malformed: int = 0
    tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


# ---- lexical similarity, as rust/src/cluster.rs computes it --------------------------------


class _Lexical:
    """Word 3-gram Jaccard, or the larger of it and the token-set ratio when both parts are
    shorter than 8 word units: ``Trace.cluster_solutions``' similarity at its defaults."""

    def __init__(self, ngram: int = 3, short: int = 8):
        from dlcot import MinHasher, token_set_ratio

        self.ngram, self.short = ngram, short
        self._sh = MinHasher(num_perm=1, ngram=ngram)
        self._units = MinHasher(num_perm=1, ngram=1)
        self._tsr = token_set_ratio

    def prepare(self, text: str) -> tuple[frozenset, int, str]:
        units = self._units.shingles(text)
        return frozenset(self._sh.shingle_hashes(text).tolist()), len(units), " ".join(units)

    def score(self, a: tuple[frozenset, int, str], b: tuple[frozenset, int, str]) -> float:
        (sa, ua, ja), (sb, ub, jb) = a, b
        inter = len(sa & sb)
        union = len(sa) + len(sb) - inter
        j = inter / union if union else 1.0
        if ua == 0 or ub == 0:
            return 1.0 if ua == ub else 0.0
        if ua < self.short and ub < self.short:
            return max(j, self._tsr(ja, jb) / 100.0)
        return j


# ---- per-trace state ---------------------------------------------------------------------------


class _Parts:
    """The solutions or the checks of one trace, with the signals between them."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        self.lex: Optional[list] = None
        self.vec: Optional[np.ndarray] = None
        self.verdicts: dict[tuple[int, int], bool] = {}
        self.memo: dict[tuple[int, int], tuple[bool, float, bool]] = {}
        self.asked: set[tuple[int, int]] = set()
        self.pending: list[tuple[int, int]] = []
        self.leaders: Optional[list[int]] = None
        self.scores: Optional[list[float]] = None


class _Sink:
    """Where the calls made for one trace (or one smoothed text) are counted."""

    def __init__(self) -> None:
        self.issues: list[str] = []
        self.tasks: dict[str, int] = {}
        self.calls = self.hits = self.failures = self.malformed = self.tokens = 0


class _State(_Sink):
    def __init__(self, index: int, record: Any, trace: Any, labels: Optional[Sequence[Optional[str]]] = None):
        super().__init__()
        self.index = index
        self.trace = trace
        self.text: str = trace.text
        problem = trace.problem
        if problem is None and record is not None:
            problem = record.get("problem") if isinstance(record, dict) else getattr(record, "problem", None)
        self.problem: str = problem or ""
        self.reference = trace.reference
        self.solutions = trace.solutions
        self.checks = trace.checks
        self.sols = _Parts([self.text[s.start : s.end] for s in self.solutions])
        self.chks = _Parts([self.text[c.start : c.end] for c in self.checks])
        self.labels: Optional[list[Optional[str]]] = None
        self.rule_labels: list[Optional[str]] = list(labels) if labels is not None else [s.label for s in self.solutions]
        self.error_spans: list[tuple[int, int, int]] = []
        self.hints: list[tuple[str, int, str]] = []
        self.pair_budget = {"solution": 0, "check": 0}

    def final_labels(self) -> list[Optional[str]]:
        rule = self.rule_labels
        if self.labels is None:
            return rule
        return [j if j is not None else r for j, r in zip(self.labels, rule)]


@dataclass
class _Job:
    state: Any  # a _State, or a _Sink for smoothing
    task: str
    what: str  # e.g. "solution 3", for issues
    values: dict[str, str]
    handle: Callable[[Any], None]


# ---- the engine --------------------------------------------------------------------------------


class Judging:
    """Model-based judges behind the rules: semantic clustering and LLM judge tasks.

    Args:
        cluster: "lexical" (the rules' word 3-gram similarity), "semantic" (embedding cosine) or
            "both" (same when either signal is sure).
        embedder: An :class:`Embedder` (or anything with ``encode(texts) -> (n, d)`` unit
            vectors); None: the packaged all-MiniLM-L6-v2, loaded when first needed.
        judge: A :class:`JudgeClient` (:class:`HTTPJudge`, :class:`LocalJudge`); None: no LLM.
        tasks: Judge tasks to run (of "segment", "correctness", "errors", "approach");
            default: correctness and approach, plus errors with ``fix_errors``.
        fix_errors: Find calculation/derivation error spans on the main path (needs ``judge``).
        cache: A :class:`JudgeCache`, a path to one, or None (no cache).
        threshold: Lexical similarity at which two parts are repeats (the rules' 0.4).
        semantic_threshold: Cosine at which two parts are repeats.
        bands: Per signal, the [low, high) range where it is unsure: with an approach judge,
            pairs no signal is sure about go to the judge (sure: some signal >= its high; sure
            not: every signal < its low).
        max_pairs: Approach-judge calls per trace and kind, at most.
        max_segment_calls, max_label_calls, max_error_calls: Segmentation / correctness / error
            calls per trace, at most (the rules decide the rest; an issue says so).
        label_scope: "all" undecided solutions, or "main-path" (before the rules' first correct
            solution only).
        error_scope: "main-path" (incorrect solutions before the first correct one, and those the
            model itself abandons with a restart) or "all" (every such solution).
        templates: Template overrides (see :func:`load_templates`).
        max_chars: Characters of a solution shown to the judge (head and tail kept).
        progress: Show a progress bar of judge calls, cache hits and tokens on stderr (a
            terminal only).

    >>> j = Judging("lexical")
    >>> import dlcot
    >>> t = dlcot.parse("2+2=4, so 4.\\n\\nAlternatively, 2+2=4, so 4.\\n</think>\\n\\n\\\\boxed{4}")
    >>> j.decide_batch([None], [t])[0].solution_clusters
    [0, 0]
    """

    def __init__(
        self,
        cluster: str = "lexical",
        *,
        embedder: Any = None,
        judge: Optional[JudgeClient] = None,
        tasks: Optional[Sequence[str]] = None,
        fix_errors: bool = False,
        cache: Union[None, str, os.PathLike, JudgeCache] = None,
        threshold: float = LEXICAL_THRESHOLD,
        semantic_threshold: float = SEMANTIC_THRESHOLD,
        bands: Optional[dict[str, tuple[float, float]]] = None,
        max_pairs: int = 24,
        max_segment_calls: int = 8,
        max_label_calls: int = 16,
        max_error_calls: int = 16,
        label_scope: str = "all",
        error_scope: str = "main-path",
        templates: Union[None, str, os.PathLike, dict] = None,
        max_chars: int = 6000,
        progress: bool = False,
    ):
        if cluster not in CLUSTER_MODES:
            raise ValueError(f"invalid `cluster`: {cluster!r}; choose lexical, semantic or both")
        if judge is not None and not isinstance(judge, JudgeClient):
            raise TypeError(f"`judge` must be a dlcot.judge.JudgeClient, got {type(judge).__name__}")
        if fix_errors and judge is None:
            raise ValueError("`fix_errors` needs `judge` (an HTTPJudge or a LocalJudge)")
        if tasks is None:
            tasks = ("correctness", "approach") + (("errors",) if fix_errors else ())
        tasks = tuple(tasks)
        for t in tasks:
            if t not in TASKS or t == "smooth":
                raise ValueError(f"invalid `tasks`: {t!r}; choose from segment, correctness, errors, approach")
        for name, v in (("threshold", threshold), ("semantic_threshold", semantic_threshold)):
            if not 0.0 < float(v) <= 1.0:
                raise ValueError(f"invalid `{name}`: must be in (0, 1], got {v}")
        if label_scope not in ("all", "main-path"):
            raise ValueError(f"invalid `label_scope`: {label_scope!r}; choose all or main-path")
        if error_scope not in ("all", "main-path"):
            raise ValueError(f"invalid `error_scope`: {error_scope!r}; choose all or main-path")
        b = dict(BANDS)
        b.update(bands or {})
        for k, (lo, hi) in b.items():
            if k not in BANDS or not 0.0 <= lo <= hi <= 1.0:
                raise ValueError(f"invalid `bands[{k!r}]`: a known signal with 0 <= low <= high <= 1")
        self.cluster = cluster
        self._embedder = embedder
        self.judge = judge
        self.tasks = tasks if judge is not None else ()
        self.fix_errors = fix_errors
        self.cache = JudgeCache(cache) if isinstance(cache, (str, os.PathLike)) else cache
        self.threshold = float(threshold)
        self.semantic_threshold = float(semantic_threshold)
        self.bands = b
        self.max_pairs = max_pairs
        self.max_segment_calls = max_segment_calls
        self.max_label_calls = max_label_calls
        self.max_error_calls = max_error_calls
        self.label_scope = label_scope
        self.error_scope = error_scope
        self.templates: dict[str, Template] = load_templates(templates)
        self.max_chars = max_chars
        self.progress = progress
        self.stats = JudgeStats()
        self._lock = threading.Lock()
        self._lexical: Optional[_Lexical] = None
        self._bar: Any = None

    # ---- options, for run directories -------------------------------------------------------

    def close(self) -> None:
        """Frees the judge's connections or model and closes the reply cache."""
        if self.judge is not None:
            self.judge.close()
        if self.cache is not None:
            self.cache.close()

    def options(self) -> dict[str, Any]:
        """The options that decide the output (a resumed run must use the same); no URL, no key."""
        j = self.judge
        return {
            "cluster": self.cluster,
            "threshold": self.threshold,
            "semantic_threshold": self.semantic_threshold if self.cluster != "lexical" else None,
            "embedder": getattr(self._embedder, "name", "all-MiniLM-L6-v2") if self.cluster != "lexical" else None,
            "judge": None if j is None else {"backend": j.backend, "model": j.model},
            "tasks": list(self.tasks),
            "fix_errors": self.fix_errors,
            "templates": {t: self.templates[t].version for t in self.tasks},
        }

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from dlcot.judge._embed import Embedder

            self._embedder = Embedder()
        return self._embedder

    # ---- the batch ------------------------------------------------------------------------

    def decide(self, record: Any, trace: Any, *, labels: Optional[Sequence[Optional[str]]] = None) -> Decisions:
        """:meth:`decide_batch` of one trace."""
        return self.decide_batch([record], [trace], labels=None if labels is None else [labels])[0]

    def decide_batch(
        self,
        records: Optional[Sequence[Any]],
        traces: Sequence[Any],
        *,
        labels: Optional[Sequence[Optional[Sequence[Optional[str]]]]] = None,
    ) -> list[Decisions]:
        """One :class:`Decisions` per trace, in input order.

        Args:
            records: The input records (dicts or :class:`dlcot.io.Record`; they give the problem
                when a trace was parsed without one), or None.
            traces: :class:`dlcot.Trace` objects, parsed with ``reference=`` where there is one
                (the rules' labels come from it).
            labels: Per trace, the labels decided so far (one per solution: "correct",
                "incorrect", "incomplete", "undecided" or None), e.g. after math-verify settled
                some; None (or a None item): the trace's own fast labels. The correctness
                judge takes the "undecided"/None ones.
        """
        states = self._states(records, traces, labels)
        if not states:
            return []
        with self._progress_bar():
            self._signals(states)
            jobs: list[_Job] = []
            if "correctness" in self.tasks:
                jobs += self._label_jobs(states)
            if "segment" in self.tasks:
                jobs += self._segment_jobs(states)
            for st in states:
                self._cluster_state(st)
            jobs += self._approach_jobs(states)
            self._run(jobs)
            # pairs the judged verdicts made the clustering ask about (a new leader, say)
            for _ in range(3):
                for st in states:
                    self._cluster_state(st)
                more = self._approach_jobs(states)
                if not more:
                    break
                self._run(more)
            for st in states:
                self._cluster_state(st, final=True)
            if "errors" in self.tasks:
                self._run(self._error_jobs(states))
        return [self._decisions(st) for st in states]

    def needs(
        self,
        records: Optional[Sequence[Any]],
        traces: Sequence[Any],
        *,
        labels: Optional[Sequence[Optional[Sequence[Optional[str]]]]] = None,
    ) -> list[dict[str, int]]:
        """Per trace, the judge requests each task would make in its first wave (what the
        rules leave undecided), without calling anything: correctness (undecided solutions),
        segment (ambiguous units), approach (pairs no signal is sure about, against the rules'
        leaders), errors (main-path solutions the rules label incorrect or that the model
        abandons). Needs no judge; "semantic"/"both" need the embedder.
        """
        states, jobs = self._plan(records, traces, labels)
        out: list[dict[str, int]] = [{t: 0 for t in ("segment", "correctness", "errors", "approach")} for _ in states]
        for job in jobs:
            out[job.state.index][job.task] += 1
        return out

    def _plan(
        self, records: Optional[Sequence[Any]], traces: Sequence[Any], labels: Any = None
    ) -> tuple[list[_State], list[_Job]]:
        saved = self.tasks
        self.tasks = ("segment", "correctness", "errors", "approach")
        try:
            states = self._states(records, traces, labels)
            self._signals(states)
            jobs = self._label_jobs(states) + self._segment_jobs(states)
            for st in states:
                self._cluster_state(st)
            jobs += self._approach_jobs(states) + self._error_jobs(states)
        finally:
            self.tasks = saved
        return states, jobs

    def _states(self, records: Optional[Sequence[Any]], traces: Sequence[Any], labels: Any = None) -> list[_State]:
        if isinstance(traces, (str, bytes)) or not isinstance(traces, Sequence):
            raise TypeError("`traces` must be a sequence of dlcot.Trace")
        if records is None:
            records = [None] * len(traces)
        if len(records) != len(traces):
            raise ValueError(f"`records` has {len(records)} items but `traces` has {len(traces)}")
        if labels is not None and len(labels) != len(traces):
            raise ValueError(f"`labels` has {len(labels)} items but `traces` has {len(traces)}")
        states = []
        for i, (r, t) in enumerate(zip(records, traces)):
            if not hasattr(t, "solutions") or not hasattr(t, "checks"):
                raise TypeError(f"`traces[{i}]` must be a dlcot.Trace, got {type(t).__name__}")
            given = None if labels is None else labels[i]
            if given is not None and len(given) != len(t.solutions):
                raise ValueError(f"`labels[{i}]` has {len(given)} labels but the trace has {len(t.solutions)} solutions")
            states.append(_State(i, r, t, given))
        return states

    # ---- signals and clustering -------------------------------------------------------------

    def _uses(self, signal: str) -> bool:
        return self.cluster in (signal, "both")

    def _signals(self, states: list[_State]) -> None:
        judged = "approach" in self.tasks
        fast = self.cluster == "lexical" and not judged
        if fast:
            for st in states:
                cl = st.trace.cluster_solutions(self.threshold)
                st.sols.leaders, st.sols.scores = list(cl.solutions), list(cl.solution_scores)
                st.chks.leaders, st.chks.scores = list(cl.checks), list(cl.check_scores)
            return
        if self._uses("lexical"):
            if self._lexical is None:
                self._lexical = _Lexical()
            for st in states:
                for parts in (st.sols, st.chks):
                    parts.lex = [self._lexical.prepare(t) for t in parts.texts]
        if self._uses("semantic"):
            texts: list[str] = []
            for st in states:
                texts += st.sols.texts + st.chks.texts
            vecs = np.asarray(self.embedder.encode(texts), dtype=np.float32) if texts else np.zeros((0, 1), np.float32)
            k = 0
            for st in states:
                for parts in (st.sols, st.chks):
                    parts.vec = vecs[k : k + len(parts.texts)]
                    k += len(parts.texts)

    def _pair(self, parts: _Parts, i: int, j: int) -> tuple[bool, float, bool]:
        """(same by the rules, score, unsure) of parts i and j."""
        hit = parts.memo.get((i, j))
        if hit is not None:
            return hit
        signals: list[tuple[str, float, float]] = []
        if parts.lex is not None:
            signals.append(("lexical", self._lexical.score(parts.lex[i], parts.lex[j]), self.threshold))  # type: ignore[union-attr]
        if parts.vec is not None:
            signals.append(("semantic", float(np.dot(parts.vec[i], parts.vec[j])), self.semantic_threshold))
        same = any(s >= t for _, s, t in signals)
        score = max(s for _, s, t in signals if s >= t or not same)
        sure_same = any(s >= self.bands[k][1] for k, s, _ in signals)
        sure_diff = all(s < self.bands[k][0] for k, s, _ in signals)
        out = parts.memo[(i, j)] = (same, score, not (sure_same or sure_diff))
        return out

    def _cluster_state(self, st: _State, final: bool = False) -> None:
        for kind, parts in (("solution", st.sols), ("check", st.chks)):
            if parts.lex is None and parts.vec is None:
                continue  # the Rust clusters stand
            judged = "approach" in self.tasks
            lead: list[int] = []
            of: list[int] = []
            scores: list[float] = []
            parts.pending = []
            for i in range(len(parts.texts)):
                for l in lead:
                    same, score, unsure = self._pair(parts, i, l)
                    v = parts.verdicts.get((i, l))
                    if v is not None:
                        same = v
                    elif (
                        judged and unsure and not final and (i, l) not in parts.asked
                        and st.pair_budget[kind] < self.max_pairs
                    ):
                        parts.pending.append((i, l))
                        st.pair_budget[kind] += 1
                        parts.asked.add((i, l))
                    if same:
                        of.append(l)
                        scores.append(score)
                        break
                else:
                    lead.append(i)
                    of.append(i)
                    scores.append(1.0)
            parts.leaders, parts.scores = of, scores

    # ---- jobs ------------------------------------------------------------------------------

    def _clip(self, text: str, n: Optional[int] = None) -> str:
        n = n or self.max_chars
        if len(text) <= n:
            return text
        head = n * 2 // 3
        return text[:head] + "\n[... middle omitted ...]\n" + text[len(text) - (n - head) :]

    def _ref_line(self, st: _State) -> str:
        return f"Reference answer: {st.reference}\n\n" if st.reference else ""

    def _label_jobs(self, states: list[_State]) -> list[_Job]:
        jobs = []
        for st in states:
            sols = st.solutions
            if not sols:
                continue
            rule_fc = next((i for i, x in enumerate(st.rule_labels) if x == "correct"), None)
            proof_like = st.reference is None and st.trace.final_answer is None
            todo = []
            for i, s in enumerate(sols):
                if st.rule_labels[i] not in (None, "undecided"):
                    continue
                if s.answer is None and not proof_like:
                    continue
                if self.label_scope == "main-path" and rule_fc is not None and i > rule_fc:
                    continue
                todo.append(i)
            if not todo:
                continue
            st.labels = [None] * len(sols)
            for i in todo[: self.max_label_calls]:
                s = sols[i]
                values = {
                    "problem": self._clip(st.problem, 3000),
                    "reference_line": self._ref_line(st),
                    "solution": self._clip(st.sols.texts[i]),
                    "answer_line": f"The answer this attempt reaches: {s.answer}\n\n" if s.answer else "",
                }
                jobs.append(_Job(st, "correctness", f"solution {i}", values, _set_label(st, i)))
            if len(todo) > self.max_label_calls:
                st.issues.append(f"judge correctness: {len(todo) - self.max_label_calls} solutions over max_label_calls left to the rules")
        return jobs

    def _segment_jobs(self, states: list[_State]) -> list[_Job]:
        jobs = []
        for st in states:
            cands: list[tuple[str, int, int, int]] = []
            for c in st.checks:
                if c.kind == "reflect" and c.solution is None and c.answer is not None:
                    cands.append(("check", c.index, c.start, c.end))
            for s in st.solutions[1:]:
                if s.answer is None and not s.restart and s.end - s.start < 300:
                    cands.append(("solution", s.index, s.start, s.end))
            cands.sort(key=lambda c: c[2])
            for kind, k, a, b in cands[: self.max_segment_calls]:
                values = {
                    "problem": self._clip(st.problem, 2000),
                    "before": st.text[max(0, a - 800) : a],
                    "unit": self._clip(st.text[a:b], 1500),
                }
                jobs.append(_Job(st, "segment", f"{kind} {k}", values, _set_hint(st, kind, k)))
        return jobs

    def _approach_jobs(self, states: list[_State]) -> list[_Job]:
        jobs = []
        for st in states:
            for kind, parts in (("solution", st.sols), ("check", st.chks)):
                for i, l in parts.pending:
                    values = {
                        "problem": self._clip(st.problem, 2000),
                        "a": self._clip(parts.texts[l], 3000),
                        "b": self._clip(parts.texts[i], 3000),
                    }
                    jobs.append(_Job(st, "approach", f"{kind}s {i}~{l}", values, _set_verdict(parts, i, l)))
                parts.pending = []
        return jobs

    def _error_jobs(self, states: list[_State]) -> list[_Job]:
        jobs = []
        for st in states:
            sols = st.solutions
            labels = st.final_labels()
            fc = next((i for i, x in enumerate(labels) if x == "correct"), None)
            todo = []
            for i in range(len(sols)):
                if self.error_scope == "main-path" and fc is not None and i >= fc:
                    break
                abandoned = i + 1 < len(sols) and sols[i + 1].restart
                if labels[i] == "incorrect" or (abandoned and labels[i] != "correct"):
                    todo.append(i)
            for i in todo[: self.max_error_calls]:
                values = {
                    "problem": self._clip(st.problem, 3000),
                    "reference_line": self._ref_line(st),
                    "solution": self._clip(st.sols.texts[i]),
                }
                jobs.append(_Job(st, "errors", f"solution {i}", values, _set_errors(st, i)))
            if len(todo) > self.max_error_calls:
                st.issues.append(f"judge errors: {len(todo) - self.max_error_calls} solutions over max_error_calls not checked")
        return jobs

    # ---- running a wave ----------------------------------------------------------------------

    def _run(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        judge = self.judge
        assert judge is not None
        fields = judge.request_fields()
        keyed: dict[str, list[_Job]] = {}
        reqs: dict[str, tuple[Request, str, str]] = {}
        for job in jobs:
            tpl = self.templates[job.task]
            msgs = tpl.render(**job.values)
            req = Request(msgs, tpl.max_tokens)
            key = cache_key(judge.backend, judge.model, job.task, tpl.version, {"messages": msgs, "max_tokens": tpl.max_tokens, **fields})
            keyed.setdefault(key, []).append(job)
            reqs[key] = (req, job.task, tpl.version)
            job.state.tasks[job.task] = job.state.tasks.get(job.task, 0) + 1
        self._bump(requests=len(jobs))
        replies: dict[str, Optional[str]] = {}
        errors: dict[str, str] = {}
        todo: list[str] = []
        for key, group in keyed.items():
            hit = self.cache.get(key) if self.cache is not None else None
            if hit is not None:
                replies[key] = hit.reply
                for job in group:
                    job.state.hits += 1
                self._bump(cache_hits=len(group))
            else:
                todo.append(key)

        def done(i: int, c: Completion) -> None:
            key = todo[i]
            owner = keyed[key][0].state
            with self._lock:
                owner.calls += 1
                owner.tokens += c.prompt_tokens + c.completion_tokens
            self._bump(calls=1, tokens=c.prompt_tokens + c.completion_tokens)
            if c.text is None:
                return
            text = judge.redact(c.text)
            if self.cache is not None:
                _, task, version = reqs[key]
                self.cache.put(
                    key, backend=judge.backend, model=judge.model, task=task, version=version,
                    reply=text, prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens,
                )

        if todo:
            comps = judge.complete_batch([reqs[k][0] for k in todo], on_done=done)
            for key, c in zip(todo, comps):
                if c.text is None:
                    errors[key] = judge.redact(c.error or "failed")
                else:
                    replies[key] = judge.redact(c.text)
        for key, group in keyed.items():
            for job in group:
                st = job.state
                if key in errors:
                    st.failures += 1
                    self._bump(failures=1)
                    st.issues.append(f"judge {job.task} {job.what}: call failed ({errors[key]}); the rules decide")
                    continue
                try:
                    job.handle(parse_reply(job.task, replies.get(key)))
                except MalformedOutput as e:
                    st.malformed += 1
                    self._bump(malformed=1)
                    st.issues.append(judge.redact(f"judge {job.task} {job.what}: malformed reply: {e}; the rules decide"))
                except _Rejected as e:
                    st.issues.append(judge.redact(f"judge {job.task} {job.what}: {e}"))

    # ---- results ------------------------------------------------------------------------------

    def _decisions(self, st: _State) -> Decisions:
        return Decisions(
            solution_clusters=st.sols.leaders if st.solutions else None,
            check_clusters=st.chks.leaders if st.checks else None,
            solution_scores=[round(float(x), 6) for x in st.sols.scores] if st.solutions and st.sols.scores is not None else None,
            check_scores=[round(float(x), 6) for x in st.chks.scores] if st.checks and st.chks.scores is not None else None,
            labels=st.labels,
            error_spans=sorted(st.error_spans),
            segment_hints=st.hints,
            issues=st.issues,
            calls=st.calls,
            cache_hits=st.hits,
            failures=st.failures,
            malformed=st.malformed,
            tokens=st.tokens,
            tasks=dict(st.tasks),
        )

    # ---- progress ------------------------------------------------------------------------------

    def _bump(self, **kw: int) -> None:
        with self._lock:
            for k, v in kw.items():
                setattr(self.stats, k, getattr(self.stats, k) + v)
            s = self.stats.as_dict()
        if self._bar is not None:
            self._bar.update(s)

    def _progress_bar(self) -> "_Bar":
        if self._bar is not None or not self.progress or self.judge is None:
            return _Bar(None)  # off, or a bar opened around the whole run is showing
        return _Bar(self)

    def progress_bar(self) -> "_Bar":
        """A progress display of judge calls, cache hits, failures and tokens on stderr (a
        terminal only), kept for the whole ``with`` block, e.g. around a run of many
        :meth:`decide_batch` calls (otherwise ``progress=True`` shows one per call)."""
        return _Bar(self)

    # ---- smoothing joins (task e) ------------------------------------------------------------

    def smooth_batch(self, items: Sequence[tuple[str, Sequence[int]]]) -> list[tuple[str, list[str]]]:
        """Rewrites the first sentence after each join of pruned texts where it refers to what
        was cut (task e). ``items``: (pruned text, join offsets in it). Returns (new text,
        issues) per item. A rewrite that drops or adds a number, or that would touch a
        ``\\boxed{}``, is rejected and the sentence kept.
        """
        if self.judge is None:
            raise ValueError("`smooth_batch` needs `judge`")
        out_texts = [t for t, _ in items]
        issues: list[list[str]] = [[] for _ in items]
        holders = []
        jobs: list[_Job] = []
        for n, (text, joins) in enumerate(items):
            st = _Sink()
            st.issues = issues[n]
            edits: list[tuple[int, int, str]] = []
            holders.append((st, edits))
            for j in sorted({int(x) for x in joins}):
                if not 0 <= j < len(text):
                    raise ValueError(f"invalid join offset {j} in `items[{n}]`")
                a, b = _sentence_after(text, j)
                sentence = text[a:b]
                if not sentence.strip() or "\\boxed" in sentence or "</think>" in sentence:
                    continue
                values = {"before": text[max(0, j - 600) : j], "sentence": sentence}
                jobs.append(_Job(st, "smooth", f"join at {j}", values, _set_rewrite(edits, a, b, sentence)))
        self._run(jobs)
        results = []
        for n, (st, edits) in enumerate(holders):
            text = out_texts[n]
            for a, b, new in sorted(edits, reverse=True):
                text = text[:a] + new + text[b:]
            results.append((text, st.issues))
        return results


class _Rejected(Exception):
    """A well-formed reply dlcot cannot use (a quote it cannot place, a rewrite that changes a
    number)."""


def _set_label(st: _State, i: int) -> Callable[[Any], None]:
    def handle(verdict: Optional[str]) -> None:
        assert st.labels is not None
        st.labels[i] = verdict

    return handle


def _set_hint(st: _State, kind: str, k: int) -> Callable[[Any], None]:
    def handle(role: str) -> None:
        if (kind == "check" and role == "solution") or (kind == "solution" and role != "solution"):
            st.hints.append((kind, k, role))

    return handle


def _set_verdict(parts: _Parts, i: int, l: int) -> Callable[[Any], None]:
    def handle(same: bool) -> None:
        parts.verdicts[(i, l)] = same

    return handle


def _set_errors(st: _State, i: int) -> Callable[[Any], None]:
    def handle(quotes: list[str]) -> None:
        s = st.solutions[i]
        protected = []
        if st.trace.final_answer_span is not None:
            protected.append(tuple(st.trace.final_answer_span))
        spans: list[tuple[int, int]] = []
        bad = max(0, len(quotes) - 16)
        for q in quotes[:16]:  # a reply listing hundreds of "errors" is not all read
            at = align_quote(st.text, q, start=s.start, end=s.end, snap="sentence")
            if at is None or any(a < at[1] and at[0] < b for a, b in protected):
                bad += 1
                continue
            spans.append(at)
        spans.sort()
        merged: list[tuple[int, int]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        st.error_spans += [(i, a, b) for a, b in merged]
        if bad:
            raise _Rejected(f"{bad} of {len(quotes)} quoted errors could not be placed in the solution; dropped")

    return handle


def _numbers(s: str) -> list[str]:
    import re

    return sorted(re.findall(r"\d+(?:\.\d+)?", s))


def _set_rewrite(edits: list, a: int, b: int, sentence: str) -> Callable[[Any], None]:
    def handle(new: str) -> None:
        new = new.strip()
        if _numbers(new) != _numbers(sentence) or "\\boxed" in new or len(new) > 2 * len(sentence) + 80:
            raise _Rejected("rewrite changes numbers or is too long; sentence kept")
        lead = sentence[: len(sentence) - len(sentence.lstrip())]
        trail = sentence[len(sentence.rstrip()) :]
        if new != sentence.strip():
            edits.append((a, b, lead + new + trail))

    return handle


def _sentence_after(text: str, j: int) -> tuple[int, int]:
    """The first sentence (or line) starting at offset ``j``."""
    a = j
    while a < len(text) and text[a].isspace():
        a += 1
    b = a
    while b < len(text):
        ch = text[b]
        b += 1
        if ch == "\n" or (ch in ".!?" and (b == len(text) or text[b].isspace())):
            break
    return a, b


class _Bar:
    """A rich progress display of judge calls on stderr (a terminal only)."""

    def __init__(self, owner: Optional[Judging]):
        self.owner = owner
        self._p: Any = None
        self._task: Any = None

    def __enter__(self) -> "_Bar":
        if self.owner is not None and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._p = Progress(
                SpinnerColumn(),
                TextColumn("[bold]judge"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(
                    "{task.fields[calls]:,} calls, {task.fields[cache_hits]:,} cached, "
                    "{task.fields[failures]:,} failed, {task.fields[malformed]:,} malformed, "
                    "{task.fields[tokens]:,} tokens"
                ),
                TimeElapsedColumn(),
                console=Console(stderr=True, highlight=False),
                transient=False,
            )
            self._p.__enter__()
            self._task = self._p.add_task("judge", total=None, **self.owner.stats.as_dict())
            self.owner._bar = self
        return self

    def update(self, stats: dict[str, int]) -> None:
        if self._p is not None:
            # requests so far (the total grows wave by wave) against those answered
            self._p.update(self._task, total=stats["requests"], completed=stats["calls"] + stats["cache_hits"], **stats)

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)
            assert self.owner is not None
            self.owner._bar = None
