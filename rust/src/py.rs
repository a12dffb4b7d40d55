//! The Python binding: the only file that names pyo3.
//!
//! Every call follows one shape: extract the inputs into Rust values, release the GIL
//! (`py.detach`) for the work, convert byte spans to `str` indices inside the released section,
//! then build Python objects. Result classes are frozen and picklable; a `Trace` pickles as
//! its text and problem and is re-parsed on load (parsing is deterministic and fast).

use crate::answer::Answer;
use crate::batch::{map_ordered, resolve_threads};
use crate::error::Error;
use crate::span::Span;
use crate::trace::{self, Trace as CoreTrace};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

create_exception!(_core, DlcotError, PyException, "Base class of every error dlcot raises.");

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::InvalidArgument { .. } => PyValueError::new_err(e.to_string()),
            Error::Io { .. } => pyo3::exceptions::PyOSError::new_err(e.to_string()),
        }
    }
}

/// A macro section of a trace: `kind` is one of restate, understand, explore, verify, conclude.
#[pyclass(frozen, get_all, eq, module = "dlcot._core")]
#[derive(Clone, PartialEq)]
pub struct Section {
    kind: &'static str,
    start: usize,
    end: usize,
    text: String,
}

#[pymethods]
impl Section {
    #[new]
    fn new(kind: String, start: usize, end: usize, text: String) -> Self {
        Section { kind: leak_kind(&kind), start, end, text }
    }
    fn __getnewargs__(&self) -> (&'static str, usize, usize, String) {
        (self.kind, self.start, self.end, self.text.clone())
    }
    fn __repr__(&self) -> String {
        format!("Section(kind={:?}, start={}, end={}, chars={})", self.kind, self.start, self.end, self.end - self.start)
    }
}

/// One solution attempt.
#[pyclass(frozen, get_all, eq, module = "dlcot._core")]
#[derive(Clone, PartialEq)]
pub struct Solution {
    index: usize,
    start: usize,
    end: usize,
    section: &'static str,
    cue: String,
    restart: bool,
    answer: Option<String>,
    answer_span: Option<(usize, usize)>,
    answer_kind: Option<&'static str>,
    steps: Vec<(usize, usize)>,
    label: Option<&'static str>,
}

#[pymethods]
impl Solution {
    #[new]
    #[pyo3(signature = (index, start, end, section, cue, restart, answer, answer_span, answer_kind, steps, label=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        index: usize, start: usize, end: usize, section: String, cue: String, restart: bool, answer: Option<String>,
        answer_span: Option<(usize, usize)>, answer_kind: Option<String>, steps: Vec<(usize, usize)>, label: Option<String>,
    ) -> Self {
        Solution {
            index, start, end, section: leak_kind(&section), cue, restart, answer, answer_span,
            answer_kind: answer_kind.map(|k| leak_kind(&k)), steps, label: label.map(|l| leak_kind(&l)),
        }
    }
    fn __getnewargs__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        (
            self.index, self.start, self.end, self.section, self.cue.clone(), self.restart, self.answer.clone(),
            self.answer_span, self.answer_kind, self.steps.clone(), self.label,
        )
            .into_pyobject(py)
    }
    fn __repr__(&self) -> String {
        format!(
            "Solution(index={}, start={}, end={}, section={:?}, cue={:?}, answer={}, steps={}, label={})",
            self.index, self.start, self.end, self.section, self.cue, PyOpt(self.answer.clone()), self.steps.len(), PyOpt(self.label)
        )
    }
}

/// One verification unit; `solution` is the index of the solution it lies in, if any.
#[pyclass(frozen, get_all, eq, module = "dlcot._core")]
#[derive(Clone, PartialEq)]
pub struct Check {
    index: usize,
    kind: &'static str,
    start: usize,
    end: usize,
    section: &'static str,
    cue: String,
    solution: Option<usize>,
    answer: Option<String>,
}

#[pymethods]
impl Check {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(index: usize, kind: String, start: usize, end: usize, section: String, cue: String, solution: Option<usize>, answer: Option<String>) -> Self {
        Check { index, kind: leak_kind(&kind), start, end, section: leak_kind(&section), cue, solution, answer }
    }
    fn __getnewargs__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        (self.index, self.kind, self.start, self.end, self.section, self.cue.clone(), self.solution, self.answer.clone()).into_pyobject(py)
    }
    fn __repr__(&self) -> String {
        format!("Check(index={}, kind={:?}, start={}, end={}, cue={:?}, solution={})", self.index, self.kind, self.start, self.end, self.cue, PyOpt(self.solution))
    }
}

/// Near-duplicate groups within a trace: for each solution (and each check), the index of its
/// cluster's leader and the similarity to that leader.
#[pyclass(frozen, get_all, eq, module = "dlcot._core")]
#[derive(Clone, PartialEq)]
pub struct Clusters {
    solutions: Vec<usize>,
    solution_scores: Vec<f64>,
    checks: Vec<usize>,
    check_scores: Vec<f64>,
    threshold: f64,
}

#[pymethods]
impl Clusters {
    #[new]
    fn new(solutions: Vec<usize>, solution_scores: Vec<f64>, checks: Vec<usize>, check_scores: Vec<f64>, threshold: f64) -> Self {
        Clusters { solutions, solution_scores, checks, check_scores, threshold }
    }
    fn __getnewargs__(&self) -> (Vec<usize>, Vec<f64>, Vec<usize>, Vec<f64>, f64) {
        (self.solutions.clone(), self.solution_scores.clone(), self.checks.clone(), self.check_scores.clone(), self.threshold)
    }
    /// Indices of solutions that repeat an earlier one.
    #[getter]
    fn redundant_solutions(&self) -> Vec<usize> {
        self.solutions.iter().enumerate().filter(|(i, l)| i != *l).map(|(i, _)| i).collect()
    }
    /// Indices of checks that repeat an earlier one.
    #[getter]
    fn redundant_checks(&self) -> Vec<usize> {
        self.checks.iter().enumerate().filter(|(i, l)| i != *l).map(|(i, _)| i).collect()
    }
    fn __repr__(&self) -> String {
        format!("Clusters(solutions={:?}, checks={:?}, threshold={})", self.solutions, self.checks, self.threshold)
    }
}

/// Something the parser noticed (a missing tag, a truncation, no answer, ...).
#[pyclass(frozen, get_all, eq, module = "dlcot._core")]
#[derive(Clone, PartialEq)]
pub struct Issue {
    kind: &'static str,
    start: usize,
    end: usize,
    message: String,
}

#[pymethods]
impl Issue {
    #[new]
    fn new(kind: String, start: usize, end: usize, message: String) -> Self {
        Issue { kind: leak_kind(&kind), start, end, message }
    }
    fn __getnewargs__(&self) -> (&'static str, usize, usize, String) {
        (self.kind, self.start, self.end, self.message.clone())
    }
    fn __repr__(&self) -> String {
        format!("Issue(kind={:?}, start={}, end={}, message={:?})", self.kind, self.start, self.end, self.message)
    }
}

/// Kind strings come from a closed set; unknown ones (only from hand-built objects) are kept
/// by interning them once.
fn leak_kind(k: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "restate", "understand", "explore", "verify", "conclude", "substitute", "recompute", "affirm", "negate", "reflect",
        "boxed", "final-answer-phrase", "final-answer-heading", "answer-phrase", "hashes", "statement", "empty",
        "chat-template", "missing-open-tag", "missing-close-tag", "several-think-blocks", "truncated", "no-answer",
        "several-answers", "unbalanced-boxed", "repetition", "internal-error", "correct", "incorrect", "incomplete", "undecided",
    ];
    KNOWN.iter().find(|x| **x == k).copied().unwrap_or_else(|| Box::leak(k.to_string().into_boxed_str()))
}

