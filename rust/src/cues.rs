//! The cue lexicon: the phrases with which reasoning models open a new step of a given kind.
//!
//! Drawn from the real R1, R1-distill, QwQ and Sky-T1 traces in the developers' set (the most
//! frequent paragraph openings were counted; see `bench/README.md`), and from the DLCoT paper's
//! description of a long CoT: restatement, approach exploration ("Alternatively, ..."),
//! verification ("Wait, let me check ...") and summary. Matching is ASCII-case-insensitive (the
//! DeltaBench traces are partly lower-cased) and anchored at a paragraph or sentence start; one
//! Aho-Corasick DFA holds every phrase, with the typographic apostrophe variant added for each
//! phrase containing `'`.

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};
use std::sync::OnceLock;

/// What a cue announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cue {
    /// Restating the problem ("Okay, so I need to find ...").
    Restate,
    /// A new approach ("Alternatively", "Another way", "Let me try a different method").
    Alternative,
    /// Abandoning the current line after an error ("Wait, that's wrong", "Let me start over").
    Restart,
    /// A verification unit of the given kind.
    Check(CheckKind),
    /// A turn back to re-examine ("Wait,", "Hmm,", "Hold on"): starts a check after the first
    /// answer, and is part of the running solution before it.
    Reflect,
    /// The closing statement ("**Final Answer**", "In conclusion", "So the answer is").
    Conclude,
}

/// The kind of a verification unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// An explicit check: "Let me verify", "Double-check", "To confirm".
    Verify,
    /// Substituting the result back: "Plugging back in", "Let me substitute".
    Substitute,
    /// Redoing a computation: "Let me recalculate", "Let me go through it again".
    Recompute,
    /// Self-affirmation: "Yes, that checks out", "That makes sense".
    Affirm,
    /// Self-negation / redundancy noticed: "We already did that", "Same as before".
    Negate,
    /// Re-examination opened by "Wait," / "Hmm," / "Hold on" after an answer exists.
    Reflect,
}

impl Cue {
    /// Strong cues open a new block wherever they start a sentence: a new approach, a restart,
    /// the conclusion, or an explicit check (verify, substitute, recompute).
    pub fn is_strong(&self) -> bool {
        matches!(
            self,
            Cue::Alternative | Cue::Restart | Cue::Conclude | Cue::Check(CheckKind::Verify | CheckKind::Substitute | CheckKind::Recompute)
        )
    }
}

impl CheckKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckKind::Verify => "verify",
            CheckKind::Substitute => "substitute",
            CheckKind::Recompute => "recompute",
            CheckKind::Affirm => "affirm",
            CheckKind::Negate => "negate",
            CheckKind::Reflect => "reflect",
        }
    }
}

use CheckKind::{Affirm, Negate, Recompute, Substitute, Verify};
use Cue::*;

