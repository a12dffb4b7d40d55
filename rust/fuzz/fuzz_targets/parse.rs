//! `dlcot::parse` (envelope + segmentation), labelling and the JSON writer on any text.
//!
//! Input: `response 0xFF problem 0xFF reference`. Checks the promises `trace.rs` makes: no panic,
//! sections tile the text, every span lies on char boundaries, the JSON is valid, the str-index
//! conversion is monotone.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::{check_span, pieces};

fuzz_target!(|data: &[u8]| {
    let p = pieces(data, 3);
    let (text, problem, reference) = (&p[0], &p[1], &p[2]);
    let problem = (!problem.is_empty()).then_some(problem.as_str());
    let mut t = dlcot::parse(text, problem);
    assert_eq!(t.len, text.len());

    // sections tile the text exactly
    let mut pos = 0;
    for s in &t.sections {
        assert_eq!(s.span.start, pos, "sections must tile: {:?}", t.sections);
        assert!(s.span.end > s.span.start, "empty section {:?}", s);
        check_span(text, s.span, "section");
        pos = s.span.end;
    }
    assert_eq!(pos, text.len(), "sections must cover the text: {:?}", t.sections);

    check_span(text, t.reasoning, "reasoning");
    check_span(text, t.summary, "summary");
    for s in &t.solutions {
        check_span(text, s.span, "solution");
        assert!(!s.steps.is_empty());
        for st in &s.steps {
            check_span(text, *st, "step");
            assert!(s.span.contains(*st), "step {st:?} outside its solution {:?}", s.span);
        }
        if let Some(a) = &s.answer {
            check_span(text, a.span, "solution answer");
        }
    }
    for c in &t.checks {
        check_span(text, c.span, "check");
        if let Some(a) = &c.answer {
            check_span(text, a.span, "check answer");
        }
        if let Some(k) = c.solution {
            assert!(k < t.solutions.len());
        }
    }
    for i in &t.issues {
        check_span(text, i.span, "issue");
    }
    if let Some(a) = &t.final_answer {
        check_span(text, a.span, "final answer");
    }

    // labelling against a reference, then both JSON views
    if !reference.is_empty() {
        t.label(text, reference);
    }
    let v: serde_json::Value = serde_json::from_str(&t.to_json()).expect("to_json writes valid JSON");
    assert_eq!(v["sections"].as_array().map(|a| a.len()), Some(t.sections.len()));
    let ix = dlcot::CharIndex::new(text);
    let mut out = String::new();
    t.write_json(|b| ix.char_of(b), &mut out);
    serde_json::from_str::<serde_json::Value>(&out).expect("write_json with char offsets is valid JSON");
    let c = t.to_char_offsets(text);
    let chars = text.chars().count();
    assert_eq!(c.len, chars);
    for s in &c.sections {
        assert!(s.span.start <= s.span.end && s.span.end <= chars);
    }
});
