"""Words: tokenisation and the small vocabularies the features count.

Tokenisation is vectorised with Arrow (lower-case, split on anything that is not a letter or a
digit) so a million titles tokenise in about a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from features import rx
from features.strings import as_bytes, as_string, ascii_space, digit_counts, from_spans, space_at

STOPWORDS = frozenset(
    """
    a an the and or but if of at by for with about against between into through during before
    after above below to from up down in out on off over under again further then once here
    there when where why how all any both each few more most other some such no nor not only
    own same so than too very can will just should now is are was were be been being have has
    had having do does did this that these those i me my we our you your he him his she her it
    its they them their what which who whom am would could also may might must shall via per
    www http https com net org html htm php asp aspx index page pages home post posts blog
    article articles news view read more www2 amp utm ref id category tag tags archive archives
    des les une pour dans sur avec par pas qui que est sont plus vous nous der die das und mit
    den von fur ist del los las por con para una que como mas
    """.split()
)

GENERIC_ANCHORS = frozenset(
    """
    click here|here|this|this link|link|this site|this website|website|site|web site|read more|
    more|more info|more information|learn more|find out more|see more|source|this article|
    this post|article|visit|visit site|visit website|go|go to|home|homepage|home page|view|
    view more|details|continue|continue reading|check it out|check this out|official site|
    official website|see here|click|url|page|this page|download|en savoir plus|ici|cliquez ici|
    lire la suite|hier|mehr|weiterlesen|aqui|leer mas
    """.replace("\n", "").split("|")
)
GENERIC_ANCHORS = frozenset(a.strip() for a in GENERIC_ANCHORS if a.strip())

MONEY_TERMS = frozenset(
    """
    buy cheap cheapest best top discount discounts price prices pricing deal deals sale sales
    order coupon coupons promo offer offers affordable hire rent rental loan loans credit
    insurance lawyer attorney quote quotes free online service services shop store purchase
    wholesale supplier suppliers review reviews agency company near
    """.split()
)

SPAM_TERMS = frozenset(
    """
    casino casinos poker slot slots betting bet bets sportsbook roulette blackjack jackpot
    gambling viagra cialis levitra pharmacy pills pill tramadol xanax valium phentermine
    steroids porn porno xxx adult sex sexy escort escorts dating hookup webcam camgirls payday
    replica replicas essay essays crack keygen torrent warez followers likes backlinks seo
    linkbuilding bitcoinmixer forex binary cbd kratom vape nude nudes onlyfans hack hacks
    cheats generator giveaway
    """.split()
)


_ASCII_PUNCT = "".join("\\" + ch for ch in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_UNICODE_PUNCT = (
    r"\x{00A0}-\x{00BF}\x{00D7}\x{00F7}\x{2000}-\x{206F}\x{2190}-\x{2BFF}\x{3000}-\x{303F}"
    r"\x{FE10}-\x{FE6F}\x{FF00}-\x{FF0F}\x{FF1A}-\x{FF20}\x{1F000}-\x{1FAFF}"
)
SEPARATORS = rf"[\s{_ASCII_PUNCT}{_UNICODE_PUNCT}]+"
r"""Runs of whitespace, punctuation and symbols: what splits words.

