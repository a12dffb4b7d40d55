"""The package as a user meets it: light import, public API, typed errors naming the argument."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

import dlcot


def test_import_is_light_and_pulls_no_heavy_dependency():
    code = (
        "import sys, time; t = time.perf_counter(); import dlcot, dlcot.cli, dlcot.io; "
        "dt = time.perf_counter() - t; "
        "heavy = [m for m in ('torch', 'transformers', 'datasets', 'ray', 'pyarrow', 'zstandard') if m in sys.modules]; "
        "print(dt, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    dt, heavy = out.split(" ", 1)
    assert heavy.strip() == "[]"
    assert float(dt) < 0.5


def test_public_api_is_listed():
    for name in dlcot.__all__:
        assert hasattr(dlcot, name), name
    assert dlcot.parse.__module__ == "dlcot._core" and "parse" in dlcot.__all__


@pytest.mark.parametrize(
    ("call", "exc", "names"),
    [
        (lambda: dlcot.parse_batch("not a list"), TypeError, "texts"),
        (lambda: dlcot.parse_batch(["ok", 3]), TypeError, "texts[1]"),
        (lambda: dlcot.parse_batch(["a"], problems=["p", "q"]), ValueError, "problems"),
        (lambda: dlcot.parse_batch(["a"], problems=[3]), TypeError, "problems[0]"),
        (lambda: dlcot.parse_batch(["a"], num_threads=0), ValueError, "num_threads"),
        (lambda: dlcot.parse(3), TypeError, "text"),
        (lambda: dlcot.extract_answer_batch(["a"], num_threads=0), ValueError, "num_threads"),
    ],
)
def test_misuse_raises_a_typed_error_naming_the_argument(call, exc, names):
    with pytest.raises(exc) as info:
        call()
    assert names in str(info.value)


def test_bad_environment_thread_count_is_named(monkeypatch):
    monkeypatch.setenv("DLCOT_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="DLCOT_NUM_THREADS"):
        dlcot.parse_batch(["a", "b"])
    monkeypatch.setenv("DLCOT_NUM_THREADS", "1")
    assert len(dlcot.parse_batch(["a", "b"])) == 2


def test_values_are_frozen_and_pickle():
    t = dlcot.parse("Okay, so I need 2+3.\n\n2 + 3 = 5.\n\nAlternatively, 5.\n</think>\n\n\\boxed{5}", problem="2+3?")
    for obj in [t.sections[0], t.solutions[0], t.issues[0]]:
        with pytest.raises(AttributeError):
            obj.start = 1  # frozen
        assert pickle.loads(pickle.dumps(obj)) == obj
    t2 = pickle.loads(pickle.dumps(t))
    assert t2.to_json() == t.to_json() and t2.problem == "2+3?"


def test_batch_after_fork_runs_serially():
    # datasets.map(num_proc=N) forks; the child must not wait on the parent's rayon pool
    code = (
        "import os, dlcot; dlcot.parse_batch(['a'] * 64, num_threads=2); pid = os.fork()\n"
        "if pid == 0:\n"
        "    r = dlcot.parse_batch(['x = 1.\\n\\nso x'] * 64, num_threads=2); os._exit(0 if len(r) == 64 else 3)\n"
        "_, status = os.waitpid(pid, 0); print(os.waitstatus_to_exitcode(status))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "0"
