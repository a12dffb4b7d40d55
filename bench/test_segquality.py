"""Segmentation quality against DeltaBench's human sections (off by default, like all of bench/).

Run with ``python -m pytest bench/test_segquality.py``. Asserts only what must hold whatever
the lexicon: the gold sections can be placed, and dlcot's solution boundaries beat random ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import segquality as sq  # noqa: E402

DATA = sq.DEFAULT_FILE
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} not found (../shared/data)")


@pytest.fixture(scope="module")
def report() -> sq.Report:
    return sq.score(DATA, draws=100, seed=0)


def test_loader_places_gold_sections() -> None:
    golds = sq.load_gold(DATA)
    assert golds
    total = sum(len(g.sections) for g in golds)
    placed = sum(g.n_placed for g in golds)
    assert total > 0 and placed / total >= 0.95, f"{placed}/{total} sections placed"
    for g in golds:
        starts = [s.start for s in g.sections if s.ok]
        assert starts == sorted(starts), g.id
        for s in g.sections:
            if s.ok:
                # placed text matches the annotation once whitespace and case are ignored
                assert sq._squeeze(g.text[s.start : s.end]) == sq._squeeze(s.content) or s.placed == "paragraphs"


def test_loader_reads_python_repr_fields(tmp_path: Path) -> None:
    # other copies of DeltaBench store `sections` and the label list as Python-repr strings
    rec = json.loads(DATA.read_text(encoding="utf-8").splitlines()[0])
    rec["sections"] = repr(rec["sections"])
    rec["sections_labeled_info"] = repr(rec["sections_labeled_info"])
    rec["stragegy_shift_section_numbers"] = repr(rec["stragegy_shift_section_numbers"])
    f = tmp_path / "one.jsonl"
    f.write_text(json.dumps(rec) + "\n", encoding="utf-8")
    (g,) = sq.load_gold(f)
    (ref,) = sq.load_gold(DATA)[:1]
    assert [(s.start, s.end, s.strategy_shift) for s in g.sections] == [
        (s.start, s.end, s.strategy_shift) for s in ref.sections
    ]


def test_matching_is_one_to_one() -> None:
    assert sq.match([5], [4, 5, 6], 1) == [(5, 5)]
    assert sorted(sq.match([4, 5], [5], 1)) == [(5, 5)]
    assert sq.match([3], [5], 1) == []
    m = sq.PRF(*(1, 3, 1))
    assert m.p == pytest.approx(1 / 3) and m.r == 1.0


def test_solution_boundaries_beat_random(report: sq.Report) -> None:
    f1 = report.overall["shift"].f1
    assert f1 is not None
    assert f1 > report.baselines["shift"]["random_f1"]


def test_report_renders(report: sq.Report) -> None:
    md = sq.render(report, [DATA])
    assert "| strategy shift vs solution starts (±1)" in md
