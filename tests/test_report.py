"""report.html: one self-contained, deterministic page (tables + embedded PNG plots)."""

from __future__ import annotations

import base64
import io
import json
import random
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dlcot.report import PLOT_NAMES, write_report

IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
VOID = {"meta", "img", "br", "hr", "link", "input"}


def realistic() -> tuple[dict, dict]:
    """A run of 1,000 records in tokens, shaped like a real one (sizes over two orders of
    magnitude, most traces with one solution, the first correct solution mostly the first)."""
    rng = random.Random(7)
    before, after, reduction = [], [], []
    for _ in range(900):
        b = int(10 ** rng.uniform(1.8, 4.4))
        r = 0.0 if rng.random() < 0.55 else rng.betavariate(2, 3)
        a = max(1, int(b * (1 - r)))
        before.append(b)
        after.append(a)
        reduction.append(1 - a / b)
    tb, ta = sum(before), sum(after)
    policies = {
        name: {"records": 1000, "kept": kept, "tokens_before": b, "tokens_after": a, "reduction": 1 - a / b}
        for name, kept, b, a in (
            ("none", 1000, 2_000_000, 2_000_000),
            ("dedup-only", 1000, 2_000_000, 1_800_000),
            ("first-correct", 900, 1_700_000, 900_000),
            ("first-correct-reflect", 900, 1_700_000, 1_100_000),
            ("dlcot", 900, 1_700_000, 1_000_000),
        )
    }
    stats = {
        "policy": "dlcot",
        "options": {"policy": "dlcot", "keep_unsolvable": False, "threshold": 0.5, "symbolic": True,
                    "tokenizer": "qwen2.5", "format": "messages"},
        "unit": "tokens",
        "records_in": 1000,
        "records_out": 900,
        "rejected": {"unsolvable": 80, "no-reference": 15, "invalid-json": 5},
        "answer_changed_fallbacks": 3,
        "tokens_before": tb,
        "tokens_after": ta,
        "reduction": 1 - ta / tb,
        "per_record": {
            "tokens_before": {"p50": 1200, "p90": 9000, "p99": 20000, "mean": 2500.5, "max": 25000},
            "tokens_after": {"p50": 900, "p90": 7000, "p99": 18000, "mean": 1900.25, "max": 24000},
            "reduction": {"p50": 0.0, "p90": 0.55, "p99": 0.8, "mean": 0.18, "max": 0.9},
            "solutions": {"p50": 1, "p90": 4, "p99": 12, "mean": 1.9, "max": 31},
            "checks": {"p50": 0, "p90": 2, "p99": 6, "mean": 0.7, "max": 9},
            "first_correct": {"p50": 0, "p90": 1, "p99": 6, "mean": 0.3, "max": 14},
        },
        "first_correct_histogram": {0: 700, 1: 110, 2: 40, 3: 20, 4: 10, 6: 5, 10: 3},
        "solutions_histogram": {0: 20, 1: 600, 2: 150, 3: 90, 4: 50, 5: 30, 6: 20, 8: 15, 11: 10, 14: 8, 20: 7},
        "removed_parts_by_reason": {"after-first-correct": 420, "redundant-of": 310, "incorrect": 95, "incomplete": 40},
        "removed_chars_by_reason": {"after-first-correct": 2_100_000, "redundant-of": 640_000, "incorrect": 210_000,
                                    "incomplete": 35_000},
        "removed_parts_by_kind": {"solution": 600, "check": 240, "text": 25},
        "outcome_efficiency": 0.6132,
        "process_efficiency": 0.8457,
        "efficiency_records": 985,
        "policies": policies,
    }
    return stats, {"before": before, "after": after, "reduction": reduction}


def empty() -> tuple[dict, dict]:
    stats = {
        "policy": "first-correct",
        "options": {},
        "unit": "chars",
        "records_in": 0,
        "records_out": 0,
        "rejected": {},
        "answer_changed_fallbacks": 0,
        "chars_before": 0,
        "chars_after": 0,
        "reduction": 0.0,
        "per_record": {"chars_before": {}, "chars_after": {}, "reduction": {}, "solutions": {}, "checks": {},
                       "first_correct": {}},
        "first_correct_histogram": {},
        "solutions_histogram": {},
        "removed_parts_by_reason": {},
        "removed_chars_by_reason": {},
        "removed_parts_by_kind": {},
        "outcome_efficiency": None,
        "process_efficiency": None,
        "efficiency_records": 0,
    }
    return stats, {"before": [], "after": [], "reduction": []}


