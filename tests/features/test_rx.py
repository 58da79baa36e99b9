"""The two ways of running a pattern (Arrow's kernels, RE2's own binding for a few rows) give
the same answers for every pattern the features use."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features import dfa, extract, parse, rx, text, urls
from features.strings import as_bytes, digit_counts
from tests.features.test_properties import SETTINGS

ARROW, VALUE_BY_VALUE = {"small": -1}, {"small": 10**9}
MATCHED = [
    parse._VALID_URL,
    parse._SCHEME,
    parse._HOSTLIKE,
    parse._NUMBER,
    parse._THOUSANDS,
    parse._DECIMAL_COMMA,
    *(pattern for _, pattern in extract._PAGE_TYPES),
]
REPLACED = [
    (text.SEPARATORS, " "),
    (text.ANCHOR_SEPARATORS, " "),
    ("  +", " "),
    (urls._TRACKING, ""),
    (r"^&+", ""),
    (r"[,' ]", ""),
]
pieces = st.sampled_from(
    [
        "http://", "https://", "HTTP://", "//", "www.", "a.com", "[::1]", ":8080", "/", "?",
        "#", "&", "=", "-", "_", ".", ",", "'", " ", "  ", "\t", "\n", "\v", "\x00", "\u00a0",
        "utm_source=x", "fbclid=1", "2024", "/05/", "7", "1,234", "3,5", "1e5", "index.html",
        "forum", "/tags/", "comment", "Über", "例え", "😀", "-", "T10:00", "2026-09-15",
        "/page/", "/u/", ".htm", "/index.php", "member.php", "add-url", "directories", "/links.",
        "#respond", "/archive/", "/123", "a-b", "x_y", "é", "bb", "bbb.",
    ]
)  # fmt: skip
strings = st.lists(
    st.one_of(st.none(), st.lists(pieces, max_size=8).map("".join), st.text(max_size=12)),
    min_size=1,
    max_size=12,
)


@pytest.mark.parametrize("pattern", MATCHED)
@SETTINGS
@given(values=strings)
def test_match_agrees(pattern: str, values: list[str | None]) -> None:
    arr = pa.array(values, pa.string())
    assert rx.match(arr, pattern, **ARROW).equals(rx.match(arr, pattern, **VALUE_BY_VALUE))


@SETTINGS
@given(values=strings)
def test_first_match_agrees(values: list[str | None]) -> None:
    arr = pa.array(values, pa.string())
    patterns = tuple(pattern for _, pattern in extract._PAGE_TYPES)
    by_arrow = rx.first_match(arr, patterns, **ARROW)
    assert (by_arrow == rx.first_match(arr, patterns, **VALUE_BY_VALUE)).all()


@pytest.mark.parametrize("pattern", [*MATCHED, "é+x", r"[^a]-$", r"^.?$", r"b{2,3}\.", "例え|😀!"])
@SETTINGS
@given(values=strings)
def test_automaton_agrees_with_re2(pattern: str, values: list[str | None]) -> None:
    """The automaton built from a pattern matches where RE2 does (the page types take it for
    every batch; the other patterns check it on anchors, repeats and classes)."""
    automaton = dfa.compile((pattern,))
    assert automaton is not None
    arr = pa.array(values, pa.string())
    hits = dfa.first(automaton, *as_bytes(arr)) == 0
    expected = rx.match(arr, pattern, **VALUE_BY_VALUE).to_numpy(zero_copy_only=False)
    assert np.array_equal(hits, np.asarray(expected == True))  # noqa: E712 - nulls are no match


@pytest.mark.parametrize("pattern", [r"\bx", r"(?i)x", r"a(?s:.)", r"(a)\1", r"[éx]", r"a(?=x)"])
def test_unsupported_syntax_falls_back_to_re2(pattern: str) -> None:
    """Syntax outside the automaton's subset builds nothing, and ``first_match`` uses RE2."""
    values = ["x", "X", "ax", "aa", "é", "ab x", None] * 10
    arr = pa.array(values, pa.string())
    assert dfa.compile((pattern,)) is None
    if pattern not in (r"(a)\1", r"a(?=x)"):  # RE2 has no back-references or look-arounds
        by_arrow = rx.first_match(arr, (pattern, "a"), **ARROW)
        assert (by_arrow == rx.first_match(arr, (pattern, "a"), **VALUE_BY_VALUE)).all()


