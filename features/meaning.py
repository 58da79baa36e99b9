"""Relevance by meaning: how close a source page's words are to the target's, by a small
static embedding model (WordLlama, whose weights ship inside its wheel: loaded from the
package folder with downloads off, so nothing is fetched at run time). Word overlap misses
"marathon training plan" against "running shoes"; word vectors do not, in English and in
French alike.

WordLlama embeds a text as the average of its tokens' vectors. A side's vector here is the
sum of its words' token vectors, which is that average up to scale (and cosine ignores
scale), so it equals WordLlama's embedding of the words as one text (tested); but each
distinct word is tokenised once and kept across calls. Every page is a new text, not a new vocabulary:
after the first chunk of a profile almost every word is known, and the model's work per
link is a sum of vectors.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

DIM = 128
"""The first 128 of WordLlama's 256 dimensions (its Matryoshka training puts the most
information first): half the work, and on the hand-judged pairs of the real exports
(``benchmarks/eval_relevance``) they separate on-topic from off-topic as well as all 256."""
_VECTORS: dict[str, np.ndarray] = {}
_MAX_VECTORS = 500_000
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _model() -> Any:
    import wordllama
    from wordllama import WordLlama

    return WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, disable_download=True, trunc_dim=DIM
    )


def word_vectors(words: list[str]) -> np.ndarray:
    """The sum of each distinct word's token vectors (rows in the words' order), from the cache
    or the model."""
    with _LOCK:
        missing = [w for w in words if w not in _VECTORS]
        if len(_VECTORS) + len(missing) > _MAX_VECTORS:  # bounded: a long-running service
            _VECTORS.clear()
            missing = list(words)
        if missing:
            model = _model()
            table = model.embedding
            for word, encoded in zip(missing, model.tokenize(missing), strict=True):
                ids = np.asarray(encoded.ids)[np.asarray(encoded.attention_mask) > 0]  # no padding
                _VECTORS[word] = table[ids].sum(axis=0, dtype=np.float32)
        if not words:
            return np.zeros((0, DIM), np.float32)
        return np.stack([_VECTORS[w] for w in words])


def side_vectors(lists: pl.Series) -> np.ndarray:
    """Each list of words as one vector (rows × ``DIM``; NaN for an empty or null list): a
    sparse (lists × distinct words) count matrix times the words' vectors, so no list's
    word vectors are ever laid out one by one."""
    from scipy import sparse

    lengths = lists.list.len().fill_null(0).cast(pl.Int64).to_numpy()
    flat = lists.explode().drop_nulls()  # an empty list explodes to one null
    distinct = flat.unique(maintain_order=True)
    ids = (
        pl.DataFrame({"w": flat})
        .join(
            pl.DataFrame({"w": distinct, "id": np.arange(len(distinct))}),
            on="w",
            how="left",
            maintain_order="left",
        )["id"]
        .to_numpy()
    )
    counts = sparse.csr_matrix(
        (np.ones(len(ids), np.float32), ids, np.concatenate([[0], np.cumsum(lengths)])),
        shape=(len(lengths), len(distinct)),
    )
    out = np.asarray(counts @ word_vectors(distinct.to_list()), dtype=np.float32)
    out[lengths == 0] = np.nan
    return out


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-by-row cosine of two arrays of vectors (NaN where either row is NaN or zero)."""
    dot = np.einsum("ij,ij->i", a, b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, dot / np.where(norms > 0, norms, 1.0), np.nan)
