"""A straightforward pure-Python implementation of dlcot's parsing rules, for benchmarks.

It follows the same rules as the Rust core (``rust/src/trace.rs``, ``segment.rs``, ``cues.rs``,
``answer.rs``): the envelope (think tags, Sky-T1 tags, chat-template tokens), paragraph units split
at blank lines and at sentences opening with a strong cue, cue classification with the same
lexicon (taken from ``dlcot.cue_lexicon()`` at import), the computes test, answers per unit
(``\\boxed{}`` with nested braces, "answer is" phrases, the final value stated as a result), the
restate / understand / explore / verify / conclude boundaries, solution and check blocks, the
final answer and the issues. It is written the way a competent Python programmer would write it
(``str`` methods, ``re`` where natural, dicts), neither deliberately slow nor C-in-Python. It
works on ``str`` indices (what ``dlcot`` returns to Python), matches case-insensitively in ASCII
as the core does, and counts the core's length limits (300-byte values, 40-byte final values,
the 90-byte "differently" window, ...) in UTF-8 bytes; ``bench/test_bench_parse.py`` reports
how often it agrees with dlcot.

``naive_pass`` is the much simpler pass the performance issue uses as a reference point:
paragraph split, cue prefixes, last boxed answer.

>>> t = parse_one("Okay, so I need 2+3.\\n\\n2 + 3 = 5.\\n</think>\\n\\nThe answer is \\\\boxed{5}.")
>>> t["final_answer"]["text"]
'5'
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from typing import Any, Iterable, NamedTuple, Optional

import dlcot

# --------------------------------------------------------------------------- cue lexicon

# phrase -> class ("restate", "alternative", "check:verify", ...), plus each phrase with a
# typographic apostrophe, as dlcot adds them
LEXICON: dict[str, str] = {}
for _phrase, _cls in dlcot.cue_lexicon():
    LEXICON[_phrase] = _cls
    if "'" in _phrase:
        LEXICON[_phrase.replace("'", "\u2019")] = _cls

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_WS = " \t\n\r\x0c"
# What Rust's `str::trim` strips (Unicode White_Space; Python's `str.strip()` also strips \x1c-\x1f)
_TRIM = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
         "\u2028\u2029\u202f\u205f\u3000")


def _lower(text: str) -> str:
    """Lower-cased text with the same indices as `text`, as dlcot's ASCII-case-insensitive
    matching sees it."""
    low = text.lower()
    # "İ" lowers to two code points, the Kelvin sign to an ASCII "k": lower ASCII only
    if len(low) != len(text) or "\u212a" in text:
        low = text.translate(_ASCII_LOWER)
    return low


def _nbytes(s: str) -> int:
    """UTF-8 length: dlcot's length limits are in bytes."""
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def _is_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _rfind(text: str, needle: str, start: int, end: int) -> int:
    """The last of the non-overlapping occurrences of `needle` in `text[start:end]` (searched
    left to right, as dlcot's memmem does), or -1."""
    last = -1
    pos = text.find(needle, start, end)
    while pos >= 0:
        last = pos
        pos = text.find(needle, pos + len(needle), end)
    return last


# One alternation, longest phrase first, matched against the lower-cased text: Python's `re`
# takes the first alternative that matches, so this gives "longest phrase wins".
_PHRASES = "|".join(re.escape(p) for p in sorted(LEXICON, key=len, reverse=True))
_CUE_RE = re.compile(_PHRASES)

# cues that open a new unit inside a paragraph, and that end the conclusion search
_STRONG = {"alternative", "restart", "conclude", "check:verify", "check:substitute", "check:recompute"}
# checks that end "explore" when no unit states an answer
_VERIFYING = ("check:verify", "check:substitute", "check:recompute")
# cues that end the "understand" section (and that a unit cue prefers to a filler's)
_ENDS_UNDERSTAND = ("alternative", "restart", "conclude", "check:")


def cue_at(low: str, at: int, end: int) -> Optional[tuple[str, str]]:
    """The (phrase, class) of the cue starting at `at` in `low[:end]`, with a word boundary
    after it."""
    limit = end
    while True:
        m = _CUE_RE.match(low, at, limit)
        if m is None:
            return None
        e = m.end()
        # "waiting" is not "wait"; when the longest phrase fails this test a shorter one may hold
        if e < end and _is_alnum(low[e - 1]) and (_is_alnum(low[e]) or low[e] == "-"):
            if e - 1 <= at:
                return None
            limit = e - 1
            continue
        phrase = m.group()
        return phrase, LEXICON[phrase]


def skip_markup(text: str, s: int, end: int) -> int:
    """Skips list and emphasis markup at a unit start (`**`, `- `, `> `, `#`, quotes)."""
    while s < end and text[s] in '*#>"-_ \t':
        s += 1
    return s


# --------------------------------------------------------------------------- answers

MAX_BOXED = 8 * 1024
MAX_PHRASE = 300
_BOX_RE = re.compile(r"\\(?:boxed|fbox)( *)")
_BRACE_TOKENS = re.compile(r"\\.|[{}]", re.S)
# "answer" as a word (not "answers"), then a linking phrase
_ANSWER_WORD = re.compile(r"(?<![a-z0-9])answer(?![a-z0-9])")
_LINK = re.compile(r" is:| is(?![a-z0-9'])| should be(?![a-z0-9'])| would be(?![a-z0-9'])| will be(?![a-z0-9'])"
                   r"| must be(?![a-z0-9'])| =|:|\*\*:")


