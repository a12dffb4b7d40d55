//! Shared by the fuzz targets: how raw fuzzer bytes become the strings an entry point takes.
//!
//! Inputs are split at the byte 0xFF (never part of UTF-8, so a real trace used as a seed stays
//! one piece); each piece is decoded lossily, so every input exercises the code (an invalid byte
//! becomes U+FFFD, a three-byte char, which keeps multi-byte handling busy).
#![allow(dead_code)]

use dlcot::Span;

/// The 0xFF-separated pieces of `data`, as strings; always at least `min` of them.
pub fn pieces(data: &[u8], min: usize) -> Vec<String> {
    let mut out: Vec<String> = data.split(|&b| b == 0xFF).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    while out.len() < min {
        out.push(String::new());
    }
    out
}

/// A span made by the core must lie inside the text, be ordered, and fall on char boundaries.
pub fn check_span(text: &str, s: Span, what: &str) {
    assert!(s.start <= s.end && s.end <= text.len(), "{what}: span {s:?} outside 0..{}", text.len());
    assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end), "{what}: span {s:?} cuts a char");
}
