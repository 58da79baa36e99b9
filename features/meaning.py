"""Relevance by meaning: how close a source page's words are to the target's, by a small
static embedding model (WordLlama, whose weights ship inside its wheel: loaded from the
package folder with downloads off, so nothing is fetched at run time). Word overlap misses
"marathon training plan" against "running shoes"; word vectors do not, in English and in
French alike.

WordLlama embeds a text as the average of its tokens' vectors. A side's vector here is the
sum of its words' token vectors, which is that average up to scale (and cosine ignores
scale), so it equals WordLlama's embedding of the words as one text (tested); but each
distinct word is tokenised once and kept across calls. Every page is a new text, but most
of its words have been seen before, so the work per link is mostly a sum of known vectors.
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
_VOCAB: dict[str, int] = {}  # word → its row in _TABLE
_TABLE = np.zeros((1024, DIM), np.float32)  # each known word's vector (rows past _VOCAB: room)
_MAX_WORDS = 100_000  # 51 MB of vectors at most
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _model() -> Any:
    import wordllama
    from wordllama import WordLlama

    return WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, disable_download=True, trunc_dim=DIM
    )


def _vectors(words: list[str]) -> np.ndarray:
    """Each word's vector: the sum of its tokens' vectors. The words are tokenised as a few
    texts of up to 1,000 words (a fifth of the time of one text per word): the tokenizer
    marks every word's start with "▁" and no token spans two words, so the tokens are each
    word's own. Texts go through ``encode_batch``, which lets other threads run meanwhile
    (it pads the texts to the longest: the attention mask leaves the padding out)."""
    model = _model()
    texts = [" ".join(words[i : i + 1000]) for i in range(0, len(words), 1000)]
    encoded = model.tokenizer.encode_batch(texts, add_special_tokens=False)
    ids = np.concatenate(
        [np.zeros(0, np.int64)]
        + [np.asarray(e.ids)[np.asarray(e.attention_mask, dtype=bool)] for e in encoded]
    )
    starts = _word_starts()[ids]
    if starts.sum() != len(words):
        raise ValueError("expected one token starting each word (non-empty words, no spaces)")
    lengths = np.bincount(np.cumsum(starts) - 1, minlength=len(words))
    return _summed(ids, lengths, model.embedding)


@lru_cache(maxsize=1)
def _word_starts() -> np.ndarray:
    """Whether each token of WordLlama's vocabulary begins a word."""
    vocabulary = _model().tokenizer.get_vocab()
    starts = np.zeros(max(vocabulary.values()) + 1, dtype=bool)
    starts[[i for token, i in vocabulary.items() if token.startswith("\u2581")]] = True
    return starts


def _known(words: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each word's row in the table of known word vectors, and that table: words not seen
    before are tokenised and summed first, outside the lock (another scoring thread goes
    on meanwhile). The table grows by doubling, so adding a chunk's new words does not copy
    the words already known; a reader keeps the table and rows it was given. Words are
    looked up once per distinct word in a dict (a join would hash the whole vocabulary)."""
    global _TABLE, _VOCAB
    distinct = words.unique().to_list()
    new = [w for w in distinct if w not in _VOCAB]
    sums = _vectors(new) if new else np.zeros((0, DIM), np.float32)
    with _LOCK:
        missing = [w for w in distinct if w not in _VOCAB]
        if len(_VOCAB) + len(missing) > _MAX_WORDS:  # bounded: a long-running service
            _VOCAB, missing = {}, distinct  # start again from these words
        if missing:
            at = dict(zip(new, range(len(new)), strict=True))
            # words another thread's emptying of the cache took away meanwhile: summed now
            found = [at.get(w) for w in missing]
            vectors = _vectors(missing) if None in found else sums[found]
            start, end = len(_VOCAB), len(_VOCAB) + len(missing)
            if end > len(_TABLE) or start == 0:
                room = max(end, min(max(1024, 2 * end), _MAX_WORDS))  # one call's words fit
                grown = np.zeros((room, DIM), np.float32)
                grown[:start] = _TABLE[:start]
                _TABLE = grown
            _TABLE[start:end] = vectors
            _VOCAB.update(zip(missing, range(start, end), strict=True))  # only ever added to
        vocab, table = _VOCAB, _TABLE
    rows = [vocab[w] for w in distinct]
    return words.replace_strict(distinct, rows, return_dtype=pl.Int64).to_numpy(), table


def side_vectors(lists: pl.Series) -> np.ndarray:
    """Each list of words as one vector (rows × ``DIM``; NaN for an empty or null list)."""
    lengths = lists.list.len().fill_null(0).cast(pl.Int64).to_numpy()
    rows, table = _known(lists.explode().drop_nulls())  # an empty list explodes to one null
    out = _summed(rows, lengths, table)
    out[lengths == 0] = np.nan
    return out


def _summed(rows: np.ndarray, lengths: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Sums of ``table``'s rows, ``lengths[i]`` of them from ``rows`` for group ``i``: a
    sparse (groups × table rows) count matrix times the table, so no group's rows are ever
    laid out one by one."""
    from scipy import sparse

    counts = sparse.csr_matrix(
        (np.ones(len(rows), np.float32), rows, np.concatenate([[0], np.cumsum(lengths)])),
        shape=(len(lengths), len(table)),
    )
    return np.asarray(counts @ table, dtype=np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-by-row cosine of two arrays of vectors (NaN where either row is NaN or zero)."""
    dot = np.einsum("ij,ij->i", a, b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, dot / np.where(norms > 0, norms, 1.0), np.nan)