class Hit(NamedTuple):
    start: int  # of "answer", or of "final answer"
    after: int  # just after "answer"
    value: Optional[int]  # where the value starts, when a linking phrase follows
    is_final: bool


def answer_hits(text: str, low: str) -> list[Hit]:
    """Every "answer" word in `text` ("answer", "Answer" or "ANSWER"), in order."""
    hits = []
    for m in _ANSWER_WORD.finditer(low):
        a, after = m.span()
        if text[a + 1 : after] not in ("nswer", "NSWER"):
            continue
        is_final = low.startswith("final ", a - 6, a) if a >= 6 else False
        link = _LINK.match(low, after)
        hits.append(Hit(a - 6 if is_final else a, after, link.end() if link else None, is_final))
    return hits


def _answer(text: str, start: int, end: int, kind: str) -> dict[str, Any]:
    return {"text": text[start:end], "start": start, "end": end, "kind": kind}


def match_brace(text: str, open_at: int) -> int:
    """Index of the `}` closing the `{` at `open_at` (nesting, `\\{` escapes), or -1."""
    depth = 0
    for m in _BRACE_TOKENS.finditer(text, open_at, min(len(text), open_at + MAX_BOXED)):
        tok = m.group()
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
            if depth == 0:
                return m.start()
    return -1


def find_boxed(text: str) -> tuple[list[tuple[int, int, int, int]], int]:
    """Every `\\boxed{..}` / `\\fbox{..}` / `\\boxed N`: (start, end, inner_start, inner_end)."""
    out = []
    unbalanced = 0
    for m in _BOX_RE.finditer(text):
        i = m.end()
        if i < len(text) and text[i] == "{":
            close = match_brace(text, i)
            if close < 0:
                unbalanced += 1
            else:
                out.append((m.start(), close + 1, i + 1, close))
        elif m.group(1):  # `\boxed 5`: up to whitespace or `$`
            j = i
            while j < len(text) and text[j] not in " \n\t$\r":
                j += 1
            if j > i:
                out.append((m.start(), j, i, j))
    return out, unbalanced


def clean_span(text: str, s: int, e: int) -> tuple[int, int]:
    """Shrinks past whitespace, `$`, `**`, `\\(..\\)`, `\\[..\\]`, `\\boxed{..}`, trailing `.,;`."""
    while True:
        before = (s, e)
        while s < e and text[s] in " \t\n\r$*":
            s += 1
        while e > s and text[e - 1] in " \t\n\r$*.,;":
            e -= 1
        while s < e and text[s] in _TRIM:  # Unicode whitespace too (a no-break space is no answer)
            s += 1
        while e > s and text[e - 1] in _TRIM:
            e -= 1
        for o, c in (("\\(", "\\)"), ("\\[", "\\]")):
            if text.startswith(o, s, e):
                s += 2
                if text.endswith(c, s, e):
                    e -= 2
                break
            if text.endswith(c, s, e):
                e -= 2
                break
        if text.startswith("\\boxed{", s, e) and text.endswith("}", s, e):
            s, e = s + 7, e - 1
        if (s, e) == before:
            return s, e


_MC_RE = re.compile(r"\(([A-J])\)|([A-J])(?:[).:](?: |\Z)|\Z)")


def mc_letter(value: str) -> Optional[str]:
    """"(B)", "B)", "B.", "(B) 12", "B: text" -> "B"."""
    m = _MC_RE.match(value.strip(_TRIM))
    return (m.group(1) or m.group(2)) if m else None


def answer_at(text: str, s: int, e: int, kind: str) -> dict[str, Any]:
    s, e = clean_span(text, s, e)
    a = _answer(text, s, e, kind)
    letter = mc_letter(a["text"])
    if letter:
        a["text"] = letter
    return a


# "18, but let me check": a clause after a comma is not part of the value
_CLAUSE_WORDS = ("but ", "so ", "which ", "since ", "because ", "or ", "wait", "hmm", "let ", "i ", "we ", "then ",
                 "right")
# "The answer should be in the form ...": the task restated, not an answer
_INSTRUCTIONS = ("in the form", "in form", "of the form", "expressed", "written", "given in", "in simplest",
                 "as a common", "a common fraction", "in terms of", "rounded", "to be ")


def value_after(text: str, low: str, start: int, end: int) -> Optional[tuple[int, int]]:
    """Span of the value at or after `start` in `text[:end]`, up to the end of its line, its
    sentence or a clause after a comma (at most 300 bytes)."""
    if start >= end:
        return None
    s = start
    while s < end and text[s] in " \t*:":
        s += 1
    limit = min(end, s + MAX_PHRASE)
    chunk = text[s:limit]
    if not chunk.isascii():  # 300 bytes, not 300 chars
        limit = s + len(chunk.encode("utf-8", "surrogatepass")[:MAX_PHRASE].decode("utf-8", "ignore"))
    depth = 0
    in_math = False
    e = s
    while e < limit:
        ch = text[e]
        if ch == "\n":
            break
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif ch == "$":
            in_math = not in_math
        elif ch in ".;?!,":
            nxt = text[e + 1] if e + 1 < end else None
            if ch != ",":
                # ". The", "? But": a sentence end whatever the brackets or a currency `$` say
                if (nxt is None or nxt in " \n") and (e + 2 >= end or "A" <= text[e + 2] <= "Z" or text[e + 2] == "\n"):
                    break
                # otherwise a `.`, `;` or `?` followed by whitespace, outside brackets and math
                if ch != "!" and depth <= 0 and not in_math and (nxt is None or nxt in _ASCII_WS):
                    break
            elif depth <= 0 and not in_math and nxt == " " and low.startswith(_CLAUSE_WORDS, e + 2, end):
                break
        e += 1
    s, e = clean_span(text, s, e)
    if e <= s or low.startswith(_INSTRUCTIONS, s, e):
        return None
    return s, e


