"""Type stubs for dlcot's Rust core (``dlcot._core``). Import from ``dlcot``, not from here.

Every span is a pair of Python ``str`` indices: ``trace.text[start:end]`` is the span's text.
"""

from collections.abc import Sequence
from os import PathLike
from typing import Any, final

import numpy as np
import numpy.typing as npt

__version__: str
__all__ = [
    "LSH",
    "Check",
    "Clusters",
    "DlcotError",
    "Edit",
    "LSHQuery",
    "MinHasher",
    "NgramIndex",
    "Pruned",
    "Issue",
    "Section",
    "Solution",
    "Trace",
    "__version__",
    "_unpickle_trace",
    "connected_components",
    "cue_lexicon",
    "equivalent",
    "equivalent_batch",
    "extract_answer",
    "extract_answer_batch",
    "extract_reference",
    "lsh_bucket_links",
    "lsh_params",
    "normalize_answer",
    "parse",
    "parse_batch",
    "parse_batch_json",
    "policies",
    "prune",
    "prune_batch",
    "token_set_ratio",
]

class DlcotError(Exception):
    """Base class of every error dlcot raises."""

@final
class Section:
    """A macro section: ``kind`` is restate, understand, explore, verify or conclude."""

    kind: str
    start: int
    end: int
    text: str
    def __new__(cls, kind: str, start: int, end: int, text: str) -> Section: ...
    def __getnewargs__(self) -> tuple[str, int, int, str]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Solution:
    """One solution attempt in explore or verify.

    ``cue`` is the phrase that opened it ("alternatively", ...; "" for the first), ``restart``
    whether that cue abandoned an error ("wait, that's wrong"), ``answer`` the answer it
    reaches (None if it reaches none), ``steps`` the (start, end) spans of its steps.
    """

    index: int
    start: int
    end: int
    section: str
    cue: str
    restart: bool
    answer: str | None
    answer_span: tuple[int, int] | None
    answer_kind: str | None
    steps: list[tuple[int, int]]
    label: str | None
    """Against the trace's reference: "correct", "incorrect", "incomplete" (no answer) or
    "undecided" (the fast rules cannot tell); None when parsed without a reference."""
    def __new__(
        cls,
        index: int,
        start: int,
        end: int,
        section: str,
        cue: str,
        restart: bool,
        answer: str | None,
        answer_span: tuple[int, int] | None,
        answer_kind: str | None,
        steps: list[tuple[int, int]],
        label: str | None = None,
    ) -> Solution: ...
    def __getnewargs__(self) -> tuple[Any, ...]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Check:
    """One verification unit: ``kind`` is verify, substitute, recompute, affirm, negate or
    reflect; ``solution`` the index of the solution it lies inside, or None for a standalone
    check in the verify section."""

    index: int
    kind: str
    start: int
    end: int
    section: str
    cue: str
    solution: int | None
    answer: str | None
    def __new__(
        cls,
        index: int,
        kind: str,
        start: int,
        end: int,
        section: str,
        cue: str,
        solution: int | None,
        answer: str | None,
    ) -> Check: ...
    def __getnewargs__(self) -> tuple[Any, ...]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Issue:
    """Something the parser noticed. ``kind`` is one of: empty, chat-template,
    missing-open-tag, missing-close-tag, several-think-blocks, truncated, no-answer,
    several-answers, unbalanced-boxed, repetition."""

    kind: str
    start: int
    end: int
    message: str
    def __new__(cls, kind: str, start: int, end: int, message: str) -> Issue: ...
    def __getnewargs__(self) -> tuple[str, int, int, str]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Trace:
    """A parsed trace. Frozen; pickles as its text and problem (re-parsed on load)."""

    @property
    def text(self) -> str: ...
    @property
    def problem(self) -> str | None: ...
    @property
    def reference(self) -> str | None:
        """The reference answer the solutions were labelled against, if any."""
    @property
    def first_correct(self) -> int | None:
        """Index of the first solution labelled correct, or None."""
    @property
    def format(self) -> str:
        """"think", "thought-solution" (Sky-T1) or "plain" (no delimiters)."""
    @property
    def reasoning(self) -> str: ...
    @property
    def reasoning_span(self) -> tuple[int, int]: ...
    @property
    def summary(self) -> str: ...
    @property
    def summary_span(self) -> tuple[int, int]: ...
    @property
    def sections(self) -> list[Section]:
        """The macro sections in order; concatenated, their texts give back ``text`` exactly."""
    @property
    def solutions(self) -> list[Solution]: ...
    @property
    def checks(self) -> list[Check]: ...
    @property
    def final_answer(self) -> str | None: ...
    @property
    def final_answer_span(self) -> tuple[int, int] | None: ...
    @property
    def issues(self) -> list[Issue]: ...
    def cluster_solutions(self, threshold: float = 0.4, *, ngram: int = 3, short: int = 8) -> Clusters:
        """Near-duplicate solutions and checks (each grouped separately, leader-based).

        Similarity is the Jaccard of word ``ngram``-shingle sets, or the larger of it and
        rapidfuzz's token-set ratio / 100 when both parts have fewer than ``short`` words.
        A part joins the first earlier leader it is at least ``threshold`` similar to.
        """
    def to_json(self) -> str:
        """The structure as a JSON object string (spans as str indices)."""
    def to_dict(self) -> dict[str, Any]: ...
    def __len__(self) -> int: ...
    def __reduce__(self) -> tuple[Any, tuple[str, str | None, str | None]]: ...

