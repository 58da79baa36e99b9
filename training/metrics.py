"""Honest model metrics: ranking, calibration and the decisions the thresholds make."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

from training.config import Thresholds


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed spam rate - predicted probability| over equal-width bins, row-weighted."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(y[m].mean() - p[m].mean())
    return float(total / max(len(y), 1))


def evaluate(
    y: np.ndarray,
    p: np.ndarray,
    thresholds: Thresholds,
    archetype: np.ndarray | None = None,
) -> dict[str, float]:
    """Metrics of spam probabilities ``p`` against labels ``y`` (1 = spam)."""
    y = np.asarray(y).astype(int)
    p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    out: dict[str, float] = {"rows": float(len(y)), "spam_share": float(y.mean())}
    if len(np.unique(y)) == 2:
        out["roc_auc"] = float(roc_auc_score(y, p))
        out["pr_auc"] = float(average_precision_score(y, p))
    out["log_loss"] = float(log_loss(y, p, labels=[0, 1]))
    out["brier"] = float(brier_score_loss(y, p))
    out["ece"] = expected_calibration_error(y, p)
    for name, cut in (("spam", thresholds.spam), ("review", thresholds.review)):
        flagged = p >= cut
        tp = float((flagged & (y == 1)).sum())
        out[f"precision_at_{name}"] = tp / max(float(flagged.sum()), 1.0)
        out[f"recall_at_{name}"] = tp / max(float((y == 1).sum()), 1.0)
        out[f"flagged_share_at_{name}"] = float(flagged.mean())
    if archetype is not None:
        for arch in sorted(set(archetype.tolist())):
            m = archetype == arch
            spammy = y[m].mean() >= 0.5
            caught = (p[m] >= thresholds.spam) if spammy else (p[m] < thresholds.spam)
            out[f"recall_{arch}"] = float(caught.mean())
    return out


def confusion(y: np.ndarray, p: np.ndarray, cut: float) -> np.ndarray:
    """2x2 counts [[good kept, good flagged], [spam missed, spam flagged]] at ``cut``."""
    flagged = p >= cut
    y = np.asarray(y).astype(bool)
    return np.array(
        [[(~y & ~flagged).sum(), (~y & flagged).sum()], [(y & ~flagged).sum(), (y & flagged).sum()]]
    )
