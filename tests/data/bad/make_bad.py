#!/usr/bin/env python3
"""Writes the bad-input files of this folder that are generated, and knows what each file holds.

``python tests/data/bad/make_bad.py`` (re)writes the generated files (listed in ``GENERATED``;
deterministic, a few KB each). The other files here were written by hand for ``test_io.py``
(README.md says what each one is). ``EXPECTED`` says, for every file, how many items a reader
must give (a Record or a Reject for each source record, one per generation of a record with
several) and how many of them are Records, counted from how the file was made, not by reading
it with ``dlcot.io``. For the two truncated compressed files the count depends on where the cut
fell: :func:`expected` decompresses them with zlib / zstandard and counts the complete lines.
:func:`huge_record_file` writes a file with one multi-megabyte record (kept out of the
repository; the tests make it in a temporary folder).
"""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _rec(i: int, **extra) -> dict:
    rec = {"id": f"r{i}", "question": f"What is {i} + {i}?",
           "response": f"<think>\n{i} plus {i} is {2 * i}.\n</think>\n\nThe answer is \\boxed{{{2 * i}}}.",
           "answer": str(2 * i)}  # fmt: skip
    rec.update(extra)
    return rec


def _jsonl(rows: list) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def duplicate_ids() -> bytes:
    # ids repeat (r0 twice, r1 twice, 1 as an int and as a str, a dict id twice): readers keep
    # every record; only `dedup` drops the exact repeat of r1's text
    return _jsonl([_rec(0), _rec(1), _rec(0, response="<think>\nanother take\n</think>\n\n\\boxed{0}"), _rec(1),
                   {"id": 1, "response": "int id"}, {"id": "1", "response": "str id"},
                   {"id": {"k": [1]}, "response": "dict id"}, {"id": {"k": [1]}, "response": "dict id again"}])  # fmt: skip


def wrong_type_list() -> bytes:
    return _jsonl([
        _rec(0),
        _rec(1, response=[1, 2]),  # a list of numbers: two generations, both wrong-type
        _rec(2, response=[]),  # empty-response
        _rec(3, response=["fine", 7, None]),  # one Record and two wrong-type generations
        _rec(4, response=3.5),
        _rec(5, response=True),
        _rec(6, response=[[1]]),  # a list of lists: one wrong-type generation
        {"id": "r7", "response": None, "output": "the response is under output"},  # null is skipped
    ])  # fmt: skip


def only_blank() -> bytes:
    return b"\n\n   \n\t\r\n\r\n  \t \n"


def crlf_bom_array() -> bytes:
    text = json.dumps([_rec(0), _rec(1), _rec(2)], indent=2).replace("\n", "\r\n")
    return b"\xef\xbb\xbf" + text.encode() + b"\r\n"


def deep_json() -> bytes:
    # nesting deeper than Python's json recursion limit: a bad-json Reject, the rest read
    deep = b'{"id": "r1", "response": ' + b"[" * 5000 + b"]" * 5000 + b"}\n"
    return json.dumps(_rec(0)).encode() + b"\n" + deep + json.dumps(_rec(2)).encode() + b"\n"


def unknown_layout() -> bytes:
    # no record has a response-like field: a LayoutError (one clear error line in the CLI)
    return _jsonl([{"foo": i, "bar": "baz"} for i in range(3)])


def truncated_parquet() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([_rec(i) for i in range(20)]), buf)
    data = buf.getvalue()
    return data[: len(data) // 2]  # the footer (schema, row groups) is gone


def parquet_nulls() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [_rec(0), _rec(1, response=None), _rec(2, response=""), _rec(3, response=" \n"), _rec(4)]
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue()


GENERATED = {
    "duplicate_ids.jsonl": duplicate_ids,
    "wrong_type_list.jsonl": wrong_type_list,
    "only_blank.jsonl": only_blank,
    "crlf_bom_array.json": crlf_bom_array,
    "deep_json.jsonl": deep_json,
    "unknown_layout.jsonl": unknown_layout,
    "truncated.parquet": truncated_parquet,
    "parquet_nulls.parquet": parquet_nulls,
}

#: file -> (items a reader gives, how many are Records); None: see expected()
EXPECTED: dict = {
    # hand-written (README.md)
    "truncated.jsonl.gz": None,
    "truncated.jsonl.zst": None,
    "invalid_utf8_line2.jsonl": (3, 2),
    "cut_array.json": (4, 3),
    "cut_object.json": (5, 4),  # four complete tasks (q0-q3), then q4 cut
    "mixed_layouts.jsonl": (10, 7),  # nine source records, one with two generations
    "wrong_type.jsonl": (6, 2),
    "crlf.jsonl": (3, 3),
    "bom.jsonl": (3, 3),
    "empty.jsonl": (0, 0),
    "blank_lines.jsonl": (3, 3),
    "lone_surrogate.jsonl": (3, 2),
    # generated here
    "duplicate_ids.jsonl": (8, 8),
    "wrong_type_list.jsonl": (11, 3),
    "only_blank.jsonl": (0, 0),
    "crlf_bom_array.json": (3, 3),
    "deep_json.jsonl": (3, 2),
    "unknown_layout.jsonl": None,  # LayoutError: no items
    "truncated.parquet": (1, 0),  # one truncated-input Reject
    "parquet_nulls.parquet": (5, 2),  # a null, an empty and a blank response rejected
}


def _complete_lines(data: bytes) -> int:
    return data.count(b"\n")


def expected(name: str) -> tuple[int, int] | None:
    """(items, records) for a file of this folder; None when reading it is an error."""
    if name == "truncated.jsonl.gz":
        d = zlib.decompressobj(wbits=31)
        n = _complete_lines(d.decompress((HERE / name).read_bytes()))
        assert not d.eof  # it is cut
        return n + 1, n
    if name == "truncated.jsonl.zst":
        import zstandard

        d = zstandard.ZstdDecompressor().decompressobj()
        n = _complete_lines(d.decompress((HERE / name).read_bytes()))
        assert not d.eof
        return n + 1, n
    return EXPECTED[name]


def huge_record_file(path: Path, mb: float) -> tuple[int, int]:
    """A JSONL file of three records, the middle one with a response of ``mb`` megabytes on a
    single line (the reasoning of a degenerate generation that never stops); (items, records)."""
    unit = "Wait, let me check that again: 2 + 2 = 4. "
    body = unit * int(mb * 2**20 / len(unit))
    rows = [_rec(0), _rec(1, response="<think>\n" + body + "\n</think>\n\nThe answer is \\boxed{2}."), _rec(2)]
    path.write_bytes(_jsonl(rows))
    return 3, 3


def main() -> None:
    for name, make in GENERATED.items():
        (HERE / name).write_bytes(make())
        print(f"wrote {name} ({(HERE / name).stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
