"""The Rust core under libFuzzer for a CI-sized time: every cargo-fuzz target, a few seconds each.

The targets (rust/fuzz/fuzz_targets/) feed arbitrary bytes to the entry points that take
untrusted text: parsing and segmentation, pruning, answer extraction, normalisation and
equivalence, shingling / MinHash / LSH / in-trace clustering, the cue matchers. A panic, an
AddressSanitizer report (the MinHash kernels use SIMD intrinsics), a stack overflow or a unit
slower than 60 s fails the test, with the input libFuzzer saved. (Units take milliseconds; the
limit is loose because a shared 2-core machine can stall a process for seconds, which once made
a 5 ms unit a 24 s "timeout".) ``bench/fuzz.sh`` is the long
run (10 minutes per target); rust/fuzz/README.md says how to replay a crash.

Skipped unless cargo-fuzz is installed (``cargo install cargo-fuzz``; it needs nightly flags,
which ``RUSTC_BOOTSTRAP=1`` unlocks on the stable toolchain). ``DLCOT_FUZZ_SECONDS`` sets the
time per target (default 8; 0 skips). The seed corpora are made from real traces first
(rust/fuzz/seeds.py); the corpus the fuzzer grows stays in rust/fuzz/corpus/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FUZZ = ROOT / "rust" / "fuzz"
TARGETS = sorted(p.stem for p in (FUZZ / "fuzz_targets").glob("*.rs") if p.stem != "common")
SECONDS = int(os.environ.get("DLCOT_FUZZ_SECONDS", "8"))
ENV = {**os.environ, "RUSTC_BOOTSTRAP": "1"}

pytestmark = [
    pytest.mark.skipif(shutil.which("cargo-fuzz") is None, reason="cargo-fuzz is not installed (cargo install cargo-fuzz)"),
    pytest.mark.skipif(SECONDS <= 0, reason="DLCOT_FUZZ_SECONDS=0"),
]


def test_targets_are_declared():
    """Every file in fuzz_targets/ is a [[bin]] of the fuzz crate (cargo fuzz list sees it)."""
    manifest = (FUZZ / "Cargo.toml").read_text(encoding="utf-8")
    for t in TARGETS:
        assert f'name = "{t}"' in manifest and f'path = "fuzz_targets/{t}.rs"' in manifest, t


@pytest.fixture(scope="module")
def built() -> None:
    subprocess.run([sys.executable, str(FUZZ / "seeds.py"), "--per-source", "20"], check=True, capture_output=True)
    proc = subprocess.run(["cargo", "fuzz", "build", "--fuzz-dir", str(FUZZ)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=1200, check=False)  # fmt: skip
    if proc.returncode != 0:
        pytest.fail(f"cargo fuzz build failed:\n{proc.stderr[-4000:]}")


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz(built, target):
    artifacts = FUZZ / "artifacts" / target
    before = set(artifacts.glob("*")) if artifacts.exists() else set()
    args = [f"-max_total_time={SECONDS}", "-max_len=16384", "-timeout=60", "-rss_limit_mb=2048",
            f"-dict={FUZZ / 'dlcot.dict'}", "-print_final_stats=1"]  # fmt: skip
    proc = subprocess.run(["cargo", "fuzz", "run", "--fuzz-dir", str(FUZZ), target, "--", *args], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=SECONDS + 600, check=False)  # fmt: skip
    found = sorted(set(artifacts.glob("*")) - before) if artifacts.exists() else []
    if proc.returncode != 0 or found:
        log = proc.stderr
        first = next((x for x in log.splitlines() if "panicked at" in x or "ERROR:" in x), "")
        pytest.fail(f"fuzz target {target} failed (exit {proc.returncode}): {first}\ninputs: {[str(p) for p in found]}\n"
                    f"replay: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir rust/fuzz {target} <input>\n{log[-4000:]}")  # fmt: skip
    assert "stat::number_of_executed_units" in proc.stderr