/// A parsed trace. Spans are `str` indices: `trace.text[s.start:s.end]` is the span's text.
#[pyclass(frozen, module = "dlcot._core")]
pub struct Trace {
    text: Py<PyString>,
    problem: Option<String>,
    reference: Option<String>,
    /// The core trace with spans already in code points.
    t: CoreTrace,
}

/// Formats an `Option` the Python way (`None` / the value's repr).
struct PyOpt<T>(Option<T>);

impl<T: std::fmt::Debug> std::fmt::Display for PyOpt<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(v) => write!(f, "{v:?}"),
            None => f.write_str("None"),
        }
    }
}

fn span_tuple(s: Span) -> (usize, usize) {
    (s.start, s.end)
}

fn slice(text: &str, chars: Span, ix: &[usize]) -> String {
    // `ix` maps char index -> byte offset only when needed; for ASCII it is empty.
    if ix.is_empty() {
        text[chars.start..chars.end].to_string()
    } else {
        text[ix[chars.start]..ix[chars.end]].to_string()
    }
}

fn char_to_byte(text: &str) -> Vec<usize> {
    if text.is_ascii() {
        return Vec::new();
    }
    let mut v: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    v.push(text.len());
    v
}

fn answer_text(a: &Option<Answer>) -> Option<String> {
    a.as_ref().map(|a| a.text.clone())
}

#[pymethods]
impl Trace {
    /// The full response text.
    #[getter]
    fn text(&self, py: Python<'_>) -> Py<PyString> {
        self.text.clone_ref(py)
    }
    #[getter]
    fn problem(&self) -> Option<String> {
        self.problem.clone()
    }
    /// The reference answer the solutions were labelled against, if any.
    #[getter]
    fn reference(&self) -> Option<String> {
        self.reference.clone()
    }
    /// Index of the first solution labelled correct (None: no reference, or no correct
    /// solution: the trace is "unsolvable" by the fast rules).
    #[getter]
    fn first_correct(&self) -> Option<usize> {
        self.t.first_correct()
    }
    /// "think", "thought-solution" or "plain".
    #[getter]
    fn format(&self) -> &'static str {
        self.t.format.as_str()
    }
    /// The reasoning: inside the think delimiters (the whole response if there are none).
    #[getter]
    fn reasoning(&self, py: Python<'_>) -> PyResult<String> {
        let bound = self.text.bind(py);
        let text = &*utf8_of(bound)?;
        Ok(slice(text, self.t.reasoning, &char_to_byte(text)))
    }
    #[getter]
    fn reasoning_span(&self) -> (usize, usize) {
        span_tuple(self.t.reasoning)
    }
    /// What follows the reasoning (after `</think>`), without solution tags.
    #[getter]
    fn summary(&self, py: Python<'_>) -> PyResult<String> {
        let bound = self.text.bind(py);
        let text = &*utf8_of(bound)?;
        Ok(slice(text, self.t.summary, &char_to_byte(text)))
    }
    #[getter]
    fn summary_span(&self) -> (usize, usize) {
        span_tuple(self.t.summary)
    }
    /// The macro sections, in order; they tile the text exactly.
    #[getter]
    fn sections(&self, py: Python<'_>) -> PyResult<Vec<Section>> {
        let bound = self.text.bind(py);
        let text = &*utf8_of(bound)?;
        let ix = char_to_byte(text);
        Ok(self
            .t
            .sections
            .iter()
            .map(|s| Section { kind: s.kind.as_str(), start: s.span.start, end: s.span.end, text: slice(text, s.span, &ix) })
            .collect())
    }
    /// Groups near-duplicate solutions and near-duplicate checks (separately): each part gets
    /// the index of its cluster's leader (the first part of the cluster) and its similarity to
    /// it. Similarity is word `ngram`-shingle Jaccard, or rapidfuzz's token-set ratio when both
    /// parts have fewer than `short` words.
    #[pyo3(signature = (threshold=0.4, *, ngram=3, short=8))]
    fn cluster_solutions(&self, py: Python<'_>, threshold: f64, ngram: usize, short: usize) -> PyResult<Clusters> {
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(PyValueError::new_err(format!("invalid `threshold`: must be in (0, 1], got {threshold}")));
        }
        let sim = crate::cluster::Similarity::new(ngram, short)?;
        let bound = self.text.bind(py);
        let text = &*utf8_of(bound)?;
        let ix = char_to_byte(text);
        let sol: Vec<String> = self.t.solutions.iter().map(|s| slice(text, s.span, &ix)).collect();
        let chk: Vec<String> = self.t.checks.iter().map(|c| slice(text, c.span, &ix)).collect();
        let (solutions, solution_scores, checks, check_scores) = py.detach(|| {
            let (a, b) = sim.cluster(&sol.iter().map(|s| s.as_str()).collect::<Vec<_>>(), threshold);
            let (c, d) = sim.cluster(&chk.iter().map(|s| s.as_str()).collect::<Vec<_>>(), threshold);
            (a, b, c, d)
        });
        Ok(Clusters { solutions, solution_scores, checks, check_scores, threshold })
    }
    #[getter]
    fn solutions(&self) -> Vec<Solution> {
        self.t
            .solutions
            .iter()
            .enumerate()
            .map(|(i, s)| Solution {
                index: i,
                start: s.span.start,
                end: s.span.end,
                section: s.section.as_str(),
                cue: s.cue.to_string(),
                restart: s.restart,
                answer: answer_text(&s.answer),
                answer_span: s.answer.as_ref().map(|a| span_tuple(a.span)),
                answer_kind: s.answer.as_ref().map(|a| a.kind.as_str()),
                steps: s.steps.iter().map(|&x| span_tuple(x)).collect(),
                label: s.label.map(|l| l.as_str()),
            })
            .collect()
    }
    #[getter]
    fn checks(&self) -> Vec<Check> {
        self.t
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| Check {
                index: i,
                kind: c.kind.as_str(),
                start: c.span.start,
                end: c.span.end,
                section: c.section.as_str(),
                cue: c.cue.to_string(),
                solution: c.solution,
                answer: answer_text(&c.answer),
            })
            .collect()
    }
    /// The final answer (from the summary first, then the reasoning), or None.
    #[getter]
    fn final_answer(&self) -> Option<String> {
        answer_text(&self.t.final_answer)
    }
    #[getter]
    fn final_answer_span(&self) -> Option<(usize, usize)> {
        self.t.final_answer.as_ref().map(|a| span_tuple(a.span))
    }
    #[getter]
    fn issues(&self) -> Vec<Issue> {
        self.t
            .issues
            .iter()
            .map(|i| Issue { kind: i.kind.as_str(), start: i.span.start, end: i.span.end, message: i.message.clone() })
            .collect()
    }
    /// The structure as a JSON string (spans in `str` indices).
    fn to_json(&self) -> String {
        self.t.to_json()
    }
    /// The structure as a dict (spans in `str` indices).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("json")?.call_method1("loads", (self.to_json(),))
    }
    fn __len__(&self) -> usize {
        self.t.len
    }
    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (Py<PyString>, Option<String>, Option<String>))> {
        let f = py.import("dlcot._core")?.getattr("_unpickle_trace")?;
        Ok((f, (self.text.clone_ref(py), self.problem.clone(), self.reference.clone())))
    }
    fn __repr__(&self) -> String {
        format!(
            "Trace(format={:?}, chars={}, sections={}, solutions={}, checks={}, final_answer={}, issues=[{}])",
            self.t.format.as_str(),
            self.t.len,
            self.t.sections.len(),
            self.t.solutions.len(),
            self.t.checks.len(),
            PyOpt(answer_text(&self.t.final_answer)),
            self.t.issues.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>().join(", ")
        )
    }
}

