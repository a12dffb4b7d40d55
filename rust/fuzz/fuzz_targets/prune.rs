//! `dlcot::prune::prune` under every policy, on a parsed and labelled trace of any text.
//!
//! Input: `policy byte, then response 0xFF reference`. Checks: no panic, every edit lies on
//! char boundaries inside the text, and a kept trace is the original text.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::{check_span, pieces};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let p = pieces(rest, 2);
    let (text, reference) = (&p[0], &p[1]);
    let policies = dlcot::prune::POLICIES;
    let policy = &policies[sel as usize % policies.len()];
    let mut t = dlcot::parse(text, None);
    if !reference.is_empty() {
        t.label(text, reference);
    }
    let opts = dlcot::prune::Options {
        policy,
        keep_unsolvable: sel & 0x80 != 0,
        threshold: [0.4, 0.8, 1.0, 0.01][(sel as usize >> 4) & 3],
        similarity: dlcot::cluster::Similarity::new(3, 8).expect("valid similarity"),
    };
    let out = dlcot::prune::prune(text, &t, &opts);
    for e in &out.edits {
        check_span(text, e.span, "edit");
    }
    assert_eq!(out.solution_leaders.len(), t.solutions.len());
    assert_eq!(out.check_leaders.len(), t.checks.len());
});
