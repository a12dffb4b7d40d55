//! Segmentation: from reasoning text to DLCoT's macro sections, solutions, checks and steps.
//!
//! Follows the structure of a long CoT described in DLCoT (arXiv 2503.16385, section 3.1):
//! problem restatement, approach exploration, verification, summary. The reasoning is cut into
//! units (paragraphs at blank lines, and sentences that open with a strong cue such as
//! "Alternatively," or "Let me check"); each unit is classified by the cue lexicon
//! (`cues.rs`) and by cheap content tests (does it compute? does it state an answer?). Then:
//!
//! * `restate`: leading units that restate the problem (a restatement cue, or most of their words
//!   occur in the problem);
//! * `understand`: the following units, up to the first that computes (at most four);
//! * `explore`: up to and including the unit where the first answer appears (a `\boxed{}`, an
//!   "answer is" phrase, or the final answer's value stated as a result, "= 18");
//! * `verify`: everything after that, up to the conclusion;
//! * `conclude`: the last concluding cue ("**Final Answer**") not followed by further checks or
//!   approaches, the closing tag and the summary.
//!
//! Within explore and verify, solutions open at new-approach and restart cues, checks at check
//! cues (and, after the first answer, at re-examination cues like "Wait,"). Every pass is linear
//! in the text; the only per-unit work beyond a DFA step or two is on the few leading units.

use crate::answer::{self, finder, Answer, AnswerKind};
use crate::cues::{cue_at, strong_cue_at, CheckKind, Cue, CueMatch};
use crate::span::Span;
use crate::trace::{Check, Envelope, Issue, IssueKind, Section, SectionKind, Solution, Trace};
use memchr::memmem;
use std::collections::HashMap;

/// One unit of reasoning: `span` tiles the reasoning, `content` is `span` without trailing
/// whitespace.
#[derive(Clone, Debug)]
struct Unit {
    span: Span,
    content: Span,
    cue: Option<CueMatch>,
    answer: Option<UnitAnswer>,
}

/// An answer stated in a unit, kept as a span until a solution or check needs its text. The
/// text is what the trace wrote there ("57,500", "20" for a final "20\\%"), not a normal form.
#[derive(Clone, Copy, Debug)]
struct UnitAnswer {
    span: Span,
    kind: AnswerKind,
}

impl UnitAnswer {
    fn to_answer(self, text: &str) -> Answer {
        Answer { text: self.span.slice(text).trim().to_string(), span: self.span, kind: self.kind }
    }
}

/// Units tiling `r`: paragraphs (at blank lines), split further at sentences that open with a
/// strong cue. One pass over the bytes: every `\n`, `.`, `?` and `!` is a candidate; the
/// whitespace after it either holds a blank line (a new paragraph) or ends a sentence.
fn units(text: &str, r: Span) -> Vec<Unit> {
    let b = text.as_bytes();
    // The first unit's analysis starts at its first non-blank byte; its span still starts at
    // `r.start` (tiling).
    let mut first = r.start;
    while first < r.end && b[first].is_ascii_whitespace() {
        first += 1;
    }
    if first == r.end {
        first = r.start;
    }
    let differently_at: Vec<usize> = finder!(b"ifferently").find_iter(&b[r.start..r.end]).map(|p| r.start + p).collect();
    let mut out: Vec<Unit> = Vec::with_capacity((r.end - r.start) / 64 + 8);
    let mut unit_start = first;
    let mut i = first;
    // `!` is rare: its next position is tracked apart from the SIMD search for the others
    let bang = |from: usize| memchr::memchr(b'!', &b[from..r.end]).map_or(r.end, |p| from + p);
    let mut next_bang = bang(first);
    while i < r.end {
        // the next candidate byte
        let k = memchr::memchr3(b'\n', b'.', b'?', &b[i..r.end]).map_or(r.end, |p| i + p);
        if next_bang < i {
            next_bang = bang(i);
        }
        i = k.min(next_bang);
        if i >= r.end {
            break;
        }
        let c = b[i];
        // a sentence end must be followed by a space or a newline
        if c != b'\n' && !matches!(b.get(i + 1), Some(b' ' | b'\n')) {
            i += 1;
            continue;
        }
        // the whitespace run after it, and whether it holds a blank line (two newlines with
        // only spaces, tabs or CRs between them)
        let mut j = if c == b'\n' { i } else { i + 1 };
        let (mut seen_nl, mut clean, mut blank) = (false, true, false);
        while j < r.end && b[j].is_ascii_whitespace() {
            match b[j] {
                b'\n' => {
                    blank |= seen_nl && clean;
                    seen_nl = true;
                    clean = true;
                }
                b' ' | b'\t' | b'\r' => {}
                _ => clean = false,
            }
            j += 1;
        }
        if blank {
            if j < r.end {
                out.push(make_unit(text, Span::new(unit_start, j), &differently_at));
                unit_start = j;
            }
            i = j.max(i + 1);
            continue;
        }
        // a sentence start: split there when a strong cue opens it
        let mut s = i + 1;
        while s < r.end && matches!(b[s], b' ' | b'\n' | b'\t' | b'\r') {
            s += 1;
        }
        if s >= r.end || s <= unit_start {
            i += 1;
            continue;
        }
        let at = skip_markup(b, s, r.end);
        if strong_cue_at(&b[..r.end], at).is_some() {
            out.push(make_unit(text, Span::new(unit_start, s), &differently_at));
            unit_start = s;
        }
        i = s;
    }
    out.push(make_unit(text, Span::new(unit_start, r.end), &differently_at));
    if let Some(u) = out.first_mut() {
        u.span.start = r.start;
    }
    out
}