/// Parses with a safety net: parsing is meant to be total, but should a bug ever panic on
/// some text, that trace comes back unparsed with an `internal-error` issue instead of
/// killing the user's whole batch.
fn parse_guarded(text: &str, problem: Option<&str>) -> CoreTrace {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| trace::parse(text, problem))).unwrap_or_else(|e| {
        let why = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
        CoreTrace::unparsed(text, trace::IssueKind::InternalError, format!("dlcot failed to parse this text (please report it): {why}"))
    })
}

/// Parses (guarded) and labels against `reference` if given; spans stay byte offsets.
fn parse_labelled(text: &str, problem: Option<&str>, reference: Option<&str>) -> CoreTrace {
    let mut t = parse_guarded(text, problem);
    if let Some(r) = reference {
        t.label(text, r);
    }
    t
}

/// [`parse_labelled`] with spans converted to `str` indices.
fn parse_one(text: &str, problem: Option<&str>, reference: Option<&str>) -> CoreTrace {
    parse_labelled(text, problem, reference).to_char_offsets(text)
}

/// The text of a Python `str` as UTF-8. A `str` may hold lone surrogates (from
/// `json.loads("\"\\ud800\"")`), which UTF-8 cannot: each becomes `?`, one char for one, so
/// every index into the original `str` stays right.
fn utf8_of<'a>(s: &'a Bound<'_, PyString>) -> PyResult<std::borrow::Cow<'a, str>> {
    match s.to_cow() {
        Ok(c) => Ok(c),
        Err(_) => {
            let bytes = s.call_method1("encode", ("utf-8", "replace"))?;
            let bytes: Vec<u8> = bytes.extract()?;
            Ok(std::borrow::Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()))
        }
    }
}

/// Items per GIL-released stretch of a batch call: between stretches the binding checks for
/// signals, so Ctrl-C stops a long batch within a fraction of a second instead of at its end.
const SIGNAL_CHUNK: usize = 2048;

/// [`map_ordered`] with the GIL released, in chunks, checking for signals (Ctrl-C raises
/// KeyboardInterrupt) between them.
fn detach_map<T: Sync, R: Send>(py: Python<'_>, items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync + Send) -> PyResult<Vec<R>> {
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(SIGNAL_CHUNK) {
        py.check_signals()?;
        out.extend(py.detach(|| map_ordered(chunk, threads, &f)));
    }
    Ok(out)
}

/// Parses one response. Never raises for any `str`.
#[pyfunction]
#[pyo3(signature = (text, *, problem=None, reference=None))]
fn parse(py: Python<'_>, text: Bound<'_, PyString>, problem: Option<String>, reference: Option<String>) -> PyResult<Trace> {
    let s = utf8_of(&text)?;
    let t = py.detach(|| parse_one(&s, problem.as_deref(), reference.as_deref()));
    Ok(Trace { text: text.unbind(), problem, reference, t })
}

#[pyfunction]
#[pyo3(signature = (text, problem, reference=None))]
fn _unpickle_trace(py: Python<'_>, text: Bound<'_, PyString>, problem: Option<String>, reference: Option<String>) -> PyResult<Trace> {
    parse(py, text, problem, reference)
}

/// The `str` objects of `texts` and `problems`, type-checked, kept alive so their UTF-8 can be
/// borrowed (no copy) while the GIL is released.
struct Inputs<'py> {
    texts: Vec<Bound<'py, PyString>>,
    problems: Vec<Option<Bound<'py, PyString>>>,
    references: Vec<Option<Bound<'py, PyString>>>,
}

/// An optional sequence of `str | None`, one per text.
fn optional_strs<'py>(seq: Option<&Bound<'py, PyAny>>, name: &str, n: usize) -> PyResult<Vec<Option<Bound<'py, PyString>>>> {
    use pyo3::exceptions::PyTypeError;
    let Some(seq) = seq.filter(|p| !p.is_none()) else {
        return Ok(vec![None; n]);
    };
    if seq.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!("`{name}` must be a sequence of str or None, not a str")));
    }
    let mut out = Vec::with_capacity(n);
    for (i, item) in seq.try_iter().map_err(|_| PyTypeError::new_err(format!("`{name}` must be a sequence of str or None")))?.enumerate() {
        let item = item?;
        if item.is_none() {
            out.push(None);
        } else {
            out.push(Some(item.cast_into::<PyString>().map_err(|_| PyTypeError::new_err(format!("`{name}[{i}]` must be str or None")))?));
        }
    }
    if out.len() != n {
        return Err(PyValueError::new_err(format!("`{name}` has {} items but `texts` has {n}", out.len())));
    }
    Ok(out)
}

fn batch_inputs<'py>(
    texts: &Bound<'py, PyAny>,
    problems: Option<&Bound<'py, PyAny>>,
    references: Option<&Bound<'py, PyAny>>,
) -> PyResult<Inputs<'py>> {
    use pyo3::exceptions::PyTypeError;
    if texts.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("`texts` must be a sequence of str, not a str"));
    }
    let mut ts = Vec::new();
    for (i, item) in texts.try_iter().map_err(|_| PyTypeError::new_err("`texts` must be a sequence of str"))?.enumerate() {
        let item = item?;
        let s = item.cast_into::<PyString>().map_err(|e| {
            let name = e.into_inner().get_type().name().map(|n| n.to_string()).unwrap_or_default();
            PyTypeError::new_err(format!("`texts[{i}]` must be str, got {name}"))
        })?;
        ts.push(s);
    }
    let n = ts.len();
    Ok(Inputs { texts: ts, problems: optional_strs(problems, "problems", n)?, references: optional_strs(references, "references", n)? })
}

type Utf8<'a> = std::borrow::Cow<'a, str>;

impl<'py> Inputs<'py> {
    /// (text, problem, reference) as UTF-8, borrowed from the Python objects where possible.
    #[allow(clippy::type_complexity)]
    fn utf8(&self) -> PyResult<Vec<(Utf8<'_>, Option<Utf8<'_>>, Option<Utf8<'_>>)>> {
        self.texts
            .iter()
            .zip(&self.problems)
            .zip(&self.references)
            .map(|((t, p), r)| Ok((utf8_of(t)?, p.as_ref().map(utf8_of).transpose()?, r.as_ref().map(utf8_of).transpose()?)))
            .collect()
    }
}

/// Parses many responses in parallel (rayon, GIL released), results in input order.
#[pyfunction]
#[pyo3(signature = (texts, *, problems=None, references=None, num_threads=None))]
fn parse_batch<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyAny>,
    problems: Option<&Bound<'py, PyAny>>,
    references: Option<&Bound<'py, PyAny>>,
    num_threads: Option<usize>,
) -> PyResult<Vec<Trace>> {
    let threads = resolve_threads(num_threads)?;
    let inputs = batch_inputs(texts, problems, references)?;
    let items = inputs.utf8()?;
    let traces = detach_map(py, &items, threads, |(t, p, r)| parse_one(t, p.as_deref(), r.as_deref()))?;
    Ok(inputs
        .texts
        .iter()
        .zip(&items)
        .zip(traces)
        .map(|((obj, (_, problem, reference)), t)| Trace {
            text: obj.clone().unbind(),
            problem: problem.as_ref().map(|p| p.to_string()),
            reference: reference.as_ref().map(|r| r.to_string()),
            t,
        })
        .collect())
}

