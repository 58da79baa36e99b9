"""SHAP contributions → the top reasons in plain words, with the link's real values.

Rendering is vectorised: a reason's text depends only on (feature, value[, anchor]), so each
distinct combination is rendered once from the spec's template and spread back to the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features import spec

_USES_ANCHOR = np.asarray(
    [
        "{anchor_text}"
        in (f.template if isinstance(f.template, str) else " ".join(f.template.values()))
        for f in spec.FEATURES
    ]
)
_MISSING = -1e300
_SIGNED = np.asarray([f"{v / 10:+.1f}" for v in range(-999, 1000)], dtype=object)


@dataclass
class Reasons:
    """Top-k reasons per row: feature index, signed contribution (log-odds), text."""

    feature: np.ndarray  # (n, k) int
    contribution: np.ndarray  # (n, k) float
    value: np.ndarray  # (n, k) float
    text: np.ndarray  # (n, k) object

    def labelled(self) -> np.ndarray:
        """``text (+1.2)`` strings, (n, k) object."""
        tenths = np.clip(np.round(self.contribution * 10), -999, 999).astype(int) + 999
        signed = _SIGNED[tenths]
        out = np.empty(self.text.shape, dtype=object)
        for s in range(self.text.shape[1]):
            out[:, s] = self.text[:, s] + " (" + signed[:, s] + ")"
        return out


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer code per distinct string (order of first appearance)."""
    lookup: dict[object, int] = {}
    return np.fromiter((lookup.setdefault(x, len(lookup)) for x in values), np.int64, len(values))


def top_reasons(
    contributions: np.ndarray, X: np.ndarray, anchors: np.ndarray, k: int = 3
) -> Reasons:
    """The ``k`` features with the largest absolute contribution per row, rendered.

    ``contributions`` may include the base value as a last column (it is ignored).
    """
    n_features = len(spec.NAMES)
    c = contributions[:, :n_features]
    k = min(k, n_features)
    n = len(c)
    if n == 0:
        empty = np.zeros((0, k))
        return Reasons(empty.astype(int), empty, empty, empty.astype(object))
    part = np.argpartition(-np.abs(c), k - 1, axis=1)[:, :k]
    rows = np.arange(n)[:, None]
    order = np.argsort(-np.abs(c[rows, part]), axis=1, kind="stable")
    feature = part[rows, order]
    contribution = c[rows, feature]
    value = X[rows, feature]
    # one rendering per distinct (feature, value, anchor-if-the-template-uses-it)
    anchor_codes = _codes(anchors)
    f = feature.ravel()
    v = np.where(np.isnan(value), _MISSING, value).ravel()
    a = np.where(_USES_ANCHOR[f], np.repeat(anchor_codes, k), -1)
    order = np.lexsort((a, v, f))
    fs, vs, as_ = f[order], v[order], a[order]
    new_group = np.r_[True, (fs[1:] != fs[:-1]) | (vs[1:] != vs[:-1]) | (as_[1:] != as_[:-1])]
    group = np.cumsum(new_group) - 1
    firsts = order[new_group]
    rendered = np.asarray(
        [
            spec.describe(
                spec.FEATURES[int(f[i])], float(value.ravel()[i]), {"anchor_text": anchors[i // k]}
            )
            for i in firsts
        ],
        dtype=object,
    )
    text = np.empty(n * k, dtype=object)
    text[order] = rendered[group]
    text = text.reshape(n, k)
    return Reasons(feature, contribution, value, text)
