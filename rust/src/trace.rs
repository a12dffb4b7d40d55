//! The trace model and the total parser's first stage: the envelope.
//!
//! A response from a reasoning model is `[chat-template prompt] [open tag] reasoning [close tag]
//! summary [end tokens]`, with any part possibly missing: R1 distills drop the opening `<think>`
//! (it was in the prompt), Sky-T1 uses `<|begin_of_thought|>`/`<|begin_of_solution|>`, truncated
//! generations never close, and raw decodes keep the template (`<｜User｜>..<｜Assistant｜>`).
//! [`parse`] locates each part by memmem search, then hands the reasoning to `segment.rs`.
//! It is total: any `&str` gives a [`Trace`]; oddities become [`Issue`]s, never errors or panics.

use crate::answer::Answer;
use crate::cues::CheckKind;
use crate::segment;
use crate::span::Span;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::sync::OnceLock;

/// How the reasoning is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `<think>..</think>` (or `<thinking>`, `◁think▷`, ...), possibly without the opening tag.
    Think,
    /// Sky-T1 / NovaSky `<|begin_of_thought|>..<|end_of_thought|><|begin_of_solution|>..`.
    ThoughtSolution,
    /// No delimiters: the whole response is reasoning.
    Plain,
}

impl Format {
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::Think => "think",
            Format::ThoughtSolution => "thought-solution",
            Format::Plain => "plain",
        }
    }
}

/// The DLCoT macro sections, in trace order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SectionKind {
    /// Problem restatement.
    Restate,
    /// Analysis before any computation.
    Understand,
    /// Solving, up to and including the first answer.
    Explore,
    /// Everything after the first answer: checks and alternative approaches.
    Verify,
    /// The final statement and answer, including the post-reasoning summary.
    Conclude,
}

impl SectionKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SectionKind::Restate => "restate",
            SectionKind::Understand => "understand",
            SectionKind::Explore => "explore",
            SectionKind::Verify => "verify",
            SectionKind::Conclude => "conclude",
        }
    }
}

/// What a parser noticed about a trace. Kinds are stable strings (see [`IssueKind::as_str`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IssueKind {
    /// The text is empty or whitespace.
    Empty,
    /// Chat-template tokens (a prompt, end-of-turn tokens) are part of the response.
    ChatTemplate,
    /// A closing tag without an opening one (normal for R1 distills, whose `<think>` is in the prompt).
    MissingOpenTag,
    /// An opening tag that is never closed.
    MissingCloseTag,
    /// More than one reasoning block.
    SeveralThinkBlocks,
    /// The trace stops mid-way (unclosed reasoning without an answer, or a cut sentence).
    Truncated,
    /// No final answer could be found.
    NoAnswer,
    /// The conclusion states several different boxed answers.
    SeveralAnswers,
    /// A `\boxed{` whose braces never close.
    UnbalancedBoxed,
    /// The same paragraph occurs three or more times (a degenerate loop).
    Repetition,
    /// The parser failed on this text (a bug: please report it); the trace holds no structure.
    InternalError,
}

impl IssueKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            IssueKind::Empty => "empty",
            IssueKind::ChatTemplate => "chat-template",
            IssueKind::MissingOpenTag => "missing-open-tag",
            IssueKind::MissingCloseTag => "missing-close-tag",
            IssueKind::SeveralThinkBlocks => "several-think-blocks",
            IssueKind::Truncated => "truncated",
            IssueKind::NoAnswer => "no-answer",
            IssueKind::SeveralAnswers => "several-answers",
            IssueKind::UnbalancedBoxed => "unbalanced-boxed",
            IssueKind::Repetition => "repetition",
            IssueKind::InternalError => "internal-error",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub kind: IssueKind,
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section {
    pub kind: SectionKind,
    pub span: Span,
}