/// The lexicon. Longest match wins, so "wait, let me check" (a check) beats "wait," (reflect).
pub const CUES: &[(&str, Cue)] = &[
    // --- restatement (only looked for in the first paragraphs) ---
    ("okay, so i need to", Restate),
    ("okay, so i have", Restate),
    ("okay, so i've got", Restate),
    ("okay, so the problem", Restate),
    ("okay, so the question", Restate),
    ("okay, let's see", Restate),
    ("okay, let me", Restate),
    ("okay, so", Restate),
    ("alright, so i", Restate),
    ("alright, let's", Restate),
    ("alright, let me", Restate),
    ("alright, so", Restate),
    ("so i have this problem", Restate),
    ("so i've got this problem", Restate),
    ("so i've got this", Restate),
    ("so i need to", Restate),
    ("so, i need to", Restate),
    ("so the problem", Restate),
    ("so, the problem", Restate),
    ("i have this problem", Restate),
    ("i've got this problem", Restate),
    ("i need to find", Restate),
    ("i need to figure out", Restate),
    ("i need to determine", Restate),
    ("i need to solve", Restate),
    ("i need to calculate", Restate),
    ("i need to compute", Restate),
    ("i have to find", Restate),
    ("first, i need to", Restate),
    ("first, i need to understand", Restate),
    ("let's tackle", Restate),
    ("let me tackle", Restate),
    ("let me read", Restate),
    ("let me parse", Restate),
    ("let me restate", Restate),
    ("let's restate", Restate),
    ("let me understand the problem", Restate),
    ("first, let me understand", Restate),
    ("first, let's understand", Restate),
    ("the problem says", Restate),
    ("the problem states", Restate),
    ("the problem asks", Restate),
    ("the problem is", Restate),
    ("the question is", Restate),
    ("the question asks", Restate),
    ("we need to find", Restate),
    ("we need to determine", Restate),
    ("we are given", Restate),
    ("we're given", Restate),
    ("i'm given", Restate),
    ("i'm trying to", Restate),
    ("hmm, so i", Restate),
    ("hmm, the problem", Restate),
    // --- a new approach ---
    ("alternatively", Alternative),
    ("alternative approach", Alternative),
    ("an alternative approach", Alternative),
    ("another approach", Alternative),
    ("another way", Alternative),
    ("another method", Alternative),
    ("another idea", Alternative),
    ("another strategy", Alternative),
    ("another thought", Alternative),
    ("a different approach", Alternative),
    ("a better approach", Alternative),
    ("a better way", Alternative),
    ("a different way", Alternative),
    ("a simpler way", Alternative),
    ("a simpler approach", Alternative),
    ("let me try a different", Alternative),
    ("let me try another approach", Alternative),
    ("let me try another method", Alternative),
    ("let me try another way", Alternative),
    ("let me try another angle", Alternative),
    ("let me try another strategy", Alternative),
    ("let me try to think differently", Alternative),
    ("let me try to think about the problem differently", Alternative),
    ("let me try to think about this differently", Alternative),
    ("let me try to approach it differently", Alternative),
    ("let me try to approach this differently", Alternative),
    ("maybe i need to think differently", Alternative),
    ("maybe i need to approach this differently", Alternative),
    ("perhaps i need to think differently", Alternative),
    ("i need to think differently", Alternative),
    ("let's think about it differently", Alternative),
    ("let me try something else", Alternative),
    ("let me try a new", Alternative),
    ("let's try a different", Alternative),
    ("let's try another approach", Alternative),
    ("let's try another method", Alternative),
    ("let's try another way", Alternative),
    ("let me think differently", Alternative),
    ("let me think of another", Alternative),
    ("let me think of a different", Alternative),
    ("let me think about another", Alternative),
    ("let me think about it differently", Alternative),
    ("let me think about this differently", Alternative),
    ("let me approach this differently", Alternative),
    ("let me approach it differently", Alternative),
    ("let me approach this from", Alternative),
    ("let me consider another", Alternative),
    ("let me consider a different", Alternative),
    ("let me consider an alternative", Alternative),
    ("let's consider another", Alternative),
    ("let's consider a different", Alternative),
    ("let's think differently", Alternative),
    ("let me use a different", Alternative),
    ("let me use another", Alternative),
    ("is there a better way", Alternative),
    ("is there a simpler way", Alternative),
    ("is there another way", Alternative),
    ("is there a smarter way", Alternative),
    ("is there a different way", Alternative),
    ("maybe there's a better way", Alternative),
    ("maybe there is a better way", Alternative),
    ("maybe there's another way", Alternative),
    ("maybe there's a smarter way", Alternative),
    ("maybe there's a simpler way", Alternative),
    ("maybe there's a different", Alternative),
    ("perhaps there's a better way", Alternative),
    ("perhaps there's another way", Alternative),
    ("perhaps there's a simpler way", Alternative),
    ("perhaps a better approach", Alternative),
    ("perhaps another approach", Alternative),
    ("maybe a better approach", Alternative),
    ("maybe another approach", Alternative),
    ("maybe a different approach", Alternative),
    ("perhaps a different approach", Alternative),
    ("instead,", Alternative),
    ("instead of", Alternative),
    ("or maybe i can", Alternative),
    ("or perhaps i can", Alternative),
    ("what if i", Alternative),
    ("what if we", Alternative),
    ("i could also", Alternative),
    ("we could also", Alternative),
    ("another possibility", Alternative),
    ("another option", Alternative),
    ("another interpretation", Alternative),
    ("let me switch", Alternative),
    ("let me change my approach", Alternative),
    ("switching approach", Alternative),
    ("wait, maybe i should use", Alternative),
    ("wait, maybe there's a better way", Alternative),
    ("wait, another approach", Alternative),
    ("wait, alternatively", Alternative),
    ("but alternatively", Alternative),
    ("hmm, alternatively", Alternative),
    ("or alternatively", Alternative),
    ("maybe i should try", Alternative),
    ("perhaps i should try", Alternative),
    ("let me try using", Alternative),
    ("let me try to use", Alternative),
    // --- a restart after an error ---
    ("let me start over", Restart),
    ("let me start again", Restart),
    ("let's start over", Restart),
    ("let's start again", Restart),
    ("let me restart", Restart),
    ("starting over", Restart),
    ("let me redo", Restart),
    ("let's redo", Restart),
    ("let me rethink", Restart),
    ("let me reconsider", Restart),
    ("let's reconsider", Restart),
    ("let me go back to the beginning", Restart),
    ("let me go back to the start", Restart),
    ("wait, that's wrong", Restart),
    ("wait, that's not right", Restart),
    ("wait, that's not correct", Restart),
    ("wait, that's incorrect", Restart),
    ("wait, that can't be right", Restart),
    ("wait, that can't be", Restart),
    ("wait, that doesn't make sense", Restart),
    ("wait, that doesn't seem right", Restart),
    ("wait, that doesn't look right", Restart),
    ("that doesn't look right", Restart),
    ("let me try again", Restart),
    ("wait, this is wrong", Restart),
    ("wait, i think i made a mistake", Restart),
    ("wait, i made a mistake", Restart),
    ("wait, i messed up", Restart),
    ("but that's wrong", Restart),
    ("but that can't be right", Restart),
    ("but that doesn't make sense", Restart),
    ("hmm, that's not right", Restart),
    ("hmm, that can't be right", Restart),
    ("hmm, that doesn't make sense", Restart),
    ("hmm, that's wrong", Restart),
    ("hmm, i think i made a mistake", Restart),
    ("no, that's not right", Restart),
    ("no, that's wrong", Restart),
    ("no, that can't be", Restart),
    ("that can't be right", Restart),
    ("that can't be", Restart),
    ("that's not right", Restart),
    ("that's wrong", Restart),
    ("that's incorrect", Restart),
    ("that doesn't make sense", Restart),
    ("that doesn't seem right", Restart),
    ("this is wrong", Restart),
    ("this can't be right", Restart),
    ("i think i made a mistake", Restart),
    ("i made a mistake", Restart),
    ("i made an error", Restart),
    ("i must have made a mistake", Restart),
    ("oops", Restart),
    ("oh no", Restart),
    // --- checks ---
    ("let me check", Check(Verify)),
    ("let me verify", Check(Verify)),
    ("let me double-check", Check(Verify)),
    ("let me double check", Check(Verify)),
    ("let me confirm", Check(Verify)),
    ("let me make sure", Check(Verify)),
    ("let me validate", Check(Verify)),
    ("let me just check", Check(Verify)),
    ("let me just verify", Check(Verify)),
    ("let me just double-check", Check(Verify)),
    ("let me just make sure", Check(Verify)),
    ("let me just confirm", Check(Verify)),
    ("let me quickly check", Check(Verify)),
    ("let me recheck", Check(Verify)),
    ("let me cross-check", Check(Verify)),
    ("let me cross-verify", Check(Verify)),
    ("let me see if that makes sense", Check(Verify)),
    ("let me see if that works", Check(Verify)),
    ("let me see if that's correct", Check(Verify)),
    ("let me see if that's right", Check(Verify)),
    ("let me see if this works", Check(Verify)),
    ("let me see if it works", Check(Verify)),
    ("let me test", Check(Verify)),
    ("let's check", Check(Verify)),
    ("let's verify", Check(Verify)),
    ("let's double-check", Check(Verify)),
    ("let's double check", Check(Verify)),
    ("let's confirm", Check(Verify)),
    ("let's make sure", Check(Verify)),
    ("let's test", Check(Verify)),
    ("let us check", Check(Verify)),
    ("let us verify", Check(Verify)),
    ("to verify", Check(Verify)),
    ("to check", Check(Verify)),
    ("to confirm", Check(Verify)),
    ("to double-check", Check(Verify)),
    ("to make sure", Check(Verify)),
    ("to be sure", Check(Verify)),
    ("to be thorough", Check(Verify)),
    ("to be safe", Check(Verify)),
    ("double-checking", Check(Verify)),
    ("double checking", Check(Verify)),
    ("double-check", Check(Verify)),
    ("checking", Check(Verify)),
    ("verifying", Check(Verify)),
    ("verification", Check(Verify)),
    ("sanity check", Check(Verify)),
    ("as a check", Check(Verify)),
    ("as a sanity check", Check(Verify)),
    ("just to be sure", Check(Verify)),
    ("just to be safe", Check(Verify)),
    ("just to be thorough", Check(Verify)),
    ("just to confirm", Check(Verify)),
    ("just to double-check", Check(Verify)),
    ("just to double check", Check(Verify)),
    ("just to make sure", Check(Verify)),
    ("just to check", Check(Verify)),
    ("just to verify", Check(Verify)),
    ("i should check", Check(Verify)),
    ("i should verify", Check(Verify)),
    ("i should double-check", Check(Verify)),
    ("i should make sure", Check(Verify)),
    ("i need to check", Check(Verify)),
    ("i need to verify", Check(Verify)),
    ("i need to make sure", Check(Verify)),
    ("i need to double-check", Check(Verify)),
    ("we should check", Check(Verify)),
    ("we need to check", Check(Verify)),
    ("we need to verify", Check(Verify)),
    ("wait, let me check", Check(Verify)),
    ("wait, let me verify", Check(Verify)),
    ("wait, let me double-check", Check(Verify)),
    ("wait, let me make sure", Check(Verify)),
    ("wait, let me confirm", Check(Verify)),
    ("wait, let me see", Check(Verify)),
    ("wait, let me think again", Check(Recompute)),
    ("wait, let me recalculate", Check(Recompute)),
    ("but let me check", Check(Verify)),
    ("but let me verify", Check(Verify)),
    ("but let me double-check", Check(Verify)),
    ("but let me make sure", Check(Verify)),
    ("but let me confirm", Check(Verify)),
    ("but wait, let me check", Check(Verify)),
    ("but wait, let me make sure", Check(Verify)),
    ("but wait, let me verify", Check(Verify)),
    ("but wait, let me double-check", Check(Verify)),
    ("but to be thorough", Check(Verify)),
    ("but just to be sure", Check(Verify)),
    ("but just to make sure", Check(Verify)),
    ("but just to confirm", Check(Verify)),
    ("but just to double-check", Check(Verify)),
    ("hmm, let me check", Check(Verify)),
    ("hmm, let me verify", Check(Verify)),
    ("hmm, let me double-check", Check(Verify)),
    ("hmm, let me make sure", Check(Verify)),
    ("so, let me check", Check(Verify)),
    ("now, let me check", Check(Verify)),
    ("now, let me verify", Check(Verify)),
    ("now, let's check", Check(Verify)),
    ("now, let's verify", Check(Verify)),
    ("wait, is that right", Check(Verify)),
    ("wait, is that correct", Check(Verify)),
    ("is that right", Check(Verify)),
    ("is that correct", Check(Verify)),
    ("let me plug", Check(Substitute)),
    ("let me substitute", Check(Substitute)),
    ("let me try plugging", Check(Substitute)),
    ("let's plug", Check(Substitute)),
    ("let's substitute", Check(Substitute)),
    ("plugging", Check(Substitute)),
    ("plug in", Check(Substitute)),
    ("plug it back", Check(Substitute)),
    ("substituting", Check(Substitute)),
    ("substitute back", Check(Substitute)),
    ("putting it back", Check(Substitute)),
    ("if i plug", Check(Substitute)),
    ("if we plug", Check(Substitute)),
    ("if i substitute", Check(Substitute)),
    ("let me recalculate", Check(Recompute)),
    ("let me re-calculate", Check(Recompute)),
    ("let me recompute", Check(Recompute)),
    ("let me compute again", Check(Recompute)),
    ("let me calculate again", Check(Recompute)),
    ("let me calculate that again", Check(Recompute)),
    ("let me compute that again", Check(Recompute)),
    ("let me do the calculation again", Check(Recompute)),
    ("let me redo the calculation", Check(Recompute)),
    ("let me go through", Check(Recompute)),
    ("let me go over", Check(Recompute)),
    ("let me recount", Check(Recompute)),
    ("let me re-evaluate", Check(Recompute)),
    ("let me reevaluate", Check(Recompute)),
    ("let me re-examine", Check(Recompute)),
    ("let me reexamine", Check(Recompute)),
    ("let me review", Check(Recompute)),
    ("let me recap", Check(Recompute)),
    ("let me retrace", Check(Recompute)),
    ("let me re-read", Check(Recompute)),
    ("let me reread", Check(Recompute)),
    ("let me think again", Check(Recompute)),
    ("let me see again", Check(Recompute)),
    ("let me go back", Check(Recompute)),
    ("let's go through", Check(Recompute)),
    ("let's recap", Check(Recompute)),
    ("let's recalculate", Check(Recompute)),
    ("recalculating", Check(Recompute)),
    ("re-reading", Check(Recompute)),
    ("rereading", Check(Recompute)),
    ("going back to", Check(Recompute)),
    ("yes, that", Check(Affirm)),
    ("yes, it", Check(Affirm)),
    ("yes, this", Check(Affirm)),
    ("yes, so", Check(Affirm)),
    ("yes.", Check(Affirm)),
    ("yep", Check(Affirm)),
    ("that checks out", Check(Affirm)),
    ("so that checks out", Check(Affirm)),
    ("everything checks out", Check(Affirm)),
    ("it checks out", Check(Affirm)),
    ("all checks out", Check(Affirm)),
    ("that seems right", Check(Affirm)),
    ("that seems correct", Check(Affirm)),
    ("that seems consistent", Check(Affirm)),
    ("that makes sense", Check(Affirm)),
    ("okay, that makes sense", Check(Affirm)),
    ("that's correct", Check(Affirm)),
    ("that is correct", Check(Affirm)),
    ("that's right", Check(Affirm)),
    ("that works", Check(Affirm)),
    ("that's consistent", Check(Affirm)),
    ("so that's consistent", Check(Affirm)),
    ("looks good", Check(Affirm)),
    ("looks correct", Check(Affirm)),
    ("this confirms", Check(Affirm)),
    ("that confirms", Check(Affirm)),
    ("which confirms", Check(Affirm)),
    ("so both methods", Check(Affirm)),
    ("both methods give", Check(Affirm)),
    ("both approaches give", Check(Affirm)),
    ("so both approaches", Check(Affirm)),
    ("same answer", Check(Affirm)),
    ("same result", Check(Affirm)),
    ("we already did that", Check(Negate)),
    ("i already did that", Check(Negate)),
    ("we already know", Check(Negate)),
    ("i already know", Check(Negate)),
    ("i already calculated", Check(Negate)),
    ("as i did before", Check(Negate)),
    ("as we did before", Check(Negate)),
    ("same as before", Check(Negate)),
    ("that's the same as before", Check(Negate)),
    ("this is the same as", Check(Negate)),
    ("i'm going in circles", Check(Negate)),
    ("i think i'm going in circles", Check(Negate)),
    ("i'm overcomplicating", Check(Negate)),
    ("i think i'm overcomplicating", Check(Negate)),
    ("maybe i'm overcomplicating", Check(Negate)),
    ("this is redundant", Check(Negate)),
    // --- re-examination (a check only once an answer exists) ---
    ("wait, no,", Reflect),
    ("wait, no.", Reflect),
    ("wait,", Reflect),
    ("wait.", Reflect),
    ("wait a", Reflect),
    ("wait", Reflect),
    ("but wait", Reflect),
    ("hold on", Reflect),
    ("hmm, wait", Reflect),
    ("hmm, but", Reflect),
    ("hmm,", Reflect),
    ("hmm.", Reflect),
    ("but hold on", Reflect),
    ("on second thought", Reflect),
    ("actually,", Reflect),
    ("but actually", Reflect),
    ("however, wait", Reflect),
    // --- conclusion ---
    ("**final answer**", Conclude),
    ("**final answer:**", Conclude),
    ("**final answer**:", Conclude),
    ("final answer", Conclude),
    ("### final answer", Conclude),
    ("## final answer", Conclude),
    ("**answer**", Conclude),
    ("**answer:**", Conclude),
    ("the final answer is", Conclude),
    ("so the final answer", Conclude),
    ("so, the final answer", Conclude),
    ("therefore, the final answer", Conclude),
    ("thus, the final answer", Conclude),
    ("hence, the final answer", Conclude),
    ("in conclusion", Conclude),
    ("to conclude", Conclude),
    ("to summarize", Conclude),
    ("in summary", Conclude),
    ("summarizing", Conclude),
    ("so, to summarize", Conclude),
    ("so, summarizing", Conclude),
    ("putting it all together", Conclude),
    ("so, putting it all together", Conclude),
    ("therefore, putting it all together", Conclude),
    ("so the answer is", Conclude),
    ("so the answer should be", Conclude),
    ("so, the answer is", Conclude),
    ("therefore, the answer is", Conclude),
    ("therefore, the answer should be", Conclude),
    ("thus, the answer is", Conclude),
    ("hence, the answer is", Conclude),
    ("i think that's the answer", Conclude),
    ("i think that's it", Conclude),
    ("i think that's correct", Conclude),
    ("i'm confident", Conclude),
    ("i think i'm confident", Conclude),
    ("so i think the answer", Conclude),
    ("therefore, i think the answer", Conclude),
    ("i think the answer is", Conclude),
];

