"""The model commands of the ``dlcot`` command line: ``train``, ``eval`` and ``score``.

* ``dlcot train --data OUTDIR/sft.jsonl --model PATH --output DIR``: fine-tune a student on
  dlcot's SFT data (:mod:`dlcot.sft`; needs ``dlcot[gpu]``).
* ``dlcot eval --model PATH --bench FILE.jsonl [...] -o DIR [--compare PATH2]``: generate on
  benchmark problems and score the responses (:mod:`dlcot.eval`; needs ``dlcot[gpu]``).
* ``dlcot score GENERATIONS.jsonl --bench FILE.jsonl``: score generations that any engine
  wrote (:mod:`dlcot.score`; core install, no GPU).

:func:`register` adds them to the parser of :mod:`dlcot.cli`. Heavy modules are imported
inside the commands, so ``dlcot --help`` and the other commands stay light.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_FAILURE = 1


def _console(stderr: bool = True):
    from dlcot.cli import _console as console  # the same console as every other command

    return console(stderr)


def _error(msg: str) -> int:
    from rich.markup import escape

    _console().print(f"[red]error:[/] {escape(msg)}")
    return EXIT_FAILURE


def _positive_int(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _fmt(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


# ---------------------------------------------------------------------------------------------
# score


def cmd_score(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from dlcot.io import LayoutError
    from dlcot.score import read_benchmark, score_generations

    for path in args.inputs:
        if path == "-":
            return _error("score reads each generation file twice (layout, then records); give a file, not - (stdin)")
        if not os.path.exists(path):
            raise FileNotFoundError(path)
    benches = []
    for path in args.bench or []:
        if not os.path.exists(path):
            raise FileNotFoundError(path)
        try:
            benches.append(read_benchmark(path, problem_field=args.bench_problem_field, answer_field=args.bench_answer_field))
        except ValueError as e:
            return _error(str(e))
    from dlcot.cli import reader_options_of

    reader_options = reader_options_of(args)
    try:
        scores = score_generations(
            args.inputs,
            benches or None,
            tokenizer=args.tokenizer,
            symbolic=not args.no_symbolic,
            timeout=args.timeout,
            reader_options=reader_options,
            num_threads=args.num_threads,
        )
    except (ValueError, FileNotFoundError) as e:
        if isinstance(e, LayoutError):
            raise
        return _error(str(e))
    out = args.output or str(Path(args.inputs[0]).with_name(_stem(args.inputs[0]) + ".scores.json"))
    scores.write_json(out)
    _console(stderr=False).print(scores.table(title=f"dlcot score: {', '.join(Path(p).name for p in args.inputs)}"))
    console = _console()
    n = len(scores.samples)
    why = ", ".join(f"{k} {v:,}" for k, v in _reasons(scores.unmatched).items()) or "none"
    rej = ", ".join(f"{k} {v:,}" for k, v in _reasons(scores.rejects).items()) or "none"
    how = ", ".join(f"{k} {v:,}" for k, v in scores.matched_by.items()) or "none"
    console.print(
        f"[bold]score[/]: {n + len(scores.unmatched) + len(scores.rejects):,} generations = scored {n:,} "
        f"(matched by {how}) + unmatched {len(scores.unmatched):,} ({why}) + rejected {len(scores.rejects):,} ({rej}); "
        f"layouts: {', '.join(f'{k} {v:,}' for k, v in scores.layouts.items()) or 'none'}; "
        f"{scores.unit} by {scores.tokenizer or 'character count'}. JSON: {escape(out)}"
    )
    if scores.unmatched:
        first = scores.unmatched[0]
        console.print(
            f"[yellow]note:[/] {len(scores.unmatched):,} generations were not scored (listed under \"unmatched\" in the JSON); "
            f"the first: {escape(first['source'])} record {first['index']} ({first['reason']}): {escape(first['problem'][:80])!r}"
        )
    if n == 0:
        return _error("no generation could be scored: check that --bench is the benchmark the generations answer "
                      "(problems are matched by text, else by id or position)")
    return 0


def _reasons(rows: list) -> dict:
    from collections import Counter

    return dict(Counter(r["reason"] for r in rows).most_common())


def _stem(path: str) -> str:
    from dlcot.score import _stem as stem

    return stem(path)


# ---------------------------------------------------------------------------------------------
# train


def cmd_train(args: argparse.Namespace) -> int:
    from rich.markup import escape

    console = _console()
    if not os.path.exists(args.data):
        raise FileNotFoundError(args.data)
    if args.resume and args.overwrite:
        return _error("--resume and --overwrite exclude each other")
    try:
        from dlcot.sft import TrainConfig, train

        cfg = TrainConfig(
            epochs=args.epochs,
            max_steps=args.max_steps,
            learning_rate=args.lr,
            warmup_ratio=args.warmup_ratio,
            weight_decay=args.weight_decay,
            lr_scheduler=args.lr_scheduler,
            batch_size=args.batch_size,
            grad_accum=args.grad_accum,
            max_length=args.max_length,
            truncation=args.truncation,
            packing=args.packing,
            bf16=args.bf16,
            gradient_checkpointing=args.gradient_checkpointing,
            attn_implementation=args.attn,
            system=args.system,
            logging_steps=args.logging_steps,
            save_steps=args.save_steps,
            save_total_limit=args.save_total_limit,
            seed=args.seed,
            backend=args.backend,
        )
    except ValueError as e:
        return _error(str(e))

    def on_log(rec: dict) -> None:
        console.print(
            f"step {rec['step']:,}/{rec['max_steps']:,} (epoch {rec['epoch']:.2f})  loss [bold]{_fmt(rec['loss'], 4)}[/]  "
            f"lr {_fmt(rec['learning_rate'])}  grad-norm {_fmt(rec['grad_norm'])}  {rec['tokens_per_second']:,.0f} tokens/s  "
            f"{rec['elapsed_s']:,.0f} s"
        )

    console.print(f"[bold]train[/]: {escape(args.model)} on {escape(args.data)} -> {escape(args.output)}")
    try:
        result = train(args.data, args.model, args.output, cfg, resume=args.resume, overwrite=args.overwrite, on_log=on_log)
    except ImportError as e:
        return _error(str(e))
    except ValueError as e:
        return _error(str(e))
    except OSError as e:  # a model path transformers cannot load
        return _error(f"cannot load the model or write the output: {e}")
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]: checkpoints are in {escape(args.output)}; continue with --resume")
        return 130
    first = result.losses[0][1] if result.losses else None
    last = result.losses[-1][1] if result.losses else None
    console.print(
        f"[bold]train[/]: {result.examples:,} examples ({result.truncated:,} truncated, {result.dropped:,} dropped; "
        f"{result.tokens:,} tokens, {result.assistant_tokens:,} with a loss), {result.steps:,} steps"
        + (f" (resumed from {escape(Path(result.resumed_from).name)})" if result.resumed_from else "")
        + f", loss {_fmt(first, 4)} -> {_fmt(last, 4)}, {result.seconds:,.1f} s, {result.tokens_per_second:,.0f} tokens/s "
        f"({result.backend}). Model: {escape(result.output)}"
    )
    return 0


# ---------------------------------------------------------------------------------------------
# eval


def cmd_eval(args: argparse.Namespace) -> int:
    from rich.markup import escape

    console = _console()
    for path in args.bench:
        if not os.path.exists(path):
            raise FileNotFoundError(path)
    try:
        from dlcot.eval import GenerateConfig, compare, evaluate
        from dlcot.score import read_benchmark

        cfg = GenerateConfig(
            max_new_tokens=args.max_new_tokens,
            temperature=args.temperature,
            top_p=args.top_p,
            num_samples=args.num_samples,
            batch_size=args.batch_size,
            engine=args.engine,
            instruction=args.instruction,
            system=args.system,
            dtype=args.dtype,
            seed=args.seed,
        )
        benches = [read_benchmark(p, problem_field=args.bench_problem_field, answer_field=args.bench_answer_field) for p in args.bench]
    except ValueError as e:
        return _error(str(e))
    models = [(args.model, args.name)] + ([(args.compare, args.compare_name)] if args.compare else [])
    names = [n or Path(m).resolve().name for m, n in models]
    if len(names) == 2 and names[0] == names[1]:
        names = [names[0] + "-a", names[1] + "-b"] if not (args.name or args.compare_name) else names
    results = []
    progress = None
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console)
        progress.start()
    try:
        for (model, _), name in zip(models, names):
            out = Path(args.output) / name if args.compare else Path(args.output)

            def on_batch(_: str, done: int, total: int, _name=name, tasks: dict = {}) -> None:  # noqa: B006 (one per model)
                if progress is None:
                    return
                if "task" not in tasks:
                    tasks["task"] = progress.add_task(f"{_name}: generating", total=total)
                progress.update(tasks["task"], completed=done)

            try:
                r = evaluate(model, benches, out, cfg, limit=args.limit, name=name, score_tokenizer=args.tokenizer,
                             symbolic=not args.no_symbolic, on_batch=on_batch)
            except ImportError as e:
                return _error(str(e))
            except ValueError as e:
                return _error(str(e))
            except OSError as e:
                return _error(f"cannot load the model {model}: {e}")
            results.append(r)
    finally:
        if progress is not None:
            progress.stop()
    stdout = _console(stderr=False)
    if len(results) > 1:
        table, png = compare(results, args.output, title="dlcot eval: " + " vs ".join(r.name for r in results))
        stdout.print(table)
        where = f"compare.json and {escape(png)}"
    else:
        stdout.print(results[0].scores.table(title=f"dlcot eval: {results[0].name}"))
        where = escape(str(Path(args.output) / "eval.json"))
    for r in results:
        console.print(
            f"[bold]eval[/] {escape(r.name)}: {sum(b['samples'] for b in r.scores.benchmarks.values()):,} responses, "
            f"{r.new_tokens:,} tokens generated in {r.seconds:,.1f} s ({r.tokens_per_second:,.0f} tokens/s, {r.engine})"
        )
    console.print(f"[bold]eval[/]: outputs in {escape(args.output)}: per model eval.json and <bench>.generations.jsonl; {where}")
    return 0


# ---------------------------------------------------------------------------------------------


def register(sub) -> None:
    """Adds ``train``, ``eval`` and ``score`` to dlcot's subcommands."""
    from dlcot.cli import _add_input_args, _threads

    sc = sub.add_parser("score", help="score generations of any engine against a benchmark (accuracy, tokens, overthinking metrics)")
    _add_input_args(sc, many=True)
    sc.add_argument("--bench", nargs="+", metavar="FILE", help="benchmark files (JSONL/JSON/Parquet with problem and answer fields); "
                    "default: each generation's own reference answer")
    sc.add_argument("--bench-problem-field", metavar="PATH", help="benchmark problem field (default: problem, question, ...)")
    sc.add_argument("--bench-answer-field", metavar="PATH", help="benchmark answer field (default: answer, ...)")
    sc.add_argument("-o", "--output", metavar="OUT.json", help="JSON output (default: GENERATIONS.scores.json)")
    sc.add_argument("--tokenizer", help="tokenizer.json for token counts (default: the bundled DeepSeek-R1-Distill-Qwen tokenizer; 'none': chars)")
    sc.add_argument("--no-symbolic", action="store_true", help="do not settle undecided answers with math-verify")
    sc.add_argument("--timeout", type=float, default=5.0, help="seconds per answer for math-verify (default 5)")
    sc.add_argument("--num-threads", type=_threads, default=None, help="threads (default: DLCOT_NUM_THREADS or all cores)")
    sc.set_defaults(func=cmd_score)

    t = sub.add_parser("train", help="fine-tune a student model on SFT data (needs dlcot[gpu])")
    t.add_argument("--data", required=True, metavar="SFT.jsonl", help="SFT data: OUTDIR/sft.jsonl of dlcot run (any format), or any trace file")
    t.add_argument("--model", required=True, metavar="PATH", help="model directory (or a hub name in the local cache)")
    t.add_argument("--output", "-o", required=True, metavar="DIR", help="output directory: checkpoints, train_log.jsonl, the final model")
    t.add_argument("--epochs", type=float, default=3.0, help="passes over the data (default 3)")
    t.add_argument("--max-steps", type=_positive_int, default=None, help="optimizer steps (overrides --epochs)")
    t.add_argument("--lr", type=float, default=1e-5, help="peak learning rate (default 1e-5)")
    t.add_argument("--lr-scheduler", default="cosine", help="learning-rate schedule (default cosine)")
    t.add_argument("--warmup-ratio", type=float, default=0.05, help="share of steps warming up (default 0.05)")
    t.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay (default 1e-4)")
    t.add_argument("--batch-size", type=_positive_int, default=1, help="sequences per device per step (default 1)")
    t.add_argument("--grad-accum", type=_positive_int, default=16, help="gradient accumulation steps (default 16)")
    t.add_argument("--max-length", type=_positive_int, default=16384, help="tokens per sequence (default 16384)")
    t.add_argument("--truncation", choices=("truncate", "drop"), default="truncate", help="longer examples: cut the end (default) or drop")
    t.add_argument("--packing", action="store_true", help="pack several examples per sequence (attention kept per example)")
    t.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None, help="bf16 autocast (default: on a GPU)")
    t.add_argument("--gradient-checkpointing", action=argparse.BooleanOptionalAction, default=None, help="(default: on a GPU)")
    t.add_argument("--attn", default=None, help="attention implementation: sdpa (default), flash_attention_2, eager")
    t.add_argument("--system", help="system prompt before every problem")
    t.add_argument("--logging-steps", type=_positive_int, default=10, help="log every N steps (default 10)")
    t.add_argument("--save-steps", type=_positive_int, default=100, help="checkpoint every N steps (default 100)")
    t.add_argument("--save-total-limit", type=_positive_int, default=2, help="checkpoints kept (default 2)")
    t.add_argument("--seed", type=int, default=42, help="seed (default 42)")
    t.add_argument("--backend", choices=("auto", "trl", "transformers"), default="auto", help="trainer: TRL's SFTTrainer if installed (auto), or transformers' Trainer")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="continue from the last checkpoint in DIR")
    g.add_argument("--overwrite", action="store_true", help="start afresh even if DIR holds checkpoints")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="generate on benchmarks and score (needs dlcot[gpu]); --compare two models")
    e.add_argument("--model", required=True, metavar="PATH", help="model directory")
    e.add_argument("--compare", metavar="PATH", help="a second model, in the same table and plot")
    e.add_argument("--bench", nargs="+", required=True, metavar="FILE", help="benchmark files (problem and answer fields)")
    e.add_argument("--bench-problem-field", metavar="PATH", help="benchmark problem field (default: problem, question, ...)")
    e.add_argument("--bench-answer-field", metavar="PATH", help="benchmark answer field (default: answer, ...)")
    e.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory")
    e.add_argument("--limit", type=_positive_int, default=None, help="only the first N problems of each benchmark")
    e.add_argument("--max-new-tokens", type=_positive_int, default=32768, help="longest response (default 32768)")
    e.add_argument("--temperature", type=float, default=0.0, help="0: greedy (default); else sampling")
    e.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling threshold (default 1.0)")
    e.add_argument("--num-samples", type=_positive_int, default=1, help="responses per problem (needs --temperature > 0); pass@k")
    e.add_argument("--batch-size", type=_positive_int, default=32, help="prompts per generate call (transformers; default 32)")
    e.add_argument("--engine", choices=("auto", "transformers", "vllm"), default="auto", help="vLLM when installed with a GPU (auto)")
    e.add_argument("--instruction", help="a line appended to every problem, e.g. 'Please reason step by step, and put your final answer within \\boxed{}.'")
    e.add_argument("--system", help="system prompt")
    e.add_argument("--dtype", choices=("auto", "bfloat16", "float16", "float32"), default="auto", help="(default: bf16 on a GPU, fp32 on CPU)")
    e.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    e.add_argument("--tokenizer", help="tokenizer.json for response token counts (default: the bundled one, the same for both models)")
    e.add_argument("--no-symbolic", action="store_true", help="do not settle undecided answers with math-verify")
    e.add_argument("--name", help="name of --model in tables (default: its directory name)")
    e.add_argument("--compare-name", help="name of --compare in tables")
    e.set_defaults(func=cmd_eval)
