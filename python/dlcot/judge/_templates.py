"""Prompt templates for the five judge tasks, and the parsers of their answers.

Every template has a ``version``; the cache key holds it and a hash of the rendered prompt, so
editing a template (or overriding it from a file) never serves a stale answer. A template is a
system text and a user text with ``{{field}}`` placeholders (plain replacement: braces, ``$`` and
LaTeX in the trace need no escaping). Each task's answer is one JSON object; the parsers take the
last JSON object in the reply (after any ``</think>``, inside or outside a code fence) and check
its fields. Anything else raises :class:`MalformedOutput`, which the caller records as an issue
and lets the rules decide.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Union

TASKS = ("segment", "correctness", "errors", "approach", "smooth")


class MalformedOutput(ValueError):
    """The judge's reply is not the JSON object the task asks for."""


@dataclass(frozen=True)
class Template:
    """One task's prompt.

    Attributes:
        task: One of ``TASKS``.
        version: Part of the cache key: change it (or the text) and cached answers are not reused.
        system: The system message ("" for none).
        user: The user message, with ``{{field}}`` placeholders.
        max_tokens: The reply budget.
    """

    task: str
    version: str
    system: str
    user: str
    max_tokens: int = 256

    def fields(self) -> list[str]:
        """The placeholders the user and system texts use."""
        return sorted(set(re.findall(r"\{\{(\w+)\}\}", self.system + self.user)))

    def render(self, **values: str) -> list[dict[str, str]]:
        """The chat messages with every ``{{field}}`` replaced (missing fields become "")."""

        def sub(text: str) -> str:
            return re.sub(r"\{\{(\w+)\}\}", lambda m: str(values.get(m.group(1), "")), text)

        msgs = [{"role": "system", "content": sub(self.system)}] if self.system else []
        msgs.append({"role": "user", "content": sub(self.user)})
        return msgs


_SYSTEM = (
    "You are a careful grader of mathematical reasoning. You read excerpts of a model's long "
    "chain of thought and answer with one JSON object only, no other text."
)

DEFAULT_TEMPLATES: dict[str, Template] = {
    "segment": Template(
        task="segment",
        version="segment-1",
        system=_SYSTEM,
        user=(
            "Problem:\n{{problem}}\n\n"
            "Reasoning so far (end of it):\n<<<\n{{before}}\n>>>\n\n"
            "Next passage:\n<<<\n{{unit}}\n>>>\n\n"
            "What is the next passage?\n"
            '- "solution": a new attempt at the problem (a different method, or a restart that '
            "solves it again);\n"
            '- "check": a verification of a result already reached (recomputing, substituting back, '
            "re-reading the problem to confirm);\n"
            '- "continuation": it carries on the current attempt.\n'
            'Answer {"role": "solution" | "check" | "continuation"}.'
        ),
        max_tokens=32,
    ),
    "correctness": Template(
        task="correctness",
        version="correctness-1",
        system=_SYSTEM,
        user=(
            "Problem:\n{{problem}}\n\n"
            "{{reference_line}}"
            "A solution attempt from the reasoning:\n<<<\n{{solution}}\n>>>\n\n"
            "{{answer_line}}"
            "Is this attempt correct: is its reasoning sound and does it reach the right result "
            "(for a proof: does it prove the claim)? Judge only this attempt. "
            'Answer {"verdict": "correct" | "incorrect" | "unsure"}.'
        ),
        max_tokens=32,
    ),
    "errors": Template(
        task="errors",
        version="errors-1",
        system=_SYSTEM,
        user=(
            "Problem:\n{{problem}}\n\n"
            "{{reference_line}}"
            "A solution attempt from the reasoning:\n<<<\n{{solution}}\n>>>\n\n"
            "Find the calculation or derivation errors in this attempt: a wrong arithmetic result, "
            "a wrong algebra step, a misread quantity. For each, copy the wrong part word for word "
            "from the attempt (one short sentence or equation, at most 200 characters). Do not "
            "quote correct steps. "
            'Answer {"errors": [{"quote": "...", "why": "..."}]}, or {"errors": []} if there is none.'
        ),
        max_tokens=512,
    ),
    "approach": Template(
        task="approach",
        version="approach-1",
        system=_SYSTEM,
        user=(
            "Problem:\n{{problem}}\n\n"
            "Two passages from one chain of thought.\n\nA:\n<<<\n{{a}}\n>>>\n\nB:\n<<<\n{{b}}\n>>>\n\n"
            "Is B redundant with A: does it try the same approach again (the same method, the same "
            "reading of the problem, the same key steps, even in other words), or repeat the same "
            "check? It is NOT redundant if it uses a different method, tests a different "
            "hypothesis or case, corrects A, or continues where A stopped. "
            'Answer {"same": true | false}.'
        ),
        max_tokens=32,
    ),
    "smooth": Template(
        task="smooth",
        version="smooth-1",
        system=_SYSTEM,
        user=(
            "Passages were removed from a chain of thought. The text before the join:\n<<<\n"
            "{{before}}\n>>>\n\nThe first sentence after the join:\n<<<\n{{sentence}}\n>>>\n\n"
            "If that sentence refers to something that is no longer there (\"as before\", "
            '"again", "that was wrong", "another way"), rewrite it so it follows naturally from the '
            "text before. Keep every number, formula and claim; change as few words as possible. "
            'Answer {"rewrite": "<the sentence, rewritten or unchanged>"}.'
        ),
        max_tokens=256,
    ),
}


