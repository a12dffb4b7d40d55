"""``dlcot score`` / :func:`dlcot.score_generations`: generations of any engine against a benchmark.

The real traces in ../shared/data are generations too: QwQ-32B on MATH-500 (thinking-llms-interp
results) and Sky-T1 on AMC/AIME (the Qwen2.5-Math harness, with the harness's own verdicts). The
numbers are checked against independent computations: math-verify's own extraction and verdicts,
the harness's verdicts, token counts straight from the tokenizer, and Chen et al.'s efficiency
metrics recomputed from ``dlcot.parse``. The same 18 generations rewritten in each engine's layout
(vLLM, SGLang, lm-eval-harness, OpenAI, chat messages, plain) must score the same.
"""

from __future__ import annotations

import gzip
import json
import statistics
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

import dlcot
from dlcot.cli import main
from dlcot.score import generation_layout, pass_at_k, read_benchmark, score_generations

CHATML = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def qwq(shared_data: Path) -> Path:
    path = shared_data / "traces" / "tli_qwq-32b_math500.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="module")
def math500(bench_dir: Path) -> Path:
    return bench_dir / "math500.jsonl"


@pytest.fixture(scope="module")
def tasks(qwq: Path) -> list[dict]:
    return json.loads(qwq.read_text(encoding="utf-8"))["tasks"]


@pytest.fixture(scope="module")
def qwq_scores(qwq: Path, math500: Path):
    return score_generations(qwq, math500)


@pytest.fixture(scope="module")
def bundled():
    from tokenizers import Tokenizer

    data = gzip.decompress(files("dlcot").joinpath("data/r1-distill-qwen.tokenizer.json.gz").read_bytes())
    return Tokenizer.from_str(data.decode("utf-8"))


def test_real_qwq_generations_against_math500(qwq_scores, tasks, math500: Path):
    s = qwq_scores
    b = s.benchmarks["math500"]
    assert (b["items"], b["answered"], b["samples"]) == (500, 18, 18)
    assert s.matched_by == {"problem": 18} and s.unmatched == [] and s.rejects == []
    assert s.layouts == {"tli-hybrid": 18} and s.unit == "tokens"
    # every sample is matched to the benchmark item with the same problem, in order
    items = read_benchmark(math500).items
    for smp, t in zip(s.samples, tasks):
        assert items[smp["index"]].problem == t["question"]
    assert [x["correct"] for x in s.samples].count(True) == b["correct"] == 9
    assert b["accuracy"] == pytest.approx(9 / 18) and b["pass_at_k"] == {"1": pytest.approx(0.5)}
    # the hybrid runs were capped at 2,000 new tokens: half the traces stop without an answer
    assert b["no_answer"] == 9 and b["tokens"]["max"] == 2000


def test_verdicts_agree_with_math_verify_where_both_read_a_boxed_answer(shared_data: Path, math500: Path):
    """R1-Distill-Qwen-14B on MATH-500 (332 real traces): where a response has a \\boxed{} answer,
    math-verify's own extraction and verdict agree with the scorer on at least 97% (the rest:
    math-verify reading every boxed answer of a response as one set, a pmatrix it cannot read,
    and a trace cut off inside its last \\boxed{)."""
    mv = pytest.importorskip("math_verify")
    path = shared_data / "traces" / "tli_r1d-qwen-14b_math500.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    tasks = json.loads(path.read_text(encoding="utf-8"))["tasks"]
    s = score_generations(path, math500)
    assert s.matched_by == {"problem": 332} and s.benchmarks["math500"]["answered"] == 332
    agree = checked = 0
    for smp, t in zip(s.samples, tasks):
        text = t["model_answers"]["thinking_model"]
        if "\\boxed" not in text:
            continue
        gold, pred = mv.parse(f"${t['correct_answer']}$"), mv.parse(text)
        checked += 1
        agree += smp["correct"] == (bool(pred) and mv.verify(gold, pred))
    assert checked >= 150 and agree / checked >= 0.97, (agree, checked)
    # the source's own accuracy counts only the traces that finished; ours counts every trace
    assert s.benchmarks["math500"]["correct"] >= agree - (checked - agree) - 10


