"""Pruning through Hugging Face datasets (dlcot.integrations.datasets) and Ray Data
(dlcot.integrations.ray.prune_dataset): on ~200 real traces, every added column equals what
``Pipeline.process_batch`` gives for the same records in one process, whatever the batch size,
the number of worker processes or of Ray actors.

The datasets tests need ``pip install datasets``, the Ray test ``pip install 'dlcot[ray]'``;
each is skipped without its framework. The Ray test starts a local 2-CPU cluster for itself.
"""

from __future__ import annotations

import doctest
import json
import logging
import pickle
import subprocess
import sys

import pytest

import dlcot
import dlcot.integrations.datasets
from conftest import load_corpus
from dlcot.integrations.datasets import COLUMNS, PruneBatch, map_fn, prune_dataset

N_RECORDS = 200


def _datasets():
    return pytest.importorskip("datasets", reason="Hugging Face datasets is not installed (pip install datasets)")


@pytest.fixture(scope="module")
def records() -> list[dict]:
    """~200 real traces spread over the whole set (kept, unsolvable and no-reference ones)."""
    recs = load_corpus()
    if not recs:
        pytest.skip("traces_normalised.jsonl not found")
    step = max(1, len(recs) // N_RECORDS)
    return [dict(r) for r in recs[::step][:N_RECORDS]]


def _expected_row(p: dlcot.Pipeline, r: dlcot.Result) -> dict:
    kept = r.status == "kept"
    edit = p.edit_record(r)
    return {
        "dlcot_status": r.status,
        "dlcot_response": r.response if kept else r.record.response,
        "dlcot_edits": edit["edits"],
        "dlcot_tokens_before": r.tokens_before,
        "dlcot_tokens_after": edit["tokens_after"],
        "dlcot_sft": p.sft_record(r) if kept else None,
    }


@pytest.fixture(scope="module")
def expected(records) -> list[dict]:
    """The reference: one Pipeline (bundled tokenizer), one process_batch over all records."""
    p = dlcot.Pipeline("dlcot")
    rows = [_expected_row(p, r) for r in p.process_batch(records)]
    statuses = {row["dlcot_status"] for row in rows}
    assert {"kept", "unsolvable", "no-reference"} <= statuses, statuses
    assert sum(bool(row["dlcot_edits"]) for row in rows) >= 20, "too few pruned traces to compare"
    return rows


def _rows(columns: dict) -> list[dict]:
    """Column lists (as a Dataset's ``to_dict()`` gives them) -> one dict per row, JSON decoded."""
    n = len(columns["dlcot_status"])
    out = []
    for i in range(n):
        row = {k: columns[k][i] for k in COLUMNS}
        row["dlcot_edits"] = json.loads(row["dlcot_edits"])
        row["dlcot_sft"] = json.loads(row["dlcot_sft"]) if row["dlcot_sft"] is not None else None
        out.append(row)
    return out


def _assert_same(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, (i, {k: (g[k], w[k]) for k in COLUMNS if g[k] != w[k]})


@pytest.fixture()
def quiet_datasets():
    ds = _datasets()
    was_disabled = ds.are_progress_bars_disabled()
    ds.disable_progress_bars()
    yield ds
    if not was_disabled:
        ds.enable_progress_bars()


# --- Hugging Face datasets ----------------------------------------------------------------------


@pytest.mark.parametrize("num_proc", [None, 2])
def test_dataset_map_matches_process_batch(quiet_datasets, records, expected, num_proc):
    ds = quiet_datasets.Dataset.from_list(records)
    fn = map_fn("dlcot", id_column="id")
    kw = {} if num_proc is None else {"num_proc": num_proc, "features": fn.features(ds.features)}
    out = ds.map(fn, batched=True, batch_size=32, **kw)
    assert out.column_names == list(records[0]) + list(COLUMNS)
    assert out["response"] == [r["response"] for r in records]  # the input columns are untouched
    assert out.features["dlcot_tokens_before"].dtype == "int64"
    _assert_same(_rows(out.to_dict()), expected)
    # each process built its own pipeline: the parent's callable never held one when pickled
    assert num_proc is None or fn._pipeline is None


def test_missing_and_odd_fields(quiet_datasets, records, expected):
    # the first batch holds only unusable responses: every added column but the status is all
    # None there, which fixes a column's type to null unless the features are given
    odd = [dict(records[0], response=None), dict(records[1], response=None), dict(records[2], response=None)]
    rows = odd + records[:40]
    ds = quiet_datasets.Dataset.from_list(rows)
    out = prune_dataset(ds, batch_size=3, num_proc=2)
    got = _rows(out.to_dict())
    assert [g["dlcot_status"] for g in got[:3]] == ["missing-field"] * 3
    for g in got[:3]:
        assert (g["dlcot_response"], g["dlcot_edits"], g["dlcot_sft"]) == (None, [], None)
        assert g["dlcot_tokens_before"] is None and g["dlcot_tokens_after"] is None
    # without id_column, prune_dataset names each SFT record by its row index
    for i, (g, w) in enumerate(zip(got[3:], expected[:40]), start=3):
        if w["dlcot_sft"] is not None:
            w = dict(w, dlcot_sft=dict(w["dlcot_sft"], id=str(i)))
        assert g == w, i

    # the bare callable on a plain dict: a copy is returned, a non-str response is "wrong-type",
    # and answers that are numbers are read as text
    fn = map_fn("first-correct", tokenizer="none")
    batch = {
        "problem": ["2+2?", "2+2?", "2+2?"],
        "response": ["2+2=4.\n\nAlternatively, 2+2=5.\n\n**Final Answer**\n\\boxed{4}", None, 42],
        "answer": [4, "4", "4"],
    }
    out = fn(batch)
    assert list(batch) == ["problem", "response", "answer"]
    assert out["dlcot_status"] == ["kept", "missing-field", "wrong-type"]
    assert "2+2=5" not in out["dlcot_response"][0] and out["dlcot_response"][1:] == [None, None]
    assert json.loads(out["dlcot_sft"][0])["id"] is None
    assert out["dlcot_tokens_before"] == [None, None, None]
    # no answer column: the policies that need one reject every record
    out = map_fn("dlcot", answer_column=None, tokenizer="none")({"problem": ["p"], "response": ["2+2=4"]})
    assert out["dlcot_status"] == ["no-reference"]


def test_bad_options_are_named(tmp_path):
    batch = {"problem": ["p"], "text": ["2+2=4"], "answer": ["4"]}
    with pytest.raises(ValueError, match="response_column.*'response'"):
        map_fn(tokenizer="none")(batch)
    with pytest.raises(ValueError, match="answer_column=None"):
        map_fn(response_column="text", answer_column="ref", tokenizer="none")(batch)
    with pytest.raises(ValueError, match="policy"):
        map_fn("shortest")
    with pytest.raises(ValueError, match="format"):
        map_fn(format="alpaca")
    with pytest.raises(ValueError, match="threshold"):
        map_fn(threshold=0)
    with pytest.raises(FileNotFoundError, match="tokenizer"):
        map_fn(tokenizer=tmp_path / "nowhere")
    with pytest.raises(TypeError, match="tokenizer"):
        map_fn(tokenizer=dlcot.Pipeline(tokenizer="none"))


def test_callable_pickles_without_its_pipeline(records, expected):
    fn = map_fn("dlcot", id_column="id")
    before = pickle.dumps(fn)
    batch = {k: [r[k] for r in records[:24]] for k in records[0]}
    out = fn(batch)
    assert fn._pipeline is not None  # built on the first call, in this process
    after = pickle.dumps(fn)
    assert after == before and len(after) < 2000  # the options only, never the tokenizer
    clone = pickle.loads(after)
    assert isinstance(clone, PruneBatch) and clone._pipeline is None and clone.options == fn.options
    assert clone(batch) == out
    _assert_same(_rows(out), expected[:24])


def test_fingerprint_is_stable(quiet_datasets, monkeypatch):
    # datasets hashes the callable (with dill) to name the cache: the same before and after use
    from datasets.fingerprint import Hasher

    fn = map_fn("dlcot", tokenizer="none")
    h = Hasher.hash(fn)
    fn({"problem": ["p"], "response": ["2+2=4"], "answer": ["4"]})
    assert Hasher.hash(fn) == h == Hasher.hash(map_fn("dlcot", tokenizer="none"))
    assert Hasher.hash(map_fn("first-correct", tokenizer="none")) != h
    # another dlcot (here: a digest of other code) never reuses this one's cached results
    monkeypatch.setattr(dlcot.integrations.datasets, "_code_id", lambda: "another build")
    assert Hasher.hash(fn) != h


def test_module_doctest():
    import dlcot.integrations.datasets as mod

    assert doctest.testmod(mod).failed == 0


def test_dlcot_import_stays_light():
    code = (
        "import sys, dlcot, dlcot.integrations, dlcot.integrations.datasets, dlcot.integrations.ray\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('datasets', 'ray')]\n"
        "assert not heavy, heavy\n"
        "sys.modules['datasets'] = None  # as if datasets were not installed\n"
        "fn = dlcot.integrations.datasets.map_fn(tokenizer='none')\n"
        "print(fn({'problem': ['p'], 'response': ['2+2=4'], 'answer': ['4']})['dlcot_status'])\n"
        "try:\n"
        "    fn.features()\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install datasets" in out and "['" in out


# --- Ray Data -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster (2 CPUs, no dashboard) for this module, shut down after."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'dlcot[ray]')")
    pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'dlcot[ray]')")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    saved = ctx.enable_progress_bars
    ctx.enable_progress_bars = False
    yield ray
    ctx.enable_progress_bars = saved
    if started:
        ray.shutdown()


def test_ray_prune_dataset_matches_process_batch(ray_cluster, records, expected):
    from dlcot.integrations.ray import prune_dataset as ray_prune

    ray = ray_cluster
    rows = [dict(r, row=i) for i, r in enumerate(records)]
    rows.append(dict(records[0], row=len(records), response=None))
    ds = ray.data.from_items(rows, override_num_blocks=4)
    with pytest.raises(ValueError, match="answer_column"):
        ray_prune(ds, answer_column="reference")  # checked on the driver, nothing runs
    with pytest.raises(ValueError, match="concurrency"):
        ray_prune(ds, concurrency=(3, 2))
    out = ray_prune(ds, "dlcot", id_column="id", batch_size=32, concurrency=2).take_all()
    assert list(out[0]) == list(rows[0]) + list(COLUMNS)
    out.sort(key=lambda row: row["row"])
    assert [row["row"] for row in out] == list(range(len(rows)))
    got = _rows({k: [row[k] for row in out] for k in COLUMNS})
    _assert_same(got[:-1], expected)
    assert got[-1]["dlcot_status"] == "missing-field" and got[-1]["dlcot_response"] is None
