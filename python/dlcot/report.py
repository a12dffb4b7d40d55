"""``report.html``: one self-contained page summarising a run.

:func:`write_report` turns the stats of :func:`dlcot.run.compute_stats` (also in
``stats.json``) and its per-record values into a single HTML file: no server, no external
assets, no JavaScript. The plots are PNGs drawn with matplotlib's Agg canvas and embedded as
base64 ``data:`` URIs. matplotlib is imported only when a report is written, so
``import dlcot`` stays light; without it the page has the tables and a note on how to get the
plots.

The same inputs give a byte-identical file: no timestamps, no random state, PNG metadata
stripped, and matplotlib's default style whatever the user's ``matplotlibrc`` says.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Optional

__all__ = ["PLOT_NAMES", "render_html", "render_plots", "write_report"]

#: The plots of the report, in page order: (name, caption under it).
PLOT_NAMES = (
    ("sizes", ("Size of each kept response before (outline) and after (filled) pruning; "
               "the vertical lines are the medians.")),
    ("reduction", "Share of each kept response that pruning removed; the first bar holds the unchanged ones."),
    ("removed", "Parts cut from the kept responses, and their characters, by the reason they were cut."),
    ("solutions", ("Number of solutions (attempts at the whole problem) found in each readable trace; "
                   "a grey last bar counts 20 or more.")),
    ("first_correct", ("Which solution is the first to reach the reference answer, in traces that have one; "
                       "a grey last bar counts the 11th or later.")),
)

REASONS = ("redundant-of", "incorrect", "incomplete", "after-first-correct")
REASON_HELP = {
    "redundant-of": "repeats an earlier kept solution or check (same near-duplicate cluster)",
    "incorrect": "a solution whose answer is wrong",
    "incomplete": "a solution that reaches no answer",
    "after-first-correct": "comes after the first correct solution, where the policy cuts everything",
}
KIND_HELP = {
    "solution": "an attempt at the whole problem",
    "check": "a verification step (re-checking, substituting back, reflecting)",
    "text": "stray text between the first correct solution and the conclusion",
}
POLICY_ORDER = ("none", "dedup-only", "first-correct", "first-correct-reflect", "dlcot")

# figure geometry (inches at DPI): 700 x 350 px
FIG_W, FIG_H, DPI = 7.0, 3.5, 100
C_BEFORE, C_AFTER, C_MAIN, C_ALT = "#555555", "#1f77b4", "#1f77b4", "#ff7f0e"

CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}
h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.sub{color:#666;margin-top:0}
.headline{background:#f5f7fa;border:1px solid #dde3ea;border-radius:6px;padding:.6rem 1rem}
.headline li{margin:.2rem 0}
.big{font-size:1.15rem;font-weight:600}
table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}
th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:right}
th{background:#f0f2f5}
td.l,th.l{text-align:left}
tr.current td{background:#fff4d6;font-weight:600}
.note{color:#666;font-size:.88rem}
.warn{background:#fff4d6;border:1px solid #f0d999;border-radius:6px;padding:.5rem 1rem}
figure{margin:1rem 0}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.88rem}
code{background:#f3f3f3;padding:0 .2rem;border-radius:3px}
"""


# ---- formatting helpers ----------------------------------------------------------------------


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _int(x: Any) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.1f}"
    try:
        return f"{int(x):,}"
    except (TypeError, ValueError):
        return _e(x)


def _pct(x: Any, digits: int = 1) -> str:
    if x is None:
        return "n/a"
    try:
        return f"{100 * float(x):.{digits}f}%"
    except (TypeError, ValueError):
        return _e(x)


def _num(x: Any) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) >= 1):
        return f"{int(x):,}"
    if isinstance(x, float):
        return f"{x:,.3g}" if abs(x) < 1 else f"{x:,.1f}"
    return _e(x)


def _int_keys(d: Optional[dict]) -> list[tuple[int, int]]:
    """A histogram dict with int or str keys (stats.json turns them into str) as sorted
    (int key, count) pairs; keys that are not ints are dropped."""
    out: dict[int, int] = {}
    for k, v in (d or {}).items():
        try:
            out[int(k)] = out.get(int(k), 0) + int(v)
        except (TypeError, ValueError):
            continue
    return sorted(out.items())


def _ordered(d: Optional[dict], order: tuple) -> list[tuple[str, Any]]:
    d = d or {}
    first = [(k, d[k]) for k in order if k in d]
    rest = sorted((k, v) for k, v in d.items() if k not in order)
    return first + rest