def test_token_counts_equal_the_tokenizer_s_own(qwq_scores, tasks, bundled):
    counts = [len(e.ids) for e in bundled.encode_batch([t["model_answers"]["thinking_model"] for t in tasks], add_special_tokens=False)]
    assert [x["tokens"] for x in qwq_scores.samples] == counts
    b = qwq_scores.benchmarks["math500"]
    assert b["tokens"]["mean"] == pytest.approx(statistics.mean(counts))
    assert b["tokens"]["median"] == statistics.median(counts)
    correct = [c for c, x in zip(counts, qwq_scores.samples) if x["correct"]]
    assert b["tokens_correct_mean"] == pytest.approx(statistics.mean(correct))


def test_efficiency_metrics_recomputed_from_the_parsed_traces(qwq_scores, tasks, bundled):
    """Chen et al. 2024: outcome efficiency = tokens up to the end of the first correct solution
    / all tokens (0 with none); process efficiency = tokens of distinct solutions / all tokens.
    Recomputed here from dlcot.parse, label_solutions and cluster_solutions."""

    def n_tokens(text: str) -> int:
        return len(bundled.encode(text, add_special_tokens=False).ids)

    oes, pes, sols, chks, fcs = [], [], [], [], []
    for smp, t in zip(qwq_scores.samples, tasks):
        text, ref = t["model_answers"]["thinking_model"], t["correct_answer"]
        tr = dlcot.parse(text, problem=t["question"], reference=ref)
        labels = dlcot.label_solutions(tr, ref)
        fc = dlcot.first_correct(labels)
        final_ok = tr.final_answer is not None and dlcot.verify(tr.final_answer, ref)
        if fc is None and final_ok:  # the answer is only stated in the conclusion
            conclude = next((s.start for s in tr.sections if s.kind == "conclude"), len(text))
            before = [s.index for s in tr.solutions if s.start < conclude]
            fc = before[-1] if before else None
        total = n_tokens(text)
        leaders = tr.cluster_solutions(0.4).solutions
        distinct = sum(n_tokens(text[s.start : s.end]) for s, lead in zip(tr.solutions, leaders) if lead == s.index)
        sols.append(len(tr.solutions))
        chks.append(len(tr.checks))
        assert smp["solutions"] == len(tr.solutions) and smp["checks"] == len(tr.checks)
        assert smp["first_correct_position"] == (None if fc is None else fc + 1)
        if not tr.solutions:
            assert smp["outcome_efficiency"] is None
            continue
        oe = n_tokens(text[: tr.solutions[fc].end]) / total if fc is not None else 0.0
        pe = min(1.0, distinct / total)
        assert smp["outcome_efficiency"] == pytest.approx(oe, abs=1e-9)
        assert smp["process_efficiency"] == pytest.approx(pe, abs=1e-9)
        oes.append(oe)
        pes.append(pe)
        if fc is not None:
            fcs.append(fc + 1)
    b = qwq_scores.benchmarks["math500"]
    assert b["outcome_efficiency"] == pytest.approx(statistics.mean(oes))
    assert b["process_efficiency"] == pytest.approx(statistics.mean(pes))
    assert b["solutions_mean"] == pytest.approx(statistics.mean(sols))
    assert b["checks_mean"] == pytest.approx(statistics.mean(chks))
    assert b["first_correct_position"]["mean"] == pytest.approx(statistics.mean(fcs))
    assert 0 < b["outcome_efficiency"] < b["process_efficiency"] < 1