/// Parses many responses and returns each structure as a JSON string (the `dlcot segment`
/// hot path: no per-span Python objects).
#[pyfunction]
#[pyo3(signature = (texts, *, problems=None, references=None, num_threads=None))]
fn parse_batch_json<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyAny>,
    problems: Option<&Bound<'py, PyAny>>,
    references: Option<&Bound<'py, PyAny>>,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    let threads = resolve_threads(num_threads)?;
    let inputs = batch_inputs(texts, problems, references)?;
    let items = inputs.utf8()?;
    let out = py.detach(|| {
        map_ordered(&items, threads, |(t, p, r)| {
            // byte offsets converted while writing: no converted copy of the trace
            let trace = parse_labelled(t, p.as_deref(), r.as_deref());
            let ix = crate::span::CharIndex::new(t);
            let mut s = String::new();
            trace.write_json(|b| ix.char_of(b), &mut s);
            s
        })
    });
    PyList::new(py, out)
}

/// The final answer stated in `text` (last `\boxed{}`, "the final answer is", ...), or None.
#[pyfunction]
fn extract_answer(py: Python<'_>, text: Bound<'_, PyString>) -> PyResult<Option<String>> {
    let s = utf8_of(&text)?;
    Ok(py.detach(|| crate::answer::extract_answer(&s).map(|a| a.text)))
}

/// The bare answer of a reference field: a bare answer, or a worked solution's `\boxed{}` /
/// `#### N`.
#[pyfunction]
fn extract_reference(py: Python<'_>, text: Bound<'_, PyString>) -> PyResult<Option<String>> {
    let s = utf8_of(&text)?;
    Ok(py.detach(|| crate::answer::extract_reference(&s)))
}

/// Extracts the final answer of many texts in parallel.
#[pyfunction]
#[pyo3(signature = (texts, *, num_threads=None))]
fn extract_answer_batch(py: Python<'_>, texts: &Bound<'_, PyAny>, num_threads: Option<usize>) -> PyResult<Vec<Option<String>>> {
    let threads = resolve_threads(num_threads)?;
    let inputs = batch_inputs(texts, None, None)?;
    let items = inputs.utf8()?;
    detach_map(py, &items, threads, |(t, _, _)| crate::answer::extract_answer(t).map(|a| a.text))
}

/// The canonical form of a math answer (see the README: what normalisation does).
#[pyfunction]
fn normalize_answer(py: Python<'_>, answer: Bound<'_, PyString>) -> PyResult<String> {
    let s = utf8_of(&answer)?;
    Ok(py.detach(|| crate::equiv::normalize_answer(&s)))
}

/// Whether two answers are the same: True/False when the rules are sure, None when a symbolic
/// check is needed.
#[pyfunction]
fn equivalent(py: Python<'_>, pred: Bound<'_, PyString>, reference: Bound<'_, PyString>) -> PyResult<Option<bool>> {
    let (p, r) = (utf8_of(&pred)?, utf8_of(&reference)?);
    Ok(py.detach(|| crate::equiv::equivalent(&p, &r)))
}

/// `equivalent` over many (pred, reference) pairs, in parallel, order kept.
#[pyfunction]
#[pyo3(signature = (pairs, *, num_threads=None))]
fn equivalent_batch(py: Python<'_>, pairs: &Bound<'_, PyAny>, num_threads: Option<usize>) -> PyResult<Vec<Option<bool>>> {
    let threads = resolve_threads(num_threads)?;
    let mut owned: Vec<(String, String)> = Vec::new();
    for (i, item) in pairs.try_iter().map_err(|_| pyo3::exceptions::PyTypeError::new_err("`pairs` must be a sequence of (pred, reference) pairs"))?.enumerate() {
        let item = item?;
        let (a, b): (Bound<'_, PyString>, Bound<'_, PyString>) =
            item.extract().map_err(|_| pyo3::exceptions::PyTypeError::new_err(format!("`pairs[{i}]` must be a (str, str) pair")))?;
        owned.push((utf8_of(&a)?.into_owned(), utf8_of(&b)?.into_owned()));
    }
    detach_map(py, &owned, threads, |(a, b)| crate::equiv::equivalent(a, b))
}

/// The cue lexicon as (phrase, class) pairs, for documentation and inspection.
#[pyfunction]
fn cue_lexicon() -> Vec<(&'static str, String)> {
    crate::cues::CUES
        .iter()
        .map(|(p, c)| {
            let class = match c {
                crate::cues::Cue::Check(k) => format!("check:{}", k.as_str()),
                other => format!("{other:?}").to_lowercase(),
            };
            (*p, class)
        })
        .collect()
}

// ---- near-duplicate engine -------------------------------------------------------------

use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};

/// The `str` items of `texts` as UTF-8, type-checked (a `str` itself is refused).
fn str_items<'py>(texts: &Bound<'py, PyAny>, name: &str) -> PyResult<Vec<Bound<'py, PyString>>> {
    use pyo3::exceptions::PyTypeError;
    if texts.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!("`{name}` must be a sequence of str, not a str")));
    }
    let mut out = Vec::new();
    for (i, item) in texts.try_iter().map_err(|_| PyTypeError::new_err(format!("`{name}` must be a sequence of str")))?.enumerate() {
        let item = item?;
        out.push(item.cast_into::<PyString>().map_err(|e| {
            let tn = e.into_inner().get_type().name().map(|n| n.to_string()).unwrap_or_default();
            PyTypeError::new_err(format!("`{name}[{i}]` must be str, got {tn}"))
        })?);
    }
    Ok(out)
}

/// `(cluster_id, keep)` arrays.
type ClusterArrays<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<bool>>);
/// (indexed text, shared n-grams) pairs and the query's n-gram count.
type NgramHits = (Vec<(u32, u32)>, u32);

/// Row-major u32 values of a 2-D signature array with `num_perm` columns.
fn signature_rows(sigs: &PyReadonlyArray2<'_, u32>, num_perm: usize, name: &str) -> PyResult<Vec<u32>> {
    let shape = sigs.shape();
    if shape[1] != num_perm {
        return Err(PyValueError::new_err(format!("`{name}` must have num_perm={num_perm} columns, got shape ({}, {})", shape[0], shape[1])));
    }
    // a C-contiguous array is copied as is; any other layout (Fortran order, strided views)
    // is read row by row
    Ok(match sigs.as_slice() {
        Ok(s) if sigs.is_c_contiguous() => s.to_vec(),
        _ => sigs.as_array().rows().into_iter().flat_map(|r| r.into_iter().copied().collect::<Vec<_>>()).collect(),
    })
}

/// Shingling + MinHash signatures (see the README's near-duplicate section).
#[pyclass(frozen, module = "dlcot._core")]
pub struct MinHasher {
    m: crate::minhash::MinHasher,
}

