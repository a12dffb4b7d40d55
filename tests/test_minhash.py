"""The near-duplicate engine's building blocks: MinHasher, LSH, LSHQuery, NgramIndex and the
helpers of the distributed path (lsh_params, lsh_bucket_links, connected_components).

Hypothesis properties cover arbitrary text (NUL, RTL marks, lone braces and backslashes, huge
repeats): hashing never raises, the shingles are those of a Python model of the normalisation
(ASCII), case / whitespace / LaTeX-spacing variants hash alike, batch == single, pickling keeps
the configuration, and the MinHash estimate stays within its binomial error of the exact
Jaccard. The LSH is checked on the developers' traces (../shared/data, skipped when absent):
spilled to disk it clusters exactly as in memory, it is deterministic, every cluster is named
by and keeps its first item, and the per-bucket rule plus connected components (what a
distributed run does) gives the same clusters. Band parameters are compared with datasketch.

Known defects are strict xfails whose reason says what differs.
"""

from __future__ import annotations

import math
import pickle
import random
import re
import string
from collections import defaultdict

import numpy as np
import pytest
from conftest import load_corpus, needs_shared
from dlcot import _core as core
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ODD = [
    "\x00", "\u200f", "\u200e", "\u202e", "\ufeff", "\u0301", "{", "}", "\\", "\\\\", "\\,", "\\;", "\\!",
    "\\quad", "\\left(", "\\right)", "\\frac{1}{2}", "\\boxed{", "x=2", "é", "日本語", "😀", "ΣΑΣ", "İ", "ß",
    "ǅ", "\n", "\t", " ", "\r\n", "\u00a0", "\u3000", "\x1c", "$", "Wait, ", "Alternatively, ",
]
odd = st.sampled_from(ODD)
mixed_text = st.lists(st.one_of(odd, st.text(max_size=8)), max_size=40).map("".join)
huge_repeat = st.builds(lambda s, k: s * k, st.one_of(odd, st.text(min_size=1, max_size=5)), st.integers(1000, 20000))
any_text = st.one_of(st.text(), mixed_text, huge_repeat)

HASHERS = [
    core.MinHasher(num_perm=64, ngram=1),
    core.MinHasher(num_perm=64, ngram=3),
    core.MinHasher(num_perm=32, ngram=5, seed=7),
    core.MinHasher(num_perm=32, ngram=1, unit="char"),
    core.MinHasher(num_perm=32, ngram=4, unit="char"),
]
MAX32 = np.iinfo(np.uint32).max


# ============================================================================================
# MinHasher


@SETTINGS
@given(any_text)
@example("")
@example("\x00" * 5)
@example("}{" * 3000)
def test_hashing_never_raises_and_shingles_agree_with_hashes(text):
    for m in HASHERS:
        sig = m.signature(text)
        assert sig.shape == (m.num_perm,) and sig.dtype == np.uint32
        sh = m.shingles(text)
        hs = m.shingle_hashes(text)
        assert hs.dtype == np.uint64
        assert np.all(hs[1:] > hs[:-1]), "shingle hashes are sorted and distinct"
        # one hash per distinct shingle string (64-bit collisions aside)
        assert len(hs) == len(set(sh))
        assert bool(np.all(sig == MAX32)) == (len(sh) == 0)
        assert m.jaccard(text, text) == 1.0
        if len(sh) > 1:
            assert all(s for s in sh)


# a Python model of the normalisation, exact for ASCII (where Python's \w and \s are Rust's)
_SPACING = re.compile(r"\\(?:[,;:!]|\s|(?:quad|qquad|left|right|displaystyle|textstyle)(?![a-z]))")


def _model_units(text: str, unit: str) -> list[str]:
    norm = _SPACING.sub(" ", text.lower())
    if unit == "word":
        return re.findall(r"\w+|[^\w\s]", norm, flags=re.ASCII)
    return list(" ".join(norm.split()))


