"""``dlcot train`` and ``dlcot eval`` end to end on CPU, with no downloaded weights.

A tiny Qwen2 model is built from a config, with a byte-level BPE tokenizer trained here with
`tokenizers` on the traces themselves and given a ChatML template. It is trained on real traces
pruned by ``dlcot.Pipeline("dlcot")`` (GSM8K traces of R1-Distill-Qwen-32B / QwQ-32B from
../shared/data; the bundled Sky-T1 sample when that folder is absent), saved, reloaded, and
evaluated on benchmark slices through the CLI. Also checked: the loss is on the assistant turn
only, packed rows give the same loss as separate examples, a resumed run ends where an
uninterrupted one does, TRL's trainer and the plain transformers one optimise the same loss, and
left-padded batched generation equals one-by-one generation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import dlcot  # noqa: E402
from dlcot.cli import main  # noqa: E402
from dlcot.sft import CHATML_TEMPLATE, Collator, TrainConfig, encode, pack, render, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SMALL = dict(learning_rate=3e-3, warmup_ratio=0.1, batch_size=4, grad_accum=1, max_length=256, logging_steps=4,
             save_steps=100, backend="transformers")


@pytest.fixture(scope="module")
def pruned() -> list:
    """Real traces pruned by dlcot: (Result, sft record) of the kept ones."""
    path = SHARED / "traces_normalised.jsonl"
    if path.is_file():
        recs = [json.loads(line) for line in path.open(encoding="utf-8")]
        recs = [r for r in recs if r["answer"] and "gsm8k" in r["id"]][:80]
    else:
        recs = [json.loads(line) for line in (ROOT / "examples" / "sky_t1_sample.jsonl").open(encoding="utf-8")]
    pipe = dlcot.Pipeline("dlcot", tokenizer="none", symbolic=False)
    kept = [(r, pipe.sft_record(r)) for r in pipe.process_batch(recs) if r.status == "kept"]
    assert len(kept) >= 15
    return kept


@pytest.fixture(scope="module")
def pairs(pruned) -> list[tuple[str, str]]:
    return [(rec["messages"][0]["content"], rec["messages"][1]["content"]) for _, rec in pruned]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("train_eval")


@pytest.fixture(scope="module")
def sft_file(work: Path, pruned) -> Path:
    path = work / "sft.jsonl"
    path.write_text("".join(json.dumps(rec, ensure_ascii=False) + "\n" for _, rec in pruned), encoding="utf-8")
    return path


def tiny_tokenizer(texts: list[str], vocab_size: int = 1024):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(texts, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.chat_template = CHATML_TEMPLATE
    return tok


@pytest.fixture(scope="module")
def tiny(work: Path, pairs) -> Path:
    """A randomly initialised 2-layer Qwen2 with a tokenizer trained on the traces, saved."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tok = tiny_tokenizer([p for p, _ in pairs] + [r for _, r in pairs])
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=1024, tie_word_embeddings=True,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg)
    path = work / "tiny-random"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tok(tiny: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny)


@pytest.fixture(scope="module")
def trained(tiny: Path, sft_file: Path, work: Path):
    out = work / "student"
    result = train(sft_file, tiny, out, TrainConfig(max_steps=24, **SMALL))
    return out, result


# ---------------------------------------------------------------------------------------------
# data: what the loss sees


def test_the_loss_is_on_the_assistant_turn_only(tok, pairs):
    from dlcot.eval import GenerateConfig, _prompts

    for problem, response in pairs[:10]:
        e = encode(tok, problem, response, max_length=100_000)
        n_prompt = e["labels"].index(next(x for x in e["labels"] if x != -100))
        assert all(x == -100 for x in e["labels"][:n_prompt])
        trained_ids = e["labels"][n_prompt:]
        assert -100 not in trained_ids and trained_ids == e["input_ids"][n_prompt:]
        # decoded, the trained tokens are exactly the assistant turn and its end of turn
        assert tok.decode(trained_ids) == response + "<|im_end|>\n"
        # and the masked ones exactly the prompt generation starts from
        prompt = _prompts(tok, [problem], GenerateConfig())[0]
        assert tok.decode(e["input_ids"][:n_prompt]) == prompt
        assert e["input_ids"][:n_prompt] == tok(prompt, add_special_tokens=False)["input_ids"]
        assert response.startswith("<think>\n") and problem in prompt


