//! Pruning policies (DLCoT, arXiv 2503.16385, and the baselines it is compared with) as edit
//! lists over a parsed trace, and re-stitching of what is kept.
//!
//! A policy is a small rule set, not a code path: whether an unsolvable trace is rejected,
//! whether redundant solutions are removed on the *main path* (solutions up to and including
//! the first correct one), and what happens to the solutions and checks after it. Adding a
//! policy is one entry in [`POLICIES`].
//!
//! Edits are byte spans of the original text, each attributed to the part that caused it (a
//! solution, a check, or stray text after the first correct solution) with a reason:
//! `redundant-of:<k>` (k: the solution or check it repeats), `incorrect`, `incomplete`,
//! `after-first-correct`. The conclusion section and the final answer's span are never cut.
//!
//! Re-stitching keeps every byte outside the edits, in order, and repairs each join: the two
//! sides are joined by one paragraph break, and a kept part that opens with a connective whose
//! antecedent was cut ("Wait, ..." right after a cut; "Alternatively, ..." when no earlier
//! solution is left) loses the connective and is capitalised. Think tags and the summary are
//! outside the reasoning and untouched.

use crate::cluster::Similarity;
use crate::span::Span;
use crate::trace::{Label, SectionKind, Trace};

/// What happens to a group of parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Keep,
    /// Keep the first member of each near-duplicate cluster, cut later ones.
    DropRedundant,
    /// Cut incorrect and incomplete solutions, then redundant ones.
    DropWrongAndRedundant,
    /// Cut everything.
    DropAll,
    /// Keep the first part that does not repeat a kept one, cut everything else.
    KeepFirstDistinct,
}

/// A pruning policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub name: &'static str,
    pub summary: &'static str,
    /// Reject traces with no correct solution ("unsolvable").
    pub reject_unsolvable: bool,
    /// Whether the policy has a main path (solutions up to the first correct one).
    pub main_path: bool,
    /// Main-path solutions (the first correct one is never cut).
    pub main_solutions: Rule,
    /// Solutions after the main path (all solutions when there is none).
    pub later_solutions: Rule,
    /// Checks after the main path (all checks when there is none).
    pub later_checks: Rule,
    /// Cut stray text between the main path and the conclusion.
    pub cut_after_text: bool,
}

pub const POLICIES: &[Policy] = &[
    Policy {
        name: "dlcot",
        summary: "DLCoT's best setting: on the main path cut repeats of earlier solutions; after it, cut incorrect, incomplete and repeated solutions and repeated checks",
        reject_unsolvable: true,
        main_path: true,
        main_solutions: Rule::DropRedundant,
        later_solutions: Rule::DropWrongAndRedundant,
        later_checks: Rule::DropRedundant,
        cut_after_text: false,
    },
    Policy {
        name: "dedup-only",
        summary: "cut every repeat of an earlier solution or check, whatever its correctness",
        reject_unsolvable: false,
        main_path: false,
        main_solutions: Rule::Keep,
        later_solutions: Rule::DropRedundant,
        later_checks: Rule::DropRedundant,
        cut_after_text: false,
    },
    Policy {
        name: "first-correct",
        summary: "keep the solutions up to the first correct one, and the conclusion",
        reject_unsolvable: true,
        main_path: true,
        main_solutions: Rule::Keep,
        later_solutions: Rule::DropAll,
        later_checks: Rule::DropAll,
        cut_after_text: true,
    },
    Policy {
        name: "first-correct-reflect",
        summary: "the first correct solution plus the first distinct verification after it (FCS+Reflection, Chen et al. 2024)",
        reject_unsolvable: true,
        main_path: true,
        main_solutions: Rule::Keep,
        later_solutions: Rule::DropAll,
        later_checks: Rule::KeepFirstDistinct,
        cut_after_text: true,
    },
    Policy {
        name: "none",
        summary: "pass-through (for baselines)",
        reject_unsolvable: false,
        main_path: false,
        main_solutions: Rule::Keep,
        later_solutions: Rule::Keep,
        later_checks: Rule::Keep,
        cut_after_text: false,
    },
];

pub fn policy(name: &str) -> Option<&'static Policy> {
    POLICIES.iter().find(|p| p.name == name)
}

