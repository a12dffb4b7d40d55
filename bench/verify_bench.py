"""Answer-equivalence benchmark: dlcot's fast path and ``dlcot.verify`` against math-verify.

Run: ``python bench/verify_bench.py`` (prints the report, writes ``bench/results/verify.md``).
``python bench/verify_bench.py --build`` regenerates ``bench/data/answer_pairs.jsonl`` from
:func:`build_pairs` (deterministic; the committed file is its output, so the set is fixed and
reviewable). ``--no-real`` skips part 2; ``--limit N`` caps the real pairs per source.

Part 1, labelled pairs (``bench/data/answer_pairs.jsonl``, conventions in ``bench/data/README.md``):
math-verify with default settings, called the usual way, gold first: ``verify(parse(ref),
parse(pred))`` on the strings as stored, and the same with each bare answer wrapped in ``$...$``
(how harnesses usually feed a bare reference; prose and strings that already hold ``$``,
``\\boxed`` or ``\\(`` are passed as they are); ``dlcot.equivalent`` (the rule path alone: how often
it decides, how often it is right when it does, every wrong decision); ``dlcot.verify`` (overall
accuracy, and from ``verify_batch`` which path decided). Per kind and overall, with µs per pair.

Part 2, real pairs (no labels): the final answer ``dlcot.extract_answer`` finds in each trace of
``../shared/data/traces_normalised.jsonl`` against its reference; and each benchmark answer
against ``dlcot.normalize_answer`` of itself (itself, if that function is missing) and against
``answer_original`` where the file has one. Reported: agreement of ``dlcot.verify`` and of the fast
path with math-verify where math-verify decides (both sides parse), and every disagreement.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any
from _machine import commit as current_commit, cpu_model

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH_DATA = REPO.parent / "shared" / "data" / "bench"
TRACES = REPO.parent / "shared" / "data" / "traces_normalised.jsonl"
PAIRS = HERE / "data" / "answer_pairs.jsonl"
RESULT = HERE / "results" / "verify.md"

KINDS = [
    "thousands",
    "decimal_comma",
    "mixed_number",
    "fraction_decimal",
    "percent",
    "interval",
    "set",
    "tuple",
    "matrix",
    "equation",
    "units",
    "degrees",
    "radical",
    "pi",
    "scientific",
    "choice_letter",
    "sentence",
    "text",
    "near_miss",
    "symbolic",
]


# --------------------------------------------------------------------------------------------
# Part 0: building the labelled pairs
# --------------------------------------------------------------------------------------------


# Files whose licence is stated and open (MIT); aime25 (no licence stated) is left out.
LICENSED = {
    "math500.jsonl",
    "aime24.jsonl",
    "amc23.jsonl",
    "gsm8k.jsonl",
    "minerva_math.jsonl",
    "olympiadbench.jsonl",
    "college_math.jsonl",
    "gaokao2023en.jsonl",
    "hmmt_feb24.jsonl",
    "hmmt_feb25.jsonl",
}


class _Bench:
    """The benchmark files, loaded once; ``ans(file, i)`` is a record's reference answer."""

    def __init__(self, root: Path = BENCH_DATA) -> None:
        self.root = root
        self.files: dict[str, list[dict[str, Any]]] = {}
        for p in sorted(root.glob("*.jsonl")):
            with p.open(encoding="utf-8") as fh:
                self.files[p.name] = [json.loads(line) for line in fh]

    def rec(self, f: str, i: int) -> dict[str, Any]:
        return self.files[f][i]

    def ans(self, f: str, i: int) -> str:
        return str(self.files[f][i]["answer"])

    def licensed(self, f: str) -> bool:
        return f in LICENSED

    def pool(self, files: Iterable[str], pat: str, *, problem: str | None = None) -> list[tuple[str, int, str]]:
        rx = re.compile(pat)
        px = re.compile(problem, re.IGNORECASE) if problem else None
        out = []
        for f in files:
            for i, r in enumerate(self.files[f]):
                a = str(r["answer"])
                if rx.fullmatch(a) and (px is None or px.search(str(r.get("problem", "")))):
                    out.append((f, i, a))
        return out


class _Out:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.seen: set[tuple[str, str]] = set()

    def add(self, kind: str, f: str, i: int, ref: str, pred: str, eq: bool) -> None:
        assert f in LICENSED, f
        key = (pred, ref)
        if key in self.seen or pred.strip() == "" or pred == ref:
            return
        self.seen.add(key)
        self.rows.append({"pred": pred, "ref": ref, "equivalent": bool(eq), "kind": kind, "source": f"{f}:{i}"})


def _pick(pool: list[tuple[str, int, str]], n: int, seed: int) -> list[tuple[str, int, str]]:
    if len(pool) <= n:
        return list(pool)
    rng = random.Random(seed)
    idx = sorted(rng.sample(range(len(pool)), n))
    return [pool[k] for k in idx]


def _fmt_dec(x: Fraction) -> str | None:
    """Exact decimal string of a fraction with a terminating expansion, else None."""
    q = x.denominator
    for p in (2, 5):
        while q % p == 0:
            q //= p
    if q != 1:
        return None
    sign = "-" if x < 0 else ""
    x = abs(x)
    whole, rest = divmod(x.numerator, x.denominator)
    if rest == 0:
        return f"{sign}{whole}"
    digits = ""
    while rest:
        rest *= 10
        d, rest = divmod(rest, x.denominator)
        digits += str(d)
    return f"{sign}{whole}.{digits}"


_FRAC = re.compile(r"(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}")


def _frac_of(s: str) -> Fraction | None:
    m = _FRAC.fullmatch(s)
    if not m:
        return None
    v = Fraction(int(m.group(2)), int(m.group(3)))
    return -v if m.group(1) else v


def _tex_frac(x: Fraction, cmd: str = "\\frac") -> str:
    sign = "-" if x < 0 else ""
    return f"{sign}{cmd}{{{abs(x.numerator)}}}{{{x.denominator}}}"


def _gen_thousands(B: _Bench, o: _Out) -> None:
    k = "thousands"
    # references that already carry separators, as the files have them
    comma_refs = [("math500.jsonl", 198), ("math500.jsonl", 217), ("math500.jsonl", 343)]
    comma_refs += [(f, i) for f, i, _ in B.pool(["gsm8k.jsonl"], r"\d{1,3}(,\d{3})+")][:8]
    comma_refs += [(f, i) for f, i, _ in B.pool(["gaokao2023en.jsonl"], r"\d{1,3}(,\d{3})+")][:4]
    for f, i in comma_refs:
        ref = B.ans(f, i)
        n = int(re.sub(r"[^0-9]", "", ref))
        o.add(k, f, i, ref, str(n), True)
        o.add(k, f, i, ref, f"{n:,}".replace(",", "."), False)  # 1.234 is a decimal in en-US
        if n >= 10000:
            o.add(k, f, i, ref, f"{n // 10:,}", False)  # a digit dropped
    plain = _pick(B.pool(["gsm8k.jsonl", "amc23.jsonl", "college_math.jsonl"], r"[1-9]\d{3,6}"), 16, 1)
    for j, (f, i, ref) in enumerate(plain):
        n = int(ref)
        o.add(k, f, i, ref, f"{n:,}", True)
        o.add(k, f, i, ref, [f"{n:,}".replace(",", "\\,"), f"{n:,}".replace(",", "{,}")][j % 2], True)
        o.add(k, f, i, ref, f"{n:,}".replace(",", "."), False)
        o.add(k, f, i, ref, f"{n * 10:,}" if j % 2 else f"{n + 1000:,}", False)


def _gen_decimal_comma(B: _Bench, o: _Out) -> None:
    k = "decimal_comma"
    decs = B.pool(
        ["minerva_math.jsonl", "gaokao2023en.jsonl", "college_math.jsonl", "math500.jsonl"], r"-?\d+\.\d{1,2}"
    )
    for j, (f, i, ref) in enumerate(_pick(decs, 22, 2)):
        whole, frac = ref.split(".")
        o.add(k, f, i, ref, f"{whole},{frac}" if j % 3 else f"{whole}{{,}}{frac}", True)
        if j % 2 == 0 and whole.lstrip("-") != "0":
            # three digits after the comma read as a thousands group: 1,250 = 1250, not 1.25
            o.add(k, f, i, ref, f"{whole},{frac.ljust(3, '0')}", False)
        else:
            o.add(k, f, i, ref, f"{whole}{frac}", False)
    # references that are two answers separated by a comma (olympiadbench is_multiple_answer)
    for i in (148, 187, 194, 202, 168, 237):
        ref = B.ans("olympiadbench.jsonl", i)
        a, b = ref.split(",")
        o.add(k, "olympiadbench.jsonl", i, ref, f"{a}.{b.lstrip('-')}", False)
    # integer references: a decimal-comma number is not the integer
    for f, i, ref in _pick(B.pool(["gsm8k.jsonl"], r"[1-9]\d"), 6, 3):
        o.add(k, f, i, ref, f"{ref[0]},{ref[1]}", False)


