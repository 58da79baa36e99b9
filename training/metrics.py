"""Honest model metrics: ranking, calibration and the decisions the thresholds make."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss

from training.config import Thresholds

BINS = 10


class Ranked:
    """Labels and scores prepared once so ranking metrics can be recomputed cheaply under
    many row weightings (a bootstrap resample is a weighting: how often each row was drawn).

    sklearn's ``roc_auc_score``/``average_precision_score`` sort the scores on every call,
    which made 200 resamples of a 150k-row test set take ~30 s; here the sort happens once
    and each weighting costs a few ``bincount`` passes (see benchmarks/RESULTS.md). Ties are
    handled as sklearn does: tied scores form one threshold.
    """

    def __init__(self, y: np.ndarray, p: np.ndarray) -> None:
        self.y = np.asarray(y).astype(np.float64)
        self.p = np.asarray(p, dtype=np.float64)
        _, self.group = np.unique(-self.p, return_inverse=True)  # 0 = highest score
        self.groups = int(self.group.max()) + 1 if len(self.group) else 0
        self.bin = np.clip(np.digitize(self.p, np.linspace(0, 1, BINS + 1)[1:-1]), 0, BINS - 1)

    def scores(self, weight: np.ndarray | None = None) -> dict[str, float]:
        """ROC-AUC, PR-AUC (average precision) and calibration error under ``weight``;
        NaN ranking metrics when the weighted rows hold one class only."""
        w = np.ones_like(self.y) if weight is None else np.asarray(weight, dtype=np.float64)
        wy = w * self.y
        tp = np.cumsum(np.bincount(self.group, weights=wy, minlength=self.groups))
        fp = np.cumsum(np.bincount(self.group, weights=w - wy, minlength=self.groups))
        out = {"roc_auc": float("nan"), "pr_auc": float("nan")}
        if len(tp) and tp[-1] > 0 and fp[-1] > 0:
            tpr, fpr = np.r_[0.0, tp / tp[-1]], np.r_[0.0, fp / fp[-1]]
            out["roc_auc"] = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2)
            flagged = tp + fp
            precision = np.divide(tp, flagged, out=np.zeros_like(tp), where=flagged > 0)
            out["pr_auc"] = float(np.sum(np.diff(tpr) * precision))
        per_bin = [np.bincount(self.bin, weights=v, minlength=BINS) for v in (wy, w * self.p)]
        out["ece"] = float(np.abs(per_bin[0] - per_bin[1]).sum() / max(w.sum(), 1e-12))
        return out


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
    ranked = Ranked(y, p).scores()
    if len(np.unique(y)) == 2:
        out["roc_auc"], out["pr_auc"] = ranked["roc_auc"], ranked["pr_auc"]
    out["log_loss"] = float(log_loss(y, p, labels=[0, 1]))
    out["brier"] = float(brier_score_loss(y, p))
    out["ece"] = ranked["ece"]
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


def _resample_weights(
    n: int, count: int, seed: int, groups: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """``count`` bootstrap resamples of ``n`` rows, each as how often every row was drawn.

    With ``groups`` (the referring site of each row), whole groups are drawn: links from one
    site rise and fall together, so drawing them one by one would understate the noise."""
    rng = np.random.default_rng(seed)
    if groups is None:
        for _ in range(count):
            yield np.bincount(rng.integers(0, n, n), minlength=n)
        return
    _, code = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    size = int(code.max()) + 1 if n else 0
    for _ in range(count):
        yield np.bincount(rng.integers(0, size, size), minlength=size)[code]


def _quantiles(values: list[float], level: float) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def intervals(
    y: np.ndarray,
    p: np.ndarray,
    count: int = 200,
    level: float = 0.95,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> dict[str, float]:
    """Bootstrap intervals of ROC-AUC, PR-AUC and calibration error: ``{name}_low`` and
    ``{name}_high`` at ``level`` (resampling whole ``groups`` when given); nothing when the
    rows hold one class only."""
    if count == 0 or len(np.unique(y)) < 2:
        return {}
    ranked = Ranked(y, p)
    draws = [ranked.scores(w) for w in _resample_weights(len(ranked.y), count, seed, groups)]
    out = {}
    for name in ("roc_auc", "pr_auc", "ece"):
        out[f"{name}_low"], out[f"{name}_high"] = _quantiles([d[name] for d in draws], level)
    return out


def paired_difference(
    y: np.ndarray,
    p_new: np.ndarray,
    p_old: np.ndarray,
    metric: str = "pr_auc",
    count: int = 200,
    level: float = 0.9,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """(difference, low, high): ``metric`` of ``p_new`` minus that of ``p_old`` on the same
    rows, with a paired bootstrap interval at ``level``: both are scored on each resample,
    so the luck of which rows (or ``groups``) were drawn cancels and only the models'
    difference remains."""
    new, old = Ranked(y, p_new), Ranked(y, p_old)
    diff = new.scores()[metric] - old.scores()[metric]
    deltas = [
        new.scores(w)[metric] - old.scores(w)[metric]
        for w in _resample_weights(len(new.y), count, seed, groups)
    ]
    if count == 0 or np.isnan(deltas).all():
        return diff, diff, diff
    return (diff, *_quantiles(deltas, level))
