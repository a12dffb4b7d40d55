"""Tests for dlcot.io: layout detection, formats, bad inputs and the never-raises property."""

from __future__ import annotations

import collections
import gzip
import importlib.util
import io
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

try:
    from dlcot import io as dio
except ImportError:  # the Rust extension is not built: load the pure-Python module by path
    _IO_PATH = Path(__file__).resolve().parents[1] / "python" / "dlcot" / "io.py"
    _spec = importlib.util.spec_from_file_location("dlcot.io", _IO_PATH)
    assert _spec is not None and _spec.loader is not None
    dio = importlib.util.module_from_spec(_spec)
    sys.modules["dlcot.io"] = dio
    _spec.loader.exec_module(dio)

IO_PY = Path(dio.__file__).resolve()
HERE = Path(__file__).resolve().parent
BAD = HERE / "data" / "bad"
FIXTURES = HERE / "data" / "io"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TRACES = SHARED / "traces"
NORMALISED = SHARED / "traces_normalised.jsonl"

needs_shared = pytest.mark.skipif(
    not NORMALISED.exists(),
    reason=f"real traces not found at {SHARED} (the shared data folder sits beside the repo)",
)


# -------------------------------------------------------------------------------------------
# helpers


def read_all(source, **kwargs):
    """(reader, Records, Rejects) after reading ``source`` to the end."""
    reader = dio.RecordReader(source, **kwargs)
    out = list(reader)
    records = [o for o in out if isinstance(o, dio.Record)]
    return reader, records, [o for o in out if isinstance(o, dio.Reject)]


def check_accounting(reader, out):
    """Every source record gives one Reject, or Records (and per-generation Rejects)."""
    by_index = collections.defaultdict(list)
    for o in out:
        by_index[o.index].append(o)
    assert sorted(by_index) == list(range(reader.records_seen))
    for items in by_index.values():
        if len(items) > 1:  # only generations of one record share an index
            assert all(isinstance(o, dio.Reject) or o.generation is not None for o in items)
            assert len({o.id for o in items}) == len(items)


