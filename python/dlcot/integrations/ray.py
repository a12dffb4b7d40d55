"""Near-duplicate clustering of a Ray Data dataset, with the clusters of :func:`dlcot.dedup`.

``dedup_dataset(ds)`` returns the rows of ``ds`` with two added columns: ``cluster_id`` (the row
index of the cluster's kept row, or its ``id_column`` value) and ``keep`` (True for the first row
of each cluster in input order). The clusters are exactly those of the single-process
``dlcot.dedup(texts)`` / ``LSH.clusters`` on the same texts in the same order: the same MinHash
signatures and band keys, the same per-bucket linking rule (``dlcot._core.lsh_bucket_links``) and
the same union-find (``dlcot._core.connected_components``), whatever the number of blocks or
workers. Install with ``pip install 'dlcot[ray]'``; ``import dlcot`` never imports Ray, and this
module imports it only when a function is called.

Running it on a cluster
-----------------------

Run the script on a node of the cluster (or submit it as a job, below) and join the running
cluster instead of starting a local one. dlcot must be importable on every node: bake it into
the image, or ship it with a runtime environment::

    import ray
    from dlcot.integrations.ray import dedup_dataset

    ray.init(address="auto")   # join the running cluster (RAY_ADDRESS, when set, names it)
    # ray.init(address="auto", runtime_env={"pip": ["dlcot[ray]"]})   # nodes without dlcot

    ds = ray.data.read_parquet("s3://bucket/traces/")               # a folder of Parquet files
    # ds = ray.data.read_json("s3://bucket/traces/", lines=True)   # JSON Lines, a record a line

    out = dedup_dataset(ds, column="response", id_column="id", threshold=0.8)
    out.filter(lambda r: r["keep"]).drop_columns(["keep"]).write_parquet("s3://bucket/traces-dedup/")
    # every row with its cluster instead:  out.write_parquet("s3://bucket/traces-clustered/")

From outside the cluster, submit the script as a job:
``ray job submit --address http://HEAD:8265 --working-dir . -- python dedup_job.py``; inside a
job, ``ray.init()`` joins the cluster by itself. ``dedup_dataset`` returns once the clustering
has run; the returned dataset is lazy only in its last step (adding the two columns), so
consuming it twice (a filter for the kept rows, then a write of all rows) repeats only that step.
On recent Ray, ``out.filter(expr=col("keep"))`` (``from ray.data.expressions import col``) is a
faster filter than the lambda.

Row order and ids. Row ``i`` is the ``i``-th row in the order Ray Data produces the input with
``preserve_order`` on: for ``read_parquet``/``read_json`` on a folder, the files in sorted path
order and the rows in file order; for ``from_items``/``from_pandas``, the given order. The
function switches ``preserve_order`` on while it materialises the input (and restores the
setting), and the returned dataset keeps input order. The kept row of a cluster is its first row
in that order, so put the rows you prefer first (e.g. sorted by quality) before calling. Pass
``id_column`` (a column of unique values, e.g. the trace id) to get ``cluster_id`` as that
column's value of the kept row, stable across runs and file layouts.

Memory and speed:

- The input is materialised once in the object store (with its row index added); Ray spills to
  local disk when the store is full, so give the nodes spill space, or pass only the id and
  text columns (``ds.select_columns(["id", "response"])``) and join the result back on the id.
- The bucket shuffle moves ``bands`` rows per text of about ``4 * num_perm + 20`` bytes with
  ``verify=True`` (20 bytes without): with the defaults (threshold 0.8, num_perm 128: 9 bands
  of 13 rows) about 4.8 KB per text, 48 GB for 10^7 texts, spilled like any Ray shuffle.
- Buckets with a single member, nearly all of them, produce nothing. The driver collects only
  the links (16 bytes each; a pair found in several bands is kept once) and runs the union-find
  over the linked rows only, a million links at a time: it holds O(near-duplicate rows), never
  an array of all n rows, so n can pass 10^9 while the duplicates fit in the driver's memory.
- Hashing runs one thread per Ray task (``num_threads=1``), ``batch_size`` texts a call; Ray's
  parallelism is the CPUs it schedules tasks on.
- The bucket shuffle is Ray's ``groupby``: its strategy is the DataContext's
  ``shuffle_strategy`` and ``num_partitions`` sets its width. On a small local cluster the
  sort-based strategy (``ray.data.DataContext.get_current().shuffle_strategy =
  "sort_shuffle_pull_based"``) runs far faster than the default hash shuffle, whose actors take
  seconds to start; on a large cluster keep the default.

Ray APIs. Besides public Ray Data calls, the row index uses ``Dataset.context``,
``Dataset.iter_internal_ref_bundles`` and ``ray.data.from_arrow_refs`` (Ray DeveloperAPIs;
tested with Ray 2.60).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dlcot._core import LSH, MinHasher, connected_components, lsh_bucket_links

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa  # type: ignore[import-untyped]
    import ray.data

__all__ = ["dedup_dataset", "dedup_texts"]

#: The internal row-index column (dropped from the result).
_INDEX = "__dlcot_row"
#: Texts hashed per worker call by default.
DEFAULT_BATCH_SIZE = 1024
#: Linked rows from which the join's lookup arrays travel through the object store.
_BROADCAST_MIN = 1 << 16


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as e:  # pragma: no cover - exercised only without ray
        raise ImportError(
            "dlcot.integrations.ray needs Ray Data; install it with: pip install 'dlcot[ray]'"
        ) from e
    return ray


@dataclass(frozen=True)
class _Params:
    threshold: float
    num_perm: int
    ngram: int
    unit: str
    seed: int
    bands: int
    rows: int
    max_compare: int
    verify: bool

    def hasher(self) -> MinHasher:
        return MinHasher(num_perm=self.num_perm, ngram=self.ngram, seed=self.seed, unit=self.unit)

    def lsh(self) -> LSH:
        return LSH(
            threshold=self.threshold, num_perm=self.num_perm, bands=self.bands, rows=self.rows,
            max_compare=self.max_compare,
        )


def _params(
    threshold: float, num_perm: int, ngram: int, unit: str, seed: int,
    bands: int | None, rows: int | None, max_compare: int, verify: bool,
) -> _Params:
    """Validates the options on the driver with the single-process constructors, and resolves
    ``bands``/``rows`` once, so every worker bands the signatures the same way."""
    MinHasher(num_perm=num_perm, ngram=ngram, seed=seed, unit=unit)
    lsh = LSH(threshold=threshold, num_perm=num_perm, bands=bands, rows=rows, max_compare=max_compare)
    return _Params(
        float(threshold), int(num_perm), int(ngram), str(unit), int(seed), lsh.bands, lsh.rows,
        int(max_compare), bool(verify),
    )


# --- step 1: a global row index -----------------------------------------------------------------


def _index_block(block: Any, start: int | None, stop: int | None, offset: int) -> pa.Table:
    """A block (or its slice) as an Arrow table with the row-index column appended."""
    import pyarrow as pa
    from ray.data.block import BlockAccessor

    acc = BlockAccessor.for_block(block)
    if start is not None and stop is not None:
        acc = BlockAccessor.for_block(acc.slice(start, stop, copy=False))
    table = acc.to_arrow()
    if _INDEX in table.column_names:
        table = table.drop_columns([_INDEX])
    idx = np.arange(offset, offset + table.num_rows, dtype=np.int64)
    return table.append_column(_INDEX, pa.array(idx))


def _num_rows(block: Any) -> int:
    from ray.data.block import BlockAccessor

    return BlockAccessor.for_block(block).num_rows()


_REMOTE: dict[Any, Any] = {}


def _remote(ray: Any, fn: Any) -> Any:
    """``ray.remote(fn)``, made once per process."""
    if fn not in _REMOTE:
        _REMOTE[fn] = ray.remote(fn)
    return _REMOTE[fn]


def _with_index(ds: ray.data.Dataset) -> ray.data.Dataset:
    """``ds`` materialised in input order, each row given its position as ``_INDEX``.

    The input is materialised with ``preserve_order`` on (so its blocks come out in input
    order); the blocks' row counts (known from their metadata) give each block its first index,
    and one small task per block appends the index column. The result is a dataset over those
    indexed blocks, in the same order.
    """
    ray = _import_ray()
    ctx = ds.context
    before = ctx.execution_options.preserve_order
    ctx.execution_options.preserve_order = True
    try:
        mds = ds.materialize()
        parts = []
        for bundle in mds.iter_internal_ref_bundles():
            refs, metas = list(bundle.block_refs), list(bundle.metadata)
            slices = getattr(bundle, "slices", None) or [None] * len(refs)
            for ref, meta, sl in zip(refs, metas, slices):
                if sl is not None:
                    parts.append((ref, sl.start_offset, sl.end_offset, sl.end_offset - sl.start_offset))
                else:
                    parts.append((ref, None, None, meta.num_rows))
    finally:
        ctx.execution_options.preserve_order = before
    unknown = [k for k, p in enumerate(parts) if p[3] is None]
    if unknown:
        count = _remote(ray, _num_rows)
        for k, n in zip(unknown, ray.get([count.remote(parts[k][0]) for k in unknown])):
            parts[k] = parts[k][:3] + (n,)
    index = _remote(ray, _index_block)
    refs, offset = [], 0
    for ref, start, stop, n in parts:
        if n:
            refs.append(index.remote(ref, start, stop, offset))
            offset += n
    del mds, parts
    if refs:
        out = ray.data.from_arrow_refs(refs)
    else:  # an empty input: keep its (empty) blocks
        out = ds.materialize()
    out.context.execution_options.preserve_order = True
    return out


# --- step 2: signatures, band keys, one row per (band, text) ------------------------------------


def _signatures(batch: pa.Table, *, column: str, p: _Params) -> pa.Table:
    """``_INDEX``, the MinHash signature and the band keys of each text of the batch."""
    import pyarrow as pa

    texts = batch.column(column).to_pylist()
    if batch.column(column).null_count:
        row = batch.column(_INDEX)[texts.index(None)].as_py()
        raise TypeError(f"column {column!r} holds a null at row {row}: drop or fill nulls before dedup")
    sigs = p.hasher().signatures(texts, num_threads=1)
    keys = p.lsh().band_keys(sigs, num_threads=1).view(np.int64)  # bit-cast: grouping is by equality
    cols = {
        _INDEX: batch.column(_INDEX),
        "sig": pa.FixedSizeListArray.from_arrays(pa.array(sigs.reshape(-1)), p.num_perm),
        "keys": pa.FixedSizeListArray.from_arrays(pa.array(keys.reshape(-1)), p.bands),
    }
    return pa.table(cols)


def _band_rows(batch: pa.Table, *, p: _Params) -> pa.Table:
    """The flat map: one ``(band, key, idx[, sig])`` row per band of each text (text-major)."""
    import pyarrow as pa

    m, b = batch.num_rows, p.bands
    keys = batch.column("keys").combine_chunks().flatten().to_numpy()
    rep = np.repeat(np.arange(m), b)
    cols = {
        "band": pa.array(np.tile(np.arange(b, dtype=np.int32), m)),
        "key": pa.array(keys),
        "idx": batch.column(_INDEX).combine_chunks().take(pa.array(rep)),
    }
    if p.verify:
        cols["sig"] = batch.column("sig").combine_chunks().take(pa.array(rep))
    return pa.table(cols)


# --- step 3: per-bucket links ---------------------------------------------------------------------


def _bucket_links(group: pa.Table, *, p: _Params) -> Iterator[pa.Table]:
    """The links of one ``(band, key)`` bucket by the single-process rule; nothing for a singleton.

    Members are ordered by row index and numbered 0..m-1 for :func:`lsh_bucket_links` (which
    takes 32-bit ids), then mapped back to their int64 row indices.
    """
    if group.num_rows < 2:
        return
    import pyarrow as pa

    idx = group.column("idx").to_numpy()
    order = np.argsort(idx, kind="stable")
    if p.verify:
        sigs = group.column("sig").combine_chunks().flatten().to_numpy().reshape(-1, p.num_perm)[order]
        threshold: float | None = p.threshold
    else:
        sigs = np.zeros((len(idx), 1), dtype=np.uint32)  # not read without verification
        threshold = None
    links = lsh_bucket_links(
        list(range(len(idx))), np.ascontiguousarray(sigs), threshold=threshold, max_compare=p.max_compare
    )
    if links:
        pos = np.asarray(links, dtype=np.int64)
        ids = idx[order]
        yield pa.table({"a": pa.array(ids[pos[:, 0]]), "b": pa.array(ids[pos[:, 1]])})


# --- step 4: components on the driver -------------------------------------------------------------


def _collect_links(links_ds: ray.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """All links on the driver, deduplicated (a pair found in several bands counts once)."""
    parts: list[np.ndarray] = []
    pending = 0
    for batch in links_ds.iter_batches(batch_size=None, batch_format="numpy"):
        if len(batch.get("a", ())) == 0:
            continue
        parts.append(np.stack([batch["a"], batch["b"]], axis=1).astype(np.int64, copy=False))
        pending += len(parts[-1])
        if pending > 1 << 22:  # keep the buffer bounded by the distinct links
            parts = [np.unique(np.concatenate(parts), axis=0)]
            pending = len(parts[0])
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pairs = np.unique(np.concatenate(parts), axis=0)
    return pairs[:, 0], pairs[:, 1]


def _components(a: np.ndarray, b: np.ndarray, chunk: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """``(nodes, roots)``: the linked row indices (sorted) and each one's smallest-index root.

    Rows in no link are their own clusters, so only the linked rows enter the union-find
    (renumbered 0..k-1 in index order, which keeps "smallest index" meaning the same). The links
    go to :func:`connected_components` ``chunk`` at a time, each chunk's ends replaced by their
    roots so far: the components, and their smallest members, are those of all links at once.
    """
    if len(a) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    nodes, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    m, k = len(a), len(nodes)
    comp = np.arange(k, dtype=np.int64)
    for s in range(0, m, chunk):
        ca, cb = comp[inv[s:min(s + chunk, m)]], comp[inv[m + s:m + min(s + chunk, m)]]
        comp = connected_components(k, list(zip(ca.tolist(), cb.tolist())))[comp]
    return nodes, nodes[comp]


# --- step 5: join back by row index ---------------------------------------------------------------


def _get(x: Any) -> Any:
    """``x``, or the value it refers to when it is an object reference (a broadcast array)."""
    import ray

    return ray.get(x) if isinstance(x, ray.ObjectRef) else x


def _pick_rows(batch: pa.Table, *, wanted: Any, id_column: str) -> pa.Table:
    """The rows of the batch whose index is in ``wanted`` (sorted), with their id."""
    import pyarrow as pa

    wanted = _get(wanted)
    idx = batch.column(_INDEX).to_numpy()
    pos = np.minimum(np.searchsorted(wanted, idx), len(wanted) - 1)
    mask = wanted[pos] == idx

    return batch.filter(pa.array(mask)).select([_INDEX, id_column])


def _attach(
    batch: pa.Table, *, nodes: Any, roots: Any, root_rows: Any, root_ids: Any,
    id_column: str | None, keep_index: bool,
) -> pa.Table:
    """Adds ``cluster_id`` and ``keep`` to the rows of a batch (a broadcast join on the index)."""
    import pyarrow as pa

    nodes, roots = _get(nodes), _get(roots)
    idx = batch.column(_INDEX).to_numpy()
    root = idx.copy()
    if len(nodes):
        pos = np.minimum(np.searchsorted(nodes, idx), len(nodes) - 1)
        hit = nodes[pos] == idx
        root[hit] = roots[pos[hit]]
    else:
        hit = np.zeros(len(idx), dtype=bool)
    keep = root == idx
    if id_column is None:
        cluster = pa.array(root, type=pa.int64())
    else:
        own = batch.column(id_column).combine_chunks()
        moved = ~keep
        if moved.any():
            rows = _get(root_rows)
            extra = _get(root_ids).take(pa.array(np.searchsorted(rows, root[moved])))
            take = np.arange(len(idx))
            take[moved] = len(idx) + np.arange(int(moved.sum()))
            cluster = pa.concat_arrays([own, extra.cast(own.type)]).take(pa.array(take))
        else:
            cluster = own
    drop = [c for c in ("cluster_id", "keep") if c in batch.column_names]
    if not keep_index:
        drop.append(_INDEX)
    out = batch.drop_columns(drop) if drop else batch
    return out.append_column("cluster_id", cluster).append_column("keep", pa.array(keep))


# --- the pipeline ---------------------------------------------------------------------------------


def _check_columns(schema: Any, column: str, id_column: str | None) -> None:
    names = [c for c in (schema.names if schema is not None else []) if c != _INDEX]
    for arg, need in (("column", column), ("id_column", id_column)):
        if need is not None and names and need not in names:
            raise ValueError(f"invalid `{arg}`: the dataset has no column {need!r} (it has {names})")


def _run(
    ds: ray.data.Dataset, *, column: str, id_column: str | None, p: _Params, batch_size: int,
    num_partitions: int | None, keep_index: bool,
) -> ray.data.Dataset:
    ray = _import_ray()
    _check_columns(ds.schema(fetch_if_missing=False), column, id_column)  # cheap when known
    indexed: Any = _with_index(ds)  # (Any: Ray's UDF types do not cover keyword-only UDFs)
    _check_columns(indexed.schema(), column, id_column)

    # signatures and band keys (a map), then one row per band (a flat map; Ray fuses the two)
    bands = (
        indexed.select_columns([column, _INDEX])
        .map_batches(_signatures, batch_format="pyarrow", batch_size=batch_size, fn_kwargs={"column": column, "p": p})
        .map_batches(_band_rows, batch_format="pyarrow", batch_size=None, fn_kwargs={"p": p})
    )
    # group by bucket; each group yields its links (nothing for singletons)
    grouped = bands.groupby(["band", "key"], **({} if num_partitions is None else {"num_partitions": num_partitions}))
    links_ds = grouped.map_groups(_bucket_links, batch_format="pyarrow", fn_kwargs={"p": p})
    a, b = _collect_links(links_ds)
    nodes, roots = _components(a, b)

    big = len(nodes) >= _BROADCAST_MIN  # put large arrays in the object store once, not in every task
    put = (lambda x: ray.put(x) if x is not None else None) if big else (lambda x: x)
    root_rows = root_ids = None
    if id_column is not None and len(roots):
        root_rows = np.unique(roots)
        picked = indexed.map_batches(
            _pick_rows, batch_format="pyarrow", batch_size=None,
            fn_kwargs={"wanted": put(root_rows), "id_column": id_column},
        )
        import pyarrow as pa

        tables = [t for t in picked.iter_batches(batch_size=None, batch_format="pyarrow") if t.num_rows]
        table = pa.concat_tables(tables).sort_by(_INDEX)
        if table.num_rows != len(root_rows):  # pragma: no cover - a Ray failure, not user input
            raise RuntimeError("could not read back the id of every kept row")
        root_ids = table.column(id_column).combine_chunks()
    return indexed.map_batches(
        _attach, batch_format="pyarrow", batch_size=None,
        fn_kwargs={
            "nodes": put(nodes), "roots": put(roots), "root_rows": put(root_rows), "root_ids": put(root_ids),
            "id_column": id_column, "keep_index": keep_index,
        },
    )


def dedup_dataset(
    ds: ray.data.Dataset,
    *,
    column: str = "text",
    id_column: str | None = None,
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    unit: str = "word",
    seed: int = 0,
    bands: int | None = None,
    rows: int | None = None,
    max_compare: int = 8,
    verify: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_partitions: int | None = None,
) -> ray.data.Dataset:
    """Clusters near-duplicate rows of a Ray dataset; the first row of each cluster is kept.

    The same clusters as ``dlcot.dedup(texts, ...)`` on the texts in input order (see the
    module docs for what input order is, and for running on a cluster).

    Args:
        ds: The rows; ``column`` holds the text (str).
        column: The text column.
        id_column: A column of unique values; ``cluster_id`` is then this column's value of the
            kept row instead of its row index (and has that column's type).
        threshold, num_perm, ngram, unit, seed, bands, rows, max_compare, verify: As in
            :func:`dlcot.dedup`.
        batch_size: Texts hashed per worker call.
        num_partitions: Partitions of the bucket shuffle (``Dataset.groupby``'s
            ``num_partitions``; Ray's default when None).

    Returns:
        The rows of ``ds`` in input order with ``cluster_id`` (int64 row index of the cluster's
        kept row, or its ``id_column`` value) and ``keep`` (bool) added (replaced if present).
        Executing it runs the pipeline's last step; the clustering itself has already run on the
        cluster when this returns.

    Steps: (1) materialise ``ds`` in order and give each row its index; (2) ``map_batches``:
    MinHash signatures and band keys (one thread per task), flattened to one row per (band,
    text); (3) ``groupby(["band", "key"]).map_groups``: each bucket's links by
    ``lsh_bucket_links`` (singleton buckets skipped); (4) the links are collected on the driver
    and ``connected_components`` runs over the linked rows; (5) ``map_batches`` joins each row to
    its cluster by index (the small arrays of linked rows are broadcast).
    """
    p = _params(threshold, num_perm, ngram, unit, seed, bands, rows, max_compare, verify)
    if batch_size < 1:
        raise ValueError(f"invalid `batch_size`: must be at least 1, got {batch_size}")
    return _run(
        ds, column=column, id_column=id_column, p=p, batch_size=batch_size, num_partitions=num_partitions,
        keep_index=False,
    )


def dedup_texts(
    texts: Sequence[str],
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    unit: str = "word",
    seed: int = 0,
    bands: int | None = None,
    rows: int | None = None,
    max_compare: int = 8,
    verify: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_partitions: int | None = None,
    num_blocks: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(cluster_id, keep)`` for a list of texts, computed by the Ray pipeline.

    The texts become a dataset of ``num_blocks`` blocks (Ray's choice by default); the result
    arrays are in input order, equal to ``dlcot.dedup(texts, ...)``.
    """
    if isinstance(texts, str):
        raise TypeError("`texts` must be a sequence of str, not a str")
    p = _params(threshold, num_perm, ngram, unit, seed, bands, rows, max_compare, verify)
    if batch_size < 1:
        raise ValueError(f"invalid `batch_size`: must be at least 1, got {batch_size}")
    texts = list(texts)
    if not texts:
        return np.empty(0, np.int64), np.empty(0, bool)
    ray = _import_ray()
    ds = ray.data.from_items([{"text": t} for t in texts], override_num_blocks=num_blocks)
    out = _run(
        ds, column="text", id_column=None, p=p, batch_size=batch_size, num_partitions=num_partitions, keep_index=True
    )
    cluster = np.empty(len(texts), np.int64)
    keep = np.empty(len(texts), bool)
    seen = 0
    for batch in out.select_columns([_INDEX, "cluster_id", "keep"]).iter_batches(batch_size=None, batch_format="numpy"):
        cluster[batch[_INDEX]] = batch["cluster_id"]
        keep[batch[_INDEX]] = batch["keep"]
        seen += len(batch[_INDEX])
    if seen != len(texts):  # pragma: no cover - a Ray failure
        raise RuntimeError(f"the pipeline returned {seen} rows for {len(texts)} texts")
    return cluster, keep


# --- pruning: the Pipeline over a dataset -----------------------------------------------------------


class _PruneActor:
    """The ``map_batches`` callable class: one Pipeline per actor, built on its first batch."""

    def __init__(self, options: Any):
        from dlcot.integrations.datasets import PruneBatch

        self._fn = PruneBatch(options)

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        from dlcot.integrations.datasets import COLUMNS, _missing_column

        o = self._fn.options
        names = batch.column_names
        for arg, name in (
            ("response_column", o.response_column),
            ("problem_column", o.problem_column),
            ("answer_column", o.answer_column),
            ("id_column", o.id_column),
        ):
            if name is not None and name not in names:
                raise ValueError(_missing_column(arg, name, names))
        n = batch.num_rows

        def values(name: str | None) -> list:
            return batch.column(name).to_pylist() if name is not None else [None] * n

        ids = values(o.id_column) if o.id_column is not None else None
        new = self._fn.columns(values(o.problem_column), values(o.response_column), values(o.answer_column), ids=ids)
        types = {"dlcot_tokens_before": pa.int64(), "dlcot_tokens_after": pa.int64()}
        drop = [c for c in COLUMNS if c in names]
        out = batch.drop_columns(drop) if drop else batch
        for name in COLUMNS:
            out = out.append_column(name, pa.array(new[name], type=types.get(name, pa.string())))
        return out


def _actor_pool(ray: Any, concurrency: int | tuple[int, ...] | None) -> Any:
    """``concurrency`` as the ``compute=`` of ``map_batches`` (its ``concurrency=`` is deprecated
    since Ray 2.51): n actors, or an autoscaling pool of (min, max[, initial]) actors."""
    if concurrency is None:
        return None  # Ray's default for a callable class: an autoscaling pool
    if isinstance(concurrency, int) and not isinstance(concurrency, bool) and concurrency >= 1:
        return ray.data.ActorPoolStrategy(size=concurrency)
    if (
        isinstance(concurrency, tuple)
        and len(concurrency) in (2, 3)
        and all(isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in concurrency)
        and concurrency[0] <= concurrency[1]
    ):
        if len(concurrency) == 2:
            return ray.data.ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
        return ray.data.ActorPoolStrategy(
            min_size=concurrency[0], max_size=concurrency[1], initial_size=concurrency[2]
        )
    raise ValueError(
        f"invalid `concurrency`: an int >= 1 (actors) or a tuple (min, max[, initial]), got {concurrency!r}"
    )


def prune_dataset(
    ds: ray.data.Dataset,
    policy: str = "dlcot",
    *,
    problem_column: str | None = "problem",
    response_column: str = "response",
    answer_column: str | None = "answer",
    id_column: str | None = None,
    keep_unsolvable: bool = False,
    threshold: float = 0.4,
    tokenizer: Any = None,
    format: str = "messages",
    num_threads: int | None = 1,
    symbolic: bool = True,
    batch_size: int = 256,
    concurrency: int | tuple[int, ...] | None = None,
) -> ray.data.Dataset:
    """Prunes every row of a Ray dataset with a :class:`dlcot.Pipeline` (lazily, like any map).

    Adds the columns of :func:`dlcot.integrations.datasets.map_fn` (replaced if present):
    ``dlcot_status``, ``dlcot_response``, ``dlcot_edits`` (JSON), ``dlcot_tokens_before``,
    ``dlcot_tokens_after`` (int64, null without a tokenizer) and ``dlcot_sft`` (JSON, null unless
    kept). Each row's values are those of ``Pipeline.process_batch`` on the same record,
    whatever the blocks or actors.

    Args:
        ds: The rows.
        policy, problem_column, response_column, answer_column, id_column, keep_unsolvable,
            threshold, tokenizer, format, symbolic: As in
            :func:`dlcot.integrations.datasets.map_fn` (a tokenizer path must exist on every
            node). Without ``id_column`` the SFT record's id is null.
        num_threads: Threads per actor for the Rust core and the tokenizer (default 1: Ray's
            parallelism is the actors); each actor reserves that many CPUs.
        batch_size: Rows per call.
        concurrency: Actors: n, or ``(min, max)`` / ``(min, max, initial)`` for an autoscaling
            pool (passed as ``compute=ray.data.ActorPoolStrategy(...)``); None: Ray's default
            (an autoscaling pool). Each actor holds ``num_threads`` CPUs for as long as the
            dataset runs: leave CPUs for the read and write tasks (a fixed pool that takes
            every CPU of the cluster stalls a pipeline that reads files).

    Returns:
        The lazy dataset: ``map_batches`` over a callable class (``batch_format="pyarrow"``),
        so each actor builds one Pipeline and keeps it for all its batches.
    """
    from dlcot.integrations.datasets import _options

    options = _options(
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
    if batch_size is None or batch_size < 1:
        raise ValueError(f"invalid `batch_size`: must be at least 1, got {batch_size}")
    ray = _import_ray()
    compute = _actor_pool(ray, concurrency)
    schema = ds.schema(fetch_if_missing=False)  # checked now when known, else in the actors
    names = list(schema.names) if schema is not None else []
    if names:
        from dlcot.integrations.datasets import _missing_column

        for arg, name in (
            ("response_column", response_column),
            ("problem_column", problem_column),
            ("answer_column", answer_column),
            ("id_column", id_column),
        ):
            if name is not None and name not in names:
                raise ValueError(_missing_column(arg, name, names))
    kw: dict[str, Any] = {}
    if compute is not None:
        kw["compute"] = compute
    if num_threads is not None and num_threads > 1:
        kw["num_cpus"] = num_threads
    return ds.map_batches(
        _PruneActor, batch_format="pyarrow", batch_size=batch_size, fn_constructor_kwargs={"options": options}, **kw
    )


__all__ += ["prune_dataset"]
