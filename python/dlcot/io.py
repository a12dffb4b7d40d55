"""Streaming readers for files of reasoning-trace records.

Any file of records (JSON Lines, a JSON document or Parquet; plain, gzip, zstandard, bzip2 or
xz compressed; a path, ``"-"`` for stdin, or an open binary file) becomes one stream of
:class:`Record` and :class:`Reject` objects. The record layout is detected per record, so one
reader works on the usual dumps of evaluation harnesses and chat datasets without
configuration, and each of the four fields can be named by hand (dotted paths) when it cannot.

The guarantee: **every record in is either a Record or a Reject**. Reading never raises for bad
data: a line that is not JSON, not UTF-8, too large, of the wrong shape or cut off by a truncated
file becomes a :class:`Reject` with its index and a reason, and the rest of the input is still
read. A source record that holds ``k`` generations gives ``k`` Records (a generation that is
empty or of the wrong type gives a Reject in its place), so every source index appears in the
output, and a record that is rejected as a whole appears exactly once. The exceptions are a
missing file (:class:`FileNotFoundError`) and :class:`LayoutError`, raised before anything is
yielded when none of the first 100 records matches any layout (auto-detection only).

Layouts, checked in this order (the name is in :attr:`Record.layout`):

- ``tli-hybrid``: a ``model_answers`` dict with ``thinking_model`` (thinking-llms-interp
  results); response ``model_answers.thinking_model``, problem ``question``, answer
  ``correct_answer``.
- ``tli-responses``: ``full_response`` and ``question``; the response is ``full_response`` as is,
  chat-template prompt included (the trace parser removes it); id ``question_id``.
- ``qwen-math-eval``: ``code`` (a list of str) and ``gt`` (Qwen2.5-Math evaluation output); one
  Record per element of ``code``; the answer is ``gt``, not ``answer`` (a prediction there).
- ``deltabench``: ``long_cot``; problem ``question``, answer ``answer``, id ``id``.
- ``messages``: ``messages`` = [{role, content}] with an assistant turn.
- ``sharegpt``: ``conversations`` = [{from, value}] with an assistant turn.
- ``generations``: generations/responses/outputs/completions/samples/candidates holding a list
  of str, or of dicts with text/response/content/output; one Record per generation.
- ``flat``: a response-like field (response, output, generation, completion, result,
  model_output, long_cot, cot, reasoning, text, prediction), a problem-like one (problem,
  question, prompt, input, query, instruction), an answer-like one (answer, ground_truth, gt,
  reference, reference_answer, final_answer, target, label, solution) and an id-like one (id,
  uid, idx, question_id, problem_id, _id, task_id), each optional but the response.
- ``custom``: no layout matched, but ``response_field`` was given.

For conversations the problem is the last user turn before the last assistant turn. Text parts
of a list-valued ``content`` are joined; reasoning kept apart from the answer (a
``reasoning_content``/``reasoning``/``thinking`` key on the assistant turn, or ``thinking``
parts) is put back in front as ``<think>\\n...\\n</think>\\n\\n`` so the trace parser sees one
text. Reference answers are returned raw (a GSM8K solution keeps its ``#### N`` line); numbers
become strings (``27.0`` -> ``"27"``), lists and dicts JSON.

Formats are chosen by extension (``.jsonl``/``.ndjson``, ``.json``, ``.parquet``/``.pq``, each
optionally followed by a compression suffix) and else sniffed from the first bytes; compression
is always recognised by its magic bytes. A ``.json`` file whose first line is a complete JSON
object is read as JSON Lines, because many ``.json`` dumps are. JSON Lines are read line by line
in binary with bounded memory; a JSON array is streamed element by element; a top-level JSON
object is held in memory while its records are found (see :class:`RecordReader`).

>>> [r.response for r in iter_records(io.BytesIO(b'{"prompt": "2+2?", "completion": "4"}'))]
['4']
"""

from __future__ import annotations

import bz2
import collections
import errno
import gzip
import io
import json
import lzma
import math
import os
import re
import sys
import zlib
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterator, List, Optional, Sequence, Tuple, Union

from orjson import loads as _orjson_loads

__all__ = [
    "LAYOUTS",
    "REJECT_REASONS",
    "FieldMap",
    "LayoutError",
    "Record",
    "RecordReader",
    "Reject",
    "detect_layout",
    "iter_records",
    "resolve_path",
]

#: Every value :attr:`Reject.reason` can take.
REJECT_REASONS = (
    "bad-json",
    "not-utf8",
    "not-an-object",
    "missing-field",
    "wrong-type",
    "empty-response",
    "too-large",
    "unknown-layout",
    "truncated-input",
)

#: How many records may fail to map before auto-detection gives up with :class:`LayoutError`.
LAYOUT_PROBE_RECORDS = 100

_RAW_LIMIT = 2000  # characters of an offending record kept in Reject.raw
_CHUNK = 1 << 20  # bytes read at a time
_FLAGS = "--problem-field, --response-field, --answer-field, --id-field"


# --------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Record:
    """One reasoning trace read from the input.

    Attributes:
        id: The record's id field as a string; else ``"<index>"``. The k-th generation of a
            record with several gets ``"<id>#<k>"``.
        problem: The prompt or question, or None when the record has none.
        response: The model's output, verbatim.
        answer: The reference answer raw as found (a bare answer or a reference solution), or
            None.
        index: 0-based position of the source record in the input (blank lines not counted).
        generation: k for the k-th of a list of generations, else None.
        layout: Name of the layout the record was read with, e.g. ``"flat"`` or ``"messages"``.
        raw_bytes: Size of the source record's text in bytes (shared by all its generations);
            0 when unknown (Parquet).
    """

    id: str
    problem: Optional[str]
    response: str
    answer: Optional[str]
    index: int
    generation: Optional[int]
    layout: str
    raw_bytes: int


@dataclass(frozen=True)
class Reject:
    """A source record (or one generation of it) that could not be read as a trace.

    Attributes:
        index: 0-based position of the source record in the input.
        id: The record's id when it could be found (with ``#<k>`` for a generation), else None.
        reason: One of :data:`REJECT_REASONS`.
        detail: A message for people, e.g. ``"field 'response' is a list, expected str"``.
        raw: The offending line or record text, at most 2000 characters; None if unavailable.
    """

    index: int
    id: Optional[str]
    reason: str
    detail: str
    raw: Optional[str]