/// The part an edit cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartKind {
    Solution,
    Check,
    Text,
    /// A wrong step inside a solution, found by a judge (`--fix-errors`).
    Error,
}

impl PartKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartKind::Solution => "solution",
            PartKind::Check => "check",
            PartKind::Text => "text",
            PartKind::Error => "error",
        }
    }
}

/// Why a part is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    RedundantOf(usize),
    Incorrect,
    Incomplete,
    AfterFirstCorrect,
    /// A judge found a calculation or derivation error here.
    ErrorSpan,
}

impl Reason {
    pub fn to_string_repr(self) -> String {
        match self {
            Reason::RedundantOf(k) => format!("redundant-of:{k}"),
            Reason::Incorrect => "incorrect".into(),
            Reason::Incomplete => "incomplete".into(),
            Reason::AfterFirstCorrect => "after-first-correct".into(),
            Reason::ErrorSpan => "error-span".into(),
        }
    }
}

/// One removed span of the original text (bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub kind: PartKind,
    /// Index of the solution or check (0 for text).
    pub index: usize,
    pub reason: Reason,
}

/// What became of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Pruned (possibly with nothing to cut).
    Kept,
    /// No correct solution and the policy rejects such traces.
    Unsolvable,
    /// The pruned text's final answer differed from the original's: the original is kept whole.
    AnswerChanged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Kept => "kept",
            Status::Unsolvable => "unsolvable",
            Status::AnswerChanged => "answer-changed",
        }
    }
}

/// The outcome for one trace.
#[derive(Clone, Debug)]
pub struct Pruned {
    pub status: Status,
    pub text: String,
    pub edits: Vec<Edit>,
    /// Leader of each solution's and each check's near-duplicate cluster.
    pub solution_leaders: Vec<usize>,
    pub check_leaders: Vec<usize>,
    pub first_correct: Option<usize>,
    /// Final answer of the pruned text (equal to the original's when status is Kept).
    pub final_answer: Option<String>,
    /// Reasoning and summary of `text` (byte spans), for the SFT assistant turn.
    pub reasoning: Span,
    pub summary: Span,
    /// Byte offsets in `text` where kept parts were joined over a cut (for smoothing).
    pub joins: Vec<usize>,
}

/// Python's `str.isspace`, for stripping exactly as Python's `str.strip()` does.
pub fn py_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\u{1c}'..='\u{20}' | '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
}

impl Pruned {
    /// The SFT assistant turn: `<think>\n{reasoning}\n</think>` plus `\n\n{summary}` when there
    /// is one, each part stripped of surrounding whitespace (as Python's `str.strip`).
    pub fn assistant_turn(&self) -> String {
        let r = self.text[self.reasoning.start..self.reasoning.end].trim_matches(py_space);
        let s = self.text[self.summary.start..self.summary.end].trim_matches(py_space);
        let mut out = String::with_capacity(r.len() + s.len() + 24);
        out.push_str("<think>\n");
        out.push_str(r);
        out.push_str("\n</think>");
        if !s.is_empty() {
            out.push_str("\n\n");
            out.push_str(s);
        }
        out
    }
}

/// Options of one pruning run.
#[derive(Clone, Debug)]
pub struct Options {
    pub policy: &'static Policy,
    pub keep_unsolvable: bool,
    pub threshold: f64,
    pub similarity: Similarity,
}

/// Decisions made outside the rules (by the judging layer), which a prune takes as given.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// Leader of each solution's near-duplicate cluster (instead of the lexical clustering).
    pub solution_leaders: Option<Vec<usize>>,
    /// Leader of each check's cluster.
    pub check_leaders: Option<Vec<usize>>,
    /// Wrong steps: (solution index, byte span inside it). On the main path of a policy that
    /// has one only the span's sentences are cut; after it the whole solution is cut as
    /// incorrect (DLCoT's rule). Policies without a main path ignore them.
    pub error_spans: Vec<(usize, Span)>,
}

/// Whether `leaders` is a valid leader list for `n` parts: each part's leader is itself or an
/// earlier part that leads its own cluster.
pub fn valid_leaders(leaders: &[usize], n: usize) -> bool {
    leaders.len() == n && leaders.iter().enumerate().all(|(i, &l)| l <= i && leaders[l] == l)
}