def _finite(values: Any) -> list[float]:
    out = []
    for v in values or ():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


# ---- plots ---------------------------------------------------------------------------------


def _figure(nrows: int = 1, ncols: int = 1, **kw):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(FIG_W, FIG_H), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, [ax for row in axes for ax in row]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _empty(ax, msg: str) -> None:
    ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes, color="#777", fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_color("#ccc")


def _style(ax) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)


def _median(v: list[float]) -> float:
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _plot_sizes(plot: dict, unit: str) -> bytes:
    import numpy as np
    from matplotlib.ticker import FuncFormatter

    before, after = _finite(plot.get("before")), _finite(plot.get("after"))
    fig, (ax,) = _figure()
    ax.set_title(f"Response size per kept record ({unit})")
    if not before and not after:
        _empty(ax, "no kept records")
        return _png(fig)
    medians = {"before": _median(before) if before else 0.0, "after": _median(after) if after else 0.0}
    allv = before + after
    pos = [v for v in allv if v > 0]
    lo, hi = (min(pos), max(pos)) if pos else (1.0, 1.0)
    log = bool(pos) and hi / lo > 100
    if log:
        # zero-size responses would vanish on a log axis: show them in the lowest bin
        before, after = [max(x, lo) for x in before], [max(x, lo) for x in after]
        bins = np.logspace(math.log10(lo), math.log10(hi) + 1e-9, 41)
        ax.set_xscale("log")
    else:
        lo_all, hi_all = min(allv), max(allv)
        if hi_all == lo_all:
            lo_all, hi_all = lo_all - 0.5, hi_all + 0.5
        bins = np.linspace(lo_all, hi_all, 41)
    # "before" as an outline, "after" filled: light pruning leaves the two nearly equal, and an
    # outline stays visible over (or under) the filled bars
    if before:
        med = medians["before"]
        ax.hist(np.asarray(before), bins=bins, histtype="step", color=C_BEFORE, linewidth=1.4, label=f"before (median {med:,.0f})")
        ax.axvline(max(med, lo) if log else med, color=C_BEFORE, linestyle="--", linewidth=1.2)
    if after:
        med = medians["after"]
        ax.hist(np.asarray(after), bins=bins, color=C_AFTER, alpha=0.55, label=f"after (median {med:,.0f})")
        ax.axvline(max(med, lo) if log else med, color=C_AFTER, linestyle=":", linewidth=1.6)
    ax.yaxis.set_major_locator(_max_ticks(6))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.set_xlabel(f"response size ({unit}{', log scale' if log else ''})")
    ax.set_ylabel("records")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.2)  # headroom for the legend
    ax.legend(frameon=False, loc="upper center", ncol=2)
    _style(ax)
    return _png(fig)


def _plot_reduction(plot: dict) -> bytes:
    import numpy as np
    from matplotlib.ticker import PercentFormatter

    red = [min(1.0, max(0.0, r)) for r in _finite(plot.get("reduction"))]
    fig, (ax,) = _figure()
    ax.set_title("Share of each kept response removed")
    if not red:
        _empty(ax, "no kept records")
        return _png(fig)
    pct = [100 * r for r in red]
    counts, _, bars = ax.hist(np.asarray(pct), bins=np.linspace(0, 100, 21), color=C_MAIN, alpha=0.8, edgecolor="white", linewidth=0.8)
    ax.bar_label(bars, labels=[f"{int(c):,}" if c else "" for c in counts], padding=2, fontsize=8, zorder=5,
                 bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    mean = sum(pct) / len(pct)
    med = _median(pct)
    ax.axvline(mean, color=C_ALT, linestyle="--", linewidth=1.4, label=f"mean {mean:.1f}%", zorder=1.5)
    ax.axvline(med, color="#2ca02c", linestyle=":", linewidth=1.6, label=f"median {med:.1f}%", zorder=1.5)
    unchanged = sum(1 for r in red if r == 0)
    ax.plot([], [], " ", label=f"{unchanged:,} of {len(red):,} not cut at all")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, max(counts) * 1.15)
    ax.yaxis.set_major_locator(_max_ticks(6))
    ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_xlabel("reduction per record (% of its size removed, 5% bins)")
    ax.set_ylabel("records")
    ax.legend(frameon=False, loc="best")
    _style(ax)
    return _png(fig)