def parse(text: str, *, problem: str | None = None, reference: str | None = None) -> Trace:
    """Parses one response into its structure. Never raises for any ``str``.

    With ``reference`` (a bare answer, or a reference solution whose boxed answer is taken),
    every solution gets a fast ``label`` and the trace a ``first_correct``.

    >>> parse("2 + 3 = 5.\\n</think>\\n\\n\\\\boxed{5}").final_answer
    '5'
    """

def _unpickle_trace(text: str, problem: str | None, reference: str | None = None) -> Trace: ...
def parse_batch(
    texts: Sequence[str],
    *,
    problems: Sequence[str | None] | None = None,
    references: Sequence[str | None] | None = None,
    num_threads: int | None = None,
) -> list[Trace]:
    """Parses many responses in parallel (GIL released), results in input order.

    ``num_threads``: threads to use (default: ``DLCOT_NUM_THREADS``, else all cores).
    """

def parse_batch_json(
    texts: Sequence[str],
    *,
    problems: Sequence[str | None] | None = None,
    references: Sequence[str | None] | None = None,
    num_threads: int | None = None,
) -> list[str]:
    """Like :func:`parse_batch`, returning each structure as a JSON string."""

def extract_answer(text: str) -> str | None:
    """The final answer stated in ``text``: last ``\\boxed{}``/``\\fbox{}`` (nested braces),
    "the final answer is", ``**Final Answer**``, "the answer is", ``#### N``; choices reduce to
    their letter. None if there is none.

    >>> extract_answer("so \\\\boxed{\\\\frac{1}{2}}")
    '\\\\frac{1}{2}'
    """

def extract_answer_batch(texts: Sequence[str], *, num_threads: int | None = None) -> list[str | None]: ...
def extract_reference(text: str) -> str | None:
    """The bare answer of a reference field: a bare answer as is, or a worked solution's last
    ``\\boxed{}`` or GSM8K ``#### N``."""

def cue_lexicon() -> list[tuple[str, str]]:
    """The cue phrases and what each announces (restate, alternative, restart, check:KIND,
    reflect, conclude)."""
def normalize_answer(answer: str) -> str:
    """The canonical form of a math answer: no ``\\boxed``/``$``/``\\left``/``\\text``, ``\\dfrac`` ->
    ``\\frac``, no degrees, percent signs, thousands separators, unit words or ``x =``; mixed
    numbers as fractions; sets sorted; matrices as ``[[a,b],[c,d]]``; choices as their letter.

    >>> normalize_answer("x = 1,234 \\text{ dollars}")
    '1234'
    """

def equivalent(pred: str, reference: str) -> bool | None:
    """True/False when the fast rules are sure the answers are (not) the same value; None when a
    symbolic check is needed.

    >>> equivalent("\\frac{1}{2}", "0.5")
    True
    """

def equivalent_batch(pairs: Sequence[tuple[str, str]], *, num_threads: int | None = None) -> list[bool | None]: ...

@final
class Clusters:
    """Near-duplicate groups within one trace.

    ``solutions[i]`` is the index of the leader (first member) of solution ``i``'s cluster and
    ``solution_scores[i]`` its similarity to that leader (1.0 for leaders); the same for checks.
    """

    solutions: list[int]
    solution_scores: list[float]
    checks: list[int]
    check_scores: list[float]
    threshold: float
    def __new__(
        cls,
        solutions: list[int],
        solution_scores: list[float],
        checks: list[int],
        check_scores: list[float],
        threshold: float,
    ) -> Clusters: ...
    def __getnewargs__(self) -> tuple[list[int], list[float], list[int], list[float], float]: ...
    @property
    def redundant_solutions(self) -> list[int]:
        """Indices of solutions that repeat an earlier one."""
    @property
    def redundant_checks(self) -> list[int]:
        """Indices of checks that repeat an earlier one."""

