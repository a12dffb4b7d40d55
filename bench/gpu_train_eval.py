#!/usr/bin/env python
"""GPU measurements of ``dlcot train`` and ``dlcot eval``: one script, about two minutes on an H100.

    python bench/gpu_train_eval.py OUTDIR [--seq-lens 4096,8192,16384] [--steps 8]

What it measures, on a randomly initialised Qwen2 model of Qwen2.5-0.5B's shape (hidden 896,
24 layers, 14 query / 2 key-value heads, MLP 4864, vocabulary 151,936, tied embeddings;
494M parameters; no weights are downloaded):

* **Training throughput** through :func:`dlcot.sft.train` (transformers' Trainer, the path the
  GPU machines use; bf16 autocast over fp32 weights, SDPA attention, AdamW), with packed
  sequences of 4,096 / 8,192 / 16,384 tokens, gradient checkpointing on (and off at 4,096).
  The data are real pruned traces: the records of ``../shared/data/traces_normalised.jsonl``
  with a reference answer, pruned by ``dlcot.Pipeline("dlcot")``, put in an R1-style chat
  template and tokenised with the bundled DeepSeek-R1-Distill-Qwen tokenizer
  (``dlcot/data``), packed best-fit into rows (position ids restart per trace, so attention
  stays within each trace). Tokens/s is the median over the measured steps of real tokens per
  second of wall time (data loading, forward, backward, optimizer step, logging).
* **MFU** against the GPU's dense bf16 peak (989 TFLOP/s for H100 SXM and H200; the device name
  is printed): model FLOPs per token = 6·N (N = all parameters, the tied embedding counted
  once: it is the LM-head matmul) plus, in the second figure, attention 12·L·d·t per token
  for a token in a trace of t tokens (PaLM's formula, no causal discount), averaged over the
  packed traces. Recomputation under gradient checkpointing is not counted (as in MFU, unlike
  HFU).
* **Generation throughput** through :func:`dlcot.eval.generate` (transformers ``generate``,
  batched, left-padded, greedy, bf16, KV cache): 32 MATH-500 prompts x 256 new tokens, EOS
  ignored so every row generates all 256.

Writes ``OUTDIR/results.json`` and ``OUTDIR/results.md`` (a markdown table for the README).
Without a CUDA GPU it says so and exits 0.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

PEAK_BF16 = 989e12  # H100 SXM dense bf16 (H200: the same)
R1_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if m['role'] == 'user' %}<｜User｜>{{ m['content'] }}"
    "{% elif m['role'] == 'assistant' %}<｜Assistant｜>{{ m['content'] }}<｜end▁of▁sentence｜>{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<｜Assistant｜><think>\n{% endif %}"
)


def qwen2_05b_config(vocab_size: int, smoke: bool = False):
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=64 if smoke else 896,
        intermediate_size=128 if smoke else 4864,
        num_hidden_layers=2 if smoke else 24,
        num_attention_heads=4 if smoke else 14,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        bos_token_id=151646,
        eos_token_id=151643,
        pad_token_id=151643,
    )


def bundled_tokenizer():
    """The bundled DeepSeek-R1-Distill-Qwen tokenizer as a transformers tokenizer with an R1-style
    chat template."""
    from transformers import PreTrainedTokenizerFast

    from dlcot.tokens import default_token_counter

    tok = PreTrainedTokenizerFast(
        tokenizer_object=default_token_counter().tokenizer,
        bos_token="<｜begin▁of▁sentence｜>",
        eos_token="<｜end▁of▁sentence｜>",
        pad_token="<｜end▁of▁sentence｜>",
    )
    tok.chat_template = R1_TEMPLATE
    return tok


def pruned_pairs(limit: int, path: Path) -> tuple[list[tuple[str, str]], str]:
    """(problem, pruned response) of real traces, and where they came from."""
    import dlcot
    from dlcot.io import Record, iter_records

    if not path.is_file():
        path = ROOT / "examples" / "sky_t1_sample.jsonl"
    recs = [r for r in iter_records(path) if isinstance(r, Record) and r.answer and r.problem]
    # interleave the sources (GSM8K traces are short, Sky-T1 and MATH ones long), reproducibly
    recs.sort(key=lambda r: (zlib.crc32(f"{r.id}/{r.index}".encode()) % 1000, r.index))
    res = dlcot.Pipeline("dlcot", tokenizer="none", symbolic=False).process_batch(recs[: limit * 2])
    pairs = [(r.record.problem, r.response) for r in res if r.status == "kept"][:limit]
    return pairs, f"{path.name} (records with a reference answer)"


def measure_training(model, tok, pairs, lengths: list[int], seq_len: int, grad_ckpt: bool, steps: int, warmup: int, out: Path,
                     n_params: int) -> dict:
    import torch

    from dlcot.sft import TrainConfig, pack, train

    # attention FLOPs per token, averaged over the packed traces (PaLM: 12 * layers * d * t per
    # token of a t-token trace); traces are cut at seq_len
    cut = [min(n, seq_len) for n in lengths]
    cfg_m = model.config
    attn_per_token = 12 * cfg_m.num_hidden_layers * cfg_m.hidden_size * sum(n * n for n in cut) / sum(cut)
    rows = pack([{"input_ids": [0] * n, "labels": [0] * n} for n in cut], seq_len)
    per_step: list[float] = []
    row_tokens: list[int] = []

    def on_log(rec: dict) -> None:
        if rec["step"] > warmup:
            per_step.append(rec["tokens_per_second"])

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    cfg = TrainConfig(
        max_steps=warmup + steps, batch_size=1, grad_accum=1, max_length=seq_len, packing=True, bf16=cuda,
        gradient_checkpointing=grad_ckpt, learning_rate=1e-5, warmup_ratio=0.0, logging_steps=1,
        save_steps=None, save_total_limit=None, backend="transformers", attn_implementation="sdpa",
    )
    t0 = time.perf_counter()
    if not grad_ckpt:
        # an earlier run's Trainer left it on (the method's name changed in transformers 5.2x)
        getattr(model, "activation_checkpointing_disable", model.gradient_checkpointing_disable)()
    r = train(pairs, model, out, cfg, tokenizer=tok, overwrite=True, on_log=on_log, save_model=False)
    wall = time.perf_counter() - t0
    row_tokens = [len(x["input_ids"]) for x in rows]
    tps = statistics.median(per_step) if per_step else float("nan")
    return {
        "seq_len": seq_len,
        "gradient_checkpointing": grad_ckpt,
        "packed_rows": len(rows),
        "mean_tokens_per_row": sum(row_tokens) / len(row_tokens),
        "traces_per_row": len(cut) / len(rows),
        "steps_measured": len(per_step),
        "tokens_per_second_per_step": per_step,
        "tokens_per_second": tps,
        "tokens_per_second_all_steps": r.tokens_per_second,
        "mfu_6n": 6 * n_params * tps / PEAK_BF16,
        "mfu_6n_attn": (6 * n_params + attn_per_token) * tps / PEAK_BF16,
        "attention_flops_per_token": attn_per_token,
        "loss_first_last": [r.losses[0][1], r.losses[-1][1]] if r.losses else None,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
        "wall_s": wall,
    }


def measure_generation(model, tok, batch: int, new_tokens: int) -> dict:
    import torch

    from dlcot.eval import GenerateConfig, generate
    from dlcot.score import read_benchmark

    bench = ROOT.parent / "shared" / "data" / "bench" / "math500.jsonl"
    if bench.is_file():
        problems = [it.problem for it in read_benchmark(bench).items[:batch]]
    else:
        problems = [f"What is {i} + {i + 1}? Show your work." for i in range(batch)]
    cuda = torch.cuda.is_available()
    if cuda:
        model.to(torch.bfloat16)
    cfg = GenerateConfig(max_new_tokens=new_tokens, batch_size=batch, engine="transformers", ignore_eos=True)
    generate(model, problems[:4], GenerateConfig(max_new_tokens=8, batch_size=4, engine="transformers"), tokenizer=tok)  # warm-up
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    g = generate(model, problems, cfg, tokenizer=tok)
    return {
        "prompts": len(problems),
        "new_tokens_per_prompt": new_tokens,
        "prompt_tokens": g.prompt_tokens,
        "generated_tokens": sum(sum(t) for t in g.new_tokens),
        "seconds": g.seconds,
        "tokens_per_second": g.tokens_per_second,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("output", help="directory for results.json and results.md")
    ap.add_argument("--seq-lens", default="4096,8192,16384", help="packed sequence lengths (default 4096,8192,16384)")
    ap.add_argument("--steps", type=int, default=8, help="measured steps per setting (default 8)")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured first steps (default 2)")
    ap.add_argument("--gen-batch", type=int, default=32)
    ap.add_argument("--gen-tokens", type=int, default=256)
    ap.add_argument("--budget-s", type=float, default=130.0, help="skip the remaining settings after this many seconds")
    ap.add_argument("--traces", default=str(ROOT.parent / "shared" / "data" / "traces_normalised.jsonl"),
                    help="traces to prune and train on (default ../shared/data/traces_normalised.jsonl; "
                         "absent: the bundled examples/sky_t1_sample.jsonl)")
    ap.add_argument("--smoke", action="store_true", help="a tiny model on CPU: checks the script, measures nothing")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    import torch

    if not torch.cuda.is_available() and not args.smoke:
        print("gpu_train_eval: no CUDA GPU here; nothing measured (run it on a machine with one)")
        return 0
    if args.smoke:
        args.seq_lens, args.steps, args.warmup, args.gen_batch, args.gen_tokens = "128", 2, 1, 4, 8
    import transformers
    from transformers import Qwen2ForCausalLM

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu (smoke test: numbers mean nothing)"
    print(f"device: {device}; torch {torch.__version__}, transformers {transformers.__version__}", flush=True)
    tok = bundled_tokenizer()
    seq_lens = [int(x) for x in args.seq_lens.split(",") if x]
    pairs, source = pruned_pairs(16 if args.smoke else 300, Path(args.traces))
    print(f"data: {len(pairs)} pruned traces from {source}; {time.perf_counter() - t_start:.1f} s", flush=True)
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = Qwen2ForCausalLM._from_config(qwen2_05b_config(151936, args.smoke), attn_implementation="sdpa", dtype=torch.float32)
    n_params = sum(p.numel() for p in model.parameters())
    from dlcot.sft import encode

    lengths = [len(e["input_ids"]) for e in (encode(tok, p, r, max_length=10**7) for p, r in pairs) if e]
    print(f"tokens: {sum(lengths):,} in {len(lengths)} traces (median {statistics.median(lengths):,.0f}, max {max(lengths):,}); "
          f"{time.perf_counter() - t_start:.1f} s", flush=True)
    print(f"model: Qwen2 0.5B shape, {n_params / 1e6:.1f}M parameters, random init; {time.perf_counter() - t_start:.1f} s", flush=True)

    settings = [(seq_lens[0], False), (seq_lens[0], True)] + [(s, True) for s in seq_lens[1:]]
    training = []
    for seq_len, ckpt in settings:
        if time.perf_counter() - t_start > args.budget_s - 35:
            print(f"skipped seq_len {seq_len} (time budget)", flush=True)
            continue
        try:
            r = measure_training(model, tok, pairs, lengths, seq_len, ckpt, args.steps, args.warmup, out / f"train_{seq_len}", n_params)
        except torch.OutOfMemoryError as e:
            r = {"seq_len": seq_len, "gradient_checkpointing": ckpt, "error": f"out of memory: {e}"[:300]}
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        training.append(r)
        print(json.dumps(r), flush=True)
    generation = measure_generation(model, tok, args.gen_batch, args.gen_tokens)
    print(json.dumps(generation), flush=True)
    total = time.perf_counter() - t_start
    results = {
        "device": device,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "model": "Qwen2, Qwen2.5-0.5B shape, random init" if not args.smoke else "tiny Qwen2 (smoke test)",
        "parameters": n_params,
        "peak_bf16_flops": PEAK_BF16,
        "data": f"{len(pairs)} real traces pruned by dlcot (policy dlcot) from {source}, bundled R1-Distill-Qwen tokenizer",
        "training": training,
        "generation": generation,
        "total_seconds": total,
    }
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    lines = [
        f"Device: {device} (peak {PEAK_BF16 / 1e12:.0f} TFLOP/s dense bf16); torch {torch.__version__}, transformers "
        f"{transformers.__version__}; `python bench/gpu_train_eval.py` ({total:.0f} s in all).",
        "",
        "| training (Qwen2 0.5B shape, random init, packed real pruned traces) | tokens/s | MFU (6N) | MFU (6N + attention) | peak memory |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in training:
        what = f"{r['seq_len']:,} tokens/row, gradient checkpointing {'on' if r['gradient_checkpointing'] else 'off'}"
        if "error" in r:
            lines.append(f"| {what} | {r['error'][:60]} | | | |")
            continue
        mem = "-" if r["peak_memory_gib"] is None else f"{r['peak_memory_gib']:.1f} GiB"
        lines.append(f"| {what} | {r['tokens_per_second']:,.0f} | {100 * r['mfu_6n']:.1f}% | {100 * r['mfu_6n_attn']:.1f}% | {mem} |")
    g = generation
    lines += [
        "",
        "| generation (`dlcot.eval.generate`, transformers, greedy, bf16) | tokens/s |",
        "|---|---:|",
        f"| {g['prompts']} MATH-500 prompts x {g['new_tokens_per_prompt']} new tokens, one batch | {g['tokens_per_second']:,.0f} |",
    ]
    (out / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