@SETTINGS
@given(values=strings)
def test_digit_counts_agree_with_re2(values: list[str | None]) -> None:
    """The compiled digit count is RE2's ``\\d`` (ASCII digits only), null for null."""
    arr = pa.array(values, pa.string())
    expected = pc.count_substring_regex(arr, r"\d").to_numpy(zero_copy_only=False)
    assert np.array_equal(digit_counts(arr), expected.astype(float), equal_nan=True)


@pytest.mark.parametrize(("pattern", "replacement"), REPLACED)
@SETTINGS
@given(values=strings)
def test_replace_agrees(pattern: str, replacement: str, values: list[str | None]) -> None:
    arr = pa.array(values, pa.string())
    fast = rx.replace(arr, pattern, replacement, **VALUE_BY_VALUE)
    assert rx.replace(arr, pattern, replacement, **ARROW).equals(fast)


@SETTINGS
@given(values=strings)
def test_extract_agrees(values: list[str | None]) -> None:
    arr = pa.array(values, pa.string())
    by_arrow = rx.extract(arr, urls._URL_PARTS, **ARROW)
    by_value = rx.extract(arr, urls._URL_PARTS, **VALUE_BY_VALUE)
    assert by_arrow.keys() == by_value.keys()
    assert all(by_arrow[k].equals(by_value[k]) for k in by_arrow)


def test_small_arrays_take_the_value_by_value_path() -> None:
    """A one-link request must not pay Arrow's per-call pattern compilation."""
    arr = pa.array(["https://a.com/x"])
    assert rx._values(arr, None) == ["https://a.com/x"]
    assert rx._values(pa.array(["x"] * (rx.SMALL + 1)), None) is None


@SETTINGS
@given(values=strings)
def test_strip_tracking_rewrites_only_rows_it_changes(values: list[str | None]) -> None:
    """Many rows: the tracking rewrite on only the rows an automaton finds equals both
    rewriting passes on every row."""
    arr = pa.array(values + ["a=1"] * (rx.SMALL + 1), pa.string())
    expected = rx.replace(rx.replace(arr, urls._TRACKING, "", **ARROW), "^&+", "", **ARROW)
    assert urls.strip_tracking(arr).equals(expected)


@SETTINGS
@given(values=strings)
def test_normalize_anchor_collapses_only_where_needed(values: list[str | None]) -> None:
    """Many rows: anchors skip the space-collapsing pass when no folded anchor has a run of
    spaces, and the result equals collapsing every row."""
    for pad in ("a", "a  b"):  # without, and with, a run of spaces somewhere in the chunk
        arr = pa.array(values + [pad] * (rx.SMALL + 1), pa.string())
        folded = text._fold(arr, text._ANCHOR_BYTES, text.ANCHOR_SEPARATORS)
        expected = pc.utf8_trim_whitespace(rx.replace(folded, "  +", " ", **ARROW))
        assert text.normalize_anchor(arr).equals(expected)


@SETTINGS
@given(values=strings)
def test_parse_url_once_per_distinct_value(values: list[str | None]) -> None:
    """A column whose values repeat is parsed once per distinct value: same URLs, same bad
    rows as parsing every row."""
    arr = pa.array(values * (4 * parse._SAMPLE // len(values) + 1), pa.string())
    got, bad = parse.parse_url(arr)
    expected, expected_bad = parse._parse_url(arr)
    assert got.equals(expected)
    assert np.array_equal(bad, expected_bad)