def write_jsonl(path, records, *, opener=open):
    with opener(path, "wt", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def to_table(records):
    import pyarrow as pa

    try:
        return pa.Table.from_pylist(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Columns with mixed element types (DeltaBench's section annotations) go as JSON text.
        keys = list(dict.fromkeys(k for r in records for k in r))
        columns = {}
        for k in keys:
            values = [r.get(k) for r in records]
            try:
                columns[k] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                columns[k] = pa.array([json.dumps(v) for v in values])
        return pa.table(columns)


def key(r):
    return (r.id, r.problem, r.response, r.answer, r.index, r.generation, r.layout)


# -------------------------------------------------------------------------------------------
# the real traces in ../shared/data

# file -> (layout, records, id prefix in traces_normalised.jsonl)
REAL = {
    "tli_r1d-qwen-32b_gsm8k.json": ("tli-hybrid", 500, "tli/r1d-qwen-32b_gsm8k/"),
    "tli_r1d-qwen-14b_math500.json": ("tli-hybrid", 332, "tli/r1d-qwen-14b_math500/"),
    "tli_r1d-llama-8b_aime.json": ("tli-hybrid", 20, "tli/r1d-llama-8b_aime/"),
    "tli_qwq-32b_gsm8k.json": ("tli-hybrid", 486, "tli/qwq-32b_gsm8k/"),
    "tli_qwq-32b_math500.json": ("tli-hybrid", 18, "tli/qwq-32b_math500/"),
    "tli_r1d-llama-8b_legacy-messages.json": (
        "tli-responses", 500, "tli/r1d-llama-8b_legacy-messages/"),
    "skythought_sky-t1-math-correct-5k-32b-ckpt140_aime24.jsonl": (
        "qwen-math-eval", 30, "skythought/sky-t1-math-correct-5k-32b-ckpt140_aime24/"),
    "skythought_sky-t1-math-correct-5k-14b_aime24.jsonl": (
        "qwen-math-eval", 30, "skythought/sky-t1-math-correct-5k-14b_aime24/"),
    "skythought_sky-t1-math-correct-5k-14b_amc23.jsonl": (
        "qwen-math-eval", 40, "skythought/sky-t1-math-correct-5k-14b_amc23/"),
    "deltabench_examples.jsonl": ("deltabench", 9, "deltabench/"),
}  # fmt: skip


@pytest.fixture(scope="module")
def normalised():
    if not NORMALISED.exists():
        pytest.skip(f"real traces not found at {SHARED}")
    rows = collections.defaultdict(list)
    with open(NORMALISED, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            prefix = row["id"].rsplit("/", 1)[0] + "/"
            rows[prefix].append(row)
    return rows


def test_real_files_are_all_listed():
    if not TRACES.exists():
        pytest.skip(f"real traces not found at {TRACES}")
    assert sorted(p.name for p in TRACES.iterdir()) == sorted(REAL)


@needs_shared
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_file(name, normalised):
    layout, count, prefix = REAL[name]
    reader, records, rejects = read_all(TRACES / name)
    assert rejects == []
    assert len(records) == count
    assert dict(reader.layouts) == {layout: count}
    assert {r.layout for r in records} == {layout}
    assert reader.records_seen == count
    assert reader.bytes_read == reader.total_bytes == (TRACES / name).stat().st_size
    rows = normalised[prefix]
    assert len(rows) == count
    for i, (rec, row) in enumerate(zip(records, rows)):
        assert rec.index == i
        assert rec.problem == row["problem"]
        assert rec.id.split("#")[0] == row["id"].rsplit("/", 1)[1]
        if layout == "tli-responses":
            template = f"<｜User｜>{row['problem']}<｜Assistant｜>"
            assert rec.response == template + row["response"]
            assert rec.response.startswith(template + "<think>\n")
            assert rec.answer is None and row["answer"] is None
        else:
            assert rec.response == row["response"]
        if layout == "qwen-math-eval":
            assert (rec.generation, rec.id) == (0, f"{row['id'].rsplit('/', 1)[1]}#0")
        else:
            assert rec.generation is None
        if "gsm8k" in name:
            assert rec.answer.endswith(f"#### {row['answer']}")
        elif layout != "tli-responses":
            assert rec.answer == row["answer"]


@needs_shared
def test_qwen_math_eval_prefers_gt_over_float_answer():
    path = TRACES / "skythought_sky-t1-math-correct-5k-14b_amc23.jsonl"
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert isinstance(first["answer"], float)  # the dataset's copy, not the reference
    _, records, _ = read_all(path)
    assert records[0].answer == first["gt"] == "27"


@needs_shared
def test_normalised_file_reads_flat():
    reader, records, rejects = read_all(NORMALISED)
    assert (len(records), rejects, dict(reader.layouts)) == (1965, [], {"flat": 1965})
    assert records[0].id == "tli/r1d-qwen-32b_gsm8k/0"
    # raw_bytes is the line without its newline: together they make the file.
    assert sum(r.raw_bytes + 1 for r in records) == NORMALISED.stat().st_size


# -------------------------------------------------------------------------------------------
# formats: the same records through every container


def source_records(name):
    """The raw records of a real file (of a fixture when the shared data is absent)."""
    path = TRACES / name
    if not path.exists():
        path = FIXTURES / "tli_hybrid.json"
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["tasks"] if isinstance(data, dict) else data


ROUND_TRIP_SOURCES = [
    "tli_qwq-32b_math500.json",
    "tli_r1d-llama-8b_legacy-messages.json",
    "skythought_sky-t1-math-correct-5k-14b_amc23.jsonl",
    "deltabench_examples.jsonl",
]


def write_as(fmt, records, tmp_path):
    if fmt == "jsonl":
        return write_jsonl(tmp_path / "r.jsonl", records)
    if fmt == "jsonl.gz":
        return write_jsonl(tmp_path / "r.jsonl.gz", records, opener=gzip.open)
    if fmt == "jsonl.zst":
        import zstandard

        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
        path = tmp_path / "r.jsonl.zst"
        path.write_bytes(zstandard.ZstdCompressor().compress(data))
        return path
    if fmt == "json-array":
        path = tmp_path / "r.json"
        path.write_text(json.dumps(records, indent=1, ensure_ascii=False), encoding="utf-8")
        return path
    if fmt == "parquet":
        import pyarrow.parquet as pq

        path = tmp_path / "r.parquet"
        pq.write_table(to_table(records), path, row_group_size=7)
        return path
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "jsonl.zst", "json-array", "parquet"])
@pytest.mark.parametrize("name", ROUND_TRIP_SOURCES)
def test_round_trip(name, fmt, tmp_path):
    records = source_records(name)
    plain = write_jsonl(tmp_path / "plain.jsonl", records)
    _, expected, rejects = read_all(plain)
    assert rejects == [] and len({r.index for r in expected}) == len(records)
    path = write_as(fmt, records, tmp_path)
    reader, got, rejects = read_all(path)
    assert rejects == []
    assert [key(r) for r in got] == [key(r) for r in expected]
    assert reader.records_seen == len(records)
    assert reader.bytes_read == reader.total_bytes == path.stat().st_size


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.zst", "json-array", "parquet"])
def test_stdin_in_process(fmt, tmp_path, monkeypatch):
    records = source_records("skythought_sky-t1-math-correct-5k-14b_amc23.jsonl")
    _, expected, _ = read_all(write_jsonl(tmp_path / "plain.jsonl", records))
    path = write_as(fmt, records, tmp_path)
    with open(path, "rb") as f:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(f))
        reader, got, rejects = read_all("-")
    assert rejects == [] and [key(r) for r in got] == [key(r) for r in expected]
    assert reader.total_bytes is None


def test_stdin_through_a_pipe(tmp_path):
    records = source_records("tli_r1d-llama-8b_legacy-messages.json")
    _, expected, _ = read_all(write_jsonl(tmp_path / "plain.jsonl", records))
    path = write_as("jsonl.gz", records, tmp_path)
    script = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('dlcot.io', {str(IO_PY)!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules['dlcot.io'] = m\n"
        "spec.loader.exec_module(m)\n"
        "for r in m.iter_records('-'):\n"
        "    print(json.dumps([r.id, r.problem, r.response, r.answer, r.layout]))\n"
    )
    with open(path, "rb") as f:
        proc = subprocess.run(
            [sys.executable, "-c", script], stdin=f, capture_output=True, check=True, timeout=120
        )
    got = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert got == [[r.id, r.problem, r.response, r.answer, r.layout] for r in expected]


@pytest.mark.parametrize("suffix", [".jsonl.bz2", ".jsonl.xz", ".txt.gz"])
def test_other_compressions_by_magic_bytes(suffix, tmp_path):
    import bz2
    import lzma

    data = b'{"question": "q", "response": "r"}\n' * 3
    compress = {".jsonl.bz2": bz2.compress, ".jsonl.xz": lzma.compress}.get(suffix, gzip.compress)
    path = tmp_path / f"a{suffix}"
    path.write_bytes(compress(data))
    reader, records, rejects = read_all(path)
    assert (len(records), rejects) == (3, [])
    assert reader.bytes_read == reader.total_bytes == path.stat().st_size


def test_open_binary_file_and_pathlike(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"prompt": "p", "completion": "c"}])
    with open(path, "rb") as f:
        _, got, _ = read_all(f)
    _, again, _ = read_all(Path(path))
    assert [key(r) for r in got] == [key(r) for r in again]
    assert [key(r) for r in got] == [("0", "p", "c", None, 0, None, "flat")]


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no-such-file.jsonl"):
        dio.RecordReader("/nonexistent/no-such-file.jsonl")