def test_templates_that_drop_or_open_the_reasoning(tok, pairs):
    """DeepSeek-R1's template drops everything up to </think> from assistant turns and opens the
    reasoning in the generation prompt: the completion must still hold the whole reasoning, once."""
    r1 = (
        "{% for m in messages %}{% if m['role'] == 'user' %}<|im_start|>{{ m['content'] }}"
        "{% elif m['role'] == 'assistant' %}{% set c = m['content'] %}{% if '</think>' in c %}"
        "{% set c = c.split('</think>')[-1] %}{% endif %}<|im_end|>{{ c }}<|endoftext|>{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}<|im_end|><think>\n{% endif %}"
    )
    problem, response = pairs[0]
    saved = tok.chat_template
    try:
        tok.chat_template = r1
        prompt, completion = render(tok, problem, response)
        assert prompt.endswith("<|im_end|><think>\n")
        assert completion == response[len("<think>\n"):] + "<|endoftext|>"
        assert "</think>" in completion and completion.count("<think>") == 0
    finally:
        tok.chat_template = saved


def test_long_examples_are_cut_or_dropped(tok, pairs):
    problem, response = max(pairs, key=lambda p: len(p[1]))
    n = len(tok(render(tok, problem, response)[0], add_special_tokens=False)["input_ids"]) + 20
    cut = encode(tok, problem, response, max_length=n)
    assert cut["truncated"] and len(cut["input_ids"]) == len(cut["labels"]) == n
    assert sum(1 for x in cut["labels"] if x != -100) == 20  # the start of the assistant turn is kept
    assert encode(tok, problem, response, max_length=n, truncation="drop") is None
    assert encode(tok, problem, response, max_length=n - 20) is None  # the prompt alone fills it


def test_packed_rows_give_the_same_loss_as_separate_examples(tiny: Path, tok, pairs):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny, attn_implementation="sdpa").eval()
    examples = [encode(tok, p, r, max_length=120) for p, r in pairs[:3]]
    rows = pack(examples, 400)
    assert len(rows) == 1 and len(rows[0]["input_ids"]) == sum(len(e["input_ids"]) for e in examples)
    with torch.no_grad():
        total = count = 0.0
        for e in examples:
            n = sum(1 for x in e["labels"][1:] if x != -100)
            out = model(input_ids=torch.tensor([e["input_ids"]]), labels=torch.tensor([e["labels"]]))
            total += out.loss.item() * n
            count += n
        k = len(examples[0]["input_ids"]) + 10  # a shorter row: the first example and the start of the second
        batch = Collator(tok.pad_token_id)([rows[0], {key: rows[0][key][:k] for key in ("input_ids", "labels", "position_ids")}])
        assert "attention_mask" not in batch and batch["use_cache"] is False  # packed: attention follows the position ids

        def loss(rows, cols=slice(None), **kw):
            return model(input_ids=batch["input_ids"][rows, cols], labels=batch["labels"][rows, cols], use_cache=False, **kw).loss.item()

        packed = loss(slice(0, 1), position_ids=batch["position_ids"][:1])
        mixed = loss(slice(0, 1))
        # the second, shorter row is padded with a separate dummy example: its real tokens' loss is unchanged
        short = loss(slice(1, 2), slice(0, k), position_ids=batch["position_ids"][1:, :k])
        padded = loss(slice(1, 2), position_ids=batch["position_ids"][1:])
        # the static shapes used on a GPU: rows padded to a multiple of 128 / to max_length
        wide = Collator(tok.pad_token_id, 128, 400)([rows[0]])
        assert wide["input_ids"].shape[1] == 512 and (wide["position_ids"][0, : len(rows[0]["input_ids"])] == batch["position_ids"][0, : len(rows[0]["input_ids"])]).all()
        static = model(input_ids=wide["input_ids"], labels=wide["labels"], position_ids=wide["position_ids"], use_cache=False).loss.item()
    assert packed == pytest.approx(total / count, rel=1e-5)
    assert abs(mixed - packed) > 1e-4  # without the position ids the examples would see each other
    assert padded == pytest.approx(short, rel=1e-5)
    assert static == pytest.approx(packed, rel=1e-5)


# ---------------------------------------------------------------------------------------------
# training