def _plot_removed(stats: dict) -> bytes:
    parts = _ordered(stats.get("removed_parts_by_reason"), REASONS)
    chars = dict(stats.get("removed_chars_by_reason") or {})
    if not parts:
        fig, (ax,) = _figure()
        ax.set_title("Parts removed by reason")
        _empty(ax, "nothing removed")
        return _png(fig)
    fig, (ax1, ax2) = _figure(1, 2, sharey=True)
    names = [k for k, _ in parts]
    y = list(range(len(names)))
    for ax, vals, title, color, xlabel in (
        (ax1, [int(v) for _, v in parts], "Parts removed", C_MAIN, "parts"),
        (ax2, [int(chars.get(k, 0) or 0) for k in names], "Characters removed", C_ALT, "characters"),
    ):
        bars = ax.barh(y, vals, color=color, alpha=0.85, height=0.6)
        ax.bar_label(bars, labels=[f"{v:,}" for v in vals], padding=3, fontsize=9)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_xlim(0, max(vals + [1]) * 1.4)
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.ticklabel_format(axis="x", style="plain")
        ax.xaxis.set_major_formatter(_thousands())
        ax.xaxis.set_major_locator(_max_ticks(4))
    ax1.set_yticks(y, names)
    ax1.invert_yaxis()
    return _png(fig)


def _thousands():
    from matplotlib.ticker import FuncFormatter

    def fmt(x, _):
        if abs(x) >= 1e6:
            return f"{x / 1e6:g}M"
        if abs(x) >= 1e3:
            return f"{x / 1e3:g}k"
        return f"{x:,.0f}"

    return FuncFormatter(fmt)


def _max_ticks(n: int):
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=n, integer=True)


def _bar_hist(title: str, pairs: list[tuple[int, int]], cap: int, xlabel: str, label_of, empty: str, color: str) -> bytes:
    from matplotlib.ticker import MaxNLocator

    fig, (ax,) = _figure()
    ax.set_title(title)
    if not pairs:
        _empty(ax, empty)
        return _png(fig)
    lo = min(0, min(k for k, _ in pairs))
    # up to the largest value seen (the open-ended cap bin only when it has traces), and at
    # least a few bins so that one or two bars do not fill the width
    hi = max(max(k for k, _ in pairs), min(cap, lo + 5))
    xs = list(range(lo, hi + 1))
    counts = dict(pairs)
    vals = [counts.get(x, 0) for x in xs]
    colors = [color] * len(xs)
    if cap in counts:
        colors[xs.index(cap)] = "#7f7f7f"
    bars = ax.bar(xs, vals, color=colors, alpha=0.85, width=0.75)
    total = sum(vals)
    if len(xs) <= 25:
        ax.bar_label(bars, labels=[f"{v:,}" if v else "" for v in vals], padding=2, fontsize=8)
    ax.set_xticks(xs, [label_of(x, cap) for x in xs], fontsize=9)
    ax.set_xlim(lo - 0.6, hi + 0.6)
    ax.set_ylim(0, max(vals + [1]) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"traces (of {total:,})")
    _style(ax)
    return _png(fig)


def render_plots(stats: dict, plot: dict) -> dict[str, bytes]:
    """The report's plots as PNG bytes, keyed by the names in :data:`PLOT_NAMES`.

    Needs matplotlib (raises ImportError without it). Drawn on Agg canvases under matplotlib's
    default style, so the user's ``matplotlibrc`` and pyplot's global state play no part.
    """
    import matplotlib
    import matplotlib.style

    unit = str(stats.get("unit") or "chars")
    plot = plot or {}
    with matplotlib.style.context("default"), matplotlib.rc_context({"font.size": 10, "axes.titlesize": 11}):
        return {
            "sizes": _plot_sizes(plot, unit),
            "reduction": _plot_reduction(plot),
            "removed": _plot_removed(stats),
            "solutions": _bar_hist(
                "Solutions per trace (all readable records)",
                _int_keys(stats.get("solutions_histogram")),
                20,
                "solutions found in the trace",
                lambda x, cap: f"{x}+" if x == cap else str(x),
                "no readable records",
                C_MAIN,
            ),
            "first_correct": _bar_hist(
                "Which solution is the first correct one",
                _int_keys(stats.get("first_correct_histogram")),
                10,
                "first correct solution (1 = the trace's first solution)",
                lambda x, cap: f"{x + 1}+" if x == cap else str(x + 1),
                "no trace with a correct solution",
                "#2ca02c",
            ),
        }