def _gen_mixed(B: _Bench, o: _Out) -> None:
    k = "mixed_number"
    files = [
        "math500.jsonl",
        "olympiadbench.jsonl",
        "gaokao2023en.jsonl",
        "college_math.jsonl",
        "hmmt_feb24.jsonl",
        "hmmt_feb25.jsonl",
    ]
    pool = [
        (f, i, a)
        for f, i, a in B.pool(files, r"-?\\[dt]?frac\{\d+\}\{\d+\}")
        if (v := _frac_of(a)) and abs(v) > 1 and v.denominator > 1
    ]
    for j, (f, i, ref) in enumerate(_pick(pool, 22, 4)):
        v = _frac_of(ref)
        assert v is not None
        sign = "-" if v < 0 else ""
        a, r = divmod(abs(v.numerator), v.denominator)
        q = v.denominator
        forms = [f"{sign}{a}\\frac{{{r}}}{{{q}}}", f"{sign}{a} \\frac{{{r}}}{{{q}}}", f"{sign}{a}\\tfrac{{{r}}}{{{q}}}"]
        o.add(k, f, i, ref, forms[j % 3], True)
        # the product reading a*(r/q) is NOT what a mixed number means; and near misses
        wrong = [
            f"{sign}{a + 1}\\frac{{{r}}}{{{q}}}",
            f"{sign}{a}\\frac{{{q - r}}}{{{q}}}" if q - r != r else f"{sign}{a}\\frac{{{r}}}{{{q + 1}}}",
        ]
        o.add(k, f, i, ref, wrong[j % 2], False)
        d = _fmt_dec(abs(v))
        if d is not None and j % 2 == 0:
            o.add(k, f, i, f"{sign}{a}\\frac{{{r}}}{{{q}}}", f"{sign}{d}", True)  # mixed as the reference
        elif j % 2 == 1:
            o.add(k, f, i, ref, f"{sign}{a}.{r}", Fraction(f"{a}.{r}") == abs(v))


def _gen_fraction_decimal(B: _Bench, o: _Out) -> None:
    k = "fraction_decimal"
    files = [
        "math500.jsonl",
        "olympiadbench.jsonl",
        "gaokao2023en.jsonl",
        "hmmt_feb24.jsonl",
        "hmmt_feb25.jsonl",
        "college_math.jsonl",
    ]
    pool = [
        (f, i, a)
        for f, i, a in B.pool(files, r"-?\\[dt]?frac\{\d+\}\{\d+\}")
        if (v := _frac_of(a)) and v.denominator > 1
    ]
    for j, (f, i, ref) in enumerate(_pick(pool, 26, 5)):
        v = _frac_of(ref)
        assert v is not None
        d = _fmt_dec(v)
        if d is not None and len(d) <= 10:
            o.add(k, f, i, ref, d, True)
        else:
            o.add(k, f, i, ref, f"{'-' if v < 0 else ''}{abs(v.numerator)}/{v.denominator}", True)
        if j % 2 == 0:
            o.add(k, f, i, ref, _tex_frac(v, "\\dfrac") if "dfrac" not in ref else _tex_frac(v), True)
        # wrong: reciprocal, or a rounded decimal of a non-terminating fraction
        if d is None:
            approx = f"{float(v):.2f}"
            o.add(k, f, i, ref, approx, Fraction(approx) == v)
        elif v.numerator != v.denominator:
            o.add(k, f, i, ref, _tex_frac(Fraction(v.denominator, abs(v.numerator)) * (1 if v > 0 else -1)), False)
        if j % 3 == 1:
            o.add(k, f, i, ref, f"{'-' if v < 0 else ''}\\frac{{{abs(v.numerator)}}}{{{v.denominator + 1}}}", False)
    # decimal references written as fractions
    decs = B.pool(["gaokao2023en.jsonl", "minerva_math.jsonl", "college_math.jsonl", "math500.jsonl"], r"0\.\d{1,3}")
    for j, (f, i, ref) in enumerate(_pick(decs, 10, 6)):
        v = Fraction(ref)
        o.add(k, f, i, ref, _tex_frac(v, "\\frac" if j % 2 else "\\dfrac"), True)
        o.add(k, f, i, ref, f"\\frac{{{v.numerator}}}{{{v.denominator + 1}}}", False)


def _gen_percent(B: _Bench, o: _Out) -> None:
    k = "percent"
    q = r"(what|which) (percent|percentage)|how many percent|what is the percentage"
    for j, (f, i, ref) in enumerate(B.pool(["gsm8k.jsonl"], r"\d+", problem=q)):
        n = int(ref)
        o.add(k, f, i, ref, [f"{n}\\%", f"{n}%", f"{n} \\%", f"{n}\\text{{\\%}}"][j % 4], True)
        if j % 2 == 0:
            o.add(k, f, i, ref, f"{n} percent", True)
        # the bare fraction 0.5 for "50 (percent)" is a different number; so is a wrong percentage
        o.add(k, f, i, ref, _fmt_dec(Fraction(n, 100)) or "", False)
        if j % 2 == 1:
            o.add(k, f, i, ref, f"{n + 5}\\%", False)
    for f, i in [
        ("olympiadbench.jsonl", 139),
        ("olympiadbench.jsonl", 188),
        ("olympiadbench.jsonl", 150),
        ("gaokao2023en.jsonl", 189),
    ]:
        ref = B.ans(f, i)
        num = re.match(r"[\d.]+", ref)
        assert num
        x = Fraction(num.group(0))
        o.add(k, f, i, ref, num.group(0), True)  # dropping the sign, as graders do
        o.add(k, f, i, ref, _fmt_dec(x / 100) or "", True)  # the value 62.5% = 0.625
        o.add(k, f, i, ref, f"{num.group(0)}\\%", True)
        o.add(k, f, i, ref, _fmt_dec(x / 10) or "", False)
        o.add(k, f, i, ref, f"{_fmt_dec(x * 10)}\\%", False)


_IV = re.compile(r"(\\left)?([\(\[])\s*([^,]+?)\s*,\s*([^,]+?)\s*(\\right)?([\)\]])")


def _gen_interval(B: _Bench, o: _Out) -> None:
    k = "interval"
    refs = [("math500.jsonl", i) for i in (103, 184, 307, 312, 356)]
    refs += [("olympiadbench.jsonl", i) for i in (132, 221, 270)]
    refs += [("gaokao2023en.jsonl", i) for i in (38, 52, 57, 74)]
    coll = [
        (f, i)
        for f, i, a in B.pool(["college_math.jsonl"], r"[\(\[][^,\(\)\[\]]+,[^,\(\)\[\]]+[\)\]]")
        if "infty" in a or a[0] != "(" or a[-1] != ")"
    ]
    refs += coll[:12]
    for j, (f, i) in enumerate(refs):
        ref = B.ans(f, i)
        m = _IV.fullmatch(ref)
        assert m, ref
        lb, a, b, rb = m.group(2), m.group(3), m.group(4), m.group(6)
        a2, b2 = a.replace("+\\infty", "\\infty"), b.replace("+\\infty", "\\infty")
        if "infty" in b2 and j % 2:
            b2 = "+\\infty"
        eqs = [f"\\left{lb} {a2}, {b2} \\right{rb}", f"{lb}{a2},{b2}{rb}", f"x \\in {lb}{a2}, {b2}{rb}"]
        o.add(k, f, i, ref, eqs[j % 3], True)
        if j % 3 == 0:
            o.add(k, f, i, ref, eqs[(j + 1) % 3], True)
        # brackets are part of the answer: flip one closed/open end (never at infinity)
        flip = {"(": "[", "[": "(", ")": "]", "]": ")"}
        if "infty" not in b:
            o.add(k, f, i, ref, f"{lb}{a}, {b}{flip[rb]}", False)
        if "infty" not in a:
            o.add(k, f, i, ref, f"{flip[lb]}{a}, {b}{rb}", False)
        if j % 2 == 0 and "infty" not in a + b:
            o.add(k, f, i, ref, f"{lb}{b}, {a}{rb}", False)  # ends swapped


def _gen_set(B: _Bench, o: _Out) -> None:
    k = "set"
    refs = [("gaokao2023en.jsonl", i) for i in (9, 33, 82)]
    refs += [("math500.jsonl", i) for i in (25, 36, 456)]
    # olympiadbench "determine all ..." answers (order carries no meaning there)
    refs += [
        ("olympiadbench.jsonl", i) for i in (21, 37, 38, 82, 105, 118, 123, 128, 163, 173, 175, 185, 187, 203, 214, 301)
    ]
    for j, (f, i) in enumerate(refs):
        ref = B.ans(f, i)
        braced = ref.startswith("\\{")
        items = [x.strip() for x in ref.strip("\\{}").split(",")]
        perm = items[1:] + items[:1] if j % 2 else list(reversed(items))
        body = ", ".join(perm)
        o.add(k, f, i, ref, f"\\{{{body}\\}}" if (braced or j % 3 == 0) else body, True)
        if len(items) > 1:
            o.add(k, f, i, ref, f"\\{{{', '.join(items)}\\}}" if not braced else ", ".join(items), True)
            o.add(k, f, i, ref, f"\\{{{', '.join(items[:-1])}\\}}" if braced else ", ".join(items[:-1]), False)
        extra = (
            str(max(int(x) for x in items if re.fullmatch(r"-?\d+", x)) + 1)
            if any(re.fullmatch(r"-?\d+", x) for x in items)
            else "0"
        )
        if extra not in items:
            more = items + [extra]
            o.add(k, f, i, ref, f"\\{{{', '.join(more)}\\}}" if braced else ", ".join(more), False)