/// One solution attempt: a contiguous run of steps in `explore` or `verify`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solution {
    pub span: Span,
    pub section: SectionKind,
    /// The cue phrase that opened it ("alternatively", "let me start over"), or "" for the first.
    pub cue: &'static str,
    /// Whether the opening cue was a restart after an error (rather than a new approach).
    pub restart: bool,
    pub answer: Option<Answer>,
    /// The steps (paragraphs, or sentences opened by a cue) the solution is made of.
    pub steps: Vec<Span>,
    /// Set by [`Trace::label`] against a reference answer.
    pub label: Option<Label>,
}

/// A solution's verdict against the reference answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// Its answer equals the reference.
    Correct,
    /// Its answer differs from the reference.
    Incorrect,
    /// It reaches no answer.
    Incomplete,
    /// The fast rules cannot tell (a symbolic check is needed).
    Undecided,
}

impl Label {
    pub fn as_str(&self) -> &'static str {
        match self {
            Label::Correct => "correct",
            Label::Incorrect => "incorrect",
            Label::Incomplete => "incomplete",
            Label::Undecided => "undecided",
        }
    }
}

/// One verification unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub span: Span,
    pub kind: CheckKind,
    pub section: SectionKind,
    pub cue: &'static str,
    /// Index into `solutions` when the check lies inside a solution's span.
    pub solution: Option<usize>,
    pub answer: Option<Answer>,
}

/// A parsed trace: spans into the text it was parsed from (which it does not own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    pub len: usize,
    pub format: Format,
    /// The reasoning (inside the think delimiters, or the whole response if there are none).
    pub reasoning: Span,
    /// What follows the reasoning (after `</think>`, inside `<|begin_of_solution|>`).
    pub summary: Span,
    pub sections: Vec<Section>,
    pub solutions: Vec<Solution>,
    pub checks: Vec<Check>,
    pub final_answer: Option<Answer>,
    /// The final answer's verdict against the reference, set by [`Trace::label`].
    pub final_label: Option<Label>,
    pub issues: Vec<Issue>,
}

/// The envelope of a response: where reasoning and summary lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub format: Format,
    pub reasoning: Span,
    /// Start of the close tag (== reasoning.end), or None.
    pub close: Option<Span>,
    pub summary: Span,
}

const THINK_TAGS: &[(&str, &str, Format)] = &[
    ("<think>", "</think>", Format::Think),
    ("<|begin_of_thought|>", "<|end_of_thought|>", Format::ThoughtSolution),
    ("<thinking>", "</thinking>", Format::Think),
    ("<thought>", "</thought>", Format::Think),
    ("<reasoning>", "</reasoning>", Format::Think),
    ("\u{25c1}think\u{25b7}", "\u{25c1}/think\u{25b7}", Format::Think),
];
const SOLUTION_TAGS: &[(&str, &str)] =
    &[("<|begin_of_solution|>", "<|end_of_solution|>"), ("<answer>", "</answer>"), ("<solution>", "</solution>")];
/// Markers after which the model's own turn begins.
const ASSISTANT_MARKERS: &[&str] = &[
    "<\u{ff5c}Assistant\u{ff5c}>",
    "<|Assistant|>",
    "<|im_start|>assistant\n",
    "<|im_start|>assistant",
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|start_header_id|>assistant<|end_header_id|>",
    "<|assistant|>\n",
    "<|assistant|>",
    "<start_of_turn>model\n",
];
/// Tokens a raw decode leaves at the end of a turn.
const END_TOKENS: &[&str] = &[
    "<\u{ff5c}end\u{2581}of\u{2581}sentence\u{ff5c}>",
    "<|end_of_sentence|>",
    "<|im_end|>",
    "<|eot_id|>",
    "<|endoftext|>",
    "<|end|>",
    "<end_of_turn>",
    "</s>",
];

