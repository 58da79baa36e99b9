"""Regular expressions over Arrow string arrays: one engine (RE2), called two ways.

Arrow's regex kernels compile their pattern on every call (15-100 µs for the patterns here),
which dominated the cost of scoring the single link an API request carries. For a few rows the
same pattern, compiled once by RE2's own Python binding (google-re2), is matched value by
value; larger arrays go to Arrow's vectorised kernels, which also release the GIL. Both are
RE2 with the same syntax and UTF-8 handling, so the results are identical (the tests compare
both paths on generated text); Python's ``re`` is not used because its syntax and its ``$``,
``\\s`` and ``\\d`` differ, and it can backtrack for a long time on hostile input.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import re2

from features import dfa
from features.strings import as_bytes

SMALL = 32
"""Arrays up to this length are matched value by value."""


@functools.cache
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern)


@functools.cache
def _group_names(pattern: str) -> tuple[str, ...]:
    groups = _compiled(pattern).groupindex
    return tuple(sorted(groups, key=groups.get))


@functools.cache
def _set(patterns: tuple[str, ...]) -> Any:
    """The patterns compiled together: one pass over a value tells which of them match."""
    compiled = re2.Set.SearchSet()
    for pattern in patterns:
        compiled.Add(pattern)
    compiled.Compile()
    return compiled


def _values(arr: pa.Array, small: int | None) -> list[str | None] | None:
    """The values when the array is small enough for the value-by-value path."""
    limit = SMALL if small is None else small
    return arr.to_pylist() if len(arr) <= limit else None


def match(arr: pa.Array, pattern: str, *, small: int | None = None) -> pa.Array:
    """Boolean per value: does ``pattern`` match anywhere in it (null stays null)."""
    values = _values(arr, small)
    if values is None:
        return pc.match_substring_regex(arr, pattern)
    find = _compiled(pattern).search
    return pa.array([None if v is None else find(v) is not None for v in values], pa.bool_())


def replace(arr: pa.Array, pattern: str, replacement: str, *, small: int | None = None) -> pa.Array:
    """Every match replaced by the literal ``replacement`` (null stays null)."""
    values = _values(arr, small)
    if values is None:
        return pc.replace_substring_regex(arr, pattern, replacement, max_replacements=None)
    sub = _compiled(pattern).sub
    literal = replacement.replace("\\", "\\\\")
    return pa.array([None if v is None else sub(literal, v) for v in values], pa.string())


def extract(arr: pa.Array, pattern: str, *, small: int | None = None) -> dict[str, pa.Array]:
    """Each named group of the first match, per value: null where the pattern does not match,
    an empty string for a group that took no part in the match (Arrow's convention)."""
    values = _values(arr, small)
    names = _group_names(pattern)
    if values is None:
        parts = pc.extract_regex(arr, pattern)
        return {k: pc.struct_field(parts, k) for k in names}
    find = _compiled(pattern).search
    columns: dict[str, list[str | None]] = {k: [] for k in names}
    for v in values:
        m = None if v is None else find(v)
        groups = {} if m is None else m.groupdict()
        for k in names:
            columns[k].append(None if m is None else groups[k] or "")
    return {k: pa.array(column, pa.string()) for k, column in columns.items()}


def first_match(
    arr: pa.Array, patterns: tuple[str, ...], *, small: int | None = None
) -> np.ndarray:
    """Per value, the index of the first of ``patterns`` that matches it (-1: none, or null).

    Many rows: one pass of an automaton built from all the patterns (``features.dfa``) where
    the patterns allow it, else one RE2 pass per pattern."""
    values = _values(arr, small)
    if values is None and (automaton := dfa.compile(patterns)) is not None:
        return dfa.first(automaton, *as_bytes(arr))
    if values is None:
        out = np.full(len(arr), -1, dtype=np.int64)
        for i, pattern in enumerate(patterns):
            hit = pc.fill_null(pc.match_substring_regex(arr, pattern), False)
            out[(out < 0) & hit.to_numpy(zero_copy_only=False)] = i
        return out
    matches = _set(patterns).Match
    out = np.full(len(values), -1, dtype=np.int64)
    for row, v in enumerate(values):
        hits = None if v is None else matches(v)
        if hits:
            out[row] = min(hits)
    return out