class _Checker(HTMLParser):
    """Every non-void tag closed, in order."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def check_html(text: str) -> _Checker:
    assert text.startswith("<!DOCTYPE html>")
    c = _Checker()
    c.feed(text)
    c.close()
    assert not c.errors, c.errors[:5]
    assert not c.stack, c.stack
    for tag in ("script", "link", "iframe"):
        assert tag not in c.tags, f"no <{tag}>: the page is self-contained and needs no JavaScript"
    assert "http://" not in text and "https://" not in text, "no external assets"
    return c


def pngs_of(text: str) -> list[bytes]:
    return [base64.b64decode(m, validate=True) for m in IMG.findall(text)]


def assert_pngs(blobs: list[bytes]) -> None:
    import matplotlib.image

    assert len(blobs) == len(PLOT_NAMES) == 5
    for b in blobs:
        assert b.startswith(PNG_MAGIC)
        img = matplotlib.image.imread(io.BytesIO(b), format="png")
        assert img.shape[:2] == (350, 700), img.shape
        assert img.std() > 0, "not a blank image"


@pytest.fixture(scope="module")
def realistic_report(tmp_path_factory) -> Path:
    pytest.importorskip("matplotlib")
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, *realistic())
    return path


def test_realistic_report(realistic_report: Path):
    stats, _ = realistic()
    text = realistic_report.read_text(encoding="utf-8")
    check_html(text)
    assert "<title>dlcot report: dlcot</title>" in text
    # headline: in = out + rejected, with every reason; sizes and reduction; fallbacks
    assert "1,000 records in = 900 kept + 100 rejected (unsolvable 80, no-reference 15, invalid-json 5)" in text
    tb, ta = stats["tokens_before"], stats["tokens_after"]
    assert f"{tb:,} &rarr; {ta:,} tokens" in text
    assert f"&minus;{100 * stats['reduction']:.1f}%" in text
    assert "3 kept records fell back" in text
    # policy table, this run's row highlighted
    assert re.search(r'<tr class="current"><td class="l">dlcot \(this run\)</td><td>1,000</td><td>900</td>', text)
    assert text.count('class="current"') == 1
    assert "41.2%" in text  # dlcot's 1 - 1.0M/1.7M
    assert text.index(">none<") < text.index(">dedup-only<") < text.index(">first-correct<")
    # efficiency with definitions
    assert "Chen et al. 2024" in text
    assert "61.3%" in text and "84.6%" in text and "985" in text
    assert "up to the end of its first correct solution" in text and "distinct solutions" in text
    # removal reasons: counts, chars, fixed order
    for s in ("<code>redundant-of</code>", "310", "640,000", "<code>after-first-correct</code>", "2,100,000", "865"):
        assert s in text, s
    assert text.index("<code>redundant-of</code>") < text.index("<code>after-first-correct</code>")
    assert "<code>solution</code>" in text and "600" in text
    assert "pip install matplotlib" not in text
    assert_pngs(pngs_of(text))
    for name, _ in PLOT_NAMES:
        assert f'id="plot-{name}"' in text


def test_deterministic(realistic_report: Path, tmp_path: Path):
    stats, plot = realistic()
    b, c = tmp_path / "b.html", tmp_path / "c.html"
    write_report(b, stats, plot)
    assert realistic_report.read_bytes() == b.read_bytes()
    # stats read back from stats.json (histogram keys become strings) give the same page
    write_report(c, json.loads(json.dumps(stats)), plot)
    assert realistic_report.read_bytes() == c.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.html", "c.html"]  # no .tmp left behind


def test_empty_run(tmp_path: Path):
    pytest.importorskip("matplotlib")
    stats, plot = empty()
    path = tmp_path / "report.html"
    write_report(path, stats, plot)
    text = path.read_text(encoding="utf-8")
    check_html(text)
    assert "0 records in = 0 kept + 0 rejected" in text
    assert "0 &rarr; 0 chars" in text
    assert "n/a" in text and "Nothing was removed" in text
    assert "Reduction by policy" not in text
    assert_pngs(pngs_of(text))
    # and the barest input: no plot dict at all, missing keys
    write_report(path, {"policy": "none", "unit": "chars"}, {})
    check_html(path.read_text(encoding="utf-8"))


def test_one_record_and_odd_values(tmp_path: Path):
    """One kept record, a zero-size response, NaN in a plot list: no errors, still 5 plots."""
    pytest.importorskip("matplotlib")
    stats, _ = empty()
    stats.update(records_in=2, records_out=2, chars_before=10, chars_after=0, reduction=1.0,
                 solutions_histogram={"1": 2}, first_correct_histogram={"0": 2}, removed_parts_by_reason={"incorrect": 1},
                 removed_chars_by_reason={"incorrect": 10}, outcome_efficiency=0.0)
    write_report(tmp_path / "r.html", stats, {"before": [10, 5000], "after": [0, 5000], "reduction": [1.0, float("nan")]})
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    check_html(text)
    assert_pngs(pngs_of(text))
    assert "0.0%" in text  # outcome efficiency 0, not n/a


def test_escaping(tmp_path: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # the tables are what is checked: skip the plots
    stats, plot = realistic()
    evil = "<script>alert('x')</script>"
    stats["policy"] = evil
    stats["rejected"] = {'bad"<b>': 2}
    stats["removed_parts_by_reason"] = {"<i>odd</i>": 1}
    stats["options"] = {"tokenizer": "</code><script>"}
    stats["policies"] = {evil: stats["policies"]["dlcot"]}
    write_report(tmp_path / "r.html", stats, plot)
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    check_html(text)
    assert "<script" not in text and '"<b>' not in text and "<i>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "bad&quot;&lt;b&gt; 2" in text
    assert '<tr class="current">' in text  # matched on the raw name, shown escaped


def test_without_matplotlib(tmp_path: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    stats, plot = realistic()
    write_report(tmp_path / "r.html", stats, plot)
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    check_html(text)
    assert "pip install matplotlib" in text
    assert not IMG.search(text)
    assert "1,000 records in = 900 kept + 100 rejected" in text


def test_import_is_light_and_pyplot_untouched(tmp_path: Path):
    """``import dlcot`` (and dlcot.report) loads no matplotlib; writing a report draws on Agg
    canvases without pyplot, so the user's backend and figures are left alone."""
    pytest.importorskip("matplotlib")
    code = (
        "import sys, dlcot, dlcot.report\n"
        "assert 'matplotlib' not in sys.modules\n"
        f"dlcot.report.write_report(__import__('pathlib').Path({str(tmp_path / 'r.html')!r}), {{'policy': 'dlcot', 'unit': 'chars'}}, {{}})\n"
        "assert 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120)
    assert (tmp_path / "r.html").is_file()


def test_run_writes_report(tmp_path: Path):
    """The run directory's report.html is the page of its stats.json."""
    import dlcot

    pytest.importorskip("matplotlib")
    recs = [
        {"id": "a", "problem": "2+2?", "answer": "4",
         "response": "2+2=4, so the answer is 4.\n\nAlternatively, 2+2=5, so 5.\n\n**Final Answer**\n\\boxed{4}"},
        {"id": "b", "problem": "3+3?", "answer": "6", "response": "3+3=6.\n\n**Final Answer**\n\\boxed{6}"},
        {"id": "c", "problem": "1+1?", "answer": "2", "response": "1+1=3.\n\n**Final Answer**\n\\boxed{3}"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    out = tmp_path / "run"
    stats = dlcot.Pipeline("first-correct", tokenizer="none").run(src, out, compare_policies=0)
    text = (out / "report.html").read_text(encoding="utf-8")
    check_html(text)
    n_rej = sum(stats["rejected"].values())
    assert f"{stats['records_in']:,} records in = {stats['records_out']:,} kept + {n_rej:,} rejected" in text
    assert "policy <code>first-correct</code>" in text
    assert len(pngs_of(text)) == 5