struct Lexicon {
    /// An anchored, ASCII-case-insensitive DFA stepped by hand in [`cue_at`]: the generic
    /// search API costs more per call than the few transitions a cue takes.
    dfa: DFA,
    /// A bit per hash of a phrase's first four (lower-cased) bytes: most sentence starts can
    /// start no cue, and this 8 KiB table says so without running the DFA.
    heads: Vec<u64>,
    /// Phrases shorter than four bytes ("yep"), checked directly.
    short: Vec<&'static [u8]>,
    /// Like `heads`, for the phrases of strong cues only ([`Cue::is_strong`]): the test run at
    /// every sentence start, where only a strong cue splits a paragraph.
    strong_heads: Vec<u64>,
    /// The strong phrases alone, so a walk at a sentence start ("The problem ...") dies as soon
    /// as no strong phrase can follow; `strong_ids` maps its pattern ids to `cues` indices.
    strong_dfa: DFA,
    strong_ids: Vec<usize>,
    /// Pattern id -> (phrase, cue).
    cues: Vec<(String, Cue)>,
}

/// An anchored, ASCII-case-insensitive, leftmost-longest DFA over `phrases`, for [`walk`].
pub(crate) fn anchored_dfa<'a>(phrases: impl IntoIterator<Item = &'a str>) -> DFA {
    aho_corasick::dfa::Builder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .start_kind(StartKind::Anchored)
        .build(phrases)
        .expect("phrases make a valid automaton")
}

