"""Placing a judge's quote back in the trace: exact, then whitespace- and case-blind, then fuzzy
(rapidfuzz's ``partial_ratio_alignment``), and never a guess: a quote that matches nowhere well
enough, or matches in two places, is rejected (None).

A judge copies text imperfectly: it drops ``$`` delimiters, changes spacing and line breaks,
elides the middle with "...", or fixes a typo. The normalised search undoes the first three; the
fuzzy search the rest, at a score threshold (0-100, rapidfuzz's ratio of the best window).
"""

from __future__ import annotations

import re
from typing import Optional

_ELLIPSIS = re.compile(r"\s*(?:\.\.\.+|…)\s*")
_QUOTES = "\"'`“”‘’«»"


def _clean(quote: str) -> str:
    q = quote.strip()
    while len(q) >= 2 and q[0] in _QUOTES and q[-1] in _QUOTES:
        q = q[1:-1].strip()
    q = _ELLIPSIS.sub("...", q)
    if q.startswith("..."):
        q = q[3:]
    if q.endswith("..."):
        q = q[:-3]
    return q.strip()


def _normalise(s: str) -> tuple[str, list[int]]:
    """Lower-case, ``$`` dropped, whitespace runs as one space; with each kept char's index in
    ``s`` (plus one past the end)."""
    out: list[str] = []
    idx: list[int] = []
    space = False
    for i, ch in enumerate(s):
        if ch == "$":
            continue
        if ch.isspace():
            if out and not space:
                out.append(" ")
                idx.append(i)
            space = True
            continue
        space = False
        out.append(ch.lower())
        idx.append(i)
    idx.append(len(s))
    return "".join(out), idx


def _find_unique(hay: str, needle: str) -> Optional[int]:
    """The index of ``needle`` in ``hay`` if it occurs exactly once; -1 if twice or more; None if never."""
    i = hay.find(needle)
    if i < 0:
        return None
    return -1 if hay.find(needle, i + 1) >= 0 else i


def _place(region: str, q: str, min_score: float, fuzzy: bool = True) -> Optional[tuple[int, int]]:
    """(start, end) of ``q`` in ``region``, or None (absent or ambiguous)."""
    i = _find_unique(region, q)
    if i is not None:
        return None if i < 0 else (i, i + len(q))
    nr, idx = _normalise(region)
    nq, _ = _normalise(q)
    nq = nq.strip()
    if not nq or len(nq) > len(nr):
        return None
    i = _find_unique(nr, nq)
    if i is not None:
        return None if i < 0 else (idx[i], idx[i + len(nq) - 1] + 1)
    if not fuzzy:
        return None
    try:
        from rapidfuzz import fuzz
    except ImportError as e:
        raise ImportError("dlcot.judge.align_quote needs rapidfuzz (pip install rapidfuzz, or 'dlcot[gpu]')") from e

    a = fuzz.partial_ratio_alignment(nq, nr, score_cutoff=min_score)
    if a is None or a.score < min_score or a.dest_end <= a.dest_start:
        return None
    # ambiguous: another window, away from this one, scores as well
    masked = nr[: a.dest_start] + "\x00" * (a.dest_end - a.dest_start) + nr[a.dest_end :]
    b = fuzz.partial_ratio_alignment(nq, masked, score_cutoff=min_score)
    if b is not None and b.score >= a.score:
        return None
    return idx[a.dest_start], idx[a.dest_end - 1] + 1


def _snap(text: str, s: int, e: int, lo: int, hi: int, snap: str) -> tuple[int, int]:
    if snap == "word":
        while s > lo and text[s - 1].isalnum() and text[s].isalnum():
            s -= 1
        while e < hi and text[e - 1].isalnum() and text[e].isalnum():
            e += 1
    elif snap == "sentence":
        while s > lo and text[s - 1] != "\n" and not (text[s - 1].isspace() and text[s - 2 : s - 1] in (".", "!", "?")):
            s -= 1
        while e < hi and text[e - 1] != "\n" and not (
            text[e - 1] in ".!?" and (e == hi or text[e].isspace())
        ):
            e += 1
    # never start or end a span on whitespace
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def align_quote(
    text: str,
    quote: str,
    *,
    start: int = 0,
    end: Optional[int] = None,
    min_score: float = 90.0,
    min_chars: int = 4,
    max_chars: int = 2000,
    snap: str = "none",
) -> Optional[tuple[int, int]]:
    """Where ``quote`` lies in ``text[start:end]``, as ``str`` offsets into ``text``; None when
    it cannot be placed (no window scores ``min_score`` or more, it matches in two places, or it
    is shorter than ``min_chars`` or longer than ``max_chars``: a quote is a sentence or two).

    A quote with an elided middle ("a = 3 ... so b = 7") is placed by its first and last pieces,
    in order. ``snap`` widens the span to whole words ("word") or whole sentences/lines
    ("sentence") inside the region.

    >>> text = "We get $3 * 4 = 13$, so the area is 13."
    >>> s, e = align_quote(text, "3 * 4 = 13")
    >>> text[s:e]
    '3 * 4 = 13'
    >>> s, e = align_quote(text, "so  the AREA is 13")
    >>> text[s:e]
    'so the area is 13'
    >>> align_quote(text, "the volume is 99") is None
    True
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be str, got {type(text).__name__}")
    if not isinstance(quote, str):
        raise TypeError(f"`quote` must be str, got {type(quote).__name__}")
    if snap not in ("none", "word", "sentence"):
        raise ValueError(f"invalid `snap`: {snap!r}; choose none, word or sentence")
    hi = len(text) if end is None else max(0, min(end, len(text)))
    lo = max(0, min(start, hi))
    region = text[lo:hi]
    q = _clean(quote)
    if not min_chars <= len(q.replace("...", "")) <= max_chars:
        return None
    if "..." in q:
        # the trace itself may hold "..." (1, 2, ..., n): the whole quote first
        at = _place(region, q, min_score, fuzzy=False)
        if at is not None:
            return _snap(text, lo + at[0], lo + at[1], lo, hi, snap)
        pieces = [p for p in q.split("...") if p.strip()]
        if not pieces:
            return None
        if len(pieces) == 1:
            q = pieces[0].strip()
        else:
            first = _place(region, pieces[0].strip(), min_score)
            if first is None:
                return None
            rest = region[first[1] :]
            last = _place(rest, pieces[-1].strip(), min_score)
            if last is None:
                return None
            return _snap(text, lo + first[0], lo + first[1] + last[1], lo, hi, snap)
    at = _place(region, q, min_score)
    if at is None:
        return None
    return _snap(text, lo + at[0], lo + at[1], lo, hi, snap)
