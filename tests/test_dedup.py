"""Corpus near-duplicates and decontamination: ``dlcot.dedup``, ``dlcot.Decontaminator`` and the
``dlcot dedup`` / ``dlcot decontaminate`` commands, on real traces with planted duplicates."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

import dlcot
from tests.conftest import SHARED_DATA
from tests.test_cli import read_jsonl, run


def edit(text: str, rng: random.Random, rate: float) -> str:
    """A light random edit: substitute/delete/duplicate about `rate` of the words."""
    words = text.split(" ")
    out = []
    for w in words:
        x = rng.random()
        if x < rate / 3:
            out.append("edited")
        elif x < 2 * rate / 3:
            continue
        elif x < rate:
            out.extend([w, w])
        else:
            out.append(w)
    return " ".join(out)


@pytest.fixture(scope="module")
def planted(corpus):
    """120 distinct real responses, plus for every 4th one an edited copy (1% of words) and an
    exact copy, shuffled with a seed. Returns (texts, family) where family[i] is the original's
    position in `texts`."""
    rng = random.Random(5)
    seen, base = set(), []
    for r in corpus:
        t = r["response"]
        if len(t) > 2000 and t[:400] not in seen:
            seen.add(t[:400])
            base.append(t)
        if len(base) == 120:
            break
    items = [(t, k) for k, t in enumerate(base)]
    for k, t in enumerate(base):
        if k % 4 == 0:
            items.append((edit(t, rng, 0.01), k))
            items.append((t, k))
    rng.shuffle(items)
    texts = [t for t, _ in items]
    first = {}
    for i, (_, k) in enumerate(items):
        first.setdefault(k, i)
    return texts, [first[k] for _, k in items]


def test_planted_copies_cluster_with_their_original(planted):
    texts, family = planted
    ids, keep = dlcot.dedup(texts, threshold=0.8)
    # each family is one cluster named by its first member, which alone is kept
    assert ids.tolist() == family
    assert keep.tolist() == [i == f for i, f in enumerate(family)]
    assert keep.sum() == 120


def test_dedup_is_deterministic_streams_and_spills(planted, tmp_path):
    texts, _ = planted
    a = dlcot.dedup(texts)
    b = dlcot.dedup(iter(texts), num_threads=1)
    c = dlcot.dedup(texts, spill_dir=tmp_path / "spill")
    for x in (b, c):
        assert np.array_equal(a[0], x[0]) and np.array_equal(a[1], x[1])
    # without verification every LSH candidate is linked: never fewer links, so never more clusters
    d = dlcot.dedup(texts, verify=False)
    assert len(set(d[0].tolist())) <= len(set(a[0].tolist()))


def test_dedup_threshold_and_edge_cases():
    ids, keep = dlcot.dedup(["", "", "x"])
    assert ids.tolist() == [0, 0, 2]
    assert dlcot.dedup([])[0].shape == (0,)
    base = " ".join(f"w{i}" for i in range(200))
    far = edit(base, random.Random(1), 0.3)
    assert dlcot.dedup([base, far], threshold=0.9)[1].tolist() == [True, True]
    with pytest.raises(TypeError, match="texts"):
        dlcot.dedup("not a list")
    with pytest.raises(ValueError, match="threshold"):
        dlcot.dedup(["a"], threshold=1.5)


def test_decontaminator_finds_embedded_problems_only(bench_dir):
    math500 = [json.loads(line)["problem"] for line in (bench_dir / "math500.jsonl").open(encoding="utf-8")]
    d = dlcot.Decontaminator(math500)
    wrapped = [f"Solve the following problem. {p}\nPut the final answer in \\boxed{{}}." for p in math500[:50]]
    got = d.matches(wrapped)
    assert all(ms and ms[0].index == i and ms[0].overlap == 1.0 for i, ms in enumerate(got))
    # boilerplate alone ("Express your answer as a common fraction.") is not contamination
    boiler = [p for p in math500 if "Express your answer as a common fraction." in p]
    assert len(boiler) >= 3
    fake = "A jar holds 7 red marbles and 9 blue ones; two are drawn. What is the chance both are red? Express your answer as a common fraction."
    assert d.matches([fake]) == [[]]
    assert dlcot.Decontaminator(math500, method="minhash").matches([math500[3]])[0][0].index == 3
    with pytest.raises(ValueError, match="method"):
        dlcot.Decontaminator(math500, method="x")


# ---- the commands ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dup_file(tmp_path_factory, planted):
    texts, family = planted
    path = tmp_path_factory.mktemp("dedup") / "in.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": f"r{i}", "problem": f"p{family[i]}", "response": t}) + "\n")
            if i == 10:
                f.write("{not json\n")
        f.write(json.dumps({"id": "noproblem", "response": "short unique text"}) + "\n")
    return path, texts, family


def test_dedup_command(dup_file, tmp_path):
    path, texts, family = dup_file
    out = tmp_path / "out.jsonl"
    proc = run("dedup", str(path), "-o", str(out), "-q")
    kept = read_jsonl(out)
    rejects = read_jsonl(tmp_path / "out.rejects.jsonl")
    n_in = len(texts) + 2
    assert f"in {n_in:,} = out {len(kept):,} + rejected {len(rejects):,}" in proc.stderr.decode()
    dups = [r for r in rejects if r["reason"] == "near-duplicate"]
    assert [r["reason"] for r in rejects].count("bad-json") == 1  # written once, not per pass
    assert len(kept) == 120 + 1 and len(dups) == len(texts) - 120
    for r in dups:
        i = int(r["id"][1:])
        assert r["duplicate_of"] == f"r{family[i]}" and r["cluster"] == family[i]
        assert r["record"]["response"] == texts[i] and r["source"] == str(path)
    # byte-identical on a rerun; no spill directory left behind
    out2 = tmp_path / "again.jsonl"
    run("dedup", str(path), "-o", str(out2), "-q")
    assert out.read_bytes() == out2.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("dlcot-dedup-")]


def test_dedup_command_on_problems_keeps_records_without_one(dup_file, tmp_path):
    path, texts, family = dup_file
    out = tmp_path / "p.jsonl"
    run("dedup", str(path), "-o", str(out), "--field", "problem", "-q")
    kept = read_jsonl(out)
    assert {r["problem"] for r in kept} == {f"p{k}" for k in set(family)} | {None}
    assert any(r["id"] == "noproblem" for r in kept)


def test_dedup_command_refuses_stdin_and_missing_files(tmp_path):
    proc = run("dedup", "-", "-o", str(tmp_path / "o.jsonl"), check=False, stdin=b"")
    assert proc.returncode == 1 and b"stdin" in proc.stderr
    proc = run("dedup", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "o.jsonl"), check=False)
    assert proc.returncode == 1 and b"no such file" in proc.stderr


@pytest.mark.skipif(not (SHARED_DATA / "bench").is_dir(), reason="shared benchmark sets not present")
def test_decontaminate_command(tmp_path):
    bench = SHARED_DATA / "bench"
    gsm = [json.loads(line) for line in (bench / "gsm8k.jsonl").open(encoding="utf-8")][:40]
    aime = [json.loads(line) for line in (bench / "aime24.jsonl").open(encoding="utf-8")][:10]
    rows = []
    for k, g in enumerate(gsm[:20]):
        rows.append({"id": f"gsm{k}", "problem": "Question: " + g["question"], "response": "x"})
    for k, a in enumerate(aime):
        rows.append({"id": f"aime{k}", "problem": a["problem"].replace("  ", " ") + " Think step by step.", "response": "x"})
    for k in range(15):
        rows.append({"id": f"clean{k}", "problem": f"Compute {k} + {k * 3} and explain why the result is even or odd.", "response": "x"})
    src = tmp_path / "train.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out, report = tmp_path / "clean.jsonl", tmp_path / "report.json"
    proc = run("decontaminate", str(src), "--against", str(bench / "gsm8k.jsonl"), str(bench / "aime24.jsonl"),
               "-o", str(out), "--report", str(report), "-q")
    kept = read_jsonl(out)
    rejects = read_jsonl(tmp_path / "clean.rejects.jsonl")
    assert [r["id"] for r in kept] == [f"clean{k}" for k in range(15)]
    assert len(rejects) == 30 and all(r["reason"] == "contaminated" for r in rejects)
    for r in rejects:
        m = r["matched"][0]
        if r["id"].startswith("gsm"):
            assert m["benchmark"] == "gsm8k" and m["problem"] == gsm[int(r["id"][3:])]["question"][:300]
        else:
            assert m["benchmark"] == "aime24" and m["id"] == str(aime[int(r["id"][4:])]["id"])
    rep = json.loads(report.read_text())
    assert rep["contaminated_by_benchmark"] == {"gsm8k": 20, "aime24": 10}
    assert "in 45 = out 15 + rejected 30" in proc.stderr.decode()