/// The whole sentences of `within` that `span` touches: back to just after the last sentence
/// end (`. `, `? `, `! ` or a newline) before it, on to just after the first one after it.
pub fn sentence_cover(text: &str, span: Span, within: Span) -> Span {
    let b = text.as_bytes();
    let lo = within.start.min(text.len());
    let hi = within.end.min(text.len()).max(lo);
    let (s0, e0) = (span.start.clamp(lo, hi), span.end.clamp(lo, hi));
    let ends_sentence = |i: usize| -> bool {
        // a sentence ends at b[i] when it is a newline, or .?! followed by whitespace
        b[i] == b'\n' || (matches!(b[i], b'.' | b'?' | b'!') && (i + 1 >= hi || b[i + 1].is_ascii_whitespace()))
    };
    let mut start = s0;
    while start > lo && !ends_sentence(start - 1) {
        start -= 1;
    }
    while start < s0 && b[start].is_ascii_whitespace() {
        start += 1;
    }
    let mut end = e0;
    while end < hi && !(end > s0 && ends_sentence(end - 1)) {
        end += 1;
    }
    // stay on char boundaries (the scan moves over ASCII bytes only at its stops)
    while start > lo && !text.is_char_boundary(start) {
        start -= 1;
    }
    while end < hi && !text.is_char_boundary(end) {
        end += 1;
    }
    Span::new(start, end.max(start))
}

/// Cuts `trace` (parsed from `text`, labelled) by `opts.policy` and stitches what is kept.
pub fn prune(text: &str, trace: &Trace, opts: &Options) -> Pruned {
    prune_with(text, trace, opts, &Overrides::default())
}

