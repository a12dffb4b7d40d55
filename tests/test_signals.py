"""Ctrl-C during a long Rust batch call: the core releases the GIL in chunks and checks for
signals between them, so KeyboardInterrupt arrives promptly, not when the batch ends."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sky_t1_sample.jsonl"

SCRIPT = r"""
import signal, sys, time
# as in a terminal: a child started in the background by a non-interactive shell inherits
# SIGINT ignored, and Python then installs no KeyboardInterrupt handler
signal.signal(signal.SIGINT, signal.default_int_handler)
import dlcot
from dlcot.io import Record, iter_records
texts = [r.response for r in iter_records(sys.argv[1]) if isinstance(r, Record)] * int(sys.argv[3])
call = sys.argv[2]
print("ready", len(texts), flush=True)
t = time.perf_counter()
try:
    if call == "prune_batch":
        dlcot.prune_batch(texts, num_threads=1)
    elif call == "parse_batch":
        dlcot.parse_batch(texts, num_threads=1)
    elif call == "signatures":
        dlcot.MinHasher().signatures(texts, num_threads=1)
except KeyboardInterrupt:
    print("interrupted after", time.perf_counter() - t, flush=True)
    sys.exit(130)
print("finished after", time.perf_counter() - t, flush=True)
"""


@pytest.mark.parametrize("call", ["prune_batch", "parse_batch", "signatures"])
def test_ctrl_c_interrupts_a_long_batch_promptly(call):
    # enough copies that the whole call takes far longer than the wait below
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(SAMPLE), call, "20000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("ready")
    time.sleep(1.0)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    waited = time.perf_counter() - sent
    assert proc.returncode == 130, (out, err)
    assert "interrupted after" in out
    assert waited < 5.0, f"took {waited:.1f} s to stop after Ctrl-C"
