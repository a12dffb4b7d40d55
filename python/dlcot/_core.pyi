"""Type stubs for dlcot's Rust core (``dlcot._core``). Import from ``dlcot``, not from here.

Every span is a pair of Python ``str`` indices: ``trace.text[start:end]`` is the span's text.
"""

from collections.abc import Sequence
from typing import Any, final

__version__: str
__all__ = [
    "Check",
    "DlcotError",
    "Issue",
    "Section",
    "Solution",
    "Trace",
    "__version__",
    "_unpickle_trace",
    "cue_lexicon",
    "equivalent",
    "equivalent_batch",
    "extract_answer",
    "extract_answer_batch",
    "extract_reference",
    "normalize_answer",
    "parse",
    "parse_batch",
    "parse_batch_json",
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