def _split_top(s: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return out


def _gen_tuple(B: _Bench, o: _Out) -> None:
    k = "tuple"
    refs = [("math500.jsonl", i) for i in (0, 60, 78, 144, 218, 364)]
    refs += [("olympiadbench.jsonl", i) for i in (15, 44, 113, 146)]
    refs += [("gaokao2023en.jsonl", i) for i in (170, 203)]
    for j, (f, i) in enumerate(refs):
        ref = B.ans(f, i)
        inner = re.sub(r"^\\left\(\s*|\s*\\right\)$", "", ref)
        inner = inner[1:-1] if inner.startswith("(") and not ref.startswith("\\left") else inner
        items = _split_top(inner)
        o.add(k, f, i, ref, "(" + ", ".join(items) + ")", True)
        o.add(k, f, i, ref, "\\left(" + ",".join(items) + "\\right)", True)
        fr = [re.sub(r"\\frac\{([^{}]+)\}\{([^{}]+)\}", r"\1/\2", x) for x in items]
        if fr != items:
            o.add(k, f, i, ref, "(" + ", ".join(fr) + ")", True)
        else:
            o.add(k, f, i, ref, "(" + ",\\ ".join(items) + ")", True)
        # order matters for a point; a closed interval is not a point; a sign flip is wrong
        if items != list(reversed(items)):
            o.add(k, f, i, ref, "(" + ", ".join(reversed(items)) + ")", False)
        o.add(k, f, i, ref, "[" + ", ".join(items) + "]", False)
        neg = [x[1:] if x.startswith("-") else "-" + x for x in items[:1]] + items[1:]
        o.add(k, f, i, ref, "(" + ", ".join(neg) + ")", False)


def _gen_matrix(B: _Bench, o: _Out) -> None:
    k = "matrix"
    for i in (99, 205, 248, 298, 408, 419, 420):
        f = "math500.jsonl"
        ref = B.ans(f, i)
        body = re.search(r"\\begin\{pmatrix\}(.*)\\end\{pmatrix\}", ref)
        assert body
        rows = [[c.strip() for c in r.split("&")] for r in body.group(1).split("\\\\")]
        mat = lambda rs, env="pmatrix", sep=" \\\\ ": (
            f"\\begin{{{env}}} " + sep.join(" & ".join(r) for r in rs) + f" \\end{{{env}}}"
        )
        tex = [[re.sub(r"^(-?)(\d+)/(\d+)$", r"\1\\frac{\2}{\3}", c) for c in r] for r in rows]
        o.add(k, f, i, ref, mat(rows, "bmatrix"), True)
        o.add(k, f, i, ref, mat(tex, "pmatrix", "\\\\"), True)
        o.add(
            k,
            f,
            i,
            ref,
            "\\left[\\begin{array}{c} " + " \\\\ ".join(" & ".join(r) for r in tex) + " \\end{array}\\right]"
            if len(rows[0]) == 1
            else mat(tex, "bmatrix"),
            True,
        )
        # wrong: entries swapped, one sign flipped, one entry changed
        flat = [c for r in rows for c in r]
        ncol = len(rows[0])
        if flat[0] != flat[-1]:
            sw = flat[-1:] + flat[1:-1] + flat[:1]
            o.add(k, f, i, ref, mat([sw[r : r + ncol] for r in range(0, len(sw), ncol)]), False)
        fl = [flat[0][1:] if flat[0].startswith("-") else "-" + flat[0]] + flat[1:]
        o.add(k, f, i, ref, mat([fl[r : r + ncol] for r in range(0, len(fl), ncol)], "bmatrix"), False)
        last = flat[-1]
        ch = (
            re.sub(r"(\d+)$", lambda m: str(int(m.group(1)) + 1), last)
            if "/" not in last
            else re.sub(r"^(-?)(\d+)", lambda m: m.group(1) + str(int(m.group(2)) + 1), last)
        )
        ch_flat = flat[:-1] + [ch]
        o.add(k, f, i, ref, mat([ch_flat[r : r + ncol] for r in range(0, len(ch_flat), ncol)]), False)


def _gen_equation(B: _Bench, o: _Out) -> None:
    k = "equation"
    # references "x = value": the bare value is the same answer
    refs = [("math500.jsonl", 23)] + [
        ("college_math.jsonl", i)
        for i in (10, 353, 388, 424, 570, 580, 723, 765, 808, 917, 1007, 1014, 1033, 1050, 1063, 1076, 1101, 1142, 1160)
    ]
    for j, (f, i) in enumerate(refs):
        ref = B.ans(f, i)
        var, val = [s.strip() for s in ref.split("=", 1)]
        o.add(k, f, i, ref, val, True)
        if j % 2 == 0:
            o.add(k, f, i, ref, f"{var} = {val}", True)
        if re.fullmatch(r"-?\d+", val) and j % 3 == 0:
            wrong = f"{var}={int(val) + 1}"
        else:
            wrong = f"{var}=-{val}" if not val.startswith("-") else f"{var}={val[1:]}"
        o.add(k, f, i, ref, wrong, False)
        if j % 4 == 1:
            o.add(k, f, i, ref, wrong.split("=", 1)[1], False)
    # references that are bare values of a named unknown: "x = value" is the same answer
    for j, (f, i, ref) in enumerate(
        _pick(B.pool(["math500.jsonl"], r"-?\d+", problem=r"solve for \$?x|find \$x\$|value of \$x\$"), 10, 7)
    ):
        o.add(k, f, i, ref, f"x={ref}", True)
        o.add(k, f, i, ref, f"x={int(ref) + (1 if j % 2 else -1)}", False)
    # line / function references: the right-hand side is the answer
    for f, i in [
        ("college_math.jsonl", 178),
        ("college_math.jsonl", 943),
        ("gaokao2023en.jsonl", 226),
        ("gaokao2023en.jsonl", 237),
        ("olympiadbench.jsonl", 56),
        ("olympiadbench.jsonl", 109),
        ("olympiadbench.jsonl", 247),
    ]:
        ref = B.ans(f, i)
        _, rhs = [s.strip() for s in ref.split("=", 1)]
        o.add(k, f, i, ref, rhs, True)
        o.add(
            k,
            f,
            i,
            ref,
            rhs.replace("+", "@").replace("-", "+").replace("@", "-") if ("+" in rhs or "-" in rhs) else rhs + "+1",
            False,
        )


def _gen_units(B: _Bench, o: _Out) -> None:
    k = "units"
    money = r"(how much (money|[^.!?]*\b(make|makes|spend|spent|pay|paid|cost|costs|save|earn|earned|worth|receive|received)\b)|how many dollars)[^.!?]*\?\s*$"
    dollars = _pick(
        [
            t
            for t in B.pool(["gsm8k.jsonl"], r"[1-9]\d{0,3}", problem=money)
            if "weigh" not in B.rec(t[0], t[1])["problem"][-80:]
        ],
        20,
        8,
    )
    for j, (f, i, ref) in enumerate(dollars):
        n = int(ref)
        eqs = [f"\\${n}", f"{n} dollars", f"\\${n}.00", f"{n}\\text{{ dollars}}", f"\\$ {n}"]
        o.add(k, f, i, ref, eqs[j % 5], True)
        wrong = [f"\\${n + 2}", f"{n * 10} dollars", f"\\${_fmt_dec(Fraction(n, 100))}", f"{n - 1}\\text{{ dollars}}"]
        o.add(k, f, i, ref, wrong[j % 4], False)
    lengths = _pick(
        B.pool(
            ["gsm8k.jsonl"],
            r"[1-9]\d{0,3}",
            problem=r"how many (minutes|miles|feet|inches|pounds|hours|meters|cm)\b[^.!?]*\?\s*$",
        ),
        12,
        9,
    )
    for j, (f, i, ref) in enumerate(lengths):
        unit = re.search(
            r"how many (minutes|miles|feet|inches|pounds|hours|meters|cm)", B.rec(f, i)["problem"], re.IGNORECASE
        )
        assert unit
        u = unit.group(1).lower()
        o.add(k, f, i, ref, [f"{ref}\\text{{ {u}}}", f"{ref} {u}", f"{ref}\\ \\mathrm{{{u}}}"][j % 3], True)
        o.add(k, f, i, ref, f"{int(ref) + 10}\\text{{ {u}}}", False)
    # references that carry a unit themselves
    for f, i, pairs in [
        ("math500.jsonl", 301, [("5.4", True), ("5.4 cents", True), ("54\\text{ cents}", False), ("\\$5.4", False)]),
        (
            "math500.jsonl",
            242,
            [
                ("32348", True),
                ("\\$32,348", True),
                ("32,348 dollars", True),
                ("\\$32.348", False),
                ("\\$3,234.8", False),
            ],
        ),
        (
            "math500.jsonl",
            166,
            [
                ("\\frac{270}{7}", True),
                ("\\frac{270}{7}^\\circ", True),
                ("\\frac{270}{7}\\text{ degrees}", True),
                ("\\frac{7}{270}\\text{ degrees}", False),
                ("\\frac{270}{17}", False),
            ],
        ),
        ("college_math.jsonl", 176, [("3040", True), ("\\$3,040", True), ("\\$3,400", False), ("304", False)]),
        ("college_math.jsonl", 177, [("4", True), ("4 dollars", True), ("\\$40", False)]),
    ]:
        for pred, eq in pairs:
            o.add(k, f, i, B.ans(f, i), pred, eq)


def _gen_degrees(B: _Bench, o: _Out) -> None:
    k = "degrees"
    circ = B.pool(["math500.jsonl", "college_math.jsonl", "olympiadbench.jsonl"], r"\d+\^\{?\\circ\}?")
    for j, (f, i, ref) in enumerate(circ[:20]):
        n = int(re.match(r"\d+", ref).group(0))  # type: ignore[union-attr]
        eqs = [str(n), f"{n}^{{\\circ}}", f"{n}°", f"{n}\\text{{ degrees}}", f"{n}^\\circ", f"{n}\\degree"]
        o.add(k, f, i, ref, eqs[j % 6], True)
        if j % 3 == 0:
            o.add(k, f, i, ref, eqs[(j + 3) % 6], True)
        wrong = [
            f"{n + 10}^\\circ",
            str(180 - n) if 180 - n != n else str(n * 2),
            f"{n * 10}^{{\\circ}}",
            f"-{n}^\\circ",
        ]
        o.add(k, f, i, ref, wrong[j % 4], False)
    angle = r"how many degrees|number of degrees|in degrees|degree measure"
    for j, (f, i, ref) in enumerate(
        t
        for t in B.pool(["math500.jsonl"], r"[1-9]\d*", problem=angle)
        if not re.search(r"degree of|of degree\b|degree \d", B.rec(t[0], t[1])["problem"])
    ):
        o.add(k, f, i, ref, [f"{ref}^\\circ", f"{ref}^{{\\circ}}"][j % 2], True)
        o.add(k, f, i, ref, f"{int(ref) + 1}^\\circ", False)


_SQ = re.compile(r"(\d*)\s*\\sqrt\{?(\d+)\}?")


def _gen_radical(B: _Bench, o: _Out) -> None:
    k = "radical"
    files = [
        "math500.jsonl",
        "olympiadbench.jsonl",
        "hmmt_feb24.jsonl",
        "hmmt_feb25.jsonl",
        "gaokao2023en.jsonl",
        "college_math.jsonl",
    ]
    pool = B.pool(files, r"\d*\s*\\sqrt\{?\d+\}?")
    seen_ab: set[tuple[int, int]] = set()
    chosen = []
    for f, i, ref in pool:
        m = _SQ.fullmatch(ref)
        assert m
        a, b = int(m.group(1) or 1), int(m.group(2))
        if (a, b) in seen_ab:
            continue
        seen_ab.add((a, b))
        chosen.append((f, i, ref, a, b))
    for j, (f, i, ref, a, b) in enumerate(chosen[:22]):
        # a*sqrt(b) = sqrt(a^2 b) always; a*sqrt(b) vs b*sqrt(a) differ unless a == b
        o.add(k, f, i, ref, f"\\sqrt{{{a * a * b}}}" if a > 1 else f"{b}^{{1/2}}", True)
        if j % 2 == 0:
            # "\\sqrt 15" is sqrt(1)*5 in LaTeX: the brace-less form only for a one-digit radicand
            o.add(k, f, i, ref, f"{a}\\cdot\\sqrt{{{b}}}" if a > 1 or b > 9 else f"\\sqrt {b}", True)
        if a > 1:
            o.add(k, f, i, ref, f"\\sqrt{{{a * b}}}", False)
            if a != b:
                o.add(k, f, i, ref, f"{b}\\sqrt{{{a}}}", False)
        else:
            o.add(k, f, i, ref, str(b), False)
            o.add(k, f, i, ref, f"\\sqrt{{{b + 1}}}", False)
    # rationalised and unrationalised forms
    for f, i in [("math500.jsonl", 146), ("math500.jsonl", 181)]:  # \frac{\sqrt{3}}{3}
        ref = B.ans(f, i)
        for pred, eq in [
            ("\\frac{1}{\\sqrt{3}}", True),
            ("\\frac{\\sqrt3}{3}", True),
            ("\\frac{3}{\\sqrt{3}}", False),
            ("\\frac{\\sqrt{3}}{2}", False),
        ]:
            o.add(k, f, i, ref, pred, eq)
    ref = B.ans("math500.jsonl", 73)  # \frac{3\sqrt{3}}{4}
    for pred, eq in [
        ("\\frac{3}{4}\\sqrt{3}", True),
        ("\\frac{9}{4\\sqrt{3}}", True),
        ("\\frac{\\sqrt{27}}{4}", True),
        ("\\frac{3\\sqrt{3}}{2}", False),
        ("\\frac{\\sqrt{3}}{4}", False),
    ]:
        o.add(k, "math500.jsonl", 73, ref, pred, eq)


def _gen_pi(B: _Bench, o: _Out) -> None:
    k = "pi"
    files = ["math500.jsonl", "college_math.jsonl", "olympiadbench.jsonl", "gaokao2023en.jsonl", "hmmt_feb25.jsonl"]
    rx = re.compile(r"(-?)(?:\\frac\{(\d*)\s*\\pi\}\{(\d+)\}|(\d*)\s*\\pi)")
    pool = [(f, i, a) for f, i, a in B.pool(files, rx.pattern)]
    done: set[Fraction] = set()
    j = 0
    for f, i, ref in pool:
        m = rx.fullmatch(ref)
        assert m
        if m.group(3):
            v = Fraction(int(m.group(2) or 1), int(m.group(3)))
        else:
            v = Fraction(int(m.group(4) or 1))
        if m.group(1):
            v = -v
        if v in done or len(done) >= 22:
            continue
        done.add(v)
        p, q = abs(v.numerator), v.denominator
        s = "-" if v < 0 else ""

        def pif(a: int, b: int) -> str:
            num = "\\pi" if a == 1 else f"{a}\\pi"
            return num if b == 1 else f"\\frac{{{num}}}{{{b}}}"

        if q == 1:
            eqs = [
                f"{s}\\pi \\cdot {p}" if p > 1 else f"{s}\\frac{{\\pi}}{{1}}",
                f"{s}{p} \\pi" if p > 1 else f"{s}1\\cdot\\pi",
                f"{s}\\frac{{{2 * p}\\pi}}{{2}}",
            ]
            wrong = [f"{s}{p}", f"{s}\\frac{{{p}}}{{\\pi}}", f"{s}{2 * p}\\pi"]
        else:
            eqs = [f"{s}\\frac{{{p}}}{{{q}}}\\pi", f"{s}{'' if p == 1 else p}\\pi/{q}", f"{s}\\frac{{{p}}}{{{q}}} \\pi"]
            wrong = [s + pif(q, p), f"{s}\\frac{{{p}}}{{{q}}}", s + pif(p, 2 * q)]
        o.add(k, f, i, ref, eqs[j % 3], True)
        if j % 2 == 0:
            o.add(k, f, i, ref, eqs[(j + 1) % 3], True)
        o.add(k, f, i, ref, wrong[j % 3], False)
        if j % 2 == 1:
            o.add(k, f, i, ref, wrong[(j + 1) % 3], False)
        j += 1


def _gen_scientific(B: _Bench, o: _Out) -> None:
    k = "scientific"
    pool = B.pool(["minerva_math.jsonl"], r"(\d+(?:\.\d+)?)e(-?\d+)")
    for j, (f, i, ref) in enumerate(_pick(pool, 20, 10)):
        mant, ex = ref.split("e")
        e = int(ex)
        v = Fraction(mant) * Fraction(10) ** e
        eqs = [f"{mant}\\times10^{{{e}}}", f"{mant} \\times 10^{{{e}}}", f"{mant}\\cdot 10^{{{e}}}"]
        o.add(k, f, i, ref, eqs[j % 3], True)
        if j % 3 == 0:
            # the same value with the point moved
            m2 = Fraction(mant) * 10
            o.add(k, f, i, ref, f"{_fmt_dec(m2)}\\times 10^{{{e - 1}}}", True)
        if j % 3 == 1 and -6 <= e <= 8:
            o.add(k, f, i, ref, _fmt_dec(v) or "", True)
        o.add(
            k,
            f,
            i,
            ref,
            [
                f"{mant}\\times10^{{{e + 1}}}",
                f"{mant}\\times 10^{{{-e}}}" if e != 0 else f"{mant}\\times10^{{1}}",
                f"{mant}e{e - 1}",
            ][j % 3],
            False,
        )
    for j, (f, i, ref) in enumerate(B.pool(["college_math.jsonl"], r"\d+(?:\.\d+)? \\times 10\^\{-?\d+\}")[:8]):
        mm = re.fullmatch(r"(\d+(?:\.\d+)?) \\times 10\^\{(-?\d+)\}", ref)
        assert mm
        mant, e = mm.group(1), int(mm.group(2))
        o.add(k, f, i, ref, f"{mant}e{e}", True)
        o.add(k, f, i, ref, f"{mant}\\times 10^{{{e - 1}}}", False)


def _gen_choice(B: _Bench, o: _Out) -> None:
    k = "choice_letter"
    g = "gaokao2023en.jsonl"
    for j, (f, i, ref) in enumerate(B.pool([g], r"[A-E]")):
        L = ref
        prob = B.rec(f, i)["problem"]
        opts = dict(re.findall(r"\(([A-E])\)\s*(.*?)(?=\s*\([A-E]\)|\s*$)", prob, re.DOTALL))
        eqs = [f"({L})", f"\\text{{({L})}}", f"\\textbf{{({L})}}", f"{L})", f"\\mathrm{{{L}}}"]
        o.add(k, f, i, ref, eqs[j % 5], True)
        content = opts.get(L, "")
        if content and len(content) <= 24 and j % 2 == 0:
            o.add(k, f, i, ref, f"{L}) {content}" if j % 4 == 0 else f"({L}) {content}", True)
        other = "ABCD"[("ABCD".index(L) + 1) % 4] if L in "ABCD" else "A"
        wrong = [f"({other})", other, f"\\text{{({other})}}", f"{L}, {other}"]
        o.add(k, f, i, ref, wrong[j % 4], False)
    for i in (227, 255, 296):  # \text{(C)} and friends
        ref = B.ans("math500.jsonl", i)
        L = re.search(r"\(([A-E])\)", ref).group(1)  # type: ignore[union-attr]
        for pred, eq in [
            (L, True),
            (f"({L})", True),
            (f"\\textbf{{({L})}}", True),
            ("(A)" if L != "A" else "(B)", False),
            (f"{L}{L}", False),
        ]:
            o.add(k, "math500.jsonl", i, ref, pred, eq)


def _gen_sentence(B: _Bench, o: _Out) -> None:
    k = "sentence"
    files = ["gsm8k.jsonl", "math500.jsonl", "aime24.jsonl", "amc23.jsonl", "olympiadbench.jsonl"]
    pool = _pick(B.pool(files, r"-?\d+|-?\\frac\{\d+\}\{\d+\}"), 24, 11)
    templates = [
        "The answer is ${x}$.",
        "Therefore, the final answer is $\\boxed{{{x}}}$. I hope it is correct.",
        "**Final Answer**\n\\[ \\boxed{{{x}}} \\]",
        "So the answer is \\({x}\\).",
        "Final answer: {x}",
        "Putting it together, we get $\\boxed{{{x}}}$.",
    ]
    for j, (f, i, ref) in enumerate(pool):
        if (v := _frac_of(ref)) is not None:
            wrong = _tex_frac(v + 1)
        else:
            wrong = str(int(ref) + 1 + j % 5)
        o.add(k, f, i, ref, templates[j % 6].format(x=ref), True)
        o.add(k, f, i, ref, templates[(j + 2) % 6].format(x=wrong), False)
        if j % 3 == 0:
            # an answer revised later: the last stated answer counts
            o.add(
                k,
                f,
                i,
                ref,
                f"At first I got ${ref}$, but that misses a case. The correct answer is $\\boxed{{{wrong}}}$.",
                False,
            )
        if j % 3 == 1:
            o.add(
                k, f, i, ref, f"Let me double-check: plugging back in works. So the answer is $\\boxed{{{ref}}}$.", True
            )


def _gen_text(B: _Bench, o: _Out) -> None:
    k = "text"
    m = "math500.jsonl"
    c = "college_math.jsonl"
    specs: list[tuple[str, int, list[tuple[str, bool]]]] = [
        (
            m,
            4,
            [
                ("Evelyn", True),
                ("\\textbf{Evelyn}", True),
                ("\\text{ Evelyn }", True),
                ("\\text{Angela}", False),
                ("Brian", False),
            ],
        ),
        (
            m,
            97,
            [
                ("east", True),
                ("\\text{East}", True),
                ("\\mathrm{east}", True),
                ("\\text{west}", False),
                ("north", False),
            ],
        ),
        (
            m,
            120,
            [
                ("even", True),
                ("\\text{Even}", True),
                ("\\textbf{even}", True),
                ("\\text{odd}", False),
                ("\\text{neither}", False),
            ],
        ),
        (
            m,
            358,
            [
                ("ellipse", True),
                ("\\text{Ellipse}", True),
                ("Ellipse", True),
                ("\\text{parabola}", False),
                ("\\text{hyperbola}", False),
            ],
        ),
        (
            c,
            1149,
            [
                ("\\text{Function}", True),
                ("function", True),
                ("Not a function", False),
                ("\\text{not a function}", False),
            ],
        ),
        (
            c,
            1173,
            [
                ("not a function", True),
                ("\\text{Not a function}", True),
                ("Function", False),
                ("\\text{function}", False),
            ],
        ),
        (c, 42, [("\\text{Yes}", True), ("yes", True), ("No", False), ("\\text{no}", False)]),
        (c, 206, [("\\text{No}", True), ("no", True), ("Yes", False)]),
        (
            c,
            163,
            [
                ("\\text{no solution}", True),
                ("No solution", True),
                ("Infinite number of solutions", False),
                ("\\text{one solution}", False),
            ],
        ),
        (
            c,
            142,
            [
                ("infinite number of solutions", True),
                ("\\text{Infinite number of solutions}", True),
                ("No solution", False),
            ],
        ),
        (c, 1121, [("\\text{Neither}", True), ("Both", False), ("\\text{either}", False)]),
        (c, 552, [("\\text{Undefined}", True), ("undefined", True), ("defined", False), ("0", False)]),
        (
            c,
            275,
            [
                ("\\text{all real numbers}", True),
                ("All Real Numbers", True),
                ("all positive real numbers", False),
                ("no real numbers", False),
            ],
        ),
        (c, 1097, [("\\text{inconsistent}", True), ("consistent", False)]),
        (
            "gaokao2023en.jsonl",
            27,
            [
                ("a necessary but not a sufficient condition", True),
                ("\\text{A necessary but not a sufficient condition}", True),
                ("\\text{a sufficient but not a necessary condition}", False),
                ("\\text{a necessary and sufficient condition}", False),
            ],
        ),
    ]
    for f, i, pairs in specs:
        for pred, eq in pairs:
            o.add(k, f, i, B.ans(f, i), pred, eq)


def _gen_near_miss(B: _Bench, o: _Out) -> None:
    k = "near_miss"
    # AIME zero padding (the README: 025 and 25 are the same answer)
    for f, i, ref in B.pool(["aime24.jsonl"], r"0\d\d"):
        o.add(k, f, i, ref, ref.lstrip("0"), True)
        o.add(k, f, i, ref, ref.lstrip("0") + "0", False)
    ints = _pick(B.pool(["aime24.jsonl", "amc23.jsonl", "gsm8k.jsonl", "math500.jsonl"], r"[1-9]\d*"), 14, 12)
    for j, (f, i, ref) in enumerate(ints):
        n = int(ref)
        eqs = [f"{n}.0", f"+{n}", f"{n}.00", f"\\mathbf{{{n}}}", f"{{{n}}}", f"\\ {n}\\ "]
        o.add(k, f, i, ref, eqs[j % 6], True)
        wrong = [f"{n}.5", f"-{n}", f"\\frac{{1}}{{{n}}}", f"{n}0", f"{n}.1", f"{n}^2"]
        o.add(k, f, i, ref, wrong[j % 6], False)
    negs = _pick(B.pool(["math500.jsonl", "olympiadbench.jsonl", "college_math.jsonl"], r"-\d+"), 6, 13)
    for j, (f, i, ref) in enumerate(negs):
        o.add(k, f, i, ref, ["\u2212" + ref[1:], "- " + ref[1:], "(" + ref + ")"][j % 3], True)
        o.add(k, f, i, ref, ref[1:], False)
    fr = _pick(
        [
            (f, i, a)
            for f, i, a in B.pool(["math500.jsonl", "olympiadbench.jsonl"], r"\\frac\{\d+\}\{\d+\}")
            if (v := _frac_of(a)) and v.numerator != 1
        ],
        6,
        14,
    )
    for j, (f, i, ref) in enumerate(fr):
        v = _frac_of(ref)
        assert v is not None
        o.add(
            k,
            f,
            i,
            ref,
            [
                f"{v.numerator}/{v.denominator}",
                f"\\frac{{{2 * v.numerator}}}{{{2 * v.denominator}}}",
                f"\\left(\\frac{{{v.numerator}}}{{{v.denominator}}}\\right)",
            ][j % 3],
            True,
        )
        o.add(
            k,
            f,
            i,
            ref,
            [f"{v.denominator}/{v.numerator}", str(v.numerator), f"\\frac{{{v.numerator}}}{{{v.denominator + 1}}}"][
                j % 3
            ],
            False,
        )
    for f, i, pairs in [
        ("math500.jsonl", 164, [("-\\sqrt3", True), ("\\sqrt{3}", False), ("-3", False)]),
        ("math500.jsonl", 85, [("\\sqrt 5", True), ("5", False), ("\\sqrt{5}/5", False)]),
        ("math500.jsonl", 78, [("(-2, 1)", True), ("[-2,1]", False), ("(-2,-1)", False)]),
        ("math500.jsonl", 219, [("1/2", True), ("2", False), ("0.5", True), ("-\\frac{1}{2}", False)]),
        (
            "math500.jsonl",
            163,
            [("\\frac{-35}{9}", True), ("-\\dfrac{35}{9}", True), ("\\frac{35}{9}", False), ("-\\frac{9}{35}", False)],
        ),
    ]:
        for pred, eq in pairs:
            o.add(k, f, i, B.ans(f, i), pred, eq)
    # a one-letter trailing factor is a variable (or i), not a unit: "27+38 i" is not 27+38
    terms = [("college_math.jsonl", i) for i in (0, 41, 63, 199, 210, 224, 283, 287, 343, 440, 479, 532, 1329, 1507)]
    terms += [("olympiadbench.jsonl", 12), ("olympiadbench.jsonl", 50)]
    for j, (f, i) in enumerate(terms):
        ref = B.ans(f, i)
        m = re.fullmatch(r"(.*\d)\s+([a-z])", ref)
        assert m, ref
        o.add(k, f, i, ref, m.group(1), False)
        o.add(k, f, i, ref, ref.replace(" ", "") if j % 2 == 0 else f"{m.group(1)}{m.group(2)}", True)


def _gen_symbolic(B: _Bench, o: _Out) -> None:
    k = "symbolic"
    ob = "olympiadbench.jsonl"
    m = "math500.jsonl"
    # every label below was checked by hand (expanding both sides)
    specs: list[tuple[str, int, list[tuple[str, bool]]]] = [
        (m, 102, [("ab+2a+5b+10", True), ("(b+2)(a+5)", True), ("(a+2)(b+5)", False), ("ab+10", False)]),
        (
            ob,
            40,
            [
                ("\\frac{2n^3+3n^2+n}{6}", True),
                ("\\frac{n(2n+1)(n+1)}{6}", True),
                ("\\frac{n(n+1)}{2}", False),
                ("\\frac{n(n+1)(2n-1)}{6}", False),
            ],
        ),
        (
            ob,
            121,
            [("\\frac{n^2+n}{2}", True), ("\\frac{1}{2}n(n+1)", True), ("\\frac{n(n-1)}{2}", False), ("n(n+1)", False)],
        ),
        (ob, 57, [("n(n-1)+1", True), ("(n-1)^2", False), ("n^2+n+1", False)]),
        (ob, 67, [("n^2-n", True), ("n^{2}+n", False)]),
        (ob, 41, [("1+n^2", True), ("(n+1)^2", False)]),
        (ob, 86, [("2n(n-1)+1", True), ("(n-1)^2+n^2", True), ("2n^2+2n+1", False), ("(2n-1)^2", False)]),
        (ob, 119, [("2^n-(n+1)", True), ("2^{n}-n+1", False)]),
        (ob, 60, [("\\frac{n(n+1)}{4}", True), ("\\frac{n^2+n}{4}", True), ("\\frac{n(n+1)}{2}", False)]),
        (ob, 1, [("\\frac{1}{2(n+1)}", True), ("\\frac{1}{2n}+2", False), ("\\frac{1}{2n+1}", False)]),
        (ob, 19, [("\\frac{3m-2}{2}", True), ("1.5m-1", True), ("\\frac{3m}{2}+1", False), ("\\frac{3m-1}{2}", False)]),
        (ob, 79, [("n2^n-2^{n+1}+1", True), ("(n-1)2^n+1", False)]),
        (ob, 108, [("\\frac{2^k}{2^n}", True), ("2^{n-k}", False)]),
        (ob, 124, [("\\frac{2^k}{2}", True), ("2^{k}-1", False)]),
        (ob, 53, [("\\frac{1}{2}N", True), ("0.5N", True), ("2N", False)]),
        (ob, 4, [("2(n-1)", True), ("2n-1", False)]),
        (ob, 300, [("\\frac{1}{2}ab", True), ("ab", False)]),
        (ob, 182, [("\\frac{(1-p)(1+p)}{3}", True), ("\\frac{(1-p)^2}{3}", False)]),
        (ob, 223, [("\\frac{x^2-3x+2}{6}", True), ("\\frac{(x+1)(x+2)}{6}", False)]),
        (ob, 204, [("(x-1)^2+1", True), ("x^2-2x-2", False)]),
        (
            "college_math.jsonl",
            178,
            [("y=\\frac{7}{2}-\\frac{3}{2}x", True), ("y=-1.5x+3.5", True), ("y=\\frac{3x-7}{2}", False)],
        ),
        (m, 274, [("2\\pi+18", True), ("2(9+\\pi)", True), ("20\\pi", False)]),
        (m, 352, [("11(\\sqrt{5}+1)", True), ("11\\sqrt{6}", False), ("11\\sqrt{5}-11", False)]),
        (m, 308, [("2\\sqrt{3}+1", True), ("\\sqrt{12}+1", True), ("3\\sqrt{3}", False)]),
    ]
    for f, i, pairs in specs:
        for pred, eq in pairs:
            o.add(k, f, i, B.ans(f, i), pred, eq)


_GENERATORS: list[Callable[[_Bench, _Out], None]] = [
    _gen_thousands,
    _gen_decimal_comma,
    _gen_mixed,
    _gen_fraction_decimal,
    _gen_percent,
    _gen_interval,
    _gen_set,
    _gen_tuple,
    _gen_matrix,
    _gen_equation,
    _gen_units,
    _gen_degrees,
    _gen_radical,
    _gen_pi,
    _gen_scientific,
    _gen_choice,
    _gen_sentence,
    _gen_text,
    _gen_near_miss,
    _gen_symbolic,
]


def build_pairs(root: Path = BENCH_DATA) -> list[dict[str, Any]]:
    """The labelled pairs, deterministically, from the benchmark files under ``root``."""
    B = _Bench(root)
    o = _Out()
    for gen in _GENERATORS:
        gen(B, o)
    return o.rows


def write_pairs(rows: list[dict[str, Any]], path: Path = PAIRS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def load_pairs(path: Path = PAIRS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --------------------------------------------------------------------------------------------
# Part 1: the checkers
# --------------------------------------------------------------------------------------------

_PROSE = re.compile(r"[A-Za-z]{2,}[ ,.;:]+[A-Za-z]{2,}[ ,.;:]+[A-Za-z]{2,}")


def wrap_dollars(s: str) -> str:
    """``$s$`` for a bare answer; strings that already carry math delimiters, or prose, as they are."""
    if any(t in s for t in ("$", "\\boxed", "\\(", "\\[")):
        return s
    if _PROSE.search(re.sub(r"\\(text|mathrm|textbf|mbox)\{[^{}]*\}", "", s)):
        return s
    return f"${s}$"


def math_verify_check(ref: str, pred: str, *, wrap: bool = False) -> tuple[bool, bool]:
    """math-verify with default settings, gold first: (verdict, decided).

    ``decided`` is False when either side parses to nothing; math-verify then answers False.
    """
    from math_verify import parse, verify

    g = parse(wrap_dollars(ref) if wrap else ref)
    p = parse(wrap_dollars(pred) if wrap else pred)
    try:
        ok = bool(verify(g, p))
    except Exception:  # noqa: BLE001 - a peer's failure is a False verdict, as in its own harnesses
        ok = False
    return ok, bool(g) and bool(p)


def load_dlcot() -> tuple[Any, list[str]]:
    """The dlcot module (or None) and the names of the equivalence API it lacks."""
    try:
        import dlcot
    except ImportError:
        return None, ["dlcot"]
    names = ["normalize_answer", "equivalent", "equivalent_batch", "verify", "verify_batch"]
    return dlcot, [n for n in names if not hasattr(dlcot, n)]


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


class Part1:
    """All checkers on the labelled pairs."""

    def __init__(self, pairs: list[dict[str, Any]], dl: Any, missing: list[str]) -> None:
        self.pairs = pairs
        self.labels = [bool(p["equivalent"]) for p in pairs]
        self.kinds = [p["kind"] for p in pairs]
        n = len(pairs)
        self.secs: dict[str, float] = {}
        mv = [math_verify_check(p["ref"], p["pred"]) for p in pairs[:1]]  # warm sympy/latex2sympy imports
        mv, self.secs["math-verify"] = _timed(lambda: [math_verify_check(p["ref"], p["pred"]) for p in pairs])
        self.mv = [v for v, _ in mv]
        self.mv_decided = [d for _, d in mv]
        mvw, self.secs["math-verify ($…$)"] = _timed(
            lambda: [math_verify_check(p["ref"], p["pred"], wrap=True) for p in pairs]
        )
        self.mvw = [v for v, _ in mvw]
        self.fast: list[bool | None] | None = None
        self.fast_batch: list[bool | None] | None = None
        self.ver: list[bool] | None = None
        self.paths: list[str] | None = None
        if dl is not None and "equivalent" not in missing:
            self.fast, self.secs["dlcot.equivalent"] = _timed(
                lambda: [dl.equivalent(p["pred"], p["ref"]) for p in pairs]
            )
            if "equivalent_batch" not in missing:
                tup = [(p["pred"], p["ref"]) for p in pairs]
                self.fast_batch, self.secs["dlcot.equivalent_batch (1 thread)"] = _timed(
                    lambda: dl.equivalent_batch(tup, num_threads=1)
                )
        if dl is not None and "verify" not in missing:
            self.ver, self.secs["dlcot.verify"] = _timed(lambda: [bool(dl.verify(p["pred"], p["ref"])) for p in pairs])
            if "verify_batch" not in missing:
                tup = [(p["pred"], p["ref"]) for p in pairs]
                (vb_res, self.paths), self.secs["dlcot.verify_batch"] = _timed(lambda: dl.verify_batch(tup))
                self.ver_batch = [bool(x) for x in vb_res]
        self.n = n

    def us(self, name: str) -> float:
        return self.secs[name] / self.n * 1e6

    @staticmethod
    def acc(pred: list[bool], gold: list[bool]) -> float:
        return sum(a == b for a, b in zip(pred, gold)) / len(gold) if gold else float("nan")

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for k in [*KINDS, None]:
            idx = [i for i, kk in enumerate(self.kinds) if k is None or kk == k]
            if not idx:
                continue
            g = [self.labels[i] for i in idx]
            r: dict[str, Any] = {
                "kind": k or "**all**",
                "n": len(idx),
                "eq": sum(g),
                "mv": self.acc([self.mv[i] for i in idx], g),
                "mvw": self.acc([self.mvw[i] for i in idx], g),
                "mv_undecided": sum(not self.mv_decided[i] for i in idx),
            }
            if self.fast is not None:
                dec = [i for i in idx if self.fast[i] is not None]
                r["fast_rate"] = len(dec) / len(idx)
                r["fast_acc"] = (
                    self.acc([bool(self.fast[i]) for i in dec], [self.labels[i] for i in dec]) if dec else float("nan")
                )
                r["fast_wrong"] = sum(bool(self.fast[i]) != self.labels[i] for i in dec)
            if self.ver is not None:
                r["ver"] = self.acc([self.ver[i] for i in idx], g)
            if self.paths is not None:
                c = Counter(self.paths[i] for i in idx)
                r["paths"] = f"{c.get('fast', 0)}/{c.get('symbolic', 0)}/{c.get('undecided', 0)}"
            out.append(r)
        return out


# --------------------------------------------------------------------------------------------
# Part 2: real pairs, no labels
# --------------------------------------------------------------------------------------------


def real_pairs(dl: Any, missing: list[str], limit: int | None = None) -> dict[str, list[tuple[str, str, str]]]:
    """Groups of (pred, ref, where) pairs from the traces and the benchmark files."""
    groups: dict[str, list[tuple[str, str, str]]] = {}
    if TRACES.exists() and dl is not None and hasattr(dl, "extract_answer"):
        rows = []
        n_ref = n_none = 0
        with TRACES.open(encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                if r.get("answer") is None:
                    continue
                n_ref += 1
                a = dl.extract_answer(r["response"])
                if a is None:
                    n_none += 1
                    continue
                rows.append((a, str(r["answer"]), r["id"]))
        groups["traces: extracted answer vs reference"] = rows[:limit] if limit else rows
        REAL_NOTES["traces"] = f"{n_ref:,} traces with a reference; dlcot.extract_answer found no answer in {n_none:,}"
    norm = getattr(dl, "normalize_answer", None) if dl is not None else None
    B = _Bench()
    self_rows: list[tuple[str, str, str]] = []
    orig_rows: list[tuple[str, str, str]] = []
    for f, recs in B.files.items():
        s_rows, o_rows = [], []
        for i, r in enumerate(recs):
            a = str(r.get("answer", ""))
            if not a.strip():
                continue
            s_rows.append((norm(a) if norm else a, a, f"{f}:{i}"))
            if "answer_original" in r:
                ao = r["answer_original"]
                o_rows.append((ao if isinstance(ao, str) else json.dumps(ao), a, f"{f}:{i}"))
        self_rows += s_rows[:limit] if limit else s_rows
        orig_rows += o_rows[:limit] if limit else o_rows
    label = (
        "bench: normalize_answer(answer) vs answer" if norm else "bench: answer vs itself (normalize_answer missing)"
    )
    groups[label] = self_rows
    groups["bench: answer_original vs answer"] = orig_rows
    return groups


REAL_NOTES: dict[str, str] = {}


_CMD = re.compile(r"\\[a-zA-Z]+")


def _single_letters(s: str) -> Counter:
    return Counter(t for t in re.findall(r"[A-Za-z]+", _CMD.sub(" ", s)) if len(t) == 1)


_LHS = re.compile(r"(?:^|[,;]\s*|\band\s+|\bor\s+)\s*[A-Za-z](?:_\{?\w+\}?)?(?:\([^()]*\))?\s*=")


def suspect(pred: str, ref: str) -> str:
    """Why a disagreement may not be math-verify's fault: a cheap look at what changed.

    Checked in order: a LaTeX command in ``pred`` that ``ref`` lacks (``\\pm i`` -> ``\\pmi``),
    set braces ``\\{ \\}`` lost, a one-letter symbol of ``ref`` missing from ``pred`` (equation
    left-hand sides such as ``x=`` excepted), a comma turned into a decimal point, prose.
    """
    new_cmds = set(_CMD.findall(pred)) - set(_CMD.findall(ref))
    if new_cmds:
        return "new command " + ", ".join(sorted(new_cmds))
    if "\\{" in ref and "\\{" not in pred:
        return "set braces lost"
    lost = _single_letters(_LHS.sub(" ", ref)) - _single_letters(pred)
    if lost:
        return "pred lost " + ", ".join(sorted(lost))
    if re.search(r"\d,\d", ref) and not re.search(r"\d,\d", pred) and re.search(r"\d\.\d", pred):
        return "comma became a decimal point"
    if _PROSE.search(_CMD.sub(" ", pred)) or _PROSE.search(_CMD.sub(" ", ref)):
        return "prose"
    return ""


class Part2Group:
    def __init__(self, name: str, rows: list[tuple[str, str, str]], dl: Any, missing: list[str]) -> None:
        self.name = name
        self.rows = rows
        self.mv = []
        self.dec = []
        for pred, ref, _ in rows:
            v, d = math_verify_check(ref, pred, wrap=True)
            self.mv.append(v)
            self.dec.append(d)
        self.fast = (
            [dl.equivalent(p, r) for p, r, _ in rows] if dl is not None and "equivalent" not in missing else None
        )
        self.ver = [bool(dl.verify(p, r)) for p, r, _ in rows] if dl is not None and "verify" not in missing else None

    def summary(self) -> dict[str, Any]:
        idx = [i for i, d in enumerate(self.dec) if d]
        s: dict[str, Any] = {"n": len(self.rows), "mv_decided": len(idx), "mv_true": sum(self.mv[i] for i in idx)}
        if self.ver is not None:
            s["ver_agree"] = sum(self.ver[i] == self.mv[i] for i in idx)
            s["ver_true_all"] = sum(self.ver)
        if self.fast is not None:
            fd = [i for i in idx if self.fast[i] is not None]
            s["fast_decided"] = len(fd)
            s["fast_agree"] = sum(bool(self.fast[i]) == self.mv[i] for i in fd)
        return s

    def disagreements(self) -> list[tuple[str, str, str, bool, Any, Any]]:
        """(where, pred, ref, math-verify, dlcot.verify, fast) where math-verify decides and a dlcot check differs."""
        out = []
        for i, (p, r, w) in enumerate(self.rows):
            if not self.dec[i]:
                continue
            v = self.ver[i] if self.ver is not None else None
            f = self.fast[i] if self.fast is not None else None
            if (v is not None and v != self.mv[i]) or (f is not None and bool(f) != self.mv[i]):
                out.append((w, p, r, self.mv[i], v, f))
        return out


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "–" if x is None or math.isnan(x) else f"{100 * x:.1f}%"


def _code(s: str, n: int = 160) -> str:
    s = s.replace("\n", "⏎")
    if len(s) > n:
        s = s[: n - 1] + "…"
    return "`` " + s.replace("|", "\\|").replace("`", "'") + " ``"


def _env(dl: Any) -> str:
    sha = current_commit()
    try:
        from importlib.metadata import version

        mvv = version("math-verify")
    except Exception:  # noqa: BLE001
        mvv = "?"
    dlv = getattr(dl, "__version__", "?") if dl is not None else "missing"
    cpu = cpu_model()
    return f"commit {sha}, dlcot {dlv}, math-verify {mvv}, Python {platform.python_version()}, {cpu}"


def report(p1: Part1, groups: list[Part2Group], dl: Any, missing: list[str]) -> str:
    L: list[str] = []
    w = L.append
    w("# Answer equivalence: dlcot vs math-verify\n")
    w(f"Made by `python bench/verify_bench.py` ({_env(dl)}).\n")
    if missing:
        w(f"**dlcot API missing: {', '.join(missing)}.** Only the math-verify columns are filled.\n")
    w("## Part 1: labelled pairs (`bench/data/answer_pairs.jsonl`)\n")
    w(f"{p1.n:,} pairs, {sum(p1.labels):,} equivalent. Labels and conventions: `bench/data/README.md`.")
    w("Columns: math-verify = `verify(parse(ref), parse(pred))`, default settings, strings as stored;")
    w("math-verify ($) = the same with each bare answer wrapped in `$...$`; undecided = math-verify parsed")
    w("nothing on one side (it then says False); fast = `dlcot.equivalent` alone (decide rate, accuracy")
    w("where it decides, wrong decisions); verify = `dlcot.verify` (accuracy); paths = which path decided in")
    w("`verify_batch` (fast/symbolic/undecided).\n")
    rows = p1.rows()
    head = "| kind | n | equiv | math-verify | math-verify ($) | mv undecided |"
    sep = "|---|---:|---:|---:|---:|---:|"
    if p1.fast is not None:
        head += " fast decides | fast acc. | fast wrong |"
        sep += "---:|---:|---:|"
    if p1.ver is not None:
        head += " dlcot.verify |"
        sep += "---:|"
    if p1.paths is not None:
        head += " paths f/s/u |"
        sep += "---|"
    w(head)
    w(sep)
    for r in rows:
        line = f"| {r['kind']} | {r['n']} | {r['eq']} | {_pct(r['mv'])} | {_pct(r['mvw'])} | {r['mv_undecided']} |"
        if p1.fast is not None:
            line += f" {_pct(r['fast_rate'])} | {_pct(r['fast_acc'])} | {r['fast_wrong']} |"
        if p1.ver is not None:
            line += f" {_pct(r['ver'])} |"
        if p1.paths is not None:
            line += f" {r['paths']} |"
        w(line)
    w("")
    w("### Time per pair (µs, one thread, whole set, wall clock)\n")
    w("| checker | µs/pair |")
    w("|---|---:|")
    for name in p1.secs:
        w(f"| {name} | {p1.us(name):,.1f} |")
    if "dlcot.equivalent" in p1.secs:
        w("")
        fastest = min(p1.us(n) for n in p1.secs if n.startswith("dlcot.equivalent"))
        w(
            f"Fast path vs math-verify: **{p1.us('math-verify') / fastest:,.0f}x** faster per pair than the default call "
            f"({p1.us('math-verify'):,.0f} vs {fastest:,.2f} µs), {p1.us('math-verify ($…$)') / fastest:,.0f}x than the "
            f"`$...$`-wrapped call ({p1.us('math-verify ($…$)'):,.0f} µs)."
        )
        if "dlcot.verify" in p1.secs:
            w(f"dlcot.verify vs math-verify: {p1.us('math-verify') / p1.us('dlcot.verify'):,.1f}x.")
            if p1.paths is not None:
                n_sym = sum(x != "fast" for x in p1.paths)
                w(
                    f"dlcot.verify's time is mostly the math-verify fallback on the {n_sym} of {p1.n} pairs the"
                    " fast path leaves; it uses the `$...$`-wrapped call."
                )
    w("")
    w(
        "Timings are wall clock on a shared 2-core machine and vary by up to 2x between runs; compare"
        " rows of one run only. Accuracies do not depend on load."
    )
    w("")

    def listing(title: str, idx: list[int], extra: Callable[[int], str]) -> None:
        w(f"### {title} ({len(idx)})\n")
        if not idx:
            w("None.\n")
            return
        w("| kind | source | pred | ref | label | " + extra(-1) + " |")
        w("|---|---|---|---|---|---|")
        for i in idx:
            p = p1.pairs[i]
            w(
                f"| {p['kind']} | {p['source']} | {_code(p['pred'])} | {_code(p['ref'])} | {p['equivalent']} | {extra(i)} |"
            )
        w("")

    if p1.fast is not None:
        fast: list[bool | None] = p1.fast
        wrong = [i for i, f in enumerate(fast) if f is not None and bool(f) != p1.labels[i]]
        listing("Wrong fast-path decisions", wrong, lambda i: "fast" if i < 0 else str(fast[i]))
    if p1.ver is not None:
        ver: list[bool] = p1.ver
        paths = p1.paths
        wrong = [i for i, v in enumerate(ver) if v != p1.labels[i]]
        listing(
            "dlcot.verify errors",
            wrong,
            lambda i: "verify / path" if i < 0 else f"{ver[i]} / {paths[i] if paths else '?'}",
        )
        if p1.paths is not None and getattr(p1, "ver_batch", None) is not None:
            diff = sum(a != b for a, b in zip(p1.ver, p1.ver_batch))
            w(f"`verify_batch` and `verify` differ on {diff} pairs.\n")
    if p1.fast_batch is not None and p1.fast is not None:
        diff = sum(a != b for a, b in zip(p1.fast, p1.fast_batch))
        w(f"`equivalent_batch` and `equivalent` differ on {diff} pairs.\n")
    wrong_mv = [i for i, v in enumerate(p1.mv) if v != p1.labels[i]]
    w("<details><summary>math-verify errors (default, strings as stored), " + str(len(wrong_mv)) + "</summary>\n")
    listing("math-verify errors", wrong_mv, lambda i: "mv / mv($)" if i < 0 else f"{p1.mv[i]} / {p1.mvw[i]}")
    w("</details>\n")

    w("## Part 2: real pairs (no labels)\n")
    w("math-verify here is the `$...$`-wrapped call (bare answers wrapped, prose as is). Agreement is")
    w("counted where math-verify decides (both sides parse); the fast path only where it decides too.\n")
    for k, v in REAL_NOTES.items():
        w(f"* {k}: {v}")
    w("")
    w(
        "| pairs | n | math-verify decides | mv True (decided) | dlcot.verify True (all) | dlcot.verify agrees | fast decides (of mv-decided) | fast agrees |"
    )
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for g in groups:
        s = g.summary()
        va = (
            f"{s['ver_agree']:,} ({_pct(s['ver_agree'] / s['mv_decided'] if s['mv_decided'] else None)})"
            if "ver_agree" in s
            else "–"
        )
        fa = (
            f"{s['fast_agree']:,} ({_pct(s['fast_agree'] / s['fast_decided'] if s['fast_decided'] else None)})"
            if "fast_agree" in s
            else "–"
        )
        fd = f"{s['fast_decided']:,}" if "fast_decided" in s else "–"
        vt = f"{s['ver_true_all']:,}" if "ver_true_all" in s else "–"
        w(f"| {g.name} | {s['n']:,} | {s['mv_decided']:,} | {s['mv_true']:,} | {vt} | {va} | {fd} | {fa} |")
    w("")
    w("The bench pairs should all be equivalent (an answer against its own normalised or original")
    w("form), so there the disagreements are failures of one side or a lossy `normalize_answer`.")
    w("The `suspect` column is a cheap diff, checked in this order: a LaTeX command in the prediction")
    w("that the reference lacks (`\\pm i` became `\\pmi`), set braces `\\{ \\}` lost, a one-letter symbol")
    w("(variable, `i`, unit letter) of the reference missing from the prediction (`x=` left-hand sides")
    w("excepted), a comma turned into a decimal point, or prose.\n")
    for g in groups:
        d = g.disagreements()
        if g.ver is None and g.fast is None:
            continue
        w(f"### Disagreements with math-verify: {g.name} ({len(d)})\n")
        if not d:
            w("None.\n")
            continue
        sus = [suspect(pr, rf) for _, pr, rf, *_ in d]
        c = Counter(
            "pred lost a one-letter symbol"
            if x.startswith("pred lost")
            else ("a command merged with the next letter" if x.startswith("new command") else (x or "other"))
            for x in sus
        )
        w("By suspect: " + ", ".join(f"{k} {v}" for k, v in c.most_common()) + ".")
        lost = Counter(ch for x in sus if x.startswith("pred lost") for ch in x[len("pred lost ") :].split(", "))
        if lost:
            w("Letters lost: " + ", ".join(f"`{k}` {v}" for k, v in lost.most_common()) + ".")
        w("")
        w("| where | pred | ref | math-verify | dlcot.verify | fast | suspect |")
        w("|---|---|---|---|---|---|---|")
        for (where, pr, rf, mv, v, f), x in zip(d, sus):
            w(f"| {where} | {_code(pr, 120)} | {_code(rf, 120)} | {mv} | {v} | {f} | {x} |")
        w("")
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", action="store_true", help="regenerate bench/data/answer_pairs.jsonl and exit")
    ap.add_argument("--no-real", action="store_true", help="skip part 2 (real pairs)")
    ap.add_argument("--limit", type=int, default=None, help="at most N real pairs per source file")
    ap.add_argument("--out", type=Path, default=RESULT)
    a = ap.parse_args(argv)
    if a.build:
        rows = build_pairs()
        write_pairs(rows)
        print(f"wrote {len(rows)} pairs to {PAIRS}")
        return 0
    dl, missing = load_dlcot()
    if missing:
        print(f"note: dlcot API missing ({', '.join(missing)}); running the math-verify part only", file=sys.stderr)
    pairs = load_pairs()
    p1 = Part1(pairs, dl, missing)
    groups = []
    if not a.no_real:
        for name, real in real_pairs(dl, missing, a.limit).items():
            groups.append(Part2Group(name, real, dl, missing))
    text = report(p1, groups, dl, missing)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