def _model_shingles(text: str, unit: str, n: int) -> list[str]:
    us = _model_units(text, unit)
    sep = " " if unit == "word" else ""
    if not us:
        return []
    if len(us) < n:
        return [sep.join(us)]
    return [sep.join(us[i:i + n]) for i in range(len(us) - n + 1)]


ascii_text = st.one_of(
    st.text(alphabet=string.printable, max_size=80),
    st.lists(st.sampled_from(["\\,", "\\;", "\\:", "\\!", "\\ ", "\\quad", "\\qquadx", "\\Left(", "\\right",
                              "\\\\", "\\", "\\frac", "x_1", "A=B", "  ", "\n", "{", "}", "12.5", "Ab"]),
             max_size=20).map("".join),
)


@SETTINGS
@given(ascii_text, st.sampled_from(["word", "char"]), st.integers(1, 6))
def test_shingles_follow_the_documented_normalisation(text, unit, n):
    m = core.MinHasher(num_perm=1, ngram=n, unit=unit)
    assert m.shingles(text) == _model_shingles(text, unit, n)


@pytest.mark.xfail(
    strict=True,
    reason="the word units are documented as the regex \\w+|[^\\w\\s], but Rust's is_alphanumeric also counts "
    "Other_Alphabetic marks (Devanagari vowel signs) as word characters and its is_whitespace leaves out "
    "U+001C..U+001F, so a Python peer using `re` tokenises these texts differently",
)
@pytest.mark.parametrize("text", ["नमस्ते दुनिया", "a\x1cb", "x\u0345y"])
def test_word_units_match_python_regex_beyond_ascii(text):
    m = core.MinHasher(num_perm=1, ngram=1)
    norm = " ".join(text.lower().split())
    assert m.shingles(text) == re.findall(r"\w+|[^\w\s]", norm)


@SETTINGS
@given(st.one_of(st.text(), mixed_text), st.integers(0, 2**64 - 1))
def test_equal_texts_give_equal_signatures_across_instances(text, seed):
    a = core.MinHasher(num_perm=32, ngram=3, seed=seed)
    b = core.MinHasher(num_perm=32, ngram=3, seed=seed)
    copy = "".join(list(text))  # an equal but distinct str object
    assert np.array_equal(a.signature(text), b.signature(copy))
    if a.shingles(text):
        other = core.MinHasher(num_perm=32, ngram=3, seed=seed ^ 1)
        assert not np.array_equal(a.signature(text), other.signature(text)), "the seed picks the permutations"


# characters assigned in Python's Unicode tables (later additions could lower differently in Rust)
assigned = st.text(alphabet=st.characters(exclude_categories=("Cn", "Cs")), max_size=60)


@SETTINGS
@given(st.one_of(assigned, mixed_text))
def test_lowercase_variant_has_the_same_signature(text):
    for m in HASHERS:
        assert np.array_equal(m.signature(text), m.signature(text.lower())), m


@SETTINGS
@given(st.text(alphabet=string.ascii_letters + string.digits + " ,.=+-()", max_size=80))
def test_ascii_case_variants_have_the_same_signature(text):
    for m in HASHERS:
        assert np.array_equal(m.signature(text.upper()), m.signature(text.swapcase())), m


# tokens without whitespace; a trailing backslash would turn the following space into `\ `
token = st.text(
    alphabet=st.characters(exclude_categories=("Cn", "Cs", "Zs", "Zl", "Zp", "Cc")) | st.sampled_from("{}$=^_\\"),
    min_size=1, max_size=8,
).filter(lambda t: not t.endswith("\\"))
SEPARATORS = [" ", "  ", "\n", "\t", "\r\n", "\u00a0", "\u3000", " \n\n ", "\\,", "\\;", "\\!", "\\:", "\\ ",
              " \\quad ", " \\qquad ", " \\left ", "\\right ", " \\displaystyle ", " \\textstyle\t"]