/// Every delimiter in one automaton: think opens, think closes, assistant markers, solution
/// opens, solution closes (ids in that order), so the envelope costs one pass over the text.
struct Markers {
    ac: AhoCorasick,
    think_open: std::ops::Range<usize>,
    think_close: std::ops::Range<usize>,
    assistant: std::ops::Range<usize>,
    sol_open: std::ops::Range<usize>,
    sol_close: std::ops::Range<usize>,
}

fn markers() -> &'static Markers {
    static M: OnceLock<Markers> = OnceLock::new();
    M.get_or_init(|| {
        let mut pats: Vec<&str> = Vec::new();
        let range = |list: Vec<&'static str>, pats: &mut Vec<&str>| {
            let s = pats.len();
            pats.extend(list);
            s..pats.len()
        };
        let think_open = range(THINK_TAGS.iter().map(|t| t.0).collect(), &mut pats);
        let think_close = range(THINK_TAGS.iter().map(|t| t.1).collect(), &mut pats);
        let assistant = range(ASSISTANT_MARKERS.to_vec(), &mut pats);
        let sol_open = range(SOLUTION_TAGS.iter().map(|t| t.0).collect(), &mut pats);
        let sol_close = range(SOLUTION_TAGS.iter().map(|t| t.1).collect(), &mut pats);
        let ac = AhoCorasickBuilder::new().match_kind(MatchKind::LeftmostLongest).build(&pats).expect("valid markers");
        Markers { ac, think_open, think_close, assistant, sol_open, sol_close }
    })
}

/// Locates prompt, reasoning and summary.
pub(crate) fn envelope(text: &str, issues: &mut Vec<Issue>) -> Envelope {
    let b = text.as_bytes();
    let mut body = Span::new(0, b.len());
    let mk = markers();
    // (marker id, span) of every delimiter, in text order
    let found: Vec<(usize, Span)> = mk.ac.find_iter(b).map(|m| (m.pattern().as_usize(), Span::new(m.start(), m.end()))).collect();
    let first = |ids: &std::ops::Range<usize>, from: usize, to: usize| {
        found.iter().find(|(id, sp)| ids.contains(id) && sp.start >= from && sp.end <= to).copied()
    };

    // A chat-template prompt before the model's turn.
    let first_open = first(&mk.think_open, 0, b.len()).map(|(_, sp)| sp.start);
    if let Some((_, m)) = first(&mk.assistant, 0, b.len()) {
        if first_open.map_or(true, |o| m.start < o) {
            body.start = m.end;
            issues.push(Issue {
                kind: IssueKind::ChatTemplate,
                span: Span::new(0, body.start),
                message: "the response holds a chat-template prompt".into(),
            });
        }
    }
    // End-of-turn tokens (and the whitespace around them) at the end.
    let tail_start = body.end;
    loop {
        let t = text[body.start..body.end].trim_end();
        let end = body.start + t.len();
        match END_TOKENS.iter().find(|e| t.ends_with(*e)) {
            Some(e) => body.end = end - e.len(),
            None => break,
        }
    }
    if body.end < tail_start && !text[body.end..tail_start].trim().is_empty() {
        issues.push(Issue {
            kind: IssueKind::ChatTemplate,
            span: Span::new(body.end, tail_start),
            message: "the response ends with end-of-turn tokens".into(),
        });
    } else {
        body.end = tail_start;
    }

    // The reasoning delimiters: the pair whose first tag comes earliest.
    let mut best: Option<(usize, Option<Span>, Option<Span>, usize, Format)> = None;
    for (k, &(_, _, format)) in THINK_TAGS.iter().enumerate() {
        let open_id = mk.think_open.start + k;
        let close_id = mk.think_close.start + k;
        let o = first(&(open_id..open_id + 1), body.start, body.end).map(|(_, sp)| sp);
        let from = o.map_or(body.start, |o| o.end);
        let c = first(&(close_id..close_id + 1), from, body.end).map(|(_, sp)| sp);
        let first_tag = match (o, c) {
            (Some(o), _) => o.start,
            (None, Some(c)) => c.start,
            (None, None) => continue,
        };
        if best.map_or(true, |(f, ..)| first_tag < f) {
            best = Some((first_tag, o, c, open_id, format));
        }
    }
    let Some((_, open, close, open_id, format)) = best else {
        return Envelope { format: Format::Plain, reasoning: body, close: None, summary: Span::new(body.end, body.end) };
    };
    let r_start = open.map_or(body.start, |o| o.end);
    match (open, close) {
        (None, Some(c)) => issues.push(Issue {
            kind: IssueKind::MissingOpenTag,
            span: Span::new(c.start, c.start),
            message: "the reasoning has a closing tag but no opening tag (normal for R1 distills)".into(),
        }),
        (Some(o), None) => issues.push(Issue {
            kind: IssueKind::MissingCloseTag,
            span: Span::new(o.start, o.end),
            message: "the reasoning is never closed".into(),
        }),
        _ => {}
    }
    let Some(c) = close else {
        return Envelope { format, reasoning: Span::new(r_start, body.end), close: None, summary: Span::new(body.end, body.end) };
    };
    // Another reasoning block later?
    if let Some((_, p)) = first(&(open_id..open_id + 1), c.end, body.end) {
        issues.push(Issue {
            kind: IssueKind::SeveralThinkBlocks,
            span: p,
            message: "another reasoning block follows the first".into(),
        });
    }
    // The summary, unwrapped from a solution tag that opens it.
    let mut summary = Span::new(c.end, body.end);
    let lead = summary.slice(text).len() - summary.slice(text).trim_start().len();
    if let Some((id, so)) = first(&mk.sol_open, summary.start + lead, summary.end) {
        if so.start == summary.start + lead {
            summary.start = so.end;
            let close_id = mk.sol_close.start + (id - mk.sol_open.start);
            if let Some((_, sc)) = first(&(close_id..close_id + 1), summary.start, summary.end) {
                summary.end = sc.start;
            }
        }
    }
    Envelope { format, reasoning: Span::new(r_start, c.start), close: Some(c), summary }
}