def test_bad_arguments():
    with pytest.raises(ValueError, match="format"):
        dio.RecordReader("-", format="csv")
    with pytest.raises(ValueError, match="max_record_bytes"):
        dio.RecordReader("-", max_record_bytes=0)
    with pytest.raises(ValueError, match="response_field"):
        dio.RecordReader("-", response_field="")


def test_values_are_frozen_and_picklable(tmp_path):
    _, records, _ = read_all(FIXTURES / "layouts.jsonl")
    r = records[0]
    assert pickle.loads(pickle.dumps(r)) == r
    with pytest.raises(AttributeError):
        r.response = "x"  # type: ignore[misc]
    reject = dio.Reject(0, None, "bad-json", "d", None)
    assert pickle.loads(pickle.dumps(reject)) == reject
    assert set(dio.REJECT_REASONS) >= {"bad-json", "too-large", "truncated-input"}


def test_reader_is_reiterable(tmp_path):
    reader = dio.RecordReader(FIXTURES / "layouts.jsonl")
    first, second = [key(r) for r in reader], [key(r) for r in reader]
    assert first == second and reader.records_seen == 6


# -------------------------------------------------------------------------------------------
# layouts


def test_fixture_tli_hybrid():
    reader, records, rejects = read_all(FIXTURES / "tli_hybrid.json")
    assert rejects == [] and dict(reader.layouts) == {"tli-hybrid": 3}
    r = records[1]
    assert (r.id, r.index, r.generation) == ("1", 1, None)
    assert r.problem == "Tom has 2 apples and buys 2 more. How many now?"
    assert r.response.startswith("Okay, so Tom has 2 apples.") and "</think>" in r.response
    assert r.answer.endswith("\n#### 4")  # the reference solution, raw


def test_fixture_tli_responses():
    reader, records, rejects = read_all(FIXTURES / "tli_responses.json")
    assert rejects == [] and dict(reader.layouts) == {"tli-responses": 2}
    assert [r.id for r in records] == ["17", "4"]
    prompt = "<｜User｜>What has keys but no locks?<｜Assistant｜>"
    assert records[0].response.startswith(prompt + "<think>\n")
    assert records[0].problem == "What has keys but no locks?" and records[0].answer is None


def test_fixture_layouts():
    reader, records, rejects = read_all(FIXTURES / "layouts.jsonl")
    assert rejects == []
    got = [(r.layout, r.id, r.problem, r.response, r.answer, r.generation) for r in records]
    assert got == [
        ("qwen-math-eval", "0#0", "Compute 3*9.",
         "<|begin_of_thought|>\n\nSo 3*9 = 27.\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n"
         "\\boxed{27}\n<|end_of_solution|>", "27", 0),
        ("deltabench", "ab12", "Find x if 2x = 6.", "let's see. 2x = 6 so x = 3.", "3", None),
        ("messages", "m-1", "Second question?",
         "<think>\nThey asked again.\n</think>\n\nSecond answer.", "x", None),
        ("sharegpt", "9", "2+2?", "<think>\n2+2=4\n</think>\n\n4", None, None),
        ("generations", "4#0", "Pick a number.", "7", "7", 0),
        ("generations", "4#1", "Pick a number.", "8", "7", 1),
        ("flat", "5", "Name a colour.", "Blue.", '["blue", "navy"]', None),
    ]  # fmt: skip
    assert dict(reader.layouts) == {
        "qwen-math-eval": 1, "deltabench": 1, "messages": 1, "sharegpt": 1,
        "generations": 1, "flat": 1,
    }  # fmt: skip
    check_accounting(reader, records)


