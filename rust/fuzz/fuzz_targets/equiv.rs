//! Answer normalisation and fast equivalence on any pair of strings.
//!
//! Input: `pred 0xFF reference`. Checks: no panic (nor stack overflow: nesting is hostile input
//! too), and the rules never call an answer different from itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::pieces;

fuzz_target!(|data: &[u8]| {
    let p = pieces(data, 2);
    let (a, b) = (&p[0], &p[1]);
    let _ = dlcot::equiv::normalize_answer(a);
    let _ = dlcot::equiv::equivalent(a, b);
    let _ = dlcot::equiv::equivalent(b, a);
    assert_ne!(dlcot::equiv::equivalent(a, a), Some(false), "an answer differs from itself: {a:?}");
});