@final
class MinHasher:
    """Shingling and MinHash signatures, in Rust (rayon-parallel, GIL released).

    Text is lower-cased, LaTeX spacing (``\\,``, ``\\quad``, ``\\left``...) read as space and
    whitespace collapsed; ``unit="word"`` shingles runs of word characters and single symbols
    (the regex ``\\w+|[^\\w\\s]``, with Rust's Unicode classes: combining vowel signs are word
    characters, U+001C..U+001F are not spaces), ``unit="char"`` the characters. A text shorter than
    ``ngram`` units is one shingle; an empty text has the all-0xFFFFFFFF signature.

    >>> m = MinHasher(num_perm=128, ngram=5)
    >>> m.signatures(["a b c d e f", "a b c d e g"]).shape
    (2, 128)
    """

    def __new__(cls, *, num_perm: int = 128, ngram: int = 5, seed: int = 0, unit: str = "word") -> MinHasher: ...
    @property
    def num_perm(self) -> int: ...
    @property
    def ngram(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def unit(self) -> str: ...
    def signatures(self, texts: Sequence[str], *, num_threads: int | None = None) -> npt.NDArray[np.uint32]:
        """One ``(len(texts), num_perm)`` uint32 array of signatures."""
    def signature(self, text: str) -> npt.NDArray[np.uint32]: ...
    def shingles(self, text: str) -> list[str]:
        """The shingles as strings (units joined by a space for words), in order."""
    def shingle_hashes(self, text: str) -> npt.NDArray[np.uint64]:
        """The distinct 64-bit shingle hashes, sorted."""
    def jaccard(self, a: str, b: str) -> float:
        """Exact Jaccard similarity of the shingle sets (1.0 when both are empty)."""
    def jaccard_pairs(
        self, pairs: Sequence[tuple[str, str]], *, num_threads: int | None = None
    ) -> npt.NDArray[np.float64]: ...
    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]: ...

