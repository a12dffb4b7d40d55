"""The main job: policies on real traces, re-stitching, the run directory, determinism and
crash-safe resume (SIGKILL at random points)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dlcot
from tests.test_cli import read_jsonl, run

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sky_t1_sample.jsonl"


@pytest.fixture(scope="module")
def real(corpus):
    """A spread of real traces with references (every 5th record)."""
    return [r for r in corpus[::5] if r["answer"] is not None]


@pytest.fixture(scope="module")
def pruned(real):
    texts = [r["response"] for r in real]
    out = {}
    for name in dlcot.POLICIES:
        out[name] = dlcot.prune_batch(texts, problems=[r["problem"] for r in real], references=[r["answer"] for r in real], policy=name)
    return out


def _kept_chunks(text: str, edits) -> list[str]:
    pos, chunks = 0, []
    for e in edits:
        chunks.append(text[pos : e.start])
        pos = e.end
    chunks.append(text[pos:])
    return [c for c in chunks if c.strip()]


def test_none_is_a_pass_through(real, pruned):
    for r, p in zip(real, pruned["none"]):
        assert p.status == "kept" and p.text == r["response"] and p.edits == []


@pytest.mark.parametrize("policy", ["dlcot", "dedup-only", "first-correct", "first-correct-reflect"])
def test_cuts_are_spans_of_the_original_and_the_answer_stays(real, pruned, policy):
    n_cut = 0
    for r, p in zip(real, pruned[policy]):
        text = r["response"]
        if p.status != "kept":
            assert p.text == text and p.edits == []
            continue
        # edits: sorted, disjoint, inside the reasoning, never over the conclusion
        trace = dlcot.parse(text)
        rs, re_ = trace.reasoning_span
        last = -1
        for e in p.edits:
            assert rs <= e.start < e.end <= re_ and e.start >= last
            last = e.end
            assert e.kind in ("solution", "check", "text")
        conclude = [s for s in trace.sections if s.kind == "conclude"]
        for s in conclude:
            assert all(e.end <= s.start or e.start >= s.end for e in p.edits)
        # the output is the kept chunks in order (each possibly losing a leading connective)
        pos = 0
        for chunk in _kept_chunks(text, p.edits):
            core = chunk.strip()
            # the tail: a repaired join changes only the chunk's first words
            probe = core[40:120] if len(core) > 160 else core[len(core) // 2 :]
            if len(probe) < 8:
                continue
            at = p.text.find(probe, pos)
            assert at >= 0, (r["id"], probe)
            pos = at
        # the final answer is unchanged
        again = dlcot.parse(p.text).final_answer
        before = trace.final_answer
        assert (again is None) == (before is None)
        if before is not None:
            assert again == before or dlcot.equivalent(again, before), (r["id"], before, again)
        n_cut += bool(p.edits)
    assert n_cut > 20, "the policy cut almost nothing on real traces"


def test_policy_rules_on_real_traces(real, pruned):
    concluded = 0
    for r, p in zip(real, pruned["first-correct"]):
        labels = p.labels
        if p.first_correct is None:
            assert "correct" not in labels
            # kept only when no solution exists to end a main path and the conclusion is right
            final = dlcot.parse(r["response"]).final_answer
            right = final is not None and dlcot.equivalent(final, dlcot.extract_reference(r["answer"])) is True
            assert p.status == ("kept" if right and not labels else "unsolvable"), r["id"]
            assert p.edits == []
            continue
        if "correct" in labels:
            fc = labels.index("correct")
        else:
            # no solution states the reference, but the conclusion does: the main path ends
            # with the last solution before the conclusion
            trace = dlcot.parse(r["response"], reference=r["answer"])
            assert dlcot.equivalent(trace.final_answer, dlcot.extract_reference(r["answer"])) is True
            fc = len(trace.solutions) - 1
            concluded += 1
        assert p.first_correct == fc
        cut = {e.index for e in p.edits if e.kind == "solution"}
        assert all(i not in cut for i in range(fc + 1))
        assert all(e.reason == "after-first-correct" for e in p.edits)
    assert concluded > 0
    for r, p in zip(real, pruned["dlcot"]):
        if p.status != "kept":
            continue
        fc = p.first_correct
        for e in p.edits:
            if e.kind == "solution":
                assert e.index != fc
                if e.index < fc:
                    assert e.reason.startswith("redundant-of:")
                if e.reason in ("incorrect", "incomplete"):
                    assert e.index > fc and p.labels[e.index] == e.reason
            if e.reason.startswith("redundant-of:"):
                k = int(e.reason.split(":")[1])
                leaders = p.solution_leaders if e.kind == "solution" else p.check_leaders
                assert k < e.index and leaders[e.index] == leaders[k]
    for p in pruned["dedup-only"]:
        assert p.status == "kept"
        assert all(e.reason.startswith("redundant-of:") for e in p.edits)


def test_unsolvable_rejected_or_kept(real):
    r = next(x for x in real if dlcot.prune(x["response"], reference=x["answer"], policy="first-correct").status == "unsolvable")
    assert dlcot.prune(r["response"], reference=r["answer"]).status == "unsolvable"
    assert dlcot.prune(r["response"], reference=r["answer"], keep_unsolvable=True).status == "kept"
    with pytest.raises(ValueError, match="policy"):
        dlcot.prune("x", policy="nope")


def test_joins_repaired():
    text = (
        "<think>\nWe need 2+2.\n\n2+2 = 4, so the answer is 4.\n\nAlternatively, 2+2 = 5, so the answer is 5.\n\n"
        "Wait, that was wrong; it is 4.\n\n**Final Answer**\n\\boxed{4}\n</think>\n\nThe answer is \\boxed{4}."
    )
    p = dlcot.prune(text, reference="4", policy="dlcot")
    assert "2+2 = 5" not in p.text
    assert "Wait, that" not in p.text and "That was wrong" in p.text
    assert p.text.endswith("</think>\n\nThe answer is \\boxed{4}.")


def test_pipeline_api_and_formats(tmp_path):
    rec = {
        "id": "a",
        "problem": "What is 2+2?",
        "response": "<think>\n2+2=4, so the answer is 4.\n\nAlternatively, 2+2=5, so 5.\n\n**Final Answer**\n\\boxed{4}\n</think>\n\nIt is \\boxed{4}.",
        "answer": "4",
    }
    for fmt in ("messages", "sharegpt", "prompt-completion"):
        p = dlcot.Pipeline("first-correct", tokenizer="none", format=fmt)
        res = p.process(rec)
        assert res.status == "kept" and "2+2=5" not in res.response
        sft = p.sft_record(res)
        turn = {
            "messages": lambda s: s["messages"][1]["content"],
            "sharegpt": lambda s: s["conversations"][1]["value"],
            "prompt-completion": lambda s: s["completion"],
        }[fmt](sft)
        assert turn.startswith("<think>\n2+2=4") and turn.endswith("</think>\n\nIt is \\boxed{4}.")
    with pytest.raises(ValueError, match="format"):
        dlcot.Pipeline(format="csv")
    with pytest.raises(ValueError, match="policy"):
        dlcot.Pipeline("x")
    no_ref = dlcot.Pipeline(tokenizer="none").process({**rec, "answer": None})
    assert no_ref.status == "no-reference"


def _tiny_tokenizer(path: Path, texts) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=500, special_tokens=["[UNK]"]))
    tok.save(str(path))
    return path


def test_run_command_outputs_and_determinism(tmp_path):
    recs = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    tok = _tiny_tokenizer(tmp_path / "tok.json", [c for r in recs for c in r["code"]])
    src = tmp_path / "in.jsonl"
    src.write_text(SAMPLE.read_text(encoding="utf-8") + "{broken\n", encoding="utf-8")
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        proc = run("run", str(src), "-o", str(out), "--tokenizer", str(tok), "-q", "--compare-policies", "10")
        outs.append(out)
    stats = json.loads((outs[0] / "stats.json").read_text())
    assert stats["unit"] == "tokens" and stats["records_in"] == 19
    assert stats["records_in"] == stats["records_out"] + sum(stats["rejected"].values())
    assert stats["rejected"]["bad-json"] == 1
    assert len(read_jsonl(outs[0] / "sft.jsonl")) == stats["records_out"]
    assert set(stats["policies"]) == set(dlcot.POLICIES)
    assert stats["policies"]["none"]["reduction"] == 0.0
    assert f"in 19 = out {stats['records_out']}" in proc.stderr.decode()
    edits = read_jsonl(outs[0] / "edits.jsonl")
    assert len(edits) == 18 and all(e["tokens_before"] >= (e["tokens_after"] or 0) for e in edits)
    for name in ("sft.jsonl", "edits.jsonl", "rejects.jsonl", "stats.json", "report.html"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    # a second run into the same directory must be asked for
    proc = run("run", str(src), "-o", str(outs[0]), "-q", "--tokenizer", "none", check=False)
    assert proc.returncode == 1 and b"--resume" in proc.stderr
    proc = run("run", str(src), "-o", str(outs[0]), "-q", "--tokenizer", "none", "--resume", check=False)
    assert proc.returncode == 1 and b"options changed" in proc.stderr


@pytest.fixture(scope="module")
def big_input(tmp_path_factory, corpus):
    path = tmp_path_factory.mktemp("resume") / "in.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i, r in enumerate(corpus[:600]):
            f.write(json.dumps({"id": r["id"], "problem": r["problem"], "response": r["response"], "answer": r["answer"]}) + "\n")
            if i % 97 == 0:
                f.write("not json\n")
    return path


@pytest.fixture(autouse=True)
def _checkpoint_every_batch(monkeypatch):
    # checkpoints at every batch end (the default waits 0.5 s between them), so kills land
    # between many checkpoints of these small runs
    monkeypatch.setenv("DLCOT_CHECKPOINT_SECONDS", "0")


def _cmd(src: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "dlcot.cli", "run", str(src), "-o", str(out), "-q", "--tokenizer", "none",
            "--batch-size", "16", "--compare-policies", "50", "--num-threads", "1", *extra]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_then_resume_gives_the_same_bytes(tmp_path, big_input, seed):
    ref = tmp_path / "ref"
    subprocess.run(_cmd(big_input, ref), check=True, capture_output=True, timeout=600)
    out = tmp_path / "killed"
    rng = random.Random(seed)
    kills = 0
    for attempt in range(6):
        extra = ("--resume",) if (out / "checkpoint.json").exists() else ()
        proc = subprocess.Popen(_cmd(big_input, out, *extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # kill once the run has got past a random point, then a little later (mid-batch)
        target = rng.randint(20, 560)
        while proc.poll() is None:
            try:
                done = json.loads((out / "checkpoint.json").read_text())["consumed"]
            except (OSError, ValueError, KeyError):
                done = 0
            if done >= target:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.15))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            # a torn line at the end of an output must not survive a resume
            if (out / "sft.jsonl").exists():
                with open(out / "sft.jsonl", "a", encoding="utf-8") as f:
                    f.write('{"id": "torn')
        else:
            assert proc.returncode == 0, proc.stderr.read()
            break
    else:
        subprocess.run(_cmd(big_input, out, "--resume"), check=True, capture_output=True, timeout=600)
    if (out / "checkpoint.json").exists() and not json.loads((out / "checkpoint.json").read_text())["done"]:
        subprocess.run(_cmd(big_input, out, "--resume"), check=True, capture_output=True, timeout=600)
    assert kills >= 1, "the run finished before any kill; the test proves nothing"
    for name in ("sft.jsonl", "edits.jsonl", "rejects.jsonl", "stats.json", "report.html"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name


def test_parquet_format(tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "pq"
    run("run", str(SAMPLE), "-o", str(out), "--format", "parquet", "--tokenizer", "none", "-q", "--compare-policies", "0")
    table = pq.read_table(out / "sft.parquet")
    rows = read_jsonl(out / "sft.jsonl")
    assert table.column_names == ["id", "prompt", "completion", "answer"]
    assert table.num_rows == len(rows) == json.loads((out / "stats.json").read_text())["records_out"]
    assert table.column("completion").to_pylist() == [r["completion"] for r in rows]
    assert all(c.startswith("<think>\n") for c in table.column("completion").to_pylist())


def test_resume_refuses_a_shortened_output(tmp_path):
    out = tmp_path / "r"
    run("run", str(SAMPLE), "-o", str(out), "--tokenizer", "none", "-q", "--compare-policies", "0")
    ck = json.loads((out / "checkpoint.json").read_text())
    ck["done"] = False
    (out / "checkpoint.json").write_text(json.dumps(ck))
    (out / "sft.jsonl").write_text("")
    proc = run("run", str(SAMPLE), "-o", str(out), "--tokenizer", "none", "-q", "--compare-policies", "0", "--resume", check=False)
    assert proc.returncode == 1 and b"shorter" in proc.stderr


def test_symbolic_checks_keep_their_timeout_in_a_run(tmp_path):
    """math-verify's timeout works in the main thread only (SIGALRM); the run prunes in a
    worker thread but settles labels in the main one, so no check runs without its limit."""
    pytest.importorskip("math_verify")
    proc = subprocess.run(
        [sys.executable, "-m", "dlcot.cli", "run", str(SAMPLE), "-o", str(tmp_path / "o"), "-q", "--tokenizer", "none",
         "--compare-policies", "0"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Timeout is disabled" not in proc.stderr