def load_templates(
    overrides: Union[None, str, os.PathLike, Mapping[str, Any]] = None,
) -> dict[str, Template]:
    """The task templates, with ``overrides`` applied.

    ``overrides`` is a mapping, or a JSON file holding one, from task name to a
    :class:`Template` or a dict with any of ``user``, ``system``, ``version``, ``max_tokens``
    (a bare string is the user text). An override without a ``version`` gets ``user-<hash>``.

    >>> t = load_templates({"approach": {"user": "Same? {{a}} / {{b}}"}})
    >>> t["approach"].version.startswith("user-")
    True
    """
    out = dict(DEFAULT_TEMPLATES)
    if overrides is None:
        return out
    if not isinstance(overrides, Mapping):
        with open(overrides, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError(f"invalid `overrides`: {overrides} must hold a JSON object of task -> template")
        overrides = data
    for task, value in overrides.items():
        if task not in DEFAULT_TEMPLATES:
            raise ValueError(f"invalid `overrides`: unknown task {task!r}; tasks are {', '.join(TASKS)}")
        base = DEFAULT_TEMPLATES[task]
        if isinstance(value, Template):
            out[task] = replace(value, task=task)
            continue
        if isinstance(value, str):
            value = {"user": value}
        if not isinstance(value, Mapping):
            raise ValueError(f"invalid `overrides[{task!r}]`: a str, a dict or a Template")
        unknown = set(value) - {"user", "system", "version", "max_tokens"}
        if unknown:
            raise ValueError(f"invalid `overrides[{task!r}]`: unknown keys {sorted(unknown)}")
        t = replace(
            base,
            user=str(value.get("user", base.user)),
            system=str(value.get("system", base.system)),
            max_tokens=int(value.get("max_tokens", base.max_tokens)),
        )
        version = value.get("version")
        if version is None:
            digest = hashlib.sha256((t.system + "\0" + t.user).encode()).hexdigest()[:12]
            version = f"user-{digest}"
        out[task] = replace(t, version=str(version))
    return out


# ---- parsing the replies --------------------------------------------------------------------

_DECODER = json.JSONDecoder()
MAX_SCAN = 20000


def extract_json(text: Any) -> dict:
    """The last JSON object in a reply: text after a ``</think>`` only, code fences allowed."""
    if not isinstance(text, str):
        raise MalformedOutput(f"reply is {type(text).__name__}, not text")
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    # the answer is a short object at the end; a huge reply is not scanned whole (quadratic at worst)
    text = text[-MAX_SCAN:]
    found = None
    i = text.find("{")
    while i != -1:
        try:
            obj, end = _DECODER.raw_decode(text, i)
        except (ValueError, RecursionError):  # RecursionError: a hostile reply nested 10^5 deep
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict):
            found = obj
        i = text.find("{", end)
    if found is None:
        raise MalformedOutput(f"no JSON object in the reply ({ascii(text.strip()[:60])})")
    return found


def parse_reply(task: str, text: Any) -> Any:
    """The task's answer from a reply: segment -> "solution"|"check"|"continuation";
    correctness -> "correct"|"incorrect"|None (unsure); errors -> list of quotes; approach ->
    bool; smooth -> the rewritten sentence. Raises :class:`MalformedOutput`.

    >>> parse_reply("approach", 'Sure. {"same": true}')
    True
    """
    obj = extract_json(text)
    if task == "segment":
        role = obj.get("role")
        if role not in ("solution", "check", "continuation"):
            raise MalformedOutput(f"`role` must be solution, check or continuation, got {_short(role)}")
        return role
    if task == "correctness":
        v = obj.get("verdict")
        if v not in ("correct", "incorrect", "unsure"):
            raise MalformedOutput(f"`verdict` must be correct, incorrect or unsure, got {_short(v)}")
        return None if v == "unsure" else v
    if task == "errors":
        errs = obj.get("errors")
        if not isinstance(errs, list):
            raise MalformedOutput(f"`errors` must be a list, got {_short(errs)}")
        quotes = []
        for e in errs:
            q = e.get("quote") if isinstance(e, dict) else e
            if not isinstance(q, str):
                raise MalformedOutput(f"an error's `quote` must be text, got {_short(q)}")
            quotes.append(q)
        return quotes
    if task == "approach":
        v = obj.get("same")
        if not isinstance(v, bool):
            raise MalformedOutput(f"`same` must be true or false, got {_short(v)}")
        return v
    if task == "smooth":
        v = obj.get("rewrite")
        if not isinstance(v, str) or not v.strip():
            raise MalformedOutput(f"`rewrite` must be non-empty text, got {_short(v)}")
        return v
    raise ValueError(f"invalid `task`: {task!r}; tasks are {', '.join(TASKS)}")


def _short(v: Any) -> str:
    s = json.dumps(v, ensure_ascii=True) if not isinstance(v, str) else repr(v)
    return s if len(s) <= 40 else s[:37] + "..."
