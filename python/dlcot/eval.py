"""Evaluating a student: generate on benchmark problems, then score (``dlcot eval``).

:func:`evaluate` puts every benchmark problem in the model's chat template as the user turn
(as ``sft.jsonl`` does; ``instruction`` appends a line such as "Please reason step by step,
and put your final answer within \\boxed{}."), generates with vLLM when it is installed and a
GPU is present, else with transformers' ``generate`` (batched, left-padded, greedy unless a
temperature is given), writes one generations file per benchmark, and scores it with
:func:`dlcot.score.score_generations`, the scorer of ``dlcot score``. :func:`compare` does this
for several models and puts them in one table and one plot.

Response tokens are counted with the scorer's tokenizer (the bundled DeepSeek-R1-Distill-Qwen
one unless another is named), the same for every model, so that models with different
tokenizers compare; the model's own generated-token counts are kept in the generations files
and give the generation throughput.

Needs ``pip install 'dlcot[gpu]'``; vLLM is optional.

>>> from dlcot.eval import evaluate  # doctest: +SKIP
>>> r = evaluate("out/student", ["../shared/data/bench/math500.jsonl"], "out/eval")  # doctest: +SKIP
>>> r.scores.benchmarks["math500"]["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

from dlcot.score import Benchmark, Scores, comparison_plot, merge_scores, read_benchmark, score_generations

__all__ = ["EvalResult", "GenerateConfig", "Generated", "compare", "evaluate", "generate"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class GenerateConfig:
    """Options of :func:`generate`.

    Attributes:
        max_new_tokens: Longest response (long-CoT evaluations use 32,768).
        temperature: 0 for greedy decoding; else sampling at this temperature with ``top_p``.
        top_p: Nucleus sampling threshold (sampling only).
        num_samples: Responses per problem (needs a temperature > 0 when more than 1).
        batch_size: Prompts per ``generate`` call (transformers).
        engine: "auto" (vLLM if installed and a GPU is present, else transformers),
            "transformers" or "vllm".
        instruction: A line appended to every problem (None: the problem alone, as in
            ``sft.jsonl``).
        system: A system prompt (None: none).
        dtype: "auto" (bf16 on a GPU, fp32 on CPU), "bfloat16", "float16" or "float32".
        seed: Sampling seed.
        ignore_eos: Generate ``max_new_tokens`` whatever the model says (throughput tests).
    """

    max_new_tokens: int = 32768
    temperature: float = 0.0
    top_p: float = 1.0
    num_samples: int = 1
    batch_size: int = 32
    engine: str = "auto"
    instruction: Optional[str] = None
    system: Optional[str] = None
    dtype: str = "auto"
    seed: int = 0
    ignore_eos: bool = False

    def __post_init__(self) -> None:
        checks = [
            ("max_new_tokens", self.max_new_tokens >= 1),
            ("temperature", self.temperature >= 0),
            ("top_p", 0 < self.top_p <= 1),
            ("num_samples", self.num_samples >= 1),
            ("batch_size", self.batch_size >= 1),
            ("engine", self.engine in ("auto", "transformers", "vllm")),
            ("dtype", self.dtype in ("auto", "bfloat16", "float16", "float32")),
        ]
        for name, ok in checks:
            if not ok:
                raise ValueError(f"invalid `{name}`: {getattr(self, name)!r}")
        if self.num_samples > 1 and self.temperature == 0:
            raise ValueError("invalid `num_samples`: several samples need a `temperature` > 0 (greedy decoding gives one answer)")


@dataclass(frozen=True)
class Generated:
    """Responses of :func:`generate`: ``responses[i]`` and ``new_tokens[i]`` (the model's own
    token counts) hold ``num_samples`` entries for problem ``i``; ``finished[i][j]`` is False
    when the response hit ``max_new_tokens``."""

    responses: list
    new_tokens: list
    finished: list
    seconds: float
    engine: str
    prompt_tokens: int

    @property
    def tokens_per_second(self) -> float:
        """Generated tokens per second of generation."""
        return sum(sum(t) for t in self.new_tokens) / max(self.seconds, 1e-9)


def _need_gpu_extra(e: ImportError) -> ImportError:
    return ImportError(f"evaluation needs torch and transformers: pip install 'dlcot[gpu]' ({e})")


def _user_turn(problem: str, cfg: GenerateConfig) -> str:
    return problem if not cfg.instruction else f"{problem}\n{cfg.instruction}"


def _prompts(tokenizer, problems: Sequence[str], cfg: GenerateConfig) -> list[str]:
    from dlcot.sft import ensure_chat_template

    ensure_chat_template(tokenizer)
    out = []
    for p in problems:
        conv = ([{"role": "system", "content": cfg.system}] if cfg.system else []) + [{"role": "user", "content": _user_turn(p, cfg)}]
        out.append(tokenizer.apply_chat_template(conv, tokenize=False, add_generation_prompt=True))
    return out


def _stop_ids(tokenizer, generation_config) -> list[int]:
    from dlcot.sft import end_of_turn

    ids: list = []
    eos = getattr(generation_config, "eos_token_id", None) if generation_config is not None else None
    ids += eos if isinstance(eos, list) else [eos]
    ids.append(tokenizer.eos_token_id)
    eot = end_of_turn(tokenizer)
    if eot is not None:
        ids.append(tokenizer.convert_tokens_to_ids(eot))
    return [i for i in dict.fromkeys(ids) if i is not None]


def _engine(cfg: GenerateConfig) -> str:
    if cfg.engine != "auto":
        return cfg.engine
    try:
        import torch
        import vllm  # noqa: F401
    except ImportError:
        return "transformers"
    return "vllm" if torch.cuda.is_available() else "transformers"


def generate(
    model: Union[PathLike, Any],
    problems: Sequence[str],
    config: Optional[GenerateConfig] = None,
    *,
    tokenizer: Any = None,
    on_batch: Optional[Callable[[int, int], None]] = None,
) -> Generated:
    """Responses of ``model`` to ``problems`` (see :class:`GenerateConfig`).

    Args:
        model: A model directory, or a loaded ``PreTrainedModel`` (with ``tokenizer``).
        problems: The problem texts (each becomes the user turn).
        config: The options.
        tokenizer: The tokenizer (default: the model's own).
        on_batch: Called with (problems done, problems in all) after each batch.
    """
    cfg = config or GenerateConfig()
    engine = _engine(cfg)
    if engine == "vllm":
        if not isinstance(model, (str, os.PathLike)):
            raise ValueError("engine 'vllm' needs a model directory, not a loaded model")
        return _generate_vllm(os.fspath(model), problems, cfg, on_batch)
    return _generate_hf(model, problems, cfg, tokenizer, on_batch)


def _load(model: Union[PathLike, Any], tokenizer: Any, cfg: GenerateConfig):
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise _need_gpu_extra(e) from e
    cuda = torch.cuda.is_available()
    dtype = {"auto": torch.bfloat16 if cuda else torch.float32, "bfloat16": torch.bfloat16,
             "float16": torch.float16, "float32": torch.float32}[cfg.dtype]
    if isinstance(model, (str, os.PathLike)):
        tok = tokenizer or AutoTokenizer.from_pretrained(os.fspath(model))
        lm = AutoModelForCausalLM.from_pretrained(os.fspath(model), dtype=dtype, attn_implementation="sdpa")
        lm.to("cuda" if cuda else "cpu")
    else:
        if tokenizer is None:
            raise ValueError("`tokenizer` is required when `model` is a loaded model")
        lm, tok = model, tokenizer
    lm.eval()
    return lm, tok


#: On a GPU, ``generate`` runs SDPA without the cuDNN backend. PyTorch >= 2.11 prefers cuDNN on
#: Hopper whenever it can serve a shape, and with a KV cache the key length grows by one token a
#: step (and a left-padded batch carries a mask), so cuDNN would build a new graph at every
#: decoding step; FlashAttention / memory-efficient attention have no such set-up cost. The
#: attention computed is the same. False: PyTorch's own choice.
AVOID_CUDNN_SDPA = True


def _sdpa_context(device):
    """The SDPA backend restriction for generation on ``device`` (a no-op off CUDA)."""
    import contextlib

    if not AVOID_CUDNN_SDPA or getattr(device, "type", None) != "cuda":
        return contextlib.nullcontext()
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:  # pragma: no cover - torch < 2.3
        return contextlib.nullcontext()
    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH])


def _generate_hf(model, problems, cfg: GenerateConfig, tokenizer, on_batch) -> Generated:
    import torch

    lm, tok = _load(model, tokenizer, cfg)
    texts = _prompts(tok, problems, cfg)
    stop = _stop_ids(tok, lm.generation_config)
    pad = tok.pad_token_id if tok.pad_token_id is not None else stop[0]
    encoded = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    # the generation options go on the model's own config: values left unset there would
    # otherwise be filled from it (a checkpoint's sampling defaults must not override greedy)
    gc = lm.generation_config
    gc.do_sample = cfg.temperature > 0
    gc.temperature = cfg.temperature if cfg.temperature > 0 else None
    gc.top_p = cfg.top_p if cfg.temperature > 0 else None
    gc.top_k = 0 if cfg.temperature > 0 else None
    gc.max_new_tokens = cfg.max_new_tokens
    gc.min_new_tokens = cfg.max_new_tokens if cfg.ignore_eos else None
    gc.num_return_sequences = cfg.num_samples
    gc.eos_token_id = stop
    gc.pad_token_id = pad
    gc.use_cache = True
    device = next(lm.parameters()).device
    order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
    responses: list = [None] * len(texts)
    counts: list = [None] * len(texts)
    finished: list = [None] * len(texts)
    stop_set = set(stop)
    if cfg.temperature > 0:
        torch.manual_seed(cfg.seed)
    done = 0
    t0 = time.perf_counter()
    for start in range(0, len(order), cfg.batch_size):
        batch = order[start : start + cfg.batch_size]
        width = max(len(encoded[i]) for i in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            n = len(encoded[i])
            ids[row, width - n :] = torch.tensor(encoded[i])
            mask[row, width - n :] = 1
        with torch.inference_mode(), _sdpa_context(device):
            out = lm.generate(input_ids=ids.to(device), attention_mask=mask.to(device))
        new = out[:, width:].tolist()
        for row, i in enumerate(batch):
            rs, cs, fs = [], [], []
            for s in range(cfg.num_samples):
                seq = new[row * cfg.num_samples + s]
                end = next((j for j, t in enumerate(seq) if t in stop_set), None)
                n = len(seq) if end is None else end + 1
                text_ids = seq[: n if end is None else end]
                rs.append(tok.decode(text_ids, skip_special_tokens=True))
                cs.append(n)
                fs.append(end is not None)
            responses[i], counts[i], finished[i] = rs, cs, fs
        done += len(batch)
        if on_batch is not None:
            on_batch(done, len(texts))
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    return Generated(responses, counts, finished, seconds, "transformers", sum(len(e) for e in encoded))


def _generate_vllm(model: str, problems, cfg: GenerateConfig, on_batch) -> Generated:  # pragma: no cover - needs vLLM + GPU
    from transformers import AutoTokenizer
    from vllm import LLM, SamplingParams

    tok = AutoTokenizer.from_pretrained(model)
    texts = _prompts(tok, problems, cfg)
    encoded = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    llm = LLM(model=model, dtype="auto" if cfg.dtype == "auto" else cfg.dtype, seed=cfg.seed)
    params = SamplingParams(
        n=cfg.num_samples,
        temperature=cfg.temperature,
        top_p=cfg.top_p if cfg.temperature > 0 else 1.0,
        max_tokens=cfg.max_new_tokens,
        seed=cfg.seed,
        ignore_eos=cfg.ignore_eos,
        stop_token_ids=_stop_ids(tok, None),
    )
    t0 = time.perf_counter()
    outs = llm.generate([{"prompt_token_ids": e} for e in encoded], params)
    seconds = time.perf_counter() - t0
    if on_batch is not None:
        on_batch(len(texts), len(texts))
    return Generated(
        [[o.text for o in out.outputs] for out in outs],
        [[len(o.token_ids) for o in out.outputs] for out in outs],
        [[o.finish_reason != "length" for o in out.outputs] for out in outs],
        seconds,
        "vllm",
        sum(len(e) for e in encoded),
    )


# ---------------------------------------------------------------------------------------------
# Evaluation


@dataclass(frozen=True)
class EvalResult:
    """What :func:`evaluate` did for one model.

    Attributes:
        name: The model's name in tables.
        model: Its path.
        scores: The :class:`~dlcot.score.Scores` over all benchmarks.
        generations: Benchmark name -> its generations file.
        seconds: Generation time; ``new_tokens``: tokens generated (the model's tokenizer);
            ``tokens_per_second``: their ratio; ``engine``: "transformers" or "vllm".
    """

    name: str
    model: str
    scores: Scores
    generations: dict
    seconds: float
    new_tokens: int
    tokens_per_second: float
    engine: str
    config: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "model": self.model,
            "engine": self.engine,
            "config": self.config,
            "generation_seconds": self.seconds,
            "new_tokens": self.new_tokens,
            "generation_tokens_per_second": self.tokens_per_second,
            "generations": self.generations,
            "scores": self.scores.to_dict(),
        }


def _model_name(model: Union[PathLike, Any]) -> str:
    if isinstance(model, (str, os.PathLike)):
        return Path(os.fspath(model)).resolve().name or os.fspath(model)
    return getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__


def evaluate(
    model: Union[PathLike, Any],
    bench: Union[PathLike, Benchmark, Sequence[Union[PathLike, Benchmark]]],
    output: PathLike,
    config: Optional[GenerateConfig] = None,
    *,
    tokenizer: Any = None,
    limit: Optional[int] = None,
    name: Optional[str] = None,
    score_tokenizer: Union[None, str, PathLike, Any] = None,
    symbolic: bool = True,
    on_batch: Optional[Callable[[str, int, int], None]] = None,
) -> EvalResult:
    """Generates on every benchmark's problems and scores the responses.

    Writes ``OUTPUT/<bench>.generations.jsonl`` (one line per problem: id, index, problem,
    answer, responses, new_tokens, finished) and ``OUTPUT/eval.json`` (scores, options,
    generation throughput).

    Args:
        model: A model directory, or a loaded model (with ``tokenizer``).
        bench: Benchmark files (any JSONL with problem/answer fields) or Benchmark objects.
        output: Output directory.
        config: Generation options.
        limit: Only the first ``limit`` problems of each benchmark.
        name: The model's name in tables (default: its directory name).
        score_tokenizer: The scorer's tokenizer (see :func:`~dlcot.score.score_generations`).
        symbolic: Let math-verify settle what the fast rules cannot.
        on_batch: Called with ("all", problems done, problems in all) after each batch (every
            benchmark's problems are generated in one call).
    """
    cfg = config or GenerateConfig()
    if limit is not None and limit < 1:
        raise ValueError(f"invalid `limit`: {limit}")
    benches = [bench] if isinstance(bench, (str, os.PathLike, Benchmark)) else list(bench)
    benches = [b if isinstance(b, Benchmark) else read_benchmark(b) for b in benches]
    benches = [Benchmark(b.name, b.path, b.items[:limit]) if limit else b for b in benches]
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    name = name or _model_name(model)
    # one generation call for every benchmark's problems: one model load, one vLLM engine, and
    # length-sorted batches across benchmarks
    problems = [it.problem for b in benches for it in b.items]
    cb = (lambda done, total: on_batch("all", done, total)) if on_batch else None
    g = generate(model, problems, cfg, tokenizer=tokenizer, on_batch=cb)
    files: dict[str, str] = {}
    at = 0
    for b in benches:
        path = out / f"{b.name}.generations.jsonl"
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for k, it in enumerate(b.items):
                f.write(json.dumps({
                    "id": it.id, "index": it.index, "problem": it.problem, "answer": it.answer,
                    "responses": g.responses[at + k], "new_tokens": g.new_tokens[at + k], "finished": g.finished[at + k],
                    "model": name,
                }, ensure_ascii=False) + "\n")
        at += len(b.items)
        os.replace(tmp, path)
        files[b.name] = str(path)
    seconds, new_tokens, engine = g.seconds, sum(sum(t) for t in g.new_tokens), g.engine
    # each benchmark's file against that benchmark alone (a problem may be in two benchmarks)
    from dlcot.tokens import TokenCounter, load_token_counter

    counter = score_tokenizer if isinstance(score_tokenizer, TokenCounter) else load_token_counter(score_tokenizer)
    scores = merge_scores([
        score_generations(files[b.name], b, tokenizer=counter if counter is not None else "none", symbolic=symbolic) for b in benches
    ])
    result = EvalResult(
        name=name,
        model=os.fspath(model) if isinstance(model, (str, os.PathLike)) else name,
        scores=scores,
        generations=files,
        seconds=seconds,
        new_tokens=new_tokens,
        tokens_per_second=new_tokens / max(seconds, 1e-9),
        engine=engine,
        config={k: getattr(cfg, k) for k in cfg.__dataclass_fields__} | {"limit": limit},
    )
    (out / "eval.json").write_text(json.dumps(result.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


def compare(results: Sequence[EvalResult], output: PathLike, *, title: str = "dlcot eval") -> tuple[Any, str]:
    """One table and one plot for several models' results: returns (rich Table, PNG path);
    writes ``OUTPUT/compare.json`` and ``OUTPUT/compare.png``."""
    from dlcot.score import comparison_table

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    named = [(r.name, r.scores) for r in results]
    png = out / "compare.png"
    comparison_plot(named, png, title=" vs ".join(r.name for r in results))
    summary = {
        "models": [{"name": r.name, "model": r.model, "generation_tokens_per_second": r.tokens_per_second,
                    "benchmarks": r.scores.benchmarks} for r in results],
    }
    (out / "compare.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return comparison_table(named, title=title), str(png)
