"""The Ray Data pipeline (dlcot.integrations.ray) on a real local Ray cluster: the same clusters as
the single-process MinHash + LSH on real traces with planted near-duplicates, whatever the blocks.

One module-scoped local cluster (2 CPUs, no dashboard) serves every test; Ray's start-up is most
of the module's run time. The bucket shuffle uses Ray's sort-based strategy, which is quick on a
small local cluster, except in the one case that runs Ray's default strategy.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import random
import subprocess
import sys
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'dlcot[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'dlcot[ray]')")

import dlcot.integrations.ray as dray
from conftest import load_corpus
from dlcot._core import LSH, MinHasher

NUM_PERM = 128
N_ORIGINALS = 300
_DEFAULT_SHUFFLE: list = []


@pytest.fixture(scope="module")
def data_context():
    """A local Ray cluster for the module, shut down after; yields Ray Data's current context."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    saved = (ctx.enable_progress_bars, ctx.shuffle_strategy)
    ctx.enable_progress_bars = False
    ctx.shuffle_strategy = "sort_shuffle_pull_based"
    _DEFAULT_SHUFFLE.append(saved[1])  # for the one case that runs Ray's default
    yield ctx
    ctx.enable_progress_bars, ctx.shuffle_strategy = saved
    if started:
        ray.shutdown()


@contextlib.contextmanager
def shuffle_strategy(ctx, strategy):
    saved = ctx.shuffle_strategy
    ctx.shuffle_strategy = strategy
    try:
        yield
    finally:
        ctx.shuffle_strategy = saved


def single_process(texts, *, threshold, verify):
    """The reference: MinHasher + LSH in one process (and dlcot.dedup, when it exists,
    checked to agree with it)."""
    sigs = MinHasher(num_perm=NUM_PERM, ngram=5).signatures(texts)
    lsh = LSH(threshold=threshold, num_perm=NUM_PERM)
    lsh.insert(sigs)
    cluster, keep = lsh.clusters(verify=verify)
    if importlib.util.find_spec("dlcot.dedup") is not None:
        from dlcot.dedup import dedup

        c2, k2 = dedup(texts, threshold=threshold, num_perm=NUM_PERM, verify=verify)
        np.testing.assert_array_equal(c2, cluster)
        np.testing.assert_array_equal(k2, keep)
    return cluster, keep


def _edit(text: str, rng: random.Random, edits: int) -> str:
    words = text.split(" ")
    for k, pos in enumerate(rng.sample(range(len(words)), edits)):
        words[pos] = f"zqxj{k}"
    return " ".join(words)