impl Trace {
    /// Labels every solution against `reference` (a bare answer, or a reference solution whose
    /// boxed / `#### N` answer is taken) with the fast rules of [`crate::equiv::equivalent`].
    pub fn label(&mut self, text: &str, reference: &str) {
        let reference = crate::answer::extract_reference(reference);
        let verdict = |a: &Option<Answer>| match (a, &reference) {
            (None, _) => Label::Incomplete,
            (Some(_), None) => Label::Undecided,
            (Some(a), Some(r)) => match crate::equiv::equivalent(a.span.slice(text), r) {
                Some(true) => Label::Correct,
                Some(false) => Label::Incorrect,
                None => Label::Undecided,
            },
        };
        for s in &mut self.solutions {
            s.label = Some(verdict(&s.answer));
        }
        self.final_label = Some(verdict(&self.final_answer));
    }

    /// Index of the first solution labelled correct, if any.
    pub fn first_correct(&self) -> Option<usize> {
        self.solutions.iter().position(|s| s.label == Some(Label::Correct))
    }

    /// A trace with no structure (one `conclude` section over the whole text) and one issue;
    /// what a binding returns if parsing ever fails, so one bad trace never stops a batch.
    pub fn unparsed(text: &str, kind: IssueKind, message: String) -> Trace {
        let all = Span::new(0, text.len());
        Trace {
            len: text.len(),
            format: Format::Plain,
            reasoning: all,
            summary: Span::new(text.len(), text.len()),
            sections: if text.is_empty() { Vec::new() } else { vec![Section { kind: SectionKind::Conclude, span: all }] },
            solutions: Vec::new(),
            checks: Vec::new(),
            final_answer: None,
            final_label: None,
            issues: vec![Issue { kind, span: all, message }],
        }
    }
}

