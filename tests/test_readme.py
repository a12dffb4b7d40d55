"""The README's Python blocks run as written, and its two set-up commands stay exactly two."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 2


def test_readme_blocks_run_in_order(monkeypatch):
    """The blocks read as one session (later blocks use names from earlier ones)."""
    monkeypatch.chdir(ROOT)  # blocks use repository-relative paths (examples/...)
    namespace: dict = {}
    for i, block in enumerate(BLOCKS):
        exec(compile(block, f"README.md python block {i}", "exec"), namespace)


def test_readme_setup_commands_and_ci_agree():
    first = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    commands = [line for line in first.splitlines() if line.strip() and not line.startswith("#")]
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].strip() in ci, "CI must run the README's test command"