#[pymethods]
impl MinHasher {
    #[new]
    #[pyo3(signature = (*, num_perm=128, ngram=5, seed=0, unit="word"))]
    fn new(num_perm: usize, ngram: usize, seed: u64, unit: &str) -> PyResult<Self> {
        let unit = crate::minhash::Unit::parse(unit)?;
        Ok(MinHasher { m: crate::minhash::MinHasher::new(num_perm, ngram, seed, unit)? })
    }
    #[getter]
    fn num_perm(&self) -> usize {
        self.m.num_perm
    }
    #[getter]
    fn ngram(&self) -> usize {
        self.m.ngram
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.m.seed
    }
    #[getter]
    fn unit(&self) -> &'static str {
        self.m.unit.as_str()
    }
    /// Signatures of `texts` as one `(len(texts), num_perm)` uint32 array (GIL released, rayon).
    #[pyo3(signature = (texts, *, num_threads=None))]
    fn signatures<'py>(&self, py: Python<'py>, texts: &Bound<'py, PyAny>, num_threads: Option<usize>) -> PyResult<Bound<'py, PyArray2<u32>>> {
        let threads = resolve_threads(num_threads)?;
        let items = str_items(texts, "texts")?;
        let utf8: Vec<Utf8<'_>> = items.iter().map(utf8_of).collect::<PyResult<_>>()?;
        let n = utf8.len();
        let mut flat = Vec::with_capacity(n * self.m.num_perm);
        for chunk in utf8.chunks(SIGNAL_CHUNK) {
            py.check_signals()?;
            flat.extend(py.detach(|| self.m.signatures(chunk, threads)));
        }
        flat.into_pyarray(py).reshape([n, self.m.num_perm])
    }
    /// The signature of one text, a `(num_perm,)` uint32 array.
    fn signature<'py>(&self, py: Python<'py>, text: Bound<'py, PyString>) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let s = utf8_of(&text)?;
        Ok(py.detach(|| self.m.signature(&s)).into_pyarray(py))
    }
    /// The shingles of `text` as strings, in order, repeats included.
    fn shingles(&self, py: Python<'_>, text: Bound<'_, PyString>) -> PyResult<Vec<String>> {
        let s = utf8_of(&text)?;
        Ok(py.detach(|| self.m.shingles(&s)))
    }
    /// The distinct 64-bit shingle hashes of `text`, sorted (uint64 array).
    fn shingle_hashes<'py>(&self, py: Python<'py>, text: Bound<'py, PyString>) -> PyResult<Bound<'py, PyArray1<u64>>> {
        let s = utf8_of(&text)?;
        Ok(py.detach(|| self.m.shingle_set(&s)).into_pyarray(py))
    }
    /// Exact Jaccard similarity of the two texts' shingle sets (1.0 when both have none).
    fn jaccard(&self, py: Python<'_>, a: Bound<'_, PyString>, b: Bound<'_, PyString>) -> PyResult<f64> {
        let (a, b) = (utf8_of(&a)?, utf8_of(&b)?);
        Ok(py.detach(|| self.m.jaccard(&a, &b)))
    }
    /// Exact Jaccard of many (a, b) pairs, in parallel (float64 array).
    #[pyo3(signature = (pairs, *, num_threads=None))]
    fn jaccard_pairs<'py>(&self, py: Python<'py>, pairs: &Bound<'py, PyAny>, num_threads: Option<usize>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let threads = resolve_threads(num_threads)?;
        let mut owned: Vec<(String, String)> = Vec::new();
        for (i, item) in pairs.try_iter().map_err(|_| pyo3::exceptions::PyTypeError::new_err("`pairs` must be a sequence of (str, str) pairs"))?.enumerate() {
            let (a, b): (Bound<'_, PyString>, Bound<'_, PyString>) =
                item?.extract().map_err(|_| pyo3::exceptions::PyTypeError::new_err(format!("`pairs[{i}]` must be a (str, str) pair")))?;
            owned.push((utf8_of(&a)?.into_owned(), utf8_of(&b)?.into_owned()));
        }
        Ok(py.detach(|| self.m.jaccard_pairs(&owned, threads)).into_pyarray(py))
    }
    fn __getnewargs_ex__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, pyo3::types::PyDict>)> {
        let kw = pyo3::types::PyDict::new(py);
        kw.set_item("num_perm", self.m.num_perm)?;
        kw.set_item("ngram", self.m.ngram)?;
        kw.set_item("seed", self.m.seed)?;
        kw.set_item("unit", self.m.unit.as_str())?;
        Ok((PyTuple::empty(py), kw))
    }
    fn __repr__(&self) -> String {
        format!("MinHasher(num_perm={}, ngram={}, seed={}, unit={:?})", self.m.num_perm, self.m.ngram, self.m.seed, self.m.unit.as_str())
    }
}

/// Banded LSH over MinHash signatures, clustered by union-find; can spill to a directory.
#[pyclass(name = "LSH", module = "dlcot._core")]
pub struct Lsh {
    lsh: crate::lsh::Lsh,
    #[pyo3(get)]
    candidates: u64,
    #[pyo3(get)]
    links: u64,
}

#[pymethods]
impl Lsh {
    #[new]
    #[pyo3(signature = (*, threshold=0.8, num_perm=128, bands=None, rows=None, weights=(0.5, 0.5), max_compare=8, spill_dir=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        threshold: f64, num_perm: usize, bands: Option<usize>, rows: Option<usize>, weights: (f64, f64), max_compare: usize,
        spill_dir: Option<std::path::PathBuf>,
    ) -> PyResult<Self> {
        let br = match (bands, rows) {
            (Some(b), Some(r)) => Some((b, r)),
            (None, None) => None,
            _ => return Err(PyValueError::new_err("invalid `bands`: give both `bands` and `rows`, or neither")),
        };
        let lsh = crate::lsh::Lsh::new(threshold, num_perm, br, weights, max_compare, spill_dir.as_deref())?;
        Ok(Lsh { lsh, candidates: 0, links: 0 })
    }
    #[getter]
    fn threshold(&self) -> f64 {
        self.lsh.threshold
    }
    #[getter]
    fn num_perm(&self) -> usize {
        self.lsh.num_perm
    }
    #[getter]
    fn bands(&self) -> usize {
        self.lsh.bands
    }
    #[getter]
    fn rows(&self) -> usize {
        self.lsh.rows
    }
    #[getter]
    fn max_compare(&self) -> usize {
        self.lsh.max_compare
    }
    fn __len__(&self) -> usize {
        self.lsh.len()
    }
    /// Band keys of signatures: a `(n, bands)` uint64 array.
    #[pyo3(signature = (signatures, *, num_threads=None))]
    fn band_keys<'py>(&self, py: Python<'py>, signatures: PyReadonlyArray2<'py, u32>, num_threads: Option<usize>) -> PyResult<Bound<'py, PyArray2<u64>>> {
        let threads = resolve_threads(num_threads)?;
        let sigs = signature_rows(&signatures, self.lsh.num_perm, "signatures")?;
        let n = sigs.len() / self.lsh.num_perm;
        let keys = py.detach(|| self.lsh.band_keys(&sigs, threads));
        keys.into_pyarray(py).reshape([n, self.lsh.bands])
    }
    /// Appends items (rows of a `(n, num_perm)` uint32 array); they are numbered in order.
    #[pyo3(signature = (signatures, *, num_threads=None))]
    fn insert(&mut self, py: Python<'_>, signatures: PyReadonlyArray2<'_, u32>, num_threads: Option<usize>) -> PyResult<()> {
        let threads = resolve_threads(num_threads)?;
        let sigs = signature_rows(&signatures, self.lsh.num_perm, "signatures")?;
        let lsh = &mut self.lsh;
        py.detach(|| lsh.insert(&sigs, threads))?;
        Ok(())
    }
    /// Clusters everything inserted: `(cluster_id, keep)`, int64 and bool arrays; a cluster is
    /// named by its first item, which is the one kept.
    #[pyo3(signature = (*, verify=true, num_threads=None))]
    fn clusters<'py>(&mut self, py: Python<'py>, verify: bool, num_threads: Option<usize>) -> PyResult<ClusterArrays<'py>> {
        let threads = resolve_threads(num_threads)?;
        let lsh = &mut self.lsh;
        let c = py.detach(|| lsh.clusters(verify, threads))?;
        self.candidates = c.candidates;
        self.links = c.links;
        let keep: Vec<bool> = c.roots.iter().enumerate().map(|(i, &r)| r as usize == i).collect();
        let ids: Vec<i64> = c.roots.into_iter().map(i64::from).collect();
        Ok((ids.into_pyarray(py), keep.into_pyarray(py)))
    }
    fn __repr__(&self) -> String {
        format!(
            "LSH(threshold={}, num_perm={}, bands={}, rows={}, items={})",
            self.lsh.threshold, self.lsh.num_perm, self.lsh.bands, self.lsh.rows, self.lsh.len()
        )
    }
}

