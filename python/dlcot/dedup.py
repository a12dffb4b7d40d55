"""Near-duplicate detection at corpus scale: MinHash + LSH clustering and decontamination.

The hashing, banding and clustering run in Rust (:class:`dlcot.MinHasher`, :class:`dlcot.LSH`);
this module strings them together for in-memory lists and for benchmark decontamination. The
``dlcot dedup`` and ``dlcot decontaminate`` commands stream files through the same calls.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np

from dlcot._core import LSH, LSHQuery, MinHasher, NgramIndex

#: Texts hashed per Rust call: big enough to amortise the call, small enough to bound memory.
BATCH = 4096


def dedup(
    texts: Iterable[str],
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    unit: str = "word",
    seed: int = 0,
    bands: Optional[int] = None,
    rows: Optional[int] = None,
    max_compare: int = 8,
    verify: bool = True,
    spill_dir: Optional[str | os.PathLike[str]] = None,
    num_threads: Optional[int] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Clusters near-duplicate texts; the first text of each cluster (in input order) is kept.

    Args:
        texts: The texts, any iterable (hashed in batches, so a generator streams).
        threshold: Jaccard similarity of shingle sets at which two texts are duplicates.
        num_perm, ngram, unit, seed: The :class:`MinHasher` settings.
        bands, rows: LSH banding; by default chosen from ``threshold`` as datasketch does.
        max_compare: Earlier bucket members a text is verified against.
        verify: Link candidates only when their signatures agree on ``threshold`` of positions
            (False: every LSH candidate pair is linked, as plain banded LSH does).
        spill_dir: Keep signatures and band keys in files there instead of memory.
        num_threads: Threads for hashing and clustering (default: ``DLCOT_NUM_THREADS`` or all).

    Returns:
        ``(cluster_id, keep)``: int64 array, each text's cluster named by the index of its first
        (kept) text; bool array, True for the kept texts.

    >>> ids, keep = dedup(["a b c d e f g", "A b c d e f g", "x y z"], threshold=0.8)
    >>> ids.tolist(), keep.tolist()
    ([0, 0, 2], [True, False, True])
    """
    hasher = MinHasher(num_perm=num_perm, ngram=ngram, seed=seed, unit=unit)
    lsh = LSH(threshold=threshold, num_perm=num_perm, bands=bands, rows=rows, max_compare=max_compare, spill_dir=spill_dir)
    if isinstance(texts, str):
        raise TypeError("`texts` must be an iterable of str, not a str")
    batch: list[str] = []
    for t in texts:
        batch.append(t)
        if len(batch) >= BATCH:
            lsh.insert(hasher.signatures(batch, num_threads=num_threads), num_threads=num_threads)
            batch = []
    if batch or len(lsh) == 0:
        lsh.insert(hasher.signatures(batch, num_threads=num_threads), num_threads=num_threads)
    return lsh.clusters(verify=verify, num_threads=num_threads)


@dataclass(frozen=True)
class Match:
    """A benchmark item a text overlaps.

    Attributes:
        index: Position of the benchmark item in the ``against`` list.
        overlap: Share of the benchmark item's n-grams found in the text (``method="ngram"``),
            or the estimated Jaccard of the two (``method="minhash"``).
        shared: n-grams in common (0 for ``method="minhash"``).
    """

    index: int
    overlap: float
    shared: int


class Decontaminator:
    """Finds benchmark items inside training texts.

    ``method="ngram"`` (default): exact word n-gram overlap (13-grams by default, as in GPT-3's
    and Llama's contamination studies, over dlcot's normalised words, punctuation included); a
    text matches a benchmark item when it contains at least ``min_overlap`` of the item's
    distinct n-grams, so boilerplate shared by many problems ("Express your answer as a common
    fraction.") does not match on its own. An item shorter than ``ngram`` words is one n-gram: it
    must appear whole. ``method="minhash"``: estimated Jaccard of the two texts' 5-gram shingle
    sets at least ``threshold`` (near-duplicate problems, rephrasings that keep most words).

    >>> d = Decontaminator(["What is the sum of the first ten positive odd integers, in total?"], ngram=5)
    >>> [m.index for m in d.matches(["Q: what is the sum of the first ten positive odd integers, in total? A:"])[0]]
    [0]
    """

    def __init__(
        self,
        against: Sequence[str],
        *,
        method: str = "ngram",
        ngram: int = 13,
        min_overlap: float = 0.5,
        threshold: float = 0.8,
        num_perm: int = 128,
        num_threads: Optional[int] = None,
    ):
        if method not in ("ngram", "minhash"):
            raise ValueError(f'invalid `method`: must be "ngram" or "minhash", got {method!r}')
        if not 0.0 < min_overlap <= 1.0:
            raise ValueError(f"invalid `min_overlap`: must be in (0, 1], got {min_overlap}")
        self.method = method
        self.min_overlap = min_overlap
        self.num_threads = num_threads
        self.size = len(against)
        if method == "ngram":
            self._index = NgramIndex(against, ngram=ngram, num_threads=num_threads)
            self._sizes = np.array([self._index.size(i) for i in range(len(against))], dtype=np.int64)
        else:
            self._hasher = MinHasher(num_perm=num_perm, ngram=5)
            self._query = LSHQuery(self._hasher.signatures(against, num_threads=num_threads), threshold=threshold)

    def matches(self, texts: Sequence[str]) -> list[list[Match]]:
        """For each text, the benchmark items it overlaps, strongest first."""
        if self.method == "minhash":
            sigs = self._hasher.signatures(texts, num_threads=self.num_threads)
            return [[Match(int(i), float(e), 0) for i, e in hits] for hits in self._query.query(sigs)]
        out = []
        for hits, _n in self._index.query(texts, num_threads=self.num_threads):
            ms = [Match(int(i), s / max(int(self._sizes[i]), 1), int(s)) for i, s in hits]
            ms = [m for m in ms if m.overlap >= self.min_overlap]
            ms.sort(key=lambda m: (-m.overlap, m.index))
            out.append(ms)
        return out
