//! Byte-offset spans into the original text, and their conversion to Python `str` indices.
//!
//! Inside Rust every segment is a half-open byte range `[start, end)` into the trace text (as
//! ruff's `TextRange`). Python indexes strings by code point, so the binding converts every
//! offset once, at the boundary, with a [`CharIndex`]: O(1) for ASCII text, and for other text
//! a checkpoint table (one `u32` per 32 bytes) plus a short scan, so conversions cost O(32)
//! whatever order they come in.


/// A half-open byte range `[start, end)` into a text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    #[inline]
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    #[inline]
    pub const fn len(&self) -> usize {
        self.end - self.start
    }
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }
    /// The text this span covers. Spans made by this crate always lie on char boundaries.
    #[inline]
    pub fn slice<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start..self.end]
    }
    /// Whether `other` lies inside this span.
    #[inline]
    pub fn contains(&self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

const BLOCK: usize = 32;

/// Converts byte offsets of one text to code-point (Python `str`) indices.
pub struct CharIndex<'a> {
    text: &'a [u8],
    /// `None` for ASCII text (offsets are already char indices); otherwise the number of chars
    /// before byte `i * BLOCK`.
    checkpoints: Option<Vec<u32>>,
}

impl<'a> CharIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        if bytes.is_ascii() {
            return CharIndex { text: bytes, checkpoints: None };
        }
        let mut checkpoints = Vec::with_capacity(bytes.len() / BLOCK + 1);
        let mut chars: u32 = 0;
        for chunk in bytes.chunks(BLOCK) {
            checkpoints.push(chars);
            chars += count_chars(chunk) as u32;
        }
        checkpoints.push(chars);
        CharIndex { text: bytes, checkpoints: Some(checkpoints) }
    }

    /// The code-point index of byte offset `byte` (which must be a char boundary or `len`).
    #[inline]
    pub fn char_of(&self, byte: usize) -> usize {
        match &self.checkpoints {
            None => byte,
            Some(cp) => {
                let byte = byte.min(self.text.len());
                let block = byte / BLOCK;
                cp[block] as usize + count_chars(&self.text[block * BLOCK..byte])
            }
        }
    }

    /// The span with both ends converted to code-point indices.
    #[inline]
    pub fn span(&self, span: Span) -> Span {
        Span::new(self.char_of(span.start), self.char_of(span.end))
    }
}

/// Number of UTF-8 chars starting in `bytes` (bytes that are not continuation bytes
/// `10xxxxxx`), eight bytes at a time.
#[inline]
fn count_chars(bytes: &[u8]) -> usize {
    const LOW: u64 = 0x0101_0101_0101_0101;
    let mut chunks = bytes.chunks_exact(8);
    let mut continuation = 0usize;
    for c in &mut chunks {
        let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        // bit 7 set and bit 6 clear, moved to bit 0 of each byte
        continuation += ((x >> 7) & !(x >> 6) & LOW).count_ones() as usize;
    }
    let rest = chunks.remainder();
    continuation += rest.iter().filter(|&&b| b & 0xC0 == 0x80).count();
    bytes.len() - continuation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_identity() {
        let ix = CharIndex::new("hello world");
        assert_eq!(ix.char_of(0), 0);
        assert_eq!(ix.char_of(11), 11);
    }

    #[test]
    fn multibyte_offsets_match_char_indices() {
        let text = "é".repeat(100) + "x≤y" + &"日本".repeat(50) + "\u{1F600}end";
        let ix = CharIndex::new(&text);
        for (ci, (bi, _)) in text.char_indices().enumerate() {
            assert_eq!(ix.char_of(bi), ci, "byte {bi}");
        }
        assert_eq!(ix.char_of(text.len()), text.chars().count());
    }
}
