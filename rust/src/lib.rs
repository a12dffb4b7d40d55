//! dlcot's core: reading long chain-of-thought traces exactly and fast.
//!
//! * [`span`]: byte-offset spans and their conversion to Python `str` indices.
//! * [`trace`]: the trace model and the total parser's envelope stage (think tags, templates).
//! * [`cues`]: the cue lexicon ("Alternatively", "Let me check", "**Final Answer**").
//! * [`segment`]: sections, solutions, checks and steps (DLCoT's structure).
//! * [`answer`]: final-answer extraction (`\boxed{}`, "the answer is", `#### N`).
//! * [`equiv`]: answer normalisation and fast equivalence (numbers, tuples, sets, matrices).
//! * [`minhash`]: shingling and MinHash signatures.
//! * [`lsh`]: banding, candidate verification and union-find clustering.
//! * [`cluster`]: near-duplicate solutions and checks within a trace (Jaccard, token-set ratio).
//! * [`prune`]: pruning policies as edit lists, and re-stitching.
//! * [`batch`]: rayon batch helpers, order kept, thread count resolved once.
//! * [`error`]: the one error enum.
//! * `py` (feature `python`): the only file that names pyo3.

pub mod answer;
pub mod batch;
pub mod cluster;
pub mod cues;
pub mod equiv;
pub mod error;
pub mod lsh;
pub mod minhash;
pub mod prune;
pub mod segment;
pub mod span;
pub mod trace;

#[cfg(feature = "python")]
mod py;

pub use answer::{extract_answer, extract_reference, Answer};
pub use error::{Error, Result};
pub use span::{CharIndex, Span};
pub use trace::{parse, Trace};