/// Openers that carry no meaning of their own: "Wait, another way: ..." is a new approach.
const FILLERS: [&str; 21] = [
    "but wait a minute,", "wait a minute,", "wait a second,", "wait a moment,", "but wait,", "wait,", "hmm,", "hmm.",
    "but", "so,", "okay,", "ok,", "oh,", "ah,", "alright,", "now,", "well,", "and", "also,", "hold on,", "hmm, wait,",
];

/// Length of the filler (followed by a space) that starts at `at`, if any.
fn filler_at(b: &[u8], at: usize) -> Option<usize> {
    static DFA: std::sync::OnceLock<aho_corasick::dfa::DFA> = std::sync::OnceLock::new();
    // every filler starts with one of these letters: most units are decided here
    if !matches!(b.get(at).map(|c| c.to_ascii_lowercase()), Some(b'b' | b'w' | b'h' | b's' | b'o' | b'a' | b'n')) {
        return None;
    }
    let dfa = DFA.get_or_init(|| crate::cues::anchored_dfa(FILLERS.iter().copied()));
    let (_, len) = crate::cues::walk(dfa, b, at)?;
    (b.get(at + len) == Some(&b' ')).then_some(len)
}

/// The cue at `at`, looking past up to two fillers for a stronger one. `differently`: the
/// sorted positions of "ifferently" in the text.
fn unit_cue(b: &[u8], at: usize, differently_at: &[usize]) -> Option<CueMatch> {
    let first = cue_at(b, at);
    if matches!(first.map(|m| m.cue), Some(Cue::Alternative | Cue::Restart | Cue::Check(_) | Cue::Conclude)) {
        return first;
    }
    let mut pos = at;
    for _ in 0..2 {
        let Some(len) = filler_at(b, pos) else {
            break;
        };
        pos += len;
        while pos < b.len() && b[pos] == b' ' {
            pos += 1;
        }
        if let Some(m) = cue_at(b, pos) {
            if matches!(m.cue, Cue::Alternative | Cue::Restart | Cue::Check(_) | Cue::Conclude) {
                return Some(CueMatch { len: m.len + (pos - at), ..m });
            }
        }
    }
    first.filter(|m| m.cue != Cue::Reflect).or_else(|| differently(b, at, differently_at)).or(first)
}

/// "Maybe I should think about this differently." : a change of approach announced
/// mid-sentence, within the first words (90 bytes, one sentence).
fn differently(b: &[u8], at: usize, positions: &[usize]) -> Option<CueMatch> {
    let k = positions.partition_point(|&p| p < at);
    let &p = positions.get(k)?;
    if p >= at + 90 || p > b.len() || memchr::memchr3(b'.', b'?', b'\n', &b[at..p]).is_some() {
        return None;
    }
    DIFFERENTLY.get_or_init(|| cue_at(b"let me think differently", 0)).map(|m| CueMatch { len: 0, ..m })
}

static DIFFERENTLY: std::sync::OnceLock<Option<CueMatch>> = std::sync::OnceLock::new();

/// Skips list and emphasis markup at a unit start (`**`, `- `, `> `, `#`, quotes).
fn skip_markup(b: &[u8], mut s: usize, end: usize) -> usize {
    while s < end && matches!(b[s], b'*' | b'#' | b'>' | b'"' | b'-' | b'_' | b' ' | b'\t') {
        s += 1;
    }
    s
}

