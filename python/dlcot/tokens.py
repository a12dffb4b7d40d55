"""Token counts with a real tokenizer, offline.

A :class:`TokenCounter` wraps a Hugging Face ``tokenizers.Tokenizer`` (the Rust library behind
every fast tokenizer): ``--tokenizer PATH`` loads any local ``tokenizer.json``. The default is
DeepSeek-R1-Distill-Qwen's own ``tokenizer.json``, shipped inside the package
(``dlcot/data/``, 1.9 MB gzipped, MIT; provenance in ``data/NOTICE.md``): exact for the
R1-Distill-Qwen models and QwQ-32B, about 2% high for R1-Distill-Llama traces. Nothing is
downloaded at run time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Union

#: The default tokenizer: DeepSeek-R1-Distill-Qwen's tokenizer.json, bundled (see data/NOTICE.md).
DEFAULT_FILE = "data/r1-distill-qwen.tokenizer.json.gz"
DEFAULT_NAME = "deepseek-r1-distill-qwen (bundled)"
DEFAULT_SHA256 = "88145e3c3249adc2546ede277e9819d6e405e19072456e4b521cbc724bd60773"


class TokenCounter:
    """Counts tokens of many texts at once (the tokenizer's own Rust threads).

    Args:
        tokenizer: A ``tokenizers.Tokenizer``.
        name: What to call it in reports (a path or a package name).
    """

    def __init__(self, tokenizer, name: str):
        self.tokenizer = tokenizer
        self.name = name

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike]) -> "TokenCounter":
        """Loads a ``tokenizer.json`` (or a directory holding one)."""
        p = Path(path)
        if p.is_dir():
            p = p / "tokenizer.json"
        if not p.is_file():
            raise FileNotFoundError(f"no tokenizer.json at {path}")
        try:
            from tokenizers import Tokenizer
        except ImportError as e:  # pragma: no cover - tokenizers is a core dependency
            raise ImportError("token counts need the `tokenizers` package: pip install tokenizers") from e
        try:
            tok = Tokenizer.from_file(str(p))
        except Exception as e:
            raise ValueError(f"invalid `tokenizer`: {p} is not a tokenizers JSON file ({e})") from e
        return cls(tok, str(path))

    def count(self, texts: Sequence[str]) -> list[int]:
        """Token count of each text (no special tokens added)."""
        if not texts:
            return []
        encs = self.tokenizer.encode_batch_fast(list(texts), add_special_tokens=False) if hasattr(
            self.tokenizer, "encode_batch_fast"
        ) else self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def count_with_offsets(self, texts: Sequence[str]) -> list[tuple[int, list[int]]]:
        """(token count, end char offset of each token) of each text: the tokens before any
        char position are ``bisect_right(ends, pos)``."""
        if not texts:
            return []
        encs = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [(len(e.ids), [end for _, end in e.offsets]) for e in encs]

    def __repr__(self) -> str:
        return f"TokenCounter({self.name!r})"


def default_token_counter() -> TokenCounter:
    """The bundled DeepSeek-R1-Distill-Qwen tokenizer."""
    import gzip
    from importlib.resources import files

    from tokenizers import Tokenizer

    data = gzip.decompress(files("dlcot").joinpath(DEFAULT_FILE).read_bytes())
    return TokenCounter(Tokenizer.from_str(data.decode("utf-8")), DEFAULT_NAME)


def load_token_counter(spec: Union[None, str, os.PathLike], *, num_threads: Optional[int] = None) -> Optional[TokenCounter]:
    """None -> the bundled default; "none" -> None (sizes in chars); else a tokenizer.json path."""
    if num_threads is not None:
        os.environ.setdefault("RAYON_RS_NUM_CPUS", str(num_threads))
    if spec is None:
        return default_token_counter()
    if isinstance(spec, str) and spec == "none":
        return None
    return TokenCounter.from_file(spec)