@dataclass(frozen=True)
class FieldMap:
    """A resolved layout: where each field of a record lives, as dotted paths.

    Attributes:
        layout: The layout's name.
        problem: Path of the problem (None: the record has none).
        response: Path of the response; may lead to a string, a list of generations or a
            conversation.
        answer: Path of the reference answer, or None.
        id: Path of the id, or None (the index is used).
    """

    layout: str
    problem: Optional[str]
    response: str
    answer: Optional[str]
    id: Optional[str]


class LayoutError(ValueError):
    """No record among the first ones read matches a known layout; name the fields by hand."""


# --------------------------------------------------------------------------------------------
# Dotted paths

_MISSING = object()
_Parts = Tuple[Tuple[str, Optional[int]], ...]


def _compile_path(path: str) -> _Parts:
    parts = []
    for part in path.split("."):
        try:
            idx: Optional[int] = int(part)
        except ValueError:
            idx = None
        parts.append((part, idx))
    return tuple(parts)


def _lookup(obj: Any, parts: _Parts, path: str) -> Any:
    """Follow compiled path parts; return _MISSING when they do not lead anywhere."""
    if len(parts) > 1 and isinstance(obj, dict) and path in obj:
        return obj[path]  # a literal key that contains dots
    for key, idx in parts:
        if isinstance(obj, dict):
            obj = obj.get(key, _MISSING)
            if obj is _MISSING:
                return _MISSING
        elif idx is not None and isinstance(obj, (list, tuple)):
            if -len(obj) <= idx < len(obj):
                obj = obj[idx]
            else:
                return _MISSING
        else:
            return _MISSING
    return obj


def resolve_path(obj: Any, path: str) -> Any:
    """Return the value at a dotted path; integer parts index lists.

    Args:
        obj: A decoded JSON value (usually a record dict).
        path: Dotted path such as ``"model_answers.thinking_model"`` or ``"code.0"``. A key
            that itself contains dots is found when it is present as written.

    Returns:
        The value found.

    Raises:
        KeyError: The path does not exist in ``obj``; the message names the path.

    >>> resolve_path({"a": {"b": [10, 20]}}, "a.b.1")
    20
    """
    value = _lookup(obj, _compile_path(path), path)
    if value is _MISSING:
        raise KeyError(path)
    return value


# --------------------------------------------------------------------------------------------
# Layout detection

_PROBLEM_KEYS = ("problem", "question", "prompt", "input", "query", "instruction")
_RESPONSE_KEYS = (
    "response", "output", "generation", "completion", "result", "model_output",
    "long_cot", "cot", "reasoning", "text", "prediction",
)  # fmt: skip
_ANSWER_KEYS = (
    "answer", "ground_truth", "gt", "reference", "reference_answer", "final_answer",
    "target", "label", "solution",
)  # fmt: skip
_ID_KEYS = ("id", "uid", "idx", "question_id", "problem_id", "_id", "task_id")
_GENERATION_KEYS = ("generations", "responses", "outputs", "completions", "samples", "candidates")
_GENERATION_TEXT_KEYS = ("text", "response", "content", "output")
# Tuples, not sets: a role may be any JSON value, and unhashable ones must not raise.
_USER_ROLES = ("user", "human")
_ASSISTANT_ROLES = ("assistant", "gpt", "model", "bot")
_REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")

#: The layouts :func:`detect_layout` knows, in the order they are tried.
LAYOUTS = (
    "tli-hybrid", "tli-responses", "qwen-math-eval", "deltabench",
    "messages", "sharegpt", "generations", "flat",
)  # fmt: skip


def _first_key(record: dict, keys: Sequence[str]) -> Optional[str]:
    for key in keys:
        if key in record and record[key] is not None:
            return key
    return None


def _prefer(record: dict, key: str, fallback: Sequence[str]) -> Optional[str]:
    return key if key in record else _first_key(record, fallback)


def _conversation_keys(value: Any) -> Optional[Tuple[str, str]]:
    """(role key, content key) when ``value`` looks like a chat conversation, else None."""
    if not isinstance(value, list) or not value or not isinstance(value[0], dict):
        return None
    first = value[0]
    if "role" in first and "content" in first:
        return ("role", "content")
    if "from" in first and "value" in first:
        return ("from", "value")
    return None


def _has_assistant_turn(turns: list, role_key: str) -> bool:
    return any(isinstance(t, dict) and t.get(role_key) in _ASSISTANT_ROLES for t in turns)


def _generation_list(value: Any) -> bool:
    if not isinstance(value, list) or not value:
        return False
    if all(isinstance(v, str) for v in value):
        return True
    return all(
        isinstance(v, dict) and any(k in v for k in _GENERATION_TEXT_KEYS) for v in value
    )


def detect_layout(record: dict) -> Optional[FieldMap]:
    """Find which known layout a record has and where its fields are.

    Specific layouts are checked before generic ones (see the module docstring).

    Args:
        record: One decoded record.

    Returns:
        The :class:`FieldMap`, or None when no layout matches (or ``record`` is not a dict).

    >>> detect_layout({"question": "1+1?", "response": "2", "answer": 2})
    FieldMap(layout='flat', problem='question', response='response', answer='answer', id=None)
    """
    if not isinstance(record, dict):
        return None
    ids = _first_key(record, _ID_KEYS)
    model_answers = record.get("model_answers")
    if isinstance(model_answers, dict) and "thinking_model" in model_answers:
        return FieldMap(
            "tli-hybrid",
            _prefer(record, "question", _PROBLEM_KEYS),
            "model_answers.thinking_model",
            _prefer(record, "correct_answer", _ANSWER_KEYS),
            ids,
        )
    if "full_response" in record and "question" in record:
        return FieldMap(
            "tli-responses",
            "question",
            "full_response",
            _first_key(record, _ANSWER_KEYS),
            _prefer(record, "question_id", _ID_KEYS),
        )
    code = record.get("code")
    if "gt" in record and isinstance(code, list) and code and all(isinstance(c, str) for c in code):
        return FieldMap(
            "qwen-math-eval",
            _prefer(record, "question", _PROBLEM_KEYS),
            "code",
            "gt",
            _prefer(record, "idx", _ID_KEYS),
        )
    if "long_cot" in record:
        return FieldMap(
            "deltabench",
            _prefer(record, "question", _PROBLEM_KEYS),
            "long_cot",
            _first_key(record, _ANSWER_KEYS),
            _prefer(record, "id", _ID_KEYS),
        )
    answers = _first_key(record, _ANSWER_KEYS)
    for key, name in (("messages", "messages"), ("conversations", "sharegpt")):
        turns = record.get(key)
        keys = _conversation_keys(turns)
        if keys is not None and _has_assistant_turn(turns, keys[0]):  # type: ignore[arg-type]
            return FieldMap(name, key, key, answers, ids)
    problem = _first_key(record, _PROBLEM_KEYS)
    if problem is None:
        # A prompt-only conversation next to a separate response field.
        for key in ("messages", "conversations"):
            if _conversation_keys(record.get(key)) is not None:
                problem = key
                break
    for key in _GENERATION_KEYS:
        if _generation_list(record.get(key)):
            return FieldMap("generations", problem, key, answers, ids)
    response = None
    for key in _RESPONSE_KEYS:
        value = record.get(key)
        if isinstance(value, str):
            response = key
            break
        if response is None and value is not None:
            response = key  # present but not a string: mapped, then rejected as wrong-type
    if response is None:
        return None
    return FieldMap("flat", problem, response, answers, ids)