def test_sky_t1_harness_output_scored_with_its_own_references_and_the_benchmark(shared_data: Path, bench_dir: Path):
    path = shared_data / "traces" / "skythought_sky-t1-math-correct-5k-14b_amc23.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    harness = [json.loads(line)["score"][0] for line in path.open(encoding="utf-8")]
    own = score_generations(path)
    assert own.matched_by == {"own-reference": 40} and list(own.benchmarks) == [path.name.removesuffix(".jsonl")]
    against = score_generations(path, bench_dir / "amc23.jsonl")
    assert against.matched_by == {"problem": 40} and against.benchmarks["amc23"]["answered"] == 40
    ours = [x["correct"] for x in against.samples]
    assert ours == [x["correct"] for x in own.samples]
    # the Qwen2.5-Math harness agrees on every trace but where dlcot finds no final answer: the
    # harness reads a number out of a trace cut off mid-thought
    for x, h in zip(against.samples, harness):
        if x["correct"] != h:
            assert x["final_answer"] is None and h
    assert sum(ours) >= sum(harness) - 2


# ---------------------------------------------------------------------------------------------
# every engine's layout gives the same scores


def _layouts(tasks: list[dict], math500_items) -> dict[str, list[dict]]:
    index_of = {it.problem: it.index for it in math500_items}
    out: dict[str, list[dict]] = {}
    rs = [(t["question"], t["model_answers"]["thinking_model"], t["correct_answer"]) for t in tasks]
    out["vllm-request-output"] = [
        {"request_id": str(i), "prompt": CHATML.format(q), "outputs": [{"index": 0, "text": r, "finish_reason": "stop"}]}
        for i, (q, r, _) in enumerate(rs)
    ]
    out["vllm-generated-text"] = [{"prompt": CHATML.format(q), "generated_text": r} for q, r, _ in rs]
    out["lm-eval"] = [
        {
            "doc_id": index_of[q],
            "doc": {"problem": q, "solution": "...", "answer": a},
            "target": a,
            "arguments": {"gen_args_0": {"arg_0": "Problem:\n" + q + "\n\nSolution:", "arg_1": {"until": ["Problem:"]}}},
            "resps": [[r]],
            "filtered_resps": ["[invalid]"],
            "filter": "strict-match",
            "metrics": ["exact_match"],
            "exact_match": 0.0,
        }
        for q, r, a in rs
    ]
    out["messages"] = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": r}]} for q, r, _ in rs]
    out["plain"] = [{"question": q, "completion": r} for q, r, _ in rs]
    # no problem text at all: matched by position against a benchmark of these 18 items
    out["sglang"] = [{"text": r, "meta_info": {"id": f"{i:032x}", "prompt_tokens": 80, "completion_tokens": 2000}} for i, (_, r, _) in enumerate(rs)]
    out["openai-chat"] = [{"id": f"chatcmpl-{i}", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": r}, "finish_reason": "stop"}]} for i, (_, r, _) in enumerate(rs)]
    return out


def test_every_engine_layout_scores_the_same(tmp_path: Path, tasks, math500: Path, qwq_scores):
    items = read_benchmark(math500).items
    by_problem = {it.problem: it for it in items}
    # a benchmark of just these 18 items, in their order, for the layouts without problem text
    slice_path = tmp_path / "math500_slice.jsonl"
    with slice_path.open("w", encoding="utf-8") as f:
        for t in tasks:
            it = by_problem[t["question"]]
            f.write(json.dumps({"problem": it.problem, "answer": it.answer, "unique_id": it.id}) + "\n")
    expected = [x["correct"] for x in qwq_scores.samples]
    expected_tokens = [x["tokens"] for x in qwq_scores.samples]
    want_layout = {"vllm-request-output": "vllm", "vllm-generated-text": "vllm", "lm-eval": "lm-eval", "messages": "messages",
                   "plain": "flat", "sglang": "sglang", "openai-chat": "openai"}
    for name, rows in _layouts(tasks, items).items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        no_text = name in ("sglang", "openai-chat")
        s = score_generations(path, slice_path if no_text else math500)
        bench = "math500_slice" if no_text else "math500"
        assert list(s.layouts) == [want_layout[name]], name
        assert s.unmatched == [] and s.rejects == [], name
        assert [x["correct"] for x in s.samples] == expected, name
        assert [x["tokens"] for x in s.samples] == expected_tokens, name
        assert s.benchmarks[bench]["accuracy"] == pytest.approx(0.5), name
        how = {"vllm-request-output": "prompt-contains", "vllm-generated-text": "prompt-contains", "sglang": "position",
               "openai-chat": "position"}.get(name, "problem")
        assert s.matched_by == {how: 18}, name


def test_lm_eval_doc_ids_match_when_the_problem_text_differs(tmp_path: Path, tasks, math500: Path, qwq_scores):
    items = read_benchmark(math500).items
    index_of = {it.problem: it.index for it in items}
    rows = [{"doc_id": index_of[t["question"]], "doc": {"answer": t["correct_answer"]}, "target": t["correct_answer"],
             "resps": [[t["model_answers"]["thinking_model"]]], "filtered_resps": ["x"]} for t in tasks]
    gen = tmp_path / "samples_math500.jsonl"
    gen.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    # lm-eval's doc_id is a position in the benchmark (math500's own ids are its unique_id)
    s = score_generations(gen, math500)
    assert s.matched_by == {"index": 18}
    assert [x["correct"] for x in s.samples] == [x["correct"] for x in qwq_scores.samples]


def test_several_samples_per_problem_give_mean_accuracy_and_pass_at_k(tmp_path: Path, tasks, math500: Path, qwq_scores):
    # 4 samples each: the real trace, an empty response, a wrong boxed answer, the real trace
    rows = [{"problem": t["question"], "responses": [t["model_answers"]["thinking_model"], "", "So \\boxed{-12345}.",
                                                      t["model_answers"]["thinking_model"]]} for t in tasks]
    gen = tmp_path / "samples.jsonl"
    gen.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    s = score_generations(gen, math500)
    b = s.benchmarks["math500"]
    assert (b["answered"], b["samples"], b["samples_per_item"]) == (18, 72, {"min": 4, "max": 4})
    assert s.rejects == []  # the empty response is a wrong answer, not unreadable input
    c = [x["correct"] for x in qwq_scores.samples]
    assert b["accuracy"] == pytest.approx(2 * sum(c) / 72)
    assert b["pass_at_k"]["1"] == pytest.approx(b["accuracy"])
    assert b["pass_at_k"]["4"] == pytest.approx(sum(c) / 18)
    assert b["pass_at_k"]["2"] == pytest.approx(sum(c) / 18 * (1 - 1 / 6))  # 2 of 4 correct: 1 - C(2,2)/C(4,2)
    assert [x["sample"] for x in s.samples[:4]] == [0, 1, 2, 3]
    assert s.samples[1]["final_answer"] is None and s.samples[1]["tokens"] == 0
    assert s.samples[2]["final_answer"] == "-12345" and not s.samples[2]["correct"]


def test_unmatched_generations_are_reported_never_dropped(tmp_path: Path, tasks, math500: Path):
    rows = [{"problem": tasks[0]["question"], "response": "so \\boxed{3}"},
            {"problem": "What is the airspeed velocity of an unladen swallow?", "response": "\\boxed{24}"},
            {"response": "no problem text here"},
            "not an object",
            {"problem": tasks[1]["question"], "response": 42}]
    gen = tmp_path / "mixed.jsonl"
    gen.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    s = score_generations(gen, math500)
    assert len(s.samples) == 1
    assert [(u["index"], u["reason"]) for u in s.unmatched] == [(1, "no-match"), (2, "no-problem")]
    assert sorted((r["index"], r["reason"]) for r in s.rejects) == [(3, "not-an-object"), (4, "wrong-type")]
    assert len(s.samples) + len(s.unmatched) + len(s.rejects) == len(rows)


def test_repeated_problems_are_told_apart_by_id(tmp_path: Path):
    bench = tmp_path / "dup.jsonl"
    bench.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "a", "problem": "Simplify: $2x + 3x$", "answer": "5x"},
        {"id": "b", "problem": "Simplify:  $2x + 3x$", "answer": "5 x"},
        {"id": "c", "problem": "What is 2+2?", "answer": "4"},
    ]), encoding="utf-8")
    gen = tmp_path / "gen.jsonl"
    gen.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "b", "problem": "Simplify: $2x + 3x$", "response": "\\boxed{5x}"},
        {"id": "a", "problem": "Simplify: $2x + 3x$", "response": "\\boxed{6x}"},
        {"id": "c", "problem": "What is 2+2?", "response": "\\boxed{4}"},
    ]), encoding="utf-8")
    s = score_generations(gen, bench)
    assert [(x["item"], x["correct"]) for x in s.samples] == [("b", True), ("a", False), ("c", True)]
    # without ids, each new record takes the next item with that text
    gen.write_text("".join(json.dumps({"problem": r["problem"], "response": "\\boxed{5x}"}) + "\n"
                           for r in map(json.loads, bench.read_text().splitlines())), encoding="utf-8")
    assert [x["item"] for x in score_generations(gen, bench).samples] == ["a", "b", "c"]