def _heading_answer(text: str, low: str, at: int, end: int) -> Optional[dict[str, Any]]:
    """`**Final Answer**` followed by its line; `at` is just after "final answer"."""
    while at < end and text[at] in "*: \t\n\r#":
        at += 1
    span = value_after(text, low, at, end)
    if span is None:
        return None
    line_end = text.find("\n", span[0], end)
    if line_end < 0:
        line_end = end
    # "**Final Answer**\nThe answer is 3.5.": the phrase inside the heading's line wins
    s0 = span[0]
    linked = [h.value for h in answer_hits(text[s0:line_end], low[s0:line_end]) if h.value is not None]
    if linked:
        inner = value_after(text, low, s0 + linked[-1], line_end)
        if inner is not None:
            return answer_at(text, *inner, "final-answer-heading")
    return answer_at(text, *span, "final-answer-heading")


def extract_in(text: str, low: str, region: tuple[int, int], boxed: list[tuple[int, int, int, int]],
               hits: list[Hit]) -> Optional[dict[str, Any]]:
    """The final answer stated inside `region`: last boxed, then final-answer phrase, heading,
    answer phrase, `#### N`. `boxed` and `hits` are those of the whole text."""
    r0, r1 = region
    for b0, b1, i, j in reversed(boxed):
        if r0 <= b0 and b1 <= r1 and text[i:j].strip(_TRIM):
            return answer_at(text, i, j, "boxed")
    hits = [h for h in hits if h.start >= r0 and h.after <= r1]
    finals = [h for h in hits if h.is_final]
    if finals:  # the last "final answer": "... is X", else a heading
        if finals[-1].value is not None:
            span = value_after(text, low, finals[-1].value, r1)
            if span:
                return answer_at(text, *span, "final-answer-phrase")
        a = _heading_answer(text, low, finals[-1].after, r1)
        if a is not None:
            return a
    for h in reversed(hits):  # "the answer is X"
        if h.value is not None:
            span = value_after(text, low, h.value, r1)
            if span:
                return answer_at(text, *span, "answer-phrase")
    pos = _rfind(text, "####", r0, r1)
    if pos >= 0:
        span = value_after(text, low, pos + 4, r1)
        if span:
            return answer_at(text, *span, "hashes")
    return None


def extract_answer(text: str) -> Optional[dict[str, Any]]:
    """The final answer `text` states (as ``dlcot.extract_answer``, with its span and kind)."""
    low = _lower(text)
    return extract_in(text, low, (0, len(text)), find_boxed(text)[0], answer_hits(text, low))


# --------------------------------------------------------------------------- envelope

THINK_TAGS = (
    ("<think>", "</think>", "think"),
    ("<|begin_of_thought|>", "<|end_of_thought|>", "thought-solution"),
    ("<thinking>", "</thinking>", "think"),
    ("<thought>", "</thought>", "think"),
    ("<reasoning>", "</reasoning>", "think"),
    ("\u25c1think\u25b7", "\u25c1/think\u25b7", "think"),
)
SOLUTION_TAGS = (("<|begin_of_solution|>", "<|end_of_solution|>"), ("<answer>", "</answer>"), ("<solution>", "</solution>"))
ASSISTANT_MARKERS = (
    "<\uff5cAssistant\uff5c>", "<|Assistant|>", "<|im_start|>assistant\n", "<|im_start|>assistant",
    "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|start_header_id|>assistant<|end_header_id|>",
    "<|assistant|>\n", "<|assistant|>", "<start_of_turn>model\n",
)
END_TOKENS = (
    "<\uff5cend\u2581of\u2581sentence\uff5c>", "<|end_of_sentence|>", "<|im_end|>", "<|eot_id|>",
    "<|endoftext|>", "<|end|>", "<end_of_turn>", "</s>",
)


def _issue(issues: list[dict[str, Any]], kind: str, start: int, end: int, message: str) -> None:
    issues.append({"kind": kind, "start": start, "end": end, "message": message})


# every delimiter in one pattern (longest first), so the envelope is one pass over the text
_ROLE: dict[str, str] = {}
for _o, _c, _ in THINK_TAGS:
    _ROLE[_o], _ROLE[_c] = "think-open", "think-close"
for _m in ASSISTANT_MARKERS:
    _ROLE[_m] = "assistant"
for _o, _c in SOLUTION_TAGS:
    _ROLE[_o], _ROLE[_c] = "solution-open", "solution-close"
_MARKER_RE = re.compile("|".join(re.escape(m) for m in sorted(_ROLE, key=len, reverse=True)))
_SOLUTION_CLOSE = dict(SOLUTION_TAGS)


