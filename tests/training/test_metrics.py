"""Metrics and their intervals, checked against scikit-learn on the same rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from training.metrics import Ranked, intervals, paired_difference


@pytest.mark.parametrize("n", [6, 60, 5000])
def test_ranking_metrics_match_sklearn_with_ties_and_weights(n: int):
    rng = np.random.default_rng(n)
    y = (rng.random(n) < 0.2).astype(int)
    y[:2] = (1, 0)
    p = np.round(rng.random(n) * 0.7 + y * 0.3, 1)  # coarse: many tied scores
    w = rng.integers(0, 4, n).astype(float)
    w[:2] = 1
    ranked = Ranked(y, p)
    assert ranked.scores(w)["roc_auc"] == pytest.approx(roc_auc_score(y, p, sample_weight=w))
    assert ranked.scores(w)["pr_auc"] == pytest.approx(
        average_precision_score(y, p, sample_weight=w)
    )
    assert ranked.scores()["roc_auc"] == pytest.approx(roc_auc_score(y, p))


def test_intervals_hold_the_value_and_narrow_with_more_rows():
    rng = np.random.default_rng(0)

    def width(n: int) -> tuple[float, dict]:
        y = (rng.random(n) < 0.1).astype(int)
        p = np.clip(rng.random(n) * 0.6 + y * 0.35, 0, 1)
        got = intervals(y, p, count=200)
        point = Ranked(y, p).scores()
        for k in ("roc_auc", "pr_auc", "ece"):
            assert got[f"{k}_low"] <= point[k] <= got[f"{k}_high"], k
        return got["pr_auc_high"] - got["pr_auc_low"], got

    small, _ = width(600)
    large, _ = width(20_000)
    assert large < small / 3
    assert intervals(np.zeros(10), np.linspace(0, 1, 10)) == {}  # one class: nothing to say


def test_paired_difference_is_zero_for_the_same_scores_and_sees_a_real_gap():
    rng = np.random.default_rng(1)
    y = (rng.random(3000) < 0.1).astype(int)
    good = np.clip(rng.random(3000) * 0.5 + y * 0.45, 0, 1)
    noisy = np.clip(good + rng.normal(0, 0.3, 3000), 0, 1)
    assert paired_difference(y, good, good) == (0.0, 0.0, 0.0)
    diff, low, high = paired_difference(y, good, noisy)
    assert diff > 0 and low > 0 and low <= diff <= high
    diff, low, high = paired_difference(y, noisy, good)
    assert high < 0