def one(record, **kwargs):
    """Read one record dict through a JSONL file in memory."""
    data = (json.dumps(record) + "\n").encode()
    return list(dio.iter_records(io.BytesIO(data), **kwargs))


@pytest.mark.parametrize(
    "alias", ["problem", "question", "prompt", "input", "query", "instruction"]
)
def test_flat_problem_aliases(alias):
    [r] = one({alias: "P", "response": "R"})
    assert (r.layout, r.problem, r.response) == ("flat", "P", "R")


@pytest.mark.parametrize(
    "alias",
    ["response", "output", "generation", "completion", "result", "model_output", "cot",
     "reasoning", "text", "prediction"],
)  # fmt: skip
def test_flat_response_aliases(alias):
    [r] = one({"question": "P", alias: "R"})
    assert (r.layout, r.problem, r.response) == ("flat", "P", "R")


@pytest.mark.parametrize(
    "alias",
    ["answer", "ground_truth", "gt", "reference", "reference_answer", "final_answer", "target",
     "label", "solution"],
)  # fmt: skip
def test_flat_answer_aliases(alias):
    [r] = one({"question": "P", "response": "R", alias: "A"})
    assert r.answer == "A"


@pytest.mark.parametrize(
    "alias", ["id", "uid", "idx", "question_id", "problem_id", "_id", "task_id"]
)
def test_flat_id_aliases(alias):
    [r] = one({alias: 12, "response": "R"})
    assert r.id == "12"


def test_flat_preferences_and_answer_conversion():
    [r] = one({"response": "R", "solution": "long solution", "answer": "5"})
    assert r.answer == "5" and r.problem is None
    [r] = one({"response": "R", "solution": "long solution", "ground_truth": 5})
    assert r.answer == "5"
    conversions = [(27.0, "27"), (2.5, "2.5"), (-1, "-1"), (True, "true"), ({"a": 1}, '{"a": 1}')]
    for value, text in conversions:
        [r] = one({"response": "R", "answer": value})
        assert r.answer == text
    [r] = one({"response": "R", "answer": None})
    assert r.answer is None
    # A string response is preferred over an earlier alias that is not a string.
    [r] = one({"output": {"x": 1}, "text": "T"})
    assert r.response == "T"


def test_fields_that_come_and_go_between_records():
    rows = [
        {"response": "a"},
        {"response": "b", "answer": 1, "id": "x"},
        {"response": "c"},
        {"messages": [user("only a prompt")], "response": "d"},
        {"messages": [user("Q"), assistant("e")]},
    ]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    out = list(dio.iter_records(io.BytesIO(data)))
    assert [(r.response, r.answer, r.id, r.layout) for r in out] == [
        ("a", None, "0", "flat"), ("b", "1", "x", "flat"), ("c", None, "2", "flat"),
        ("d", None, "3", "flat"), ("e", None, "4", "messages"),
    ]  # fmt: skip
    assert out[3].problem == "only a prompt"


def test_long_cot_is_deltabench():
    [r] = one({"id": "x", "question": "q", "long_cot": "c", "answer": "a", "solution": "s"})
    assert (r.layout, r.id, r.answer) == ("deltabench", "x", "a")


def user(content):
    return {"role": "user", "content": content}


def assistant(content, **extra):
    return {"role": "assistant", "content": content, **extra}


def test_messages_variants():
    [r] = one({"messages": [user("Q"), assistant("A")]})
    assert (r.layout, r.problem, r.response) == ("messages", "Q", "A")
    # problem: the last user turn before the last assistant turn (not a later user turn)
    turns = [user("Q1"), assistant("A1"), user("Q2"), assistant("A2"), user("thanks")]
    [r] = one({"messages": turns})
    assert (r.problem, r.response) == ("Q2", "A2")
    # thinking parts and image parts
    question = [{"type": "image_url", "image_url": {}}, {"type": "text", "text": "Q"}]
    answer = [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "A"}]
    [r] = one({"messages": [user(question), assistant(answer)]})
    assert (r.problem, r.response) == ("Q", "<think>\nhmm\n</think>\n\nA")
    # reasoning_content goes in front; reasoning already inside the content is not repeated
    [r] = one({"messages": [user("Q"), assistant("A", reasoning_content="R")]})
    assert r.response == "<think>\nR\n</think>\n\nA"
    inline = assistant("<think>\nR\n</think>\n\nA", reasoning_content="R")
    [r] = one({"messages": [user("Q"), inline]})
    assert r.response == "<think>\nR\n</think>\n\nA"


def test_prompt_only_messages_with_flat_response():
    [r] = one({"messages": [{"role": "user", "content": "Q"}], "response": "A"})
    assert (r.layout, r.problem, r.response) == ("flat", "Q", "A")
    # TRL conversational prompt/completion
    [r] = one({"prompt": [{"role": "user", "content": "Q"}],
               "completion": [{"role": "assistant", "content": "A"}]})  # fmt: skip
    assert (r.layout, r.problem, r.response) == ("flat", "Q", "A")


