"""Vectorised parsers from raw export strings to canonical values.

Every parser takes an Arrow string array and returns ``(values, bad)``: the typed values (null
where the cell was blank or unparseable) and a boolean mask of cells that held something that
could not be parsed. Blank is not bad: it means "unknown". Callers turn ``bad`` into per-row
reject reasons, so nothing is silently dropped.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from features import rx
from features.strings import as_bytes, as_string, needs_cleaning

TRUE = ("true", "1", "yes", "y", "t", "+", "x")
FALSE = ("false", "0", "no", "n", "f", "-")

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_THOUSANDS = r"^[+-]?\d{1,3}([,' ]\d{3})+(\.\d+)?$"
_DECIMAL_COMMA = r"^[+-]?\d+,\d+$"
_SCHEME = r"^[a-zA-Z][a-zA-Z0-9+.-]*://"
_HOSTLIKE = r"^[^\s/?#:@]+\.[^\s/?#:@.]+([:/?#]|$)"
_VALID_URL = (
    r"^[hH][tT][tT][pP][sS]?://([^@/?#\s\x00-\x1f\x7f]*@)?"
    r"(\[[0-9a-fA-F:.]+\]|[^\s\x00-\x1f\x7f/?#:@.\[\]]+(\.[^\s\x00-\x1f\x7f/?#:@.\[\]]+)+\.?)"
    r"(:[0-9]{1,5})?([/?#][^\s\x00-\x1f\x7f]*)?$"
)
MAX_URL_LENGTH = 4096
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d.%m.%Y",
)


@functools.cache
def string(value: str) -> pa.Scalar:
    """``value`` as a ready Arrow scalar. Kernels convert a Python string argument on every
    call, which costs more than their work on the one link an API request carries."""
    return pa.scalar(value, pa.string())


def fill(arr: pa.Array, value: object) -> pa.Array:
    """``fill_null`` that skips the kernel call when there is nothing to fill (per-call cost
    matters when the API scores one link)."""
    if arr.null_count == 0:
        return arr
    return pc.fill_null(arr, string(value) if isinstance(value, str) else value)


def join(*parts: pa.Array | str, sep: str) -> pa.Array:
    """Row-wise concatenation with ``sep`` (null if any part is null); string parts repeat."""
    args = [string(p) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, string(sep))


def clean(arr: pa.Array) -> pa.Array:
    """Trim whitespace (including non-breaking spaces) around each value.

    Exports are mostly clean already: a compiled scan finds that out without the two
    rewriting passes (and their copies) that Arrow's kernels make."""
    arr = as_string(arr)
    if not needs_cleaning(arr):
        return arr
    arr = pc.replace_substring(arr, "\u00a0", " ")
    return pc.utf8_trim_whitespace(arr)


def blank_as_null(arr: pa.Array) -> pa.Array:
    """``arr`` with empty strings made null, sharing its buffers (only the validity is new):
    ``if_else`` copied every string to do the same."""
    arr = as_string(arr)
    offsets, _, valid = as_bytes(arr)
    keep = valid & (offsets[1:] > offsets[:-1])
    if keep.all():
        return arr
    _, offset_buf, data = arr.buffers()
    validity = pa.py_buffer(np.packbits(np.r_[np.zeros(arr.offset, bool), keep], bitorder="little"))
    n = len(arr)
    return pa.StringArray.from_buffers(
        n, offset_buf, data, validity, n - int(keep.sum()), arr.offset
    )


def blank(arr: pa.Array) -> np.ndarray:
    """Mask of null or empty cells."""
    return _mask(pc.or_kleene(pc.is_null(arr), pc.equal(arr, string(""))))