def test_training_lowers_the_loss_and_the_model_reloads(trained, tok):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, r = trained
    assert r.backend == "transformers" and r.steps == 24 and r.examples >= 15 and r.assistant_tokens < r.tokens
    losses = [loss for _, loss in r.losses]
    assert [s for s, _ in r.losses] == [1, 4, 8, 12, 16, 20, 24]
    assert losses[-1] < losses[0] - 1.0, losses
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2 - 1.0
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [x["loss"] for x in log] == losses and all(x["tokens_per_second"] > 0 for x in log)
    summary = json.loads((out / "dlcot_train.json").read_text())
    assert summary["finished"] and summary["device"] == "cpu" and summary["config"]["max_steps"] == 24
    model = AutoModelForCausalLM.from_pretrained(out)
    tok2 = AutoTokenizer.from_pretrained(out)
    assert tok2.chat_template == tok.chat_template
    eos = model.generation_config.eos_token_id
    assert tok2.convert_tokens_to_ids("<|im_end|>") in (eos if isinstance(eos, list) else [eos])
    # the reloaded model gives the trained loss, not the random one
    e = encode(tok2, "What is 2 + 3?", "<think>\n2 + 3 = 5.\n</think>\n\nThe answer is \\boxed{5}.", max_length=256)
    with torch.no_grad():
        loss = model(input_ids=torch.tensor([e["input_ids"]]), labels=torch.tensor([e["labels"]])).loss.item()
    assert loss < losses[0]


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tiny: Path, sft_file: Path, work: Path):
    cfg = TrainConfig(max_steps=8, **(SMALL | {"save_steps": 4, "logging_steps": 1}))
    a, b = work / "resume-a", work / "resume-b"
    first = train(sft_file, tiny, a, cfg, stop_after=4)  # as if killed after the checkpoint at step 4
    assert first.steps == 4 and (a / "checkpoint-4").is_dir() and not (a / "model.safetensors").exists()
    with pytest.raises(ValueError, match="already holds a training run"):
        train(sft_file, tiny, a, cfg)
    second = train(sft_file, tiny, a, cfg, resume=True)
    assert second.resumed_from.endswith("checkpoint-4") and second.steps == 8
    assert [s for s, _ in second.losses] == [5, 6, 7, 8]
    whole = train(sft_file, tiny, b, cfg)
    assert [loss for _, loss in first.losses + second.losses] == pytest.approx([loss for _, loss in whole.losses], rel=1e-4)
    from transformers import AutoModelForCausalLM

    pa = dict(AutoModelForCausalLM.from_pretrained(a).named_parameters())
    pb = dict(AutoModelForCausalLM.from_pretrained(b).named_parameters())
    for name, p in pa.items():
        assert torch.allclose(p, pb[name], atol=1e-5), name
    with pytest.raises(ValueError, match="nothing to resume"):
        train(sft_file, tiny, work / "resume-none", cfg, resume=True)


def test_trl_and_transformers_trainers_optimise_the_same_loss(tiny: Path, sft_file: Path, work: Path):
    pytest.importorskip("trl")
    cfg = dict(SMALL, logging_steps=1, save_steps=None)
    plain = train(sft_file, tiny, work / "plain", TrainConfig(max_steps=5, **cfg))
    with_trl = train(sft_file, tiny, work / "trl", TrainConfig(max_steps=5, **(cfg | {"backend": "trl"})))
    assert (plain.backend, with_trl.backend) == ("transformers", "trl")
    assert [x for _, x in with_trl.losses] == pytest.approx([x for _, x in plain.losses], rel=1e-4)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig(learning_rate=0)
    with pytest.raises(ValueError, match="truncation"):
        TrainConfig(truncation="left")
    from dlcot.eval import GenerateConfig

    with pytest.raises(ValueError, match="temperature"):
        GenerateConfig(num_samples=4)


# ---------------------------------------------------------------------------------------------
# evaluation