@SETTINGS
@given(st.lists(token, min_size=1, max_size=25), st.data())
def test_whitespace_and_latex_spacing_variants_have_the_same_signature(tokens, data):
    plain = " ".join(tokens)
    seps = [data.draw(st.sampled_from(SEPARATORS)) for _ in range(len(tokens) - 1)]
    lead = data.draw(st.sampled_from(["", " ", "\n\n", "\\,"]))
    trail = data.draw(st.sampled_from(["", " ", "\n", " \\quad "]))
    variant = lead + "".join(t + s for t, s in zip(tokens, seps + [""])) + trail
    for m in HASHERS:
        assert np.array_equal(m.signature(plain), m.signature(variant)), (m, plain, variant)
        assert m.jaccard(plain, variant) == 1.0


def test_spacing_variants_on_a_hand_example():
    m = core.MinHasher(num_perm=64, ngram=2)
    a = r"x = \frac{1}{2}, so \left( x + 1 \right) = 3/2"
    b = "X=\\frac{1}{2},\\quad so\n\\left(x+1\\right)  =  3/2"
    assert np.array_equal(m.signature(a), m.signature(b))
    # and a real change is not absorbed
    assert not np.array_equal(m.signature(a), m.signature(a.replace("3/2", "5/2")))


@SETTINGS
@given(st.lists(any_text.filter(lambda t: len(t) < 5000), max_size=12))
def test_batch_equals_single_and_threads_do_not_matter(texts):
    for m in HASHERS[:3]:
        batch = m.signatures(texts)
        assert batch.shape == (len(texts), m.num_perm) and batch.dtype == np.uint32
        assert np.array_equal(batch, m.signatures(texts, num_threads=1))
        assert np.array_equal(batch, m.signatures(texts, num_threads=3))
        for row, t in zip(batch, texts):
            assert np.array_equal(row, m.signature(t))
    pairs = list(zip(texts, reversed(texts)))
    m = HASHERS[1]
    got = m.jaccard_pairs(pairs)
    assert np.array_equal(got, m.jaccard_pairs(pairs, num_threads=1))
    assert got.tolist() == [m.jaccard(a, b) for a, b in pairs]


@needs_shared
def test_batch_equals_single_on_real_traces():
    texts = [r["response"] for r in load_corpus()[::10]]
    m = core.MinHasher(num_perm=128, ngram=5)
    batch = m.signatures(texts)
    assert np.array_equal(batch, m.signatures(texts, num_threads=1))
    for row, t in zip(batch[::7], texts[::7]):
        assert np.array_equal(row, m.signature(t))


@SETTINGS
@given(st.integers(1, 300), st.integers(1, 12), st.integers(0, 2**64 - 1), st.sampled_from(["word", "char"]), mixed_text)
def test_minhasher_pickles(num_perm, ngram, seed, unit, text):
    m = core.MinHasher(num_perm=num_perm, ngram=ngram, seed=seed, unit=unit)
    m2 = pickle.loads(pickle.dumps(m))
    assert (m2.num_perm, m2.ngram, m2.seed, m2.unit) == (num_perm, ngram, seed, unit)
    assert repr(m2) == repr(m)
    assert np.array_equal(m2.signature(text), m.signature(text))


def _token_sets(na: int, nb: int, k: int) -> tuple[str, str, float]:
    """Two texts of distinct word tokens with |A| = na, |B| = nb, |A & B| = k."""
    a = " ".join(f"w{i}" for i in range(na))
    b = " ".join(f"w{i}" for i in range(na - k, na - k + nb))
    return a, b, k / (na + nb - k)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.integers(1, 400), st.integers(1, 400), st.data(), st.sampled_from([64, 128, 256]), st.integers(0, 2**32))
def test_estimate_is_within_its_binomial_error(na, nb, data, num_perm, seed):
    k = data.draw(st.integers(0, min(na, nb)))
    a, b, j = _token_sets(na, nb, k)
    m = core.MinHasher(num_perm=num_perm, ngram=1, seed=seed)
    assert abs(m.jaccard(a, b) - j) < 1e-12, "exact Jaccard of the token sets"
    est = float(np.mean(m.signature(a) == m.signature(b)))
    assert abs(est - j) <= 4 * math.sqrt(j * (1 - j) / num_perm) + 0.02, (est, j)