fn lexicon() -> &'static Lexicon {
    static LEX: OnceLock<Lexicon> = OnceLock::new();
    LEX.get_or_init(|| {
        let mut cues: Vec<(String, Cue)> = Vec::with_capacity(CUES.len() * 2);
        for &(p, c) in CUES {
            cues.push((p.to_string(), c));
            if p.contains('\'') {
                cues.push((p.replace('\'', "\u{2019}"), c));
            }
        }
        let dfa = anchored_dfa(cues.iter().map(|(p, _)| p.as_str()));
        let mut heads = vec![0u64; 65536 / 64];
        let mut short = Vec::new();
        let mut strong_heads = vec![0u64; 65536 / 64];
        for (p, cue) in &cues {
            match head4(p.as_bytes(), 0) {
                Some(k) => {
                    heads[k / 64] |= 1 << (k % 64);
                    if cue.is_strong() {
                        strong_heads[k / 64] |= 1 << (k % 64);
                    }
                }
                None => {
                    assert!(!cue.is_strong(), "strong cues have four bytes or more");
                    short.push(&*Box::leak(p.clone().into_bytes().into_boxed_slice()))
                }
            }
        }
        let strong_ids: Vec<usize> = (0..cues.len()).filter(|&i| cues[i].1.is_strong()).collect();
        let strong_dfa = anchored_dfa(strong_ids.iter().map(|&i| cues[i].0.as_str()));
        Lexicon { dfa, cues, heads, short, strong_heads, strong_dfa, strong_ids }
    })
}

