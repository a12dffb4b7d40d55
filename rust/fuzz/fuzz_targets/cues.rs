//! The cue lexicon's matchers (`cue_at`, `strong_cue_at`) at every position of any bytes, and
//! the byte -> str index conversion.
//!
//! Checks: no panic, a match lies inside the text, a strong cue is also a cue.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let data = &data[..data.len().min(4096)];
    for at in 0..=data.len() {
        if let Some(m) = dlcot::cues::cue_at(data, at) {
            assert!(m.len > 0 && at + m.len <= data.len(), "cue {m:?} at {at} runs past the text");
            let _ = m.phrase();
        }
        if let Some(m) = dlcot::cues::strong_cue_at(data, at) {
            assert!(at + m.len <= data.len());
            assert!(m.cue.is_strong());
        }
    }
    let text = String::from_utf8_lossy(data);
    let ix = dlcot::CharIndex::new(&text);
    let mut last = 0;
    for (ci, (bi, _)) in text.char_indices().enumerate() {
        let c = ix.char_of(bi);
        assert_eq!(c, ci);
        assert!(c >= last);
        last = c;
    }
    assert_eq!(ix.char_of(text.len()), text.chars().count());
});