def test_batched_left_padded_generation_equals_one_by_one(trained, bench_dir: Path):
    from dlcot.eval import GenerateConfig, generate
    from dlcot.score import read_benchmark

    out, _ = trained
    problems = [it.problem for it in read_benchmark(bench_dir / "gsm8k.jsonl").items[:4]]
    batched = generate(out, problems, GenerateConfig(max_new_tokens=20, batch_size=4))
    single = generate(out, problems, GenerateConfig(max_new_tokens=20, batch_size=1))
    assert batched.responses == single.responses and batched.new_tokens == single.new_tokens
    assert all(len(r) == 1 and 1 <= n[0] <= 20 for r, n in zip(batched.responses, batched.new_tokens))
    assert batched.engine == "transformers" and batched.tokens_per_second > 0


def test_cli_train_then_eval_two_models_in_one_table_and_plot(tiny: Path, sft_file: Path, work: Path, bench_dir: Path, capsys):
    out = work / "cli-student"
    rc = main(["train", "--data", str(sft_file), "--model", str(tiny), "--output", str(out), "--max-steps", "8", "--lr", "3e-3",
               "--batch-size", "4", "--grad-accum", "1", "--max-length", "256", "--logging-steps", "4", "--save-steps", "4",
               "--backend", "transformers"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "step 4/8" in err and "step 8/8" in err and "loss" in err and (out / "model.safetensors").is_file()
    # a second run into the same directory is refused unless resumed or overwritten
    assert main(["train", "--data", str(sft_file), "--model", str(tiny), "--output", str(out), "--max-steps", "8"]) == 1
    assert "--resume" in capsys.readouterr().err

    ev = work / "cli-eval"
    gsm8k, math500 = bench_dir / "gsm8k.jsonl", bench_dir / "math500.jsonl"
    rc = main(["eval", "--model", str(out), "--compare", str(tiny), "--bench", str(gsm8k), str(math500), "--limit", "3",
               "--max-new-tokens", "16", "--batch-size", "3", "-o", str(ev)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "cli-student" in captured.out and "tiny-random" in captured.out and "accuracy" in captured.out
    png = ev / "compare.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cmp = json.loads((ev / "compare.json").read_text())
    assert [m["name"] for m in cmp["models"]] == ["cli-student", "tiny-random"]
    for name in ("cli-student", "tiny-random"):
        d = json.loads((ev / name / "eval.json").read_text())
        for bench in ("gsm8k", "math500"):
            b = d["scores"]["benchmarks"][bench]
            assert (b["items"], b["answered"], b["samples"]) == (3, 3, 3)
            lines = (ev / name / f"{bench}.generations.jsonl").read_text().splitlines()
            assert len(lines) == 3 and all(1 <= json.loads(x)["new_tokens"][0] <= 16 for x in lines)
        assert d["new_tokens"] > 0 and d["generation_tokens_per_second"] > 0
    # dlcot score on eval's generations gives eval's numbers
    gen = ev / "cli-student" / "gsm8k.generations.jsonl"
    assert main(["score", str(gen), "--bench", str(gsm8k), "-o", str(work / "rescore.json")]) == 0
    rescored = json.loads((work / "rescore.json").read_text())["benchmarks"]["gsm8k"]
    evald = json.loads((ev / "cli-student" / "eval.json").read_text())["scores"]["benchmarks"]["gsm8k"]
    assert rescored["answered"] == 3 and rescored["accuracy"] == evald["accuracy"] and rescored["tokens"] == evald["tokens"]
    capsys.readouterr()
    # a usage error is named
    assert main(["eval", "--model", str(out), "--bench", str(gsm8k), "-o", str(ev), "--num-samples", "4"]) == 1
    assert "temperature" in capsys.readouterr().err


def test_gpu_bench_script_says_so_without_a_gpu_and_runs_on_a_tiny_model(tmp_path: Path):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(ROOT / "python"))
    script = str(ROOT / "bench" / "gpu_train_eval.py")
    r = subprocess.run([sys.executable, script, str(tmp_path / "none")], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "no CUDA GPU" in r.stdout
    r = subprocess.run([sys.executable, script, str(tmp_path / "smoke"), "--smoke"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((tmp_path / "smoke" / "results.json").read_text())
    assert [(t["seq_len"], t["gradient_checkpointing"]) for t in res["training"]] == [(128, False), (128, True)] and res["generation"]["generated_tokens"] == 4 * 8
    assert all(t["tokens_per_second"] > 0 and 0 < t["mfu_6n"] < t["mfu_6n_attn"] for t in res["training"])
    assert "| generation" in (tmp_path / "smoke" / "results.md").read_text()