/// A 16-bit hash of the four lower-cased bytes at `at`, or None if fewer remain.
#[inline]
fn head4(b: &[u8], at: usize) -> Option<usize> {
    let w = b.get(at..at + 4)?;
    let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) | 0x2020_2020; // ASCII lower case (and harmless elsewhere)
    Some((v.wrapping_mul(0x9E37_79B1) >> 16) as usize)
}

/// A cue found at a position: what it announces, and its byte length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CueMatch {
    pub cue: Cue,
    pub len: usize,
    pub pattern: usize,
}

impl CueMatch {
    /// The lexicon phrase that matched (lower case).
    pub fn phrase(&self) -> &'static str {
        &lexicon().cues[self.pattern].0
    }
}

/// The strong cue (see [`Cue::is_strong`]) that starts exactly at `at`, if any.
pub fn strong_cue_at(text: &[u8], at: usize) -> Option<CueMatch> {
    let lex = lexicon();
    let k = head4(text, at)?;
    if lex.strong_heads[k / 64] & (1 << (k % 64)) == 0 {
        return None;
    }
    walk(&lex.strong_dfa, text, at).map(|(k, len)| {
        let pattern = lex.strong_ids[k];
        CueMatch { cue: lex.cues[pattern].1, len, pattern }
    })
}

