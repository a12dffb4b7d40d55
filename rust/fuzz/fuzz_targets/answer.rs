//! Answer extraction: `extract_answer`, `extract_reference`, `find_boxed` on any text.
//!
//! Checks: no panic, spans on char boundaries, a boxed answer's inner span inside its whole.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::{check_span, pieces};

fuzz_target!(|data: &[u8]| {
    for text in pieces(data, 1) {
        let (boxed, _unbalanced) = dlcot::answer::find_boxed(&text);
        for b in &boxed {
            check_span(&text, b.whole, "boxed");
            check_span(&text, b.inner, "boxed inner");
            assert!(b.whole.contains(b.inner));
        }
        if let Some(a) = dlcot::extract_answer(&text) {
            check_span(&text, a.span, "answer");
        }
        let _ = dlcot::extract_reference(&text);
    }
});