/// An in-memory LSH index to query against (e.g. benchmark problems).
#[pyclass(frozen, name = "LSHQuery", module = "dlcot._core")]
pub struct LshQuery {
    q: crate::lsh::QueryIndex,
    #[pyo3(get)]
    threshold: f64,
}

#[pymethods]
impl LshQuery {
    #[new]
    #[pyo3(signature = (signatures, *, threshold=0.8, bands=None, rows=None, weights=(0.5, 0.5)))]
    fn new(signatures: PyReadonlyArray2<'_, u32>, threshold: f64, bands: Option<usize>, rows: Option<usize>, weights: (f64, f64)) -> PyResult<Self> {
        let np = signatures.shape()[1];
        let sigs = signature_rows(&signatures, np, "signatures")?;
        let (b, r) = match (bands, rows) {
            (Some(b), Some(r)) => (b, r),
            (None, None) => crate::lsh::optimal_params(threshold, np, weights.0, weights.1)?,
            _ => return Err(PyValueError::new_err("invalid `bands`: give both `bands` and `rows`, or neither")),
        };
        crate::lsh::Lsh::new(threshold, np, Some((b, r)), weights, 1, None)?;
        Ok(LshQuery { q: crate::lsh::QueryIndex::new(&sigs, np, b, r), threshold })
    }
    /// For each row of `signatures`: the indexed items estimated at least `threshold` similar,
    /// as (index, estimate) pairs, best first.
    fn query(&self, py: Python<'_>, signatures: PyReadonlyArray2<'_, u32>) -> PyResult<Vec<Vec<(u32, f64)>>> {
        let np = self.q.num_perm;
        let sigs = signature_rows(&signatures, np, "signatures")?;
        Ok(py.detach(|| sigs.chunks(np).map(|s| self.q.query(s, self.threshold)).collect()))
    }
}

/// Exact shingle overlap against indexed texts (decontamination).
#[pyclass(frozen, module = "dlcot._core")]
pub struct NgramIndex {
    idx: crate::minhash::NgramIndex,
}

#[pymethods]
impl NgramIndex {
    #[new]
    #[pyo3(signature = (texts, *, ngram=13, unit="word", num_threads=None))]
    fn new(py: Python<'_>, texts: &Bound<'_, PyAny>, ngram: usize, unit: &str, num_threads: Option<usize>) -> PyResult<Self> {
        let threads = resolve_threads(num_threads)?;
        let m = crate::minhash::MinHasher::new(1, ngram, 0, crate::minhash::Unit::parse(unit)?)?;
        let items = str_items(texts, "texts")?;
        let utf8: Vec<Utf8<'_>> = items.iter().map(utf8_of).collect::<PyResult<_>>()?;
        let idx = py.detach(|| crate::minhash::NgramIndex::new(m, &utf8, threads))?;
        Ok(NgramIndex { idx })
    }
    fn __len__(&self) -> usize {
        self.idx.len()
    }
    /// Distinct n-grams of indexed text `i`.
    fn size(&self, i: usize) -> PyResult<u32> {
        if i >= self.idx.len() {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!("`i`={i} is out of range for {} texts", self.idx.len())));
        }
        Ok(self.idx.size(i))
    }
    /// For each text: ((index, shared n-grams) pairs, most shared first; the text's n-gram count).
    #[pyo3(signature = (texts, *, num_threads=None))]
    fn query(&self, py: Python<'_>, texts: &Bound<'_, PyAny>, num_threads: Option<usize>) -> PyResult<Vec<NgramHits>> {
        let threads = resolve_threads(num_threads)?;
        let items = str_items(texts, "texts")?;
        let utf8: Vec<Utf8<'_>> = items.iter().map(utf8_of).collect::<PyResult<_>>()?;
        detach_map(py, &utf8, threads, |t| self.idx.query(t))
    }
}

/// The links one LSH bucket contributes (the rule the single-process path applies), for
/// distributed runs: `ids` in any order with their signature rows.
#[pyfunction]
#[pyo3(signature = (ids, signatures, *, threshold=None, max_compare=8))]
fn lsh_bucket_links(ids: Vec<u32>, signatures: PyReadonlyArray2<'_, u32>, threshold: Option<f64>, max_compare: usize) -> PyResult<Vec<(u32, u32)>> {
    let np = signatures.shape()[1];
    let sigs = signature_rows(&signatures, np, "signatures")?;
    if ids.len() * np != sigs.len() {
        return Err(PyValueError::new_err(format!("`ids` has {} items but `signatures` has {} rows", ids.len(), sigs.len() / np.max(1))));
    }
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&k| ids[k]);
    let members: Vec<u32> = order.iter().map(|&k| ids[k]).collect();
    let pos: std::collections::HashMap<u32, usize> = ids.iter().enumerate().map(|(k, &id)| (id, k)).collect();
    let sig = |id: u32| &sigs[pos[&id] * np..(pos[&id] + 1) * np];
    Ok(crate::lsh::bucket_links(&members, sig, threshold, max_compare.max(1)))
}

/// Connected components of `n` items linked by `(a, b)` pairs: each item's component, named by
/// its smallest index (int64 array).
#[pyfunction]
fn connected_components<'py>(py: Python<'py>, n: usize, links: Vec<(u32, u32)>) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let roots = crate::lsh::components(n, &links)?;
    Ok(roots.into_iter().map(i64::from).collect::<Vec<_>>().into_pyarray(py))
}

/// The (bands, rows) datasketch would choose for `threshold` and `num_perm`.
#[pyfunction]
#[pyo3(signature = (threshold, num_perm, *, weights=(0.5, 0.5)))]
fn lsh_params(threshold: f64, num_perm: usize, weights: (f64, f64)) -> PyResult<(usize, usize)> {
    Ok(crate::lsh::optimal_params(threshold, num_perm, weights.0, weights.1)?)
}

/// rapidfuzz's `fuzz.token_set_ratio` (0..100), as the within-trace clustering uses it.
#[pyfunction]
fn token_set_ratio(a: &str, b: &str) -> f64 {
    crate::cluster::token_set_ratio(a, b)
}

// ---- pruning ---------------------------------------------------------------------------

/// One removed span of the original text (`str` indices), the part it belongs to and why.
#[pyclass(frozen, get_all, eq, module = "dlcot._core")]
#[derive(Clone, PartialEq)]
pub struct Edit {
    start: usize,
    end: usize,
    kind: &'static str,
    index: usize,
    reason: String,
}

#[pymethods]
impl Edit {
    #[new]
    fn new(start: usize, end: usize, kind: String, index: usize, reason: String) -> Self {
        Edit { start, end, kind: leak_kind(&kind), index, reason }
    }
    fn __getnewargs__(&self) -> (usize, usize, &'static str, usize, String) {
        (self.start, self.end, self.kind, self.index, self.reason.clone())
    }
    fn __repr__(&self) -> String {
        format!("Edit(start={}, end={}, kind={:?}, index={}, reason={:?})", self.start, self.end, self.kind, self.index, self.reason)
    }
}

