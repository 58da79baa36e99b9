"""Relevance by meaning: how close a source page's words are to the target's, by a small
static embedding model (WordLlama, whose weights ship inside its wheel: loaded from the
package folder with downloads off, so nothing is fetched at run time). Lexical overlap misses
"marathon training plan" against "running shoes"; an embedding does not, in English and in
French alike.

Texts are embedded once per distinct text (and kept, bounded, across calls: batch chunks and
API requests meet the same targets again and again); a pair's similarity is the cosine of its
two normalised vectors."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

_VECTORS: dict[str, np.ndarray] = {}
_MAX_VECTORS = 200_000
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _model() -> Any:
    import wordllama
    from wordllama import WordLlama

    return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)


def _embedded(texts: list[str]) -> np.ndarray:
    """Normalised vectors of ``texts`` (distinct), from the cache or the model."""
    with _LOCK:
        missing = [t for t in texts if t not in _VECTORS]
        if missing:
            if len(_VECTORS) + len(missing) > _MAX_VECTORS:  # bounded: a long-running service
                _VECTORS.clear()
            vectors = _model().embed(missing, norm=True)
            _VECTORS.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
        return np.stack([_VECTORS[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)


def similarity(left: list[str | None], right: list[str | None]) -> np.ndarray:
    """Cosine similarity of each pair of texts (NaN where either text is empty)."""
    out = np.full(len(left), np.nan)
    keep = [i for i, (a, b) in enumerate(zip(left, right, strict=True)) if a and b]
    if not keep:
        return out
    a_texts = sorted({left[i] for i in keep})  # type: ignore[type-var]
    b_texts = sorted({right[i] for i in keep})  # type: ignore[type-var]
    a_index = {t: k for k, t in enumerate(a_texts)}
    b_index = {t: k for k, t in enumerate(b_texts)}
    a, b = _embedded(a_texts), _embedded(b_texts)
    ia = np.asarray([a_index[left[i]] for i in keep])  # type: ignore[index]
    ib = np.asarray([b_index[right[i]] for i in keep])  # type: ignore[index]
    out[keep] = np.einsum("ij,ij->i", a[ia], b[ib]).astype(np.float64)
    return out
