"""The compiled string helpers give what the tools they replace give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given
from hypothesis import strategies as st

from features import parse
from features.parse import blank_as_null
from features.strings import HashSet, StringIndex, joined_hashes
from tests.features.test_properties import SETTINGS

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


rows = st.lists(st.tuples(*[st.one_of(st.none(), texts)] * 3), max_size=40)


@SETTINGS
@given(rows, st.integers(min_value=0, max_value=3))
def test_link_hashes_are_pandas_hash_array(values, skip):
    """Link ids are pandas' ``hash_array`` of the joined URLs and anchor (a null as an empty
    string): hashing the parts' bytes in place must not change a single id."""
    columns = [
        pa.array(["pad"] * skip + [row[k] for row in values], pa.string()).slice(skip)
        for k in range(3)
    ]
    joined = ["\x1f".join(part or "" for part in row) for row in values]
    expected = pd.util.hash_array(np.asarray(joined, dtype=object), categorize=False)
    assert np.array_equal(joined_hashes(*columns, "\x1f"), expected)


@SETTINGS
@given(
    st.lists(texts, max_size=40, unique=True), st.lists(st.one_of(st.none(), texts), max_size=40)
)
def test_string_index_finds_exactly_its_keys(keys, probes):
    index = StringIndex(pa.array(keys, pa.string()))
    position = {k: i for i, k in enumerate(keys)}
    got = index.positions(pa.array(probes + keys, pa.string()))
    assert got.tolist() == [-1 if p is None else position.get(p, -1) for p in probes + keys]


@SETTINGS
@given(st.lists(st.lists(st.integers(min_value=0, max_value=60), max_size=300), max_size=8))
def test_hash_set_flags_repeats_across_and_within_chunks(chunks):
    seen = HashSet()
    earlier: set[int] = set()
    for chunk in chunks:
        hashes = np.asarray(chunk, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        expected = []
        for h in hashes.tolist():
            expected.append(h in earlier)
            earlier.add(h)
        assert seen.add(hashes).tolist() == expected


def test_hash_set_grows_and_keeps_what_it_saw():
    seen = HashSet()
    first = np.arange(1, 100_001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    assert not seen.add(first).any()
    again = np.r_[first[::7], np.uint64(12345)]
    assert seen.add(again).tolist() == [True] * len(first[::7]) + [False]


@SETTINGS
@given(st.lists(st.one_of(st.none(), st.just(""), texts), max_size=40), st.integers(0, 9))
def test_blank_as_null_is_the_if_else_it_replaces(values, skip):
    """Empty strings become null (with the buffers shared), on sliced arrays too."""
    arr = pa.array(["", "pad", None] * skip + values, pa.string()).slice(3 * skip)
    expected = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    assert blank_as_null(arr).equals(expected)


@SETTINGS
@given(
    st.lists(
        st.sampled_from([None, "", "true", "false", "TRUE", " yes", "0", "maybe"]), max_size=60
    )
)
def test_flags_read_by_comparison_equal_the_parser(values):
    """A column of only "true", "false" and blanks takes two comparisons; it reads as the
    value-by-value parser reads it (and any other column still goes through the parser)."""
    arr = pa.array(values + ["true", "false", ""] * 12, pa.string())
    got, bad = parse.parse_bool(arr)
    expected, expected_bad = parse.parse_distinct(arr, parse._bool_of, pa.bool_())
    assert got.equals(expected)
    assert np.array_equal(bad, expected_bad)