def test_sharegpt():
    [r] = one({"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]})
    assert (r.layout, r.problem, r.response) == ("sharegpt", "Q", "A")


@pytest.mark.parametrize(
    "name", ["generations", "responses", "outputs", "completions", "samples", "candidates"]
)
def test_generation_lists(name):
    out = one({"id": "g", "question": "Q", name: ["a", "b", "c"], "answer": 1})
    assert [(r.id, r.generation, r.response, r.index, r.answer) for r in out] == [
        ("g#0", 0, "a", 0, "1"), ("g#1", 1, "b", 0, "1"), ("g#2", 2, "c", 0, "1")]  # fmt: skip
    assert {r.layout for r in out} == {"generations"}


def test_generation_dicts_and_bad_generations():
    out = one({"prompt": "Q", "completions": [{"content": "a"}, {"content": ""}, {"content": 3}]})
    assert [type(o).__name__ for o in out] == ["Record", "Reject", "Reject"]
    assert out[0].id == "0#0" and out[0].response == "a"
    assert (out[1].id, out[1].reason) == ("0#1", "empty-response")
    assert (out[2].id, out[2].reason) == ("0#2", "wrong-type")


def test_empty_generation_list_after_detection():
    data = b'{"gt": "1", "code": ["x"]}\n{"gt": "1", "code": []}\n'
    out = list(dio.iter_records(io.BytesIO(data)))
    assert [type(o).__name__ for o in out] == ["Record", "Reject"]
    assert out[1].reason == "empty-response"


def test_detect_layout_direct():
    assert dio.detect_layout([1]) is None
    assert dio.detect_layout({"foo": 1}) is None
    record = {"question": "q", "model_answers": {"thinking_model": "t"}, "correct_answer": "a"}
    fm = dio.detect_layout(record)
    assert fm == dio.FieldMap(
        "tli-hybrid", "question", "model_answers.thinking_model", "correct_answer", None
    )
    fm = dio.detect_layout({"idx": 1, "question": "q", "gt": "1", "answer": 1.0, "code": ["c"]})
    assert fm == dio.FieldMap("qwen-math-eval", "question", "code", "gt", "idx")
    fm = dio.detect_layout({"question_id": 1, "question": "q", "full_response": "r"})
    assert fm == dio.FieldMap("tli-responses", "question", "full_response", None, "question_id")
    # a conversation with no assistant turn is not a messages record
    assert dio.detect_layout({"messages": [{"role": "user", "content": "q"}]}) is None


def test_resolve_path():
    obj = {"a": {"b": [10, {"c": "x"}]}, "d.e": 1, "code": ["first"]}
    assert dio.resolve_path(obj, "a.b.0") == 10
    assert dio.resolve_path(obj, "a.b.1.c") == "x"
    assert dio.resolve_path(obj, "a.b.-1.c") == "x"
    assert dio.resolve_path(obj, "d.e") == 1
    assert dio.resolve_path(obj, "code.0") == "first"
    for bad in ["a.x", "a.b.5", "code.first", "a.b.0.z"]:
        with pytest.raises(KeyError, match=bad.replace(".", r"\.")):
            dio.resolve_path(obj, bad)


# -------------------------------------------------------------------------------------------
# overrides


def test_override_nested_paths(tmp_path):
    tasks = source_records("tli_r1d-llama-8b_aime.json")
    path = write_jsonl(tmp_path / "t.jsonl", tasks)
    _, records, rejects = read_all(path, response_field="model_answers.base_model")
    assert rejects == []
    assert [r.response for r in records] == [t["model_answers"]["base_model"] for t in tasks]
    # fields not overridden keep their detected paths
    assert [r.problem for r in records] == [t["question"] for t in tasks]
    # the same through Parquet, where model_answers is a struct column
    import pyarrow.parquet as pq

    pq.write_table(to_table(tasks), tmp_path / "t.parquet")
    _, again, _ = read_all(tmp_path / "t.parquet", response_field="model_answers.base_model")
    assert [key(r) for r in again] == [key(r) for r in records]


def test_override_code_0_and_lists(tmp_path):
    rows = [{"idx": 3, "question": "q", "gt": "1", "code": ["a", "b"]}]
    path = write_jsonl(tmp_path / "q.jsonl", rows)
    [r] = read_all(path, response_field="code.0")[1]
    assert (r.response, r.generation, r.id, r.answer) == ("a", None, "3", "1")
    out = read_all(path, response_field="code")[1]
    assert [(r.id, r.response) for r in out] == [("3#0", "a"), ("3#1", "b")]
    [r] = read_all(path, response_field="code.1", answer_field="idx", id_field="question",
                   problem_field="gt")[1]  # fmt: skip
    assert (r.response, r.answer, r.id, r.problem) == ("b", "3", "q", "1")


def test_override_missing_field_is_rejected(tmp_path):
    rows = [{"q": "x", "out": "y"}, {"q": "x"}, {"q": "x", "out": "z", "meta": {"a": 1}}]
    path = write_jsonl(tmp_path / "m.jsonl", rows)
    reader, records, rejects = read_all(path, response_field="out", problem_field="q")
    assert [r.response for r in records] == ["y", "z"]
    assert [(j.index, j.reason) for j in rejects] == [(1, "missing-field")]
    assert "'out'" in rejects[0].detail and "--response-field" in rejects[0].detail
    reader, records, rejects = read_all(path, response_field="out", answer_field="meta.a")
    assert [r.answer for r in records] == ["1"]
    assert [(j.index, j.reason) for j in rejects] == [(0, "missing-field"), (1, "missing-field")]
    assert "meta.a" in rejects[0].detail


def test_override_without_any_known_field(tmp_path):
    path = write_jsonl(tmp_path / "u.jsonl", [{"foo": "trace", "bar": {"baz": "P"}}])
    [r] = read_all(path, response_field="foo", problem_field="bar.baz")[1]
    assert (r.layout, r.response, r.problem) == ("custom", "trace", "P")


# -------------------------------------------------------------------------------------------
# unknown layouts


def test_unknown_layout_raises_layout_error(tmp_path):
    path = write_jsonl(tmp_path / "u.jsonl", [{"foo": 1, "bar": ["x"], "baz": {"qux": "t"}}] * 3)
    it = dio.iter_records(path)
    with pytest.raises(dio.LayoutError) as info:
        next(it)
    message = str(info.value)
    for needle in ["foo (int)", "bar (list of str)", "baz (dict: qux)", "--response-field",
                   "--problem-field", "--answer-field", "--id-field", "u.jsonl"]:  # fmt: skip
        assert needle in message
    assert isinstance(info.value, ValueError)


def test_layout_error_only_after_100_unknown(tmp_path):
    rows = [{"foo": i} for i in range(100)] + [{"response": "late"}]
    with pytest.raises(dio.LayoutError, match="first 100 records"):
        list(dio.iter_records(write_jsonl(tmp_path / "a.jsonl", rows)))
    rows = [{"foo": i} for i in range(99)] + [{"response": "in time"}]
    reader, records, rejects = read_all(write_jsonl(tmp_path / "b.jsonl", rows))
    assert [r.response for r in records] == ["in time"]
    assert len(rejects) == 99 and {j.reason for j in rejects} == {"unknown-layout"}
    assert [j.index for j in rejects] == list(range(99))  # order kept


def test_unknown_layout_after_a_mapped_record_is_a_reject(tmp_path):
    rows = [{"response": "ok"}, {"foo": 1, "id": 7}]
    _, records, rejects = read_all(write_jsonl(tmp_path / "c.jsonl", rows))
    assert [r.response for r in records] == ["ok"]
    assert [(j.index, j.id, j.reason) for j in rejects] == [(1, "7", "unknown-layout")]
    assert "foo (int)" in rejects[0].detail and "--response-field" in rejects[0].detail


def test_garbage_is_not_a_layout_error(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_bytes(b"not json\n[1]\n")
    _, records, rejects = read_all(path)
    assert records == [] and [j.reason for j in rejects] == ["bad-json", "not-an-object"]


# -------------------------------------------------------------------------------------------
# bad inputs (tests/data/bad)


def reasons(rejects):
    return [j.reason for j in rejects]


def test_bad_fixtures_are_documented():
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    for p in BAD.iterdir():
        if p.name != "README.md":
            assert f"`{p.name}`" in readme


@pytest.mark.parametrize("name", ["truncated.jsonl.gz", "truncated.jsonl.zst"])
def test_truncated_compressed(name):
    reader, records, rejects = read_all(BAD / name)
    assert 0 < len(records) < 200
    assert reasons(rejects) == ["truncated-input"]
    assert rejects[0].index == len(records) == reader.records_seen - 1
    assert [r.id for r in records] == [f"r{i}" for i in range(len(records))]
    assert "truncated" in rejects[0].detail


def test_truncated_gzip_json_array(tmp_path):
    data = gzip.compress(json.dumps([{"response": f"r{i}" * 50} for i in range(300)]).encode())
    path = tmp_path / "a.json.gz"
    path.write_bytes(data[: len(data) // 2])
    reader, records, rejects = read_all(path)
    assert len(records) > 0 and reasons(rejects) == ["truncated-input"]
    check_accounting(reader, records + rejects)


def test_invalid_utf8_line():
    reader, records, rejects = read_all(BAD / "invalid_utf8_line2.jsonl")
    assert [r.id for r in records] == ["r0", "r2"] and [r.index for r in records] == [0, 2]
    assert [(j.index, j.reason) for j in rejects] == [(1, "not-utf8")]
    assert "caf" in rejects[0].raw


def test_cut_json_array():
    reader, records, rejects = read_all(BAD / "cut_array.json")
    assert [r.id for r in records] == ["r0", "r1", "r2"]
    assert [(j.index, j.reason) for j in rejects] == [(3, "bad-json")]
    assert reader.records_seen == 4


def test_cut_json_object():
    reader, records, rejects = read_all(BAD / "cut_object.json")
    assert len(records) >= 3 and {r.layout for r in records} == {"tli-hybrid"}
    assert reasons(rejects) == ["bad-json"] and rejects[0].index == len(records)
    assert "truncated" in rejects[0].detail


def test_mixed_layouts():
    reader, records, rejects = read_all(BAD / "mixed_layouts.jsonl")
    assert [r.layout for r in records] == [
        "flat", "messages", "sharegpt", "qwen-math-eval", "generations", "generations",
        "deltabench",
    ]  # fmt: skip
    assert [(j.index, j.reason) for j in rejects] == [
        (6, "unknown-layout"), (7, "not-an-object"), (8, "bad-json")]  # fmt: skip
    assert reader.records_seen == 9
    check_accounting(reader, records + rejects)


def test_wrong_types():
    reader, records, rejects = read_all(BAD / "wrong_type.jsonl")
    assert [r.id for r in records] == ["r0", "r5"]
    assert [(j.id, j.reason) for j in rejects] == [
        ("r1", "wrong-type"), ("r2", "wrong-type"), ("r3", "wrong-type"),
        ("r4", "empty-response"),
    ]  # fmt: skip
    assert rejects[0].detail == "field 'response' is dict, expected str"
    assert rejects[0].raw.startswith('{"id": "r1"')


def test_crlf_bom_blank_lines():
    for name in ["crlf.jsonl", "bom.jsonl", "blank_lines.jsonl"]:
        reader, records, rejects = read_all(BAD / name)
        assert rejects == [] and [r.index for r in records] == [0, 1, 2], name
        assert [r.id for r in records] == ["r0", "r1", "r2"]
        for r in records:
            assert "\r" not in r.response and "\ufeff" not in r.problem


def test_empty_file():
    reader, records, rejects = read_all(BAD / "empty.jsonl")
    assert (records, rejects, reader.records_seen) == ([], [], 0)
    for fmt in ["json", None]:
        assert list(dio.iter_records(io.BytesIO(b" \n\t\n"), format=fmt)) == []


def test_lone_surrogate():
    _, records, rejects = read_all(BAD / "lone_surrogate.jsonl")
    assert [r.index for r in records] == [0, 2]
    assert records[1].response == "a whole emoji \U0001F600 here"
    assert [(j.index, j.reason) for j in rejects] == [(1, "not-utf8")]


def test_too_large_lines(tmp_path):
    big = json.dumps({"response": "x" * 5000})
    lines = [
        json.dumps({"response": "small"}),
        big,
        " " * 3000,  # blank, however long
        json.dumps({"response": "y" * 900}),  # under the limit
        big,
    ]
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")  # the last line has no newline
    reader, records, rejects = read_all(path, max_record_bytes=1000)
    assert [r.index for r in records] == [0, 2]
    assert [(j.index, j.reason) for j in rejects] == [(1, "too-large"), (3, "too-large")]
    assert len(rejects[0].raw) <= 2000 and "1000" in rejects[0].detail
    # exactly at the limit is fine, one byte over is not (CRLF not counted)
    ok = json.dumps({"response": "z" * 100})
    path.write_bytes(ok.encode() + b"\r\n" + (ok + " ").encode() + b"\r\n")
    _, records, rejects = read_all(path, max_record_bytes=len(ok))
    assert len(records) == 1 and reasons(rejects) == ["too-large"]


def test_too_large_array_element_is_skipped(tmp_path):
    elements = [
        {"response": "first"},
        {"response": 'tricky ] } [ { \\" "' * 200, "nested": [[{"a": "]"}]]},
        {"response": "third"},
    ]
    path = tmp_path / "a.json"
    path.write_text(json.dumps(elements), encoding="utf-8")
    _, records, rejects = read_all(path, max_record_bytes=500)
    assert [(r.response, r.index) for r in records] == [("first", 0), ("third", 2)]
    assert [(j.index, j.reason) for j in rejects] == [(1, "too-large")]


def test_json_sniffing(tmp_path):
    # .json that really is JSON Lines
    p = tmp_path / "lines.json"
    write_jsonl(p, [{"response": "a"}, {"response": "b"}])
    assert [r.response for r in dio.iter_records(p)] == ["a", "b"]
    # no extension: a pretty-printed array, and a container on a single line
    p = tmp_path / "data"
    p.write_text(json.dumps([{"response": "a"}], indent=4))
    assert [r.response for r in dio.iter_records(p)] == ["a"]
    p.write_text(json.dumps({"meta": {"n": 2}, "rows": [{"response": "a"}, {"response": "b"}]}))
    assert [r.response for r in dio.iter_records(p)] == ["a", "b"]
    # jq-style: pretty-printed objects one after another are each a record
    p.write_text("".join(json.dumps({"response": s}, indent=2) + "\n" for s in "abc"))
    reader, records, _ = read_all(p)
    assert [(r.response, r.index) for r in records] == [("a", 0), ("b", 1), ("c", 2)]
    # a single record as a pretty-printed object, and one holding a message list
    p.write_text(json.dumps({"messages": [user("Q"), assistant("A")]}, indent=2))
    assert [(r.problem, r.response) for r in dio.iter_records(p)] == [("Q", "A")]
    # a top-level scalar
    p.write_text("42")
    assert [(j.reason, j.index) for j in dio.iter_records(p)] == [("not-an-object", 0)]
    # Parquet sniffed by magic bytes without an extension
    import pyarrow.parquet as pq

    pq.write_table(to_table([{"response": "pq"}]), tmp_path / "noext")
    assert [r.response for r in dio.iter_records(tmp_path / "noext")] == ["pq"]


def test_json_array_raw_bytes_and_container_raw(tmp_path):
    rows = [{"response": "é"}, {"response": ""}]
    p = tmp_path / "a.json"
    p.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    out = list(dio.iter_records(p))
    assert out[0].raw_bytes == len(json.dumps(rows[0], ensure_ascii=False).encode())
    assert out[1].reason == "empty-response" and out[1].raw == '{"response": ""}'


def test_not_parquet(tmp_path):
    p = tmp_path / "x.parquet"
    p.write_bytes(b"PAR1 but not really")
    assert [j.reason for j in dio.iter_records(p)] == ["truncated-input"]


# -------------------------------------------------------------------------------------------
# properties


_KEYS = ["response", "question", "answer", "id", "messages", "code", "gt", "outputs", "text",
         "role", "content", "model_answers", "thinking_model", "x"]  # fmt: skip
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(_KEYS), children, max_size=4),
    max_leaves=12,
)
_line = st.one_of(
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(_KEYS), _json_values, max_size=5).map(
        lambda v: json.dumps(v, ensure_ascii=False).encode()
    ),
    st.sampled_from([b"", b"  ", b"\r", b"\xef\xbb\xbf{}", b'{"response": "\\ud800"}', b"{" * 3000,
                     b"[" * 100_000, b'{"response": "ok", "id": 1}']),
)
_MAGIC = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"BZh", b"\xfd7zXZ\x00", b"PAR1")


def _source_lines(data: bytes):
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line for line in lines if not line.isspace() and line != b""]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_line, max_size=12), crlf=st.booleans(), final_newline=st.booleans(),
       limit=st.sampled_from([64, 1 << 20]))  # fmt: skip