fn make_unit(text: &str, span: Span, differently_at: &[usize]) -> Unit {
    let b = text.as_bytes();
    let mut e = span.end;
    while e > span.start && b[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    let content = Span::new(span.start, e);
    let at = skip_markup(b, span.start, e);
    // The cue must lie inside the content: matching on the whole text lets a phrase run past it.
    let cue = unit_cue(&b[..e], at, differently_at);
    Unit { span, content, cue, answer: None }
}

/// Does this unit compute? An `=`, a LaTeX operator, digit-operator-digit, or arithmetic in
/// words ("10 multiplied by 11") in a unit with a number. One automaton pass plus one byte pass.
fn computes(s: &[u8]) -> bool {
    static OPS: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    // patterns 0..7 compute by themselves; the rest (word stems, case-robust: no first letter)
    // only with a digit in the unit
    const STRONG: usize = 7;
    let ac = OPS.get_or_init(|| {
        aho_corasick::AhoCorasick::new([
            "=", "\\frac", "\\times", "\\cdot", "\\sqrt", "\u{00d7}", "\u{00f7}", " times ", "ultipl", "ivided", " plus ",
            " minus ", "quals", "ubtract", "alculat", "omput", " sum of ",
        ])
        .expect("valid patterns")
    });
    if memchr::memchr(b'=', s).is_some() {
        return true;
    }
    let mut has_digit = false;
    let mut i = 0;
    while i < s.len() {
        if s[i].is_ascii_digit() {
            has_digit = true;
            // digit, optional spaces, + - * / ^, optional spaces, digit
            let mut j = i + 1;
            while j < s.len() && s[j] == b' ' {
                j += 1;
            }
            if j < s.len() && matches!(s[j], b'+' | b'-' | b'*' | b'/' | b'^') {
                let mut k = j + 1;
                while k < s.len() && s[k] == b' ' {
                    k += 1;
                }
                if k < s.len() && s[k].is_ascii_digit() {
                    return true;
                }
            }
        }
        i += 1;
    }
    // LaTeX operators need a backslash, × and ÷ the byte 0xC3; word stems need a digit
    if !has_digit && memchr::memchr2(b'\\', 0xC3, s).is_none() {
        return false;
    }
    for m in ac.find_iter(s) {
        if m.pattern().as_usize() < STRONG || has_digit {
            return true;
        }
    }
    false
}

/// Lower-cased words of three or more letters.
fn words(s: &str) -> impl Iterator<Item = u64> + '_ {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 3 && (w.is_ascii() || w.chars().nth(2).is_some())).map(|w| {
        // FNV-1a over the lower-cased chars: a word's identity without allocating it
        let mut h: u64 = 0xcbf29ce484222325;
        if w.is_ascii() {
            for c in w.bytes() {
                h = (h ^ c.to_ascii_lowercase() as u64).wrapping_mul(0x100000001b3);
            }
        } else {
            for c in w.chars().flat_map(char::to_lowercase) {
                h = (h ^ c as u64).wrapping_mul(0x100000001b3);
            }
        }
        h
    })
}

/// Share of `s`'s words that occur in the problem (`problem`: sorted word hashes).
fn overlap(s: &str, problem: &[u64]) -> f64 {
    let (mut n, mut hit) = (0usize, 0usize);
    for w in words(s) {
        n += 1;
        hit += problem.binary_search(&w).is_ok() as usize;
    }
    if n == 0 {
        0.0
    } else {
        hit as f64 / n as f64
    }
}

/// Finds the answers stated in each unit (boxed, an answer phrase, or the final value as a
/// result) and stores the last one of each unit.
fn mark_answers(text: &str, units: &mut [Unit], boxed: &[answer::Boxed], hits: &[answer::Hit], final_value: Option<&str>, first_eligible: usize) {
    let b = text.as_bytes();
    let hits: Vec<&answer::Hit> = hits.iter().filter(|h| h.value.is_some()).collect();
    let mut hi = 0;
    let mut bi = 0;
    // the value as written, and its other thousands-separator form ("57500" <-> "57,500")
    let variants: Vec<String> = final_value.filter(|v| !v.is_empty() && v.len() <= 40).map(value_variants).unwrap_or_default();
    // every place the final value is stated as a result, in one pass per variant
    let mut results: Vec<Span> = Vec::new();
    if let (Some(first), Some(last)) = (units.get(first_eligible), units.last()) {
        let region = Span::new(first.span.start, last.span.end);
        for v in &variants {
            for pos in memmem::find_iter(&b[region.start..region.end], v.as_bytes()) {
                let at = region.start + pos;
                if is_result(b, at, v.len()) {
                    results.push(Span::new(at, at + v.len()));
                }
            }
        }
        results.sort_unstable();
    }
    let mut ri = 0;
    for (ui, u) in units.iter_mut().enumerate() {
        let c = u.content;
        let mut found: Option<UnitAnswer> = None;
        while bi < boxed.len() && boxed[bi].whole.start < c.start {
            bi += 1;
        }
        let mut k = bi;
        while k < boxed.len() && boxed[k].whole.end <= c.end {
            let inner = boxed[k].inner;
            if !inner.slice(text).trim().is_empty() {
                found = Some(UnitAnswer { span: inner, kind: AnswerKind::Boxed });
            }
            k += 1;
        }
        if found.is_some() {
            u.answer = found;
            continue;
        }
        // "the answer is X": the last phrase in the unit
        while hi < hits.len() && hits[hi].start < c.start {
            hi += 1;
        }
        let mut phrase_at: Option<usize> = None;
        let mut k = hi;
        while k < hits.len() && hits[k].value.is_some_and(|v| v <= c.end) {
            phrase_at = hits[k].value;
            k += 1;
        }
        if let Some(vs) = phrase_at {
            if let Some(span) = answer::value_after(&text[..c.end], vs) {
                u.answer = Some(UnitAnswer { span, kind: AnswerKind::AnswerPhrase });
                continue;
            }
        }
        if ui < first_eligible {
            continue;
        }
        while ri < results.len() && results[ri].start < c.start {
            ri += 1;
        }
        let mut last: Option<Span> = None;
        while ri < results.len() && results[ri].end <= c.end {
            last = Some(results[ri]);
            ri += 1;
        }
        if let Some(span) = last {
            u.answer = Some(UnitAnswer { span, kind: AnswerKind::Statement });
        }
    }
}