/// Parses a response into its structure. Total: never panics, whatever the input.
///
/// `problem`, when given, helps recognise the restatement of the problem.
///
/// ```
/// let t = dlcot::parse("Okay, so I need to add 2 and 3.\n\n2 + 3 = 5.\n\nWait, let me check: 5 - 3 = 2. Yes.\n</think>\n\nThe answer is \\boxed{5}.", None);
/// assert_eq!(t.final_answer.unwrap().text, "5");
/// assert_eq!(t.sections.first().unwrap().span.start, 0);
/// ```
pub fn parse(text: &str, problem: Option<&str>) -> Trace {
    let mut issues = Vec::new();
    if text.trim().is_empty() {
        issues.push(Issue { kind: IssueKind::Empty, span: Span::new(0, text.len()), message: "the response is empty".into() });
        let sections = if text.is_empty() {
            Vec::new()
        } else {
            vec![Section { kind: SectionKind::Conclude, span: Span::new(0, text.len()) }]
        };
        return Trace {
            len: text.len(),
            format: Format::Plain,
            reasoning: Span::new(0, text.len()),
            summary: Span::new(text.len(), text.len()),
            sections,
            solutions: Vec::new(),
            checks: Vec::new(),
            final_answer: None,
            final_label: None,
            issues,
        };
    }
    let env = envelope(text, &mut issues);
    segment::segment(text, problem, env, issues)
}

impl Trace {
    /// The same trace with every span converted from byte offsets to code-point indices of
    /// `text` (the text it was parsed from), as Python's `str` indexing expects.
    pub fn to_char_offsets(&self, text: &str) -> Trace {
        let ix = crate::span::CharIndex::new(text);
        let sp = |s: Span| ix.span(s);
        let ans = |a: &Option<Answer>| a.as_ref().map(|a| Answer { text: a.text.clone(), span: sp(a.span), kind: a.kind });
        Trace {
            len: ix.char_of(text.len()),
            format: self.format,
            reasoning: sp(self.reasoning),
            summary: sp(self.summary),
            sections: self.sections.iter().map(|s| Section { kind: s.kind, span: sp(s.span) }).collect(),
            solutions: self
                .solutions
                .iter()
                .map(|s| Solution {
                    span: sp(s.span),
                    section: s.section,
                    cue: s.cue,
                    restart: s.restart,
                    answer: ans(&s.answer),
                    steps: s.steps.iter().map(|&x| sp(x)).collect(),
                    label: s.label,
                })
                .collect(),
            checks: self
                .checks
                .iter()
                .map(|c| Check { span: sp(c.span), kind: c.kind, section: c.section, cue: c.cue, solution: c.solution, answer: ans(&c.answer) })
                .collect(),
            final_answer: ans(&self.final_answer),
            final_label: self.final_label,
            issues: self.issues.iter().map(|i| Issue { kind: i.kind, span: sp(i.span), message: i.message.clone() }).collect(),
        }
    }

