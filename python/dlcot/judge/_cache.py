"""The on-disk cache of judge replies: one SQLite file (WAL), shared by threads and processes.

A reply is stored under a key made of the backend, the model, the task template's version and a
hash of the exact request (messages, reply budget, sampling settings), written as soon as it
arrives: a rerun makes no call, and an interrupted run resumes where it stopped. Replies are
stored raw, so a fixed parser re-reads them without new calls. Transport failures are not
stored (a rerun tries again). Nothing secret enters a key or a row: the endpoint URL and the
API key are not part of either.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    task TEXT NOT NULL,
    version TEXT NOT NULL,
    reply TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL
)
"""


@dataclass(frozen=True)
class CachedReply:
    """A stored reply and the tokens it cost when it was made."""

    reply: str
    prompt_tokens: int
    completion_tokens: int


def cache_key(backend: str, model: str, task: str, version: str, request: object) -> str:
    """The key of one judge call: sha256 over backend, model, task, template version and the
    request (any JSON-serialisable value, hashed canonically)."""
    body = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    input_hash = hashlib.sha256(body.encode("utf-8")).hexdigest()
    head = json.dumps([backend, model, task, version, input_hash], ensure_ascii=False)
    return hashlib.sha256(head.encode("utf-8")).hexdigest()


class JudgeCache:
    """Judge replies in a SQLite file (WAL journal; safe across threads and processes).

    Args:
        path: The database file (created with its folder), or ":memory:".
        timeout: Seconds to wait for another process's write lock.

    >>> c = JudgeCache(":memory:")
    >>> k = cache_key("http", "m", "approach", "approach-1", {"messages": []})
    >>> c.put(k, backend="http", model="m", task="approach", version="approach-1", reply='{"same": true}')
    >>> c.get(k).reply
    '{"same": true}'
    """

    def __init__(self, path: Union[str, os.PathLike] = "dlcot-judge.sqlite", *, timeout: float = 30.0):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def get(self, key: str) -> Optional[CachedReply]:
        with self._lock:
            row = self._db.execute(
                "SELECT reply, prompt_tokens, completion_tokens FROM replies WHERE key = ?", (key,)
            ).fetchone()
        return CachedReply(*row) if row else None

    def put(
        self,
        key: str,
        *,
        backend: str,
        model: str,
        task: str,
        version: str,
        reply: str,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, backend, model, task, version, reply, int(prompt_tokens), int(completion_tokens)),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "JudgeCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JudgeCache({self.path!r})"

    # a cache crosses into worker processes as its path, each opening its own connection
    def __reduce__(self):
        return (JudgeCache, (self.path,))