/// `v`, plus the other forms a trace writes the same value in: thousands separators
/// ("57500" / "57,500"), degrees ("45^\\circ" / "45"), fractions ("\\frac{1}{6}" / "1/6").
fn value_variants(v: &str) -> Vec<String> {
    let mut out = vec![v.to_string()];
    for suffix in ["^\\circ", "^{\\circ}", "\u{00b0}", "\\%", "%"] {
        if let Some(base) = v.strip_suffix(suffix) {
            if !base.trim().is_empty() {
                out.push(base.trim().to_string());
            }
        }
    }
    for head in ["\\frac{", "\\dfrac{", "\\tfrac{"] {
        if let Some(rest) = v.strip_prefix(head) {
            if let Some((num, den)) = rest.strip_suffix('}').and_then(|r| r.split_once("}{")) {
                if !num.contains(['{', '}']) && !den.contains(['{', '}']) {
                    out.push(format!("{num}/{den}"));
                    out.push(format!("\\frac{{{num}}}{{{den}}}"));
                }
            }
        }
    }
    if let Some((num, den)) = v.split_once('/') {
        let simple = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_alphanumeric());
        if simple(num) && simple(den) {
            out.push(format!("\\frac{{{num}}}{{{den}}}"));
        }
    }
    out.dedup();
    let (sign, digits) = v.strip_prefix('-').map_or(("", v), |d| ("-", d));
    if digits.len() >= 4 && digits.bytes().all(|c| c.is_ascii_digit()) {
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        out.push(format!("{sign}{grouped}"));
    } else if digits.contains(',') && digits.bytes().all(|c| c.is_ascii_digit() || c == b',') {
        out.push(format!("{sign}{}", digits.replace(',', "")));
    }
    out
}