@final
class LSH:
    """Banded LSH over MinHash signatures with union-find clustering.

    ``bands``/``rows`` default to datasketch's choice for ``threshold``; candidate pairs are
    verified (signature agreement >= threshold) against up to ``max_compare`` earlier bucket
    members. ``spill_dir`` keeps signatures and band keys on disk (memory-mapped at clustering).
    """

    def __new__(
        cls,
        *,
        threshold: float = 0.8,
        num_perm: int = 128,
        bands: int | None = None,
        rows: int | None = None,
        weights: tuple[float, float] = ...,
        max_compare: int = 8,
        spill_dir: str | PathLike[str] | None = None,
    ) -> LSH: ...
    @property
    def threshold(self) -> float: ...
    @property
    def num_perm(self) -> int: ...
    @property
    def bands(self) -> int: ...
    @property
    def rows(self) -> int: ...
    @property
    def max_compare(self) -> int: ...
    @property
    def candidates(self) -> int:
        """Candidate pairs met by the last ``clusters()`` call."""
    @property
    def links(self) -> int:
        """Verified links made by the last ``clusters()`` call."""
    def __len__(self) -> int: ...
    def band_keys(
        self, signatures: npt.NDArray[np.uint32], *, num_threads: int | None = None
    ) -> npt.NDArray[np.uint64]:
        """A ``(n, bands)`` uint64 array of band keys."""
    def insert(self, signatures: npt.NDArray[np.uint32], *, num_threads: int | None = None) -> None:
        """Appends rows; items are numbered in insertion order."""
    def clusters(
        self, *, verify: bool = True, num_threads: int | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """``(cluster_id, keep)``: each item's cluster, named by its first item, which is kept."""

@final
class LSHQuery:
    """An in-memory LSH index of signatures to query against."""

    threshold: float
    def __new__(
        cls,
        signatures: npt.NDArray[np.uint32],
        *,
        threshold: float = 0.8,
        bands: int | None = None,
        rows: int | None = None,
        weights: tuple[float, float] = ...,
    ) -> LSHQuery: ...
    def query(self, signatures: npt.NDArray[np.uint32]) -> list[list[tuple[int, float]]]:
        """Per row: (indexed item, estimated Jaccard) pairs at or above threshold, best first."""

@final
class NgramIndex:
    """Exact shingle (n-gram) overlap against indexed texts, for decontamination."""

    def __new__(
        cls, texts: Sequence[str], *, ngram: int = 13, unit: str = "word", num_threads: int | None = None
    ) -> NgramIndex: ...
    def __len__(self) -> int: ...
    def size(self, i: int) -> int:
        """Distinct n-grams of indexed text ``i``."""
    def query(
        self, texts: Sequence[str], *, num_threads: int | None = None
    ) -> list[tuple[list[tuple[int, int]], int]]:
        """Per text: ((indexed text, shared n-grams) pairs, most shared first; its n-gram count)."""

def lsh_bucket_links(
    ids: Sequence[int],
    signatures: npt.NDArray[np.uint32],
    *,
    threshold: float | None = None,
    max_compare: int = 8,
) -> list[tuple[int, int]]:
    """The (later, earlier) links one LSH bucket contributes, by the single-process rule."""

def connected_components(n: int, links: Sequence[tuple[int, int]]) -> npt.NDArray[np.int64]:
    """Each item's component, named by its smallest index."""

def lsh_params(threshold: float, num_perm: int, *, weights: tuple[float, float] = ...) -> tuple[int, int]:
    """The (bands, rows) datasketch would choose."""

def token_set_ratio(a: str, b: str) -> float:
    """rapidfuzz's ``fuzz.token_set_ratio`` (0..100)."""

@final
class Edit:
    """One removed span of the original text (``str`` indices).

    ``kind`` is "solution", "check" or "text"; ``index`` the solution's or check's index;
    ``reason`` "redundant-of:<k>", "incorrect", "incomplete" or "after-first-correct".
    """

    start: int
    end: int
    kind: str
    index: int
    reason: str
    def __new__(cls, start: int, end: int, kind: str, index: int, reason: str) -> Edit: ...
    def __getnewargs__(self) -> tuple[int, int, str, int, str]: ...

@final
class Pruned:
    """The outcome of pruning one trace.

    ``status``: "kept"; "unsolvable" (no correct solution, and the policy rejects such traces);
    "answer-changed" (the cut text's final answer would differ, so the original is kept whole).
    """

    status: str
    policy: str
    text: str
    edits: list[Edit]
    labels: list[str | None]
    first_correct: int | None
    solution_leaders: list[int]
    check_leaders: list[int]
    solution_spans: list[tuple[int, int]]
    final_answer: str | None
    chars_before: int
    chars_after: int
    joins: list[int]
    """Where kept parts meet over a cut in ``text`` (``str`` indices): the start of each part
    that follows a cut."""
    assistant: str
    """The SFT assistant turn of ``text``: ``<think>\\n{reasoning}\\n</think>``, then
    ``\\n\\n{summary}`` when there is one (each part stripped as ``str.strip`` does)."""

def prune(
    text: str,
    *,
    problem: str | None = None,
    reference: str | None = None,
    policy: str = "dlcot",
    keep_unsolvable: bool = False,
    threshold: float = 0.4,
    labels: Sequence[str] | None = None,
    solution_leaders: Sequence[int] | None = None,
    check_leaders: Sequence[int] | None = None,
    error_spans: Sequence[tuple[int, int, int]] | None = None,
) -> Pruned:
    """Prunes one response by a policy.

    Decisions from outside the rules (the judging layer) can be given: ``labels`` (one per
    solution: correct/incorrect/incomplete/undecided) override the fast labels;
    ``solution_leaders`` / ``check_leaders`` (each part's cluster leader: itself or an earlier
    leader) replace the lexical clusters; ``error_spans`` are wrong steps, (solution index,
    start, end) in ``str`` indices: on the main path of a policy that has one, the sentences
    they touch are cut (kind "error", reason "error-span"); after it the whole solution is cut
    as incorrect. Raises ValueError naming the argument when one is malformed; a leader list
    whose length is not the trace's number of solutions (or checks) is ignored: the rules
    decide.
    """

def prune_batch(
    texts: Sequence[str],
    *,
    problems: Sequence[str | None] | None = None,
    references: Sequence[str | None] | None = None,
    policy: str = "dlcot",
    keep_unsolvable: bool = False,
    threshold: float = 0.4,
    num_threads: int | None = None,
    labels: Sequence[Sequence[str] | None] | None = None,
    solution_leaders: Sequence[Sequence[int] | None] | None = None,
    check_leaders: Sequence[Sequence[int] | None] | None = None,
    error_spans: Sequence[Sequence[tuple[int, int, int]] | None] | None = None,
) -> list[Pruned]:
    """Prunes many responses in parallel, results in input order. The override arguments
    (see :func:`prune`) are None or one entry per text, None where a text has none."""

def policies() -> list[tuple[str, str]]:
    """The pruning policies as (name, summary) pairs."""
