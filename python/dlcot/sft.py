"""Student training: supervised fine-tuning on dlcot's SFT data (``dlcot train``).

``train(data, model, output)`` fine-tunes a causal LM on ``OUTDIR/sft.jsonl`` (any of ``dlcot
run``'s formats: messages, sharegpt, prompt-completion, Parquet; or any file the reader
understands). Each record becomes one conversation in the model's own chat template, and the
loss is on the assistant turn only: the tokens of the rendered prompt are masked out, the
reasoning, the answer and the end-of-turn token are trained (:func:`encode`; a test checks
that the decoded labels are exactly the assistant turn).

Training is 🤗 transformers' ``Trainer``, or TRL's ``SFTTrainer`` when TRL is installed
(``backend="auto"``); both get the same tokenised examples and labels, so they optimise the
same loss. Batches are length-grouped, or packed (``packing=True``): several examples in one
row with position ids restarting at each, which transformers turns into a block-diagonal
attention mask (SDPA, eager) or variable-length kernels (flash attention), so examples never
attend to each other. On a GPU: bf16 autocast over fp32 weights, gradient checkpointing,
SDPA attention, batches padded to multiples of 128 tokens (packed rows to ``max_length``) so the
attention kernels see static shapes. Checkpoints every ``save_steps``; ``resume=True`` continues
from the last one (optimizer, scheduler, RNG and data position included). Every logging step
goes to ``OUTPUT/train_log.jsonl`` (loss, learning rate, gradient norm, tokens/s).

The defaults follow long-CoT distillation practice (s1, Sky-T1, LIMO, Bespoke-Stratos):
3 epochs, learning rate 1e-5 with 5% warm-up and cosine decay, AdamW (0.9, 0.95), weight decay
1e-4, an effective batch of 16 sequences, 16,384 tokens per sequence.

Needs ``pip install 'dlcot[gpu]'`` (torch, transformers, accelerate); TRL is optional.

>>> from dlcot.sft import train  # doctest: +SKIP
>>> train("out/sft.jsonl", "Qwen/Qwen2.5-1.5B-Instruct", "out/student")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

__all__ = ["CHATML_TEMPLATE", "TrainConfig", "TrainResult", "encode", "load_sft_data", "pack", "render", "train"]

PathLike = Union[str, "os.PathLike[str]"]

#: The chat template used for a tokenizer that has none (ChatML, as Qwen's).
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_SENTINEL = "\u2063dlcot-assistant-turn\u2063"


def _need_gpu_extra(e: ImportError) -> ImportError:
    return ImportError(f"training needs torch, transformers and accelerate: pip install 'dlcot[gpu]' ({e})")


@dataclass(frozen=True)
class TrainConfig:
    """Options of :func:`train` (the defaults follow long-CoT SFT practice).

    Attributes:
        epochs: Passes over the data (ignored when ``max_steps`` is set).
        max_steps: Optimizer steps to run (None: ``epochs``).
        learning_rate: Peak learning rate (warm-up, then cosine decay to 0).
        warmup_ratio: Share of the steps spent warming up.
        weight_decay, adam_beta1, adam_beta2, max_grad_norm: AdamW and clipping.
        batch_size: Sequences per device per forward pass.
        grad_accum: Forward passes per optimizer step.
        max_length: Longest sequence in tokens; longer examples are cut (``truncation``).
        truncation: "truncate" (keep the start) or "drop".
        packing: Pack several examples into each sequence of ``max_length`` tokens.
        bf16: bf16 autocast (None: on a GPU that supports it).
        gradient_checkpointing: Recompute activations in the backward pass (None: on a GPU).
        attn_implementation: "sdpa", "eager", "flash_attention_2", ... (None: sdpa).
        system: A system prompt put before every problem (None: none).
        logging_steps, save_steps, save_total_limit: Logging and checkpoint cadence
            (``save_steps=None``: no checkpoints, so nothing to resume from).
        seed: Seed of the data order and of the initialisation of new parameters.
        backend: "auto" (TRL's SFTTrainer when installed, else transformers' Trainer), "trl"
            or "transformers".
    """

    epochs: float = 3.0
    max_steps: Optional[int] = None
    learning_rate: float = 1e-5
    warmup_ratio: float = 0.05
    weight_decay: float = 1e-4
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    max_grad_norm: float = 1.0
    lr_scheduler: str = "cosine"
    batch_size: int = 1
    grad_accum: int = 16
    max_length: int = 16384
    truncation: str = "truncate"
    packing: bool = False
    bf16: Optional[bool] = None
    gradient_checkpointing: Optional[bool] = None
    attn_implementation: Optional[str] = None
    system: Optional[str] = None
    logging_steps: int = 10
    save_steps: Optional[int] = 100
    save_total_limit: Optional[int] = 2
    seed: int = 42
    backend: str = "auto"

    def __post_init__(self) -> None:
        checks = [
            ("epochs", self.epochs > 0),
            ("max_steps", self.max_steps is None or self.max_steps > 0),
            ("learning_rate", self.learning_rate > 0),
            ("warmup_ratio", 0 <= self.warmup_ratio < 1),
            ("batch_size", self.batch_size >= 1),
            ("grad_accum", self.grad_accum >= 1),
            ("max_length", self.max_length >= 8),
            ("truncation", self.truncation in ("truncate", "drop")),
            ("logging_steps", self.logging_steps >= 1),
            ("save_steps", self.save_steps is None or self.save_steps >= 1),
            ("backend", self.backend in ("auto", "trl", "transformers")),
        ]
        for name, ok in checks:
            if not ok:
                raise ValueError(f"invalid `{name}`: {getattr(self, name)!r}")


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` did.

    Attributes:
        output: Where the model, tokenizer, ``train_log.jsonl`` and ``dlcot_train.json`` are.
        examples: Examples trained on; ``truncated`` / ``dropped``: over ``max_length``.
        tokens: Tokens per epoch (all, and ``assistant_tokens`` with a loss).
        steps: Optimizer steps done (in total, when resumed).
        losses: (step, loss) at every logging step.
        seconds: Wall time of this call's training; ``tokens_per_second`` over it.
        backend: "trl" or "transformers".
        resumed_from: The checkpoint resumed from, or None.
    """

    output: str
    examples: int
    truncated: int
    dropped: int
    tokens: int
    assistant_tokens: int
    steps: int
    losses: list
    seconds: float
    tokens_per_second: float
    backend: str
    resumed_from: Optional[str]