/// The cue that starts exactly at `at` in `text`, if any (word boundary enforced at its end).
pub fn cue_at(text: &[u8], at: usize) -> Option<CueMatch> {
    if at >= text.len() {
        return None;
    }
    let lex = lexicon();
    let maybe = match head4(text, at) {
        Some(k) => lex.heads[k / 64] & (1 << (k % 64)) != 0,
        None => true,
    };
    if !maybe && !lex.short.iter().any(|p| text.len() >= at + p.len() && text[at..at + p.len()].eq_ignore_ascii_case(p)) {
        return None;
    }
    walk(&lex.dfa, text, at).map(|(pattern, len)| CueMatch { cue: lex.cues[pattern].1, len, pattern })
}

/// The longest phrase of `dfa` that starts at `at` and ends on a word boundary, as (pattern
/// id, length).
pub(crate) fn walk(dfa: &DFA, text: &[u8], at: usize) -> Option<(usize, usize)> {
    // Walk the DFA from `at`, remembering every phrase that ends on the way (a path passes
    // through "wait," before "wait, let me check"); the longest one that ends on a word
    // boundary wins, so "wait, no" failing in "wait, now" falls back to "wait,".
    let Ok(mut sid) = dfa.start_state(Anchored::Yes) else {
        return None;
    };
    let mut found: [(usize, usize); 8] = [(0, 0); 8]; // (pattern, end)
    let mut n = 0;
    let mut i = at;
    while i < text.len() {
        sid = dfa.next_state(Anchored::Yes, sid, text[i]);
        i += 1;
        if dfa.is_special(sid) {
            if dfa.is_dead(sid) {
                break;
            }
            if dfa.is_match(sid) {
                // a match state also reports phrases that are suffixes of the path walked
                // ("that can't be" inside "but that can't be"): only one starting at `at` counts
                for k in 0..dfa.match_len(sid) {
                    let pid = dfa.match_pattern(sid, k);
                    if dfa.pattern_len(pid) == i - at {
                        found[n % 8] = (pid.as_usize(), i);
                        n += 1;
                        break;
                    }
                }
            }
        }
    }
    for k in (n.saturating_sub(8)..n).rev() {
        let (pattern, end) = found[k % 8];
        let last = text[end - 1];
        // "checking" must not match "checkings"; "wait" must not match "waiting".
        if last.is_ascii_alphanumeric() && end < text.len() && (text[end].is_ascii_alphanumeric() || text[end] == b'-') {
            continue;
        }
        return Some((pattern, end - at));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_match_and_case() {
        let t = b"Wait, let me check that again.";
        let m = cue_at(t, 0).unwrap();
        assert_eq!(m.cue, Check(Verify));
        assert_eq!(m.phrase(), "wait, let me check");
        assert_eq!(cue_at(b"ALTERNATIVELY, use x", 0).unwrap().cue, Alternative);
        assert_eq!(cue_at(b"wait, no", 0).unwrap().cue, Reflect);
    }

    #[test]
    fn word_boundary_and_curly_apostrophe() {
        assert_eq!(cue_at(b"Waiting for", 0), None);
        // the longest phrase fails the boundary, a shorter one holds
        assert_eq!(cue_at(b"Wait, now we see", 0).unwrap().phrase(), "wait,");
        assert_eq!(cue_at(b"Let me try another value", 0), None);
        // a phrase that is only a suffix of the text walked does not start here
        assert_eq!(cue_at(b"But that can't be, since", 0), None);
        assert_eq!(cue_at(b"The final answer should be", 0), None);
        assert_eq!(cue_at("Let\u{2019}s check this".as_bytes(), 0).unwrap().cue, Check(Verify));
        assert_eq!(cue_at(b"x", 5), None);
    }
}

#[cfg(test)]
mod walk_cost {
    #[test]
    fn walk_stops_at_the_dead_state() {
        let mut t = b"Wait, let me check ".to_vec();
        t.extend(std::iter::repeat(b'x').take(10_000_000));
        let start = std::time::Instant::now();
        for _ in 0..1000 {
            std::hint::black_box(super::cue_at(&t, 0));
        }
        let dt = start.elapsed();
        assert!(dt.as_millis() < 200, "1000 walks took {dt:?}: the walk does not stop");
    }
}