def test_estimate_is_unbiased():
    rng = random.Random(0)
    errs, outside = [], 0
    for _ in range(400):
        na, nb = rng.randint(20, 400), rng.randint(20, 400)
        a, b, j = _token_sets(na, nb, rng.randint(0, min(na, nb)))
        m = core.MinHasher(num_perm=128, ngram=1, seed=rng.getrandbits(64))
        est = float(np.mean(m.signature(a) == m.signature(b)))
        errs.append(est - j)
        outside += abs(est - j) > 3 * math.sqrt(j * (1 - j) / 128) + 1e-9
    # 400 pairs: the mean error of an unbiased estimator is within ~0.003 of 0
    assert abs(float(np.mean(errs))) < 0.006, np.mean(errs)
    assert outside <= 8, outside  # 3-sigma misses: 0.3% expected


# ============================================================================================
# lsh_params against datasketch


def _datasketch_param():
    lsh = pytest.importorskip("datasketch.lsh")
    return lsh._optimal_param


@pytest.mark.parametrize("num_perm", [16, 64, 128, 256])
def test_lsh_params_equal_datasketch(num_perm):
    opt = _datasketch_param()
    diffs = []
    for t in [round(0.05 * i, 2) for i in range(2, 20)]:
        ours, theirs = core.lsh_params(t, num_perm), tuple(opt(t, num_perm, 0.5, 0.5))
        if ours != theirs:
            diffs.append((t, ours, theirs))
    assert not diffs, diffs


@pytest.mark.parametrize("weights", [(0.1, 0.9), (0.9, 0.1), (0.3, 0.7)])
def test_lsh_params_equal_datasketch_with_weights(weights):
    opt = _datasketch_param()
    for t in (0.3, 0.5, 0.7, 0.85, 0.95):
        assert core.lsh_params(t, 128, weights=weights) == tuple(opt(t, 128, *weights)), t


def test_lsh_default_bands_are_lsh_params():
    for t in (0.3, 0.5, 0.8, 0.9):
        lsh = core.LSH(threshold=t, num_perm=128)
        assert (lsh.bands, lsh.rows) == core.lsh_params(t, 128)
        assert lsh.bands * lsh.rows <= 128


# ============================================================================================
# argument errors


def _sigs(rows: int, cols: int) -> np.ndarray:
    return np.zeros((rows, cols), dtype=np.uint32)


