"""The HTTP judge backend against real servers on 127.0.0.1 (no mock of the HTTP layer): a
small ``http.server`` that answers, fails, stalls, throttles or echoes secrets, and raw socket
servers that send garbage or close the connection. The run always completes with the rules'
decision and the failures counted, and the API key never leaves the environment variable.
(``transformers serve`` with a tiny model: tests/test_judge_models.py.)
"""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import dlcot
from dlcot.io import Record, iter_records
from dlcot.judge import HTTPJudge, Judging, Request

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sky_t1_sample.jsonl"
REQ = Request([{"role": "user", "content": "Is B redundant with A? Answer {\"same\": true}"}], 8)


def completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
        }
    ).encode()


@contextlib.contextmanager
def http_server(respond):
    """A threaded HTTP/1.1 server; ``respond(handler, body_json, n)`` -> (status, headers, bytes)."""
    state = {"n": 0, "inflight": 0, "max_inflight": 0, "auth": [], "bodies": []}
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with lock:
                state["n"] += 1
                n = state["n"]
                state["inflight"] += 1
                state["max_inflight"] = max(state["max_inflight"], state["inflight"])
                state["auth"].append(self.headers.get("Authorization"))
                state["bodies"].append(body)
            try:
                status, headers, data = respond(self, body, n)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)
            finally:
                with lock:
                    state["inflight"] -= 1

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1", state
    finally:
        srv.shutdown()
        srv.server_close()


