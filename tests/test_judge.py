"""dlcot.judge without models: templates, reply parsing, quote alignment, the SQLite cache, and
the judging engine driven by an in-process scripted judge (a JudgeClient, not an HTTP mock:
the HTTP backend meets real servers in tests/test_judge_http.py and tests/test_judge_models.py).
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlcot
from dlcot.io import Record, iter_records
from dlcot.judge import (
    DEFAULT_TEMPLATES,
    Completion,
    Decisions,
    JudgeCache,
    JudgeClient,
    Judging,
    MalformedOutput,
    align_quote,
    cache_key,
    load_templates,
    parse_reply,
)

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sky_t1_sample.jsonl"


@pytest.fixture(scope="module")
def sample() -> list[Record]:
    return [r for r in iter_records(str(SAMPLE)) if isinstance(r, Record)]


@pytest.fixture(scope="module")
def traces(sample):
    return [dlcot.parse(r.response, problem=r.problem, reference=r.answer) for r in sample]


def task_of(messages) -> str:
    text = messages[-1]["content"]
    for needle, task in (
        ("What is the next passage?", "segment"),
        ("Is this attempt correct", "correctness"),
        ("Find the calculation or derivation errors", "errors"),
        ("Is B redundant with A", "approach"),
        ("Passages were removed", "smooth"),
    ):
        if needle in text:
            return task
    raise AssertionError(f"unknown prompt: {text[:80]!r}")


class Scripted(JudgeClient):
    """Answers each request with ``reply(task, messages)``: a str, or None for a failed call."""

    backend = "scripted"
    model = "scripted-1"

    def __init__(self, reply):
        self.reply = reply
        self.seen: list[tuple[str, list]] = []
        self._lock = threading.Lock()

    def complete_batch(self, requests, on_done=None):
        out = []
        for i, r in enumerate(requests):
            task = task_of(r.messages)
            with self._lock:
                self.seen.append((task, r.messages))
            text = self.reply(task, r.messages)
            c = Completion(text, 10, 2) if text is not None else Completion(None, error="refused")
            out.append(c)
            if on_done:
                on_done(i, c)
        return out


# ---- import, arguments -------------------------------------------------------------------------


def test_importing_the_judge_pulls_no_torch_or_transformers():
    code = "import sys, dlcot, dlcot.judge; print([m for m in ('torch', 'transformers', 'rapidfuzz') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert "dlcot.judge" not in subprocess.run(
        [sys.executable, "-c", "import sys, dlcot; print(list(sys.modules))"], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"cluster": "fuzzy"}, ValueError, "cluster"),
        ({"fix_errors": True}, ValueError, "fix_errors"),
        ({"judge": "http://x"}, TypeError, "judge"),
        ({"threshold": 0}, ValueError, "threshold"),
        ({"semantic_threshold": 1.5}, ValueError, "semantic_threshold"),
        ({"tasks": ["vibes"], "judge": Scripted(lambda t, m: None)}, ValueError, "tasks"),
        ({"label_scope": "some"}, ValueError, "label_scope"),
        ({"bands": {"lexical": (0.7, 0.2)}}, ValueError, "bands"),
    ],
)
def test_bad_arguments_are_named(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        Judging(**kwargs)


def test_decide_batch_checks_its_inputs(traces):
    j = Judging()
    with pytest.raises(ValueError, match="records"):
        j.decide_batch([None], traces[:2])
    with pytest.raises(TypeError, match=r"traces\[0\]"):
        j.decide_batch(None, ["not a trace"])
    assert j.decide_batch(None, []) == []


# ---- templates and replies -----------------------------------------------------------------------


def test_templates_render_values_verbatim_and_have_versions():
    for task, t in DEFAULT_TEMPLATES.items():
        assert t.task == task and t.version.startswith(task + "-")
    msgs = DEFAULT_TEMPLATES["approach"].render(problem="{{a}} $x$ {b}", a="\\frac{1}{2}", b="B")
    assert msgs[0]["role"] == "system" and "{{a}} $x$ {b}" in msgs[1]["content"]
    assert "\\frac{1}{2}" in msgs[1]["content"] and "{{" not in msgs[1]["content"].replace("{{a}} $x$", "")


def test_template_overrides_from_dict_and_file_change_the_cache_key(tmp_path):
    f = tmp_path / "t.json"
    f.write_text(json.dumps({"correctness": {"user": "Right? {{solution}}", "max_tokens": 8}, "approach": "Same? {{a}} {{b}}"}))
    t = load_templates(f)
    assert t["correctness"].user == "Right? {{solution}}" and t["correctness"].max_tokens == 8
    assert t["correctness"].version.startswith("user-") and t["errors"] == DEFAULT_TEMPLATES["errors"]
    assert load_templates({"approach": {"user": "x", "version": "mine-2"}})["approach"].version == "mine-2"
    with pytest.raises(ValueError, match="unknown task"):
        load_templates({"vibes": "x"})
    with pytest.raises(ValueError, match="unknown keys"):
        load_templates({"approach": {"prompt": "x"}})
    k1 = cache_key("http", "m", "correctness", DEFAULT_TEMPLATES["correctness"].version, {"messages": "same"})
    k2 = cache_key("http", "m", "correctness", t["correctness"].version, {"messages": "same"})
    assert k1 != k2


@pytest.mark.parametrize(
    ("task", "reply", "value"),
    [
        ("approach", '{"same": true}', True),
        ("approach", 'Let me think.\n```json\n{"same": false}\n```', False),
        ("approach", '<think>maybe {"same": true}</think>{"same": false}', False),
        ("correctness", '{"verdict": "incorrect"}', "incorrect"),
        ("correctness", '{"verdict": "unsure"}', None),
        ("segment", '{"role": "check"}', "check"),
        ("errors", '{"errors": [{"quote": "3 * 4 = 13", "why": "12"}]}', ["3 * 4 = 13"]),
        ("errors", '{"errors": []}', []),
        ("errors", '{"errors": ["2 + 2 = 5"]}', ["2 + 2 = 5"]),
        ("smooth", '{"rewrite": "So x = 2."}', "So x = 2."),
    ],
)
def test_replies_parse(task, reply, value):
    assert parse_reply(task, reply) == value


@pytest.mark.parametrize(
    ("task", "reply"),
    [
        ("approach", "yes"),
        ("approach", '{"same": "yes"}'),
        ("approach", "\ufffd\ufffd \ufffd\ufffd"),
        ("approach", None),
        ("approach", '{"same": tru'),
        ("correctness", '{"verdict": "right"}'),
        ("segment", '{"role": 3}'),
        ("errors", '{"errors": "none"}'),
        ("errors", '{"errors": [{"why": "no quote"}]}'),
        ("smooth", '{"rewrite": ""}'),
        ("approach", "[1, 2]"),
        ("approach", '{"same": ' + "[" * 100000 + "]" * 100000 + "}"),
        ("errors", "{" * 50000),
        ("errors", '{"x": "' * 300000),
    ],
)
def test_malformed_replies_raise_malformed_output(task, reply):
    with pytest.raises(MalformedOutput):
        parse_reply(task, reply)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["segment", "correctness", "errors", "approach", "smooth"]), st.text(max_size=200))
def test_parsing_any_reply_raises_nothing_but_malformed_output(task, text):
    try:
        parse_reply(task, text)
    except MalformedOutput:
        pass


# ---- quote alignment ----------------------------------------------------------------------------

TEXT = (
    "Okay, so the area is $3 \\times 4$.\n\nThat gives $3 \\times 4 = 13$, so the area is 13.\n\n"
    "Then   x = 5.  And y = 7 so z = 12 which is wrong.\n\nWait, 3 × 4 = 12 — über-checked."
)


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("3 \\times 4 = 13", "3 \\times 4 = 13"),  # exact
        ('"$3 \\times 4 = 13$"', "$3 \\times 4 = 13$"),  # quoted, with delimiters
        ("THEN x = 5", "Then   x = 5"),  # case and spacing
        ("y = 7 so z = 13 which is wrong", "y = 7 so z = 12 which is wrong"),  # a typo: fuzzy
        ("That gives ... so the area is 13", "That gives $3 \\times 4 = 13$, so the area is 13"),  # elided
        ("3 × 4 = 12 — über", "3 × 4 = 12 — über"),  # non-ASCII: str offsets
    ],
)
def test_align_quote_places_what_the_judge_copied(quote, expected):
    at = align_quote(TEXT, quote)
    assert at is not None and TEXT[at[0] : at[1]] == expected


@pytest.mark.parametrize(
    "quote",
    ["the volume is 99 cubic units", "the area is", "13", "", "   ", "...", "zzzz qqqq wwww xxxx", "the area ... 13"],
)
def test_align_quote_rejects_what_it_cannot_place(quote):
    assert align_quote(TEXT, quote) is None  # absent, ambiguous (twice) or too short


def test_align_quote_stays_in_its_region_and_snaps():
    s = TEXT.index("Then")
    assert align_quote(TEXT, "3 \\times 4 = 13", start=s) is None
    at = align_quote(TEXT, "so z = 12", snap="sentence")
    assert TEXT[at[0] : at[1]] == "And y = 7 so z = 12 which is wrong."
    at = align_quote(TEXT, "hich is wro", snap="word")
    assert TEXT[at[0] : at[1]] == "which is wrong"
    with pytest.raises(ValueError, match="snap"):
        align_quote(TEXT, "x", snap="para")
    with pytest.raises(TypeError, match="quote"):
        align_quote(TEXT, None)


def test_align_quote_finds_every_unique_substring_of_real_traces(sample):
    import random

    rng = random.Random(0)
    n = 0
    for r in sample:
        text = r.response
        for _ in range(20):
            a = rng.randrange(0, len(text) - 80)
            b = a + rng.randrange(20, 80)
            q = text[a:b]
            if text.count(q) != 1 or q != q.strip():
                continue
            assert align_quote(text, q) == (a, b)
            n += 1
    assert n > 150


# ---- cache ---------------------------------------------------------------------------------------


def test_cache_persists_is_wal_and_pickles_as_its_path(tmp_path):
    p = tmp_path / "sub" / "c.sqlite"
    with JudgeCache(p) as c:
        k = cache_key("http", "m", "approach", "approach-1", {"messages": [1]})
        c.put(k, backend="http", model="m", task="approach", version="approach-1", reply="r", prompt_tokens=3, completion_tokens=1)
        assert len(c) == 1 and pickle.loads(pickle.dumps(c)).get(k).reply == "r"
    with JudgeCache(p) as c:
        got = c.get(k)
        assert (got.reply, got.prompt_tokens, got.completion_tokens) == ("r", 3, 1)
        assert c.get("nope") is None
    assert sqlite3.connect(p).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_cache_takes_writes_from_many_threads(tmp_path):
    c = JudgeCache(tmp_path / "c.sqlite")

    def put(t):
        for i in range(50):
            c.put(f"{t}-{i}", backend="b", model="m", task="approach", version="v", reply=str(i))

    ts = [threading.Thread(target=put, args=(t,)) for t in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert len(c) == 400


# ---- the engine, rules only ------------------------------------------------------------------


def test_lexical_without_judge_is_the_rust_clustering(traces):
    for t in traces:
        d = Judging("lexical").decide(None, t)
        cl = t.cluster_solutions(0.4)
        assert d.solution_clusters == (cl.solutions or None) and d.check_clusters == (cl.checks or None)
        assert d.calls == 0 and d.issues == [] and d.labels is None


def test_python_clustering_equals_rust_when_every_call_fails(traces):
    judge = Scripted(lambda task, m: None)
    j = Judging("lexical", judge=judge, tasks=["approach"])
    ds = j.decide_batch(None, traces)
    for t, d in zip(traces, ds):
        cl = t.cluster_solutions(0.4)
        assert d.solution_clusters == (cl.solutions or None) and d.check_clusters == (cl.checks or None)
        assert d.failures == d.tasks.get("approach", 0) == len(d.issues)
        assert all("call failed (refused); the rules decide" in i for i in d.issues)
    assert sum(d.failures for d in ds) > 0 and j.stats.failures == sum(d.failures for d in ds)


# ---- the engine with a scripted judge ---------------------------------------------------------


def test_approach_verdicts_split_and_merge_clusters(traces):
    ds_rules = Judging("lexical").decide_batch(None, traces)
    never = Judging("lexical", judge=Scripted(lambda t, m: '{"same": false}'), tasks=["approach"]).decide_batch(None, traces)
    always = Judging("lexical", judge=Scripted(lambda t, m: '{"same": true}'), tasks=["approach"]).decide_batch(None, traces)
    changed = 0
    for r, n, a in zip(ds_rules, never, always):
        if not n.tasks:
            assert n.solution_clusters == r.solution_clusters and n.check_clusters == r.check_clusters
            continue
        for lead in (r.solution_clusters or []) + (r.check_clusters or []):
            assert lead is not None
        # "never same" can only make more leaders, "always same" fewer
        for ra, na, aa in ((r.solution_clusters, n.solution_clusters, a.solution_clusters), (r.check_clusters, n.check_clusters, a.check_clusters)):
            if ra is None:
                continue
            k = lambda xs: sum(1 for i, x in enumerate(xs) if i == x)  # noqa: E731
            assert k(na) >= k(ra) >= k(aa)
            changed += na != ra or aa != ra
        for clusters in (n.solution_clusters, n.check_clusters, a.solution_clusters, a.check_clusters):
            if clusters:  # the Clusters convention: leaders map to themselves, members to an earlier leader
                assert all(clusters[x] == x and x <= i for i, x in enumerate(clusters))
    assert changed > 0


def test_correctness_judge_labels_solutions_without_a_reference(sample):
    t = dlcot.parse(sample[1].response, problem=sample[1].problem)  # no reference: every label None
    assert all(s.label is None for s in t.solutions)
    judge = Scripted(lambda task, m: '{"verdict": "incorrect"}' if "answer this attempt reaches: 4" not in m[-1]["content"] else '{"verdict": "correct"}')
    d = Judging(judge=judge, tasks=["correctness"]).decide(None, t)
    with_answer = [i for i, s in enumerate(t.solutions) if s.answer is not None]
    assert with_answer and d.tasks == {"correctness": len(with_answer)}
    assert [d.labels[i] for i in with_answer] == ["correct" if t.solutions[i].answer == "4" else "incorrect" for i in with_answer]
    assert all(d.labels[i] is None for i in range(len(t.solutions)) if i not in with_answer)


def test_rules_decided_labels_are_not_sent_to_the_judge(traces):
    judge = Scripted(lambda task, m: '{"verdict": "incorrect"}')
    ds = Judging(judge=judge, tasks=["correctness"]).decide_batch(None, traces)
    for t, d in zip(traces, ds):
        undecided = [i for i, s in enumerate(t.solutions) if s.label == "undecided"]
        assert d.tasks.get("correctness", 0) == len(undecided)
        if d.labels is not None:
            assert [i for i, x in enumerate(d.labels) if x is not None] == undecided


def test_error_quotes_become_exact_spans_inside_the_solution(sample):
    r = sample[0]  # one incorrect solution (40 vs 50)
    t = dlcot.parse(r.response, problem=r.problem, reference=r.answer)
    s = t.solutions[0]
    body = t.text[s.start : s.end]
    line = next(x for x in body.split("\n") if "=" in x and len(x) > 30 and body.count(x) == 1)
    quote = "  " + line.replace(" ", "  ").upper()[:60] + "  "  # respaced, shouted, cut short

    def reply(task, m):
        return json.dumps({"errors": [{"quote": quote, "why": "wrong"}, {"quote": "the moon is made of cheese", "why": "?"}]})

    d = Judging(judge=Scripted(reply), fix_errors=True, tasks=["errors"]).decide(r, t)
    assert d.tasks == {"errors": 1}
    assert len(d.error_spans) == 1
    i, a, b = d.error_spans[0]
    assert i == 0 and s.start <= a < b <= s.end
    assert line.strip() in t.text[a:b] or t.text[a:b] in line  # snapped to the sentence/line
    assert any("1 of 2 quoted errors could not be placed" in x for x in d.issues)


def test_error_spans_never_cover_the_final_answer(sample):
    r = sample[13]  # 57 vs 55: incorrect, the final answer lies in the only solution's reach
    t = dlcot.parse(r.response, problem=r.problem, reference=r.answer)
    fa = t.final_answer_span
    quote = t.text[max(0, fa[0] - 40) : fa[1] + 5]
    d = Judging(judge=Scripted(lambda task, m: json.dumps({"errors": [quote]})), fix_errors=True).decide(r, t)
    assert all(not (a < fa[1] and fa[0] < b) for _, a, b in d.error_spans)


def test_malformed_and_failed_replies_leave_the_rules_in_charge(traces):
    def reply(task, m):
        return {"approach": "\ufffd\ufffd garbage", "correctness": '{"verdict": 7}', "errors": None}.get(task)

    j = Judging("lexical", judge=Scripted(reply), fix_errors=True, tasks=["approach", "correctness", "errors"])
    ds = j.decide_batch(None, traces)
    rules = Judging("lexical").decide_batch(None, traces)
    for d, r in zip(ds, rules):
        assert (d.solution_clusters, d.check_clusters) == (r.solution_clusters, r.check_clusters)
        assert d.error_spans == [] and (d.labels is None or set(d.labels) == {None})
        assert d.malformed + d.failures == sum(d.tasks.values()) == len(d.issues)
    assert sum(d.malformed for d in ds) > 0 and sum(d.failures for d in ds) > 0


def test_a_rerun_is_answered_from_the_cache(tmp_path, traces):
    calls = []

    def reply(task, m):
        calls.append(task)
        return {"approach": '{"same": false}', "correctness": '{"verdict": "correct"}', "errors": '{"errors": []}'}[task]

    cache = tmp_path / "judge.sqlite"
    first = Judging(judge=Scripted(reply), fix_errors=True, cache=cache).decide_batch(None, traces)
    n = len(calls)
    assert n > 0 and sum(d.calls for d in first) == n and sum(d.cache_hits for d in first) == 0
    j2 = Judging(judge=Scripted(reply), fix_errors=True, cache=cache)
    second = j2.decide_batch(None, traces)
    assert len(calls) == n  # no new call
    assert sum(d.cache_hits for d in second) == n and j2.stats.calls == 0
    strip = lambda d: (d.solution_clusters, d.check_clusters, d.labels, d.error_spans)  # noqa: E731
    assert [strip(d) for d in first] == [strip(d) for d in second]


def test_segment_hints_only_where_the_judge_disagrees(traces):
    ds = Judging(judge=Scripted(lambda t, m: '{"role": "solution"}'), tasks=["segment"]).decide_batch(None, traces)
    asked = sum(d.tasks.get("segment", 0) for d in ds)
    hints = [h for d in ds for h in d.segment_hints]
    assert asked > 0 and all(k == "check" and role == "solution" for k, _, role in hints)


def test_smoothing_rewrites_joins_but_keeps_numbers():
    text = "We get x = 4.\n\nAgain, as before, y = 2 x = 8.\n\n**Final Answer**\n\\boxed{8}"
    j = text.index("Again")

    def good(task, m):
        return '{"rewrite": "Then y = 2 x = 8."}'

    def bad(task, m):
        return '{"rewrite": "Then y = 9."}'

    (out, issues), = Judging(judge=Scripted(good)).smooth_batch([(text, [j])])
    assert out == text.replace("Again, as before, y = 2 x = 8.", "Then y = 2 x = 8.") and issues == []
    (out, issues), = Judging(judge=Scripted(bad)).smooth_batch([(text, [j])])
    assert out == text and "rewrite changes numbers" in issues[0]
    (out, issues), = Judging(judge=Scripted(good)).smooth_batch([(text, [text.index("\\boxed") - 1])])
    assert out == text  # a sentence holding the boxed answer is never sent


def test_needs_counts_what_the_rules_leave_open(traces):
    needs = Judging("lexical").needs(None, traces)
    assert len(needs) == len(traces)
    for t, n in zip(traces, needs):
        assert set(n) == {"segment", "correctness", "errors", "approach"}
        assert n["correctness"] == sum(s.label == "undecided" for s in t.solutions)


def test_decisions_pickle(traces):
    d = Judging().decide(None, traces[3])
    assert isinstance(d, Decisions) and pickle.loads(pickle.dumps(d)) == d


def test_the_progress_bar_shows_calls_hits_and_tokens(traces, monkeypatch, tmp_path):
    import io

    class Tty(io.StringIO):
        def isatty(self):
            return True

    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    judge = Scripted(lambda task, m: '{"same": false}')
    j = Judging(judge=judge, tasks=["approach"], cache=tmp_path / "c.sqlite", progress=True)
    with j.progress_bar():  # one bar over several batches
        j.decide_batch(None, traces)
        j.decide_batch(None, traces)
    shown = err.getvalue()
    n = j.stats.calls
    assert n > 0 and j.stats.cache_hits == n
    assert "judge" in shown and f"{n} calls, {n} cached" in shown and f"{2 * n}/{2 * n}" in shown
    assert f"{12 * n} tokens" in shown


def test_labels_settled_upstream_are_not_judged_again(traces):
    t = next(t for t in traces if any(s.label == "undecided" for s in t.solutions))
    judge = Scripted(lambda task, m: '{"verdict": "incorrect"}')
    settled = ["correct" if s.label == "undecided" else s.label for s in t.solutions]  # as math-verify would
    d = Judging(judge=judge, tasks=["correctness"]).decide(None, t, labels=settled)
    assert d.tasks == {} and d.labels is None
    d = Judging(judge=judge, tasks=["correctness"]).decide(None, t)
    assert d.tasks["correctness"] >= 1
    with pytest.raises(ValueError, match=r"labels\[0\]"):
        Judging().decide_batch(None, [t], labels=[["correct"] * (len(t.solutions) + 1)])


def test_an_interrupted_run_resumes_from_the_cache(tmp_path, traces):
    cache = tmp_path / "judge.sqlite"
    reply = lambda task, m: '{"same": false}'  # noqa: E731

    class Dies(Scripted):
        def complete_batch(self, requests, on_done=None):
            def done(i, c):
                on_done(i, c)
                if i == 4:
                    raise KeyboardInterrupt  # the user's Ctrl-C, mid-wave

            return super().complete_batch(requests, done)

    with pytest.raises(KeyboardInterrupt):
        Judging(judge=Dies(reply), tasks=["approach"], cache=cache).decide_batch(None, traces)
    assert len(JudgeCache(cache)) == 5
    full = Judging(judge=Scripted(reply), tasks=["approach"]).decide_batch(None, traces)
    j = Judging(judge=Scripted(reply), tasks=["approach"], cache=cache)
    resumed = j.decide_batch(None, traces)
    assert j.stats.cache_hits == 5 and j.stats.calls == sum(d.calls for d in full) - 5
    assert [(d.solution_clusters, d.check_clusters) for d in resumed] == [(d.solution_clusters, d.check_clusters) for d in full]


def test_the_default_thresholds_are_the_measured_ones():
    from dlcot.judge import LEXICAL_THRESHOLD, SEMANTIC_THRESHOLD

    root = Path(__file__).resolve().parents[1]
    report = (root / "bench" / "results" / "semantic.md").read_text(encoding="utf-8")
    assert f"## Result: default `semantic_threshold={SEMANTIC_THRESHOLD}`" in report
    assert LEXICAL_THRESHOLD == 0.4 and Judging().threshold == 0.4