ARG_ERRORS = [
    ("MinHasher num_perm=0", lambda: core.MinHasher(num_perm=0), ValueError, "num_perm"),
    ("MinHasher num_perm=8193", lambda: core.MinHasher(num_perm=8193), ValueError, "num_perm"),
    ("MinHasher ngram=0", lambda: core.MinHasher(ngram=0), ValueError, "ngram"),
    ("MinHasher ngram=65", lambda: core.MinHasher(ngram=65), ValueError, "ngram"),
    ("MinHasher unit=x", lambda: core.MinHasher(unit="x"), ValueError, "unit"),
    ("signatures of a str", lambda: core.MinHasher().signatures("abc"), TypeError, "texts"),
    ("signatures of ints", lambda: core.MinHasher().signatures(["a", 1]), TypeError, "texts[1]"),
    ("signatures num_threads=0", lambda: core.MinHasher().signatures(["a"], num_threads=0), ValueError, "num_threads"),
    ("jaccard_pairs of a str", lambda: core.MinHasher().jaccard_pairs("ab"), TypeError, "pairs[0]"),
    ("LSH threshold=1.5", lambda: core.LSH(threshold=1.5), ValueError, "threshold"),
    ("LSH threshold=0", lambda: core.LSH(threshold=0.0), ValueError, "threshold"),
    ("LSH threshold=nan", lambda: core.LSH(threshold=float("nan")), ValueError, "threshold"),
    ("LSH num_perm=0", lambda: core.LSH(num_perm=0), ValueError, "num_perm"),
    ("LSH bands without rows", lambda: core.LSH(bands=4), ValueError, "bands"),
    ("LSH rows without bands", lambda: core.LSH(rows=4), ValueError, "bands"),
    ("LSH bands*rows > num_perm", lambda: core.LSH(bands=20, rows=10, num_perm=128), ValueError, "bands"),
    ("LSH max_compare=0", lambda: core.LSH(max_compare=0), ValueError, "max_compare"),
    ("LSH weights=(0,0)", lambda: core.LSH(weights=(0.0, 0.0)), ValueError, "weights"),
    ("LSH insert wrong columns", lambda: core.LSH(num_perm=128).insert(_sigs(2, 64)), ValueError, "signatures"),
    ("LSH band_keys wrong columns", lambda: core.LSH(num_perm=128).band_keys(_sigs(2, 64)), ValueError, "signatures"),
    ("LSHQuery threshold=1.5", lambda: core.LSHQuery(_sigs(2, 64), threshold=1.5), ValueError, "threshold"),
    ("LSHQuery bands without rows", lambda: core.LSHQuery(_sigs(2, 64), bands=4), ValueError, "bands"),
    ("LSHQuery query wrong columns", lambda: core.LSHQuery(_sigs(2, 64)).query(_sigs(1, 32)), ValueError, "signatures"),
    ("NgramIndex of a str", lambda: core.NgramIndex("abc"), TypeError, "texts"),
    ("NgramIndex ngram=0", lambda: core.NgramIndex(["a"], ngram=0), ValueError, "ngram"),
    ("NgramIndex unit=x", lambda: core.NgramIndex(["a"], unit="x"), ValueError, "unit"),
    ("NgramIndex query of a str", lambda: core.NgramIndex(["a b"]).query("a b"), TypeError, "texts"),
    ("NgramIndex size out of range", lambda: core.NgramIndex(["a"]).size(1), IndexError, "`i`"),
    ("lsh_params threshold=1.5", lambda: core.lsh_params(1.5, 128), ValueError, "threshold"),
    ("lsh_params threshold=0", lambda: core.lsh_params(0.0, 128), ValueError, "threshold"),
    ("lsh_params weights", lambda: core.lsh_params(0.5, 128, weights=(-1.0, 1.0)), ValueError, "weights"),
    ("lsh_bucket_links ids vs rows", lambda: core.lsh_bucket_links([1], _sigs(2, 4)), ValueError, "ids"),
    ("connected_components link out of range", lambda: core.connected_components(2, [(0, 5)]), ValueError, "links"),
]


@pytest.mark.parametrize("call, exc, name", [a[1:] for a in ARG_ERRORS], ids=[a[0] for a in ARG_ERRORS])
def test_argument_errors_name_the_argument(call, exc, name):
    with pytest.raises(exc) as e:
        call()
    assert name in str(e.value), str(e.value)


def test_lsh_params_refuses_num_perm_zero():
    with pytest.raises(ValueError, match="num_perm"):
        core.lsh_params(0.5, 0)


def test_high_threshold_with_many_permutations_works():
    lsh = core.LSH(threshold=0.99, num_perm=2048)
    sigs = core.MinHasher(num_perm=2048, ngram=2).signatures(["a b c d e f", "a b c d e f", "x y z"])
    lsh.insert(sigs)
    ids, _keep = lsh.clusters()
    assert ids.tolist() == [0, 0, 2]


# ============================================================================================
# LSH on real traces


def _edited(text: str, rng: random.Random) -> str:
    """A near-duplicate: three words replaced and the last 2% dropped."""
    words = text.split(" ")
    for _ in range(3):
        words[rng.randrange(len(words))] = "EDITED"
    keep = max(1, int(len(words) * 0.98))
    return " ".join(words[:keep])


@pytest.fixture(scope="module")
def real_signatures():
    recs = load_corpus()
    if not recs:
        pytest.skip("traces_normalised.jsonl not found")
    rng = random.Random(0)
    texts = [r["response"] for r in recs]
    long_enough = [i for i, t in enumerate(texts) if len(t.split(" ")) >= 800]  # edits keep J >= ~0.95
    originals = rng.sample(long_enough, 300)
    copies = [_edited(texts[i], rng) for i in originals]
    m = core.MinHasher(num_perm=128, ngram=5)
    return m.signatures(texts + copies), len(texts), originals