/// The outcome of pruning one trace.
#[pyclass(frozen, get_all, module = "dlcot._core")]
#[derive(Clone)]
pub struct Pruned {
    /// "kept", "unsolvable" (no correct solution; rejected by the policy) or "answer-changed"
    /// (the cut text's final answer differed: the original is kept whole).
    status: &'static str,
    policy: &'static str,
    /// The pruned response (the original when nothing was cut or status is not "kept").
    text: String,
    edits: Vec<Edit>,
    labels: Vec<Option<&'static str>>,
    first_correct: Option<usize>,
    solution_leaders: Vec<usize>,
    check_leaders: Vec<usize>,
    /// Each solution's span in the original text (`str` indices).
    solution_spans: Vec<(usize, usize)>,
    final_answer: Option<String>,
    chars_before: usize,
    chars_after: usize,
    /// The SFT assistant turn of `text`: `<think>\n{reasoning}\n</think>\n\n{summary}`.
    assistant: String,
    /// Where kept parts meet over a cut in `text` (`str` indices), for smoothing joins.
    joins: Vec<usize>,
}

#[pymethods]
impl Pruned {
    fn __repr__(&self) -> String {
        format!(
            "Pruned(status={:?}, policy={:?}, edits={}, chars {} -> {}, first_correct={})",
            self.status, self.policy, self.edits.len(), self.chars_before, self.chars_after, PyOpt(self.first_correct)
        )
    }
}

fn parse_label(s: &str) -> PyResult<crate::trace::Label> {
    use crate::trace::Label;
    Ok(match s {
        "correct" => Label::Correct,
        "incorrect" => Label::Incorrect,
        "incomplete" => Label::Incomplete,
        "undecided" => Label::Undecided,
        _ => return Err(PyValueError::new_err(format!("invalid `labels`: {s:?} is not correct/incorrect/incomplete/undecided"))),
    })
}

fn prune_options(policy: &str, keep_unsolvable: bool, threshold: f64) -> PyResult<crate::prune::Options> {
    let p = crate::prune::policy(policy).ok_or_else(|| {
        let names: Vec<&str> = crate::prune::POLICIES.iter().map(|p| p.name).collect();
        PyValueError::new_err(format!("invalid `policy`: {policy:?}; choose one of {}", names.join(", ")))
    })?;
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(PyValueError::new_err(format!("invalid `threshold`: must be in (0, 1], got {threshold}")));
    }
    Ok(crate::prune::Options { policy: p, keep_unsolvable, threshold, similarity: crate::cluster::Similarity::new(3, 8)? })
}

/// Judge decisions for one text, as the Python caller gave them (`str` indices).
#[derive(Clone, Default)]
struct PyOverrides {
    labels: Option<Vec<crate::trace::Label>>,
    solution_leaders: Option<Vec<usize>>,
    check_leaders: Option<Vec<usize>>,
    error_spans: Vec<(usize, usize, usize)>,
}

impl PyOverrides {
    fn is_empty(&self) -> bool {
        self.labels.is_none() && self.solution_leaders.is_none() && self.check_leaders.is_none() && self.error_spans.is_empty()
    }

    /// The core's overrides for `text`, error spans turned into byte offsets (out-of-range
    /// ones clipped to the text).
    fn core(&self, text: &str) -> crate::prune::Overrides {
        let byte_of = |chars: usize| text.char_indices().nth(chars).map_or(text.len(), |(b, _)| b);
        crate::prune::Overrides {
            solution_leaders: self.solution_leaders.clone(),
            check_leaders: self.check_leaders.clone(),
            error_spans: self.error_spans.iter().map(|&(i, s, e)| (i, Span::new(byte_of(s), byte_of(e.max(s))))).collect(),
        }
    }
}

fn prune_one(text: &str, problem: Option<&str>, reference: Option<&str>, labels: Option<&[crate::trace::Label]>, opts: &crate::prune::Options) -> Pruned {
    prune_one_with(text, problem, reference, &PyOverrides { labels: labels.map(<[_]>::to_vec), ..Default::default() }, opts)
}

fn prune_one_with(text: &str, problem: Option<&str>, reference: Option<&str>, over: &PyOverrides, opts: &crate::prune::Options) -> Pruned {
    let labels = over.labels.as_deref();
    let run = || {
        let mut t = parse_labelled(text, problem, reference);
        if let Some(ls) = labels {
            for (s, l) in t.solutions.iter_mut().zip(ls) {
                s.label = Some(*l);
            }
        }
        let p = if over.is_empty() { crate::prune::prune(text, &t, opts) } else { crate::prune::prune_with(text, &t, opts, &over.core(text)) };
        (t, p)
    };
    let (t, p) = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(x) => x,
        Err(_) => {
            let t = CoreTrace::unparsed(text, trace::IssueKind::InternalError, "dlcot failed to prune this text".into());
            let p = crate::prune::Pruned {
                status: crate::prune::Status::Kept,
                text: text.to_string(),
                edits: Vec::new(),
                solution_leaders: Vec::new(),
                check_leaders: Vec::new(),
                first_correct: None,
                final_answer: None,
                reasoning: t.reasoning,
                summary: t.summary,
                joins: Vec::new(),
            };
            (t, p)
        }
    };
    let ix = crate::span::CharIndex::new(text);
    let chars_before = ix.char_of(text.len());
    let chars_after = p.text.chars().count();
    let assistant = p.assistant_turn();
    let joins = if p.joins.is_empty() {
        Vec::new()
    } else {
        let oi = crate::span::CharIndex::new(&p.text);
        p.joins.iter().map(|&b| oi.char_of(b)).collect()
    };
    Pruned {
        assistant,
        joins,
        status: p.status.as_str(),
        policy: opts.policy.name,
        edits: p
            .edits
            .iter()
            .map(|e| Edit {
                start: ix.char_of(e.span.start),
                end: ix.char_of(e.span.end),
                kind: e.kind.as_str(),
                index: e.index,
                reason: e.reason.to_string_repr(),
            })
            .collect(),
        text: p.text,
        labels: t.solutions.iter().map(|s| s.label.map(|l| l.as_str())).collect(),
        solution_spans: t.solutions.iter().map(|s| (ix.char_of(s.span.start), ix.char_of(s.span.end))).collect(),
        first_correct: p.first_correct,
        solution_leaders: p.solution_leaders,
        check_leaders: p.check_leaders,
        final_answer: p.final_answer,
        chars_before,
        chars_after,
    }
}

/// Prunes one response by a policy (see `dlcot.POLICIES`). `labels` (one per solution)
/// override the fast labels, e.g. after a symbolic check settled the undecided ones;
/// `solution_leaders` / `check_leaders` the lexical clusters; `error_spans` are wrong steps
/// found by a judge: (solution index, start, end) in `str` indices.
#[pyfunction]
#[pyo3(signature = (text, *, problem=None, reference=None, policy="dlcot", keep_unsolvable=false, threshold=0.4, labels=None, solution_leaders=None, check_leaders=None, error_spans=None))]
#[allow(clippy::too_many_arguments)]
fn prune(
    py: Python<'_>, text: Bound<'_, PyString>, problem: Option<String>, reference: Option<String>, policy: &str, keep_unsolvable: bool,
    threshold: f64, labels: Option<Vec<String>>, solution_leaders: Option<Vec<usize>>, check_leaders: Option<Vec<usize>>,
    error_spans: Option<Vec<(usize, usize, usize)>>,
) -> PyResult<Pruned> {
    let opts = prune_options(policy, keep_unsolvable, threshold)?;
    let over = overrides_of(labels, solution_leaders, check_leaders, error_spans, "")?;
    let s = utf8_of(&text)?;
    Ok(py.detach(|| prune_one_with(&s, problem.as_deref(), reference.as_deref(), &over, &opts)))
}

