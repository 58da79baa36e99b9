"""Canonical links → the model's feature matrix. Pure, vectorised, shared by every caller.

Two seams keep results independent of how the input is cut:

- ``Profile`` holds the few aggregates measured over a whole link profile (links per referring
  site, anchor repetition per target, the target's topical terms). Batch scoring builds it in a
  first pass over the file and hands the same profile to every chunk, so features do not depend
  on chunk size or row order.
- ``as_of`` is the day ages are measured from; callers fix it once per run.

Per-row string work is done by Arrow compute kernels; work that needs Python (public-suffix
lookups, anchor classification) runs once per distinct host or (anchor, target) pair.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features import rx, schema, spec, text
from features.parse import distinct_array, fill, join
from features.strings import HashSet, StringIndex, as_bytes, digit_counts
from features.urls import HostTable, host_info, host_table, join_url, split_urls

PROFILE_TERMS = 40
PROFILE_MIN_SHARE = 0.03

_PAGE_TYPES = (
    ("comment", r"comment|replytocom|guestbook|/respond|#respond|wp-comments"),
    (
        "profile",
        r"/users?/|/profiles?[/.]|/members?[/.]|/author/|/u/|/people/|member\.php|"
        r"profile\.php|/account/|userinfo|/user\.php|/my-profile",
    ),
    (
        "forum",
        r"forum|/threads?/|/topics?/|viewtopic|showthread|/discussion|/community/|"
        r"/board/|/t/|/questions/",
    ),
    (
        "directory",
        r"director(y|ies)|/listings?/|/submit|add-?url|/links?/|/links\.|webdir|"
        r"/catalog|/sites/|/business/|/companies/|/bookmarks?/",
    ),
    ("tag_archive", r"/tags?/|/archives?/|/category/|/page/\d+|/\d{4}/\d{2}/?$|/label/"),
    ("homepage", r"^(/|/index\.(html?|php|aspx?))?\??$"),
    ("article", r"[^-_/.?&=#\s]+[-_][^-_/.?&=#\s]+[-_][^-_/.?&=#\s]+|\.html?(\?|$)|/\d{3,}"),
)
"""Page types by path and query (lower case), first match wins; anything else is "other"."""


# --------------------------------------------------------------------------------------------
# profile
# --------------------------------------------------------------------------------------------


_EMPTY_KEYS = pa.array([], pa.string())
_COUNTED = ("site_links", "target_links", "anchor_links")


@dataclass(frozen=True, eq=False)
class Counts:
    """Links per key (referring site, target site, anchor key): the distinct keys and their
    counts, looked up many at a time through a compiled index built on first use (a profile
    of a million links has hundreds of thousands of sites; a Python dict lookup per distinct
    value of every chunk was a visible share of batch scoring)."""

    keys: pa.Array = field(default_factory=lambda: _EMPTY_KEYS)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @functools.cached_property
    def _index(self) -> StringIndex:
        return StringIndex(self.keys)

    @functools.cached_property
    def _table(self) -> np.ndarray:
        return np.append(self.counts.astype(np.float64), np.nan)

    def of(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Each value's count as a float; NaN where the key is absent (or null). Each distinct
        value is looked up once: a lookup in a large profile misses the cache."""
        if len(self.keys) == 0:  # no profile (the API)
            return np.full(len(values), np.nan)
        distinct = _Distinct(values)
        # -1 (absent) picks the table's NaN
        return distinct.spread(self._table[self._index.positions(distinct.array)])

    def get(self, key: str) -> int:
        """One key's count (0 when absent)."""
        return int(np.nan_to_num(self.of(pa.array([key], pa.string()))[0]))

    def to_dict(self) -> dict[str, int]:
        return dict(zip(self.keys.to_pylist(), self.counts.tolist(), strict=True))

    @classmethod
    def from_dict(cls, d: dict[str, int]) -> Counts:
        return cls(pa.array(list(d), pa.string()), np.fromiter(d.values(), np.int64, len(d)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Counts) and self.to_dict() == other.to_dict()

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True)
class Profile:
    """Aggregates over a whole link profile that each link is measured against."""

    site_links: Counts = field(default_factory=Counts)
    target_links: Counts = field(default_factory=Counts)
    anchor_links: Counts = field(default_factory=Counts)
    target_terms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _keywords: dict[tuple[str, str], tuple[frozenset[str], pa.Array]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _brands: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def brand_key(self, target: str) -> str:
        """The ``_brand_key`` of a target ("site\x1fpath")'s site, kept per profile."""
        found = self._brands.get(target)
        if found is None:
            site = target.partition("\x1f")[0]
            found = self._brands[target] = _brand_key(host_info(site).brand)
        return found

    def keywords(self, target: str, description: str | None) -> tuple[frozenset[str], pa.Array]:
        """A target's keywords (its profile terms, the words of its URL path and of the
        description, not its brand) as a set and as an Arrow array. ``target`` is
        "site\x1fpath". Kept per profile: every chunk meets the same few targets."""
        key = (target, description or "")
        found = self._keywords.get(key)
        if found is None:
            site, _, path = target.partition("\x1f")
            terms = set(self.target_terms.get(site, ())) | set(text.words(path))
            terms |= set(text.words(description or ""))
            terms.discard(host_info(site).brand if site else "")
            found = self._keywords[key] = (frozenset(terms), pa.array(sorted(terms), pa.string()))
        return found

    def to_json(self) -> str:
        return json.dumps(
            {
                "site_links": self.site_links.to_dict(),
                "target_links": self.target_links.to_dict(),
                "anchor_links": self.anchor_links.to_dict(),
                "target_terms": self.target_terms,
            }
        )

    @classmethod
    def from_json(cls, blob: str) -> Profile:
        d = json.loads(blob)
        return cls(
            *(Counts.from_dict(d[k]) for k in _COUNTED),
            {k: tuple(v) for k, v in d["target_terms"].items()},
        )

    def to_table(self) -> pa.Table:
        """The profile as one Arrow table (what batch scoring keeps for ``--resume``: a
        profile of a million links takes seconds as JSON, milliseconds as Arrow)."""
        parts = [getattr(self, name) for name in _COUNTED]
        terms = list(self.target_terms.items())
        n_terms = len(terms)
        return pa.table(
            {
                "part": pa.array(
                    [name for name, c in zip(_COUNTED, parts, strict=True) for _ in range(len(c))]
                    + ["target_terms"] * n_terms,
                    pa.string(),
                ).dictionary_encode(),
                "key": pa.concat_arrays(
                    [*(c.keys for c in parts), pa.array([k for k, _ in terms], pa.string())]
                ),
                "count": pa.array(
                    np.concatenate([*(c.counts for c in parts), np.zeros(n_terms, np.int64)])
                ),
                "terms": pa.array(
                    [None] * sum(len(c) for c in parts) + [list(t) for _, t in terms],
                    pa.list_(pa.string()),
                ),
            }
        )

    @classmethod
    def from_table(cls, table: pa.Table) -> Profile:
        part = table["part"].combine_chunks().cast(pa.string())

        def rows(name: str) -> pa.Table:
            return table.filter(pc.equal(part, name))

        counted = [rows(name) for name in _COUNTED]
        terms = rows("target_terms")
        return cls(
            *(Counts(t["key"].combine_chunks(), _np(t["count"], np.int64)) for t in counted),
            dict(
                zip(
                    terms["key"].to_pylist(),
                    (tuple(t) for t in terms["terms"].to_pylist()),
                    strict=True,
                )
            ),
        )


class _Tally:
    """Counts per key, added chunk by chunk as Arrow tables and summed (by Arrow's hash
    aggregation) whenever the parts pile up, so memory stays near the number of keys."""

    COMPACT_ROWS = 200_000

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self.parts: list[pa.Table] = []
        self.rows = self.compacted = 0

    def add(self, table: pa.Table) -> None:
        self.parts.append(table)
        self.rows += table.num_rows
        if self.rows > max(self.COMPACT_ROWS, 2 * self.compacted):
            self.total()

    def merge(self, other: _Tally) -> None:
        for part in other.parts:
            self.add(part)

    def total(self) -> pa.Table:
        """One row per key with its summed count."""
        if len(self.parts) != 1 or self.rows != self.compacted:
            schema = pa.schema([*((k, pa.string()) for k in self.keys), ("count", pa.int64())])
            both = pa.concat_tables([schema.empty_table(), *self.parts])
            # in the calling thread: the batch's own threads already keep the cores busy
            summed = both.group_by(list(self.keys), use_threads=False).aggregate([("count", "sum")])
            self.parts = [summed.rename_columns([*self.keys, "count"]).select(schema.names)]
            self.rows = self.compacted = self.parts[0].num_rows
        return self.parts[0]

    def to_pydict(self) -> dict[str, list]:
        return self.total().to_pydict()

    @classmethod
    def from_pydict(cls, keys: tuple[str, ...], d: dict[str, list]) -> _Tally:
        tally = cls(keys)
        tally.add(pa.table({**{k: pa.array(d[k], pa.string()) for k in keys}, "count": d["count"]}))
        return tally


def _counts(tally: _Tally) -> Counts:
    t = tally.total()
    return Counts(t["key"].combine_chunks(), _np(t["count"], np.int64))


def _value_counts(arr: pa.Array) -> pa.Table:
    counts = pc.value_counts(pc.drop_null(arr))
    return pa.table({"key": counts.field("values"), "count": counts.field("counts")})


class ProfileBuilder:
    """Accumulates a ``Profile`` chunk by chunk (counts only, so memory stays small)."""

    def __init__(self) -> None:
        self.site_links = _Tally(("key",))
        self.target_links = _Tally(("key",))
        self.anchor_links = _Tally(("key",))
        self.term_docs = _Tally(("site", "term"))
        self.brands: dict[str, str] = {}

    def add(self, links: pa.Table) -> ProfileBuilder:
        return self.add_prepared(_prepare(links))

    def add_prepared(self, p: _Prepared) -> ProfileBuilder:
        self.site_links.add(_value_counts(p.source_site))
        self.target_links.add(_value_counts(p.target_site))
        self.anchor_links.add(_value_counts(p.anchor_key))
        self.brands.update(zip(p.target_site_values, p.target_brand_values, strict=True))
        # document frequency of content words (source text and anchor) per target site
        rows, words = _row_words(
            p.n,
            p.topical_vocab,
            p.doc_rows[: p.topical],
            p.doc_tokens[: p.topical],
            p.anchor_rows,
            p.anchor_tokens,
        )
        site = p.target_site_ids[rows]
        v = max(len(p.vocab_array), 1)
        keys, counts = _count_keys((site * v + words)[site >= 0])
        self.term_docs.add(
            pa.table(
                {
                    "site": pa.array(p.target_site_values, pa.string()).take(pa.array(keys // v)),
                    "term": p.vocab_array.take(pa.array(keys % v)),
                    "count": pa.array(counts, pa.int64()),
                }
            )
        )
        return self

    def merge(self, other: ProfileBuilder) -> ProfileBuilder:
        """Add another builder's counts (partial profiles from parallel workers)."""
        self.site_links.merge(other.site_links)
        self.target_links.merge(other.target_links)
        self.anchor_links.merge(other.anchor_links)
        self.term_docs.merge(other.term_docs)
        self.brands.update(other.brands)
        return self

    def to_json(self) -> str:
        return json.dumps(
            {
                "site_links": self.site_links.to_pydict(),
                "target_links": self.target_links.to_pydict(),
                "anchor_links": self.anchor_links.to_pydict(),
                "term_docs": self.term_docs.to_pydict(),
                "brands": self.brands,
            }
        )

    @classmethod
    def from_json(cls, blob: str) -> ProfileBuilder:
        d = json.loads(blob)
        b = cls()
        for name in ("site_links", "target_links", "anchor_links"):
            setattr(b, name, _Tally.from_pydict(("key",), d[name]))
        b.term_docs = _Tally.from_pydict(("site", "term"), d["term_docs"])
        b.brands = d["brands"]
        return b

    def build(self) -> Profile:
        targets = _counts(self.target_links)
        docs = self.term_docs.total()
        # a target's terms: content words on at least PROFILE_MIN_SHARE of its links (and on
        # two), not its brand, the PROFILE_TERMS most frequent (ties by the word)
        site = docs["site"].combine_chunks()
        floor = np.maximum(2, np.ceil(PROFILE_MIN_SHARE * targets.of(site)))
        sites = _Distinct(site)
        brands = pa.array([self.brands.get(s, "") for s in sites.values], pa.string())
        brand = brands.take(pa.array(sites.index))
        keep = (_np(docs["count"]) >= floor) & _np(pc.not_equal(docs["term"], brand), bool)
        ranked = docs.filter(pa.array(keep)).sort_by(
            [("site", "ascending"), ("count", "descending"), ("term", "ascending")]
        )
        group = _Distinct(ranked["site"].combine_chunks()).index  # sorted: groups are runs
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        rank = np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
        top = ranked.filter(pa.array(rank < PROFILE_TERMS))
        terms: dict[str, list[str]] = {}
        for s, t in zip(top["site"].to_pylist(), top["term"].to_pylist(), strict=True):
            terms.setdefault(s, []).append(t)
        for s in sites.values:
            terms.setdefault(s, [])
        return Profile(
            _counts(self.site_links),
            targets,
            _counts(self.anchor_links),
            {s: tuple(sorted(t)) for s, t in terms.items()},
        )


def build_profile(tables: Iterable[pa.Table]) -> Profile:
    builder = ProfileBuilder()
    for t in tables:
        builder.add(t)
    return builder.build()


# --------------------------------------------------------------------------------------------
# shared preparation
# --------------------------------------------------------------------------------------------


def _str(links: pa.Table, name: str) -> pa.Array:
    col = links[name]
    if col.type != pa.string():
        col = pc.cast(col, pa.string())
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _np(arr: pa.Array | pa.ChunkedArray, dtype: Any = np.float64) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=dtype)


def _floats(links: pa.Table, name: str) -> np.ndarray:
    """A column as float64 (dates as days since 1970, NaN = missing).

    NumPy conversions where they are exact: a cast kernel call per column is a visible share
    of scoring one link."""
    col = links[name]
    if col.null_count == len(col):  # absent from the input
        return np.full(len(col), np.nan)
    if pa.types.is_date(col.type):
        days = col.to_numpy()  # datetime64[D], NaT where missing
        out = days.astype(np.int64).astype(np.float64)
        out[np.isnat(days)] = np.nan
        return out
    if pa.types.is_boolean(col.type) and col.null_count == 0:
        return col.to_numpy().astype(np.float64)
    if col.type != pa.float64():
        col = pc.cast(col, pa.float64())
    return _np(col)


class _Distinct:
    """Values of an array as (distinct values, index of each row's value; -1 for null)."""

    def __init__(self, arr: pa.Array) -> None:
        self.array, self.index = distinct_array(arr)

    @functools.cached_property
    def values(self) -> list[Any]:
        return self.array.to_pylist()

    def spread(
        self, per_value: list[Any] | np.ndarray, null: Any = np.nan, dtype: Any = np.float64
    ) -> np.ndarray:
        """Each row's entry of ``per_value`` (``null`` for null rows)."""
        table = np.empty(len(per_value) + 1, dtype=dtype)
        table[:-1] = per_value
        table[-1] = null
        return table[self.index]


@dataclass
class _Prepared:
    n: int
    source_host: _Distinct
    source_hosts: HostTable  # per distinct source host
    source_host_rows: pa.Array  # each row's lower-case source host
    source_path: pa.Array
    source_query: pa.Array
    source_site: pa.Array
    target_site: pa.Array
    target_site_ids: np.ndarray
    target_site_values: list[str]
    target_brand_values: list[str]
    target_path: pa.Array
    anchor: pa.Array
    anchor_key: pa.Array
    anchor_words: np.ndarray
    vocab_array: pa.Array
    content: np.ndarray  # per vocabulary token: text.is_content
    topical_vocab: np.ndarray  # per vocabulary token: text.is_topical
    doc_tokens: np.ndarray
    doc_rows: np.ndarray
    topical: int  # doc_tokens[:topical] are the page's own words (the rest: its host name)
    anchor_tokens: np.ndarray
    anchor_rows: np.ndarray


def _prepare(links: pa.Table) -> _Prepared:
    """Parse URLs, look up sites and tokenise once; both the profile and features use it."""
    n = links.num_rows
    targets = _Distinct(_str(links, "target_url"))  # few distinct targets: split those only
    # one split for source URLs and the distinct targets (its cost per call matters for one link)
    parts = split_urls(
        pa.concat_arrays([_str(links, "source_url"), pa.array(targets.values, pa.string())])
    )
    src = {k: v.slice(0, n) for k, v in parts.items()}
    tgt = {
        k: v.slice(n).take(pa.array(targets.index, mask=targets.index < 0))
        for k, v in parts.items()
    }
    source_host = _Distinct(src["host"])
    source_hosts = host_table(source_host.array)
    source_site = source_hosts.site.take(_rows(source_host.index))
    target_host = _Distinct(tgt["host"])
    target_hosts = host_table(target_host.array)
    target_host_sites = target_hosts.site.to_pylist()
    site_values = sorted(set(target_host_sites))
    site_pos = {s: k for k, s in enumerate(site_values)}
    target_site_ids = target_host.spread([site_pos[s] for s in target_host_sites], -1, np.int64)
    brands = dict(zip(target_host_sites, target_hosts.brand.to_pylist(), strict=True))
    target_site = pa.array(
        np.asarray([*site_values, None], dtype=object)[target_site_ids], pa.string()
    )

    anchor = _str(links, "anchor_text")
    anchor_key = join(target_site, text.normalize_anchor(anchor), sep="\x1f")
    doc = join(
        fill(_str(links, "source_title"), ""),
        fill(src["path"], ""),
        fill(_str(links, "left_context"), ""),
        fill(_str(links, "right_context"), ""),
        sep=" ",
    )
    # one tokeniser call for the three texts (its cost per call matters for one link); tokens
    # come in text order: the page's words, then the anchors', then the hosts'
    tok = text.tokenize(pa.concat_arrays([doc, anchor, fill(src["host"], "")]))
    a, h = np.searchsorted(tok.rows, [n, 2 * n])
    # host words count for relevance and spam terms, but not as topical terms of the target:
    # they name sites, and counting them per target would grow with every referring site
    doc_tokens = np.concatenate([tok.ids[:a], tok.ids[h:]])
    doc_rows = np.concatenate([tok.rows[:a], tok.rows[h:] - 2 * n])
    anc_rows = tok.rows[a:h] - n
    content, topical_vocab = text.content_flags(tok.vocab)
    anchor_words = _bincount(anc_rows, n)
    return _Prepared(
        n=n,
        source_host=source_host,
        source_hosts=source_hosts,
        source_host_rows=src["host"],
        source_path=src["path"],
        source_query=src["query"],
        source_site=source_site,
        target_site=target_site,
        target_site_ids=target_site_ids,
        target_site_values=site_values,
        target_brand_values=[brands[s] for s in site_values],
        target_path=tgt["path"],
        anchor=anchor,
        anchor_key=anchor_key,
        anchor_words=anchor_words,
        vocab_array=tok.vocab,
        content=content,
        topical_vocab=topical_vocab,
        doc_tokens=doc_tokens,
        doc_rows=doc_rows,
        topical=a,
        anchor_tokens=tok.ids[a:h],
        anchor_rows=anc_rows,
    )


# --------------------------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------------------------


_PLACEMENTS = pa.array(schema.PLACEMENTS, pa.string())
_MONEY_TERMS = pa.array(sorted(text.MONEY_TERMS), pa.string())
_SPAM_TERMS = pa.array(sorted(text.SPAM_TERMS), pa.string())


def _category_codes(values: pa.Array | pa.ChunkedArray, categories: pa.Array) -> np.ndarray:
    """Each value's position in ``categories`` as a float (NaN: null or not one of them)."""
    return _np(pc.index_in(values, value_set=categories), np.float64)


def _in_vocab(vocab: pa.Array, terms: pa.Array) -> np.ndarray:
    """Which tokens of a vocabulary are among ``terms``."""
    return np.asarray(pc.is_in(vocab, value_set=terms).to_numpy(zero_copy_only=False), bool)


def _rows(index: np.ndarray) -> pa.Array:
    """``index`` as take() indices, -1 (no value) as null."""
    return pa.array(index, mask=index < 0)


_PAGE_TYPE_CODES = np.asarray(
    [spec.PAGE_TYPES.index(name) for name, _ in _PAGE_TYPES] + [spec.PAGE_TYPES.index("other")],
    dtype=np.float64,
)


def _page_type(path: pa.Array, query: pa.Array) -> np.ndarray:
    s = pc.utf8_lower(join(fill(path, ""), fill(query, ""), sep="?"))
    first = rx.first_match(s, tuple(pattern for _, pattern in _PAGE_TYPES))
    return _PAGE_TYPE_CODES[first]  # -1 (no match) picks the last entry, "other"


@numba.njit(cache=True, nogil=True)
def _take_row(r, rows, words, q, keep, seen, out_rows, out_words, k):  # pragma: no cover
    """Row ``r``'s words of one run from position ``q``: the kept ones not yet taken for it."""
    while q < rows.shape[0] and rows[q] == r:
        w = words[q]
        if keep[w] and seen[w] != r:
            seen[w] = r
            out_rows[k], out_words[k] = r, w
            k += 1
        q += 1
    return q, k


@numba.njit(cache=True, nogil=True)
def _row_words(n, keep, rows_a, words_a, rows_b, words_b):  # pragma: no cover - compiled
    """Each row's distinct words among two runs of (row, word) (each in row order), keeping
    the words where ``keep`` is true: (rows, words), grouped by row. One pass with a mark per
    word (the last row it was taken for), instead of sorting every (row, word) pair."""
    seen = np.full(keep.shape[0], -1, np.int64)
    out_rows = np.empty(rows_a.shape[0] + rows_b.shape[0], np.int64)
    out_words = np.empty_like(out_rows)
    i = j = k = 0
    for r in range(n):
        i, k = _take_row(r, rows_a, words_a, i, keep, seen, out_rows, out_words, k)
        j, k = _take_row(r, rows_b, words_b, j, keep, seen, out_rows, out_words, k)
    return out_rows[:k], out_words[:k]


@numba.njit(cache=True, nogil=True)
def _count_keys(keys):  # pragma: no cover - compiled
    """Distinct non-negative int64 keys (in order of first appearance) and how often each
    occurs, through an open-addressing table."""
    size = 16
    while size < 2 * keys.shape[0]:
        size *= 2
    mask = size - 1
    slots = np.full(size, -1, np.int64)
    distinct = np.empty(keys.shape[0], np.int64)
    counts = np.zeros(keys.shape[0], np.int64)
    n = 0
    for key in keys:
        slot = (key * np.int64(-7046029254386353131)) >> 20 & mask
        while slots[slot] >= 0 and distinct[slots[slot]] != key:
            slot = (slot + 1) & mask
        if slots[slot] < 0:
            slots[slot] = n
            distinct[n] = key
            n += 1
        counts[slots[slot]] += 1
    return distinct[:n], counts[:n]


def _bincount(rows: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(rows, minlength=n).astype(np.float64)[:n]


_NAKED = re.compile(r"^(https?://|www\.)|^[\w-]+(\.[\w-]+)+(/\S*)?$")
_ANCHOR_CODES = {name: float(i) for i, name in enumerate(spec.ANCHOR_TYPES)}
EXACT, PARTIAL, BRANDED, OTHER = (
    _ANCHOR_CODES[k] for k in ("exact", "partial", "branded", "other")
)


@functools.lru_cache(maxsize=131_072)  # bounded: memory must not grow with the export
def _anchor_shape(anchor: str) -> tuple[str | None, str, frozenset[str]]:
    """(type decided by the anchor alone, or None; compact form; content words).

    Cached: a profile repeats its anchors (brand and money phrases) across the whole file."""
    a = " ".join(anchor.lower().split())
    if not a:
        return "empty", "", frozenset()
    if _NAKED.match(a):
        return "naked_url", "", frozenset()
    folded = " ".join(text.WORD.findall(a))
    if folded in text.GENERIC_ANCHORS or a in text.GENERIC_ANCHORS:
        return "generic", "", frozenset()
    return None, folded.replace(" ", ""), frozenset(text.words(folded))


def _brand_key(brand: str) -> str:
    """A brand as anchors are compared with it: lower case, letters and digits only."""
    return "".join(ch for ch in brand.lower() if ch.isalnum())


def _anchor_type(
    shape: tuple[str | None, str, frozenset[str]], b: str, keywords: frozenset[str]
) -> float:
    """The anchor type of an anchor (its ``_anchor_shape``) pointing at a target with brand
    key ``b`` (``_brand_key``) and ``keywords``."""
    decided, compact, words = shape
    if decided:
        return _ANCHOR_CODES[decided]
    if len(b) >= 3 and (b in compact or (len(compact) >= 0.6 * len(b) and compact in b)):
        return _ANCHOR_CODES["branded"]
    if not words:
        return _ANCHOR_CODES["other"]
    hit = words & keywords
    if hit == words:
        return _ANCHOR_CODES["exact"]
    return _ANCHOR_CODES["partial" if hit else "other"]


@dataclass
class Facts:
    """What a table of links says about itself, before any profile: every feature that does
    not depend on the profile, and the keys and words the four that do depend on it need
    (links from the source site, anchor share, topical relevance, anchor type).

    The seam exists for batch scoring: pass 1 prepares each chunk once (URLs, sites, words)
    for the profile anyway, keeps its facts beside the chunk, and pass 2 only adds the
    profile instead of preparing every link a second time."""

    X: np.ndarray  # rows x spec.NAMES; the profile-dependent columns are NaN
    source_site: pa.Array
    target_site: pa.Array
    target_path: pa.Array
    anchor: pa.Array
    anchor_key: pa.Array
    words: pa.Array  # list<dictionary<int32, string>>: each row's distinct content words
    anchor_words: pa.Array  # list<int32>: its anchor's content words (in words' dictionary)

    def to_table(self) -> pa.Table:
        k = len(spec.NAMES)
        return pa.table(
            {
                # the matrix row by row, as it is: no copy either way
                "X": pa.FixedSizeListArray.from_arrays(pa.array(self.X.reshape(-1)), k),
                "source_site": self.source_site,
                "target_site": self.target_site,
                "target_path": self.target_path,
                "anchor": self.anchor,
                "anchor_key": self.anchor_key,
                "words": self.words,
                "anchor_words": self.anchor_words,
            }
        )

    @classmethod
    def from_table(cls, table: pa.Table) -> Facts:
        def get(name: str) -> pa.Array:  # one chunk as it is (a copy only for several)
            col = table[name]
            return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()

        X = get("X").flatten().to_numpy().reshape(table.num_rows, len(spec.NAMES))
        return cls(
            X,
            *(get(c) for c in ("source_site", "target_site", "target_path", "anchor")),
            get("anchor_key"),
            get("words"),
            get("anchor_words"),
        )


def link_facts(links: pa.Table, *, as_of: date | None = None) -> Facts:
    """The facts of ``links`` (see ``Facts``); ``as_of`` is the day ages are measured from."""
    return _facts(links, _prepare(links), as_of or date.today())


def profile_and_facts(links: pa.Table, *, as_of: date) -> tuple[ProfileBuilder, Facts]:
    """The partial profile and the facts of one chunk, from one preparation (batch pass 1)."""
    p = _prepare(links)
    return ProfileBuilder().add_prepared(p), _facts(links, p, as_of)


def extract(
    links: pa.Table,
    profile: Profile | None = None,
    *,
    as_of: date | None = None,
    target_description: str | None = None,
) -> np.ndarray:
    """Feature matrix (rows × ``spec.NAMES``, float64, NaN = unknown) for canonical links.

    ``profile`` defaults to the profile of ``links`` itself; pass the profile of the whole
    input when scoring it in chunks.
    """
    p = _prepare(links)
    if profile is None:
        profile = ProfileBuilder().add_prepared(p).build()
    facts = _facts(links, p, as_of or date.today())
    return with_profile(facts, profile, target_description=target_description)


def _facts(links: pa.Table, p: _Prepared, as_of: date) -> Facts:
    n = p.n
    # filled column by column, so built column-major and turned row-major once at the end
    X = np.full((n, len(spec.NAMES)), np.nan, order="F")
    col = spec.INDEX

    # age ------------------------------------------------------------------------------------
    today = (as_of - date(1970, 1, 1)).days
    X[:, col["domain_age_days"]] = np.maximum(today - _floats(links, "source_domain_created"), 0)
    X[:, col["link_age_days"]] = np.maximum(today - _floats(links, "first_seen"), 0)
    X[:, col["days_since_seen"]] = np.maximum(today - _floats(links, "last_seen"), 0)

    # placement ----------------------------------------------------------------------------------
    X[:, col["placement"]] = _category_codes(links["placement"], _PLACEMENTS)
    X[:, col["page_type"]] = _page_type(p.source_path, p.source_query)
    X[:, col["sitewide"]] = _floats(links, "sitewide")
    X[:, col["is_image"]] = _floats(links, "is_image")

    # anchor -------------------------------------------------------------------------------------
    anchor_null = _np(pc.is_null(p.anchor), bool)
    X[:, col["anchor_words"]] = np.where(anchor_null, np.nan, p.anchor_words)
    for name, terms in (("anchor_money_terms", _MONEY_TERMS), ("anchor_spam_terms", _SPAM_TERMS)):
        in_vocab = _in_vocab(p.vocab_array, terms)
        hits = p.anchor_rows[in_vocab[p.anchor_tokens]] if len(in_vocab) else p.anchor_rows
        X[:, col[name]] = np.where(anchor_null, np.nan, _bincount(hits, n))

    # rel flags ----------------------------------------------------------------------------------
    for name in ("nofollow", "ugc", "sponsored", "redirect"):
        X[:, col[name]] = _floats(links, name)

    # authority and outbound -----------------------------------------------------------------------
    for name in (
        "source_authority",
        "source_page_authority",
        "source_traffic",
        "source_referring_domains",
        "source_external_links",
        "source_linked_domains",
    ):
        X[:, col[name]] = _floats(links, name)
    ext, internal = _floats(links, "source_external_links"), _floats(links, "source_internal_links")
    with np.errstate(invalid="ignore", divide="ignore"):
        X[:, col["external_link_share"]] = np.where(
            ext + internal > 0, ext / (ext + internal), np.where(ext + internal == 0, 0.0, np.nan)
        )
    status = _floats(links, "source_http_status")
    X[:, col["http_error"]] = np.where(np.isnan(status), np.nan, (status >= 400).astype(float))

    # source URL -----------------------------------------------------------------------------------
    hosts, host = p.source_hosts, p.source_host
    X[:, col["tld_class"]] = host.spread(hosts.tld_class)
    X[:, col["shared_platform"]] = host.spread(hosts.shared_platform)
    X[:, col["ip_host"]] = host.spread(hosts.is_ip)
    X[:, col["subdomain_depth"]] = host.spread(hosts.subdomain_depth)
    X[:, col["host_hyphens"]] = host.spread(hosts.hyphens)
    norm = join_url(fill(p.source_host_rows, ""), p.source_path, p.source_query)
    X[:, col["url_length"]] = _np(pc.utf8_length(norm))
    X[:, col["url_digits"]] = digit_counts(norm)
    spam_vocab = _in_vocab(p.vocab_array, _SPAM_TERMS)
    hits = p.doc_rows[spam_vocab[p.doc_tokens]] if len(spam_vocab) else p.doc_rows
    X[:, col["source_spam_terms"]] = _bincount(hits, n)

    # each row's distinct content words (the page's and its host's), for relevance
    t = p.topical
    rows, content = _row_words(
        n, p.content, p.doc_rows[:t], p.doc_tokens[:t], p.doc_rows[t:], p.doc_tokens[t:]
    )
    words = pa.ListArray.from_arrays(
        _list_offsets(rows, n),
        pa.DictionaryArray.from_arrays(pa.array(content, pa.int32()), p.vocab_array),
    )
    # and its anchor's, for the anchor type (numbered as the page's words are)
    rows, anchor = _row_words(n, p.content, p.anchor_rows, p.anchor_tokens, _NONE, _NONE)
    anchor_words = pa.ListArray.from_arrays(_list_offsets(rows, n), pa.array(anchor, pa.int32()))
    return Facts(
        np.ascontiguousarray(X),
        p.source_site,
        p.target_site,
        p.target_path,
        p.anchor,
        p.anchor_key,
        words,
        anchor_words,
    )


def _list_offsets(rows: np.ndarray, n: int) -> pa.Array:
    """List offsets for values grouped by row (``rows`` ascending)."""
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(_bincount(rows, n).astype(np.int32), out=offsets[1:])
    return pa.array(offsets)


@numba.njit(cache=True, nogil=True)
def _in_run(members, lo, end, value):  # pragma: no cover - compiled
    """Is ``value`` in the sorted ``members[lo:end]`` (binary search)?"""
    hi = end
    while lo < hi:
        mid = (lo + hi) >> 1
        if members[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and members[lo] == value


def with_profile(
    facts: Facts, profile: Profile, *, target_description: str | None = None
) -> np.ndarray:
    """The full feature matrix: ``facts`` measured against ``profile``."""
    X = facts.X.copy()
    n = len(X)
    col = spec.INDEX

    # relevance: cosine between the source's words and the target's terms ------------------------
    flat = facts.words.flatten()
    vocab = flat.dictionary
    v = max(len(vocab), 1)
    pair_rows = _np(pc.list_parent_indices(facts.words), np.int64)
    pair_tokens = _np(flat.indices, np.int64)
    target = _Distinct(join(fill(facts.target_site, ""), fill(facts.target_path, ""), sep="\x1f"))
    keywords = [profile.keywords(key, target_description) for key in target.values]
    keyword_sets = [k for k, _ in keywords]
    # each target's terms by their position in this chunk's vocabulary (absent terms drop out)
    owner = np.repeat(np.arange(len(keyword_sets)), [len(k) for k in keyword_sets])
    pos = pc.index_in(
        pa.concat_arrays([a for _, a in keywords]) if keywords else _EMPTY_KEYS, value_set=vocab
    )
    found = _np(pc.is_valid(pos), bool)
    t_keys = np.sort(owner[found] * v + _np(pos.filter(pa.array(found)), np.int64))
    t_starts = np.searchsorted(t_keys, np.arange(len(keyword_sets) + 1) * v)
    t_size = np.asarray([len(k) for k in keyword_sets] + [0], dtype=np.float64)[target.index]
    # is each (row, word) among its target's terms: one probe of a hash set of (target, term)
    # keys (a binary search in each target's terms took ~6 dependent steps per word)
    term_keys = HashSet(len(t_keys))  # sized for them: one link's table stays small
    term_keys.add(t_keys)
    hit = term_keys.contains(target.index[pair_rows] * v + pair_tokens)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.sqrt(_bincount(pair_rows, n) * t_size)
        X[:, col["topic_relevance"]] = np.where(
            denom > 0, _bincount(pair_rows[hit], n) / denom, np.nan
        )

    # sitewide footprint -------------------------------------------------------------------------
    X[:, col["links_from_source_site"]] = profile.site_links.of(facts.source_site)

    # anchor type and share ------------------------------------------------------------------------
    anchors = _Distinct(facts.anchor)
    X[:, col["anchor_type"]] = _anchor_types(
        anchors, target, keywords, profile, facts.anchor_words, t_starts, t_keys % v
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        X[:, col["anchor_share"]] = profile.anchor_links.of(
            facts.anchor_key
        ) / profile.target_links.of(facts.target_site)
    return X


def _plain(anchors: pa.Array) -> np.ndarray:
    """Anchors of ASCII without control characters other than whitespace: the ones whose
    letters, digits and words the tokeniser finds exactly as ``_anchor_shape`` does."""
    offsets, data, _ = as_bytes(anchors)
    odd = (data >= 0x7F) | (data <= 0x08) | ((data >= 0x0E) & (data <= 0x1B))
    counts = np.concatenate([[0], np.cumsum(odd)])
    return counts[offsets[1:]] == counts[offsets[:-1]]


def _anchor_types(
    anchors: _Distinct,
    target: _Distinct,
    keywords: list[tuple[frozenset[str], pa.Array]],
    profile: Profile,
    anchor_words: pa.Array,
    term_starts: np.ndarray,
    terms: np.ndarray,
) -> np.ndarray:
    """Each row's anchor type (``_anchor_type`` of its anchor and target), decided once per
    distinct (anchor, target) pair.

    The types an anchor decides alone (empty, naked URL, generic) come from its cached
    ``_anchor_shape``; the rest (branded, exact, partial, other) are decided per pair by a
    compiled kernel for plain ASCII anchors, whose letters and words the tokeniser finds
    exactly as ``_anchor_shape`` does, and by ``_anchor_type`` itself for the others. The
    kernel takes each anchor's content words from the facts (``anchor_words``) and each
    target's terms as the relevance uses them (``terms[term_starts[t]:term_starts[t + 1]]``,
    sorted), both numbered in the chunk's vocabulary."""
    n_targets = len(target.values)
    valid = (anchors.index >= 0) & (target.index >= 0)
    pair = _Distinct(pa.array(np.where(valid, anchors.index * n_targets + target.index, -1)))
    keys = pair.array.to_numpy().astype(np.int64)
    pair_a, pair_t = keys // max(n_targets, 1), keys % max(n_targets, 1)
    values = anchors.values
    brands = [profile.brand_key(key) for key in target.values]
    if len(keys) <= rx.SMALL:  # a few pairs (an API request): no kernel set-up
        return pair.spread(
            [
                np.nan
                if a < 0
                else _anchor_type(_anchor_shape(values[a]), brands[t], keywords[t][0])
                for a, t in zip(pair_a.tolist(), pair_t.tolist(), strict=True)
            ]
        )
    decided = np.fromiter(
        (_ANCHOR_CODES.get(_anchor_shape(a)[0], -1.0) for a in values), np.float64, len(values)
    )
    plain = _plain(anchors.array)
    # each distinct anchor's words: those of its first row
    first = np.empty(len(values), np.int64)
    rows = np.flatnonzero(anchors.index >= 0)[::-1]
    first[anchors.index[rows]] = rows
    words = anchor_words.take(pa.array(first))
    compact = _compact(anchors.array)
    brand_offsets, brand_data, _ = as_bytes(pa.array(brands, pa.string()))
    codes = np.empty(len(keys))
    _pair_types(
        pair_a,
        pair_t,
        decided,
        plain,
        *compact,
        _np(words.offsets, np.int64) - words.offsets[0].as_py(),
        _np(words.flatten(), np.int64),
        brand_offsets,
        brand_data,
        np.asarray([len(b) for b in brands], np.int64),
        term_starts,
        terms,
        codes,
    )
    python = (pair_a >= 0) & np.isnan(codes)  # anchors the kernel leaves: not plain ASCII
    for k in np.flatnonzero(python):
        a, t = pair_a[k], pair_t[k]
        codes[k] = _anchor_type(_anchor_shape(values[a]), brands[t], keywords[t][0])
    return pair.spread(codes)


_NONE = np.zeros(0, np.int64)


def _compact(anchors: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of each anchor's ASCII letters and digits, lower-cased."""
    offsets, data, _ = as_bytes(anchors)
    keep = (
        ((data >= 48) & (data <= 57))
        | ((data >= 65) & (data <= 90))
        | ((data >= 97) & (data <= 122))
    )
    out = np.where((data >= 65) & (data <= 90), data + 32, data)[keep].astype(np.uint8)
    counts = np.concatenate([[0], np.cumsum(keep)])
    return counts[offsets], out


@numba.njit(cache=True, nogil=True)
def _contains(hay, h0, h1, needle, n0, n1):  # pragma: no cover - compiled
    m = n1 - n0
    for i in range(h0, h1 - m + 1):
        k = 0
        while k < m and hay[i + k] == needle[n0 + k]:
            k += 1
        if k == m:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _pair_types(
    pair_a,
    pair_t,
    decided,
    plain,
    c_off,
    c_data,
    w_start,
    words,
    b_off,
    b_data,
    b_len,
    k_start,
    k_words,
    out,
):  # pragma: no cover - compiled
    """``_anchor_type`` per (anchor, target) pair for plain anchors (NaN: not decided here)."""
    for i in range(pair_a.shape[0]):
        a, t = pair_a[i], pair_t[i]
        out[i] = np.nan
        if a < 0:
            continue
        if decided[a] >= 0:
            out[i] = decided[a]
            continue
        if not plain[a]:
            continue
        c0, c1, b0, b1 = c_off[a], c_off[a + 1], b_off[t], b_off[t + 1]
        lb = b_len[t]
        if lb >= 3 and (
            _contains(c_data, c0, c1, b_data, b0, b1)
            or ((c1 - c0) >= 0.6 * lb and _contains(b_data, b0, b1, c_data, c0, c1))
        ):
            out[i] = BRANDED
            continue
        n_words = w_start[a + 1] - w_start[a]
        if n_words == 0:
            out[i] = OTHER
            continue
        hits = 0
        for q in range(w_start[a], w_start[a + 1]):
            hits += _in_run(k_words, k_start[t], k_start[t + 1], words[q])
        out[i] = EXACT if hits == n_words else PARTIAL if hits else OTHER


def feature_frame(links: pa.Table, profile: Profile | None = None, **kw: Any) -> pd.DataFrame:
    """``extract`` as a DataFrame with feature names (for tests, plots and reports)."""
    return pd.DataFrame(extract(links, profile, **kw), columns=list(spec.NAMES))