def test_property_any_bytes_are_accounted_for(tmp_path_factory, lines, crlf, final_newline, limit):
    data = (b"\r\n" if crlf else b"\n").join(lines) + (b"\n" if final_newline and lines else b"")
    assume(not data.startswith(_MAGIC))
    path = tmp_path_factory.mktemp("prop") / "any.jsonl"
    path.write_bytes(data)
    expected = len(_source_lines(data))

    # With a response field named there is no LayoutError: everything is accounted for.
    reader = dio.RecordReader(path, response_field="response", max_record_bytes=limit)
    out = list(reader)
    assert all(isinstance(o, (dio.Record, dio.Reject)) for o in out)
    assert reader.records_seen == expected
    check_accounting(reader, out)
    for o in out:
        if isinstance(o, dio.Reject):
            assert o.reason in dio.REJECT_REASONS
        else:
            assert isinstance(o.response, str) and o.response.strip()
            o.response.encode("utf-8")  # valid for Rust

    # Auto-detection: the same, unless no record could be mapped at all.
    reader = dio.RecordReader(path, max_record_bytes=limit)
    try:
        out = list(reader)
    except dio.LayoutError:
        for line in _source_lines(data):
            try:
                value = json.loads(line.decode("utf-8").lstrip("\ufeff"))
            except (ValueError, RecursionError):
                continue
            content = line[:-1] if line.endswith(b"\r") else line
            assert dio.detect_layout(value) is None or len(content) > limit
    else:
        assert reader.records_seen == expected
        check_accounting(reader, out)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.fixed_dictionaries({"response": st.text(min_size=1).filter(str.strip),
                                         "id": st.integers()}), max_size=6),  # fmt: skip
    cut=st.floats(0, 1),
    ascii_only=st.booleans(),
)
def test_property_cut_json_array(tmp_path_factory, rows, cut, ascii_only):
    parts = [json.dumps(r, ensure_ascii=ascii_only).encode() for r in rows]
    data = b"[" + b", ".join(parts) + b"]"
    n = int(len(data) * cut)
    path = tmp_path_factory.mktemp("cut") / "a.json"
    path.write_bytes(data[:n])
    out = list(dio.iter_records(path))
    ends, pos = [], 1
    for part in parts:
        pos += len(part)
        ends.append(pos)
        pos += 2
    complete = sum(1 for e in ends if e <= n)
    records = [o for o in out if isinstance(o, dio.Record)]
    assert [r.response for r in records] == [r["response"] for r in rows[:complete]]
    rejects = [o for o in out if isinstance(o, dio.Reject)]
    if n in (0, len(data)):
        assert rejects == []
    else:
        assert len(rejects) == 1 and rejects[0].reason in ("bad-json", "not-utf8")
        assert rejects[0].index == complete