def test_generation_layouts_are_detected():
    assert generation_layout({"prompt": "p", "outputs": [{"text": "t"}]})[0] == "vllm"
    assert generation_layout({"prompt": "p", "generated_text": "t"})[1]["response_field"] == "generated_text"
    assert generation_layout({"text": "t", "meta_info": {}})[0] == "sglang"
    name, o = generation_layout({"doc_id": 0, "doc": {"question": "q"}, "target": "4", "resps": [["a", "b"]]})
    assert name == "lm-eval" and o["problem_field"] == "doc.question" and o["response_field"] == "resps.0"
    assert generation_layout({"choices": [{"message": {"content": "t"}}]})[1]["response_field"] == "choices.0.message.content"
    assert generation_layout({"problem": "p", "response": "r"}) == ("auto", {})


def test_pass_at_k_is_the_unbiased_estimator():
    assert pass_at_k(10, 0, 5) == 0.0 and pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 2) == pytest.approx(1 - (7 * 6) / (10 * 9))
    assert pass_at_k(5, 3, 3) == 1.0
    with pytest.raises(ValueError, match="k"):
        pass_at_k(2, 1, 3)


def test_cli_score_prints_a_table_and_writes_json(tmp_path: Path, qwq: Path, math500: Path, capsys, qwq_scores):
    out = tmp_path / "scores.json"
    assert main(["score", str(qwq), "--bench", str(math500), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "accuracy" in captured.out and "50.0%" in captured.out and "outcome efficiency" in captured.out
    assert "scored 18" in captured.err.replace("\n", " ")
    d = json.loads(out.read_text(encoding="utf-8"))
    assert d["benchmarks"]["math500"]["accuracy"] == pytest.approx(0.5) and len(d["samples"]) == 18
    assert d["benchmarks"] == json.loads(json.dumps(qwq_scores.benchmarks))


def test_cli_score_errors(tmp_path: Path, qwq: Path, math500: Path, capsys):
    assert main(["score", str(tmp_path / "missing.jsonl"), "--bench", str(math500)]) == 1
    assert "no such file" in capsys.readouterr().err
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"problem": "Name a colour of the rainbow.", "response": "\\boxed{red}"}) + "\n", encoding="utf-8")
    assert main(["score", str(other), "--bench", str(math500), "-o", str(tmp_path / "o.json")]) == 1
    err = capsys.readouterr().err
    assert "no generation could be scored" in err and "not scored" in err
    bad_bench = tmp_path / "bench.jsonl"
    bad_bench.write_text(json.dumps({"text": "x", "gold": "1"}) + "\n", encoding="utf-8")
    assert main(["score", str(qwq), "--bench", str(bad_bench)]) == 1
    assert "cannot find the problem text" in capsys.readouterr().err


def test_score_needs_no_torch(qwq: Path, math500: Path, tmp_path: Path):
    code = (
        "import sys; from dlcot.cli import main; "
        f"rc = main(['score', {str(qwq)!r}, '--bench', {str(math500)!r}, '-o', {str(tmp_path / 's.json')!r}, '--no-symbolic']); "
        "print(rc, [m for m in ('torch', 'transformers', 'trl') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "0 []"
