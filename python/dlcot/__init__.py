"""dlcot: deconstruct long chain-of-thought traces into shorter, better distillation data.

The structure work (parsing, segmentation, answer extraction) runs in a Rust core; this package
is its public face. ``import dlcot`` is light: no torch, transformers, datasets or ray.

>>> import dlcot
>>> t = dlcot.parse("Okay, so I need 2+3.\\n\\n2 + 3 = 5.\\n</think>\\n\\nThe answer is \\\\boxed{5}.")
>>> t.final_answer
'5'
"""

from __future__ import annotations

from dlcot._core import (
    LSH,
    Check,
    Clusters,
    DlcotError,
    Edit,
    LSHQuery,
    MinHasher,
    NgramIndex,
    Pruned,
    Issue,
    Section,
    Solution,
    Trace,
    __version__,
    cue_lexicon,
    equivalent,
    equivalent_batch,
    extract_answer,
    extract_answer_batch,
    extract_reference,
    normalize_answer,
    parse,
    parse_batch,
    parse_batch_json,
    policies,
    prune,
    prune_batch,
    token_set_ratio,
)
from dlcot.dedup import Decontaminator, Match, dedup
from dlcot.pipeline import POLICY_NAMES as POLICIES
from dlcot.pipeline import Pipeline, Result
from dlcot.verification import first_correct, label_solutions, verify, verify_batch

__all__ = [
    "LSH",
    "Check",
    "Clusters",
    "Decontaminator",
    "DlcotError",
    "Edit",
    "LSHQuery",
    "Match",
    "MinHasher",
    "NgramIndex",
    "POLICIES",
    "Pipeline",
    "Pruned",
    "Result",
    "Scores",
    "Issue",
    "Section",
    "Solution",
    "Trace",
    "__version__",
    "cue_lexicon",
    "dedup",
    "equivalent",
    "equivalent_batch",
    "extract_answer",
    "extract_answer_batch",
    "extract_reference",
    "first_correct",
    "label_solutions",
    "normalize_answer",
    "parse",
    "parse_batch",
    "parse_batch_json",
    "policies",
    "prune",
    "prune_batch",
    "score_generations",
    "token_set_ratio",
    "verify",
    "verify_batch",
]


def __getattr__(name: str):
    # the scorer is imported on first use (``dlcot score``, benchmark suites), not by ``import dlcot``
    if name in ("score_generations", "Scores"):
        from dlcot import score

        return getattr(score, name)
    raise AttributeError(f"module 'dlcot' has no attribute {name!r}")