/// [`prune`] with decisions from outside the rules (clusters, error spans).
pub fn prune_with(text: &str, trace: &Trace, opts: &Options, over: &Overrides) -> Pruned {
    let sols = &trace.solutions;
    let checks = &trace.checks;
    let fc = main_path_end(trace);
    let p = opts.policy;
    let no_leaders = |n: usize| -> Vec<usize> { (0..n).collect() };
    let unchanged = |status| Pruned {
        status,
        text: text.to_string(),
        edits: Vec::new(),
        solution_leaders: no_leaders(sols.len()),
        check_leaders: no_leaders(checks.len()),
        first_correct: fc,
        final_answer: trace.final_answer.as_ref().map(|a| a.text.clone()),
        reasoning: trace.reasoning,
        summary: trace.summary,
        joins: Vec::new(),
    };
    let solvable = fc.is_some() || trace.final_label == Some(Label::Correct);
    if !solvable && p.reject_unsolvable && !opts.keep_unsolvable {
        return unchanged(Status::Unsolvable);
    }
    // Without a correct solution a main-path policy falls back to cutting repeats only.
    let (main_end, main_rule, later_sol, later_chk, cut_text) = match (p.main_path, fc) {
        (true, Some(f)) => (Some(f), p.main_solutions, p.later_solutions, p.later_checks, p.cut_after_text),
        (true, None) => (None, Rule::Keep, Rule::DropRedundant, Rule::DropRedundant, false),
        (false, _) => (None, Rule::Keep, p.later_solutions, p.later_checks, false),
    };
    // near-duplicate clusters, only where a rule looks at them
    let clustered = |r: Rule| matches!(r, Rule::DropRedundant | Rule::DropWrongAndRedundant | Rule::KeepFirstDistinct);
    let solution_leaders = if let Some(l) = over.solution_leaders.as_ref().filter(|l| valid_leaders(l, sols.len())) {
        l.clone()
    } else if clustered(main_rule) || clustered(later_sol) {
        let texts: Vec<&str> = sols.iter().map(|s| &text[s.span.start..s.span.end]).collect();
        opts.similarity.cluster(&texts, opts.threshold).0
    } else {
        no_leaders(sols.len())
    };
    let check_leaders = if let Some(l) = over.check_leaders.as_ref().filter(|l| valid_leaders(l, checks.len())) {
        l.clone()
    } else if clustered(later_chk) {
        let texts: Vec<&str> = checks.iter().map(|c| &text[c.span.start..c.span.end]).collect();
        opts.similarity.cluster(&texts, opts.threshold).0
    } else {
        no_leaders(checks.len())
    };
    let unchanged = |status| Pruned { solution_leaders: solution_leaders.clone(), check_leaders: check_leaders.clone(), ..unchanged(status) };

    let mut cuts: Vec<Edit> = Vec::new();
    let mut sol_cut = vec![false; sols.len()];
    // first kept member of each solution cluster
    let mut kept_of_cluster: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let has_error = |i: usize| main_end.is_some() && over.error_spans.iter().any(|&(k, _)| k == i);
    for (i, s) in sols.iter().enumerate() {
        let on_main = main_end.is_some_and(|f| i <= f);
        let rule = if on_main { main_rule } else { later_sol };
        let leader = solution_leaders[i];
        let repeat_of = kept_of_cluster.get(&leader).copied();
        let reason = match rule {
            _ if !on_main && has_error(i) && rule != Rule::DropAll && rule != Rule::KeepFirstDistinct => Some(Reason::Incorrect),
            Rule::Keep => None,
            _ if main_end == Some(i) => None, // the first correct solution is never cut
            Rule::DropAll | Rule::KeepFirstDistinct => Some(Reason::AfterFirstCorrect),
            Rule::DropRedundant => repeat_of.map(Reason::RedundantOf),
            Rule::DropWrongAndRedundant => match s.label {
                Some(Label::Incorrect) => Some(Reason::Incorrect),
                Some(Label::Incomplete) => Some(Reason::Incomplete),
                _ => repeat_of.map(Reason::RedundantOf),
            },
        };
        match reason {
            Some(r) => {
                sol_cut[i] = true;
                cuts.push(Edit { span: s.span, kind: PartKind::Solution, index: i, reason: r });
            }
            None => {
                kept_of_cluster.entry(leader).or_insert(i);
            }
        }
    }
    // wrong steps on the main path: only their sentences go
    if let Some(f) = main_end {
        for &(i, span) in &over.error_spans {
            if i <= f && i < sols.len() && !sol_cut[i] {
                let cover = sentence_cover(text, span, sols[i].span);
                if cover.end > cover.start {
                    cuts.push(Edit { span: cover, kind: PartKind::Error, index: i, reason: Reason::ErrorSpan });
                }
            }
        }
    }
    let main_span_end = main_end.map(|f| sols[f].span.end);
    let mut kept_chk_of_cluster: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut protected: Vec<Span> = Vec::new();
    let mut first_distinct_taken = false;
    for (i, c) in checks.iter().enumerate() {
        let in_cut_solution = c.solution.is_some_and(|k| sol_cut[k]);
        let later = match main_span_end {
            Some(e) => c.span.start >= e,
            None => true,
        };
        let rule = if later { later_chk } else { Rule::Keep };
        let leader = check_leaders[i];
        let repeat_of = kept_chk_of_cluster.get(&leader).copied();
        let reason = match rule {
            Rule::Keep => None,
            Rule::DropAll => Some(Reason::AfterFirstCorrect),
            Rule::DropRedundant | Rule::DropWrongAndRedundant => repeat_of.map(Reason::RedundantOf),
            Rule::KeepFirstDistinct => {
                if !first_distinct_taken && repeat_of.is_none() {
                    first_distinct_taken = true;
                    protected.push(c.span);
                    None
                } else {
                    Some(Reason::AfterFirstCorrect)
                }
            }
        };
        match reason {
            Some(r) if !in_cut_solution => cuts.push(Edit { span: c.span, kind: PartKind::Check, index: i, reason: r }),
            Some(_) => {}
            None => {
                if !in_cut_solution || protected.last() == Some(&c.span) {
                    kept_chk_of_cluster.entry(leader).or_insert(i);
                }
            }
        }
    }
    // stray text between the main path and the conclusion
    let conclude_start = trace.sections.iter().find(|s| s.kind == SectionKind::Conclude).map(|s| s.span.start);
    if let (true, Some(e)) = (cut_text, main_span_end) {
        let stop = conclude_start.unwrap_or(trace.reasoning.end).max(e);
        if stop > e {
            cuts.push(Edit { span: Span::new(e, stop), kind: PartKind::Text, index: 0, reason: Reason::AfterFirstCorrect });
        }
    }
    // never cut the conclusion, the final answer, or a part kept on purpose
    if let Some(cs) = trace.sections.iter().find(|s| s.kind == SectionKind::Conclude) {
        protected.push(cs.span);
    }
    if let Some(a) = &trace.final_answer {
        protected.push(paragraph_of(text, a.span));
    }
    protected.push(Span::new(0, trace.reasoning.start));
    protected.push(Span::new(trace.reasoning.end, text.len()));
    let edits = resolve(cuts, &protected);
    if edits.is_empty() {
        return unchanged(Status::Kept);
    }
    let (stitched, joins) = stitch(text, trace, &edits, sols);
    let again = crate::trace::parse(&stitched, None);
    let before = trace.final_answer.as_ref().map(|a| a.text.as_str());
    let after = again.final_answer.as_ref().map(|a| a.text.as_str());
    let same = match (before, after) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b || crate::equiv::equivalent(a, b) == Some(true),
        _ => false,
    };
    if !same {
        return unchanged(Status::AnswerChanged);
    }
    Pruned {
        status: Status::Kept,
        text: stitched,
        edits,
        solution_leaders,
        check_leaders,
        first_correct: fc,
        final_answer: after.map(str::to_string),
        reasoning: again.reasoning,
        summary: again.summary,
        joins,
    }
}

