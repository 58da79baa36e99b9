"""Train / validation / calibration / test split, grouped by referring site, newest last.

Links from one site never straddle two parts (a model must not be graded on sites it has
memorised), and when dates exist the test part holds the most recently seen sites, the way a
model meets new links after it ships.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

PARTS = ("train", "valid", "calibration", "test")


def _tiebreak(values: list[str], seed: int) -> np.ndarray:
    return np.asarray(
        [
            int.from_bytes(
                hashlib.blake2b(f"{seed}:{v}".encode(), digest_size=8).digest(), "little"
            )
            for v in values
        ],
        dtype=np.float64,
    )


def grouped_split(
    groups: np.ndarray,
    days: np.ndarray,
    fractions: dict[str, float],
    seed: int = 0,
    forced_test: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Row indices of each part.

    ``groups``: the group of each row (referring site). ``days``: a date per row (NaN when
    unknown). ``fractions``: shares of rows for ``valid``, ``calibration`` and ``test``; the
    rest trains. Groups are ordered by their median date (undated groups are spread evenly
    through time by a seeded hash) and the newest go to test. Groups holding any row of
    ``forced_test`` go to test first (a held-out slice of reviewed labels).
    """
    inverse, keys = pd.factorize(pd.Series(groups, dtype=object).fillna(""), sort=True)
    sizes = np.bincount(inverse, minlength=len(keys)).astype(float)
    ranks = _tiebreak([str(k) for k in keys], seed)
    ranks = ranks / ranks.max() if len(ranks) and ranks.max() > 0 else ranks
    dated = ~np.isnan(days)
    if dated.mean() >= 0.5:
        per_group = pd.Series(days[dated]).groupby(inverse[dated]).median()
        median = np.full(len(keys), np.nan)
        median[per_group.index.to_numpy()] = per_group.to_numpy()
        lo, hi = np.nanmin(median), np.nanmax(median)
        time_rank = (median - lo) / (hi - lo) if hi > lo else np.zeros(len(keys))
        ranks = np.where(np.isnan(time_rank), ranks, time_rank + 1e-9 * ranks)
    order = np.argsort(ranks, kind="stable")[::-1]  # newest first
    if forced_test is not None and forced_test.any():
        forced = np.zeros(len(keys), dtype=bool)
        forced[np.unique(inverse[forced_test])] = True
        order = np.r_[order[forced[order]], order[~forced[order]]]
    cum = np.cumsum(sizes[order]) / max(sizes.sum(), 1)
    part_of_group = np.empty(len(keys), dtype=object)
    edge = 0.0
    assigned = np.zeros(len(keys), dtype=bool)
    for part in ("test", "calibration", "valid"):
        edge += fractions[part]
        take = ~assigned[order] & (cum <= edge + 1e-12)
        if not take.any():  # a tiny data set: give each part at least one group
            take = ~assigned[order] & (np.cumsum(~assigned[order]) == 1)
        part_of_group[order[take]] = part
        assigned[order[take]] = True
    part_of_group[~assigned] = "train"
    row_part = part_of_group[inverse]
    return {p: np.flatnonzero(row_part == p) for p in PARTS}