def envelope(text: str, issues: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the prompt, reasoning and summary lie."""
    found = [(m.group(), m.start(), m.end()) for m in _MARKER_RE.finditer(text)]

    def first(match: str, frm: int, to: int) -> Optional[tuple[str, int, int]]:
        """The first delimiter within [frm, to] that is `match` or has the role `match`."""
        for tag, a, b in found:
            if a >= frm and b <= to and (tag == match or _ROLE[tag] == match):
                return tag, a, b
        return None

    start, end = 0, len(text)
    first_open = first("think-open", 0, end)
    prompt = first("assistant", 0, end)
    if prompt is not None and (first_open is None or prompt[1] < first_open[1]):
        start = prompt[2]
        _issue(issues, "chat-template", 0, start, "the response holds a chat-template prompt")
    body_end = end
    while True:  # end-of-turn tokens (and the whitespace before them) at the end
        t = text[start:body_end].rstrip(_TRIM)
        tok = next((e for e in END_TOKENS if t.endswith(e)), None)
        if tok is None:
            break
        body_end = start + len(t) - len(tok)
    if body_end < end and text[body_end:end].strip(_TRIM):
        _issue(issues, "chat-template", body_end, end, "the response ends with end-of-turn tokens")
        end = body_end

    best = None  # the pair whose first tag comes earliest
    for open_tag, close_tag, fmt in THINK_TAGS:
        o = first(open_tag, start, end)
        c = first(close_tag, o[2] if o else start, end)
        if o is None and c is None:
            continue
        first_tag = o[1] if o else c[1]  # type: ignore[index]
        if best is None or first_tag < best[0]:
            best = (first_tag, o, c, open_tag, fmt)
    if best is None:
        return {"format": "plain", "reasoning": (start, end), "close": None, "summary": (end, end)}
    _, o, c, open_tag, fmt = best
    r_start = o[2] if o else start
    if o is None:
        assert c is not None
        _issue(issues, "missing-open-tag", c[1], c[1],
               "the reasoning has a closing tag but no opening tag (normal for R1 distills)")
    elif c is None:
        _issue(issues, "missing-close-tag", o[1], o[2], "the reasoning is never closed")
    if c is None:
        return {"format": fmt, "reasoning": (r_start, end), "close": None, "summary": (end, end)}
    again = first(open_tag, c[2], end)
    if again is not None:
        _issue(issues, "several-think-blocks", again[1], again[2], "another reasoning block follows the first")
    s_start, s_end = c[2], end
    lead = len(text[s_start:s_end]) - len(text[s_start:s_end].lstrip(_TRIM))
    so = first("solution-open", s_start + lead, s_end)
    if so is not None and so[1] == s_start + lead:  # the summary, unwrapped from a solution tag
        s_start = so[2]
        sc = first(_SOLUTION_CLOSE[so[0]], s_start, s_end)
        if sc is not None:
            s_end = sc[1]
    return {"format": fmt, "reasoning": (r_start, c[1]), "close": (c[1], c[2]), "summary": (s_start, s_end)}


# --------------------------------------------------------------------------- units

_PARA_BREAK = re.compile(r"\n[ \t\r]*\n[ \t\n\r\x0c]*")
_SENTENCE_START = re.compile(r"(?:[.?!](?=[ \n])|\n)[ \t\n\r]*")
_WS = " \t\n\r\x0c"
_COMPUTE_OPS = ("=", "\\frac", "\\times", "\\cdot", "\\sqrt", "\u00d7", "\u00f7")
_DIGIT_OP_DIGIT = re.compile(r"[0-9] *[-+*/^] *[0-9]")
_HAS_DIGIT = re.compile(r"[0-9]")
# arithmetic in words (stems without their first letter, so "Equals" counts too)
_ARITHMETIC_WORDS = (" times ", "ultipl", "ivided", " plus ", " minus ", "quals", "ubtract", "alculat", "omput", " sum of ")


def computes(s: str) -> bool:
    """An `=`, a LaTeX operator, digit-operator-digit, or arithmetic in words with a number."""
    if any(op in s for op in _COMPUTE_OPS) or _DIGIT_OP_DIGIT.search(s):
        return True
    return any(w in s for w in _ARITHMETIC_WORDS) and _HAS_DIGIT.search(s) is not None


# Openers that carry no meaning of their own: "Wait, another way: ..." is a new approach.
FILLERS = ("but wait a minute,", "wait a minute,", "wait a second,", "wait a moment,", "but wait,", "wait,", "hmm,",
           "hmm.", "but", "so,", "okay,", "ok,", "oh,", "ah,", "alright,", "now,", "well,", "and", "also,", "hold on,",
           "hmm, wait,")
# longest first, so the alternation takes the longest filler
_FILLER_RE = re.compile("|".join(re.escape(f) for f in sorted(FILLERS, key=len, reverse=True)))
_DIFFERENTLY = ("let me think differently", LEXICON["let me think differently"])


def filler_at(low: str, at: int, end: int) -> int:
    """Length of the filler (followed by a space) starting at `at` in `low[:end]`, or 0."""
    f = _FILLER_RE.match(low, at, end)
    if f is None or not low.startswith(" ", f.end(), end):
        return 0
    return f.end() - at


def differently(text: str, at: int, end: int, positions: list[int]) -> Optional[tuple[str, str]]:
    """"Maybe I should think about this differently.": a change of approach announced within the
    first 90 bytes of the unit's first sentence. `positions`: where "ifferently" occurs."""
    k = bisect.bisect_left(positions, at)
    if k == len(positions):
        return None
    p = positions[k]
    if p > end or p - at >= 90 or _nbytes(text[at:p]) >= 90:
        return None
    head = text[at:p]
    if "." in head or "?" in head or "\n" in head:
        return None
    return _DIFFERENTLY


def unit_cue(text: str, low: str, at: int, end: int, positions: list[int]) -> Optional[tuple[str, str]]:
    """The cue at `at` (past markup), looking past up to two fillers for a stronger one."""
    first = cue_at(low, at, end)
    if first is not None and first[1].startswith(_ENDS_UNDERSTAND):
        return first
    pos = at
    for _ in range(2):
        n = filler_at(low, pos, end)
        if not n:
            break
        pos += n
        while pos < end and low[pos] == " ":
            pos += 1
        m = cue_at(low, pos, end)
        if m is not None and m[1].startswith(_ENDS_UNDERSTAND):
            return m
    if first is not None and first[1] != "reflect":
        return first
    return differently(text, at, end, positions) or first


class Unit:
    __slots__ = ("start", "end", "cstart", "cend", "content", "cue", "answer")

    def __init__(self, text: str, low: str, start: int, end: int, positions: list[int]):
        self.start, self.end = start, end
        self.content = text[start:end].rstrip(_WS)
        self.cstart, self.cend = start, start + len(self.content)
        self.cue = unit_cue(text, low, skip_markup(text, start, self.cend), self.cend, positions)
        self.answer: Optional[tuple[int, int, str]] = None  # (start, end, kind) of the value

    @property
    def cls(self) -> Optional[str]:
        return self.cue[1] if self.cue else None


def units(text: str, low: str, r_start: int, r_end: int) -> list[Unit]:
    """Paragraphs split at blank lines, then at sentences opening with a strong cue."""
    first = r_start
    while first < r_end and text[first] in _WS:
        first += 1
    starts = [first if first < r_end else r_start]
    for m in _PARA_BREAK.finditer(text, r_start, r_end):
        s = m.end()
        if s < r_end and s > starts[-1]:
            starts.append(s)
    # where "ifferently" occurs (case-sensitive, as in dlcot), for the "differently" test
    positions = []
    p = text.find("ifferently", r_start, r_end)
    while p >= 0:
        positions.append(p)
        p = text.find("ifferently", p + 10, r_end)
    out: list[Unit] = []
    for i, p_start in enumerate(starts):
        p_end = starts[i + 1] if i + 1 < len(starts) else r_end
        unit_start = p_start
        for m in _SENTENCE_START.finditer(text, p_start, p_end):
            s = m.end()
            if s >= p_end or s <= unit_start:
                continue
            cue = cue_at(low, skip_markup(text, s, p_end), p_end)
            if cue and cue[1] in _STRONG:
                out.append(Unit(text, low, unit_start, s, positions))
                unit_start = s
        out.append(Unit(text, low, unit_start, p_end, positions))
    if out:
        out[0].start = r_start  # the units tile the reasoning; the first one's content starts later
    return out


# --------------------------------------------------------------------------- per-unit answers

_LEADS = ("=", " is", " be", " are", " was", " get", " gives", " equals", " makes", " earns",
          " total of", "\\approx", "\u2248", " to", " of", ":")
_WEAK_LEADS = (" to", " of", ":")
_STRONG_WEAK_LEADS = ("comes to", "amounts to", "adds up to", "total of")


def is_result(text: str, low: str, at: int, n: int) -> bool:
    """Is the value at text[at:at+n] stated as a result ("= 18", "is 18", "gives $18")?"""
    end = at + n
    if at > 0:  # not inside a longer number or word
        p = text[at - 1]
        if (_is_alnum(text[at]) and _is_alnum(p)) or (p == "." and at > 1 and _is_digit(text[at - 2])):
            return False
    if end < len(text):
        nx = text[end]
        if _is_alnum(text[end - 1]) and _is_alnum(nx):
            return False
        if nx in ".," and end + 1 < len(text) and _is_digit(text[end + 1]):
            return False
    i = at  # what precedes, past spaces and math wrappers
    while True:
        while i > 0 and text[i - 1] in " ${*\t":
            i -= 1
        if i >= 2 and text[i - 2 : i] in ("\\(", "\\["):
            i -= 2
            continue
        break
    before = low[min(max(at - 64, 0), i) : i]
    if before.endswith(_LEADS) and not before.endswith(_WEAK_LEADS):
        return True
    return before.endswith(_STRONG_WEAK_LEADS)


_DEGREE_SUFFIXES = ("^\\circ", "^{\\circ}", "\u00b0", "\\%", "%")
_FRACTION_HEADS = ("\\frac{", "\\dfrac{", "\\tfrac{")
_SIMPLE = re.compile(r"[A-Za-z0-9]+")


def value_variants(v: str) -> list[str]:
    """`v`, plus the other forms a trace writes the same value in: degrees and percent without
    their sign ("45^\\circ" -> "45"), fractions ("\\frac{1}{6}" <-> "1/6"), thousands separators
    ("57500" <-> "57,500")."""
    out = [v]
    for suffix in _DEGREE_SUFFIXES:
        if v.endswith(suffix) and v[: -len(suffix)].strip(_TRIM):
            out.append(v[: -len(suffix)].strip(_TRIM))
    for head in _FRACTION_HEADS:
        if v.startswith(head) and v.endswith("}") and "}{" in v[len(head) : -1]:
            num, den = v[len(head) : -1].split("}{", 1)
            if not any(c in "{}" for c in num + den):
                out.append(f"{num}/{den}")
                out.append(f"\\frac{{{num}}}{{{den}}}")
    if "/" in v:
        num, den = v.split("/", 1)
        if _SIMPLE.fullmatch(num) and _SIMPLE.fullmatch(den):
            out.append(f"\\frac{{{num}}}{{{den}}}")
    out = [x for k, x in enumerate(out) if k == 0 or x != out[k - 1]]  # consecutive repeats
    sign, digits = ("-", v[1:]) if v.startswith("-") else ("", v)
    if len(digits) >= 4 and digits.isascii() and digits.isdigit():
        lead = len(digits) % 3 or 3
        out.append(sign + ",".join([digits[:lead]] + [digits[i : i + 3] for i in range(lead, len(digits), 3)]))
    elif "," in digits and all(c in "0123456789," for c in digits):
        out.append(sign + digits.replace(",", ""))
    return out


def mark_answers(text: str, low: str, us: list[Unit], boxed: list[tuple[int, int, int, int]], hits: list[Hit],
                 final_value: Optional[str], first_eligible: int) -> None:
    """The last answer each unit states: boxed, an answer phrase, or the final value stated as a
    result (as written there: "57,500" for a final "57500")."""
    linked = [(h.start, h.value) for h in hits if h.value is not None]
    variants = value_variants(final_value) if final_value and _nbytes(final_value) <= 40 else []
    # every place the final value is stated as a result, from the first eligible unit on
    results: list[tuple[int, int]] = []
    if first_eligible < len(us):
        r0, r1 = us[first_eligible].start, us[-1].end
        for v in variants:
            pos = text.find(v, r0, r1)
            while pos >= 0:
                if is_result(text, low, pos, len(v)):
                    results.append((pos, pos + len(v)))
                pos = text.find(v, pos + len(v), r1)
        results.sort()
    bi = li = ri = 0
    for k, u in enumerate(us):
        cs, ce = u.cstart, u.cend
        while bi < len(boxed) and boxed[bi][0] < cs:
            bi += 1
        found = None
        j = bi
        while j < len(boxed) and boxed[j][1] <= ce:
            _, _, i0, i1 = boxed[j]
            if text[i0:i1].strip(_TRIM):
                found = (i0, i1, "boxed")
            j += 1
        if found:
            u.answer = found
            continue
        # "the answer is X": the last linked "answer" inside the unit
        while li < len(linked) and linked[li][0] < cs:
            li += 1
        best = -1
        j = li
        while j < len(linked) and linked[j][1] <= ce:
            best = linked[j][1]
            j += 1
        if best >= 0:
            span = value_after(text, low, best, ce)
            if span:
                u.answer = (span[0], span[1], "answer-phrase")
                continue
        if k < first_eligible:
            continue
        while ri < len(results) and results[ri][0] < cs:
            ri += 1
        last = None
        while ri < len(results) and results[ri][1] <= ce:
            last = results[ri]
            ri += 1
        if last is not None:
            u.answer = (last[0], last[1], "statement")


_ADVERBS = ("indeed ", "just ", "also ", "still ", "exactly ", "then ", "now ", "equal to ", "actually ", "simply ",
            "definitely ", "clearly ")
_OPENERS = ("so ", "so,", "therefore", "thus", "hence", "that means", "which means")
_LAST_SENTENCE = re.compile(r"[.?\n][ \n](?=.)", re.S)


def statement_answer(text: str, low: str, start: int, end: int) -> Optional[dict[str, Any]]:
    """A concluding statement at the end of a solution: "So the total is 24." -> 24."""
    s = start
    for m in _LAST_SENTENCE.finditer(text, start, end):
        s = m.start() + 1
    while s < end and text[s] in _WS:
        s += 1
    if not low.startswith(_OPENERS, s, end):
        return None
    # the value after the last `=` or " is "
    eq = text.rfind("=", s, end)
    is_ = _rfind(text, " is ", s, end)
    vs = max(eq + 1 if eq >= 0 else -1, is_ + 4 if is_ >= 0 else -1)
    if vs < 0:
        return None
    while True:  # the value may follow adverbs: "so the total is just 24"
        while vs < end and text[vs] == " ":
            vs += 1
        adverb = next((a for a in _ADVERBS if low.startswith(a, vs, end)), None)
        if adverb is None:
            break
        vs += len(adverb)
    span = value_after(text, low, vs, end)
    if span is None:
        return None
    v = text[span[0] : span[1]]
    if _nbytes(v) > 40 or not any(_is_digit(c) or c == "\\" for c in v):
        return None
    return _answer(text, *span, "statement")


# --------------------------------------------------------------------------- parse

_WORD_RE = re.compile(r"[^\W_]{3,}")
KINDS = ("restate", "understand", "explore", "verify", "conclude")


def _words(s: str) -> list[str]:
    return _WORD_RE.findall(s.lower())


def _overlap(s: str, problem: set[str]) -> float:
    ws = _words(s)
    return sum(w in problem for w in ws) / len(ws) if ws else 0.0


def parse_one(text: str, problem: Optional[str] = None) -> dict[str, Any]:
    """Parses one response into a dict shaped like ``dlcot.Trace.to_dict()`` (str indices)."""
    issues: list[dict[str, Any]] = []
    n_text = len(text)
    if not text.strip(_TRIM):
        _issue(issues, "empty", 0, n_text, "the response is empty")
        return {
            "format": "plain", "length": n_text, "reasoning": [0, n_text], "summary": [n_text, n_text],
            "sections": [{"kind": "conclude", "start": 0, "end": n_text}] if text else [],
            "solutions": [], "checks": [], "final_answer": None, "issues": issues,
        }
    low = _lower(text)
    env = envelope(text, issues)
    r0, r1 = env["reasoning"]
    us = units(text, low, r0, r1) if r1 > r0 else []
    n = len(us)

    # final answer: the summary, then the reasoning (boxes and "answer" words found once)
    boxed, unbalanced = find_boxed(text)
    hits = answer_hits(text, low)
    final = extract_in(text, low, env["summary"], boxed, hits) or extract_in(text, low, (r0, r1), boxed, hits)

    # restate
    pw = set(_words(problem)) if problem is not None else None
    ri = 0
    while ri < min(n, 4):
        u = us[ri]
        restate_cue = u.cls == "restate"
        ov = _overlap(u.content, pw) if pw is not None else 0.0
        ok = (restate_cue or ov >= 0.5) if ri == 0 else ((restate_cue or ov >= 0.6) and not computes(u.content))
        if not ok:
            break
        ri += 1

    # understand: non-computing units without a strong cue, at most four
    ui = ri
    while ui < n and ui < ri + 4 and not (us[ui].cls or "").startswith(_ENDS_UNDERSTAND) and not computes(us[ui].content):
        ui += 1
    if ui == n and n > 0:
        ui = max(min(ri + 1, n), ri)

    # answers per unit. Without a final answer (a truncated trace), the value the trace keeps
    # concluding at the end of two or more units stands in.
    final_value = final["text"] if final else None
    if final_value is None:
        concluded: Counter[str] = Counter()
        for u in us[min(ri, n) :]:
            a = statement_answer(text, low, u.cstart, u.cend)
            if a is not None:
                concluded[a["text"]] += 1
        best = 1
        for v, cnt in concluded.items():  # the most frequent; the latest first seen on a tie
            if cnt >= best:
                final_value, best = v, cnt
        if best < 2:
            final_value = None
    mark_answers(text, low, us, boxed, hits, final_value, ri)

    # conclusion: the last concluding unit not followed by a check or another approach
    c = n
    for k in range(n - 1, -1, -1):
        cls = us[k].cls
        if cls == "conclude":
            c = k
            break
        if cls in _STRONG:
            break
    if c == n and env["close"] is None and n > 1 and us[-1].answer and us[-1].answer[2] == "boxed":
        c = n - 1

    # explore ends after the first unit with an answer. Without any stated answer (a trace cut
    # before it boxes one), a verification right after a computing unit implies that this unit
    # reached a result: "... = 2 mod 7." then "Wait, let me check that again."
    first_answer = next((k for k in range(ui, c) if us[k].answer is not None), None)
    if first_answer is None:
        first_answer = next((k - 1 for k in range(ui + 1, c)
                             if us[k].cls in _VERIFYING and computes(us[k - 1].content)), None)
    ex = c if first_answer is None else first_answer + 1
    ri, ui = min(ri, c), min(ui, c)
    ex = min(max(ex, ui), c)
    bounds = (0, ri, ui, ex, c, n)
    tail = env["close"] is not None or c < n

    def pos(k: int) -> int:
        return us[k].start if k < n else (us[-1].end if us else 0)

    sections: list[dict[str, Any]] = []
    for i, kind in enumerate(KINDS):
        lo, hi = pos(bounds[i]), pos(bounds[i + 1])
        if i == 4 and tail:
            hi = n_text
        if hi > lo:
            sections.append({"kind": kind, "start": lo, "end": hi})
    if sections:
        sections[0]["start"] = 0
        sections[-1]["end"] = n_text
    elif text:
        sections.append({"kind": "conclude", "start": 0, "end": n_text})

    # solutions and checks in [ui, c)
    solutions: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    cur: Optional[tuple[str, int]] = None  # ("sol" | "chk", index)
    for k in range(ui, c):
        u = us[k]
        section = "explore" if k < ex else "verify"
        cls = u.cls
        phrase = u.cue[0] if u.cue else ""
        at_verify_start = k == ex and k > ui
        # "Hmm, that's not right." then "Let me start over.": one restart, not two. A cue right
        # after a restart that is only an announcement (under 300 bytes so far) continues it
        # (but "Alternatively, X." then "Alternatively, Y." are two approaches).
        open_sol = solutions[cur[1]] if cur is not None and cur[0] == "sol" else None
        follows_cue = (open_sol is not None and open_sol["restart"]
                       and _nbytes(text[open_sol["start"] : open_sol["end"]]) < 300)
        starts_solution = cls in ("alternative", "restart") and not follows_cue
        if cls is not None and cls.startswith("check:"):
            check_kind: Optional[str] = cls[6:]
        elif cls == "reflect":
            check_kind = "reflect"
        else:
            check_kind = None
        strong_check = check_kind in ("verify", "substitute", "recompute", "reflect")
        in_check = cur is not None and cur[0] == "chk"
        if cur is None or starts_solution or (at_verify_start and check_kind is None):
            if starts_solution or cur is None or not in_check or at_verify_start:
                if at_verify_start and not starts_solution:
                    checks.append({"start": u.start, "end": u.end, "kind": "reflect", "section": section,
                                   "cue": phrase, "solution": None, "answer": None})
                    cur = ("chk", len(checks) - 1)
                    continue
                solutions.append({"start": u.start, "end": u.end, "section": section,
                                  "cue": phrase if starts_solution else "", "restart": cls == "restart",
                                  "answer": None, "steps": [[u.start, u.end]]})
                cur = ("sol", len(solutions) - 1)
                continue
        if check_kind is not None:
            if section == "verify" and (strong_check or cur[0] == "sol") and not (in_check and not strong_check):
                checks.append({"start": u.start, "end": u.end, "kind": check_kind, "section": section,
                               "cue": phrase, "solution": None, "answer": None})
                cur = ("chk", len(checks) - 1)
                continue
            if cur[0] == "sol":
                checks.append({"start": u.start, "end": u.end, "kind": check_kind, "section": section,
                               "cue": phrase, "solution": cur[1], "answer": None})
                sol = solutions[cur[1]]
                sol["end"] = u.end
                sol["steps"].append([u.start, u.end])
                continue
        if cur[0] == "sol":
            sol = solutions[cur[1]]
            sol["end"] = u.end
            sol["steps"].append([u.start, u.end])
        else:
            checks[cur[1]]["end"] = u.end

    # answers of solutions and checks: the last unit answer inside, else a concluding statement
    # (a unit's answer is the text written at its span: "57,500" where the final answer is "57500")
    answered = [u for u in us[:c] if u.answer is not None]
    ends = [u.end for u in answered]

    def answer_in(start: int, end: int) -> Optional[dict[str, Any]]:
        k = bisect.bisect_right(ends, end) - 1
        if k >= 0 and answered[k].start >= start:
            a0, a1, kind = answered[k].answer  # type: ignore[misc]
            return {"text": text[a0:a1].strip(_TRIM), "start": a0, "end": a1, "kind": kind}
        return None

    for sol in solutions:
        sol["answer"] = answer_in(sol["start"], sol["end"])
        if sol["answer"] is None:
            last_start, last_end = sol["steps"][-1]
            sol["answer"] = statement_answer(text, low, last_start, len(text[last_start:last_end].rstrip(_WS)) + last_start)
    for ch in checks:
        if ch["solution"] is None:
            ch["answer"] = answer_in(ch["start"], ch["end"])

    # issues
    if unbalanced:
        _issue(issues, "unbalanced-boxed", n_text, n_text, f"{unbalanced} \\boxed{{ whose braces never close")
    concl = next((s for s in sections if s["kind"] == "conclude"), None)
    if concl is not None:
        distinct: list[str] = []
        for b0, b1, i0, i1 in boxed:
            v = text[i0:i1].strip(_TRIM)
            if concl["start"] <= b0 and b1 <= concl["end"] and v and v not in distinct:
                distinct.append(v)
        if len(distinct) > 1:
            _issue(issues, "several-answers", concl["start"], concl["end"],
                   f"the conclusion boxes {len(distinct)} different answers: {' | '.join(distinct)}")
    # Truncation: a reasoning block opened and never closed, or a text that stops where no
    # complete response stops (mid-word, after a comma or an operator, inside `\boxed{`), unless
    # it stops right after its final answer, a box or a short value (<= 24 bytes, within 3 bytes
    # of the end: a phrase value that runs to the end is the cut text itself).
    stripped = text.rstrip(_TRIM)
    last_char = stripped[-1] if stripped else ""
    before_last = stripped[-2] if len(stripped) > 1 else ""
    opening_quote = last_char in ('"', "\u201c") and (not before_last or before_last.isspace())
    ends_with_answer = final is not None and _nbytes(text[final["end"] : len(stripped)]) <= 3 and (
        final["kind"] == "boxed" or _nbytes(text[final["start"] : final["end"]]) <= 24)
    cut = not ends_with_answer and (
        opening_quote or last_char.isalnum() or (last_char != "" and last_char in ",(-+=\\{^_%&"))
    unclosed = env["format"] != "plain" and env["close"] is None
    if final is None:
        _issue(issues, "no-answer", n_text, n_text, "no final answer found")
    if unclosed or cut:
        line_start = stripped.rfind("\n") + 1  # the last line
        _issue(issues, "truncated", line_start, n_text,
               "the trace stops mid-sentence" if cut else "the reasoning never closes")
    # one repetition issue for a degenerate loop: paragraphs (32+ bytes) seen three or more times
    seen: Counter[str] = Counter()
    loop: list[Unit] = []
    for u in us:
        key = text[u.cstart : u.cend]
        if len(key) >= 32 or len(key.encode()) >= 32:
            seen[key] += 1
            if seen[key] >= 3:
                loop.append(u)
    if loop:
        looping = sum(k >= 3 for k in seen.values())
        _issue(issues, "repetition", loop[0].cstart, loop[-1].cend,
               f"{looping} paragraph(s) occur three or more times (one {max(seen.values())} times): a degenerate loop")

    return {
        "format": env["format"],
        "length": n_text,
        "reasoning": list(env["reasoning"]),
        "summary": list(env["summary"]),
        "sections": sections,
        "solutions": solutions,
        "checks": checks,
        "final_answer": final,
        "issues": issues,
    }


def parse(texts: Iterable[str], problems: Optional[Iterable[Optional[str]]] = None) -> list[dict[str, Any]]:
    """Parses many responses (serially)."""
    if problems is None:
        return [parse_one(t) for t in texts]
    return [parse_one(t, p) for t, p in zip(texts, problems)]


# --------------------------------------------------------------------------- the naive pass

# the lexicon by first word, longest phrase first: "wait," -> ["wait, let me check", ..., "wait,"]
_BY_FIRST_WORD: dict[str, list[str]] = {}
for _phrase in sorted(LEXICON, key=len, reverse=True):
    _BY_FIRST_WORD.setdefault(_phrase.split(" ", 1)[0].rstrip(",."), []).append(_phrase)


def naive_pass(text: str) -> dict[str, Any]:
    """The naive reference pass: paragraph split, cue prefixes, last boxed answer."""
    cues = []
    for para in text.split("\n\n"):
        head = para.lstrip()[:48].lower()
        first = head.split(" ", 1)[0].rstrip(",.")
        cue = None
        for phrase in _BY_FIRST_WORD.get(first, ()):
            if head.startswith(phrase):
                cue = LEXICON[phrase]
                break
        cues.append(cue)
    answer = None
    pos = text.rfind("\\boxed{")
    if pos >= 0:
        close = match_brace(text, pos + 6)
        if close >= 0:
            answer = text[pos + 7 : close].strip()
    return {"paragraphs": len(cues), "cues": cues, "answer": answer}


def naive(texts: Iterable[str]) -> list[dict[str, Any]]:
    return [naive_pass(t) for t in texts]