/// Where the main path ends: the first solution labelled correct; or, when none is but the
/// final answer is, the last solution before the conclusion (it reached the answer the
/// conclusion states without stating it in a form the labels read).
pub fn main_path_end(trace: &Trace) -> Option<usize> {
    trace.first_correct().or_else(|| {
        if trace.final_label != Some(Label::Correct) {
            return None;
        }
        let conclude = trace.sections.iter().find(|s| s.kind == SectionKind::Conclude).map_or(trace.len, |s| s.span.start);
        trace.solutions.iter().rposition(|s| s.span.start < conclude)
    })
}

/// The blank-line paragraph holding `span`.
fn paragraph_of(text: &str, span: Span) -> Span {
    let start = memchr::memmem::rfind(&text.as_bytes()[..span.start], b"\n\n").map_or(0, |i| i + 2);
    let end = memchr::memmem::find(&text.as_bytes()[span.end..], b"\n\n").map_or(text.len(), |i| span.end + i);
    Span::new(start, end)
}

/// Turns attributed cuts into disjoint edit spans: earlier-listed cuts win where cuts overlap
/// (solutions before checks before text), and protected spans are never cut.
fn resolve(cuts: Vec<Edit>, protected: &[Span]) -> Vec<Edit> {
    use std::collections::BTreeMap;
    // disjoint taken intervals, start -> end
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    let mut prot: Vec<Span> = protected.iter().copied().filter(|s| s.end > s.start).collect();
    prot.sort_by_key(|s| s.start);
    for s in prot {
        match taken.iter_mut().next_back() {
            Some((_, end)) if *end >= s.start => *end = (*end).max(s.end),
            _ => {
                taken.insert(s.start, s.end);
            }
        }
    }
    let mut out: Vec<Edit> = Vec::new();
    for cut in cuts {
        let (s, e) = (cut.span.start, cut.span.end);
        // taken intervals overlapping [s, e), in order
        let mut overlapping: Vec<(usize, usize)> = taken.range(..e).rev().take_while(|(_, &te)| te > s).map(|(&a, &b)| (a, b)).collect();
        overlapping.reverse();
        let mut pos = s;
        let mut pieces = Vec::new();
        for (a, b) in overlapping {
            if a > pos {
                pieces.push(Span::new(pos, a));
            }
            pos = pos.max(b);
        }
        if pos < e {
            pieces.push(Span::new(pos, e));
        }
        for piece in pieces {
            taken.insert(piece.start, piece.end);
            out.push(Edit { span: piece, ..cut.clone() });
        }
    }
    out.sort_by_key(|e| (e.span.start, e.span.end));
    out
}