fn check_leaders_arg(leaders: &Option<Vec<usize>>, name: &str, at: &str) -> PyResult<()> {
    if let Some(l) = leaders {
        if !l.iter().enumerate().all(|(i, &x)| x <= i && l[x] == x) {
            return Err(PyValueError::new_err(format!(
                "invalid `{name}`{at}: each entry must be its own index or an earlier index that is its own leader, got {l:?}"
            )));
        }
    }
    Ok(())
}

fn overrides_of(
    labels: Option<Vec<String>>, solution_leaders: Option<Vec<usize>>, check_leaders: Option<Vec<usize>>,
    error_spans: Option<Vec<(usize, usize, usize)>>, at: &str,
) -> PyResult<PyOverrides> {
    let labels = labels
        .map(|ls| ls.iter().map(|l| parse_label(l).map_err(|_| PyValueError::new_err(format!("invalid `labels`{at}: {l:?} is not correct/incorrect/incomplete/undecided")))).collect::<PyResult<Vec<_>>>())
        .transpose()?;
    check_leaders_arg(&solution_leaders, "solution_leaders", at)?;
    check_leaders_arg(&check_leaders, "check_leaders", at)?;
    let error_spans = error_spans.unwrap_or_default();
    if let Some(&(i, s, e)) = error_spans.iter().find(|&&(_, s, e)| e < s) {
        return Err(PyValueError::new_err(format!("invalid `error_spans`{at}: ({i}, {s}, {e}) ends before it starts")));
    }
    Ok(PyOverrides { labels, solution_leaders, check_leaders, error_spans })
}

/// Per-item optional values of a batch argument: None, or a sequence of `n` items (each None
/// or a value).
fn per_item<'py, T: for<'a> pyo3::FromPyObject<'a, 'py>>(arg: Option<&Bound<'py, PyAny>>, name: &str, n: usize) -> PyResult<Vec<Option<T>>> {
    let Some(arg) = arg else { return Ok((0..n).map(|_| None).collect()) };
    let mut out = Vec::with_capacity(n);
    for (i, item) in arg.try_iter().map_err(|_| pyo3::exceptions::PyTypeError::new_err(format!("`{name}` must be a sequence")))?.enumerate() {
        let item = item?;
        out.push(if item.is_none() {
            None
        } else {
            Some(item.extract::<T>().map_err(|_| pyo3::exceptions::PyTypeError::new_err(format!("`{name}[{i}]` has the wrong type")))?)
        });
    }
    if out.len() != n {
        return Err(PyValueError::new_err(format!("`{name}` has {} items, expected one per text ({n})", out.len())));
    }
    Ok(out)
}

/// Prunes many responses in parallel (rayon, GIL released), results in input order. The
/// override arguments are None or one entry per text (None where the text has none).
#[pyfunction]
#[pyo3(signature = (texts, *, problems=None, references=None, policy="dlcot", keep_unsolvable=false, threshold=0.4, num_threads=None, labels=None, solution_leaders=None, check_leaders=None, error_spans=None))]
#[allow(clippy::too_many_arguments)]
fn prune_batch<'py>(
    py: Python<'py>, texts: &Bound<'py, PyAny>, problems: Option<&Bound<'py, PyAny>>, references: Option<&Bound<'py, PyAny>>, policy: &str,
    keep_unsolvable: bool, threshold: f64, num_threads: Option<usize>, labels: Option<&Bound<'py, PyAny>>,
    solution_leaders: Option<&Bound<'py, PyAny>>, check_leaders: Option<&Bound<'py, PyAny>>, error_spans: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Pruned>> {
    let opts = prune_options(policy, keep_unsolvable, threshold)?;
    let threads = resolve_threads(num_threads)?;
    let inputs = batch_inputs(texts, problems, references)?;
    let n = inputs.texts.len();
    let items = inputs.utf8()?;
    if labels.is_none() && solution_leaders.is_none() && check_leaders.is_none() && error_spans.is_none() {
        return detach_map(py, &items, threads, |(t, p, r)| prune_one(t, p.as_deref(), r.as_deref(), None, &opts));
    }
    let labels: Vec<Option<Vec<String>>> = per_item(labels, "labels", n)?;
    let sl: Vec<Option<Vec<usize>>> = per_item(solution_leaders, "solution_leaders", n)?;
    let cl: Vec<Option<Vec<usize>>> = per_item(check_leaders, "check_leaders", n)?;
    let es: Vec<Option<Vec<(usize, usize, usize)>>> = per_item(error_spans, "error_spans", n)?;
    let mut overs = Vec::with_capacity(n);
    for (i, (((l, s), c), e)) in labels.into_iter().zip(sl).zip(cl).zip(es).enumerate() {
        overs.push(overrides_of(l, s, c, e, &format!("[{i}]"))?);
    }
    let work: Vec<_> = items.iter().zip(&overs).collect();
    detach_map(py, &work, threads, |((t, p, r), o)| prune_one_with(t, p.as_deref(), r.as_deref(), o, &opts))
}

/// The policies as (name, summary) pairs.
#[pyfunction]
fn policies() -> Vec<(&'static str, &'static str)> {
    crate::prune::POLICIES.iter().map(|p| (p.name, p.summary)).collect()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DlcotError", m.py().get_type::<DlcotError>())?;
    m.add_class::<Trace>()?;
    m.add_class::<Section>()?;
    m.add_class::<Solution>()?;
    m.add_class::<Check>()?;
    m.add_class::<Issue>()?;
    m.add_function(wrap_pyfunction!(parse, m)?)?;
    m.add_function(wrap_pyfunction!(_unpickle_trace, m)?)?;
    m.add_function(wrap_pyfunction!(parse_batch, m)?)?;
    m.add_function(wrap_pyfunction!(parse_batch_json, m)?)?;
    m.add_function(wrap_pyfunction!(extract_answer, m)?)?;
    m.add_function(wrap_pyfunction!(extract_answer_batch, m)?)?;
    m.add_function(wrap_pyfunction!(extract_reference, m)?)?;
    m.add_function(wrap_pyfunction!(cue_lexicon, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_answer, m)?)?;
    m.add_function(wrap_pyfunction!(equivalent, m)?)?;
    m.add_function(wrap_pyfunction!(equivalent_batch, m)?)?;
    m.add_class::<MinHasher>()?;
    m.add_class::<Lsh>()?;
    m.add_class::<LshQuery>()?;
    m.add_class::<NgramIndex>()?;
    m.add_class::<Clusters>()?;
    m.add_function(wrap_pyfunction!(lsh_bucket_links, m)?)?;
    m.add_function(wrap_pyfunction!(connected_components, m)?)?;
    m.add_function(wrap_pyfunction!(lsh_params, m)?)?;
    m.add_function(wrap_pyfunction!(token_set_ratio, m)?)?;
    m.add_class::<Edit>()?;
    m.add_class::<Pruned>()?;
    m.add_function(wrap_pyfunction!(prune, m)?)?;
    m.add_function(wrap_pyfunction!(prune_batch, m)?)?;
    m.add_function(wrap_pyfunction!(policies, m)?)?;
    Ok(())
}
