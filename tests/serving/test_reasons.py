"""Reasons are rendered once per shown value; that must never change what a row says."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from features import spec
from serving.reasons import _display_key, describe, format_value, top_reasons
from tests.features.test_properties import SETTINGS

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=False),  # features are finite or missing
    st.floats(min_value=-1, max_value=40_000),
    st.integers(min_value=0, max_value=800).map(lambda d: d + 0.5),  # ties: 0.5, 1.5 ...
    st.integers(min_value=0, max_value=200).map(lambda p: p / 200),  # ties of percentages
    st.sampled_from([0.0, -0.0, 0.005, 0.015, 0.125, 59.5, 60.0, 729.9, 730.0, 1e6, -0.4]),
)


@SETTINGS
@given(st.lists(values, min_size=1, max_size=40))
def test_equal_display_keys_mean_equal_text(raw):
    """Values grouped together (same feature, same key) are written the same way."""
    for k, feature in enumerate(spec.FEATURES):
        v = np.asarray(raw, dtype=np.float64)
        if feature.dtype == "category":
            v = np.where(np.isnan(v), v, np.abs(np.nan_to_num(v)) % len(feature.categories))
            v = np.floor(v)
        branch, key = _display_key(np.full(len(v), k), v)
        texts: dict[tuple[float, float], str] = {}
        for b, kk, x in zip(branch, key, v, strict=True):
            text = format_value(feature, float(x))
            assert texts.setdefault((b, kk), text) == text, (feature.name, x)


def test_reasons_quote_each_rows_own_anchor():
    X = np.zeros((4, len(spec.NAMES)))
    col = spec.INDEX["anchor_spam_terms"]
    X[:, col] = 2.0
    contributions = np.zeros((4, len(spec.NAMES) + 1))
    contributions[:, col] = 1.0
    anchors = pl.Series(["cheap pills", None, "cheap pills", "casino bonus"])
    reasons = top_reasons(contributions, X, anchors)
    texts = reasons.text[:, 0].tolist()
    expected = [describe(spec.FEATURES[col], 2.0, {"anchor_text": a}) for a in anchors.to_list()]
    assert texts == expected
    assert texts[0] == texts[2] != texts[3]
    assert reasons.labelled(0).to_list() == [f"{t} (+1.0)" for t in expected]