def _memory_clusters(sigs, **kw):
    lsh = core.LSH(threshold=0.8, num_perm=128, **kw)
    lsh.insert(sigs)
    ids, keep = lsh.clusters()
    return lsh, ids, keep


def test_spilled_lsh_clusters_like_memory(real_signatures, tmp_path):
    sigs, _n, _ = real_signatures
    mem, ids, keep = _memory_clusters(sigs)
    spill = core.LSH(threshold=0.8, num_perm=128, spill_dir=tmp_path / "spill")
    for k in range(0, len(sigs), 500):  # in chunks, as a streaming run inserts
        spill.insert(sigs[k:k + 500])
    assert len(spill) == len(sigs)
    ids2, keep2 = spill.clusters()
    assert np.array_equal(ids, ids2)
    assert np.array_equal(keep, keep2)
    assert (spill.candidates, spill.links) == (mem.candidates, mem.links)
    files = sorted(p.name for p in (tmp_path / "spill").iterdir())
    assert "signatures.u32" in files and f"band{mem.bands - 1:04d}.u64" in files
    assert (tmp_path / "spill" / "signatures.u32").stat().st_size == sigs.size * 4


def test_lsh_finds_every_edited_copy(real_signatures):
    sigs, n, originals = real_signatures
    _, ids, keep = _memory_clusters(sigs)
    for c, i in enumerate(originals):
        assert ids[n + c] == ids[i], (i, ids[i], ids[n + c])
        assert not keep[n + c]


def test_lsh_is_deterministic_and_keeps_the_first_member(real_signatures):
    sigs, _n, _ = real_signatures
    lsh, ids, keep = _memory_clusters(sigs)
    ids_again, keep_again = lsh.clusters()
    ids_1, keep_1 = lsh.clusters(num_threads=1)
    assert np.array_equal(ids, ids_again) and np.array_equal(ids, ids_1)
    assert np.array_equal(keep, keep_again) and np.array_equal(keep, keep_1)
    members = defaultdict(list)
    for i, c in enumerate(ids.tolist()):
        members[c].append(i)
    for c, ms in members.items():
        assert ms[0] == c, "a cluster is named by its first item"
    assert keep.tolist() == [c == i for i, c in enumerate(ids.tolist())]
    assert int(keep.sum()) <= len(sigs) - 300, "the 300 edited copies are not kept"


def test_strided_signature_views_are_read_by_rows(real_signatures):
    sigs, _, _ = real_signatures
    view = sigs[::2]  # not contiguous
    lsh = core.LSH(threshold=0.8)
    assert np.array_equal(lsh.band_keys(view), lsh.band_keys(np.ascontiguousarray(view)))
    assert core.lsh_bucket_links([0, 1, 2], view[:3], threshold=0.5) == core.lsh_bucket_links(
        [0, 1, 2], np.ascontiguousarray(view[:3]), threshold=0.5
    )


def test_fortran_ordered_signatures_are_read_by_rows():
    sigs = core.MinHasher(num_perm=4, ngram=1).signatures(["a", "b", "c"])
    lsh = core.LSH(num_perm=4, bands=2, rows=2)
    assert np.array_equal(lsh.band_keys(np.asfortranarray(sigs)), lsh.band_keys(sigs))
    q = core.LSHQuery(sigs, threshold=0.5, bands=2, rows=2)
    assert q.query(np.asfortranarray(sigs)) == q.query(sigs) == [[(0, 1.0)], [(1, 1.0)], [(2, 1.0)]]