# ---------------------------------------------------------------------------------------------
# Data


def load_sft_data(path: PathLike) -> list[tuple[str, str]]:
    """(problem, response) of every record of an SFT file (messages, sharegpt,
    prompt-completion, Parquet, or any layout :mod:`dlcot.io` reads).

    Raises:
        ValueError: The file holds no usable record.
    """
    from dlcot.io import Record, RecordReader

    out, bad = [], 0
    for r in RecordReader(path):
        if isinstance(r, Record) and r.problem and r.problem.strip():
            out.append((r.problem, r.response))
        else:
            bad += 1
    if not out:
        raise ValueError(f"{path} holds no (problem, response) records ({bad} unusable)")
    return out


def ensure_chat_template(tokenizer) -> bool:
    """Gives ``tokenizer`` the ChatML template (and its tokens) if it has no chat template;
    True when it did."""
    if getattr(tokenizer, "chat_template", None):
        return False
    missing = [t for t in ("<|im_start|>", "<|im_end|>") if t not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing})
    tokenizer.chat_template = CHATML_TEMPLATE
    return True


def _conversation(problem: str, system: Optional[str]) -> list[dict]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": problem}]


def render(tokenizer, problem: str, response: str, *, system: Optional[str] = None) -> tuple[str, str]:
    """(prompt, completion) texts of one example in the tokenizer's chat template.

    The prompt is the template with the generation prompt, exactly as generation sees it; the
    completion is the rest of the conversation: the assistant turn, verbatim, and its end of
    turn. The response is put in as a placeholder and substituted afterwards, because some
    templates (DeepSeek-R1's) drop the reasoning of assistant turns; and when the generation
    prompt already opens the reasoning (``<think>\\n``) the response's own opening tag is not
    repeated.
    """
    conv = _conversation(problem, system)
    prompt = tokenizer.apply_chat_template(conv, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(conv + [{"role": "assistant", "content": _SENTINEL}], tokenize=False)
    at = full.find(_SENTINEL)
    if at < 0:
        raise ValueError("the chat template drops the assistant turn's content")
    head, tail = full[:at], full[at + len(_SENTINEL):]
    lead = head[len(prompt):] if head.startswith(prompt) else ""
    for tag in ("<think>\n", "<think>"):
        if (prompt + lead).endswith(tag) and response.startswith(tag):
            response = response[len(tag):]
            break
    return prompt, lead + response + tail


def end_of_turn(tokenizer) -> Optional[str]:
    """The special token that ends an assistant turn in the chat template (``<|im_end|>``,
    ``<|eot_id|>``, ...), or None when the template ends the turn with none."""
    conv = [{"role": "user", "content": "x"}, {"role": "assistant", "content": _SENTINEL}]
    tail = tokenizer.apply_chat_template(conv, tokenize=False).split(_SENTINEL, 1)[-1]
    specials = set(tokenizer.all_special_tokens) | {
        t.content for t in (getattr(tokenizer, "added_tokens_decoder", {}) or {}).values() if getattr(t, "special", False)
    }
    hits = [(tail.find(t), -len(t), t) for t in specials if t and t in tail]
    return min(hits)[2] if hits else None


def encode(tokenizer, problem: str, response: str, *, max_length: int, system: Optional[str] = None,
           truncation: str = "truncate", append_eos: Optional[int] = None) -> Optional[dict]:
    """One training example: ``input_ids`` and ``labels`` (-100 on the prompt), or None when
    it is dropped (over ``max_length`` with ``truncation="drop"``, or a prompt that alone fills
    ``max_length``). ``truncated`` says whether the end was cut. ``append_eos``: a token id put
    after the completion, for templates whose assistant turn ends with no special token.

    Prompt and completion are tokenised apart, so the prompt's tokens are exactly those that
    generation starts from.
    """
    prompt, completion = render(tokenizer, problem, response, system=system)
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    c = tokenizer(completion, add_special_tokens=False)["input_ids"]
    if append_eos is not None:
        c = c + [append_eos]
    truncated = len(p) + len(c) > max_length
    if truncated and (truncation == "drop" or len(p) >= max_length):
        return None
    ids = (p + c)[:max_length]
    labels = ([-100] * len(p) + c)[:max_length]
    return {"input_ids": ids, "labels": labels, "truncated": truncated}


def pack(examples: Sequence[dict], max_length: int) -> list[dict]:
    """Packs examples into rows of at most ``max_length`` tokens, best-fit decreasing; each row
    has ``input_ids``, ``labels`` and ``position_ids`` that restart at 0 for each example."""
    order = sorted(range(len(examples)), key=lambda i: -len(examples[i]["input_ids"]))
    rows: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = len(examples[i]["input_ids"])
        best = -1
        for j, r in enumerate(room):
            if n <= r and (best < 0 or r < room[best]):
                best = j
        if best < 0:
            rows.append([i])
            room.append(max_length - n)
        else:
            rows[best].append(i)
            room[best] -= n
    out = []
    for row in rows:
        ids: list[int] = []
        labels: list[int] = []
        pos: list[int] = []
        for i in sorted(row):
            e = examples[i]
            ids += e["input_ids"]
            labels += e["labels"]
            pos += list(range(len(e["input_ids"])))
        out.append({"input_ids": ids, "labels": labels, "position_ids": pos})
    return out


#: On a GPU, batches are padded to a multiple of this many tokens and packed rows to the full
#: ``max_length`` (rounded up likewise), so that the attention kernels see few distinct shapes.
#: With a mask (packed rows, padding) PyTorch >= 2.11 runs SDPA on cuDNN on Hopper, which builds
#: a graph for every new sequence length (hundreds of ms, forward and backward): rows of varying
#: length made most steps pay for it. Padding never changes the loss (labels -100; a packed
#: row's padding is a separate dummy example) and multiples of 128 also keep clear of cuDNN's
#: masked-backward NaNs at lengths of 64 mod 128. 1: no extra padding (the CPU default).
CUDA_PAD_MULTIPLE = 128


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


class Collator:
    """Pads a batch on the right (labels with -100). Packed rows (with ``position_ids``) are
    padded with a separate dummy example instead of an attention mask, so the attention stays
    block-diagonal (transformers derives it from the position ids when there is no attention
    mask and no KV cache). Counts the real tokens it has batched (for tokens/s).

    ``pad_to_multiple_of`` rounds the padded width up; ``pad_packed_to`` pads packed batches to
    at least that width (static shapes on a GPU); neither changes the loss."""

    def __init__(self, pad_token_id: int, pad_to_multiple_of: int = 1, pad_packed_to: Optional[int] = None):
        self.pad = pad_token_id
        self.multiple = max(1, int(pad_to_multiple_of))
        self.pad_packed_to = pad_packed_to
        self.tokens = 0

    def __call__(self, batch: list[dict]) -> dict:
        import torch

        n = max(len(b["input_ids"]) for b in batch)
        packed = "position_ids" in batch[0]
        if packed and self.pad_packed_to:
            n = max(n, self.pad_packed_to)
        n = _round_up(n, self.multiple)
        ids = torch.full((len(batch), n), self.pad, dtype=torch.long)
        labels = torch.full((len(batch), n), -100, dtype=torch.long)
        out: dict = {}
        if packed:
            pos = torch.zeros((len(batch), n), dtype=torch.long)
        else:
            mask = torch.zeros((len(batch), n), dtype=torch.long)
        for i, b in enumerate(batch):
            k = len(b["input_ids"])
            ids[i, :k] = torch.tensor(b["input_ids"])
            labels[i, :k] = torch.tensor(b["labels"])
            if packed:
                pos[i, :k] = torch.tensor(b["position_ids"])
                pos[i, k:] = torch.arange(n - k)
            else:
                mask[i, :k] = 1
            self.tokens += k
        out["input_ids"], out["labels"] = ids, labels
        if packed:
            out["position_ids"] = pos
            # transformers reads packed rows from the position ids only without a KV cache
            out["use_cache"] = False
        else:
            out["attention_mask"] = mask
        return out


class _ListDataset:
    def __init__(self, rows: list[dict]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return self.rows[i]


# ---------------------------------------------------------------------------------------------
# Training


def _training_arguments(cls, **kw):
    """TrainingArguments (or SFTConfig) from ``kw``, across transformers versions: the
    length-grouped sampler and the warm-up ratio changed names in 5.x."""
    names = {f.name for f in dataclasses.fields(cls)}
    if kw.pop("group_by_length", False):
        if "train_sampling_strategy" in names:
            kw["train_sampling_strategy"] = "group_by_length"
        elif "group_by_length" in names:
            kw["group_by_length"] = True
    if "activation_checkpointing" in names:  # 5.2x: the new name of gradient checkpointing
        kw["activation_checkpointing"] = kw.pop("gradient_checkpointing", False)
        kw["activation_checkpointing_kwargs"] = kw.pop("gradient_checkpointing_kwargs", None)
    ratio = kw.pop("warmup_ratio", 0.0)
    if "warmup_ratio" in names:
        kw["warmup_ratio"] = ratio
    else:
        kw["warmup_steps"] = ratio  # a float < 1 is a ratio of the total steps
    unknown = [k for k in kw if k not in names]
    for k in unknown:
        kw.pop(k)
    return cls(**kw)


def _last_checkpoint(output: Path) -> Optional[str]:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(output)) if output.is_dir() else None


def train(
    data: Union[PathLike, Sequence[tuple[str, str]]],
    model: Union[PathLike, Any],
    output: PathLike,
    config: Optional[TrainConfig] = None,
    *,
    tokenizer: Any = None,
    resume: bool = False,
    overwrite: bool = False,
    on_log: Optional[Callable[[dict], None]] = None,
    stop_after: Optional[int] = None,
    save_model: bool = True,
) -> TrainResult:
    """Fine-tunes ``model`` on ``data``; saves the model and tokenizer to ``output``.

    Args:
        data: An SFT file, or (problem, response) pairs.
        model: A model directory (or hub name already in the local cache), or a loaded
            ``PreTrainedModel`` (then ``tokenizer`` is required).
        output: Directory for checkpoints, logs and the final model.
        config: The :class:`TrainConfig` (default: long-CoT defaults).
        tokenizer: A tokenizer (default: the model's own).
        resume: Continue from the last checkpoint in ``output``.
        overwrite: Start afresh even if ``output`` holds checkpoints.
        on_log: Called with each log record (dict with step, loss, learning_rate, ...).
        stop_after: Stop (with a checkpoint) after this many optimizer steps of this call, as an
            interruption would; for tests and time-boxed jobs.
        save_model: Save the final model and tokenizer to ``output`` (False: measurements).

    Raises:
        ImportError: torch/transformers/accelerate missing (or TRL, with ``backend="trl"``).
        ValueError: Bad data or options; ``output`` holds a run and neither ``resume`` nor
            ``overwrite`` is set; ``resume`` with nothing to resume.
    """
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise _need_gpu_extra(e) from e

    cfg = config or TrainConfig()
    out = Path(output)
    last = _last_checkpoint(out)
    if resume and last is None:
        raise ValueError(f"nothing to resume in {out}: no checkpoint-* directory")
    if last is not None and not resume and not overwrite:
        raise ValueError(
            f"{out} already holds a training run ({Path(last).name}); continue it with resume=True (--resume) "
            "or start again with overwrite=True (--overwrite)"
        )
    if overwrite and not resume and out.is_dir():
        import shutil

        for p in out.glob("checkpoint-*"):
            shutil.rmtree(p, ignore_errors=True)
        (out / "train_log.jsonl").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)

    backend = cfg.backend
    if backend in ("auto", "trl"):
        try:
            import trl  # noqa: F401

            backend = "trl"
        except ImportError as e:
            if cfg.backend == "trl":
                raise ImportError(f"backend='trl' needs TRL: pip install trl ({e})") from e
            backend = "transformers"

    if not os.isatty(2):
        transformers.utils.logging.disable_progress_bar()
    cuda = torch.cuda.is_available()
    bf16 = cfg.bf16 if cfg.bf16 is not None else (cuda and torch.cuda.is_bf16_supported())
    grad_ckpt = cfg.gradient_checkpointing if cfg.gradient_checkpointing is not None else cuda
    attn = cfg.attn_implementation or "sdpa"
    transformers.set_seed(cfg.seed)

    if isinstance(model, (str, os.PathLike)):
        model_name = os.fspath(model)
        tok = tokenizer or AutoTokenizer.from_pretrained(model_name)
        lm = AutoModelForCausalLM.from_pretrained(model_name, dtype=torch.float32, attn_implementation=attn)
    else:
        if tokenizer is None:
            raise ValueError("`tokenizer` is required when `model` is a loaded model")
        lm, tok = model, tokenizer
        model_name = getattr(lm.config, "_name_or_path", "") or type(lm).__name__
    if ensure_chat_template(tok):
        lm.resize_token_embeddings(len(tok))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    eot = end_of_turn(tok)
    append_eos = tok.eos_token_id if eot is None else None
    stop_ids = [i for i in dict.fromkeys([tok.convert_tokens_to_ids(eot) if eot else None, tok.eos_token_id]) if i is not None]
    lm.config.pad_token_id = tok.pad_token_id
    lm.config.use_cache = False
    if lm.generation_config is not None:
        lm.generation_config.eos_token_id = stop_ids if len(stop_ids) > 1 else stop_ids[0]
        lm.generation_config.pad_token_id = tok.pad_token_id

    pairs = load_sft_data(data) if isinstance(data, (str, os.PathLike)) else list(data)
    examples, truncated, dropped = [], 0, 0
    for problem, response in pairs:
        e = encode(tok, problem, response, max_length=cfg.max_length, system=cfg.system, truncation=cfg.truncation,
                   append_eos=append_eos)
        if e is None:
            dropped += 1
            continue
        truncated += e.pop("truncated")
        examples.append(e)
    if not examples:
        raise ValueError(f"no example fits in max_length={cfg.max_length} tokens")
    n_tokens = sum(len(e["input_ids"]) for e in examples)
    n_assistant = sum(sum(1 for x in e["labels"] if x != -100) for e in examples)
    rows = pack(examples, cfg.max_length) if cfg.packing else examples

    if cuda and CUDA_PAD_MULTIPLE > 1:  # static shapes for the attention kernels (see CUDA_PAD_MULTIPLE)
        collator = Collator(tok.pad_token_id, CUDA_PAD_MULTIPLE, cfg.max_length if cfg.packing else None)
    else:
        collator = Collator(tok.pad_token_id)
    t_start = time.perf_counter()
    log_path = out / "train_log.jsonl"
    losses: list = []

    class _Log(TrainerCallback):
        def __init__(self) -> None:
            self.t = time.perf_counter()
            self.tokens = 0
            self.steps_this_call = 0

        def on_step_end(self, args, state, control, **kw):
            self.steps_this_call += 1
            if stop_after is not None and self.steps_this_call >= stop_after:
                control.should_save = True
                control.should_training_stop = True
            return control

        def on_log(self, args, state, control, logs=None, **kw):
            logs = dict(logs or {})
            if "loss" not in logs:
                return
            now = time.perf_counter()
            rec = {
                "step": state.global_step,
                "max_steps": state.max_steps,
                "epoch": round(state.epoch or 0.0, 4),
                "loss": logs.get("loss"),
                "learning_rate": logs.get("learning_rate"),
                "grad_norm": logs.get("grad_norm"),
                "tokens_per_second": (collator.tokens - self.tokens) / max(now - self.t, 1e-9),
                "elapsed_s": now - t_start,
            }
            self.t, self.tokens = now, collator.tokens
            losses.append((rec["step"], rec["loss"]))
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
            if on_log is not None:
                on_log(rec)

    common = dict(
        output_dir=str(out),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps if cfg.max_steps is not None else -1,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_ratio=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay,
        adam_beta1=cfg.adam_beta1,
        adam_beta2=cfg.adam_beta2,
        max_grad_norm=cfg.max_grad_norm,
        bf16=bf16,
        gradient_checkpointing=grad_ckpt,
        gradient_checkpointing_kwargs={"use_reentrant": False} if grad_ckpt else None,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="steps" if cfg.save_steps is not None else "no",
        save_steps=cfg.save_steps or 500,
        save_total_limit=cfg.save_total_limit,
        report_to="none",
        disable_tqdm=True,
        seed=cfg.seed,
        data_seed=cfg.seed,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        use_cpu=not cuda,
        group_by_length=cfg.batch_size > 1 and not cfg.packing,
    )
    callbacks = [_Log()]
    if backend == "trl":
        from datasets import Dataset
        from trl import SFTConfig, SFTTrainer

        args = _training_arguments(
            SFTConfig, **common, max_length=cfg.max_length, packing=False, dataset_num_proc=None,
        )
        trainer = SFTTrainer(
            model=lm,
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tok,
            data_collator=collator,
            callbacks=callbacks,
        )
    else:
        from transformers import Trainer

        args = _training_arguments(transformers.TrainingArguments, **common)
        trainer = Trainer(
            model=lm,
            args=args,
            train_dataset=_ListDataset(rows),
            processing_class=tok,
            data_collator=collator,
            callbacks=callbacks,
        )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # log lines go to train_log.jsonl and on_log instead
    t0 = time.perf_counter()
    resumed_from = last if resume else None
    trainer.train(resume_from_checkpoint=resumed_from)
    seconds = time.perf_counter() - t0
    finished = stop_after is None or trainer.state.global_step >= trainer.state.max_steps
    if finished and save_model:
        lm.config.use_cache = True  # off for training only; generation wants the KV cache
        trainer.save_model(str(out))
        tok.save_pretrained(str(out))
        if lm.generation_config is not None:
            lm.generation_config.save_pretrained(str(out))
    result = TrainResult(
        output=str(out),
        examples=len(examples),
        truncated=truncated,
        dropped=dropped,
        tokens=n_tokens,
        assistant_tokens=n_assistant,
        steps=trainer.state.global_step,
        losses=losses,
        seconds=seconds,
        tokens_per_second=collator.tokens / max(seconds, 1e-9),
        backend=backend,
        resumed_from=resumed_from,
    )
    summary = dataclasses.asdict(result) | {
        "model": model_name,
        "finished": finished,
        "config": dataclasses.asdict(cfg),
        "bf16": bf16,
        "gradient_checkpointing": grad_ckpt,
        "attn_implementation": attn,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }
    (out / "dlcot_train.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return result