    /// The trace as one JSON object, spans as `[start, end]` mapped through `pos` (identity
    /// for the trace's own offsets; a [`crate::CharIndex`] to get `str` indices). Written by
    /// hand into one `String`: this is the `dlcot segment` hot path.
    pub fn write_json(&self, pos: impl Fn(usize) -> usize, out: &mut String) {
        let mut nb = itoa::Buffer::new();
        let mut num = |out: &mut String, n: usize| out.push_str(nb.format(n));
        // `"key":` with a leading comma unless first
        let key = |out: &mut String, k: &str, first: bool| {
            if !first {
                out.push(',');
            }
            out.push('"');
            out.push_str(k);
            out.push_str("\":");
        };
        let word = |out: &mut String, w: &str| {
            out.push('"');
            out.push_str(w);
            out.push('"');
        };
        let steps: usize = self.solutions.iter().map(|s| s.steps.len()).sum();
        out.reserve(256 + 48 * (self.sections.len() + self.checks.len() + self.issues.len()) + 160 * self.solutions.len() + 16 * steps);
        macro_rules! span {
            ($s:expr) => {{
                let s: Span = $s;
                out.push('[');
                num(out, pos(s.start));
                out.push(',');
                num(out, pos(s.end));
                out.push(']');
            }};
        }
        macro_rules! start_end {
            ($s:expr) => {{
                let s: Span = $s;
                key(out, "start", false);
                num(out, pos(s.start));
                key(out, "end", false);
                num(out, pos(s.end));
            }};
        }
        macro_rules! answer {
            ($a:expr) => {{
                match $a {
                    Some(a) => {
                        out.push('{');
                        key(out, "text", true);
                        json_str(out, &a.text);
                        start_end!(a.span);
                        key(out, "kind", false);
                        word(out, a.kind.as_str());
                        out.push('}');
                    }
                    None => out.push_str("null"),
                }
            }};
        }
        out.push('{');
        key(out, "format", true);
        word(out, self.format.as_str());
        key(out, "length", false);
        num(out, pos(self.len));
        key(out, "reasoning", false);
        span!(self.reasoning);
        key(out, "summary", false);
        span!(self.summary);
        key(out, "final_answer", false);
        answer!(&self.final_answer);
        if self.solutions.iter().any(|s| s.label.is_some()) {
            key(out, "first_correct", false);
            match self.first_correct() {
                Some(k) => num(out, k),
                None => out.push_str("null"),
            }
        }
        key(out, "sections", false);
        out.push('[');
        for (i, s) in self.sections.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            key(out, "kind", true);
            word(out, s.kind.as_str());
            start_end!(s.span);
            out.push('}');
        }
        out.push(']');
        key(out, "solutions", false);
        out.push('[');
        for (i, s) in self.solutions.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            key(out, "start", true);
            num(out, pos(s.span.start));
            key(out, "end", false);
            num(out, pos(s.span.end));
            key(out, "section", false);
            word(out, s.section.as_str());
            key(out, "cue", false);
            json_str(out, s.cue);
            key(out, "restart", false);
            out.push_str(if s.restart { "true" } else { "false" });
            key(out, "answer", false);
            answer!(&s.answer);
            if let Some(l) = s.label {
                key(out, "label", false);
                word(out, l.as_str());
            }
            key(out, "steps", false);
            out.push('[');
            for (j, st) in s.steps.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                span!(*st);
            }
            out.push_str("]}");
        }
        out.push(']');
        key(out, "checks", false);
        out.push('[');
        for (i, c) in self.checks.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            key(out, "start", true);
            num(out, pos(c.span.start));
            key(out, "end", false);
            num(out, pos(c.span.end));
            key(out, "kind", false);
            word(out, c.kind.as_str());
            key(out, "section", false);
            word(out, c.section.as_str());
            key(out, "cue", false);
            json_str(out, c.cue);
            key(out, "solution", false);
            match c.solution {
                Some(k) => num(out, k),
                None => out.push_str("null"),
            }
            key(out, "answer", false);
            answer!(&c.answer);
            out.push('}');
        }
        out.push(']');
        key(out, "issues", false);
        out.push('[');
        for (i, is) in self.issues.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            key(out, "kind", true);
            word(out, is.kind.as_str());
            start_end!(is.span);
            key(out, "message", false);
            json_str(out, &is.message);
            out.push('}');
        }
        out.push_str("]}");
    }

    /// [`Trace::write_json`] with the trace's own offsets, as a `String`.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(|p| p, &mut out);
        out
    }
}

/// Appends `s` as a JSON string literal (RFC 8259 escapes).
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut last = 0;
    for (i, &c) in bytes.iter().enumerate() {
        // only ASCII bytes need escaping, so byte offsets here are always char boundaries
        let esc: &str = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        if esc.is_empty() {
            use std::fmt::Write;
            let _ = write!(out, "\\u{:04x}", c);
        } else {
            out.push_str(esc);
        }
        last = i + 1;
    }
    out.push_str(&s[last..]);
    out.push('"');
}