def _mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(fill(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.nulls(len(arr), arr.type), arr)


def distinct(arr: pa.Array | pa.ChunkedArray) -> tuple[list[Any], np.ndarray]:
    """Distinct non-null values (in order of first appearance) and each row's position among
    them (-1 for null).

    A few rows (an API request) are counted in Python: cheaper than a kernel call there.
    """
    values, index = distinct_array(arr)
    return values.to_pylist(), index


def distinct_array(arr: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """``distinct`` with the distinct values as an Arrow array (for kernels to work on)."""
    if len(arr) <= rx.SMALL:
        first: dict[Any, int] = {}
        rows = arr.to_pylist()
        index = np.fromiter(
            (-1 if v is None else first.setdefault(v, len(first)) for v in rows),
            np.int64,
            len(rows),
        )
        return pa.array(list(first), arr.type), index
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    index = np.asarray(fill(enc.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return enc.dictionary, index


def parse_distinct(
    arr: pa.Array, fn: Callable[[str], Any], type: pa.DataType
) -> tuple[pa.Array, np.ndarray]:
    """A parser from ``fn``, applied once per distinct value (``None`` = cannot parse).

    For columns with few distinct values (flags, categories, dates): a dictionary lookup per
    distinct value instead of a kernel call per rule, which matters both for a million rows
    and for the single link the API scores.
    """
    values, index = distinct(as_string(arr))
    parsed = [fn(v) for v in values]
    bad = np.asarray(
        [p is None and v.strip() != "" for v, p in zip(values, parsed, strict=True)] + [False]
    )
    slot = np.where(index < 0, len(values), index)
    return pa.array([*parsed, None], type).take(pa.array(slot)), bad[slot]


def _bool_of(value: str) -> bool | None:
    v = value.strip().lower()
    return True if v in TRUE else False if v in FALSE else None


def parse_bool(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """true/false/TRUE/1/0/yes/no/+/-; blank is null.

    A column of exactly "true", "false" and blanks (what exports write) is read by two
    comparisons; anything else once per distinct value."""
    arr = as_string(arr)
    if len(arr) > rx.SMALL:
        true = pc.equal(arr, _TRUE)
        known = pc.or_(true, pc.equal(arr, _FALSE))
        if pc.all(pc.or_(known, pc.equal(arr, _EMPTY))).as_py() is not False:
            return pc.if_else(known, true, _NO_BOOL), np.zeros(len(arr), dtype=bool)
    return parse_distinct(arr, _bool_of, pa.bool_())


_TRUE, _FALSE, _EMPTY = pa.scalar("true"), pa.scalar("false"), pa.scalar("")
_NO_BOOL = pa.scalar(None, pa.bool_())


def parse_number(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Finite decimals; accepts thousands separators (1,234 / 1 234 / 1'234) and a decimal comma."""
    arr = as_string(arr)
    try:  # the common case, plain decimals: one cast instead of the regex path below
        values = pc.cast(blank_as_null(arr), pa.float64())
        if pc.all(pc.is_finite(values)).as_py() is not False:  # no inf or NaN (blanks are null)
            return values, np.zeros(len(arr), dtype=bool)
        finite = _mask(pc.is_finite(values))
        return _null_where(values, ~finite), ~(finite | blank(arr))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    s = clean(arr)
    thousands = rx.match(s, _THOUSANDS)
    s = pc.if_else(thousands, rx.replace(s, r"[,' ]", ""), s)
    comma = rx.match(s, _DECIMAL_COMMA)
    s = pc.if_else(comma, pc.replace_substring(s, ",", "."), s)
    ok = _mask(rx.match(s, _NUMBER))
    values = pc.cast(_null_where(s, ~ok), pa.float64())
    finite = _mask(pc.is_finite(values))
    values = _null_where(values, ~finite)
    return values, ~(finite | blank(s))


def _iso_date_part(v: str) -> str | None:
    """The ``YYYY-MM-DD`` at the start of an ISO date or datetime (plain string tests: this
    runs once per distinct date of an export)."""
    head = v[:10]
    if len(v) > 10 and (v[10] not in "T " or "\n" in v):
        return None
    if len(head) != 10 or not head.isascii() or head[4] != "-" or head[7] != "-":
        return None
    return head if (head[:4] + head[5:7] + head[8:]).isdigit() else None


def _date_of(value: str) -> date | None:
    v = value.strip()
    iso = _iso_date_part(v)
    if iso is not None:
        try:
            return date.fromisoformat(iso)
        except ValueError:  # 2026-02-30
            return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    return None


_FIRST_DAY = (date(1, 1, 1) - date(1970, 1, 1)).days  # as Arrow counts days


def parse_date(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """ISO dates and datetimes, ``Sep 15, 2026``, ``15 Sep 2026``, ``2026/09/15``, ``15.09.2026``.

    A column of plain ``YYYY-MM-DD`` dates (and blanks), the usual export, is read by one
    Arrow cast, which is as strict as ``date.fromisoformat`` (it refuses 2026-02-30) except
    that it takes year 0, which is checked. Anything else is parsed once per distinct value:
    an export holds a few thousand distinct days at most.
    """
    arr = as_string(arr)
    with contextlib.suppress(pa.ArrowInvalid):
        values = pc.cast(blank_as_null(arr), pa.date32())
        if values.null_count == len(values) or pc.min(values).value >= _FIRST_DAY:
            return values, np.zeros(len(values), dtype=bool)
    return parse_distinct(arr, _date_of, pa.date32())


def parse_url(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """http(s) URLs; ``example.com/page`` and ``//example.com`` get an ``http`` scheme.

    A column whose values repeat (target URLs: a site's few pages) is parsed once per
    distinct value; the parse is value by value, so the result is the same."""
    arr = as_string(arr)
    if len(arr) > 4 * _SAMPLE and repeats(arr.slice(0, _SAMPLE)):  # judged by a sample
        enc = pc.dictionary_encode(arr)
        values, bad = _parse_url(enc.dictionary)
        rows = np.asarray(fill(enc.indices, len(bad)).to_numpy(zero_copy_only=False))
        return values.take(enc.indices), np.append(bad, False)[rows]
    return _parse_url(arr)


_SAMPLE = 1024


def repeats(arr: pa.Array | pa.ChunkedArray) -> bool:
    """Are at most half of the values distinct (null counting as one value)?"""
    return 2 * pc.count_distinct(arr, mode="all").as_py() <= max(len(arr), 1)


def _parse_url(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    s = clean(arr)
    ok = _mask(rx.match(s, _VALID_URL))
    if not ok.all():  # some lack a scheme, or are not URLs at all
        protocol_relative = pc.starts_with(s, "//")
        s = pc.if_else(protocol_relative, join("http:", s, sep=""), s)
        add_scheme = pc.and_(pc.invert(rx.match(s, _SCHEME)), rx.match(s, _HOSTLIKE))
        s = pc.if_else(add_scheme, join("http://", s, sep=""), s)
        ok = _mask(rx.match(s, _VALID_URL))
    ok &= np.asarray(fill(pc.utf8_length(s), 0).to_numpy(zero_copy_only=False)) <= MAX_URL_LENGTH
    if ok.all():
        return s, np.zeros(len(s), dtype=bool)
    return _null_where(s, ~ok), ~(ok | blank(s))


def parse_category(
    arr: pa.Array, allowed: tuple[str, ...], synonyms: dict[str, str]
) -> tuple[pa.Array, np.ndarray]:
    """Lower-cased value from ``allowed`` (after mapping ``synonyms``); anything else is bad."""

    def category(value: str) -> str | None:
        v = " ".join(value.lower().split())
        v = synonyms.get(v, v)
        return v if v in allowed else None

    return parse_distinct(arr, category, pa.string())


def parse_text(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Text is kept as given (trimmed); it is never bad."""
    s = clean(arr)
    return s, np.zeros(len(s), dtype=bool)