/// Is the value at `b[at..at+len]` stated as a result ("= 18", "is 18", "gives $18")?
fn is_result(b: &[u8], at: usize, len: usize) -> bool {
    let end = at + len;
    let v = &b[at..end];
    // token boundaries: not inside a longer number or word
    let first = v[0];
    let last = v[len - 1];
    if at > 0 {
        let p = b[at - 1];
        if (first.is_ascii_alphanumeric() && p.is_ascii_alphanumeric()) || (p == b'.' && at > 1 && b[at - 2].is_ascii_digit()) {
            return false;
        }
    }
    if end < b.len() {
        let n = b[end];
        if last.is_ascii_alphanumeric() && n.is_ascii_alphanumeric() {
            return false;
        }
        if (n == b'.' || n == b',') && b.get(end + 1).is_some_and(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    // what precedes, past spaces and math wrappers
    let mut i = at;
    loop {
        while i > 0 && matches!(b[i - 1], b' ' | b'$' | b'{' | b'*' | b'\t') {
            i -= 1;
        }
        if i >= 2 && (&b[i - 2..i] == b"\\(" || &b[i - 2..i] == b"\\[") {
            i -= 2;
            continue;
        }
        break;
    }
    let before = &b[at.saturating_sub(64).min(i)..i];
    const LEADS: [&[u8]; 16] = [
        b"=", b" is", b" be", b" are", b" was", b" get", b" gives", b" equals", b" makes", b" earns", b" total of",
        b"\\approx", "\u{2248}".as_bytes(), b" to", b" of", b":",
    ];
    // case-insensitive `ends_with`, without allocating (this runs for every occurrence of the value)
    let ends = |l: &[u8]| before.len() >= l.len() && before[before.len() - l.len()..].eq_ignore_ascii_case(l);
    LEADS.iter().any(|l| ends(l)) && !(ends(b" to") || ends(b" of") || ends(b":")) || {
        // "to" / "of" / ":" only in "comes to", "total of", "answer:" style
        ends(b"comes to") || ends(b"amounts to") || ends(b"adds up to") || ends(b"total of")
    }
}

/// A concluding statement at the end of a solution: "So the total is 24." / "Thus x = 5."
fn statement_answer(text: &str, unit: Span) -> Option<Answer> {
    let b = text.as_bytes();
    let seg = &b[unit.start..unit.end];
    // the last sentence of the unit: after the last `.`/`?`/`\n` followed by a space or a
    // newline, with text after it (backwards SIMD search)
    let mut s = 0;
    for i in memchr::memrchr3_iter(b'.', b'?', b'\n', &seg[..seg.len().saturating_sub(2)]) {
        if matches!(seg[i + 1], b' ' | b'\n') {
            s = i + 1;
            break;
        }
    }
    while s < seg.len() && seg[s].is_ascii_whitespace() {
        s += 1;
    }
    let sent = &seg[s..];
    const OPENERS: [&[u8]; 7] = [b"so ", b"so,", b"therefore", b"thus", b"hence", b"that means", b"which means"];
    if !OPENERS.iter().any(|o| sent.len() >= o.len() && sent[..o.len()].eq_ignore_ascii_case(o)) {
        return None;
    }
    // the value after the last `=` or " is "
    let eq = memchr::memrchr(b'=', sent).map(|p| p + 1);
    let is = finder!(b" is ").find_iter(sent).last().map(|p| p + 4);
    let vs = match (eq, is) {
        (Some(a), Some(b)) => a.max(b),
        (a, b) => a.or(b)?,
    };
    let mut vs = unit.start + s + vs;
    const ADVERBS: [&[u8]; 12] = [
        b"indeed ", b"just ", b"also ", b"still ", b"exactly ", b"then ", b"now ", b"equal to ", b"actually ", b"simply ",
        b"definitely ", b"clearly ",
    ];
    loop {
        while vs < unit.end && b[vs] == b' ' {
            vs += 1;
        }
        match ADVERBS.iter().find(|a| unit.end >= vs + a.len() && b[vs..vs + a.len()].eq_ignore_ascii_case(a)) {
            Some(a) => vs += a.len(),
            None => break,
        }
    }
    let span = answer::value_after(&text[..unit.end], vs)?;
    let v = span.slice(text);
    if v.len() > 40 || !v.bytes().any(|c| c.is_ascii_digit() || c == b'\\') {
        return None;
    }
    Some(Answer { text: v.to_string(), span, kind: AnswerKind::Statement })
}

/// Emits the sections for unit boundaries `[0, r, un, ex, c, n]`.
fn sections(text: &str, units: &[Unit], bounds: [usize; 6], tail_to_conclude: bool) -> Vec<Section> {
    let kinds = [SectionKind::Restate, SectionKind::Understand, SectionKind::Explore, SectionKind::Verify, SectionKind::Conclude];
    let pos = |k: usize| if k < units.len() { units[k].span.start } else { units.last().map_or(0, |u| u.span.end) };
    let mut out: Vec<Section> = Vec::with_capacity(5);
    for (i, kind) in kinds.iter().enumerate() {
        let (a, z) = (bounds[i], bounds[i + 1]);
        let mut span = Span::new(pos(a), pos(z));
        if i == 4 && tail_to_conclude {
            span.end = text.len();
        }
        if !span.is_empty() {
            out.push(Section { kind: *kind, span });
        }
    }
    // the prompt / opening tag belong to the first section, trailing tokens to the last
    if let Some(first) = out.first_mut() {
        first.span.start = 0;
    }
    if let Some(last) = out.last_mut() {
        last.span.end = text.len();
    }
    if out.is_empty() && !text.is_empty() {
        out.push(Section { kind: SectionKind::Conclude, span: Span::new(0, text.len()) });
    }
    out
}

pub(crate) fn segment(text: &str, problem: Option<&str>, env: Envelope, mut issues: Vec<Issue>) -> Trace {
    let b = text.as_bytes();
    let r = env.reasoning;
    let mut us = if r.is_empty() { Vec::new() } else { units(text, r) };
    let n = us.len();

    let (all_boxed, unbalanced) = answer::find_boxed(text);

    // ---- the final answer: the summary first, then the reasoning's conclusion, then anywhere
    let hits = answer::answer_hits(text);
    let final_answer = answer::extract_in(text, env.summary, &all_boxed, &hits)
        .or_else(|| answer::extract_in(text, r, &all_boxed, &hits));

    // ---- restate
    // the problem's words are hashed only if some unit needs the overlap test
    let mut problem_words: Option<Vec<u64>> = None;
    let mut ri = 0;
    while ri < n.min(4) {
        let u = &us[ri];
        let cue_restate = matches!(u.cue, Some(CueMatch { cue: Cue::Restate, .. }));
        let mut ov = || match problem {
            Some(p) => {
                let words_of_problem = problem_words.get_or_insert_with(|| {
                    let mut w: Vec<u64> = words(p).collect();
                    w.sort_unstable();
                    w.dedup();
                    w
                });
                overlap(u.content.slice(text), words_of_problem)
            }
            None => 0.0,
        };
        // (the cheap test first: the overlap hashes the problem's words)
        let ok = if ri == 0 { cue_restate || ov() >= 0.5 } else { !computes(u.content.slice(text).as_bytes()) && (cue_restate || ov() >= 0.6) };
        if !ok {
            break;
        }
        ri += 1;
    }

    // ---- understand: non-computing, cue-free units, at most four
    let mut ui = ri;
    while ui < n && ui < ri + 4 && !matches!(us[ui].cue.map(|m| m.cue), Some(Cue::Alternative | Cue::Restart | Cue::Check(_) | Cue::Conclude)) && !computes(us[ui].content.slice(text).as_bytes()) {
        ui += 1;
    }
    if ui == n && n > 0 {
        // nothing ever computes (a riddle, an open question): keep explore non-empty
        ui = (ri + 1).min(n).max(ri);
    }

    // ---- answers per unit. Without a final answer (a truncated trace), the value the trace
    // keeps concluding ("So the remainder is 1.") at the end of two or more units stands in.
    let final_value = final_answer.as_ref().map(|a| a.text.clone()).or_else(|| {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let mut order: Vec<&str> = Vec::new();
        for u in &us[ri.min(n)..] {
            if let Some(a) = statement_answer(text, u.content) {
                let v = a.span.slice(text);
                let c = counts.entry(v).or_insert(0);
                if *c == 0 {
                    order.push(v);
                }
                *c += 1;
            }
        }
        let best = order.iter().map(|v| (counts[v], *v)).filter(|(c, _)| *c >= 2).max_by_key(|(c, _)| *c);
        best.map(|(_, v)| v.to_string())
    });
    mark_answers(text, &mut us, &all_boxed, &hits, final_value.as_deref(), ri);

    // ---- conclusion: the last Conclude unit after which no check or approach follows
    let mut c = n;
    let mut k = n;
    while k > 0 {
        k -= 1;
        match us[k].cue.map(|m| m.cue) {
            Some(Cue::Conclude) => {
                c = k;
                break;
            }
            Some(Cue::Alternative | Cue::Restart | Cue::Check(CheckKind::Verify | CheckKind::Substitute | CheckKind::Recompute)) => break,
            _ => {}
        }
    }
    if c == n && env.close.is_none() && n > 1 {
        // no closing tag: a last unit that boxes the answer is the conclusion
        if us[n - 1].answer.as_ref().is_some_and(|a| a.kind == AnswerKind::Boxed) {
            c = n - 1;
        }
    }

    // ---- explore ends after the first unit with an answer
    // Without any stated answer (a trace cut before it boxes one), a verification implies that
    // the unit before it reached a result: "... = 2 mod 7." then "Wait, let me check that again."
    let first_answer = (ui..c).find(|&k| us[k].answer.is_some()).or_else(|| {
        (ui + 1..c)
            .find(|&k| {
                matches!(us[k].cue.map(|m| m.cue), Some(Cue::Check(CheckKind::Verify | CheckKind::Substitute | CheckKind::Recompute)))
                    && computes(us[k - 1].content.slice(text).as_bytes())
            })
            .map(|k| k - 1)
    });
    let mut ex = first_answer.map_or(c, |k| k + 1);
    let (ri, ui) = (ri.min(c), ui.min(c));
    ex = ex.max(ui).min(c);
    let bounds = [0, ri, ui, ex, c, n];
    let tail_to_conclude = env.close.is_some() || c < n;
    let secs = sections(text, &us, bounds, tail_to_conclude);

    // ---- solutions and checks in [ui, c)
    let mut solutions: Vec<Solution> = Vec::new();
    let mut checks: Vec<Check> = Vec::new();
    enum Block {
        Sol(usize),
        Chk(usize),
    }
    let mut cur: Option<Block> = None;
    for k in ui..c {
        let u = &us[k];
        let section = if k < ex { SectionKind::Explore } else { SectionKind::Verify };
        let cue = u.cue;
        let at_verify_start = k == ex && k > ui;
        // "Hmm, that's not right." then "Let me start over.": one restart, not two. A cue right
        // after a restart that is only an announcement (under 300 bytes so far) continues it
        // (but "Alternatively, X." then "Alternatively, Y." are two approaches).
        let follows_cue = matches!(cur, Some(Block::Sol(si)) if solutions[si].restart && solutions[si].span.len() < 300);
        let starts_solution = matches!(cue.map(|m| m.cue), Some(Cue::Alternative | Cue::Restart)) && !follows_cue;
        let check_kind = match cue.map(|m| m.cue) {
            Some(Cue::Check(kind)) => Some(kind),
            Some(Cue::Reflect) => Some(CheckKind::Reflect),
            _ => None,
        };
        let phrase = cue.map_or("", |m| m.phrase());
        let strong_check = matches!(check_kind, Some(CheckKind::Verify | CheckKind::Substitute | CheckKind::Recompute | CheckKind::Reflect));
        if cur.is_none() || starts_solution || (at_verify_start && check_kind.is_none()) {
            if at_verify_start && !starts_solution {
                // after the first answer, un-cued text re-examines it
                checks.push(Check { span: u.span, kind: CheckKind::Reflect, section, cue: phrase, solution: None, answer: None });
                cur = Some(Block::Chk(checks.len() - 1));
                continue;
            }
            solutions.push(Solution {
                span: u.span,
                section,
                cue: if starts_solution { phrase } else { "" },
                restart: matches!(cue.map(|m| m.cue), Some(Cue::Restart)),
                answer: None,
                steps: vec![u.span],
                label: None,
            });
            cur = Some(Block::Sol(solutions.len() - 1));
            continue;
        }
        if let Some(kind) = check_kind {
            // after the first answer a strong cue opens a check of its own; an affirmation or a
            // negation does so only out of a running solution
            if section == SectionKind::Verify && (strong_check || matches!(cur, Some(Block::Sol(_)))) {
                checks.push(Check { span: u.span, kind, section, cue: phrase, solution: None, answer: None });
                cur = Some(Block::Chk(checks.len() - 1));
                continue;
            }
            if let Some(Block::Sol(si)) = cur {
                // a check inside a running solution (before the first answer, or an affirmation)
                checks.push(Check { span: u.span, kind, section, cue: phrase, solution: Some(si), answer: None });
                let s = &mut solutions[si];
                s.span.end = u.span.end;
                s.steps.push(u.span);
                continue;
            }
        }
        match cur {
            Some(Block::Sol(si)) => {
                let s = &mut solutions[si];
                s.span.end = u.span.end;
                s.steps.push(u.span);
            }
            Some(Block::Chk(ci)) => checks[ci].span.end = u.span.end,
            None => {}
        }
    }
    // answers of solutions and checks: the last unit answer inside, else a concluding statement
    // unit answers in text order; the last one inside a block is found by binary search
    let unit_answers: Vec<(Span, UnitAnswer)> = us[..c].iter().filter_map(|u| u.answer.map(|a| (u.span, a))).collect();
    let answer_in = |span: Span| -> Option<Answer> {
        let k = unit_answers.partition_point(|(us, _)| us.start < span.end);
        let (us, a) = unit_answers.get(k.checked_sub(1)?)?;
        span.contains(*us).then(|| a.to_answer(text))
    };
    for s in solutions.iter_mut() {
        s.answer = answer_in(s.span).or_else(|| s.steps.last().and_then(|last| {
            let content = trim_end(b, *last);
            statement_answer(text, content)
        }));
    }
    for ch in checks.iter_mut() {
        if ch.solution.is_none() {
            ch.answer = answer_in(ch.span);
        }
    }

    // ---- issues
    if unbalanced > 0 {
        issues.push(Issue {
            kind: IssueKind::UnbalancedBoxed,
            span: Span::new(text.len(), text.len()),
            message: format!("{unbalanced} \\boxed{{ whose braces never close"),
        });
    }
    let concl = secs.iter().find(|s| s.kind == SectionKind::Conclude).map(|s| s.span);
    if let Some(cs) = concl {
        let distinct: Vec<&str> = {
            let mut seen: Vec<&str> = Vec::new();
            for bx in all_boxed.iter().filter(|bx| cs.contains(bx.whole)) {
                let v = bx.inner.slice(text).trim();
                if !v.is_empty() && !seen.contains(&v) {
                    seen.push(v);
                }
            }
            seen
        };
        if distinct.len() > 1 {
            issues.push(Issue {
                kind: IssueKind::SeveralAnswers,
                span: cs,
                message: format!("the conclusion boxes {} different answers: {}", distinct.len(), distinct.join(" | ")),
            });
        }
    }
    // Truncation: a reasoning block opened and never closed, or a text that stops where no
    // complete response stops (mid-word, after a comma or an operator, inside `\boxed{`), unless
    // it stops right after its final answer ("... the answer is 18").
    let end_content = text.trim_end();
    let mut tail = end_content.chars().rev();
    let last_char = tail.next();
    let before_last = tail.next();
    let opening_quote = matches!(last_char, Some('"' | '\u{201c}')) && before_last.map_or(true, char::is_whitespace);
    // (a short value or a box: a phrase value that runs to the end is the cut text itself)
    let ends_with_answer = final_answer
        .as_ref()
        .is_some_and(|a| a.span.end + 3 >= end_content.len() && (a.kind == AnswerKind::Boxed || a.span.len() <= 24));
    let cut_sentence = !ends_with_answer
        && (opening_quote
            || last_char.is_some_and(|ch| ch.is_alphanumeric() || matches!(ch, ',' | '(' | '-' | '+' | '=' | '\\' | '{' | '^' | '_' | '%' | '&')));
    let unclosed = env.format != crate::trace::Format::Plain && env.close.is_none();
    if final_answer.is_none() {
        issues.push(Issue { kind: IssueKind::NoAnswer, span: Span::new(text.len(), text.len()), message: "no final answer found".into() });
    }
    if unclosed || cut_sentence {
        // the last line
        let start = memchr::memrchr(b'\n', end_content.as_bytes()).map_or(0, |p| p + 1);
        issues.push(Issue {
            kind: IssueKind::Truncated,
            span: Span::new(start, text.len()),
            message: if cut_sentence { "the trace stops mid-sentence".into() } else { "the reasoning never closes".into() },
        });
    }
    repetition_issues(text, &us, &mut issues);

    Trace {
        len: text.len(),
        format: env.format,
        reasoning: r,
        summary: env.summary,
        sections: secs,
        solutions,
        checks,
        final_answer,
        final_label: None,
        issues,
    }
}

fn trim_end(b: &[u8], s: Span) -> Span {
    let mut e = s.end;
    while e > s.start && b[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    Span::new(s.start, e)
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// One `repetition` issue when paragraphs (of 32+ bytes) occur three or more times: a
/// degenerate loop. Its span runs from the first third occurrence to the last repeat.
fn repetition_issues(text: &str, us: &[Unit], issues: &mut Vec<Issue>) {
    // keys are xxh3 hashes already: no need to hash them again
    let mut seen: HashMap<u64, usize, std::hash::BuildHasherDefault<IdHasher>> = HashMap::default();
    let (mut first, mut last, mut distinct, mut most) = (None::<Span>, None::<Span>, 0usize, 0usize);
    for u in us {
        let s = u.content.slice(text);
        if s.len() < 32 {
            continue;
        }
        let c = seen.entry(xxhash_rust::xxh3::xxh3_64(s.as_bytes())).or_insert(0);
        *c += 1;
        if *c >= 3 {
            first.get_or_insert(u.content);
            last = Some(u.content);
            distinct += (*c == 3) as usize;
            most = most.max(*c);
        }
    }
    if let (Some(f), Some(l)) = (first, last) {
        issues.push(Issue {
            kind: IssueKind::Repetition,
            span: Span::new(f.start, l.end),
            message: format!("{distinct} paragraph(s) occur three or more times (one {most} times): a degenerate loop"),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::parse;
    use crate::trace::SectionKind::*;

    const R1: &str = "Okay, so I need to find how much Janet makes.\n\nI think the key is to subtract what she uses first.\n\nShe has 16 - 3 - 4 = 9 eggs left, and 9 * 2 = 18 dollars.\n\nWait, let me check that again. 3 + 4 = 7 and 16 - 7 = 9. Yes, 18.\n\nAlternatively, compute 16 * 2 - 7 * 2 = 32 - 14 = 18.\n\n**Final Answer**\nJanet makes \\boxed{18} dollars.\n</think>\n\nJanet makes $\\boxed{18}$ dollars every day.";

    #[test]
    fn sections_tile_and_follow_dlcot_order() {
        let t = parse(R1, Some("Janet's ducks lay 16 eggs per day. How much does Janet make?"));
        let kinds: Vec<_> = t.sections.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, vec![Restate, Understand, Explore, Verify, Conclude]);
        let mut pos = 0;
        for s in &t.sections {
            assert_eq!(s.span.start, pos);
            pos = s.span.end;
        }
        assert_eq!(pos, R1.len());
        assert_eq!(t.final_answer.as_ref().unwrap().text, "18");
        assert_eq!(t.solutions.len(), 2, "{:#?}", t.solutions);
        assert_eq!(t.solutions[1].cue, "alternatively");
        assert_eq!(t.solutions[0].answer.as_ref().unwrap().text, "18");
        assert_eq!(t.checks.len(), 1);
        assert_eq!(t.checks[0].kind, crate::cues::CheckKind::Verify);
    }

    #[test]
    fn thousands_separators_match_the_final_value() {
        assert_eq!(super::value_variants("57500"), vec!["57500".to_string(), "57,500".to_string()]);
        assert_eq!(super::value_variants("1,234"), vec!["1,234".to_string(), "1234".to_string()]);
        assert_eq!(super::value_variants("x+1"), vec!["x+1".to_string()]);
        assert!(super::value_variants("45^\\circ").contains(&"45".to_string()));
        assert!(super::value_variants("\\dfrac{1}{6}").contains(&"1/6".to_string()));
        assert!(super::value_variants("1/6").contains(&"\\frac{1}{6}".to_string()));
        let t = parse("Okay, so I need the total.\n\nWe get 50,000 + 7,500 = 57,500.\n\nLet me check: 57,500 again.\n</think>\n\\boxed{57500}", None);
        let verify = t.sections.iter().find(|s| s.kind == Verify).expect("a verify section");
        assert!(&"Okay, so I need the total.\n\nWe get 50,000 + 7,500 = 57,500.\n\nLet me check: 57,500 again."[verify.span.start..].starts_with("Let me check"));
    }

    #[test]
    fn json_is_valid_and_complete() {
        let t = parse(R1, None);
        let v: serde_json::Value = serde_json::from_str(&t.to_json()).expect("valid JSON");
        assert_eq!(v["sections"].as_array().unwrap().len(), t.sections.len());
        assert_eq!(v["final_answer"]["text"], "18");
        assert_eq!(v["solutions"][1]["cue"], "alternatively");
        let odd = parse("quote \" back\\slash \u{1} tab\t\n\n\\boxed{\"\\n}", None);
        let v: serde_json::Value = serde_json::from_str(&odd.to_json()).expect("escapes are valid JSON");
        assert_eq!(v["final_answer"]["text"], "\"\\n");
    }

    #[test]
    fn never_panics_on_odd_inputs() {
        for s in ["", " ", "</think>", "<think>", "\\boxed{", "a\n\n\n\nb", "<\u{ff5c}Assistant\u{ff5c}>", "wait,\n\nwait,\n\n", "é\n\nÄlternatively"] {
            let t = parse(s, Some(s));
            let total: usize = t.sections.iter().map(|x| x.span.len()).sum();
            assert_eq!(total, s.len(), "{s:?}");
        }
    }
}
