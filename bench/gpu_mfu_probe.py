#!/usr/bin/env python
"""Where does ``dlcot train``'s GPU time go?  One script that isolates the suspects, ~2 minutes on an H100.

    PYTHONPATH=python python bench/gpu_mfu_probe.py OUTDIR [--budget 140] [--steps 6] [--warmup 2]
    PYTHONPATH=python python bench/gpu_mfu_probe.py OUTDIR --smoke     # tiny model on CPU, checks the script

Same model as ``bench/gpu_train_eval.py`` (Qwen2, Qwen2.5-0.5B shape, random init, 494M parameters),
sequence length 4,096, batch 1, random token ids. Every training variant is timed over ``--steps``
steps after ``--warmup`` warm-up steps with CUDA events per step and torch.cuda.synchronize around
the whole (tokens/s = real tokens / synchronised wall time; the per-step range shows the jitter):

  a   plain PyTorch loop: bf16 weights, fused AdamW, no mask (position ids 0..n-1)   -- the ceiling
  b   (a) with fp32 weights + torch.autocast(bf16)                                   -- Trainer's precision
  c   (b) with packed rows (position ids restarting per example; example lengths like the real
      traces: median ~1,000, max ~6,200 tokens), whatever mask transformers builds under sdpa;
      c-var: rows of their own (varying) length, as dlcot.sft's collator made them before;
      c-static: rows padded to 4,096 (dlcot.sft on CUDA now); c-var-nocudnn: c-var with the
      cuDNN SDPA backend switched off
  d   (c-static) with attn_implementation="flex_attention" (skipped when unavailable / no time)
  e   (a) with the loss from bf16 logits (F.cross_entropy) instead of the model's labels= loss
      (which upcasts the 4,096 x 151,936 logits to fp32)
  f   dlcot.sft.train itself (transformers Trainer, the bench's TrainConfig, logging_steps=1,
      gradient checkpointing off, packed rows), synchronised wall time over the steps;
      f-new: as it is now (static shapes on CUDA); f-old: CUDA_PAD_MULTIPLE=1 (the old collator)
  g   generation, 32 prompts x 128 new tokens, bf16, greedy: dlcot.eval.generate (g-new: cuDNN
      SDPA off, as now; g-old: PyTorch's default backends) vs model.generate with
      cache_implementation="static" (no compile; and with transformers' auto-compile if time is left)

For the first attention call of each training variant it also records what reached
``F.scaled_dot_product_attention`` (mask dtype/shape, is_causal, enable_gqa) and the backend
``torch._fused_sdp_choice`` picks for it (MATH / FLASH / EFFICIENT / CUDNN).

Prints one markdown table (variant, tokens/s, MFU from 6N against 989 TFLOP/s, peak GiB, per-step
range, notes) and writes it to OUTDIR/probe.md and everything to OUTDIR/probe.json.
``--budget`` (seconds) skips the remaining variants when time runs short.
Without a CUDA GPU (and without --smoke) it says so and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import json
import math
import platform
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))

PEAK_BF16 = 989e12  # H100 SXM / H200 dense bf16
WORDS = ("the of and so we let number value sum two three four five then first next answer equals "
         "therefore check wait total times plus minus half each step find compute add divide").split()


def example_lengths(n: int, cap: int, scale: float = 1.0) -> list[int]:
    """Token counts like the real pruned traces (median ~1,000, max ~6,200), fixed by a seed."""
    rng = random.Random(0)
    out = []
    for _ in range(n):
        x = rng.lognormvariate(math.log(1000), 0.75)
        out.append(max(8, int(min(6229, max(80, x)) * scale)))
    return [min(x, cap) for x in out]


class Probe:
    def __init__(self, args):
        import torch

        self.torch = torch
        self.args = args
        self.cuda = torch.cuda.is_available() and not args.smoke
        self.dev = torch.device("cuda" if self.cuda else "cpu")
        self.t0 = time.perf_counter()
        self.rows: list[dict] = []

    # -- helpers -------------------------------------------------------------------------------
    def left(self) -> float:
        return self.args.budget - (time.perf_counter() - self.t0)

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def free(self) -> None:
        gc.collect()
        if self.cuda:
            self.torch.cuda.empty_cache()
            self.torch.cuda.reset_peak_memory_stats()

    def peak(self):
        return self.torch.cuda.max_memory_allocated() / 2**30 if self.cuda else None

    def add(self, name: str, what: str, **kw) -> None:
        row = {"variant": name, "what": what, **kw}
        self.rows.append(row)
        tps = row.get("tokens_per_second")
        msg = f"[{time.perf_counter() - self.t0:6.1f}s] {name}: "
        msg += f"{tps:,.0f} tokens/s" if isinstance(tps, (int, float)) else str(row.get("error") or row.get("skipped"))
        if row.get("mfu_6n") is not None:
            msg += f", MFU {100 * row['mfu_6n']:.1f}%"
        if row.get("notes"):
            msg += f"  ({row['notes']})"
        print(msg, flush=True)

    def skip(self, name: str, what: str, need: float) -> bool:
        if self.left() < need:
            self.add(name, what, skipped=f"skipped: {self.left():.0f} s of budget left, needs ~{need:.0f} s")
            return True
        return False

    @contextlib.contextmanager
    def record_sdpa(self, store: list, decode_only: bool = False):
        """Records the first call of F.scaled_dot_product_attention and the backend torch picks."""
        torch = self.torch
        F = torch.nn.functional
        orig = F.scaled_dot_product_attention

        def wrapped(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False, **kw):
            if not store and (not decode_only or q.shape[-2] < k.shape[-2]):  # decode: fewer queries than keys
                rec = {"q": list(q.shape), "k": list(k.shape), "dtype": str(q.dtype).replace("torch.", ""),
                       "mask": None if attn_mask is None else f"{str(attn_mask.dtype).replace('torch.', '')}{list(attn_mask.shape)}",
                       "is_causal": bool(is_causal), "enable_gqa": bool(enable_gqa)}
                try:
                    from torch.nn.attention import SDPBackend

                    c = torch._fused_sdp_choice(q, k, v, attn_mask, dropout_p, is_causal, scale=scale, enable_gqa=enable_gqa)
                    rec["backend"] = SDPBackend(c).name
                except Exception as e:  # noqa: BLE001 - diagnostics only
                    rec["backend"] = f"? ({type(e).__name__})"
                store.append(rec)
            return orig(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal, scale=scale,
                        enable_gqa=enable_gqa, **kw)

        F.scaled_dot_product_attention = wrapped
        try:
            yield
        finally:
            F.scaled_dot_product_attention = orig

    def kernels(self, fn) -> list[str]:
        """Names of the attention kernels one call of ``fn`` launches (CUDA profiler)."""
        if not self.cuda or self.args.no_kernels:
            return []
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            self.sync()
        names = set()
        for e in prof.key_averages():
            n = e.key.lower()
            if any(s in n for s in ("fmha", "flash", "attention", "cudnn", "sdpa", "mha", "attn", "bprop", "fprop")):
                names.add(e.key[:90])
        return sorted(names)[:6]

    def time_steps(self, step, batches, real_tokens) -> dict:
        """Warm-up, then ``steps`` timed steps: CUDA events per step, synchronised wall time."""
        torch = self.torch
        a = self.args
        for i in range(a.warmup):
            step(batches[i % len(batches)])
        self.sync()
        events, cpu_times, toks = [], [], []
        t = time.perf_counter()
        for i in range(a.steps):
            j = (a.warmup + i) % len(batches)
            if self.cuda:
                e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                e0.record()
                step(batches[j])
                e1.record()
                events.append((e0, e1))
            else:
                c = time.perf_counter()
                step(batches[j])
                cpu_times.append(time.perf_counter() - c)
            toks.append(real_tokens[j])
        self.sync()
        wall = time.perf_counter() - t
        secs = [e0.elapsed_time(e1) / 1e3 for e0, e1 in events] if self.cuda else cpu_times
        per = [n / max(s, 1e-9) for n, s in zip(toks, secs)]
        tps = sum(toks) / wall
        return {"tokens_per_second": tps, "mfu_6n": 6 * self.n_params * tps / PEAK_BF16, "wall_s": wall,
                "step_ms": [round(1e3 * s, 2) for s in secs], "per_step_tokens_per_second": [round(x) for x in per],
                "range": f"{min(per):,.0f}-{max(per):,.0f}", "peak_gib": self.peak()}

    # -- model and data ------------------------------------------------------------------------
    def setup(self):
        torch = self.torch
        from gpu_train_eval import bundled_tokenizer, qwen2_05b_config
        from transformers import Qwen2ForCausalLM

        a = self.args
        self.tok = bundled_tokenizer()
        self.cfg = qwen2_05b_config(151936, a.smoke)
        torch.manual_seed(0)
        with torch.device(self.dev):
            self.m32 = Qwen2ForCausalLM._from_config(self.cfg, attn_implementation="sdpa", dtype=torch.float32)
        self.n_params = sum(p.numel() for p in self.m32.parameters())
        self.L = a.seq_len
        scale = a.seq_len / 4096 if a.smoke else 1.0
        self.lengths = example_lengths(a.examples, a.seq_len, scale)
        from dlcot.sft import Collator, pack

        g = torch.Generator().manual_seed(1)
        ex = []
        for n in self.lengths:
            ids = torch.randint(0, self.cfg.vocab_size - 1000, (n,), generator=g).tolist()
            ex.append({"input_ids": ids, "labels": ids})
        rows = pack(ex, a.seq_len)
        rows.sort(key=lambda r: zlib_hash(len(r["input_ids"])))  # mix long and short rows, reproducibly
        pad = self.tok.pad_token_id
        need = a.warmup + a.steps
        rows = (rows * (need // len(rows) + 1))[:need]
        self.real = [len(r["input_ids"]) for r in rows]
        self.packed_var = [self._to_dev(Collator(pad)([r])) for r in rows]
        self.packed_static = [self._to_dev(Collator(pad, 128, a.seq_len)([r])) for r in rows]
        full = torch.randint(0, self.cfg.vocab_size - 1000, (need, a.seq_len), generator=g)
        self.plain = [{"input_ids": full[i:i + 1].to(self.dev), "labels": full[i:i + 1].to(self.dev)} for i in range(need)]
        self.plain_tokens = [a.seq_len] * need
        traces = len(self.lengths)
        print(f"model: {self.n_params / 1e6:.1f}M parameters; packed rows: {len(set(map(id, rows)))} distinct of mean "
              f"{sum(self.real) / len(self.real):,.0f} tokens (lengths {min(self.real)}-{max(self.real)}); {traces} examples, "
              f"median {sorted(self.lengths)[traces // 2]}, max {max(self.lengths)}; {time.perf_counter() - self.t0:.1f} s", flush=True)

    def _to_dev(self, b: dict) -> dict:
        return {k: (v.to(self.dev) if hasattr(v, "to") else v) for k, v in b.items()}

    # -- training variants ---------------------------------------------------------------------
    def train_variant(self, name: str, what: str, model, batches, real, *, autocast: bool, loss: str = "model",
                      backends=None, kernels: bool = False) -> None:
        torch = self.torch
        if self.skip(name, what, 8 if self.cuda else 3):
            return
        self.free()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.95), weight_decay=1e-4, fused=self.cuda)
        model.train()
        F = torch.nn.functional

        def step(b):
            ctx = torch.autocast(self.dev.type, dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
            with ctx:
                kw = {"position_ids": b["position_ids"]} if "position_ids" in b else {}
                if loss == "model":
                    out = model(input_ids=b["input_ids"], labels=b["labels"], use_cache=False, **kw).loss
                else:  # logits stay in the model's dtype (bf16); shift as transformers does
                    logits = model(input_ids=b["input_ids"], use_cache=False, **kw).logits
                    out = F.cross_entropy(logits[:, :-1].flatten(0, 1), b["labels"][:, 1:].flatten(), ignore_index=-100)
            out.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        ctx = contextlib.nullcontext()
        if backends is not None:
            from torch.nn.attention import sdpa_kernel

            ctx = sdpa_kernel(backends)
        sdpa: list = []
        try:
            with ctx:
                with self.record_sdpa(sdpa):
                    step(batches[0])  # one extra warm-up step, recorded
                r = self.time_steps(step, batches, real)
                ks = self.kernels(lambda: step(batches[-1])) if kernels else []
        except Exception as e:  # noqa: BLE001 - a probe reports and goes on
            traceback.print_exc()
            self.add(name, what, error=f"{type(e).__name__}: {e}"[:300])
            return
        finally:
            opt.state.clear()  # free the optimizer's moments before the next variant
            model.zero_grad(set_to_none=True)
        s = sdpa[0] if sdpa else {}
        notes = _sdpa_note(sdpa).lstrip("; ")
        self.add(name, what, **r, sdpa=s, kernels=ks, notes=notes)

    def flex_variant(self) -> None:
        name, what = "d", "(c-static) with attn_implementation=flex_attention"
        if not self.cuda and not self.args.flex_on_cpu:
            self.add(name, what, skipped="skipped (CPU)")
            return
        if self.skip(name, what, 45):
            return
        try:
            self.m32.set_attn_implementation("flex_attention")
        except Exception as e:  # noqa: BLE001
            self.add(name, what, skipped=f"unavailable: {type(e).__name__}: {e}"[:200])
            return
        try:
            self.train_variant(name, what, self.m32, self.packed_static, self.real, autocast=True)
        finally:
            self.m32.set_attn_implementation("sdpa")

    # -- dlcot.sft.train -----------------------------------------------------------------------
    def synthetic_pairs(self) -> list[tuple[str, str]]:
        rng = random.Random(2)
        pairs = []
        for i, n in enumerate(self.lengths):
            problem = f"Problem {i}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 80)))
            pairs.append((problem, "<think>\n" + " ".join(rng.choice(WORDS) for _ in range(max(4, n - 60))) + "\n</think>\nThe answer is 7."))
        return pairs

    def sft_variant(self, name: str, what: str, pad_multiple: int) -> None:
        if self.skip(name, what, 15 if self.cuda else 5):
            return
        import dlcot.sft as sft
        from dlcot.sft import TrainConfig, train

        a = self.args
        self.free()
        marks: list = []

        def on_log(rec):
            self.sync()
            marks.append((rec["step"], time.perf_counter(), rec["tokens_per_second"], rec["elapsed_s"]))

        cfg = TrainConfig(
            max_steps=a.warmup + a.steps, batch_size=1, grad_accum=1, max_length=a.seq_len, packing=True, bf16=self.cuda,
            gradient_checkpointing=False, learning_rate=1e-5, warmup_ratio=0.0, logging_steps=1,
            save_steps=None, save_total_limit=None, backend="transformers", attn_implementation="sdpa",
        )
        old = sft.CUDA_PAD_MULTIPLE
        sft.CUDA_PAD_MULTIPLE = pad_multiple
        getattr(self.m32, "activation_checkpointing_disable", self.m32.gradient_checkpointing_disable)()
        try:
            t = time.perf_counter()
            r = train(self.pairs, self.m32, Path(a.output) / f"sft_{name}", cfg, tokenizer=self.tok, overwrite=True,
                      on_log=on_log, save_model=False)
            total = time.perf_counter() - t
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            self.add(name, what, error=f"{type(e).__name__}: {e}"[:300])
            return
        finally:
            sft.CUDA_PAD_MULTIPLE = old
        # tokens of step i = its logged tokens/s x the time since the previous log (the same window)
        steps = []
        for (s0, t0, _, e0), (s1, t1, tps1, e1) in zip(marks, marks[1:]):
            steps.append((s1, t1 - t0, tps1 * (e1 - e0)))
        meas = [x for x in steps if x[0] > a.warmup]
        if not meas:
            self.add(name, what, error=f"no measured steps ({len(marks)} logs)")
            return
        secs = sum(x[1] for x in meas)
        toks = sum(x[2] for x in meas)
        per = [x[2] / max(x[1], 1e-9) for x in meas]
        tps = toks / secs
        self.add(name, what, tokens_per_second=tps, mfu_6n=6 * self.n_params * tps / PEAK_BF16, wall_s=secs,
                 step_ms=[round(1e3 * x[1], 2) for x in meas], per_step_tokens_per_second=[round(x) for x in per],
                 range=f"{min(per):,.0f}-{max(per):,.0f}", peak_gib=self.peak(), train_call_s=total,
                 train_result_tokens_per_second=r.tokens_per_second,
                 notes=f"train() {total:.1f} s for {r.steps} steps incl. set-up; CUDA_PAD_MULTIPLE={pad_multiple}")

    # -- generation ----------------------------------------------------------------------------
    def gen_setup(self):
        torch = self.torch
        self.free()
        self.gm = copy.deepcopy(self.m32).to(torch.bfloat16 if self.cuda else torch.float32)
        self.gm.config.use_cache = True
        getattr(self.gm, "activation_checkpointing_disable", self.gm.gradient_checkpointing_disable)()
        self.gm.eval()
        rng = random.Random(3)
        self.problems = [f"Problem {i}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 200)))
                         for i in range(self.args.gen_batch)]

    def gen_eval(self, name: str, what: str, avoid_cudnn: bool) -> None:
        if self.skip(name, what, 25 if self.cuda else 5):
            return
        import dlcot.eval as ev
        from dlcot.eval import GenerateConfig, generate

        a = self.args
        old = ev.AVOID_CUDNN_SDPA
        ev.AVOID_CUDNN_SDPA = avoid_cudnn
        sdpa: list = []
        try:
            generate(self.gm, self.problems[:4], GenerateConfig(max_new_tokens=8, batch_size=4, engine="transformers"), tokenizer=self.tok)
            if self.cuda:
                self.torch.cuda.reset_peak_memory_stats()
            with self.record_sdpa(sdpa, decode_only=True):
                g = generate(self.gm, self.problems, GenerateConfig(max_new_tokens=a.gen_tokens, batch_size=a.gen_batch,
                                                                    engine="transformers", ignore_eos=True), tokenizer=self.tok)
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            self.add(name, what, error=f"{type(e).__name__}: {e}"[:300])
            return
        finally:
            ev.AVOID_CUDNN_SDPA = old
        n = sum(sum(t) for t in g.new_tokens)
        self.add(name, what, tokens_per_second=n / g.seconds, seconds=g.seconds, generated_tokens=n, peak_gib=self.peak(),
                 sdpa=sdpa[0] if sdpa else {},
                 notes=f"{len(self.problems)} x {a.gen_tokens} new tokens, {g.prompt_tokens} prompt tokens" + _sdpa_note(sdpa, "decode "))

    def gen_static(self, name: str, what: str, compile_: bool) -> None:
        torch = self.torch
        if self.skip(name, what, (60 if compile_ else 25) if self.cuda else 5):
            return
        from dlcot.eval import GenerateConfig, _prompts

        a = self.args
        tok = self.tok
        texts = _prompts(tok, self.problems, GenerateConfig(engine="transformers"))
        enc = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        w = max(map(len, enc))
        pad = tok.pad_token_id
        ids = torch.full((len(enc), w), pad, dtype=torch.long)
        mask = torch.zeros((len(enc), w), dtype=torch.long)
        for i, e in enumerate(enc):
            ids[i, w - len(e):] = torch.tensor(e)
            mask[i, w - len(e):] = 1
        ids, mask = ids.to(self.dev), mask.to(self.dev)
        kw = dict(max_new_tokens=a.gen_tokens, min_new_tokens=a.gen_tokens, do_sample=False, cache_implementation="static",
                  pad_token_id=pad, disable_compile=not compile_)
        try:
            with torch.inference_mode():
                self.gm.generate(input_ids=ids[:4], attention_mask=mask[:4], **(kw | {"max_new_tokens": 8, "min_new_tokens": 8}))
                if compile_:  # the compiled graph is for the full batch; compile it outside the timing
                    self.gm.generate(input_ids=ids, attention_mask=mask, **(kw | {"max_new_tokens": 8, "min_new_tokens": 8}))
                self.sync()
                if self.cuda:
                    torch.cuda.reset_peak_memory_stats()
                t = time.perf_counter()
                out = self.gm.generate(input_ids=ids, attention_mask=mask, **kw)
                self.sync()
                secs = time.perf_counter() - t
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            self.add(name, what, error=f"{type(e).__name__}: {e}"[:300])
            return
        n = (out.shape[1] - w) * out.shape[0]
        self.add(name, what, tokens_per_second=n / secs, seconds=secs, generated_tokens=n, peak_gib=self.peak(),
                 notes=f"{out.shape[0]} x {out.shape[1] - w} new tokens")

    # -- all -----------------------------------------------------------------------------------
    def run(self) -> None:
        torch = self.torch
        from torch.nn.attention import SDPBackend

        nocudnn = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
        self.setup()
        self.pairs = self.synthetic_pairs()
        m16 = copy.deepcopy(self.m32).to(torch.bfloat16)
        self.train_variant("a", "plain loop, bf16 weights, no mask (ceiling)", m16, self.plain, self.plain_tokens,
                           autocast=False, kernels=True)
        self.train_variant("e", "(a) with bf16 logits + F.cross_entropy (no fp32 upcast)", m16, self.plain,
                           self.plain_tokens, autocast=False, loss="bf16")
        del m16
        self.free()
        self.train_variant("b", "fp32 weights + autocast bf16, no mask", self.m32, self.plain, self.plain_tokens, autocast=True)
        self.train_variant("c-var", "(b) + packed rows of varying length (old collator)", self.m32, self.packed_var,
                           self.real, autocast=True, kernels=True)
        self.train_variant("c-static", "(b) + packed rows padded to 4,096 (collator on CUDA now)", self.m32,
                           self.packed_static, self.real, autocast=True, kernels=True)
        self.train_variant("c-var-nocudnn", "(c-var) with the cuDNN SDPA backend off", self.m32, self.packed_var,
                           self.real, autocast=True, backends=nocudnn, kernels=True)
        self.train_variant("c-static-bf16", "(a) bf16 weights + packed rows padded to 4,096", *self._bf16_static(), autocast=False)
        self.sft_variant("f-new", "dlcot.sft.train (Trainer), packed, static shapes (now)", 128)
        self.sft_variant("f-old", "dlcot.sft.train (Trainer), packed, varying shapes (before)", 1)
        self.gen_setup()
        self.gen_eval("g-new", "dlcot.eval.generate, cuDNN SDPA off (now)", True)
        self.gen_eval("g-old", "dlcot.eval.generate, default SDPA backends (before)", False)
        self.gen_static("g-static", "model.generate, cache_implementation=static, no compile", False)
        self.flex_variant()
        if self.args.gen_compile:
            self.gen_static("g-static-compile", "model.generate, static cache + transformers auto-compile", True)

    def _bf16_static(self):
        # shares (a)'s settings, on a fresh bf16 copy (the fp32 model stays for f)
        m = copy.deepcopy(self.m32).to(self.torch.bfloat16)
        return m, self.packed_static, self.real

    def report(self) -> str:
        torch = self.torch
        import transformers

        dev = torch.cuda.get_device_name(0) if self.cuda else "cpu (smoke test: numbers mean nothing)"
        lines = [
            f"Device: {dev}; torch {torch.__version__}, transformers {transformers.__version__}; "
            f"Qwen2 0.5B shape ({self.n_params / 1e6:.0f}M parameters), seq len {self.L}, batch 1, "
            f"{self.args.steps} timed steps after {self.args.warmup} warm-up; MFU = 6N x tokens/s / {PEAK_BF16 / 1e12:.0f} TFLOP/s; "
            f"{time.perf_counter() - self.t0:.0f} s in all.",
            "",
            "| variant | what | tokens/s | MFU (6N) | peak GiB | per-step tokens/s | notes |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for r in self.rows:
            tps = r.get("tokens_per_second")
            if tps is None:
                lines.append(f"| {r['variant']} | {r['what']} | {r.get('error') or r.get('skipped')} | | | | |")
                continue
            mfu = f"{100 * r['mfu_6n']:.1f}%" if r.get("mfu_6n") is not None else "-"
            peak = f"{r['peak_gib']:.1f}" if r.get("peak_gib") is not None else "-"
            notes = r.get("notes", "")
            if r.get("kernels"):
                notes += "; kernels: " + ", ".join(r["kernels"][:3])
            lines.append(f"| {r['variant']} | {r['what']} | {tps:,.0f} | {mfu} | {peak} | {r.get('range', '-')} | {notes} |")
        return "\n".join(lines) + "\n"


def _sdpa_note(sdpa: list, what: str = "") -> str:
    if not sdpa:
        return ""
    s = sdpa[0]
    return (f"; {what}sdpa: q={s.get('q')}, mask={s.get('mask')}, causal={s.get('is_causal')}, gqa={s.get('enable_gqa')}, "
            f"backend={s.get('backend')}")


def zlib_hash(n: int) -> int:
    import zlib

    return zlib.crc32(str(n).encode())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("output", help="directory for probe.md and probe.json")
    ap.add_argument("--budget", type=float, default=140.0, help="seconds; the remaining variants are skipped past it (default 140)")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=4096)
    ap.add_argument("--examples", type=int, default=120, help="example lengths drawn for packing (default 120)")
    ap.add_argument("--gen-batch", type=int, default=32)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--gen-compile", action="store_true",
                    help="also time model.generate with a static cache and transformers' auto-compile (compiles: slow)")
    ap.add_argument("--no-kernels", action="store_true", help="do not profile attention kernel names")
    ap.add_argument("--flex-on-cpu", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--smoke", action="store_true", help="tiny model on CPU in < 60 s: checks the script, measures nothing")
    args = ap.parse_args(argv)
    import torch

    if not torch.cuda.is_available() and not args.smoke:
        print("gpu_mfu_probe: no CUDA GPU here; nothing measured (run it on a machine with one, or use --smoke)")
        return 0
    if args.smoke:
        args.seq_len, args.steps, args.warmup, args.examples = 128, 1, 1, 16
        args.gen_batch, args.gen_tokens = 4, 8
        torch.set_num_threads(2)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    p = Probe(args)
    print(f"gpu_mfu_probe: {'smoke test on CPU' if args.smoke else torch.cuda.get_device_name(0)}; torch {torch.__version__}; "
          f"python {platform.python_version()}", flush=True)
    try:
        p.run()
    finally:
        md = p.report() if hasattr(p, "n_params") else "no results\n"
        (out / "probe.md").write_text(md, encoding="utf-8")
        (out / "probe.json").write_text(json.dumps({"args": vars(args), "rows": p.rows, "total_s": time.perf_counter() - p.t0},
                                                   indent=1, default=str) + "\n", encoding="utf-8")
        print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