def test_bucket_rule_plus_components_equal_lsh_clusters(real_signatures):
    """What a distributed run does: per band bucket, lsh_bucket_links; then connected_components."""
    sigs, _n, _ = real_signatures
    lsh, ids, _ = _memory_clusters(sigs, max_compare=4)
    keys = lsh.band_keys(sigs)
    assert keys.shape == (len(sigs), lsh.bands) and keys.dtype == np.uint64
    links, candidates = [], 0
    rng = random.Random(1)
    for band in range(lsh.bands):
        buckets = defaultdict(list)
        for i, k in enumerate(keys[:, band].tolist()):
            buckets[k].append(i)
        for members in buckets.values():
            if len(members) < 2:
                continue
            candidates += len(members) - 1
            shuffled = members[:]
            rng.shuffle(shuffled)  # ids may arrive in any order
            links += core.lsh_bucket_links(shuffled, sigs[shuffled], threshold=0.8, max_compare=4)
    assert len(links) == lsh.links and candidates == lsh.candidates
    assert np.array_equal(core.connected_components(len(sigs), links), ids)


def test_lsh_without_verification_links_every_candidate(real_signatures):
    sigs, _, _ = real_signatures
    lsh, ids_v, _ = _memory_clusters(sigs)
    ids_nv, _ = lsh.clusters(verify=False)
    assert lsh.links == lsh.candidates
    # unverified links are a superset: every verified cluster lies inside one unverified cluster
    by = defaultdict(set)
    for a, b in zip(ids_v.tolist(), ids_nv.tolist()):
        by[a].add(b)
    assert all(len(v) == 1 for v in by.values())


def test_lsh_separates_unrelated_texts():
    texts = [" ".join(f"d{d}w{w}" for w in range(60)) for d in range(50)]
    sigs = core.MinHasher(num_perm=128, ngram=3).signatures(texts + texts[:5])
    lsh = core.LSH(threshold=0.5)
    lsh.insert(sigs)
    ids, keep = lsh.clusters()
    assert ids.tolist() == list(range(50)) + [0, 1, 2, 3, 4]
    assert keep.sum() == 50


# ============================================================================================
# connected_components and lsh_bucket_links against Python references


def _components_reference(n: int, links) -> list[int]:
    adj = defaultdict(list)
    for a, b in links:
        adj[a].append(b)
        adj[b].append(a)
    out = [-1] * n
    for s in range(n):  # visiting in index order names each component by its smallest index
        if out[s] >= 0:
            continue
        stack = [s]
        out[s] = s
        while stack:
            x = stack.pop()
            for y in adj[x]:
                if out[y] < 0:
                    out[y] = s
                    stack.append(y)
    return out


@SETTINGS
@given(st.integers(0, 60).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, max(n - 1, 0))),
                         max_size=80 if n else 0))))
def test_connected_components_name_by_smallest_index(case):
    n, links = case
    got = core.connected_components(n, links)
    assert got.dtype == np.int64
    assert got.tolist() == _components_reference(n, links)


def _bucket_reference(ids, sigs, threshold, max_compare):
    order = sorted(range(len(ids)), key=lambda k: ids[k])
    out = []
    for pos in range(1, len(order)):
        i = order[pos]
        if threshold is None:
            out.append((ids[i], ids[order[0]]))
            continue
        for k in order[:pos][:max_compare]:
            if np.mean(sigs[i] == sigs[k]) >= threshold:
                out.append((ids[i], ids[k]))
                break
    return out


@SETTINGS
@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=20, unique=True),
    st.data(),
    st.one_of(st.none(), st.sampled_from([0.25, 0.5, 0.75, 1.0])),
    st.integers(1, 6),
)
def test_bucket_links_follow_the_rule(ids, data, threshold, max_compare):
    sigs = np.array(data.draw(st.lists(st.lists(st.integers(0, 2), min_size=4, max_size=4),
                                       min_size=len(ids), max_size=len(ids))), dtype=np.uint32)
    got = core.lsh_bucket_links(ids, sigs, threshold=threshold, max_compare=max_compare)
    assert got == _bucket_reference(ids, sigs, threshold, max_compare)


# ============================================================================================
# LSHQuery


@pytest.fixture(scope="module")
def problems():
    recs = load_corpus()
    if not recs:
        pytest.skip("traces_normalised.jsonl not found")
    seen, out = set(), []
    for r in recs:
        p = r["problem"]
        if p not in seen and len(p.split()) >= 40:
            seen.add(p)
            out.append(p)
    return out[:400]