@pytest.fixture(scope="module")
def planted():
    """~300 real responses (spread over the whole trace set) followed by planted copies:
    near-duplicates (2 words replaced, in texts of >= 600 words), exact duplicates, one triple,
    and graded copies (more words replaced) whose fate depends on the settings.

    Returns (texts, pairs): pairs are (original index, copy index), every copy after its original.
    """
    recs = load_corpus()
    if not recs:
        pytest.skip("traces_normalised.jsonl not found")
    step = max(1, len(recs) // N_ORIGINALS)
    texts = [r["response"] for r in recs[::step][:N_ORIGINALS]]
    rng = random.Random(7)
    long_ones = [i for i, t in enumerate(texts) if len(t.split(" ")) >= 600]
    near = rng.sample(long_ones, 20)
    exact = rng.sample([i for i in range(len(texts)) if i not in near], 20)
    copies = [(i, _edit(texts[i], rng, 2)) for i in near] + [(i, texts[i]) for i in exact]
    copies += [(exact[0], texts[exact[0]])]  # a third copy of one text
    # graded copies, 2% to 10% of words replaced (Jaccard about 0.85 down to 0.45): whether they
    # join depends on the threshold and on verification, so the cases below cluster differently
    graded = [(None, _edit(texts[i], rng, max(1, int(len(texts[i].split(" ")) * rng.uniform(0.02, 0.10)))))
              for i in rng.sample(long_ones, 40) for _ in range(2)]
    copies += graded
    rng.shuffle(copies)
    pairs = []
    for orig, copy in copies:
        if orig is not None:
            pairs.append((orig, len(texts)))
        texts.append(copy)
    return texts, pairs


CASES = [
    # (threshold, verify, strategy): None keeps the module's sort shuffle, "default" Ray's own
    (0.8, True, None),
    (0.8, False, None),
    (0.6, True, None),
    (0.6, False, None),
    (0.8, True, "default"),
]
_RESULTS: dict = {}


@pytest.mark.parametrize(("threshold", "verify", "strategy"), CASES)
def test_same_clusters_as_single_process(data_context, planted, monkeypatch, threshold, verify, strategy):
    texts, _ = planted
    want = single_process(texts, threshold=threshold, verify=verify)
    if strategy == "default":
        ctx = shuffle_strategy(data_context, _DEFAULT_SHUFFLE[0])
        opts = {"num_partitions": 4}
    else:
        ctx, opts = contextlib.nullcontext(), {}
    if (threshold, verify) == (0.6, False):
        monkeypatch.setattr(dray, "_BROADCAST_MIN", 0)  # the join's arrays go through the object store
    with ctx:
        got = dray.dedup_texts(texts, threshold=threshold, verify=verify, num_blocks=8, batch_size=16, **opts)
    _RESULTS[(threshold, verify)] = got
    assert got[0].dtype == np.int64 and got[1].dtype == np.bool_
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize(("threshold", "verify"), [(0.8, True), (0.8, False), (0.6, True), (0.6, False)])
def test_planted_copies_join_their_original_and_the_first_row_is_kept(data_context, planted, threshold, verify):
    texts, pairs = planted
    cluster, keep = _RESULTS.get((threshold, verify)) or dray.dedup_texts(
        texts, threshold=threshold, verify=verify, num_blocks=8
    )
    for orig, copy in pairs:
        assert cluster[copy] == cluster[orig], (orig, copy)
        assert not keep[copy]
    # each cluster is named by its smallest row, the only kept row
    n = len(texts)
    first = {}
    for i in range(n):
        first.setdefault(int(cluster[i]), i)
    assert all(cluster[i] == first[int(cluster[i])] for i in range(n))
    np.testing.assert_array_equal(keep, cluster == np.arange(n))
    assert (~keep).sum() >= len(pairs)


def test_max_compare_counts_earlier_bucket_members_in_row_order(data_context, planted):
    # families (a, b, b): b has 8% of a's words replaced, so b and its copy fail against a and
    # pass against each other. One band of 2 rows puts whole families in one bucket often: there
    # the copy meets a first, and with max_compare=1 it never reaches b.
    texts, _ = planted
    rng = random.Random(3)
    fams = []
    for a in [t for t in texts[:N_ORIGINALS] if len(t.split(" ")) >= 300][:20]:
        b = _edit(a, rng, len(a.split(" ")) * 8 // 100)
        fams += [a, b, b]
    sigs = MinHasher(num_perm=NUM_PERM, ngram=5).signatures(fams)
    want = {}
    for mc in (1, 8):
        lsh = LSH(threshold=0.8, num_perm=NUM_PERM, bands=1, rows=2, max_compare=mc)
        lsh.insert(sigs)
        want[mc] = lsh.clusters(verify=True)
        got = dray.dedup_texts(fams, threshold=0.8, bands=1, rows=2, max_compare=mc, num_blocks=4, batch_size=8)
        np.testing.assert_array_equal(got[0], want[mc][0])
        np.testing.assert_array_equal(got[1], want[mc][1])
    assert (want[1][0] != want[8][0]).any(), "the data no longer tells max_compare=1 from 8"


def test_dataset_keeps_rows_columns_and_order_and_maps_ids(data_context, planted, monkeypatch):
    texts, _ = planted
    n = len(texts)
    rows = [{"text": t, "row": i, "name": f"trace-{i:04d}", "tags": [i, i + 1]} for i, t in enumerate(texts)]
    def second_block_late(batch):  # (a closure: Ray ships it by value; workers cannot import tests)
        if batch["row"][0] <= 40 < batch["row"][-1]:
            time.sleep(1.0)
        return batch

    # a lazy dataset of 12 blocks, the second slow: while it sleeps the other CPU maps later
    # blocks, which Ray hands on first unless order is preserved, as the pipeline asks it to
    ds = ray.data.from_items(rows, override_num_blocks=12).map_batches(second_block_late, batch_size=None)
    want_c, want_k = single_process(texts, threshold=0.8, verify=True)

    df = dray.dedup_dataset(ds, threshold=0.8).to_pandas()
    assert df.columns.tolist() == ["text", "row", "name", "tags", "cluster_id", "keep"]
    np.testing.assert_array_equal(df["row"].to_numpy(), np.arange(n))
    assert list(df["tags"][5]) == [5, 6]
    np.testing.assert_array_equal(df["cluster_id"].to_numpy(), want_c)
    np.testing.assert_array_equal(df["keep"].to_numpy(), want_k)

    monkeypatch.setattr(dray, "_BROADCAST_MIN", 0)  # the kept rows' ids go through the object store
    df = dray.dedup_dataset(ds, id_column="name", threshold=0.8).to_pandas()
    np.testing.assert_array_equal(df["row"].to_numpy(), np.arange(n))
    assert df["cluster_id"].tolist() == [f"trace-{c:04d}" for c in want_c]
    np.testing.assert_array_equal(df["keep"].to_numpy(), want_k)


def test_sliced_and_pandas_inputs(data_context, planted):
    texts, pairs = planted
    sub = texts[:60] + [texts[o] for o, c in pairs[:6]] + texts[60:66]
    # .limit() hands over part of a block (a slice); the index must count only the rows kept
    ds = ray.data.from_items([{"text": t} for t in sub], override_num_blocks=3).map_batches(lambda b: b).limit(70)
    got = dray.dedup_dataset(ds, threshold=0.7).to_pandas()
    want = single_process(sub[:70], threshold=0.7, verify=True)
    assert got["text"].tolist() == sub[:70]
    np.testing.assert_array_equal(got["cluster_id"].to_numpy(), want[0])

    import pandas as pd

    ds = ray.data.from_pandas([pd.DataFrame({"body": sub[:40]}), pd.DataFrame({"body": sub[40:]})])
    got = dray.dedup_dataset(ds, column="body", threshold=0.7, verify=False).to_pandas()
    want = single_process(sub, threshold=0.7, verify=False)
    np.testing.assert_array_equal(got["cluster_id"].to_numpy(), want[0])
    np.testing.assert_array_equal(got["keep"].to_numpy(), want[1])


def test_bad_arguments_are_named(data_context):
    ds = ray.data.from_items([{"text": "a b c"}])
    with pytest.raises(ValueError, match="column"):
        dray.dedup_dataset(ds, column="body")
    with pytest.raises(ValueError, match="threshold"):
        dray.dedup_dataset(ds, threshold=1.5)
    with pytest.raises(ValueError, match="bands"):
        dray.dedup_texts(["a"], bands=4)
    assert [a.tolist() for a in dray.dedup_texts([])] == [[], []]


def test_dlcot_import_stays_light_and_missing_ray_is_explained():
    code = (
        "import sys, dlcot, dlcot.integrations, dlcot.integrations.ray\n"
        "assert not [m for m in sys.modules if m == 'ray' or m.startswith('ray.')], 'ray imported'\n"
        "sys.modules['ray'] = None  # as if Ray were not installed\n"
        "try:\n"
        "    dlcot.integrations.ray.dedup_texts(['a b c'])\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'dlcot[ray]'" in out