Written as explicit ranges rather than ``[^\p{L}\p{N}]``: RE2 takes milliseconds to compile
Unicode property classes, and Arrow compiles the pattern on every call, which would dominate
scoring a single link."""
ANCHOR_SEPARATORS = SEPARATORS.replace("\\.", "").replace("\\:", "").replace("\\/", "")
"""``SEPARATORS`` keeping ``.``, ``:`` and ``/`` (so naked-URL anchors stay recognisable)."""


def _byte_map(keep: str) -> np.ndarray:
    """Byte table for ASCII text: upper case to lower, separators (except ``keep``) to space."""
    lut = np.arange(256, dtype=np.uint8)
    lut[ord("A") : ord("Z") + 1] += 32
    for ch in " \t\n\f\r!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~":
        if ch not in keep:
            lut[ord(ch)] = ord(" ")
    return lut


_WORD_BYTES = _byte_map("")
_ANCHOR_BYTES = _byte_map(".:/")


@numba.njit(cache=True, nogil=True)
def _map_bytes(lut, data, out):  # pragma: no cover - compiled
    """``out = lut[data]`` (NumPy's take converts every byte to an index first: 10x slower)."""
    for i in range(data.shape[0]):
        out[i] = lut[data[i]]


def _fold(text: pa.Array, lut: np.ndarray, separators: str) -> pa.Array:
    """Lower-case ``text`` with separators replaced by spaces.

    Same result as ``utf8_lower`` then replacing ``separators`` with a space, but ASCII rows
    (nearly all of them in link exports) go through a byte table on the whole buffer: RE2 does
    the regex at ~50 MB/s and Arrow compiles the pattern on every call, which made
    tokenisation the largest cost of batch scoring and of scoring one link. Rows with other
    characters still take the regex path.
    """
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    validity, offsets, data = text.buffers()
    if data is None or len(text) == 0:
        return text
    # an Arrow buffer with zeroed padding: Arrow's string kernels may read a little past the
    # end of the data, which must not see stray bytes
    mapped = pa.allocate_buffer(data.size + 64)
    out = np.frombuffer(mapped, np.uint8)
    _map_bytes(lut, np.frombuffer(data, np.uint8), out[: data.size])
    out[data.size :] = 0
    fast = pa.StringArray.from_buffers(
        len(text), offsets, mapped, validity, text.null_count, text.offset
    )
    other = pc.fill_null(pc.invert(pc.string_is_ascii(text)), False)
    if not pc.any(other).as_py():
        return fast
    slow = rx.replace(pc.utf8_lower(text.filter(other)), separators, " ")
    return pc.replace_with_mask(fast, other, slow)


@numba.njit(cache=True, nogil=True)
def _tokenize(offsets, data, valid, slots):  # pragma: no cover - compiled
    """Split every value on whitespace and number the distinct tokens in order of first
    appearance, in the hash table ``slots`` (exact: equal hashes are confirmed byte by byte).

    Returns (done, row of each token, its number, the distinct tokens' bytes, and where each
    starts in them and its length); not done when ``slots`` filled up (the caller retries with a larger table: a table
    that fits in the core's cache is several times faster than one sized for the worst case).
    One pass: the outputs are sized for the most tokens the text can hold (one per two bytes).
    """
    n = offsets.shape[0] - 1
    most = (offsets[n] - offsets[0] + n) // 2 + 1
    mask = slots.shape[0] - 1
    rows = np.empty(most, np.int64)
    ids = np.empty(most, np.int64)
    first = np.empty(most, np.int64)  # where each distinct token's bytes start in ``pool``
    length = np.empty(most, np.int64)
    hashes = np.empty(most, np.uint64)
    # the distinct tokens' bytes, packed: comparing with them stays in the core's cache, where
    # comparing with their first place in the text missed it for nearly every token
    pool = np.empty(max(offsets[n] - offsets[0], 1), np.uint8)
    used = 0
    t = distinct = 0
    for i in range(n):
        if not valid[i]:
            continue
        j, end = offsets[i], offsets[i + 1]
        while j < end:
            b = data[j]
            if b < 0x80:  # ASCII (nearly all of the text) without space_at's decoding
                if ascii_space(b):
                    j += 1
                    continue
            else:
                space, width = space_at(data, j)
                if space:
                    j += width
                    continue
            start = j
            h = np.uint64(0)
            while j < end:  # the token's bytes, hashed on the way
                b = data[j]
                if b < 0x80:
                    if ascii_space(b):
                        break
                    h = ((h << np.uint64(7)) | (h >> np.uint64(57))) ^ np.uint64(b)
                    j += 1
                    continue
                space, width = space_at(data, j)
                if space:
                    break
                for k in range(j, j + width):
                    h = ((h << np.uint64(7)) | (h >> np.uint64(57))) ^ np.uint64(data[k])
                j += width
            size = j - start
            h ^= np.uint64(size)  # a final mix (splitmix64) spreads the bits over the table
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(31)
            slot = np.int64(h & np.uint64(mask))
            found = -1
            while slots[slot] >= 0:
                d = slots[slot]
                if hashes[d] == h and length[d] == size:
                    k = 0
                    while k < size and pool[first[d] + k] == data[start + k]:
                        k += 1
                    if k == size:
                        found = d
                        break
                slot = (slot + 1) & mask
            if found < 0:
                if 2 * distinct >= mask:
                    return False, rows[:0], ids[:0], pool[:0], first[:0], length[:0]
                found = distinct
                slots[slot] = found
                first[found], length[found], hashes[found] = used, size, h
                pool[used : used + size] = data[start : start + size]
                used += size
                distinct += 1
            rows[t], ids[t] = i, found
            t += 1
    return True, rows[:t], ids[:t], pool[:used], first[:distinct], length[:distinct]


@dataclass(frozen=True)
class Tokens:
    """The words of many texts: the distinct words (``vocab``) and, per occurrence, its word's
    position in ``vocab`` and the text it came from, in text order."""

    vocab: pa.Array
    ids: np.ndarray
    rows: np.ndarray


def tokenize(text: pa.Array) -> Tokens:
    """Lower-case word tokens of every value (none for null or blank values): the text is
    folded (``_fold``), then split and numbered in one compiled pass."""
    offsets, data, valid = as_bytes(_fold(as_string(text), _WORD_BYTES, SEPARATORS))
    size = 1 << int(np.clip(np.log2(max(len(data), 1) / 16), 10, 17))  # ~distinct tokens
    while True:
        done, rows, ids, pool, first, length = _tokenize(
            offsets, data, valid, np.full(size, -1, np.int32)
        )
        if done:
            return Tokens(from_spans(pool, first, first + length), ids, rows)
        size *= 4


def is_content(token: str) -> bool:
    """A token carries meaning: 3+ characters, not a stopword, not a bare number."""
    return len(token) >= 3 and token not in STOPWORDS and not token.isdigit()


_STOPWORDS = pa.array(sorted(STOPWORDS), pa.string())


def content_flags(vocab: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``is_content`` and ``is_topical`` of every token of a vocabulary, vectorised (a chunk's
    vocabulary has tens of thousands of tokens). ASCII tokens go through Arrow kernels;
    the few others through the functions themselves, whose digit rules are Unicode's."""
    if len(vocab) <= rx.SMALL:
        tokens = vocab.to_pylist()
        return (
            np.fromiter((is_content(t) for t in tokens), bool, len(tokens)),
            np.fromiter((is_topical(t) for t in tokens), bool, len(tokens)),
        )
    long_enough = np.asarray(pc.utf8_length(vocab)) >= 3
    stop = np.asarray(pc.is_in(vocab, _STOPWORDS))
    content = long_enough & ~stop & ~np.asarray(pc.ascii_is_decimal(vocab))
    topical = content & ~(digit_counts(vocab) > 0)
    other = np.flatnonzero(~np.asarray(pc.string_is_ascii(vocab)))
    if len(other):
        tokens = vocab.take(pa.array(other)).to_pylist()
        content[other] = [is_content(t) for t in tokens]
        topical[other] = [is_topical(t) for t in tokens]
    return content, topical


def normalize_anchor(anchor: pa.Array) -> pa.Array:
    """Lower-case anchor with punctuation folded to single spaces (for counting repeats)."""
    folded = _fold(anchor, _ANCHOR_BYTES, ANCHOR_SEPARATORS)
    if len(folded) > rx.SMALL and not pc.any(pc.match_substring(folded, "  ")).as_py():
        return pc.utf8_trim_whitespace(folded)  # no run of spaces to collapse (nearly always)
    return pc.utf8_trim_whitespace(rx.replace(folded, "  +", " "))


def is_topical(token: str) -> bool:
    """A content token that can name a topic: no digits (ids, dates and sizes never do, and
    counting them per target would grow with every page)."""
    return is_content(token) and not any(ch.isdigit() for ch in token)


WORD = re.compile(r"[^\W_]+")
"""A run of letters and digits (``str.isalnum`` characters)."""


def words(text: str) -> list[str]:
    """Content words of one string (for the few values handled one by one)."""
    return [w for w in WORD.findall(text.lower()) if is_content(w)]