def test_lsh_query_finds_edited_problems(problems):
    m = core.MinHasher(num_perm=128, ngram=3)
    sigs = m.signatures(problems)
    q = core.LSHQuery(sigs, threshold=0.7)
    rng = random.Random(3)
    picks = rng.sample(range(len(problems)), 50)
    queries = m.signatures([problems[i] + " Answer in dollars." for i in picks])  # J >= ~0.9
    results = q.query(queries)
    assert len(results) == len(picks)
    for i, row, qs in zip(picks, results, queries):
        assert row, problems[i][:60]
        assert any(j == i for j, _ in row)
        for j, est in row:
            assert est >= 0.7
            assert est == float(np.mean(sigs[j] == qs)), "the estimate is the share of equal positions"
        assert [e for _, e in row] == sorted((e for _, e in row), reverse=True)


def test_lsh_query_does_not_match_unrelated_text(problems):
    m = core.MinHasher(num_perm=128, ngram=3)
    q = core.LSHQuery(m.signatures(problems), threshold=0.5)
    unrelated = ["The mitochondria is the powerhouse of the cell, and photosynthesis happens in chloroplasts. " * 3]
    assert q.query(m.signatures(unrelated)) == [[]]


# ============================================================================================
# NgramIndex


def test_ngram_index_finds_an_embedded_benchmark_problem(problems):
    recs = load_corpus()
    idx = core.NgramIndex(problems, ngram=13)
    assert len(idx) == len(problems)
    # training texts: an unrelated trace's response, then one benchmark problem quoted verbatim
    pset = set(problems)
    hosts = [r["response"] for r in recs if r["problem"] not in pset][:40]
    rng = random.Random(5)
    picks = rng.sample(range(len(problems)), len(hosts))
    texts = [h[: len(h) // 2] + "\n\n" + problems[k] + "\n\n" + h[len(h) // 2:] for h, k in zip(hosts, picks)]
    results = idx.query(texts)
    m13 = core.MinHasher(num_perm=1, ngram=13)
    for (hits, count), k, t in zip(results, picks, texts):
        assert count == len(set(m13.shingles(t)))
        assert hits and hits[0][0] == k, (k, hits[:3])
        assert hits[0][1] == idx.size(k), "every 13-gram of the problem is in the text"
        assert idx.size(k) == len(set(m13.shingles(problems[k])))
    # the unrelated hosts alone share no 13-gram with any problem
    assert [hits for hits, _ in idx.query(hosts)] == [[]] * len(hosts)


@SETTINGS
@given(
    st.lists(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"]), max_size=12).map(" ".join), min_size=1, max_size=6),
    st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"]), max_size=20).map(" ".join),
    st.integers(1, 4),
)
@example(docs=["a"], text="a a", n=2)
@example(docs=["x y", "x"], text="q x y q", n=3)
def test_ngram_index_counts_shared_shingles(docs, text, n):
    """Shared distinct n-grams; an indexed text shorter than n units is one shingle and is found
    as a window of its own length (rust/src/minhash.rs, NgramIndex)."""
    idx = core.NgramIndex(docs, ngram=n)
    m = core.MinHasher(num_perm=1, ngram=n)
    units = core.MinHasher(num_perm=1, ngram=1).shingles
    (hits, count), = idx.query([text])
    mine = set(m.shingles(text))
    assert count == len(mine)
    tu = units(text)
    expect = []
    for i, d in enumerate(docs):
        du = units(d)
        if 0 < len(du) < n:
            shared = int(any(tu[k:k + len(du)] == du for k in range(len(tu) - len(du) + 1)))
        else:
            shared = len(mine & set(m.shingles(d)))
        if shared:
            expect.append((i, shared))
    expect.sort(key=lambda x: (-x[1], x[0]))
    assert hits == expect
    assert [idx.size(i) for i in range(len(docs))] == [len(set(m.shingles(d))) for d in docs]