/// Connectives that point back at what came just before.
const BACK_REFERENCES: &[&str] = &[
    "but wait,", "but wait.", "but wait", "oh wait,", "oh, wait,", "no, wait,", "hmm, wait,", "wait, wait,", "wait,", "wait.", "wait -", "wait:",
];
/// Connectives that announce another approach to an earlier one.
const ALTERNATIVES: &[&str] = &["alternatively,", "alternatively", "another approach:", "another way:", "or, alternatively,"];

fn strip_connective<'a>(s: &'a str, list: &[&str]) -> Option<&'a str> {
    let lower: String = s.chars().take(24).collect::<String>().to_lowercase();
    for c in list {
        if lower.starts_with(c) && s.is_char_boundary(c.len()) {
            let rest = s[c.len()..].trim_start();
            if !rest.is_empty() {
                return Some(rest);
            }
        }
    }
    None
}

fn capitalise(s: &str) -> String {
    let mut cs = s.chars();
    match cs.next() {
        Some(c) if c.is_lowercase() => c.to_uppercase().chain(cs).collect(),
        _ => s.to_string(),
    }
}

/// The kept bytes in order, joins repaired; and where each join is in the output (the start of
/// the part after a cut).
fn stitch(text: &str, trace: &Trace, edits: &[Edit], sols: &[crate::trace::Solution]) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut joins = Vec::new();
    let mut pos = 0;
    let mut after_cut = false;
    let mut inline = false; // the last cut was a wrong step inside a paragraph
    let mut chunks: Vec<(usize, usize, bool, bool)> = Vec::new(); // (start, end, follows a cut, inline join)
    for e in edits {
        if e.span.start > pos {
            chunks.push((pos, e.span.start, after_cut, inline));
        }
        let b = text.as_bytes();
        inline = e.kind == PartKind::Error
            && e.span.start > 0
            && b[e.span.start - 1] != b'\n'
            && e.span.end < text.len()
            && !text[e.span.end..].trim_start_matches([' ', '\t']).starts_with('\n');
        pos = pos.max(e.span.end);
        after_cut = true;
    }
    if pos < text.len() {
        chunks.push((pos, text.len(), after_cut, inline));
    }
    // where the first solution that survives starts: a kept part at or before it has no
    // earlier approach to be an alternative to
    let cut_solutions: std::collections::HashSet<usize> =
        edits.iter().filter(|e| e.kind == PartKind::Solution && e.span.start == sols[e.index].span.start).map(|e| e.index).collect();
    let first_kept = sols.iter().enumerate().find(|(i, _)| !cut_solutions.contains(i)).map_or(usize::MAX, |(_, s)| s.span.start);
    for (n, &(start, end, follows_cut, inline)) in chunks.iter().enumerate() {
        let mut piece = &text[start..end];
        if n > 0 && follows_cut && inline {
            // a wrong step cut from inside a paragraph: the sentences around it meet with a space
            let trimmed_len = out.trim_end().len();
            out.truncate(trimmed_len);
            out.push(' ');
            joins.push(out.len());
            out.push_str(piece.trim_start());
            continue;
        }
        if n > 0 && follows_cut {
            // one paragraph break at the join
            let trimmed_len = out.trim_end().len();
            out.truncate(trimmed_len);
            let rest = piece.trim_start();
            let at_reasoning = start < trace.reasoning.end;
            if at_reasoning && !out.is_empty() {
                out.push_str("\n\n");
            } else if !out.is_empty() {
                out.push('\n');
            }
            piece = rest;
            joins.push(out.len());
            if at_reasoning {
                let no_solution_before = start <= first_kept;
                let repaired = strip_connective(piece, BACK_REFERENCES)
                    .or_else(|| if no_solution_before { strip_connective(piece, ALTERNATIVES) } else { None });
                if let Some(r) = repaired {
                    out.push_str(&capitalise(r));
                    continue;
                }
            }
        }
        out.push_str(piece);
    }
    (out, joins)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::parse;

    fn run(text: &str, reference: &str, policy_name: &str) -> Pruned {
        let mut t = parse(text, None);
        t.label(text, reference);
        let opts = Options { policy: policy(policy_name).unwrap(), keep_unsolvable: false, threshold: 0.5, similarity: Similarity::new(3, 24).unwrap() };
        prune(text, &t, &opts)
    }

    const TRACE: &str = "<think>\nOkay, so I need to find 6 times 7.\n\n6 times 7 is 6 * 7 = 42, so the answer is 42.\n\nWait, let me check: 7 * 6 = 42. Yes.\n\nAlternatively, 6 * 7 = 6 * 5 + 6 * 2 = 30 + 12 = 42, so the answer is 42.\n\nAlternatively, maybe it is 6 + 7 = 13, so the answer is 13.\n\nWait, let me check: 7 * 6 = 42. Yes.\n\n**Final Answer**\nThe answer is \\boxed{42}.\n</think>\n\nThe product is $\\boxed{42}$.";

    #[test]
    fn policies_cut_what_they_say() {
        let none = run(TRACE, "42", "none");
        assert_eq!(none.text, TRACE);
        assert!(none.edits.is_empty());
        let fc = run(TRACE, "42", "first-correct");
        assert_eq!(fc.status, Status::Kept);
        assert!(fc.text.starts_with("<think>\nOkay, so I need to find 6 times 7.\n\n6 times 7 is 6 * 7 = 42"));
        assert!(!fc.text.contains("Alternatively"), "{}", fc.text);
        assert!(fc.text.ends_with("**Final Answer**\nThe answer is \\boxed{42}.\n</think>\n\nThe product is $\\boxed{42}$."), "{}", fc.text);
        assert_eq!(fc.final_answer.as_deref(), Some("42"));
        let d = run(TRACE, "42", "dlcot");
        assert!(d.edits.iter().any(|e| e.reason == Reason::Incorrect && e.kind == PartKind::Solution));
        assert!(!d.text.contains("6 + 7 = 13"));
        // the repeated check is cut as a repeat of the first one
        assert!(d.edits.iter().any(|e| e.kind == PartKind::Check && matches!(e.reason, Reason::RedundantOf(0))), "{:?}", d.edits);
        assert!(d.text.contains("30 + 12 = 42"));
        for e in &d.edits {
            assert!(e.span.end <= TRACE.len() && TRACE.is_char_boundary(e.span.start));
        }
        let u = run(TRACE, "41", "dlcot");
        assert_eq!(u.status, Status::Unsolvable);
        assert_eq!(run(TRACE, "41", "dedup-only").status, Status::Kept);
    }

    #[test]
    fn a_conclusion_with_the_answer_makes_a_trace_solvable() {
        let t = "<think>\nWe need the product of 6 and 7.\n\nMultiplying, six sevens make forty-two.\n\n**Final Answer**\n\\boxed{42}\n</think>\n\n\\boxed{42}";
        // no solution at all, a correct conclusion: solvable, nothing to cut
        let p = run(t, "42", "first-correct");
        assert_eq!(p.status, Status::Kept);
        assert_eq!((p.first_correct, p.edits.len()), (None, 0));
        assert_eq!(run(t, "41", "first-correct").status, Status::Unsolvable);
        // a solution that states no answer, then a conclusion that states the right one
        let t2 = "<think>\nWe need 6 times 7.\n\nAlternatively, think of six sevens: seven, fourteen, and so on up to forty-two.\n\n**Final Answer**\n\\boxed{42}\n</think>\n\n\\boxed{42}";
        let mut tr = crate::trace::parse(t2, None);
        tr.label(t2, "42");
        if !tr.solutions.is_empty() && tr.first_correct().is_none() {
            assert_eq!(main_path_end(&tr), Some(tr.solutions.len() - 1));
        }
    }

    #[test]
    fn error_spans_cut_sentences_on_the_main_path_and_solutions_after_it() {
        let text = "We need 2+3.\n\nFirst, 2+3 = 6. So the sum is 5 after all. The answer is 5.\n\nAlternatively, count: 2+3 = 7, so 7.\n\n**Final Answer**\n\\boxed{5}";
        let mut t = parse(text, None);
        t.label(text, "5");
        let opts = Options { policy: policy("dlcot").unwrap(), keep_unsolvable: false, threshold: 0.5, similarity: Similarity::new(3, 24).unwrap() };
        let f = main_path_end(&t).expect("a correct solution");
        let wrong = text.find("2+3 = 6").unwrap();
        let mut errors = vec![(f, Span::new(wrong, wrong + 7))];
        if t.solutions.len() > f + 1 {
            let later = &t.solutions[f + 1];
            errors.push((f + 1, Span::new(later.span.start + 2, later.span.start + 5)));
        }
        let p = prune_with(text, &t, &opts, &Overrides { error_spans: errors.clone(), ..Default::default() });
        assert_eq!(p.status, Status::Kept);
        assert!(!p.text.contains("2+3 = 6"), "{}", p.text);
        assert!(p.text.contains("So the sum is 5 after all."), "{}", p.text);
        assert!(p.edits.iter().any(|e| e.kind == PartKind::Error && e.reason == Reason::ErrorSpan));
        // the cut sentence was inside a paragraph: its neighbours are joined by a space
        assert!(p.text.contains("We need 2+3.\n\nSo the sum is 5 after all. The answer is 5."), "{:?}", p.text);
        if errors.len() > 1 {
            assert!(p.edits.iter().any(|e| e.kind == PartKind::Solution && e.index == f + 1 && e.reason == Reason::Incorrect));
        }
        // a policy without a main path ignores them
        let none = Options { policy: policy("none").unwrap(), ..opts.clone() };
        assert!(prune_with(text, &t, &none, &Overrides { error_spans: errors, ..Default::default() }).edits.is_empty());
    }

    #[test]
    fn overridden_leaders_are_used_when_valid() {
        let text = "Compute 1+1.\n\nAdding gives 2.\n\nAlternatively, counting on fingers gives 2.\n\n**Final Answer**\n\\boxed{2}";
        let mut t = parse(text, None);
        t.label(text, "2");
        let n = t.solutions.len();
        let opts = Options { policy: policy("dedup-only").unwrap(), keep_unsolvable: false, threshold: 0.5, similarity: Similarity::new(3, 24).unwrap() };
        let all_one: Vec<usize> = vec![0; n];
        let p = prune_with(text, &t, &opts, &Overrides { solution_leaders: Some(all_one.clone()), ..Default::default() });
        assert_eq!(p.solution_leaders, all_one);
        if n > 1 {
            assert!(p.edits.iter().any(|e| e.reason == Reason::RedundantOf(0)));
        }
        // invalid lists (a leader after its member, wrong length) fall back to the rules
        let bad: Vec<usize> = (0..n).map(|i| n - 1 - i).collect();
        let q = prune_with(text, &t, &opts, &Overrides { solution_leaders: Some(bad), ..Default::default() });
        assert_eq!(q.solution_leaders, prune(text, &t, &opts).solution_leaders);
        assert!(!valid_leaders(&[0, 2, 2], 3) && valid_leaders(&[0, 0, 2], 3) && !valid_leaders(&[0], 2));
    }

    #[test]
    fn sentence_cover_stays_in_bounds_and_on_char_boundaries() {
        let t = "Héllo wörld. Ünïcode 3.5 here! Next";
        let w = Span::new(0, t.len());
        for s in 0..=t.len() {
            for e in s..=t.len() {
                let c = sentence_cover(t, Span::new(s, e), w);
                assert!(c.start <= c.end && c.end <= t.len() && t.is_char_boundary(c.start) && t.is_char_boundary(c.end));
            }
        }
        let i = t.find("3.5").unwrap();
        let c = sentence_cover(t, Span::new(i, i + 3), w);
        assert_eq!(&t[c.start..c.end], "Ünïcode 3.5 here!");
    }

    #[test]
    fn joins_are_repaired() {
        let t = "<think>\nWe need 2+2.\n\n2+2 = 4, so the answer is 4.\n\nAlternatively, 2+2 = 5, so the answer is 5.\n\nWait, that was wrong, so 4.\n\n**Final Answer**\n\\boxed{4}\n</think>\n\n\\boxed{4}";
        let d = run(t, "4", "first-correct");
        assert!(!d.text.contains("Wait, that"), "{}", d.text);
        assert!(d.text.contains("2+2 = 4, so the answer is 4.\n\n**Final Answer**"), "{}", d.text);
    }
}
