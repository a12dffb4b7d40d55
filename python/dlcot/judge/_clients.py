"""The LLM judge backends: any OpenAI-compatible HTTP endpoint, or a local transformers model.

Both take a batch of chat requests and return one :class:`Completion` per request, in order, and
never raise for a failed call: a timeout, a refused or closed connection, an HTTP error or a body
that is not a chat completion becomes ``Completion(error=...)`` after the retries, and the caller
lets the rules decide. The HTTP client is the standard library's (``http.client``), one
keep-alive connection per worker thread, ``concurrency`` threads; retries back off exponentially
with jitter and honour ``Retry-After``. The API key is read from an environment variable at each
request and is never stored on the object, written to a log, an error message or the cache.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union
from urllib.parse import urlsplit

log = logging.getLogger("dlcot.judge")

DEFAULT_API_KEY_ENV = "DLCOT_JUDGE_API_KEY"


@dataclass(frozen=True)
class Request:
    """One chat request: ``messages`` in OpenAI form, the reply budget."""

    messages: list[dict[str, str]]
    max_tokens: int = 256


@dataclass(frozen=True)
class Completion:
    """The outcome of one request: ``text`` (None when the call failed), the tokens it cost,
    ``error`` (why it failed, secrets removed) and the attempts made."""

    text: Optional[str]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: Optional[str] = None
    attempts: int = 1


OnDone = Callable[[int, Completion], None]


class JudgeClient:
    """A judge backend. Subclasses implement :meth:`complete_batch`.

    ``backend`` and ``model`` name it in cache keys (never the URL or a key).
    """

    backend: str = "?"
    model: str = "?"
    temperature: float = 0.0

    def complete_batch(self, requests: Sequence[Request], on_done: Optional[OnDone] = None) -> list[Completion]:
        """One completion per request, in order; ``on_done(i, completion)`` as each finishes."""
        raise NotImplementedError

    def redact(self, text: str) -> str:
        """``text`` with any secret this client knows replaced by ``***``."""
        return text

    def request_fields(self) -> dict[str, Any]:
        """Sampling settings sent with every request (part of the cache key)."""
        return {"temperature": self.temperature}

    def close(self) -> None:
        """Frees connections or the model."""


# ---- HTTP ----------------------------------------------------------------------------------


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: Optional[float] = None):
        super().__init__(message)
        self.retry_after = retry_after


class _Fatal(Exception):
    pass


def _endpoint(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of the chat completions endpoint for a base URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("invalid `url`: must be http(s)://HOST[:PORT][/PATH], e.g. http://127.0.0.1:8000/v1")
    if parts.username or parts.password or parts.query:
        # credentials belong in the environment variable, not in a URL that may be logged
        raise ValueError("invalid `url`: must not hold credentials or a query; put the key in `api_key_env`")
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path = (path if path.endswith("/v1") else path + "/v1") + "/chat/completions"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname, port, path


class HTTPJudge(JudgeClient):
    """A judge behind an OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, SGLang,
    ``transformers serve``, a hosted API).

    Args:
        url: The server's base URL (``http://127.0.0.1:8000`` or ``.../v1``) or the full
            ``.../v1/chat/completions`` URL. No credentials in it.
        model: The model name the server expects.
        api_key_env: The environment variable holding the API key (read at each request; sent
            as ``Authorization: Bearer``); unset or empty: no key is sent.
        concurrency: Requests in flight at once.
        timeout: Seconds a call may take in all (connect, wait, read).
        retries: Further attempts after a failed one (timeouts, connection errors, HTTP 408,
            409, 429, 5xx, bodies that are not a chat completion).
        backoff: Base delay in seconds: attempt k waits ``backoff * 2**k`` (plus jitter, at most
            ``max_backoff``; a ``Retry-After`` header, if longer, within ``max_backoff``).
        temperature, seed: Sampling settings sent with each request (part of the cache key); the
            seed only when given (not every server takes one).
        extra_body: More fields for every request body (e.g. ``{"top_p": 1}``).
        max_response_bytes: A larger body is a failure (a server gone wrong must not fill memory).

    >>> j = HTTPJudge("http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-7B-Instruct")  # no call is made
    >>> j.backend, j.model
    ('http', 'Qwen/Qwen2.5-7B-Instruct')
    """

    backend = "http"

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key_env: str = DEFAULT_API_KEY_ENV,
        concurrency: int = 8,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        temperature: float = 0.0,
        seed: Optional[int] = None,
        extra_body: Optional[dict[str, Any]] = None,
        max_response_bytes: int = 8 << 20,
    ):
        if not isinstance(model, str) or not model:
            raise ValueError("invalid `model`: a non-empty model name")
        if not isinstance(api_key_env, str) or not api_key_env:
            raise ValueError("invalid `api_key_env`: the name of an environment variable")
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"invalid `concurrency`: must be a positive int, got {concurrency!r}")
        if not timeout > 0:
            raise ValueError(f"invalid `timeout`: must be > 0, got {timeout!r}")
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"invalid `retries`: must be an int >= 0, got {retries!r}")
        if backoff < 0 or max_backoff < 0:
            raise ValueError("invalid `backoff`: must be >= 0")
        self.scheme, self.host, self.port, self.path = _endpoint(url)
        self.url = f"{self.scheme}://{self.host}:{self.port}{self.path}"
        self.model = model
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.temperature = float(temperature)
        self.seed = seed
        self.extra_body = dict(extra_body or {})
        self.max_response_bytes = int(max_response_bytes)
        self._local = threading.local()
        self._ssl = ssl.create_default_context() if self.scheme == "https" else None

    def __repr__(self) -> str:
        return f"HTTPJudge({self.url!r}, {self.model!r}, api_key_env={self.api_key_env!r})"

    # no key, no connections: a judge crosses processes as its settings
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_local", None)
        state.pop("_ssl", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        self._ssl = ssl.create_default_context() if self.scheme == "https" else None

    def _key(self) -> str:
        return os.environ.get(self.api_key_env, "").strip()

    def redact(self, text: str) -> str:
        key = self._key()
        if key and len(key) >= 4:
            text = text.replace(key, "***")
        return text

    def request_fields(self) -> dict[str, Any]:
        """The sampling fields sent with every request (they are part of the cache key)."""
        fields: dict[str, Any] = {"temperature": self.temperature}
        if self.seed is not None:
            fields["seed"] = self.seed
        fields.update(self.extra_body)
        return fields

    def _conn(self) -> http.client.HTTPConnection:
        c = getattr(self._local, "conn", None)
        if c is None:
            if self._ssl is not None:
                c = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self._ssl)
            else:
                c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = c
        return c

    def _drop(self) -> None:
        c = getattr(self._local, "conn", None)
        self._local.conn = None
        if c is not None:
            try:
                c.close()
            except Exception:  # noqa: BLE001  closing a broken socket may fail; it is gone either way
                pass

    def _exchange(self, body: bytes, deadline: float) -> tuple[http.client.HTTPResponse, bytes]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = self._key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        # a kept-alive connection the server has since closed fails at once: reconnect, no delay
        for fresh in (getattr(self._local, "conn", None) is None, True):
            conn = self._conn()
            try:
                conn.request("POST", self.path, body=body, headers=headers)
                resp = conn.getresponse()
                break
            except (socket.timeout, TimeoutError):
                self._drop()
                raise _Retryable(f"timed out after {self.timeout:g} s") from None
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                self._drop()
                stale = isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if fresh or not stale:
                    raise _Retryable(f"connection failed: {type(e).__name__}") from None
        try:
            chunks = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise _Retryable(f"timed out after {self.timeout:g} s")
                chunk = resp.read1(65536)  # one recv at most: the deadline is checked between
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise _Retryable(f"response larger than {self.max_response_bytes} bytes")
                chunks.append(chunk)
                if resp.length == 0:
                    break
            chunks.append(resp.read())  # b"" by now; finishes the response so the connection is reusable
        except (socket.timeout, TimeoutError):
            self._drop()
            raise _Retryable(f"timed out after {self.timeout:g} s") from None
        except (ConnectionError, http.client.HTTPException, OSError) as e:
            self._drop()
            raise _Retryable(f"connection failed: {type(e).__name__}") from None
        except _Retryable:
            self._drop()
            raise
        if not resp.isclosed():
            self._drop()
        return resp, b"".join(chunks)

    def _once(self, body: bytes) -> tuple[str, int, int]:
        resp, data = self._exchange(body, time.monotonic() + self.timeout)
        if resp.getheader("Connection", "").lower() == "close" or resp.will_close:
            self._drop()
        status = resp.status
        if status != 200:
            retry_after = _retry_after(resp.getheader("Retry-After"))
            msg = f"HTTP {status}"
            if status in (408, 409, 425, 429) or status >= 500:
                raise _Retryable(msg, retry_after)
            raise _Fatal(msg + ": " + _snippet(data))
        try:
            obj = json.loads(data)
            choice = obj["choices"][0]
            msg_obj = choice.get("message") or {}
            text = msg_obj.get("content")
            if text is None:
                text = choice.get("text")
            if not isinstance(text, str):
                raise TypeError("no message content")
            usage = obj.get("usage") or {}
            pt = int(usage.get("prompt_tokens") or 0)
            ct = int(usage.get("completion_tokens") or 0)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise _Retryable("the body is not a chat completion: " + _snippet(data)) from None
        return text, pt, ct

    def _call(self, req: Request) -> Completion:
        payload = {"model": self.model, "messages": req.messages, "max_tokens": req.max_tokens, "stream": False}
        payload.update(self.request_fields())
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        error = "no attempt"
        for attempt in range(self.retries + 1):
            try:
                text, pt, ct = self._once(body)
                return Completion(text, pt, ct, None, attempt + 1)
            except _Fatal as e:
                return Completion(None, 0, 0, self.redact(str(e)), attempt + 1)
            except _Retryable as e:
                error = self.redact(str(e))
                if attempt == self.retries:
                    break
                delay = min(self.max_backoff, self.backoff * (2**attempt)) * (0.5 + random.random() / 2)
                if e.retry_after is not None:
                    delay = max(delay, min(e.retry_after, self.max_backoff))
                log.debug("judge call failed (%s), retry %d in %.2f s", error, attempt + 1, delay)
                time.sleep(delay)
        return Completion(None, 0, 0, f"{error} (after {self.retries + 1} attempts)", self.retries + 1)

    def complete_batch(self, requests: Sequence[Request], on_done: Optional[OnDone] = None) -> list[Completion]:
        out: list[Optional[Completion]] = [None] * len(requests)
        if not requests:
            return []

        def work(i: int) -> None:
            try:
                c = self._call(requests[i])
            except Exception as e:  # noqa: BLE001  a bug in one call must not kill the batch
                c = Completion(None, 0, 0, self.redact(f"{type(e).__name__}: {e}"), 1)
            out[i] = c
            if on_done is not None:
                on_done(i, c)

        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests)), thread_name_prefix="dlcot-judge") as ex:
            list(ex.map(work, range(len(requests))))
        return [c if c is not None else Completion(None, error="not run") for c in out]


def _retry_after(v: Optional[str]) -> Optional[float]:
    try:
        return max(0.0, float(v)) if v is not None else None
    except ValueError:
        return None


def _snippet(data: bytes, n: int = 80) -> str:
    s = data[:n].decode("utf-8", "replace").encode("unicode_escape").decode("ascii")
    return repr(s + ("..." if len(data) > n else ""))


# ---- local transformers model --------------------------------------------------------------


class LocalJudge(JudgeClient):
    """A judge run in this process by transformers from a local model folder (greedy decoding,
    batched with left padding; the chat template when the tokenizer has one).

    Args:
        model_path: A folder with ``config.json``, weights and a tokenizer (nothing is downloaded).
        device: "auto" (GPU if present), "cpu", "cuda", ...
        dtype: "auto" (the checkpoint's), "float32", "float16", "bfloat16".
        batch_size: Requests per ``generate`` call.
        max_input_tokens: Longer prompts keep their end (the question sits there).
        name: The model's name in cache keys (default: the folder's resolved path).
    """

    backend = "local"

    def __init__(
        self,
        model_path: Union[str, os.PathLike],
        *,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 8,
        max_input_tokens: int = 8192,
        name: Optional[str] = None,
    ):
        path = Path(model_path)
        if not (path / "config.json").is_file():
            raise ValueError(f"invalid `model_path`: {str(path)!r} is not a model folder (no config.json)")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"invalid `batch_size`: must be a positive int, got {batch_size!r}")
        if dtype not in ("auto", "float32", "float16", "bfloat16"):
            raise ValueError(f"invalid `dtype`: {dtype!r}; choose auto, float32, float16 or bfloat16")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise ImportError("dlcot.judge.LocalJudge needs torch and transformers (pip install 'dlcot[gpu]')") from e
        from dlcot.judge._embed import resolve_device

        self.path = path
        self.model = name or str(path.resolve())
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.max_input_tokens = max_input_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        import transformers

        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
        dtype_kw = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"  # renamed in 4.56
        torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
        self.lm: Any = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, **{dtype_kw: torch_dtype})
        self.lm.to(self.device)
        self.lm.eval()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalJudge({str(self.path)!r}, device={self.device!r})"

    def _prompt(self, messages: list[dict[str, str]]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant: "

    def complete_batch(self, requests: Sequence[Request], on_done: Optional[OnDone] = None) -> list[Completion]:
        import torch

        out: list[Completion] = []
        with self._lock:  # one generate at a time on one model
            for k in range(0, len(requests), self.batch_size):
                chunk = requests[k : k + self.batch_size]
                try:
                    prompts = [self._prompt(r.messages) for r in chunk]
                    self.tokenizer.truncation_side = "left"
                    enc = self.tokenizer(
                        prompts,
                        return_tensors="pt",
                        padding=True,
                        truncation=True,
                        max_length=self.max_input_tokens,
                        add_special_tokens=False,
                    ).to(self.device)
                    with torch.inference_mode():
                        gen = self.lm.generate(
                            **enc,
                            max_new_tokens=max(r.max_tokens for r in chunk),
                            do_sample=False,
                            pad_token_id=self.tokenizer.pad_token_id,
                        )
                    width = enc["input_ids"].shape[1]
                    res = []
                    for j, r in enumerate(chunk):
                        new = gen[j, width : width + r.max_tokens]
                        eos = self.tokenizer.eos_token_id
                        if eos is not None:
                            ids = new.tolist()
                            if eos in ids:
                                new = new[: ids.index(eos)]
                        text = str(self.tokenizer.decode(new, skip_special_tokens=True))
                        pt = int(enc["attention_mask"][j].sum())
                        res.append(Completion(text, pt, int(new.shape[0])))
                except Exception as e:  # noqa: BLE001  a failed batch becomes failed calls, not a crash
                    res = [Completion(None, 0, 0, f"{type(e).__name__}: {e}"[:300]) for _ in chunk]
                for j, c in enumerate(res):
                    out.append(c)
                    if on_done is not None:
                        on_done(k + j, c)
        return out

    def close(self) -> None:
        self.lm = None