# ---- the page ------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]], left: tuple = (0,), row_class: Optional[list[str]] = None) -> str:
    """``header``/``rows`` hold already-escaped HTML; the columns in ``left`` align left (text),
    the others right (numbers)."""
    h = "".join(f'<th class="l">{c}</th>' if i in left else f"<th>{c}</th>" for i, c in enumerate(header))
    body = []
    for r, row in enumerate(rows):
        cls = row_class[r] if row_class and row_class[r] else ""
        tds = "".join(f'<td class="l">{c}</td>' if i in left else f"<td>{c}</td>" for i, c in enumerate(row))
        body.append(f'<tr class="{cls}">{tds}</tr>' if cls else f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{h}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _headline(stats: dict, unit: str) -> str:
    n_in = stats.get("records_in", 0) or 0
    n_out = stats.get("records_out", 0) or 0
    rejected = stats.get("rejected") or {}
    n_rej = sum(int(v) for v in rejected.values())
    rej = ", ".join(f"{_e(k)} {_int(v)}" for k, v in sorted(rejected.items(), key=lambda kv: (-int(kv[1]), str(kv[0]))))
    before = stats.get(f"{unit}_before", 0) or 0
    after = stats.get(f"{unit}_after", 0) or 0
    fb = stats.get("answer_changed_fallbacks", 0) or 0
    items = [
        f'<li class="big">{_int(n_in)} records in = {_int(n_out)} kept + {_int(n_rej)} rejected'
        + (f" ({rej})" if rej else "")
        + "</li>",
        (f'<li class="big">{_int(before)} &rarr; {_int(after)} {_e(unit)} in kept records: '
         f"&minus;{_pct(stats.get('reduction', 0.0))}</li>"),
        (f"<li>{_int(fb)} kept record{'s' if fb != 1 else ''} fell back to the original response because the "
         "pruned text&rsquo;s final answer would have changed</li>"),
    ]
    return f'<ul class="headline">{"".join(items)}</ul>'


def _policies(stats: dict, unit: str, current: str) -> str:
    pol = stats.get("policies")
    if not pol:
        return ""
    rows, classes = [], []
    n = 0
    for name, p in _ordered(pol, POLICY_ORDER):
        p = p or {}
        u = unit if f"{unit}_before" in p else next((k[: -len("_before")] for k in p if k.endswith("_before")), unit)
        n = max(n, int(p.get("records", 0) or 0))
        rows.append(
            [
                _e(name) + (" (this run)" if name == current else ""),
                _int(p.get("records")),
                _int(p.get("kept")),
                f"{_int(p.get(f'{u}_before'))} {_e(u)}",
                f"{_int(p.get(f'{u}_after'))} {_e(u)}",
                _pct(p.get("reduction")),
            ]
        )
        classes.append("current" if name == current else "")
    return (
        "<h2>Reduction by policy</h2>"
        f'<p class="note">Every policy run on the same first {_int(n)} readable records; sizes and reduction over each '
        "policy&rsquo;s kept records.</p>"
        + _table(["policy", "records", "kept", "before", "after", "reduction"], rows, row_class=classes)
    )


def _efficiency(stats: dict) -> str:
    oe, pe = stats.get("outcome_efficiency"), stats.get("process_efficiency")
    n = stats.get("efficiency_records", 0) or 0
    rows = [
        [
            "outcome efficiency",
            _pct(oe),
            ("mean share of a response&rsquo;s tokens up to the end of its first correct solution "
             "(0 for responses with none); high = little written after the answer was found"),
        ],
        [
            "process efficiency",
            _pct(pe),
            ("mean share of solution tokens that are in distinct solutions (the first of each near-duplicate "
             "cluster); high = little repetition"),
        ],
    ]
    note = f"Over {_int(n)} original (unpruned) responses with a token count."
    if oe is None and pe is None:
        note += " Not available for this run: the efficiency metrics need a tokenizer and traces with solutions."
    return (
        "<h2>Efficiency of the original traces (Chen et al. 2024)</h2>"
        + _table(["metric", "value", "definition"], rows, left=(0, 2))
        + f'<p class="note">{note}</p>'
    )


def _removals(stats: dict) -> str:
    parts = _ordered(stats.get("removed_parts_by_reason"), REASONS)
    chars = stats.get("removed_chars_by_reason") or {}
    total = sum(int(v) for _, v in parts) or 0
    total_chars = sum(int(v) for v in chars.values()) or 0
    out = ["<h2>What was removed</h2>"]
    if not parts:
        out.append('<p class="note">Nothing was removed from the kept records.</p>')
    else:
        rows = [
            [
                f"<code>{_e(k)}</code>",
                _int(v),
                _pct(int(v) / total if total else 0),
                _int(chars.get(k, 0)),
                _pct(int(chars.get(k, 0) or 0) / total_chars if total_chars else 0),
                _e(REASON_HELP.get(k, "")),
            ]
            for k, v in parts
        ]
        rows.append(["<b>total</b>", f"<b>{_int(total)}</b>", "", f"<b>{_int(total_chars)}</b>", "", ""])
        out.append(_table(["reason", "parts", "share", "chars", "share", "meaning"], rows, left=(0, 5)))
    kinds = _ordered(stats.get("removed_parts_by_kind"), tuple(KIND_HELP))
    if kinds:
        rows = [[f"<code>{_e(k)}</code>", _int(v), _e(KIND_HELP.get(k, ""))] for k, v in kinds]
        out.append(_table(["kind", "parts", "meaning"], rows, left=(0, 2)))
    return "".join(out)


def _per_record(stats: dict) -> str:
    pr = stats.get("per_record") or {}
    keys = ("p50", "p90", "p99", "mean", "max")
    rows = []
    for name, q in pr.items():
        if not q:
            continue
        fmt = _pct if name == "reduction" else _num
        rows.append([_e(name.replace("_", " "))] + [fmt(q.get(k)) for k in keys])
    if not rows:
        return ""
    return (
        "<h2>Per record</h2>"
        + _table(["", *keys], rows)
        + '<p class="note">Sizes and reduction over kept records; solutions, checks and the first correct '
        "solution (counted from 0) over all readable records.</p>"
    )


def _judge(stats: dict) -> str:
    j = stats.get("judge")
    if not j:
        return ""
    names = {
        "calls": "model calls made",
        "cache_hits": "answered from the cache",
        "failures": "failed calls (the rules decided)",
        "malformed": "malformed replies (the rules decided)",
        "tokens": "tokens sent and received",
        "error_spans": "wrong steps placed in the traces",
        "records_with_issues": "records with a judge issue (see edits.jsonl)",
    }
    rows = [[_e(names.get(k, k)), _int(v)] for k, v in j.items()]
    return "<h2>Judging layer</h2>" + _table(["", "count"], rows)


def _options(stats: dict) -> str:
    opts = stats.get("options") or {}
    if not opts:
        return ""
    rows = [[f"<code>{_e(k)}</code>", f"<code>{_e(json.dumps(v, ensure_ascii=False, sort_keys=True))}</code>"] for k, v in opts.items()]
    return "<h2>Options</h2>" + _table(["option", "value"], rows, left=(0, 1))


def render_html(stats: dict, plot: dict) -> str:
    """The report page as a string (see :func:`write_report`)."""
    stats = stats or {}
    unit = str(stats.get("unit") or "chars")
    policy = stats.get("policy", "?")
    try:
        pngs: Optional[dict[str, bytes]] = render_plots(stats, plot or {})
    except ImportError:
        pngs = None
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>dlcot report: {_e(policy)}</title>",
        f"<style>{CSS}</style>",
        "</head><body>",
        f"<h1>dlcot report: policy <code>{_e(policy)}</code></h1>",
        f'<p class="sub">Sizes in {_e(unit)}{"" if unit == "tokens" else " (no tokenizer was used)"}.</p>',
        _headline(stats, unit),
        _policies(stats, unit, str(policy)),
        _efficiency(stats),
        _removals(stats),
        "<h2>Plots</h2>",
    ]
    if pngs is None:
        parts.append('<p class="warn">matplotlib is not installed, so this report has no plots: '
                     "<code>pip install matplotlib</code> and run again for them.</p>")
    else:
        for name, title in PLOT_NAMES:
            b64 = base64.b64encode(pngs[name]).decode("ascii")
            parts.append(
                f'<figure id="plot-{name}"><img src="data:image/png;base64,{b64}" alt="{_e(title)}" '
                f'width="{int(FIG_W * DPI)}" height="{int(FIG_H * DPI)}"><figcaption>{_e(title)}</figcaption></figure>'
            )
    parts += [_per_record(stats), _judge(stats), _options(stats), "</body></html>", ""]
    return "\n".join(p for p in parts if p is not None)


def write_report(path: Path, stats: dict, plot: dict) -> None:
    """Writes ``report.html`` at ``path``: one self-contained page (tables, and PNG plots
    embedded as base64 when matplotlib is installed). Same inputs, same bytes. Written to a
    temporary file and renamed, so a reader never sees half a page."""
    path = Path(path)
    text = render_html(stats, plot)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)