@contextlib.contextmanager
def socket_server(action):
    """A raw TCP server; ``action(conn)`` runs for each connection, which is then closed."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    stop = threading.Event()
    count = {"n": 0}

    def loop():
        s.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = s.accept()
            except OSError:
                continue
            count["n"] += 1
            try:
                action(conn)
            except OSError:
                pass
            finally:
                conn.close()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{s.getsockname()[1]}", count
    finally:
        stop.set()
        t.join(2)
        s.close()


def _read_request(conn):
    conn.settimeout(2)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def judge(url, **kw):
    kw.setdefault("retries", 2)
    kw.setdefault("backoff", 0.01)
    kw.setdefault("timeout", 5.0)
    return HTTPJudge(url, "tiny", **kw)


# ---- the client -----------------------------------------------------------------------------


def test_a_good_server_answers_with_tokens_and_the_request_is_openai_shaped():
    with http_server(lambda h, b, n: (200, {"Content-Type": "application/json"}, completion('{"same": true}'))) as (url, st):
        (c,) = judge(url).complete_batch([REQ])
    assert (c.text, c.prompt_tokens, c.completion_tokens, c.error, c.attempts) == ('{"same": true}', 11, 3, None, 1)
    body = st["bodies"][0]
    assert body["model"] == "tiny" and body["messages"] == REQ.messages and body["max_tokens"] == 8
    assert body["temperature"] == 0.0 and body["stream"] is False


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1/chat/completions", "http://127.0.0.1:9/api/"])
def test_base_urls_resolve_to_the_chat_endpoint(url):
    assert judge(url).path.endswith("/chat/completions") and judge(url).path.count("/v1") <= 1


@pytest.mark.parametrize("url", ["ftp://127.0.0.1", "127.0.0.1:8000", "http://user:hunter22@127.0.0.1/v1", "http://127.0.0.1/v1?key=hunter22"])
def test_bad_urls_are_refused_without_echoing_credentials(url):
    with pytest.raises(ValueError, match="url") as e:
        HTTPJudge(url, "m")
    assert "hunter22" not in str(e.value)


def test_retries_back_off_then_succeed():
    def flaky(h, b, n):
        return (503, {}, b"busy") if n <= 2 else (200, {}, completion("ok"))

    with http_server(flaky) as (url, st):
        t = time.perf_counter()
        (c,) = judge(url, retries=3, backoff=0.1).complete_batch([REQ])
        dt = time.perf_counter() - t
    assert c.text == "ok" and c.attempts == 3 and st["n"] == 3
    assert dt >= 0.5 * (0.1 + 0.2)  # two backoffs, jitter at most halves them


def test_retry_after_is_honoured():
    def throttled(h, b, n):
        return (429, {"Retry-After": "0.4"}, b"slow down") if n == 1 else (200, {}, completion("ok"))

    with http_server(throttled) as (url, _):
        t = time.perf_counter()
        (c,) = judge(url, backoff=0.01).complete_batch([REQ])
    assert c.text == "ok" and time.perf_counter() - t >= 0.4


def test_client_errors_are_not_retried():
    with http_server(lambda h, b, n: (400, {}, b'{"error": "bad model"}')) as (url, st):
        (c,) = judge(url, retries=3).complete_batch([REQ])
    assert c.text is None and c.attempts == 1 and st["n"] == 1 and "HTTP 400" in c.error


def test_a_stalled_server_times_out_within_the_budget():
    def stall(h, b, n):
        time.sleep(1.5)
        return 200, {}, completion("late")

    with http_server(stall) as (url, _):
        t = time.perf_counter()
        (c,) = judge(url, timeout=0.3, retries=1, backoff=0.01).complete_batch([REQ])
        dt = time.perf_counter() - t
    assert c.text is None and "timed out" in c.error and c.attempts == 2
    assert dt < 2 * 0.3 + 1.0


def test_a_trickling_server_hits_the_total_deadline():
    def trickle(conn):
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: application/json\r\n\r\n")
        for _ in range(40):
            conn.sendall(b" ")
            time.sleep(0.05)

    with socket_server(trickle) as (url, _):
        t = time.perf_counter()
        (c,) = judge(url, timeout=0.5, retries=0).complete_batch([REQ])
    assert c.text is None and "timed out" in c.error and time.perf_counter() - t < 1.5


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("closes at once", lambda conn: None),
        ("closes after reading", _read_request),
        ("answers garbage bytes", lambda conn: (_read_request(conn), conn.sendall(b"\x00\xff garbage \x13\x37\r\n\r\n"))),
        (
            "cuts the body short",
            lambda conn: (_read_request(conn), conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"choi")),
        ),
    ],
)
def test_broken_servers_become_failed_completions(name, action):
    with socket_server(action) as (url, count):
        cs = judge(url, retries=2).complete_batch([REQ, REQ])
    assert all(c.text is None and c.attempts == 3 and "attempts" in c.error for c in cs), name
    assert count["n"] >= 6


@pytest.mark.parametrize(
    "body",
    [b"<html>502 Bad Gateway</html>", b'{"choices": []}', b'{"choices": [{"message": {"content": null}}]}', b"\x89PNG\r\n\x1a\n"],
)
def test_a_200_that_is_not_a_chat_completion_is_retried_then_failed(body):
    with http_server(lambda h, b, n: (200, {}, body)) as (url, st):
        (c,) = judge(url, retries=1).complete_batch([REQ])
    assert c.text is None and "not a chat completion" in c.error and st["n"] == 2


def test_a_server_dropping_kept_alive_connections_costs_no_retry():
    def once(conn):  # HTTP/1.1 without "Connection: close", then the socket is closed anyway
        _read_request(conn)
        body = completion("ok")
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    with socket_server(once) as (url, count):
        j = judge(url, concurrency=1, retries=0)
        cs = j.complete_batch([REQ] * 4)
    assert [c.text for c in cs] == ["ok"] * 4 and count["n"] == 4


def test_concurrency_is_bounded():
    def slow(h, b, n):
        time.sleep(0.15)
        return 200, {}, completion(str(n))

    with http_server(slow) as (url, st):
        t = time.perf_counter()
        cs = judge(url, concurrency=3).complete_batch([REQ] * 9)
        dt = time.perf_counter() - t
    assert all(c.text for c in cs) and st["max_inflight"] <= 3 and st["max_inflight"] >= 2
    assert dt >= 3 * 0.15 * 0.9


# ---- the engine over HTTP ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def traces():
    recs = [r for r in iter_records(str(SAMPLE)) if isinstance(r, Record)]
    return [dlcot.parse(r.response, problem=r.problem, reference=r.answer) for r in recs]


def test_a_run_against_a_dead_server_completes_with_the_rules(traces):
    with socket_server(lambda conn: None) as (url, _):
        j = Judging("lexical", judge=judge(url, retries=1), fix_errors=True)
        ds = j.decide_batch(None, traces)
    rules = Judging("lexical").decide_batch(None, traces)
    assert [(d.solution_clusters, d.check_clusters) for d in ds] == [(r.solution_clusters, r.check_clusters) for r in rules]
    assert all(d.error_spans == [] and (d.labels is None or set(d.labels) == {None}) for d in ds)
    assert j.stats.failures == sum(d.failures for d in ds) > 0 and j.stats.calls == j.stats.failures


def test_the_api_key_goes_only_in_the_header(traces, tmp_path, monkeypatch, caplog, capsys):
    key = "sk-dlcot-test-" + secrets.token_hex(12)
    monkeypatch.setenv("DLCOT_TEST_KEY", key)
    caplog.set_level(logging.DEBUG)

    def leaky(h, b, n):  # a server gone wrong: echoes the Authorization header back
        auth = h.headers.get("Authorization", "")
        if n % 3 == 0:
            return 500, {}, f"internal error for {auth}".encode()
        if n % 3 == 1:
            return 200, {}, completion(f"I was called with {auth} " + '{"same": tru')
        return 200, {}, f"not json {auth}".encode()

    cache = tmp_path / "judge.sqlite"
    with http_server(leaky) as (url, st):
        hj = HTTPJudge(url, "tiny", api_key_env="DLCOT_TEST_KEY", retries=1, backoff=0.01)
        j = Judging("lexical", judge=hj, fix_errors=True, cache=cache, tasks=["approach", "correctness", "errors", "segment"])
        ds = j.decide_batch(None, traces)
        print(ds, j.options(), repr(hj), repr(j.cache))
    assert st["auth"] and all(a == f"Bearer {key}" for a in st["auth"])
    assert sum(len(d.issues) for d in ds) > 0 and any("***" in i for d in ds for i in d.issues)
    outs = {
        "issues": json.dumps([d.issues for d in ds]),
        "decisions": repr(ds),
        "options": json.dumps(j.options()),
        "repr": repr(hj),
        "pickle": pickle.dumps(hj).decode("latin-1"),
        "log": caplog.text,
        "stdout+stderr": "".join(capsys.readouterr()),
    }
    for p in tmp_path.iterdir():  # the cache, its WAL and shared-memory files
        outs[p.name] = p.read_bytes().decode("latin-1")
    assert len(outs) >= 8
    for name, text in outs.items():
        assert key not in text, f"the API key leaked into {name}"
        assert key[10:] not in text, name


def test_no_key_no_header(monkeypatch):
    monkeypatch.delenv("DLCOT_JUDGE_API_KEY", raising=False)
    with http_server(lambda h, b, n: (200, {}, completion("ok"))) as (url, st):
        judge(url).complete_batch([REQ])
    assert st["auth"] == [None]