# --------------------------------------------------------------------------------------------
# Turning values into text


def _scalar_str(value: Any) -> Optional[str]:
    """Answers and ids as text: integral floats without ``.0``, containers as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _turn_text(turn: dict, content_key: str, assistant: bool) -> Optional[str]:
    """The text of one chat turn; None when its content has an unusable type."""
    content = turn.get(content_key)
    thinking: List[str] = []
    if isinstance(content, str):
        text = content
    elif content is None:
        text = ""
    elif isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                kind = part.get("type")
                if kind in ("thinking", "reasoning"):
                    value = part.get(kind, part.get("text"))
                    if isinstance(value, str):
                        thinking.append(value)
                elif isinstance(part.get("text"), str):
                    texts.append(part["text"])
        text = "".join(texts)
    else:
        return None
    if assistant and not thinking:
        for key in _REASONING_KEYS:
            value = turn.get(key)
            if isinstance(value, str) and value and value not in text:
                thinking.append(value)
                break
    if thinking:
        text = "<think>\n" + "".join(thinking) + "\n</think>\n\n" + text
    return text


def _split_conversation(turns: list) -> Tuple[Optional[str], Any]:
    """(problem, response) of a conversation.

    The response is the last assistant turn's text (None if there is no assistant turn, or the
    turn dict itself when its content has the wrong type); the problem is the last user turn
    before it.
    """
    keys = _conversation_keys(turns) or ("role", "content")
    role_key, content_key = keys
    last_assistant = None
    for i in range(len(turns) - 1, -1, -1):
        turn = turns[i]
        if isinstance(turn, dict) and turn.get(role_key) in _ASSISTANT_ROLES:
            last_assistant = i
            break
    end = len(turns) if last_assistant is None else last_assistant
    problem = None
    for i in range(end - 1, -1, -1):
        turn = turns[i]
        if isinstance(turn, dict) and turn.get(role_key) in _USER_ROLES:
            problem = _turn_text(turn, content_key, assistant=False)
            break
    if last_assistant is None:
        return problem, None
    turn = turns[last_assistant]
    text = _turn_text(turn, content_key, assistant=True)
    return problem, (text if text is not None else turn.get(content_key))


def _problem_text(value: Any) -> Optional[str]:
    """Problems are lenient: a conversation gives its last user turn, other values text."""
    if value is None or isinstance(value, str):
        return value
    if _conversation_keys(value) is not None:
        return _split_conversation(value)[0]
    return _scalar_str(value)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "dict", list: "list", str: "str", bool: "bool", int: "int", float: "float"}.get(
        type(value), type(value).__name__
    )


def _describe_fields(record: dict, limit: int = 30) -> str:
    """``name (type)`` for each top-level key; dicts list their own keys."""
    out = []
    for key, value in list(record.items())[:limit]:
        if isinstance(value, dict) and value:
            inner = ", ".join(str(k) for k in list(value)[:8])
            out.append(f"{key} (dict: {inner})")
        elif isinstance(value, list) and value:
            out.append(f"{key} (list of {_type_name(value[0])})")
        else:
            out.append(f"{key} ({_type_name(value)})")
    if len(record) > limit:
        out.append(f"... {len(record) - limit} more")
    return _printable(", ".join(out)) if out else "no fields"


def _has_float(value: Any) -> bool:
    """Whether a parsed JSON value holds a float anywhere (iterative: any depth)."""
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is float:
            return True
        if t is dict:
            stack.extend(v.values())
        elif t is list:
            stack.extend(v)
    return False


def _fast_loads(line: bytes) -> Any:
    """``json.loads`` of a JSON line, parsed by orjson (several times faster); ``_MISSING`` when
    the line needs the standard library's parser: anything orjson refuses (invalid UTF-8, NaN,
    lone surrogate escapes, deep nesting: json.loads decides and explains), and any record
    holding a float, since orjson reads integers beyond 64 bits as floats where json.loads keeps
    them exact."""
    try:
        value = _orjson_loads(line)
    except ValueError:
        return _MISSING
    return _MISSING if _has_float(value) else value


def _raw_text(raw: Any) -> Optional[str]:
    if raw is None:
        return None
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw[: 4 * _RAW_LIMIT]).decode("utf-8", "replace")[:_RAW_LIMIT]
    if isinstance(raw, str):
        return raw[:_RAW_LIMIT]
    return json.dumps(raw, ensure_ascii=False, default=str)[:_RAW_LIMIT]


def _guess_id(record: dict) -> Optional[str]:
    key = _first_key(record, _ID_KEYS)
    return None if key is None else _printable(_scalar_str(record[key]) or "")


def _printable(text: str) -> str:
    """``text`` with unpaired surrogates spelled as escapes, so that it can be written out."""
    if text.isascii() or not _lone_surrogate(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _lone_surrogate(text: Optional[str]) -> bool:
    """True when ``text`` holds an unpaired surrogate (from a ``\\ud800`` JSON escape)."""
    if not text or text.isascii():  # isascii is O(1) on CPython
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# --------------------------------------------------------------------------------------------
# Mapping records with a (cached) field map


class _Plan:
    """A FieldMap compiled for fast application; ``apply`` returns None when it does not fit."""

    __slots__ = ("fmap", "layout", "fields", "conversation")

    def __init__(self, fmap: FieldMap, user: frozenset):
        self.fmap = fmap
        self.layout = fmap.layout
        fields: list = []
        for name in ("response", "problem", "answer", "id"):
            path = getattr(fmap, name)
            if path is None:
                fields.append(None)
                continue
            parts = _compile_path(path)
            key = path if len(parts) == 1 else None  # the common case: one plain dict lookup
            fields.append((name, path, key, parts, name in user))
        self.fields = tuple(fields)
        self.conversation = fmap.problem is not None and fmap.problem == fmap.response

    def apply(self, record: dict, index: int, raw: Any, raw_bytes: int):
        values: list = []
        for field in self.fields:  # response, problem, answer, id
            if field is None:
                values.append(None)
                continue
            name, path, key, parts, user = field
            value = record.get(key, _MISSING) if key is not None else _lookup(record, parts, path)
            if value is _MISSING:
                if not user:
                    return None  # a detected field is absent: the layout does not fit
                detail = (f"field '{path}' (--{name}-field) is missing; the record has: "
                          f"{_describe_fields(record)}")  # fmt: skip
                return [Reject(index, _guess_id(record), "missing-field", detail, _raw_text(raw))]
            values.append(value)
        response, problem, answer, rid = values
        if rid is None:
            rid = str(index)
        else:
            rid = _printable(rid if type(rid) is str else _scalar_str(rid) or "")
        if answer is not None and type(answer) is not str:
            answer = _scalar_str(answer)
        generations: Optional[list] = None
        if type(response) is list:
            if _conversation_keys(response) is not None:
                conv_problem, response = _split_conversation(response)
                if self.conversation:
                    problem = conv_problem
                if response is None:
                    return [self._reject(index, rid, "missing-field",
                                         f"'{self.fmap.response}' has no assistant turn", raw)]
            else:
                generations = response
        if problem is not None and type(problem) is not str:
            problem = _problem_text(problem)
        if (problem is not None and not problem.isascii() and _lone_surrogate(problem)) or (
            answer is not None and not answer.isascii() and _lone_surrogate(answer)
        ):
            return [self._reject(index, rid, "not-utf8",
                                 "a field holds a lone surrogate escape (\\ud800-\\udfff), "
                                 "which is not valid UTF-8", raw)]
        layout = self.layout
        if generations is None:
            if (
                type(response) is str
                and response
                and not response.isspace()
                and (response.isascii() or not _lone_surrogate(response))
            ):  # the common case, inlined
                return [Record(rid, problem, response, answer, index, None, layout, raw_bytes)]
            bad = self._check_text(response, self.fmap.response)
            if bad is not None:
                return [self._reject(index, rid, bad[0], bad[1], raw)]
            return [Record(rid, problem, response, answer, index, None, layout, raw_bytes)]
        if not generations:
            return [self._reject(index, rid, "empty-response",
                                 f"'{self.fmap.response}' is an empty list", raw)]
        out: List[Union[Record, Reject]] = []
        for k, text in enumerate(generations):
            if isinstance(text, dict):
                key = next((t for t in _GENERATION_TEXT_KEYS if t in text), None)
                text = text[key] if key is not None else text
            gid = f"{rid}#{k}"
            bad = self._check_text(text, f"{self.fmap.response}.{k}")
            if bad is not None:
                out.append(self._reject(index, gid, bad[0], bad[1], raw))
            else:
                out.append(Record(gid, problem, text, answer, index, k, layout, raw_bytes))
        return out

    @staticmethod
    def _check_text(text: Any, where: str) -> Optional[Tuple[str, str]]:
        if not isinstance(text, str):
            return ("wrong-type", f"field '{where}' is {_type_name(text)}, expected str")
        if not text or text.isspace():
            return ("empty-response", f"field '{where}' is empty")
        if _lone_surrogate(text):
            return ("not-utf8", f"field '{where}' holds a lone surrogate escape, not valid UTF-8")
        return None

    @staticmethod
    def _reject(index: int, rid: str, reason: str, detail: str, raw: Any) -> Reject:
        return Reject(index, rid, reason, detail, _raw_text(raw))


# --------------------------------------------------------------------------------------------
# Byte sources


class _SourceRaw(io.RawIOBase):
    """Raw reads from a binary file object, counting bytes consumed; ``prefetch`` peeks."""

    def __init__(self, f: IO[bytes]):
        super().__init__()
        self._f = f
        self._read = getattr(f, "read1", None) or f.read
        self._pending = b""
        self.count = 0

    def readable(self) -> bool:
        return True

    def prefetch(self, n: int) -> bytes:
        """Read until ``n`` bytes are buffered (or EOF) and return them without consuming."""
        while len(self._pending) < n:
            data = self._read(n - len(self._pending))
            if not data:
                break
            self.count += len(data)
            self._pending += data
        return self._pending[:n]

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = len(buffer)
        if self._pending:
            data, self._pending = self._pending[:n], self._pending[n:]
        else:
            data = self._read(n)
            self.count += len(data)
        buffer[: len(data)] = data
        return len(data)


class _ZstdRaw(io.RawIOBase):
    """Zstandard decompression that notices a stream cut inside a frame.

    ``zstandard``'s own stream reader returns a truncated stream's data without an error, so
    frames are decoded here with ``decompressobj`` and an unfinished last frame raises EOFError.
    Multi-frame streams (``zstd`` of concatenated files) are read frame after frame.
    """

    _INPUT = 1 << 16

    def __init__(self, f: IO[bytes]):
        super().__init__()
        import zstandard

        self._f = f
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._fed = False  # the current frame has been given input
        self._out = b""
        self._off = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while self._off >= len(self._out) and not self._eof:
            data = self._f.read(self._INPUT)
            if not data:
                self._eof = True
                if self._fed and not self._obj.eof:
                    raise EOFError("zstd stream ends inside a frame (truncated input)")
                break
            self._out, self._off = self._decompress(data), 0
        n = min(len(buffer), len(self._out) - self._off)
        buffer[:n] = self._out[self._off : self._off + n]
        self._off += n
        return n

    def _decompress(self, data: bytes) -> bytes:
        out = []
        while data:
            if self._obj.eof:  # the next frame
                self._obj = self._dctx.decompressobj()
            self._fed = True
            out.append(self._obj.decompress(data))
            data = self._obj.unused_data if self._obj.eof else b""
        return b"".join(out)


def _decompression_errors() -> tuple:
    errors: list = [EOFError, OSError, zlib.error, lzma.LZMAError]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover - zstandard is a core dependency
        pass
    return tuple(errors)


_COMPRESSIONS = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
_COMPRESSION_SUFFIXES = (".gz", ".gzip", ".zst", ".zstd", ".bz2", ".xz")
_FORMAT_SUFFIXES = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".jsonlines": "jsonl",
    ".json": "json?", ".parquet": "parquet", ".pq": "parquet",
}  # fmt: skip


def _format_from_name(name: str) -> Optional[str]:
    name = name.lower()
    for suffix in _COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return _FORMAT_SUFFIXES.get(os.path.splitext(name)[1])


# --------------------------------------------------------------------------------------------
# Whole-JSON documents

_WS = re.compile(r"[ \t\n\r]*").match  # always matches (possibly empty)
_DECODER = json.JSONDecoder()
_SCAN_OUTSIDE = re.compile(r'[\[\]{}"]')
_SCAN_STRING = re.compile(r'["\\]')
_TOO_LARGE = object()


class _Broken(Exception):
    """The JSON text cannot be read further."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class _JsonText:
    """A growing window of decoded text over a byte stream, for incremental JSON parsing.

    Positions are indices into ``buf``; ``base`` is how many characters were dropped before it.
    With ``keep`` set nothing is dropped (a top-level object is parsed in place) and reads grow
    geometrically so that holding a large document stays linear.
    """

    def __init__(self, read: Callable[[int], bytes], max_chars: int, errors: tuple):
        self._read = read
        self._carry = b""  # the start of a character whose other bytes are still unread
        self._errors = errors
        self.max_chars = max_chars
        self.buf = ""
        self.pos = 0
        self.base = 0
        self.bytes_in = 0
        self.eof = False
        self.keep = False
        self._error: Optional[_Broken] = None

    def more(self, want: int = 0) -> bool:
        """Append at least ``want`` more characters' worth of input; False at the end."""
        if self._error is not None:
            raise self._error
        if self.eof:
            return False
        n = max(want, _CHUNK, len(self.buf) if self.keep else 0)
        chunks: List[bytes] = []
        got = 0
        end = False
        while got < n:  # read1-style reads: keep what arrived before a truncation error
            try:
                data = self._read(n - got)
            except self._errors as e:
                self._error = _Broken(
                    "truncated-input", f"compressed input is truncated or corrupt: {e}"
                )
                if not chunks:
                    raise self._error
                break
            if not data:
                end = True
                break
            chunks.append(data)
            got += len(data)
        data = self._carry + b"".join(chunks)
        self._carry = b""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            # Keep the valid text before the error, so that the records in it are read.
            text = data[: e.start].decode("utf-8")
            if not end and e.end == len(data) and e.reason == "unexpected end of data":
                self._carry = data[e.start :]  # a character split between two reads
            else:
                self._error = _Broken(
                    "not-utf8", f"invalid UTF-8 at byte {self.bytes_in + e.start}: {e.reason}"
                )
                end = False  # report the error at the next read instead of ending
            data = data[: e.start]
        self.bytes_in += len(data)
        self.eof = end
        if text:
            if not self.keep and self.pos > _CHUNK:
                self.base += self.pos
                self.buf = self.buf[self.pos :]
                self.pos = 0
            self.buf += text
        return True

    def peek(self) -> str:
        """Skip whitespace; the next character, or '' at the end of the input."""
        while True:
            self.pos = _WS(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def where(self) -> str:
        return f"character {self.base + self.pos}"

    def value(self) -> Tuple[Any, int, int]:
        """Decode the JSON value at ``pos``; returns (value, start, end) and moves past it.

        A value longer than ``max_chars`` comes back as ``(_TOO_LARGE, -1, -1)``, skipped with
        bounded memory when it did not fit in the window.
        """
        start = self.pos
        while True:
            buf = self.buf
            try:
                value, end = _DECODER.raw_decode(buf, start)
            except json.JSONDecodeError as e:
                # Near the end of the window the value may just be incomplete: read more.
                cut = e.pos >= len(buf) - 16 or e.msg.startswith("Unterminated string")
                if not cut:
                    raise _Broken("bad-json", f"{e.msg} at character {self.base + e.pos}")
                if self.eof:
                    raise _Broken(
                        "bad-json",
                        f"input ends inside a value starting at character {self.base + start} "
                        f"(truncated file?): {e.msg}",
                    )
            except RecursionError:
                raise _Broken("bad-json", f"nesting too deep at character {self.base + start}")
            except ValueError as e:  # e.g. an integer with too many digits
                raise _Broken("bad-json", f"{e} at character {self.base + start}")
            else:
                if end < len(buf) or self.eof or buf[end - 1] in '}]"':
                    # (a number or literal that ends the window might continue in the next)
                    self.pos = end
                    if end - start > self.max_chars:
                        return _TOO_LARGE, -1, -1
                    return value, start, end
            if len(buf) - start > self.max_chars:
                self.pos = start
                self.skip_value()
                return _TOO_LARGE, -1, -1
            before = self.base
            self.more(len(buf) - start)
            start -= self.base - before

    def skip_value(self) -> None:
        """Skip a string, array or object at ``pos`` with bounded memory (a too-large value)."""
        depth = 0
        in_string = False
        p = self.pos
        if self.buf[p] not in '"[{':
            raise _Broken("too-large", f"a value too large to read at {self.where()}")
        while True:
            buf = self.buf
            while True:
                if in_string:
                    m = _SCAN_STRING.search(buf, p)
                    if m is None:
                        p = len(buf)
                        break
                    p = m.end()
                    if m.group() == "\\":
                        p += 1
                        if p > len(buf):
                            break
                        continue
                    in_string = False
                    if depth == 0:
                        self.pos = p
                        return
                else:
                    m = _SCAN_OUTSIDE.search(buf, p)
                    if m is None:
                        p = len(buf)
                        break
                    p = m.end()
                    ch = m.group()
                    if ch == '"':
                        in_string = True
                    elif ch in "[{":
                        depth += 1
                    else:
                        depth -= 1
                        if depth == 0:
                            self.pos = p
                            return
            carry = p - len(buf)  # 1 when an escape's second character is in the next chunk
            if not self.keep:
                self.base += len(buf)
                self.buf = ""
                p = carry
            self.pos = p
            if not self.more():
                raise _Broken("bad-json", "input ends inside a value that was too large to read")
            p = self.pos


def _array_elements(text: _JsonText) -> Iterator[Tuple[Any, int, int]]:
    """Elements of the array whose '[' was just consumed: (value or _TOO_LARGE, start, end)."""
    if text.peek() == "]":
        text.pos += 1
        return
    while True:
        if text.peek() == "":
            raise _Broken("bad-json", "input ends inside an array where a value was expected")
        yield text.value()  # positions index text.buf until the generator is resumed
        c = text.peek()
        if c == ",":
            text.pos += 1
        elif c == "]":
            text.pos += 1
            return
        elif c == "":
            raise _Broken("bad-json", f"input ends inside an array at {text.where()}")
        else:
            raise _Broken("bad-json", f"expected ',' or ']' at {text.where()}, found {c!r}")


def _object_members(text: _JsonText):
    """Parse the object whose '{' was consumed, keeping the spans of list elements.

    Returns (dict, {key: [(value, start, end), ...]}, broken) where broken is a _Broken when the
    text ended or went wrong before the object closed (what was parsed is still returned).
    """
    members: dict = {}
    spans: dict = {}
    try:
        if text.peek() == "}":
            text.pos += 1
            return members, spans, None
        while True:
            if text.peek() != '"':
                raise _Broken("bad-json", f"expected a property name at {text.where()}")
            key, _, _ = text.value()
            if key is _TOO_LARGE:
                raise _Broken("too-large", f"a property name too large to read at {text.where()}")
            if text.peek() != ":":
                raise _Broken("bad-json", f"expected ':' at {text.where()}")
            text.pos += 1
            if text.peek() == "[":
                text.pos += 1
                elements: list = []
                spans[key] = elements
                members[key] = values = []
                for element in _array_elements(text):
                    elements.append(element)
                    values.append(element[0])
            else:
                members[key], _, _ = text.value()
            c = text.peek()
            if c == ",":
                text.pos += 1
            elif c == "}":
                text.pos += 1
                return members, spans, None
            elif c == "":
                raise _Broken("bad-json", f"input ends inside an object at {text.where()}")
            else:
                raise _Broken("bad-json", f"expected ',' or '}}' at {text.where()}, found {c!r}")
    except _Broken as broken:
        return members, spans, broken


def _span_bytes(raw: str) -> int:
    return len(raw) if raw.isascii() else len(raw.encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------------------------
# The reader

_Item = Tuple[int, Any, Any, int]  # index, value, raw text (or bytes), raw size in bytes


class RecordReader:
    """Stream the records of a file as :class:`Record` and :class:`Reject` objects.

    Memory stays bounded for JSON Lines (one line at a time, at most ``max_record_bytes``),
    JSON arrays (one element at a time) and Parquet (one batch at a time). A file whose top
    level is a JSON object (``{"metadata": ..., "tasks": [...]}``) is held in memory while its
    records are found: the records are the elements of its longest list of objects, unless the
    object is itself a record. Several top-level values one after another (``jq`` output) are
    each a record, streamed.

    Attributes:
        bytes_read: Bytes consumed from the file so far, compressed or not (for progress).
        total_bytes: Size of the file when known (None for stdin and pipes).
        records_seen: Source records read so far (blank lines are not records).
        layouts: Layout name -> number of source records mapped with it.

    Args:
        source: A path, ``"-"`` for stdin, or an open binary file (a text stream is read through
            its ``buffer``).
        problem_field: Dotted path of the problem, overriding detection.
        response_field: Dotted path of the response, overriding detection. A list of strings
            there gives one Record per generation.
        answer_field: Dotted path of the reference answer, overriding detection.
        id_field: Dotted path of the id, overriding detection.
        max_record_bytes: Longest record accepted; longer ones become ``too-large`` Rejects.
        format: ``"jsonl"``, ``"json"`` or ``"parquet"``; None picks by extension, then by the
            first bytes.

    Raises:
        FileNotFoundError: ``source`` names no file.
        LayoutError: During iteration, when auto-detection maps none of the first 100 records.
        ValueError: An argument is invalid.

    >>> reader = RecordReader(io.BytesIO(b'{"question": "q", "output": "a"}\\n'))
    >>> [(r.problem, r.response, r.layout) for r in reader]
    [('q', 'a', 'flat')]
    """

    def __init__(
        self,
        source: Union[str, "os.PathLike[str]", IO[bytes]],
        *,
        problem_field: Optional[str] = None,
        response_field: Optional[str] = None,
        answer_field: Optional[str] = None,
        id_field: Optional[str] = None,
        max_record_bytes: int = 64 * 2**20,
        format: Optional[str] = None,
    ):
        if format not in (None, "jsonl", "json", "parquet"):
            raise ValueError(f"format must be 'jsonl', 'json', 'parquet' or None, not {format!r}")
        if not isinstance(max_record_bytes, int) or max_record_bytes < 1:
            raise ValueError(f"max_record_bytes must be a positive int, not {max_record_bytes!r}")
        overrides = {
            "problem": problem_field,
            "response": response_field,
            "answer": answer_field,
            "id": id_field,
        }
        for name, path in overrides.items():
            if path is not None and (not isinstance(path, str) or not path):
                raise ValueError(f"{name}_field must be a non-empty dotted path, not {path!r}")
        self._source = source
        self._overrides = {k: v for k, v in overrides.items() if v is not None}
        self._max = max_record_bytes
        self._format = format
        self._name: Optional[str] = None
        if isinstance(source, (str, os.PathLike)):
            name = os.fspath(source)
            self._name = None if name == "-" else name
            if self._name is not None and not os.path.exists(self._name):
                raise FileNotFoundError(errno.ENOENT, "no such file", self._name)
        self._src: Optional[_SourceRaw] = None
        self._parquet_progress: Optional[int] = None
        self.total_bytes: Optional[int] = None
        self.records_seen = 0
        self.layouts: collections.Counter = collections.Counter()
        self._plans: dict = {}
        self._mapped_any = False
        self._unknown: Optional[dict] = None

    # -- progress --------------------------------------------------------------------------

    @property
    def bytes_read(self) -> int:
        """Bytes consumed from the file so far (an estimate for Parquet)."""
        if self._parquet_progress is not None:
            return self._parquet_progress
        return self._src.count if self._src is not None else 0

    # -- iteration -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Union[Record, Reject]]:
        self.records_seen = 0
        self.layouts = collections.Counter()
        self._plans = {}
        self._mapped_any = False
        self._unknown = None
        return self._guarded(self._items())

    def _items(self) -> Iterator[Union[_Item, Reject]]:
        """Source records as items (or source-level Rejects), whatever the container."""
        fmt = self._format
        if fmt is None and self._name is not None:
            fmt = _format_from_name(self._name)
        if fmt == "parquet" and self._name is not None:
            self.total_bytes = os.path.getsize(self._name)
            yield from self._parquet_items(self._name)
            return
        close = None
        f: Any
        if self._name is not None:
            f = close = open(self._name, "rb", buffering=0)
            try:
                self.total_bytes = os.fstat(f.fileno()).st_size
            except OSError:  # pragma: no cover
                self.total_bytes = None
        elif isinstance(self._source, (str, os.PathLike)):
            f = sys.stdin.buffer
        else:
            f = self._source
            if isinstance(f, io.TextIOBase) and hasattr(f, "buffer"):
                f = f.buffer
            self.total_bytes = _stream_size(f)
        try:
            self._src = src = _SourceRaw(f)
            head = src.prefetch(6)
            base = io.BufferedReader(src, _CHUNK)
            compression = next((c for magic, c in _COMPRESSIONS if head.startswith(magic)), None)
            data: Any = base
            errors: tuple = ()
            if compression is not None:
                errors = _decompression_errors()
                if compression == "gzip":
                    data = gzip.GzipFile(fileobj=base, mode="rb")
                elif compression == "zstd":
                    data = io.BufferedReader(_ZstdRaw(base), _CHUNK)
                elif compression == "bzip2":
                    data = bz2.BZ2File(base)
                else:
                    data = lzma.LZMAFile(base)
            try:
                start = data.peek(4)[:4]
            except errors as e:
                yield self._source_reject("truncated-input", f"compressed input is unreadable: {e}")
                return
            if fmt == "parquet" or (fmt in (None, "json?") and start == b"PAR1"):
                if compression is None and self._name is not None:
                    yield from self._parquet_items(self._name)
                else:
                    try:
                        blob = data.read()
                    except errors as e:
                        yield self._source_reject("truncated-input", f"compressed input: {e}")
                        return
                    yield from self._parquet_items(blob)
                return
            if start.startswith(b"\xef\xbb\xbf"):
                data.read(3)
            yield from self._text_items(data, fmt, errors)
        finally:
            if close is not None:
                close.close()

    def _source_reject(self, reason: str, detail: str, raw: Any = None) -> Reject:
        index = self.records_seen
        self.records_seen += 1
        return Reject(index, None, reason, detail, _raw_text(raw))

    # -- JSON Lines ------------------------------------------------------------------------

    def _text_items(self, data: Any, fmt: Optional[str], errors: tuple) -> Iterator[Any]:
        pending: List[bytes] = []
        if fmt not in ("jsonl", "json"):
            try:
                first = _first_byte(data)  # leading whitespace is consumed: it holds no record
                if first == b"{":
                    # JSON Lines or a pretty-printed object? The first line tells.
                    pending.append(data.readline(self._max + 2))
            except errors as e:
                yield self._source_reject("truncated-input", f"compressed input is truncated: {e}")
                return
            if not first:
                return  # empty input: no records
            fmt = "json" if first == b"[" else self._sniff(pending[0]) if pending else "jsonl"
        if fmt == "json":
            read = getattr(data, "read1", data.read)
            if pending:
                read = _prefixed_reader(b"".join(pending), read)
            yield from self._json_items(read, errors)
        else:
            yield from self._jsonl_items(data, pending, errors)

    def _sniff(self, line: bytes) -> str:
        """'json' or 'jsonl' for input whose first line, starting with '{', is ``line``."""
        if len(line) >= self._max + 2 and not line.endswith(b"\n"):
            return "jsonl"  # a very long first line: records, one per line
        try:
            value = json.loads(line)
        except ValueError:
            # '{' alone or an unfinished object: a pretty-printed document.
            return "jsonl" if line.rstrip().endswith(b"}") else "json"
        if isinstance(value, dict) and not self._is_record(value) and _records_key(value):
            return "json"  # one container object written on a single line
        return "jsonl"

    def _jsonl_items(self, data: Any, pending: List[bytes], errors: tuple) -> Iterator[Any]:
        limit = self._max + 2
        readline = data.readline
        pending_iter = iter(pending)
        while True:
            line = next(pending_iter, None)
            if line is None:
                try:
                    line = readline(limit)
                except errors as e:
                    yield self._source_reject(
                        "truncated-input", f"compressed input is truncated or corrupt: {e}"
                    )
                    return
            if not line:
                return
            end = len(line)
            blank = line.isspace()
            if line[-1:] == b"\n":
                end -= 2 if line[-2:] == b"\r\n" else 1
            elif end >= limit:  # longer than the limit: drain the rest in pieces
                try:
                    while True:
                        piece = readline(_CHUNK)
                        blank = blank and (not piece or piece.isspace())
                        end += len(piece)
                        if not piece or piece[-1:] == b"\n":
                            break
                except errors as e:
                    yield self._source_reject(
                        "truncated-input",
                        f"compressed input is truncated inside a too-large line: {e}",
                        line,
                    )
                    return
            if blank:
                continue
            index = self.records_seen
            self.records_seen = index + 1
            if end > self._max:
                yield Reject(index, None, "too-large",
                             f"line is longer than max_record_bytes={self._max}", _raw_text(line))
                continue
            value = _fast_loads(line)
            if value is not _MISSING:
                yield (index, value, line, end)
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as e:
                yield Reject(index, None, "not-utf8",
                             f"invalid UTF-8 at byte {e.start} of the line: {e.reason}",
                             _raw_text(line))
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as e:
                detail = f"{e.msg}: column {e.colno}"
                yield Reject(index, None, "bad-json", detail, text[:_RAW_LIMIT])
                continue
            except (ValueError, RecursionError) as e:
                yield Reject(index, None, "bad-json", f"{type(e).__name__}: {e}", text[:_RAW_LIMIT])
                continue
            yield (index, value, line, end)

    # -- whole JSON ------------------------------------------------------------------------

    def _json_items(self, read: Callable[[int], bytes], errors: tuple) -> Iterator[Any]:
        text = _JsonText(read, self._max, errors)
        first = True
        try:
            while True:
                c = text.peek()
                if c == "":
                    return
                if c == "[":
                    text.pos += 1
                    for value, start, end in _array_elements(text):
                        yield self._span_item(text, value, start, end)
                elif c == "{" and first:
                    yield from self._object_items(text)
                else:
                    yield self._span_item(text, *text.value())
                first = False
        except _Broken as broken:
            tail = text.buf[text.pos : text.pos + _RAW_LIMIT]
            yield self._source_reject(broken.reason, broken.detail, tail or None)

    def _span_item(self, text: _JsonText, value: Any, start: int, end: int) -> Any:
        index = self.records_seen
        self.records_seen = index + 1
        if value is _TOO_LARGE:
            return Reject(index, None, "too-large",
                          f"record is longer than max_record_bytes={self._max} characters",
                          None)
        raw = text.buf[start:end]
        return (index, value, raw, _span_bytes(raw))

    def _object_items(self, text: _JsonText) -> Iterator[Any]:
        # Positions stay valid while ``keep`` is set: the buffer is only appended to.
        text.keep = True
        try:
            start = text.pos
            text.pos += 1
            members, spans, broken = _object_members(text)
            end = text.pos
            if broken is None and (text.peek() != "" or self._is_record(members)):
                # A record by itself, or the first of a sequence of top-level values.
                if any(v is _TOO_LARGE for v in members.values()):
                    members = _TOO_LARGE
                yield self._span_item(text, members, start, end)
                return
            key = _records_key(members)
            if key is None:
                if broken is not None:
                    raise broken
                yield self._span_item(text, members, start, end)
                return
            for value, s, e in spans[key]:
                yield self._span_item(text, value, s, e)
            if broken is not None:
                raise broken
        finally:
            text.keep = False

    # -- Parquet ---------------------------------------------------------------------------

    def _parquet_items(self, source: Union[str, bytes]) -> Iterator[Any]:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as e:  # pragma: no cover - pyarrow is a core dependency
            raise ImportError("reading Parquet needs pyarrow: pip install pyarrow") from e
        if isinstance(source, bytes):  # read from a stream: the size of what was read
            handle: Any = pa.BufferReader(source)
            size = self.bytes_read
        else:
            handle = source
            size = self.total_bytes or 0
        self._parquet_progress = 0
        try:
            pf = pq.ParquetFile(handle)
            num_rows = max(pf.metadata.num_rows, 1)
            for batch in pf.iter_batches(batch_size=1024):
                for row in batch.to_pylist():
                    index = self.records_seen
                    self.records_seen = index + 1
                    yield (index, row, row, 0)
                self._parquet_progress = size * self.records_seen // num_rows
        except (pa.ArrowException, OSError) as e:
            yield self._source_reject("truncated-input", f"not a readable Parquet file: {e}")

    # -- mapping ---------------------------------------------------------------------------

    def _is_record(self, value: dict) -> bool:
        path = self._overrides.get("response")
        if path is not None:
            return _lookup(value, _compile_path(path), path) is not _MISSING
        return detect_layout(value) is not None

    def _plan_for(self, record: dict) -> Optional[_Plan]:
        fmap = detect_layout(record)
        if not self._overrides:
            return None if fmap is None else _Plan(fmap, frozenset())
        if fmap is None:
            if "response" not in self._overrides:
                return None
            fmap = FieldMap(
                "custom",
                _first_key(record, _PROBLEM_KEYS),
                self._overrides["response"],
                _first_key(record, _ANSWER_KEYS),
                _first_key(record, _ID_KEYS),
            )
        get = self._overrides.get
        fmap = FieldMap(
            fmap.layout,
            get("problem", fmap.problem),
            get("response", fmap.response) or fmap.response,
            get("answer", fmap.answer),
            get("id", fmap.id),
        )
        return _Plan(fmap, frozenset(self._overrides))

    def _map(self, item: Any) -> Sequence[Union[Record, Reject]]:
        if isinstance(item, Reject):
            return (item,)
        index, record, raw, raw_bytes = item
        if not isinstance(record, dict):
            return (Reject(index, None, "not-an-object",
                           f"record is a JSON {_type_name(record)}, expected an object",
                           _raw_text(raw)),)
        # A layout is detected once per distinct key set and re-used while it fits; a record
        # it does not fit (a nested path missing) is detected on its own.
        signature = tuple(record)
        plan = self._plans.get(signature)
        if plan is None:
            plan = self._plan_for(record)
            if plan is not None:
                if len(self._plans) >= 256:
                    self._plans.clear()
                self._plans[signature] = plan
        out = plan.apply(record, index, raw, raw_bytes) if plan is not None else None
        if out is None and plan is not None:
            plan = self._plan_for(record)
            out = plan.apply(record, index, raw, raw_bytes) if plan is not None else None
        if out is None or plan is None:
            if self._unknown is None:
                self._unknown = record
            return (Reject(index, _guess_id(record), "unknown-layout",
                           f"no known layout matches; the record has: "
                           f"{_describe_fields(record)}. Name the fields with {_FLAGS}",
                           _raw_text(raw)),)
        self._mapped_any = True
        self.layouts[plan.layout] += 1
        return out

    def _guarded(self, items: Iterator[Any]) -> Iterator[Union[Record, Reject]]:
        """Map items; hold output back until a record maps, so LayoutError comes first."""
        held: Optional[list] = None if "response" in self._overrides else []
        for item in items:
            out = self._map(item)
            if held is None:
                yield from out
                continue
            held.extend(out)
            if self._mapped_any or self.records_seen >= LAYOUT_PROBE_RECORDS:
                self._check_layout_found()
                yield from held
                held = None
        if held is not None:
            self._check_layout_found()
            yield from held

    def _check_layout_found(self) -> None:
        if self._mapped_any or self._unknown is None:
            return
        n = min(self.records_seen, LAYOUT_PROBE_RECORDS)
        where = f" in {self._name}" if self._name else ""
        raise LayoutError(
            f"cannot detect the record layout{where}: none of the first {n} records matches a "
            f"known layout ({', '.join(LAYOUTS)}). Fields of the first such record: "
            f"{_describe_fields(self._unknown)}. Name the fields with --problem-field, "
            f"--response-field, --answer-field, --id-field (dotted paths, e.g. --response-field "
            f"model_answers.thinking_model; problem_field=... etc. in Python)"
        )


def _records_key(value: dict) -> Optional[str]:
    """The key whose value is the longest list of objects, or None."""
    best, best_len = None, 0
    for key, items in value.items():
        if isinstance(items, list):
            n = sum(1 for v in items if isinstance(v, dict))
            if n > best_len:
                best, best_len = key, n
    return best


def _first_byte(data: Any) -> bytes:
    """Consume leading whitespace of a peekable stream; its first other byte (b"" at EOF)."""
    while True:
        head = data.peek(1)
        if not head:
            return b""
        stripped = head.lstrip()
        if stripped:
            data.read(len(head) - len(stripped))
            return stripped[:1]
        data.read(len(head))


def _prefixed_reader(prefix: bytes, read1: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """A read function that returns ``prefix`` first, then what ``read1`` gives."""
    state = [prefix]

    def read(n: int) -> bytes:
        if state[0]:
            head, state[0] = state[0], b""
            return head
        return read1(n)

    return read


def _stream_size(f: Any) -> Optional[int]:
    try:
        st = os.fstat(f.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    import stat

    return st.st_size if stat.S_ISREG(st.st_mode) else None


def iter_records(
    source: Union[str, "os.PathLike[str]", IO[bytes]], **kwargs: Any
) -> Iterator[Union[Record, Reject]]:
    """Iterate over the records of a file; shorthand for ``iter(RecordReader(source, ...))``.

    Args:
        source: A path, ``"-"`` for stdin, or an open binary file.
        **kwargs: The keyword options of :class:`RecordReader`.

    Returns:
        An iterator of :class:`Record` and :class:`Reject`.

    >>> turns = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    >>> data = json.dumps({"messages": turns}).encode()
    >>> [(r.problem, r.response) for r in iter_records(io.BytesIO(data))]
    [('hi', 'hello')]
    """
    return iter(RecordReader(source, **kwargs))
