"""Answer verification: dlcot's fast rules first, math-verify for what the rules cannot decide.

The fast path (:func:`dlcot.equivalent`, in Rust) decides numbers, tuples, intervals, sets,
matrices, choice letters and plain words, and returns None when a symbol it cannot evaluate is
involved. Those pairs go to math-verify (``pip install 'dlcot[verify]'``), a sympy-based
checker, with a time limit per pair. If math-verify is not installed, or gives up, the pair is
"undecided" and counts as not equivalent.

>>> import dlcot
>>> dlcot.verify("so the answer is $\\\\frac{1}{2}$", "0.5")
True
>>> dlcot.verify_batch([("2", "2.5"), ("(B)", "B")])
([False, True], ['fast', 'fast'])
"""

from __future__ import annotations

import re
import threading
from typing import Iterable, Sequence

from dlcot._core import equivalent_batch, extract_answer, extract_reference

__all__ = ["verify", "verify_batch", "symbolic_available"]

# A prediction longer than this, or holding a box or a line break, is a whole response: its
# answer is extracted first (as math-verify's own `parse` does).
_BARE_MAX = 120


def _pred_answer(pred: str) -> str:
    if len(pred) > _BARE_MAX or "\\boxed" in pred or "\\fbox" in pred or "\n" in pred:
        return extract_answer(pred) or pred
    return pred


def _ref_answer(ref: str) -> str:
    return extract_reference(ref) or ref


# words of prose: two letters or more, not a LaTeX command (`\\infty`) or part of one
_WORD = re.compile(r"(?<![\\\w])[A-Za-z]{2,}")
_COMMA_DECIMAL = re.compile(r"-?\d+,\d{1,2}")
_DECIMAL = re.compile(r"-?\d+\.\d+")


def _decimal_comma(pred: str, ref: str) -> tuple[str, str]:
    """A prediction "3,5" against a reference that is one decimal number "3.5" is a decimal
    comma. (A reference "5,1" is a list: references are canonical en-US; so this reading is
    the prediction's alone, and `equivalent` itself stays symmetric.)"""
    p, r = pred.strip().strip("$").strip(), ref.strip().strip("$").strip()
    if _COMMA_DECIMAL.fullmatch(p) and _DECIMAL.fullmatch(r):
        return p.replace(",", "."), ref
    return pred, ref


def symbolic_available() -> bool:
    """Whether math-verify is installed (the symbolic fallback)."""
    try:
        import math_verify  # noqa: F401
    except ImportError:
        return False
    return True


def _symbolic(pred: str, ref: str, timeout: float | None) -> bool | None:
    """math-verify's verdict, or None if it is missing, fails or runs out of time."""
    try:
        from math_verify import parse, verify
    except ImportError:
        return None
    # math-verify's time limits use signals, which only the main thread may set
    main = threading.current_thread() is threading.main_thread()
    limit = max(1, int(round(timeout))) if (timeout and main) else None
    def read(x: str):
        # a sentence is parsed as is (math-verify finds its answer); a bare answer as math
        if len(_WORD.findall(x)) >= 3:
            return parse(x, parsing_timeout=limit) or parse(f"${x}$", parsing_timeout=limit)
        return parse(f"${x}$", parsing_timeout=limit) or parse(x, parsing_timeout=limit)

    try:
        gold = read(ref)
        target = read(pred)
        if not gold or not target:
            return None
        return bool(verify(gold, target, timeout_seconds=limit))
    except Exception:  # math-verify raises on malformed input and on time-outs
        return None


def verify_batch(
    pairs: Iterable[tuple[str, str]], *, timeout: float | None = 5.0, num_threads: int | None = None
) -> tuple[list[bool], list[str]]:
    """Verdicts for (prediction, reference) pairs, and which path decided each.

    Args:
        pairs: (prediction, reference) pairs. A prediction may be a whole response; a reference
            may be a worked solution (its boxed / ``#### N`` answer is taken).
        timeout: seconds per pair for the symbolic fallback (None: no limit).
        num_threads: threads for the fast path.

    Returns:
        (verdicts, paths): ``paths[i]`` is "fast", "symbolic" or "undecided" (no fallback, or it
        failed; the verdict is then False).

    >>> verify_batch([("x^2-1", "(x-1)(x+1)")])[0]
    [True]
    """
    pairs = [(p, r) for p, r in pairs]
    for i, pair in enumerate(pairs):
        if not (isinstance(pair[0], str) and isinstance(pair[1], str)):
            raise TypeError(f"`pairs[{i}]` must be a (str, str) pair")
    answers = [_decimal_comma(_pred_answer(p), _ref_answer(r)) for p, r in pairs]
    fast = equivalent_batch(answers, num_threads=num_threads)
    verdicts: list[bool] = []
    paths: list[str] = []
    for (p, r), f in zip(answers, fast):
        if f is not None:
            verdicts.append(f)
            paths.append("fast")
            continue
        s = _symbolic(p, r, timeout)
        verdicts.append(bool(s))
        paths.append("symbolic" if s is not None else "undecided")
    return verdicts, paths


def verify(pred: str, ref: str, *, timeout: float | None = 5.0) -> bool:
    """Whether ``pred`` states the same answer as ``ref`` (fast rules, then math-verify).

    >>> verify("x = 5", "5")
    True
    """
    verdicts, _ = verify_batch([(pred, ref)], timeout=timeout, num_threads=1)
    return verdicts[0]


def label_solutions(trace, reference: str, *, timeout: float | None = 5.0) -> list[str]:
    """Final labels of a trace's solutions against ``reference``: "correct", "incorrect" or
    "incomplete"; solutions the fast rules leave "undecided" are settled by math-verify.

    ``dlcot.parse(text, reference=...)`` gives the fast labels on ``Solution.label``.
    """
    labels = []
    for s in trace.solutions:
        if s.answer is None:
            labels.append("incomplete")
        elif s.label in ("correct", "incorrect"):
            labels.append(s.label)
        else:
            labels.append("correct" if verify(s.answer, reference, timeout=timeout) else "incorrect")
    return labels


def first_correct(labels: Sequence[str]) -> int | None:
    """Index of the first "correct" label, or None (the trace is unsolvable)."""
    return next((i for i, label in enumerate(labels) if label == "correct"), None)
